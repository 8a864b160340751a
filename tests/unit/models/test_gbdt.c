/*
 * Histogram GBDT against values from outside the code: the worked example
 * of the project's algorithms reference (XGBoost's gain and leaf weight),
 * finite differences of each loss, a brute-force best stump over raw values,
 * direct histogram builds, crafted data whose right answer is known
 * (predictive missingness, one special category, a monotone trend), and
 * identities (thread counts, save/load).
 */
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
#include "keel/gbdt.h"
#include "keel/model.h"
#include "keel/parallel.h"
#include "keel/rng.h"
#include "models/gbdt_internal.h"

#define assert_near(got, want, tol)                                                                \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        if (!(fabs(g_ - w_) <= (tol)))                                                             \
            fail_msg("%s = %.15g, want %.15g", #got, g_, w_);                                      \
    } while (0)

static void fit_ok(const kl_gbdt_data *tr, const kl_gbdt_data *va, const kl_gbdt_opts *o,
                   kl_gbdt *m)
{
    kl_err err = {0};
    int rc = kl_gbdt_fit(tr, va, o, m, &err);
    if (rc != 0)
        fail_msg("kl_gbdt_fit: %s", err.msg);
}

/* REFERENCE §6: y = (0,0,10,10), F = 0, lambda 1: gain 53.33, leaves 0 and 20/3, eta 0.3 -> 2.0. */
static void test_gbdt_reference_worked_example(void **state)
{
    (void)state;
    double X[] = {1, 2, 3, 4}, y[] = {0, 0, 10, 10};
    kl_gbdt_data d = {X, 4, 1, 4, y};
    kl_gbdt_opts o = {.eta = 0.3, .max_depth = 1, .n_estimators = 1, .base_score_set = 1};
    kl_gbdt m;
    fit_ok(&d, NULL, &o, &m);
    assert_int_equal(m.n_trees, 1);
    const kl_gbdt_node *nd = m.nodes;
    assert_int_equal(nd[0].feature, 0);
    assert_near(nd[0].threshold, 2.5, 0);
    assert_near(nd[0].gain, 400.0 / 3.0 - 400.0 / 5.0, 1e-12);
    assert_near(nd[0].gain, 53.333333333333, 1e-9);
    assert_near(nd[nd[0].left].value, 0.0, 0);
    assert_near(nd[nd[0].left + 1].value, 0.3 * 20.0 / 3.0, 1e-15);
    assert_near(nd[nd[0].left + 1].value, 2.0, 1e-15);
    double out[4];
    kl_gbdt_predict(&m, X, 4, 4, out);
    assert_near(out[0], 0.0, 0);
    assert_near(out[3], 2.0, 1e-15);
    kl_gbdt_release(&m);
}

static void check_fd(enum kl_gbdt_loss loss, double F, double y, int check_h)
{
    double e = 1e-5, g, h;
    kl_gbdt_loss_grad(loss, 1.5, F, y, &g, &h);
    double lp = kl_gbdt_loss_value(loss, 1.5, F + e, y), l0 = kl_gbdt_loss_value(loss, 1.5, F, y),
           lm = kl_gbdt_loss_value(loss, 1.5, F - e, y);
    assert_near(g, (lp - lm) / (2 * e), 1e-6 * fmax(1.0, fabs(g)));
    if (check_h)
        assert_near(h, (lp - 2 * l0 + lm) / (e * e), 2e-4 * fmax(1.0, fabs(h)));
}

