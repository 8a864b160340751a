/*
 * The metadata store and the tracking API. Every test here runs twice: on
 * SQLite (a fresh project directory per test) and on PostgreSQL (a fresh
 * schema per test on the server named by KEEL_TEST_PG_URL; tests are
 * skipped with a message when it is unset — tests/pg_harness.sh sets it).
 *
 * Expected values are worked out by hand from the data each test writes;
 * counts are checked with plain SQL through sqlite3/libpq, not through the
 * code under test.
 */
#include <ftw.h>
#include <signal.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "keel/store.h"
#include "keel/track.h"
#include "keel/version.h"

typedef struct fx {
    int pg, skip;
    char dir[96];
    char url[512];
    char dbname[64];
    kl_store *s;
} fx;

static int db_counter;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static int pg_admin(const char *sql)
{
    PGconn *c = PQconnectdb(getenv("KEEL_TEST_PG_URL"));
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PQsetNoticeProcessor(c, quiet, NULL);
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "pg: %s", PQresultErrorMessage(r));
        PQclear(r);
    } else {
        fprintf(stderr, "pg: %s", PQerrorMessage(c));
    }
    PQfinish(c);
    return ok ? 0 : -1;
}

static int open_store(fx *f, kl_store **s)
{
    kl_err err = {0};
    kl_store_opts opts = {.url = f->pg ? f->url : NULL};
    int rc = kl_store_open(f->dir, &opts, s, &err);
    if (rc < 0)
        fprintf(stderr, "open: %s (%s)\n", err.msg, err.ctx);
    return rc;
}

static int setup_common(void **state, int pg)
{
    fx *f = calloc(1, sizeof *f);
    f->pg = pg;
    *state = f;
    snprintf(f->dir, sizeof f->dir, "/tmp/keel-meta-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    if (pg) {
        const char *base = getenv("KEEL_TEST_PG_URL");
        if (!base || !base[0]) {
            f->skip = 1;
            return 0;
        }
        /* A fresh schema per test (much faster than a database), first on the search path. */
        snprintf(f->dbname, sizeof f->dbname, "keel_t%d_%d", (int)getpid(), ++db_counter);
        char sql[128];
        snprintf(sql, sizeof sql, "CREATE SCHEMA %s", f->dbname);
        if (pg_admin(sql) < 0)
            return -1;
        snprintf(f->url, sizeof f->url, "%s%soptions=-csearch_path%%3D%s", base,
                 strchr(base, '?') ? "&" : "?", f->dbname);
    }
    return open_store(f, &f->s);
}

static int setup_sqlite(void **state)
{
    return setup_common(state, 0);
}

static int setup_pg(void **state)
{
    return setup_common(state, 1);
}

static int teardown(void **state)
{
    fx *f = *state;
    kl_store_close(f->s);
    if (f->dbname[0]) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", f->dbname);
        pg_admin(sql);
    }
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static fx *begin(void **state)
{
    fx *f = *state;
    if (f->skip) {
        fprintf(stderr, "KEEL_TEST_PG_URL is not set; skipping the PostgreSQL run "
                        "(tests/pg_harness.sh starts a server)\n");
        skip();
    }
    return f;
}

