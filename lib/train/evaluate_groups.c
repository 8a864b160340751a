/*
 * Per-group SLA gates of a model on labelled data: predict every row, keep
 * the rows kl_train_evaluate keeps (target and prediction present), and hand
 * them with their frame rows to kl_sla_check_groups, so that a gate's group
 * column is read from the data even when it is protected and never a
 * feature. Both quality stages (validation and test) are judged, as
 * `keel evaluate` judges them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keel/evaluate.h"
#include "keel/model.h"
#include "keel/train.h"
#include "core/common.h"

static int append(kl_sla_groups *out, kl_sla_groups *more)
{
    if (!more->n)
        return 0;
    kl_sla_group *g = realloc(out->g, (out->n + more->n) * sizeof *g);
    if (!g)
        return -1;
    memcpy(g + out->n, more->g, more->n * sizeof *g);
    out->g = g;
    out->n += more->n;
    out->n_failed += more->n_failed;
    return 0;
}

int kl_eval_model_groups(const kl_model *m, const kl_spec *spec, const kl_frame *f,
                         kl_sla_groups *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    int any = 0;
    for (size_t i = 0; spec && i < spec->n_sla; i++)
        any |= spec->sla[i].by != NULL && spec->sla[i].on != KL_SLA_ON_PRODUCTION;
    if (!any)
        return 0;
    size_t n = kl_frame_row_count(f), K = kl_model_class_count(m), pos = 1;
    int rc = kl_train_positive_class(m, spec, &pos, err);
    if (rc < 0)
        return rc;
    kl_model_pred pr = {0};
    kl_sla_groups more = {0};
    double *y = malloc((n ? n : 1) * sizeof *y), *yt = malloc((n ? n : 1) * sizeof *yt);
    double *yp = malloc((n ? n : 1) * sizeof *yp), *proba = K ? malloc(n * K * sizeof *proba + 1)
                                                              : NULL;
    size_t *rows = malloc((n ? n : 1) * sizeof *rows), used = 0;
    if (!y || !yt || !yp || !rows || (K && !proba)) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = kl_train_target_values(m, f, y, err)) < 0 ||
        (rc = kl_model_predict(m, f, &pr, err)) < 0)
        goto done;
    for (size_t i = 0; i < n; i++) {
        if (isnan(y[i]) || (K ? pr.label[i] < 0 : !isfinite(pr.value[i])))
            continue;
        if (K)
            memcpy(proba + used * K, pr.proba + i * K, K * sizeof(double));
        else
            yp[used] = pr.value[i];
        yt[used] = y[i];
        rows[used++] = i;
    }
    const char *t = kl_model_meta(m, "threshold");
    double thr = t ? strtod(t, NULL) : 0.5;
    kl_eval_input in = {.task = kl_model_task(m),
                        .n = used,
                        .y_true = yt,
                        .y_pred = K ? NULL : yp,
                        .proba = proba,
                        .k = K,
                        .pos = pos,
                        .threshold = thr > 0 && thr < 1 ? thr : 0.5};
    if (used == 0)
        goto done;
    static const enum kl_sla_on stages[] = {KL_SLA_ON_VALIDATION, KL_SLA_ON_TEST};
    for (size_t s = 0; s < 2; s++) {
        if ((rc = kl_sla_check_groups(spec->sla, spec->n_sla, stages[s], &in, f, rows, &more,
                                      err)) < 0)
            goto done;
        if (append(out, &more) < 0) {
            rc = kl_err_set(err, KL_ENOMEM, "out of memory");
            goto done;
        }
        kl_sla_groups_release(&more);
    }
done:
    kl_sla_groups_release(&more);
    kl_model_pred_release(&pr);
    free(y);
    free(yt);
    free(yp);
    free(proba);
    free(rows);
    if (rc < 0)
        kl_sla_groups_release(out);
    return rc;
}
