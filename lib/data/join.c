/*
 * kl_join: equality (hash) joins and as-of (point-in-time) joins of two
 * frames (include/keel/join.h has the contract, docs/JOINS.md the guide).
 *
 * Both joins first encode every key column of both sides into 64-bit words,
 * row-major (row i's key is words[i*nk .. i*nk+nk)), so that grouping never
 * looks at a column kind again: numbers as their bits (-0.0 folded into 0.0),
 * times as their microseconds, bools as 0/1, and categories and text as ids
 * of strings interned once over both sides (a categorical column interns its
 * dictionary, not its rows). A row with any missing key value is flagged and
 * never grouped.
 *
 * Grouping is a hash table built over the distinct keys of the smaller side
 * only (a join of a million orders with a thousand customers keeps a table
 * of a thousand keys); the larger side probes it. Every row ends with a
 * group id, or -1 when its key is missing or absent from the build side.
 *
 * Equality join: B's rows are bucketed by group (a counting sort, which
 * keeps B's order inside a group), then A is walked in order and each row
 * emits its group's B rows, which gives pandas.merge's row order without
 * sorting anything.
 *
 * As-of join: both sides' usable rows become (group, time, row) triples,
 * sorted; one pass with a pointer into B per A row gives, for each A row,
 * the last B triple not after it. Because the triples are totally ordered
 * (row breaks ties), the result does not depend on the sort's stability, and
 * the chosen row always has a time <= A's time: no row from A's future can
 * be picked (asserted).
 *
 * The result frame is built column by column from two index arrays (row of
 * A, row of B or SIZE_MAX for "no match"): each column is gathered once into
 * a new array that the frame adopts (kl__frame_adopt_*), so no value is
 * copied twice.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/frame.h"
#include "keel/join.h"
#include "data/frame_internal.h"
#include "core/common.h"

#define NO_ROW SIZE_MAX

/* One side's encoded keys. */
struct keys {
    uint64_t *w;   /* n * nk words */
    uint8_t *miss; /* n flags: some key value is missing */
    int64_t *gid;  /* n group ids, -1: none */
    size_t n;
};

static void keys_release(struct keys *k)
{
    free(k->w);
    free(k->miss);
    free(k->gid);
}

static void *xcalloc(size_t n, size_t sz)
{
    return calloc(n ? n : 1, sz);
}

static int nomem(kl_err *err)
{
    return kl_err_set(err, KL_ENOMEM, "out of memory joining frames");
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static int key_eq(const uint64_t *x, const uint64_t *y, size_t nk)
{
    for (size_t k = 0; k < nk; k++)
        if (x[k] != y[k])
            return 0;
    return 1;
}

static uint64_t key_hash(const uint64_t *w, size_t nk)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (size_t k = 0; k < nk; k++)
        h = mix64(h ^ w[k]) + k;
    return h;
}

/* Order-preserving words: a < b as numbers iff word(a) < word(b). */
static uint64_t f64_word(double x)
{
    if (x == 0)
        x = 0; /* -0.0 is 0.0 */
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return (u >> 63) ? ~u : u ^ (1ULL << 63);
}

static uint64_t i64_word(int64_t x)
{
    return (uint64_t)x ^ (1ULL << 63);
}

/* ---- key encoding ---- */

/* B's time column. */
static const char *asof_b(const kl_join_opts *o)
{
    return o->asof_b ? o->asof_b : o->asof;
}

/* Interning of the strings of both sides' key columns into dense ids. */
struct interner {
    kl__strset set;
    const char **keys;
    size_t n, cap;
};

static int intern(struct interner *in, const char *s, uint64_t *id)
{
    KL_ASSERT(in->n < in->cap);
    in->keys[in->n] = s;
    int32_t r = kl__strset_find_or_add(&in->set, in->keys, s, (int32_t)in->n);
    if (r == -2)
        return KL_ENOMEM;
    if (r >= 0) {
        *id = (uint64_t)r;
        return 0;
    }
    *id = in->n++;
    return 0;
}

