/*
 * The AR lab against values from outside the code: statsmodels 0.13.5's
 * AutoReg, ar_select_order, acf, pacf and acorr_ljungbox and SciPy 1.10's
 * chi2.sf (the script that printed them is tests/fixtures/ar/reference.py;
 * the worked example and the sunspots AR(2) also appear, verified, in the
 * project's algorithms reference), hand-solved systems, closed forms
 * (chi-square with 1 and 2 degrees of freedom, roots of quadratics), and a
 * plain normal-equations solve in long double as a reference for the
 * chunked QR.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keel/ar.h"
#include "keel/csv.h"
#include "keel/frame.h"
#include "keel/model.h"
#include "keel/parallel.h"

#include <jansson.h>

#define assert_rel(got, want, tol)                                                                 \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        double d_ = fabs(g_ - w_) / fmax(fabs(w_), 1e-300);                                        \
        if (!(d_ <= (tol)))                                                                        \
            fail_msg("%s = %.15g, want %.15g (rel. diff %.3g)", #got, g_, w_, d_);                 \
    } while (0)

#define assert_abs(got, want, tol)                                                                 \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        if (!(fabs(g_ - w_) <= (tol)))                                                             \
            fail_msg("%s = %.15g, want %.15g", #got, g_, w_);                                      \
    } while (0)

static const double small[] = {1, 2, 1.5, 2.5, 2, 3, 2.5, 3.5};

static double *sunspots(size_t *n)
{
    kl_err err = {0};
    kl_frame *f = NULL;
    assert_int_equal(kl_csv_read_file(KEEL_SOURCE_DIR "/data/sunspots.csv", NULL, &f, NULL, &err),
                     0);
    double *y = NULL;
    assert_int_equal(kl_ar_frame_series(f, "sunactivity", &y, n, NULL, &err), 0);
    kl_frame_free(f);
    assert_int_equal(*n, 309);
    return y;
}

/* ---- statsmodels' worked examples ---- */

static void test_ar_worked_example_matches_statsmodels(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_ar_result r;
    assert_int_equal(kl_ar_fit(small, 8, 1, NULL, &r, &err), 0);
    assert_int_equal(r.nobs, 7);
    assert_int_equal(r.k, 2);
    assert_rel(r.params[0], 1.828947368421, 1e-9);
    assert_rel(r.params[1], 0.289473684211, 1e-9);
    assert_rel(r.sigma2, 0.35526315789473684, 1e-12);
    assert_rel(r.llf, -6.3104320724457015, 1e-12);
    assert_rel(r.aic, 18.620864144891403, 1e-12);
    assert_rel(r.bic, 18.45859459205734, 1e-12);
    assert_rel(r.hqic, 16.615243008361062, 1e-12);
    assert_rel(r.bse[0], 0.782535300063, 1e-9);
    assert_rel(r.bse[1], 0.361782291707, 1e-9);
    assert_rel(r.roots_re[0], 3.454545454545, 1e-9);
    assert_abs(r.roots_im[0], 0.0, 0.0);
    assert_true(r.stationary);
    double mean[3], var[3];
    assert_int_equal(kl_ar_forecast(&r, 3, NULL, 0, mean, var, &err), 0);
    assert_rel(mean[0], 2.842105263158, 1e-9);
    assert_rel(mean[1], 2.651662049861, 1e-9);
    assert_rel(mean[2], 2.596533751276, 1e-9);
    /* Variances: σ²(1 + φ² + … + φ^(2(h-1))), φ = 11/38; the reference rounds them to 1e-6. */
    double s2 = 0.35526315789473684, f2 = (11.0 / 38) * (11.0 / 38);
    assert_abs(var[0], 0.355263, 1e-6);
    assert_abs(var[1], 0.385032, 1e-6);
    assert_abs(var[2], 0.387527, 1e-6);
    assert_rel(var[1], s2 * (1 + f2), 1e-12);
    assert_rel(var[2], s2 * (1 + f2 + f2 * f2), 1e-12);
    kl_ar_result_release(&r);
}

static void test_ar_trend_n_ar2_matches_statsmodels(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_ar_result r;
    kl_ar_opts o = {.trend = KL_AR_TREND_N};
    assert_int_equal(kl_ar_fit(small, 8, 2, &o, &r, &err), 0);
    assert_int_equal(r.k, 2);
    assert_rel(r.params[0], 0.15559772296, 1e-9);
    assert_rel(r.params[1], 1.066413662239, 1e-9);
    assert_rel(r.sigma2, 0.008538899430740049, 1e-9);
    assert_rel(r.llf, 5.775738256067225, 1e-9);
    assert_rel(r.aic, -5.55147651213445, 1e-9);
    assert_rel(r.bic, -6.176198104450284, 1e-9);
    assert_rel(r.hqic, -8.052288027438493, 1e-9);
    assert_rel(r.bse[0], 0.047853966652, 1e-9);
    assert_rel(r.bse[1], 0.052380166003, 1e-9);
    double mean[3];
    assert_int_equal(kl_ar_forecast(&r, 3, NULL, 0, mean, NULL, &err), 0);
    assert_rel(mean[0], 3.210626185958, 1e-9);
    assert_rel(mean[1], 4.232013941648, 1e-9);
    assert_rel(mean[2], 4.082347361905, 1e-9);
    kl_ar_result_release(&r);
}

/* ---- the lab form s(n) = k1 s(n-1) + ... + kp s(n-p), solved by hand ---- */

static void test_ar_trend_n_ar1_is_the_hand_solved_ratio(void **state)
{
    (void)state;
    /* One regressor: k1 = Σ s(n)s(n-1) / Σ s(n-1)² = 36 / 32.75 on the small series. */
    kl_err err = {0};
    kl_ar_result r;
    kl_ar_opts o = {.trend = KL_AR_TREND_N};
    assert_int_equal(kl_ar_fit(small, 8, 1, &o, &r, &err), 0);
    assert_int_equal(r.k, 1);
    assert_rel(r.params[0], 36.0 / 32.75, 1e-14);
    double ssr = 0.0;
    for (size_t t = 1; t < 8; t++) {
        double e = small[t] - 36.0 / 32.75 * small[t - 1];
        ssr += e * e;
    }
    assert_rel(r.ssr, ssr, 1e-12);
    assert_rel(r.sigma2, ssr / 7.0, 1e-12);
    kl_ar_result_release(&r);
}

