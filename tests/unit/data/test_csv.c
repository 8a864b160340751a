/*
 * Tests of the CSV reader: RFC 4180 cases, every error with its message and
 * position, skip mode, delimiter detection, header repair, missing tokens,
 * type inference and overrides, independence from threads and chunking, and
 * the real files in data/ (shapes, types and missing counts counted with a
 * separate tool, every number against glibc strtod).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "keel/csv.h"
#include "keel/frame.h"
#include "keel/parallel.h"
#include "data/csv_internal.h"

/* ---- helpers ---- */

static kl_frame *read_opts(const char *s, const kl_csv_read_opts *o, kl_csv_report *rep)
{
    kl_frame *f = NULL;
    kl_err err = {0};
    int rc = kl_csv_read_buffer(s, strlen(s), "t.csv", o, &f, rep, &err);
    if (rc != 0)
        fail_msg("read failed: %s (%s)", err.msg, err.ctx);
    return f;
}

static kl_frame *read_ok(const char *s)
{
    return read_opts(s, NULL, NULL);
}

static void expect_error_n(const char *s, size_t n, const kl_csv_read_opts *o, int code,
                           const char *msg, const char *ctx)
{
    kl_frame *f = NULL;
    kl_err err = {0};
    int rc = kl_csv_read_buffer(s, n, "t.csv", o, &f, NULL, &err);
    assert_int_equal(rc, code);
    assert_null(f);
    assert_string_equal(err.msg, msg);
    assert_string_equal(err.ctx, ctx);
}

static void expect_error(const char *s, const kl_csv_read_opts *o, int code, const char *msg,
                         const char *ctx)
{
    expect_error_n(s, strlen(s), o, code, msg, ctx);
}

static const char *text_at(const kl_frame *f, size_t i, size_t j)
{
    if (kl_frame_col_kind(f, j) == KL_COL_KIND_TEXT)
        return kl_frame_col_text(f, j)[i];
    int32_t c = kl_frame_col_codes(f, j)[i];
    size_t nd;
    return c < 0 ? NULL : kl_frame_col_dict(f, j, &nd)[c];
}

static void hash_of(const kl_frame *f, uint8_t out[32])
{
    kl_frame_hash(f, out);
}

/* ---- RFC 4180 ---- */

static void test_csv_simple_file_reads_values_and_types(void **state)
{
    (void)state;
    kl_frame *f = read_ok("a,b,c\n1,x,2.5\n2,y,-0.25\n");
    assert_int_equal(kl_frame_row_count(f), 2);
    assert_int_equal(kl_frame_col_count(f), 3);
    assert_string_equal(kl_frame_col_name(f, 0), "a");
    assert_string_equal(kl_frame_col_name(f, 2), "c");
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_INT);
    assert_int_equal(kl_frame_col_type(f, 1), KL_TYPE_CATEGORICAL);
    assert_int_equal(kl_frame_col_type(f, 2), KL_TYPE_FLOAT);
    assert_true(kl_frame_col_f64(f, 0)[1] == 2.0);
    assert_true(kl_frame_col_f64(f, 2)[1] == -0.25);
    assert_string_equal(text_at(f, 1, 1), "y");
    assert_int_equal(kl_frame_infer_version(f), KL_CSV_INFER_VERSION);
    kl_frame_free(f);
}

static void test_csv_quoted_field_keeps_delimiter_and_doubled_quote(void **state)
{
    (void)state;
    kl_frame *f = read_ok("id,s\n1,\"a,b\"\n2,\"say \"\"hi\"\"\"\n3,\"\"\"\"\n");
    assert_string_equal(text_at(f, 0, 1), "a,b");
    assert_string_equal(text_at(f, 1, 1), "say \"hi\"");
    assert_string_equal(text_at(f, 2, 1), "\"");
    kl_frame_free(f);
}

static void test_csv_newlines_inside_quotes_are_kept(void **state)
{
    (void)state;
    kl_frame *f = read_ok("id,s\r\n1,\"l1\nl2\"\r\n2,\"l1\r\nl2\"\r\n3,\"cr\rx\"\r\n");
    assert_int_equal(kl_frame_row_count(f), 3);
    assert_string_equal(text_at(f, 0, 1), "l1\nl2");
    assert_string_equal(text_at(f, 1, 1), "l1\r\nl2");
    assert_string_equal(text_at(f, 2, 1), "cr\rx");
    assert_true(kl_frame_col_f64(f, 0)[2] == 3.0);
    kl_frame_free(f);
}

static void test_csv_crlf_row_ends_are_stripped(void **state)
{
    (void)state;
    kl_frame *f = read_ok("a,b\r\n1,x\r\n2,\"y\"\r\n");
    assert_int_equal(kl_frame_row_count(f), 2);
    assert_string_equal(kl_frame_col_name(f, 1), "b");
    assert_string_equal(text_at(f, 0, 1), "x");
    assert_string_equal(text_at(f, 1, 1), "y");
    kl_frame_free(f);
}

static void test_csv_last_row_without_newline_is_read(void **state)
{
    (void)state;
    kl_frame *f = read_ok("a,b\n1,2\n3,4");
    assert_int_equal(kl_frame_row_count(f), 2);
    assert_true(kl_frame_col_f64(f, 1)[1] == 4.0);
    kl_frame_free(f);
    f = read_ok("a,b\n1,\"x\"");
    assert_string_equal(text_at(f, 0, 1), "x");
    kl_frame_free(f);
}

static void test_csv_utf8_bom_is_skipped(void **state)
{
    (void)state;
    kl_frame *f = read_ok("\xEF\xBB\xBF"
                          "a,b\n1,2\n");
    assert_string_equal(kl_frame_col_name(f, 0), "a");
    kl_frame_free(f);
}

static void test_csv_blank_lines_are_skipped_when_several_columns(void **state)
{
    (void)state;
    kl_frame *f = read_ok("a,b\n1,2\n\n3,4\r\n\r\n5,6\n\n");
    assert_int_equal(kl_frame_row_count(f), 3);
    assert_true(kl_frame_col_f64(f, 0)[1] == 3.0);
    assert_true(kl_frame_col_f64(f, 1)[2] == 6.0);
    kl_frame_free(f);
    /* With one column a blank line is a missing value. */
    f = read_ok("a\n1\n\n3\n");
    assert_int_equal(kl_frame_row_count(f), 3);
    assert_true(isnan(kl_frame_col_f64(f, 0)[1]));
    kl_frame_free(f);
}

static void test_csv_utf8_text_is_kept(void **state)
{
    (void)state;
    kl_frame *f = read_ok("name,n\nZo\xC3\xAB,1\n\xE2\x82\xAC,2\n\xF0\x9F\x98\x80,3\n");
    assert_string_equal(text_at(f, 0, 0), "Zo\xC3\xAB");
    assert_string_equal(text_at(f, 1, 0), "\xE2\x82\xAC");
    assert_string_equal(text_at(f, 2, 0), "\xF0\x9F\x98\x80");
    kl_frame_free(f);
}

/* ---- delimiters ---- */

