/*
 * Least-squares linear models: ols, ridge (QR of the data, then of the small
 * augmented system), lasso and elastic net (cyclic coordinate descent with
 * scikit-learn's duality-gap stop), and the state, payload and prediction
 * they share with logistic regression. Objectives are documented in
 * include/keel/linear.h.
 *
 * Why QR twice for ridge: ||Xc w - yc||^2 = ||R w - c||^2 + const with
 * Xc = QR and c the first p entries of Q^T yc, so ridge on the data equals
 * ridge on the p x p triangle: min ||[R; sqrt(alpha) I] w - [c; 0]||. The
 * expensive n x p QR is done in place (no copy of X, no normal equations),
 * and the 2p x p system is solved with dgels. OLS uses the same R; when R is
 * numerically singular the minimum-norm solution comes from dgelsd on R,
 * which has the same solution set as the full problem.
 *
 * Invariants: X arrives column-major and may be overwritten (centred, then
 * factorised); fits run with one BLAS thread (model.c), so every result is
 * a fixed sequence of floating-point operations.
 */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "keel/linear.h"
#include "keel/model.h"
#include "keel/parallel.h"

#include "models/linear_internal.h"

#include "core/common.h"

/* ---- shared state, payload, prediction ---- */

kl__linear *kl__linear_new(size_t p, size_t k)
{
    kl__linear *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->p = (uint32_t)p;
    s->k = (uint32_t)k;
    s->intercept = calloc(k ? k : 1, sizeof(double));
    s->coef = calloc(KL_MAX(k * p, 1), sizeof(double));
    if (!s->intercept || !s->coef) {
        kl__linear_free(s);
        return NULL;
    }
    return s;
}

void kl__linear_free(void *state)
{
    kl__linear *s = state;
    if (!s)
        return;
    free(s->intercept);
    free(s->coef);
    free(s);
}

int kl__linear_save(const void *state, kl_wbuf *w)
{
    const kl__linear *s = state;
    kl_wbuf_u32(w, s->p);
    kl_wbuf_u32(w, s->k);
    kl_wbuf_u32(w, s->n_iter);
    kl_wbuf_u32(w, s->converged);
    kl_wbuf_f64(w, s->objective);
    kl_wbuf_f64s(w, s->intercept, s->k);
    kl_wbuf_f64s(w, s->coef, (size_t)s->k * s->p);
    return w->ok ? 0 : KL_ENOMEM;
}

int kl__linear_load(kl_rbuf *r, const double *pv, void **state, kl_err *err)
{
    (void)pv;
    uint32_t p = kl_rbuf_u32(r), k = kl_rbuf_u32(r);
    uint32_t it = kl_rbuf_u32(r), conv = kl_rbuf_u32(r);
    double obj = kl_rbuf_f64(r);
    if (!r->ok || k == 0 || k > 100000 || conv > 1 ||
        (uint64_t)k * ((uint64_t)p + 1) > (r->len - r->pos) / 8)
        return kl_err_set(err, KL_ECORRUPT, "bad linear payload");
    kl__linear *s = kl__linear_new(p, k);
    if (!s)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    s->n_iter = it;
    s->converged = conv;
    s->objective = obj;
    kl_rbuf_f64s(r, s->intercept, k);
    kl_rbuf_f64s(r, s->coef, (size_t)k * p);
    for (size_t i = 0; r->ok && i < (size_t)k * (p + 1); i++)
        if (!isfinite(i < k ? s->intercept[i] : s->coef[i - k]))
            r->ok = 0;
    if (!r->ok) {
        kl__linear_free(s);
        return kl_err_set(err, KL_ECORRUPT, "bad linear payload");
    }
    *state = s;
    return 0;
}

int kl__linear_coef(const void *state, size_t *n_outputs, size_t *n_features,
                    const double **intercept, const double **coef)
{
    const kl__linear *s = state;
    *n_outputs = s->k;
    *n_features = s->p;
    *intercept = s->intercept;
    *coef = s->coef;
    return 0;
}

int kl__linear_predict(const void *state, const double *X, size_t n, size_t ld, double *out,
                       kl_err *err)
{
    (void)err;
    const kl__linear *s = state;
    for (size_t i = 0; i < n; i++)
        out[i] = s->intercept[0];
    if (s->p && n)
        cblas_dgemv(CblasColMajor, CblasNoTrans, (int)n, (int)s->p, 1.0, X, (int)ld, s->coef, 1,
                    1.0, out, 1);
    return 0;
}

static json_t *coef_object(const double *c, size_t p, const char *const *names)
{
    json_t *o = json_object();
    for (size_t j = 0; o && j < p; j++)
        json_object_set_new(o, names[j], json_real(c[j]));
    return o;
}

int kl__linear_describe(const void *state, const char *const *feature_names,
                        const char *const *class_names, struct json_t *obj)
{
    const kl__linear *s = state;
    if (s->k == 1) {
        json_object_set_new(obj, "intercept", json_real(s->intercept[0]));
        json_object_set_new(obj, "coefficients", coef_object(s->coef, s->p, feature_names));
    } else {
        json_t *ic = json_object(), *co = json_object();
        for (size_t k = 0; k < s->k; k++) {
            json_object_set_new(ic, class_names[k], json_real(s->intercept[k]));
            json_object_set_new(co, class_names[k],
                                coef_object(s->coef + k * s->p, s->p, feature_names));
        }
        json_object_set_new(obj, "intercept", ic);
        json_object_set_new(obj, "coefficients", co);
    }
    json_object_set_new(obj, "n_iter", json_integer(s->n_iter));
    json_object_set_new(obj, "converged", json_boolean(s->converged));
    json_object_set_new(obj, "objective", json_real(s->objective));
    return 0;
}

