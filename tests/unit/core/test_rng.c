/*
 * The generator against published and independently computed values: the
 * splitmix64 outputs for seed 0 are the well-known reference values, and the
 * xoshiro256** and Lemire sequences below were computed with a separate Python
 * implementation written from the papers.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "keel/rng.h"

static void test_rng_seed_0_state_is_published_splitmix64_outputs(void **state)
{
    (void)state;
    kl_rng r;
    kl_rng_init(&r, 0);
    assert_int_equal(r.s[0], 0xe220a8397b1dcdafu);
    assert_int_equal(r.s[1], 0x6e789e6aa1b965f4u);
    assert_int_equal(r.s[2], 0x06c45d188009454fu);
    assert_int_equal(r.s[3], 0xf88bb8a8724c81ecu);
}

static void test_rng_xoshiro256ss_matches_reference_sequence(void **state)
{
    (void)state;
    const uint64_t seed0[] = {0x99ec5f36cb75f2b4u, 0xbf6e1f784956452au, 0x1a5f849d4933e6e0u,
                              0x6aa594f1262d2d2cu, 0xbba5ad4a1f842e59u};
    const uint64_t seed42[] = {0x15780b2e0c2ec716u, 0x6104d9866d113a7eu, 0xae17533239e499a1u,
                               0xecb8ad4703b360a1u, 0xfde6dc7fe2ec5e64u};
    kl_rng a, b;
    kl_rng_init(&a, 0);
    kl_rng_init(&b, 42);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(kl_rng_u64(&a), seed0[i]);
        assert_int_equal(kl_rng_u64(&b), seed42[i]);
    }
}

static void test_rng_stream_matches_definition_and_reference(void **state)
{
    (void)state;
    kl_rng r;
    kl_rng_stream(&r, 42, 0);
    assert_int_equal(kl_rng_u64(&r), 0x1ff785474f113b15u);
    assert_int_equal(kl_rng_u64(&r), 0x4b7867ceff5d8325u);
    kl_rng_stream(&r, 42, 1);
    assert_int_equal(kl_rng_u64(&r), 0x584870a53e6ddcdfu);
    assert_int_equal(kl_rng_u64(&r), 0x24862b58ab088c44u);
}

static void test_rng_streams_are_deterministic_and_distinct(void **state)
{
    (void)state;
    enum { K = 1000 };
    static uint64_t first[K];
    kl_rng base;
    kl_rng_init(&base, 7);
    uint64_t base_first = kl_rng_u64(&base);
    for (uint64_t k = 0; k < K; k++) {
        kl_rng a, b;
        kl_rng_stream(&a, 7, k);
        kl_rng_stream(&b, 7, k);
        assert_memory_equal(&a, &b, sizeof a);
        first[k] = kl_rng_u64(&a);
        assert_int_not_equal(first[k], base_first);
    }
    for (size_t i = 0; i < K; i++)
        for (size_t j = i + 1; j < K; j++)
            assert_int_not_equal(first[i], first[j]);
}

static void test_rng_double_uses_top_53_bits(void **state)
{
    (void)state;
    kl_rng r;
    kl_rng_init(&r, 0);
    /* (0x99ec5f36cb75f2b4 >> 11) * 2^-53, computed in Python. */
    assert_true(kl_rng_double(&r) == 0.6012629994179048);
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        double u = kl_rng_double(&r);
        assert_true(u >= 0.0 && u < 1.0);
        sum += u;
    }
    /* Standard error of the mean is 0.0009; 0.005 is over five of them. */
    assert_true(fabs(sum / 100000 - 0.5) < 0.005);
}

static void test_rng_below_matches_lemire_reference_with_rejections(void **state)
{
    (void)state;
    /* n = 3 * 2^62 rejects a quarter of the draws; 6 of these 12 results needed a redraw. */
    const uint64_t expect[] = {0x8682bc397b3b18c3u, 0x35852e30bb76219du, 0xa1355e772fe15b30u,
                               0xa79295aac8992936u, 0x1d2610b8012a810au, 0x67f14cda20978931u,
                               0xb448097fea18275cu, 0xa91f939ee8195b91u, 0x56ac2dc3f0a3550bu,
                               0x6bb0548cc12385b8u, 0x3149383376e3c64fu, 0x5985857dc8940d36u};
    kl_rng r;
    kl_rng_init(&r, 7);
    for (size_t i = 0; i < 12; i++)
        assert_int_equal(kl_rng_below(&r, (uint64_t)3 << 62), expect[i]);
    const uint64_t dice[] = {4, 1, 5, 5, 5, 5, 0, 0, 2, 0, 3, 4, 5, 5, 2, 3, 1, 2, 0, 0};
    kl_rng_init(&r, 7);
    for (size_t i = 0; i < 20; i++)
        assert_int_equal(kl_rng_below(&r, 6), dice[i]);
}

