/*
 * kl_frame operations: dup, select, drop, take, filter, sort and append.
 * Each builds a new frame and leaves its input alone.
 *
 * Everything here goes through the public getters and the
 * kl__frame_adopt_* functions: a result column is gathered into fresh
 * buffers which the new frame then adopts. frame.c alone knows the storage
 * layout, so a new column kind touches it, this file's copy_col and
 * append_col, and frame_hash.c.
 *
 * Row selection (take, filter, sort, dup) is one routine, copy_col, over an
 * index array (NULL meaning "every row in order"), so the kinds are handled
 * once. Strings are copied into one exactly sized pool per column instead of
 * being shared with the source, so a result never depends on its input's
 * lifetime.
 *
 * Sorting is a stable merge sort (qsort is not stable) of (word, row) pairs,
 * the word encoding the first key so that most comparisons are one integer
 * compare on sequential memory; ties go to a comparator that walks the keys.
 * Categorical keys are compared through a rank per code computed once from
 * the sorted dictionary, so no comparison ever looks at a category string.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keel/frame.h"
#include "data/frame_internal.h"
#include "core/common.h"

static void *alloc_array(size_t n, size_t sz)
{
    if (n == 0)
        return malloc(1);
    if (n > SIZE_MAX / sz)
        return NULL;
    return malloc(n * sz);
}

static int nomem(kl_err *err, const char *what)
{
    return kl_err_set(err, KL_ENOMEM, "out of memory %s", what);
}

/*
 * d[i] = src[idx[i]] for i < n, or a plain copy when idx is NULL; the test is
 * outside the loop so each loop is a tight gather or a memcpy.
 */
#define GATHER(d, src, idx, n)                                                                     \
    do {                                                                                           \
        if (!(idx)) {                                                                              \
            if (n)                                                                                 \
                memcpy((d), (src), (n) * sizeof *(d));                                             \
        } else {                                                                                   \
            for (size_t i_ = 0; i_ < (n); i_++)                                                    \
                (d)[i_] = (src)[(idx)[i_]];                                                        \
        }                                                                                          \
    } while (0)

/*
 * Add to out (n rows) column j of f restricted to rows idx[0..n) (all rows
 * when idx is NULL). The indices are trusted: callers check them.
 */
static int copy_col(const kl_frame *f, size_t j, const size_t *idx, size_t n, kl_frame *out,
                    kl_err *err)
{
    const char *name = kl_frame_col_name(f, j);
    enum kl_type type = kl_frame_col_type(f, j);
    switch (kl_frame_col_kind(f, j)) {
    case KL_COL_KIND_NUMERIC: {
        const double *src = kl_frame_col_f64(f, j);
        double *d = alloc_array(n, sizeof *d);
        if (!d)
            return nomem(err, "copying a column");
        GATHER(d, src, idx, n);
        return kl__frame_adopt_numeric(out, name, type, d, err);
    }
    case KL_COL_KIND_BOOL: {
        const uint8_t *src = kl_frame_col_bool(f, j);
        uint8_t *d = alloc_array(n, 1);
        if (!d)
            return nomem(err, "copying a column");
        GATHER(d, src, idx, n);
        return kl__frame_adopt_bool(out, name, d, err);
    }
    case KL_COL_KIND_TIME: {
        const int64_t *src = kl_frame_col_time(f, j);
        int64_t *d = alloc_array(n, sizeof *d);
        if (!d)
            return nomem(err, "copying a column");
        GATHER(d, src, idx, n);
        return kl__frame_adopt_time(out, name, type, d, kl_frame_col_time_format(f, j), err);
    }
    case KL_COL_KIND_CATEGORICAL: {
        const int32_t *src = kl_frame_col_codes(f, j);
        size_t n_dict;
        const char *const *dict = kl_frame_col_dict(f, j, &n_dict);
        int32_t *codes = alloc_array(n, sizeof *codes);
        char **d = alloc_array(n_dict, sizeof *d);
        char *pool = NULL;
        if (!codes || !d || kl__strings_copy(dict, n_dict, d, &pool) < 0) {
            free(codes);
            free(d);
            return nomem(err, "copying a column");
        }
        GATHER(codes, src, idx, n);
        return kl__frame_adopt_categorical(out, name, codes, d, n_dict, pool, err);
    }
    case KL_COL_KIND_TEXT: {
        const char *const *src = kl_frame_col_text(f, j);
        char **v = alloc_array(n, sizeof *v);
        if (!v)
            return nomem(err, "copying a column");
        GATHER(v, (char *const *)src, idx, n);
        char *pool = NULL;
        if (kl__strings_copy((const char *const *)v, n, v, &pool) < 0) {
            free(v);
            return nomem(err, "copying a column");
        }
        return kl__frame_adopt_text(out, name, v, pool, err);
    }
    }
    KL_ASSERT(!"unknown column kind");
    return KL_EINVAL;
}

