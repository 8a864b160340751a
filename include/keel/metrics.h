/*
 * Evaluation metrics for regression, classification and forecasting, defined
 * exactly as scikit-learn 1.2.1's (sklearn.metrics, sklearn.calibration),
 * edge cases included, plus a registry of metric names shared with keel.yaml's
 * SLA gates.
 *
 * Ownership: every function borrows its arrays and writes its result into
 * caller memory; only kl_confusion_compute hands over memory, which
 * kl_confusion_release frees. Calls are reentrant (no global state) and each
 * allocates at most one scratch buffer, freed before it returns (ranking
 * metrics: 32n bytes for the sort; label metrics: 32 KiB; kl_metric_compute
 * adds an n-double column copy for binary score metrics).
 *
 * Checked against scikit-learn 1.2.1 by the committed fixture
 * tests/fixtures/metrics/sklearn_cases.h (see gen_sklearn.py there).
 *
 * Common rules of every metric:
 *   - Inputs are plain arrays of n doubles (n >= 1). Class labels are doubles
 *     too (class codes such as 0, 1, 2); they must be finite.
 *   - w is an optional array of n sample weights (NULL: all 1). Weights must be
 *     finite and >= 0 with a positive sum; a weighted mean is sum(w*x)/sum(w),
 *     as numpy.average.
 *   - Invalid input returns KL_EINVAL and fills err (ctx names the metric):
 *     n == 0, a NaN (or infinity) in any input, bad weights, or a case where
 *     scikit-learn raises. Where scikit-learn returns NaN for an undefined
 *     metric (R² of one sample), the call also returns KL_EINVAL, with *out
 *     set to NaN, so a caller may record NaN and carry on. *out is NaN on
 *     every failure.
 *   - Summation is left to right in double; results agree with scikit-learn's
 *     (numpy's pairwise sums) to rounding, not bit for bit.
 */
#ifndef KEEL_METRICS_H
#define KEEL_METRICS_H

#include <stddef.h>

#include "keel/err.h"
#include "keel/spec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- regression (forecasting uses mae and rmse too) ---- */

/* Mean squared error: mean((y - p)^2). */
int kl_metric_mse(const double *y_true, const double *y_pred, size_t n, const double *w,
                  double *out, kl_err *err);
/* Root mean squared error: sqrt(mse), as mean_squared_error(squared=False). */
int kl_metric_rmse(const double *y_true, const double *y_pred, size_t n, const double *w,
                   double *out, kl_err *err);
/* Mean absolute error: mean(|y - p|). */
int kl_metric_mae(const double *y_true, const double *y_pred, size_t n, const double *w,
                  double *out, kl_err *err);
/*
 * Mean absolute percentage error as a FRACTION, not a percentage:
 * mean(|y - p| / max(|y|, DBL_EPSILON)). A zero y_true with a wrong
 * prediction therefore gives a huge (finite) term, as scikit-learn's does.
 */
int kl_metric_mape(const double *y_true, const double *y_pred, size_t n, const double *w,
                   double *out, kl_err *err);
/*
 * Coefficient of determination: 1 - SSres/SStot with SSres = Σ w(y-p)²,
 * SStot = Σ w(y-ȳ)² (ȳ the weighted mean). force_finite as scikit-learn 1.2:
 * SSres == 0 gives 1.0 (even when SStot == 0); SStot == 0 with SSres != 0
 * gives 0.0. A target that is constant (over samples of positive weight)
 * has SStot exactly 0: the mean of a constant is taken as the constant, where
 * scikit-learn's rounded mean of, say, 0.1 x 3 leaves a 1e-17 residue and can
 * return -1e30 instead of its intended 0.0. Fewer than two samples:
 * undefined (NaN and KL_EINVAL, as scikit-learn warns and returns NaN).
 */
int kl_metric_r2(const double *y_true, const double *y_pred, size_t n, const double *w, double *out,
                 kl_err *err);
/*
 * Explained variance: 1 - Var(y - p)/Var(y) with weighted (biased) variances,
 * the same force_finite rule as R² (a zero numerator gives 1.0, a zero
 * denominator with a nonzero numerator 0.0), and the same exact mean of a
 * constant (target, or residual y - p). Defined for n == 1 (gives 1.0).
 */
int kl_metric_explained_variance(const double *y_true, const double *y_pred, size_t n,
                                 const double *w, double *out, kl_err *err);
/*
 * Median absolute error. Unweighted: numpy.median of |y - p| (mean of the two
 * middle values when n is even). Weighted: scikit-learn's _weighted_percentile
 * at 50: the smallest |e| (in sorted order) whose cumulative weight reaches
 * half the total weight (no interpolation).
 */
int kl_metric_median_ae(const double *y_true, const double *y_pred, size_t n, const double *w,
                        double *out, kl_err *err);

