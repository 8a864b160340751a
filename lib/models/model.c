/*
 * kl_model: the algorithm registry, parameter validation, fitting (pipeline,
 * then algorithm), batch prediction and description.
 *
 * Invariants: a model's params hold every parameter of its algorithm in table
 * order, in canonical text, and pv[] their parsed values, so a model loaded
 * from a file is configured exactly as the one that was saved. Prediction
 * cuts rows into blocks of KL_MODEL_BLOCK_ROWS whose boundaries depend only on
 * the row count; each block is transformed into its own buffer and predicted
 * with one BLAS thread, so results are the same bits at any thread count.
 * Fitting holds OpenBLAS to one thread for the same reason (a multi-threaded
 * dgemv sums in an order that depends on the thread count).
 */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "keel/ar.h"
#include "keel/hash.h"
#include "keel/linear.h"
#include "keel/gbdt.h"
#include "keel/model.h"
#include "keel/parallel.h"
#include "keel/suggest.h"
#include "keel/tree.h"

#include "models/model_internal.h"

#include "core/mem.h"
#include "core/common.h"

/* ---- registry ---- */

static const kl_algo *const builtin[] = {&kl_algo_ols,        &kl_algo_ridge,    &kl_algo_lasso,
                                         &kl_algo_elasticnet, &kl_algo_logistic, &kl_algo_ar,
                                         &kl_algo_gbdt,       &kl_algo_tree,     &kl_algo_forest};
#define MAX_EXTRA 16
static const kl_algo *extra[MAX_EXTRA];
static size_t n_extra;

size_t kl_algo_count(void)
{
    return KL_ARRAY_LEN(builtin) + n_extra;
}

const kl_algo *kl_algo_at(size_t i)
{
    KL_ASSERT(i < kl_algo_count());
    return i < KL_ARRAY_LEN(builtin) ? builtin[i] : extra[i - KL_ARRAY_LEN(builtin)];
}

const kl_algo *kl_algo_find(const char *name)
{
    for (size_t i = 0; name && i < kl_algo_count(); i++)
        if (strcmp(kl_algo_at(i)->name, name) == 0)
            return kl_algo_at(i);
    return NULL;
}

int kl_algo_register(const kl_algo *algo, kl_err *err)
{
    if (kl_algo_find(algo->name))
        return kl_err_set(err, KL_EEXIST, "algorithm '%s' is already registered", algo->name);
    if (n_extra == MAX_EXTRA)
        return kl_err_set(err, KL_ERANGE, "too many algorithms registered");
    extra[n_extra++] = algo;
    return 0;
}

/* ---- parameters ---- */

/* Shortest of %.15g, %.16g, %.17g that reads back to v. */
void kl__fmt_double(double v, char *buf, size_t n)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static int choice_index(const char *choices, const char *v, size_t *idx)
{
    size_t k = 0, len = strlen(v);
    const char *s = choices;
    while (*s) {
        size_t l = strcspn(s, ",");
        if (l == len && strncmp(s, v, l) == 0) {
            *idx = k;
            return 0;
        }
        s += l;
        if (*s == ',')
            s++;
        k++;
    }
    return -1;
}

/* Parse text for parameter d into *out; canonical text into canon. */
static int param_parse(const kl_algo *algo, const kl_algo_param *d, const char *v, double *out,
                       char *canon, size_t n, kl_err *err)
{
    char *end;
    double x;
    switch (d->kind) {
    case KL_ALGO_PARAM_KIND_BOOL:
        if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "1") == 0)
            x = 1;
        else if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 || strcmp(v, "0") == 0)
            x = 0;
        else
            goto bad;
        snprintf(canon, n, "%s", x ? "true" : "false");
        break;
    case KL_ALGO_PARAM_KIND_TEXT:
        if (strlen(v) >= n) {
            kl_err_set(err, KL_EINVAL, "parameter '%s' of %s is longer than %zu bytes", d->name,
                       algo->name, n - 1);
            return kl_err_ctx(err, "param %s", d->name);
        }
        snprintf(canon, n, "%s", v);
        x = 0;
        break;
    case KL_ALGO_PARAM_KIND_CHOICE: {
        size_t idx;
        if (choice_index(d->choices, v, &idx) < 0) {
            kl_err_set(err, KL_EINVAL, "parameter '%s' of %s must be one of %s, not '%s'", d->name,
                       algo->name, d->choices, v);
            return kl_err_ctx(err, "param %s", d->name);
        }
        x = (double)idx;
        snprintf(canon, n, "%s", v);
        break;
    }
    default:
        x = strtod(v, &end);
        if (!*v || *end || !isfinite(x) || (d->kind == KL_ALGO_PARAM_KIND_INT && x != floor(x)))
            goto bad;
        if (x < d->min || (d->min_open && x == d->min) || x > d->max) {
            kl_err_set(err, KL_EINVAL, "parameter '%s' of %s must be %s %g%s, not '%s'", d->name,
                       algo->name, d->min_open ? ">" : ">=", d->min,
                       d->max < INFINITY ? " and at most the maximum" : "", v);
            if (d->max < INFINITY)
                kl_err_set(err, KL_EINVAL, "parameter '%s' of %s must be in [%g, %g], not '%s'",
                           d->name, algo->name, d->min, d->max, v);
            return kl_err_ctx(err, "param %s", d->name);
        }
        if (d->kind == KL_ALGO_PARAM_KIND_INT)
            snprintf(canon, n, "%.0f", x);
        else
            kl__fmt_double(x, canon, n);
        break;
    }
    *out = x;
    return 0;