/* ---- least squares ---- */

static int lapack_fail(kl_err *err, const char *fn, lapack_int info)
{
    return kl_err_set(err, KL_EINVAL, "%s failed (info %d)", fn, (int)info);
}

/* The relative size under which a column (or singular value) counts as zero. */
static double rank_tol(size_t n, size_t p)
{
    return (double)KL_MAX(KL_MAX(n, p), (size_t)1000) * 2.220446049250313e-16;
}

/*
 * Minimum-norm solution of the p x p upper-triangular R w = c by SVD, singular
 * values under rank_tol(n, p) times the largest counting as zero; c becomes w.
 */
static int tri_min_norm(const double *R, size_t ldr, size_t n, size_t p, double *c, size_t *rank,
                        kl_err *err)
{
    double *A = malloc(p * p * sizeof(double)), *sv = malloc(p * sizeof(double));
    if (!A || !sv) {
        free(A);
        free(sv);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i < p; i++)
            A[j * p + i] = i <= j ? R[j * ldr + i] : 0.0;
    lapack_int rk = 0;
    lapack_int info = LAPACKE_dgelsd(LAPACK_COL_MAJOR, (lapack_int)p, (lapack_int)p, 1, A,
                                     (lapack_int)p, c, (lapack_int)p, sv, rank_tol(n, p), &rk);
    free(A);
    free(sv);
    if (info != 0)
        return lapack_fail(err, "dgelsd", info);
    if (rank)
        *rank = (size_t)rk;
    return 0;
}

/*
 * QR of X (in place) and c = (Q^T y)[0..p) into y. Needs n >= p.
 */
static int qr_reduce(double *X, size_t n, size_t p, size_t ld, double *y, kl_err *err)
{
    double *tau = malloc((p ? p : 1) * sizeof(double));
    if (!tau)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    lapack_int info =
        LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (lapack_int)n, (lapack_int)p, X, (lapack_int)ld, tau);
    if (info == 0)
        info = LAPACKE_dormqr(LAPACK_COL_MAJOR, 'L', 'T', (lapack_int)n, 1, (lapack_int)p, X,
                              (lapack_int)ld, tau, y, (lapack_int)n);
    free(tau);
    return info ? lapack_fail(err, "dgeqrf/dormqr", info) : 0;
}

/*
 * Full column rank unless some |r_jj| is at rounding level relative to the
 * norm of column j (which is the norm of R's column j, Q being orthogonal):
 * |r_jj| <= max(n, p, 1000) * eps * ||r_j||. Relative to each column, so that
 * columns on different scales (Longley's year and GNP) are judged fairly.
 */
static int r_full_rank(const double *R, size_t ld, size_t n, size_t p)
{
    double f = rank_tol(n, p);
    for (size_t j = 0; j < p; j++) {
        double nrm = 0;
        for (size_t i = 0; i <= j; i++)
            nrm += R[j * ld + i] * R[j * ld + i];
        if (!(fabs(R[j * ld + j]) > f * sqrt(nrm)))
            return 0;
    }
    return 1;
}

int kl_lstsq(double *X, size_t n, size_t p, size_t ld, double *y, double *w, size_t *rank,
             kl_err *err)
{
    if (p == 0) {
        if (rank)
            *rank = 0;
        return 0;
    }
    if (n < p) {
        size_t ldb = p;
        double *b = calloc(p, sizeof(double)), *sv = malloc(n * sizeof(double));
        if (!b || !sv) {
            free(b);
            free(sv);
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        }
        memcpy(b, y, n * sizeof(double));
        lapack_int rk = 0;
        lapack_int info = LAPACKE_dgelsd(LAPACK_COL_MAJOR, (lapack_int)n, (lapack_int)p, 1, X,
                                         (lapack_int)ld, b, (lapack_int)ldb, sv, -1.0, &rk);
        if (info == 0)
            memcpy(w, b, p * sizeof(double));
        free(b);
        free(sv);
        if (rank)
            *rank = (size_t)rk;
        return info ? lapack_fail(err, "dgelsd", info) : 0;
    }
    int rc = qr_reduce(X, n, p, ld, y, err);
    if (rc < 0)
        return rc;
    memcpy(w, y, p * sizeof(double));
    if (r_full_rank(X, ld, n, p)) {
        lapack_int info = LAPACKE_dtrtrs(LAPACK_COL_MAJOR, 'U', 'N', 'N', (lapack_int)p, 1, X,
                                         (lapack_int)ld, w, (lapack_int)p);
        if (info != 0)
            return lapack_fail(err, "dtrtrs", info);
        if (rank)
            *rank = p;
        return 0;
    }
    return tri_min_norm(X, ld, n, p, w, rank, err);
}

/* ---- centring ---- */

/* Centre X's columns and y in place when fit_intercept; means into xm, *ym. */
static void center(const kl_model_data *d, int fit_intercept, double *y, double *xm, double *ym)
{
    *ym = 0;
    for (size_t j = 0; j < d->p; j++)
        xm[j] = 0;
    if (!fit_intercept)
        return;
    double s = 0;
    for (size_t i = 0; i < d->n; i++)
        s += y[i];
    *ym = s / (double)d->n;
    for (size_t i = 0; i < d->n; i++)
        y[i] -= *ym;
    for (size_t j = 0; j < d->p; j++) {
        double *x = d->X + j * d->ld;
        s = 0;
        for (size_t i = 0; i < d->n; i++)
            s += x[i];
        xm[j] = s / (double)d->n;
        for (size_t i = 0; i < d->n; i++)
            x[i] -= xm[j];
    }
}

