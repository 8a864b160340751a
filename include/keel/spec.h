/*
 * keel.yaml, the project spec: parsed with libyaml, validated, defaults filled.
 *
 * Ownership: kl_spec_load_* return a new kl_spec that the caller frees with
 * kl_spec_free; every string and array inside it belongs to the spec and
 * lives until kl_spec_free. The struct is public so that commands can read
 * fields directly (spec->objective.task, spec->data.time_column); treat it as
 * read-only. Optional strings that were not given are NULL; lists that were
 * not given have n == 0 (check n, not the pointer). A key whose value is
 * empty, ~ or null counts as not given.
 *
 * Format version 1. Sections and keys, with defaults (project and objective
 * are required sections; the rest is optional unless marked required):
 *
 *   version: 1
 *   project:     name (required), description, owner
 *   objective:   task (required: regression | classification | forecast),
 *                target (required), description, business_outcome,
 *                positive_class (classification only), horizon (forecast only, >= 1)
 *   data:        source (required when the section is given, unless sources is), time_column,
 *                segment_column, id_column, delimiter (one of , ; | tab),
 *                missing_tokens (default "", NA, N/A, null, NaN, None),
 *                columns: {NAME: TYPE} or {NAME: {type: TYPE, format: FMT}},
 *                TYPE one of int float bool date datetime categorical text,
 *                sources (instead of source: list of {source (required), name,
 *                on | asof, by, tolerance, how (left), columns}; the first is
 *                the base, each next is joined onto it; docs/JOINS.md)
 *   constraints: terms (list of {source, licence, terms, purposes, retention}),
 *                require_terms (false), purpose,
 *                pii: {default (keep), columns: {COL: POLICY}, entities: {ENTITY: POLICY}},
 *                POLICY a word (keep drop redact mask hash fail) or {action, keep_last},
 *                protected (list of columns), min_group_share (0..1, 0.05),
 *                proxy_threshold (0..1, 0.5: Cramér's V / correlation ratio),
 *                proxy_auc (0.5..1, 0.8: one-feature model AUC),
 *                expectations (list of {column, expect, parameters}: see
 *                kl_spec_expectation)
 *   features:    include, exclude (lists of columns), transforms (list of
 *                {column | columns, op, any other scalar parameters}),
 *                budget (>= 0), costs ({COL: number >= 0})
 *   train:       algorithm (ridge | logistic | ar by task), params ({NAME: scalar}),
 *                seed (42), validation: {method (holdout; time_series for
 *                forecast), test_size (0.2), folds (5), group_column},
 *                search: {method (random), trials (20), factor (3) and
 *                min_resources (exhaust | smallest | N) for halving, space: {PARAM:
 *                {type: int|float|choice, low, high, log, step, values, when: {PARAM:
 *                VALUE}}}} (docs/SEARCH.md),
 *                label_cost (>= 0: cost of labelling one row)
 *   sla:         list of {metric (required), min | max (exactly one), on
 *                (validation | test | production; validation), by}
 *   kpi:         list of {name (required), metric | value (exactly one),
 *                target, direction (max), why (required), owner}
 *   drift:       reference, window: {size | period}, tests ({COL: TEST}),
 *                thresholds ({TEST: number > 0}), detectors (list)
 *   serve:       host (127.0.0.1), port (8080), max_batch (10000),
 *                log_predictions (true)
 *
 * Besides types, ranges and names, the loader checks rules that span keys:
 * positive_class only for classification and horizon only for forecasts; a
 * metric (sla, kpi) and an algorithm must fit the task; stratified_kfold
 * needs classification and group_kfold a group_column; features.include may
 * name neither the target nor a protected column; a kpi value formula uses
 * only numbers, + - * / ( ) and the names of kl_spec_kpi_ident_known.
 *
 * Errors: KL_EIO when the file cannot be read; KL_EPARSE for malformed YAML
 * and for an invalid spec; KL_ENOMEM. err->ctx is "FILE:LINE:COL" (1-based) of the
 * offending node and err->msg names the dotted key path, e.g.
 * "'sla[1].min' must be a number, not 'high'" or "unknown key 'taget' in
 * 'objective'; did you mean 'target'?". Aliases (*name) are rejected: a spec
 * is short, and expanding aliases would let a small file describe a huge one.
 * Nesting deeper than 32 levels and files over 1 MiB are rejected too.
 */
#ifndef KEEL_SPEC_H
#define KEEL_SPEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "keel/csv.h"
#include "keel/err.h"
#include "keel/frame.h"
#include "keel/join.h"

