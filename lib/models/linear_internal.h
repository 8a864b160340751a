/*
 * State shared by the linear algorithms (linear.c: ols, ridge, lasso,
 * elasticnet; logistic.c): k outputs of p coefficients and an intercept
 * each, saved as the "linear payload" of include/keel/model.h.
 */
#ifndef KEEL_MODELS_LINEAR_INTERNAL_H
#define KEEL_MODELS_LINEAR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "keel/model.h"

typedef struct kl__linear {
    uint32_t p, k;
    uint32_t n_iter, converged;
    double objective;
    double *intercept; /* k */
    double *coef;      /* k * p, output-major */
} kl__linear;

kl__linear *kl__linear_new(size_t p, size_t k);
void kl__linear_free(void *state);
int kl__linear_save(const void *state, kl_wbuf *w);
int kl__linear_load(kl_rbuf *r, const double *pv, void **state, kl_err *err);
int kl__linear_coef(const void *state, size_t *n_outputs, size_t *n_features,
                    const double **intercept, const double **coef);
/* out[i] = intercept[0] + X[i,:] . coef (regression). */
int kl__linear_predict(const void *state, const double *X, size_t n, size_t ld, double *out,
                       kl_err *err);
int kl__linear_describe(const void *state, const char *const *feature_names,
                        const char *const *class_names, struct json_t *obj);

#endif