bad:
    kl_err_set(err, KL_EINVAL, "parameter '%s' of %s must be %s, not '%s'", d->name, algo->name,
               d->kind == KL_ALGO_PARAM_KIND_BOOL  ? "true or false"
               : d->kind == KL_ALGO_PARAM_KIND_INT ? "an integer"
                                                   : "a number",
               v);
    return kl_err_ctx(err, "param %s", d->name);
}

/* Validate params; fill pv and (if canon is not NULL) canonical text per parameter. */
int kl__params_resolve(const kl_algo *algo, const kl_model_param *params, size_t n, double *pv,
                       char canon[][KL__PARAM_TEXT_MAX], kl_err *err)
{
    const char *names[KL_MODEL_MAX_PARAMS];
    KL_ASSERT(algo->n_params <= KL_MODEL_MAX_PARAMS);
    for (size_t i = 0; i < algo->n_params; i++)
        names[i] = algo->params[i].name;
    for (size_t q = 0; q < n; q++) {
        size_t i;
        for (i = 0; i < algo->n_params; i++)
            if (strcmp(params[q].key, names[i]) == 0)
                break;
        if (i == algo->n_params) {
            const char *s = kl_suggest(params[q].key, names, algo->n_params);
            if (s)
                kl_err_set(err, KL_EINVAL, "unknown parameter '%s' for %s; did you mean '%s'?",
                           params[q].key, algo->name, s);
            else
                kl_err_set(err, KL_EINVAL, "unknown parameter '%s' for %s", params[q].key,
                           algo->name);
            return kl_err_ctx(err, "param %s", params[q].key);
        }
        for (size_t r = 0; r < q; r++)
            if (strcmp(params[r].key, params[q].key) == 0) {
                kl_err_set(err, KL_EINVAL, "parameter '%s' given twice", params[q].key);
                return kl_err_ctx(err, "param %s", params[q].key);
            }
    }
    for (size_t i = 0; i < algo->n_params; i++) {
        const char *v = algo->params[i].def;
        for (size_t q = 0; q < n; q++)
            if (strcmp(params[q].key, names[i]) == 0)
                v = params[q].value ? params[q].value : "";
        char tmp[KL__PARAM_TEXT_MAX];
        double x = 0;
        int rc = param_parse(algo, &algo->params[i], v, &x, canon ? canon[i] : tmp,
                             KL__PARAM_TEXT_MAX, err);
        if (rc < 0)
            return rc;
        if (pv)
            pv[i] = x;
    }
    return 0;
}

int kl_model_params_check(const kl_algo *algo, const kl_model_param *params, size_t n, double *pv,
                          kl_err *err)
{
    return kl__params_resolve(algo, params, n, pv, NULL, err);
}

/* ---- model lifecycle ---- */

