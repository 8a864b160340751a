/*
 * SQLite metadata backend: the default, a file at .keel/keel.db.
 *
 * The connection runs in WAL mode (readers never block the writer), with a
 * busy timeout so concurrent processes wait for the write lock instead of
 * failing, and with foreign keys enforced. Write transactions start with
 * BEGIN IMMEDIATE: a deferred transaction that reads first and then writes can
 * fail with SQLITE_BUSY without waiting (SQLite's deadlock avoidance), which
 * would lose data under concurrent writers.
 *
 * The vtable maps almost one to one onto the SQLite API; statements are
 * sqlite3_stmt objects and '?' placeholders are SQLite's own.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "keel/err.h"
#include "store/store_internal.h"
#include "core/common.h"

#define BUSY_TIMEOUT_MS 10000

typedef struct sq_db {
    kl__db base;
    sqlite3 *h;
} sq_db;

typedef struct sq_stmt {
    sq_db *db;
    sqlite3_stmt *st;
} sq_stmt;

static int sq_fail(sq_db *db, kl_err *err, const char *what)
{
    int code = sqlite3_extended_errcode(db->h);
    int kl = (code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB ? KL_ECORRUPT
             : (code & 0xff) == SQLITE_NOMEM                                   ? KL_ENOMEM
             : (code & 0xff) == SQLITE_CONSTRAINT                              ? KL_EINVAL
                                                                               : KL_EIO;
    kl_err_set(err, kl, "%s: %s", what, sqlite3_errmsg(db->h));
    return kl_err_ctx(err, "%s", sqlite3_db_filename(db->h, "main"));
}

static void sq_close(kl__db *d)
{
    sq_db *db = (sq_db *)d;
    sqlite3_close_v2(db->h);
    free(db);
}

static int sq_prepare(kl__db *d, const char *sql, int persistent, kl__stmt **out, kl_err *err)
{
    sq_db *db = (sq_db *)d;
    *out = NULL;
    sq_stmt *s = calloc(1, sizeof *s);
    if (!s)
        return kl_err_set(err, KL_ENOMEM, "out of memory preparing a statement");
    s->db = db;
    unsigned flags = persistent ? SQLITE_PREPARE_PERSISTENT : 0;
    if (sqlite3_prepare_v3(db->h, sql, -1, flags, &s->st, NULL) != SQLITE_OK) {
        free(s);
        return sq_fail(db, err, "cannot prepare a statement");
    }
    *out = (kl__stmt *)s;
    return 0;
}

static void sq_bind_text(kl__stmt *st, int i, const char *v)
{
    sq_stmt *s = (sq_stmt *)st;
    if (v)
        sqlite3_bind_text(s->st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s->st, i);
}

static void sq_bind_i64(kl__stmt *st, int i, int64_t v)
{
    sqlite3_bind_int64(((sq_stmt *)st)->st, i, v);
}

static void sq_bind_f64(kl__stmt *st, int i, double v)
{
    sqlite3_bind_double(((sq_stmt *)st)->st, i, v);
}

static void sq_bind_blob(kl__stmt *st, int i, const void *p, size_t n)
{
    /* Static: the caller keeps the bytes alive until the statement has run. */
    sqlite3_bind_blob64(((sq_stmt *)st)->st, i, n ? p : "", n, SQLITE_STATIC);
}

static void sq_bind_null(kl__stmt *st, int i)
{
    sqlite3_bind_null(((sq_stmt *)st)->st, i);
}

