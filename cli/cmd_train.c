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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keel/csv.h"
#include "keel/curve.h"
#include "keel/spec.h"
#include "keel/store.h"
#include "keel/train.h"
#include "keel.h"
#include "core/common.h"

#define MAX_CLI_PARAMS 32
#define MAX_FEATURES 1024

static const char *const task_choices[] = {"regression", "classification", "forecast", NULL};

struct train_args {
    const char *algo, *param, *data, *target, *task, *features, *valid, *spec_file, *threshold;
    const char *gap_text, *name, *svg, *label_cost_text, *output;
    long cv, seed;
    int learning_curve, json, no_spec;
    kl_model_param params[MAX_CLI_PARAMS];
    size_t n_params;
    char *feature_buf;
    const char *feature_names[MAX_FEATURES];
    size_t n_features;
};

/* Every --param k=v (kl_cli_parse keeps only the last one). */
static int collect_params(int argc, char **argv, struct train_args *a, char *store, size_t cap)
{
    size_t used = 0;
    for (int i = 0; i < argc; i++) {
        const char *kv = NULL;
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--param") && i + 1 < argc)
            kv = argv[++i];
        else if (!strncmp(argv[i], "--param=", 8))
            kv = argv[i] + 8;
        if (!kv)
            continue;
        const char *eq = strchr(kv, '=');
        if (!eq || eq == kv)
            return kl_cli_error(KL_EXIT_USAGE,
                                "option '--param' needs KEY=VALUE, not '%s'; see 'keel train "
                                "--help'",
                                kv);
        size_t len = strlen(kv) + 1;
        if (a->n_params == MAX_CLI_PARAMS || used + len > cap)
            return kl_cli_error(KL_EXIT_USAGE, "too many --param options");
        char *k = store + used;
        memcpy(k, kv, len);
        used += len;
        k[eq - kv] = '\0';
        a->params[a->n_params++] = (kl_model_param){k, k + (eq - kv) + 1};
    }
    return KL_EXIT_OK;
}

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
    printf("run %.12s: %s %s on '%s', %zu rows\n", run_id[0] ? run_id : "(not recorded)", r->algo,
           kl_task_name(r->task), r->target, r->n_rows);
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
                                      (json_int_t)r->n_rounds, "kept_best", r->rounds_kept,
                                      "train", tr, "valid", va));
    }
    return o;
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
    if ((rc = collect_params(argc, argv, &a, pstore, sizeof pstore)) != KL_EXIT_OK)
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
    kl_frame_free(valid);
    kl_frame_free(frame);
    kl_spec_free(spec);
    return rc;
}

static const struct kl_cmd train = {"train", cmd_train_run,
                                    "fit, validate against the SLAs and record a model", 60, NULL};
KL_COMMANDS(train, &train);
