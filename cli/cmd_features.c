/*
 * keel features rank|select: the feature-selection table and the budgeted
 * recommendation (lib/train/fselect*.c does the work; include/keel/fselect.h
 * and docs/FEATURES.md describe it). This file reads keel.yaml and the data
 * (a CSV file or a snapshot of the store), turns options into
 * kl_fselect_opts, prints, and records a selected set in the store.
 *
 * Exit codes: 0 done; 2 usage (unknown method, bad budget); 3 bad input
 * (missing columns, no feature fits the budget, store errors).
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keel/csv.h"
#include "keel/fselect.h"
#include "keel/metrics.h"
#include "keel/snapshot.h"
#include "keel/spec.h"
#include "keel/store.h"
#include "keel.h"
#include "core/common.h"

#define MAX_PARAMS 32
#define MAX_FEATURES 512

static const char *const task_choices[] = {"regression", "classification", NULL};
static const char *const method_choices[] = {"mi",   "corr",        "variance", "l1",
                                             "gain", "permutation", "rfe",      NULL};

struct fs_args {
    const char *data, *target, *task, *features, *algo, *param, *method, *spec_file;
    const char *budget, *name;
    long folds, bootstraps, top_k, repeats, neighbors, seed;
    int no_stability, no_spec, json;
    kl_model_param params[MAX_PARAMS];
    size_t n_params;
    char pstore[8192];
    char *feature_buf;
    const char *feature_names[MAX_FEATURES];
    size_t n_features;
};

#define FS_OPTS_(a)                                                                                \
    KL_OPT_STRING_("data", 0, "FILE|SNAPSHOT", &(a).data,                                          \
                   "CSV file or store snapshot (default: data.source)"),                           \
        KL_OPT_STRING_("target", 0, "COL", &(a).target, "column to predict"),                      \
        KL_OPT_CHOICE_("task", 0, NULL, &(a).task, task_choices, "what is predicted"),             \
        KL_OPT_STRING_("features", 0, "A,B,C", &(a).features,                                      \
                       "candidate columns (default: what training would use)"),                    \
        KL_OPT_CHOICE_("method", 'm', NULL, &(a).method, method_choices,                           \
                       "how to rank (default: mi)"),                                               \
        KL_OPT_STRING_("algo", 0, "A", &(a).algo,                                                  \
                       "model for permutation, rfe and select (default: train.algorithm)"),        \
        KL_OPT_STRING_("param", 0, "K=V", &(a).param, "model parameter, repeatable"),              \
        KL_OPT_INT_("folds", 0, "K", &(a).folds, 2, 100, "CV folds (default: 5)"),                 \
        KL_OPT_INT_("bootstraps", 0, "B", &(a).bootstraps, 1, 1000,                                \
                    "stability: bootstrap resamples (default: 5)"),                                \
        KL_OPT_INT_("top-k", 0, "K", &(a).top_k, 1, 100000,                                        \
                    "stability: selected = top K (default: half the features)"),                   \
        KL_OPT_INT_("repeats", 0, "R", &(a).repeats, 1, 1000, "permutation repeats (default: 5)"), \
        KL_OPT_INT_("neighbors", 0, "K", &(a).neighbors, 1, 100,                                   \
                    "mutual information: k nearest neighbours (default: 3)"),                      \
        KL_OPT_FLAG_("no-stability", 0, &(a).no_stability, "skip the stability resamples"),        \
        KL_OPT_INT_("seed", 0, "N", &(a).seed, 0, 2147483647, "seed (default: train.seed)"),       \
        KL_OPT_STRING_("spec", 0, "FILE", &(a).spec_file, "spec file (default: keel.yaml)"),       \
        KL_OPT_FLAG_("no-spec", 0, &(a).no_spec, "ignore keel.yaml"), KL_OPT_JSON_(&(a).json)

static int is_project(const struct kl_cli *cli)
{
    char keel_dir[4096];
    struct stat st;
    kl_cli_path(cli, ".keel", keel_dir, sizeof keel_dir);
    return stat(keel_dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * keel.yaml, the data (a file, else a snapshot of the store) and the
 * options. Returns KL_CLI_CONTINUE or an exit code.
 */