static void test_gbdt_gradients_match_finite_differences(void **state)
{
    (void)state;
    const double Fs[] = {-2.0, -0.3, 0.4, 1.7};
    for (size_t i = 0; i < 4; i++) {
        check_fd(KL_GBDT_LOSS_SQUARED, Fs[i], 0.5, 1);
        check_fd(KL_GBDT_LOSS_HUBER, Fs[i], 0.25, 1);
        check_fd(KL_GBDT_LOSS_HUBER, Fs[i], 3.0, 1);
        check_fd(KL_GBDT_LOSS_LOGISTIC, Fs[i], 0.0, 1);
        check_fd(KL_GBDT_LOSS_LOGISTIC, Fs[i], 1.0, 1);
        check_fd(KL_GBDT_LOSS_POISSON, Fs[i], 3.0, 1);
        /* absolute error: gradient away from the kink; its hessian is 1 by design */
        check_fd(KL_GBDT_LOSS_ABSOLUTE, Fs[i], 0.05, 0);
    }
    /* softmax: g is the gradient, h twice the diagonal second derivative (XGBoost) */
    double F[3] = {0.2, -1.0, 0.7}, g[3], h[3], e = 1e-5;
    kl_gbdt_softmax_grad(F, 3, 2, g, h);
    for (size_t k = 0; k < 3; k++) {
        double Fp[3], Fm[3];
        memcpy(Fp, F, sizeof F);
        memcpy(Fm, F, sizeof F);
        Fp[k] += e;
        Fm[k] -= e;
        double lp = kl_gbdt_softmax_loss(Fp, 3, 2), lm = kl_gbdt_softmax_loss(Fm, 3, 2),
               l0 = kl_gbdt_softmax_loss(F, 3, 2);
        assert_near(g[k], (lp - lm) / (2 * e), 1e-7);
        assert_near(h[k], 2.0 * (lp - 2 * l0 + lm) / (e * e), 1e-4);
    }
}

/* A boosted model of one depth-1 tree is the best stump found by brute force over raw values. */
static void test_gbdt_one_tree_depth_one_equals_best_stump(void **state)
{
    (void)state;
    enum { N = 60, P = 3 };
    double X[N * P], y[N];
    kl_rng r;
    kl_rng_init(&r, 7);
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j < P; j++)
            X[j * N + i] = (double)kl_rng_below(&r, 40);
        y[i] = (X[N + i] > 25 ? 3.0 : 0.0) + kl_rng_normal(&r);
    }
    double lambda = 1.0;
    double Gt = 0, Ht = N;
    for (size_t i = 0; i < N; i++)
        Gt += -y[i];
    double best = -1, best_thr = 0, best_wl = 0, best_wr = 0;
    size_t best_j = 0;
    for (size_t j = 0; j < P; j++)
        for (int t = 0; t < 40; t++) {
            double thr = t + 0.5, GL = 0, HL = 0;
            for (size_t i = 0; i < N; i++)
                if (X[j * N + i] <= thr) {
                    GL += -y[i];
                    HL += 1;
                }
            if (HL < 1 || Ht - HL < 1)
                continue;
            double GR = Gt - GL, HR = Ht - HL;
            double gain =
                GL * GL / (HL + lambda) + GR * GR / (HR + lambda) - Gt * Gt / (Ht + lambda);
            if (gain > best + 1e-9) {
                best = gain;
                best_j = j;
                best_thr = thr;
                best_wl = -GL / (HL + lambda);
                best_wr = -GR / (HR + lambda);
            }
        }
    kl_gbdt_data d = {X, N, P, N, y};
    kl_gbdt_opts o = {.eta = 1.0, .max_depth = 1, .n_estimators = 1, .base_score_set = 1};
    kl_gbdt m;
    fit_ok(&d, NULL, &o, &m);
    const kl_gbdt_node *nd = m.nodes;
    assert_int_equal(nd[0].feature, (int)best_j);
    /* the model's threshold is the midpoint between neighbouring observed values */
    double lo = -INFINITY, hi = INFINITY;
    for (size_t i = 0; i < N; i++) {
        double x = X[best_j * N + i];
        if (x <= best_thr)
            lo = fmax(lo, x);
        else
            hi = fmin(hi, x);
    }
    assert_near(nd[0].threshold, (lo + hi) / 2, 1e-12);
    assert_near(nd[0].gain, best, 1e-9);
    assert_near(nd[1].value, best_wl, 1e-12);
    assert_near(nd[2].value, best_wr, 1e-12);
    kl_gbdt_release(&m);
}

