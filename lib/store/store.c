/*
 * Opening and closing a project's store: the .keel/ directories, the choice
 * of metadata backend, and the statements cached for the tracking hot path.
 *
 * The backend is chosen once at open (explicit URL, else KEEL_STORE, else
 * SQLite in .keel/keel.db) and hidden behind the kl__db vtable; nothing above
 * this file knows which engine it talks to.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "keel/err.h"
#include "keel/store.h"
#include "store/store_internal.h"
#include "core/common.h"

int64_t kl__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *path_join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *p = malloc(na + nb + 2);
    if (!p)
        return NULL;
    memcpy(p, a, na);
    p[na] = '/';
    memcpy(p + na + 1, b, nb + 1);
    return p;
}

static int ensure_dir(const char *path, kl_err *err)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        kl_err_set(err, KL_EIO, "'%s' exists and is not a directory", path);
        return kl_err_ctx(err, "%s", path);
    }
    kl_err_set(err, KL_EIO, "cannot create directory: %s", strerror(errno));
    return kl_err_ctx(err, "%s", path);
}

static int is_pg_url(const char *url)
{
    return strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0;
}

int kl_store_open(const char *project_dir, const kl_store_opts *opts, kl_store **out, kl_err *err)
{
    *out = NULL;
    struct stat st;
    if (stat(project_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        kl_err_set(err, KL_ENOTFOUND, "no project directory '%s'", project_dir);
        return kl_err_ctx(err, "%s", project_dir);
    }
    kl_store *s = calloc(1, sizeof *s);
    if (!s)
        return kl_err_set(err, KL_ENOMEM, "out of memory opening the store");
    int rc = 0;
    char *tmp = NULL, *dbpath = NULL;
    s->root = path_join(project_dir, ".keel");
    s->objects = s->root ? path_join(s->root, "objects") : NULL;
    tmp = s->objects ? path_join(s->objects, "tmp") : NULL;
    if (!tmp) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory opening the store");
        goto done;
    }
    if ((rc = ensure_dir(s->root, err)) < 0 || (rc = ensure_dir(s->objects, err)) < 0 ||
        (rc = ensure_dir(tmp, err)) < 0)
        goto done;

    const char *url = opts && opts->url && opts->url[0] ? opts->url : getenv("KEEL_STORE");
    if (url && url[0] && is_pg_url(url)) {
        rc = kl__pg_open(url, &s->db, err);
    } else if (url && url[0] && strncmp(url, "sqlite:", 7) == 0 && url[7]) {
        rc = kl__sqlite_open(url + 7, &s->db, err);
    } else if (url && url[0]) {
        rc = kl_err_set(err, KL_EUNSUPPORTED,
                        "unsupported store URL; use postgresql://... or sqlite:PATH");
        kl_err_ctx(err, "KEEL_STORE");
    } else {
        if (!(dbpath = path_join(s->root, "keel.db")))
            rc = kl_err_set(err, KL_ENOMEM, "out of memory opening the store");
        else
            rc = kl__sqlite_open(dbpath, &s->db, err);
    }
    if (rc < 0)
        goto done;
    rc = kl__meta_migrate(s, err);
done:
    free(tmp);
    free(dbpath);
    if (rc < 0) {
        kl_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void kl_store_close(kl_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < KL__ST_COUNT; i++)
        if (s->cached[i])
            s->db->vt->finalize(s->cached[i]);
    if (s->db)
        s->db->vt->close(s->db);
    free(s->root);
    free(s->objects);
    free(s);
}

const char *kl_store_backend(const kl_store *s)
{
    return s->db->vt->name;
}

/* The statements re-run on every logged value, parameter, tag and edge. */
static const char *const cached_sql[KL__ST_COUNT] = {
    [KL__ST_METRIC_SERIES] =
        "INSERT INTO metric_series (run, key, seq, n, data) VALUES (?, ?, ?, ?, ?)",
    [KL__ST_METRIC_LATEST] =
        "INSERT INTO metrics (run, key, value, step, timestamp_ms) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (run, key) DO UPDATE SET value = excluded.value, step = excluded.step, "
        "timestamp_ms = excluded.timestamp_ms",
    [KL__ST_PARAM] = "INSERT INTO params (run, key, value) VALUES (?, ?, ?) "
                     "ON CONFLICT (run, key) DO UPDATE SET value = excluded.value",
    [KL__ST_TAG] = "INSERT INTO tags (target_kind, target_id, key, value) VALUES (?, ?, ?, ?) "
                   "ON CONFLICT (target_kind, target_id, key) DO UPDATE SET value = "
                   "excluded.value",
    [KL__ST_LINK] = "INSERT INTO lineage (from_kind, from_id, to_kind, to_id, relation, "
                    "created_ms) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (from_kind, from_id, to_kind, to_id, relation) DO NOTHING",
};

int kl__stmt_cached(kl_store *s, enum kl__cached slot, kl__stmt **out, kl_err *err)
{
    if (!s->cached[slot]) {
        int rc = s->db->vt->prepare(s->db, cached_sql[slot], 1, &s->cached[slot], err);
        if (rc < 0)
            return rc;
    }
    *out = s->cached[slot];
    return 0;
}
