/*
 * Histogram gradient boosting: losses, tree growth, prediction, payload.
 *
 * A tree grows from histograms of (sum g, sum h) per bin (gbdt_bins.c). Of
 * two siblings only the one with fewer rows is built; the other is its
 * parent's histogram minus it, computed in the parent's buffer, so a live
 * histogram exists only for nodes that may still split (a pool of buffers
 * that grows by doubling, never per node). Rows of a node are a range of one
 * index array; a split partitions the range stably, block by block in
 * parallel, so every node's rows stay in increasing row order and the
 * histogram sums come out the same whatever the thread count.
 *
 * Depth-wise growth splits every splittable node of a level in one batch
 * (histograms and partitions of the batch run as one parallel loop);
 * loss-guided growth splits the open leaf with the largest gain, one at a
 * time. Gains and weights are XGBoost's (see include/keel/gbdt.h).
 *
 * Gradients are double, interleaved (g, h) per row. The gradient pass also
 * sums the training loss of the previous round's margins (fused, one pass
 * over the rows instead of two). Per-round metrics are kept for the learning
 * curve; early stopping truncates the model to the best round.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/gbdt.h"
#include "keel/parallel.h"
#include "keel/rng.h"
#include "models/gbdt_internal.h"
#include "core/common.h"

/*
 * kl_parallel_for when the work is worth waking threads for (work counts
 * rows touched); inline otherwise. Tasks write only their own outputs, so
 * the result is the same either way.
 */
#define PAR_MIN_WORK 32768
static void par_for(size_t n_tasks, kl_task_fn fn, void *ctx, size_t work)
{
    if (work < PAR_MIN_WORK || n_tasks < 2) {
        for (size_t t = 0; t < n_tasks; t++)
            fn(ctx, t);
        return;
    }
    kl_parallel_for(n_tasks, fn, ctx);
}

/* ---- losses ---- */

static inline double sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

void kl_gbdt_loss_grad(enum kl_gbdt_loss loss, double huber_slope, double F, double y, double *g,
                       double *h)
{
    switch (loss) {
    case KL_GBDT_LOSS_SQUARED:
        *g = F - y;
        *h = 1.0;
        return;
    case KL_GBDT_LOSS_ABSOLUTE:
        *g = F > y ? 1.0 : F < y ? -1.0 : 0.0;
        *h = 1.0;
        return;
    case KL_GBDT_LOSS_HUBER: {
        double r = F - y, d = huber_slope, s = 1.0 + (r / d) * (r / d);
        *g = r / sqrt(s);
        *h = 1.0 / (s * sqrt(s));
        return;
    }
    case KL_GBDT_LOSS_LOGISTIC: {
        double p = sigmoid(F);
        *g = p - y;
        *h = KL_MAX(p * (1.0 - p), 1e-16);
        return;
    }
    case KL_GBDT_LOSS_POISSON:
        *g = exp(F) - y;
        *h = exp(F);
        return;
    case KL_GBDT_LOSS_SOFTMAX:
        break;
    }
    *g = 0.0;
    *h = 0.0;
}

double kl_gbdt_loss_value(enum kl_gbdt_loss loss, double huber_slope, double F, double y)
{
    switch (loss) {
    case KL_GBDT_LOSS_SQUARED:
        return 0.5 * (F - y) * (F - y);
    case KL_GBDT_LOSS_ABSOLUTE:
        return fabs(F - y);
    case KL_GBDT_LOSS_HUBER: {
        double r = (F - y) / huber_slope;
        return huber_slope * huber_slope * (sqrt(1.0 + r * r) - 1.0);
    }
    case KL_GBDT_LOSS_LOGISTIC:
        /* log(1 + e^F) - y F, computed without overflow */
        return (F > 0 ? F + log1p(exp(-F)) : log1p(exp(F))) - y * F;
    case KL_GBDT_LOSS_POISSON:
        return exp(F) - y * F;
    case KL_GBDT_LOSS_SOFTMAX:
        break;
    }
    return NAN;
}

void kl_gbdt_softmax_grad(const double *F, size_t K, size_t y, double *g, double *h)
{
    double mx = F[0], s = 0.0;
    for (size_t k = 1; k < K; k++)
        mx = KL_MAX(mx, F[k]);
    for (size_t k = 0; k < K; k++)
        s += exp(F[k] - mx);
    for (size_t k = 0; k < K; k++) {
        double p = exp(F[k] - mx) / s;
        g[k] = p - (k == y ? 1.0 : 0.0);
        h[k] = KL_MAX(2.0 * p * (1.0 - p), 1e-16);
    }
}

double kl_gbdt_softmax_loss(const double *F, size_t K, size_t y)
{
    double mx = F[0], s = 0.0;
    for (size_t k = 1; k < K; k++)
        mx = KL_MAX(mx, F[k]);
    for (size_t k = 0; k < K; k++)
        s += exp(F[k] - mx);
    return log(s) + mx - F[y];
}

static const char *metric_name(enum kl_gbdt_loss loss)
{
    static const char *const names[] = {"rmse",    "mae",      "mphe",
                                        "logloss", "mlogloss", "poisson-nloglik"};
    return names[loss];
}

/* Row metric term; the metric is finish(mean of terms). */
static inline double metric_term(enum kl_gbdt_loss loss, double slope, double F, double y)
{
    switch (loss) {
    case KL_GBDT_LOSS_SQUARED:
        return (F - y) * (F - y);
    case KL_GBDT_LOSS_LOGISTIC: {
        double p = sigmoid(F);
        p = KL_MIN(KL_MAX(p, 1e-16), 1.0 - 1e-16);
        return -log(y != 0.0 ? p : 1.0 - p); /* y is 0 or 1 */
    }
    case KL_GBDT_LOSS_POISSON:
        return exp(F) - y * F + lgamma(y + 1.0);
    default:
        return kl_gbdt_loss_value(loss, slope, F, y);
    }
}

static double metric_finish(enum kl_gbdt_loss loss, double mean)
{
    return loss == KL_GBDT_LOSS_SQUARED ? sqrt(mean) : mean;
}

