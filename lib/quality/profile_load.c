/*
 * A profile read back from its JSON (profile_json.c), so a stored profile of
 * a snapshot is reused instead of recomputed.
 *
 * Invariant: kl_profile_json(kl_profile_from_json(kl_profile_json(p))) equals
 * kl_profile_json(p) (tested), which is all the outputs need: everything the
 * terminal summary and the HTML report show is in the JSON. Numbers are
 * written with 17 significant digits when stored, so they read back exactly.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keel/profile.h"
#include "data/parse.h"
#include "core/common.h"

static double get_num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static size_t get_size(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (size_t)json_integer_value(v) : 0;
}

static long col_index(const kl_profile *p, const json_t *name)
{
    const char *s = json_string_value(name);
    for (size_t j = 0; s && j < p->n_columns; j++)
        if (strcmp(p->columns[j].name, s) == 0)
            return (long)j;
    return -1;
}

/* "2020-01-02" or "2020-01-02T03:04:05" (UTC) to microseconds; 0 when malformed. */
static int64_t time_of(const json_t *v)
{
    const char *s = json_string_value(v);
    int y, mo, d, h = 0, mi = 0, se = 0;
    if (!s || sscanf(s, "%d-%d-%d", &y, &mo, &d) != 3)
        return 0;
    const char *t = strchr(s, 'T');
    if (t && sscanf(t + 1, "%d:%d:%d", &h, &mi, &se) != 3)
        return 0;
    int64_t day = kl__days_from_civil(y, (unsigned)mo, (unsigned)d);
    return ((day * 86400) + h * 3600 + mi * 60 + se) * INT64_C(1000000);
}

static int parse_kind(const char *s, int (*parse)(const char *), int *out)
{
    int k = s ? parse(s) : -1;
    if (k < 0)
        return -1;
    *out = k;
    return 0;
}

static int kind_parse(const char *s)
{
    for (int k = 0; k <= KL_COL_KIND_TIME; k++)
        if (strcmp(kl_col_kind_name((enum kl_col_kind)k), s) == 0)
            return k;
    return -1;
}

static int measure_parse(const char *s)
{
    for (int m = 0; m <= KL_PROFILE_MEASURE_AUC; m++)
        if (strcmp(kl_profile_measure_name((enum kl_profile_measure)m), s) == 0)
            return m;
    return -1;
}

static int alert_parse(const char *s)
{
    for (int a = 0; a < KL_PROFILE_ALERT_COUNT; a++)
        if (strcmp(kl_profile_alert_name((enum kl_profile_alert_kind)a), s) == 0)
            return a;
    return -1;
}

