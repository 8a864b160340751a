/*
 * Data constraints: the checks `keel check` runs on a data source against
 * keel.yaml's constraints section (docs/CONSTRAINTS.md has the rules and
 * their defaults).
 *
 *   protected       kl_constraints_check_features refuses a feature list
 *                   that names a protected column; kl_constraints_protected
 *                   lists the protected columns kept for subgroup analysis
 *   proxies         kl_proxy_check: how well each remaining column predicts
 *                   each protected attribute (Cramér's V, correlation ratio,
 *                   validation AUC of a one-feature model)
 *   representation  kl_represent: group counts, shares and the 95% Wilson
 *                   half-width a per-group accuracy would have, per
 *                   attribute and per pair of attributes
 *   terms of use    kl_terms_check
 *   expectations    kl_expect_check: constraints.expectations on a frame
 *   all of it       kl_check_run (with the PII scan and the schema against
 *                   the spec) and kl_check_report_json
 *
 * Ownership: the reports (kl_proxy_report, kl_represent_report,
 * kl_expect_report, kl_check_report) live on the caller's stack, are filled
 * by their function and released with their _release (which also accepts a
 * zeroed report); every string in them is an owned copy, so they outlive the
 * frame and the spec. Arguments are borrowed.
 */
#ifndef KEEL_CONSTRAINTS_H
#define KEEL_CONSTRAINTS_H

#include <stddef.h>
#include <stdint.h>

#include "keel/err.h"
#include "keel/frame.h"
#include "keel/pii.h"
#include "keel/spec.h"

/* ---- protected features ---- */

/*
 * 0 when none of names[0..n) is one of s's constraints.protected columns;
 * otherwise KL_EINVAL with the message of the feature pipeline ("column 'sex'
 * is protected and cannot be a feature") and ctx the place in keel.yaml that
 * declares it (kl_spec_where of "constraints.protected[i]").
 */
int kl_constraints_check_features(const kl_spec *s, const char *const *names, size_t n,
                                  kl_err *err);

/*
 * The protected columns of s, kept for subgroup analysis (borrowed from s,
 * *n of them; n may be 0).
 */
const char *const *kl_constraints_protected(const kl_spec *s, size_t *n);

/* ---- proxies ---- */

enum kl_proxy_measure {
    KL_PROXY_MEASURE_CRAMERS_V = 0, /* categorical feature vs categorical attribute */
    KL_PROXY_MEASURE_ETA = 1,       /* correlation ratio: numeric vs categorical */
    KL_PROXY_MEASURE_AUC = 2,       /* validation AUC of a one-feature model */
    KL_PROXY_MEASURE_PEARSON = 3,   /* |r|: numeric feature vs numeric attribute */
};

const char *kl_proxy_measure_name(enum kl_proxy_measure m); /* "cramers_v", "eta", ... */

/* Caller-filled; {0} means the defaults. */
typedef struct kl_proxy_opts {
    double threshold;        /* Cramér's V, eta and |r|: warn at or above; 0: 0.5 */
    double auc;              /* one-feature AUC: warn at or above; 0: 0.8 */
    uint64_t seed;           /* holdout split; 0: 42 */
    double test_size;        /* holdout share; 0: 0.3 */
    const char *const *skip; /* columns that are not features (target, id); may be NULL */
    size_t n_skip;
} kl_proxy_opts;

/* One (protected attribute, feature) pair. Measures that do not apply are NaN. */
typedef struct kl_proxy {
    char *attribute; /* owned copies */
    char *feature;
    size_t rows;  /* rows where both are present */
    double assoc; /* Cramér's V, eta or |r| by assoc_measure */
    enum kl_proxy_measure assoc_measure;
    double auc;  /* macro one-vs-rest for more than two groups; NaN for a numeric attribute */
    int flagged; /* assoc >= threshold or auc >= auc threshold */
    enum kl_proxy_measure measure; /* flagged: the measure that crossed (assoc first) */
} kl_proxy;

typedef struct kl_proxy_report {
    size_t n;
    kl_proxy *pairs; /* attributes in the order given, features in frame order */
    size_t n_flagged;
    double threshold, auc; /* the thresholds used */
} kl_proxy_report;

