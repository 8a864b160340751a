/*
 * Protected features and the proxy check.
 *
 * A protected column (constraints.protected) is never a model input; the
 * feature pipeline already leaves it out and refuses it by name, and
 * kl_constraints_check_features gives commands the same refusal before any
 * fitting, with the keel.yaml line that declared the column.
 *
 * Leaving a column out is not enough when another column carries the same
 * information (relationship = Husband says sex = Male). The proxy check
 * measures, for each protected attribute and each remaining column, an
 * association (Cramér's V, the correlation ratio eta, or |r|) and the
 * holdout AUC of the simplest model that could exploit it: a table of
 * attribute shares per feature bin. Both are cheap (one pass to count, one
 * sort for numeric bins) and the AUC answers the question users ask ("can
 * a model recover the attribute from this feature?") in the unit they know.
 * The AUC is computed from per-bin counts, not per-row scores: every row of
 * a bin has the same score, so sorting bins (at most a few hundred) replaces
 * sorting rows.
 *
 * Invariants: measures that do not apply are NaN and never flagged; the
 * result depends only on the frame, the options and the seed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keel/constraints.h"
#include "keel/rng.h"
#include "core/common.h"

#define NUM_BINS 10

/* ---- protected features ---- */

int kl_constraints_check_features(const kl_spec *s, const char *const *names, size_t n, kl_err *err)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < s->constraints.n_protected_columns; k++) {
            if (strcmp(names[i], s->constraints.protected_columns[k]))
                continue;
            char path[64], where[512];
            snprintf(path, sizeof path, "constraints.protected[%zu]", k);
            kl_err_set(err, KL_EINVAL, "column '%s' is protected and cannot be a feature",
                       names[i]);
            kl_err_ctx(err, "%s", kl_spec_where(s, path, where, sizeof where));
            return KL_EINVAL;
        }
    }
    return 0;
}

const char *const *kl_constraints_protected(const kl_spec *s, size_t *n)
{
    *n = s->constraints.n_protected_columns;
    return s->constraints.protected_columns;
}

const char *kl_proxy_measure_name(enum kl_proxy_measure m)
{
    static const char *const names[] = {"cramers_v", "eta", "auc", "pearson"};
    return (size_t)m < KL_ARRAY_LEN(names) ? names[m] : "?";
}

void kl_proxy_report_release(kl_proxy_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->pairs[i].attribute);
        free(r->pairs[i].feature);
    }
    free(r->pairs);
    memset(r, 0, sizeof *r);
}

/* ---- columns as group codes or numbers ---- */

/*
 * Column j as group codes in codes[0..n) (-1 missing) for categorical and
 * bool columns; returns the number of groups, or 0 when j is not grouped.
 */
static size_t as_codes(const kl_frame *f, size_t j, int32_t *codes)
{
    size_t n = kl_frame_row_count(f);
    switch (kl_frame_col_kind(f, j)) {
    case KL_COL_KIND_CATEGORICAL: {
        size_t n_dict = 0;
        kl_frame_col_dict(f, j, &n_dict);
        memcpy(codes, kl_frame_col_codes(f, j), n * sizeof *codes);
        return n_dict;
    }
    case KL_COL_KIND_BOOL: {
        const uint8_t *b = kl_frame_col_bool(f, j);
        for (size_t i = 0; i < n; i++)
            codes[i] = b[i] == KL_BOOL_MISSING ? -1 : (int32_t)b[i];
        return 2;
    }
    default:
        return 0;
    }
}

/* Column j as doubles (NaN missing) for numeric and time columns; 0 when it is neither. */
static int as_numbers(const kl_frame *f, size_t j, double *x)
{
    size_t n = kl_frame_row_count(f);
    if (kl_frame_col_kind(f, j) == KL_COL_KIND_NUMERIC) {
        memcpy(x, kl_frame_col_f64(f, j), n * sizeof *x);
        return 1;
    }
    if (kl_frame_col_kind(f, j) == KL_COL_KIND_TIME) {
        const int64_t *t = kl_frame_col_time(f, j);
        for (size_t i = 0; i < n; i++)
            x[i] = t[i] == KL_TIME_MISSING ? NAN : (double)t[i];
        return 1;
    }
    return 0;
}

