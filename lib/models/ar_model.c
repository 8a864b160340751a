/*
 * The AR lab behind the kl_model interface (`--algo ar`, task forecast).
 *
 * The training target, in row order after the pipeline's warm-up rows, is
 * the series; with exog=true the pipeline's output columns become ARX
 * regressors (contemporaneous, after the lags), otherwise they are ignored so
 * that a year or date column next to the series does not sneak into the
 * model. Forecasts continue the training series: `forecast` gives h steps
 * with intervals at any level, and `predict` on n rows gives the n steps
 * after the series, the rows supplying the future exog values (so a call
 * must cover all the future rows at once: kl_model_predict, which cuts
 * frames into blocks of KL_MODEL_BLOCK_ROWS, is right for up to that many
 * rows; kl_model_forecast has no such limit). Parameters:
 * lags (P, or the largest order tried when select is set), trend (c, n, ct),
 * select (none, aic, bic, hqic: order chosen on a common sample as in
 * statsmodels' ar_select_order, then refitted on the full series) and exog.
 *
 * Payload (after the model file's common header, little-endian):
 *   u32 p, u32 trend (0 c, 1 n, 2 ct), u32 n_exog, u32 zero
 *   u64 n (series length), u64 hold_back, u64 nobs
 *   f64 params[k], f64 bse[k], f64 cov[k*k]   with k = terms(trend) + p + n_exog
 *   f64 ssr, sigma2, llf, aic, bic, hqic
 *   f64 tail[p]                                the last p values of the series
 * Roots and stationarity are recomputed on load from the parameters (the
 * same LAPACK call on the same bits), residuals are not kept.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keel/ar.h"
#include "keel/model.h"
#include "core/common.h"

static const kl_algo_param ar_params[] = {
    {"lags", KL_ALGO_PARAM_KIND_INT, "1", 0, 10000, 0, NULL},
    {"trend", KL_ALGO_PARAM_KIND_CHOICE, "c", 0, 0, 0, "c,n,ct"},
    {"select", KL_ALGO_PARAM_KIND_CHOICE, "none", 0, 0, 0, "none,aic,bic,hqic"},
    {"exog", KL_ALGO_PARAM_KIND_BOOL, "false", 0, 0, 0, NULL},
};

/* Parameter slots, in table order. */
enum { PV_LAGS, PV_TREND, PV_SELECT, PV_EXOG };

/* Choice index of "trend" -> enum kl_ar_trend (same order: c, n, ct). */
static enum kl_ar_trend pv_trend(double v)
{
    return v == 1.0 ? KL_AR_TREND_N : v == 2.0 ? KL_AR_TREND_CT : KL_AR_TREND_C;
}

static int ar_fit(const kl_model_data *d, const double *pv, void **state, kl_err *err)
{
    kl_ar_result *r = calloc(1, sizeof *r);
    if (!r)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    kl_ar_opts o = {.trend = pv_trend(pv[PV_TREND])};
    if (pv[PV_EXOG] != 0.0 && d->p) {
        o.exog = d->X;
        o.n_exog = d->p;
        o.exog_ld = d->ld;
    }
    size_t p = (size_t)pv[PV_LAGS];
    int rc = 0;
    if (pv[PV_SELECT] != 0.0)
        rc =
            kl_ar_select(d->y, d->n, p, (enum kl_ar_ic)((int)pv[PV_SELECT] - 1), &o, &p, NULL, err);
    if (rc == 0)
        rc = kl_ar_fit(d->y, d->n, p, &o, r, err);
    if (rc < 0) {
        free(r);
        return rc;
    }
    *state = r;
    return 0;
}

static void ar_free(void *state)
{
    kl_ar_result *r = state;
    kl_ar_result_release(r);
    free(r);
}

