/*
 * CART trees (scikit-learn's rules; see include/keel/tree.h).
 *
 * Nodes grow from a stack; a node's rows are a range of one index array,
 * split in place after the search. The search sorts the node's (value, row)
 * pairs per candidate feature (radix sort) and scans prefix sums (weighted count, sum of
 * y and y^2, or weighted class counts), so a split costs O(m log m) per
 * feature for m rows: exact, and simple enough to check by hand. Buffers are
 * allocated once per tree, never per node.
 *
 * Missing values (NaN) sort last; every threshold is tried with the missing
 * rows on the right, then on the left, and "every present value left,
 * missing right" is a candidate too (scikit-learn 1.3's rule), so a split
 * learns where missing values go. Categorical features (opts.categorical)
 * are split one-vs-rest: each distinct value's rows against the others,
 * missing rows again tried on either side; the value's group is a run of the
 * sorted pairs, so its counts are differences of the prefix sums.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keel/tree.h"
#include "core/common.h"

typedef struct vr {
    double x;
    uint32_t row;
} vr;

static inline uint64_t key_of(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return (u >> 63) ? ~u : (u | 0x8000000000000000ull);
}

/*
 * Sort (value, row) pairs by value, ties by row. The pairs come in
 * increasing row order, so a stable sort by value gives that order: an
 * insertion sort for small ranges, else an LSD radix sort on 8-bit digits
 * of the order-preserving key (digits where every key agrees are skipped).
 */
typedef struct kr {
    uint64_t k;
    uint32_t row;
} kr;

static void sort_pairs(vr *v, kr *a, kr *b, size_t m)
{
    if (m < 64) {
        for (size_t i = 1; i < m; i++) {
            vr t = v[i];
            size_t j = i;
            while (j > 0 && v[j - 1].x > t.x) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = t;
        }
        return;
    }
    for (size_t i = 0; i < m; i++)
        a[i] = (kr){key_of(v[i].x), v[i].row};
    for (int shift = 0; shift < 64; shift += 8) {
        size_t cnt[256] = {0};
        for (size_t i = 0; i < m; i++)
            cnt[(a[i].k >> shift) & 0xff]++;
        if (cnt[(a[0].k >> shift) & 0xff] == m)
            continue;
        size_t pos = 0;
        for (int d = 0; d < 256; d++) {
            size_t c = cnt[d];
            cnt[d] = pos;
            pos += c;
        }
        for (size_t i = 0; i < m; i++)
            b[cnt[(a[i].k >> shift) & 0xff]++] = a[i];
        kr *t = a;
        a = b;
        b = t;
    }
    for (size_t i = 0; i < m; i++) {
        uint64_t u = a[i].k;
        u = (u >> 63) ? (u & 0x7fffffffffffffffull) : ~u;
        memcpy(&v[i].x, &u, sizeof u);
        v[i].row = a[i].row;
    }
}

typedef struct fit_ws {
    const double *X, *y, *w;
    size_t n, p, ld, K;
    const kl_tree_opts *o;
    kl_rng *rng;
    uint32_t *idx;
    vr *buf;
    kr *ka, *kb;            /* radix sort buffers */
    double *cl, *cr, *ctot; /* class counts */
    size_t *feat;
    double wtotal;
} fit_ws;

/* Impurity of weighted class counts c (sum W) or of (W, S, Q) for squared error. */
static double impurity_cls(const fit_ws *s, const double *c, double W)
{
    double v = 0.0;
    if (W <= 0)
        return 0.0;
    if (s->o->criterion == KL_TREE_CRITERION_GINI) {
        double q = 0.0;
        for (size_t k = 0; k < s->K; k++)
            q += (c[k] / W) * (c[k] / W);
        return 1.0 - q;
    }
    for (size_t k = 0; k < s->K; k++)
        if (c[k] > 0) {
            double f = c[k] / W;
            v -= f * log2(f);
        }
    return v;
}

static double impurity_reg(double W, double S, double Q)
{
    if (W <= 0)
        return 0.0;
    double m = S / W;
    return KL_MAX(Q / W - m * m, 0.0);
}

static inline double wt(const fit_ws *s, uint32_t r)
{
    double w = s->w ? s->w[r] : 1.0;
    if (s->K && s->o->class_weight)
        w *= s->o->class_weight[(size_t)s->y[r]];
    return w;
}

