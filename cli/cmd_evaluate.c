/*
 * keel evaluate MODEL DATA | keel evaluate --predictions FILE --label COL
 * --score COL: metrics, KPIs and the SLA verdict of a model on labelled data,
 * or of predictions made elsewhere. Quality gates (sla entries on validation
 * or test) are judged; serving gates (production) are shown as such.
 * Exit 1 when a quality SLA is missed.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keel/csv.h"
#include "keel/evaluate.h"
#include "keel/spec.h"
#include "keel/train.h"
#include "keel.h"
#include "core/common.h"

static const char *const task_choices[] = {"regression", "classification", NULL};

/* Quality gates: validation and test entries judged against r. Returns failures. */
static size_t judge(const kl_spec *spec, const kl_eval_result *r, kl_sla_verdict *v)
{
    if (!spec || !spec->n_sla)
        return 0;
    kl_sla_verdict *t = calloc(spec->n_sla, sizeof *t);
    size_t failed = kl_sla_check(spec->sla, spec->n_sla, KL_SLA_ON_VALIDATION, r, v);
    if (!t)
        return failed;
    failed += kl_sla_check(spec->sla, spec->n_sla, KL_SLA_ON_TEST, r, t);
    for (size_t i = 0; i < spec->n_sla; i++)
        if (v[i].status == KL_SLA_STATUS_OTHER_STAGE)
            v[i] = t[i];
    free(t);
    return failed;
}

/* One line per group of each `by` gate: value, rows, Wilson half-width, verdict. */
static void print_groups(const kl_sla_groups *g)
{
    char line[512];
    for (size_t i = 0; g && i < g->n; i++) {
        kl_sla_group_format(&g->g[i], line, sizeof line);
        printf("%s\n", line);
    }
}

static int report(const kl_spec *spec, const kl_eval_result *r, size_t n_used, const char *what,
                  int json, double threshold, const kl_sla_groups *grp)
{
    size_t ns = spec ? spec->n_sla : 0, nk = spec ? spec->n_kpi : 0;
    kl_sla_verdict *sv = calloc(ns + 1, sizeof *sv);
    kl_kpi_verdict *kv = calloc(nk + 1, sizeof *kv);
    if (!sv || !kv) {
        free(sv);
        free(kv);
        return kl_cli_error(KL_EXIT_INPUT, "out of memory");
    }
    size_t failed = judge(spec, r, sv) + (grp ? grp->n_failed : 0);
    if (nk)
        kl_kpi_check(spec->kpi, nk, r, kv);
    int rc = KL_EXIT_OK;
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "evaluated", json_string(what));
        json_object_set_new(o, "rows", json_integer((json_int_t)n_used));
        json_object_set_new(o, "threshold",
                            isfinite(threshold) ? json_real(threshold) : json_null());
        json_object_set_new(o, "metrics", kl_eval_metrics_json(r));
        if (isfinite(r->tp))
            json_object_set_new(o, "confusion",
                                json_pack("{s:f, s:f, s:f, s:f}", "tp", r->tp, "fp", r->fp, "tn",
                                          r->tn, "fn", r->fn));
        json_object_set_new(o, "sla", kl_sla_verdicts_json(sv, ns));
        if (grp) /* a model on data: its `by` gates, group by group */
            json_object_set_new(o, "sla_groups", kl_sla_groups_json(grp));
        json_object_set_new(o, "kpi", kl_kpi_verdicts_json(kv, nk));
        json_object_set_new(o, "sla_failed", json_integer((json_int_t)failed));
        json_object_set_new(o, "verdict", json_string(failed ? "fail" : "pass"));
        rc = kl_cli_json_print(o);
    } else {
        printf("%s: %zu rows\n", what, n_used);
        struct kl_table *t = kl_table_new(3);
        const char *head[] = {"metric", "value", "sla"};
        kl_table_add(t, head);
        kl_table_align_right(t, 1);
        for (size_t j = 0; j < r->n_metrics; j++) {
            char v[32], cell[256] = "";
            size_t len = 0;
            snprintf(v, sizeof v, "%.6g", r->metrics[j].value);
            for (size_t i = 0; i < ns; i++) {
                if (strcmp(sv[i].sla->metric, r->metrics[j].desc->name) ||
                    sv[i].status > KL_SLA_STATUS_FAIL)
                    continue;
                int w = snprintf(
                    cell + len, sizeof cell - len, "%s%s %.6g %s", len ? ", " : "",
                    sv[i].sla->bound == KL_SLA_BOUND_MIN ? ">=" : "<=", sv[i].sla->threshold,
                    sv[i].status == KL_SLA_STATUS_PASS ? "pass" : "FAIL");
                if (w < 0 || (size_t)w >= sizeof cell - len)
                    break;
                len += (size_t)w;
            }
            const char *row[] = {r->metrics[j].desc->name, v, cell};
            kl_table_add(t, row);
        }
        kl_table_print(t, stdout, 60);
        kl_table_free(t);
        if (isfinite(r->tp))
            printf("confusion at threshold %.6g: tp %.0f fp %.0f tn %.0f fn %.0f\n", threshold,
                   r->tp, r->fp, r->tn, r->fn);
        for (size_t i = 0; i < nk; i++) {
            if (!kv[i].ok)
                printf("kpi %s: %s\n", kv[i].kpi->name, kv[i].error);
            else if (kv[i].has_target)
                printf("kpi %s: %.6g (target %s %.6g: %s)\n", kv[i].kpi->name, kv[i].value,
                       kv[i].kpi->direction == KL_KPI_DIRECTION_MIN ? "<=" : ">=",
                       kv[i].kpi->target, kv[i].met ? "met" : "MISSED");
            else
                printf("kpi %s: %.6g\n", kv[i].kpi->name, kv[i].value);
        }
        for (size_t i = 0; i < ns; i++)
            if (sv[i].status == KL_SLA_STATUS_NOT_MEASURED)
                printf("sla %s: not measured\n", sv[i].sla->metric);
        print_groups(grp);
        printf("verdict: %s\n", failed ? "FAIL" : "pass");
    }
    if (rc == KL_EXIT_OK && failed) {
        fflush(stdout);
        kl_cli_warn("%zu quality SLA%s missed", failed, failed == 1 ? "" : "s");
        rc = KL_EXIT_CHECK;
    }
    free(sv);
    free(kv);
    return rc;
}

