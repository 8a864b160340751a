/*
 * keel check: every data constraint of keel.yaml on one frame, gathered in
 * one report.
 *
 * Each section (schema, pii, protected, proxies, representation, terms,
 * expectations) gets a status, and what it found becomes findings: a FAIL
 * is a violation (the command exits 1), a WARN is worth reading but does
 * not block (a proxy, a small group, PII kept on purpose). Keeping the
 * findings as one flat list with a section name lets the terminal, JSON and
 * later the HTTP server print them the same way, while the section reports
 * (PII, proxies, representation, expectations) stay available for detail.
 *
 * Invariants: kl_check_run fails only for lack of memory; anything about
 * the data is a finding. Findings are in section order, and within a
 * section in the order of the spec (or of the frame's columns).
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/constraints.h"
#include "core/common.h"

const char *kl_check_status_name(enum kl_check_status s)
{
    static const char *const names[] = {"ok", "warn", "fail", "skip"};
    return (size_t)s < KL_ARRAY_LEN(names) ? names[s] : "?";
}

void kl_check_report_release(kl_check_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_findings; i++) {
        free(r->findings[i].msg);
        free(r->findings[i].ctx);
    }
    free(r->findings);
    kl_pii_report_release(&r->pii_report);
    kl_proxy_report_release(&r->proxy_report);
    kl_represent_report_release(&r->represent_report);
    kl_expect_report_release(&r->expect_report);
    memset(r, 0, sizeof *r);
}

/* ---- findings ---- */

typedef struct run {
    kl_check_report *r;
    size_t cap;
    int oom;
} run;

