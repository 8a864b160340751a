/*
 * Pairwise association for the profile: Pearson and Spearman for numeric
 * pairs, the correlation ratio (eta) for numeric x categorical pairs and
 * Cramér's V for categorical pairs (bools count as categorical).
 *
 * Invariants: each pair uses the rows where both of its columns are present
 * (pairwise complete, as pandas' corr()); Spearman ranks are the average
 * ranks of each column over all its present values (not re-ranked per pair,
 * which differs from pandas only when the other column has missing values).
 * Sums are accumulated per fixed row block and combined in block order, so
 * results do not depend on the thread count.
 *
 * Why this design: all numeric pairs at once are one Gram matrix per row
 * block, of the centred values and of the centred ranks with missing cells
 * set to 0, taken by a small fixed-order kernel (not BLAS, whose threading
 * would change the summation order with the thread count). A cross sum over
 * rows where both columns are present is then just the Gram entry; the other
 * pairwise-complete sums are column totals minus corrections summed over the
 * few rows where the other column is missing, which is exact pairwise-complete
 * Pearson without a pass per pair. Correlation ratios of categorical columns
 * with few categories ride along (per-category sums of the same block), so
 * the frame is streamed once for every pair.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keel/parallel.h"
#include "profile_internal.h"
#include "core/mem.h"
#include "core/common.h"

#define CHUNK 16384           /* rows per task, at least */
#define SUB 256               /* rows per kernel block (a multiple of 2) */
#define OUT_BUDGET (1u << 21) /* doubles of per-task sums, at most (tasks grow to keep it) */
#define ETA_CODES 256         /* categories of a column whose ratios join the numeric pass */
#define ETA_BUDGET (1u << 16) /* doubles of those ratios' sums per task, at most */

typedef double v2d __attribute__((vector_size(16)));

static v2d load2(const double *p)
{
    v2d v;
    memcpy(&v, p, sizeof v);
    return v;
}

/*
 * G[a * P + b] += sum over the SUB rows of X[a][i] * X[b][i] for every a <= b
 * (tiles of 4 x 2; a few a > b are summed too and not read). X holds P
 * columns of SUB rows, P a multiple of 4. Each sum is taken in two lanes
 * (even and odd rows) added at the end, the same way on every machine.
 */
static void gram_block(const double *X, size_t P, double *G)
{
    for (size_t a = 0; a < P; a += 4)
        for (size_t b = a; b < P; b += 2) {
            const double *x0 = X + a * SUB, *x1 = x0 + SUB, *x2 = x1 + SUB, *x3 = x2 + SUB;
            const double *y0 = X + b * SUB, *y1 = y0 + SUB;
            v2d s00 = {0, 0}, s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00,
                s31 = s00;
            for (size_t i = 0; i < SUB; i += 2) {
                v2d u0 = load2(y0 + i), u1 = load2(y1 + i), x;
                x = load2(x0 + i);
                s00 += x * u0;
                s01 += x * u1;
                x = load2(x1 + i);
                s10 += x * u0;
                s11 += x * u1;
                x = load2(x2 + i);
                s20 += x * u0;
                s21 += x * u1;
                x = load2(x3 + i);
                s30 += x * u0;
                s31 += x * u1;
            }
            double *g = G + a * P + b;
            g[0] += s00[0] + s00[1];
            g[1] += s01[0] + s01[1];
            g[P] += s10[0] + s10[1];
            g[P + 1] += s11[0] + s11[1];
            g[2 * P] += s20[0] + s20[1];
            g[2 * P + 1] += s21[0] + s21[1];
            g[3 * P] += s30[0] + s30[1];
            g[3 * P + 1] += s31[0] + s31[1];
        }
}

