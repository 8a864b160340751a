/*
 * KPI formulas (precedence, associativity, errors), evaluation quantities on
 * hand-made vectors, and the choice of a binary decision threshold by cost,
 * by F1 and fixed, each checked against values worked out by hand.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "keel/evaluate.h"

struct vars {
    double tp, fp;
};

static int lookup(const char *name, void *ud, double *v)
{
    const struct vars *x = ud;
    if (!strcmp(name, "tp"))
        *v = x->tp;
    else if (!strcmp(name, "fp"))
        *v = x->fp;
    else
        return -5;
    return 0;
}

static double eval_ok(const char *f, double tp, double fp)
{
    struct vars x = {tp, fp};
    kl_err err = {0};
    double v = NAN;
    int rc = kl_kpi_formula_eval(f, lookup, &x, &v, &err);
    if (rc)
        fprintf(stderr, "%s: %s\n", f, err.msg);
    assert_int_equal(rc, 0);
    return v;
}

static void test_kpi_formula_precedence_and_associativity(void **state)
{
    (void)state;
    assert_true(eval_ok("2 + 3 * 4", 0, 0) == 14);
    assert_true(eval_ok("(2 + 3) * 4", 0, 0) == 20);
    assert_true(eval_ok("10 - 4 - 3", 0, 0) == 3);
    assert_true(eval_ok("64 / 4 / 2", 0, 0) == 8);
    assert_true(eval_ok("-2 * 3", 0, 0) == -6);
    assert_true(eval_ok("2 * -3", 0, 0) == -6);
    assert_true(eval_ok("100*tp - 5*fp", 3, 4) == 280);
    assert_true(eval_ok("  1.5e2 + tp/fp ", 3, 4) == 150.75);
}

static void expect_error(const char *f, double tp, double fp, const char *needle)
{
    struct vars x = {tp, fp};
    kl_err err = {0};
    double v = 12345;
    assert_int_equal(kl_kpi_formula_eval(f, lookup, &x, &v, &err), KL_EINVAL);
    if (!strstr(err.msg, needle))
        fprintf(stderr, "'%s' gave '%s', wanted '%s'\n", f, err.msg, needle);
    assert_non_null(strstr(err.msg, needle));
    assert_non_null(strstr(err.ctx, "kpi formula"));
    assert_true(v == 12345); /* untouched on error */
}

static void test_kpi_formula_errors_are_clear(void **state)
{
    (void)state;
    expect_error("profit * 2", 1, 1, "unknown name 'profit'");
    expect_error("tp / fp", 1, 0, "division by zero");
    expect_error("tp / (fp - fp)", 1, 3, "division by zero");
    expect_error("1 +", 1, 1, "expected a number");
    expect_error("(1 + 2", 1, 1, "missing ')'");
    expect_error("1 2", 1, 1, "unexpected '2'");
    expect_error("tn + 1", 1, 1, "'tn' is not defined");
    expect_error("2 ^ 3", 1, 1, "unexpected");
}

static void test_kpi_formula_deep_nesting_is_an_error_not_a_crash(void **state)
{
    (void)state;
    char f[1200];
    size_t n = 0;
    for (int i = 0; i < 500; i++)
        f[n++] = '(';
    f[n++] = '1';
    for (int i = 0; i < 500; i++)
        f[n++] = ')';
    f[n] = '\0';
    expect_error(f, 0, 0, "nested too deeply");
    for (n = 0; n < 1000; n++)
        f[n] = '-';
    f[n++] = '1';
    f[n] = '\0';
    expect_error(f, 0, 0, "nested too deeply");
}

static void test_eval_regression_quantities_by_hand(void **state)
{
    (void)state;
    double y[] = {1, 2, 3, 4}, p[] = {1, 2, 3, 5};
    kl_eval_input in = {.task = KL_TASK_REGRESSION, .n = 4, .y_true = y, .y_pred = p};
    kl_eval_result r;
    kl_err err = {0};
    assert_int_equal(kl_eval_compute(&in, &r, &err), 0);
    double v;
    assert_true(kl_eval_metric_get(&r, "rmse", &v));
    assert_true(fabs(v - 0.5) < 1e-15);
    assert_true(kl_eval_metric_get(&r, "mae", &v));
    assert_true(v == 0.25);
    /* r2 = 1 - 1 / 5 (sum of squares about the mean 2.5 is 5) */
    assert_true(kl_eval_metric_get(&r, "r2", &v));
    assert_true(fabs(v - 0.8) < 1e-15);
    assert_false(kl_eval_metric_get(&r, "accuracy", &v));
    assert_true(r.sum_abs_error == 1 && r.sum_squared_error == 1 && r.n == 4);
    assert_true(r.sum_actual == 10 && r.sum_predicted == 11);
    assert_true(isnan(r.tp));
    double k;
    assert_int_equal(kl_kpi_formula_eval("sum_abs_error / n", kl_eval_kpi_lookup, &r, &k, &err), 0);
    assert_true(k == 0.25);
    assert_int_equal(kl_kpi_formula_eval("tp", kl_eval_kpi_lookup, &r, &k, &err), KL_EINVAL);
}

