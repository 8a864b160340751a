/*
 * Data profile: one pass per column (in parallel over columns), then the
 * whole table (duplicate rows, memory), then pairwise association
 * (profile_assoc.c), then alerts.
 *
 * Invariants: every column's statistics are computed by one task that reads
 * only its column (and the target's classes), so results do not depend on the
 * thread count; row-chunk work (row hashes) writes per-row outputs only.
 *
 * Why this design: each numeric column is sorted once, by a stable LSD radix
 * sort on order-preserving 64-bit keys carrying row indices. That one sort
 * gives exact quantiles, distinct values, the most common values (as runs),
 * average ranks for Spearman and the single-feature AUC against a binary
 * target, which is far cheaper than the separate passes (and hash tables)
 * pandas makes for describe, quantile, value_counts and rank.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "keel/parallel.h"
#include "keel/profile.h"
#include "data/parse.h"
#include "profile_internal.h"
#include "core/mem.h"
#include "core/common.h"

const double kl_profile_quantile_levels[KL_PROFILE_N_QUANTILES] = {0.01, 0.05, 0.25, 0.5,
                                                                   0.75, 0.95, 0.99};

kl_profile_thresholds kl_profile_thresholds_default(void)
{
    return (kl_profile_thresholds){.missing = 0.01,
                                   .zeros = 0.01,
                                   .infinite = 0.01,
                                   .duplicates = 0.01,
                                   .skewed = 20,
                                   .high_cardinality = 50,
                                   .imbalance = 0.5,
                                   .high_correlation = 0.9,
                                   .leakage = 0.98,
                                   .date_like = 0.9};
}

static const char *const alert_names[KL_PROFILE_ALERT_COUNT] = {
    "empty",           "constant",   "missing",          "high_cardinality", "unique",
    "skewed",          "zeros",      "infinite",         "imbalance",        "type_date",
    "constant_length", "duplicates", "high_correlation", "target_leakage"};

const char *kl_profile_alert_name(enum kl_profile_alert_kind kind)
{
    return (unsigned)kind < KL_PROFILE_ALERT_COUNT ? alert_names[kind] : "unknown";
}

const char *kl_profile_measure_name(enum kl_profile_measure m)
{
    switch (m) {
    case KL_PROFILE_MEASURE_PEARSON:
        return "pearson";
    case KL_PROFILE_MEASURE_CRAMERS_V:
        return "cramers_v";
    case KL_PROFILE_MEASURE_ETA:
        return "correlation_ratio";
    case KL_PROFILE_MEASURE_AUC:
        return "auc";
    case KL_PROFILE_MEASURE_NONE:
        break;
    }
    return "none";
}

/* ---- sorting ---- */

#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)
#define RADIX_PASSES 6

void kl__radix_sort_u64(uint64_t *keys, uint32_t *idx, uint64_t *kt, uint32_t *it, size_t n)
{
    size_t *hist = calloc((size_t)RADIX_PASSES * RADIX_SIZE, sizeof *hist);
    if (!hist) {
        /* Insertion sort keeps the contract without memory (only reached when memory is gone). */
        for (size_t i = 1; i < n; i++) {
            uint64_t k = keys[i];
            uint32_t x = idx[i];
            size_t j = i;
            for (; j > 0 && keys[j - 1] > k; j--) {
                keys[j] = keys[j - 1];
                idx[j] = idx[j - 1];
            }
            keys[j] = k;
            idx[j] = x;
        }
        return;
    }
    for (size_t i = 0; i < n; i++)
        for (unsigned p = 0; p < RADIX_PASSES; p++)
            hist[p * RADIX_SIZE + ((keys[i] >> (p * RADIX_BITS)) & (RADIX_SIZE - 1))]++;
    uint64_t *src_k = keys, *dst_k = kt;
    uint32_t *src_i = idx, *dst_i = it;
    for (unsigned p = 0; p < RADIX_PASSES; p++) {
        size_t *h = hist + p * RADIX_SIZE;
        int trivial = 0;
        for (unsigned d = 0; d < RADIX_SIZE; d++)
            if (h[d] == n) {
                trivial = 1;
                break;
            }
        if (trivial)
            continue;
        size_t sum = 0;
        for (unsigned d = 0; d < RADIX_SIZE; d++) {
            size_t c = h[d];
            h[d] = sum;
            sum += c;
        }
        unsigned shift = p * RADIX_BITS;
        for (size_t i = 0; i < n; i++) {
            size_t pos = h[(src_k[i] >> shift) & (RADIX_SIZE - 1)]++;
            dst_k[pos] = src_k[i];
            dst_i[pos] = src_i[i];
        }
        uint64_t *tk = src_k;
        src_k = dst_k;
        dst_k = tk;
        uint32_t *ti = src_i;
        src_i = dst_i;
        dst_i = ti;
    }
    if (src_k != keys) {
        memcpy(keys, src_k, n * sizeof *keys);
        memcpy(idx, src_i, n * sizeof *idx);
    }
    free(hist);
}

static uint64_t key_of_double(double x)
{
    uint64_t b;
    if (x == 0)
        x = 0; /* -0.0 sorts and counts as 0.0 */
    memcpy(&b, &x, sizeof b);
    return (b >> 63) ? ~b : b | (UINT64_C(1) << 63);
}