/* A new frame of rows idx[0..n) (all rows when idx is NULL) of the columns cols[0..nc). */
static int gather(const kl_frame *f, const size_t *cols, size_t nc, const size_t *idx, size_t n,
                  kl_frame **out, kl_err *err)
{
    *out = NULL;
    kl_frame *g = kl_frame_new(n);
    if (!g)
        return nomem(err, "creating a frame");
    kl_frame_set_infer_version(g, kl_frame_infer_version(f));
    for (size_t k = 0; k < nc; k++) {
        int rc = copy_col(f, cols ? cols[k] : k, idx, n, g, err);
        if (rc < 0) {
            kl_frame_free(g);
            return rc;
        }
    }
    *out = g;
    return 0;
}

kl_frame *kl_frame_dup(const kl_frame *f)
{
    kl_frame *out;
    if (gather(f, NULL, kl_frame_col_count(f), NULL, kl_frame_row_count(f), &out, NULL) < 0)
        return NULL;
    return out;
}

/* ---- columns ---- */

static long find_col(const kl_frame *f, const char *name, kl_err *err)
{
    long j = name ? kl_frame_col_index(f, name) : -1;
    if (j < 0)
        kl_err_set(err, KL_ENOTFOUND, "no column named '%s'", name ? name : "(null)");
    return j;
}

int kl_frame_select(const kl_frame *f, const char *const *names, size_t n, kl_frame **out,
                    kl_err *err)
{
    *out = NULL;
    size_t *cols = alloc_array(n, sizeof *cols);
    if (!cols)
        return nomem(err, "selecting columns");
    for (size_t k = 0; k < n; k++) {
        long j = find_col(f, names[k], err);
        if (j < 0) {
            free(cols);
            return KL_ENOTFOUND;
        }
        cols[k] = (size_t)j;
    }
    int rc = gather(f, cols, n, NULL, kl_frame_row_count(f), out, err);
    free(cols);
    return rc;
}

int kl_frame_drop(const kl_frame *f, const char *const *names, size_t n, kl_frame **out,
                  kl_err *err)
{
    *out = NULL;
    size_t nc = kl_frame_col_count(f);
    uint8_t *dropped = calloc(nc ? nc : 1, 1);
    size_t *cols = alloc_array(nc, sizeof *cols);
    if (!dropped || !cols) {
        free(dropped);
        free(cols);
        return nomem(err, "dropping columns");
    }
    int rc = 0;
    for (size_t k = 0; k < n; k++) {
        long j = find_col(f, names[k], err);
        if (j < 0) {
            rc = KL_ENOTFOUND;
            goto done;
        }
        dropped[j] = 1;
    }
    size_t kept = 0;
    for (size_t j = 0; j < nc; j++)
        if (!dropped[j])
            cols[kept++] = j;
    rc = gather(f, cols, kept, NULL, kl_frame_row_count(f), out, err);
done:
    free(dropped);
    free(cols);
    return rc;
}

/* ---- rows ---- */