#define KL_SPEC_VERSION 1

enum kl_task {
    KL_TASK_REGRESSION = 0,
    KL_TASK_CLASSIFICATION = 1,
    KL_TASK_FORECAST = 2,
};

enum kl_pii_action {
    KL_PII_ACTION_KEEP = 0,
    KL_PII_ACTION_DROP = 1,
    KL_PII_ACTION_REDACT = 2,
    KL_PII_ACTION_MASK = 3, /* keep the last keep_last characters */
    KL_PII_ACTION_HASH = 4, /* salted SHA-256 */
    KL_PII_ACTION_FAIL = 5, /* refuse the data */
};

enum kl_transform_op {
    KL_TRANSFORM_OP_IMPUTE = 0,
    KL_TRANSFORM_OP_STANDARDIZE = 1,
    KL_TRANSFORM_OP_MINMAX = 2,
    KL_TRANSFORM_OP_LOG1P = 3,
    KL_TRANSFORM_OP_CLIP = 4,
    KL_TRANSFORM_OP_ONEHOT = 5,
    KL_TRANSFORM_OP_FREQUENCY = 6,
    KL_TRANSFORM_OP_TARGET_ENCODE = 7,
    KL_TRANSFORM_OP_DATE_PARTS = 8,
    KL_TRANSFORM_OP_LAG = 9,
    KL_TRANSFORM_OP_DIFF = 10,
    KL_TRANSFORM_OP_ROLLING = 11,
};

enum kl_validation_method {
    KL_VALIDATION_METHOD_HOLDOUT = 0,
    KL_VALIDATION_METHOD_KFOLD = 1,
    KL_VALIDATION_METHOD_STRATIFIED_KFOLD = 2,
    KL_VALIDATION_METHOD_GROUP_KFOLD = 3,
    KL_VALIDATION_METHOD_TIME_SERIES = 4,
};

enum kl_search_method {
    KL_SEARCH_METHOD_NONE = 0, /* no search section: train once with params */
    KL_SEARCH_METHOD_GRID = 1,
    KL_SEARCH_METHOD_RANDOM = 2,
    KL_SEARCH_METHOD_HALVING = 3,
};

enum kl_param_type {
    KL_PARAM_TYPE_INT = 0,
    KL_PARAM_TYPE_FLOAT = 1,
    KL_PARAM_TYPE_CHOICE = 2,
};

enum kl_sla_on {
    KL_SLA_ON_VALIDATION = 0,
    KL_SLA_ON_TEST = 1,
    KL_SLA_ON_PRODUCTION = 2,
};

enum kl_sla_bound {
    KL_SLA_BOUND_MIN = 0, /* the metric must be >= threshold */
    KL_SLA_BOUND_MAX = 1, /* the metric must be <= threshold */
};

enum kl_kpi_direction {
    KL_KPI_DIRECTION_MAX = 0, /* higher is better */
    KL_KPI_DIRECTION_MIN = 1, /* lower is better */
};

enum kl_drift_test {
    KL_DRIFT_TEST_PSI = 0,
    KL_DRIFT_TEST_KS = 1,
    KL_DRIFT_TEST_WASSERSTEIN = 2,
    KL_DRIFT_TEST_JENSENSHANNON = 3,
    KL_DRIFT_TEST_CHISQUARE = 4,
    KL_DRIFT_TEST_Z = 5,
};

enum kl_drift_detector {
    KL_DRIFT_DETECTOR_ADWIN = 0,
    KL_DRIFT_DETECTOR_DDM = 1,
    KL_DRIFT_DETECTOR_EDDM = 2,
    KL_DRIFT_DETECTOR_PAGE_HINKLEY = 3,
    KL_DRIFT_DETECTOR_KSWIN = 4,
};

/* Names as written in keel.yaml ("regression", "mask", ...); "?" when out of range. */
const char *kl_task_name(enum kl_task t);
const char *kl_pii_action_name(enum kl_pii_action a);
const char *kl_transform_op_name(enum kl_transform_op op);
const char *kl_validation_method_name(enum kl_validation_method m);
const char *kl_search_method_name(enum kl_search_method m);
const char *kl_drift_test_name(enum kl_drift_test t);
const char *kl_drift_detector_name(enum kl_drift_detector d);

