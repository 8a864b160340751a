/*
 * Binning and histograms of the histogram GBDT.
 *
 * Bins: numeric features are cut from the sorted non-missing values of a
 * sample (every row up to 200,000 rows, else 200,000 evenly spaced rows, so
 * no randomness is involved): with at most max_bin distinct values every
 * value is a bin bounded by the midpoint to its neighbour (scikit-learn's
 * thresholds); otherwise bounds are the values at the max_bin - 1
 * equal-frequency positions, duplicates dropped (a very frequent value gets
 * its own bin). The last bound is +inf. Categorical features read every row:
 * each distinct value is a bin, one extra bin stands for values not seen in
 * training. Codes are stored row-major (n x p uint8): a node's histogram pass
 * reads each row's p codes from one cache line, and its (g, h) pair once.
 *
 * Histograms: a node's rows are cut into fixed KL_GBDT_BLOCK_ROWS blocks;
 * each block is summed by one task into its own buffer and the buffers are
 * added in block order, so the sums are the same bits for any thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "keel/parallel.h"
#include "models/gbdt_internal.h"
#include "core/common.h"

#define SAMPLE_ROWS 200000

/* Order-preserving map of a non-NaN double to uint64 (negative values flipped). */
static inline uint64_t key_of(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return (u >> 63) ? ~u : (u | 0x8000000000000000ull);
}

/*
 * Sort k non-NaN doubles ascending: LSD radix sort on 8-bit digits through
 * tmp (k slots), skipping digits where every key agrees. -0.0 sorts before
 * 0.0, which only matters to ties between them (they compare equal).
 */
static void sort_doubles(double *v, double *tmp, size_t k)
{
    uint64_t *a = (uint64_t *)v, *b = (uint64_t *)tmp;
    for (size_t i = 0; i < k; i++)
        a[i] = key_of(v[i]);
    for (int shift = 0; shift < 64; shift += 8) {
        size_t cnt[256] = {0};
        for (size_t i = 0; i < k; i++)
            cnt[(a[i] >> shift) & 0xff]++;
        if (k == 0 || cnt[(a[0] >> shift) & 0xff] == k)
            continue;
        size_t pos = 0;
        for (int d = 0; d < 256; d++) {
            size_t c = cnt[d];
            cnt[d] = pos;
            pos += c;
        }
        for (size_t i = 0; i < k; i++)
            b[cnt[(a[i] >> shift) & 0xff]++] = a[i];
        uint64_t *t = a;
        a = b;
        b = t;
    }
    for (size_t i = 0; i < k; i++) {
        uint64_t u = a[i];
        u = (u >> 63) ? (u & 0x7fffffffffffffffull) : ~u;
        memcpy(&v[i], &u, sizeof u);
    }
}

typedef struct fit_ctx {
    const kl_gbdt_data *d;
    const uint8_t *categorical;
    int max_bin;
    double *ub; /* p * 256 scratch bounds */
    uint16_t *nb;
    uint8_t *has_missing;
    int failed;   /* out of memory in a task */
    int too_many; /* categorical feature with too many values */
    size_t bad_feature;
} fit_ctx;

static void fit_feature(void *vctx, size_t j)
{
    fit_ctx *c = vctx;
    const kl_gbdt_data *d = c->d;
    int cat = c->categorical && c->categorical[j];
    size_t m = (!cat && d->n > SAMPLE_ROWS) ? SAMPLE_ROWS : d->n;
    double *v = malloc((m ? m : 1) * 2 * sizeof *v);
    if (!v) {
        c->failed = 1;
        return;
    }
    const double *col = d->X + j * d->ld;
    size_t k = 0;
    uint8_t miss = 0;
    for (size_t i = 0; i < m; i++) {
        size_t r = m == d->n ? i : (size_t)((uint64_t)i * d->n / m);
        double x = col[r];
        if (isnan(x))
            miss = 1;
        else
            v[k++] = x;
    }
    c->has_missing[j] = miss;
    sort_doubles(v, v + m, k);
    size_t nd = 0;
    for (size_t i = 0; i < k; i++)
        nd += i == 0 || v[i] != v[i - 1];
    if (cat || nd <= (size_t)c->max_bin) { /* compact to the distinct values */
        nd = 0;
        for (size_t i = 0; i < k; i++)
            if (nd == 0 || v[i] != v[nd - 1])
                v[nd++] = v[i];
    }
    double *ub = c->ub + j * 256;
    size_t nb = 0;
    if (cat) {
        if (nd + 1 > KL_GBDT_MAX_BIN) {
            c->too_many = 1;
            c->bad_feature = j;
            free(v);
            return;
        }
        for (size_t i = 0; i < nd; i++)
            ub[nb++] = v[i];
        ub[nb++] = NAN; /* values not seen in training */
    } else if (nd <= (size_t)c->max_bin) {
        for (size_t i = 0; i + 1 < nd; i++)
            ub[nb++] = v[i] + (v[i + 1] - v[i]) / 2.0;
        ub[nb++] = INFINITY;
    } else {
        /* equal-frequency positions over the sorted sample (with duplicates) */
        size_t kk = k;
        for (int q = 1; q < c->max_bin; q++) {
            double t = v[(size_t)((uint64_t)q * kk / (uint64_t)c->max_bin)];
            if (nb == 0 || t > ub[nb - 1])
                ub[nb++] = t;
        }
        if (nb && ub[nb - 1] >= v[kk - 1])
            nb--; /* the largest value must stay in the last bin */
        ub[nb++] = INFINITY;
    }
    if (nb == 0)
        ub[nb++] = INFINITY; /* an all-missing column: one empty value bin */
    c->nb[j] = (uint16_t)nb;
    free(v);
}

