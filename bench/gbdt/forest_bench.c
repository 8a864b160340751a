/*
 * Times kl_forest_fit (gini, sqrt features, bootstrap) on the first TRAIN
 * rows of a gen.py file and scores AUC on the first VALID rows of another.
 * Usage: forest_bench TRAIN.bin VALID.bin n_train n_valid n_trees  -> one JSON line
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keel/tree.h"

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

static double *load(const char *path, size_t *n, size_t *p, double **y)
{
    FILE *f = fopen(path, "rb");
    unsigned long long h[2];
    if (!f || fread(h, 8, 2, f) != 2)
        return NULL;
    *n = (size_t)h[0];
    *p = (size_t)h[1];
    double *X = malloc(*n * *p * sizeof *X);
    *y = malloc(*n * sizeof **y);
    if (!X || !*y || fread(X, 8, *n * *p, f) != *n * *p || fread(*y, 8, *n, f) != *n)
        return NULL;
    fclose(f);
    return X;
}

typedef struct sp {
    double s, y;
} sp;

static int cmp_sp(const void *a, const void *b)
{
    double x = ((const sp *)a)->s, y = ((const sp *)b)->s;
    return (x > y) - (x < y);
}

static double auc(const double *s, const double *y, size_t n)
{
    sp *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (sp){s[i], y[i]};
    qsort(v, n, sizeof *v, cmp_sp);
    double rp = 0, np = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && v[j].s == v[i].s)
            j++;
        for (size_t k = i; k < j; k++)
            if (v[k].y == 1.0) {
                rp += (double)(i + j + 1) / 2.0;
                np += 1;
            }
        i = j;
    }
    free(v);
    return (rp - np * (np + 1) / 2) / (np * ((double)n - np));
}

int main(int argc, char **argv)
{
    if (argc < 6)
        return 2;
    size_t n1, p1, n2, p2;
    double *y1, *y2;
    double *X1 = load(argv[1], &n1, &p1, &y1), *X2 = load(argv[2], &n2, &p2, &y2);
    if (!X1 || !X2)
        return 3;
    size_t nt = (size_t)atol(argv[3]), nv = (size_t)atol(argv[4]);
    if (nt > n1 || nv > n2)
        return 2;
    kl_forest_opts o = {.tree = {.criterion = KL_TREE_CRITERION_GINI, .n_classes = 2},
                        .n_estimators = (size_t)atol(argv[5]),
                        .seed = 1};
    kl_forest f;
    kl_err err = {0};
    double c0 = cpu(), t0 = now();
    if (kl_forest_fit(X1, nt, p1, n1, y1, &o, &f, &err) < 0) {
        fprintf(stderr, "forest_bench: %s\n", err.msg);
        return 1;
    }
    double t1 = now(), c1 = cpu();
    double *pr = malloc(nv * 2 * sizeof *pr), *s = malloc(nv * sizeof *s);
    kl_forest_predict(&f, X2, nv, n2, pr);
    for (size_t i = 0; i < nv; i++)
        s[i] = pr[2 * i + 1];
    printf("{\"tool\": \"keel forest\", \"trees\": %zu, \"rows\": %zu, \"fit_s\": %.3f, "
           "\"cpu_s\": %.3f, \"auc\": %.6f}\n",
           f.n_trees, nt, t1 - t0, c1 - c0, auc(s, y2, nv));
    kl_forest_release(&f);
    return 0;
}
