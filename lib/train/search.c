/*
 * Hyperparameter search: the engine (rungs of trials x folds on one task
 * queue), the cross-validation objective it runs for keel train, and the
 * final refit (rules at the top of keel/search.h).
 *
 * Invariants: every number a trial reports comes from its own task slots,
 * aggregated in fold order, so results never depend on the thread count or
 * on which trials ran in an earlier, interrupted process; the candidates of
 * each rung are a pure function of the plan and the previous rung's means.
 * Hooks run under one lock, so a store connection used from them is never
 * used by two threads at once.
 *
 * Why trials x folds as tasks rather than trials: 50 trials on 2 cores
 * leave the last trial alone on one core for a whole trial's time; with
 * folds as tasks the tail is one fold. Why no thread inside a trial: a
 * single-threaded fit scales perfectly across trials, while a parallel fit
 * of modest size does not.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>
#include <omp.h>

#include "keel/metrics.h"
#include "keel/parallel.h"
#include "keel/progress.h"
#include "keel/rng.h"
#include "keel/search.h"
#include "train/train_internal.h"
#include "core/common.h"

void kl_search_result_release(kl_search_result *r)
{
    for (size_t i = 0; r->trials && i < r->n_trials; i++)
        free(r->trials[i].fold_values);
    free(r->trials);
    kl_train_result_release(&r->final);
    memset(r, 0, sizeof *r);
}

/* ---- ranking ---- */

/* 1 when trial a ranks before trial b (better mean; failed last; ties by id). */
static int better(const kl_search_trial *a, const kl_search_trial *b, int higher)
{
    int va = a->ok && isfinite(a->mean), vb = b->ok && isfinite(b->mean);
    if (va != vb)
        return va;
    if (va && a->mean != b->mean)
        return higher ? a->mean > b->mean : a->mean < b->mean;
    return a->id < b->id;
}

static int g_sort_higher;
static const kl_search_trial *g_sort_trials;

static int cmp_rank(const void *x, const void *y)
{
    const kl_search_trial *a = &g_sort_trials[*(const size_t *)x],
                          *b = &g_sort_trials[*(const size_t *)y];
    return better(a, b, g_sort_higher) ? -1 : better(b, a, g_sort_higher) ? 1 : 0;
}

/* ---- the engine ---- */

struct engine {
    const kl_search_plan *plan;
    const kl_search_objective *obj;
    const kl_search_hooks *hooks;
    kl_search_result *res;
    size_t n_folds;
    /* the rung running now */
    size_t *slot_trial; /* trial index of each slot */
    size_t n_slots;
    size_t rows;
    kl_eval_result *evals; /* n_slots x n_folds */
    atomic_size_t *left;   /* folds still to finish per slot */
    atomic_int *failed;    /* per slot */
    double *secs;          /* n_slots x n_folds */
    atomic_int stop;
    int hook_rc;
    kl_err hook_err;
    size_t done, total, best;
    int threads; /* workers: kl_threads() when the search started */
};

static double now_s(void)
{
    return kl_now();
}

