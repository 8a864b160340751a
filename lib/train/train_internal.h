/*
 * Shared inside lib/train.
 */
#ifndef KEEL_TRAIN_INTERNAL_H
#define KEEL_TRAIN_INTERNAL_H

#include "keel/split.h"
#include "keel/store.h"
#include "keel/track.h"
#include "keel/train.h"

/*
 * Make sure every algorithm keel ships is in the registry: the models
 * module's built-in table holds the linear ones, and the AR lab model is
 * registered here (once) when nobody has done it yet.
 */
void kl__train_register_algos(void);

/*
 * Log what a training result says into run: the model's parameters and
 * algo, task, target, seed, split, folds and threshold; every metric per
 * fold (step = fold) and aggregated (step -1, with _std), train_<main>, gap,
 * fit_seconds; the boosting rounds (curves, best_iteration, the SVG); the
 * split_hash and gap_flag tags; the model file as the "model" artifact.
 * Shared by kl_train_record and the search's parent run.
 */
int kl__train_log_result(kl_store *s, kl_run *run, const kl_train_result *r, kl_err *err);

/*
 * A cross-validation prepared once for many parameter sets (hyperparameter
 * trials): kl_train's step 1 resolved and its split made; each fold then
 * fits with extra parameters on top of the run's and validates, without a
 * final model. kl__train_cv_eval is thread-safe (it shares only read-only
 * state) and gives the same per-fold metrics kl_train computes.
 */
typedef struct kl__train_cv kl__train_cv;
int kl__train_cv_new(const kl_frame *f, const kl_train_opts *o, kl__train_cv **out, kl_err *err);
void kl__train_cv_free(kl__train_cv *cv);
size_t kl__train_cv_folds(const kl__train_cv *cv);
const kl_fold *kl__train_cv_fold(const kl__train_cv *cv, size_t k);
/* The algorithm, task and seed kl_train would use; classes of the target (0 unless classification). */
const kl_algo *kl__train_cv_algo(const kl__train_cv *cv);
enum kl_task kl__train_cv_task(const kl__train_cv *cv);
uint64_t kl__train_cv_seed(const kl__train_cv *cv);
size_t kl__train_cv_classes(const kl__train_cv *cv);
const char *kl__train_cv_main_metric(const kl__train_cv *cv);
/* Stratification label of each row (class code, -1 missing), or NULL when not classification. */
const double *kl__train_cv_labels(const kl__train_cv *cv);
/* The run's params (spec, then command line) followed by extra ones that replace equal keys. */
int kl__train_cv_params(const kl__train_cv *cv, const kl_model_param *extra, size_t n_extra,
                        kl_model_param *out, size_t cap, size_t *n, kl_err *err);
/*
 * Fit on rows train[0..n_train) of the frame with params (the full set, from
 * kl__train_cv_params), validate on rows test[0..n_test) of fold fd (fd gives
 * forecasts their training series), metrics into out.
 */
int kl__train_cv_eval(const kl__train_cv *cv, const kl_model_param *params, size_t n_params,
                      const kl_fold *fd, const size_t *train, size_t n_train, kl_eval_result *out,
                      kl_err *err);

#endif