/* ---- ols and ridge ---- */

enum { P_OLS_FIT_INTERCEPT = 0 };
enum { P_RIDGE_ALPHA = 0, P_RIDGE_FIT_INTERCEPT = 1 };

/* ||R w - c||^2 over the p x p upper triangle R (in X) and c. */
static double tri_resid2(const double *R, size_t ld, size_t p, const double *w, const double *c)
{
    double s = 0;
    for (size_t i = 0; i < p; i++) {
        double r = -c[i];
        for (size_t j = i; j < p; j++)
            r += R[j * ld + i] * w[j];
        s += r * r;
    }
    return s;
}

/*
 * Solve from the reduced problem: R (p x p upper triangle, leading dimension
 * ldr) and c = (Q^T y)[0..p), tail = the rest of ||Q^T y||^2. OLS: R w = c
 * (minimum-norm by SVD when R is numerically singular); ridge: the least
 * squares solution of [R; sqrt(alpha) I] w = [c; 0]. *obj gets the objective.
 */
static int ls_solve(const double *R, size_t ldr, size_t n, size_t p, const double *c, double tail,
                    double alpha, double *w, double *obj, kl_err *err)
{
    int rc = 0;
    if (alpha == 0 && r_full_rank(R, ldr, n, p)) {
        memcpy(w, c, p * sizeof(double));
        lapack_int info = LAPACKE_dtrtrs(LAPACK_COL_MAJOR, 'U', 'N', 'N', (lapack_int)p, 1, R,
                                         (lapack_int)ldr, w, (lapack_int)p);
        if (info != 0)
            return lapack_fail(err, "dtrtrs", info);
    } else if (alpha == 0) {
        memcpy(w, c, p * sizeof(double));
        if ((rc = tri_min_norm(R, ldr, n, p, w, NULL, err)) < 0)
            return rc;
    } else {
        size_t rows = 2 * p;
        double *B = calloc(rows * p, sizeof(double)), *b = calloc(rows, sizeof(double));
        if (!B || !b) {
            free(B);
            free(b);
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        }
        for (size_t j = 0; j < p; j++) {
            for (size_t i = 0; i <= j; i++)
                B[j * rows + i] = R[j * ldr + i];
            B[j * rows + p + j] = sqrt(alpha);
        }
        memcpy(b, c, p * sizeof(double));
        lapack_int info = LAPACKE_dgels(LAPACK_COL_MAJOR, 'N', (lapack_int)rows, (lapack_int)p, 1,
                                        B, (lapack_int)rows, b, (lapack_int)rows);
        if (info != 0)
            rc = lapack_fail(err, "dgels", info);
        else
            memcpy(w, b, p * sizeof(double));
        free(B);
        free(b);
        if (rc < 0)
            return rc;
    }
    *obj = tri_resid2(R, ldr, p, w, c) + tail + alpha * cblas_ddot((int)p, w, 1, w, 1);
    return 0;
}

/* ---- ridge from the centred Gram matrix: one pass, BLAS-3 ---- */

/*
 * Ridge with alpha > 0 solves (Xc'Xc + alpha I) w = Xc'yc. The scatter of
 * [X y] is built in one pass: each block of rows is centred on its own mean
 * and added with dsyrk, and blocks, then tasks (in task order), are merged
 * with the pairwise update of Chan, Golub and LeVeque (C = Ca + Cb +
 * na nb / (na + nb) d d', d the difference of the means), which never
 * subtracts large uncentred sums. Cholesky (dpotrf) solves the system; when
 * its reciprocal condition number is below GRAM_RCOND the fit falls back to
 * the QR path, so ill-conditioned data keeps QR's accuracy.
 */
#define GRAM_BLOCK 2048
#define LS_TASK_MIN 16384
#define LS_MAX_TASKS 64
#define GRAM_RCOND 1e-10
#define GRAM_FALLBACK 1

typedef struct gram_job {
    const kl_model_blocks *b;
    size_t chunk, p, q; /* q = p + 1: the target is the last column */
    int centre;
    const kl_model_data *d; /* the rows as an in-memory matrix (read in place), or NULL */
    double *C;    /* per task q x q (upper triangle used) */
    double *mean; /* per task q */
    size_t *cnt;  /* per task rows */
    int *rc;
    kl_err *errs;
} gram_job;

/* Fold (nb rows, mean mb) into (na, ma): C (already holding both scatters) += w d d'. */
static void scatter_merge(size_t q, double *C, double *ma, size_t *na, const double *mb, size_t nb,
                          double *d)
{
    if (*na == 0) {
        memcpy(ma, mb, q * sizeof(double));
        *na = nb;
        return;
    }
    double tot = (double)(*na + nb), w = (double)*na * (double)nb / tot;
    for (size_t k = 0; k < q; k++)
        d[k] = mb[k] - ma[k];
    cblas_dsyr(CblasColMajor, CblasUpper, (int)q, w, d, 1, C, (int)q);
    for (size_t k = 0; k < q; k++)
        ma[k] += d[k] * ((double)nb / tot);
    *na += nb;
}

