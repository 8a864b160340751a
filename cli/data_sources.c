/*
 * Joined snapshots (cli/data_sources.h): the shared half of `keel data join`
 * and of `keel data add` for a keel.yaml whose data section lists several
 * sources.
 *
 * A joined snapshot is an ordinary snapshot whose lineage has one
 * "joined_from" edge from each input snapshot to it, so `keel lineage` walks
 * back to every file. Its "source hash" cannot be a file's bytes; it is the
 * SHA-256 of the inputs' ids and the join descriptions, which keeps the id
 * rule (same content, same rules, same id). Each source of data.sources is
 * snapshotted on its own first, after keel.yaml's PII policy, so nothing
 * raw reaches the store and each file stays addressable.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keel/csv.h"
#include "keel/frame.h"
#include "keel/hash.h"
#include "keel/join.h"
#include "keel/pii.h"
#include "keel/snapshot.h"
#include "keel/spec.h"
#include "keel/store.h"
#include "data_sources.h"
#include "keel.h"
#include "store_cli.h"
#include "core/common.h"

/* ---- describing and reporting one join ---- */

static void put_list(char *buf, size_t n, size_t *len, const char *const *v, size_t m)
{
    for (size_t i = 0; i < m && *len < n; i++) {
        int w = snprintf(buf + *len, n - *len, "%s%s", i ? "," : "", v[i]);
        if (w > 0)
            *len += (size_t)w;
    }
}

void kl_cli_join_asof(const char *text, char *buf, size_t n, kl_join_opts *o)
{
    snprintf(buf, n, "%s", text);
    char *eq = strchr(buf, '=');
    o->asof = buf;
    o->asof_b = NULL;
    if (eq && eq != buf && eq[1]) {
        *eq = '\0';
        o->asof_b = eq + 1;
    }
}

void kl_cli_join_describe(const kl_join_opts *o, char *buf, size_t n)
{
    size_t len = 0;
    int w;
    if (!n)
        return;
    buf[0] = '\0';
    if (o->asof) {
        w = snprintf(buf, n, "asof %s%s%s", o->asof, o->asof_b ? "=" : "",
                     o->asof_b ? o->asof_b : "");
        len = w > 0 ? (size_t)w : 0;
        if (o->n_keys && len < n) {
            w = snprintf(buf + len, n - len, " by ");
            len += w > 0 ? (size_t)w : 0;
            put_list(buf, n, &len, o->keys, o->n_keys);
        }
    } else {
        w = snprintf(buf, n, "on ");
        len = w > 0 ? (size_t)w : 0;
        put_list(buf, n, &len, o->keys, o->n_keys);
    }
    if (len < n)
        snprintf(buf + len, n - len, " (%s%s%s)", o->how == KL_JOIN_HOW_LEFT ? "left" : "inner",
                 o->tolerance ? ", tolerance " : "", o->tolerance ? o->tolerance : "");
}

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