static void test_rng_below_has_no_modulo_bias(void **state)
{
    (void)state;
    kl_rng r;
    kl_rng_init(&r, 99);
    /* With n = 3 * 2^62, x % n would put half the draws in the lowest third. */
    const uint64_t n = (uint64_t)3 << 62;
    int low = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t v = kl_rng_below(&r, n);
        assert_true(v < n);
        low += v < ((uint64_t)1 << 62);
    }
    assert_true(fabs(low / 100000.0 - 1.0 / 3.0) < 0.01);

    /* Dice: chi-square with 5 degrees of freedom; 30 has p < 1e-5. */
    int counts[6] = {0};
    for (int i = 0; i < 60000; i++)
        counts[kl_rng_below(&r, 6)]++;
    double chi2 = 0;
    for (int i = 0; i < 6; i++)
        chi2 += (counts[i] - 10000.0) * (counts[i] - 10000.0) / 10000.0;
    assert_true(chi2 < 30);
    for (int i = 0; i < 100; i++)
        assert_int_equal(kl_rng_below(&r, 1), 0);
}

static void test_rng_normal_has_unit_moments(void **state)
{
    (void)state;
    kl_rng r;
    kl_rng_init(&r, 2024);
    const int n = 100000;
    double sum = 0, sum2 = 0;
    int within1 = 0;
    for (int i = 0; i < n; i++) {
        double z = kl_rng_normal(&r);
        assert_true(isfinite(z));
        sum += z;
        sum2 += z * z;
        within1 += fabs(z) < 1.0;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    /* Standard errors: mean 0.0032, variance 0.0045, P(|z| < 1) 0.0015; bounds are >5 of them. */
    assert_true(fabs(mean) < 0.02);
    assert_true(fabs(var - 1.0) < 0.03);
    assert_true(fabs(within1 / (double)n - 0.682689) < 0.01);
}

static void test_rng_shuffle_is_a_uniform_permutation(void **state)
{
    (void)state;
    kl_rng r;
    kl_rng_init(&r, 5);
    size_t big[100];
    for (size_t i = 0; i < 100; i++)
        big[i] = i;
    kl_rng_shuffle_size(&r, big, 100);
    int seen[100] = {0};
    size_t moved = 0;
    for (size_t i = 0; i < 100; i++) {
        seen[big[i]]++;
        moved += big[i] != i;
    }
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(seen[i], 1);
    assert_true(moved > 50);

    /* Each of the 6 orders of 3 items equally often: chi-square, 5 degrees of freedom. */
    int counts[6] = {0};
    for (int t = 0; t < 60000; t++) {
        size_t p[3] = {0, 1, 2};
        kl_rng_shuffle_size(&r, p, 3);
        counts[p[0] * 2 + (p[1] > p[2])]++;
    }
    double chi2 = 0;
    for (int i = 0; i < 6; i++)
        chi2 += (counts[i] - 10000.0) * (counts[i] - 10000.0) / 10000.0;
    assert_true(chi2 < 30);

    size_t one = 9;
    kl_rng_shuffle_size(&r, &one, 1);
    assert_int_equal(one, 9);
    kl_rng_shuffle_size(&r, NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_seed_0_state_is_published_splitmix64_outputs),
        cmocka_unit_test(test_rng_xoshiro256ss_matches_reference_sequence),
        cmocka_unit_test(test_rng_stream_matches_definition_and_reference),
        cmocka_unit_test(test_rng_streams_are_deterministic_and_distinct),
        cmocka_unit_test(test_rng_double_uses_top_53_bits),
        cmocka_unit_test(test_rng_below_matches_lemire_reference_with_rejections),
        cmocka_unit_test(test_rng_below_has_no_modulo_bias),
        cmocka_unit_test(test_rng_normal_has_unit_moments),
        cmocka_unit_test(test_rng_shuffle_is_a_uniform_permutation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
