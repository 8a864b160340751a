/*
 * kl_frame storage: construction, adoption of buffers, getters and cell
 * rendering. The operations (take, sort, append, ...) live in frame_ops.c and
 * the content hashes in frame_hash.c; both are written against the public
 * getters and the kl__frame_adopt_* functions, so this file is the only one
 * that knows the layout below.
 *
 * Invariants:
 *   - every column holds exactly f->n_rows values, fixed by kl_frame_new;
 *   - names are non-empty, unique, and owned by the column;
 *   - a column's data pointer is never NULL (a 0-row column holds a 1-byte
 *     block), so a NULL typed view always means "not of that kind";
 *   - the strings of a categorical dictionary or a text column live in one
 *     malloc'd pool owned by the column (NULL when there are no strings);
 *     several text rows may point at the same string; the dictionary has no
 *     duplicate entries;
 *   - categorical codes are in [-1, n_dict), bools in {0, 1, 255}.
 *
 * Why one pool per column rather than one malloc per string: the CSV reader
 * already holds each column's strings in one block and hands it over without
 * a copy, freeing a column costs the same whatever its size, and copies (take, append) size the
 * new pool exactly from the lengths, which is one pass more but no
 * fragmentation and no per-string allocation.
 *
 * Missing counts are computed on first request and cached in a relaxed
 * atomic: readers on several threads may race to fill it, but they all store
 * the same number.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/frame.h"
#include "data/frame_internal.h"
#include "data/parse.h"
#include "core/common.h"

#define MISSING_UNKNOWN SIZE_MAX

struct col {
    char *name;
    enum kl_col_kind kind;
    enum kl_type type;
    void *data;  /* double*, int32_t*, uint8_t*, char ** or int64_t*, by kind */
    char **dict; /* CATEGORICAL: n_dict pointers into pool */
    size_t n_dict;
    char *pool;   /* CATEGORICAL and TEXT: the strings; may be NULL */
    char *format; /* TIME: the format it was read from, or NULL */
    _Atomic size_t missing;
};

struct kl_frame {
    size_t n_rows, n_cols, cap;
    struct col *cols;
    unsigned infer_version;
};

/* ---- names of kinds and types ---- */

const char *kl_col_kind_name(enum kl_col_kind kind)
{
    switch (kind) {
    case KL_COL_KIND_NUMERIC:
        return "numeric";
    case KL_COL_KIND_CATEGORICAL:
        return "categorical";
    case KL_COL_KIND_BOOL:
        return "bool";
    case KL_COL_KIND_TEXT:
        return "text";
    case KL_COL_KIND_TIME:
        return "time";
    }
    return "unknown";
}

static const char *const type_names[] = {
    [KL_TYPE_INT] = "int",   [KL_TYPE_FLOAT] = "float",       [KL_TYPE_BOOL] = "bool",
    [KL_TYPE_DATE] = "date", [KL_TYPE_DATETIME] = "datetime", [KL_TYPE_CATEGORICAL] = "categorical",
    [KL_TYPE_TEXT] = "text",
};

const char *kl_type_name(enum kl_type type)
{
    if ((unsigned)type < KL_ARRAY_LEN(type_names))
        return type_names[type];
    return "unknown";
}

int kl_type_parse(const char *name)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < KL_ARRAY_LEN(type_names); i++)
        if (strcmp(name, type_names[i]) == 0)
            return (int)i;
    return -1;
}

enum kl_col_kind kl_type_kind(enum kl_type type)
{
    switch (type) {
    case KL_TYPE_INT:
    case KL_TYPE_FLOAT:
        return KL_COL_KIND_NUMERIC;
    case KL_TYPE_BOOL:
        return KL_COL_KIND_BOOL;
    case KL_TYPE_DATE:
    case KL_TYPE_DATETIME:
        return KL_COL_KIND_TIME;
    case KL_TYPE_CATEGORICAL:
        return KL_COL_KIND_CATEGORICAL;
    case KL_TYPE_TEXT:
        return KL_COL_KIND_TEXT;
    }
    KL_ASSERT(!"unknown kl_type");
    return KL_COL_KIND_NUMERIC;
}

