/*
 * Feature selection. The estimators are checked against outside values:
 * mutual information against scikit-learn 1.2.1 (tests/fixtures/fselect,
 * written once by gen_mi.py) and, on skewed data, against a brute-force
 * KSG written here; association and variance against hand computation;
 * Nogueira's index against its closed form. The ranking methods run on
 * crafted frames whose answer is known by construction (one feature
 * determines the target, one is pure noise), and the budget, the stability,
 * the protected and privacy rules and thread independence are checked on
 * them.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ftw.h>

#include <cmocka.h>

#include "keel/fselect.h"
#include "keel/parallel.h"
#include "keel/rng.h"
#include "keel/store.h"

#include "fixtures/fselect/mi_cases.h"

/*
 * scikit-learn adds 1e-10 noise from numpy's generator and keel from its
 * own, so values agree up to that noise moving a neighbour across a radius:
 * absent near-ties (true of this data), to rounding.
 */
#define MI_TOL 1e-9

static void check_mi(const double *y, int y_disc, size_t k, const double *expected)
{
    for (size_t j = 0; j < MI_P; j++) {
        double v = -1;
        kl_err err = {0};
        assert_int_equal(
            kl_fselect_mi(mi_x + j * MI_N, mi_discrete[j], y, y_disc, MI_N, k, 42, &v, &err), 0);
        if (fabs(v - expected[j]) > MI_TOL)
            fail_msg("feature %zu: keel %.17g, scikit-learn %.17g", j, v, expected[j]);
    }
}

static void test_mi_regression_matches_sklearn(void **state)
{
    (void)state;
    check_mi(mi_y_reg, 0, 3, mi_expected_reg);
}

static void test_mi_regression_k5_matches_sklearn(void **state)
{
    (void)state;
    check_mi(mi_y_reg, 0, 5, mi_expected_reg_k5);
}

static void test_mi_classification_matches_sklearn(void **state)
{
    (void)state;
    check_mi(mi_y_cls, 1, 3, mi_expected_cls);
}

/*
 * A brute-force KSG (every pair; scaled by the population std, no jitter)
 * on 1500 skewed points: the tree search must find the same k-th distances.
 * The jitter keel adds moves values by about 1e-10, far below this data's
 * gaps, so the two agree to rounding.
 */
static double digamma_ref(double x)
{
    double r = 0;
    while (x < 20) /* recurrence up to where the series is exact to 1e-13 */
        r -= 1 / x++;
    double f = 1 / (x * x);
    return r + log(x) - 0.5 / x - f * (1.0 / 12 - f * (1.0 / 120 - f / 252));
}

static double ksg_brute(const double *x0, const double *y0, size_t n, size_t k)
{
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *d = malloc(n * sizeof *d);
    const double *src[2] = {x0, y0};
    double *dst[2] = {x, y};
    for (int v = 0; v < 2; v++) {
        double m = 0, ss = 0;
        for (size_t i = 0; i < n; i++)
            m += src[v][i];
        m /= (double)n;
        for (size_t i = 0; i < n; i++)
            ss += (src[v][i] - m) * (src[v][i] - m);
        for (size_t i = 0; i < n; i++)
            dst[v][i] = src[v][i] / sqrt(ss / (double)n);
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        size_t m = 0;
        for (size_t j = 0; j < n; j++)
            if (j != i)
                d[m++] = fmax(fabs(x[i] - x[j]), fabs(y[i] - y[j]));
        for (size_t a = 0; a < k; a++) /* partial selection sort: the k smallest */
            for (size_t b = a + 1; b < m; b++)
                if (d[b] < d[a]) {
                    double t = d[a];
                    d[a] = d[b];
                    d[b] = t;
                }
        double eps = d[k - 1];
        size_t nx = 0, ny = 0;
        for (size_t j = 0; j < n; j++) {
            nx += j != i && fabs(x[i] - x[j]) < eps;
            ny += j != i && fabs(y[i] - y[j]) < eps;
        }
        sum += digamma_ref((double)nx + 1) + digamma_ref((double)ny + 1);
    }
    free(x), free(y), free(d);
    return fmax(0, digamma_ref((double)n) + digamma_ref((double)k) - sum / (double)n);
}

