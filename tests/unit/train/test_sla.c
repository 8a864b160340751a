/*
 * SLA gates and KPI verdicts on hand-made evaluations: bounds are inclusive,
 * a gate for another stage or an unmeasured metric never counts as missed,
 * and KPI targets follow their direction; gates with `by` hold in every
 * group (per-group metrics computed by hand).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "keel/evaluate.h"
#include "keel/frame.h"

static kl_eval_result result_r2_rmse(double r2, double rmse)
{
    kl_eval_result r;
    memset(&r, 0, sizeof r);
    r.metrics[0] = (kl_eval_metric){kl_metric_by_name("rmse"), rmse};
    r.metrics[1] = (kl_eval_metric){kl_metric_by_name("r2"), r2};
    r.n_metrics = 2;
    r.tp = r.fp = r.tn = r.fn = NAN;
    r.n = 100;
    r.sum_abs_error = 250;
    return r;
}

static void test_sla_min_max_pass_fail_and_boundaries(void **state)
{
    (void)state;
    kl_spec_sla sla[] = {
        {"r2", KL_SLA_BOUND_MIN, 0.5, KL_SLA_ON_VALIDATION, NULL},
        {"rmse", KL_SLA_BOUND_MAX, 8, KL_SLA_ON_VALIDATION, NULL},
        {"r2", KL_SLA_BOUND_MIN, 0.6, KL_SLA_ON_VALIDATION, NULL},  /* exactly met */
        {"rmse", KL_SLA_BOUND_MAX, 10, KL_SLA_ON_VALIDATION, NULL}, /* exactly met */
    };
    kl_eval_result r = result_r2_rmse(0.6, 10);
    kl_sla_verdict v[4];
    assert_int_equal(kl_sla_check(sla, 4, KL_SLA_ON_VALIDATION, &r, v), 1);
    assert_int_equal(v[0].status, KL_SLA_STATUS_PASS);
    assert_int_equal(v[1].status, KL_SLA_STATUS_FAIL);
    assert_true(v[1].value == 10);
    assert_int_equal(v[2].status, KL_SLA_STATUS_PASS);
    assert_int_equal(v[3].status, KL_SLA_STATUS_PASS);
    r = result_r2_rmse(0.59999, 10.0001);
    assert_int_equal(kl_sla_check(sla, 4, KL_SLA_ON_VALIDATION, &r, v), 3);
    assert_int_equal(v[0].status, KL_SLA_STATUS_PASS);
    assert_string_equal(kl_sla_status_name(v[2].status), "fail");
}

static void test_sla_other_stage_and_unmeasured_are_not_failures(void **state)
{
    (void)state;
    kl_spec_sla sla[] = {
        {"latency_p99_ms", KL_SLA_BOUND_MAX, 50, KL_SLA_ON_PRODUCTION, NULL},
        {"roc_auc", KL_SLA_BOUND_MIN, 0.8, KL_SLA_ON_VALIDATION, NULL},
        {"r2", KL_SLA_BOUND_MIN, 0.9, KL_SLA_ON_TEST, NULL},
    };
    kl_eval_result r = result_r2_rmse(0.5, 1);
    kl_sla_verdict v[3];
    assert_int_equal(kl_sla_check(sla, 3, KL_SLA_ON_VALIDATION, &r, v), 0);
    assert_int_equal(v[0].status, KL_SLA_STATUS_OTHER_STAGE);
    assert_int_equal(v[1].status, KL_SLA_STATUS_NOT_MEASURED);
    assert_true(isnan(v[1].value));
    assert_int_equal(v[2].status, KL_SLA_STATUS_OTHER_STAGE);
    /* the same r2 gate judged at its own stage fails */
    assert_int_equal(kl_sla_check(sla, 3, KL_SLA_ON_TEST, &r, v), 1);
    assert_int_equal(v[2].status, KL_SLA_STATUS_FAIL);
}