typedef struct num_job {
    kl__prof *w;
    size_t p, P;     /* numeric columns; p rounded up to a multiple of 4 */
    size_t *num;     /* column index of numeric column u */
    int *bad;        /* u: Pearson undefined (infinities) */
    double *mean;    /* u: the column's mean */
    size_t chunk;    /* rows per task */
    size_t n_cat;    /* categorical and bool columns whose correlation ratios are summed here */
    size_t *cat;     /* their column indices */
    size_t *cat_off; /* where each one's sums start after the numeric sums (eta_at) */
    double *out;     /* per task: the layout of sums_at, then of eta_at per categorical column */
    size_t out_size, num_size;
    int failed;
} num_job;

/*
 * The correlation ratio sums of categorical column b (k categories) over a
 * task's rows: per numeric column u and category c the sum of u's centred
 * values (s, with a slot k for rows where b is missing), the rows of category
 * c where u is missing (mc), the sum of squares over rows where b is missing
 * (bx2), and the rows of each category (cnt).
 */
typedef struct eta_sums {
    double *s, *mc, *bx2, *cnt;
} eta_sums;

static size_t eta_size(size_t p, size_t k)
{
    return p * (k + 1) + p * k + p + k;
}

static eta_sums eta_at(const num_job *b, double *task_base, size_t e, size_t k)
{
    eta_sums r;
    r.s = task_base + b->num_size + b->cat_off[e];
    r.mc = r.s + b->p * (k + 1);
    r.bx2 = r.mc + b->p * k;
    r.cnt = r.bx2 + b->p;
    return r;
}

/*
 * The sums one task leaves, over its rows: the Gram matrices of the centred
 * values (gx) and of the centred ranks (gr), both 0 where missing; column
 * totals tx, tr; and for each column v with missing values, over the rows
 * where v is missing, the sums of every column u's centred value and its
 * square (cx, cxx), of its rank and its square (cr, crr), and how many of
 * those rows miss u too (cn). Pairwise-complete sums are then the totals
 * minus these corrections, so only the few missing cells cost extra work.
 */
typedef struct sums {
    double *gx, *gr, *tx, *tr, *cx, *cxx, *cr, *crr, *cn;
} sums;

static sums sums_at(const num_job *b, double *base)
{
    size_t P = b->P, p = b->p;
    sums s;
    s.gx = base;
    s.gr = s.gx + P * P;
    s.tx = s.gr + P * P;
    s.tr = s.tx + p;
    s.cx = s.tr + p;
    s.cxx = s.cx + p * p;
    s.cr = s.cxx + p * p;
    s.crr = s.cr + p * p;
    s.cn = s.crr + p * p;
    return s;
}

static size_t sums_size(size_t p, size_t P)
{
    return 2 * P * P + 2 * p + 5 * p * p;
}

