/*
 * Data snapshots (include/keel/snapshot.h): content ids, the table's round
 * trip through the store, and the drift summaries against hand-computed
 * values (deciles of 0..10, the sample standard deviation sqrt(11), sorted
 * distinct values with counts, category counts).
 */
#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "keel/frame.h"
#include "keel/snapshot.h"
#include "keel/store.h"

typedef struct fx {
    char dir[64];
    kl_store *s;
} fx;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/keel-snap-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    kl_err err = {0};
    unsetenv("KEEL_STORE");
    if (kl_store_open(f->dir, NULL, &f->s, &err) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    kl_store_close(f->s);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static int count_object(const char *id, uint64_t size, void *ud)
{
    (void)id;
    (void)size;
    (*(int *)ud)++;
    return 0;
}

static int objects(kl_store *s)
{
    int n = 0;
    kl_err err = {0};
    assert_int_equal(kl_store_object_each(s, count_object, &n, &err), 0);
    return n;
}

/* x = 0..10 (numeric), c = a,b,a,... (categorical), t = text with tricky values. */
static kl_frame *sample(void)
{
    double x[11];
    const char *c[11], *t[11] = {"NA", "", "a,b", "say \"hi\"", NULL, "line\nbreak", "x",
                                 "null", " y ", "ü", "z"};
    for (int i = 0; i < 11; i++) {
        x[i] = 10 - i;
        c[i] = i % 3 == 0 ? "b" : "a";
    }
    kl_frame *f = kl_frame_new(11);
    kl_err err = {0};
    assert_int_equal(kl_frame_add_numeric(f, "x", KL_TYPE_INT, x, &err), 0);
    assert_int_equal(kl_frame_add_categorical(f, "c", c, &err), 0);
    assert_int_equal(kl_frame_add_text(f, "t", t, &err), 0);
    return f;
}

static void test_snapshot_same_frame_gives_same_id_and_no_new_objects(void **state)
{
    fx *f = *state;
    kl_frame *fr = sample();
    kl_snapshot_opts o = {"s", "00", NULL, NULL};
    char a[KL_ID_LEN], b[KL_ID_LEN];
    int created = -1;
    kl_err err = {0};
    assert_int_equal(kl_snapshot_create(f->s, fr, &o, a, &created, &err), 0);
    assert_int_equal(created, 1);
    int n = objects(f->s);
    assert_int_equal(n, 3);
    assert_int_equal(kl_snapshot_create(f->s, fr, &o, b, &created, &err), 0);
    assert_int_equal(created, 0);
    assert_string_equal(a, b);
    assert_int_equal(objects(f->s), n);
    /* Another policy is another snapshot. */
    kl_snapshot_opts o2 = {"s", "00", "pii:default=redact/0", NULL};
    assert_int_equal(kl_snapshot_create(f->s, fr, &o2, b, &created, &err), 0);
    assert_int_equal(created, 1);
    assert_string_not_equal(a, b);
    kl_frame_free(fr);
}

static void test_snapshot_load_gives_the_same_frame_hash(void **state)
{
    fx *f = *state;
    kl_frame *fr = sample(), *back = NULL;
    kl_snapshot_opts o = {NULL, "00", NULL, NULL};
    char id[KL_ID_LEN];
    kl_err err = {0};
    assert_int_equal(kl_snapshot_create(f->s, fr, &o, id, NULL, &err), 0);
    assert_int_equal(kl_snapshot_load(f->s, id, &back, &err), 0);
    uint8_t h1[32], h2[32];
    kl_frame_hash(fr, h1);
    kl_frame_hash(back, h2);
    assert_memory_equal(h1, h2, 32);
    assert_int_equal(kl_frame_col_type(back, 1), KL_TYPE_CATEGORICAL);
    assert_null(kl_frame_col_text(back, 2)[4]);
    assert_string_equal(kl_frame_col_text(back, 2)[0], "NA");
    kl_frame_free(fr);
    kl_frame_free(back);
}

static void test_snapshot_deciles_and_moments_of_0_to_10(void **state)
{
    fx *f = *state;
    kl_frame *fr = sample();
    kl_snapshot_opts o = {NULL, "00", NULL, NULL};
    char id[KL_ID_LEN];
    kl_err err = {0};
    json_t *m = NULL;
    assert_int_equal(kl_snapshot_create(f->s, fr, &o, id, NULL, &err), 0);
    assert_int_equal(kl_snapshot_manifest(f->s, id, &m, &err), 0);
    json_t *x = json_array_get(json_object_get(m, "stats"), 0);
    json_t *dec = json_object_get(x, "deciles");
    assert_int_equal(json_array_size(dec), 11);
    for (int q = 0; q <= 10; q++) /* quantile q/10 of 0..10 at position q: the value q */
        assert_true(json_real_value(json_array_get(dec, q)) == q);
    assert_true(json_real_value(json_object_get(x, "mean")) == 5.0);
    /* sample variance of 0..10: sum (i - 5)^2 / 10 = 110 / 10 */
    assert_true(fabs(json_real_value(json_object_get(x, "sd")) - sqrt(11.0)) < 1e-15);
    assert_true(json_real_value(json_object_get(x, "skewness")) == 0.0);
    /* population excess kurtosis: m4 = 2 (1 + 16 + 81 + 256 + 625) / 11, m2 = 10 */
    assert_true(fabs(json_real_value(json_object_get(x, "kurtosis")) - (1958.0 / 11 / 100 - 3)) <
                1e-12);
    json_t *counts = json_object_get(json_array_get(json_object_get(m, "stats"), 1), "counts");
    assert_int_equal(json_integer_value(json_object_get(counts, "a")), 7);
    assert_int_equal(json_integer_value(json_object_get(counts, "b")), 4);
    json_decref(m);
    kl_frame_free(fr);
}

static void test_snapshot_values_are_sorted_distinct_with_counts(void **state)
{
    fx *f = *state;
    const double v[8] = {3, 1, 2, 1, NAN, -0.0, 0.0, -1e300};
    kl_frame *fr = kl_frame_new(8);
    kl_err err = {0};
    assert_int_equal(kl_frame_add_numeric(fr, "v", KL_TYPE_FLOAT, v, &err), 0);
    kl_snapshot_opts o = {NULL, "00", NULL, NULL};
    char id[KL_ID_LEN];
    assert_int_equal(kl_snapshot_create(f->s, fr, &o, id, NULL, &err), 0);
    double *vals = NULL;
    uint64_t *counts = NULL;
    size_t n = 0;
    assert_int_equal(kl_snapshot_values(f->s, id, "v", &vals, &counts, &n, &err), 0);
    const double want[6] = {-1e300, -0.0, 0.0, 1, 2, 3};
    const uint64_t wc[6] = {1, 1, 1, 2, 1, 1};
    assert_int_equal(n, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_memory_equal(&vals[i], &want[i], sizeof(double)); /* -0.0 before 0.0, bit for bit */
        assert_int_equal(counts[i], wc[i]);
    }
    free(vals);
    free(counts);
    assert_int_equal(kl_snapshot_values(f->s, id, "nope", &vals, &counts, &n, &err),
                     KL_ENOTFOUND);
    kl_frame_free(fr);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void test_snapshot_radix_sort_matches_qsort_on_many_values(void **state)
{
    fx *f = *state;
    enum { N = 50000 };
    double *v = malloc(N * sizeof *v), *ref = malloc(N * sizeof *ref);
    uint64_t s = 88172645463325252ull;
    for (size_t i = 0; i < N; i++) { /* xorshift64: negative, positive, tiny and huge values */
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v[i] = ldexp((double)(int64_t)(s >> 11) - (double)(1ull << 52), (int)(s % 200) - 100);
        if (i % 7 == 0)
            v[i] = (double)(s % 10); /* repeats */
        ref[i] = v[i];
    }
    kl_frame *fr = kl_frame_new(N);
    kl_err err = {0};
    assert_int_equal(kl_frame_add_numeric(fr, "v", KL_TYPE_FLOAT, v, &err), 0);
    kl_snapshot_opts o = {NULL, "00", NULL, NULL};
    char id[KL_ID_LEN];
    assert_int_equal(kl_snapshot_create(f->s, fr, &o, id, NULL, &err), 0);
    double *vals = NULL;
    uint64_t *counts = NULL;
    size_t n = 0;
    assert_int_equal(kl_snapshot_values(f->s, id, "v", &vals, &counts, &n, &err), 0);
    qsort(ref, N, sizeof *ref, cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (uint64_t c = 0; c < counts[i]; c++)
            assert_true(vals[i] == ref[k++]);
    assert_int_equal(k, N);
    free(vals);
    free(counts);
    free(v);
    free(ref);
    kl_frame_free(fr);
}

/* Every value of every column kind back bit for bit (compared cell by cell, not only by hash). */
static void test_snapshot_table_round_trips_every_kind_bit_for_bit(void **state)
{
    fx *f = *state;
    enum { N = 300 };
    double dec[N], flt[N], big[N], neg0[N];
    const char *cat[N], *txt[N];
    char catbuf[N][8], txtbuf[N][8];
    uint8_t b[N];
    int64_t t[N];
    for (int i = 0; i < N; i++) {
        dec[i] = i % 11 == 0 ? NAN : (double)(i - 150) / 100; /* decimals: scale 2 */
        flt[i] = i % 13 == 0 ? INFINITY : 1.0 / (i + 3);      /* no decimal form: doubles */
        big[i] = i % 2 ? 4503599627370496.0 : -(double)i;     /* 2^52: wider than the encoder takes */
        neg0[i] = i == 5 ? -0.0 : (double)i;                  /* -0.0 is not the integer 0 */
        snprintf(catbuf[i], sizeof catbuf[i], "c%d", i % 200); /* 200 categories: 2-byte codes */
        cat[i] = i % 17 == 0 ? NULL : catbuf[i];
        snprintf(txtbuf[i], sizeof txtbuf[i], "%.*s", i % 4, "abcd");
        txt[i] = i % 9 == 0 ? NULL : txtbuf[i]; /* "" and NULL differ */
        b[i] = i % 5 == 0 ? KL_BOOL_MISSING : (uint8_t)(i % 2);
        t[i] = i % 6 == 0 ? KL_TIME_MISSING : (int64_t)i * 86400000000LL;
    }
    kl_frame *fr = kl_frame_new(N), *back = NULL;
    kl_err err = {0};
    assert_int_equal(kl_frame_add_numeric(fr, "dec", KL_TYPE_FLOAT, dec, &err), 0);
    assert_int_equal(kl_frame_add_numeric(fr, "flt", KL_TYPE_FLOAT, flt, &err), 0);
    assert_int_equal(kl_frame_add_numeric(fr, "big", KL_TYPE_INT, big, &err), 0);
    assert_int_equal(kl_frame_add_numeric(fr, "neg0", KL_TYPE_FLOAT, neg0, &err), 0);
    assert_int_equal(kl_frame_add_categorical(fr, "cat", cat, &err), 0);
    assert_int_equal(kl_frame_add_text(fr, "txt", txt, &err), 0);
    assert_int_equal(kl_frame_add_bool(fr, "b", b, &err), 0);
    assert_int_equal(kl_frame_add_time(fr, "day", KL_TYPE_DATE, t, "%d/%m/%Y", &err), 0);
    kl_frame_set_infer_version(fr, 1);
    kl_snapshot_opts o = {NULL, "00", NULL, NULL};
    char id[KL_ID_LEN];
    assert_int_equal(kl_snapshot_create(f->s, fr, &o, id, NULL, &err), 0);
    assert_int_equal(kl_snapshot_load(f->s, id, &back, &err), 0);
    assert_int_equal(kl_frame_col_count(back), 8);
    assert_int_equal(kl_frame_infer_version(back), 1);
    for (size_t j = 0; j < 4; j++)
        assert_memory_equal(kl_frame_col_f64(fr, j), kl_frame_col_f64(back, j), N * sizeof(double));
    size_t nd = 0;
    const char *const *dict = kl_frame_col_dict(back, 4, &nd);
    const int32_t *codes = kl_frame_col_codes(back, 4);
    for (int i = 0; i < N; i++) {
        if (cat[i])
            assert_string_equal(dict[codes[i]], cat[i]);
        else
            assert_int_equal(codes[i], KL_CAT_MISSING);
        if (txt[i])
            assert_string_equal(kl_frame_col_text(back, 5)[i], txt[i]);
        else
            assert_null(kl_frame_col_text(back, 5)[i]);
    }
    assert_memory_equal(kl_frame_col_bool(back, 6), b, N);
    assert_memory_equal(kl_frame_col_time(back, 7), t, sizeof t);
    assert_string_equal(kl_frame_col_time_format(back, 7), "%d/%m/%Y");
    assert_int_equal(kl_frame_col_type(back, 2), KL_TYPE_INT);
    assert_int_equal(kl_frame_col_type(back, 7), KL_TYPE_DATE);
    kl_frame_free(fr);
    kl_frame_free(back);
}

/* Decimal strings read by strtod come back as the same doubles from their scaled integers. */
static void test_snapshot_decimals_from_strtod_are_exact(void **state)
{
    fx *f = *state;
    const char *text[] = {"4.36", "-91.890", "7.68e-04", "0.1", "0.7", "2019.08", "1e-10",
                          "123456.789012", "-0.000001", "225179.9", "3"}; /* scale 10 */
    enum { N = sizeof text / sizeof *text };
    double v[N];
    for (int i = 0; i < N; i++)
        v[i] = strtod(text[i], NULL);
    kl_frame *fr = kl_frame_new(N), *back = NULL;
    kl_err err = {0};
    assert_int_equal(kl_frame_add_numeric(fr, "v", KL_TYPE_FLOAT, v, &err), 0);
    kl_snapshot_opts o = {NULL, "00", NULL, NULL};
    char id[KL_ID_LEN];
    assert_int_equal(kl_snapshot_create(f->s, fr, &o, id, NULL, &err), 0);
    assert_int_equal(kl_snapshot_load(f->s, id, &back, &err), 0);
    assert_memory_equal(kl_frame_col_f64(back, 0), v, sizeof v);
    double *vals = NULL;
    uint64_t *counts = NULL;
    size_t n = 0;
    assert_int_equal(kl_snapshot_values(f->s, id, "v", &vals, &counts, &n, &err), 0);
    assert_int_equal(n, N);
    for (size_t i = 1; i < n; i++)
        assert_true(vals[i - 1] < vals[i]);
    free(vals);
    free(counts);
    kl_frame_free(fr);
    kl_frame_free(back);
}

/* Small integer ranges take the counting sort; its output must equal a plain sort's. */
static void test_snapshot_counting_sort_of_decimals_matches_qsort(void **state)
{
    fx *f = *state;
    enum { N = 20000 };
    double *v = malloc(N * sizeof *v), *ref = malloc(N * sizeof *ref);
    uint64_t s = 2463534242ull;
    size_t m = 0;
    for (size_t i = 0; i < N; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v[i] = i % 10 == 0 ? NAN : (double)((int64_t)(s % 4001) - 2000) / 100;
        if (v[i] == v[i])
            ref[m++] = v[i];
    }
    kl_frame *fr = kl_frame_new(N);
    kl_err err = {0};
    assert_int_equal(kl_frame_add_numeric(fr, "v", KL_TYPE_FLOAT, v, &err), 0);
    kl_snapshot_opts o = {NULL, "00", NULL, NULL};
    char id[KL_ID_LEN];
    assert_int_equal(kl_snapshot_create(f->s, fr, &o, id, NULL, &err), 0);
    double *vals = NULL;
    uint64_t *counts = NULL;
    size_t n = 0, k = 0;
    assert_int_equal(kl_snapshot_values(f->s, id, "v", &vals, &counts, &n, &err), 0);
    qsort(ref, m, sizeof *ref, cmp);
    for (size_t i = 0; i < n; i++)
        for (uint64_t c = 0; c < counts[i]; c++)
            assert_memory_equal(&vals[i], &ref[k++], sizeof(double));
    assert_int_equal(k, m);
    /* Median of the sorted present values (type 7) against the plain sort. */
    json_t *man = NULL;
    assert_int_equal(kl_snapshot_manifest(f->s, id, &man, &err), 0);
    json_t *dec = json_object_get(json_array_get(json_object_get(man, "stats"), 0), "deciles");
    double pos = (double)(m - 1) * 0.5, w = pos - floor(pos);
    double med = ref[(size_t)pos] + (ref[(size_t)pos + 1] - ref[(size_t)pos]) * w;
    assert_true(json_real_value(json_array_get(dec, 5)) == med);
    json_decref(man);
    free(vals);
    free(counts);
    free(v);
    free(ref);
    kl_frame_free(fr);
}

/* A snapshot stored by an older keel as CSV text gives a clear error, not garbage. */
static void test_snapshot_old_csv_table_is_unsupported(void **state)
{
    fx *f = *state;
    kl_err err = {0};
    char table[KL_ID_LEN], man[KL_ID_LEN], text[1024];
    assert_int_equal(kl_store_put(f->s, "x\n1\n", 4, table, &err), 0);
    snprintf(text, sizeof text,
             "{\"format\": \"keel-snapshot\", \"table\": {\"object\": \"%s\", \"encoding\": "
             "\"csv\", \"hash\": \"00\"}}",
             table);
    assert_int_equal(kl_store_put(f->s, text, strlen(text), man, &err), 0);
    kl_snapshot_rec rec = {0};
    memset(rec.id, 'a', KL_ID_LEN - 1);
    rec.source_hash = "00";
    rec.n_rows = 1;
    rec.n_cols = 1;
    rec.schema_hash = "00";
    rec.manifest = man;
    assert_int_equal(kl_store_snapshot_add(f->s, &rec, &err), 0);
    kl_frame *back = NULL;
    assert_int_equal(kl_snapshot_load(f->s, rec.id, &back, &err), KL_EUNSUPPORTED);
    assert_null(back);
    assert_non_null(strstr(err.msg, "add the data again"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_snapshot_same_frame_gives_same_id_and_no_new_objects,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_load_gives_the_same_frame_hash, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_deciles_and_moments_of_0_to_10, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_values_are_sorted_distinct_with_counts,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_radix_sort_matches_qsort_on_many_values,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_table_round_trips_every_kind_bit_for_bit,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_decimals_from_strtod_are_exact, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_counting_sort_of_decimals_matches_qsort,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_old_csv_table_is_unsupported, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