static void test_ar_trend_n_recovers_an_exact_recurrence(void **state)
{
    (void)state;
    /* s(n) = 0.5 s(n-1) + 0.3 s(n-2) from s(0) = 1, s(1) = 2: the fit is exact. */
    double s[14] = {1, 2};
    for (size_t t = 2; t < 14; t++)
        s[t] = 0.5 * s[t - 1] + 0.3 * s[t - 2];
    kl_err err = {0};
    kl_ar_result r;
    kl_ar_opts o = {.trend = KL_AR_TREND_N};
    assert_int_equal(kl_ar_fit(s, 14, 2, &o, &r, &err), 0);
    assert_rel(r.params[0], 0.5, 1e-12);
    assert_rel(r.params[1], 0.3, 1e-12);
    assert_true(r.ssr < 1e-24);
    double mean[2];
    assert_int_equal(kl_ar_forecast(&r, 2, NULL, 0, mean, NULL, &err), 0);
    double next = 0.5 * s[13] + 0.3 * s[12];
    assert_rel(mean[0], next, 1e-12);
    assert_rel(mean[1], 0.5 * next + 0.3 * s[13], 1e-12);
    /* Roots of 1 - 0.5z - 0.3z²: z = (-0.5 ± sqrt(0.25 + 1.2)) / 0.6. */
    double r1 = (-0.5 + sqrt(1.45)) / 0.6, r2 = (-0.5 - sqrt(1.45)) / 0.6;
    assert_rel(r.roots_re[0], r1, 1e-12);
    assert_rel(r.roots_re[1], r2, 1e-12);
    assert_true(r.stationary);
    kl_ar_result_release(&r);
}

/* ---- sunspots ---- */

static void test_ar_sunspots_ar2_matches_statsmodels(void **state)
{
    (void)state;
    size_t n;
    double *y = sunspots(&n);
    kl_err err = {0};
    kl_ar_result r;
    assert_int_equal(kl_ar_fit(y, n, 2, NULL, &r, &err), 0);
    assert_int_equal(r.nobs, 307);
    assert_rel(r.params[0], 14.907148336569, 1e-9);
    assert_rel(r.params[1], 1.391805247789, 1e-9);
    assert_rel(r.params[2], -0.690286927959, 1e-9);
    assert_rel(r.sigma2, 275.43631964866313, 1e-10);
    assert_rel(r.llf, -1298.031845877715, 1e-11);
    assert_rel(r.aic, 2604.06369175543, 1e-11);
    assert_rel(r.bic, 2618.971082745779, 1e-11);
    assert_rel(r.hqic, 2610.0250137397325, 1e-11);
    assert_rel(r.bse[0], 1.552817995206, 1e-9);
    assert_rel(r.bse[1], 0.04132106394, 1e-9);
    assert_rel(r.bse[2], 0.041312014536, 1e-9);
    assert_rel(r.roots_mod[0], 1.203608304061, 1e-9);
    assert_rel(r.roots_mod[1], 1.203608304061, 1e-9);
    assert_true(r.roots_im[0] < 0 && r.roots_im[1] > 0); /* a conjugate pair, sorted */
    assert_true(r.stationary);
    double mean[3], var[3];
    assert_int_equal(kl_ar_forecast(&r, 3, NULL, 0, mean, var, &err), 0);
    assert_rel(mean[0], 13.766231595466, 1e-9);
    assert_rel(mean[1], 32.065229622341, 1e-9);
    assert_rel(mean[2], 50.033053478908, 1e-9);
    assert_rel(var[0], 275.436319648663, 1e-9);
    assert_rel(var[1], 808.990032110546, 1e-9);
    assert_rel(var[2], 1237.182595715092, 1e-9);
    /* statsmodels' test_serial_correlation(): 10 lags, model_df = k = 3 */
    double q[10], pv[10];
    assert_int_equal(kl_ar_ljung_box(r.resid, r.nobs, 10, r.k, q, pv, &err), 0);
    static const double q_want[10] = {2.5066997009288152, 5.6443483330605755, 5.948667095750718,
                                      8.774945723044986,  8.965905616936055,  9.006272585869402,
                                      9.750885888625515,  10.314506175729202, 21.27294751393192,
                                      32.36637993487678};
    static const double p_want[10] = {NAN,
                                      NAN,
                                      NAN,
                                      0.0030539624565564263,
                                      0.01129999711619307,
                                      0.02920760522950174,
                                      0.04483969457025216,
                                      0.06679880983776998,
                                      0.0016385000641066152,
                                      3.473072857434545e-05};
    for (size_t j = 0; j < 10; j++) {
        assert_rel(q[j], q_want[j], 1e-9);
        if (isnan(p_want[j]))
            assert_true(isnan(pv[j]));
        else
            assert_rel(pv[j], p_want[j], 1e-8);
    }
    kl_ar_result_release(&r);
    free(y);
}

static void test_ar_select_picks_9_lags_on_sunspots_with_every_criterion(void **state)
{
    (void)state;
    size_t n;
    double *y = sunspots(&n);
    kl_err err = {0};
    double ic[13];
    /* statsmodels' ar_select_order(maxlag=12) criteria for 0, 2, 9 and 12 lags */
    static const double want[3][4] = {
        {3044.3133316068956, 2517.6635642020697, 2468.6281770838, 2474.61415507013},
        {3048.0070637456984, 2528.744760618478, 2505.565498471827, 2522.6326728745653},
        {3045.792063496972, 2522.0997598722984, 2483.4154959845628, 2493.837669641122}};
    for (int c = KL_AR_IC_AIC; c <= KL_AR_IC_HQIC; c++) {
        size_t best = 0;
        assert_int_equal(kl_ar_select(y, n, 12, (enum kl_ar_ic)c, NULL, &best, ic, &err), 0);
        assert_int_equal(best, 9);
        assert_rel(ic[0], want[c][0], 1e-11);
        assert_rel(ic[2], want[c][1], 1e-11);
        assert_rel(ic[9], want[c][2], 1e-11);
        assert_rel(ic[12], want[c][3], 1e-11);
    }
    free(y);
}