/* Class index of each label (sorted distinct values, numbers numerically). */
struct labels {
    double *y;
    char names[2][128];
    size_t k;
};

static int binary_labels(const kl_frame *f, size_t j, const char *positive, struct labels *L,
                         kl_err *err)
{
    size_t n = kl_frame_row_count(f);
    char buf[128];
    int numeric = kl_frame_col_kind(f, j) == KL_COL_KIND_NUMERIC;
    double vals[2] = {0, 0};
    L->k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!kl_frame_cell_str(f, i, j, buf, sizeof buf))
            return kl_err_set(err, KL_EINVAL, "row %zu has no label", i + 1);
        double v = numeric ? kl_frame_col_f64(f, j)[i] : 0;
        size_t c = 0;
        while (c < L->k && (numeric ? vals[c] != v : strcmp(L->names[c], buf)))
            c++;
        if (c == L->k) {
            if (L->k == 2)
                return kl_err_set(err, KL_EUNSUPPORTED,
                                  "--predictions with a score column needs two classes; '%s' is a "
                                  "third",
                                  buf);
            snprintf(L->names[L->k], sizeof L->names[0], "%s", buf);
            vals[L->k++] = v;
        }
    }
    if (L->k < 2)
        return kl_err_set(err, KL_EINVAL, "the label column has one class only");
    int swap = numeric ? vals[0] > vals[1] : strcmp(L->names[0], L->names[1]) > 0;
    if (swap) {
        char t[128];
        memcpy(t, L->names[0], sizeof t);
        memcpy(L->names[0], L->names[1], sizeof t);
        memcpy(L->names[1], t, sizeof t);
        double tv = vals[0];
        vals[0] = vals[1];
        vals[1] = tv;
    }
    for (size_t i = 0; i < n; i++) {
        kl_frame_cell_str(f, i, j, buf, sizeof buf);
        double v = numeric ? kl_frame_col_f64(f, j)[i] : 0;
        L->y[i] = (numeric ? v == vals[1] : !strcmp(buf, L->names[1])) ? 1.0 : 0.0;
    }
    if (positive && strcmp(positive, L->names[0]) && strcmp(positive, L->names[1]))
        return kl_err_set(err, KL_EINVAL, "positive class '%s' is neither '%s' nor '%s'", positive,
                          L->names[0], L->names[1]);
    return 0;
}

