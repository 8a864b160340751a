/*
 * kl_train end to end on the repo's real data, with every reported number
 * recomputed here from scratch: the same split rebuilt, the model refitted
 * through kl_model_fit, and the metrics computed by the textbook formulas in
 * this file (RMSE, MAE, R², accuracy, log loss, ROC AUC by counting pairs),
 * not by lib/train. Also: the threshold chosen by cost equals a brute-force
 * search, SLA verdicts, the run recorded in a store (params, metrics, a model
 * artifact that loads and predicts identically), 1- vs 2-thread identity,
 * parameter errors, and the power-law fit of the learning curve.
 */
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "keel/csv.h"
#include "keel/curve.h"
#include "keel/hash.h"
#include "keel/parallel.h"
#include "keel/split.h"
#include "keel/store.h"
#include "keel/track.h"
#include "keel/train.h"

static kl_frame *read_data(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/data/%s", KEEL_SOURCE_DIR, name);
    kl_frame *f = NULL;
    kl_err err = {0};
    assert_int_equal(kl_csv_read_file(path, NULL, &f, NULL, &err), 0);
    return f;
}

static kl_spec *spec_from(const char *yaml)
{
    kl_spec *s = NULL;
    kl_err err = {0};
    int rc = kl_spec_load_buffer(yaml, strlen(yaml), "keel.yaml", &s, &err);
    if (rc)
        fprintf(stderr, "spec: %s (%s)\n", err.msg, err.ctx);
    assert_int_equal(rc, 0);
    return s;
}

static void train_ok(const kl_frame *f, const kl_train_opts *o, kl_train_result *r)
{
    kl_err err = {0};
    int rc = kl_train(f, o, r, &err);
    if (rc)
        fprintf(stderr, "train: %s (%s)\n", err.msg, err.ctx);
    assert_int_equal(rc, 0);
}

static double metric(const kl_train_result *r, const char *name)
{
    for (size_t j = 0; j < r->n_metrics; j++)
        if (!strcmp(r->metrics[j].desc->name, name))
            return r->metrics[j].mean;
    fail_msg("metric %s missing", name);
    return NAN;
}

static void assert_close(double a, double b, double rel)
{
    if (!(fabs(a - b) <= rel * fmax(1, fabs(b))))
        fail_msg("%.17g != %.17g", a, b);
}

/* The reference: the same split, fit and predictions, made directly. */
struct ref {
    kl_split *split;
    double *y, *pred, *p1; /* actuals, predictions (regression) or P(class 1) */
    double **proba;        /* per fold: n_test x K */
    size_t n;
};

static kl_model *fit(const kl_frame *f, const char *algo, enum kl_task task, uint64_t seed)
{
    kl_model_fit_opts o = {.algo = algo, .task = task, .target = "target", .seed = seed};
    kl_model *m = NULL;
    kl_err err = {0};
    assert_int_equal(kl_model_fit(f, &o, &m, &err), 0);
    return m;
}

static const double *target_col(const kl_frame *f)
{
    return kl_frame_col_f64(f, (size_t)kl_frame_col_index(f, "target"));
}