static void test_mi_tree_search_matches_brute_force(void **state)
{
    (void)state;
    enum { n = 1500 };
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    kl_rng r;
    kl_rng_init(&r, 11);
    for (size_t i = 0; i < n; i++) {
        x[i] = exp(2 * kl_rng_normal(&r)); /* log-normal: dense near 0, long tail */
        y[i] = log(x[i]) + kl_rng_normal(&r);
    }
    for (size_t k = 1; k <= 6; k += 5) {
        double v = 0, ref = ksg_brute(x, y, n, k);
        kl_err err = {0};
        assert_int_equal(kl_fselect_mi(x, 0, y, 0, n, k, 3, &v, &err), 0);
        if (fabs(v - ref) > 1e-9)
            fail_msg("k %zu: keel %.17g, brute force %.17g", k, v, ref);
        assert_true(ref > 0.1);
    }
    free(x);
    free(y);
}

/* ---- estimators by hand ---- */

static void test_assoc_and_variance_by_hand(void **state)
{
    (void)state;
    const double a[] = {1, 2, 3, 4}, b[] = {2, 4, 6, 8}, c[] = {1, 3, 2, 4}, g[] = {0, 0, 1, 1};
    /* r(a, c): deviations (-1.5 -.5 .5 1.5) and (-1.5 .5 -.5 1.5): 4 / sqrt(5 * 5) */
    assert_true(fabs(kl_fselect_assoc(a, 0, b, 0, 4) - 1.0) < 1e-15);
    assert_true(fabs(kl_fselect_assoc(a, 0, c, 0, 4) - 0.8) < 1e-15);
    /* eta of a within g: group means 1.5 and 3.5 around 2.5: between 4, total 5 */
    assert_true(fabs(kl_fselect_assoc(g, 1, a, 0, 4) - sqrt(0.8)) < 1e-15);
    assert_true(fabs(kl_fselect_assoc(a, 0, g, 1, 4) - sqrt(0.8)) < 1e-15);
    /* Cramer's V of a variable with itself */
    assert_true(fabs(kl_fselect_assoc(g, 1, g, 1, 4) - 1.0) < 1e-15);
    /* a NaN row is left out: r of the other three (1,2),(2,4),(4,8) is 1 */
    const double an[] = {1, 2, NAN, 4};
    assert_true(fabs(kl_fselect_assoc(an, 0, b, 0, 4) - 1.0) < 1e-15);
    assert_true(fabs(kl_fselect_variance(a, 0, 4) - 1.25) < 1e-15);
    /* Spearman: a monotone map has rho 1 (Pearson of the squares is below 1) */
    const double sq[] = {1, 4, 9, 16}, tie[] = {1, 1, 2, 3};
    assert_true(fabs(kl_fselect_spearman(a, sq, 4) - 1.0) < 1e-15);
    assert_true(kl_fselect_assoc(a, 0, sq, 0, 4) < 0.99);
    /* ranks of tie: 1.5 1.5 3 4; against 1 2 3 4: sxy 4.5, sxx 5, syy 4.5: sqrt(0.9) */
    assert_true(fabs(kl_fselect_spearman(a, tie, 4) - sqrt(0.9)) < 1e-15);
    /* Gini of {0,0,1,1,1,2}: 1 - (1/9 + 1/4 + 1/36) = 22/36 */
    const double d[] = {0, 0, 1, 1, 1, 2};
    assert_true(fabs(kl_fselect_variance(d, 1, 6) - 22.0 / 36) < 1e-15);
}

