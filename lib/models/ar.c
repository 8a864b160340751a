/*
 * AR(p) and ARX fitting by conditional least squares, as statsmodels'
 * AutoReg: forecasts, characteristic roots and order selection.
 *
 * The regression is never formed as normal equations. Rows of the design
 * [deterministic terms | lags 1..p | exog | y] are built a block at a time
 * straight from the series (a lag column of a block is a contiguous slice of
 * y, so building it is a memcpy) and reduced by Householder QR (LAPACK
 * dgeqrf): each task owns a fixed chunk of AR_CHUNK rows and folds blocks of
 * AR_SUB rows into its running R factor, then the task factors are folded in
 * task order. This is a TSQR: the full design (88 MB for AR(10) on a million
 * points) never exists, each block stays in cache, and because chunk and
 * block boundaries depend only on the row count, results are bit-identical
 * whatever the thread count. Blocks are kept small (block_rows: at most
 * about 3,200 values) so that OpenBLAS runs the level-2 kernels inside
 * dgeqrf on one thread even outside keel's parallel regions (it threads
 * gemv and ger above 8,192 values, which made 1,024-row blocks 20 times
 * slower on a loaded machine) and each block stays in L1/L2 cache. The last column of the augmented
 * R gives Q'y; the coefficients come from one triangular solve, and the residuals and SSR from a
 * second streaming pass (per-chunk sums added in chunk order).
 *
 * Invariants: params are ordered deterministic, lags, exog; a fit either
 * fills the whole result or leaves it zeroed.
 */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keel/ar.h"
#include "keel/parallel.h"
#include "core/common.h"

#define AR_CHUNK 32768
#define AR_SUB 256 /* rows per QR step for up to 12 augmented columns; fewer beyond */

/* A column whose part orthogonal to the previous ones is below this share of its norm. */
#define AR_RANK_TOL 1e-10

static const char *const trend_names[] = {"c", "n", "ct"};
static const char *const ic_names[] = {"aic", "bic", "hqic"};

const char *kl_ar_trend_name(enum kl_ar_trend trend)
{
    return (unsigned)trend < KL_ARRAY_LEN(trend_names) ? trend_names[trend] : "?";
}

