/*
 * keel export|import: move snapshots and runs, with their lineage and
 * objects, between stores (and so between the SQLite and PostgreSQL
 * backends) as a plain POSIX ustar archive.
 *
 * Bundle layout (docs/STORE.md, "Bundles"):
 *     keel-bundle.json     what the bundle holds: snapshot records (with their
 *                          names and tags), runs with
 *                          params, tags, artifacts and every metric value,
 *                          lineage edges, object ids
 *     objects/<64 hex>     each object's uncompressed bytes
 * The archive is written by hand (512-byte ustar headers, no libarchive): a
 * file whose name ends in .tmp is filled and renamed, so a failed export
 * leaves nothing. Objects are streamed in both directions and checked: export
 * stops at a damaged object, import recomputes every object's hash and
 * refuses one that does not match its name. Import adds objects first, then
 * snapshots, runs (oldest first, so parents come before children) and edges;
 * what the target has already is skipped, so importing twice is harmless.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keel/snapshot.h"
#include "keel/store.h"
#include "keel/track.h"
#include "keel.h"
#include "store_cli.h"
#include "core/common.h"

#define BUNDLE_JSON "keel-bundle.json"
#define BUNDLE_VERSION 1

/* ---- ustar ---- */

static void octal(char *field, size_t width, uint64_t v)
{
    /* width - 1 octal digits and a NUL, zero-padded. */
    field[width - 1] = '\0';
    for (size_t i = width - 1; i-- > 0;) {
        field[i] = (char)('0' + (v & 7));
        v >>= 3;
    }
}

static int tar_header(FILE *fp, const char *name, uint64_t size)
{
    char h[512];
    memset(h, 0, sizeof h);
    if (strlen(name) >= 100)
        return -1;
    memcpy(h, name, strlen(name));
    octal(h + 100, 8, 0644);
    octal(h + 108, 8, 0);
    octal(h + 116, 8, 0);
    octal(h + 124, 12, size);
    octal(h + 136, 12, 0);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memcpy(h + 265, "keel", 4);
    memcpy(h + 297, "keel", 4);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof h; i++)
        sum += (unsigned char)h[i];
    octal(h + 148, 7, sum);
    h[155] = ' ';
    return fwrite(h, 1, sizeof h, fp) == sizeof h ? 0 : -1;
}

static int tar_pad(FILE *fp, uint64_t size)
{
    static const char zero[512];
    size_t pad = (size_t)((512 - size % 512) % 512);
    return fwrite(zero, 1, pad, fp) == pad ? 0 : -1;
}

/* ---- export ---- */

struct bundle {
    kl_store *s;
    json_t *nodes;   /* "kind:id" -> true for runs and snapshots to export */
    json_t *edges;   /* "from|to|relation" -> edge object */
    json_t *objects; /* id -> true */
};

static void add_edges(struct bundle *b, const kl_lineage *l)
{
    for (size_t i = 0; i < l->count; i++) {
        const kl_lineage_edge *e = &l->edges[i];
        char key[512];
        snprintf(key, sizeof key, "%s:%s|%s:%s|%s", e->from_kind, e->from_id, e->to_kind,
                 e->to_id, e->relation);
        json_object_set_new(b->edges, key,
                            json_pack("{s:s, s:s, s:s, s:s, s:s}", "from_kind", e->from_kind,
                                      "from_id", e->from_id, "to_kind", e->to_kind, "to_id",
                                      e->to_id, "relation", e->relation));
        const char *ends[2][2] = {{e->from_kind, e->from_id}, {e->to_kind, e->to_id}};
        for (int k = 0; k < 2; k++) {
            if (strcmp(ends[k][0], "object") == 0) {
                json_object_set_new(b->objects, ends[k][1], json_true());
            } else if (strcmp(ends[k][0], "run") == 0 || strcmp(ends[k][0], "snapshot") == 0) {
                char node[96];
                snprintf(node, sizeof node, "%s:%s", ends[k][0], ends[k][1]);
                if (!json_object_get(b->nodes, node))
                    json_object_set_new(b->nodes, node, json_false()); /* to visit */
            }
        }
    }
}

