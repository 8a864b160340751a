/*
 * SLA gates: each keel.yaml sla entry {metric, min | max, on, by} judged
 * against an evaluation. A gate for another stage (test, production) is
 * reported as such and never counts as a failure here; a gate whose metric
 * was not measured (a serving metric, or one the data does not define) is
 * "not measured", which callers show but do not count as missed.
 *
 * A gate with `by` must also hold in every group of its column (a protected
 * attribute, typically): the evaluated rows are split by the column's value
 * and each group is evaluated on its own, the way Fairlearn's MetricFrame
 * does. Each group carries the 95% Wilson half-width of its measurement so
 * that a verdict on 12 rows is visibly weaker than one on 12,000.
 * Invariant: groups are listed in a fixed order (sorted values, missing
 * last), so reports and JSON are reproducible.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "keel/constraints.h"
#include "keel/evaluate.h"
#include "core/common.h"

#define MAX_GROUPS 1000

const char *kl_sla_status_name(enum kl_sla_status s)
{
    switch (s) {
    case KL_SLA_STATUS_PASS:
        return "pass";
    case KL_SLA_STATUS_FAIL:
        return "fail";
    case KL_SLA_STATUS_NOT_MEASURED:
        return "not measured";
    case KL_SLA_STATUS_OTHER_STAGE:
        return "other stage";
    }
    return "?";
}

static int judge(const kl_spec_sla *sla, double v)
{
    return sla->bound == KL_SLA_BOUND_MIN ? v >= sla->threshold : v <= sla->threshold;
}

size_t kl_sla_check(const kl_spec_sla *sla, size_t n, enum kl_sla_on stage, const kl_eval_result *r,
                    kl_sla_verdict *out)
{
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        kl_sla_verdict *v = &out[i];
        v->sla = &sla[i];
        v->value = NAN;
        if (sla[i].on != stage) {
            v->status = KL_SLA_STATUS_OTHER_STAGE;
            continue;
        }
        if (!kl_eval_metric_get(r, sla[i].metric, &v->value)) {
            v->status = KL_SLA_STATUS_NOT_MEASURED;
            continue;
        }
        int ok = judge(&sla[i], v->value);
        v->status = ok ? KL_SLA_STATUS_PASS : KL_SLA_STATUS_FAIL;
        failed += !ok;
    }
    return failed;
}

/* ---- per-group gates ---- */

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_str_idx(const void *a, const void *b, void *dict)
{
    const char *const *d = dict;
    return strcmp(d[*(const int32_t *)a], d[*(const int32_t *)b]);
}

/*
 * Group index of every evaluated row (key[i] < *n_groups) and each group's
 * name, for column c of f. Missing values form the last group.
 */
