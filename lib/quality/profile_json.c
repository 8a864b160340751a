/*
 * The profile as JSON: the interface of `keel profile --json` and the form a
 * stored profile takes. The schema is documented in docs/PROFILE.md; a field
 * that is undefined (a mean of no values, a correlation with a constant) is
 * null, never NaN, so any JSON parser reads it.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>

#include "keel/profile.h"
#include "data/parse.h"
#include "profile_internal.h"
#include "core/common.h"

void kl__profile_time_str(int64_t us, char *buf, size_t n)
{
    int64_t day = us / (INT64_C(86400) * 1000000), rem = us % (INT64_C(86400) * 1000000);
    if (rem < 0) {
        rem += INT64_C(86400) * 1000000;
        day--;
    }
    int64_t y;
    unsigned mo, d;
    kl__civil_from_days(day, &y, &mo, &d);
    int64_t s = rem / 1000000;
    if (s == 0)
        snprintf(buf, n, "%04lld-%02u-%02u", (long long)y, mo, d);
    else
        snprintf(buf, n, "%04lld-%02u-%02uT%02d:%02d:%02d", (long long)y, mo, d, (int)(s / 3600),
                 (int)(s / 60 % 60), (int)(s % 60));
}

static json_t *num(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static int put(json_t *o, const char *k, json_t *v)
{
    return v && json_object_set_new(o, k, v) == 0 ? 0 : -1;
}

static json_t *column_json(const kl_profile *p, size_t j)
{
    const kl_profile_column *c = &p->columns[j];
    json_t *o = json_object(), *top = json_array();
    int bad = !o || !top;
    bad |= put(o, "name", json_string(c->name));
    bad |= put(o, "kind", json_string(kl_col_kind_name(c->kind)));
    bad |= put(o, "type", json_string(kl_type_name(c->type)));
    bad |= put(o, "count", json_integer((json_int_t)c->count));
    bad |= put(o, "missing", json_integer((json_int_t)c->missing));
    bad |= put(o, "missing_share", num(p->rows ? (double)c->missing / (double)p->rows : 0));
    bad |= put(o, "distinct", json_integer((json_int_t)c->distinct));
    for (size_t k = 0; !bad && k < c->n_top; k++)
        bad |= json_array_append_new(top, json_pack("{s:s, s:I}", "value", c->top[k].value, "count",
                                                    (json_int_t)c->top[k].count));
    bad |= put(o, "top", top);
    top = NULL;
    if (c->kind == KL_COL_KIND_CATEGORICAL || c->kind == KL_COL_KIND_BOOL)
        bad |= put(o, "imbalance", num(c->imbalance));
    if (c->has_numeric) {
        json_t *s = json_object(), *q = json_object(), *h = json_array();
        bad |= !s || !q || !h;
        bad |= put(s, "min", num(c->min)) | put(s, "max", num(c->max));
        bad |= put(s, "mean", num(c->mean)) | put(s, "std", num(c->std));
        bad |= put(s, "skewness", num(c->skewness)) | put(s, "kurtosis", num(c->kurtosis));
        for (int k = 0; k < KL_PROFILE_N_QUANTILES; k++) {
            char key[32];
            snprintf(key, sizeof key, "%g", 100 * kl_profile_quantile_levels[k]);
            bad |= put(q, key, num(c->quantiles[k]));
        }
        bad |= put(s, "quantiles", q);
        bad |= put(s, "zeros", json_integer((json_int_t)c->zeros));
        bad |= put(s, "negatives", json_integer((json_int_t)c->negatives));
        bad |= put(s, "infinite", json_integer((json_int_t)c->infinite));
        for (size_t k = 0; k < c->n_bins; k++)
            bad |= json_array_append_new(h, json_integer((json_int_t)c->bins[k]));
        json_t *hist = json_pack("{s:o, s:o, s:o}", "lo", num(c->n_bins ? c->bin_lo : NAN), "hi",
                                 num(c->n_bins ? c->bin_hi : NAN), "counts", h);
        bad |= put(s, "histogram", hist);
        bad |= put(o, "numeric", s);
    }
    if (c->kind == KL_COL_KIND_TEXT)
        bad |= put(o, "text",
                   json_pack("{s:I, s:I, s:o, s:I}", "length_min", (json_int_t)c->len_min,
                             "length_max", (json_int_t)c->len_max, "length_mean", num(c->len_mean),
                             "date_like", (json_int_t)c->date_like));
    if (c->kind == KL_COL_KIND_TIME && c->count) {
        char a[40], b[40];
        kl__profile_time_str(c->t_min, a, sizeof a);
        kl__profile_time_str(c->t_max, b, sizeof b);
        json_t *per = json_array();
        bad |= !per;
        for (size_t k = 0; !bad && k < c->n_periods; k++) {
            char s[40];
            kl__profile_time_str(c->period_start[k], s, sizeof s);
            bad |= json_array_append_new(
                per, json_pack("{s:s, s:I}", "start", s, "count", (json_int_t)c->period_count[k]));
        }
        bad |= put(o, "time",
                   json_pack("{s:s, s:s, s:f, s:f, s:f, s:s, s:o}", "min", a, "max", b,
                             "gap_max_seconds", (double)c->gap_max / 1e6, "gap_median_seconds",
                             (double)c->gap_median / 1e6, "irregular", c->irregular, "period",
                             c->period, "periods", per));
    }
    if (p->target >= 0 && (long)j != p->target)
        bad |= put(o, "target_association",
                   isfinite(c->target_assoc) ? json_pack("{s:s, s:o}", "measure",
                                                         kl_profile_measure_name(c->target_measure),
                                                         "value", num(c->target_assoc))
                                             : json_null());
    json_decref(top);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *matrix_json(const kl_profile *p, const double *v, const size_t *idx, size_t k)
{
    json_t *rows = json_array();
    for (size_t a = 0; rows && a < k; a++) {
        json_t *r = json_array();
        for (size_t b = 0; r && b < k; b++)
            if (json_array_append_new(r, num(v[idx[a] * p->n_columns + idx[b]])) < 0) {
                json_decref(r);
                r = NULL;
            }
        if (!r || json_array_append_new(rows, r) < 0) {
            json_decref(rows);
            return NULL;
        }
    }
    return rows;
}

json_t *kl_profile_json(const kl_profile *p)
{
    const kl_profile_thresholds *t = &p->thresholds;
    json_t *o = json_object(), *vars = json_array(), *alerts = json_array(), *pairs = json_array(),
           *names = json_array();
    size_t m = p->n_columns, k = 0;
    size_t *idx = malloc((m ? m : 1) * sizeof *idx);
    int bad = !o || !vars || !alerts || !pairs || !names || !idx;
    if (bad)
        goto done;
    bad |= put(o, "rows", json_integer((json_int_t)p->rows));
    bad |= put(o, "columns", json_integer((json_int_t)m));
    bad |= put(o, "missing_cells", json_integer((json_int_t)p->missing_cells));
    bad |= put(o, "duplicate_rows", json_integer((json_int_t)p->duplicate_rows));
    bad |= put(o, "memory_bytes", json_integer((json_int_t)p->memory_bytes));
    bad |= put(o, "target", p->target >= 0 ? json_string(p->columns[p->target].name) : json_null());
    bad |= put(o, "thresholds",
               json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "missing",
                         t->missing, "zeros", t->zeros, "infinite", t->infinite, "duplicates",
                         t->duplicates, "skewed", t->skewed, "high_cardinality",
                         t->high_cardinality, "imbalance", t->imbalance, "high_correlation",
                         t->high_correlation, "leakage", t->leakage, "date_like", t->date_like));
    for (size_t a = 0; !bad && a < p->n_alerts; a++) {
        const kl_profile_alert *x = &p->alerts[a];
        json_t *e = json_pack(
            "{s:s, s:o, s:o, s:o, s:o}", "alert", kl_profile_alert_name(x->kind), "column",
            x->column >= 0 ? json_string(p->columns[x->column].name) : json_null(), "column2",
            x->column2 >= 0 ? json_string(p->columns[x->column2].name) : json_null(), "value",
            num(x->value), "threshold", num(x->threshold));
        bad |= !e || json_array_append_new(alerts, e) < 0;
    }
    bad |= put(o, "alerts", alerts);
    alerts = NULL;
    for (size_t j = 0; !bad && j < m; j++) {
        json_t *c = column_json(p, j);
        bad |= !c || json_array_append_new(vars, c) < 0;
        if (p->columns[j].kind == KL_COL_KIND_NUMERIC) {
            idx[k++] = j;
            bad |= json_array_append_new(names, json_string(p->columns[j].name));
        }
    }
    bad |= put(o, "variables", vars);
    vars = NULL;
    if (!bad)
        bad |= put(o, "correlations",
                   json_pack("{s:o, s:o, s:o}", "columns", names, "pearson",
                             matrix_json(p, p->pearson, idx, k), "spearman",
                             matrix_json(p, p->spearman, idx, k)));
    names = NULL;
    for (size_t a = 0; !bad && a < m; a++)
        for (size_t b = a + 1; !bad && b < m; b++) {
            double v = p->assoc[a * m + b];
            if (!isfinite(v))
                continue;
            json_t *e =
                json_pack("{s:s, s:s, s:s, s:f}", "a", p->columns[a].name, "b", p->columns[b].name,
                          "measure", kl_profile_measure_name(p->assoc_kind[a * m + b]), "value", v);
            bad |= !e || json_array_append_new(pairs, e) < 0;
        }
    bad |= put(o, "associations", pairs);
    pairs = NULL;
done:
    json_decref(vars);
    json_decref(alerts);
    json_decref(pairs);
    json_decref(names);
    free(idx);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