/*
 * A free-form scalar (train.params, transform parameters): its YAML text as
 * written, and quoted = 1 when the file quoted a text that would otherwise
 * read as a number, a bool or null ("1", "true", "null"), so whoever
 * interprets it can tell the string "1" from the number 1. Quoting that
 * changes nothing ("binary" vs binary) is not kept: both give quoted = 0.
 */
typedef struct kl_spec_kv {
    const char *key;
    const char *value;
    int quoted;
} kl_spec_kv;

/* A PII policy: an action, and for MASK how many trailing characters stay. */
typedef struct kl_pii_policy {
    enum kl_pii_action action;
    int keep_last; /* MASK only; default 4; 0 for other actions */
} kl_pii_policy;

/* constraints.pii.columns / .entities entry. */
typedef struct kl_spec_pii_rule {
    const char *name; /* column name, or entity name (email, phone, ...) */
    kl_pii_policy policy;
} kl_spec_pii_rule;

/*
 * data.sources entry: one CSV file of several joined into the project's data.
 * The first entry is the base and has no join fields; every later entry has
 * exactly one of on (equality keys) or asof (a time column), by and
 * tolerance only with asof.
 */
typedef struct kl_spec_source {
    const char *source; /* required: CSV path as written (relative to the spec's directory) */
    const char *name;   /* NULL: the file name */
    const char **on;    /* equality join keys */
    size_t n_on;
    const char *asof; /* as-of join time column; "COL=COL_B" when this file's is named COL_B */
    const char **by;  /* as-of exact-match keys */
    size_t n_by;
    const char *tolerance;    /* as-of: "7d", "15m", a number for numeric times; NULL: none */
    enum kl_join_how how;     /* default left */
    kl_csv_override *columns; /* this file's type overrides (data.columns apply to the first) */
    size_t n_columns;
} kl_spec_source;

/* constraints.terms entry: where a data source may be used and for what. */
typedef struct kl_spec_terms {
    const char *source;    /* required: the data source this applies to */
    const char *licence;   /* e.g. "CC-BY-4.0" */
    const char *terms;     /* terms of use, free text or a URL */
    const char **purposes; /* allowed purposes */
    size_t n_purposes;
    const char *retention; /* e.g. "2 years" */
} kl_spec_terms;

/* constraints.expectations kinds, as written after `expect:`. */
enum kl_expect_kind {
    KL_EXPECT_KIND_RANGE = 0,     /* column values within [min, max] (either may be omitted) */
    KL_EXPECT_KIND_VALUES = 1,    /* column values among values */
    KL_EXPECT_KIND_UNIQUE = 2,    /* no value twice (missing values ignored) */
    KL_EXPECT_KIND_REGEX = 3,     /* every value matches pattern (POSIX extended, whole value) */
    KL_EXPECT_KIND_MISSING = 4,   /* share of missing values <= max_share (default 0) */
    KL_EXPECT_KIND_ROWS = 5,      /* table: row count within [min, max]; no column */
    KL_EXPECT_KIND_TYPE = 6,      /* column has logical type `type` (int float bool ...) */
    KL_EXPECT_KIND_FRESHNESS = 7, /* newest time value at most max_age old (column default:
                                     data.time_column) */
};

const char *kl_expect_kind_name(enum kl_expect_kind k);

/*
 * constraints.expectations entry: `- {column: age, expect: range, min: 17,
 * max: 90}`. Only the keys of its kind are accepted; column is required
 * except for rows (never) and freshness (data.time_column by default).
 */
typedef struct kl_spec_expectation {
    const char *column; /* NULL for rows, and for freshness without a column */
    enum kl_expect_kind kind;
    int has_min, has_max; /* range: value bounds; rows: row-count bounds (at least one) */
    double min, max;
    const char **values; /* values: at least one, as written */
    size_t n_values;
    const char *pattern;  /* regex: checked with regcomp when loading */
    double max_share;     /* missing: 0..1, default 0 */
    int type;             /* type: an enum kl_type */
    const char *max_age;  /* freshness: "<N>s", "<N>m", "<N>h", "<N>d" or "<N>w" as written */
    int64_t max_age_secs; /* freshness: max_age in seconds */
} kl_spec_expectation;

/* features.transforms entry. */
typedef struct kl_spec_transform {
    const char **columns; /* from `column: X` (one) or `columns: [..]` (at least one) */
    size_t n_columns;
    enum kl_transform_op op;
    kl_spec_kv *params; /* every other key, in file order (strategy, lags, window, ...) */
    size_t n_params;
} kl_spec_transform;