/* parent - sibling equals the child built directly (integer gradients: exact). */
static void test_gbdt_histogram_subtraction_equals_direct_build(void **state)
{
    (void)state;
    enum { N = 40000, P = 4 };
    double *X = malloc(N * P * sizeof *X), *y = malloc(N * sizeof *y);
    double *gh = malloc(2 * N * sizeof *gh);
    kl_rng r;
    kl_rng_init(&r, 11);
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j < P; j++)
            X[j * N + i] = j == 3 && i % 7 == 0 ? NAN : kl_rng_double(&r);
        y[i] = 0;
        gh[2 * i] = (double)((int)kl_rng_below(&r, 21) - 10);
        gh[2 * i + 1] = (double)(1 + kl_rng_below(&r, 3));
    }
    kl_gbdt_data d = {X, N, P, N, y};
    kl__gbdt_bins b;
    kl_err err = {0};
    assert_int_equal(kl__gbdt_bins_fit(&d, 255, NULL, 0, &b, &err), 0);
    uint32_t *all = malloc(N * sizeof *all), *left = malloc(N * sizeof *left),
             *right = malloc(N * sizeof *right);
    size_t nl = 0, nr = 0;
    for (size_t i = 0; i < N; i++) {
        all[i] = (uint32_t)i;
        if (b.code[i * P + 1] <= 127)
            left[nl++] = (uint32_t)i;
        else
            right[nr++] = (uint32_t)i;
    }
    size_t cells = b.off[P];
    kl__gbdt_cell *hp = malloc(cells * sizeof *hp), *hl = malloc(cells * sizeof *hl),
                  *hr = malloc(cells * sizeof *hr);
    kl__gbdt_cell *scratch = malloc(kl_task_count(N, KL_GBDT_BLOCK_ROWS) * cells * sizeof *scratch);
    kl__gbdt_hist_build(&b, all, N, gh, hp, scratch);
    kl__gbdt_hist_build(&b, left, nl, gh, hl, scratch);
    kl__gbdt_hist_build(&b, right, nr, gh, hr, scratch);
    assert_true(nl > KL_GBDT_BLOCK_ROWS && nr > KL_GBDT_BLOCK_ROWS);
    for (size_t c = 0; c < cells; c++) {
        assert_true(hp[c].g - hl[c].g == hr[c].g);
        assert_true(hp[c].h - hl[c].h == hr[c].h);
    }
    /* and the direct build counts the missing cell of feature 3: rows i % 7 == 0 */
    double hm = 0;
    for (size_t i = 0; i < N; i += 7)
        hm += gh[2 * i + 1];
    assert_true(hp[b.off[3] + b.nb[3]].h == hm);
    free(hp);
    free(hl);
    free(hr);
    free(scratch);
    free(all);
    free(left);
    free(right);
    kl__gbdt_bins_release(&b);
    free(X);
    free(y);
    free(gh);
}

/* y is 5 exactly where feature 0 is missing: the tree sends missing to the high leaf. */
static void test_gbdt_missing_direction_is_learned(void **state)
{
    (void)state;
    enum { N = 400 };
    double X[N], y[N];
    kl_rng r;
    kl_rng_init(&r, 3);
    for (size_t i = 0; i < N; i++) {
        int miss = i % 4 == 0;
        X[i] = miss ? NAN : kl_rng_double(&r);
        y[i] = miss ? 5.0 : 0.0;
    }
    kl_gbdt_data d = {X, N, 1, N, y};
    kl_gbdt_opts o = {
        .eta = 1.0, .max_depth = 1, .n_estimators = 1, .base_score_set = 1, .lambda_set = 1};
    kl_gbdt m;
    fit_ok(&d, NULL, &o, &m);
    double q[3] = {NAN, 0.2, 0.9}, out[3];
    kl_gbdt_predict(&m, q, 3, 3, out);
    assert_near(out[0], 5.0, 1e-12);
    assert_near(out[1], 0.0, 1e-12);
    assert_near(out[2], 0.0, 1e-12);
    kl_gbdt_release(&m);
}