/* ---- string sets (dictionary building and merging) ---- */

static uint64_t str_hash(const char *s, size_t len)
{
    /* FNV-1a, 64 bit: short keys, no need for anything stronger. */
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

int kl__strset_init(kl__strset *s, size_t expected)
{
    size_t cap = 16;
    while (cap < expected * 2 && cap < (SIZE_MAX / 4) / sizeof(int32_t))
        cap *= 2;
    s->slot = malloc(cap * sizeof *s->slot);
    s->hash = malloc(cap * sizeof *s->hash);
    if (!s->slot || !s->hash) {
        free(s->slot);
        free(s->hash);
        s->slot = NULL;
        s->hash = NULL;
        return KL_ENOMEM;
    }
    memset(s->slot, 0xff, cap * sizeof *s->slot);
    s->mask = cap - 1;
    s->count = 0;
    return 0;
}

void kl__strset_release(kl__strset *s)
{
    free(s->slot);
    free(s->hash);
    s->slot = NULL;
    s->hash = NULL;
}

static int strset_grow(kl__strset *s)
{
    size_t cap = (s->mask + 1) * 2;
    if (cap > (size_t)INT32_MAX)
        return KL_ENOMEM;
    int32_t *slot = malloc(cap * sizeof *slot);
    uint64_t *hash = malloc(cap * sizeof *hash);
    if (!slot || !hash) {
        free(slot);
        free(hash);
        return KL_ENOMEM;
    }
    memset(slot, 0xff, cap * sizeof *slot);
    for (size_t i = 0; i <= s->mask; i++) {
        if (s->slot[i] < 0)
            continue;
        size_t k = (size_t)s->hash[i] & (cap - 1);
        while (slot[k] >= 0)
            k = (k + 1) & (cap - 1);
        slot[k] = s->slot[i];
        hash[k] = s->hash[i];
    }
    free(s->slot);
    free(s->hash);
    s->slot = slot;
    s->hash = hash;
    s->mask = cap - 1;
    return 0;
}

int32_t kl__strset_find_or_add(kl__strset *s, const char *const *keys, const char *key, int32_t idx)
{
    size_t len = strlen(key);
    uint64_t h = str_hash(key, len);
    size_t k = (size_t)h & s->mask;
    for (; s->slot[k] >= 0; k = (k + 1) & s->mask) {
        if (s->hash[k] == h && strcmp(keys[s->slot[k]], key) == 0)
            return s->slot[k];
    }
    if (idx < 0)
        return -1;
    s->slot[k] = idx;
    s->hash[k] = h;
    s->count++;
    if (s->count * 2 > s->mask + 1 && strset_grow(s) < 0)
        return -2;
    return -1;
}

/* ---- allocation helpers ---- */

/* malloc of n elements of size sz, never NULL for n == 0; NULL on overflow or OOM. */
static void *alloc_array(size_t n, size_t sz)
{
    if (n == 0)
        return malloc(1);
    if (n > SIZE_MAX / sz)
        return NULL;
    return malloc(n * sz);
}

static char *str_dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

int kl__strings_copy(const char *const *src, size_t n, char **out, char **pool)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        if (src[i])
            total += strlen(src[i]) + 1;
    *pool = NULL;
    if (total == 0) {
        for (size_t i = 0; i < n; i++)
            out[i] = NULL;
        return 0;
    }
    char *p = malloc(total);
    if (!p)
        return KL_ENOMEM;
    *pool = p;
    for (size_t i = 0; i < n; i++) {
        if (!src[i]) {
            out[i] = NULL;
            continue;
        }
        size_t len = strlen(src[i]) + 1;
        memcpy(p, src[i], len);
        out[i] = p;
        p += len;
    }
    return 0;
}

static void col_release(struct col *c)
{
    free(c->name);
    free(c->data);
    free(c->dict);
    free(c->pool);
    free(c->format);
}

/* ---- construction ---- */