static int cmp_f64(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- resolved options ---- */

typedef struct params {
    enum kl_gbdt_loss loss;
    size_t K; /* outputs */
    double eta, mcw, lambda, alpha, gamma, mds, subsample, colsample, slope;
    int max_depth, max_leaves, max_bin, rounds, esr;
    enum kl_gbdt_grow grow;
    const int8_t *mono;
    int has_mono;
    uint64_t seed;
} params;

static int resolve(const kl_gbdt_opts *o, size_t p, params *r, kl_err *err)
{
    memset(r, 0, sizeof *r);
    r->loss = o->loss;
    if ((unsigned)o->loss > KL_GBDT_LOSS_POISSON)
        return kl_err_set(err, KL_EINVAL, "unknown loss %d", (int)o->loss);
    r->K = o->loss == KL_GBDT_LOSS_SOFTMAX ? o->n_classes : 1;
    if (o->loss == KL_GBDT_LOSS_SOFTMAX && r->K < 2)
        return kl_err_set(err, KL_EINVAL, "softmax needs n_classes >= 2");
    r->eta = o->eta > 0 ? o->eta : 0.3;
    r->max_depth = o->max_depth_set ? o->max_depth : (o->max_depth > 0 ? o->max_depth : 6);
    r->max_leaves = o->max_leaves;
    r->grow = o->grow_policy;
    r->mcw = o->min_child_weight_set ? o->min_child_weight : 1.0;
    r->lambda = o->lambda_set ? o->lambda : 1.0;
    r->alpha = o->alpha;
    r->gamma = o->gamma;
    r->mds =
        o->max_delta_step_set ? o->max_delta_step : (o->loss == KL_GBDT_LOSS_POISSON ? 0.7 : 0.0);
    r->subsample = o->subsample > 0 ? o->subsample : 1.0;
    r->colsample = o->colsample_bytree > 0 ? o->colsample_bytree : 1.0;
    r->max_bin = o->max_bin > 0 ? o->max_bin : KL_GBDT_MAX_BIN;
    r->rounds = o->n_estimators > 0 ? o->n_estimators : 100;
    r->esr = o->early_stopping_rounds;
    r->slope = o->huber_slope > 0 ? o->huber_slope : 1.0;
    r->mono = o->monotone;
    r->seed = o->seed;
    if (r->max_depth < 0 || r->max_depth > 30)
        return kl_err_set(err, KL_EINVAL, "max_depth must be between 0 and 30, not %d",
                          r->max_depth);
    if (r->max_depth == 0 && (r->grow != KL_GBDT_GROW_LOSSGUIDE || r->max_leaves <= 0))
        return kl_err_set(err, KL_EINVAL, "max_depth 0 needs grow_policy lossguide and max_leaves");
    if (r->max_leaves < 0 || r->lambda < 0 || r->alpha < 0 || r->gamma < 0 || r->mcw < 0 ||
        r->mds < 0 || r->esr < 0)
        return kl_err_set(err, KL_EINVAL, "negative gbdt parameter");
    if (!(r->subsample <= 1.0) || !(r->colsample <= 1.0))
        return kl_err_set(err, KL_EINVAL, "subsample and colsample_bytree must be in (0, 1]");
    if (r->mono)
        for (size_t j = 0; j < p; j++) {
            if (r->mono[j] < -1 || r->mono[j] > 1)
                return kl_err_set(err, KL_EINVAL, "monotone constraint must be -1, 0 or 1");
            r->has_mono |= r->mono[j] != 0;
        }
    return 0;
}

static inline double thr_l1(double g, double alpha)
{
    return g > alpha ? g - alpha : g < -alpha ? g + alpha : 0.0;
}

static inline double calc_weight(const params *P, double G, double H)
{
    if (H + P->lambda <= 0.0)
        return 0.0;
    double w = -thr_l1(G, P->alpha) / (H + P->lambda);
    if (P->mds > 0.0)
        w = KL_MIN(KL_MAX(w, -P->mds), P->mds);
    return w;
}

static inline double score_given_weight(const params *P, double G, double H, double w)
{
    if (P->mds == 0.0 && !P->has_mono) {
        double t = thr_l1(G, P->alpha);
        return t * t / (H + P->lambda);
    }
    return -(2.0 * G * w + (H + P->lambda) * w * w);
}

/* ---- training state ---- */

typedef struct split {
    double gain;
    double GL, HL, GR, HR;
    double wl, wr; /* bounded child weights (monotone bounds) */
    int32_t feature;
    int32_t bin;
    uint8_t default_left, is_cat, valid;
} split;

typedef struct tnode {
    size_t begin, end; /* range of idx */
    double G, H;
    double lo, hi; /* weight bounds */
    int depth;
    int slot; /* histogram buffer, -1 when none */
    split best;
} tnode;

typedef struct trainer {
    params P;
    kl__gbdt_bins bins;
    size_t n, p;
    const double *y;
    double *F;         /* n * K margins */
    double *gh;        /* K arrays of interleaved (g, h), n rows each */
    const double *ghk; /* the output being grown */
    uint32_t *idx, *tmp;
    size_t n_idx;
    uint8_t *col_on; /* p: feature sampled for this tree */
    /* histogram pool */
    kl__gbdt_cell *pool;
    size_t pool_slots;
    int *free_slots;
    size_t n_free;
    kl__gbdt_cell *scratch; /* block buffers for a batch */
    size_t scratch_cells;
    /* tree being grown */
    tnode *tn;
    kl_gbdt_node *out;
    uint8_t *sbin; /* split bin per node (bin-space prediction of validation rows) */
    size_t n_nodes, cap_nodes;
    /* partition bookkeeping */
    size_t *blk_left;
    size_t cap_blk;
    /* output model */
    kl_gbdt_node *all_nodes;
    size_t n_all, cap_all;
    size_t *tree_start;
    uint8_t *all_sbin;
    size_t n_trees, cap_trees;
    /* validation */
    uint8_t *vcode;
    size_t vn;
    const double *vy;
    double *vF;
} trainer;

static int grow_nodes(trainer *T, size_t need, kl_err *err)
{
    if (need <= T->cap_nodes)
        return 0;
    size_t cap = T->cap_nodes ? T->cap_nodes : 64;
    while (cap < need)
        cap *= 2;
    tnode *tn = realloc(T->tn, cap * sizeof *tn);
    if (tn)
        T->tn = tn;
    kl_gbdt_node *o = realloc(T->out, cap * sizeof *o);
    if (o)
        T->out = o;
    uint8_t *sb = realloc(T->sbin, cap);
    if (sb)
        T->sbin = sb;
    if (!tn || !o || !sb)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    T->cap_nodes = cap;
    return 0;
}

static int get_slot(trainer *T, kl_err *err)
{
    if (T->n_free == 0) {
        size_t cells = T->bins.off[T->p];
        size_t ns = T->pool_slots ? T->pool_slots * 2 : 8;
        kl__gbdt_cell *pool = realloc(T->pool, ns * cells * sizeof *pool);
        if (!pool)
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        T->pool = pool;
        int *fs = realloc(T->free_slots, ns * sizeof *fs);
        if (!fs)
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        T->free_slots = fs;
        for (size_t s = ns; s > T->pool_slots; s--)
            T->free_slots[T->n_free++] = (int)(s - 1);
        T->pool_slots = ns;
    }
    return T->free_slots[--T->n_free];
}

static void put_slot(trainer *T, int s)
{
    if (s >= 0)
        T->free_slots[T->n_free++] = s;
}

static inline kl__gbdt_cell *slot_hist(const trainer *T, int s)
{
    return T->pool + (size_t)s * T->bins.off[T->p];
}

/* Best split of node nd from its histogram. */
static void eval_node(const trainer *T, tnode *nd)
{
    const params *P = &T->P;
    const kl__gbdt_cell *hist = slot_hist(T, nd->slot);
    split best = {.gain = 0.0, .valid = 0};
    double wp = KL_MIN(KL_MAX(calc_weight(P, nd->G, nd->H), nd->lo), nd->hi);
    double parent = score_given_weight(P, nd->G, nd->H, wp);
    for (size_t j = 0; j < T->p; j++) {
        if (!T->col_on[j])
            continue;
        const kl__gbdt_cell *c = hist + T->bins.off[j];
        int nb = T->bins.nb[j];
        double Gm = c[nb].g, Hm = c[nb].h;
        int mono = P->mono ? P->mono[j] : 0;
        int cat = T->bins.is_cat[j];
        double GL = 0.0, HL = 0.0;
        for (int b = 0; b < nb; b++) {
            if (cat) {
                GL = c[b].g;
                HL = c[b].h;
                if (HL == 0.0)
                    continue;
            } else {
                GL += c[b].g;
                HL += c[b].h;
                if (b == nb - 1 && Hm == 0.0)
                    break;
            }
            for (int dir = 0; dir < 2; dir++) { /* 0: missing right, 1: missing left */
                if (dir == 1 && (Hm == 0.0 || (!cat && b == nb - 1)))
                    break;
                double gl = GL + (dir ? Gm : 0.0), hl = HL + (dir ? Hm : 0.0);
                double gr = nd->G - gl, hr = nd->H - hl;
                if (hl < P->mcw || hr < P->mcw)
                    continue;
                double wl = KL_MIN(KL_MAX(calc_weight(P, gl, hl), nd->lo), nd->hi);
                double wr = KL_MIN(KL_MAX(calc_weight(P, gr, hr), nd->lo), nd->hi);
                if ((mono > 0 && wl > wr) || (mono < 0 && wl < wr))
                    continue;
                double gain =
                    score_given_weight(P, gl, hl, wl) + score_given_weight(P, gr, hr, wr) - parent;
                if (gain > best.gain) {
                    best = (split){gain, gl,         hl, gr,           hr,           wl,
                                   wr,   (int32_t)j, b,  (uint8_t)dir, (uint8_t)cat, 1};
                }
            }
        }
    }
    if (best.valid && !(best.gain > 1e-6 && best.gain >= P->gamma))
        best.valid = 0;
    nd->best = best;
}

typedef struct eval_ctx {
    trainer *T;
    const size_t *ids;
} eval_ctx;

static void eval_task(void *vctx, size_t t)
{
    eval_ctx *c = vctx;
    eval_node(c->T, &c->T->tn[c->ids[t]]);
}

/* ---- batched partition and histogram builds ---- */

typedef struct batch {
    trainer *T;
    const size_t *parents; /* nodes being split */
    size_t n;
    size_t *blk0; /* first block of parent i in the flattened list; n + 1 */
} batch;

/* The node (0..n-1) owning flattened block t: binary search over blk0 (n + 1 entries). */
static size_t block_owner(const size_t *blk0, size_t n, size_t t)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi + 1) / 2;
        if (blk0[mid] <= t)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

