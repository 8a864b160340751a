/*
 * kl_tree and kl_forest: CART decision trees and random forests as
 * scikit-learn 1.2 builds them.
 *
 * A split "x <= threshold goes left" is searched exactly over a node's
 * sorted values; the threshold is the midpoint between two neighbouring
 * distinct values (their lower value when the midpoint rounds up to the
 * upper one). Criteria: squared error (regression; node value the weighted
 * mean), Gini and entropy (classification; node value the weighted class
 * fractions). The split kept maximises the impurity decrease
 *   N_t / N * (impurity - N_tR / N_t * impurity_R - N_tL / N_t * impurity_L)
 * (weighted counts), which must be >= min_impurity_decrease; both children
 * must hold at least min_samples_leaf rows and a node needs
 * min_samples_split rows to be split. Ties between candidate splits go to
 * the first found (features in the order drawn, thresholds ascending).
 *
 * Missing values (NaN) as scikit-learn 1.3: each threshold is tried with the
 * missing rows right, then left, and "every present value left, missing
 * right" (threshold +inf) is a candidate; the node remembers the side
 * (missing_left). A feature without missing values in a node sends missing
 * values right at prediction. Categorical features (opts.categorical[j])
 * hold category codes and split one-vs-rest: x == threshold goes left.
 *
 * Forest: tree t draws its bootstrap sample and its per-split features from
 * kl_rng_stream(seed, t), so the forest is the same whatever the thread
 * count; trees are fitted in parallel (kl_parallel_for, one task per tree).
 * The out-of-bag score is the accuracy (classification) or R^2 (regression)
 * of each row's prediction averaged over the trees that did not draw it
 * (rows drawn by every tree are left out of the score).
 */
#ifndef KEEL_TREE_H
#define KEEL_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "keel/err.h"
#include "keel/model.h"
#include "keel/pipeline.h"
#include "keel/rng.h"

enum kl_tree_criterion {
    KL_TREE_CRITERION_SQUARED_ERROR = 0,
    KL_TREE_CRITERION_GINI = 1,
    KL_TREE_CRITERION_ENTROPY = 2,
};

/* Caller-filled; {0} is valid (squared error, grown until pure). */
typedef struct kl_tree_opts {
    enum kl_tree_criterion criterion;
    size_t n_classes;         /* classification: K >= 2, y holds 0..K-1 */
    int max_depth;            /* 0: unlimited */
    size_t min_samples_split; /* 0: 2 */
    size_t min_samples_leaf;  /* 0: 1 */
    double min_impurity_decrease;
    const double *class_weight; /* K weights or NULL */
    size_t max_features;        /* features tried per split; 0: all */
    const uint8_t *categorical; /* p flags (1: category codes, one-vs-rest splits) or NULL */
} kl_tree_opts;

typedef struct kl_tree_node {
    int32_t left; /* -1 for a leaf; else children are left and left + 1 */
    int32_t feature;
    double threshold; /* x <= threshold goes left; categorical: x == threshold */
    double impurity;
    double weight;        /* weighted rows */
    uint8_t missing_left; /* NaN goes left */
    uint8_t is_cat;
} kl_tree_node;

typedef struct kl_tree {
    size_t n_features;
    size_t n_outputs; /* 1 (regression) or K (class fractions) */
    size_t n_nodes;
    kl_tree_node *nodes;
    double *values; /* n_nodes * n_outputs */
} kl_tree;

/*
 * Fit on n rows of X (column-major, ld); y targets or class indices;
 * sample_weight NULL (all 1) or n non-negative weights (a bootstrap gives
 * counts); rng draws the features tried per split when max_features < p
 * (may be NULL otherwise). Errors: KL_EINVAL, KL_ENOMEM.
 */
int kl_tree_fit(const double *X, size_t n, size_t p, size_t ld, const double *y,
                const double *sample_weight, const kl_tree_opts *opts, kl_rng *rng, kl_tree *out,
                kl_err *err);
/* n x n_outputs (row-major) leaf values. Thread-safe, no allocation. */
void kl_tree_predict(const kl_tree *t, const double *X, size_t n, size_t ld, double *out);
void kl_tree_release(kl_tree *t);
void kl_tree_save(const kl_tree *t, kl_wbuf *w);
int kl_tree_load(kl_rbuf *r, kl_tree *t, kl_err *err);

typedef struct kl_forest_opts {
    kl_tree_opts tree;   /* max_features 0: sqrt(p) for classification, p for regression */
    size_t n_estimators; /* 0: 100 */
    int no_bootstrap;    /* 1: every tree sees every row once */
    int oob_score;       /* 1: compute the out-of-bag score (needs bootstrap) */
    uint64_t seed;
} kl_forest_opts;

typedef struct kl_forest {
    size_t n_trees;
    kl_tree *trees;
    size_t n_outputs;
    double oob_score; /* NaN when not computed */
} kl_forest;

int kl_forest_fit(const double *X, size_t n, size_t p, size_t ld, const double *y,
                  const kl_forest_opts *opts, kl_forest *out, kl_err *err);
/* Mean of the trees' outputs: n x n_outputs, row-major. */
void kl_forest_predict(const kl_forest *f, const double *X, size_t n, size_t ld, double *out);
void kl_forest_release(kl_forest *f);

extern const kl_algo kl_algo_tree;
extern const kl_algo kl_algo_forest;

#endif
