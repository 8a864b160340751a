/*
 * Recording a training run in the project store, and finding a model again
 * by run id or file.
 *
 * What a run holds (so that `keel runs`, `keel show` and `keel compare` can
 * read it without knowing about training): params (the algorithm's
 * canonical parameter values, algo, task, target, seed, split, folds,
 * threshold), metrics (per fold at step = fold index, the mean at step -1
 * under the metric's own name plus "<name>_std", train_<main> and the gap;
 * for boosting, "round_train_<metric>" and "round_valid_<metric>" at step =
 * round (0-based) and "best_iteration"), artifacts "model" (the model file
 * as an object) and, for boosting, "rounds_curve" (an SVG chart of the
 * per-round curves, kind "svg"), tags (split_hash,
 * data_sha256 when the data is not a known snapshot, gap_flag), and lineage:
 * snapshot -"input"-> run (kl_run_start records it) and spec object
 * -"spec"-> run.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "keel/curve.h"
#include "keel/hash.h"
#include "keel/store.h"
#include "keel/track.h"
#include "keel/train.h"
#include "train/train_internal.h"
#include "core/common.h"

static int file_sha256(const char *path, char hex[KL_SHA256_HEX_LEN + 1], kl_err *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return kl_err_set(err, KL_EIO, "cannot read '%s'", path);
    kl_sha256_ctx h;
    kl_sha256_init(&h);
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
        kl_sha256_update(&h, buf, n);
    int bad = ferror(fp);
    fclose(fp);
    if (bad)
        return kl_err_set(err, KL_EIO, "cannot read '%s'", path);
    uint8_t d[KL_SHA256_LEN];
    kl_sha256_final(&h, d);
    kl_hex(d, sizeof d, hex);
    return 0;
}

/* The newest snapshot whose source hash is hex, into id ("" when none). */
static int find_snapshot(kl_store *s, const char *hex, char id[KL_ID_LEN], kl_err *err)
{
    id[0] = '\0';
    kl_snapshot_list l = {0};
    int rc = kl_store_snapshot_list(s, NULL, &l, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < l.count; i++)
        if (l.items[i].source_hash && !strcmp(l.items[i].source_hash, hex)) {
            memcpy(id, l.items[i].id, KL_ID_LEN);
            break;
        }
    kl_snapshot_list_release(&l);
    return 0;
}

/* The spec's effective YAML (a pure function of its values) into a new buffer. */
static int spec_yaml(const kl_spec *spec, char **buf, size_t *len, kl_err *err)
{
    FILE *fp = open_memstream(buf, len);
    if (!fp)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    int rc = kl_spec_write_yaml(spec, fp, err);
    if (fclose(fp) != 0 && rc == 0)
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
    if (rc < 0) {
        free(*buf);
        *buf = NULL;
    }
    return rc;
}

static int log_fmt(kl_run *run, const char *key, double v, kl_err *err)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.17g", v);
    return kl_run_log_param(run, key, buf, err);
}

/* Boosting: the per-round curves (step = round), the best iteration and the chart. */
static int record_rounds(kl_store *s, kl_run *run, const kl_train_result *r, kl_err *err)
{
    char kt[96], kv[96], obj[KL_ID_LEN];
    snprintf(kt, sizeof kt, "round_train_%s", r->round_metric);
    snprintf(kv, sizeof kv, "round_valid_%s", r->round_metric);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r->n_rounds; i++)
        if ((rc = kl_run_log_metric(run, kt, r->round_train[i], (int64_t)i, err)) == 0)
            rc = kl_run_log_metric(run, kv, r->round_valid[i], (int64_t)i, err);
    if (rc == 0)
        rc = kl_run_log_metric(run, "best_iteration", (double)r->best_round, -1, err);
    if (rc == 0 && r->rounds_kept)
        rc = kl_run_set_tag(run, "rounds_kept", "best_iteration + 1", err);
    char *svg = NULL;
    size_t len = 0;
    if (rc == 0 && (rc = kl_curve_rounds_svg(r, &svg, &len, err)) == 0) {
        rc = kl_store_put(s, svg, len, obj, err);
        free(svg);
        if (rc == 0)
            rc = kl_run_log_artifact(run, "rounds_curve", obj, "svg", err);
    }
    return rc;
}

