/*
 * Data-parallel loops on OpenMP whose results do not depend on the thread
 * count.
 *
 * The caller cuts the work into tasks from the problem size and a fixed
 * chunk size (kl_task_count), never from the number of threads; each task
 * writes only its own outputs and reductions combine per-task results in task
 * order afterwards. Which thread runs a task then changes nothing, so one
 * thread and sixteen give bit-identical doubles. Tasks are handed out one at
 * a time (schedule(dynamic, 1)) because their costs vary (CSV chunks with long
 * quoted fields, trees of different depth) and a static split would leave
 * threads idle.
 *
 * The thread count is KEEL_THREADS when it is a positive integer, else the
 * number of processors this process may run on; kl_threads_set overrides
 * both. One thread, or one task, runs inline without entering OpenMP.
 */
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <omp.h>

#include "keel/parallel.h"
#include "core/common.h"

static atomic_int g_threads_override;

static int threads_from_env(void)
{
    const char *s = getenv("KEEL_THREADS");
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end != '\0' || v <= 0 || v > 4096)
        return 0;
    return (int)v;
}

int kl_threads(void)
{
    int n = atomic_load(&g_threads_override);
    if (n > 0)
        return n;
    n = threads_from_env();
    if (n > 0)
        return n;
    n = omp_get_num_procs();
    return n > 0 ? n : 1;
}

void kl_threads_set(int n)
{
    atomic_store(&g_threads_override, n > 0 ? n : 0);
}

void kl_parallel_for(size_t n_tasks, kl_task_fn fn, void *ctx)
{
    if (n_tasks == 0)
        return;
    int nt = kl_threads();
    if ((size_t)nt > n_tasks)
        nt = (int)n_tasks;
    if (nt <= 1) {
        for (size_t t = 0; t < n_tasks; t++)
            fn(ctx, t);
        return;
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (size_t t = 0; t < n_tasks; t++)
        fn(ctx, t);
}

size_t kl_task_count(size_t n, size_t chunk)
{
    if (n == 0)
        return 0;
    if (chunk == 0)
        return 1;
    return n / chunk + (n % chunk != 0);
}