static void num_task(void *ctx, size_t t)
{
    num_job *b = ctx;
    kl__prof *w = b->w;
    size_t p = b->p, P = b->P;
    size_t lo = t * b->chunk, hi = KL_MIN(w->n, lo + b->chunk);
    /* X | R (P x SUB each) | miss flags (p x SUB) | missing cells (u, i) | eta scratch */
    double *X = calloc(2 * P * SUB, sizeof *X);
    uint8_t *mf = calloc(p * SUB, 1);
    uint32_t *ml = malloc(p * SUB * sizeof *ml);
    uint16_t *slot = malloc(SUB * sizeof *slot);
    double *acc = malloc(2 * (ETA_CODES + 1) * sizeof *acc);
    if (!X || !mf || !ml || !slot || !acc) {
        b->failed = 1;
        free(X);
        free(mf);
        free(ml);
        free(slot);
        free(acc);
        return;
    }
    double *R = X + P * SUB, *base = b->out + t * b->out_size;
    sums s = sums_at(b, base);
    memset(base, 0, b->out_size * sizeof *base);
    for (size_t r0 = lo; r0 < hi; r0 += SUB) {
        size_t nb = KL_MIN((size_t)SUB, hi - r0), n_miss = 0;
        for (size_t u = 0; u < p; u++) {
            size_t j = b->num[u];
            const double *v = kl_frame_col_f64(w->f, j) + r0;
            const kl__rank *rk = &w->rank[j];
            double mean = b->mean[u], *x = X + u * SUB, *r = R + u * SUB, sx = 0, sr = 0;
            int bad = b->bad[u];
            /* kl__rank_at, one loop per width */
            if (rk->width == 1) {
                const uint8_t *c = (const uint8_t *)rk->data + r0;
                for (size_t i = 0; i < nb; i++)
                    r[i] = rk->table[c[i]];
            } else if (rk->width == 2) {
                const uint16_t *c = (const uint16_t *)rk->data + r0;
                for (size_t i = 0; i < nb; i++)
                    r[i] = rk->table[c[i]];
            } else {
                const uint32_t *c = (const uint32_t *)rk->data + r0;
                for (size_t i = 0; i < nb; i++)
                    r[i] = c[i] ? (double)c[i] * 0.5 - rk->mid : 0;
            }
            for (size_t i = 0; i < nb; i++) {
                if (isnan(v[i])) {
                    x[i] = 0;
                    mf[u * SUB + i] = 1;
                    ml[n_miss++] = (uint32_t)(u * SUB + i);
                } else {
                    x[i] = bad ? 0 : v[i] - mean;
                }
                sx += x[i];
                sr += r[i];
            }
            for (size_t i = nb; i < SUB; i++)
                x[i] = r[i] = 0;
            s.tx[u] += sx;
            s.tr[u] += sr;
        }
        gram_block(X, P, s.gx);
        gram_block(R, P, s.gr);
        for (size_t e = 0; e < n_miss; e++) {
            size_t v = ml[e] / SUB, i = ml[e] % SUB;
            for (size_t u = 0; u < p; u++) {
                double x = X[u * SUB + i], r = R[u * SUB + i];
                s.cx[v * p + u] += x;
                s.cxx[v * p + u] += x * x;
                s.cr[v * p + u] += r;
                s.crr[v * p + u] += r * r;
                s.cn[v * p + u] += mf[u * SUB + i];
            }
        }
        for (size_t e = 0; e < b->n_cat; e++) {
            size_t k = w->n_codes[b->cat[e]];
            const int32_t *code = w->codes[b->cat[e]] + r0;
            eta_sums es = eta_at(b, base, e, k);
            /* Slot per row (k: missing), then even and odd rows summed apart (no chain of adds). */
            for (size_t i = 0; i < SUB; i++)
                slot[i] = i < nb && (uint32_t)code[i] < k ? (uint16_t)code[i] : (uint16_t)k;
            for (size_t u = 0; u < p; u++) {
                const double *x = X + u * SUB;
                double *su = es.s + u * (k + 1);
                memset(acc, 0, 2 * (k + 1) * sizeof *acc);
                for (size_t i = 0; i < SUB; i += 2) {
                    acc[slot[i]] += x[i];
                    acc[k + 1 + slot[i + 1]] += x[i + 1];
                }
                for (size_t c = 0; c <= k; c++)
                    su[c] += acc[c] + acc[k + 1 + c];
            }
            for (size_t i = 0; i < nb; i++) {
                if ((uint32_t)code[i] < k) {
                    es.cnt[code[i]] += 1;
                    continue;
                }
                for (size_t u = 0; u < p; u++)
                    es.bx2[u] += X[u * SUB + i] * X[u * SUB + i];
            }
            for (size_t q = 0; q < n_miss; q++) {
                size_t v = ml[q] / SUB, i = ml[q] % SUB;
                if ((uint32_t)code[i] < k)
                    es.mc[v * k + (size_t)code[i]] += 1;
            }
        }
        for (size_t e = 0; e < n_miss; e++)
            mf[ml[e]] = 0;
    }
    free(X);
    free(mf);
    free(ml);
    free(slot);
    free(acc);
}

/*
 * The correlation of numeric columns u and v over the rows where both are
 * present, from the Gram matrix g, totals tot and corrections c, cc of the
 * values (Pearson) or of the ranks (Spearman).
 */
