/*
 * kl_frame: keel's columnar table.
 *
 * Ownership: a kl_frame owns its columns, names and dictionaries; what
 * kl_frame_new and every function returning `kl_frame **out` create belongs to
 * the caller, who frees it with kl_frame_free. Getters return const pointers
 * valid until the frame changes or is freed. Frames are never shared between
 * threads while one of them writes.
 *
 * Column kinds and their storage (one contiguous array per column):
 *   NUMERIC      double[n_rows], NaN is missing
 *   CATEGORICAL  int32_t codes[n_rows] into a string dictionary; KL_CAT_MISSING (-1) is missing
 *   BOOL         uint8_t[n_rows]: 0, 1, or KL_BOOL_MISSING (255)
 *   TEXT         const char *[n_rows]; NULL is missing
 *   TIME         int64_t[n_rows] microseconds since 1970-01-01T00:00:00Z; KL_TIME_MISSING
 *
 * Each column also has a logical type (kl_type): how it was read (an int and
 * a float column are both NUMERIC; a date and a datetime are both TIME) and,
 * for TIME, the text format it was parsed from, so it can be written back.
 *
 * If you add a column kind: update kl_frame_col_hash, the CSV reader and
 * writer, kl_frame_take/append/sort, and docs/FORMATS.md.
 */
#ifndef KEEL_FRAME_H
#define KEEL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "keel/err.h"

enum kl_col_kind {
    KL_COL_KIND_NUMERIC = 0,
    KL_COL_KIND_CATEGORICAL = 1,
    KL_COL_KIND_BOOL = 2,
    KL_COL_KIND_TEXT = 3,
    KL_COL_KIND_TIME = 4,
};

/* Logical types (what type inference decides); each maps to one kind. */
enum kl_type {
    KL_TYPE_INT = 0,         /* NUMERIC; every value an integer in [-2^53, 2^53] */
    KL_TYPE_FLOAT = 1,       /* NUMERIC */
    KL_TYPE_BOOL = 2,        /* BOOL */
    KL_TYPE_DATE = 3,        /* TIME, whole days */
    KL_TYPE_DATETIME = 4,    /* TIME */
    KL_TYPE_CATEGORICAL = 5, /* CATEGORICAL */
    KL_TYPE_TEXT = 6,        /* TEXT */
};

#define KL_CAT_MISSING (-1)
#define KL_BOOL_MISSING 255u
#define KL_TIME_MISSING INT64_MIN

typedef struct kl_frame kl_frame;

/* Names: "numeric", "categorical", ... and "int", "float", "bool", "date", ... */
const char *kl_col_kind_name(enum kl_col_kind kind);
const char *kl_type_name(enum kl_type type);
/* Parse a type name as written in keel.yaml; returns -1 when unknown. */
int kl_type_parse(const char *name);
enum kl_col_kind kl_type_kind(enum kl_type type);

/* ---- construction ---- */

/*
 * An empty frame with n_rows rows and no columns; NULL when out of memory.
 * The row count is fixed here: every column added later holds n_rows values.
 */
kl_frame *kl_frame_new(size_t n_rows);
void kl_frame_free(kl_frame *f); /* NULL does nothing */
/* A deep copy (inference version included); NULL when out of memory. */
kl_frame *kl_frame_dup(const kl_frame *f);

/*
 * Append a column, copying the values (n_rows of them; v may be NULL when
 * n_rows is 0). Names must be unique and non-empty ("duplicate column name
 * 'age'"). type must map to the function's kind (INT or FLOAT for numeric,
 * DATE or DATETIME for time). Values are checked against their type: INT
 * values are integers in [-2^53, 2^53] or NaN, DATE values whole days, bools
 * 0, 1 or KL_BOOL_MISSING, codes in [KL_CAT_MISSING, n_dict), dictionary
 * entries non-NULL and distinct. Return 0, KL_EINVAL, KL_ERANGE (a code
 * outside the dictionary, too many categories) or KL_ENOMEM; on failure the
 * frame is unchanged.
 */
int kl_frame_add_numeric(kl_frame *f, const char *name, enum kl_type type, const double *v,
                         kl_err *err);
int kl_frame_add_bool(kl_frame *f, const char *name, const uint8_t *v, kl_err *err);
/* values are strings; NULL is missing. Dictionary order is first appearance. */
int kl_frame_add_categorical(kl_frame *f, const char *name, const char *const *values,
                             kl_err *err);
/* codes index dict[0..n_dict); KL_CAT_MISSING is missing. The dictionary is copied. */
int kl_frame_add_categorical_codes(kl_frame *f, const char *name, const int32_t *codes,
                                   const char *const *dict, size_t n_dict, kl_err *err);
int kl_frame_add_text(kl_frame *f, const char *name, const char *const *values, kl_err *err);
/* format: the strftime-like format the values were read from (copied), or NULL. */
int kl_frame_add_time(kl_frame *f, const char *name, enum kl_type type, const int64_t *v,
                      const char *format, kl_err *err);

/* ---- shape and columns ---- */

size_t kl_frame_row_count(const kl_frame *f);
size_t kl_frame_col_count(const kl_frame *f);
/*
 * Index of the column called name, or -1. The getters below take a column
 * index j < kl_frame_col_count(f) (a larger one is a bug and aborts).
 */
