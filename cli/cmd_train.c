/*
 * keel train: fit, validate, gate and record (lib/train/train.c does the
 * work; include/keel/train.h describes the steps). This file reads keel.yaml
 * and the data, turns options into kl_train_opts, records the run in the
 * project store and prints metrics next to the SLAs.
 *
 * Exit codes: 0 trained and every validation SLA met; 1 a validation SLA was
 * missed (the run is still recorded, with the model); 2 usage; 3 bad input.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keel/csv.h"
#include "keel/curve.h"
#include "keel/fselect.h"
#include "keel/progress.h"
#include "keel/search.h"
#include "keel/spec.h"
#include "keel/store.h"
#include "keel/train.h"
#include "keel.h"
#include "core/common.h"

#define MAX_CLI_PARAMS 32
#define MAX_FEATURES 1024

static const char *const task_choices[] = {"regression", "classification", "forecast", NULL};
static const char *const search_choices[] = {"grid", "random", "halving", NULL};

struct train_args {
    const char *algo, *param, *data, *target, *task, *features, *valid, *spec_file, *threshold;
    const char *gap_text, *name, *svg, *label_cost_text, *output;
    long cv, seed;
    int learning_curve, json, no_spec;
    const char *search, *resume;
    long trials;
    int progress;
    char resume_buf[8192];
    kl_model_param params[MAX_CLI_PARAMS];
    size_t n_params;
    char *feature_buf;
    const char *feature_names[MAX_FEATURES];
    size_t n_features;
    const char *feature_set; /* --feature-set: a set recorded by `keel features select` */
    char **set_names;
};

static const char *spec_relative(const char *spec_path, const char *name, char *buf, size_t n)
{
    const char *slash = strrchr(spec_path, '/');
    if (name[0] == '/' || !slash)
        snprintf(buf, n, "%s", name);
    else
        snprintf(buf, n, "%.*s/%s", (int)(slash - spec_path), spec_path, name);
    return buf;
}

static void print_metric_value(char *buf, size_t n, double v)
{
    snprintf(buf, n, "%.6g", v);
}

static void print_sla_cell(const kl_train_result *r, const char *metric, char *buf, size_t n)
{
    buf[0] = '\0';
    size_t len = 0;
    for (size_t i = 0; i < r->n_sla; i++) {
        const kl_sla_verdict *v = &r->sla[i];
        if (strcmp(v->sla->metric, metric) || v->status > KL_SLA_STATUS_FAIL)
            continue;
        int w = snprintf(buf + len, n - len, "%s%s %.6g %s", len ? ", " : "",
                         v->sla->bound == KL_SLA_BOUND_MIN ? ">=" : "<=", v->sla->threshold,
                         v->status == KL_SLA_STATUS_PASS ? "pass" : "FAIL");
        if (w < 0 || (size_t)w >= n - len)
            break;
        len += (size_t)w;
    }
}