void kl_cli_join_warn(const struct kl_join_step *st)
{
    const kl_join_report *r = &st->rep;
    int left = st->opts.how == KL_JOIN_HOW_LEFT;
    if (!st->opts.asof && r->dup_keys_b)
        kl_cli_warn("%s: %zu %s of %s %s on several rows (%zu rows): each matching row of %s is "
                    "repeated (%s)",
                    "join", r->dup_keys_b, plural(r->dup_keys_b, "key", "keys"), st->b,
                    plural(r->dup_keys_b, "appears", "appear"), r->dup_rows_b, st->a,
                    kl_join_relation(r));
    if (st->opts.asof && r->dup_keys_b)
        kl_cli_warn("join: %zu %s of %s %s on several rows (%zu rows): only the last of each is "
                    "used",
                    r->dup_keys_b,
                    st->opts.n_keys ? plural(r->dup_keys_b, "(key, time) pair", "(key, time) pairs")
                                    : plural(r->dup_keys_b, "time", "times"),
                    st->b, plural(r->dup_keys_b, "appears", "appear"), r->dup_rows_b);
    if (r->missing_key_a)
        kl_cli_warn("join: %zu %s of %s %s a missing %s and never %s", r->missing_key_a,
                    plural(r->missing_key_a, "row", "rows"), st->a,
                    plural(r->missing_key_a, "has", "have"), st->opts.asof ? "key or time" : "key",
                    plural(r->missing_key_a, "matches", "match"));
    if (r->missing_key_b)
        kl_cli_warn("join: %zu %s of %s %s a missing %s and never %s", r->missing_key_b,
                    plural(r->missing_key_b, "row", "rows"), st->b,
                    plural(r->missing_key_b, "has", "have"), st->opts.asof ? "key or time" : "key",
                    plural(r->missing_key_b, "matches", "match"));
    if (r->unmatched_a)
        kl_cli_warn("join: %zu of %zu rows of %s %s no %s in %s (%s)", r->unmatched_a, r->rows_a,
                    st->a, plural(r->unmatched_a, "has", "have"),
                    st->opts.asof ? "earlier row" : "match", st->b,
                    left ? "kept, with its columns missing" : "dropped");
    if (r->beyond_tolerance)
        kl_cli_warn("join: %zu of those rows of %s had an earlier row in %s, but further back than "
                    "the tolerance %s",
                    r->beyond_tolerance, st->a, st->b, st->opts.tolerance);
    if (!st->opts.asof && r->unmatched_b)
        kl_cli_warn("join: %zu of %zu rows of %s %s no row of %s", r->unmatched_b, r->rows_b, st->b,
                    plural(r->unmatched_b, "matches", "match"), st->a);
}

void kl_cli_join_print(const struct kl_join_step *st)
{
    const kl_join_report *r = &st->rep;
    char desc[1024];
    kl_cli_join_describe(&st->opts, desc, sizeof desc);
    if (st->opts.asof)
        printf("  join %s %s: %zu rows out\n", st->b, desc, r->rows_out);
    else
        printf("  join %s %s: %s, %zu rows out\n", st->b, desc, kl_join_relation(r), r->rows_out);
    printf("    unmatched: %zu of %zu rows of %s, %zu of %zu rows of %s\n", r->unmatched_a,
           r->rows_a, st->a, r->unmatched_b, r->rows_b, st->b);
    if (r->dup_keys_a || r->dup_keys_b)
        printf("    duplicate %s: %zu in %s (%zu rows), %zu in %s (%zu rows)\n",
               st->opts.asof ? "times" : "keys", r->dup_keys_a, st->a, r->dup_rows_a, r->dup_keys_b,
               st->b, r->dup_rows_b);
}

json_t *kl_cli_join_step_json(const struct kl_join_step *st)
{
    const kl_join_report *r = &st->rep;
    char desc[1024];
    kl_cli_join_describe(&st->opts, desc, sizeof desc);
    json_t *keys = json_array();
    for (size_t k = 0; keys && k < st->opts.n_keys; k++)
        json_array_append_new(keys, json_string(st->opts.keys[k]));
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:o?, s:s?, s:s?, s:s?, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I, "
        "s:I, s:I, s:I, s:I}",
        "a", st->a, "b", st->b, "join", desc, "how",
        st->opts.how == KL_JOIN_HOW_LEFT ? "left" : "inner", st->opts.asof ? "by" : "on", keys,
        "asof", st->opts.asof, "asof_b", st->opts.asof_b, "tolerance", st->opts.tolerance,
        "relation", st->opts.asof ? NULL : kl_join_relation(r), "rows_a", (json_int_t)r->rows_a,
        "rows_b", (json_int_t)r->rows_b, "rows_out", (json_int_t)r->rows_out, "unmatched_a",
        (json_int_t)r->unmatched_a, "unmatched_b", (json_int_t)r->unmatched_b, "missing_key_a",
        (json_int_t)r->missing_key_a, "missing_key_b", (json_int_t)r->missing_key_b,
        "duplicate_keys_a", (json_int_t)r->dup_keys_a, "duplicate_rows_a",
        (json_int_t)r->dup_rows_a, "duplicate_keys_b", (json_int_t)r->dup_keys_b,
        "duplicate_rows_b", (json_int_t)r->dup_rows_b, "beyond_tolerance",
        (json_int_t)r->beyond_tolerance);
}

