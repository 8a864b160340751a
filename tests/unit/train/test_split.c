/*
 * Splits against scikit-learn 1.2.1's deterministic splitters (KFold,
 * StratifiedKFold and GroupKFold without shuffling, TimeSeriesSplit: their
 * fold assignments are in tests/fixtures/metrics/sklearn_cases.h, written
 * once by gen_sklearn.py), against fold sizes worked out by hand, and against
 * invariants: folds partition the rows, classes keep their proportions, a
 * group never straddles train and test, time runs forward, the index hash is
 * SHA-256 of the documented byte layout.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keel/hash.h"
#include "keel/parallel.h"
#include "keel/split.h"

#include "fixtures/metrics/sklearn_cases.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static kl_split *make(size_t n, const double *labels, const double *groups, kl_split_opts o)
{
    kl_split *s = NULL;
    kl_err err = {0};
    int rc = kl_split_new(&s, n, labels, groups, &o, &err);
    if (rc)
        fail_msg("kl_split_new: %s (%s)", err.msg, err.ctx);
    return s;
}

static void assert_sorted_unique(const size_t *v, size_t n, size_t limit)
{
    for (size_t i = 0; i < n; i++) {
        assert_true(v[i] < limit);
        if (i)
            assert_true(v[i - 1] < v[i]);
    }
}

/* Each fold: train and test disjoint, ascending, and together every row (k-fold and holdout). */
static void assert_fold_partitions(const kl_split *s)
{
    size_t n = s->n_rows;
    unsigned char *seen = malloc(n);
    for (size_t f = 0; f < s->n_folds; f++) {
        const kl_fold *fd = &s->folds[f];
        assert_int_equal(fd->n_train + fd->n_test, n);
        assert_true(fd->n_train > 0 && fd->n_test > 0);
        assert_sorted_unique(fd->train, fd->n_train, n);
        assert_sorted_unique(fd->test, fd->n_test, n);
        memset(seen, 0, n);
        for (size_t i = 0; i < fd->n_train; i++)
            seen[fd->train[i]] = 1;
        for (size_t i = 0; i < fd->n_test; i++) {
            assert_int_equal(seen[fd->test[i]], 0);
            seen[fd->test[i]] = 1;
        }
    }
    free(seen);
}

/* The test sets of all folds together hold every row exactly once. */
static void assert_tests_partition(const kl_split *s)
{
    size_t n = s->n_rows;
    unsigned *hits = calloc(n, sizeof *hits);
    for (size_t f = 0; f < s->n_folds; f++)
        for (size_t i = 0; i < s->folds[f].n_test; i++)
            hits[s->folds[f].test[i]]++;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(hits[i], 1);
    free(hits);
}

/* fold_of[row] from the test sets. */
static void fold_of(const kl_split *s, int *out)
{
    for (size_t f = 0; f < s->n_folds; f++)
        for (size_t i = 0; i < s->folds[f].n_test; i++)
            out[s->folds[f].test[i]] = (int)f;
}