void kl_proxy_report_release(kl_proxy_report *r);

/*
 * For each protected column of attrs[0..n_attrs) and each other column of f
 * that is not protected, skipped or text: the association and the
 * one-feature AUC. A categorical or bool attribute gets Cramér's V against
 * categorical and bool features and eta (the correlation ratio of the
 * feature within the attribute's groups) against numeric and time features;
 * a numeric attribute gets eta against categorical features and |Pearson r|
 * against numeric ones, and no AUC.
 *
 * The one-feature model is a binned-rate classifier: rows where the
 * attribute is present are split once into train and holdout (shuffle with
 * kl_rng seed, the last test_size share is the holdout); the feature is
 * binned (each category and bool value a bin, numeric and time values into
 * 10 training-quantile bins, missing a bin of its own); a holdout row's
 * score for group g is the training share of g in its bin (the overall
 * training share for an empty bin). Its AUC against "row is in g" is exact
 * (ties count one half); with more than two groups the AUCs of every group
 * with holdout rows on both sides are averaged (macro one-vs-rest).
 *
 * A pair whose contingency table would exceed 2^22 cells (an id-like
 * category against a high-cardinality attribute) is left out of the report.
 *
 * Errors: KL_ENOTFOUND (an attribute not in f), KL_ENOMEM.
 */
int kl_proxy_check(const kl_frame *f, const char *const *attrs, size_t n_attrs,
                   const kl_proxy_opts *opts, kl_proxy_report *out, kl_err *err);

/* ---- representation ---- */

#define KL_WILSON_Z 1.959964

/*
 * Half-width of the 95% Wilson score interval for a proportion p observed
 * on n rows: z * sqrt(p(1-p)/n + z^2/(4n^2)) / (1 + z^2/n), z = 1.959964.
 * n == 0 gives 1 (nothing is known).
 */
double kl_wilson_half_width(double p, double n);

/* One group: a value of one attribute, or a pair of values of two. */
typedef struct kl_group {
    char *values[2]; /* owned; values[1] NULL for one attribute; NULL value = missing */
    size_t count;
    double share;      /* count / rows */
    double half_width; /* kl_wilson_half_width(p, count) */
    int small;         /* share < min_group_share */
} kl_group;

typedef struct kl_group_table {
    char *columns[2]; /* owned; columns[1] NULL for a single attribute */
    size_t n_groups;
    kl_group *groups; /* single: in dictionary order, missing last; pairs: row-major,
                         empty combinations left out */
    size_t n_small;
} kl_group_table;

typedef struct kl_represent_report {
    size_t rows;
    double min_group_share;
    double p; /* the proportion the half-widths use */
    size_t n_tables;
    kl_group_table *tables; /* one per attribute, then one per pair (i < j) */
    size_t n_skipped;
    char **skipped; /* owned: columns left out, "age is numeric: no groups" */
} kl_represent_report;

void kl_represent_report_release(kl_represent_report *r);

/*
 * Group tables of cols[0..n) in f (categorical and bool columns; numeric,
 * text and time columns are listed in skipped): counts, shares against
 * min_share, and half-widths at proportion p (0.5 before a model exists).
 * A pair of columns with more than 2^22 combinations is listed in skipped.
 * Errors: KL_ENOTFOUND (a column not in f), KL_ENOMEM.
 */
int kl_represent(const kl_frame *f, const char *const *cols, size_t n, double min_share, double p,
                 kl_represent_report *out, kl_err *err);

/* ---- terms of use ---- */

/*
 * The constraints.terms entry for source (the path as written in keel.yaml
 * or on the command line): an entry whose source is equal, or whose last
 * path component is equal. NULL when none.
 */
const kl_spec_terms *kl_terms_find(const kl_spec *s, const char *source);

/*
 * 0 when source may be used: KL_ECHECK when require_terms is true and
 * source has no terms entry, or when constraints.purpose is set and the
 * source's entry lists purposes that do not include it (an entry without
 * purposes restricts none). err->ctx points into keel.yaml.
 */
int kl_terms_check(const kl_spec *s, const char *source, kl_err *err);

/* ---- expectations ---- */

#define KL_EXPECT_EXAMPLES 5