static void part_pass1(void *vctx, size_t t)
{
    batch *B = vctx;
    trainer *T = B->T;
    size_t i = block_owner(B->blk0, B->n, t);
    const tnode *nd = &T->tn[B->parents[i]];
    size_t k = t - B->blk0[i];
    size_t a = nd->begin + k * KL_GBDT_BLOCK_ROWS;
    size_t e = KL_MIN(nd->end, a + KL_GBDT_BLOCK_ROWS);
    /* branch-free: write the row to both ends, advance the end it belongs to */
    size_t l = a, r = e;
    const split *s = &nd->best;
    const uint8_t *code = T->bins.code_col + (size_t)s->feature * T->n;
    uint8_t miss = (uint8_t)T->bins.nb[s->feature], bin = (uint8_t)s->bin;
    int dl = s->default_left, cat = s->is_cat;
    uint32_t *tmp = T->tmp;
    for (size_t q = a; q < e; q++) {
        uint32_t row = T->idx[q];
        uint8_t c = code[row];
        int left = c == miss ? dl : cat ? c == bin : c <= bin;
        tmp[l] = row;
        tmp[r - 1] = row;
        l += (size_t)left;
        r -= (size_t)!left;
    }
    T->blk_left[t] = l - a;
}

static void part_pass2(void *vctx, size_t t)
{
    batch *B = vctx;
    trainer *T = B->T;
    size_t i = block_owner(B->blk0, B->n, t);
    const tnode *nd = &T->tn[B->parents[i]];
    size_t k = t - B->blk0[i];
    size_t a = nd->begin + k * KL_GBDT_BLOCK_ROWS;
    size_t e = KL_MIN(nd->end, a + KL_GBDT_BLOCK_ROWS);
    size_t NL = 0, pl = 0, pr = 0;
    for (size_t u = B->blk0[i]; u < B->blk0[i + 1]; u++) {
        size_t bl = T->blk_left[u];
        size_t ba = nd->begin + (u - B->blk0[i]) * KL_GBDT_BLOCK_ROWS;
        size_t bn = KL_MIN(nd->end, ba + KL_GBDT_BLOCK_ROWS) - ba;
        NL += bl;
        if (u < t) {
            pl += bl;
            pr += bn - bl;
        }
    }
    size_t nl = T->blk_left[t];
    memcpy(T->idx + nd->begin + pl, T->tmp + a, nl * sizeof(uint32_t));
    uint32_t *dst = T->idx + nd->begin + NL + pr;
    for (size_t q = e; q > a + nl; q--)
        *dst++ = T->tmp[q - 1];
}

typedef struct hbatch {
    trainer *T;
    const size_t *nodes; /* nodes whose histogram is built */
    size_t n;
    size_t *blk0;          /* n + 1 */
    size_t *scratch_first; /* per node: first scratch buffer, or SIZE_MAX for single-block */
} hbatch;

static void hist_task(void *vctx, size_t t)
{
    hbatch *B = vctx;
    trainer *T = B->T;
    size_t i = block_owner(B->blk0, B->n, t);
    const tnode *nd = &T->tn[B->nodes[i]];
    size_t k = t - B->blk0[i];
    size_t a = nd->begin + k * KL_GBDT_BLOCK_ROWS;
    size_t e = KL_MIN(nd->end, a + KL_GBDT_BLOCK_ROWS);
    size_t cells = T->bins.off[T->p];
    kl__gbdt_cell *dst = B->scratch_first[i] == SIZE_MAX
                             ? slot_hist(T, nd->slot)
                             : T->scratch + (B->scratch_first[i] + k) * cells;
    kl__gbdt_hist_build(&T->bins, T->idx + a, e - a, T->ghk, dst, NULL);
}

#define REDUCE_CHUNKS 8

static void reduce_task(void *vctx, size_t t)
{
    hbatch *B = vctx;
    trainer *T = B->T;
    size_t i = t / REDUCE_CHUNKS, ch = t % REDUCE_CHUNKS;
    if (B->scratch_first[i] == SIZE_MAX)
        return;
    const tnode *nd = &T->tn[B->nodes[i]];
    size_t cells = T->bins.off[T->p];
    size_t c0 = ch * cells / REDUCE_CHUNKS, c1 = (ch + 1) * cells / REDUCE_CHUNKS;
    size_t nb = B->blk0[i + 1] - B->blk0[i];
    kl__gbdt_cell *h = slot_hist(T, nd->slot);
    const kl__gbdt_cell *s0 = T->scratch + B->scratch_first[i] * cells;
    memcpy(h + c0, s0 + c0, (c1 - c0) * sizeof *h);
    for (size_t b = 1; b < nb; b++) {
        const kl__gbdt_cell *s = s0 + b * cells;
        for (size_t c = c0; c < c1; c++) {
            h[c].g += s[c].g;
            h[c].h += s[c].h;
        }
    }
}

typedef struct sub_ctx {
    trainer *T;
    const size_t *big, *small;
} sub_ctx;

static void sub_task(void *vctx, size_t t)
{
    sub_ctx *c = vctx;
    trainer *T = c->T;
    size_t i = t / REDUCE_CHUNKS, ch = t % REDUCE_CHUNKS;
    size_t cells = T->bins.off[T->p];
    size_t c0 = ch * cells / REDUCE_CHUNKS, c1 = (ch + 1) * cells / REDUCE_CHUNKS;
    kl__gbdt_cell *h = slot_hist(T, T->tn[c->big[i]].slot);
    const kl__gbdt_cell *s = slot_hist(T, T->tn[c->small[i]].slot);
    for (size_t k = c0; k < c1; k++) {
        h[k].g -= s[k].g;
        h[k].h -= s[k].h;
    }
}

