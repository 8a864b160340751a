/*
 * Tests of the data profile. Expected values come from hand computation
 * (shown in the comments) or from pandas 1.5.3 run once by
 * tests/unit/quality/profile_fixture.py, whose output is pasted here.
 */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keel/csv.h"
#include "keel/frame.h"
#include "keel/parallel.h"
#include "keel/profile.h"

#define CLOSE(a, b, tol) assert_true(fabs((a) - (b)) <= (tol))

static kl_frame *frame_num(size_t n, const char *name, const double *v)
{
    kl_frame *f = kl_frame_new(n);
    assert_non_null(f);
    kl_err err = {0};
    assert_int_equal(kl_frame_add_numeric(f, name, KL_TYPE_FLOAT, v, &err), 0);
    return f;
}

static void add_num(kl_frame *f, const char *name, const double *v)
{
    kl_err err = {0};
    assert_int_equal(kl_frame_add_numeric(f, name, KL_TYPE_FLOAT, v, &err), 0);
}

static void add_cat(kl_frame *f, const char *name, const char *const *v)
{
    kl_err err = {0};
    assert_int_equal(kl_frame_add_categorical(f, name, v, &err), 0);
}

static kl_profile *profile(const kl_frame *f, const kl_profile_opts *o)
{
    kl_profile *p = NULL;
    kl_err err = {0};
    assert_int_equal(kl_profile_compute(f, o, &p, &err), 0);
    assert_non_null(p);
    return p;
}

static size_t count_alerts(const kl_profile *p, enum kl_profile_alert_kind k, long col)
{
    size_t c = 0;
    for (size_t a = 0; a < p->n_alerts; a++)
        c += p->alerts[a].kind == k && (col < -1 || p->alerts[a].column == col);
    return c;
}

/* ---- statistics ---- */