static void test_ar_select_uses_the_common_sample(void **state)
{
    (void)state;
    /* The 2-lag criterion of the selection is a fit with hold_back = max_lag. */
    size_t n;
    double *y = sunspots(&n);
    kl_err err = {0};
    double ic[13];
    size_t best;
    assert_int_equal(kl_ar_select(y, n, 12, KL_AR_IC_BIC, NULL, &best, ic, &err), 0);
    kl_ar_result r;
    kl_ar_opts o = {.hold_back = 12};
    assert_int_equal(kl_ar_fit(y, n, 2, &o, &r, &err), 0);
    assert_int_equal(r.nobs, n - 12);
    /* statsmodels' selection counts one regressor fewer than AutoRegResults.bic (the constant). */
    assert_rel(ic[2], r.bic - log((double)r.nobs), 1e-12);
    kl_ar_result_release(&r);
    free(y);
}

static void test_ar_select_with_trends_n_and_ct_matches_statsmodels(void **state)
{
    (void)state;
    /* ar_select_order(maxlag=6, ic="bic") with trend "n" and "ct": bic for 0..6 lags. */
    static const double want_n[7] = {3391.244455765394, 2789.0839611903198, 2661.502504495733,
                                     2661.932487971876, 2643.921366937359,  2640.326872850703,
                                     2619.892349074242};
    static const double want_ct[7] = {3102.1778025991525, 2777.5168262549714, 2580.6556417972092,
                                      2578.251851045552,  2583.848305438154,  2589.226005496853,
                                      2589.190487093119};
    size_t n, best;
    double *y = sunspots(&n), ic[7];
    kl_err err = {0};
    kl_ar_opts o = {.trend = KL_AR_TREND_N};
    assert_int_equal(kl_ar_select(y, n, 6, KL_AR_IC_BIC, &o, &best, ic, &err), 0);
    assert_int_equal(best, 6);
    for (size_t q = 0; q < 7; q++)
        assert_rel(ic[q], want_n[q], 1e-11);
    o.trend = KL_AR_TREND_CT;
    assert_int_equal(kl_ar_select(y, n, 6, KL_AR_IC_BIC, &o, &best, ic, &err), 0);
    assert_int_equal(best, 3);
    for (size_t q = 0; q < 7; q++)
        assert_rel(ic[q], want_ct[q], 1e-11);
    free(y);
}

static void test_ar_hold_back_matches_statsmodels(void **state)
{
    (void)state;
    size_t n;
    double *y = sunspots(&n);
    kl_err err = {0};
    kl_ar_result r;
    kl_ar_opts o = {.hold_back = 5};
    assert_int_equal(kl_ar_fit(y, n, 2, &o, &r, &err), 0);
    assert_int_equal(r.nobs, 304);
    assert_rel(r.params[0], 15.041505383253, 1e-9);
    assert_rel(r.params[1], 1.391590630067, 1e-9);
    assert_rel(r.params[2], -0.691613327983, 1e-9);
    assert_rel(r.sigma2, 277.6236864891305, 1e-10);
    assert_rel(r.aic, 2581.099659680915, 1e-11);
    kl_ar_result_release(&r);
    free(y);
}

static void test_ar_sunspots_ar9_with_trend_ct_matches_statsmodels(void **state)
{
    (void)state;
    size_t n;
    double *y = sunspots(&n);
    kl_err err = {0};
    kl_ar_result r;
    kl_ar_opts o = {.trend = KL_AR_TREND_CT};
    assert_int_equal(kl_ar_fit(y, n, 9, &o, &r, &err), 0);
    static const double want[11] = {6.207401909979e+00,  1.028054026251e-02,  1.160438135630e+00,
                                    -4.058673031170e-01, -1.690594299188e-01, 1.477039049132e-01,
                                    -9.630253291276e-02, 1.693158308723e-03,  4.883797562255e-02,
                                    -8.647950006684e-02, 2.478473514858e-01};
    assert_int_equal(r.k, 11);
    for (size_t i = 0; i < 11; i++)
        assert_rel(r.params[i], want[i], 1e-9);
    assert_rel(r.sigma2, 220.61054626435168, 1e-10);
    assert_rel(r.aic, 2494.282793780409, 1e-11);
    kl_ar_result_release(&r);
    /* The trend term keeps counting past the end of the series in forecasts. */
    assert_int_equal(kl_ar_fit(y, n, 3, &o, &r, &err), 0);
    assert_rel(r.params[0], 12.840937173241, 1e-9);
    assert_rel(r.params[1], 0.035476324467, 1e-9);
    double f[3];
    assert_int_equal(kl_ar_forecast(&r, 3, NULL, 0, f, NULL, &err), 0);
    assert_rel(f[0], 21.475692566495, 1e-9);
    assert_rel(f[1], 48.586190482909, 1e-9);
    assert_rel(f[2], 75.011179538145, 1e-9);
    kl_ar_result_release(&r);
    free(y);
}

