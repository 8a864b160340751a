/*
 * Times keel's linear models and AR fit on data already in memory, for the
 * issue 5 targets, and prints one JSON line per measurement (best of reps by
 * wall time, with the process CPU time of that run):
 *
 *   reg FILE   ols and ridge (alpha 1): "matrix" = the algorithm's fit on the
 *              n x p matrix (which it may overwrite: a fresh copy is made
 *              before each timing, outside it); "model" = kl_model_fit on a
 *              kl_frame of the same columns (the whole library path: the
 *              default pipeline, median imputation and standardisation, then
 *              the fit)
 *   cls FILE   logistic (L2, C 1) the same two ways, with the final objective
 *              C * sum(logloss) + ||w||^2 / 2 of the matrix fit; then batch
 *              prediction rows per second: the algorithm's predict on the
 *              matrix, and kl_model_predict on the frame (pipeline included)
 *   ar FILE    kl_ar_fit with 10 lags and a constant
 *
 * FILE is bench/linear/gen.py's layout: u64 n, u64 p, X column-major f64, y f64.
 * Usage: linear_bench reg|cls|ar FILE [reps]
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "keel/ar.h"
#include "keel/frame.h"
#include "keel/model.h"

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct timing {
    double wall, cpu;
} timing;

static void keep_best(timing *best, double w0, double c0)
{
    double w = now(CLOCK_MONOTONIC) - w0, c = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (best->wall == 0 || w < best->wall)
        *best = (timing){w, c};
}

static int load(const char *path, size_t *n, size_t *p, double **X, double **y)
{
    FILE *f = fopen(path, "rb");
    unsigned long long hdr[2];
    if (!f || fread(hdr, 8, 2, f) != 2) {
        if (f)
            fclose(f);
        return -1;
    }
    *n = (size_t)hdr[0];
    *p = (size_t)hdr[1];
    *X = malloc((*n * *p + 1) * sizeof(double));
    *y = malloc(*n * sizeof(double));
    int bad = !*X || !*y || fread(*X, sizeof(double), *n * *p, f) != *n * *p ||
              fread(*y, sizeof(double), *n, f) != *n;
    fclose(f);
    return bad ? -1 : 0;
}

static kl_frame *frame_of(const double *X, const double *y, size_t n, size_t p)
{
    kl_err err = {0};
    kl_frame *f = kl_frame_new(n);
    char name[32];
    for (size_t j = 0; f && j < p; j++) {
        snprintf(name, sizeof name, "x%zu", j);
        if (kl_frame_add_numeric(f, name, KL_TYPE_FLOAT, X + j * n, &err) < 0)
            goto fail;
    }
    if (f && kl_frame_add_numeric(f, "y", KL_TYPE_FLOAT, y, &err) < 0)
        goto fail;
    return f;
fail:
    fprintf(stderr, "linear_bench: %s\n", err.msg);
    kl_frame_free(f);
    return NULL;
}

static void emit(const char *what, const char *how, size_t n, timing t, const char *extra)
{
    printf("{\"tool\": \"keel\", \"what\": \"%s\", \"how\": \"%s\", \"n\": %zu, \"wall\": %.6f, "
           "\"cpu\": %.6f%s}\n",
           what, how, n, t.wall, t.cpu, extra ? extra : "");
    fflush(stdout);
}

/* The algorithm's own fit on a fresh copy of X (it may overwrite its input). */
static int fit_matrix(const kl_algo *a, const double *X, const double *y, size_t n, size_t p,
                      size_t K, const kl_model_param *par, size_t npar, double *scratch,
                      void **state, timing *t)
{
    kl_err err = {0};
    double pv[KL_MODEL_MAX_PARAMS];
    const char *names[64];
    for (size_t j = 0; j < p && j < 64; j++)
        names[j] = "x";
    if (kl_model_params_check(a, par, npar, pv, &err) < 0)
        goto fail;
    /* as kl_model_fit does: one BLAS thread inside keel's own parallel regions */
    openblas_set_num_threads(1);
    memcpy(scratch, X, n * p * sizeof(double));
    double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    kl_model_data d = {.X = scratch, .n = n, .p = p, .ld = n, .y = y, .n_classes = K,
                       .feature_names = names};
    if (a->fit(&d, pv, state, &err) < 0)
        goto fail;
    keep_best(t, w0, c0);
    return 0;
fail:
    fprintf(stderr, "linear_bench: %s: %s (%s)\n", a->name, err.msg, err.ctx);
    return -1;
}

static int fit_model(const char *algo, enum kl_task task, const kl_frame *f, kl_model **m,
                     timing *t)
{
    kl_err err = {0};
    kl_model_fit_opts o = {.algo = algo, .task = task, .target = "y", .seed = 1};
    double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
    if (kl_model_fit(f, &o, m, &err) < 0) {
        fprintf(stderr, "linear_bench: %s: %s (%s)\n", algo, err.msg, err.ctx);
        return -1;
    }
    keep_best(t, w0, c0);
    return 0;
}

