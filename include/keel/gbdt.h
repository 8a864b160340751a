/*
 * kl_gbdt: histogram gradient boosted trees in the manner of XGBoost's
 * tree_method=hist (parameter names, gain and leaf weight as XGBoost 1.7):
 *
 *   leaf weight  w* = -T_a(G) / (H + lambda)   T_a(G) = sign(G) max(|G| - alpha, 0)
 *                clipped to +-max_delta_step when that is > 0
 *   node score   T_a(G)^2 / (H + lambda)
 *   split gain   score(L) + score(R) - score(parent); kept when gain >= gamma
 *                and gain > 1e-6 and both children have H >= min_child_weight.
 *   stored leaf  eta * w*
 *
 * Binning: per feature at most max_bin (<= 255) value bins, stored as uint8,
 * the code after the last value bin standing for missing (NaN). Bin b holds values x <= upper[b]
 * (and > upper[b-1]). With at most max_bin distinct values the bounds are midpoints between
 * neighbours (so splits equal scikit-learn's exact ones); otherwise equal-frequency quantiles of a
 * sample of at most 200,000 evenly spaced rows. A split "bin <= b" is stored as "x <= upper[b]", so
 * prediction from raw values repeats training decisions exactly.
 *
 * Missing values: every split scans twice (missing rows left, then right)
 * and keeps the better: the learned default direction. Features with no
 * missing value in training send missing right (XGBoost 1.7 hist).
 *
 * Categorical features (opts.categorical[j] != 0): each distinct value is a
 * bin (at most max_bin of them, else KL_EINVAL) and splits are one-vs-rest:
 * x == c goes left, any other value right, missing by the learned direction.
 *
 * Monotone constraints (opts.monotone[j] in {-1, 0, 1}): as XGBoost, a split
 * on a constrained feature must order its child weights, and the children
 * inherit bounds at the midpoint of the two weights; leaf weights are clipped
 * to their node's bounds and gains computed from the clipped weights.
 *
 * Determinism: gradients are double; histograms are built per fixed block of
 * a node's rows (KL_GBDT_BLOCK_ROWS) and summed in block order; row
 * partitions are stable. Row and column subsampling draw from
 * kl_rng_stream(seed, round). So a seed gives the same bits whatever the
 * thread count.
 */
#ifndef KEEL_GBDT_H
#define KEEL_GBDT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "keel/err.h"
#include "keel/model.h"
#include "keel/pipeline.h"

#define KL_GBDT_MAX_BIN 255
#define KL_GBDT_BLOCK_ROWS 16384

enum kl_gbdt_loss {
    KL_GBDT_LOSS_SQUARED = 0,  /* reg:squarederror; metric rmse */
    KL_GBDT_LOSS_ABSOLUTE = 1, /* g = sign(F - y), h = 1 (no leaf line search); metric mae */
    KL_GBDT_LOSS_HUBER = 2,    /* reg:pseudohubererror with huber_slope; metric mphe */
    KL_GBDT_LOSS_LOGISTIC = 3, /* binary:logistic, y in {0,1}; metric logloss */
    KL_GBDT_LOSS_SOFTMAX = 4,  /* multi:softprob, n_classes trees per round; metric mlogloss */
    KL_GBDT_LOSS_POISSON = 5,  /* count:poisson, F = log(mean); metric poisson-nloglik */
};

enum kl_gbdt_grow {
    KL_GBDT_GROW_DEPTHWISE = 0, /* every node of a level, in order */
    KL_GBDT_GROW_LOSSGUIDE = 1, /* the leaf of largest gain first (ties: lowest node id) */
};

/* Caller-filled; {0} is valid (XGBoost's defaults, squared error). */
typedef struct kl_gbdt_opts {
    enum kl_gbdt_loss loss;
    size_t n_classes;  /* softmax: K >= 2 (y holds 0..K-1) */
    double eta;        /* 0: 0.3 */
    int max_depth;     /* 0: 6 (lossguide: 0 is unlimited when max_leaves > 0) */
    int max_depth_set; /* 1: take max_depth as given, 0 included */
    int max_leaves;    /* 0: no limit */
    enum kl_gbdt_grow grow_policy;
    double min_child_weight; /* used when min_child_weight_set; else 1 */
    int min_child_weight_set;
    double lambda; /* used when lambda_set; else 1 */
    int lambda_set;
    double alpha, gamma;
    double max_delta_step; /* 0: none (poisson: 0.7 unless set) */
    int max_delta_step_set;
    double subsample;           /* 0: 1 */
    double colsample_bytree;    /* 0: 1 */
    int max_bin;                /* 0: 255 */
    int n_estimators;           /* 0: 100; boosting rounds */
    int early_stopping_rounds;  /* 0: off; needs a validation set */
    double huber_slope;         /* 0: 1 */
    double base_score;          /* used when base_score_set (a raw score, not a margin) */
    int base_score_set;         /* 0: the loss's best constant (mean, median, log mean, ...) */
    const int8_t *monotone;     /* p values or NULL */
    const uint8_t *categorical; /* p flags or NULL */
    uint64_t seed;
} kl_gbdt_opts;