static void print_text(const kl_train_result *r, const char *run_id, const kl_curve *lc)
{
    printf("run %.*s: %s %s on '%s', %zu rows\n", run_id[0] ? 12 : 14,
           run_id[0] ? run_id : "(not recorded)", r->algo, kl_task_name(r->task), r->target,
           r->n_rows);
    if (!strcmp(r->split, "given"))
        printf("validation: the --valid file\n");
    else
        printf("validation: %s, %zu fold%s, seed %llu\n", r->split, r->n_folds,
               r->n_folds == 1 ? "" : "s", (unsigned long long)r->seed);
    struct kl_table *t = kl_table_new(4);
    const char *head[] = {"metric", "validation", "std", "sla"};
    kl_table_add(t, head);
    kl_table_align_right(t, 1);
    kl_table_align_right(t, 2);
    for (size_t j = 0; j < r->n_metrics; j++) {
        char v[32], s[32], sla[256];
        print_metric_value(v, sizeof v, r->metrics[j].mean);
        if (r->n_folds > 1)
            print_metric_value(s, sizeof s, r->metrics[j].std);
        else
            s[0] = '\0';
        print_sla_cell(r, r->metrics[j].desc->name, sla, sizeof sla);
        const char *row[] = {r->metrics[j].desc->name, v, s, sla};
        kl_table_add(t, row);
    }
    kl_table_print(t, stdout, 60);
    kl_table_free(t);
    for (size_t i = 0; i < r->n_sla; i++)
        if (r->sla[i].status == KL_SLA_STATUS_NOT_MEASURED)
            printf("sla %s (%s): not measured\n", r->sla[i].sla->metric,
                   kl_sla_on_name(r->sla[i].sla->on));
    char line[512];
    for (size_t i = 0; i < r->sla_groups.n; i++) {
        kl_sla_group_format(&r->sla_groups.g[i], line, sizeof line);
        printf("%s\n", line);
    }
    if (isfinite(r->gap))
        printf("overfitting: %s train %.6g vs validation %.6g, gap %.1f%% (flag above %.0f%%)%s\n",
               r->main_metric, r->main_train, r->main_valid, 100 * r->gap, 100 * r->gap_threshold,
               r->gap_flag ? ": FLAGGED" : "");
    if (r->has_threshold)
        printf("decision threshold: %.6g (%s)\n", r->threshold, r->threshold_method);
    if (r->round_metric) {
        printf("rounds: best iteration %zu of %zu (validation %s %.6g, training %.6g)",
               r->best_round, r->n_rounds, r->round_metric, r->round_valid[r->best_round],
               r->round_train[r->best_round]);
        if (r->rounds_kept)
            printf("; the final model keeps %zu rounds", r->best_round + 1);
        printf("\n");
    }
    for (size_t i = 0; i < r->n_kpi; i++) {
        const kl_kpi_verdict *k = &r->kpi[i];
        if (!k->ok)
            printf("kpi %s: %s\n", k->kpi->name, k->error);
        else if (k->has_target)
            printf("kpi %s: %.6g (target %s %.6g: %s)\n", k->kpi->name, k->value,
                   k->kpi->direction == KL_KPI_DIRECTION_MIN ? "<=" : ">=", k->kpi->target,
                   k->met ? "met" : "MISSED");
        else
            printf("kpi %s: %.6g\n", k->kpi->name, k->value);
    }
    if (lc) {
        printf("learning curve (%s, %zu folds):\n", lc->metric, lc->n_folds);
        for (size_t i = 0; i < lc->n_sizes; i++)
            printf("  %8zu rows  %.6g ± %.2g\n", lc->sizes[i], lc->mean[i], lc->std[i]);
        if (lc->fit_ok)
            printf("  power law: error(n) = %.4g * n^-%.4g + %.4g\n", lc->a, lc->b, lc->c);
        for (size_t i = 0; i < lc->n_targets; i++) {
            const kl_curve_target *g = &lc->targets[i];
            if (!g->reachable)
                printf("  %s %s %.6g: not reachable by more labels on this curve\n", g->metric,
                       g->bound == KL_SLA_BOUND_MIN ? ">=" : "<=", g->threshold);
            else if (g->rows_needed <= (double)lc->sizes[lc->n_sizes - 1])
                printf("  %s %s %.6g: reached with the rows at hand\n", g->metric,
                       g->bound == KL_SLA_BOUND_MIN ? ">=" : "<=", g->threshold);
            else {
                char high[64] = "unbounded";
                if (isfinite(g->rows_high))
                    snprintf(high, sizeof high, "%.0f", g->rows_high);
                printf("  %s %s %.6g: about %.0f training rows (range %.0f to %s)", g->metric,
                       g->bound == KL_SLA_BOUND_MIN ? ">=" : "<=", g->threshold, g->rows_needed,
                       g->rows_low, high);
                if (isfinite(g->cost))
                    printf(", %.0f more labels cost about %.6g", g->extra_rows, g->cost);
                printf("\n");
            }
        }
        if (lc->svg_path[0])
            printf("  chart: %s\n", lc->svg_path);
    }
    printf("fit %.3f s; final model refitted on all %zu rows\n", r->fit_seconds, r->n_rows);
}