/* ---- forecasting ---- */

/*
 * Symmetric MAPE in percent: 100/n Σ 2|F - A| / (|A| + |F|), a term with
 * A == F == 0 counted as 0 (so the range is [0, 200]). With weights, the
 * mean is weighted.
 */
int kl_metric_smape(const double *y_true, const double *y_pred, size_t n, const double *w,
                    double *out, kl_err *err);
/*
 * Mean absolute scaled error (Hyndman & Koehler 2006): mean|F - A| over the
 * n test points divided by the in-sample MAE of the seasonal naive forecast
 * of the training series, (1/(T-m)) Σ_{t=m..T-1} |y[t] - y[t-m]|. m is the
 * seasonal period (0 means 1). Needs n_train > m; a scale of zero (a training
 * series that repeats itself exactly) makes MASE undefined: KL_EINVAL.
 */
int kl_metric_mase(const double *y_true, const double *y_pred, size_t n, const double *y_train,
                   size_t n_train, size_t m, double *out, kl_err *err);

/* ---- classification from predicted labels ---- */

/* The largest number of distinct class labels the label metrics accept. */
#define KL_METRIC_MAX_CLASSES 1024

/* Fraction of samples (weighted) with y_pred == y_true. */
int kl_metric_accuracy(const double *y_true, const double *y_pred, size_t n, const double *w,
                       double *out, kl_err *err);
/*
 * Balanced accuracy: the mean over the classes present in y_true of each
 * class's (weighted) recall. Classes that occur only in y_pred are left out,
 * as scikit-learn does after warning. adjusted=False.
 */
int kl_metric_balanced_accuracy(const double *y_true, const double *y_pred, size_t n,
                                const double *w, double *out, kl_err *err);

enum kl_average {
    KL_AVERAGE_BINARY = 0,   /* the positive label's own score */
    KL_AVERAGE_MACRO = 1,    /* unweighted mean over labels */
    KL_AVERAGE_MICRO = 2,    /* from global tp, fp, fn sums */
    KL_AVERAGE_WEIGHTED = 3, /* mean weighted by each label's (weighted) support */
};

/* Raised in kl_prf.flags where scikit-learn warns UndefinedMetricWarning. */
enum kl_prf_flags {
    KL_PRF_PRECISION_ILL_DEFINED = 1 << 0, /* a label had no predicted samples: precision 0 */
    KL_PRF_RECALL_ILL_DEFINED = 1 << 1,    /* a label had no true samples: recall 0 */
    KL_PRF_F1_ILL_DEFINED = 1 << 2,        /* a label had neither: F1 0 */
};

typedef struct kl_prf {
    double precision, recall, f1;
    unsigned flags; /* enum kl_prf_flags */
} kl_prf;

/*
 * Precision, recall and F1 as precision_recall_fscore_support with
 * zero_division=0 (the "warn" default's value; the warning becomes a flag).
 * Labels are the sorted union of y_true and y_pred. Per label: P = tp/(tp+fp),
 * R = tp/(tp+fn), F1 = 2PR/(P+R) with 0 when P+R == 0, an empty denominator
 * giving 0 and a flag.
 *   BINARY: scores of pos_label only. More than two labels present is an
 *     error; pos_label must be one of them when two are present; with one
 *     label present (all predictions and truths alike) pos_label is used as
 *     given (scikit-learn does the same).
 *   MACRO, MICRO, WEIGHTED: pos_label is ignored. MICRO over all labels
 *     equals accuracy for single-label data. WEIGHTED with zero total support
 *     gives 0 for all three.
 */
int kl_metric_prf(const double *y_true, const double *y_pred, size_t n, const double *w,
                  enum kl_average avg, double pos_label, kl_prf *out, kl_err *err);

/*
 * Confusion matrix over the sorted union of labels of y_true and y_pred:
 * counts[i*k + j] is the (weighted) number of samples with true label
 * labels[i] predicted as labels[j], as sklearn.metrics.confusion_matrix.
 * Ownership: kl_confusion_compute fills cm with two new arrays; release them
 * with kl_confusion_release (safe on a zeroed or released struct).
 */
typedef struct kl_confusion {
    size_t k;       /* number of labels */
    double *labels; /* k sorted labels */
    double *counts; /* k*k, row = true label, column = predicted label */
} kl_confusion;

int kl_confusion_compute(kl_confusion *cm, const double *y_true, const double *y_pred, size_t n,
                         const double *w, kl_err *err);
void kl_confusion_release(kl_confusion *cm);

/* ---- binary classification from scores or probabilities ----
 *
 * A sample is positive when y_true == pos_label, negative otherwise. y_true
 * may hold at most two distinct labels, and when it holds two, pos_label
 * must be one of them (scikit-learn's _check_pos_label_consistency).
 * Samples of zero weight are left out of ranking curves, as scikit-learn does.
 */