int kl_ar_trend_parse(const char *name)
{
    for (size_t i = 0; name && i < KL_ARRAY_LEN(trend_names); i++)
        if (strcmp(name, trend_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *kl_ar_ic_name(enum kl_ar_ic ic)
{
    return (unsigned)ic < KL_ARRAY_LEN(ic_names) ? ic_names[ic] : "?";
}

int kl_ar_ic_parse(const char *name)
{
    for (size_t i = 0; name && i < KL_ARRAY_LEN(ic_names); i++)
        if (strcmp(name, ic_names[i]) == 0)
            return (int)i;
    return -1;
}

size_t kl_ar_trend_terms(enum kl_ar_trend trend)
{
    return trend == KL_AR_TREND_N ? 0 : trend == KL_AR_TREND_CT ? 2 : 1;
}

/* ---- the design, block by block ---- */

struct design {
    const double *y;
    const double *exog;
    size_t n, p, n_det, n_exog, exog_ld, hold_back, nobs;
    size_t k; /* regressors */
    size_t m; /* k + 1: the augmented column count */
};

/* Fill rows [r0, r0+rows) of the augmented design into a (column-major, leading dim ld). */
static void design_block(const struct design *d, size_t r0, size_t rows, double *a, size_t ld)
{
    size_t t0 = d->hold_back + r0, c = 0;
    if (d->n_det >= 1) {
        for (size_t i = 0; i < rows; i++)
            a[i] = 1.0;
        c++;
    }
    if (d->n_det >= 2) {
        for (size_t i = 0; i < rows; i++)
            a[ld + i] = (double)(t0 + i + 1);
        c++;
    }
    for (size_t l = 1; l <= d->p; l++, c++)
        memcpy(a + c * ld, d->y + t0 - l, rows * sizeof(double));
    for (size_t j = 0; j < d->n_exog; j++, c++)
        memcpy(a + c * ld, d->exog + j * d->exog_ld + t0, rows * sizeof(double));
    memcpy(a + c * ld, d->y + t0, rows * sizeof(double));
}

/* Zero the strictly lower part of the top m×m block of a column-major matrix. */
static void clear_below(double *a, size_t ld, size_t m)
{
    for (size_t c = 0; c < m; c++)
        for (size_t i = c + 1; i < m; i++)
            a[c * ld + i] = 0.0;
}

struct qr_ctx {
    const struct design *d;
    size_t scratch_len; /* per task: (m + block_rows) * m values, then m tau, then lwork */
    lapack_int lwork;
    double *r_task; /* per task: m*m, column-major */
    int *rc;        /* per task: 0, KL_ENOMEM, or KL_EINVAL when dgeqrf fails (a LAPACK bug) */
};

/* Rows per QR step: AR_SUB for 12 augmented columns, fewer for wider designs (16 at least). */
static size_t block_rows(size_t m)
{
    size_t cap = (12 * (12 + AR_SUB)) / m;
    return cap > m + 16 ? KL_MIN((size_t)AR_SUB, cap - m) : 16;
}

static void qr_task(void *ctx, size_t task)
{
    struct qr_ctx *q = ctx;
    const struct design *d = q->d;
    size_t m = d->m, sub = block_rows(m), ld = m + sub;
    double *a = malloc(q->scratch_len * sizeof(double));
    if (!a) {
        q->rc[task] = KL_ENOMEM;
        return;
    }
    double *tau = a + ld * m, *work = tau + m;
    size_t r0 = task * AR_CHUNK, r1 = KL_MIN(d->nobs, r0 + AR_CHUNK);
    memset(a, 0, ld * m * sizeof(double));
    for (size_t s = r0; s < r1; s += sub) {
        size_t rows = KL_MIN(sub, r1 - s);
        design_block(d, s, rows, a + m, ld);
        if (LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, (lapack_int)(m + rows), (lapack_int)m, a,
                                (lapack_int)ld, tau, work, q->lwork) != 0)
            q->rc[task] = KL_EINVAL;
        clear_below(a, ld, m);
    }
    double *r = q->r_task + task * m * m;
    for (size_t c = 0; c < m; c++)
        memcpy(r + c * m, a + c * ld, m * sizeof(double));
    free(a);
}

struct resid_ctx {
    const struct design *d;
    const double *params;
    double *resid;
    double *ssr_task;
};

static void resid_task(void *ctx, size_t task)
{
    struct resid_ctx *rc = ctx;
    const struct design *d = rc->d;
    size_t r0 = task * AR_CHUNK, r1 = KL_MIN(d->nobs, r0 + AR_CHUNK), rows = r1 - r0;
    size_t t0 = d->hold_back + r0, c = 0;
    double *e = rc->resid + r0;
    const double *b = rc->params;
    memcpy(e, d->y + t0, rows * sizeof(double));
    if (d->n_det >= 1) {
        for (size_t i = 0; i < rows; i++)
            e[i] -= b[0];
        c++;
    }
    if (d->n_det >= 2) {
        for (size_t i = 0; i < rows; i++)
            e[i] -= b[1] * (double)(t0 + i + 1);
        c++;
    }
    for (size_t l = 1; l <= d->p; l++, c++) {
        const double *x = d->y + t0 - l;
        for (size_t i = 0; i < rows; i++)
            e[i] -= b[c] * x[i];
    }
    for (size_t j = 0; j < d->n_exog; j++, c++) {
        const double *x = d->exog + j * d->exog_ld + t0;
        for (size_t i = 0; i < rows; i++)
            e[i] -= b[c] * x[i];
    }
    double s = 0.0;
    for (size_t i = 0; i < rows; i++)
        s += e[i] * e[i];
    rc->ssr_task[task] = s;
}

static int check_finite(const double *v, size_t n, const char *what, kl_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return kl_err_set(err, KL_EINVAL,
                              "%s has a missing or non-finite value at row %zu; drop or fill "
                              "it before fitting",
                              what, i + 1);
    return 0;
}

/*
 * QR-solve the design: R (m*m, column-major) of [X | y], params (k), resid
 * (nobs) and SSR, on kl_threads() threads.
 */
static int fit_core(const struct design *d, double *r, double *params, double *resid, double *ssr,
                    kl_err *err)
{
    size_t m = d->m, k = d->k, n_tasks = kl_task_count(d->nobs, AR_CHUNK);
    size_t ld = m + block_rows(m);
    double wq = 0.0;
    double tmp[1];
    /* Workspace query on the largest block; the answer is the same for every block. */
    if (LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, (lapack_int)ld, (lapack_int)m, tmp, (lapack_int)ld,
                            tmp, &wq, -1) != 0)
        return kl_err_set(err, KL_EINVAL, "LAPACK dgeqrf workspace query failed");
    lapack_int lwork = (lapack_int)wq;
    if (lwork < (lapack_int)(2 * m))
        lwork = (lapack_int)(2 * m);
    struct qr_ctx q = {d, ld * m + m + (size_t)lwork, lwork, NULL, NULL};
    q.r_task = malloc(n_tasks * m * m * sizeof(double));
    q.rc = calloc(n_tasks, sizeof(int));
    double *comb = malloc((2 * m * m + m + (size_t)lwork) * sizeof(double));
    double *ssr_task = malloc(n_tasks * sizeof(double));
    int rc = 0;
    if (!q.r_task || !q.rc || !comb || !ssr_task) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory fitting an AR model on %zu rows", d->nobs);
        goto done;
    }
    kl_parallel_for(n_tasks, qr_task, &q);
    for (size_t t = 0; t < n_tasks; t++)
        if (q.rc[t] < 0) {
            rc = q.rc[t] == KL_ENOMEM
                     ? kl_err_set(err, KL_ENOMEM, "out of memory fitting an AR model")
                     : kl_err_set(err, KL_EINVAL, "LAPACK dgeqrf failed on the AR design");
            goto done;
        }
    /* Fold the task factors in task order: QR of [R_acc; R_task]. */
    double *tau = comb + 2 * m * m, *work = tau + m;
    memcpy(r, q.r_task, m * m * sizeof(double));
    for (size_t t = 1; t < n_tasks; t++) {
        for (size_t c = 0; c < m; c++) {
            memcpy(comb + c * 2 * m, r + c * m, m * sizeof(double));
            memcpy(comb + c * 2 * m + m, q.r_task + t * m * m + c * m, m * sizeof(double));
        }
        if (LAPACKE_dgeqrf_work(LAPACK_COL_MAJOR, (lapack_int)(2 * m), (lapack_int)m, comb,
                                (lapack_int)(2 * m), tau, work, lwork) != 0) {
            rc = kl_err_set(err, KL_EINVAL, "LAPACK dgeqrf failed on the AR design");
            goto done;
        }
        for (size_t c = 0; c < m; c++)
            for (size_t i = 0; i < m; i++)
                r[c * m + i] = i <= c ? comb[c * 2 * m + i] : 0.0;
    }
    /* Rank: each column must keep a share of its norm outside the span of those before it. */
    for (size_t j = 0; j < k; j++) {
        double nrm = 0.0;
        for (size_t i = 0; i <= j; i++)
            nrm += r[j * m + i] * r[j * m + i];
        nrm = sqrt(nrm);
        if (!(fabs(r[j * m + j]) > AR_RANK_TOL * nrm) || nrm == 0.0) {
            rc = kl_err_set(err, KL_EINVAL,
                            "the AR design is rank deficient (regressor %zu depends on the ones "
                            "before it; is the series constant?)",
                            j + 1);
            goto done;
        }
    }
    for (size_t i = 0; i < k; i++)
        params[i] = r[k * m + i];
    if (k)
        cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (blasint)k, r,
                    (blasint)m, params, 1);
    struct resid_ctx res = {d, params, resid, ssr_task};
    kl_parallel_for(n_tasks, resid_task, &res);
    double s = 0.0;
    for (size_t t = 0; t < n_tasks; t++)
        s += ssr_task[t];
    *ssr = s;