/* ---- associations ---- */

/* Cramér's V of two code columns (rows where both are present); NaN when undefined. */
static double cramers_v(const int32_t *a, size_t na, const int32_t *b, size_t nb, size_t n,
                        double *table, double *ra, double *cb, size_t *rows)
{
    memset(table, 0, na * nb * sizeof *table);
    memset(ra, 0, na * sizeof *ra);
    memset(cb, 0, nb * sizeof *cb);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (a[i] < 0 || b[i] < 0)
            continue;
        table[(size_t)a[i] * nb + (size_t)b[i]] += 1;
        ra[a[i]] += 1;
        cb[b[i]] += 1;
        m++;
    }
    *rows = m;
    size_t r = 0, c = 0;
    for (size_t i = 0; i < na; i++)
        r += ra[i] > 0;
    for (size_t k = 0; k < nb; k++)
        c += cb[k] > 0;
    if (m == 0 || r < 2 || c < 2)
        return NAN;
    double chi2 = 0;
    for (size_t i = 0; i < na; i++) {
        if (ra[i] == 0)
            continue;
        for (size_t k = 0; k < nb; k++) {
            if (cb[k] == 0)
                continue;
            double e = ra[i] * cb[k] / (double)m, d = table[i * nb + k] - e;
            chi2 += d * d / e;
        }
    }
    return sqrt(chi2 / (double)m / (double)(KL_MIN(r, c) - 1));
}

/* Correlation ratio of x within the groups g; NaN when x is constant or absent. */
static double eta(const double *x, const int32_t *g, size_t ng, size_t n, double *sum, double *cnt,
                  size_t *rows)
{
    memset(sum, 0, ng * sizeof *sum);
    memset(cnt, 0, ng * sizeof *cnt);
    double total = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (g[i] < 0 || isnan(x[i]))
            continue;
        sum[g[i]] += x[i];
        cnt[g[i]] += 1;
        total += x[i];
        m++;
    }
    *rows = m;
    if (m == 0)
        return NAN;
    double mean = total / (double)m, sst = 0, ssb = 0;
    for (size_t i = 0; i < n; i++)
        if (g[i] >= 0 && !isnan(x[i]))
            sst += (x[i] - mean) * (x[i] - mean);
    for (size_t k = 0; k < ng; k++)
        if (cnt[k] > 0)
            ssb += cnt[k] * (sum[k] / cnt[k] - mean) * (sum[k] / cnt[k] - mean);
    if (!(sst > 0))
        return NAN;
    return sqrt(KL_MIN(ssb / sst, 1.0));
}

static double abs_pearson(const double *x, const double *y, size_t n, size_t *rows)
{
    double sx = 0, sy = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]) || isnan(y[i]))
            continue;
        sx += x[i];
        sy += y[i];
        m++;
    }
    *rows = m;
    if (m < 2)
        return NAN;
    double mx = sx / (double)m, my = sy / (double)m, sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(x[i]) || isnan(y[i]))
            continue;
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    if (!(sxx > 0) || !(syy > 0))
        return NAN;
    return fabs(sxy / sqrt(sxx * syy));
}

/* ---- the one-feature model ---- */

typedef struct level {
    double score, pos, neg;
} level;

