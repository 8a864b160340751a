/*
 * Logistic regression, binary and multinomial, L2 (or none) by L-BFGS and L1
 * by FISTA; objectives and stopping rules in include/keel/linear.h.
 *
 * The loss and its gradient are the hot path: rows are cut into blocks of
 * BLOCK rows (boundaries depend only on n), each block computes its scores
 * with one dgemm, its loss, and its gradient contribution with another
 * dgemm into its own slot, and the slots are summed in block order. So the
 * result is the same bits with any number of threads, and the per-iteration
 * work allocates nothing (scratch is sized once per fit).
 *
 * Parameters are packed as theta = [W (k x p, output-major) | b (k)], k = 1
 * for binary (the weights of class 1, as scikit-learn) and K otherwise.
 */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>
#include <omp.h>

#include "keel/linear.h"
#include "keel/model.h"
#include "keel/parallel.h"

#include "models/linear_internal.h"

#include "core/common.h"

#define BLOCK 8192
#define LBFGS_M 10
#define NEWTON_MAX_DIM 256
#define HESS_ROWS 512
/* per thread: sqrt(D) of a block (BLOCK values), then HESS_ROWS x (p+1) rows of B */
#define SCRATCH_PER_THREAD(p) ((size_t)BLOCK + (size_t)HESS_ROWS * ((p) + 1))

enum { P_PENALTY = 0, P_C, P_FIT_INTERCEPT, P_MAX_ITER, P_TOL };
enum { PEN_L2 = 0, PEN_L1 = 1, PEN_NONE = 2 };

typedef struct prob {
    const double *X;
    size_t n, p, ld, k; /* k outputs: 1 binary, K multinomial */
    const double *y;    /* class index */
    double C;
    int fit_intercept;
    int l2; /* add 0.5 ||W||^2 */
    size_t n_blocks;
    double *Z;    /* n x k scores, column-major (block-local slices) */
    double *part; /* n_blocks x (k*p + k + 1): gradient W, gradient b, loss */
    const double *theta;
    /* Newton (binary only): when H is set, each block also writes the Hessian of its
       logloss in [X 1], (p+1) x (p+1) upper triangle, into H + t * (p+1)^2, through
       its thread's scratch (SCRATCH_PER_THREAD) */
    double *H;
    double *scratch;
} prob;