static int load_inputs(const struct kl_cli *cli, struct fs_args *a, kl_spec **spec,
                       kl_frame **frame, kl_fselect_opts *o)
{
    kl_err err = {0};
    char spec_path[4096], path[8192];
    kl_cli_path(cli, a->spec_file ? a->spec_file : "keel.yaml", spec_path, sizeof spec_path);
    if (!a->no_spec && (a->spec_file || access(spec_path, F_OK) == 0) &&
        kl_spec_load_file(spec_path, spec, &err) < 0)
        return kl_cli_fail(&err);
    if (!*spec && (!a->target || !a->task))
        return kl_cli_error(KL_EXIT_USAGE, "no keel.yaml here: give --data, --target and --task");
    if (a->data) {
        kl_cli_path(cli, a->data, path, sizeof path);
    } else if (*spec && (*spec)->data.source) {
        const char *slash = strrchr(spec_path, '/'), *src = (*spec)->data.source;
        if (src[0] == '/' || !slash)
            snprintf(path, sizeof path, "%s", src);
        else
            snprintf(path, sizeof path, "%.*s/%s", (int)(slash - spec_path), spec_path, src);
    } else {
        return kl_cli_error(KL_EXIT_USAGE, "no data: give --data or data.source in keel.yaml");
    }
    if (a->data && access(path, F_OK) != 0 && is_project(cli)) {
        /* not a file: a snapshot id, prefix or name */
        kl_store *s = NULL;
        kl_ref ref;
        int rc = kl_store_open(cli->dir, NULL, &s, &err);
        if (rc == 0 && (rc = kl_store_resolve(s, "snapshot", a->data, &ref, &err)) == 0)
            rc = kl_snapshot_load(s, ref.id, frame, &err);
        kl_store_close(s);
        if (rc < 0) {
            if (rc == KL_ENOTFOUND)
                kl_err_set(&err, KL_ENOTFOUND, "'%s' is neither a file nor a snapshot", a->data);
            return kl_cli_fail(&err);
        }
    } else {
        kl_csv_read_opts csv = {0};
        if (*spec)
            kl_spec_csv_opts(*spec, &csv, &err);
        if (kl_csv_read_file(path, *spec ? &csv : NULL, frame, NULL, &err) < 0)
            return kl_cli_fail(&err);
    }
    if (a->features) {
        if (!(a->feature_buf = strdup(a->features)))
            return kl_cli_error(KL_EXIT_INPUT, "out of memory");
        for (char *p = a->feature_buf; p && *p && a->n_features < MAX_FEATURES;) {
            char *c = strchr(p, ',');
            if (c)
                *c = '\0';
            if (*p)
                a->feature_names[a->n_features++] = p;
            p = c ? c + 1 : NULL;
        }
    }
    *o = (kl_fselect_opts){.spec = *spec,
                           .target = a->target,
                           .features = a->feature_names,
                           .n_features = a->n_features,
                           .algo = a->algo,
                           .params = a->params,
                           .n_params = a->n_params,
                           .method = a->method ? kl_fselect_method_parse(a->method) : 0,
                           .folds = a->folds > 0 ? (size_t)a->folds : 0,
                           .bootstraps = a->bootstraps > 0 ? (size_t)a->bootstraps : 0,
                           .top_k = a->top_k > 0 ? (size_t)a->top_k : 0,
                           .repeats = a->repeats > 0 ? (size_t)a->repeats : 0,
                           .neighbors = a->neighbors > 0 ? (size_t)a->neighbors : 0,
                           .no_stability = a->no_stability};
    if (a->task) {
        o->has_task = 1;
        o->task = !strcmp(a->task, "classification") ? KL_TASK_CLASSIFICATION : KL_TASK_REGRESSION;
    }
    if (a->seed >= 0) {
        o->has_seed = 1;
        o->seed = (uint64_t)a->seed;
    }
    return KL_CLI_CONTINUE;
}

/* ---- output ---- */

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static void fmt(char *buf, size_t n, double v)
{
    if (isnan(v))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%.4g", v);
}

