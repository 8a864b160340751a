/*
 * keel ar fit|acf|simulate|backtest: the autoregressive lab on a column of a
 * CSV file. The numbers come from lib/models/ar*.c (include/keel/ar.h); this
 * file reads the series, calls the library and prints.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keel/ar.h"
#include "keel/csv.h"
#include "keel/frame.h"
#include "keel.h"
#include "core/common.h"

static const char *const trend_choices[] = {"c", "n", "ct", NULL};
static const char *const ic_choices[] = {"aic", "bic", "hqic", NULL};
static const char *const method_choices[] = {"yw", "ywm", NULL};

/* ---- reading the series ---- */

/* The series (and exog columns, column after column, over all rows) of a CSV file. */
struct series {
    kl_frame *frame;
    double *y;       /* n values: the column without leading/trailing missing values */
    size_t n, first; /* first: the frame row of y[0] */
    double *exog;    /* n_exog columns of n_rows values (from row first on), or NULL */
    size_t n_exog, n_rows;
    char path[4096];
};

static void series_release(struct series *s)
{
    kl_frame_free(s->frame);
    free(s->y);
    free(s->exog);
    memset(s, 0, sizeof *s);
}

/* Split a comma list into at most max words (pointers into buf). */
static size_t split_list(char *buf, char **words, size_t max)
{
    size_t n = 0;
    for (char *p = buf; p && *p && n < max;) {
        char *c = strchr(p, ',');
        if (c)
            *c = '\0';
        words[n++] = p;
        p = c ? c + 1 : NULL;
    }
    return n;
}

static int read_series(const struct kl_cli *cli, const char *file, const char *column,
                       const char *exog_list, struct series *s)
{
    kl_err err = {0};
    memset(s, 0, sizeof *s);
    if (!column)
        return kl_cli_error(KL_EXIT_USAGE, "option '--column' is required; see 'keel %s --help'",
                            cli->path);
    kl_cli_path(cli, file, s->path, sizeof s->path);
    if (kl_csv_read_file(s->path, NULL, &s->frame, NULL, &err) < 0)
        return kl_cli_fail(&err);
    if (kl_ar_frame_series(s->frame, column, &s->y, &s->n, &s->first, &err) < 0) {
        if (!err.ctx[0])
            kl_err_ctx(&err, "%s", s->path);
        series_release(s);
        return kl_cli_fail(&err);
    }
    if (!exog_list)
        return KL_EXIT_OK;
    char buf[4096], *names[64];
    snprintf(buf, sizeof buf, "%s", exog_list);
    s->n_exog = split_list(buf, names, KL_ARRAY_LEN(names));
    s->n_rows = kl_frame_row_count(s->frame) - s->first;
    s->exog = malloc((s->n_exog ? s->n_exog : 1) * s->n_rows * sizeof(double));
    if (!s->exog) {
        series_release(s);
        return kl_cli_error(KL_EXIT_INPUT, "out of memory reading exog columns");
    }
    for (size_t j = 0; j < s->n_exog; j++) {
        long c = kl_frame_col_index(s->frame, names[j]);
        const double *v = c < 0 ? NULL : kl_frame_col_f64(s->frame, (size_t)c);
        if (!v) {
            int code = c < 0 ? KL_ENOTFOUND : KL_EINVAL;
            kl_err_set(&err, code,
                       c < 0 ? "no column named '%s'" : "exog column '%s' is not numeric",
                       names[j]);
            kl_err_ctx(&err, "--exog");
            series_release(s);
            return kl_cli_fail(&err);
        }
        memcpy(s->exog + j * s->n_rows, v + s->first, s->n_rows * sizeof(double));
    }
    return KL_EXIT_OK;
}

static int parse_double(const char *opt, const char *text, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v))
        return kl_cli_error(KL_EXIT_USAGE, "option '--%s' needs a number, not '%s'", opt, text);
    *out = v;
    return KL_EXIT_OK;
}