/* features.costs entry. */
typedef struct kl_spec_cost {
    const char *column;
    double cost;
} kl_spec_cost;

/* train.search.space entry. */
typedef struct kl_spec_space {
    const char *param;
    enum kl_param_type type;
    double low, high;    /* INT and FLOAT: low < high (low <= high for INT); from values if given */
    int log;             /* INT and FLOAT: sample on a log scale; needs low > 0 */
    double step;         /* INT and FLOAT: grid step (0: none given; INT steps by 1); with log a
                            factor > 1 (low, low*step, ...) */
    const char **values; /* CHOICE: at least one value, YAML text; INT and FLOAT: optional list
                            of numbers searched instead of the range (then no low/high/step) */
    size_t n_values;
    kl_spec_kv *when; /* conditions: the entry applies only when every earlier entry named
                         here took the given value (text); n_when 0: always */
    size_t n_when;
} kl_spec_space;

/* sla entry: a quality or service gate. */
typedef struct kl_spec_sla {
    const char *metric;      /* a known metric name (see kl_spec_metric_known) */
    enum kl_sla_bound bound; /* which of min / max was given */
    double threshold;
    enum kl_sla_on on;
    const char *by; /* NULL, or a column: the gate holds for every group of it */
} kl_spec_sla;

/* kpi entry: a business measure and why it matters. */
typedef struct kl_spec_kpi {
    const char *name;
    const char *metric; /* exactly one of metric and value is non-NULL */
    const char *value;  /* formula over the identifiers of kl_spec_kpi_ident_known */
    int has_target;
    double target;
    enum kl_kpi_direction direction;
    const char *why; /* required: the business reason */
    const char *owner;
} kl_spec_kpi;

/* drift.tests entry. */
typedef struct kl_spec_drift_rule {
    const char *column;
    enum kl_drift_test test;
} kl_spec_drift_rule;

/* drift.thresholds entry. */
typedef struct kl_spec_drift_threshold {
    enum kl_drift_test test;
    double threshold;
} kl_spec_drift_threshold;

typedef struct kl__spec_priv kl__spec_priv;

typedef struct kl_spec {
    const char *name; /* the file name used in error contexts ("keel.yaml") */
    int version;      /* format version; KL_SPEC_VERSION */

    struct {
        const char *name; /* required */
        const char *description;
        const char *owner;
    } project;

    struct {
        enum kl_task task;  /* required */
        const char *target; /* required: the column to predict */
        const char *description;
        const char *business_outcome;
        const char *positive_class; /* classification only; NULL: decided from the data */
        int horizon;                /* forecast only: steps ahead; 1 by default, 0 otherwise */
    } objective;

    struct {
        const char *source; /* CSV path as written (relative to the spec's directory); NULL when no
                               data section */
        const char *time_column;
        const char *segment_column;
        const char *id_column;
        char delimiter;              /* 0: detect */
        const char **missing_tokens; /* always filled: the defaults when not given */
        size_t n_missing_tokens;
        kl_csv_override *columns; /* type overrides, ready for kl_csv_read_opts */
        size_t n_columns;
        kl_spec_source *sources; /* n_sources 0: the single source form; else source is
                                    sources[0].source */
        size_t n_sources;
    } data;

    struct {
        kl_spec_terms *terms;
        size_t n_terms;
        int require_terms; /* default 0 */
        const char *purpose;
        kl_pii_policy pii_default; /* default keep */
        kl_spec_pii_rule *pii_columns;
        size_t n_pii_columns;
        kl_spec_pii_rule *pii_entities;
        size_t n_pii_entities;
        const char **protected_columns;
        size_t n_protected_columns;
        double min_group_share; /* default 0.05 */
        double proxy_threshold; /* default 0.5: Cramér's V and correlation ratio */
        double proxy_auc;       /* default 0.8: validation AUC of a one-feature model */
        kl_spec_expectation *expectations;
        size_t n_expectations;
        /* constraints.alerts: `keel profile` alert thresholds, defaults filled (docs/PROFILE.md) */
        struct {
            double missing, zeros, infinite, duplicates; /* shares, default 0.01 */
            double skewed;                               /* |skewness|, default 20 */
            double high_cardinality;                     /* distinct values, default 50 */
            double imbalance;                            /* default 0.5 */
            double high_correlation;                     /* default 0.9 */
            double leakage;                              /* default 0.98 */
            double date_like;                            /* default 0.9 */
        } alerts;
    } constraints;

    struct {
        const char **include; /* n_include == 0: every column but target, protected and excluded */
        size_t n_include;
        const char **exclude;
        size_t n_exclude;
        kl_spec_transform *transforms;
        size_t n_transforms;
        int has_budget;
        double budget;
        kl_spec_cost *costs;
        size_t n_costs;
    } features;

    struct {
        const char *algorithm; /* default: ridge, logistic or ar by task */
        kl_spec_kv *params;
        size_t n_params;
        uint64_t seed; /* default 42 */
        struct {
            enum kl_validation_method method; /* holdout; time_series for forecast */
            double test_size;                 /* default 0.2, in (0, 1) */
            int folds;                        /* default 5, >= 2 */
            const char *group_column;         /* required by group_kfold */
        } validation;
        struct {
            enum kl_search_method method; /* NONE when no search section */
            int trials;                   /* default 20; halving: candidates of the first rung */
            kl_spec_space *space;
            size_t n_space;
            double factor;         /* halving: keep 1/factor per rung, default 3, > 1 */
            int64_t min_resources; /* halving: rows per fold fit at rung 0; 0 exhaust (default),
                                      -1 smallest (2 x folds, x classes), else >= 1 */
        } search;
        int has_label_cost;
        double label_cost; /* cost of labelling one row (>= 0): learning-curve estimates */
    } train;

    kl_spec_sla *sla;
    size_t n_sla;

    kl_spec_kpi *kpi;
    size_t n_kpi;

    struct {
        const char *reference;     /* snapshot id or name; NULL: the training snapshot */
        int64_t window_size;       /* rows per window; 0 when period is used or none given */
        const char *window_period; /* "<N>h", "<N>d" or "<N>w"; NULL when size is used */
        kl_spec_drift_rule *tests;
        size_t n_tests;
        kl_spec_drift_threshold *thresholds;
        size_t n_thresholds;
        enum kl_drift_detector *detectors;
        size_t n_detectors;
    } drift;

    struct {
        const char *host;    /* default 127.0.0.1 */
        int port;            /* default 8080 */
        int64_t max_batch;   /* default 10000 rows per request */
        int log_predictions; /* default 1 */
    } serve;

    kl__spec_priv *priv_; /* internal: memory and key positions */
} kl_spec;

