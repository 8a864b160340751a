/*
 * Unit tests of kl_frame: construction of every kind, getters, missing
 * counts, cell rendering, the operations and the content hashes. Expected
 * values are hand-computed (orders, counts) or come from an independent
 * implementation (SHA-256 digests computed with Python's hashlib from the
 * byte stream documented in lib/data/frame_hash.c).
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

#include "keel/frame.h"
#include "data/frame_internal.h"

/* ---- helpers ---- */

static kl_frame *frame_or_die(size_t n)
{
    kl_frame *f = kl_frame_new(n);
    assert_non_null(f);
    return f;
}

static void cell_eq(const kl_frame *f, size_t i, size_t j, const char *want)
{
    char buf[128];
    int present = kl_frame_cell_str(f, i, j, buf, sizeof buf);
    assert_string_equal(buf, want);
    assert_int_equal(present, want[0] != '\0');
}

/* ---- construction and getters ---- */

static void test_frame_new_has_rows_and_no_columns(void **state)
{
    (void)state;
    kl_frame *f = frame_or_die(7);
    assert_int_equal(kl_frame_row_count(f), 7);
    assert_int_equal(kl_frame_col_count(f), 0);
    assert_int_equal(kl_frame_col_index(f, "x"), -1);
    assert_int_equal(kl_frame_infer_version(f), 0);
    kl_frame_set_infer_version(f, 3);
    assert_int_equal(kl_frame_infer_version(f), 3);
    kl_frame_free(f);
    kl_frame_free(NULL);
}

static void test_frame_add_each_kind_and_read_it_back(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = frame_or_die(3);
    const double num[] = {1.5, NAN, -2};
    const uint8_t b[] = {1, KL_BOOL_MISSING, 0};
    const char *cat[] = {"red", NULL, "red"};
    const char *txt[] = {"hello", "", NULL};
    const int64_t t[] = {0, KL_TIME_MISSING, 86400000000ll};
    assert_int_equal(kl_frame_add_numeric(f, "num", KL_TYPE_FLOAT, num, &err), 0);
    assert_int_equal(kl_frame_add_bool(f, "b", b, &err), 0);
    assert_int_equal(kl_frame_add_categorical(f, "cat", cat, &err), 0);
    assert_int_equal(kl_frame_add_text(f, "txt", txt, &err), 0);
    assert_int_equal(kl_frame_add_time(f, "t", KL_TYPE_DATE, t, "%Y-%m-%d", &err), 0);
    assert_int_equal(kl_frame_col_count(f), 5);

    assert_int_equal(kl_frame_col_index(f, "cat"), 2);
    assert_string_equal(kl_frame_col_name(f, 4), "t");
    assert_int_equal(kl_frame_col_kind(f, 0), KL_COL_KIND_NUMERIC);
    assert_int_equal(kl_frame_col_kind(f, 1), KL_COL_KIND_BOOL);
    assert_int_equal(kl_frame_col_kind(f, 2), KL_COL_KIND_CATEGORICAL);
    assert_int_equal(kl_frame_col_kind(f, 3), KL_COL_KIND_TEXT);
    assert_int_equal(kl_frame_col_kind(f, 4), KL_COL_KIND_TIME);
    assert_int_equal(kl_frame_col_type(f, 0), KL_TYPE_FLOAT);
    assert_int_equal(kl_frame_col_type(f, 2), KL_TYPE_CATEGORICAL);
    assert_int_equal(kl_frame_col_type(f, 4), KL_TYPE_DATE);

    const double *v = kl_frame_col_f64(f, 0);
    assert_non_null(v);
    assert_true(v[0] == 1.5 && isnan(v[1]) && v[2] == -2);
    assert_null(kl_frame_col_f64(f, 1));
    assert_memory_equal(kl_frame_col_bool(f, 1), b, 3);

    size_t n_dict = 99;
    const char *const *dict = kl_frame_col_dict(f, 2, &n_dict);
    assert_int_equal(n_dict, 1);
    assert_string_equal(dict[0], "red");
    const int32_t *codes = kl_frame_col_codes(f, 2);
    assert_int_equal(codes[0], 0);
    assert_int_equal(codes[1], KL_CAT_MISSING);
    assert_int_equal(codes[2], 0);
    assert_null(kl_frame_col_dict(f, 0, &n_dict));
    assert_int_equal(n_dict, 0);

    const char *const *s = kl_frame_col_text(f, 3);
    assert_string_equal(s[0], "hello");
    assert_string_equal(s[1], "");
    assert_null(s[2]);
    assert_true(s[0] != txt[0]); /* copied */

    assert_memory_equal(kl_frame_col_time(f, 4), t, sizeof t);
    assert_string_equal(kl_frame_col_time_format(f, 4), "%Y-%m-%d");
    assert_null(kl_frame_col_time_format(f, 0));
    assert_null(kl_frame_col_time(f, 0));
    assert_null(kl_frame_col_text(f, 2));
    assert_null(kl_frame_col_codes(f, 3));
    assert_null(kl_frame_col_bool(f, 0));
    kl_frame_free(f);
}

static void test_frame_categorical_dictionary_is_first_appearance(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = frame_or_die(6);
    const char *v[] = {"b", "a", "b", NULL, "c", "a"};
    assert_int_equal(kl_frame_add_categorical(f, "x", v, &err), 0);
    size_t n;
    const char *const *dict = kl_frame_col_dict(f, 0, &n);
    assert_int_equal(n, 3);
    assert_string_equal(dict[0], "b");
    assert_string_equal(dict[1], "a");
    assert_string_equal(dict[2], "c");
    const int32_t want[] = {0, 1, 0, -1, 2, 1};
    assert_memory_equal(kl_frame_col_codes(f, 0), want, sizeof want);
    kl_frame_free(f);
}

static void test_frame_categorical_many_categories_grow_the_set(void **state)
{
    (void)state;
    enum { N = 5000 };
    kl_err err = {0};
    static char bufs[N][16];
    static const char *vals[2 * N];
    for (size_t i = 0; i < N; i++) {
        snprintf(bufs[i], sizeof bufs[i], "k%zu", i);
        vals[i] = bufs[i];
        vals[N + i] = bufs[N - 1 - i];
    }
    kl_frame *f = frame_or_die(2 * N);
    assert_int_equal(kl_frame_add_categorical(f, "x", vals, &err), 0);
    size_t n;
    kl_frame_col_dict(f, 0, &n);
    assert_int_equal(n, N);
    const int32_t *codes = kl_frame_col_codes(f, 0);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(codes[i], (int32_t)i);
        assert_int_equal(codes[N + i], (int32_t)(N - 1 - i));
    }
    kl_frame_free(f);
}

static void test_frame_add_categorical_codes_copies_dictionary(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = frame_or_die(4);
    char d0[] = "x", d1[] = "y";
    const char *dict[] = {d0, d1};
    const int32_t codes[] = {1, -1, 0, 1};
    assert_int_equal(kl_frame_add_categorical_codes(f, "c", codes, dict, 2, &err), 0);
    d0[0] = 'z';
    size_t n;
    const char *const *got = kl_frame_col_dict(f, 0, &n);
    assert_int_equal(n, 2);
    assert_string_equal(got[0], "x");
    assert_memory_equal(kl_frame_col_codes(f, 0), codes, sizeof codes);
    cell_eq(f, 0, 0, "y");
    cell_eq(f, 1, 0, "");
    kl_frame_free(f);
}

