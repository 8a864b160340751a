/*
 * keel data add|list|show|diff|get: versioned data snapshots in the
 * project's store (include/keel/snapshot.h has the format and the id rule).
 *
 * add reads the file like every data command, applies keel.yaml's PII
 * policies before anything is written (kl_pii_protect) and stores the result;
 * the transformation log goes into the manifest, so lineage shows what was
 * anonymised. The other commands only read the store.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/csv.h"
#include "keel/frame.h"
#include "keel/pii.h"
#include "keel/snapshot.h"
#include "keel/spec.h"
#include "keel/store.h"
#include "data_read.h"
#include "data_sources.h"
#include "keel.h"
#include "store_cli.h"
#include "core/common.h"

static int cmd_data_add(struct kl_cli *cli, int argc, char **argv)
{
    struct kl_data_read_args a = {0};
    const char *name = NULL, *tag = NULL;
    const struct kl_opt opts[] = {
        KL_OPT_STRING_("name", 0, "NAME", &name, "a name to refer to the snapshot by"),
        KL_OPT_STRING_("tag", 0, "KEY=VALUE", &tag,
                       "tag the snapshot (export and import carry tags and names)"),
        KL_DATA_READ_OPTS_(a), KL_OPT_JSON_(&a.json), KL_OPT_END_};
    const struct kl_usage u = {
        "[options] [FILE]",
        "Snapshot a CSV file (default: keel.yaml's data.source) into the project's\n"
        "store: read it like 'keel data schema', apply keel.yaml's PII policies\n"
        "before anything is written, then store the normalised table, the file's\n"
        "SHA-256, the schema and the statistics drift checks use. The id depends\n"
        "only on the content and the rules, so adding the same data again gives\n"
        "the same id and stores nothing new.",
        opts, 0, 1};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    if (!n_pos && (rc = kl_data_sources_add(cli, &a, name)) != KL_CLI_CONTINUE)
        return rc; /* keel.yaml lists data.sources: the joined snapshot (cli/data_sources.c) */
    kl_frame *f = NULL, *safe = NULL;
    kl_csv_report rep = {0};
    kl_spec *spec = NULL;
    char path[8192];
    rc = kl_data_read(cli, &a, n_pos ? pos[0] : NULL, &f, &rep, &spec, path, sizeof path);
    kl_csv_report_release(&rep);
    if (rc != KL_EXIT_OK)
        return rc;
    kl_err err = {0};
    kl_pii_log log = {0};
    kl_store *s = NULL;
    char src[KL_ID_LEN], id[KL_ID_LEN], policy[8192];
    int created = 0;
    json_t *logj = NULL;
    kl_data_policy_text(spec, policy, sizeof policy);
    if (kl_file_sha256(path, src, &err) < 0 ||
        (spec && kl_pii_protect(f, spec, cli->dir, &safe, &log, &err) < 0)) {
        rc = kl_cli_fail(&err);
        goto out;
    }
    if (spec) {
        kl_frame_free(f);
        f = NULL;
    } else { /* no keel.yaml: no policy but keep, so the frame as read is stored */
        safe = f;
        f = NULL;
    }
    if (!(logj = kl_pii_log_json(&log))) {
        rc = kl_cli_error(KL_EXIT_INPUT, "out of memory");
        goto out;
    }
    if ((rc = kl_cli_store_open(cli, &s)) != KL_EXIT_OK)
        goto out;
    kl_snapshot_opts so = {name, src, policy, logj};
    if (kl_snapshot_create(s, safe, &so, id, &created, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto out;
    }
    if (tag) {
        const char *eq = strchr(tag, '=');
        char key[256];
        snprintf(key, sizeof key, "%.*s", eq ? (int)(eq - tag) : (int)strlen(tag), tag);
        if (kl_store_set_tag(s, "snapshot", id, key, eq ? eq + 1 : "", &err) < 0) {
            rc = kl_cli_fail(&err);
            goto out;
        }
    }
    size_t nr = kl_frame_row_count(safe), nc = kl_frame_col_count(safe);
    if (a.json) {
        json_t *o = json_pack("{s:s, s:b, s:s?, s:s, s:s, s:I, s:I, s:O}", "id", id, "created",
                              created, "name", name, "file", path, "source_hash", src, "rows",
                              (json_int_t)nr, "columns", (json_int_t)nc, "pii", logj);
        rc = kl_cli_json_print(o);
    } else {
        printf("%s snapshot %s (%zu rows, %zu columns)\n", created ? "added" : "unchanged: have",
               id, nr, nc);
        for (size_t k = 0; k < log.n; k++)
            printf("  pii: column '%s': %s (%s rule)\n", log.entries[k].column,
                   kl_pii_action_name(log.entries[k].policy.action), log.entries[k].rule);
    }
out:
    json_decref(logj);
    kl_pii_log_release(&log);
    kl_store_close(s);
    kl_frame_free(f);
    kl_frame_free(safe);
    kl_spec_free(spec);
    return rc;
}

