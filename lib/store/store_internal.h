/*
 * Inside the store: the kl_store handle and the metadata backend interface.
 *
 * A backend is a small statement-level vtable (prepare, bind, step, column
 * getters, transactions). The SQL above it is written once, with '?'
 * placeholders and types both engines accept; the PostgreSQL backend renumbers
 * the placeholders to $1, $2, ... So the two backends cannot drift apart in
 * what they store: only the connection, the binding and the transaction
 * statements differ.
 */
#ifndef KEEL_STORE_INTERNAL_H
#define KEEL_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "keel/arena.h"
#include "keel/err.h"
#include "keel/store.h"
#include "keel/track.h"

typedef struct kl__db kl__db;
typedef struct kl__stmt kl__stmt;

enum kl__tx {
    KL__TX_WRITE = 1,   /* a transaction that will write: take the write lock up front */
    KL__TX_MIGRATE = 2, /* schema migration: serialise with every other migrator */
};

typedef struct kl__db_vt {
    const char *name;      /* "sqlite" or "postgresql" */
    const char *blob_type; /* "BLOB" or "BYTEA" */
    void (*close)(kl__db *db);
    /* persistent: the statement is kept and re-run many times. */
    int (*prepare)(kl__db *db, const char *sql, int persistent, kl__stmt **out, kl_err *err);
    /* Parameters are numbered from 1, in the order of the '?' in the SQL. */
    void (*bind_text)(kl__stmt *st, int i, const char *v); /* v NULL binds NULL */
    void (*bind_i64)(kl__stmt *st, int i, int64_t v);
    void (*bind_f64)(kl__stmt *st, int i, double v);
    void (*bind_blob)(kl__stmt *st, int i, const void *p, size_t n);
    void (*bind_null)(kl__stmt *st, int i);
    /* 1: a row is ready; 0: done; < 0: error (err filled). */
    int (*step)(kl__stmt *st, kl_err *err);
    /* Columns are numbered from 0 and valid until the next step or reset. */
    int (*col_null)(kl__stmt *st, int i);
    const char *(*col_text)(kl__stmt *st, int i); /* NULL for NULL */
    int64_t (*col_i64)(kl__stmt *st, int i);
    double (*col_f64)(kl__stmt *st, int i);
    const void *(*col_blob)(kl__stmt *st, int i, size_t *n);
    /* Ready to run again: clears the bindings and results. */
    void (*reset)(kl__stmt *st);
    void (*finalize)(kl__stmt *st); /* NULL does nothing */
    /* A statement without parameters or results (DDL, pragmas). */
    int (*exec)(kl__db *db, const char *sql, kl_err *err);
    int (*begin)(kl__db *db, enum kl__tx mode, kl_err *err);
    int (*commit)(kl__db *db, kl_err *err);
    void (*rollback)(kl__db *db);
} kl__db_vt;

struct kl__db {
    const kl__db_vt *vt;
};

int kl__sqlite_open(const char *path, kl__db **out, kl_err *err);
int kl__pg_open(const char *url, kl__db **out, kl_err *err);

/* Statements the tracking hot path re-runs; prepared on first use, freed at close. */
enum kl__cached {
    KL__ST_METRIC_SERIES,
    KL__ST_METRIC_LATEST,
    KL__ST_PARAM,
    KL__ST_TAG,
    KL__ST_LINK,
    KL__ST_COUNT
};

struct kl_store {
    char *root;    /* <project>/.keel */
    char *objects; /* <project>/.keel/objects */
    kl__db *db;
    kl__stmt *cached[KL__ST_COUNT];
    int open_runs;
    int git_known; /* git_commit and git_dirty hold the project's git state */
    char git_commit[KL_GIT_COMMIT_LEN];
    int git_dirty;
};

/* The cached statement for slot, prepared on first use. */
int kl__stmt_cached(kl_store *s, enum kl__cached slot, kl__stmt **out, kl_err *err);

/* Apply pending migrations (meta.c). */
int kl__meta_migrate(kl_store *s, kl_err *err);

/* Arena copy of column i of st's row (NULL stays NULL); sets *oom on failure (meta.c). */
const char *kl__col_dup(kl_arena *a, const kl__db_vt *vt, kl__stmt *st, int i, int *oom);

/* Room for one more item of size sz in an arena array of count items (doubling *cap). */
void *kl__arena_grow(kl_arena *a, void *items, size_t count, size_t *cap, size_t sz);

/* Milliseconds since the Unix epoch. */
int64_t kl__now_ms(void);

/*
 * A frame as a "keel-table-v1" object (table.c; docs/STORE.md has the
 * format), and that object read back into a frame, verified: every value
 * comes back bit for bit, with the inference version it was written with.
 */
struct kl_frame;
int kl__table_put(kl_store *s, const struct kl_frame *f, char id[KL_ID_LEN], kl_err *err);
int kl__table_get(kl_store *s, const char *object, struct kl_frame **out, kl_err *err);

/*
 * Decimal numbers (table.c): 1 when every non-NaN value of v[0..n) is
 * exactly k / 10^scale (IEEE division) for an integer |k| < 2^51 and a scale
 * of at most KL__MAX_SCALE, with *scale the smallest such scale and
 * [*klo, *khi] the range of k; else 0. No values at all is scale 0, range 0.
 */
#define KL__MAX_SCALE 17
extern const double kl__pow10[KL__MAX_SCALE + 1];
int kl__decimal_scale(const double *v, size_t n, unsigned *scale, int64_t *klo, int64_t *khi);

/* x rounded to the nearest integer, ties to even, for |x| < 2^51 (no libm call). */
static inline double kl__round_int(double x)
{
    const double magic = 6755399441055744.0; /* 1.5 * 2^52 */
    return (x + magic) - magic;              /* IEEE arithmetic keeps both steps */
}

/* 1 when s is exactly 64 lowercase hex digits. */
int kl__is_full_id(const char *s);

/*
 * A growing SQL text with its bound values in placeholder order (filter.c
 * builds run queries in one). Values are only ever bound, never spliced.
 */
enum kl__arg_kind { KL__ARG_TEXT, KL__ARG_F64, KL__ARG_I64 };
typedef struct kl__sqlarg {
    enum kl__arg_kind kind;
    char *text; /* owned */
    double f64;
    int64_t i64;
} kl__sqlarg;

typedef struct kl__sqlbuf {
    char *sql;
    size_t len, cap;
    kl__sqlarg *args;
    size_t n_args, cap_args;
    int oom;
} kl__sqlbuf;

/*
 * The SELECT over runs r for q (columns in the order of kl_run_info), with its
 * arguments. KL_EPARSE for a bad filter or sort; KL_ENOMEM.
 */
int kl__runs_sql(const kl_run_query *q, kl__sqlbuf *b, kl_err *err);
void kl__sqlbuf_release(kl__sqlbuf *b);
/* Bind b's arguments to st, from parameter 1. */
void kl__sqlbuf_bind(const kl__sqlbuf *b, const kl__db_vt *vt, kl__stmt *st);

#endif