static json_t *rank_json(const kl_fselect_result *r)
{
    json_t *o = json_object(), *fs = json_array();
    json_object_set_new(o, "target", json_string(r->target));
    json_object_set_new(o, "task", json_string(kl_task_name(r->task)));
    json_object_set_new(o, "method", json_string(kl_fselect_method_name(r->method)));
    json_object_set_new(o, "algo", json_string(r->algo));
    json_object_set_new(o, "metric", r->main_metric ? json_string(r->main_metric) : json_null());
    json_object_set_new(o, "seed", json_integer((json_int_t)r->seed));
    json_object_set_new(o, "rows", json_integer((json_int_t)r->n_rows));
    json_object_set_new(o, "top_k", json_integer((json_int_t)r->top_k));
    json_object_set_new(o, "resamples", json_integer((json_int_t)r->resamples));
    json_object_set_new(o, "nogueira", num(r->nogueira));
    for (size_t q = 0; q < r->n_features; q++) {
        const kl_fselect_feature *f = &r->features[r->order[q]];
        json_t *pv = json_array();
        if (f->privacy & KL_FSELECT_PRIVACY_PII_NAME)
            json_array_append_new(pv, json_string("pii_name"));
        if (f->privacy & KL_FSELECT_PRIVACY_PII_VALUE)
            json_array_append_new(pv, json_string("pii_value"));
        if (f->privacy & KL_FSELECT_PRIVACY_PROXY)
            json_array_append_new(pv, json_string("proxy"));
        json_t *e = json_object();
        json_object_set_new(e, "feature", json_string(f->name));
        json_object_set_new(e, "rank", json_integer((json_int_t)f->rank));
        json_object_set_new(e, "score", num(f->score));
        json_object_set_new(e, "score_std", num(f->score_std));
        json_object_set_new(e, "mi", num(f->mi));
        json_object_set_new(e, "corr", num(f->assoc));
        json_object_set_new(e, "spearman", num(f->spearman));
        json_object_set_new(e, "variance", num(f->variance));
        json_object_set_new(e, "outputs", json_integer((json_int_t)f->n_outputs));
        json_object_set_new(e, "cost", num(f->cost));
        json_object_set_new(e, "cost_declared", json_boolean(f->cost_declared));
        json_object_set_new(e, "stability", num(f->stability));
        json_object_set_new(e, "privacy", pv);
        json_object_set_new(e, "privacy_why",
                            f->privacy ? json_string(f->privacy_why) : json_null());
        json_array_append_new(fs, e);
    }
    json_object_set_new(o, "features", fs);
    if (r->rfe_mean) {
        json_t *m = json_array(), *s = json_array();
        for (size_t k = 0; k < r->n_features; k++) {
            json_array_append_new(m, num(r->rfe_mean[k]));
            json_array_append_new(s, num(r->rfe_std[k]));
        }
        json_object_set_new(
            o, "rfe", json_pack("{s:o, s:o, s:i}", "mean", m, "std", s, "best", (int)r->rfe_best));
    }
    return o;
}

/* Signed metric back to the metric's own sign (losses are negated inside the library). */
static double own_sign(const kl_fselect_result *r, double v)
{
    const kl_metric_desc *d = r->main_metric ? kl_metric_by_name(r->main_metric) : NULL;
    return d && !d->higher_is_better ? -v : v;
}