kl_frame *kl_frame_new(size_t n_rows)
{
    kl_frame *f = calloc(1, sizeof *f);
    if (f)
        f->n_rows = n_rows;
    return f;
}

void kl_frame_free(kl_frame *f)
{
    if (!f)
        return;
    for (size_t j = 0; j < f->n_cols; j++)
        col_release(&f->cols[j]);
    free(f->cols);
    free(f);
}

static int check_name(const kl_frame *f, const char *name, kl_err *err)
{
    if (!name || !name[0])
        return kl_err_set(err, KL_EINVAL, "column name is empty");
    if (kl_frame_col_index(f, name) >= 0)
        return kl_err_set(err, KL_EINVAL, "duplicate column name '%s'", name);
    return 0;
}

static int check_type(const char *name, enum kl_type type, enum kl_col_kind kind, kl_err *err)
{
    if ((unsigned)type >= KL_ARRAY_LEN(type_names) || kl_type_kind(type) != kind)
        return kl_err_set(err, KL_EINVAL, "type %d is not a %s type for column '%s'", (int)type,
                          kl_col_kind_name(kind), name ? name : "");
    return 0;
}

/*
 * Append a column whose buffers are already owned (and checked). Takes
 * ownership of data, dict, pool and format, and frees them on failure.
 */
static int push_col(kl_frame *f, const char *name, enum kl_col_kind kind, enum kl_type type,
                    void *data, char **dict, size_t n_dict, char *pool, char *format, kl_err *err)
{
    struct col c = {.kind = kind,
                    .type = type,
                    .data = data,
                    .dict = dict,
                    .n_dict = n_dict,
                    .pool = pool,
                    .format = format};
    atomic_init(&c.missing, MISSING_UNKNOWN);
    c.name = str_dup(name);
    if (!c.name)
        goto nomem;
    if (f->n_cols == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        struct col *cols = realloc(f->cols, cap * sizeof *cols);
        if (!cols)
            goto nomem;
        f->cols = cols;
        f->cap = cap;
    }
    /* struct col holds an atomic: copy it field by field, not by assignment of the whole. */
    struct col *d = &f->cols[f->n_cols];
    d->name = c.name;
    d->kind = c.kind;
    d->type = c.type;
    d->data = c.data;
    d->dict = c.dict;
    d->n_dict = c.n_dict;
    d->pool = c.pool;
    d->format = c.format;
    atomic_init(&d->missing, MISSING_UNKNOWN);
    f->n_cols++;
    return 0;
nomem:
    col_release(&c);
    return kl_err_set(err, KL_ENOMEM, "out of memory adding column '%s'", name);
}

/* Check name and type before anything is allocated; frees nothing. */
static int precheck(const kl_frame *f, const char *name, enum kl_type type, enum kl_col_kind kind,
                    kl_err *err)
{
    int rc = check_name(f, name, err);
    if (rc == 0)
        rc = check_type(name, type, kind, err);
    return rc;
}

static int check_dict_unique(const char *name, char *const *dict, size_t n_dict, kl_err *err)
{
    if (n_dict > (size_t)INT32_MAX)
        return kl_err_set(err, KL_ERANGE, "too many categories in column '%s'", name);
    kl__strset set;
    if (kl__strset_init(&set, n_dict) < 0)
        return kl_err_set(err, KL_ENOMEM, "out of memory adding column '%s'", name);
    int rc = 0;
    for (size_t k = 0; k < n_dict && rc == 0; k++) {
        if (!dict[k]) {
            rc = kl_err_set(err, KL_EINVAL, "category %zu of column '%s' is NULL", k, name);
            break;
        }
        int32_t hit = kl__strset_find_or_add(&set, (const char *const *)dict, dict[k], (int32_t)k);
        if (hit == -2)
            rc = kl_err_set(err, KL_ENOMEM, "out of memory adding column '%s'", name);
        else if (hit >= 0)
            rc =
                kl_err_set(err, KL_EINVAL, "duplicate category '%s' in column '%s'", dict[k], name);
    }
    kl__strset_release(&set);
    return rc;
}