int kl_frame_take(const kl_frame *f, const size_t *idx, size_t n, kl_frame **out, kl_err *err)
{
    *out = NULL;
    size_t rows = kl_frame_row_count(f);
    for (size_t i = 0; i < n; i++)
        if (idx[i] >= rows)
            return kl_err_set(err, KL_ERANGE,
                              "row index %zu at position %zu is out of range (%zu rows)", idx[i], i,
                              rows);
    return gather(f, NULL, kl_frame_col_count(f), idx, n, out, err);
}

int kl_frame_filter(const kl_frame *f, const uint8_t *mask, kl_frame **out, kl_err *err)
{
    *out = NULL;
    size_t rows = kl_frame_row_count(f), n = 0;
    for (size_t i = 0; i < rows; i++)
        n += mask[i] != 0;
    size_t *idx = alloc_array(n, sizeof *idx);
    if (!idx)
        return nomem(err, "filtering rows");
    for (size_t i = 0, k = 0; i < rows; i++)
        if (mask[i])
            idx[k++] = i;
    int rc = gather(f, NULL, kl_frame_col_count(f), idx, n, out, err);
    free(idx);
    return rc;
}

/* ---- sort ---- */

struct sort_key {
    enum kl_col_kind kind;
    int desc;
    const void *data;
    int32_t *rank; /* CATEGORICAL: rank of each code in bytewise order of its string */
};

/* Missing values go last whatever the direction; present ones compare by cmp, flipped if desc. */
static int key_cmp(const struct sort_key *k, size_t a, size_t b)
{
    int am, bm, c;
    switch (k->kind) {
    case KL_COL_KIND_NUMERIC: {
        double x = ((const double *)k->data)[a], y = ((const double *)k->data)[b];
        am = isnan(x), bm = isnan(y);
        c = (x > y) - (x < y);
        break;
    }
    case KL_COL_KIND_CATEGORICAL: {
        int32_t x = ((const int32_t *)k->data)[a], y = ((const int32_t *)k->data)[b];
        am = x < 0, bm = y < 0;
        c = am || bm ? 0 : (k->rank[x] > k->rank[y]) - (k->rank[x] < k->rank[y]);
        break;
    }
    case KL_COL_KIND_BOOL: {
        uint8_t x = ((const uint8_t *)k->data)[a], y = ((const uint8_t *)k->data)[b];
        am = x == KL_BOOL_MISSING, bm = y == KL_BOOL_MISSING;
        c = (x > y) - (x < y);
        break;
    }
    case KL_COL_KIND_TEXT: {
        const char *x = ((const char *const *)k->data)[a], *y = ((const char *const *)k->data)[b];
        am = x == NULL, bm = y == NULL;
        c = am || bm ? 0 : strcmp(x, y);
        c = (c > 0) - (c < 0);
        break;
    }
    case KL_COL_KIND_TIME: {
        int64_t x = ((const int64_t *)k->data)[a], y = ((const int64_t *)k->data)[b];
        am = x == KL_TIME_MISSING, bm = y == KL_TIME_MISSING;
        c = (x > y) - (x < y);
        break;
    }
    default:
        KL_ASSERT(!"unknown column kind");
        return 0;
    }
    if (am || bm)
        return am - bm;
    return k->desc ? -c : c;
}

static int rows_cmp(const struct sort_key *keys, size_t n_keys, size_t a, size_t b)
{
    for (size_t k = 0; k < n_keys; k++) {
        int c = key_cmp(&keys[k], a, b);
        if (c)
            return c;
    }
    return 0;
}

/*
 * The first key of every row as a 64-bit word whose unsigned order is the
 * key's order, direction and missing-last included, so most comparisons are
 * one integer compare on data read in sequence instead of a random access
 * into the column. Equal words fall back to the full comparison (rows_cmp):
 * text words hold only the first 8 bytes, and a few present values share
 * the word of a missing one (UINT64_MAX). When the word is exact (equal words
 * mean equal keys) the fallback can skip the first key.
 */
struct sort_item {
    uint64_t word;
    size_t row;
};

#define WORD_MISSING UINT64_MAX