static json_t *rec_json(const kl_snapshot_rec *r)
{
    return json_pack("{s:s, s:s?, s:s, s:I, s:I, s:s, s:I, s:I, s:s}", "id", r->id, "name",
                     r->name, "source_hash", r->source_hash, "rows", (json_int_t)r->n_rows,
                     "columns", (json_int_t)r->n_cols, "schema_hash", r->schema_hash,
                     "infer_version", (json_int_t)r->infer_version, "created_ms",
                     (json_int_t)r->created_ms, "manifest", r->manifest);
}

static int cmd_data_list(struct kl_cli *cli, int argc, char **argv)
{
    int json = 0;
    const struct kl_opt opts[] = {KL_OPT_JSON_(&json), KL_OPT_END_};
    const struct kl_usage u = {"[options]",
                               "List the project's data snapshots, newest first.", opts, 0, 0};
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, NULL, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    kl_store *s = NULL;
    if ((rc = kl_cli_store_open(cli, &s)) != KL_EXIT_OK)
        return rc;
    kl_err err = {0};
    kl_snapshot_list l = {0};
    if (kl_store_snapshot_list(s, NULL, &l, &err) < 0) {
        kl_store_close(s);
        return kl_cli_fail(&err);
    }
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < l.count; i++)
            json_array_append_new(arr, rec_json(&l.items[i]));
        rc = kl_cli_json_print(arr);
    } else {
        struct kl_table *t = kl_table_new(5);
        const char *head[] = {"id", "name", "rows", "columns", "created (UTC)"};
        kl_table_add(t, head);
        kl_table_align_right(t, 2);
        kl_table_align_right(t, 3);
        for (size_t i = 0; i < l.count; i++) {
            char id[13], rows[24], cols[24], when[32];
            snprintf(id, sizeof id, "%.12s", l.items[i].id);
            snprintf(rows, sizeof rows, "%lld", (long long)l.items[i].n_rows);
            snprintf(cols, sizeof cols, "%lld", (long long)l.items[i].n_cols);
            kl_cli_time(l.items[i].created_ms, when, sizeof when);
            const char *row[] = {id, l.items[i].name ? l.items[i].name : "", rows, cols, when};
            kl_table_add(t, row);
        }
        kl_table_print(t, stdout, 40);
        kl_table_free(t);
    }
    kl_snapshot_list_release(&l);
    kl_store_close(s);
    return rc;
}