/* Intern the strings column j of f can hold and encode its rows into w[i*nk + k]. */
static int encode_strings(struct interner *in, const kl_frame *f, size_t j, struct keys *ks,
                          size_t nk, size_t k)
{
    size_t n = kl_frame_row_count(f);
    if (kl_frame_col_kind(f, j) == KL_COL_KIND_TEXT) {
        const char *const *t = kl_frame_col_text(f, j);
        for (size_t i = 0; i < n; i++) {
            if (!t[i]) {
                ks->miss[i] = 1;
                continue;
            }
            if (intern(in, t[i], &ks->w[i * nk + k]) < 0)
                return KL_ENOMEM;
        }
        return 0;
    }
    size_t n_dict = 0;
    const char *const *dict = kl_frame_col_dict(f, j, &n_dict);
    const int32_t *codes = kl_frame_col_codes(f, j);
    uint64_t *ids = xcalloc(n_dict, sizeof *ids);
    if (!ids)
        return KL_ENOMEM;
    for (size_t c = 0; c < n_dict; c++)
        if (intern(in, dict[c], &ids[c]) < 0) {
            free(ids);
            return KL_ENOMEM;
        }
    for (size_t i = 0; i < n; i++) {
        if (codes[i] < 0)
            ks->miss[i] = 1;
        else
            ks->w[i * nk + k] = ids[codes[i]];
    }
    free(ids);
    return 0;
}

/* Encode column j of f, a number, time or bool, into w[i*nk + k]. */
static void encode_scalar(const kl_frame *f, size_t j, struct keys *ks, size_t nk, size_t k)
{
    size_t n = kl_frame_row_count(f);
    uint64_t *w = ks->w + k;
    switch (kl_frame_col_kind(f, j)) {
    case KL_COL_KIND_NUMERIC: {
        const double *v = kl_frame_col_f64(f, j);
        for (size_t i = 0; i < n; i++) {
            if (isnan(v[i]))
                ks->miss[i] = 1;
            else
                w[i * nk] = f64_word(v[i]);
        }
        break;
    }
    case KL_COL_KIND_TIME: {
        const int64_t *v = kl_frame_col_time(f, j);
        for (size_t i = 0; i < n; i++) {
            if (v[i] == KL_TIME_MISSING)
                ks->miss[i] = 1;
            else
                w[i * nk] = (uint64_t)v[i];
        }
        break;
    }
    case KL_COL_KIND_BOOL: {
        const uint8_t *v = kl_frame_col_bool(f, j);
        for (size_t i = 0; i < n; i++) {
            if (v[i] == KL_BOOL_MISSING)
                ks->miss[i] = 1;
            else
                w[i * nk] = v[i];
        }
        break;
    }
    default:
        KL_ASSERT(0);
    }
}

static int is_string_kind(enum kl_col_kind k)
{
    return k == KL_COL_KIND_CATEGORICAL || k == KL_COL_KIND_TEXT;
}

/* Index of column name in f, or a KL_ENOTFOUND error naming the side. */
static int find_col(const kl_frame *f, const char *name, const char *what, const char *side,
                    size_t *j, kl_err *err)
{
    long idx = kl_frame_col_index(f, name);
    if (idx < 0)
        return kl_err_set(err, KL_ENOTFOUND, "no %s column '%s' in %s", what, name, side);
    *j = (size_t)idx;
    return 0;
}

static int keys_alloc(struct keys *ks, size_t n, size_t nk)
{
    ks->n = n;
    ks->w = xcalloc(n, nk ? nk * sizeof *ks->w : 1);
    ks->miss = xcalloc(n, 1);
    ks->gid = xcalloc(n, sizeof *ks->gid);
    if (!ks->w || !ks->miss || !ks->gid)
        return KL_ENOMEM;
    if (nk && n > SIZE_MAX / nk / sizeof *ks->w)
        return KL_ENOMEM;
    return 0;
}

