/*
 * Learning curve: how the validation metrics grow with the training-set
 * size, and the labelling question: how many labelled rows would reach each
 * quality SLA, and at what cost.
 *
 * Method:
 *   - k-fold cross-validation (stratified for classification; k from
 *     opts.folds, else the train options' cv_folds, else 5), seeded as the run;
 *   - in each fold, models are fitted on nested random subsets of the
 *     fold's training rows of sizes ceil(f * n_train) for f in
 *     0.1, 0.325, 0.55, 0.775, 1.0 (scikit-learn's learning_curve default)
 *     and scored on the fold's validation rows (kl_train with opts.valid);
 *   - every metric is turned into an error that falls with more data:
 *     1 - value for scores (r2, accuracy, roc_auc, ...: at most 1), the
 *     value itself for losses; err(n) = a * n^(-b) + c is fitted by least
 *     squares to the fold-mean errors: variable projection, i.e. for each b
 *     on a grid 0.01, 0.02, ..., 3 the best a >= 0, c >= 0 is a linear least
 *     squares problem solved in closed form, and the b with the smallest
 *     squared error wins;
 *   - rows needed for a gate with error target e: n = (a / (e - c))^(1/b)
 *     when e > c, else unreachable (the curve levels off above the target).
 *     The range comes from the same fit on each fold's own curve (min and
 *     max over folds; unreachable folds make the upper end unbounded);
 *   - cost: label_cost x (rows needed - labelled rows in the data), when
 *     more rows are needed and a cost per label is known.
 *
 * Ownership: kl_curve_run fills *out; kl_curve_release frees it.
 */
#ifndef KEEL_CURVE_H
#define KEEL_CURVE_H

#include <stddef.h>

#include "keel/err.h"
#include "keel/frame.h"
#include "keel/train.h"

#define KL_CURVE_SIZES 5
#define KL_CURVE_MAX_TARGETS 16

typedef struct kl_curve_opts {
    const kl_train_opts *train; /* spec, algorithm, params, features, seed (valid is ignored) */
    size_t folds;               /* 0: train->cv_folds if >= 2, else 5 */
    const char *svg_path;       /* write the chart here; NULL: no chart */
    double label_cost;          /* cost per label; 0: spec train.label_cost if given, else none */
} kl_curve_opts;

typedef struct kl_curve_target {
    const char *metric;
    enum kl_sla_bound bound;
    double threshold;
    int reachable;
    double rows_needed, rows_low, rows_high; /* training rows; rows_high may be +inf */
    double extra_rows;                       /* rows_needed - labelled rows, at least 0 */
    double cost;                             /* NaN when no label cost is known */
} kl_curve_target;

typedef struct kl_curve {
    const char *metric; /* the chart's metric (kl_eval_main_metric) */
    size_t n_folds, n_sizes, n_rows;
    size_t sizes[KL_CURVE_SIZES]; /* mean training rows at each size over folds */
    double mean[KL_CURVE_SIZES], std[KL_CURVE_SIZES]; /* of the chart's metric */
    int fit_ok;
    double a, b, c; /* its error's power law */
    kl_curve_target targets[KL_CURVE_MAX_TARGETS];
    size_t n_targets;
    double label_cost; /* NaN when unknown */
    char svg_path[4096];
    /* every metric: values[(m * n_sizes + s) * n_folds + k] */
    size_t n_metrics;
    const kl_metric_desc *metrics[KL_EVAL_MAX_METRICS];
    double *values;
} kl_curve;

/* Errors: those of kl_train (with ctx "learning curve, N rows, fold K"), KL_EUNSUPPORTED for
 * forecasts, KL_EIO for the chart. */
int kl_curve_run(const kl_frame *f, const kl_curve_opts *opts, kl_curve *out, kl_err *err);
void kl_curve_release(kl_curve *c);

/*
 * Fit err(x) = a x^(-b) + c to n points (see the top). Returns 1 and a, b, c,
 * or 0 when no b on the grid gives a >= 0 (the error does not fall).
 */
int kl_curve_fit_power(const double *x, const double *err, size_t n, double *a, double *b,
                       double *c);
/* Rows where the fitted error reaches e, or +inf when e <= c. */
double kl_curve_rows_for(double a, double b, double c, double e);

struct json_t;
struct json_t *kl_curve_json(const kl_curve *c);

/* The chart: metric (mean ± std per size) against training rows, with the fitted law. */
int kl_curve_svg_write(const kl_curve *c, const char *path, kl_err *err);

/*
 * The per-round chart of a boosting run (kl_train_result's round_* fields):
 * training and validation metric against the round, the best iteration
 * marked, as a new malloc'd SVG text (*svg, *len; the caller frees it).
 * KL_EINVAL when the run has no curves, KL_ENOMEM.
 */
int kl_curve_rounds_svg(const kl_train_result *r, char **svg, size_t *len, kl_err *err);

#endif
