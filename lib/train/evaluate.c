/*
 * Evaluation of a set of predictions: every registered metric that applies to
 * the task (through kl_metric_compute, so names and definitions are the SLA
 * gates' own) and the quantities KPI formulas read.
 *
 * Invariant: a metric appears in the result only with a finite value; one the
 * case does not define (one class present, multiclass average precision) is
 * left out, never reported as 0. Binary labels come from the threshold, so
 * label metrics and the confusion counts agree with what `keel predict` says.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keel/evaluate.h"
#include "core/common.h"

/* Predicted labels: threshold for binary, argmax otherwise. */
static void labels_from_proba(const kl_eval_input *in, double *lab)
{
    double thr = in->threshold > 0 ? in->threshold : 0.5;
    for (size_t i = 0; i < in->n; i++) {
        const double *p = in->proba + i * in->k;
        if (in->k == 2) {
            lab[i] = p[in->pos] >= thr ? (double)in->pos : (double)(1 - in->pos);
            continue;
        }
        size_t best = 0;
        for (size_t c = 1; c < in->k; c++)
            if (p[c] > p[best])
                best = c;
        lab[i] = (double)best;
    }
}

static void kpi_quantities(const kl_eval_input *in, const double *pred, kl_eval_result *r)
{
    double nan = NAN;
    r->tp = r->fp = r->tn = r->fn = nan;
    r->sum_abs_error = r->sum_squared_error = nan;
    r->sum_actual = r->sum_predicted = 0;
    r->n = (double)in->n;
    if (in->task == KL_TASK_CLASSIFICATION) {
        if (in->k != 2) {
            r->sum_actual = r->sum_predicted = r->mean_actual = r->mean_predicted = nan;
            return;
        }
        double pos = (double)in->pos;
        r->tp = r->fp = r->tn = r->fn = 0;
        for (size_t i = 0; i < in->n; i++) {
            int a = in->y_true[i] == pos, p = pred[i] == pos;
            r->tp += a && p;
            r->fp += !a && p;
            r->tn += !a && !p;
            r->fn += a && !p;
        }
        r->sum_actual = r->tp + r->fn;
        r->sum_predicted = r->tp + r->fp;
    } else {
        r->sum_abs_error = r->sum_squared_error = 0;
        for (size_t i = 0; i < in->n; i++) {
            double e = in->y_true[i] - pred[i];
            r->sum_actual += in->y_true[i];
            r->sum_predicted += pred[i];
            r->sum_abs_error += fabs(e);
            r->sum_squared_error += e * e;
        }
    }
    r->mean_actual = r->sum_actual / r->n;
    r->mean_predicted = r->sum_predicted / r->n;
}

int kl_eval_compute(const kl_eval_input *in, kl_eval_result *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    if (!in->n || !in->y_true)
        return kl_err_set(err, KL_EINVAL, "nothing to evaluate: no rows");
    int cls = in->task == KL_TASK_CLASSIFICATION;
    if (cls && (in->k < 2 || !in->proba || (in->k == 2 && in->pos > 1)))
        return kl_err_set(err, KL_EINVAL,
                          "classification needs probabilities of 2 or more classes");
    if (!cls && !in->y_pred)
        return kl_err_set(err, KL_EINVAL, "no predictions to evaluate");
    for (size_t i = 0; i < in->n; i++)
        if (!isfinite(in->y_true[i]) || (!cls && !isfinite(in->y_pred[i])))
            return kl_err_set(err, KL_EINVAL, "row %zu has a missing actual or predicted value",
                              i + 1);
    double *lab = NULL;
    const double *pred = in->y_pred;
    if (cls) {
        if (!(lab = malloc(in->n * sizeof *lab)))
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        labels_from_proba(in, lab);
        pred = lab;
    }
    kl_metric_input mi = {.n = in->n,
                          .y_true = in->y_true,
                          .y_pred = pred,
                          .proba = in->proba,
                          .k = cls ? in->k : 0,
                          .pos_label = (double)in->pos,
                          .y_train = in->y_train,
                          .n_train = in->n_train};
    for (size_t i = 0; i < kl_metric_count() && out->n_metrics < KL_EVAL_MAX_METRICS; i++) {
        const kl_metric_desc *d = kl_metric_at(i);
        if (d->serving || !(d->tasks & (1u << in->task)))
            continue;
        if (d->id == KL_METRIC_MASE && (!in->y_train || in->n_train < 2))
            continue;
        kl_err e = {0};
        double v;
        if (kl_metric_compute(d, &mi, &v, &e) < 0) {
            if (e.code == KL_ENOMEM) {
                free(lab);
                *err = e;
                return e.code;
            }
            continue; /* undefined for this case: left out */
        }
        if (!isfinite(v))
            continue;
        out->metrics[out->n_metrics++] = (kl_eval_metric){d, v};
    }
    kpi_quantities(in, pred, out);
    free(lab);
    return 0;
}

int kl_eval_metric_get(const kl_eval_result *r, const char *name, double *v)
{
    for (size_t i = 0; i < r->n_metrics; i++)
        if (!strcmp(r->metrics[i].desc->name, name)) {
            *v = r->metrics[i].value;
            return 1;
        }
    return 0;
}

const char *kl_eval_main_metric(const kl_spec *spec, enum kl_task task, size_t n_classes)
{
    for (size_t i = 0; spec && i < spec->n_sla; i++) {
        const kl_metric_desc *d = kl_metric_by_name(spec->sla[i].metric);
        if (d && !d->serving && (d->tasks & (1u << task)) &&
            spec->sla[i].on == KL_SLA_ON_VALIDATION &&
            !(task == KL_TASK_CLASSIFICATION && n_classes > 2 &&
              (d->id == KL_METRIC_PR_AUC || d->id == KL_METRIC_AVERAGE_PRECISION ||
               d->id == KL_METRIC_BRIER)))
            return d->name;
    }
    switch (task) {
    case KL_TASK_CLASSIFICATION:
        return n_classes == 2 ? "roc_auc" : "accuracy";
    case KL_TASK_FORECAST:
        return "mae";
    default:
        return "r2";
    }
}
