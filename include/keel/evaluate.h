/*
 * Evaluation of predictions: every metric of the kl_metric registry that
 * applies to the task, the quantities KPI formulas read (tp fp tn fn n
 * sum_actual ...), KPI formulas themselves, SLA gates and the choice of a
 * binary decision threshold. Used by kl_train (per fold), `keel evaluate`
 * and `keel evaluate --predictions`.
 *
 * Ownership: everything here borrows its inputs and writes into caller
 * structs of fixed size; nothing is handed over.
 *
 * Conventions:
 *   - Classification labels are class indices 0..k-1 (as doubles); proba is
 *     n x k row-major. A binary classifier (k == 2) calls a row positive when
 *     proba[i*2 + pos] >= threshold; a multiclass one takes the argmax (ties
 *     to the lower index), as kl_model_predict.
 *   - Metrics a case does not define (roc_auc with one class in y_true,
 *     average_precision for multiclass, mase without a training series) are
 *     left out of the result rather than reported as a number.
 */
#ifndef KEEL_EVALUATE_H
#define KEEL_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

#include "keel/err.h"
#include "keel/frame.h"
#include "keel/metrics.h"
#include "keel/spec.h"

#define KL_EVAL_MAX_METRICS 32

typedef struct kl_eval_input {
    enum kl_task task;
    size_t n;
    const double *y_true;  /* n values, or class indices */
    const double *y_pred;  /* regression / forecast: n predictions; classification: unused */
    const double *proba;   /* classification: n x k probabilities */
    size_t k;              /* classification: classes (>= 2) */
    size_t pos;            /* binary: index of the positive class (< 2) */
    double threshold;      /* binary: decision threshold; 0 or NaN means 0.5 */
    const double *y_train; /* forecast: the training series (mase); may be NULL */
    size_t n_train;
} kl_eval_input;

typedef struct kl_eval_metric {
    const kl_metric_desc *desc;
    double value;
} kl_eval_metric;

typedef struct kl_eval_result {
    size_t n_metrics;
    kl_eval_metric metrics[KL_EVAL_MAX_METRICS]; /* registry order */
    /*
     * KPI quantities (NaN where the task does not define them): confusion
     * counts of a binary classifier at its threshold, n, and sums over
     * actual and predicted values (binary: actual / predicted positives),
     * absolute and squared errors (regression and forecast).
     */
    double tp, fp, tn, fn, n;
    double sum_actual, mean_actual, sum_predicted, mean_predicted;
    double sum_abs_error, sum_squared_error;
} kl_eval_result;

/*
 * Compute every applicable, non-serving metric and the KPI quantities.
 * KL_EINVAL for inconsistent input (n == 0, k < 2, a NaN in y_true).
 */
int kl_eval_compute(const kl_eval_input *in, kl_eval_result *out, kl_err *err);
/* The value of metric name in r: 1 and *v when present, 0 otherwise. */
int kl_eval_metric_get(const kl_eval_result *r, const char *name, double *v);

/*
 * The metric a run is judged by, for the overfitting gap and the learning
 * curve: the first validation SLA's metric that applies (spec may be NULL),
 * else r2 (regression), roc_auc (binary), accuracy (multiclass), mae (forecast).
 */
const char *kl_eval_main_metric(const kl_spec *spec, enum kl_task task, size_t n_classes);

/* ---- KPI formulas ---- */

/* Value of an identifier: return 0 and *v, or KL_ENOTFOUND when it has none. */
typedef int (*kl_kpi_lookup)(const char *name, void *ud, double *v);

/*
 * Evaluate a formula: numbers, identifiers, + - * /, unary minus and
 * parentheses, with the usual precedence (* and / bind tighter; left
 * associative). Identifiers must satisfy kl_spec_kpi_ident_known. Errors
 * (KL_EINVAL, ctx "kpi formula"): a syntax error naming the position,
 * "unknown name 'x'", a name the lookup does not define ("'tp' is not
 * defined for regression" when lookup is kl_eval_kpi_lookup), "division by
 * zero". Nesting is limited to 64 levels.
 */
int kl_kpi_formula_eval(const char *formula, kl_kpi_lookup lookup, void *ud, double *out,
                        kl_err *err);
/* Lookup over a kl_eval_result (ud): its KPI quantities; NaN ones are KL_ENOTFOUND. */
int kl_eval_kpi_lookup(const char *name, void *ud, double *v);

typedef struct kl_kpi_verdict {
    const kl_spec_kpi *kpi;
    int ok;       /* 1: value computed */
    double value; /* the metric's value or the formula's */
    int has_target;
    int met;         /* has_target: value >= target (direction max) or <= target (min) */
    char error[512]; /* !ok: why */
} kl_kpi_verdict;

/* One verdict per kpi entry (out holds n). Never fails: problems go to error. */
void kl_kpi_check(const kl_spec_kpi *kpi, size_t n, const kl_eval_result *r, kl_kpi_verdict *out);

/* ---- SLA gates ---- */

enum kl_sla_status {
    KL_SLA_STATUS_PASS = 0,
    KL_SLA_STATUS_FAIL = 1,
    KL_SLA_STATUS_NOT_MEASURED = 2, /* the metric is not in the result (or a serving metric) */
    KL_SLA_STATUS_OTHER_STAGE = 3,  /* the gate is for another stage (test, production) */
};

const char *
kl_sla_status_name(enum kl_sla_status s); /* "pass", "fail", "not measured", "other stage" */

typedef struct kl_sla_verdict {
    const kl_spec_sla *sla;
    enum kl_sla_status status;
    double value; /* NaN unless measured */
} kl_sla_verdict;

