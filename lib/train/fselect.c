/*
 * Feature ranking (fselect.h): which of the columns a model would train on
 * are worth their cost. One pass computes the three filters for every
 * candidate; the chosen method gives the ranking; the same method rerun on
 * K fold-training sets and B bootstrap samples gives each feature's
 * stability (how often it lands in the top k) and Nogueira's index for the
 * whole selection; costs come from keel.yaml or from the share of pipeline
 * outputs (per-row work) a column brings; privacy flags come from the PII
 * scan and the proxy check of lib/quality.
 *
 * Why columns and not pipeline outputs: costs, PII and proxies belong to
 * columns, and a feature set must be something `keel train --features` can
 * take. Scores of multi-output columns (one-hot) are summed over their
 * outputs, which are found by name (the pipeline names an output "<col>",
 * "<col>=<category>" or "<col>__<suffix>").
 *
 * Invariants: every model is fitted through kl_model_fit with the spec's
 * pipeline options restricted to a subset of the candidates, so a score is
 * about the same model `keel train --features` would build; each parallel
 * task writes only its own slots and its own kl_err, and the first failing
 * task (in task order) is the one reported, whatever the thread count.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keel/constraints.h"
#include "keel/evaluate.h"
#include "keel/fselect.h"
#include "keel/linear.h"
#include "keel/parallel.h"
#include "keel/pii.h"
#include "keel/pipeline.h"
#include "keel/rng.h"
#include "keel/split.h"
#include "keel/train.h"
#include "train/fselect_internal.h"
#include "train/train_internal.h"
#include "core/common.h"

static const char *const method_names[KL_FSELECT_METHOD_COUNT] = {
    "mi", "corr", "variance", "l1", "gain", "permutation", "rfe"};

const char *kl_fselect_method_name(enum kl_fselect_method m)
{
    return (unsigned)m < KL_FSELECT_METHOD_COUNT ? method_names[m] : "?";
}

int kl_fselect_method_parse(const char *name)
{
    for (int i = 0; i < KL_FSELECT_METHOD_COUNT; i++)
        if (name && !strcmp(name, method_names[i]))
            return i;
    return -1;
}

#define L1_GRID 20

/* ---- setup ---- */

static int add_param(kl__fs *c, const char *k, const char *v)
{
    for (size_t i = 0; i < c->n_params; i++)
        if (!strcmp(c->params[i].key, k)) {
            c->params[i].value = v;
            return 0;
        }
    if (c->n_params == KL_ARRAY_LEN(c->params))
        return -1;
    c->params[c->n_params++] = (kl_model_param){k, v};
    return 0;
}

/* The output's column: the longest candidate name it starts with, then end, '=' or "__". */
long kl__fs_owner(const kl__fs *c, const char *out)
{
    long best = -1;
    size_t best_len = 0;
    for (size_t j = 0; j < c->p; j++) {
        size_t L = strlen(c->names[j]);
        if (strncmp(out, c->names[j], L) || L < best_len)
            continue;
        if (out[L] == '\0' || out[L] == '=' || (out[L] == '_' && out[L + 1] == '_')) {
            best = (long)j;
            best_len = L;
        }
    }
    return best;
}

static int target_vector(kl__fs *c, kl_err *err)
{
    long t = kl_frame_col_index(c->f, c->target);
    if (t < 0)
        return kl_err_set(err, KL_ENOTFOUND, "no target column '%s' in the data", c->target);
    if (!(c->y = malloc((c->n ? c->n : 1) * sizeof *c->y)))
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    int disc = 0;
    kl__fs_column(c->f, (size_t)t, c->y, &disc);
    if (c->task != KL_TASK_CLASSIFICATION && disc)
        return kl_err_set(err, KL_EINVAL, "the target '%s' is %s, not numeric", c->target,
                          kl_col_kind_name(kl_frame_col_kind(c->f, (size_t)t)));
    c->y_discrete = c->task == KL_TASK_CLASSIFICATION;
    return 0;
}

void kl__fs_column(const kl_frame *f, size_t j, double *v, int *discrete)
{
    size_t n = kl_frame_row_count(f);
    const double *num = kl_frame_col_f64(f, j);
    const int32_t *codes = kl_frame_col_codes(f, j);
    const uint8_t *b = kl_frame_col_bool(f, j);
    *discrete = !num;
    for (size_t i = 0; i < n; i++)
        v[i] = num     ? num[i]
               : codes ? (codes[i] == KL_CAT_MISSING ? NAN : (double)codes[i])
               : b     ? (b[i] == KL_BOOL_MISSING ? NAN : (double)b[i])
                       : NAN;
}