static int load_column(kl_profile *p, size_t j, const json_t *v)
{
    kl_profile_column *c = &p->columns[j];
    int kind, type;
    c->name = strdup(json_string_value(json_object_get(v, "name")) ?: "");
    if (!c->name)
        return KL_ENOMEM;
    if (parse_kind(json_string_value(json_object_get(v, "kind")), kind_parse, &kind) < 0 ||
        parse_kind(json_string_value(json_object_get(v, "type")), kl_type_parse, &type) < 0)
        return KL_EPARSE;
    c->kind = (enum kl_col_kind)kind;
    c->type = (enum kl_type)type;
    c->count = get_size(v, "count");
    c->missing = get_size(v, "missing");
    c->distinct = get_size(v, "distinct");
    c->imbalance = get_num(v, "imbalance");
    c->target_assoc = NAN;
    const json_t *top = json_object_get(v, "top");
    for (size_t k = 0; k < json_array_size(top) && k < KL_PROFILE_TOP; k++) {
        const json_t *e = json_array_get(top, k);
        c->top[k].value = strdup(json_string_value(json_object_get(e, "value")) ?: "");
        if (!c->top[k].value)
            return KL_ENOMEM;
        c->top[k].count = get_size(e, "count");
        c->n_top = k + 1;
    }
    const json_t *num = json_object_get(v, "numeric");
    if (json_is_object(num)) {
        c->has_numeric = 1;
        c->min = get_num(num, "min");
        c->max = get_num(num, "max");
        c->mean = get_num(num, "mean");
        c->std = get_num(num, "std");
        c->skewness = get_num(num, "skewness");
        c->kurtosis = get_num(num, "kurtosis");
        const json_t *q = json_object_get(num, "quantiles");
        for (int k = 0; k < KL_PROFILE_N_QUANTILES; k++) {
            char key[32];
            snprintf(key, sizeof key, "%g", 100 * kl_profile_quantile_levels[k]);
            c->quantiles[k] = get_num(q, key);
        }
        c->zeros = get_size(num, "zeros");
        c->negatives = get_size(num, "negatives");
        c->infinite = get_size(num, "infinite");
        const json_t *h = json_object_get(num, "histogram"), *b = json_object_get(h, "counts");
        c->bin_lo = get_num(h, "lo");
        c->bin_hi = get_num(h, "hi");
        c->n_bins = KL_MIN(json_array_size(b), (size_t)KL_PROFILE_BINS);
        for (size_t k = 0; k < c->n_bins; k++) {
            const json_t *x = json_array_get(b, k);
            c->bins[k] = json_is_integer(x) ? (size_t)json_integer_value(x) : 0;
        }
    }
    const json_t *text = json_object_get(v, "text");
    if (json_is_object(text)) {
        c->len_min = get_size(text, "length_min");
        c->len_max = get_size(text, "length_max");
        c->len_mean = get_num(text, "length_mean");
        c->date_like = get_size(text, "date_like");
    }
    const json_t *time = json_object_get(v, "time");
    if (json_is_object(time)) {
        static const char *const levels[] = {"hour", "day", "month", "year"};
        const char *period = json_string_value(json_object_get(time, "period"));
        for (size_t k = 0; period && k < KL_ARRAY_LEN(levels); k++)
            if (strcmp(period, levels[k]) == 0)
                c->period = levels[k];
        c->t_min = time_of(json_object_get(time, "min"));
        c->t_max = time_of(json_object_get(time, "max"));
        c->gap_max = (int64_t)llround(get_num(time, "gap_max_seconds") * 1e6);
        c->gap_median = (int64_t)llround(get_num(time, "gap_median_seconds") * 1e6);
        c->irregular = get_num(time, "irregular");
        const json_t *per = json_object_get(time, "periods");
        size_t n = json_array_size(per);
        c->period_start = malloc((n ? n : 1) * sizeof *c->period_start);
        c->period_count = malloc((n ? n : 1) * sizeof *c->period_count);
        if (!c->period_start || !c->period_count)
            return KL_ENOMEM;
        for (size_t k = 0; k < n; k++) {
            const json_t *e = json_array_get(per, k);
            c->period_start[k] = time_of(json_object_get(e, "start"));
            c->period_count[k] = get_size(e, "count");
        }
        c->n_periods = n;
    }
    const json_t *ta = json_object_get(v, "target_association");
    if (json_is_object(ta)) {
        int m;
        if (parse_kind(json_string_value(json_object_get(ta, "measure")), measure_parse, &m) < 0)
            return KL_EPARSE;
        c->target_measure = (enum kl_profile_measure)m;
        c->target_assoc = get_num(ta, "value");
    }
    return 0;
}