/*
 * Load and validate a spec from path. On success *out is a new spec and 0 is
 * returned; on failure *out is NULL and a negative code is returned with err
 * filled (see the top of this file).
 */
int kl_spec_load_file(const char *path, kl_spec **out, kl_err *err);
/* The same on len bytes of buf (borrowed); name is used in error contexts. */
int kl_spec_load_buffer(const char *buf, size_t len, const char *name, kl_spec **out, kl_err *err);
void kl_spec_free(kl_spec *s); /* NULL does nothing */

/*
 * Write the effective spec (defaults filled) as YAML, without comments.
 * Loading the output gives an equal spec, and the output depends only on the
 * spec's values (not on the original file's layout, comments or key spelling
 * such as `delimiter: comma`), so its hash identifies the spec. Returns 0, or
 * KL_EIO when writing fails.
 */
int kl_spec_write_yaml(const kl_spec *s, FILE *fp, kl_err *err);
/* The same content as a JSON object (pretty-printed, newline-terminated). */
int kl_spec_write_json(const kl_spec *s, FILE *fp, kl_err *err);

/* The commented template `keel init` writes; it loads cleanly. Static storage. */
const char *kl_spec_template(void);

/*
 * Fill opts (zeroed first) for reading s->data.source: delimiter, missing
 * tokens and column type overrides. The pointers in opts are borrowed from s
 * and live as long as it does. Returns 0.
 */
int kl_spec_csv_opts(const kl_spec *s, kl_csv_read_opts *opts, kl_err *err);

/*
 * Where the value of a key path ("objective.target", "sla[1].min",
 * "data.columns.age") was written: fills buf with "FILE:LINE:COL", or just
 * "FILE" when the key was not in the file (a default). Returns buf. Lets later
 * checks (a target column missing from the data) point into keel.yaml.
 */
const char *kl_spec_where(const kl_spec *s, const char *path, char *buf, size_t n);

/* 1 if name is a metric keel knows (sla.metric, kpi.metric), else 0. */
int kl_spec_metric_known(const char *name);
/* 1 if name may appear in a kpi value formula (tp, fp, tn, fn, n, ...), else 0. */
int kl_spec_kpi_ident_known(const char *name);

#endif
