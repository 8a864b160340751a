/*
 * Experiment tracking: runs, their parameters, metrics, artifacts and tags,
 * and the queries over them.
 *
 * Metric values are the hot path (a training loop may log one per step), so
 * they are buffered in the run handle in their final storage layout: per key
 * one chunk of delta-encoded records (zigzag varint step delta, float64
 * value, zigzag varint timestamp delta; about 10 bytes a value where a row
 * per value costs SQLite ~40 bytes and a B-tree insert). A flush writes each
 * key's chunk as one row of metric_series (bound as the blob, not copied) and
 * upserts the key's latest value in metrics, all in one transaction. Why not
 * a row per value: SQLite's per-row insert cost (B-tree insert, index
 * update) then dominates, and keel must log several times faster than that
 * layout (docs/STORE.md); a chunk costs one insert per key and flush. The latest-value row
 * keeps filters and listings (metrics.auc > 0.8) a plain indexed lookup.
 *
 * Invariants: buffered values are dropped only after their flush committed;
 * a failed flush leaves them buffered for the next attempt. The key lookup
 * tries the key used last first, so a loop logging one or a few keys does no
 * string search and no allocation once its arrays have grown.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "keel/arena.h"
#include "keel/err.h"
#include "keel/hash.h"
#include "keel/track.h"
#include "keel/version.h"
#include "store/store_internal.h"
#include "core/common.h"

#define RECORD_MAX 28 /* two 10-byte varints and a double */
#define FLUSH_INTERVAL_MS 1000

typedef struct series {
    char *key;
    uint8_t *buf;               /* the chunk being filled, encoded (see "metric chunks" below) */
    size_t len, cap;            /* bytes */
    size_t n;                   /* records in buf */
    int64_t seq;                /* next chunk number of this key in metric_series */
    int64_t prev_step, prev_ts; /* delta bases inside the chunk; 0 at its start */
    double last_value;
    int64_t last_step, last_ts;
} series;

struct kl_run {
    kl_store *s;
    char id[KL_ID_LEN];
    series *keys;
    size_t n_keys, cap_keys, hint;
    size_t buffered;
    int64_t last_flush_ms;
};

static const char *const status_names[] = {"running", "finished", "failed", "killed"};

const char *kl_run_status_name(enum kl_run_status st)
{
    return (unsigned)st < KL_ARRAY_LEN(status_names) ? status_names[st] : "?";
}

static enum kl_run_status status_parse(const char *s)
{
    for (size_t i = 0; s && i < KL_ARRAY_LEN(status_names); i++)
        if (strcmp(s, status_names[i]) == 0)
            return (enum kl_run_status)i;
    return KL_RUN_STATUS_RUNNING;
}

const char *kl_run_id(const kl_run *r)
{
    return r->id;
}

