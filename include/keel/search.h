/*
 * Hyperparameter search: grid, random and successive halving over the
 * space keel.yaml declares (train.search), every trial cross-validated, the
 * best one refitted on all rows; trials spread over the cores.
 *
 * Ownership: kl_search_run fills a kl_search_result the caller releases with
 * kl_search_result_release (it owns the trials' fold values and the final
 * kl_train_result, model included). Frames, options and the space are
 * borrowed and must outlive the call. A kl_search_recorder belongs to the
 * caller from kl_search_recorder_open to kl_search_recorder_close.
 *
 * Candidates. A candidate is one value for each space entry whose `when`
 * conditions hold (entries are resolved in order, so a condition names an
 * earlier entry); an entry whose conditions fail is absent, not defaulted.
 * Values are text: integers in decimal, floats with 6 significant digits
 * ("%.6g", clamped into [low, high]), choices as written.
 *   grid:    the cartesian product in declaration order (the last entry
 *            varies fastest): choices and `values:` lists, int ranges from
 *            low to high by step (1), float ranges by step (required for a
 *            grid); with log: true the step is a factor (low, low*step, ...).
 *            An absent entry contributes one "absent" point. trials is ignored.
 *   random:  trials draws; draw i uses only kl_rng_stream(seed, i), so trial
 *            i's values depend only on the seed and i. Ints are uniform over
 *            [low, high] (log: exp of a uniform over [log(low - 0.5),
 *            log(high + 0.5)], rounded, as Optuna); floats uniform or
 *            log-uniform, snapped to step when given; lists uniform.
 *   halving: successive halving with scikit-learn's HalvingRandomSearchCV
 *            semantics, resource = training rows: trials random candidates
 *            (drawn as above) start at min_resources rows per fold fit;
 *            after each rung the best ceil(n / factor) go on with factor
 *            times more rows, for min(1 + floor(log_factor(trials)),
 *            1 + floor(log_factor(max / min_resources))) rungs (max: the
 *            training rows of the data). min_resources "exhaust" (0, the
 *            default) is max(smallest, max // factor^(rungs needed - 1)),
 *            "smallest" (-1) 2 x folds (x classes for classification).
 *            A rung's rows are the first n of a fixed, class-balanced
 *            shuffle of each fold's training rows (so rungs are nested);
 *            validation always uses the fold's whole test part. The best
 *            trial is the best of the last rung.
 *
 * Trials. Each candidate (at each rung) is a trial: fit and validate on
 * every fold of the run's split (kl_train's validation: train.validation or
 * opts.cv_folds), every metric per fold, and the objective's main metric
 * (kl_eval_main_metric) aggregated as mean and sample std over folds. A trial
 * whose fit fails is kept with ok = 0 and its error; it never wins. The best
 * trial has the best mean (direction per metric: higher for scores, lower for
 * losses); ties go to the lower candidate id. The final model is kl_train
 * with the best parameters on top of the run's (its own CV and a refit on
 * every row), so the parent run carries the same fields a plain run does.
 *
 * Threads. Trials x folds are one task queue (OpenMP, dynamic) on the
 * kl_threads() found at the start; each task fits single-threaded (the
 * search sets kl_threads_set(1) while the queue runs, and sets the count it
 * found back afterwards, so the process-wide thread count is pinned to that
 * value from then on) with BLAS held to one thread, so every number is the
 * same whatever the thread count, and each task writes only its own slot; a
 * trial is aggregated by the thread that finishes its last fold, in fold
 * order. Do not run other keel work in parallel threads of the same process
 * during a search: it would see one thread too.
 */
#ifndef KEEL_SEARCH_H
#define KEEL_SEARCH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "keel/err.h"
#include "keel/evaluate.h"
#include "keel/frame.h"
#include "keel/model.h"
#include "keel/spec.h"
#include "keel/store.h"
#include "keel/track.h"
#include "keel/train.h"

#define KL_SEARCH_MAX_PARAMS 32
#define KL_SEARCH_VALUE_MAX 64 /* a value's text, NUL included */
#define KL_SEARCH_MAX_GRID 10000 /* candidates of a grid, and trials of random and halving */

/* One parameter of a candidate: key borrowed from the space, value text. */
typedef struct kl_search_value {
    const char *key;
    char value[KL_SEARCH_VALUE_MAX];
} kl_search_value;

typedef struct kl_search_params {
    size_t n;
    kl_search_value v[KL_SEARCH_MAX_PARAMS];
} kl_search_params;

/* The value of key in p, or NULL when absent. */
const char *kl_search_params_get(const kl_search_params *p, const char *key);