/* One integer from raw SQL, outside the code under test. */
static int64_t raw_int(fx *f, const char *sql)
{
    int64_t v = -1;
    if (f->pg) {
        PGconn *c = PQconnectdb(f->url);
        assert_int_equal(PQstatus(c), CONNECTION_OK);
        PGresult *r = PQexec(c, sql);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        v = PQgetisnull(r, 0, 0) ? 0 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        PQfinish(c);
    } else {
        char path[256];
        snprintf(path, sizeof path, "%s/.keel/keel.db", f->dir);
        sqlite3 *db;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    return v;
}

/* Run a statement through sqlite3/libpq directly (to damage data on purpose). */
static void raw_exec(fx *f, const char *sql)
{
    if (f->pg) {
        PGconn *c = PQconnectdb(f->url);
        PGresult *r = PQexec(c, sql);
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
        PQfinish(c);
    } else {
        char path[256];
        snprintf(path, sizeof path, "%s/.keel/keel.db", f->dir);
        sqlite3 *db;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
    }
}

static void check(int rc, const kl_err *err)
{
    if (rc < 0)
        fprintf(stderr, "error %d: %s (%s)\n", rc, err->msg, err->ctx);
    assert_int_equal(rc, 0);
}

static void add_snapshot(fx *f, const char *id, const char *name)
{
    kl_err err = {0};
    kl_snapshot_rec rec = {.name = name,
                           .source_hash = "5a5a",
                           .n_rows = 150,
                           .n_cols = 5,
                           .schema_hash = "c0ffee",
                           .infer_version = 1,
                           .created_ms = 1700000000000,
                           .manifest = "m"};
    snprintf(rec.id, sizeof rec.id, "%s", id);
    check(kl_store_snapshot_add(f->s, &rec, &err), &err);
}

static const char snap_a[] = "abcd000000000000000000000000000000000000000000000000000000000001";
static const char snap_b[] = "abcd000000000000000000000000000000000000000000000000000000000002";

/* ---- tests ---- */

static void test_meta_open_twice_applies_migrations_once(void **state)
{
    fx *f = begin(state);
    assert_string_equal(kl_store_backend(f->s), f->pg ? "postgresql" : "sqlite");
    kl_store *again;
    assert_int_equal(open_store(f, &again), 0);
    kl_store_close(again);
    kl_store_close(f->s);
    f->s = NULL;
    assert_int_equal(open_store(f, &f->s), 0);
    assert_int_equal(raw_int(f, "SELECT count(*) FROM schema_version"), KL_STORE_SCHEMA_VERSION);
    assert_int_equal(raw_int(f, "SELECT max(version) FROM schema_version"),
                     KL_STORE_SCHEMA_VERSION);
}

static void test_meta_newer_schema_is_refused(void **state)
{
    fx *f = begin(state);
    kl_store_close(f->s);
    f->s = NULL;
    if (f->pg) {
        PGconn *c = PQconnectdb(f->url);
        PQclear(PQexec(c, "INSERT INTO schema_version VALUES (999, 0)"));
        PQfinish(c);
    } else {
        char path[256];
        snprintf(path, sizeof path, "%s/.keel/keel.db", f->dir);
        sqlite3 *db;
        sqlite3_open(path, &db);
        sqlite3_exec(db, "INSERT INTO schema_version VALUES (999, 0)", NULL, NULL, NULL);
        sqlite3_close(db);
    }
    kl_err err = {0};
    kl_store_opts opts = {.url = f->pg ? f->url : NULL};
    kl_store *s = NULL;
    assert_int_equal(kl_store_open(f->dir, &opts, &s, &err), KL_EUNSUPPORTED);
    assert_null(s);
    assert_non_null(strstr(err.msg, "999"));
}

static void test_meta_run_round_trip(void **state)
{
    fx *f = begin(state);
    kl_err err = {0};
    add_snapshot(f, snap_a, "iris");
    kl_run_opts o = {.name = "train",
                     .spec_hash = "feed",
                     .snapshot = snap_a,
                     .seed = 9223372036854775813u, /* 2^63 + 5: survives the signed column */
                     .has_seed = 1,
                     .git_commit = "abc123",
                     .git_dirty = 1,
                     .host = "box"};
    kl_run *r;
    check(kl_run_start(f->s, &o, &r, &err), &err);
    char id[KL_ID_LEN];
    snprintf(id, sizeof id, "%s", kl_run_id(r));
    assert_int_equal(strlen(id), 64);
    check(kl_run_log_param(r, "alpha", "0.1", &err), &err);
    check(kl_run_log_param(r, "depth", "3", &err), &err);
    check(kl_run_log_param(r, "alpha", "0.2", &err), &err);
    check(kl_run_log_metric(r, "auc", 0.5, 0, &err), &err);
    check(kl_run_log_metric(r, "auc", 0.75, 1, &err), &err);
    check(kl_run_log_metric(r, "loss", 1.25, 0, &err), &err);
    check(kl_run_set_tag(r, "stage", "dev", &err), &err);
    char obj[KL_ID_LEN];
    check(kl_store_put(f->s, "model bytes", 11, obj, &err), &err);
    check(kl_run_log_artifact(r, "model", obj, "model", &err), &err);

    /* While running: visible with status running and no end. */
    kl_run_detail d;
    check(kl_store_run_get(f->s, id, &d, &err), &err);
    assert_int_equal(d.run.status, KL_RUN_STATUS_RUNNING);
    assert_int_equal(d.run.ended_ms, 0);
    kl_run_detail_release(&d);

    check(kl_run_end(r, KL_RUN_STATUS_FINISHED, &err), &err);
    check(kl_store_run_get(f->s, id, &d, &err), &err);
    assert_string_equal(d.run.id, id);
    assert_string_equal(d.run.name, "train");
    assert_int_equal(d.run.status, KL_RUN_STATUS_FINISHED);
    assert_true(d.run.ended_ms >= d.run.started_ms && d.run.started_ms > 1700000000000);
    assert_null(d.run.parent);
    assert_string_equal(d.run.spec_hash, "feed");
    assert_string_equal(d.run.snapshot, snap_a);
    assert_string_equal(d.run.keel_version, KEEL_VERSION);
    assert_string_equal(d.run.git_commit, "abc123");
    assert_int_equal(d.run.git_dirty, 1);
    assert_int_equal(d.run.has_seed, 1);
    assert_true(d.run.seed == 9223372036854775813u);
    assert_string_equal(d.run.host, "box");
    assert_int_equal(d.n_params, 2);
    assert_string_equal(d.params[0].key, "alpha");
    assert_string_equal(d.params[0].value, "0.2");
    assert_string_equal(d.params[1].key, "depth");
    assert_string_equal(d.params[1].value, "3");
    assert_int_equal(d.n_metrics, 2);
    assert_string_equal(d.metrics[0].key, "auc");
    assert_true(d.metrics[0].value == 0.75);
    assert_int_equal(d.metrics[0].step, 1);
    assert_string_equal(d.metrics[1].key, "loss");
    assert_true(d.metrics[1].value == 1.25);
    assert_int_equal(d.n_tags, 1);
    assert_string_equal(d.tags[0].key, "stage");
    assert_string_equal(d.tags[0].value, "dev");
    assert_int_equal(d.n_artifacts, 1);
    assert_string_equal(d.artifacts[0].name, "model");
    assert_string_equal(d.artifacts[0].object, obj);
    assert_string_equal(d.artifacts[0].kind, "model");
    kl_run_detail_release(&d);

    /* A run without optional fields reads back NULLs. */
    check(kl_run_start(f->s, NULL, &r, &err), &err);
    snprintf(id, sizeof id, "%s", kl_run_id(r));
    check(kl_run_end(r, KL_RUN_STATUS_FAILED, &err), &err);
    check(kl_store_run_get(f->s, id, &d, &err), &err);
    assert_null(d.run.name);
    assert_null(d.run.snapshot);
    assert_null(d.run.git_commit);
    assert_int_equal(d.run.git_dirty, -1);
    assert_int_equal(d.run.has_seed, 0);
    assert_int_equal(d.run.status, KL_RUN_STATUS_FAILED);
    assert_int_equal(d.n_params + d.n_metrics + d.n_tags + d.n_artifacts, 0);
    kl_run_detail_release(&d);
    assert_int_equal(kl_store_run_get(f->s, snap_a, &d, &err), KL_ENOTFOUND);

    /* A run recorded after its work keeps the work's start: 90 s before now here. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t began = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - 90000;
    kl_run_opts late = {.started_ms = began};
    check(kl_run_start(f->s, &late, &r, &err), &err);
    snprintf(id, sizeof id, "%s", kl_run_id(r));
    check(kl_run_end(r, KL_RUN_STATUS_FINISHED, &err), &err);
    check(kl_store_run_get(f->s, id, &d, &err), &err);
    assert_true(d.run.started_ms == began);
    assert_true(d.run.ended_ms - d.run.started_ms >= 90000);
    kl_run_detail_release(&d);
}

static void test_meta_metric_history_spans_flushes_in_order(void **state)
{
    fx *f = begin(state);
    kl_err err = {0};
    kl_run *r;
    check(kl_run_start(f->s, NULL, &r, &err), &err);
    char id[KL_ID_LEN];
    snprintf(id, sizeof id, "%s", kl_run_id(r));
    enum { N = 150000 };
    for (int i = 0; i < N; i++) {
        check(kl_run_log_metric(r, "loss", i * 0.5, i, &err), &err);
        if (i % 10 == 0)
            check(kl_run_log_metric(r, "acc", 1.0 / (i + 1), i, &err), &err);
        if (i == 1234)
            check(kl_run_flush(r, &err), &err);
    }
    check(kl_run_log_metric(r, "odd", NAN, 7, &err), &err);
    check(kl_run_end(r, KL_RUN_STATUS_FINISHED, &err), &err);

    kl_metric_series m;
    check(kl_store_metric_history(f->s, id, "loss", &m, &err), &err);
    assert_int_equal(m.count, N);
    for (size_t i = 0; i < m.count; i++) {
        assert_int_equal(m.steps[i], (int64_t)i);
        assert_true(m.values[i] == (double)i * 0.5);
    }
    assert_true(m.timestamps_ms[0] <= m.timestamps_ms[N - 1]);
    kl_metric_series_release(&m);
    check(kl_store_metric_history(f->s, id, "acc", &m, &err), &err);
    assert_int_equal(m.count, N / 10);
    assert_true(m.values[3] == 1.0 / 31);
    kl_metric_series_release(&m);
    check(kl_store_metric_history(f->s, id, "odd", &m, &err), &err);
    assert_int_equal(m.count, 1);
    assert_true(isnan(m.values[0]));
    kl_metric_series_release(&m);
    assert_int_equal(kl_store_metric_history(f->s, id, "nope", &m, &err), KL_ENOTFOUND);

    kl_run_detail d;
    check(kl_store_run_get(f->s, id, &d, &err), &err);
    assert_int_equal(d.n_metrics, 3);
    assert_string_equal(d.metrics[1].key, "loss");
    assert_true(d.metrics[1].value == (N - 1) * 0.5);
    assert_int_equal(d.metrics[1].step, N - 1);
    assert_true(isnan(d.metrics[2].value));
    kl_run_detail_release(&d);
}

static void test_meta_damaged_metric_chunk_is_corrupt(void **state)
{
    fx *f = begin(state);
    kl_err err = {0};
    kl_run *r;
    check(kl_run_start(f->s, NULL, &r, &err), &err);
    char id[KL_ID_LEN];
    snprintf(id, sizeof id, "%s", kl_run_id(r));
    for (int i = 0; i < 100; i++)
        check(kl_run_log_metric(r, "loss", i, i, &err), &err);
    check(kl_run_end(r, KL_RUN_STATUS_FINISHED, &err), &err);
    /* Steps 0..99 by 1 and values: 1 + 8 + 1 bytes a record while the clock stays in one ms. */
    assert_true(raw_int(f, "SELECT length(data) FROM metric_series") >= 100 * 10);
    raw_exec(f, "UPDATE metric_series SET data = substr(data, 1, 25)");
    kl_metric_series m;
    assert_int_equal(kl_store_metric_history(f->s, id, "loss", &m, &err), KL_ECORRUPT);
    assert_null(m.values);
    assert_int_equal(m.count, 0);
}

/*
 * Six runs r0..r5:      auc   alpha  stage  seed  status
 *                  r0   0.60  0.1    dev    0     finished
 *                  r1   0.70  0.2    prod   1     finished
 *                  r2   0.80  0.1    dev    2     finished
 *                  r3   0.85  0.3    prod   3     finished
 *                  r4   0.90  0.1    prod   4     finished
 *                  r5   -     -      -      5     running
 */
static void make_six_runs(fx *f)
{
    static const double auc[] = {0.6, 0.7, 0.8, 0.85, 0.9};
    static const char *const alpha[] = {"0.1", "0.2", "0.1", "0.3", "0.1"};
    static const char *const stage[] = {"dev", "prod", "dev", "prod", "prod"};
    kl_err err = {0};
    for (int i = 0; i < 6; i++) {
        char name[8];
        snprintf(name, sizeof name, "r%d", i);
        kl_run_opts o = {.name = name, .seed = (uint64_t)i, .has_seed = 1};
        kl_run *r;
        check(kl_run_start(f->s, &o, &r, &err), &err);
        if (i < 5) {
            check(kl_run_log_metric(r, "auc", auc[i], 0, &err), &err);
            check(kl_run_log_param(r, "alpha", alpha[i], &err), &err);
            check(kl_run_set_tag(r, "stage", stage[i], &err), &err);
            check(kl_run_end(r, KL_RUN_STATUS_FINISHED, &err), &err);
        } else {
            /* Left running: flush so the handle can be dropped via end later. */
            check(kl_run_flush(r, &err), &err);
            kl_run_end(r, (enum kl_run_status)99, &err); /* refused, but frees the handle */
        }
    }
}

/* Names of the runs matching filter/sort, joined with ','. */
static const char *names(fx *f, const char *filter, const char *sort, size_t limit)
{
    static char buf[256];
    kl_err err = {0};
    kl_run_query q = {.filter = filter, .sort = sort ? sort : "name", .limit = limit};
    kl_run_list l;
    check(kl_store_runs(f->s, &q, &l, &err), &err);
    buf[0] = '\0';
    size_t off = 0;
    for (size_t i = 0; i < l.count; i++)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s", i ? "," : "",
                                l.items[i].name ? l.items[i].name : "?");
    kl_run_list_release(&l);
    return buf;
}

