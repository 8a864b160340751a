/*
 * A search in the store: a parent run that exists from the start (so that a
 * crash leaves it findable), one child run per trial recorded as the trial
 * finishes, and at the end the final model's result in the parent.
 *
 * Invariants: a child is written completely (params, metrics, tags) before
 * its status becomes finished, so a finished child is a complete trial and a
 * resumed search may reuse it as is; anything else (running after a
 * SIGKILL, failed) is run again. The parent remembers how the search was
 * started (params search.*) and the spec's hash, and a resume refuses a
 * changed spec: the reused trials would no longer be the same trials.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/hash.h"
#include "keel/search.h"
#include "keel/snapshot.h"
#include "keel/store.h"
#include "keel/track.h"
#include "train/train_internal.h"
#include "core/common.h"

struct kl_search_recorder {
    kl_store *s;
    kl_run *parent;
    kl_search_record_opts o;
    char data_hex[KL_ID_LEN], snap[KL_ID_LEN], spec_hex[KL_ID_LEN], spec_obj[KL_ID_LEN];
    kl_run_detail detail; /* the parent as found (resume) */
    int have_detail;
    kl_search_trial *done;
    size_t n_done;
    kl_search_hooks chained;
};

/* The spec's effective YAML: its hash identifies it; stored as an object. */
static int spec_object(kl_search_recorder *rec, kl_err *err)
{
    if (!rec->o.train.spec)
        return 0;
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    if (!fp)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    int rc = kl_spec_write_yaml(rec->o.train.spec, fp, err);
    if (fclose(fp) != 0 && rc == 0)
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
    if (rc == 0) {
        uint8_t d[KL_SHA256_LEN];
        kl_sha256(buf, len, d);
        kl_hex(d, sizeof d, rec->spec_hex);
        rc = kl_store_put(rec->s, buf, len, rec->spec_obj, err);
    }
    free(buf);
    return rc;
}

static int data_snapshot(kl_search_recorder *rec, kl_err *err)
{
    if (!rec->o.train.data_path)
        return 0;
    int rc = kl_file_sha256(rec->o.train.data_path, rec->data_hex, err);
    kl_snapshot_list l = {0};
    if (rc == 0 && (rc = kl_store_snapshot_list(rec->s, NULL, &l, err)) == 0) {
        for (size_t i = 0; i < l.count; i++)
            if (l.items[i].source_hash && !strcmp(l.items[i].source_hash, rec->data_hex)) {
                memcpy(rec->snap, l.items[i].id, KL_ID_LEN);
                break;
            }
        kl_snapshot_list_release(&l);
    }
    return rc;
}

static int param_u(kl_run *run, const char *key, unsigned long long v, kl_err *err)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", v);
    return kl_run_log_param(run, key, buf, err);
}

const char *kl_search_recorder_param(const kl_search_recorder *rec, const char *key)
{
    for (size_t i = 0; rec->have_detail && i < rec->detail.n_params; i++)
        if (!strcmp(rec->detail.params[i].key, key))
            return rec->detail.params[i].value;
    return NULL;
}

const char *kl_search_recorder_run_id(const kl_search_recorder *rec)
{
    return kl_run_id(rec->parent);
}