int kl__frame_adopt_numeric(kl_frame *f, const char *name, enum kl_type type, double *v,
                            kl_err *err)
{
    int rc = precheck(f, name, type, KL_COL_KIND_NUMERIC, err);
    if (rc == 0 && !v && f->n_rows > 0)
        rc = kl_err_set(err, KL_EINVAL, "no values for column '%s'", name);
    if (rc == 0 && !v && !(v = malloc(1)))
        rc = kl_err_set(err, KL_ENOMEM, "out of memory adding column '%s'", name);
    if (rc < 0) {
        free(v);
        return rc;
    }
    return push_col(f, name, KL_COL_KIND_NUMERIC, type, v, NULL, 0, NULL, NULL, err);
}

int kl__frame_adopt_bool(kl_frame *f, const char *name, uint8_t *v, kl_err *err)
{
    int rc = precheck(f, name, KL_TYPE_BOOL, KL_COL_KIND_BOOL, err);
    if (rc == 0 && !v && f->n_rows > 0)
        rc = kl_err_set(err, KL_EINVAL, "no values for column '%s'", name);
    if (rc == 0 && !v && !(v = malloc(1)))
        rc = kl_err_set(err, KL_ENOMEM, "out of memory adding column '%s'", name);
    if (rc < 0) {
        free(v);
        return rc;
    }
    return push_col(f, name, KL_COL_KIND_BOOL, KL_TYPE_BOOL, v, NULL, 0, NULL, NULL, err);
}

int kl__frame_adopt_time(kl_frame *f, const char *name, enum kl_type type, int64_t *v,
                         const char *format, kl_err *err)
{
    char *fmt = NULL;
    int rc = precheck(f, name, type, KL_COL_KIND_TIME, err);
    if (rc == 0 && !v && f->n_rows > 0)
        rc = kl_err_set(err, KL_EINVAL, "no values for column '%s'", name);
    if (rc == 0 && !v && !(v = malloc(1)))
        rc = kl_err_set(err, KL_ENOMEM, "out of memory adding column '%s'", name);
    if (rc == 0 && format && !(fmt = str_dup(format)))
        rc = kl_err_set(err, KL_ENOMEM, "out of memory adding column '%s'", name);
    if (rc < 0) {
        free(v);
        return rc;
    }
    return push_col(f, name, KL_COL_KIND_TIME, type, v, NULL, 0, NULL, fmt, err);
}

int kl__frame_adopt_categorical(kl_frame *f, const char *name, int32_t *codes, char **dict,
                                size_t n_dict, char *pool, kl_err *err)
{
    int rc = precheck(f, name, KL_TYPE_CATEGORICAL, KL_COL_KIND_CATEGORICAL, err);
    if (rc == 0 && !codes && f->n_rows > 0)
        rc = kl_err_set(err, KL_EINVAL, "no values for column '%s'", name);
    if (rc == 0 && !codes && !(codes = malloc(1)))
        rc = kl_err_set(err, KL_ENOMEM, "out of memory adding column '%s'", name);
    if (rc == 0 && !dict && n_dict > 0)
        rc = kl_err_set(err, KL_EINVAL, "no dictionary for column '%s'", name);
    if (rc == 0)
        rc = check_dict_unique(name, dict, n_dict, err);
    if (rc < 0) {
        free(codes);
        free(dict);
        free(pool);
        return rc;
    }
    return push_col(f, name, KL_COL_KIND_CATEGORICAL, KL_TYPE_CATEGORICAL, codes, dict, n_dict,
                    pool, NULL, err);
}

int kl__frame_adopt_text(kl_frame *f, const char *name, char **values, char *pool, kl_err *err)
{
    int rc = precheck(f, name, KL_TYPE_TEXT, KL_COL_KIND_TEXT, err);
    if (rc == 0 && !values && f->n_rows > 0)
        rc = kl_err_set(err, KL_EINVAL, "no values for column '%s'", name);
    if (rc == 0 && !values && !(values = malloc(1)))
        rc = kl_err_set(err, KL_ENOMEM, "out of memory adding column '%s'", name);
    if (rc < 0) {
        free(values);
        free(pool);
        return rc;
    }
    return push_col(f, name, KL_COL_KIND_TEXT, KL_TYPE_TEXT, values, NULL, 0, pool, NULL, err);
}

