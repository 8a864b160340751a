/*
 * kl_train: validation, metrics, gates and the final refit (see train.h for
 * the steps). The folds run one after another; each fit parallelises itself
 * (kl_model_fit), so the run's numbers do not depend on the thread count.
 *
 * Invariants: every fold is evaluated with the same code as `keel evaluate`
 * (kl_eval_compute); a metric is aggregated only when every fold measured
 * it; the final model is always refitted on all rows of the training frame,
 * so what is saved never depends on how it was validated.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keel/ar.h"
#include "keel/metrics.h"
#include "keel/pipeline.h"
#include "keel/split.h"
#include "keel/train.h"
#include "train/train_internal.h"
#include "core/common.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void kl__train_register_algos(void)
{
    if (!kl_algo_find(kl_algo_ar.name)) {
        kl_err ignored = {0};
        kl_algo_register(&kl_algo_ar, &ignored);
    }
}

/* ---- targets ---- */

int kl_train_target_values(const kl_model *m, const kl_frame *f, double *y, kl_err *err)
{
    const char *target = kl_model_target(m);
    long c = kl_frame_col_index(f, target);
    size_t n = kl_frame_row_count(f);
    if (c < 0)
        return kl_err_set(err, KL_ENOTFOUND, "no target column '%s' in the data", target);
    size_t j = (size_t)c;
    enum kl_col_kind kind = kl_frame_col_kind(f, j);
    if (kl_model_task(m) != KL_TASK_CLASSIFICATION) {
        const double *v = kl_frame_col_f64(f, j);
        if (kind != KL_COL_KIND_NUMERIC || !v)
            return kl_err_set(err, KL_EINVAL, "the target '%s' is %s, not numeric", target,
                              kl_col_kind_name(kind));
        memcpy(y, v, n * sizeof *y);
        return 0;
    }
    size_t K = kl_model_class_count(m);
    /*
     * Each label is matched once per distinct value, not per row: numbers
     * against the classes' numeric values (K of them, parsed once),
     * categories through a dictionary-code -> class map.
     */
    size_t nd = 0;
    const char *const *dict =
        kind == KL_COL_KIND_CATEGORICAL ? kl_frame_col_dict(f, j, &nd) : NULL;
    double *cv = malloc((K + nd + 1) * sizeof *cv);
    if (!cv)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    double *code_class = cv + K;
    for (size_t k = 0; k < K; k++)
        cv[k] = strtod(kl_model_class_name(m, k), NULL);
    for (size_t d = 0; d < nd; d++) {
        size_t k = 0;
        while (k < K && strcmp(kl_model_class_name(m, k), dict[d]))
            k++;
        code_class[d] = k < K ? (double)k : -1;
    }
    const double *num = kind == KL_COL_KIND_NUMERIC ? kl_frame_col_f64(f, j) : NULL;
    const int32_t *codes = dict ? kl_frame_col_codes(f, j) : NULL;
    const uint8_t *bools = kind == KL_COL_KIND_BOOL ? kl_frame_col_bool(f, j) : NULL;
    int rc = 0;
    char buf[128];
    for (size_t i = 0; i < n && rc == 0; i++) {
        double k = -1;
        if (num) {
            if (isnan(num[i])) {
                y[i] = NAN;
                continue;
            }
            for (size_t q = 0; q < K && k < 0; q++)
                if (cv[q] == num[i])
                    k = (double)q;
        } else if (codes) {
            if (codes[i] == KL_CAT_MISSING) {
                y[i] = NAN;
                continue;
            }
            k = code_class[codes[i]];
        } else if (bools) {
            if (bools[i] == KL_BOOL_MISSING) {
                y[i] = NAN;
                continue;
            }
            for (size_t q = 0; q < K && k < 0; q++)
                if (!strcmp(kl_model_class_name(m, q), bools[i] ? "true" : "false"))
                    k = (double)q;
        } else if (!kl_frame_cell_str(f, i, j, buf, sizeof buf)) {
            y[i] = NAN;
            continue;
        } else {
            for (size_t q = 0; q < K && k < 0; q++)
                if (!strcmp(kl_model_class_name(m, q), buf))
                    k = (double)q;
        }
        if (k < 0) {
            kl_frame_cell_str(f, i, j, buf, sizeof buf);
            rc = kl_err_set(err, KL_EINVAL,
                            "label '%s' of '%s' in row %zu is not a class the model knows", buf,
                            target, i + 1);
        }
        y[i] = k;
    }
    free(cv);
    return rc;
}

int kl_train_positive_class(const kl_model *m, const kl_spec *spec, size_t *pos, kl_err *err)
{
    *pos = 1;
    const char *want = spec && spec->objective.task == KL_TASK_CLASSIFICATION
                           ? spec->objective.positive_class
                           : NULL;
    if (!want)
        want = kl_model_meta(m, "positive_class");
    if (!want || kl_model_class_count(m) != 2)
        return 0;
    for (size_t k = 0; k < 2; k++)
        if (!strcmp(kl_model_class_name(m, k), want)) {
            *pos = k;
            return 0;
        }
    return kl_err_set(err, KL_EINVAL,
                      "objective.positive_class '%s' is not a class of '%s' (%s, %s)", want,
                      kl_model_target(m), kl_model_class_name(m, 0), kl_model_class_name(m, 1));
}