static void test_eval_binary_confusion_follows_the_threshold(void **state)
{
    (void)state;
    /* P(class 1) per row; class 1 is positive */
    double s[] = {0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1};
    double y[] = {1, 1, 0, 1, 0, 1, 0, 0}, proba[16];
    for (int i = 0; i < 8; i++) {
        proba[2 * i] = 1 - s[i];
        proba[2 * i + 1] = s[i];
    }
    kl_eval_input in = {.task = KL_TASK_CLASSIFICATION,
                        .n = 8,
                        .y_true = y,
                        .proba = proba,
                        .k = 2,
                        .pos = 1,
                        .threshold = 0.5};
    kl_eval_result r;
    kl_err err = {0};
    assert_int_equal(kl_eval_compute(&in, &r, &err), 0);
    assert_true(r.tp == 3 && r.fp == 1 && r.tn == 3 && r.fn == 1);
    double v;
    assert_true(kl_eval_metric_get(&r, "accuracy", &v) && v == 0.75);
    /* AUC by pairs: positives {.9,.8,.6,.3}, negatives {.7,.4,.2,.1}: 13 of 16 pairs ordered */
    assert_true(kl_eval_metric_get(&r, "roc_auc", &v) && fabs(v - 13.0 / 16) < 1e-15);
    in.threshold = 0.25;
    assert_int_equal(kl_eval_compute(&in, &r, &err), 0);
    assert_true(r.tp == 4 && r.fp == 2 && r.tn == 2 && r.fn == 0);
    assert_true(kl_eval_metric_get(&r, "recall", &v) && v == 1);
}

static const double sc[] = {0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1};
static const double ypos[] = {1, 1, 0, 1, 0, 1, 0, 0};

static void test_threshold_by_cost_maximises_the_formula(void **state)
{
    (void)state;
    kl_err err = {0};
    double t, best;
    /* 10*tp - 3*fp over t = .9 .8 .7 .6 .4 .3 .2 .1: 10 20 17 27 24 34 31 28 */
    assert_int_equal(kl_threshold_choose(sc, ypos, 8, KL_THRESHOLD_METHOD_COST, "10*tp - 3*fp",
                                         KL_KPI_DIRECTION_MAX, &t, &best, &err),
                     0);
    assert_true(t == 0.3 && best == 34);
    /* false alarms dearer: 10 20 5 15 0 10 -5 -20 */
    assert_int_equal(kl_threshold_choose(sc, ypos, 8, KL_THRESHOLD_METHOD_COST, "10*tp - 15*fp",
                                         KL_KPI_DIRECTION_MAX, &t, &best, &err),
                     0);
    assert_true(t == 0.8 && best == 20);
    /* a cost to minimise: 5*fp + 50*fn: 150 100 105 55 60 10 15 20 */
    assert_int_equal(kl_threshold_choose(sc, ypos, 8, KL_THRESHOLD_METHOD_COST, "5*fp + 50*fn",
                                         KL_KPI_DIRECTION_MIN, &t, &best, &err),
                     0);
    assert_true(t == 0.3 && best == 10);
}

static void test_threshold_by_f1_and_fixed(void **state)
{
    (void)state;
    kl_err err = {0};
    double t, best;
    /* F1 = 2tp / (2tp + fp + fn): .4 .667 .571 .75 .667 .8 .727 .667 */
    assert_int_equal(kl_threshold_choose(sc, ypos, 8, KL_THRESHOLD_METHOD_F1, NULL,
                                         KL_KPI_DIRECTION_MAX, &t, &best, &err),
                     0);
    assert_true(t == 0.3 && fabs(best - 0.8) < 1e-15);
    t = 0;
    assert_int_equal(kl_threshold_choose(sc, ypos, 8, KL_THRESHOLD_METHOD_FIXED, NULL,
                                         KL_KPI_DIRECTION_MAX, &t, &best, &err),
                     0);
    assert_true(t == 0.5 && isnan(best));
    /* ties: equal scores move together, so t is one of the scores */
    double s2[] = {0.5, 0.5, 0.5, 0.2}, y2[] = {1, 0, 1, 0};
    assert_int_equal(kl_threshold_choose(s2, y2, 4, KL_THRESHOLD_METHOD_COST, "tp - fp",
                                         KL_KPI_DIRECTION_MAX, &t, &best, &err),
                     0);
    assert_true(t == 0.5 && best == 1);
    assert_int_equal(kl_threshold_choose(sc, ypos, 8, KL_THRESHOLD_METHOD_COST, "tp / 0",
                                         KL_KPI_DIRECTION_MAX, &t, &best, &err),
                     KL_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kpi_formula_precedence_and_associativity),
        cmocka_unit_test(test_kpi_formula_errors_are_clear),
        cmocka_unit_test(test_kpi_formula_deep_nesting_is_an_error_not_a_crash),
        cmocka_unit_test(test_eval_regression_quantities_by_hand),
        cmocka_unit_test(test_eval_binary_confusion_follows_the_threshold),
        cmocka_unit_test(test_threshold_by_cost_maximises_the_formula),
        cmocka_unit_test(test_threshold_by_f1_and_fixed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
