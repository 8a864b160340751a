/*
 * keel.yaml validation: walks the YAML node tree (yaml.c) section by section
 * and fills a kl_spec, checking keys, types, enumerations, ranges, required
 * keys and cross-field rules, then fills the defaults.
 *
 * Invariants: a kl_spec returned to the caller is complete (every default
 * filled, every enumeration in range, every required string non-NULL) and
 * owns all its memory in one pool, the YAML tree included: strings in the
 * spec point straight into the tree's scalars, so nothing is copied twice.
 * Every error is KL_EPARSE with ctx "FILE:LINE:COL" of the offending node and
 * a message naming the dotted key path (c->path while walking).
 *
 * Why hand-written checks rather than a generic schema table: the rules that
 * matter most (exactly one of min|max, horizon only for forecasts, a metric
 * that fits the task, protected columns never features) are cross-field, and
 * plain code states them more clearly than a schema language would. The name
 * lists (sections, keys, metrics, algorithms) are tables, each in one place.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <regex.h>
#include <string.h>
#include <sys/stat.h>

#include "keel/err.h"
#include "keel/spec.h"
#include "keel/suggest.h"
#include "spec/spec_internal.h"
#include "core/common.h"

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_ < 0)                                                                               \
            return rc_;                                                                            \
    } while (0)

/* ---- name tables ---- */

static const char *const task_names[] = {"regression", "classification", "forecast"};
static const char *const pii_action_names[] = {"keep", "drop", "redact", "mask", "hash", "fail"};
static const char *const transform_op_names[] = {
    "impute",    "standardize",   "minmax",     "log1p", "clip", "onehot",
    "frequency", "target_encode", "date_parts", "lag",   "diff", "rolling"};
static const char *const validation_method_names[] = {"holdout", "kfold", "stratified_kfold",
                                                      "group_kfold", "time_series"};
static const char *const search_method_names[] = {"none", "grid", "random", "halving"};
static const char *const param_type_names[] = {"int", "float", "choice"};
static const char *const sla_on_names[] = {"validation", "test", "production"};
static const char *const direction_names[] = {"max", "min"};
static const char *const drift_test_names[] = {"psi",           "ks",        "wasserstein",
                                               "jensenshannon", "chisquare", "z"};
static const char *const drift_detector_names[] = {"adwin", "ddm", "eddm", "page_hinkley", "kswin"};

/* Column types as keel.yaml writes them; the same names as kl_type_name. */
static const char *const type_names[] = {"int",      "float",       "bool", "date",
                                         "datetime", "categorical", "text"};

#define NAME_OF(table, i) ((size_t)(i) < KL_ARRAY_LEN(table) ? (table)[(i)] : "?")

const char *kl_task_name(enum kl_task t)
{
    return NAME_OF(task_names, t);
}
static const char *const expect_kind_names[] = {"range",   "values", "unique", "regex",
                                                "missing", "rows",   "type",   "freshness"};

const char *kl_expect_kind_name(enum kl_expect_kind k)
{
    return NAME_OF(expect_kind_names, k);
}
const char *kl_pii_action_name(enum kl_pii_action a)
{
    return NAME_OF(pii_action_names, a);
}
const char *kl_transform_op_name(enum kl_transform_op op)
{
    return NAME_OF(transform_op_names, op);
}
const char *kl_validation_method_name(enum kl_validation_method m)
{
    return NAME_OF(validation_method_names, m);
}
const char *kl_search_method_name(enum kl_search_method m)
{
    return NAME_OF(search_method_names, m);
}
const char *kl_drift_test_name(enum kl_drift_test t)
{
    return NAME_OF(drift_test_names, t);
}
const char *kl_drift_detector_name(enum kl_drift_detector d)
{
    return NAME_OF(drift_detector_names, d);
}

const char *kl__spec_type_name(enum kl_type t)
{
    return NAME_OF(type_names, t);
}
const char *kl__spec_param_type_name(enum kl_param_type t)
{
    return NAME_OF(param_type_names, t);
}
const char *kl__spec_sla_on_name(enum kl_sla_on on)
{
    return NAME_OF(sla_on_names, on);
}
const char *kl__spec_direction_name(enum kl_kpi_direction d)
{
    return NAME_OF(direction_names, d);
}

#define T_REG (1u << KL_TASK_REGRESSION)
#define T_CLS (1u << KL_TASK_CLASSIFICATION)
#define T_FC (1u << KL_TASK_FORECAST)
#define T_ANY (T_REG | T_CLS | T_FC)

/*
 * Every metric keel.yaml may name (sla.metric, kpi.metric) and the tasks it
 * applies to. The training and serving issues implement them; if you add one
 * here, implement it there.
 */
static const struct {
    const char *name;
    unsigned tasks;
} metrics[] = {
    {"rmse", T_REG | T_FC},
    {"mse", T_REG | T_FC},
    {"mae", T_REG | T_FC},
    {"mape", T_REG | T_FC},
    {"smape", T_REG | T_FC},
    {"mase", T_FC},
    {"r2", T_REG | T_FC},
    {"explained_variance", T_REG},
    {"median_ae", T_REG},
    {"accuracy", T_CLS},
    {"balanced_accuracy", T_CLS},
    {"precision", T_CLS},
    {"recall", T_CLS},
    {"f1", T_CLS},
    {"f1_macro", T_CLS},
    {"f1_micro", T_CLS},
    {"f1_weighted", T_CLS},
    {"roc_auc", T_CLS},
    {"pr_auc", T_CLS},
    {"average_precision", T_CLS},
    {"log_loss", T_CLS},
    {"brier", T_CLS},
    {"latency_p50_ms", T_ANY},
    {"latency_p95_ms", T_ANY},
    {"latency_p99_ms", T_ANY},
    {"throughput_rps", T_ANY},
    {"error_rate", T_ANY},
};

/* Algorithms train.algorithm may name, and the tasks each fits. */
static const struct {
    const char *name;
    unsigned tasks;
} algorithms[] = {
    {"ols", T_REG | T_FC},   {"ridge", T_REG | T_FC},
    {"lasso", T_REG | T_FC}, {"elasticnet", T_REG | T_FC},
    {"logistic", T_CLS},     {"ar", T_FC},
    {"tree", T_ANY},         {"forest", T_ANY},
    {"gbdt", T_ANY},
};

static const char *const default_algorithm[] = {"ridge", "logistic", "ar"};

/*
 * Names a kpi value formula may use: confusion counts (binary
 * classification, positive class as objective.positive_class) and
 * aggregates over predictions and actual values (any task).
 */
static const char *const kpi_idents[] = {"tp",
                                         "fp",
                                         "tn",
                                         "fn",
                                         "n",
                                         "sum_actual",
                                         "mean_actual",
                                         "sum_predicted",
                                         "mean_predicted",
                                         "sum_abs_error",
                                         "sum_squared_error"};

/*
 * PII entity names of constraints.pii.entities: the names the detectors
 * report (kl_pii_entity_name in lib/quality) and their common aliases, which
 * kl_pii_entity_parse accepts too.
 */
static const char *const pii_entities[] = {
    "email",      "phone",   "credit_card", "us_ssn", "ssn",           "iban",
    "ip_address", "ipv4",    "ipv6",        "url",    "date_of_birth", "person",
    "name",       "address", "postcode",    "zip",    "passport"};

static const char *const default_missing[] = {"", "NA", "N/A", "null", "NaN", "None"};

int kl_spec_metric_known(const char *name)
{
    for (size_t i = 0; i < KL_ARRAY_LEN(metrics); i++)
        if (!strcmp(metrics[i].name, name))
            return 1;
    return 0;
}

int kl_spec_kpi_ident_known(const char *name)
{
    for (size_t i = 0; i < KL_ARRAY_LEN(kpi_idents); i++)
        if (!strcmp(kpi_idents[i], name))
            return 1;
    return 0;
}

/* ---- the checker: path, errors, positions ---- */

typedef struct chk {
    kl_spec *s;
    kl__pool *pool;
    const char *name;
    kl_err *err;
    char path[512];
    size_t plen;
} chk;