/* Threshold stored in the model (0.5 when none). */
static double model_threshold(const kl_model *m)
{
    const char *t = kl_model_meta(m, "threshold");
    double v = t ? strtod(t, NULL) : 0.5;
    return v > 0 && v < 1 ? v : 0.5;
}

/*
 * Gather the rows of predictions pr against actual y that are usable (both
 * present) into the output arrays, appending at *at.
 */
static size_t gather(const kl_model_pred *pr, const double *y, size_t n, size_t K, double *yt,
                     double *yp, double *proba, size_t at)
{
    for (size_t i = 0; i < n; i++) {
        if (isnan(y[i]))
            continue;
        if (K) {
            if (pr->label[i] < 0)
                continue;
            memcpy(proba + at * K, pr->proba + i * K, K * sizeof(double));
        } else {
            if (!isfinite(pr->value[i]))
                continue;
            yp[at] = pr->value[i];
        }
        yt[at++] = y[i];
    }
    return at;
}

int kl_train_evaluate(const kl_model *m, const kl_spec *spec, const kl_frame *f,
                      kl_eval_result *out, size_t *n_used, kl_err *err)
{
    size_t n = kl_frame_row_count(f), K = kl_model_class_count(m), pos = 1;
    int rc = kl_train_positive_class(m, spec, &pos, err);
    if (rc < 0)
        return rc;
    kl_model_pred pr = {0};
    double *y = malloc((n ? n : 1) * sizeof *y), *yt = malloc((n ? n : 1) * sizeof *yt),
           *yp = malloc((n ? n : 1) * sizeof *yp),
           *proba = K ? malloc(n * K * sizeof *proba + 1) : NULL;
    if (!y || !yt || !yp || (K && !proba)) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = kl_train_target_values(m, f, y, err)) < 0 ||
        (rc = kl_model_predict(m, f, &pr, err)) < 0)
        goto done;
    size_t used = gather(&pr, y, n, K, yt, yp, proba, 0);
    kl_eval_input in = {.task = kl_model_task(m),
                        .n = used,
                        .y_true = yt,
                        .y_pred = yp,
                        .proba = proba,
                        .k = K,
                        .pos = pos,
                        .threshold = model_threshold(m)};
    rc = kl_eval_compute(&in, out, err);
    *n_used = used;
done:
    kl_model_pred_release(&pr);
    free(y);
    free(yt);
    free(yp);
    free(proba);
    return rc;
}

/* ---- the run ---- */

struct run {
    const kl_frame *f;
    const kl_train_opts *o;
    const kl_spec *spec;
    enum kl_task task;
    const char *target;
    const char *algo;
    kl_model_param params[2 * KL_MODEL_MAX_PARAMS];
    size_t n_params;
    kl_pipeline_opts po;
    kl_model_fit_opts fo;
    uint64_t seed;
    /* pooled validation predictions */
    double *yt, *yp, *proba;
    size_t *prow; /* want_rows: the frame row of each pooled entry (per-group SLA gates) */
    int want_rows;
    size_t n_pool, cap_pool;
    /* per-round curves summed over folds (algorithms that fit in rounds) */
    int rounds;
    double *rt, *rv;
    size_t n_rounds, n_round_folds;
    int early_stopping;
};

static int resolve(struct run *r, kl_err *err)
{
    const kl_train_opts *o = r->o;
    const kl_spec *s = r->spec;
    kl__train_register_algos();
    r->task = o->has_task ? o->task : s ? s->objective.task : KL_TASK_REGRESSION;
    r->target = o->target ? o->target : s ? s->objective.target : NULL;
    if (!r->target)
        return kl_err_set(err, KL_EINVAL, "no target: give --target or objective.target");
    if (!s && !o->has_task)
        return kl_err_set(err, KL_EINVAL, "no task: give --task or objective.task");
    r->algo = o->algo ? o->algo : s && s->train.algorithm ? s->train.algorithm : NULL;
    if (!r->algo)
        r->algo = r->task == KL_TASK_CLASSIFICATION ? "logistic"
                  : r->task == KL_TASK_FORECAST     ? "ar"
                                                    : "ridge";
    const kl_algo *a = kl_algo_find(r->algo);
    if (!a)
        return kl_err_set(err, KL_ENOTFOUND, "unknown algorithm '%s'", r->algo);
    if (!(a->tasks & (1u << r->task)))
        return kl_err_set(err, KL_EUNSUPPORTED, "algorithm '%s' does not do %s", r->algo,
                          kl_task_name(r->task));
    /* spec params first, command-line ones replace keys they repeat */
    const char *algo_in_spec = s ? s->train.algorithm : NULL;
    int spec_params_apply = s && (!o->algo || (algo_in_spec && !strcmp(algo_in_spec, o->algo)));
    for (size_t i = 0; spec_params_apply && i < s->train.n_params; i++)
        r->params[r->n_params++] =
            (kl_model_param){s->train.params[i].key, s->train.params[i].value};
    for (size_t i = 0; i < o->n_params && r->n_params < KL_ARRAY_LEN(r->params); i++) {
        size_t k = 0;
        while (k < r->n_params && strcmp(r->params[k].key, o->params[i].key))
            k++;
        r->params[k] = o->params[i];
        if (k == r->n_params)
            r->n_params++;
    }
    int rc = kl_model_params_check(a, r->params, r->n_params, NULL, err);
    if (rc < 0)
        return rc;
    r->seed = o->has_seed ? o->seed : s ? s->train.seed : 42;
    if (s)
        kl_pipeline_opts_from_spec(s, &r->po);
    r->po.target = r->target;
    r->po.seed = r->seed;
    r->po.defaults = a->pipeline_defaults;
    if (o->n_features) {
        r->po.include = o->features;
        r->po.n_include = o->n_features;
    }
    r->fo = (kl_model_fit_opts){.algo = r->algo,
                                .task = r->task,
                                .target = r->target,
                                .params = r->params,
                                .n_params = r->n_params,
                                .pipeline = &r->po,
                                .seed = r->seed};
    return 0;
}