/* A finished child back into a trial: its space params, per-fold metrics and means. */
static int load_child(kl_search_recorder *rec, const char *id, kl_search_trial *t, kl_err *err)
{
    kl_run_detail d = {0};
    int rc = kl_store_run_get(rec->s, id, &d, err);
    if (rc < 0)
        return rc;
    const kl_spec *spec = rec->o.train.spec;
    memset(t, 0, sizeof *t);
    memcpy(t->run_id, id, KL_ID_LEN);
    t->reused = 1;
    t->ok = 1;
    size_t n_folds = 0;
    for (size_t i = 0; i < d.n_params; i++) {
        const char *k = d.params[i].key, *v = d.params[i].value;
        if (!strcmp(k, "search.trial"))
            t->id = (size_t)strtoull(v, NULL, 10);
        else if (!strcmp(k, "search.rung"))
            t->rung = (size_t)strtoull(v, NULL, 10);
        else if (!strcmp(k, "search.resources"))
            t->n_resources = (size_t)strtoull(v, NULL, 10);
        else if (!strcmp(k, "search.folds"))
            n_folds = (size_t)strtoull(v, NULL, 10);
        else
            for (size_t j = 0; spec && j < spec->train.search.n_space; j++)
                if (!strcmp(spec->train.search.space[j].param, k) &&
                    t->params.n < KL_SEARCH_MAX_PARAMS) {
                    kl_search_value *sv = &t->params.v[t->params.n++];
                    sv->key = spec->train.search.space[j].param;
                    snprintf(sv->value, sizeof sv->value, "%s", v);
                }
    }
    for (size_t i = 0; i < d.n_metrics && t->n_metrics < KL_EVAL_MAX_METRICS; i++) {
        const kl_metric_desc *md = kl_metric_by_name(d.metrics[i].key);
        if (md)
            t->metrics[t->n_metrics++].desc = md;
    }
    t->fold_values = malloc((n_folds * t->n_metrics + 1) * sizeof(double));
    if (!t->fold_values) {
        kl_run_detail_release(&d);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    for (size_t j = 0; j < t->n_metrics && rc == 0; j++) {
        kl_metric_series ms = {0};
        const char *name = t->metrics[j].desc->name;
        if ((rc = kl_store_metric_history(rec->s, id, name, &ms, err)) < 0)
            break;
        for (size_t q = 0; q < ms.count; q++) {
            if (ms.steps[q] >= 0 && (size_t)ms.steps[q] < n_folds)
                t->fold_values[(size_t)ms.steps[q] * t->n_metrics + j] = ms.values[q];
            else if (ms.steps[q] == -1)
                t->metrics[j].mean = ms.values[q];
        }
        kl_metric_series_release(&ms);
        char key[96];
        snprintf(key, sizeof key, "%s_std", name);
        for (size_t i = 0; i < d.n_metrics; i++)
            if (!strcmp(d.metrics[i].key, key))
                t->metrics[j].std = d.metrics[i].value;
    }
    for (size_t i = 0; i < d.n_metrics; i++)
        if (!strcmp(d.metrics[i].key, "seconds"))
            t->seconds = d.metrics[i].value;
    kl_run_detail_release(&d);
    return rc;
}

static int resume_open(kl_search_recorder *rec, kl_err *err)
{
    kl_ref ref;
    int rc = kl_store_resolve(rec->s, "run", rec->o.resume, &ref, err);
    if (rc < 0)
        return rc;
    if ((rc = kl_store_run_get(rec->s, ref.id, &rec->detail, err)) < 0)
        return rc;
    rec->have_detail = 1;
    if (!kl_search_recorder_param(rec, "search.method"))
        return kl_err_set(err, KL_EINVAL, "run %.12s is not a hyperparameter search", ref.id);
    if (rec->detail.run.status == KL_RUN_STATUS_FINISHED)
        return kl_err_set(err, KL_EINVAL, "the search of run %.12s has finished already", ref.id);
    const char *was = rec->detail.run.spec_hash;
    if ((was || rec->spec_hex[0]) && (!was || strcmp(was, rec->spec_hex)))
        return kl_err_set(err, KL_EINVAL,
                          "keel.yaml changed since search %.12s started: its trials would not be "
                          "the same; start a new search",
                          ref.id);
    /* the finished children */
    char filter[160];
    snprintf(filter, sizeof filter, "parent = '%s' and status = 'finished'", ref.id);
    kl_run_query q = {.filter = filter, .sort = "started"};
    kl_run_list l = {0};
    if ((rc = kl_store_runs(rec->s, &q, &l, err)) < 0)
        return rc;
    rec->done = calloc(l.count ? l.count : 1, sizeof *rec->done);
    if (!rec->done)
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < l.count; i++) {
        rc = load_child(rec, l.items[i].id, &rec->done[rec->n_done], err);
        rec->n_done++;
    }
    kl_run_list_release(&l);
    if (rc < 0)
        return rc;
    if ((rc = kl_run_reopen(rec->s, ref.id, &rec->parent, err)) < 0)
        return rc;
    return kl_run_set_tag(rec->parent, "search_state", "running", err);
}