/* Encode every key column of both sides; checks names and types. */
static int encode_keys(const kl_frame *a, const kl_frame *b, const kl_join_opts *o, const char *na,
                       const char *nb, struct keys *ka, struct keys *kb, kl_err *err)
{
    size_t nk = o->n_keys, cap = 0;
    int rc = 0;
    size_t *ja = xcalloc(nk, sizeof *ja), *jb = xcalloc(nk, sizeof *jb);
    if (!ja || !jb) {
        free(ja);
        free(jb);
        return nomem(err);
    }
    for (size_t k = 0; k < nk; k++) {
        const char *name = o->keys[k];
        if ((rc = find_col(a, name, "key", na, &ja[k], err)) < 0 ||
            (rc = find_col(b, name, "key", nb, &jb[k], err)) < 0)
            goto done;
        for (size_t q = 0; q < k; q++)
            if (!strcmp(o->keys[q], name)) {
                rc = kl_err_set(err, KL_EINVAL, "key column '%s' is given twice", name);
                goto done;
            }
        if (o->asof && (!strcmp(o->asof, name) || !strcmp(asof_b(o), name))) {
            rc = kl_err_set(err, KL_EINVAL,
                            "column '%s' cannot be both the as-of time and a by key", name);
            goto done;
        }
        enum kl_col_kind ca = kl_frame_col_kind(a, ja[k]), cb = kl_frame_col_kind(b, jb[k]);
        if (ca != cb && !(is_string_kind(ca) && is_string_kind(cb))) {
            rc = kl_err_set(err, KL_EINVAL,
                            "key column '%s' is %s in %s but %s in %s; give both the same type",
                            name, kl_type_name(kl_frame_col_type(a, ja[k])), na,
                            kl_type_name(kl_frame_col_type(b, jb[k])), nb);
            goto done;
        }
        if (is_string_kind(ca)) {
            size_t nd = 0;
            kl_frame_col_dict(a, ja[k], &nd);
            cap += ca == KL_COL_KIND_TEXT ? kl_frame_row_count(a) : nd;
            kl_frame_col_dict(b, jb[k], &nd);
            cap += cb == KL_COL_KIND_TEXT ? kl_frame_row_count(b) : nd;
        }
    }
    if (keys_alloc(ka, kl_frame_row_count(a), nk) < 0 ||
        keys_alloc(kb, kl_frame_row_count(b), nk) < 0) {
        rc = nomem(err);
        goto done;
    }
    /* One interner per key column keeps ids small; strings of different columns never meet. */
    for (size_t k = 0; k < nk; k++) {
        if (!is_string_kind(kl_frame_col_kind(a, ja[k]))) {
            encode_scalar(a, ja[k], ka, nk, k);
            encode_scalar(b, jb[k], kb, nk, k);
            continue;
        }
        struct interner in = {0};
        in.cap = cap;
        in.keys = xcalloc(cap, sizeof *in.keys);
        if (!in.keys || kl__strset_init(&in.set, cap) < 0 ||
            encode_strings(&in, a, ja[k], ka, nk, k) < 0 ||
            encode_strings(&in, b, jb[k], kb, nk, k) < 0)
            rc = nomem(err);
        kl__strset_release(&in.set);
        free(in.keys);
        if (rc < 0)
            goto done;
    }
    rc = 0;
done:
    free(ja);
    free(jb);
    return rc;
}

/* ---- grouping ---- */

/*
 * Give every row of both sides a group id: distinct keys of the build side
 * get 0, 1, ... in order of first appearance; probe rows get their key's
 * group or -1. *n_groups receives the count.
 */
static int group_rows(struct keys *build, struct keys *probe, size_t nk, size_t *n_groups)
{
    if (nk == 0) { /* no keys: one group */
        for (size_t i = 0; i < build->n; i++)
            build->gid[i] = build->miss[i] ? -1 : 0;
        for (size_t i = 0; i < probe->n; i++)
            probe->gid[i] = probe->miss[i] ? -1 : 0;
        *n_groups = 1;
        return 0;
    }
    size_t cap = 16;
    while (cap < 2 * build->n)
        cap <<= 1;
    int64_t *slot = malloc(cap * sizeof *slot);
    uint64_t *hs = malloc(cap * sizeof *hs);
    size_t *rep = xcalloc(build->n, sizeof *rep);
    if (!slot || !hs || !rep) {
        free(slot);
        free(hs);
        free(rep);
        return KL_ENOMEM;
    }
    for (size_t s = 0; s < cap; s++)
        slot[s] = -1;
    size_t ng = 0, mask = cap - 1;
    for (size_t i = 0; i < build->n; i++) {
        if (build->miss[i]) {
            build->gid[i] = -1;
            continue;
        }
        const uint64_t *w = build->w + i * nk;
        uint64_t h = key_hash(w, nk);
        size_t s = (size_t)h & mask;
        while (slot[s] >= 0 && !(hs[s] == h && key_eq(build->w + rep[slot[s]] * nk, w, nk)))
            s = (s + 1) & mask;
        if (slot[s] < 0) {
            slot[s] = (int64_t)ng;
            hs[s] = h;
            rep[ng++] = i;
        }
        build->gid[i] = slot[s];
    }
    for (size_t i = 0; i < probe->n; i++) {
        probe->gid[i] = -1;
        if (probe->miss[i])
            continue;
        const uint64_t *w = probe->w + i * nk;
        uint64_t h = key_hash(w, nk);
        size_t s = (size_t)h & mask;
        while (slot[s] >= 0 && !(hs[s] == h && key_eq(build->w + rep[slot[s]] * nk, w, nk)))
            s = (s + 1) & mask;
        probe->gid[i] = slot[s];
    }
    free(slot);
    free(hs);
    free(rep);
    *n_groups = ng;
    return 0;
}