static int level_cmp(const void *a, const void *b)
{
    double x = ((const level *)a)->score, y = ((const level *)b)->score;
    return x < y ? -1 : x > y;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Scratch shared by every pair, sized once. */
typedef struct scratch {
    size_t n;
    size_t cap_gb, cap_b; /* capacity of the [bin * groups] and [bin] arrays */
    int32_t *attr, *feat, *bin;
    double *x, *ax;
    uint8_t *split; /* 0 attribute missing, 1 train, 2 holdout */
    double *table, *ra, *cb, *sorted;
    double *train, *test, *train_tot, *test_tot; /* [bin * groups + g], [bin] */
    level *levels;
} scratch;

/*
 * Macro one-vs-rest holdout AUC of the binned-rate model: bin[i] is row i's
 * bin (0..nb), attr[i] its group (0..ng), split[i] its side.
 */
static double binned_auc(const scratch *w, size_t ng, size_t nb)
{
    memset(w->train, 0, nb * ng * sizeof *w->train);
    memset(w->test, 0, nb * ng * sizeof *w->test);
    memset(w->train_tot, 0, nb * sizeof *w->train_tot);
    memset(w->test_tot, 0, nb * sizeof *w->test_tot);
    double n_train = 0;
    for (size_t i = 0; i < w->n; i++) {
        if (!w->split[i])
            continue;
        size_t b = (size_t)w->bin[i], g = (size_t)w->attr[i];
        if (w->split[i] == 1) {
            w->train[b * ng + g] += 1;
            w->train_tot[b] += 1;
            n_train += 1;
        } else {
            w->test[b * ng + g] += 1;
            w->test_tot[b] += 1;
        }
    }
    if (n_train == 0)
        return NAN;
    double sum = 0;
    size_t used = 0;
    for (size_t g = 0; g < ng; g++) {
        double overall = 0, P = 0, N = 0;
        for (size_t b = 0; b < nb; b++) {
            overall += w->train[b * ng + g];
            P += w->test[b * ng + g];
            N += w->test_tot[b] - w->test[b * ng + g];
        }
        if (P == 0 || N == 0)
            continue;
        overall /= n_train;
        for (size_t b = 0; b < nb; b++) {
            w->levels[b].score =
                w->train_tot[b] > 0 ? w->train[b * ng + g] / w->train_tot[b] : overall;
            w->levels[b].pos = w->test[b * ng + g];
            w->levels[b].neg = w->test_tot[b] - w->test[b * ng + g];
        }
        qsort(w->levels, nb, sizeof *w->levels, level_cmp);
        double auc = 0, neg_below = 0;
        for (size_t b = 0; b < nb;) {
            double pos = 0, neg = 0, s = w->levels[b].score;
            for (; b < nb && w->levels[b].score == s; b++) {
                pos += w->levels[b].pos;
                neg += w->levels[b].neg;
            }
            auc += pos * (neg_below + 0.5 * neg);
            neg_below += neg;
        }
        sum += auc / (P * N);
        used++;
    }
    return used ? sum / (double)used : NAN;
}

/* Bins of a numeric feature: NUM_BINS training-quantile bins, missing last. */
static size_t numeric_bins(scratch *w)
{
    size_t m = 0;
    for (size_t i = 0; i < w->n; i++)
        if (w->split[i] == 1 && !isnan(w->x[i]))
            w->sorted[m++] = w->x[i];
    qsort(w->sorted, m, sizeof *w->sorted, dbl_cmp);
    double edges[NUM_BINS - 1];
    size_t n_edges = 0;
    if (m > 0)
        for (size_t k = 1; k < NUM_BINS; k++)
            edges[n_edges++] = w->sorted[k * m / NUM_BINS];
    for (size_t i = 0; i < w->n; i++) {
        if (isnan(w->x[i])) {
            w->bin[i] = NUM_BINS;
            continue;
        }
        int32_t b = 0;
        while ((size_t)b < n_edges && w->x[i] >= edges[b])
            b++;
        w->bin[i] = b;
    }
    return NUM_BINS + 1;
}

static void scratch_free(scratch *w)
{
    free(w->attr);
    free(w->feat);
    free(w->bin);
    free(w->x);
    free(w->ax);
    free(w->split);
    free(w->table);
    free(w->ra);
    free(w->cb);
    free(w->sorted);
    free(w->train);
    free(w->test);
    free(w->train_tot);
    free(w->test_tot);
    free(w->levels);
}

static int scratch_init(scratch *w, const kl_frame *f)
{
    memset(w, 0, sizeof *w);
    size_t n = kl_frame_row_count(f), n1 = n ? n : 1;
    w->n = n;
    w->attr = malloc(n1 * sizeof *w->attr);
    w->feat = malloc(n1 * sizeof *w->feat);
    w->bin = malloc(n1 * sizeof *w->bin);
    w->x = malloc(n1 * sizeof *w->x);
    w->ax = malloc(n1 * sizeof *w->ax);
    w->split = malloc(n1);
    w->sorted = malloc(n1 * sizeof *w->sorted);
    if (!w->attr || !w->feat || !w->bin || !w->x || !w->ax || !w->split || !w->sorted) {
        scratch_free(w);
        return KL_ENOMEM;
    }
    return 0;
}

/*
 * Room for a table of g groups by b bins (and g, b-long margins). Tables
 * are tiny for the columns protected attributes are (a few groups); a pair
 * whose table would pass MAX_CELLS (an id-like column against a
 * high-cardinality attribute) is not measured rather than allowed to take
 * gigabytes.
 */
#define MAX_CELLS ((size_t)1 << 22)

static int scratch_fit(scratch *w, size_t g, size_t b)
{
    size_t gb = g * b, m = KL_MAX(g, b);
    if (gb > MAX_CELLS)
        return 1;
    if (gb > w->cap_gb) {
        double *t = realloc(w->table, gb * sizeof *t);
        if (t)
            w->table = t;
        double *tr = t ? realloc(w->train, gb * sizeof *tr) : NULL;
        if (tr)
            w->train = tr;
        double *te = tr ? realloc(w->test, gb * sizeof *te) : NULL;
        if (!te)
            return KL_ENOMEM;
        w->test = te;
        w->cap_gb = gb;
    }
    if (m > w->cap_b) {
        double *ra = realloc(w->ra, m * sizeof *ra);
        if (ra)
            w->ra = ra;
        double *cb = ra ? realloc(w->cb, m * sizeof *cb) : NULL;
        if (cb)
            w->cb = cb;
        double *tt = cb ? realloc(w->train_tot, m * sizeof *tt) : NULL;
        if (tt)
            w->train_tot = tt;
        double *st = tt ? realloc(w->test_tot, m * sizeof *st) : NULL;
        if (st)
            w->test_tot = st;
        level *lv = st ? realloc(w->levels, m * sizeof *lv) : NULL;
        if (!lv)
            return KL_ENOMEM;
        w->levels = lv;
        w->cap_b = m;
    }
    return 0;
}

/* Train/holdout sides of the rows where the attribute is present. */
static void make_split(scratch *w, uint64_t seed, double test_size, size_t *idx)
{
    size_t m = 0;
    for (size_t i = 0; i < w->n; i++) {
        w->split[i] = w->attr[i] >= 0;
        if (w->split[i])
            idx[m++] = i;
    }
    kl_rng r;
    kl_rng_init(&r, seed);
    kl_rng_shuffle_size(&r, idx, m);
    size_t n_test = (size_t)floor(test_size * (double)m + 0.5);
    for (size_t k = m - KL_MIN(n_test, m); k < m; k++)
        w->split[idx[k]] = 2;
}

static int listed(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] && !strcmp(list[i], name))
            return 1;
    return 0;
}