static void test_profile_moments_and_quantiles_match_pandas(void **state)
{
    (void)state;
    /* mean 4; deviations -3 -2 -1 0 6: sum of squares 50, sample variance 12.5 */
    const double x[] = {10, 1, 3, 2, 4};
    kl_frame *f = frame_num(5, "x", x);
    kl_profile *p = profile(f, NULL);
    const kl_profile_column *c = &p->columns[0];
    CLOSE(c->mean, 4, 1e-15);
    CLOSE(c->std, sqrt(12.5), 1e-15);
    /* pandas: skew 1.697056274847714, kurt 3.1519999999999992 (by hand: m3 = 180, m4 = 1394) */
    CLOSE(c->skewness, 1.697056274847714, 1e-13);
    CLOSE(c->kurtosis, 3.152, 1e-12);
    /* numpy linear: h = 4q; q=.95 -> x[3] + .8 (x[4] - x[3]) = 4 + 4.8 */
    const double q[] = {1.04, 1.2, 2, 3, 4, 8.8, 9.76};
    for (int k = 0; k < KL_PROFILE_N_QUANTILES; k++)
        CLOSE(c->quantiles[k], q[k], 1e-12);
    assert_int_equal(c->distinct, 5);
    assert_int_equal(c->count, 5);
    CLOSE(c->min, 1, 0);
    CLOSE(c->max, 10, 0);
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_negative_values_and_ties_match_pandas(void **state)
{
    (void)state;
    const double y[] = {3.5, -1.25, 0, 7, 7, 2.5, 100, -40, 0.125};
    kl_frame *f = frame_num(9, "y", y);
    kl_profile *p = profile(f, NULL);
    const kl_profile_column *c = &p->columns[0];
    CLOSE(c->mean, 8.7638888888888893, 1e-13);
    CLOSE(c->std, 37.12618077059787, 1e-12);
    CLOSE(c->skewness, 2.0124097149080464, 1e-12);
    CLOSE(c->kurtosis, 5.9981285562863604, 1e-12);
    const double q[] = {-36.9, -24.5, 0, 2.5, 7, 62.8, 92.56};
    for (int k = 0; k < KL_PROFILE_N_QUANTILES; k++)
        CLOSE(c->quantiles[k], q[k], 1e-11);
    assert_int_equal(c->distinct, 8);
    assert_int_equal(c->zeros, 1);
    assert_int_equal(c->negatives, 2);
    /* 7 appears twice: the most common value */
    assert_string_equal(c->top[0].value, "7");
    assert_int_equal(c->top[0].count, 2);
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_missing_and_infinite_values_are_counted(void **state)
{
    (void)state;
    const double v[] = {1, NAN, INFINITY, 0, -0.0, NAN, -INFINITY, 2};
    kl_frame *f = frame_num(8, "v", v);
    kl_profile *p = profile(f, NULL);
    const kl_profile_column *c = &p->columns[0];
    assert_int_equal(c->count, 6);
    assert_int_equal(c->missing, 2);
    assert_int_equal(c->infinite, 2);
    assert_int_equal(c->zeros, 2); /* -0.0 is a zero */
    assert_int_equal(c->distinct, 5);
    /* the histogram holds the 4 finite values over [0, 2] */
    size_t total = 0;
    for (size_t b = 0; b < c->n_bins; b++)
        total += c->bins[b];
    assert_int_equal(total, 4);
    CLOSE(c->bin_lo, 0, 0);
    CLOSE(c->bin_hi, 2, 0);
    assert_int_equal(c->bins[KL_PROFILE_BINS - 1], 1); /* the maximum falls in the last bin */
    assert_int_equal(p->missing_cells, 2);
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_histogram_bins_are_equal_width(void **state)
{
    (void)state;
    double v[100];
    for (int i = 0; i < 100; i++)
        v[i] = i; /* [0, 99] in 50 bins of width 1.98: two values per bin */
    kl_frame *f = frame_num(100, "v", v);
    kl_profile *p = profile(f, NULL);
    for (int b = 0; b < KL_PROFILE_BINS; b++)
        assert_int_equal(p->columns[0].bins[b], 2);
    kl_profile_free(p);
    kl_frame_free(f);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_profile_many_distinct_values_match_a_sorted_reference(void **state)
{
    (void)state;
    /* 30000 rows, about 20000 distinct values (more than the hash path takes), 1 in 50 missing */
    enum { N = 30000 };
    double *v = malloc(N * sizeof *v), *ref = malloc(N * sizeof *ref),
           *neg = malloc(N * sizeof *neg);
    double *cls = malloc(N * sizeof *cls);
    assert_true(v && ref && neg && cls);
    size_t n = 0;
    double sum = 0;
    for (int i = 0; i < N; i++) {
        v[i] = i % 50 == 7 ? NAN : (double)((i * 7919) % 20011) / 8 - 1000;
        neg[i] = -v[i];
        if (!isnan(v[i])) {
            ref[n++] = v[i];
            sum += v[i];
        }
    }
    qsort(ref, n, sizeof *ref, cmp_double);
    double median = ref[n / 2];
    for (int i = 0; i < N; i++)
        cls[i] = isnan(v[i]) ? NAN : v[i] >= median;
    kl_frame *f = frame_num(N, "v", v);
    add_num(f, "neg", neg);
    add_num(f, "cls", cls);
    kl_profile_opts o = {.target = "cls"};
    kl_profile *p = profile(f, &o);
    const kl_profile_column *c = &p->columns[0];
    size_t distinct = 1, zeros = 0;
    for (size_t i = 1; i < n; i++)
        distinct += ref[i] != ref[i - 1];
    for (size_t i = 0; i < n; i++)
        zeros += ref[i] == 0;
    assert_true(c->distinct > 8192);
    assert_int_equal(c->distinct, distinct);
    assert_int_equal(c->count, n);
    assert_int_equal(c->zeros, zeros);
    CLOSE(c->min, ref[0], 0);
    CLOSE(c->max, ref[n - 1], 0);
    CLOSE(c->mean, sum / (double)n, 1e-9);
    for (int k = 0; k < KL_PROFILE_N_QUANTILES; k++) {
        double h = (double)(n - 1) * kl_profile_quantile_levels[k];
        size_t lo = (size_t)floor(h);
        double want = ref[lo] + (h - (double)lo) * (ref[lo + 1] - ref[lo]);
        CLOSE(c->quantiles[k], want, 1e-9);
    }
    /* identities: a column against its negation; a threshold target is separated perfectly */
    CLOSE(p->spearman[1], -1, 1e-12);
    CLOSE(p->pearson[1], -1, 1e-12);
    CLOSE(c->target_assoc, 1, 1e-12);
    assert_int_equal(c->target_measure, KL_PROFILE_MEASURE_AUC);
    kl_profile_free(p);
    kl_frame_free(f);
    free(v);
    free(ref);
    free(neg);
    free(cls);
}

/* ---- association ---- */

/* ---- a simple reference for the pairwise pass ---- */

typedef struct ref_pair {
    double v;
    size_t i;
} ref_pair;

static int cmp_ref_pair(const void *a, const void *b)
{
    double x = ((const ref_pair *)a)->v, y = ((const ref_pair *)b)->v;
    return (x > y) - (x < y);
}

/* Average ranks (1-based) of the present values of v, NaN where missing. */
static double *ref_ranks(const double *v, size_t n)
{
    ref_pair *s = malloc(n * sizeof *s);
    double *r = malloc(n * sizeof *r);
    assert_true(s && r);
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        r[i] = NAN;
        if (!isnan(v[i]))
            s[c++] = (ref_pair){v[i], i};
    }
    qsort(s, c, sizeof *s, cmp_ref_pair);
    for (size_t a = 0; a < c;) {
        size_t b = a + 1;
        while (b < c && s[b].v == s[a].v)
            b++;
        for (size_t k = a; k < b; k++)
            r[s[k].i] = ((double)a + 1 + (double)b) / 2;
        a = b;
    }
    free(s);
    return r;
}

/* Pearson over the rows where both are present, two passes. */
static double ref_pearson(const double *x, const double *y, size_t n)
{
    double sx = 0, sy = 0, c = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]) && !isnan(y[i])) {
            sx += x[i];
            sy += y[i];
            c++;
        }
    double mx = sx / c, my = sy / c, sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]) && !isnan(y[i])) {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
    return sxy / sqrt(sxx * syy);
}