static void test_kpi_verdicts_follow_direction_and_report_errors(void **state)
{
    (void)state;
    kl_spec_kpi k[] = {
        {.name = "fit",
         .metric = "r2",
         .has_target = 1,
         .target = 0.5,
         .direction = KL_KPI_DIRECTION_MAX,
         .why = "w"},
        {.name = "mean error",
         .value = "sum_abs_error / n",
         .has_target = 1,
         .target = 2,
         .direction = KL_KPI_DIRECTION_MIN,
         .why = "w"},
        {.name = "gain", .value = "100*tp", .why = "w"},
        {.name = "auc", .metric = "roc_auc", .why = "w"},
        {.name = "no target", .value = "n * 2", .why = "w"},
    };
    kl_eval_result r = result_r2_rmse(0.7, 1);
    kl_kpi_verdict v[5];
    kl_kpi_check(k, 5, &r, v);
    assert_true(v[0].ok && v[0].value == 0.7 && v[0].met);
    assert_true(v[1].ok && v[1].value == 2.5 && !v[1].met); /* 2.5 > 2: missed */
    assert_false(v[2].ok);
    assert_non_null(strstr(v[2].error, "'tp' is not defined"));
    assert_false(v[3].ok);
    assert_non_null(strstr(v[3].error, "roc_auc"));
    assert_true(v[4].ok && v[4].value == 200 && !v[4].has_target);
}

/* ---- per-group gates ---- */

/* The 95% Wilson half-width, written out from its definition. */
static double wilson(double p, double n)
{
    double z = 1.959964;
    return z * sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n);
}

static void test_sla_by_group_recall_is_judged_in_every_group(void **state)
{
    (void)state;
    /* F: positives at 0.9, 0.8, 0.3 -> recall 2/3; M: 0.7, 0.6 -> 1; missing: 0.2 -> 0 */
    const char *sex[] = {"F", "F", "F", "F", "F", "M", "M", "M", "M", NULL, NULL};
    double y[] = {1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 0};
    double p1[] = {.9, .8, .3, .2, .6, .7, .6, .1, .4, .2, .9};
    size_t n = 11;
    double proba[22];
    for (size_t i = 0; i < n; i++) {
        proba[2 * i] = 1 - p1[i];
        proba[2 * i + 1] = p1[i];
    }
    kl_frame *f = kl_frame_new(n);
    assert_int_equal(kl_frame_add_categorical(f, "sex", sex, NULL), 0);
    kl_spec_sla sla[] = {
        {"recall", KL_SLA_BOUND_MIN, 0.7, KL_SLA_ON_VALIDATION, "sex"},
        {"accuracy", KL_SLA_BOUND_MIN, 0.1, KL_SLA_ON_VALIDATION, NULL}, /* no by: skipped */
    };
    kl_eval_input in = {.task = KL_TASK_CLASSIFICATION,
                        .n = n,
                        .y_true = y,
                        .proba = proba,
                        .k = 2,
                        .pos = 1,
                        .threshold = 0.5};
    kl_sla_groups g;
    kl_err err = {0};
    assert_int_equal(kl_sla_check_groups(sla, 2, KL_SLA_ON_VALIDATION, &in, f, NULL, &g, &err), 0);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.n_failed, 2);
    assert_string_equal(g.g[0].group, "F");
    assert_int_equal(g.g[0].rows, 5);
    assert_true(fabs(g.g[0].value - 2.0 / 3.0) < 1e-15);
    assert_int_equal(g.g[0].status, KL_SLA_STATUS_FAIL);
    assert_true(fabs(g.g[0].half_width - wilson(2.0 / 3.0, 3)) < 1e-12);
    assert_true(g.g[0].small);
    assert_string_equal(g.g[1].group, "M");
    assert_true(g.g[1].value == 1.0);
    assert_int_equal(g.g[1].status, KL_SLA_STATUS_PASS);
    assert_string_equal(g.g[2].group, "(missing)");
    assert_true(g.g[2].value == 0.0);
    assert_int_equal(g.g[2].status, KL_SLA_STATUS_FAIL);
    assert_int_equal(g.g[2].rows, 2);
    /* the gate for another stage is not judged */
    kl_sla_groups t;
    assert_int_equal(kl_sla_check_groups(sla, 2, KL_SLA_ON_TEST, &in, f, NULL, &t, &err), 0);
    assert_int_equal(t.n, 0);
    kl_sla_groups_release(&t);
    kl_sla_groups_release(&g);
    kl_frame_free(f);
}