/*
 * Check a space for a method: at most KL_SEARCH_MAX_PARAMS entries, values
 * shorter than KL_SEARCH_VALUE_MAX, a grid needs every float range to have a
 * step (or values) and at most KL_SEARCH_MAX_GRID points (each candidate
 * holds its results in memory: about 4 KiB, and 0.6 KiB per fold while it
 * runs). KL_EINVAL with the
 * entry in err->ctx ("train.search.space.eta").
 */
int kl_search_space_check(const kl_spec_space *space, size_t n, enum kl_search_method method,
                          kl_err *err);

/* Random candidate i (see the top of this file). The space must pass the check. */
void kl_search_sample(const kl_spec_space *space, size_t n, uint64_t seed, size_t i,
                      kl_search_params *out);

/*
 * The whole grid as a new array of *count candidates (caller frees), in grid
 * order. KL_EINVAL as kl_search_space_check, KL_ENOMEM.
 */
int kl_search_grid(const kl_spec_space *space, size_t n, kl_search_params **out, size_t *count,
                   kl_err *err);

/* ---- trials and results ---- */

typedef struct kl_search_trial {
    size_t id;          /* candidate id: grid position or random draw number */
    size_t rung;        /* halving rung (0-based); 0 for grid and random */
    size_t n_resources; /* halving: training rows per fold fit; 0 (all) otherwise */
    kl_search_params params;
    int ok; /* 0: failed, see error; mean and std are NaN */
    char error[KL_ERR_MSG_MAX];
    double mean, std; /* main metric over the folds */
    size_t n_metrics; /* metrics measured in every fold */
    kl_train_metric metrics[KL_EVAL_MAX_METRICS];
    double *fold_values;    /* n_folds x n_metrics, row-major; NULL for a failed trial */
    double seconds;         /* summed fit + validate time over its folds */
    int reused;             /* 1: read back from a finished child run (resume) */
    char run_id[KL_ID_LEN]; /* its child run, "" when not recorded */
} kl_search_trial;

typedef struct kl_search_result {
    enum kl_search_method method;
    const char *metric; /* the main metric (static string) */
    int higher_is_better;
    size_t n_folds;
    size_t n_candidates;                            /* candidates at the first (only) rung */
    size_t n_rungs;                                 /* 1 for grid and random */
    size_t rung_candidates[64], rung_resources[64]; /* halving: per rung */
    kl_search_trial *trials;                        /* in order of (rung, candidate id) */
    size_t n_trials;
    size_t best;           /* index into trials; n_trials when none succeeded */
    size_t n_reused;       /* trials taken from a previous, interrupted search */
    kl_train_result final; /* kl_train with the best parameters (model refitted on all rows) */
    kl_model_param best_params[2 * KL_MODEL_MAX_PARAMS]; /* the run's params + the best's */
    size_t n_best_params;
    double trials_seconds; /* wall time of the trials (candidates to best) */
    /*
     * CPU seconds each worker thread spent in trial tasks (CLOCK_THREAD_CPUTIME_ID):
     * their sum over their maximum is the speed-up the queue allows on idle cores,
     * whatever else the machine runs.
     */
    double worker_cpu[64];
    size_t n_workers;
    double seconds; /* wall time of the whole search, the final refit included */
} kl_search_result;

void kl_search_result_release(kl_search_result *r);

/*
 * Callbacks. trial_done and progress are called with a lock held (never
 * two at a time, from whichever thread finished the trial); trial_done may
 * record the trial and set t->run_id; a negative return stops the search
 * with that error. done lists trials of an interrupted search to reuse: a
 * trial whose (id, rung) and params match one of them is not run again.
 */
typedef struct kl_search_hooks {
    void *ctx;
    int (*trial_done)(void *ctx, kl_search_trial *t, size_t n_folds, kl_err *err);
    void (*progress)(void *ctx, size_t done, size_t total, const kl_search_trial *best,
                     const char *metric);
    const kl_search_trial *done;
    size_t n_done;
} kl_search_hooks;

typedef struct kl_search_opts {
    enum kl_search_method method;      /* NONE: train.search.method of the spec */
    size_t trials;                     /* 0: train.search.trials */
    double factor;                     /* 0: train.search.factor (3) */
    int has_min_resources;             /* 1: min_resources overrides the spec */
    int64_t min_resources;             /* as kl_spec's: 0 exhaust, -1 smallest, else rows */
    const volatile sig_atomic_t *stop; /* when it becomes nonzero the search stops (KL_EIO
                                          "search interrupted") after the running tasks */
    int no_final;                      /* 1: skip the final kl_train (tests) */
} kl_search_opts;