static int key_word_exact(const struct sort_key *k)
{
    return k->kind == KL_COL_KIND_NUMERIC || k->kind == KL_COL_KIND_BOOL ||
           k->kind == KL_COL_KIND_CATEGORICAL;
}

static uint64_t key_word(const struct sort_key *k, size_t i)
{
    uint64_t u;
    switch (k->kind) {
    case KL_COL_KIND_NUMERIC: {
        double x = ((const double *)k->data)[i];
        if (isnan(x))
            return WORD_MISSING;
        x += 0.0; /* -0.0 becomes 0.0: they compare equal */
        memcpy(&u, &x, sizeof u);
        /* IEEE order as unsigned order: flip all bits of negatives, the sign of positives. */
        u = (u >> 63) ? ~u : u | (1ull << 63);
        break;
    }
    case KL_COL_KIND_CATEGORICAL: {
        int32_t c = ((const int32_t *)k->data)[i];
        if (c < 0)
            return WORD_MISSING;
        u = (uint64_t)k->rank[c];
        break;
    }
    case KL_COL_KIND_BOOL: {
        uint8_t v = ((const uint8_t *)k->data)[i];
        if (v == KL_BOOL_MISSING)
            return WORD_MISSING;
        u = v;
        break;
    }
    case KL_COL_KIND_TEXT: {
        const char *str = ((const char *const *)k->data)[i];
        if (!str)
            return WORD_MISSING;
        /* The first 8 bytes, big-endian and zero-padded: their order is strcmp's. */
        u = 0;
        for (int b = 0; b < 8 && str[b]; b++)
            u |= (uint64_t)(unsigned char)str[b] << (56 - 8 * b);
        break;
    }
    case KL_COL_KIND_TIME: {
        int64_t v = ((const int64_t *)k->data)[i];
        if (v == KL_TIME_MISSING)
            return WORD_MISSING;
        u = (uint64_t)v ^ (1ull << 63);
        break;
    }
    default:
        KL_ASSERT(!"unknown column kind");
        return 0;
    }
    /*
     * Descending reverses the order of present values and keeps them below
     * WORD_MISSING. Only inexact kinds (text, time) can reach u ==
     * WORD_MISSING, and their ties are settled by the full comparison.
     */
    if (!k->desc)
        return u;
    return u == WORD_MISSING ? 0 : (WORD_MISSING - 1) - u;
}

struct sorter {
    const struct sort_key *keys; /* the keys to compare on a word tie */
    size_t n_keys;
};

static int item_cmp(const struct sorter *s, const struct sort_item *a, const struct sort_item *b)
{
    if (a->word != b->word)
        return a->word < b->word ? -1 : 1;
    return rows_cmp(s->keys, s->n_keys, a->row, b->row);
}

/*
 * Stable bottom-up merge sort of v[0..n) using tmp[0..n). Runs of 16 are
 * first sorted by insertion (stable too), then merged pairwise; the result
 * ends up in v.
 */
static void merge_sort(struct sort_item *v, struct sort_item *tmp, size_t n, const struct sorter *s)
{
    enum { RUN = 16 };
    for (size_t lo = 0; lo < n; lo += RUN) {
        size_t hi = KL_MIN(lo + RUN, n);
        for (size_t i = lo + 1; i < hi; i++) {
            struct sort_item x = v[i];
            size_t p = i;
            while (p > lo && item_cmp(s, &v[p - 1], &x) > 0) {
                v[p] = v[p - 1];
                p--;
            }
            v[p] = x;
        }
    }
    struct sort_item *src = v, *dst = tmp;
    for (size_t width = RUN; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = KL_MIN(lo + width, n), hi = KL_MIN(lo + 2 * width, n);
            size_t i = lo, j = mid, o = lo;
            /* Ties take the left run first: that is what keeps the sort stable. */
            while (i < mid && j < hi)
                dst[o++] = item_cmp(s, &src[i], &src[j]) <= 0 ? src[i++] : src[j++];
            while (i < mid)
                dst[o++] = src[i++];
            while (j < hi)
                dst[o++] = src[j++];
        }
        struct sort_item *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
}

