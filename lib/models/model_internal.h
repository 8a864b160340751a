/*
 * Inside kl_model: shared by model.c (fit, predict, describe) and
 * model_file.c (save, load). Algorithms see only include/keel/model.h.
 */
#ifndef KEEL_MODELS_MODEL_INTERNAL_H
#define KEEL_MODELS_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "keel/model.h"

#define KL__PARAM_TEXT_MAX 128

struct kl_model {
    const kl_algo *algo;
    enum kl_task task;
    char *target;
    char **classes;
    size_t n_classes;
    double pv[KL_MODEL_MAX_PARAMS];                      /* parsed, in table order */
    char ptext[KL_MODEL_MAX_PARAMS][KL__PARAM_TEXT_MAX]; /* canonical text */
    char **meta_key, **meta_val;                         /* sorted by key */
    size_t n_meta;
    uint8_t schema[32];
    kl_pipeline *pipe;
    void *state;
    char **notes; /* not saved: they describe the fit, not the model */
    size_t n_notes;
};

/* Validate params against the algorithm's table; canon may be NULL. */
int kl__params_resolve(const kl_algo *algo, const kl_model_param *params, size_t n, double *pv,
                       char canon[][KL__PARAM_TEXT_MAX], kl_err *err);
/* Shortest of %.15g/%.16g/%.17g that reads back to v. */
void kl__fmt_double(double v, char *buf, size_t n);
int kl__model_note(kl_model *m, const char *text);

#endif