int kl__fs_setup(kl__fs *c, const kl_frame *f, const kl_fselect_opts *o, kl_err *err)
{
    const kl_spec *s = o->spec;
    memset(c, 0, sizeof *c);
    c->f = f;
    c->o = o;
    c->spec = s;
    c->n = kl_frame_row_count(f);
    kl__train_register_algos();
    if ((unsigned)o->method >= KL_FSELECT_METHOD_COUNT)
        return kl_err_set(err, KL_EINVAL, "unknown ranking method %d", (int)o->method);
    c->task = o->has_task ? o->task : s ? s->objective.task : KL_TASK_REGRESSION;
    c->target = o->target ? o->target : s ? s->objective.target : NULL;
    if (!c->target)
        return kl_err_set(err, KL_EINVAL, "no target: give --target or objective.target");
    if (!s && !o->has_task)
        return kl_err_set(err, KL_EINVAL, "no task: give --task or objective.task");
    if (c->task == KL_TASK_FORECAST)
        return kl_err_set(err, KL_EUNSUPPORTED,
                          "feature selection does regression and classification, not forecast");
    c->algo = o->algo ? o->algo : s && s->train.algorithm ? s->train.algorithm : NULL;
    if (!c->algo)
        c->algo = c->task == KL_TASK_CLASSIFICATION ? "logistic" : "ridge";
    const kl_algo *a = kl_algo_find(c->algo);
    if (!a)
        return kl_err_set(err, KL_ENOTFOUND, "unknown algorithm '%s'", c->algo);
    if (!(a->tasks & (1u << c->task)))
        return kl_err_set(err, KL_EUNSUPPORTED, "algorithm '%s' does not do %s", c->algo,
                          kl_task_name(c->task));
    int spec_params = s && s->train.algorithm && !strcmp(s->train.algorithm, c->algo);
    for (size_t i = 0; spec_params && i < s->train.n_params; i++)
        if (add_param(c, s->train.params[i].key, s->train.params[i].value) < 0)
            return kl_err_set(err, KL_EINVAL, "too many parameters");
    for (size_t i = 0; i < o->n_params; i++)
        if (add_param(c, o->params[i].key, o->params[i].value) < 0)
            return kl_err_set(err, KL_EINVAL, "too many parameters");
    int rc = kl_model_params_check(a, c->params, c->n_params, NULL, err);
    if (rc < 0)
        return rc;
    c->seed = o->has_seed ? o->seed : s ? s->train.seed : 42;
    c->folds = o->folds                              ? o->folds
               : s && s->train.validation.folds >= 2 ? (size_t)s->train.validation.folds
                                                     : 5;
    c->boots = o->bootstraps ? o->bootstraps : 5;
    c->repeats = o->repeats ? o->repeats : 5;
    c->k_nn = o->neighbors ? o->neighbors : 3;
    c->test_size = s ? s->train.validation.test_size : 0.2;
    if (s)
        kl_pipeline_opts_from_spec(s, &c->po);
    c->po.target = c->target;
    c->po.seed = c->seed;
    if (o->n_features) {
        c->po.include = o->features;
        c->po.n_include = o->n_features;
    }
    if ((rc = target_vector(c, err)) < 0)
        return rc;

    /* candidates: the pipeline's inputs for the model's defaults, minus the target */
    kl_pipeline_opts po = c->po;
    po.defaults = a->pipeline_defaults;
    kl_pipeline *pl = NULL;
    if ((rc = kl_pipeline_fit(&po, f, &pl, err)) < 0)
        return rc;
    size_t ni = kl_pipeline_n_inputs(pl);
    c->names = calloc(ni + 1, sizeof *c->names);
    c->discrete = calloc(ni + 1, sizeof *c->discrete);
    c->n_out = calloc(ni + 1, sizeof *c->n_out);
    c->X = malloc((ni + 1) * (c->n ? c->n : 1) * sizeof *c->X);
    if (!c->names || !c->discrete || !c->n_out || !c->X) {
        kl_pipeline_free(pl);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < ni; i++) {
        const char *nm = kl_pipeline_input_name(pl, i);
        if (!strcmp(nm, c->target))
            continue;
        c->names[c->p++] = (char *)nm;
    }
    for (size_t q = 0; q < kl_pipeline_n_outputs(pl); q++) {
        long j = kl__fs_owner(c, kl_pipeline_output_name(pl, q));
        if (j >= 0)
            c->n_out[j]++;
    }
    /* own the names: the pipeline goes */
    for (size_t j = 0; j < c->p; j++)
        if (!(c->names[j] = strdup(c->names[j]))) {
            for (size_t q = j; q < c->p; q++)
                c->names[q] = NULL;
            kl_pipeline_free(pl);
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        }
    kl_pipeline_free(pl);
    if (c->p == 0)
        return kl_err_set(err, KL_EINVAL,
                          "no candidate features: every column is the target, "
                          "excluded, protected, text or time");
    for (size_t j = 0; j < c->p; j++) {
        long col = kl_frame_col_index(f, c->names[j]);
        KL_ASSERT(col >= 0);
        kl__fs_column(f, (size_t)col, c->X + j * c->n, &c->discrete[j]);
        c->total_out += c->n_out[j];
    }
    size_t usable = 0;
    for (size_t i = 0; i < c->n; i++)
        usable += !isnan(c->y[i]);
    if (usable < 2 * c->folds)
        return kl_err_set(err, KL_EINVAL,
                          "too few rows with a target: %zu (need %zu for %zu folds)", usable,
                          2 * c->folds, c->folds);
    return 0;
}

void kl__fs_release(kl__fs *c)
{
    for (size_t j = 0; c->names && j < c->p; j++)
        free(c->names[j]);
    free(c->names);
    free(c->discrete);
    free(c->n_out);
    free(c->X);
    free(c->y);
    memset(c, 0, sizeof *c);
}

/* ---- models ---- */

int kl__fs_fit(const kl__fs *c, const kl_frame *f, const char *algo, const kl_model_param *params,
               size_t n_params, const size_t *set, size_t n_set, kl_model **m, kl_err *err)
{
    const kl_algo *a = kl_algo_find(algo);
    if (!a)
        return kl_err_set(err, KL_ENOTFOUND, "unknown algorithm '%s'", algo);
    const char *names[KL__FS_MAX];
    if (n_set > KL__FS_MAX)
        return kl_err_set(err, KL_ERANGE, "too many features (at most %d)", KL__FS_MAX);
    for (size_t i = 0; i < n_set; i++)
        names[i] = c->names[set[i]];
    kl_pipeline_opts po = c->po;
    po.defaults = a->pipeline_defaults;
    po.include = names;
    po.n_include = n_set;
    kl_model_fit_opts fo = {.algo = algo,
                            .task = c->task,
                            .target = c->target,
                            .params = params,
                            .n_params = n_params,
                            .pipeline = &po,
                            .seed = c->seed};
    return kl_model_fit(f, &fo, m, err);
}