static void test_sla_by_numeric_group_orders_numerically_and_uses_row_map(void **state)
{
    (void)state;
    /* evaluated entries come from frame rows 3, 0, 2, 1 (a validation fold) */
    double region[] = {10, 2, 10, 2};
    size_t rows[] = {3, 0, 2, 1};
    double yt[] = {0, 0, 0, 0}, yp[] = {1, 3, 4, -1}; /* region 2: 1, -1; region 10: 3, 4 */
    kl_frame *f = kl_frame_new(4);
    assert_int_equal(kl_frame_add_numeric(f, "region", KL_TYPE_INT, region, NULL), 0);
    kl_spec_sla sla[] = {{"rmse", KL_SLA_BOUND_MAX, 2.0, KL_SLA_ON_VALIDATION, "region"}};
    kl_eval_input in = {.task = KL_TASK_REGRESSION, .n = 4, .y_true = yt, .y_pred = yp};
    kl_sla_groups g;
    kl_err err = {0};
    assert_int_equal(kl_sla_check_groups(sla, 1, KL_SLA_ON_VALIDATION, &in, f, rows, &g, &err), 0);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.g[0].group, "2");
    assert_true(fabs(g.g[0].value - 1.0) < 1e-15);
    assert_int_equal(g.g[0].status, KL_SLA_STATUS_PASS);
    assert_string_equal(g.g[1].group, "10");
    assert_true(fabs(g.g[1].value - sqrt(12.5)) < 1e-12);
    assert_int_equal(g.g[1].status, KL_SLA_STATUS_FAIL);
    assert_int_equal(g.n_failed, 1);
    kl_sla_groups_release(&g);
    kl_frame_free(f);
}

static void test_sla_by_unknown_column_names_the_gate(void **state)
{
    (void)state;
    double yt[] = {1, 2}, yp[] = {1, 2};
    kl_frame *f = kl_frame_new(2);
    assert_int_equal(kl_frame_add_numeric(f, "a", KL_TYPE_FLOAT, yt, NULL), 0);
    kl_spec_sla sla[] = {{"rmse", KL_SLA_BOUND_MAX, 2.0, KL_SLA_ON_VALIDATION, "sex"}};
    kl_eval_input in = {.task = KL_TASK_REGRESSION, .n = 2, .y_true = yt, .y_pred = yp};
    kl_sla_groups g;
    kl_err err = {0};
    assert_int_equal(kl_sla_check_groups(sla, 1, KL_SLA_ON_VALIDATION, &in, f, NULL, &g, &err),
                     KL_ENOTFOUND);
    assert_string_equal(err.msg, "no column 'sex' to split the rmse gate by");
    assert_string_equal(err.ctx, "sla[0].by");
    assert_int_equal(g.n, 0);
    kl_frame_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sla_min_max_pass_fail_and_boundaries),
        cmocka_unit_test(test_sla_other_stage_and_unmeasured_are_not_failures),
        cmocka_unit_test(test_kpi_verdicts_follow_direction_and_report_errors),
        cmocka_unit_test(test_sla_by_group_recall_is_judged_in_every_group),
        cmocka_unit_test(test_sla_by_numeric_group_orders_numerically_and_uses_row_map),
        cmocka_unit_test(test_sla_by_unknown_column_names_the_gate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
