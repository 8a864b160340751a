/*
 * kl_model: a fitted model (feature pipeline + algorithm state) behind one
 * interface: fit, predict in batches, forecast, save, load, describe, and
 * hooks for explainers. Everything downstream (evaluate, explain, serve,
 * drift) sees only this header.
 *
 * Ownership: kl_model_fit and kl_model_load return a new model that the
 * caller frees with kl_model_free; it copies what it keeps from the frame and
 * options. Getters return const pointers valid until kl_model_free. A fitted
 * model is read-only: several threads may predict with it at once.
 *
 * Determinism: fits and predictions give the same bits whatever KEEL_THREADS
 * and the OpenBLAS thread count are: keel holds OpenBLAS to one thread and
 * parallelises itself over row blocks whose boundaries depend only on the
 * row count, reducing partial results in block order.
 *
 * ---- Model file, format version 1 ----
 * Little-endian, fixed-width fields; `str` is a u32 byte length followed by
 * that many bytes (UTF-8, no NUL, at most 65536); `f64` is an IEEE-754
 * binary64 bit pattern. The file is a pure function of the training data,
 * options, pipeline, parameters and seed: no time, host, path or run id.
 *
 *   u8[8]   magic           "KEELMDL\0"
 *   u32     version         KL_MODEL_FORMAT_VERSION; a larger one is KL_EUNSUPPORTED
 *   str     algorithm       registry name ("ridge", "logistic", ...)
 *   u32     task            enum kl_task: 0 regression, 1 classification, 2 forecast
 *   str     target          target column name
 *   u32     n_classes       classification: K >= 2; otherwise 0
 *   str[K]  classes         class labels as text, in class-index order
 *   u32     n_params        then n_params (str key, str value) pairs: every
 *                           parameter of the algorithm, defaults filled, in its
 *                           table order, values in canonical text ("%.17g" for numbers)
 *   u32     n_meta          then n_meta (str key, str value) pairs sorted by key
 *                           (kl_model_set_meta: e.g. a decision threshold)
 *   u8[32]  schema_hash     kl_frame_schema_hash of the training frame
 *   u64     pipeline_len    then pipeline_len bytes: the fitted kl_pipeline
 *                           (layout in docs/FORMATS.md, "Pipeline")
 *   u64     payload_len     then payload_len bytes: the algorithm's state
 *                           (each algorithm documents its own; linear models
 *                           below)
 *   u8[32]  checksum        SHA-256 of every byte before it
 *
 * Nothing may follow the checksum. The loader checks, in order: length, magic,
 * version, checksum (KL_ECORRUPT "model file checksum mismatch"), then every
 * field against the bytes left, so truncated or altered files fail with
 * KL_ECORRUPT and never read out of bounds.
 *
 * Linear payload (ols, ridge, lasso, elasticnet, logistic):
 *   u32 n_features p, u32 n_outputs k (1, or K for multinomial logistic),
 *   u32 n_iter, u32 converged (0/1), f64 objective (the minimised loss at the
 *   solution, as documented in linear.h), f64 intercept[k], f64 coef[k * p]
 *   (output-major: coef[o * p + j]).
 */
#ifndef KEEL_MODEL_H
#define KEEL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "keel/err.h"
#include "keel/frame.h"
#include "keel/pipeline.h"
#include "keel/spec.h"

#define KL_MODEL_MAGIC "KEELMDL\0"
#define KL_MODEL_FORMAT_VERSION 1u
#define KL_MODEL_MAX_PARAMS 32

typedef struct kl_model kl_model;
struct json_t;

/* ---- algorithms: the registry and the interface each one implements ---- */

enum kl_algo_param_kind {
    KL_ALGO_PARAM_KIND_FLOAT = 0,
    KL_ALGO_PARAM_KIND_INT = 1,
    KL_ALGO_PARAM_KIND_BOOL = 2,   /* true/false (also 1/0); value 1.0 or 0.0 */
    KL_ALGO_PARAM_KIND_CHOICE = 3, /* one of a comma list; value is its index */
    KL_ALGO_PARAM_KIND_TEXT = 4,   /* any text of at most 127 bytes, checked by the fit; value 0 */
};