/* Coefficient names: const, trend, k1..kp, then the exog names. */
static void param_name(const kl_ar_result *r, size_t i, const char *exog_list, char *buf, size_t n)
{
    if (i < r->n_det) {
        snprintf(buf, n, "%s", i == 0 ? "const" : "trend");
        return;
    }
    i -= r->n_det;
    if (i < r->p) {
        snprintf(buf, n, "k%zu", i + 1);
        return;
    }
    i -= r->p;
    char tmp[4096], *names[64];
    snprintf(tmp, sizeof tmp, "%s", exog_list ? exog_list : "");
    size_t m = split_list(tmp, names, KL_ARRAY_LEN(names));
    snprintf(buf, n, "%s", i < m ? names[i] : "exog");
}

/* ---- keel ar fit ---- */

struct fit_args {
    const char *column, *trend, *ic, *exog, *level_text;
    double level, z; /* interval level and its two-sided normal quantile */
    long lags, max_lag, horizon, lb_lags;
    int json;
};

static json_t *fit_json(const struct series *s, const struct fit_args *a, const kl_ar_result *r,
                        const double *ic_values, size_t lb_h, const double *q, const double *pv,
                        size_t h, const double *mean, const double *var)
{
    json_t *o = json_object(), *params = json_object(), *bse = json_object(), *roots = json_array();
    char name[256];
    for (size_t i = 0; i < r->k; i++) {
        param_name(r, i, a->exog, name, sizeof name);
        json_object_set_new(params, name, json_real(r->params[i]));
        json_object_set_new(bse, name, json_real(r->bse[i]));
    }
    for (size_t i = 0; i < r->p; i++)
        json_array_append_new(roots, isinf(r->roots_mod[i])
                                         ? json_pack("{s:n, s:n, s:n}", "re", "im", "modulus")
                                         : json_pack("{s:f, s:f, s:f}", "re", r->roots_re[i], "im",
                                                     r->roots_im[i], "modulus", r->roots_mod[i]));
    json_object_set_new(o, "file", json_string(s->path));
    json_object_set_new(o, "column", json_string(a->column));
    json_object_set_new(o, "values", json_integer((json_int_t)r->n));
    json_object_set_new(o, "first_row", json_integer((json_int_t)s->first + 1));
    json_object_set_new(o, "lags", json_integer((json_int_t)r->p));
    json_object_set_new(o, "trend", json_string(kl_ar_trend_name(r->trend)));
    json_object_set_new(o, "hold_back", json_integer((json_int_t)r->hold_back));
    json_object_set_new(o, "nobs", json_integer((json_int_t)r->nobs));
    json_object_set_new(o, "params", params);
    json_object_set_new(o, "bse", bse);
    json_object_set_new(o, "sigma2", json_real(r->sigma2));
    json_object_set_new(o, "llf", json_real(r->llf));
    json_object_set_new(o, "aic", json_real(r->aic));
    json_object_set_new(o, "bic", json_real(r->bic));
    json_object_set_new(o, "hqic", json_real(r->hqic));
    json_object_set_new(o, "roots", roots);
    json_object_set_new(o, "stationary", json_boolean(r->stationary));
    if (ic_values) {
        json_t *v = json_array();
        for (long i = 0; i <= a->max_lag; i++)
            json_array_append_new(v, json_real(ic_values[i]));
        json_object_set_new(o, "selection",
                            json_pack("{s:s, s:i, s:i, s:o}", "ic", a->ic ? a->ic : "bic",
                                      "max_lag", (int)a->max_lag, "selected", (int)r->p, "values",
                                      v));
    }
    json_t *lq = json_array(), *lp = json_array();
    for (size_t j = 0; j < lb_h; j++) {
        json_array_append_new(lq, json_real(q[j]));
        json_array_append_new(lp, isnan(pv[j]) ? json_null() : json_real(pv[j]));
    }
    json_object_set_new(o, "ljung_box",
                        json_pack("{s:i, s:i, s:o, s:o}", "lags", (int)lb_h, "model_df", (int)r->k,
                                  "q", lq, "pvalue", lp));
    json_t *fc = json_array();
    for (size_t i = 0; i < h; i++) {
        double half = a->z * sqrt(var[i]);
        json_array_append_new(fc, json_pack("{s:i, s:f, s:f, s:f, s:f}", "step", (int)i + 1, "mean",
                                            mean[i], "var", var[i], "lower", mean[i] - half,
                                            "upper", mean[i] + half));
    }
    json_object_set_new(o, "level", json_real(a->level));
    json_object_set_new(o, "forecast", fc);
    return o;
}