/* ---- equality join ---- */

static int equi_join(const struct keys *ka, const struct keys *kb, size_t ng, enum kl_join_how how,
                     size_t **ia_out, size_t **ib_out, size_t *n_out, kl_join_report *r,
                     kl_err *err)
{
    int rc = 0;
    size_t *ca = xcalloc(ng, sizeof *ca), *cb = xcalloc(ng, sizeof *cb);
    size_t *off = xcalloc(ng + 1, sizeof *off), *order = xcalloc(kb->n, sizeof *order);
    size_t *ia = NULL, *ib = NULL;
    if (!ca || !cb || !off || !order) {
        rc = nomem(err);
        goto done;
    }
    for (size_t i = 0; i < ka->n; i++)
        if (ka->gid[i] >= 0)
            ca[ka->gid[i]]++;
    for (size_t i = 0; i < kb->n; i++)
        if (kb->gid[i] >= 0)
            cb[kb->gid[i]]++;
    for (size_t g = 0; g < ng; g++) {
        off[g + 1] = off[g] + cb[g];
        if (ca[g] && cb[g]) {
            if (ca[g] > 1) {
                r->dup_keys_a++;
                r->dup_rows_a += ca[g];
            }
            if (cb[g] > 1) {
                r->dup_keys_b++;
                r->dup_rows_b += cb[g];
            }
        }
    }
    size_t total = 0;
    for (size_t i = 0; i < ka->n; i++) {
        size_t m = ka->gid[i] >= 0 ? cb[ka->gid[i]] : 0;
        if (!m)
            r->unmatched_a++;
        if (!m && how == KL_JOIN_HOW_LEFT)
            m = 1;
        if (total > SIZE_MAX / (2 * sizeof(size_t)) - m) {
            rc = kl_err_set(err, KL_ERANGE, "the join would have more than %zu rows",
                            SIZE_MAX / (2 * sizeof(size_t)));
            goto done;
        }
        total += m;
    }
    for (size_t i = 0; i < kb->n; i++)
        if (kb->gid[i] < 0 || !ca[kb->gid[i]])
            r->unmatched_b++;
    {
        size_t *fill = cb; /* reused as the next free slot per group */
        for (size_t g = 0; g < ng; g++)
            fill[g] = off[g];
        for (size_t i = 0; i < kb->n; i++)
            if (kb->gid[i] >= 0)
                order[fill[kb->gid[i]]++] = i;
    }
    ia = xcalloc(total, sizeof *ia);
    ib = xcalloc(total, sizeof *ib);
    if (!ia || !ib) {
        rc = nomem(err);
        goto done;
    }
    size_t o = 0;
    for (size_t i = 0; i < ka->n; i++) {
        int64_t g = ka->gid[i];
        size_t lo = g >= 0 ? off[g] : 0, hi = g >= 0 ? off[g + 1] : 0;
        if (lo == hi && how == KL_JOIN_HOW_LEFT) {
            ia[o] = i;
            ib[o++] = NO_ROW;
        }
        for (size_t p = lo; p < hi; p++) {
            ia[o] = i;
            ib[o++] = order[p];
        }
    }
    KL_ASSERT(o == total);
    *ia_out = ia;
    *ib_out = ib;
    *n_out = total;
    ia = ib = NULL;
done:
    free(ca);
    free(cb);
    free(off);
    free(order);
    free(ia);
    free(ib);
    return rc;
}

/* ---- as-of join ---- */

struct trip {
    uint64_t g, t; /* group, order-preserving time word */
    size_t row;
};