static void test_ridge_diabetes_holdout_matches_a_direct_computation(void **state)
{
    (void)state;
    kl_frame *f = read_data("diabetes.csv");
    kl_train_opts o = {.has_task = 1,
                       .task = KL_TASK_REGRESSION,
                       .target = "target",
                       .algo = "ridge",
                       .has_seed = 1,
                       .seed = 7};
    kl_train_result r;
    train_ok(f, &o, &r);
    assert_string_equal(r.split, "holdout");
    assert_int_equal(r.n_folds, 1);
    assert_int_equal(r.n_rows, 442);

    kl_split_opts so = {.method = KL_SPLIT_METHOD_HOLDOUT, .seed = 7, .test_fraction = 0.2};
    kl_split *sp = NULL;
    kl_err err = {0};
    assert_int_equal(kl_split_new(&sp, 442, NULL, NULL, &so, &err), 0);
    assert_string_equal(r.split_hash, sp->hash_hex);
    kl_frame *tr = NULL, *te = NULL;
    assert_int_equal(kl_frame_take(f, sp->folds[0].train, sp->folds[0].n_train, &tr, &err), 0);
    assert_int_equal(kl_frame_take(f, sp->folds[0].test, sp->folds[0].n_test, &te, &err), 0);
    kl_model *m = fit(tr, "ridge", KL_TASK_REGRESSION, 7);
    kl_model_pred p = {0};
    assert_int_equal(kl_model_predict(m, te, &p, &err), 0);
    const double *y = target_col(te);
    size_t n = kl_frame_row_count(te);
    double se = 0, ae = 0, mean = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        mean += y[i] / (double)n;
    for (size_t i = 0; i < n; i++) {
        se += (y[i] - p.value[i]) * (y[i] - p.value[i]);
        ae += fabs(y[i] - p.value[i]);
        ss += (y[i] - mean) * (y[i] - mean);
    }
    assert_close(metric(&r, "rmse"), sqrt(se / (double)n), 1e-12);
    assert_close(metric(&r, "mae"), ae / (double)n, 1e-12);
    assert_close(metric(&r, "r2"), 1 - se / ss, 1e-12);
    assert_close(r.pooled.sum_squared_error, se, 1e-12);

    /* the final model is the fit on every row */
    kl_model *all = fit(f, "ridge", KL_TASK_REGRESSION, 7);
    kl_model_pred pa = {0}, pr = {0};
    assert_int_equal(kl_model_predict(all, f, &pa, &err), 0);
    assert_int_equal(kl_model_predict(r.model, f, &pr, &err), 0);
    assert_memory_equal(pa.value, pr.value, 442 * sizeof(double));
    kl_model_pred_release(&pa);
    kl_model_pred_release(&pr);
    kl_model_pred_release(&p);
    kl_model_free(all);
    kl_model_free(m);
    kl_frame_free(tr);
    kl_frame_free(te);
    kl_split_free(sp);
    kl_train_result_release(&r);
    kl_frame_free(f);
}

/* AUC as the share of (positive, negative) pairs ordered right, ties half. */
static double auc_pairs(const double *y, const double *s, size_t n)
{
    double ok = 0, pairs = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            if (y[i] == 1 && y[j] == 0) {
                pairs++;
                ok += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
            }
    return ok / pairs;
}

static const char *bc_spec =
    "version: 1\n"
    "project: {name: t}\n"
    "objective: {task: classification, target: target}\n"
    "sla:\n"
    "  - {metric: roc_auc, min: 0.5}\n"
    "  - {metric: accuracy, min: 0.999}\n"
    "  - {metric: latency_p99_ms, max: 50, on: production}\n"
    "kpi:\n"
    "  - {name: gain, value: 100*tp - 5*fp, target: 1, why: a catch is worth 100}\n";