/* The main metric of m on f, signed so that higher is better. */
int kl__fs_score(const kl__fs *c, const kl_model *m, const kl_frame *f, double *v, kl_err *err)
{
    kl_eval_result e;
    size_t used = 0;
    int rc = kl_train_evaluate(m, c->spec, f, &e, &used, err);
    if (rc < 0)
        return rc;
    const char *main = kl_eval_main_metric(c->spec, c->task, kl_model_class_count(m));
    if (!kl_eval_metric_get(&e, main, v))
        return kl_err_set(err, KL_EINVAL, "the metric '%s' is not defined on these rows", main);
    const kl_metric_desc *d = kl_metric_by_name(main);
    if (d && !d->higher_is_better)
        *v = -*v;
    return 0;
}

/*
 * Per-candidate importance of a fitted model: |coefficients| summed over a
 * column's outputs and the classes (linear models, on standardized
 * features), else the tree models' impurity or gain importance.
 */
static int model_importance(const kl__fs *c, const kl_model *m, double *imp, kl_err *err)
{
    memset(imp, 0, c->p * sizeof *imp);
    const kl_pipeline *pl = kl_model_pipeline(m);
    size_t k = 0, q = 0;
    const double *ic, *coef;
    kl_err ignored = {0};
    if (kl_model_linear_coef(m, &k, &q, &ic, &coef, &ignored) == 0) {
        for (size_t j = 0; j < q; j++) {
            long o = kl__fs_owner(c, kl_pipeline_output_name(pl, j));
            for (size_t t = 0; o >= 0 && t < k; t++)
                imp[o] += fabs(coef[t * q + j]);
        }
        return 0;
    }
    json_t *d = kl_model_describe(m);
    if (!d)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    json_t *g = json_object_get(d, "gain_importance");
    if (!g)
        g = json_object_get(d, "feature_importance");
    if (!json_is_object(g)) {
        json_decref(d);
        return kl_err_set(err, KL_EUNSUPPORTED,
                          "algorithm '%s' reports no feature importances (use a linear or tree "
                          "model)",
                          kl_model_algo(m)->name);
    }
    const char *key;
    json_t *v;
    json_object_foreach(g, key, v)
    {
        long o = kl__fs_owner(c, key);
        if (o >= 0)
            imp[o] += json_number_value(v);
    }
    json_decref(d);
    return 0;
}

/* ---- one frame copy with one column permuted ---- */

static int add_col(kl_frame *out, const kl_frame *f, size_t j, const size_t *perm, void *tmp,
                   kl_err *err)
{
    size_t n = kl_frame_row_count(f);
    const char *name = kl_frame_col_name(f, j);
    switch (kl_frame_col_kind(f, j)) {
    case KL_COL_KIND_NUMERIC: {
        const double *v = kl_frame_col_f64(f, j);
        double *t = tmp;
        for (size_t i = 0; perm && i < n; i++)
            t[i] = v[perm[i]];
        return kl_frame_add_numeric(out, name, kl_frame_col_type(f, j), perm ? t : v, err);
    }
    case KL_COL_KIND_CATEGORICAL: {
        size_t nd = 0;
        const char *const *dict = kl_frame_col_dict(f, j, &nd);
        const int32_t *v = kl_frame_col_codes(f, j);
        int32_t *t = tmp;
        for (size_t i = 0; perm && i < n; i++)
            t[i] = v[perm[i]];
        return kl_frame_add_categorical_codes(out, name, perm ? t : v, dict, nd, err);
    }
    case KL_COL_KIND_BOOL: {
        const uint8_t *v = kl_frame_col_bool(f, j);
        uint8_t *t = tmp;
        for (size_t i = 0; perm && i < n; i++)
            t[i] = v[perm[i]];
        return kl_frame_add_bool(out, name, perm ? t : v, err);
    }
    case KL_COL_KIND_TEXT: {
        const char *const *v = kl_frame_col_text(f, j);
        const char **t = tmp;
        for (size_t i = 0; perm && i < n; i++)
            t[i] = v[perm[i]];
        return kl_frame_add_text(out, name, perm ? (const char *const *)t : v, err);
    }
    case KL_COL_KIND_TIME: {
        const int64_t *v = kl_frame_col_time(f, j);
        int64_t *t = tmp;
        for (size_t i = 0; perm && i < n; i++)
            t[i] = v[perm[i]];
        return kl_frame_add_time(out, name, kl_frame_col_type(f, j), perm ? t : v,
                                 kl_frame_col_time_format(f, j), err);
    }
    }
    return kl_err_set(err, KL_EINVAL, "column '%s' has an unknown kind", name);
}

static int permuted_frame(const kl_frame *f, size_t col, const size_t *perm, void *tmp,
                          kl_frame **out, kl_err *err)
{
    kl_frame *g = kl_frame_new(kl_frame_row_count(f));
    if (!g)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    for (size_t j = 0; j < kl_frame_col_count(f); j++) {
        int rc = add_col(g, f, j, j == col ? perm : NULL, tmp, err);
        if (rc < 0) {
            kl_frame_free(g);
            return rc;
        }
    }
    kl_frame_set_infer_version(g, kl_frame_infer_version(f));
    *out = g;
    return 0;
}

/* ---- the methods, on one (train, valid) pair ---- */

typedef struct perm_task {
    const kl__fs *c;
    const kl_model *m;
    const kl_frame *va;
    double base;
    uint64_t stream;
    double *mean, *sd;
    int *rc;
    kl_err *errs;
} perm_task;

