/*
 * PostgreSQL metadata backend (libpq), chosen by a postgresql:// URL.
 *
 * Every statement that carries a value is parameterised: persistent
 * statements go through PQprepare/PQexecPrepared, one-off ones through
 * PQexecParams; values never become SQL text. The '?' placeholders of the
 * shared SQL are renumbered to $1, $2, ... at prepare time (outside quoted
 * literals). Parameters travel as text except blobs, which go binary (no
 * escaping); results come back as text and are converted on access, bytea in
 * PostgreSQL's hex form.
 *
 * Migrations take a transaction-scoped advisory lock, so two processes opening
 * a fresh database one after the other apply them once. Notices (such as
 * "relation already exists, skipping") are swallowed: the library never prints.
 *
 * libpq is loaded with dlopen when a PostgreSQL store is first opened, not
 * linked: it brings some twenty libraries (Kerberos, LDAP, GnuTLS, ...)
 * whose loading cost every keel command ~15 ms of start-up, although most
 * never touch PostgreSQL. libpq-fe.h still gives the types and prototypes;
 * the table below holds one pointer per function used, typed from them.
 */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "keel/err.h"
#include "store/store_internal.h"
#include "core/common.h"

/* clang-format off */
#define PQ_FUNCS(X)                                                                                \
    X(PQclear) X(PQconnectdb) X(PQerrorMessage) X(PQexecParams) X(PQexecPrepared)                  \
    X(PQfinish) X(PQgetisnull) X(PQgetlength) X(PQgetvalue) X(PQntuples) X(PQprepare)              \
    X(PQresultErrorField) X(PQresultErrorMessage) X(PQresultStatus)                                \
    X(PQsetNoticeProcessor) X(PQstatus) X(PQtransactionStatus)
/* clang-format on */
#define PQ_PTR(f) __typeof__(f) *f;
static struct {
    PQ_FUNCS(PQ_PTR)
} pq;
static pthread_once_t pq_once = PTHREAD_ONCE_INIT;
static char pq_error[256] = "not loaded"; /* why libpq could not be loaded; "" once it is */

static void pq_load(void)
{
    void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(pq_error, sizeof pq_error, "%s", why ? why : "unknown error");
        return;
    }
