/*
 * pii_phases: the PII benchmark's two measurements that the keel CLI does not
 * print.
 *
 *   pii_phases scan FILE [RUNS]   read FILE once (timed), then RUNS scans of
 *                                 the frame (kl_pii_scan, timed: wall and CPU
 *                                 seconds of all threads); every run's report
 *                                 must flag the same columns (exit 1 if not)
 *   pii_phases labelled FILE      precision and recall per entity of
 *                                 kl_pii_find on tests/fixtures/pii/labelled.csv
 *                                 (column,value,entity; the column name is
 *                                 the hint), as test_pii computes them
 *
 * Output is key=value lines for bench/pii/bench.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "keel/csv.h"
#include "keel/err.h"
#include "keel/frame.h"
#include "keel/parallel.h"
#include "keel/pii.h"

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

static int scan(const char *path, int runs)
{
    kl_err err = {0};
    kl_frame *f = NULL;
    double w0 = now_s(), c0 = cpu_s();
    if (kl_csv_read_file(path, NULL, &f, NULL, &err) < 0) {
        fprintf(stderr, "pii_phases: %s (%s)\n", err.msg, err.ctx);
        return 3;
    }
    printf("read seconds=%.4f cpu_s=%.4f threads=%d\n", now_s() - w0, cpu_s() - c0,
           kl_threads());
    unsigned long first = 0;
    int same = 1;
    for (int k = 1; k <= runs; k++) {
        kl_pii_report r = {0};
        w0 = now_s();
        c0 = cpu_s();
        if (kl_pii_scan(f, NULL, &r, &err) < 0) {
            fprintf(stderr, "pii_phases: %s (%s)\n", err.msg, err.ctx);
            return 3;
        }
        printf("run=%d seconds=%.4f cpu_s=%.4f\n", k, now_s() - w0, cpu_s() - c0);
        unsigned long flags = 0;
        for (size_t j = 0; j < r.n_columns && j < 64; j++)
            flags |= (unsigned long)(r.columns[j].flagged != 0) << j;
        if (k == 1)
            first = flags;
        same &= flags == first;
        kl_pii_report_release(&r);
    }
    printf("flagged_mask=%lx identical=%s\n", first, same ? "yes" : "no");
    kl_frame_free(f);
    return same ? 0 : 1;
}

/* One CSV field (quotes undone) from p into out; returns where the next field starts. */
static const char *field(const char *p, char *out, size_t n)
{
    size_t k = 0;
    int q = *p == '"';
    p += q;
    for (; *p; p++) {
        if (q && *p == '"') {
            if (p[1] == '"') {
                p++;
            } else {
                q = 0;
                continue;
            }
        } else if (!q && (*p == ',' || *p == '\n' || *p == '\r')) {
            break;
        }
        if (k + 1 < n)
            out[k++] = *p;
    }
    out[k] = 0;
    return *p == ',' ? p + 1 : p;
}

static int labelled(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "pii_phases: cannot open '%s'\n", path);
        return 3;
    }
    char line[2048], col[256], val[1024], lab[64];
    size_t tp[KL_PII_ENTITY_COUNT] = {0}, fp_[KL_PII_ENTITY_COUNT] = {0},
           fn[KL_PII_ENTITY_COUNT] = {0}, rows = 0;
    if (!fgets(line, sizeof line, fp)) {
        fclose(fp);
        return 3;
    }
    while (fgets(line, sizeof line, fp)) {
        const char *p = field(line, col, sizeof col);
        p = field(p, val, sizeof val);
        field(p, lab, sizeof lab);
        int truth = strcmp(lab, "none") == 0 ? 0 : kl_pii_entity_parse(lab);
        if (truth < 0)
            continue;
        kl_pii_match m[16];
        size_t n = kl_pii_find(val, strlen(val), kl_pii_name_hint(col), m, 16);
        unsigned found = 0;
        for (size_t k = 0; k < n && k < 16; k++)
            found |= 1u << m[k].entity;
        for (int e = 1; e < KL_PII_ENTITY_COUNT; e++) {
            int got = (found >> e) & 1, want = truth == e;
            tp[e] += got && want;
            fp_[e] += got && !want;
            fn[e] += !got && want;
        }
        rows++;
    }
    fclose(fp);
    printf("rows=%zu\n", rows);
    for (int e = 1; e < KL_PII_ENTITY_COUNT; e++) {
        if (!tp[e] && !fn[e] && !fp_[e])
            continue;
        double prec = tp[e] + fp_[e] ? (double)tp[e] / (double)(tp[e] + fp_[e]) : 0;
        double rec = tp[e] + fn[e] ? (double)tp[e] / (double)(tp[e] + fn[e]) : 0;
        printf("entity=%s precision=%.4f recall=%.4f tp=%zu fp=%zu fn=%zu\n",
               kl_pii_entity_name((enum kl_pii_entity)e), prec, rec, tp[e], fp_[e], fn[e]);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "scan") == 0) {
        int runs = argc > 3 ? atoi(argv[3]) : 3;
        return scan(argv[2], runs > 0 && runs <= 100 ? runs : 3);
    }
    if (argc == 3 && strcmp(argv[1], "labelled") == 0)
        return labelled(argv[2]);
    fprintf(stderr, "usage: pii_phases scan FILE [RUNS] | pii_phases labelled FILE\n");
    return 2;
}