typedef struct best {
    int found;
    size_t feature;
    double threshold;
    double score; /* weighted child impurity sum: lower is better */
    int missing_left, is_cat;
} best;

static void node_stats(fit_ws *s, size_t a, size_t e, double *W, double *imp, double *value)
{
    size_t K = s->K;
    if (K) {
        memset(s->ctot, 0, K * sizeof *s->ctot);
        double tw = 0;
        for (size_t i = a; i < e; i++) {
            double w = wt(s, s->idx[i]);
            s->ctot[(size_t)s->y[s->idx[i]]] += w;
            tw += w;
        }
        *W = tw;
        *imp = impurity_cls(s, s->ctot, tw);
        for (size_t k = 0; k < K; k++)
            value[k] = tw > 0 ? s->ctot[k] / tw : 0.0;
    } else {
        double tw = 0, S = 0, Q = 0;
        for (size_t i = a; i < e; i++) {
            uint32_t r = s->idx[i];
            double w = wt(s, r), y = s->y[r];
            tw += w;
            S += w * y;
            Q += w * y * y;
        }
        *W = tw;
        *imp = impurity_reg(tw, S, Q);
        value[0] = tw > 0 ? S / tw : 0.0;
    }
}

/* Score of a split whose left side is (wl, Sl, Ql) or class counts cl; right is total minus left.
 */
static double split_score(fit_ws *s, double W, double wl, double Sl, double Ql, double St,
                          double Qt, const double *cl)
{
    double wr = W - wl;
    if (s->K) {
        for (size_t k = 0; k < s->K; k++)
            s->cr[k] = s->ctot[k] - cl[k];
        return wl * impurity_cls(s, cl, wl) + wr * impurity_cls(s, s->cr, wr);
    }
    return wl * impurity_reg(wl, Sl, Ql) + wr * impurity_reg(wr, St - Sl, Qt - Ql);
}

static void consider(best *b, size_t j, double thr, double score, int ml, int cat)
{
    if (!b->found || score < b->score)
        *b = (best){1, j, thr, score, ml, cat};
}

/* Add row r to (w, S, Q) or class counts c. */
static inline void add_row(const fit_ws *s, uint32_t r, double *w, double *S, double *Q, double *c)
{
    double wr = wt(s, r);
    *w += wr;
    if (s->K)
        c[(size_t)s->y[r]] += wr;
    else {
        *S += wr * s->y[r];
        *Q += wr * s->y[r] * s->y[r];
    }
}

