/*
 * Autoregressive models AR(p) and ARX: the seed's lab model
 * s(n) = k1·s(n-1) + … + kp·s(n-p), fitted as statsmodels' AutoReg does.
 *
 * Ownership: a kl_ar_result is plain data filled by kl_ar_fit and released by
 * the caller with kl_ar_result_release; every input array is borrowed.
 *
 * Model: y_t = deterministic terms + Σ_{i=1..p} k_i y_{t-i} + Σ_j b_j x_{j,t} + e_t.
 * Deterministic terms by trend: KL_AR_TREND_N none (exactly the lab form),
 * KL_AR_TREND_C a constant (the default), KL_AR_TREND_CT a constant and the
 * time trend t+1 (t the 0-based index into the series). Fitting is
 * conditional least squares: the first hold_back observations (p by
 * default) are only used as lags, nobs = n - hold_back rows are fitted, and
 * the regression is solved by Householder QR (LAPACK dgeqrf), never through
 * the normal equations. Statistics follow statsmodels 0.13 (AutoReg,
 * AutoRegResults): sigma2 = SSR/nobs, llf = -nobs/2·(ln 2π + ln sigma2 + 1),
 * aic = -2 llf + 2(k+1), bic = -2 llf + ln(nobs)(k+1), hqic = -2 llf +
 * 2 ln ln(nobs)(k+1) with k the number of regressors, parameter covariance
 * sigma2·(X'X)^-1 (nonrobust, no degrees-of-freedom correction).
 *
 * Parameter order everywhere (params, bse, cov, model files): deterministic
 * terms (const, then trend), lags k1..kp, then exogenous columns.
 */
#ifndef KEEL_AR_H
#define KEEL_AR_H

#include <stddef.h>
#include <stdint.h>

#include "keel/err.h"
#include "keel/frame.h"
#include "keel/model.h"

enum kl_ar_trend {
    KL_AR_TREND_C = 0,  /* constant (default) */
    KL_AR_TREND_N = 1,  /* no deterministic term: s(n) = k1·s(n-1) + … + kp·s(n-p) */
    KL_AR_TREND_CT = 2, /* constant and time trend t+1 */
};

enum kl_ar_ic {
    KL_AR_IC_AIC = 0,
    KL_AR_IC_BIC = 1,
    KL_AR_IC_HQIC = 2,
};

/* "c", "n", "ct"; kl_ar_trend_parse returns -1 for an unknown name. */
const char *kl_ar_trend_name(enum kl_ar_trend trend);
int kl_ar_trend_parse(const char *name);
/* "aic", "bic", "hqic"; kl_ar_ic_parse returns -1 for an unknown name. */
const char *kl_ar_ic_name(enum kl_ar_ic ic);
int kl_ar_ic_parse(const char *name);
/* Number of deterministic terms of a trend: 0, 1 or 2. */
size_t kl_ar_trend_terms(enum kl_ar_trend trend);

typedef struct kl_ar_opts {
    enum kl_ar_trend trend;
    size_t hold_back;   /* observations held back; 0 means p; must be >= p */
    const double *exog; /* n_exog columns of n values each, column after column; NULL if none */
    size_t n_exog;
    size_t exog_ld; /* distance between exog columns in values; 0 means n */
} kl_ar_opts;

typedef struct kl_ar_result {
    enum kl_ar_trend trend;
    size_t p;         /* lags */
    size_t n_det;     /* deterministic terms (kl_ar_trend_terms) */
    size_t n_exog;    /* exogenous columns */
    size_t k;         /* regressors: n_det + p + n_exog (statsmodels' df_model) */
    size_t n;         /* length of the series fitted */
    size_t hold_back; /* first fitted index */
    size_t nobs;      /* n - hold_back */
    double *params;   /* k coefficients, in the order above */
    double *bse;      /* k standard errors */
    double *cov;      /* k*k covariance, row-major */
    double *resid;    /* nobs residuals, for t = hold_back .. n-1 */
    double *tail;     /* y[n-p .. n): the lags the first forecast needs */
    double *roots_re; /* p roots of 1 - k1 z - … - kp z^p, by increasing modulus */
    double *roots_im;
    double *roots_mod; /* |root|; +inf for a root at infinity (a zero eigenvalue) */
    int stationary;    /* 1 when every |root| > 1 */
    double ssr, sigma2, llf, aic, bic, hqic;
} kl_ar_result;

