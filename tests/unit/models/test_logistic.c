/*
 * Logistic regression against scikit-learn 1.2.1 (coefficients at a tight
 * tolerance, and the loss at its defaults), the L1 solution against the
 * optimality (KKT) conditions computed here, and thread-count identity.
 * Losses and gradients are computed in this file from the data, not by
 * the code under test.
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

static kl_model *fit(const kl_frame *f, const char *target, const kl_model_param *params,
                     size_t n_params)
{
    kl_model_fit_opts o = {.algo = "logistic",
                           .task = KL_TASK_CLASSIFICATION,
                           .target = target,
                           .params = params,
                           .n_params = n_params};
    kl_model *m = NULL;
    kl_err err = {0};
    int rc = kl_model_fit(f, &o, &m, &err);
    if (rc != 0)
        fprintf(stderr, "fit: %s (%s)\n", err.msg, err.ctx);
    assert_int_equal(rc, 0);
    return m;
}

/* Standardised features (population std) and labels, column-major; independent of keel. */
static double *standardized(const kl_frame *f, size_t *p_out, double **y)
{
    size_t n = kl_frame_row_count(f), p = kl_frame_col_count(f) - 1;
    double *X = malloc(n * p * sizeof(double));
    *y = malloc(n * sizeof(double));
    for (size_t j = 0; j < p; j++) {
        const double *x = kl_frame_col_f64(f, j);
        double m = 0, s = 0;
        for (size_t i = 0; i < n; i++)
            m += x[i];
        m /= (double)n;
        for (size_t i = 0; i < n; i++)
            s += (x[i] - m) * (x[i] - m);
        s = sqrt(s / (double)n);
        for (size_t i = 0; i < n; i++)
            X[j * n + i] = (x[i] - m) / s;
    }
    memcpy(*y, kl_frame_col_f64(f, p), n * sizeof(double));
    *p_out = p;
    return X;
}

/* C * sum logloss + 0.5 ||w||^2 for binary weights w, intercept b; gradient of the loss part. */
static double binary_loss(const double *X, const double *y, size_t n, size_t p, const double *w,
                          double b, double C, double *grad)
{
    double loss = 0;
    if (grad)
        memset(grad, 0, p * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        double z = b;
        for (size_t j = 0; j < p; j++)
            z += X[j * n + i] * w[j];
        loss += (z > 0 ? z + log1p(exp(-z)) : log1p(exp(z))) - y[i] * z;
        double r = 1.0 / (1.0 + exp(-z)) - y[i];
        for (size_t j = 0; grad && j < p; j++)
            grad[j] += C * r * X[j * n + i];
    }
    double reg = 0;
    for (size_t j = 0; j < p; j++)
        reg += 0.5 * w[j] * w[j];
    return C * loss + reg;
}