done:
    free(q.rc);
    free(q.r_task);
    free(comb);
    free(ssr_task);
    return rc;
}

static int design_init(struct design *d, const double *y, size_t n, size_t p, const kl_ar_opts *o,
                       size_t hold_back, kl_err *err)
{
    memset(d, 0, sizeof *d);
    d->y = y;
    d->n = n;
    d->p = p;
    d->n_det = kl_ar_trend_terms(o->trend);
    d->exog = o->exog;
    d->n_exog = o->exog ? o->n_exog : 0;
    d->exog_ld = o->exog_ld ? o->exog_ld : n;
    d->hold_back = hold_back;
    d->k = d->n_det + p + d->n_exog;
    d->m = d->k + 1;
    if ((unsigned)o->trend > KL_AR_TREND_CT)
        return kl_err_set(err, KL_EINVAL, "unknown AR trend %d", (int)o->trend);
    if (hold_back < p)
        return kl_err_set(err, KL_ERANGE, "hold_back %zu is smaller than the number of lags %zu",
                          hold_back, p);
    if (n <= hold_back || n - hold_back < d->k)
        return kl_err_set(err, KL_ERANGE,
                          "series too short: %zu values leave %zu to fit after holding back "
                          "%zu, fewer than the %zu regressors of AR(%zu) with trend '%s'",
                          n, n > hold_back ? n - hold_back : 0, hold_back, d->k, p,
                          kl_ar_trend_name(o->trend));
    d->nobs = n - hold_back;
    if (d->n_exog && d->exog_ld < n)
        return kl_err_set(err, KL_EINVAL, "exog column stride %zu is shorter than the series (%zu)",
                          d->exog_ld, n);
    return 0;
}