/* The correlation ratio of y by the groups g (negative: missing), two passes. */
static double ref_eta(const double *y, const int *g, size_t n, int k)
{
    double s[8] = {0}, c[8] = {0}, st = 0, ct = 0;
    for (size_t i = 0; i < n; i++)
        if (g[i] >= 0 && !isnan(y[i])) {
            s[g[i]] += y[i];
            c[g[i]]++;
            st += y[i];
            ct++;
        }
    double m = st / ct, between = 0, total = 0;
    for (int j = 0; j < k; j++)
        if (c[j] > 0)
            between += c[j] * (s[j] / c[j] - m) * (s[j] / c[j] - m);
    for (size_t i = 0; i < n; i++)
        if (g[i] >= 0 && !isnan(y[i]))
            total += (y[i] - m) * (y[i] - m);
    return sqrt(between / total);
}

/*
 * Columns with more than 65535, a few thousand and a few hundred distinct
 * values (each rank store width), each with its own missing rows, and a
 * categorical column with missing values: Pearson, Spearman and correlation
 * ratios against the references above.
 */
static void test_profile_pairs_with_missing_values_match_a_reference(void **state)
{
    (void)state;
    enum { N = 70001, K = 5 };
    static const char *const names[K] = {"k0", "k1", "k2", "k3", "k4"};
    double *col[3];
    for (int c = 0; c < 3; c++) {
        col[c] = malloc(N * sizeof *col[c]);
        assert_non_null(col[c]);
    }
    const char **cat = malloc(N * sizeof *cat);
    int *g = malloc(N * sizeof *g);
    assert_true(cat && g);
    uint64_t x = 88172645463325252u;
    for (size_t i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double u = (double)(x >> 11) / 9007199254740992.0;
        g[i] = i % 23 == 5 ? -1 : (int)(x % K);
        cat[i] = g[i] < 0 ? NULL : names[g[i]];
        col[0][i] = i % 37 == 3 ? NAN : u * 1000 + g[i] * 100;             /* ~all distinct */
        col[1][i] = i % 29 == 4 ? NAN : floor(u * 3000) - (double)(i % 7); /* thousands */
        col[2][i] = i % 41 == 6 ? NAN : (double)((x >> 20) % 200) + (g[i] > 2 ? 50 : 0);
    }
    kl_frame *f = frame_num(N, "a", col[0]);
    add_num(f, "b", col[1]);
    add_num(f, "c", col[2]);
    add_cat(f, "g", cat);
    kl_profile *p = profile(f, NULL);
    assert_true(p->columns[0].distinct > 65535);
    assert_true(p->columns[1].distinct > 255 && p->columns[1].distinct < 65536);
    assert_true(p->columns[2].distinct < 256);
    double *rk[3];
    for (int c = 0; c < 3; c++)
        rk[c] = ref_ranks(col[c], N);
    for (int a = 0; a < 3; a++) {
        for (int b = 0; b < 3; b++) {
            CLOSE(p->pearson[a * 4 + b], ref_pearson(col[a], col[b], N), 1e-9);
            CLOSE(p->spearman[a * 4 + b], ref_pearson(rk[a], rk[b], N), 1e-9);
        }
        CLOSE(p->assoc[a * 4 + 3], ref_eta(col[a], g, N, K), 1e-9);
        assert_int_equal(p->assoc_kind[a * 4 + 3], KL_PROFILE_MEASURE_ETA);
    }
    kl_profile_free(p);
    kl_frame_free(f);
    for (int c = 0; c < 3; c++) {
        free(col[c]);
        free(rk[c]);
    }
    free(cat);
    free(g);
}