static void test_kfold_ten_rows_three_folds_is_4_3_3_in_order(void **state)
{
    (void)state;
    kl_split *s =
        make(10, NULL, NULL, (kl_split_opts){.method = KL_SPLIT_METHOD_KFOLD, .folds = 3});
    assert_int_equal(s->n_folds, 3);
    assert_int_equal(s->folds[0].n_test, 4);
    assert_int_equal(s->folds[1].n_test, 3);
    assert_int_equal(s->folds[2].n_test, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(s->folds[1].test[i], 4 + i);
    assert_fold_partitions(s);
    assert_tests_partition(s);
    assert_string_equal(kl_split_method_name(s->method), "kfold");
    kl_split_free(s);
}

static void test_unshuffled_kfold_family_matches_sklearn(void **state)
{
    (void)state;
    const size_t n = N(sp_labels);
    int got[N(sp_labels)];
    kl_split *s = make(n, NULL, NULL, (kl_split_opts){.method = KL_SPLIT_METHOD_KFOLD, .folds = 4});
    fold_of(s, got);
    assert_memory_equal(got, sp_kf4_fold, sizeof got);
    kl_split_free(s);

    s = make(n, sp_labels, NULL,
             (kl_split_opts){.method = KL_SPLIT_METHOD_STRATIFIED_KFOLD, .folds = 3});
    fold_of(s, got);
    assert_memory_equal(got, sp_skf3_fold, sizeof got);
    assert_fold_partitions(s);
    /* The rarest class has 2 rows, fewer than 3 folds: scikit-learn warns. */
    assert_int_equal(s->flags, KL_SPLIT_WARN_SMALL_CLASS);
    kl_split_free(s);

    s = make(n, NULL, sp_groups,
             (kl_split_opts){.method = KL_SPLIT_METHOD_GROUP_KFOLD, .folds = 4});
    fold_of(s, got);
    assert_memory_equal(got, sp_gkf4_fold, sizeof got);
    kl_split_free(s);
}

static void test_larger_stratified_and_group_kfold_match_sklearn(void **state)
{
    (void)state;
    const size_t n = N(sp2_labels);
    int got[N(sp2_labels)];
    kl_split *s = make(n, sp2_labels, NULL,
                       (kl_split_opts){.method = KL_SPLIT_METHOD_STRATIFIED_KFOLD, .folds = 5});
    fold_of(s, got);
    assert_memory_equal(got, sp2_skf5_fold, sizeof got);
    assert_int_equal(s->flags, 0);
    kl_split_free(s);
    /* Ten groups share four sizes: the tie order decides the folds. */
    s = make(n, NULL, sp2_groups,
             (kl_split_opts){.method = KL_SPLIT_METHOD_GROUP_KFOLD, .folds = 3});
    fold_of(s, got);
    assert_memory_equal(got, sp2_gkf3_fold, sizeof got);
    kl_split_free(s);
}

static void test_holdout_stratified_class_counts_match_sklearn(void **state)
{
    (void)state;
    const size_t n = N(sp2_labels);
    for (uint64_t seed = 0; seed < 3; seed++) {
        kl_split *s = make(n, sp2_labels, NULL,
                           (kl_split_opts){.method = KL_SPLIT_METHOD_HOLDOUT_STRATIFIED,
                                           .test_fraction = 0.3,
                                           .seed = seed});
        int counts[4] = {0};
        for (size_t i = 0; i < s->folds[0].n_test; i++)
            counts[(int)sp2_labels[s->folds[0].test[i]]]++;
        assert_memory_equal(counts, sp2_sss_test_counts, sizeof counts);
        assert_fold_partitions(s);
        kl_split_free(s);
    }
}

static void test_kfold_shuffle_keeps_sizes_and_depends_only_on_seed(void **state)
{
    (void)state;
    kl_split_opts o = {.method = KL_SPLIT_METHOD_KFOLD, .folds = 3, .shuffle = 1, .seed = 11};
    kl_split *a = make(10, NULL, NULL, o), *b = make(10, NULL, NULL, o);
    o.seed = 12;
    kl_split *c = make(10, NULL, NULL, o);
    assert_int_equal(a->folds[0].n_test, 4);
    assert_int_equal(a->folds[2].n_test, 3);
    assert_fold_partitions(a);
    assert_tests_partition(a);
    assert_memory_equal(a->hash, b->hash, KL_SHA256_LEN);
    for (size_t f = 0; f < 3; f++)
        assert_memory_equal(a->folds[f].test, b->folds[f].test,
                            a->folds[f].n_test * sizeof(size_t));
    assert_memory_not_equal(a->hash, c->hash, KL_SHA256_LEN);
    assert_int_equal(a->seed, 11);
    /* Not the unshuffled blocks (probability 1/4200 for a random shuffle). */
    kl_split *plain =
        make(10, NULL, NULL, (kl_split_opts){.method = KL_SPLIT_METHOD_KFOLD, .folds = 3});
    assert_memory_not_equal(a->hash, plain->hash, KL_SHA256_LEN);
    kl_split_free(a);
    kl_split_free(b);
    kl_split_free(c);
    kl_split_free(plain);
}

/* Per fold and class, the number of test rows of that class. */
static void class_counts(const kl_split *s, const double *labels, size_t k, size_t *out)
{
    memset(out, 0, s->n_folds * k * sizeof *out);
    for (size_t f = 0; f < s->n_folds; f++)
        for (size_t i = 0; i < s->folds[f].n_test; i++)
            out[f * k + (size_t)labels[s->folds[f].test[i]]]++;
}

static void test_stratified_kfold_shuffle_keeps_sklearn_class_allocation(void **state)
{
    (void)state;
    const size_t n = N(sp_labels);
    kl_split *plain = make(n, sp_labels, NULL,
                           (kl_split_opts){.method = KL_SPLIT_METHOD_STRATIFIED_KFOLD, .folds = 3});
    kl_split *shuf =
        make(n, sp_labels, NULL,
             (kl_split_opts){
                 .method = KL_SPLIT_METHOD_STRATIFIED_KFOLD, .folds = 3, .shuffle = 1, .seed = 5});
    size_t want[9], got[9];
    class_counts(plain, sp_labels, 3, want);
    class_counts(shuf, sp_labels, 3, got);
    assert_memory_equal(want, got, sizeof want);
    assert_memory_not_equal(plain->hash, shuf->hash, KL_SHA256_LEN);
    assert_fold_partitions(shuf);
    assert_tests_partition(shuf);
    kl_split_free(plain);
    kl_split_free(shuf);
}

static void test_stratified_kfold_folds_hold_classes_in_proportion(void **state)
{
    (void)state;
    /* 60 of class 0, 30 of class 1, 10 of class 2, interleaved; 5 folds: 12, 6, 2 each. */
    double y[100];
    for (size_t i = 0; i < 100; i++)
        y[i] = i % 10 == 0 ? 2 : i % 10 < 4 ? 1 : 0;
    kl_split *s =
        make(100, y, NULL,
             (kl_split_opts){
                 .method = KL_SPLIT_METHOD_STRATIFIED_KFOLD, .folds = 5, .shuffle = 1, .seed = 3});
    size_t c[15];
    class_counts(s, y, 3, c);
    for (size_t f = 0; f < 5; f++) {
        assert_int_equal(c[f * 3 + 0], 12);
        assert_int_equal(c[f * 3 + 1], 6);
        assert_int_equal(c[f * 3 + 2], 2);
    }
    assert_int_equal(s->flags, 0);
    kl_split_free(s);
}

static void test_group_kfold_never_splits_a_group(void **state)
{
    (void)state;
    double g[200];
    for (size_t i = 0; i < 200; i++)
        g[i] = (double)((i * 7919) % 37); /* 37 groups of 5 or 6 rows, scattered */
    kl_split *s =
        make(200, NULL, g, (kl_split_opts){.method = KL_SPLIT_METHOD_GROUP_KFOLD, .folds = 5});
    assert_fold_partitions(s);
    assert_tests_partition(s);
    for (size_t f = 0; f < 5; f++) {
        int in_test[37] = {0};
        for (size_t i = 0; i < s->folds[f].n_test; i++)
            in_test[(int)g[s->folds[f].test[i]]] = 1;
        for (size_t i = 0; i < s->folds[f].n_train; i++)
            assert_int_equal(in_test[(int)g[s->folds[f].train[i]]], 0);
        /* Greedy by size keeps folds within one group (6 rows) of each other: 40 +- 6. */
        assert_true(s->folds[f].n_test >= 34 && s->folds[f].n_test <= 46);
    }
    kl_split_free(s);
}

static void test_time_series_matches_sklearn_with_gap_and_max_train(void **state)
{
    (void)state;
    kl_split *s = make(N(sp_labels), NULL, NULL,
                       (kl_split_opts){.method = KL_SPLIT_METHOD_TIME_SERIES,
                                       .folds = 4,
                                       .test_size = 3,
                                       .gap = 2,
                                       .max_train = 9});
    assert_int_equal(s->n_folds, 4);
    for (size_t f = 0; f < 4; f++) {
        const kl_fold *fd = &s->folds[f];
        const int *b = sp_tss_bounds + 4 * f;
        assert_int_equal(fd->train[0], b[0]);
        assert_int_equal(fd->train[fd->n_train - 1] + 1, b[1]);
        assert_int_equal(fd->n_train, b[1] - b[0]);
        assert_int_equal(fd->test[0], b[2]);
        assert_int_equal(fd->n_test, b[3] - b[2]);
        assert_sorted_unique(fd->train, fd->n_train, s->n_rows);
        assert_sorted_unique(fd->test, fd->n_test, s->n_rows);
    }
    kl_split_free(s);
}

static void test_time_series_default_expands_window_forward(void **state)
{
    (void)state;
    /* 10 rows, 3 folds: test size 10 / 4 = 2; tests [4,6) [6,8) [8,10); trains [0,4) [0,6) [0,8).
     */
    kl_split *s =
        make(10, NULL, NULL, (kl_split_opts){.method = KL_SPLIT_METHOD_TIME_SERIES, .folds = 3});
    for (size_t f = 0; f < 3; f++) {
        const kl_fold *fd = &s->folds[f];
        assert_int_equal(fd->n_test, 2);
        assert_int_equal(fd->test[0], 4 + 2 * f);
        assert_int_equal(fd->n_train, 4 + 2 * f);
        assert_int_equal(fd->train[0], 0);
        assert_true(fd->train[fd->n_train - 1] < fd->test[0]); /* the past predicts the future */
    }
    kl_split_free(s);
}

static void test_holdout_random_sizes_and_determinism(void **state)
{
    (void)state;
    /* n_test = ceil(0.25 * 10) = 3, as ShuffleSplit. */
    kl_split_opts o = {.method = KL_SPLIT_METHOD_HOLDOUT, .test_fraction = 0.25, .seed = 1};
    kl_split *a = make(10, NULL, NULL, o), *b = make(10, NULL, NULL, o);
    o.seed = 2;
    kl_split *c = make(10, NULL, NULL, o);
    assert_int_equal(a->n_folds, 1);
    assert_int_equal(a->folds[0].n_test, 3);
    assert_int_equal(a->folds[0].n_train, 7);
    assert_fold_partitions(a);
    assert_string_equal(a->hash_hex, b->hash_hex);
    assert_string_not_equal(a->hash_hex, c->hash_hex);
    kl_split_free(a);
    kl_split_free(b);
    kl_split_free(c);
    /* Default fraction 0.2. */
    kl_split *d = make(101, NULL, NULL, (kl_split_opts){0});
    assert_int_equal(d->folds[0].n_test, 21);
    kl_split_free(d);
}

static void test_holdout_time_tests_the_last_rows(void **state)
{
    (void)state;
    kl_split *s =
        make(10, NULL, NULL,
             (kl_split_opts){.method = KL_SPLIT_METHOD_HOLDOUT_TIME, .test_fraction = 0.3});
    assert_int_equal(s->folds[0].n_test, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(s->folds[0].test[i], 7 + i);
    assert_int_equal(s->folds[0].n_train, 7);
    assert_int_equal(s->folds[0].train[6], 6);
    kl_split_free(s);
}

static void test_holdout_stratified_keeps_class_proportions(void **state)
{
    (void)state;
    double y[100];
    for (size_t i = 0; i < 100; i++)
        y[i] = i % 10 < 3 ? 5 : 9; /* 30 of class 5, 70 of class 9 */
    for (uint64_t seed = 0; seed < 5; seed++) {
        kl_split *s =
            make(100, y, NULL,
                 (kl_split_opts){.method = KL_SPLIT_METHOD_HOLDOUT_STRATIFIED, .seed = seed});
        size_t c5 = 0;
        for (size_t i = 0; i < s->folds[0].n_test; i++)
            c5 += y[s->folds[0].test[i]] == 5;
        assert_int_equal(s->folds[0].n_test, 20);
        assert_int_equal(c5, 6);
        assert_fold_partitions(s);
        kl_split_free(s);
    }
    /* Two classes of 5, test 3 of 10: train 3.5 + 3.5 is rounded by a random tie-break, so the
     * test takes 2 of one class and 1 of the other. */
    double z[10] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1};
    int seen[2] = {0, 0};
    for (uint64_t seed = 0; seed < 20; seed++) {
        kl_split *s = make(10, z, NULL,
                           (kl_split_opts){.method = KL_SPLIT_METHOD_HOLDOUT_STRATIFIED,
                                           .test_fraction = 0.3,
                                           .seed = seed});
        size_t ones = 0;
        for (size_t i = 0; i < s->folds[0].n_test; i++)
            ones += z[s->folds[0].test[i]] == 1;
        assert_int_equal(s->folds[0].n_test, 3);
        assert_true(ones == 1 || ones == 2);
        seen[ones - 1] = 1;
        kl_split_free(s);
    }
    assert_true(seen[0] && seen[1]); /* both ways happen over 20 seeds */
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int b = 0; b < 8; b++)
        p[b] = (uint8_t)(v >> (8 * b));
}