static void test_csv_delimiter_is_detected(void **state)
{
    (void)state;
    kl_csv_report rep;
    kl_frame *f = read_opts("a;b;c\n1;2;3\n4;5;6\n", NULL, &rep);
    assert_int_equal(rep.delimiter, ';');
    assert_int_equal(kl_frame_col_count(f), 3);
    kl_frame_free(f);
    kl_csv_report_release(&rep);
    f = read_opts("a\tb\n1\t2\n", NULL, &rep);
    assert_int_equal(rep.delimiter, '\t');
    kl_frame_free(f);
    kl_csv_report_release(&rep);
    f = read_opts("a|b\n1|2\n", NULL, &rep);
    assert_int_equal(rep.delimiter, '|');
    kl_frame_free(f);
    kl_csv_report_release(&rep);
    /* Semicolons inside text: the comma still gives the consistent, wider split. */
    f = read_opts("a,b,c\nx;y,1,2\nz;w,3,4\n", NULL, &rep);
    assert_int_equal(rep.delimiter, ',');
    assert_string_equal(text_at(f, 0, 0), "x;y");
    kl_frame_free(f);
    kl_csv_report_release(&rep);
    /* A comma inside quotes does not count. */
    f = read_opts("a;b\n\"1,5\";2\n\"3,5\";4\n", NULL, &rep);
    assert_int_equal(rep.delimiter, ';');
    kl_frame_free(f);
    kl_csv_report_release(&rep);
    /* One column: the default comma. */
    f = read_opts("a\n1\n2\n", NULL, &rep);
    assert_int_equal(rep.delimiter, ',');
    assert_int_equal(kl_frame_col_count(f), 1);
    kl_frame_free(f);
    kl_csv_report_release(&rep);
}

static void test_csv_given_delimiter_is_used(void **state)
{
    (void)state;
    kl_csv_read_opts o = {.delimiter = ';'};
    kl_frame *f = read_opts("a,b;c\n1,5;2\n", &o, NULL);
    assert_int_equal(kl_frame_col_count(f), 2);
    assert_string_equal(kl_frame_col_name(f, 0), "a,b");
    kl_frame_free(f);
}

/* ---- header ---- */

static void test_csv_duplicate_and_empty_names_are_made_unique(void **state)
{
    (void)state;
    kl_csv_report rep;
    kl_frame *f = read_opts("age,age,,age,x\n1,2,3,4,5\n", NULL, &rep);
    assert_string_equal(kl_frame_col_name(f, 0), "age");
    assert_string_equal(kl_frame_col_name(f, 1), "age_2");
    assert_string_equal(kl_frame_col_name(f, 2), "column_3");
    assert_string_equal(kl_frame_col_name(f, 3), "age_3");
    assert_int_equal(rep.n_warnings, 3);
    assert_string_equal(rep.warnings[0], "duplicate column name 'age' renamed to 'age_2'");
    assert_string_equal(rep.warnings[1], "column 3 has no name; named 'column_3'");
    assert_string_equal(rep.warnings[2], "duplicate column name 'age' renamed to 'age_3'");
    kl_frame_free(f);
    kl_csv_report_release(&rep);
}

static void test_csv_many_repeated_names_are_renamed_in_order(void **state)
{
    (void)state;
    size_t n = 20000, cap = n * 4 + 64, o = 0;
    char *s = malloc(cap);
    for (size_t j = 0; j < n; j++)
        o += (size_t)snprintf(s + o, cap - o, "%sa", j ? "," : "");
    o += (size_t)snprintf(s + o, cap - o, ",a_3\n");
    for (size_t j = 0; j <= n; j++)
        o += (size_t)snprintf(s + o, cap - o, "%s1", j ? "," : "");
    s[o++] = '\n';
    s[o] = '\0';
    kl_csv_report rep;
    kl_frame *f = read_opts(s, NULL, &rep);
    assert_int_equal(kl_frame_col_count(f), n + 1);
    assert_string_equal(kl_frame_col_name(f, 0), "a");
    assert_string_equal(kl_frame_col_name(f, 1), "a_2");
    assert_string_equal(kl_frame_col_name(f, 2), "a_3");
    assert_string_equal(kl_frame_col_name(f, n - 1), "a_20000");
    /* The header's own a_3 comes last and is taken by then. */
    assert_string_equal(kl_frame_col_name(f, n), "a_3_2");
    assert_int_equal(rep.n_warnings, KL_CSV_MAX_WARNINGS);
    assert_int_equal(rep.n_warnings_total, n);
    kl_frame_free(f);
    kl_csv_report_release(&rep);
    free(s);
}

static void test_csv_no_header_names_columns(void **state)
{
    (void)state;
    kl_csv_read_opts o = {.no_header = 1};
    kl_frame *f = read_opts("1,x\n2,y\n", &o, NULL);
    assert_int_equal(kl_frame_row_count(f), 2);
    assert_string_equal(kl_frame_col_name(f, 0), "c1");
    assert_string_equal(kl_frame_col_name(f, 1), "c2");
    assert_true(kl_frame_col_f64(f, 0)[0] == 1.0);
    kl_frame_free(f);
}

static void test_csv_quoted_header_names_are_unquoted(void **state)
{
    (void)state;
    kl_frame *f = read_ok("\"a,1\",\"b\"\"q\"\n1,2\n");
    assert_string_equal(kl_frame_col_name(f, 0), "a,1");
    assert_string_equal(kl_frame_col_name(f, 1), "b\"q");
    kl_frame_free(f);
}

/* ---- errors ---- */

static void test_csv_ragged_row_is_an_error_with_position(void **state)
{
    (void)state;
    expect_error("a,b,c,d,e\n1,2,3,4,5\n1,2,3\n", NULL, KL_EPARSE,
                 "row has 3 fields, expected 5", "t.csv:3:6");
    expect_error("a,b\n1,2\n3,4,5,6\n", NULL, KL_EPARSE, "row has 4 fields, expected 2",
                 "t.csv:3:5");
    expect_error("a,b\r\n1,2\r\n3\r\n", NULL, KL_EPARSE, "row has 1 field, expected 2",
                 "t.csv:3:2");
}

static void test_csv_unterminated_quote_names_where_it_opened(void **state)
{
    (void)state;
    expect_error("a,b\n1,2\n3,\"abc\n4,5\n", NULL, KL_EPARSE, "unterminated quoted field",
                 "t.csv:3:3");
    kl_csv_read_opts o = {.on_bad_rows = KL_CSV_BAD_ROWS_SKIP};
    expect_error("a,b\n1,2\n3,\"abc\n4,5\n", &o, KL_EPARSE, "unterminated quoted field",
                 "t.csv:3:3");
}

static void test_csv_quote_inside_unquoted_field_is_an_error(void **state)
{
    (void)state;
    expect_error("a,b\n1,ab\"c\n", NULL, KL_EPARSE, "quote inside an unquoted field",
                 "t.csv:2:5");
    expect_error("a,b\n1, \"c\"\n", NULL, KL_EPARSE, "quote inside an unquoted field",
                 "t.csv:2:4");
}

static void test_csv_text_after_closing_quote_is_an_error(void **state)
{
    (void)state;
    expect_error("a,b\n1,\"ab\"c\n", NULL, KL_EPARSE, "unexpected text after a closing quote",
                 "t.csv:2:7");
}

