/*
 * Metrics against values from outside the code: hand computation on small
 * vectors (the worked examples below), scikit-learn 1.2.1's own outputs on
 * random vectors (tests/fixtures/metrics/sklearn_cases.h, written once by
 * gen_sklearn.py), and a brute-force pairwise ROC AUC.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "keel/metrics.h"
#include "keel/rng.h"
#include "keel/spec.h"

#include "fixtures/metrics/sklearn_cases.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void near(double got, double want, double rel)
{
    double tol = rel * fmax(1.0, fabs(want));
    if (!(fabs(got - want) <= tol))
        fail_msg("got %.17g, want %.17g (tolerance %g)", got, want, tol);
}

/* ---- regression ---- */

typedef int (*reg_fn)(const double *, const double *, size_t, const double *, double *, kl_err *);

static double reg(reg_fn fn, const double *y, const double *p, size_t n, const double *w)
{
    kl_err err = {0};
    double v;
    assert_int_equal(fn(y, p, n, w, &v, &err), 0);
    return v;
}

static void test_regression_metrics_match_sklearn(void **state)
{
    (void)state;
    const size_t n = N(reg_true);
    near(reg(kl_metric_mse, reg_true, reg_pred, n, NULL), reg_mse, 1e-13);
    near(reg(kl_metric_rmse, reg_true, reg_pred, n, NULL), reg_rmse, 1e-13);
    near(reg(kl_metric_mae, reg_true, reg_pred, n, NULL), reg_mae, 1e-13);
    near(reg(kl_metric_mape, reg_true, reg_pred, n, NULL), reg_mape, 1e-13);
    near(reg(kl_metric_r2, reg_true, reg_pred, n, NULL), reg_r2, 1e-13);
    near(reg(kl_metric_explained_variance, reg_true, reg_pred, n, NULL), reg_ev, 1e-13);
    near(reg(kl_metric_median_ae, reg_true, reg_pred, n, NULL), reg_medae, 1e-15);
    near(reg(kl_metric_mse, reg_true, reg_pred, n, reg_w), reg_mse_w, 1e-13);
    near(reg(kl_metric_rmse, reg_true, reg_pred, n, reg_w), reg_rmse_w, 1e-13);
    near(reg(kl_metric_mae, reg_true, reg_pred, n, reg_w), reg_mae_w, 1e-13);
    near(reg(kl_metric_mape, reg_true, reg_pred, n, reg_w), reg_mape_w, 1e-13);
    near(reg(kl_metric_r2, reg_true, reg_pred, n, reg_w), reg_r2_w, 1e-13);
    near(reg(kl_metric_explained_variance, reg_true, reg_pred, n, reg_w), reg_ev_w, 1e-13);
    near(reg(kl_metric_median_ae, reg_true, reg_pred, n, reg_w), reg_medae_w, 1e-15);
}

static void test_mape_zero_target_divides_by_machine_epsilon(void **state)
{
    (void)state;
    const double y[] = {0, 2}, p[] = {1, 1};
    near(reg(kl_metric_mape, y, p, 2, NULL), (1 / DBL_EPSILON + 0.5) / 2, 1e-15);
    const double y0[] = {0, 4}, p0[] = {0, 5}; /* an exact zero prediction of zero adds 0 */
    near(reg(kl_metric_mape, y0, p0, 2, NULL), 0.125, 1e-15);
}

static void test_r2_constant_target_is_one_if_perfect_else_zero(void **state)
{
    (void)state;
    const double y[] = {3, 3, 3}, perfect[] = {3, 3, 3}, off[] = {3, 3, 4};
    assert_true(reg(kl_metric_r2, y, perfect, 3, NULL) == 1.0);
    assert_true(reg(kl_metric_r2, y, off, 3, NULL) == 0.0);
    assert_true(reg(kl_metric_explained_variance, y, perfect, 3, NULL) == 1.0);
    assert_true(reg(kl_metric_explained_variance, y, off, 3, NULL) == 0.0);
    /* 0.1 three times sums to 0.30000000000000004: the mean must still be exactly 0.1. */
    const double tenth[] = {0.1, 0.1, 0.1}, near_tenth[] = {0.1, 0.2, 0.1}, w[] = {1, 0.3, 7};
    assert_true(reg(kl_metric_r2, tenth, near_tenth, 3, NULL) == 0.0);
    assert_true(reg(kl_metric_r2, tenth, near_tenth, 3, w) == 0.0);
    assert_true(reg(kl_metric_explained_variance, tenth, near_tenth, 3, w) == 0.0);
    /* Residuals all exactly 0.1 (their rounded mean is not): explained variance exactly 1. */
    const double y3[] = {0.1, 0.2, 0.3}, p3[] = {0.0, 0.1, 0.19999999999999998};
    assert_true(y3[0] - p3[0] == 0.1 && y3[1] - p3[1] == 0.1 && y3[2] - p3[2] == 0.1);
    assert_true(reg(kl_metric_explained_variance, y3, p3, 3, NULL) == 1.0);
    /* A perfect fit of a varying target is 1; predicting the mean is 0. */
    const double v[] = {1, 2, 3, 6}, mean[] = {3, 3, 3, 3};
    assert_true(reg(kl_metric_r2, v, v, 4, NULL) == 1.0);
    assert_true(reg(kl_metric_r2, v, mean, 4, NULL) == 0.0);
}

