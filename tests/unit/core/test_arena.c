/* Arena: alignment, no overlap, cap, overflow checks, reset and large blocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "keel/arena.h"

static void test_arena_allocations_are_16_aligned_and_disjoint(void **state)
{
    (void)state;
    kl_arena *a = kl_arena_new(0);
    assert_non_null(a);
    enum { N = 2000 };
    static unsigned char *ptrs[N];
    static size_t sizes[N];
    /* Sizes from 1 to ~3000 bytes, so blocks fill and grow many times. */
    for (size_t i = 0; i < N; i++) {
        sizes[i] = 1 + (i * 7919) % 3001;
        ptrs[i] = kl_arena_alloc(a, sizes[i]);
        assert_non_null(ptrs[i]);
        assert_int_equal((uintptr_t)ptrs[i] % 16, 0);
        memset(ptrs[i], (int)(i & 0xff), sizes[i]);
    }
    /* Had any two allocations overlapped, a later memset would have overwritten an earlier one. */
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < sizes[i]; j++)
            assert_int_equal(ptrs[i][j], i & 0xff);
    size_t total = 0;
    for (size_t i = 0; i < N; i++)
        total += sizes[i];
    assert_int_equal(kl_arena_used(a), total);
    kl_arena_free(a);
}

static void test_arena_large_allocation_keeps_small_ones_intact(void **state)
{
    (void)state;
    kl_arena *a = kl_arena_new(0);
    char *small = kl_arena_alloc(a, 100);
    memset(small, 's', 100);
    size_t big_n = (size_t)3 << 20;
    unsigned char *big = kl_arena_alloc(a, big_n);
    assert_non_null(big);
    assert_int_equal((uintptr_t)big % 16, 0);
    memset(big, 0xb1, big_n);
    char *after = kl_arena_alloc(a, 100);
    assert_non_null(after);
    memset(after, 'a', 100);
    for (size_t i = 0; i < 100; i++) {
        assert_int_equal(small[i], 's');
        assert_int_equal(after[i], 'a');
    }
    assert_int_equal(big[0], 0xb1);
    assert_int_equal(big[big_n - 1], 0xb1);
    assert_int_equal(kl_arena_used(a), 200 + big_n);
    kl_arena_free(a);
}

static void test_arena_cap_refuses_past_the_limit(void **state)
{
    (void)state;
    kl_arena *a = kl_arena_new(1000);
    assert_non_null(kl_arena_alloc(a, 600));
    assert_non_null(kl_arena_alloc(a, 400));
    assert_int_equal(kl_arena_used(a), 1000);
    assert_null(kl_arena_alloc(a, 1));
    assert_null(kl_arena_strdup(a, ""));
    assert_int_equal(kl_arena_used(a), 1000);
    kl_arena_reset(a);
    assert_int_equal(kl_arena_used(a), 0);
    assert_null(kl_arena_alloc(a, 1001));
    assert_non_null(kl_arena_alloc(a, 1000));
    kl_arena_free(a);
}

static void test_arena_overflowing_sizes_give_null(void **state)
{
    (void)state;
    kl_arena *a = kl_arena_new(0);
    assert_null(kl_arena_alloc(a, SIZE_MAX));
    assert_null(kl_arena_alloc(a, SIZE_MAX - 8));
    assert_null(kl_arena_calloc(a, SIZE_MAX / 2 + 1, 2));
    assert_null(kl_arena_calloc(a, (SIZE_MAX >> 4) + 2, 16));
    assert_null(kl_arena_strndup(a, "x", SIZE_MAX));
    assert_int_equal(kl_arena_used(a), 0);
    /* The arena still works afterwards. */
    assert_non_null(kl_arena_alloc(a, 10));
    kl_arena_free(a);
}

static void test_arena_calloc_zeroes_reused_memory(void **state)
{
    (void)state;
    kl_arena *a = kl_arena_new(0);
    unsigned char *p = kl_arena_alloc(a, 256);
    memset(p, 0xff, 256);
    kl_arena_reset(a);
    uint32_t *z = kl_arena_calloc(a, 64, sizeof *z);
    assert_non_null(z);
    for (size_t i = 0; i < 64; i++)
        assert_int_equal(z[i], 0);
    assert_int_equal(kl_arena_used(a), 64 * sizeof *z);
    kl_arena_free(a);
}

static void test_arena_reset_reuses_the_first_block(void **state)
{
    (void)state;
    kl_arena *a = kl_arena_new(0);
    void *first = kl_arena_alloc(a, 32);
    for (int i = 0; i < 100; i++)
        assert_non_null(kl_arena_alloc(a, 1000));
    assert_non_null(kl_arena_alloc(a, (size_t)1 << 20));
    kl_arena_reset(a);
    assert_int_equal(kl_arena_used(a), 0);
    assert_ptr_equal(kl_arena_alloc(a, 32), first);
    kl_arena_free(a);
}

static void test_arena_strdup_and_strndup_copy_and_terminate(void **state)
{
    (void)state;
    kl_arena *a = kl_arena_new(0);
    const char *src = "hello, world";
    char *d = kl_arena_strdup(a, src);
    assert_string_equal(d, src);
    assert_ptr_not_equal(d, src);
    char field[5] = {'a', 'b', 'c', 'd', 'e'}; /* not NUL-terminated */
    char *n = kl_arena_strndup(a, field, 3);
    assert_string_equal(n, "abc");
    char *e = kl_arena_strndup(a, field, 0);
    assert_string_equal(e, "");
    assert_int_equal(kl_arena_used(a), 13 + 4 + 1);
    kl_arena_free(a);
}

static void test_arena_free_null_does_nothing(void **state)
{
    (void)state;
    kl_arena_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_allocations_are_16_aligned_and_disjoint),
        cmocka_unit_test(test_arena_large_allocation_keeps_small_ones_intact),
        cmocka_unit_test(test_arena_cap_refuses_past_the_limit),
        cmocka_unit_test(test_arena_overflowing_sizes_give_null),
        cmocka_unit_test(test_arena_calloc_zeroes_reused_memory),
        cmocka_unit_test(test_arena_reset_reuses_the_first_block),
        cmocka_unit_test(test_arena_strdup_and_strndup_copy_and_terminate),
        cmocka_unit_test(test_arena_free_null_does_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