static int random_bytes(uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

/* 1 when table has a row with this id, 0 when not, < 0 on error. */
static int row_exists(kl_store *s, const char *sql, const char *id, kl_err *err)
{
    const kl__db_vt *vt = s->db->vt;
    kl__stmt *st;
    int rc = vt->prepare(s->db, sql, 0, &st, err);
    if (rc < 0)
        return rc;
    vt->bind_text(st, 1, id);
    rc = vt->step(st, err);
    vt->finalize(st);
    return rc;
}

static void hash_field(kl_sha256_ctx *h, const char *tag, const char *v)
{
    kl_sha256_update(h, tag, strlen(tag) + 1);
    if (v)
        kl_sha256_update(h, v, strlen(v));
    kl_sha256_update(h, "", 1);
}

/* One row of the runs table, inside the caller's transaction (kl_run_start, kl_run_import). */
static int insert_run(kl_store *s, const kl_run_info *info, kl_err *err)
{
    const kl__db_vt *vt = s->db->vt;
    kl__stmt *st;
    int rc = vt->prepare(s->db,
                         "INSERT INTO runs (id, name, status, started_ms, ended_ms, parent_run, "
                         "spec_hash, snapshot, keel_version, git_commit, git_dirty, seed, host) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         0, &st, err);
    if (rc == 0) {
        vt->bind_text(st, 1, info->id);
        vt->bind_text(st, 2, info->name);
        vt->bind_text(st, 3, kl_run_status_name(info->status));
        vt->bind_i64(st, 4, info->started_ms);
        if (info->ended_ms)
            vt->bind_i64(st, 5, info->ended_ms);
        else
            vt->bind_null(st, 5);
        vt->bind_text(st, 6, info->parent);
        vt->bind_text(st, 7, info->spec_hash);
        vt->bind_text(st, 8, info->snapshot);
        vt->bind_text(st, 9, info->keel_version);
        vt->bind_text(st, 10, info->git_commit);
        if (info->git_dirty >= 0)
            vt->bind_i64(st, 11, info->git_dirty ? 1 : 0);
        else
            vt->bind_null(st, 11);
        if (info->has_seed)
            vt->bind_i64(st, 12, (int64_t)info->seed);
        else
            vt->bind_null(st, 12);
        vt->bind_text(st, 13, info->host);
        rc = vt->step(st, err);
        vt->finalize(st);
    }
    return rc;
}

int kl_run_start(kl_store *s, const kl_run_opts *opts, kl_run **out, kl_err *err)
{
    *out = NULL;
    kl_run_opts none = {0};
    const kl_run_opts *o = opts ? opts : &none;
    int rc;
    if (o->parent) {
        if (!kl__is_full_id(o->parent))
            return kl_err_set(err, KL_EINVAL, "parent '%s' is not a full run id", o->parent);
        if ((rc = row_exists(s, "SELECT 1 FROM runs WHERE id = ?", o->parent, err)) <= 0)
            return rc < 0 ? rc : kl_err_set(err, KL_ENOTFOUND, "no parent run '%s'", o->parent);
    }
    if (o->snapshot) {
        if (!kl__is_full_id(o->snapshot))
            return kl_err_set(err, KL_EINVAL, "snapshot '%s' is not a full snapshot id",
                              o->snapshot);
        if ((rc = row_exists(s, "SELECT 1 FROM snapshots WHERE id = ?", o->snapshot, err)) <= 0)
            return rc < 0 ? rc : kl_err_set(err, KL_ENOTFOUND, "no snapshot '%s'", o->snapshot);
    }
    char host[256] = "";
    if (o->host)
        snprintf(host, sizeof host, "%s", o->host);
    else if (gethostname(host, sizeof host - 1) < 0)
        host[0] = '\0';

    kl_run *r = calloc(1, sizeof *r);
    if (!r)
        return kl_err_set(err, KL_ENOMEM, "out of memory starting a run");
    r->s = s;
    int64_t now = kl__now_ms();
    r->last_flush_ms = now;
    if (o->started_ms > 0 && o->started_ms < now)
        now = o->started_ms;

    /* The project's git state, read once per store handle unless the caller gave one. */
    const char *git_commit = o->git_commit;
    int git_dirty = o->git_dirty;
    if (!git_commit) {
        if (!s->git_known) {
            char project[4096];
            size_t len = strlen(s->root);
            snprintf(project, sizeof project, "%.*s", (int)(len > 6 ? len - 6 : len), s->root);
            kl_project_git(project, s->git_commit, &s->git_dirty);
            s->git_known = 1;
        }
        git_commit = s->git_commit[0] ? s->git_commit : NULL;
        git_dirty = s->git_dirty;
    }

    /* The id: the run's defining content plus a nonce, so equal content never collides. */
    uint8_t nonce[16], digest[KL_SHA256_LEN];
    char seed[24], started[24];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    snprintf(started, sizeof started, "%lld", (long long)now);
    kl_sha256_ctx h;
    if (random_bytes(nonce, sizeof nonce) < 0) {
        free(r);
        return kl_err_set(err, KL_EIO, "cannot read random bytes: %s", strerror(errno));
    }
    if (kl_sha256_init(&h) < 0) {
        free(r);
        return kl_err_set(err, KL_ENOMEM, "out of memory starting a run");
    }
    hash_field(&h, "keel-run-v1", NULL);
    hash_field(&h, "name", o->name);
    hash_field(&h, "parent", o->parent);
    hash_field(&h, "spec", o->spec_hash);
    hash_field(&h, "snapshot", o->snapshot);
    hash_field(&h, "seed", o->has_seed ? seed : NULL);
    hash_field(&h, "git", git_commit);
    hash_field(&h, "host", host);
    hash_field(&h, "started", started);
    kl_sha256_update(&h, nonce, sizeof nonce);
    kl_sha256_final(&h, digest);
    kl_hex(digest, KL_SHA256_LEN, r->id);

    const kl__db_vt *vt = s->db->vt;
    if ((rc = vt->begin(s->db, KL__TX_WRITE, err)) < 0) {
        free(r);
        return rc;
    }
    kl_run_info info = {.name = o->name,
                        .status = KL_RUN_STATUS_RUNNING,
                        .started_ms = now,
                        .parent = o->parent,
                        .spec_hash = o->spec_hash,
                        .snapshot = o->snapshot,
                        .keel_version = KEEL_VERSION,
                        .git_commit = git_commit,
                        .git_dirty = git_commit ? git_dirty : -1,
                        .seed = o->seed,
                        .has_seed = o->has_seed,
                        .host = host[0] ? host : NULL};
    memcpy(info.id, r->id, KL_ID_LEN);
    rc = insert_run(s, &info, err);
    if (rc >= 0 && o->parent)
        rc = kl_store_link(s, "run", o->parent, "run", r->id, "parent", err);
    if (rc >= 0 && o->snapshot)
        rc = kl_store_link(s, "snapshot", o->snapshot, "run", r->id, "input", err);
    if (rc >= 0)
        rc = vt->commit(s->db, err);
    if (rc < 0) {
        vt->rollback(s->db);
        free(r);
        return rc;
    }
    s->open_runs++;
    *out = r;
    return 0;
}

int kl_run_log_param(kl_run *r, const char *key, const char *value, kl_err *err)
{
    if (!key || !key[0] || !value)
        return kl_err_set(err, KL_EINVAL, "a parameter needs a key and a value");
    kl_store *s = r->s;
    kl__stmt *st;
    int rc = kl__stmt_cached(s, KL__ST_PARAM, &st, err);
    if (rc < 0)
        return rc;
    const kl__db_vt *vt = s->db->vt;
    vt->bind_text(st, 1, r->id);
    vt->bind_text(st, 2, key);
    vt->bind_text(st, 3, value);
    rc = vt->step(st, err);
    vt->reset(st);
    return rc < 0 ? rc : 0;
}

int kl_run_set_tag(kl_run *r, const char *key, const char *value, kl_err *err)
{
    return kl_store_set_tag(r->s, "run", r->id, key, value, err);
}

int kl_run_log_artifact(kl_run *r, const char *name, const char *object_id, const char *kind,
                        kl_err *err)
{
    if (!name || !name[0] || !kind || !kind[0])
        return kl_err_set(err, KL_EINVAL, "an artifact needs a name and a kind");
    if (!kl__is_full_id(object_id))
        return kl_err_set(err, KL_EINVAL, "artifact '%s' does not name an object id", name);
    if (!kl_store_has(r->s, object_id))
        return kl_err_set(err, KL_ENOTFOUND, "artifact '%s': no object '%s' in the store", name,
                          object_id);
    kl_store *s = r->s;
    const kl__db_vt *vt = s->db->vt;
    int rc = vt->begin(s->db, KL__TX_WRITE, err);
    if (rc < 0)
        return rc;
    kl__stmt *st;
    rc = vt->prepare(s->db,
                     "INSERT INTO artifacts (run, name, object, kind) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT (run, name) DO UPDATE SET object = excluded.object, "
                     "kind = excluded.kind",
                     0, &st, err);
    if (rc == 0) {
        vt->bind_text(st, 1, r->id);
        vt->bind_text(st, 2, name);
        vt->bind_text(st, 3, object_id);
        vt->bind_text(st, 4, kind);
        rc = vt->step(st, err);
        vt->finalize(st);
    }
    if (rc >= 0)
        rc = kl_store_link(s, "run", r->id, "object", object_id, "artifact", err);
    if (rc >= 0)
        rc = vt->commit(s->db, err);
    if (rc < 0) {
        vt->rollback(s->db);
        return rc;
    }
    return 0;
}

/* ---- metrics ---- */

/*
 * Metric chunks (metric_series.data, format 1): n records back to back, each
 *     zigzag LEB128 varint   step - previous step
 *     8 bytes                value, IEEE-754 binary64, little-endian
 *     zigzag LEB128 varint   timestamp_ms - previous timestamp_ms
 * where "previous" is 0 for the first record of every chunk, so each chunk
 * decodes on its own. Steps usually grow by 1 and timestamps by 0 or a few
 * ms, so both deltas take one byte.
 */
static size_t put_varint(uint8_t *p, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 0;
    while (z >= 0x80) {
        p[n++] = (uint8_t)(z | 0x80);
        z >>= 7;
    }
    p[n++] = (uint8_t)z;
    return n;
}

/* Decode a varint at p (end bounds it); 0 when malformed or cut short. */
static size_t get_varint(const uint8_t *p, const uint8_t *end, int64_t *v)
{
    uint64_t z = 0;
    for (size_t n = 0; n < 10 && p + n < end; n++) {
        z |= (uint64_t)(p[n] & 0x7f) << (7 * n);
        if (!(p[n] & 0x80)) {
            *v = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
            return n + 1;
        }
    }
    return 0;
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static series *series_find(kl_run *r, const char *key)
{
    if (r->hint < r->n_keys && strcmp(r->keys[r->hint].key, key) == 0)
        return &r->keys[r->hint];
    for (size_t i = 0; i < r->n_keys; i++)
        if (strcmp(r->keys[i].key, key) == 0) {
            r->hint = i;
            return &r->keys[i];
        }
    if (r->n_keys == r->cap_keys) {
        size_t cap = r->cap_keys ? r->cap_keys * 2 : 8;
        series *k = realloc(r->keys, cap * sizeof *k);
        if (!k)
            return NULL;
        r->keys = k;
        r->cap_keys = cap;
    }
    series *x = &r->keys[r->n_keys];
    memset(x, 0, sizeof *x);
    if (!(x->key = strdup(key)))
        return NULL;
    r->hint = r->n_keys++;
    return x;
}

int kl_run_flush(kl_run *r, kl_err *err)
{
    if (r->buffered == 0)
        return 0;
    kl_store *s = r->s;
    const kl__db_vt *vt = s->db->vt;
    kl__stmt *ins, *latest;
    int rc;
    if ((rc = kl__stmt_cached(s, KL__ST_METRIC_SERIES, &ins, err)) < 0 ||
        (rc = kl__stmt_cached(s, KL__ST_METRIC_LATEST, &latest, err)) < 0)
        return rc;
    if ((rc = vt->begin(s->db, KL__TX_WRITE, err)) < 0)
        return rc;
    for (size_t i = 0; i < r->n_keys && rc >= 0; i++) {
        series *x = &r->keys[i];
        if (x->n == 0)
            continue;
        vt->bind_text(ins, 1, r->id);
        vt->bind_text(ins, 2, x->key);
        vt->bind_i64(ins, 3, x->seq);
        vt->bind_i64(ins, 4, (int64_t)x->n);
        vt->bind_blob(ins, 5, x->buf, x->len);
        rc = vt->step(ins, err);
        vt->reset(ins);
        if (rc < 0)
            break;
        vt->bind_text(latest, 1, r->id);
        vt->bind_text(latest, 2, x->key);
        if (x->last_value == x->last_value)
            vt->bind_f64(latest, 3, x->last_value);
        else
            vt->bind_null(latest, 3); /* NaN: SQLite cannot store it, so NULL stands for it */
        vt->bind_i64(latest, 4, x->last_step);
        vt->bind_i64(latest, 5, x->last_ts);
        rc = vt->step(latest, err);
        vt->reset(latest);
    }
    if (rc >= 0)
        rc = vt->commit(s->db, err);
    if (rc < 0) {
        vt->rollback(s->db);
        return rc;
    }
    for (size_t i = 0; i < r->n_keys; i++)
        if (r->keys[i].n) {
            r->keys[i].n = 0;
            r->keys[i].len = 0;
            r->keys[i].prev_step = 0;
            r->keys[i].prev_ts = 0;
            r->keys[i].seq++;
        }
    r->buffered = 0;
    r->last_flush_ms = kl__now_ms();
    return 0;
}

/* Buffer one value; ts < 0 stamps it now (import passes the original time). */
static int log_value(kl_run *r, const char *key, double value, int64_t step, int64_t ts,
                     kl_err *err)
{
    if (!key || !key[0])
        return kl_err_set(err, KL_EINVAL, "a metric needs a key");
    series *x = series_find(r, key);
    if (!x)
        return kl_err_set(err, KL_ENOMEM, "out of memory logging metric '%s'", key);
    if (x->cap - x->len < RECORD_MAX) {
        size_t cap = x->cap ? x->cap * 2 : 4096;
        uint8_t *b = realloc(x->buf, cap);
        if (!b)
            return kl_err_set(err, KL_ENOMEM, "out of memory logging metric '%s'", key);
        x->buf = b;
        x->cap = cap;
    }
    int64_t now = kl__now_ms(), stamp = ts < 0 ? now : ts;
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    uint8_t *p = x->buf + x->len;
    size_t k = put_varint(p, (int64_t)((uint64_t)step - (uint64_t)x->prev_step));
    put_le64(p + k, bits);
    k += 8;
    k += put_varint(p + k, (int64_t)((uint64_t)stamp - (uint64_t)x->prev_ts));
    x->len += k;
    x->prev_step = step;
    x->prev_ts = stamp;
    x->n++;
    x->last_value = value;
    x->last_step = step;
    x->last_ts = stamp;
    r->buffered++;
    if (r->buffered >= KL_RUN_FLUSH_VALUES || now - r->last_flush_ms >= FLUSH_INTERVAL_MS)
        return kl_run_flush(r, err);
    return 0;
}

int kl_run_log_metric(kl_run *r, const char *key, double value, int64_t step, kl_err *err)
{
    return log_value(r, key, value, step, -1, err);
}

int kl_run_log_metric_at(kl_run *r, const char *key, double value, int64_t step,
                         int64_t timestamp_ms, kl_err *err)
{
    if (timestamp_ms < 0)
        return kl_err_set(err, KL_EINVAL, "a metric timestamp cannot be negative");
    return log_value(r, key, value, step, timestamp_ms, err);
}

static void run_free(kl_run *r)
{
    for (size_t i = 0; i < r->n_keys; i++) {
        free(r->keys[i].key);
        free(r->keys[i].buf);
    }
    free(r->keys);
    r->s->open_runs--;
    free(r);
}

int kl_run_end(kl_run *r, enum kl_run_status status, kl_err *err)
{
    if (!r)
        return 0;
    int rc = 0;
    if ((unsigned)status >= KL_ARRAY_LEN(status_names) || status == KL_RUN_STATUS_RUNNING)
        rc = kl_err_set(err, KL_EINVAL, "a run ends finished, failed or killed");
    if (rc == 0)
        rc = kl_run_flush(r, err);
    if (rc == 0) {
        kl_store *s = r->s;
        const kl__db_vt *vt = s->db->vt;
        kl__stmt *st;
        rc = vt->prepare(s->db, "UPDATE runs SET status = ?, ended_ms = ? WHERE id = ?", 0, &st,
                         err);
        if (rc == 0) {
            vt->bind_text(st, 1, kl_run_status_name(status));
            vt->bind_i64(st, 2, kl__now_ms());
            vt->bind_text(st, 3, r->id);
            rc = vt->step(st, err);
            vt->finalize(st);
        }
    }
    run_free(r);
    return rc < 0 ? rc : 0;
}

/*
 * Reopen: a handle on an existing run (a search resumed after a crash), set
 * running again. Metric keys it logged before continue their chunk numbers.
 */
int kl_run_reopen(kl_store *s, const char *id, kl_run **out, kl_err *err)
{
    *out = NULL;
    if (!kl__is_full_id(id))
        return kl_err_set(err, KL_EINVAL, "run id '%s' is not a full id", id);
    int rc = row_exists(s, "SELECT 1 FROM runs WHERE id = ?", id, err);
    if (rc <= 0)
        return rc < 0 ? rc : kl_err_set(err, KL_ENOTFOUND, "no run '%s'", id);
    kl_run *r = calloc(1, sizeof *r);
    if (!r)
        return kl_err_set(err, KL_ENOMEM, "out of memory reopening a run");
    r->s = s;
    memcpy(r->id, id, KL_ID_LEN);
    r->last_flush_ms = kl__now_ms();
    s->open_runs++;
    const kl__db_vt *vt = s->db->vt;
    kl__stmt *st;
    rc =
        vt->prepare(s->db, "SELECT key, MAX(seq) + 1 FROM metric_series WHERE run = ? GROUP BY key",
                    0, &st, err);
    if (rc == 0) {
        vt->bind_text(st, 1, id);
        while ((rc = vt->step(st, err)) == 1) {
            series *x = series_find(r, vt->col_text(st, 0));
            if (!x) {
                rc = kl_err_set(err, KL_ENOMEM, "out of memory reopening a run");
                break;
            }
            x->seq = vt->col_i64(st, 1);
        }
        vt->finalize(st);
    }
    if (rc == 0 &&
        (rc = vt->prepare(s->db, "UPDATE runs SET status = 'running', ended_ms = NULL WHERE id = ?",
                          0, &st, err)) == 0) {
        vt->bind_text(st, 1, id);
        rc = vt->step(st, err);
        vt->finalize(st);
    }
    if (rc < 0) {
        run_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* ---- import ---- */

int kl_run_import_begin(kl_store *s, const kl_run_info *info, kl_run **out, kl_err *err)
{
    *out = NULL;
    if (!kl__is_full_id(info->id))
        return kl_err_set(err, KL_EINVAL, "run id '%s' is not a full id", info->id);
    int rc = row_exists(s, "SELECT 1 FROM runs WHERE id = ?", info->id, err);
    if (rc != 0)
        return rc < 0 ? rc : kl_err_set(err, KL_EEXIST, "run %.12s exists already", info->id);
    if (info->parent &&
        (rc = row_exists(s, "SELECT 1 FROM runs WHERE id = ?", info->parent, err)) <= 0)
        return rc < 0 ? rc : kl_err_set(err, KL_ENOTFOUND, "no parent run '%s'", info->parent);
    if (info->snapshot &&
        (rc = row_exists(s, "SELECT 1 FROM snapshots WHERE id = ?", info->snapshot, err)) <= 0)
        return rc < 0 ? rc : kl_err_set(err, KL_ENOTFOUND, "no snapshot '%s'", info->snapshot);
    if ((unsigned)info->status >= KL_ARRAY_LEN(status_names))
        return kl_err_set(err, KL_EINVAL, "run %.12s has an unknown status", info->id);
    kl_run *r = calloc(1, sizeof *r);
    if (!r)
        return kl_err_set(err, KL_ENOMEM, "out of memory importing a run");
    r->s = s;
    r->last_flush_ms = kl__now_ms();
    memcpy(r->id, info->id, KL_ID_LEN);
    const kl__db_vt *vt = s->db->vt;
    if ((rc = vt->begin(s->db, KL__TX_WRITE, err)) < 0) {
        free(r);
        return rc;
    }
    rc = insert_run(s, info, err);
    if (rc >= 0)
        rc = vt->commit(s->db, err);
    if (rc < 0) {
        vt->rollback(s->db);
        free(r);
        return rc;
    }
    s->open_runs++;
    *out = r;
    return 0;
}

int kl_run_import_end(kl_run *r, kl_err *err)
{
    if (!r)
        return 0;
    int rc = kl_run_flush(r, err);
    run_free(r);
    return rc < 0 ? rc : 0;
}

/* ---- queries ---- */

/* Fill info from a row in the column order of kl__runs_sql's SELECT. */
static void run_row(kl_arena *a, const kl__db_vt *vt, kl__stmt *st, kl_run_info *info, int *oom)
{
    memset(info, 0, sizeof *info);
    const char *id = vt->col_text(st, 0);
    snprintf(info->id, sizeof info->id, "%s", id ? id : "");
    info->name = kl__col_dup(a, vt, st, 1, oom);
    info->status = status_parse(vt->col_text(st, 2));
    info->started_ms = vt->col_i64(st, 3);
    info->ended_ms = vt->col_null(st, 4) ? 0 : vt->col_i64(st, 4);
    info->parent = kl__col_dup(a, vt, st, 5, oom);
    info->spec_hash = kl__col_dup(a, vt, st, 6, oom);
    info->snapshot = kl__col_dup(a, vt, st, 7, oom);
    info->keel_version = kl__col_dup(a, vt, st, 8, oom);
    info->git_commit = kl__col_dup(a, vt, st, 9, oom);
    info->git_dirty = vt->col_null(st, 10) ? -1 : (int)vt->col_i64(st, 10);
    info->has_seed = !vt->col_null(st, 11);
    info->seed = info->has_seed ? (uint64_t)vt->col_i64(st, 11) : 0;
    info->host = kl__col_dup(a, vt, st, 12, oom);
}

int kl_store_runs(kl_store *s, const kl_run_query *q, kl_run_list *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    kl__sqlbuf b;
    int rc = kl__runs_sql(q, &b, err);
    if (rc < 0)
        return rc;
    const kl__db_vt *vt = s->db->vt;
    kl_arena *a = kl_arena_new(0);
    kl__stmt *st = NULL;
    if (!a) {
        kl__sqlbuf_release(&b);
        return kl_err_set(err, KL_ENOMEM, "out of memory listing runs");
    }
    rc = vt->prepare(s->db, b.sql, 0, &st, err);
    if (rc == 0) {
        kl__sqlbuf_bind(&b, vt, st);
        size_t cap = 0;
        int oom = 0;
        /*
         * The items grow with realloc, not in the arena: large blocks then
         * move by remapping pages instead of copying and touching fresh
         * memory at each doubling, which was most of a 10,000-run listing.
         */
        while ((rc = vt->step(st, err)) == 1) {
            if (out->count == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                kl_run_info *items = realloc(out->items, ncap * sizeof *items);
                if (!items) {
                    oom = 1;
                    break;
                }
                out->items = items;
                cap = ncap;
            }
            run_row(a, vt, st, &out->items[out->count++], &oom);
        }
        if (oom)
            rc = kl_err_set(err, KL_ENOMEM, "out of memory listing runs");
    }
    vt->finalize(st);
    kl__sqlbuf_release(&b);
    if (rc < 0) {
        kl_arena_free(a);
        free(out->items);
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->mem_ = a;
    return 0;
}

void kl_run_list_release(kl_run_list *l)
{
    if (!l)
        return;
    kl_arena_free(l->mem_);
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* ---- one column for every listed run ---- */

typedef struct run_index {
    const char *id;
    size_t pos;
} run_index;

static int run_index_cmp(const void *a, const void *b)
{
    return strcmp(((const run_index *)a)->id, ((const run_index *)b)->id);
}

/*
 * Run sql (binding key; rows of run id, value) and call set(pos, row) for each
 * row whose run is in l. The listing is indexed by id once, so this is one
 * query and a binary search per row whatever the number of runs.
 */
static int runs_column(kl_store *s, const kl_run_list *l, const char *sql, const char *key,
                       void (*set)(void *ud, size_t pos, const kl__db_vt *vt, kl__stmt *st),
                       void *ud, kl_err *err)
{
    if (l->count == 0)
        return 0;
    run_index *ix = malloc(l->count * sizeof *ix);
    if (!ix)
        return kl_err_set(err, KL_ENOMEM, "out of memory reading '%s' of runs", key);
    for (size_t i = 0; i < l->count; i++)
        ix[i] = (run_index){l->items[i].id, i};
    qsort(ix, l->count, sizeof *ix, run_index_cmp);
    const kl__db_vt *vt = s->db->vt;
    kl__stmt *st;
    int rc = vt->prepare(s->db, sql, 0, &st, err);
    if (rc == 0) {
        vt->bind_text(st, 1, key);
        while ((rc = vt->step(st, err)) == 1) {
            run_index probe = {vt->col_text(st, 0), 0};
            if (!probe.id)
                continue;
            const run_index *hit = bsearch(&probe, ix, l->count, sizeof *ix, run_index_cmp);
            if (hit)
                set(ud, hit->pos, vt, st);
        }
        vt->finalize(st);
    }
    free(ix);
    return rc < 0 ? rc : 0;
}

typedef struct metric_col {
    double *values;
    int *has;
} metric_col;

static void set_metric(void *ud, size_t pos, const kl__db_vt *vt, kl__stmt *st)
{
    metric_col *m = ud;
    m->values[pos] = vt->col_null(st, 1) ? (double)NAN : vt->col_f64(st, 1);
    m->has[pos] = 1;
}

int kl_store_runs_metric(kl_store *s, const kl_run_list *l, const char *key, double *values,
                         int *has, kl_err *err)
{
    for (size_t i = 0; i < l->count; i++) {
        values[i] = NAN;
        has[i] = 0;
    }
    metric_col m = {values, has};
    return runs_column(s, l, "SELECT run, value FROM metrics WHERE key = ?", key, set_metric, &m,
                       err);
}

typedef struct param_col {
    kl_arena *a;
    const char **out;
    int oom;
} param_col;

static void set_param(void *ud, size_t pos, const kl__db_vt *vt, kl__stmt *st)
{
    param_col *p = ud;
    const char *v = vt->col_text(st, 1);
    p->out[pos] = v ? kl_arena_strdup(p->a, v) : NULL;
    if (v && !p->out[pos])
        p->oom = 1;
}

int kl_store_runs_param(kl_store *s, kl_run_list *l, const char *key, const char **out, kl_err *err)
{
    for (size_t i = 0; i < l->count; i++)
        out[i] = NULL;
    if (l->count == 0)
        return 0;
    param_col p = {l->mem_, out, 0};
    int rc =
        runs_column(s, l, "SELECT run, value FROM params WHERE key = ?", key, set_param, &p, err);
    if (rc == 0 && p.oom)
        rc = kl_err_set(err, KL_ENOMEM, "out of memory reading parameter '%s' of runs", key);
    return rc;
}

/* Rows of a two-or-more column query about one run, into an arena array. */
static int detail_query(kl_store *s, kl_arena *a, const char *sql, const char *id, int kind,
                        void **items, size_t *count, kl_err *err)
{
    const kl__db_vt *vt = s->db->vt;
    kl__stmt *st;
    int rc = vt->prepare(s->db, sql, 0, &st, err);
    if (rc < 0)
        return rc;
    vt->bind_text(st, 1, id);
    size_t cap = 0;
    int oom = 0;
    size_t sz = kind == 0   ? sizeof(kl_kv)
                : kind == 1 ? sizeof(kl_metric_latest)
                            : sizeof(kl_artifact);
    while ((rc = vt->step(st, err)) == 1) {
        void *p = kl__arena_grow(a, *items, *count, &cap, sz);
        if (!p) {
            oom = 1;
            break;
        }
        *items = p;
        if (kind == 0) {
            kl_kv *kv = (kl_kv *)p + (*count)++;
            kv->key = kl__col_dup(a, vt, st, 0, &oom);
            kv->value = kl__col_dup(a, vt, st, 1, &oom);
        } else if (kind == 1) {
            kl_metric_latest *m = (kl_metric_latest *)p + (*count)++;
            m->key = kl__col_dup(a, vt, st, 0, &oom);
            m->value = vt->col_null(st, 1) ? (double)NAN : vt->col_f64(st, 1);
            m->step = vt->col_i64(st, 2);
            m->timestamp_ms = vt->col_i64(st, 3);
        } else {
            kl_artifact *x = (kl_artifact *)p + (*count)++;
            x->name = kl__col_dup(a, vt, st, 0, &oom);
            x->object = kl__col_dup(a, vt, st, 1, &oom);
            x->kind = kl__col_dup(a, vt, st, 2, &oom);
        }
    }
    vt->finalize(st);
    if (oom)
        return kl_err_set(err, KL_ENOMEM, "out of memory reading a run");
    return rc;
}

int kl_store_run_get(kl_store *s, const char *id, kl_run_detail *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    const kl__db_vt *vt = s->db->vt;
    kl_arena *a = kl_arena_new(0);
    if (!a)
        return kl_err_set(err, KL_ENOMEM, "out of memory reading a run");
    kl__stmt *st;
    int rc = vt->prepare(s->db,
                         "SELECT r.id, r.name, r.status, r.started_ms, r.ended_ms, r.parent_run, "
                         "r.spec_hash, r.snapshot, r.keel_version, r.git_commit, r.git_dirty, "
                         "r.seed, r.host FROM runs r WHERE r.id = ?",
                         0, &st, err);
    if (rc == 0) {
        vt->bind_text(st, 1, id);
        int oom = 0;
        rc = vt->step(st, err);
        if (rc == 1)
            run_row(a, vt, st, &out->run, &oom);
        else if (rc == 0)
            rc = kl_err_set(err, KL_ENOTFOUND, "no run '%s'", id);
        if (oom)
            rc = kl_err_set(err, KL_ENOMEM, "out of memory reading a run");
        vt->finalize(st);
    }
    if (rc >= 0)
        rc = detail_query(s, a, "SELECT key, value FROM params WHERE run = ? ORDER BY key", id, 0,
                          (void **)&out->params, &out->n_params, err);
    if (rc >= 0)
        rc = detail_query(s, a,
                          "SELECT key, value, step, timestamp_ms FROM metrics WHERE run = ? "
                          "ORDER BY key",
                          id, 1, (void **)&out->metrics, &out->n_metrics, err);
    if (rc >= 0)
        rc = detail_query(s, a,
                          "SELECT key, value FROM tags WHERE target_kind = 'run' AND "
                          "target_id = ? ORDER BY key",
                          id, 0, (void **)&out->tags, &out->n_tags, err);
    if (rc >= 0)
        rc = detail_query(s, a,
                          "SELECT name, object, kind FROM artifacts WHERE run = ? ORDER BY name",
                          id, 2, (void **)&out->artifacts, &out->n_artifacts, err);
    if (rc < 0) {
        kl_arena_free(a);
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->mem_ = a;
    return 0;
}

void kl_run_detail_release(kl_run_detail *d)
{
    if (!d)
        return;
    kl_arena_free(d->mem_);
    memset(d, 0, sizeof *d);
}

int kl_store_metric_history(kl_store *s, const char *id, const char *key, kl_metric_series *out,
                            kl_err *err)
{
    memset(out, 0, sizeof *out);
    const kl__db_vt *vt = s->db->vt;
    kl__stmt *st;
    int rc = vt->prepare(s->db,
                         "SELECT n, data FROM metric_series WHERE run = ? AND key = ? "
                         "ORDER BY seq",
                         0, &st, err);
    if (rc < 0)
        return rc;
    vt->bind_text(st, 1, id);
    vt->bind_text(st, 2, key);
    size_t cap = 0;
    while ((rc = vt->step(st, err)) == 1) {
        size_t bytes;
        const uint8_t *data = vt->col_blob(st, 1, &bytes);
        int64_t n = vt->col_i64(st, 0);
        if (n < 0 || (size_t)n > bytes / 10 || (bytes > 0 && !data)) {
            rc = kl_err_set(err, KL_ECORRUPT, "metric '%s' of run '%.12s' has a damaged chunk", key,
                            id);
            break;
        }
        if (out->count + (size_t)n > cap) {
            size_t ncap = cap ? cap : 256;
            while (ncap < out->count + (size_t)n)
                ncap *= 2;
            int64_t *steps = realloc(out->steps, ncap * sizeof *steps);
            if (steps)
                out->steps = steps;
            double *values = realloc(out->values, ncap * sizeof *values);
            if (values)
                out->values = values;
            int64_t *ts = realloc(out->timestamps_ms, ncap * sizeof *ts);
            if (ts)
                out->timestamps_ms = ts;
            if (!steps || !values || !ts) {
                rc = kl_err_set(err, KL_ENOMEM, "out of memory reading metric '%s'", key);
                break;
            }
            cap = ncap;
        }
        const uint8_t *p = data, *end = data + bytes;
        int64_t step = 0, ts = 0;
        for (int64_t i = 0; i < n; i++) {
            int64_t d1, d2;
            size_t k1 = get_varint(p, end, &d1);
            if (k1 == 0 || end - (p + k1) < 8) {
                rc = KL_ECORRUPT;
                break;
            }
            uint64_t bits = get_le64(p + k1);
            size_t k2 = get_varint(p + k1 + 8, end, &d2);
            if (k2 == 0) {
                rc = KL_ECORRUPT;
                break;
            }
            p += k1 + 8 + k2;
            step = (int64_t)((uint64_t)step + (uint64_t)d1);
            ts = (int64_t)((uint64_t)ts + (uint64_t)d2);
            double v;
            memcpy(&v, &bits, sizeof v);
            out->steps[out->count] = step;
            out->values[out->count] = v;
            out->timestamps_ms[out->count] = ts;
            out->count++;
        }
        if (rc == 0 && p != end)
            rc = KL_ECORRUPT;
        if (rc < 0) {
            kl_err_set(err, KL_ECORRUPT, "metric '%s' of run '%.12s' has a damaged chunk", key, id);
            break;
        }
    }
    vt->finalize(st);
    if (rc == 0 && out->count == 0)
        rc = kl_err_set(err, KL_ENOTFOUND, "run '%.12s' has no values of metric '%s'", id, key);
    if (rc < 0) {
        kl_metric_series_release(out);
        return rc;
    }
    return 0;
}

void kl_metric_series_release(kl_metric_series *m)
{
    if (!m)
        return;
    free(m->steps);
    free(m->values);
    free(m->timestamps_ms);
    memset(m, 0, sizeof *m);
}