static void test_nogueira_closed_form(void **state)
{
    (void)state;
    const uint8_t same[] = {1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0};
    assert_true(fabs(kl_fselect_nogueira(same, 3, 4) - 1.0) < 1e-15);
    /* disjoint halves: every p_f = 1/2, s_f^2 = 2 * 1/4, k/p = 1/2: 1 - 0.5 / 0.25 = -1 */
    const uint8_t opp[] = {1, 1, 0, 0, 0, 0, 1, 1};
    assert_true(fabs(kl_fselect_nogueira(opp, 2, 4) + 1.0) < 1e-15);
    assert_true(isnan(kl_fselect_nogueira(same, 1, 4)));
}

static void test_method_names_round_trip(void **state)
{
    (void)state;
    for (int m = 0; m < KL_FSELECT_METHOD_COUNT; m++)
        assert_int_equal(kl_fselect_method_parse(kl_fselect_method_name((enum kl_fselect_method)m)),
                         m);
    assert_int_equal(kl_fselect_method_parse("pca"), -1);
}

/* ---- crafted frames ---- */

/*
 * n rows: a (determines y: y = 2a + b + 0.1 noise), b (weaker), noise1,
 * noise2 (independent of y), email (categorical addresses, independent),
 * sex (categorical, protected in the specs below), y and label (a + b > 0).
 */
static kl_frame *crafted(size_t n, uint64_t seed)
{
    kl_rng r;
    kl_rng_init(&r, seed);
    kl_frame *f = kl_frame_new(n);
    double *v = malloc(6 * n * sizeof *v);
    const char **em = malloc(n * sizeof *em), **sx = malloc(n * sizeof *sx),
               **lab = malloc(n * sizeof *lab);
    static const char *const addr[] = {"ann@example.com", "bob@example.org", "cy@example.net"};
    double *a = v, *b = v + n, *n1 = v + 2 * n, *n2 = v + 3 * n, *y = v + 4 * n;
    for (size_t i = 0; i < n; i++) {
        a[i] = kl_rng_normal(&r);
        b[i] = kl_rng_normal(&r);
        n1[i] = kl_rng_normal(&r);
        n2[i] = kl_rng_double(&r);
        y[i] = 2 * a[i] + b[i] + 0.1 * kl_rng_normal(&r);
        em[i] = addr[kl_rng_below(&r, 3)];
        sx[i] = kl_rng_below(&r, 2) ? "f" : "m";
        lab[i] = a[i] + 0.5 * b[i] > 0 ? "yes" : "no";
    }
    kl_err err = {0};
    assert_int_equal(kl_frame_add_numeric(f, "a", KL_TYPE_FLOAT, a, &err), 0);
    assert_int_equal(kl_frame_add_numeric(f, "b", KL_TYPE_FLOAT, b, &err), 0);
    assert_int_equal(kl_frame_add_numeric(f, "noise1", KL_TYPE_FLOAT, n1, &err), 0);
    assert_int_equal(kl_frame_add_numeric(f, "noise2", KL_TYPE_FLOAT, n2, &err), 0);
    assert_int_equal(kl_frame_add_categorical(f, "email", em, &err), 0);
    assert_int_equal(kl_frame_add_categorical(f, "sex", sx, &err), 0);
    assert_int_equal(kl_frame_add_numeric(f, "y", KL_TYPE_FLOAT, y, &err), 0);
    assert_int_equal(kl_frame_add_categorical(f, "label", lab, &err), 0);
    free(v);
    free(em);
    free(sx);
    free(lab);
    return f;
}

static kl_spec *spec_from(const char *yaml)
{
    kl_spec *s = NULL;
    kl_err err = {0};
    int rc = kl_spec_load_buffer(yaml, strlen(yaml), "keel.yaml", &s, &err);
    if (rc)
        fail_msg("spec: %s (%s)", err.msg, err.ctx);
    return s;
}

#define SPEC_REG                                                                                   \
    "version: 1\nproject: {name: t}\nobjective: {task: regression, target: y}\n"                   \
    "constraints: {protected: [sex]}\nfeatures: {exclude: [label]}\n"
