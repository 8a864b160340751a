/*
 * Random forests: identities (a one-tree forest without bootstrap or
 * feature sampling is the CART tree; the same forest for 1, 2 and 4
 * threads), the out-of-bag score against a direct recomputation, and the
 * model file round trip on real data.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keel/csv.h"
#include "keel/model.h"
#include "keel/parallel.h"
#include "keel/rng.h"
#include "keel/tree.h"

enum { N = 400, P = 5 };

static void make_data(double *X, double *y)
{
    kl_rng r;
    kl_rng_init(&r, 17);
    for (size_t i = 0; i < N; i++) {
        double s = 0;
        for (size_t j = 0; j < P; j++) {
            X[j * N + i] = kl_rng_normal(&r);
            s += (j < 2 ? 1.0 : 0.1) * X[j * N + i];
        }
        y[i] = s + 0.5 * kl_rng_normal(&r) > 0 ? 1 : 0;
    }
}

static void test_forest_one_tree_without_sampling_is_the_cart_tree(void **state)
{
    (void)state;
    static double X[N * P], y[N];
    make_data(X, y);
    kl_err err = {0};
    kl_forest f;
    kl_forest_opts fo = {
        .tree = {.criterion = KL_TREE_CRITERION_GINI, .n_classes = 2, .max_features = P},
        .n_estimators = 1,
        .no_bootstrap = 1};
    assert_int_equal(kl_forest_fit(X, N, P, N, y, &fo, &f, &err), 0);
    kl_tree t;
    kl_tree_opts to = {.criterion = KL_TREE_CRITERION_GINI, .n_classes = 2};
    assert_int_equal(kl_tree_fit(X, N, P, N, y, NULL, &to, NULL, &t, &err), 0);
    assert_int_equal(f.trees[0].n_nodes, t.n_nodes);
    assert_memory_equal(f.trees[0].nodes, t.nodes, t.n_nodes * sizeof *t.nodes);
    static double a[N * 2], b[N * 2];
    kl_forest_predict(&f, X, N, N, a);
    kl_tree_predict(&t, X, N, N, b);
    assert_memory_equal(a, b, sizeof a);
    kl_forest_release(&f);
    kl_tree_release(&t);
}

static void fit_threads(int th, const double *X, const double *y, kl_forest *f)
{
    kl_err err = {0};
    kl_forest_opts fo = {.tree = {.criterion = KL_TREE_CRITERION_GINI, .n_classes = 2},
                         .n_estimators = 12,
                         .oob_score = 1,
                         .seed = 4};
    kl_threads_set(th);
    assert_int_equal(kl_forest_fit(X, N, P, N, y, &fo, f, &err), 0);
    kl_threads_set(0);
}

static void test_forest_same_for_any_thread_count_and_oob_recomputes(void **state)
{
    (void)state;
    static double X[N * P], y[N];
    make_data(X, y);
    kl_forest f1, f2, f4;
    fit_threads(1, X, y, &f1);
    fit_threads(2, X, y, &f2);
    fit_threads(4, X, y, &f4);
    for (size_t t = 0; t < 12; t++) {
        assert_int_equal(f1.trees[t].n_nodes, f4.trees[t].n_nodes);
        assert_memory_equal(f1.trees[t].nodes, f2.trees[t].nodes,
                            f1.trees[t].n_nodes * sizeof(kl_tree_node));
        assert_memory_equal(f1.trees[t].nodes, f4.trees[t].nodes,
                            f1.trees[t].n_nodes * sizeof(kl_tree_node));
    }
    assert_true(f1.oob_score == f4.oob_score);
    /* OOB by hand: a row is out of bag for tree t when stream t's n draws miss it */
    static double sum[N * 2], cnt[N];
    memset(sum, 0, sizeof sum);
    memset(cnt, 0, sizeof cnt);
    for (size_t t = 0; t < 12; t++) {
        kl_rng g;
        kl_rng_stream(&g, 4, t);
        static unsigned char drawn[N];
        memset(drawn, 0, sizeof drawn);
        for (size_t i = 0; i < N; i++)
            drawn[kl_rng_below(&g, N)] = 1;
        for (size_t i = 0; i < N; i++)
            if (!drawn[i]) {
                double pr[2];
                kl_tree_predict(&f1.trees[t], X + i, 1, N, pr);
                sum[2 * i] += pr[0];
                sum[2 * i + 1] += pr[1];
                cnt[i] += 1;
            }
    }
    double hit = 0, m = 0;
    for (size_t i = 0; i < N; i++)
        if (cnt[i] > 0) {
            m += 1;
            hit += (sum[2 * i + 1] > sum[2 * i] ? 1.0 : 0.0) == y[i];
        }
    assert_true(fabs(f1.oob_score - hit / m) < 1e-15);
    assert_true(f1.oob_score > 0.75);
    kl_forest_release(&f1);
    kl_forest_release(&f2);
    kl_forest_release(&f4);
}

static void test_forest_model_file_roundtrip_on_real_data(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = NULL;
    assert_int_equal(
        kl_csv_read_file(KEEL_SOURCE_DIR "/data/breast_cancer.csv", NULL, &f, NULL, &err), 0);
    kl_model_param ps[] = {{"n_estimators", "15"}, {"oob_score", "true"}};
    kl_model_fit_opts o = {.algo = "forest",
                           .task = KL_TASK_CLASSIFICATION,
                           .target = "target",
                           .params = ps,
                           .n_params = 2,
                           .seed = 1};
    kl_model *m = NULL, *m2 = NULL;
    if (kl_model_fit(f, &o, &m, &err) != 0)
        fail_msg("fit: %s", err.msg);
    uint8_t *buf = NULL;
    size_t len = 0;
    assert_int_equal(kl_model_save_buffer(m, &buf, &len, &err), 0);
    assert_int_equal(kl_model_load_buffer(buf, len, &m2, &err), 0);
    kl_model_pred p1, p2;
    assert_int_equal(kl_model_predict(m, f, &p1, &err), 0);
    assert_int_equal(kl_model_predict(m2, f, &p2, &err), 0);
    assert_memory_equal(p1.proba, p2.proba, p1.n_rows * 2 * sizeof(double));
    kl_model_pred_release(&p1);
    kl_model_pred_release(&p2);
    free(buf);
    kl_model_free(m);
    kl_model_free(m2);
    kl_frame_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forest_one_tree_without_sampling_is_the_cart_tree),
        cmocka_unit_test(test_forest_same_for_any_thread_count_and_oob_recomputes),
        cmocka_unit_test(test_forest_model_file_roundtrip_on_real_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