static void test_csv_invalid_utf8_names_the_byte(void **state)
{
    (void)state;
    expect_error("a,b\n1,ok\n2,ab\xFF\n", NULL, KL_EPARSE, "invalid UTF-8 byte 0xff",
                 "t.csv:3:5");
    /* A truncated sequence, an overlong form and a surrogate. */
    expect_error("a,b\n1,\xC3(\n", NULL, KL_EPARSE, "invalid UTF-8 byte 0xc3", "t.csv:2:3");
    expect_error("a,b\n1,\xC0\xAF\n", NULL, KL_EPARSE, "invalid UTF-8 byte 0xc0", "t.csv:2:3");
    expect_error("a,b\n1,\"\xED\xA0\x80\"\n", NULL, KL_EPARSE, "invalid UTF-8 byte 0xed",
                 "t.csv:2:4");
    /* In a header name. */
    expect_error("a,\xFE\n1,2\n", NULL, KL_EPARSE, "invalid UTF-8 byte 0xfe", "t.csv:1:3");
}

static void test_csv_nul_byte_is_an_error(void **state)
{
    (void)state;
    expect_error_n("a,b\n1,x\0y\n", 10, NULL, KL_EPARSE, "NUL byte in the input", "t.csv:2:4");
}

static void test_csv_empty_and_header_only_files_are_errors(void **state)
{
    (void)state;
    expect_error("", NULL, KL_EPARSE, "empty file", "t.csv:1:1");
    expect_error("\xEF\xBB\xBF", NULL, KL_EPARSE, "empty file", "t.csv:1:1");
    expect_error("a,b\n", NULL, KL_EPARSE, "no data rows", "t.csv:2:1");
    expect_error("a,b", NULL, KL_EPARSE, "no data rows", "t.csv:1:4");
    expect_error("a,b\n\n\n", NULL, KL_EPARSE, "no data rows", "t.csv:4:1");
}

static void test_csv_error_names_display_name(void **state)
{
    (void)state;
    kl_csv_read_opts o = {.display_name = "data/x.csv"};
    expect_error("a,b\n1\n", &o, KL_EPARSE, "row has 1 field, expected 2", "data/x.csv:2:2");
}

static void test_csv_missing_file_is_not_found(void **state)
{
    (void)state;
    kl_frame *f = NULL;
    kl_err err = {0};
    int rc = kl_csv_read_file("/nonexistent/keel/x.csv", NULL, &f, NULL, &err);
    assert_int_equal(rc, KL_ENOTFOUND);
    assert_null(f);
}

/* ---- skip mode ---- */

static void test_csv_skip_mode_drops_and_counts_bad_rows(void **state)
{
    (void)state;
    kl_csv_read_opts o = {.on_bad_rows = KL_CSV_BAD_ROWS_SKIP};
    kl_csv_report rep;
    const char in[] = "a,b\n1,2\n3\n4,5\n6,7,8\n9,\xFF\n10,x\0y\n11,12\n";
    kl_frame *f = NULL;
    kl_err err = {0};
    assert_int_equal(kl_csv_read_buffer(in, sizeof in - 1, "t.csv", &o, &f, &rep, &err), 0);
    assert_int_equal(kl_frame_row_count(f), 3);
    assert_int_equal(rep.rows, 3);
    assert_int_equal(rep.bad_rows, 4);
    assert_int_equal(rep.first_bad_line, 3);
    const double *a = kl_frame_col_f64(f, 0), *b = kl_frame_col_f64(f, 1);
    assert_true(a[0] == 1 && b[0] == 2);
    assert_true(a[1] == 4 && b[1] == 5);
    assert_true(a[2] == 11 && b[2] == 12);
    assert_int_equal(kl_frame_col_type(f, 1), KL_TYPE_INT);
    kl_frame_free(f);
    kl_csv_report_release(&rep);
}

static void test_csv_skip_mode_keeps_structural_errors(void **state)
{
    (void)state;
    kl_csv_read_opts o = {.on_bad_rows = KL_CSV_BAD_ROWS_SKIP};
    expect_error("a,b\n1,x\"y\n", &o, KL_EPARSE, "quote inside an unquoted field", "t.csv:2:4");
    expect_error("a,b\n1,2,3\n", &o, KL_EPARSE, "no data rows", "t.csv:3:1");
}

/* ---- missing tokens ---- */

static void test_csv_default_missing_tokens_are_missing_unquoted_only(void **state)
{
    (void)state;
    kl_frame *f = read_ok("x,s\n1,a\n,\nNA,NA\nN/A,\"NA\"\nnull,b\nNaN,\"\"\nNone,a\n2,a\n");
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_INT);
    assert_int_equal(kl_frame_col_missing(f, 0), 6);
    assert_int_equal(kl_frame_col_type(f, 1), KL_TYPE_CATEGORICAL);
    assert_int_equal(kl_frame_col_missing(f, 1), 2);
    assert_string_equal(text_at(f, 3, 1), "NA");
    assert_string_equal(text_at(f, 5, 1), "");
    assert_null(text_at(f, 2, 1));
    kl_frame_free(f);
}

static void test_csv_quoted_empty_is_missing_in_numeric_columns(void **state)
{
    (void)state;
    kl_frame *f = read_ok("x\n1.5\n\"\"\n\"2\"\n");
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_FLOAT);
    assert_true(isnan(kl_frame_col_f64(f, 0)[1]));
    assert_true(kl_frame_col_f64(f, 0)[2] == 2.0);
    kl_frame_free(f);
}

static void test_csv_custom_missing_tokens_replace_defaults(void **state)
{
    (void)state;
    const char *tok[] = {"-999", "?"};
    kl_csv_read_opts o = {.missing_tokens = tok, .n_missing_tokens = 2};
    kl_frame *f = read_opts("x,y\n1,a\n-999,?\n3,NA\n", &o, NULL);
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_INT);
    assert_int_equal(kl_frame_col_missing(f, 0), 1);
    assert_int_equal(kl_frame_col_missing(f, 1), 1);
    assert_string_equal(text_at(f, 2, 1), "NA");
    kl_frame_free(f);
}

/* ---- inference ---- */

static void test_csv_infers_int_float_bool(void **state)
{
    (void)state;
    kl_frame *f = read_ok("i,f,b,y\n1,1,true,1959\n-2,2.5,False,1960\n3,1e3,YES,\n");
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_INT);
    assert_int_equal(kl_frame_col_type(f, 1), KL_TYPE_FLOAT);
    assert_int_equal(kl_frame_col_type(f, 2), KL_TYPE_BOOL);
    assert_int_equal(kl_frame_col_type(f, 3), KL_TYPE_INT);
    assert_true(kl_frame_col_f64(f, 1)[2] == 1000.0);
    const uint8_t *b = kl_frame_col_bool(f, 2);
    assert_int_equal(b[0], 1);
    assert_int_equal(b[1], 0);
    assert_int_equal(b[2], 1);
    assert_int_equal(kl_frame_col_missing(f, 3), 1);
    kl_frame_free(f);
}

static void test_csv_int_beyond_2_pow_53_is_float(void **state)
{
    (void)state;
    kl_frame *f = read_ok("a,b\n9007199254740992,1\n9007199254740993,2\n");
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_FLOAT);
    assert_int_equal(kl_frame_col_type(f, 1), KL_TYPE_INT);
    kl_frame_free(f);
}

static void test_csv_all_missing_column_is_float(void **state)
{
    (void)state;
    kl_frame *f = read_ok("a,b\n1,\n2,NA\n");
    assert_int_equal(kl_frame_col_type(f, 1), KL_TYPE_FLOAT);
    assert_int_equal(kl_frame_col_missing(f, 1), 2);
    kl_frame_free(f);
}