static void fit_text(const struct series *s, const struct fit_args *a, const kl_ar_result *r,
                     const double *ic_values, size_t lb_h, const double *q, const double *pv,
                     size_t h, const double *mean, const double *var)
{
    if (ic_values) {
        printf("order selection by %s over 0..%ld lags (common sample of %zu observations):\n",
               a->ic ? a->ic : "bic", a->max_lag, s->n - (size_t)a->max_lag);
        for (long i = 0; i <= a->max_lag; i++)
            printf("  %2ld lags  %.4f%s\n", i, ic_values[i],
                   (size_t)i == r->p ? "  <- selected" : "");
        printf("\n");
    }
    printf("AR(%zu) with trend '%s' on column '%s' of '%s'\n", r->p, kl_ar_trend_name(r->trend),
           a->column, s->path);
    printf("%zu values, %zu held back, %zu observations fitted\n\n", r->n, r->hold_back, r->nobs);
    struct kl_table *t = kl_table_new(3);
    const char *head[] = {"term", "coef", "std err"};
    kl_table_add(t, head);
    kl_table_align_right(t, 1);
    kl_table_align_right(t, 2);
    for (size_t i = 0; i < r->k; i++) {
        char name[256], c[64], e[64];
        param_name(r, i, a->exog, name, sizeof name);
        snprintf(c, sizeof c, "%.6f", r->params[i]);
        snprintf(e, sizeof e, "%.6f", r->bse[i]);
        const char *row[] = {name, c, e};
        kl_table_add(t, row);
    }
    kl_table_print(t, stdout, 40);
    kl_table_free(t);
    printf("\nsigma2 %.6f  log-likelihood %.4f\naic %.4f  bic %.4f  hqic %.4f\n", r->sigma2, r->llf,
           r->aic, r->bic, r->hqic);
    if (r->p) {
        printf("roots of 1 - k1 z - ... - kp z^p, |z|:");
        for (size_t i = 0; i < r->p; i++)
            printf(" %.6f", r->roots_mod[i]);
        printf("\n%s\n", r->stationary ? "stationary (every root outside the unit circle)"
                                       : "NOT stationary: a root lies on or inside the unit "
                                         "circle; consider differencing the series");
    }
    if (lb_h) {
        printf("Ljung-Box on the residuals, %zu lags, model df %zu: Q %.4f", lb_h, r->k,
               q[lb_h - 1]);
        if (isnan(pv[lb_h - 1]))
            printf(" (no degrees of freedom left for a p-value: give --lb-lags above %zu)\n", r->k);
        else
            printf(", p-value %.4g\n", pv[lb_h - 1]);
    }
    if (h) {
        printf("\nforecast (%g%% prediction interval)\n", 100.0 * a->level);
        struct kl_table *f = kl_table_new(4);
        const char *fh[] = {"step", "mean", "lower", "upper"};
        kl_table_add(f, fh);
        for (size_t j = 0; j < 4; j++)
            kl_table_align_right(f, j);
        for (size_t i = 0; i < h; i++) {
            char st[32], m[64], lo[64], hi[64];
            double half = a->z * sqrt(var[i]);
            snprintf(st, sizeof st, "%zu", i + 1);
            snprintf(m, sizeof m, "%.6f", mean[i]);
            snprintf(lo, sizeof lo, "%.6f", mean[i] - half);
            snprintf(hi, sizeof hi, "%.6f", mean[i] + half);
            const char *row[] = {st, m, lo, hi};
            kl_table_add(f, row);
        }
        kl_table_print(f, stdout, 40);
        kl_table_free(f);
    }
}

/* Future exog values: the rows after the series whose exog values are all present. */
static int future_exog(const struct series *s, size_t h, double **out)
{
    *out = NULL;
    if (!s->n_exog || !h)
        return KL_EXIT_OK;
    size_t avail = s->n_rows - s->n;
    if (avail < h)
        return kl_cli_error(KL_EXIT_INPUT,
                            "forecasting %zu steps of an ARX model needs the exog values of the "
                            "%zu rows after the series (rows with the target empty); the file "
                            "has %zu",
                            h, h, avail);
    double *x = malloc(s->n_exog * h * sizeof(double));
    if (!x)
        return kl_cli_error(KL_EXIT_INPUT, "out of memory");
    for (size_t j = 0; j < s->n_exog; j++)
        for (size_t i = 0; i < h; i++) {
            x[j * h + i] = s->exog[j * s->n_rows + s->n + i];
            if (isnan(x[j * h + i])) {
                free(x);
                return kl_cli_error(KL_EXIT_INPUT,
                                    "exog value missing at data row %zu, needed for the forecast",
                                    s->first + s->n + i + 1);
            }
        }
    *out = x;
    return KL_EXIT_OK;
}

