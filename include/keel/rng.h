/*
 * kl_rng: the one seeded random generator every random choice in keel comes from.
 *
 * Algorithm: xoshiro256** (Blackman & Vigna 2018); kl_rng_init(seed) sets the
 * four state words to the first four outputs of splitmix64 started at seed,
 * as in the authors' reference code. Streams for parallel work are split
 * deterministically: kl_rng_stream(seed, k) is kl_rng_init(seed ^ z) where z
 * is the first splitmix64 output started at k, so task k draws the same
 * numbers whatever thread runs it and however many threads there are. The
 * struct is plain data: copy it freely. This definition is part of the
 * reproducibility contract: changing it changes every seeded result.
 */
#ifndef KEEL_RNG_H
#define KEEL_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct kl_rng {
    uint64_t s[4];
} kl_rng;

/* Seed r from a 64-bit seed (any value, 0 included). */
void kl_rng_init(kl_rng *r, uint64_t seed);
/* Stream k of seed: independent of thread count; stream 0 differs from kl_rng_init(seed). */
void kl_rng_stream(kl_rng *r, uint64_t seed, uint64_t k);
uint64_t kl_rng_u64(kl_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double kl_rng_double(kl_rng *r);
/* Uniform integer in [0, n) without modulo bias (Lemire's method); n > 0 (0 is a bug). */
uint64_t kl_rng_below(kl_rng *r, uint64_t n);
/* Standard normal deviate (Marsaglia polar method; draws until accepted). */
double kl_rng_normal(kl_rng *r);
/* Fisher-Yates shuffle of idx[0..n): for i from n-1 down to 1, swap idx[i] with idx[below(i+1)]. */
void kl_rng_shuffle_size(kl_rng *r, size_t *idx, size_t n);

#endif