/*
 * Judge each gate of sla (n entries; out holds n) whose `on` is stage against
 * r: min means value >= threshold, max value <= threshold. Gates with `by`
 * are judged on the whole set here, and on each group by
 * kl_sla_check_groups. Returns the number of FAIL verdicts.
 */
size_t kl_sla_check(const kl_spec_sla *sla, size_t n, enum kl_sla_on stage, const kl_eval_result *r,
                    kl_sla_verdict *out);

/* ---- per-group SLA gates (sla entries with `by`) ---- */

/*
 * A group is flagged small when the 95% Wilson half-width of a proportion
 * measured on it exceeds this: at the metric's value, over the rows the
 * metric divides by (recall: actual positives; precision: predicted
 * positives; any other metric: the group's rows, at p = 0.5 when the value
 * is not a proportion). The same interval the representation check reports.
 */
#define KL_SLA_GROUP_MAX_HALF_WIDTH 0.10

typedef struct kl_sla_group {
    const kl_spec_sla *sla;
    char group[128];           /* the by column's value as text; "(missing)" */
    size_t rows;               /* evaluated rows in the group */
    double value;              /* the metric on the group; NaN when not defined there */
    enum kl_sla_status status; /* PASS, FAIL or NOT_MEASURED (undefined on the group) */
    double half_width;         /* see KL_SLA_GROUP_MAX_HALF_WIDTH */
    int small;                 /* half_width > KL_SLA_GROUP_MAX_HALF_WIDTH */
} kl_sla_group;

typedef struct kl_sla_groups {
    kl_sla_group *g; /* malloc'd; gate by gate in sla order, groups in value order */
    size_t n;
    size_t n_failed; /* groups that miss their gate */
} kl_sla_groups;

/*
 * Judge each gate of sla with `by` whose `on` is stage on every group of its
 * column: in holds the evaluated rows, rows[i] the row of f that entry i
 * came from (NULL: entry i is row i), f the frame holding the by column
 * (which may be a protected column: it is never a feature, but is read
 * here). Groups are the column's distinct values (categories bytewise,
 * numbers numerically, bools false < true) and missing, each evaluated with
 * kl_eval_compute on its own rows (at in's threshold). out is zeroed first.
 * Errors: KL_ENOTFOUND (no such column, ctx "sla[i].by"), KL_EINVAL (a text
 * or time column, more than 1000 groups), KL_ENOMEM.
 */
int kl_sla_check_groups(const kl_spec_sla *sla, size_t n, enum kl_sla_on stage,
                        const kl_eval_input *in, const kl_frame *f, const size_t *rows,
                        kl_sla_groups *out, kl_err *err);
void kl_sla_groups_release(kl_sla_groups *g); /* frees g->g and zeroes *g; NULL does nothing */
/*
 * One group's verdict as a line for people (no newline), e.g.
 * "sla recall >= 0.7 by sex=Female: 0.54321 (628 rows, +-0.106, small group) FAIL".
 */
void kl_sla_group_format(const kl_sla_group *g, char *buf, size_t n);

/*
 * The per-group gates of a model on labelled data f: predict every row, keep
 * the rows whose target and prediction are present (as kl_train_evaluate),
 * and judge spec's `by` gates of both quality stages (validation, test) on
 * them, binary labels at m's stored threshold. Nothing to judge (spec NULL,
 * no `by` gate) leaves out empty. Errors as kl_sla_check_groups and
 * kl_model_predict.
 */
struct kl_model;
int kl_eval_model_groups(const struct kl_model *m, const kl_spec *spec, const kl_frame *f,
                         kl_sla_groups *out, kl_err *err);

/* ---- decision threshold of a binary classifier ---- */

enum kl_threshold_method {
    KL_THRESHOLD_METHOD_FIXED = 0, /* the given value (0.5 by default) */
    KL_THRESHOLD_METHOD_F1 = 1,    /* the threshold with the highest F1 */
    /*
     * Expected cost: the threshold that maximises (direction max) or
     * minimises (min) a KPI formula over tp fp tn fn n, e.g. "100*tp - 5*fp"
     * declares that a caught positive gains 100 and a false alarm costs 5.
     */
    KL_THRESHOLD_METHOD_COST = 2,
};

const char *kl_threshold_method_name(enum kl_threshold_method m); /* "fixed", "f1", "cost" */

/*
 * Choose a threshold from scores (P(positive)) and is_pos (0/1) over n rows.
 * Candidates are the distinct scores (a row is positive when score >= t);
 * the best candidate wins, the highest threshold among equals. For COST,
 * formula and direction are the KPI's. Writes the threshold and the
 * objective's value there (F1 or the formula; FIXED: NaN). KL_EINVAL for
 * n == 0 or a formula error.
 */
int kl_threshold_choose(const double *score, const double *is_pos, size_t n,
                        enum kl_threshold_method method, const char *formula,
                        enum kl_kpi_direction direction, double *threshold, double *best,
                        kl_err *err);

/* ---- JSON (new jansson values; NULL when out of memory) ---- */

struct json_t;
/* {"metric": value, ...} in registry order. */
struct json_t *kl_eval_metrics_json(const kl_eval_result *r);
/* [{"metric", "bound" ("min"|"max"), "threshold", "on", "value" (null unless measured), "status"}]
 */
struct json_t *kl_sla_verdicts_json(const kl_sla_verdict *v, size_t n);
/*
 * [{"metric", "by", "group", "rows", "bound", "threshold", "value" (null unless
 * measured), "status", "half_width", "small"}]
 */
struct json_t *kl_sla_groups_json(const kl_sla_groups *g);
/* [{"name", "value" (null on error), "target", "direction", "met", "error"}] */
struct json_t *kl_kpi_verdicts_json(const kl_kpi_verdict *v, size_t n);
/* "validation", "test", "production". */
const char *kl_sla_on_name(enum kl_sla_on on);

#endif