/* Aggregate slot s (all folds finished): metrics present in every fold, mean and std. */
static void aggregate(struct engine *e, size_t s)
{
    kl_search_trial *t = &e->res->trials[e->slot_trial[s]];
    const kl_eval_result *fe = e->evals + s * e->n_folds;
    size_t K = e->n_folds;
    for (size_t k = 0; k < K; k++)
        t->seconds += e->secs[s * K + k];
    if (atomic_load(&e->failed[s])) {
        t->ok = 0;
        t->mean = t->std = NAN;
        return;
    }
    t->n_metrics = 0;
    for (size_t j = 0; j < fe[0].n_metrics; j++) {
        const kl_metric_desc *d = fe[0].metrics[j].desc;
        int all = 1;
        double v;
        for (size_t k = 1; k < K && all; k++)
            all = kl_eval_metric_get(&fe[k], d->name, &v);
        if (all && t->n_metrics < KL_EVAL_MAX_METRICS)
            t->metrics[t->n_metrics++].desc = d;
    }
    t->fold_values = malloc((K * t->n_metrics + 1) * sizeof(double));
    if (!t->fold_values) {
        t->ok = 0;
        snprintf(t->error, sizeof t->error, "out of memory");
        t->mean = t->std = NAN;
        return;
    }
    t->ok = 0;
    t->mean = t->std = NAN;
    for (size_t j = 0; j < t->n_metrics; j++) {
        double sum = 0, ss = 0;
        for (size_t k = 0; k < K; k++) {
            double v = 0;
            kl_eval_metric_get(&fe[k], t->metrics[j].desc->name, &v);
            t->fold_values[k * t->n_metrics + j] = v;
            sum += v;
        }
        double mean = sum / (double)K;
        for (size_t k = 0; k < K; k++) {
            double d = t->fold_values[k * t->n_metrics + j] - mean;
            ss += d * d;
        }
        t->metrics[j].mean = mean;
        t->metrics[j].std = K > 1 ? sqrt(ss / (double)(K - 1)) : 0;
        if (!strcmp(t->metrics[j].desc->name, e->obj->metric)) {
            t->ok = isfinite(mean);
            t->mean = mean;
            t->std = t->metrics[j].std;
        }
    }
    if (!t->ok)
        snprintf(t->error, sizeof t->error, "the metric '%s' was not measured in every fold",
                 e->obj->metric);
}

/* Under the lock: the hooks for a finished trial, and the best so far. */
static void finished(struct engine *e, kl_search_trial *t)
{
    const kl_search_hooks *h = e->hooks;
    e->done++;
    size_t ti = (size_t)(t - e->res->trials);
    if (t->ok && (e->best == SIZE_MAX || e->res->trials[e->best].rung < t->rung ||
                  (e->res->trials[e->best].rung == t->rung &&
                   better(t, &e->res->trials[e->best], e->res->higher_is_better))))
        e->best = ti;
    if (h && h->trial_done && !t->reused && e->hook_rc == 0) {
        int rc = h->trial_done(h->ctx, t, e->n_folds, &e->hook_err);
        if (rc < 0) {
            e->hook_rc = rc;
            atomic_store(&e->stop, 1);
        }
    }
    if (h && h->progress)
        h->progress(h->ctx, e->done, e->total,
                    e->best == SIZE_MAX ? NULL : &e->res->trials[e->best], e->obj->metric);
}

static void run_task(void *ctx, size_t task)
{
    struct engine *e = ctx;
    size_t s = task / e->n_folds, k = task % e->n_folds;
    kl_search_trial *t = &e->res->trials[e->slot_trial[s]];
    if (e->plan->stop && *e->plan->stop)
        atomic_store(&e->stop, 1);
    if (atomic_load(&e->stop))
        return; /* the slot never completes; the search reports the stop */
    double t0 = now_s();
    struct timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    if (!atomic_load(&e->failed[s])) {
        kl_err err = {0};
        if (e->obj->fold(e->obj->ctx, &t->params, k, e->rows, &e->evals[task], &err) < 0) {
#pragma omp critical(kl_search_trial_error)
            {
                if (!atomic_exchange(&e->failed[s], 1)) {
                    if (e->n_folds > 1)
                        snprintf(t->error, sizeof t->error, "%.400s (fold %zu of %zu)", err.msg,
                                 k + 1, e->n_folds);
                    else
                        snprintf(t->error, sizeof t->error, "%s", err.msg);
                }
            }
        }
    }
    e->secs[task] = now_s() - t0;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    size_t w = (size_t)omp_get_thread_num();
    if (w < KL_ARRAY_LEN(e->res->worker_cpu)) /* each worker writes only its own slot */
        e->res->worker_cpu[w] +=
            (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) * 1e-9;
    if (atomic_fetch_sub(&e->left[s], 1) == 1) {
        aggregate(e, s);
#pragma omp critical(kl_search_hooks)
        finished(e, t);
    }
}