static void test_ar_arx_with_an_exog_column_matches_statsmodels(void **state)
{
    (void)state;
    size_t n;
    double *y = sunspots(&n);
    double *x = malloc(n * sizeof(double)), xf[2];
    for (size_t t = 0; t < n; t++)
        x[t] = sin((double)t / 5.0);
    for (size_t i = 0; i < 2; i++)
        xf[i] = sin((double)(n + i) / 5.0);
    kl_err err = {0};
    kl_ar_result r;
    kl_ar_opts o = {.exog = x, .n_exog = 1};
    assert_int_equal(kl_ar_fit(y, n, 2, &o, &r, &err), 0);
    static const double want[4] = {14.912668600723, 1.39171156881, -0.690366091985, 0.361758623732};
    static const double bse[4] = {1.552764839891, 0.041317546981, 0.041308086878, 1.332662871942};
    for (size_t i = 0; i < 4; i++) {
        assert_rel(r.params[i], want[i], 1e-9);
        assert_rel(r.bse[i], bse[i], 1e-9);
    }
    assert_rel(r.sigma2, 275.3702235554051, 1e-10);
    assert_rel(r.aic, 2605.9900125263866, 1e-11);
    double mean[2];
    assert_int_equal(kl_ar_forecast(&r, 2, NULL, 0, mean, NULL, &err), KL_EINVAL);
    assert_int_equal(kl_ar_forecast(&r, 2, xf, 0, mean, NULL, &err), 0);
    assert_rel(mean[0], 13.460406574226, 1e-9);
    assert_rel(mean[1], 31.376205492693, 1e-9);
    kl_ar_result_release(&r);
    free(x);
    free(y);
}

/* ---- large series: chunked QR, threads, simulation ---- */

/* Reference solve: normal equations accumulated and eliminated in long double. */
static void reference_ols_c_lags(const double *y, size_t n, size_t p, double *beta)
{
    size_t k = p + 1;
    long double a[8][9] = {{0}};
    for (size_t t = p; t < n; t++) {
        long double x[8];
        x[0] = 1.0L;
        for (size_t l = 1; l <= p; l++)
            x[l] = y[t - l];
        for (size_t i = 0; i < k; i++) {
            for (size_t j = 0; j < k; j++)
                a[i][j] += x[i] * x[j];
            a[i][k] += x[i] * y[t];
        }
    }
    for (size_t c = 0; c < k; c++)
        for (size_t i = c + 1; i < k; i++) {
            long double f = a[i][c] / a[c][c];
            for (size_t j = c; j <= k; j++)
                a[i][j] -= f * a[c][j];
        }
    for (size_t i = k; i-- > 0;) {
        long double s = a[i][k];
        for (size_t j = i + 1; j < k; j++)
            s -= a[i][j] * (long double)beta[j];
        beta[i] = (double)(s / a[i][i]);
    }
}

static void test_ar_simulate_then_fit_recovers_k_on_100k_points(void **state)
{
    (void)state;
    const size_t n = 100000;
    const double k[2] = {0.6, -0.2};
    double *y = malloc(n * sizeof(double));
    kl_err err = {0};
    assert_int_equal(kl_ar_simulate(k, 2, 1.0, 1.0, 42, 500, n, y, &err), 0);
    kl_ar_result r;
    assert_int_equal(kl_ar_fit(y, n, 2, NULL, &r, &err), 0);
    /* Standard errors are about 0.003 here; 5 of them is the tolerance. */
    assert_abs(r.params[1], 0.6, 0.015);
    assert_abs(r.params[2], -0.2, 0.015);
    assert_abs(r.params[0], 1.0, 0.05);
    assert_abs(r.sigma2, 1.0, 0.02);
    assert_true(r.bse[1] < 0.005);
    double beta[3];
    reference_ols_c_lags(y, n, 2, beta);
    for (size_t i = 0; i < 3; i++)
        assert_rel(r.params[i], beta[i], 1e-10);
    kl_ar_result_release(&r);
    free(y);
}

static void test_ar_fit_is_bit_identical_on_1_and_2_threads(void **state)
{
    (void)state;
    const size_t n = 200000; /* several chunks */
    const double k[3] = {0.5, 0.2, -0.1};
    double *y = malloc(n * sizeof(double));
    kl_err err = {0};
    assert_int_equal(kl_ar_simulate(k, 3, 0.3, 2.0, 7, 100, n, y, &err), 0);
    kl_ar_result a, b;
    kl_threads_set(1);
    assert_int_equal(kl_ar_fit(y, n, 3, NULL, &a, &err), 0);
    kl_threads_set(2);
    assert_int_equal(kl_ar_fit(y, n, 3, NULL, &b, &err), 0);
    kl_threads_set(0);
    assert_memory_equal(a.params, b.params, a.k * sizeof(double));
    assert_memory_equal(a.cov, b.cov, a.k * a.k * sizeof(double));
    assert_memory_equal(a.resid, b.resid, a.nobs * sizeof(double));
    assert_memory_equal(&a.ssr, &b.ssr, sizeof(double));
    double beta[4];
    reference_ols_c_lags(y, n, 3, beta);
    for (size_t i = 0; i < 4; i++)
        assert_rel(a.params[i], beta[i], 1e-10);
    kl_ar_result_release(&a);
    kl_ar_result_release(&b);
    free(y);
}

static void test_ar_simulate_is_reproducible_and_follows_the_recursion(void **state)
{
    (void)state;
    const double k[2] = {0.6, -0.2};
    double a[50], b[50], c[50];
    kl_err err = {0};
    assert_int_equal(kl_ar_simulate(k, 2, 0.0, 1.0, 3, 10, 50, a, &err), 0);
    assert_int_equal(kl_ar_simulate(k, 2, 0.0, 1.0, 3, 10, 50, b, &err), 0);
    assert_memory_equal(a, b, sizeof a);
    /* sigma 0 and a stationary process: it stays at its mean c / (1 - Σk). */
    assert_int_equal(kl_ar_simulate(k, 2, 1.2, 0.0, 3, 10, 50, c, &err), 0);
    for (size_t t = 0; t < 50; t++)
        assert_rel(c[t], 1.2 / 0.6, 1e-15);
}

/* ---- roots, forecasts ---- */