static void test_meta_filter_selects_expected_runs(void **state)
{
    fx *f = begin(state);
    make_six_runs(f);
    assert_string_equal(names(f, NULL, NULL, 0), "r0,r1,r2,r3,r4,r5");
    assert_string_equal(names(f, "metrics.auc > 0.8", NULL, 0), "r3,r4");
    assert_string_equal(names(f, "metrics.auc >= 0.8", NULL, 0), "r2,r3,r4");
    assert_string_equal(names(f, "metrics.auc<=0.7", NULL, 0), "r0,r1");
    assert_string_equal(names(f, "metrics.auc > 0.8 and params.alpha = '0.1'", NULL, 0), "r4");
    assert_string_equal(names(f, "metrics.auc < 0.7 or params.alpha = '0.3'", NULL, 0), "r0,r3");
    assert_string_equal(
        names(f, "(metrics.auc < 0.7 or params.alpha = '0.3') AND tags.stage = \"prod\"", NULL, 0),
        "r3");
    /* and binds tighter than or. */
    assert_string_equal(
        names(f, "metrics.auc < 0.7 or params.alpha = '0.3' and tags.stage = 'prod'", NULL, 0),
        "r0,r3");
    assert_string_equal(names(f, "params.alpha != '0.1'", NULL, 0), "r1,r3");
    assert_string_equal(names(f, "params.alpha = 0.1", NULL, 0), "r0,r2,r4");
    assert_string_equal(names(f, "name = 'r5'", NULL, 0), "r5");
    assert_string_equal(names(f, "status = 'running'", NULL, 0), "r5");
    assert_string_equal(names(f, "seed >= 3", NULL, 0), "r3,r4,r5");
    assert_string_equal(names(f, "seed > 2.5 and seed < 4.5", NULL, 0), "r3,r4");
    assert_string_equal(names(f, "started > 0 and metrics.auc = 0.85", NULL, 0), "r3");
    assert_string_equal(names(f, "metrics.nothing > 0", NULL, 0), "");
}