int kl__train_log_result(kl_store *s, kl_run *run, const kl_train_result *r, kl_err *err)
{
    int rc = 0;
    if (r->model) {
        const kl_algo *a = kl_model_algo(r->model);
        for (size_t i = 0; rc == 0 && i < a->n_params; i++) {
            const char *v = kl_model_param_value(r->model, a->params[i].name);
            if (v)
                rc = kl_run_log_param(run, a->params[i].name, v, err);
        }
    }
    char seed[32], folds[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)r->seed);
    snprintf(folds, sizeof folds, "%zu", r->n_folds);
    if (rc == 0)
        rc = kl_run_log_param(run, "algo", r->algo, err);
    if (rc == 0)
        rc = kl_run_log_param(run, "task", kl_task_name(r->task), err);
    if (rc == 0)
        rc = kl_run_log_param(run, "target", r->target, err);
    if (rc == 0)
        rc = kl_run_log_param(run, "seed", seed, err);
    if (rc == 0)
        rc = kl_run_log_param(run, "split", r->split, err);
    if (rc == 0)
        rc = kl_run_log_param(run, "folds", folds, err);
    if (rc == 0 && r->has_threshold)
        rc = log_fmt(run, "threshold", r->threshold, err);
    if (rc == 0 && r->has_threshold)
        rc = kl_run_log_param(run, "threshold_method", r->threshold_method, err);
    /* metrics: per fold, then aggregated at step -1 */
    for (size_t j = 0; rc == 0 && j < r->n_metrics; j++) {
        const char *name = r->metrics[j].desc->name;
        for (size_t k = 0; rc == 0 && k < r->n_folds && r->n_folds > 1; k++)
            rc =
                kl_run_log_metric(run, name, r->fold_values[k * r->n_metrics + j], (int64_t)k, err);
        char key[96];
        snprintf(key, sizeof key, "%s_std", name);
        if (rc == 0)
            rc = kl_run_log_metric(run, name, r->metrics[j].mean, -1, err);
        if (rc == 0)
            rc = kl_run_log_metric(run, key, r->metrics[j].std, -1, err);
    }
    char key[96];
    snprintf(key, sizeof key, "train_%s", r->main_metric);
    if (rc == 0 && isfinite(r->main_train))
        rc = kl_run_log_metric(run, key, r->main_train, -1, err);
    if (rc == 0 && isfinite(r->gap))
        rc = kl_run_log_metric(run, "gap", r->gap, -1, err);
    if (rc == 0)
        rc = kl_run_log_metric(run, "fit_seconds", r->fit_seconds, -1, err);
    if (rc == 0 && r->round_metric)
        rc = record_rounds(s, run, r, err);
    if (rc == 0 && r->split_hash[0])
        rc = kl_run_set_tag(run, "split_hash", r->split_hash, err);
    if (rc == 0)
        rc = kl_run_set_tag(run, "gap_flag", r->gap_flag ? "true" : "false", err);
    /* the model file as an object */
    uint8_t *buf = NULL;
    size_t len = 0;
    char obj[KL_ID_LEN];
    if (rc == 0 && r->model && (rc = kl_model_save_buffer(r->model, &buf, &len, err)) == 0) {
        rc = kl_store_put(s, buf, len, obj, err);
        free(buf);
        if (rc == 0)
            rc = kl_run_log_artifact(run, "model", obj, "model", err);
    }
    return rc;
}

static int record_body(kl_store *s, kl_run *run, const kl_train_result *r,
                       const kl_train_record_opts *o, const char *spec_obj, const char *data_hex,
                       kl_err *err)
{
    int rc = kl__train_log_result(s, run, r, err);
    for (size_t i = 0; rc == 0 && i < o->n_params; i++) {
        char key[128];
        snprintf(key, sizeof key, "cli.%s", o->params[i].key);
        rc = kl_run_log_param(run, key, o->params[i].value, err);
    }
    if (rc == 0 && data_hex)
        rc = kl_run_set_tag(run, "data_sha256", data_hex, err);
    if (rc == 0 && spec_obj)
        rc = kl_store_link(s, "object", spec_obj, "run", kl_run_id(run), "spec", err);
    return rc;
}

