/*
 * Least-squares linear models against values from outside keel: NIST StRD's
 * certified Longley coefficients, scikit-learn 1.2.1 on data/diabetes.csv
 * (tests/fixtures/models/, made by make_fixtures.py), and closed forms on
 * inputs small enough to solve by hand.
 */
#include <cblas.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keel/linear.h"
#include "keel/model.h"
#include "keel/parallel.h"
#include "keel/rng.h"

#include "unit/models/fixture.h"

static kl_model *fit(const kl_frame *f, const char *algo, const char *target,
                     const kl_model_param *params, size_t n_params)
{
    kl_pipeline_opts po = {.defaults = KL_PIPELINE_DEFAULTS_PLAIN};
    kl_model_fit_opts o = {
        .algo = algo, .target = target, .params = params, .n_params = n_params, .pipeline = &po};
    kl_model *m = NULL;
    kl_err err = {0};
    int rc = kl_model_fit(f, &o, &m, &err);
    if (rc != 0)
        fprintf(stderr, "fit %s: %s (%s)\n", algo, err.msg, err.ctx);
    assert_int_equal(rc, 0);
    return m;
}

static void coef(const kl_model *m, double *b, const double **w)
{
    size_t k, p;
    const double *ic;
    assert_int_equal(kl_model_linear_coef(m, &k, &p, &ic, w, NULL), 0);
    assert_int_equal(k, 1);
    *b = ic[0];
}

static void test_ols_longley_matches_nist_certified_values(void **state)
{
    (void)state;
    /* NIST StRD Longley, certified values (higher level of difficulty) */
    static const double cert[] = {15.0618722713733,  -0.358191792925910E-01, -2.02022980381683,
                                  -1.03322686717359, -0.511041056535807E-01, 1829.15146461355};
    kl_frame *f = fx_csv("data/longley.csv");
    kl_model *m = fit(f, "ols", "totemp", NULL, 0);
    double b;
    const double *w;
    coef(m, &b, &w);
    const kl_pipeline *p = kl_model_pipeline(m);
    assert_int_equal(kl_pipeline_n_outputs(p), 6);
    assert_string_equal(kl_pipeline_output_name(p, 0), "gnpdefl");
    assert_string_equal(kl_pipeline_output_name(p, 5), "year");
    assert_true(fx_close(b, -3482258.63459582, 1e-8, 0));
    for (int j = 0; j < 6; j++) {
        if (!fx_close(w[j], cert[j], 1e-8, 0))
            fprintf(stderr, "longley coef %d: %.15g vs %.15g\n", j, w[j], cert[j]);
        assert_true(fx_close(w[j], cert[j], 1e-8, 0));
    }
    kl_model_free(m);
    kl_frame_free(f);
}

static const char *const diabetes_x[] = {"age", "sex", "bmi", "bp", "s1",
                                         "s2",  "s3",  "s4",  "s5", "s6"};

