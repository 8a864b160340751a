/*
 * Filter scores on plain arrays: mutual information by k nearest
 * neighbours, association (|r|, correlation ratio, Cramer's V), variance,
 * and Nogueira's stability index. lib/train/fselect.c applies them to frame
 * columns.
 *
 * The MI estimators reproduce scikit-learn 1.2's _estimate_mi (scaling,
 * jitter, Kraskov's estimator 1 and Ross's mixed estimator, see fselect.h)
 * so that its values can be checked against scikit-learn's. In one
 * dimension a count within a radius is two binary searches on a sorted copy;
 * the joint max-norm k-NN search uses a small implicit 2-d tree.
 *
 * Invariants: inputs are never modified (each call copies the usable rows);
 * digamma is only needed at integers, where it is -gamma + H(n - 1).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keel/fselect.h"
#include "keel/rng.h"
#include "core/common.h"

#define EULER_GAMMA 0.57721566490153286061

static double digamma_int(size_t n)
{
    /* psi(n) = -gamma + sum_{i<n} 1/i; the asymptotic series past 64 keeps it cheap */
    if (n <= 64) {
        double h = 0;
        for (size_t i = 1; i < n; i++)
            h += 1.0 / (double)i;
        return h - EULER_GAMMA;
    }
    double x = (double)n, x2 = 1.0 / (x * x);
    return log(x) - 0.5 / x -
           x2 * (1.0 / 12 - x2 * (1.0 / 120 - x2 * (1.0 / 252 - x2 * (1.0 / 240 - x2 / 132))));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct keyed {
    double v;
    size_t i;
};

static int cmp_keyed(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    if (x->v != y->v)
        return (x->v > y->v) - (x->v < y->v);
    return (x->i > y->i) - (x->i < y->i);
}

/* Divide by the population std (a constant variable is left as is), then jitter. */
static void scale_jitter(double *v, size_t n, kl_rng *rng)
{
    double mean = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        mean += v[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        ss += (v[i] - mean) * (v[i] - mean);
    double sd = sqrt(ss / (double)n);
    if (sd > 0 && isfinite(sd))
        for (size_t i = 0; i < n; i++)
            v[i] /= sd;
    double ma = 0;
    for (size_t i = 0; i < n; i++)
        ma += fabs(v[i]);
    ma = fmax(1.0, ma / (double)n);
    for (size_t i = 0; i < n; i++)
        v[i] += 1e-10 * ma * kl_rng_normal(rng);
}

/* Points of sorted s[0..n) within distance r of c (|s - c| <= r, as a k-d tree counts). */
static size_t count_within(const double *s, size_t n, double c, double r)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { /* first s >= c - r */
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid] < c - r)
            lo = mid + 1;
        else
            hi = mid;
    }
    while (lo > 0 && fabs(s[lo - 1] - c) <= r)
        lo--;
    while (lo < n && fabs(s[lo] - c) > r)
        lo++;
    size_t a = lo;
    hi = n;
    while (lo < hi) { /* first s > c + r */
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid] <= c + r)
            lo = mid + 1;
        else
            hi = mid;
    }
    while (lo > a && fabs(s[lo - 1] - c) > r)
        lo--;
    while (lo < n && fabs(s[lo] - c) <= r)
        lo++;
    return lo - a;
}

/* Insert d into the ascending list best[0..*m) of at most k entries. */
static void keep_best(double *best, size_t *m, size_t k, double d)
{
    if (*m == k && d >= best[k - 1])
        return;
    size_t at = *m < k ? (*m)++ : k - 1;
    while (at > 0 && best[at - 1] > d) {
        best[at] = best[at - 1];
        at--;
    }
    best[at] = d;
}

/*
 * ---- a 2-d tree for the joint max-norm k-NN search ----
 * An implicit tree over an array of points: the node over [lo, hi) splits at
 * mid = (lo + hi) / 2 on dimension depth % 2, with [lo, mid) <= the split
 * value <= [mid, hi) after a quickselect. Queries visit the near side first
 * and the far side only when the plane is within the current k-th distance,
 * so a query costs about log n + k instead of the sqrt(n) window a sweep in
 * x order needs.
 */
