/*
 * Diagnostics around the AR lab: autocorrelation (ACF), partial
 * autocorrelation (PACF), the Ljung-Box test and the chi-square survival
 * function it needs, simulation of an AR process, and rolling-origin
 * backtests.
 *
 * Definitions follow statsmodels 0.13 (acf with adjusted=False, pacf's
 * "ywadjusted" default and "ywm", acorr_ljungbox) so that numbers can be
 * carried over. The PACF comes from one Levinson-Durbin pass over the
 * autocovariances instead of one Toeplitz solve per order: the order-j
 * Yule-Walker solution's last coefficient is the j-th reflection
 * coefficient, so the answers agree and the cost drops from O(p^4) to O(p^2).
 * The incomplete gamma function is written here (series and Lentz's
 * continued fraction) rather than pulled from a dependency.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keel/ar.h"
#include "keel/parallel.h"
#include "keel/rng.h"
#include "core/common.h"

/* Demeaned autocovariance sums s_j = Σ_{t<n-j} d_t d_{t+j} for j = 0..nlags. */
static int autocov_sums(const double *x, size_t n, size_t nlags, double *s, kl_err *err)
{
    if (n < 2 || nlags < 1 || nlags >= n)
        return kl_err_set(err, KL_ERANGE,
                          "need 1 <= lags < number of values, got %zu lags for %zu values", nlags,
                          n);
    double mean = 0.0;
    for (size_t t = 0; t < n; t++) {
        if (!isfinite(x[t]))
            return kl_err_set(err, KL_EINVAL, "series has a missing or non-finite value at row %zu",
                              t + 1);
        mean += x[t];
    }
    mean /= (double)n;
    double *d = malloc(n * sizeof(double));
    if (!d)
        return kl_err_set(err, KL_ENOMEM, "out of memory computing autocorrelations");
    for (size_t t = 0; t < n; t++)
        d[t] = x[t] - mean;
    for (size_t j = 0; j <= nlags; j++) {
        double v = 0.0;
        for (size_t t = 0; t + j < n; t++)
            v += d[t] * d[t + j];
        s[j] = v;
    }
    free(d);
    if (!(s[0] > 0.0))
        return kl_err_set(err, KL_EINVAL, "series is constant: its autocorrelation is undefined");
    return 0;
}

int kl_ar_acf(const double *x, size_t n, size_t nlags, double *acf, double *band, kl_err *err)
{
    int rc = autocov_sums(x, n, nlags, acf, err);
    if (rc < 0)
        return rc;
    double s0 = acf[0], cum = 0.0;
    for (size_t j = 0; j <= nlags; j++)
        acf[j] /= s0;
    acf[0] = 1.0;
    if (band) {
        band[0] = 0.0;
        for (size_t j = 1; j <= nlags; j++) {
            band[j] = KL_AR_Z95 * sqrt((1.0 + 2.0 * cum) / (double)n);
            cum += acf[j] * acf[j];
        }
    }
    return 0;
}

int kl_ar_pacf(const double *x, size_t n, size_t nlags, enum kl_ar_pacf_method method, double *pacf,
               kl_err *err)
{
    double *r = malloc(3 * (nlags + 1) * sizeof(double));
    if (!r)
        return kl_err_set(err, KL_ENOMEM, "out of memory computing partial autocorrelations");
    int rc = autocov_sums(x, n, nlags, r, err);
    if (rc < 0) {
        free(r);
        return rc;
    }
    for (size_t j = 0; j <= nlags; j++)
        r[j] /= method == KL_AR_PACF_YWM ? (double)n : (double)(n - j);
    double *phi = r + nlags + 1, *prev = phi + nlags + 1;
    double v = r[0];
    pacf[0] = 1.0;
    for (size_t k = 1; k <= nlags; k++) {
        double num = r[k];
        for (size_t j = 1; j < k; j++)
            num -= prev[j] * r[k - j];
        if (v == 0.0) {
            free(r);
            return kl_err_set(err, KL_EINVAL,
                              "Yule-Walker system is singular at lag %zu (a perfectly "
                              "predictable series)",
                              k);
        }
        double kappa = num / v;
        for (size_t j = 1; j < k; j++)
            phi[j] = prev[j] - kappa * prev[k - j];
        phi[k] = kappa;
        memcpy(prev + 1, phi + 1, k * sizeof(double));
        v *= 1.0 - kappa * kappa;
        pacf[k] = kappa;
    }
    free(r);
    return 0;
}