static void gram_task(void *ctx, size_t t)
{
    gram_job *j = ctx;
    size_t q = j->q, p = j->p, n = j->b->n;
    size_t r0 = t * j->chunk, r1 = KL_MIN(n, r0 + j->chunk);
    double *S = malloc(GRAM_BLOCK * q * sizeof(double)), *mb = malloc(2 * q * sizeof(double));
    double *C = j->C + t * q * q, *mean = j->mean + t * q, *d = mb + q;
    int rc = 0;
    memset(C, 0, q * q * sizeof(double));
    memset(mean, 0, q * sizeof(double));
    j->cnt[t] = 0;
    if (!S || !mb) {
        rc = kl_err_set(&j->errs[t], KL_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t r = r0; r < r1; r += GRAM_BLOCK) {
        size_t m = KL_MIN((size_t)GRAM_BLOCK, r1 - r);
        if (j->d && j->centre) {
            /* a matrix in memory: mean from the source, then one centred copy */
            for (size_t k = 0; k < q; k++) {
                const double *x = k < p ? j->d->X + k * j->d->ld + r : j->d->y + r;
                double *o = S + k * m, sum = 0;
                for (size_t i = 0; i < m; i++)
                    sum += x[i];
                mb[k] = sum / (double)m;
                for (size_t i = 0; i < m; i++)
                    o[i] = x[i] - mb[k];
            }
        } else if ((rc = j->b->get(j->b, r, m, S, m, S + p * m, &j->errs[t])) < 0) {
            break;
        } else if (j->centre) {
            for (size_t k = 0; k < q; k++) {
                double *x = S + k * m, s = 0;
                for (size_t i = 0; i < m; i++)
                    s += x[i];
                mb[k] = s / (double)m;
                for (size_t i = 0; i < m; i++)
                    x[i] -= mb[k];
            }
        }
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)q, (int)m, 1.0, S, (int)m, 1.0, C,
                    (int)q);
        if (j->centre)
            scatter_merge(q, C, mean, &j->cnt[t], mb, m, d);
    }
done:
    j->rc[t] = rc;
    free(S);
    free(mb);
}

/*
 * Ridge from blocks by the Gram matrix into s (coefficients, intercept,
 * objective); d (may be NULL) is the same rows as a matrix, read in place.
 * GRAM_FALLBACK when the system is too ill-conditioned for it.
 */
static int ridge_gram(const kl_model_blocks *b, const kl_model_data *d, double alpha,
                      int fit_intercept, kl__linear *s, kl_err *err)
{
    size_t n = b->n, p = b->p, q = p + 1;
    size_t chunk = KL_MAX((size_t)LS_TASK_MIN, (n + LS_MAX_TASKS - 1) / LS_MAX_TASKS);
    size_t nt = kl_task_count(n, chunk);
    gram_job j = {.b = b, .chunk = chunk, .p = p, .q = q, .centre = fit_intercept, .d = d};
    j.C = malloc(nt * q * q * sizeof(double));
    j.mean = malloc(nt * q * sizeof(double));
    j.cnt = malloc(nt * sizeof(size_t));
    j.rc = calloc(nt, sizeof(int));
    j.errs = calloc(nt, sizeof(kl_err));
    double *A = malloc(p * p * sizeof(double)), *w = malloc(2 * q * sizeof(double));
    int rc = 0;
    if (!j.C || !j.mean || !j.cnt || !j.rc || !j.errs || !A || !w) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    kl_parallel_for(nt, gram_task, &j);
    for (size_t t = 0; t < nt; t++)
        if (j.rc[t] < 0) {
            if (err)
                *err = j.errs[t];
            rc = j.rc[t];
            goto done;
        }
    /* tasks merged in task order into task 0's slot */
    double *C = j.C, *mean = j.mean;
    for (size_t t = 1; t < nt; t++) {
        const double *Ct = j.C + t * q * q;
        for (size_t c = 0; c < q; c++)
            for (size_t r = 0; r <= c; r++)
                C[c * q + r] += Ct[c * q + r];
        if (fit_intercept)
            scatter_merge(q, C, mean, &j.cnt[0], j.mean + t * q, j.cnt[t], w + q);
    }
    /* (G + alpha I) w = r, G the leading p x p block, r the last column */
    for (size_t c = 0; c < p; c++) {
        for (size_t r = 0; r <= c; r++)
            A[c * p + r] = C[c * q + r];
        A[c * p + c] += alpha;
        w[c] = C[p * q + c];
    }
    double anorm = 0;
    for (size_t c = 0; c < p; c++) { /* 1-norm of the symmetric A from its upper triangle */
        double sum = 0;
        for (size_t r = 0; r < p; r++)
            sum += fabs(r <= c ? A[c * p + r] : A[r * p + c]);
        anorm = fmax(anorm, sum);
    }
    double rcond = 0;
    lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)p, A, (lapack_int)p);
    if (info == 0)
        info = LAPACKE_dpocon(LAPACK_COL_MAJOR, 'U', (lapack_int)p, A, (lapack_int)p, anorm, &rcond);
    if (info != 0 || !(rcond >= GRAM_RCOND)) {
        rc = GRAM_FALLBACK;
        goto done;
    }
    info = LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'U', (lapack_int)p, 1, A, (lapack_int)p, w,
                          (lapack_int)p);
    if (info != 0) {
        rc = lapack_fail(err, "dpotrs", info);
        goto done;
    }
    memcpy(s->coef, w, p * sizeof(double));
    /* objective ||yc - Xc w||^2 + alpha ||w||^2 = yy - 2 w'r + w'Gw + alpha w'w */
    double *Gw = w + q, wr = 0, wgw = 0;
    cblas_dsymv(CblasColMajor, CblasUpper, (int)p, 1.0, C, (int)q, s->coef, 1, 0.0, Gw, 1);
    for (size_t k = 0; k < p; k++) {
        wr += s->coef[k] * C[p * q + k];
        wgw += s->coef[k] * Gw[k];
    }
    double obj = C[p * q + p] - 2 * wr + wgw + alpha * cblas_ddot((int)p, s->coef, 1, s->coef, 1);
    s->objective = fmax(obj, 0.0);
    s->intercept[0] = fit_intercept ? mean[p] - cblas_ddot((int)p, mean, 1, s->coef, 1) : 0.0;
    s->n_iter = 1;
    s->converged = 1;