static double double_of_key(uint64_t k)
{
    uint64_t b = (k >> 63) ? k & ~(UINT64_C(1) << 63) : ~k;
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* ---- most common values ---- */

/* Keep the KL_PROFILE_TOP largest runs: count descending, earlier value first on ties. */
typedef struct top_run {
    size_t count;
    size_t row; /* a row holding the value, for rendering */
    size_t order;
} top_run;

static void top_offer(top_run *top, size_t *n_top, size_t count, size_t row, size_t order)
{
    size_t k = *n_top;
    if (k == KL_PROFILE_TOP && top[k - 1].count >= count)
        return;
    if (k < KL_PROFILE_TOP)
        (*n_top)++;
    else
        k--;
    while (k > 0 &&
           (top[k - 1].count < count || (top[k - 1].count == count && top[k - 1].order > order))) {
        top[k] = top[k - 1];
        k--;
    }
    top[k] = (top_run){count, row, order};
}

static int top_render(const kl_frame *f, size_t j, kl_profile_column *c, const top_run *top,
                      size_t n_top)
{
    char buf[512];
    for (size_t k = 0; k < n_top; k++) {
        kl_frame_cell_str(f, top[k].row, j, buf, sizeof buf);
        c->top[k].value = strdup(buf);
        if (!c->top[k].value)
            return KL_ENOMEM;
        c->top[k].count = top[k].count;
        c->n_top = k + 1;
    }
    return 0;
}

/* ---- scratch ---- */

/*
 * On the machines keel runs on, touching fresh memory (the kernel zeroing
 * each page on its first fault) can cost more than the statistics computed in
 * it, so a profile touches as little new memory as it can: one sort buffer per
 * thread that every column task reuses (and the duplicate-row pass after
 * them), and compact ranks (kl__rank). Large buffers ask for transparent huge
 * pages and are populated in one call rather than fault by fault.
 */

struct kl__prof_scratch {
    atomic_int busy;
    void *buf;
    size_t size;
};

/* A free scratch buffer of at least size bytes, or NULL when out of memory. */
static struct kl__prof_scratch *scratch_claim(kl__prof *w, size_t size)
{
    for (size_t k = 0;; k = (k + 1) % w->n_scratch) {
        struct kl__prof_scratch *x = &w->scratch[k];
        if (atomic_exchange(&x->busy, 1) != 0)
            continue;
        if (x->size < size) {
            free(x->buf);
            x->buf = kl__big_alloc(size);
            x->size = x->buf ? size : 0;
            if (!x->buf) {
                atomic_store(&x->busy, 0);
                return NULL;
            }
        }
        return x;
    }
}

static void scratch_release(struct kl__prof_scratch *x)
{
    atomic_store(&x->busy, 0);
}

/* The sort buffer of n rows: keys[2n + 1] (u64) then idx[2n + 1] (u32). */
static size_t sort_bytes(size_t n)
{
    return (2 * n + 1) * (sizeof(uint64_t) + sizeof(uint32_t));
}

/* ---- numeric columns ---- */

/*
 * A numeric column is consumed as runs of equal values in ascending order
 * (the value's key, how often it occurs, a row holding it, its first position
 * in sorted order, and with a binary target how many of its rows have a target
 * and how many of those are positive). Both ways of finding the runs (a hash
 * table for columns with few distinct values, a radix sort otherwise) feed
 * them one by one to num_run, between num_begin and num_end.
 */
typedef struct num_acc {
    kl_profile_column *c;
    double mean, m2, m3, m4, bin_lo, scale;
    top_run top[KL_PROFILE_TOP];
    size_t n_top, tpos, n1, n0;
    double rank_pos;
    uint64_t kzero;
    int with_target;
} num_acc;

#define SMALL_SLOTS 16384 /* hash slots of the few-distinct path (power of two) */
#define SMALL_MAX 8192    /* more distinct values than this: radix sort */

static size_t slot_of(uint64_t key)
{
    key ^= key >> 33;
    key *= 0xFF51AFD7ED558CCDu;
    key ^= key >> 33;
    return (size_t)key & (SMALL_SLOTS - 1);
}

static double zero_fperr(double x)
{
    return fabs(x) < 1e-14 ? 0 : x;
}

/* numpy's default (linear) quantile, from the values at sorted positions lo and lo + 1. */
static double quantile_of(double a, double b, size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return a;
    double t = h - (double)lo;
    return t == 0 ? a : a + t * (b - a);
}

static size_t quantile_pos(size_t n, double q)
{
    return (size_t)floor((double)(n - 1) * q);
}

/*
 * Start a column of cnt present values summing to sum, whose smallest and
 * largest finite values are flo and fhi (has_finite 0 when all are infinite).
 */
static void num_begin(num_acc *a, kl_profile_column *c, size_t cnt, double sum, double flo,
                      double fhi, int has_finite, int with_target)
{
    memset(a, 0, sizeof *a);
    a->c = c;
    a->kzero = key_of_double(0);
    a->with_target = with_target;
    c->has_numeric = 1;
    c->count = cnt;
    c->mean = c->std = c->skewness = c->kurtosis = c->min = c->max = NAN;
    for (int q = 0; q < KL_PROFILE_N_QUANTILES; q++)
        c->quantiles[q] = NAN;
    if (!cnt)
        return;
    a->mean = sum / (double)cnt;
    if (has_finite) {
        c->bin_lo = flo;
        c->bin_hi = fhi;
        c->n_bins = flo == fhi ? 1 : KL_PROFILE_BINS;
        a->bin_lo = flo;
        a->scale = flo == fhi ? 0 : (double)c->n_bins / (fhi - flo);
    }
}

static void num_run(num_acc *a, uint64_t key, size_t count, size_t row, size_t pos, size_t k,
                    size_t k1)
{
    kl_profile_column *c = a->c;
    double x = double_of_key(key), kc = (double)count;
    double dv = x - a->mean, d2 = dv * dv;
    a->m2 += kc * d2;
    a->m3 += kc * d2 * dv;
    a->m4 += kc * d2 * d2;
    top_offer(a->top, &a->n_top, count, row, pos);
    if (key == a->kzero)
        c->zeros += count;
    if (x < 0)
        c->negatives += count;
    if (isinf(x)) {
        c->infinite += count;
    } else if (c->n_bins) {
        size_t bin = (size_t)((x - a->bin_lo) * a->scale);
        if (bin >= c->n_bins)
            bin = c->n_bins - 1;
        c->bins[bin] += count;
    }
    if (a->with_target) {
        a->rank_pos += (double)k1 * ((double)a->tpos + ((double)k + 1) / 2);
        a->tpos += k;
        a->n1 += k1;
        a->n0 += k - k1;
    }
}

/* Finish with the distinct count, the extremes and the quantile values (lo, hi per level). */
static int num_end(kl__prof *w, size_t j, num_acc *a, size_t n_runs, double min, double max,
                   const double qv[KL_PROFILE_N_QUANTILES][2])
{
    kl_profile_column *c = a->c;
    c->distinct = n_runs;
    size_t cnt = c->count;
    if (!cnt)
        return 0;
    c->min = min;
    c->max = max;
    double dn = (double)cnt, m2 = a->m2, m3 = a->m3, m4 = a->m4;
    c->mean = a->mean;
    if (cnt > 1)
        c->std = sqrt(m2 / (dn - 1));
    /* pandas' nanskew and nankurt (bias-corrected G1 and G2) */
    m2 = zero_fperr(m2);
    m3 = zero_fperr(m3);
    m4 = zero_fperr(m4);
    if (cnt >= 3)
        c->skewness = m2 == 0 ? 0 : (dn * sqrt(dn - 1) / (dn - 2)) * (m3 / pow(m2, 1.5));
    if (cnt >= 4) {
        double num = dn * (dn + 1) * (dn - 1) * m4, den = (dn - 2) * (dn - 3) * m2 * m2;
        double adj = 3 * (dn - 1) * (dn - 1) / ((dn - 2) * (dn - 3));
        c->kurtosis = den == 0 ? 0 : num / den - adj;
    }
    for (int q = 0; q < KL_PROFILE_N_QUANTILES; q++)
        c->quantiles[q] = quantile_of(qv[q][0], qv[q][1], cnt, kl_profile_quantile_levels[q]);
    if (a->n1 && a->n0) {
        double n1 = (double)a->n1, n0 = (double)a->n0;
        double auc = (a->rank_pos - n1 * (n1 + 1) / 2) / (n1 * n0);
        c->target_assoc = auc < 0.5 ? 1 - auc : auc;
        c->target_measure = KL_PROFILE_MEASURE_AUC;
    }
    return top_render(w->f, j, c, a->top, a->n_top);
}

/*
 * The rank store of column j for n_runs distinct values: width chosen here,
 * or 2 with data (n 16-bit values, taken over) when data is not NULL.
 */
static int rank_alloc(kl__prof *w, size_t j, size_t n_runs, size_t cnt, void *data)
{
    kl__rank *r = &w->rank[j];
    r->width = data ? 2 : n_runs < 256 ? 1 : n_runs < 65536 ? 2 : 4;
    r->mid = ((double)cnt + 1) / 2;
    r->data = data ? data : kl__big_alloc(w->n * r->width);
    if (r->width < 4)
        r->table = malloc((n_runs + 1) * sizeof *r->table);
    if (!r->data || (r->width < 4 && !r->table))
        return KL_ENOMEM;
    if (r->width < 4)
        r->table[n_runs] = 0;
    return 0;
}

static void rank_put(kl__rank *r, size_t i, uint32_t code)
{
    if (r->width == 1)
        ((uint8_t *)r->data)[i] = (uint8_t)code;
    else if (r->width == 2)
        ((uint16_t *)r->data)[i] = (uint16_t)code;
    else
        ((uint32_t *)r->data)[i] = code;
}

typedef struct small_slot {
    uint64_t key;
    uint32_t count, first, k, k1;
} small_slot;

static int cmp_slot_key(const void *a, const void *b)
{
    uint64_t x = ((const small_slot *)a)->key, y = ((const small_slot *)b)->key;
    return (x > y) - (x < y);
}

/* The slot holding key (present). */
static size_t slot_find(const small_slot *tab, uint64_t key)
{
    size_t h = slot_of(key);
    while (tab[h].key != key || !tab[h].count)
        h = (h + 1) & (SMALL_SLOTS - 1);
    return h;
}

/*
 * Few distinct values: count them in a cache-sized hash table, noting each
 * row's slot in what becomes its rank store (16 bits a row), sort the
 * distinct values only, then turn slots into rank codes in row order through
 * a slot-to-code map that fits in L1 (no scatter, no second hash lookup).
 * Returns 1 when done, 0 when the column has more than SMALL_MAX distinct
 * values, or KL_ENOMEM.
 */
static int numeric_small(kl__prof *w, size_t j, const uint8_t *tc)
{
    const double *v = kl_frame_col_f64(w->f, j);
    size_t n = w->n, cnt = 0, n_runs = 0;
    uint16_t *sl = kl__big_alloc(n * sizeof *sl);
    struct kl__prof_scratch *sc = scratch_claim(w, (SMALL_SLOTS + SMALL_MAX) * sizeof(small_slot) +
                                                       SMALL_SLOTS * sizeof(uint16_t));
    if (!sc || !sl) {
        if (sc)
            scratch_release(sc);
        free(sl);
        return KL_ENOMEM;
    }
    small_slot *tab = sc->buf, *r = tab + SMALL_SLOTS;
    uint16_t *code_of = (uint16_t *)(void *)(r + SMALL_MAX);
    memset(tab, 0, SMALL_SLOTS * sizeof *tab);
    double sum = 0;
    int rc = 1;
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        if (isnan(x)) {
            sl[i] = UINT16_MAX;
            continue;
        }
        sum += x;
        cnt++;
        uint64_t key = key_of_double(x);
        size_t h = slot_of(key);
        while (tab[h].count && tab[h].key != key)
            h = (h + 1) & (SMALL_SLOTS - 1);
        if (!tab[h].count) {
            if (n_runs == SMALL_MAX) {
                rc = 0;
                goto done;
            }
            n_runs++;
            tab[h].key = key;
            tab[h].first = (uint32_t)i;
        }
        tab[h].count++;
        sl[i] = (uint16_t)h;
        if (tc && tc[i] != 255) {
            tab[h].k++;
            tab[h].k1 += tc[i];
        }
    }
    size_t d = 0;
    for (size_t h = 0; h < SMALL_SLOTS; h++)
        if (tab[h].count)
            r[d++] = tab[h];
    qsort(r, n_runs, sizeof *r, cmp_slot_key);
    rc = rank_alloc(w, j, n_runs, cnt, sl);
    sl = NULL;
    if (rc < 0)
        goto done;
    rc = 1;
    kl__rank *rk = &w->rank[j];
    num_acc a;
    kl_profile_column *c = &w->p->columns[j];
    size_t lo = 0, hi = n_runs;
    while (lo < hi && isinf(double_of_key(r[lo].key)))
        lo++;
    while (hi > lo && isinf(double_of_key(r[hi - 1].key)))
        hi--;
    num_begin(&a, c, cnt, sum, lo < hi ? double_of_key(r[lo].key) : 0,
              lo < hi ? double_of_key(r[hi - 1].key) : 0, lo < hi, tc != NULL);
    double qv[KL_PROFILE_N_QUANTILES][2];
    int q = 0;
    uint32_t pos = 0;
    for (d = 0; d < n_runs; d++) {
        uint32_t end = pos + r[d].count;
        /* The quantiles' two sorted positions, as they fall in this run or the next ones. */
        for (; q < KL_PROFILE_N_QUANTILES; q++) {
            size_t qp = quantile_pos(cnt, kl_profile_quantile_levels[q]);
            if (qp >= end)
                break;
            qv[q][0] = double_of_key(r[d].key);
            qv[q][1] = qp + 1 < end || d + 1 == n_runs ? qv[q][0] : double_of_key(r[d + 1].key);
        }
        rk->table[d] = (double)pos + ((double)r[d].count + 1) / 2 - rk->mid;
        code_of[slot_find(tab, r[d].key)] = (uint16_t)d;
        num_run(&a, r[d].key, r[d].count, r[d].first, pos, r[d].k, r[d].k1);
        pos = end;
    }
    uint16_t *codes = rk->data;
    for (size_t i = 0; i < n; i++)
        codes[i] = codes[i] == UINT16_MAX ? (uint16_t)n_runs : code_of[codes[i]];
    if (num_end(w, j, &a, n_runs, cnt ? double_of_key(r[0].key) : NAN,
                cnt ? double_of_key(r[n_runs - 1].key) : NAN, qv) < 0)
        rc = KL_ENOMEM;
done:
    free(sl); /* the slots of a column that took the sorting path */
    scratch_release(sc);
    return rc;
}