void kl_model_free(kl_model *m)
{
    if (!m)
        return;
    if (m->state)
        m->algo->free(m->state);
    kl_pipeline_free(m->pipe);
    free(m->target);
    for (size_t k = 0; k < m->n_classes; k++)
        free(m->classes[k]);
    free(m->classes);
    for (size_t i = 0; i < m->n_meta; i++) {
        free(m->meta_key[i]);
        free(m->meta_val[i]);
    }
    free(m->meta_key);
    free(m->meta_val);
    for (size_t i = 0; i < m->n_notes; i++)
        free(m->notes[i]);
    free(m->notes);
    free(m);
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int kl__model_note(kl_model *m, const char *text)
{
    char **a = realloc(m->notes, (m->n_notes + 1) * sizeof(char *));
    if (!a)
        return -1;
    m->notes = a;
    if (!(a[m->n_notes] = dupstr(text)))
        return -1;
    m->n_notes++;
    return 0;
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

#define MAX_CLASSES 10000

/*
 * Classes of the target over the kept rows (sorted as LabelEncoder does) and
 * each row's class index into y.
 */
static int classes_fit(kl_model *m, const kl_frame *f, size_t t, size_t row0, double *y,
                       kl_err *err)
{
    size_t n = kl_frame_row_count(f) - row0;
    enum kl_col_kind kind = kl_frame_col_kind(f, t);
    char buf[64];
    if (kind == KL_COL_KIND_CATEGORICAL) {
        size_t nd;
        const char *const *dict = kl_frame_col_dict(f, t, &nd);
        const int32_t *c = kl_frame_col_codes(f, t) + row0;
        uint8_t *used = calloc(nd + 1, 1);
        int32_t *rank = malloc((nd + 1) * sizeof(int32_t));
        const char **names = malloc((nd + 1) * sizeof(char *));
        if (!used || !rank || !names) {
            free(used);
            free(rank);
            free(names);
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++)
            used[c[i]] = 1;
        size_t K = 0;
        for (size_t k = 0; k < nd; k++)
            if (used[k])
                names[K++] = dict[k];
        qsort(names, K, sizeof(char *), cmp_strp);
        for (size_t k = 0; k < nd; k++)
            for (size_t q = 0; used[k] && q < K; q++)
                if (names[q] == dict[k])
                    rank[k] = (int32_t)q;
        m->classes = calloc(K ? K : 1, sizeof(char *));
        int bad = !m->classes;
        for (size_t q = 0; !bad && q < K; q++)
            bad = !(m->classes[q] = dupstr(names[q]));
        m->n_classes = K;
        for (size_t i = 0; !bad && i < n; i++)
            y[i] = rank[c[i]];
        free(used);
        free(rank);
        free(names);
        if (bad)
            return kl_err_set(err, KL_ENOMEM, "out of memory");
    } else if (kind == KL_COL_KIND_BOOL || kind == KL_COL_KIND_NUMERIC) {
        /* distinct values kept sorted as they are met: O(n log K), K small */
        double *v = malloc((MAX_CLASSES + 1) * sizeof(double));
        if (!v)
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        const uint8_t *b = kind == KL_COL_KIND_BOOL ? kl_frame_col_bool(f, t) + row0 : NULL;
        const double *x = kind == KL_COL_KIND_NUMERIC ? kl_frame_col_f64(f, t) + row0 : NULL;
        size_t K = 0;
        for (size_t i = 0; i < n && K <= MAX_CLASSES; i++) {
            double key = b ? b[i] : x[i];
            size_t lo = 0, hi = K;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (v[mid] < key)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < K && v[lo] == key)
                continue;
            memmove(v + lo + 1, v + lo, (K - lo) * sizeof(double));
            v[lo] = key;
            K++;
        }
        if (K > MAX_CLASSES) {
            free(v);
            return kl_err_set(err, KL_EINVAL,
                              "the target '%s' has more than %d distinct values; too many classes",
                              m->target, MAX_CLASSES);
        }
        m->classes = calloc(K ? K : 1, sizeof(char *));
        int bad = !m->classes;
        for (size_t q = 0; !bad && q < K; q++) {
            if (b)
                snprintf(buf, sizeof buf, "%s", v[q] ? "true" : "false");
            else
                kl__fmt_double(v[q], buf, sizeof buf);
            bad = !(m->classes[q] = dupstr(buf));
        }
        m->n_classes = K;
        for (size_t i = 0; !bad && i < n; i++) {
            double key = b ? b[i] : x[i];
            size_t lo = 0, hi = K;
            while (hi - lo > 1) {
                size_t mid = (lo + hi) / 2;
                if (v[mid] <= key)
                    lo = mid;
                else
                    hi = mid;
            }
            y[i] = (double)lo;
        }
        free(v);
        if (bad)
            return kl_err_set(err, KL_ENOMEM, "out of memory");
    } else {
        return kl_err_set(err, KL_EINVAL,
                          "the target '%s' is %s; a class label must be "
                          "categorical, bool or numeric",
                          m->target, kl_col_kind_name(kind));
    }
    if (m->n_classes < 2)
        return kl_err_set(err, KL_EINVAL,
                          "the target '%s' has %zu class%s; classification needs at least 2",
                          m->target, m->n_classes, m->n_classes == 1 ? "" : "es");
    return 0;
}

static int target_missing(const kl_frame *f, size_t t, size_t i)
{
    switch (kl_frame_col_kind(f, t)) {
    case KL_COL_KIND_NUMERIC:
        return isnan(kl_frame_col_f64(f, t)[i]);
    case KL_COL_KIND_CATEGORICAL:
        return kl_frame_col_codes(f, t)[i] < 0;
    case KL_COL_KIND_BOOL:
        return kl_frame_col_bool(f, t)[i] == KL_BOOL_MISSING;
    default:
        return 0;
    }
}

/* ---- fitting from blocks of rows ---- */

typedef struct blocks_ctx {
    const kl_pipeline *pipe;
    const kl_frame *f;
    size_t warmup;
    const double *yf;  /* numeric target, or NULL */
    const uint8_t *yb; /* bool target, or NULL */
    const char *target;
} blocks_ctx;

/* Missing or infinite values after the pipeline are an error naming the feature. */
static int check_finite(const kl_pipeline *pipe, const double *X, size_t n, size_t p, size_t ld,
                        size_t first_row, int nan_ok, kl_err *err)
{
    for (size_t j = 0; j < p; j++)
        for (size_t i = 0; i < n; i++)
            if (!isfinite(X[j * ld + i]) && !(nan_ok && isnan(X[j * ld + i])))
                return kl_err_set(err, KL_EINVAL,
                                  "feature '%s' is %s in row %zu after the pipeline; add an "
                                  "impute transform for it",
                                  kl_pipeline_output_name(pipe, j),
                                  isnan(X[j * ld + i]) ? "missing" : "infinite", first_row + i + 1);
    return 0;
}

static int blocks_get(const kl_model_blocks *b, size_t row0, size_t m, double *X, size_t ld,
                      double *y, kl_err *err)
{
    const blocks_ctx *c = b->ctx;
    size_t r = c->warmup + row0;
    int rc = kl_pipeline_transform_train(c->pipe, c->f, r, m, X, ld, err);
    if (rc == 0)
        rc = check_finite(c->pipe, X, m, b->p, ld, r, 0, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < m; i++) {
        y[i] = c->yf ? c->yf[r + i] : (double)c->yb[r + i];
        if (!isfinite(y[i]))
            return kl_err_set(err, KL_EINVAL, "the target '%s' is infinite in row %zu", c->target,
                              r + i + 1);
    }
    return 0;
}

static int fit_by_blocks(kl_model *m, const kl_frame *f, size_t t, uint64_t seed, kl_err *err)
{
    size_t p = kl_pipeline_n_outputs(m->pipe), w = kl_pipeline_warmup(m->pipe);
    const char **fnames = malloc((p ? p : 1) * sizeof(char *));
    if (!fnames)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    for (size_t j = 0; j < p; j++)
        fnames[j] = kl_pipeline_output_name(m->pipe, j);
    blocks_ctx c = {m->pipe, f, w, kl_frame_col_f64(f, t), kl_frame_col_bool(f, t), m->target};
    kl_model_blocks b = {.n = kl_frame_row_count(f) - w,
                         .p = p,
                         .feature_names = fnames,
                         .seed = seed,
                         .get = blocks_get,
                         .ctx = &c};
    int saved = openblas_get_num_threads();
    openblas_set_num_threads(1);
    int rc = m->algo->fit_blocks(&b, m->pv, &m->state, err);
    openblas_set_num_threads(saved);
    free(fnames);
    return rc;
}

/*
 * Target of validation row i as the fit sees it: the value (regression) or
 * the index of the training class (classification); NaN when missing. cls
 * maps the frame's dictionary codes (categorical target) to class indices.
 */
static double valid_target(const kl_model *m, const kl_frame *vf, size_t t, size_t i,
                           const double *cls, kl_err *err, int *bad)
{
    enum kl_col_kind kind = kl_frame_col_kind(vf, t);
    double v = NAN;
    char buf[64];
    if (kind == KL_COL_KIND_NUMERIC)
        v = kl_frame_col_f64(vf, t)[i];
    else if (kind == KL_COL_KIND_BOOL)
        v = kl_frame_col_bool(vf, t)[i] == KL_BOOL_MISSING ? NAN : kl_frame_col_bool(vf, t)[i];
    else if (kind == KL_COL_KIND_CATEGORICAL && m->task == KL_TASK_CLASSIFICATION) {
        int32_t c = kl_frame_col_codes(vf, t)[i];
        if (c < 0)
            return NAN;
        if (cls[c] >= 0)
            return cls[c];
        *bad = 1;
        kl_err_set(err, KL_EINVAL,
                   "label '%s' of '%s' in validation row %zu is not a training class",
                   kl_frame_col_dict(vf, t, NULL)[c], m->target, i + 1);
        return NAN;
    } else {
        *bad = 1;
        kl_err_set(err, KL_EINVAL, "the validation target '%s' is %s", m->target,
                   kl_col_kind_name(kind));
        return NAN;
    }
    if (isnan(v) || m->task != KL_TASK_CLASSIFICATION)
        return v;
    for (size_t k = 0; k < m->n_classes; k++) {
        if (kind == KL_COL_KIND_BOOL)
            snprintf(buf, sizeof buf, "%s", v ? "true" : "false");
        else
            kl__fmt_double(v, buf, sizeof buf);
        if (!strcmp(buf, m->classes[k]))
            return (double)k;
    }
    *bad = 1;
    kl_err_set(err, KL_EINVAL, "label '%s' of '%s' in validation row %zu is not a training class",
               buf, m->target, i + 1);
    return NAN;
}

/*
 * The validation matrix for a fit in rounds: vf through the fitted pipeline
 * (warm-up rows and rows with a missing target left out), column-major with
 * leading dimension *nv, and its targets.
 */
static int valid_matrix(const kl_model *m, const kl_frame *vf, int nan_ok, double **Xv, double **yv,
                        size_t *nv, kl_err *err)
{
    long tc = kl_frame_col_index(vf, m->target);
    if (tc < 0)
        return kl_err_set(err, KL_ENOTFOUND,
                          "no column named '%s' (the target) in the validation data", m->target);
    size_t t = (size_t)tc, n = kl_frame_row_count(vf), p = kl_pipeline_n_outputs(m->pipe);
    size_t w = KL_MIN(kl_pipeline_warmup(m->pipe), n), nd = 0;
    if (kl_frame_col_kind(vf, t) == KL_COL_KIND_CATEGORICAL)
        kl_frame_col_dict(vf, t, &nd);
    double *X = kl__big_alloc(KL_MAX(n * p, 1) * sizeof *X), *y = malloc((n ? n : 1) * sizeof *y);
    double *cls = malloc((nd ? nd : 1) * sizeof *cls);
    int rc = 0, bad = 0;
    if (!X || !y || !cls) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto fail;
    }
    if (nd) {
        const char *const *dict = kl_frame_col_dict(vf, t, NULL);
        for (size_t c = 0; c < nd; c++) {
            cls[c] = -1;
            for (size_t k = 0; k < m->n_classes; k++)
                if (!strcmp(dict[c], m->classes[k]))
                    cls[c] = (double)k;
        }
    }
    if ((rc = kl_pipeline_transform(m->pipe, vf, 0, n, X, n, err)) < 0)
        goto fail;
    size_t kept = 0;
    for (size_t i = w; i < n; i++) {
        double v = valid_target(m, vf, t, i, cls, err, &bad);
        if (bad) {
            rc = err ? err->code : KL_EINVAL;
            goto fail;
        }
        if (isnan(v))
            continue;
        if (!isfinite(v)) {
            rc = kl_err_set(err, KL_EINVAL, "the target '%s' is infinite in validation row %zu",
                            m->target, i + 1);
            goto fail;
        }
        for (size_t j = 0; j < p; j++)
            X[j * n + kept] = X[j * n + i];
        y[kept++] = v;
    }
    /* compact to leading dimension kept (columns move down, never over unread values) */
    for (size_t j = 1; j < p; j++)
        memmove(X + j * kept, X + j * n, kept * sizeof *X);
    if ((rc = check_finite(m->pipe, X, kept, p, kept, 0, nan_ok, err)) < 0)
        goto fail;
    if (kept == 0) {
        rc = kl_err_set(err, KL_EINVAL, "no validation row has a target '%s'", m->target);
        goto fail;
    }
    free(cls);
    *Xv = X;
    *yv = y;
    *nv = kept;
    return 0;
fail:
    free(X);
    free(y);
    free(cls);
    return rc;
}

