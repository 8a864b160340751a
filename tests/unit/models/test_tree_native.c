/*
 * CART with missing values and categorical features: the splits a depth-1
 * tree must make on crafted data (worked out by hand: each has children of
 * zero impurity, which no other split reaches), the learned side of missing
 * values, one-vs-rest categorical splits that an ordinal split cannot match,
 * the payload round trip of both flags, and trees and forests through the
 * native pipeline on real data with missing categories.
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

#include "keel/model.h"
#include "keel/tree.h"

#include "unit/models/fixture.h"

static void fit1(const double *X, size_t n, const double *y, const uint8_t *cat, kl_tree *t)
{
    kl_tree_opts o = {.max_depth = 1, .categorical = cat};
    kl_err err = {0};
    assert_int_equal(kl_tree_fit(X, n, 1, n, y, NULL, &o, NULL, t, &err), 0);
}

static void test_tree_missing_values_split_from_the_present_ones(void **state)
{
    (void)state;
    double X[] = {1, 1, NAN, NAN, 2, 2}, y[] = {0, 0, 10, 10, 0, 0};
    kl_tree t;
    fit1(X, 6, y, NULL, &t);
    assert_int_equal(t.n_nodes, 3);
    assert_true(isinf(t.nodes[0].threshold)); /* every present value left, missing right */
    assert_int_equal(t.nodes[0].missing_left, 0);
    double q[] = {NAN, 1.5, 7}, out[3];
    kl_tree_predict(&t, q, 3, 3, out);
    assert_true(out[0] == 10 && out[1] == 0 && out[2] == 0);
    kl_tree_release(&t);
}

static void test_tree_missing_values_learn_the_left_side(void **state)
{
    (void)state;
    /* missing rows share the low values' target: x <= 2.5 with missing left is pure */
    double X[] = {1, 2, NAN, 3, 4, NAN}, y[] = {1, 1, 1, 9, 9, 1};
    kl_tree t;
    fit1(X, 6, y, NULL, &t);
    assert_true(t.nodes[0].threshold == 2.5);
    assert_int_equal(t.nodes[0].missing_left, 1);
    double q[] = {NAN, 2, 3}, out[3];
    kl_tree_predict(&t, q, 3, 3, out);
    assert_true(out[0] == 1 && out[1] == 1 && out[2] == 9);
    /* the flag survives the payload */
    kl_wbuf w;
    kl_wbuf_init(&w);
    kl_tree_save(&t, &w);
    kl_rbuf r;
    kl_rbuf_init(&r, w.data, w.len);
    kl_tree u;
    kl_err err = {0};
    assert_int_equal(kl_tree_load(&r, &u, &err), 0);
    assert_int_equal(u.nodes[0].missing_left, 1);
    kl_tree_predict(&u, q, 3, 3, out);
    assert_true(out[0] == 1 && out[1] == 1 && out[2] == 9);
    kl_tree_release(&u);
    kl_wbuf_release(&w);
    kl_tree_release(&t);
}

static void test_tree_category_splits_one_against_the_rest(void **state)
{
    (void)state;
    /* code 1 is the odd one out: no threshold on the codes isolates it in one split */
    double X[] = {0, 1, 2, 1, 0, 2, 1}, y[] = {0, 5, 0, 5, 0, 0, 5};
    uint8_t cat[] = {1};
    kl_tree t, o;
    fit1(X, 7, y, cat, &t);
    assert_int_equal(t.nodes[0].is_cat, 1);
    assert_true(t.nodes[0].threshold == 1);
    assert_true(t.nodes[1].impurity == 0 && t.nodes[2].impurity == 0);
    double q[] = {0, 1, 2, NAN}, out[4];
    kl_tree_predict(&t, q, 4, 4, out);
    assert_true(out[0] == 0 && out[1] == 5 && out[2] == 0 && out[3] == 0);
    /* as ordinal numbers the best depth-1 split leaves impurity behind */
    fit1(X, 7, y, NULL, &o);
    assert_int_equal(o.nodes[0].is_cat, 0);
    assert_true(o.nodes[1].impurity > 0 || o.nodes[2].impurity > 0);
    kl_tree_release(&o);
    kl_tree_release(&t);
}

static void test_forest_through_the_native_pipeline_on_adult(void **state)
{
    (void)state;
    kl_frame *f = fx_csv("data/adult_2000.csv");
    const char *algos[] = {"tree", "forest"};
    for (size_t a = 0; a < 2; a++) {
        kl_model_param p[] = {{"max_depth", "6"}};
        kl_model_fit_opts o = {.algo = algos[a],
                               .task = KL_TASK_CLASSIFICATION,
                               .target = "income",
                               .params = p,
                               .n_params = 1,
                               .seed = 3};
        kl_model *m = NULL;
        kl_err err = {0};
        int frc = kl_model_fit(f, &o, &m, &err);
        if (frc != 0)
            fprintf(stderr, "%s: %s (%s)\n", algos[a], err.msg, err.ctx);
        assert_int_equal(frc, 0);
        const kl_pipeline *pl = kl_model_pipeline(m);
        assert_int_equal(kl_pipeline_n_outputs(pl), 14); /* one output per feature column */
        kl_model_pred pr;
        assert_int_equal(kl_model_predict(m, f, &pr, &err), 0);
        size_t right = 0;
        for (size_t i = 0; i < pr.n_rows; i++)
            right += (size_t)(pr.label[i] ==
                              (strcmp(kl_frame_col_dict(f, 14, NULL)[kl_frame_col_codes(f, 14)[i]],
                                      ">50K") == 0));
        assert_true(right > pr.n_rows * 8 / 10); /* above the 76 % majority class */
        uint8_t *buf;
        size_t len;
        kl_model *r = NULL;
        assert_int_equal(kl_model_save_buffer(m, &buf, &len, &err), 0);
        assert_int_equal(kl_model_load_buffer(buf, len, &r, &err), 0);
        kl_model_pred p2;
        assert_int_equal(kl_model_predict(r, f, &p2, &err), 0);
        assert_memory_equal(pr.proba, p2.proba, pr.n_rows * 2 * sizeof(double));
        kl_model_pred_release(&p2);
        kl_model_pred_release(&pr);
        kl_model_free(r);
        kl_model_free(m);
        free(buf);
    }
    kl_frame_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_missing_values_split_from_the_present_ones),
        cmocka_unit_test(test_tree_missing_values_learn_the_left_side),
        cmocka_unit_test(test_tree_category_splits_one_against_the_rest),
        cmocka_unit_test(test_forest_through_the_native_pipeline_on_adult),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