static double corr_from(const num_job *b, const sums *s, int ranks, size_t u, size_t v)
{
    size_t p = b->p, P = b->P;
    const kl_profile_column *cu = &b->w->p->columns[b->num[u]];
    const kl_profile_column *cv = &b->w->p->columns[b->num[v]];
    const double *g = ranks ? s->gr : s->gx, *tot = ranks ? s->tr : s->tx;
    const double *c = ranks ? s->cr : s->cx, *cc = ranks ? s->crr : s->cxx;
    double n = (double)cu->count + (double)cv->count - (double)b->w->n + s->cn[v * p + u];
    if (n < 2)
        return NAN;
    double su = tot[u] - c[v * p + u], sv = tot[v] - c[u * p + v];
    double suu = g[u * P + u] - cc[v * p + u], svv = g[v * P + v] - cc[u * p + v];
    double suv = u <= v ? g[u * P + v] : g[v * P + u];
    double cov = suv - su * sv / n, vu = suu - su * su / n, vv = svv - sv * sv / n;
    /*
     * A column constant over the pair's rows leaves only rounding in its
     * variance (the sums are of deviations from the whole column's mean):
     * undefined, as in pandas, rather than a correlation of rounding errors.
     */
    if (!(vu > 1e-13 * suu && vv > 1e-13 * svv))
        return NAN;
    double r = cov / sqrt(vu * vv);
    return r > 1 ? 1 : r < -1 ? -1 : r;
}

/*
 * The correlation ratio of numeric column u and categorical column cat[e] over
 * the rows where both are present: the share of u's variance that the
 * category means explain, square-rooted.
 */
static double eta_from(const num_job *b, const sums *s, double *total, size_t e, size_t u)
{
    size_t k = b->w->n_codes[b->cat[e]];
    double mean = b->mean[u];
    if (!isfinite(mean))
        return NAN;
    eta_sums es = eta_at(b, total, e, k);
    const double *su = es.s + u * (k + 1), *mc = es.mc + u * k;
    double st = 0, nt = 0, sb = 0;
    for (size_t c = 0; c < k; c++) {
        double cnt = es.cnt[c] - mc[c];
        st += su[c];
        nt += cnt;
        if (cnt > 0)
            sb += su[c] * su[c] / cnt;
    }
    if (nt <= 1)
        return NAN;
    double stt = s->gx[u * b->P + u] - es.bx2[u];
    double tt = stt - st * st / nt;
    sb -= st * st / nt;
    if (!(tt > 1e-13 * stt))
        return NAN;
    return sqrt(KL_MAX(0.0, KL_MIN(1.0, sb / tt)));
}

