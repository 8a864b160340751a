/*
 * keel fsck|gc: integrity check and garbage collection of the store.
 *
 * fsck reads every object through (its SHA-256 must match its name), checks
 * that every reference the metadata makes (snapshot manifests, run
 * artifacts, object lineage ends) and every reference inside a manifest
 * (its table and values objects) names an intact object, and that runs name
 * existing parent runs and snapshots. gc deletes the objects nothing
 * references. It follows manifests, so a manifest it cannot read stops it
 * (deleting on a partial picture could lose data). Objects younger than the
 * grace period are kept: a writer publishes its objects before the row that
 * references them, and gc must not take them in between.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keel/snapshot.h"
#include "keel/store.h"
#include "keel/track.h"
#include "keel.h"
#include "store_cli.h"
#include "core/common.h"

struct idset {
    char (*ids)[KL_ID_LEN];
    size_t n, cap;
    int oom;
};

static void idset_add(struct idset *s, const char *id)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        void *p = realloc(s->ids, cap * sizeof *s->ids);
        if (!p) {
            s->oom = 1;
            return;
        }
        s->ids = p;
        s->cap = cap;
    }
    snprintf(s->ids[s->n++], KL_ID_LEN, "%s", id);
}

static int id_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void idset_sort(struct idset *s)
{
    qsort(s->ids, s->n, sizeof *s->ids, id_cmp);
}

static int idset_has(const struct idset *s, const char *id)
{
    return s->n && bsearch(id, s->ids, s->n, sizeof *s->ids, id_cmp) != NULL;
}

struct problems {
    json_t *list;
};

static void problem(struct problems *p, const char *what, const char *id, const char *msg)
{
    json_array_append_new(p->list, json_pack("{s:s, s:s, s:s}", "what", what, "id", id,
                                             "problem", msg));
}

struct walk {
    kl_store *s;
    struct idset all, refs;
    struct problems *p;
    uint64_t bytes;
};

static int collect_object(const char *id, uint64_t size, void *ud)
{
    struct walk *w = ud;
    idset_add(&w->all, id);
    w->bytes += size;
    return 0;
}

static int collect_ref(const char *owner_kind, const char *owner_id, const char *role,
                       const char *object_id, void *ud)
{
    struct walk *w = ud;
    idset_add(&w->refs, object_id);
    if (w->p && !kl_store_has(w->s, object_id)) {
        char msg[256];
        snprintf(msg, sizeof msg, "references missing object %s (%s)", object_id, role);
        problem(w->p, owner_kind, owner_id, msg);
    }
    return 0;
}

/*
 * Objects referenced from metadata and from inside manifests into w->refs.
 * With p, every problem found is listed; without, the first unreadable
 * manifest is an error (gc must see everything).
 */
static int collect_refs(struct walk *w, kl_err *err)
{
    int rc = kl_store_object_refs(w->s, collect_ref, w, err);
    if (rc < 0)
        return rc;
    kl_snapshot_list l = {0};
    if ((rc = kl_store_snapshot_list(w->s, NULL, &l, err)) < 0)
        return rc;
    for (size_t i = 0; i < l.count && rc == 0; i++) {
        json_t *m = NULL;
        kl_err e = {0};
        if (kl_snapshot_manifest(w->s, l.items[i].id, &m, &e) < 0) {
            if (w->p)
                problem(w->p, "snapshot", l.items[i].id, e.msg);
            else
                rc = kl_err_set(err, e.code, "cannot read the manifest of snapshot %s: %s",
                                l.items[i].id, e.msg);
            continue;
        }
        const char *parts[2] = {
            json_string_value(json_object_get(json_object_get(m, "table"), "object")),
            json_string_value(json_object_get(json_object_get(m, "values"), "object"))};
        for (int k = 0; k < 2; k++) {
            if (!parts[k]) {
                if (w->p)
                    problem(w->p, "snapshot", l.items[i].id, "manifest lacks an object");
                continue;
            }
            idset_add(&w->refs, parts[k]);
            if (w->p && !kl_store_has(w->s, parts[k])) {
                char msg[256];
                snprintf(msg, sizeof msg, "manifest references missing object %s", parts[k]);
                problem(w->p, "snapshot", l.items[i].id, msg);
            }
        }
        json_decref(m);
    }
    kl_snapshot_list_release(&l);
    if (w->refs.oom || w->all.oom)
        return kl_err_set(err, KL_ENOMEM, "out of memory listing objects");
    idset_sort(&w->refs);
    return rc;
}