static void test_hash_is_sha256_of_documented_layout(void **state)
{
    (void)state;
    kl_split *s = make(5, NULL, NULL, (kl_split_opts){.method = KL_SPLIT_METHOD_KFOLD, .folds = 2});
    /* Fold 0: train {3, 4}, test {0, 1, 2}; fold 1: train {0, 1, 2}, test {3, 4}. */
    const uint64_t words[] = {2, 3, 4, 3, 0, 1, 2, 3, 0, 1, 2, 2, 3, 4};
    uint8_t buf[sizeof words], want[KL_SHA256_LEN];
    for (size_t i = 0; i < N(words); i++)
        put_u64(buf + 8 * i, words[i]);
    assert_int_equal(kl_sha256(buf, sizeof buf, want), 0);
    assert_memory_equal(s->hash, want, KL_SHA256_LEN);
    char hex[KL_SHA256_HEX_LEN + 1];
    kl_hex(want, KL_SHA256_LEN, hex);
    assert_string_equal(s->hash_hex, hex);
    kl_split_free(s);
}

static void test_split_is_the_same_with_one_or_two_threads(void **state)
{
    (void)state;
    double y[1000];
    for (size_t i = 0; i < 1000; i++)
        y[i] = (double)(i % 7 == 0);
    kl_split_opts o = {
        .method = KL_SPLIT_METHOD_STRATIFIED_KFOLD, .folds = 5, .shuffle = 1, .seed = 9};
    kl_threads_set(1);
    kl_split *a = make(1000, y, NULL, o);
    kl_threads_set(2);
    kl_split *b = make(1000, y, NULL, o);
    kl_threads_set(0);
    assert_string_equal(a->hash_hex, b->hash_hex);
    kl_split_free(a);
    kl_split_free(b);
}

