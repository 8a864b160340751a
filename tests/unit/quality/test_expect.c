/*
 * Expectations on a six-row frame whose failing values are listed by hand
 * next to each check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "keel/constraints.h"
#include "keel/frame.h"
#include "keel/spec.h"

#define DAY_US (86400LL * 1000000LL)

static kl_frame *frame(void)
{
    const double age[] = {20, 15, 95, 40, NAN, 15};
    const char *sex[] = {"M", "F", "X", "M", NULL, "Y"};
    const double id[] = {1, 2, 2, 3, 4, 4};
    const char *zip[] = {"12345", "1234", "abcde", "54321", NULL, "123456"};
    const char *email[] = {"a@x.org", "b@x.org", "bad", "c@x.org", "d@x.org", "e@x.org"};
    const int64_t ts[] = {10 * DAY_US,     60 * DAY_US, 20 * DAY_US,
                          KL_TIME_MISSING, 5 * DAY_US,  30 * DAY_US};
    kl_frame *f = kl_frame_new(6);
    kl_err err = {0};
    assert_int_equal(kl_frame_add_numeric(f, "age", KL_TYPE_FLOAT, age, &err), 0);
    assert_int_equal(kl_frame_add_categorical(f, "sex", sex, &err), 0);
    assert_int_equal(kl_frame_add_numeric(f, "id", KL_TYPE_INT, id, &err), 0);
    assert_int_equal(kl_frame_add_text(f, "zip", zip, &err), 0);
    assert_int_equal(kl_frame_add_text(f, "email", email, &err), 0);
    assert_int_equal(kl_frame_add_time(f, "ts", KL_TYPE_DATE, ts, NULL, &err), 0);
    return f;
}

static kl_spec *spec(const char *expectations)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "project: {name: p}\n"
             "objective: {task: regression, target: age}\n"
             "data: {source: d.csv, time_column: ts}\n"
             "constraints:\n"
             "  expectations:\n%s",
             expectations);
    kl_spec *s = NULL;
    kl_err err = {0};
    if (kl_spec_load_buffer(yaml, strlen(yaml), "keel.yaml", &s, &err) != 0)
        fail_msg("spec: %s (%s)", err.msg, err.ctx);
    return s;
}

/* Run one expectation (the only one in the spec) and return a copy of its result fields. */
static void run(const char *line, const kl_expect_opts *o, kl_expect_report *r)
{
    kl_frame *f = frame();
    kl_spec *s = spec(line);
    kl_err err = {0};
    assert_int_equal(
        kl_expect_check(f, s->constraints.expectations, s->constraints.n_expectations, o, r, &err),
        0);
    kl_spec_free(s);
    kl_frame_free(f);
}