#define SPEC_CLS                                                                                   \
    "version: 1\nproject: {name: t}\nobjective: {task: classification, target: label}\n"           \
    "constraints: {protected: [sex]}\nfeatures: {exclude: [y]}\n"

static void rank_ok(const kl_frame *f, const kl_fselect_opts *o, kl_fselect_result *r)
{
    kl_err err = {0};
    int rc = kl_fselect_rank(f, o, r, &err);
    if (rc)
        fail_msg("rank: %s (%s)", err.msg, err.ctx);
}

static const kl_fselect_feature *feat(const kl_fselect_result *r, const char *name)
{
    for (size_t j = 0; j < r->n_features; j++)
        if (!strcmp(r->features[j].name, name))
            return &r->features[j];
    fail_msg("no feature '%s' in the ranking", name);
    return NULL;
}

static void test_rank_mi_orders_signal_first_and_never_lists_protected(void **state)
{
    (void)state;
    kl_frame *f = crafted(300, 1);
    kl_spec *s = spec_from(SPEC_REG);
    kl_fselect_opts o = {.spec = s, .method = KL_FSELECT_METHOD_MI};
    kl_fselect_result r;
    rank_ok(f, &o, &r);
    assert_int_equal(r.n_features, 5); /* a b noise1 noise2 email: not y, label, sex */
    for (size_t j = 0; j < r.n_features; j++)
        assert_string_not_equal(r.features[j].name, "sex");
    assert_string_equal(r.features[r.order[0]].name, "a");
    assert_string_equal(r.features[r.order[1]].name, "b");
    assert_int_equal(feat(&r, "a")->rank, 1);
    /* the score is the MI filter, and the filters agree with the plain estimators */
    assert_true(feat(&r, "a")->score == feat(&r, "a")->mi);
    assert_true(feat(&r, "noise1")->mi < 0.1);
    assert_true(feat(&r, "a")->assoc > 0.8);
    /* default costs: one output per numeric column, three for the one-hot email */
    assert_true(fabs(feat(&r, "a")->cost - 1.0 / 7) < 1e-15);
    assert_true(fabs(feat(&r, "email")->cost - 3.0 / 7) < 1e-15);
    /* a determines y: in the top k of every resample */
    assert_true(feat(&r, "a")->stability == 1.0);
    assert_int_equal(r.resamples, 10);
    kl_fselect_result_release(&r);
    kl_spec_free(s);
    kl_frame_free(f);
}

static void test_protected_column_asked_for_is_refused(void **state)
{
    (void)state;
    kl_frame *f = crafted(100, 2);
    kl_spec *s = spec_from(SPEC_REG);
    const char *feats[] = {"a", "sex"};
    kl_fselect_opts o = {.spec = s, .features = feats, .n_features = 2};
    kl_fselect_result r;
    kl_err err = {0};
    assert_int_equal(kl_fselect_rank(f, &o, &r, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "protected"));
    kl_spec_free(s);
    kl_frame_free(f);
}

static void test_privacy_flag_on_pii_column(void **state)
{
    (void)state;
    kl_frame *f = crafted(200, 3);
    kl_spec *s = spec_from(SPEC_REG);
    kl_fselect_opts o = {.spec = s, .method = KL_FSELECT_METHOD_VARIANCE, .no_stability = 1};
    kl_fselect_result r;
    rank_ok(f, &o, &r);
    const kl_fselect_feature *e = feat(&r, "email");
    assert_true(e->privacy & KL_FSELECT_PRIVACY_PII_NAME);
    assert_true(e->privacy & KL_FSELECT_PRIVACY_PII_VALUE);
    assert_int_equal(feat(&r, "a")->privacy, 0);
    assert_true(isnan(feat(&r, "a")->stability));
    /* variance of a standard normal column is about 1; of noise2 (uniform) about 1/12 */
    assert_true(fabs(feat(&r, "noise2")->variance - 1.0 / 12) < 0.03);
    kl_fselect_result_release(&r);
    kl_spec_free(s);
    kl_frame_free(f);
}