static void block_eval(void *ctx, size_t t)
{
    prob *q = ctx;
    size_t r0 = t * BLOCK, nb = KL_MIN((size_t)BLOCK, q->n - r0), k = q->k, p = q->p;
    const double *X = q->X + r0, *W = q->theta, *b = q->theta + k * p;
    double *Z = q->Z + r0 * k; /* nb x k, leading dimension nb */
    double *g = q->part + t * (k * p + k + 1);
    for (size_t o = 0; o < k; o++)
        for (size_t i = 0; i < nb; i++)
            Z[o * nb + i] = b[o];
    if (p && k == 1) /* dgemv: no packing copies for a single output */
        cblas_dgemv(CblasColMajor, CblasNoTrans, (int)nb, (int)p, 1.0, X, (int)q->ld, W, 1, 1.0, Z,
                    1);
    else if (p)
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)k, (int)p, 1.0, X,
                    (int)q->ld, W, (int)p, 1.0, Z, (int)nb);
    /* Z becomes the residual P - Y; loss summed in row order */
    double loss = 0;
    const double *y = q->y + r0;
    /* this team's thread number picks the scratch rows (0 when the blocks run serially,
       possibly inside some outer team) */
    size_t slot = omp_get_num_threads() > 1 ? (size_t)omp_get_thread_num() : 0;
    double *B = q->H ? q->scratch + slot * SCRATCH_PER_THREAD(p) : NULL;
    if (k == 1) {
        for (size_t i = 0; i < nb; i++) {
            double z = Z[i], yi = y[i], e = exp(-fabs(z));
            loss += (z > 0 ? z : 0.0) + log1p(e) - yi * z;
            Z[i] = (z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e)) - yi;
            if (B) /* sqrt(p (1 - p)) = sqrt(e) / (1 + e) */
                B[i] = sqrt(e) / (1.0 + e);
        }
    } else {
        for (size_t i = 0; i < nb; i++) {
            double mx = -INFINITY, se = 0;
            for (size_t o = 0; o < k; o++)
                mx = fmax(mx, Z[o * nb + i]);
            for (size_t o = 0; o < k; o++)
                se += exp(Z[o * nb + i] - mx);
            size_t yi = (size_t)y[i];
            loss += mx + log(se) - Z[yi * nb + i];
            for (size_t o = 0; o < k; o++)
                Z[o * nb + i] = exp(Z[o * nb + i] - mx) / se - (o == yi ? 1.0 : 0.0);
        }
    }
    /* gradient: W part (k x p, output-major) = R^T X, i.e. g[o*p + j] */
    if (p && k == 1)
        cblas_dgemv(CblasColMajor, CblasTrans, (int)nb, (int)p, 1.0, X, (int)q->ld, Z, 1, 0.0, g,
                    1);
    else if (p)
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)k, (int)p, (int)nb, 1.0, Z,
                    (int)nb, X, (int)q->ld, 0.0, g, (int)k);
    for (size_t o = 0; o < k; o++) {
        double s = 0;
        for (size_t i = 0; i < nb; i++)
            s += Z[o * nb + i];
        g[k * p + o] = s;
    }
    g[k * p + k] = loss;
    if (B) {
        /* Hessian of the block's logloss: [X 1]' D [X 1] = B'B with B = sqrt(D) [X 1], built
           and added HESS_ROWS rows at a time so that B stays in L2 for dsyrk */
        const double *sd = B;
        double *S = B + BLOCK, *Ht = q->H + t * (p + 1) * (p + 1);
        for (size_t r0h = 0; r0h < nb; r0h += HESS_ROWS) {
            size_t m = KL_MIN((size_t)HESS_ROWS, nb - r0h);
            for (size_t j = 0; j < p; j++)
                for (size_t i = 0; i < m; i++)
                    S[j * m + i] = X[j * q->ld + r0h + i] * sd[r0h + i];
            memcpy(S + p * m, sd + r0h, m * sizeof(double));
            cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)(p + 1), (int)m, 1.0, S,
                        (int)m, r0h ? 1.0 : 0.0, Ht, (int)(p + 1));
        }
    }
}

/*
 * Objective and gradient at theta: C * sum logloss (+ 0.5 ||W||^2). The
 * dgemm above writes the W gradient as a k x p column-major matrix, i.e.
 * element (o, j) at g[j*k + o]; it is repacked output-major here.
 */
static double eval(prob *q, const double *theta, double *grad)
{
    size_t k = q->k, p = q->p, w = k * p + k + 1;
    q->theta = theta;
    kl_parallel_for(q->n_blocks, block_eval, q);
    double loss = 0;
    memset(grad, 0, (k * p + k) * sizeof(double));
    for (size_t t = 0; t < q->n_blocks; t++) {
        const double *g = q->part + t * w;
        for (size_t o = 0; o < k; o++)
            for (size_t j = 0; j < p; j++)
                grad[o * p + j] += g[j * k + o];
        for (size_t o = 0; o < k; o++)
            grad[k * p + o] += g[k * p + o];
        loss += g[k * p + k];
    }
    double f = q->C * loss;
    for (size_t i = 0; i < k * p + k; i++)
        grad[i] *= q->C;
    if (!q->fit_intercept)
        for (size_t o = 0; o < k; o++)
            grad[k * p + o] = 0;
    if (q->l2) {
        for (size_t i = 0; i < k * p; i++) {
            f += 0.5 * theta[i] * theta[i];
            grad[i] += theta[i];
        }
    }
    return f;
}

static double inf_norm(const double *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(v[i]));
    return m;
}