static void examples_are(const kl_expect_result *x, size_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    assert_int_equal(x->n_examples, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(x->examples[i], va_arg(ap, const char *));
    va_end(ap);
}

static void test_expect_range_counts_values_outside(void **state)
{
    (void)state;
    kl_expect_report r;
    run("    - {column: age, expect: range, min: 17, max: 90}\n", NULL, &r);
    const kl_expect_result *x = &r.results[0];
    assert_false(x->passed);
    assert_int_equal(x->failing, 3); /* 15, 95, 15; the missing cell is ignored */
    assert_int_equal(x->checked, 5);
    examples_are(x, 2, "15", "95");
    assert_string_equal(x->detail, "3 of 5 values outside [17, 90]");
    assert_int_equal(r.n_failed, 1);
    kl_expect_report_release(&r);
    run("    - {column: age, expect: range, min: 15}\n", NULL, &r);
    assert_true(r.results[0].passed);
    assert_string_equal(r.results[0].detail, "0 of 5 values below 15");
    kl_expect_report_release(&r);
    run("    - {column: sex, expect: range, max: 1}\n", NULL, &r);
    assert_false(r.results[0].passed);
    assert_string_equal(r.results[0].detail,
                        "range applies to numeric columns; 'sex' is categorical");
    kl_expect_report_release(&r);
}

static void test_expect_values_unique_and_regex(void **state)
{
    (void)state;
    kl_expect_report r;
    run("    - {column: sex, expect: values, values: [M, F]}\n"
        "    - {column: id, expect: unique}\n"
        "    - {column: zip, expect: regex, pattern: '[0-9]{5}'}\n"
        "    - {column: id, expect: values, values: ['1.0', 2, 3, 4]}\n",
        NULL, &r);
    assert_int_equal(r.n, 4);
    assert_int_equal(r.results[0].failing, 2); /* X, Y */
    examples_are(&r.results[0], 2, "X", "Y");
    assert_string_equal(r.results[0].detail, "2 of 5 values not among the 2 allowed");
    assert_int_equal(r.results[1].failing, 4); /* 2, 2, 4, 4: every copy counts */
    examples_are(&r.results[1], 2, "2", "4");
    /* whole value: 1234 is short, abcde not digits, 123456 holds a match but is longer */
    assert_int_equal(r.results[2].failing, 3);
    examples_are(&r.results[2], 3, "1234", "abcde", "123456");
    assert_string_equal(r.results[2].detail, "3 of 5 values do not match '[0-9]{5}'");
    assert_true(r.results[3].passed); /* '1.0' equals 1 as a number */
    assert_int_equal(r.n_failed, 3);
    kl_expect_report_release(&r);
}

static void test_expect_missing_rows_and_type(void **state)
{
    (void)state;
    kl_expect_report r;
    run("    - {column: age, expect: missing, max_share: 0.1}\n"
        "    - {column: age, expect: missing, max_share: 0.2}\n"
        "    - {expect: rows, min: 10}\n"
        "    - {expect: rows, min: 1, max: 6}\n"
        "    - {column: age, expect: type, type: int}\n"
        "    - {column: id, expect: type, type: int}\n"
        "    - {column: nope, expect: unique}\n",
        NULL, &r);
    assert_false(r.results[0].passed); /* 1/6 = 0.1667 > 0.1 */
    assert_int_equal(r.results[0].failing, 1);
    assert_string_equal(r.results[0].detail,
                        "1 of 6 values missing (share 0.1667, at most 0.1 allowed)");
    assert_true(r.results[1].passed);
    assert_false(r.results[2].passed);
    assert_null(r.results[2].column);
    assert_string_equal(r.results[2].detail, "6 rows, expected at least 10");
    assert_true(r.results[3].passed);
    assert_false(r.results[4].passed);
    assert_string_equal(r.results[4].detail, "type is float, expected int");
    assert_true(r.results[5].passed);
    assert_false(r.results[6].passed);
    assert_string_equal(r.results[6].detail, "column 'nope' is not in the data");
    assert_int_equal(r.n_failed, 4);
    kl_expect_report_release(&r);
}

static void test_expect_freshness_uses_the_time_column(void **state)
{
    (void)state;
    kl_expect_report r;
    /* newest ts is day 60 (1970-03-02); now is day 100: 40 days old */
    kl_expect_opts o = {.time_column = "ts", .now_us = 100 * DAY_US};
    run("    - {expect: freshness, max_age: 30d}\n"
        "    - {expect: freshness, max_age: 40d}\n"
        "    - {column: ts, expect: freshness, max_age: 959h}\n",
        &o, &r);
    assert_false(r.results[0].passed);
    assert_string_equal(r.results[0].column, "ts");
    assert_string_equal(r.results[0].detail, "newest value 1970-03-02 is older than 30d");
    examples_are(&r.results[0], 1, "1970-03-02");
    assert_true(r.results[1].passed);  /* exactly 40 days: not older */
    assert_false(r.results[2].passed); /* 959 h < 960 h */
    kl_expect_report_release(&r);
}

static void test_expect_hides_values_of_hidden_columns(void **state)
{
    (void)state;
    kl_expect_report r;
    const char *hidden[] = {"email"};
    kl_expect_opts o = {.hidden = hidden, .n_hidden = 1};
    run("    - {column: email, expect: regex, pattern: '[a-z]+@[a-z]+[.]org'}\n", &o, &r);
    assert_int_equal(r.results[0].failing, 1);
    examples_are(&r.results[0], 1, "[hidden]");
    kl_expect_report_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expect_range_counts_values_outside),
        cmocka_unit_test(test_expect_values_unique_and_regex),
        cmocka_unit_test(test_expect_missing_rows_and_type),
        cmocka_unit_test(test_expect_freshness_uses_the_time_column),
        cmocka_unit_test(test_expect_hides_values_of_hidden_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