static void test_r2_one_sample_is_undefined(void **state)
{
    (void)state;
    const double y[] = {1}, p[] = {2};
    kl_err err = {0};
    double v = 0;
    assert_int_equal(kl_metric_r2(y, p, 1, NULL, &v, &err), KL_EINVAL);
    assert_true(isnan(v));
    assert_non_null(strstr(err.msg, "two samples"));
    assert_string_equal(err.ctx, "metric r2");
}

static void test_explained_variance_ignores_a_constant_bias(void **state)
{
    (void)state;
    /* Errors are all +1: Var(y - p) = 0, so EV = 1 while R² = 1 - 4/5. */
    const double y[] = {1, 2, 3, 4, 5}, p[] = {0, 1, 2, 3, 4};
    assert_true(reg(kl_metric_explained_variance, y, p, 5, NULL) == 1.0);
    near(reg(kl_metric_r2, y, p, 5, NULL), 1 - 5.0 / 10.0, 1e-15);
}

static void test_median_ae_even_count_averages_middle_values(void **state)
{
    (void)state;
    const double y[] = {1, 1, 1, 1}, p[] = {2, 4, 3, 11}; /* errors 1, 3, 2, 10 */
    near(reg(kl_metric_median_ae, y, p, 4, NULL), 2.5, 0);
    /* Weighted, no interpolation: sorted errors 1, 2, 3, 10. With weights 1, 1, 1, 4 the
     * cumulative weights are 1, 2, 3, 7 and half of 7 is first reached at 10; with the weight 4
     * on the error 2 they are 1, 5, 6, 7, reached at 2. */
    const double w10[] = {1, 1, 1, 4}, w2[] = {1, 1, 4, 1};
    near(reg(kl_metric_median_ae, y, p, 4, w10), 10, 0);
    near(reg(kl_metric_median_ae, y, p, 4, w2), 2, 0);
}

static void test_rmse_is_root_of_mse_by_hand(void **state)
{
    (void)state;
    const double y[] = {1, 2, 3}, p[] = {1, 4, 0}; /* squared errors 0, 4, 9 */
    near(reg(kl_metric_mse, y, p, 3, NULL), 13.0 / 3, 1e-15);
    near(reg(kl_metric_rmse, y, p, 3, NULL), sqrt(13.0 / 3), 1e-15);
    near(reg(kl_metric_mae, y, p, 3, NULL), 5.0 / 3, 1e-15);
    const double w[] = {2, 1, 1};
    near(reg(kl_metric_mse, y, p, 3, w), 13.0 / 4, 1e-15);
}

/* ---- forecasting ---- */

static void test_smape_by_hand_counts_zero_over_zero_as_zero(void **state)
{
    (void)state;
    const double a[] = {0, 1, 2}, f[] = {0, 3, 2}; /* terms 0, 2*2/4, 0 */
    near(reg(kl_metric_smape, a, f, 3, NULL), 100.0 / 3, 1e-14);
    const double a2[] = {0}, f2[] = {5}; /* one side zero: the maximum, 200 */
    near(reg(kl_metric_smape, a2, f2, 1, NULL), 200, 0);
}

static void test_mase_scales_by_in_sample_naive_mae(void **state)
{
    (void)state;
    const double train[] = {1, 2, 4, 7}, y[] = {8, 10}, p[] = {9, 8};
    kl_err err = {0};
    double v;
    /* m = 1: naive errors 1, 2, 3 (mean 2); test MAE (1 + 2) / 2 = 1.5. */
    assert_int_equal(kl_metric_mase(y, p, 2, train, 4, 1, &v, &err), 0);
    near(v, 0.75, 1e-15);
    assert_int_equal(kl_metric_mase(y, p, 2, train, 4, 0, &v, &err), 0);
    near(v, 0.75, 1e-15);
    /* m = 2: errors 4 - 1 and 7 - 2 (mean 4). */
    assert_int_equal(kl_metric_mase(y, p, 2, train, 4, 2, &v, &err), 0);
    near(v, 0.375, 1e-15);
    const double flat[] = {5, 5, 5};
    assert_int_equal(kl_metric_mase(y, p, 2, flat, 3, 1, &v, &err), KL_EINVAL);
    assert_true(isnan(v));
    assert_int_equal(kl_metric_mase(y, p, 2, train, 2, 2, &v, &err), KL_EINVAL);
}

/* ---- classification from labels ---- */

static void test_label_metrics_match_sklearn_three_classes(void **state)
{
    (void)state;
    const size_t n = N(cls_true);
    const double *ws[2] = {NULL, cls_w};
    const double want[2][11] = {
        {cls_accuracy, cls_balanced, cls_p_macro, cls_r_macro, cls_f1_macro, cls_p_micro,
         cls_r_micro, cls_f1_micro, cls_p_weighted, cls_r_weighted, cls_f1_weighted},
        {cls_accuracy_w, cls_balanced_w, cls_p_macro_w, cls_r_macro_w, cls_f1_macro_w,
         cls_p_micro_w, cls_r_micro_w, cls_f1_micro_w, cls_p_weighted_w, cls_r_weighted_w,
         cls_f1_weighted_w},
    };
    for (int t = 0; t < 2; t++) {
        near(reg(kl_metric_accuracy, cls_true, cls_pred, n, ws[t]), want[t][0], 1e-14);
        near(reg(kl_metric_balanced_accuracy, cls_true, cls_pred, n, ws[t]), want[t][1], 1e-14);
        const enum kl_average avgs[] = {KL_AVERAGE_MACRO, KL_AVERAGE_MICRO, KL_AVERAGE_WEIGHTED};
        for (int a = 0; a < 3; a++) {
            kl_prf r;
            kl_err err = {0};
            assert_int_equal(kl_metric_prf(cls_true, cls_pred, n, ws[t], avgs[a], 1, &r, &err), 0);
            near(r.precision, want[t][2 + 3 * a], 1e-14);
            near(r.recall, want[t][3 + 3 * a], 1e-14);
            near(r.f1, want[t][4 + 3 * a], 1e-14);
            assert_int_equal(r.flags, 0);
        }
        kl_confusion cm;
        kl_err err = {0};
        assert_int_equal(kl_confusion_compute(&cm, cls_true, cls_pred, n, ws[t], &err), 0);
        assert_int_equal(cm.k, 3);
        const double *want_cm = t ? cls_cm_w : cls_cm;
        for (size_t i = 0; i < 9; i++)
            near(cm.counts[i], want_cm[i], 1e-14);
        kl_confusion_release(&cm);
    }
}