/* L-BFGS with backtracking Armijo line search. Returns iterations; *conv set. */
static int lbfgs(prob *q, double *x, size_t dim, int max_iter, double gtol, double *fout, int *conv,
                 double *work)
{
    double *g = work, *d = g + dim, *xn = d + dim, *gn = xn + dim;
    double *S = gn + dim, *Y = S + LBFGS_M * dim, *rho = Y + LBFGS_M * dim, *al = rho + LBFGS_M;
    int mcount = 0, head = 0, it;
    double f = eval(q, x, g);
    *conv = 0;
    for (it = 0; it < max_iter; it++) {
        if (inf_norm(g, dim) <= gtol) {
            *conv = 1;
            break;
        }
        /* two-loop recursion: d = -H g */
        for (size_t i = 0; i < dim; i++)
            d[i] = -g[i];
        for (int m = 0; m < mcount; m++) {
            int s = (head - 1 - m + LBFGS_M) % LBFGS_M;
            double a = rho[s] * cblas_ddot((int)dim, S + s * dim, 1, d, 1);
            al[s] = a;
            cblas_daxpy((int)dim, -a, Y + s * dim, 1, d, 1);
        }
        if (mcount) {
            int s = (head - 1 + LBFGS_M) % LBFGS_M;
            double gamma = cblas_ddot((int)dim, S + s * dim, 1, Y + s * dim, 1) /
                           cblas_ddot((int)dim, Y + s * dim, 1, Y + s * dim, 1);
            cblas_dscal((int)dim, gamma, d, 1);
        } else {
            double gn0 = cblas_dnrm2((int)dim, g, 1);
            cblas_dscal((int)dim, 1.0 / fmax(1.0, gn0), d, 1);
        }
        for (int m = mcount - 1; m >= 0; m--) {
            int s = (head - 1 - m + LBFGS_M) % LBFGS_M;
            double be = rho[s] * cblas_ddot((int)dim, Y + s * dim, 1, d, 1);
            cblas_daxpy((int)dim, al[s] - be, S + s * dim, 1, d, 1);
        }
        double gd = cblas_ddot((int)dim, g, 1, d, 1);
        if (!(gd < 0)) { /* not a descent direction: restart from the gradient */
            mcount = 0;
            for (size_t i = 0; i < dim; i++)
                d[i] = -g[i] / fmax(1.0, cblas_dnrm2((int)dim, g, 1));
            gd = cblas_ddot((int)dim, g, 1, d, 1);
        }
        double step = 1.0, fn = f;
        int ok = 0;
        for (int ls = 0; ls < 60; ls++) {
            for (size_t i = 0; i < dim; i++)
                xn[i] = x[i] + step * d[i];
            fn = eval(q, xn, gn);
            if (fn <= f + 1e-4 * step * gd) {
                ok = 1;
                break;
            }
            step *= 0.5;
        }
        if (!ok || !(fn < f)) {
            /* no decrease at machine precision: as far as doubles go */
            *conv = inf_norm(g, dim) <= gtol * 1e3;
            break;
        }
        int s = head;
        double sy = 0;
        for (size_t i = 0; i < dim; i++) {
            S[s * dim + i] = xn[i] - x[i];
            Y[s * dim + i] = gn[i] - g[i];
        }
        sy = cblas_ddot((int)dim, S + s * dim, 1, Y + s * dim, 1);
        if (sy > 1e-300) {
            rho[s] = 1.0 / sy;
            head = (head + 1) % LBFGS_M;
            mcount = KL_MIN(mcount + 1, LBFGS_M);
        }
        memcpy(x, xn, dim * sizeof(double));
        memcpy(g, gn, dim * sizeof(double));
        f = fn;
    }
    *fout = f;
    return it;
}

/*
 * Objective, gradient and Hessian at theta (binary, dim = p + 1): eval's
 * pass with each block's Hessian summed in block order into Hs (dim x dim,
 * upper triangle): C * [X 1]' D [X 1], plus 1 on the weights' diagonal for
 * L2; without an intercept its row and column are those of the identity.
 */