static int sq_step(kl__stmt *st, kl_err *err)
{
    sq_stmt *s = (sq_stmt *)st;
    int rc = sqlite3_step(s->st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return sq_fail(s->db, err, "database statement failed");
}

static int sq_col_null(kl__stmt *st, int i)
{
    return sqlite3_column_type(((sq_stmt *)st)->st, i) == SQLITE_NULL;
}

static const char *sq_col_text(kl__stmt *st, int i)
{
    return (const char *)sqlite3_column_text(((sq_stmt *)st)->st, i);
}

static int64_t sq_col_i64(kl__stmt *st, int i)
{
    return sqlite3_column_int64(((sq_stmt *)st)->st, i);
}

static double sq_col_f64(kl__stmt *st, int i)
{
    return sqlite3_column_double(((sq_stmt *)st)->st, i);
}

static const void *sq_col_blob(kl__stmt *st, int i, size_t *n)
{
    sq_stmt *s = (sq_stmt *)st;
    const void *p = sqlite3_column_blob(s->st, i);
    *n = (size_t)sqlite3_column_bytes(s->st, i);
    return p;
}

static void sq_reset(kl__stmt *st)
{
    sq_stmt *s = (sq_stmt *)st;
    sqlite3_reset(s->st);
    sqlite3_clear_bindings(s->st);
}

static void sq_finalize(kl__stmt *st)
{
    if (!st)
        return;
    sq_stmt *s = (sq_stmt *)st;
    sqlite3_finalize(s->st);
    free(s);
}

static int sq_exec(kl__db *d, const char *sql, kl_err *err)
{
    sq_db *db = (sq_db *)d;
    if (sqlite3_exec(db->h, sql, NULL, NULL, NULL) != SQLITE_OK)
        return sq_fail(db, err, "database statement failed");
    return 0;
}

static int sq_begin(kl__db *d, enum kl__tx mode, kl_err *err)
{
    (void)mode; /* every transaction here writes; IMMEDIATE also serialises migrators */
    return sq_exec(d, "BEGIN IMMEDIATE", err);
}

static int sq_commit(kl__db *d, kl_err *err)
{
    return sq_exec(d, "COMMIT", err);
}

static void sq_rollback(kl__db *d)
{
    sq_db *db = (sq_db *)d;
    if (!sqlite3_get_autocommit(db->h))
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

static const kl__db_vt sq_vt = {
    .name = "sqlite",
    .blob_type = "BLOB",
    .close = sq_close,
    .prepare = sq_prepare,
    .bind_text = sq_bind_text,
    .bind_i64 = sq_bind_i64,
    .bind_f64 = sq_bind_f64,
    .bind_blob = sq_bind_blob,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .col_null = sq_col_null,
    .col_text = sq_col_text,
    .col_i64 = sq_col_i64,
    .col_f64 = sq_col_f64,
    .col_blob = sq_col_blob,
    .reset = sq_reset,
    .finalize = sq_finalize,
    .exec = sq_exec,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
};

int kl__sqlite_open(const char *path, kl__db **out, kl_err *err)
{
    *out = NULL;
    sq_db *db = calloc(1, sizeof *db);
    if (!db)
        return kl_err_set(err, KL_ENOMEM, "out of memory opening the database");
    db->base.vt = &sq_vt;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
        if (!db->h) {
            free(db);
            return kl_err_set(err, KL_ENOMEM, "out of memory opening the database");
        }
        kl_err_set(err, KL_EIO, "cannot open the database: %s", sqlite3_errmsg(db->h));
        kl_err_ctx(err, "%s", path);
        sq_close(&db->base);
        return KL_EIO;
    }
    sqlite3_busy_timeout(db->h, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(db->h, 1);
    /* journal_mode returns a row; sqlite3_exec discards it. */
    int rc = sq_exec(&db->base, "PRAGMA journal_mode=WAL", err);
    if (rc == 0)
        rc = sq_exec(&db->base, "PRAGMA foreign_keys=ON", err);
    if (rc == 0)
        rc = sq_exec(&db->base, "PRAGMA synchronous=NORMAL", err);
    /*
     * Listing 10,000 runs reads the whole runs table: map the file instead of
     * a pread per page, keep up to 64 MiB of pages cached, and sort in memory
     * rather than in a temporary file.
     */
    if (rc == 0)
        rc = sq_exec(&db->base, "PRAGMA temp_store=MEMORY", err);
    if (rc == 0)
        rc = sq_exec(&db->base, "PRAGMA cache_size=-65536", err);
    if (rc == 0)
        rc = sq_exec(&db->base, "PRAGMA mmap_size=1073741824", err);
    if (rc < 0) {
        sq_close(&db->base);
        return rc;
    }
    *out = &db->base;
    return 0;
}