static void test_permutation_importance_noise_near_zero(void **state)
{
    (void)state;
    kl_frame *f = crafted(400, 4);
    kl_spec *s = spec_from(SPEC_REG);
    const char *feats[] = {"a", "b", "noise1", "noise2"};
    kl_fselect_opts o = {.spec = s,
                         .features = feats,
                         .n_features = 4,
                         .method = KL_FSELECT_METHOD_PERMUTATION,
                         .repeats = 10,
                         .no_stability = 1};
    kl_fselect_result r;
    rank_ok(f, &o, &r);
    assert_string_equal(r.main_metric, "r2");
    /*
     * y = 2a + b + small noise, Var(y) ~ 5.01: shuffling a removes its 4 of
     * variance twice over (the prediction keeps a's spread but loses its
     * link), an R^2 drop near 2 * 4 / 5 = 1.6; noise drops near 0.
     */
    assert_true(fabs(feat(&r, "a")->score - 1.6) < 0.4);
    assert_true(fabs(feat(&r, "noise1")->score) < 0.01);
    assert_true(fabs(feat(&r, "noise2")->score) < 0.01);
    assert_true(feat(&r, "a")->score_std > 0);
    assert_int_equal(feat(&r, "a")->rank, 1);
    assert_int_equal(feat(&r, "b")->rank, 2);
    kl_fselect_result_release(&r);
    kl_spec_free(s);
    kl_frame_free(f);
}

static void test_rfe_keeps_the_informative_features(void **state)
{
    (void)state;
    kl_frame *f = crafted(300, 5);
    kl_spec *s = spec_from(SPEC_REG);
    const char *feats[] = {"noise1", "a", "noise2", "b"};
    kl_fselect_opts o = {.spec = s,
                         .features = feats,
                         .n_features = 4,
                         .method = KL_FSELECT_METHOD_RFE,
                         .no_stability = 1};
    kl_fselect_result r;
    rank_ok(f, &o, &r);
    assert_int_equal(feat(&r, "a")->rank, 1);
    assert_int_equal(feat(&r, "b")->rank, 2);
    /* one feature explains 4/5 of the variance, two nearly all, more add nothing */
    assert_true(r.rfe_mean[0] < 0.9 && r.rfe_mean[1] > 0.99);
    assert_true(r.rfe_best >= 2);
    assert_true(fabs(r.rfe_mean[r.rfe_best - 1] - r.rfe_mean[1]) < 1e-3);
    kl_fselect_result_release(&r);
    kl_spec_free(s);
    kl_frame_free(f);
}

static void test_l1_and_gain_rank_the_signal_first(void **state)
{
    (void)state;
    kl_frame *f = crafted(300, 6);
    kl_spec *s = spec_from(SPEC_CLS);
    const char *feats[] = {"noise1", "b", "a", "noise2"};
    for (int m = KL_FSELECT_METHOD_L1; m <= KL_FSELECT_METHOD_GAIN; m++) {
        kl_fselect_opts o = {.spec = s,
                             .features = feats,
                             .n_features = 4,
                             .method = (enum kl_fselect_method)m,
                             .no_stability = 1};
        kl_fselect_result r;
        rank_ok(f, &o, &r);
        assert_int_equal(feat(&r, "a")->rank, 1);
        assert_int_equal(feat(&r, "b")->rank, 2);
        if (m == KL_FSELECT_METHOD_L1) /* a enters at the first penalty below the entry one */
            assert_true(fabs(feat(&r, "a")->score - pow(10, -3.0 / 19)) < 1e-12);
        else { /* gain shares sum to 1 */
            double sum = 0;
            for (size_t j = 0; j < r.n_features; j++)
                sum += r.features[j].score;
            assert_true(fabs(sum - 1) < 1e-12);
        }
        kl_fselect_result_release(&r);
    }
    kl_spec_free(s);
    kl_frame_free(f);
}