/* Reuse a trial of an interrupted search when (id, rung) and params match. */
static int reuse(kl_search_trial *t, const kl_search_hooks *h, size_t n_folds, const char *metric)
{
    for (size_t i = 0; h && i < h->n_done; i++) {
        const kl_search_trial *d = &h->done[i];
        if (d->id != t->id || d->rung != t->rung || d->params.n != t->params.n)
            continue;
        int same = 1;
        for (size_t p = 0; p < t->params.n && same; p++) {
            const char *v = kl_search_params_get(&d->params, t->params.v[p].key);
            same = v && !strcmp(v, t->params.v[p].value);
        }
        if (!same)
            continue;
        t->ok = 0;
        t->n_metrics = d->n_metrics;
        for (size_t j = 0; j < d->n_metrics; j++)
            if (d->ok && !strcmp(d->metrics[j].desc->name, metric) &&
                isfinite(d->metrics[j].mean)) {
                t->ok = 1;
                t->mean = d->metrics[j].mean;
                t->std = d->metrics[j].std;
            }
        if (!t->ok)
            continue;
        memcpy(t->metrics, d->metrics, sizeof t->metrics);
        memcpy(t->error, d->error, sizeof t->error);
        t->seconds = d->seconds;
        memcpy(t->run_id, d->run_id, sizeof t->run_id);
        t->reused = 1;
        if (d->fold_values) {
            t->fold_values = malloc((n_folds * d->n_metrics + 1) * sizeof(double));
            if (!t->fold_values)
                return -1;
            memcpy(t->fold_values, d->fold_values, n_folds * d->n_metrics * sizeof(double));
        }
        return 1;
    }
    return 0;
}

/* Run the trials res->trials[first..first+n) (one rung) over the task queue. */
static int run_rung(struct engine *e, size_t first, size_t n, size_t rows, kl_err *err)
{
    size_t K = e->n_folds;
    e->rows = rows;
    e->n_slots = 0;
    for (size_t i = 0; i < n; i++) {
        kl_search_trial *t = &e->res->trials[first + i];
        int rc = reuse(t, e->hooks, K, e->obj->metric);
        if (rc < 0)
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        if (rc == 1) {
            e->res->n_reused++;
            finished(e, t);
        } else {
            e->slot_trial[e->n_slots++] = first + i;
        }
    }
    for (size_t s = 0; s < e->n_slots; s++) {
        atomic_store(&e->left[s], K);
        atomic_store(&e->failed[s], 0);
    }
    /*
     * The queue runs on nt threads while every fit inside sees kl_threads() == 1,
     * so the models' own loops run inline instead of opening (inactive) nested
     * OpenMP regions thousands of times per fit.
     */
    size_t n_tasks = e->n_slots * K;
    int nt = e->threads < 1 ? 1 : e->threads;
    if ((size_t)nt > n_tasks)
        nt = n_tasks ? (int)n_tasks : 1;
    kl_threads_set(1);
    if (nt <= 1) {
        for (size_t t = 0; t < n_tasks; t++)
            run_task(e, t);
    } else {
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
        for (size_t t = 0; t < n_tasks; t++)
            run_task(e, t);
    }
    kl_threads_set(e->threads);
    if (e->hook_rc < 0) {
        *err = e->hook_err;
        return e->hook_rc;
    }
    if (atomic_load(&e->stop))
        return kl_err_set(err, KL_EIO, "search interrupted after %zu of %zu trials", e->done,
                          e->total);
    return 0;
}

/* Candidates of rung 0. */
static int candidates(const kl_search_plan *p, kl_search_params **out, size_t *n, kl_err *err)
{
    if (p->method == KL_SEARCH_METHOD_GRID)
        return kl_search_grid(p->space, p->n_space, out, n, err);
    if (p->trials > KL_SEARCH_MAX_GRID)
        return kl_err_set(err, KL_EINVAL, "%zu trials are more than a search runs (at most %d)",
                          p->trials, KL_SEARCH_MAX_GRID);
    *n = p->trials;
    if (!(*out = calloc(p->trials ? p->trials : 1, sizeof **out)))
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    for (size_t i = 0; i < p->trials; i++)
        kl_search_sample(p->space, p->n_space, p->seed, i, &(*out)[i]);
    return 0;
}

