/*
 * keel runs|show|compare|lineage: query what the tracking API recorded
 * (include/keel/track.h) and how runs, snapshots and objects relate.
 *
 * Everything here reads the store; ids go through kl_store_resolve (full id,
 * unique prefix of 4 or more, name, tag). compare marks with '*' every row
 * whose values are not all equal, so differences stand out in a long table.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/snapshot.h"
#include "keel/store.h"
#include "keel/track.h"
#include "keel.h"
#include "store_cli.h"
#include "core/common.h"

static json_t *info_json(const kl_run_info *r)
{
    json_t *o = json_pack("{s:s, s:s?, s:s, s:I, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}", "id",
                          r->id, "name", r->name, "status", kl_run_status_name(r->status),
                          "started_ms", (json_int_t)r->started_ms, "parent", r->parent,
                          "spec_hash", r->spec_hash, "snapshot", r->snapshot, "keel_version",
                          r->keel_version, "git_commit", r->git_commit, "host", r->host);
    json_object_set_new(o, "ended_ms", r->ended_ms ? json_integer(r->ended_ms) : json_null());
    json_object_set_new(o, "git_dirty", r->git_dirty < 0 ? json_null() : json_boolean(r->git_dirty));
    json_object_set_new(o, "seed", r->has_seed ? json_integer((json_int_t)r->seed) : json_null());
    return o;
}

static void duration(const kl_run_info *r, char *buf, size_t n)
{
    if (!r->ended_ms)
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.1fs", (double)(r->ended_ms - r->started_ms) / 1000.0);
}

/*
 * The run listing as kl_table_print lays it out (two spaces between columns,
 * cells cut at 40 display columns with "...", metric columns right-aligned,
 * trailing blanks dropped), written straight from one text buffer: a listing
 * of 10,000 runs is 50,000 cells, and a strdup'd cell each was a third of
 * the command's time.
 */
#define RUNS_MAX_WIDTH 40

struct cells {
    char *text;
    size_t len, cap;
    size_t *at; /* start of each cell in text */
    size_t n, n_cap;
    int oom;
};

static void cell_add(struct cells *c, const char *s)
{
    size_t len = strlen(s);
    if (c->n == c->n_cap) {
        size_t cap = c->n_cap ? c->n_cap * 2 : 1024;
        size_t *at = realloc(c->at, cap * sizeof *at);
        if (!at) {
            c->oom = 1;
            return;
        }
        c->at = at;
        c->n_cap = cap;
    }
    if (c->len + len + 1 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 65536;
        while (cap < c->len + len + 1)
            cap *= 2;
        char *t = realloc(c->text, cap);
        if (!t) {
            c->oom = 1;
            return;
        }
        c->text = t;
        c->cap = cap;
    }
    memcpy(c->text + c->len, s, len + 1);
    c->at[c->n++] = c->len;
    c->len += len + 1;
}

/* Display width: UTF-8 continuation bytes do not count. */
static size_t display_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* Bytes of s that fit in w display columns. */
static size_t prefix_bytes(const char *s, size_t w)
{
    size_t i = 0, seen = 0;
    for (; s[i]; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80 && seen++ == w)
            break;
    return i;
}