static void test_profile_spearman_uses_average_ranks_for_ties(void **state)
{
    (void)state;
    /* ranks a: 1 2.5 2.5 4, b: 1 3 2 4 -> 4.5 / sqrt(4.5 * 5); pandas 0.94868329805051377 */
    const double a[] = {1, 2, 2, 3}, b[] = {1, 3, 2, 4};
    kl_frame *f = frame_num(4, "a", a);
    add_num(f, "b", b);
    kl_profile *p = profile(f, NULL);
    CLOSE(p->spearman[1], 0.94868329805051377, 1e-12);
    CLOSE(p->spearman[2], 0.94868329805051377, 1e-12);
    CLOSE(p->spearman[0], 1, 1e-12);
    /* Pearson by hand: dx -1 0 0 1, dy -1.5 .5 -.5 1.5: 3 / sqrt(2 * 5) */
    CLOSE(p->pearson[1], 3 / sqrt(10), 1e-12);
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_pearson_uses_pairwise_complete_rows(void **state)
{
    (void)state;
    /* common rows 0..2: (1,2) (2,4) (3,7): 5 / sqrt(2 * 12.667); pandas 0.99339926779878274 */
    const double a[] = {1, 2, 3, NAN, 5}, b[] = {2, 4, 7, 1, NAN}, c[] = {5, 4, 3, 2, 1};
    kl_frame *f = frame_num(5, "a", a);
    add_num(f, "b", b);
    add_num(f, "c", c);
    kl_profile *p = profile(f, NULL);
    CLOSE(p->pearson[0 * 3 + 1], 0.99339926779878274, 1e-12);
    /* a with c (no missing): rows 0,1,2,4: a 1 2 3 5, c 5 4 3 1: exactly -1 */
    CLOSE(p->pearson[0 * 3 + 2], -1, 1e-12);
    /* b with c: rows 0..3: b 2 4 7 1, c 5 4 3 2; by hand cov -1.5.. -> computed below */
    double bm = 3.5, cm = 3.5, sbc = 0, sbb = 0, scc = 0;
    const double bb[] = {2, 4, 7, 1}, cc[] = {5, 4, 3, 2};
    for (int i = 0; i < 4; i++) {
        sbc += (bb[i] - bm) * (cc[i] - cm);
        sbb += (bb[i] - bm) * (bb[i] - bm);
        scc += (cc[i] - cm) * (cc[i] - cm);
    }
    CLOSE(p->pearson[1 * 3 + 2], sbc / sqrt(sbb * scc), 1e-12);
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_cramers_v_on_a_2x2_table(void **state)
{
    (void)state;
    /* table [[3,1],[1,3]], n 8: E = 2 everywhere, chi2 = 4 * 1/2 = 2, V = sqrt(2/8 / 1) = .5 */
    const char *a[] = {"x", "x", "x", "x", "y", "y", "y", "y"};
    const char *b[] = {"u", "u", "u", "v", "u", "v", "v", "v"};
    kl_frame *f = kl_frame_new(8);
    add_cat(f, "a", a);
    add_cat(f, "b", b);
    kl_profile *p = profile(f, NULL);
    CLOSE(p->assoc[1], 0.5, 1e-12);
    assert_int_equal(p->assoc_kind[1], KL_PROFILE_MEASURE_CRAMERS_V);
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_correlation_ratio_on_a_mixed_pair(void **state)
{
    (void)state;
    /* group means 2 and 5, grand 3.5: SSB 13.5, SST 17.5, eta = sqrt(13.5 / 17.5) */
    const double y[] = {1, 2, 3, 4, 5, 6};
    const char *g[] = {"a", "a", "a", "b", "b", "b"};
    kl_frame *f = frame_num(6, "y", y);
    add_cat(f, "g", g);
    kl_profile *p = profile(f, NULL);
    CLOSE(p->assoc[1], sqrt(13.5 / 17.5), 1e-12);
    CLOSE(p->assoc[2], sqrt(13.5 / 17.5), 1e-12);
    assert_int_equal(p->assoc_kind[1], KL_PROFILE_MEASURE_ETA);
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_imbalance_of_three_categories_by_hand(void **state)
{
    (void)state;
    /* shares .6 .3 .1: H = .306495 + .361192 + .230259 = .897946 (natural log), ln 3 = 1.098612,
       1 - H / ln 3 = .182655 */
    const char *v[10] = {"a", "a", "a", "a", "a", "a", "b", "b", "b", "c"};
    kl_frame *f = kl_frame_new(10);
    add_cat(f, "v", v);
    kl_profile *p = profile(f, NULL);
    CLOSE(p->columns[0].imbalance, 0.182655, 2e-6);
    assert_int_equal(p->columns[0].distinct, 3);
    assert_string_equal(p->columns[0].top[0].value, "a");
    assert_int_equal(p->columns[0].top[2].count, 1);
    kl_profile_free(p);
    kl_frame_free(f);
}

/* ---- text, time, table ---- */

static void test_profile_text_lengths_and_date_like_values(void **state)
{
    (void)state;
    const char *t[] = {"ab", "2020-01-02", NULL, "hello", "ab"};
    kl_frame *f = kl_frame_new(5);
    kl_err err = {0};
    assert_int_equal(kl_frame_add_text(f, "t", t, &err), 0);
    kl_profile *p = profile(f, NULL);
    const kl_profile_column *c = &p->columns[0];
    assert_int_equal(c->count, 4);
    assert_int_equal(c->distinct, 3);
    assert_int_equal(c->len_min, 2);
    assert_int_equal(c->len_max, 10);
    CLOSE(c->len_mean, (2 + 10 + 5 + 2) / 4.0, 1e-15);
    assert_int_equal(c->date_like, 1);
    assert_string_equal(c->top[0].value, "ab");
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_time_gaps_and_daily_counts(void **state)
{
    (void)state;
    /* 2020-01-01, 01-02, 01-03, 01-05 (twice): range 4 days -> daily periods 1 1 1 0 2 */
    const int64_t day = INT64_C(86400000000), d0 = INT64_C(18262) * day;
    const int64_t t[] = {d0 + 4 * day, d0, d0 + day, d0 + 2 * day, d0 + 4 * day, KL_TIME_MISSING};
    kl_frame *f = kl_frame_new(6);
    kl_err err = {0};
    assert_int_equal(kl_frame_add_time(f, "d", KL_TYPE_DATE, t, NULL, &err), 0);
    kl_profile *p = profile(f, NULL);
    const kl_profile_column *c = &p->columns[0];
    assert_int_equal(c->count, 5);
    assert_int_equal(c->missing, 1);
    assert_int_equal(c->distinct, 4);
    assert_true(c->t_min == d0 && c->t_max == d0 + 4 * day);
    assert_true(c->gap_max == 2 * day && c->gap_median == day);
    CLOSE(c->irregular, 1.0 / 3, 1e-15);
    assert_string_equal(c->period, "day");
    assert_int_equal(c->n_periods, 5);
    const size_t want[] = {1, 1, 1, 0, 2};
    for (int k = 0; k < 5; k++) {
        assert_int_equal(c->period_count[k], want[k]);
        assert_true(c->period_start[k] == d0 + k * day);
    }
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_duplicate_rows_compare_values_exactly(void **state)
{
    (void)state;
    /* rows 0, 2 and 4 are equal (NaN equals NaN, -0.0 equals 0.0); row 1 differs in text only */
    const double x[] = {NAN, NAN, NAN, 1, NAN};
    const double z[] = {0, 0, -0.0, 0, 0};
    const char *t[] = {"a", "b", "a", "a", "a"};
    kl_frame *f = frame_num(5, "x", x);
    add_num(f, "z", z);
    kl_err err = {0};
    assert_int_equal(kl_frame_add_text(f, "t", t, &err), 0);
    kl_profile *p = profile(f, NULL);
    assert_int_equal(p->duplicate_rows, 2);
    kl_profile_free(p);
    kl_frame_free(f);
}

/* ---- alerts, each just above and just below its threshold ---- */

static void test_profile_missing_alert_at_its_threshold(void **state)
{
    (void)state;
    double v[100];
    for (int i = 0; i < 100; i++)
        v[i] = i;
    v[5] = NAN; /* 1% missing: not above 0.01 */
    kl_frame *f = frame_num(100, "v", v);
    kl_profile *p = profile(f, NULL);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_MISSING, 0), 0);
    kl_profile_free(p);
    kl_frame_free(f);
    v[6] = NAN; /* 2% */
    f = frame_num(100, "v", v);
    p = profile(f, NULL);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_MISSING, 0), 1);
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_zeros_and_infinite_alerts_at_their_thresholds(void **state)
{
    (void)state;
    double v[100];
    for (int i = 0; i < 100; i++)
        v[i] = i + 1;
    v[0] = 0;
    v[1] = INFINITY;
    kl_frame *f = frame_num(100, "v", v);
    kl_profile *p = profile(f, NULL);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_ZEROS, 0), 0);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_INFINITE, 0), 0);
    kl_profile_free(p);
    kl_frame_free(f);
    v[2] = 0;
    v[3] = -INFINITY;
    f = frame_num(100, "v", v);
    p = profile(f, NULL);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_ZEROS, 0), 1);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_INFINITE, 0), 1);
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_skewed_alert_follows_the_configured_threshold(void **state)
{
    (void)state;
    const double x[] = {10, 1, 3, 2, 4}; /* skewness 1.697056 */
    kl_frame *f = frame_num(5, "x", x);
    kl_profile_opts o = {0};
    o.thresholds.skewed = 1.70;
    kl_profile *p = profile(f, &o);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_SKEWED, 0), 0);
    CLOSE(p->thresholds.skewed, 1.70, 0);
    kl_profile_free(p);
    o.thresholds.skewed = 1.69;
    p = profile(f, &o);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_SKEWED, 0), 1);
    kl_profile_free(p);
    /* the default (20) does not fire */
    p = profile(f, NULL);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_SKEWED, 0), 0);
    CLOSE(p->thresholds.skewed, 20, 0);
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_cardinality_constant_and_unique_alerts(void **state)
{
    (void)state;
    enum { N = 60 };
    char names[N][8];
    const char *hi50[N], *hi51[N], *one[N];
    double id[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "v%d", i);
        hi50[i] = names[i % 50]; /* 50 distinct: not above 50 */
        hi51[i] = names[i % 51];
        one[i] = "same";
        id[i] = i;
    }
    kl_frame *f = kl_frame_new(N);
    kl_err err = {0};
    add_cat(f, "c50", hi50);
    add_cat(f, "c51", hi51);
    add_cat(f, "one", one);
    assert_int_equal(kl_frame_add_numeric(f, "id", KL_TYPE_INT, id, &err), 0);
    add_num(f, "float_id", id);
    kl_profile *p = profile(f, NULL);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_HIGH_CARDINALITY, 0), 0);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_HIGH_CARDINALITY, 1), 1);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_CONSTANT, 2), 1);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_CONSTANT, 0), 0);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_UNIQUE, 3), 1);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_UNIQUE, 4), 0); /* floats are not ids */
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_UNIQUE, 0), 0);
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_imbalance_alert_at_its_threshold(void **state)
{
    (void)state;
    const char *v[10] = {"a", "a", "a", "a", "a", "a", "b", "b", "b", "c"}; /* .182655 */
    kl_frame *f = kl_frame_new(10);
    add_cat(f, "v", v);
    kl_profile_opts o = {0};
    o.thresholds.imbalance = 0.1827;
    kl_profile *p = profile(f, &o);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_IMBALANCE, 0), 0);
    kl_profile_free(p);
    o.thresholds.imbalance = 0.1826;
    p = profile(f, &o);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_IMBALANCE, 0), 1);
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_duplicates_alert_at_its_threshold(void **state)
{
    (void)state;
    double v[200];
    for (int i = 0; i < 200; i++)
        v[i] = i;
    v[1] = v[0];
    v[3] = v[2]; /* 2 of 200 rows: 1%, not above */
    kl_frame *f = frame_num(200, "v", v);
    kl_profile *p = profile(f, NULL);
    assert_int_equal(p->duplicate_rows, 2);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_DUPLICATES, -1), 0);
    kl_profile_free(p);
    kl_frame_free(f);
    v[5] = v[4];
    f = frame_num(200, "v", v);
    p = profile(f, NULL);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_DUPLICATES, -1), 1);
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_date_like_text_alert_at_its_threshold(void **state)
{
    (void)state;
    const char *t[10] = {"2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04", "2020-01-05",
                         "2020-01-06", "2020-01-07", "2020-01-08", "2020-01-09", "soon"};
    kl_frame *f = kl_frame_new(10);
    kl_err err = {0};
    assert_int_equal(kl_frame_add_text(f, "t", t, &err), 0);
    kl_profile *p = profile(f, NULL); /* 9 of 10: 0.9, not above 0.9 */
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_TYPE_DATE, 0), 0);
    kl_profile_free(p);
    kl_profile_opts o = {0};
    o.thresholds.date_like = 0.89;
    p = profile(f, &o);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_TYPE_DATE, 0), 1);
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_high_correlation_alert_names_the_pair(void **state)
{
    (void)state;
    /* a, b: Pearson 3 / sqrt(10) = .948683 */
    const double a[] = {1, 2, 2, 3}, b[] = {1, 3, 2, 4};
    kl_frame *f = frame_num(4, "a", a);
    add_num(f, "b", b);
    kl_profile *p = profile(f, NULL); /* default 0.9 */
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_HIGH_CORRELATION, 0), 1);
    assert_int_equal(p->alerts[p->n_alerts - 1].column2, 1);
    kl_profile_free(p);
    kl_profile_opts o = {0};
    o.thresholds.high_correlation = 0.95;
    p = profile(f, &o);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_HIGH_CORRELATION, 0), 0);
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_copied_target_is_flagged_as_leakage(void **state)
{
    (void)state;
    enum { N = 200 };
    const char *y[N];
    double copy[N], noise[N], score[N];
    uint64_t s = 12345;
    for (int i = 0; i < N; i++) {
        int pos = i % 3 == 0;
        y[i] = pos ? "yes" : "no";
        copy[i] = pos;
        s = s * 6364136223846793005u + 1442695040888963407u;
        noise[i] = (double)(s >> 11) / 9007199254740992.0;
        score[i] = pos + noise[i]; /* separates the classes perfectly too */
    }
    kl_frame *f = kl_frame_new(N);
    add_cat(f, "y", y);
    add_num(f, "copy", copy);
    add_num(f, "noise", noise);
    add_num(f, "score", score);
    kl_profile_opts o = {.target = "y"};
    kl_profile *p = profile(f, &o);
    assert_int_equal(p->target, 0);
    CLOSE(p->columns[1].target_assoc, 1, 1e-12);
    assert_int_equal(p->columns[1].target_measure, KL_PROFILE_MEASURE_AUC);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_TARGET_LEAKAGE, 1), 1);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_TARGET_LEAKAGE, 3), 1);
    assert_int_equal(count_alerts(p, KL_PROFILE_ALERT_TARGET_LEAKAGE, 2), 0);
    assert_true(p->columns[2].target_assoc < 0.7);
    assert_true(isnan(p->columns[0].target_assoc));
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_auc_of_a_feature_by_hand(void **state)
{
    (void)state;
    /* positives 2, 4 and negatives 1, 3: pairs (2>1) (4>1) (4>3), (2<3): AUC 3/4 */
    const double x[] = {1, 2, 3, 4}, t[] = {0, 1, 0, 1};
    kl_frame *f = frame_num(4, "x", x);
    add_num(f, "t", t);
    kl_profile_opts o = {.target = "t"};
    kl_profile *p = profile(f, &o);
    CLOSE(p->columns[0].target_assoc, 0.75, 1e-15);
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_clean_column_has_no_alert(void **state)
{
    (void)state;
    double v[100], w[100];
    for (int i = 0; i < 100; i++) {
        v[i] = 1 + (i * 37) % 100 * 0.5;
        w[i] = (i * 61) % 100 + 0.25;
    }
    kl_frame *f = frame_num(100, "v", v);
    add_num(f, "w", w);
    kl_profile *p = profile(f, NULL);
    assert_int_equal(p->n_alerts, 0);
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_unknown_target_is_not_found(void **state)
{
    (void)state;
    const double v[] = {1, 2};
    kl_frame *f = frame_num(2, "v", v);
    kl_profile_opts o = {.target = "nope"};
    kl_profile *p = (kl_profile *)1;
    kl_err err = {0};
    assert_int_equal(kl_profile_compute(f, &o, &p, &err), KL_ENOTFOUND);
    assert_null(p);
    assert_non_null(strstr(err.msg, "nope"));
    kl_frame_free(f);
}

/* ---- outputs ---- */

static char *json_text(const kl_profile *p)
{
    json_t *j = kl_profile_json(p);
    assert_non_null(j);
    char *s = json_dumps(j, JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
    json_decref(j);
    assert_non_null(s);
    return s;
}

static kl_frame *random_frame(size_t n)
{
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    const char **c = malloc(n * sizeof *c);
    assert_true(a && b && c);
    static const char *const cats[] = {"red", "green", "blue", "grey"};
    uint64_t s = 42;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        double u = (double)(s >> 11) / 9007199254740992.0;
        a[i] = i % 97 == 0 ? NAN : floor(u * 1000) / 10;
        b[i] = i % 89 == 0 ? NAN : a[i] * 0.5 + (double)(s % 7);
        c[i] = i % 83 == 0 ? NULL : cats[(s >> 20) % 4];
    }
    kl_frame *f = frame_num(n, "a", a);
    add_num(f, "b", b);
    add_cat(f, "c", c);
    free(a);
    free(b);
    free(c);
    return f;
}

static void test_profile_does_not_depend_on_the_thread_count(void **state)
{
    (void)state;
    kl_frame *f = random_frame(70000); /* several row blocks and row chunks */
    kl_profile_opts o = {.target = "c"};
    kl_threads_set(1);
    kl_profile *p1 = profile(f, &o);
    kl_threads_set(2);
    kl_profile *p2 = profile(f, &o);
    kl_threads_set(3);
    kl_profile *p3 = profile(f, &o);
    kl_threads_set(0);
    char *s1 = json_text(p1), *s2 = json_text(p2), *s3 = json_text(p3);
    assert_string_equal(s1, s2);
    assert_string_equal(s1, s3);
    free(s1);
    free(s2);
    free(s3);
    kl_profile_free(p1);
    kl_profile_free(p2);
    kl_profile_free(p3);
    kl_frame_free(f);
}

/*
 * Check that tags balance (each opened element closed in order), ignoring
 * <!...> and void elements; returns the number of <svg> elements, or -1.
 */
static int html_balanced(const char *s, int *n_svg)
{
    char stack[64][32];
    int depth = 0;
    *n_svg = 0;
    for (const char *p = strchr(s, '<'); p; p = strchr(p + 1, '<')) {
        if (p[1] == '!')
            continue;
        const char *end = strchr(p, '>');
        if (!end)
            return -1;
        int closing = p[1] == '/';
        const char *name = p + 1 + closing;
        size_t len = strcspn(name, " />\n");
        if (len == 0 || len >= 32)
            return -1;
        int self = end[-1] == '/';
        if (len == 4 && strncmp(name, "meta", 4) == 0)
            continue;
        if (closing) {
            if (depth == 0 || strlen(stack[depth - 1]) != len ||
                strncmp(stack[depth - 1], name, len) != 0)
                return -1;
            depth--;
        } else if (!self) {
            if (depth == 64)
                return -1;
            memcpy(stack[depth], name, len);
            stack[depth++][len] = 0;
            *n_svg += len == 3 && strncmp(name, "svg", 3) == 0;
        }
    }
    return depth == 0 ? 0 : -1;
}

static void test_profile_html_is_balanced_with_one_svg_per_chart_and_no_urls(void **state)
{
    (void)state;
    kl_frame *f = random_frame(500);
    kl_err err = {0};
    const char *t[500];
    for (int i = 0; i < 500; i++)
        t[i] = i % 2 ? "<b>&\"x'" : "plain";
    assert_int_equal(kl_frame_add_text(f, "odd <name>", t, &err), 0);
    kl_profile *p = profile(f, NULL);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    assert_int_equal(kl_profile_html(p, "t<i>tle", fp, &err), 0);
    fclose(fp);
    int n_svg = 0;
    assert_int_equal(html_balanced(buf, &n_svg), 0);
    /* a, b: histograms; c and the text column: bar charts; one heat map */
    assert_int_equal(n_svg, 5);
    assert_null(strstr(buf, "http"));
    assert_null(strstr(buf, "<b>"));
    assert_non_null(strstr(buf, "odd &lt;name&gt;"));
    assert_null(strstr(buf, "<script"));
    free(buf);
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_json_has_the_documented_fields(void **state)
{
    (void)state;
    const double x[] = {10, 1, 3, 2, NAN};
    kl_frame *f = frame_num(5, "x", x);
    kl_profile *p = profile(f, NULL);
    json_t *j = kl_profile_json(p);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "rows")), 5);
    json_t *v = json_array_get(json_object_get(j, "variables"), 0);
    assert_string_equal(json_string_value(json_object_get(v, "name")), "x");
    assert_int_equal(json_integer_value(json_object_get(v, "missing")), 1);
    json_t *num = json_object_get(v, "numeric");
    CLOSE(json_real_value(json_object_get(num, "mean")), 4, 1e-15);
    CLOSE(json_real_value(json_object_get(json_object_get(num, "quantiles"), "50")), 2.5, 1e-15);
    assert_true(json_is_array(json_object_get(json_object_get(num, "histogram"), "counts")));
    assert_true(json_is_object(json_object_get(j, "thresholds")));
    assert_true(json_is_array(json_object_get(j, "alerts")));
    json_decref(j);
    kl_profile_free(p);
    kl_frame_free(f);
}