done:
    free(j.C);
    free(j.mean);
    free(j.cnt);
    free(j.rc);
    free(j.errs);
    free(A);
    free(w);
    return rc;
}

/* The rows of an in-memory matrix as blocks (for the one-pass paths). */
static int matrix_get(const kl_model_blocks *b, size_t row0, size_t m, double *X, size_t ld,
                      double *y, kl_err *err)
{
    (void)err;
    const kl_model_data *d = b->ctx;
    for (size_t j = 0; j < b->p; j++)
        memcpy(X + j * ld, d->X + j * d->ld + row0, m * sizeof(double));
    memcpy(y, d->y + row0, m * sizeof(double));
    return 0;
}

static int ls_fit(const kl_model_data *d, double alpha, int fit_intercept, void **state,
                  kl_err *err)
{
    size_t n = d->n, p = d->p;
    kl__linear *s = kl__linear_new(p, 1);
    double *y = malloc((n ? n : 1) * sizeof(double)), *xm = malloc((p ? p : 1) * sizeof(double));
    double *c = malloc((p ? p : 1) * sizeof(double));
    double ym, obj = NAN;
    int rc = 0;
    if (!s || !y || !xm || !c) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    if (alpha > 0 && n >= p && p > 0) {
        kl_model_blocks mb = {.n = n, .p = p, .get = matrix_get, .ctx = d};
        if ((rc = ridge_gram(&mb, d, alpha, fit_intercept, s, err)) != GRAM_FALLBACK)
            goto done;
        rc = 0;
    }
    memcpy(y, d->y, n * sizeof(double));
    center(d, fit_intercept, y, xm, &ym);
    if (n < p) {
        /* more features than rows: ridge as the augmented system, OLS minimum norm */
        size_t rows = n + (alpha > 0 ? p : 0);
        double *B = calloc(rows * p, sizeof(double)), *b = calloc(KL_MAX(rows, p), sizeof(double));
        if (!B || !b) {
            free(B);
            free(b);
            rc = kl_err_set(err, KL_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t j = 0; j < p; j++) {
            memcpy(B + j * rows, d->X + j * d->ld, n * sizeof(double));
            if (alpha > 0)
                B[j * rows + n + j] = sqrt(alpha);
        }
        memcpy(b, y, n * sizeof(double));
        rc = kl_lstsq(B, rows, p, rows, b, s->coef, NULL, err);
        free(B);
        free(b);
    } else if (p > 0) {
        /* Q^T y into y, R into X's upper triangle */
        if ((rc = qr_reduce(d->X, n, p, d->ld, y, err)) < 0)
            goto done;
        memcpy(c, y, p * sizeof(double));
        double tail = 0;
        for (size_t i = p; i < n; i++)
            tail += y[i] * y[i];
        rc = ls_solve(d->X, d->ld, n, p, c, tail, alpha, s->coef, &obj, err);
    } else {
        obj = cblas_ddot((int)n, y, 1, y, 1);
    }
    if (rc < 0)
        goto done;
    s->intercept[0] = fit_intercept ? ym - (p ? cblas_ddot((int)p, xm, 1, s->coef, 1) : 0.0) : 0.0;
    s->n_iter = 1;
    s->converged = 1;
    s->objective = isnan(obj) ? 0.0 : obj;
done:
    free(y);
    free(xm);
    free(c);
    if (rc < 0) {
        kl__linear_free(s);
        return rc;
    }
    *state = s;
    return 0;
}

/* ---- ols and ridge from blocks of rows: streaming, tiled QR ---- */

/*
 * Rows are cut into tasks of a size fixed by n alone. Pass 1 sums each
 * task's columns (for the means); pass 2 folds each block of a task into the
 * task's triangle by QR of [R_t; X_block - mean] (Householder, so as stable
 * as one QR of the whole matrix), carrying Q^T y alongside. The tasks'
 * triangles are then stacked in task order and reduced once more. Nothing
 * of size n x p is allocated, and the result is the same bits whatever the
 * thread count.
 */
#define LS_BLOCK 2048

typedef struct ls_job {
    const kl_model_blocks *b;
    size_t chunk, p;
    int pass;
    const double *xm;
    double ym;
    double *sums; /* pass 1: per task, p column sums and the y sum */
    double *R;    /* pass 2: per task, a p x p triangle (column-major) */
    double *c;    /* per task, p */
    double *tail; /* per task */
    int *rc;
    kl_err *errs;
} ls_job;

static void ls_task(void *ctx, size_t t)
{
    ls_job *j = ctx;
    size_t p = j->p, n = j->b->n, rows = p + LS_BLOCK;
    size_t r0 = t * j->chunk, r1 = KL_MIN(n, r0 + j->chunk);
    double *S = malloc(rows * p * sizeof(double)), *s = malloc(rows * sizeof(double));
    double *tau = malloc(p * sizeof(double));
    kl_err *err = &j->errs[t];
    int rc = 0;
    if (!S || !s || !tau) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    if (j->pass == 1) {
        double *sum = j->sums + t * (p + 1);
        memset(sum, 0, (p + 1) * sizeof(double));
        for (size_t r = r0; r < r1 && rc == 0; r += LS_BLOCK) {
            size_t m = KL_MIN((size_t)LS_BLOCK, r1 - r);
            if ((rc = j->b->get(j->b, r, m, S, m, s, err)) < 0)
                break;
            for (size_t k = 0; k < p; k++)
                for (size_t i = 0; i < m; i++)
                    sum[k] += S[k * m + i];
            for (size_t i = 0; i < m; i++)
                sum[p] += s[i];
        }
        goto done;
    }
    double *R = j->R + t * p * p, *c = j->c + t * p;
    memset(R, 0, p * p * sizeof(double));
    memset(c, 0, p * sizeof(double));
    j->tail[t] = 0;
    for (size_t r = r0; r < r1; r += LS_BLOCK) {
        size_t m = KL_MIN((size_t)LS_BLOCK, r1 - r);
        if ((rc = j->b->get(j->b, r, m, S + p, rows, s + p, err)) < 0)
            break;
        for (size_t k = 0; k < p; k++) {
            for (size_t i = 0; i < p; i++)
                S[k * rows + i] = i <= k ? R[k * p + i] : 0.0;
            for (size_t i = 0; i < m; i++)
                S[k * rows + p + i] -= j->xm[k];
        }
        memcpy(s, c, p * sizeof(double));
        for (size_t i = 0; i < m; i++)
            s[p + i] -= j->ym;
        lapack_int info = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (lapack_int)(p + m), (lapack_int)p, S,
                                         (lapack_int)rows, tau);
        if (info == 0)
            info = LAPACKE_dormqr(LAPACK_COL_MAJOR, 'L', 'T', (lapack_int)(p + m), 1, (lapack_int)p,
                                  S, (lapack_int)rows, tau, s, (lapack_int)rows);
        if (info != 0) {
            rc = lapack_fail(err, "dgeqrf/dormqr", info);
            break;
        }
        for (size_t k = 0; k < p; k++)
            for (size_t i = 0; i <= k; i++)
                R[k * p + i] = S[k * rows + i];
        memcpy(c, s, p * sizeof(double));
        for (size_t i = p; i < p + m; i++)
            j->tail[t] += s[i] * s[i];
    }
done:
    j->rc[t] = rc;
    free(S);
    free(s);
    free(tau);
}

