/*
 * Feature selection: rank the columns a model would train on by filter,
 * embedded, wrapper and permutation scores; give each a cost, a stability
 * and a privacy flag; recommend the best subset under a cost budget and keep
 * it in the store as a named feature set that training can use.
 * docs/FEATURES.md has the definitions; this header is the contract.
 *
 * Ownership: kl_fselect_rank and kl_fselect_select fill caller structs that
 * are released with their _release function (which accepts a zeroed struct);
 * every string in them is an owned copy, so they outlive the frame and the
 * spec. Frames, specs and options are borrowed.
 *
 * Candidates are the columns training would use: the feature pipeline's
 * input columns for features.include/exclude (or opts.features), never the
 * target, the id column or a protected column; text and time columns are
 * left out as the pipeline leaves them out.
 *
 * Determinism: every score depends only on the data, the options and the
 * seed, never on the thread count. Work is spread over features (filters,
 * permutations) or resamples (stability) with kl_parallel_for, each task
 * writing its own slots; models fit with keel's deterministic fits.
 */
#ifndef KEEL_FSELECT_H
#define KEEL_FSELECT_H

#include <stddef.h>
#include <stdint.h>

#include "keel/err.h"
#include "keel/frame.h"
#include "keel/model.h"
#include "keel/spec.h"
#include "keel/store.h"

enum kl_fselect_method {
    KL_FSELECT_METHOD_MI = 0,          /* mutual information with the target (k-NN estimator) */
    KL_FSELECT_METHOD_CORR = 1,        /* |Pearson r|, correlation ratio or Cramer's V */
    KL_FSELECT_METHOD_VARIANCE = 2,    /* variance (Gini impurity for categories) */
    KL_FSELECT_METHOD_L1 = 3,          /* largest L1 penalty at which the feature enters */
    KL_FSELECT_METHOD_GAIN = 4,        /* split gain share of a gradient-boosted model */
    KL_FSELECT_METHOD_PERMUTATION = 5, /* mean drop of the main metric when permuted */
    KL_FSELECT_METHOD_RFE = 6,         /* recursive feature elimination: survival */
};
#define KL_FSELECT_METHOD_COUNT 7

/* "mi", "corr", ...; "?" when out of range. */
const char *kl_fselect_method_name(enum kl_fselect_method m);
/* The method called name, or -1. */
int kl_fselect_method_parse(const char *name);

/* ---- the estimators on plain arrays ---- */

/*
 * Mutual information (nats) between x and y over n rows, as scikit-learn's
 * mutual_info_regression / mutual_info_classif estimate it: a continuous
 * variable is divided by its standard deviation (ddof 0) and gets a jitter
 * of 1e-10 * max(1, mean |v|) standard normal noise (from seed), then
 *   continuous-continuous: Kraskov, Stoegbauer and Grassberger (2004),
 *     estimator 1, max-norm, k neighbours;
 *   continuous-discrete: Ross (2014), k neighbours within each class;
 *   discrete-discrete: the plug-in estimate from the contingency table.
 * Negative estimates become 0. Discrete values are compared exactly. Rows
 * where either value is NaN are left out. Fewer than k + 1 usable rows give
 * 0. Returns 0, KL_EINVAL (k == 0) or KL_ENOMEM.
 */
int kl_fselect_mi(const double *x, int x_discrete, const double *y, int y_discrete, size_t n,
                  size_t k, uint64_t seed, double *out, kl_err *err);

/*
 * Association of x with y (rows with a NaN left out): |Pearson r| when both
 * are continuous, the correlation ratio eta of the continuous one within the
 * groups of the discrete one, Cramer's V when both are discrete. 0 when a
 * variable is constant or fewer than 2 rows remain.
 */
double kl_fselect_assoc(const double *x, int x_discrete, const double *y, int y_discrete, size_t n);

/*
 * |Spearman rho| of two continuous variables (Pearson r of their ranks,
 * ties given their average rank; rows with a NaN left out); 0 when either is
 * constant or fewer than 2 rows remain.
 */
double kl_fselect_spearman(const double *x, const double *y, size_t n);

/*
 * Spread of x: the population variance (ddof 0, as scikit-learn's
 * VarianceThreshold) when continuous, the Gini impurity 1 - sum p_k^2 (the
 * summed variance of its one-hot indicators) when discrete. NaNs left out.
 */
double kl_fselect_variance(const double *x, int x_discrete, size_t n);

/*
 * Nogueira, Sechidis and Brown's (2018) stability of a selection: sel is
 * m x p (row-major, one row per resample, 1 = selected). 1 is perfectly
 * stable; NaN when m < 2 or every resample selects all or none.
 */
double kl_fselect_nogueira(const uint8_t *sel, size_t m, size_t p);

/* ---- ranking ---- */

/* Caller-filled; {0} gives the defaults named. */
typedef struct kl_fselect_opts {
    const kl_spec *spec; /* may be NULL: then task and target are required */
    int has_task;
    enum kl_task task;
    const char *target;
    const char *const *features; /* candidates instead of features.include (n_features > 0) */
    size_t n_features;
    /* Model for l1 (none: lasso / L1 logistic), permutation, rfe and select. */
    const char *algo; /* default: train.algorithm, else ridge / logistic */
    const kl_model_param *params;
    size_t n_params;
    enum kl_fselect_method method; /* the ranking (default mi) */
    size_t folds;                  /* CV folds (rfe, select, stability); 0: 5 */
    size_t bootstraps;             /* stability bootstrap resamples; 0: 5 */
    size_t top_k;                  /* stability: selected = top k; 0: ceil(p / 2) */
    size_t repeats;                /* permutation repeats; 0: 5 */
    size_t neighbors;              /* mi: k; 0: 3 */
    int no_stability;              /* 1: skip the resamples (stability NaN) */
    int has_seed;
    uint64_t seed; /* default train.seed, else 42 */
} kl_fselect_opts;