static void test_f1_averages_by_hand_on_three_classes(void **state)
{
    (void)state;
    /* Class 0: tp 2, predicted 3, true 2 -> P 2/3, R 1, F1 0.8; classes 1, 2: tp 0 -> 0. */
    const double y[] = {0, 1, 2, 0, 1, 2}, p[] = {0, 2, 1, 0, 0, 1};
    kl_prf r;
    kl_err err = {0};
    assert_int_equal(kl_metric_prf(y, p, 6, NULL, KL_AVERAGE_MACRO, 0, &r, &err), 0);
    near(r.f1, 0.8 / 3, 1e-15);
    near(r.precision, (2.0 / 3) / 3, 1e-15);
    near(r.recall, 1.0 / 3, 1e-15);
    assert_int_equal(kl_metric_prf(y, p, 6, NULL, KL_AVERAGE_MICRO, 0, &r, &err), 0);
    near(r.f1, 2.0 / 6, 1e-15);
    assert_int_equal(kl_metric_prf(y, p, 6, NULL, KL_AVERAGE_WEIGHTED, 0, &r, &err), 0);
    near(r.f1, 0.8 / 3, 1e-15); /* supports are equal, so weighted equals macro */
    assert_int_equal(r.flags, 0);
}

static void test_binary_prf_matches_sklearn_with_positive_label(void **state)
{
    (void)state;
    const size_t n = N(bin_true);
    double pred[N(bin_true)];
    for (size_t i = 0; i < n; i++)
        pred[i] = bin_score[i] >= 0.5;
    kl_prf r;
    kl_err err = {0};
    assert_int_equal(kl_metric_prf(bin_true, pred, n, NULL, KL_AVERAGE_BINARY, 1, &r, &err), 0);
    near(r.precision, bin_p, 1e-14);
    near(r.recall, bin_r, 1e-14);
    near(r.f1, bin_f1, 1e-14);
    assert_int_equal(kl_metric_prf(bin_true, pred, n, bin_w, KL_AVERAGE_BINARY, 1, &r, &err), 0);
    near(r.precision, bin_p_w, 1e-14);
    near(r.recall, bin_r_w, 1e-14);
    near(r.f1, bin_f1_w, 1e-14);
}

static void test_no_positive_predictions_gives_zero_precision_and_a_flag(void **state)
{
    (void)state;
    const double y[] = {1, 0, 1}, p[] = {0, 0, 0};
    kl_prf r;
    kl_err err = {0};
    assert_int_equal(kl_metric_prf(y, p, 3, NULL, KL_AVERAGE_BINARY, 1, &r, &err), 0);
    assert_true(r.precision == 0 && r.recall == 0 && r.f1 == 0);
    assert_int_equal(r.flags, KL_PRF_PRECISION_ILL_DEFINED);
    /* Nothing positive at all, pos_label absent: every ratio is 0/0. */
    const double none[] = {0, 0};
    assert_int_equal(kl_metric_prf(none, none, 2, NULL, KL_AVERAGE_BINARY, 1, &r, &err), 0);
    assert_true(r.precision == 0 && r.recall == 0 && r.f1 == 0);
    assert_int_equal(r.flags, KL_PRF_PRECISION_ILL_DEFINED | KL_PRF_RECALL_ILL_DEFINED |
                                  KL_PRF_F1_ILL_DEFINED);
    /* Macro over classes where class 2 is only predicted: its recall is 0/0. */
    const double y3[] = {0, 1, 1}, p3[] = {0, 1, 2};
    assert_int_equal(kl_metric_prf(y3, p3, 3, NULL, KL_AVERAGE_MACRO, 0, &r, &err), 0);
    assert_int_equal(r.flags, KL_PRF_RECALL_ILL_DEFINED);
    near(r.precision, 2.0 / 3, 1e-15); /* (1 + 1 + 0) / 3: class 2 was predicted once, wrongly */
    near(r.recall, 0.5, 1e-15);        /* (1 + 1/2 + 0) / 3 */
}

static void test_binary_average_refuses_multiclass_and_foreign_positive_label(void **state)
{
    (void)state;
    const double y[] = {0, 1, 2}, p[] = {0, 1, 1};
    kl_prf r;
    kl_err err = {0};
    assert_int_equal(kl_metric_prf(y, p, 3, NULL, KL_AVERAGE_BINARY, 1, &r, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "multiclass"));
    assert_true(isnan(r.f1));
    const double y2[] = {0, 2, 2}, p2[] = {0, 2, 0};
    assert_int_equal(kl_metric_prf(y2, p2, 3, NULL, KL_AVERAGE_BINARY, 1, &r, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "positive label 1"));
}

