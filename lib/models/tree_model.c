/*
 * CART trees and random forests behind the kl_model interface (`--algo
 * tree`, `--algo forest`), parameters named as scikit-learn's. criterion
 * auto is gini for classification and squared_error for regression;
 * max_depth 0 is unlimited; max_features 0 is every feature for a tree and
 * sqrt(p) (classification) or p (regression) for a forest, a value in (0, 1]
 * a fraction of p, larger values a count. class_weight balanced weighs
 * class k by n / (K n_k).
 *
 * Features come from the native pipeline: NaN is missing (each split learns
 * its side) and category codes are split one-vs-rest (include/keel/tree.h).
 *
 * Payloads: tree = kl_tree_save (u32 p, u32 n_outputs, u64 n_nodes, per node
 * u32 left, u32 feature (bit 31: missing goes left, bit 30: categorical, so
 * files written before either existed read the same), f64 threshold, f64
 * impurity, f64 weight, then f64
 * values[n_nodes * n_outputs]); forest = u64 n_trees, f64 oob_score, then
 * each tree's payload.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keel/tree.h"
#include "core/common.h"

#define TREE_PARAMS                                                                                \
    {"criterion", KL_ALGO_PARAM_KIND_CHOICE, "auto", 0, 0, 0, "auto,gini,entropy,squared_error"},  \
        {"max_depth", KL_ALGO_PARAM_KIND_INT, "0", 0, 10000, 0, NULL},                             \
        {"min_samples_split", KL_ALGO_PARAM_KIND_INT, "2", 2, 1e9, 0, NULL},                       \
        {"min_samples_leaf", KL_ALGO_PARAM_KIND_INT, "1", 1, 1e9, 0, NULL},                        \
        {"min_impurity_decrease", KL_ALGO_PARAM_KIND_FLOAT, "0", 0, 1e300, 0, NULL},               \
        {"class_weight", KL_ALGO_PARAM_KIND_CHOICE, "none", 0, 0, 0, "none,balanced"},             \
    {                                                                                              \
        "max_features", KL_ALGO_PARAM_KIND_FLOAT, "0", 0, 1e9, 0, NULL                             \
    }

static const kl_algo_param tree_params[] = {TREE_PARAMS};
static const kl_algo_param forest_params[] = {
    TREE_PARAMS,
    {"n_estimators", KL_ALGO_PARAM_KIND_INT, "100", 1, 100000, 0, NULL},
    {"bootstrap", KL_ALGO_PARAM_KIND_BOOL, "true", 0, 0, 0, NULL},
    {"oob_score", KL_ALGO_PARAM_KIND_BOOL, "false", 0, 0, 0, NULL},
};

enum { PV_CRIT, PV_DEPTH, PV_MSS, PV_MSL, PV_MID, PV_CW, PV_MF, PV_NEST, PV_BOOT, PV_OOB };

/* Tree options from pv; *cw gets K balanced weights when asked (caller frees). */
static int tree_opts_from(const kl_model_data *d, const double *pv, kl_tree_opts *o, double **cw,
                          uint8_t **cat, kl_err *err)
{
    memset(o, 0, sizeof *o);
    *cw = NULL;
    *cat = NULL;
    if (d->n_categories) {
        if (!(*cat = calloc(d->p ? d->p : 1, 1)))
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        for (size_t j = 0; j < d->p; j++)
            (*cat)[j] = d->n_categories[j] > 0;
        o->categorical = *cat;
    }
    int crit = (int)pv[PV_CRIT];
    if (d->n_classes >= 2) {
        if (crit == 3)
            return kl_err_set(err, KL_EINVAL, "criterion squared_error is for regression");
        o->criterion = crit == 2 ? KL_TREE_CRITERION_ENTROPY : KL_TREE_CRITERION_GINI;
        o->n_classes = d->n_classes;
    } else {
        if (crit == 1 || crit == 2)
            return kl_err_set(err, KL_EINVAL, "criterion gini and entropy are for classification");
        o->criterion = KL_TREE_CRITERION_SQUARED_ERROR;
    }
    o->max_depth = (int)pv[PV_DEPTH];
    o->min_samples_split = (size_t)pv[PV_MSS];
    o->min_samples_leaf = (size_t)pv[PV_MSL];
    o->min_impurity_decrease = pv[PV_MID];
    double mf = pv[PV_MF];
    o->max_features = mf <= 0   ? 0
                      : mf <= 1 ? KL_MAX((size_t)1, (size_t)floor(mf * (double)d->p))
                                : KL_MIN((size_t)mf, d->p);
    if (pv[PV_CW] != 0.0 && d->n_classes >= 2) {
        double *w = calloc(d->n_classes, sizeof *w);
        if (!w)
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        for (size_t i = 0; i < d->n; i++)
            w[(size_t)d->y[i]] += 1.0;
        for (size_t k = 0; k < d->n_classes; k++)
            w[k] = w[k] > 0 ? (double)d->n / ((double)d->n_classes * w[k]) : 0.0;
        o->class_weight = w;
        *cw = w;
    }
    return 0;
}