static void test_frame_rejects_duplicate_and_empty_names(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = frame_or_die(1);
    const double v[] = {1};
    assert_int_equal(kl_frame_add_numeric(f, "age", KL_TYPE_FLOAT, v, &err), 0);
    assert_int_equal(kl_frame_add_numeric(f, "age", KL_TYPE_FLOAT, v, &err), KL_EINVAL);
    assert_int_equal(err.code, KL_EINVAL);
    assert_string_equal(err.msg, "duplicate column name 'age'");
    assert_int_equal(kl_frame_add_numeric(f, "", KL_TYPE_FLOAT, v, &err), KL_EINVAL);
    assert_string_equal(err.msg, "column name is empty");
    const char *s[] = {"a"};
    assert_int_equal(kl_frame_add_text(f, "age", s, &err), KL_EINVAL);
    assert_int_equal(kl_frame_col_count(f), 1);
    kl_frame_free(f);
}

static void test_frame_rejects_type_of_another_kind(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = frame_or_die(1);
    const double v[] = {1};
    const int64_t t[] = {0};
    assert_int_equal(kl_frame_add_numeric(f, "a", KL_TYPE_DATE, v, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "'a'"));
    assert_int_equal(kl_frame_add_time(f, "b", KL_TYPE_INT, t, NULL, &err), KL_EINVAL);
    assert_int_equal(kl_frame_col_count(f), 0);
    kl_frame_free(f);
}

static void test_frame_rejects_values_outside_their_kind(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = frame_or_die(2);
    const double frac[] = {1, 2.5};
    const double big[] = {9007199254740994.0, 0};
    const double ok[] = {-9007199254740992.0, NAN};
    const uint8_t b[] = {0, 2};
    const int32_t codes[] = {0, 1};
    const char *dict1[] = {"a"};
    const char *dupdict[] = {"a", "a"};
    const int64_t notday[] = {0, 1};
    assert_int_equal(kl_frame_add_numeric(f, "i", KL_TYPE_INT, frac, &err), KL_EINVAL);
    assert_int_equal(kl_frame_add_numeric(f, "i", KL_TYPE_INT, big, &err), KL_EINVAL);
    assert_int_equal(kl_frame_add_numeric(f, "i", KL_TYPE_INT, ok, &err), 0);
    assert_int_equal(kl_frame_add_bool(f, "b", b, &err), KL_EINVAL);
    assert_int_equal(kl_frame_add_categorical_codes(f, "c", codes, dict1, 1, &err), KL_ERANGE);
    assert_int_equal(kl_frame_add_categorical_codes(f, "c", codes, dupdict, 2, &err), KL_EINVAL);
    assert_string_equal(err.msg, "duplicate category 'a' in column 'c'");
    assert_int_equal(kl_frame_add_time(f, "d", KL_TYPE_DATE, notday, NULL, &err), KL_EINVAL);
    assert_int_equal(kl_frame_add_time(f, "d", KL_TYPE_DATETIME, notday, NULL, &err), 0);
    assert_int_equal(kl_frame_col_count(f), 2);
    kl_frame_free(f);
}

static void test_frame_adopt_takes_buffers_without_copying(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = frame_or_die(3);
    double *v = malloc(3 * sizeof *v);
    v[0] = 1, v[1] = 2, v[2] = 3;
    assert_int_equal(kl__frame_adopt_numeric(f, "v", KL_TYPE_INT, v, &err), 0);
    assert_ptr_equal(kl_frame_col_f64(f, 0), v);

    uint8_t *b = malloc(3);
    b[0] = 1, b[1] = 0, b[2] = KL_BOOL_MISSING;
    assert_int_equal(kl__frame_adopt_bool(f, "b", b, &err), 0);
    assert_ptr_equal(kl_frame_col_bool(f, 1), b);

    int64_t *t = malloc(3 * sizeof *t);
    t[0] = 0, t[1] = 1000000, t[2] = KL_TIME_MISSING;
    assert_int_equal(kl__frame_adopt_time(f, "t", KL_TYPE_DATETIME, t, "%Y-%m-%d %H:%M:%S", &err),
                     0);
    assert_string_equal(kl_frame_col_time_format(f, 2), "%Y-%m-%d %H:%M:%S");

    char *pool = malloc(8);
    memcpy(pool, "lo\0high", 8);
    char **dict = malloc(2 * sizeof *dict);
    dict[0] = pool, dict[1] = pool + 3;
    int32_t *codes = malloc(3 * sizeof *codes);
    codes[0] = 1, codes[1] = -1, codes[2] = 0;
    assert_int_equal(kl__frame_adopt_categorical(f, "c", codes, dict, 2, pool, &err), 0);
    assert_ptr_equal(kl_frame_col_dict(f, 3, NULL), dict);
    cell_eq(f, 0, 3, "high");

    char *tp = malloc(4);
    memcpy(tp, "a\0b", 4);
    char **tv = malloc(3 * sizeof *tv);
    tv[0] = tp + 2, tv[1] = NULL, tv[2] = tp;
    assert_int_equal(kl__frame_adopt_text(f, "s", tv, tp, &err), 0);
    cell_eq(f, 0, 4, "b");
    cell_eq(f, 2, 4, "a");

    /* On failure the buffers are freed (ASan would report a leak otherwise). */
    double *dup = malloc(3 * sizeof *dup);
    assert_int_equal(kl__frame_adopt_numeric(f, "v", KL_TYPE_FLOAT, dup, &err), KL_EINVAL);
    char *p2 = malloc(4);
    memcpy(p2, "a\0a", 4);
    char **d2 = malloc(2 * sizeof *d2);
    d2[0] = p2, d2[1] = p2 + 2;
    int32_t *c2 = calloc(3, sizeof *c2);
    assert_int_equal(kl__frame_adopt_categorical(f, "c2", c2, d2, 2, p2, &err), KL_EINVAL);
    assert_int_equal(kl_frame_col_count(f), 5);
    kl_frame_free(f);
}

static void test_frame_zero_rows_columns_have_non_null_views(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = frame_or_die(0);
    assert_int_equal(kl_frame_add_numeric(f, "a", KL_TYPE_FLOAT, NULL, &err), 0);
    assert_int_equal(kl_frame_add_categorical(f, "c", NULL, &err), 0);
    assert_int_equal(kl__frame_adopt_text(f, "t", NULL, NULL, &err), 0);
    assert_non_null(kl_frame_col_f64(f, 0));
    assert_non_null(kl_frame_col_codes(f, 1));
    assert_non_null(kl_frame_col_dict(f, 1, NULL));
    assert_non_null(kl_frame_col_text(f, 2));
    assert_int_equal(kl_frame_col_missing(f, 0), 0);
    kl_frame_free(f);
}