static int trip_cmp(const void *x, const void *y)
{
    const struct trip *p = x, *q = y;
    if (p->g != q->g)
        return p->g < q->g ? -1 : 1;
    if (p->t != q->t)
        return p->t < q->t ? -1 : 1;
    return (p->row > q->row) - (p->row < q->row);
}

/* The time column as order-preserving words; miss[i] set for missing times. */
static void time_words(const kl_frame *f, size_t j, uint64_t *t, uint8_t *miss)
{
    size_t n = kl_frame_row_count(f);
    if (kl_frame_col_kind(f, j) == KL_COL_KIND_TIME) {
        const int64_t *v = kl_frame_col_time(f, j);
        for (size_t i = 0; i < n; i++) {
            if (v[i] == KL_TIME_MISSING)
                miss[i] = 1;
            else
                t[i] = i64_word(v[i]);
        }
    } else {
        const double *v = kl_frame_col_f64(f, j);
        for (size_t i = 0; i < n; i++) {
            if (isnan(v[i]))
                miss[i] = 1;
            else
                t[i] = f64_word(v[i]);
        }
    }
}

/* Triples of the rows with a group and a time, sorted; counts repeated (group, time) pairs. */
static struct trip *sorted_trips(const struct keys *ks, const uint64_t *t, size_t *n,
                                 size_t *dup_keys, size_t *dup_rows)
{
    struct trip *tr = xcalloc(ks->n, sizeof *tr);
    if (!tr)
        return NULL;
    size_t m = 0;
    for (size_t i = 0; i < ks->n; i++)
        if (ks->gid[i] >= 0 && !ks->miss[i])
            tr[m++] = (struct trip){(uint64_t)ks->gid[i], t[i], i};
    qsort(tr, m, sizeof *tr, trip_cmp);
    for (size_t i = 0; i < m;) {
        size_t e = i + 1;
        while (e < m && tr[e].g == tr[i].g && tr[e].t == tr[i].t)
            e++;
        if (e - i > 1) {
            (*dup_keys)++;
            *dup_rows += e - i;
        }
        i = e;
    }
    *n = m;
    return tr;
}

/* Parse the tolerance for a time (microseconds) or numeric as-of column. */
static int parse_tolerance(const char *text, int is_time, double *num, uint64_t *us, kl_err *err)
{
    char *end = NULL;
    errno = 0;
    if (!is_time) {
        double v = strtod(text, &end);
        if (end == text || *end || errno || !(v >= 0) || isinf(v))
            return kl_err_set(err, KL_EINVAL,
                              "cannot parse tolerance '%s' as a non-negative number", text);
        *num = v;
        return 0;
    }
    static const struct {
        const char *unit;
        uint64_t us;
    } units[] = {
        {"us", 1},         {"ms", 1000},         {"s", 1000000},        {"m", 60000000},
        {"min", 60000000}, {"h", 3600000000ULL}, {"d", 86400000000ULL}, {"w", 604800000000ULL}};
    if (text[0] < '0' || text[0] > '9')
        goto bad;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno)
        goto bad;
    for (size_t u = 0; u < KL_ARRAY_LEN(units); u++)
        if (!strcmp(end, units[u].unit)) {
            if (v > UINT64_MAX / units[u].us)
                goto bad;
            *us = (uint64_t)v * units[u].us;
            return 0;
        }
bad:
    return kl_err_set(err, KL_EINVAL,
                      "cannot parse tolerance '%s' as a duration (a whole number with a unit: "
                      "us, ms, s, m, h, d or w, as in '7d')",
                      text);
}