static void fill_ics(kl_ar_result *r)
{
    double nobs = (double)r->nobs, df = (double)r->k + 1.0;
    r->sigma2 = r->ssr / nobs;
    r->llf = -nobs / 2.0 * (log(2.0 * M_PI) + log(r->sigma2) + 1.0);
    r->aic = -2.0 * r->llf + 2.0 * df;
    r->bic = -2.0 * r->llf + log(nobs) * df;
    r->hqic = -2.0 * r->llf + 2.0 * log(log(nobs)) * df;
}

int kl_ar_fit(const double *y, size_t n, size_t p, const kl_ar_opts *opts, kl_ar_result *out,
              kl_err *err)
{
    static const kl_ar_opts defaults = {0};
    const kl_ar_opts *o = opts ? opts : &defaults;
    memset(out, 0, sizeof *out);
    struct design d;
    int rc = design_init(&d, y, n, p, o, o->hold_back ? o->hold_back : p, err);
    if (rc < 0)
        return rc;
    if ((rc = check_finite(y, n, "series", err)) < 0)
        return rc;
    for (size_t j = 0; j < d.n_exog; j++)
        if ((rc = check_finite(d.exog + j * d.exog_ld, n, "an exogenous column", err)) < 0)
            return rc;
    size_t k = d.k, m = d.m;
    out->trend = o->trend;
    out->p = p;
    out->n_det = d.n_det;
    out->n_exog = d.n_exog;
    out->k = k;
    out->n = n;
    out->hold_back = d.hold_back;
    out->nobs = d.nobs;
    out->params = calloc(k ? k : 1, sizeof(double));
    out->bse = calloc(k ? k : 1, sizeof(double));
    out->cov = calloc(k ? k * k : 1, sizeof(double));
    out->resid = malloc(d.nobs * sizeof(double));
    out->tail = calloc(p ? p : 1, sizeof(double));
    out->roots_re = calloc(p ? p : 1, sizeof(double));
    out->roots_im = calloc(p ? p : 1, sizeof(double));
    out->roots_mod = calloc(p ? p : 1, sizeof(double));
    double *r = malloc(m * m * sizeof(double));
    if (!out->params || !out->bse || !out->cov || !out->resid || !out->tail || !out->roots_re ||
        !out->roots_im || !out->roots_mod || !r) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory fitting an AR model");
        goto fail;
    }
    if ((rc = fit_core(&d, r, out->params, out->resid, &out->ssr, err)) < 0)
        goto fail;
    fill_ics(out);
    /* cov = sigma2 (X'X)^-1 = sigma2 R^-1 R^-T, with R^-1 upper triangular (dtrtri). */
    if (k) {
        double *ri = malloc(k * k * sizeof(double));
        if (!ri) {
            rc = kl_err_set(err, KL_ENOMEM, "out of memory fitting an AR model");
            goto fail;
        }
        for (size_t c = 0; c < k; c++)
            for (size_t i = 0; i < k; i++)
                ri[c * k + i] = i <= c ? r[c * m + i] : 0.0;
        if (LAPACKE_dtrtri(LAPACK_COL_MAJOR, 'U', 'N', (lapack_int)k, ri, (lapack_int)k) != 0) {
            free(ri);
            rc = kl_err_set(err, KL_EINVAL, "the AR design is singular");
            goto fail;
        }
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < k; j++) {
                double s = 0.0;
                for (size_t l = KL_MAX(i, j); l < k; l++)
                    s += ri[l * k + i] * ri[l * k + j];
                out->cov[i * k + j] = out->sigma2 * s;
            }
        free(ri);
        for (size_t i = 0; i < k; i++)
            out->bse[i] = sqrt(out->cov[i * k + i]);
    }
    if (p)
        memcpy(out->tail, y + n - p, p * sizeof(double));
    if ((rc = kl_ar_roots(out->params + d.n_det, p, out->roots_re, out->roots_im, out->roots_mod,
                          err)) < 0)
        goto fail;
    out->stationary = 1;
    for (size_t i = 0; i < p; i++)
        if (!(out->roots_mod[i] > 1.0))
            out->stationary = 0;
    free(r);
    return 0;
