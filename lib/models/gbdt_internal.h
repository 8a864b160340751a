/*
 * Pieces of the histogram GBDT shared with its tests: the bin matrix and the
 * histogram builder, so that "subtraction equals a direct build" and the
 * binning rules can be checked from outside the training loop.
 */
#ifndef KEEL_MODELS_GBDT_INTERNAL_H
#define KEEL_MODELS_GBDT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "keel/err.h"
#include "keel/gbdt.h"

/* One histogram cell: sums of gradients and hessians of the rows in a bin. */
typedef struct kl__gbdt_cell {
    double g, h;
} kl__gbdt_cell;

/*
 * Bins of n rows x p features, row-major uint8. Feature j has nb[j] value
 * bins (upper bounds upper[off_ub[j] ...]) and its missing code is nb[j];
 * its histogram cells are off[j] .. off[j] + nb[j] (missing last), and
 * total cells is off[p].
 */
typedef struct kl__gbdt_bins {
    size_t n, p;
    uint8_t *code;        /* n * p, row-major (histograms read a row's codes together) */
    uint8_t *code_col;    /* p * n, column-major (partitions read one feature); fit only */
    uint16_t *nb;         /* p */
    size_t *off;          /* p + 1 */
    double *upper;        /* off[p] (slot off[j] + b is bin b's upper bound) */
    uint8_t *is_cat;      /* p */
    uint8_t *has_missing; /* p: any NaN in the binning sample */
} kl__gbdt_bins;

/* Cuts from train (sample of at most 200,000 rows drawn with seed), then codes. */
int kl__gbdt_bins_fit(const kl_gbdt_data *d, int max_bin, const uint8_t *categorical, uint64_t seed,
                      kl__gbdt_bins *b, kl_err *err);
/* Codes of other rows with the cuts of b (codes only; n, p and code set in out). */
int kl__gbdt_bins_apply(const kl__gbdt_bins *b, const kl_gbdt_data *d, uint8_t **code, kl_err *err);
void kl__gbdt_bins_release(kl__gbdt_bins *b);

/*
 * Histogram of rows idx[0..m) into hist (off[p] cells, zeroed first), with
 * gh the interleaved (g, h) of every row; built per KL_GBDT_BLOCK_ROWS block
 * in parallel and summed in block order. scratch holds
 * kl_task_count(m, KL_GBDT_BLOCK_ROWS) * off[p] cells (NULL when m fits one block).
 */
void kl__gbdt_hist_build(const kl__gbdt_bins *b, const uint32_t *idx, size_t m, const double *gh,
                         kl__gbdt_cell *hist, kl__gbdt_cell *scratch);

#endif