static void check_diabetes(const char *algo, const char *file, const kl_model_param *params,
                           size_t n_params)
{
    kl_frame *f = fx_csv("data/diabetes.csv");
    kl_model *m = fit(f, algo, "target", params, n_params);
    double b, scale = 0;
    const double *w;
    char key[64];
    coef(m, &b, &w);
    assert_true(fx_close(b, fx_value(file, "intercept"), 1e-6, 0));
    for (int j = 0; j < 10; j++) {
        snprintf(key, sizeof key, "coef_%s", diabetes_x[j]);
        scale = fmax(scale, fabs(fx_value(file, key)));
    }
    for (int j = 0; j < 10; j++) {
        snprintf(key, sizeof key, "coef_%s", diabetes_x[j]);
        double want = fx_value(file, key);
        if (!fx_close(w[j], want, 1e-6, scale))
            fprintf(stderr, "%s %s: %.17g vs %.17g\n", algo, key, w[j], want);
        assert_true(fx_close(w[j], want, 1e-6, scale));
    }
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_ols_diabetes_matches_sklearn(void **state)
{
    (void)state;
    check_diabetes("ols", "diabetes_ols.txt", NULL, 0);
}

static void test_ridge_diabetes_matches_sklearn(void **state)
{
    (void)state;
    kl_model_param p[] = {{"alpha", "1"}};
    check_diabetes("ridge", "diabetes_ridge.txt", p, 1);
}

static void test_lasso_diabetes_matches_sklearn(void **state)
{
    (void)state;
    kl_model_param p[] = {{"alpha", "0.1"}, {"tol", "1e-12"}, {"max_iter", "1000000"}};
    check_diabetes("lasso", "diabetes_lasso.txt", p, 3);
}

static void test_elasticnet_diabetes_matches_sklearn(void **state)
{
    (void)state;
    kl_model_param p[] = {
        {"alpha", "0.1"}, {"l1_ratio", "0.5"}, {"tol", "1e-12"}, {"max_iter", "1000000"}};
    check_diabetes("elasticnet", "diabetes_elasticnet.txt", p, 4);
}

/* x = 0, 1, 2 and y = 1, 3, 5: centred x = -1, 0, 1, Sxx = 2, Sxy = 4, n = 3. */
static kl_frame *tiny(int dup)
{
    double x[] = {0, 1, 2}, y[] = {1, 3, 5};
    kl_frame *f = kl_frame_new(3);
    assert_int_equal(kl_frame_add_numeric(f, "x", KL_TYPE_FLOAT, x, NULL), 0);
    if (dup)
        assert_int_equal(kl_frame_add_numeric(f, "x2", KL_TYPE_FLOAT, x, NULL), 0);
    assert_int_equal(kl_frame_add_numeric(f, "y", KL_TYPE_FLOAT, y, NULL), 0);
    return f;
}

static void check_tiny(const char *algo, const kl_model_param *p, size_t np, double want_w,
                       double want_b)
{
    kl_frame *f = tiny(0);
    kl_model *m = fit(f, algo, "y", p, np);
    double b;
    const double *w;
    coef(m, &b, &w);
    assert_true(fabs(w[0] - want_w) <= 1e-12 * fabs(want_w));
    assert_true(fabs(b - want_b) <= 1e-12 * fabs(want_b));
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_ols_line_through_three_points_is_exact(void **state)
{
    (void)state;
    check_tiny("ols", NULL, 0, 2.0, 1.0);
}

static void test_ridge_one_feature_is_sxy_over_sxx_plus_alpha(void **state)
{
    (void)state;
    kl_model_param p[] = {{"alpha", "1"}};
    /* w = 4 / (2 + 1); b = mean(y) - w mean(x) = 3 - 4/3 */
    check_tiny("ridge", p, 1, 4.0 / 3.0, 5.0 / 3.0);
}

static void test_lasso_one_feature_is_soft_threshold(void **state)
{
    (void)state;
    kl_model_param p[] = {{"alpha", "0.5"}, {"tol", "1e-14"}};
    /* w = S(Sxy/n, alpha) / (Sxx/n) = (4/3 - 1/2) / (2/3) = 1.25; b = 3 - 1.25 */
    check_tiny("lasso", p, 2, 1.25, 1.75);
}

static void test_elasticnet_one_feature_closed_form(void **state)
{
    (void)state;
    kl_model_param p[] = {{"alpha", "0.5"}, {"l1_ratio", "0.5"}, {"tol", "1e-14"}};
    /* w = S(4/3, 0.25) / (2/3 + 0.25) = (13/12) / (11/12) = 13/11 */
    check_tiny("elasticnet", p, 3, 13.0 / 11.0, 3.0 - 13.0 / 11.0);
}

static void test_lasso_large_alpha_gives_all_zero_coefficients(void **state)
{
    (void)state;
    kl_model_param p[] = {{"alpha", "2"}};
    kl_frame *f = tiny(0);
    kl_model *m = fit(f, "lasso", "y", p, 1);
    double b;
    const double *w;
    coef(m, &b, &w);
    /* alpha >= |Sxy|/n = 4/3: zero; the intercept is the mean */
    assert_true(w[0] == 0.0);
    assert_true(b == 3.0);
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_ols_duplicate_column_gives_minimum_norm_solution(void **state)
{
    (void)state;
    kl_frame *f = tiny(1);
    kl_model *m = fit(f, "ols", "y", NULL, 0);
    double b;
    const double *w;
    coef(m, &b, &w);
    /* w1 + w2 = 2 with the least norm: 1 and 1 */
    assert_true(fabs(w[0] - 1.0) < 1e-12 && fabs(w[1] - 1.0) < 1e-12);
    assert_true(fabs(b - 1.0) < 1e-12);
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_lstsq_solves_square_system(void **state)
{
    (void)state;
    /* [2 1; 1 3] w = [3; 5] -> w = (4/5, 7/5) */
    double X[] = {2, 1, 1, 3}, y[] = {3, 5}, w[2];
    size_t rank;
    assert_int_equal(kl_lstsq(X, 2, 2, 2, y, w, &rank, NULL), 0);
    assert_int_equal(rank, 2);
    assert_true(fabs(w[0] - 0.8) < 1e-15 && fabs(w[1] - 1.4) < 1e-15);
}

static void test_params_are_validated_with_suggestions(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_model_param bad[] = {{"alpah", "1"}};
    assert_int_equal(kl_model_params_check(&kl_algo_ridge, bad, 1, NULL, &err), KL_EINVAL);
    assert_string_equal(err.msg, "unknown parameter 'alpah' for ridge; did you mean 'alpha'?");
    kl_model_param neg[] = {{"alpha", "-1"}};
    assert_int_equal(kl_model_params_check(&kl_algo_ridge, neg, 1, NULL, &err), KL_EINVAL);
    assert_string_equal(err.ctx, "param alpha");
    kl_model_param ratio[] = {{"l1_ratio", "1.5"}};
    assert_int_equal(kl_model_params_check(&kl_algo_elasticnet, ratio, 1, NULL, &err), KL_EINVAL);
    kl_model_param word[] = {{"fit_intercept", "maybe"}};
    assert_int_equal(kl_model_params_check(&kl_algo_ols, word, 1, NULL, &err), KL_EINVAL);
    double pv[KL_MODEL_MAX_PARAMS];
    kl_model_param ok[] = {{"alpha", "0.5"}, {"fit_intercept", "false"}};
    assert_int_equal(kl_model_params_check(&kl_algo_ridge, ok, 2, pv, &err), 0);
    assert_true(pv[0] == 0.5 && pv[1] == 0.0);
}

static void test_unknown_algorithm_is_not_found_with_suggestion(void **state)
{
    (void)state;
    kl_frame *f = tiny(0);
    kl_model_fit_opts o = {.algo = "rigde", .target = "y"};
    kl_model *m = NULL;
    kl_err err = {0};
    assert_int_equal(kl_model_fit(f, &o, &m, &err), KL_ENOTFOUND);
    assert_string_equal(err.msg, "unknown algorithm 'rigde'; did you mean 'ridge'?");
    assert_null(m);
    kl_frame_free(f);
}

/* Synthetic regression: 20000 rows (several prediction blocks), 6 features. */
static kl_frame *synthetic(size_t n)
{
    kl_rng r;
    kl_rng_init(&r, 7);
    kl_frame *f = kl_frame_new(n);
    double *x = malloc(n * sizeof(double)), *y = calloc(n, sizeof(double));
    char name[8];
    for (int j = 0; j < 6; j++) {
        for (size_t i = 0; i < n; i++) {
            x[i] = kl_rng_normal(&r);
            y[i] += (j + 1) * x[i];
        }
        snprintf(name, sizeof name, "x%d", j);
        assert_int_equal(kl_frame_add_numeric(f, name, KL_TYPE_FLOAT, x, NULL), 0);
    }
    for (size_t i = 0; i < n; i++)
        y[i] += kl_rng_normal(&r);
    assert_int_equal(kl_frame_add_numeric(f, "y", KL_TYPE_FLOAT, y, NULL), 0);
    free(x);
    free(y);
    return f;
}

static void saved_bytes(const kl_model *m, uint8_t **buf, size_t *len)
{
    assert_int_equal(kl_model_save_buffer(m, buf, len, NULL), 0);
}

static void test_fits_and_predictions_are_identical_with_1_and_2_threads(void **state)
{
    (void)state;
    const char *algos[] = {"ols", "ridge", "lasso", "elasticnet"};
    kl_frame *f = synthetic(20000);
    for (size_t a = 0; a < 4; a++) {
        uint8_t *b1, *b2;
        size_t l1, l2;
        kl_model_pred p1, p2;
        kl_threads_set(1);
        openblas_set_num_threads(1);
        kl_model *m1 = fit(f, algos[a], "y", NULL, 0);
        assert_int_equal(kl_model_predict(m1, f, &p1, NULL), 0);
        kl_threads_set(2);
        openblas_set_num_threads(2);
        kl_model *m2 = fit(f, algos[a], "y", NULL, 0);
        assert_int_equal(kl_model_predict(m2, f, &p2, NULL), 0);
        saved_bytes(m1, &b1, &l1);
        saved_bytes(m2, &b2, &l2);
        assert_int_equal(l1, l2);
        assert_memory_equal(b1, b2, l1);
        assert_memory_equal(p1.value, p2.value, 20000 * sizeof(double));
        free(b1);
        free(b2);
        kl_model_pred_release(&p1);
        kl_model_pred_release(&p2);
        kl_model_free(m1);
        kl_model_free(m2);
    }
    kl_threads_set(0);
    kl_frame_free(f);
}

static void test_streamed_ols_over_several_tasks_matches_one_qr(void **state)
{
    (void)state;
    size_t n = 40000; /* three row tasks of the streaming QR */
    kl_frame *f = synthetic(n);
    kl_model *m = fit(f, "ols", "y", NULL, 0);
    double b;
    const double *w;
    coef(m, &b, &w);
    /* reference: one least-squares solve of [1 X] w = y on the whole matrix */
    double *A = malloc(n * 7 * sizeof(double)), *y = malloc(n * sizeof(double)), ref[7];
    for (size_t i = 0; i < n; i++)
        A[i] = 1.0;
    for (size_t j = 0; j < 6; j++)
        memcpy(A + (j + 1) * n, kl_frame_col_f64(f, j), n * sizeof(double));
    memcpy(y, kl_frame_col_f64(f, 6), n * sizeof(double));
    assert_int_equal(kl_lstsq(A, n, 7, n, y, ref, NULL, NULL), 0);
    assert_true(fabs(b - ref[0]) <= 1e-10);
    for (size_t j = 0; j < 6; j++)
        assert_true(fabs(w[j] - ref[j + 1]) <= 1e-10 * fabs(ref[j + 1]));
    free(A);
    free(y);
    kl_model_free(m);
    kl_frame_free(f);
}

/*
 * Reference ridge: centre X and y (two-pass means), then least squares on the
 * augmented system [Xc; sqrt(alpha) I] w = [yc; 0] by kl_lstsq's QR.
 */
static void ridge_reference(const kl_frame *f, size_t first, size_t p, size_t target, double alpha,
                            double *w, double *b)
{
    size_t n = kl_frame_row_count(f), rows = n + p;
    double *A = calloc(rows * p, sizeof(double)), *y = calloc(rows, sizeof(double));
    double xm[16], ym = 0;
    const double *t = kl_frame_col_f64(f, target);
    for (size_t i = 0; i < n; i++)
        ym += t[i];
    ym /= (double)n;
    for (size_t i = 0; i < n; i++)
        y[i] = t[i] - ym;
    for (size_t j = 0; j < p; j++) {
        const double *x = kl_frame_col_f64(f, first + j);
        xm[j] = 0;
        for (size_t i = 0; i < n; i++)
            xm[j] += x[i];
        xm[j] /= (double)n;
        for (size_t i = 0; i < n; i++)
            A[j * rows + i] = x[i] - xm[j];
        A[j * rows + n + j] = sqrt(alpha);
    }
    assert_int_equal(kl_lstsq(A, rows, p, rows, y, w, NULL, NULL), 0);
    *b = ym;
    for (size_t j = 0; j < p; j++)
        *b -= xm[j] * w[j];
    free(A);
    free(y);
}

static void test_streamed_ridge_with_offset_columns_matches_augmented_qr(void **state)
{
    (void)state;
    /* columns far from zero (x + 1000 (j + 1)): the one-pass Gram must centre without
       cancellation; 40000 rows are three row tasks */
    size_t n = 40000;
    kl_rng r;
    kl_rng_init(&r, 11);
    kl_frame *f = kl_frame_new(n);
    double *x = malloc(n * sizeof(double)), *y = calloc(n, sizeof(double));
    char name[8];
    for (int j = 0; j < 6; j++) {
        for (size_t i = 0; i < n; i++) {
            x[i] = 1000.0 * (j + 1) + kl_rng_normal(&r);
            y[i] += (j + 1) * x[i];
        }
        snprintf(name, sizeof name, "x%d", j);
        assert_int_equal(kl_frame_add_numeric(f, name, KL_TYPE_FLOAT, x, NULL), 0);
    }
    for (size_t i = 0; i < n; i++)
        y[i] += 5.0 + kl_rng_normal(&r);
    assert_int_equal(kl_frame_add_numeric(f, "y", KL_TYPE_FLOAT, y, NULL), 0);
    kl_model_param prm[] = {{"alpha", "250"}};
    kl_model *m = fit(f, "ridge", "y", prm, 1);
    double b, ref[6], rb;
    const double *w;
    coef(m, &b, &w);
    ridge_reference(f, 0, 6, 6, 250.0, ref, &rb);
    for (size_t j = 0; j < 6; j++)
        assert_true(fx_close(w[j], ref[j], 1e-10, 0));
    assert_true(fx_close(b, rb, 1e-9, 0));
    /* the algorithm on the matrix itself (rows read in place) gives the same */
    const kl_algo *a = kl_algo_find("ridge");
    double pv[KL_MODEL_MAX_PARAMS], *X = malloc(n * 6 * sizeof(double));
    const char *names[] = {"x0", "x1", "x2", "x3", "x4", "x5"};
    for (size_t j = 0; j < 6; j++)
        memcpy(X + j * n, kl_frame_col_f64(f, j), n * sizeof(double));
    assert_int_equal(kl_model_params_check(a, prm, 1, pv, NULL), 0);
    kl_model_data d = {.X = X, .n = n, .p = 6, .ld = n, .y = kl_frame_col_f64(f, 6),
                       .feature_names = names};
    void *st = NULL;
    assert_int_equal(a->fit(&d, pv, &st, NULL), 0);
    size_t no, nf;
    const double *mic, *mw;
    a->linear_coef(st, &no, &nf, &mic, &mw);
    for (size_t j = 0; j < 6; j++)
        assert_true(fx_close(mw[j], ref[j], 1e-10, 0));
    assert_true(fx_close(mic[0], rb, 1e-9, 0));
    a->free(st);
    free(X);
    free(x);
    free(y);
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_ridge_on_near_collinear_columns_keeps_qr_accuracy(void **state)
{
    (void)state;
    /* x1 and x2 = x1 + 1e-6 noise with alpha 1e-9: Xc'Xc + alpha I has a condition number
       near 1e11, past the Cholesky path's limit, so the fit must take the QR path and agree
       with the augmented QR (the normal equations would lose about 5 digits here) */
    size_t n = 200;
    kl_rng r;
    kl_rng_init(&r, 3);
    double x1[200], x2[200], x3[200], y[200];
    for (size_t i = 0; i < n; i++) {
        x1[i] = kl_rng_normal(&r);
        x2[i] = x1[i] + 1e-6 * kl_rng_normal(&r);
        x3[i] = kl_rng_normal(&r);
        y[i] = x1[i] + 2 * x2[i] + 3 * x3[i] + 0.1 * kl_rng_normal(&r);
    }
    kl_frame *f = kl_frame_new(n);
    assert_int_equal(kl_frame_add_numeric(f, "x1", KL_TYPE_FLOAT, x1, NULL), 0);
    assert_int_equal(kl_frame_add_numeric(f, "x2", KL_TYPE_FLOAT, x2, NULL), 0);
    assert_int_equal(kl_frame_add_numeric(f, "x3", KL_TYPE_FLOAT, x3, NULL), 0);
    assert_int_equal(kl_frame_add_numeric(f, "y", KL_TYPE_FLOAT, y, NULL), 0);
    kl_model_param prm[] = {{"alpha", "1e-9"}};
    kl_model *m = fit(f, "ridge", "y", prm, 1);
    double b, ref[3], rb;
    const double *w;
    coef(m, &b, &w);
    ridge_reference(f, 0, 3, 3, 1e-9, ref, &rb);
    for (size_t j = 0; j < 3; j++) {
        if (!fx_close(w[j], ref[j], 1e-8, 0))
            fprintf(stderr, "collinear ridge coef %zu: %.15g vs %.15g\n", j, w[j], ref[j]);
        assert_true(fx_close(w[j], ref[j], 1e-8, 0));
    }
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_predict_is_intercept_plus_dot_product(void **state)
{
    (void)state;
    kl_frame *f = synthetic(5000);
    kl_model_param p[] = {{"alpha", "3"}};
    kl_model *m = fit(f, "ridge", "y", p, 1);
    kl_model_pred pr;
    assert_int_equal(kl_model_predict(m, f, &pr, NULL), 0);
    double b;
    const double *w;
    coef(m, &b, &w);
    for (size_t i = 0; i < 5000; i += 997) {
        double s = b;
        for (size_t j = 0; j < 6; j++)
            s += w[j] * kl_frame_col_f64(f, j)[i];
        assert_true(fabs(pr.value[i] - s) <= 1e-12 * fmax(1, fabs(s)));
    }
    assert_null(pr.proba);
    kl_model_pred_release(&pr);
    kl_model_free(m);
    kl_frame_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ols_longley_matches_nist_certified_values),
        cmocka_unit_test(test_ols_diabetes_matches_sklearn),
        cmocka_unit_test(test_ridge_diabetes_matches_sklearn),
        cmocka_unit_test(test_lasso_diabetes_matches_sklearn),
        cmocka_unit_test(test_elasticnet_diabetes_matches_sklearn),
        cmocka_unit_test(test_ols_line_through_three_points_is_exact),
        cmocka_unit_test(test_ridge_one_feature_is_sxy_over_sxx_plus_alpha),
        cmocka_unit_test(test_lasso_one_feature_is_soft_threshold),
        cmocka_unit_test(test_elasticnet_one_feature_closed_form),
        cmocka_unit_test(test_lasso_large_alpha_gives_all_zero_coefficients),
        cmocka_unit_test(test_ols_duplicate_column_gives_minimum_norm_solution),
        cmocka_unit_test(test_lstsq_solves_square_system),
        cmocka_unit_test(test_params_are_validated_with_suggestions),
        cmocka_unit_test(test_unknown_algorithm_is_not_found_with_suggestion),
        cmocka_unit_test(test_fits_and_predictions_are_identical_with_1_and_2_threads),
        cmocka_unit_test(test_streamed_ols_over_several_tasks_matches_one_qr),
        cmocka_unit_test(test_predict_is_intercept_plus_dot_product),
        cmocka_unit_test(test_streamed_ridge_with_offset_columns_matches_augmented_qr),
        cmocka_unit_test(test_ridge_on_near_collinear_columns_keeps_qr_accuracy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
