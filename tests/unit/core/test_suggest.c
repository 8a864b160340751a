#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "keel/suggest.h"

static void test_edit_distance_matches_hand_counts(void **state)
{
    (void)state;
    assert_int_equal(kl_edit_distance("", ""), 0);
    assert_int_equal(kl_edit_distance("abc", ""), 3);
    assert_int_equal(kl_edit_distance("kitten", "sitting"), 3); /* classic: k->s, e->i, +g */
    assert_int_equal(kl_edit_distance("taget", "target"), 1);
    assert_int_equal(kl_edit_distance("tagret", "target"), 1); /* one transposition */
    assert_int_equal(kl_edit_distance("ca", "abc"), 3);        /* OSA, not full Damerau (2) */
}

static void test_suggest_picks_nearest_and_refuses_far(void **state)
{
    (void)state;
    const char *cmds[] = {"init", "spec", "data", "help", "train"};
    assert_string_equal(kl_suggest("trian", cmds, 5), "train");
    assert_string_equal(kl_suggest("dta", cmds, 5), "data");
    assert_null(kl_suggest("xyzzy", cmds, 5));
    assert_null(kl_suggest("", cmds, 5));
    const char *keys[] = {"target", "task", "description"};
    assert_string_equal(kl_suggest("taget", keys, 3), "target");
    assert_string_equal(kl_suggest("desc", keys, 3), "description"); /* prefix */
}

static void test_suggest_ties_go_to_first_candidate(void **state)
{
    (void)state;
    const char *c[] = {"cat", "bat"};
    assert_string_equal(kl_suggest("hat", c, 2), "cat");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edit_distance_matches_hand_counts),
        cmocka_unit_test(test_suggest_picks_nearest_and_refuses_far),
        cmocka_unit_test(test_suggest_ties_go_to_first_candidate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
