/*
 * Shared by lib/train/fselect*.c: the resolved state of a feature-selection
 * call (task, target, model, candidates as dense columns).
 */
#ifndef KEEL_FSELECT_INTERNAL_H
#define KEEL_FSELECT_INTERNAL_H

#include "keel/fselect.h"
#include "keel/pipeline.h"
#include "keel/split.h"

/* Candidates at most (scores live in stack arrays of this size). */
#define KL__FS_MAX 512

typedef struct kl__fs {
    const kl_frame *f;
    const kl_fselect_opts *o;
    const kl_spec *spec;
    enum kl_task task;
    const char *target, *algo;
    kl_model_param params[2 * KL_MODEL_MAX_PARAMS];
    size_t n_params;
    kl_pipeline_opts po; /* the spec's, restricted per fit through include */
    uint64_t seed;
    size_t folds, boots, repeats, k_nn;
    double test_size;
    size_t n, p;   /* rows, candidates */
    char **names;  /* p candidate columns, frame order */
    int *discrete; /* p: categorical or bool */
    size_t *n_out; /* p: pipeline outputs of each */
    size_t total_out;
    double *X; /* p columns of n values (codes for discrete), NaN missing */
    double *y; /* n target values or class values, NaN missing */
    int y_discrete;
} kl__fs;

int kl__fs_setup(kl__fs *c, const kl_frame *f, const kl_fselect_opts *o, kl_err *err);
void kl__fs_release(kl__fs *c);
int kl__fs_rank(kl__fs *c, kl_fselect_result *out, kl_err *err);
/* Column j of f as doubles (codes and 0/1 for discrete kinds, NaN missing). */
void kl__fs_column(const kl_frame *f, size_t j, double *v, int *discrete);
/* Candidate owning pipeline output name out, or -1. */
long kl__fs_owner(const kl__fs *c, const char *out);
/* Fit algo on f with candidates set[0..n_set). */
int kl__fs_fit(const kl__fs *c, const kl_frame *f, const char *algo, const kl_model_param *params,
               size_t n_params, const size_t *set, size_t n_set, kl_model **m, kl_err *err);
/* Main metric of m on f, signed so that higher is better. */
int kl__fs_score(const kl__fs *c, const kl_model *m, const kl_frame *f, double *v, kl_err *err);
/* The k-fold split (holdout = 0) or the holdout (1) of the options. */
int kl__fs_split(const kl__fs *c, int holdout, kl_split **out, kl_err *err);

#endif