/* One parameter an algorithm accepts, named and defaulted as scikit-learn's. */
typedef struct kl_algo_param {
    const char *name;
    enum kl_algo_param_kind kind;
    const char *def;     /* default, as text ("1.0", "true", "l2") */
    double min, max;     /* FLOAT/INT: allowed range, inclusive unless min_open */
    int min_open;        /* 1: must be > min */
    const char *choices; /* CHOICE: "l2,l1,none" */
} kl_algo_param;

/*
 * What an algorithm fits on: n rows of p features, column-major with leading
 * dimension ld (the pipeline's output, warm-up rows dropped). X belongs to
 * the caller but the algorithm may overwrite it (centre it in place).
 */
typedef struct kl_model_data {
    double *X;
    size_t n, p, ld;
    const double *y; /* regression/forecast: target; classification: class index 0..K-1 */
    size_t n_classes;
    const char *const *feature_names; /* p names */
    uint64_t seed;
    /*
     * Native algorithms (pipeline_defaults KL_PIPELINE_DEFAULTS_NATIVE) only:
     * X may hold NaN (missing), and n_categories[j] > 0 marks feature j as a
     * category code 0..n_categories[j]-1 (kl_pipeline_output_categories).
     * NULL for the others.
     */
    const size_t *n_categories;
    /*
     * KL_ALGO_FLAGS_ROUNDS algorithms only: validation rows scored every round
     * (early stopping on them), nv rows column-major with leading dimension
     * ldv, targets as y; Xv NULL when there are none. full_rounds 1: run
     * every round and hold nothing out (the caller chooses the rounds later
     * with kl_model_rounds_keep).
     */
    const double *Xv;
    size_t nv, ldv;
    const double *yv;
    int full_rounds;
    /* Every parameter's canonical text, in table order (a list or a mapping in text). */
    const char *const *param_text;
} kl_model_data;

/*
 * The same rows, handed out in blocks so that the n x p matrix is never built
 * (a fit that needs one or two passes, such as least squares, then touches
 * only small, reused buffers). get() writes rows [row0, row0 + m) of the
 * training matrix (row 0 is the first row after the warm-up) into X
 * (column-major, ld >= m) and their targets into y; it may be called from
 * several threads at once, and fails (KL_EINVAL, naming the feature) on a
 * missing or infinite feature value.
 */
typedef struct kl_model_blocks {
    size_t n, p;
    const char *const *feature_names;
    uint64_t seed;
    int (*get)(const struct kl_model_blocks *b, size_t row0, size_t m, double *X, size_t ld,
               double *y, kl_err *err);
    const void *ctx;
} kl_model_blocks;

/*
 * The interface. fit, predict, save, load and free are required; the rest may
 * be NULL. For regression and forecasting, fit_blocks (when given) is used
 * instead of fit. pv[i] is the validated value of params[i] (see kl_algo_param_kind).
 */
/*
 * The per-round training record of an algorithm that fits in rounds
 * (boosting): metric per round on the training rows and, when validation
 * rows were given, on them; the best round (0-based; the last one without
 * validation). early_stopping is 1 when the parameters asked to stop early.
 * Pointers are borrowed from the model.
 */
typedef struct kl_model_rounds {
    const char *metric;
    size_t n_rounds;
    const double *train;
    const double *valid; /* NULL without validation rows */
    size_t best_round;
    int early_stopping;
    int lower_is_better; /* 1 for losses (every boosting metric keel has) */
} kl_model_rounds;

enum kl_algo_flags {
    KL_ALGO_FLAGS_ROUNDS = 1 << 0, /* fits in rounds: validation rows, rounds and keep hooks */
};