static void test_frame_missing_counts_per_kind(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = frame_or_die(4);
    const double num[] = {NAN, 1, -NAN, INFINITY};
    const uint8_t b[] = {KL_BOOL_MISSING, 0, 1, KL_BOOL_MISSING};
    const char *cat[] = {NULL, NULL, NULL, "x"};
    const char *txt[] = {"", NULL, "a", "b"};
    const int64_t t[] = {KL_TIME_MISSING, KL_TIME_MISSING, 0, KL_TIME_MISSING};
    assert_int_equal(kl_frame_add_numeric(f, "n", KL_TYPE_FLOAT, num, &err), 0);
    assert_int_equal(kl_frame_add_bool(f, "b", b, &err), 0);
    assert_int_equal(kl_frame_add_categorical(f, "c", cat, &err), 0);
    assert_int_equal(kl_frame_add_text(f, "s", txt, &err), 0);
    assert_int_equal(kl_frame_add_time(f, "t", KL_TYPE_DATETIME, t, NULL, &err), 0);
    assert_int_equal(kl_frame_col_missing(f, 0), 2);
    assert_int_equal(kl_frame_col_missing(f, 1), 2);
    assert_int_equal(kl_frame_col_missing(f, 2), 3);
    assert_int_equal(kl_frame_col_missing(f, 3), 1);
    assert_int_equal(kl_frame_col_missing(f, 4), 3);
    assert_int_equal(kl_frame_col_missing(f, 0), 2); /* cached answer agrees */
    kl_frame_free(f);
}

/* ---- names ---- */

static void test_frame_type_names_round_trip(void **state)
{
    (void)state;
    const enum kl_type all[] = {KL_TYPE_INT,      KL_TYPE_FLOAT,       KL_TYPE_BOOL, KL_TYPE_DATE,
                                KL_TYPE_DATETIME, KL_TYPE_CATEGORICAL, KL_TYPE_TEXT};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        assert_int_equal(kl_type_parse(kl_type_name(all[i])), all[i]);
    assert_string_equal(kl_type_name(KL_TYPE_DATETIME), "datetime");
    assert_int_equal(kl_type_parse("double"), -1);
    assert_int_equal(kl_type_parse(NULL), -1);
    assert_int_equal(kl_type_kind(KL_TYPE_INT), KL_COL_KIND_NUMERIC);
    assert_int_equal(kl_type_kind(KL_TYPE_DATE), KL_COL_KIND_TIME);
    assert_int_equal(kl_type_kind(KL_TYPE_TEXT), KL_COL_KIND_TEXT);
    assert_string_equal(kl_col_kind_name(KL_COL_KIND_CATEGORICAL), "categorical");
    assert_string_equal(kl_col_kind_name(KL_COL_KIND_TIME), "time");
}

/* ---- cell rendering ---- */

static void test_frame_cell_str_numbers_are_shortest_round_trip(void **state)
{
    (void)state;
    kl_err err = {0};
    const double v[] = {0.1, 1.0 / 3.0, 100, -2.5e-300, NAN, INFINITY, 1e21, 0.30000000000000004};
    kl_frame *f = frame_or_die(8);
    assert_int_equal(kl_frame_add_numeric(f, "x", KL_TYPE_FLOAT, v, &err), 0);
    cell_eq(f, 0, 0, "0.1");
    cell_eq(f, 1, 0, "0.3333333333333333");
    cell_eq(f, 2, 0, "100");
    cell_eq(f, 3, 0, "-2.5e-300");
    cell_eq(f, 4, 0, "");
    cell_eq(f, 5, 0, "inf");
    cell_eq(f, 6, 0, "1e+21");
    cell_eq(f, 7, 0, "0.30000000000000004");
    kl_frame_free(f);
}

static void test_frame_cell_str_int_column_prints_all_digits(void **state)
{
    (void)state;
    kl_err err = {0};
    const double v[] = {1e15, -42, 9007199254740992.0};
    kl_frame *f = frame_or_die(3);
    assert_int_equal(kl_frame_add_numeric(f, "x", KL_TYPE_INT, v, &err), 0);
    cell_eq(f, 0, 0, "1000000000000000");
    cell_eq(f, 1, 0, "-42");
    cell_eq(f, 2, 0, "9007199254740992");
    kl_frame_free(f);
}

static void test_frame_cell_str_bools_and_truncation(void **state)
{
    (void)state;
    kl_err err = {0};
    const uint8_t b[] = {1, 0, KL_BOOL_MISSING};
    const char *s[] = {"abcdefgh"};
    kl_frame *f = frame_or_die(3);
    assert_int_equal(kl_frame_add_bool(f, "b", b, &err), 0);
    cell_eq(f, 0, 0, "true");
    cell_eq(f, 1, 0, "false");
    cell_eq(f, 2, 0, "");
    kl_frame_free(f);

    f = frame_or_die(1);
    assert_int_equal(kl_frame_add_text(f, "s", s, &err), 0);
    char buf[4];
    assert_int_equal(kl_frame_cell_str(f, 0, 0, buf, sizeof buf), 1);
    assert_string_equal(buf, "abc");
    kl_frame_free(f);
}

static void test_frame_cell_str_times_without_format_are_iso(void **state)
{
    (void)state;
    kl_err err = {0};
    /* 2020-02-29 = 18321 days after 1970-01-01; 1969-12-31T23:59:59.5 is -0.5 s. */
    const int64_t d[] = {18321ll * 86400000000ll, -86400000000ll, KL_TIME_MISSING};
    const int64_t t[] = {18321ll * 86400000000ll + (13 * 3600 + 4 * 60 + 5) * 1000000ll, -500000,
                         0};
    kl_frame *f = frame_or_die(3);
    assert_int_equal(kl_frame_add_time(f, "d", KL_TYPE_DATE, d, NULL, &err), 0);
    assert_int_equal(kl_frame_add_time(f, "t", KL_TYPE_DATETIME, t, NULL, &err), 0);
    cell_eq(f, 0, 0, "2020-02-29");
    cell_eq(f, 1, 0, "1969-12-31");
    cell_eq(f, 2, 0, "");
    cell_eq(f, 0, 1, "2020-02-29T13:04:05");
    cell_eq(f, 1, 1, "1969-12-31T23:59:59.5");
    cell_eq(f, 2, 1, "1970-01-01T00:00:00");
    kl_frame_free(f);
}

/* ---- operations ---- */

/* A 5-row frame with one column of each kind, used by the operation tests. */
static kl_frame *sample(void)
{
    kl_err err = {0};
    const double num[] = {3, NAN, 1, 3, 2};
    const uint8_t b[] = {1, 0, KL_BOOL_MISSING, 0, 1};
    const char *cat[] = {"m", "f", NULL, "f", "m"};
    const char *txt[] = {"e", NULL, "c", "b", "a"};
    const int64_t t[] = {50, 40, KL_TIME_MISSING, 20, 10};
    kl_frame *f = frame_or_die(5);
    assert_int_equal(kl_frame_add_numeric(f, "num", KL_TYPE_FLOAT, num, &err), 0);
    assert_int_equal(kl_frame_add_bool(f, "b", b, &err), 0);
    assert_int_equal(kl_frame_add_categorical(f, "cat", cat, &err), 0);
    assert_int_equal(kl_frame_add_text(f, "txt", txt, &err), 0);
    assert_int_equal(kl_frame_add_time(f, "t", KL_TYPE_DATETIME, t, "%Y-%m-%dT%H:%M:%S", &err), 0);
    kl_frame_set_infer_version(f, 1);
    return f;
}