/* ---- adding copies ---- */

int kl_frame_add_numeric(kl_frame *f, const char *name, enum kl_type type, const double *v,
                         kl_err *err)
{
    int rc = precheck(f, name, type, KL_COL_KIND_NUMERIC, err);
    if (rc < 0)
        return rc;
    if (type == KL_TYPE_INT) {
        for (size_t i = 0; i < f->n_rows; i++) {
            double x = v[i];
            if (!isnan(x) && (x != nearbyint(x) || fabs(x) > 9007199254740992.0))
                return kl_err_set(err, KL_EINVAL,
                                  "value %.17g in row %zu of int column '%s' is not an integer "
                                  "in [-2^53, 2^53]",
                                  x, i, name);
        }
    }
    double *d = alloc_array(f->n_rows, sizeof *d);
    if (!d)
        return kl_err_set(err, KL_ENOMEM, "out of memory adding column '%s'", name);
    if (f->n_rows)
        memcpy(d, v, f->n_rows * sizeof *d);
    return push_col(f, name, KL_COL_KIND_NUMERIC, type, d, NULL, 0, NULL, NULL, err);
}

int kl_frame_add_bool(kl_frame *f, const char *name, const uint8_t *v, kl_err *err)
{
    int rc = precheck(f, name, KL_TYPE_BOOL, KL_COL_KIND_BOOL, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < f->n_rows; i++)
        if (v[i] > 1 && v[i] != KL_BOOL_MISSING)
            return kl_err_set(err, KL_EINVAL,
                              "value %u in row %zu of bool column '%s' is not 0, "
                              "1 or KL_BOOL_MISSING",
                              (unsigned)v[i], i, name);
    uint8_t *d = alloc_array(f->n_rows, 1);
    if (!d)
        return kl_err_set(err, KL_ENOMEM, "out of memory adding column '%s'", name);
    if (f->n_rows)
        memcpy(d, v, f->n_rows);
    return push_col(f, name, KL_COL_KIND_BOOL, KL_TYPE_BOOL, d, NULL, 0, NULL, NULL, err);
}

int kl_frame_add_time(kl_frame *f, const char *name, enum kl_type type, const int64_t *v,
                      const char *format, kl_err *err)
{
    int rc = precheck(f, name, type, KL_COL_KIND_TIME, err);
    if (rc < 0)
        return rc;
    if (type == KL_TYPE_DATE) {
        for (size_t i = 0; i < f->n_rows; i++)
            if (v[i] != KL_TIME_MISSING && v[i] % 86400000000ll != 0)
                return kl_err_set(err, KL_EINVAL,
                                  "value in row %zu of date column '%s' is not "
                                  "a whole day",
                                  i, name);
    }
    int64_t *d = alloc_array(f->n_rows, sizeof *d);
    char *fmt = NULL;
    if (!d || (format && !(fmt = str_dup(format)))) {
        free(d);
        return kl_err_set(err, KL_ENOMEM, "out of memory adding column '%s'", name);
    }
    if (f->n_rows)
        memcpy(d, v, f->n_rows * sizeof *d);
    return push_col(f, name, KL_COL_KIND_TIME, type, d, NULL, 0, NULL, fmt, err);
}