static void test_logistic_breast_cancer_metrics_threshold_and_gates(void **state)
{
    (void)state;
    kl_frame *f = read_data("breast_cancer.csv");
    kl_spec *s = spec_from(bc_spec);
    kl_train_opts o = {.spec = s};
    kl_train_result r;
    train_ok(f, &o, &r);
    assert_string_equal(r.algo, "logistic");
    assert_string_equal(r.split, "holdout_stratified");

    /* reference: stratified holdout on the 0/1 labels, seed 42 (the spec's default) */
    size_t N = kl_frame_row_count(f);
    kl_split_opts so = {
        .method = KL_SPLIT_METHOD_HOLDOUT_STRATIFIED, .seed = 42, .test_fraction = 0.2};
    kl_split *sp = NULL;
    kl_err err = {0};
    assert_int_equal(kl_split_new(&sp, N, target_col(f), NULL, &so, &err), 0);
    assert_string_equal(r.split_hash, sp->hash_hex);
    kl_frame *tr = NULL, *te = NULL;
    assert_int_equal(kl_frame_take(f, sp->folds[0].train, sp->folds[0].n_train, &tr, &err), 0);
    assert_int_equal(kl_frame_take(f, sp->folds[0].test, sp->folds[0].n_test, &te, &err), 0);
    kl_model *m = fit(tr, "logistic", KL_TASK_CLASSIFICATION, 42);
    kl_model_pred p = {0};
    assert_int_equal(kl_model_predict(m, te, &p, &err), 0);
    const double *y = target_col(te);
    size_t n = kl_frame_row_count(te);
    double correct = 0, ll = 0;
    for (size_t i = 0; i < n; i++) {
        double p1 = p.proba[2 * i + 1];
        correct += (p1 >= 0.5) == (y[i] == 1);
        ll -= log(y[i] == 1 ? p1 : 1 - p1);
    }
    assert_close(metric(&r, "accuracy"), correct / (double)n, 1e-15);
    assert_close(metric(&r, "log_loss"), ll / (double)n, 1e-9);
    assert_close(metric(&r, "roc_auc"), auc_pairs(y, p.value, n), 1e-12);

    /* threshold: brute force over the validation scores, highest t among ties */
    double best = -INFINITY, best_t = NAN;
    for (size_t c = 0; c < n; c++) {
        double t = p.value[c], tp = 0, fp = 0;
        for (size_t i = 0; i < n; i++)
            if (p.value[i] >= t) {
                tp += y[i] == 1;
                fp += y[i] == 0;
            }
        double v = 100 * tp - 5 * fp;
        if (v > best || (v == best && t > best_t)) {
            best = v;
            best_t = t;
        }
    }
    assert_true(r.has_threshold);
    assert_string_equal(r.threshold_method, "cost");
    assert_true(r.threshold == best_t);
    assert_true(strtod(kl_model_meta(r.model, "threshold"), NULL) == best_t);
    assert_string_equal(kl_model_meta(r.model, "positive_class"), "1");
    assert_int_equal(r.n_kpi, 1);
    assert_true(r.kpi[0].ok && r.kpi[0].value == best && r.kpi[0].met);

    /* gates: auc >= 0.5 passes, accuracy >= 0.999 fails, production is not judged here */
    assert_int_equal(r.n_sla, 3);
    assert_int_equal(r.n_sla_failed, 1);
    assert_int_equal(r.sla[0].status, KL_SLA_STATUS_PASS);
    assert_int_equal(r.sla[1].status, KL_SLA_STATUS_FAIL);
    assert_int_equal(r.sla[2].status, KL_SLA_STATUS_OTHER_STAGE);

    /* overfitting: train auc of the fold model, gap relative to validation */
    double tr_auc;
    kl_model_pred pt = {0};
    assert_int_equal(kl_model_predict(m, tr, &pt, &err), 0);
    tr_auc = auc_pairs(target_col(tr), pt.value, kl_frame_row_count(tr));
    assert_close(r.main_train, tr_auc, 1e-12);
    assert_string_equal(r.main_metric, "roc_auc");
    assert_close(r.gap, (tr_auc - r.main_valid) / r.main_valid, 1e-12);
    assert_int_equal(r.gap_flag, r.gap > 0.10);

    kl_model_pred_release(&pt);
    kl_model_pred_release(&p);
    kl_model_free(m);
    kl_frame_free(tr);
    kl_frame_free(te);
    kl_split_free(sp);
    kl_train_result_release(&r);
    kl_spec_free(s);
    kl_frame_free(f);
}