static int print_runs(const kl_run_list *l, char keys[8][128], size_t nk, const double *vals,
                      const int *has)
{
    size_t nc = 5 + nk, w[5 + 8] = {0};
    struct cells c = {0};
    const char *head[5] = {"id", "name", "status", "started (UTC)", "duration"};
    for (size_t j = 0; j < nc; j++)
        cell_add(&c, j < 5 ? head[j] : keys[j - 5]);
    for (size_t i = 0; i < l->count && !c.oom; i++) {
        const kl_run_info *r = &l->items[i];
        char id[13], when[32], dur[32], m[32];
        snprintf(id, sizeof id, "%.12s", r->id);
        kl_cli_time(r->started_ms, when, sizeof when);
        duration(r, dur, sizeof dur);
        cell_add(&c, id);
        cell_add(&c, r->name ? r->name : "");
        cell_add(&c, kl_run_status_name(r->status));
        cell_add(&c, when);
        cell_add(&c, dur);
        for (size_t k = 0; k < nk; k++) {
            if (has[k * l->count + i])
                snprintf(m, sizeof m, "%.6g", vals[k * l->count + i]);
            else
                snprintf(m, sizeof m, "-");
            cell_add(&c, m);
        }
    }
    if (c.oom) {
        free(c.text);
        free(c.at);
        return kl_cli_error(KL_EXIT_INPUT, "out of memory");
    }
    size_t rows = c.n / nc;
    for (size_t i = 0; i < c.n; i++) {
        size_t cw = display_width(c.text + c.at[i]);
        w[i % nc] = KL_MAX(w[i % nc], KL_MIN(cw, RUNS_MAX_WIDTH));
    }
    char line[(5 + 8) * (RUNS_MAX_WIDTH + 2) * 4 + 2];
    for (size_t i = 0; i < rows; i++) {
        size_t len = 0;
        for (size_t j = 0; j < nc; j++) {
            const char *s = c.text + c.at[i * nc + j];
            size_t cw = display_width(s);
            int cut = cw > RUNS_MAX_WIDTH, right = j >= 5;
            size_t shown = cut ? RUNS_MAX_WIDTH - 3 : cw;
            size_t pad = w[j] - (cut ? RUNS_MAX_WIDTH : cw), nb = prefix_bytes(s, shown);
            if (right) {
                memset(line + len, ' ', pad);
                len += pad;
            }
            memcpy(line + len, s, nb);
            len += nb;
            if (cut) {
                memcpy(line + len, "...", 3);
                len += 3;
            }
            if (!right) {
                memset(line + len, ' ', pad);
                len += pad;
            }
            if (j + 1 < nc) {
                memcpy(line + len, "  ", 2);
                len += 2;
            }
        }
        while (len > 0 && line[len - 1] == ' ')
            len--;
        line[len++] = '\n';
        fwrite(line, 1, len, stdout);
    }
    free(c.text);
    free(c.at);
    return KL_EXIT_OK;
}

/* Metric keys named in a filter or sort, shown as columns (metrics.KEY), at most 8. */
static size_t metric_columns(const char *expr, char keys[8][128], size_t n)
{
    for (const char *p = expr ? strstr(expr, "metrics.") : NULL; p && n < 8;
         p = strstr(p + 1, "metrics.")) {
        const char *k = p + 8;
        size_t len = 0;
        if (*k == '`') {
            const char *e = strchr(k + 1, '`');
            if (!e)
                break;
            k++;
            len = (size_t)(e - k);
        } else {
            while (k[len] && (strchr("_-./", k[len]) || (k[len] >= '0' && k[len] <= '9') ||
                              ((k[len] | 32) >= 'a' && (k[len] | 32) <= 'z')))
                len++;
        }
        if (!len || len >= 128)
            continue;
        int dup = 0;
        for (size_t i = 0; i < n; i++)
            dup |= strlen(keys[i]) == len && strncmp(keys[i], k, len) == 0;
        if (!dup) {
            memcpy(keys[n], k, len);
            keys[n++][len] = '\0';
        }
    }
    return n;
}