static int cmp_str_index(const char *const *dict, size_t a, size_t b)
{
    return strcmp(dict[a], dict[b]);
}

/* rank[code] = position of dict[code] in bytewise order (dictionary entries are unique). */
static int dict_ranks(const char *const *dict, size_t n_dict, int32_t *rank)
{
    size_t *order = alloc_array(n_dict, sizeof *order);
    size_t *tmp = alloc_array(n_dict, sizeof *tmp);
    if (!order || !tmp) {
        free(order);
        free(tmp);
        return KL_ENOMEM;
    }
    for (size_t k = 0; k < n_dict; k++)
        order[k] = k;
    /* Bottom-up merge of string indices (qsort would need the dictionary in a global). */
    for (size_t width = 1; width < n_dict; width *= 2) {
        for (size_t lo = 0; lo < n_dict; lo += 2 * width) {
            size_t mid = KL_MIN(lo + width, n_dict), hi = KL_MIN(lo + 2 * width, n_dict);
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                tmp[o++] = cmp_str_index(dict, order[i], order[j]) <= 0 ? order[i++] : order[j++];
            while (i < mid)
                tmp[o++] = order[i++];
            while (j < hi)
                tmp[o++] = order[j++];
        }
        memcpy(order, tmp, n_dict * sizeof *order);
    }
    for (size_t k = 0; k < n_dict; k++)
        rank[order[k]] = (int32_t)k;
    free(order);
    free(tmp);
    return 0;
}

int kl_frame_sort(const kl_frame *f, const kl_sort_key *keys, size_t n_keys, kl_frame **out,
                  kl_err *err)
{
    *out = NULL;
    size_t n = kl_frame_row_count(f);
    int rc = 0;
    struct sort_key *k = calloc(n_keys ? n_keys : 1, sizeof *k);
    struct sort_item *items = alloc_array(n, sizeof *items);
    struct sort_item *tmp = alloc_array(n, sizeof *tmp);
    size_t *idx = alloc_array(n, sizeof *idx);
    if (!k || !items || !tmp || !idx) {
        rc = nomem(err, "sorting rows");
        goto done;
    }
    for (size_t q = 0; q < n_keys; q++) {
        long j = find_col(f, keys[q].column, err);
        if (j < 0) {
            rc = KL_ENOTFOUND;
            goto done;
        }
        k[q].kind = kl_frame_col_kind(f, (size_t)j);
        k[q].desc = keys[q].descending != 0;
        switch (k[q].kind) {
        case KL_COL_KIND_NUMERIC:
            k[q].data = kl_frame_col_f64(f, (size_t)j);
            break;
        case KL_COL_KIND_BOOL:
            k[q].data = kl_frame_col_bool(f, (size_t)j);
            break;
        case KL_COL_KIND_TEXT:
            k[q].data = kl_frame_col_text(f, (size_t)j);
            break;
        case KL_COL_KIND_TIME:
            k[q].data = kl_frame_col_time(f, (size_t)j);
            break;
        case KL_COL_KIND_CATEGORICAL: {
            size_t n_dict;
            const char *const *dict = kl_frame_col_dict(f, (size_t)j, &n_dict);
            k[q].data = kl_frame_col_codes(f, (size_t)j);
            k[q].rank = alloc_array(n_dict, sizeof *k[q].rank);
            if (!k[q].rank || dict_ranks(dict, n_dict, k[q].rank) < 0) {
                rc = nomem(err, "sorting rows");
                goto done;
            }
            break;
        }
        }
    }
    struct sorter srt = {k, n_keys};
    if (n_keys == 0) {
        for (size_t i = 0; i < n; i++)
            items[i] = (struct sort_item){0, i};
    } else {
        for (size_t i = 0; i < n; i++)
            items[i] = (struct sort_item){key_word(&k[0], i), i};
        if (key_word_exact(&k[0])) {
            srt.keys = k + 1;
            srt.n_keys = n_keys - 1;
        }
    }
    merge_sort(items, tmp, n, &srt);
    for (size_t i = 0; i < n; i++)
        idx[i] = items[i].row;
    rc = gather(f, NULL, kl_frame_col_count(f), idx, n, out, err);
done:
    if (k)
        for (size_t q = 0; q < n_keys; q++)
            free(k[q].rank);
    free(k);
    free(items);
    free(tmp);
    free(idx);
    return rc;
}