static int eval_predictions(const kl_spec *spec, const char *path, const char *label,
                            const char *score, const char *task, const char *positive,
                            const char *thr_text, int json)
{
    kl_err err = {0};
    kl_frame *f = NULL;
    if (!label || !score)
        return kl_cli_error(KL_EXIT_USAGE,
                            "--predictions needs --label COL and --score COL; see 'keel evaluate "
                            "--help'");
    double thr = 0.5;
    if (thr_text) {
        char *end;
        errno = 0;
        thr = strtod(thr_text, &end);
        if (errno || end == thr_text || *end || !(thr > 0 && thr < 1))
            return kl_cli_error(
                KL_EXIT_USAGE, "option '--threshold' needs a number in (0, 1), not '%s'", thr_text);
    }
    if (kl_csv_read_file(path, NULL, &f, NULL, &err) < 0)
        return kl_cli_fail(&err);
    size_t n = kl_frame_row_count(f);
    long lc = kl_frame_col_index(f, label), sc = kl_frame_col_index(f, score);
    const double *s = sc >= 0 ? kl_frame_col_f64(f, (size_t)sc) : NULL;
    int rc = KL_EXIT_OK;
    double *buf = malloc((n ? n : 1) * 3 * sizeof *buf);
    if (!buf) {
        kl_frame_free(f);
        return kl_cli_error(KL_EXIT_INPUT, "out of memory");
    }
    if (lc < 0 || sc < 0 || !s) {
        kl_err_set(&err, lc < 0 || sc < 0 ? KL_ENOTFOUND : KL_EINVAL,
                   lc < 0   ? "no label column '%s'"
                   : sc < 0 ? "no score column '%s'"
                            : "score column '%s' is not numeric",
                   lc < 0 ? label : score);
        kl_err_ctx(&err, "%s", path);
        rc = kl_cli_fail(&err);
        goto done;
    }
    int cls = task   ? !strcmp(task, "classification")
              : spec ? spec->objective.task == KL_TASK_CLASSIFICATION
                     : kl_frame_col_kind(f, (size_t)lc) != KL_COL_KIND_NUMERIC;
    if (!task && !spec && !cls) {
        /* numeric labels: classification when they are two values and scores lie in [0, 1] */
        const double *y = kl_frame_col_f64(f, (size_t)lc);
        double a = y[0], b = NAN;
        int two = 1, unit = 1;
        for (size_t i = 0; i < n; i++) {
            if (y[i] != a && isnan(b))
                b = y[i];
            two &= y[i] == a || y[i] == b;
            unit &= s[i] >= 0 && s[i] <= 1;
        }
        cls = two && unit && !isnan(b);
    }
    kl_eval_input in = {.task = cls ? KL_TASK_CLASSIFICATION : KL_TASK_REGRESSION, .n = n};
    kl_eval_result r;
    if (cls) {
        struct labels L = {.y = buf};
        const char *pos_name = positive ? positive : spec ? spec->objective.positive_class : NULL;
        if (binary_labels(f, (size_t)lc, pos_name, &L, &err) < 0) {
            kl_err_ctx(&err, "%s", path);
            rc = kl_cli_fail(&err);
            goto done;
        }
        size_t pos = pos_name && !strcmp(pos_name, L.names[0]) ? 0 : 1;
        double *proba = buf + n;
        for (size_t i = 0; i < n; i++) {
            if (!(s[i] >= 0 && s[i] <= 1)) {
                kl_err_set(&err, KL_EINVAL, "score %g in row %zu is not a probability", s[i],
                           i + 1);
                kl_err_ctx(&err, "%s", path);
                rc = kl_cli_fail(&err);
                goto done;
            }
            proba[2 * i + pos] = s[i];
            proba[2 * i + 1 - pos] = 1 - s[i];
        }
        in.y_true = buf;
        in.proba = proba;
        in.k = 2;
        in.pos = pos;
        in.threshold = thr;
    } else {
        in.y_true = kl_frame_col_f64(f, (size_t)lc);
        in.y_pred = s;
        thr = NAN;
        if (!in.y_true) {
            kl_err_set(&err, KL_EINVAL,
                       "label column '%s' is not numeric (give --task classification)", label);
            rc = kl_cli_fail(&err);
            goto done;
        }
    }
    if (kl_eval_compute(&in, &r, &err) < 0) {
        kl_err_ctx(&err, "%s", path);
        rc = kl_cli_fail(&err);
        goto done;
    }
    rc = report(spec, &r, n, path, json, thr, NULL);
done:
    free(buf);
    kl_frame_free(f);
    return rc;
}

