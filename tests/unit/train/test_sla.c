/*
 * SLA gates and KPI verdicts on hand-made evaluations: bounds are inclusive,
 * a gate for another stage or an unmeasured metric never counts as missed,
 * and KPI targets follow their direction.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "keel/evaluate.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sla_min_max_pass_fail_and_boundaries),
        cmocka_unit_test(test_sla_other_stage_and_unmeasured_are_not_failures),
        cmocka_unit_test(test_kpi_verdicts_follow_direction_and_report_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