static int ar_forecast(const void *state, size_t h, const double *x_future, size_t ld, double level,
                       double *mean, double *lower, double *upper, kl_err *err)
{
    const kl_ar_result *r = state;
    if ((lower || upper) && !(level > 0.0 && level < 1.0))
        return kl_err_set(err, KL_EINVAL, "interval level must be between 0 and 1, not %g", level);
    double *var = NULL;
    if (lower || upper) {
        var = malloc((h ? h : 1) * sizeof(double));
        if (!var)
            return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    int rc = kl_ar_forecast(r, h, r->n_exog ? x_future : NULL, ld, mean, var, err);
    if (rc == 0 && var) {
        double z = kl_ar_normal_quantile(0.5 + level / 2.0);
        for (size_t i = 0; i < h; i++) {
            double half = z * sqrt(var[i]);
            if (lower)
                lower[i] = mean[i] - half;
            if (upper)
                upper[i] = mean[i] + half;
        }
    }
    free(var);
    return rc;
}

/* The n steps after the training series; the rows carry their exog values. */
static int ar_predict(const void *state, const double *X, size_t n, size_t ld, double *out,
                      kl_err *err)
{
    const kl_ar_result *r = state;
    return kl_ar_forecast(r, n, r->n_exog ? X : NULL, ld, out, NULL, err);
}

static int ar_save(const void *state, kl_wbuf *w)
{
    const kl_ar_result *r = state;
    kl_wbuf_u32(w, (uint32_t)r->p);
    kl_wbuf_u32(w, (uint32_t)r->trend);
    kl_wbuf_u32(w, (uint32_t)r->n_exog);
    kl_wbuf_u32(w, 0);
    kl_wbuf_u64(w, r->n);
    kl_wbuf_u64(w, r->hold_back);
    kl_wbuf_u64(w, r->nobs);
    kl_wbuf_f64s(w, r->params, r->k);
    kl_wbuf_f64s(w, r->bse, r->k);
    kl_wbuf_f64s(w, r->cov, r->k * r->k);
    kl_wbuf_f64(w, r->ssr);
    kl_wbuf_f64(w, r->sigma2);
    kl_wbuf_f64(w, r->llf);
    kl_wbuf_f64(w, r->aic);
    kl_wbuf_f64(w, r->bic);
    kl_wbuf_f64(w, r->hqic);
    kl_wbuf_f64s(w, r->tail, r->p);
    return w->ok ? 0 : KL_ENOMEM;
}

static int ar_load(kl_rbuf *rb, const double *pv, void **state, kl_err *err)
{
    (void)pv;
    uint32_t p = kl_rbuf_u32(rb), trend = kl_rbuf_u32(rb), n_exog = kl_rbuf_u32(rb);
    uint32_t zero = kl_rbuf_u32(rb);
    uint64_t n = kl_rbuf_u64(rb), hold_back = kl_rbuf_u64(rb), nobs = kl_rbuf_u64(rb);
    if (!rb->ok || zero != 0 || trend > KL_AR_TREND_CT || p > 100000 || n_exog > 100000)
        return kl_err_set(err, KL_ECORRUPT, "bad AR payload");
    size_t k = kl_ar_trend_terms((enum kl_ar_trend)trend) + p + n_exog;
    /* Everything still to read must fit in the bytes left, before anything is allocated. */
    uint64_t need = ((uint64_t)k * (k + 2) + 6 + p) * 8;
    if (need > rb->len - rb->pos || hold_back < p || n < hold_back || nobs != n - hold_back ||
        nobs < k)
        return kl_err_set(err, KL_ECORRUPT, "bad AR payload");
    kl_ar_result *r = calloc(1, sizeof *r);
    if (!r)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    r->trend = (enum kl_ar_trend)trend;
    r->p = p;
    r->n_det = kl_ar_trend_terms(r->trend);
    r->n_exog = n_exog;
    r->k = k;
    r->n = n;
    r->hold_back = hold_back;
    r->nobs = nobs;
    r->params = malloc((k ? k : 1) * sizeof(double));
    r->bse = malloc((k ? k : 1) * sizeof(double));
    r->cov = malloc((k ? k * k : 1) * sizeof(double));
    r->tail = malloc((p ? p : 1) * sizeof(double));
    r->roots_re = malloc((p ? p : 1) * sizeof(double));
    r->roots_im = malloc((p ? p : 1) * sizeof(double));
    r->roots_mod = malloc((p ? p : 1) * sizeof(double));
    int rc = 0;
    if (!r->params || !r->bse || !r->cov || !r->tail || !r->roots_re || !r->roots_im ||
        !r->roots_mod) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto fail;
    }
    kl_rbuf_f64s(rb, r->params, k);
    kl_rbuf_f64s(rb, r->bse, k);
    kl_rbuf_f64s(rb, r->cov, k * k);
    r->ssr = kl_rbuf_f64(rb);
    r->sigma2 = kl_rbuf_f64(rb);
    r->llf = kl_rbuf_f64(rb);
    r->aic = kl_rbuf_f64(rb);
    r->bic = kl_rbuf_f64(rb);
    r->hqic = kl_rbuf_f64(rb);
    kl_rbuf_f64s(rb, r->tail, p);
    int finite = isfinite(r->sigma2) && r->sigma2 >= 0.0;
    for (size_t i = 0; i < k; i++)
        finite &= isfinite(r->params[i]);
    for (size_t i = 0; i < p; i++)
        finite &= isfinite(r->tail[i]);
    if (!rb->ok || !finite) {
        rc = kl_err_set(err, KL_ECORRUPT, "bad AR payload");
        goto fail;
    }
    if ((rc = kl_ar_roots(r->params + r->n_det, p, r->roots_re, r->roots_im, r->roots_mod, err)) <
        0)
        goto fail;
    r->stationary = 1;
    for (size_t i = 0; i < p; i++)
        if (!(r->roots_mod[i] > 1.0))
            r->stationary = 0;
    *state = r;
    return 0;
fail:
    ar_free(r);
    return rc;
}

