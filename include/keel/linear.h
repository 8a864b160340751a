/*
 * Linear models behind the kl_model interface, and the least-squares solver
 * they share (also for the AR model's conditional OLS).
 *
 * Ownership: functions here borrow their arrays; they never keep pointers.
 * Matrices are column-major with a leading dimension (see pipeline.h).
 *
 * Algorithms, their parameters (named and defaulted as scikit-learn's) and
 * the objective each one minimises, with X the n x p feature matrix:
 *
 *   ols         fit_intercept (true)
 *               min ||y - b - Xw||^2, by Householder QR of the centred X
 *               (dgeqrf, dormqr, dtrtrs); when R is numerically singular
 *               (|r_jj| <= max(n, p, 1000) * eps * ||column j||) by the SVD
 *               (dgelsd) of R, giving the minimum-norm solution. Never the
 *               normal equations. Rows are streamed through a tiled QR (no
 *               n x p copy of the data; see linear.c).
 *   ridge       alpha (1.0, >= 0), fit_intercept (true)
 *               min ||y - b - Xw||^2 + alpha ||w||^2; the intercept is not
 *               penalised (X and y are centred). alpha > 0: Cholesky of
 *               Xc'Xc + alpha I, the scatter of [X y] built in one pass (dsyrk
 *               per block of rows, each block centred on its own mean and
 *               merged with the Chan-Golub-LeVeque update), as scikit-learn's
 *               default solver does; when that system's reciprocal condition
 *               number is below 1e-10, by QR of the augmented system
 *               [Xc; sqrt(alpha) I] w = [yc; 0] instead (as accurate as QR on
 *               the data). alpha = 0 is OLS.
 *   lasso       alpha (1.0, >= 0), fit_intercept, max_iter (1000), tol (1e-4)
 *   elasticnet  alpha (1.0), l1_ratio (0.5, in [0, 1]), fit_intercept, max_iter, tol
 *               min 1/(2n) ||y - b - Xw||^2 + alpha l1_ratio ||w||_1
 *                   + alpha (1 - l1_ratio) / 2 ||w||^2
 *               by cyclic coordinate descent as scikit-learn's cd_fast: after
 *               a sweep whose largest coefficient change is below tol times
 *               the largest coefficient, the duality gap is computed, and the
 *               fit stops when it is below tol * ||y||^2 (the gap of the
 *               objective scaled by n, as scikit-learn does).
 *   logistic    penalty (l2 | l1 | none; l2), C (1.0, > 0), fit_intercept,
 *               max_iter (1000), tol (1e-4)
 *               binary (K == 2): one weight vector for class 1;
 *               multinomial (K > 2): one per class, softmax.
 *               min C * sum_i logloss_i + 1/2 ||W||^2 (L2, scikit-learn's C)
 *               or C * sum_i logloss_i + ||W||_1 (L1); intercepts never
 *               penalised. L2 and none, binary with p < 256: Newton's
 *               method (one pass per iteration for the loss, the gradient and
 *               the Hessian [X 1]'D[X 1] by dsyrk; Cholesky solve; backtracking
 *               Armijo line search); multinomial, wider, or when the Hessian
 *               is not positive definite (no penalty, separable classes):
 *               L-BFGS (memory 10, same line search; keel's own). Both stop
 *               when the largest gradient entry of the objective divided by
 *               C * n is below tol * 1e-6, or when a step no longer lowers
 *               the objective. L1: FISTA (accelerated proximal gradient with
 *               backtracking and restarts), stopping when the largest entry
 *               of the smallest subgradient (the KKT violation, on the scale
 *               of the L1 weight 1) is below tol. keel solves tighter than scikit-learn's
 *               lbfgs (whose tol applies to the unscaled gradient and which
 *               stops at max_iter 100), hence max_iter 1000. For K > 2 the
 *               intercepts are shifted to sum to zero (softmax is unchanged).
 *
 * Every fit runs with one OpenBLAS thread and keel's own deterministic
 * row-block parallelism, so results do not depend on thread counts.
 */
#ifndef KEEL_LINEAR_H
#define KEEL_LINEAR_H

#include <stddef.h>

#include "keel/err.h"
#include "keel/model.h"

extern const kl_algo kl_algo_ols;
extern const kl_algo kl_algo_ridge;
extern const kl_algo kl_algo_lasso;
extern const kl_algo kl_algo_elasticnet;
extern const kl_algo kl_algo_logistic;

/*
 * Least squares min ||y - Xw|| for X n x p (column-major, ld >= n, n >= p not
 * required): QR when X has full column rank, else the SVD's minimum-norm
 * solution. X and y are overwritten (scratch). w gets p values; *rank (may
 * be NULL) the numerical rank. KL_ENOMEM, KL_EINVAL (LAPACK failure).
 */
int kl_lstsq(double *X, size_t n, size_t p, size_t ld, double *y, double *w, size_t *rank,
             kl_err *err);

#endif