static void test_ar_roots_of_known_polynomials(void **state)
{
    (void)state;
    kl_err err = {0};
    double re[2], im[2], mod[2];
    /* 1 - 1.5z + 0.56z²: roots (1.5 ± 0.1) / 1.12 */
    const double k1[2] = {1.5, -0.56};
    assert_int_equal(kl_ar_roots(k1, 2, re, im, mod, &err), 0);
    assert_rel(re[0], 1.4 / 1.12, 1e-13);
    assert_rel(re[1], 1.6 / 1.12, 1e-13);
    /* 1 + 0.25z²: roots ±2i */
    const double k2[2] = {0.0, -0.25};
    assert_int_equal(kl_ar_roots(k2, 2, re, im, mod, &err), 0);
    assert_rel(mod[0], 2.0, 1e-13);
    assert_rel(mod[1], 2.0, 1e-13);
    assert_abs(re[0], 0.0, 1e-13);
    assert_rel(im[0], -2.0, 1e-13);
    assert_rel(im[1], 2.0, 1e-13);
    /* k_p = 0 puts a root at infinity */
    const double k3[2] = {0.5, 0.0};
    assert_int_equal(kl_ar_roots(k3, 2, re, im, mod, &err), 0);
    assert_rel(mod[0], 2.0, 1e-13);
    assert_true(isinf(mod[1]));
}

static void test_ar_explosive_series_is_flagged_not_stationary(void **state)
{
    (void)state;
    /* s(n) = 1.1 s(n-1) exactly: k1 = 1.1, root 1/1.1 inside the unit circle. */
    double s[20] = {3.0};
    for (size_t t = 1; t < 20; t++)
        s[t] = 1.1 * s[t - 1];
    kl_err err = {0};
    kl_ar_result r;
    kl_ar_opts o = {.trend = KL_AR_TREND_N};
    assert_int_equal(kl_ar_fit(s, 20, 1, &o, &r, &err), 0);
    assert_rel(r.params[0], 1.1, 1e-14);
    assert_rel(r.roots_mod[0], 1 / 1.1, 1e-14);
    assert_false(r.stationary);
    kl_ar_result_release(&r);
}

static void test_ar_constant_only_model_forecasts_the_mean(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_ar_result r;
    assert_int_equal(kl_ar_fit(small, 8, 0, NULL, &r, &err), 0);
    double mean = 0.0, ss = 0.0;
    for (size_t i = 0; i < 8; i++)
        mean += small[i] / 8.0;
    for (size_t i = 0; i < 8; i++)
        ss += (small[i] - mean) * (small[i] - mean);
    assert_rel(r.params[0], mean, 1e-14);
    assert_rel(r.sigma2, ss / 8.0, 1e-13);
    assert_rel(r.bse[0], sqrt(ss / 8.0 / 8.0), 1e-13);
    double f[4], v[4];
    assert_int_equal(kl_ar_forecast(&r, 4, NULL, 0, f, v, &err), 0);
    for (size_t i = 0; i < 4; i++) {
        assert_rel(f[i], mean, 1e-14);
        assert_rel(v[i], ss / 8.0, 1e-13);
    }
    kl_ar_result_release(&r);
}

/* ---- ACF, PACF, Ljung-Box, chi-square ---- */

static void test_ar_acf_and_bartlett_band_match_statsmodels(void **state)
{
    (void)state;
    kl_err err = {0};
    double acf[5], band[5];
    assert_int_equal(kl_ar_acf(small, 8, 4, acf, band, &err), 0);
    static const double want[5] = {1.0, 0.125, 0.472222222222, -0.236111111111, 0.055555555556};
    for (size_t j = 0; j < 5; j++)
        assert_abs(acf[j], want[j], 1e-12);
    assert_abs(band[0], 0.0, 0.0);
    assert_rel(band[1], 1.959963984540054 / sqrt(8.0), 1e-15);
    assert_rel(band[2], 1.959963984540054 * sqrt((1 + 2 * 0.125 * 0.125) / 8.0), 1e-12);
    size_t n;
    double *y = sunspots(&n);
    static const double sun[6] = {1.0,           0.82020129442,   0.45126849201,
                                  0.03957655157, -0.275791961118, -0.425239430824};
    double a6[6];
    assert_int_equal(kl_ar_acf(y, n, 5, a6, NULL, &err), 0);
    for (size_t j = 0; j < 6; j++)
        assert_abs(a6[j], sun[j], 1e-11);
    /* statsmodels acf(alpha=0.05): upper confidence limit minus acf */
    static const double band_want[5] = {0.0, 0.11149845545382864, 0.17075872246202173,
                                        0.1849915907574765, 0.18509682040422273};
    double b6[6];
    assert_int_equal(kl_ar_acf(y, n, 5, a6, b6, &err), 0);
    for (size_t j = 0; j < 5; j++)
        assert_abs(b6[j], band_want[j], 1e-12);
    free(y);
}

static void test_ar_pacf_yule_walker_variants_match_statsmodels(void **state)
{
    (void)state;
    kl_err err = {0};
    double p[4];
    assert_int_equal(kl_ar_pacf(small, 8, 3, KL_AR_PACF_YW, p, &err), 0);
    assert_abs(p[1], 0.142857142857, 1e-11);
    assert_abs(p[2], 0.621913580247, 1e-11);
    assert_abs(p[3], -0.833399483485, 1e-11);
    assert_int_equal(kl_ar_pacf(small, 8, 3, KL_AR_PACF_YWM, p, &err), 0);
    assert_abs(p[1], 0.125, 1e-12);
    assert_abs(p[2], 0.463844797178, 1e-11);
    assert_abs(p[3], -0.421623335447, 1e-11);
    size_t n;
    double *y = sunspots(&n);
    static const double sun[6] = {
        1.0, 0.822864285636, -0.690310216495, -0.140572128341, 0.056080402511, 0.004900772698};
    double p6[6];
    assert_int_equal(kl_ar_pacf(y, n, 5, KL_AR_PACF_YW, p6, &err), 0);
    for (size_t j = 0; j < 6; j++)
        assert_abs(p6[j], sun[j], 1e-11);
    free(y);
}

static void test_ar_ljung_box_on_worked_example_residuals(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_ar_result r;
    assert_int_equal(kl_ar_fit(small, 8, 1, NULL, &r, &err), 0);
    double q[3], pv[3];
    assert_int_equal(kl_ar_ljung_box(r.resid, r.nobs, 3, r.k, q, pv, &err), 0);
    assert_rel(q[0], 1.2834883260783594, 1e-10);
    assert_rel(q[1], 4.6420953700039655, 1e-10);
    assert_rel(q[2], 7.409464038385448, 1e-10);
    assert_true(isnan(pv[0]) && isnan(pv[1]));
    assert_rel(pv[2], 0.006488164925724546, 1e-9);
    kl_ar_result_release(&r);
}