/*
 * rank[idx[i]] = cd[i] for i < cnt, through pairs bucketed by row (2048
 * buckets of consecutive rows, into out[cnt]), so that the final stores of
 * each bucket fall in a few kilobytes.
 */
static void scatter_codes(kl__rank *rk, const uint32_t *idx, const uint32_t *cd, uint64_t *out,
                          size_t cnt, size_t n)
{
    size_t hist[2048] = {0};
    unsigned shift = 0;
    while (n > ((size_t)2048 << shift))
        shift++;
    for (size_t i = 0; i < cnt; i++)
        hist[idx[i] >> shift]++;
    for (size_t b = 0, sum = 0; b < 2048; b++) {
        size_t c = hist[b];
        hist[b] = sum;
        sum += c;
    }
    for (size_t i = 0; i < cnt; i++)
        out[hist[idx[i] >> shift]++] = (uint64_t)cd[i] << 32 | idx[i];
    if (rk->width == 1) {
        uint8_t *r = rk->data;
        for (size_t i = 0; i < cnt; i++)
            r[(uint32_t)out[i]] = (uint8_t)(out[i] >> 32);
    } else if (rk->width == 2) {
        uint16_t *r = rk->data;
        for (size_t i = 0; i < cnt; i++)
            r[(uint32_t)out[i]] = (uint16_t)(out[i] >> 32);
    } else {
        uint32_t *r = rk->data;
        for (size_t i = 0; i < cnt; i++)
            r[(uint32_t)out[i]] = (uint32_t)(out[i] >> 32);
    }
}

