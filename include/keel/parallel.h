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

/*
 * Threads keel uses: the kl_threads_set override, else KEEL_THREADS from the
 * environment when it is a positive integer, else the number of cores this
 * process may run on.
 */
int kl_threads(void);
/* Override the thread count for this process (n <= 0 restores the default). */
void kl_threads_set(int n);

/*
 * fn(ctx, task) once for each task in [0, n_tasks), spread over kl_threads()
 * threads (never more threads than tasks); returns when all have run. Tasks
 * run in no particular order: fn must write only the outputs of its task.
 */
typedef void (*kl_task_fn)(void *ctx, size_t task);
void kl_parallel_for(size_t n_tasks, kl_task_fn fn, void *ctx);

/*
 * Number of tasks of chunk items covering n items: ceil(n / chunk), 0 when
 * n is 0, and 1 when chunk is 0. Task t covers items [t*chunk, min(n, (t+1)*chunk)).
 */
size_t kl_task_count(size_t n, size_t chunk);

#endif