/* Scratch space for the batch's blocks (grows, never per node). */
static int ensure_scratch(trainer *T, size_t blocks, kl_err *err)
{
    size_t need = blocks * T->bins.off[T->p];
    if (need <= T->scratch_cells)
        return 0;
    kl__gbdt_cell *s = realloc(T->scratch, need * sizeof *s);
    if (!s)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    T->scratch = s;
    T->scratch_cells = need;
    return 0;
}

static int ensure_blk(trainer *T, size_t blocks, kl_err *err)
{
    if (blocks <= T->cap_blk)
        return 0;
    size_t *b = realloc(T->blk_left, blocks * sizeof *b);
    if (!b)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    T->blk_left = b;
    T->cap_blk = blocks;
    return 0;
}

/* Build histograms of nodes (each already has a slot) with one parallel loop. */
static int build_hists(trainer *T, const size_t *nodes, size_t n, kl_err *err)
{
    if (n == 0)
        return 0;
    size_t *blk0 = malloc((n + 1) * sizeof *blk0), *sf = malloc(n * sizeof *sf);
    if (!blk0 || !sf) {
        free(blk0);
        free(sf);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    size_t tot = 0, scratch_n = 0, rows = 0;
    for (size_t i = 0; i < n; i++) {
        const tnode *nd = &T->tn[nodes[i]];
        rows += nd->end - nd->begin;
        size_t nb = kl_task_count(nd->end - nd->begin, KL_GBDT_BLOCK_ROWS);
        if (nb == 0)
            nb = 1;
        blk0[i] = tot;
        tot += nb;
        sf[i] = nb > 1 ? scratch_n : SIZE_MAX;
        if (nb > 1)
            scratch_n += nb;
    }
    blk0[n] = tot;
    int rc = ensure_scratch(T, scratch_n, err);
    if (rc == 0) {
        hbatch B = {T, nodes, n, blk0, sf};
        par_for(tot, hist_task, &B, rows);
        if (scratch_n)
            par_for(n * REDUCE_CHUNKS, reduce_task, &B, scratch_n * T->bins.off[T->p] / 8);
    }
    free(blk0);
    free(sf);
    return rc;
}

static void set_out_node(trainer *T, size_t id)
{
    const tnode *nd = &T->tn[id];
    double w = KL_MIN(KL_MAX(calc_weight(&T->P, nd->G, nd->H), nd->lo), nd->hi);
    T->out[id] = (kl_gbdt_node){.left = -1,
                                .feature = -1,
                                .threshold = 0.0,
                                .value = T->P.eta * w,
                                .gain = 0.0,
                                .cover = nd->H};
    T->sbin[id] = 0;
}

/*
 * Split the nodes in parents[0..n) (each with a valid best split): create
 * children, partition rows, build/subtract children histograms where a child
 * may split again, evaluate children. Returns children ids in kids (2n).
 */
static int split_batch(trainer *T, const size_t *parents, size_t n, size_t *kids, kl_err *err)
{
    const params *P = &T->P;
    int rc = grow_nodes(T, T->n_nodes + 2 * n, err);
    if (rc < 0)
        return rc;
    /* partition */
    size_t *blk0 = malloc((n + 1) * sizeof *blk0);
    size_t *small = malloc(n * sizeof *small), *big = malloc(n * sizeof *big);
    size_t *evals = malloc(2 * n * sizeof *evals);
    if (!blk0 || !small || !big || !evals) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    size_t tot = 0, rows = 0;
    for (size_t i = 0; i < n; i++) {
        const tnode *nd = &T->tn[parents[i]];
        rows += nd->end - nd->begin;
        blk0[i] = tot;
        tot += kl_task_count(nd->end - nd->begin, KL_GBDT_BLOCK_ROWS);
    }
    blk0[n] = tot;
    if ((rc = ensure_blk(T, tot, err)) < 0)
        goto done;
    batch B = {T, parents, n, blk0};
    par_for(tot, part_pass1, &B, rows);
    par_for(tot, part_pass2, &B, rows);
    size_t n_build = 0, n_eval = 0;
    for (size_t i = 0; i < n; i++) {
        size_t pid = parents[i];
        tnode *nd = &T->tn[pid];
        size_t NL = 0;
        for (size_t u = blk0[i]; u < blk0[i + 1]; u++)
            NL += T->blk_left[u];
        size_t l = T->n_nodes, r = l + 1;
        T->n_nodes += 2;
        kids[2 * i] = l;
        kids[2 * i + 1] = r;
        const split *s = &nd->best;
        double lo = nd->lo, hi = nd->hi, mid = (s->wl + s->wr) / 2.0;
        int mono = P->mono ? P->mono[s->feature] : 0;
        T->tn[l] = (tnode){.begin = nd->begin,
                           .end = nd->begin + NL,
                           .G = s->GL,
                           .H = s->HL,
                           .lo = lo,
                           .hi = hi,
                           .depth = nd->depth + 1,
                           .slot = -1};
        T->tn[r] = (tnode){.begin = nd->begin + NL,
                           .end = nd->end,
                           .G = s->GR,
                           .H = s->HR,
                           .lo = lo,
                           .hi = hi,
                           .depth = nd->depth + 1,
                           .slot = -1};
        if (mono > 0) {
            T->tn[l].hi = mid;
            T->tn[r].lo = mid;
        } else if (mono < 0) {
            T->tn[l].lo = mid;
            T->tn[r].hi = mid;
        }
        set_out_node(T, l);
        set_out_node(T, r);
        /* parent becomes an inner node */
        kl_gbdt_node *o = &T->out[pid];
        o->left = (int32_t)l;
        o->feature = s->feature;
        o->threshold = T->bins.upper[T->bins.off[s->feature] + (size_t)s->bin];
        o->gain = s->gain;
        o->default_left = s->default_left;
        o->is_cat = s->is_cat;
        T->sbin[pid] = (uint8_t)s->bin;
        int can_split = P->max_depth == 0 || nd->depth + 1 < P->max_depth;
        if (!can_split) {
            put_slot(T, nd->slot);
            nd->slot = -1;
            continue;
        }
        size_t sm = (T->tn[l].end - T->tn[l].begin) <= (T->tn[r].end - T->tn[r].begin) ? l : r;
        size_t bg = sm == l ? r : l;
        int s_new = get_slot(T, err);
        if (s_new < 0) {
            rc = s_new;
            goto done;
        }
        nd = &T->tn[pid];
        T->tn[sm].slot = s_new;
        T->tn[bg].slot = nd->slot;
        nd->slot = -1;
        small[n_build] = sm;
        big[n_build] = bg;
        n_build++;
        evals[n_eval++] = l;
        evals[n_eval++] = r;
    }
    if ((rc = build_hists(T, small, n_build, err)) < 0)
        goto done;
    sub_ctx sc = {T, big, small};
    par_for(n_build * REDUCE_CHUNKS, sub_task, &sc, n_build * T->bins.off[T->p] / 8);
    eval_ctx ec = {T, evals};
    par_for(n_eval, eval_task, &ec, n_eval * T->bins.off[T->p] / 2);
done:
    free(blk0);
    free(small);
    free(big);
    free(evals);
    return rc;
}

static int leaf_budget_left(const trainer *T, size_t n_leaves)
{
    return T->P.max_leaves <= 0 || n_leaves < (size_t)T->P.max_leaves;
}

/* Grow one tree from the gradients at T->gh over rows idx[0..n_idx) into T->out. */
static int grow_tree(trainer *T, kl_err *err)
{
    int rc = grow_nodes(T, 1, err);
    if (rc < 0)
        return rc;
    T->n_nodes = 1;
    T->tn[0] = (tnode){.end = T->n_idx, .lo = -INFINITY, .hi = INFINITY, .slot = -1};
    int s = get_slot(T, err);
    if (s < 0)
        return s;
    T->tn[0].slot = s;
    size_t root = 0;
    if ((rc = build_hists(T, &root, 1, err)) < 0)
        return rc;
    /* root sums from feature 0's cells (every row is in exactly one) */
    const kl__gbdt_cell *h = slot_hist(T, s);
    double G = 0.0, H = 0.0;
    for (size_t b = 0; b <= T->bins.nb[0]; b++) {
        G += h[b].g;
        H += h[b].h;
    }
    T->tn[0].G = G;
    T->tn[0].H = H;
    set_out_node(T, 0);
    eval_node(T, &T->tn[0]);
    size_t n_leaves = 1;
    size_t cap = 64;
    size_t *open = malloc(cap * sizeof *open), *next = malloc(cap * sizeof *next);
    size_t *sel = malloc(cap * sizeof *sel);
    if (!open || !next || !sel) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    size_t n_open = 1;
    open[0] = 0;
    while (n_open > 0) {
        size_t n_sel = 0;
        if (T->P.grow == KL_GBDT_GROW_DEPTHWISE) {
            for (size_t i = 0; i < n_open; i++) {
                tnode *nd = &T->tn[open[i]];
                if (nd->best.valid && leaf_budget_left(T, n_leaves + n_sel))
                    sel[n_sel++] = open[i];
                else {
                    put_slot(T, nd->slot);
                    nd->slot = -1;
                }
            }
            n_open = 0;
        } else {
            size_t bi = SIZE_MAX;
            for (size_t i = 0; i < n_open; i++) {
                const tnode *nd = &T->tn[open[i]];
                if (!nd->best.valid)
                    continue;
                if (bi == SIZE_MAX || nd->best.gain > T->tn[open[bi]].best.gain ||
                    (nd->best.gain == T->tn[open[bi]].best.gain && open[i] < open[bi]))
                    bi = i;
            }
            if (bi == SIZE_MAX || !leaf_budget_left(T, n_leaves))
                break;
            sel[n_sel++] = open[bi];
            open[bi] = open[--n_open];
        }
        if (n_sel == 0)
            break;
        if (2 * n_sel + n_open > cap) {
            size_t nc = cap;
            while (2 * n_sel + n_open > nc)
                nc *= 2;
            size_t *a = realloc(open, nc * sizeof *a);
            if (a)
                open = a;
            size_t *b = realloc(next, nc * sizeof *b);
            if (b)
                next = b;
            size_t *c = realloc(sel, nc * sizeof *c);
            if (c)
                sel = c;
            if (!a || !b || !c) {
                rc = kl_err_set(err, KL_ENOMEM, "out of memory");
                goto done;
            }
            cap = nc;
        }
        if ((rc = split_batch(T, sel, n_sel, next, err)) < 0)
            goto done;
        n_leaves += n_sel;
        for (size_t i = 0; i < 2 * n_sel; i++)
            if (T->tn[next[i]].slot >= 0)
                open[n_open++] = next[i];
    }
    /* lossguide leftovers */
    for (size_t i = 0; i < n_open; i++) {
        put_slot(T, T->tn[open[i]].slot);
        T->tn[open[i]].slot = -1;
    }
done:
    free(open);
    free(next);
    free(sel);
    return rc;
}

/* ---- per-round work over all rows ---- */

typedef struct grad_ctx {
    trainer *T;
    double *loss_part; /* per block */
} grad_ctx;

static void grad_task(void *vctx, size_t t)
{
    grad_ctx *c = vctx;
    trainer *T = c->T;
    const params *P = &T->P;
    size_t i0 = t * KL_GBDT_BLOCK_ROWS, i1 = KL_MIN(T->n, i0 + KL_GBDT_BLOCK_ROWS);
    size_t K = P->K;
    double sum = 0.0;
    if (P->loss == KL_GBDT_LOSS_SOFTMAX) {
        double g[256], h[256];
        for (size_t i = i0; i < i1; i++) {
            const double *F = T->F + i * K;
            size_t y = (size_t)T->y[i];
            kl_gbdt_softmax_grad(F, K, y, g, h);
            for (size_t k = 0; k < K; k++) {
                T->gh[k * 2 * T->n + 2 * i] = g[k];
                T->gh[k * 2 * T->n + 2 * i + 1] = h[k];
            }
            sum += kl_gbdt_softmax_loss(F, K, y);
        }
    } else if (P->loss == KL_GBDT_LOSS_LOGISTIC) {
        for (size_t i = i0; i < i1; i++) {
            double F = T->F[i], y = T->y[i];
            double e = exp(-fabs(F));
            double p = F >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
            T->gh[2 * i] = p - y;
            T->gh[2 * i + 1] = KL_MAX(p * (1.0 - p), 1e-16);
            double pc = KL_MIN(KL_MAX(p, 1e-16), 1.0 - 1e-16);
            sum -= log(y != 0.0 ? pc : 1.0 - pc); /* y is 0 or 1 */
        }
    } else {
        for (size_t i = i0; i < i1; i++) {
            kl_gbdt_loss_grad(P->loss, P->slope, T->F[i], T->y[i], &T->gh[2 * i],
                              &T->gh[2 * i + 1]);
            sum += metric_term(P->loss, P->slope, T->F[i], T->y[i]);
        }
    }
    c->loss_part[t] = sum;
}

/* Predict one tree in bin space for a row of codes. */
static inline double tree_bin_value(const kl_gbdt_node *nodes, const uint8_t *sbin,
                                    const kl__gbdt_bins *b, const uint8_t *row)
{
    size_t i = 0;
    while (nodes[i].left >= 0) {
        const kl_gbdt_node *nd = &nodes[i];
        uint8_t code = row[nd->feature];
        int left;
        if (code == b->nb[nd->feature])
            left = nd->default_left;
        else
            left = nd->is_cat ? code == sbin[i] : code <= sbin[i];
        i = (size_t)nd->left + (left ? 0 : 1);
    }
    return nodes[i].value;
}

typedef struct upd_ctx {
    trainer *T;
    const kl_gbdt_node *nodes;
    const uint8_t *sbin;
    const uint8_t *code;
    double *F;
    size_t n, K, k;
    const double *y;
    double *part; /* metric partials per block, or NULL */
    int loss_only;
} upd_ctx;

static void upd_task(void *vctx, size_t t)
{
    upd_ctx *c = vctx;
    size_t i0 = t * KL_GBDT_BLOCK_ROWS, i1 = KL_MIN(c->n, i0 + KL_GBDT_BLOCK_ROWS);
    size_t p = c->T->p;
    if (!c->loss_only)
        for (size_t i = i0; i < i1; i++)
            c->F[i * c->K + c->k] +=
                tree_bin_value(c->nodes, c->sbin, &c->T->bins, c->code + i * p);
    if (c->part) {
        double s = 0.0;
        const params *P = &c->T->P;
        for (size_t i = i0; i < i1; i++) {
            if (P->loss == KL_GBDT_LOSS_SOFTMAX)
                s += kl_gbdt_softmax_loss(c->F + i * c->K, c->K, (size_t)c->y[i]);
            else
                s += metric_term(P->loss, P->slope, c->F[i], c->y[i]);
        }
        c->part[t] = s;
    }
}

/* Leaf ranges: every training row is in idx (no row subsampling). */
typedef struct leaf_ctx {
    trainer *T;
    size_t k;
    const size_t *leaves;
} leaf_ctx;

static void leaf_task(void *vctx, size_t t)
{
    leaf_ctx *c = vctx;
    trainer *T = c->T;
    const tnode *nd = &T->tn[c->leaves[t]];
    double v = T->out[c->leaves[t]].value;
    size_t K = T->P.K;
    for (size_t q = nd->begin; q < nd->end; q++)
        T->F[(size_t)T->idx[q] * K + c->k] += v;
}

static double sum_parts(const double *part, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += part[i];
    return s;
}

static int append_tree(trainer *T, kl_err *err)
{
    if (T->n_all + T->n_nodes > T->cap_all) {
        size_t cap = T->cap_all ? T->cap_all : 1024;
        while (cap < T->n_all + T->n_nodes)
            cap *= 2;
        kl_gbdt_node *a = realloc(T->all_nodes, cap * sizeof *a);
        if (a)
            T->all_nodes = a;
        uint8_t *s = realloc(T->all_sbin, cap);
        if (s)
            T->all_sbin = s;
        if (!a || !s)
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        T->cap_all = cap;
    }
    if (T->n_trees + 2 > T->cap_trees) {
        size_t cap = T->cap_trees ? T->cap_trees * 2 : 256;
        size_t *ts = realloc(T->tree_start, cap * sizeof *ts);
        if (!ts)
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        T->tree_start = ts;
        T->cap_trees = cap;
    }
    if (T->n_trees == 0)
        T->tree_start[0] = 0;
    memcpy(T->all_nodes + T->n_all, T->out, T->n_nodes * sizeof *T->out);
    memcpy(T->all_sbin + T->n_all, T->sbin, T->n_nodes);
    T->n_all += T->n_nodes;
    T->n_trees++;
    T->tree_start[T->n_trees] = T->n_all;
    return 0;
}

static double initial_margin(const params *P, const kl_gbdt_opts *o, const double *y, size_t n,
                             kl_err *err, int *rc)
{
    *rc = 0;
    if (P->loss == KL_GBDT_LOSS_SOFTMAX)
        return o->base_score_set ? o->base_score : 0.0;
    double b;
    if (o->base_score_set) {
        b = o->base_score;
    } else if (P->loss == KL_GBDT_LOSS_ABSOLUTE || P->loss == KL_GBDT_LOSS_HUBER) {
        double *c = malloc((n ? n : 1) * sizeof *c);
        if (!c) {
            *rc = kl_err_set(err, KL_ENOMEM, "out of memory");
            return 0.0;
        }
        memcpy(c, y, n * sizeof *c);
        qsort(c, n, sizeof *c, cmp_f64);
        b = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2.0;
        free(c);
    } else {
        double s = 0.0;
        for (size_t i = 0; i < n; i++)
            s += y[i];
        b = s / (double)n;
    }
    if (P->loss == KL_GBDT_LOSS_LOGISTIC) {
        b = KL_MIN(KL_MAX(b, 1e-7), 1.0 - 1e-7);
        return log(b / (1.0 - b));
    }
    if (P->loss == KL_GBDT_LOSS_POISSON)
        return log(KL_MAX(b, 1e-7));
    return b;
}

static void trainer_release(trainer *T)
{
    kl__gbdt_bins_release(&T->bins);
    free(T->F);
    free(T->gh);
    free(T->idx);
    free(T->tmp);
    free(T->col_on);
    free(T->pool);
    free(T->free_slots);
    free(T->scratch);
    free(T->tn);
    free(T->out);
    free(T->sbin);
    free(T->blk_left);
    free(T->all_nodes);
    free(T->tree_start);
    free(T->all_sbin);
    free(T->vcode);
    free(T->vF);
}

static int check_labels(const params *P, const double *y, size_t n, kl_err *err)
{
    for (size_t i = 0; i < n; i++) {
        double v = y[i];
        int ok = isfinite(v);
        if (P->loss == KL_GBDT_LOSS_LOGISTIC)
            ok = v == 0.0 || v == 1.0;
        else if (P->loss == KL_GBDT_LOSS_SOFTMAX)
            ok = v >= 0.0 && v < (double)P->K && v == floor(v);
        else if (P->loss == KL_GBDT_LOSS_POISSON)
            ok = ok && v >= 0.0;
        if (!ok)
            return kl_err_set(err, KL_EINVAL, "label %.17g in row %zu is outside the loss's domain",
                              v, i + 1);
    }
    return 0;
}

/* Rows and columns of round r (from kl_rng_stream(seed, r)). */
static void sample_round(trainer *T, size_t r)
{
    kl_rng g;
    kl_rng_stream(&g, T->P.seed, r);
    if (T->P.subsample < 1.0) {
        size_t m = 0;
        for (size_t i = 0; i < T->n; i++)
            if (kl_rng_double(&g) < T->P.subsample)
                T->idx[m++] = (uint32_t)i;
        T->n_idx = m;
    } else {
        for (size_t i = 0; i < T->n; i++)
            T->idx[i] = (uint32_t)i;
        T->n_idx = T->n;
    }
    size_t p = T->p;
    if (T->P.colsample < 1.0) {
        size_t want = (size_t)floor(T->P.colsample * (double)p + 0.5);
        want = KL_MAX(want, (size_t)1);
        /* partial Fisher-Yates over feature indices kept in tmp (p <= n is not assumed) */
        memset(T->col_on, 0, p);
        size_t *perm = (size_t *)T->blk_left; /* cap_blk >= p ensured by the caller */
        for (size_t j = 0; j < p; j++)
            perm[j] = j;
        for (size_t j = 0; j < want; j++) {
            size_t k = j + (size_t)kl_rng_below(&g, p - j);
            size_t t = perm[j];
            perm[j] = perm[k];
            perm[k] = t;
            T->col_on[perm[j]] = 1;
        }
    } else {
        memset(T->col_on, 1, p);
    }
}

static int validate_data(const kl_gbdt_data *d, const char *what, kl_err *err)
{
    if (!d->X || !d->y || d->n == 0 || d->p == 0 || d->ld < d->n)
        return kl_err_set(err, KL_EINVAL, "%s data is empty or malformed", what);
    if (d->n >= UINT32_MAX)
        return kl_err_set(err, KL_ERANGE, "%s data has too many rows", what);
    return 0;
}

int kl_gbdt_fit(const kl_gbdt_data *train, const kl_gbdt_data *valid, const kl_gbdt_opts *opts,
                kl_gbdt *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    trainer T = {0};
    int rc;
    if ((rc = validate_data(train, "training", err)) < 0)
        return rc;
    if (valid && ((rc = validate_data(valid, "validation", err)) < 0))
        return rc;
    if (valid && valid->p != train->p)
        return kl_err_set(err, KL_EINVAL, "validation data has %zu features, training %zu",
                          valid->p, train->p);
    if ((rc = resolve(opts, train->p, &T.P, err)) < 0)
        return rc;
    const params *P = &T.P;
    if (P->esr > 0 && !valid)
        return kl_err_set(err, KL_EINVAL, "early_stopping_rounds needs a validation set");
    if ((rc = check_labels(P, train->y, train->n, err)) < 0 ||
        (valid && (rc = check_labels(P, valid->y, valid->n, err)) < 0))
        return rc;
    size_t n = train->n, p = train->p, K = P->K;
    T.n = n;
    T.p = p;
    T.y = train->y;
    if ((rc = kl__gbdt_bins_fit(train, P->max_bin, opts->categorical, P->seed, &T.bins, err)) < 0)
        return rc;
    size_t nblk = kl_task_count(n, KL_GBDT_BLOCK_ROWS);
    double *part =
        malloc((nblk + kl_task_count(valid ? valid->n : 0, KL_GBDT_BLOCK_ROWS) + 1) * sizeof *part);
    T.F = malloc(n * K * sizeof *T.F);
    T.gh = malloc(2 * n * K * sizeof *T.gh);
    T.idx = malloc(n * sizeof *T.idx);
    T.tmp = malloc(n * sizeof *T.tmp);
    T.col_on = malloc(p);
    double *tm = calloc((size_t)P->rounds, sizeof *tm);
    double *vm = valid ? calloc((size_t)P->rounds, sizeof *vm) : NULL;
    size_t *leaves = NULL;
    if (!part || !T.F || !T.gh || !T.idx || !T.tmp || !T.col_on || !tm || (valid && !vm)) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = ensure_blk(&T, KL_MAX(p, nblk), err)) < 0)
        goto fail;
    double base = initial_margin(P, opts, train->y, n, err, &rc);
    if (rc < 0)
        goto fail;
    for (size_t i = 0; i < n * K; i++)
        T.F[i] = base;
    if (valid) {
        if ((rc = kl__gbdt_bins_apply(&T.bins, valid, &T.vcode, err)) < 0)
            goto fail;
        T.vn = valid->n;
        T.vy = valid->y;
        T.vF = malloc(valid->n * K * sizeof *T.vF);
        if (!T.vF) {
            rc = kl_err_set(err, KL_ENOMEM, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < valid->n * K; i++)
            T.vF[i] = base;
    }
    size_t best = 0, rounds_run = 0;
    double best_v = INFINITY;
    size_t cap_leaves = 0;
    for (size_t r = 0; r < (size_t)P->rounds; r++) {
        grad_ctx gc = {&T, part};
        par_for(nblk, grad_task, &gc, n);
        if (r > 0)
            tm[r - 1] = metric_finish(P->loss, sum_parts(part, nblk) / (double)n);
        sample_round(&T, r);
        for (size_t k = 0; k < K; k++) {
            T.ghk = T.gh + k * 2 * n;
            if ((rc = grow_tree(&T, err)) < 0 || (rc = append_tree(&T, err)) < 0)
                goto fail;
            const kl_gbdt_node *nodes = T.all_nodes + T.tree_start[T.n_trees - 1];
            const uint8_t *sbin = T.all_sbin + T.tree_start[T.n_trees - 1];
            if (T.n_idx == n) {
                if (cap_leaves < T.n_nodes) {
                    size_t *l = realloc(leaves, T.n_nodes * sizeof *l);
                    if (!l) {
                        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
                        goto fail;
                    }
                    leaves = l;
                    cap_leaves = T.n_nodes;
                }
                size_t nl = 0;
                for (size_t q = 0; q < T.n_nodes; q++)
                    if (T.out[q].left < 0)
                        leaves[nl++] = q;
                leaf_ctx lc = {&T, k, leaves};
                par_for(nl, leaf_task, &lc, n);
            } else {
                upd_ctx uc = {&T, nodes, sbin, T.bins.code, T.F, n, K, k, NULL, NULL, 0};
                par_for(nblk, upd_task, &uc, n);
            }
            if (valid) {
                upd_ctx uc = {&T, nodes, sbin, T.vcode, T.vF, T.vn, K, k, T.vy, NULL, 0};
                if (k + 1 == K)
                    uc.part = part;
                par_for(kl_task_count(T.vn, KL_GBDT_BLOCK_ROWS), upd_task, &uc, T.vn);
            }
        }
        rounds_run = r + 1;
        if (valid) {
            double v = metric_finish(
                P->loss, sum_parts(part, kl_task_count(T.vn, KL_GBDT_BLOCK_ROWS)) / (double)T.vn);
            vm[r] = v;
            if (v < best_v) {
                best_v = v;
                best = r;
            }
            if (P->esr > 0 && r - best >= (size_t)P->esr)
                break;
        } else {
            best = r;
        }
    }
    {
        /* training metric after the last round */
        upd_ctx uc = {&T, NULL, NULL, T.bins.code, T.F, n, K, 0, T.y, part, 1};
        par_for(nblk, upd_task, &uc, n);
        tm[rounds_run - 1] = metric_finish(P->loss, sum_parts(part, nblk) / (double)n);
    }
    size_t keep = P->esr > 0 ? (best + 1) * K : T.n_trees;
    out->loss = P->loss;
    out->n_features = p;
    out->n_outputs = K;
    out->base_margin = base;
    out->n_trees = keep;
    out->tree_start = T.tree_start;
    out->nodes = T.all_nodes;
    out->n_rounds_run = rounds_run;
    out->train_metric = tm;
    out->valid_metric = vm;
    out->best_iteration = best;
    out->metric_name = metric_name(P->loss);
    T.tree_start = NULL;
    T.all_nodes = NULL;
    trainer_release(&T);
    free(part);
    free(leaves);
    return 0;
fail:
    trainer_release(&T);
    free(part);
    free(tm);
    free(vm);
    free(leaves);
    return rc;
}