static int numeric_pairs(kl__prof *w)
{
    kl_profile *pr = w->p;
    size_t m = w->m, p = 0;
    for (size_t j = 0; j < m; j++)
        p += pr->columns[j].kind == KL_COL_KIND_NUMERIC;
    if (p == 0 || w->n == 0)
        return 0;
    size_t P = (p + 3) / 4 * 4;
    num_job b = {.w = w, .p = p, .P = P, .num_size = sums_size(p, P)};
    b.num = malloc(p * sizeof *b.num);
    b.bad = calloc(p, sizeof *b.bad);
    b.mean = malloc(p * sizeof *b.mean);
    b.cat = malloc(m * sizeof *b.cat);
    b.cat_off = malloc(m * sizeof *b.cat_off);
    double *total = NULL;
    int rc = KL_ENOMEM;
    if (!b.num || !b.bad || !b.mean || !b.cat || !b.cat_off)
        goto done;
    /* Categorical columns with few categories join this pass, within a budget (sizes only). */
    size_t eta_total = 0;
    for (size_t j = 0; j < m; j++) {
        size_t k = w->n_codes[j];
        if (!w->codes[j] || k == 0 || k > ETA_CODES || eta_total + eta_size(p, k) > ETA_BUDGET)
            continue;
        b.cat[b.n_cat] = j;
        b.cat_off[b.n_cat++] = eta_total;
        eta_total += eta_size(p, k);
    }
    b.out_size = b.num_size + eta_total;
    /* Bigger tasks for wide frames, so the per-task sums stay within OUT_BUDGET. */
    b.chunk = CHUNK;
    while (kl_task_count(w->n, b.chunk) * b.out_size > OUT_BUDGET && b.chunk < w->n)
        b.chunk *= 2;
    size_t n_tasks = kl_task_count(w->n, b.chunk);
    b.out = kl__big_alloc(n_tasks * b.out_size * sizeof *b.out);
    total = calloc(b.out_size, sizeof *total);
    if (!b.out || !total)
        goto done;
    for (size_t j = 0, u = 0; j < m; j++) {
        const kl_profile_column *c = &pr->columns[j];
        if (c->kind != KL_COL_KIND_NUMERIC)
            continue;
        b.num[u] = j;
        b.bad[u] = c->infinite > 0;
        b.mean[u] = c->mean;
        u++;
    }
    kl_parallel_for(n_tasks, num_task, &b);
    if (b.failed)
        goto done;
    /* Tasks combined in task order: the same sums for any thread count. */
    for (size_t t = 0; t < n_tasks; t++)
        for (size_t e = 0; e < b.out_size; e++)
            total[e] += b.out[t * b.out_size + e];
    sums s = sums_at(&b, total);
    for (size_t u = 0; u < p; u++)
        for (size_t v = u; v < p; v++) {
            size_t a = b.num[u], c = b.num[v];
            double rp = b.bad[u] || b.bad[v] ? NAN : corr_from(&b, &s, 0, u, v);
            double rs = corr_from(&b, &s, 1, u, v);
            pr->pearson[a * m + c] = pr->pearson[c * m + a] = rp;
            pr->spearman[a * m + c] = pr->spearman[c * m + a] = rs;
            pr->assoc[a * m + c] = pr->assoc[c * m + a] = rp;
            pr->assoc_kind[a * m + c] = pr->assoc_kind[c * m + a] = KL_PROFILE_MEASURE_PEARSON;
        }
    for (size_t e = 0; e < b.n_cat; e++)
        for (size_t u = 0; u < p; u++) {
            size_t a = b.num[u], c = b.cat[e];
            double v = eta_from(&b, &s, total, e, u);
            pr->assoc[a * m + c] = pr->assoc[c * m + a] = v;
            pr->assoc_kind[a * m + c] = pr->assoc_kind[c * m + a] = KL_PROFILE_MEASURE_ETA;
            w->pair_done[a * m + c] = 1;
        }
    rc = 0;
done:
    free(b.num);
    free(b.bad);
    free(b.mean);
    free(b.cat);
    free(b.cat_off);
    free(b.out);
    free(total);
    return rc;
}

/* ---- pairs with a categorical column ---- */

typedef struct pair_job {
    kl__prof *w;
    size_t *a, *b; /* the pairs; b is categorical */
    int failed;
} pair_job;

static double eta(kl__prof *w, size_t a, size_t b)
{
    const double *y = kl_frame_col_f64(w->f, a);
    const int32_t *x = w->codes[b];
    size_t k = w->n_codes[b];
    double mean = w->p->columns[a].mean;
    if (!isfinite(mean) || k == 0)
        return NAN;
    double *s = calloc(k, sizeof *s);
    size_t *cnt = calloc(k, sizeof *cnt);
    if (!s || !cnt) {
        free(s);
        free(cnt);
        return -2; /* out of memory */
    }
    double st = 0, stt = 0;
    size_t nt = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (x[i] < 0 || isnan(y[i]))
            continue;
        double d = y[i] - mean;
        s[x[i]] += d;
        cnt[x[i]]++;
        st += d;
        stt += d * d;
        nt++;
    }
    double r = NAN;
    if (nt > 1) {
        double sb = 0, tt = stt - st * st / (double)nt;
        for (size_t c = 0; c < k; c++)
            if (cnt[c])
                sb += s[c] * s[c] / (double)cnt[c];
        sb -= st * st / (double)nt;
        if (tt > 0)
            r = sqrt(KL_MAX(0.0, KL_MIN(1.0, sb / tt)));
    }
    free(s);
    free(cnt);
    return r;
}