typedef struct kl_expect_result {
    size_t index; /* position in constraints.expectations */
    enum kl_expect_kind kind;
    char *column; /* owned; NULL for table-level */
    int passed;
    size_t failing; /* failing values (rows) */
    size_t checked; /* values looked at (present cells; rows for table-level) */
    char *detail;   /* owned: what was expected and found ("23 values outside [17, 90]") */
    size_t n_examples;
    char *examples[KL_EXPECT_EXAMPLES]; /* owned: distinct failing values, first seen first;
                                           "[hidden]" alone for a PII column */
} kl_expect_result;

typedef struct kl_expect_report {
    size_t n;
    kl_expect_result *results;
    size_t n_failed;
} kl_expect_report;

void kl_expect_report_release(kl_expect_report *r);

typedef struct kl_expect_opts {
    const char *time_column;   /* freshness without a column; may be NULL */
    const char *const *hidden; /* columns whose values are never shown (PII) */
    size_t n_hidden;
    int64_t now_us; /* freshness reference, microseconds; 0: the clock */
} kl_expect_opts;

/*
 * Evaluate e[0..n) on f. A failed expectation is a result, not an error:
 * a column missing from f, or of a kind the expectation cannot apply to,
 * fails it with a detail saying so. Missing cells are ignored by every
 * expectation but missing. Errors: KL_ENOMEM.
 */
int kl_expect_check(const kl_frame *f, const kl_spec_expectation *e, size_t n,
                    const kl_expect_opts *opts, kl_expect_report *out, kl_err *err);

/* ---- everything: keel check ---- */

enum kl_check_status {
    KL_CHECK_STATUS_OK = 0,
    KL_CHECK_STATUS_WARN = 1,
    KL_CHECK_STATUS_FAIL = 2,
    KL_CHECK_STATUS_SKIP = 3, /* nothing to check (no protected columns, no expectations) */
};

const char *kl_check_status_name(enum kl_check_status s); /* "ok", "warn", "fail", "skip" */

/* One finding: a violation (FAIL) or a warning (WARN). */
typedef struct kl_check_finding {
    const char *section; /* static: "schema", "pii", "protected", "proxies", ... */
    enum kl_check_status status;
    char *msg; /* owned */
    char *ctx; /* owned; "" when none (a keel.yaml place, a column) */
} kl_check_finding;

typedef struct kl_check_report {
    size_t rows, columns;
    enum kl_check_status schema, pii, protected_, proxies, representation, terms, expectations;
    size_t n_findings;
    kl_check_finding *findings;
    size_t n_violations, n_warnings;
    kl_pii_report pii_report;
    kl_proxy_report proxy_report;
    kl_represent_report represent_report;
    kl_expect_report expect_report;
} kl_check_report;

void kl_check_report_release(kl_check_report *r);

/*
 * Run every constraint of s on f, the data read from source (the path used
 * to match constraints.terms): the schema against the spec (the target, and
 * the time, segment and id columns exist; data.columns types match);
 * the PII scan with constraints.pii (a `fail` policy on a flagged column, or
 * a column rule, is a violation); protected columns exist and no feature
 * list names one; proxies (warnings); representation of the protected
 * columns and the segment column (small groups are warnings); terms; and
 * expectations (PII columns' values hidden). Returns 0 whatever was found
 * (read r->n_violations); KL_ENOMEM.
 */
int kl_check_run(const kl_frame *f, const kl_spec *s, const char *source, kl_check_report *r,
                 kl_err *err);

/*
 * The report as JSON (caller owns the reference; NULL when out of memory):
 * rows, columns, violations, warnings, status ({section: status}),
 * findings [{section, status, message, context}], pii (kl_pii_report_json),
 * proxies [{attribute, feature, rows, measure, value, auc, flagged}],
 * representation {rows, min_group_share, p, tables: [{columns, groups:
 * [{values, count, share, half_width, small}]}], skipped}, expectations
 * [{index, expect, column, passed, failing, checked, detail, examples}].
 * Numbers are rounded to 6 decimals; NaN is null.
 */
struct json_t;
struct json_t *kl_check_report_json(const kl_check_report *r);

#endif