static void test_profile_read_back_from_json_gives_the_same_json(void **state)
{
    (void)state;
    kl_frame *f = random_frame(3000);
    kl_err err = {0};
    const char *t[3000];
    int64_t tm[3000];
    for (int i = 0; i < 3000; i++) {
        t[i] = i % 3 ? "2021-05-06" : "words";
        tm[i] = i % 11 == 0 ? KL_TIME_MISSING : INT64_C(1600000000000000) + i * INT64_C(3600000000);
    }
    assert_int_equal(kl_frame_add_text(f, "t", t, &err), 0);
    assert_int_equal(kl_frame_add_time(f, "when", KL_TYPE_DATETIME, tm, NULL, &err), 0);
    kl_profile_opts o = {.target = "c"};
    kl_profile *p = profile(f, &o);
    char *s1 = json_text(p);
    json_error_t je;
    json_t *j = json_loads(s1, 0, &je);
    assert_non_null(j);
    kl_profile *back = NULL;
    assert_int_equal(kl_profile_from_json(j, &back, &err), 0);
    json_decref(j);
    char *s2 = json_text(back);
    assert_string_equal(s1, s2);
    /* what the report shows comes out the same too */
    assert_int_equal(back->n_alerts, p->n_alerts);
    assert_true(back->columns[4].t_min == p->columns[4].t_min);
    char *h1 = NULL, *h2 = NULL;
    size_t l1 = 0, l2 = 0;
    FILE *a = open_memstream(&h1, &l1), *b = open_memstream(&h2, &l2);
    assert_int_equal(kl_profile_html(p, "x", a, &err), 0);
    assert_int_equal(kl_profile_html(back, "x", b, &err), 0);
    fclose(a);
    fclose(b);
    assert_string_equal(h1, h2);
    free(h1);
    free(h2);
    free(s1);
    free(s2);
    kl_profile_free(back);
    kl_profile_free(p);
    kl_frame_free(f);
    j = json_pack("{s:i}", "rows", 3);
    assert_int_equal(kl_profile_from_json(j, &back, &err), KL_EPARSE);
    assert_null(back);
    json_decref(j);
}

