/*
 * Data profile: per-column statistics, whole-table facts, pairwise
 * association and alerts for a frame (what users know from pandas'
 * describe() and ydata-profiling), plus its JSON form and a self-contained
 * HTML report.
 *
 * Ownership: kl_profile_compute returns a kl_profile the caller frees with
 * kl_profile_free; it copies every string it keeps, so it outlives the frame.
 * Options are borrowed.
 *
 * Every statistic and the rules behind each alert are written down in
 * docs/PROFILE.md (definitions, thresholds, JSON schema). The result does not
 * depend on the thread count.
 */
#ifndef KEEL_PROFILE_H
#define KEEL_PROFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "keel/err.h"
#include "keel/frame.h"

struct json_t;

#define KL_PROFILE_TOP 10  /* most common values kept per column */
#define KL_PROFILE_BINS 50 /* histogram bins of a numeric column (ydata-profiling's default) */
#define KL_PROFILE_N_QUANTILES 7
/* The quantiles reported, in order: 1, 5, 25, 50, 75, 95 and 99 percent. */
extern const double kl_profile_quantile_levels[KL_PROFILE_N_QUANTILES];

/*
 * Alert thresholds; 0 in a field means its default (given after each).
 * A share alert fires when the share is strictly greater than its threshold.
 */
typedef struct kl_profile_thresholds {
    double missing;          /* 0.01: share of missing values */
    double zeros;            /* 0.01: share of zeros among present numeric values */
    double infinite;         /* 0.01: share of infinities among present numeric values */
    double duplicates;       /* 0.01: share of duplicate rows */
    double skewed;           /* 20: |skewness| */
    double high_cardinality; /* 50: distinct values of a categorical or text column */
    double imbalance;        /* 0.5: 1 - entropy / log(distinct) */
    double high_correlation; /* 0.9: |Pearson|, Cramér's V or correlation ratio of a pair */
    double leakage;          /* 0.98: association of one feature with the target */
    double date_like;        /* 0.9: share of a text or categorical column parsing as dates */
} kl_profile_thresholds;

/* The defaults above, filled in. */
kl_profile_thresholds kl_profile_thresholds_default(void);

enum kl_profile_alert_kind {
    KL_PROFILE_ALERT_EMPTY = 0,
    KL_PROFILE_ALERT_CONSTANT,
    KL_PROFILE_ALERT_MISSING,
    KL_PROFILE_ALERT_HIGH_CARDINALITY,
    KL_PROFILE_ALERT_UNIQUE,
    KL_PROFILE_ALERT_SKEWED,
    KL_PROFILE_ALERT_ZEROS,
    KL_PROFILE_ALERT_INFINITE,
    KL_PROFILE_ALERT_IMBALANCE,
    KL_PROFILE_ALERT_TYPE_DATE,
    KL_PROFILE_ALERT_CONSTANT_LENGTH,
    KL_PROFILE_ALERT_DUPLICATES,
    KL_PROFILE_ALERT_HIGH_CORRELATION,
    KL_PROFILE_ALERT_TARGET_LEAKAGE,
    KL_PROFILE_ALERT_COUNT
};
/* "constant", "missing", "high_cardinality", ... (the JSON names). */
const char *kl_profile_alert_name(enum kl_profile_alert_kind kind);

typedef struct kl_profile_alert {
    enum kl_profile_alert_kind kind;
    long column;  /* the column, -1 for table alerts */
    long column2; /* the other column of a pair, -1 otherwise */
    double value; /* the measured value that crossed the threshold */
    double threshold;
} kl_profile_alert;

typedef struct kl_profile_value {
    char *value; /* as kl_frame_cell_str writes it */
    size_t count;
} kl_profile_value;

/* Pair measures (kl_profile.assoc_kind). */
enum kl_profile_measure {
    KL_PROFILE_MEASURE_NONE = 0,
    KL_PROFILE_MEASURE_PEARSON,   /* numeric x numeric */
    KL_PROFILE_MEASURE_CRAMERS_V, /* categorical/bool x categorical/bool */
    KL_PROFILE_MEASURE_ETA,       /* numeric x categorical/bool: correlation ratio */
    KL_PROFILE_MEASURE_AUC,       /* numeric feature x binary target: max(AUC, 1 - AUC) */
};
const char *kl_profile_measure_name(enum kl_profile_measure m);