int kl_train_record(kl_store *s, const kl_train_result *r, const kl_train_record_opts *o,
                    char run_id[KL_ID_LEN], kl_err *err)
{
    char data_hex[KL_SHA256_HEX_LEN + 1] = "", snap[KL_ID_LEN] = "";
    char spec_hex[KL_SHA256_HEX_LEN + 1] = "", spec_obj[KL_ID_LEN] = "";
    int rc = 0;
    if (o->data_path) {
        if ((rc = file_sha256(o->data_path, data_hex, err)) < 0 ||
            (rc = find_snapshot(s, data_hex, snap, err)) < 0)
            return rc;
    }
    if (o->spec) {
        char *y = NULL;
        size_t len = 0;
        if ((rc = spec_yaml(o->spec, &y, &len, err)) < 0)
            return rc;
        uint8_t d[KL_SHA256_LEN];
        kl_sha256(y, len, d);
        kl_hex(d, sizeof d, spec_hex);
        rc = kl_store_put(s, y, len, spec_obj, err);
        free(y);
        if (rc < 0)
            return rc;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    kl_run_opts ro = {.name = o->run_name,
                      .spec_hash = spec_hex[0] ? spec_hex : NULL,
                      .snapshot = snap[0] ? snap : NULL,
                      .seed = r->seed,
                      .has_seed = 1,
                      /* the run began when training did: it is recorded afterwards */
                      .started_ms = now_ms - (int64_t)(r->total_seconds * 1000.0)};
    kl_run *run = NULL;
    if ((rc = kl_run_start(s, &ro, &run, err)) < 0)
        return rc;
    memcpy(run_id, kl_run_id(run), KL_ID_LEN);
    rc = record_body(s, run, r, o, spec_obj[0] ? spec_obj : NULL, snap[0] ? NULL : data_hex, err);
    if (rc < 0) {
        kl_err ignored = {0};
        kl_run_end(run, KL_RUN_STATUS_FAILED, &ignored);
        return rc;
    }
    return kl_run_end(run, KL_RUN_STATUS_FINISHED, err);
}

int kl_train_model_open(const char *project_dir, const char *text, kl_model **out,
                        char run_id[KL_ID_LEN], kl_err *err)
{
    *out = NULL;
    if (run_id)
        run_id[0] = '\0';
    kl__train_register_algos();
    struct stat st;
    char path[4096];
    if (text[0] == '/' || !strcmp(project_dir, "."))
        snprintf(path, sizeof path, "%s", text);
    else
        snprintf(path, sizeof path, "%s/%s", project_dir, text);
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        return kl_model_load_file(path, out, err);
    char keel_dir[4096];
    snprintf(keel_dir, sizeof keel_dir, "%s/.keel", project_dir);
    if (stat(keel_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return kl_err_set(err, KL_ENOTFOUND,
                          "'%s' is not a model file, and there is no keel project here to find a "
                          "run in",
                          text);
    kl_store *s = NULL;
    int rc = kl_store_open(project_dir, NULL, &s, err);
    if (rc < 0)
        return rc;
    kl_ref ref;
    kl_run_detail d = {0};
    void *buf = NULL;
    size_t len = 0;
    if ((rc = kl_store_resolve(s, "run", text, &ref, err)) < 0) {
        if (rc == KL_ENOTFOUND)
            kl_err_set(err, KL_ENOTFOUND, "'%s' is neither a model file nor a run", text);
        goto done;
    }
    if ((rc = kl_store_run_get(s, ref.id, &d, err)) < 0)
        goto done;
    const char *obj = NULL;
    for (size_t i = 0; i < d.n_artifacts; i++)
        if (!strcmp(d.artifacts[i].name, "model"))
            obj = d.artifacts[i].object;
    if (!obj) {
        rc = kl_err_set(err, KL_ENOTFOUND, "run %.12s has no model artifact", ref.id);
        goto done;
    }
    if ((rc = kl_store_get(s, obj, (size_t)1 << 32, &buf, &len, err)) < 0 ||
        (rc = kl_model_load_buffer(buf, len, out, err)) < 0)
        goto done;
    if (run_id)
        memcpy(run_id, ref.id, KL_ID_LEN);
done:
    free(buf);
    kl_run_detail_release(&d);
    kl_store_close(s);
    return rc;
}
