/*
 * The effective spec written back out, as YAML (libyaml's emitter) or JSON
 * (jansson). One walk over the spec drives both through a handful of
 * primitives (map, list, key, string, number), so the two outputs cannot
 * drift apart.
 *
 * Invariants: the YAML loads back into an equal spec (a round trip the unit
 * tests and the fuzz target check): strings that would read back as null are
 * quoted, free-form scalars keep their quoting, and every double is written
 * in the shortest form that strtod reads back to the same value. Optional
 * strings that are NULL and empty lists are left out; sections that only
 * hold defaults are written in full, so `keel spec show` shows what applies.
 */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "keel/err.h"
#include "keel/spec.h"
#include "spec/spec_internal.h"
#include "core/common.h"

#define MAX_NEST 16

typedef struct w {
    int json;
    int failed;
    yaml_emitter_t em;
    json_t *root;
    json_t *stack[MAX_NEST];
    int depth;
    const char *key; /* JSON: the key of the next value */
} w;

/* ---- primitives ---- */

static void y_emit(w *o, yaml_event_t *ev, int ok)
{
    if (o->failed)
        return;
    if (!ok || !yaml_emitter_emit(&o->em, ev))
        o->failed = 1;
}

static void y_scalar(w *o, const char *text, int quoted)
{
    yaml_event_t ev;
    int ok = yaml_scalar_event_initialize(
        &ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), !quoted, 1,
        quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
    y_emit(o, &ev, ok);
}

static void j_add(w *o, json_t *v)
{
    if (o->failed)
        return;
    if (!v) {
        o->failed = 1;
        return;
    }
    if (o->depth == 0) {
        o->root = v;
        return;
    }
    json_t *top = o->stack[o->depth - 1];
    int rc =
        json_is_object(top) ? json_object_set_new(top, o->key, v) : json_array_append_new(top, v);
    if (rc)
        o->failed = 1;
}

static void open_container(w *o, int map)
{
    if (o->json) {
        json_t *v = map ? json_object() : json_array();
        j_add(o, v);
        if (o->failed || o->depth >= MAX_NEST) {
            o->failed = 1;
            return;
        }
        o->stack[o->depth++] = v;
        return;
    }
    yaml_event_t ev;
    int ok =
        map ? yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE)
            : yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
    y_emit(o, &ev, ok);
}

static void close_container(w *o, int map)
{
    if (o->json) {
        if (o->depth > 0)
            o->depth--;
        return;
    }
    yaml_event_t ev;
    int ok = map ? yaml_mapping_end_event_initialize(&ev) : yaml_sequence_end_event_initialize(&ev);
    y_emit(o, &ev, ok);
}

static void map_begin(w *o)
{
    open_container(o, 1);
}
static void map_end(w *o)
{
    close_container(o, 1);
}
static void seq_begin(w *o)
{
    open_container(o, 0);
}
static void seq_end(w *o)
{
    close_container(o, 0);
}

static void key(w *o, const char *k)
{
    if (o->json)
        o->key = k;
    else
        y_scalar(o, k, kl__text_looks_null(k));
}

/* A string value; quoted forces YAML quoting (free-form scalars that were quoted). */
static void str_q(w *o, const char *s, int quoted)
{
    if (o->json)
        j_add(o, json_string(s));
    else
        y_scalar(o, s, quoted || kl__text_looks_null(s));
}

/* A string field: quoted when it would not read back as a string elsewhere. */
static void str(w *o, const char *s)
{
    str_q(o, s, !o->json && kl__text_looks_typed(s));
}