static void test_csv_infers_dates_and_datetimes(void **state)
{
    (void)state;
    kl_frame *f = read_ok("d,dt,ym,q\n"
                          "2020-03-04,2013-08-13 06:03:42,1949-01,1974Q1\n"
                          "1970-01-01,2013-08-14 05:41:20,1949-02,1974Q2\n"
                          ",,,\n");
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_DATE);
    assert_int_equal(kl_frame_col_type(f, 1), KL_TYPE_DATETIME);
    assert_int_equal(kl_frame_col_type(f, 2), KL_TYPE_DATE);
    assert_int_equal(kl_frame_col_type(f, 3), KL_TYPE_DATE);
    assert_string_equal(kl_frame_col_time_format(f, 2), "%Y-%m");
    assert_string_equal(kl_frame_col_time_format(f, 3), "%YQ%q");
    const int64_t day = 86400000000ll;
    /* Days since 1970-01-01 counted with Python's datetime: 18325, -7670, 1461. */
    assert_true(kl_frame_col_time(f, 0)[0] == 18325 * day);
    assert_true(kl_frame_col_time(f, 0)[1] == 0);
    assert_true(kl_frame_col_time(f, 1)[0] == 1376373822ll * 1000000);
    assert_true(kl_frame_col_time(f, 2)[0] == -7670 * day);
    assert_true(kl_frame_col_time(f, 3)[0] == 1461 * day);
    assert_true(kl_frame_col_time(f, 0)[2] == KL_TIME_MISSING);
    kl_frame_free(f);
}

static void test_csv_day_month_order_is_decided_by_the_values(void **state)
{
    (void)state;
    kl_frame *f = read_ok("d\n03/04/2020\n13/04/2020\n");
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_DATE);
    /* 3 April 2020 = day 18355. */
    assert_true(kl_frame_col_time(f, 0)[0] == 18355 * 86400000000ll);
    kl_frame_free(f);
    f = read_ok("d\n03/04/2020\n04/13/2020\n");
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_DATE);
    /* 4 March 2020 = day 18325. */
    assert_true(kl_frame_col_time(f, 0)[0] == 18325 * 86400000000ll);
    kl_frame_free(f);
}

static void test_csv_ambiguous_day_month_column_stays_text_with_warning(void **state)
{
    (void)state;
    kl_csv_report rep;
    kl_frame *f = read_opts("d\n03/04/2020\n05/06/2021\n03/04/2020\n01/02/2020\n", NULL, &rep);
    assert_int_equal(kl_frame_col_kind(f, 0), KL_COL_KIND_CATEGORICAL);
    assert_int_equal(rep.n_warnings, 1);
    assert_string_equal(rep.warnings[0], "ambiguous day/month order in column 'd'");
    kl_frame_free(f);
    kl_csv_report_release(&rep);
}

static void test_csv_mixed_values_are_strings(void **state)
{
    (void)state;
    kl_frame *f = read_ok("a,b,c\n1,true,2020-01-01\nx,1,2020-01-01 10:00\n");
    assert_int_equal(kl_frame_col_kind(f, 0), KL_COL_KIND_CATEGORICAL);
    assert_int_equal(kl_frame_col_kind(f, 1), KL_COL_KIND_CATEGORICAL);
    assert_int_equal(kl_frame_col_kind(f, 2), KL_COL_KIND_CATEGORICAL);
    kl_frame_free(f);
}

/* A column of n rows cycling through d distinct words. */
static char *cycle_csv(size_t n, size_t d)
{
    size_t cap = 16 + n * 16;
    char *s = malloc(cap);
    size_t o = (size_t)snprintf(s, cap, "w\n");
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(s + o, cap - o, "v%zu\n", i % d);
    return s;
}

static void test_csv_categorical_or_text_by_cardinality(void **state)
{
    (void)state;
    struct {
        size_t n, d;
        enum kl_type want;
    } cases[] = {
        {100, 50, KL_TYPE_CATEGORICAL},  /* distinct = half the values */
        {100, 51, KL_TYPE_TEXT},         /* more than half */
        {12, 10, KL_TYPE_CATEGORICAL},   /* at most 10 distinct: always categorical */
        {12, 11, KL_TYPE_TEXT},
        {4000, 1000, KL_TYPE_CATEGORICAL}, /* the default cap of 1000 */
        {4000, 1001, KL_TYPE_TEXT},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *s = cycle_csv(cases[k].n, cases[k].d);
        kl_frame *f = read_ok(s);
        assert_int_equal(kl_frame_col_type(f, 0), cases[k].want);
        char last[32];
        snprintf(last, sizeof last, "v%zu", (cases[k].n - 1) % cases[k].d);
        assert_string_equal(text_at(f, cases[k].n - 1, 0), last);
        kl_frame_free(f);
        free(s);
    }
    kl_csv_read_opts o = {.max_categories = 5};
    char *s = cycle_csv(100, 6);
    kl_frame *f = read_opts(s, &o, NULL);
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_TEXT);
    kl_frame_free(f);
    free(s);
}

static void test_csv_categories_follow_first_appearance(void **state)
{
    (void)state;
    kl_frame *f = read_ok("c\nb\na\nb\nc\na\n");
    size_t nd;
    const char *const *dict = kl_frame_col_dict(f, 0, &nd);
    assert_int_equal(nd, 3);
    assert_string_equal(dict[0], "b");
    assert_string_equal(dict[1], "a");
    assert_string_equal(dict[2], "c");
    const int32_t *codes = kl_frame_col_codes(f, 0);
    assert_int_equal(codes[3], 2);
    assert_int_equal(codes[4], 1);
    kl_frame_free(f);
}

/* ---- overrides ---- */

static void test_csv_override_forces_type(void **state)
{
    (void)state;
    kl_csv_override ov[] = {{.column = "zip", .type = KL_TYPE_CATEGORICAL},
                            {.column = "n", .type = KL_TYPE_FLOAT},
                            {.column = "d", .type = KL_TYPE_DATE, .time_format = "%Y-%m-%d"}};
    kl_csv_read_opts o = {.overrides = ov, .n_overrides = 3};
    kl_frame *f = read_opts("zip,n,d\n01234,1,2020-03-04\n99999,2,\n", &o, NULL);
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_CATEGORICAL);
    assert_string_equal(text_at(f, 0, 0), "01234");
    assert_int_equal(kl_frame_col_type(f, 1), KL_TYPE_FLOAT);
    assert_int_equal(kl_frame_col_type(f, 2), KL_TYPE_DATE);
    assert_true(kl_frame_col_time(f, 2)[0] == 18325 * 86400000000ll);
    kl_frame_free(f);
}

static void test_csv_override_reads_compact_dates(void **state)
{
    (void)state;
    kl_csv_override ov[] = {{.column = "d", .type = KL_TYPE_DATE, .time_format = "%Y%m%d"}};
    kl_csv_read_opts o = {.overrides = ov, .n_overrides = 1};
    kl_frame *f = read_opts("d,x\n20200304,1\n19700101,2\n,3\n", &o, NULL);
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_DATE);
    assert_true(kl_frame_col_time(f, 0)[0] == 18325 * 86400000000ll);
    assert_true(kl_frame_col_time(f, 0)[1] == 0);
    assert_true(kl_frame_col_time(f, 0)[2] == KL_TIME_MISSING);
    kl_frame_free(f);
    /* Without the override the column is an int. */
    f = read_ok("d,x\n20200304,1\n19700101,2\n");
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_INT);
    kl_frame_free(f);
}