#define KD_LEAF 8

struct kdpt {
    double c[2];
    size_t i;
};

static void kd_select(struct kdpt *p, size_t lo, size_t hi, size_t nth, int d)
{
    while (hi - lo > 1) {
        /* median of three as the pivot, then a three-way partition: < piv, == piv, > piv */
        size_t mid = lo + (hi - lo) / 2;
        double a = p[lo].c[d], b = p[mid].c[d], c = p[hi - 1].c[d];
        double piv = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            struct kdpt t = p[i];
            if (t.c[d] < piv) {
                p[i++] = p[lt];
                p[lt++] = t;
            } else if (t.c[d] > piv) {
                p[i] = p[--gt];
                p[gt] = t;
            } else {
                i++;
            }
        }
        if (nth < lt)
            hi = lt;
        else if (nth >= gt)
            lo = gt;
        else
            return; /* nth holds the pivot value */
    }
}

static void kd_build(struct kdpt *p, size_t lo, size_t hi, int depth, double *split, size_t node)
{
    if (hi - lo <= KD_LEAF)
        return;
    size_t mid = lo + (hi - lo) / 2;
    kd_select(p, lo, hi, mid, depth & 1);
    split[node] = p[mid].c[depth & 1]; /* the children reorder p[mid] */
    kd_build(p, lo, mid, depth + 1, split, 2 * node);
    kd_build(p, mid, hi, depth + 1, split, 2 * node + 1);
}

static void kd_knn(const struct kdpt *p, size_t lo, size_t hi, int depth, const double *split,
                   size_t node, const double *q, size_t self, double *best, size_t *m, size_t k)
{
    if (hi - lo <= KD_LEAF) {
        for (size_t t = lo; t < hi; t++)
            if (p[t].i != self) {
                double dd = fmax(fabs(p[t].c[0] - q[0]), fabs(p[t].c[1] - q[1]));
                if (*m < k || dd < best[k - 1])
                    keep_best(best, m, k, dd);
            }
        return;
    }
    size_t mid = lo + (hi - lo) / 2;
    double diff = q[depth & 1] - split[node];
    if (diff < 0) {
        kd_knn(p, lo, mid, depth + 1, split, 2 * node, q, self, best, m, k);
        if (*m < k || -diff <= best[k - 1])
            kd_knn(p, mid, hi, depth + 1, split, 2 * node + 1, q, self, best, m, k);
    } else {
        kd_knn(p, mid, hi, depth + 1, split, 2 * node + 1, q, self, best, m, k);
        if (*m < k || diff <= best[k - 1])
            kd_knn(p, lo, mid, depth + 1, split, 2 * node, q, self, best, m, k);
    }
}

/* Kraskov estimator 1 on n points (x, y), k neighbours, max-norm. */
static int mi_cc(const double *x, const double *y, size_t n, size_t k, double *out)
{
    /* heap-numbered nodes (root 1) stop at KD_LEAF points: fewer than 4n / KD_LEAF + 8 */
    struct kdpt *p = malloc(n * sizeof *p);
    double *xs = malloc(n * sizeof *xs), *ys = malloc(n * sizeof *ys),
           *best = malloc(k * sizeof *best), *split = malloc((4 * n / KD_LEAF + 8) * sizeof *split);
    if (!p || !xs || !ys || !best || !split) {
        free(p), free(xs), free(ys), free(best), free(split);
        return KL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        p[i] = (struct kdpt){{x[i], y[i]}, i};
        xs[i] = x[i];
        ys[i] = y[i];
    }
    qsort(xs, n, sizeof *xs, cmp_double);
    qsort(ys, n, sizeof *ys, cmp_double);
    kd_build(p, 0, n, 0, split, 1);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        size_t m = 0;
        const double q[2] = {x[i], y[i]};
        kd_knn(p, 0, n, 0, split, 1, q, i, best, &m, k);
        double eps = nextafter(best[k - 1], 0);
        size_t nx = count_within(xs, n, x[i], eps) - 1, ny = count_within(ys, n, y[i], eps) - 1;
        sum += digamma_int(nx + 1) + digamma_int(ny + 1);
    }
    double mi = digamma_int(n) + digamma_int(k) - sum / (double)n;
    *out = fmax(0.0, mi);
    free(p), free(xs), free(ys), free(best), free(split);
    return 0;
}