/* Training (and validation) data: column-major doubles, NaN is missing. */
typedef struct kl_gbdt_data {
    const double *X;
    size_t n, p, ld;
    const double *y;
} kl_gbdt_data;

/* One node. Leaves have left == -1. Children of node i are left and left + 1. */
typedef struct kl_gbdt_node {
    int32_t left;
    int32_t feature;
    double threshold; /* numeric: x <= threshold goes left; categorical: x == threshold */
    double value;     /* leaf: eta * weight; inner: eta * weight it would have had */
    double gain;      /* inner: loss_chg of its split */
    double cover;     /* sum of hessians */
    uint8_t default_left;
    uint8_t is_cat;
    uint8_t pad[6];
} kl_gbdt_node;

typedef struct kl_gbdt {
    enum kl_gbdt_loss loss;
    size_t n_features;
    size_t n_outputs;   /* 1, or K for softmax */
    double base_margin; /* added to every output's sum of trees */
    size_t n_trees;     /* rounds * n_outputs; tree t feeds output t % n_outputs */
    size_t *tree_start; /* n_trees + 1 offsets into nodes */
    kl_gbdt_node *nodes;
    /* Training record (saved too): metric per round, best round. */
    size_t n_rounds_run;
    double *train_metric;  /* n_rounds_run */
    double *valid_metric;  /* n_rounds_run or NULL */
    size_t best_iteration; /* round index (0-based) kept when early stopping ran */
    const char *metric_name;
    int early_stopping; /* the fit was asked to stop early (not saved) */
} kl_gbdt;

/*
 * Fit on train; valid (may be NULL) is scored every round and drives early
 * stopping: training stops after early_stopping_rounds rounds without a
 * strictly better validation metric and the model keeps the trees up to the
 * best round. Errors: KL_EINVAL (bad options, labels outside the loss's
 * domain, p mismatch), KL_ENOMEM. *out is released with kl_gbdt_release.
 */
int kl_gbdt_fit(const kl_gbdt_data *train, const kl_gbdt_data *valid, const kl_gbdt_opts *opts,
                kl_gbdt *out, kl_err *err);
void kl_gbdt_release(kl_gbdt *m);

/*
 * Raw margins for n rows of X (column-major, ld): out is n x n_outputs
 * row-major. Thread-safe, no allocation. kl_gbdt_predict applies the link
 * (sigmoid, softmax, exp for poisson): for logistic one probability per row.
 */
void kl_gbdt_predict_margin(const kl_gbdt *m, const double *X, size_t n, size_t ld, double *out);
void kl_gbdt_predict(const kl_gbdt *m, const double *X, size_t n, size_t ld, double *out);

/* Gradient and hessian of the loss at margin F for label y (one output). */
void kl_gbdt_loss_grad(enum kl_gbdt_loss loss, double huber_slope, double F, double y, double *g,
                       double *h);
/* The loss itself at margin F (per row, as the metric averages it). */
double kl_gbdt_loss_value(enum kl_gbdt_loss loss, double huber_slope, double F, double y);
/*
 * Softmax over K margins F for class y: g[k] = p_k - [y == k] and XGBoost's
 * h[k] = max(2 p_k (1 - p_k), 1e-16) (twice the diagonal of the true Hessian);
 * the loss is -log p_y.
 */
void kl_gbdt_softmax_grad(const double *F, size_t K, size_t y, double *g, double *h);
double kl_gbdt_softmax_loss(const double *F, size_t K, size_t y);

/* Payload for the model file: see docs/GBDT.md ("Payload"). */
void kl_gbdt_save(const kl_gbdt *m, kl_wbuf *w);
int kl_gbdt_load(kl_rbuf *r, kl_gbdt *out, kl_err *err);

/*
 * The learning curve as SVG line charts (training metric per round, then the
 * validation metric with the best round named), written to fp.
 */
void kl_gbdt_curve_svg(const kl_gbdt *m, FILE *fp);

/* The registry entry (`--algo gbdt`): parameters, payload and describe in gbdt_model.c. */
extern const kl_algo kl_algo_gbdt;

#endif