/* Smallest b with x <= ub[b] (ub[nb-1] is +inf); categorical: exact match or "other". */
static inline uint8_t code_of(double x, const double *ub, size_t nb, int cat)
{
    if (isnan(x))
        return (uint8_t)nb;
    if (cat) {
        size_t lo = 0, hi = nb - 1; /* search the nb - 1 seen values */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (ub[mid] < x)
                lo = mid + 1;
            else
                hi = mid;
        }
        return (uint8_t)(lo < nb - 1 && ub[lo] == x ? lo : nb - 1);
    }
    /* branch-free lower bound: the answer stays in [lo, lo + len) */
    size_t lo = 0, len = nb;
    while (len > 1) {
        size_t half = len / 2;
        lo += ub[lo + half - 1] < x ? half : 0;
        len -= half;
    }
    return (uint8_t)lo;
}

typedef struct apply_ctx {
    const kl__gbdt_bins *b;
    const kl_gbdt_data *d;
    uint8_t *code;
    uint8_t *code_col; /* or NULL */
} apply_ctx;

static void apply_block(void *vctx, size_t t)
{
    apply_ctx *c = vctx;
    size_t i0 = t * KL_GBDT_BLOCK_ROWS, i1 = KL_MIN(c->d->n, i0 + KL_GBDT_BLOCK_ROWS);
    size_t p = c->b->p;
    for (size_t j = 0; j < p; j++) {
        const double *col = c->d->X + j * c->d->ld;
        const double *ub = c->b->upper + c->b->off[j];
        size_t nb = c->b->nb[j];
        int cat = c->b->is_cat[j];
        uint8_t *cc = c->code_col ? c->code_col + j * c->d->n : NULL;
        for (size_t i = i0; i < i1; i++) {
            uint8_t v = code_of(col[i], ub, nb, cat);
            c->code[i * p + j] = v;
            if (cc)
                cc[i] = v;
        }
    }
}

int kl__gbdt_bins_apply(const kl__gbdt_bins *b, const kl_gbdt_data *d, uint8_t **code, kl_err *err)
{
    if (d->p != b->p)
        return kl_err_set(err, KL_EINVAL, "data has %zu features, the model %zu", d->p, b->p);
    uint8_t *c = malloc((d->n ? d->n : 1) * (b->p ? b->p : 1));
    if (!c)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    apply_ctx ac = {b, d, c, NULL};
    kl_parallel_for(kl_task_count(d->n, KL_GBDT_BLOCK_ROWS), apply_block, &ac);
    *code = c;
    return 0;
}