static void test_one_and_two_threads_give_identical_results(void **state)
{
    (void)state;
    kl_frame *f = crafted(200, 7);
    kl_spec *s = spec_from(SPEC_CLS);
    kl_fselect_result r[2];
    for (int t = 0; t < 2; t++) {
        kl_threads_set(t + 1);
        kl_fselect_opts o = {.spec = s, .method = KL_FSELECT_METHOD_PERMUTATION, .repeats = 3};
        rank_ok(f, &o, &r[t]);
    }
    kl_threads_set(0);
    assert_int_equal(r[0].n_features, r[1].n_features);
    for (size_t j = 0; j < r[0].n_features; j++) {
        const kl_fselect_feature *x = &r[0].features[j], *y = &r[1].features[j];
        assert_memory_equal(&x->score, &y->score, sizeof(double));
        assert_memory_equal(&x->score_std, &y->score_std, sizeof(double));
        assert_memory_equal(&x->mi, &y->mi, sizeof(double));
        assert_memory_equal(&x->stability, &y->stability, sizeof(double));
    }
    assert_memory_equal(&r[0].nogueira, &r[1].nogueira, sizeof(double));
    kl_fselect_result_release(&r[0]);
    kl_fselect_result_release(&r[1]);
    kl_spec_free(s);
    kl_frame_free(f);
}

/*
 * Budget by hand: a costs 5, b 1, noise1 1, noise2 1. With budget 2 a cannot
 * be bought, so the set holds b (the only informative feature that fits)
 * and costs at most 2; with 10, a and b are both in.
 */
static void test_select_respects_the_budget(void **state)
{
    (void)state;
    kl_frame *f = crafted(300, 8);
    kl_spec *s =
        spec_from("version: 1\nproject: {name: t}\nobjective: {task: regression, target: y}\n"
                  "features:\n  costs: {a: 5, b: 1, noise1: 1, noise2: 1}\n");
    const char *feats[] = {"a", "b", "noise1", "noise2"};
    kl_fselect_opts o = {.spec = s,
                         .features = feats,
                         .n_features = 4,
                         .method = KL_FSELECT_METHOD_CORR,
                         .no_stability = 1};
    kl_fselect_choice c;
    kl_err err = {0};
    int rc = kl_fselect_select(f, &o, 2, &c, &err);
    if (rc)
        fail_msg("select: %s (%s)", err.msg, err.ctx);
    assert_true(c.cost <= 2);
    assert_string_equal(c.names[0], "b");
    for (size_t i = 0; i < c.n; i++)
        assert_string_not_equal(c.names[i], "a");
    /* the path's metric only goes up */
    for (size_t i = 1; i < c.n_steps; i++)
        assert_true(c.steps[i].metric > c.steps[i - 1].metric);
    kl_fselect_choice_release(&c);
    assert_int_equal(kl_fselect_select(f, &o, 10, &c, &err), 0);
    int has_a = 0, has_b = 0;
    for (size_t i = 0; i < c.n; i++) {
        has_a |= !strcmp(c.names[i], "a");
        has_b |= !strcmp(c.names[i], "b");
    }
    assert_true(has_a && has_b);
    assert_true(c.metric > 0.99 && c.cost <= 10);
    kl_fselect_choice_release(&c);
    assert_int_equal(kl_fselect_select(f, &o, -1, &c, &err), KL_ERANGE);
    assert_int_equal(kl_fselect_select(f, &o, 0.5, &c, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "no feature fits the budget"));
    kl_spec_free(s);
    kl_frame_free(f);
}