/* ---- storing a joined snapshot ---- */

int kl_cli_join_store(kl_store *s, const kl_frame *f, char (*inputs)[KL_ID_LEN], size_t n,
                      const struct kl_join_step *steps, const char *name, char id[KL_ID_LEN],
                      int *created, kl_err *err)
{
    static const char magic[] = "keel-join-v1";
    kl_sha256_ctx h;
    uint8_t digest[KL_SHA256_LEN];
    char src[KL_ID_LEN], policy[4096], desc[1024];
    size_t len = 0;
    int rc;
    if (kl_sha256_init(&h) < 0)
        return kl_err_set(err, KL_ENOMEM, "out of memory hashing a join");
    kl_sha256_update(&h, magic, sizeof magic);
    for (size_t i = 0; i < n; i++)
        kl_sha256_update(&h, inputs[i], strlen(inputs[i]) + 1);
    len = (size_t)snprintf(policy, sizeof policy, "join:");
    for (size_t i = 0; i + 1 < n; i++) {
        kl_cli_join_describe(&steps[i].opts, desc, sizeof desc);
        kl_sha256_update(&h, desc, strlen(desc) + 1);
        if (len < sizeof policy) {
            int w = snprintf(policy + len, sizeof policy - len, "%s %s", i ? ";" : "", desc);
            len += w > 0 ? (size_t)w : 0;
        }
    }
    kl_sha256_final(&h, digest);
    kl_hex(digest, sizeof digest, src);
    kl_snapshot_opts so = {name, src, policy, NULL};
    if ((rc = kl_snapshot_create(s, f, &so, id, created, err)) < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (strcmp(inputs[i], id) &&
            (rc = kl_store_link(s, "snapshot", inputs[i], "snapshot", id, "joined_from", err)) < 0)
            return rc;
    return 0;
}

/* ---- keel data add with data.sources ---- */

/* What one source became. */
struct source_state {
    kl_frame *frame; /* after the PII policy */
    char path[4096];
    char id[KL_ID_LEN];
    int created;
    kl_pii_log log;
};

/* The source's path relative to the spec's directory. */
static void source_path(const char *spec_path, const char *source, char *buf, size_t n)
{
    const char *slash = strrchr(spec_path, '/');
    if (source[0] == '/' || !slash)
        snprintf(buf, n, "%s", source);
    else
        snprintf(buf, n, "%.*s/%s", (int)(slash - spec_path), spec_path, source);
}

/* Read source i with the spec's CSV options and its own overrides. */
static int read_source(const kl_spec *spec, size_t i, const struct kl_data_read_args *a,
                       const char *path, kl_frame **out, kl_err *err)
{
    const kl_spec_source *src = &spec->data.sources[i];
    kl_csv_read_opts opts;
    kl_csv_report rep = {0};
    kl_csv_override *ov = NULL;
    kl_spec_csv_opts(spec, &opts, err);
    size_t n_base = i == 0 ? spec->data.n_columns : 0, n_ov = n_base + src->n_columns;
    if (n_ov) {
        if (!(ov = calloc(n_ov, sizeof *ov)))
            return kl_err_set(err, KL_ENOMEM, "out of memory reading '%s'", path);
        if (n_base)
            memcpy(ov, spec->data.columns, n_base * sizeof *ov);
        if (src->n_columns)
            memcpy(ov + n_base, src->columns, src->n_columns * sizeof *ov);
    }
    opts.overrides = ov;
    opts.n_overrides = n_ov;
    if (a->on_bad_rows && strcmp(a->on_bad_rows, "skip") == 0)
        opts.on_bad_rows = KL_CSV_BAD_ROWS_SKIP;
    int rc = kl_csv_read_file(path, &opts, out, &rep, err);
    if (rc == 0 && !a->json)
        for (size_t w = 0; w < rep.n_warnings; w++)
            kl_cli_warn("%s", rep.warnings[w]);
    kl_csv_report_release(&rep);
    free(ov);
    return rc;
}

/* buf = "a + b" (buf and a are distinct buffers). */
static void join_names(char *buf, size_t n, const char *a, const char *b)
{
    snprintf(buf, n, "%s + %s", a, b);
}

static const char *source_name(const kl_spec_source *src)
{
    if (src->name)
        return src->name;
    const char *slash = strrchr(src->source, '/');
    return slash ? slash + 1 : src->source;
}

int kl_data_sources_add(const struct kl_cli *cli, const struct kl_data_read_args *a,
                        const char *name)
{
    kl_err err = {0};
    kl_spec *spec = NULL;
    char spec_path[4096];
    kl_cli_path(cli, a->spec_file ? a->spec_file : "keel.yaml", spec_path, sizeof spec_path);
    if (a->no_spec || (!a->spec_file && access(spec_path, F_OK) != 0))
        return KL_CLI_CONTINUE;
    if (kl_spec_load_file(spec_path, &spec, &err) < 0)
        return kl_cli_fail(&err);
    if (!spec->data.n_sources) {
        kl_spec_free(spec);
        return KL_CLI_CONTINUE;
    }
    size_t n = spec->data.n_sources;
    struct source_state *ss = calloc(n, sizeof *ss);
    struct kl_join_step *steps = calloc(n, sizeof *steps);
    char(*ids)[KL_ID_LEN] = calloc(n, sizeof *ids);
    char(*asof_buf)[256] = calloc(n, sizeof *asof_buf);
    char(*so_far)[512] = calloc(n, sizeof *so_far); /* "orders + customers.csv" */
    kl_store *s = NULL;
    kl_frame *cur = NULL;
    json_t *jsteps = NULL, *jsrc = NULL;
    char policy[8192], id[KL_ID_LEN];
    int rc = KL_EXIT_OK, created = 0;
    if (!ss || !steps || !ids || !asof_buf || !so_far) {
        rc = kl_cli_error(KL_EXIT_INPUT, "out of memory");
        goto out;
    }
    if ((rc = kl_cli_store_open(cli, &s)) != KL_EXIT_OK)
        goto out;
    kl_data_policy_text(spec, policy, sizeof policy);
    for (size_t i = 0; i < n; i++) {
        const kl_spec_source *src = &spec->data.sources[i];
        struct source_state *st = &ss[i];
        kl_frame *raw = NULL;
        char hash[KL_ID_LEN];
        source_path(spec_path, src->source, st->path, sizeof st->path);
        if (read_source(spec, i, a, st->path, &raw, &err) < 0 ||
            kl_file_sha256(st->path, hash, &err) < 0 ||
            kl_pii_protect(raw, spec, cli->dir, &st->frame, &st->log, &err) < 0) {
            kl_frame_free(raw);
            rc = kl_cli_fail(&err);
            goto out;
        }
        kl_frame_free(raw);
        json_t *logj = kl_pii_log_json(&st->log);
        kl_snapshot_opts so = {src->name, hash, policy, logj};
        int sc = kl_snapshot_create(s, st->frame, &so, st->id, &st->created, &err);
        json_decref(logj);
        if (sc < 0) {
            rc = kl_cli_fail(&err);
            goto out;
        }
        memcpy(ids[i], st->id, KL_ID_LEN);
    }
    cur = kl_frame_dup(ss[0].frame);
    if (!cur) {
        rc = kl_cli_error(KL_EXIT_INPUT, "out of memory");
        goto out;
    }
    for (size_t i = 1; i < n; i++) {
        const kl_spec_source *src = &spec->data.sources[i];
        struct kl_join_step *st = &steps[i - 1];
        kl_frame *next = NULL;
        if (i == 1)
            snprintf(so_far[i], sizeof so_far[i], "%s", source_name(&spec->data.sources[0]));
        else
            join_names(so_far[i], sizeof so_far[i], so_far[i - 1],
                       source_name(&spec->data.sources[i - 1]));
        st->a = so_far[i];
        st->b = source_name(src);
        st->opts.keys = src->asof ? src->by : src->on;
        st->opts.n_keys = src->asof ? src->n_by : src->n_on;
        st->opts.how = src->how;
        if (src->asof)
            kl_cli_join_asof(src->asof, asof_buf[i], sizeof asof_buf[i], &st->opts);
        st->opts.tolerance = src->tolerance;
        st->opts.name_a = st->a;
        st->opts.name_b = st->b;
        if (kl_join(cur, ss[i].frame, &st->opts, &next, &st->rep, &err) < 0) {
            char where[512], key[64];
            snprintf(key, sizeof key, "data.sources[%zu]", i);
            kl_err_ctx(&err, "%s", kl_spec_where(spec, key, where, sizeof where));
            rc = kl_cli_fail(&err);
            goto out;
        }
        kl_frame_free(cur);
        cur = next;
        if (!a->json)
            kl_cli_join_warn(st);
    }
    if (kl_cli_join_store(s, cur, ids, n, steps + 0, name, id, &created, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto out;
    }
    size_t nr = kl_frame_row_count(cur), nc = kl_frame_col_count(cur);
    if (a->json) {
        jsrc = json_array();
        jsteps = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(jsrc,
                                  json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:o}", "name",
                                            source_name(&spec->data.sources[i]), "file", ss[i].path,
                                            "id", ss[i].id, "created", ss[i].created, "rows",
                                            (json_int_t)kl_frame_row_count(ss[i].frame), "columns",
                                            (json_int_t)kl_frame_col_count(ss[i].frame), "pii",
                                            kl_pii_log_json(&ss[i].log)));
        for (size_t i = 0; i + 1 < n; i++)
            json_array_append_new(jsteps, kl_cli_join_step_json(&steps[i]));
        json_t *o = json_pack("{s:s, s:b, s:s?, s:I, s:I, s:o, s:o}", "id", id, "created", created,
                              "name", name, "rows", (json_int_t)nr, "columns", (json_int_t)nc,
                              "sources", jsrc, "joins", jsteps);
        jsrc = jsteps = NULL;
        rc = kl_cli_json_print(o);
        goto out;
    }
    printf("%s snapshot %s (%zu rows, %zu columns) joined from %zu sources\n",
           created ? "added" : "unchanged: have", id, nr, nc, n);
    for (size_t i = 0; i < n; i++) {
        printf("  source %s: snapshot %.12s (%zu rows, %zu columns)\n",
               source_name(&spec->data.sources[i]), ss[i].id, kl_frame_row_count(ss[i].frame),
               kl_frame_col_count(ss[i].frame));
        for (size_t k = 0; k < ss[i].log.n; k++)
            printf("    pii: column '%s': %s (%s rule)\n", ss[i].log.entries[k].column,
                   kl_pii_action_name(ss[i].log.entries[k].policy.action),
                   ss[i].log.entries[k].rule);
        if (i > 0)
            kl_cli_join_print(&steps[i - 1]);
    }
out:
    json_decref(jsrc);
    json_decref(jsteps);
    for (size_t i = 0; ss && i < n; i++) {
        kl_frame_free(ss[i].frame);
        kl_pii_log_release(&ss[i].log);
    }
    free(ss);
    free(steps);
    free(ids);
    free(asof_buf);
    free(so_far);
    kl_frame_free(cur);
    kl_store_close(s);
    kl_spec_free(spec);
    return rc;
}