static int ls_run(ls_job *j, size_t nt, kl_err *err)
{
    kl_parallel_for(nt, ls_task, j);
    for (size_t t = 0; t < nt; t++)
        if (j->rc[t] < 0) {
            if (err)
                *err = j->errs[t];
            return j->rc[t];
        }
    return 0;
}

static int ls_fit_blocks(const kl_model_blocks *b, double alpha, int fit_intercept, void **state,
                         kl_err *err)
{
    size_t n = b->n, p = b->p;
    if (n < p || p == 0) { /* small problems: the matrix path */
        kl_model_data d = {
            .n = n, .p = p, .ld = KL_MAX(n, 1), .feature_names = b->feature_names, .seed = b->seed};
        double *X = malloc(KL_MAX(n * p, 1) * sizeof(double)),
               *y = malloc(KL_MAX(n, 1) * sizeof(double));
        int rc = (!X || !y) ? kl_err_set(err, KL_ENOMEM, "out of memory") : 0;
        if (rc == 0)
            rc = b->get(b, 0, n, X, KL_MAX(n, 1), y, err);
        d.X = X;
        d.y = y;
        if (rc == 0)
            rc = ls_fit(&d, alpha, fit_intercept, state, err);
        free(X);
        free(y);
        return rc;
    }
    size_t chunk = KL_MAX((size_t)LS_TASK_MIN, (n + LS_MAX_TASKS - 1) / LS_MAX_TASKS);
    size_t nt = kl_task_count(n, chunk);
    ls_job j = {.b = b, .chunk = chunk, .p = p};
    kl__linear *s = kl__linear_new(p, 1);
    double *xm = calloc(p, sizeof(double));
    j.sums = malloc(nt * (p + 1) * sizeof(double));
    j.R = malloc(nt * p * p * sizeof(double));
    j.c = malloc(nt * p * sizeof(double));
    j.tail = malloc(nt * sizeof(double));
    j.rc = calloc(nt, sizeof(int));
    j.errs = calloc(nt, sizeof(kl_err));
    double *M = NULL, *v = NULL, *tau = NULL, obj = 0;
    int rc = 0;
    if (!s || !xm || !j.sums || !j.R || !j.c || !j.tail || !j.rc || !j.errs) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    if (alpha > 0) {
        if ((rc = ridge_gram(b, NULL, alpha, fit_intercept, s, err)) != GRAM_FALLBACK)
            goto done;
        rc = 0;
    }
    if (fit_intercept) {
        j.pass = 1;
        if ((rc = ls_run(&j, nt, err)) < 0)
            goto done;
        double ys = 0;
        for (size_t t = 0; t < nt; t++) {
            for (size_t k = 0; k < p; k++)
                xm[k] += j.sums[t * (p + 1) + k];
            ys += j.sums[t * (p + 1) + p];
        }
        for (size_t k = 0; k < p; k++)
            xm[k] /= (double)n;
        j.ym = ys / (double)n;
    }
    j.xm = xm;
    j.pass = 2;
    if ((rc = ls_run(&j, nt, err)) < 0)
        goto done;
    /* stack the tasks' triangles in task order and reduce them once more */
    size_t rows = nt * p;
    double tail = 0;
    M = calloc(rows * p, sizeof(double));
    v = malloc(rows * sizeof(double));
    tau = malloc(p * sizeof(double));
    if (!M || !v || !tau) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t t = 0; t < nt; t++) {
        for (size_t k = 0; k < p; k++)
            for (size_t i = 0; i <= k; i++)
                M[k * rows + t * p + i] = j.R[t * p * p + k * p + i];
        memcpy(v + t * p, j.c + t * p, p * sizeof(double));
        tail += j.tail[t];
    }
    if (nt > 1) {
        lapack_int info = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (lapack_int)rows, (lapack_int)p, M,
                                         (lapack_int)rows, tau);
        if (info == 0)
            info = LAPACKE_dormqr(LAPACK_COL_MAJOR, 'L', 'T', (lapack_int)rows, 1, (lapack_int)p, M,
                                  (lapack_int)rows, tau, v, (lapack_int)rows);
        if (info != 0) {
            rc = lapack_fail(err, "dgeqrf/dormqr", info);
            goto done;
        }
        for (size_t i = p; i < rows; i++)
            tail += v[i] * v[i];
    }
    if ((rc = ls_solve(M, rows, n, p, v, tail, alpha, s->coef, &obj, err)) < 0)
        goto done;
    s->intercept[0] = fit_intercept ? j.ym - cblas_ddot((int)p, xm, 1, s->coef, 1) : 0.0;
    s->n_iter = 1;
    s->converged = 1;
    s->objective = obj;