static void test_chi2_sf_matches_closed_forms_and_tables(void **state)
{
    (void)state;
    /* df 2: exp(-x/2); df 1: erfc(sqrt(x/2)) */
    for (double x = 0.01; x < 80; x *= 1.7) {
        assert_rel(kl_chi2_sf(x, 2.0), exp(-x / 2.0), 1e-13);
        assert_rel(kl_chi2_sf(x, 1.0), erfc(sqrt(x / 2.0)), 1e-12);
    }
    /* 5% critical values of published chi-square tables */
    assert_rel(kl_chi2_sf(3.841458820694124, 1), 0.05, 1e-12);
    assert_rel(kl_chi2_sf(18.307038053275146, 10), 0.05, 1e-12);
    assert_rel(kl_chi2_sf(124.34211340400407, 100), 0.05, 1e-12);
    /* SciPy 1.10 chi2.sf */
    assert_rel(kl_chi2_sf(0.5, 1), 0.47950012218695337, 1e-13);
    assert_rel(kl_chi2_sf(3.0, 7), 0.8850022316431506, 1e-13);
    assert_rel(kl_chi2_sf(25.0, 10), 0.005345505487134069, 1e-12);
    assert_rel(kl_chi2_sf(214.106992, 10), 1.8273737132666906e-40, 1e-9);
    assert_rel(kl_chi2_sf(150.0, 120), 0.03307348091130466, 1e-12);
    assert_rel(kl_chi2_sf(1e-3, 3), 0.9999915920809419, 1e-14);
    assert_abs(kl_chi2_sf(0.0, 3), 1.0, 0.0);
}

static void test_ar_normal_quantile_matches_published_values(void **state)
{
    (void)state;
    assert_rel(kl_ar_normal_quantile(0.975), KL_AR_Z95, 1e-15);
    assert_rel(kl_ar_normal_quantile(0.95), 1.6448536269514722, 1e-15);
    assert_rel(kl_ar_normal_quantile(0.005), -2.575829303548901, 1e-15);
    assert_rel(kl_ar_normal_quantile(1e-10), -6.361340902404056, 1e-14);
    assert_abs(kl_ar_normal_quantile(0.5), 0.0, 0.0);
    assert_true(isnan(kl_ar_normal_quantile(1.0)));
    assert_true(isnan(kl_chi2_sf(1.0, 0.0)));
}

/* ---- backtests ---- */

static void test_ar_backtest_of_exact_recurrence_has_zero_error(void **state)
{
    (void)state;
    double s[40] = {1, 2};
    for (size_t t = 2; t < 40; t++)
        s[t] = 0.9 * s[t - 1] - 0.2 * s[t - 2];
    kl_err err = {0};
    kl_ar_opts o = {.trend = KL_AR_TREND_N};
    double mae[3], rmse[3];
    assert_int_equal(kl_ar_backtest(s, 40, 2, &o, 5, 3, 2, mae, rmse, &err), 0);
    for (size_t h = 0; h < 3; h++) {
        assert_true(mae[h] < 1e-12);
        assert_true(rmse[h] < 1e-12);
    }
}

static void test_ar_backtest_is_bit_identical_on_1_and_2_threads(void **state)
{
    (void)state;
    size_t n;
    double *y = sunspots(&n);
    kl_err err = {0};
    double m1[4], r1[4], m2[4], r2[4];
    kl_threads_set(1);
    assert_int_equal(kl_ar_backtest(y, n, 9, NULL, 30, 4, 2, m1, r1, &err), 0);
    kl_threads_set(2);
    assert_int_equal(kl_ar_backtest(y, n, 9, NULL, 30, 4, 2, m2, r2, &err), 0);
    kl_threads_set(0);
    assert_memory_equal(m1, m2, sizeof m1);
    assert_memory_equal(r1, r2, sizeof r1);
    /* errors grow with the horizon on sunspots */
    assert_true(r1[0] < r1[3]);
    free(y);
}

static void test_ar_backtest_of_mean_model_is_hand_computable(void **state)
{
    (void)state;
    /* AR(0) with a constant forecasts the mean of the training window. */
    kl_err err = {0};
    double mae[2], rmse[2];
    assert_int_equal(kl_ar_backtest(small, 8, 0, NULL, 3, 2, 1, mae, rmse, &err), 0);
    double sa[2] = {0}, ss[2] = {0};
    for (size_t f = 0; f < 3; f++) {
        size_t origin = 8 - 2 - (2 - f);
        double m = 0.0;
        for (size_t i = 0; i < origin; i++)
            m += small[i];
        m /= (double)origin;
        for (size_t h = 0; h < 2; h++) {
            double e = small[origin + h] - m;
            sa[h] += fabs(e);
            ss[h] += e * e;
        }
    }
    for (size_t h = 0; h < 2; h++) {
        assert_rel(mae[h], sa[h] / 3.0, 1e-14);
        assert_rel(rmse[h], sqrt(ss[h] / 3.0), 1e-14);
    }
    assert_int_equal(kl_ar_backtest(small, 8, 0, NULL, 7, 2, 1, mae, rmse, &err), KL_ERANGE);
}

/* ---- bad input ---- */