/* Labels for stratification: the target's codes or values, -1 for missing. */
static int strat_labels(const kl_frame *f, const char *target, double *lab, kl_err *err)
{
    long c = kl_frame_col_index(f, target);
    if (c < 0)
        return kl_err_set(err, KL_ENOTFOUND, "no target column '%s' in the data", target);
    size_t n = kl_frame_row_count(f), j = (size_t)c;
    char buf[128];
    for (size_t i = 0; i < n; i++) {
        switch (kl_frame_col_kind(f, j)) {
        case KL_COL_KIND_CATEGORICAL:
            lab[i] = kl_frame_col_codes(f, j)[i];
            break;
        case KL_COL_KIND_NUMERIC:
            lab[i] = kl_frame_col_f64(f, j)[i];
            break;
        case KL_COL_KIND_BOOL:
            lab[i] = kl_frame_col_bool(f, j)[i];
            break;
        default:
            lab[i] = 0;
        }
        if (!kl_frame_cell_str(f, i, j, buf, sizeof buf) || !isfinite(lab[i]))
            lab[i] = -1;
    }
    return 0;
}

static int group_values(const kl_frame *f, const char *col, double *g, kl_err *err)
{
    long c = kl_frame_col_index(f, col);
    if (c < 0)
        return kl_err_set(err, KL_ENOTFOUND, "no group column '%s' in the data", col);
    size_t n = kl_frame_row_count(f), j = (size_t)c;
    const double *v = kl_frame_col_f64(f, j);
    const int32_t *codes = kl_frame_col_codes(f, j);
    if (!v && !codes)
        return kl_err_set(err, KL_EINVAL, "group column '%s' must be numeric or categorical", col);
    for (size_t i = 0; i < n; i++) {
        g[i] = v ? v[i] : codes[i];
        if (!isfinite(g[i]))
            g[i] = -1;
    }
    return 0;
}

static int make_split(struct run *r, kl_split **out, kl_err *err)
{
    const kl_spec *s = r->spec;
    size_t n = kl_frame_row_count(r->f);
    kl_split_opts so = {.seed = r->seed, .shuffle = 1};
    int cls = r->task == KL_TASK_CLASSIFICATION, fc = r->task == KL_TASK_FORECAST;
    enum kl_validation_method vm = s    ? s->train.validation.method
                                   : fc ? KL_VALIDATION_METHOD_TIME_SERIES
                                        : KL_VALIDATION_METHOD_HOLDOUT;
    so.test_fraction = s ? s->train.validation.test_size : 0.2;
    so.folds = s ? (size_t)s->train.validation.folds : 5;
    if (r->o->cv_folds >= 2) {
        so.folds = r->o->cv_folds;
        vm = cls  ? KL_VALIDATION_METHOD_STRATIFIED_KFOLD
             : fc ? KL_VALIDATION_METHOD_TIME_SERIES
                  : KL_VALIDATION_METHOD_KFOLD;
    }
    switch (vm) {
    case KL_VALIDATION_METHOD_HOLDOUT:
        so.method = cls  ? KL_SPLIT_METHOD_HOLDOUT_STRATIFIED
                    : fc ? KL_SPLIT_METHOD_HOLDOUT_TIME
                         : KL_SPLIT_METHOD_HOLDOUT;
        break;
    case KL_VALIDATION_METHOD_KFOLD:
        so.method = KL_SPLIT_METHOD_KFOLD;
        break;
    case KL_VALIDATION_METHOD_STRATIFIED_KFOLD:
        so.method = KL_SPLIT_METHOD_STRATIFIED_KFOLD;
        break;
    case KL_VALIDATION_METHOD_GROUP_KFOLD:
        so.method = KL_SPLIT_METHOD_GROUP_KFOLD;
        break;
    case KL_VALIDATION_METHOD_TIME_SERIES:
        so.method = KL_SPLIT_METHOD_TIME_SERIES;
        break;
    }
    double *aux = malloc((n ? n : 1) * sizeof *aux);
    if (!aux)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    int rc = 0;
    const double *labels = NULL, *groups = NULL;
    if (so.method == KL_SPLIT_METHOD_HOLDOUT_STRATIFIED ||
        so.method == KL_SPLIT_METHOD_STRATIFIED_KFOLD) {
        rc = strat_labels(r->f, r->target, aux, err);
        labels = aux;
    } else if (so.method == KL_SPLIT_METHOD_GROUP_KFOLD) {
        rc = group_values(r->f, s->train.validation.group_column, aux, err);
        groups = aux;
    }
    if (rc == 0)
        rc = kl_split_new(out, n, labels, groups, &so, err);
    free(aux);
    if (rc < 0 && !err->ctx[0])
        kl_err_ctx(err, "train.validation");
    return rc;
}