static void add(run *u, const char *section, enum kl_check_status st, enum kl_check_status *sec,
                const char *ctx, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Add a finding and raise the section's status to st. */
static void add(run *u, const char *section, enum kl_check_status st, enum kl_check_status *sec,
                const char *ctx, const char *fmt, ...)
{
    kl_check_report *r = u->r;
    if (st == KL_CHECK_STATUS_FAIL || (st == KL_CHECK_STATUS_WARN && *sec != KL_CHECK_STATUS_FAIL))
        *sec = st;
    if (u->oom)
        return;
    if (r->n_findings == u->cap) {
        size_t c = u->cap ? u->cap * 2 : 16;
        kl_check_finding *nf = realloc(r->findings, c * sizeof *nf);
        if (!nf) {
            u->oom = 1;
            return;
        }
        r->findings = nf;
        u->cap = c;
    }
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    kl_check_finding *x = &r->findings[r->n_findings];
    x->section = section;
    x->status = st;
    x->msg = strdup(buf);
    x->ctx = strdup(ctx ? ctx : "");
    if (!x->msg || !x->ctx) {
        free(x->msg);
        free(x->ctx);
        u->oom = 1;
        return;
    }
    r->n_findings++;
    if (st == KL_CHECK_STATUS_FAIL)
        r->n_violations++;
    else
        r->n_warnings++;
}

/* The keel.yaml place of path, or "" for a default (a key the file does not have). */
static const char *where(const kl_spec *s, const char *path, char *buf, size_t n)
{
    kl_spec_where(s, path, buf, n);
    if (!strcmp(buf, s->name))
        buf[0] = '\0';
    return buf;
}

/* ---- schema ---- */

static void check_schema(run *u, const kl_frame *f, const kl_spec *s)
{
    char w[512], path[128];
    enum kl_check_status *st = &u->r->schema;
    if (kl_frame_col_index(f, s->objective.target) < 0)
        add(u, "schema", KL_CHECK_STATUS_FAIL, st, where(s, "objective.target", w, sizeof w),
            "target column '%s' is not in the data", s->objective.target);
    const char *roles[] = {s->data.time_column, s->data.segment_column, s->data.id_column};
    const char *keys[] = {"time_column", "segment_column", "id_column"};
    for (size_t i = 0; i < 3; i++) {
        if (!roles[i] || kl_frame_col_index(f, roles[i]) >= 0)
            continue;
        snprintf(path, sizeof path, "data.%s", keys[i]);
        add(u, "schema", KL_CHECK_STATUS_FAIL, st, where(s, path, w, sizeof w),
            "%s '%s' is not in the data", path, roles[i]);
    }
    if (s->data.time_column) {
        long j = kl_frame_col_index(f, s->data.time_column);
        if (j >= 0 && kl_frame_col_kind(f, (size_t)j) != KL_COL_KIND_TIME)
            add(u, "schema", KL_CHECK_STATUS_FAIL, st, where(s, "data.time_column", w, sizeof w),
                "data.time_column '%s' is %s, not a date or datetime", s->data.time_column,
                kl_type_name(kl_frame_col_type(f, (size_t)j)));
    }
    for (size_t i = 0; i < s->data.n_columns; i++) {
        const kl_csv_override *c = &s->data.columns[i];
        snprintf(path, sizeof path, "data.columns.%s", c->column);
        long j = kl_frame_col_index(f, c->column);
        if (j < 0)
            add(u, "schema", KL_CHECK_STATUS_FAIL, st, where(s, path, w, sizeof w),
                "declared column '%s' is not in the data", c->column);
        else if (kl_frame_col_type(f, (size_t)j) != c->type)
            add(u, "schema", KL_CHECK_STATUS_FAIL, st, where(s, path, w, sizeof w),
                "column '%s' is %s, but keel.yaml declares %s", c->column,
                kl_type_name(kl_frame_col_type(f, (size_t)j)), kl_type_name(c->type));
    }
}

/* ---- PII ---- */

static const kl_spec_pii_rule *column_rule(const kl_spec *s, const char *name)
{
    for (size_t i = 0; i < s->constraints.n_pii_columns; i++)
        if (!strcmp(s->constraints.pii_columns[i].name, name))
            return &s->constraints.pii_columns[i];
    return NULL;
}

static const kl_spec_pii_rule *entity_rule(const kl_spec *s, enum kl_pii_entity e)
{
    for (size_t i = 0; i < s->constraints.n_pii_entities; i++)
        if (kl_pii_entity_parse(s->constraints.pii_entities[i].name) == (int)e)
            return &s->constraints.pii_entities[i];
    return NULL;
}

/* Columns whose values must never be shown: flagged by the scan or named by a PII rule. */
static int check_pii(run *u, const kl_frame *f, const kl_spec *s, const char ***hidden,
                     size_t *n_hidden, kl_err *err)
{
    kl_check_report *r = u->r;
    char w[512], path[256];
    if (kl_pii_scan(f, NULL, &r->pii_report, err) < 0)
        return KL_ENOMEM;
    *hidden = calloc(r->pii_report.n_columns + 1, sizeof **hidden);
    if (!*hidden)
        return kl_err_set(err, KL_ENOMEM, "out of memory checking PII");
    for (size_t i = 0; i < s->constraints.n_pii_columns; i++) {
        const char *name = s->constraints.pii_columns[i].name;
        if (kl_frame_col_index(f, name) >= 0)
            continue;
        snprintf(path, sizeof path, "constraints.pii.columns.%s", name);
        add(u, "pii", KL_CHECK_STATUS_FAIL, &r->pii, where(s, path, w, sizeof w),
            "constraints.pii.columns names '%s', which is not in the data", name);
    }
    for (size_t i = 0; i < r->pii_report.n_columns; i++) {
        const kl_pii_column *c = &r->pii_report.columns[i];
        const kl_spec_pii_rule *rule = column_rule(s, c->name);
        if (!c->flagged && !rule)
            continue;
        (*hidden)[(*n_hidden)++] = kl_frame_col_name(f, c->index);
        kl_pii_policy p = s->constraints.pii_default;
        const char *how = "constraints.pii.default";
        snprintf(path, sizeof path, "%s", how);
        if (rule) {
            p = rule->policy;
            snprintf(path, sizeof path, "constraints.pii.columns.%s", c->name);
        } else {
            const kl_spec_pii_rule *er = entity_rule(s, c->entity);
            if (er) {
                p = er->policy;
                snprintf(path, sizeof path, "constraints.pii.entities.%s", er->name);
            }
        }
        const char *ent = c->flagged ? kl_pii_entity_name(c->entity) : "by rule";
        if (p.action == KL_PII_ACTION_FAIL)
            add(u, "pii", KL_CHECK_STATUS_FAIL, &r->pii, where(s, path, w, sizeof w),
                "column '%s' holds personal data (%s, confidence %.2f) and its policy is fail",
                c->name, ent, c->confidence);
        else if (p.action == KL_PII_ACTION_KEEP && c->flagged)
            add(u, "pii", KL_CHECK_STATUS_WARN, &r->pii, where(s, path, w, sizeof w),
                "column '%s' holds personal data (%s, confidence %.2f) and its policy is keep",
                c->name, ent, c->confidence);
    }
    return 0;
}

/* ---- protected, proxies, representation ---- */

static int in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] && !strcmp(list[i], name))
            return 1;
    return 0;
}