int kl_frame_add_categorical_codes(kl_frame *f, const char *name, const int32_t *codes,
                                   const char *const *dict, size_t n_dict, kl_err *err)
{
    int rc = precheck(f, name, KL_TYPE_CATEGORICAL, KL_COL_KIND_CATEGORICAL, err);
    if (rc < 0)
        return rc;
    if (n_dict > (size_t)INT32_MAX)
        return kl_err_set(err, KL_ERANGE, "too many categories in column '%s'", name);
    for (size_t i = 0; i < f->n_rows; i++)
        if (codes[i] < KL_CAT_MISSING || codes[i] >= (int64_t)n_dict)
            return kl_err_set(err, KL_ERANGE,
                              "code %d in row %zu of column '%s' is outside "
                              "its dictionary of %zu",
                              (int)codes[i], i, name, n_dict);
    for (size_t k = 0; k < n_dict; k++)
        if (!dict[k])
            return kl_err_set(err, KL_EINVAL, "category %zu of column '%s' is NULL", k, name);
    int32_t *c = alloc_array(f->n_rows, sizeof *c);
    char **d = alloc_array(n_dict, sizeof *d);
    char *pool = NULL;
    if (!c || !d || kl__strings_copy(dict, n_dict, d, &pool) < 0) {
        free(c);
        free(d);
        return kl_err_set(err, KL_ENOMEM, "out of memory adding column '%s'", name);
    }
    if (f->n_rows)
        memcpy(c, codes, f->n_rows * sizeof *c);
    return kl__frame_adopt_categorical(f, name, c, d, n_dict, pool, err);
}

int kl_frame_add_categorical(kl_frame *f, const char *name, const char *const *values, kl_err *err)
{
    int rc = precheck(f, name, KL_TYPE_CATEGORICAL, KL_COL_KIND_CATEGORICAL, err);
    if (rc < 0)
        return rc;
    size_t n = f->n_rows;
    int32_t *codes = alloc_array(n, sizeof *codes);
    const char **firsts = alloc_array(n, sizeof *firsts); /* first appearance of each code */
    kl__strset set = {0};
    if (!codes || !firsts || kl__strset_init(&set, 64) < 0)
        goto nomem;
    size_t n_dict = 0;
    for (size_t i = 0; i < n; i++) {
        if (!values[i]) {
            codes[i] = KL_CAT_MISSING;
            continue;
        }
        int32_t hit =
            kl__strset_find_or_add(&set, (const char *const *)firsts, values[i], (int32_t)n_dict);
        if (hit == -2)
            goto nomem;
        if (hit >= 0) {
            codes[i] = hit;
        } else {
            if (n_dict == (size_t)INT32_MAX) {
                rc = kl_err_set(err, KL_ERANGE, "too many categories in column '%s'", name);
                goto fail;
            }
            firsts[n_dict] = values[i];
            codes[i] = (int32_t)n_dict++;
        }
    }
    kl__strset_release(&set);
    char **dict = alloc_array(n_dict, sizeof *dict);
    char *pool = NULL;
    if (!dict || kl__strings_copy(firsts, n_dict, dict, &pool) < 0) {
        free(dict);
        goto nomem;
    }
    free(firsts);
    return push_col(f, name, KL_COL_KIND_CATEGORICAL, KL_TYPE_CATEGORICAL, codes, dict, n_dict,
                    pool, NULL, err);
nomem:
    rc = kl_err_set(err, KL_ENOMEM, "out of memory adding column '%s'", name);
fail:
    kl__strset_release(&set);
    free(codes);
    free(firsts);
    return rc;
}

int kl_frame_add_text(kl_frame *f, const char *name, const char *const *values, kl_err *err)
{
    int rc = precheck(f, name, KL_TYPE_TEXT, KL_COL_KIND_TEXT, err);
    if (rc < 0)
        return rc;
    char **v = alloc_array(f->n_rows, sizeof *v);
    char *pool = NULL;
    if (!v || kl__strings_copy(values, f->n_rows, v, &pool) < 0) {
        free(v);
        return kl_err_set(err, KL_ENOMEM, "out of memory adding column '%s'", name);
    }
    return push_col(f, name, KL_COL_KIND_TEXT, KL_TYPE_TEXT, v, NULL, 0, pool, NULL, err);
}

/* ---- shape and columns ---- */

size_t kl_frame_row_count(const kl_frame *f)
{
    return f->n_rows;
}

size_t kl_frame_col_count(const kl_frame *f)
{
    return f->n_cols;
}

long kl_frame_col_index(const kl_frame *f, const char *name)
{
    if (!name)
        return -1;
    for (size_t j = 0; j < f->n_cols; j++)
        if (strcmp(f->cols[j].name, name) == 0)
            return (long)j;
    return -1;
}