static int group_keys(const kl_frame *f, size_t c, const size_t *rows, size_t n, size_t *key,
                      char (**names)[128], size_t *n_groups, kl_err *err)
{
    enum kl_col_kind kind = kl_frame_col_kind(f, c);
    size_t ng = 0;
    char(*nm)[128] = NULL;
    if (kind == KL_COL_KIND_CATEGORICAL) {
        size_t nd;
        const char *const *dict = kl_frame_col_dict(f, c, &nd);
        const int32_t *codes = kl_frame_col_codes(f, c);
        if (nd > MAX_GROUPS)
            return kl_err_set(err, KL_EINVAL, "column '%s' has %zu groups; at most %d",
                              kl_frame_col_name(f, c), nd, MAX_GROUPS);
        int32_t *order = malloc((nd + 1) * sizeof *order), *rank = malloc((nd + 1) * sizeof *rank);
        nm = malloc((nd + 1) * sizeof *nm);
        if (!order || !rank || !nm) {
            free(order);
            free(rank);
            free(nm);
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        }
        for (size_t k = 0; k < nd; k++)
            order[k] = (int32_t)k;
        qsort_r(order, nd, sizeof *order, cmp_str_idx, (void *)dict);
        for (size_t k = 0; k < nd; k++) {
            rank[order[k]] = (int32_t)k;
            snprintf(nm[k], sizeof nm[k], "%s", dict[order[k]]);
        }
        snprintf(nm[nd], sizeof nm[nd], "(missing)");
        for (size_t i = 0; i < n; i++) {
            int32_t cd = codes[rows ? rows[i] : i];
            key[i] = cd < 0 ? nd : (size_t)rank[cd];
        }
        ng = nd + 1;
        free(order);
        free(rank);
    } else if (kind == KL_COL_KIND_BOOL) {
        const uint8_t *b = kl_frame_col_bool(f, c);
        if (!(nm = malloc(3 * sizeof *nm)))
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        snprintf(nm[0], sizeof nm[0], "false");
        snprintf(nm[1], sizeof nm[1], "true");
        snprintf(nm[2], sizeof nm[2], "(missing)");
        for (size_t i = 0; i < n; i++) {
            uint8_t v = b[rows ? rows[i] : i];
            key[i] = v == KL_BOOL_MISSING ? 2 : v;
        }
        ng = 3;
    } else if (kind == KL_COL_KIND_NUMERIC) {
        const double *x = kl_frame_col_f64(f, c);
        double *u = malloc((n ? n : 1) * sizeof *u);
        if (!u)
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            double v = x[rows ? rows[i] : i];
            if (!isnan(v))
                u[m++] = v;
        }
        qsort(u, m, sizeof *u, cmp_dbl);
        size_t nu = 0;
        for (size_t i = 0; i < m; i++)
            if (nu == 0 || u[i] != u[nu - 1])
                u[nu++] = u[i];
        if (nu > MAX_GROUPS) {
            free(u);
            return kl_err_set(err, KL_EINVAL, "column '%s' has %zu groups; at most %d",
                              kl_frame_col_name(f, c), nu, MAX_GROUPS);
        }
        if (!(nm = malloc((nu + 1) * sizeof *nm))) {
            free(u);
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        }
        for (size_t k = 0; k < nu; k++)
            snprintf(nm[k], sizeof nm[k], "%.15g", u[k]);
        snprintf(nm[nu], sizeof nm[nu], "(missing)");
        for (size_t i = 0; i < n; i++) {
            double v = x[rows ? rows[i] : i];
            if (isnan(v)) {
                key[i] = nu;
                continue;
            }
            size_t lo = 0, hi = nu;
            while (hi - lo > 1) {
                size_t mid = (lo + hi) / 2;
                if (u[mid] <= v)
                    lo = mid;
                else
                    hi = mid;
            }
            key[i] = lo;
        }
        ng = nu + 1;
        free(u);
    } else {
        return kl_err_set(err, KL_EINVAL, "column '%s' is %s; a group column must be categorical, "
                          "bool or numeric", kl_frame_col_name(f, c), kl_col_kind_name(kind));
    }
    *names = nm;
    *n_groups = ng;
    return 0;
}

/* Rows the metric divides by, for its Wilson half-width. */
static double denominator(const char *metric, const kl_eval_result *r, size_t rows)
{
    if (strcmp(metric, "recall") == 0 && isfinite(r->tp))
        return r->tp + r->fn;
    if (strcmp(metric, "precision") == 0 && isfinite(r->tp))
        return r->tp + r->fp;
    return (double)rows;
}

/* One group: the entries with key == k copied out and evaluated. */
static int eval_group(const kl_eval_input *in, const size_t *key, size_t k, size_t cnt,
                      double *yt, double *yp, double *pr, kl_eval_result *r, kl_err *err)
{
    size_t K = in->k, m = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (key[i] != k)
            continue;
        yt[m] = in->y_true[i];
        if (in->y_pred)
            yp[m] = in->y_pred[i];
        if (in->proba)
            memcpy(pr + m * K, in->proba + i * K, K * sizeof(double));
        m++;
    }
    KL_ASSERT(m == cnt);
    kl_eval_input g = *in;
    g.n = m;
    g.y_true = yt;
    g.y_pred = in->y_pred ? yp : NULL;
    g.proba = in->proba ? pr : NULL;
    return kl_eval_compute(&g, r, err);
}

static int push_group(kl_sla_groups *out, size_t *cap, const kl_sla_group *g)
{
    if (out->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 8;
        kl_sla_group *a = realloc(out->g, nc * sizeof *a);
        if (!a)
            return -1;
        out->g = a;
        *cap = nc;
    }
    out->g[out->n++] = *g;
    return 0;
}