static void expect_error(size_t n, const double *labels, const double *groups, kl_split_opts o,
                         const char *needle)
{
    kl_split *s = (kl_split *)1;
    kl_err err = {0};
    assert_int_equal(kl_split_new(&s, n, labels, groups, &o, &err), KL_EINVAL);
    assert_null(s);
    if (!strstr(err.msg, needle))
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void test_impossible_splits_are_refused_with_sizes(void **state)
{
    (void)state;
    const double y[] = {0, 0, 0, 1, 1, 1}, single[] = {0, 0, 0, 0, 1, 2};
    const double nan_y[] = {0, NAN, 0, 1, 1, 1};
    expect_error(3, NULL, NULL, (kl_split_opts){.method = KL_SPLIT_METHOD_KFOLD, .folds = 4},
                 "cannot have 4 folds with only 3 rows");
    expect_error(6, NULL, NULL, (kl_split_opts){.method = KL_SPLIT_METHOD_KFOLD, .folds = 1},
                 "at least 2");
    expect_error(6, y, NULL,
                 (kl_split_opts){.method = KL_SPLIT_METHOD_STRATIFIED_KFOLD, .folds = 4},
                 "largest class has 3");
    expect_error(6, NULL, NULL, (kl_split_opts){.method = KL_SPLIT_METHOD_STRATIFIED_KFOLD},
                 "needs labels");
    expect_error(6, nan_y, NULL, (kl_split_opts){.method = KL_SPLIT_METHOD_HOLDOUT_STRATIFIED},
                 "labels[1] is NaN");
    expect_error(6, single, NULL, (kl_split_opts){.method = KL_SPLIT_METHOD_HOLDOUT_STRATIFIED},
                 "only 1 row");
    expect_error(6, NULL, y, (kl_split_opts){.method = KL_SPLIT_METHOD_GROUP_KFOLD, .folds = 3},
                 "only 2 groups");
    expect_error(10, NULL, NULL,
                 (kl_split_opts){
                     .method = KL_SPLIT_METHOD_TIME_SERIES, .folds = 3, .test_size = 3, .gap = 1},
                 "too many folds");
    expect_error(3, NULL, NULL, (kl_split_opts){.method = KL_SPLIT_METHOD_TIME_SERIES, .folds = 3},
                 "only 3 rows");
    expect_error(10, NULL, NULL, (kl_split_opts){.test_fraction = 1.5}, "(0, 1)");
    expect_error(1, NULL, NULL, (kl_split_opts){0}, "train set would be empty");
    expect_error(0, NULL, NULL, (kl_split_opts){0}, "zero rows");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kfold_ten_rows_three_folds_is_4_3_3_in_order),
        cmocka_unit_test(test_unshuffled_kfold_family_matches_sklearn),
        cmocka_unit_test(test_larger_stratified_and_group_kfold_match_sklearn),
        cmocka_unit_test(test_holdout_stratified_class_counts_match_sklearn),
        cmocka_unit_test(test_kfold_shuffle_keeps_sizes_and_depends_only_on_seed),
        cmocka_unit_test(test_stratified_kfold_shuffle_keeps_sklearn_class_allocation),
        cmocka_unit_test(test_stratified_kfold_folds_hold_classes_in_proportion),
        cmocka_unit_test(test_group_kfold_never_splits_a_group),
        cmocka_unit_test(test_time_series_matches_sklearn_with_gap_and_max_train),
        cmocka_unit_test(test_time_series_default_expands_window_forward),
        cmocka_unit_test(test_holdout_random_sizes_and_determinism),
        cmocka_unit_test(test_holdout_time_tests_the_last_rows),
        cmocka_unit_test(test_holdout_stratified_keeps_class_proportions),
        cmocka_unit_test(test_hash_is_sha256_of_documented_layout),
        cmocka_unit_test(test_split_is_the_same_with_one_or_two_threads),
        cmocka_unit_test(test_impossible_splits_are_refused_with_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