/* Many distinct values: one stable radix sort of (key, row) pairs. */
static int numeric_sorted(kl__prof *w, size_t j, const uint8_t *tc)
{
    const double *v = kl_frame_col_f64(w->f, j);
    size_t n = w->n, cnt = 0;
    struct kl__prof_scratch *sc = scratch_claim(w, sort_bytes(n));
    if (!sc)
        return KL_ENOMEM;
    uint64_t *keys = sc->buf;
    uint32_t *idx = (uint32_t *)(void *)(keys + 2 * n + 1);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        if (isnan(x))
            continue;
        sum += x;
        keys[cnt] = key_of_double(x);
        idx[cnt++] = (uint32_t)i;
    }
    kl__radix_sort_u64(keys, idx, keys + n, idx + n, cnt);
    size_t n_runs = 0;
    for (size_t a = 0; a < cnt; a++)
        n_runs += a == 0 || keys[a] != keys[a - 1];
    int rc = rank_alloc(w, j, n_runs, cnt, NULL);
    if (rc < 0)
        goto done;
    kl__rank *rk = &w->rank[j];
    size_t lo = 0, hi = cnt;
    while (lo < hi && isinf(double_of_key(keys[lo])))
        lo++;
    while (hi > lo && isinf(double_of_key(keys[hi - 1])))
        hi--;
    num_acc acc;
    num_begin(&acc, &w->p->columns[j], cnt, sum, lo < hi ? double_of_key(keys[lo]) : 0,
              lo < hi ? double_of_key(keys[hi - 1]) : 0, lo < hi, tc != NULL);
    double qv[KL_PROFILE_N_QUANTILES][2];
    for (int q = 0; cnt && q < KL_PROFILE_N_QUANTILES; q++) {
        size_t qp = quantile_pos(cnt, kl_profile_quantile_levels[q]);
        qv[q][0] = double_of_key(keys[qp]);
        qv[q][1] = qp + 1 < cnt ? double_of_key(keys[qp + 1]) : qv[q][0];
    }
    /*
     * Runs in sorted order, each position's rank code noted beside it (in the
     * sort's free second half); the codes then go back to their rows in two
     * cache-friendly steps, not a million random stores.
     */
    uint32_t *cd = (uint32_t *)(void *)(keys + n);
    uint64_t kmin = cnt ? keys[0] : 0, kmax = cnt ? keys[cnt - 1] : 0;
    size_t d = 0;
    for (size_t a = 0; a < cnt; d++) {
        size_t b = a + 1, k = 0, k1 = 0;
        while (b < cnt && keys[b] == keys[a])
            b++;
        uint32_t code = (uint32_t)d;
        if (rk->width < 4)
            rk->table[d] = (double)a + ((double)(b - a) + 1) / 2 - rk->mid;
        else
            code = (uint32_t)(2 * a + (b - a) + 1);
        for (size_t i = a; i < b; i++) {
            cd[i] = code;
            if (tc && tc[idx[i]] != 255) {
                k++;
                k1 += tc[idx[i]];
            }
        }
        num_run(&acc, keys[a], b - a, idx[a], a, k, k1);
        a = b;
    }
    scatter_codes(rk, idx, cd, keys, cnt, n);
    if (cnt < n)
        for (size_t i = 0; i < n; i++)
            if (isnan(v[i]))
                rank_put(rk, i, rk->width < 4 ? (uint32_t)n_runs : 0);
    rc = num_end(w, j, &acc, n_runs, cnt ? double_of_key(kmin) : NAN,
                 cnt ? double_of_key(kmax) : NAN, qv);
done:
    scratch_release(sc);
    return rc;
}

static int profile_numeric(kl__prof *w, size_t j)
{
    const uint8_t *tc = (long)j == w->p->target ? NULL : w->tclass;
    int rc = numeric_small(w, j, tc);
    if (rc == 0)
        rc = numeric_sorted(w, j, tc);
    return rc < 0 ? rc : 0;
}

/* ---- categorical and bool columns ---- */