typedef struct kl_algo {
    const char *name;
    unsigned tasks; /* bit set of (1u << KL_TASK_*) the algorithm supports */
    enum kl_pipeline_defaults pipeline_defaults;
    const kl_algo_param *params;
    size_t n_params;
    int (*fit)(const kl_model_data *d, const double *pv, void **state, kl_err *err);
    int (*fit_blocks)(const kl_model_blocks *b, const double *pv, void **state, kl_err *err);
    /*
     * n rows of X (column-major, ld) into out: one value per row for
     * regression and forecast, n x K class probabilities (row-major) for
     * classification. Must not allocate per row and must be thread-safe.
     */
    int (*predict)(const void *state, const double *X, size_t n, size_t ld, double *out,
                   kl_err *err);
    int (*save)(const void *state, kl_wbuf *w);
    int (*load)(kl_rbuf *r, const double *pv, void **state, kl_err *err);
    void (*free)(void *state);
    /* Add the fitted values to obj (intercept, coefficients by feature name, ...). */
    int (*describe)(const void *state, const char *const *feature_names,
                    const char *const *class_names, struct json_t *obj);
    /* Explainer hook: see kl_model_linear_coef. */
    int (*linear_coef)(const void *state, size_t *n_outputs, size_t *n_features,
                       const double **intercept, const double **coef);
    /*
     * Forecasters: h steps past the end of the training series; x_future is h
     * rows of exogenous features (column-major, ld) or NULL; lower/upper the
     * prediction interval at level (0.95), either may be NULL.
     */
    int (*forecast)(const void *state, size_t h, const double *x_future, size_t ld, double level,
                    double *mean, double *lower, double *upper, kl_err *err);
    /* KL_ALGO_FLAGS_ROUNDS: the training record, and truncation to the first n rounds. */
    int (*rounds)(const void *state, kl_model_rounds *out);
    int (*rounds_keep)(void *state, size_t n, kl_err *err);
    unsigned flags; /* enum kl_algo_flags (last: some tables are positional) */
} kl_algo;

/* The algorithm called name, or NULL. */
const kl_algo *kl_algo_find(const char *name);
/* Registered algorithms in registry order; i < kl_algo_count(). */
size_t kl_algo_count(void);
const kl_algo *kl_algo_at(size_t i);
/*
 * Add an algorithm (ar, tree, ...) to the registry; algo must outlive the
 * process (a static). KL_EEXIST when the name is taken, KL_ERANGE when full.
 * Built-in algorithms are registered from model.c's table; this is for ones
 * outside the models module.
 */
int kl_algo_register(const kl_algo *algo, kl_err *err);

/* ---- fitting ---- */

/* A parameter as keel.yaml train.params and --param k=v give it. */
typedef struct kl_model_param {
    const char *key;
    const char *value;
} kl_model_param;

typedef struct kl_model_fit_opts {
    const char *algo;   /* registry name; required */
    enum kl_task task;  /* regression (0) by default */
    const char *target; /* required */
    const kl_model_param *params;
    size_t n_params;
    /* Feature pipeline; NULL: every other column with the algorithm's defaults. */
    const kl_pipeline_opts *pipeline;
    uint64_t seed;
    /*
     * Validation rows for algorithms that fit in rounds (KL_ALGO_FLAGS_ROUNDS;
     * ignored by the others): scored every round, early stopping on them.
     * Transformed by the fitted pipeline; rows with a missing target are left
     * out; a label that is not a training class is KL_EINVAL.
     */
    const kl_frame *valid;
    /* 1: fit every round and hold no rows out (see kl_model_rounds_keep). */
    int full_rounds;
} kl_model_fit_opts;

/*
 * Validate parameters alone: unknown keys (with a suggestion: "unknown
 * parameter 'alpah' for ridge; did you mean 'alpha'?"), values that do not
 * parse or are out of range ("parameter 'alpha' must be >= 0, not '-1'").
 * err->ctx is "param <key>". Fills pv (KL_MODEL_MAX_PARAMS values) if not NULL.
 */
int kl_model_params_check(const kl_algo *algo, const kl_model_param *params, size_t n, double *pv,
                          kl_err *err);

/*
 * Fit the pipeline on train, transform it, and fit the algorithm. Rows whose
 * target is missing are left out (a note says how many), as are the
 * pipeline's warm-up rows; any other missing value in the features is
 * KL_EINVAL naming the feature, except for native algorithms
 * (pipeline_defaults KL_PIPELINE_DEFAULTS_NATIVE), which take NaN as missing. Classification
 * classes are the target's distinct values in sorted order (categories bytewise, numbers
 * numerically, bools false < true), as scikit-learn's LabelEncoder; fewer than 2 is KL_EINVAL.
 * Errors: KL_ENOTFOUND (algorithm or target), KL_EINVAL, KL_EUNSUPPORTED (task the algorithm does
 * not do), KL_ENOMEM.
 */
int kl_model_fit(const kl_frame *train, const kl_model_fit_opts *opts, kl_model **out, kl_err *err);
void kl_model_free(kl_model *m); /* NULL does nothing */

/* ---- predicting ---- */

/*
 * Predictions for n_rows rows; arrays are malloc'd and released by
 * kl_model_pred_release. value: one per row (regression, forecast; for
 * classification the probability of class 1 when K == 2, else NULL).
 * proba: n_rows x n_classes row-major (classification only). label: argmax
 * class index (classification only; ties go to the lower index). Rows in the
 * pipeline's warm-up get NaN and label -1.
 */
