/*
 * Validation splits: holdout (random, stratified, time-ordered), k-fold,
 * stratified k-fold, grouped k-fold and the time-series expanding window,
 * with scikit-learn 1.2.1's fold sizes and allocation rules, every random
 * choice drawn from kl_rng, and a SHA-256 of the row indices so a run can
 * record exactly which rows it trained and validated on.
 *
 * Ownership: kl_split_new returns a new kl_split owned by the caller and freed
 * with kl_split_free (NULL is fine); its fold arrays live inside it.
 *
 * Rows are numbered 0..n-1 in the order of the data. Within a fold, train and
 * test indices are sorted ascending (as scikit-learn's KFold family yields
 * them; its shuffle splits yield permuted order, which carries no meaning).
 * A split depends only on n, the labels or groups, the options and the seed,
 * never on the thread count. Methods without randomness ignore the seed but
 * record it.
 *
 * The index hash (kl_split.hash) is SHA-256 over, for each fold in order:
 * n_train, the train indices, n_test, the test indices, each written as an
 * unsigned 64-bit little-endian integer. Two splits with the same hash use
 * the same rows in the same folds.
 */
#ifndef KEEL_SPLIT_H
#define KEEL_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "keel/err.h"
#include "keel/hash.h"

#ifdef __cplusplus
extern "C" {
#endif

enum kl_split_method {
    /* One fold, test rows chosen at random: ShuffleSplit's sizes. */
    KL_SPLIT_METHOD_HOLDOUT = 0,
    /*
     * One fold, test rows chosen at random within each class:
     * StratifiedShuffleSplit's allocation (_approximate_mode over class
     * counts, ties among equal remainders broken at random). Needs labels;
     * every class needs 2 rows, and both sets at least one row per class.
     */
    KL_SPLIT_METHOD_HOLDOUT_STRATIFIED = 1,
    /* One fold: the first n - n_test rows train, the last n_test test (shuffle=False). */
    KL_SPLIT_METHOD_HOLDOUT_TIME = 2,
    /*
     * KFold: fold f tests a consecutive block of the (optionally shuffled)
     * rows; the first n % k folds hold n / k + 1 rows, the others n / k
     * (10 rows in 3 folds: 4, 3, 3).
     */
    KL_SPLIT_METHOD_KFOLD = 3,
    /*
     * StratifiedKFold: classes numbered by first appearance; the per-fold
     * count of each class comes from dealing the class-sorted labels round
     * robin to the folds; each class's rows then take fold numbers in blocks
     * (0,0,1,1,2,...) in row order, the block sequence shuffled per class when
     * shuffle is set. k may not exceed every class's count (error); k above
     * the smallest class's count sets KL_SPLIT_WARN_SMALL_CLASS.
     */
    KL_SPLIT_METHOD_STRATIFIED_KFOLD = 4,
    /*
     * GroupKFold: groups (by value) sorted by size, largest first, each put in
     * the fold with the fewest rows so far (the first such fold). Groups of
     * equal size are taken in decreasing group value, which is what
     * scikit-learn's reversed argsort gives for up to 16 groups (beyond that
     * numpy's unstable sort makes its tie order unspecified). No shuffling: the
     * seed is ignored. Needs k <= the number of groups.
     */
    KL_SPLIT_METHOD_GROUP_KFOLD = 5,
    /*
     * TimeSeriesSplit: n_splits folds with test blocks of test_size rows
     * (default n / (n_splits + 1)) ending at the last row; fold f trains on
     * every row before its test block minus gap rows (the last max_train
     * rows of those when max_train > 0). Rows must already be in time order.
     */
    KL_SPLIT_METHOD_TIME_SERIES = 6,
};

/* Zero means "default" for every field: {0} is a random 20% holdout with seed 0. */
typedef struct kl_split_opts {
    enum kl_split_method method;
    uint64_t seed;
    /*
     * Holdout methods: the test fraction in (0, 1), 0 meaning 0.2;
     * n_test = ceil(test_fraction * n) as scikit-learn, and every other row
     * trains.
     */
    double test_fraction;
    size_t folds;     /* k-fold methods and time series: number of folds (0 means 5), >= 2 */
    int shuffle;      /* kfold, stratified_kfold: shuffle (with seed) before cutting */
    size_t test_size; /* time series: rows per test block (0: n / (folds + 1)) */
    size_t gap;       /* time series: rows left out between train and test */
    size_t max_train; /* time series: keep at most this many latest train rows (0: all) */
} kl_split_opts;

typedef struct kl_fold {
    const size_t *train; /* n_train row indices, ascending */
    size_t n_train;
    const size_t *test; /* n_test row indices, ascending */
    size_t n_test;
} kl_fold;

enum kl_split_flags {
    /* stratified k-fold: the smallest class has fewer rows than folds (sklearn warns) */
    KL_SPLIT_WARN_SMALL_CLASS = 1 << 0,
};

typedef struct kl_split {
    enum kl_split_method method;
    uint64_t seed;
    size_t n_rows;
    size_t n_folds;
    kl_fold *folds;                       /* n_folds folds */
    uint8_t hash[KL_SHA256_LEN];          /* SHA-256 of the indices (see the top) */
    char hash_hex[KL_SHA256_HEX_LEN + 1]; /* the same, lowercase hex */
    unsigned flags;                       /* enum kl_split_flags */
} kl_split;

/*
 * Split n rows. labels (n values, compared with ==) are required by the
 * stratified methods and groups (n values) by group k-fold; both must be
 * finite, and either may be NULL otherwise. Returns 0 and a new split in
 * *out, or KL_EINVAL (bad options, too few rows, classes or groups for the
 * folds, with the sizes in the message) or KL_ENOMEM, *out then NULL.
 */
int kl_split_new(kl_split **out, size_t n, const double *labels, const double *groups,
                 const kl_split_opts *opts, kl_err *err);
void kl_split_free(kl_split *s);

/* "holdout", "holdout_stratified", "holdout_time", "kfold", "stratified_kfold",
 * "group_kfold", "time_series"; "unknown" otherwise. */
const char *kl_split_method_name(enum kl_split_method m);

#ifdef __cplusplus
}
#endif
#endif