static int fresh_open(kl_search_recorder *rec, kl_err *err)
{
    const kl_search_record_opts *o = &rec->o;
    kl_run_opts ro = {.name = o->train.run_name,
                      .spec_hash = rec->spec_hex[0] ? rec->spec_hex : NULL,
                      .snapshot = rec->snap[0] ? rec->snap : NULL,
                      .seed = o->seed,
                      .has_seed = o->has_seed};
    int rc = kl_run_start(rec->s, &ro, &rec->parent, err);
    if (rc < 0)
        return rc;
    kl_run *p = rec->parent;
    if (rc == 0)
        rc = kl_run_log_param(p, "search.method", kl_search_method_name(o->method), err);
    if (rc == 0 && o->trials)
        rc = param_u(p, "search.trials", o->trials, err);
    if (rc == 0 && o->algo)
        rc = kl_run_log_param(p, "search.algo", o->algo, err);
    if (rc == 0 && o->cv_folds)
        rc = param_u(p, "search.cv", o->cv_folds, err);
    if (rc == 0 && o->has_seed)
        rc = param_u(p, "search.seed", o->seed, err);
    for (size_t i = 0; rc == 0 && i < o->train.n_params; i++) {
        char key[128];
        snprintf(key, sizeof key, "cli.%s", o->train.params[i].key);
        rc = kl_run_log_param(p, key, o->train.params[i].value, err);
    }
    if (rc == 0)
        rc = kl_run_set_tag(p, "search_state", "running", err);
    if (rc == 0 && !rec->snap[0] && rec->data_hex[0])
        rc = kl_run_set_tag(p, "data_sha256", rec->data_hex, err);
    if (rc == 0 && rec->spec_obj[0])
        rc = kl_store_link(rec->s, "object", rec->spec_obj, "run", kl_run_id(p), "spec", err);
    /* visible at once, so that a crash right now still leaves a resumable parent */
    if (rc == 0)
        rc = kl_run_flush(p, err);
    return rc;
}

int kl_search_recorder_open(kl_store *s, const kl_search_record_opts *o, kl_search_recorder **out,
                            kl_err *err)
{
    *out = NULL;
    kl_search_recorder *rec = calloc(1, sizeof *rec);
    if (!rec)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    rec->s = s;
    rec->o = *o;
    int rc = spec_object(rec, err);
    if (rc == 0)
        rc = data_snapshot(rec, err);
    if (rc == 0)
        rc = o->resume ? resume_open(rec, err) : fresh_open(rec, err);
    if (rc < 0) {
        kl_err ignored = {0};
        if (rec->parent)
            kl_run_end(rec->parent, KL_RUN_STATUS_FAILED, &ignored);
        rec->parent = NULL;
        kl_search_recorder_close(rec, NULL, &ignored);
        return rc;
    }
    *out = rec;
    return 0;
}