/* Column j rendered cell by cell and joined with '|', for compact comparisons. */
static void col_eq(const kl_frame *f, size_t j, const char *want)
{
    char got[512] = "", cell[64];
    size_t len = 0;
    for (size_t i = 0; i < kl_frame_row_count(f); i++) {
        kl_frame_cell_str(f, i, j, cell, sizeof cell);
        len += (size_t)snprintf(got + len, sizeof got - len, "%s%s", i ? "|" : "", cell);
    }
    assert_string_equal(got, want);
}

static void test_frame_dup_is_deep_and_equal(void **state)
{
    (void)state;
    kl_frame *f = sample();
    kl_frame *g = kl_frame_dup(f);
    assert_non_null(g);
    assert_int_equal(kl_frame_row_count(g), 5);
    assert_int_equal(kl_frame_col_count(g), 5);
    assert_int_equal(kl_frame_infer_version(g), 1);
    for (size_t j = 0; j < 5; j++) {
        assert_string_equal(kl_frame_col_name(g, j), kl_frame_col_name(f, j));
        assert_int_equal(kl_frame_col_type(g, j), kl_frame_col_type(f, j));
    }
    assert_true(kl_frame_col_text(g, 3)[0] != kl_frame_col_text(f, 3)[0]);
    kl_frame_free(f);
    col_eq(g, 3, "e||c|b|a");
    col_eq(g, 2, "m|f||f|m");
    assert_string_equal(kl_frame_col_time_format(g, 4), "%Y-%m-%dT%H:%M:%S");
    kl_frame_free(g);
}

static void test_frame_select_orders_columns_and_names_missing_one(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = sample(), *g = NULL;
    const char *names[] = {"txt", "num"};
    assert_int_equal(kl_frame_select(f, names, 2, &g, &err), 0);
    assert_int_equal(kl_frame_col_count(g), 2);
    assert_string_equal(kl_frame_col_name(g, 0), "txt");
    assert_string_equal(kl_frame_col_name(g, 1), "num");
    col_eq(g, 1, "3||1|3|2");
    kl_frame_free(g);

    const char *bad[] = {"num", "agee"};
    g = (kl_frame *)1;
    assert_int_equal(kl_frame_select(f, bad, 2, &g, &err), KL_ENOTFOUND);
    assert_null(g);
    assert_string_equal(err.msg, "no column named 'agee'");

    const char *twice[] = {"num", "num"};
    assert_int_equal(kl_frame_select(f, twice, 2, &g, &err), KL_EINVAL);
    assert_null(g);
    kl_frame_free(f);
}

static void test_frame_drop_keeps_the_rest_in_order(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = sample(), *g = NULL;
    const char *names[] = {"cat", "num"};
    assert_int_equal(kl_frame_drop(f, names, 2, &g, &err), 0);
    assert_int_equal(kl_frame_col_count(g), 3);
    assert_string_equal(kl_frame_col_name(g, 0), "b");
    assert_string_equal(kl_frame_col_name(g, 1), "txt");
    assert_string_equal(kl_frame_col_name(g, 2), "t");
    kl_frame_free(g);
    const char *bad[] = {"nope"};
    assert_int_equal(kl_frame_drop(f, bad, 1, &g, &err), KL_ENOTFOUND);
    assert_string_equal(err.msg, "no column named 'nope'");
    kl_frame_free(f);
}

static void test_frame_take_repeats_rows_and_rejects_out_of_range(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = sample(), *g = NULL;
    const size_t idx[] = {4, 0, 4, 2};
    assert_int_equal(kl_frame_take(f, idx, 4, &g, &err), 0);
    assert_int_equal(kl_frame_row_count(g), 4);
    col_eq(g, 0, "2|3|2|1");
    col_eq(g, 1, "true|true|true|");
    col_eq(g, 2, "m|m|m|");
    col_eq(g, 3, "a|e|a|c");
    assert_int_equal(kl_frame_col_time(g, 4)[0], 10);
    assert_int_equal(kl_frame_col_time(g, 4)[3], KL_TIME_MISSING);
    kl_frame_free(g);

    assert_int_equal(kl_frame_take(f, NULL, 0, &g, &err), 0);
    assert_int_equal(kl_frame_row_count(g), 0);
    assert_int_equal(kl_frame_col_count(g), 5);
    kl_frame_free(g);

    const size_t bad[] = {1, 5};
    assert_int_equal(kl_frame_take(f, bad, 2, &g, &err), KL_ERANGE);
    assert_null(g);
    assert_string_equal(err.msg, "row index 5 at position 1 is out of range (5 rows)");
    kl_frame_free(f);
}

static void test_frame_filter_keeps_masked_rows_in_order(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = sample(), *g = NULL;
    const uint8_t mask[] = {0, 7, 0, 1, 1};
    assert_int_equal(kl_frame_filter(f, mask, &g, &err), 0);
    assert_int_equal(kl_frame_row_count(g), 3);
    col_eq(g, 3, "|b|a");
    col_eq(g, 0, "|3|2");
    kl_frame_free(g);
    const uint8_t none[5] = {0};
    assert_int_equal(kl_frame_filter(f, none, &g, &err), 0);
    assert_int_equal(kl_frame_row_count(g), 0);
    kl_frame_free(g);
    kl_frame_free(f);
}

static void test_frame_sort_is_stable_with_missing_last(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = sample(), *g = NULL;
    /* num = 3, NaN, 1, 3, 2: ascending 1(2) 2(4) 3(0) 3(3) NaN(1); the tie keeps 0 before 3. */
    kl_sort_key asc = {"num", 0};
    assert_int_equal(kl_frame_sort(f, &asc, 1, &g, &err), 0);
    col_eq(g, 3, "c|a|e|b|");
    kl_frame_free(g);
    /* Descending: 3(0) 3(3) 2(4) 1(2) NaN(1): still stable among ties, still missing last. */
    kl_sort_key desc = {"num", 1};
    assert_int_equal(kl_frame_sort(f, &desc, 1, &g, &err), 0);
    col_eq(g, 3, "e|b|a|c|");
    kl_frame_free(g);
    /* Text descending: e c b a then the NULL. */
    kl_sort_key tdesc = {"txt", 1};
    assert_int_equal(kl_frame_sort(f, &tdesc, 1, &g, &err), 0);
    col_eq(g, 3, "e|c|b|a|");
    kl_frame_free(g);
    /* Time ascending: 10(4) 20(3) 40(1) 50(0) missing(2). */
    kl_sort_key tasc = {"t", 0};
    assert_int_equal(kl_frame_sort(f, &tasc, 1, &g, &err), 0);
    col_eq(g, 3, "a|b||e|c");
    kl_frame_free(g);
    kl_frame_free(f);
}