void kl_gbdt_release(kl_gbdt *m)
{
    if (!m)
        return;
    free(m->tree_start);
    free(m->nodes);
    free(m->train_metric);
    free(m->valid_metric);
    memset(m, 0, sizeof *m);
}

/* ---- prediction ---- */

#define PRED_BLOCK 64
#define PRED_TASK_ROWS 4096

/*
 * Rows [i0, i1) of one tree: the rows of a block descend together, one level
 * per sweep, so their independent loads overlap; the direction is computed
 * without branches (NaN fails x <= t, and takes the default instead).
 */
static void predict_block(const kl_gbdt *m, const double *X, size_t i0, size_t i1, size_t ld,
                          double *out)
{
    size_t K = m->n_outputs;
    uint32_t q[PRED_BLOCK];
    for (size_t t = 0; t < m->n_trees; t++) {
        const kl_gbdt_node *nodes = m->nodes + m->tree_start[t];
        size_t k = t % K, nb = i1 - i0;
        memset(q, 0, nb * sizeof *q);
        for (int moved = 1; moved;) {
            moved = 0;
            for (size_t r = 0; r < nb; r++) {
                const kl_gbdt_node *nd = &nodes[q[r]];
                if (nd->left < 0)
                    continue;
                double x = X[(size_t)nd->feature * ld + i0 + r];
                int left = nd->is_cat ? x == nd->threshold : x <= nd->threshold;
                left = isnan(x) ? nd->default_left : left;
                q[r] = (uint32_t)nd->left + (uint32_t)!left;
                moved = 1;
            }
        }
        for (size_t r = 0; r < nb; r++)
            out[(i0 + r) * K + k] += nodes[q[r]].value;
    }
}