static int record_trial(void *ctx, kl_search_trial *t, size_t n_folds, kl_err *err)
{
    kl_search_recorder *rec = ctx;
    kl_run_opts ro = {.parent = kl_run_id(rec->parent),
                      .spec_hash = rec->spec_hex[0] ? rec->spec_hex : NULL,
                      .seed = rec->o.seed,
                      .has_seed = rec->o.has_seed};
    kl_run *run = NULL;
    int rc = kl_run_start(rec->s, &ro, &run, err);
    if (rc < 0)
        return rc;
    memcpy(t->run_id, kl_run_id(run), KL_ID_LEN);
    for (size_t i = 0; rc == 0 && i < t->params.n; i++)
        rc = kl_run_log_param(run, t->params.v[i].key, t->params.v[i].value, err);
    if (rc == 0)
        rc = param_u(run, "search.trial", t->id, err);
    if (rc == 0)
        rc = param_u(run, "search.rung", t->rung, err);
    if (rc == 0)
        rc = param_u(run, "search.resources", t->n_resources, err);
    if (rc == 0)
        rc = param_u(run, "search.folds", n_folds, err);
    for (size_t j = 0; rc == 0 && t->ok && j < t->n_metrics; j++) {
        const char *name = t->metrics[j].desc->name;
        for (size_t k = 0; rc == 0 && k < n_folds; k++)
            rc =
                kl_run_log_metric(run, name, t->fold_values[k * t->n_metrics + j], (int64_t)k, err);
        char key[96];
        snprintf(key, sizeof key, "%s_std", name);
        if (rc == 0)
            rc = kl_run_log_metric(run, name, t->metrics[j].mean, -1, err);
        if (rc == 0)
            rc = kl_run_log_metric(run, key, t->metrics[j].std, -1, err);
    }
    if (rc == 0)
        rc = kl_run_log_metric(run, "seconds", t->seconds, -1, err);
    if (rc == 0 && !t->ok)
        rc = kl_run_set_tag(run, "error", t->error, err);
    if (rc < 0) {
        kl_err ignored = {0};
        kl_run_end(run, KL_RUN_STATUS_FAILED, &ignored);
        return rc;
    }
    return kl_run_end(run, t->ok ? KL_RUN_STATUS_FINISHED : KL_RUN_STATUS_FAILED, err);
}

static void chained_progress(void *ctx, size_t done, size_t total, const kl_search_trial *best,
                             const char *metric)
{
    kl_search_recorder *rec = ctx;
    if (rec->chained.progress)
        rec->chained.progress(rec->chained.ctx, done, total, best, metric);
}

void kl_search_recorder_hooks(kl_search_recorder *rec, kl_search_hooks *hooks)
{
    rec->chained = *hooks;
    hooks->ctx = rec;
    hooks->trial_done = record_trial;
    hooks->progress = chained_progress;
    hooks->done = rec->done;
    hooks->n_done = rec->n_done;
}

/* The final result in the parent: what kl_train_record writes for a plain run, and the search's. */
static int record_final(kl_search_recorder *rec, const kl_search_result *sr, kl_err *err)
{
    kl_run *run = rec->parent;
    const kl_search_trial *b = &sr->trials[sr->best];
    int rc = kl__train_log_result(rec->s, run, &sr->final, err);
    for (size_t i = 0; rc == 0 && i < b->params.n; i++) {
        char key[96];
        snprintf(key, sizeof key, "best.%s", b->params.v[i].key);
        rc = kl_run_log_param(run, key, b->params.v[i].value, err);
    }
    if (rc == 0)
        rc = kl_run_log_metric(run, "search_seconds", sr->seconds, -1, err);
    if (rc == 0)
        rc = kl_run_log_metric(run, "trials", (double)sr->n_trials, -1, err);
    if (rc == 0 && b->run_id[0])
        rc = kl_run_set_tag(run, "best_trial", b->run_id, err);
    if (rc == 0)
        rc = kl_run_set_tag(run, "search_state", "finished", err);
    return rc;
}

int kl_search_recorder_close(kl_search_recorder *rec, const kl_search_result *r, kl_err *err)
{
    if (!rec)
        return 0;
    int rc = 0;
    if (rec->parent) {
        if (r && r->best < r->n_trials) {
            rc = record_final(rec, r, err);
            if (rc < 0) {
                kl_err ignored = {0};
                kl_run_end(rec->parent, KL_RUN_STATUS_FAILED, &ignored);
            } else {
                rc = kl_run_end(rec->parent, KL_RUN_STATUS_FINISHED, err);
            }
        } else {
            kl_err ignored = {0};
            kl_run_set_tag(rec->parent, "search_state", "interrupted", &ignored);
            kl_run_end(rec->parent, KL_RUN_STATUS_KILLED, &ignored);
        }
    }
    for (size_t i = 0; i < rec->n_done; i++)
        free(rec->done[i].fold_values);
    free(rec->done);
    if (rec->have_detail)
        kl_run_detail_release(&rec->detail);
    free(rec);
    return rc;
}
