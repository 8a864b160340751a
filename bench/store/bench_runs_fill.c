/*
 * bench_runs_fill: fill a store with N finished runs for the `keel runs`
 * listing benchmark (bench/store/bench_store.sh). Each run has a name, two
 * parameters, a tag and three metrics (auc, loss at one step each, and a
 * 10-step series "epoch_loss"), values from a fixed-seed generator, so
 * filters select a stable share of the runs.
 *
 *     bench_runs_fill PROJECT_DIR [N]
 */
#include <stdio.h>
#include <stdlib.h>

#include "keel/store.h"
#include "keel/track.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_runs_fill PROJECT_DIR [N]\n");
        return 2;
    }
    long n = argc > 2 ? strtol(argv[2], NULL, 10) : 10000;
    kl_err err = {0};
    kl_store *s = NULL;
    if (kl_store_open(argv[1], NULL, &s, &err) < 0) {
        fprintf(stderr, "bench_runs_fill: %s\n", err.msg);
        return 3;
    }
    unsigned long long x = 88172645463325252ull;
    for (long i = 0; i < n; i++) {
        kl_run *r = NULL;
        char name[32], alpha[32];
        snprintf(name, sizeof name, "run%ld", i);
        kl_run_opts o = {0};
        o.name = name;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double u = (double)(x >> 11) / 9007199254740992.0;
        snprintf(alpha, sizeof alpha, "%.3f", u);
        if (kl_run_start(s, &o, &r, &err) < 0 || kl_run_log_param(r, "alpha", alpha, &err) < 0 ||
            kl_run_log_param(r, "model", i % 2 ? "ridge" : "ols", &err) < 0 ||
            kl_run_set_tag(r, "stage", i % 10 ? "dev" : "prod", &err) < 0 ||
            kl_run_log_metric(r, "auc", 0.5 + 0.5 * u, 0, &err) < 0 ||
            kl_run_log_metric(r, "loss", 1 - u, 0, &err) < 0)
            goto fail;
        for (int e = 0; e < 10; e++)
            if (kl_run_log_metric(r, "epoch_loss", (1 - u) / (e + 1), e, &err) < 0)
                goto fail;
        if (kl_run_end(r, KL_RUN_STATUS_FINISHED, &err) < 0)
            goto fail;
    }
    kl_store_close(s);
    printf("runs=%ld\n", n);
    return 0;
fail:
    fprintf(stderr, "bench_runs_fill: %s\n", err.msg);
    kl_store_close(s);
    return 3;
}