static void perm_one(void *ctx, size_t j)
{
    perm_task *t = ctx;
    const kl__fs *c = t->c;
    size_t n = kl_frame_row_count(t->va), R = c->repeats;
    long col = kl_frame_col_index(t->va, c->names[j]);
    size_t *perm = malloc((n ? n : 1) * sizeof *perm);
    void *tmp = malloc((n ? n : 1) * 8);
    double *drop = malloc(R * sizeof *drop);
    kl_err *err = &t->errs[j];
    int rc = 0;
    if (!perm || !tmp || !drop) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t r = 0; r < R && rc == 0; r++) {
        kl_rng rng;
        kl_rng_stream(&rng, t->stream, j * R + r);
        for (size_t i = 0; i < n; i++)
            perm[i] = i;
        kl_rng_shuffle_size(&rng, perm, n);
        kl_frame *g = NULL;
        double v = 0;
        if ((rc = permuted_frame(t->va, (size_t)col, perm, tmp, &g, err)) == 0)
            rc = kl__fs_score(c, t->m, g, &v, err);
        kl_frame_free(g);
        drop[r] = t->base - v;
    }
    if (rc == 0) {
        double mean = 0, ss = 0;
        for (size_t r = 0; r < R; r++)
            mean += drop[r];
        mean /= (double)R;
        for (size_t r = 0; r < R; r++)
            ss += (drop[r] - mean) * (drop[r] - mean);
        t->mean[j] = mean;
        t->sd[j] = sqrt(ss / (double)R);
    }
done:
    t->rc[j] = rc;
    free(perm);
    free(tmp);
    free(drop);
}

/* First failure in task order, copied into err. */
static int first_error(const int *rc, const kl_err *errs, size_t n, kl_err *err)
{
    for (size_t j = 0; j < n; j++)
        if (rc[j] < 0) {
            *err = errs[j];
            return rc[j];
        }
    return 0;
}

static int permutation(const kl__fs *c, const kl_frame *tr, const kl_frame *va, uint64_t stream,
                       double *score, double *sd, kl_err *err)
{
    size_t all[KL__FS_MAX];
    for (size_t j = 0; j < c->p; j++)
        all[j] = j;
    kl_model *m = NULL;
    int *rcs = calloc(c->p, sizeof *rcs);
    kl_err *errs = calloc(c->p, sizeof *errs);
    int rc = 0;
    if (!rcs || !errs) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    double base = 0;
    if ((rc = kl__fs_fit(c, tr, c->algo, c->params, c->n_params, all, c->p, &m, err)) < 0 ||
        (rc = kl__fs_score(c, m, va, &base, err)) < 0)
        goto done;
    perm_task t = {c, m, va, base, stream, score, sd, rcs, errs};
    kl_parallel_for(c->p, perm_one, &t);
    rc = first_error(rcs, errs, c->p, err);
done:
    kl_model_free(m);
    free(rcs);
    free(errs);
    return rc;
}

/*
 * RFE on tr: fit, drop the least important (ties: the later candidate),
 * until one is left. score[j] is the step at which j left (1 first, p for the
 * survivor). With va, cv[s] receives the score with s + 1 features.
 */
static int rfe(const kl__fs *c, const kl_frame *tr, const kl_frame *va, double *score, double *cv,
               kl_err *err)
{
    size_t cur[KL__FS_MAX], n = c->p, step = 1;
    double imp_all[KL__FS_MAX];
    for (size_t j = 0; j < n; j++)
        cur[j] = j;
    int rc = 0;
    while (n >= 1 && rc == 0) {
        kl_model *m = NULL;
        if ((rc = kl__fs_fit(c, tr, c->algo, c->params, c->n_params, cur, n, &m, err)) < 0)
            break;
        if (va && (rc = kl__fs_score(c, m, va, &cv[n - 1], err)) < 0) {
            kl_model_free(m);
            break;
        }
        if (n == 1) {
            score[cur[0]] = (double)step;
            kl_model_free(m);
            break;
        }
        rc = model_importance(c, m, imp_all, err);
        kl_model_free(m);
        if (rc < 0)
            break;
        size_t worst = 0;
        for (size_t i = 1; i < n; i++)
            if (imp_all[cur[i]] <= imp_all[cur[worst]])
                worst = i;
        score[cur[worst]] = (double)step++;
        memmove(cur + worst, cur + worst + 1, (n - worst - 1) * sizeof *cur);
        n--;
    }
    return rc;
}

/*
 * L1 path: the largest penalty, as a share of the penalty at which the
 * first feature enters, on a grid of L1_GRID values from that penalty down
 * to 1/1000 of it, at which any output of the column has a non-zero
 * coefficient (0 when it never does).
 */