#define PQ_SYM(f)                                                                                  \
    if (!(*(void **)&pq.f = dlsym(h, #f))) {                                                       \
        snprintf(pq_error, sizeof pq_error, "libpq.so.5 has no symbol %s", #f);                    \
        return;                                                                                    \
    }
    PQ_FUNCS(PQ_SYM)
#undef PQ_SYM
    pq_error[0] = '\0';
}

#define PG_MAX_PARAMS 64
#define MIGRATE_LOCK_KEY "7358201"

typedef struct pg_db {
    kl__db base;
    PGconn *c;
    unsigned next_name;
} pg_db;

typedef struct pg_stmt {
    pg_db *db;
    char *sql;
    char name[24]; /* "" for one-off statements */
    int prepared;
    int nparams;
    const char *values[PG_MAX_PARAMS];
    int lengths[PG_MAX_PARAMS];
    int formats[PG_MAX_PARAMS];
    char *bufs[PG_MAX_PARAMS]; /* owned copies of the bound values */
    size_t caps[PG_MAX_PARAMS];
    PGresult *res;
    int row, nrows;
    uint8_t *blob; /* decoded bytea of the last col_blob */
    size_t blob_cap;
    int oom; /* a bind could not copy its value; the next step fails */
} pg_stmt;

static int pg_fail(pg_db *db, const PGresult *res, kl_err *err, const char *what)
{
    const char *msg = res ? pq.PQresultErrorMessage(res) : pq.PQerrorMessage(db->c);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    const char *state = res ? pq.PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int code = KL_EIO;
    if (state && strncmp(state, "23", 2) == 0)
        code = KL_EINVAL; /* integrity constraint violation */
    kl_err_set(err, code, "%s: %.*s", what, (int)n, msg);
    return kl_err_ctx(err, "postgresql");
}

static void pg_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void pg_close(kl__db *d)
{
    pg_db *db = (pg_db *)d;
    pq.PQfinish(db->c);
    free(db);
}

/* Copy sql with each '?' outside quotes replaced by $1, $2, ...; counts them. */
static char *renumber(const char *sql, int *count)
{
    size_t n = strlen(sql);
    char *out = malloc(n * 4 + 1);
    if (!out)
        return NULL;
    char *o = out;
    int k = 0, quote = 0;
    for (const char *p = sql; *p; p++) {
        if (*p == '\'')
            quote = !quote;
        if (*p == '?' && !quote) {
            o += snprintf(o, 5, "$%d", ++k);
            continue;
        }
        *o++ = *p;
    }
    *o = '\0';
    *count = k;
    return out;
}

static int pg_prepare(kl__db *d, const char *sql, int persistent, kl__stmt **out, kl_err *err)
{
    pg_db *db = (pg_db *)d;
    *out = NULL;
    pg_stmt *s = calloc(1, sizeof *s);
    if (!s)
        return kl_err_set(err, KL_ENOMEM, "out of memory preparing a statement");
    s->db = db;
    s->sql = renumber(sql, &s->nparams);
    if (!s->sql) {
        free(s);
        return kl_err_set(err, KL_ENOMEM, "out of memory preparing a statement");
    }
    if (s->nparams > PG_MAX_PARAMS) {
        free(s->sql);
        free(s);
        return kl_err_set(err, KL_ERANGE, "statement has over %d parameters", PG_MAX_PARAMS);
    }
    if (persistent)
        snprintf(s->name, sizeof s->name, "kl%u", ++db->next_name);
    *out = (kl__stmt *)s;
    return 0;
}

/* Room for n bytes in parameter i's buffer. */
static char *param_buf(pg_stmt *s, int i, size_t n)
{
    if (i < 1 || i > s->nparams)
        return NULL;
    int k = i - 1;
    if (s->caps[k] < n) {
        size_t cap = n < 32 ? 32 : n;
        char *p = realloc(s->bufs[k], cap);
        if (!p) {
            s->oom = 1;
            return NULL;
        }
        s->bufs[k] = p;
        s->caps[k] = cap;
    }
    return s->bufs[k];
}

static void set_param(pg_stmt *s, int i, const char *v, size_t n, int binary)
{
    if (i < 1 || i > s->nparams)
        return;
    s->lengths[i - 1] = (int)n;
    s->formats[i - 1] = binary;
    s->values[i - 1] = v;
}

static void pg_bind_text(kl__stmt *st, int i, const char *v)
{
    pg_stmt *s = (pg_stmt *)st;
    if (!v) {
        set_param(s, i, NULL, 0, 0);
        return;
    }
    size_t n = strlen(v);
    char *b = param_buf(s, i, n + 1);
    if (b) {
        memcpy(b, v, n + 1);
        set_param(s, i, b, n, 0);
    }
}

static void pg_bind_i64(kl__stmt *st, int i, int64_t v)
{
    pg_stmt *s = (pg_stmt *)st;
    char *b = param_buf(s, i, 24);
    if (b)
        set_param(s, i, b, (size_t)snprintf(b, 24, "%" PRId64, v), 0);
}

static void pg_bind_f64(kl__stmt *st, int i, double v)
{
    pg_stmt *s = (pg_stmt *)st;
    char *b = param_buf(s, i, 32);
    if (!b)
        return;
    /* %.17g round-trips every double; PostgreSQL spells the specials its own way. */
    int n = v != v                        ? snprintf(b, 32, "NaN")
            : v > 1.7976931348623157e308  ? snprintf(b, 32, "Infinity")
            : v < -1.7976931348623157e308 ? snprintf(b, 32, "-Infinity")
                                          : snprintf(b, 32, "%.17g", v);
    set_param(s, i, b, (size_t)n, 0);
}

static void pg_bind_blob(kl__stmt *st, int i, const void *p, size_t n)
{
    pg_stmt *s = (pg_stmt *)st;
    /* Binary format: libpq sends the bytes as they are. Borrowed until the step. */
    set_param(s, i, n ? p : "", n, 1);
}

static void pg_bind_null(kl__stmt *st, int i)
{
    set_param((pg_stmt *)st, i, NULL, 0, 0);
}

static int pg_step(kl__stmt *st, kl_err *err)
{
    pg_stmt *s = (pg_stmt *)st;
    if (s->oom)
        return kl_err_set(err, KL_ENOMEM, "out of memory binding a statement parameter");
    if (!s->res) {
        pg_db *db = s->db;
        if (s->name[0] && !s->prepared) {
            PGresult *p = pq.PQprepare(db->c, s->name, s->sql, s->nparams, NULL);
            if (pq.PQresultStatus(p) != PGRES_COMMAND_OK) {
                int rc = pg_fail(db, p, err, "cannot prepare a statement");
                pq.PQclear(p);
                return rc;
            }
            pq.PQclear(p);
            s->prepared = 1;
        }
        PGresult *r = s->name[0] ? pq.PQexecPrepared(db->c, s->name, s->nparams, s->values,
                                                     s->lengths, s->formats, 0)
                                 : pq.PQexecParams(db->c, s->sql, s->nparams, NULL, s->values,
                                                   s->lengths, s->formats, 0);
        ExecStatusType t = pq.PQresultStatus(r);
        if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
            int rc = pg_fail(db, r, err, "database statement failed");
            pq.PQclear(r);
            return rc;
        }
        s->res = r;
        s->nrows = t == PGRES_TUPLES_OK ? pq.PQntuples(r) : 0;
        s->row = -1;
    }
    if (s->row + 1 >= s->nrows) {
        s->row = s->nrows;
        return 0;
    }
    s->row++;
    return 1;
}

static int pg_col_null(kl__stmt *st, int i)
{
    pg_stmt *s = (pg_stmt *)st;
    return pq.PQgetisnull(s->res, s->row, i);
}

static const char *pg_col_text(kl__stmt *st, int i)
{
    pg_stmt *s = (pg_stmt *)st;
    if (pq.PQgetisnull(s->res, s->row, i))
        return NULL;
    return pq.PQgetvalue(s->res, s->row, i);
}

static int64_t pg_col_i64(kl__stmt *st, int i)
{
    const char *v = pg_col_text(st, i);
    if (!v)
        return 0;
    /* Booleans come back as "t"/"f". */
    if (v[0] == 't')
        return 1;
    if (v[0] == 'f')
        return 0;
    return (int64_t)strtoll(v, NULL, 10);
}

static double pg_col_f64(kl__stmt *st, int i)
{
    const char *v = pg_col_text(st, i);
    return v ? strtod(v, NULL) : 0.0;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

static const void *pg_col_blob(kl__stmt *st, int i, size_t *n)
{
    pg_stmt *s = (pg_stmt *)st;
    *n = 0;
    const char *v = pg_col_text(st, i);
    if (!v || v[0] != '\\' || v[1] != 'x')
        return NULL;
    size_t len = (size_t)pq.PQgetlength(s->res, s->row, i);
    size_t bytes = (len - 2) / 2;
    if (s->blob_cap < bytes + 1) {
        uint8_t *p = realloc(s->blob, bytes + 1);
        if (!p)
            return NULL;
        s->blob = p;
        s->blob_cap = bytes + 1;
    }
    for (size_t k = 0; k < bytes; k++) {
        int hi = hexval(v[2 + 2 * k]), lo = hexval(v[3 + 2 * k]);
        if (hi < 0 || lo < 0)
            return NULL;
        s->blob[k] = (uint8_t)(hi << 4 | lo);
    }
    *n = bytes;
    return s->blob;
}

static void pg_reset(kl__stmt *st)
{
    pg_stmt *s = (pg_stmt *)st;
    pq.PQclear(s->res);
    s->res = NULL;
    s->oom = 0;
    for (int k = 0; k < s->nparams; k++) {
        s->values[k] = NULL;
        s->lengths[k] = 0;
        s->formats[k] = 0;
    }
}

static void pg_finalize(kl__stmt *st)
{
    if (!st)
        return;
    pg_stmt *s = (pg_stmt *)st;
    pg_reset(st);
    if (s->prepared && pq.PQstatus(s->db->c) == CONNECTION_OK) {
        /* The name is ours ("kl<n>"), never a value. */
        char sql[48];
        snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
        pq.PQclear(pq.PQexecParams(s->db->c, sql, 0, NULL, NULL, NULL, NULL, 0));
    }
    for (int k = 0; k < PG_MAX_PARAMS; k++)
        free(s->bufs[k]);
    free(s->blob);
    free(s->sql);
    free(s);
}

static int pg_exec(kl__db *d, const char *sql, kl_err *err)
{
    pg_db *db = (pg_db *)d;
    PGresult *r = pq.PQexecParams(db->c, sql, 0, NULL, NULL, NULL, NULL, 0);
    ExecStatusType t = pq.PQresultStatus(r);
    int rc = 0;
    if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK)
        rc = pg_fail(db, r, err, "database statement failed");
    pq.PQclear(r);
    return rc;
}

static int pg_begin(kl__db *d, enum kl__tx mode, kl_err *err)
{
    int rc = pg_exec(d, "BEGIN", err);
    if (rc == 0 && mode == KL__TX_MIGRATE) {
        rc = pg_exec(d, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", err);
        if (rc < 0)
            pg_exec(d, "ROLLBACK", NULL);
    }
    return rc;
}

static int pg_commit(kl__db *d, kl_err *err)
{
    return pg_exec(d, "COMMIT", err);
}

static void pg_rollback(kl__db *d)
{
    pg_db *db = (pg_db *)d;
    if (pq.PQtransactionStatus(db->c) != PQTRANS_IDLE)
        pg_exec(d, "ROLLBACK", NULL);
}

static const kl__db_vt pg_vt = {
    .name = "postgresql",
    .blob_type = "BYTEA",
    .close = pg_close,
    .prepare = pg_prepare,
    .bind_text = pg_bind_text,
    .bind_i64 = pg_bind_i64,
    .bind_f64 = pg_bind_f64,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .col_null = pg_col_null,
    .col_text = pg_col_text,
    .col_i64 = pg_col_i64,
    .col_f64 = pg_col_f64,
    .col_blob = pg_col_blob,
    .reset = pg_reset,
    .finalize = pg_finalize,
    .exec = pg_exec,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
};

int kl__pg_open(const char *url, kl__db **out, kl_err *err)
{
    *out = NULL;
    pthread_once(&pq_once, pq_load);
    if (pq_error[0])
        return kl_err_set(err, KL_EIO, "PostgreSQL stores need libpq (Debian package libpq5): %s",
                          pq_error);
    pg_db *db = calloc(1, sizeof *db);
    if (!db)
        return kl_err_set(err, KL_ENOMEM, "out of memory opening the database");
    db->base.vt = &pg_vt;
    db->c = pq.PQconnectdb(url);
    if (!db->c) {
        free(db);
        return kl_err_set(err, KL_ENOMEM, "out of memory opening the database");
    }
    if (pq.PQstatus(db->c) != CONNECTION_OK) {
        pg_fail(db, NULL, err, "cannot connect to the database");
        pg_close(&db->base);
        return KL_EIO;
    }
    pq.PQsetNoticeProcessor(db->c, pg_notice, NULL);
    int rc = pg_exec(&db->base, "SET client_min_messages = warning", err);
    if (rc < 0) {
        pg_close(&db->base);
        return rc;
    }
    *out = &db->base;
    return 0;
}