static json_t *result_json(const kl_train_result *r, const char *run_id, const kl_curve *lc)
{
    json_t *o = json_object(), *m = json_object();
    json_object_set_new(o, "run_id", run_id[0] ? json_string(run_id) : json_null());
    json_object_set_new(o, "algo", json_string(r->algo));
    json_object_set_new(o, "task", json_string(kl_task_name(r->task)));
    json_object_set_new(o, "target", json_string(r->target));
    json_object_set_new(o, "rows", json_integer((json_int_t)r->n_rows));
    json_object_set_new(o, "split", json_string(r->split));
    json_object_set_new(o, "folds", json_integer((json_int_t)r->n_folds));
    json_object_set_new(o, "split_hash",
                        r->split_hash[0] ? json_string(r->split_hash) : json_null());
    json_object_set_new(o, "seed", json_integer((json_int_t)r->seed));
    json_object_set_new(o, "fit_seconds", json_real(r->fit_seconds));
    json_object_set_new(o, "total_seconds", json_real(r->total_seconds));
    for (size_t j = 0; j < r->n_metrics; j++) {
        json_t *f = json_array();
        for (size_t k = 0; k < r->n_folds; k++)
            json_array_append_new(f, json_real(r->fold_values[k * r->n_metrics + j]));
        json_object_set_new(m, r->metrics[j].desc->name,
                            json_pack("{s:f, s:f, s:o}", "mean", r->metrics[j].mean, "std",
                                      r->metrics[j].std, "folds", f));
    }
    json_object_set_new(o, "metrics", m);
    json_object_set_new(
        o, "overfitting",
        json_pack("{s:s, s:o, s:o, s:o, s:f, s:b}", "metric", r->main_metric, "train",
                  isfinite(r->main_train) ? json_real(r->main_train) : json_null(), "validation",
                  isfinite(r->main_valid) ? json_real(r->main_valid) : json_null(), "gap",
                  isfinite(r->gap) ? json_real(r->gap) : json_null(), "threshold", r->gap_threshold,
                  "flagged", r->gap_flag));
    json_object_set_new(o, "threshold",
                        r->has_threshold ? json_pack("{s:f, s:s}", "value", r->threshold, "method",
                                                     r->threshold_method)
                                         : json_null());
    json_object_set_new(o, "sla", kl_sla_verdicts_json(r->sla, r->n_sla));
    json_object_set_new(o, "sla_groups", kl_sla_groups_json(&r->sla_groups));
    json_object_set_new(o, "kpi", kl_kpi_verdicts_json(r->kpi, r->n_kpi));
    json_object_set_new(o, "sla_failed", json_integer((json_int_t)r->n_sla_failed));
    if (lc)
        json_object_set_new(o, "learning_curve", kl_curve_json(lc));
    if (r->round_metric) {
        json_t *tr = json_array(), *va = json_array();
        for (size_t i = 0; i < r->n_rounds; i++) {
            json_array_append_new(tr, json_real(r->round_train[i]));
            json_array_append_new(va, json_real(r->round_valid[i]));
        }
        json_object_set_new(o, "rounds",
                            json_pack("{s:s, s:i, s:i, s:b, s:o, s:o}", "metric", r->round_metric,
                                      "best_iteration", (json_int_t)r->best_round, "n_rounds",
                                      (json_int_t)r->n_rounds, "kept_best", r->rounds_kept, "train",
                                      tr, "valid", va));
    }
    return o;
}

/* ---- hyperparameter search (lib/train/search.c; docs/SEARCH.md) ---- */

static volatile sig_atomic_t g_stop;

static void on_sigint(int sig)
{
    (void)sig;
    g_stop = 1;
    signal(SIGINT, SIG_DFL); /* a second Ctrl-C ends the process at once */
}

static enum kl_search_method search_method_of(const char *name)
{
    return !name                      ? KL_SEARCH_METHOD_NONE
           : !strcmp(name, "grid")    ? KL_SEARCH_METHOD_GRID
           : !strcmp(name, "halving") ? KL_SEARCH_METHOD_HALVING
                                      : KL_SEARCH_METHOD_RANDOM;
}

/* Copy s into a's resume buffer (returns NULL when it is full). */
static const char *keep(struct train_args *a, size_t *used, const char *s)
{
    size_t len = strlen(s) + 1;
    if (*used + len > sizeof a->resume_buf)
        return NULL;
    char *d = a->resume_buf + *used;
    memcpy(d, s, len);
    *used += len;
    return d;
}

/* --resume RUN: the options the search started with, where the command line gives none. */
static int resume_args(struct kl_cli *cli, struct train_args *a)
{
    kl_err err = {0};
    kl_store *s = NULL;
    kl_ref ref;
    kl_run_detail d = {0};
    int rc = KL_EXIT_OK;
    if (kl_store_open(cli->dir, NULL, &s, &err) < 0 ||
        kl_store_resolve(s, "run", a->resume, &ref, &err) < 0 ||
        kl_store_run_get(s, ref.id, &d, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto done;
    }
    size_t used = 0;
    int is_search = 0;
    for (size_t i = 0; i < d.n_params && rc == KL_EXIT_OK; i++) {
        const char *k = d.params[i].key, *v = d.params[i].value;
        if (!strcmp(k, "search.method")) {
            is_search = 1;
            for (size_t c = 0; search_choices[c]; c++)
                if (!a->search && !strcmp(search_choices[c], v))
                    a->search = search_choices[c];
        } else if (!strcmp(k, "search.trials") && !a->trials) {
            a->trials = strtol(v, NULL, 10);
        } else if (!strcmp(k, "search.cv") && !a->cv) {
            a->cv = strtol(v, NULL, 10);
        } else if (!strcmp(k, "search.seed") && a->seed < 0) {
            a->seed = strtol(v, NULL, 10);
        } else if (!strcmp(k, "search.algo") && !a->algo) {
            a->algo = keep(a, &used, v);
        } else if (!strcmp(k, "search.data") && !a->data) {
            a->data = keep(a, &used, v);
        } else if (!strncmp(k, "cli.", 4) && a->n_params < MAX_CLI_PARAMS) {
            size_t j = 0;
            while (j < a->n_params && strcmp(a->params[j].key, k + 4))
                j++;
            if (j == a->n_params) {
                const char *key = keep(a, &used, k + 4), *val = keep(a, &used, v);
                if (!key || !val)
                    rc = kl_cli_error(KL_EXIT_INPUT, "run %.12s has too many parameters", ref.id);
                else
                    a->params[a->n_params++] = (kl_model_param){key, val};
            }
        }
    }
    if (rc == KL_EXIT_OK && !is_search)
        rc = kl_cli_error(KL_EXIT_INPUT, "run %.12s is not a hyperparameter search", ref.id);
done:
    kl_run_detail_release(&d);
    kl_store_close(s);
    return rc;
}

struct search_view {
    kl_progress bar;
    char label[96]; /* the bar's label, rewritten as the best trial changes */
};

static void search_progress(void *ctx, size_t done, size_t total, const kl_search_trial *best,
                            const char *metric)
{
    struct search_view *v = ctx;
    if (best)
        snprintf(v->label, sizeof v->label, "trials %zu/%zu best %s %.4g", done, total, metric,
                 best->mean);
    else
        snprintf(v->label, sizeof v->label, "trials %zu/%zu", done, total);
    v->bar.total = total;
    if (v->bar.enabled)
        kl_progress_update(&v->bar, done);
}

static void params_text(const kl_search_params *p, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < p->n; i++) {
        int w = snprintf(buf + len, n - len, "%s%s=%s", i ? " " : "", p->v[i].key, p->v[i].value);
        if (w < 0 || (size_t)w >= n - len)
            break;
        len += (size_t)w;
    }
}