static int fail(chk *c, const kl__node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(chk *c, const kl__node *n, const char *fmt, ...)
{
    if (!c->err)
        return KL_EPARSE;
    c->err->code = KL_EPARSE;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
    va_end(ap);
    return kl_err_ctx(c->err, "%s:%d:%d", c->name, n->line, n->col);
}

static int oom(chk *c)
{
    return kl_err_set(c->err, KL_ENOMEM, "out of memory loading the spec");
}

/* How a node reads in "..., not X": 'text' (shortened, control characters as ?), a list or a
 * mapping. */
static const char *shown(const kl__node *n, char *buf, size_t size)
{
    if (n->kind == KL__NODE_MAP)
        return "a mapping";
    if (n->kind == KL__NODE_SEQ)
        return "a list";
    if (kl__node_is_null(n))
        return "null";
    size_t max = 40, j = 0;
    buf[j++] = '\'';
    size_t i = 0;
    for (; i < n->len && j + 6 < size && i < max; i++) {
        unsigned char ch = (unsigned char)n->text[i];
        buf[j++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    if (i < n->len) {
        while (j > 1 && ((unsigned char)buf[j - 1] & 0xC0) == 0x80)
            j--;
        if (j > 1 && (unsigned char)buf[j - 1] >= 0xC0)
            j--;
        buf[j++] = '.';
        buf[j++] = '.';
        buf[j++] = '.';
    }
    buf[j++] = '\'';
    buf[j] = '\0';
    return buf;
}

#define SHOWN(n) shown((n), (char[64]){0}, 64)

static size_t path_push(chk *c, const char *key)
{
    size_t saved = c->plen;
    int w = snprintf(c->path + c->plen, sizeof c->path - c->plen, "%s%s", c->plen ? "." : "", key);
    if (w > 0)
        c->plen = KL_MIN(c->plen + (size_t)w, sizeof c->path - 1);
    return saved;
}

static size_t path_push_index(chk *c, size_t i)
{
    size_t saved = c->plen;
    int w = snprintf(c->path + c->plen, sizeof c->path - c->plen, "[%zu]", i);
    if (w > 0)
        c->plen = KL_MIN(c->plen + (size_t)w, sizeof c->path - 1);
    return saved;
}

static void path_pop(chk *c, size_t saved)
{
    c->plen = saved;
    c->path[saved] = '\0';
}

/* Remember where the value at the current path was written (kl_spec_where). */
static int record(chk *c, const kl__node *n)
{
    kl__spec_priv *p = c->s->priv_;
    if (p->n_where == p->cap_where) {
        size_t cap = p->cap_where ? p->cap_where * 2 : 64;
        kl__spec_where *w = realloc(p->where, cap * sizeof *w);
        if (!w)
            return oom(c);
        p->where = w;
        p->cap_where = cap;
    }
    const char *path = kl__pool_strndup(c->pool, c->path, c->plen);
    if (!path)
        return oom(c);
    p->where[p->n_where++] = (kl__spec_where){path, n->line, n->col};
    return 0;
}

/* ---- mappings: unknown and duplicate keys ---- */

static int key_cmp(const void *a, const void *b)
{
    const kl__node *x = *(const kl__node *const *)a, *y = *(const kl__node *const *)b;
    int r = strcmp(x->text, y->text);
    if (r)
        return r;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->col < y->col ? -1 : x->col > y->col;
}

static int before(const kl__node *a, const kl__node *b)
{
    return a->line < b->line || (a->line == b->line && a->col < b->col);
}

static const char *where_in(const chk *c)
{
    return c->plen ? c->path : "the spec";
}

static int check_dups(chk *c, const kl__node *m)
{
    if (m->n < 2)
        return 0;
    const kl__node **keys = malloc(m->n * sizeof *keys);
    if (!keys)
        return oom(c);
    size_t k = 0;
    for (const kl__node *key = m->child; key; key = key->next->next)
        keys[k++] = key;
    qsort(keys, k, sizeof *keys, key_cmp);
    const kl__node *dup = NULL, *first = NULL;
    for (size_t i = 1; i < k; i++) {
        if (strcmp(keys[i]->text, keys[i - 1]->text))
            continue;
        size_t g = i - 1; /* keys[g] is the first of its run, keys[i] the second */
        if (g > 0 && !strcmp(keys[g - 1]->text, keys[i]->text))
            continue;
        if (!dup || before(keys[i], dup)) {
            dup = keys[i];
            first = keys[g];
        }
    }
    int rc = 0;
    if (dup)
        rc = fail(c, dup, "duplicate key '%s' in %s%s%s, first given on line %d", dup->text,
                  c->plen ? "'" : "", where_in(c), c->plen ? "'" : "", first->line);
    free(keys);
    return rc;
}

/*
 * m must be a mapping with scalar keys, each one of keys[] (when keys is not
 * NULL), none twice.
 */
static int check_map(chk *c, const kl__node *m, const char *const *keys, size_t n_keys)
{
    if (m->kind != KL__NODE_MAP) {
        if (!c->plen)
            return fail(c, m, "the spec must be a mapping of sections, not %s", SHOWN(m));
        return fail(c, m, "'%s' must be a mapping, not %s", c->path, SHOWN(m));
    }
    for (const kl__node *key = m->child; key; key = key->next->next) {
        if (key->kind != KL__NODE_SCALAR)
            return fail(c, key, "%s%s%s has a key that is not a string", c->plen ? "'" : "",
                        where_in(c), c->plen ? "'" : "");
        if (!keys)
            continue;
        size_t i = 0;
        while (i < n_keys && strcmp(keys[i], key->text))
            i++;
        if (i < n_keys)
            continue;
        const char *near = kl_suggest(key->text, keys, n_keys);
        char hint[128] = "";
        if (near)
            snprintf(hint, sizeof hint, "; did you mean '%s'?", near);
        if (!c->plen)
            return fail(c, key, "unknown section %s%s", SHOWN(key), hint);
        return fail(c, key, "unknown key %s in '%s'%s", SHOWN(key), c->path, hint);
    }
    return check_dups(c, m);
}

static const kl__node *lookup(const kl__node *m, const char *key)
{
    for (const kl__node *k = m->child; k; k = k->next->next)
        if (!strcmp(k->text, key))
            return k->next;
    return NULL;
}

/*
 * Enter m's value for key: 0 with *v NULL when absent or null; 1 with *v set
 * and the key pushed on the path (undo with path_pop(c, *saved)).
 */
static int enter(chk *c, const kl__node *m, const char *key, const kl__node **v, size_t *saved)
{
    *v = lookup(m, key);
    if (!*v || kl__node_is_null(*v)) {
        *v = NULL;
        return 0;
    }
    *saved = path_push(c, key);
    int rc = record(c, *v);
    if (rc < 0) {
        path_pop(c, *saved);
        return rc;
    }
    return 1;
}

static int missing(chk *c, const kl__node *m, const char *key)
{
    if (!c->plen)
        return fail(c, m, "missing required section '%s'", key);
    return fail(c, m, "missing required key '%s' in '%s'", key, c->path);
}

/* ---- scalar values at the current path ---- */

static int v_str(chk *c, const kl__node *v, const char **out)
{
    if (v->kind != KL__NODE_SCALAR)
        return fail(c, v, "'%s' must be a string, not %s", c->path, SHOWN(v));
    *out = v->text;
    return 0;
}

static int v_name(chk *c, const kl__node *v, const char **out)
{
    TRY(v_str(c, v, out));
    if (!**out)
        return fail(c, v, "'%s' must not be empty", c->path);
    return 0;
}

static int all_in(const char *s, const char *set)
{
    return *s && strspn(s, set) == strlen(s);
}

static int v_num(chk *c, const kl__node *v, double *out)
{
    if (v->kind != KL__NODE_SCALAR || !all_in(v->text, "0123456789+-.eE"))
        return fail(c, v, "'%s' must be a number, not %s", c->path, SHOWN(v));
    char *end;
    errno = 0;
    double d = strtod(v->text, &end);
    if (*end || end == v->text)
        return fail(c, v, "'%s' must be a number, not %s", c->path, SHOWN(v));
    if (errno == ERANGE && (d > 1 || d < -1))
        return fail(c, v, "'%s' is out of range: %s", c->path, SHOWN(v));
    *out = d;
    return 0;
}

static int v_int(chk *c, const kl__node *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (v->kind != KL__NODE_SCALAR || !all_in(v->text, "0123456789+-"))
        return fail(c, v, "'%s' must be an integer, not %s", c->path, SHOWN(v));
    char *end;
    errno = 0;
    long long x = strtoll(v->text, &end, 10);
    if (*end || end == v->text)
        return fail(c, v, "'%s' must be an integer, not %s", c->path, SHOWN(v));
    if (errno == ERANGE || x < lo || x > hi) {
        if (hi >= INT32_MAX)
            return fail(c, v, "'%s' must be at least %lld, not %s", c->path, (long long)lo,
                        SHOWN(v));
        return fail(c, v, "'%s' must be between %lld and %lld, not %s", c->path, (long long)lo,
                    (long long)hi, SHOWN(v));
    }
    *out = x;
    return 0;
}

static int v_bool(chk *c, const kl__node *v, int *out)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes",
                                      "YES",  "on",   "On",   "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No",
                                     "NO",    "off",   "Off",   "OFF"};
    if (v->kind == KL__NODE_SCALAR) {
        for (size_t i = 0; i < KL_ARRAY_LEN(yes); i++) {
            if (!strcmp(v->text, yes[i])) {
                *out = 1;
                return 0;
            }
            if (!strcmp(v->text, no[i])) {
                *out = 0;
                return 0;
            }
        }
    }
    return fail(c, v, "'%s' must be true or false, not %s", c->path, SHOWN(v));
}

/* "a, b, c" into buf. */
static const char *join(const char *const *names, size_t n, char *buf, size_t size)
{
    size_t j = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && j < size; i++) {
        int w = snprintf(buf + j, size - j, "%s%s", i ? ", " : "", names[i]);
        if (w < 0)
            break;
        j += (size_t)w;
    }
    return buf;
}

static int bad_enum(chk *c, const kl__node *v, const char *const *names, size_t n)
{
    char list[320], hint[128] = "";
    if (v->kind == KL__NODE_SCALAR) {
        const char *near = kl_suggest(v->text, names, n);
        if (near)
            snprintf(hint, sizeof hint, "; did you mean '%s'?", near);
    }
    return fail(c, v, "'%s' must be one of %s, not %s%s", c->path,
                join(names, n, list, sizeof list), SHOWN(v), hint);
}

static int v_enum(chk *c, const kl__node *v, const char *const *names, size_t n, int *out)
{
    if (v->kind == KL__NODE_SCALAR) {
        for (size_t i = 0; i < n; i++) {
            if (!strcmp(v->text, names[i])) {
                *out = (int)i;
                return 0;
            }
        }
    }
    return bad_enum(c, v, names, n);
}

static int range(chk *c, const kl__node *v, double x, double lo, double hi)
{
    if (x >= lo && x <= hi)
        return 0;
    if (hi == HUGE_VAL)
        return fail(c, v, "'%s' must be at least %g, not %s", c->path, lo, SHOWN(v));
    return fail(c, v, "'%s' must be between %g and %g, not %s", c->path, lo, hi, SHOWN(v));
}

/* A list of strings (a single string counts as a list of one). */
static int v_strlist(chk *c, const kl__node *v, int allow_empty, const char ***out, size_t *n)
{
    if (v->kind == KL__NODE_MAP)
        return fail(c, v, "'%s' must be a list of strings, not a mapping", c->path);
    size_t count = v->kind == KL__NODE_SEQ ? v->n : 1;
    const char **arr = kl__pool_calloc(c->pool, count ? count : 1, sizeof *arr);
    if (!arr)
        return oom(c);
    if (v->kind == KL__NODE_SCALAR) {
        TRY(allow_empty ? v_str(c, v, &arr[0]) : v_name(c, v, &arr[0]));
    } else {
        size_t i = 0;
        for (const kl__node *it = v->child; it; it = it->next, i++) {
            size_t saved = path_push_index(c, i);
            TRY(record(c, it));
            if (it->kind != KL__NODE_SCALAR)
                return fail(c, it, "'%s' must be a string, not %s", c->path, SHOWN(it));
            TRY(allow_empty ? v_str(c, it, &arr[i]) : v_name(c, it, &arr[i]));
            path_pop(c, saved);
        }
    }
    *out = arr;
    *n = count;
    return 0;
}

/* ---- fields: the same, looked up by key in a mapping; 1 when present ---- */

#define FIELD(call)                                                                                \
    do {                                                                                           \
        const kl__node *v;                                                                         \
        size_t saved;                                                                              \
        int got = enter(c, m, key, &v, &saved);                                                    \
        if (got <= 0)                                                                              \
            return got;                                                                            \
        int rc = (call);                                                                           \
        if (rc < 0)                                                                                \
            return rc;                                                                             \
        path_pop(c, saved);                                                                        \
        return 1;                                                                                  \
    } while (0)

static int f_str(chk *c, const kl__node *m, const char *key, const char **out)
{
    FIELD(v_str(c, v, out));
}

static int f_name(chk *c, const kl__node *m, const char *key, const char **out)
{
    FIELD(v_name(c, v, out));
}

static int f_num(chk *c, const kl__node *m, const char *key, double lo, double hi, double *out)
{
    FIELD(v_num(c, v, out) < 0 ? KL_EPARSE : range(c, v, *out, lo, hi));
}

static int f_int(chk *c, const kl__node *m, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    FIELD(v_int(c, v, lo, hi, out));
}

static int f_int32(chk *c, const kl__node *m, const char *key, int lo, int hi, int *out)
{
    int64_t x;
    int got = f_int(c, m, key, lo, hi, &x);
    if (got > 0)
        *out = (int)x;
    return got;
}

