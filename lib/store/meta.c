/*
 * The metadata schema and the store-wide records: migrations, snapshots,
 * tags, lineage edges and id resolution, written once against the kl__db
 * vtable so SQLite and PostgreSQL hold the same tables.
 *
 * Invariants:
 *  - schema_version holds one row per applied migration; the highest is the
 *    schema's version. Migrations only go forward, run in one transaction
 *    with the version rows, and are serialised between processes (SQLite's
 *    write lock, PostgreSQL's advisory lock), so a store is never half
 *    migrated and concurrent openers apply each migration once.
 *  - Only DDL is built from strings (the blob type name); every value is a
 *    bound parameter.
 *
 * Query results are copied into an arena owned by the result, so a result
 * outlives the statements that produced it and is freed in one call.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/arena.h"
#include "keel/err.h"
#include "keel/store.h"
#include "store/store_internal.h"
#include "core/common.h"

/* ---- schema ---- */

/*
 * "%B" in a statement stands for the backend's blob type. A statement
 * starting with "@<backend> " runs only on that backend; these change
 * physical storage only, never the tables' columns or meaning.
 */
static const char *const migration_1[] = {
    "CREATE TABLE snapshots ("
    " id TEXT PRIMARY KEY,"
    " name TEXT,"
    " source_hash TEXT NOT NULL,"
    " n_rows BIGINT NOT NULL,"
    " n_cols BIGINT NOT NULL,"
    " schema_hash TEXT NOT NULL,"
    " infer_version BIGINT NOT NULL,"
    " created_ms BIGINT NOT NULL,"
    " manifest TEXT NOT NULL)",
    "CREATE INDEX snapshots_name ON snapshots (name)",
    "CREATE TABLE runs ("
    " id TEXT PRIMARY KEY,"
    " name TEXT,"
    " status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'killed')),"
    " started_ms BIGINT NOT NULL,"
    " ended_ms BIGINT,"
    " parent_run TEXT REFERENCES runs (id),"
    " spec_hash TEXT,"
    " snapshot TEXT REFERENCES snapshots (id),"
    " keel_version TEXT NOT NULL,"
    " git_commit TEXT,"
    " git_dirty INTEGER,"
    " seed BIGINT,"
    " host TEXT)",
    "CREATE INDEX runs_started ON runs (started_ms)",
    "CREATE INDEX runs_name ON runs (name)",
    "CREATE INDEX runs_parent ON runs (parent_run)",
    "CREATE TABLE params ("
    " run TEXT NOT NULL REFERENCES runs (id),"
    " key TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " PRIMARY KEY (run, key))",
    "CREATE TABLE metrics ("
    " run TEXT NOT NULL REFERENCES runs (id),"
    " key TEXT NOT NULL,"
    " value DOUBLE PRECISION,"
    " step BIGINT NOT NULL,"
    " timestamp_ms BIGINT NOT NULL,"
    " PRIMARY KEY (run, key))",
    "CREATE INDEX metrics_key_value ON metrics (key, value)",
    "CREATE TABLE metric_series ("
    " run TEXT NOT NULL REFERENCES runs (id),"
    " key TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " n INTEGER NOT NULL,"
    " data %B NOT NULL,"
    " PRIMARY KEY (run, key, seq))",
    /* Chunks are mostly float64 bits that pglz cannot shrink: skip trying. */
    "@postgresql ALTER TABLE metric_series ALTER COLUMN data SET STORAGE EXTERNAL",
    "CREATE TABLE artifacts ("
    " run TEXT NOT NULL REFERENCES runs (id),"
    " name TEXT NOT NULL,"
    " object TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " PRIMARY KEY (run, name))",
    "CREATE INDEX artifacts_object ON artifacts (object)",
    "CREATE TABLE tags ("
    " target_kind TEXT NOT NULL,"
    " target_id TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " PRIMARY KEY (target_kind, target_id, key))",
    "CREATE INDEX tags_key_value ON tags (key, value)",
    "CREATE TABLE lineage ("
    " from_kind TEXT NOT NULL,"
    " from_id TEXT NOT NULL,"
    " to_kind TEXT NOT NULL,"
    " to_id TEXT NOT NULL,"
    " relation TEXT NOT NULL,"
    " created_ms BIGINT NOT NULL,"
    " PRIMARY KEY (from_kind, from_id, to_kind, to_id, relation))",
    "CREATE INDEX lineage_to ON lineage (to_kind, to_id)",
    NULL,
};