static void print_rank(const kl_fselect_result *r)
{
    printf("ranking by %s of %zu features for '%s' (%s), %zu rows, seed %llu\n",
           kl_fselect_method_name(r->method), r->n_features, r->target, kl_task_name(r->task),
           r->n_rows, (unsigned long long)r->seed);
    if (r->method == KL_FSELECT_METHOD_PERMUTATION || r->method == KL_FSELECT_METHOD_RFE)
        printf("model: %s, metric: %s\n", r->algo, r->main_metric);
    struct kl_table *t = kl_table_new(9);
    const char *head[] = {"rank",     "feature", "score",     "mi",     "corr",
                          "variance", "cost",    "stability", "privacy"};
    kl_table_add(t, head);
    for (size_t j = 0; j < 8; j++)
        if (j != 1)
            kl_table_align_right(t, j);
    for (size_t q = 0; q < r->n_features; q++) {
        const kl_fselect_feature *f = &r->features[r->order[q]];
        char rk[16], sc[48], mi[24], co[24], va[24], cost[24], st[24];
        snprintf(rk, sizeof rk, "%zu", f->rank);
        fmt(sc, sizeof sc, f->score);
        if (!isnan(f->score_std)) {
            size_t L = strlen(sc);
            snprintf(sc + L, sizeof sc - L, " ± %.2g", f->score_std);
        }
        fmt(mi, sizeof mi, f->mi);
        fmt(co, sizeof co, f->assoc);
        fmt(va, sizeof va, f->variance);
        fmt(cost, sizeof cost, f->cost);
        fmt(st, sizeof st, f->stability);
        const char *row[] = {
            rk, f->name, sc, mi, co, va, cost, st, f->privacy ? f->privacy_why : ""};
        kl_table_add(t, row);
    }
    kl_table_print(t, stdout, 48);
    kl_table_free(t);
    if (r->resamples)
        printf("stability: share of %zu resamples (folds and bootstraps) with the feature in "
               "the top %zu; Nogueira index %.3f\n",
               r->resamples, r->top_k, r->nogueira);
    if (r->rfe_mean) {
        printf("rfe: CV %s by number of features:", r->main_metric);
        for (size_t k = 0; k < r->n_features; k++)
            printf(" %zu:%.4g", k + 1, own_sign(r, r->rfe_mean[k]));
        printf("; best %zu\n", r->rfe_best);
    }
}