done:
    free(xm);
    free(j.sums);
    free(j.R);
    free(j.c);
    free(j.tail);
    free(j.rc);
    free(j.errs);
    free(M);
    free(v);
    free(tau);
    if (rc < 0) {
        kl__linear_free(s);
        return rc;
    }
    *state = s;
    return 0;
}

static int ols_fit(const kl_model_data *d, const double *pv, void **state, kl_err *err)
{
    return ls_fit(d, 0.0, pv[P_OLS_FIT_INTERCEPT] != 0, state, err);
}

static int ridge_fit(const kl_model_data *d, const double *pv, void **state, kl_err *err)
{
    return ls_fit(d, pv[P_RIDGE_ALPHA], pv[P_RIDGE_FIT_INTERCEPT] != 0, state, err);
}

static int ols_fit_blocks(const kl_model_blocks *b, const double *pv, void **state, kl_err *err)
{
    return ls_fit_blocks(b, 0.0, pv[P_OLS_FIT_INTERCEPT] != 0, state, err);
}

static int ridge_fit_blocks(const kl_model_blocks *b, const double *pv, void **state, kl_err *err)
{
    return ls_fit_blocks(b, pv[P_RIDGE_ALPHA], pv[P_RIDGE_FIT_INTERCEPT] != 0, state, err);
}

/* ---- lasso and elastic net: scikit-learn's cd_fast.enet_coordinate_descent ---- */

enum { P_EN_ALPHA = 0, P_EN_L1_RATIO, P_EN_FIT_INTERCEPT, P_EN_MAX_ITER, P_EN_TOL };
enum { P_LASSO_ALPHA = 0, P_LASSO_FIT_INTERCEPT, P_LASSO_MAX_ITER, P_LASSO_TOL };

