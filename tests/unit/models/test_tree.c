/*
 * CART trees against splits computed by hand (sums of squares, Gini and
 * entropy of tiny data sets worked on paper, written out below), the
 * stopping rules at their boundaries, and save/load identity.
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
#include "keel/tree.h"

#define assert_near(got, want, tol)                                                                \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        if (!(fabs(g_ - w_) <= (tol)))                                                             \
            fail_msg("%s = %.15g, want %.15g", #got, g_, w_);                                      \
    } while (0)

static const double X6[] = {1, 2, 3, 4, 5, 6}, y6[] = {1, 1, 1, 5, 5, 9};

static void fit6(const kl_tree_opts *o, kl_tree *t)
{
    kl_err err = {0};
    if (kl_tree_fit(X6, 6, 1, 6, y6, NULL, o, NULL, t, &err) != 0)
        fail_msg("fit: %s", err.msg);
}

/*
 * By hand: SSE of the children for each cut: 1.5: 0 + 44.8; 2.5: 0 + 32;
 * 3.5: 0 + 10.667; 4.5: 12 + 8; 5.5: 19.2 + 0. Best 3.5; leaves 1 and 19/3.
 * Root variance 134/6 - (22/6)^2 = 8.8889.
 */
static void test_tree_regression_stump_matches_hand_sums(void **state)
{
    (void)state;
    kl_tree t;
    kl_tree_opts o = {.max_depth = 1};
    fit6(&o, &t);
    assert_int_equal(t.n_nodes, 3);
    assert_int_equal(t.nodes[0].feature, 0);
    assert_near(t.nodes[0].threshold, 3.5, 0);
    assert_near(t.nodes[0].impurity, 134.0 / 6 - (22.0 / 6) * (22.0 / 6), 1e-12);
    assert_near(t.values[1], 1.0, 1e-15);
    assert_near(t.values[2], 19.0 / 3, 1e-12);
    assert_near(t.nodes[2].impurity, 32.0 / 9, 1e-12); /* (5,5,9): SSE 10.667 / 3 */
    kl_tree_release(&t);
    /* unlimited depth: the right side splits at 5.5 and every leaf is pure */
    o.max_depth = 0;
    fit6(&o, &t);
    double q[] = {0.5, 3.5, 3.6, 5.5, 5.6, 100}, out[6];
    kl_tree_predict(&t, q, 6, 6, out);
    const double want[] = {1, 1, 5, 5, 9, 9};
    for (size_t i = 0; i < 6; i++)
        assert_near(out[i], want[i], 1e-12);
    kl_tree_release(&t);
}

/* Decrease of the 3.5 split: 8.8889 - 10.667 / 6 = 7.1111; leaves of 4 leave nothing to split. */
static void test_tree_stopping_rules_at_their_boundaries(void **state)
{
    (void)state;
    kl_tree t;
    kl_tree_opts o = {.max_depth = 1, .min_impurity_decrease = 7.2};
    fit6(&o, &t);
    assert_int_equal(t.n_nodes, 1);
    assert_near(t.values[0], 22.0 / 6, 1e-12);
    kl_tree_release(&t);
    o.min_impurity_decrease = 7.0;
    fit6(&o, &t);
    assert_int_equal(t.n_nodes, 3);
    kl_tree_release(&t);
    o = (kl_tree_opts){.min_samples_leaf = 4};
    fit6(&o, &t);
    assert_int_equal(t.n_nodes, 1);
    kl_tree_release(&t);
    /* leaves of at least 2 leave cuts 2.5, 3.5 and 4.5: 3.5 (0 + 10.667) is still best */
    o = (kl_tree_opts){.min_samples_leaf = 2, .max_depth = 1};
    fit6(&o, &t);
    assert_near(t.nodes[0].threshold, 3.5, 0);
    kl_tree_release(&t);
    /* min_samples_split 7 > 6 rows: no split */
    o = (kl_tree_opts){.min_samples_split = 7};
    fit6(&o, &t);
    assert_int_equal(t.n_nodes, 1);
    kl_tree_release(&t);
}