static int profile_codes(kl__prof *w, size_t j)
{
    kl_profile_column *c = &w->p->columns[j];
    const int32_t *codes = w->codes[j];
    size_t k = w->n_codes[j], n = w->n;
    const char *const *dict =
        c->kind == KL_COL_KIND_CATEGORICAL ? kl_frame_col_dict(w->f, j, NULL) : NULL;
    size_t *cnt = calloc(k ? k : 1, sizeof *cnt), *first = malloc((k ? k : 1) * sizeof *first);
    if (!cnt || !first) {
        free(cnt);
        free(first);
        return KL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        int32_t x = codes[i];
        if (x < 0)
            continue;
        if (!cnt[x])
            first[x] = i;
        cnt[x]++;
        c->count++;
    }
    top_run top[KL_PROFILE_TOP];
    size_t n_top = 0;
    double h = 0;
    for (size_t x = 0; x < k; x++) {
        if (!cnt[x])
            continue;
        c->distinct++;
        /* Ties keep dictionary order for bools (false first) and first appearance otherwise. */
        top_offer(top, &n_top, cnt[x], first[x], first[x]);
        if (dict && kl__time_forms(dict[x], strlen(dict[x])))
            c->date_like += cnt[x];
        double s = (double)cnt[x] / (double)c->count;
        h -= s * log(s);
    }
    c->imbalance = c->distinct > 1 ? 1 - h / log((double)c->distinct) : NAN;
    if (c->imbalance < 0)
        c->imbalance = 0;
    int rc = top_render(w->f, j, c, top, n_top);
    free(cnt);
    free(first);
    return rc;
}

/* ---- text columns ---- */

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 0x9E3779B97F4A7C15u ^ len;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001B3u;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9u;
    return h ^ (h >> 32);
}

static int profile_text(kl__prof *w, size_t j)
{
    kl_profile_column *c = &w->p->columns[j];
    const char *const *t = kl_frame_col_text(w->f, j);
    size_t n = w->n, cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    /* Open addressing: slot holds the first row of a value (+1) and its count. */
    size_t *slot = kl__big_alloc(cap * sizeof *slot), *cnt = kl__big_alloc(cap * sizeof *cnt);
    if (!slot || !cnt) {
        free(slot);
        free(cnt);
        return KL_ENOMEM;
    }
    memset(slot, 0, cap * sizeof *slot);
    memset(cnt, 0, cap * sizeof *cnt);
    size_t len_sum = 0;
    c->len_min = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        const char *s = t[i];
        if (!s)
            continue;
        size_t len = strlen(s);
        c->count++;
        len_sum += len;
        c->len_min = KL_MIN(c->len_min, len);
        c->len_max = KL_MAX(c->len_max, len);
        if (kl__time_forms(s, len))
            c->date_like++;
        size_t h = (size_t)hash_bytes(s, len) & (cap - 1);
        while (slot[h] && strcmp(t[slot[h] - 1], s) != 0)
            h = (h + 1) & (cap - 1);
        if (!slot[h]) {
            slot[h] = i + 1;
            c->distinct++;
        }
        cnt[h]++;
    }
    if (!c->count)
        c->len_min = 0;
    c->len_mean = c->count ? (double)len_sum / (double)c->count : NAN;
    top_run top[KL_PROFILE_TOP];
    size_t n_top = 0;
    for (size_t h = 0; h < cap; h++)
        if (slot[h])
            top_offer(top, &n_top, cnt[h], slot[h] - 1, slot[h] - 1);
    int rc = top_render(w->f, j, c, top, n_top);
    free(slot);
    free(cnt);
    return rc;
}

/* ---- time columns ---- */

#define US_HOUR INT64_C(3600000000)
#define US_DAY (24 * US_HOUR)

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Period index of t: hours, days, months (y*12+m-1) or years. */
static int64_t period_of(int64_t t, int level)
{
    if (level == 0)
        return floor_div(t, US_HOUR);
    int64_t d = floor_div(t, US_DAY);
    if (level == 1)
        return d;
    int64_t y;
    unsigned mo, dd;
    kl__civil_from_days(d, &y, &mo, &dd);
    return level == 2 ? y * 12 + (int64_t)mo - 1 : y;
}