static double eval_hess(prob *q, const double *theta, double *grad, double *Hs)
{
    size_t dim = q->p + 1;
    double f = eval(q, theta, grad);
    memset(Hs, 0, dim * dim * sizeof(double));
    for (size_t t = 0; t < q->n_blocks; t++) {
        const double *Ht = q->H + t * dim * dim;
        for (size_t c = 0; c < dim; c++)
            for (size_t r = 0; r <= c; r++)
                Hs[c * dim + r] += Ht[c * dim + r];
    }
    for (size_t c = 0; c < dim; c++)
        for (size_t r = 0; r <= c; r++)
            Hs[c * dim + r] *= q->C;
    if (q->l2)
        for (size_t j = 0; j < q->p; j++)
            Hs[j * dim + j] += 1.0;
    if (!q->fit_intercept) {
        for (size_t r = 0; r < dim; r++)
            Hs[q->p * dim + r] = 0.0;
        Hs[q->p * dim + q->p] = 1.0;
    }
    return f;
}

/*
 * Newton's method with a backtracking Armijo line search for the binary
 * problem: each iteration is one pass over the rows (loss, gradient and the
 * Hessian by dsyrk) and a (p+1) x (p+1) Cholesky solve; from theta = 0 the
 * logistic loss needs a handful of iterations where L-BFGS needs dozens.
 * Returns the iterations, or -1 when the Hessian is not positive definite
 * (no penalty and separable data): x then holds the last iterate and the
 * caller continues with L-BFGS from it.
 */
static int newton(prob *q, double *x, size_t dim, int max_iter, double gtol, double *fout, int *conv,
                  double *work)
{
    double *g = work, *d = g + dim, *xn = d + dim, *gn = xn + dim;
    double *H = gn + dim, *Hn = H + dim * dim, *A = Hn + dim * dim;
    int it;
    double f = eval_hess(q, x, g, H);
    *conv = 0;
    for (it = 0; it < max_iter; it++) {
        if (inf_norm(g, dim) <= gtol) {
            *conv = 1;
            break;
        }
        memcpy(A, H, dim * dim * sizeof(double));
        for (size_t i = 0; i < dim; i++)
            d[i] = -g[i];
        if (LAPACKE_dposv(LAPACK_COL_MAJOR, 'U', (lapack_int)dim, 1, A, (lapack_int)dim, d,
                          (lapack_int)dim) != 0) {
            *fout = f;
            return -1;
        }
        double gd = cblas_ddot((int)dim, g, 1, d, 1), step = 1.0, fn = f;
        int ok = 0;
        for (int ls = 0; ls < 60 && gd < 0; ls++) {
            for (size_t i = 0; i < dim; i++)
                xn[i] = x[i] + step * d[i];
            fn = eval_hess(q, xn, gn, Hn);
            if (fn <= f + 1e-4 * step * gd) {
                ok = 1;
                break;
            }
            step *= 0.5;
        }
        if (!ok || !(fn < f)) {
            /* no decrease at machine precision: as far as doubles go */
            *conv = inf_norm(g, dim) <= gtol * 1e3;
            break;
        }
        double *sw;
        memcpy(x, xn, dim * sizeof(double));
        sw = g, g = gn, gn = sw;
        sw = H, H = Hn, Hn = sw;
        f = fn;
    }
    *fout = f;
    return it;
}

/* Proximal step for ||W||_1 with threshold t (intercepts untouched). */
static void prox_l1(double *x, size_t nw, double t)
{
    for (size_t i = 0; i < nw; i++)
        x[i] = x[i] > t ? x[i] - t : (x[i] < -t ? x[i] + t : 0.0);
}

/*
 * FISTA with backtracking and adaptive restart, for C*sum logloss + ||W||_1.
 * Stops when the KKT violation (the smallest subgradient's largest entry)
 * is at most xtol; its scale is the L1 weight, 1.
 */