/* One category out of six carries the signal: a one-vs-rest split isolates it. */
static void test_gbdt_categorical_split_isolates_one_category(void **state)
{
    (void)state;
    enum { N = 600 };
    double X[N], y[N];
    for (size_t i = 0; i < N; i++) {
        X[i] = (double)(i % 6) * 10.0;
        y[i] = i % 6 == 3 ? 8.0 : 1.0;
    }
    uint8_t cat = 1;
    kl_gbdt_data d = {X, N, 1, N, y};
    kl_gbdt_opts o = {.eta = 1.0,
                      .max_depth = 1,
                      .n_estimators = 1,
                      .base_score_set = 1,
                      .lambda_set = 1,
                      .categorical = &cat};
    kl_gbdt m;
    fit_ok(&d, NULL, &o, &m);
    assert_int_equal(m.nodes[0].is_cat, 1);
    assert_near(m.nodes[0].threshold, 30.0, 0);
    double q[4] = {30.0, 0.0, 50.0, 35.0}, out[4];
    kl_gbdt_predict(&m, q, 4, 4, out);
    assert_near(out[0], 8.0, 1e-12);
    assert_near(out[1], 1.0, 1e-12);
    assert_near(out[2], 1.0, 1e-12);
    assert_near(out[3], 1.0, 1e-12); /* unseen category goes with the rest */
    kl_gbdt_release(&m);
}

static void make_noisy(size_t n, size_t p, uint64_t seed, double *X, double *y, int binary)
{
    kl_rng r;
    kl_rng_init(&r, seed);
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < p; j++) {
            double x = kl_rng_normal(&r);
            X[j * n + i] = (j == 2 && i % 11 == 0) ? NAN : x;
            s += (j % 2 ? 1.0 : -0.5) * x * (j < 3 ? 1.0 : 0.2);
        }
        double noise = kl_rng_normal(&r);
        y[i] = binary ? (s + 1.5 * noise > 0 ? 1.0 : 0.0) : s + noise;
    }
}

/* Valid metric turns up with an aggressive learner: the model keeps the best round. */
static void test_gbdt_early_stopping_keeps_best_iteration(void **state)
{
    (void)state;
    enum { N = 300, P = 5 };
    double X[N * P], y[N], Xv[N * P], yv[N];
    make_noisy(N, P, 1, X, y, 1);
    make_noisy(N, P, 2, Xv, yv, 1);
    kl_gbdt_data tr = {X, N, P, N, y}, va = {Xv, N, P, N, yv};
    kl_gbdt_opts o = {.loss = KL_GBDT_LOSS_LOGISTIC,
                      .eta = 0.5,
                      .max_depth = 6,
                      .n_estimators = 200,
                      .early_stopping_rounds = 5};
    kl_gbdt m;
    fit_ok(&tr, &va, &o, &m);
    assert_true(m.n_rounds_run < 200);
    size_t arg = 0;
    for (size_t r = 1; r < m.n_rounds_run; r++)
        if (m.valid_metric[r] < m.valid_metric[arg])
            arg = r;
    assert_int_equal(m.best_iteration, arg);
    assert_int_equal(m.n_rounds_run, arg + 6);
    assert_int_equal(m.n_trees, arg + 1);
    /* predictions of the kept trees reproduce the best validation logloss */
    double p[N], ll = 0;
    kl_gbdt_predict(&m, Xv, N, N, p);
    for (size_t i = 0; i < N; i++) {
        double q = fmin(fmax(p[i], 1e-16), 1 - 1e-16);
        ll -= yv[i] * log(q) + (1 - yv[i]) * log(1 - q);
    }
    assert_near(ll / N, m.valid_metric[arg], 1e-9);
    kl_gbdt_release(&m);
}

static void fit_threads(int threads, const kl_gbdt_data *tr, const kl_gbdt_opts *o, kl_gbdt *m)
{
    kl_threads_set(threads);
    fit_ok(tr, NULL, o, m);
    kl_threads_set(0);
}