int kl__gbdt_bins_fit(const kl_gbdt_data *d, int max_bin, const uint8_t *categorical, uint64_t seed,
                      kl__gbdt_bins *b, kl_err *err)
{
    (void)seed;
    memset(b, 0, sizeof *b);
    size_t p = d->p;
    if (max_bin < 2 || max_bin > KL_GBDT_MAX_BIN)
        return kl_err_set(err, KL_EINVAL, "max_bin must be between 2 and 255, not %d", max_bin);
    fit_ctx c = {.d = d, .categorical = categorical, .max_bin = max_bin};
    c.ub = malloc((p ? p : 1) * 256 * sizeof(double));
    b->nb = calloc(p ? p : 1, sizeof *b->nb);
    b->off = calloc(p + 1, sizeof *b->off);
    b->is_cat = calloc(p ? p : 1, 1);
    b->has_missing = calloc(p ? p : 1, 1);
    if (!c.ub || !b->nb || !b->off || !b->is_cat || !b->has_missing) {
        free(c.ub);
        kl__gbdt_bins_release(b);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    c.nb = b->nb;
    c.has_missing = b->has_missing;
    kl_parallel_for(p, fit_feature, &c);
    if (c.failed || c.too_many) {
        free(c.ub);
        kl__gbdt_bins_release(b);
        if (c.too_many)
            return kl_err_set(err, KL_EINVAL,
                              "categorical feature %zu has more than 253 distinct values",
                              c.bad_feature);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    for (size_t j = 0; j < p; j++) {
        b->is_cat[j] = categorical && categorical[j] ? 1 : 0;
        b->off[j + 1] = b->off[j] + b->nb[j] + 1;
    }
    /* upper has a slot per cell; the missing cell's slot holds NaN */
    b->upper = malloc((b->off[p] ? b->off[p] : 1) * sizeof(double));
    if (!b->upper) {
        free(c.ub);
        kl__gbdt_bins_release(b);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    for (size_t j = 0; j < p; j++) {
        memcpy(b->upper + b->off[j], c.ub + j * 256, b->nb[j] * sizeof(double));
        b->upper[b->off[j] + b->nb[j]] = NAN;
    }
    free(c.ub);
    b->n = d->n;
    b->p = p;
    b->code = malloc(d->n * p);
    b->code_col = malloc(d->n * p);
    if (!b->code || !b->code_col) {
        kl__gbdt_bins_release(b);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    apply_ctx ac = {b, d, b->code, b->code_col};
    kl_parallel_for(kl_task_count(d->n, KL_GBDT_BLOCK_ROWS), apply_block, &ac);
    return 0;
}

void kl__gbdt_bins_release(kl__gbdt_bins *b)
{
    if (!b)
        return;
    free(b->code);
    free(b->code_col);
    free(b->nb);
    free(b->off);
    free(b->upper);
    free(b->is_cat);
    free(b->has_missing);
    memset(b, 0, sizeof *b);
}

/* ---- histograms ---- */

static void hist_rows(const kl__gbdt_bins *b, const uint32_t *idx, size_t i0, size_t i1,
                      const double *gh, kl__gbdt_cell *hist)
{
    size_t p = b->p;
    const size_t *off = b->off;
    memset(hist, 0, off[p] * sizeof *hist);
    const uint8_t *code = b->code;
#ifdef __SSE2__
    /* (g, h) as one 16-byte vector: one load, one add, one store per cell */
    double *hd = (double *)hist;
    for (size_t i = i0; i < i1; i++) {
        uint32_t r = idx[i];
        if (i + 16 < i1) { /* rows of a child are increasing but gapped: fetch ahead */
            size_t ra = idx[i + 16];
            __builtin_prefetch(code + ra * p);
            __builtin_prefetch(gh + 2 * ra);
        }
        const uint8_t *row = code + (size_t)r * p;
        __m128d v = _mm_loadu_pd(gh + 2 * (size_t)r);
        for (size_t j = 0; j < p; j++) {
            double *cell = hd + 2 * (off[j] + row[j]);
            _mm_storeu_pd(cell, _mm_add_pd(_mm_loadu_pd(cell), v));
        }
    }
#else
    for (size_t i = i0; i < i1; i++) {
        uint32_t r = idx[i];
        const uint8_t *row = code + (size_t)r * p;
        double g = gh[2 * (size_t)r], h = gh[2 * (size_t)r + 1];
        for (size_t j = 0; j < p; j++) {
            kl__gbdt_cell *cell = hist + off[j] + row[j];
            cell->g += g;
            cell->h += h;
        }
    }
#endif
}

typedef struct hist_ctx {
    const kl__gbdt_bins *b;
    const uint32_t *idx;
    size_t m;
    const double *gh;
    kl__gbdt_cell *scratch;
} hist_ctx;

static void hist_block(void *vctx, size_t t)
{
    hist_ctx *c = vctx;
    size_t i0 = t * KL_GBDT_BLOCK_ROWS, i1 = KL_MIN(c->m, i0 + KL_GBDT_BLOCK_ROWS);
    hist_rows(c->b, c->idx, i0, i1, c->gh, c->scratch + t * c->b->off[c->b->p]);
}

void kl__gbdt_hist_build(const kl__gbdt_bins *b, const uint32_t *idx, size_t m, const double *gh,
                         kl__gbdt_cell *hist, kl__gbdt_cell *scratch)
{
    size_t nt = kl_task_count(m, KL_GBDT_BLOCK_ROWS), cells = b->off[b->p];
    if (nt <= 1) {
        hist_rows(b, idx, 0, m, gh, hist);
        return;
    }
    hist_ctx c = {b, idx, m, gh, scratch};
    kl_parallel_for(nt, hist_block, &c);
    memcpy(hist, scratch, cells * sizeof *hist);
    for (size_t t = 1; t < nt; t++) {
        const kl__gbdt_cell *s = scratch + t * cells;
        for (size_t k = 0; k < cells; k++) {
            hist[k].g += s[k].g;
            hist[k].h += s[k].h;
        }
    }
}