int kl_model_fit(const kl_frame *train, const kl_model_fit_opts *opts, kl_model **out, kl_err *err)
{
    kl_model *m = NULL;
    kl_frame *kept = NULL;
    double *X = NULL, *y = NULL, *Xv = NULL, *yv = NULL;
    int rc = 0;
    *out = NULL;
    const kl_algo *algo = kl_algo_find(opts->algo);
    if (!algo) {
        const char *names[MAX_EXTRA + KL_ARRAY_LEN(builtin)];
        for (size_t i = 0; i < kl_algo_count(); i++)
            names[i] = kl_algo_at(i)->name;
        const char *s = opts->algo ? kl_suggest(opts->algo, names, kl_algo_count()) : NULL;
        if (s)
            return kl_err_set(err, KL_ENOTFOUND, "unknown algorithm '%s'; did you mean '%s'?",
                              opts->algo ? opts->algo : "", s);
        return kl_err_set(err, KL_ENOTFOUND, "unknown algorithm '%s'",
                          opts->algo ? opts->algo : "");
    }
    if (!(algo->tasks & (1u << opts->task)))
        return kl_err_set(err, KL_EUNSUPPORTED, "algorithm '%s' does not do %s", algo->name,
                          kl_task_name(opts->task));
    if (!opts->target)
        return kl_err_set(err, KL_EINVAL, "no target column given");
    long t = kl_frame_col_index(train, opts->target);
    if (t < 0)
        return kl_err_set(err, KL_ENOTFOUND, "no column named '%s' (the target)", opts->target);
    enum kl_col_kind tkind = kl_frame_col_kind(train, (size_t)t);
    if (opts->task != KL_TASK_CLASSIFICATION && tkind != KL_COL_KIND_NUMERIC &&
        tkind != KL_COL_KIND_BOOL)
        return kl_err_set(err, KL_EINVAL, "the target '%s' is %s; %s needs a numeric target",
                          opts->target, kl_col_kind_name(tkind), kl_task_name(opts->task));

    if (!(m = calloc(1, sizeof *m)) || !(m->target = dupstr(opts->target))) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    m->algo = algo;
    m->task = opts->task;
    if ((rc = kl__params_resolve(algo, opts->params, opts->n_params, m->pv, m->ptext, err)) < 0)
        goto done;
    if (kl_frame_schema_hash(train, m->schema) < 0) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }

    /* rows with a missing target are left out */
    size_t n_all = kl_frame_row_count(train), n_miss = 0;
    for (size_t i = 0; i < n_all; i++)
        n_miss += (size_t)target_missing(train, (size_t)t, i);
    const kl_frame *f = train;
    if (n_miss) {
        uint8_t *mask = malloc(n_all ? n_all : 1);
        if (!mask) {
            rc = kl_err_set(err, KL_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n_all; i++)
            mask[i] = !target_missing(train, (size_t)t, i);
        rc = kl_frame_filter(train, mask, &kept, err);
        free(mask);
        if (rc < 0)
            goto done;
        f = kept;
        char note[256];
        snprintf(note, sizeof note, "%zu row%s with a missing target '%s' left out", n_miss,
                 n_miss == 1 ? "" : "s", opts->target);
        if (kl__model_note(m, note) < 0) {
            rc = kl_err_set(err, KL_ENOMEM, "out of memory");
            goto done;
        }
    }

    kl_pipeline_opts po = {0};
    if (opts->pipeline)
        po = *opts->pipeline;
    else
        po.defaults = algo->pipeline_defaults;
    po.target = opts->target;
    if (!opts->pipeline)
        po.seed = opts->seed;
    if ((rc = kl_pipeline_fit(&po, f, &m->pipe, err)) < 0)
        goto done;
    for (size_t i = 0; i < kl_pipeline_note_count(m->pipe); i++)
        if (kl__model_note(m, kl_pipeline_note(m->pipe, i)) < 0) {
            rc = kl_err_set(err, KL_ENOMEM, "out of memory");
            goto done;
        }
    size_t n = kl_frame_row_count(f), p = kl_pipeline_n_outputs(m->pipe);
    size_t w = kl_pipeline_warmup(m->pipe);
    if (n <= w) {
        rc = kl_err_set(err, KL_EINVAL, "%zu training rows%s; need more than %zu", n,
                        n_miss ? " with a target" : "", w);
        goto done;
    }
    if (algo->fit_blocks && opts->task != KL_TASK_CLASSIFICATION) {
        rc = fit_by_blocks(m, f, (size_t)t, opts->seed, err);
        goto done;
    }
    X = kl__big_alloc(KL_MAX(n * p, 1) * sizeof(double));
    y = malloc(n * sizeof(double));
    if (!X || !y) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    int native = algo->pipeline_defaults == KL_PIPELINE_DEFAULTS_NATIVE;
    if ((rc = kl_pipeline_transform_train(m->pipe, f, 0, n, X, n, err)) < 0 ||
        (rc = check_finite(m->pipe, X + w, n - w, p, n, w, native, err)) < 0)
        goto done;
    size_t ne = n - w;
    if (opts->task == KL_TASK_CLASSIFICATION) {
        if ((rc = classes_fit(m, f, (size_t)t, w, y, err)) < 0)
            goto done;
    } else if (tkind == KL_COL_KIND_BOOL) {
        const uint8_t *b = kl_frame_col_bool(f, (size_t)t);
        for (size_t i = 0; i < ne; i++)
            y[i] = b[w + i];
    } else {
        memcpy(y, kl_frame_col_f64(f, (size_t)t) + w, ne * sizeof(double));
        for (size_t i = 0; i < ne; i++)
            if (!isfinite(y[i])) {
                rc = kl_err_set(err, KL_EINVAL, "the target '%s' is infinite in row %zu",
                                opts->target, w + i + 1);
                goto done;
            }
    }
    const char **fnames = malloc((p ? p : 1) * sizeof(char *));
    size_t *ncat = native ? calloc(p ? p : 1, sizeof *ncat) : NULL;
    if (!fnames || (native && !ncat)) {
        free(fnames);
        free(ncat);
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < p; j++) {
        fnames[j] = kl_pipeline_output_name(m->pipe, j);
        if (ncat)
            ncat[j] = kl_pipeline_output_categories(m->pipe, j);
    }
    const char *ptext[KL_MODEL_MAX_PARAMS];
    for (size_t i = 0; i < algo->n_params; i++)
        ptext[i] = m->ptext[i];
    kl_model_data d = {.X = X + w,
                       .n = ne,
                       .p = p,
                       .ld = n,
                       .y = y,
                       .n_classes = m->n_classes,
                       .feature_names = fnames,
                       .seed = opts->seed,
                       .n_categories = ncat,
                       .full_rounds = opts->full_rounds,
                       .param_text = ptext};
    if (opts->valid && (algo->flags & KL_ALGO_FLAGS_ROUNDS))
        rc = valid_matrix(m, opts->valid, native, &Xv, &yv, &d.nv, err);
    if (rc == 0 && Xv) {
        d.Xv = Xv;
        d.ldv = d.nv;
        d.yv = yv;
    }
    if (rc == 0) {
        int saved = openblas_get_num_threads();
        openblas_set_num_threads(1);
        rc = algo->fit(&d, m->pv, &m->state, err);
        openblas_set_num_threads(saved);
    }
    free(fnames);
    free(ncat);
done:
    free(Xv);
    free(yv);
    free(X);
    free(y);
    kl_frame_free(kept);
    if (rc < 0) {
        kl_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* ---- prediction ---- */

typedef struct pred_job {
    const kl_model *m;
    const kl_frame *f;
    size_t n, p, K;
    kl_model_pred *out;
    int *rc;
    kl_err *errs;
} pred_job;

static void pred_block(void *ctx, size_t task)
{
    pred_job *j = ctx;
    size_t r0 = task * KL_MODEL_BLOCK_ROWS, nb = KL_MIN(KL_MODEL_BLOCK_ROWS, j->n - r0);
    size_t K = j->K;
    double *buf = malloc((KL_MAX(nb * j->p, 1)) * sizeof(double));
    double *res = K ? j->out->proba + r0 * K : j->out->value + r0;
    if (!buf) {
        j->rc[task] = kl_err_set(&j->errs[task], KL_ENOMEM, "out of memory");
        return;
    }
    int rc = kl_pipeline_transform(j->m->pipe, j->f, r0, nb, buf, nb, &j->errs[task]);
    if (rc == 0)
        rc = j->m->algo->predict(j->m->state, buf, nb, nb, res, &j->errs[task]);
    free(buf);
    j->rc[task] = rc;
    if (rc < 0)
        return;
    size_t w = kl_pipeline_warmup(j->m->pipe);
    for (size_t i = 0; i < nb; i++) {
        size_t row = r0 + i;
        if (!K) {
            if (row < w)
                res[i] = NAN;
            continue;
        }
        double *pr = res + i * K;
        int32_t best = -1;
        if (row < w) {
            for (size_t k = 0; k < K; k++)
                pr[k] = NAN;
        } else {
            for (size_t k = 0; k < K; k++)
                if (!isnan(pr[k]) && (best < 0 || pr[k] > pr[best]))
                    best = (int32_t)k;
        }
        j->out->label[row] = best;
        if (K == 2)
            j->out->value[row] = pr[1];
    }
}

void kl_model_pred_release(kl_model_pred *p)
{
    if (!p)
        return;
    free(p->value);
    free(p->proba);
    free(p->label);
    memset(p, 0, sizeof *p);
}

int kl_model_predict(const kl_model *m, const kl_frame *f, kl_model_pred *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    size_t n = kl_frame_row_count(f), K = m->task == KL_TASK_CLASSIFICATION ? m->n_classes : 0;
    out->n_rows = n;
    out->n_classes = K;
    int fail = 0;
    if (!K || K == 2)
        fail |= !(out->value = malloc((n ? n : 1) * sizeof(double)));
    if (K) {
        fail |= !(out->proba = malloc((KL_MAX(n * K, 1)) * sizeof(double)));
        fail |= !(out->label = malloc((n ? n : 1) * sizeof(int32_t)));
    }
    size_t nt = kl_task_count(n, KL_MODEL_BLOCK_ROWS);
    int *rcs = calloc(nt ? nt : 1, sizeof(int));
    kl_err *errs = calloc(nt ? nt : 1, sizeof(kl_err));
    if (fail || !rcs || !errs) {
        free(rcs);
        free(errs);
        kl_model_pred_release(out);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    pred_job job = {m, f, n, kl_pipeline_n_outputs(m->pipe), K, out, rcs, errs};
    int saved = openblas_get_num_threads();
    openblas_set_num_threads(1);
    kl_parallel_for(nt, pred_block, &job);
    openblas_set_num_threads(saved);
    int rc = 0;
    for (size_t t = 0; t < nt && rc == 0; t++)
        if (rcs[t] < 0) {
            rc = rcs[t];
            if (err)
                *err = errs[t];
        }
    free(rcs);
    free(errs);
    if (rc < 0)
        kl_model_pred_release(out);
    return rc;
}

int kl_model_forecast(const kl_model *m, size_t h, const kl_frame *future, double level,
                      double *mean, double *lower, double *upper, kl_err *err)
{
    if (!m->algo->forecast)
        return kl_err_set(err, KL_EUNSUPPORTED, "algorithm '%s' does not forecast", m->algo->name);
    size_t p = kl_pipeline_n_outputs(m->pipe);
    double *x = NULL;
    if (future && p) {
        if (kl_frame_row_count(future) < h)
            return kl_err_set(err, KL_EINVAL, "%zu future rows for a horizon of %zu",
                              kl_frame_row_count(future), h);
        if (!(x = malloc(h * p * sizeof(double))))
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        int rc = kl_pipeline_transform(m->pipe, future, 0, h, x, h, err);
        if (rc < 0) {
            free(x);
            return rc;
        }
    }
    int saved = openblas_get_num_threads();
    openblas_set_num_threads(1);
    int rc = m->algo->forecast(m->state, h, x, h, level, mean, lower, upper, err);
    openblas_set_num_threads(saved);
    free(x);
    return rc;
}

/* ---- accessors ---- */

const kl_algo *kl_model_algo(const kl_model *m)
{
    return m->algo;
}
enum kl_task kl_model_task(const kl_model *m)
{
    return m->task;
}
const char *kl_model_target(const kl_model *m)
{
    return m->target;
}
const kl_pipeline *kl_model_pipeline(const kl_model *m)
{
    return m->pipe;
}
size_t kl_model_class_count(const kl_model *m)
{
    return m->n_classes;
}
const char *kl_model_class_name(const kl_model *m, size_t k)
{
    KL_ASSERT(k < m->n_classes);
    return m->classes[k];
}
const uint8_t *kl_model_schema_hash(const kl_model *m)
{
    return m->schema;
}
size_t kl_model_note_count(const kl_model *m)
{
    return m->n_notes;
}
const char *kl_model_note(const kl_model *m, size_t i)
{
    KL_ASSERT(i < m->n_notes);
    return m->notes[i];
}

const char *kl_model_param_value(const kl_model *m, const char *key)
{
    for (size_t i = 0; i < m->algo->n_params; i++)
        if (strcmp(m->algo->params[i].name, key) == 0)
            return m->ptext[i];
    return NULL;
}

int kl_model_set_meta(kl_model *m, const char *key, const char *value, kl_err *err)
{
    for (size_t i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta_key[i], key) == 0) {
            char *v = dupstr(value);
            if (!v)
                return kl_err_set(err, KL_ENOMEM, "out of memory");
            free(m->meta_val[i]);
            m->meta_val[i] = v;
            return 0;
        }
    /* kept sorted by key so the file is the same whatever the order of calls */
    char **k = realloc(m->meta_key, (m->n_meta + 1) * sizeof(char *));
    if (k)
        m->meta_key = k;
    char **v = realloc(m->meta_val, (m->n_meta + 1) * sizeof(char *));
    if (v)
        m->meta_val = v;
    char *dk = dupstr(key), *dv = dupstr(value);
    if (!k || !v || !dk || !dv) {
        free(dk);
        free(dv);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    size_t at = m->n_meta;
    while (at > 0 && strcmp(m->meta_key[at - 1], key) > 0) {
        m->meta_key[at] = m->meta_key[at - 1];
        m->meta_val[at] = m->meta_val[at - 1];
        at--;
    }
    m->meta_key[at] = dk;
    m->meta_val[at] = dv;
    m->n_meta++;
    return 0;
}

const char *kl_model_meta(const kl_model *m, const char *key)
{
    for (size_t i = 0; i < m->n_meta; i++)
        if (strcmp(m->meta_key[i], key) == 0)
            return m->meta_val[i];
    return NULL;
}

int kl_model_rounds_get(const kl_model *m, kl_model_rounds *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    if (!(m->algo->flags & KL_ALGO_FLAGS_ROUNDS) || !m->algo->rounds)
        return kl_err_set(err, KL_EUNSUPPORTED, "algorithm '%s' does not fit in rounds",
                          m->algo->name);
    return m->algo->rounds(m->state, out);
}

int kl_model_rounds_keep(kl_model *m, size_t n, kl_err *err)
{
    if (!(m->algo->flags & KL_ALGO_FLAGS_ROUNDS) || !m->algo->rounds_keep)
        return kl_err_set(err, KL_EUNSUPPORTED, "algorithm '%s' does not fit in rounds",
                          m->algo->name);
    return m->algo->rounds_keep(m->state, n, err);
}

int kl_model_linear_coef(const kl_model *m, size_t *n_outputs, size_t *n_features,
                         const double **intercept, const double **coef, kl_err *err)
{
    if (!m->algo->linear_coef)
        return kl_err_set(err, KL_EUNSUPPORTED, "algorithm '%s' is not linear", m->algo->name);
    return m->algo->linear_coef(m->state, n_outputs, n_features, intercept, coef);
}

struct json_t *kl_model_describe(const kl_model *m)
{
    json_t *o = json_object(), *params = json_object(), *meta = json_object();
    json_t *classes = json_array();
    if (!o || !params || !meta || !classes) {
        json_decref(o);
        json_decref(params);
        json_decref(meta);
        json_decref(classes);
        return NULL;
    }
    char hex[KL_SHA256_HEX_LEN + 1];
    kl_hex(m->schema, 32, hex);
    json_object_set_new(o, "algorithm", json_string(m->algo->name));
    json_object_set_new(o, "task", json_string(kl_task_name(m->task)));
    json_object_set_new(o, "target", json_string(m->target));
    for (size_t k = 0; k < m->n_classes; k++)
        json_array_append_new(classes, json_string(m->classes[k]));
    json_object_set_new(o, "classes", classes);
    for (size_t i = 0; i < m->algo->n_params; i++)
        json_object_set_new(params, m->algo->params[i].name, json_string(m->ptext[i]));
    json_object_set_new(o, "params", params);
    for (size_t i = 0; i < m->n_meta; i++)
        json_object_set_new(meta, m->meta_key[i], json_string(m->meta_val[i]));
    json_object_set_new(o, "meta", meta);
    json_object_set_new(o, "schema_hash", json_string(hex));
    json_t *pj = kl_pipeline_describe(m->pipe);
    if (pj)
        json_object_set_new(o, "pipeline", pj);
    if (m->algo->describe) {
        size_t p = kl_pipeline_n_outputs(m->pipe);
        const char **fn = malloc((p ? p : 1) * sizeof(char *));
        if (fn) {
            for (size_t j = 0; j < p; j++)
                fn[j] = kl_pipeline_output_name(m->pipe, j);
            m->algo->describe(m->state, fn, (const char *const *)m->classes, o);
            free(fn);
        }
    }
    return o;
}