static void check_protected(run *u, const kl_frame *f, const kl_spec *s, const char **present,
                            size_t *n_present)
{
    kl_check_report *r = u->r;
    char w[512], path[64];
    r->protected_ = s->constraints.n_protected_columns ? KL_CHECK_STATUS_OK : KL_CHECK_STATUS_SKIP;
    for (size_t i = 0; i < s->constraints.n_protected_columns; i++) {
        const char *c = s->constraints.protected_columns[i];
        if (kl_frame_col_index(f, c) >= 0) {
            present[(*n_present)++] = c;
            continue;
        }
        snprintf(path, sizeof path, "constraints.protected[%zu]", i);
        add(u, "protected", KL_CHECK_STATUS_FAIL, &r->protected_, where(s, path, w, sizeof w),
            "protected column '%s' is not in the data", c);
    }
    kl_err e = {0};
    if (kl_constraints_check_features(s, s->features.include, s->features.n_include, &e) < 0)
        add(u, "protected", KL_CHECK_STATUS_FAIL, &r->protected_, e.ctx, "%s", e.msg);
}

static const char *measure_label(enum kl_proxy_measure m)
{
    switch (m) {
    case KL_PROXY_MEASURE_CRAMERS_V:
        return "Cramer's V";
    case KL_PROXY_MEASURE_ETA:
        return "correlation ratio";
    case KL_PROXY_MEASURE_AUC:
        return "one-feature AUC";
    case KL_PROXY_MEASURE_PEARSON:
        return "|Pearson r|";
    }
    return "?";
}

static int check_proxies(run *u, const kl_frame *f, const kl_spec *s, const char *const *prot,
                         size_t n_prot, kl_err *err)
{
    kl_check_report *r = u->r;
    if (!n_prot) {
        r->proxies = KL_CHECK_STATUS_SKIP;
        return 0;
    }
    const char *skip[3] = {s->objective.target, s->data.id_column, s->data.time_column};
    size_t n_skip = 3 + s->features.n_exclude;
    const char **all = calloc(n_skip, sizeof *all);
    if (!all)
        return kl_err_set(err, KL_ENOMEM, "out of memory in the proxy check");
    memcpy(all, skip, sizeof skip);
    for (size_t i = 0; i < s->features.n_exclude; i++)
        all[3 + i] = s->features.exclude[i];
    kl_proxy_opts o = {.threshold = s->constraints.proxy_threshold,
                       .auc = s->constraints.proxy_auc,
                       .seed = s->train.seed,
                       .skip = all,
                       .n_skip = n_skip};
    int rc = kl_proxy_check(f, prot, n_prot, &o, &r->proxy_report, err);
    free(all);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < r->proxy_report.n; i++) {
        const kl_proxy *p = &r->proxy_report.pairs[i];
        if (!p->flagged)
            continue;
        int auc = p->measure == KL_PROXY_MEASURE_AUC;
        add(u, "proxies", KL_CHECK_STATUS_WARN, &r->proxies, NULL,
            "feature '%s' is a proxy for protected '%s': %s %.3f >= %g", p->feature, p->attribute,
            measure_label(p->measure), auc ? p->auc : p->assoc,
            auc ? r->proxy_report.auc : r->proxy_report.threshold);
    }
    return 0;
}

static int check_representation(run *u, const kl_frame *f, const kl_spec *s,
                                const char *const *prot, size_t n_prot, kl_err *err)
{
    kl_check_report *r = u->r;
    const char **cols = calloc(n_prot + 1, sizeof *cols);
    if (!cols)
        return kl_err_set(err, KL_ENOMEM, "out of memory computing representation");
    size_t n = 0;
    for (size_t i = 0; i < n_prot; i++)
        cols[n++] = prot[i];
    const char *seg = s->data.segment_column;
    if (seg && kl_frame_col_index(f, seg) >= 0 && !in_list(seg, cols, n))
        cols[n++] = seg;
    if (!n) {
        free(cols);
        r->representation = KL_CHECK_STATUS_SKIP;
        return 0;
    }
    int rc =
        kl_represent(f, cols, n, s->constraints.min_group_share, 0.5, &r->represent_report, err);
    free(cols);
    if (rc < 0)
        return rc;
    const kl_represent_report *rep = &r->represent_report;
    for (size_t t = 0; t < rep->n_tables; t++) {
        const kl_group_table *tb = &rep->tables[t];
        if (!tb->n_small)
            continue;
        char names[512] = "", label[256];
        size_t shown = 0;
        for (size_t g = 0; g < tb->n_groups && !tb->columns[1]; g++) {
            const kl_group *gr = &tb->groups[g];
            if (!gr->small)
                continue;
            size_t k = strlen(names);
            if (shown == 3) {
                snprintf(names + k, sizeof names - k, ", ...");
                break;
            }
            snprintf(names + k, sizeof names - k, "%s%.100s (%.2f%%)", shown ? ", " : ": ",
                     gr->values[0] ? gr->values[0] : "(missing)", 100 * gr->share);
            shown++;
        }
        if (tb->columns[1])
            snprintf(label, sizeof label, "'%s' x '%s'", tb->columns[0], tb->columns[1]);
        else
            snprintf(label, sizeof label, "'%s'", tb->columns[0]);
        add(u, "representation", KL_CHECK_STATUS_WARN, &r->representation, NULL,
            "%s: %zu of %zu groups below min_group_share %g%s", label, tb->n_small, tb->n_groups,
            rep->min_group_share, names);
    }
    return 0;
}