/* Halving's schedule (scikit-learn's _run_search): rungs and resources. */
static int halving_schedule(const kl_search_plan *p, const kl_search_objective *o, size_t n_cand,
                            kl_search_result *res, kl_err *err)
{
    double factor = p->factor > 1 ? p->factor : 3;
    size_t max_r = o->max_rows;
    size_t smallest = 2 * o->n_folds * (o->n_classes ? o->n_classes : 1);
    size_t n_required = 1 + (size_t)floor(log((double)n_cand) / log(factor) + 1e-12);
    size_t min_r = p->min_resources > 0 ? (size_t)p->min_resources : smallest;
    if (p->min_resources == 0) {
        size_t ex = (size_t)floor((double)max_r / pow(factor, (double)(n_required - 1)));
        if (ex > min_r)
            min_r = ex;
    }
    if (min_r > max_r)
        return kl_err_set(err, KL_EINVAL,
                          "min_resources (%zu rows) is more than the training rows (%zu)", min_r,
                          max_r);
    size_t n_possible = 1 + (size_t)floor(log((double)(max_r / min_r)) / log(factor) + 1e-12);
    size_t rungs = n_required < n_possible ? n_required : n_possible;
    if (rungs > KL_ARRAY_LEN(res->rung_candidates))
        rungs = KL_ARRAY_LEN(res->rung_candidates);
    res->n_rungs = rungs;
    size_t c = n_cand;
    for (size_t r = 0; r < rungs; r++) {
        double rows = floor(pow(factor, (double)r) * (double)min_r);
        res->rung_resources[r] = rows < (double)max_r ? (size_t)rows : max_r;
        res->rung_candidates[r] = c;
        c = (size_t)ceil((double)c / factor);
    }
    return 0;
}

int kl_search_run_objective(const kl_search_plan *plan, const kl_search_objective *obj,
                            const kl_search_hooks *hooks, kl_search_result *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    double t0 = now_s();
    out->method = plan->method;
    out->metric = obj->metric;
    const kl_metric_desc *md = kl_metric_by_name(obj->metric);
    out->higher_is_better = md ? md->higher_is_better : 1;
    out->n_folds = obj->n_folds;
    int rc = kl_search_space_check(plan->space, plan->n_space, plan->method, err);
    if (rc < 0)
        return rc;
    kl_search_params *cand = NULL;
    size_t n_cand = 0;
    if ((rc = candidates(plan, &cand, &n_cand, err)) < 0)
        return rc;
    out->n_candidates = n_cand;
    if (plan->method == KL_SEARCH_METHOD_HALVING) {
        if ((rc = halving_schedule(plan, obj, n_cand, out, err)) < 0) {
            free(cand);
            return rc;
        }
    } else {
        out->n_rungs = 1;
        out->rung_candidates[0] = n_cand;
        out->rung_resources[0] = 0;
    }
    size_t total = 0;
    for (size_t r = 0; r < out->n_rungs; r++)
        total += out->rung_candidates[r];
    size_t K = obj->n_folds, n0 = n_cand ? n_cand : 1;
    struct engine e = {.plan = plan, .obj = obj, .hooks = hooks, .res = out, .n_folds = K};
    e.total = total;
    e.best = SIZE_MAX;
    out->trials = calloc(total ? total : 1, sizeof *out->trials);
    e.slot_trial = malloc(n0 * sizeof *e.slot_trial);
    e.evals = malloc(n0 * K * sizeof *e.evals);
    e.left = malloc(n0 * sizeof *e.left);
    e.failed = malloc(n0 * sizeof *e.failed);
    e.secs = calloc(n0 * K, sizeof *e.secs);
    size_t *ids = malloc(n0 * sizeof *ids), *order = malloc(n0 * sizeof *order);
    if (!out->trials || !e.slot_trial || !e.evals || !e.left || !e.failed || !e.secs || !ids ||
        !order) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    e.threads = kl_threads();
    out->n_workers = (size_t)e.threads;
    if (out->n_workers > KL_ARRAY_LEN(out->worker_cpu))
        out->n_workers = KL_ARRAY_LEN(out->worker_cpu);
    int saved_blas = openblas_get_num_threads();
    openblas_set_num_threads(1);
    for (size_t i = 0; i < n_cand; i++)
        ids[i] = i;
    size_t n_ids = n_cand, first = 0;
    for (size_t r = 0; r < out->n_rungs && rc == 0; r++) {
        for (size_t i = 0; i < n_ids; i++) {
            kl_search_trial *t = &out->trials[first + i];
            t->id = ids[i];
            t->rung = r;
            t->n_resources = out->rung_resources[r];
            t->params = cand[ids[i]];
            t->mean = t->std = NAN;
        }
        out->n_trials = first + n_ids;
        rc = run_rung(&e, first, n_ids, out->rung_resources[r], err);
        if (rc < 0 || r + 1 == out->n_rungs)
            break;
        /* keep the best ceil(n / factor), in candidate-id order for the next rung */
        for (size_t i = 0; i < n_ids; i++)
            order[i] = first + i;
        g_sort_trials = out->trials;
        g_sort_higher = out->higher_is_better;
        qsort(order, n_ids, sizeof *order, cmp_rank);
        size_t keep = out->rung_candidates[r + 1];
        for (size_t i = 0; i < keep; i++)
            ids[i] = out->trials[order[i]].id;
        for (size_t i = 1; i < keep; i++) /* insertion sort by id: keep is small */
            for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
                size_t tmp = ids[j];
                ids[j] = ids[j - 1];
                ids[j - 1] = tmp;
            }
        first += n_ids;
        n_ids = keep;
    }
    openblas_set_num_threads(saved_blas);
    /* the best: the best of the last rung that ran */
    out->best = out->n_trials;
    if (rc == 0) {
        size_t last_first = out->n_trials - n_ids;
        for (size_t i = last_first; i < out->n_trials; i++)
            if (out->trials[i].ok &&
                (out->best == out->n_trials ||
                 better(&out->trials[i], &out->trials[out->best], out->higher_is_better)))
                out->best = i;
        if (out->best == out->n_trials && out->n_trials) {
            const kl_search_trial *f = &out->trials[last_first];
            rc = kl_err_set(err, KL_ECHECK, "every trial failed; the first: %.400s", f->error);
        }
    }