static int f_bool(chk *c, const kl__node *m, const char *key, int *out)
{
    FIELD(v_bool(c, v, out));
}

static int f_enum(chk *c, const kl__node *m, const char *key, const char *const *names, size_t n,
                  int *out)
{
    FIELD(v_enum(c, v, names, n, out));
}

static int f_strlist(chk *c, const kl__node *m, const char *key, int allow_empty, const char ***out,
                     size_t *n)
{
    FIELD(v_strlist(c, v, allow_empty, out, n));
}

#define KEYS(...)                                                                                  \
    static const char *const keys[] = {__VA_ARGS__};                                               \
    TRY(check_map(c, m, keys, KL_ARRAY_LEN(keys)))

/* Run fn on m's value for key with the key on the path; 0 when absent. */
static int section(chk *c, const kl__node *m, const char *key, int (*fn)(chk *c, const kl__node *v))
{
    const kl__node *v;
    size_t saved;
    int got = enter(c, m, key, &v, &saved);
    if (got <= 0)
        return got;
    TRY(fn(c, v));
    path_pop(c, saved);
    return 1;
}

/* Walk the items of sequence v, calling fn on each with "[i]" on the path. */
static int each_item(chk *c, const kl__node *v, void *arr, size_t item_size,
                     int (*fn)(chk *c, const kl__node *item, void *dst))
{
    if (v->kind != KL__NODE_SEQ)
        return fail(c, v, "'%s' must be a list, not %s", c->path, SHOWN(v));
    size_t i = 0;
    for (const kl__node *it = v->child; it; it = it->next, i++) {
        size_t saved = path_push_index(c, i);
        TRY(record(c, it));
        TRY(fn(c, it, (char *)arr + i * item_size));
        path_pop(c, saved);
    }
    return 0;
}

/* Walk the pairs of mapping v (keys free-form but non-empty), with ".key" on the path. */
static int each_pair(chk *c, const kl__node *v, void *arr, size_t item_size,
                     int (*fn)(chk *c, const kl__node *key, const kl__node *val, void *dst))
{
    TRY(check_map(c, v, NULL, 0));
    size_t i = 0;
    for (const kl__node *k = v->child; k; k = k->next->next, i++) {
        if (!k->len)
            return fail(c, k, "'%s' has an empty key", c->path);
        size_t saved = path_push(c, k->text);
        TRY(record(c, k->next));
        TRY(fn(c, k, k->next, (char *)arr + i * item_size));
        path_pop(c, saved);
    }
    return 0;
}

/* Every key of mapping v must be one of names[] (what: "drift test", ...). */
static int check_names(chk *c, const kl__node *v, const char *what, const char *const *names,
                       size_t n)
{
    for (const kl__node *k = v->child; k; k = k->next->next) {
        size_t i = 0;
        while (i < n && strcmp(names[i], k->text))
            i++;
        if (i < n)
            continue;
        char list[320], hint[128] = "";
        const char *near = kl_suggest(k->text, names, n);
        if (near)
            snprintf(hint, sizeof hint, "; did you mean '%s'?", near);
        return fail(c, k, "unknown %s %s in '%s' (known: %s)%s", what, SHOWN(k), c->path,
                    join(names, n, list, sizeof list), hint);
    }
    return 0;
}

static void *alloc_items(chk *c, size_t n, size_t size)
{
    return kl__pool_calloc(c->pool, n ? n : 1, size);
}

/* ---- version, project, objective ---- */

static int parse_project(chk *c, const kl__node *m)
{
    KEYS("name", "description", "owner");
    kl_spec *s = c->s;
    int got;
    TRY(got = f_name(c, m, "name", &s->project.name));
    if (!got)
        return missing(c, m, "name");
    TRY(f_str(c, m, "description", &s->project.description));
    TRY(f_str(c, m, "owner", &s->project.owner));
    return 0;
}

static int parse_objective(chk *c, const kl__node *m)
{
    KEYS("task", "target", "description", "business_outcome", "positive_class", "horizon");
    kl_spec *s = c->s;
    int got, task = 0;
    TRY(got = f_enum(c, m, "task", task_names, KL_ARRAY_LEN(task_names), &task));
    if (!got)
        return missing(c, m, "task");
    s->objective.task = (enum kl_task)task;
    TRY(got = f_name(c, m, "target", &s->objective.target));
    if (!got)
        return missing(c, m, "target");
    TRY(f_str(c, m, "description", &s->objective.description));
    TRY(f_str(c, m, "business_outcome", &s->objective.business_outcome));
    TRY(got = f_name(c, m, "positive_class", &s->objective.positive_class));
    if (got && task != KL_TASK_CLASSIFICATION)
        return fail(c, lookup(m, "positive_class"),
                    "'%s.positive_class' applies only to classification, not %s", c->path,
                    task_names[task]);
    TRY(got = f_int32(c, m, "horizon", 1, INT32_MAX, &s->objective.horizon));
    if (got && task != KL_TASK_FORECAST)
        return fail(c, lookup(m, "horizon"), "'%s.horizon' applies only to forecast, not %s",
                    c->path, task_names[task]);
    if (!got && task == KL_TASK_FORECAST)
        s->objective.horizon = 1;
    return 0;
}

/* ---- data ---- */

static int parse_column(chk *c, const kl__node *key, const kl__node *v, void *dst)
{
    kl_csv_override *o = dst;
    o->column = key->text;
    const kl__node *tnode = v, *m = v;
    if (v->kind == KL__NODE_MAP) {
        KEYS("type", "format");
        tnode = lookup(m, "type");
        if (!tnode || kl__node_is_null(tnode))
            return missing(c, m, "type");
        size_t saved = path_push(c, "type");
        TRY(record(c, tnode));
        int t = 0;
        TRY(v_enum(c, tnode, type_names, KL_ARRAY_LEN(type_names), &t));
        path_pop(c, saved);
        o->type = (enum kl_type)t;
        int got;
        TRY(got = f_name(c, m, "format", &o->time_format));
        if (got && t != KL_TYPE_DATE && t != KL_TYPE_DATETIME)
            return fail(c, lookup(m, "format"),
                        "'%s.format' applies only to date and datetime columns, not %s", c->path,
                        type_names[t]);
        return 0;
    }
    int t = 0;
    TRY(v_enum(c, tnode, type_names, KL_ARRAY_LEN(type_names), &t));
    o->type = (enum kl_type)t;
    return 0;
}

static int parse_delimiter(chk *c, const kl__node *v, char *out)
{
    static const char *const names[] = {",", ";", "|", "tab"};
    static const char chars[] = {',', ';', '|', '\t'};
    if (v->kind == KL__NODE_SCALAR && !strcmp(v->text, "\t")) {
        *out = '\t';
        return 0;
    }
    static const char *const words[] = {"comma", "semicolon", "pipe", "tab"};
    for (size_t i = 0; v->kind == KL__NODE_SCALAR && i < 4; i++) {
        if (!strcmp(v->text, names[i]) || !strcmp(v->text, words[i])) {
            *out = chars[i];
            return 0;
        }
    }
    return fail(c, v, "'%s' must be one of ',', ';', '|', tab, not %s", c->path, SHOWN(v));
}

/* Type overrides of mapping v into *out (data.columns, data.sources[i].columns). */
static int parse_columns(chk *c, const kl__node *m, kl_csv_override **out, size_t *n)
{
    const kl__node *v;
    size_t saved;
    int got;
    TRY(got = enter(c, m, "columns", &v, &saved));
    if (got) {
        TRY(check_map(c, v, NULL, 0));
        *out = alloc_items(c, v->n, sizeof **out);
        if (!*out)
            return oom(c);
        *n = v->n;
        TRY(each_pair(c, v, *out, sizeof **out, parse_column));
        path_pop(c, saved);
    }
    return 0;
}

static const char *const join_how_names[] = {"inner", "left"};

/* One data.sources entry; the first (the base) takes no join fields. */
static int parse_source(chk *c, const kl__node *m, void *dst)
{
    KEYS("source", "name", "on", "asof", "by", "tolerance", "how", "columns");
    kl_spec_source *src = dst;
    int got, got_on, got_asof, how = KL_JOIN_HOW_LEFT;
    int first = src == c->s->data.sources;
    TRY(got = f_name(c, m, "source", &src->source));
    if (!got)
        return missing(c, m, "source");
    TRY(f_name(c, m, "name", &src->name));
    TRY(got_on = f_strlist(c, m, "on", 0, &src->on, &src->n_on));
    TRY(got_asof = f_name(c, m, "asof", &src->asof));
    TRY(f_strlist(c, m, "by", 0, &src->by, &src->n_by));
    TRY(f_name(c, m, "tolerance", &src->tolerance));
    TRY(got = f_enum(c, m, "how", join_how_names, KL_ARRAY_LEN(join_how_names), &how));
    src->how = (enum kl_join_how)how;
    static const char *const join_keys[] = {"on", "asof", "by", "tolerance", "how"};
    for (size_t k = 0; first && k < KL_ARRAY_LEN(join_keys); k++)
        if (lookup(m, join_keys[k]))
            return fail(c, lookup(m, join_keys[k]),
                        "'%s.%s': the first source is the base, joined onto by the next ones; "
                        "it takes no join keys",
                        c->path, join_keys[k]);
    if (!first && got_on == got_asof)
        return fail(c, m, "'%s' needs exactly one of 'on' (equality keys) or 'asof' (a time column)",
                    c->path);
    if (got_on && (src->n_by || src->tolerance))
        return fail(c, lookup(m, src->n_by ? "by" : "tolerance"),
                    "'%s.%s' applies only to an as-of join ('asof')", c->path,
                    src->n_by ? "by" : "tolerance");
    return parse_columns(c, m, &src->columns, &src->n_columns);
}