/* ---- expectations ---- */

static int check_expectations(run *u, const kl_frame *f, const kl_spec *s,
                              const char *const *hidden, size_t n_hidden, kl_err *err)
{
    kl_check_report *r = u->r;
    if (!s->constraints.n_expectations) {
        r->expectations = KL_CHECK_STATUS_SKIP;
        return 0;
    }
    kl_expect_opts o = {.time_column = s->data.time_column, .hidden = hidden, .n_hidden = n_hidden};
    int rc = kl_expect_check(f, s->constraints.expectations, s->constraints.n_expectations, &o,
                             &r->expect_report, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < r->expect_report.n; i++) {
        const kl_expect_result *x = &r->expect_report.results[i];
        if (x->passed)
            continue;
        char path[64], w[512], ex[1024] = "";
        for (size_t e = 0; e < x->n_examples; e++) {
            size_t k = strlen(ex);
            snprintf(ex + k, sizeof ex - k, "%s'%.100s'", e ? ", " : "; e.g. ", x->examples[e]);
        }
        snprintf(path, sizeof path, "constraints.expectations[%zu]", x->index);
        char col[300] = "";
        if (x->column)
            snprintf(col, sizeof col, " on '%s'", x->column);
        add(u, "expectations", KL_CHECK_STATUS_FAIL, &r->expectations, where(s, path, w, sizeof w),
            "expectation %zu (%s%s) failed: %s%s", x->index, kl_expect_kind_name(x->kind), col,
            x->detail ? x->detail : "", ex);
    }
    return 0;
}

int kl_check_run(const kl_frame *f, const kl_spec *s, const char *source, kl_check_report *r,
                 kl_err *err)
{
    memset(r, 0, sizeof *r);
    run u = {r, 0, 0};
    r->rows = kl_frame_row_count(f);
    r->columns = kl_frame_col_count(f);
    const char **hidden = NULL, **prot = NULL;
    size_t n_hidden = 0, n_prot = 0;
    int rc = 0;
    check_schema(&u, f, s);
    rc = check_pii(&u, f, s, &hidden, &n_hidden, err);
    if (rc == 0) {
        prot = calloc(s->constraints.n_protected_columns + 1, sizeof *prot);
        if (!prot)
            rc = kl_err_set(err, KL_ENOMEM, "out of memory checking constraints");
    }
    if (rc == 0) {
        check_protected(&u, f, s, prot, &n_prot);
        rc = check_proxies(&u, f, s, prot, n_prot, err);
    }
    if (rc == 0)
        rc = check_representation(&u, f, s, prot, n_prot, err);
    if (rc == 0) {
        kl_err e = {0};
        if (kl_terms_check(s, source, &e) < 0)
            add(&u, "terms", KL_CHECK_STATUS_FAIL, &r->terms, e.ctx, "%s", e.msg);
        else if (!kl_terms_find(s, source) && !s->constraints.require_terms)
            r->terms = KL_CHECK_STATUS_SKIP;
        rc = check_expectations(&u, f, s, hidden, n_hidden, err);
    }
    free(hidden);
    free(prot);
    if (rc == 0 && u.oom)
        rc = kl_err_set(err, KL_ENOMEM, "out of memory checking constraints");
    if (rc < 0)
        kl_check_report_release(r);
    return rc;
}

/* ---- JSON ---- */