static int cmd_runs(struct kl_cli *cli, int argc, char **argv)
{
    const char *filter = NULL, *sort = NULL;
    long limit = 0;
    int json = 0;
    const struct kl_opt opts[] = {
        KL_OPT_STRING_("filter", 'f', "EXPR", &filter,
                       "only runs matching EXPR, e.g. \"metrics.auc > 0.8 and status = 'finished'\""),
        KL_OPT_STRING_("sort", 's', "KEY", &sort,
                       "sort by comma-separated fields, e.g. \"metrics.auc desc\" (default: newest)"),
        KL_OPT_INT_("limit", 'n', "N", &limit, 0, 100000000, "show at most N runs (0: all)"),
        KL_OPT_JSON_(&json), KL_OPT_END_};
    const struct kl_usage u = {
        "[options]",
        "List tracked runs. A filter joins comparisons FIELD OP VALUE (OP one of\n"
        "> >= < <= = !=) with and/or and parentheses; FIELD is metrics.KEY,\n"
        "params.KEY, tags.KEY or a run attribute (id, name, status, parent,\n"
        "snapshot, started, ended, seed, ...). Metrics named in the filter or sort\n"
        "are shown as columns.",
        opts, 0, 0};
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, NULL, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    kl_err err = {0};
    kl_run_query q = {filter, sort, (size_t)limit};
    if (kl_run_query_check(&q, &err) < 0)
        return kl_cli_fail(&err);
    kl_store *s = NULL;
    if ((rc = kl_cli_store_open(cli, &s)) != KL_EXIT_OK)
        return rc;
    kl_run_list l = {0};
    char keys[8][128];
    size_t nk = metric_columns(filter, keys, 0);
    nk = metric_columns(sort, keys, nk);
    double *vals = NULL;
    int *has = NULL;
    if (kl_store_runs(s, &q, &l, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto out;
    }
    vals = calloc(nk * l.count + 1, sizeof *vals);
    has = calloc(nk * l.count + 1, sizeof *has);
    if (!vals || !has) {
        rc = kl_cli_error(KL_EXIT_INPUT, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < nk; k++)
        if (kl_store_runs_metric(s, &l, keys[k], vals + k * l.count, has + k * l.count, &err) < 0) {
            rc = kl_cli_fail(&err);
            goto out;
        }
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < l.count; i++) {
            json_t *o = info_json(&l.items[i]), *m = json_object();
            for (size_t k = 0; k < nk; k++)
                if (has[k * l.count + i] && isfinite(vals[k * l.count + i]))
                    json_object_set_new(m, keys[k], json_real(vals[k * l.count + i]));
            json_object_set_new(o, "metrics", m);
            json_array_append_new(arr, o);
        }
        rc = kl_cli_json_print(arr);
        goto out;
    }
    rc = print_runs(&l, keys, nk, vals, has);
out:
    free(vals);
    free(has);
    kl_run_list_release(&l);
    kl_store_close(s);
    return rc;
}

static json_t *detail_json(const kl_run_detail *d)
{
    json_t *o = info_json(&d->run), *p = json_object(), *m = json_object(), *t = json_object(),
           *a = json_array();
    for (size_t i = 0; i < d->n_params; i++)
        json_object_set_new(p, d->params[i].key, json_string(d->params[i].value));
    for (size_t i = 0; i < d->n_metrics; i++) {
        const kl_metric_latest *x = &d->metrics[i];
        json_object_set_new(m, x->key,
                            json_pack("{s:o, s:I, s:I}", "value",
                                      isfinite(x->value) ? json_real(x->value) : json_null(),
                                      "step", (json_int_t)x->step, "timestamp_ms",
                                      (json_int_t)x->timestamp_ms));
    }
    for (size_t i = 0; i < d->n_tags; i++)
        json_object_set_new(t, d->tags[i].key, json_string(d->tags[i].value));
    for (size_t i = 0; i < d->n_artifacts; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s?}", "name", d->artifacts[i].name,
                                           "object", d->artifacts[i].object, "kind",
                                           d->artifacts[i].kind));
    json_object_set_new(o, "params", p);
    json_object_set_new(o, "metrics", m);
    json_object_set_new(o, "tags", t);
    json_object_set_new(o, "artifacts", a);
    return o;
}

