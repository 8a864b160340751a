/*
 * bench_csv: time keel's CSV reader (kl_csv_read_file: parse + type inference
 * into a kl_frame) on one file.
 *
 * Usage: bench_csv FILE [RUNS]     threads from KEEL_THREADS (default 2)
 *
 * One untimed warm-up read (it also brings the file into the page cache),
 * then RUNS timed reads (default 5). Only the read call is timed; freeing the
 * frame is not, as pandas' timing does not include dropping its frame either.
 * Every read's kl_frame_hash must equal the warm-up's, so a fast but wrong
 * run cannot pass unnoticed: a difference is reported and the exit code is 1.
 *
 * CPU time (user + system, all threads, from getrusage) is reported beside the
 * wall time: on a loaded machine it still says how much work a read took.
 *
 * The peak resident set size is taken from getrusage after the warm-up read,
 * before any other work: it covers one read, the mapped file's pages
 * included. Output is key=value lines that bench/run.sh collects.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "keel/csv.h"
#include "keel/err.h"
#include "keel/frame.h"
#include "keel/parallel.h"

#define MAX_RUNS 100

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return ru.ru_maxrss;
}

/* User + system CPU seconds of the process so far, all threads. */
static double cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0.0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double s[MAX_RUNS];
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/* Hex of kl_frame_hash; a hash that cannot be computed reads "unavailable". */
static void hash_hex(const kl_frame *f, char out[65])
{
    uint8_t h[32];
    if (kl_frame_hash(f, h) < 0) {
        snprintf(out, 65, "unavailable");
        return;
    }
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static int read_once(const char *path, const kl_csv_read_opts *opts, kl_frame **out,
                     double *seconds, double *cpu)
{
    kl_err err = {0};
    double c0 = cpu_s(), t0 = now_s();
    int rc = kl_csv_read_file(path, opts, out, NULL, &err);
    *seconds = now_s() - t0;
    *cpu = cpu_s() - c0;
    if (rc < 0)
        fprintf(stderr, "bench_csv: error: %s (%s)\n", err.msg, err.ctx);
    return rc;
}

/* Counts of each logical type, e.g. "categorical:3,float:14,int:3". */
static void print_types(const kl_frame *f)
{
    size_t counts[KL_TYPE_TEXT + 1] = {0};
    for (size_t j = 0; j < kl_frame_col_count(f); j++)
        counts[kl_frame_col_type(f, j)]++;
    printf("types=");
    const char *sep = "";
    for (int t = 0; t <= KL_TYPE_TEXT; t++) {
        if (counts[t]) {
            printf("%s%s:%zu", sep, kl_type_name((enum kl_type)t), counts[t]);
            sep = ",";
        }
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_csv FILE [RUNS]   (threads: KEEL_THREADS, default 2)\n");
        return 2;
    }
    const char *path = argv[1];
    int runs = 5;
    if (argc == 3) {
        char *end;
        errno = 0;
        long r = strtol(argv[2], &end, 10);
        if (errno || *end || r < 1 || r > MAX_RUNS) {
            fprintf(stderr, "bench_csv: RUNS must be 1..%d\n", MAX_RUNS);
            return 2;
        }
        runs = (int)r;
    }
    int threads = 2;
    const char *env = getenv("KEEL_THREADS");
    if (env && *env) {
        char *end;
        long t = strtol(env, &end, 10);
        if (*end || t < 1 || t > 1024) {
            fprintf(stderr, "bench_csv: KEEL_THREADS must be a positive integer\n");
            return 2;
        }
        threads = (int)t;
    }
    kl_threads_set(threads);

    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "bench_csv: cannot stat '%s': %s\n", path, strerror(errno));
        return 3;
    }
    kl_csv_read_opts opts = {0};
    opts.threads = threads;

    long rss_before = peak_rss_kb();
    kl_frame *f = NULL;
    double warm, warm_cpu;
    if (read_once(path, &opts, &f, &warm, &warm_cpu) < 0)
        return 3;
    long rss_peak = peak_rss_kb();
    char ref[65];
    hash_hex(f, ref);
    size_t rows = kl_frame_row_count(f), cols = kl_frame_col_count(f);
    printf("tool=keel threads=%d\n", threads);
    printf("file=%s bytes=%lld rows=%zu cols=%zu\n", path, (long long)st.st_size, rows, cols);
    print_types(f);
    printf("warmup_s=%.4f\n", warm);
    kl_frame_free(f);

    double t[MAX_RUNS], c[MAX_RUNS];
    int mismatches = 0;
    for (int i = 0; i < runs; i++) {
        f = NULL;
        if (read_once(path, &opts, &f, &t[i], &c[i]) < 0)
            return 3;
        char h[65];
        hash_hex(f, h);
        kl_frame_free(f);
        int same = strcmp(h, ref) == 0;
        mismatches += !same;
        printf("run=%d seconds=%.4f cpu_s=%.4f hash=%.16s%s\n", i + 1, t[i], c[i], h,
               same ? "" : " MISMATCH");
        fflush(stdout);
    }
    double med = median(t, runs), lo = t[0], hi = t[0];
    for (int i = 1; i < runs; i++) {
        lo = t[i] < lo ? t[i] : lo;
        hi = t[i] > hi ? t[i] : hi;
    }
    printf("runs=%d median_s=%.4f min_s=%.4f max_s=%.4f\n", runs, med, lo, hi);
    double cmed = median(c, runs);
    printf("mbps=%.1f cpu_median_s=%.4f mb_per_cpu_s=%.1f\n", (double)st.st_size / med / 1e6, cmed,
           (double)st.st_size / cmed / 1e6);
    printf("hash=%.16s hashes_equal=%s\n", ref, mismatches ? "no" : "yes");
    printf("peak_rss_kb=%ld rss_before_kb=%ld rss_per_file=%.2f\n", rss_peak, rss_before,
           (double)rss_peak * 1024.0 / (double)st.st_size);
    return mismatches ? 1 : 0;
}