static int parse_data(chk *c, const kl__node *m)
{
    KEYS("source", "time_column", "segment_column", "id_column", "delimiter", "missing_tokens",
         "columns", "sources");
    kl_spec *s = c->s;
    int got;
    TRY(got = f_name(c, m, "source", &s->data.source));
    {
        const kl__node *v;
        size_t saved;
        int got_sources;
        TRY(got_sources = enter(c, m, "sources", &v, &saved));
        if (got_sources && got)
            return fail(c, lookup(m, "sources"),
                        "'data' has both 'source' and 'sources'; give one (the first of 'sources' "
                        "is the base)");
        if (got_sources) {
            if (v->kind != KL__NODE_SEQ)
                return fail(c, v, "'%s' must be a list of sources, not %s", c->path, SHOWN(v));
            if (!v->n)
                return fail(c, v, "'%s' must list at least one source", c->path);
            s->data.sources = alloc_items(c, v->n, sizeof *s->data.sources);
            if (!s->data.sources)
                return oom(c);
            s->data.n_sources = v->n;
            TRY(each_item(c, v, s->data.sources, sizeof *s->data.sources, parse_source));
            path_pop(c, saved);
            s->data.source = s->data.sources[0].source;
            got = 1;
        }
    }
    if (!got)
        return missing(c, m, "source");
    TRY(f_name(c, m, "time_column", &s->data.time_column));
    TRY(f_name(c, m, "segment_column", &s->data.segment_column));
    TRY(f_name(c, m, "id_column", &s->data.id_column));
    const kl__node *v;
    size_t saved;
    TRY(got = enter(c, m, "delimiter", &v, &saved));
    if (got) {
        TRY(parse_delimiter(c, v, &s->data.delimiter));
        path_pop(c, saved);
    }
    TRY(f_strlist(c, m, "missing_tokens", 1, &s->data.missing_tokens, &s->data.n_missing_tokens));
    TRY(parse_columns(c, m, &s->data.columns, &s->data.n_columns));
    const char *roles[] = {s->data.time_column, s->data.segment_column, s->data.id_column};
    const char *role_keys[] = {"time_column", "segment_column", "id_column"};
    for (size_t i = 0; i < 3; i++) {
        if (roles[i] && s->objective.target && !strcmp(roles[i], s->objective.target))
            return fail(c, lookup(m, role_keys[i]),
                        "'data.%s' is '%s', the target; the target cannot also be the %s",
                        role_keys[i], roles[i], role_keys[i]);
    }
    return 0;
}

/* ---- constraints ---- */

static int parse_policy(chk *c, const kl__node *v, kl_pii_policy *p)
{
    int a = 0;
    if (v->kind != KL__NODE_MAP) {
        TRY(v_enum(c, v, pii_action_names, KL_ARRAY_LEN(pii_action_names), &a));
        p->action = (enum kl_pii_action)a;
        p->keep_last = a == KL_PII_ACTION_MASK ? 4 : 0;
        return 0;
    }
    const kl__node *m = v;
    KEYS("action", "keep_last");
    int got = 0;
    TRY(got = f_enum(c, m, "action", pii_action_names, KL_ARRAY_LEN(pii_action_names), &a));
    if (!got)
        return missing(c, m, "action");
    p->action = (enum kl_pii_action)a;
    p->keep_last = a == KL_PII_ACTION_MASK ? 4 : 0;
    TRY(got = f_int32(c, m, "keep_last", 0, 4096, &p->keep_last));
    if (got && a != KL_PII_ACTION_MASK)
        return fail(c, lookup(m, "keep_last"), "'%s.keep_last' applies only to mask, not %s",
                    c->path, pii_action_names[a]);
    return 0;
}

static int parse_pii_column(chk *c, const kl__node *key, const kl__node *v, void *dst)
{
    kl_spec_pii_rule *r = dst;
    r->name = key->text;
    return parse_policy(c, v, &r->policy);
}

static int parse_pii_entity(chk *c, const kl__node *key, const kl__node *v, void *dst)
{
    kl_spec_pii_rule *r = dst;
    r->name = key->text;
    return parse_policy(c, v, &r->policy);
}

static int parse_pii(chk *c, const kl__node *m)
{
    KEYS("default", "columns", "entities");
    kl_spec *s = c->s;
    const kl__node *v;
    size_t saved;
    int got;
    TRY(got = enter(c, m, "default", &v, &saved));
    if (got) {
        TRY(parse_policy(c, v, &s->constraints.pii_default));
        path_pop(c, saved);
    }
    TRY(got = enter(c, m, "columns", &v, &saved));
    if (got) {
        TRY(check_map(c, v, NULL, 0));
        s->constraints.pii_columns = alloc_items(c, v->n, sizeof(kl_spec_pii_rule));
        if (!s->constraints.pii_columns)
            return oom(c);
        s->constraints.n_pii_columns = v->n;
        TRY(each_pair(c, v, s->constraints.pii_columns, sizeof(kl_spec_pii_rule),
                      parse_pii_column));
        path_pop(c, saved);
    }
    TRY(got = enter(c, m, "entities", &v, &saved));
    if (got) {
        TRY(check_map(c, v, NULL, 0));
        TRY(check_names(c, v, "PII entity", pii_entities, KL_ARRAY_LEN(pii_entities)));
        s->constraints.pii_entities = alloc_items(c, v->n, sizeof(kl_spec_pii_rule));
        if (!s->constraints.pii_entities)
            return oom(c);
        s->constraints.n_pii_entities = v->n;
        TRY(each_pair(c, v, s->constraints.pii_entities, sizeof(kl_spec_pii_rule),
                      parse_pii_entity));
        path_pop(c, saved);
    }
    return 0;
}

static int parse_terms(chk *c, const kl__node *m, void *dst)
{
    KEYS("source", "licence", "terms", "purposes", "retention");
    kl_spec_terms *t = dst;
    int got;
    TRY(got = f_name(c, m, "source", &t->source));
    if (!got)
        return missing(c, m, "source");
    TRY(f_str(c, m, "licence", &t->licence));
    TRY(f_str(c, m, "terms", &t->terms));
    TRY(f_strlist(c, m, "purposes", 0, &t->purposes, &t->n_purposes));
    TRY(f_str(c, m, "retention", &t->retention));
    return 0;
}

/*
 * "<N>s|m|h|d|w" in seconds; -1 when malformed. Shared in spirit with
 * drift.window.period, which takes h, d and w only.
 */
static int64_t age_secs(const char *t)
{
    char *end;
    if (!*t || *t < '0' || *t > '9')
        return -1;
    errno = 0;
    long long n = strtoll(t, &end, 10);
    if (errno || n <= 0 || end[0] == '\0' || end[1] != '\0')
        return -1;
    static const char units[] = "smhdw";
    static const int64_t secs[] = {1, 60, 3600, 86400, 604800};
    const char *u = strchr(units, end[0]);
    if (!u || n > INT64_MAX / secs[u - units])
        return -1;
    return (int64_t)n * secs[u - units];
}

/* The keys each expectation kind takes besides column and expect. */
static const char *const expect_params[][3] = {
    [KL_EXPECT_KIND_RANGE] = {"min", "max", NULL},
    [KL_EXPECT_KIND_VALUES] = {"values", NULL, NULL},
    [KL_EXPECT_KIND_UNIQUE] = {NULL, NULL, NULL},
    [KL_EXPECT_KIND_REGEX] = {"pattern", NULL, NULL},
    [KL_EXPECT_KIND_MISSING] = {"max_share", NULL, NULL},
    [KL_EXPECT_KIND_ROWS] = {"min", "max", NULL},
    [KL_EXPECT_KIND_TYPE] = {"type", NULL, NULL},
    [KL_EXPECT_KIND_FRESHNESS] = {"max_age", NULL, NULL},
};

static int parse_expectation(chk *c, const kl__node *m, void *dst)
{
    KEYS("column", "expect", "min", "max", "values", "pattern", "max_share", "type", "max_age");
    kl_spec_expectation *e = dst;
    int got, kind = 0;
    TRY(got = f_enum(c, m, "expect", expect_kind_names, KL_ARRAY_LEN(expect_kind_names), &kind));
    if (!got)
        return missing(c, m, "expect");
    e->kind = (enum kl_expect_kind)kind;
    for (const kl__node *k = m->child; k; k = k->next->next) {
        if (!strcmp(k->text, "column") || !strcmp(k->text, "expect"))
            continue;
        size_t i = 0;
        while (i < 3 && expect_params[kind][i] && strcmp(expect_params[kind][i], k->text))
            i++;
        if (i == 3 || !expect_params[kind][i])
            return fail(c, k, "'%s.%s' does not apply to 'expect: %s'", c->path, k->text,
                        expect_kind_names[kind]);
    }
    TRY(got = f_name(c, m, "column", &e->column));
    if (got && kind == KL_EXPECT_KIND_ROWS)
        return fail(c, lookup(m, "column"),
                    "'%s.column' does not apply to 'expect: rows' (a table-level expectation)",
                    c->path);
    if (!got && kind != KL_EXPECT_KIND_ROWS && kind != KL_EXPECT_KIND_FRESHNESS)
        return missing(c, m, "column");
    switch (e->kind) {
    case KL_EXPECT_KIND_RANGE:
    case KL_EXPECT_KIND_ROWS: {
        double lo = kind == KL_EXPECT_KIND_ROWS ? 0 : -HUGE_VAL;
        TRY(e->has_min = f_num(c, m, "min", lo, HUGE_VAL, &e->min));
        TRY(e->has_max = f_num(c, m, "max", lo, HUGE_VAL, &e->max));
        if (!e->has_min && !e->has_max)
            return fail(c, m, "'%s' needs 'min', 'max' or both", c->path);
        if (e->has_min && e->has_max && e->min > e->max)
            return fail(c, lookup(m, "max"), "'%s.max' (%g) is below its min (%g)", c->path, e->max,
                        e->min);
        break;
    }
    case KL_EXPECT_KIND_VALUES:
        TRY(got = f_strlist(c, m, "values", 1, &e->values, &e->n_values));
        if (!got)
            return missing(c, m, "values");
        if (!e->n_values)
            return fail(c, lookup(m, "values"), "'%s.values' must not be empty", c->path);
        break;
    case KL_EXPECT_KIND_REGEX: {
        TRY(got = f_str(c, m, "pattern", &e->pattern));
        if (!got)
            return missing(c, m, "pattern");
        regex_t re;
        int rc = regcomp(&re, e->pattern, REG_EXTENDED | REG_NOSUB);
        if (rc) {
            char why[128];
            regerror(rc, &re, why, sizeof why);
            return fail(c, lookup(m, "pattern"),
                        "'%s.pattern' is not a valid regular expression: %s", c->path, why);
        }
        regfree(&re);
        break;
    }
    case KL_EXPECT_KIND_MISSING:
        TRY(f_num(c, m, "max_share", 0, 1, &e->max_share));
        break;
    case KL_EXPECT_KIND_TYPE: {
        TRY(got = f_enum(c, m, "type", type_names, KL_ARRAY_LEN(type_names), &e->type));
        if (!got)
            return missing(c, m, "type");
        e->type = kl_type_parse(type_names[e->type]);
        break;
    }
    case KL_EXPECT_KIND_FRESHNESS:
        TRY(got = f_name(c, m, "max_age", &e->max_age));
        if (!got)
            return missing(c, m, "max_age");
        e->max_age_secs = age_secs(e->max_age);
        if (e->max_age_secs < 0)
            return fail(c, lookup(m, "max_age"),
                        "'%s.max_age' must be a positive number followed by s, m, h, d or w "
                        "(such as 30d), not '%s'",
                        c->path, e->max_age);
        if (!e->column && !c->s->data.time_column)
            return fail(c, m,
                        "'%s' needs a 'column' (a time column), as data.time_column is not set",
                        c->path);
        break;
    case KL_EXPECT_KIND_UNIQUE:
        break;
    }
    return 0;
}

