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
 * Why this design: all numeric pairs at once are one symmetric rank-k update
 * (dsyrk) per row block on the centred values with missing set to 0, plus a
 * mask column per column with missing values: X'X gives the cross sums, X'M
 * the per-pair sums of one column over the rows where the other is present,
 * and (X*X)'M the per-pair sums of squares. That is exact pairwise-complete
 * Pearson at BLAS speed instead of a loop per pair; the same on the rank
 * columns gives Spearman.
 */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keel/parallel.h"
#include "profile_internal.h"
#include "core/common.h"

#define BLOCK 16384

typedef struct blas_job {
    kl__prof *w;
    size_t p, q;  /* numeric columns, those of them with missing values */
    size_t *num;  /* column index of numeric column u */
    long *miss;   /* u -> index among columns with missing, or -1 */
    size_t *mcol; /* w -> u */
    int *bad;     /* u: Pearson undefined (infinities) */
    double *out;  /* per block: GX, GR ((p+q)^2 each), GS (2p x q) */
    size_t out_size;
    int failed;
} blas_job;

static void blas_task(void *ctx, size_t t)
{
    blas_job *b = ctx;
    kl__prof *w = b->w;
    size_t p = b->p, q = b->q, k = p + q;
    size_t lo = t * BLOCK, hi = KL_MIN(w->n, lo + BLOCK), nb = hi - lo;
    double *xm = malloc(nb * k * sizeof *xm), *rm = malloc(nb * k * sizeof *rm);
    double *sq = malloc(nb * 2 * p * sizeof *sq);
    if (!xm || !rm || !sq) {
        b->failed = 1;
        free(xm);
        free(rm);
        free(sq);
        return;
    }
    for (size_t u = 0; u < p; u++) {
        size_t j = b->num[u];
        const double *v = kl_frame_col_f64(w->f, j) + lo;
        const double *r = w->rank[j] + lo;
        double mean = w->p->columns[j].mean;
        double *x = xm + u * nb, *rr = rm + u * nb, *x2 = sq + u * nb, *r2 = sq + (p + u) * nb;
        for (size_t i = 0; i < nb; i++) {
            double d = isnan(v[i]) || b->bad[u] ? 0 : v[i] - mean;
            x[i] = d;
            x2[i] = d * d;
            rr[i] = r[i];
            r2[i] = r[i] * r[i];
        }
    }
    for (size_t s = 0; s < q; s++) {
        const double *v = kl_frame_col_f64(w->f, b->num[b->mcol[s]]) + lo;
        double *mx = xm + (p + s) * nb, *mr = rm + (p + s) * nb;
        for (size_t i = 0; i < nb; i++)
            mx[i] = mr[i] = isnan(v[i]) ? 0 : 1;
    }
    double *gx = b->out + t * b->out_size, *gr = gx + k * k, *gs = gr + k * k;
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)k, (int)nb, 1.0, xm, (int)nb, 0.0, gx,
                (int)k);
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)k, (int)nb, 1.0, rm, (int)nb, 0.0, gr,
                (int)k);
    if (q)
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)(2 * p), (int)q, (int)nb, 1.0, sq,
                    (int)nb, xm + p * nb, (int)nb, 0.0, gs, (int)(2 * p));
    free(xm);
    free(rm);
    free(sq);
}

/* Upper-triangle element (a, b) of a column-major k x k matrix filled by dsyrk. */
static double up(const double *g, size_t k, size_t a, size_t b)
{
    return a <= b ? g[b * k + a] : g[a * k + b];
}

/*
 * Correlation of numeric columns u, v from the block sums g (GX or GR), the
 * squared-sum block gs (offset so column u of the block is row u) and the
 * column totals tot (sum of the centred values over all present rows).
 */
static double corr_from(const blas_job *b, const double *g, const double *gs, size_t off,
                        const double *tot, size_t u, size_t v)
{
    size_t p = b->p, k = p + b->q;
    long mu = b->miss[u], mv = b->miss[v];
    const kl_profile_column *cu = &b->w->p->columns[b->num[u]], *cv = &b->w->p->columns[b->num[v]];
    double n;
    if (mu >= 0 && mv >= 0)
        n = up(g, k, p + (size_t)mu, p + (size_t)mv);
    else if (mu >= 0)
        n = (double)cu->count;
    else if (mv >= 0)
        n = (double)cv->count;
    else
        n = (double)b->w->n;
    if (n < 2)
        return NAN;
    double su = mv >= 0 ? up(g, k, u, p + (size_t)mv) : tot[u];
    double sv = mu >= 0 ? up(g, k, v, p + (size_t)mu) : tot[v];
    double suu = mv >= 0 ? gs[(size_t)mv * 2 * p + off + u] : up(g, k, u, u);
    double svv = mu >= 0 ? gs[(size_t)mu * 2 * p + off + v] : up(g, k, v, v);
    double suv = up(g, k, u, v);
    double cov = suv - su * sv / n, vu = suu - su * su / n, vv = svv - sv * sv / n;
    if (!(vu > 0 && vv > 0))
        return NAN;
    double r = cov / sqrt(vu * vv);
    return r > 1 ? 1 : r < -1 ? -1 : r;
}