/*
 * Version 2: runs listed newest first (ORDER BY started_ms DESC, id DESC)
 * walk this index backwards instead of sorting every row in a temporary
 * b-tree; it replaces the index on started_ms alone.
 */
static const char *const migration_2[] = {
    "CREATE INDEX runs_started_id ON runs (started_ms, id)",
    "DROP INDEX runs_started",
    NULL,
};

/* Migration k (from 1) brings the schema from version k-1 to k. Append only. */
static const char *const *const migrations[] = {migration_1, migration_2};

_Static_assert(KL_ARRAY_LEN(migrations) == KL_STORE_SCHEMA_VERSION,
               "one migration per schema version");

static int exec_ddl(kl_store *s, const char *ddl, kl_err *err)
{
    if (ddl[0] == '@') {
        size_t n = strlen(s->db->vt->name);
        if (strncmp(ddl + 1, s->db->vt->name, n) != 0 || ddl[1 + n] != ' ')
            return 0;
        ddl += n + 2;
    }
    const char *b = strstr(ddl, "%B");
    if (!b)
        return s->db->vt->exec(s->db, ddl, err);
    char sql[1024];
    int n = snprintf(sql, sizeof sql, "%.*s%s%s", (int)(b - ddl), ddl, s->db->vt->blob_type, b + 2);
    KL_ASSERT(n > 0 && (size_t)n < sizeof sql);
    return s->db->vt->exec(s->db, sql, err);
}

/* Current schema version, 0 for an empty database, < 0 (err filled) on failure. */
static int64_t schema_version(kl_store *s, kl_err *err)
{
    const kl__db_vt *vt = s->db->vt;
    kl__stmt *st;
    int rc = vt->prepare(s->db, "SELECT max(version) FROM schema_version", 0, &st, err);
    if (rc < 0)
        return rc;
    int64_t v = 0;
    rc = vt->step(st, err);
    if (rc == 1)
        v = vt->col_null(st, 0) ? 0 : vt->col_i64(st, 0);
    vt->finalize(st);
    return rc < 0 ? rc : v;
}

int kl__meta_migrate(kl_store *s, kl_err *err)
{
    const kl__db_vt *vt = s->db->vt;
    kl_err probe = {0};
    /* Fast path without the write lock: an up-to-date store needs nothing. */
    int64_t v = schema_version(s, &probe);
    if (v == KL_STORE_SCHEMA_VERSION)
        return 0;
    if (v > KL_STORE_SCHEMA_VERSION)
        goto too_new;

    int rc = vt->begin(s->db, KL__TX_MIGRATE, err);
    if (rc < 0)
        return rc;
    rc = vt->exec(s->db,
                  "CREATE TABLE IF NOT EXISTS schema_version ("
                  " version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)",
                  err);
    if (rc < 0)
        goto fail;
    if ((v = schema_version(s, err)) < 0) {
        rc = (int)v;
        goto fail;
    }
    if (v > KL_STORE_SCHEMA_VERSION) {
        vt->rollback(s->db);
        goto too_new;
    }
    for (int64_t k = v + 1; k <= KL_STORE_SCHEMA_VERSION; k++) {
        for (const char *const *ddl = migrations[k - 1]; *ddl; ddl++)
            if ((rc = exec_ddl(s, *ddl, err)) < 0) {
                kl_err_ctx(err, "migration %lld", (long long)k);
                goto fail;
            }
        kl__stmt *st;
        rc = vt->prepare(s->db, "INSERT INTO schema_version (version, applied_ms) VALUES (?, ?)", 0,
                         &st, err);
        if (rc < 0)
            goto fail;
        vt->bind_i64(st, 1, k);
        vt->bind_i64(st, 2, kl__now_ms());
        rc = vt->step(st, err);
        vt->finalize(st);
        if (rc < 0)
            goto fail;
    }
    return vt->commit(s->db, err);
fail:
    vt->rollback(s->db);
    return rc;
too_new:
    return kl_err_set(err, KL_EUNSUPPORTED,
                      "the store has schema version %lld, newer than this keel's %d", (long long)v,
                      KL_STORE_SCHEMA_VERSION);
}

