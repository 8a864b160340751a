/*
 * Shared inside the metrics files: input checks that fill kl_err the same way
 * for every metric, and the radix sort the ranking metrics use.
 */
#ifndef KEEL_TRAIN_METRICS_INTERNAL_H
#define KEEL_TRAIN_METRICS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "keel/err.h"

/*
 * Check n > 0 and that x[0..n) is finite; on failure fill err (ctx "metric
 * NAME") and return KL_EINVAL. what names the array in the message ("y_true").
 */
int kl__metric_check(const char *metric, const char *what, const double *x, size_t n, kl_err *err);
/* Check optional weights (NULL passes): finite, >= 0, positive sum. */
int kl__metric_check_weights(const char *metric, const double *w, size_t n, kl_err *err);
/* kl_err_set with a printf message, then ctx "metric NAME"; returns code. */
int kl__metric_fail(kl_err *err, const char *metric, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* An item ordered by key: a double mapped to uint64 (kl__sort_key) plus a payload. 16 bytes,
 * so a radix pass moves as little as possible. */
typedef struct kl__sort_item {
    uint64_t key;
    double a;
} kl__sort_item;

/* Unsigned order of the result equals numeric order of finite x (-0.0 sorts just below 0.0). */
uint64_t kl__sort_key(double x);
/* Inverse of kl__sort_key. */
double kl__sort_key_value(uint64_t key);
/* Sort items ascending by key, stably; tmp holds n items of scratch. O(n): LSD radix on
 * 11-bit digits, 6 passes at most (a digit all keys share is skipped). */
void kl__sort_items(kl__sort_item *items, kl__sort_item *tmp, size_t n);

#endif
