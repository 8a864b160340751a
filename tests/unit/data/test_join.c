/*
 * Unit tests of kl_join. Expected tables are computed by hand on small
 * frames, by brute-force reference joins (nested loops, written here
 * independently of the hash join and the sorted as-of merge) on generated
 * frames, and, for the as-of join, by pandas.merge_asof
 * (tests/fixtures/join/make_asof.py, pandas 1.5.3).
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

#include "keel/csv.h"
#include "keel/frame.h"
#include "keel/join.h"

/* ---- helpers ---- */

static kl_frame *csv(const char *text)
{
    kl_frame *f = NULL;
    kl_err err = {0};
    int rc = kl_csv_read_buffer(text, strlen(text), "test.csv", NULL, &f, NULL, &err);
    if (rc < 0)
        fail_msg("%s (%s)", err.msg, err.ctx);
    return f;
}

/* The frame as CSV text (malloc'd). */
static char *to_csv(const kl_frame *f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    kl_err err = {0};
    assert_non_null(fp);
    assert_int_equal(kl_csv_write_stream(f, fp, NULL, &err), 0);
    fclose(fp);
    return buf;
}

static void frame_is(const kl_frame *f, const char *want)
{
    char *got = to_csv(f);
    assert_string_equal(got, want);
    free(got);
}

static kl_frame *join_ok(const kl_frame *a, const kl_frame *b, const kl_join_opts *o,
                         kl_join_report *r)
{
    kl_frame *out = NULL;
    kl_err err = {0};
    if (kl_join(a, b, o, &out, r, &err) < 0)
        fail_msg("%s", err.msg);
    return out;
}

static const char *const key_id[] = {"id"};

/* ---- equality joins ---- */