/* ---- helpers ---- */

const char *kl__col_dup(kl_arena *a, const kl__db_vt *vt, kl__stmt *st, int i, int *oom)
{
    const char *v = vt->col_text(st, i);
    if (!v)
        return NULL;
    char *c = kl_arena_strdup(a, v);
    if (!c)
        *oom = 1;
    return c;
}

void *kl__arena_grow(kl_arena *a, void *items, size_t count, size_t *cap, size_t sz)
{
    if (count < *cap)
        return items;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = kl_arena_alloc(a, ncap * sz);
    if (!p)
        return NULL;
    if (count)
        memcpy(p, items, count * sz);
    *cap = ncap;
    return p;
}

static int check_kind(const char *kind, kl_err *err)
{
    if (!kind || !kind[0] || strlen(kind) >= sizeof(((kl_ref *)0)->kind))
        return kl_err_set(err, KL_EINVAL, "kind '%s' must be a short non-empty word",
                          kind ? kind : "(null)");
    for (const char *p = kind; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
            return kl_err_set(err, KL_EINVAL, "kind '%s' must be lowercase letters", kind);
    return 0;
}

/* ---- snapshots ---- */

int kl_store_snapshot_add(kl_store *s, const kl_snapshot_rec *rec, kl_err *err)
{
    if (!kl__is_full_id(rec->id))
        return kl_err_set(err, KL_EINVAL, "snapshot id '%s' is not 64 lowercase hex digits",
                          rec->id);
    if (!rec->source_hash || !rec->schema_hash || !rec->manifest)
        return kl_err_set(err, KL_EINVAL,
                          "a snapshot needs its source hash, schema hash and manifest");
    const kl__db_vt *vt = s->db->vt;
    kl__stmt *st;
    int rc = vt->prepare(s->db,
                         "INSERT INTO snapshots (id, name, source_hash, n_rows, n_cols, "
                         "schema_hash, infer_version, created_ms, manifest) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                         0, &st, err);
    if (rc < 0)
        return rc;
    vt->bind_text(st, 1, rec->id);
    vt->bind_text(st, 2, rec->name);
    vt->bind_text(st, 3, rec->source_hash);
    vt->bind_i64(st, 4, rec->n_rows);
    vt->bind_i64(st, 5, rec->n_cols);
    vt->bind_text(st, 6, rec->schema_hash);
    vt->bind_i64(st, 7, rec->infer_version);
    vt->bind_i64(st, 8, rec->created_ms ? rec->created_ms : kl__now_ms());
    vt->bind_text(st, 9, rec->manifest);
    rc = vt->step(st, err);
    vt->finalize(st);
    return rc < 0 ? rc : 0;
}

int kl_store_snapshot_list(kl_store *s, const char *id, kl_snapshot_list *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    const kl__db_vt *vt = s->db->vt;
    kl_arena *a = kl_arena_new(0);
    if (!a)
        return kl_err_set(err, KL_ENOMEM, "out of memory listing snapshots");
    const char *cols = "SELECT id, name, source_hash, n_rows, n_cols, schema_hash, "
                       "infer_version, created_ms, manifest FROM snapshots";
    char sql[512];
    snprintf(sql, sizeof sql, "%s%s", cols, id ? " WHERE id = ?" : " ORDER BY created_ms DESC, id");
    kl__stmt *st;
    int rc = vt->prepare(s->db, sql, 0, &st, err);
    if (rc < 0) {
        kl_arena_free(a);
        return rc;
    }
    if (id)
        vt->bind_text(st, 1, id);
    size_t cap = 0;
    int oom = 0;
    while ((rc = vt->step(st, err)) == 1) {
        kl_snapshot_rec *items = kl__arena_grow(a, out->items, out->count, &cap, sizeof *items);
        if (!items) {
            oom = 1;
            break;
        }
        out->items = items;
        kl_snapshot_rec *r = &items[out->count++];
        memset(r, 0, sizeof *r);
        const char *rid = vt->col_text(st, 0);
        snprintf(r->id, sizeof r->id, "%s", rid ? rid : "");
        r->name = kl__col_dup(a, vt, st, 1, &oom);
        r->source_hash = kl__col_dup(a, vt, st, 2, &oom);
        r->n_rows = vt->col_i64(st, 3);
        r->n_cols = vt->col_i64(st, 4);
        r->schema_hash = kl__col_dup(a, vt, st, 5, &oom);
        r->infer_version = vt->col_i64(st, 6);
        r->created_ms = vt->col_i64(st, 7);
        r->manifest = kl__col_dup(a, vt, st, 8, &oom);
    }
    vt->finalize(st);
    if (oom)
        rc = kl_err_set(err, KL_ENOMEM, "out of memory listing snapshots");
    else if (rc == 0 && id && out->count == 0)
        rc = kl_err_set(err, KL_ENOTFOUND, "no snapshot '%s'", id);
    if (rc < 0) {
        kl_arena_free(a);
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->mem_ = a;
    return 0;
}

void kl_snapshot_list_release(kl_snapshot_list *l)
{
    if (!l)
        return;
    kl_arena_free(l->mem_);
    memset(l, 0, sizeof *l);
}

/* ---- tags and lineage ---- */

int kl_store_set_tag(kl_store *s, const char *kind, const char *id, const char *key,
                     const char *value, kl_err *err)
{
    int rc = check_kind(kind, err);
    if (rc < 0)
        return rc;
    if (!id || !id[0] || !key || !key[0])
        return kl_err_set(err, KL_EINVAL, "a tag needs a target id and a key");
    kl__stmt *st;
    if ((rc = kl__stmt_cached(s, KL__ST_TAG, &st, err)) < 0)
        return rc;
    const kl__db_vt *vt = s->db->vt;
    vt->bind_text(st, 1, kind);
    vt->bind_text(st, 2, id);
    vt->bind_text(st, 3, key);
    vt->bind_text(st, 4, value ? value : "");
    rc = vt->step(st, err);
    vt->reset(st);
    return rc < 0 ? rc : 0;
}

int kl_store_tags(kl_store *s, const char *kind, const char *id, kl_tag_list *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = check_kind(kind, err);
    if (rc < 0)
        return rc;
    const kl__db_vt *vt = s->db->vt;
    kl_arena *a = kl_arena_new(0);
    kl__stmt *st = NULL;
    if (!a)
        return kl_err_set(err, KL_ENOMEM, "out of memory reading tags");
    rc = vt->prepare(s->db,
                     "SELECT key, value FROM tags WHERE target_kind = ? AND target_id = ? "
                     "ORDER BY key",
                     0, &st, err);
    if (rc == 0) {
        vt->bind_text(st, 1, kind);
        vt->bind_text(st, 2, id);
        size_t cap = 0;
        int oom = 0;
        while (!oom && (rc = vt->step(st, err)) == 1) {
            kl_tag *items = kl__arena_grow(a, out->items, out->count, &cap, sizeof *items);
            if (!items) {
                oom = 1;
                break;
            }
            out->items = items;
            items[out->count].key = kl__col_dup(a, vt, st, 0, &oom);
            items[out->count++].value = kl__col_dup(a, vt, st, 1, &oom);
        }
        if (oom)
            rc = kl_err_set(err, KL_ENOMEM, "out of memory reading tags");
    }
    vt->finalize(st);
    if (rc < 0) {
        kl_arena_free(a);
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->mem_ = a;
    return 0;
}

void kl_tag_list_release(kl_tag_list *l)
{
    if (!l)
        return;
    kl_arena_free(l->mem_);
    memset(l, 0, sizeof *l);
}

int kl_store_link(kl_store *s, const char *from_kind, const char *from_id, const char *to_kind,
                  const char *to_id, const char *relation, kl_err *err)
{
    int rc;
    if ((rc = check_kind(from_kind, err)) < 0 || (rc = check_kind(to_kind, err)) < 0)
        return rc;
    if (!from_id || !from_id[0] || !to_id || !to_id[0] || !relation || !relation[0])
        return kl_err_set(err, KL_EINVAL, "a lineage edge needs both ids and a relation");
    kl__stmt *st;
    if ((rc = kl__stmt_cached(s, KL__ST_LINK, &st, err)) < 0)
        return rc;
    const kl__db_vt *vt = s->db->vt;
    vt->bind_text(st, 1, from_kind);
    vt->bind_text(st, 2, from_id);
    vt->bind_text(st, 3, to_kind);
    vt->bind_text(st, 4, to_id);
    vt->bind_text(st, 5, relation);
    vt->bind_i64(st, 6, kl__now_ms());
    rc = vt->step(st, err);
    vt->reset(st);
    return rc < 0 ? rc : 0;
}

/*
 * The walk keeps depth in its rows so UNION stops revisiting an edge at the
 * same depth, and the depth bound ends cycles; the outer query keeps each
 * edge once, at the depth it was first reached.
 */
static const char lineage_up[] =
    "WITH RECURSIVE walk (from_kind, from_id, to_kind, to_id, relation, depth) AS ("
    " SELECT from_kind, from_id, to_kind, to_id, relation, 1 FROM lineage"
    "  WHERE to_kind = ? AND to_id = ?"
    " UNION"
    " SELECT l.from_kind, l.from_id, l.to_kind, l.to_id, l.relation, w.depth + 1"
    "  FROM lineage l JOIN walk w ON l.to_kind = w.from_kind AND l.to_id = w.from_id"
    "  WHERE w.depth < ?)"
    " SELECT from_kind, from_id, to_kind, to_id, relation, min(depth) FROM walk"
    " GROUP BY from_kind, from_id, to_kind, to_id, relation ORDER BY 6, 1, 2, 3, 4, 5";

static const char lineage_down[] =
    "WITH RECURSIVE walk (from_kind, from_id, to_kind, to_id, relation, depth) AS ("
    " SELECT from_kind, from_id, to_kind, to_id, relation, 1 FROM lineage"
    "  WHERE from_kind = ? AND from_id = ?"
    " UNION"
    " SELECT l.from_kind, l.from_id, l.to_kind, l.to_id, l.relation, w.depth + 1"
    "  FROM lineage l JOIN walk w ON l.from_kind = w.to_kind AND l.from_id = w.to_id"
    "  WHERE w.depth < ?)"
    " SELECT from_kind, from_id, to_kind, to_id, relation, min(depth) FROM walk"
    " GROUP BY from_kind, from_id, to_kind, to_id, relation ORDER BY 6, 1, 2, 3, 4, 5";

int kl_store_lineage(kl_store *s, const char *kind, const char *id, enum kl_lineage_dir dir,
                     int max_depth, kl_lineage *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    int rc = check_kind(kind, err);
    if (rc < 0)
        return rc;
    if (dir != KL_LINEAGE_DIR_ANCESTORS && dir != KL_LINEAGE_DIR_DESCENDANTS)
        return kl_err_set(err, KL_EINVAL, "unknown lineage direction %d", (int)dir);
    if (max_depth <= 0 || max_depth > 64)
        max_depth = 64;
    const kl__db_vt *vt = s->db->vt;
    kl_arena *a = kl_arena_new(0);
    if (!a)
        return kl_err_set(err, KL_ENOMEM, "out of memory walking lineage");
    kl__stmt *st;
    rc = vt->prepare(s->db, dir == KL_LINEAGE_DIR_ANCESTORS ? lineage_up : lineage_down, 0, &st,
                     err);
    if (rc < 0) {
        kl_arena_free(a);
        return rc;
    }
    vt->bind_text(st, 1, kind);
    vt->bind_text(st, 2, id);
    vt->bind_i64(st, 3, max_depth);
    size_t cap = 0;
    int oom = 0;
    while ((rc = vt->step(st, err)) == 1) {
        kl_lineage_edge *e = kl__arena_grow(a, out->edges, out->count, &cap, sizeof *e);
        if (!e) {
            oom = 1;
            break;
        }
        out->edges = e;
        kl_lineage_edge *x = &e[out->count++];
        x->from_kind = kl__col_dup(a, vt, st, 0, &oom);
        x->from_id = kl__col_dup(a, vt, st, 1, &oom);
        x->to_kind = kl__col_dup(a, vt, st, 2, &oom);
        x->to_id = kl__col_dup(a, vt, st, 3, &oom);
        x->relation = kl__col_dup(a, vt, st, 4, &oom);
        x->depth = (int)vt->col_i64(st, 5);
    }
    vt->finalize(st);
    if (oom)
        rc = kl_err_set(err, KL_ENOMEM, "out of memory walking lineage");
    if (rc < 0) {
        kl_arena_free(a);
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->mem_ = a;
    return 0;
}

void kl_lineage_release(kl_lineage *l)
{
    if (!l)
        return;
    kl_arena_free(l->mem_);
    memset(l, 0, sizeof *l);
}

/* ---- object references ---- */

int kl_store_object_refs(kl_store *s,
                         int (*fn)(const char *owner_kind, const char *owner_id, const char *role,
                                   const char *object_id, void *ud),
                         void *ud, kl_err *err)
{
    const kl__db_vt *vt = s->db->vt;
    kl__stmt *st;
    int rc = vt->prepare(s->db,
                         "SELECT 'snapshot', id, 'manifest', manifest FROM snapshots"
                         " UNION ALL SELECT 'run', run, name, object FROM artifacts"
                         " UNION ALL SELECT from_kind, from_id, relation, to_id FROM lineage"
                         "  WHERE to_kind = 'object'"
                         " UNION ALL SELECT to_kind, to_id, relation, from_id FROM lineage"
                         "  WHERE from_kind = 'object'",
                         0, &st, err);
    if (rc < 0)
        return rc;
    while ((rc = vt->step(st, err)) == 1) {
        const char *kind = vt->col_text(st, 0), *id = vt->col_text(st, 1);
        const char *role = vt->col_text(st, 2), *obj = vt->col_text(st, 3);
        rc = fn(kind ? kind : "", id ? id : "", role ? role : "", obj ? obj : "", ud);
        if (rc != 0)
            break;
    }
    vt->finalize(st);
    return rc;
}

/* ---- id resolution ---- */

#define MAX_CANDIDATES 8

typedef struct cands {
    kl_ref r[MAX_CANDIDATES];
    size_t n; /* distinct candidates kept (at most MAX_CANDIDATES) */
    int more; /* more than MAX_CANDIDATES matched */
} cands;

static void cands_add(cands *c, const char *kind, const char *id)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->r[i].kind, kind) == 0 && strcmp(c->r[i].id, id) == 0)
            return;
    if (c->n == MAX_CANDIDATES) {
        c->more = 1;
        return;
    }
    snprintf(c->r[c->n].kind, sizeof c->r[c->n].kind, "%s", kind);
    snprintf(c->r[c->n].id, sizeof c->r[c->n].id, "%s", id);
    c->n++;
}

/* Collect (kind, id) rows of sql bound with up to two texts and an optional length. */
static int collect(kl_store *s, const char *sql, const char *kind, int64_t len, const char *t1,
                   const char *t2, cands *c, kl_err *err)
{
    const kl__db_vt *vt = s->db->vt;
    kl__stmt *st;
    int rc = vt->prepare(s->db, sql, 0, &st, err);
    if (rc < 0)
        return rc;
    int i = 1;
    if (len > 0)
        vt->bind_i64(st, i++, len);
    vt->bind_text(st, i++, t1);
    if (t2)
        vt->bind_text(st, i++, t2);
    while ((rc = vt->step(st, err)) == 1) {
        const char *k = kind ? kind : vt->col_text(st, 0);
        const char *id = vt->col_text(st, kind ? 0 : 1);
        if (k && id && kl__is_full_id(id))
            cands_add(c, k, id);
    }
    vt->finalize(st);
    return rc;
}

static int is_hex(const char *t)
{
    if (!t[0])
        return 0;
    for (const char *p = t; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

static int resolve_pick(const cands *c, const char *text, kl_ref *out, kl_err *err)
{
    if (c->n == 1) {
        *out = c->r[0];
        return 0;
    }
    /* Show enough of each id to tell the candidates apart. */
    size_t len = strlen(text);
    int width = len + 4 > KL_SHA256_HEX_LEN ? KL_SHA256_HEX_LEN : len + 4 < 12 ? 12 : (int)len + 4;
    char list[KL_ERR_MSG_MAX];
    size_t off = 0;
    for (size_t i = 0; i < c->n && off < sizeof list; i++) {
        int w = snprintf(list + off, sizeof list - off, "%s%s %.*s", i ? ", " : "", c->r[i].kind,
                         width, c->r[i].id);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    kl_err_set(err, KL_EINVAL, "'%s' is ambiguous: %s%s", text, list, c->more ? ", ..." : "");
    return kl_err_ctx(err, "%s", text);
}

int kl_store_resolve(kl_store *s, const char *kind, const char *text, kl_ref *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    if (kind && strcmp(kind, "run") != 0 && strcmp(kind, "snapshot") != 0)
        return kl_err_set(err, KL_EINVAL, "cannot resolve ids of kind '%s'", kind);
    if (!text || !text[0])
        return kl_err_set(err, KL_EINVAL, "empty id");
    int want_run = !kind || strcmp(kind, "run") == 0;
    int want_snap = !kind || strcmp(kind, "snapshot") == 0;
    size_t len = strlen(text);
    cands c = {0};
    int rc = 0;

    /* 1. Full ids and hex prefixes of at least 4 digits. */
    if (is_hex(text) && len >= 4 && len <= KL_SHA256_HEX_LEN) {
        if (want_run && rc == 0)
            rc = collect(s, "SELECT id FROM runs WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 9",
                         "run", (int64_t)len, text, NULL, &c, err);
        if (want_snap && rc == 0)
            rc = collect(s,
                         "SELECT id FROM snapshots WHERE substr(id, 1, ?) = ? ORDER BY id "
                         "LIMIT 9",
                         "snapshot", (int64_t)len, text, NULL, &c, err);
        if (rc < 0)
            return rc;
        if (c.n)
            return resolve_pick(&c, text, out, err);
    }
    /* 2. Names. */
    if (want_run && rc == 0)
        rc = collect(s, "SELECT id FROM runs WHERE name = ? ORDER BY id LIMIT 9", "run", 0, text,
                     NULL, &c, err);
    if (want_snap && rc == 0)
        rc = collect(s, "SELECT id FROM snapshots WHERE name = ? ORDER BY id LIMIT 9", "snapshot",
                     0, text, NULL, &c, err);
    if (rc < 0)
        return rc;
    if (c.n)
        return resolve_pick(&c, text, out, err);
    /* 3. Tags: key=value, or a bare key. */
    const char *eq = strchr(text, '=');
    char key[256];
    if (eq && (size_t)(eq - text) < sizeof key) {
        memcpy(key, text, (size_t)(eq - text));
        key[eq - text] = '\0';
        rc = collect(s,
                     "SELECT target_kind, target_id FROM tags WHERE key = ? AND value = ? "
                     "AND target_kind IN ('run', 'snapshot') ORDER BY 1, 2 LIMIT 9",
                     NULL, 0, key, eq + 1, &c, err);
    } else {
        rc = collect(s,
                     "SELECT target_kind, target_id FROM tags WHERE key = ? "
                     "AND target_kind IN ('run', 'snapshot') ORDER BY 1, 2 LIMIT 9",
                     NULL, 0, text, NULL, &c, err);
    }
    if (rc < 0)
        return rc;
    if (!want_run || !want_snap) {
        /* Drop tag matches of the other kind. */
        cands keep = {0};
        for (size_t i = 0; i < c.n; i++)
            if (strcmp(c.r[i].kind, kind) == 0)
                cands_add(&keep, c.r[i].kind, c.r[i].id);
        keep.more = c.more;
        c = keep;
    }
    if (c.n)
        return resolve_pick(&c, text, out, err);
    if (is_hex(text) && len < 4)
        return kl_err_set(err, KL_EINVAL, "id prefix '%s' is too short; give at least 4 hex digits",
                          text);
    kl_err_set(err, KL_ENOTFOUND, "no %s matches '%s'", kind ? kind : "run or snapshot", text);
    return kl_err_ctx(err, "%s", text);
}