static void test_balanced_accuracy_ignores_classes_only_predicted(void **state)
{
    (void)state;
    const double y[] = {0, 0, 1, 1}, p[] = {0, 2, 1, 1}; /* recalls 1/2 and 1 */
    near(reg(kl_metric_balanced_accuracy, y, p, 4, NULL), 0.75, 1e-15);
    near(reg(kl_metric_accuracy, y, p, 4, NULL), 0.75, 1e-15);
    const double w[] = {3, 1, 1, 1}; /* class 0 recall 3/4 */
    near(reg(kl_metric_balanced_accuracy, y, p, 4, w), 0.875, 1e-15);
}

static void test_confusion_matrix_by_hand_with_union_of_labels(void **state)
{
    (void)state;
    const double y[] = {2, 0, 2, 2, 0, 1}, p[] = {0, 0, 2, 2, 0, 2};
    kl_confusion cm;
    kl_err err = {0};
    assert_int_equal(kl_confusion_compute(&cm, y, p, 6, NULL, &err), 0);
    const double want[] = {2, 0, 0, 0, 0, 1, 1, 0, 2}; /* sklearn's documentation example */
    assert_int_equal(cm.k, 3);
    assert_true(cm.labels[0] == 0 && cm.labels[1] == 1 && cm.labels[2] == 2);
    for (int i = 0; i < 9; i++)
        assert_true(cm.counts[i] == want[i]);
    kl_confusion_release(&cm);
    kl_confusion_release(&cm); /* released twice is harmless */
}

/* ---- scores ---- */

static double score_metric(int (*fn)(const double *, const double *, size_t, const double *, double,
                                     double *, kl_err *),
                           const double *y, const double *s, size_t n, const double *w)
{
    kl_err err = {0};
    double v;
    assert_int_equal(fn(y, s, n, w, 1, &v, &err), 0);
    return v;
}

static void test_roc_auc_by_hand_with_ties(void **state)
{
    (void)state;
    const double y[] = {0, 0, 1, 1}, s[] = {0.1, 0.4, 0.35, 0.8}; /* 3 of 4 pairs ordered */
    near(score_metric(kl_metric_roc_auc, y, s, 4, NULL), 0.75, 1e-15);
    /* Pairs (pos, neg): (0.9, 0.5) (0.9, 0.2) (0.5, 0.5) tie = 1/2, (0.5, 0.2): 3.5 / 4. */
    const double y2[] = {0, 1, 0, 1}, s2[] = {0.5, 0.5, 0.2, 0.9};
    near(score_metric(kl_metric_roc_auc, y2, s2, 4, NULL), 0.875, 1e-15);
    /* All scores tied: the diagonal. -0.0 and 0.0 are one score. */
    const double s3[] = {0.0, -0.0, 0.0, -0.0};
    near(score_metric(kl_metric_roc_auc, y2, s3, 4, NULL), 0.5, 1e-15);
}

static void test_scores_match_sklearn_binary(void **state)
{
    (void)state;
    const size_t n = N(bin_true);
    near(score_metric(kl_metric_roc_auc, bin_true, bin_score, n, NULL), bin_roc_auc, 1e-14);
    near(score_metric(kl_metric_roc_auc, bin_true, bin_score, n, bin_w), bin_roc_auc_w, 1e-14);
    near(score_metric(kl_metric_average_precision, bin_true, bin_score, n, NULL), bin_ap, 1e-14);
    near(score_metric(kl_metric_average_precision, bin_true, bin_score, n, bin_w), bin_ap_w, 1e-14);
    near(score_metric(kl_metric_brier, bin_true, bin_score, n, NULL), bin_brier, 1e-14);
    near(score_metric(kl_metric_brier, bin_true, bin_score, n, bin_w), bin_brier_w, 1e-14);
    kl_err err = {0};
    double v;
    assert_int_equal(kl_metric_log_loss(bin_true, bin_score, n, NULL, 1, 0, &v, &err), 0);
    near(v, bin_log_loss, 1e-13);
    assert_int_equal(kl_metric_log_loss(bin_true, bin_score, n, bin_w, 1, 0, &v, &err), 0);
    near(v, bin_log_loss_w, 1e-13);
    assert_int_equal(kl_metric_log_loss(bin_true, bin_score, n, NULL, 1, 1e-15, &v, &err), 0);
    near(v, bin_log_loss_1e15, 1e-13);
    assert_int_equal(kl_metric_log_loss(bin_true, bin_score, n, bin_w, 1, 1e-15, &v, &err), 0);
    near(v, bin_log_loss_1e15_w, 1e-13);
}

/* O(n²) Mann-Whitney: P(score_pos > score_neg) + P(tie)/2, weighted by both weights. */
static double pairwise_auc(const double *y, const double *s, const double *w, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (y[i] == 1 && y[j] != 1) {
                double ww = w[i] * w[j];
                num += ww * (s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0);
                den += ww;
            }
    return num / den;
}