/*
 * Fit an AR(p) (ARX when opts->exog is set) to y[0..n). opts may be NULL
 * (trend c, hold_back p). Fails with KL_EINVAL for a non-finite value in y or
 * exog ("series has a missing or non-finite value at row 17"), KL_ERANGE when
 * there are fewer observations than regressors or hold_back < p, and
 * KL_EINVAL when the design is rank deficient (a constant series, an exog
 * column repeating another). On failure *out is zeroed.
 *
 * Rows are processed in fixed chunks whose R factors are combined in chunk
 * order (a TSQR), so results are bit-identical whatever the thread count.
 */
int kl_ar_fit(const double *y, size_t n, size_t p, const kl_ar_opts *opts, kl_ar_result *out,
              kl_err *err);
/* Free what kl_ar_fit allocated and zero *r; NULL and a zeroed result do nothing. */
void kl_ar_result_release(kl_ar_result *r);

/*
 * Recursive forecasts of the h values after the series: mean[i] is the
 * forecast for index n+i, var[i] = sigma2·Σ_{j<=i} ψ_j² its variance, with ψ
 * the MA(∞) weights of the AR polynomial (ψ0 = 1). exog_future holds the
 * future exogenous values (n_exog columns of h values each, exog_ld apart;
 * exog_ld 0 means h) and must be given when the model has exog; var may be
 * NULL (then nothing is allocated). Returns 0 or KL_EINVAL.
 */
int kl_ar_forecast(const kl_ar_result *r, size_t h, const double *exog_future, size_t exog_ld,
                   double *mean, double *var, kl_err *err);

/* The standard normal quantile Φ⁻¹(p) for 0 < p < 1 (NaN otherwise), to full double precision. */
double kl_ar_normal_quantile(double p);

/*
 * Roots of 1 - k1 z - … - kp z^p as the reciprocals of the eigenvalues of
 * the companion matrix (LAPACK dgeev), sorted by modulus, then real part,
 * then imaginary part. re, im and mod hold p values each. Returns 0, or
 * KL_EINVAL if dgeev fails to converge.
 */
int kl_ar_roots(const double *k, size_t p, double *re, double *im, double *mod, kl_err *err);

/*
 * Order selection as statsmodels' ar_select_order(glob=False): fit lags
 * 1..q for q = 0..max_lag on the same sample (hold_back = max_lag) and pick
 * the q with the smallest criterion (the first on ties). ic_values (may be
 * NULL) receives max_lag+1 values in statsmodels' selection convention:
 * -2 llf + penalty·(regressors other than the constant + 1). *best gets q.
 */
int kl_ar_select(const double *y, size_t n, size_t max_lag, enum kl_ar_ic ic,
                 const kl_ar_opts *opts, size_t *best, double *ic_values, kl_err *err);

/* ---- diagnostics (lib/models/ar_stats.c) ---- */

/* The two-sided 95% standard normal quantile used for every band and interval. */
#define KL_AR_Z95 1.959963984540054

/*
 * Sample autocorrelation as statsmodels' acf(adjusted=False): the series is
 * demeaned, acov_j = Σ_t d_t d_{t+j} / n, acf[j] = acov_j / acov_0 for
 * j = 0..nlags (acf[0] = 1). band[j] (may be NULL) is the half-width of
 * Bartlett's 95% band: 1.96·sqrt((1 + 2 Σ_{i<j} acf_i²)/n), band[0] = 0.
 * Needs 1 <= nlags < n and a non-constant series (KL_ERANGE / KL_EINVAL).
 */