static int cmd_ar_fit(struct kl_cli *cli, int argc, char **argv)
{
    struct fit_args a = {.lags = -1, .max_lag = -1, .horizon = 0, .lb_lags = -1};
    const struct kl_opt opts[] = {
        KL_OPT_STRING_("column", 'c', "C", &a.column, "the numeric column holding the series"),
        KL_OPT_INT_("lags", 'p', "P", &a.lags, 0, 10000, "fit AR(P)"),
        KL_OPT_INT_("max-lag", 0, "M", &a.max_lag, 0, 10000,
                    "choose P in 0..M by --ic on a common sample"),
        KL_OPT_CHOICE_("ic", 0, NULL, &a.ic, ic_choices, "criterion for --max-lag (default: bic)"),
        KL_OPT_CHOICE_("trend", 't', NULL, &a.trend, trend_choices,
                       "c: constant (default), n: none (the lab form), ct: constant and trend"),
        KL_OPT_STRING_("exog", 0, "A,B", &a.exog, "exogenous columns, after the lags (ARX)"),
        KL_OPT_INT_("horizon", 'H', "H", &a.horizon, 0, 1000000,
                    "forecast H steps with prediction intervals (default: 0)"),
        KL_OPT_STRING_("level", 0, "L", &a.level_text,
                       "prediction interval level, 0 < L < 1 (default: 0.95)"),
        KL_OPT_INT_("lb-lags", 0, "N", &a.lb_lags, 0, 10000,
                    "Ljung-Box lags (default: min(10, observations / 5))"),
        KL_OPT_JSON_(&a.json),
        KL_OPT_END_};
    const struct kl_usage u = {
        "[options] FILE --column C (--lags P | --max-lag M)",
        "Fit an autoregressive model y(t) = c + k1 y(t-1) + ... + kp y(t-p) to a\n"
        "column of a CSV file by conditional least squares (QR), as statsmodels'\n"
        "AutoReg does: the first P values are held back. Prints the coefficients\n"
        "with standard errors, sigma2, log-likelihood, AIC/BIC/HQIC, the roots of\n"
        "the characteristic polynomial (stationary when all lie outside the unit\n"
        "circle), a Ljung-Box test on the residuals and, with --horizon, recursive\n"
        "forecasts with prediction intervals. --trend n fits exactly the lab\n"
        "form s(n) = k1 s(n-1) + ... + kp s(n-p). Leading and trailing empty cells\n"
        "are dropped; an empty cell inside the series is an error. With --exog,\n"
        "forecasts take the exog values of the rows after the series.",
        opts, 1, 1};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    if ((a.lags < 0) == (a.max_lag < 0))
        return kl_cli_error(KL_EXIT_USAGE, "give exactly one of '--lags' and '--max-lag'");
    if (a.ic && a.max_lag < 0)
        return kl_cli_error(KL_EXIT_USAGE, "option '--ic' needs '--max-lag'");
    a.level = 0.95;
    if (a.level_text && (rc = parse_double("level", a.level_text, &a.level)) != KL_EXIT_OK)
        return rc;
    if (!(a.level > 0.0 && a.level < 1.0))
        return kl_cli_error(KL_EXIT_USAGE, "option '--level' must be between 0 and 1, not '%s'",
                            a.level_text);
    a.z = kl_ar_normal_quantile(0.5 + a.level / 2.0);
    struct series s;
    if ((rc = read_series(cli, pos[0], a.column, a.exog, &s)) != KL_EXIT_OK)
        return rc;
    kl_err err = {0};
    kl_ar_opts o = {.trend = (enum kl_ar_trend)kl_ar_trend_parse(a.trend ? a.trend : "c"),
                    .exog = s.exog,
                    .n_exog = s.n_exog,
                    .exog_ld = s.n_rows};
    kl_ar_result r = {0};
    double *ic_values = NULL, *q = NULL, *pv = NULL, *mean = NULL, *var = NULL, *xf = NULL;
    size_t p = (size_t)a.lags, h = (size_t)a.horizon, lb_h = 0;
    if (a.max_lag >= 0) {
        ic_values = malloc(((size_t)a.max_lag + 1) * sizeof(double));
        if (!ic_values) {
            rc = kl_cli_error(KL_EXIT_INPUT, "out of memory");
            goto done;
        }
        if (kl_ar_select(s.y, s.n, (size_t)a.max_lag,
                         (enum kl_ar_ic)kl_ar_ic_parse(a.ic ? a.ic : "bic"), &o, &p, ic_values,
                         &err) < 0) {
            if (!err.ctx[0])
                kl_err_ctx(&err, "%s", s.path);
            rc = kl_cli_fail(&err);
            goto done;
        }
    }
    if (kl_ar_fit(s.y, s.n, p, &o, &r, &err) < 0) {
        if (!err.ctx[0])
            kl_err_ctx(&err, "%s", s.path);
        rc = kl_cli_fail(&err);
        goto done;
    }
    lb_h = a.lb_lags >= 0 ? (size_t)a.lb_lags : KL_MIN((size_t)10, r.nobs / 5);
    if (lb_h >= r.nobs)
        lb_h = r.nobs - 1;
    q = malloc((lb_h + 1) * sizeof(double));
    pv = malloc((lb_h + 1) * sizeof(double));
    mean = malloc((h + 1) * sizeof(double));
    var = malloc((h + 1) * sizeof(double));
    if (!q || !pv || !mean || !var) {
        rc = kl_cli_error(KL_EXIT_INPUT, "out of memory");
        goto done;
    }
    if (lb_h && kl_ar_ljung_box(r.resid, r.nobs, lb_h, r.k, q, pv, &err) < 0) {
        if (err.code != KL_EINVAL) { /* constant residuals (an exact fit) have no test */
            rc = kl_cli_fail(&err);
            goto done;
        }
        lb_h = 0;
    }
    if ((rc = future_exog(&s, h, &xf)) != KL_EXIT_OK)
        goto done;
    if (h && kl_ar_forecast(&r, h, xf, h, mean, var, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto done;
    }
    if (a.json)
        rc = kl_cli_json_print(fit_json(&s, &a, &r, ic_values, lb_h, q, pv, h, mean, var));
    else
        fit_text(&s, &a, &r, ic_values, lb_h, q, pv, h, mean, var);
done:
    kl_ar_result_release(&r);
    free(ic_values);
    free(q);
    free(pv);
    free(mean);
    free(var);
    free(xf);
    series_release(&s);
    return rc;
}

/* ---- keel ar acf ---- */

static int cmd_ar_acf(struct kl_cli *cli, int argc, char **argv)
{
    const char *column = NULL, *method = NULL;
    long nlags = -1;
    int json = 0;
    const struct kl_opt opts[] = {
        KL_OPT_STRING_("column", 'c', "C", &column, "the numeric column holding the series"),
        KL_OPT_INT_("nlags", 0, "N", &nlags, 1, 100000,
                    "lags to show (default: min(10 log10(n), n/2 - 1))"),
        KL_OPT_CHOICE_("method", 0, NULL, &method, method_choices,
                       "PACF by Yule-Walker on adjusted (yw, default) or biased (ywm) "
                       "autocovariances"),
        KL_OPT_JSON_(&json), KL_OPT_END_};
    const struct kl_usage u = {
        "[options] FILE --column C",
        "Autocorrelation (ACF) and partial autocorrelation (PACF) of a column, to\n"
        "choose the order p of an AR model: an AR(p) has a PACF that cuts off after\n"
        "lag p and an ACF that tails off. ACF as statsmodels' acf (demeaned, divided\n"
        "by n) with Bartlett's 95% band; PACF as statsmodels' pacf (Levinson-Durbin\n"
        "on the autocovariances) with the band +-1.96/sqrt(n). '*' marks values\n"
        "outside their band.",
        opts, 1, 1};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    struct series s;
    if ((rc = read_series(cli, pos[0], column, NULL, &s)) != KL_EXIT_OK)
        return rc;
    size_t n = s.n, nl = nlags > 0 ? (size_t)nlags : 0;
    if (!nl) {
        nl = (size_t)(10.0 * log10((double)n));
        if (n / 2 >= 2 && nl > n / 2 - 1)
            nl = n / 2 - 1;
        if (nl < 1)
            nl = 1;
    }
    kl_err err = {0};
    double *acf = malloc(3 * (nl + 1) * sizeof(double)), *band = acf + nl + 1,
           *pacf = band + nl + 1;
    if (!acf) {
        series_release(&s);
        return kl_cli_error(KL_EXIT_INPUT, "out of memory");
    }
    enum kl_ar_pacf_method m =
        method && strcmp(method, "ywm") == 0 ? KL_AR_PACF_YWM : KL_AR_PACF_YW;
    if (kl_ar_acf(s.y, n, nl, acf, band, &err) < 0 || kl_ar_pacf(s.y, n, nl, m, pacf, &err) < 0) {
        if (!err.ctx[0])
            kl_err_ctx(&err, "%s", s.path);
        rc = kl_cli_fail(&err);
        goto done;
    }
    double pband = KL_AR_Z95 / sqrt((double)n);
    size_t last = 0; /* the largest lag whose PACF lies outside the band */
    for (size_t j = 1; j <= nl; j++)
        if (fabs(pacf[j]) > pband)
            last = j;
    if (json) {
        json_t *rows = json_array();
        for (size_t j = 0; j <= nl; j++)
            json_array_append_new(rows, json_pack("{s:i, s:f, s:f, s:f, s:f}", "lag", (int)j, "acf",
                                                  acf[j], "acf_band", band[j], "pacf", pacf[j],
                                                  "pacf_band", j ? pband : 0.0));
        rc = kl_cli_json_print(json_pack("{s:s, s:s, s:I, s:s, s:i, s:o}", "file", s.path, "column",
                                         column, "values", (json_int_t)n, "pacf_method",
                                         m == KL_AR_PACF_YWM ? "ywm" : "yw",
                                         "pacf_last_significant_lag", (int)last, "lags", rows));
        goto done;
    }
    printf("ACF and PACF of column '%s' of '%s' (%zu values)\n\n", column, s.path, n);
    struct kl_table *t = kl_table_new(5);
    const char *head[] = {"lag", "acf", "+-band", "pacf", "+-band"};
    kl_table_add(t, head);
    for (size_t j = 0; j < 5; j++)
        kl_table_align_right(t, j);
    for (size_t j = 1; j <= nl; j++) {
        char c[5][64];
        snprintf(c[0], 64, "%zu", j);
        snprintf(c[1], 64, "%.4f%s", acf[j], fabs(acf[j]) > band[j] ? "*" : " ");
        snprintf(c[2], 64, "%.4f", band[j]);
        snprintf(c[3], 64, "%.4f%s", pacf[j], fabs(pacf[j]) > pband ? "*" : " ");
        snprintf(c[4], 64, "%.4f", pband);
        const char *row[] = {c[0], c[1], c[2], c[3], c[4]};
        kl_table_add(t, row);
    }
    kl_table_print(t, stdout, 40);
    kl_table_free(t);
    if (last)
        printf("\nlargest lag with the PACF outside its band: %zu (a candidate p)\n", last);
    else
        printf("\nno PACF value outside its band: the series looks like white noise\n");
done:
    free(acf);
    series_release(&s);
    return rc;
}

/* ---- keel ar simulate ---- */

static int cmd_ar_simulate(struct kl_cli *cli, int argc, char **argv)
{
    const char *k_text = NULL, *c_text = NULL, *sigma_text = NULL, *out = NULL;
    long n = 1000, seed = 0, burn = 1000;
    const struct kl_opt opts[] = {
        KL_OPT_STRING_("k", 'k', "K1,K2,..", &k_text, "the coefficients k1..kp (required)"),
        KL_OPT_STRING_("c", 0, "C", &c_text, "the constant (default: 0)"),
        KL_OPT_STRING_("sigma", 0, "S", &sigma_text,
                       "standard deviation of the normal innovations (default: 1)"),
        KL_OPT_INT_("n", 'n', "N", &n, 1, 100000000, "values to write (default: 1000)"),
        KL_OPT_INT_("seed", 0, "SEED", &seed, 0, LONG_MAX, "random seed (default: 0)"),
        KL_OPT_INT_("burn", 0, "B", &burn, 0, 100000000,
                    "values simulated first and dropped (default: 1000)"),
        KL_OPT_STRING_("output", 'o', "OUT.csv", &out, "write the CSV here (default: stdout)"),
        KL_OPT_END_};
    const struct kl_usage u = {
        "[options] --k K1,K2,..",
        "Simulate y(t) = c + k1 y(t-1) + ... + kp y(t-p) + sigma e(t) with standard\n"
        "normal e(t) from keel's seeded generator, and write it as a CSV file with\n"
        "columns t (1..N) and y. The process starts at its mean when it is\n"
        "stationary; the first B values are dropped. The same seed gives the same\n"
        "file.",
        opts, 0, 0};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    if (!k_text)
        return kl_cli_error(KL_EXIT_USAGE,
                            "option '--k' is required; see 'keel ar simulate --help'");
    double c = 0.0, sigma = 1.0, k[256];
    if (c_text && (rc = parse_double("c", c_text, &c)) != KL_EXIT_OK)
        return rc;
    if (sigma_text && (rc = parse_double("sigma", sigma_text, &sigma)) != KL_EXIT_OK)
        return rc;
    if (sigma < 0)
        return kl_cli_error(KL_EXIT_USAGE, "option '--sigma' must be >= 0, not '%s'", sigma_text);
    char buf[8192], *words[256];
    snprintf(buf, sizeof buf, "%s", k_text);
    size_t p = split_list(buf, words, KL_ARRAY_LEN(words));
    for (size_t i = 0; i < p; i++)
        if ((rc = parse_double("k", words[i], &k[i])) != KL_EXIT_OK)
            return rc;
    kl_err err = {0};
    double *y = malloc((size_t)n * sizeof(double) * 2), *t = y + n;
    kl_frame *f = kl_frame_new((size_t)n);
    if (!y || !f) {
        free(y);
        kl_frame_free(f);
        return kl_cli_error(KL_EXIT_INPUT, "out of memory");
    }
    for (long i = 0; i < n; i++)
        t[i] = (double)(i + 1);
    if (kl_ar_simulate(k, p, c, sigma, (uint64_t)seed, (size_t)burn, (size_t)n, y, &err) < 0 ||
        kl_frame_add_numeric(f, "t", KL_TYPE_INT, t, &err) < 0 ||
        kl_frame_add_numeric(f, "y", KL_TYPE_FLOAT, y, &err) < 0) {
        rc = kl_cli_fail(&err);
    } else if (out) {
        char path[4096];
        if (kl_csv_write_file(f, kl_cli_path(cli, out, path, sizeof path), NULL, &err) < 0)
            rc = kl_cli_fail(&err);
    } else if (kl_csv_write_stream(f, stdout, NULL, &err) < 0) {
        rc = kl_cli_fail(&err);
    }
    free(y);
    kl_frame_free(f);
    return rc;
}

/* ---- keel ar backtest ---- */

static int cmd_ar_backtest(struct kl_cli *cli, int argc, char **argv)
{
    const char *column = NULL, *trend = NULL;
    long lags = -1, folds = 5, horizon = 1, step = 1;
    int json = 0;
    const struct kl_opt opts[] = {
        KL_OPT_STRING_("column", 'c', "C", &column, "the numeric column holding the series"),
        KL_OPT_INT_("lags", 'p', "P", &lags, 0, 10000, "fit AR(P) (required)"),
        KL_OPT_CHOICE_("trend", 't', NULL, &trend, trend_choices,
                       "c: constant (default), n: none (the lab form), ct: constant and trend"),
        KL_OPT_INT_("folds", 'k', "K", &folds, 1, 100000, "forecast origins (default: 5)"),
        KL_OPT_INT_("horizon", 'H', "H", &horizon, 1, 100000, "steps ahead (default: 1)"),
        KL_OPT_INT_("step", 0, "S", &step, 1, 100000,
                    "values between consecutive origins (default: 1)"),
        KL_OPT_JSON_(&json),
        KL_OPT_END_};
    const struct kl_usage u = {
        "[options] FILE --column C --lags P",
        "Rolling-origin evaluation: for each of K origins o (the last at n - H,\n"
        "the others S values apart before it) fit AR(P) on the values before o\n"
        "(an expanding window) and forecast the next H values. Prints the mean\n"
        "absolute error and root mean squared error per step ahead, over the K\n"
        "folds. Folds run in parallel; results do not depend on the thread count.",
        opts, 1, 1};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    if (lags < 0)
        return kl_cli_error(KL_EXIT_USAGE, "option '--lags' is required; see 'keel %s --help'",
                            cli->path);
    struct series s;
    if ((rc = read_series(cli, pos[0], column, NULL, &s)) != KL_EXIT_OK)
        return rc;
    kl_err err = {0};
    kl_ar_opts o = {.trend = (enum kl_ar_trend)kl_ar_trend_parse(trend ? trend : "c")};
    size_t h = (size_t)horizon;
    double *mae = malloc(2 * h * sizeof(double)), *rmse = mae ? mae + h : NULL;
    if (!mae) {
        series_release(&s);
        return kl_cli_error(KL_EXIT_INPUT, "out of memory");
    }
    if (kl_ar_backtest(s.y, s.n, (size_t)lags, &o, (size_t)folds, h, (size_t)step, mae, rmse,
                       &err) < 0) {
        if (!err.ctx[0])
            kl_err_ctx(&err, "%s", s.path);
        rc = kl_cli_fail(&err);
        goto done;
    }
    if (json) {
        json_t *rows = json_array();
        for (size_t i = 0; i < h; i++)
            json_array_append_new(rows, json_pack("{s:i, s:f, s:f}", "step", (int)i + 1, "mae",
                                                  mae[i], "rmse", rmse[i]));
        rc = kl_cli_json_print(json_pack(
            "{s:s, s:s, s:I, s:i, s:s, s:i, s:i, s:i, s:o}", "file", s.path, "column", column,
            "values", (json_int_t)s.n, "lags", (int)lags, "trend", trend ? trend : "c", "folds",
            (int)folds, "horizon", (int)horizon, "step", (int)step, "errors", rows));
        goto done;
    }
    printf("rolling-origin backtest of AR(%ld) with trend '%s' on column '%s' of '%s'\n", lags,
           trend ? trend : "c", column, s.path);
    printf("%ld folds, horizon %ld, origins %zu..%zu every %ld values\n\n", folds, horizon,
           s.n - h - (size_t)(folds - 1) * (size_t)step, s.n - h, step);
    struct kl_table *t = kl_table_new(3);
    const char *head[] = {"step", "mae", "rmse"};
    kl_table_add(t, head);
    for (size_t j = 0; j < 3; j++)
        kl_table_align_right(t, j);
    for (size_t i = 0; i < h; i++) {
        char c[3][64];
        snprintf(c[0], 64, "%zu", i + 1);
        snprintf(c[1], 64, "%.6f", mae[i]);
        snprintf(c[2], 64, "%.6f", rmse[i]);
        const char *row[] = {c[0], c[1], c[2]};
        kl_table_add(t, row);
    }
    kl_table_print(t, stdout, 40);
    kl_table_free(t);
done:
    free(mae);
    series_release(&s);
    return rc;
}

static const struct kl_cmd ar = {
    "ar", NULL, "The autoregressive lab: fit, inspect, simulate, backtest.", 68, NULL};
static const struct kl_cmd fit = {"fit", cmd_ar_fit, "fit an AR(p) model to a column and forecast",
                                  10, "ar"};
static const struct kl_cmd acf = {"acf", cmd_ar_acf, "ACF and PACF of a column, to choose p", 20,
                                  "ar"};
static const struct kl_cmd simulate = {"simulate", cmd_ar_simulate,
                                       "simulate an AR process from given coefficients", 30, "ar"};
static const struct kl_cmd backtest = {"backtest", cmd_ar_backtest,
                                       "rolling-origin backtest of an AR(p) model", 40, "ar"};
KL_COMMANDS(ar, &ar, &fit, &acf, &simulate, &backtest);