/* constraints.alerts: the thresholds of `keel profile`'s alerts. */
static int parse_alerts(chk *c, const kl__node *m)
{
    KEYS("missing", "zeros", "infinite", "duplicates", "skewed", "high_cardinality", "imbalance",
         "high_correlation", "leakage", "date_like");
    kl_spec *s = c->s;
    TRY(f_num(c, m, "missing", 0, 1, &s->constraints.alerts.missing));
    TRY(f_num(c, m, "zeros", 0, 1, &s->constraints.alerts.zeros));
    TRY(f_num(c, m, "infinite", 0, 1, &s->constraints.alerts.infinite));
    TRY(f_num(c, m, "duplicates", 0, 1, &s->constraints.alerts.duplicates));
    TRY(f_num(c, m, "skewed", 0, 1e300, &s->constraints.alerts.skewed));
    TRY(f_num(c, m, "high_cardinality", 1, 1e300, &s->constraints.alerts.high_cardinality));
    TRY(f_num(c, m, "imbalance", 0, 1, &s->constraints.alerts.imbalance));
    TRY(f_num(c, m, "high_correlation", 0, 1, &s->constraints.alerts.high_correlation));
    TRY(f_num(c, m, "leakage", 0, 1, &s->constraints.alerts.leakage));
    TRY(f_num(c, m, "date_like", 0, 1, &s->constraints.alerts.date_like));
    return 0;
}

static int parse_constraints(chk *c, const kl__node *m)
{
    KEYS("terms", "require_terms", "purpose", "pii", "protected", "min_group_share",
         "proxy_threshold", "proxy_auc", "expectations", "alerts");
    kl_spec *s = c->s;
    const kl__node *v;
    size_t saved;
    int got;
    TRY(got = enter(c, m, "terms", &v, &saved));
    if (got) {
        if (v->kind != KL__NODE_SEQ)
            return fail(c, v, "'%s' must be a list, not %s", c->path, SHOWN(v));
        s->constraints.terms = alloc_items(c, v->n, sizeof(kl_spec_terms));
        if (!s->constraints.terms)
            return oom(c);
        s->constraints.n_terms = v->n;
        TRY(each_item(c, v, s->constraints.terms, sizeof(kl_spec_terms), parse_terms));
        path_pop(c, saved);
    }
    TRY(f_bool(c, m, "require_terms", &s->constraints.require_terms));
    TRY(f_str(c, m, "purpose", &s->constraints.purpose));
    TRY(section(c, m, "pii", parse_pii));
    TRY(f_strlist(c, m, "protected", 0, &s->constraints.protected_columns,
                  &s->constraints.n_protected_columns));
    TRY(f_num(c, m, "min_group_share", 0, 1, &s->constraints.min_group_share));
    TRY(f_num(c, m, "proxy_threshold", 0, 1, &s->constraints.proxy_threshold));
    TRY(f_num(c, m, "proxy_auc", 0.5, 1, &s->constraints.proxy_auc));
    TRY(section(c, m, "alerts", parse_alerts));
    TRY(got = enter(c, m, "expectations", &v, &saved));
    if (got) {
        if (v->kind != KL__NODE_SEQ)
            return fail(c, v, "'%s' must be a list, not %s", c->path, SHOWN(v));
        s->constraints.expectations = alloc_items(c, v->n, sizeof(kl_spec_expectation));
        if (!s->constraints.expectations)
            return oom(c);
        s->constraints.n_expectations = v->n;
        TRY(each_item(c, v, s->constraints.expectations, sizeof(kl_spec_expectation),
                      parse_expectation));
        path_pop(c, saved);
    }
    for (size_t i = 0; i < s->constraints.n_protected_columns; i++) {
        if (!strcmp(s->constraints.protected_columns[i], s->objective.target)) {
            const kl__node *p = lookup(m, "protected");
            const kl__node *it = p->kind == KL__NODE_SEQ ? p->child : p;
            for (size_t k = 0; k < i; k++)
                it = it->next;
            return fail(
                c, it,
                "'%s.protected[%zu]' is '%s', the target; a protected column cannot be predicted",
                c->path, i, s->objective.target);
        }
    }
    return 0;
}

/* ---- features ---- */

static int parse_transform(chk *c, const kl__node *m, void *dst)
{
    kl_spec_transform *t = dst;
    TRY(check_map(c, m, NULL, 0));
    const kl__node *one = lookup(m, "column"), *many = lookup(m, "columns");
    if (one && kl__node_is_null(one))
        one = NULL;
    if (many && kl__node_is_null(many))
        many = NULL;
    if (one && many)
        return fail(c, m, "'%s' has both 'column' and 'columns'; give one", c->path);
    if (!one && !many)
        return fail(c, m, "'%s' needs 'column' or 'columns'", c->path);
    if (one) {
        t->columns = kl__pool_calloc(c->pool, 1, sizeof *t->columns);
        if (!t->columns)
            return oom(c);
        t->n_columns = 1;
        TRY(f_name(c, m, "column", &t->columns[0]));
    } else {
        TRY(f_strlist(c, m, "columns", 0, &t->columns, &t->n_columns));
        if (!t->n_columns)
            return fail(c, many, "'%s.columns' must name at least one column", c->path);
    }
    int op = 0, got = 0;
    TRY(got = f_enum(c, m, "op", transform_op_names, KL_ARRAY_LEN(transform_op_names), &op));
    if (!got)
        return missing(c, m, "op");
    t->op = (enum kl_transform_op)op;
    t->params = alloc_items(c, m->n, sizeof *t->params);
    if (!t->params)
        return oom(c);
    for (const kl__node *k = m->child; k; k = k->next->next) {
        if (!strcmp(k->text, "column") || !strcmp(k->text, "columns") || !strcmp(k->text, "op"))
            continue;
        const kl__node *v = k->next;
        size_t saved = path_push(c, k->text);
        TRY(record(c, v));
        if (!k->len)
            return fail(c, k, "'%s' has an empty key", c->path);
        if (v->kind != KL__NODE_SCALAR || kl__node_is_null(v))
            return fail(c, v, "'%s' must be a number or a word, not %s", c->path, SHOWN(v));
        t->params[t->n_params++] =
            (kl_spec_kv){k->text, v->text, v->quoted && kl__text_looks_typed(v->text)};
        path_pop(c, saved);
    }
    return 0;
}

static int parse_cost(chk *c, const kl__node *key, const kl__node *v, void *dst)
{
    kl_spec_cost *cost = dst;
    cost->column = key->text;
    TRY(v_num(c, v, &cost->cost));
    return range(c, v, cost->cost, 0, HUGE_VAL);
}

static int str_ptr_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Fail when list[i] (from m's key) is the target or a protected column. The
 * protected names are sorted once and searched, so long lists stay
 * O(n log n).
 */
static int check_feature_list(chk *c, const kl__node *m, const char *key, const char **list,
                              size_t n)
{
    const kl_spec *s = c->s;
    size_t n_prot = s->constraints.n_protected_columns;
    const char **prot = malloc((n_prot ? n_prot : 1) * sizeof *prot);
    if (!prot)
        return oom(c);
    if (n_prot)
        memcpy(prot, s->constraints.protected_columns, n_prot * sizeof *prot);
    qsort(prot, n_prot, sizeof *prot, str_ptr_cmp);
    const kl__node *v = lookup(m, key);
    const kl__node *it = v->kind == KL__NODE_SEQ ? v->child : v;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++, it = it->next) {
        if (!strcmp(list[i], s->objective.target))
            rc = fail(c, it, "'%s.%s[%zu]' is '%s', the target; it cannot be a feature", c->path,
                      key, i, list[i]);
        else if (n_prot && bsearch(&list[i], prot, n_prot, sizeof *prot, str_ptr_cmp))
            rc = fail(c, it,
                      "'%s.%s[%zu]' is '%s', which constraints.protected lists; a protected "
                      "column cannot be a feature",
                      c->path, key, i, list[i]);
    }
    free(prot);
    return rc;
}

static int parse_features(chk *c, const kl__node *m)
{
    KEYS("include", "exclude", "transforms", "budget", "costs");
    kl_spec *s = c->s;
    int got;
    TRY(got = f_strlist(c, m, "include", 0, &s->features.include, &s->features.n_include));
    if (got)
        TRY(check_feature_list(c, m, "include", s->features.include, s->features.n_include));
    TRY(f_strlist(c, m, "exclude", 0, &s->features.exclude, &s->features.n_exclude));
    const kl__node *v;
    size_t saved;
    TRY(got = enter(c, m, "transforms", &v, &saved));
    if (got) {
        if (v->kind != KL__NODE_SEQ)
            return fail(c, v, "'%s' must be a list, not %s", c->path, SHOWN(v));
        s->features.transforms = alloc_items(c, v->n, sizeof(kl_spec_transform));
        if (!s->features.transforms)
            return oom(c);
        s->features.n_transforms = v->n;
        TRY(each_item(c, v, s->features.transforms, sizeof(kl_spec_transform), parse_transform));
        path_pop(c, saved);
    }
    TRY(got = f_num(c, m, "budget", 0, HUGE_VAL, &s->features.budget));
    s->features.has_budget = got;
    TRY(got = enter(c, m, "costs", &v, &saved));
    if (got) {
        TRY(check_map(c, v, NULL, 0));
        s->features.costs = alloc_items(c, v->n, sizeof(kl_spec_cost));
        if (!s->features.costs)
            return oom(c);
        s->features.n_costs = v->n;
        TRY(each_pair(c, v, s->features.costs, sizeof(kl_spec_cost), parse_cost));
        path_pop(c, saved);
    }
    return 0;
}

/* ---- train ---- */

static int parse_kv(chk *c, const kl__node *key, const kl__node *v, void *dst)
{
    kl_spec_kv *kv = dst;
    if (v->kind != KL__NODE_SCALAR || kl__node_is_null(v))
        return fail(c, v, "'%s' must be a number or a word, not %s", c->path, SHOWN(v));
    *kv = (kl_spec_kv){key->text, v->text, v->quoted && kl__text_looks_typed(v->text)};
    return 0;
}

static int parse_validation(chk *c, const kl__node *m)
{
    KEYS("method", "test_size", "folds", "group_column");
    kl_spec *s = c->s;
    int method = (int)s->train.validation.method, got;
    TRY(got = f_enum(c, m, "method", validation_method_names, KL_ARRAY_LEN(validation_method_names),
                     &method));
    s->train.validation.method = (enum kl_validation_method)method;
    if (got && method == KL_VALIDATION_METHOD_STRATIFIED_KFOLD &&
        s->objective.task != KL_TASK_CLASSIFICATION)
        return fail(c, lookup(m, "method"),
                    "'%s.method' stratified_kfold needs a classification task, not %s", c->path,
                    task_names[s->objective.task]);
    double ts;
    TRY(got = f_num(c, m, "test_size", 0, 1, &ts));
    if (got) {
        if (ts <= 0 || ts >= 1)
            return fail(c, lookup(m, "test_size"),
                        "'%s.test_size' must be greater than 0 and less than 1, not %s", c->path,
                        SHOWN(lookup(m, "test_size")));
        s->train.validation.test_size = ts;
    }
    TRY(f_int32(c, m, "folds", 2, 1000000, &s->train.validation.folds));
    TRY(f_name(c, m, "group_column", &s->train.validation.group_column));
    if (method == KL_VALIDATION_METHOD_GROUP_KFOLD && !s->train.validation.group_column)
        return fail(c, m, "'%s.group_column' is required when the method is group_kfold", c->path);
    return 0;
}

