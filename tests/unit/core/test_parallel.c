/* Parallel loops: every task runs once, and reductions do not depend on the thread count. */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keel/parallel.h"

static int allowed_cpus(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
    return CPU_COUNT(&set);
}

/* ---- every task once ---- */

struct count_ctx {
    int *runs;
};

static void count_task(void *ctx, size_t t)
{
    struct count_ctx *c = ctx;
    c->runs[t]++;
}

static void test_parallel_for_runs_every_task_exactly_once(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 1, 2, 7, 1000};
    for (int threads = 1; threads <= 3; threads++) {
        kl_threads_set(threads);
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            size_t n = sizes[k];
            int *runs = calloc(n + 1, sizeof *runs);
            struct count_ctx c = {runs};
            kl_parallel_for(n, count_task, &c);
            for (size_t t = 0; t < n; t++)
                assert_int_equal(runs[t], 1);
            assert_int_equal(runs[n], 0);
            free(runs);
        }
    }
    kl_threads_set(0);
}

/* ---- deterministic reduction ---- */

#define N_VALUES 200000
#define CHUNK 1000

struct sum_ctx {
    const double *x;
    size_t n;
    double *partial;
};

static void sum_task(void *ctx, size_t t)
{
    struct sum_ctx *c = ctx;
    size_t lo = t * CHUNK, hi = lo + CHUNK < c->n ? lo + CHUNK : c->n;
    double s = 0;
    for (size_t i = lo; i < hi; i++)
        s += c->x[i];
    c->partial[t] = s;
}

/* Values of magnitudes 1e-8 to 1e8 with both signs, so the sum depends on the order of addition. */
static double *varied_values(void)
{
    double *x = malloc(N_VALUES * sizeof *x);
    uint64_t s = 12345;
    for (size_t i = 0; i < N_VALUES; i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        double mant = (double)(s >> 11) / 9007199254740992.0;
        int e = (int)((s >> 3) % 17) - 8;
        double v = mant;
        for (int k = 0; k < (e < 0 ? -e : e); k++)
            v = e < 0 ? v / 10 : v * 10;
        x[i] = (s & 1) ? -v : v;
    }
    return x;
}

static double parallel_sum(const double *x, int threads)
{
    size_t n_tasks = kl_task_count(N_VALUES, CHUNK);
    double *partial = malloc(n_tasks * sizeof *partial);
    struct sum_ctx c = {x, N_VALUES, partial};
    kl_threads_set(threads);
    kl_parallel_for(n_tasks, sum_task, &c);
    kl_threads_set(0);
    double total = 0;
    for (size_t t = 0; t < n_tasks; t++)
        total += partial[t];
    free(partial);
    return total;
}

static void test_parallel_reduction_is_bit_identical_across_thread_counts(void **state)
{
    (void)state;
    double *x = varied_values();

    /* The same chunked sum computed serially here is the reference. */
    double expect = 0;
    for (size_t lo = 0; lo < N_VALUES; lo += CHUNK) {
        double s = 0;
        for (size_t i = lo; i < lo + CHUNK && i < N_VALUES; i++)
            s += x[i];
        expect += s;
    }
    /* The data is order-sensitive: a different grouping gives different bits. */
    double reversed = 0;
    for (size_t i = N_VALUES; i-- > 0;)
        reversed += x[i];
    assert_memory_not_equal(&reversed, &expect, sizeof expect);

    for (int threads = 1; threads <= 4; threads++) {
        double got = parallel_sum(x, threads);
        assert_memory_equal(&got, &expect, sizeof expect);
    }
    free(x);
}

/* ---- thread count ---- */

static void test_threads_come_from_env_then_cores(void **state)
{
    (void)state;
    kl_threads_set(0);
    setenv("KEEL_THREADS", "3", 1);
    assert_int_equal(kl_threads(), 3);
    const char *bad[] = {"0", "-2", "abc", "3x", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("KEEL_THREADS", bad[i], 1);
        assert_int_equal(kl_threads(), allowed_cpus());
    }
    unsetenv("KEEL_THREADS");
    assert_int_equal(kl_threads(), allowed_cpus());
}

static void test_threads_set_overrides_env_and_zero_restores(void **state)
{
    (void)state;
    setenv("KEEL_THREADS", "3", 1);
    kl_threads_set(5);
    assert_int_equal(kl_threads(), 5);
    kl_threads_set(-1);
    assert_int_equal(kl_threads(), 3);
    kl_threads_set(0);
    assert_int_equal(kl_threads(), 3);
    unsetenv("KEEL_THREADS");
}

static void test_task_count_is_ceiling_division(void **state)
{
    (void)state;
    assert_int_equal(kl_task_count(0, 10), 0);
    assert_int_equal(kl_task_count(1, 10), 1);
    assert_int_equal(kl_task_count(10, 10), 1);
    assert_int_equal(kl_task_count(11, 10), 2);
    assert_int_equal(kl_task_count(100, 1), 100);
    assert_int_equal(kl_task_count(5, 0), 1);
    assert_int_equal(kl_task_count(SIZE_MAX, SIZE_MAX / 2), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parallel_for_runs_every_task_exactly_once),
        cmocka_unit_test(test_parallel_reduction_is_bit_identical_across_thread_counts),
        cmocka_unit_test(test_threads_come_from_env_then_cores),
        cmocka_unit_test(test_threads_set_overrides_env_and_zero_restores),
        cmocka_unit_test(test_task_count_is_ceiling_division),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