static void print_run(const kl_run_detail *d)
{
    const kl_run_info *r = &d->run;
    char when[32], end[32], dur[32];
    kl_cli_time(r->started_ms, when, sizeof when);
    kl_cli_time(r->ended_ms, end, sizeof end);
    duration(r, dur, sizeof dur);
    printf("run %s\n", r->id);
    if (r->name)
        printf("name      %s\n", r->name);
    printf("status    %s\nstarted   %s UTC\nended     %s%s (%s)\n", kl_run_status_name(r->status),
           when, end, r->ended_ms ? " UTC" : "", dur);
    if (r->parent)
        printf("parent    %s\n", r->parent);
    if (r->snapshot)
        printf("snapshot  %s\n", r->snapshot);
    if (r->spec_hash)
        printf("spec      %s\n", r->spec_hash);
    if (r->git_commit)
        printf("git       %s%s\n", r->git_commit, r->git_dirty == 1 ? " (dirty)" : "");
    if (r->has_seed)
        printf("seed      %llu\n", (unsigned long long)r->seed);
    printf("host      %s\nkeel      %s\n", r->host ? r->host : "-",
           r->keel_version ? r->keel_version : "-");
    if (d->n_params) {
        printf("\nparams\n");
        for (size_t i = 0; i < d->n_params; i++)
            printf("  %s = %s\n", d->params[i].key, d->params[i].value);
    }
    if (d->n_metrics) {
        printf("\nmetrics (latest value, step)\n");
        for (size_t i = 0; i < d->n_metrics; i++)
            printf("  %s = %.10g (step %lld)\n", d->metrics[i].key, d->metrics[i].value,
                   (long long)d->metrics[i].step);
    }
    if (d->n_tags) {
        printf("\ntags\n");
        for (size_t i = 0; i < d->n_tags; i++)
            printf("  %s = %s\n", d->tags[i].key, d->tags[i].value);
    }
    if (d->n_artifacts) {
        printf("\nartifacts\n");
        for (size_t i = 0; i < d->n_artifacts; i++)
            printf("  %s (%s) %s\n", d->artifacts[i].name,
                   d->artifacts[i].kind ? d->artifacts[i].kind : "-", d->artifacts[i].object);
    }
}

static int cmd_show(struct kl_cli *cli, int argc, char **argv)
{
    int json = 0;
    const struct kl_opt opts[] = {KL_OPT_JSON_(&json), KL_OPT_END_};
    const struct kl_usage u = {
        "[options] ID",
        "Show a run (attributes, parameters, latest metrics, tags, artifacts) or a\n"
        "data snapshot (as 'keel data show'). ID is a full id, a unique prefix of at\n"
        "least 4 characters, a name or a tag (key=value).",
        opts, 1, 1};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    kl_store *s = NULL;
    if ((rc = kl_cli_store_open(cli, &s)) != KL_EXIT_OK)
        return rc;
    kl_ref ref;
    kl_err err = {0};
    if ((rc = kl_cli_resolve(s, NULL, pos[0], &ref)) != KL_EXIT_OK)
        goto out;
    if (strcmp(ref.kind, "snapshot") == 0) {
        kl_snapshot_list l = {0};
        json_t *m = NULL;
        if (kl_store_snapshot_list(s, ref.id, &l, &err) < 0 ||
            kl_snapshot_manifest(s, ref.id, &m, &err) < 0) {
            kl_snapshot_list_release(&l);
            rc = kl_cli_fail(&err);
            goto out;
        }
        const kl_snapshot_rec *r = &l.items[0];
        if (json) {
            json_t *o = json_pack("{s:s, s:s, s:s?, s:s, s:I, s:I, s:s, s:I, s:o}", "kind",
                                  "snapshot", "id", r->id, "name", r->name, "source_hash",
                                  r->source_hash, "rows", (json_int_t)r->n_rows, "columns",
                                  (json_int_t)r->n_cols, "schema_hash", r->schema_hash,
                                  "created_ms", (json_int_t)r->created_ms, "manifest", m);
            rc = kl_cli_json_print(o);
        } else {
            char when[32];
            kl_cli_time(r->created_ms, when, sizeof when);
            printf("snapshot %s\n", r->id);
            if (r->name)
                printf("name     %s\n", r->name);
            printf("created  %s UTC\nsource   sha256 %s\nrows     %lld\ncolumns  %lld\n"
                   "schema   %s\n",
                   when, r->source_hash, (long long)r->n_rows, (long long)r->n_cols,
                   r->schema_hash);
            printf("(keel data show %.12s lists the column statistics)\n", r->id);
            json_decref(m);
        }
        kl_snapshot_list_release(&l);
        goto out;
    }
    kl_run_detail d = {0};
    if (kl_store_run_get(s, ref.id, &d, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto out;
    }
    if (json) {
        json_t *o = detail_json(&d);
        json_object_set_new(o, "kind", json_string("run"));
        rc = kl_cli_json_print(o);
    } else {
        print_run(&d);
    }
    kl_run_detail_release(&d);
out:
    kl_store_close(s);
    return rc;
}

/* Sorted union of keys (params or metrics) over the runs. */
static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static size_t union_keys(const kl_run_detail *d, size_t n, int metrics, const char ***out)
{
    size_t cap = 0, k = 0;
    for (size_t i = 0; i < n; i++)
        cap += metrics ? d[i].n_metrics : d[i].n_params;
    const char **keys = malloc((cap ? cap : 1) * sizeof *keys);
    if (!keys) {
        *out = NULL;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < (metrics ? d[i].n_metrics : d[i].n_params); j++)
            keys[k++] = metrics ? d[i].metrics[j].key : d[i].params[j].key;
    qsort(keys, k, sizeof *keys, key_cmp);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || strcmp(keys[u - 1], keys[i]) != 0)
            keys[u++] = keys[i];
    *out = keys;
    return u;
}