static int64_t period_start(int64_t k, int level)
{
    switch (level) {
    case 0:
        return k * US_HOUR;
    case 1:
        return k * US_DAY;
    case 2:
        return kl__days_from_civil(floor_div(k, 12), (unsigned)(k - 12 * floor_div(k, 12)) + 1, 1) *
               US_DAY;
    default:
        return kl__days_from_civil(k, 1, 1) * US_DAY;
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int profile_time(kl__prof *w, size_t j)
{
    static const char *const level_name[] = {"hour", "day", "month", "year"};
    kl_profile_column *c = &w->p->columns[j];
    const int64_t *t = kl_frame_col_time(w->f, j);
    size_t n = w->n, cnt = 0;
    struct kl__prof_scratch *sc = scratch_claim(w, sort_bytes(n));
    if (!sc)
        return KL_ENOMEM;
    uint64_t *keys = sc->buf;
    uint32_t *idx = (uint32_t *)(void *)(keys + 2 * n + 1);
    for (size_t i = 0; i < n; i++)
        if (t[i] != KL_TIME_MISSING) {
            keys[cnt] = (uint64_t)t[i] ^ (UINT64_C(1) << 63);
            idx[cnt++] = (uint32_t)i;
        }
    c->count = cnt;
    int rc = 0;
    if (cnt) {
        kl__radix_sort_u64(keys, idx, keys + n, idx + n, cnt);
#define TV(i) ((int64_t)(keys[i] ^ (UINT64_C(1) << 63)))
        c->t_min = TV(0);
        c->t_max = TV(cnt - 1);
        top_run top[KL_PROFILE_TOP];
        size_t n_top = 0, n_gaps = 0;
        int64_t *gaps = (int64_t *)(void *)(keys + n); /* scratch is free after the sort */
        for (size_t a = 0; a < cnt;) {
            size_t b = a + 1;
            while (b < cnt && keys[b] == keys[a])
                b++;
            c->distinct++;
            top_offer(top, &n_top, b - a, idx[a], a);
            if (b < cnt)
                gaps[n_gaps++] = TV(b) - TV(a);
            a = b;
        }
        if (n_gaps) {
            qsort(gaps, n_gaps, sizeof *gaps, cmp_i64);
            c->gap_max = gaps[n_gaps - 1];
            c->gap_median = gaps[(n_gaps - 1) / 2];
            size_t off = 0;
            for (size_t g = 0; g < n_gaps; g++)
                off += gaps[g] != c->gap_median;
            c->irregular = (double)off / (double)n_gaps;
        }
        int64_t range = c->t_max - c->t_min;
        int level = range <= 3 * US_DAY          ? 0
                    : range <= 180 * US_DAY      ? 1
                    : range <= 20 * 366 * US_DAY ? 2
                                                 : 3;
        c->period = level_name[level];
        int64_t k0 = period_of(c->t_min, level), k1 = period_of(c->t_max, level);
        c->n_periods = (size_t)(k1 - k0 + 1);
        c->period_start = malloc(c->n_periods * sizeof *c->period_start);
        c->period_count = calloc(c->n_periods, sizeof *c->period_count);
        if (!c->period_start || !c->period_count) {
            rc = KL_ENOMEM;
        } else {
            for (size_t k = 0; k < c->n_periods; k++)
                c->period_start[k] = period_start(k0 + (int64_t)k, level);
            for (size_t i = 0; i < cnt; i++)
                c->period_count[period_of(TV(i), level) - k0]++;
            rc = top_render(w->f, j, c, top, n_top);
        }
#undef TV
    }
    scratch_release(sc);
    return rc;
}

/* ---- the column pass ---- */

static void column_task(void *ctx, size_t j)
{
    kl__prof *w = ctx;
    kl_profile_column *c = &w->p->columns[j];
    c->imbalance = NAN;
    int rc = 0;
    switch (c->kind) {
    case KL_COL_KIND_NUMERIC:
        rc = profile_numeric(w, j);
        break;
    case KL_COL_KIND_CATEGORICAL:
    case KL_COL_KIND_BOOL:
        rc = profile_codes(w, j);
        break;
    case KL_COL_KIND_TEXT:
        rc = profile_text(w, j);
        break;
    case KL_COL_KIND_TIME:
        rc = profile_time(w, j);
        break;
    }
    c->missing = w->n - c->count;
    w->status[j] = rc;
}

/* ---- duplicate rows ---- */

#define ROW_CHUNK 65536

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9E3779B97F4A7C15u + (h << 6) + (h >> 2);
    return h * 0xFF51AFD7ED558CCDu;
}

/* The value of cell (i, j) as 64 bits for hashing and comparing (NaN and -0.0 canonical). */
static uint64_t cell_bits(const kl_frame *f, size_t i, size_t j)
{
    switch (kl_frame_col_kind(f, j)) {
    case KL_COL_KIND_NUMERIC: {
        double x = kl_frame_col_f64(f, j)[i];
        if (isnan(x))
            return UINT64_C(0x7FF8000000000001);
        return key_of_double(x);
    }
    case KL_COL_KIND_CATEGORICAL:
        return (uint64_t)(int64_t)kl_frame_col_codes(f, j)[i];
    case KL_COL_KIND_BOOL:
        return kl_frame_col_bool(f, j)[i];
    case KL_COL_KIND_TIME:
        return (uint64_t)kl_frame_col_time(f, j)[i];
    case KL_COL_KIND_TEXT: {
        const char *s = kl_frame_col_text(f, j)[i];
        return s ? hash_bytes(s, strlen(s)) : UINT64_C(0x5bd1e995);
    }
    }
    return 0;
}

static int rows_equal(const kl_frame *f, size_t a, size_t b)
{
    size_t m = kl_frame_col_count(f);
    for (size_t j = 0; j < m; j++) {
        if (kl_frame_col_kind(f, j) == KL_COL_KIND_TEXT) {
            const char *x = kl_frame_col_text(f, j)[a], *y = kl_frame_col_text(f, j)[b];
            if ((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0))
                return 0;
        } else if (cell_bits(f, a, j) != cell_bits(f, b, j)) {
            return 0;
        }
    }
    return 1;
}

typedef struct hash_job {
    const kl_frame *f;
    uint64_t *h;
    uint32_t *idx;
} hash_job;

static void hash_task(void *ctx, size_t t)
{
    hash_job *hj = ctx;
    size_t n = kl_frame_row_count(hj->f), m = kl_frame_col_count(hj->f);
    size_t lo = t * ROW_CHUNK, hi = KL_MIN(n, lo + ROW_CHUNK);
    for (size_t i = lo; i < hi; i++) {
        hj->h[i] = 0x243F6A8885A308D3u;
        hj->idx[i] = (uint32_t)i;
    }
    uint64_t *h = hj->h;
    for (size_t j = 0; j < m; j++) {
        /* cell_bits, one loop per kind (the same values, without a switch per cell) */
        switch (kl_frame_col_kind(hj->f, j)) {
        case KL_COL_KIND_NUMERIC: {
            const double *v = kl_frame_col_f64(hj->f, j);
            for (size_t i = lo; i < hi; i++)
                h[i] = mix(h[i], isnan(v[i]) ? UINT64_C(0x7FF8000000000001) : key_of_double(v[i]));
            break;
        }
        case KL_COL_KIND_CATEGORICAL: {
            const int32_t *c = kl_frame_col_codes(hj->f, j);
            for (size_t i = lo; i < hi; i++)
                h[i] = mix(h[i], (uint64_t)(int64_t)c[i]);
            break;
        }
        case KL_COL_KIND_BOOL: {
            const uint8_t *b = kl_frame_col_bool(hj->f, j);
            for (size_t i = lo; i < hi; i++)
                h[i] = mix(h[i], b[i]);
            break;
        }
        case KL_COL_KIND_TIME: {
            const int64_t *x = kl_frame_col_time(hj->f, j);
            for (size_t i = lo; i < hi; i++)
                h[i] = mix(h[i], (uint64_t)x[i]);
            break;
        }
        case KL_COL_KIND_TEXT:
            for (size_t i = lo; i < hi; i++)
                h[i] = mix(h[i], cell_bits(hj->f, i, j));
            break;
        }
    }
}

static int count_duplicates(kl__prof *w, size_t *out)
{
    const kl_frame *f = w->f;
    size_t n = kl_frame_row_count(f);
    *out = 0;
    if (n < 2)
        return 0;
    struct kl__prof_scratch *sc = scratch_claim(w, sort_bytes(n));
    if (!sc)
        return KL_ENOMEM;
    uint64_t *h = sc->buf;
    uint32_t *idx = (uint32_t *)(void *)(h + 2 * n + 1);
    hash_job hj = {f, h, idx};
    kl_parallel_for(kl_task_count(n, ROW_CHUNK), hash_task, &hj);
    kl__radix_sort_u64(h, idx, h + n, idx + n, n);
    /* Within a run of equal hashes, a row is a duplicate when it equals an earlier distinct one. */
    size_t dup = 0;
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && h[b] == h[a])
            b++;
        size_t reps = a + 1; /* idx[a..reps) hold distinct rows of the run */
        for (size_t i = a + 1; i < b; i++) {
            size_t r = a;
            while (r < reps && !rows_equal(f, idx[r], idx[i]))
                r++;
            if (r < reps) {
                dup++;
            } else {
                uint32_t x = idx[reps];
                idx[reps] = idx[i];
                idx[i] = x;
                reps++;
            }
        }
        a = b;
    }
    *out = dup;
    scratch_release(sc);
    return 0;
}