/*
 * ROC AUC: the trapezoidal area under the ROC curve whose points are the
 * distinct score thresholds (tied scores move fpr and tpr together, i.e. a
 * tie counts one half), equal to roc_auc_score. y_true with one class only
 * (no positive or no negative weight): scikit-learn raises, so KL_EINVAL with
 * "only one class present in y_true" and *out NaN. Cost: one O(n) radix sort.
 */
int kl_metric_roc_auc(const double *y_true, const double *score, size_t n, const double *w,
                      double pos_label, double *out, kl_err *err);
/*
 * Average precision, also registered as pr_auc: the step-wise sum
 * Σ (R_i - R_{i-1}) P_i over distinct thresholds in decreasing order, as
 * average_precision_score (not the trapezoidal area, which is optimistic).
 * With no positive samples scikit-learn sets recall to 1 everywhere and
 * returns 0.0; so does this (no error).
 */
int kl_metric_average_precision(const double *y_true, const double *score, size_t n,
                                const double *w, double pos_label, double *out, kl_err *err);

/* log_loss's default clipping bound in scikit-learn 1.2 (eps="auto"): DBL_EPSILON. */
#define KL_LOG_LOSS_EPS_DEFAULT 2.220446049250313e-16

/*
 * Binary log loss (cross-entropy) of p = P(positive): as log_loss on the
 * columns (1-p, p): p is clipped to [eps, 1-eps] and the row (1-p, p)
 * renormalised to sum to 1, then -log of the true class's entry, averaged.
 * eps <= 0 means KL_LOG_LOSS_EPS_DEFAULT (scikit-learn 1.2's "auto"; before
 * 1.2 the default was 1e-15, which callers may pass). Unlike scikit-learn
 * without labels=, one class in y_true is accepted: pos_label names the
 * classes explicitly.
 */
int kl_metric_log_loss(const double *y_true, const double *p, size_t n, const double *w,
                       double pos_label, double eps, double *out, kl_err *err);
/*
 * Brier score: mean((1{y == pos_label} - p)^2). p outside [0, 1] is
 * KL_EINVAL, as brier_score_loss raises.
 */
int kl_metric_brier(const double *y_true, const double *p, size_t n, const double *w,
                    double pos_label, double *out, kl_err *err);

enum kl_calibration_strategy {
    KL_CALIBRATION_STRATEGY_UNIFORM = 0,  /* n_bins equal-width bins over [0, 1] */
    KL_CALIBRATION_STRATEGY_QUANTILE = 1, /* edges at numpy.percentile (linear) of p */
};

/*
 * Reliability curve as sklearn.calibration.calibration_curve (unweighted):
 * bin edges e_0..e_nbins (uniform: i/n_bins; quantile: percentiles of p),
 * sample i goes to bin searchsorted(e_1..e_{nbins-1}, p_i) (left side, so a
 * value equal to an inner edge falls in the lower bin); for each non-empty
 * bin, in order, prob_true = fraction of positives and prob_pred = mean p.
 * prob_true and prob_pred (and counts, optional, NULL allowed) must hold
 * n_bins entries; *n_out receives the number of non-empty bins written.
 * p outside [0, 1] or n_bins == 0 is KL_EINVAL.
 */
int kl_metric_calibration_curve(const double *y_true, const double *p, size_t n, double pos_label,
                                size_t n_bins, enum kl_calibration_strategy strategy,
                                double *prob_true, double *prob_pred, size_t *counts, size_t *n_out,
                                kl_err *err);

/* ---- multiclass from probabilities ----
 *
 * proba is row-major n x k (row i holds sample i's probability per class);
 * column j belongs to labels[j] (labels NULL: 0, 1, ..., k-1), labels sorted
 * ascending as a fitted classifier's classes_. Every y_true value must be one
 * of the labels (KL_EINVAL otherwise; scikit-learn would silently score such
 * a row as 0 in log_loss).
 */

/*
 * One-vs-rest ROC AUC, roc_auc_score(multi_class="ovr", labels=labels):
 * each column's binary AUC of (y_true == labels[j]) against proba[:, j],
 * averaged with avg KL_AVERAGE_MACRO (plain mean) or KL_AVERAGE_WEIGHTED (by
 * each class's weighted support). Rows must sum to 1 within numpy.allclose's
 * tolerance (|s - 1| <= 1e-8 + 1e-5|s|), and k >= 2; a label absent from
 * y_true makes its AUC undefined: KL_EINVAL, as scikit-learn raises.
 */
int kl_metric_roc_auc_ovr(const double *y_true, const double *proba, size_t n, size_t k,
                          const double *labels, const double *w, enum kl_average avg, double *out,
                          kl_err *err);