typedef struct pred_ctx {
    const kl_gbdt *m;
    const double *X;
    size_t n, ld;
    double *out;
} pred_ctx;

static void pred_task(void *vctx, size_t t)
{
    pred_ctx *c = vctx;
    size_t a = t * PRED_TASK_ROWS, e = KL_MIN(c->n, a + PRED_TASK_ROWS);
    for (size_t i0 = a; i0 < e; i0 += PRED_BLOCK)
        predict_block(c->m, c->X, i0, KL_MIN(e, i0 + PRED_BLOCK), c->ld, c->out);
}

void kl_gbdt_predict_margin(const kl_gbdt *m, const double *X, size_t n, size_t ld, double *out)
{
    size_t K = m->n_outputs;
    for (size_t i = 0; i < n * K; i++)
        out[i] = m->base_margin;
    pred_ctx c = {m, X, n, ld, out};
    par_for(kl_task_count(n, PRED_TASK_ROWS), pred_task, &c, n * (m->n_trees / 8 + 1));
}

void kl_gbdt_predict(const kl_gbdt *m, const double *X, size_t n, size_t ld, double *out)
{
    kl_gbdt_predict_margin(m, X, n, ld, out);
    size_t K = m->n_outputs;
    if (m->loss == KL_GBDT_LOSS_LOGISTIC) {
        for (size_t i = 0; i < n; i++)
            out[i] = sigmoid(out[i]);
    } else if (m->loss == KL_GBDT_LOSS_POISSON) {
        for (size_t i = 0; i < n; i++)
            out[i] = exp(out[i]);
    } else if (m->loss == KL_GBDT_LOSS_SOFTMAX) {
        for (size_t i = 0; i < n; i++) {
            double *F = out + i * K, mx = F[0], s = 0.0;
            for (size_t k = 1; k < K; k++)
                mx = KL_MAX(mx, F[k]);
            for (size_t k = 0; k < K; k++) {
                F[k] = exp(F[k] - mx);
                s += F[k];
            }
            for (size_t k = 0; k < K; k++)
                F[k] /= s;
        }
    }
}