static void test_meta_runs_metric_and_param_columns(void **state)
{
    fx *f = begin(state);
    make_six_runs(f);
    kl_err err = {0};
    kl_run_query q = {.sort = "name desc"}; /* r5 first, r0 last */
    kl_run_list l;
    check(kl_store_runs(f->s, &q, &l, &err), &err);
    assert_int_equal(l.count, 6);
    double auc[6];
    int has[6];
    const char *alpha[6];
    check(kl_store_runs_metric(f->s, &l, "auc", auc, has, &err), &err);
    check(kl_store_runs_param(f->s, &l, "alpha", alpha, &err), &err);
    static const double want_auc[] = {0.9, 0.85, 0.8, 0.7, 0.6};
    static const char *const want_alpha[] = {"0.1", "0.3", "0.1", "0.2", "0.1"};
    assert_int_equal(has[0], 0);
    assert_true(isnan(auc[0]));
    assert_null(alpha[0]);
    for (int i = 1; i < 6; i++) {
        assert_int_equal(has[i], 1);
        assert_true(auc[i] == want_auc[i - 1]);
        assert_string_equal(alpha[i], want_alpha[i - 1]);
    }
    check(kl_store_runs_metric(f->s, &l, "absent", auc, has, &err), &err);
    for (int i = 0; i < 6; i++)
        assert_int_equal(has[i], 0);
    kl_run_list_release(&l);
}

static void test_meta_filter_injection_is_a_literal(void **state)
{
    fx *f = begin(state);
    make_six_runs(f);
    assert_string_equal(names(f, "params.alpha = '0.1'' OR ''1''=''1'", NULL, 0), "");
    assert_string_equal(names(f, "name = 'x''; DROP TABLE runs; --'", NULL, 0), "");
    assert_string_equal(names(f, "params.`alpha' OR 1=1 --` = '0.1'", NULL, 0), "");
    assert_string_equal(names(f, "name = \"r1\"\" OR 1=1\"", NULL, 0), "");
    assert_string_equal(names(f, NULL, NULL, 0), "r0,r1,r2,r3,r4,r5");
    assert_int_equal(raw_int(f, "SELECT count(*) FROM runs"), 6);
}

static void test_meta_sort_puts_missing_values_last_both_ways(void **state)
{
    fx *f = begin(state);
    make_six_runs(f);
    assert_string_equal(names(f, NULL, "metrics.auc desc", 0), "r4,r3,r2,r1,r0,r5");
    assert_string_equal(names(f, NULL, "metrics.auc", 0), "r0,r1,r2,r3,r4,r5");
    assert_string_equal(names(f, NULL, "params.alpha desc, name", 0), "r3,r1,r0,r2,r4,r5");
    assert_string_equal(names(f, NULL, "tags.stage, seed desc", 0), "r2,r0,r4,r3,r1,r5");
    assert_string_equal(names(f, NULL, "metrics.auc desc", 2), "r4,r3");
    assert_string_equal(names(f, "tags.stage = 'prod'", "seed desc", 0), "r4,r3,r1");
    kl_err err = {0};
    kl_run_query q = {.sort = "metrics.auc sideways"};
    kl_run_list l;
    assert_int_equal(kl_store_runs(f->s, &q, &l, &err), KL_EPARSE);
    assert_string_equal(err.ctx, "sort:13");
    assert_null(l.items);
}