/* ---- real data ---- */

static void test_profile_adult_census_spot_checks(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/data/adult_2000.csv", KEEL_SOURCE_DIR);
    kl_frame *f = NULL;
    kl_err err = {0};
    assert_int_equal(kl_csv_read_file(path, NULL, &f, NULL, &err), 0);
    kl_profile_opts o = {.target = "income"};
    kl_profile *p = profile(f, &o);
    assert_int_equal(p->rows, 2000);
    long age = kl_frame_col_index(f, "age");
    assert_true(age >= 0);
    /* awk -F, 'NR>1{s+=$1;n++}END{printf "%.10f", s/n}' data/adult_2000.csv -> 38.8690000000 */
    CLOSE(p->columns[age].mean, 38.869, 1e-9);
    /* min and max by `cut -d, -f1 | sort -n`: 17 and 90 */
    CLOSE(p->columns[age].min, 17, 0);
    CLOSE(p->columns[age].max, 90, 0);
    long inc = kl_frame_col_index(f, "income");
    /* grep -c ',<=50K$' -> 1501 */
    assert_string_equal(p->columns[inc].top[0].value, "<=50K");
    assert_int_equal(p->columns[inc].top[0].count, 1501);
    /* education and education_num are the same thing: Cramér's V-free eta of 1 */
    long ed = kl_frame_col_index(f, "education"), en = kl_frame_col_index(f, "education_num");
    CLOSE(p->assoc[(size_t)ed * p->n_columns + (size_t)en], 1, 1e-9);
    kl_profile_free(p);
    kl_frame_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_moments_and_quantiles_match_pandas),
        cmocka_unit_test(test_profile_negative_values_and_ties_match_pandas),
        cmocka_unit_test(test_profile_missing_and_infinite_values_are_counted),
        cmocka_unit_test(test_profile_histogram_bins_are_equal_width),
        cmocka_unit_test(test_profile_many_distinct_values_match_a_sorted_reference),
        cmocka_unit_test(test_profile_spearman_uses_average_ranks_for_ties),
        cmocka_unit_test(test_profile_pearson_uses_pairwise_complete_rows),
        cmocka_unit_test(test_profile_pairs_with_missing_values_match_a_reference),
        cmocka_unit_test(test_profile_cramers_v_on_a_2x2_table),
        cmocka_unit_test(test_profile_correlation_ratio_on_a_mixed_pair),
        cmocka_unit_test(test_profile_imbalance_of_three_categories_by_hand),
        cmocka_unit_test(test_profile_text_lengths_and_date_like_values),
        cmocka_unit_test(test_profile_time_gaps_and_daily_counts),
        cmocka_unit_test(test_profile_duplicate_rows_compare_values_exactly),
        cmocka_unit_test(test_profile_missing_alert_at_its_threshold),
        cmocka_unit_test(test_profile_zeros_and_infinite_alerts_at_their_thresholds),
        cmocka_unit_test(test_profile_skewed_alert_follows_the_configured_threshold),
        cmocka_unit_test(test_profile_cardinality_constant_and_unique_alerts),
        cmocka_unit_test(test_profile_imbalance_alert_at_its_threshold),
        cmocka_unit_test(test_profile_duplicates_alert_at_its_threshold),
        cmocka_unit_test(test_profile_date_like_text_alert_at_its_threshold),
        cmocka_unit_test(test_profile_high_correlation_alert_names_the_pair),
        cmocka_unit_test(test_profile_copied_target_is_flagged_as_leakage),
        cmocka_unit_test(test_profile_auc_of_a_feature_by_hand),
        cmocka_unit_test(test_profile_clean_column_has_no_alert),
        cmocka_unit_test(test_profile_unknown_target_is_not_found),
        cmocka_unit_test(test_profile_does_not_depend_on_the_thread_count),
        cmocka_unit_test(test_profile_html_is_balanced_with_one_svg_per_chart_and_no_urls),
        cmocka_unit_test(test_profile_json_has_the_documented_fields),
        cmocka_unit_test(test_profile_read_back_from_json_gives_the_same_json),
        cmocka_unit_test(test_profile_adult_census_spot_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