static int l1_path(const kl__fs *c, const kl_frame *tr, double *score, kl_err *err)
{
    int cls = c->task == KL_TASK_CLASSIFICATION;
    const char *algo = cls ? "logistic" : "lasso";
    size_t all[KL__FS_MAX];
    for (size_t j = 0; j < c->p; j++)
        all[j] = j;
    /* the entry penalty from the standardized design */
    kl_pipeline_opts po = c->po;
    const char *names[KL__FS_MAX];
    for (size_t j = 0; j < c->p; j++)
        names[j] = c->names[j];
    po.include = names;
    po.n_include = c->p;
    po.defaults = KL_PIPELINE_DEFAULTS_LINEAR;
    kl_pipeline *pl = NULL;
    int rc = kl_pipeline_fit(&po, tr, &pl, err);
    if (rc < 0)
        return rc;
    size_t n = kl_frame_row_count(tr), q = kl_pipeline_n_outputs(pl);
    double *X = malloc((n ? n : 1) * (q ? q : 1) * sizeof *X), *y = malloc((n ? n : 1) * sizeof *y);
    if (!X || !y) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = kl_pipeline_transform_train(pl, tr, 0, n, X, n, err)) < 0)
        goto done;
    long t = kl_frame_col_index(tr, c->target);
    int disc;
    kl__fs_column(tr, (size_t)t, y, &disc);
    /* rows with a target and every output present */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int ok = !isnan(y[i]);
        for (size_t j = 0; ok && j < q; j++)
            ok = isfinite(X[j * n + i]);
        if (ok) {
            for (size_t j = 0; j < q; j++)
                X[j * n + m] = X[j * n + i];
            y[m++] = y[i];
        }
    }
    double amax = 0;
    if (!cls) {
        double ym = 0;
        for (size_t i = 0; i < m; i++)
            ym += y[i];
        ym /= (double)(m ? m : 1);
        for (size_t j = 0; j < q; j++) {
            double xm = 0, s = 0;
            for (size_t i = 0; i < m; i++)
                xm += X[j * n + i];
            xm /= (double)(m ? m : 1);
            for (size_t i = 0; i < m; i++)
                s += (X[j * n + i] - xm) * (y[i] - ym);
            amax = fmax(amax, fabs(s) / (double)(m ? m : 1));
        }
    } else {
        /* logistic: C * |X^T (p - y_k)| > 1 first when C = 1 / max over classes */
        double vals[256];
        size_t K = 0;
        for (size_t i = 0; i < m; i++) {
            size_t k = 0;
            while (k < K && vals[k] != y[i])
                k++;
            if (k == K && K < KL_ARRAY_LEN(vals))
                vals[K++] = y[i];
        }
        for (size_t k = 0; k < K; k++) {
            double share = 0;
            for (size_t i = 0; i < m; i++)
                share += y[i] == vals[k];
            share /= (double)(m ? m : 1);
            for (size_t j = 0; j < q; j++) {
                double s = 0;
                for (size_t i = 0; i < m; i++)
                    s += X[j * n + i] * ((y[i] == vals[k]) - share);
                amax = fmax(amax, fabs(s));
            }
            if (K == 2)
                break; /* one weight vector */
        }
    }
    for (size_t j = 0; j < c->p; j++)
        score[j] = 0;
    if (!(amax > 0))
        goto done;
    for (size_t g = 1; g < L1_GRID; g++) {
        double share = pow(10.0, -3.0 * (double)g / (double)(L1_GRID - 1)), a = amax * share;
        char val[64];
        kl_model_param prm[2];
        size_t np = 0;
        if (cls) {
            snprintf(val, sizeof val, "%.17g", 1.0 / a);
            prm[np++] = (kl_model_param){"penalty", "l1"};
            prm[np++] = (kl_model_param){"C", val};
        } else {
            snprintf(val, sizeof val, "%.17g", a);
            prm[np++] = (kl_model_param){"alpha", val};
        }
        kl_model *mod = NULL;
        if ((rc = kl__fs_fit(c, tr, algo, prm, np, all, c->p, &mod, err)) < 0)
            goto done;
        size_t K = 0, qq = 0;
        const double *ic, *coef;
        rc = kl_model_linear_coef(mod, &K, &qq, &ic, &coef, err);
        const kl_pipeline *mp = kl_model_pipeline(mod);
        for (size_t j = 0; rc == 0 && j < qq; j++) {
            long o = kl__fs_owner(c, kl_pipeline_output_name(mp, j));
            for (size_t k = 0; o >= 0 && k < K; k++)
                if (coef[k * qq + j] != 0 && score[o] == 0)
                    score[o] = share;
        }
        kl_model_free(mod);
        if (rc < 0)
            goto done;
    }
done:
    free(X);
    free(y);
    kl_pipeline_free(pl);
    return rc;
}

static int gain(const kl__fs *c, const kl_frame *tr, double *score, kl_err *err)
{
    size_t all[KL__FS_MAX];
    for (size_t j = 0; j < c->p; j++)
        all[j] = j;
    kl_model *m = NULL;
    int rc = kl__fs_fit(c, tr, "gbdt", NULL, 0, all, c->p, &m, err);
    if (rc == 0)
        rc = model_importance(c, m, score, err);
    kl_model_free(m);
    double s = 0;
    for (size_t j = 0; rc == 0 && j < c->p; j++)
        s += score[j];
    for (size_t j = 0; rc == 0 && j < c->p; j++)
        score[j] = s > 0 ? score[j] / s : 0;
    return rc;
}

typedef struct filt_task {
    const kl__fs *c;
    const double *X, *y;
    size_t n;
    uint64_t seed;
    double *mi, *assoc, *var;
    int *rc;
    kl_err *errs;
} filt_task;

static void filt_one(void *ctx, size_t j)
{
    filt_task *t = ctx;
    const kl__fs *c = t->c;
    const double *x = t->X + j * t->n;
    t->rc[j] = kl_fselect_mi(x, c->discrete[j], t->y, c->y_discrete, t->n, c->k_nn,
                             t->seed + 0x9e3779b97f4a7c15ull * (j + 1), &t->mi[j], &t->errs[j]);
    t->assoc[j] = kl_fselect_assoc(x, c->discrete[j], t->y, c->y_discrete, t->n);
    t->var[j] = kl_fselect_variance(x, c->discrete[j], t->n);
}

/* Filters on rows idx[0..m) of the candidates (all rows when idx is NULL). */
static int filters(const kl__fs *c, const size_t *idx, size_t m, double *mi, double *assoc,
                   double *var, kl_err *err)
{
    const double *X = c->X, *y = c->y;
    double *Xs = NULL;
    size_t n = c->n;
    if (idx) {
        if (!(Xs = malloc((c->p + 1) * (m ? m : 1) * sizeof *Xs)))
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        for (size_t j = 0; j < c->p; j++)
            for (size_t i = 0; i < m; i++)
                Xs[j * m + i] = c->X[j * c->n + idx[i]];
        for (size_t i = 0; i < m; i++)
            Xs[c->p * m + i] = c->y[idx[i]];
        X = Xs;
        y = Xs + c->p * m;
        n = m;
    }
    int *rcs = calloc(c->p, sizeof *rcs);
    kl_err *errs = calloc(c->p, sizeof *errs);
    int rc = 0;
    if (!rcs || !errs)
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
    else {
        filt_task t = {c, X, y, n, c->seed, mi, assoc, var, rcs, errs};
        kl_parallel_for(c->p, filt_one, &t);
        rc = first_error(rcs, errs, c->p, err);
    }
    free(rcs);
    free(errs);
    free(Xs);
    return rc;
}

/*
 * The method's score of every candidate from training rows tr_idx and (for
 * permutation) validation rows va_idx; sd (may be NULL) gets permutation
 * spreads. stream seeds the permutations.
 */
