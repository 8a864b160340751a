/*
 * PII reports and transformation logs as JSON, shared by `keel pii`,
 * `keel check` and the lineage that `keel data add` records, so the three
 * describe PII the same way. Numbers are rounded to 4 decimals: they are
 * shares and confidences for people to read, not values to compute with.
 */
#include <jansson.h>
#include <math.h>

#include "keel/pii.h"
#include "core/common.h"

static double round4(double x)
{
    return round(x * 1e4) / 1e4;
}

static const char *entity_or_null(enum kl_pii_entity e)
{
    return e == KL_PII_ENTITY_NONE ? NULL : kl_pii_entity_name(e);
}

json_t *kl_pii_log_json(const kl_pii_log *log)
{
    json_t *a = json_array();
    for (size_t k = 0; a && k < log->n; k++) {
        const kl_pii_log_entry *x = &log->entries[k];
        json_t *e =
            json_pack("{s:s, s:s?, s:s, s:s, s:b, s:I}", "column", x->column, "entity",
                      entity_or_null(x->entity), "action", kl_pii_action_name(x->policy.action),
                      "rule", x->rule, "whole", x->whole, "cells", (json_int_t)x->cells);
        if (e && x->policy.action == KL_PII_ACTION_MASK)
            json_object_set_new(e, "keep_last", json_integer(x->policy.keep_last));
        if (e && !x->whole)
            json_object_set_new(e, "spans", json_integer((json_int_t)x->spans));
        if (!e || json_array_append_new(a, e) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *hint_json(unsigned hint)
{
    json_t *a = json_array();
    for (int e = 1; a && e < KL_PII_ENTITY_COUNT; e++)
        if (hint & (1u << e))
            json_array_append_new(a, json_string(kl_pii_entity_name((enum kl_pii_entity)e)));
    return a;
}

json_t *kl_pii_report_json(const kl_pii_report *r)
{
    json_t *cols = json_array();
    size_t flagged = 0;
    for (size_t j = 0; cols && j < r->n_columns; j++) {
        const kl_pii_column *c = &r->columns[j];
        json_t *m = json_object();
        for (int e = 1; m && e < KL_PII_ENTITY_COUNT; e++) {
            const kl_pii_entity_stat *st = &c->stats[e];
            if (!st->matched)
                continue;
            json_object_set_new(m, kl_pii_entity_name((enum kl_pii_entity)e),
                                json_pack("{s:I, s:I, s:f, s:f}", "cells", (json_int_t)st->matched,
                                          "whole", (json_int_t)st->whole, "share",
                                          round4(st->share), "confidence", round4(st->confidence)));
        }
        flagged += c->flagged != 0;
        json_t *o =
            json_pack("{s:s, s:s?, s:f, s:f, s:b, s:I, s:o, s:o}", "name", c->name, "entity",
                      entity_or_null(c->entity), "share", round4(c->share), "confidence",
                      round4(c->confidence), "flagged", c->flagged, "present",
                      (json_int_t)c->present, "name_hint", hint_json(c->hint), "matches", m);
        if (!o || json_array_append_new(cols, o) < 0) {
            json_decref(cols);
            return NULL;
        }
    }
    if (!cols)
        return NULL;
    return json_pack("{s:I, s:I, s:f, s:I, s:o}", "rows", (json_int_t)r->rows, "columns",
                     (json_int_t)r->n_columns, "min_confidence", r->min_confidence, "flagged",
                     (json_int_t)flagged, "fields", cols);
}