#define MAX_TABLE ((size_t)1 << 24)

static double cramers_v(kl__prof *w, size_t a, size_t b)
{
    const int32_t *x = w->codes[a], *y = w->codes[b];
    size_t ka = w->n_codes[a], kb = w->n_codes[b];
    if (ka == 0 || kb == 0 || ka > MAX_TABLE / kb)
        return NAN;
    size_t *t = calloc(ka * kb + ka + kb, sizeof *t);
    if (!t)
        return -2;
    size_t *ra = t + ka * kb, *cb = ra + ka, nt = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (x[i] < 0 || y[i] < 0)
            continue;
        t[(size_t)x[i] * kb + (size_t)y[i]]++;
        ra[x[i]]++;
        cb[y[i]]++;
        nt++;
    }
    size_t r = 0, c = 0;
    for (size_t i = 0; i < ka; i++)
        r += ra[i] > 0;
    for (size_t i = 0; i < kb; i++)
        c += cb[i] > 0;
    double v = NAN;
    if (nt > 0 && r > 1 && c > 1) {
        double chi2 = 0, dn = (double)nt;
        for (size_t i = 0; i < ka; i++) {
            if (!ra[i])
                continue;
            for (size_t l = 0; l < kb; l++) {
                if (!cb[l])
                    continue;
                double e = (double)ra[i] * (double)cb[l] / dn, d = (double)t[i * kb + l] - e;
                chi2 += d * d / e;
            }
        }
        v = sqrt(KL_MIN(1.0, chi2 / dn / (double)(KL_MIN(r, c) - 1)));
    }
    free(t);
    return v;
}

static void pair_task(void *ctx, size_t t)
{
    pair_job *j = ctx;
    kl__prof *w = j->w;
    size_t a = j->a[t], b = j->b[t], m = w->m;
    int num = w->p->columns[a].kind == KL_COL_KIND_NUMERIC;
    double v = num ? eta(w, a, b) : cramers_v(w, a, b);
    if (v == -2) {
        j->failed = 1;
        return;
    }
    w->p->assoc[a * m + b] = w->p->assoc[b * m + a] = v;
    w->p->assoc_kind[a * m + b] = w->p->assoc_kind[b * m + a] =
        num ? KL_PROFILE_MEASURE_ETA : KL_PROFILE_MEASURE_CRAMERS_V;
}

int kl__profile_assoc(kl__prof *w)
{
    kl_profile *p = w->p;
    size_t m = w->m, mm = m ? m * m : 1;
    p->pearson = malloc(mm * sizeof *p->pearson);
    p->spearman = malloc(mm * sizeof *p->spearman);
    p->assoc = malloc(mm * sizeof *p->assoc);
    p->assoc_kind = calloc(mm, 1);
    if (!p->pearson || !p->spearman || !p->assoc || !p->assoc_kind)
        return KL_ENOMEM;
    for (size_t e = 0; e < m * m; e++)
        p->pearson[e] = p->spearman[e] = p->assoc[e] = NAN;
    w->pair_done = calloc(mm, 1);
    if (!w->pair_done || numeric_pairs(w) < 0)
        return KL_ENOMEM;
    size_t np = 0;
    pair_job job = {.w = w};
    job.a = malloc(mm * sizeof *job.a);
    job.b = malloc(mm * sizeof *job.b);
    if (!job.a || !job.b) {
        free(job.a);
        free(job.b);
        return KL_ENOMEM;
    }
    for (size_t a = 0; a < m; a++)
        for (size_t b = 0; b < m; b++) {
            int ca = w->codes[a] != NULL, cb = w->codes[b] != NULL;
            int na = p->columns[a].kind == KL_COL_KIND_NUMERIC;
            if (cb && ((na && !w->pair_done[a * m + b]) || (ca && a <= b))) {
                job.a[np] = a;
                job.b[np++] = b;
            }
        }
    kl_parallel_for(np, pair_task, &job);
    free(job.a);
    free(job.b);
    return job.failed ? KL_ENOMEM : 0;
}