static const struct col *col_at(const kl_frame *f, size_t j)
{
    KL_ASSERT(j < f->n_cols);
    return &f->cols[j];
}

const char *kl_frame_col_name(const kl_frame *f, size_t j)
{
    return col_at(f, j)->name;
}

enum kl_col_kind kl_frame_col_kind(const kl_frame *f, size_t j)
{
    return col_at(f, j)->kind;
}

enum kl_type kl_frame_col_type(const kl_frame *f, size_t j)
{
    return col_at(f, j)->type;
}

static size_t count_missing(const struct col *c, size_t n)
{
    size_t m = 0;
    switch (c->kind) {
    case KL_COL_KIND_NUMERIC: {
        const double *v = c->data;
        for (size_t i = 0; i < n; i++)
            m += v[i] != v[i];
        break;
    }
    case KL_COL_KIND_CATEGORICAL: {
        const int32_t *v = c->data;
        for (size_t i = 0; i < n; i++)
            m += v[i] < 0;
        break;
    }
    case KL_COL_KIND_BOOL: {
        const uint8_t *v = c->data;
        for (size_t i = 0; i < n; i++)
            m += v[i] == KL_BOOL_MISSING;
        break;
    }
    case KL_COL_KIND_TEXT: {
        char *const *v = c->data;
        for (size_t i = 0; i < n; i++)
            m += v[i] == NULL;
        break;
    }
    case KL_COL_KIND_TIME: {
        const int64_t *v = c->data;
        for (size_t i = 0; i < n; i++)
            m += v[i] == KL_TIME_MISSING;
        break;
    }
    }
    return m;
}

size_t kl_frame_col_missing(const kl_frame *f, size_t j)
{
    /* The cache is the only thing a const frame ever writes; see the file comment. */
    struct col *c = (struct col *)col_at(f, j);
    size_t m = atomic_load_explicit(&c->missing, memory_order_relaxed);
    if (m == MISSING_UNKNOWN) {
        m = count_missing(c, f->n_rows);
        atomic_store_explicit(&c->missing, m, memory_order_relaxed);
    }
    return m;
}

const double *kl_frame_col_f64(const kl_frame *f, size_t j)
{
    const struct col *c = col_at(f, j);
    return c->kind == KL_COL_KIND_NUMERIC ? c->data : NULL;
}

const int32_t *kl_frame_col_codes(const kl_frame *f, size_t j)
{
    const struct col *c = col_at(f, j);
    return c->kind == KL_COL_KIND_CATEGORICAL ? c->data : NULL;
}

const char *const *kl_frame_col_dict(const kl_frame *f, size_t j, size_t *n_dict)
{
    const struct col *c = col_at(f, j);
    if (c->kind != KL_COL_KIND_CATEGORICAL) {
        if (n_dict)
            *n_dict = 0;
        return NULL;
    }
    if (n_dict)
        *n_dict = c->n_dict;
    /* A dictionary with no entries still gets a non-NULL pointer: the column is categorical. */
    static const char *const empty[1] = {NULL};
    return c->dict ? (const char *const *)c->dict : empty;
}

const uint8_t *kl_frame_col_bool(const kl_frame *f, size_t j)
{
    const struct col *c = col_at(f, j);
    return c->kind == KL_COL_KIND_BOOL ? c->data : NULL;
}

const char *const *kl_frame_col_text(const kl_frame *f, size_t j)
{
    const struct col *c = col_at(f, j);
    return c->kind == KL_COL_KIND_TEXT ? (const char *const *)c->data : NULL;
}

const int64_t *kl_frame_col_time(const kl_frame *f, size_t j)
{
    const struct col *c = col_at(f, j);
    return c->kind == KL_COL_KIND_TIME ? c->data : NULL;
}

const char *kl_frame_col_time_format(const kl_frame *f, size_t j)
{
    const struct col *c = col_at(f, j);
    return c->kind == KL_COL_KIND_TIME ? c->format : NULL;
}

unsigned kl_frame_infer_version(const kl_frame *f)
{
    return f->infer_version;
}