/* Ross's estimator for continuous c and discrete d on n points. */
static int mi_cd(const double *c, const double *d, size_t n, size_t k, double *out)
{
    struct keyed *o = malloc(n * sizeof *o);
    double *cs = malloc(n * sizeof *cs), *grp = malloc(n * sizeof *grp);
    if (!o || !cs || !grp) {
        free(o), free(cs), free(grp);
        return KL_ENOMEM;
    }
    /* order by label, then by value: each label's points are one sorted run */
    for (size_t i = 0; i < n; i++)
        o[i] = (struct keyed){d[i], i};
    qsort(o, n, sizeof *o, cmp_keyed);
    size_t used = 0;
    double s_k = 0, s_label = 0, s_m = 0;
    /* collect the points whose label occurs more than once */
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b < n && o[b].v == o[a].v)
            b++;
        if (b - a > 1)
            for (size_t t = a; t < b; t++)
                cs[used++] = c[o[t].i];
        a = b;
    }
    qsort(cs, used, sizeof *cs, cmp_double);
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b < n && o[b].v == o[a].v)
            b++;
        size_t cnt = b - a;
        if (cnt > 1) {
            size_t kk = k < cnt - 1 ? k : cnt - 1;
            for (size_t t = a; t < b; t++)
                grp[t - a] = c[o[t].i];
            qsort(grp, cnt, sizeof *grp, cmp_double);
            for (size_t t = 0; t < cnt; t++) {
                /* kk-th nearest among the others, by merging outwards */
                size_t l = t, r = t + 1, got = 0;
                double dist = 0;
                while (got < kk) {
                    double dl = l > 0 ? grp[t] - grp[l - 1] : INFINITY;
                    double dr = r < cnt ? grp[r] - grp[t] : INFINITY;
                    if (dl <= dr) {
                        dist = dl;
                        l--;
                    } else {
                        dist = dr;
                        r++;
                    }
                    got++;
                }
                double eps = nextafter(dist, 0);
                size_t m = count_within(cs, used, grp[t], eps);
                s_k += digamma_int(kk);
                s_label += digamma_int(cnt);
                s_m += digamma_int(m);
            }
        }
        a = b;
    }
    double mi = 0;
    if (used > 0)
        mi = digamma_int(used) + (s_k - s_label - s_m) / (double)used;
    *out = fmax(0.0, mi);
    free(o), free(cs), free(grp);
    return 0;
}

/* Distinct codes of v[0..n) into code[] (0..*levels-1), by sorted value. */
static int codes_of(const double *v, size_t n, size_t *code, size_t *levels)
{
    struct keyed *o = malloc((n ? n : 1) * sizeof *o);
    if (!o)
        return KL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        o[i] = (struct keyed){v[i], i};
    qsort(o, n, sizeof *o, cmp_keyed);
    size_t L = 0;
    for (size_t t = 0; t < n; t++) {
        if (t > 0 && o[t].v != o[t - 1].v)
            L++;
        code[o[t].i] = L;
    }
    *levels = n ? L + 1 : 0;
    free(o);
    return 0;
}

/* Contingency table of two discrete variables: *tab is lx x ly counts. */
static int contingency(const double *x, const double *y, size_t n, size_t **tab, size_t *lx,
                       size_t *ly, size_t **cx, size_t **cy)
{
    size_t *a = malloc((2 * n + 1) * sizeof *a);
    if (!a)
        return KL_ENOMEM;
    size_t *b = a + n;
    if (codes_of(x, n, a, lx) < 0 || codes_of(y, n, b, ly) < 0) {
        free(a);
        return KL_ENOMEM;
    }
    size_t cells = *lx * *ly;
    if (*lx && cells / *lx != *ly) {
        free(a);
        return KL_ENOMEM;
    }
    *tab = calloc(cells + *lx + *ly + 1, sizeof **tab);
    if (!*tab) {
        free(a);
        return KL_ENOMEM;
    }
    *cx = *tab + cells;
    *cy = *cx + *lx;
    for (size_t i = 0; i < n; i++) {
        (*tab)[a[i] * *ly + b[i]]++;
        (*cx)[a[i]]++;
        (*cy)[b[i]]++;
    }
    free(a);
    return 0;
}