static void test_meta_resolve_ids_prefixes_names_and_tags(void **state)
{
    fx *f = begin(state);
    kl_err err = {0};
    add_snapshot(f, snap_a, "iris");
    add_snapshot(f, snap_b, "wine");
    kl_run *r;
    kl_run_opts o = {.name = "baseline"};
    check(kl_run_start(f->s, &o, &r, &err), &err);
    char base[KL_ID_LEN];
    snprintf(base, sizeof base, "%s", kl_run_id(r));
    check(kl_run_set_tag(r, "stage", "prod", &err), &err);
    check(kl_run_end(r, KL_RUN_STATUS_FINISHED, &err), &err);
    o.name = "dup";
    for (int i = 0; i < 2; i++) {
        check(kl_run_start(f->s, &o, &r, &err), &err);
        check(kl_run_end(r, KL_RUN_STATUS_FINISHED, &err), &err);
    }

    kl_ref ref;
    check(kl_store_resolve(f->s, NULL, base, &ref, &err), &err);
    assert_string_equal(ref.kind, "run");
    assert_string_equal(ref.id, base);
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%.10s", base);
    check(kl_store_resolve(f->s, "run", prefix, &ref, &err), &err);
    assert_string_equal(ref.id, base);
    check(kl_store_resolve(f->s, NULL, "baseline", &ref, &err), &err);
    assert_string_equal(ref.id, base);
    check(kl_store_resolve(f->s, NULL, "stage=prod", &ref, &err), &err);
    assert_string_equal(ref.id, base);
    check(kl_store_resolve(f->s, NULL, "stage", &ref, &err), &err);
    assert_string_equal(ref.id, base);
    check(kl_store_resolve(f->s, NULL, "iris", &ref, &err), &err);
    assert_string_equal(ref.kind, "snapshot");
    assert_string_equal(ref.id, snap_a);
    char long_text[80], prefix63[64];
    snprintf(long_text, sizeof long_text, "%s0", snap_b); /* 65 digits: no id is that long */
    assert_int_equal(kl_store_resolve(f->s, NULL, long_text, &ref, &err), KL_ENOTFOUND);
    snprintf(prefix63, sizeof prefix63, "%.63s", snap_b);
    assert_int_equal(kl_store_resolve(f->s, "snapshot", prefix63, &ref, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, snap_a));
    assert_non_null(strstr(err.msg, snap_b));
    check(kl_store_resolve(f->s, "snapshot", snap_b, &ref, &err), &err);
    assert_string_equal(ref.id, snap_b);

    assert_int_equal(kl_store_resolve(f->s, NULL, "abcd", &ref, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "ambiguous"));
    assert_non_null(strstr(err.msg, "snapshot abcd00000000"));
    assert_int_equal(kl_store_resolve(f->s, NULL, "dup", &ref, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "'dup' is ambiguous: run "));
    assert_int_equal(kl_store_resolve(f->s, NULL, "abc", &ref, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "at least 4"));
    assert_int_equal(kl_store_resolve(f->s, NULL, "nonexistent", &ref, &err), KL_ENOTFOUND);
    assert_int_equal(kl_store_resolve(f->s, "run", "iris", &ref, &err), KL_ENOTFOUND);
    assert_int_equal(kl_store_resolve(f->s, "run", "abcd0000", &ref, &err), KL_ENOTFOUND);
}

static int has_edge(const kl_lineage *l, const char *from, const char *to, const char *rel,
                    int depth)
{
    for (size_t i = 0; i < l->count; i++) {
        const kl_lineage_edge *e = &l->edges[i];
        if (strcmp(e->from_id, from) == 0 && strcmp(e->to_id, to) == 0 &&
            strcmp(e->relation, rel) == 0)
            return e->depth == depth;
    }
    return 0;
}

static void test_meta_lineage_walks_both_directions(void **state)
{
    fx *f = begin(state);
    kl_err err = {0};
    add_snapshot(f, snap_a, "iris");
    kl_run *ra, *rb;
    kl_run_opts oa = {.name = "a", .snapshot = snap_a};
    check(kl_run_start(f->s, &oa, &ra, &err), &err);
    char a[KL_ID_LEN], b[KL_ID_LEN], obj[KL_ID_LEN];
    snprintf(a, sizeof a, "%s", kl_run_id(ra));
    kl_run_opts ob = {.name = "b", .parent = a};
    check(kl_run_start(f->s, &ob, &rb, &err), &err);
    snprintf(b, sizeof b, "%s", kl_run_id(rb));
    check(kl_store_put(f->s, "weights", 7, obj, &err), &err);
    check(kl_run_log_artifact(rb, "model", obj, "model", &err), &err);
    check(kl_run_end(rb, KL_RUN_STATUS_FINISHED, &err), &err);
    check(kl_run_end(ra, KL_RUN_STATUS_FINISHED, &err), &err);
    check(kl_store_link(f->s, "object", obj, "model", "m1", "registered", &err), &err);
    check(kl_store_link(f->s, "object", obj, "model", "m1", "registered", &err), &err);

    kl_lineage l;
    check(kl_store_lineage(f->s, "object", obj, KL_LINEAGE_DIR_ANCESTORS, 0, &l, &err), &err);
    assert_int_equal(l.count, 3);
    assert_true(has_edge(&l, b, obj, "artifact", 1));
    assert_true(has_edge(&l, a, b, "parent", 2));
    assert_true(has_edge(&l, snap_a, a, "input", 3));
    assert_int_equal(l.edges[0].depth, 1);
    assert_int_equal(l.edges[2].depth, 3);
    kl_lineage_release(&l);

    check(kl_store_lineage(f->s, "snapshot", snap_a, KL_LINEAGE_DIR_DESCENDANTS, 0, &l, &err),
          &err);
    assert_int_equal(l.count, 4);
    assert_true(has_edge(&l, obj, "m1", "registered", 4));
    kl_lineage_release(&l);
    check(kl_store_lineage(f->s, "snapshot", snap_a, KL_LINEAGE_DIR_DESCENDANTS, 2, &l, &err),
          &err);
    assert_int_equal(l.count, 2);
    kl_lineage_release(&l);

    /* A cycle ends: every edge once, at its first depth. */
    check(kl_store_link(f->s, "model", "m1", "snapshot", snap_a, "retrained-from", &err), &err);
    check(kl_store_lineage(f->s, "snapshot", snap_a, KL_LINEAGE_DIR_DESCENDANTS, 0, &l, &err),
          &err);
    assert_int_equal(l.count, 5);
    assert_true(has_edge(&l, "m1", snap_a, "retrained-from", 5));
    kl_lineage_release(&l);
    check(kl_store_lineage(f->s, "run", "nothing", KL_LINEAGE_DIR_ANCESTORS, 0, &l, &err), &err);
    assert_int_equal(l.count, 0);
    kl_lineage_release(&l);
    assert_int_equal(kl_store_link(f->s, "Run", a, "run", b, "x", &err), KL_EINVAL);
}

typedef struct refs {
    char seen[8][160];
    int n;
} refs;