/*
 * Run the search that train->spec's train.search (with opts on top)
 * describes on frame f, with train's options for everything else (algorithm,
 * params, features, validation, seed: the seed of the random draws and of
 * the halving shuffles too). Every candidate is checked against the
 * algorithm's parameters before any trial runs. Errors: KL_EINVAL (no
 * search section or space, bad space, a candidate's parameter rejected:
 * err->ctx names the space entry), kl_train's errors, a hook's error,
 * KL_EIO when stopped; KL_ECHECK when every trial failed (the first
 * failure's message). On failure the result keeps the finished trials (the
 * caller still releases it).
 */
int kl_search_run(const kl_frame *f, const kl_train_opts *train, const kl_search_opts *opts,
                  const kl_search_hooks *hooks, kl_search_result *out, kl_err *err);

/* ---- the engine alone, for any objective (tests, other resources) ---- */

/*
 * What the engine evaluates: fold(ctx, params, fold, rows, out) fits on the
 * first `rows` rows of fold's class-balanced training order (0: all rows)
 * and fills out with the fold's metrics. Must be thread-safe.
 */
typedef struct kl_search_objective {
    size_t n_folds;
    size_t max_rows;    /* training rows in the data (halving's max resources) */
    size_t n_classes;   /* classification: classes (halving's "smallest"); else 0 */
    const char *metric; /* main metric, a kl_metric_by_name name */
    int (*fold)(void *ctx, const kl_search_params *p, size_t fold, size_t rows, kl_eval_result *out,
                kl_err *err);
    void *ctx;
} kl_search_objective;

typedef struct kl_search_plan {
    enum kl_search_method method;
    const kl_spec_space *space;
    size_t n_space;
    size_t trials;
    double factor;
    int64_t min_resources;
    uint64_t seed;
    const volatile sig_atomic_t *stop;
} kl_search_plan;

/*
 * Generate the candidates of plan and run them against obj (no final refit,
 * nothing recorded except through hooks). Fills out's trials, best, rungs.
 */
int kl_search_run_objective(const kl_search_plan *plan, const kl_search_objective *obj,
                            const kl_search_hooks *hooks, kl_search_result *out, kl_err *err);

/* ---- recording in the store: a parent run, one child run per trial ---- */

typedef struct kl_search_recorder kl_search_recorder;

typedef struct kl_search_record_opts {
    kl_train_record_opts train; /* spec, data path, run name, command-line params */
    const char *resume;         /* a parent run id (or prefix) to resume; NULL: a new search */
    /* what `keel train --resume` needs to redo the search, logged as params "search.*" */
    enum kl_search_method method;
    size_t trials;
    const char *algo;
    size_t cv_folds;
    int has_seed;
    uint64_t seed;
} kl_search_record_opts;

/*
 * Start the parent run (status running, tag search_state=running, params
 * search.method, search.trials, search.algo, search.cv, search.seed and the
 * command-line params as cli.KEY), or with o->resume reopen that parent:
 * its finished children become hooks->done (their params, per-fold metrics
 * and means read back), the rest of it is kept. KL_ENOTFOUND when resume
 * names no run; KL_EINVAL when it is not a search's parent run, or when the
 * spec's hash differs from the one the search started with.
 */
int kl_search_recorder_open(kl_store *s, const kl_search_record_opts *o, kl_search_recorder **out,
                            kl_err *err);
/* The parent run's full id. */
const char *kl_search_recorder_run_id(const kl_search_recorder *rec);
/*
 * Fill hooks: trial_done records each trial as a child run (params, every
 * metric per fold at step = fold and its mean at step -1 with "<metric>_std",
 * tags trial, rung, resources; status finished, or failed with tag error),
 * and done/n_done from a resumed parent. progress and ctx of the caller's
 * own are kept when set before: the recorder chains to them.
 */
void kl_search_recorder_hooks(kl_search_recorder *rec, kl_search_hooks *hooks);
/*
 * The parent's params as recorded (search.method, ...), for `--resume`:
 * NULL when absent. Valid until close.
 */
const char *kl_search_recorder_param(const kl_search_recorder *rec, const char *key);
/*
 * End the search: r's final result into the parent run as kl_train_record
 * does (params, metrics, model, lineage) plus the best trial (params
 * best.KEY, tag best_trial) and the counts; status finished, tag
 * search_state=finished. With r NULL (stopped or failed): status killed and
 * search_state=interrupted, so `--resume` can pick it up. Frees rec.
 */
int kl_search_recorder_close(kl_search_recorder *rec, const kl_search_result *r, kl_err *err);

#endif