static int pool_reserve(struct run *r, size_t more, size_t K, kl_err *err)
{
    if (r->n_pool + more <= r->cap_pool)
        return 0;
    size_t cap = (r->n_pool + more) * 2;
    double *yt = realloc(r->yt, cap * sizeof *yt);
    if (yt)
        r->yt = yt;
    double *yp = realloc(r->yp, cap * sizeof *yp);
    if (yp)
        r->yp = yp;
    double *pb = K ? realloc(r->proba, cap * K * sizeof *pb) : r->proba;
    if (pb)
        r->proba = pb;
    size_t *pw = r->want_rows ? realloc(r->prow, cap * sizeof *pw) : NULL;
    if (pw)
        r->prow = pw;
    if (!yt || !yp || (K && !pb) || (r->want_rows && !pw))
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    r->cap_pool = cap;
    return 0;
}

/* Main metric of model m on its own training rows (NaN for forecasts). */
static double train_main(const struct run *r, const kl_model *m, const kl_frame *tr,
                         const char *main, kl_err *err, int *rc)
{
    if (r->task == KL_TASK_FORECAST)
        return NAN;
    kl_eval_result e;
    size_t used;
    double v = NAN;
    if ((*rc = kl_train_evaluate(m, r->spec, tr, &e, &used, err)) < 0)
        return NAN;
    if (!kl_eval_metric_get(&e, main, &v))
        v = NAN;
    return v;
}

/*
 * Validation predictions of fold model m on rows test of the frame (whose
 * training rows are train), appended to the pool and evaluated into e.
 */