/* Same bits for 1, 2 and 4 threads, with row and column subsampling, softmax and lossguide. */
static void test_gbdt_predictions_identical_across_thread_counts(void **state)
{
    (void)state;
    enum { N = 70000, P = 6 };
    double *X = malloc(N * P * sizeof *X), *y = malloc(N * sizeof *y);
    make_noisy(N, P, 5, X, y, 0);
    for (size_t i = 0; i < N; i++)
        y[i] = y[i] < -0.5 ? 0 : y[i] < 0.5 ? 1 : 2;
    kl_gbdt_data tr = {X, N, P, N, y};
    kl_gbdt_opts o = {.loss = KL_GBDT_LOSS_SOFTMAX,
                      .n_classes = 3,
                      .eta = 0.3,
                      .n_estimators = 4,
                      .subsample = 0.8,
                      .colsample_bytree = 0.7,
                      .seed = 99,
                      .grow_policy = KL_GBDT_GROW_LOSSGUIDE,
                      .max_leaves = 20};
    kl_gbdt m1, m2, m4;
    fit_threads(1, &tr, &o, &m1);
    fit_threads(2, &tr, &o, &m2);
    fit_threads(4, &tr, &o, &m4);
    assert_int_equal(m1.tree_start[m1.n_trees], m2.tree_start[m2.n_trees]);
    assert_int_equal(m1.tree_start[m1.n_trees], m4.tree_start[m4.n_trees]);
    size_t nn = m1.tree_start[m1.n_trees];
    assert_memory_equal(m1.nodes, m2.nodes, nn * sizeof *m1.nodes);
    assert_memory_equal(m1.nodes, m4.nodes, nn * sizeof *m1.nodes);
    assert_memory_equal(m1.train_metric, m4.train_metric, m1.n_rounds_run * sizeof(double));
    for (size_t t = 0; t < m1.n_trees; t++) {
        size_t leaves = 0;
        for (size_t q = m1.tree_start[t]; q < m1.tree_start[t + 1]; q++)
            leaves += m1.nodes[q].left < 0;
        assert_true(leaves <= 20);
    }
    double *p1 = malloc(N * 3 * sizeof *p1), *p4 = malloc(N * 3 * sizeof *p4);
    kl_gbdt_predict(&m1, X, N, N, p1);
    kl_gbdt_predict(&m4, X, N, N, p4);
    assert_memory_equal(p1, p4, N * 3 * sizeof *p1);
    free(p1);
    free(p4);
    kl_gbdt_release(&m1);
    kl_gbdt_release(&m2);
    kl_gbdt_release(&m4);
    free(X);
    free(y);
}

static void test_gbdt_save_load_predicts_identically(void **state)
{
    (void)state;
    enum { N = 500, P = 4 };
    double X[N * P], y[N];
    make_noisy(N, P, 8, X, y, 0);
    kl_gbdt_data tr = {X, N, P, N, y};
    kl_gbdt_opts o = {.loss = KL_GBDT_LOSS_HUBER, .n_estimators = 10};
    kl_gbdt m, m2;
    fit_ok(&tr, &tr, &o, &m);
    kl_wbuf w;
    kl_wbuf_init(&w);
    kl_gbdt_save(&m, &w);
    assert_true(w.ok);
    kl_rbuf r;
    kl_rbuf_init(&r, w.data, w.len);
    kl_err err = {0};
    assert_int_equal(kl_gbdt_load(&r, &m2, &err), 0);
    assert_true(kl_rbuf_done(&r));
    double a[N], b[N];
    kl_gbdt_predict(&m, X, N, N, a);
    kl_gbdt_predict(&m2, X, N, N, b);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_equal(m.valid_metric, m2.valid_metric, m.n_rounds_run * sizeof(double));
    /* every truncation is refused, never read past the end */
    for (size_t cut = 0; cut < w.len; cut += 7) {
        kl_gbdt m3;
        kl_rbuf_init(&r, w.data, cut);
        assert_int_equal(kl_gbdt_load(&r, &m3, &err), KL_ECORRUPT);
    }
    kl_wbuf_release(&w);
    kl_gbdt_release(&m);
    kl_gbdt_release(&m2);
}