static best search(fit_ws *s, size_t a, size_t e, double W)
{
    best b = {0};
    size_t m = e - a, K = s->K, p = s->p;
    size_t msl = s->o->min_samples_leaf ? s->o->min_samples_leaf : 1;
    size_t nf = s->o->max_features && s->o->max_features < p ? s->o->max_features : p;
    double *cm = s->cl + 3 * (K ? K : 1), *cg = cm + (K ? K : 1), *ct = cg + (K ? K : 1);
    for (size_t j = 0; j < p; j++)
        s->feat[j] = j;
    for (size_t t = 0; t < nf; t++) {
        size_t j = t;
        if (nf < p) { /* draw without replacement */
            size_t k = t + (size_t)kl_rng_below(s->rng, p - t);
            size_t tmp = s->feat[t];
            s->feat[t] = s->feat[k];
            s->feat[k] = tmp;
            j = s->feat[t];
        }
        const double *col = s->X + j * s->ld;
        /* rows with a value first (sorted), then the missing ones */
        size_t mp = 0, nm = 0;
        for (size_t i = 0; i < m; i++) {
            double x = col[s->idx[a + i]];
            if (isnan(x))
                s->ka[nm++].row = s->idx[a + i];
            else
                s->buf[mp++] = (vr){x, s->idx[a + i]};
        }
        for (size_t i = 0; i < nm; i++)
            s->buf[mp + i] = (vr){NAN, s->ka[i].row};
        sort_pairs(s->buf, s->ka, s->kb, mp);
        if (mp == 0 || (nm == 0 && s->buf[0].x == s->buf[mp - 1].x))
            continue;
        int cat = s->o->categorical && s->o->categorical[j];
        /* totals (St, Qt) and the missing rows' stats */
        double St = 0, Qt = 0, wm = 0, Sm = 0, Qm = 0;
        if (K)
            memset(cm, 0, K * sizeof *cm);
        if (!K)
            for (size_t i = 0; i < m; i++) {
                double w = wt(s, s->buf[i].row), y = s->y[s->buf[i].row];
                St += w * y;
                Qt += w * y * y;
            }
        for (size_t i = mp; i < m; i++)
            add_row(s, s->buf[i].row, &wm, &Sm, &Qm, cm);
        double wl = 0, Sl = 0, Ql = 0;
        if (K)
            memset(s->cl, 0, K * sizeof *s->cl);
        size_t g0 = 0; /* start of the current group of equal values (categorical) */
        double wg0 = 0, Sg0 = 0, Qg0 = 0;
        if (K && cat)
            memset(cg, 0, K * sizeof *cg);
        for (size_t i = 0; i < mp; i++) {
            add_row(s, s->buf[i].row, &wl, &Sl, &Ql, s->cl);
            int end_of_group = i + 1 == mp || s->buf[i].x != s->buf[i + 1].x;
            if (!end_of_group)
                continue;
            if (cat) {
                /* this value's rows against all others */
                size_t n_in = i + 1 - g0;
                double w_in = wl - wg0, S_in = Sl - Sg0, Q_in = Ql - Qg0;
                if (K)
                    for (size_t k = 0; k < K; k++)
                        ct[k] = s->cl[k] - cg[k];
                if (n_in < m) {
                    if (n_in >= msl && m - n_in >= msl)
                        consider(&b, j, s->buf[i].x,
                                 split_score(s, W, w_in, S_in, Q_in, St, Qt, ct), 0, 1);
                    if (nm && n_in + nm >= msl && m - n_in - nm >= msl && n_in + nm < m) {
                        if (K)
                            for (size_t k = 0; k < K; k++)
                                ct[k] += cm[k];
                        consider(&b, j, s->buf[i].x,
                                 split_score(s, W, w_in + wm, S_in + Sm, Q_in + Qm, St, Qt, ct), 1,
                                 1);
                    }
                }
                g0 = i + 1;
                wg0 = wl;
                Sg0 = Sl;
                Qg0 = Ql;
                if (K)
                    memcpy(cg, s->cl, K * sizeof *cg);
                continue;
            }
            size_t nl = i + 1;
            double lo = s->buf[i].x, thr;
            if (i + 1 < mp) {
                double hi = s->buf[i + 1].x, mid = lo / 2.0 + hi / 2.0;
                thr = mid >= hi || isinf(mid) ? lo : mid;
            } else {
                thr = INFINITY; /* every present value left, the missing ones right */
                if (!nm)
                    break;
            }
            if (nl >= msl && m - nl >= msl)
                consider(&b, j, thr, split_score(s, W, wl, Sl, Ql, St, Qt, s->cl), 0, 0);
            if (nm && i + 1 < mp && nl + nm >= msl && m - nl - nm >= msl) {
                if (K)
                    for (size_t k = 0; k < K; k++)
                        ct[k] = s->cl[k] + cm[k];
                consider(&b, j, thr, split_score(s, W, wl + wm, Sl + Sm, Ql + Qm, St, Qt, ct), 1,
                         0);
            }
        }
    }
    return b;
}

