/*
 * Data-parallel loops whose results do not depend on the thread count.
 *
 * Work is cut into tasks whose boundaries depend only on the problem size and
 * a chunk size the caller fixes, never on how many threads run; each task
 * writes only its own outputs, and reductions combine per-task results in task
 * order. Built on OpenMP (gcc's libgomp).
 */
#ifndef KEEL_PARALLEL_H
#define KEEL_PARALLEL_H

#include <stddef.h>

/* Threads keel uses: KEEL_THREADS from the environment, else the number of cores. */
int kl_threads(void);
/* Override the thread count for this process (n <= 0 restores the default). */
void kl_threads_set(int n);

/* fn(ctx, task) for task in [0, n_tasks), spread over kl_threads() threads. */
typedef void (*kl_task_fn)(void *ctx, size_t task);
void kl_parallel_for(size_t n_tasks, kl_task_fn fn, void *ctx);

/* Number of tasks of chunk items covering n items (at least 1 when n > 0). */
size_t kl_task_count(size_t n, size_t chunk);

#endif