static void test_ar_bad_inputs_give_clear_errors(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_ar_result r;
    assert_int_equal(kl_ar_fit(small, 3, 3, NULL, &r, &err), KL_ERANGE);
    assert_non_null(strstr(err.msg, "series too short"));
    assert_null(r.params);
    /* p = 4 leaves 4 observations for 5 regressors */
    assert_int_equal(kl_ar_fit(small, 8, 4, NULL, &r, &err), KL_ERANGE);
    double gap[8];
    memcpy(gap, small, sizeof gap);
    gap[4] = NAN;
    assert_int_equal(kl_ar_fit(gap, 8, 1, NULL, &r, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "row 5"));
    const double flat[6] = {2, 2, 2, 2, 2, 2};
    assert_int_equal(kl_ar_fit(flat, 6, 1, NULL, &r, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "rank deficient"));
    kl_ar_opts o = {.hold_back = 1};
    assert_int_equal(kl_ar_fit(small, 8, 2, &o, &r, &err), KL_ERANGE);
    double acf[3];
    assert_int_equal(kl_ar_acf(flat, 6, 2, acf, NULL, &err), KL_EINVAL);
    assert_int_equal(kl_ar_acf(small, 8, 8, acf, NULL, &err), KL_ERANGE);
    const double boom[1] = {1.5};
    double out[3000];
    assert_int_equal(kl_ar_simulate(boom, 1, 0, 1, 1, 0, 3000, out, &err), KL_ERANGE);
}