/* ---- payload ---- */

void kl_gbdt_save(const kl_gbdt *m, kl_wbuf *w)
{
    kl_wbuf_u32(w, (uint32_t)m->loss);
    kl_wbuf_u32(w, (uint32_t)m->n_features);
    kl_wbuf_u32(w, (uint32_t)m->n_outputs);
    kl_wbuf_u32(w, 0);
    kl_wbuf_f64(w, m->base_margin);
    kl_wbuf_u64(w, m->n_trees);
    kl_wbuf_u64(w, m->tree_start[m->n_trees]);
    for (size_t t = 0; t <= m->n_trees; t++)
        kl_wbuf_u64(w, m->tree_start[t]);
    for (size_t i = 0; i < m->tree_start[m->n_trees]; i++) {
        const kl_gbdt_node *nd = &m->nodes[i];
        kl_wbuf_u32(w, (uint32_t)nd->left);
        kl_wbuf_u32(w, (uint32_t)nd->feature);
        kl_wbuf_f64(w, nd->threshold);
        kl_wbuf_f64(w, nd->value);
        kl_wbuf_f64(w, nd->gain);
        kl_wbuf_f64(w, nd->cover);
        kl_wbuf_u8(w, nd->default_left);
        kl_wbuf_u8(w, nd->is_cat);
    }
    kl_wbuf_u64(w, m->n_rounds_run);
    kl_wbuf_u64(w, m->best_iteration);
    kl_wbuf_u8(w, m->valid_metric ? 1 : 0);
    kl_wbuf_f64s(w, m->train_metric, m->n_rounds_run);
    if (m->valid_metric)
        kl_wbuf_f64s(w, m->valid_metric, m->n_rounds_run);
}