static int fista(prob *q, double *x, size_t dim, size_t nw, int max_iter, double xtol, double *fout,
                 int *conv, double *work)
{
    double *v = work, *g = v + dim, *xn = g + dim, *gx = xn + dim;
    double L = 1.0, tk = 1.0, f = 0;
    int it;
    memcpy(v, x, dim * sizeof(double));
    *conv = 0;
    double F = eval(q, x, gx) + cblas_dasum((int)nw, x, 1);
    for (it = 0; it < max_iter; it++) {
        double fv = eval(q, v, g);
        double fn;
        for (;;) {
            for (size_t i = 0; i < dim; i++)
                xn[i] = v[i] - g[i] / L;
            prox_l1(xn, nw, 1.0 / L);
            fn = eval(q, xn, gx);
            double quad = fv;
            for (size_t i = 0; i < dim; i++) {
                double dlt = xn[i] - v[i];
                quad += g[i] * dlt + 0.5 * L * dlt * dlt;
            }
            if (fn <= quad + 1e-12 * fabs(quad) || L > 1e300)
                break;
            L *= 2.0;
        }
        double Fn = fn + cblas_dasum((int)nw, xn, 1);
        double dx = 0;
        for (size_t i = 0; i < dim; i++)
            dx = fmax(dx, fabs(xn[i] - x[i]));
        double tn = 0.5 * (1.0 + sqrt(1.0 + 4.0 * tk * tk));
        if (Fn > F) { /* restart momentum */
            tk = 1.0;
            memcpy(v, x, dim * sizeof(double));
            continue;
        }
        for (size_t i = 0; i < dim; i++)
            v[i] = xn[i] + ((tk - 1.0) / tn) * (xn[i] - x[i]);
        memcpy(x, xn, dim * sizeof(double));
        tk = tn;
        F = Fn;
        f = Fn;
        /* optimality: the smallest subgradient of the objective at x (its KKT violation) */
        double viol = 0;
        for (size_t i = 0; i < dim; i++) {
            double gi = gx[i];
            if (i >= nw)
                viol = fmax(viol, fabs(gi));
            else if (x[i] != 0)
                viol = fmax(viol, fabs(gi + (x[i] > 0 ? 1.0 : -1.0)));
            else
                viol = fmax(viol, fabs(gi) - 1.0);
        }
        (void)dx;
        if (viol <= xtol) {
            *conv = 1;
            it++;
            break;
        }
        L *= 0.9;
    }
    *fout = f ? f : F;
    return it;
}