int kl_tree_fit(const double *X, size_t n, size_t p, size_t ld, const double *y,
                const double *sample_weight, const kl_tree_opts *o, kl_rng *rng, kl_tree *out,
                kl_err *err)
{
    memset(out, 0, sizeof *out);
    size_t K = o->criterion == KL_TREE_CRITERION_SQUARED_ERROR ? 0 : o->n_classes;
    if (n == 0 || p == 0 || ld < n || n >= UINT32_MAX)
        return kl_err_set(err, KL_EINVAL, "tree needs a non-empty matrix");
    if (o->criterion != KL_TREE_CRITERION_SQUARED_ERROR && K < 2)
        return kl_err_set(err, KL_EINVAL, "classification trees need n_classes >= 2");
    if (o->max_features && o->max_features < p && !rng)
        return kl_err_set(err, KL_EINVAL, "max_features < p needs a random generator");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(y[i]) || (K && (y[i] < 0 || y[i] >= (double)K || y[i] != floor(y[i]))))
            return kl_err_set(err, KL_EINVAL, "bad target %.17g in row %zu", y[i], i + 1);
    fit_ws s = {X,    y,    sample_weight, n,    p,    ld,   K,    o,    rng,
                NULL, NULL, NULL,          NULL, NULL, NULL, NULL, NULL, 0};
    size_t V = K ? K : 1, cap = 64;
    s.idx = malloc(n * sizeof *s.idx);
    s.buf = malloc(n * sizeof *s.buf);
    s.ka = malloc(n * sizeof *s.ka);
    s.kb = malloc(n * sizeof *s.kb);
    s.cl = calloc(6 * V, sizeof(double));
    s.feat = malloc(p * sizeof *s.feat);
    size_t *stack = malloc(cap * sizeof *stack);
    out->nodes = malloc(cap * sizeof *out->nodes);
    out->values = malloc(cap * V * sizeof *out->values);
    size_t *rng_a = malloc(cap * sizeof *rng_a), *rng_e = malloc(cap * sizeof *rng_e);
    int *depth = malloc(cap * sizeof *depth);
    int rc = 0;
    if (!s.idx || !s.buf || !s.ka || !s.kb || !s.cl || !s.feat || !stack || !out->nodes ||
        !out->values || !rng_a || !rng_e || !depth) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    s.cr = s.cl + V;
    s.ctot = s.cl + 2 * V;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!sample_weight || sample_weight[i] > 0)
            s.idx[m++] = (uint32_t)i;
    out->n_features = p;
    out->n_outputs = V;
    out->n_nodes = 1;
    rng_a[0] = 0;
    rng_e[0] = m;
    depth[0] = 0;
    size_t sp = 0;
    stack[sp++] = 0;
    double W0 = 0;
    size_t mss = KL_MAX(o->min_samples_split ? o->min_samples_split : 2,
                        2 * (o->min_samples_leaf ? o->min_samples_leaf : 1));
    while (sp > 0) {
        size_t id = stack[--sp], a = rng_a[id], e = rng_e[id];
        kl_tree_node *nd = &out->nodes[id];
        double W, imp;
        node_stats(&s, a, e, &W, &imp, out->values + id * V);
        if (id == 0)
            W0 = W;
        *nd = (kl_tree_node){.left = -1, .feature = -1, .impurity = imp, .weight = W};
        if (e - a < mss || (o->max_depth > 0 && depth[id] >= o->max_depth) || imp <= 1e-7)
            continue;
        best b = search(&s, a, e, W);
        if (!b.found)
            continue;
        double dec = (W / W0) * (imp - b.score / W);
        if (dec < o->min_impurity_decrease)
            continue;
        /* partition rows: left first (order kept within each side) */
        const double *col = X + b.feature * ld;
        size_t l = a;
        size_t nr = 0;
        for (size_t i = a; i < e; i++) {
            uint32_t r = s.idx[i];
            double x = col[r];
            if (isnan(x) ? b.missing_left : b.is_cat ? x == b.threshold : x <= b.threshold)
                s.idx[l++] = r;
            else
                s.buf[nr++].row = r;
        }
        for (size_t i = 0; i < nr; i++)
            s.idx[l + i] = s.buf[i].row;
        if (out->n_nodes + 2 > cap) {
            size_t nc = cap * 2;
            kl_tree_node *nn = realloc(out->nodes, nc * sizeof *nn);
            if (nn)
                out->nodes = nn;
            double *nv = realloc(out->values, nc * V * sizeof *nv);
            if (nv)
                out->values = nv;
            size_t *s1 = realloc(stack, nc * sizeof *s1);
            if (s1)
                stack = s1;
            size_t *s2 = realloc(rng_a, nc * sizeof *s2);
            if (s2)
                rng_a = s2;
            size_t *s3 = realloc(rng_e, nc * sizeof *s3);
            if (s3)
                rng_e = s3;
            int *s4 = realloc(depth, nc * sizeof *s4);
            if (s4)
                depth = s4;
            if (!nn || !nv || !s1 || !s2 || !s3 || !s4) {
                rc = kl_err_set(err, KL_ENOMEM, "out of memory");
                goto done;
            }
            cap = nc;
            nd = &out->nodes[id];
        }
        size_t L = out->n_nodes, R = L + 1;
        out->n_nodes += 2;
        nd->left = (int32_t)L;
        nd->feature = (int32_t)b.feature;
        nd->threshold = b.threshold;
        nd->missing_left = (uint8_t)b.missing_left;
        nd->is_cat = (uint8_t)b.is_cat;
        rng_a[L] = a;
        rng_e[L] = l;
        rng_a[R] = l;
        rng_e[R] = e;
        depth[L] = depth[R] = depth[id] + 1;
        stack[sp++] = R;
        stack[sp++] = L;
    }