static int bench_reg(const double *X, const double *y, size_t n, size_t p, int reps)
{
    static const char *algos[] = {"ols", "ridge"};
    double *scratch = malloc(n * p * sizeof(double));
    kl_frame *f = frame_of(X, y, n, p);
    if (!scratch || !f)
        return 1;
    kl_model_param alpha = {"alpha", "1.0"};
    for (size_t a = 0; a < 2; a++) {
        const kl_algo *al = kl_algo_find(algos[a]);
        timing tm = {0}, tf = {0};
        char extra[128] = "";
        for (int r = 0; r < reps; r++) {
            void *state = NULL;
            if (fit_matrix(al, X, y, n, p, 0, &alpha, a, scratch, &state, &tm) < 0)
                return 1;
            size_t no, nf;
            const double *ic, *co;
            al->linear_coef(state, &no, &nf, &ic, &co);
            snprintf(extra, sizeof extra, ", \"coef0\": %.17g", co[0]);
            al->free(state);
        }
        emit(algos[a], "matrix", n, tm, extra);
        for (int r = 0; r < reps; r++) {
            kl_model *m = NULL;
            if (fit_model(algos[a], KL_TASK_REGRESSION, f, &m, &tf) < 0)
                return 1;
            kl_model_free(m);
        }
        emit(algos[a], "model", n, tf, NULL);
    }
    kl_frame_free(f);
    free(scratch);
    return 0;
}

static int bench_cls(const double *X, const double *y, size_t n, size_t p, int reps)
{
    const kl_algo *al = kl_algo_find("logistic");
    double *scratch = malloc(n * p * sizeof(double)), *out = malloc(2 * n * sizeof(double));
    kl_frame *f = frame_of(X, y, n, p);
    if (!scratch || !out || !f)
        return 1;
    timing tm = {0}, tf = {0}, tp = {0}, tpm = {0};
    void *state = NULL;
    for (int r = 0; r < reps; r++) {
        if (state)
            al->free(state);
        state = NULL;
        if (fit_matrix(al, X, y, n, p, 2, NULL, 0, scratch, &state, &tm) < 0)
            return 1;
    }
    size_t no, nf;
    const double *ic, *co;
    al->linear_coef(state, &no, &nf, &ic, &co);
    /* the objective recomputed here, independently of the solver's own value */
    double loss = 0, w2 = 0;
    for (size_t i = 0; i < n; i++) {
        double z = ic[0];
        for (size_t j = 0; j < p; j++)
            z += X[j * n + i] * co[j];
        loss += (z > 0 ? z : 0) + log1p(exp(-fabs(z))) - y[i] * z;
    }
    for (size_t j = 0; j < p; j++)
        w2 += co[j] * co[j];
    char extra[160];
    json_t *desc = json_object();
    const char *names[64];
    for (size_t j = 0; j < 64; j++)
        names[j] = "x";
    al->describe(state, names, NULL, desc);
    snprintf(extra, sizeof extra, ", \"loss\": %.17g, \"n_iter\": %lld", loss + 0.5 * w2,
             (long long)json_integer_value(json_object_get(desc, "n_iter")));
    json_decref(desc);
    emit("logistic", "matrix", n, tm, extra);
    kl_model *m = NULL;
    for (int r = 0; r < reps; r++) {
        kl_model_free(m);
        m = NULL;
        if (fit_model("logistic", KL_TASK_CLASSIFICATION, f, &m, &tf) < 0)
            return 1;
    }
    emit("logistic", "model", n, tf, NULL);
    /* batch prediction: the algorithm on the matrix, in one call */
    kl_err err = {0};
    for (int r = 0; r < reps; r++) {
        double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        if (al->predict(state, X, n, n, out, &err) < 0)
            return 1;
        keep_best(&tp, w0, c0);
    }
    snprintf(extra, sizeof extra, ", \"rows_per_s\": %.0f", (double)n / tp.wall);
    emit("predict", "matrix", n, tp, extra);
    for (int r = 0; r < reps; r++) {
        kl_model_pred pr;
        double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        if (kl_model_predict(m, f, &pr, &err) < 0) {
            fprintf(stderr, "linear_bench: predict: %s\n", err.msg);
            return 1;
        }
        keep_best(&tpm, w0, c0);
        kl_model_pred_release(&pr);
    }
    snprintf(extra, sizeof extra, ", \"rows_per_s\": %.0f", (double)n / tpm.wall);
    emit("predict", "model", n, tpm, extra);
    al->free(state);
    kl_model_free(m);
    kl_frame_free(f);
    free(scratch);
    free(out);
    return 0;
}

static int bench_ar(const double *y, size_t n, int reps)
{
    timing t = {0};
    kl_ar_result r = {0};
    kl_err err = {0};
    for (int k = 0; k < reps; k++) {
        kl_ar_result_release(&r);
        double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        if (kl_ar_fit(y, n, 10, NULL, &r, &err) < 0) {
            fprintf(stderr, "linear_bench: ar: %s\n", err.msg);
            return 1;
        }
        keep_best(&t, w0, c0);
    }
    char extra[128];
    snprintf(extra, sizeof extra, ", \"const\": %.17g, \"k1\": %.17g", r.params[0], r.params[1]);
    emit("ar", "library", n, t, extra);
    kl_ar_result_release(&r);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: linear_bench reg|cls|ar FILE [reps]\n");
        return 2;
    }
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    size_t n, p;
    double *X, *y;
    if (load(argv[2], &n, &p, &X, &y) < 0) {
        fprintf(stderr, "linear_bench: cannot read %s\n", argv[2]);
        return 3;
    }
    int rc = strcmp(argv[1], "reg") == 0   ? bench_reg(X, y, n, p, reps)
             : strcmp(argv[1], "cls") == 0 ? bench_cls(X, y, n, p, reps)
                                           : bench_ar(y, n, reps);
    free(X);
    free(y);
    return rc;
}