static void test_ar_frame_series_trims_ends_and_refuses_gaps(void **state)
{
    (void)state;
    const char csv[] = "t,v,name\n1,,a\n2,1.5,b\n3,2.5,c\n4,,d\n";
    const char gap[] = "t,v\n1,1\n2,\n3,3\n";
    kl_err err = {0};
    kl_frame *f = NULL;
    assert_int_equal(kl_csv_read_buffer(csv, sizeof csv - 1, "x.csv", NULL, &f, NULL, &err), 0);
    double *y = NULL;
    size_t n = 0, first = 0;
    assert_int_equal(kl_ar_frame_series(f, "v", &y, &n, &first, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(first, 1);
    assert_rel(y[0], 1.5, 0);
    assert_rel(y[1], 2.5, 0);
    free(y);
    assert_int_equal(kl_ar_frame_series(f, "vv", &y, &n, NULL, &err), KL_ENOTFOUND);
    assert_string_equal(err.msg, "no column named 'vv'; did you mean 'v'?");
    assert_int_equal(kl_ar_frame_series(f, "zzzzzz", &y, &n, NULL, &err), KL_ENOTFOUND);
    assert_string_equal(err.msg, "no column named 'zzzzzz'");
    assert_int_equal(kl_ar_frame_series(f, "name", &y, &n, NULL, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "not numeric"));
    kl_frame_free(f);
    assert_int_equal(kl_csv_read_buffer(gap, sizeof gap - 1, "g.csv", NULL, &f, NULL, &err), 0);
    assert_int_equal(kl_ar_frame_series(f, "v", &y, &n, NULL, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "missing value at data row 2"));
    assert_null(y);
    kl_frame_free(f);
}

/* ---- the kl_model adapter ---- */

static kl_frame *sunspots_frame(void)
{
    kl_err err = {0};
    kl_frame *f = NULL;
    assert_int_equal(kl_csv_read_file(KEEL_SOURCE_DIR "/data/sunspots.csv", NULL, &f, NULL, &err),
                     0);
    return f;
}

static kl_model *fit_model(const kl_frame *f, const kl_model_param *params, size_t n)
{
    kl_err err = {0};
    if (!kl_algo_find("ar"))
        assert_int_equal(kl_algo_register(&kl_algo_ar, &err), 0);
    kl_model_fit_opts o = {.algo = "ar",
                           .task = KL_TASK_FORECAST,
                           .target = "sunactivity",
                           .params = params,
                           .n_params = n};
    kl_model *m = NULL;
    if (kl_model_fit(f, &o, &m, &err) < 0)
        fail_msg("kl_model_fit: %s", err.msg);
    return m;
}

static void test_ar_model_fits_forecasts_and_describes_like_the_api(void **state)
{
    (void)state;
    kl_frame *f = sunspots_frame();
    const kl_model_param params[] = {{"lags", "2"}};
    kl_model *m = fit_model(f, params, 1);
    kl_err err = {0};
    double mean[3], lo[3], hi[3];
    assert_int_equal(kl_model_forecast(m, 3, NULL, 0.95, mean, lo, hi, &err), 0);
    static const double want[3] = {13.766231595466, 32.065229622341, 50.033053478908};
    static const double var[3] = {275.436319648663, 808.990032110546, 1237.182595715092};
    for (size_t i = 0; i < 3; i++) {
        assert_rel(mean[i], want[i], 1e-9);
        assert_rel(hi[i] - mean[i], KL_AR_Z95 * sqrt(var[i]), 1e-9);
        assert_rel(mean[i] - lo[i], KL_AR_Z95 * sqrt(var[i]), 1e-9);
    }
    json_t *d = kl_model_describe(m);
    assert_non_null(d);
    json_t *c = json_object_get(d, "coefficients");
    assert_rel(json_real_value(json_object_get(c, "const")), 14.907148336569, 1e-9);
    assert_rel(json_real_value(json_object_get(c, "k1")), 1.391805247789, 1e-9);
    assert_rel(json_real_value(json_object_get(c, "k2")), -0.690286927959, 1e-9);
    assert_null(json_object_get(c, "year")); /* exog=false: the year column is not a regressor */
    assert_rel(json_real_value(json_object_get(d, "aic")), 2604.06369175543, 1e-11);
    json_decref(d);
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_ar_model_save_load_forecasts_bit_identically(void **state)
{
    (void)state;
    kl_frame *f = sunspots_frame();
    const kl_model_param params[] = {{"lags", "3"}, {"trend", "ct"}};
    kl_model *m = fit_model(f, params, 2);
    kl_err err = {0};
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(kl_model_save_buffer(m, &buf, &len, &err), 0);
    kl_model *back = NULL;
    assert_int_equal(kl_model_load_buffer(buf, len, &back, &err), 0);
    double a[5], b[5], alo[5], blo[5];
    assert_int_equal(kl_model_forecast(m, 5, NULL, 0.8, a, alo, NULL, &err), 0);
    assert_int_equal(kl_model_forecast(back, 5, NULL, 0.8, b, blo, NULL, &err), 0);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_equal(alo, blo, sizeof alo);
    uint8_t *again = NULL;
    size_t len2 = 0;
    assert_int_equal(kl_model_save_buffer(back, &again, &len2, &err), 0);
    assert_int_equal(len, len2);
    assert_memory_equal(buf, again, len);
    /* Every truncation is refused cleanly. */
    for (size_t cut = 0; cut < len; cut += 7) {
        kl_model *bad = NULL;
        assert_true(kl_model_load_buffer(buf, cut, &bad, &err) < 0);
        assert_null(bad);
    }
    free(again);
    free(buf);
    kl_model_free(back);
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_ar_model_select_param_picks_9_lags_on_sunspots(void **state)
{
    (void)state;
    kl_frame *f = sunspots_frame();
    const kl_model_param params[] = {{"lags", "12"}, {"select", "aic"}};
    kl_model *m = fit_model(f, params, 2);
    json_t *d = kl_model_describe(m);
    assert_int_equal(json_integer_value(json_object_get(d, "lags")), 9);
    assert_int_equal(json_integer_value(json_object_get(d, "nobs")), 300);
    json_decref(d);
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_ar_payload_loader_refuses_damaged_bytes(void **state)
{
    (void)state;
    size_t n;
    double *y = sunspots(&n);
    kl_err err = {0};
    kl_ar_result r;
    kl_ar_opts o = {.trend = KL_AR_TREND_CT};
    assert_int_equal(kl_ar_fit(y, n, 3, &o, &r, &err), 0);
    kl_wbuf w;
    kl_wbuf_init(&w);
    assert_int_equal(kl_algo_ar.save(&r, &w), 0);
    /* The whole payload loads back and forecasts the same bits. */
    kl_rbuf rb;
    void *st = NULL;
    kl_rbuf_init(&rb, w.data, w.len);
    assert_int_equal(kl_algo_ar.load(&rb, NULL, &st, &err), 0);
    assert_true(kl_rbuf_done(&rb));
    double a[4], b[4];
    assert_int_equal(kl_ar_forecast(&r, 4, NULL, 0, a, NULL, &err), 0);
    assert_int_equal(kl_ar_forecast(st, 4, NULL, 0, b, NULL, &err), 0);
    assert_memory_equal(a, b, sizeof a);
    kl_algo_ar.free(st);
    /* Every truncation fails cleanly; so do absurd counts in the header. */
    for (size_t cut = 0; cut < w.len; cut++) {
        st = NULL;
        kl_rbuf_init(&rb, w.data, cut);
        int rc = kl_algo_ar.load(&rb, NULL, &st, &err);
        if (rc == 0) {
            assert_false(kl_rbuf_done(&rb)); /* the model file rejects leftover or missing bytes */
            kl_algo_ar.free(st);
        } else {
            assert_int_equal(rc, KL_ECORRUPT);
        }
    }
    uint8_t *bad = malloc(w.len);
    for (size_t at = 0; at < 16; at++) {
        memcpy(bad, w.data, w.len);
        bad[at] = 0xff;
        st = NULL;
        kl_rbuf_init(&rb, bad, w.len);
        int rc = kl_algo_ar.load(&rb, NULL, &st, &err);
        if (rc == 0)
            kl_algo_ar.free(st);
        else
            assert_int_equal(rc, KL_ECORRUPT);
    }
    free(bad);
    kl_wbuf_release(&w);
    kl_ar_result_release(&r);
    free(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ar_worked_example_matches_statsmodels),
        cmocka_unit_test(test_ar_trend_n_ar2_matches_statsmodels),
        cmocka_unit_test(test_ar_trend_n_ar1_is_the_hand_solved_ratio),
        cmocka_unit_test(test_ar_trend_n_recovers_an_exact_recurrence),
        cmocka_unit_test(test_ar_sunspots_ar2_matches_statsmodels),
        cmocka_unit_test(test_ar_select_picks_9_lags_on_sunspots_with_every_criterion),
        cmocka_unit_test(test_ar_select_uses_the_common_sample),
        cmocka_unit_test(test_ar_select_with_trends_n_and_ct_matches_statsmodels),
        cmocka_unit_test(test_ar_hold_back_matches_statsmodels),
        cmocka_unit_test(test_ar_sunspots_ar9_with_trend_ct_matches_statsmodels),
        cmocka_unit_test(test_ar_arx_with_an_exog_column_matches_statsmodels),
        cmocka_unit_test(test_ar_simulate_then_fit_recovers_k_on_100k_points),
        cmocka_unit_test(test_ar_fit_is_bit_identical_on_1_and_2_threads),
        cmocka_unit_test(test_ar_simulate_is_reproducible_and_follows_the_recursion),
        cmocka_unit_test(test_ar_roots_of_known_polynomials),
        cmocka_unit_test(test_ar_explosive_series_is_flagged_not_stationary),
        cmocka_unit_test(test_ar_constant_only_model_forecasts_the_mean),
        cmocka_unit_test(test_ar_acf_and_bartlett_band_match_statsmodels),
        cmocka_unit_test(test_ar_pacf_yule_walker_variants_match_statsmodels),
        cmocka_unit_test(test_ar_ljung_box_on_worked_example_residuals),
        cmocka_unit_test(test_chi2_sf_matches_closed_forms_and_tables),
        cmocka_unit_test(test_ar_normal_quantile_matches_published_values),
        cmocka_unit_test(test_ar_backtest_of_exact_recurrence_has_zero_error),
        cmocka_unit_test(test_ar_backtest_is_bit_identical_on_1_and_2_threads),
        cmocka_unit_test(test_ar_backtest_of_mean_model_is_hand_computable),
        cmocka_unit_test(test_ar_bad_inputs_give_clear_errors),
        cmocka_unit_test(test_ar_frame_series_trims_ends_and_refuses_gaps),
        cmocka_unit_test(test_ar_model_fits_forecasts_and_describes_like_the_api),
        cmocka_unit_test(test_ar_model_save_load_forecasts_bit_identically),
        cmocka_unit_test(test_ar_model_select_param_picks_9_lags_on_sunspots),
        cmocka_unit_test(test_ar_payload_loader_refuses_damaged_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