static int parse_space(chk *c, const kl__node *key, const kl__node *m, void *dst)
{
    kl_spec_space *sp = dst;
    sp->param = key->text;
    KEYS("type", "low", "high", "log", "step", "values", "when");
    int type = 0, got = 0;
    TRY(got = f_enum(c, m, "type", param_type_names, KL_ARRAY_LEN(param_type_names), &type));
    if (!got)
        return missing(c, m, "type");
    sp->type = (enum kl_param_type)type;
    const kl__node *v;
    size_t saved;
    TRY(got = enter(c, m, "when", &v, &saved));
    if (got) {
        TRY(check_map(c, v, NULL, 0));
        if (!v->n)
            return fail(c, v, "'%s' must name at least one parameter", c->path);
        sp->when = alloc_items(c, v->n, sizeof(kl_spec_kv));
        if (!sp->when)
            return oom(c);
        sp->n_when = v->n;
        TRY(each_pair(c, v, sp->when, sizeof(kl_spec_kv), parse_kv));
        path_pop(c, saved);
    }
    if (type == KL_PARAM_TYPE_CHOICE) {
        static const char *const ranged[] = {"low", "high", "log", "step"};
        for (size_t i = 0; i < KL_ARRAY_LEN(ranged); i++)
            if (lookup(m, ranged[i]))
                return fail(c, lookup(m, ranged[i]),
                            "'%s.%s' applies only to int and float, not choice", c->path,
                            ranged[i]);
        TRY(got = f_strlist(c, m, "values", 1, &sp->values, &sp->n_values));
        if (!got)
            return missing(c, m, "values");
        if (!sp->n_values)
            return fail(c, lookup(m, "values"), "'%s.values' must hold at least one value",
                        c->path);
        return 0;
    }
    if (lookup(m, "values")) {
        /* a list of numbers searched instead of a range */
        static const char *const ranged[] = {"low", "high", "log", "step"};
        for (size_t i = 0; i < KL_ARRAY_LEN(ranged); i++)
            if (lookup(m, ranged[i]))
                return fail(c, lookup(m, ranged[i]), "'%s.%s' and '%s.values' exclude each other",
                            c->path, ranged[i], c->path);
        TRY(f_strlist(c, m, "values", 0, &sp->values, &sp->n_values));
        const kl__node *vl = lookup(m, "values");
        for (size_t i = 0; i < sp->n_values; i++) {
            const char *t = sp->values[i];
            char *end;
            errno = 0;
            double x = strtod(t, &end);
            int bad = errno || end == t || *end || !isfinite(x);
            if (!bad && type == KL_PARAM_TYPE_INT)
                bad = x > 9e15 || x < -9e15 || x != (double)(int64_t)x;
            if (bad)
                return fail(c, vl, "'%s.values' must hold %s, not '%s'", c->path,
                            type == KL_PARAM_TYPE_INT ? "integers" : "numbers", t);
            if (i == 0 || x < sp->low)
                sp->low = x;
            if (i == 0 || x > sp->high)
                sp->high = x;
        }
        return 0;
    }
    int got_low, got_high;
    TRY(got_low = f_num(c, m, "low", -HUGE_VAL, HUGE_VAL, &sp->low));
    if (!got_low)
        return missing(c, m, "low");
    TRY(got_high = f_num(c, m, "high", -HUGE_VAL, HUGE_VAL, &sp->high));
    if (!got_high)
        return missing(c, m, "high");
    TRY(f_bool(c, m, "log", &sp->log));
    if (type == KL_PARAM_TYPE_INT) {
        static const char *const ends[] = {"low", "high"};
        double vals[] = {sp->low, sp->high};
        for (size_t i = 0; i < 2; i++)
            if (vals[i] > 9e15 || vals[i] < -9e15 || vals[i] != (double)(int64_t)vals[i])
                return fail(c, lookup(m, ends[i]), "'%s.%s' must be an integer, not %s", c->path,
                            ends[i], SHOWN(lookup(m, ends[i])));
    }
    if (type == KL_PARAM_TYPE_INT ? sp->low > sp->high : sp->low >= sp->high)
        return fail(c, lookup(m, "high"), "'%s.high' must be greater than low (%s), not %s",
                    c->path, lookup(m, "low")->text, SHOWN(lookup(m, "high")));
    if (sp->log && sp->low <= 0)
        return fail(c, lookup(m, "low"), "'%s.low' must be greater than 0 on a log scale, not %s",
                    c->path, SHOWN(lookup(m, "low")));
    TRY(got = f_num(c, m, "step", 0, HUGE_VAL, &sp->step));
    if (got && (sp->log ? !(sp->step > 1) : !(sp->step > 0)))
        return fail(c, lookup(m, "step"), "'%s.step' must be %s, not %s", c->path,
                    sp->log ? "a factor greater than 1 on a log scale" : "greater than 0",
                    SHOWN(lookup(m, "step")));
    if (got && type == KL_PARAM_TYPE_INT && sp->step != floor(sp->step))
        return fail(c, lookup(m, "step"), "'%s.step' must be an integer, not %s", c->path,
                    SHOWN(lookup(m, "step")));
    return 0;
}

/*
 * Conditions name earlier entries (so one pass in order decides which
 * entries apply), and a condition on a choice names one of its values.
 */
static int check_space_when(chk *c, const kl__node *space)
{
    const kl_spec_space *sp = c->s->train.search.space;
    size_t n = c->s->train.search.n_space;
    const kl__node *k = space->child;
    for (size_t i = 0; i < n; i++, k = k->next->next) {
        const kl__node *w = lookup(k->next, "when");
        const kl__node *wk = w ? w->child : NULL;
        for (size_t q = 0; q < sp[i].n_when; q++, wk = wk->next->next) {
            const char *name = sp[i].when[q].key;
            size_t j = 0;
            while (j < i && strcmp(sp[j].param, name))
                j++;
            if (j == i) {
                int later = 0;
                for (size_t t = i; t < n; t++)
                    later |= !strcmp(sp[t].param, name);
                return fail(c, wk,
                            later ? "'train.search.space.%s.when' names '%s', which must come "
                                    "before '%s' in the space"
                                  : "'train.search.space.%s.when' names '%s', which is not in "
                                    "the space",
                            sp[i].param, name, sp[i].param);
            }
            if (sp[j].type != KL_PARAM_TYPE_CHOICE)
                continue;
            size_t v = 0;
            while (v < sp[j].n_values && strcmp(sp[j].values[v], sp[i].when[q].value))
                v++;
            if (v == sp[j].n_values)
                return fail(c, wk->next,
                            "'train.search.space.%s.when.%s' is '%s', which is not one of the "
                            "values of '%s'",
                            sp[i].param, name, sp[i].when[q].value, name);
        }
    }
    return 0;
}

static int parse_search(chk *c, const kl__node *m)
{
    KEYS("method", "trials", "space", "factor", "min_resources");
    kl_spec *s = c->s;
    int method = KL_SEARCH_METHOD_RANDOM - 1, got;
    /* "none" is the absence of a search section, not a method one writes. */
    TRY(got = f_enum(c, m, "method", search_method_names + 1, KL_ARRAY_LEN(search_method_names) - 1,
                     &method));
    s->train.search.method = (enum kl_search_method)(method + 1);
    s->train.search.trials = 20;
    TRY(f_int32(c, m, "trials", 1, 1000000, &s->train.search.trials));
    s->train.search.factor = 3;
    const kl__node *v;
    size_t saved;
    static const char *const halving_only[] = {"factor", "min_resources"};
    for (size_t i = 0; i < KL_ARRAY_LEN(halving_only); i++)
        if (s->train.search.method != KL_SEARCH_METHOD_HALVING && lookup(m, halving_only[i]))
            return fail(c, lookup(m, halving_only[i]),
                        "'%s.%s' applies only to method halving, not %s", c->path,
                        halving_only[i], kl_search_method_name(s->train.search.method));
    TRY(got = f_num(c, m, "factor", -HUGE_VAL, HUGE_VAL, &s->train.search.factor));
    if (got && !(s->train.search.factor > 1 && s->train.search.factor <= 1000))
        return fail(c, lookup(m, "factor"), "'%s.factor' must be greater than 1, not %s", c->path,
                    SHOWN(lookup(m, "factor")));
    TRY(got = enter(c, m, "min_resources", &v, &saved));
    if (got) {
        if (v->kind == KL__NODE_SCALAR && !strcmp(v->text, "exhaust"))
            s->train.search.min_resources = 0;
        else if (v->kind == KL__NODE_SCALAR && !strcmp(v->text, "smallest"))
            s->train.search.min_resources = -1;
        else if (v->kind != KL__NODE_SCALAR || !all_in(v->text, "0123456789+") ||
                 v_int(c, v, 1, INT64_MAX, &s->train.search.min_resources) < 0)
            return fail(c, v, "'%s' must be exhaust, smallest or a row count >= 1, not %s",
                        c->path, SHOWN(v));
        path_pop(c, saved);
    }
    TRY(got = enter(c, m, "space", &v, &saved));
    if (got) {
        TRY(check_map(c, v, NULL, 0));
        s->train.search.space = alloc_items(c, v->n, sizeof(kl_spec_space));
        if (!s->train.search.space)
            return oom(c);
        s->train.search.n_space = v->n;
        TRY(each_pair(c, v, s->train.search.space, sizeof(kl_spec_space), parse_space));
        TRY(check_space_when(c, v));
        path_pop(c, saved);
    }
    return 0;
}

