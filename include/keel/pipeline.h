/*
 * kl_pipeline: the feature pipeline, from a kl_frame to a dense matrix of
 * doubles that a model fits on. It is fitted once on training data, saved
 * inside the model file, and applied unchanged at prediction and serving.
 *
 * Ownership: kl_pipeline_fit and kl_pipeline_load return a new pipeline that
 * the caller frees with kl_pipeline_free; it copies everything it keeps
 * (names, categories, fitted statistics), so it outlives the frame and the
 * options it was built from. Getters return const pointers valid until
 * kl_pipeline_free. A fitted pipeline is read-only: several threads may
 * transform with it at once.
 *
 * Output layout: column-major (Fortran order), so that column j of an n-row
 * block starts at out + j * ld. LAPACK's QR, BLAS's dgemv/dgemm and
 * coordinate descent all walk columns, so this is the layout they want
 * without a transpose.
 *
 * What each input column becomes. Columns with no transform in opts get the
 * defaults; a column named in a transform gets exactly the transforms listed
 * for it, in their order (so `{column: x, op: impute}` alone means "impute,
 * do not standardize"):
 *
 *   numeric      defaults: impute median, then standardize (KL_PIPELINE_DEFAULTS_LINEAR)
 *                or impute median only (KL_PIPELINE_DEFAULTS_PLAIN) or as is, NaN
 *                kept (KL_PIPELINE_DEFAULTS_NATIVE)
 *   bool         0/1, missing imputed with the most frequent value (native: NaN)
 *   categorical  one-hot over the training categories in sorted (bytewise)
 *                order; a category unseen in training, or a missing value,
 *                gives all zeros (scikit-learn's handle_unknown='ignore');
 *                native: one output, the category's index in that order, NaN
 *                for an unseen or missing one
 *   text         dropped, with a note
 *   time         dropped, with a note (use op date_parts)
 *   target, id_column, excluded and protected columns: never features.
 *
 * Transform ops (keel.yaml `features.transforms`, parameters as key: value):
 *   impute         strategy: mean | median (default) | most_frequent | constant;
 *                  fill_value (constant; default 0); add_indicator: true adds a
 *                  0/1 column "<name>__missing" per output of the column
 *                  (scikit-learn's features='all': always added, not only for
 *                  columns that had missing values in training)
 *   standardize    (x - mean) / std, population std (ddof 0) as scikit-learn's
 *                  StandardScaler; a constant column gets scale 1
 *   minmax         (x - min) / (max - min) into [0, 1]; a constant column gets scale 1
 *   log1p          log(1 + x); x <= -1 is an error at fit and NaN at transform
 *   clip           min, max (either may be omitted): values are clamped
 *   onehot         handle_unknown: ignore (default) | error
 *   frequency      share of training rows holding the category; unseen -> 0
 *   target_encode  smooth: auto (default, scikit-learn's TargetEncoder
 *                  empirical Bayes) or a number m >= 0 (m-estimate:
 *                  (sum_y + m * mean_y) / (count + m)); folds (default 5):
 *                  training rows are encoded out-of-fold (shuffled k-fold
 *                  from the seed), new rows with the statistics of all
 *                  training rows; an unseen category gets the target mean.
 *                  The target must be numeric, bool or a two-class category.
 *   date_parts     parts: a comma list of year, month, day, weekday (Monday 0),
 *                  hour (default all five), in UTC
 *   lag            lags: N (lags 1..N) or a comma list "1,7,12": x[i-k]
 *   diff           periods: k (default 1): x[i] - x[i-k]
 *   rolling        window: w (required), stats: mean, std or "mean,std"
 *                  (default mean): over the w values before row i (x[i-w..i-1]),
 *                  std with ddof 1 as pandas
 * Lag, diff and rolling treat rows as time-ordered: training sorts the
 * frame by data.time_column first (kl_pipeline_time_sort). On the
 * target column they only ever look at past values: diff is then
 * y[i-1] - y[i-1-k]. Rows without enough history get NaN; their count is
 * kl_pipeline_warmup(). Numeric ops (clip, log1p, impute, standardize,
 * minmax) may follow an encoding op on the same column and apply to each of
 * its outputs.
 */
#ifndef KEEL_PIPELINE_H
#define KEEL_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "keel/err.h"
#include "keel/frame.h"
#include "keel/spec.h"

typedef struct kl_pipeline kl_pipeline;