static int enet_fit_core(const kl_model_data *d, double alpha, double l1_ratio, int fit_intercept,
                         int max_iter, double tol, void **state, kl_err *err)
{
    size_t n = d->n, p = d->p;
    kl__linear *s = kl__linear_new(p, 1);
    double *y = malloc((n ? n : 1) * sizeof(double)), *R = malloc((n ? n : 1) * sizeof(double));
    double *xm = malloc((p ? p : 1) * sizeof(double)), *nrm = malloc((p ? p : 1) * sizeof(double));
    double ym;
    if (!s || !y || !R || !xm || !nrm) {
        kl__linear_free(s);
        free(y);
        free(R);
        free(xm);
        free(nrm);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    memcpy(y, d->y, n * sizeof(double));
    center(d, fit_intercept, y, xm, &ym);
    const int ni = (int)n;
    double *w = s->coef;
    double a1 = alpha * l1_ratio * (double)n, beta = alpha * (1.0 - l1_ratio) * (double)n;
    for (size_t j = 0; j < p; j++)
        nrm[j] = cblas_ddot(ni, d->X + j * d->ld, 1, d->X + j * d->ld, 1);
    memcpy(R, y, n * sizeof(double));
    double tol_gap = tol * cblas_ddot(ni, y, 1, y, 1);
    int it, converged = 0;
    for (it = 0; it < max_iter; it++) {
        double w_max = 0, dw_max = 0;
        for (size_t j = 0; j < p; j++) {
            if (nrm[j] == 0.0)
                continue;
            const double *xj = d->X + j * d->ld;
            double wj = w[j];
            if (wj != 0.0)
                cblas_daxpy(ni, wj, xj, 1, R, 1);
            double tmp = cblas_ddot(ni, xj, 1, R, 1);
            w[j] = (tmp > 0 ? 1.0 : -1.0) * fmax(fabs(tmp) - a1, 0.0) / (nrm[j] + beta);
            if (w[j] != 0.0)
                cblas_daxpy(ni, -w[j], xj, 1, R, 1);
            dw_max = fmax(dw_max, fabs(w[j] - wj));
            w_max = fmax(w_max, fabs(w[j]));
        }
        if (w_max == 0.0 || dw_max / w_max < tol || it == max_iter - 1) {
            double dual = 0;
            for (size_t j = 0; j < p; j++) {
                double xta = cblas_ddot(ni, d->X + j * d->ld, 1, R, 1) - beta * w[j];
                dual = fmax(dual, fabs(xta));
            }
            double r2 = cblas_ddot(ni, R, 1, R, 1), w2 = p ? cblas_ddot((int)p, w, 1, w, 1) : 0;
            double cst, gap;
            if (dual > a1) {
                cst = a1 / dual;
                gap = 0.5 * (r2 + r2 * cst * cst);
            } else {
                cst = 1.0;
                gap = r2;
            }
            double l1 = p ? cblas_dasum((int)p, w, 1) : 0;
            gap += a1 * l1 - cst * cblas_ddot(ni, R, 1, y, 1) + 0.5 * beta * (1 + cst * cst) * w2;
            if (gap < tol_gap) {
                converged = 1;
                it++;
                break;
            }
        }
    }
    double r2 = cblas_ddot(ni, R, 1, R, 1), w2 = p ? cblas_ddot((int)p, w, 1, w, 1) : 0;
    double l1 = p ? cblas_dasum((int)p, w, 1) : 0;
    s->objective =
        r2 / (2.0 * (double)n) + alpha * l1_ratio * l1 + 0.5 * alpha * (1 - l1_ratio) * w2;
    s->n_iter = (uint32_t)KL_MIN(it, max_iter);
    s->converged = (uint32_t)converged;
    s->intercept[0] = fit_intercept ? ym - (p ? cblas_ddot((int)p, xm, 1, w, 1) : 0.0) : 0.0;
    free(y);
    free(R);
    free(xm);
    free(nrm);
    *state = s;
    return 0;
}

static int lasso_fit(const kl_model_data *d, const double *pv, void **state, kl_err *err)
{
    return enet_fit_core(d, pv[P_LASSO_ALPHA], 1.0, pv[P_LASSO_FIT_INTERCEPT] != 0,
                         (int)pv[P_LASSO_MAX_ITER], pv[P_LASSO_TOL], state, err);
}

static int enet_fit(const kl_model_data *d, const double *pv, void **state, kl_err *err)
{
    return enet_fit_core(d, pv[P_EN_ALPHA], pv[P_EN_L1_RATIO], pv[P_EN_FIT_INTERCEPT] != 0,
                         (int)pv[P_EN_MAX_ITER], pv[P_EN_TOL], state, err);
}

/* ---- the algorithm tables ---- */

#define FIT_INTERCEPT                                                                              \
    {                                                                                              \
        "fit_intercept", KL_ALGO_PARAM_KIND_BOOL, "true", 0, 0, 0, NULL                            \
    }
#define MAX_ITER(def)                                                                              \
    {                                                                                              \
        "max_iter", KL_ALGO_PARAM_KIND_INT, def, 1, 1e9, 0, NULL                                   \
    }
#define TOL                                                                                        \
    {                                                                                              \
        "tol", KL_ALGO_PARAM_KIND_FLOAT, "0.0001", 0, INFINITY, 1, NULL                            \
    }
#define ALPHA                                                                                      \
    {                                                                                              \
        "alpha", KL_ALGO_PARAM_KIND_FLOAT, "1.0", 0, INFINITY, 0, NULL                             \
    }
#define REG (1u << KL_TASK_REGRESSION)

static const kl_algo_param ols_params[] = {FIT_INTERCEPT};
static const kl_algo_param ridge_params[] = {ALPHA, FIT_INTERCEPT};
static const kl_algo_param lasso_params[] = {ALPHA, FIT_INTERCEPT, MAX_ITER("1000"), TOL};
static const kl_algo_param enet_params[] = {
    ALPHA,
    {"l1_ratio", KL_ALGO_PARAM_KIND_FLOAT, "0.5", 0, 1, 0, NULL},
    FIT_INTERCEPT,
    MAX_ITER("1000"),
    TOL};

#define LINEAR_OPS                                                                                 \
    .predict = kl__linear_predict, .save = kl__linear_save, .load = kl__linear_load,               \
    .free = kl__linear_free, .describe = kl__linear_describe, .linear_coef = kl__linear_coef

const kl_algo kl_algo_ols = {"ols",
                             REG,
                             KL_PIPELINE_DEFAULTS_LINEAR,
                             ols_params,
                             KL_ARRAY_LEN(ols_params),
                             ols_fit,
                             ols_fit_blocks,
                             LINEAR_OPS};
const kl_algo kl_algo_ridge = {"ridge",
                               REG,
                               KL_PIPELINE_DEFAULTS_LINEAR,
                               ridge_params,
                               KL_ARRAY_LEN(ridge_params),
                               ridge_fit,
                               ridge_fit_blocks,
                               LINEAR_OPS};
const kl_algo kl_algo_lasso = {"lasso",
                               REG,
                               KL_PIPELINE_DEFAULTS_LINEAR,
                               lasso_params,
                               KL_ARRAY_LEN(lasso_params),
                               lasso_fit,
                               NULL,
                               LINEAR_OPS};
const kl_algo kl_algo_elasticnet = {"elasticnet",
                                    REG,
                                    KL_PIPELINE_DEFAULTS_LINEAR,
                                    enet_params,
                                    KL_ARRAY_LEN(enet_params),
                                    enet_fit,
                                    NULL,
                                    LINEAR_OPS};
