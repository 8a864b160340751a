/*
 * Times kl_gbdt_fit on data already in memory (binning included), as the
 * issue 6 target asks, and prints one JSON line: seconds, validation AUC
 * (classification) or RMSE (regression), and predict rows per second.
 * Usage: gbdt_bench cls|reg TRAIN.bin VALID.bin [rounds] [depth] [eta]
 * (files from bench/gbdt/gen.py: u64 n, u64 p, X column-major f64, y f64).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keel/gbdt.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int load(const char *path, kl_gbdt_data *d, double **X, double **y)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    unsigned long long hdr[2];
    if (fread(hdr, 8, 2, f) != 2) {
        fclose(f);
        return -1;
    }
    size_t n = (size_t)hdr[0], p = (size_t)hdr[1];
    *X = malloc(n * p * sizeof(double));
    *y = malloc(n * sizeof(double));
    if (!*X || !*y || fread(*X, sizeof(double), n * p, f) != n * p ||
        fread(*y, sizeof(double), n, f) != n) {
        fclose(f);
        return -1;
    }
    fclose(f);
    *d = (kl_gbdt_data){*X, n, p, n, *y};
    return 0;
}

typedef struct sp {
    double s;
    double y;
} sp;

static int cmp_sp(const void *a, const void *b)
{
    double x = ((const sp *)a)->s, y = ((const sp *)b)->s;
    return (x > y) - (x < y);
}

/* AUC by ranks with ties averaged (Mann-Whitney). */
static double auc(const double *s, const double *y, size_t n)
{
    sp *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (sp){s[i], y[i]};
    qsort(v, n, sizeof *v, cmp_sp);
    double rank_pos = 0.0, npos = 0.0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && v[j].s == v[i].s)
            j++;
        double r = (double)(i + j + 1) / 2.0;
        for (size_t k = i; k < j; k++)
            if (v[k].y == 1.0) {
                rank_pos += r;
                npos += 1.0;
            }
        i = j;
    }
    free(v);
    double nneg = (double)n - npos;
    return (rank_pos - npos * (npos + 1) / 2.0) / (npos * nneg);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: gbdt_bench cls|reg TRAIN.bin VALID.bin [rounds] [depth] [eta]\n");
        return 2;
    }
    int cls = strcmp(argv[1], "cls") == 0;
    kl_gbdt_data tr, va;
    double *X1, *y1, *X2, *y2;
    if (load(argv[2], &tr, &X1, &y1) < 0 || load(argv[3], &va, &X2, &y2) < 0) {
        fprintf(stderr, "gbdt_bench: cannot read data\n");
        return 3;
    }
    kl_gbdt_opts o = {0};
    o.loss = cls ? KL_GBDT_LOSS_LOGISTIC : KL_GBDT_LOSS_SQUARED;
    o.n_estimators = argc > 4 ? atoi(argv[4]) : 200;
    o.max_depth = argc > 5 ? atoi(argv[5]) : 6;
    o.eta = argc > 6 ? strtod(argv[6], NULL) : 0.1;
    o.max_bin = 255;
    kl_gbdt m;
    kl_err err = {0};
    double c0 = cpu(), t0 = now();
    if (kl_gbdt_fit(&tr, &va, &o, &m, &err) < 0) {
        fprintf(stderr, "gbdt_bench: %s\n", err.msg);
        return 1;
    }
    double t1 = now(), c1 = cpu();
    double *pred = malloc(va.n * sizeof(double));
    kl_gbdt_predict(&m, va.X, va.n, va.ld, pred);
    double t2 = now();
    double q;
    if (cls) {
        q = auc(pred, va.y, va.n);
    } else {
        double s = 0.0;
        for (size_t i = 0; i < va.n; i++)
            s += (pred[i] - va.y[i]) * (pred[i] - va.y[i]);
        q = sqrt(s / (double)va.n);
    }
    printf("{\"tool\": \"keel\", \"task\": \"%s\", \"fit_s\": %.3f, \"cpu_s\": %.3f, \"%s\": %.6f, "
           "\"predict_rows_per_s\": %.0f, \"valid_metric_last\": %.6f}\n",
           cls ? "cls" : "reg", t1 - t0, c1 - c0, cls ? "auc" : "rmse", q, (double)va.n / (t2 - t1),
           m.valid_metric[m.n_rounds_run - 1]);
    kl_gbdt_release(&m);
    free(pred);
    free(X1);
    free(y1);
    free(X2);
    free(y2);
    return 0;
}