static int add_pair(kl_proxy_report *out, size_t *cap, const kl_proxy *p)
{
    if (out->n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        kl_proxy *np = realloc(out->pairs, c * sizeof *np);
        if (!np)
            return KL_ENOMEM;
        out->pairs = np;
        *cap = c;
    }
    kl_proxy *d = &out->pairs[out->n];
    *d = *p;
    d->attribute = strdup(p->attribute);
    d->feature = strdup(p->feature);
    if (!d->attribute || !d->feature) {
        free(d->attribute);
        free(d->feature);
        return KL_ENOMEM;
    }
    out->n++;
    out->n_flagged += p->flagged != 0;
    return 0;
}

int kl_proxy_check(const kl_frame *f, const char *const *attrs, size_t n_attrs,
                   const kl_proxy_opts *opts, kl_proxy_report *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    kl_proxy_opts o = opts ? *opts : (kl_proxy_opts){0};
    out->threshold = o.threshold > 0 ? o.threshold : 0.5;
    out->auc = o.auc > 0 ? o.auc : 0.8;
    uint64_t seed = o.seed ? o.seed : 42;
    double test_size = o.test_size > 0 && o.test_size < 1 ? o.test_size : 0.3;
    for (size_t a = 0; a < n_attrs; a++)
        if (kl_frame_col_index(f, attrs[a]) < 0)
            return kl_err_set(err, KL_ENOTFOUND, "protected column '%s' is not in the data",
                              attrs[a]);
    scratch w;
    if (scratch_init(&w, f) < 0)
        return kl_err_set(err, KL_ENOMEM, "out of memory in the proxy check");
    size_t *idx = malloc((w.n ? w.n : 1) * sizeof *idx), cap = 0;
    int rc = idx ? 0 : KL_ENOMEM;
    size_t nc = kl_frame_col_count(f);
    for (size_t a = 0; rc == 0 && a < n_attrs; a++) {
        size_t ja = (size_t)kl_frame_col_index(f, attrs[a]);
        size_t ng = as_codes(f, ja, w.attr);
        int attr_numeric = !ng && as_numbers(f, ja, w.ax);
        if (!ng && !attr_numeric)
            continue; /* a text protected column: nothing to measure against */
        if (ng)
            make_split(&w, seed, test_size, idx);
        for (size_t j = 0; rc == 0 && j < nc; j++) {
            const char *name = kl_frame_col_name(f, j);
            if (j == ja || listed(name, attrs, n_attrs) || listed(name, o.skip, o.n_skip))
                continue;
            kl_proxy p = {.attribute = (char *)attrs[a], .feature = (char *)name, .auc = NAN};
            size_t nl = as_codes(f, j, w.feat);
            int feat_numeric = !nl && as_numbers(f, j, w.x);
            if (!nl && !feat_numeric)
                continue;
            size_t groups = ng ? ng : nl, bins = ng && nl ? nl + 1 : NUM_BINS + 1;
            int fit = scratch_fit(&w, KL_MAX(groups, 1), KL_MAX(bins, KL_MAX(nl, 1)));
            if (fit < 0) {
                rc = fit;
                break;
            }
            if (fit > 0)
                continue; /* too many categories on both sides to tabulate */
            if (ng && nl) {
                p.assoc_measure = KL_PROXY_MEASURE_CRAMERS_V;
                p.assoc = cramers_v(w.attr, ng, w.feat, nl, w.n, w.table, w.ra, w.cb, &p.rows);
                for (size_t i = 0; i < w.n; i++)
                    w.bin[i] = w.feat[i] < 0 ? (int32_t)nl : w.feat[i];
                p.auc = binned_auc(&w, ng, nl + 1);
            } else if (ng) {
                p.assoc_measure = KL_PROXY_MEASURE_ETA;
                p.assoc = eta(w.x, w.attr, ng, w.n, w.ra, w.cb, &p.rows);
                p.auc = binned_auc(&w, ng, numeric_bins(&w));
            } else if (nl) {
                p.assoc_measure = KL_PROXY_MEASURE_ETA;
                p.assoc = eta(w.ax, w.feat, nl, w.n, w.ra, w.cb, &p.rows);
            } else {
                p.assoc_measure = KL_PROXY_MEASURE_PEARSON;
                p.assoc = abs_pearson(w.ax, w.x, w.n, &p.rows);
            }
            if (p.assoc >= out->threshold) {
                p.flagged = 1;
                p.measure = p.assoc_measure;
            } else if (p.auc >= out->auc) {
                p.flagged = 1;
                p.measure = KL_PROXY_MEASURE_AUC;
            }
            rc = add_pair(out, &cap, &p);
        }
    }
    free(idx);
    scratch_free(&w);
    if (rc < 0) {
        kl_proxy_report_release(out);
        return kl_err_set(err, KL_ENOMEM, "out of memory in the proxy check");
    }
    return 0;
}