typedef struct kl_model_pred {
    size_t n_rows;
    size_t n_classes;
    double *value;
    double *proba;
    int32_t *label;
} kl_model_pred;

/*
 * Predict every row of f, in blocks of KL_MODEL_BLOCK_ROWS (the pipeline
 * transforms a block into one reused buffer, the algorithm predicts it with
 * BLAS). f needs the columns the pipeline reads (kl_pipeline_input_name).
 */
#define KL_MODEL_BLOCK_ROWS 4096
int kl_model_predict(const kl_model *m, const kl_frame *f, kl_model_pred *out, kl_err *err);
void kl_model_pred_release(kl_model_pred *p);

/* Forecast h steps ahead (forecasters only; KL_EUNSUPPORTED otherwise). */
int kl_model_forecast(const kl_model *m, size_t h, const kl_frame *future, double level,
                      double *mean, double *lower, double *upper, kl_err *err);

/* ---- boosting rounds ---- */

/* The per-round record (KL_EUNSUPPORTED for algorithms without rounds). */
int kl_model_rounds_get(const kl_model *m, kl_model_rounds *out, kl_err *err);
/*
 * Keep the first n rounds (1 <= n <= the rounds fitted): since round r never
 * depends on later rounds, this equals a fit with n rounds. KL_EUNSUPPORTED,
 * KL_EINVAL for n out of range.
 */
int kl_model_rounds_keep(kl_model *m, size_t n, kl_err *err);

/* ---- accessors ---- */

const kl_algo *kl_model_algo(const kl_model *m);
enum kl_task kl_model_task(const kl_model *m);
const char *kl_model_target(const kl_model *m);
const kl_pipeline *kl_model_pipeline(const kl_model *m);
size_t kl_model_class_count(const kl_model *m); /* 0 unless classification */
const char *kl_model_class_name(const kl_model *m, size_t k);
/* Parameter value as canonical text (defaults filled); NULL for an unknown key. */
const char *kl_model_param_value(const kl_model *m, const char *key);
const uint8_t *kl_model_schema_hash(const kl_model *m); /* 32 bytes */
/* Notes from fitting (rows left out, columns dropped by the pipeline). */
size_t kl_model_note_count(const kl_model *m);
const char *kl_model_note(const kl_model *m, size_t i);

/*
 * Extra key/value text saved with the model (a decision threshold chosen by
 * `keel evaluate`, ...). Setting a key again replaces it. KL_ENOMEM.
 */
int kl_model_set_meta(kl_model *m, const char *key, const char *value, kl_err *err);
const char *kl_model_meta(const kl_model *m, const char *key); /* NULL when unset */

/*
 * Linear explainer hook: intercept[k] and coef[k * p] (output-major) in the
 * pipeline's output space (kl_pipeline_output_name). KL_EUNSUPPORTED for
 * models that are not linear. Pointers valid until kl_model_free.
 */
int kl_model_linear_coef(const kl_model *m, size_t *n_outputs, size_t *n_features,
                         const double **intercept, const double **coef, kl_err *err);

/*
 * A new jansson object: algorithm, task, target, classes, params, meta,
 * schema_hash (hex), pipeline (kl_pipeline_describe), and the algorithm's
 * fitted values (linear: "intercept" and "coefficients" {feature: value}, per
 * class for multinomial). NULL when out of memory.
 */
struct json_t *kl_model_describe(const kl_model *m);

/* ---- the model file ---- */

/* Serialise into a new malloc'd buffer (layout at the top of this file). */
int kl_model_save_buffer(const kl_model *m, uint8_t **buf, size_t *len, kl_err *err);
/* Write to path via a temporary file and rename. KL_EIO names the path. */
int kl_model_save_file(const kl_model *m, const char *path, kl_err *err);
/*
 * Load len bytes (borrowed). KL_ECORRUPT: bad magic, truncated, checksum
 * mismatch, inconsistent fields; KL_EUNSUPPORTED: a newer format version or an
 * algorithm this build does not have; KL_ENOMEM.
 */
int kl_model_load_buffer(const uint8_t *buf, size_t len, kl_model **out, kl_err *err);
int kl_model_load_file(const char *path, kl_model **out, kl_err *err);

#endif