done:
    free(s.idx);
    free(s.buf);
    free(s.ka);
    free(s.kb);
    free(s.cl);
    free(s.feat);
    free(stack);
    free(rng_a);
    free(rng_e);
    free(depth);
    if (rc < 0)
        kl_tree_release(out);
    return rc;
}

void kl_tree_predict(const kl_tree *t, const double *X, size_t n, size_t ld, double *out)
{
    size_t V = t->n_outputs;
    for (size_t i = 0; i < n; i++) {
        size_t q = 0;
        while (t->nodes[q].left >= 0) {
            const kl_tree_node *nd = &t->nodes[q];
            double x = X[(size_t)nd->feature * ld + i];
            int go_left = isnan(x)     ? nd->missing_left
                          : nd->is_cat ? x == nd->threshold
                                       : x <= nd->threshold;
            q = (size_t)nd->left + (go_left ? 0 : 1);
        }
        memcpy(out + i * V, t->values + q * V, V * sizeof *out);
    }
}

void kl_tree_release(kl_tree *t)
{
    if (!t)
        return;
    free(t->nodes);
    free(t->values);
    memset(t, 0, sizeof *t);
}

void kl_tree_save(const kl_tree *t, kl_wbuf *w)
{
    kl_wbuf_u32(w, (uint32_t)t->n_features);
    kl_wbuf_u32(w, (uint32_t)t->n_outputs);
    kl_wbuf_u64(w, t->n_nodes);
    for (size_t i = 0; i < t->n_nodes; i++) {
        const kl_tree_node *nd = &t->nodes[i];
        kl_wbuf_u32(w, (uint32_t)nd->left);
        kl_wbuf_u32(w, (uint32_t)nd->feature | (uint32_t)nd->missing_left << 31 |
                           (uint32_t)nd->is_cat << 30);
        kl_wbuf_f64(w, nd->threshold);
        kl_wbuf_f64(w, nd->impurity);
        kl_wbuf_f64(w, nd->weight);
    }
    kl_wbuf_f64s(w, t->values, t->n_nodes * t->n_outputs);
}

int kl_tree_load(kl_rbuf *r, kl_tree *t, kl_err *err)
{
    memset(t, 0, sizeof *t);
    uint32_t p = kl_rbuf_u32(r), V = kl_rbuf_u32(r);
    uint64_t nn = kl_rbuf_u64(r);
    if (!r->ok || p == 0 || V == 0 || V > 65536 || nn == 0 ||
        nn > (r->len - r->pos) / (32 + 8 * (uint64_t)V))
        return kl_err_set(err, KL_ECORRUPT, "bad tree payload");
    t->nodes = malloc(nn * sizeof *t->nodes);
    t->values = malloc(nn * V * sizeof *t->values);
    if (!t->nodes || !t->values) {
        kl_tree_release(t);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    t->n_features = p;
    t->n_outputs = V;
    t->n_nodes = nn;
    int ok = 1;
    for (size_t i = 0; i < nn; i++) {
        kl_tree_node *nd = &t->nodes[i];
        memset(nd, 0, sizeof *nd);
        nd->left = (int32_t)kl_rbuf_u32(r);
        uint32_t fw = kl_rbuf_u32(r);
        nd->feature = (int32_t)(fw & 0x3fffffffu);
        nd->missing_left = (uint8_t)(fw >> 31);
        nd->is_cat = (uint8_t)(fw >> 30 & 1u);
        nd->threshold = kl_rbuf_f64(r);
        nd->impurity = kl_rbuf_f64(r);
        nd->weight = kl_rbuf_f64(r);
        if (nd->left == -1) {
            ok &= fw == UINT32_MAX || fw < (1u << 30); /* a leaf's feature: -1 as saved */
            nd->feature = -1;
            nd->missing_left = nd->is_cat = 0;
            continue;
        }
        if (nd->left < 0 || (size_t)nd->left <= i || (size_t)nd->left + 1 >= nn ||
            nd->feature < 0 || (uint32_t)nd->feature >= p || isnan(nd->threshold))
            ok = 0;
    }
    kl_rbuf_f64s(r, t->values, nn * V);
    if (!ok || !r->ok) {
        kl_tree_release(t);
        return kl_err_set(err, KL_ECORRUPT, "bad tree payload");
    }
    return 0;
}
