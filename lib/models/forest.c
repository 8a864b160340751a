/*
 * Random forests of CART trees (include/keel/tree.h).
 *
 * One task per tree: tree t draws its bootstrap counts (n draws with
 * replacement, as scikit-learn, used as sample weights) and then its
 * per-split features from kl_rng_stream(seed, t). Nothing a task computes
 * depends on which thread runs it, so the forest is identical for any thread
 * count. The out-of-bag pass redraws each tree's counts from the same stream
 * instead of keeping n counts per tree.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keel/parallel.h"
#include "keel/tree.h"
#include "core/common.h"

typedef struct forest_ctx {
    const double *X, *y;
    size_t n, p, ld;
    const kl_forest_opts *o;
    kl_tree_opts topts;
    kl_tree *trees;
    int *rc;
    kl_err *errs;
} forest_ctx;

static void draw_counts(kl_rng *g, size_t n, double *w)
{
    memset(w, 0, n * sizeof *w);
    for (size_t i = 0; i < n; i++)
        w[kl_rng_below(g, n)] += 1.0;
}

static void tree_task(void *vctx, size_t t)
{
    forest_ctx *c = vctx;
    kl_rng g;
    kl_rng_stream(&g, c->o->seed, t);
    double *w = NULL;
    if (!c->o->no_bootstrap) {
        w = malloc(c->n * sizeof *w);
        if (!w) {
            c->rc[t] = kl_err_set(&c->errs[t], KL_ENOMEM, "out of memory");
            return;
        }
        draw_counts(&g, c->n, w);
    }
    c->rc[t] =
        kl_tree_fit(c->X, c->n, c->p, c->ld, c->y, w, &c->topts, &g, &c->trees[t], &c->errs[t]);
    free(w);
}

int kl_forest_fit(const double *X, size_t n, size_t p, size_t ld, const double *y,
                  const kl_forest_opts *o, kl_forest *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    out->oob_score = NAN;
    size_t T = o->n_estimators ? o->n_estimators : 100;
    if (o->oob_score && o->no_bootstrap)
        return kl_err_set(err, KL_EINVAL, "the out-of-bag score needs bootstrap");
    forest_ctx c = {X, y, n, p, ld, o, o->tree, NULL, NULL, NULL};
    int cls = o->tree.criterion != KL_TREE_CRITERION_SQUARED_ERROR;
    if (c.topts.max_features == 0)
        c.topts.max_features = cls ? KL_MAX((size_t)1, (size_t)floor(sqrt((double)p))) : p;
    c.trees = calloc(T, sizeof *c.trees);
    c.rc = calloc(T, sizeof *c.rc);
    c.errs = calloc(T, sizeof *c.errs);
    if (!c.trees || !c.rc || !c.errs) {
        free(c.trees);
        free(c.rc);
        free(c.errs);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    kl_parallel_for(T, tree_task, &c);
    int rc = 0;
    for (size_t t = 0; t < T && rc == 0; t++)
        if (c.rc[t] < 0) {
            rc = c.rc[t];
            *err = c.errs[t];
        }
    free(c.rc);
    free(c.errs);
    out->trees = c.trees;
    out->n_trees = T;
    out->n_outputs = c.trees[0].n_outputs;
    if (rc < 0) {
        kl_forest_release(out);
        return rc;
    }
    if (o->oob_score) {
        size_t V = out->n_outputs;
        double *sum = calloc(n * V, sizeof *sum), *cnt = calloc(n, sizeof *cnt);
        double *w = malloc(n * sizeof *w), *pred = malloc(V * sizeof *pred);
        if (!sum || !cnt || !w || !pred) {
            free(sum);
            free(cnt);
            free(w);
            free(pred);
            kl_forest_release(out);
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        }
        for (size_t t = 0; t < T; t++) {
            kl_rng g;
            kl_rng_stream(&g, o->seed, t);
            draw_counts(&g, n, w);
            for (size_t i = 0; i < n; i++)
                if (w[i] == 0.0) {
                    kl_tree_predict(&out->trees[t], X + i, 1, ld, pred);
                    for (size_t k = 0; k < V; k++)
                        sum[i * V + k] += pred[k];
                    cnt[i] += 1.0;
                }
        }
        double hit = 0, m = 0, ss_res = 0, ybar = 0, ss_tot = 0;
        for (size_t i = 0; i < n; i++)
            if (cnt[i] > 0) {
                m += 1;
                ybar += y[i];
            }
        ybar = m > 0 ? ybar / m : 0;
        for (size_t i = 0; i < n; i++) {
            if (cnt[i] == 0)
                continue;
            if (cls) {
                size_t best = 0;
                for (size_t k = 1; k < V; k++)
                    if (sum[i * V + k] > sum[i * V + best])
                        best = k;
                hit += (double)best == y[i];
            } else {
                double r = sum[i] / cnt[i] - y[i];
                ss_res += r * r;
                ss_tot += (y[i] - ybar) * (y[i] - ybar);
            }
        }
        out->oob_score = m == 0 ? NAN : cls ? hit / m : 1.0 - ss_res / ss_tot;
        free(sum);
        free(cnt);
        free(w);
        free(pred);
    }
    return 0;
}

void kl_forest_predict(const kl_forest *f, const double *X, size_t n, size_t ld, double *out)
{
    size_t V = f->n_outputs;
    double tmp[64 * 16];
    memset(out, 0, n * V * sizeof *out);
    for (size_t i0 = 0; i0 < n; i0 += 64) {
        size_t m = KL_MIN((size_t)64, n - i0);
        for (size_t t = 0; t < f->n_trees; t++) {
            if (V <= 16) {
                kl_tree_predict(&f->trees[t], X + i0, m, ld, tmp);
                for (size_t k = 0; k < m * V; k++)
                    out[i0 * V + k] += tmp[k];
            } else {
                for (size_t i = 0; i < m; i++) {
                    const kl_tree *tr = &f->trees[t];
                    size_t q = 0;
                    while (tr->nodes[q].left >= 0)
                        q = (size_t)tr->nodes[q].left +
                            (X[(size_t)tr->nodes[q].feature * ld + i0 + i] <= tr->nodes[q].threshold
                                 ? 0
                                 : 1);
                    for (size_t k = 0; k < V; k++)
                        out[(i0 + i) * V + k] += tr->values[q * V + k];
                }
            }
        }
    }
    for (size_t k = 0; k < n * V; k++)
        out[k] /= (double)f->n_trees;
}

void kl_forest_release(kl_forest *f)
{
    if (!f)
        return;
    for (size_t t = 0; t < f->n_trees; t++)
        kl_tree_release(&f->trees[t]);
    free(f->trees);
    memset(f, 0, sizeof *f);
}