static void test_select_is_the_same_on_one_and_two_threads(void **state)
{
    (void)state;
    kl_frame *f = crafted(200, 10);
    kl_spec *s = spec_from(SPEC_CLS);
    kl_fselect_choice c[2];
    for (int t = 0; t < 2; t++) {
        kl_threads_set(t + 1);
        kl_fselect_opts o = {.spec = s, .method = KL_FSELECT_METHOD_MI};
        kl_err err = {0};
        assert_int_equal(kl_fselect_select(f, &o, 0.5, &c[t], &err), 0);
    }
    kl_threads_set(0);
    assert_int_equal(c[0].n, c[1].n);
    for (size_t i = 0; i < c[0].n; i++)
        assert_string_equal(c[0].names[i], c[1].names[i]);
    assert_memory_equal(&c[0].metric, &c[1].metric, sizeof(double));
    assert_memory_equal(&c[0].std, &c[1].std, sizeof(double));
    assert_string_equal(c[0].rank.main_metric, "roc_auc");
    assert_true(c[0].cost <= 0.5);
    kl_fselect_choice_release(&c[0]);
    kl_fselect_choice_release(&c[1]);
    kl_spec_free(s);
    kl_frame_free(f);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void test_feature_set_is_recorded_and_loaded_by_name(void **state)
{
    (void)state;
    char dir[] = "/tmp/keel-fselect-XXXXXX";
    assert_non_null(mkdtemp(dir));
    kl_frame *f = crafted(200, 9);
    kl_spec *s = spec_from(SPEC_REG);
    const char *feats[] = {"a", "b", "noise1"};
    kl_fselect_opts o = {.spec = s,
                         .features = feats,
                         .n_features = 3,
                         .method = KL_FSELECT_METHOD_CORR,
                         .no_stability = 1};
    kl_fselect_choice c;
    kl_err err = {0};
    assert_int_equal(kl_fselect_select(f, &o, 1, &c, &err), 0);
    kl_store *st = NULL;
    assert_int_equal(kl_store_open(dir, NULL, &st, &err), 0);
    char id[KL_ID_LEN];
    int rc = kl_fselect_record(st, &c, "small", id, &err);
    if (rc)
        fail_msg("record: %s (%s)", err.msg, err.ctx);
    char **names = NULL;
    size_t n = 0;
    assert_int_equal(kl_fselect_set_load(st, "small", &names, &n, &err), 0);
    assert_int_equal(n, c.n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(names[i], c.names[i]);
    free(names);
    /* by id prefix too */
    char prefix[9];
    memcpy(prefix, id, 8);
    prefix[8] = '\0';
    assert_int_equal(kl_fselect_set_load(st, prefix, &names, &n, &err), 0);
    assert_int_equal(n, c.n);
    free(names);
    assert_int_equal(kl_fselect_set_load(st, "nosuch", &names, &n, &err), KL_ENOTFOUND);
    assert_string_equal(err.msg,
                        "no feature set 'nosuch' (make one with 'keel features select --name')");
    kl_store_close(st);
    kl_fselect_choice_release(&c);
    kl_spec_free(s);
    kl_frame_free(f);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mi_regression_matches_sklearn),
        cmocka_unit_test(test_mi_regression_k5_matches_sklearn),
        cmocka_unit_test(test_mi_classification_matches_sklearn),
        cmocka_unit_test(test_mi_tree_search_matches_brute_force),
        cmocka_unit_test(test_assoc_and_variance_by_hand),
        cmocka_unit_test(test_nogueira_closed_form),
        cmocka_unit_test(test_method_names_round_trip),
        cmocka_unit_test(test_rank_mi_orders_signal_first_and_never_lists_protected),
        cmocka_unit_test(test_protected_column_asked_for_is_refused),
        cmocka_unit_test(test_privacy_flag_on_pii_column),
        cmocka_unit_test(test_permutation_importance_noise_near_zero),
        cmocka_unit_test(test_rfe_keeps_the_informative_features),
        cmocka_unit_test(test_l1_and_gain_rank_the_signal_first),
        cmocka_unit_test(test_one_and_two_threads_give_identical_results),
        cmocka_unit_test(test_select_respects_the_budget),
        cmocka_unit_test(test_select_is_the_same_on_one_and_two_threads),
        cmocka_unit_test(test_feature_set_is_recorded_and_loaded_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