static size_t memory_of(const kl_frame *f)
{
    size_t n = kl_frame_row_count(f), m = kl_frame_col_count(f), total = 0;
    for (size_t j = 0; j < m; j++) {
        total += strlen(kl_frame_col_name(f, j)) + 1;
        switch (kl_frame_col_kind(f, j)) {
        case KL_COL_KIND_NUMERIC:
        case KL_COL_KIND_TIME:
            total += 8 * n;
            break;
        case KL_COL_KIND_BOOL:
            total += n;
            break;
        case KL_COL_KIND_CATEGORICAL: {
            size_t k;
            const char *const *d = kl_frame_col_dict(f, j, &k);
            total += 4 * n + k * sizeof(char *);
            for (size_t x = 0; x < k; x++)
                total += strlen(d[x]) + 1;
            break;
        }
        case KL_COL_KIND_TEXT: {
            const char *const *t = kl_frame_col_text(f, j);
            total += n * sizeof(char *);
            for (size_t i = 0; i < n; i++)
                total += t[i] ? strlen(t[i]) + 1 : 0;
            break;
        }
        }
    }
    return total;
}

/* ---- alerts ---- */

static int add_alert(kl_profile *p, size_t *cap, enum kl_profile_alert_kind kind, long col,
                     long col2, double value, double threshold)
{
    if (p->n_alerts == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        kl_profile_alert *a = realloc(p->alerts, nc * sizeof *a);
        if (!a)
            return KL_ENOMEM;
        p->alerts = a;
        *cap = nc;
    }
    p->alerts[p->n_alerts++] = (kl_profile_alert){kind, col, col2, value, threshold};
    return 0;
}

#define ALERT(kind, col, col2, value, thr)                                                         \
    do {                                                                                           \
        if (add_alert(p, &cap, kind, col, col2, value, thr) < 0)                                   \
            return KL_ENOMEM;                                                                      \
    } while (0)

/*
 * A categorical column whose present values are all different: its Cramér's
 * V and correlation ratio with anything are 1 by construction, so it takes
 * part in no association alert (it has its UNIQUE alert).
 */
static int all_distinct(const kl_profile_column *c)
{
    return c->kind == KL_COL_KIND_CATEGORICAL && c->count > 1 && c->distinct == c->count;
}

static int make_alerts(kl_profile *p)
{
    const kl_profile_thresholds *t = &p->thresholds;
    size_t cap = 0, m = p->n_columns;
    if (p->rows && (double)p->duplicate_rows / (double)p->rows > t->duplicates)
        ALERT(KL_PROFILE_ALERT_DUPLICATES, -1, -1, (double)p->duplicate_rows / (double)p->rows,
              t->duplicates);
    for (size_t j = 0; j < m; j++) {
        const kl_profile_column *c = &p->columns[j];
        long J = (long)j;
        int codes = c->kind == KL_COL_KIND_CATEGORICAL || c->kind == KL_COL_KIND_BOOL;
        int labels = codes || c->kind == KL_COL_KIND_TEXT;
        if (c->count == 0) {
            ALERT(KL_PROFILE_ALERT_EMPTY, J, -1, 0, 0);
            continue;
        }
        if (c->distinct == 1)
            ALERT(KL_PROFILE_ALERT_CONSTANT, J, -1, 1, 1);
        double miss = p->rows ? (double)c->missing / (double)p->rows : 0;
        if (miss > t->missing)
            ALERT(KL_PROFILE_ALERT_MISSING, J, -1, miss, t->missing);
        if (c->kind != KL_COL_KIND_BOOL && labels && (double)c->distinct > t->high_cardinality)
            ALERT(KL_PROFILE_ALERT_HIGH_CARDINALITY, J, -1, (double)c->distinct,
                  t->high_cardinality);
        int idlike = labels || c->type == KL_TYPE_INT;
        if (idlike && c->count > 1 && c->distinct == c->count)
            ALERT(KL_PROFILE_ALERT_UNIQUE, J, -1, 1, 1);
        if (c->kind == KL_COL_KIND_NUMERIC) {
            if (isfinite(c->skewness) && fabs(c->skewness) > t->skewed)
                ALERT(KL_PROFILE_ALERT_SKEWED, J, -1, c->skewness, t->skewed);
            double z = (double)c->zeros / (double)c->count;
            if (z > t->zeros)
                ALERT(KL_PROFILE_ALERT_ZEROS, J, -1, z, t->zeros);
            double inf = (double)c->infinite / (double)c->count;
            if (inf > t->infinite)
                ALERT(KL_PROFILE_ALERT_INFINITE, J, -1, inf, t->infinite);
        }
        if (codes && isfinite(c->imbalance) && c->imbalance > t->imbalance)
            ALERT(KL_PROFILE_ALERT_IMBALANCE, J, -1, c->imbalance, t->imbalance);
        if (c->kind == KL_COL_KIND_TEXT || c->kind == KL_COL_KIND_CATEGORICAL) {
            double d = (double)c->date_like / (double)c->count;
            if (d > t->date_like)
                ALERT(KL_PROFILE_ALERT_TYPE_DATE, J, -1, d, t->date_like);
        }
        if (c->kind == KL_COL_KIND_TEXT) {
            if (c->distinct > 1 && c->len_min == c->len_max)
                ALERT(KL_PROFILE_ALERT_CONSTANT_LENGTH, J, -1, (double)c->len_min,
                      (double)c->len_min);
        }
        if (!all_distinct(c) && isfinite(c->target_assoc) && c->target_assoc > t->leakage)
            ALERT(KL_PROFILE_ALERT_TARGET_LEAKAGE, J, p->target, c->target_assoc, t->leakage);
    }
    for (size_t a = 0; a < m; a++)
        for (size_t b = a + 1; b < m; b++) {
            double v = p->assoc[a * m + b];
            if (all_distinct(&p->columns[a]) || all_distinct(&p->columns[b]))
                continue;
            if (isfinite(v) && fabs(v) > t->high_correlation)
                ALERT(KL_PROFILE_ALERT_HIGH_CORRELATION, (long)a, (long)b, v, t->high_correlation);
        }
    return 0;
}

/* ---- driver ---- */

void kl_profile_free(kl_profile *p)
{
    if (!p)
        return;
    for (size_t j = 0; p->columns && j < p->n_columns; j++) {
        kl_profile_column *c = &p->columns[j];
        free(c->name);
        for (size_t k = 0; k < c->n_top; k++)
            free(c->top[k].value);
        free(c->period_start);
        free(c->period_count);
    }
    free(p->columns);
    free(p->pearson);
    free(p->spearman);
    free(p->assoc);
    free(p->assoc_kind);
    free(p->alerts);
    free(p);
}