fail:
    free(r);
    kl_ar_result_release(out);
    return rc;
}

void kl_ar_result_release(kl_ar_result *r)
{
    if (!r)
        return;
    free(r->params);
    free(r->bse);
    free(r->cov);
    free(r->resid);
    free(r->tail);
    free(r->roots_re);
    free(r->roots_im);
    free(r->roots_mod);
    memset(r, 0, sizeof *r);
}

/* ---- forecasts ---- */

int kl_ar_forecast(const kl_ar_result *r, size_t h, const double *exog_future, size_t exog_ld,
                   double *mean, double *var, kl_err *err)
{
    if (!exog_ld)
        exog_ld = h;
    if (!r->params)
        return kl_err_set(err, KL_EINVAL, "forecast from an AR model that was not fitted");
    if (r->n_exog && !exog_future)
        return kl_err_set(err, KL_EINVAL,
                          "the model has %zu exogenous columns: forecasts need their future "
                          "values",
                          r->n_exog);
    const double *k = r->params + r->n_det, *b = k + r->p;
    size_t n = r->n, p = r->p;
    for (size_t i = 0; i < h; i++) {
        double f = 0.0;
        if (r->n_det >= 1)
            f += r->params[0];
        if (r->n_det >= 2)
            f += r->params[1] * (double)(n + i + 1);
        for (size_t l = 1; l <= p; l++)
            f += k[l - 1] * (l <= i ? mean[i - l] : r->tail[p - (l - i)]);
        for (size_t j = 0; j < r->n_exog; j++)
            f += b[j] * exog_future[j * exog_ld + i];
        mean[i] = f;
    }
    if (var) {
        /* psi weights: psi_0 = 1, psi_j = sum_{l=1..min(j,p)} k_l psi_{j-l}; var is cumulative. */
        double *psi = malloc((h ? h : 1) * sizeof(double));
        if (!psi)
            return kl_err_set(err, KL_ENOMEM, "out of memory forecasting");
        double acc = 0.0;
        for (size_t j = 0; j < h; j++) {
            double s = j == 0 ? 1.0 : 0.0;
            for (size_t l = 1; l <= p && l <= j; l++)
                s += k[l - 1] * psi[j - l];
            psi[j] = s;
            acc += s * s;
            var[j] = r->sigma2 * acc;
        }
        free(psi);
    }
    return 0;
}

/* ---- characteristic roots ---- */

struct root {
    double re, im, mod;
};

static int root_cmp(const void *pa, const void *pb)
{
    const struct root *a = pa, *b = pb;
    if (a->mod != b->mod)
        return a->mod < b->mod ? -1 : 1;
    if (a->re != b->re)
        return a->re < b->re ? -1 : 1;
    return (a->im > b->im) - (a->im < b->im);
}