/*
 * Multiclass log loss, log_loss(labels=labels): every probability clipped to
 * [eps, 1-eps], each row renormalised to sum 1, mean of -log of the true
 * class's entry. eps <= 0 means KL_LOG_LOSS_EPS_DEFAULT; k >= 2.
 */
int kl_metric_log_loss_multi(const double *y_true, const double *proba, size_t n, size_t k,
                             const double *labels, const double *w, double eps, double *out,
                             kl_err *err);

/* ---- the registry of metric names ----
 *
 * The names are exactly those keel.yaml's sla.metric and kpi.metric accept
 * (kl_spec_metric_known), so an SLA gate can find how to compute and compare
 * its metric. If you add a metric to the spec's table, add it here too (a unit
 * test checks that every name here is known to the spec).
 */
enum kl_metric_id {
    KL_METRIC_RMSE,
    KL_METRIC_MSE,
    KL_METRIC_MAE,
    KL_METRIC_MAPE,
    KL_METRIC_SMAPE,
    KL_METRIC_MASE,
    KL_METRIC_R2,
    KL_METRIC_EXPLAINED_VARIANCE,
    KL_METRIC_MEDIAN_AE,
    KL_METRIC_ACCURACY,
    KL_METRIC_BALANCED_ACCURACY,
    KL_METRIC_PRECISION, /* binary: of objective.positive_class */
    KL_METRIC_RECALL,
    KL_METRIC_F1,
    KL_METRIC_F1_MACRO,
    KL_METRIC_F1_MICRO,
    KL_METRIC_F1_WEIGHTED,
    KL_METRIC_ROC_AUC, /* binary, or one-vs-rest macro for multiclass */
    KL_METRIC_PR_AUC,  /* average precision */
    KL_METRIC_AVERAGE_PRECISION,
    KL_METRIC_LOG_LOSS,
    KL_METRIC_BRIER,
    KL_METRIC_LATENCY_P50_MS, /* serving metrics: measured by the server, not computed here */
    KL_METRIC_LATENCY_P95_MS,
    KL_METRIC_LATENCY_P99_MS,
    KL_METRIC_THROUGHPUT_RPS,
    KL_METRIC_ERROR_RATE,
};

typedef struct kl_metric_desc {
    const char *name; /* as in keel.yaml: "roc_auc" */
    enum kl_metric_id id;
    unsigned tasks;       /* bit (1u << enum kl_task) for each task it applies to */
    int higher_is_better; /* 1 for scores (r2, f1), 0 for losses and errors (rmse) */
    int needs_scores;     /* 1 when computed from scores/probabilities, not labels */
    int serving;          /* 1 for serving metrics (latency, throughput, error rate) */
} kl_metric_desc;

/* The descriptor named name, or NULL when there is none. */
const kl_metric_desc *kl_metric_by_name(const char *name);
/* Number of registered metrics, and the i-th (NULL when i is out of range), in a fixed order. */
size_t kl_metric_count(void);
const kl_metric_desc *kl_metric_at(size_t i);

/*
 * Everything a registered metric may need, so an SLA gate can compute any
 * metric by its descriptor. Fields a metric does not use may be left zero.
 */
typedef struct kl_metric_input {
    size_t n;              /* samples */
    const double *y_true;  /* n targets or class labels */
    const double *y_pred;  /* n predictions or predicted labels (label and regression metrics) */
    const double *proba;   /* n x k class probabilities, row-major (score metrics) */
    size_t k;              /* classification: number of classes (>= 2) */
    const double *labels;  /* k sorted class labels of proba's columns; NULL: 0..k-1 */
    double pos_label;      /* binary (k == 2): the positive class, one of the labels */
    const double *w;       /* optional sample weights */
    const double *y_train; /* mase: the training series */
    size_t n_train;
    size_t season; /* mase: seasonal period (0 means 1) */
} kl_metric_input;

/*
 * Compute metric d on in. Classification with k == 2 is binary: precision,
 * recall and f1 score pos_label; roc_auc, average_precision (pr_auc) and
 * brier use proba's pos_label column. With k > 2, precision, recall and f1
 * are macro averages and roc_auc is one-vs-rest macro; average_precision and
 * brier are binary only in scikit-learn 1.2 (KL_EUNSUPPORTED here).
 * log_loss always uses the k columns (kl_metric_log_loss_multi). Serving
 * metrics are measured by the server: KL_EUNSUPPORTED. Missing inputs:
 * KL_EINVAL. Otherwise as the metric's own function.
 */
int kl_metric_compute(const kl_metric_desc *d, const kl_metric_input *in, double *out, kl_err *err);

#ifdef __cplusplus
}
#endif
#endif