static int collect_ref(const char *kind, const char *id, const char *role, const char *obj,
                       void *ud)
{
    refs *r = ud;
    if (r->n < 8)
        snprintf(r->seen[r->n++], sizeof r->seen[0], "%s:%.6s:%s:%.6s", kind, id, role, obj);
    return 0;
}

static int ref_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_meta_object_refs_lists_every_reference(void **state)
{
    fx *f = begin(state);
    kl_err err = {0};
    add_snapshot(f, snap_a, "iris"); /* manifest "m" */
    char obj[KL_ID_LEN], run[KL_ID_LEN];
    check(kl_store_put(f->s, "weights", 7, obj, &err), &err);
    kl_run *r;
    check(kl_run_start(f->s, NULL, &r, &err), &err);
    snprintf(run, sizeof run, "%s", kl_run_id(r));
    check(kl_run_log_artifact(r, "model", obj, "model", &err), &err);
    check(kl_run_end(r, KL_RUN_STATUS_FINISHED, &err), &err);
    check(kl_store_link(f->s, "object", obj, "model", "m1", "registered", &err), &err);
    refs got = {0};
    check(kl_store_object_refs(f->s, collect_ref, &got, &err), &err);
    assert_int_equal(got.n, 4);
    qsort(got.seen, (size_t)got.n, sizeof got.seen[0], ref_cmp);
    char want[4][160];
    snprintf(want[0], sizeof want[0], "model:m1:registered:%.6s", obj);
    snprintf(want[1], sizeof want[1], "run:%.6s:artifact:%.6s", run, obj);
    snprintf(want[2], sizeof want[2], "run:%.6s:model:%.6s", run, obj);
    snprintf(want[3], sizeof want[3], "snapshot:%.6s:manifest:m", snap_a);
    qsort(want, 4, sizeof want[0], ref_cmp);
    for (int i = 0; i < 4; i++)
        assert_string_equal(got.seen[i], want[i]);
}

static void test_meta_references_are_checked(void **state)
{
    fx *f = begin(state);
    kl_err err = {0};
    kl_run *r = NULL;
    kl_run_opts o = {.parent = snap_a};
    assert_int_equal(kl_run_start(f->s, &o, &r, &err), KL_ENOTFOUND);
    assert_null(r);
    o = (kl_run_opts){.snapshot = snap_a};
    assert_int_equal(kl_run_start(f->s, &o, &r, &err), KL_ENOTFOUND);
    o = (kl_run_opts){.parent = "abcd"};
    assert_int_equal(kl_run_start(f->s, &o, &r, &err), KL_EINVAL);
    check(kl_run_start(f->s, NULL, &r, &err), &err);
    assert_int_equal(kl_run_log_artifact(r, "model", snap_a, "model", &err), KL_ENOTFOUND);
    assert_int_equal(kl_run_log_artifact(r, "model", "zz", "model", &err), KL_EINVAL);
    assert_int_equal(kl_run_log_param(r, "", "v", &err), KL_EINVAL);
    assert_int_equal(kl_run_end(r, KL_RUN_STATUS_RUNNING, &err), KL_EINVAL);
    assert_int_equal(raw_int(f, "SELECT count(*) FROM runs"), 1);
    assert_int_equal(raw_int(f, "SELECT count(*) FROM runs WHERE status = 'running'"), 1);
}

static void test_meta_snapshot_add_is_idempotent(void **state)
{
    fx *f = begin(state);
    kl_err err = {0};
    add_snapshot(f, snap_a, "iris");
    add_snapshot(f, snap_a, "iris again");
    add_snapshot(f, snap_b, NULL);
    assert_int_equal(raw_int(f, "SELECT count(*) FROM snapshots"), 2);
    kl_snapshot_list l;
    check(kl_store_snapshot_list(f->s, snap_a, &l, &err), &err);
    assert_int_equal(l.count, 1);
    assert_string_equal(l.items[0].id, snap_a);
    assert_string_equal(l.items[0].name, "iris");
    assert_string_equal(l.items[0].source_hash, "5a5a");
    assert_int_equal(l.items[0].n_rows, 150);
    assert_int_equal(l.items[0].n_cols, 5);
    assert_string_equal(l.items[0].schema_hash, "c0ffee");
    assert_int_equal(l.items[0].infer_version, 1);
    assert_int_equal(l.items[0].created_ms, 1700000000000);
    assert_string_equal(l.items[0].manifest, "m");
    kl_snapshot_list_release(&l);
    check(kl_store_snapshot_list(f->s, NULL, &l, &err), &err);
    assert_int_equal(l.count, 2);
    assert_null(l.items[1].name);
    kl_snapshot_list_release(&l);
    assert_int_equal(kl_store_snapshot_list(f->s, "0000", &l, &err), KL_ENOTFOUND);
    kl_snapshot_rec bad = {.source_hash = "x", .schema_hash = "y", .manifest = "z"};
    snprintf(bad.id, sizeof bad.id, "not-hex");
    assert_int_equal(kl_store_snapshot_add(f->s, &bad, &err), KL_EINVAL);
}

enum { PROCS = 8, RUNS_PER_PROC = 4, VALUES_PER_RUN = 500 };

static int child_work(fx *f, int p)
{
    kl_store *s;
    if (open_store(f, &s) < 0)
        return 1;
    kl_err err = {0};
    for (int k = 0; k < RUNS_PER_PROC; k++) {
        char name[32], v[16];
        snprintf(name, sizeof name, "p%d-r%d", p, k);
        kl_run_opts o = {.name = name};
        kl_run *r;
        if (kl_run_start(s, &o, &r, &err) < 0)
            goto fail;
        for (int j = 0; j < 3; j++) {
            char key[8];
            snprintf(key, sizeof key, "k%d", j);
            snprintf(v, sizeof v, "%d", p * 100 + k);
            if (kl_run_log_param(r, key, v, &err) < 0)
                goto fail;
        }
        for (int i = 0; i < VALUES_PER_RUN; i++) {
            if (kl_run_log_metric(r, "loss", 1.0 / (i + 1), i, &err) < 0 ||
                kl_run_log_metric(r, "acc", i * 0.001, i, &err) < 0)
                goto fail;
            if (i % 100 == 99 && kl_run_flush(r, &err) < 0)
                goto fail;
        }
        if (kl_run_set_tag(r, "proc", v, &err) < 0)
            goto fail;
        if (kl_run_end(r, KL_RUN_STATUS_FINISHED, &err) < 0)
            goto fail;
    }
    kl_store_close(s);
    return 0;
fail:
    fprintf(stderr, "child %d: %s (%s)\n", p, err.msg, err.ctx);
    return 1;
}