static void test_frame_sort_multi_key_categorical_by_string(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = sample(), *g = NULL;
    /*
     * cat = m f - f m (dictionary m, f: code order differs from string order),
     * b = 1 0 - 0 1. By cat ascending then b descending: f rows 1, 3 (b 0, 0:
     * stable), m rows 0, 4 (b 1, 1: stable), missing row 2.
     */
    kl_sort_key keys[] = {{"cat", 0}, {"b", 1}};
    assert_int_equal(kl_frame_sort(f, keys, 2, &g, &err), 0);
    col_eq(g, 3, "|b|e|a|c");
    kl_frame_free(g);
    /* By b ascending, num descending: false (1: NaN, 3: 3) gives 3, 1; true 0, 4; missing 2. */
    kl_sort_key keys2[] = {{"b", 0}, {"num", 1}};
    assert_int_equal(kl_frame_sort(f, keys2, 2, &g, &err), 0);
    col_eq(g, 3, "b||e|a|c");
    kl_frame_free(g);
    kl_sort_key bad = {"nope", 0};
    assert_int_equal(kl_frame_sort(f, &bad, 1, &g, &err), KL_ENOTFOUND);
    assert_string_equal(err.msg, "no column named 'nope'");
    kl_frame_free(f);
}

/* Sorting 2000 rows of a few distinct keys against insertion sort (stable by construction). */
static void test_frame_sort_matches_reference_on_many_rows(void **state)
{
    (void)state;
    enum { N = 2000 };
    kl_err err = {0};
    static double key[N], pos[N];
    static size_t ref[N];
    uint64_t s = 12345;
    for (size_t i = 0; i < N; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        unsigned r = (unsigned)(s >> 33) % 23;
        key[i] = r == 0 ? NAN : (double)(r % 7);
        pos[i] = (double)i;
        ref[i] = i;
    }
    for (size_t i = 1; i < N; i++) {
        size_t v = ref[i], p = i;
        /* descending, NaN last */
        while (p > 0) {
            double a = key[ref[p - 1]], b = key[v];
            int a_after_b = (isnan(a) && !isnan(b)) || (!isnan(a) && !isnan(b) && a < b);
            if (!a_after_b)
                break;
            ref[p] = ref[p - 1];
            p--;
        }
        ref[p] = v;
    }
    kl_frame *f = frame_or_die(N), *g = NULL;
    assert_int_equal(kl_frame_add_numeric(f, "k", KL_TYPE_FLOAT, key, &err), 0);
    assert_int_equal(kl_frame_add_numeric(f, "pos", KL_TYPE_INT, pos, &err), 0);
    kl_sort_key k = {"k", 1};
    assert_int_equal(kl_frame_sort(f, &k, 1, &g, &err), 0);
    const double *got = kl_frame_col_f64(g, 1);
    for (size_t i = 0; i < N; i++)
        assert_int_equal((size_t)got[i], ref[i]);
    kl_frame_free(g);
    kl_frame_free(f);
}