static void test_csv_override_misfit_names_value_and_position(void **state)
{
    (void)state;
    kl_csv_override ov[] = {{.column = "age", .type = KL_TYPE_INT}};
    kl_csv_read_opts o = {.overrides = ov, .n_overrides = 1};
    expect_error("id,age\n1,30\n2,31.5\n3,x\n", &o, KL_EPARSE,
                 "cannot parse '31.5' as int in column 'age'", "t.csv:3:3");
    kl_csv_override ov2[] = {{.column = "d", .type = KL_TYPE_DATE, .time_format = "%Y-%m-%d"}};
    kl_csv_read_opts o2 = {.overrides = ov2, .n_overrides = 1};
    expect_error("d\n2020-01-01\n2020-02-30\n", &o2, KL_EPARSE,
                 "cannot parse '2020-02-30' as date in column 'd'", "t.csv:3:1");
}

static void test_csv_override_of_unknown_column_is_not_found(void **state)
{
    (void)state;
    kl_csv_override ov[] = {{.column = "nope", .type = KL_TYPE_INT}};
    kl_csv_read_opts o = {.overrides = ov, .n_overrides = 1};
    expect_error("a\n1\n", &o, KL_ENOTFOUND, "no column 'nope' to override", "t.csv");
}

/* ---- max_rows ---- */

static void test_csv_max_rows_stops_early(void **state)
{
    (void)state;
    kl_csv_read_opts o = {.max_rows = 2};
    /* The ragged row after the second data row is never read. */
    kl_frame *f = read_opts("a,b\n1,x\n2,y\n3\n", &o, NULL);
    assert_int_equal(kl_frame_row_count(f), 2);
    kl_frame_free(f);
    /* Fewer rows than the limit, blank lines among them. */
    kl_csv_read_opts o5 = {.max_rows = 5};
    f = read_opts("a,b\n1,x\n\n2,y\n", &o5, NULL);
    assert_int_equal(kl_frame_row_count(f), 2);
    assert_true(kl_frame_col_f64(f, 0)[1] == 2.0);
    assert_string_equal(text_at(f, 1, 1), "y");
    kl_frame_free(f);
}

/* ---- threads and chunks ---- */

/* Generated data with quotes, embedded newlines, CRLF, missing values and UTF-8. */
static char *gen_messy(size_t rows, unsigned seed)
{
    size_t cap = 64 + rows * 128;
    char *s = malloc(cap);
    size_t o = (size_t)snprintf(s, cap, "id,x,cat,txt,flag,d\n");
    uint64_t st = seed * 2654435761u + 1;
    for (size_t i = 0; i < rows; i++) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        unsigned r = (unsigned)(st >> 33);
        const char *cats[] = {"red", "green", "\"blue, dark\"", "NA", "", "\"\""};
        const char *txts[] = {"\"multi\nline\"", "\"say \"\"x\"\"\"", "plain", "\"cr\r\nlf\"",
                              "caf\xC3\xA9"};
        o += (size_t)snprintf(s + o, cap - o, "%zu,%s%u.%02u,%s,%s,%s,%s%s%s", i,
                              r % 7 == 0 ? "-" : "", r % 1000, r % 97, cats[r % 6],
                              txts[(r >> 3) % 5], (r >> 5) % 3 ? "true" : "false",
                              (r >> 7) % 4 ? "2021-05-" : "", (r >> 7) % 4 ? "17" : "",
                              (r >> 9) % 2 ? "\r\n" : "\n");
    }
    return s;
}

static void test_csv_frame_does_not_depend_on_threads_or_chunks(void **state)
{
    size_t rows = (size_t)(uintptr_t)*state;
    char *s = gen_messy(rows, 7);
    kl_csv_read_opts o = {.threads = 1};
    kl_frame *ref = read_opts(s, &o, NULL);
    assert_int_equal(kl_frame_row_count(ref), rows);
    assert_int_equal(kl_frame_col_type(ref, 1), KL_TYPE_FLOAT);
    assert_int_equal(kl_frame_col_type(ref, 2), KL_TYPE_CATEGORICAL);
    assert_int_equal(kl_frame_col_type(ref, 4), KL_TYPE_BOOL);
    assert_int_equal(kl_frame_col_type(ref, 5), KL_TYPE_DATE);
    uint8_t h0[32], h[32];
    hash_of(ref, h0);
    /* Tiny chunks on a small input, larger ones on a larger input. */
    size_t tiny[] = {1, 2, 3, 7, 13}, big[] = {64, 100, 1000, 4096, 0};
    size_t *sizes = rows <= 200 ? tiny : big;
    int threads[] = {1, 2, 4};
    for (size_t a = 0; a < 5; a++) {
        for (size_t t = 0; t < 3; t++) {
            kl__csv_set_chunk_bytes(sizes[a]);
            kl_threads_set(threads[t]);
            kl_csv_read_opts ot = {.threads = threads[t]};
            kl_frame *f = read_opts(s, &ot, NULL);
            hash_of(f, h);
            assert_memory_equal(h, h0, 32);
            /* Category codes, not only hashes, follow first appearance. */
            assert_memory_equal(kl_frame_col_codes(f, 2), kl_frame_col_codes(ref, 2),
                                rows * sizeof(int32_t));
            kl_frame_free(f);
        }
    }
    kl__csv_set_chunk_bytes(0);
    kl_threads_set(0);
    kl_frame_free(ref);
    free(s);
}

static void test_csv_skip_mode_and_blank_lines_do_not_depend_on_chunks(void **state)
{
    (void)state;
    char *base = gen_messy(300, 5);
    size_t n = strlen(base), cap = n + 4096, o = 0;
    char *s = malloc(cap);
    /* After some row ends (a '\n' followed by a row id, at offsets divisible by 7),
     * insert a ragged row and a blank line. */
    for (size_t i = 0; i < n; i++) {
        s[o++] = base[i];
        if (base[i] == '\n' && i + 2 < n && base[i + 1] >= '0' && base[i + 1] <= '9' &&
            (i % 7) == 0) {
            memcpy(s + o, "1,2\n\n", 5);
            o += 5;
        }
    }
    s[o] = '\0';
    kl_csv_read_opts o1 = {.threads = 1, .on_bad_rows = KL_CSV_BAD_ROWS_SKIP};
    kl_csv_report r1, r2;
    kl_frame *ref = read_opts(s, &o1, &r1);
    assert_true(r1.bad_rows > 0);
    uint8_t h0[32], h[32];
    kl_frame_hash(ref, h0);
    size_t sizes[] = {1, 4, 9, 100, 0};
    for (size_t a = 0; a < 5; a++) {
        kl__csv_set_chunk_bytes(sizes[a]);
        kl_csv_read_opts o2 = {.threads = 2, .on_bad_rows = KL_CSV_BAD_ROWS_SKIP};
        kl_frame *f = read_opts(s, &o2, &r2);
        kl_frame_hash(f, h);
        assert_memory_equal(h, h0, 32);
        assert_int_equal(r2.bad_rows, r1.bad_rows);
        assert_int_equal(r2.first_bad_line, r1.first_bad_line);
        kl_frame_free(f);
        kl_csv_report_release(&r2);
    }
    kl__csv_set_chunk_bytes(0);
    kl_csv_report_release(&r1);
    kl_frame_free(ref);
    free(s);
    free(base);
}