/* ---- chi-square survival function ---- */

/* Regularized upper incomplete gamma Q(a, x) for a > 0, x > 0. */
static double gamma_q(double a, double x)
{
    int sign;
    double lg = lgamma_r(a, &sign);
    double front = exp(-x + a * log(x) - lg);
    if (x < a + 1.0) {
        /* P(a, x) = front · Σ_{i>=0} x^i / (a (a+1) … (a+i)) */
        double ap = a, del = 1.0 / a, sum = del;
        for (int i = 0; i < 10000; i++) {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if (fabs(del) < fabs(sum) * 1e-17)
                break;
        }
        return 1.0 - sum * front;
    }
    /* Q(a, x) = front · 1/(x+1-a - 1·(1-a)/(x+3-a - 2·(2-a)/(x+5-a - …))), modified Lentz. */
    const double tiny = 1e-300;
    double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
    for (int i = 1; i < 10000; i++) {
        double an = -(double)i * ((double)i - a);
        b += 2.0;
        d = an * d + b;
        if (fabs(d) < tiny)
            d = tiny;
        c = b + an / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 1e-17)
            break;
    }
    return front * h;
}

double kl_chi2_sf(double x, double df)
{
    if (isnan(x) || !(df > 0.0))
        return NAN;
    if (x <= 0.0)
        return 1.0;
    if (isinf(x))
        return 0.0;
    return gamma_q(df / 2.0, x / 2.0);
}

int kl_ar_ljung_box(const double *x, size_t n, size_t h, size_t model_df, double *q, double *pvalue,
                    kl_err *err)
{
    double *acf = malloc((h + 1) * sizeof(double));
    if (!acf)
        return kl_err_set(err, KL_ENOMEM, "out of memory in the Ljung-Box test");
    int rc = kl_ar_acf(x, n, h, acf, NULL, err);
    if (rc < 0) {
        free(acf);
        return rc;
    }
    double nn = (double)n, s = 0.0;
    for (size_t j = 1; j <= h; j++) {
        s += acf[j] * acf[j] / (nn - (double)j);
        q[j - 1] = nn * (nn + 2.0) * s;
        pvalue[j - 1] = j > model_df ? kl_chi2_sf(q[j - 1], (double)(j - model_df)) : NAN;
    }
    free(acf);
    return 0;
}

/* ---- normal quantile ---- */

/*
 * Bisection on the lower tail, Φ(x) = erfc(-x/√2)/2, which glibc computes to
 * full relative precision far into the tail; the upper tail by symmetry so
 * that 1 - p loses nothing. 200 halvings of [-40, 0] reach adjacent doubles.
 */