int kl_ar_roots(const double *k, size_t p, double *re, double *im, double *mod, kl_err *err)
{
    if (p == 0)
        return 0;
    double *c = calloc(p * p + 2 * p, sizeof(double));
    struct root *rt = malloc(p * sizeof *rt);
    if (!c || !rt) {
        free(c);
        free(rt);
        return kl_err_set(err, KL_ENOMEM, "out of memory computing AR roots");
    }
    double *wr = c + p * p, *wi = wr + p;
    /* Companion matrix (column-major): first row k_1..k_p, ones below the diagonal. */
    for (size_t j = 0; j < p; j++)
        c[j * p] = k[j];
    for (size_t i = 1; i < p; i++)
        c[(i - 1) * p + i] = 1.0;
    lapack_int info = LAPACKE_dgeev(LAPACK_COL_MAJOR, 'N', 'N', (lapack_int)p, c, (lapack_int)p, wr,
                                    wi, NULL, 1, NULL, 1);
    if (info != 0) {
        free(c);
        free(rt);
        return kl_err_set(err, KL_EINVAL,
                          "eigenvalues of the AR companion matrix did not converge");
    }
    for (size_t i = 0; i < p; i++) {
        /* root = 1 / eigenvalue */
        double a = wr[i], b = wi[i], d = a * a + b * b;
        if (d == 0.0) {
            rt[i].re = INFINITY;
            rt[i].im = 0.0;
            rt[i].mod = INFINITY;
        } else {
            rt[i].re = a / d;
            rt[i].im = -b / d;
            rt[i].mod = 1.0 / hypot(a, b);
        }
    }
    qsort(rt, p, sizeof *rt, root_cmp);
    for (size_t i = 0; i < p; i++) {
        re[i] = rt[i].re;
        im[i] = rt[i].im;
        mod[i] = rt[i].mod;
    }
    free(c);
    free(rt);
    return 0;
}

/* ---- order selection ---- */

int kl_ar_select(const double *y, size_t n, size_t max_lag, enum kl_ar_ic ic,
                 const kl_ar_opts *opts, size_t *best, double *ic_values, kl_err *err)
{
    static const kl_ar_opts defaults = {0};
    const kl_ar_opts *o = opts ? opts : &defaults;
    if ((unsigned)ic > KL_AR_IC_HQIC)
        return kl_err_set(err, KL_EINVAL, "unknown information criterion %d", (int)ic);
    struct design d;
    int rc = design_init(&d, y, n, max_lag, o, max_lag, err);
    if (rc < 0)
        return rc;
    if ((rc = check_finite(y, n, "series", err)) < 0)
        return rc;
    for (size_t j = 0; j < d.n_exog; j++)
        if ((rc = check_finite(d.exog + j * d.exog_ld, n, "an exogenous column", err)) < 0)
            return rc;
    size_t mmax = d.m;
    double *r = malloc(mmax * mmax * sizeof(double));
    double *params = malloc(mmax * sizeof(double));
    double *resid = malloc(d.nobs * sizeof(double));
    if (!r || !params || !resid) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory selecting an AR order");
        goto done;
    }
    double nobs = (double)d.nobs;
    double pen = ic == KL_AR_IC_AIC ? 2.0 : ic == KL_AR_IC_BIC ? log(nobs) : 2.0 * log(log(nobs));
    double best_v = INFINITY;
    *best = 0;
    for (size_t q = 0; q <= max_lag; q++) {
        struct design dq;
        if ((rc = design_init(&dq, y, n, q, o, max_lag, err)) < 0)
            goto done;
        double ssr = 0.0;
        if (dq.k == 0) {
            for (size_t t = max_lag; t < n; t++)
                ssr += y[t] * y[t];
        } else if ((rc = fit_core(&dq, r, params, resid, &ssr, err)) < 0) {
            goto done;
        }
        double llf = -nobs / 2.0 * (log(2.0 * M_PI) + log(ssr / nobs) + 1.0);
        /* statsmodels' selection counts regressors other than the constant, plus one. */
        double df = (double)dq.k + (o->trend == KL_AR_TREND_N ? 1.0 : 0.0);
        double v = -2.0 * llf + pen * df;
        if (ic_values)
            ic_values[q] = v;
        if (v < best_v) {
            best_v = v;
            *best = q;
        }
    }
done:
    free(r);
    free(params);
    free(resid);
    return rc;
}