/* A +1 constraint makes predictions non-decreasing in that feature even against noise. */
static void test_gbdt_monotone_constraint_orders_predictions(void **state)
{
    (void)state;
    enum { N = 2000 };
    double X[2 * N], y[N];
    kl_rng r;
    kl_rng_init(&r, 21);
    for (size_t i = 0; i < N; i++) {
        X[i] = kl_rng_double(&r);
        X[N + i] = kl_rng_double(&r);
        y[i] = X[i] + sin(12 * X[i]) * 0.6 + X[N + i] + 0.3 * kl_rng_normal(&r);
    }
    int8_t mono[2] = {1, 0};
    kl_gbdt_data tr = {X, N, 2, N, y};
    kl_gbdt_opts o = {.n_estimators = 30, .max_depth = 4, .monotone = mono};
    kl_gbdt m;
    fit_ok(&tr, NULL, &o, &m);
    double q[2 * 101], out[101];
    for (int z = 0; z < 2; z++) {
        for (size_t i = 0; i < 101; i++) {
            q[i] = (double)i / 100.0;
            q[101 + i] = z ? 0.8 : 0.2;
        }
        kl_gbdt_predict(&m, q, 101, 101, out);
        for (size_t i = 1; i < 101; i++)
            assert_true(out[i] >= out[i - 1]);
        assert_true(out[100] > out[0]);
    }
    kl_gbdt_release(&m);
}

static void test_gbdt_rejects_bad_labels_and_options(void **state)
{
    (void)state;
    double X[] = {1, 2, 3}, y[] = {0, 2, 1};
    kl_gbdt_data d = {X, 3, 1, 3, y};
    kl_gbdt m;
    kl_err err = {0};
    kl_gbdt_opts o = {.loss = KL_GBDT_LOSS_LOGISTIC};
    assert_int_equal(kl_gbdt_fit(&d, NULL, &o, &m, &err), KL_EINVAL);
    o = (kl_gbdt_opts){.max_bin = 300};
    assert_int_equal(kl_gbdt_fit(&d, NULL, &o, &m, &err), KL_EINVAL);
    o = (kl_gbdt_opts){.early_stopping_rounds = 3};
    assert_int_equal(kl_gbdt_fit(&d, NULL, &o, &m, &err), KL_EINVAL);
}

/* Through the model file: iris (3 classes, softmax) and breast cancer (logistic, early stopping).
 */
static void model_roundtrip(const char *csv, const char *target, const kl_model_param *params,
                            size_t n_params, double min_accuracy)
{
    kl_err err = {0};
    kl_frame *f = NULL;
    assert_int_equal(kl_csv_read_file(csv, NULL, &f, NULL, &err), 0);
    kl_model_fit_opts o = {.algo = "gbdt",
                           .task = KL_TASK_CLASSIFICATION,
                           .target = target,
                           .params = params,
                           .n_params = n_params,
                           .seed = 5};
    kl_model *m = NULL, *m2 = NULL;
    if (kl_model_fit(f, &o, &m, &err) != 0)
        fail_msg("fit: %s (%s)", err.msg, err.ctx);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(kl_model_save_buffer(m, &buf, &len, &err), 0);
    assert_int_equal(kl_model_load_buffer(buf, len, &m2, &err), 0);
    kl_model_pred p1, p2;
    assert_int_equal(kl_model_predict(m, f, &p1, &err), 0);
    assert_int_equal(kl_model_predict(m2, f, &p2, &err), 0);
    assert_memory_equal(p1.proba, p2.proba, p1.n_rows * p1.n_classes * sizeof(double));
    /* training accuracy against the labels in the file */
    size_t hit = 0;
    long t = kl_frame_col_index(f, target);
    assert_true(t >= 0);
    const double *y = kl_frame_col_f64(f, (size_t)t);
    for (size_t i = 0; i < p1.n_rows; i++)
        hit += (double)p1.label[i] == y[i];
    assert_true((double)hit / (double)p1.n_rows >= min_accuracy);
    for (size_t i = 0; i < p1.n_rows; i++) {
        double s = 0;
        for (size_t k = 0; k < p1.n_classes; k++)
            s += p1.proba[i * p1.n_classes + k];
        assert_near(s, 1.0, 1e-12);
    }
    kl_model_pred_release(&p1);
    kl_model_pred_release(&p2);
    free(buf);
    kl_model_free(m);
    kl_model_free(m2);
    kl_frame_free(f);
}