static void test_csv_errors_do_not_depend_on_chunks(void **state)
{
    (void)state;
    char *s = gen_messy(500, 3);
    size_t n = strlen(s);
    /* Put a stray quote into an unquoted number field near the end. */
    char *p = s + n - 200;
    while (*p != ',')
        p++;
    p[1] = '"';
    kl_err e0 = {0};
    kl_frame *f = NULL;
    kl_csv_read_opts o = {.threads = 1};
    assert_int_equal(kl_csv_read_buffer(s, n, "t.csv", &o, &f, NULL, &e0), KL_EPARSE);
    size_t sizes[] = {1, 5, 33, 512};
    for (size_t a = 0; a < 4; a++) {
        kl__csv_set_chunk_bytes(sizes[a]);
        kl_csv_read_opts ot = {.threads = 2};
        kl_err e = {0};
        assert_int_equal(kl_csv_read_buffer(s, n, "t.csv", &ot, &f, NULL, &e), KL_EPARSE);
        assert_string_equal(e.msg, e0.msg);
        assert_string_equal(e.ctx, e0.ctx);
    }
    kl__csv_set_chunk_bytes(0);
    free(s);
}

/* ---- real files ---- */

static kl_frame *read_data(const char *file)
{
    char path[1024];
    const char *src = getenv("KEEL_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/data/%s", src ? src : KEEL_SOURCE_DIR, file);
    kl_frame *f = NULL;
    kl_err err = {0};
    if (kl_csv_read_file(path, NULL, &f, NULL, &err) != 0)
        fail_msg("%s: %s (%s)", file, err.msg, err.ctx);
    return f;
}

static void test_csv_iris_shape_and_types(void **state)
{
    (void)state;
    kl_frame *f = read_data("iris.csv");
    assert_int_equal(kl_frame_row_count(f), 150);
    assert_int_equal(kl_frame_col_count(f), 5);
    for (size_t j = 0; j < 4; j++)
        assert_int_equal(kl_frame_col_type(f, j), KL_TYPE_FLOAT);
    assert_int_equal(kl_frame_col_type(f, 4), KL_TYPE_INT);
    assert_true(kl_frame_col_f64(f, 0)[0] == 5.1);
    kl_frame_free(f);
}

static void test_csv_adult_categoricals_and_missing(void **state)
{
    (void)state;
    kl_frame *f = read_data("adult_2000.csv");
    assert_int_equal(kl_frame_row_count(f), 2000);
    assert_int_equal(kl_frame_col_count(f), 15);
    long wc = kl_frame_col_index(f, "workclass");
    assert_true(wc >= 0);
    assert_int_equal(kl_frame_col_type(f, (size_t)wc), KL_TYPE_CATEGORICAL);
    /* Counted with Python's csv module: 123 empty workclass and occupation, 39 native_country;
     * workclass categories in order of first appearance. */
    assert_int_equal(kl_frame_col_missing(f, (size_t)wc), 123);
    assert_int_equal(kl_frame_col_missing(f, (size_t)kl_frame_col_index(f, "occupation")), 123);
    assert_int_equal(kl_frame_col_missing(f, (size_t)kl_frame_col_index(f, "native_country")),
                     39);
    size_t nd;
    const char *const *dict = kl_frame_col_dict(f, (size_t)wc, &nd);
    const char *want[] = {"State-gov",    "Self-emp-not-inc", "Private",    "Federal-gov",
                          "Local-gov",    "Self-emp-inc",     "Without-pay"};
    assert_int_equal(nd, 7);
    for (size_t k = 0; k < 7; k++)
        assert_string_equal(dict[k], want[k]);
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_INT);
    kl_frame_free(f);
}

static void test_csv_compas_types(void **state)
{
    (void)state;
    kl_frame *f = read_data("compas_two_years.csv");
    assert_int_equal(kl_frame_row_count(f), 7214);
    assert_int_equal(kl_frame_col_count(f), 51);
    struct {
        const char *col;
        enum kl_type type;
    } want[] = {
        {"id", KL_TYPE_INT},
        {"name", KL_TYPE_TEXT},
        {"first", KL_TYPE_TEXT},
        {"sex", KL_TYPE_CATEGORICAL},
        {"dob", KL_TYPE_DATE},
        {"c_jail_in", KL_TYPE_DATETIME},
        {"c_case_number", KL_TYPE_TEXT},
        {"c_charge_desc", KL_TYPE_CATEGORICAL},
        {"r_jail_in", KL_TYPE_DATE},
        {"type_of_assessment", KL_TYPE_CATEGORICAL},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        long j = kl_frame_col_index(f, want[k].col);
        assert_true(j >= 0);
        if (kl_frame_col_type(f, (size_t)j) != want[k].type)
            fail_msg("%s: got %s", want[k].col, kl_type_name(kl_frame_col_type(f, (size_t)j)));
    }
    /* A quoted field holding a comma (row of id 14). */
    long j = kl_frame_col_index(f, "c_charge_desc");
    long id = kl_frame_col_index(f, "id");
    const double *ids = kl_frame_col_f64(f, (size_t)id);
    size_t i = 0;
    while (i < 7214 && ids[i] != 14)
        i++;
    assert_true(i < 7214);
    assert_string_equal(text_at(f, i, (size_t)j), "Poss 3,4 MDMA (Ecstasy)");
    /* Counted with Python: 307 missing c_jail_in. */
    assert_int_equal(kl_frame_col_missing(f, (size_t)kl_frame_col_index(f, "c_jail_in")), 307);
    kl_frame_free(f);
}

static void test_csv_time_series_files_have_date_columns(void **state)
{
    (void)state;
    kl_frame *f = read_data("airline_passengers.csv");
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_DATE);
    assert_string_equal(kl_frame_col_time_format(f, 0), "%Y-%m");
    assert_int_equal(kl_frame_col_type(f, 1), KL_TYPE_INT);
    kl_frame_free(f);
    f = read_data("danish_data.csv");
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_DATE);
    assert_string_equal(kl_frame_col_time_format(f, 0), "%YQ%q");
    kl_frame_free(f);
    f = read_data("co2.csv");
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_DATE);
    assert_string_equal(kl_frame_col_time_format(f, 0), "%Y-%m-%d");
    kl_frame_free(f);
    f = read_data("macrodata.csv");
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_INT); /* year 1959 stays an int */
    kl_frame_free(f);
}

/*
 * A reference splitter, written for this test only (a plain RFC 4180 state
 * machine), gives each field's text; every numeric cell must equal strtod.
 */
typedef struct ref_row {
    char **f;
    size_t n;
} ref_row;

static size_t ref_split(const char *s, size_t len, ref_row **rows_out)
{
    size_t cap = 1024, nr = 0;
    ref_row *rows = calloc(cap, sizeof *rows);
    size_t i = 0;
    char *buf = malloc(len + 1);
    while (i < len) {
        ref_row r = {calloc(256, sizeof(char *)), 0};
        for (;;) {
            size_t o = 0;
            if (i < len && s[i] == '"') {
                i++;
                while (i < len) {
                    if (s[i] == '"' && i + 1 < len && s[i + 1] == '"') {
                        buf[o++] = '"';
                        i += 2;
                    } else if (s[i] == '"') {
                        i++;
                        break;
                    } else {
                        buf[o++] = s[i++];
                    }
                }
            } else {
                while (i < len && s[i] != ',' && s[i] != '\n')
                    buf[o++] = s[i++];
            }
            if (o && buf[o - 1] == '\r')
                o--;
            buf[o] = '\0';
            r.f[r.n++] = strdup(buf);
            if (i < len && s[i] == ',') {
                i++;
                continue;
            }
            i++;
            break;
        }
        if (nr == cap)
            rows = realloc(rows, (cap *= 2) * sizeof *rows);
        rows[nr++] = r;
    }
    free(buf);
    *rows_out = rows;
    return nr;
}