static void num(w *o, double d)
{
    if (o->json) {
        j_add(o, json_real(d));
        return;
    }
    char buf[40];
    if (d == trunc(d) && fabs(d) < 1e15) {
        snprintf(buf, sizeof buf, "%.0f", d);
        y_scalar(o, buf, 0);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    y_scalar(o, buf, 0);
}

static void integer(w *o, int64_t x)
{
    if (o->json) {
        j_add(o, json_integer((json_int_t)x));
        return;
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, x);
    y_scalar(o, buf, 0);
}

static void boolean(w *o, int b)
{
    if (o->json)
        j_add(o, json_boolean(b));
    else
        y_scalar(o, b ? "true" : "false", 0);
}

/* key: value pairs; the optional ones are skipped when NULL. */
static void kv_str(w *o, const char *k, const char *v)
{
    if (!v)
        return;
    key(o, k);
    str(o, v);
}

static void kv_num(w *o, const char *k, double v)
{
    key(o, k);
    num(o, v);
}

static void kv_int(w *o, const char *k, int64_t v)
{
    key(o, k);
    integer(o, v);
}

static void kv_bool(w *o, const char *k, int v)
{
    key(o, k);
    boolean(o, v);
}

static void kv_list(w *o, const char *k, const char *const *v, size_t n)
{
    if (!n)
        return;
    key(o, k);
    seq_begin(o);
    for (size_t i = 0; i < n; i++)
        str(o, v[i]);
    seq_end(o);
}

static void kv_policy(w *o, const char *k, kl_pii_policy p)
{
    key(o, k);
    if (p.action != KL_PII_ACTION_MASK) {
        str(o, kl_pii_action_name(p.action));
        return;
    }
    map_begin(o);
    kv_str(o, "action", kl_pii_action_name(p.action));
    kv_int(o, "keep_last", p.keep_last);
    map_end(o);
}

static void kv_free(w *o, const char *k, const kl_spec_kv *kv, size_t n)
{
    if (!n)
        return;
    key(o, k);
    map_begin(o);
    for (size_t i = 0; i < n; i++) {
        key(o, kv[i].key);
        str_q(o, kv[i].value, kv[i].quoted);
    }
    map_end(o);
}

/* ---- the walk ---- */

static void kv_columns(w *o, const char *k, const kl_csv_override *cols, size_t n)
{
    if (!n)
        return;
    key(o, k);
    map_begin(o);
    for (size_t i = 0; i < n; i++) {
        const kl_csv_override *c = &cols[i];
        key(o, c->column);
        if (!c->time_format) {
            str(o, kl__spec_type_name(c->type));
            continue;
        }
        map_begin(o);
        kv_str(o, "type", kl__spec_type_name(c->type));
        kv_str(o, "format", c->time_format);
        map_end(o);
    }
    map_end(o);
}

/* data.sources: the first entry has no join fields, the others their join and how. */
static void write_sources(w *o, const kl_spec *s)
{
    key(o, "sources");
    seq_begin(o);
    for (size_t i = 0; i < s->data.n_sources; i++) {
        const kl_spec_source *src = &s->data.sources[i];
        map_begin(o);
        kv_str(o, "source", src->source);
        kv_str(o, "name", src->name);
        kv_list(o, "on", src->on, src->n_on);
        kv_str(o, "asof", src->asof);
        kv_list(o, "by", src->by, src->n_by);
        kv_str(o, "tolerance", src->tolerance);
        if (i > 0)
            kv_str(o, "how", src->how == KL_JOIN_HOW_INNER ? "inner" : "left");
        kv_columns(o, "columns", src->columns, src->n_columns);
        map_end(o);
    }
    seq_end(o);
}

static void write_data(w *o, const kl_spec *s)
{
    if (!s->data.source)
        return;
    key(o, "data");
    map_begin(o);
    if (s->data.n_sources)
        write_sources(o, s);
    else
        kv_str(o, "source", s->data.source);
    kv_str(o, "time_column", s->data.time_column);
    kv_str(o, "segment_column", s->data.segment_column);
    kv_str(o, "id_column", s->data.id_column);
    if (s->data.delimiter) {
        char d[2] = {s->data.delimiter, 0};
        kv_str(o, "delimiter", s->data.delimiter == '\t' ? "tab" : d);
    }
    key(o, "missing_tokens");
    seq_begin(o);
    for (size_t i = 0; i < s->data.n_missing_tokens; i++)
        str(o, s->data.missing_tokens[i]);
    seq_end(o);
    kv_columns(o, "columns", s->data.columns, s->data.n_columns);
    map_end(o);
}

static void write_constraints(w *o, const kl_spec *s)
{
    key(o, "constraints");
    map_begin(o);
    if (s->constraints.n_terms) {
        key(o, "terms");
        seq_begin(o);
        for (size_t i = 0; i < s->constraints.n_terms; i++) {
            const kl_spec_terms *t = &s->constraints.terms[i];
            map_begin(o);
            kv_str(o, "source", t->source);
            kv_str(o, "licence", t->licence);
            kv_str(o, "terms", t->terms);
            kv_list(o, "purposes", t->purposes, t->n_purposes);
            kv_str(o, "retention", t->retention);
            map_end(o);
        }
        seq_end(o);
    }
    kv_bool(o, "require_terms", s->constraints.require_terms);
    kv_str(o, "purpose", s->constraints.purpose);
    key(o, "pii");
    map_begin(o);
    kv_policy(o, "default", s->constraints.pii_default);
    const kl_spec_pii_rule *rules[] = {s->constraints.pii_columns, s->constraints.pii_entities};
    size_t n_rules[] = {s->constraints.n_pii_columns, s->constraints.n_pii_entities};
    const char *names[] = {"columns", "entities"};
    for (size_t r = 0; r < 2; r++) {
        if (!n_rules[r])
            continue;
        key(o, names[r]);
        map_begin(o);
        for (size_t i = 0; i < n_rules[r]; i++)
            kv_policy(o, rules[r][i].name, rules[r][i].policy);
        map_end(o);
    }
    map_end(o);
    kv_list(o, "protected", s->constraints.protected_columns, s->constraints.n_protected_columns);
    kv_num(o, "min_group_share", s->constraints.min_group_share);
    kv_num(o, "proxy_threshold", s->constraints.proxy_threshold);
    kv_num(o, "proxy_auc", s->constraints.proxy_auc);
    key(o, "alerts");
    map_begin(o);
    kv_num(o, "missing", s->constraints.alerts.missing);
    kv_num(o, "zeros", s->constraints.alerts.zeros);
    kv_num(o, "infinite", s->constraints.alerts.infinite);
    kv_num(o, "duplicates", s->constraints.alerts.duplicates);
    kv_num(o, "skewed", s->constraints.alerts.skewed);
    kv_num(o, "high_cardinality", s->constraints.alerts.high_cardinality);
    kv_num(o, "imbalance", s->constraints.alerts.imbalance);
    kv_num(o, "high_correlation", s->constraints.alerts.high_correlation);
    kv_num(o, "leakage", s->constraints.alerts.leakage);
    kv_num(o, "date_like", s->constraints.alerts.date_like);
    map_end(o);
    if (s->constraints.n_expectations) {
        key(o, "expectations");
        seq_begin(o);
        for (size_t i = 0; i < s->constraints.n_expectations; i++) {
            const kl_spec_expectation *e = &s->constraints.expectations[i];
            map_begin(o);
            kv_str(o, "column", e->column);
            kv_str(o, "expect", kl_expect_kind_name(e->kind));
            switch (e->kind) {
            case KL_EXPECT_KIND_RANGE:
            case KL_EXPECT_KIND_ROWS:
                if (e->has_min)
                    kv_num(o, "min", e->min);
                if (e->has_max)
                    kv_num(o, "max", e->max);
                break;
            case KL_EXPECT_KIND_VALUES:
                kv_list(o, "values", e->values, e->n_values);
                break;
            case KL_EXPECT_KIND_REGEX:
                kv_str(o, "pattern", e->pattern);
                break;
            case KL_EXPECT_KIND_MISSING:
                kv_num(o, "max_share", e->max_share);
                break;
            case KL_EXPECT_KIND_TYPE:
                kv_str(o, "type", kl_type_name((enum kl_type)e->type));
                break;
            case KL_EXPECT_KIND_FRESHNESS:
                kv_str(o, "max_age", e->max_age);
                break;
            case KL_EXPECT_KIND_UNIQUE:
                break;
            }
            map_end(o);
        }
        seq_end(o);
    }
    map_end(o);
}

static void write_features(w *o, const kl_spec *s)
{
    if (!s->features.n_include && !s->features.n_exclude && !s->features.n_transforms &&
        !s->features.has_budget && !s->features.n_costs)
        return;
    key(o, "features");
    map_begin(o);
    kv_list(o, "include", s->features.include, s->features.n_include);
    kv_list(o, "exclude", s->features.exclude, s->features.n_exclude);
    if (s->features.n_transforms) {
        key(o, "transforms");
        seq_begin(o);
        for (size_t i = 0; i < s->features.n_transforms; i++) {
            const kl_spec_transform *t = &s->features.transforms[i];
            map_begin(o);
            if (t->n_columns == 1)
                kv_str(o, "column", t->columns[0]);
            else
                kv_list(o, "columns", t->columns, t->n_columns);
            kv_str(o, "op", kl_transform_op_name(t->op));
            for (size_t k = 0; k < t->n_params; k++) {
                key(o, t->params[k].key);
                str_q(o, t->params[k].value, t->params[k].quoted);
            }
            map_end(o);
        }
        seq_end(o);
    }
    if (s->features.has_budget)
        kv_num(o, "budget", s->features.budget);
    if (s->features.n_costs) {
        key(o, "costs");
        map_begin(o);
        for (size_t i = 0; i < s->features.n_costs; i++)
            kv_num(o, s->features.costs[i].column, s->features.costs[i].cost);
        map_end(o);
    }
    map_end(o);
}

static void write_train(w *o, const kl_spec *s)
{
    key(o, "train");
    map_begin(o);
    kv_str(o, "algorithm", s->train.algorithm);
    kv_free(o, "params", s->train.params, s->train.n_params);
    key(o, "seed");
    if (s->train.seed > INT64_MAX) /* the loader takes 0..INT64_MAX; a caller-built spec may not */
        num(o, (double)s->train.seed);
    else
        integer(o, (int64_t)s->train.seed);
    key(o, "validation");
    map_begin(o);
    kv_str(o, "method", kl_validation_method_name(s->train.validation.method));
    kv_num(o, "test_size", s->train.validation.test_size);
    kv_int(o, "folds", s->train.validation.folds);
    kv_str(o, "group_column", s->train.validation.group_column);
    map_end(o);
    if (s->train.has_label_cost)
        kv_num(o, "label_cost", s->train.label_cost);
    if (s->train.search.method != KL_SEARCH_METHOD_NONE) {
        key(o, "search");
        map_begin(o);
        kv_str(o, "method", kl_search_method_name(s->train.search.method));
        kv_int(o, "trials", s->train.search.trials);
        if (s->train.search.n_space) {
            key(o, "space");
            map_begin(o);
            for (size_t i = 0; i < s->train.search.n_space; i++) {
                const kl_spec_space *sp = &s->train.search.space[i];
                key(o, sp->param);
                map_begin(o);
                kv_str(o, "type", kl__spec_param_type_name(sp->type));
                if (sp->type == KL_PARAM_TYPE_CHOICE) {
                    key(o, "values");
                    seq_begin(o);
                    for (size_t k = 0; k < sp->n_values; k++)
                        str_q(o, sp->values[k], 0);
                    seq_end(o);
                } else if (sp->n_values) {
                    key(o, "values");
                    seq_begin(o);
                    for (size_t k = 0; k < sp->n_values; k++)
                        num(o, strtod(sp->values[k], NULL));
                    seq_end(o);
                } else if (sp->type == KL_PARAM_TYPE_INT) {
                    kv_int(o, "low", (int64_t)sp->low);
                    kv_int(o, "high", (int64_t)sp->high);
                    kv_bool(o, "log", sp->log);
                } else {
                    kv_num(o, "low", sp->low);
                    kv_num(o, "high", sp->high);
                    kv_bool(o, "log", sp->log);
                }
                if (sp->step > 0)
                    kv_num(o, "step", sp->step);
                kv_free(o, "when", sp->when, sp->n_when);
                map_end(o);
            }
            map_end(o);
        }
        if (s->train.search.method == KL_SEARCH_METHOD_HALVING) {
            kv_num(o, "factor", s->train.search.factor);
            if (s->train.search.min_resources > 0)
                kv_int(o, "min_resources", s->train.search.min_resources);
            else
                kv_str(o, "min_resources",
                       s->train.search.min_resources < 0 ? "smallest" : "exhaust");
        }
        map_end(o);
    }
    map_end(o);
}

static void write_sla_kpi(w *o, const kl_spec *s)
{
    if (s->n_sla) {
        key(o, "sla");
        seq_begin(o);
        for (size_t i = 0; i < s->n_sla; i++) {
            const kl_spec_sla *a = &s->sla[i];
            map_begin(o);
            kv_str(o, "metric", a->metric);
            kv_num(o, a->bound == KL_SLA_BOUND_MIN ? "min" : "max", a->threshold);
            kv_str(o, "on", kl__spec_sla_on_name(a->on));
            kv_str(o, "by", a->by);
            map_end(o);
        }
        seq_end(o);
    }
    if (s->n_kpi) {
        key(o, "kpi");
        seq_begin(o);
        for (size_t i = 0; i < s->n_kpi; i++) {
            const kl_spec_kpi *k = &s->kpi[i];
            map_begin(o);
            kv_str(o, "name", k->name);
            kv_str(o, "metric", k->metric);
            kv_str(o, "value", k->value);
            if (k->has_target)
                kv_num(o, "target", k->target);
            kv_str(o, "direction", kl__spec_direction_name(k->direction));
            kv_str(o, "why", k->why);
            kv_str(o, "owner", k->owner);
            map_end(o);
        }
        seq_end(o);
    }
}

static void write_drift(w *o, const kl_spec *s)
{
    if (!s->drift.reference && !s->drift.window_size && !s->drift.window_period &&
        !s->drift.n_tests && !s->drift.n_thresholds && !s->drift.n_detectors)
        return;
    key(o, "drift");
    map_begin(o);
    kv_str(o, "reference", s->drift.reference);
    if (s->drift.window_size || s->drift.window_period) {
        key(o, "window");
        map_begin(o);
        if (s->drift.window_period)
            kv_str(o, "period", s->drift.window_period);
        else
            kv_int(o, "size", s->drift.window_size);
        map_end(o);
    }
    if (s->drift.n_tests) {
        key(o, "tests");
        map_begin(o);
        for (size_t i = 0; i < s->drift.n_tests; i++)
            kv_str(o, s->drift.tests[i].column, kl_drift_test_name(s->drift.tests[i].test));
        map_end(o);
    }
    if (s->drift.n_thresholds) {
        key(o, "thresholds");
        map_begin(o);
        for (size_t i = 0; i < s->drift.n_thresholds; i++)
            kv_num(o, kl_drift_test_name(s->drift.thresholds[i].test),
                   s->drift.thresholds[i].threshold);
        map_end(o);
    }
    if (s->drift.n_detectors) {
        key(o, "detectors");
        seq_begin(o);
        for (size_t i = 0; i < s->drift.n_detectors; i++)
            str(o, kl_drift_detector_name(s->drift.detectors[i]));
        seq_end(o);
    }
    map_end(o);
}

static void write_spec(w *o, const kl_spec *s)
{
    map_begin(o);
    kv_int(o, "version", s->version);
    key(o, "project");
    map_begin(o);
    kv_str(o, "name", s->project.name);
    kv_str(o, "description", s->project.description);
    kv_str(o, "owner", s->project.owner);
    map_end(o);

    key(o, "objective");
    map_begin(o);
    kv_str(o, "task", kl_task_name(s->objective.task));
    kv_str(o, "target", s->objective.target);
    kv_str(o, "description", s->objective.description);
    kv_str(o, "business_outcome", s->objective.business_outcome);
    kv_str(o, "positive_class", s->objective.positive_class);
    if (s->objective.task == KL_TASK_FORECAST)
        kv_int(o, "horizon", s->objective.horizon);
    map_end(o);

    write_data(o, s);
    write_constraints(o, s);
    write_features(o, s);
    write_train(o, s);
    write_sla_kpi(o, s);
    write_drift(o, s);

    key(o, "serve");
    map_begin(o);
    kv_str(o, "host", s->serve.host);
    kv_int(o, "port", s->serve.port);
    kv_int(o, "max_batch", s->serve.max_batch);
    kv_bool(o, "log_predictions", s->serve.log_predictions);
    map_end(o);
    map_end(o);
}

/* ---- entry points ---- */

int kl_spec_write_yaml(const kl_spec *s, FILE *fp, kl_err *err)
{
    w o = {0};
    if (!yaml_emitter_initialize(&o.em))
        return kl_err_set(err, KL_ENOMEM, "out of memory writing the spec");
    yaml_emitter_set_output_file(&o.em, fp);
    yaml_emitter_set_unicode(&o.em, 1);
    yaml_emitter_set_width(&o.em, -1);
    yaml_emitter_set_indent(&o.em, 2);
    yaml_event_t ev;
    y_emit(&o, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING));
    y_emit(&o, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1));
    write_spec(&o, s);
    y_emit(&o, &ev, yaml_document_end_event_initialize(&ev, 1));
    y_emit(&o, &ev, yaml_stream_end_event_initialize(&ev));
    if (!o.failed && !yaml_emitter_flush(&o.em))
        o.failed = 1;
    int failed = o.failed;
    const char *problem = o.em.problem;
    char msg[200];
    snprintf(msg, sizeof msg, "%s", problem ? problem : "write failed");
    yaml_emitter_delete(&o.em);
    if (failed || ferror(fp))
        return kl_err_set(err, KL_EIO, "cannot write the spec as YAML: %s", msg);
    return 0;
}

int kl_spec_write_json(const kl_spec *s, FILE *fp, kl_err *err)
{
    w o = {.json = 1};
    write_spec(&o, s);
    if (o.failed) {
        json_decref(o.root);
        return kl_err_set(err, KL_ENOMEM, "out of memory writing the spec as JSON");
    }
    /* 15 significant digits print thresholds as written (0.05, not 0.050000000000000003). */
    int rc = json_dumpf(o.root, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(o.root);
    if (rc || fputc('\n', fp) == EOF || ferror(fp))
        return kl_err_set(err, KL_EIO, "cannot write the spec as JSON");
    return 0;
}
