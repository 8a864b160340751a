/*
 * The run filter and sort parsers on their own (no database): valid
 * expressions are accepted, invalid ones give KL_EPARSE with a message saying
 * what was expected and the 1-based column of the offending token, counted by
 * hand in each case below.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "keel/track.h"
#include "store/store_internal.h"

static void ok_filter(const char *filter)
{
    kl_err err = {0};
    kl_run_query q = {.filter = filter};
    int rc = kl_run_query_check(&q, &err);
    if (rc < 0)
        fprintf(stderr, "'%s': %s (%s)\n", filter, err.msg, err.ctx);
    assert_int_equal(rc, 0);
}

static void bad_filter(const char *filter, const char *ctx, const char *msg_part)
{
    kl_err err = {0};
    kl_run_query q = {.filter = filter};
    assert_int_equal(kl_run_query_check(&q, &err), KL_EPARSE);
    if (strcmp(err.ctx, ctx) != 0 || !strstr(err.msg, msg_part))
        fprintf(stderr, "'%s': got '%s' (%s)\n", filter, err.msg, err.ctx);
    assert_string_equal(err.ctx, ctx);
    assert_non_null(strstr(err.msg, msg_part));
}

static void test_filter_accepts_valid_expressions(void **state)
{
    (void)state;
    ok_filter(NULL);
    ok_filter("");
    ok_filter("   ");
    ok_filter("metrics.auc > 0.8");
    ok_filter("metrics.auc>0.8");
    ok_filter("metrics.auc > 0.8 and params.alpha = '0.1'");
    ok_filter("metrics.auc > 0.8 AND params.alpha = '0.1' Or tags.x != \"y\"");
    ok_filter("((metrics.auc >= -1e-3) or (metrics.val_loss <= .5))");
    ok_filter("metric.auc == 1 and param.a <> 'b' and tag.c = 'it''s'");
    ok_filter("metrics.`val loss` < 2 and params.model/depth = '3'");
    ok_filter("metrics.f1.macro > 0.5");
    ok_filter("name = 'x' and status = 'finished' and started > 1700000000000");
    ok_filter("attributes.seed = 42 and run.host = 'box' and git_dirty = 0");
}

static void test_filter_rejects_invalid_expressions_with_position(void **state)
{
    (void)state;
    bad_filter("metrics.auc >", "filter:14", "expected a number or a quoted string");
    bad_filter("metrics.auc 0.8", "filter:13", "expected an operator");
    bad_filter("metrics.auc > 'high'", "filter:15", "compares with numbers");
    bad_filter("seed > 'x'", "filter:8", "compares with numbers");
    bad_filter("foo > 1", "filter:1", "unknown field 'foo'");
    bad_filter("(metrics.auc > 1", "filter:1", "unbalanced parenthesis");
    bad_filter("metrics.auc > 1)", "filter:16", "unbalanced parenthesis");
    bad_filter("metrics.auc > 1 metrics.b < 2", "filter:17", "expected 'and', 'or' or the end");
    bad_filter("metrics.auc ! 1", "filter:13", "expected an operator");
    bad_filter("params.a = 'open", "filter:12", "unterminated string");
    bad_filter("metrics.`val loss > 1", "filter:9", "unterminated backquote");
    bad_filter("and metrics.a > 1", "filter:1", "unknown field 'and'");
    bad_filter("metrics.a > 1 and", "filter:18", "expected a field");
    bad_filter("metrics.a > 1 or or", "filter:18", "unknown field 'or'");
    bad_filter("metrics. > 1", "filter:1", "bad field");
    bad_filter("metrics.a > 1x", "filter:13", "expected a number or a quoted string");
    bad_filter("metrics.a > 1; DROP TABLE runs", "filter:14", "expected 'and', 'or'");
    bad_filter("metrics.a = 1 -- comment", "filter:15", "expected 'and', 'or'");
}

static void test_filter_nesting_is_bounded(void **state)
{
    (void)state;
    char deep[200];
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        deep[n++] = '(';
    snprintf(deep + n, sizeof deep - n, "metrics.a > 1");
    bad_filter(deep, "filter:33", "nested too deeply");
    char ok[200];
    n = 0;
    for (int i = 0; i < 10; i++)
        ok[n++] = '(';
    n += (size_t)snprintf(ok + n, sizeof ok - n, "metrics.a > 1");
    for (int i = 0; i < 10; i++)
        ok[n++] = ')';
    ok[n] = '\0';
    ok_filter(ok);
}

static void test_sort_accepts_and_rejects(void **state)
{
    (void)state;
    kl_err err = {0};
    const char *good[] = {"metrics.auc", "metrics.auc desc", "metrics.auc DESC, name asc",
                          "started desc, params.alpha, tags.stage"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        kl_run_query q = {.sort = good[i]};
        assert_int_equal(kl_run_query_check(&q, &err), 0);
    }
    kl_run_query q = {.sort = "metrics.auc up"};
    assert_int_equal(kl_run_query_check(&q, &err), KL_EPARSE);
    assert_string_equal(err.ctx, "sort:13");
    q.sort = "nonsense";
    assert_int_equal(kl_run_query_check(&q, &err), KL_EPARSE);
    assert_string_equal(err.ctx, "sort:1");
    q.sort = "name,";
    assert_int_equal(kl_run_query_check(&q, &err), KL_EPARSE);
    assert_string_equal(err.ctx, "sort:6");
}

/* The SQL carries only placeholders: user text appears nowhere in it. */
static void test_filter_values_never_reach_the_sql_text(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_run_query q = {.filter = "params.`x' OR 1=1` = 'evil''; DROP TABLE runs' and "
                                "metrics.auc > 0.25",
                      .sort = "tags.`sneaky key` desc",
                      .limit = 5};
    kl__sqlbuf b;
    assert_int_equal(kl__runs_sql(&q, &b, &err), 0);
    assert_null(strstr(b.sql, "evil"));
    assert_null(strstr(b.sql, "DROP"));
    assert_null(strstr(b.sql, "1=1"));
    assert_null(strstr(b.sql, "sneaky"));
    assert_null(strstr(b.sql, "0.25"));
    /* Arguments in placeholder order: sort key (join), filter key, value, key, value, limit. */
    assert_int_equal(b.n_args, 6);
    assert_string_equal(b.args[0].text, "sneaky key");
    assert_string_equal(b.args[1].text, "x' OR 1=1");
    assert_string_equal(b.args[2].text, "evil'; DROP TABLE runs");
    assert_string_equal(b.args[3].text, "auc");
    assert_int_equal(b.args[4].kind, KL__ARG_F64);
    assert_true(b.args[4].f64 == 0.25);
    assert_int_equal(b.args[5].kind, KL__ARG_I64);
    assert_int_equal(b.args[5].i64, 5);
    size_t marks = 0;
    for (const char *p = b.sql; *p; p++)
        marks += *p == '?';
    assert_int_equal(marks, 6);
    kl__sqlbuf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_accepts_valid_expressions),
        cmocka_unit_test(test_filter_rejects_invalid_expressions_with_position),
        cmocka_unit_test(test_filter_nesting_is_bounded),
        cmocka_unit_test(test_sort_accepts_and_rejects),
        cmocka_unit_test(test_filter_values_never_reach_the_sql_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
