/*
 * JSON forms of evaluations, SLA verdicts and KPI verdicts, shared by
 * `keel train`, `keel evaluate` and (later) the server, so that every
 * command reports a gate with the same keys.
 */
#include <jansson.h>
#include <math.h>

#include "keel/evaluate.h"
#include "core/common.h"

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

const char *kl_sla_on_name(enum kl_sla_on on)
{
    switch (on) {
    case KL_SLA_ON_VALIDATION:
        return "validation";
    case KL_SLA_ON_TEST:
        return "test";
    case KL_SLA_ON_PRODUCTION:
        return "production";
    }
    return "?";
}

json_t *kl_eval_metrics_json(const kl_eval_result *r)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < r->n_metrics; i++)
        json_object_set_new(o, r->metrics[i].desc->name, num(r->metrics[i].value));
    return o;
}

json_t *kl_sla_verdicts_json(const kl_sla_verdict *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        const kl_spec_sla *s = v[i].sla;
        json_t *o = json_object();
        json_object_set_new(o, "metric", json_string(s->metric));
        json_object_set_new(o, "bound", json_string(s->bound == KL_SLA_BOUND_MIN ? "min" : "max"));
        json_object_set_new(o, "threshold", json_real(s->threshold));
        json_object_set_new(o, "on", json_string(kl_sla_on_name(s->on)));
        if (s->by)
            json_object_set_new(o, "by", json_string(s->by));
        json_object_set_new(o, "value", num(v[i].value));
        json_object_set_new(o, "status", json_string(kl_sla_status_name(v[i].status)));
        json_array_append_new(a, o);
    }
    return a;
}

json_t *kl_kpi_verdicts_json(const kl_kpi_verdict *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        const kl_spec_kpi *k = v[i].kpi;
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(k->name));
        json_object_set_new(o, k->metric ? "metric" : "formula",
                            json_string(k->metric ? k->metric : k->value));
        json_object_set_new(o, "value", v[i].ok ? num(v[i].value) : json_null());
        json_object_set_new(o, "target", k->has_target ? json_real(k->target) : json_null());
        json_object_set_new(o, "direction",
                            json_string(k->direction == KL_KPI_DIRECTION_MIN ? "min" : "max"));
        json_object_set_new(o, "met",
                            v[i].ok && k->has_target ? json_boolean(v[i].met) : json_null());
        if (!v[i].ok)
            json_object_set_new(o, "error", json_string(v[i].error));
        json_array_append_new(a, o);
    }
    return a;
}