enum kl_pipeline_defaults {
    KL_PIPELINE_DEFAULTS_LINEAR = 0, /* numeric: impute median + standardize */
    KL_PIPELINE_DEFAULTS_PLAIN = 1,  /* numeric: impute median only (trees, raw coefficients) */
    /*
     * Native (gradient boosting): numeric and bool columns pass through with
     * NaN for missing (no imputation, no scaling); a categorical column becomes
     * one output holding its category's index in the sorted training
     * categories, NaN for a missing or unseen one (kl_pipeline_output_categories).
     */
    KL_PIPELINE_DEFAULTS_NATIVE = 2,
};

/* Caller-filled; {0} is valid (every column but the target, linear defaults). */
typedef struct kl_pipeline_opts {
    const char *target; /* excluded from features; needed by target_encode and time ops */
    enum kl_pipeline_defaults defaults;
    const char *const *include; /* n_include == 0: every column */
    size_t n_include;
    const char *const *exclude;
    size_t n_exclude;
    const char *const *protected_columns; /* refused when named, left out otherwise */
    size_t n_protected;
    const char *id_column; /* left out; may be NULL */
    const kl_spec_transform *transforms;
    size_t n_transforms;
    uint64_t seed;       /* target encoding folds */
    const char *time_column; /* data.time_column: the order lag, diff and rolling read
                                rows in (kl_pipeline_time_sort); may be NULL */
    int only_transforms; /* 1: no default features, only columns named in transforms
                            (an AR model with lags of its target and nothing else) */
} kl_pipeline_opts;

/*
 * Fill o (zeroed first) from a spec: target, include/exclude, protected
 * columns, id column, time column, transforms and seed. Pointers are
 * borrowed from s.
 */
void kl_pipeline_opts_from_spec(const kl_spec *s, kl_pipeline_opts *o);

/*
 * Rows in time order for lag, diff and rolling: when opts has one of those
 * transforms and a time_column, *out is a new frame of f's rows stably
 * sorted by it (missing times last), or NULL when f is already in that
 * order; with no time op or no time column *out is NULL (use f as it is).
 * KL_ENOTFOUND: no such column; KL_EINVAL: the column is not a time or
 * numeric column (ctx "data.time_column"); KL_ENOMEM.
 */
int kl_pipeline_time_sort(const kl_pipeline_opts *opts, const kl_frame *f, kl_frame **out,
                          kl_err *err);

/*
 * Fit on the training frame f. Errors: KL_ENOTFOUND (a column named in
 * include or a transform is not in f), KL_EINVAL (a protected column named
 * in include or a transform: "column 'sex' is protected and cannot be a
 * feature"; an op that does not fit the column's kind; a bad parameter),
 * KL_ENOMEM. err->ctx names the transform ("features.transforms[2]").
 */
int kl_pipeline_fit(const kl_pipeline_opts *opts, const kl_frame *f, kl_pipeline **out,
                    kl_err *err);
void kl_pipeline_free(kl_pipeline *p); /* NULL does nothing */

size_t kl_pipeline_n_outputs(const kl_pipeline *p);
const char *kl_pipeline_output_name(const kl_pipeline *p, size_t j); /* j < n_outputs */
/*
 * Output j is a native category code (KL_PIPELINE_DEFAULTS_NATIVE): the number
 * of training categories (codes 0..n-1; at least 1), else 0.
 */
size_t kl_pipeline_output_categories(const kl_pipeline *p, size_t j);
/* Rows at the start of a frame whose outputs are NaN for lack of history (0 without time ops). */
size_t kl_pipeline_warmup(const kl_pipeline *p);
/* Notes made while fitting ("column 'comment' is text: left out"); i < note count. */
size_t kl_pipeline_note_count(const kl_pipeline *p);
const char *kl_pipeline_note(const kl_pipeline *p, size_t i);
/* Names of the input columns the pipeline reads, in order (the target when a time op uses it). */
size_t kl_pipeline_n_inputs(const kl_pipeline *p);
const char *kl_pipeline_input_name(const kl_pipeline *p, size_t i);

/*
 * Transform rows [row0, row0 + n) of f into out, column-major with leading
 * dimension ld >= n: output j of row row0 + i is out[j * ld + i]. Lag, diff
 * and rolling look back before row0 inside f. Columns are found by name (a
 * bool column may arrive as numbers and a numeric one as bools: type
 * inference can differ between a training file and a small scoring file);
 * KL_ENOTFOUND names a missing one, KL_EINVAL a column of another kind or
 * (handle_unknown: error) an unseen category. Allocates per call (a category
 * code map), never per row; blocks of 65536 rows or more are transformed one
 * group per task on kl_threads() threads (each group writes only its own
 * columns, so the result does not depend on the thread count).
 */