enum kl_fselect_privacy {
    KL_FSELECT_PRIVACY_PII_NAME = 1 << 0,  /* the name suggests personal data */
    KL_FSELECT_PRIVACY_PII_VALUE = 1 << 1, /* the PII scan flagged its values */
    KL_FSELECT_PRIVACY_PROXY = 1 << 2,     /* a proxy of a protected attribute */
};

typedef struct kl_fselect_feature {
    char *name;
    int discrete;               /* categorical or bool */
    size_t n_outputs;           /* pipeline outputs it becomes (one-hot: one per category) */
    double mi, assoc, variance; /* filters: always computed */
    double spearman;            /* |Spearman rho| with a continuous target; NaN otherwise */
    double score;               /* the ranking method's score: higher is more useful */
    double score_std;           /* permutation: std over repeats (ddof 0); else NaN */
    size_t rank;                /* 1 = best; ties keep the candidates' order */
    double cost;                /* features.costs, else its share of per-row work */
    int cost_declared;          /* 1 when features.costs names it */
    double stability;           /* share of resamples where it is in the top k; NaN if skipped */
    unsigned privacy;           /* enum kl_fselect_privacy bits; 0 = no flag */
    char privacy_why[96];       /* the last reason found: "proxy of sex (cramers_v 0.62)" */
} kl_fselect_feature;

typedef struct kl_fselect_result {
    enum kl_task task;
    char *target, *algo;
    enum kl_fselect_method method;
    uint64_t seed;
    size_t n_rows;
    size_t n_features;
    kl_fselect_feature *features; /* in candidate (frame) order */
    size_t *order;                /* feature indices, best rank first */
    size_t resamples, top_k;      /* stability: folds + bootstraps, and k */
    double nogueira;              /* stability index of the top-k selection; NaN if skipped */
    char *main_metric;            /* the objective's main metric (permutation, rfe, select) */
    /* rfe: CV mean and std of the main metric with the best s + 1 features (s < n_features) */
    double *rfe_mean, *rfe_std;
    size_t rfe_best; /* subset size with the best mean */
} kl_fselect_result;

/*
 * Rank the candidates of f by opts->method (see docs/FEATURES.md for each),
 * with costs, stability and privacy flags. Errors: KL_EINVAL (bad options,
 * a protected column asked for, fewer than 2 candidates or too few rows),
 * KL_ENOTFOUND (target, feature or algorithm), KL_ENOMEM, and the errors of
 * the model fits.
 */
int kl_fselect_rank(const kl_frame *f, const kl_fselect_opts *opts, kl_fselect_result *out,
                    kl_err *err);
void kl_fselect_result_release(kl_fselect_result *r);

/* ---- selection under a budget ---- */

typedef struct kl_fselect_step {
    size_t n;           /* features in the set after this step */
    char *added;        /* the feature added */
    double metric, std; /* CV mean and std of the main metric */
    double cost;        /* total cost of the set */
} kl_fselect_step;

typedef struct kl_fselect_choice {
    kl_fselect_result rank; /* the ranking the search was guided by */
    double budget;
    size_t n;     /* the recommended set */
    char **names; /* in the order they were added */
    double metric, std, cost;
    int higher_is_better;
    size_t n_steps; /* the forward path */
    kl_fselect_step *steps;
    size_t folds;
} kl_fselect_choice;

/*
 * Greedy forward selection under budget (>= 0): rank first, then from the
 * empty set repeatedly try the (up to 8) unchosen features with the highest
 * score per unit cost that still fit the budget, add the one with the best
 * CV main metric, and stop when none fits or none improves the metric; the
 * best set on the path is recommended. KL_ERANGE for a negative or
 * non-finite budget; KL_EINVAL when no single feature fits the budget; the
 * errors of kl_fselect_rank.
 */
int kl_fselect_select(const kl_frame *f, const kl_fselect_opts *opts, double budget,
                      kl_fselect_choice *out, kl_err *err);
void kl_fselect_choice_release(kl_fselect_choice *c);

/*
 * Record c in store s as a feature set: a run called name (required) with
 * tag kind=feature_set, params (method, budget, algo, seed, features as a
 * comma list), metrics (the main metric, its std, cost, n_features, and per
 * step the path), and artifact "features" (kind "feature_set"): the names,
 * one per line, UTF-8, LF-terminated. run_id receives the full id.
 */
int kl_fselect_record(kl_store *s, const kl_fselect_choice *c, const char *name,
                      char run_id[KL_ID_LEN], kl_err *err);

/*
 * The features of the feature set text names in store s: the newest run
 * tagged kind=feature_set with that name, else a run id prefix. *names is
 * one malloc'd block (free(*names) releases everything), *n the count.
 * KL_ENOTFOUND "no feature set 'x'" when nothing matches.
 */
int kl_fselect_set_load(kl_store *s, const char *text, char ***names, size_t *n, kl_err *err);

#endif