static void resolve_thresholds(kl_profile_thresholds *t, const kl_profile_thresholds *given)
{
    *t = kl_profile_thresholds_default();
    if (!given)
        return;
#define TAKE(field)                                                                                \
    if (given->field > 0)                                                                          \
        t->field = given->field;
    TAKE(missing)
    TAKE(zeros)
    TAKE(infinite)
    TAKE(duplicates)
    TAKE(skewed)
    TAKE(high_cardinality)
    TAKE(imbalance)
    TAKE(high_correlation)
    TAKE(leakage)
    TAKE(date_like)
#undef TAKE
}

/* Classes 0/1 per row when the target has exactly two present values; else NULL. */
static int target_classes(kl__prof *w, size_t t)
{
    const kl_frame *f = w->f;
    size_t n = w->n;
    enum kl_col_kind kind = kl_frame_col_kind(f, t);
    uint8_t *cls = kl__big_alloc(n);
    if (!cls)
        return KL_ENOMEM;
    int found = 0;
    uint64_t v0 = 0, v1 = 0;
    int ok = kind != KL_COL_KIND_TEXT;
    for (size_t i = 0; ok && i < n; i++) {
        uint64_t v;
        if (kind == KL_COL_KIND_NUMERIC) {
            double x = kl_frame_col_f64(f, t)[i];
            if (isnan(x)) {
                cls[i] = 255;
                continue;
            }
            v = key_of_double(x);
        } else if (kind == KL_COL_KIND_TIME) {
            ok = 0;
            break;
        } else {
            int64_t x = kind == KL_COL_KIND_BOOL ? (kl_frame_col_bool(f, t)[i] == KL_BOOL_MISSING
                                                        ? -1
                                                        : kl_frame_col_bool(f, t)[i])
                                                 : kl_frame_col_codes(f, t)[i];
            if (x < 0) {
                cls[i] = 255;
                continue;
            }
            v = (uint64_t)x;
        }
        if (found == 0) {
            v0 = v;
            found = 1;
        } else if (v != v0 && found == 1) {
            v1 = v;
            found = 2;
        } else if (v != v0 && v != v1) {
            ok = 0;
        }
        cls[i] = v == v0 ? 0 : 1;
    }
    if (!ok || found != 2) {
        free(cls);
        return 0;
    }
    w->tclass = cls;
    return 0;
}

int kl_profile_compute(const kl_frame *f, const kl_profile_opts *opts, kl_profile **out,
                       kl_err *err)
{
    *out = NULL;
    size_t n = kl_frame_row_count(f), m = kl_frame_col_count(f);
    kl_profile *p = calloc(1, sizeof *p);
    kl__prof w = {.f = f, .p = p, .n = n, .m = m};
    int rc = KL_ENOMEM;
    if (!p)
        goto oom;
    p->rows = n;
    p->n_columns = m;
    p->target = -1;
    resolve_thresholds(&p->thresholds, opts ? &opts->thresholds : NULL);
    if (opts && opts->target) {
        p->target = kl_frame_col_index(f, opts->target);
        if (p->target < 0) {
            kl_profile_free(p);
            return kl_err_set(err, KL_ENOTFOUND, "no column named '%s' for the target",
                              opts->target);
        }
    }
    size_t mm = m ? m : 1;
    p->columns = calloc(mm, sizeof *p->columns);
    w.rank = calloc(mm, sizeof *w.rank);
    w.codes = calloc(mm, sizeof *w.codes);
    w.codes_owned = calloc(mm, sizeof *w.codes_owned);
    w.n_codes = calloc(mm, sizeof *w.n_codes);
    w.status = calloc(mm, sizeof *w.status);
    w.n_scratch = (size_t)KL_MAX(1, kl_threads());
    w.scratch = calloc(w.n_scratch, sizeof *w.scratch);
    if (!p->columns || !w.rank || !w.codes || !w.codes_owned || !w.n_codes || !w.status ||
        !w.scratch)
        goto oom;
    for (size_t j = 0; j < m; j++) {
        kl_profile_column *c = &p->columns[j];
        c->name = strdup(kl_frame_col_name(f, j));
        if (!c->name)
            goto oom;
        c->kind = kl_frame_col_kind(f, j);
        c->type = kl_frame_col_type(f, j);
        c->target_assoc = NAN;
        if (c->kind == KL_COL_KIND_CATEGORICAL) {
            w.codes[j] = kl_frame_col_codes(f, j);
            kl_frame_col_dict(f, j, &w.n_codes[j]);
        } else if (c->kind == KL_COL_KIND_BOOL) {
            const uint8_t *b = kl_frame_col_bool(f, j);
            int32_t *x = kl__big_alloc(n * sizeof *x);
            if (!x)
                goto oom;
            for (size_t i = 0; i < n; i++)
                x[i] = b[i] == KL_BOOL_MISSING ? KL_CAT_MISSING : b[i];
            w.codes[j] = w.codes_owned[j] = x;
            w.n_codes[j] = 2;
        }
    }
    if (p->target >= 0 && target_classes(&w, (size_t)p->target) < 0)
        goto oom;
    kl_parallel_for(m, column_task, &w);
    for (size_t j = 0; j < m; j++) {
        if (w.status[j] < 0)
            goto oom;
        p->missing_cells += p->columns[j].missing;
    }
    if (count_duplicates(&w, &p->duplicate_rows) < 0)
        goto oom;
    p->memory_bytes = memory_of(f);
    if (kl__profile_assoc(&w) < 0)
        goto oom;
    if (p->target >= 0) {
        size_t t = (size_t)p->target;
        for (size_t j = 0; j < m; j++) {
            kl_profile_column *c = &p->columns[j];
            if (j == t || c->target_measure == KL_PROFILE_MEASURE_AUC)
                continue;
            double v = p->assoc[j * m + t];
            if (isfinite(v)) {
                c->target_assoc = fabs(v);
                c->target_measure = p->assoc_kind[j * m + t];
            }
        }
    }
    if (make_alerts(p) < 0)
        goto oom;
    rc = 0;
    *out = p;
    p = NULL;
oom:
    for (size_t j = 0; j < m && w.rank; j++) {
        free(w.rank[j].data);
        free(w.rank[j].table);
    }
    for (size_t j = 0; j < m && w.codes_owned; j++)
        free(w.codes_owned[j]);
    free(w.rank);
    free(w.codes);
    free(w.codes_owned);
    free(w.n_codes);
    free(w.status);
    free(w.pair_done);
    for (size_t k = 0; w.scratch && k < w.n_scratch; k++)
        free(w.scratch[k].buf);
    free(w.scratch);
    free(w.tclass);
    kl_profile_free(p);
    if (rc < 0)
        return kl_err_set(err, KL_ENOMEM, "out of memory while profiling %zu rows", n);
    return 0;
}
