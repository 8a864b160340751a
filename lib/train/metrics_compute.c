/*
 * Compute a registered metric by its descriptor (kl_metric_compute), so
 * that SLA gates and reports can evaluate any metric named in keel.yaml
 * without a switch of their own.
 *
 * This file only routes: it checks that the inputs a metric needs are
 * present and calls the metric's own function. The one copy it makes is the
 * positive class's probability column for the binary score metrics, whose
 * functions take a contiguous array.
 */
#include <math.h>
#include <stddef.h>

#include "keel/err.h"
#include "keel/metrics.h"
#include "train/metrics_internal.h"
#include "core/common.h"

typedef int (*pair_fn)(const double *, const double *, size_t, const double *, double *, kl_err *);
typedef int (*score_fn)(const double *, const double *, size_t, const double *, double, double *,
                        kl_err *);

static int need(const kl_metric_desc *d, const void *p, const char *what, kl_err *err)
{
    if (p)
        return 0;
    return kl__metric_fail(err, d->name, KL_EINVAL, "%s needs %s", d->name, what);
}

/* The column of pos_label among the k labels, or k. */
static size_t pos_column(const kl_metric_input *in)
{
    for (size_t j = 0; j < in->k; j++)
        if ((in->labels ? in->labels[j] : (double)j) == in->pos_label)
            return j;
    return in->k;
}

static int binary_score(const kl_metric_desc *d, const kl_metric_input *in, score_fn fn,
                        double *out, kl_err *err)
{
    if (in->k != 2)
        return kl__metric_fail(err, d->name, KL_EUNSUPPORTED,
                               "%s is defined for binary classification only, not %zu classes",
                               d->name, in->k);
    size_t c = pos_column(in);
    if (c == in->k)
        return kl__metric_fail(err, d->name, KL_EINVAL,
                               "the positive label %g is not one of the class labels",
                               in->pos_label);
    double *col = malloc(in->n * sizeof *col);
    if (!col)
        return kl__metric_fail(err, d->name, KL_ENOMEM, "out of memory");
    for (size_t i = 0; i < in->n; i++)
        col[i] = in->proba[i * 2 + c];
    int rc = fn(in->y_true, col, in->n, in->w, in->pos_label, out, err);
    free(col);
    return rc;
}

static int prf(const kl_metric_desc *d, const kl_metric_input *in, enum kl_average avg, double *out,
               kl_err *err)
{
    if (avg == KL_AVERAGE_BINARY && in->k > 2)
        avg = KL_AVERAGE_MACRO;
    kl_prf r;
    int rc = kl_metric_prf(in->y_true, in->y_pred, in->n, in->w, avg, in->pos_label, &r, err);
    if (rc)
        return rc;
    *out = d->id == KL_METRIC_PRECISION ? r.precision : d->id == KL_METRIC_RECALL ? r.recall : r.f1;
    return 0;
}

int kl_metric_compute(const kl_metric_desc *d, const kl_metric_input *in, double *out, kl_err *err)
{
    *out = NAN;
    if (!d || !in)
        return kl_err_set(err, KL_EINVAL, "no metric or no input given");
    if (d->serving)
        return kl__metric_fail(err, d->name, KL_EUNSUPPORTED,
                               "%s is measured by the server, not computed from predictions",
                               d->name);
    int rc = need(d, in->y_true, "true values", err);
    if (rc)
        return rc;
    if (d->needs_scores) {
        rc = need(d, in->proba, "class probabilities", err);
        if (!rc && in->k < 2)
            rc = kl__metric_fail(err, d->name, KL_EINVAL,
                                 "%s needs the number of classes (at least 2), got %zu", d->name,
                                 in->k);
    } else {
        rc = need(d, in->y_pred, "predictions", err);
    }
    if (rc)
        return rc;

    static const pair_fn pair[] = {
        [KL_METRIC_RMSE] = kl_metric_rmse,
        [KL_METRIC_MSE] = kl_metric_mse,
        [KL_METRIC_MAE] = kl_metric_mae,
        [KL_METRIC_MAPE] = kl_metric_mape,
        [KL_METRIC_SMAPE] = kl_metric_smape,
        [KL_METRIC_R2] = kl_metric_r2,
        [KL_METRIC_EXPLAINED_VARIANCE] = kl_metric_explained_variance,
        [KL_METRIC_MEDIAN_AE] = kl_metric_median_ae,
        [KL_METRIC_ACCURACY] = kl_metric_accuracy,
        [KL_METRIC_BALANCED_ACCURACY] = kl_metric_balanced_accuracy,
    };
    if ((size_t)d->id < KL_ARRAY_LEN(pair) && pair[d->id])
        return pair[d->id](in->y_true, in->y_pred, in->n, in->w, out, err);

    switch (d->id) {
    case KL_METRIC_MASE:
        rc = need(d, in->y_train, "the training series", err);
        return rc ? rc
                  : kl_metric_mase(in->y_true, in->y_pred, in->n, in->y_train, in->n_train,
                                   in->season, out, err);
    case KL_METRIC_PRECISION:
    case KL_METRIC_RECALL:
    case KL_METRIC_F1:
        return prf(d, in, KL_AVERAGE_BINARY, out, err);
    case KL_METRIC_F1_MACRO:
        return prf(d, in, KL_AVERAGE_MACRO, out, err);
    case KL_METRIC_F1_MICRO:
        return prf(d, in, KL_AVERAGE_MICRO, out, err);
    case KL_METRIC_F1_WEIGHTED:
        return prf(d, in, KL_AVERAGE_WEIGHTED, out, err);
    case KL_METRIC_ROC_AUC:
        if (in->k > 2)
            return kl_metric_roc_auc_ovr(in->y_true, in->proba, in->n, in->k, in->labels, in->w,
                                         KL_AVERAGE_MACRO, out, err);
        return binary_score(d, in, kl_metric_roc_auc, out, err);
    case KL_METRIC_PR_AUC:
    case KL_METRIC_AVERAGE_PRECISION:
        return binary_score(d, in, kl_metric_average_precision, out, err);
    case KL_METRIC_BRIER:
        return binary_score(d, in, kl_metric_brier, out, err);
    case KL_METRIC_LOG_LOSS:
        return kl_metric_log_loss_multi(in->y_true, in->proba, in->n, in->k, in->labels, in->w, 0,
                                        out, err);
    default:
        break;
    }
    return kl__metric_fail(err, d->name, KL_EUNSUPPORTED, "%s cannot be computed here", d->name);
}