static json_t *num_or_null(double x)
{
    if (!isfinite(x))
        return json_null();
    return json_real(round(x * 1e6) / 1e6);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *kl_check_report_json(const kl_check_report *r)
{
    json_t *o = json_object(), *st = json_object(), *fi = json_array(), *px = json_array(),
           *tabs = json_array(), *skipped = json_array(), *ex = json_array();
    json_t *pii = kl_pii_report_json(&r->pii_report);
    if (!o || !st || !fi || !px || !tabs || !skipped || !ex || !pii)
        goto oom;
    const char *names[] = {"schema",         "pii",   "protected",   "proxies",
                           "representation", "terms", "expectations"};
    enum kl_check_status v[] = {r->schema,         r->pii,   r->protected_,  r->proxies,
                                r->representation, r->terms, r->expectations};
    for (size_t i = 0; i < KL_ARRAY_LEN(names); i++)
        json_object_set_new(st, names[i], json_string(kl_check_status_name(v[i])));
    for (size_t i = 0; i < r->n_findings; i++) {
        const kl_check_finding *x = &r->findings[i];
        json_array_append_new(fi, json_pack("{s:s, s:s, s:s, s:s}", "section", x->section, "status",
                                            kl_check_status_name(x->status), "message", x->msg,
                                            "context", x->ctx));
    }
    for (size_t i = 0; i < r->proxy_report.n; i++) {
        const kl_proxy *p = &r->proxy_report.pairs[i];
        json_array_append_new(
            px, json_pack("{s:s, s:s, s:I, s:s, s:o, s:o, s:b}", "attribute", p->attribute,
                          "feature", p->feature, "rows", (json_int_t)p->rows, "measure",
                          kl_proxy_measure_name(p->assoc_measure), "value", num_or_null(p->assoc),
                          "auc", num_or_null(p->auc), "flagged", p->flagged));
    }
    const kl_represent_report *rep = &r->represent_report;
    for (size_t t = 0; t < rep->n_tables; t++) {
        const kl_group_table *tb = &rep->tables[t];
        json_t *cols = json_array(), *groups = json_array();
        json_array_append_new(cols, json_string(tb->columns[0]));
        if (tb->columns[1])
            json_array_append_new(cols, json_string(tb->columns[1]));
        for (size_t g = 0; g < tb->n_groups; g++) {
            const kl_group *gr = &tb->groups[g];
            json_t *vals = json_array();
            json_array_append_new(vals, str_or_null(gr->values[0]));
            if (tb->columns[1])
                json_array_append_new(vals, str_or_null(gr->values[1]));
            json_array_append_new(
                groups, json_pack("{s:o, s:I, s:o, s:o, s:b}", "values", vals, "count",
                                  (json_int_t)gr->count, "share", num_or_null(gr->share),
                                  "half_width", num_or_null(gr->half_width), "small", gr->small));
        }
        json_array_append_new(tabs, json_pack("{s:o, s:o}", "columns", cols, "groups", groups));
    }
    for (size_t i = 0; i < rep->n_skipped; i++)
        json_array_append_new(skipped, json_string(rep->skipped[i]));
    for (size_t i = 0; i < r->expect_report.n; i++) {
        const kl_expect_result *x = &r->expect_report.results[i];
        json_t *exs = json_array();
        for (size_t k = 0; k < x->n_examples; k++)
            json_array_append_new(exs, json_string(x->examples[k]));
        json_array_append_new(
            ex,
            json_pack("{s:I, s:s, s:o, s:b, s:I, s:I, s:o, s:o}", "index", (json_int_t)x->index,
                      "expect", kl_expect_kind_name(x->kind), "column", str_or_null(x->column),
                      "passed", x->passed, "failing", (json_int_t)x->failing, "checked",
                      (json_int_t)x->checked, "detail", str_or_null(x->detail), "examples", exs));
    }
    json_object_set_new(o, "rows", json_integer((json_int_t)r->rows));
    json_object_set_new(o, "columns", json_integer((json_int_t)r->columns));
    json_object_set_new(o, "violations", json_integer((json_int_t)r->n_violations));
    json_object_set_new(o, "warnings", json_integer((json_int_t)r->n_warnings));
    json_object_set_new(o, "status", st);
    json_object_set_new(o, "findings", fi);
    json_object_set_new(o, "pii", pii);
    json_object_set_new(o, "proxies", px);
    json_object_set_new(o, "representation",
                        json_pack("{s:I, s:o, s:o, s:o, s:o}", "rows", (json_int_t)rep->rows,
                                  "min_group_share", num_or_null(rep->min_group_share), "p",
                                  num_or_null(rep->p), "tables", tabs, "skipped", skipped));
    json_object_set_new(o, "expectations", ex);
    return o;
oom:
    json_decref(o);
    json_decref(st);
    json_decref(fi);
    json_decref(px);
    json_decref(tabs);
    json_decref(skipped);
    json_decref(ex);
    json_decref(pii);
    return NULL;
}