static int asof_join(const kl_frame *a, const kl_frame *b, size_t ta, size_t tb, struct keys *ka,
                     struct keys *kb, const kl_join_opts *o, size_t **ia_out, size_t **ib_out,
                     size_t *n_out, kl_join_report *r, kl_err *err)
{
    int is_time = kl_frame_col_kind(a, ta) == KL_COL_KIND_TIME;
    double tol_num = 0;
    uint64_t tol_us = 0;
    int rc;
    if (o->tolerance && (rc = parse_tolerance(o->tolerance, is_time, &tol_num, &tol_us, err)) < 0)
        return rc;
    size_t na = ka->n, nb = kb->n, ma = 0, mb = 0;
    uint64_t *twa = xcalloc(na, sizeof *twa), *twb = xcalloc(nb, sizeof *twb);
    size_t *match = xcalloc(na, sizeof *match), *ia = NULL, *ib = NULL;
    uint8_t *used = xcalloc(nb, 1);
    struct trip *tra = NULL, *trb = NULL;
    rc = 0;
    if (!twa || !twb || !match || !used) {
        rc = nomem(err);
        goto done;
    }
    time_words(a, ta, twa, ka->miss);
    time_words(b, tb, twb, kb->miss);
    for (size_t i = 0; i < na; i++)
        r->missing_key_a += ka->miss[i];
    for (size_t i = 0; i < nb; i++)
        r->missing_key_b += kb->miss[i];
    if (!(tra = sorted_trips(ka, twa, &ma, &r->dup_keys_a, &r->dup_rows_a)) ||
        !(trb = sorted_trips(kb, twb, &mb, &r->dup_keys_b, &r->dup_rows_b))) {
        rc = nomem(err);
        goto done;
    }
    for (size_t i = 0; i < na; i++)
        match[i] = NO_ROW;
    const int64_t *va = is_time ? kl_frame_col_time(a, ta) : NULL;
    const int64_t *vb = is_time ? kl_frame_col_time(b, tb) : NULL;
    const double *da = is_time ? NULL : kl_frame_col_f64(a, ta);
    const double *db = is_time ? NULL : kl_frame_col_f64(b, tb);
    size_t p = 0;
    for (size_t q = 0; q < ma; q++) {
        const struct trip *x = &tra[q];
        while (p < mb && (trb[p].g < x->g || (trb[p].g == x->g && trb[p].t <= x->t)))
            p++;
        if (p == 0 || trb[p - 1].g != x->g)
            continue;
        size_t i = x->row, k = trb[p - 1].row;
        KL_ASSERT(trb[p - 1].t <= x->t); /* never a row from A's future */
        if (o->tolerance) {
            int far =
                is_time ? (uint64_t)va[i] - (uint64_t)vb[k] > tol_us : da[i] - db[k] > tol_num;
            if (far) {
                r->beyond_tolerance++;
                continue;
            }
        }
        match[i] = k;
        used[k] = 1;
    }
    size_t total = 0;
    for (size_t i = 0; i < na; i++) {
        if (match[i] == NO_ROW)
            r->unmatched_a++;
        if (match[i] != NO_ROW || o->how == KL_JOIN_HOW_LEFT)
            total++;
    }
    for (size_t k = 0; k < nb; k++)
        r->unmatched_b += !used[k];
    ia = xcalloc(total, sizeof *ia);
    ib = xcalloc(total, sizeof *ib);
    if (!ia || !ib) {
        rc = nomem(err);
        goto done;
    }
    size_t out = 0;
    for (size_t i = 0; i < na; i++)
        if (match[i] != NO_ROW || o->how == KL_JOIN_HOW_LEFT) {
            ia[out] = i;
            ib[out++] = match[i];
        }
    *ia_out = ia;
    *ib_out = ib;
    *n_out = total;
    ia = ib = NULL;
done:
    free(twa);
    free(twb);
    free(match);
    free(used);
    free(tra);
    free(trb);
    free(ia);
    free(ib);
    return rc;
}

/* ---- the result frame ---- */

/* A fresh array of n items of size sz (1 byte when n is 0, so never NULL on success). */
static void *alloc_n(size_t n, size_t sz)
{
    return n ? (n > SIZE_MAX / sz ? NULL : malloc(n * sz)) : malloc(1);
}

/*
 * Add column j of f gathered at idx[0..n) (NO_ROW: missing) to out under
 * name. The gathered array is handed to the frame (kl__frame_adopt_*), not
 * copied again.
 */
