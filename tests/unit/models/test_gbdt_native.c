/*
 * GBDT through kl_model (`--algo gbdt`): the native pipeline keeps NaN and
 * turns categories into native splits, monotone constraints by position or
 * by name, XGBoost objective names, validation rows and rounds kept, and the
 * model file round trip. Expected values are computed by hand from the
 * leaf-weight formula w = -G / (H + lambda) with lambda 0 and eta 1 (a leaf
 * then predicts the mean of its rows' targets), or are identities.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keel/csv.h"
#include "keel/gbdt.h"
#include "keel/model.h"

#include "unit/models/fixture.h"

static kl_frame *csv(const char *text)
{
    kl_frame *f = NULL;
    kl_err err = {0};
    if (kl_csv_read_buffer(text, strlen(text), "test.csv", NULL, &f, NULL, &err) != 0) {
        fprintf(stderr, "csv: %s (%s)\n", err.msg, err.ctx);
        abort();
    }
    return f;
}

static int fit(const kl_frame *f, enum kl_task task, const char *target,
               const kl_model_param *params, size_t n, const kl_frame *valid, kl_model **m,
               kl_err *err)
{
    kl_model_fit_opts o = {.algo = "gbdt",
                           .task = task,
                           .target = target,
                           .params = params,
                           .n_params = n,
                           .seed = 7,
                           .valid = valid};
    return kl_model_fit(f, &o, m, err);
}

static kl_model *fit_ok(const kl_frame *f, enum kl_task task, const char *target,
                        const kl_model_param *params, size_t n, const kl_frame *valid)
{
    kl_model *m = NULL;
    kl_err err = {0};
    int rc = fit(f, task, target, params, n, valid, &m, &err);
    if (rc != 0)
        fprintf(stderr, "fit: %s (%s)\n", err.msg, err.ctx);
    assert_int_equal(rc, 0);
    return m;
}

static double *predict(const kl_model *m, const kl_frame *f)
{
    kl_model_pred p;
    kl_err err = {0};
    assert_int_equal(kl_model_predict(m, f, &p, &err), 0);
    double *v = malloc(p.n_rows * sizeof *v);
    memcpy(v, p.value, p.n_rows * sizeof *v);
    kl_model_pred_release(&p);
    return v;
}

/* One round, one split, eta 1, lambda 0: each leaf predicts the mean of its rows. */
static const kl_model_param stump[] = {{"n_estimators", "1"},
                                       {"max_depth", "1"},
                                       {"eta", "1"},
                                       {"lambda", "0"},
                                       {"min_child_weight", "0"}};