static int numeric_pairs(kl__prof *w)
{
    kl_profile *pr = w->p;
    size_t m = w->m, p = 0, q = 0;
    for (size_t j = 0; j < m; j++)
        if (pr->columns[j].kind == KL_COL_KIND_NUMERIC) {
            p++;
            q += pr->columns[j].count < w->n;
        }
    if (p == 0 || w->n == 0)
        return 0;
    blas_job b = {.w = w, .p = p, .q = q};
    b.num = malloc(p * sizeof *b.num);
    b.miss = malloc(p * sizeof *b.miss);
    b.mcol = malloc((q ? q : 1) * sizeof *b.mcol);
    b.bad = calloc(p, sizeof *b.bad);
    double *tot = calloc(2 * p, sizeof *tot);
    size_t k = p + q, n_blocks = kl_task_count(w->n, BLOCK);
    b.out_size = 2 * k * k + 2 * p * q;
    b.out = malloc(n_blocks * b.out_size * sizeof *b.out);
    double *g = calloc(b.out_size, sizeof *g);
    int rc = KL_ENOMEM;
    if (!b.num || !b.miss || !b.mcol || !b.bad || !tot || !b.out || !g)
        goto done;
    for (size_t j = 0, u = 0, s = 0; j < m; j++) {
        const kl_profile_column *c = &pr->columns[j];
        if (c->kind != KL_COL_KIND_NUMERIC)
            continue;
        b.num[u] = j;
        b.bad[u] = c->infinite > 0;
        b.miss[u] = -1;
        if (c->count < w->n) {
            b.miss[u] = (long)s;
            b.mcol[s++] = u;
        }
        u++;
    }
    kl_parallel_for(n_blocks, blas_task, &b);
    if (b.failed)
        goto done;
    for (size_t t = 0; t < n_blocks; t++)
        for (size_t e = 0; e < b.out_size; e++)
            g[e] += b.out[t * b.out_size + e];
    /* Column totals of the centred values and ranks over all present rows. */
    for (size_t u = 0; u < p; u++) {
        size_t j = b.num[u];
        const double *v = kl_frame_col_f64(w->f, j), *r = w->rank[j];
        double mean = pr->columns[j].mean, sx = 0, sr = 0;
        for (size_t i = 0; i < w->n; i++)
            if (!isnan(v[i])) {
                sx += b.bad[u] ? 0 : v[i] - mean;
                sr += r[i];
            }
        tot[u] = sx;
        tot[p + u] = sr;
    }
    const double *gx = g, *gr = g + k * k, *gs = gr + k * k;
    for (size_t u = 0; u < p; u++)
        for (size_t v = u; v < p; v++) {
            size_t a = b.num[u], c = b.num[v];
            double rp = b.bad[u] || b.bad[v] ? NAN : corr_from(&b, gx, gs, 0, tot, u, v);
            double rs = corr_from(&b, gr, gs, p, tot + p, u, v);
            pr->pearson[a * m + c] = pr->pearson[c * m + a] = rp;
            pr->spearman[a * m + c] = pr->spearman[c * m + a] = rs;
            pr->assoc[a * m + c] = pr->assoc[c * m + a] = rp;
            pr->assoc_kind[a * m + c] = pr->assoc_kind[c * m + a] = KL_PROFILE_MEASURE_PEARSON;
        }
    rc = 0;
done:
    free(b.num);
    free(b.miss);
    free(b.mcol);
    free(b.bad);
    free(b.out);
    free(tot);
    free(g);
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
    if (numeric_pairs(w) < 0)
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
            if (cb && ((na) || (ca && a <= b))) {
                job.a[np] = a;
                job.b[np++] = b;
            }
        }
    kl_parallel_for(np, pair_task, &job);
    free(job.a);
    free(job.b);
    return job.failed ? KL_ENOMEM : 0;
}