int kl_gbdt_load(kl_rbuf *r, kl_gbdt *m, kl_err *err)
{
    memset(m, 0, sizeof *m);
    uint32_t loss = kl_rbuf_u32(r), p = kl_rbuf_u32(r), K = kl_rbuf_u32(r), zero = kl_rbuf_u32(r);
    double base = kl_rbuf_f64(r);
    uint64_t nt = kl_rbuf_u64(r), nn = kl_rbuf_u64(r);
    size_t left_bytes = r->len - r->pos;
    if (!r->ok || loss > KL_GBDT_LOSS_POISSON || p == 0 || K == 0 || K > 65536 || zero != 0 ||
        !isfinite(base) || nt % K != 0 || nt > left_bytes / 8 || nn > left_bytes / 42 ||
        (loss != KL_GBDT_LOSS_SOFTMAX && K != 1))
        return kl_err_set(err, KL_ECORRUPT, "bad gbdt payload");
    m->tree_start = malloc((nt + 1) * sizeof *m->tree_start);
    m->nodes = malloc((nn ? nn : 1) * sizeof *m->nodes);
    if (!m->tree_start || !m->nodes) {
        kl_gbdt_release(m);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    m->loss = (enum kl_gbdt_loss)loss;
    m->n_features = p;
    m->n_outputs = K;
    m->base_margin = base;
    m->n_trees = nt;
    int ok = 1;
    for (size_t t = 0; t <= nt; t++) {
        m->tree_start[t] = kl_rbuf_u64(r);
        if (t == 0 ? m->tree_start[0] != 0 : m->tree_start[t] <= m->tree_start[t - 1])
            ok = 0;
    }
    ok = ok && r->ok && m->tree_start[nt] == nn;
    for (size_t t = 0; ok && t < nt; t++) {
        size_t a = m->tree_start[t], e = m->tree_start[t + 1];
        for (size_t i = a; i < e; i++) {
            kl_gbdt_node *nd = &m->nodes[i];
            memset(nd, 0, sizeof *nd);
            nd->left = (int32_t)kl_rbuf_u32(r);
            nd->feature = (int32_t)kl_rbuf_u32(r);
            nd->threshold = kl_rbuf_f64(r);
            nd->value = kl_rbuf_f64(r);
            nd->gain = kl_rbuf_f64(r);
            nd->cover = kl_rbuf_f64(r);
            nd->default_left = kl_rbuf_u8(r);
            nd->is_cat = kl_rbuf_u8(r);
            size_t li = (size_t)(uint32_t)nd->left;
            if (!r->ok || !isfinite(nd->value) || nd->default_left > 1 || nd->is_cat > 1 ||
                (nd->left >= 0 && (li <= i - a || li + 1 >= e - a || nd->feature < 0 ||
                                   (uint32_t)nd->feature >= p || isnan(nd->threshold))) ||
                (nd->left < 0 && nd->left != -1))
                ok = 0;
            /* children are stored relative to the tree: left is an index within it */
        }
    }
    uint64_t rounds = kl_rbuf_u64(r), best = kl_rbuf_u64(r);
    uint8_t has_v = kl_rbuf_u8(r);
    if (!ok || !r->ok || has_v > 1 || rounds > (r->len - r->pos) / 8 || rounds == 0 ||
        best >= rounds) {
        kl_gbdt_release(m);
        return kl_err_set(err, KL_ECORRUPT, "bad gbdt payload");
    }
    m->n_rounds_run = rounds;
    m->best_iteration = best;
    m->train_metric = malloc(rounds * sizeof(double));
    m->valid_metric = has_v ? malloc(rounds * sizeof(double)) : NULL;
    if (!m->train_metric || (has_v && !m->valid_metric)) {
        kl_gbdt_release(m);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    kl_rbuf_f64s(r, m->train_metric, rounds);
    if (has_v)
        kl_rbuf_f64s(r, m->valid_metric, rounds);
    if (!r->ok) {
        kl_gbdt_release(m);
        return kl_err_set(err, KL_ECORRUPT, "bad gbdt payload");
    }
    m->metric_name = metric_name(m->loss);
    return 0;
}