static int add_gathered(kl_frame *out, const kl_frame *f, size_t j, const char *name,
                        const size_t *idx, size_t n, kl_err *err)
{
    enum kl_type type = kl_frame_col_type(f, j);
    switch (kl_frame_col_kind(f, j)) {
    case KL_COL_KIND_NUMERIC: {
        const double *s = kl_frame_col_f64(f, j);
        double *d = alloc_n(n, sizeof *d);
        if (!d)
            return nomem(err);
        for (size_t i = 0; i < n; i++)
            d[i] = idx[i] == NO_ROW ? NAN : s[idx[i]];
        return kl__frame_adopt_numeric(out, name, type, d, err);
    }
    case KL_COL_KIND_BOOL: {
        const uint8_t *s = kl_frame_col_bool(f, j);
        uint8_t *d = alloc_n(n, sizeof *d);
        if (!d)
            return nomem(err);
        for (size_t i = 0; i < n; i++)
            d[i] = idx[i] == NO_ROW ? KL_BOOL_MISSING : s[idx[i]];
        return kl__frame_adopt_bool(out, name, d, err);
    }
    case KL_COL_KIND_CATEGORICAL: {
        size_t nd = 0;
        const char *const *dict = kl_frame_col_dict(f, j, &nd);
        const int32_t *s = kl_frame_col_codes(f, j);
        int32_t *d = alloc_n(n, sizeof *d);
        char **dd = alloc_n(nd, sizeof *dd), *pool = NULL;
        if (!d || !dd || kl__strings_copy(dict, nd, dd, &pool) < 0) {
            free(d);
            free(dd);
            return nomem(err);
        }
        for (size_t i = 0; i < n; i++)
            d[i] = idx[i] == NO_ROW ? KL_CAT_MISSING : s[idx[i]];
        return kl__frame_adopt_categorical(out, name, d, dd, nd, pool, err);
    }
    case KL_COL_KIND_TEXT: {
        const char *const *s = kl_frame_col_text(f, j);
        char **d = alloc_n(n, sizeof *d), *pool = NULL;
        if (!d)
            return nomem(err);
        for (size_t i = 0; i < n; i++)
            d[i] = idx[i] == NO_ROW ? NULL : (char *)s[idx[i]];
        if (kl__strings_copy((const char *const *)d, n, d, &pool) < 0) {
            free(d);
            return nomem(err);
        }
        return kl__frame_adopt_text(out, name, d, pool, err);
    }
    case KL_COL_KIND_TIME: {
        const int64_t *s = kl_frame_col_time(f, j);
        int64_t *d = alloc_n(n, sizeof *d);
        if (!d)
            return nomem(err);
        for (size_t i = 0; i < n; i++)
            d[i] = idx[i] == NO_ROW ? KL_TIME_MISSING : s[idx[i]];
        return kl__frame_adopt_time(out, name, type, d, kl_frame_col_time_format(f, j), err);
    }
    }
    KL_ASSERT(0);
    return KL_EINVAL;
}

/* 1 if name is one of the merged columns (the keys, and the as-of column when one name). */
static int is_merged(const kl_join_opts *o, const char *name)
{
    for (size_t k = 0; k < o->n_keys; k++)
        if (!strcmp(o->keys[k], name))
            return 1;
    return o->asof && !strcmp(o->asof, name) && !strcmp(asof_b(o), o->asof);
}

/* Column name, with suffix when the other side also has a column called that. */
static int out_name(const kl_join_opts *o, const char *name, const kl_frame *other,
                    const char *suffix, char *buf, size_t n, kl_err *err)
{
    int clash = !is_merged(o, name) && kl_frame_col_index(other, name) >= 0;
    int w = snprintf(buf, n, "%s%s", name, clash ? suffix : "");
    if (w < 0 || (size_t)w >= n)
        return kl_err_set(err, KL_EINVAL, "column name '%.40s...' is too long", name);
    return 0;
}

static int build_frame(const kl_frame *a, const kl_frame *b, const kl_join_opts *o,
                       const size_t *ia, const size_t *ib, size_t n, kl_frame **out, kl_err *err)
{
    kl_frame *f = kl_frame_new(n);
    char name[1024];
    int rc = 0;
    if (!f) {
        rc = nomem(err);
        goto done;
    }
    for (size_t j = 0; j < kl_frame_col_count(a); j++)
        if ((rc = out_name(o, kl_frame_col_name(a, j), b, "_x", name, sizeof name, err)) < 0 ||
            (rc = add_gathered(f, a, j, name, ia, n, err)) < 0)
            goto done;
    for (size_t j = 0; j < kl_frame_col_count(b); j++) {
        if (is_merged(o, kl_frame_col_name(b, j)))
            continue;
        if ((rc = out_name(o, kl_frame_col_name(b, j), a, "_y", name, sizeof name, err)) < 0 ||
            (rc = add_gathered(f, b, j, name, ib, n, err)) < 0)
            goto done;
    }
    unsigned va = kl_frame_infer_version(a), vb = kl_frame_infer_version(b);
    kl_frame_set_infer_version(f, va == vb ? va : 0);
    *out = f;
    f = NULL;
done:
    if (rc < 0 && err->code == KL_EINVAL && strstr(err->msg, "duplicate column name")) {
        char msg[KL_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err->msg);
        kl_err_set(err, KL_EINVAL, "%s in the joined table; rename it in one input", msg);
    }
    kl_frame_free(f);
    return rc;
}