static void test_roc_auc_equals_pairwise_count_on_many_ties(void **state)
{
    (void)state;
    enum { M = 3000 };
    static double y[M], s[M], w[M];
    kl_rng r;
    kl_rng_init(&r, 7);
    for (size_t i = 0; i < M; i++) {
        y[i] = kl_rng_double(&r) < 0.3;
        /* A few hundred distinct values, negative ones included, so the radix sort's sign
         * handling and tie groups both matter. */
        s[i] = (double)((int)kl_rng_below(&r, 400) - 150) / 8 + y[i];
        w[i] = 0.25 + (double)kl_rng_below(&r, 8);
    }
    static double unit[M];
    for (size_t i = 0; i < M; i++)
        unit[i] = 1;
    near(score_metric(kl_metric_roc_auc, y, s, M, NULL), pairwise_auc(y, s, unit, M), 1e-12);
    near(score_metric(kl_metric_roc_auc, y, s, M, w), pairwise_auc(y, s, w, M), 1e-12);
}

static void test_average_precision_by_hand_is_stepwise_not_trapezoid(void **state)
{
    (void)state;
    /* Thresholds 0.8 (P 1, R 1/2), 0.4 (P 1/2, R 1/2), 0.35 (P 2/3, R 1): 1/2 + 1/3.
     * The trapezoid would give more. */
    const double y[] = {0, 0, 1, 1}, s[] = {0.1, 0.4, 0.35, 0.8};
    near(score_metric(kl_metric_average_precision, y, s, 4, NULL), 0.5 + 1.0 / 3, 1e-15);
    /* No positives: recall is 1 everywhere and AP is 0, as scikit-learn. */
    const double none[] = {0, 0, 0};
    assert_true(score_metric(kl_metric_average_precision, none, s, 3, NULL) == 0.0);
}

static void test_one_class_present_roc_auc_is_an_error_with_nan(void **state)
{
    (void)state;
    const double y[] = {1, 1, 1}, s[] = {0.2, 0.5, 0.9};
    kl_err err = {0};
    double v = 0;
    assert_int_equal(kl_metric_roc_auc(y, s, 3, NULL, 1, &v, &err), KL_EINVAL);
    assert_true(isnan(v));
    assert_non_null(strstr(err.msg, "only one class present"));
    assert_string_equal(err.ctx, "metric roc_auc");
    /* A zero weight on the only negative removes it too. */
    const double y2[] = {1, 0, 1}, w[] = {1, 0, 1};
    assert_int_equal(kl_metric_roc_auc(y2, s, 3, w, 1, &v, &err), KL_EINVAL);
}

static void test_log_loss_clips_certain_wrong_predictions(void **state)
{
    (void)state;
    const double y[] = {1}, p[] = {0};
    kl_err err = {0};
    double v;
    /* Clipped to eps; the row (1 - eps, eps) sums to 1, so the loss is -ln eps = 52 ln 2. */
    assert_int_equal(kl_metric_log_loss(y, p, 1, NULL, 1, 0, &v, &err), 0);
    near(v, 52 * log(2.0), 1e-15);
    assert_int_equal(kl_metric_log_loss(y, p, 1, NULL, 1, 1e-15, &v, &err), 0);
    near(v, 15 * log(10.0), 1e-14);
    /* A certain right answer costs -ln(1 - eps) ~ eps, not 0 and not -inf. */
    const double y0[] = {0};
    assert_int_equal(kl_metric_log_loss(y0, p, 1, NULL, 1, 0, &v, &err), 0);
    near(v, DBL_EPSILON, 1e-3);
    /* By hand: -(ln 0.8 + ln 0.6) / 2 with pos_label 2 and labels {2, 5}. */
    const double y2[] = {2, 5}, p2[] = {0.8, 0.4};
    assert_int_equal(kl_metric_log_loss(y2, p2, 2, NULL, 2, 0, &v, &err), 0);
    near(v, -(log(0.8) + log(0.6)) / 2, 1e-15);
}

static void test_brier_by_hand_and_range_check(void **state)
{
    (void)state;
    const double y[] = {0, 1, 1, 0}, p[] = {0.1, 0.9, 0.8, 0.3};
    near(score_metric(kl_metric_brier, y, p, 4, NULL), (0.01 + 0.01 + 0.04 + 0.09) / 4, 1e-15);
    const double bad[] = {0.1, 1.5, 0.8, 0.3};
    kl_err err = {0};
    double v;
    assert_int_equal(kl_metric_brier(y, bad, 4, NULL, 1, &v, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "outside [0, 1]"));
}

static void test_binary_score_metrics_refuse_three_labels(void **state)
{
    (void)state;
    const double y[] = {0, 1, 2}, s[] = {0.1, 0.2, 0.3};
    kl_err err = {0};
    double v;
    assert_int_equal(kl_metric_average_precision(y, s, 3, NULL, 1, &v, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "binary"));
    const double y2[] = {0, 2, 2};
    assert_int_equal(kl_metric_roc_auc(y2, s, 3, NULL, 1, &v, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "positive label 1"));
}