static int ar_describe(const void *state, const char *const *feature_names,
                       const char *const *class_names, struct json_t *obj)
{
    (void)class_names;
    const kl_ar_result *r = state;
    json_t *coef = json_object(), *roots = json_array();
    char name[32];
    for (size_t i = 0; i < r->k; i++) {
        const char *key = name;
        if (i < r->n_det)
            key = i == 0 ? "const" : "trend";
        else if (i < r->n_det + r->p)
            snprintf(name, sizeof name, "k%zu", i - r->n_det + 1);
        else
            key = feature_names ? feature_names[i - r->n_det - r->p] : "exog";
        json_object_set_new(coef, key, json_real(r->params[i]));
    }
    for (size_t i = 0; i < r->p; i++)
        json_array_append_new(roots,
                              isinf(r->roots_mod[i]) ? json_null() : json_real(r->roots_mod[i]));
    json_object_set_new(obj, "lags", json_integer((json_int_t)r->p));
    json_object_set_new(obj, "trend", json_string(kl_ar_trend_name(r->trend)));
    json_object_set_new(obj, "coefficients", coef);
    json_object_set_new(obj, "sigma2", json_real(r->sigma2));
    json_object_set_new(obj, "llf", json_real(r->llf));
    json_object_set_new(obj, "aic", json_real(r->aic));
    json_object_set_new(obj, "bic", json_real(r->bic));
    json_object_set_new(obj, "hqic", json_real(r->hqic));
    json_object_set_new(obj, "nobs", json_integer((json_int_t)r->nobs));
    json_object_set_new(obj, "roots_modulus", roots);
    json_object_set_new(obj, "stationary", json_boolean(r->stationary));
    return 0;
}

const kl_algo kl_algo_ar = {
    .name = "ar",
    .tasks = 1u << KL_TASK_FORECAST,
    .pipeline_defaults = KL_PIPELINE_DEFAULTS_PLAIN,
    .params = ar_params,
    .n_params = KL_ARRAY_LEN(ar_params),
    .fit = ar_fit,
    .predict = ar_predict,
    .save = ar_save,
    .load = ar_load,
    .free = ar_free,
    .describe = ar_describe,
    .linear_coef = NULL,
    .forecast = ar_forecast,
};