static int parse_train(chk *c, const kl__node *m)
{
    KEYS("algorithm", "params", "seed", "validation", "search", "label_cost");
    kl_spec *s = c->s;
    const kl__node *v;
    size_t saved;
    int got;
    TRY(got = enter(c, m, "algorithm", &v, &saved));
    if (got) {
        const char *names[KL_ARRAY_LEN(algorithms)];
        for (size_t i = 0; i < KL_ARRAY_LEN(algorithms); i++)
            names[i] = algorithms[i].name;
        int a = 0;
        TRY(v_enum(c, v, names, KL_ARRAY_LEN(names), &a));
        if (!(algorithms[a].tasks & (1u << s->objective.task)))
            return fail(c, v, "'%s' is '%s', which does not fit a %s task", c->path,
                        algorithms[a].name, task_names[s->objective.task]);
        s->train.algorithm = algorithms[a].name;
        path_pop(c, saved);
    }
    TRY(got = enter(c, m, "params", &v, &saved));
    if (got) {
        TRY(check_map(c, v, NULL, 0));
        s->train.params = alloc_items(c, v->n, sizeof(kl_spec_kv));
        if (!s->train.params)
            return oom(c);
        s->train.n_params = v->n;
        TRY(each_pair(c, v, s->train.params, sizeof(kl_spec_kv), parse_kv));
        path_pop(c, saved);
    }
    int64_t seed;
    TRY(got = f_int(c, m, "seed", 0, INT64_MAX, &seed));
    if (got)
        s->train.seed = (uint64_t)seed;
    TRY(section(c, m, "validation", parse_validation));
    TRY(section(c, m, "search", parse_search));
    s->train.label_cost = 0;
    TRY(got = f_num(c, m, "label_cost", 0, HUGE_VAL, &s->train.label_cost));
    s->train.has_label_cost = got;
    return 0;
}

/* ---- sla and kpi ---- */

static int check_metric(chk *c, const kl__node *m, const char *metric)
{
    const kl__node *v = lookup(m, "metric");
    size_t i = 0;
    while (i < KL_ARRAY_LEN(metrics) && strcmp(metrics[i].name, metric))
        i++;
    if (i == KL_ARRAY_LEN(metrics)) {
        const char *names[KL_ARRAY_LEN(metrics)];
        for (size_t k = 0; k < KL_ARRAY_LEN(metrics); k++)
            names[k] = metrics[k].name;
        const char *near = kl_suggest(metric, names, KL_ARRAY_LEN(names));
        char hint[128] = "";
        if (near)
            snprintf(hint, sizeof hint, "; did you mean '%s'?", near);
        return fail(c, v, "'%s.metric' is not a known metric: %s%s", c->path, SHOWN(v), hint);
    }
    unsigned task = c->s->objective.task;
    if (!(metrics[i].tasks & (1u << task)))
        return fail(c, v, "'%s.metric' is '%s', which does not apply to %s", c->path, metric,
                    task_names[task]);
    return 0;
}

static int parse_sla(chk *c, const kl__node *m, void *dst)
{
    KEYS("metric", "min", "max", "on", "by");
    kl_spec_sla *sla = dst;
    int got;
    TRY(got = f_name(c, m, "metric", &sla->metric));
    if (!got)
        return missing(c, m, "metric");
    TRY(check_metric(c, m, sla->metric));
    double lo, hi;
    int got_min, got_max;
    TRY(got_min = f_num(c, m, "min", -HUGE_VAL, HUGE_VAL, &lo));
    TRY(got_max = f_num(c, m, "max", -HUGE_VAL, HUGE_VAL, &hi));
    if (got_min && got_max)
        return fail(c, m,
                    "'%s' has both 'min' and 'max'; give one, or write two entries for a range",
                    c->path);
    if (!got_min && !got_max)
        return fail(c, m, "'%s' needs 'min' or 'max'", c->path);
    sla->bound = got_min ? KL_SLA_BOUND_MIN : KL_SLA_BOUND_MAX;
    sla->threshold = got_min ? lo : hi;
    int on = KL_SLA_ON_VALIDATION;
    TRY(f_enum(c, m, "on", sla_on_names, KL_ARRAY_LEN(sla_on_names), &on));
    sla->on = (enum kl_sla_on)on;
    TRY(f_name(c, m, "by", &sla->by));
    return 0;
}

/* A kpi value formula: numbers, known names, + - * / and parentheses. */
typedef struct formula {
    chk *c;
    const kl__node *v;
    const char *s;
    size_t i;
    int depth;
} formula;

static void fx_skip(formula *f)
{
    while (f->s[f->i] == ' ' || f->s[f->i] == '\t')
        f->i++;
}

static int fx_bad(formula *f, const char *what)
{
    if (!f->s[f->i])
        return fail(f->c, f->v, "'%s' is not a valid formula: %s at the end", f->c->path, what);
    return fail(f->c, f->v, "'%s' is not a valid formula: %s at character %zu", f->c->path, what,
                f->i + 1);
}

static int fx_expr(formula *f);

static int fx_unary(formula *f)
{
    fx_skip(f);
    if (++f->depth > 32)
        return fx_bad(f, "nesting too deep");
    char ch = f->s[f->i];
    int rc;
    if (ch == '+' || ch == '-') {
        f->i++;
        rc = fx_unary(f);
    } else if (ch == '(') {
        f->i++;
        TRY(fx_expr(f));
        fx_skip(f);
        if (f->s[f->i] != ')')
            return fx_bad(f, "expected ')'");
        f->i++;
        rc = 0;
    } else if ((ch >= '0' && ch <= '9') || ch == '.') {
        size_t start = f->i;
        while (strchr("0123456789.", f->s[f->i]) && f->s[f->i])
            f->i++;
        if ((f->s[f->i] == 'e' || f->s[f->i] == 'E') &&
            (strchr("0123456789", f->s[f->i + 1]) && f->s[f->i + 1]
                 ? 1
                 : (f->s[f->i + 1] == '+' || f->s[f->i + 1] == '-') && f->s[f->i + 2] >= '0' &&
                       f->s[f->i + 2] <= '9')) {
            f->i += 2;
            while (f->s[f->i] >= '0' && f->s[f->i] <= '9')
                f->i++;
        }
        char *end;
        char num[64];
        size_t len = KL_MIN(f->i - start, sizeof num - 1);
        memcpy(num, f->s + start, len);
        num[len] = '\0';
        strtod(num, &end);
        if (end != num + len || len != f->i - start) {
            f->i = start;
            return fx_bad(f, "malformed number");
        }
        rc = 0;
    } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_') {
        size_t start = f->i;
        while ((f->s[f->i] >= 'a' && f->s[f->i] <= 'z') ||
               (f->s[f->i] >= 'A' && f->s[f->i] <= 'Z') ||
               (f->s[f->i] >= '0' && f->s[f->i] <= '9') || f->s[f->i] == '_')
            f->i++;
        char name[64];
        size_t len = f->i - start;
        if (len >= sizeof name)
            len = sizeof name - 1;
        memcpy(name, f->s + start, len);
        name[len] = '\0';
        if (f->i - start >= sizeof name || !kl_spec_kpi_ident_known(name)) {
            const char *near = kl_suggest(name, kpi_idents, KL_ARRAY_LEN(kpi_idents));
            char list[320];
            if (near)
                return fail(f->c, f->v, "'%s' uses unknown name '%s'; did you mean '%s'?",
                            f->c->path, name, near);
            return fail(f->c, f->v, "'%s' uses unknown name '%s'; known names: %s", f->c->path,
                        name, join(kpi_idents, KL_ARRAY_LEN(kpi_idents), list, sizeof list));
        }
        rc = 0;
    } else if (!ch) {
        rc = fx_bad(f, "expected a number, a name or '('");
    } else {
        char what[48];
        snprintf(what, sizeof what, "unexpected '%c'", ch >= 0x20 && ch < 0x7f ? ch : '?');
        rc = fx_bad(f, what);
    }
    f->depth--;
    return rc;
}

static int fx_term(formula *f)
{
    TRY(fx_unary(f));
    for (;;) {
        fx_skip(f);
        if (f->s[f->i] != '*' && f->s[f->i] != '/')
            return 0;
        f->i++;
        TRY(fx_unary(f));
    }
}

static int fx_expr(formula *f)
{
    TRY(fx_term(f));
    for (;;) {
        fx_skip(f);
        if (f->s[f->i] != '+' && f->s[f->i] != '-')
            return 0;
        f->i++;
        TRY(fx_term(f));
    }
}

static int check_formula(chk *c, const kl__node *v)
{
    formula f = {c, v, v->text, 0, 0};
    TRY(fx_expr(&f));
    fx_skip(&f);
    if (f.s[f.i])
        return fx_bad(&f, f.s[f.i] == ')' ? "unbalanced ')'" : "expected an operator");
    return 0;
}

static int parse_kpi(chk *c, const kl__node *m, void *dst)
{
    KEYS("name", "metric", "value", "target", "direction", "why", "owner");
    kl_spec_kpi *k = dst;
    int got;
    TRY(got = f_name(c, m, "name", &k->name));
    if (!got)
        return missing(c, m, "name");
    int got_metric, got_value;
    TRY(got_metric = f_name(c, m, "metric", &k->metric));
    if (got_metric)
        TRY(check_metric(c, m, k->metric));
    TRY(got_value = f_name(c, m, "value", &k->value));
    if (got_metric && got_value)
        return fail(c, m, "'%s' has both 'metric' and 'value'; give one", c->path);
    if (!got_metric && !got_value)
        return fail(c, m, "'%s' needs 'metric' or 'value' (a formula)", c->path);
    if (got_value) {
        size_t saved = path_push(c, "value");
        TRY(check_formula(c, lookup(m, "value")));
        path_pop(c, saved);
    }
    TRY(got = f_num(c, m, "target", -HUGE_VAL, HUGE_VAL, &k->target));
    k->has_target = got;
    int dir = KL_KPI_DIRECTION_MAX;
    TRY(f_enum(c, m, "direction", direction_names, KL_ARRAY_LEN(direction_names), &dir));
    k->direction = (enum kl_kpi_direction)dir;
    TRY(got = f_name(c, m, "why", &k->why));
    if (!got)
        return missing(c, m, "why");
    TRY(f_str(c, m, "owner", &k->owner));
    return 0;
}

/* ---- drift and serve ---- */

static int parse_drift_rule(chk *c, const kl__node *key, const kl__node *v, void *dst)
{
    kl_spec_drift_rule *r = dst;
    r->column = key->text;
    int t = 0;
    TRY(v_enum(c, v, drift_test_names, KL_ARRAY_LEN(drift_test_names), &t));
    r->test = (enum kl_drift_test)t;
    return 0;
}

static int parse_drift_threshold(chk *c, const kl__node *key, const kl__node *v, void *dst)
{
    kl_spec_drift_threshold *t = dst;
    size_t i = 0;
    while (strcmp(drift_test_names[i], key->text)) /* check_names ran first */
        i++;
    t->test = (enum kl_drift_test)i;
    TRY(v_num(c, v, &t->threshold));
    if (!(t->threshold > 0))
        return fail(c, v, "'%s' must be greater than 0, not %s", c->path, SHOWN(v));
    return 0;
}