/* ---- append ---- */

static int same_format(const char *x, const char *y)
{
    return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

/* Categorical column j of a then b: a's dictionary, then b's new categories in b's order. */
static int append_categorical(const kl_frame *a, const kl_frame *b, size_t j, kl_frame *g,
                              kl_err *err)
{
    size_t na = kl_frame_row_count(a), nb = kl_frame_row_count(b);
    size_t da, db;
    const char *const *dict_a = kl_frame_col_dict(a, j, &da);
    const char *const *dict_b = kl_frame_col_dict(b, j, &db);
    const int32_t *ca = kl_frame_col_codes(a, j), *cb = kl_frame_col_codes(b, j);
    if (da + db > (size_t)INT32_MAX)
        return kl_err_set(err, KL_ERANGE, "too many categories in column '%s'",
                          kl_frame_col_name(a, j));
    const char **merged = alloc_array(da + db, sizeof *merged);
    int32_t *map = alloc_array(db, sizeof *map);
    int32_t *codes = alloc_array(na + nb, sizeof *codes);
    char **dict = NULL;
    char *pool = NULL;
    kl__strset set = {0};
    if (!merged || !map || !codes || kl__strset_init(&set, da + db) < 0)
        goto nomem;
    size_t n_dict = 0;
    for (size_t k = 0; k < da; k++) {
        merged[n_dict] = dict_a[k];
        if (kl__strset_find_or_add(&set, merged, dict_a[k], (int32_t)n_dict) == -2)
            goto nomem;
        n_dict++;
    }
    for (size_t k = 0; k < db; k++) {
        merged[n_dict] = dict_b[k];
        int32_t hit = kl__strset_find_or_add(&set, merged, dict_b[k], (int32_t)n_dict);
        if (hit == -2)
            goto nomem;
        map[k] = hit >= 0 ? hit : (int32_t)n_dict++;
    }
    kl__strset_release(&set);
    if (na)
        memcpy(codes, ca, na * sizeof *codes);
    for (size_t i = 0; i < nb; i++)
        codes[na + i] = cb[i] < 0 ? KL_CAT_MISSING : map[cb[i]];
    dict = alloc_array(n_dict, sizeof *dict);
    if (!dict || kl__strings_copy(merged, n_dict, dict, &pool) < 0)
        goto nomem;
    free(merged);
    free(map);
    return kl__frame_adopt_categorical(g, kl_frame_col_name(a, j), codes, dict, n_dict, pool, err);
nomem:
    kl__strset_release(&set);
    free(merged);
    free(map);
    free(codes);
    free(dict);
    return nomem(err, "appending frames");
}

/* Column j of a then b, of the same kind; type is the result's logical type. */
static int append_col(const kl_frame *a, const kl_frame *b, size_t j, enum kl_type type,
                      kl_frame *g, kl_err *err)
{
    const char *name = kl_frame_col_name(a, j);
    size_t na = kl_frame_row_count(a), nb = kl_frame_row_count(b);
    switch (kl_frame_col_kind(a, j)) {
    case KL_COL_KIND_NUMERIC: {
        double *d = alloc_array(na + nb, sizeof *d);
        if (!d)
            return nomem(err, "appending frames");
        memcpy(d, kl_frame_col_f64(a, j), na * sizeof *d);
        memcpy(d + na, kl_frame_col_f64(b, j), nb * sizeof *d);
        return kl__frame_adopt_numeric(g, name, type, d, err);
    }
    case KL_COL_KIND_BOOL: {
        uint8_t *d = alloc_array(na + nb, 1);
        if (!d)
            return nomem(err, "appending frames");
        memcpy(d, kl_frame_col_bool(a, j), na);
        memcpy(d + na, kl_frame_col_bool(b, j), nb);
        return kl__frame_adopt_bool(g, name, d, err);
    }
    case KL_COL_KIND_TIME: {
        int64_t *d = alloc_array(na + nb, sizeof *d);
        if (!d)
            return nomem(err, "appending frames");
        memcpy(d, kl_frame_col_time(a, j), na * sizeof *d);
        memcpy(d + na, kl_frame_col_time(b, j), nb * sizeof *d);
        const char *fa = kl_frame_col_time_format(a, j), *fb = kl_frame_col_time_format(b, j);
        const char *fmt =
            kl_frame_col_type(a, j) == kl_frame_col_type(b, j) && same_format(fa, fb) ? fa : NULL;
        return kl__frame_adopt_time(g, name, type, d, fmt, err);
    }
    case KL_COL_KIND_CATEGORICAL:
        return append_categorical(a, b, j, g, err);
    case KL_COL_KIND_TEXT: {
        char **v = alloc_array(na + nb, sizeof *v);
        if (!v)
            return nomem(err, "appending frames");
        memcpy(v, kl_frame_col_text(a, j), na * sizeof *v);
        memcpy(v + na, kl_frame_col_text(b, j), nb * sizeof *v);
        char *pool = NULL;
        if (kl__strings_copy((const char *const *)v, na + nb, v, &pool) < 0) {
            free(v);
            return nomem(err, "appending frames");
        }
        return kl__frame_adopt_text(g, name, v, pool, err);
    }
    }
    KL_ASSERT(!"unknown column kind");
    return KL_EINVAL;
}

/* INT with FLOAT gives FLOAT, DATE with DATETIME gives DATETIME; same kinds otherwise agree. */
static enum kl_type wider_type(enum kl_type x, enum kl_type y)
{
    if (x == y)
        return x;
    if (kl_type_kind(x) == KL_COL_KIND_NUMERIC)
        return KL_TYPE_FLOAT;
    return KL_TYPE_DATETIME;
}

int kl_frame_append(const kl_frame *a, const kl_frame *b, kl_frame **out, kl_err *err)
{
    *out = NULL;
    size_t nc = kl_frame_col_count(a);
    if (kl_frame_col_count(b) != nc)
        return kl_err_set(err, KL_EINVAL,
                          "cannot append a frame of %zu columns to a frame of %zu columns",
                          kl_frame_col_count(b), nc);
    for (size_t j = 0; j < nc; j++) {
        const char *xa = kl_frame_col_name(a, j), *xb = kl_frame_col_name(b, j);
        if (strcmp(xa, xb) != 0)
            return kl_err_set(err, KL_EINVAL,
                              "column %zu is '%s' in the first frame but '%s' in the second", j + 1,
                              xa, xb);
        enum kl_col_kind ka = kl_frame_col_kind(a, j), kb = kl_frame_col_kind(b, j);
        if (ka != kb)
            return kl_err_set(err, KL_EINVAL,
                              "column '%s' is %s in the first frame but %s in the second", xa,
                              kl_col_kind_name(ka), kl_col_kind_name(kb));
    }
    size_t na = kl_frame_row_count(a), nb = kl_frame_row_count(b);
    if (na > SIZE_MAX / 16 - nb)
        return kl_err_set(err, KL_ERANGE, "too many rows appending frames");
    kl_frame *g = kl_frame_new(na + nb);
    if (!g)
        return nomem(err, "appending frames");
    unsigned va = kl_frame_infer_version(a);
    kl_frame_set_infer_version(g, va == kl_frame_infer_version(b) ? va : 0);
    for (size_t j = 0; j < nc; j++) {
        enum kl_type type = wider_type(kl_frame_col_type(a, j), kl_frame_col_type(b, j));
        int rc = append_col(a, b, j, type, g, err);
        if (rc < 0) {
            kl_frame_free(g);
            return rc;
        }
    }
    *out = g;
    return 0;
}