static void test_calibration_curve_matches_sklearn_and_its_example(void **state)
{
    (void)state;
    /* The example in calibration_curve's documentation. */
    const double y[] = {0, 0, 0, 0, 1, 1, 1, 1, 1};
    const double p[] = {0.1, 0.2, 0.3, 0.4, 0.65, 0.7, 0.8, 0.9, 1.0};
    double pt[5], pp[5];
    size_t cnt[5], k;
    kl_err err = {0};
    assert_int_equal(kl_metric_calibration_curve(y, p, 9, 1, 3, KL_CALIBRATION_STRATEGY_UNIFORM, pt,
                                                 pp, cnt, &k, &err),
                     0);
    assert_int_equal(k, 3);
    near(pt[0], 0, 0), near(pt[1], 0.5, 1e-15), near(pt[2], 1, 0);
    near(pp[0], 0.2, 1e-15), near(pp[1], 0.525, 1e-15), near(pp[2], 0.85, 1e-15);
    assert_int_equal(cnt[0], 3), assert_int_equal(cnt[1], 2), assert_int_equal(cnt[2], 4);

    const size_t n = N(bin_true);
    assert_int_equal(kl_metric_calibration_curve(bin_true, bin_score, n, 1, 5,
                                                 KL_CALIBRATION_STRATEGY_UNIFORM, pt, pp, NULL, &k,
                                                 &err),
                     0);
    assert_int_equal(k, N(cal_uniform_true));
    for (size_t i = 0; i < k; i++) {
        near(pt[i], cal_uniform_true[i], 1e-15);
        near(pp[i], cal_uniform_pred[i], 1e-15);
    }
    assert_int_equal(kl_metric_calibration_curve(bin_true, bin_score, n, 1, 5,
                                                 KL_CALIBRATION_STRATEGY_QUANTILE, pt, pp, NULL, &k,
                                                 &err),
                     0);
    assert_int_equal(k, N(cal_quantile_true));
    for (size_t i = 0; i < k; i++) {
        near(pt[i], cal_quantile_true[i], 1e-15);
        near(pp[i], cal_quantile_pred[i], 1e-15);
    }
}

/* ---- multiclass probabilities ---- */

static void test_multiclass_ovr_auc_and_log_loss_match_sklearn(void **state)
{
    (void)state;
    const size_t n = N(mc_true);
    const double labels[] = {0, 1, 2};
    kl_err err = {0};
    double v;
    assert_int_equal(
        kl_metric_roc_auc_ovr(mc_true, mc_proba, n, 3, NULL, NULL, KL_AVERAGE_MACRO, &v, &err), 0);
    near(v, mc_auc_macro, 1e-14);
    assert_int_equal(
        kl_metric_roc_auc_ovr(mc_true, mc_proba, n, 3, labels, NULL, KL_AVERAGE_WEIGHTED, &v, &err),
        0);
    near(v, mc_auc_weighted, 1e-14);
    assert_int_equal(
        kl_metric_roc_auc_ovr(mc_true, mc_proba, n, 3, NULL, mc_w, KL_AVERAGE_MACRO, &v, &err), 0);
    near(v, mc_auc_macro_w, 1e-14);
    assert_int_equal(
        kl_metric_roc_auc_ovr(mc_true, mc_proba, n, 3, NULL, mc_w, KL_AVERAGE_WEIGHTED, &v, &err),
        0);
    near(v, mc_auc_weighted_w, 1e-14);
    assert_int_equal(kl_metric_log_loss_multi(mc_true, mc_proba, n, 3, NULL, NULL, 0, &v, &err), 0);
    near(v, mc_log_loss, 1e-13);
    assert_int_equal(kl_metric_log_loss_multi(mc_true, mc_proba, n, 3, labels, mc_w, 0, &v, &err),
                     0);
    near(v, mc_log_loss_w, 1e-13);
}

static void test_multiclass_columns_follow_given_labels(void **state)
{
    (void)state;
    /* The same data with classes named 1, 4, 9 instead of 0, 1, 2 scores the same. */
    const size_t n = N(mc_true);
    const double labels[] = {1, 4, 9};
    double y[N(mc_true)];
    for (size_t i = 0; i < n; i++)
        y[i] = labels[(size_t)mc_true[i]];
    kl_err err = {0};
    double v;
    assert_int_equal(
        kl_metric_roc_auc_ovr(y, mc_proba, n, 3, labels, mc_w, KL_AVERAGE_WEIGHTED, &v, &err), 0);
    near(v, mc_auc_weighted_w, 1e-14);
    assert_int_equal(kl_metric_log_loss_multi(y, mc_proba, n, 3, labels, NULL, 0, &v, &err), 0);
    near(v, mc_log_loss, 1e-13);
    const double unsorted[] = {4, 1, 9};
    assert_int_equal(kl_metric_log_loss_multi(y, mc_proba, n, 3, unsorted, NULL, 0, &v, &err),
                     KL_EINVAL);
    assert_non_null(strstr(err.msg, "strictly increasing"));
}

static void test_multiclass_refuses_absent_class_and_unnormalised_rows(void **state)
{
    (void)state;
    const double y[] = {0, 1, 0, 1};
    const double pr[] = {0.5, 0.3, 0.2, 0.2, 0.6, 0.2, 0.7, 0.2, 0.1, 0.1, 0.8, 0.1};
    kl_err err = {0};
    double v;
    assert_int_equal(kl_metric_roc_auc_ovr(y, pr, 4, 3, NULL, NULL, KL_AVERAGE_MACRO, &v, &err),
                     KL_EINVAL);
    assert_non_null(strstr(err.msg, "class 2"));
    assert_true(isnan(v));
    const double y3[] = {0, 1, 2, 1};
    const double odd[] = {0.5, 0.3, 0.3, 0.2, 0.6, 0.2, 0.7, 0.2, 0.1, 0.1, 0.8, 0.1};
    assert_int_equal(kl_metric_roc_auc_ovr(y3, odd, 4, 3, NULL, NULL, KL_AVERAGE_MACRO, &v, &err),
                     KL_EINVAL);
    assert_non_null(strstr(err.msg, "row 0"));
    const double y4[] = {0, 1, 7, 1};
    assert_int_equal(kl_metric_log_loss_multi(y4, pr, 4, 3, NULL, NULL, 0, &v, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "y_true[2] = 7"));
}