static void test_join_inner_keeps_a_order_and_matches_only(void **state)
{
    (void)state;
    kl_frame *a = csv("id,x\n1,10\n2,20\n3,30\n");
    kl_frame *b = csv("id,y\n3,c\n1,a\n4,d\n");
    kl_join_opts o = {.keys = key_id, .n_keys = 1, .how = KL_JOIN_HOW_INNER};
    kl_join_report r;
    kl_frame *j = join_ok(a, b, &o, &r);
    frame_is(j, "id,x,y\n1,10,a\n3,30,c\n");
    assert_int_equal(r.rows_a, 3);
    assert_int_equal(r.rows_b, 3);
    assert_int_equal(r.rows_out, 2);
    assert_int_equal(r.unmatched_a, 1);
    assert_int_equal(r.unmatched_b, 1);
    assert_string_equal(kl_join_relation(&r), "one-to-one");
    kl_frame_free(j);
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_join_left_keeps_unmatched_rows_with_missing_b(void **state)
{
    (void)state;
    kl_frame *a = csv("id,x\n1,10\n2,20\n3,30\n");
    kl_frame *b = csv("id,y,z\n3,c,true\n1,a,false\n4,d,true\n");
    kl_join_opts o = {.keys = key_id, .n_keys = 1, .how = KL_JOIN_HOW_LEFT};
    kl_join_report r;
    kl_frame *j = join_ok(a, b, &o, &r);
    frame_is(j, "id,x,y,z\n1,10,a,false\n2,20,,\n3,30,c,true\n");
    assert_int_equal(r.rows_out, 3);
    assert_int_equal(r.unmatched_a, 1);
    kl_frame_free(j);
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_join_duplicates_on_both_sides_multiply_rows(void **state)
{
    (void)state;
    /* key 2: two rows in A times two rows in B = four output rows. */
    kl_frame *a = csv("id,x\n1,a1\n2,a2\n2,a3\n3,a4\n");
    kl_frame *b = csv("id,y\n2,b20\n1,b10\n2,b21\n5,b50\n");
    kl_join_opts o = {.keys = key_id, .n_keys = 1, .how = KL_JOIN_HOW_INNER};
    kl_join_report r;
    kl_frame *j = join_ok(a, b, &o, &r);
    frame_is(j, "id,x,y\n1,a1,b10\n2,a2,b20\n2,a2,b21\n2,a3,b20\n2,a3,b21\n");
    assert_int_equal(r.rows_out, 5);
    assert_int_equal(r.dup_keys_a, 1);
    assert_int_equal(r.dup_rows_a, 2);
    assert_int_equal(r.dup_keys_b, 1);
    assert_int_equal(r.dup_rows_b, 2);
    assert_int_equal(r.unmatched_a, 1);
    assert_int_equal(r.unmatched_b, 1);
    assert_string_equal(kl_join_relation(&r), "many-to-many");
    kl_frame_free(j);
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_join_duplicates_only_in_a_are_many_to_one(void **state)
{
    (void)state;
    /* Duplicates of a key B lacks (7 in B) do not count: only keys on both sides do. */
    kl_frame *a = csv("id,x\n1,a\n1,b\n2,c\n");
    kl_frame *b = csv("id,y\n1,p\n2,q\n7,r\n7,s\n");
    kl_join_opts o = {.keys = key_id, .n_keys = 1, .how = KL_JOIN_HOW_LEFT};
    kl_join_report r;
    kl_frame *j = join_ok(a, b, &o, &r);
    frame_is(j, "id,x,y\n1,a,p\n1,b,p\n2,c,q\n");
    assert_int_equal(r.dup_keys_a, 1);
    assert_int_equal(r.dup_keys_b, 0);
    assert_int_equal(r.unmatched_b, 2);
    assert_string_equal(kl_join_relation(&r), "many-to-one");
    kl_frame_free(j);
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_join_missing_keys_never_match(void **state)
{
    (void)state;
    kl_frame *a = csv("id,x\n,10\n1,11\n");
    kl_frame *b = csv("id,y\n,20\n1,21\n");
    kl_join_opts o = {.keys = key_id, .n_keys = 1, .how = KL_JOIN_HOW_LEFT};
    kl_join_report r;
    kl_frame *j = join_ok(a, b, &o, &r);
    frame_is(j, "id,x,y\n,10,\n1,11,21\n");
    assert_int_equal(r.missing_key_a, 1);
    assert_int_equal(r.missing_key_b, 1);
    assert_int_equal(r.unmatched_a, 1);
    assert_int_equal(r.unmatched_b, 1);
    kl_frame_free(j);
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_join_int_key_matches_float_key_by_value(void **state)
{
    (void)state;
    kl_frame *a = csv("k,x\n2,a\n0,b\n3,c\n");
    kl_frame *b = csv("k,y\n2.0,p\n-0.0,q\n3.5,r\n");
    const char *const key[] = {"k"};
    kl_join_opts o = {.keys = key, .n_keys = 1, .how = KL_JOIN_HOW_INNER};
    kl_join_report r;
    kl_frame *j = join_ok(a, b, &o, &r);
    frame_is(j, "k,x,y\n2,a,p\n0,b,q\n");
    kl_frame_free(j);
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_join_categorical_key_meets_text_key_on_two_columns(void **state)
{
    (void)state;
    kl_err err = {0};
    kl_frame *a = kl_frame_new(3), *b = kl_frame_new(3);
    const char *city_a[] = {"Oslo", "Rome", "Oslo"}, *city_b[] = {"Rome", "Oslo", "Oslo"};
    const double year_a[] = {2020, 2020, 2021}, year_b[] = {2020, 2021, 2020};
    const double pop[] = {2.8, 0.71, 0.70};
    assert_int_equal(kl_frame_add_categorical(a, "city", city_a, &err), 0);
    assert_int_equal(kl_frame_add_numeric(a, "year", KL_TYPE_INT, year_a, &err), 0);
    assert_int_equal(kl_frame_add_text(b, "city", city_b, &err), 0);
    assert_int_equal(kl_frame_add_numeric(b, "year", KL_TYPE_INT, year_b, &err), 0);
    assert_int_equal(kl_frame_add_numeric(b, "pop", KL_TYPE_FLOAT, pop, &err), 0);
    const char *const keys[] = {"city", "year"};
    kl_join_opts o = {.keys = keys, .n_keys = 2, .how = KL_JOIN_HOW_LEFT};
    kl_join_report r;
    kl_frame *j = join_ok(a, b, &o, &r);
    frame_is(j, "city,year,pop\nOslo,2020,0.7\nRome,2020,2.8\nOslo,2021,0.71\n");
    assert_int_equal(kl_frame_col_kind(j, 0), KL_COL_KIND_CATEGORICAL);
    kl_frame_free(j);
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_join_date_keys_match_as_days(void **state)
{
    (void)state;
    kl_frame *a = csv("day,x\n2024-03-01,1\n2024-03-02,2\n");
    kl_frame *b = csv("day,temp\n2024-03-02,7.5\n2024-03-01,6.0\n");
    const char *const key[] = {"day"};
    kl_join_opts o = {.keys = key, .n_keys = 1, .how = KL_JOIN_HOW_INNER};
    kl_frame *j = join_ok(a, b, &o, NULL);
    frame_is(j, "day,x,temp\n2024-03-01,1,6.0\n2024-03-02,2,7.5\n");
    kl_frame_free(j);
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_join_clashing_names_get_x_and_y_suffixes(void **state)
{
    (void)state;
    kl_frame *a = csv("id,v,w\n1,a,p\n");
    kl_frame *b = csv("v,id\nb,1\n");
    kl_join_opts o = {.keys = key_id, .n_keys = 1, .how = KL_JOIN_HOW_INNER};
    kl_frame *j = join_ok(a, b, &o, NULL);
    frame_is(j, "id,v_x,w,v_y\n1,a,p,b\n");
    kl_frame_free(j);
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_join_suffixed_name_already_taken_is_an_error(void **state)
{
    (void)state;
    kl_frame *a = csv("id,v,v_y\n1,a,c\n");
    kl_frame *b = csv("id,v\n1,b\n");
    kl_join_opts o = {.keys = key_id, .n_keys = 1, .how = KL_JOIN_HOW_INNER};
    kl_frame *j = NULL;
    kl_err err = {0};
    assert_int_equal(kl_join(a, b, &o, &j, NULL, &err), KL_EINVAL);
    assert_null(j);
    assert_string_equal(err.msg,
                        "duplicate column name 'v_y' in the joined table; rename it in one input");
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_join_unknown_key_column_names_the_side(void **state)
{
    (void)state;
    kl_frame *a = csv("id,x\n1,10\n");
    kl_frame *b = csv("key,y\n1,a\n");
    kl_join_opts o = {.keys = key_id, .n_keys = 1, .how = KL_JOIN_HOW_INNER, .name_b = "orders"};
    kl_frame *j = NULL;
    kl_err err = {0};
    assert_int_equal(kl_join(a, b, &o, &j, NULL, &err), KL_ENOTFOUND);
    assert_string_equal(err.msg, "no key column 'id' in orders");
    assert_null(j);
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_join_key_type_mismatch_is_an_error(void **state)
{
    (void)state;
    kl_frame *a = csv("id,x\n1,10\n");
    kl_frame *b = csv("id,y\nA1,a\n");
    kl_join_opts o = {.keys = key_id, .n_keys = 1, .how = KL_JOIN_HOW_INNER};
    kl_frame *j = NULL;
    kl_err err = {0};
    assert_int_equal(kl_join(a, b, &o, &j, NULL, &err), KL_EINVAL);
    assert_string_equal(
        err.msg, "key column 'id' is int in A but categorical in B; give both the same type");
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_join_without_keys_is_an_error(void **state)
{
    (void)state;
    kl_frame *a = csv("id\n1\n"), *j = NULL;
    kl_join_opts o = {0};
    kl_err err = {0};
    assert_int_equal(kl_join(a, a, &o, &j, NULL, &err), KL_EINVAL);
    kl_frame_free(a);
}

static void test_join_empty_result_has_every_column(void **state)
{
    (void)state;
    kl_frame *a = csv("id,x\n1,10\n");
    kl_frame *b = csv("id,y\n2,a\n");
    kl_join_opts o = {.keys = key_id, .n_keys = 1, .how = KL_JOIN_HOW_INNER};
    kl_frame *j = join_ok(a, b, &o, NULL);
    assert_int_equal(kl_frame_row_count(j), 0);
    assert_int_equal(kl_frame_col_count(j), 3);
    kl_frame_free(j);
    kl_frame_free(a);
    kl_frame_free(b);
}

/* A deterministic generator (64-bit LCG), so the reference tests are fixed. */
static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static kl_frame *random_frame(uint64_t *seed, size_t n, int n_keys, int n_times, int with_missing)
{
    double *k = malloc(n * sizeof *k), *row = malloc(n * sizeof *row);
    int64_t *t = malloc(n * sizeof *t);
    for (size_t i = 0; i < n; i++) {
        k[i] = (double)(lcg(seed) % (uint64_t)n_keys);
        if (with_missing && lcg(seed) % 10 == 0)
            k[i] = NAN;
        t[i] = (int64_t)(lcg(seed) % (uint64_t)n_times) * 60000000;
        if (with_missing && lcg(seed) % 12 == 0)
            t[i] = KL_TIME_MISSING;
        row[i] = (double)i;
    }
    kl_frame *f = kl_frame_new(n);
    kl_err err = {0};
    assert_int_equal(kl_frame_add_numeric(f, "k", KL_TYPE_INT, k, &err), 0);
    assert_int_equal(kl_frame_add_time(f, "t", KL_TYPE_DATETIME, t, NULL, &err), 0);
    assert_int_equal(kl_frame_add_numeric(f, "row", KL_TYPE_INT, row, &err), 0);
    free(k);
    free(t);
    free(row);
    return f;
}

static void test_join_equality_agrees_with_nested_loops(void **state)
{
    (void)state;
    uint64_t seed = 7;
    for (int round = 0; round < 6; round++) {
        size_t na = 50 + (size_t)round * 37, nb = 300 - (size_t)round * 45;
        kl_frame *a = random_frame(&seed, na, 40, 5, 1), *b = random_frame(&seed, nb, 40, 5, 1);
        const char *const key[] = {"k"};
        kl_join_opts o = {
            .keys = key, .n_keys = 1, .how = round % 2 ? KL_JOIN_HOW_LEFT : KL_JOIN_HOW_INNER};
        kl_join_report r;
        kl_frame *j = join_ok(a, b, &o, &r);
        /* Columns: k, t_x, row_x, t_y, row_y. */
        const double *ka = kl_frame_col_f64(a, 0), *kb = kl_frame_col_f64(b, 0);
        const double *jra = kl_frame_col_f64(j, 2), *jrb = kl_frame_col_f64(j, 4);
        size_t o_row = 0, unmatched_a = 0;
        for (size_t i = 0; i < na; i++) {
            size_t m = 0;
            for (size_t q = 0; q < nb; q++) {
                if (isnan(ka[i]) || ka[i] != kb[q])
                    continue;
                assert_true(o_row < kl_frame_row_count(j));
                assert_true(jra[o_row] == (double)i && jrb[o_row] == (double)q);
                o_row++, m++;
            }
            if (!m)
                unmatched_a++;
            if (!m && o.how == KL_JOIN_HOW_LEFT) {
                assert_true(jra[o_row] == (double)i && isnan(jrb[o_row]));
                o_row++;
            }
        }
        assert_int_equal(o_row, kl_frame_row_count(j));
        assert_int_equal(r.unmatched_a, unmatched_a);
        kl_frame_free(j);
        kl_frame_free(a);
        kl_frame_free(b);
    }
}

/* ---- as-of joins ---- */

static void test_join_asof_takes_latest_earlier_row_never_a_later_one(void **state)
{
    (void)state;
    /* t=1 has only future rows in B (2, 5, 7): no match. t=5 meets an exact tie. */
    kl_frame *a = csv("t,x\n1,a\n5,b\n10,c\n6,d\n");
    kl_frame *b = csv("t,v\n7,p\n2,q\n5,r\n");
    kl_join_opts o = {.how = KL_JOIN_HOW_LEFT, .asof = "t"};
    kl_join_report r;
    kl_frame *j = join_ok(a, b, &o, &r);
    frame_is(j, "t,x,v\n1,a,\n5,b,r\n10,c,p\n6,d,r\n");
    assert_int_equal(r.unmatched_a, 1);
    assert_int_equal(r.unmatched_b, 1); /* q (t=2) is always superseded */
    kl_frame_free(j);
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_join_asof_by_key_stays_within_the_key(void **state)
{
    (void)state;
    kl_frame *a = csv("t,k,x\n3,u,1\n3,w,2\n9,w,3\n9,z,4\n");
    kl_frame *b = csv("t,k,v\n1,u,10\n2,w,20\n4,u,11\n8,w,21\n");
    const char *const by[] = {"k"};
    kl_join_opts o = {.keys = by, .n_keys = 1, .how = KL_JOIN_HOW_LEFT, .asof = "t"};
    kl_join_report r;
    kl_frame *j = join_ok(a, b, &o, &r);
    frame_is(j, "t,k,x,v\n3,u,1,10\n3,w,2,20\n9,w,3,21\n9,z,4,\n");
    assert_int_equal(r.unmatched_a, 1);
    assert_int_equal(r.unmatched_b, 1);
    kl_frame_free(j);
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_join_asof_tie_in_b_takes_the_last_row(void **state)
{
    (void)state;
    kl_frame *a = csv("t,x\n5,a\n");
    kl_frame *b = csv("t,v\n5,first\n5,second\n3,older\n");
    kl_join_opts o = {.how = KL_JOIN_HOW_LEFT, .asof = "t"};
    kl_join_report r;
    kl_frame *j = join_ok(a, b, &o, &r);
    frame_is(j, "t,x,v\n5,a,second\n");
    assert_int_equal(r.dup_keys_b, 1);
    assert_int_equal(r.dup_rows_b, 2);
    kl_frame_free(j);
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_join_asof_differently_named_time_columns_keep_b_time(void **state)
{
    (void)state;
    kl_frame *a = csv("month,x\n2024-01-01,a\n2024-02-01,b\n");
    kl_frame *b = csv("date,rate\n2024-01-15,1.1\n2024-01-31,1.2\n2024-02-02,1.3\n");
    kl_join_opts o = {.how = KL_JOIN_HOW_LEFT, .asof = "month", .asof_b = "date"};
    kl_frame *j = join_ok(a, b, &o, NULL);
    frame_is(j, "month,x,date,rate\n2024-01-01,a,,\n2024-02-01,b,2024-01-31,1.2\n");
    kl_frame_free(j);
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_join_asof_inner_drops_rows_without_a_past(void **state)
{
    (void)state;
    kl_frame *a = csv("t,x\n1,a\n5,b\n");
    kl_frame *b = csv("t,v\n2,p\n");
    kl_join_opts o = {.how = KL_JOIN_HOW_INNER, .asof = "t"};
    kl_frame *j = join_ok(a, b, &o, NULL);
    frame_is(j, "t,x,v\n5,b,p\n");
    kl_frame_free(j);
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_join_asof_tolerance_on_dates(void **state)
{
    (void)state;
    kl_frame *a = csv("day,x\n2024-01-10,a\n2024-01-20,b\n");
    kl_frame *b = csv("day,rate\n2024-01-08,1.5\n2024-01-12,1.6\n");
    kl_join_opts o = {.how = KL_JOIN_HOW_LEFT, .asof = "day", .tolerance = "2d"};
    kl_join_report r;
    kl_frame *j = join_ok(a, b, &o, &r);
    /* 01-10 is 2 days after 01-08 (within); 01-20 is 8 days after 01-12 (beyond). */
    frame_is(j, "day,x,rate\n2024-01-10,a,1.5\n2024-01-20,b,\n");
    assert_int_equal(r.beyond_tolerance, 1);
    kl_frame_free(j);
    o.tolerance = "1d";
    j = join_ok(a, b, &o, &r);
    frame_is(j, "day,x,rate\n2024-01-10,a,\n2024-01-20,b,\n");
    kl_frame_free(j);
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_join_asof_numeric_time_and_numeric_tolerance(void **state)
{
    (void)state;
    kl_frame *a = csv("t,x\n1.5,a\n4,b\n");
    kl_frame *b = csv("t,v\n1,p\n2.5,q\n");
    kl_join_opts o = {.how = KL_JOIN_HOW_LEFT, .asof = "t", .tolerance = "1"};
    kl_frame *j = join_ok(a, b, &o, NULL);
    frame_is(j, "t,x,v\n1.5,a,p\n4.0,b,\n");
    kl_frame_free(j);
    kl_frame_free(a);
    kl_frame_free(b);
}

static void test_join_asof_bad_tolerance_and_types_are_errors(void **state)
{
    (void)state;
    kl_frame *a = csv("day,x\n2024-01-10,a\n"), *b = csv("day,y\n2024-01-09,b\n");
    kl_frame *c = csv("day,y\n3,b\n"), *j = NULL;
    kl_err err = {0};
    kl_join_opts o = {.how = KL_JOIN_HOW_LEFT, .asof = "day", .tolerance = "2 days"};
    assert_int_equal(kl_join(a, b, &o, &j, NULL, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "tolerance '2 days'"));
    o.tolerance = "-1d";
    assert_int_equal(kl_join(a, b, &o, &j, NULL, &err), KL_EINVAL);
    o.tolerance = NULL;
    assert_int_equal(kl_join(a, c, &o, &j, NULL, &err), KL_EINVAL);
    assert_string_equal(err.msg, "as-of column 'day' is date in A and int in B; both must be "
                                 "dates or times, or both numbers");
    o.asof = "x";
    assert_int_equal(kl_join(a, b, &o, &j, NULL, &err), KL_ENOTFOUND);
    assert_string_equal(err.msg, "no time column 'x' in B");
    assert_null(j);
    kl_frame_free(a);
    kl_frame_free(b);
    kl_frame_free(c);
}

static void test_join_asof_agrees_with_brute_force_and_never_looks_ahead(void **state)
{
    (void)state;
    uint64_t seed = 11;
    for (int round = 0; round < 6; round++) {
        size_t na = 200 + (size_t)round * 50, nb = 150 + (size_t)round * 20;
        kl_frame *a = random_frame(&seed, na, 4, 30, 1), *b = random_frame(&seed, nb, 4, 30, 1);
        const char *const by[] = {"k"};
        kl_join_opts o = {
            .keys = by, .n_keys = (size_t)(round % 2), .how = KL_JOIN_HOW_LEFT, .asof = "t"};
        kl_frame *j = join_ok(a, b, &o, NULL);
        const double *ka = kl_frame_col_f64(a, 0), *kb = kl_frame_col_f64(b, 0);
        const int64_t *ta = kl_frame_col_time(a, 1), *tb = kl_frame_col_time(b, 1);
        /* With by: k, t, row_x, row_y. Without: k_x, t, row_x, k_y, row_y. */
        const double *jrb = kl_frame_col_f64(j, o.n_keys ? 3 : 4);
        assert_int_equal(kl_frame_row_count(j), na);
        for (size_t i = 0; i < na; i++) {
            size_t best = SIZE_MAX;
            for (size_t q = 0; q < nb && ta[i] != KL_TIME_MISSING && !(o.n_keys && isnan(ka[i]));
                 q++) {
                if (tb[q] == KL_TIME_MISSING || tb[q] > ta[i])
                    continue;
                if (o.n_keys && (isnan(kb[q]) || kb[q] != ka[i]))
                    continue;
                if (best == SIZE_MAX || tb[q] >= tb[best])
                    best = q;
            }
            if (best == SIZE_MAX) {
                assert_true(isnan(jrb[i]));
                continue;
            }
            assert_true(jrb[i] == (double)best);
            assert_true(tb[(size_t)jrb[i]] <= ta[i]);
        }
        kl_frame_free(j);
        kl_frame_free(a);
        kl_frame_free(b);
    }
}

static kl_frame *fixture(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/join/%s", KEEL_SOURCE_DIR, name);
    kl_frame *f = NULL;
    kl_err err = {0};
    if (kl_csv_read_file(path, NULL, &f, NULL, &err) < 0)
        fail_msg("%s (%s)", err.msg, err.ctx);
    return f;
}

static void same_cells(const kl_frame *got, const kl_frame *want)
{
    assert_int_equal(kl_frame_col_count(got), kl_frame_col_count(want));
    assert_int_equal(kl_frame_row_count(got), kl_frame_row_count(want));
    for (size_t c = 0; c < kl_frame_col_count(want); c++) {
        assert_string_equal(kl_frame_col_name(got, c), kl_frame_col_name(want, c));
        for (size_t i = 0; i < kl_frame_row_count(want); i++) {
            char g[64], w[64];
            kl_frame_cell_str(got, i, c, g, sizeof g);
            kl_frame_cell_str(want, i, c, w, sizeof w);
            assert_string_equal(g, w);
        }
    }
}

static void test_join_asof_matches_pandas_merge_asof(void **state)
{
    (void)state;
    kl_frame *a = fixture("left.csv"), *b = fixture("right.csv");
    kl_frame *want = fixture("expected.csv"), *want_tol = fixture("expected_tol.csv");
    const char *const by[] = {"ticker"};
    kl_join_opts o = {.keys = by, .n_keys = 1, .how = KL_JOIN_HOW_LEFT, .asof = "time"};
    kl_frame *j = join_ok(a, b, &o, NULL);
    same_cells(j, want);
    kl_frame_free(j);
    o.tolerance = "2m";
    j = join_ok(a, b, &o, NULL);
    same_cells(j, want_tol);
    kl_frame_free(j);
    kl_frame_free(a);
    kl_frame_free(b);
    kl_frame_free(want);
    kl_frame_free(want_tol);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_inner_keeps_a_order_and_matches_only),
        cmocka_unit_test(test_join_left_keeps_unmatched_rows_with_missing_b),
        cmocka_unit_test(test_join_duplicates_on_both_sides_multiply_rows),
        cmocka_unit_test(test_join_duplicates_only_in_a_are_many_to_one),
        cmocka_unit_test(test_join_missing_keys_never_match),
        cmocka_unit_test(test_join_int_key_matches_float_key_by_value),
        cmocka_unit_test(test_join_categorical_key_meets_text_key_on_two_columns),
        cmocka_unit_test(test_join_date_keys_match_as_days),
        cmocka_unit_test(test_join_clashing_names_get_x_and_y_suffixes),
        cmocka_unit_test(test_join_suffixed_name_already_taken_is_an_error),
        cmocka_unit_test(test_join_unknown_key_column_names_the_side),
        cmocka_unit_test(test_join_key_type_mismatch_is_an_error),
        cmocka_unit_test(test_join_without_keys_is_an_error),
        cmocka_unit_test(test_join_empty_result_has_every_column),
        cmocka_unit_test(test_join_equality_agrees_with_nested_loops),
        cmocka_unit_test(test_join_asof_takes_latest_earlier_row_never_a_later_one),
        cmocka_unit_test(test_join_asof_by_key_stays_within_the_key),
        cmocka_unit_test(test_join_asof_tie_in_b_takes_the_last_row),
        cmocka_unit_test(test_join_asof_differently_named_time_columns_keep_b_time),
        cmocka_unit_test(test_join_asof_inner_drops_rows_without_a_past),
        cmocka_unit_test(test_join_asof_tolerance_on_dates),
        cmocka_unit_test(test_join_asof_numeric_time_and_numeric_tolerance),
        cmocka_unit_test(test_join_asof_bad_tolerance_and_types_are_errors),
        cmocka_unit_test(test_join_asof_agrees_with_brute_force_and_never_looks_ahead),
        cmocka_unit_test(test_join_asof_matches_pandas_merge_asof),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