static void test_iris_multinomial_kfold_accuracy_per_fold(void **state)
{
    (void)state;
    kl_frame *f = read_data("iris.csv");
    kl_train_opts o = {.has_task = 1,
                       .task = KL_TASK_CLASSIFICATION,
                       .target = "target",
                       .cv_folds = 3,
                       .has_seed = 1,
                       .seed = 3};
    kl_train_result r;
    train_ok(f, &o, &r);
    assert_string_equal(r.split, "stratified_kfold");
    assert_int_equal(r.n_folds, 3);
    assert_false(r.has_threshold);
    assert_int_equal(kl_model_class_count(r.model), 3);
    kl_split_opts so = {
        .method = KL_SPLIT_METHOD_STRATIFIED_KFOLD, .seed = 3, .folds = 3, .shuffle = 1};
    kl_split *sp = NULL;
    kl_err err = {0};
    assert_int_equal(kl_split_new(&sp, 150, target_col(f), NULL, &so, &err), 0);
    double acc[3], mean = 0, ss = 0;
    size_t ja = 0;
    while (strcmp(r.metrics[ja].desc->name, "accuracy"))
        ja++;
    for (size_t k = 0; k < 3; k++) {
        kl_frame *tr = NULL, *te = NULL;
        assert_int_equal(kl_frame_take(f, sp->folds[k].train, sp->folds[k].n_train, &tr, &err), 0);
        assert_int_equal(kl_frame_take(f, sp->folds[k].test, sp->folds[k].n_test, &te, &err), 0);
        kl_model *m = fit(tr, "logistic", KL_TASK_CLASSIFICATION, 3);
        kl_model_pred p = {0};
        assert_int_equal(kl_model_predict(m, te, &p, &err), 0);
        const double *y = target_col(te);
        size_t n = kl_frame_row_count(te), ok = 0;
        for (size_t i = 0; i < n; i++) {
            size_t b = 0;
            for (size_t c = 1; c < 3; c++)
                if (p.proba[3 * i + c] > p.proba[3 * i + b])
                    b = c;
            ok += (double)b == y[i]; /* classes 0, 1, 2 sort as their indices */
        }
        acc[k] = (double)ok / (double)n;
        mean += acc[k] / 3;
        assert_true(r.fold_values[k * r.n_metrics + ja] == acc[k]);
        kl_model_pred_release(&p);
        kl_model_free(m);
        kl_frame_free(tr);
        kl_frame_free(te);
    }
    for (size_t k = 0; k < 3; k++)
        ss += (acc[k] - mean) * (acc[k] - mean);
    assert_close(r.metrics[ja].mean, mean, 1e-15);
    assert_close(r.metrics[ja].std, sqrt(ss / 2), 1e-12);
    kl_split_free(sp);
    kl_train_result_release(&r);
    kl_frame_free(f);
}