static int logistic_fit(const kl_model_data *d, const double *pv, void **state, kl_err *err)
{
    if (d->n_classes < 2)
        return kl_err_set(err, KL_EINVAL, "logistic regression needs at least 2 classes");
    size_t K = d->n_classes, k = K == 2 ? 1 : K, p = d->p, dim = k * p + k;
    int pen = (int)pv[P_PENALTY];
    prob q = {.X = d->X,
              .n = d->n,
              .p = p,
              .ld = d->ld,
              .k = k,
              .y = d->y,
              .C = pv[P_C],
              .fit_intercept = pv[P_FIT_INTERCEPT] != 0,
              .l2 = pen == PEN_L2,
              .n_blocks = kl_task_count(d->n, BLOCK)};
    kl__linear *s = kl__linear_new(p, k);
    double *theta = calloc(dim, sizeof(double));
    q.Z = malloc((KL_MAX(d->n * k, 1)) * sizeof(double));
    q.part = malloc((q.n_blocks ? q.n_blocks : 1) * (dim + 1) * sizeof(double));
    /* Newton for binary L2 / none while the (p+1)^2 Hessian stays small beside the data */
    int use_newton = k == 1 && pen != PEN_L1 && p + 1 <= NEWTON_MAX_DIM;
    size_t nwork = 4 * dim + 2 * LBFGS_M * dim + 2 * LBFGS_M + (use_newton ? 3 * dim * dim : 0);
    double *work = malloc(nwork * sizeof(double));
    if (use_newton) {
        size_t nth = (size_t)KL_MAX(kl_threads(), 1);
        q.H = malloc(KL_MAX(q.n_blocks, 1) * dim * dim * sizeof(double));
        q.scratch = malloc(nth * SCRATCH_PER_THREAD(p) * sizeof(double));
    }
    if (!s || !theta || !q.Z || !q.part || !work || (use_newton && (!q.H || !q.scratch))) {
        kl__linear_free(s);
        free(theta);
        free(q.Z);
        free(q.part);
        free(work);
        free(q.H);
        free(q.scratch);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    double bound = pv[P_TOL] * 1e-6 * q.C * (double)d->n, f = 0;
    int conv = 0, it = -1, max_iter = (int)pv[P_MAX_ITER];
    if (pen == PEN_L1) {
        it = fista(&q, theta, dim, k * p, max_iter, pv[P_TOL], &f, &conv, work);
    } else {
        if (use_newton)
            it = newton(&q, theta, dim, max_iter, bound, &f, &conv, work);
        free(q.H);
        free(q.scratch);
        q.H = q.scratch = NULL;
        if (it < 0) /* not positive definite: L-BFGS from where Newton stopped */
            it = lbfgs(&q, theta, dim, max_iter, bound, &f, &conv, work);
    }
    if (k > 1 && q.fit_intercept) { /* softmax is unchanged by a common shift */
        double m = 0;
        for (size_t o = 0; o < k; o++)
            m += theta[k * p + o];
        m /= (double)k;
        for (size_t o = 0; o < k; o++)
            theta[k * p + o] -= m;
    }
    memcpy(s->coef, theta, k * p * sizeof(double));
    memcpy(s->intercept, theta + k * p, k * sizeof(double));
    s->objective = f;
    s->n_iter = (uint32_t)it;
    s->converged = (uint32_t)conv;
    free(theta);
    free(q.Z);
    free(q.part);
    free(work);
    *state = s;
    return 0;
}

/* n x K probabilities, row-major. Scores go through out itself: no scratch. */
static int logistic_predict(const void *state, const double *X, size_t n, size_t ld, double *out,
                            kl_err *err)
{
    (void)err;
    const kl__linear *s = state;
    size_t k = s->k, p = s->p, K = k == 1 ? 2 : k;
    /* scores: out viewed as row-major n x K; class o's score in out[i*K + o] */
    for (size_t i = 0; i < n; i++)
        for (size_t o = 0; o < k; o++)
            out[i * K + (k == 1 ? 1 : o)] = s->intercept[o];
    if (p && n && k == 1)
        cblas_dgemv(CblasColMajor, CblasNoTrans, (int)n, (int)p, 1.0, X, (int)ld, s->coef, 1, 1.0,
                    out + 1, 2);
    else if (p && n)
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasTrans, (int)n, (int)k, (int)p, 1.0, X, (int)ld,
                    s->coef, (int)p, 1.0, out, (int)K);
    for (size_t i = 0; i < n; i++) {
        double *r = out + i * K;
        if (k == 1) {
            double z = r[1], e = exp(-fabs(z));
            r[1] = z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
            r[0] = 1.0 - r[1];
        } else {
            double mx = -INFINITY, se = 0;
            for (size_t o = 0; o < K; o++)
                mx = fmax(mx, r[o]);
            for (size_t o = 0; o < K; o++)
                se += (r[o] = exp(r[o] - mx));
            for (size_t o = 0; o < K; o++)
                r[o] /= se;
        }
    }
    return 0;
}

static const kl_algo_param logistic_params[] = {
    {"penalty", KL_ALGO_PARAM_KIND_CHOICE, "l2", 0, 0, 0, "l2,l1,none"},
    {"C", KL_ALGO_PARAM_KIND_FLOAT, "1.0", 0, INFINITY, 1, NULL},
    {"fit_intercept", KL_ALGO_PARAM_KIND_BOOL, "true", 0, 0, 0, NULL},
    {"max_iter", KL_ALGO_PARAM_KIND_INT, "1000", 1, 1e9, 0, NULL},
    {"tol", KL_ALGO_PARAM_KIND_FLOAT, "0.0001", 0, INFINITY, 1, NULL},
};

const kl_algo kl_algo_logistic = {
    .name = "logistic",
    .tasks = 1u << KL_TASK_CLASSIFICATION,
    .pipeline_defaults = KL_PIPELINE_DEFAULTS_LINEAR,
    .params = logistic_params,
    .n_params = KL_ARRAY_LEN(logistic_params),
    .fit = logistic_fit,
    .predict = logistic_predict,
    .save = kl__linear_save,
    .load = kl__linear_load,
    .free = kl__linear_free,
    .describe = kl__linear_describe,
    .linear_coef = kl__linear_coef,
};