static int cmd_rank(struct kl_cli *cli, int argc, char **argv)
{
    struct fs_args a = {0};
    const struct kl_opt opts[] = {FS_OPTS_(a), KL_OPT_END_};
    const struct kl_usage u = {
        "[options]",
        "Rank the features training would use (keel.yaml features, never\n"
        "protected columns) by a filter (mi, corr, variance), an embedded score\n"
        "(l1, gain), permutation importance or recursive feature elimination.\n"
        "Each row also shows the filters, the feature's cost (features.costs,\n"
        "else its share of the model's per-row work), its stability over CV\n"
        "folds and bootstrap resamples, and a privacy flag (PII or proxy).",
        opts, 0, 0};
    a.seed = -1;
    char *pos[1];
    int n_pos = 0;
    int rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    if ((rc = kl_cli_collect_params(argc, argv, "features rank", a.params, MAX_PARAMS, &a.n_params,
                                    a.pstore, sizeof a.pstore)) != KL_EXIT_OK)
        return rc;
    kl_spec *spec = NULL;
    kl_frame *frame = NULL;
    kl_fselect_opts o;
    kl_fselect_result r = {0};
    kl_err err = {0};
    if ((rc = load_inputs(cli, &a, &spec, &frame, &o)) != KL_CLI_CONTINUE)
        goto done;
    if (kl_fselect_rank(frame, &o, &r, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto done;
    }
    if (a.json)
        rc = kl_cli_json_print(rank_json(&r));
    else {
        print_rank(&r);
        rc = KL_EXIT_OK;
    }
done:
    kl_fselect_result_release(&r);
    free(a.feature_buf);
    kl_frame_free(frame);
    kl_spec_free(spec);
    return rc;
}

static int cmd_select(struct kl_cli *cli, int argc, char **argv)
{
    struct fs_args a = {0};
    const struct kl_opt opts[] = {
        KL_OPT_STRING_("budget", 'b', "COST", &a.budget,
                       "total cost allowed (default: features.budget)"),
        KL_OPT_STRING_("name", 0, "NAME", &a.name, "name of the feature set (default: features)"),
        FS_OPTS_(a),
        KL_OPT_END_,
    };
    const struct kl_usage u = {
        "[options]",
        "Recommend the feature subset with the best cross-validated main metric\n"
        "whose total cost fits the budget (greedy forward selection guided by\n"
        "the ranking), print it with its metric and cost, and record it in the\n"
        "store as a named feature set that 'keel train --feature-set NAME' uses.",
        opts, 0, 0};
    a.seed = -1;
    char *pos[1];
    int n_pos = 0;
    int rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    if ((rc = kl_cli_collect_params(argc, argv, "features select", a.params, MAX_PARAMS,
                                    &a.n_params, a.pstore, sizeof a.pstore)) != KL_EXIT_OK)
        return rc;
    double budget = NAN;
    if (a.budget) {
        char *end;
        errno = 0;
        budget = strtod(a.budget, &end);
        if (errno || end == a.budget || *end || !(budget >= 0) || isinf(budget))
            return kl_cli_error(KL_EXIT_USAGE, "option '--budget' needs a number >= 0, not '%s'",
                                a.budget);
    }
    const char *name = a.name ? a.name : "features";
    kl_spec *spec = NULL;
    kl_frame *frame = NULL;
    kl_fselect_opts o;
    kl_fselect_choice c = {0};
    kl_err err = {0};
    char run_id[KL_ID_LEN] = "";
    if ((rc = load_inputs(cli, &a, &spec, &frame, &o)) != KL_CLI_CONTINUE)
        goto done;
    if (isnan(budget)) {
        if (!spec || !spec->features.has_budget) {
            rc = kl_cli_error(KL_EXIT_USAGE, "no budget: give --budget or features.budget");
            goto done;
        }
        budget = spec->features.budget;
    }
    if (kl_fselect_select(frame, &o, budget, &c, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto done;
    }
    if (is_project(cli)) {
        kl_store *s = NULL;
        if (kl_store_open(cli->dir, NULL, &s, &err) < 0 ||
            kl_fselect_record(s, &c, name, run_id, &err) < 0) {
            kl_store_close(s);
            rc = kl_cli_fail(&err);
            goto done;
        }
        kl_store_close(s);
    } else {
        kl_cli_warn("no .keel/ here: the feature set is not recorded (run 'keel init' first)");
    }
    if (a.json) {
        json_t *j = json_object(), *names = json_array(), *path = json_array();
        for (size_t i = 0; i < c.n; i++)
            json_array_append_new(names, json_string(c.names[i]));
        for (size_t i = 0; i < c.n_steps; i++)
            json_array_append_new(
                path, json_pack("{s:s, s:i, s:o, s:o, s:o}", "added", c.steps[i].added, "n",
                                (int)c.steps[i].n, "metric", num(c.steps[i].metric), "std",
                                num(c.steps[i].std), "cost", num(c.steps[i].cost)));
        json_object_set_new(j, "name", json_string(name));
        json_object_set_new(j, "run_id", run_id[0] ? json_string(run_id) : json_null());
        json_object_set_new(j, "budget", num(c.budget));
        json_object_set_new(j, "cost", num(c.cost));
        json_object_set_new(j, "metric",
                            json_pack("{s:s, s:o, s:o, s:i}", "name", c.rank.main_metric, "mean",
                                      num(c.metric), "std", num(c.std), "folds", (int)c.folds));
        json_object_set_new(j, "features", names);
        json_object_set_new(j, "path", path);
        json_object_set_new(j, "ranking", rank_json(&c.rank));
        rc = kl_cli_json_print(j);
    } else {
        printf("feature set '%s'%s%.12s%s: %zu of %zu features, cost %.4g of budget %.4g\n", name,
               run_id[0] ? " (run " : "", run_id, run_id[0] ? ")" : "", c.n, c.rank.n_features,
               c.cost, c.budget);
        printf("%s (%zu-fold CV, %s): %.4g ± %.2g\n", c.rank.main_metric, c.folds, c.rank.algo,
               c.metric, c.std);
        printf("features:");
        for (size_t i = 0; i < c.n; i++)
            printf("%s%s", i ? ", " : " ", c.names[i]);
        printf("\npath (ranked by %s):\n", kl_fselect_method_name(c.rank.method));
        for (size_t i = 0; i < c.n_steps; i++)
            printf("  +%-20s %s %.4g ± %.2g, cost %.4g\n", c.steps[i].added, c.rank.main_metric,
                   c.steps[i].metric, c.steps[i].std, c.steps[i].cost);
        rc = KL_EXIT_OK;
    }
done:
    kl_fselect_choice_release(&c);
    free(a.feature_buf);
    kl_frame_free(frame);
    kl_spec_free(spec);
    return rc;
}

static const struct kl_cmd features = {
    "features", NULL, "Rank features; choose a set under a cost budget.", 55, NULL};
static const struct kl_cmd rank = {"rank", cmd_rank,
                                   "rank features by a method, with cost, stability and privacy",
                                   10, "features"};
static const struct kl_cmd select_ = {"select", cmd_select,
                                      "recommend and record the best feature set under a budget",
                                      20, "features"};
KL_COMMANDS(features, &features, &rank, &select_);
