/*
 * Training: validate an algorithm on a frame the way keel.yaml (or the
 * command line) says, measure every applicable metric per fold, judge the
 * SLA gates and KPIs, choose a binary decision threshold, and refit the final
 * model on all the data; then record it all as a run in the project store.
 *
 * Ownership: kl_train fills a kl_train_result the caller releases with
 * kl_train_result_release (it owns the final model unless the caller takes it
 * by setting result->model to NULL). Options and the frame are borrowed.
 *
 * What a run does, in order:
 *   1. resolve the task, target, algorithm (train.algorithm or opts.algo,
 *      default ridge / logistic / ar by task), parameters (train.params, then
 *      opts.params on top, checked with kl_model_params_check), features
 *      (features.include/exclude and transforms, or opts.features; protected
 *      columns are never features) and seed (train.seed, 42);
 *   2. split: opts.valid given -> train on the frame, validate on valid;
 *      opts.cv_folds >= 2 -> k-fold (stratified, shuffled, for
 *      classification; the time-series expanding window for forecasts;
 *      shuffled k-fold otherwise); else train.validation: holdout is
 *      stratified for classification and time-ordered (the last test_size
 *      share) for forecasts, random otherwise;
 *   3. per fold: fit on the training rows, predict the validation rows
 *      (forecasts: the model's multi-step forecast over the validation block,
 *      or one-step predictions for algorithms without a forecaster), compute
 *      every metric (kl_eval_compute) and the main metric on the training rows;
 *   4. aggregate: mean and sample standard deviation (ddof 1; 0 for one fold)
 *      of each metric over the folds; the overfitting gap of the main metric
 *      (kl_eval_main_metric): gap = (train - valid) / max(|valid|, 1e-12),
 *      sign flipped for losses, so a positive gap means training scores
 *      better; flagged when gap > gap_threshold (default 0.10);
 *   5. binary classification: the decision threshold from the pooled
 *      validation predictions (kl_threshold_choose): "cost" maximises (or
 *      minimises, by its direction) the first kpi whose value formula uses tp,
 *      fp, tn or fn; "f1"; or a fixed number; default "cost" when such a kpi
 *      exists, else fixed 0.5. It is stored in the model (meta "threshold",
 *      "threshold_method", "positive_class"). Per-fold label metrics are
 *      measured at 0.5 (measuring them at a threshold tuned on the same rows
 *      would flatter the model); the pooled evaluation uses the threshold;
 *   6. KPIs on the pooled validation predictions; validation SLAs on the
 *      aggregated metrics;
 *   7. the final model: refit on every row of the frame (never on opts.valid).
 */
#ifndef KEEL_TRAIN_H
#define KEEL_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "keel/err.h"
#include "keel/evaluate.h"
#include "keel/frame.h"
#include "keel/model.h"
#include "keel/spec.h"
#include "keel/store.h"

#define KL_TRAIN_GAP_THRESHOLD_DEFAULT 0.10

typedef struct kl_train_opts {
    const kl_spec *spec; /* may be NULL: then task and target are required */
    const char *algo;    /* overrides train.algorithm */
    int has_task;        /* 1: task overrides objective.task */
    enum kl_task task;
    const char *target;           /* overrides objective.target */
    const kl_model_param *params; /* on top of train.params */
    size_t n_params;
    const char *const *features; /* overrides features.include when n_features > 0 */
    size_t n_features;
    size_t cv_folds;       /* >= 2: k-fold instead of train.validation */
    const kl_frame *valid; /* validate on this frame instead of a split */
    double gap_threshold;  /* 0: KL_TRAIN_GAP_THRESHOLD_DEFAULT */
    int has_seed;
    uint64_t seed;
    const char *threshold; /* binary: NULL auto, "cost", "f1" or a number in (0, 1) */
} kl_train_opts;

typedef struct kl_train_metric {
    const kl_metric_desc *desc;
    double mean, std; /* over the folds */
} kl_train_metric;