static int mi_dd(const double *x, const double *y, size_t n, double *out)
{
    size_t *tab, lx, ly, *cx, *cy;
    if (contingency(x, y, n, &tab, &lx, &ly, &cx, &cy) < 0)
        return KL_ENOMEM;
    double mi = 0, N = (double)n;
    for (size_t a = 0; a < lx; a++)
        for (size_t b = 0; b < ly; b++) {
            size_t c = tab[a * ly + b];
            if (c)
                mi += (double)c / N * log((double)c * N / ((double)cx[a] * (double)cy[b]));
        }
    free(tab);
    *out = fmax(0.0, mi);
    return 0;
}

int kl_fselect_mi(const double *x, int x_discrete, const double *y, int y_discrete, size_t n,
                  size_t k, uint64_t seed, double *out, kl_err *err)
{
    *out = 0;
    if (k == 0)
        return kl_err_set(err, KL_EINVAL, "mutual information needs k >= 1 neighbours");
    double *xv = malloc((2 * n + 1) * sizeof *xv);
    if (!xv)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    double *yv = xv + n;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]) && !isnan(y[i])) {
            xv[m] = x[i];
            yv[m++] = y[i];
        }
    int rc = 0;
    if (m >= k + 1) {
        kl_rng rng;
        kl_rng_init(&rng, seed);
        if (!x_discrete)
            scale_jitter(xv, m, &rng);
        if (!y_discrete)
            scale_jitter(yv, m, &rng);
        if (x_discrete && y_discrete)
            rc = mi_dd(xv, yv, m, out);
        else if (x_discrete)
            rc = mi_cd(yv, xv, m, k, out);
        else if (y_discrete)
            rc = mi_cd(xv, yv, m, k, out);
        else
            rc = mi_cc(xv, yv, m, k, out);
    }
    free(xv);
    if (rc < 0)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    return 0;
}

/* ---- association and variance ---- */

/* eta of continuous c within the groups of discrete d (n usable rows). */
static double eta(const double *c, const double *d, size_t n)
{
    size_t *code = malloc((n ? n : 1) * sizeof *code), L = 0;
    if (!code || codes_of(d, n, code, &L) < 0) {
        free(code);
        return NAN;
    }
    double *s = calloc(2 * L + 1, sizeof *s), mean = 0, tot = 0, btw = 0;
    if (!s) {
        free(code);
        return NAN;
    }
    double *cnt = s + L;
    for (size_t i = 0; i < n; i++) {
        s[code[i]] += c[i];
        cnt[code[i]] += 1;
        mean += c[i];
    }
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        tot += (c[i] - mean) * (c[i] - mean);
    for (size_t g = 0; g < L; g++)
        if (cnt[g] > 0) {
            double gm = s[g] / cnt[g];
            btw += cnt[g] * (gm - mean) * (gm - mean);
        }
    free(s);
    free(code);
    return tot > 0 ? sqrt(fmin(1.0, btw / tot)) : 0;
}

static double cramers_v(const double *x, const double *y, size_t n)
{
    size_t *tab, lx, ly, *cx, *cy;
    if (contingency(x, y, n, &tab, &lx, &ly, &cx, &cy) < 0)
        return NAN;
    double chi2 = 0, N = (double)n;
    for (size_t a = 0; a < lx; a++)
        for (size_t b = 0; b < ly; b++) {
            double e = (double)cx[a] * (double)cy[b] / N, o = (double)tab[a * ly + b];
            chi2 += (o - e) * (o - e) / e;
        }
    free(tab);
    size_t m = (lx < ly ? lx : ly);
    if (m < 2)
        return 0;
    return sqrt(fmin(1.0, chi2 / (N * (double)(m - 1))));
}