static char *slurp(const char *file, size_t *len)
{
    char path[1024];
    const char *src = getenv("KEEL_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/data/%s", src ? src : KEEL_SOURCE_DIR, file);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    s[n] = '\0';
    *len = (size_t)n;
    return s;
}

static const char *real_files[] = {
    "adult_2000.csv", "airline_passengers.csv", "breast_cancer.csv", "co2.csv",
    "compas_two_years.csv", "danish_data.csv", "diabetes.csv", "elnino_monthly.csv",
    "iris.csv", "longley.csv", "macrodata.csv", "nile.csv", "statecrime.csv",
    "sunspots.csv", "weather_5000.csv", "wine.csv",
};

static void test_csv_real_numbers_equal_strtod(void **state)
{
    (void)state;
    size_t checked = 0;
    for (size_t k = 0; k < sizeof real_files / sizeof real_files[0]; k++) {
        size_t len;
        char *s = slurp(real_files[k], &len);
        ref_row *rows;
        size_t nr = ref_split(s, len, &rows);
        kl_frame *f = read_data(real_files[k]);
        assert_int_equal(kl_frame_row_count(f), nr - 1);
        for (size_t j = 0; j < kl_frame_col_count(f); j++) {
            assert_string_equal(kl_frame_col_name(f, j), rows[0].f[j]);
            const double *v = kl_frame_col_f64(f, j);
            if (!v)
                continue;
            for (size_t i = 0; i + 1 < nr; i++) {
                const char *t = rows[i + 1].f[j];
                if (!*t) {
                    assert_true(isnan(v[i]));
                    continue;
                }
                double want = strtod(t, NULL);
                if (memcmp(&want, &v[i], sizeof want) != 0)
                    fail_msg("%s row %zu col %zu: '%s' gave %.17g", real_files[k], i, j, t,
                             v[i]);
                checked++;
            }
        }
        for (size_t i = 0; i < nr; i++) {
            for (size_t j = 0; j < rows[i].n; j++)
                free(rows[i].f[j]);
            free(rows[i].f);
        }
        free(rows);
        kl_frame_free(f);
        free(s);
    }
    assert_true(checked > 200000);
}

static void test_csv_random_17_digit_numbers_equal_strtod(void **state)
{
    (void)state;
    size_t n = 20000, cap = 32 + n * 40, o = 0;
    char *s = malloc(cap);
    o += (size_t)snprintf(s, cap, "x\n");
    uint64_t st = 12345;
    for (size_t i = 0; i < n; i++) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t m = (st >> 8) % 100000000000000000ull;
        int e = (int)((st >> 2) % 40) - 20;
        int form = (int)(st % 3);
        if (form == 0)
            o += (size_t)snprintf(s + o, cap - o, "%s0.%017llu\n", (st >> 63) ? "-" : "",
                                  (unsigned long long)m);
        else if (form == 1)
            o += (size_t)snprintf(s + o, cap - o, "%llu.%llu\n",
                                  (unsigned long long)(m / 100000000ull),
                                  (unsigned long long)(m % 100000000ull));
        else
            o += (size_t)snprintf(s + o, cap - o, "%llue%d\n", (unsigned long long)m, e);
    }
    kl_frame *f = read_ok(s);
    const double *v = kl_frame_col_f64(f, 0);
    const char *p = s + 2;
    for (size_t i = 0; i < n; i++) {
        char *end;
        double want = strtod(p, &end);
        if (memcmp(&want, &v[i], sizeof want) != 0)
            fail_msg("'%.*s' gave %.17g, strtod %.17g", (int)(end - p), p, v[i], want);
        p = end + 1;
    }
    kl_frame_free(f);
    free(s);
}

static void test_csv_short_exponents_equal_strtod(void **state)
{
    (void)state;
    size_t n = 20000, cap = 32 + n * 48, o = 0;
    char *s = malloc(cap);
    o += (size_t)snprintf(s, cap, "x\n");
    uint64_t st = 777;
    for (size_t i = 0; i < n; i++) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t m = (st >> 11) % 9007199254740993ull; /* up to 2^53 */
        int digits = (int)((st >> 3) % 16) + 1;
        uint64_t p10 = 1;
        for (int k = 0; k < digits; k++)
            p10 *= 10;
        m %= p10;
        int e = (int)((st >> 5) % 61) - 30;
        const char *sep = (st >> 9) & 1 ? "E" : "e";
        if ((st >> 10) % 3 == 0)
            o += (size_t)snprintf(s + o, cap - o, "%s%llu.%u%s%+d\n", (st >> 12) & 1 ? "-" : "",
                                  (unsigned long long)m, (unsigned)(st >> 40) % 1000, sep, e);
        else
            o += (size_t)snprintf(s + o, cap - o, "%llu%s%d\n", (unsigned long long)m, sep, e);
    }
    kl_frame *f = read_ok(s);
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_FLOAT);
    const double *v = kl_frame_col_f64(f, 0);
    const char *p = s + 2;
    for (size_t i = 0; i < n; i++) {
        char *end;
        double want = strtod(p, &end);
        if (memcmp(&want, &v[i], sizeof want) != 0)
            fail_msg("'%.*s' gave %.17g, strtod %.17g", (int)(end - p), p, v[i], want);
        p = end + 1;
    }
    kl_frame_free(f);
    free(s);
    /* An exponent makes a float even when the value is whole. */
    f = read_ok("x\n1e3\n2E+1\n");
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_FLOAT);
    assert_true(kl_frame_col_f64(f, 0)[0] == 1000.0);
    kl_frame_free(f);
    /* Not numbers: the column is categorical. */
    f = read_ok("x\n1e\n2e+\ne5\n");
    assert_int_equal(kl_frame_col_kind(f, 0), KL_COL_KIND_CATEGORICAL);
    kl_frame_free(f);
}

/* ---- writer round trip ---- */

static void round_trip(const kl_frame *f, const kl_csv_write_opts *wo)
{
    char *out = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&out, &len);
    kl_err err = {0};
    assert_int_equal(kl_csv_write_stream(f, fp, wo, &err), 0);
    fclose(fp);
    kl_frame *g = NULL;
    kl_csv_read_opts o = {.delimiter = wo ? wo->delimiter : 0};
    if (kl_csv_read_buffer(out, len, "rt.csv", &o, &g, NULL, &err) != 0)
        fail_msg("read back: %s (%s)", err.msg, err.ctx);
    uint8_t a[32], b[32];
    kl_frame_hash(f, a);
    kl_frame_hash(g, b);
    for (size_t j = 0; j < kl_frame_col_count(f); j++)
        if (kl_frame_col_type(f, j) != kl_frame_col_type(g, j))
            fail_msg("column %s: %s became %s", kl_frame_col_name(f, j),
                     kl_type_name(kl_frame_col_type(f, j)), kl_type_name(kl_frame_col_type(g, j)));
    assert_memory_equal(a, b, 32);
    kl_frame_schema_hash(f, a);
    kl_frame_schema_hash(g, b);
    assert_memory_equal(a, b, 32);
    kl_frame_free(g);
    free(out);
}