static void test_meta_eight_processes_lose_nothing(void **state)
{
    fx *f = begin(state);
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0)
            _exit(child_work(f, p));
    }
    for (int p = 0; p < PROCS; p++) {
        int status;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    const int runs = PROCS * RUNS_PER_PROC;
    assert_int_equal(raw_int(f, "SELECT count(*) FROM runs"), runs);
    assert_int_equal(raw_int(f, "SELECT count(*) FROM runs WHERE status = 'finished'"), runs);
    assert_int_equal(raw_int(f, "SELECT count(*) FROM params"), runs * 3);
    assert_int_equal(raw_int(f, "SELECT count(*) FROM metrics"), runs * 2);
    assert_int_equal(raw_int(f, "SELECT sum(n) FROM metric_series"), runs * 2 * VALUES_PER_RUN);
    assert_int_equal(raw_int(f, "SELECT count(*) FROM tags"), runs);
    kl_err err = {0};
    kl_run_list l;
    kl_run_query q = {.filter = "metrics.loss = 0.002"}; /* 1/500, the last value logged */
    check(kl_store_runs(f->s, &q, &l, &err), &err);
    assert_int_equal(l.count, runs);
    kl_run_list_release(&l);
}

/* Eight processes opening a store that none has opened before: one set of tables. */
static void test_meta_concurrent_first_open_migrates_once(void **state)
{
    fx *f = begin(state);
    fx fresh = *f;
    fresh.s = NULL;
    snprintf(fresh.dir, sizeof fresh.dir, "%.80s/fresh", f->dir);
    assert_int_equal(mkdir(fresh.dir, 0777), 0);
    if (f->pg) {
        char schema[80], sql[128];
        snprintf(schema, sizeof schema, "%s_fresh", f->dbname);
        snprintf(sql, sizeof sql, "CREATE SCHEMA %s", schema);
        assert_int_equal(pg_admin(sql), 0);
        const char *base = getenv("KEEL_TEST_PG_URL");
        snprintf(fresh.url, sizeof fresh.url, "%s%soptions=-csearch_path%%3D%s", base,
                 strchr(base, '?') ? "&" : "?", schema);
    }
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            kl_store *s;
            kl_err err = {0};
            kl_run *r;
            int ok = open_store(&fresh, &s) == 0 && kl_run_start(s, NULL, &r, &err) == 0 &&
                     kl_run_end(r, KL_RUN_STATUS_FINISHED, &err) == 0;
            if (!ok)
                fprintf(stderr, "child %d: %s (%s)\n", p, err.msg, err.ctx);
            _exit(ok ? 0 : 1);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int status;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(raw_int(&fresh, "SELECT count(*) FROM schema_version"),
                     KL_STORE_SCHEMA_VERSION);
    assert_int_equal(raw_int(&fresh, "SELECT count(*) FROM runs"), PROCS);
    if (f->pg) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP SCHEMA %s_fresh CASCADE", f->dbname);
        assert_int_equal(pg_admin(sql), 0);
    }
}

/* ---- crash safety ---- */

/*
 * Write objects and tracked runs forever (until killed). Writes one byte to
 * ready once the store is open and, for seed 0, another after its first
 * complete run (only then is the parent still reading).
 */
static void crash_child(fx *f, unsigned seed, int ready)
{
    kl_store *s;
    if (open_store(f, &s) < 0)
        _exit(1);
    if (write(ready, "o", 1) != 1)
        _exit(1);
    kl_err err = {0};
    static uint8_t chunk[65536];
    for (unsigned it = 0;; it++) {
        uint64_t x = seed * 1000003u + it;
        kl_store_writer *w;
        if (kl_store_put_begin(s, &w, &err) < 0)
            _exit(1);
        size_t total = (size_t)(x % 20) * 50000 + 1;
        for (size_t done = 0; done < total;) {
            size_t n = total - done < sizeof chunk ? total - done : sizeof chunk;
            for (size_t i = 0; i < n; i++) {
                x = x * 6364136223846793005u + 1442695040888963407u;
                chunk[i] = (uint8_t)(x >> 59);
            }
            if (kl_store_put_write(w, chunk, n, &err) < 0)
                _exit(1);
            done += n;
        }
        char obj[KL_ID_LEN];
        if (kl_store_put_commit(w, obj, &err) < 0)
            _exit(1);
        kl_run *r;
        if (kl_run_start(s, NULL, &r, &err) < 0)
            _exit(1);
        for (int i = 0; i < 20000; i++)
            if (kl_run_log_metric(r, i % 2 ? "loss" : "acc", i, i, &err) < 0)
                _exit(1);
        if (kl_run_log_artifact(r, "blob", obj, "data", &err) < 0 ||
            kl_run_end(r, KL_RUN_STATUS_FINISHED, &err) < 0)
            _exit(1);
        if (it == 0 && seed == 0 && write(ready, "r", 1) != 1)
            _exit(1);
    }
}

typedef struct crash_check {
    kl_store *s;
    int objects, bad;
} crash_check;

static int verify_object(const char *id, uint64_t size, void *ud)
{
    (void)size;
    crash_check *c = ud;
    kl_err err = {0};
    c->objects++;
    if (kl_store_verify(c->s, id, &err) < 0) {
        fprintf(stderr, "object %s: %s\n", id, err.msg);
        c->bad++;
    }
    return 0;
}

static int ref_exists(const char *kind, const char *id, const char *role, const char *obj, void *ud)
{
    crash_check *c = ud;
    if (!kl_store_has(c->s, obj)) {
        fprintf(stderr, "%s %s %s: missing object %s\n", kind, id, role, obj);
        c->bad++;
    }
    return 0;
}