/* ---- invalid input ---- */

static void test_invalid_input_is_einval_with_a_clear_message(void **state)
{
    (void)state;
    const double y[] = {1, 2, 3}, p[] = {1, NAN, 3}, w[] = {1, -1, 1}, z[] = {0, 0, 0};
    kl_err err = {0};
    double v = 0;
    assert_int_equal(kl_metric_mae(y, p, 3, NULL, &v, &err), KL_EINVAL);
    assert_string_equal(err.msg, "y_pred[1] is NaN");
    assert_string_equal(err.ctx, "metric mae");
    assert_true(isnan(v));
    assert_int_equal(kl_metric_mae(y, y, 0, NULL, &v, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "at least one sample"));
    assert_int_equal(kl_metric_rmse(y, y, 3, w, &v, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "weight[1]"));
    assert_string_equal(err.ctx, "metric rmse");
    assert_int_equal(kl_metric_accuracy(y, y, 3, z, &v, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "sum to zero"));
    const double inf[] = {INFINITY, 0, 1};
    assert_int_equal(kl_metric_roc_auc(z, inf, 3, NULL, 1, &v, &err), KL_EINVAL);
    assert_string_equal(err.msg, "y_score[0] is infinite");
}

/* ---- registry ---- */

static void test_registry_names_are_the_spec_metric_names(void **state)
{
    (void)state;
    /* The spec's table as of this writing; every registered name must stay known to it. */
    const char *const spec_names[] = {"rmse",
                                      "mse",
                                      "mae",
                                      "mape",
                                      "smape",
                                      "mase",
                                      "r2",
                                      "explained_variance",
                                      "median_ae",
                                      "accuracy",
                                      "balanced_accuracy",
                                      "precision",
                                      "recall",
                                      "f1",
                                      "f1_macro",
                                      "f1_micro",
                                      "f1_weighted",
                                      "roc_auc",
                                      "pr_auc",
                                      "average_precision",
                                      "log_loss",
                                      "brier",
                                      "latency_p50_ms",
                                      "latency_p95_ms",
                                      "latency_p99_ms",
                                      "throughput_rps",
                                      "error_rate"};
    assert_int_equal(kl_metric_count(), N(spec_names));
    for (size_t i = 0; i < kl_metric_count(); i++)
        assert_true(kl_spec_metric_known(kl_metric_at(i)->name));
    for (size_t i = 0; i < N(spec_names); i++)
        assert_non_null(kl_metric_by_name(spec_names[i]));
    assert_null(kl_metric_at(kl_metric_count()));
    assert_null(kl_metric_by_name("auc"));
    assert_null(kl_metric_by_name(NULL));

    const kl_metric_desc *d = kl_metric_by_name("roc_auc");
    assert_string_equal(d->name, "roc_auc");
    assert_int_equal(d->id, KL_METRIC_ROC_AUC);
    assert_true(d->higher_is_better && d->needs_scores && !d->serving);
    assert_int_equal(d->tasks, 1u << KL_TASK_CLASSIFICATION);
    d = kl_metric_by_name("rmse");
    assert_true(!d->higher_is_better && !d->needs_scores);
    assert_true(d->tasks & (1u << KL_TASK_FORECAST));
    assert_true(kl_metric_by_name("log_loss")->needs_scores);
    assert_false(kl_metric_by_name("log_loss")->higher_is_better);
    assert_true(kl_metric_by_name("latency_p95_ms")->serving);
}

static double compute(const char *name, const kl_metric_input *in)
{
    kl_err err = {0};
    double v;
    int rc = kl_metric_compute(kl_metric_by_name(name), in, &v, &err);
    if (rc)
        fail_msg("%s: %s (%s)", name, err.msg, err.ctx);
    return v;
}

static void test_compute_by_name_routes_to_each_metric(void **state)
{
    (void)state;
    kl_metric_input r = {.n = N(reg_true), .y_true = reg_true, .y_pred = reg_pred, .w = reg_w};
    near(compute("rmse", &r), reg_rmse_w, 1e-13);
    near(compute("median_ae", &r), reg_medae_w, 1e-15);
    near(compute("r2", &r), reg_r2_w, 1e-13);

    enum { NB = N(bin_true) };
    double proba[2 * NB], pred[NB];
    for (size_t i = 0; i < NB; i++) {
        proba[2 * i] = 1 - bin_score[i];
        proba[2 * i + 1] = bin_score[i];
        pred[i] = bin_score[i] >= 0.5;
    }
    kl_metric_input b = {
        .n = NB, .y_true = bin_true, .y_pred = pred, .proba = proba, .k = 2, .pos_label = 1};
    near(compute("roc_auc", &b), bin_roc_auc, 1e-14);
    near(compute("pr_auc", &b), bin_ap, 1e-14);
    near(compute("average_precision", &b), bin_ap, 1e-14);
    near(compute("brier", &b), bin_brier, 1e-14);
    near(compute("log_loss", &b), bin_log_loss, 1e-13);
    near(compute("precision", &b), bin_p, 1e-14);
    near(compute("recall", &b), bin_r, 1e-14);
    near(compute("f1", &b), bin_f1, 1e-14);

    kl_metric_input c = {.n = N(cls_true), .y_true = cls_true, .y_pred = cls_pred, .k = 3};
    near(compute("f1", &c), cls_f1_macro, 1e-14); /* multiclass: macro */
    near(compute("f1_weighted", &c), cls_f1_weighted, 1e-14);
    near(compute("balanced_accuracy", &c), cls_balanced, 1e-14);
    kl_metric_input m = {.n = N(mc_true), .y_true = mc_true, .proba = mc_proba, .k = 3};
    near(compute("roc_auc", &m), mc_auc_macro, 1e-14);
    near(compute("log_loss", &m), mc_log_loss, 1e-13);

    const double train[] = {1, 2, 4, 7}, y[] = {8, 10}, p[] = {9, 8};
    kl_metric_input f = {.n = 2, .y_true = y, .y_pred = p, .y_train = train, .n_train = 4};
    near(compute("mase", &f), 0.75, 1e-15);
    near(compute("smape", &f), 100 * (2.0 / 17 + 4.0 / 18) / 2, 1e-14);
}