static void test_ar_forecast_holdout_scores_the_multistep_forecast(void **state)
{
    (void)state;
    kl_frame *f = read_data("sunspots.csv");
    kl_model_param prm[] = {{"lags", "3"}};
    kl_train_opts o = {.has_task = 1,
                       .task = KL_TASK_FORECAST,
                       .target = "sunactivity",
                       .params = prm,
                       .n_params = 1};
    kl_train_result r;
    train_ok(f, &o, &r);
    assert_string_equal(r.algo, "ar");
    assert_string_equal(r.split, "time_series");
    /* fold 1 of the expanding window: train on the first 309 - 5 * 51 rows, forecast 51 */
    size_t N = kl_frame_row_count(f), nt = N / 6, n0 = N - 5 * nt;
    size_t *idx = malloc(N * sizeof *idx);
    for (size_t i = 0; i < N; i++)
        idx[i] = i;
    kl_frame *tr = NULL;
    kl_err err = {0};
    assert_int_equal(kl_frame_take(f, idx, n0, &tr, &err), 0);
    kl_model_fit_opts fo = {.algo = "ar",
                            .task = KL_TASK_FORECAST,
                            .target = "sunactivity",
                            .params = prm,
                            .n_params = 1,
                            .seed = 42};
    kl_model *m = NULL;
    assert_int_equal(kl_model_fit(tr, &fo, &m, &err), 0);
    double *fc = malloc(nt * sizeof *fc);
    assert_int_equal(kl_model_forecast(m, nt, NULL, 0.95, fc, NULL, NULL, &err), 0);
    const double *y = kl_frame_col_f64(f, (size_t)kl_frame_col_index(f, "sunactivity"));
    double ae = 0;
    for (size_t i = 0; i < nt; i++)
        ae += fabs(y[n0 + i] - fc[i]);
    size_t jm = 0;
    while (strcmp(r.metrics[jm].desc->name, "mae"))
        jm++;
    assert_close(r.fold_values[0 * r.n_metrics + jm], ae / (double)nt, 1e-12);
    free(fc);
    free(idx);
    kl_model_free(m);
    kl_frame_free(tr);
    kl_train_result_release(&r);
    kl_frame_free(f);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void test_run_is_recorded_and_its_model_predicts_identically(void **state)
{
    (void)state;
    char dir[] = "/tmp/keel-train-XXXXXX";
    assert_non_null(mkdtemp(dir));
    kl_frame *f = read_data("diabetes.csv");
    kl_model_param prm[] = {{"alpha", "0.5"}};
    kl_train_opts o = {.has_task = 1,
                       .task = KL_TASK_REGRESSION,
                       .target = "target",
                       .algo = "ridge",
                       .params = prm,
                       .n_params = 1,
                       .cv_folds = 4};
    kl_train_result r;
    train_ok(f, &o, &r);
    kl_store *s = NULL;
    kl_err err = {0};
    assert_int_equal(kl_store_open(dir, NULL, &s, &err), 0);
    char data_path[1024], id[KL_ID_LEN];
    snprintf(data_path, sizeof data_path, "%s/data/diabetes.csv", KEEL_SOURCE_DIR);
    kl_train_record_opts ro = {.data_path = data_path, .params = prm, .n_params = 1};
    int rc = kl_train_record(s, &r, &ro, id, &err);
    if (rc)
        fprintf(stderr, "record: %s (%s)\n", err.msg, err.ctx);
    assert_int_equal(rc, 0);

    kl_run_detail d = {0};
    assert_int_equal(kl_store_run_get(s, id, &d, &err), 0);
    assert_int_equal(d.run.status, KL_RUN_STATUS_FINISHED);
    const char *alpha = NULL, *seed = NULL, *folds = NULL, *sha = NULL;
    for (size_t i = 0; i < d.n_params; i++) {
        if (!strcmp(d.params[i].key, "alpha"))
            alpha = d.params[i].value;
        if (!strcmp(d.params[i].key, "seed"))
            seed = d.params[i].value;
        if (!strcmp(d.params[i].key, "folds"))
            folds = d.params[i].value;
    }
    assert_non_null(alpha);
    assert_true(strtod(alpha, NULL) == 0.5);
    assert_string_equal(seed, "42");
    assert_string_equal(folds, "4");
    int seen_r2 = 0;
    for (size_t i = 0; i < d.n_metrics; i++)
        if (!strcmp(d.metrics[i].key, "r2")) {
            seen_r2 = 1;
            assert_true(d.metrics[i].value == metric(&r, "r2"));
        }
    assert_true(seen_r2);
    kl_metric_series ms = {0};
    assert_int_equal(kl_store_metric_history(s, id, "rmse", &ms, &err), 0);
    assert_int_equal(ms.count, 5); /* 4 folds and the mean */
    for (size_t k = 0; k < 4; k++) {
        assert_int_equal(ms.steps[k], (int64_t)k);
        assert_true(ms.values[k] == r.fold_values[k * r.n_metrics + 0]);
    }
    kl_metric_series_release(&ms);
    /* the data file's hash as a tag (it is no snapshot of this store) */
    uint8_t h[32];
    char hex[65];
    FILE *fp = fopen(data_path, "rb");
    static char buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    kl_sha256(buf, len, h);
    kl_hex(h, 32, hex);
    for (size_t i = 0; i < d.n_tags; i++)
        if (!strcmp(d.tags[i].key, "data_sha256"))
            sha = d.tags[i].value;
    assert_non_null(sha);
    assert_string_equal(sha, hex);
    assert_int_equal(d.n_artifacts, 1);
    void *obj = NULL;
    size_t n = 0;
    assert_int_equal(kl_store_get(s, d.artifacts[0].object, 0, &obj, &n, &err), 0);
    kl_model *m = NULL;
    assert_int_equal(kl_model_load_buffer(obj, n, &m, &err), 0);
    kl_model_pred a = {0}, b = {0};
    assert_int_equal(kl_model_predict(m, f, &a, &err), 0);
    assert_int_equal(kl_model_predict(r.model, f, &b, &err), 0);
    assert_memory_equal(a.value, b.value, 442 * sizeof(double));
    kl_store_close(s);
    /* and by run id prefix */
    kl_model *m2 = NULL;
    char prefix[13], rid[KL_ID_LEN];
    snprintf(prefix, sizeof prefix, "%.12s", id);
    assert_int_equal(kl_train_model_open(dir, prefix, &m2, rid, &err), 0);
    assert_string_equal(rid, id);
    assert_string_equal(kl_model_param_value(m2, "alpha"), kl_model_param_value(r.model, "alpha"));
    kl_model_free(m2);
    assert_int_equal(kl_train_model_open(dir, "no-such-run-or-file", &m2, rid, &err), KL_ENOTFOUND);
    assert_null(m2);
    kl_model_pred_release(&a);
    kl_model_pred_release(&b);
    kl_model_free(m);
    kl_model_free(m2);
    free(obj);
    kl_run_detail_release(&d);
    kl_train_result_release(&r);
    kl_frame_free(f);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_metrics_are_identical_with_one_and_two_threads(void **state)
{
    (void)state;
    kl_frame *f = read_data("breast_cancer.csv");
    kl_spec *s = spec_from(bc_spec);
    kl_train_opts o = {.spec = s, .cv_folds = 5};
    kl_train_result r1, r2;
    kl_threads_set(1);
    train_ok(f, &o, &r1);
    kl_threads_set(2);
    train_ok(f, &o, &r2);
    kl_threads_set(0);
    assert_int_equal(r1.n_metrics, r2.n_metrics);
    assert_memory_equal(r1.fold_values, r2.fold_values, r1.n_folds * r1.n_metrics * sizeof(double));
    assert_true(r1.threshold == r2.threshold);
    uint8_t *b1, *b2;
    size_t l1, l2;
    kl_err err = {0};
    assert_int_equal(kl_model_save_buffer(r1.model, &b1, &l1, &err), 0);
    assert_int_equal(kl_model_save_buffer(r2.model, &b2, &l2, &err), 0);
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, l1);
    free(b1);
    free(b2);
    kl_train_result_release(&r1);
    kl_train_result_release(&r2);
    kl_spec_free(s);
    kl_frame_free(f);
}

static void test_bad_options_give_clear_errors(void **state)
{
    (void)state;
    kl_frame *f = read_data("diabetes.csv");
    kl_train_result r;
    kl_err err = {0};
    kl_model_param bad[] = {{"alpha", "-1"}};
    kl_train_opts o = {.has_task = 1,
                       .task = KL_TASK_REGRESSION,
                       .target = "target",
                       .algo = "ridge",
                       .params = bad,
                       .n_params = 1};
    assert_int_equal(kl_train(f, &o, &r, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "alpha"));
    assert_string_equal(err.ctx, "param alpha");
    o.n_params = 0;
    o.algo = "forest-of-nothing";
    memset(&err, 0, sizeof err);
    assert_int_equal(kl_train(f, &o, &r, &err), KL_ENOTFOUND);
    o.algo = "logistic";
    assert_int_equal(kl_train(f, &o, &r, &err), KL_EUNSUPPORTED);
    o.algo = NULL;
    o.target = "no_such_column";
    assert_true(kl_train(f, &o, &r, &err) < 0);
    o.target = NULL;
    assert_int_equal(kl_train(f, &o, &r, &err), KL_EINVAL);
    kl_frame_free(f);
}

static void test_power_law_fit_recovers_a_known_curve(void **state)
{
    (void)state;
    double x[] = {100, 200, 400, 800, 1600}, e[5];
    for (int i = 0; i < 5; i++)
        e[i] = 2 * pow(x[i], -0.5) + 0.1;
    double a, b, c;
    assert_true(kl_curve_fit_power(x, e, 5, &a, &b, &c));
    assert_close(b, 0.5, 1e-12);
    assert_close(a, 2, 1e-9);
    assert_close(c, 0.1, 1e-9);
    /* error 0.15 = 2 n^-0.5 + 0.1  <=>  n = (2 / 0.05)^2 = 1600 */
    assert_close(kl_curve_rows_for(2, 0.5, 0.1, 0.15), 1600, 1e-12);
    assert_true(isinf(kl_curve_rows_for(2, 0.5, 0.1, 0.1)));
    /* an error that grows with n has no falling power law */
    double up[] = {0.1, 0.2, 0.3, 0.4, 0.5};
    assert_false(kl_curve_fit_power(x, up, 5, &a, &b, &c));
}

static void test_learning_curve_sizes_and_estimates(void **state)
{
    (void)state;
    kl_frame *f = read_data("diabetes.csv");
    kl_spec *s = spec_from("version: 1\n"
                           "project: {name: t}\n"
                           "objective: {task: regression, target: target}\n"
                           "sla:\n"
                           "  - {metric: r2, min: 0.2}\n"
                           "  - {metric: r2, min: 0.99}\n");
    kl_train_opts o = {.spec = s};
    kl_curve_opts co = {.train = &o, .folds = 3, .label_cost = 2};
    kl_curve c;
    kl_err err = {0};
    int rc = kl_curve_run(f, &co, &c, &err);
    if (rc)
        fprintf(stderr, "curve: %s (%s)\n", err.msg, err.ctx);
    assert_int_equal(rc, 0);
    assert_string_equal(c.metric, "r2");
    /* 3 folds of 442: training parts of 294 or 295 rows; sizes ceil(f * n_train) */
    assert_int_equal(c.sizes[4], 295);
    assert_int_equal(c.sizes[0], 30);
    assert_int_equal(c.n_targets, 2);
    /* r2 >= 0.2 is within reach of the rows at hand; 0.99 is beyond diabetes' noise */
    assert_true(c.targets[0].reachable);
    assert_true(c.targets[0].rows_low <= c.targets[0].rows_needed);
    assert_true(c.targets[0].rows_needed <= c.targets[0].rows_high);
    assert_true(c.targets[0].cost == c.targets[0].extra_rows * 2);
    assert_false(c.targets[1].reachable);
    assert_true(isnan(c.targets[1].cost));
    kl_curve_release(&c);
    kl_spec_free(s);
    kl_frame_free(f);
}

static void test_spec_label_cost_loads_round_trips_and_is_checked(void **state)
{
    (void)state;
    const char *base = "version: 1\n"
                       "project: {name: t}\n"
                       "objective: {task: regression, target: target}\n";
    char buf[512];
    snprintf(buf, sizeof buf, "%strain: {label_cost: 0.25}\n", base);
    kl_spec *s = spec_from(buf);
    assert_true(s->train.has_label_cost && s->train.label_cost == 0.25);
    char *y = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&y, &len);
    kl_err err = {0};
    assert_int_equal(kl_spec_write_yaml(s, fp, &err), 0);
    fclose(fp);
    kl_spec *back = spec_from(y);
    assert_true(back->train.has_label_cost && back->train.label_cost == 0.25);
    free(y);
    kl_spec_free(back);
    kl_spec_free(s);
    s = spec_from(base);
    assert_false(s->train.has_label_cost);
    kl_spec_free(s);
    snprintf(buf, sizeof buf, "%strain: {label_cost: -1}\n", base);
    assert_int_equal(kl_spec_load_buffer(buf, strlen(buf), "keel.yaml", &s, &err), KL_EPARSE);
    assert_non_null(strstr(err.msg, "train.label_cost"));
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ridge_diabetes_holdout_matches_a_direct_computation),
        cmocka_unit_test(test_logistic_breast_cancer_metrics_threshold_and_gates),
        cmocka_unit_test(test_iris_multinomial_kfold_accuracy_per_fold),
        cmocka_unit_test(test_ar_forecast_holdout_scores_the_multistep_forecast),
        cmocka_unit_test(test_run_is_recorded_and_its_model_predicts_identically),
        cmocka_unit_test(test_metrics_are_identical_with_one_and_two_threads),
        cmocka_unit_test(test_bad_options_give_clear_errors),
        cmocka_unit_test(test_power_law_fit_recovers_a_known_curve),
        cmocka_unit_test(test_learning_curve_sizes_and_estimates),
        cmocka_unit_test(test_spec_label_cost_loads_round_trips_and_is_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