/* ---- entry points ---- */

const char *kl_join_relation(const kl_join_report *r)
{
    static const char *const names[] = {"one-to-one", "one-to-many", "many-to-one", "many-to-many"};
    return names[(r->dup_keys_a ? 2 : 0) + (r->dup_keys_b ? 1 : 0)];
}

int kl_join(const kl_frame *a, const kl_frame *b, const kl_join_opts *o, kl_frame **out,
            kl_join_report *rep, kl_err *err)
{
    kl_join_report r = {0};
    struct keys ka = {0}, kb = {0};
    size_t *ia = NULL, *ib = NULL, n = 0, ng = 0, ta = 0, tb = 0;
    const char *na = o->name_a ? o->name_a : "A", *nb = o->name_b ? o->name_b : "B";
    int rc;
    *out = NULL;
    if (rep)
        *rep = r;
    if (!o->asof && !o->n_keys)
        return kl_err_set(err, KL_EINVAL, "a join needs at least one key column or a time column");
    if (o->how != KL_JOIN_HOW_INNER && o->how != KL_JOIN_HOW_LEFT)
        return kl_err_set(err, KL_EINVAL, "unknown join kind %d", (int)o->how);
    if (o->tolerance && !o->asof)
        return kl_err_set(err, KL_EINVAL, "a tolerance applies only to an as-of join");
    if (o->asof) {
        if ((rc = find_col(a, o->asof, "time", na, &ta, err)) < 0 ||
            (rc = find_col(b, asof_b(o), "time", nb, &tb, err)) < 0)
            return rc;
        enum kl_col_kind ca = kl_frame_col_kind(a, ta), cb = kl_frame_col_kind(b, tb);
        int ok_a = ca == KL_COL_KIND_TIME || ca == KL_COL_KIND_NUMERIC;
        int ok_b = cb == KL_COL_KIND_TIME || cb == KL_COL_KIND_NUMERIC;
        if ((!ok_a || !ok_b || ca != cb) && !o->asof_b)
            return kl_err_set(err, KL_EINVAL,
                              "as-of column '%s' is %s in %s and %s in %s; both must be dates or "
                              "times, or both numbers",
                              o->asof, kl_type_name(kl_frame_col_type(a, ta)), na,
                              kl_type_name(kl_frame_col_type(b, tb)), nb);
        if (!ok_a || !ok_b || ca != cb)
            return kl_err_set(err, KL_EINVAL,
                              "as-of columns '%s' (%s in %s) and '%s' (%s in %s) must both be "
                              "dates or times, or both numbers",
                              o->asof, kl_type_name(kl_frame_col_type(a, ta)), na, o->asof_b,
                              kl_type_name(kl_frame_col_type(b, tb)), nb);
    }
    r.rows_a = kl_frame_row_count(a);
    r.rows_b = kl_frame_row_count(b);
    if ((rc = encode_keys(a, b, o, na, nb, &ka, &kb, err)) < 0)
        goto done;
    if (!o->asof)
        for (size_t i = 0; i < ka.n; i++)
            r.missing_key_a += ka.miss[i];
    if (!o->asof)
        for (size_t i = 0; i < kb.n; i++)
            r.missing_key_b += kb.miss[i];
    rc = ka.n <= kb.n ? group_rows(&ka, &kb, o->n_keys, &ng) : group_rows(&kb, &ka, o->n_keys, &ng);
    if (rc < 0) {
        rc = nomem(err);
        goto done;
    }
    if (o->asof)
        rc = asof_join(a, b, ta, tb, &ka, &kb, o, &ia, &ib, &n, &r, err);
    else
        rc = equi_join(&ka, &kb, ng, o->how, &ia, &ib, &n, &r, err);
    if (rc < 0 || (rc = build_frame(a, b, o, ia, ib, n, out, err)) < 0)
        goto done;
    r.rows_out = n;
    if (rep)
        *rep = r;
done:
    keys_release(&ka);
    keys_release(&kb);
    free(ia);
    free(ib);
    return rc;
}