static int method_scores(const kl__fs *c, const size_t *tr_idx, size_t n_tr, const size_t *va_idx,
                         size_t n_va, uint64_t stream, double *score, double *sd, kl_err *err)
{
    enum kl_fselect_method meth = c->o->method;
    size_t p = c->p;
    if (meth <= KL_FSELECT_METHOD_VARIANCE) {
        double *buf = malloc(3 * p * sizeof *buf);
        if (!buf)
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        int rc = filters(c, tr_idx, n_tr, buf, buf + p, buf + 2 * p, err);
        if (rc == 0)
            memcpy(score, buf + (size_t)meth * p, p * sizeof *score);
        free(buf);
        return rc;
    }
    kl_frame *tr = NULL, *va = NULL;
    int rc = kl_frame_take(c->f, tr_idx, n_tr, &tr, err);
    if (rc == 0 && va_idx)
        rc = kl_frame_take(c->f, va_idx, n_va, &va, err);
    double tmp_sd[KL__FS_MAX];
    if (rc == 0) {
        switch (meth) {
        case KL_FSELECT_METHOD_L1:
            rc = l1_path(c, tr, score, err);
            break;
        case KL_FSELECT_METHOD_GAIN:
            rc = gain(c, tr, score, err);
            break;
        case KL_FSELECT_METHOD_PERMUTATION:
            rc = permutation(c, tr, va, stream, score, sd ? sd : tmp_sd, err);
            break;
        default:
            rc = rfe(c, tr, NULL, score, NULL, err);
        }
    }
    kl_frame_free(tr);
    kl_frame_free(va);
    return rc;
}

/* ---- splits ---- */

int kl__fs_split(const kl__fs *c, int holdout, kl_split **out, kl_err *err)
{
    int cls = c->task == KL_TASK_CLASSIFICATION;
    kl_split_opts so = {
        .seed = c->seed, .shuffle = 1, .folds = c->folds, .test_fraction = c->test_size};
    so.method = holdout ? (cls ? KL_SPLIT_METHOD_HOLDOUT_STRATIFIED : KL_SPLIT_METHOD_HOLDOUT)
                        : (cls ? KL_SPLIT_METHOD_STRATIFIED_KFOLD : KL_SPLIT_METHOD_KFOLD);
    double *lab = NULL;
    if (cls) {
        if (!(lab = malloc((c->n ? c->n : 1) * sizeof *lab)))
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        for (size_t i = 0; i < c->n; i++)
            lab[i] = isnan(c->y[i]) ? -1 : c->y[i];
    }
    int rc = kl_split_new(out, c->n, lab, NULL, &so, err);
    free(lab);
    return rc;
}

/* ---- stability ---- */

typedef struct stab_task {
    const kl__fs *c;
    const kl_split *sp;
    size_t top_k;
    uint8_t *sel; /* resamples x p */
    int *rc;
    kl_err *errs;
} stab_task;

static int cmp_rank(const double *s, size_t a, size_t b)
{
    double x = s[a], y = s[b];
    int xn = isnan(x), yn = isnan(y);
    if (xn != yn)
        return xn ? 1 : -1;
    if (!xn && x != y)
        return x > y ? -1 : 1;
    return (a > b) - (a < b);
}

/* order[0..p) = candidates by score, best first (NaN last, ties by index). */
static void rank_order(const double *s, size_t p, size_t *order)
{
    for (size_t j = 0; j < p; j++)
        order[j] = j;
    for (size_t i = 1; i < p; i++) { /* insertion sort: p is small and it is stable */
        size_t v = order[i], k = i;
        while (k > 0 && cmp_rank(s, order[k - 1], v) > 0) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = v;
    }
}

static int same_label(double a, double b)
{
    return a == b || (isnan(a) && isnan(b));
}

/* Row indices by label (NaN last), then by index. */
static int cmp_label(const void *pa, const void *pb, void *ctx)
{
    const double *y = ctx;
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    double x = y[a], z = y[b];
    if (!same_label(x, z)) {
        if (isnan(x) || isnan(z))
            return isnan(x) ? 1 : -1;
        return x < z ? -1 : 1;
    }
    return (a > b) - (a < b);
}

static void stab_one(void *ctx, size_t r)
{
    stab_task *t = ctx;
    const kl__fs *c = t->c;
    size_t n = c->n, *tr = NULL, *va = NULL, n_tr = 0, n_va = 0;
    double score[KL__FS_MAX];
    size_t order[KL__FS_MAX];
    kl_err *err = &t->errs[r];
    int rc = 0;
    if (r < t->sp->n_folds) {
        const kl_fold *fd = &t->sp->folds[r];
        rc = method_scores(c, fd->train, fd->n_train, fd->test, fd->n_test, c->seed + 1000 + r,
                           score, NULL, err);
    } else {
        /* bootstrap: n draws with replacement; the rows never drawn validate */
        tr = malloc((n ? n : 1) * sizeof *tr);
        va = malloc((n ? n : 1) * sizeof *va);
        uint8_t *hit = calloc(n ? n : 1, 1);
        if (!tr || !va || !hit) {
            rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        } else {
            kl_rng rng;
            kl_rng_stream(&rng, c->seed, 0xb0075u + r);
            /*
             * Classification draws within each class (rows in label order,
             * each class as many draws as it has rows), so that every class
             * a model must know is in its training rows.
             */
            for (size_t i = 0; i < n; i++)
                va[i] = i;
            if (c->y_discrete)
                qsort_r(va, n, sizeof *va, cmp_label, (void *)c->y);
            for (size_t a = 0; a < n;) {
                size_t b = a + 1;
                while (c->y_discrete && b < n && same_label(c->y[va[a]], c->y[va[b]]))
                    b++;
                if (!c->y_discrete)
                    b = n;
                for (size_t i = a; i < b; i++) {
                    size_t k = va[a + (size_t)kl_rng_below(&rng, b - a)];
                    hit[k] = 1;
                    tr[n_tr++] = k;
                }
                a = b;
            }
            for (size_t i = 0; i < n; i++)
                if (!hit[i])
                    va[n_va++] = i;
            rc = method_scores(c, tr, n_tr, va, n_va, c->seed + 1000 + r, score, NULL, err);
        }
        free(hit);
    }
    if (rc == 0) {
        rank_order(score, c->p, order);
        for (size_t i = 0; i < t->top_k; i++)
            t->sel[r * c->p + order[i]] = 1;
    }
    t->rc[r] = rc;
    free(tr);
    free(va);
}