typedef struct kl_train_result {
    kl_model *model; /* the final model, refitted on every row */
    const char *algo;
    enum kl_task task;
    const char *target;
    uint64_t seed;
    size_t n_rows;       /* rows of the training frame */
    const char *split;   /* kl_split_method_name, or "given" for opts.valid */
    char split_hash[65]; /* kl_split's index hash (hex); "" for opts.valid */
    size_t n_folds;
    size_t n_metrics; /* metrics measured in every fold */
    kl_train_metric metrics[KL_EVAL_MAX_METRICS];
    double *fold_values;   /* n_folds x n_metrics, row-major */
    kl_eval_result pooled; /* every validation row of every fold, at the threshold */
    const char *main_metric;
    double main_train, main_valid, gap, gap_threshold;
    int gap_flag;
    int has_threshold;
    double threshold;
    const char *threshold_method; /* kl_threshold_method_name */
    size_t positive_class;        /* binary: the positive class's index */
    kl_sla_verdict *sla;          /* spec->n_sla verdicts (stage validation) */
    size_t n_sla, n_sla_failed;   /* n_sla_failed counts failed groups too */
    kl_sla_groups sla_groups;     /* gates with `by`: each group of the pooled validation rows */
    kl_kpi_verdict *kpi; /* spec->n_kpi verdicts */
    size_t n_kpi;
    double fit_seconds;   /* wall time of the final fit */
    double total_seconds; /* wall time of the whole run */
    /*
     * Algorithms that fit in rounds (boosting, KL_ALGO_FLAGS_ROUNDS): the
     * metric per round on the training and validation rows of the validation
     * fits (mean over folds, over the rounds every fold ran; with opts.valid
     * the final model's own record), and the best round by the validation
     * curve (0-based). Each fold's fit scores its validation rows every round
     * and stops early on them when early_stopping_rounds asks; the final
     * model, fitted on every row, then keeps best_round + 1 rounds
     * (rounds_kept 1). round_metric is NULL for other algorithms.
     */
    const char *round_metric;
    size_t n_rounds;
    double *round_train, *round_valid; /* n_rounds each */
    size_t best_round;
    int rounds_kept;
} kl_train_result;

/*
 * Run steps 1-7 on frame f. Errors: KL_EINVAL (bad options, parameters,
 * too few rows), KL_ENOTFOUND (target or feature column), KL_EUNSUPPORTED,
 * KL_ENOMEM, and any error of the fit; err->ctx names the fold when a fold
 * failed. On failure the result is released.
 */
int kl_train(const kl_frame *f, const kl_train_opts *opts, kl_train_result *out, kl_err *err);
void kl_train_result_release(kl_train_result *r);

/*
 * The actual values of f's target column for model m: numbers (regression,
 * forecast) or class indices of m's classes (classification). y holds
 * kl_frame_row_count(f) values; missing targets are NaN. KL_ENOTFOUND when
 * the column is absent, KL_EINVAL when a label is not one of m's classes.
 */
int kl_train_target_values(const kl_model *m, const kl_frame *f, double *y, kl_err *err);

/*
 * The binary positive class of m: objective.positive_class (spec may be
 * NULL), else the model's meta "positive_class", else index 1.
 */
int kl_train_positive_class(const kl_model *m, const kl_spec *spec, size_t *pos, kl_err *err);

/*
 * Evaluate m on f (rows whose target or prediction is missing are skipped)
 * at m's stored threshold. *n_used receives the rows evaluated.
 */
int kl_train_evaluate(const kl_model *m, const kl_spec *spec, const kl_frame *f,
                      kl_eval_result *out, size_t *n_used, kl_err *err);

/*
 * Predictions of m for every row of f as a new frame: classification gives
 * "prediction" (the class label; binary at the model's stored threshold for
 * its positive class, else argmax) and "proba_<class>" per class;
 * regression and forecast give "prediction". Rows in the pipeline's warm-up
 * are missing. KL_ENOMEM and kl_model_predict's errors.
 */
int kl_train_predict_frame(const kl_model *m, const kl_frame *f, kl_frame **out, kl_err *err);

/* ---- recording ---- */

typedef struct kl_train_record_opts {
    const kl_spec *spec;          /* written as an object and linked; may be NULL */
    const char *data_path;        /* the training file: hashed, matched to a snapshot */
    const char *run_name;         /* may be NULL */
    const kl_model_param *params; /* as given on the command line (also logged) */
    size_t n_params;
} kl_train_record_opts;

/*
 * Record r as a run in store s: params (the model's canonical values, the
 * seed, the split), metrics per fold (step = fold) and aggregated (step -1:
 * "<metric>" the mean, "<metric>_std"), the gap, the threshold; the model
 * file as artifact "model" (kl_model_save_buffer -> kl_store_put); lineage to
 * the snapshot whose source hash equals the data file's SHA-256 (else the tag
 * data_sha256) and to the spec (its effective YAML as an object,
 * object -"spec"-> run, and the spec hash); status finished. run_id receives
 * the full id. On an error the run (if started) is ended as failed.
 */
int kl_train_record(kl_store *s, const kl_train_result *r, const kl_train_record_opts *o,
                    char run_id[KL_ID_LEN], kl_err *err);

/*
 * Open a model by text: a model file path (relative to project_dir) if one exists, else a run id
 * prefix, name or tag in the store of project_dir (its "model" artifact).
 * run_id (may be NULL) receives the run's id, or "" for a file.
 */
int kl_train_model_open(const char *project_dir, const char *text, kl_model **out,
                        char run_id[KL_ID_LEN], kl_err *err);

#endif