int kl_pipeline_transform(const kl_pipeline *p, const kl_frame *f, size_t row0, size_t n,
                          double *out, size_t ld, kl_err *err);

/*
 * The training matrix: like kl_pipeline_transform, except that
 * target-encoded columns use out-of-fold statistics (each row encoded from
 * the folds it is not in). f must be the frame the pipeline was fitted on.
 */
int kl_pipeline_transform_train(const kl_pipeline *p, const kl_frame *f, size_t row0, size_t n,
                                double *out, size_t ld, kl_err *err);

/*
 * Serialise into a new malloc'd buffer (*buf, *len), a pure function of the
 * fitted pipeline; the byte layout is documented in docs/FORMATS.md ("Model
 * file", pipeline section). kl_pipeline_load reads it back, checking every
 * length and value: KL_ECORRUPT for bytes that are not a valid pipeline.
 */
int kl_pipeline_save(const kl_pipeline *p, uint8_t **buf, size_t *len, kl_err *err);
int kl_pipeline_load(const uint8_t *buf, size_t len, kl_pipeline **out, kl_err *err);

/*
 * A new jansson object describing the pipeline: inputs, each step with its
 * fitted values, output names, warm-up and notes; NULL when out of memory.
 * The caller owns the reference (json_decref).
 */
struct json_t;
struct json_t *kl_pipeline_describe(const kl_pipeline *p);

/*
 * ---- little-endian byte streams for saved formats ----
 * The model file and the pipeline inside it are written with kl_wbuf and
 * read with kl_rbuf. A writer grows a malloc'd buffer; a reader checks every
 * read against the end. Both are sticky: after the first failure (out of
 * memory, or a read past the end or of a bad value) every later call does
 * nothing and returns zeros, so a loader checks `ok` once at the end of a
 * section instead of after every field. Doubles travel as their IEEE-754
 * bit patterns, so a value reads back bit-identical.
 */
typedef struct kl_wbuf {
    uint8_t *data;
    size_t len, cap;
    int ok; /* 1 until an allocation fails */
} kl_wbuf;

void kl_wbuf_init(kl_wbuf *w);
void kl_wbuf_release(kl_wbuf *w); /* frees data */
void kl_wbuf_bytes(kl_wbuf *w, const void *p, size_t n);
void kl_wbuf_u8(kl_wbuf *w, uint8_t v);
void kl_wbuf_u32(kl_wbuf *w, uint32_t v);
void kl_wbuf_u64(kl_wbuf *w, uint64_t v);
void kl_wbuf_f64(kl_wbuf *w, double v);
void kl_wbuf_f64s(kl_wbuf *w, const double *v, size_t n);
void kl_wbuf_str(kl_wbuf *w, const char *s); /* u32 length, then the bytes (no NUL) */

typedef struct kl_rbuf {
    const uint8_t *data;
    size_t len, pos;
    int ok; /* 1 until a read fails */
} kl_rbuf;

void kl_rbuf_init(kl_rbuf *r, const uint8_t *data, size_t len);
const uint8_t *kl_rbuf_bytes(kl_rbuf *r, size_t n); /* NULL past the end */
uint8_t kl_rbuf_u8(kl_rbuf *r);
uint32_t kl_rbuf_u32(kl_rbuf *r);
uint64_t kl_rbuf_u64(kl_rbuf *r);
double kl_rbuf_f64(kl_rbuf *r);
/* n doubles into v; fails (v untouched) when fewer than 8n bytes remain. */
void kl_rbuf_f64s(kl_rbuf *r, double *v, size_t n);
/*
 * A string as a new malloc'd NUL-terminated copy; NULL (and ok = 0) past the
 * end, when longer than max bytes, when it holds a NUL, or out of memory.
 */
char *kl_rbuf_str(kl_rbuf *r, size_t max);
/* u32 count that must be <= max and fit in the bytes left at min_item bytes each. */
uint32_t kl_rbuf_count(kl_rbuf *r, uint32_t max, size_t min_item);
/* 1 when every read succeeded and all bytes were consumed. */
int kl_rbuf_done(const kl_rbuf *r);

#endif