typedef struct kl_profile_column {
    char *name;
    enum kl_col_kind kind;
    enum kl_type type;
    size_t count;    /* present values */
    size_t missing;  /* missing values */
    size_t distinct; /* distinct present values */
    size_t n_top;
    kl_profile_value top[KL_PROFILE_TOP]; /* by count descending, then by value order */
    double imbalance; /* categorical and bool: 1 - entropy / log(distinct); NaN otherwise */

    /* NUMERIC (BOOL as 0/1 too; TIME in seconds since the epoch for min..max only) */
    int has_numeric;
    double min, max, mean, std, skewness, kurtosis;
    double quantiles[KL_PROFILE_N_QUANTILES];
    size_t zeros, negatives, infinite;
    size_t n_bins; /* histogram of the finite values: n_bins equal-width bins over [min, max] */
    double bin_lo, bin_hi;
    size_t bins[KL_PROFILE_BINS];

    /* TEXT: lengths in bytes */
    size_t len_min, len_max;
    double len_mean;
    size_t date_like; /* text and categorical: values that parse as a date or datetime */

    /* TIME (microseconds since the epoch) */
    int64_t t_min, t_max;
    int64_t gap_max, gap_median; /* between consecutive distinct sorted values */
    double irregular;            /* share of gaps that differ from the median gap */
    const char *period;          /* "hour", "day", "month" or "year" */
    size_t n_periods;
    int64_t *period_start; /* n_periods starts (microseconds), ascending */
    size_t *period_count;

    /* association with the target (NaN when none or for the target itself) */
    double target_assoc;
    enum kl_profile_measure target_measure;
} kl_profile_column;

typedef struct kl_profile {
    size_t rows, n_columns;
    size_t missing_cells;
    size_t duplicate_rows; /* rows equal to an earlier row (pandas' duplicated().sum()) */
    size_t memory_bytes;   /* the frame's columns, dictionaries and strings */
    kl_profile_column *columns;
    long target; /* column index of the target, -1 when none */
    /*
     * n_columns x n_columns, row-major, symmetric, NaN where undefined:
     * pearson and spearman for numeric pairs; assoc holds the pair's measure
     * (assoc_kind) for every pair of numeric, categorical and bool columns.
     */
    double *pearson, *spearman, *assoc;
    uint8_t *assoc_kind;              /* enum kl_profile_measure */
    kl_profile_thresholds thresholds; /* the values used */
    size_t n_alerts;
    kl_profile_alert *alerts; /* table alerts, then by column, pairs last */
} kl_profile;

typedef struct kl_profile_opts {
    const char *target;               /* column name, or NULL */
    kl_profile_thresholds thresholds; /* zeros: defaults */
} kl_profile_opts;

/*
 * Profile f. Returns 0, KL_ENOTFOUND when the target names no column,
 * or KL_ENOMEM. *out is NULL on failure. opts may be NULL.
 */
int kl_profile_compute(const kl_frame *f, const kl_profile_opts *opts, kl_profile **out,
                       kl_err *err);
void kl_profile_free(kl_profile *p); /* NULL does nothing */

/* The profile as JSON (schema in docs/PROFILE.md); NULL when out of memory. */
struct json_t *kl_profile_json(const kl_profile *p);

/*
 * The profile that kl_profile_json wrote, read back (for stored profiles):
 * kl_profile_json of the result equals the JSON read. Returns 0, KL_EPARSE
 * when j is not such a profile, or KL_ENOMEM.
 */
int kl_profile_from_json(const struct json_t *j, kl_profile **out, kl_err *err);

/*
 * Write a self-contained HTML report (no external resources) with inline SVG
 * charts: a histogram or bar chart per column and a correlation heat map.
 * title is escaped. Returns 0 or KL_EIO.
 */
int kl_profile_html(const kl_profile *p, const char *title, FILE *fp, kl_err *err);

#endif