static void test_binary_l2_breast_cancer_matches_sklearn(void **state)
{
    (void)state;
    kl_frame *f = fx_csv("data/breast_cancer.csv");
    kl_model *m = fit(f, "target", NULL, 0);
    size_t k, p, n = kl_frame_row_count(f);
    const double *ic, *w;
    assert_int_equal(kl_model_linear_coef(m, &k, &p, &ic, &w, NULL), 0);
    assert_int_equal(k, 1);
    assert_int_equal(p, 30);
    assert_int_equal(kl_model_class_count(m), 2);
    assert_string_equal(kl_model_class_name(m, 1), "1");
    const char *file = "breast_cancer_logistic.txt";
    char key[128];
    if (!fx_close(ic[0], fx_value(file, "intercept"), 1e-6, 0))
        fprintf(stderr, "intercept %.17g vs %.17g\n", ic[0], fx_value(file, "intercept"));
    assert_true(fx_close(ic[0], fx_value(file, "intercept"), 1e-6, 0));
    const kl_pipeline *pl = kl_model_pipeline(m);
    double sk[30];
    for (size_t j = 0; j < p; j++) {
        snprintf(key, sizeof key, "coef_%s", kl_pipeline_output_name(pl, j));
        sk[j] = fx_value(file, key);
        if (!fx_close(w[j], sk[j], 1e-6, 0))
            fprintf(stderr, "%s: %.17g vs %.17g\n", key, w[j], sk[j]);
        assert_true(fx_close(w[j], sk[j], 1e-6, 0));
    }
    /* final loss no higher than scikit-learn's at its defaults, times 1 + 1e-6 */
    double *y, *X = standardized(f, &p, &y);
    const char *dfile = "breast_cancer_logistic_default.txt";
    for (size_t j = 0; j < p; j++) {
        snprintf(key, sizeof key, "coef_%s", kl_pipeline_output_name(pl, j));
        sk[j] = fx_value(dfile, key);
    }
    double ours = binary_loss(X, y, n, p, w, ic[0], 1.0, NULL);
    double theirs = binary_loss(X, y, n, p, sk, fx_value(dfile, "intercept"), 1.0, NULL);
    assert_true(ours <= theirs * (1 + 1e-6));
    free(X);
    free(y);
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_multinomial_iris_matches_sklearn(void **state)
{
    (void)state;
    kl_frame *f = fx_csv("data/iris.csv");
    kl_model *m = fit(f, "target", NULL, 0);
    size_t k, p;
    const double *ic, *w;
    assert_int_equal(kl_model_linear_coef(m, &k, &p, &ic, &w, NULL), 0);
    assert_int_equal(k, 3);
    assert_int_equal(p, 4);
    const char *file = "iris_multinomial.txt";
    const kl_pipeline *pl = kl_model_pipeline(m);
    char key[128];
    /* the fixture's intercepts, shifted to sum to zero as keel's are */
    double b[3], mean = 0;
    for (int c = 0; c < 3; c++) {
        snprintf(key, sizeof key, "intercept_%d", c);
        b[c] = fx_value(file, key);
        mean += b[c] / 3;
    }
    for (size_t c = 0; c < 3; c++) {
        assert_true(fx_close(ic[c], b[c] - mean, 1e-6, 0));
        for (size_t j = 0; j < p; j++) {
            snprintf(key, sizeof key, "coef_%zu_%s", c, kl_pipeline_output_name(pl, j));
            double want = fx_value(file, key);
            if (!fx_close(w[c * p + j], want, 1e-6, 0))
                fprintf(stderr, "%s: %.17g vs %.17g\n", key, w[c * p + j], want);
            assert_true(fx_close(w[c * p + j], want, 1e-6, 0));
        }
    }
    /* probabilities sum to one and the label is their argmax */
    kl_model_pred pr;
    assert_int_equal(kl_model_predict(m, f, &pr, NULL), 0);
    assert_int_equal(pr.n_classes, 3);
    assert_null(pr.value);
    size_t right = 0;
    for (size_t i = 0; i < pr.n_rows; i++) {
        const double *q = pr.proba + i * 3;
        assert_true(fabs(q[0] + q[1] + q[2] - 1) < 1e-12);
        int32_t best = q[1] > q[0] ? 1 : 0;
        best = q[2] > q[best] ? 2 : best;
        assert_int_equal(pr.label[i], best);
        right += (double)pr.label[i] == kl_frame_col_f64(f, 4)[i];
    }
    assert_true(right >= 140); /* the standard result on iris: about 97% training accuracy */
    kl_model_pred_release(&pr);
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_l1_solution_satisfies_optimality_conditions(void **state)
{
    (void)state;
    kl_frame *f = fx_csv("data/breast_cancer.csv");
    kl_model_param prm[] = {{"penalty", "l1"}, {"C", "0.1"}, {"tol", "1e-6"}};
    kl_model *m = fit(f, "target", prm, 3);
    size_t k, p, n = kl_frame_row_count(f);
    const double *ic, *w;
    assert_int_equal(kl_model_linear_coef(m, &k, &p, &ic, &w, NULL), 0);
    double *y, *X = standardized(f, &p, &y), g[30];
    binary_loss(X, y, n, p, w, ic[0], 0.1, g);
    size_t zeros = 0;
    for (size_t j = 0; j < p; j++) {
        /* 0 in C * dloss/dw_j + d|w_j|: equality off zero, |g| <= 1 at zero */
        if (w[j] != 0)
            assert_true(fabs(g[j] + (w[j] > 0 ? 1 : -1)) < 1e-5);
        else
            assert_true(fabs(g[j]) <= 1 + 1e-5);
        zeros += w[j] == 0;
    }
    assert_true(zeros > 0); /* L1 selects */
    free(X);
    free(y);
    kl_model_free(m);
    kl_frame_free(f);
}

static kl_frame *synthetic(size_t n)
{
    kl_rng r;
    kl_rng_init(&r, 11);
    kl_frame *f = kl_frame_new(n);
    double *x = malloc(n * sizeof(double)), *z = calloc(n, sizeof(double));
    const char **lab = malloc(n * sizeof(char *));
    char name[8];
    for (int j = 0; j < 5; j++) {
        for (size_t i = 0; i < n; i++) {
            x[i] = kl_rng_normal(&r);
            z[i] += (j - 2) * 0.7 * x[i];
        }
        snprintf(name, sizeof name, "x%d", j);
        assert_int_equal(kl_frame_add_numeric(f, name, KL_TYPE_FLOAT, x, NULL), 0);
    }
    for (size_t i = 0; i < n; i++) {
        double u = z[i] + kl_rng_normal(&r);
        lab[i] = u < -1 ? "low" : (u < 1 ? "mid" : "high");
    }
    assert_int_equal(kl_frame_add_categorical(f, "y", lab, NULL), 0);
    free(x);
    free(z);
    free(lab);
    return f;
}

static void test_fits_are_identical_with_1_and_2_threads(void **state)
{
    (void)state;
    kl_frame *f = synthetic(20000);
    const char *pen[] = {"l2", "l1"};
    for (int q = 0; q < 2; q++) {
        kl_model_param prm[] = {{"penalty", pen[q]}};
        uint8_t *b1, *b2;
        size_t l1, l2;
        kl_threads_set(1);
        openblas_set_num_threads(1);
        kl_model *m1 = fit(f, "y", prm, 1);
        kl_threads_set(2);
        openblas_set_num_threads(2);
        kl_model *m2 = fit(f, "y", prm, 1);
        assert_int_equal(kl_model_save_buffer(m1, &b1, &l1, NULL), 0);
        assert_int_equal(kl_model_save_buffer(m2, &b2, &l2, NULL), 0);
        assert_int_equal(l1, l2);
        assert_memory_equal(b1, b2, l1);
        /* classes sorted bytewise, as scikit-learn's LabelEncoder */
        assert_string_equal(kl_model_class_name(m1, 0), "high");
        assert_string_equal(kl_model_class_name(m1, 2), "mid");
        kl_model_pred p1, p2;
        assert_int_equal(kl_model_predict(m1, f, &p1, NULL), 0);
        kl_threads_set(1);
        assert_int_equal(kl_model_predict(m1, f, &p2, NULL), 0);
        assert_memory_equal(p1.proba, p2.proba, 20000 * 3 * sizeof(double));
        kl_model_pred_release(&p1);
        kl_model_pred_release(&p2);
        free(b1);
        free(b2);
        kl_model_free(m1);
        kl_model_free(m2);
    }
    kl_threads_set(0);
    kl_frame_free(f);
}

static void test_unpenalised_separable_classes_fit_without_failing(void **state)
{
    (void)state;
    /* x < 0 is class 0, x > 0 class 1: with no penalty the weights grow until the Hessian
       is singular at machine precision; the fit hands over to L-BFGS and still returns a
       model that separates the rows */
    double x[] = {-3, -2, -1.5, -1, -0.5, 0.5, 1, 1.5, 2, 3};
    double y[] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1};
    kl_frame *f = kl_frame_new(10);
    assert_int_equal(kl_frame_add_numeric(f, "x", KL_TYPE_FLOAT, x, NULL), 0);
    assert_int_equal(kl_frame_add_numeric(f, "y", KL_TYPE_FLOAT, y, NULL), 0);
    kl_model_param prm[] = {{"penalty", "none"}, {"max_iter", "200"}};
    kl_model *m = fit(f, "y", prm, 2);
    kl_model_pred pr;
    assert_int_equal(kl_model_predict(m, f, &pr, NULL), 0);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(pr.label[i], (int)y[i]);
    kl_model_pred_release(&pr);
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_one_class_target_is_refused(void **state)
{
    (void)state;
    double x[] = {1, 2, 3}, y[] = {1, 1, 1};
    kl_frame *f = kl_frame_new(3);
    assert_int_equal(kl_frame_add_numeric(f, "x", KL_TYPE_FLOAT, x, NULL), 0);
    assert_int_equal(kl_frame_add_numeric(f, "y", KL_TYPE_INT, y, NULL), 0);
    kl_model_fit_opts o = {.algo = "logistic", .task = KL_TASK_CLASSIFICATION, .target = "y"};
    kl_model *m = NULL;
    kl_err err = {0};
    assert_int_equal(kl_model_fit(f, &o, &m, &err), KL_EINVAL);
    assert_string_equal(err.msg, "the target 'y' has 1 class; classification needs at least 2");
    kl_model_fit_opts r = {.algo = "logistic", .task = KL_TASK_REGRESSION, .target = "y"};
    assert_int_equal(kl_model_fit(f, &r, &m, &err), KL_EUNSUPPORTED);
    kl_frame_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_l2_breast_cancer_matches_sklearn),
        cmocka_unit_test(test_multinomial_iris_matches_sklearn),
        cmocka_unit_test(test_l1_solution_satisfies_optimality_conditions),
        cmocka_unit_test(test_fits_are_identical_with_1_and_2_threads),
        cmocka_unit_test(test_one_class_target_is_refused),
        cmocka_unit_test(test_unpenalised_separable_classes_fit_without_failing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