double kl_fselect_assoc(const double *x, int x_discrete, const double *y, int y_discrete, size_t n)
{
    double *xv = malloc((2 * n + 1) * sizeof *xv);
    if (!xv)
        return NAN;
    double *yv = xv + n;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]) && !isnan(y[i])) {
            xv[m] = x[i];
            yv[m++] = y[i];
        }
    double r = 0;
    if (m >= 2) {
        if (x_discrete && y_discrete)
            r = cramers_v(xv, yv, m);
        else if (x_discrete)
            r = eta(yv, xv, m);
        else if (y_discrete)
            r = eta(xv, yv, m);
        else {
            double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
            for (size_t i = 0; i < m; i++) {
                mx += xv[i];
                my += yv[i];
            }
            mx /= (double)m;
            my /= (double)m;
            for (size_t i = 0; i < m; i++) {
                sxy += (xv[i] - mx) * (yv[i] - my);
                sxx += (xv[i] - mx) * (xv[i] - mx);
                syy += (yv[i] - my) * (yv[i] - my);
            }
            r = sxx > 0 && syy > 0 ? fmin(1.0, fabs(sxy) / sqrt(sxx * syy)) : 0;
        }
    }
    free(xv);
    return r;
}

/* Average ranks (1-based) of v[0..n) into r. */
static int ranks(const double *v, size_t n, double *r)
{
    struct keyed *o = malloc((n ? n : 1) * sizeof *o);
    if (!o)
        return KL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        o[i] = (struct keyed){v[i], i};
    qsort(o, n, sizeof *o, cmp_keyed);
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b < n && o[b].v == o[a].v)
            b++;
        double avg = 0.5 * (double)(a + 1 + b);
        for (size_t t = a; t < b; t++)
            r[o[t].i] = avg;
        a = b;
    }
    free(o);
    return 0;
}

double kl_fselect_spearman(const double *x, const double *y, size_t n)
{
    double *buf = malloc((4 * n + 1) * sizeof *buf);
    if (!buf)
        return NAN;
    double *xv = buf, *yv = buf + n, *rx = buf + 2 * n, *ry = buf + 3 * n;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]) && !isnan(y[i])) {
            xv[m] = x[i];
            yv[m++] = y[i];
        }
    double r = 0;
    if (m >= 2 && ranks(xv, m, rx) == 0 && ranks(yv, m, ry) == 0)
        r = kl_fselect_assoc(rx, 0, ry, 0, m);
    free(buf);
    return r;
}

double kl_fselect_variance(const double *x, int x_discrete, size_t n)
{
    size_t m = 0;
    double mean = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i])) {
            mean += x[i];
            m++;
        }
    if (m == 0)
        return 0;
    if (!x_discrete) {
        mean /= (double)m;
        double ss = 0;
        for (size_t i = 0; i < n; i++)
            if (!isnan(x[i]))
                ss += (x[i] - mean) * (x[i] - mean);
        return ss / (double)m;
    }
    double *v = malloc(m * sizeof *v);
    if (!v)
        return NAN;
    m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]))
            v[m++] = x[i];
    qsort(v, m, sizeof *v, cmp_double);
    double g = 1;
    for (size_t a = 0; a < m;) {
        size_t b = a;
        while (b < m && v[b] == v[a])
            b++;
        double p = (double)(b - a) / (double)m;
        g -= p * p;
        a = b;
    }
    free(v);
    return fmax(0.0, g);
}

double kl_fselect_nogueira(const uint8_t *sel, size_t m, size_t p)
{
    if (m < 2 || p == 0)
        return NAN;
    double kbar = 0, s2 = 0;
    for (size_t j = 0; j < p; j++) {
        size_t c = 0;
        for (size_t r = 0; r < m; r++)
            c += sel[r * p + j] != 0;
        double ph = (double)c / (double)m;
        kbar += (double)c;
        s2 += (double)m / (double)(m - 1) * ph * (1 - ph);
    }
    kbar /= (double)m;
    double q = kbar / (double)p, denom = q * (1 - q);
    if (!(denom > 0))
        return NAN;
    return 1 - (s2 / (double)p) / denom;
}