static int fold_eval(struct run *r, const kl_model *m, const kl_fold *fd, const kl_frame *test,
                     kl_eval_result *e, kl_err *err)
{
    size_t K = kl_model_class_count(m), nt = kl_frame_row_count(test), pos = 1;
    int rc = kl_train_positive_class(m, r->spec, &pos, err);
    if (rc < 0)
        return rc;
    double *y = malloc((nt ? nt : 1) * sizeof *y), *ytrain = NULL;
    kl_model_pred pr = {0};
    kl_frame *upto = NULL;
    size_t n_train = 0;
    if (!y)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    if ((rc = kl_train_target_values(m, test, y, err)) < 0 ||
        (rc = pool_reserve(r, nt, K, err)) < 0)
        goto done;
    size_t at = r->n_pool;
    if (r->task == KL_TASK_FORECAST && fd) {
        /* the training series for mase, and the forecast over the test block */
        long c = kl_frame_col_index(r->f, r->target);
        const double *all = kl_frame_col_f64(r->f, (size_t)c);
        if (!(ytrain = malloc((fd->n_train ? fd->n_train : 1) * sizeof *ytrain))) {
            rc = kl_err_set(err, KL_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < fd->n_train; i++)
            if (isfinite(all[fd->train[i]]))
                ytrain[n_train++] = all[fd->train[i]];
        if (kl_model_algo(m)->forecast) {
            pr.n_rows = nt;
            if (!(pr.value = malloc((nt ? nt : 1) * sizeof(double)))) {
                rc = kl_err_set(err, KL_ENOMEM, "out of memory");
                goto done;
            }
            if ((rc = kl_model_forecast(m, nt, test, 0.95, pr.value, NULL, NULL, err)) < 0)
                goto done;
        } else {
            /* one-step predictions: the frame up to the block's end gives lags their history */
            size_t end = fd->test[fd->n_test - 1] + 1;
            size_t *idx = malloc(end * sizeof *idx);
            if (!idx) {
                rc = kl_err_set(err, KL_ENOMEM, "out of memory");
                goto done;
            }
            for (size_t i = 0; i < end; i++)
                idx[i] = i;
            rc = kl_frame_take(r->f, idx, end, &upto, err);
            free(idx);
            if (rc < 0 || (rc = kl_model_predict(m, upto, &pr, err)) < 0)
                goto done;
            memmove(pr.value, pr.value + (end - nt), nt * sizeof(double));
        }
    } else if ((rc = kl_model_predict(m, test, &pr, err)) < 0) {
        goto done;
    }
    r->n_pool = gather(&pr, y, nt, K, r->yt, r->yp, r->proba, at);
    for (size_t i = 0, a = at; r->prow && i < nt; i++) /* the rows gather kept, as frame rows */
        if (!isnan(y[i]) && (K ? pr.label[i] >= 0 : isfinite(pr.value[i])))
            r->prow[a++] = fd ? fd->test[i] : i;
    kl_eval_input in = {.task = r->task,
                        .n = r->n_pool - at,
                        .y_true = r->yt + at,
                        .y_pred = r->yp + at,
                        .proba = K ? r->proba + at * K : NULL,
                        .k = K,
                        .pos = pos,
                        .threshold = 0.5,
                        .y_train = ytrain,
                        .n_train = n_train};
    rc = kl_eval_compute(&in, e, err);
done:
    kl_frame_free(upto);
    kl_model_pred_release(&pr);
    free(y);
    free(ytrain);
    return rc;
}

void kl_train_result_release(kl_train_result *r)
{
    kl_model_free(r->model);
    free(r->fold_values);
    free(r->round_train);
    free(r->round_valid);
    free(r->sla);
    kl_sla_groups_release(&r->sla_groups);
    free(r->kpi);
    memset(r, 0, sizeof *r);
}

/* The kpi (index) that a threshold is chosen by: the first value formula over confusion counts. */
static const kl_spec_kpi *cost_kpi(const kl_spec *s)
{
    for (size_t i = 0; s && i < s->n_kpi; i++) {
        const char *v = s->kpi[i].value;
        if (!v)
            continue;
        for (const char *p = v; *p; p++)
            if ((p == v || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z'))) &&
                (p[0] == 't' || p[0] == 'f') && (p[1] == 'p' || p[1] == 'n') &&
                !(p[2] == '_' || (p[2] >= 'a' && p[2] <= 'z') || (p[2] >= '0' && p[2] <= '9')))
                return &s->kpi[i];
    }
    return NULL;
}

static int choose_threshold(struct run *r, kl_train_result *res, kl_err *err)
{
    const char *how = r->o->threshold;
    const kl_spec_kpi *kpi = cost_kpi(r->spec);
    enum kl_threshold_method m = KL_THRESHOLD_METHOD_FIXED;
    double t = 0.5, best;
    if (how && !strcmp(how, "f1")) {
        m = KL_THRESHOLD_METHOD_F1;
    } else if (how && !strcmp(how, "cost")) {
        if (!kpi)
            return kl_err_set(err, KL_EINVAL,
                              "--threshold cost needs a kpi whose value formula uses tp, fp, "
                              "tn or fn");
        m = KL_THRESHOLD_METHOD_COST;
    } else if (how) {
        char *end;
        errno = 0;
        t = strtod(how, &end);
        if (errno || end == how || *end || !(t > 0 && t < 1))
            return kl_err_set(err, KL_EINVAL,
                              "threshold must be cost, f1 or a number between 0 and 1, not '%s'",
                              how);
    } else if (kpi) {
        m = KL_THRESHOLD_METHOD_COST;
    }
    size_t n = r->n_pool, pos = res->positive_class;
    double *score = malloc((n ? n : 1) * 2 * sizeof *score);
    if (!score)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        score[i] = r->proba[i * 2 + pos];
        score[n + i] = r->yt[i] == (double)pos;
    }
    int rc = kl_threshold_choose(score, score + n, n, m, kpi ? kpi->value : NULL,
                                 kpi ? kpi->direction : KL_KPI_DIRECTION_MAX, &t, &best, err);
    free(score);
    if (rc < 0)
        return rc;
    res->has_threshold = 1;
    res->threshold = t;
    res->threshold_method = kl_threshold_method_name(m);
    return 0;
}

/* Add fold model m's per-round curves to the sums (keeping the rounds every fold ran). */
static int rounds_add(struct run *r, const kl_model *m, kl_err *err)
{
    kl_model_rounds rd;
    int rc = kl_model_rounds_get(m, &rd, err);
    if (rc < 0)
        return rc;
    if (!rd.valid)
        return 0;
    if (r->n_round_folds == 0) {
        r->rt = calloc(rd.n_rounds ? rd.n_rounds : 1, sizeof *r->rt);
        r->rv = calloc(rd.n_rounds ? rd.n_rounds : 1, sizeof *r->rv);
        if (!r->rt || !r->rv)
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        r->n_rounds = rd.n_rounds;
    }
    r->n_rounds = KL_MIN(r->n_rounds, rd.n_rounds);
    for (size_t i = 0; i < r->n_rounds; i++) {
        r->rt[i] += rd.train[i];
        r->rv[i] += rd.valid[i];
    }
    r->n_round_folds++;
    r->early_stopping |= rd.early_stopping;
    return 0;
}

/*
 * The run's curves (fold means) and best round; with early stopping the final
 * model keeps the rounds up to the best one.
 */
static int rounds_finish(struct run *r, kl_train_result *res, kl_err *err)
{
    kl_model_rounds rd;
    int rc = kl_model_rounds_get(res->model, &rd, err);
    if (rc < 0 || r->n_round_folds == 0)
        return rc;
    size_t n = r->n_rounds, best = 0;
    res->round_metric = rd.metric;
    res->n_rounds = n;
    res->round_train = r->rt;
    res->round_valid = r->rv;
    r->rt = r->rv = NULL;
    for (size_t i = 0; i < n; i++) {
        res->round_train[i] /= (double)r->n_round_folds;
        res->round_valid[i] /= (double)r->n_round_folds;
        double v = res->round_valid[i], b = res->round_valid[best];
        if (rd.lower_is_better ? v < b : v > b)
            best = i;
    }
    res->best_round = best;
    if (r->early_stopping && !r->o->valid && best + 1 < rd.n_rounds) {
        if ((rc = kl_model_rounds_keep(res->model, best + 1, err)) < 0)
            return rc;
        res->rounds_kept = 1;
    }
    return 0;
}

static int run_folds(struct run *r, kl_train_result *res, kl_err *err)
{
    kl_split *sp = NULL;
    int rc = 0;
    size_t n_folds = 1;
    if (!r->o->valid) {
        if ((rc = make_split(r, &sp, err)) < 0)
            return rc;
        n_folds = sp->n_folds;
        res->split = kl_split_method_name(sp->method);
        memcpy(res->split_hash, sp->hash_hex, sizeof res->split_hash);
    } else {
        res->split = "given";
    }
    res->n_folds = n_folds;
    kl_eval_result *fe = calloc(n_folds, sizeof *fe);
    double *tm = calloc(n_folds, sizeof *tm);
    if (!fe || !tm) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < n_folds && rc == 0; k++) {
        kl_frame *tr = NULL, *te = NULL;
        kl_model *m = NULL;
        const kl_fold *fd = sp ? &sp->folds[k] : NULL;
        if (fd) {
            if ((rc = kl_frame_take(r->f, fd->train, fd->n_train, &tr, err)) < 0 ||
                (rc = kl_frame_take(r->f, fd->test, fd->n_test, &te, err)) < 0)
                goto fold_done;
        }
        const kl_frame *ftr = fd ? tr : r->f, *fte = fd ? te : r->o->valid;
        /* boosting: the fold's validation rows are scored every round (early stopping) */
        r->fo.valid = r->rounds ? fte : NULL;
        r->fo.full_rounds = 0;
        if (!fd && r->rounds) {
            /* with --valid the final model is this very fit (same rows, same validation) */
            m = res->model;
            res->model = NULL;
        } else if ((rc = kl_model_fit(ftr, &r->fo, &m, err)) < 0) {
            goto fold_done;
        }
        if ((rc = fold_eval(r, m, fd, fte, &fe[k], err)) < 0) {
            if (!fd && !err->ctx[0])
                kl_err_ctx(err, "the validation data");
            goto fold_done;
        }
        tm[k] = train_main(r, m, ftr, res->main_metric, err, &rc);
        if (rc == 0 && r->rounds)
            rc = rounds_add(r, m, err);
    fold_done:
        if (rc < 0 && n_folds > 1)
            kl_err_ctx(err, "fold %zu of %zu", k + 1, n_folds);
        if (!fd && r->rounds && m && !res->model)
            res->model = m; /* given back */
        else
            kl_model_free(m);
        kl_frame_free(tr);
        kl_frame_free(te);
    }
    if (rc < 0)
        goto done;
    /* metrics measured in every fold, in registry order */
    for (size_t j = 0; j < fe[0].n_metrics; j++) {
        const kl_metric_desc *d = fe[0].metrics[j].desc;
        int all = 1;
        for (size_t k = 1; k < n_folds && all; k++) {
            double v;
            all = kl_eval_metric_get(&fe[k], d->name, &v);
        }
        if (all)
            res->metrics[res->n_metrics++].desc = d;
    }
    res->fold_values = malloc((n_folds * res->n_metrics + 1) * sizeof(double));
    if (!res->fold_values) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < res->n_metrics; j++) {
        double sum = 0, ss = 0;
        for (size_t k = 0; k < n_folds; k++) {
            double v = 0;
            kl_eval_metric_get(&fe[k], res->metrics[j].desc->name, &v);
            res->fold_values[k * res->n_metrics + j] = v;
            sum += v;
        }
        double mean = sum / (double)n_folds;
        for (size_t k = 0; k < n_folds; k++) {
            double d = res->fold_values[k * res->n_metrics + j] - mean;
            ss += d * d;
        }
        res->metrics[j].mean = mean;
        res->metrics[j].std = n_folds > 1 ? sqrt(ss / (double)(n_folds - 1)) : 0;
    }
    double st = 0;
    for (size_t k = 0; k < n_folds; k++)
        st += tm[k];
    res->main_train = st / (double)n_folds;