long kl_frame_col_index(const kl_frame *f, const char *name);
const char *kl_frame_col_name(const kl_frame *f, size_t j);
enum kl_col_kind kl_frame_col_kind(const kl_frame *f, size_t j);
enum kl_type kl_frame_col_type(const kl_frame *f, size_t j);
/* Number of missing values in column j (counted once, then cached; safe from several threads). */
size_t kl_frame_col_missing(const kl_frame *f, size_t j);

/*
 * Typed views, n_rows long (never NULL for a column of that kind, even with 0
 * rows); NULL when column j is not of that kind. kl_frame_col_dict stores the
 * dictionary size in *n_dict (0 for another kind; n_dict may be NULL).
 */
const double *kl_frame_col_f64(const kl_frame *f, size_t j);
const int32_t *kl_frame_col_codes(const kl_frame *f, size_t j);
const char *const *kl_frame_col_dict(const kl_frame *f, size_t j, size_t *n_dict);
const uint8_t *kl_frame_col_bool(const kl_frame *f, size_t j);
const char *const *kl_frame_col_text(const kl_frame *f, size_t j);
const int64_t *kl_frame_col_time(const kl_frame *f, size_t j);
const char *kl_frame_col_time_format(const kl_frame *f, size_t j); /* NULL when none */

/*
 * Render cell (i, j) as text into buf (size n, always NUL-terminated when
 * n > 0; longer text is cut): FLOAT numbers in the shortest of %.15g, %.16g,
 * %.17g that reads back to the same double, INT numbers with all their digits
 * ("1000000000000000", never "1e+15"), infinities as inf and -inf, categories
 * and text as they are, bools as true/false, times in their column's format,
 * or, when the column has none (or the value cannot be written in it),
 * ISO 8601 in UTC: "2020-03-04" for DATE, "2020-03-04T05:06:07" for DATETIME,
 * with a fraction of a second (".5") only when there is one. A missing cell
 * gives "" and returns 0; a present one returns 1.
 */
int kl_frame_cell_str(const kl_frame *f, size_t i, size_t j, char *buf, size_t n);

/*
 * ---- operations ----
 * Each returns a new frame in *out (NULL on failure) that copies what it
 * needs, so it outlives f; f is not changed. Results keep f's inference
 * version.
 */

/*
 * Columns by name, in the order given. KL_ENOTFOUND names the missing column
 * ("no column named 'agee'"); a name given twice is KL_EINVAL.
 */
int kl_frame_select(const kl_frame *f, const char *const *names, size_t n, kl_frame **out,
                    kl_err *err);
/* All columns except those named, in their order; an unknown name is KL_ENOTFOUND. */
int kl_frame_drop(const kl_frame *f, const char *const *names, size_t n, kl_frame **out,
                  kl_err *err);
/*
 * Rows idx[0..n) in that order (repeats allowed; idx may be NULL when n is 0);
 * an index out of range is KL_ERANGE.
 */
int kl_frame_take(const kl_frame *f, const size_t *idx, size_t n, kl_frame **out, kl_err *err);
/* Rows whose mask byte (n_rows of them) is non-zero, in order. */
int kl_frame_filter(const kl_frame *f, const uint8_t *mask, kl_frame **out, kl_err *err);

typedef struct kl_sort_key {
    const char *column;
    int descending; /* 0 ascending */
} kl_sort_key;
/*
 * Stable sort by the keys, first key first (rows equal on every key keep
 * their order). Missing values sort last in both directions; categories sort
 * by their string (bytewise, not by code), bools false < true, numbers and
 * times numerically (-0.0 equals 0.0). An unknown column is KL_ENOTFOUND.
 */
int kl_frame_sort(const kl_frame *f, const kl_sort_key *keys, size_t n_keys, kl_frame **out,
                  kl_err *err);
/*
 * Rows of a followed by rows of b. Both need the same column names, order
 * and kinds (KL_EINVAL otherwise, naming the first difference); categorical
 * dictionaries are merged (a's order, then b's new categories). Types widen
 * when they differ: INT with FLOAT is FLOAT, DATE with DATETIME is DATETIME.
 * A time column keeps a's format when both columns have the same type and
 * format, and has none otherwise. The inference version is a's when both
 * agree, else 0.
 */
int kl_frame_append(const kl_frame *a, const kl_frame *b, kl_frame **out, kl_err *err);

/*
 * Version of the type-inference rules the frame's types were decided with
 * (KL_CSV_INFER_VERSION for frames read from CSV; 0 when types were given,
 * not inferred). Part of the schema and of its hash.
 */
unsigned kl_frame_infer_version(const kl_frame *f);
void kl_frame_set_infer_version(kl_frame *f, unsigned version);

/* ---- content hashes ---- */

/*
 * SHA-256 of a column's content: its name, logical type, time format and
 * values, with categories hashed by their strings (so two frames holding the
 * same values hash the same whatever their dictionary order or unused
 * entries), all NaNs equal (-0.0 and 0.0 differ), and no dependence on how
 * the frame was built, chunked or threaded. The byte streams hashed are a
 * stored format, documented field by field at the top of lib/data/frame_hash.c.
 * Each returns 0, or KL_ENOMEM (out is then all zero) when the hashing
 * context cannot be allocated.
 */
int kl_frame_col_hash(const kl_frame *f, size_t j, uint8_t out[32]);
/* SHA-256 over the row count and every column hash, in column order. */
int kl_frame_hash(const kl_frame *f, uint8_t out[32]);
/* SHA-256 of the schema only: names, logical types, time formats and the inference version. */
int kl_frame_schema_hash(const kl_frame *f, uint8_t out[32]);

#endif
