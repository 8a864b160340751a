/*
 * bench_metrics: log N metric values in one run through the tracking
 * library and report the time, for issue 3's "100,000 metric values"
 * target (bench/store/bench_store.sh compares it with Python's sqlite3
 * executemany inserting one row per value in one transaction).
 *
 *     bench_metrics PROJECT_DIR [N]
 *
 * The store is PROJECT_DIR's (KEEL_STORE selects PostgreSQL). Timed: from
 * kl_run_start to kl_run_end returning (every value flushed and committed),
 * one key, steps 0..N-1. Prints key=value lines (wall and this process's CPU seconds).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "keel/store.h"
#include "keel/track.h"

static double clock_s(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_metrics PROJECT_DIR [N]\n");
        return 2;
    }
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 100000;
    kl_err err = {0};
    kl_store *s = NULL;
    kl_run *r = NULL;
    if (kl_store_open(argv[1], NULL, &s, &err) < 0) {
        fprintf(stderr, "bench_metrics: %s\n", err.msg);
        return 3;
    }
    double t0 = now_s(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    if (kl_run_start(s, NULL, &r, &err) < 0)
        goto fail;
    for (long i = 0; i < n; i++)
        if (kl_run_log_metric(r, "loss", 1.0 / (double)(i + 1), i, &err) < 0)
            goto fail;
    if (kl_run_end(r, KL_RUN_STATUS_FINISHED, &err) < 0) {
        r = NULL;
        goto fail;
    }
    double t1 = now_s(), c1 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    printf("backend=%s\nvalues=%ld\nseconds=%.6f\ncpu_seconds=%.6f\nvalues_per_s=%.0f\n",
           kl_store_backend(s), n, t1 - t0, c1 - c0, (double)n / (t1 - t0));
    kl_store_close(s);
    return 0;
fail:
    fprintf(stderr, "bench_metrics: %s\n", err.msg);
    if (r)
        kl_run_end(r, KL_RUN_STATUS_FAILED, &err);
    kl_store_close(s);
    return 3;
}
