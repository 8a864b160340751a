/*
 * The one seeded random generator: xoshiro256** (Blackman & Vigna, "Scrambled
 * linear pseudorandom number generators", 2018), seeded with splitmix64 as
 * its authors recommend. It is small (32 bytes of plain state, copied freely),
 * fast, passes BigCrush, and is fully specified, so a seed recorded with a
 * run reproduces the same draws on any machine; a library RNG (rand,
 * drand48) would tie results to the C library.
 *
 * Streams for parallel work come from the seed and the task index alone
 * (kl_rng_stream), never from the thread, so results do not depend on the
 * thread count. Bounded integers use Lemire's multiply-and-reject method,
 * which is unbiased and needs a division only on the rare slow path. Normals
 * use Marsaglia's polar method; the second deviate of each pair is dropped so
 * that the state stays the four words of kl_rng.
 *
 * Invariant: the state is never all zero (splitmix64 is a bijection of its
 * counter, so at most one of four consecutive outputs can be zero).
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "keel/rng.h"
#include "core/common.h"

#define GOLDEN_GAMMA 0x9e3779b97f4a7c15u

static uint64_t splitmix64_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t splitmix64_next(uint64_t *x)
{
    *x += GOLDEN_GAMMA;
    return splitmix64_mix(*x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void kl_rng_init(kl_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64_next(&x);
}

/*
 * Stream k is seeded with seed XOR the first splitmix64 output from state k.
 * That output is a bijection of k, so the streams of one seed are distinct for
 * every k, and it is never 0 for k < 2^64 - GOLDEN_GAMMA, so stream k differs
 * from kl_rng_init(seed) for every index a program can use.
 */
void kl_rng_stream(kl_rng *r, uint64_t seed, uint64_t k)
{
    uint64_t x = k;
    kl_rng_init(r, seed ^ splitmix64_next(&x));
}

uint64_t kl_rng_u64(kl_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double kl_rng_double(kl_rng *r)
{
    return (double)(kl_rng_u64(r) >> 11) * 0x1.0p-53;
}

/* Lemire, "Fast random integer generation in an interval", ACM TOMACS 2019. */
uint64_t kl_rng_below(kl_rng *r, uint64_t n)
{
    KL_ASSERT(n > 0);
    unsigned __int128 m = (unsigned __int128)kl_rng_u64(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        /* 2^64 mod n: the low products below it would make some results more likely. */
        uint64_t threshold = -n % n;
        while (low < threshold) {
            m = (unsigned __int128)kl_rng_u64(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double kl_rng_normal(kl_rng *r)
{
    double u, v, s;
    do {
        u = 2.0 * kl_rng_double(r) - 1.0;
        v = 2.0 * kl_rng_double(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}

void kl_rng_shuffle_size(kl_rng *r, size_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)kl_rng_below(r, i);
        size_t tmp = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = tmp;
    }
}
