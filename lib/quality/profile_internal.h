/*
 * Shared between lib/quality/profile*.c: the per-run working state that the
 * column pass hands to the pairwise pass.
 */
#ifndef KEEL_QUALITY_PROFILE_INTERNAL_H
#define KEEL_QUALITY_PROFILE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "keel/frame.h"
#include "keel/profile.h"

/*
 * The average ranks of a numeric column, stored as compactly as its number of
 * distinct values allows, since on a large frame these arrays are most of the
 * memory a profile touches. width 1 or 2: per row the index of its value in
 * ascending order of the distinct values (the index n_runs where missing), and
 * table[index] the centred average rank, rank - (count + 1) / 2 (0 at n_runs).
 * width 4: per row twice its average rank (1-based), 0 where missing; the
 * centred rank is then value / 2 - mid. Every form gives the same doubles.
 */
typedef struct kl__rank {
    void *data; /* n values of width bytes; NULL for columns that are not numeric */
    unsigned width;
    double *table; /* width 1 and 2: n_runs + 1 entries */
    double mid;    /* (count + 1) / 2 */
} kl__rank;

/* The centred average rank of row i (0 where missing). */
static inline double kl__rank_at(const kl__rank *r, size_t i)
{
    if (r->width == 1)
        return r->table[((const uint8_t *)r->data)[i]];
    if (r->width == 2)
        return r->table[((const uint16_t *)r->data)[i]];
    uint32_t x = ((const uint32_t *)r->data)[i];
    return x ? (double)x * 0.5 - r->mid : 0;
}

typedef struct kl__prof {
    const kl_frame *f;
    kl_profile *p;
    size_t n, m;
    /* per column: its ranks (numeric columns only), see kl__rank */
    struct kl__rank *rank;
    /* per column: codes of categorical and bool columns (bool: 0 false, 1 true), else NULL */
    const int32_t **codes;
    int32_t **codes_owned;
    size_t *n_codes;
    /* binary target: 0/1 per row, 255 where missing; NULL when the target is not binary */
    uint8_t *tclass;
    int *status;        /* per column: 0 or KL_ENOMEM */
    uint8_t *pair_done; /* m x m: 1 where the pairwise pass has filled the pair's measure */
    /*
     * Scratch buffers reused by the column tasks (one per thread that can run
     * at once), so sorting each column does not fault in fresh pages.
     */
    struct kl__prof_scratch *scratch;
    size_t n_scratch;
} kl__prof;

/* Pearson, Spearman, Cramér's V and correlation ratios into p->pearson .. p->assoc_kind. */
int kl__profile_assoc(kl__prof *w);

/* An index sort: keys and idx (n of them) sorted by key ascending, stably; scratch of 2n. */
void kl__radix_sort_u64(uint64_t *keys, uint32_t *idx, uint64_t *kt, uint32_t *it, size_t n);

/* us as "YYYY-MM-DD" (midnight) or "YYYY-MM-DDTHH:MM:SS", UTC. */
void kl__profile_time_str(int64_t us, char *buf, size_t n);

#endif