static void test_native_missing_values_get_their_own_leaf(void **state)
{
    (void)state;
    /* x is 1 or missing; y is 10 where x is missing, 0 elsewhere */
    kl_frame *f = csv("x,y\n1,0\n,10\n1,0\n,10\n1,0\n1,0\n");
    kl_model *m = fit_ok(f, KL_TASK_REGRESSION, "y", stump, 5, NULL);
    double *v = predict(m, f);
    for (size_t i = 0; i < 6; i++)
        assert_true(fabs(v[i] - (i == 1 || i == 3 ? 10.0 : 0.0)) < 1e-12);
    free(v);
    /* the pipeline handed the model NaN, not an imputed median */
    double X[6];
    kl_err err = {0};
    assert_int_equal(kl_pipeline_transform(kl_model_pipeline(m), f, 0, 6, X, 6, &err), 0);
    assert_true(isnan(X[1]) && isnan(X[3]) && X[0] == 1.0);
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_native_category_splits_one_against_the_rest(void **state)
{
    (void)state;
    kl_frame *f = csv("c,y\na,0\nb,6\nc,0\nb,6\na,0\nc,0\nb,6\n");
    kl_model *m = fit_ok(f, KL_TASK_REGRESSION, "y", stump, 5, NULL);
    const kl_pipeline *p = kl_model_pipeline(m);
    assert_int_equal(kl_pipeline_n_outputs(p), 1); /* one code column, not three one-hots */
    assert_int_equal(kl_pipeline_output_categories(p, 0), 3);
    /* new rows: a, b, c, an unseen z and a missing one (missing goes right, with a and c) */
    kl_frame *g = csv("c,y\na,0\nb,0\nc,0\nz,0\n,0\n");
    double *v = predict(m, g);
    double want[] = {0, 6, 0, 0, 0};
    for (size_t i = 0; i < 5; i++)
        assert_true(fabs(v[i] - want[i]) < 1e-12);
    free(v);
    kl_model_free(m);
    kl_frame_free(g);
    kl_frame_free(f);
}

static void test_monotone_decreasing_constraint_orders_predictions(void **state)
{
    (void)state;
    /* y rises with x; a -1 constraint must give predictions that never rise with x */
    char buf[8192];
    size_t len = (size_t)snprintf(buf, sizeof buf, "x,z,y\n");
    for (int i = 0; i < 200; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%d,%d,%g\n", i, (i * 7) % 13,
                                i + 5.0 * sin(i));
    kl_frame *f = csv(buf);
    kl_model_param pc[] = {{"monotone_constraints", "{x:-1}"}, {"n_estimators", "20"}};
    kl_model *m = fit_ok(f, KL_TASK_REGRESSION, "y", pc, 2, NULL);
    kl_model_param pp[] = {{"monotone_constraints", "(-1,0)"}, {"n_estimators", "20"}};
    kl_model *m2 = fit_ok(f, KL_TASK_REGRESSION, "y", pp, 2, NULL);
    /* rows with z fixed at 3, x ascending */
    len = (size_t)snprintf(buf, sizeof buf, "x,z,y\n");
    for (int i = 0; i < 200; i += 3)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%d,3,0\n", i);
    kl_frame *g = csv(buf);
    double *v = predict(m, g), *v2 = predict(m2, g);
    size_t n = kl_frame_row_count(g);
    for (size_t i = 1; i < n; i++)
        assert_true(v[i] <= v[i - 1]);
    assert_memory_equal(v, v2, n * sizeof *v); /* by name and by position: the same model */
    free(v);
    free(v2);
    kl_model_free(m);
    kl_model_free(m2);
    kl_frame_free(g);
    kl_frame_free(f);
}

static void test_bad_monotone_constraints_are_refused_clearly(void **state)
{
    (void)state;
    kl_frame *f = csv("x,c,y\n1,a,0\n2,b,1\n3,a,2\n4,b,3\n");
    struct {
        const char *text, *want;
    } cases[] = {
        {"(1,0,1)", "has 3 values; the model has 2 features"},
        {"(1,2)", "'2' must be -1, 0 or 1"},
        {"{w:1}", "'w', which is not a feature"},
        {"{c:1}", "'c' is categorical"},
        {"x=1", "must be like '(1,0,-1)'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kl_model_param p[] = {{"monotone_constraints", cases[i].text}};
        kl_model *m = NULL;
        kl_err err = {0};
        assert_int_equal(fit(f, KL_TASK_REGRESSION, "y", p, 1, NULL, &m, &err), KL_EINVAL);
        if (!strstr(err.msg, cases[i].want))
            fprintf(stderr, "%s: %s\n", cases[i].text, err.msg);
        assert_non_null(strstr(err.msg, cases[i].want));
        assert_string_equal(err.ctx, "param monotone_constraints");
        assert_null(m);
    }
    kl_frame_free(f);
}

static void test_xgboost_objective_names_are_aliases(void **state)
{
    (void)state;
    kl_frame *f = fx_csv("data/diabetes.csv");
    kl_model_param a[] = {{"objective", "squarederror"}, {"n_estimators", "5"}};
    kl_model_param b[] = {{"objective", "reg:squarederror"}, {"n_estimators", "5"}};
    kl_model *ma = fit_ok(f, KL_TASK_REGRESSION, "target", a, 2, NULL);
    kl_model *mb = fit_ok(f, KL_TASK_REGRESSION, "target", b, 2, NULL);
    double *va = predict(ma, f), *vb = predict(mb, f);
    assert_memory_equal(va, vb, kl_frame_row_count(f) * sizeof *va);
    kl_model_param c[] = {{"objective", "binary:logistic"}};
    kl_model *mc = NULL;
    kl_err err = {0};
    assert_int_equal(fit(f, KL_TASK_REGRESSION, "target", c, 1, NULL, &mc, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "is for classification"));
    free(va);
    free(vb);
    kl_model_free(ma);
    kl_model_free(mb);
    kl_frame_free(f);
}

/* Round r never depends on later rounds: keeping 4 of 12 rounds is a 4-round fit. */
static void test_rounds_keep_equals_a_shorter_fit(void **state)
{
    (void)state;
    kl_frame *f = fx_csv("data/breast_cancer.csv");
    kl_model_param p12[] = {{"n_estimators", "12"}, {"subsample", "0.7"}};
    kl_model_param p4[] = {{"n_estimators", "4"}, {"subsample", "0.7"}};
    kl_model *m12 = fit_ok(f, KL_TASK_CLASSIFICATION, "target", p12, 2, NULL);
    kl_model *m4 = fit_ok(f, KL_TASK_CLASSIFICATION, "target", p4, 2, NULL);
    kl_err err = {0};
    assert_int_equal(kl_model_rounds_keep(m12, 13, &err), KL_EINVAL);
    assert_int_equal(kl_model_rounds_keep(m12, 4, &err), 0);
    double *a = predict(m12, f), *b = predict(m4, f);
    assert_memory_equal(a, b, kl_frame_row_count(f) * sizeof *a);
    free(a);
    free(b);
    kl_model_free(m12);
    kl_model_free(m4);
    kl_frame_free(f);
}

/* Validation rows score every round; early stopping keeps the best round's trees. */
static void test_validation_rows_drive_early_stopping(void **state)
{
    (void)state;
    kl_frame *all = fx_csv("data/breast_cancer.csv");
    size_t n = kl_frame_row_count(all), cut = n * 3 / 4;
    size_t *idx = malloc(n * sizeof *idx);
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    kl_frame *tr = NULL, *va = NULL;
    kl_err err = {0};
    assert_int_equal(kl_frame_take(all, idx, cut, &tr, &err), 0);
    assert_int_equal(kl_frame_take(all, idx + cut, n - cut, &va, &err), 0);
    kl_model_param p[] = {{"n_estimators", "300"}, {"early_stopping_rounds", "10"}, {"eta", "0.3"}};
    kl_model *m = fit_ok(tr, KL_TASK_CLASSIFICATION, "target", p, 3, va);
    kl_model_rounds rd;
    assert_int_equal(kl_model_rounds_get(m, &rd, &err), 0);
    assert_non_null(rd.valid);
    assert_string_equal(rd.metric, "logloss");
    assert_true(rd.early_stopping);
    assert_true(rd.n_rounds < 300);
    assert_int_equal(rd.n_rounds, rd.best_round + 11); /* stopped 10 rounds after the best */
    for (size_t i = 0; i < rd.n_rounds; i++)
        assert_true(rd.valid[i] >= rd.valid[rd.best_round]);
    /* the validation metric at the best round is the model's own logloss on va */
    kl_model_pred pr;
    assert_int_equal(kl_model_predict(m, va, &pr, &err), 0);
    const double *y = kl_frame_col_f64(va, (size_t)kl_frame_col_index(va, "target"));
    double ll = 0;
    for (size_t i = 0; i < pr.n_rows; i++)
        ll -= log(y[i] == 1 ? pr.proba[2 * i + 1] : pr.proba[2 * i]);
    assert_true(fabs(ll / (double)pr.n_rows - rd.valid[rd.best_round]) < 1e-9);
    kl_model_pred_release(&pr);
    /* a model without rounds says so */
    kl_model_fit_opts o = {.algo = "ridge", .target = "target"};
    kl_model *r = NULL;
    assert_int_equal(kl_model_fit(tr, &o, &r, &err), 0);
    assert_int_equal(kl_model_rounds_get(r, &rd, &err), KL_EUNSUPPORTED);
    kl_model_free(r);
    kl_model_free(m);
    kl_frame_free(tr);
    kl_frame_free(va);
    kl_frame_free(all);
    free(idx);
}

/* adult_2000 has missing categories: native codes, saved, reloaded, same predictions. */
static void test_native_model_file_roundtrip_on_adult(void **state)
{
    (void)state;
    kl_frame *f = fx_csv("data/adult_2000.csv");
    kl_model_param p[] = {{"n_estimators", "10"}, {"monotone_constraints", "{age:1}"}};
    kl_model *m = fit_ok(f, KL_TASK_CLASSIFICATION, "income", p, 2, NULL);
    const kl_pipeline *pl = kl_model_pipeline(m);
    size_t ncat = 0;
    for (size_t j = 0; j < kl_pipeline_n_outputs(pl); j++)
        ncat += kl_pipeline_output_categories(pl, j) > 0;
    assert_int_equal(ncat, 8); /* workclass ... native_country: eight categorical columns */
    uint8_t *b1, *b2;
    size_t l1, l2;
    kl_model *r = NULL;
    kl_err err = {0};
    assert_int_equal(kl_model_save_buffer(m, &b1, &l1, &err), 0);
    assert_int_equal(kl_model_load_buffer(b1, l1, &r, &err), 0);
    assert_int_equal(kl_model_save_buffer(r, &b2, &l2, &err), 0);
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, l1);
    assert_string_equal(kl_model_param_value(r, "monotone_constraints"), "{age:1}");
    kl_model_pred p1, p2;
    assert_int_equal(kl_model_predict(m, f, &p1, &err), 0);
    assert_int_equal(kl_model_predict(r, f, &p2, &err), 0);
    assert_memory_equal(p1.proba, p2.proba, p1.n_rows * 2 * sizeof(double));
    kl_model_pred_release(&p1);
    kl_model_pred_release(&p2);
    kl_model_free(r);
    kl_model_free(m);
    free(b1);
    free(b2);
    kl_frame_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native_missing_values_get_their_own_leaf),
        cmocka_unit_test(test_native_category_splits_one_against_the_rest),
        cmocka_unit_test(test_monotone_decreasing_constraint_orders_predictions),
        cmocka_unit_test(test_bad_monotone_constraints_are_refused_clearly),
        cmocka_unit_test(test_xgboost_objective_names_are_aliases),
        cmocka_unit_test(test_rounds_keep_equals_a_shorter_fit),
        cmocka_unit_test(test_validation_rows_drive_early_stopping),
        cmocka_unit_test(test_native_model_file_roundtrip_on_adult),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