int kl_ar_acf(const double *x, size_t n, size_t nlags, double *acf, double *band, kl_err *err);

enum kl_ar_pacf_method {
    KL_AR_PACF_YW = 0,  /* Yule-Walker on adjusted autocovariances (/(n-j)): statsmodels 0.13's
                           default "ywadjusted" */
    KL_AR_PACF_YWM = 1, /* Yule-Walker on /n autocovariances ("ywm"), always within [-1, 1] */
};

/*
 * Partial autocorrelation for lags 0..nlags (pacf[0] = 1) by Levinson-Durbin
 * on the demeaned autocovariances: pacf[j] is the last coefficient of the
 * order-j Yule-Walker fit. The 95% band is ±1.96/sqrt(n) at every lag, as in
 * statsmodels. Needs 1 <= nlags < n.
 */
int kl_ar_pacf(const double *x, size_t n, size_t nlags, enum kl_ar_pacf_method method, double *pacf,
               kl_err *err);

/*
 * Ljung-Box Q for lags 1..h on x (usually residuals; demeaned first, as
 * statsmodels' acorr_ljungbox does): Q_j = n(n+2) Σ_{i<=j} r_i²/(n-i), with
 * p-value the chi-square survival function at j - model_df degrees of
 * freedom (NaN when that is not positive). q and pvalue hold h values.
 */
int kl_ar_ljung_box(const double *x, size_t n, size_t h, size_t model_df, double *q, double *pvalue,
                    kl_err *err);

/*
 * Chi-square survival function P(X > x) for df > 0 degrees of freedom: the
 * regularized upper incomplete gamma Q(df/2, x/2), by its series below
 * x/2 < df/2 + 1 and Lentz's continued fraction above. 1 for x <= 0.
 */
double kl_chi2_sf(double x, double df);

/*
 * Simulate n values of y_t = c + Σ k_i y_{t-i} + sigma·e_t with e_t standard
 * normal deviates from kl_rng seeded with seed, after burn values that are
 * thrown away (the process starts at its mean when stationary, else at 0).
 */
int kl_ar_simulate(const double *k, size_t p, double c, double sigma, uint64_t seed, size_t burn,
                   size_t n, double *out, kl_err *err);

/*
 * Rolling-origin backtest: for fold f = 0..folds-1 the model is fitted on
 * y[0..o_f) (expanding window) with o_f = n - horizon - (folds-1-f)·step, and
 * forecasts y[o_f .. o_f+horizon). mae[h] and rmse[h] (horizon values each)
 * average over folds for the step h+1 ahead. Folds run on threads; each
 * writes its own errors and the averages are taken in fold order.
 */
int kl_ar_backtest(const double *y, size_t n, size_t p, const kl_ar_opts *opts, size_t folds,
                   size_t horizon, size_t step, double *mae, double *rmse, kl_err *err);

/*
 * ---- the kl_model algorithm "ar" (lib/models/ar_model.c) ----
 * Task forecast; parameters lags, trend (c|n|ct), select (none|aic|bic|hqic)
 * and exog (use the pipeline's features as ARX regressors). Its payload in
 * the model file is documented at the top of lib/models/ar_model.c.
 */
extern const kl_algo kl_algo_ar;

/* ---- series from a frame (lib/models/ar_frame.c) ---- */

/*
 * Copy numeric column `column` of f into a new array (*out, freed by the
 * caller with free) of *n values, without its leading and trailing missing
 * values; *first (may be NULL) gets the row index of the first value kept.
 * KL_ENOTFOUND when there is no such column, KL_EINVAL when it is not
 * numeric, when it has a missing value between present ones (keel never
 * interpolates silently) or when every value is missing.
 */
int kl_ar_frame_series(const kl_frame *f, const char *column, double **out, size_t *n,
                       size_t *first, kl_err *err);

#endif