done:
    free(fe);
    free(tm);
    kl_split_free(sp);
    return rc;
}

int kl_train(const kl_frame *f, const kl_train_opts *opts, kl_train_result *out, kl_err *err)
{
    double t0 = now_s();
    memset(out, 0, sizeof *out);
    struct run r = {.f = f, .o = opts, .spec = opts->spec};
    for (size_t i = 0; r.spec && i < r.spec->n_sla; i++)
        r.want_rows |= r.spec->sla[i].by && r.spec->sla[i].on == KL_SLA_ON_VALIDATION;
    int rc = resolve(&r, err);
    if (rc < 0)
        return rc;
    /* lag, diff and rolling read rows in data.time_column order: sort before splitting */
    kl_frame *sorted = NULL;
    if ((rc = kl_pipeline_time_sort(&r.po, f, &sorted, err)) < 0)
        return rc;
    if (sorted)
        r.f = f = sorted;
    out->algo = r.algo;
    out->task = r.task;
    out->target = r.target;
    out->seed = r.seed;
    out->n_rows = kl_frame_row_count(f);
    out->gap_threshold =
        opts->gap_threshold > 0 ? opts->gap_threshold : KL_TRAIN_GAP_THRESHOLD_DEFAULT;
    /*
     * the final model first: its classes define the class indices of every
     * fold. Boosting runs every round here (the folds choose how many to
     * keep), or scores the --valid rows itself.
     */
    const kl_algo *a = kl_algo_find(r.algo);
    r.rounds = a && (a->flags & KL_ALGO_FLAGS_ROUNDS);
    r.fo.valid = r.rounds ? opts->valid : NULL;
    r.fo.full_rounds = r.rounds && !opts->valid;
    double t1 = now_s();
    if ((rc = kl_model_fit(f, &r.fo, &out->model, err)) < 0)
        goto fail;
    out->fit_seconds = now_s() - t1;
    size_t K = kl_model_class_count(out->model);
    if ((rc = kl_train_positive_class(out->model, r.spec, &out->positive_class, err)) < 0)
        goto fail;
    out->main_metric = kl_eval_main_metric(r.spec, r.task, K);
    if ((rc = run_folds(&r, out, err)) < 0)
        goto fail;
    if (r.rounds && (rc = rounds_finish(&r, out, err)) < 0)
        goto fail;
    if (K == 2 && (rc = choose_threshold(&r, out, err)) < 0)
        goto fail;
    /* pooled evaluation at the threshold: KPIs, and binary label metrics per the threshold */
    kl_eval_input in = {.task = r.task,
                        .n = r.n_pool,
                        .y_true = r.yt,
                        .y_pred = r.yp,
                        .proba = r.proba,
                        .k = K,
                        .pos = out->positive_class,
                        .threshold = out->has_threshold ? out->threshold : 0.5};
    if ((rc = kl_eval_compute(&in, &out->pooled, err)) < 0)
        goto fail;
    if (out->has_threshold) {
        char buf[64];
        snprintf(buf, sizeof buf, "%.17g", out->threshold);
        if ((rc = kl_model_set_meta(out->model, "threshold", buf, err)) < 0 ||
            (rc = kl_model_set_meta(out->model, "threshold_method", out->threshold_method, err)) <
                0 ||
            (rc = kl_model_set_meta(out->model, "positive_class",
                                    kl_model_class_name(out->model, out->positive_class), err)) < 0)
            goto fail;
    }
    /* the gap of the main metric */
    const kl_metric_desc *md = kl_metric_by_name(out->main_metric);
    out->main_valid = NAN;
    for (size_t j = 0; j < out->n_metrics; j++)
        if (out->metrics[j].desc == md)
            out->main_valid = out->metrics[j].mean;
    double g = (out->main_train - out->main_valid) / fmax(fabs(out->main_valid), 1e-12);
    out->gap = md && !md->higher_is_better ? -g : g;
    out->gap_flag = isfinite(out->gap) && out->gap > out->gap_threshold;
    /* gates: validation SLAs on the fold means; KPIs on the pooled predictions */
    if (r.spec && r.spec->n_sla) {
        kl_eval_result agg = out->pooled;
        agg.n_metrics = out->n_metrics;
        for (size_t j = 0; j < out->n_metrics; j++)
            agg.metrics[j] = (kl_eval_metric){out->metrics[j].desc, out->metrics[j].mean};
        if (!(out->sla = calloc(r.spec->n_sla, sizeof *out->sla))) {
            rc = kl_err_set(err, KL_ENOMEM, "out of memory");
            goto fail;
        }
        out->n_sla = r.spec->n_sla;
        out->n_sla_failed =
            kl_sla_check(r.spec->sla, r.spec->n_sla, KL_SLA_ON_VALIDATION, &agg, out->sla);
        /* gates with `by`: every group of the pooled validation rows */
        if ((rc = kl_sla_check_groups(r.spec->sla, r.spec->n_sla, KL_SLA_ON_VALIDATION, &in,
                                      opts->valid ? opts->valid : f, r.prow, &out->sla_groups,
                                      err)) < 0)
            goto fail;
        out->n_sla_failed += out->sla_groups.n_failed;
    }
    if (r.spec && r.spec->n_kpi) {
        if (!(out->kpi = calloc(r.spec->n_kpi, sizeof *out->kpi))) {
            rc = kl_err_set(err, KL_ENOMEM, "out of memory");
            goto fail;
        }
        out->n_kpi = r.spec->n_kpi;
        kl_kpi_check(r.spec->kpi, r.spec->n_kpi, &out->pooled, out->kpi);
    }
    out->total_seconds = now_s() - t0;
    free(r.yt);
    free(r.yp);
    free(r.proba);
    free(r.prow);
    kl_frame_free(sorted);
    return 0;
fail:
    free(r.yt);
    free(r.yp);
    free(r.proba);
    free(r.prow);
    free(r.rt);
    free(r.rv);
    kl_frame_free(sorted);
    kl_train_result_release(out);
    return rc;
}

