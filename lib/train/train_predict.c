/*
 * Predictions as a frame, the shape `keel predict` writes and the server
 * answers with. A binary classifier's label uses the decision threshold
 * stored with the model (kl_train chose it), so the label here is the label
 * `keel evaluate` scores.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/train.h"
#include "core/common.h"

int kl_train_predict_frame(const kl_model *m, const kl_frame *f, kl_frame **out, kl_err *err)
{
    *out = NULL;
    kl_model_pred pr = {0};
    int rc = kl_model_predict(m, f, &pr, err);
    if (rc < 0)
        return rc;
    size_t n = pr.n_rows, K = pr.n_classes;
    kl_frame *o = kl_frame_new(n);
    double *col = malloc((n ? n : 1) * sizeof *col);
    int32_t *codes = malloc((n ? n : 1) * sizeof *codes);
    const char **dict = malloc((K ? K : 1) * sizeof *dict);
    if (!o || !col || !codes || !dict) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    if (!K) {
        rc = kl_frame_add_numeric(o, "prediction", KL_TYPE_FLOAT, pr.value, err);
        goto done;
    }
    size_t pos = 1;
    if ((rc = kl_train_positive_class(m, NULL, &pos, err)) < 0)
        goto done;
    const char *tt = kl_model_meta(m, "threshold");
    double thr = tt ? strtod(tt, NULL) : 0.5;
    for (size_t k = 0; k < K; k++)
        dict[k] = kl_model_class_name(m, k);
    for (size_t i = 0; i < n; i++) {
        codes[i] = pr.label[i] < 0 ? KL_CAT_MISSING : pr.label[i];
        if (K == 2 && pr.label[i] >= 0)
            codes[i] = pr.proba[i * 2 + pos] >= thr ? (int32_t)pos : (int32_t)(1 - pos);
    }
    if ((rc = kl_frame_add_categorical_codes(o, "prediction", codes, dict, K, err)) < 0)
        goto done;
    for (size_t k = 0; k < K && rc == 0; k++) {
        char name[300];
        snprintf(name, sizeof name, "proba_%s", dict[k]);
        for (size_t i = 0; i < n; i++)
            col[i] = pr.label[i] < 0 ? NAN : pr.proba[i * K + k];
        rc = kl_frame_add_numeric(o, name, KL_TYPE_FLOAT, col, err);
    }
done:
    kl_model_pred_release(&pr);
    free(col);
    free(codes);
    free(dict);
    if (rc < 0)
        kl_frame_free(o);
    else
        *out = o;
    return rc;
}