static int cmd_evaluate_run(struct kl_cli *cli, int argc, char **argv)
{
    const char *preds = NULL, *label = NULL, *score = NULL, *task = NULL, *positive = NULL;
    const char *spec_file = NULL, *thr = NULL;
    int json = 0, no_spec = 0;
    const struct kl_opt opts[] = {
        KL_OPT_STRING_("predictions", 0, "FILE", &preds, "evaluate predictions made elsewhere"),
        KL_OPT_STRING_("label", 0, "COL", &label, "--predictions: the actual values"),
        KL_OPT_STRING_("score", 0, "COL", &score,
                       "--predictions: the prediction or P(positive class)"),
        KL_OPT_CHOICE_("task", 0, NULL, &task, task_choices,
                       "--predictions: what was predicted (default: guessed)"),
        KL_OPT_STRING_("positive", 0, "CLASS", &positive,
                       "--predictions: the positive class (default: the larger label)"),
        KL_OPT_STRING_("threshold", 0, "T", &thr, "--predictions: decision threshold (0.5)"),
        KL_OPT_STRING_("spec", 0, "FILE", &spec_file, "spec file (default: keel.yaml)"),
        KL_OPT_FLAG_("no-spec", 0, &no_spec, "ignore keel.yaml (no SLAs, no KPIs)"),
        KL_OPT_JSON_(&json),
        KL_OPT_END_,
    };
    const struct kl_usage u = {
        "[options] MODEL DATA | --predictions FILE --label COL --score COL",
        "Evaluate MODEL (a run id prefix or a model file) on the labelled CSV\n"
        "DATA, or evaluate predictions made elsewhere: every metric of the task,\n"
        "the KPIs of keel.yaml (formulas over tp fp tn fn n ...) and the verdict\n"
        "of its quality SLAs (on: validation or test). Exits 1 when a quality\n"
        "SLA is missed.",
        opts, 0, 2};
    char *pos[2];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    if (preds ? n_pos != 0 : n_pos != 2)
        return kl_cli_error(KL_EXIT_USAGE,
                            "give MODEL DATA, or --predictions FILE; see 'keel evaluate --help'");
    kl_err err = {0};
    kl_spec *spec = NULL;
    char spec_path[4096], path[4096];
    kl_cli_path(cli, spec_file ? spec_file : "keel.yaml", spec_path, sizeof spec_path);
    if (!no_spec && (spec_file || access(spec_path, F_OK) == 0) &&
        kl_spec_load_file(spec_path, &spec, &err) < 0)
        return kl_cli_fail(&err);
    if (preds) {
        kl_cli_path(cli, preds, path, sizeof path);
        rc = eval_predictions(spec, path, label, score, task, positive, thr, json);
        kl_spec_free(spec);
        return rc;
    }
    kl_model *m = NULL;
    kl_frame *f = NULL;
    kl_eval_result r;
    kl_sla_groups grp = {0};
    size_t used = 0;
    kl_csv_read_opts csv = {0};
    if (spec)
        kl_spec_csv_opts(spec, &csv, &err);
    kl_cli_path(cli, pos[1], path, sizeof path);
    if (kl_train_model_open(cli->dir, pos[0], &m, NULL, &err) < 0 ||
        kl_csv_read_file(path, spec ? &csv : NULL, &f, NULL, &err) < 0 ||
        kl_train_evaluate(m, spec, f, &r, &used, &err) < 0 ||
        kl_eval_model_groups(m, spec, f, &grp, &err) < 0) {
        if (!err.ctx[0])
            kl_err_ctx(&err, "%s", path);
        rc = kl_cli_fail(&err);
    } else {
        const char *t = kl_model_meta(m, "threshold");
        double thv = kl_model_class_count(m) == 2 ? (t ? strtod(t, NULL) : 0.5) : NAN;
        rc = report(spec, &r, used, path, json, thv, &grp);
    }
    kl_sla_groups_release(&grp);
    kl_frame_free(f);
    kl_model_free(m);
    kl_spec_free(spec);
    return rc;
}

static const struct kl_cmd evaluate = {
    "evaluate", cmd_evaluate_run, "metrics, KPIs and the SLA verdict on labelled data", 64, NULL};
KL_COMMANDS(evaluate, &evaluate);