/* Each kind as the first (or only) key, both directions, with the edge values of each. */
static void test_frame_sort_first_key_of_each_kind_both_directions(void **state)
{
    (void)state;
    kl_err err = {0};
    const double num[] = {0.0, -INFINITY, NAN, -0.0, INFINITY, -1e-300, 5};
    const uint8_t b[] = {1, 0, KL_BOOL_MISSING, 1, 0, 1, 0};
    const char *cat[] = {"b", "a", NULL, "ab", "", "b", "a"};
    const char *txt[] = {"abcdefgh1", "abcdefgh", NULL, "\xff\xff\xff\xff\xff\xff\xff\xff\xff", "",
                         "abcdefgh0", "abcdefgh"};
    const int64_t t[] = {INT64_MAX, KL_TIME_MISSING, 0, INT64_MIN + 1, -1, 1, INT64_MAX};
    const double pos[] = {0, 1, 2, 3, 4, 5, 6};
    kl_frame *f = frame_or_die(7), *g = NULL;
    assert_int_equal(kl_frame_add_numeric(f, "num", KL_TYPE_FLOAT, num, &err), 0);
    assert_int_equal(kl_frame_add_bool(f, "b", b, &err), 0);
    assert_int_equal(kl_frame_add_categorical(f, "cat", cat, &err), 0);
    assert_int_equal(kl_frame_add_text(f, "txt", txt, &err), 0);
    assert_int_equal(kl_frame_add_time(f, "t", KL_TYPE_DATETIME, t, NULL, &err), 0);
    assert_int_equal(kl_frame_add_numeric(f, "pos", KL_TYPE_INT, pos, &err), 0);
    static const struct {
        const char *column;
        int desc;
        const char *order; /* expected rows, by their "pos" */
    } cases[] = {
        /* -0.0 (row 3) equals 0.0 (row 0): stable keeps 0 first in both directions. */
        {"num", 0, "1|5|0|3|6|4|2"},
        {"num", 1, "4|6|0|3|5|1|2"},
        {"b", 0, "1|4|6|0|3|5|2"},
        {"b", 1, "0|3|5|1|4|6|2"},
        /* bytewise: "" < "a" < "ab" < "b" */
        {"cat", 0, "4|1|6|3|0|5|2"},
        {"cat", 1, "0|5|3|1|6|4|2"},
        /* 8-byte prefixes tie for rows 0, 1, 5, 6; 0xff... sorts after every ASCII string */
        {"txt", 0, "4|1|6|5|0|3|2"},
        {"txt", 1, "3|0|5|1|6|4|2"},
        /* INT64_MAX is a value, not missing: it sorts before the missing row 1 */
        {"t", 0, "3|4|2|5|0|6|1"},
        {"t", 1, "0|6|5|2|4|3|1"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        kl_sort_key key = {cases[c].column, cases[c].desc};
        assert_int_equal(kl_frame_sort(f, &key, 1, &g, &err), 0);
        col_eq(g, 5, cases[c].order);
        kl_frame_free(g);
    }
    kl_frame_free(f);
}

static void test_frame_operations_on_empty_frames(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = sample(), *g = NULL, *e = NULL, *h = NULL;
    /* No keys: the sort is the identity. */
    assert_int_equal(kl_frame_sort(f, NULL, 0, &g, &err), 0);
    col_eq(g, 3, "e||c|b|a");
    kl_frame_free(g);
    /* Zero rows, every kind: sort, dup, append with itself. */
    assert_int_equal(kl_frame_take(f, NULL, 0, &e, &err), 0);
    kl_sort_key k[] = {{"cat", 1}, {"txt", 0}};
    assert_int_equal(kl_frame_sort(e, k, 2, &g, &err), 0);
    assert_int_equal(kl_frame_row_count(g), 0);
    assert_int_equal(kl_frame_append(e, f, &h, &err), 0);
    assert_int_equal(kl_frame_row_count(h), 5);
    col_eq(h, 2, "m|f||f|m");
    kl_frame_free(h);
    kl_frame *d = kl_frame_dup(e);
    assert_non_null(d);
    assert_int_equal(kl_frame_col_count(d), 5);
    kl_frame_free(d);
    /* Zero columns keep their row count. */
    assert_int_equal(kl_frame_select(f, NULL, 0, &h, &err), 0);
    assert_int_equal(kl_frame_row_count(h), 5);
    assert_int_equal(kl_frame_col_count(h), 0);
    kl_frame_free(h);
    kl_frame_free(g);
    kl_frame_free(e);
    kl_frame_free(f);
}

static void test_frame_append_merges_dictionaries(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *a = frame_or_die(3), *b = frame_or_die(3), *g = NULL;
    const char *ca[] = {"x", "y", NULL};
    const char *cb[] = {"z", NULL, "x"};
    const double na[] = {1, 2, 3};
    const double nb[] = {0.5, NAN, 4};
    const char *ta[] = {"p", NULL, "q"};
    const char *tb[] = {NULL, "r", "s"};
    assert_int_equal(kl_frame_add_categorical(a, "c", ca, &err), 0);
    assert_int_equal(kl_frame_add_categorical(b, "c", cb, &err), 0);
    assert_int_equal(kl_frame_add_numeric(a, "n", KL_TYPE_INT, na, &err), 0);
    assert_int_equal(kl_frame_add_numeric(b, "n", KL_TYPE_FLOAT, nb, &err), 0);
    assert_int_equal(kl_frame_add_text(a, "t", ta, &err), 0);
    assert_int_equal(kl_frame_add_text(b, "t", tb, &err), 0);
    assert_int_equal(kl_frame_append(a, b, &g, &err), 0);
    assert_int_equal(kl_frame_row_count(g), 6);
    size_t n;
    const char *const *dict = kl_frame_col_dict(g, 0, &n);
    assert_int_equal(n, 3);
    assert_string_equal(dict[0], "x");
    assert_string_equal(dict[1], "y");
    assert_string_equal(dict[2], "z");
    const int32_t want[] = {0, 1, -1, 2, -1, 0};
    assert_memory_equal(kl_frame_col_codes(g, 0), want, sizeof want);
    assert_int_equal(kl_frame_col_type(g, 1), KL_TYPE_FLOAT);
    col_eq(g, 1, "1|2|3|0.5||4");
    col_eq(g, 2, "p||q||r|s");
    kl_frame_free(g);
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_frame_append_rejects_mismatched_columns(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *a = frame_or_die(1), *b = frame_or_die(1), *c = frame_or_die(1), *g = NULL;
    const double v[] = {1};
    const char *s[] = {"1"};
    assert_int_equal(kl_frame_add_numeric(a, "age", KL_TYPE_FLOAT, v, &err), 0);
    assert_int_equal(kl_frame_add_text(b, "age", s, &err), 0);
    assert_int_equal(kl_frame_add_numeric(c, "agee", KL_TYPE_FLOAT, v, &err), 0);
    assert_int_equal(kl_frame_append(a, b, &g, &err), KL_EINVAL);
    assert_null(g);
    assert_string_equal(err.msg,
                        "column 'age' is numeric in the first frame but text in the second");
    assert_int_equal(kl_frame_append(a, c, &g, &err), KL_EINVAL);
    assert_string_equal(err.msg, "column 1 is 'age' in the first frame but 'agee' in the second");
    kl_frame *d = frame_or_die(1);
    assert_int_equal(kl_frame_append(a, d, &g, &err), KL_EINVAL);
    kl_frame_free(a);
    kl_frame_free(b);
    kl_frame_free(c);
    kl_frame_free(d);
}

/* ---- content hashes ---- */

static void hex_eq(const uint8_t d[32], const char *want)
{
    char got[65];
    for (int i = 0; i < 32; i++)
        snprintf(got + 2 * i, 3, "%02x", d[i]);
    assert_string_equal(got, want);
}

/*
 * Digests computed independently with Python's hashlib over the byte streams
 * documented in lib/data/frame_hash.c, e.g. for the categorical column:
 *   sha256(b"KLC\x01" + u64(1) + b"c" + b"\x05" + u64(3)
 *          + b"\x01" + u64(1) + b"b" + b"\x00" + b"\x01" + u64(1) + b"a")
 * with u64 = struct.pack('<Q', n).
 */
static void test_frame_hashes_match_documented_byte_streams(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = frame_or_die(3);
    const double x[] = {1.5, NAN, -0.0};
    const char *c[] = {"b", NULL, "a"};
    const uint8_t b[] = {1, KL_BOOL_MISSING, 0};
    assert_int_equal(kl_frame_add_numeric(f, "x", KL_TYPE_FLOAT, x, &err), 0);
    assert_int_equal(kl_frame_add_categorical(f, "c", c, &err), 0);
    assert_int_equal(kl_frame_add_bool(f, "b", b, &err), 0);
    uint8_t d[32];
    assert_int_equal(kl_frame_col_hash(f, 0, d), 0);
    hex_eq(d, "d56904d6af38fbf40fbd0e3b91e152eff668af7f12eb8ec1c8ef56f4d6ae4887");
    assert_int_equal(kl_frame_col_hash(f, 1, d), 0);
    hex_eq(d, "f0bd2808a3d6e0c48f08db98598ec9e9123297a54dd4676e30a03ec56f4d6ee9");
    assert_int_equal(kl_frame_col_hash(f, 2, d), 0);
    hex_eq(d, "14cd3024ed59efc805772be2dfadc83c3034f97f499b6d41965504fa1b30e576");
    const char *drop[] = {"b"};
    kl_frame *g = NULL;
    assert_int_equal(kl_frame_drop(f, drop, 1, &g, &err), 0);
    assert_int_equal(kl_frame_hash(g, d), 0);
    hex_eq(d, "83d34562034ac098aa9c3f97f8aa148627e86b2d08ebc2d1cebf33df1235e7cb");
    kl_frame_free(g);
    kl_frame_free(f);

    f = frame_or_die(2);
    const int64_t t[] = {86400000000ll, KL_TIME_MISSING};
    assert_int_equal(kl_frame_add_time(f, "t", KL_TYPE_DATE, t, "%Y-%m-%d", &err), 0);
    assert_int_equal(kl_frame_col_hash(f, 0, d), 0);
    hex_eq(d, "e53be9ba80faab681f0b77d45ac5d06509741a8f29907acc963897616126edd8");
    kl_frame_free(f);

    /* Schema: infer version 7, x float (no format), t date "%Y-%m-%d". */
    f = frame_or_die(2);
    const double x2[] = {1, 2};
    assert_int_equal(kl_frame_add_numeric(f, "x", KL_TYPE_FLOAT, x2, &err), 0);
    assert_int_equal(kl_frame_add_time(f, "t", KL_TYPE_DATE, t, "%Y-%m-%d", &err), 0);
    kl_frame_set_infer_version(f, 7);
    assert_int_equal(kl_frame_schema_hash(f, d), 0);
    hex_eq(d, "0edd79b89bd87ea807eaecc0543abc574cc8ff905faafdff57a3e14ef22d5773");
    kl_frame_free(f);
}

static void test_frame_hash_ignores_dictionary_order_and_unused_entries(void **state)
{
    (void)state;
    kl_err err = {0};
    const char *vals[] = {"lo", "hi", NULL, "hi", "mid"};
    const char *dict[] = {"unused", "mid", "hi", "lo"};
    const int32_t codes[] = {3, 2, -1, 2, 1};
    kl_frame *a = frame_or_die(5), *b = frame_or_die(5);
    assert_int_equal(kl_frame_add_categorical(a, "c", vals, &err), 0);
    assert_int_equal(kl_frame_add_categorical_codes(b, "c", codes, dict, 4, &err), 0);
    uint8_t ha[32], hb[32];
    assert_int_equal(kl_frame_col_hash(a, 0, ha), 0);
    assert_int_equal(kl_frame_col_hash(b, 0, hb), 0);
    assert_memory_equal(ha, hb, 32);
    assert_int_equal(kl_frame_hash(a, ha), 0);
    assert_int_equal(kl_frame_hash(b, hb), 0);
    assert_memory_equal(ha, hb, 32);
    kl_frame_free(a);
    kl_frame_free(b);

    /* A text column with the same strings is another type, so another hash. */
    kl_frame *t = frame_or_die(5);
    assert_int_equal(kl_frame_add_text(t, "c", vals, &err), 0);
    assert_int_equal(kl_frame_col_hash(t, 0, hb), 0);
    assert_memory_not_equal(ha, hb, 32);
    kl_frame_free(t);
}

static void test_frame_hash_changes_with_one_value(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *f = sample(), *g = NULL;
    uint8_t h0[32], h1[32], c0[32], c1[32];
    assert_int_equal(kl_frame_hash(f, h0), 0);
    /* Swap the last two rows: a different order is different content. */
    const size_t idx[] = {0, 1, 2, 4, 3};
    assert_int_equal(kl_frame_take(f, idx, 5, &g, &err), 0);
    assert_int_equal(kl_frame_hash(g, h1), 0);
    assert_memory_not_equal(h0, h1, 32);
    kl_frame_free(g);

    const double a[] = {1, 2, 3}, b[] = {1, 2, 3.0000000000000004};
    kl_frame *fa = frame_or_die(3), *fb = frame_or_die(3);
    assert_int_equal(kl_frame_add_numeric(fa, "v", KL_TYPE_FLOAT, a, &err), 0);
    assert_int_equal(kl_frame_add_numeric(fb, "v", KL_TYPE_FLOAT, b, &err), 0);
    assert_int_equal(kl_frame_col_hash(fa, 0, c0), 0);
    assert_int_equal(kl_frame_col_hash(fb, 0, c1), 0);
    assert_memory_not_equal(c0, c1, 32);
    /* The same values under another name or type hash differently too. */
    kl_frame *fc = frame_or_die(3), *fd = frame_or_die(3);
    assert_int_equal(kl_frame_add_numeric(fc, "w", KL_TYPE_FLOAT, a, &err), 0);
    assert_int_equal(kl_frame_add_numeric(fd, "v", KL_TYPE_INT, a, &err), 0);
    assert_int_equal(kl_frame_col_hash(fc, 0, c1), 0);
    assert_memory_not_equal(c0, c1, 32);
    assert_int_equal(kl_frame_col_hash(fd, 0, c1), 0);
    assert_memory_not_equal(c0, c1, 32);
    kl_frame_free(fa);
    kl_frame_free(fb);
    kl_frame_free(fc);
    kl_frame_free(fd);
    kl_frame_free(f);
}

static double nan_with_bits(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static void test_frame_hash_treats_nan_payloads_alike(void **state)
{
    (void)state;
    kl_err err = {0};
    const double vals[3][2] = {
        {NAN, 1},
        {nan_with_bits(0xfff0000000000001ull), 1}, /* negative signalling NaN */
        {nan_with_bits(0x7ff00000deadbeefull), 1},
    };
    uint8_t h[3][32];
    for (size_t k = 0; k < 3; k++) {
        assert_true(isnan(vals[k][0]));
        kl_frame *f = frame_or_die(2);
        assert_int_equal(kl_frame_add_numeric(f, "v", KL_TYPE_FLOAT, vals[k], &err), 0);
        assert_int_equal(kl_frame_hash(f, h[k]), 0);
        kl_frame_free(f);
    }
    assert_memory_equal(h[0], h[1], 32);
    assert_memory_equal(h[0], h[2], 32);
}

/*
 * A frame built in one go and the append of its two halves hash the same;
 * 3000 rows of long strings cross the 16 KiB staging buffer many times, and
 * one 40000-byte string is longer than the buffer.
 */
static void test_frame_hash_of_appended_halves_equals_whole(void **state)
{
    (void)state;
    enum { N = 3000, H = 1234 };
    kl_err err = {0};
    static double num[N];
    static int64_t tm[N];
    static uint8_t bl[N];
    static const char *txt[N], *cat[N];
    static char bufs[N][24];
    static char big[40001];
    memset(big, 'z', sizeof big - 1);
    const char *levels[] = {"alpha", "beta", "gamma", "delta"};
    for (size_t i = 0; i < N; i++) {
        num[i] = i % 17 == 0 ? NAN : (double)i / 7.0;
        tm[i] = i % 19 == 0 ? KL_TIME_MISSING : (int64_t)i * 1000000;
        bl[i] = i % 13 == 0 ? KL_BOOL_MISSING : (uint8_t)(i & 1);
        snprintf(bufs[i], sizeof bufs[i], "row-%zu-%zu", i, i * i);
        txt[i] = i % 11 == 0 ? NULL : i == 2000 ? big : bufs[i];
        /* The second half sees "delta" first, so its own dictionary order differs. */
        cat[i] = i % 23 == 0 ? NULL : levels[(i < H ? i : N - i) % 4];
    }
    kl_frame *whole = frame_or_die(N), *a = frame_or_die(H), *b = frame_or_die(N - H);
    kl_frame *parts[] = {whole, a, b};
    const size_t off[] = {0, 0, H};
    for (size_t p = 0; p < 3; p++) {
        kl_frame *f = parts[p];
        assert_int_equal(kl_frame_add_numeric(f, "num", KL_TYPE_FLOAT, num + off[p], &err), 0);
        assert_int_equal(
            kl_frame_add_time(f, "tm", KL_TYPE_DATETIME, tm + off[p], "%Y-%m-%d %H:%M:%S", &err),
            0);
        assert_int_equal(kl_frame_add_bool(f, "bl", bl + off[p], &err), 0);
        assert_int_equal(kl_frame_add_text(f, "txt", txt + off[p], &err), 0);
        assert_int_equal(kl_frame_add_categorical(f, "cat", cat + off[p], &err), 0);
    }
    kl_frame *joined = NULL;
    assert_int_equal(kl_frame_append(a, b, &joined, &err), 0);
    uint8_t hw[32], hj[32];
    for (size_t j = 0; j < 5; j++) {
        assert_int_equal(kl_frame_col_hash(whole, j, hw), 0);
        assert_int_equal(kl_frame_col_hash(joined, j, hj), 0);
        assert_memory_equal(hw, hj, 32);
    }
    assert_int_equal(kl_frame_hash(whole, hw), 0);
    assert_int_equal(kl_frame_hash(joined, hj), 0);
    assert_memory_equal(hw, hj, 32);
    /* The half alone is different content. */
    assert_int_equal(kl_frame_hash(a, hj), 0);
    assert_memory_not_equal(hw, hj, 32);
    kl_frame_free(joined);
    kl_frame_free(whole);
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_frame_schema_hash_ignores_values(void **state)
{
    (void)state;
    kl_err err = {0};
    const double x[] = {1, 2}, y[] = {5, NAN};
    const int64_t t[] = {0, 0};
    kl_frame *a = frame_or_die(2), *b = frame_or_die(2), *c = frame_or_die(2);
    kl_frame *d = frame_or_die(2);
    assert_int_equal(kl_frame_add_numeric(a, "x", KL_TYPE_FLOAT, x, &err), 0);
    assert_int_equal(kl_frame_add_numeric(b, "x", KL_TYPE_FLOAT, y, &err), 0);
    assert_int_equal(kl_frame_add_numeric(c, "x", KL_TYPE_INT, x, &err), 0);
    assert_int_equal(kl_frame_add_numeric(d, "x", KL_TYPE_FLOAT, x, &err), 0);
    assert_int_equal(kl_frame_add_time(a, "t", KL_TYPE_DATETIME, t, "%Y-%m-%d %H:%M", &err), 0);
    assert_int_equal(kl_frame_add_time(b, "t", KL_TYPE_DATETIME, t, "%Y-%m-%d %H:%M", &err), 0);
    assert_int_equal(kl_frame_add_time(c, "t", KL_TYPE_DATETIME, t, "%Y-%m-%d %H:%M", &err), 0);
    assert_int_equal(kl_frame_add_time(d, "t", KL_TYPE_DATETIME, t, NULL, &err), 0);
    uint8_t ha[32], hb[32];
    assert_int_equal(kl_frame_schema_hash(a, ha), 0);
    assert_int_equal(kl_frame_schema_hash(b, hb), 0);
    assert_memory_equal(ha, hb, 32);
    assert_int_equal(kl_frame_schema_hash(c, hb), 0);
    assert_memory_not_equal(ha, hb, 32); /* type differs */
    assert_int_equal(kl_frame_schema_hash(d, hb), 0);
    assert_memory_not_equal(ha, hb, 32); /* format differs */
    kl_frame_set_infer_version(b, 1);
    assert_int_equal(kl_frame_schema_hash(b, hb), 0);
    assert_memory_not_equal(ha, hb, 32); /* inference version differs */
    kl_frame_free(a);
    kl_frame_free(b);
    kl_frame_free(c);
    kl_frame_free(d);
}

static void test_frame_cell_str_times_use_their_column_format(void **state)
{
    (void)state;
    kl_err err = {0};
    const int64_t day = 86400000000ll;
    /* Day counts from Python: date(2020,2,29) 18321, date(1974,4,1) 1551, date(1949,1,1) -7670. */
    const int64_t dmy[] = {18321 * day};
    const int64_t q[] = {1551 * day};
    const int64_t ym[] = {-7670 * day};
    const int64_t dt[] = {18321 * day + (13 * 3600 + 4 * 60 + 5) * 1000000ll + 250000};
    /* 10000-01-01 is 2932897 days after the epoch: past what the formats write. */
    const int64_t far[] = {2932897 * day, 2932897 * day + 1000000};
    kl_frame *f = frame_or_die(1);
    assert_int_equal(kl_frame_add_time(f, "dmy", KL_TYPE_DATE, dmy, "%d/%m/%Y", &err), 0);
    assert_int_equal(kl_frame_add_time(f, "q", KL_TYPE_DATE, q, "%YQ%q", &err), 0);
    assert_int_equal(kl_frame_add_time(f, "ym", KL_TYPE_DATE, ym, "%Y-%m", &err), 0);
    assert_int_equal(kl_frame_add_time(f, "dt", KL_TYPE_DATETIME, dt, "%m/%d/%Y %H:%M:%S", &err),
                     0);
    assert_int_equal(kl_frame_add_time(f, "odd", KL_TYPE_DATE, dmy, "%Y week %W", &err), 0);
    cell_eq(f, 0, 0, "29/02/2020");
    cell_eq(f, 0, 1, "1974Q2");
    cell_eq(f, 0, 2, "1949-01");
    cell_eq(f, 0, 3, "02/29/2020 13:04:05.25");
    cell_eq(f, 0, 4, "2020-02-29"); /* an unknown format falls back to ISO */
    kl_frame_free(f);

    f = frame_or_die(2);
    /* far[1] is not a whole day, so it cannot be a DATE. */
    assert_int_equal(kl_frame_add_time(f, "d", KL_TYPE_DATE, far, NULL, &err), KL_EINVAL);
    assert_int_equal(kl_frame_add_time(f, "t", KL_TYPE_DATETIME, far, NULL, &err), 0);
    cell_eq(f, 0, 0, "10000-01-01T00:00:00");
    cell_eq(f, 1, 0, "10000-01-01T00:00:01");
    kl_frame_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_new_has_rows_and_no_columns),
        cmocka_unit_test(test_frame_add_each_kind_and_read_it_back),
        cmocka_unit_test(test_frame_categorical_dictionary_is_first_appearance),
        cmocka_unit_test(test_frame_categorical_many_categories_grow_the_set),
        cmocka_unit_test(test_frame_add_categorical_codes_copies_dictionary),
        cmocka_unit_test(test_frame_rejects_duplicate_and_empty_names),
        cmocka_unit_test(test_frame_rejects_type_of_another_kind),
        cmocka_unit_test(test_frame_rejects_values_outside_their_kind),
        cmocka_unit_test(test_frame_adopt_takes_buffers_without_copying),
        cmocka_unit_test(test_frame_zero_rows_columns_have_non_null_views),
        cmocka_unit_test(test_frame_missing_counts_per_kind),
        cmocka_unit_test(test_frame_type_names_round_trip),
        cmocka_unit_test(test_frame_cell_str_numbers_are_shortest_round_trip),
        cmocka_unit_test(test_frame_cell_str_int_column_prints_all_digits),
        cmocka_unit_test(test_frame_cell_str_bools_and_truncation),
        cmocka_unit_test(test_frame_cell_str_times_without_format_are_iso),
        cmocka_unit_test(test_frame_cell_str_times_use_their_column_format),
        cmocka_unit_test(test_frame_dup_is_deep_and_equal),
        cmocka_unit_test(test_frame_select_orders_columns_and_names_missing_one),
        cmocka_unit_test(test_frame_drop_keeps_the_rest_in_order),
        cmocka_unit_test(test_frame_take_repeats_rows_and_rejects_out_of_range),
        cmocka_unit_test(test_frame_filter_keeps_masked_rows_in_order),
        cmocka_unit_test(test_frame_sort_is_stable_with_missing_last),
        cmocka_unit_test(test_frame_sort_multi_key_categorical_by_string),
        cmocka_unit_test(test_frame_sort_matches_reference_on_many_rows),
        cmocka_unit_test(test_frame_sort_first_key_of_each_kind_both_directions),
        cmocka_unit_test(test_frame_operations_on_empty_frames),
        cmocka_unit_test(test_frame_append_merges_dictionaries),
        cmocka_unit_test(test_frame_append_rejects_mismatched_columns),
        cmocka_unit_test(test_frame_hashes_match_documented_byte_streams),
        cmocka_unit_test(test_frame_hash_ignores_dictionary_order_and_unused_entries),
        cmocka_unit_test(test_frame_hash_changes_with_one_value),
        cmocka_unit_test(test_frame_hash_treats_nan_payloads_alike),
        cmocka_unit_test(test_frame_hash_of_appended_halves_equals_whole),
        cmocka_unit_test(test_frame_schema_hash_ignores_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
