/*
 * prof_phases: time keel's profile in its two phases on one CSV file, the
 * read (kl_csv_read_file) and the profile of the frame in memory
 * (kl_profile_compute), so the profile can be set beside pandas' workload on
 * a frame already loaded, as well as beside the whole `keel profile` run.
 *
 * Usage: prof_phases FILE [RUNS]     threads from KEEL_THREADS
 *
 * One read (timed), then RUNS profiles of the same frame (default 3), each
 * timed in wall and CPU seconds (getrusage: all threads). Every profile's
 * JSON must be byte-identical to the first, so a fast but wrong run is
 * reported (exit 1); the first's SHA-256 is printed so runs with other thread
 * counts can be compared. Output is key=value lines for bench.sh.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "keel/csv.h"
#include "keel/err.h"
#include "keel/frame.h"
#include "keel/hash.h"
#include "keel/parallel.h"
#include "keel/profile.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0.0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static int digest(const kl_profile *p, char hex[KL_SHA256_HEX_LEN + 1])
{
    json_t *j = kl_profile_json(p);
    char *s = j ? json_dumps(j, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(j);
    if (!s)
        return -1;
    uint8_t h[KL_SHA256_LEN];
    kl_sha256(s, strlen(s), h);
    kl_hex(h, KL_SHA256_LEN, hex);
    free(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: prof_phases FILE [RUNS]\n");
        return 2;
    }
    int runs = argc == 3 ? atoi(argv[2]) : 3;
    if (runs < 1 || runs > 100)
        runs = 3;
    kl_err err = {0};
    kl_frame *f = NULL;
    double w0 = now_s(), c0 = cpu_s();
    if (kl_csv_read_file(argv[1], NULL, &f, NULL, &err) < 0) {
        fprintf(stderr, "prof_phases: %s (%s)\n", err.msg, err.ctx);
        return 3;
    }
    printf("read seconds=%.4f cpu_s=%.4f threads=%d\n", now_s() - w0, cpu_s() - c0, kl_threads());
    char first[KL_SHA256_HEX_LEN + 1] = "", hex[KL_SHA256_HEX_LEN + 1];
    int same = 1;
    for (int k = 1; k <= runs; k++) {
        kl_profile *p = NULL;
        w0 = now_s();
        c0 = cpu_s();
        if (kl_profile_compute(f, NULL, &p, &err) < 0) {
            fprintf(stderr, "prof_phases: %s (%s)\n", err.msg, err.ctx);
            return 3;
        }
        double w = now_s() - w0, c = cpu_s() - c0;
        printf("run=%d seconds=%.4f cpu_s=%.4f\n", k, w, c);
        if (digest(p, hex) < 0)
            return 3;
        if (k == 1)
            memcpy(first, hex, sizeof first);
        else if (strcmp(first, hex) != 0)
            same = 0;
        kl_profile_free(p);
    }
    printf("profile_sha256=%s identical=%s\n", first, same ? "yes" : "no");
    kl_frame_free(f);
    return same ? 0 : 1;
}