/* ---- the ranking ---- */

static void privacy(const kl__fs *c, kl_fselect_feature *ft)
{
    for (size_t j = 0; j < c->p; j++) {
        unsigned hint = kl_pii_name_hint(c->names[j]);
        if (hint) {
            unsigned e = 0;
            while (!(hint & (1u << e)))
                e++;
            ft[j].privacy |= KL_FSELECT_PRIVACY_PII_NAME;
            snprintf(ft[j].privacy_why, sizeof ft[j].privacy_why, "name suggests %s",
                     kl_pii_entity_name((enum kl_pii_entity)e));
        }
    }
    kl_pii_report rep = {0};
    kl_err ignored = {0};
    if (kl_pii_scan(c->f, NULL, &rep, &ignored) == 0)
        for (size_t i = 0; i < rep.n_columns; i++) {
            const kl_pii_column *pc = &rep.columns[i];
            for (size_t j = 0; pc->flagged && j < c->p; j++)
                if (!strcmp(pc->name, c->names[j])) {
                    ft[j].privacy |= KL_FSELECT_PRIVACY_PII_VALUE;
                    snprintf(ft[j].privacy_why, sizeof ft[j].privacy_why,
                             "pii %s (confidence %.2f)", kl_pii_entity_name(pc->entity),
                             pc->confidence);
                }
        }
    kl_pii_report_release(&rep);
    size_t na = 0;
    const char *const *attrs = c->spec ? kl_constraints_protected(c->spec, &na) : NULL;
    if (!na)
        return;
    const char *skip[2] = {c->target, c->spec->data.id_column};
    kl_proxy_opts po = {.threshold = c->spec->constraints.proxy_threshold,
                        .auc = c->spec->constraints.proxy_auc,
                        .seed = c->seed,
                        .skip = skip,
                        .n_skip = skip[1] ? 2 : 1};
    kl_proxy_report pr = {0};
    if (kl_proxy_check(c->f, attrs, na, &po, &pr, &ignored) == 0)
        for (size_t i = 0; i < pr.n; i++) {
            const kl_proxy *x = &pr.pairs[i];
            for (size_t j = 0; x->flagged && j < c->p; j++)
                if (!strcmp(x->feature, c->names[j]) &&
                    !(ft[j].privacy & KL_FSELECT_PRIVACY_PROXY)) {
                    ft[j].privacy |= KL_FSELECT_PRIVACY_PROXY;
                    double v = x->measure == KL_PROXY_MEASURE_AUC ? x->auc : x->assoc;
                    snprintf(ft[j].privacy_why, sizeof ft[j].privacy_why, "proxy of %s (%s %.2f)",
                             x->attribute, kl_proxy_measure_name(x->measure), v);
                }
        }
    kl_proxy_report_release(&pr);
}

void kl_fselect_result_release(kl_fselect_result *r)
{
    for (size_t j = 0; r->features && j < r->n_features; j++)
        free(r->features[j].name);
    free(r->features);
    free(r->order);
    free(r->target);
    free(r->algo);
    free(r->main_metric);
    free(r->rfe_mean);
    free(r->rfe_std);
    memset(r, 0, sizeof *r);
}