static void test_gbdt_model_file_roundtrip_on_real_data(void **state)
{
    (void)state;
    kl_model_param iris[] = {{"n_estimators", "20"}, {"max_depth", "3"}};
    model_roundtrip(KEEL_SOURCE_DIR "/data/iris.csv", "target", iris, 2, 0.97);
    kl_model_param bc[] = {{"n_estimators", "300"},
                           {"eta", "0.1"},
                           {"early_stopping_rounds", "10"},
                           {"validation_fraction", "0.2"}};
    model_roundtrip(KEEL_SOURCE_DIR "/data/breast_cancer.csv", "target", bc, 4, 0.97);
}

/*
 * XGBoost 1.7.4 hist on 300 rows of features with 40 distinct values (so its
 * cuts and keel's midpoints part the same rows), 10 rounds, depth 3, eta 0.3,
 * base_score 0.5 (tests/fixtures/gbdt/make_fixture.py). XGBoost keeps leaf
 * values and predictions in float32: agreement to 2e-5.
 */
static void test_gbdt_matches_xgboost_fixture(void **state)
{
    (void)state;
    enum { N = 300 };
    static double X[3 * N], yr[N], yc[N], pr[N], pc[N];
    FILE *fp = fopen(KEEL_SOURCE_DIR "/tests/fixtures/gbdt/xgb_small.csv", "r");
    assert_non_null(fp);
    char line[512];
    assert_non_null(fgets(line, sizeof line, fp)); /* versions */
    assert_non_null(fgets(line, sizeof line, fp)); /* header */
    for (size_t i = 0; i < N; i++) {
        assert_non_null(fgets(line, sizeof line, fp));
        assert_int_equal(sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf,%lf", &X[i], &X[N + i],
                                &X[2 * N + i], &yr[i], &yc[i], &pr[i], &pc[i]),
                         7);
    }
    fclose(fp);
    for (int cls = 0; cls < 2; cls++) {
        kl_gbdt_data d = {X, N, 3, N, cls ? yc : yr};
        kl_gbdt_opts o = {.loss = cls ? KL_GBDT_LOSS_LOGISTIC : KL_GBDT_LOSS_SQUARED,
                          .eta = 0.3,
                          .max_depth = 3,
                          .n_estimators = 10,
                          .base_score = 0.5,
                          .base_score_set = 1};
        kl_gbdt m;
        fit_ok(&d, NULL, &o, &m);
        static double out[N];
        kl_gbdt_predict(&m, X, N, N, out);
        double worst = 0;
        for (size_t i = 0; i < N; i++)
            worst = fmax(worst, fabs(out[i] - (cls ? pc[i] : pr[i])) / fmax(1.0, fabs(out[i])));
        if (!(worst < 2e-5))
            fail_msg("%s: worst difference from XGBoost %.3g", cls ? "logistic" : "squared", worst);
        kl_gbdt_release(&m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gbdt_reference_worked_example),
        cmocka_unit_test(test_gbdt_gradients_match_finite_differences),
        cmocka_unit_test(test_gbdt_one_tree_depth_one_equals_best_stump),
        cmocka_unit_test(test_gbdt_histogram_subtraction_equals_direct_build),
        cmocka_unit_test(test_gbdt_missing_direction_is_learned),
        cmocka_unit_test(test_gbdt_categorical_split_isolates_one_category),
        cmocka_unit_test(test_gbdt_early_stopping_keeps_best_iteration),
        cmocka_unit_test(test_gbdt_predictions_identical_across_thread_counts),
        cmocka_unit_test(test_gbdt_save_load_predicts_identically),
        cmocka_unit_test(test_gbdt_monotone_constraint_orders_predictions),
        cmocka_unit_test(test_gbdt_rejects_bad_labels_and_options),
        cmocka_unit_test(test_gbdt_model_file_roundtrip_on_real_data),
        cmocka_unit_test(test_gbdt_matches_xgboost_fixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