/*
 * Two features, labels 0 0 1 1 0 1: feature 0 = (1 2 3 4 5 6) cut 4.5 gives
 * (0 0 1 1 | 0 1): Gini 4 * 0.5 + 2 * 0.5 = 3; feature 1 = (1 1 2 2 1 2) cut
 * 1.5 gives (0 0 0 | 1 1 1): Gini 0. Entropy agrees: 0 bits against 6.
 */
static void test_tree_gini_and_entropy_pick_the_pure_split(void **state)
{
    (void)state;
    double X[] = {1, 2, 3, 4, 5, 6, 1, 1, 2, 2, 1, 2}, y[] = {0, 0, 1, 1, 0, 1};
    for (int c = 1; c <= 2; c++) {
        kl_tree t;
        kl_err err = {0};
        kl_tree_opts o = {.criterion = (enum kl_tree_criterion)c, .n_classes = 2, .max_depth = 1};
        assert_int_equal(kl_tree_fit(X, 6, 2, 6, y, NULL, &o, NULL, &t, &err), 0);
        assert_int_equal(t.nodes[0].feature, 1);
        assert_near(t.nodes[0].threshold, 1.5, 0);
        assert_near(t.nodes[0].impurity, c == 1 ? 0.5 : 1.0, 1e-15);
        assert_near(t.values[2 * 1 + 0], 1.0, 0); /* left leaf: class 0 */
        assert_near(t.values[2 * 2 + 1], 1.0, 0); /* right leaf: class 1 */
        kl_tree_release(&t);
    }
}

/*
 * Class weights move the leaf fractions: labels (0, 1, 1) with weights
 * (2, 1, 1) give a root of 2/4 and 2/4; unweighted 1/3 and 2/3.
 */
static void test_tree_class_weights_scale_leaf_fractions(void **state)
{
    (void)state;
    double X[] = {1, 1, 1}, y[] = {0, 1, 1}, cw[] = {2, 1};
    kl_tree t;
    kl_err err = {0};
    kl_tree_opts o = {.criterion = KL_TREE_CRITERION_GINI, .n_classes = 2, .class_weight = cw};
    assert_int_equal(kl_tree_fit(X, 3, 1, 3, y, NULL, &o, NULL, &t, &err), 0);
    assert_int_equal(t.n_nodes, 1);
    assert_near(t.values[0], 0.5, 1e-15);
    assert_near(t.values[1], 0.5, 1e-15);
    kl_tree_release(&t);
}

static void test_tree_save_load_predicts_identically(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = NULL;
    assert_int_equal(kl_csv_read_file(KEEL_SOURCE_DIR "/data/iris.csv", NULL, &f, NULL, &err), 0);
    kl_model_param ps[] = {{"max_depth", "4"}, {"criterion", "entropy"}};
    kl_model_fit_opts o = {.algo = "tree",
                           .task = KL_TASK_CLASSIFICATION,
                           .target = "target",
                           .params = ps,
                           .n_params = 2};
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
    assert_memory_equal(p1.proba, p2.proba, p1.n_rows * 3 * sizeof(double));
    size_t hit = 0;
    const double *y = kl_frame_col_f64(f, (size_t)kl_frame_col_index(f, "target"));
    for (size_t i = 0; i < p1.n_rows; i++)
        hit += (double)p1.label[i] == y[i];
    assert_true(hit >= 145); /* a depth-4 tree fits iris's training rows almost perfectly */
    for (size_t cut = 0; cut < len; cut += 97) {
        kl_model *m3 = NULL;
        assert_true(kl_model_load_buffer(buf, cut, &m3, &err) < 0);
    }
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
        cmocka_unit_test(test_tree_regression_stump_matches_hand_sums),
        cmocka_unit_test(test_tree_stopping_rules_at_their_boundaries),
        cmocka_unit_test(test_tree_gini_and_entropy_pick_the_pure_split),
        cmocka_unit_test(test_tree_class_weights_scale_leaf_fractions),
        cmocka_unit_test(test_tree_save_load_predicts_identically),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