static void test_meta_sigkill_leaves_store_consistent(void **state)
{
    fx *f = begin(state);
    /* 20 by default; KEEL_TEST_CRASH_ITERATIONS raises it (200 for the long suite). */
    const char *env = getenv("KEEL_TEST_CRASH_ITERATIONS");
    unsigned iterations = env && strtoul(env, NULL, 10) > 0 ? (unsigned)strtoul(env, NULL, 10) : 20;
    unsigned rng = 12345;
    for (unsigned k = 0; k < iterations; k++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            crash_child(f, k, fds[1]);
        }
        close(fds[1]);
        /* Wait until the store is open (and, the first time, one run is complete). */
        char b;
        assert_int_equal(read(fds[0], &b, 1), 1);
        if (k == 0)
            assert_int_equal(read(fds[0], &b, 1), 1);
        close(fds[0]);
        rng = rng * 1103515245u + 12345u;
        usleep((rng >> 8) % 200000); /* when the kill lands is arbitrary; the checks are not */
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    }
    /* Reopen as a new process would, then check everything. */
    kl_store_close(f->s);
    f->s = NULL;
    assert_int_equal(open_store(f, &f->s), 0);
    crash_check c = {.s = f->s};
    kl_err err = {0};
    check(kl_store_object_each(f->s, verify_object, &c, &err), &err);
    check(kl_store_object_refs(f->s, ref_exists, &c, &err), &err);
    kl_run_list l;
    check(kl_store_runs(f->s, NULL, &l, &err), &err);
    for (size_t i = 0; i < l.count; i++) {
        kl_run_detail d;
        check(kl_store_run_get(f->s, l.items[i].id, &d, &err), &err);
        for (size_t m = 0; m < d.n_metrics; m++) {
            kl_metric_series ser;
            check(kl_store_metric_history(f->s, l.items[i].id, d.metrics[m].key, &ser, &err), &err);
            /* The latest value is the last one flushed: the history ends with it. */
            assert_true(ser.values[ser.count - 1] == d.metrics[m].value);
            kl_metric_series_release(&ser);
        }
        kl_run_detail_release(&d);
    }
    kl_run_list_release(&l);
    assert_int_equal(c.bad, 0);
    if (!f->pg) {
        char path[256];
        snprintf(path, sizeof path, "%s/.keel/keel.db", f->dir);
        sqlite3 *db;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    /* Something was written before the kills: the check above saw real data. */
    assert_true(c.objects > 0);
}

/* Which backend a store uses: explicit URL, then KEEL_STORE, then .keel/keel.db. */
static void test_meta_backend_is_chosen_by_url_then_environment(void **state)
{
    fx *f = begin(state);
    kl_err err = {0};
    kl_store *s = NULL;
    kl_store_opts bad = {.url = "mysql://db/keel"};
    assert_int_equal(kl_store_open(f->dir, &bad, &s, &err), KL_EUNSUPPORTED);
    assert_null(s);
    /* Port 1 on loopback refuses connections at once. */
    kl_store_opts refused = {.url = "postgresql://keel@127.0.0.1:1/keel?connect_timeout=2"};
    assert_int_equal(kl_store_open(f->dir, &refused, &s, &err), KL_EIO);
    assert_non_null(strstr(err.msg, "cannot connect to the database"));
    char other[160];
    snprintf(other, sizeof other, "sqlite:%s/other.db", f->dir);
    setenv("KEEL_STORE", other, 1);
    check(kl_store_open(f->dir, NULL, &s, &err), &err);
    unsetenv("KEEL_STORE");
    assert_string_equal(kl_store_backend(s), "sqlite");
    kl_run *r;
    check(kl_run_start(s, NULL, &r, &err), &err);
    check(kl_run_end(r, KL_RUN_STATUS_FINISHED, &err), &err);
    kl_store_close(s);
    struct stat st;
    assert_int_equal(stat(other + 7, &st), 0);
    /* The run went to other.db, not to .keel/keel.db. */
    assert_int_equal(raw_int(f, "SELECT count(*) FROM runs"), 0);
    kl_store_opts missing = {0};
    char nodir[160];
    snprintf(nodir, sizeof nodir, "%s/no/such/dir", f->dir);
    assert_int_equal(kl_store_open(nodir, &missing, &s, &err), KL_ENOTFOUND);
}

#define BOTH(fn)                                                                                   \
    cmocka_unit_test_setup_teardown(fn, setup_sqlite, teardown),                                   \
        cmocka_unit_test_setup_teardown(fn, setup_pg, teardown)

int main(void)
{
    unsetenv("KEEL_STORE");
    /* KEEL_TEST_FILTER="*sigkill*" runs only the matching tests (tests/store.cmake uses it). */
    const char *filter = getenv("KEEL_TEST_FILTER");
    if (filter && filter[0])
        cmocka_set_test_filter(filter);
    const struct CMUnitTest tests[] = {
        BOTH(test_meta_open_twice_applies_migrations_once),
        BOTH(test_meta_newer_schema_is_refused),
        BOTH(test_meta_run_round_trip),
        BOTH(test_meta_metric_history_spans_flushes_in_order),
        BOTH(test_meta_damaged_metric_chunk_is_corrupt),
        BOTH(test_meta_filter_selects_expected_runs),
        BOTH(test_meta_filter_injection_is_a_literal),
        BOTH(test_meta_runs_metric_and_param_columns),
        BOTH(test_meta_sort_puts_missing_values_last_both_ways),
        BOTH(test_meta_resolve_ids_prefixes_names_and_tags),
        BOTH(test_meta_lineage_walks_both_directions),
        BOTH(test_meta_object_refs_lists_every_reference),
        BOTH(test_meta_references_are_checked),
        BOTH(test_meta_snapshot_add_is_idempotent),
        BOTH(test_meta_eight_processes_lose_nothing),
        BOTH(test_meta_concurrent_first_open_migrates_once),
        BOTH(test_meta_sigkill_leaves_store_consistent),
        cmocka_unit_test_setup_teardown(test_meta_backend_is_chosen_by_url_then_environment,
                                        setup_sqlite, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
