/*
 * keel tracking: runs with their parameters, metrics, artifacts and tags,
 * recorded in a kl_store, and queries over them.
 *
 * Ownership: kl_run_start returns a run handle the caller owns until
 * kl_run_end (which always frees it); a run borrows its store, which must stay
 * open until then. Query results (kl_run_list, kl_run_detail,
 * kl_metric_series) belong to the caller and are freed with their _release.
 *
 * Metric values are buffered in the run handle and written in one transaction
 * per flush: when the buffer holds KL_RUN_FLUSH_VALUES values, when a second
 * has passed since the last flush (checked as values arrive), on
 * kl_run_flush and on kl_run_end. Each flush writes, per metric key, one
 * compact chunk of the series (table metric_series) and the key's latest value
 * (table metrics, the one filters and listings read). A process that dies
 * loses at most its unflushed values, never the store's consistency.
 */
#ifndef KEEL_TRACK_H
#define KEEL_TRACK_H

#include <stddef.h>
#include <stdint.h>

#include "keel/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kl_run kl_run;

enum kl_run_status {
    KL_RUN_STATUS_RUNNING = 0,
    KL_RUN_STATUS_FINISHED = 1,
    KL_RUN_STATUS_FAILED = 2,
    KL_RUN_STATUS_KILLED = 3,
};

/* "running", "finished", "failed", "killed" ("?" for anything else). */
const char *kl_run_status_name(enum kl_run_status st);

/* Buffered metric values that trigger a flush. */
#define KL_RUN_FLUSH_VALUES 8192

typedef struct kl_run_opts {
    const char *name;      /* may be NULL */
    const char *parent;    /* full id of the parent run (nested runs); NULL: none */
    const char *spec_hash; /* SHA-256 hex of the spec; may be NULL */
    const char *snapshot;  /* full id of the input data snapshot; may be NULL */
    uint64_t seed;
    int has_seed;           /* 1: seed is meaningful */
    /*
     * The user's project commit and dirty flag (1 dirty, 0 clean, -1
     * unknown). NULL: read them from the git repository holding the store's
     * project directory (kl_project_git; none recorded when there is none).
     */
    const char *git_commit;
    int git_dirty;
    const char *host;       /* NULL: this machine's host name */
    /*
     * When the work began, in milliseconds since the epoch; 0: now. A run
     * recorded after its work (keel train records once training is done)
     * gives its true start, so the run's duration is the work's.
     */
    int64_t started_ms;
} kl_run_opts;

/*
 * Start a run with status "running". Its id is the SHA-256 of its defining
 * content (name, parent, spec hash, snapshot, seed, git commit, host, start
 * time) and 16 random bytes, so two runs never share an id. A parent or
 * snapshot is also recorded as a lineage edge (parent -"parent"-> run,
 * snapshot -"input"-> run). opts may be NULL. Returns 0; KL_ENOTFOUND when the
 * parent or snapshot does not exist; KL_EIO on a database error.
 */
int kl_run_start(kl_store *s, const kl_run_opts *opts, kl_run **out, kl_err *err);

/* Room for a git object name: 40 hex (SHA-1) or 64 (SHA-256 repositories) and a NUL. */
#define KL_GIT_COMMIT_LEN 65

/*
 * The git state of project_dir: the commit HEAD names, read from the .git
 * of project_dir or of its nearest parent holding one (HEAD, loose refs,
 * packed-refs, linked worktrees), and *dirty: 1 when `git status
 * --porcelain` lists anything, 0 when it lists nothing, -1 when git is not
 * installed or fails. Returns 1 with commit filled, or 0 with commit "" and
 * *dirty -1 when there is no repository or no commit yet. Never an error:
 * a project outside git simply has no commit.
 */
int kl_project_git(const char *project_dir, char commit[KL_GIT_COMMIT_LEN], int *dirty);

/* The run's full id (valid until kl_run_end). */
const char *kl_run_id(const kl_run *r);

/* Set (or replace) a parameter; written at once. */
int kl_run_log_param(kl_run *r, const char *key, const char *value, kl_err *err);

/*
 * Record value for key at step (buffered; see the top of this header). No
 * allocation once the key's buffer has grown to its working size. Returns 0,
 * or the error of a flush it triggered.
 */
int kl_run_log_metric(kl_run *r, const char *key, double value, int64_t step, kl_err *err);

/* Record artifact name -> object id (an object in this store) of a kind ("model", "report"). */
int kl_run_log_artifact(kl_run *r, const char *name, const char *object_id, const char *kind,
                        kl_err *err);

/* Set (or replace) a tag on the run. */
int kl_run_set_tag(kl_run *r, const char *key, const char *value, kl_err *err);

/* Write buffered metric values now, in one transaction. */
int kl_run_flush(kl_run *r, kl_err *err);

/*
 * Flush, set the final status and end time, and free r (always, even when an
 * error is returned: the run then stays "running" in the store).
 */
int kl_run_end(kl_run *r, enum kl_run_status status, kl_err *err);

/*
 * A handle on existing run id (a full id), whose status becomes "running"
 * again until kl_run_end: for work that resumes after a crash (an
 * interrupted hyperparameter search). KL_ENOTFOUND when there is no such run.
 */
int kl_run_reopen(kl_store *s, const char *id, kl_run **out, kl_err *err);

/* ---- queries ---- */