static const char *param_of(const kl_run_detail *d, const char *key)
{
    for (size_t j = 0; j < d->n_params; j++)
        if (strcmp(d->params[j].key, key) == 0)
            return d->params[j].value;
    return NULL;
}

static const kl_metric_latest *metric_of(const kl_run_detail *d, const char *key)
{
    for (size_t j = 0; j < d->n_metrics; j++)
        if (strcmp(d->metrics[j].key, key) == 0)
            return &d->metrics[j];
    return NULL;
}

static int cmd_compare(struct kl_cli *cli, int argc, char **argv)
{
    int json = 0;
    const struct kl_opt opts[] = {KL_OPT_JSON_(&json), KL_OPT_END_};
    const struct kl_usage u = {
        "[options] RUN RUN...",
        "Show the parameters and latest metrics of two or more runs side by side.\n"
        "Rows whose values differ (or that some runs lack) are marked with '*'.",
        opts, 2, 64};
    char *pos[64];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    kl_store *s = NULL;
    if ((rc = kl_cli_store_open(cli, &s)) != KL_EXIT_OK)
        return rc;
    kl_run_detail d[64];
    memset(d, 0, sizeof d);
    size_t n = 0;
    kl_err err = {0};
    const char **pk = NULL, **mk = NULL;
    for (int i = 0; i < n_pos; i++) {
        kl_ref ref;
        if ((rc = kl_cli_resolve(s, "run", pos[i], &ref)) != KL_EXIT_OK)
            goto out;
        if (kl_store_run_get(s, ref.id, &d[n], &err) < 0) {
            rc = kl_cli_fail(&err);
            goto out;
        }
        n++;
    }
    size_t np = union_keys(d, n, 0, &pk), nm = union_keys(d, n, 1, &mk);
    if (!pk || !mk) {
        rc = kl_cli_error(KL_EXIT_INPUT, "out of memory");
        goto out;
    }
    if (json) {
        json_t *runs = json_array(), *params = json_array(), *metrics = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(runs, json_string(d[i].run.id));
        for (size_t k = 0; k < np; k++) {
            json_t *v = json_array();
            int differ = 0;
            for (size_t i = 0; i < n; i++) {
                const char *x = param_of(&d[i], pk[k]), *y = param_of(&d[0], pk[k]);
                differ |= !x || !y || strcmp(x, y) != 0;
                json_array_append_new(v, x ? json_string(x) : json_null());
            }
            json_array_append_new(params, json_pack("{s:s, s:o, s:b}", "key", pk[k], "values", v,
                                                    "differ", differ));
        }
        for (size_t k = 0; k < nm; k++) {
            json_t *v = json_array();
            int differ = 0;
            for (size_t i = 0; i < n; i++) {
                const kl_metric_latest *x = metric_of(&d[i], mk[k]), *y = metric_of(&d[0], mk[k]);
                differ |= !x || !y || !(x->value == y->value);
                json_array_append_new(v, x && isfinite(x->value) ? json_real(x->value)
                                                                 : json_null());
            }
            json_array_append_new(metrics, json_pack("{s:s, s:o, s:b}", "key", mk[k], "values",
                                                     v, "differ", differ));
        }
        rc = kl_cli_json_print(json_pack("{s:o, s:o, s:o}", "runs", runs, "params", params,
                                         "metrics", metrics));
        goto out;
    }
    struct kl_table *t = kl_table_new(n + 2);
    const char *row[66];
    char (*cell)[64] = calloc(n + 2, sizeof *cell);
    if (!t || !cell) {
        kl_table_free(t);
        free(cell);
        rc = kl_cli_error(KL_EXIT_INPUT, "out of memory");
        goto out;
    }
    row[0] = "";
    row[1] = "";
    for (size_t i = 0; i < n; i++) {
        snprintf(cell[i], sizeof cell[i], "%.12s", d[i].run.id);
        row[2 + i] = cell[i];
    }
    kl_table_add(t, row);
    for (size_t k = 0; k < np; k++) {
        int differ = 0;
        for (size_t i = 0; i < n; i++) {
            const char *x = param_of(&d[i], pk[k]), *y = param_of(&d[0], pk[k]);
            differ |= !x || !y || strcmp(x, y) != 0;
            row[2 + i] = x ? x : "-";
        }
        snprintf(cell[n], sizeof cell[n], "params.%s", pk[k]);
        row[0] = differ ? "*" : "";
        row[1] = cell[n];
        kl_table_add(t, row);
    }
    char (*mv)[32] = calloc(n, sizeof *mv);
    for (size_t k = 0; mv && k < nm; k++) {
        int differ = 0;
        for (size_t i = 0; i < n; i++) {
            const kl_metric_latest *x = metric_of(&d[i], mk[k]), *y = metric_of(&d[0], mk[k]);
            differ |= !x || !y || !(x->value == y->value);
            if (x)
                snprintf(mv[i], sizeof mv[i], "%.10g", x->value);
            else
                snprintf(mv[i], sizeof mv[i], "-");
            row[2 + i] = mv[i];
        }
        snprintf(cell[n], sizeof cell[n], "metrics.%s", mk[k]);
        row[0] = differ ? "*" : "";
        row[1] = cell[n];
        kl_table_add(t, row);
    }
    for (size_t i = 0; i < n; i++)
        kl_table_align_right(t, 2 + i);
    kl_table_print(t, stdout, 40);
    kl_table_free(t);
    free(cell);
    free(mv);
out:
    free(pk);
    free(mk);
    for (size_t i = 0; i < n; i++)
        kl_run_detail_release(&d[i]);
    kl_store_close(s);
    return rc;
}