double kl_ar_normal_quantile(double p)
{
    if (!(p > 0.0 && p < 1.0))
        return NAN;
    if (p == 0.5)
        return 0.0;
    if (p > 0.5)
        return -kl_ar_normal_quantile(1.0 - p);
    double lo = -40.0, hi = 0.0;
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        if (mid == lo || mid == hi)
            break;
        if (0.5 * erfc(-mid / M_SQRT2) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* ---- simulation ---- */

int kl_ar_simulate(const double *k, size_t p, double c, double sigma, uint64_t seed, size_t burn,
                   size_t n, double *out, kl_err *err)
{
    if (!(sigma >= 0.0) || !isfinite(sigma) || !isfinite(c))
        return kl_err_set(err, KL_EINVAL, "sigma must be a finite number >= 0 and c finite");
    for (size_t i = 0; i < p; i++)
        if (!isfinite(k[i]))
            return kl_err_set(err, KL_EINVAL, "coefficient k%zu is not a finite number", i + 1);
    double *buf = malloc((p + burn + n) * sizeof(double) + (p ? 3 * p : 1) * sizeof(double));
    if (!buf)
        return kl_err_set(err, KL_ENOMEM, "out of memory simulating %zu values", n);
    double *mod = buf + p + burn + n, sum_k = 0.0;
    int stationary = 1;
    if (p) {
        int rc = kl_ar_roots(k, p, mod + p, mod + 2 * p, mod, err);
        if (rc < 0) {
            free(buf);
            return rc;
        }
        for (size_t i = 0; i < p; i++) {
            sum_k += k[i];
            stationary &= mod[i] > 1.0;
        }
    }
    double start = stationary ? c / (1.0 - sum_k) : 0.0;
    for (size_t i = 0; i < p; i++)
        buf[i] = start;
    kl_rng rng;
    kl_rng_init(&rng, seed);
    for (size_t t = p; t < p + burn + n; t++) {
        double v = c;
        for (size_t i = 1; i <= p; i++)
            v += k[i - 1] * buf[t - i];
        buf[t] = v + sigma * kl_rng_normal(&rng);
    }
    memcpy(out, buf + p + burn, n * sizeof(double));
    free(buf);
    for (size_t t = 0; t < n; t++)
        if (!isfinite(out[t]))
            return kl_err_set(err, KL_ERANGE,
                              "the simulated process overflowed at step %zu (it is explosive)",
                              burn + t + 1);
    return 0;
}

/* ---- rolling-origin backtests ---- */

struct bt_ctx {
    const double *y;
    size_t n, p, folds, horizon, step;
    const kl_ar_opts *opts;
    double *errors; /* folds × horizon */
    int *rc;        /* per fold */
    kl_err *errs;   /* per fold */
};

static void bt_fold(void *ctx, size_t f)
{
    struct bt_ctx *b = ctx;
    size_t origin = b->n - b->horizon - (b->folds - 1 - f) * b->step, h = b->horizon;
    kl_ar_opts o = *b->opts;
    if (o.exog && !o.exog_ld)
        o.exog_ld = b->n;
    kl_ar_result r;
    double *mean = malloc(h * sizeof(double) * (1 + (o.exog ? o.n_exog : 0)));
    if (!mean) {
        b->rc[f] = kl_err_set(&b->errs[f], KL_ENOMEM, "out of memory in a backtest fold");
        return;
    }
    double *xf = mean + h;
    for (size_t j = 0; o.exog && j < o.n_exog; j++)
        memcpy(xf + j * h, o.exog + j * o.exog_ld + origin, h * sizeof(double));
    int rc = kl_ar_fit(b->y, origin, b->p, &o, &r, &b->errs[f]);
    if (rc == 0)
        rc = kl_ar_forecast(&r, h, o.exog ? xf : NULL, h, mean, NULL, &b->errs[f]);
    if (rc == 0)
        for (size_t i = 0; i < h; i++)
            b->errors[f * h + i] = b->y[origin + i] - mean[i];
    if (rc < 0)
        kl_err_ctx(&b->errs[f], "backtest fold %zu, origin %zu", f + 1, origin);
    b->rc[f] = rc;
    kl_ar_result_release(&r);
    free(mean);
}

int kl_ar_backtest(const double *y, size_t n, size_t p, const kl_ar_opts *opts, size_t folds,
                   size_t horizon, size_t step, double *mae, double *rmse, kl_err *err)
{
    static const kl_ar_opts defaults = {0};
    if (folds == 0 || horizon == 0 || step == 0)
        return kl_err_set(err, KL_EINVAL, "folds, horizon and step must be at least 1");
    if (n < horizon || (n - horizon) / step < folds)
        return kl_err_set(err, KL_ERANGE,
                          "series too short for %zu folds of horizon %zu and step %zu (%zu "
                          "values)",
                          folds, horizon, step, n);
    struct bt_ctx b = {y, n, p, folds, horizon, step, opts ? opts : &defaults, NULL, NULL, NULL};
    b.errors = malloc(folds * horizon * sizeof(double));
    b.rc = calloc(folds, sizeof(int));
    b.errs = calloc(folds, sizeof(kl_err));
    int rc = 0;
    if (!b.errors || !b.rc || !b.errs) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory in a backtest");
        goto done;
    }
    kl_parallel_for(folds, bt_fold, &b);
    for (size_t f = 0; f < folds; f++)
        if (b.rc[f] < 0) {
            if (err)
                *err = b.errs[f];
            rc = b.rc[f];
            goto done;
        }
    for (size_t h = 0; h < horizon; h++) {
        double sa = 0.0, ss = 0.0;
        for (size_t f = 0; f < folds; f++) {
            double e = b.errors[f * horizon + h];
            sa += fabs(e);
            ss += e * e;
        }
        mae[h] = sa / (double)folds;
        rmse[h] = sqrt(ss / (double)folds);
    }
done:
    free(b.errors);
    free(b.rc);
    free(b.errs);
    return rc;
}
