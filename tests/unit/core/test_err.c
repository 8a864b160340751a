/*
 * kl_err: filling, truncation, formatting, and the stable code table. This
 * file includes the umbrella header, so it also checks that keel.h compiles.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "keel/keel.h"

static void test_err_set_fills_code_and_message_and_clears_context(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_err_ctx(&err, "old.csv:1:1");
    int rc =
        kl_err_set(&err, KL_EPARSE, "cannot parse '%s' as a number in column '%s'", "abc", "age");
    assert_int_equal(rc, KL_EPARSE);
    assert_int_equal(err.code, KL_EPARSE);
    assert_string_equal(err.msg, "cannot parse 'abc' as a number in column 'age'");
    assert_string_equal(err.ctx, "");
}

static void test_err_set_and_ctx_accept_null(void **state)
{
    (void)state;
    assert_int_equal(kl_err_set(NULL, KL_ENOMEM, "out of %s", "memory"), KL_ENOMEM);
    assert_int_equal(kl_err_ctx(NULL, "x"), 0);
    kl_err_clear(NULL);
}

static void test_err_ctx_is_formatted_and_returns_the_code(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_err_set(&err, KL_ENOTFOUND, "no column 'x'");
    assert_int_equal(kl_err_ctx(&err, "%s:%d:%d", "data.csv", 17, 4), KL_ENOTFOUND);
    assert_string_equal(err.ctx, "data.csv:17:4");
}

static void test_err_long_message_and_context_are_truncated_not_overflowed(void **state)
{
    (void)state;
    char big[2000];
    memset(big, 'm', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    kl_err err;
    memset(&err, 0x55, sizeof err);
    kl_err_set(&err, KL_EINVAL, "%s", big);
    kl_err_ctx(&err, "%s", big);
    assert_int_equal(strlen(err.msg), KL_ERR_MSG_MAX - 1);
    assert_int_equal(strlen(err.ctx), KL_ERR_CTX_MAX - 1);
}

static void test_err_format_with_and_without_context(void **state)
{
    (void)state;
    kl_err err = {0};
    char buf[128];
    kl_err_set(&err, KL_EPARSE, "unterminated quote");
    assert_string_equal(kl_err_format(&err, buf, sizeof buf), "unterminated quote");
    kl_err_ctx(&err, "bad.csv:3:9");
    assert_ptr_equal(kl_err_format(&err, buf, sizeof buf), buf);
    assert_string_equal(buf, "unterminated quote (bad.csv:3:9)");
}

static void test_err_format_empty_message_falls_back_to_code_name(void **state)
{
    (void)state;
    kl_err err = {0};
    err.code = KL_ENOMEM;
    char buf[64];
    assert_string_equal(kl_err_format(&err, buf, sizeof buf), "out of memory");
}

static void test_err_format_truncates_to_the_buffer(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_err_set(&err, KL_EIO, "cannot open 'x'");
    kl_err_ctx(&err, "x");
    char buf[8];
    kl_err_format(&err, buf, sizeof buf);
    assert_string_equal(buf, "cannot ");
    char untouched[2] = {'z', 'z'};
    kl_err_format(&err, untouched, 0);
    assert_int_equal(untouched[0], 'z');
}

static void test_err_clear_resets_everything(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_err_set(&err, KL_ECHECK, "sla missed");
    kl_err_ctx(&err, "sla[0]");
    kl_err_clear(&err);
    assert_int_equal(err.code, 0);
    assert_string_equal(err.msg, "");
    assert_string_equal(err.ctx, "");
}

static void test_err_codes_keep_their_numbers(void **state)
{
    (void)state;
    /* These numbers are a stable interface: a retired code keeps its number. */
    assert_int_equal(KL_OK, 0);
    assert_int_equal(KL_EINVAL, -1);
    assert_int_equal(KL_ENOMEM, -2);
    assert_int_equal(KL_EIO, -3);
    assert_int_equal(KL_EPARSE, -4);
    assert_int_equal(KL_ENOTFOUND, -5);
    assert_int_equal(KL_ECORRUPT, -6);
    assert_int_equal(KL_ECHECK, -7);
    assert_int_equal(KL_EUNSUPPORTED, -8);
    assert_int_equal(KL_ERANGE, -9);
    assert_int_equal(KL_EEXIST, -10);
}

static void test_strerror_names_every_code_distinctly(void **state)
{
    (void)state;
    const char *names[11];
    for (int code = 0; code >= KL_EEXIST; code--) {
        const char *s = kl_strerror(code);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, "unknown error");
        for (int other = 0; other > code; other--)
            assert_string_not_equal(s, names[-other]);
        names[-code] = s;
    }
    assert_string_equal(kl_strerror(KL_OK), "success");
    assert_string_equal(kl_strerror(KL_ENOMEM), "out of memory");
    assert_string_equal(kl_strerror(-999), "unknown error");
    assert_string_equal(kl_strerror(5), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_set_fills_code_and_message_and_clears_context),
        cmocka_unit_test(test_err_set_and_ctx_accept_null),
        cmocka_unit_test(test_err_ctx_is_formatted_and_returns_the_code),
        cmocka_unit_test(test_err_long_message_and_context_are_truncated_not_overflowed),
        cmocka_unit_test(test_err_format_with_and_without_context),
        cmocka_unit_test(test_err_format_empty_message_falls_back_to_code_name),
        cmocka_unit_test(test_err_format_truncates_to_the_buffer),
        cmocka_unit_test(test_err_clear_resets_everything),
        cmocka_unit_test(test_err_codes_keep_their_numbers),
        cmocka_unit_test(test_strerror_names_every_code_distinctly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