static int parse_window(chk *c, const kl__node *m)
{
    KEYS("size", "period");
    kl_spec *s = c->s;
    int got_size, got_period;
    TRY(got_size = f_int(c, m, "size", 1, INT64_MAX, &s->drift.window_size));
    TRY(got_period = f_name(c, m, "period", &s->drift.window_period));
    if (got_size && got_period)
        return fail(c, m, "'%s' has both 'size' and 'period'; give one", c->path);
    if (!got_size && !got_period)
        return fail(c, m, "'%s' needs 'size' (rows) or 'period' (such as 7d)", c->path);
    if (got_period) {
        const char *p = s->drift.window_period;
        size_t digits = strspn(p, "0123456789");
        if (!digits || digits > 9 || p[0] == '0' || !p[digits] || p[digits + 1] ||
            !strchr("hdw", p[digits])) {
            size_t saved = path_push(c, "period");
            int rc = fail(c, lookup(m, "period"),
                          "'%s' must be a count and a unit h, d or w (such as 7d), not %s", c->path,
                          SHOWN(lookup(m, "period")));
            path_pop(c, saved);
            return rc;
        }
    }
    return 0;
}

static int parse_drift(chk *c, const kl__node *m)
{
    KEYS("reference", "window", "tests", "thresholds", "detectors");
    kl_spec *s = c->s;
    TRY(f_name(c, m, "reference", &s->drift.reference));
    TRY(section(c, m, "window", parse_window));
    const kl__node *v;
    size_t saved;
    int got;
    TRY(got = enter(c, m, "tests", &v, &saved));
    if (got) {
        TRY(check_map(c, v, NULL, 0));
        s->drift.tests = alloc_items(c, v->n, sizeof(kl_spec_drift_rule));
        if (!s->drift.tests)
            return oom(c);
        s->drift.n_tests = v->n;
        TRY(each_pair(c, v, s->drift.tests, sizeof(kl_spec_drift_rule), parse_drift_rule));
        path_pop(c, saved);
    }
    TRY(got = enter(c, m, "thresholds", &v, &saved));
    if (got) {
        TRY(check_map(c, v, NULL, 0));
        TRY(check_names(c, v, "drift test", drift_test_names, KL_ARRAY_LEN(drift_test_names)));
        s->drift.thresholds = alloc_items(c, v->n, sizeof(kl_spec_drift_threshold));
        if (!s->drift.thresholds)
            return oom(c);
        s->drift.n_thresholds = v->n;
        TRY(each_pair(c, v, s->drift.thresholds, sizeof(kl_spec_drift_threshold),
                      parse_drift_threshold));
        path_pop(c, saved);
    }
    TRY(got = enter(c, m, "detectors", &v, &saved));
    if (got) {
        const char **names;
        size_t n;
        if (v->kind == KL__NODE_MAP)
            return fail(c, v, "'%s' must be a list, not a mapping", c->path);
        TRY(v_strlist(c, v, 0, &names, &n));
        s->drift.detectors = alloc_items(c, n, sizeof(enum kl_drift_detector));
        if (!s->drift.detectors)
            return oom(c);
        s->drift.n_detectors = n;
        const kl__node *it = v->kind == KL__NODE_SEQ ? v->child : v;
        for (size_t i = 0; i < n; i++, it = it->next) {
            size_t sv = path_push_index(c, i);
            int d = 0;
            TRY(v_enum(c, it, drift_detector_names, KL_ARRAY_LEN(drift_detector_names), &d));
            s->drift.detectors[i] = (enum kl_drift_detector)d;
            path_pop(c, sv);
        }
        path_pop(c, saved);
    }
    return 0;
}

static int parse_serve(chk *c, const kl__node *m)
{
    KEYS("host", "port", "max_batch", "log_predictions");
    kl_spec *s = c->s;
    TRY(f_name(c, m, "host", &s->serve.host));
    TRY(f_int32(c, m, "port", 1, 65535, &s->serve.port));
    TRY(f_int(c, m, "max_batch", 1, INT64_MAX, &s->serve.max_batch));
    TRY(f_bool(c, m, "log_predictions", &s->serve.log_predictions));
    return 0;
}

/* ---- top level ---- */

static int parse_list_section(chk *c, const kl__node *root, const char *key, void **arr, size_t *n,
                              size_t item_size, int (*fn)(chk *c, const kl__node *item, void *dst))
{
    const kl__node *v;
    size_t saved;
    int got;
    TRY(got = enter(c, root, key, &v, &saved));
    if (!got)
        return 0;
    if (v->kind != KL__NODE_SEQ)
        return fail(c, v, "'%s' must be a list, not %s", c->path, SHOWN(v));
    *arr = alloc_items(c, v->n, item_size);
    if (!*arr)
        return oom(c);
    *n = v->n;
    TRY(each_item(c, v, *arr, item_size, fn));
    path_pop(c, saved);
    return 1;
}

static void fill_defaults(kl_spec *s)
{
    s->version = KL_SPEC_VERSION;
    s->data.missing_tokens = (const char **)default_missing;
    s->data.n_missing_tokens = KL_ARRAY_LEN(default_missing);
    s->constraints.pii_default = (kl_pii_policy){KL_PII_ACTION_KEEP, 0};
    s->constraints.min_group_share = 0.05;
    s->constraints.proxy_threshold = 0.5;
    s->constraints.proxy_auc = 0.8;
    s->constraints.alerts.missing = s->constraints.alerts.zeros = 0.01;
    s->constraints.alerts.infinite = s->constraints.alerts.duplicates = 0.01;
    s->constraints.alerts.skewed = 20;
    s->constraints.alerts.high_cardinality = 50;
    s->constraints.alerts.imbalance = 0.5;
    s->constraints.alerts.high_correlation = 0.9;
    s->constraints.alerts.leakage = 0.98;
    s->constraints.alerts.date_like = 0.9;
    s->train.seed = 42;
    s->train.validation.test_size = 0.2;
    s->train.validation.folds = 5;
    s->serve.host = "127.0.0.1";
    s->serve.port = 8080;
    s->serve.max_batch = 10000;
    s->serve.log_predictions = 1;
}

static int parse_root(chk *c, const kl__node *root)
{
    const kl__node *m = root;
    KEYS("version", "project", "objective", "data", "constraints", "features", "train", "sla",
         "kpi", "drift", "serve");
    kl_spec *s = c->s;
    int64_t version;
    int got;
    TRY(got = f_int(c, m, "version", 1, INT64_MAX, &version));
    if (got && version > KL_SPEC_VERSION)
        return fail(c, lookup(m, "version"),
                    "'version' is %lld, but this keel understands only version %d; upgrade keel",
                    (long long)version, KL_SPEC_VERSION);
    TRY(got = section(c, m, "project", parse_project));
    if (!got)
        return missing(c, m, "project");
    TRY(got = section(c, m, "objective", parse_objective));
    if (!got)
        return missing(c, m, "objective");
    s->train.algorithm = default_algorithm[s->objective.task];
    s->train.validation.method = s->objective.task == KL_TASK_FORECAST
                                     ? KL_VALIDATION_METHOD_TIME_SERIES
                                     : KL_VALIDATION_METHOD_HOLDOUT;
    TRY(section(c, m, "data", parse_data));
    TRY(section(c, m, "constraints", parse_constraints));
    TRY(section(c, m, "features", parse_features));
    TRY(section(c, m, "train", parse_train));
    TRY(parse_list_section(c, m, "sla", (void **)&s->sla, &s->n_sla, sizeof(kl_spec_sla),
                           parse_sla));
    TRY(parse_list_section(c, m, "kpi", (void **)&s->kpi, &s->n_kpi, sizeof(kl_spec_kpi),
                           parse_kpi));
    TRY(section(c, m, "drift", parse_drift));
    TRY(section(c, m, "serve", parse_serve));
    return 0;
}

/* ---- public API ---- */

void kl_spec_free(kl_spec *s)
{
    if (!s)
        return;
    kl__spec_priv *p = s->priv_;
    free(p->where);
    kl__pool pool = p->pool; /* s and p live in the pool itself */
    kl__pool_release(&pool);
}

int kl_spec_load_buffer(const char *buf, size_t len, const char *name, kl_spec **out, kl_err *err)
{
    *out = NULL;
    if (!name)
        name = "keel.yaml";
    if (!buf)
        buf = ""; /* libyaml asserts on a NULL input even when len is 0 */
    if (len > KL__SPEC_MAX_BYTES) {
        kl_err_set(err, KL_EPARSE, "the spec is larger than 1 MiB");
        return kl_err_ctx(err, "%s", name);
    }
    kl__pool pool = {0};
    kl_spec *s = kl__pool_calloc(&pool, 1, sizeof *s);
    kl__spec_priv *p = kl__pool_calloc(&pool, 1, sizeof *p);
    char *name_copy = kl__pool_strndup(&pool, name, strlen(name));
    if (!s || !p || !name_copy) {
        kl__pool_release(&pool);
        return kl_err_set(err, KL_ENOMEM, "out of memory loading the spec");
    }
    s->priv_ = p;
    s->name = name_copy;
    fill_defaults(s);
    kl__node *root;
    int rc = kl__yaml_parse(buf, len, name, &pool, &root, err);
    if (rc == 0 && (!root || kl__node_is_null(root))) {
        kl_err_set(err, KL_EPARSE,
                   "the spec is empty; it needs at least 'project' and 'objective'");
        rc = kl_err_ctx(err, "%s", name);
    }
    if (rc == 0) {
        chk c = {.s = s, .pool = &pool, .name = name_copy, .err = err};
        rc = parse_root(&c, root);
    }
    p->pool = pool; /* the pool may have grown new blocks */
    if (rc < 0) {
        kl_spec_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int kl_spec_load_file(const char *path, kl_spec **out, kl_err *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        kl_err_set(err, KL_EIO, "cannot open the spec: %s", strerror(errno));
        return kl_err_ctx(err, "%s", path);
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    int rc = 0;
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (len < cap)
            break;
        if (cap > KL__SPEC_MAX_BYTES)
            break; /* load_buffer reports the size */
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (!buf)
        rc = kl_err_set(err, KL_ENOMEM, "out of memory reading the spec");
    else if (ferror(fp)) {
        rc = kl_err_set(err, KL_EIO, "cannot read the spec: %s", strerror(errno));
        kl_err_ctx(err, "%s", path);
    }
    fclose(fp);
    if (rc == 0)
        rc = kl_spec_load_buffer(buf, len, path, out, err);
    free(buf);
    return rc;
}

int kl_spec_csv_opts(const kl_spec *s, kl_csv_read_opts *opts, kl_err *err)
{
    (void)err;
    memset(opts, 0, sizeof *opts);
    opts->delimiter = s->data.delimiter;
    opts->missing_tokens = s->data.missing_tokens;
    opts->n_missing_tokens = s->data.n_missing_tokens;
    opts->overrides = s->data.columns;
    opts->n_overrides = s->data.n_columns;
    return 0;
}

const char *kl_spec_where(const kl_spec *s, const char *path, char *buf, size_t n)
{
    if (!n)
        return buf;
    const kl__spec_priv *p = s->priv_;
    for (size_t i = 0; i < p->n_where; i++) {
        if (!strcmp(p->where[i].path, path)) {
            snprintf(buf, n, "%s:%d:%d", s->name, p->where[i].line, p->where[i].col);
            return buf;
        }
    }
    snprintf(buf, n, "%s", s->name);
    return buf;
}
