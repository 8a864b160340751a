/*
 * Representation: group counts, shares and Wilson half-widths. The
 * half-widths are the formula z * sqrt(p(1-p)/n + z^2/(4n^2)) / (1 + z^2/n)
 * with z = 1.959964 evaluated by hand (Python float arithmetic) at p = 0.5.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "keel/constraints.h"
#include "keel/csv.h"
#include "keel/frame.h"

static void near(double got, double want)
{
    if (fabs(got - want) > 1e-12)
        fail_msg("got %.17g, want %.17g", got, want);
}

static void test_wilson_half_width_by_hand(void **state)
{
    (void)state;
    near(kl_wilson_half_width(0.5, 100), 0.09616847036450703);
    near(kl_wilson_half_width(0.5, 6), 0.31238369501959184);
    near(kl_wilson_half_width(0.5, 1), 0.4453792451967753);
    near(kl_wilson_half_width(0.5, 0), 1.0);
    /* p = 0 and p = 1 still have a width: z^2/(2n) / (1 + z^2/n) at n = 100 */
    double z2 = 1.959964 * 1.959964;
    near(kl_wilson_half_width(0.0, 100), (z2 / 200) / (1 + z2 / 100));
}

static void test_represent_counts_shares_and_small_groups(void **state)
{
    (void)state;
    /* sex: M x6, F x3, missing x1; race: W W B W B W W B W W */
    const char *sex[] = {"M", "M", "F", "M", "F", "M", "M", "F", "M", NULL};
    const char *race[] = {"W", "W", "B", "W", "B", "W", "W", "B", "W", "W"};
    kl_frame *f = kl_frame_new(10);
    kl_err err = {0};
    assert_int_equal(kl_frame_add_categorical(f, "sex", sex, &err), 0);
    assert_int_equal(kl_frame_add_categorical(f, "race", race, &err), 0);
    kl_represent_report r;
    const char *cols[] = {"sex", "race"};
    assert_int_equal(kl_represent(f, cols, 2, 0.2, 0.5, &r, &err), 0);
    assert_int_equal(r.n_tables, 3);
    const kl_group_table *t = &r.tables[0];
    assert_string_equal(t->columns[0], "sex");
    assert_null(t->columns[1]);
    assert_int_equal(t->n_groups, 3);
    assert_string_equal(t->groups[0].values[0], "M");
    assert_int_equal(t->groups[0].count, 6);
    near(t->groups[0].share, 0.6);
    near(t->groups[0].half_width, 0.31238369501959184);
    assert_int_equal(t->groups[1].count, 3);
    near(t->groups[1].half_width, 0.37466552938565073);
    assert_false(t->groups[1].small);    /* 0.3 >= 0.2 */
    assert_null(t->groups[2].values[0]); /* missing, last */
    assert_int_equal(t->groups[2].count, 1);
    assert_true(t->groups[2].small);
    assert_int_equal(t->n_small, 1);

    /* sex x race: M&W 6, F&B 3, missing&W 1; M&B and F&W are empty and left out */
    t = &r.tables[2];
    assert_string_equal(t->columns[0], "sex");
    assert_string_equal(t->columns[1], "race");
    assert_int_equal(t->n_groups, 3);
    assert_string_equal(t->groups[0].values[0], "M");
    assert_string_equal(t->groups[0].values[1], "W");
    assert_int_equal(t->groups[0].count, 6);
    assert_string_equal(t->groups[1].values[0], "F");
    assert_string_equal(t->groups[1].values[1], "B");
    assert_int_equal(t->groups[1].count, 3);
    assert_null(t->groups[2].values[0]);
    assert_int_equal(t->groups[2].count, 1);
    kl_represent_report_release(&r);
    kl_frame_free(f);
}

static void test_represent_skips_numeric_and_reports_unknown_column(void **state)
{
    (void)state;
    const double age[] = {30, 40};
    kl_frame *f = kl_frame_new(2);
    kl_err err = {0};
    assert_int_equal(kl_frame_add_numeric(f, "age", KL_TYPE_INT, age, &err), 0);
    kl_represent_report r;
    const char *cols[] = {"age"};
    assert_int_equal(kl_represent(f, cols, 1, 0.05, 0.5, &r, &err), 0);
    assert_int_equal(r.n_tables, 0);
    assert_int_equal(r.n_skipped, 1);
    assert_string_equal(r.skipped[0], "column 'age' is numeric: no groups");
    kl_represent_report_release(&r);
    const char *bad[] = {"sex"};
    assert_int_equal(kl_represent(f, bad, 1, 0.05, 0.5, &r, &err), KL_ENOTFOUND);
    assert_string_equal(err.msg, "column 'sex' is not in the data");
    kl_frame_free(f);
}

static void test_represent_adult_sex_counts(void **state)
{
    (void)state;
    /* Counted with Python's collections.Counter: Male 1372, Female 628;
     * race: White 1695, Black 221, Asian-Pac-Islander 59, Amer-Indian-Eskimo 16, Other 9. */
    char path[1024];
    snprintf(path, sizeof path, "%s/data/adult_2000.csv", KEEL_SOURCE_DIR);
    kl_frame *f = NULL;
    kl_err err = {0};
    kl_csv_read_opts o = {0};
    assert_int_equal(kl_csv_read_file(path, &o, &f, NULL, &err), 0);
    kl_represent_report r;
    const char *cols[] = {"sex", "race"};
    assert_int_equal(kl_represent(f, cols, 2, 0.05, 0.5, &r, &err), 0);
    size_t total = 0;
    for (size_t g = 0; g < r.tables[0].n_groups; g++) {
        const kl_group *gr = &r.tables[0].groups[g];
        if (!strcmp(gr->values[0], "Male"))
            assert_int_equal(gr->count, 1372);
        else
            assert_int_equal(gr->count, 628);
    }
    for (size_t g = 0; g < r.tables[1].n_groups; g++) {
        const kl_group *gr = &r.tables[1].groups[g];
        total += gr->count;
        if (!strcmp(gr->values[0], "Other")) {
            assert_int_equal(gr->count, 9);
            assert_true(gr->small);
            near(gr->half_width, 1.959964 * sqrt(0.25 / 9 + 1.959964 * 1.959964 / (4.0 * 81)) /
                                     (1 + 1.959964 * 1.959964 / 9));
        }
    }
    assert_int_equal(total, 2000);
    assert_int_equal(r.tables[1].n_small, 3); /* 59, 16, 9 of 2000: below 100 */
    kl_represent_report_release(&r);
    kl_frame_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wilson_half_width_by_hand),
        cmocka_unit_test(test_represent_counts_shares_and_small_groups),
        cmocka_unit_test(test_represent_skips_numeric_and_reports_unknown_column),
        cmocka_unit_test(test_represent_adult_sex_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