/* Trials of the last rung, best first (failed last), as indices into r->trials. */
static size_t *ranked(const kl_search_result *r, size_t *n)
{
    size_t first = 0;
    for (size_t i = 0; i < r->n_trials; i++)
        if (r->trials[i].rung > r->trials[first].rung)
            first = i;
    while (first > 0 && r->trials[first - 1].rung == r->trials[first].rung)
        first--;
    *n = r->n_trials - first;
    size_t *idx = malloc((*n ? *n : 1) * sizeof *idx);
    if (!idx)
        return NULL;
    for (size_t i = 0; i < *n; i++)
        idx[i] = first + i;
    for (size_t i = 1; i < *n; i++) /* insertion sort: the table is small */
        for (size_t j = i; j > 0; j--) {
            const kl_search_trial *x = &r->trials[idx[j]], *y = &r->trials[idx[j - 1]];
            int xv = x->ok, yv = y->ok;
            int before = xv != yv ? xv
                         : xv && x->mean != y->mean
                             ? (r->higher_is_better ? x->mean > y->mean : x->mean < y->mean)
                             : x->id < y->id;
            if (!before)
                break;
            size_t t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    return idx;
}

static void print_search(const kl_search_result *r, const char *parent_id)
{
    printf("search %.*s: %s, %zu candidate%s, %zu trial%s (%zu reused), %zu fold%s, %s by %s\n",
           parent_id[0] ? 12 : 14, parent_id[0] ? parent_id : "(not recorded)",
           kl_search_method_name(r->method), r->n_candidates, r->n_candidates == 1 ? "" : "s",
           r->n_trials, r->n_trials == 1 ? "" : "s", r->n_reused, r->n_folds,
           r->n_folds == 1 ? "" : "s", r->higher_is_better ? "highest" : "lowest", r->metric);
    if (r->method == KL_SEARCH_METHOD_HALVING)
        for (size_t i = 0; i < r->n_rungs; i++)
            printf("  rung %zu: %zu candidates on %zu rows\n", i, r->rung_candidates[i],
                   r->rung_resources[i]);
    size_t n = 0, *idx = ranked(r, &n);
    if (!idx)
        return;
    struct kl_table *t = kl_table_new(4);
    const char *head[] = {"rank", "trial", r->metric, "params"};
    kl_table_add(t, head);
    kl_table_align_right(t, 0);
    kl_table_align_right(t, 1);
    kl_table_align_right(t, 2);
    for (size_t i = 0; i < n && i < 10; i++) {
        const kl_search_trial *x = &r->trials[idx[i]];
        char rank[16], id[16], val[64], ptxt[512];
        snprintf(rank, sizeof rank, "%zu", i + 1);
        snprintf(id, sizeof id, "%zu", x->id);
        if (x->ok)
            snprintf(val, sizeof val, "%.6g ± %.2g", x->mean, x->std);
        else
            snprintf(val, sizeof val, "failed");
        params_text(&x->params, ptxt, sizeof ptxt);
        const char *row[] = {rank, id, val, ptxt};
        kl_table_add(t, row);
    }
    kl_table_print(t, stdout, 100);
    kl_table_free(t);
    if (n > 10)
        printf("  ... %zu more\n", n - 10);
    free(idx);
    char ptxt[1024];
    params_text(&r->trials[r->best].params, ptxt, sizeof ptxt);
    printf("best: trial %zu, %s %.6g ± %.2g: %s\n", r->trials[r->best].id, r->metric,
           r->trials[r->best].mean, r->trials[r->best].std, ptxt);
}

static json_t *params_json(const kl_search_params *p)
{
    json_t *o = json_object();
    for (size_t i = 0; i < p->n; i++)
        json_object_set_new(o, p->v[i].key, json_string(p->v[i].value));
    return o;
}

static json_t *search_json(const kl_search_result *r, const char *parent_id)
{
    json_t *trials = json_array(), *rungs = json_array();
    for (size_t i = 0; i < r->n_trials; i++) {
        const kl_search_trial *x = &r->trials[i];
        json_t *t = json_pack("{s:i, s:i, s:o, s:b, s:b, s:f}", "id", (json_int_t)x->id, "rung",
                              (json_int_t)x->rung, "params", params_json(&x->params), "ok", x->ok,
                              "reused", x->reused, "seconds", x->seconds);
        json_object_set_new(t, "mean", x->ok ? json_real(x->mean) : json_null());
        json_object_set_new(t, "std", x->ok ? json_real(x->std) : json_null());
        if (x->ok) {
            json_t *folds = json_array();
            for (size_t j = 0; j < x->n_metrics; j++)
                if (!strcmp(x->metrics[j].desc->name, r->metric))
                    for (size_t k = 0; k < r->n_folds; k++)
                        json_array_append_new(folds,
                                              json_real(x->fold_values[k * x->n_metrics + j]));
            json_object_set_new(t, "folds", folds);
        } else {
            json_object_set_new(t, "error", json_string(x->error));
        }
        json_object_set_new(t, "run_id", x->run_id[0] ? json_string(x->run_id) : json_null());
        json_array_append_new(trials, t);
    }
    for (size_t i = 0; i < r->n_rungs; i++)
        json_array_append_new(rungs, json_pack("{s:i, s:i}", "candidates",
                                               (json_int_t)r->rung_candidates[i], "rows",
                                               (json_int_t)r->rung_resources[i]));
    const kl_search_trial *b = &r->trials[r->best];
    json_t *workers = json_array();
    for (size_t i = 0; i < r->n_workers; i++)
        json_array_append_new(workers, json_real(r->worker_cpu[i]));
    return json_pack("{s:o, s:s, s:s, s:b, s:i, s:i, s:i, s:o, s:o, s:f, s:f, s:o, s:o}", "run_id",
                     parent_id[0] ? json_string(parent_id) : json_null(), "method",
                     kl_search_method_name(r->method), "metric", r->metric, "higher_is_better",
                     r->higher_is_better, "folds", (json_int_t)r->n_folds, "candidates",
                     (json_int_t)r->n_candidates, "reused", (json_int_t)r->n_reused, "rungs", rungs,
                     "trials", trials, "seconds", r->seconds, "trials_seconds", r->trials_seconds,
                     "worker_cpu_seconds", workers, "best",
                     json_pack("{s:i, s:i, s:f, s:f, s:o}", "id", (json_int_t)b->id, "rung",
                               (json_int_t)b->rung, "mean", b->mean, "std", b->std, "params",
                               params_json(&b->params)));
}

static int train_search(struct kl_cli *cli, struct train_args *a, const kl_train_opts *to,
                        const kl_spec *spec, const kl_frame *frame, const char *data_path)
{
    kl_err err = {0};
    kl_store *s = NULL;
    kl_search_recorder *rec = NULL;
    kl_search_result res = {0};
    struct search_view view = {0};
    kl_search_hooks hooks = {.ctx = &view, .progress = search_progress};
    kl_search_opts so = {.method = search_method_of(a->search),
                         .trials = a->trials > 0 ? (size_t)a->trials : 0,
                         .stop = &g_stop};
    char parent[KL_ID_LEN] = "", keel_dir[4096];
    int rc;
    struct stat st;
    kl_cli_path(cli, ".keel", keel_dir, sizeof keel_dir);
    if (stat(keel_dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        kl_search_record_opts ro = {.train = {.spec = spec,
                                              .data_path = data_path,
                                              .run_name = a->name,
                                              .params = a->params,
                                              .n_params = a->n_params},
                                    .resume = a->resume,
                                    .method =
                                        so.method != KL_SEARCH_METHOD_NONE ? so.method
                                        : spec && spec->train.search.method != KL_SEARCH_METHOD_NONE
                                            ? spec->train.search.method
                                            : KL_SEARCH_METHOD_RANDOM,
                                    .trials = so.trials,
                                    .algo = a->algo,
                                    .cv_folds = a->cv > 0 ? (size_t)a->cv : 0,
                                    .has_seed = to->has_seed,
                                    .seed = to->seed};
        if (kl_store_open(cli->dir, NULL, &s, &err) < 0 ||
            kl_search_recorder_open(s, &ro, &rec, &err) < 0) {
            rc = kl_cli_fail(&err);
            goto done;
        }
        memcpy(parent, kl_search_recorder_run_id(rec), KL_ID_LEN);
        kl_search_recorder_hooks(rec, &hooks);
    } else if (a->resume) {
        rc = kl_cli_error(KL_EXIT_INPUT, "--resume needs a keel project (no .keel/ here)");
        goto done;
    }
    snprintf(view.label, sizeof view.label, "search");
    kl_progress_start(&view.bar, view.label, 0);
    if (a->progress)
        view.bar.enabled = 1;
    g_stop = 0;
    void (*old)(int) = signal(SIGINT, on_sigint);
    rc = kl_search_run(frame, to, &so, &hooks, &res, &err);
    signal(SIGINT, old == SIG_ERR ? SIG_DFL : old);
    if (view.bar.enabled)
        kl_progress_finish(&view.bar);
    if (rc < 0) {
        kl_err ignored = {0};
        kl_search_recorder_close(rec, NULL, &ignored);
        rec = NULL;
        if (g_stop && parent[0]) {
            kl_cli_error(KL_EXIT_INPUT,
                         "search interrupted: resume it with 'keel train --resume %.12s'", parent);
            rc = KL_EXIT_INPUT;
        } else {
            if (!err.ctx[0])
                kl_err_ctx(&err, "%s", data_path);
            rc = kl_cli_fail(&err);
        }
        goto done;
    }
    rc = kl_search_recorder_close(rec, &res, &err);
    rec = NULL;
    if (rc < 0) {
        rc = kl_cli_fail(&err);
        goto done;
    }
    if (!parent[0])
        kl_cli_warn("no .keel/ here: the search is not recorded (run 'keel init' first)");
    if (a->output) {
        char model_path[4096];
        kl_cli_path(cli, a->output, model_path, sizeof model_path);
        if (kl_model_save_file(res.final.model, model_path, &err) < 0) {
            rc = kl_cli_fail(&err);
            goto done;
        }
    }
    if (a->json) {
        json_t *o = result_json(&res.final, parent, NULL);
        json_object_set_new(o, "search", search_json(&res, parent));
        rc = kl_cli_json_print(o);
    } else {
        print_search(&res, parent);
        printf("\nthe best parameters refitted:\n");
        print_text(&res.final, parent, NULL);
        rc = KL_EXIT_OK;
    }
    if (rc == KL_EXIT_OK && res.final.n_sla_failed) {
        fflush(stdout);
        kl_cli_warn("%zu validation SLA%s missed", res.final.n_sla_failed,
                    res.final.n_sla_failed == 1 ? "" : "s");
        rc = KL_EXIT_CHECK;
    }
done:
    if (rec) {
        kl_err ignored = {0};
        kl_search_recorder_close(rec, NULL, &ignored);
    }
    kl_search_result_release(&res);
    kl_store_close(s);
    return rc;
}

static int cmd_train_run(struct kl_cli *cli, int argc, char **argv)
{
    struct train_args a = {0};
    const struct kl_opt opts[] = {
        KL_OPT_STRING_("algo", 0, "A", &a.algo, "algorithm (default: train.algorithm)"),
        KL_OPT_STRING_("param", 0, "K=V", &a.param,
                       "algorithm parameter, repeatable (on top of train.params)"),
        KL_OPT_INT_("cv", 0, "K", &a.cv, 2, 100, "k-fold cross-validation with K folds"),
        KL_OPT_STRING_("data", 0, "FILE", &a.data, "training CSV (default: data.source)"),
        KL_OPT_STRING_("target", 0, "COL", &a.target, "column to predict"),
        KL_OPT_CHOICE_("task", 0, NULL, &a.task, task_choices, "what is predicted"),
        KL_OPT_STRING_("features", 0, "A,B,C", &a.features, "feature columns (default: all)"),
        KL_OPT_STRING_("feature-set", 0, "NAME|ID", &a.feature_set,
                       "train on a feature set from 'keel features select'"),
        KL_OPT_STRING_("valid", 0, "FILE", &a.valid, "validate on this CSV instead of a split"),
        KL_OPT_STRING_("threshold", 0, "HOW", &a.threshold,
                       "binary decision threshold: cost, f1 or a number"),
        KL_OPT_STRING_("gap-threshold", 0, "X", &a.gap_text,
                       "flag a train/validation gap above X (default 0.10)"),
        KL_OPT_INT_("seed", 0, "N", &a.seed, 0, 2147483647, "seed (default: train.seed)"),
        KL_OPT_STRING_("name", 0, "NAME", &a.name, "name the run"),
        KL_OPT_STRING_("output", 'o', "FILE", &a.output, "also write the model file here"),
        KL_OPT_FLAG_("learning-curve", 0, &a.learning_curve,
                     "metric vs training-set size, power-law fit, rows needed per SLA"),
        KL_OPT_STRING_("label-cost", 0, "X", &a.label_cost_text,
                       "learning curve: cost of labelling one row (default: train.label_cost)"),
        KL_OPT_STRING_("svg", 0, "FILE", &a.svg,
                       "learning-curve chart (default: learning_curve.svg)"),
        KL_OPT_CHOICE_("search", 0, NULL, &a.search, search_choices,
                       "hyperparameter search (default: train.search.method)"),
        KL_OPT_INT_("trials", 0, "N", &a.trials, 1, 1000000,
                    "search: candidates to try (default: train.search.trials)"),
        KL_OPT_STRING_("resume", 0, "RUN", &a.resume,
                       "finish an interrupted search, reusing its finished trials"),
        KL_OPT_FLAG_("progress", 0, &a.progress, "draw the search's progress bar even off a tty"),
        KL_OPT_STRING_("spec", 0, "FILE", &a.spec_file, "spec file (default: keel.yaml)"),
        KL_OPT_FLAG_("no-spec", 0, &a.no_spec, "ignore keel.yaml"),
        KL_OPT_JSON_(&a.json),
        KL_OPT_END_,
    };
    const struct kl_usage u = {
        "[options]",
        "Train a model as keel.yaml says (objective, features, train) or as the\n"
        "options say, validate it (holdout or k-fold), report every metric next\n"
        "to the SLAs, refit on all rows and record the run (params, metrics per\n"
        "fold, the model, lineage) in the project store. Exits 1 when a\n"
        "validation SLA is missed.",
        opts, 0, 0};
    a.seed = -1;
    char *pos[1];
    int n_pos = 0;
    int rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    char pstore[8192];
    if ((rc = kl_cli_collect_params(argc, argv, "train", a.params, MAX_CLI_PARAMS, &a.n_params,
                                    pstore, sizeof pstore)) != KL_EXIT_OK)
        return rc;
    if (a.resume && (rc = resume_args(cli, &a)) != KL_EXIT_OK)
        return rc;
    double gap = 0;
    if (a.gap_text) {
        char *end;
        errno = 0;
        gap = strtod(a.gap_text, &end);
        if (errno || end == a.gap_text || *end || !(gap > 0))
            return kl_cli_error(
                KL_EXIT_USAGE, "option '--gap-threshold' needs a number > 0, not '%s'", a.gap_text);
    }

    double label_cost = 0;
    if (a.label_cost_text) {
        char *end;
        errno = 0;
        label_cost = strtod(a.label_cost_text, &end);
        if (errno || end == a.label_cost_text || *end || !(label_cost >= 0) || isinf(label_cost))
            return kl_cli_error(KL_EXIT_USAGE,
                                "option '--label-cost' needs a number >= 0, not '%s'",
                                a.label_cost_text);
    }

    kl_err err = {0};
    kl_spec *spec = NULL;
    kl_frame *frame = NULL, *valid = NULL;
    kl_train_result res = {0};
    kl_curve curve = {0};
    int have_curve = 0;
    char spec_path[4096], data_path[8192], valid_path[8192], run_id[KL_ID_LEN] = "";
    kl_cli_path(cli, a.spec_file ? a.spec_file : "keel.yaml", spec_path, sizeof spec_path);
    if (!a.no_spec && (a.spec_file || access(spec_path, F_OK) == 0) &&
        kl_spec_load_file(spec_path, &spec, &err) < 0)
        return kl_cli_fail(&err);
    if (!spec && (!a.data || !a.target || !a.task)) {
        kl_spec_free(spec);
        return kl_cli_error(KL_EXIT_USAGE,
                            "no keel.yaml here: give --data, --target and --task (or run 'keel "
                            "init')");
    }
    kl_csv_read_opts csv = {0};
    if (spec)
        kl_spec_csv_opts(spec, &csv, &err);
    if (a.data)
        kl_cli_path(cli, a.data, data_path, sizeof data_path);
    else if (spec->data.source)
        spec_relative(spec_path, spec->data.source, data_path, sizeof data_path);
    else {
        kl_spec_free(spec);
        return kl_cli_error(KL_EXIT_USAGE, "no data: give --data or data.source in keel.yaml");
    }
    if (kl_csv_read_file(data_path, spec ? &csv : NULL, &frame, NULL, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto done;
    }
    if (a.valid) {
        kl_cli_path(cli, a.valid, valid_path, sizeof valid_path);
        if (kl_csv_read_file(valid_path, spec ? &csv : NULL, &valid, NULL, &err) < 0) {
            rc = kl_cli_fail(&err);
            goto done;
        }
    }
    if (a.features) {
        a.feature_buf = strdup(a.features);
        if (!a.feature_buf) {
            rc = kl_cli_error(KL_EXIT_INPUT, "out of memory");
            goto done;
        }
        for (char *p = a.feature_buf; p && *p && a.n_features < MAX_FEATURES;) {
            char *c = strchr(p, ',');
            if (c)
                *c = '\0';
            if (*p)
                a.feature_names[a.n_features++] = p;
            p = c ? c + 1 : NULL;
        }
    }
    if (a.feature_set) {
        char keel_dir[4096];
        struct stat st;
        kl_store *fs = NULL;
        size_t n_set = 0;
        kl_cli_path(cli, ".keel", keel_dir, sizeof keel_dir);
        if (a.features)
            rc = kl_cli_error(KL_EXIT_USAGE, "give --features or --feature-set, not both");
        else if (stat(keel_dir, &st) != 0 || !S_ISDIR(st.st_mode))
            rc = kl_cli_error(KL_EXIT_INPUT, "no feature set '%s': there is no keel project here",
                              a.feature_set);
        else if (kl_store_open(cli->dir, NULL, &fs, &err) < 0 ||
                 kl_fselect_set_load(fs, a.feature_set, &a.set_names, &n_set, &err) < 0)
            rc = kl_cli_fail(&err);
        kl_store_close(fs);
        if (!a.set_names)
            goto done;
        for (size_t i = 0; i < n_set && a.n_features < MAX_FEATURES; i++)
            a.feature_names[a.n_features++] = a.set_names[i];
    }
    kl_train_opts to = {.spec = spec,
                        .algo = a.algo,
                        .target = a.target,
                        .params = a.params,
                        .n_params = a.n_params,
                        .features = a.feature_names,
                        .n_features = a.n_features,
                        .cv_folds = a.cv > 0 ? (size_t)a.cv : 0,
                        .valid = valid,
                        .gap_threshold = gap,
                        .threshold = a.threshold};
    if (a.task) {
        to.has_task = 1;
        to.task = !strcmp(a.task, "classification") ? KL_TASK_CLASSIFICATION
                  : !strcmp(a.task, "forecast")     ? KL_TASK_FORECAST
                                                    : KL_TASK_REGRESSION;
    }
    if (a.seed >= 0) {
        to.has_seed = 1;
        to.seed = (uint64_t)a.seed;
    }
    if (a.search || a.resume || (spec && spec->train.search.method != KL_SEARCH_METHOD_NONE)) {
        rc = train_search(cli, &a, &to, spec, frame, data_path);
        goto done;
    }
    if (kl_train(frame, &to, &res, &err) < 0) {
        if (!err.ctx[0])
            kl_err_ctx(&err, "%s", data_path);
        rc = kl_cli_fail(&err);
        goto done;
    }
    if (a.learning_curve) {
        char svg_path[4096];
        kl_cli_path(cli, a.svg ? a.svg : "learning_curve.svg", svg_path, sizeof svg_path);
        kl_curve_opts co = {.train = &to, .svg_path = svg_path, .label_cost = label_cost};
        if (kl_curve_run(frame, &co, &curve, &err) < 0) {
            rc = kl_cli_fail(&err);
            goto done;
        }
        have_curve = 1;
    }
    if (a.output) {
        char model_path[4096];
        kl_cli_path(cli, a.output, model_path, sizeof model_path);
        if (kl_model_save_file(res.model, model_path, &err) < 0) {
            rc = kl_cli_fail(&err);
            goto done;
        }
    }
    /* record the run when this is a keel project */
    char keel_dir[4096];
    struct stat st;
    kl_cli_path(cli, ".keel", keel_dir, sizeof keel_dir);
    if (stat(keel_dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        kl_store *s = NULL;
        kl_train_record_opts ro = {.spec = spec,
                                   .data_path = data_path,
                                   .run_name = a.name,
                                   .params = a.params,
                                   .n_params = a.n_params};
        if (kl_store_open(cli->dir, NULL, &s, &err) < 0 ||
            kl_train_record(s, &res, &ro, run_id, &err) < 0) {
            kl_store_close(s);
            rc = kl_cli_fail(&err);
            goto done;
        }
        kl_store_close(s);
    } else {
        kl_cli_warn("no .keel/ here: the run is not recorded (run 'keel init' first)");
    }
    if (a.json)
        rc = kl_cli_json_print(result_json(&res, run_id, have_curve ? &curve : NULL));
    else {
        print_text(&res, run_id, have_curve ? &curve : NULL);
        rc = KL_EXIT_OK;
    }
    if (rc == KL_EXIT_OK && res.n_sla_failed) {
        fflush(stdout);
        kl_cli_warn("%zu validation SLA%s missed", res.n_sla_failed,
                    res.n_sla_failed == 1 ? "" : "s");
        rc = KL_EXIT_CHECK;
    }
done:
    kl_curve_release(&curve);
    kl_train_result_release(&res);
    free(a.feature_buf);
    free(a.set_names);
    kl_frame_free(valid);
    kl_frame_free(frame);
    kl_spec_free(spec);
    return rc;
}

static const struct kl_cmd train = {"train", cmd_train_run,
                                    "fit, validate against the SLAs and record a model", 60, NULL};
KL_COMMANDS(train, &train);