/* The record and manifest of the snapshot text names. Exit code. */
static int load_snapshot(kl_store *s, const char *text, kl_snapshot_list *l, json_t **m)
{
    kl_ref ref;
    kl_err err = {0};
    int rc = kl_cli_resolve(s, "snapshot", text, &ref);
    if (rc != KL_EXIT_OK)
        return rc;
    if (kl_store_snapshot_list(s, ref.id, l, &err) < 0 || kl_snapshot_manifest(s, ref.id, m, &err) < 0)
        return kl_cli_fail(&err);
    return KL_EXIT_OK;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* A statistic as text ("" when absent). */
static void stat_text(json_t *st, const char *k, char *buf, size_t n)
{
    json_t *v = json_object_get(st, k);
    if (json_is_number(v))
        snprintf(buf, n, "%.6g", json_number_value(v));
    else
        snprintf(buf, n, "%s", "");
}

static int cmd_data_show(struct kl_cli *cli, int argc, char **argv)
{
    int json = 0;
    const struct kl_opt opts[] = {KL_OPT_JSON_(&json), KL_OPT_END_};
    const struct kl_usage u = {
        "[options] ID",
        "Show a snapshot: its record (id, name, source file hash, counts) and per\n"
        "column the type, missing values and statistics stored with it: for numbers\n"
        "the moments and decile edges, for categories their counts. ID is a full id,\n"
        "a unique prefix of at least 4 characters, a name or a tag.",
        opts, 1, 1};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    kl_store *s = NULL;
    if ((rc = kl_cli_store_open(cli, &s)) != KL_EXIT_OK)
        return rc;
    kl_snapshot_list l = {0};
    json_t *m = NULL;
    if ((rc = load_snapshot(s, pos[0], &l, &m)) != KL_EXIT_OK)
        goto out;
    const kl_snapshot_rec *r = &l.items[0];
    kl_tag_list tags = {0};
    kl_err terr = {0};
    if (kl_store_tags(s, "snapshot", r->id, &tags, &terr) < 0) {
        rc = kl_cli_fail(&terr);
        goto out;
    }
    if (json) {
        json_t *o = rec_json(r), *tj = json_object();
        for (size_t i = 0; i < tags.count; i++)
            json_object_set_new(tj, tags.items[i].key, json_string(tags.items[i].value));
        json_object_set_new(o, "tags", tj);
        kl_tag_list_release(&tags);
        json_object_set(o, "manifest_content", m);
        rc = kl_cli_json_print(o);
        goto out;
    }
    char when[32];
    kl_cli_time(r->created_ms, when, sizeof when);
    printf("snapshot %s\n", r->id);
    if (r->name)
        printf("name     %s\n", r->name);
    printf("created  %s UTC\nsource   sha256 %s\nrows     %lld\ncolumns  %lld\n"
           "schema   %.16s (type inference rules v%lld)\npolicy   %s\n",
           when, r->source_hash, (long long)r->n_rows, (long long)r->n_cols, r->schema_hash,
           (long long)r->infer_version, jstr(m, "policy"));
    for (size_t i = 0; i < tags.count; i++)
        printf("tag      %s=%s\n", tags.items[i].key, tags.items[i].value);
    kl_tag_list_release(&tags);
    json_t *pii = json_object_get(m, "pii_log");
    for (size_t k = 0; k < json_array_size(pii); k++) {
        json_t *e = json_array_get(pii, k);
        printf("pii      column '%s': %s\n", jstr(e, "column"), jstr(e, "action"));
    }
    printf("\n");
    json_t *cols = json_object_get(json_object_get(m, "schema"), "columns");
    json_t *stats = json_object_get(m, "stats");
    struct kl_table *t = kl_table_new(9);
    const char *head[] = {"column", "type", "missing", "distinct", "mean", "sd", "min", "max",
                          "deciles / top categories"};
    kl_table_add(t, head);
    for (size_t j = 2; j < 8; j++)
        kl_table_align_right(t, j);
    for (size_t j = 0; j < json_array_size(cols); j++) {
        json_t *c = json_array_get(cols, j), *st = json_array_get(stats, j);
        char miss[24], dist[24], mean[32], sd[32], mn[32], mx[32], extra[512] = "";
        snprintf(miss, sizeof miss, "%lld",
                 (long long)json_integer_value(json_object_get(c, "missing")));
        json_t *d = json_object_get(st, "distinct");
        snprintf(dist, sizeof dist, "%s", "");
        if (json_is_integer(d))
            snprintf(dist, sizeof dist, "%lld", (long long)json_integer_value(d));
        stat_text(st, "mean", mean, sizeof mean);
        stat_text(st, "sd", sd, sizeof sd);
        stat_text(st, "min", mn, sizeof mn);
        stat_text(st, "max", mx, sizeof mx);
        size_t len = 0;
        json_t *dec = json_object_get(st, "deciles"), *counts = json_object_get(st, "counts");
        for (size_t q = 0; q < json_array_size(dec) && len < sizeof extra; q += 5)
            len += (size_t)snprintf(extra + len, sizeof extra - len, "%sp%zu0=%.6g",
                                    q ? " " : "", q, json_number_value(json_array_get(dec, q)));
        const char *key;
        json_t *val;
        size_t shown = 0;
        json_object_foreach(counts, key, val)
        {
            if (shown++ == 4 || len >= sizeof extra)
                break;
            len += (size_t)snprintf(extra + len, sizeof extra - len, "%s%s:%lld",
                                    shown > 1 ? " " : "", key, (long long)json_integer_value(val));
        }
        const char *row[] = {jstr(c, "name"), jstr(c, "type"), miss, dist, mean, sd, mn, mx,
                             extra};
        kl_table_add(t, row);
    }
    kl_table_print(t, stdout, 48);
    kl_table_free(t);
out:
    json_decref(m);
    kl_snapshot_list_release(&l);
    kl_store_close(s);
    return rc;
}

static json_t *find_col(json_t *cols, const char *name, size_t *idx)
{
    for (size_t j = 0; j < json_array_size(cols); j++)
        if (strcmp(jstr(json_array_get(cols, j), "name"), name) == 0) {
            *idx = j;
            return json_array_get(cols, j);
        }
    return NULL;
}

static const char *const diff_stats[] = {"missing", "distinct", "mean", "sd", "min", "max",
                                         "skewness", "kurtosis"};

/* Statistic k of column (schema entry c, stats entry st) as a number; 0 when absent. */
static int stat_num(json_t *c, json_t *st, const char *k, double *v)
{
    json_t *x = json_object_get(strcmp(k, "missing") == 0 ? c : st, k);
    if (!json_is_number(x))
        return 0;
    *v = json_number_value(x);
    return 1;
}

static int cmd_data_diff(struct kl_cli *cli, int argc, char **argv)
{
    int json = 0;
    const struct kl_opt opts[] = {KL_OPT_JSON_(&json), KL_OPT_END_};
    const struct kl_usage u = {
        "[options] A B",
        "Compare two snapshots: columns added, removed or retyped, row counts, and\n"
        "per shared column the statistics that changed (missing, distinct, mean,\n"
        "sd, min, max, skewness, kurtosis; category counts). Exit 0 whatever the\n"
        "differences.",
        opts, 2, 2};
    char *pos[2];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    kl_store *s = NULL;
    if ((rc = kl_cli_store_open(cli, &s)) != KL_EXIT_OK)
        return rc;
    kl_snapshot_list la = {0}, lb = {0};
    json_t *ma = NULL, *mb = NULL, *out = NULL;
    if ((rc = load_snapshot(s, pos[0], &la, &ma)) != KL_EXIT_OK ||
        (rc = load_snapshot(s, pos[1], &lb, &mb)) != KL_EXIT_OK)
        goto done;
    json_t *ca = json_object_get(json_object_get(ma, "schema"), "columns");
    json_t *cb = json_object_get(json_object_get(mb, "schema"), "columns");
    json_t *sa = json_object_get(ma, "stats"), *sb = json_object_get(mb, "stats");
    json_t *added = json_array(), *removed = json_array(), *retyped = json_array();
    json_t *changes = json_array();
    for (size_t j = 0; j < json_array_size(ca); j++) {
        json_t *c = json_array_get(ca, j);
        size_t k;
        json_t *d = find_col(cb, jstr(c, "name"), &k);
        if (!d) {
            json_array_append_new(removed, json_string(jstr(c, "name")));
            continue;
        }
        if (strcmp(jstr(c, "type"), jstr(d, "type")) != 0) {
            json_array_append_new(retyped, json_pack("{s:s, s:s, s:s}", "column", jstr(c, "name"),
                                                     "a", jstr(c, "type"), "b", jstr(d, "type")));
            continue;
        }
        json_t *x = json_array_get(sa, j), *y = json_array_get(sb, k);
        for (size_t q = 0; q < KL_ARRAY_LEN(diff_stats); q++) {
            double va = 0, vb = 0;
            int ha = stat_num(c, x, diff_stats[q], &va), hb = stat_num(d, y, diff_stats[q], &vb);
            if (ha != hb || (ha && va != vb)) {
                json_t *e = json_pack("{s:s, s:s}", "column", jstr(c, "name"), "statistic",
                                      diff_stats[q]);
                json_object_set_new(e, "a", ha ? json_real(va) : json_null());
                json_object_set_new(e, "b", hb ? json_real(vb) : json_null());
                json_array_append_new(changes, e);
            }
        }
        json_t *na = json_object_get(x, "counts"), *nb = json_object_get(y, "counts");
        const char *key;
        json_t *val;
        json_object_foreach(na, key, val)
        {
            json_int_t p = json_integer_value(val), q = json_integer_value(json_object_get(nb, key));
            if (p != q)
                json_array_append_new(changes,
                                      json_pack("{s:s, s:s, s:I, s:I}", "column", jstr(c, "name"),
                                                "category", key, "a", p, "b", q));
        }
        json_object_foreach(nb, key, val)
        {
            if (!json_object_get(na, key))
                json_array_append_new(changes, json_pack("{s:s, s:s, s:I, s:I}", "column",
                                                         jstr(c, "name"), "category", key, "a",
                                                         (json_int_t)0, json_integer_value(val)));
        }
    }
    for (size_t k = 0; k < json_array_size(cb); k++) {
        size_t j;
        if (!find_col(ca, jstr(json_array_get(cb, k), "name"), &j))
            json_array_append_new(added, json_string(jstr(json_array_get(cb, k), "name")));
    }
    out = json_pack("{s:s, s:s, s:I, s:I, s:b, s:o, s:o, s:o, s:o}", "a", la.items[0].id, "b",
                    lb.items[0].id, "rows_a", (json_int_t)la.items[0].n_rows, "rows_b",
                    (json_int_t)lb.items[0].n_rows, "same_schema",
                    strcmp(la.items[0].schema_hash, lb.items[0].schema_hash) == 0, "added", added,
                    "removed", removed, "retyped", retyped, "changes", changes);
    if (json) {
        rc = kl_cli_json_print(out);
        out = NULL;
        goto done;
    }
    printf("a %s\nb %s\nrows %lld -> %lld\n", la.items[0].id, lb.items[0].id,
           (long long)la.items[0].n_rows, (long long)lb.items[0].n_rows);
    for (size_t i = 0; i < json_array_size(added); i++)
        printf("+ column %s\n", json_string_value(json_array_get(added, i)));
    for (size_t i = 0; i < json_array_size(removed); i++)
        printf("- column %s\n", json_string_value(json_array_get(removed, i)));
    for (size_t i = 0; i < json_array_size(retyped); i++) {
        json_t *e = json_array_get(retyped, i);
        printf("~ column %s: %s -> %s\n", jstr(e, "column"), jstr(e, "a"), jstr(e, "b"));
    }
    for (size_t i = 0; i < json_array_size(changes); i++) {
        json_t *e = json_array_get(changes, i);
        json_t *va = json_object_get(e, "a"), *vb = json_object_get(e, "b");
        char ta[32] = "-", tb[32] = "-";
        if (json_is_number(va))
            snprintf(ta, sizeof ta, "%.6g", json_number_value(va));
        if (json_is_number(vb))
            snprintf(tb, sizeof tb, "%.6g", json_number_value(vb));
        if (json_object_get(e, "category"))
            printf("  %s[%s]: %s -> %s\n", jstr(e, "column"), jstr(e, "category"), ta, tb);
        else
            printf("  %s.%s: %s -> %s\n", jstr(e, "column"), jstr(e, "statistic"), ta, tb);
    }
    if (!json_array_size(added) && !json_array_size(removed) && !json_array_size(retyped) &&
        !json_array_size(changes) && la.items[0].n_rows == lb.items[0].n_rows)
        printf("no differences\n");
done:
    json_decref(out);
    json_decref(ma);
    json_decref(mb);
    kl_snapshot_list_release(&la);
    kl_snapshot_list_release(&lb);
    kl_store_close(s);
    return rc;
}

static int cmd_data_get(struct kl_cli *cli, int argc, char **argv)
{
    const char *output = NULL;
    const struct kl_opt opts[] = {
        KL_OPT_STRING_("output", 'o', "FILE", &output, "where to write the CSV (required)"),
        KL_OPT_END_};
    const struct kl_usage u = {
        "[options] ID -o FILE",
        "Write a snapshot's stored table as CSV. The table is read back and its\n"
        "content hash checked against the snapshot before anything is written.",
        opts, 1, 1};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    if (!output)
        return kl_cli_error(KL_EXIT_USAGE, "option '--output' is required; see 'keel %s --help'",
                            cli->path);
    kl_store *s = NULL;
    if ((rc = kl_cli_store_open(cli, &s)) != KL_EXIT_OK)
        return rc;
    kl_ref ref;
    kl_frame *f = NULL;
    kl_err err = {0};
    char path[8192];
    if ((rc = kl_cli_resolve(s, "snapshot", pos[0], &ref)) == KL_EXIT_OK) {
        if (kl_snapshot_load(s, ref.id, &f, &err) < 0 ||
            kl_csv_write_file(f, kl_cli_path(cli, output, path, sizeof path), NULL, &err) < 0)
            rc = kl_cli_fail(&err);
    }
    kl_frame_free(f);
    kl_store_close(s);
    return rc;
}

static const struct kl_cmd add = {"add", cmd_data_add, "snapshot a CSV file into the store", 30,
                                  "data"};
static const struct kl_cmd list = {"list", cmd_data_list, "list the data snapshots", 40, "data"};
static const struct kl_cmd show = {"show", cmd_data_show, "show a snapshot and its statistics", 50,
                                   "data"};
static const struct kl_cmd diff = {"diff", cmd_data_diff, "compare two snapshots", 60, "data"};
static const struct kl_cmd get = {"get", cmd_data_get, "write a snapshot's table as CSV", 70,
                                  "data"};
KL_COMMANDS(data_add, &add, &list, &show, &diff, &get);
