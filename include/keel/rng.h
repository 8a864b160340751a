/*
 * kl_rng: the one seeded random generator every random choice in keel comes from.
 *
 * Algorithm: xoshiro256** (Blackman & Vigna 2018), state seeded from a 64-bit
 * seed with splitmix64. Streams for parallel work are split deterministically:
 * kl_rng_stream(seed, k) seeds stream k from splitmix64 applied to
 * (seed, k), so task k draws the same numbers whatever thread runs it and
 * however many threads there are. The struct is plain data: copy it freely.
 */
#ifndef KEEL_RNG_H
#define KEEL_RNG_H

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
/* Uniform integer in [0, n) without modulo bias (Lemire's method); n > 0. */
uint64_t kl_rng_below(kl_rng *r, uint64_t n);
/* Standard normal deviate (Marsaglia polar method; draws until accepted). */
double kl_rng_normal(kl_rng *r);
/* Fisher-Yates shuffle of idx[0..n). */
void kl_rng_shuffle_size(kl_rng *r, size_t *idx, size_t n);

#endif