/* Nodes: the start, its descendants, and every ancestor of any of them. */
static int collect(struct bundle *b, const kl_ref *start, kl_err *err)
{
    kl_lineage l = {0};
    char node[96];
    snprintf(node, sizeof node, "%s:%s", start->kind, start->id);
    json_object_set_new(b->nodes, node, json_false());
    if (kl_store_lineage(b->s, start->kind, start->id, KL_LINEAGE_DIR_DESCENDANTS, 0, &l, err) < 0)
        return -1;
    add_edges(b, &l);
    kl_lineage_release(&l);
    for (;;) {
        const char *key;
        json_t *v;
        char pending[96] = "";
        json_object_foreach(b->nodes, key, v)
        {
            if (json_is_false(v)) {
                snprintf(pending, sizeof pending, "%s", key);
                break;
            }
        }
        if (!pending[0])
            return 0;
        json_object_set_new(b->nodes, pending, json_true());
        char *colon = strchr(pending, ':');
        *colon = '\0';
        if (kl_store_lineage(b->s, pending, colon + 1, KL_LINEAGE_DIR_ANCESTORS, 0, &l, err) < 0)
            return -1;
        add_edges(b, &l);
        kl_lineage_release(&l);
    }
}

static json_t *snapshot_json(struct bundle *b, const char *id, kl_err *err)
{
    kl_snapshot_list l = {0};
    json_t *m = NULL;
    if (kl_store_snapshot_list(b->s, id, &l, err) < 0 ||
        kl_snapshot_manifest(b->s, id, &m, err) < 0) {
        kl_snapshot_list_release(&l);
        return NULL;
    }
    const kl_snapshot_rec *r = &l.items[0];
    json_object_set_new(b->objects, r->manifest, json_true());
    const char *parts[2] = {
        json_string_value(json_object_get(json_object_get(m, "table"), "object")),
        json_string_value(json_object_get(json_object_get(m, "values"), "object"))};
    for (int k = 0; k < 2; k++)
        if (parts[k])
            json_object_set_new(b->objects, parts[k], json_true());
    json_decref(m);
    json_t *o = json_pack("{s:s, s:s?, s:s, s:I, s:I, s:s, s:I, s:I, s:s}", "id", r->id, "name",
                          r->name, "source_hash", r->source_hash, "rows", (json_int_t)r->n_rows,
                          "columns", (json_int_t)r->n_cols, "schema_hash", r->schema_hash,
                          "infer_version", (json_int_t)r->infer_version, "created_ms",
                          (json_int_t)r->created_ms, "manifest", r->manifest);
    kl_snapshot_list_release(&l);
    kl_tag_list tags = {0};
    if (kl_store_tags(b->s, "snapshot", id, &tags, err) < 0) {
        json_decref(o);
        return NULL;
    }
    json_t *t = json_object();
    for (size_t i = 0; i < tags.count; i++)
        json_object_set_new(t, tags.items[i].key, json_string(tags.items[i].value));
    json_object_set_new(o, "tags", t);
    kl_tag_list_release(&tags);
    return o;
}

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *run_json(struct bundle *b, const char *id, kl_err *err)
{
    kl_run_detail d = {0};
    if (kl_store_run_get(b->s, id, &d, err) < 0)
        return NULL;
    const kl_run_info *r = &d.run;
    json_t *o = json_pack("{s:s, s:s?, s:s, s:I, s:I, s:s?, s:s?, s:s?, s:s?, s:s?, s:i, s:s?}",
                          "id", r->id, "name", r->name, "status", kl_run_status_name(r->status),
                          "started_ms", (json_int_t)r->started_ms, "ended_ms",
                          (json_int_t)r->ended_ms, "parent", r->parent, "spec_hash", r->spec_hash,
                          "snapshot", r->snapshot, "keel_version", r->keel_version, "git_commit",
                          r->git_commit, "git_dirty", r->git_dirty, "host", r->host);
    json_object_set_new(o, "seed", r->has_seed ? json_integer((json_int_t)r->seed) : json_null());
    json_t *p = json_object(), *t = json_object(), *a = json_array(), *m = json_object();
    for (size_t i = 0; i < d.n_params; i++)
        json_object_set_new(p, d.params[i].key, json_string(d.params[i].value));
    for (size_t i = 0; i < d.n_tags; i++)
        json_object_set_new(t, d.tags[i].key, json_string(d.tags[i].value));
    for (size_t i = 0; i < d.n_artifacts; i++) {
        json_array_append_new(a, json_pack("{s:s, s:s, s:s?}", "name", d.artifacts[i].name,
                                           "object", d.artifacts[i].object, "kind",
                                           d.artifacts[i].kind));
        json_object_set_new(b->objects, d.artifacts[i].object, json_true());
    }
    int failed = 0;
    for (size_t i = 0; i < d.n_metrics && !failed; i++) {
        kl_metric_series ms = {0};
        if (kl_store_metric_history(b->s, id, d.metrics[i].key, &ms, err) < 0) {
            failed = 1;
            break;
        }
        /* Parallel arrays: steps, values (null for NaN/inf), timestamps. */
        json_t *st = json_array(), *va = json_array(), *ts = json_array();
        for (size_t k = 0; k < ms.count; k++) {
            json_array_append_new(st, json_integer(ms.steps[k]));
            json_array_append_new(va, num(ms.values[k]));
            json_array_append_new(ts, json_integer(ms.timestamps_ms[k]));
        }
        json_object_set_new(m, d.metrics[i].key, json_pack("{s:o, s:o, s:o}", "steps", st,
                                                           "values", va, "timestamps_ms", ts));
        kl_metric_series_release(&ms);
    }
    json_object_set_new(o, "params", p);
    json_object_set_new(o, "tags", t);
    json_object_set_new(o, "artifacts", a);
    json_object_set_new(o, "metrics", m);
    kl_run_detail_release(&d);
    if (failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int put_object(kl_store *s, FILE *fp, const char *id, kl_err *err)
{
    kl_store_reader *r = NULL;
    int rc = kl_store_get_open(s, id, &r, err);
    if (rc < 0)
        return rc;
    uint64_t size = kl_store_get_size(r), done = 0;
    char name[128];
    snprintf(name, sizeof name, "objects/%s", id);
    if (tar_header(fp, name, size) < 0) {
        kl_store_get_close(r);
        return kl_err_set(err, KL_EIO, "cannot write the bundle: %s", strerror(errno));
    }
    static char buf[1 << 16];
    for (;;) {
        size_t n = 0;
        if ((rc = kl_store_get_read(r, buf, sizeof buf, &n, err)) < 0)
            break;
        if (n == 0)
            break;
        done += n;
        if (done > size) {
            rc = kl_err_set(err, KL_ECORRUPT, "object %s is longer than its header says", id);
            break;
        }
        if (fwrite(buf, 1, n, fp) != n) {
            rc = kl_err_set(err, KL_EIO, "cannot write the bundle: %s", strerror(errno));
            break;
        }
    }
    kl_store_get_close(r);
    if (rc == 0 && done != size)
        rc = kl_err_set(err, KL_ECORRUPT, "object %s is shorter than its header says", id);
    if (rc == 0 && tar_pad(fp, size) < 0)
        rc = kl_err_set(err, KL_EIO, "cannot write the bundle: %s", strerror(errno));
    return rc;
}

static int cmd_export(struct kl_cli *cli, int argc, char **argv)
{
    const char *output = NULL;
    int json = 0;
    const struct kl_opt opts[] = {
        KL_OPT_STRING_("output", 'o', "FILE", &output, "the bundle to write (required)"),
        KL_OPT_JSON_(&json), KL_OPT_END_};
    const struct kl_usage u = {
        "[options] ID -o FILE",
        "Write a run or snapshot to a bundle (a tar file) with everything needed to\n"
        "rebuild it in another store: the runs and snapshots it came from and those\n"
        "made from it, their lineage edges, every metric value and every object.\n"
        "'keel import' reads it into any store, SQLite or PostgreSQL.",
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
    kl_err err = {0};
    struct bundle b = {s, json_object(), json_object(), json_object()};
    json_t *snaps = json_array(), *runs = json_array(), *edges = json_array(), *doc = NULL;
    FILE *fp = NULL;
    char path[8192], tmp[8300];
    kl_cli_path(cli, output, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if ((rc = kl_cli_resolve(s, NULL, pos[0], &ref)) != KL_EXIT_OK)
        goto out;
    if (collect(&b, &ref, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(b.nodes, key, v)
    {
        json_t *x = NULL;
        if (strncmp(key, "snapshot:", 9) == 0 && !(x = snapshot_json(&b, key + 9, &err))) {
            rc = kl_cli_fail(&err);
            goto out;
        }
        if (strncmp(key, "run:", 4) == 0 && !(x = run_json(&b, key + 4, &err))) {
            rc = kl_cli_fail(&err);
            goto out;
        }
        json_array_append_new(strncmp(key, "run:", 4) == 0 ? runs : snaps, x);
    }
    json_object_foreach(b.edges, key, v) json_array_append(edges, v);
    json_t *objs = json_array();
    json_object_foreach(b.objects, key, v) json_array_append_new(objs, json_string(key));
    doc = json_pack("{s:s, s:i, s:{s:s, s:s}, s:O, s:O, s:O, s:o}", "format", "keel-bundle",
                    "version", BUNDLE_VERSION, "root", "kind", ref.kind, "id", ref.id,
                    "snapshots", snaps, "runs", runs, "edges", edges, "objects", objs);
    char *text = doc ? json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
    if (!text) {
        rc = kl_cli_error(KL_EXIT_INPUT, "out of memory");
        goto out;
    }
    if (!(fp = fopen(tmp, "wb"))) {
        free(text);
        rc = kl_cli_error(KL_EXIT_INPUT, "cannot create '%s': %s", tmp, strerror(errno));
        goto out;
    }
    size_t tl = strlen(text);
    int wr = tar_header(fp, BUNDLE_JSON, tl) == 0 && fwrite(text, 1, tl, fp) == tl &&
             tar_pad(fp, tl) == 0;
    free(text);
    if (!wr) {
        rc = kl_cli_error(KL_EXIT_INPUT, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < json_array_size(objs); i++)
        if (put_object(s, fp, json_string_value(json_array_get(objs, i)), &err) < 0) {
            rc = kl_cli_fail(&err);
            goto out;
        }
    static const char end[1024];
    if (fwrite(end, 1, sizeof end, fp) != sizeof end || fflush(fp) != 0 || fsync(fileno(fp)) < 0) {
        rc = kl_cli_error(KL_EXIT_INPUT, "cannot write '%s': %s", tmp, strerror(errno));
        goto out;
    }
    if (fclose(fp) != 0 || rename(tmp, path) < 0) {
        fp = NULL;
        rc = kl_cli_error(KL_EXIT_INPUT, "cannot write '%s': %s", path, strerror(errno));
        goto out;
    }
    fp = NULL;
    if (json)
        rc = kl_cli_json_print(json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "bundle", path,
                                         "kind", ref.kind, "id", ref.id, "snapshots",
                                         (json_int_t)json_array_size(snaps), "runs",
                                         (json_int_t)json_array_size(runs), "edges",
                                         (json_int_t)json_array_size(edges), "objects",
                                         (json_int_t)json_array_size(objs)));
    else
        printf("exported %s %.12s to %s: %zu snapshots, %zu runs, %zu edges, %zu objects\n",
               ref.kind, ref.id, path, json_array_size(snaps), json_array_size(runs),
               json_array_size(edges), json_array_size(objs));
out:
    if (fp) {
        fclose(fp);
        unlink(tmp);
    }
    json_decref(doc);
    json_decref(snaps);
    json_decref(runs);
    json_decref(edges);
    json_decref(b.nodes);
    json_decref(b.edges);
    json_decref(b.objects);
    kl_store_close(s);
    return rc;
}

/* ---- import ---- */

static uint64_t parse_octal(const char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && p[i] >= '0' && p[i] <= '7'; i++)
        v = v * 8 + (uint64_t)(p[i] - '0');
    return v;
}

static int read_full(FILE *fp, void *buf, size_t n)
{
    return fread(buf, 1, n, fp) == n ? 0 : -1;
}

static int is_hex_id(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

static int import_object(kl_store *s, FILE *fp, const char *want, uint64_t size, kl_err *err)
{
    kl_store_writer *w = NULL;
    int rc = kl_store_put_begin(s, &w, err);
    if (rc < 0)
        return rc;
    static char buf[1 << 16];
    for (uint64_t left = size; left > 0;) {
        size_t n = left < sizeof buf ? (size_t)left : sizeof buf;
        if (read_full(fp, buf, n) < 0) {
            kl_store_put_abort(w);
            return kl_err_set(err, KL_EPARSE, "bundle cut short inside object %s", want);
        }
        if ((rc = kl_store_put_write(w, buf, n, err)) < 0) {
            kl_store_put_abort(w);
            return rc;
        }
        left -= n;
    }
    char id[KL_ID_LEN];
    if ((rc = kl_store_put_commit(w, id, err)) < 0)
        return rc;
    if (strcmp(id, want) != 0)
        return kl_err_set(err, KL_ECORRUPT, "bundle object %s holds bytes hashing to %s", want,
                          id);
    return 0;
}

static const char *js(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int status_of(const char *s)
{
    static const char *const names[] = {"running", "finished", "failed", "killed"};
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

static int run_cmp(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "started_ms"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "started_ms"));
    return x < y ? -1 : x > y;
}

static int import_run(kl_store *s, json_t *o, int *added, kl_err *err)
{
    kl_run_info info = {0};
    const char *id = js(o, "id");
    int st = status_of(js(o, "status"));
    if (!id || !is_hex_id(id) || st < 0)
        return kl_err_set(err, KL_EPARSE, "bundle: a run lacks its id or status");
    snprintf(info.id, sizeof info.id, "%s", id);
    info.name = js(o, "name");
    info.status = (enum kl_run_status)st;
    info.started_ms = json_integer_value(json_object_get(o, "started_ms"));
    info.ended_ms = json_integer_value(json_object_get(o, "ended_ms"));
    info.parent = js(o, "parent");
    info.spec_hash = js(o, "spec_hash");
    info.snapshot = js(o, "snapshot");
    info.keel_version = js(o, "keel_version");
    info.git_commit = js(o, "git_commit");
    info.git_dirty = (int)json_integer_value(json_object_get(o, "git_dirty"));
    info.host = js(o, "host");
    json_t *seed = json_object_get(o, "seed");
    info.has_seed = json_is_integer(seed);
    info.seed = (uint64_t)json_integer_value(seed);
    kl_run *r = NULL;
    int rc = kl_run_import_begin(s, &info, &r, err);
    if (rc == KL_EEXIST) {
        kl_err_clear(err);
        return 0;
    }
    if (rc < 0)
        return rc;
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(o, "params"), key, v)
    {
        if (rc == 0)
            rc = kl_run_log_param(r, key, json_string_value(v) ? json_string_value(v) : "", err);
    }
    json_object_foreach(json_object_get(o, "tags"), key, v)
    {
        if (rc == 0)
            rc = kl_run_set_tag(r, key, json_string_value(v) ? json_string_value(v) : "", err);
    }
    json_t *arts = json_object_get(o, "artifacts");
    for (size_t i = 0; rc == 0 && i < json_array_size(arts); i++) {
        json_t *a = json_array_get(arts, i);
        rc = kl_run_log_artifact(r, js(a, "name"), js(a, "object"), js(a, "kind"), err);
    }
    json_object_foreach(json_object_get(o, "metrics"), key, v)
    {
        json_t *steps = json_object_get(v, "steps"), *vals = json_object_get(v, "values"),
               *ts = json_object_get(v, "timestamps_ms");
        for (size_t i = 0; rc == 0 && i < json_array_size(steps); i++) {
            json_t *x = json_array_get(vals, i);
            rc = kl_run_log_metric_at(r, key, json_is_number(x) ? json_number_value(x) : NAN,
                                      json_integer_value(json_array_get(steps, i)),
                                      json_integer_value(json_array_get(ts, i)), err);
        }
    }
    kl_err e2 = {0};
    int rc2 = kl_run_import_end(r, rc == 0 ? err : &e2);
    if (rc == 0 && rc2 < 0)
        rc = rc2;
    if (rc == 0)
        (*added)++;
    return rc;
}

static int cmd_import(struct kl_cli *cli, int argc, char **argv)
{
    int json = 0;
    const struct kl_opt opts[] = {KL_OPT_JSON_(&json), KL_OPT_END_};
    const struct kl_usage u = {
        "[options] BUNDLE",
        "Read a bundle written by 'keel export' into this project's store: its\n"
        "objects (each checked against its SHA-256 name), snapshots, runs with their\n"
        "parameters, metrics, tags and artifacts, and lineage edges, all with their\n"
        "original ids and times. What the store has already is left as it is.",
        opts, 1, 1};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    char path[8192];
    kl_cli_path(cli, pos[0], path, sizeof path);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return kl_cli_error(KL_EXIT_INPUT, "cannot open '%s': %s", path, strerror(errno));
    kl_store *s = NULL;
    if ((rc = kl_cli_store_open(cli, &s)) != KL_EXIT_OK) {
        fclose(fp);
        return rc;
    }
    kl_err err = {0};
    json_t *doc = NULL;
    size_t n_objects = 0;
    int snaps_added = 0, runs_added = 0;
    for (;;) {
        char h[512];
        if (read_full(fp, h, sizeof h) < 0) {
            rc = kl_cli_error(KL_EXIT_INPUT, "'%s' is cut short (no end-of-archive block)", path);
            goto out;
        }
        int zero = 1;
        for (size_t i = 0; i < sizeof h && zero; i++)
            zero = h[i] == 0;
        if (zero)
            break;
        unsigned sum = 0;
        for (size_t i = 0; i < sizeof h; i++)
            sum += (i >= 148 && i < 156) ? ' ' : (unsigned char)h[i];
        if (memcmp(h + 257, "ustar", 5) != 0 || parse_octal(h + 148, 8) != sum) {
            rc = kl_cli_error(KL_EXIT_INPUT, "'%s' is not a keel bundle (bad tar header)", path);
            goto out;
        }
        char name[101];
        memcpy(name, h, 100);
        name[100] = '\0';
        uint64_t size = parse_octal(h + 124, 12);
        if (strcmp(name, BUNDLE_JSON) == 0) {
            char *text = size < (1u << 30) ? malloc((size_t)size + 1) : NULL;
            json_error_t je;
            if (!text || read_full(fp, text, (size_t)size) < 0) {
                free(text);
                rc = kl_cli_error(KL_EXIT_INPUT, "cannot read %s from '%s'", BUNDLE_JSON, path);
                goto out;
            }
            json_decref(doc);
            doc = json_loadb(text, (size_t)size, 0, &je);
            free(text);
            if (!doc || strcmp(js(doc, "format") ? js(doc, "format") : "", "keel-bundle") != 0) {
                rc = kl_cli_error(KL_EXIT_INPUT, "'%s': %s is not a keel bundle description",
                                  path, BUNDLE_JSON);
                goto out;
            }
            if (json_integer_value(json_object_get(doc, "version")) > BUNDLE_VERSION) {
                rc = kl_cli_error(KL_EXIT_INPUT, "'%s' was written by a newer keel (bundle v%lld)",
                                  path, (long long)json_integer_value(json_object_get(doc, "version")));
                goto out;
            }
        } else if (strncmp(name, "objects/", 8) == 0 && is_hex_id(name + 8)) {
            if (import_object(s, fp, name + 8, size, &err) < 0) {
                rc = kl_cli_fail(&err);
                goto out;
            }
            n_objects++;
        } else {
            rc = kl_cli_error(KL_EXIT_INPUT, "'%s' holds an unexpected entry '%s'", path, name);
            goto out;
        }
        uint64_t pad = (512 - size % 512) % 512;
        if (pad && fseek(fp, (long)pad, SEEK_CUR) != 0) {
            rc = kl_cli_error(KL_EXIT_INPUT, "'%s' is cut short", path);
            goto out;
        }
    }
    if (!doc) {
        rc = kl_cli_error(KL_EXIT_INPUT, "'%s' holds no %s", path, BUNDLE_JSON);
        goto out;
    }
    json_t *objs = json_object_get(doc, "objects");
    for (size_t i = 0; i < json_array_size(objs); i++) {
        const char *id = json_string_value(json_array_get(objs, i));
        if (!id || !kl_store_has(s, id)) {
            rc = kl_cli_error(KL_EXIT_INPUT, "'%s' lacks object %s", path, id ? id : "?");
            goto out;
        }
    }
    json_t *snaps = json_object_get(doc, "snapshots");
    for (size_t i = 0; i < json_array_size(snaps); i++) {
        json_t *o = json_array_get(snaps, i);
        kl_snapshot_rec rec = {0};
        kl_snapshot_list have = {0};
        const char *id = js(o, "id");
        if (!id || !is_hex_id(id)) {
            rc = kl_cli_error(KL_EXIT_INPUT, "'%s': a snapshot lacks its id", path);
            goto out;
        }
        /* The bundle's tags are set (or replace the store's) on new and known snapshots alike. */
        const char *tkey;
        json_t *tv;
        json_object_foreach(json_object_get(o, "tags"), tkey, tv)
        {
            if (kl_store_set_tag(s, "snapshot", id, tkey,
                                 json_string_value(tv) ? json_string_value(tv) : "", &err) < 0) {
                rc = kl_cli_fail(&err);
                goto out;
            }
        }
        if (kl_store_snapshot_list(s, id, &have, &err) == 0) {
            kl_snapshot_list_release(&have);
            continue;
        }
        kl_err_clear(&err);
        snprintf(rec.id, sizeof rec.id, "%s", id);
        rec.name = js(o, "name");
        rec.source_hash = js(o, "source_hash");
        rec.n_rows = json_integer_value(json_object_get(o, "rows"));
        rec.n_cols = json_integer_value(json_object_get(o, "columns"));
        rec.schema_hash = js(o, "schema_hash");
        rec.infer_version = json_integer_value(json_object_get(o, "infer_version"));
        rec.created_ms = json_integer_value(json_object_get(o, "created_ms"));
        rec.manifest = js(o, "manifest");
        if (kl_store_snapshot_add(s, &rec, &err) < 0) {
            rc = kl_cli_fail(&err);
            goto out;
        }
        snaps_added++;
    }
    json_t *runs = json_object_get(doc, "runs");
    size_t nr = json_array_size(runs);
    json_t **order = calloc(nr ? nr : 1, sizeof *order);
    if (!order) {
        rc = kl_cli_error(KL_EXIT_INPUT, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nr; i++)
        order[i] = json_array_get(runs, i);
    qsort(order, nr, sizeof *order, run_cmp);
    for (size_t i = 0; i < nr; i++)
        if (import_run(s, order[i], &runs_added, &err) < 0) {
            free(order);
            rc = kl_cli_fail(&err);
            goto out;
        }
    free(order);
    json_t *edges = json_object_get(doc, "edges");
    for (size_t i = 0; i < json_array_size(edges); i++) {
        json_t *e = json_array_get(edges, i);
        if (kl_store_link(s, js(e, "from_kind"), js(e, "from_id"), js(e, "to_kind"),
                          js(e, "to_id"), js(e, "relation"), &err) < 0) {
            rc = kl_cli_fail(&err);
            goto out;
        }
    }
    if (json)
        rc = kl_cli_json_print(json_pack("{s:s, s:I, s:i, s:i, s:I}", "bundle", path, "objects",
                                         (json_int_t)n_objects, "snapshots_added", snaps_added,
                                         "runs_added", runs_added, "edges",
                                         (json_int_t)json_array_size(edges)));
    else
        printf("imported %s: %zu objects, %d new snapshots, %d new runs, %zu edges\n", path,
               n_objects, snaps_added, runs_added, json_array_size(edges));
out:
    json_decref(doc);
    fclose(fp);
    kl_store_close(s);
    return rc;
}

static const struct kl_cmd export_ = {"export", cmd_export,
                                      "write a run or snapshot with its lineage to a bundle", 104,
                                      NULL};
static const struct kl_cmd import_ = {"import", cmd_import, "read a bundle into this store", 106,
                                      NULL};
KL_COMMANDS(export, &export_, &import_);