int kl__fs_rank(kl__fs *c, kl_fselect_result *out, kl_err *err)
{
    const kl_fselect_opts *o = c->o;
    size_t p = c->p, n = c->n;
    kl_split *sp = NULL, *ho = NULL;
    uint8_t *sel = NULL;
    int *rcs = NULL;
    kl_err *errs = NULL;
    double *rfe_vals = NULL;
    int rc = 0;
    memset(out, 0, sizeof *out);
    out->task = c->task;
    out->method = o->method;
    out->seed = c->seed;
    out->n_rows = n;
    out->n_features = p;
    out->nogueira = NAN;
    out->target = strdup(c->target);
    out->algo = strdup(c->algo);
    out->features = calloc(p, sizeof *out->features);
    out->order = calloc(p, sizeof *out->order);
    if (!out->target || !out->algo || !out->features || !out->order)
        goto nomem;
    if (p > KL__FS_MAX) {
        rc =
            kl_err_set(err, KL_ERANGE, "%zu candidate features; feature selection takes at most %d",
                       p, KL__FS_MAX);
        goto fail;
    }
    kl_fselect_feature *ft = out->features;
    double mi[KL__FS_MAX], assoc[KL__FS_MAX], var[KL__FS_MAX], score[KL__FS_MAX], sd[KL__FS_MAX];
    if ((rc = filters(c, NULL, n, mi, assoc, var, err)) < 0)
        goto fail;
    for (size_t j = 0; j < p; j++) {
        sd[j] = NAN;
        if (!(ft[j].name = strdup(c->names[j])))
            goto nomem;
        ft[j].discrete = c->discrete[j];
        ft[j].n_outputs = c->n_out[j];
        ft[j].mi = mi[j];
        ft[j].assoc = assoc[j];
        ft[j].variance = var[j];
        ft[j].spearman =
            !c->discrete[j] && !c->y_discrete ? kl_fselect_spearman(c->X + j * n, c->y, n) : NAN;
        ft[j].stability = NAN;
    }
    /* rows with a target: the only ones any model sees */
    size_t *rows = malloc((n ? n : 1) * sizeof *rows), m = 0;
    if (!rows)
        goto nomem;
    for (size_t i = 0; i < n; i++)
        if (!isnan(c->y[i]))
            rows[m++] = i;
    if (o->method == KL_FSELECT_METHOD_PERMUTATION) {
        if ((rc = kl__fs_split(c, 1, &ho, err)) == 0)
            rc = method_scores(c, ho->folds[0].train, ho->folds[0].n_train, ho->folds[0].test,
                               ho->folds[0].n_test, c->seed, score, sd, err);
    } else if (o->method == KL_FSELECT_METHOD_RFE) {
        /* CV score per subset size (RFE inside each fold), then RFE on every row */
        if ((rc = kl__fs_split(c, 0, &sp, err)) == 0 &&
            !(rfe_vals = calloc(sp->n_folds * p, sizeof *rfe_vals)))
            rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        for (size_t k = 0; rc == 0 && k < sp->n_folds; k++) {
            kl_frame *tr = NULL, *va = NULL;
            double tmp[KL__FS_MAX];
            if ((rc = kl_frame_take(c->f, sp->folds[k].train, sp->folds[k].n_train, &tr, err)) ==
                    0 &&
                (rc = kl_frame_take(c->f, sp->folds[k].test, sp->folds[k].n_test, &va, err)) == 0)
                rc = rfe(c, tr, va, tmp, rfe_vals + k * p, err);
            if (rc < 0)
                kl_err_ctx(err, "fold %zu of %zu", k + 1, sp->n_folds);
            kl_frame_free(tr);
            kl_frame_free(va);
        }
        if (rc == 0 && (!(out->rfe_mean = calloc(p, sizeof(double))) ||
                        !(out->rfe_std = calloc(p, sizeof(double)))))
            rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        for (size_t s = 0; rc == 0 && s < p; s++) {
            double mean = 0, ss = 0;
            size_t K = sp->n_folds;
            for (size_t k = 0; k < K; k++)
                mean += rfe_vals[k * p + s];
            mean /= (double)K;
            for (size_t k = 0; k < K; k++)
                ss += (rfe_vals[k * p + s] - mean) * (rfe_vals[k * p + s] - mean);
            out->rfe_mean[s] = mean;
            out->rfe_std[s] = K > 1 ? sqrt(ss / (double)(K - 1)) : 0;
            if (s == 0 || mean > out->rfe_mean[out->rfe_best - 1])
                out->rfe_best = s + 1;
        }
        if (rc == 0)
            rc = method_scores(c, rows, m, NULL, 0, c->seed, score, NULL, err);
    } else {
        rc = method_scores(c, rows, m, NULL, 0, c->seed, score, NULL, err);
    }
    free(rows);
    if (rc < 0)
        goto fail;
    {
        size_t K = 0;
        /* the metric's name, from the classes a model sees */
        if (c->task == KL_TASK_CLASSIFICATION) {
            double vals[64];
            for (size_t i = 0; i < n && K < 64; i++) {
                size_t k = 0;
                if (isnan(c->y[i]))
                    continue;
                while (k < K && vals[k] != c->y[i])
                    k++;
                if (k == K)
                    vals[K++] = c->y[i];
            }
        }
        if (!(out->main_metric = strdup(kl_eval_main_metric(c->spec, c->task, K))))
            goto nomem;
    }
    for (size_t j = 0; j < p; j++) {
        ft[j].score = score[j];
        ft[j].score_std = sd[j];
    }
    rank_order(score, p, out->order);
    for (size_t r = 0; r < p; r++)
        ft[out->order[r]].rank = r + 1;

    /* costs */
    for (size_t j = 0; j < p; j++) {
        ft[j].cost = c->total_out ? (double)c->n_out[j] / (double)c->total_out : 1.0 / (double)p;
        for (size_t q = 0; c->spec && q < c->spec->features.n_costs; q++)
            if (!strcmp(c->spec->features.costs[q].column, c->names[j])) {
                ft[j].cost = c->spec->features.costs[q].cost;
                ft[j].cost_declared = 1;
            }
    }
    privacy(c, ft);

    /* stability over K fold-training sets and B bootstraps */
    out->top_k = o->top_k ? (o->top_k < p ? o->top_k : p) : (p + 1) / 2;
    if (!o->no_stability) {
        if (!sp && (rc = kl__fs_split(c, 0, &sp, err)) < 0)
            goto fail;
        size_t R = sp->n_folds + c->boots;
        sel = calloc(R * p, 1);
        rcs = calloc(R, sizeof *rcs);
        errs = calloc(R, sizeof *errs);
        if (!sel || !rcs || !errs)
            goto nomem;
        stab_task t = {c, sp, out->top_k, sel, rcs, errs};
        kl_parallel_for(R, stab_one, &t);
        for (size_t r = 0; r < R; r++)
            if (rcs[r] < 0) {
                *err = errs[r];
                rc = rcs[r];
                kl_err_ctx(err, "stability resample %zu of %zu", r + 1, R);
                goto fail;
            }
        for (size_t j = 0; j < p; j++) {
            size_t cnt = 0;
            for (size_t r = 0; r < R; r++)
                cnt += sel[r * p + j];
            ft[j].stability = (double)cnt / (double)R;
        }
        out->resamples = R;
        out->nogueira = kl_fselect_nogueira(sel, R, p);
    }
    goto done;
nomem:
    rc = kl_err_set(err, KL_ENOMEM, "out of memory");
fail:
    kl_fselect_result_release(out);
done:
    free(sel);
    free(rcs);
    free(errs);
    free(rfe_vals);
    kl_split_free(sp);
    kl_split_free(ho);
    return rc;
}

int kl_fselect_rank(const kl_frame *f, const kl_fselect_opts *opts, kl_fselect_result *out,
                    kl_err *err)
{
    kl__fs c;
    memset(out, 0, sizeof *out);
    int rc = kl__fs_setup(&c, f, opts, err);
    if (rc == 0)
        rc = kl__fs_rank(&c, out, err);
    kl__fs_release(&c);
    return rc;
}