done:
    out->trials_seconds = out->seconds = now_s() - t0;
    free(cand);
    free(e.slot_trial);
    free(e.evals);
    free(e.left);
    free(e.failed);
    free(e.secs);
    free(ids);
    free(order);
    return rc;
}

/* ---- the cross-validation objective for keel train ---- */

struct cv_obj {
    kl__train_cv *cv;
    size_t n_folds, n_rows;
    size_t **order; /* per fold: its training rows in class-balanced shuffled order */
};

static int cmp_double_asc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

struct key_idx {
    double key;
    size_t pos, row;
};

static int cmp_key(const void *a, const void *b)
{
    const struct key_idx *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/*
 * A fold's training rows shuffled (stream (seed, fold)) and then spread so
 * that each class's rows sit evenly along the order (key (j + 0.5) / c_k for
 * the j-th row of a class of c_k): any prefix is close to stratified.
 */
static int balanced_order(const kl_fold *fd, const double *labels, uint64_t seed, size_t k,
                          size_t *out)
{
    size_t n = fd->n_train;
    struct key_idx *ki = malloc((n ? n : 1) * sizeof *ki);
    if (!ki)
        return -1;
    memcpy(out, fd->train, n * sizeof *out);
    kl_rng r;
    kl_rng_stream(&r, seed ^ 0x68616c76696e67ULL, k);
    kl_rng_shuffle_size(&r, out, n);
    if (!labels) {
        free(ki);
        return 0;
    }
    /* classes are small codes or values: count with a sorted copy */
    double *vals = malloc((n ? n : 1) * sizeof *vals);
    size_t *seen = NULL, nv = 0;
    if (!vals) {
        free(ki);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        vals[i] = labels[out[i]];
    qsort(vals, n, sizeof *vals, cmp_double_asc);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || vals[i] != vals[i - 1])
            vals[nv++] = vals[i];
    size_t *count = calloc(nv ? nv : 1, sizeof *count);
    seen = calloc(nv ? nv : 1, sizeof *seen);
    if (!count || !seen) {
        free(ki);
        free(vals);
        free(count);
        free(seen);
        return -1;
    }
    size_t *cls = malloc((n ? n : 1) * sizeof *cls);
    if (!cls) {
        free(ki);
        free(vals);
        free(count);
        free(seen);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        double *hit = bsearch(&labels[out[i]], vals, nv, sizeof *vals, cmp_double_asc);
        cls[i] = (size_t)(hit - vals);
        count[cls[i]]++;
    }
    for (size_t i = 0; i < n; i++) {
        size_t c = cls[i];
        ki[i] = (struct key_idx){((double)seen[c]++ + 0.5) / (double)count[c], i, out[i]};
    }
    qsort(ki, n, sizeof *ki, cmp_key);
    for (size_t i = 0; i < n; i++)
        out[i] = ki[i].row;
    free(cls);
    free(ki);
    free(vals);
    free(count);
    free(seen);
    return 0;
}

static int cv_fold(void *ctx, const kl_search_params *p, size_t k, size_t rows, kl_eval_result *out,
                   kl_err *err)
{
    struct cv_obj *o = ctx;
    const kl_fold *fd = kl__train_cv_fold(o->cv, k);
    kl_model_param extra[KL_SEARCH_MAX_PARAMS], all[2 * KL_MODEL_MAX_PARAMS];
    for (size_t i = 0; i < p->n; i++)
        extra[i] = (kl_model_param){p->v[i].key, p->v[i].value};
    size_t n_all = 0;
    int rc = kl__train_cv_params(o->cv, extra, p->n, all, KL_ARRAY_LEN(all), &n_all, err);
    if (rc < 0)
        return rc;
    if (!rows)
        return kl__train_cv_eval(o->cv, all, n_all, fd, fd->train, fd->n_train, out, err);
    /* the fold's share of the rung's rows: a prefix of its balanced order, in row order */
    size_t m = (size_t)((double)rows / (double)(o->n_rows ? o->n_rows : 1) * (double)fd->n_train);
    if (m > fd->n_train)
        m = fd->n_train;
    if (m < 1)
        m = 1;
    size_t *idx = malloc(m * sizeof *idx);
    if (!idx)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    memcpy(idx, o->order[k], m * sizeof *idx);
    qsort(idx, m, sizeof *idx, cmp_size);
    rc = kl__train_cv_eval(o->cv, all, n_all, fd, idx, m, out, err);
    free(idx);
    return rc;
}

static void cv_obj_release(struct cv_obj *o)
{
    for (size_t k = 0; o->order && k < o->n_folds; k++)
        free(o->order[k]);
    free(o->order);
    kl__train_cv_free(o->cv);
}

/* Every candidate's parameters, checked before any trial runs. */
static int check_candidates(const kl__train_cv *cv, const kl_search_plan *plan, kl_err *err)
{
    kl_search_params *cand = NULL;
    size_t n = 0;
    int rc = candidates(plan, &cand, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        kl_model_param extra[KL_SEARCH_MAX_PARAMS], all[2 * KL_MODEL_MAX_PARAMS];
        for (size_t j = 0; j < cand[i].n; j++)
            extra[j] = (kl_model_param){cand[i].v[j].key, cand[i].v[j].value};
        size_t n_all = 0;
        rc = kl__train_cv_params(cv, extra, cand[i].n, all, KL_ARRAY_LEN(all), &n_all, err);
        if (rc == 0)
            rc = kl_model_params_check(kl__train_cv_algo(cv), all, n_all, NULL, err);
        if (rc < 0) {
            /* name the space entry when the rejected parameter is one */
            char key[KL_ERR_CTX_MAX];
            snprintf(key, sizeof key, "%s", !strncmp(err->ctx, "param ", 6) ? err->ctx + 6 : "");
            if (key[0] && kl_search_params_get(&cand[i], key))
                kl_err_ctx(err, "train.search.space.%s", key);
        }
    }
    free(cand);
    return rc;
}

int kl_search_run(const kl_frame *f, const kl_train_opts *train, const kl_search_opts *opts,
                  const kl_search_hooks *hooks, kl_search_result *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    kl_search_opts none = {0};
    const kl_search_opts *so = opts ? opts : &none;
    const kl_spec *spec = train->spec;
    if (!spec || !spec->train.search.n_space)
        return kl_err_set(err, KL_EINVAL, "a search needs train.search.space in keel.yaml"),
               kl_err_ctx(err, "train.search");
    kl_search_plan plan = {
        .method = so->method != KL_SEARCH_METHOD_NONE ? so->method : spec->train.search.method,
        .space = spec->train.search.space,
        .n_space = spec->train.search.n_space,
        .trials = so->trials ? so->trials : (size_t)spec->train.search.trials,
        .factor = so->factor > 0 ? so->factor : spec->train.search.factor,
        .min_resources =
            so->has_min_resources ? so->min_resources : spec->train.search.min_resources,
        .stop = so->stop};
    if (plan.method == KL_SEARCH_METHOD_NONE)
        plan.method = KL_SEARCH_METHOD_RANDOM;
    double t0 = now_s();
    struct cv_obj o = {0};
    int rc = kl_search_space_check(plan.space, plan.n_space, plan.method, err);
    if (rc < 0)
        return rc;
    if ((rc = kl__train_cv_new(f, train, &o.cv, err)) < 0)
        return rc;
    plan.seed = kl__train_cv_seed(o.cv);
    o.n_folds = kl__train_cv_folds(o.cv);
    o.n_rows = kl_frame_row_count(f);
    if (plan.method == KL_SEARCH_METHOD_HALVING && kl__train_cv_task(o.cv) == KL_TASK_FORECAST) {
        rc = kl_err_set(err, KL_EUNSUPPORTED,
                        "halving subsamples rows, which a forecast's series cannot spare: use "
                        "grid or random");
        goto done;
    }
    if ((rc = check_candidates(o.cv, &plan, err)) < 0)
        goto done;
    if (plan.method == KL_SEARCH_METHOD_HALVING) {
        if (!(o.order = calloc(o.n_folds, sizeof *o.order))) {
            rc = kl_err_set(err, KL_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t k = 0; k < o.n_folds && rc == 0; k++) {
            const kl_fold *fd = kl__train_cv_fold(o.cv, k);
            if (!(o.order[k] = malloc((fd->n_train ? fd->n_train : 1) * sizeof(size_t))) ||
                balanced_order(fd, kl__train_cv_labels(o.cv), plan.seed, k, o.order[k]) < 0)
                rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        }
        if (rc < 0)
            goto done;
    }
    kl_search_objective obj = {.n_folds = o.n_folds,
                               .max_rows = kl_frame_row_count(f),
                               .n_classes = kl__train_cv_classes(o.cv),
                               .metric = kl__train_cv_main_metric(o.cv),
                               .fold = cv_fold,
                               .ctx = &o};
    if ((rc = kl_search_run_objective(&plan, &obj, hooks, out, err)) < 0)
        goto done;
    /* the final model: kl_train with the best parameters on top of the run's */
    const kl_search_trial *b = &out->trials[out->best];
    kl_model_param extra[KL_SEARCH_MAX_PARAMS];
    for (size_t i = 0; i < b->params.n; i++)
        extra[i] = (kl_model_param){b->params.v[i].key, b->params.v[i].value};
    size_t n_cli = 0;
    /* command-line params first, then the best's (kl_train puts spec params under both) */
    for (size_t i = 0; i < train->n_params && n_cli < KL_ARRAY_LEN(out->best_params); i++)
        out->best_params[n_cli++] = train->params[i];
    for (size_t i = 0; i < b->params.n; i++) {
        size_t k = 0;
        while (k < n_cli && strcmp(out->best_params[k].key, extra[i].key))
            k++;
        if (k == KL_ARRAY_LEN(out->best_params))
            break;
        out->best_params[k] = extra[i];
        if (k == n_cli)
            n_cli++;
    }
    out->n_best_params = n_cli;
    if (!so->no_final) {
        kl_train_opts to = *train;
        to.params = out->best_params;
        to.n_params = n_cli;
        if ((rc = kl_train(f, &to, &out->final, err)) < 0)
            goto done;
    }
done:
    out->seconds = now_s() - t0;
    cv_obj_release(&o);
    return rc;
}