int kl_sla_check_groups(const kl_spec_sla *sla, size_t n, enum kl_sla_on stage,
                        const kl_eval_input *in, const kl_frame *f, const size_t *rows,
                        kl_sla_groups *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    size_t N = in->n, K = in->proba ? in->k : 0, cap = 0, ng = 0;
    size_t *key = malloc((N ? N : 1) * sizeof *key), *cnt = NULL;
    double *yt = malloc((N ? N : 1) * sizeof *yt), *yp = malloc((N ? N : 1) * sizeof *yp);
    double *pr = K ? malloc(N * K * sizeof *pr + 1) : NULL;
    char(*names)[128] = NULL;
    kl_eval_result *r = malloc(sizeof *r);
    int rc = 0;
    if (!key || !yt || !yp || (K && !pr) || !r) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t s = 0; s < n; s++) {
        if (!sla[s].by || sla[s].on != stage)
            continue;
        long c = kl_frame_col_index(f, sla[s].by);
        if (c < 0) {
            rc = kl_err_set(err, KL_ENOTFOUND, "no column '%s' to split the %s gate by",
                            sla[s].by, sla[s].metric);
            kl_err_ctx(err, "sla[%zu].by", s);
            goto done;
        }
        free(names);
        names = NULL;
        if ((rc = group_keys(f, (size_t)c, rows, N, key, &names, &ng, err)) < 0) {
            kl_err_ctx(err, "sla[%zu].by", s);
            goto done;
        }
        free(cnt);
        if (!(cnt = calloc(ng, sizeof *cnt))) {
            rc = kl_err_set(err, KL_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < N; i++)
            cnt[key[i]]++;
        for (size_t k = 0; k < ng; k++) {
            if (!cnt[k])
                continue;
            kl_sla_group g = {.sla = &sla[s], .rows = cnt[k], .value = NAN};
            snprintf(g.group, sizeof g.group, "%s", names[k]);
            kl_err gerr = {0};
            /* a group where the metric is undefined (one class for roc_auc) is not measured */
            if (eval_group(in, key, k, cnt[k], yt, yp, pr, r, &gerr) < 0 ||
                !kl_eval_metric_get(r, sla[s].metric, &g.value)) {
                g.status = KL_SLA_STATUS_NOT_MEASURED;
                g.value = NAN;
                g.half_width = kl_wilson_half_width(0.5, (double)cnt[k]);
            } else {
                int ok = judge(&sla[s], g.value);
                g.status = ok ? KL_SLA_STATUS_PASS : KL_SLA_STATUS_FAIL;
                out->n_failed += !ok;
                double p = g.value >= 0 && g.value <= 1 ? g.value : 0.5;
                g.half_width = kl_wilson_half_width(p, denominator(sla[s].metric, r, cnt[k]));
            }
            g.small = g.half_width > KL_SLA_GROUP_MAX_HALF_WIDTH;
            if (push_group(out, &cap, &g) < 0) {
                rc = kl_err_set(err, KL_ENOMEM, "out of memory");
                goto done;
            }
        }
    }
done:
    free(key);
    free(cnt);
    free(yt);
    free(yp);
    free(pr);
    free(names);
    free(r);
    if (rc < 0)
        kl_sla_groups_release(out);
    return rc;
}

void kl_sla_group_format(const kl_sla_group *x, char *buf, size_t n)
{
    int w = snprintf(buf, n, "sla %s %s %.6g by %s=%s: ", x->sla->metric,
                     x->sla->bound == KL_SLA_BOUND_MIN ? ">=" : "<=", x->sla->threshold,
                     x->sla->by, x->group);
    if (w < 0 || (size_t)w >= n)
        return;
    if (x->status == KL_SLA_STATUS_NOT_MEASURED)
        snprintf(buf + w, n - (size_t)w, "not measured (%zu rows)", x->rows);
    else
        snprintf(buf + w, n - (size_t)w, "%.6g (%zu rows, +-%.3g%s) %s", x->value, x->rows,
                 x->half_width, x->small ? ", small group" : "",
                 x->status == KL_SLA_STATUS_PASS ? "pass" : "FAIL");
}

void kl_sla_groups_release(kl_sla_groups *g)
{
    if (!g)
        return;
    free(g->g);
    memset(g, 0, sizeof *g);
}

json_t *kl_sla_groups_json(const kl_sla_groups *g)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < g->n; i++) {
        const kl_sla_group *x = &g->g[i];
        json_t *o = json_object();
        json_object_set_new(o, "metric", json_string(x->sla->metric));
        json_object_set_new(o, "by", json_string(x->sla->by));
        json_object_set_new(o, "group", json_string(x->group));
        json_object_set_new(o, "rows", json_integer((json_int_t)x->rows));
        json_object_set_new(o, "bound",
                            json_string(x->sla->bound == KL_SLA_BOUND_MIN ? "min" : "max"));
        json_object_set_new(o, "threshold", json_real(x->sla->threshold));
        json_object_set_new(o, "value", isfinite(x->value) ? json_real(x->value) : json_null());
        json_object_set_new(o, "status", json_string(kl_sla_status_name(x->status)));
        json_object_set_new(o, "half_width", json_real(x->half_width));
        json_object_set_new(o, "small", json_boolean(x->small));
        json_array_append_new(a, o);
    }
    return a;
}