static int load(kl_profile *p, const json_t *j)
{
    const json_t *vars = json_object_get(j, "variables");
    if (!json_is_object(j) || !json_is_array(vars))
        return KL_EPARSE;
    p->rows = get_size(j, "rows");
    p->n_columns = json_array_size(vars);
    p->missing_cells = get_size(j, "missing_cells");
    p->duplicate_rows = get_size(j, "duplicate_rows");
    p->memory_bytes = get_size(j, "memory_bytes");
    size_t m = p->n_columns, mm = m ? m * m : 1;
    p->columns = calloc(m ? m : 1, sizeof *p->columns);
    p->pearson = malloc(mm * sizeof *p->pearson);
    p->spearman = malloc(mm * sizeof *p->spearman);
    p->assoc = malloc(mm * sizeof *p->assoc);
    p->assoc_kind = calloc(mm, 1);
    if (!p->columns || !p->pearson || !p->spearman || !p->assoc || !p->assoc_kind)
        return KL_ENOMEM;
    for (size_t e = 0; e < m * m; e++)
        p->pearson[e] = p->spearman[e] = p->assoc[e] = NAN;
    for (size_t k = 0; k < m; k++) {
        int rc = load_column(p, k, json_array_get(vars, k));
        if (rc < 0)
            return rc;
    }
    p->target = col_index(p, json_object_get(j, "target"));
    const json_t *t = json_object_get(j, "thresholds");
    p->thresholds = (kl_profile_thresholds){get_num(t, "missing"),   get_num(t, "zeros"),
                                            get_num(t, "infinite"),  get_num(t, "duplicates"),
                                            get_num(t, "skewed"),    get_num(t, "high_cardinality"),
                                            get_num(t, "imbalance"), get_num(t, "high_correlation"),
                                            get_num(t, "leakage"),   get_num(t, "date_like")};
    const json_t *corr = json_object_get(j, "correlations"),
                 *names = json_object_get(corr, "columns");
    const json_t *pe = json_object_get(corr, "pearson"), *sp = json_object_get(corr, "spearman");
    for (size_t a = 0; a < json_array_size(names); a++) {
        long ia = col_index(p, json_array_get(names, a));
        for (size_t b = 0; ia >= 0 && b < json_array_size(names); b++) {
            long ib = col_index(p, json_array_get(names, b));
            if (ib < 0)
                continue;
            const json_t *x = json_array_get(json_array_get(pe, a), b);
            const json_t *y = json_array_get(json_array_get(sp, a), b);
            size_t e = (size_t)ia * m + (size_t)ib;
            p->pearson[e] = json_is_number(x) ? json_number_value(x) : NAN;
            p->spearman[e] = json_is_number(y) ? json_number_value(y) : NAN;
        }
    }
    const json_t *pairs = json_object_get(j, "associations");
    for (size_t k = 0; k < json_array_size(pairs); k++) {
        const json_t *e = json_array_get(pairs, k);
        long a = col_index(p, json_object_get(e, "a")), b = col_index(p, json_object_get(e, "b"));
        int meas;
        if (a < 0 || b < 0 ||
            parse_kind(json_string_value(json_object_get(e, "measure")), measure_parse, &meas) < 0)
            return KL_EPARSE;
        p->assoc[(size_t)a * m + (size_t)b] = p->assoc[(size_t)b * m + (size_t)a] =
            get_num(e, "value");
        p->assoc_kind[(size_t)a * m + (size_t)b] = p->assoc_kind[(size_t)b * m + (size_t)a] =
            (uint8_t)meas;
    }
    /* The diagonal, which "associations" leaves out: each column with itself. */
    for (size_t k = 0; k < m; k++) {
        const kl_profile_column *c = &p->columns[k];
        if (c->kind == KL_COL_KIND_NUMERIC) {
            p->assoc[k * m + k] = p->pearson[k * m + k];
            p->assoc_kind[k * m + k] = KL_PROFILE_MEASURE_PEARSON;
        } else if (c->kind == KL_COL_KIND_CATEGORICAL || c->kind == KL_COL_KIND_BOOL) {
            p->assoc[k * m + k] = c->distinct > 1 ? 1 : NAN;
            p->assoc_kind[k * m + k] = KL_PROFILE_MEASURE_CRAMERS_V;
        }
    }
    const json_t *al = json_object_get(j, "alerts");
    p->alerts = calloc(json_array_size(al) ? json_array_size(al) : 1, sizeof *p->alerts);
    if (!p->alerts)
        return KL_ENOMEM;
    for (size_t k = 0; k < json_array_size(al); k++) {
        const json_t *e = json_array_get(al, k);
        int kind;
        if (parse_kind(json_string_value(json_object_get(e, "alert")), alert_parse, &kind) < 0)
            return KL_EPARSE;
        p->alerts[k] = (kl_profile_alert){(enum kl_profile_alert_kind)kind,
                                          col_index(p, json_object_get(e, "column")),
                                          col_index(p, json_object_get(e, "column2")),
                                          get_num(e, "value"), get_num(e, "threshold")};
        p->n_alerts = k + 1;
    }
    return 0;
}

int kl_profile_from_json(const json_t *j, kl_profile **out, kl_err *err)
{
    *out = NULL;
    kl_profile *p = calloc(1, sizeof *p);
    if (!p)
        return kl_err_set(err, KL_ENOMEM, "out of memory while reading a profile");
    int rc = load(p, j);
    if (rc < 0) {
        kl_profile_free(p);
        return rc == KL_ENOMEM ? kl_err_set(err, rc, "out of memory while reading a profile")
                               : kl_err_set(err, rc, "malformed stored profile");
    }
    *out = p;
    return 0;
}