static void test_csv_writer_round_trips_real_files(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof real_files / sizeof real_files[0]; k++) {
        kl_frame *f = read_data(real_files[k]);
        round_trip(f, NULL);
        kl_csv_write_opts wo = {.delimiter = ';', .crlf = 1};
        round_trip(f, &wo);
        kl_frame_free(f);
    }
}

static void test_csv_writer_round_trips_messy_values(void **state)
{
    (void)state;
    char *s = gen_messy(400, 11);
    kl_frame *f = read_ok(s);
    round_trip(f, NULL);
    kl_frame_free(f);
    free(s);
    f = read_ok("f,t,n\n1.0,\"NA\",\n2.5,\"\",\n1e300,\"a\"\"b\",\n-0.0,\"x\ny\",\n");
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_FLOAT);
    round_trip(f, NULL);
    kl_frame_free(f);
}

static void test_csv_writer_output_is_exact(void **state)
{
    (void)state;
    kl_frame *f = read_ok("i,f,s,b,d\n1,1.0,\"a,b\",true,2020-03-04\n,2.5,\"\",,\n3,,NA,false,\n");
    char *out = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&out, &len);
    kl_err err = {0};
    assert_int_equal(kl_csv_write_stream(f, fp, NULL, &err), 0);
    fclose(fp);
    assert_string_equal(out, "i,f,s,b,d\n1,1.0,\"a,b\",true,2020-03-04\n,2.5,\"\",,\n3,,,false,\n");
    free(out);
    kl_frame_free(f);
}

static void test_csv_write_file_replaces_atomically(void **state)
{
    (void)state;
    char dir[] = "/tmp/keel_csv_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], tmp[260];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    kl_frame *f = read_ok("a,b\n1,x\n2,\"y,z\"\n");
    kl_err err = {0};
    assert_int_equal(kl_csv_write_file(f, path, NULL, &err), 0);
    assert_int_equal(kl_csv_write_file(f, path, NULL, &err), 0);
    FILE *fp = fopen(tmp, "rb");
    assert_null(fp);
    kl_frame *g = NULL;
    assert_int_equal(kl_csv_read_file(path, NULL, &g, NULL, &err), 0);
    uint8_t a[32], b[32];
    kl_frame_hash(f, a);
    kl_frame_hash(g, b);
    assert_memory_equal(a, b, 32);
    /* A directory that does not exist: an error, nothing left behind. */
    char bad[300];
    snprintf(bad, sizeof bad, "%s/no/such/dir.csv", dir);
    assert_int_equal(kl_csv_write_file(f, bad, NULL, &err), KL_EIO);
    remove(path);
    rmdir(dir);
    kl_frame_free(f);
    kl_frame_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_simple_file_reads_values_and_types),
        cmocka_unit_test(test_csv_quoted_field_keeps_delimiter_and_doubled_quote),
        cmocka_unit_test(test_csv_newlines_inside_quotes_are_kept),
        cmocka_unit_test(test_csv_crlf_row_ends_are_stripped),
        cmocka_unit_test(test_csv_last_row_without_newline_is_read),
        cmocka_unit_test(test_csv_utf8_bom_is_skipped),
        cmocka_unit_test(test_csv_blank_lines_are_skipped_when_several_columns),
        cmocka_unit_test(test_csv_utf8_text_is_kept),
        cmocka_unit_test(test_csv_delimiter_is_detected),
        cmocka_unit_test(test_csv_given_delimiter_is_used),
        cmocka_unit_test(test_csv_duplicate_and_empty_names_are_made_unique),
        cmocka_unit_test(test_csv_many_repeated_names_are_renamed_in_order),
        cmocka_unit_test(test_csv_no_header_names_columns),
        cmocka_unit_test(test_csv_quoted_header_names_are_unquoted),
        cmocka_unit_test(test_csv_ragged_row_is_an_error_with_position),
        cmocka_unit_test(test_csv_unterminated_quote_names_where_it_opened),
        cmocka_unit_test(test_csv_quote_inside_unquoted_field_is_an_error),
        cmocka_unit_test(test_csv_text_after_closing_quote_is_an_error),
        cmocka_unit_test(test_csv_invalid_utf8_names_the_byte),
        cmocka_unit_test(test_csv_nul_byte_is_an_error),
        cmocka_unit_test(test_csv_empty_and_header_only_files_are_errors),
        cmocka_unit_test(test_csv_error_names_display_name),
        cmocka_unit_test(test_csv_missing_file_is_not_found),
        cmocka_unit_test(test_csv_skip_mode_drops_and_counts_bad_rows),
        cmocka_unit_test(test_csv_skip_mode_keeps_structural_errors),
        cmocka_unit_test(test_csv_default_missing_tokens_are_missing_unquoted_only),
        cmocka_unit_test(test_csv_quoted_empty_is_missing_in_numeric_columns),
        cmocka_unit_test(test_csv_custom_missing_tokens_replace_defaults),
        cmocka_unit_test(test_csv_infers_int_float_bool),
        cmocka_unit_test(test_csv_int_beyond_2_pow_53_is_float),
        cmocka_unit_test(test_csv_all_missing_column_is_float),
        cmocka_unit_test(test_csv_infers_dates_and_datetimes),
        cmocka_unit_test(test_csv_day_month_order_is_decided_by_the_values),
        cmocka_unit_test(test_csv_ambiguous_day_month_column_stays_text_with_warning),
        cmocka_unit_test(test_csv_mixed_values_are_strings),
        cmocka_unit_test(test_csv_categorical_or_text_by_cardinality),
        cmocka_unit_test(test_csv_categories_follow_first_appearance),
        cmocka_unit_test(test_csv_override_forces_type),
        cmocka_unit_test(test_csv_override_reads_compact_dates),
        cmocka_unit_test(test_csv_override_misfit_names_value_and_position),
        cmocka_unit_test(test_csv_override_of_unknown_column_is_not_found),
        cmocka_unit_test(test_csv_max_rows_stops_early),
        cmocka_unit_test_prestate(test_csv_frame_does_not_depend_on_threads_or_chunks,
                                  (void *)(uintptr_t)150),
        cmocka_unit_test_prestate(test_csv_frame_does_not_depend_on_threads_or_chunks,
                                  (void *)(uintptr_t)3000),
        cmocka_unit_test(test_csv_skip_mode_and_blank_lines_do_not_depend_on_chunks),
        cmocka_unit_test(test_csv_errors_do_not_depend_on_chunks),
        cmocka_unit_test(test_csv_iris_shape_and_types),
        cmocka_unit_test(test_csv_adult_categoricals_and_missing),
        cmocka_unit_test(test_csv_compas_types),
        cmocka_unit_test(test_csv_time_series_files_have_date_columns),
        cmocka_unit_test(test_csv_real_numbers_equal_strtod),
        cmocka_unit_test(test_csv_random_17_digit_numbers_equal_strtod),
        cmocka_unit_test(test_csv_short_exponents_equal_strtod),
        cmocka_unit_test(test_csv_writer_round_trips_real_files),
        cmocka_unit_test(test_csv_writer_round_trips_messy_values),
        cmocka_unit_test(test_csv_writer_output_is_exact),
        cmocka_unit_test(test_csv_write_file_replaces_atomically),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
