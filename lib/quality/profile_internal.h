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

typedef struct kl__prof {
    const kl_frame *f;
    kl_profile *p;
    size_t n, m;
    /* per column: centered average ranks (rank - (count+1)/2), 0 where missing; numeric only */
    double **rank;
    /* per column: codes of categorical and bool columns (bool: 0 false, 1 true), else NULL */
    const int32_t **codes;
    int32_t **codes_owned;
    size_t *n_codes;
    /* binary target: 0/1 per row, 255 where missing; NULL when the target is not binary */
    uint8_t *tclass;
    int *status; /* per column: 0 or KL_ENOMEM */
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