typedef struct kl_run_info {
    char id[KL_ID_LEN];
    const char *name; /* NULL when unset, like every optional string here */
    enum kl_run_status status;
    int64_t started_ms, ended_ms; /* ms since the Unix epoch; ended_ms 0 while running */
    const char *parent, *spec_hash, *snapshot, *keel_version, *git_commit, *host;
    int git_dirty; /* -1 unknown */
    uint64_t seed;
    int has_seed;
} kl_run_info;

typedef struct kl_run_query {
    /*
     * Filter expression, NULL or "" for all runs: comparisons joined by and/or
     * (and binds tighter) with parentheses, e.g.
     *     metrics.auc > 0.8 and params.alpha = '0.1'
     * A comparison is FIELD OP VALUE with OP one of > >= < <= = != and VALUE a
     * number or a quoted string ('it''s' or "x"). FIELD is metrics.KEY (numbers
     * only), params.KEY or tags.KEY (compared as text), or a run attribute:
     * id, name, status, parent, spec_hash, snapshot, keel_version, git_commit,
     * host (text), started, ended, seed, git_dirty (numbers). A KEY with
     * characters other than letters, digits, '_', '-', '.', '/' is written in
     * backquotes: metrics.`val loss`. Values never become SQL text; they are
     * bound as statement parameters.
     */
    const char *filter;
    /*
     * Sort: comma-separated FIELD [asc|desc] (fields as above), e.g.
     * "metrics.auc desc, started". NULL or "": newest first. Runs lacking a
     * sorted metric, param or tag come last in either direction.
     */
    const char *sort;
    size_t limit; /* 0: no limit */
} kl_run_query;

typedef struct kl_run_list {
    kl_run_info *items;
    size_t count;
    void *mem_;
} kl_run_list;

/* Runs matching q (NULL: all, newest first). KL_EPARSE for a bad filter or sort. */
int kl_store_runs(kl_store *s, const kl_run_query *q, kl_run_list *out, kl_err *err);
void kl_run_list_release(kl_run_list *l);

/*
 * One metric or parameter for every run of a listing, in one query (for
 * columns in `keel runs` and `keel compare`). kl_store_runs_metric writes
 * run i's latest value of key to values[i] and 1 to has[i], or NaN and 0 when
 * the run has no such metric; values and has hold l->count items each.
 * kl_store_runs_param writes run i's parameter to out[i] (NULL when unset);
 * the strings are allocated in l and live as long as it does.
 */
int kl_store_runs_metric(kl_store *s, const kl_run_list *l, const char *key, double *values,
                         int *has, kl_err *err);
int kl_store_runs_param(kl_store *s, kl_run_list *l, const char *key, const char **out,
                        kl_err *err);

/*
 * Check a filter and a sort expression without running them (either may be
 * NULL). KL_EPARSE with a message and the offending column in ctx
 * ("filter:12") when invalid.
 */
int kl_run_query_check(const kl_run_query *q, kl_err *err);

typedef struct kl_kv {
    const char *key, *value;
} kl_kv;

typedef struct kl_metric_latest {
    const char *key;
    double value;
    int64_t step, timestamp_ms;
} kl_metric_latest;

typedef struct kl_artifact {
    const char *name, *object, *kind;
} kl_artifact;

typedef struct kl_run_detail {
    kl_run_info run;
    kl_kv *params; /* sorted by key */
    size_t n_params;
    kl_metric_latest *metrics; /* latest value of each key, sorted by key */
    size_t n_metrics;
    kl_kv *tags; /* sorted by key */
    size_t n_tags;
    kl_artifact *artifacts; /* sorted by name */
    size_t n_artifacts;
    void *mem_;
} kl_run_detail;

/* Run id (a full id; resolve prefixes with kl_store_resolve) with everything recorded. */
int kl_store_run_get(kl_store *s, const char *id, kl_run_detail *out, kl_err *err);
void kl_run_detail_release(kl_run_detail *d);

typedef struct kl_metric_series {
    int64_t *steps;
    double *values;
    int64_t *timestamps_ms;
    size_t count; /* in logging order */
} kl_metric_series;

/* Every flushed value of run id's metric key. KL_ENOTFOUND when there is none. */
int kl_store_metric_history(kl_store *s, const char *id, const char *key, kl_metric_series *out,
                            kl_err *err);
void kl_metric_series_release(kl_metric_series *m);

/* ---- import (keel import) ---- */

/*
 * Insert a run recorded elsewhere exactly as it was: info's id, name,
 * status, start and end times and attributes (keel_version included). The
 * handle adds the run's parameters, tags, artifacts and metric values
 * (kl_run_log_metric_at keeps their original times) and is finished with
 * kl_run_import_end, which flushes and frees it without touching the status
 * or times. Lineage edges are the importer's to add (kl_store_link). Returns
 * 0; KL_EEXIST when the run exists already (nothing is written);
 * KL_ENOTFOUND when its parent run or snapshot is not in the store.
 */
int kl_run_import_begin(kl_store *s, const kl_run_info *info, kl_run **out, kl_err *err);
/* kl_run_log_metric with the value's original timestamp (ms since the epoch). */
int kl_run_log_metric_at(kl_run *r, const char *key, double value, int64_t step,
                         int64_t timestamp_ms, kl_err *err);
/* Flush and free an imported run (always frees r). */
int kl_run_import_end(kl_run *r, kl_err *err);

#ifdef __cplusplus
}
#endif
#endif