static void test_compute_refuses_what_it_cannot_compute(void **state)
{
    (void)state;
    kl_err err = {0};
    double v;
    kl_metric_input m = {.n = N(mc_true), .y_true = mc_true, .proba = mc_proba, .k = 3};
    assert_int_equal(kl_metric_compute(kl_metric_by_name("brier"), &m, &v, &err), KL_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "binary classification only"));
    assert_int_equal(kl_metric_compute(kl_metric_by_name("latency_p95_ms"), &m, &v, &err),
                     KL_EUNSUPPORTED);
    m.proba = NULL;
    assert_int_equal(kl_metric_compute(kl_metric_by_name("roc_auc"), &m, &v, &err), KL_EINVAL);
    assert_string_equal(err.msg, "roc_auc needs class probabilities");
    assert_true(isnan(v));
    kl_metric_input f = {.n = 2, .y_true = mc_true, .y_pred = mc_true};
    assert_int_equal(kl_metric_compute(kl_metric_by_name("mase"), &f, &v, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "training series"));
}

static void test_more_labels_than_the_cap_is_a_range_error(void **state)
{
    (void)state;
    enum { M = KL_METRIC_MAX_CLASSES + 1 };
    static double y[M];
    for (size_t i = 0; i < M; i++)
        y[i] = (double)i;
    kl_prf r;
    kl_err err = {0};
    assert_int_equal(kl_metric_prf(y, y, M, NULL, KL_AVERAGE_MACRO, 0, &r, &err), KL_ERANGE);
    assert_non_null(strstr(err.msg, "distinct class labels"));
    kl_prf ok;
    assert_int_equal(kl_metric_prf(y, y, M - 1, NULL, KL_AVERAGE_MACRO, 0, &ok, &err), 0);
    near(ok.f1, 1, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regression_metrics_match_sklearn),
        cmocka_unit_test(test_mape_zero_target_divides_by_machine_epsilon),
        cmocka_unit_test(test_r2_constant_target_is_one_if_perfect_else_zero),
        cmocka_unit_test(test_r2_one_sample_is_undefined),
        cmocka_unit_test(test_explained_variance_ignores_a_constant_bias),
        cmocka_unit_test(test_median_ae_even_count_averages_middle_values),
        cmocka_unit_test(test_rmse_is_root_of_mse_by_hand),
        cmocka_unit_test(test_smape_by_hand_counts_zero_over_zero_as_zero),
        cmocka_unit_test(test_mase_scales_by_in_sample_naive_mae),
        cmocka_unit_test(test_label_metrics_match_sklearn_three_classes),
        cmocka_unit_test(test_f1_averages_by_hand_on_three_classes),
        cmocka_unit_test(test_binary_prf_matches_sklearn_with_positive_label),
        cmocka_unit_test(test_no_positive_predictions_gives_zero_precision_and_a_flag),
        cmocka_unit_test(test_binary_average_refuses_multiclass_and_foreign_positive_label),
        cmocka_unit_test(test_balanced_accuracy_ignores_classes_only_predicted),
        cmocka_unit_test(test_confusion_matrix_by_hand_with_union_of_labels),
        cmocka_unit_test(test_roc_auc_by_hand_with_ties),
        cmocka_unit_test(test_scores_match_sklearn_binary),
        cmocka_unit_test(test_roc_auc_equals_pairwise_count_on_many_ties),
        cmocka_unit_test(test_average_precision_by_hand_is_stepwise_not_trapezoid),
        cmocka_unit_test(test_one_class_present_roc_auc_is_an_error_with_nan),
        cmocka_unit_test(test_log_loss_clips_certain_wrong_predictions),
        cmocka_unit_test(test_brier_by_hand_and_range_check),
        cmocka_unit_test(test_binary_score_metrics_refuse_three_labels),
        cmocka_unit_test(test_calibration_curve_matches_sklearn_and_its_example),
        cmocka_unit_test(test_multiclass_ovr_auc_and_log_loss_match_sklearn),
        cmocka_unit_test(test_multiclass_columns_follow_given_labels),
        cmocka_unit_test(test_multiclass_refuses_absent_class_and_unnormalised_rows),
        cmocka_unit_test(test_invalid_input_is_einval_with_a_clear_message),
        cmocka_unit_test(test_registry_names_are_the_spec_metric_names),
        cmocka_unit_test(test_compute_by_name_routes_to_each_metric),
        cmocka_unit_test(test_compute_refuses_what_it_cannot_compute),
        cmocka_unit_test(test_more_labels_than_the_cap_is_a_range_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