static int cmd_fsck(struct kl_cli *cli, int argc, char **argv)
{
    int json = 0;
    const struct kl_opt opts[] = {KL_OPT_JSON_(&json), KL_OPT_END_};
    const struct kl_usage u = {
        "[options]",
        "Check the store: every object's content against its SHA-256 name, every\n"
        "reference the metadata and the snapshot manifests make to objects, and\n"
        "every run's parent run and snapshot. Exit 0 when all is well, 1 with the\n"
        "list of problems otherwise.",
        opts, 0, 0};
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, NULL, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    kl_store *s = NULL;
    if ((rc = kl_cli_store_open(cli, &s)) != KL_EXIT_OK)
        return rc;
    struct problems p = {json_array()};
    struct walk w = {s, {0}, {0}, &p, 0};
    kl_err err = {0};
    kl_run_list runs = {0};
    if (kl_store_object_each(s, collect_object, &w, &err) < 0 || collect_refs(&w, &err) < 0 ||
        kl_store_runs(s, NULL, &runs, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto out;
    }
    for (size_t i = 0; i < w.all.n; i++) {
        kl_err e = {0};
        if (kl_store_verify(s, w.all.ids[i], &e) < 0)
            problem(&p, "object", w.all.ids[i], e.msg);
    }
    for (size_t i = 0; i < runs.count; i++) {
        const kl_run_info *r = &runs.items[i];
        kl_ref ref;
        kl_err e = {0};
        if (r->parent && kl_store_resolve(s, "run", r->parent, &ref, &e) < 0)
            problem(&p, "run", r->id, "parent run is missing");
        if (r->snapshot && kl_store_resolve(s, "snapshot", r->snapshot, &ref, &e) < 0)
            problem(&p, "run", r->id, "input snapshot is missing");
    }
    size_t np = json_array_size(p.list);
    if (json) {
        json_t *o = json_pack("{s:b, s:I, s:I, s:I, s:O}", "ok", np == 0, "objects",
                              (json_int_t)w.all.n, "bytes", (json_int_t)w.bytes, "runs",
                              (json_int_t)runs.count, "problems", p.list);
        kl_cli_json_print(o);
    } else {
        for (size_t i = 0; i < np; i++) {
            json_t *x = json_array_get(p.list, i);
            printf("%s %s: %s\n", json_string_value(json_object_get(x, "what")),
                   json_string_value(json_object_get(x, "id")),
                   json_string_value(json_object_get(x, "problem")));
        }
        printf("%zu objects (%llu bytes), %zu runs checked: %zu problem%s\n", w.all.n,
               (unsigned long long)w.bytes, runs.count, np, np == 1 ? "" : "s");
    }
    rc = np ? KL_EXIT_CHECK : KL_EXIT_OK;
out:
    kl_run_list_release(&runs);
    json_decref(p.list);
    free(w.all.ids);
    free(w.refs.ids);
    kl_store_close(s);
    return rc;
}

static int cmd_gc(struct kl_cli *cli, int argc, char **argv)
{
    int json = 0, dry = 0;
    long grace = 3600;
    const struct kl_opt opts[] = {
        KL_OPT_FLAG_("dry-run", 'n', &dry, "only list what would be deleted"),
        KL_OPT_INT_("grace", 0, "SECONDS", &grace, 0, 100000000,
                    "keep unreferenced objects younger than this (default 3600)"),
        KL_OPT_JSON_(&json), KL_OPT_END_};
    const struct kl_usage u = {
        "[options]",
        "Delete the objects no snapshot, run or lineage edge references (following\n"
        "snapshot manifests to their parts), and what crashed writers left in\n"
        "objects/tmp. Objects younger than the grace period stay: a writer in\n"
        "another process may be about to reference them.",
        opts, 0, 0};
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, NULL, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    kl_store *s = NULL;
    if ((rc = kl_cli_store_open(cli, &s)) != KL_EXIT_OK)
        return rc;
    struct walk w = {s, {0}, {0}, NULL, 0};
    kl_err err = {0};
    json_t *gone = json_array();
    uint64_t freed = 0, tmp_removed = 0;
    if (kl_store_object_each(s, collect_object, &w, &err) < 0 || collect_refs(&w, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto out;
    }
    time_t now = time(NULL);
    for (size_t i = 0; i < w.all.n; i++) {
        const char *id = w.all.ids[i];
        char path[4096];
        struct stat st;
        if (idset_has(&w.refs, id) || kl_store_object_path(s, id, path, sizeof path, &err) < 0 ||
            stat(path, &st) < 0 || (long)(now - st.st_mtime) < grace)
            continue;
        if (!dry && unlink(path) < 0) {
            rc = kl_cli_error(KL_EXIT_INPUT, "cannot delete object %s: %s", id, strerror(errno));
            goto out;
        }
        freed += (uint64_t)st.st_size;
        json_array_append_new(gone, json_string(id));
    }
    if (!dry && kl_store_tmp_sweep(s, (unsigned)grace, &tmp_removed, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto out;
    }
    size_t n = json_array_size(gone);
    if (json) {
        json_t *o = json_pack("{s:b, s:I, s:I, s:I, s:I, s:O}", "dry_run", dry, "objects",
                              (json_int_t)w.all.n, "deleted", (json_int_t)n, "bytes",
                              (json_int_t)freed, "tmp_files", (json_int_t)tmp_removed, "ids", gone);
        rc = kl_cli_json_print(o);
    } else {
        for (size_t i = 0; i < n; i++)
            printf("%s %s\n", dry ? "would delete" : "deleted",
                   json_string_value(json_array_get(gone, i)));
        printf("%s %zu of %zu objects (%llu bytes)", dry ? "would delete" : "deleted", n, w.all.n,
               (unsigned long long)freed);
        if (tmp_removed)
            printf(", %llu temporary files", (unsigned long long)tmp_removed);
        printf("\n");
    }
out:
    json_decref(gone);
    free(w.all.ids);
    free(w.refs.ids);
    kl_store_close(s);
    return rc;
}

static const struct kl_cmd fsck = {"fsck", cmd_fsck, "check the store's objects and references",
                                   100, NULL};
static const struct kl_cmd gc = {"gc", cmd_gc, "delete unreferenced objects", 102, NULL};
KL_COMMANDS(fsck, &fsck, &gc);