static int tree_fit(const kl_model_data *d, const double *pv, void **state, kl_err *err)
{
    kl_tree_opts o;
    double *cw;
    uint8_t *cat;
    int rc = tree_opts_from(d, pv, &o, &cw, &cat, err);
    if (rc < 0) {
        free(cat);
        return rc;
    }
    kl_tree *t = calloc(1, sizeof *t);
    if (!t) {
        free(cw);
        free(cat);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    kl_rng g;
    kl_rng_init(&g, d->seed);
    rc = kl_tree_fit(d->X, d->n, d->p, d->ld, d->y, NULL, &o, &g, t, err);
    free(cw);
    free(cat);
    if (rc < 0) {
        free(t);
        return rc;
    }
    *state = t;
    return 0;
}

static int tree_predict(const void *state, const double *X, size_t n, size_t ld, double *out,
                        kl_err *err)
{
    (void)err;
    kl_tree_predict(state, X, n, ld, out);
    return 0;
}

static int tree_save(const void *state, kl_wbuf *w)
{
    kl_tree_save(state, w);
    return w->ok ? 0 : KL_ENOMEM;
}

static int tree_load(kl_rbuf *r, const double *pv, void **state, kl_err *err)
{
    (void)pv;
    kl_tree *t = calloc(1, sizeof *t);
    if (!t)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    int rc = kl_tree_load(r, t, err);
    if (rc < 0) {
        free(t);
        return rc;
    }
    *state = t;
    return 0;
}

static void tree_free(void *state)
{
    kl_tree_release(state);
    free(state);
}

static void add_importance(const kl_tree *t, double *imp)
{
    for (size_t i = 0; i < t->n_nodes; i++) {
        const kl_tree_node *nd = &t->nodes[i];
        if (nd->left < 0)
            continue;
        const kl_tree_node *l = &t->nodes[nd->left], *r = &t->nodes[nd->left + 1];
        imp[nd->feature] +=
            nd->weight * nd->impurity - l->weight * l->impurity - r->weight * r->impurity;
    }
}

static json_t *importance_json(const double *imp, size_t p, const char *const *names)
{
    double s = 0;
    for (size_t j = 0; j < p; j++)
        s += imp[j];
    json_t *o = json_object();
    for (size_t j = 0; j < p; j++) {
        char name[32];
        snprintf(name, sizeof name, "f%zu", j);
        json_object_set_new(o, names ? names[j] : name, json_real(s > 0 ? imp[j] / s : 0.0));
    }
    return o;
}

static int tree_describe(const void *state, const char *const *feature_names,
                         const char *const *class_names, struct json_t *obj)
{
    (void)class_names;
    const kl_tree *t = state;
    double *imp = calloc(t->n_features, sizeof *imp);
    if (!imp)
        return KL_ENOMEM;
    add_importance(t, imp);
    size_t leaves = 0;
    for (size_t i = 0; i < t->n_nodes; i++)
        leaves += t->nodes[i].left < 0;
    json_object_set_new(obj, "n_nodes", json_integer((json_int_t)t->n_nodes));
    json_object_set_new(obj, "n_leaves", json_integer((json_int_t)leaves));
    json_object_set_new(obj, "feature_importance",
                        importance_json(imp, t->n_features, feature_names));
    free(imp);
    return 0;
}

const kl_algo kl_algo_tree = {
    .name = "tree",
    .tasks = (1u << KL_TASK_REGRESSION) | (1u << KL_TASK_CLASSIFICATION),
    .pipeline_defaults = KL_PIPELINE_DEFAULTS_NATIVE,
    .params = tree_params,
    .n_params = KL_ARRAY_LEN(tree_params),
    .fit = tree_fit,
    .predict = tree_predict,
    .save = tree_save,
    .load = tree_load,
    .free = tree_free,
    .describe = tree_describe,
};

/* ---- forest ---- */

static int forest_fit(const kl_model_data *d, const double *pv, void **state, kl_err *err)
{
    kl_forest_opts o = {0};
    double *cw;
    uint8_t *cat;
    int rc = tree_opts_from(d, pv, &o.tree, &cw, &cat, err);
    if (rc < 0) {
        free(cat);
        return rc;
    }
    o.n_estimators = (size_t)pv[PV_NEST];
    o.no_bootstrap = pv[PV_BOOT] == 0.0;
    o.oob_score = pv[PV_OOB] != 0.0;
    o.seed = d->seed;
    kl_forest *f = calloc(1, sizeof *f);
    if (!f) {
        free(cw);
        free(cat);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    rc = kl_forest_fit(d->X, d->n, d->p, d->ld, d->y, &o, f, err);
    free(cw);
    free(cat);
    if (rc < 0) {
        free(f);
        return rc;
    }
    *state = f;
    return 0;
}

static int forest_predict(const void *state, const double *X, size_t n, size_t ld, double *out,
                          kl_err *err)
{
    (void)err;
    kl_forest_predict(state, X, n, ld, out);
    return 0;
}

static int forest_save(const void *state, kl_wbuf *w)
{
    const kl_forest *f = state;
    kl_wbuf_u64(w, f->n_trees);
    kl_wbuf_f64(w, f->oob_score);
    for (size_t t = 0; t < f->n_trees; t++)
        kl_tree_save(&f->trees[t], w);
    return w->ok ? 0 : KL_ENOMEM;
}

static void forest_free(void *state)
{
    kl_forest_release(state);
    free(state);
}

static int forest_load(kl_rbuf *r, const double *pv, void **state, kl_err *err)
{
    (void)pv;
    uint64_t T = kl_rbuf_u64(r);
    double oob = kl_rbuf_f64(r);
    if (!r->ok || T == 0 || T > (r->len - r->pos) / 48)
        return kl_err_set(err, KL_ECORRUPT, "bad forest payload");
    kl_forest *f = calloc(1, sizeof *f);
    if (f)
        f->trees = calloc(T, sizeof *f->trees);
    if (!f || !f->trees) {
        free(f);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    f->oob_score = oob;
    for (size_t t = 0; t < T; t++) {
        int rc = kl_tree_load(r, &f->trees[t], err);
        f->n_trees = t + (rc == 0);
        if (rc == 0 && t > 0 &&
            (f->trees[t].n_outputs != f->trees[0].n_outputs ||
             f->trees[t].n_features != f->trees[0].n_features))
            rc = kl_err_set(err, KL_ECORRUPT, "bad forest payload");
        if (rc < 0) {
            forest_free(f);
            return rc;
        }
    }
    f->n_outputs = f->trees[0].n_outputs;
    *state = f;
    return 0;
}

static int forest_describe(const void *state, const char *const *feature_names,
                           const char *const *class_names, struct json_t *obj)
{
    (void)class_names;
    const kl_forest *f = state;
    size_t p = f->trees[0].n_features;
    double *imp = calloc(p, sizeof *imp);
    if (!imp)
        return KL_ENOMEM;
    for (size_t t = 0; t < f->n_trees; t++)
        add_importance(&f->trees[t], imp);
    json_object_set_new(obj, "n_trees", json_integer((json_int_t)f->n_trees));
    json_object_set_new(obj, "oob_score",
                        isnan(f->oob_score) ? json_null() : json_real(f->oob_score));
    json_object_set_new(obj, "feature_importance", importance_json(imp, p, feature_names));
    free(imp);
    return 0;
}

const kl_algo kl_algo_forest = {
    .name = "forest",
    .tasks = (1u << KL_TASK_REGRESSION) | (1u << KL_TASK_CLASSIFICATION),
    .pipeline_defaults = KL_PIPELINE_DEFAULTS_NATIVE,
    .params = forest_params,
    .n_params = KL_ARRAY_LEN(forest_params),
    .fit = forest_fit,
    .predict = forest_predict,
    .save = forest_save,
    .load = forest_load,
    .free = forest_free,
    .describe = forest_describe,
};