void kl_frame_set_infer_version(kl_frame *f, unsigned version)
{
    f->infer_version = version;
}

/* ---- cell rendering ---- */

static void put_str(char *buf, size_t n, const char *s)
{
    if (n == 0)
        return;
    size_t len = strlen(s);
    if (len >= n)
        len = n - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
}

/*
 * ISO 8601 in UTC without kl__time_format's year range (1..9999): the
 * fallback for values no form can write. Dates print as "YYYY-MM-DD" when
 * date_only, else "YYYY-MM-DDTHH:MM:SS" plus the fraction of a second,
 * trailing zeros dropped, when there is one.
 */
static void format_time_iso(int64_t us, int date_only, char *buf, size_t n)
{
    int64_t days = us / 86400000000ll, rem = us % 86400000000ll;
    if (rem < 0) {
        rem += 86400000000ll;
        days--;
    }
    int64_t y;
    unsigned mo, d;
    kl__civil_from_days(days, &y, &mo, &d);
    if (date_only) {
        snprintf(buf, n, "%04lld-%02u-%02u", (long long)y, mo, d);
        return;
    }
    unsigned secs = (unsigned)(rem / 1000000), frac = (unsigned)(rem % 1000000);
    int width = 6;
    while (frac && frac % 10 == 0) {
        frac /= 10;
        width--;
    }
    if (frac)
        snprintf(buf, n, "%04lld-%02u-%02uT%02u:%02u:%02u.%0*u", (long long)y, mo, d, secs / 3600,
                 secs / 60 % 60, secs % 60, width, frac);
    else
        snprintf(buf, n, "%04lld-%02u-%02uT%02u:%02u:%02u", (long long)y, mo, d, secs / 3600,
                 secs / 60 % 60, secs % 60);
}

/* A time in its column's format, else ISO 8601 (see kl_frame_cell_str in frame.h). */
static void format_time(const struct col *c, int64_t us, char *buf, size_t n)
{
    int date = c->type == KL_TYPE_DATE;
    unsigned form = kl__time_form_from_format(c->format);
    if (!form)
        form = date ? KL__TF_DATE_ISO : KL__TF_DATETIME_ISO;
    char tmp[64];
    if (kl__time_format(us, form, tmp, sizeof tmp) == 0)
        format_time_iso(us, date && us % 86400000000ll == 0, tmp, sizeof tmp);
    put_str(buf, n, tmp);
}

int kl_frame_cell_str(const kl_frame *f, size_t i, size_t j, char *buf, size_t n)
{
    const struct col *c = col_at(f, j);
    KL_ASSERT(i < f->n_rows);
    put_str(buf, n, "");
    switch (c->kind) {
    case KL_COL_KIND_NUMERIC: {
        double v = ((const double *)c->data)[i];
        if (isnan(v))
            return 0;
        if (c->type == KL_TYPE_INT && fabs(v) <= 9007199254740992.0)
            snprintf(buf, n, "%.0f", v);
        else {
            char tmp[40];
            kl__format_double(v, tmp, sizeof tmp);
            put_str(buf, n, tmp);
        }
        return 1;
    }
    case KL_COL_KIND_CATEGORICAL: {
        int32_t code = ((const int32_t *)c->data)[i];
        if (code < 0)
            return 0;
        put_str(buf, n, c->dict[code]);
        return 1;
    }
    case KL_COL_KIND_BOOL: {
        uint8_t v = ((const uint8_t *)c->data)[i];
        if (v == KL_BOOL_MISSING)
            return 0;
        put_str(buf, n, v ? "true" : "false");
        return 1;
    }
    case KL_COL_KIND_TEXT: {
        const char *s = ((char *const *)c->data)[i];
        if (!s)
            return 0;
        put_str(buf, n, s);
        return 1;
    }
    case KL_COL_KIND_TIME: {
        int64_t v = ((const int64_t *)c->data)[i];
        if (v == KL_TIME_MISSING)
            return 0;
        format_time(c, v, buf, n);
        return 1;
    }
    }
    return 0;
}