/* ---- lineage ---- */

static void node_label(const char *kind, const char *id, char *buf, size_t n)
{
    snprintf(buf, n, "%s:%.12s", kind, id);
}

/*
 * Print the edges of l as a tree under the start node: each edge at depth k
 * hangs under the node it touches at depth k - 1 (ancestors: the edge's
 * "to" end is the nearer node; descendants: its "from" end).
 */
static void print_tree(const kl_lineage *l, int up, const char *kind, const char *id, int depth,
                       int indent)
{
    for (size_t i = 0; i < l->count; i++) {
        const kl_lineage_edge *e = &l->edges[i];
        if (e->depth != depth)
            continue;
        const char *nk = up ? e->to_kind : e->from_kind, *ni = up ? e->to_id : e->from_id;
        if (strcmp(nk, kind) != 0 || strcmp(ni, id) != 0)
            continue;
        const char *ok = up ? e->from_kind : e->to_kind, *oi = up ? e->from_id : e->to_id;
        char lab[96];
        node_label(ok, oi, lab, sizeof lab);
        printf("%*s%s %s (%s)\n", indent * 2, "", up ? "<-" : "->", lab, e->relation);
        if (depth < 64)
            print_tree(l, up, ok, oi, depth + 1, indent + 1);
    }
}

static int cmd_lineage(struct kl_cli *cli, int argc, char **argv)
{
    int dot = 0;
    long depth = 0;
    const struct kl_opt opts[] = {
        KL_OPT_FLAG_("dot", 0, &dot, "print a Graphviz digraph instead of text"),
        KL_OPT_INT_("depth", 0, "N", &depth, 0, 64, "follow at most N layers (0: 64)"),
        KL_OPT_END_};
    const struct kl_usage u = {
        "[options] ID",
        "Show where a run or snapshot came from (ancestors, marked <-) and what was\n"
        "made from it (descendants, marked ->), as a text tree or, with --dot, as a\n"
        "Graphviz digraph (render with 'dot -Tsvg').",
        opts, 1, 1};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    kl_store *s = NULL;
    if ((rc = kl_cli_store_open(cli, &s)) != KL_EXIT_OK)
        return rc;
    kl_ref ref;
    kl_err err = {0};
    kl_lineage up = {0}, down = {0};
    if ((rc = kl_cli_resolve(s, NULL, pos[0], &ref)) != KL_EXIT_OK)
        goto out;
    if (kl_store_lineage(s, ref.kind, ref.id, KL_LINEAGE_DIR_ANCESTORS, (int)depth, &up, &err) <
            0 ||
        kl_store_lineage(s, ref.kind, ref.id, KL_LINEAGE_DIR_DESCENDANTS, (int)depth, &down,
                         &err) < 0) {
        rc = kl_cli_fail(&err);
        goto out;
    }
    if (dot) {
        /* Each node once (the first time it appears), then each edge. */
        json_t *seen = json_object();
        printf("digraph lineage {\n  rankdir=LR;\n  node [shape=box];\n");
        printf("  \"%s:%s\" [label=\"%s\\n%.12s\", style=bold];\n", ref.kind, ref.id, ref.kind,
               ref.id);
        char key[96];
        snprintf(key, sizeof key, "%s:%s", ref.kind, ref.id);
        json_object_set_new(seen, key, json_true());
        for (int pass = 0; pass < 2; pass++) {
            const kl_lineage *l = pass ? &down : &up;
            for (size_t i = 0; i < l->count; i++) {
                const kl_lineage_edge *e = &l->edges[i];
                const char *ends[2][2] = {{e->from_kind, e->from_id}, {e->to_kind, e->to_id}};
                for (int k = 0; k < 2; k++) {
                    snprintf(key, sizeof key, "%s:%s", ends[k][0], ends[k][1]);
                    if (json_object_get(seen, key))
                        continue;
                    json_object_set_new(seen, key, json_true());
                    printf("  \"%s\" [label=\"%s\\n%.12s\"];\n", key, ends[k][0], ends[k][1]);
                }
                printf("  \"%s:%s\" -> \"%s:%s\" [label=\"%s\"];\n", e->from_kind, e->from_id,
                       e->to_kind, e->to_id, e->relation);
            }
        }
        printf("}\n");
        json_decref(seen);
        goto out;
    }
    char lab[96];
    node_label(ref.kind, ref.id, lab, sizeof lab);
    printf("%s\n", lab);
    if (up.count) {
        printf("ancestors\n");
        print_tree(&up, 1, ref.kind, ref.id, 1, 1);
    }
    if (down.count) {
        printf("descendants\n");
        print_tree(&down, 0, ref.kind, ref.id, 1, 1);
    }
    if (!up.count && !down.count)
        printf("(no lineage recorded)\n");
out:
    kl_lineage_release(&up);
    kl_lineage_release(&down);
    kl_store_close(s);
    return rc;
}

static const struct kl_cmd runs = {"runs", cmd_runs, "list tracked runs", 70, NULL};
static const struct kl_cmd show = {"show", cmd_show, "show a run or a data snapshot", 72, NULL};
static const struct kl_cmd compare = {"compare", cmd_compare, "compare runs side by side", 74,
                                      NULL};
static const struct kl_cmd lineage = {"lineage", cmd_lineage,
                                      "show what a run or snapshot came from and led to", 76,
                                      NULL};
KL_COMMANDS(runs, &runs, &show, &compare, &lineage);