/* ---- a cross-validation prepared for many parameter sets (search trials) ---- */

struct kl__train_cv {
    struct run base;
    kl_split *split;
    double *labels; /* classification: stratification labels; else NULL */
    size_t n_classes;
    const char *main_metric;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int kl__train_cv_new(const kl_frame *f, const kl_train_opts *o, kl__train_cv **out, kl_err *err)
{
    *out = NULL;
    kl__train_cv *cv = calloc(1, sizeof *cv);
    if (!cv)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    cv->base = (struct run){.f = f, .o = o, .spec = o->spec};
    int rc = resolve(&cv->base, err);
    if (rc == 0 && o->valid)
        rc = kl_err_set(err, KL_EINVAL, "a search validates by cross-validation, not --valid");
    if (rc == 0)
        rc = make_split(&cv->base, &cv->split, err);
    size_t n = kl_frame_row_count(f);
    if (rc == 0 && cv->base.task == KL_TASK_CLASSIFICATION) {
        double *tmp = malloc((n ? n : 1) * sizeof *tmp);
        if (!(cv->labels = malloc((n ? n : 1) * sizeof *cv->labels)) || !tmp)
            rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        if (rc == 0)
            rc = strat_labels(f, cv->base.target, cv->labels, err);
        if (rc == 0) {
            size_t m = 0;
            for (size_t i = 0; i < n; i++)
                if (cv->labels[i] >= 0)
                    tmp[m++] = cv->labels[i];
            qsort(tmp, m, sizeof *tmp, cmp_double);
            for (size_t i = 0; i < m; i++)
                cv->n_classes += i == 0 || tmp[i] != tmp[i - 1];
        }
        free(tmp);
    }
    if (rc < 0) {
        kl__train_cv_free(cv);
        return rc;
    }
    cv->main_metric = kl_eval_main_metric(cv->base.spec, cv->base.task, cv->n_classes);
    *out = cv;
    return 0;
}

void kl__train_cv_free(kl__train_cv *cv)
{
    if (!cv)
        return;
    kl_split_free(cv->split);
    free(cv->labels);
    free(cv);
}

size_t kl__train_cv_folds(const kl__train_cv *cv)
{
    return cv->split->n_folds;
}

const kl_fold *kl__train_cv_fold(const kl__train_cv *cv, size_t k)
{
    return &cv->split->folds[k];
}

const kl_algo *kl__train_cv_algo(const kl__train_cv *cv)
{
    return kl_algo_find(cv->base.algo);
}

enum kl_task kl__train_cv_task(const kl__train_cv *cv)
{
    return cv->base.task;
}

uint64_t kl__train_cv_seed(const kl__train_cv *cv)
{
    return cv->base.seed;
}

size_t kl__train_cv_classes(const kl__train_cv *cv)
{
    return cv->n_classes;
}

const char *kl__train_cv_main_metric(const kl__train_cv *cv)
{
    return cv->main_metric;
}

const double *kl__train_cv_labels(const kl__train_cv *cv)
{
    return cv->labels;
}

int kl__train_cv_params(const kl__train_cv *cv, const kl_model_param *extra, size_t n_extra,
                        kl_model_param *out, size_t cap, size_t *n, kl_err *err)
{
    size_t m = 0;
    for (size_t i = 0; i < cv->base.n_params && m < cap; i++)
        out[m++] = cv->base.params[i];
    for (size_t i = 0; i < n_extra; i++) {
        size_t k = 0;
        while (k < m && strcmp(out[k].key, extra[i].key))
            k++;
        if (k == m && m == cap)
            return kl_err_set(err, KL_ERANGE, "too many parameters (at most %zu)", cap);
        out[k] = extra[i];
        if (k == m)
            m++;
    }
    *n = m;
    return 0;
}

int kl__train_cv_eval(const kl__train_cv *cv, const kl_model_param *params, size_t n_params,
                      const kl_fold *fd, const size_t *train, size_t n_train, kl_eval_result *out,
                      kl_err *err)
{
    struct run r = cv->base;
    r.yt = r.yp = r.proba = NULL;
    r.n_pool = r.cap_pool = 0;
    if (n_params > KL_ARRAY_LEN(r.params))
        return kl_err_set(err, KL_ERANGE, "too many parameters");
    memcpy(r.params, params, n_params * sizeof *params);
    r.n_params = n_params;
    r.fo.params = r.params;
    r.fo.n_params = n_params;
    r.fo.pipeline = &r.po;
    kl_frame *tr = NULL, *te = NULL;
    kl_model *m = NULL;
    int rc;
    if ((rc = kl_frame_take(r.f, train, n_train, &tr, err)) < 0 ||
        (rc = kl_frame_take(r.f, fd->test, fd->n_test, &te, err)) < 0 ||
        (rc = kl_model_fit(tr, &r.fo, &m, err)) < 0)
        goto done;
    rc = fold_eval(&r, m, fd, te, out, err);
done:
    kl_model_free(m);
    kl_frame_free(tr);
    kl_frame_free(te);
    free(r.yt);
    free(r.yp);
    free(r.proba);
    return rc;
}
