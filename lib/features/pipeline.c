/*
 * The feature pipeline: fitted on a training frame, saved inside the model,
 * applied unchanged to every frame the model predicts on.
 *
 * A pipeline is a list of groups. A group reads one input column, encodes it
 * into n_out raw outputs (the column itself, its one-hot indicators, its date
 * parts, its lags, ...) and then runs a chain of numeric steps (clip, log1p,
 * impute, standardize, minmax) over each output, each step holding one
 * fitted pair (a, b) per output. Missing-indicator columns, when an impute
 * step asks for them, follow the group's outputs. Groups are independent, so
 * transforming is one pass per group straight from the frame's column arrays
 * into the caller's column-major matrix, with no per-row allocation.
 *
 * Invariants: categories are stored sorted bytewise and distinct (lookups
 * bisect them); every step array has n_out entries; output names, input
 * names and warm-up are derived from the groups (never saved), so a loaded
 * pipeline cannot disagree with itself. Fitting a step sees the values the
 * earlier steps produced, on the training matrix as the model sees it
 * (target encoding out-of-fold), so a chain fits exactly as it transforms.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "keel/parallel.h"
#include "keel/pipeline.h"
#include "keel/rng.h"
#include "keel/suggest.h"

#include "core/common.h"

enum enc {
    ENC_NUMERIC = 0,
    ENC_BOOL = 1,
    ENC_ONEHOT = 2,
    ENC_FREQ = 3,
    ENC_TARGET = 4,
    ENC_DATE = 5,
    ENC_LAG = 6,
    ENC_DIFF = 7,
    ENC_ROLL = 8,
    ENC_CODE = 9, /* native: the category's index in the sorted categories, NaN when unseen */
    ENC_COUNT_ = 10,
};
static const char *const enc_names[] = {"numeric",   "bool",          "onehot",
                                        "frequency", "target_encode", "date_parts",
                                        "lag",       "diff",          "rolling",
                                        "code"};

enum step_op {
    STEP_CLIP = 0,
    STEP_LOG1P = 1,
    STEP_IMPUTE = 2,
    STEP_STANDARDIZE = 3,
    STEP_MINMAX = 4,
    STEP_COUNT_ = 5,
};
static const char *const step_names[] = {"clip", "log1p", "impute", "standardize", "minmax"};

enum { IMP_MEAN = 0, IMP_MEDIAN = 1, IMP_MOST_FREQUENT = 2, IMP_CONSTANT = 3, IMP_COUNT_ = 4 };
static const char *const imp_names[] = {"mean", "median", "most_frequent", "constant"};

static const char *const part_names[] = {"year", "month", "day", "weekday", "hour"};
static const char *const roll_names[] = {"mean", "std"};

/* Version 2 only adds encoding 9 (code); a pipeline without it is still written as 1. */
#define PIPE_FORMAT_VERSION 2u
#define MAX_NAME 65536
#define MAX_ITEMS 10000000u
#define MAX_LAG 100000000u

typedef struct step {
    uint32_t op, strategy, indicator;
    double *a,
        *b; /* n_out each: clip lo/hi, impute fill/-, standardize mean/std, minmax min/range */
} step;

typedef struct group {
    char *source;
    uint32_t kind; /* enum kl_col_kind the source must have */
    uint32_t enc;
    uint32_t n_out;
    uint32_t on_target; /* time ops on the target look only at the past */
    uint32_t win;       /* DIFF: periods; ROLL: window */
    uint32_t *ks;       /* DATE: part ids; LAG: lags; ROLL: stat ids; n_out of them */
    uint32_t n_ks;
    char **cats; /* ONEHOT/FREQ/TARGET: sorted, distinct */
    double *cat_val;
    uint32_t n_cats;
    double cat_default; /* FREQ: 0; TARGET: the target mean */
    uint32_t unknown_error;
    char *cat_fill; /* category put in place of a missing one, or NULL */
    step *steps;
    uint32_t n_steps;
    /* In memory only, for kl_pipeline_transform_train: out-of-fold encodings. */
    uint32_t n_folds;
    uint32_t *fold; /* fold of each training row */
    size_t n_fold_rows;
    double *oof;         /* n_folds x n_cats */
    double *oof_default; /* n_folds */
} group;

struct kl_pipeline {
    char *target;
    group *g;
    size_t n_groups;
    char **out_names;
    size_t n_out;
    char **inputs;
    size_t n_inputs;
    size_t warmup;
    char **notes;
    size_t n_notes;
};

/* ---- small helpers ---- */

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

static int add_str(char ***arr, size_t *n, char *s)
{
    if (!s)
        return -1;
    char **a = realloc(*arr, (*n + 1) * sizeof(char *));
    if (!a) {
        free(s);
        return -1;
    }
    a[(*n)++] = s;
    *arr = a;
    return 0;
}

static void free_strs(char **a, size_t n)
{
    for (size_t i = 0; a && i < n; i++)
        free(a[i]);
    free(a);
}

static int in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] && strcmp(list[i], name) == 0)
            return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Index of s in the sorted cats, or -1. */
static long cat_find(const group *g, const char *s)
{
    size_t lo = 0, hi = g->n_cats;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(g->cats[mid], s);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int parse_num(const char *s, double *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    double v = strtod(s, &end);
    if (*end || isnan(v))
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcmp(s, "yes") == 0)
        *out = 1;
    else if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0 || strcmp(s, "no") == 0)
        *out = 0;
    else
        return -1;
    return 0;
}

static void group_release(group *g)
{
    free(g->source);
    free(g->ks);
    free_strs(g->cats, g->n_cats);
    free(g->cat_val);
    free(g->cat_fill);
    for (uint32_t s = 0; g->steps && s < g->n_steps; s++) {
        free(g->steps[s].a);
        free(g->steps[s].b);
    }
    free(g->steps);
    free(g->fold);
    free(g->oof);
    free(g->oof_default);
    memset(g, 0, sizeof *g);
}

void kl_pipeline_free(kl_pipeline *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_groups; i++)
        group_release(&p->g[i]);
    free(p->g);
    free(p->target);
    free_strs(p->out_names, p->n_out);
    free_strs(p->inputs, p->n_inputs);
    free_strs(p->notes, p->n_notes);
    free(p);
}

static uint32_t group_width(const group *g)
{
    uint32_t w = g->n_out;
    for (uint32_t s = 0; s < g->n_steps; s++)
        if (g->steps[s].op == STEP_IMPUTE && g->steps[s].indicator)
            w += g->n_out;
    return w;
}

/* Output names, inputs and warm-up, all derived from the groups. */
static int derive(kl_pipeline *p)
{
    free_strs(p->out_names, p->n_out);
    free_strs(p->inputs, p->n_inputs);
    p->out_names = p->inputs = NULL;
    p->n_out = p->n_inputs = 0;
    p->warmup = 0;
    for (size_t i = 0; i < p->n_groups; i++) {
        const group *g = &p->g[i];
        if (!in_list(g->source, (const char *const *)p->inputs, p->n_inputs) &&
            add_str(&p->inputs, &p->n_inputs, xstrdup(g->source)) < 0)
            return -1;
        size_t first = p->n_out;
        for (uint32_t o = 0; o < g->n_out; o++) {
            char *nm = NULL;
            switch (g->enc) {
            case ENC_ONEHOT:
                nm = xprintf("%s=%s", g->source, g->cats[o]);
                break;
            case ENC_FREQ:
                nm = xprintf("%s__freq", g->source);
                break;
            case ENC_TARGET:
                nm = xprintf("%s__target", g->source);
                break;
            case ENC_CODE:
                nm = xstrdup(g->source);
                break;
            case ENC_DATE:
                nm = xprintf("%s__%s", g->source, part_names[g->ks[o]]);
                break;
            case ENC_LAG:
                nm = xprintf("%s__lag%u", g->source, g->ks[o]);
                break;
            case ENC_DIFF:
                nm = xprintf("%s__diff%u", g->source, g->win);
                break;
            case ENC_ROLL:
                nm = xprintf("%s__rolling_%s%u", g->source, roll_names[g->ks[o]], g->win);
                break;
            default:
                nm = xstrdup(g->source);
                break;
            }
            if (add_str(&p->out_names, &p->n_out, nm) < 0)
                return -1;
        }
        for (uint32_t s = 0; s < g->n_steps; s++) {
            if (g->steps[s].op != STEP_IMPUTE || !g->steps[s].indicator)
                continue;
            for (uint32_t o = 0; o < g->n_out; o++)
                if (add_str(&p->out_names, &p->n_out,
                            xprintf("%s__missing", p->out_names[first + o])) < 0)
                    return -1;
        }
        size_t w = 0;
        if (g->enc == ENC_LAG)
            for (uint32_t o = 0; o < g->n_ks; o++)
                w = KL_MAX(w, (size_t)g->ks[o]);
        if (g->enc == ENC_DIFF)
            w = (size_t)g->win + (g->on_target ? 1 : 0);
        if (g->enc == ENC_ROLL)
            w = g->win;
        p->warmup = KL_MAX(p->warmup, w);
    }
    return 0;
}

size_t kl_pipeline_n_outputs(const kl_pipeline *p)
{
    return p->n_out;
}
const char *kl_pipeline_output_name(const kl_pipeline *p, size_t j)
{
    KL_ASSERT(j < p->n_out);
    return p->out_names[j];
}
size_t kl_pipeline_output_categories(const kl_pipeline *p, size_t j)
{
    KL_ASSERT(j < p->n_out);
    size_t c = 0;
    for (size_t i = 0; i < p->n_groups; i++) {
        const group *g = &p->g[i];
        size_t w = group_width(g);
        if (j < c + w)
            return g->enc == ENC_CODE && j == c ? (size_t)KL_MAX(g->n_cats, 1u) : 0;
        c += w;
    }
    return 0;
}

size_t kl_pipeline_warmup(const kl_pipeline *p)
{
    return p->warmup;
}
size_t kl_pipeline_note_count(const kl_pipeline *p)
{
    return p->n_notes;
}
const char *kl_pipeline_note(const kl_pipeline *p, size_t i)
{
    KL_ASSERT(i < p->n_notes);
    return p->notes[i];
}
size_t kl_pipeline_n_inputs(const kl_pipeline *p)
{
    return p->n_inputs;
}
const char *kl_pipeline_input_name(const kl_pipeline *p, size_t i)
{
    KL_ASSERT(i < p->n_inputs);
    return p->inputs[i];
}

/* ---- date parts (proleptic Gregorian, UTC; Hinnant's civil_from_days) ---- */

static void civil(int64_t us, double parts[5])
{
    const int64_t day_us = 86400000000LL;
    int64_t days = us / day_us, rem = us % day_us;
    if (rem < 0) {
        rem += day_us;
        days--;
    }
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    parts[0] = (double)(y + (m <= 2));
    parts[1] = (double)m;
    parts[2] = (double)d;
    int64_t wd = (days + 3) % 7; /* 1970-01-01 was a Thursday: Monday is 0 */
    parts[3] = (double)(wd < 0 ? wd + 7 : wd);
    parts[4] = (double)(rem / 3600000000LL);
}

/* ---- extraction: one group's raw outputs for rows [row0, row0+n) ---- */

/* Target value used by target encoding: numeric, bool, or a two-class category. */
static int target_values(const kl_frame *f, const char *target, double *y, kl_err *err)
{
    long t = target ? kl_frame_col_index(f, target) : -1;
    if (t < 0)
        return kl_err_set(err, KL_EINVAL, "target_encode needs the target column '%s'",
                          target ? target : "");
    size_t n = kl_frame_row_count(f);
    switch (kl_frame_col_kind(f, (size_t)t)) {
    case KL_COL_KIND_NUMERIC:
        memcpy(y, kl_frame_col_f64(f, (size_t)t), n * sizeof(double));
        return 0;
    case KL_COL_KIND_BOOL: {
        const uint8_t *b = kl_frame_col_bool(f, (size_t)t);
        for (size_t i = 0; i < n; i++)
            y[i] = b[i] == KL_BOOL_MISSING ? NAN : b[i];
        return 0;
    }
    case KL_COL_KIND_CATEGORICAL: {
        size_t nd;
        const char *const *dict = kl_frame_col_dict(f, (size_t)t, &nd);
        const int32_t *c = kl_frame_col_codes(f, (size_t)t);
        /* the two classes present, sorted; the second is the positive one */
        const char *lo = NULL, *hi = NULL;
        for (size_t i = 0; i < n; i++) {
            if (c[i] < 0)
                continue;
            const char *s = dict[c[i]];
            if (!lo || strcmp(s, lo) == 0)
                lo = lo ? lo : s;
            else if (!hi || strcmp(s, hi) == 0)
                hi = hi ? hi : s;
            else
                return kl_err_set(err, KL_EUNSUPPORTED,
                                  "target_encode needs a numeric, bool or two-class target; "
                                  "'%s' has more than two classes",
                                  target);
        }
        if (lo && hi && strcmp(lo, hi) > 0) {
            const char *tmp = lo;
            lo = hi;
            hi = tmp;
        }
        for (size_t i = 0; i < n; i++)
            y[i] = c[i] < 0 ? NAN : (hi && strcmp(dict[c[i]], hi) == 0 ? 1.0 : 0.0);
        return 0;
    }
    default:
        return kl_err_set(err, KL_EUNSUPPORTED, "target_encode cannot use the %s target '%s'",
                          kl_col_kind_name(kl_frame_col_kind(f, (size_t)t)), target);
    }
}

/* Category index per frame dictionary code, computed lazily (-2 unknown yet, -1 unseen). */
static long code_to_cat(const group *g, const char *const *dict, int32_t *map, int32_t code)
{
    if (code < 0) {
        if (!g->cat_fill)
            return -1;
        return cat_find(g, g->cat_fill);
    }
    if (map[code] == -2)
        map[code] = (int32_t)cat_find(g, dict[code]);
    return map[code];
}

static double rolling(const double *x, size_t i, uint32_t w, uint32_t stat)
{
    double s = 0;
    for (size_t k = i - w; k < i; k++)
        s += x[k];
    double mean = s / w;
    if (stat == 0)
        return mean;
    if (w < 2)
        return NAN;
    double ss = 0;
    for (size_t k = i - w; k < i; k++)
        ss += (x[k] - mean) * (x[k] - mean);
    return sqrt(ss / (w - 1));
}

static int extract(const group *g, const kl_frame *f, size_t row0, size_t n, double *out, size_t ld,
                   int train, kl_err *err)
{
    long j = kl_frame_col_index(f, g->source);
    if (j < 0)
        return kl_err_set(err, KL_ENOTFOUND, "no column named '%s'", g->source);
    enum kl_col_kind kind = kl_frame_col_kind(f, (size_t)j);
    /* a 0/1 column may arrive as numbers or as bools (type inference differs on small files) */
    int as_bool = g->enc == ENC_NUMERIC && kind == KL_COL_KIND_BOOL;
    int as_num = g->enc == ENC_BOOL && kind == KL_COL_KIND_NUMERIC;
    if ((uint32_t)kind != g->kind && !as_bool && !as_num)
        return kl_err_set(err, KL_EINVAL, "column '%s' is %s; the pipeline expects %s", g->source,
                          kl_col_kind_name(kind), kl_col_kind_name((enum kl_col_kind)g->kind));
    switch (as_bool ? ENC_BOOL : as_num ? ENC_NUMERIC : g->enc) {
    case ENC_NUMERIC:
        memcpy(out, kl_frame_col_f64(f, (size_t)j) + row0, n * sizeof(double));
        break;
    case ENC_BOOL: {
        const uint8_t *b = kl_frame_col_bool(f, (size_t)j) + row0;
        for (size_t i = 0; i < n; i++)
            out[i] = b[i] == KL_BOOL_MISSING ? NAN : (double)b[i];
        break;
    }
    case ENC_ONEHOT:
    case ENC_FREQ:
    case ENC_CODE:
    case ENC_TARGET: {
        size_t nd;
        const char *const *dict = kl_frame_col_dict(f, (size_t)j, &nd);
        const int32_t *c = kl_frame_col_codes(f, (size_t)j) + row0;
        int32_t *map = malloc((nd ? nd : 1) * sizeof(int32_t));
        if (!map)
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        for (size_t k = 0; k < nd; k++)
            map[k] = -2;
        if (g->enc == ENC_ONEHOT)
            for (uint32_t o = 0; o < g->n_out; o++)
                memset(out + o * ld, 0, n * sizeof(double));
        for (size_t i = 0; i < n; i++) {
            long k = code_to_cat(g, dict, map, c[i]);
            if (k < 0 && c[i] >= 0 && g->unknown_error) {
                kl_err_set(err, KL_EINVAL, "unknown category '%s' in column '%s'", dict[c[i]],
                           g->source);
                kl_err_ctx(err, "row %zu", row0 + i + 1);
                free(map);
                return err ? err->code : KL_EINVAL;
            }
            if (g->enc == ENC_ONEHOT) {
                if (k >= 0)
                    out[(size_t)k * ld + i] = 1.0;
            } else if (g->enc == ENC_TARGET && train && g->fold) {
                uint32_t fo = g->fold[row0 + i];
                out[i] = k >= 0 ? g->oof[(size_t)fo * g->n_cats + (size_t)k] : g->oof_default[fo];
            } else {
                out[i] = k >= 0 ? g->cat_val[k] : g->cat_default;
            }
        }
        free(map);
        break;
    }
    case ENC_DATE: {
        const int64_t *t = kl_frame_col_time(f, (size_t)j) + row0;
        for (size_t i = 0; i < n; i++) {
            double parts[5];
            if (t[i] == KL_TIME_MISSING)
                for (int q = 0; q < 5; q++)
                    parts[q] = NAN;
            else
                civil(t[i], parts);
            for (uint32_t o = 0; o < g->n_out; o++)
                out[o * ld + i] = parts[g->ks[o]];
        }
        break;
    }
    case ENC_LAG:
    case ENC_DIFF:
    case ENC_ROLL: {
        const double *x = kl_frame_col_f64(f, (size_t)j);
        for (size_t i0 = 0; i0 < n; i0++) {
            size_t i = row0 + i0;
            for (uint32_t o = 0; o < g->n_out; o++) {
                double v = NAN;
                if (g->enc == ENC_LAG) {
                    if (i >= g->ks[o])
                        v = x[i - g->ks[o]];
                } else if (g->enc == ENC_DIFF) {
                    size_t e = g->on_target ? 1 : 0;
                    if (i >= g->win + e)
                        v = x[i - e] - x[i - e - g->win];
                } else if (i >= g->win) {
                    v = rolling(x, i, g->win, g->ks[o]);
                }
                out[o * ld + i0] = v;
            }
        }
        break;
    }
    default:
        KL_ASSERT(0);
    }
    return 0;
}

static void apply_step(const step *s, uint32_t n_out, double *out, double *ind, size_t n, size_t ld)
{
    for (uint32_t o = 0; o < n_out; o++) {
        double *x = out + o * ld, a = s->a[o], b = s->b[o];
        switch (s->op) {
        case STEP_CLIP:
            for (size_t i = 0; i < n; i++)
                if (!isnan(x[i]))
                    x[i] = x[i] < a ? a : (x[i] > b ? b : x[i]);
            break;
        case STEP_LOG1P:
            for (size_t i = 0; i < n; i++)
                x[i] = x[i] > -1.0 ? log1p(x[i]) : NAN;
            break;
        case STEP_IMPUTE:
            for (size_t i = 0; i < n; i++) {
                int miss = isnan(x[i]);
                if (ind)
                    ind[o * ld + i] = miss ? 1.0 : 0.0;
                if (miss)
                    x[i] = a;
            }
            break;
        default: /* STANDARDIZE, MINMAX: (x - a) / b */
            for (size_t i = 0; i < n; i++)
                x[i] = (x[i] - a) / b;
            break;
        }
    }
}

static int transform_group(const group *g, const kl_frame *f, size_t row0, size_t n, double *base,
                           size_t ld, int train, kl_err *err)
{
    int rc = extract(g, f, row0, n, base, ld, train, err);
    if (rc < 0)
        return rc;
    double *ind = base + (size_t)g->n_out * ld;
    for (uint32_t s = 0; s < g->n_steps; s++) {
        const step *st = &g->steps[s];
        apply_step(st, g->n_out, base, st->op == STEP_IMPUTE && st->indicator ? ind : NULL, n, ld);
        if (st->op == STEP_IMPUTE && st->indicator)
            ind += (size_t)g->n_out * ld;
    }
    return 0;
}

/* Whole training matrices are transformed one group per task, in parallel. */
typedef struct group_job {
    const kl_pipeline *p;
    const kl_frame *f;
    size_t row0, n, ld;
    double *out;
    const size_t *col;
    int train;
    int *rc;
    kl_err *errs;
} group_job;

static void group_task(void *ctx, size_t gi)
{
    group_job *j = ctx;
    j->rc[gi] = transform_group(&j->p->g[gi], j->f, j->row0, j->n, j->out + j->col[gi] * j->ld,
                                j->ld, j->train, &j->errs[gi]);
}

#define PARALLEL_MIN_ROWS 65536

static int transform_rows(const kl_pipeline *p, const kl_frame *f, size_t row0, size_t n,
                          double *out, size_t ld, int train, kl_err *err)
{
    if (row0 > kl_frame_row_count(f) || n > kl_frame_row_count(f) - row0 || ld < n)
        return kl_err_set(err, KL_ERANGE, "rows %zu..%zu are outside the frame (%zu rows)", row0,
                          row0 + n, kl_frame_row_count(f));
    size_t ng = p->n_groups;
    size_t *col = n >= PARALLEL_MIN_ROWS && ng > 1 ? malloc(ng * sizeof(size_t)) : NULL;
    int *rcs = col ? calloc(ng, sizeof(int)) : NULL;
    kl_err *errs = rcs ? calloc(ng, sizeof(kl_err)) : NULL;
    if (errs) {
        size_t c = 0;
        for (size_t gi = 0; gi < ng; gi++) {
            col[gi] = c;
            c += group_width(&p->g[gi]);
        }
        group_job job = {p, f, row0, n, ld, out, col, train, rcs, errs};
        kl_parallel_for(ng, group_task, &job);
        int rc = 0;
        for (size_t gi = 0; gi < ng && rc == 0; gi++)
            if ((rc = rcs[gi]) < 0 && err)
                *err = errs[gi];
        free(col);
        free(rcs);
        free(errs);
        return rc;
    }
    free(col);
    free(rcs);
    size_t c = 0;
    for (size_t gi = 0; gi < ng; gi++) {
        int rc = transform_group(&p->g[gi], f, row0, n, out + c * ld, ld, train, err);
        if (rc < 0)
            return rc;
        c += group_width(&p->g[gi]);
    }
    return 0;
}

int kl_pipeline_transform(const kl_pipeline *p, const kl_frame *f, size_t row0, size_t n,
                          double *out, size_t ld, kl_err *err)
{
    return transform_rows(p, f, row0, n, out, ld, 0, err);
}

int kl_pipeline_transform_train(const kl_pipeline *p, const kl_frame *f, size_t row0, size_t n,
                                double *out, size_t ld, kl_err *err)
{
    for (size_t gi = 0; gi < p->n_groups; gi++)
        if (p->g[gi].fold && p->g[gi].n_fold_rows != kl_frame_row_count(f))
            return kl_err_set(err, KL_EINVAL,
                              "the training matrix needs the frame the pipeline was fitted on");
    return transform_rows(p, f, row0, n, out, ld, 1, err);
}

/* ---- fitting ---- */

typedef struct fitctx {
    const kl_pipeline_opts *o;
    const kl_frame *f;
    size_t n;
    kl_pipeline *p;
    double *y;   /* target values for target encoding, loaded on first use */
    double *tmp; /* n doubles of scratch */
} fitctx;

static const char *tparam(const kl_spec_transform *t, const char *key)
{
    for (size_t i = 0; i < t->n_params; i++)
        if (strcmp(t->params[i].key, key) == 0)
            return t->params[i].value;
    return NULL;
}

static size_t tindex(const fitctx *c, const kl_spec_transform *t)
{
    return (size_t)(t - c->o->transforms);
}

static int terr(const fitctx *c, const kl_spec_transform *t, kl_err *err, int code, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));
static int terr(const fitctx *c, const kl_spec_transform *t, kl_err *err, int code, const char *fmt,
                ...)
{
    char msg[KL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kl_err_set(err, code, "%s", msg);
    if (t)
        kl_err_ctx(err, "features.transforms[%zu]", tindex(c, t));
    return code;
}

/* Unknown parameter keys are errors, with a suggestion. */
static int check_keys(const fitctx *c, const kl_spec_transform *t, const char *const *allowed,
                      size_t n_allowed, kl_err *err)
{
    for (size_t i = 0; i < t->n_params; i++) {
        if (in_list(t->params[i].key, allowed, n_allowed))
            continue;
        const char *s = kl_suggest(t->params[i].key, allowed, n_allowed);
        if (s)
            return terr(c, t, err, KL_EINVAL,
                        "unknown parameter '%s' for op %s; did you mean '%s'?", t->params[i].key,
                        kl_transform_op_name(t->op), s);
        return terr(c, t, err, KL_EINVAL, "unknown parameter '%s' for op %s", t->params[i].key,
                    kl_transform_op_name(t->op));
    }
    return 0;
}

static int op_keys(const fitctx *c, const kl_spec_transform *t, kl_err *err)
{
    static const char *const impute[] = {"strategy", "fill_value", "add_indicator"};
    static const char *const clip[] = {"min", "max"};
    static const char *const onehot[] = {"handle_unknown"};
    static const char *const te[] = {"smooth", "folds"};
    static const char *const dp[] = {"parts"};
    static const char *const lag[] = {"lags"};
    static const char *const diff[] = {"periods"};
    static const char *const roll[] = {"window", "stats"};
    switch (t->op) {
    case KL_TRANSFORM_OP_IMPUTE:
        return check_keys(c, t, impute, 3, err);
    case KL_TRANSFORM_OP_CLIP:
        return check_keys(c, t, clip, 2, err);
    case KL_TRANSFORM_OP_ONEHOT:
        return check_keys(c, t, onehot, 1, err);
    case KL_TRANSFORM_OP_TARGET_ENCODE:
        return check_keys(c, t, te, 2, err);
    case KL_TRANSFORM_OP_DATE_PARTS:
        return check_keys(c, t, dp, 1, err);
    case KL_TRANSFORM_OP_LAG:
        return check_keys(c, t, lag, 1, err);
    case KL_TRANSFORM_OP_DIFF:
        return check_keys(c, t, diff, 1, err);
    case KL_TRANSFORM_OP_ROLLING:
        return check_keys(c, t, roll, 2, err);
    default:
        return check_keys(c, t, NULL, 0, err);
    }
}

static int is_time_op(enum kl_transform_op op)
{
    return op == KL_TRANSFORM_OP_LAG || op == KL_TRANSFORM_OP_DIFF || op == KL_TRANSFORM_OP_ROLLING;
}

static int is_encoding_op(enum kl_transform_op op)
{
    return op == KL_TRANSFORM_OP_ONEHOT || op == KL_TRANSFORM_OP_FREQUENCY ||
           op == KL_TRANSFORM_OP_TARGET_ENCODE || op == KL_TRANSFORM_OP_DATE_PARTS;
}

static int names_column(const kl_spec_transform *t, const char *name)
{
    return in_list(name, t->columns, t->n_columns);
}

/* A positive integer parameter. */
static int uint_param(const fitctx *c, const kl_spec_transform *t, const char *key, uint32_t def,
                      uint32_t *out, kl_err *err)
{
    const char *v = tparam(t, key);
    double d;
    if (!v) {
        *out = def;
        return 0;
    }
    if (parse_num(v, &d) < 0 || d < 1 || d > MAX_LAG || d != floor(d))
        return terr(c, t, err, KL_EINVAL,
                    "parameter '%s' of op %s must be a positive integer, not '%s'", key,
                    kl_transform_op_name(t->op), v);
    *out = (uint32_t)d;
    return 0;
}

/* Comma list of words from names[] into ks (distinct, in the order given). */
static int word_list(const fitctx *c, const kl_spec_transform *t, const char *key, const char *v,
                     const char *const *names, uint32_t n_names, uint32_t *ks, uint32_t *n,
                     kl_err *err)
{
    *n = 0;
    const char *s = v;
    while (*s) {
        while (*s == ' ')
            s++;
        size_t len = strcspn(s, ", ");
        uint32_t k;
        for (k = 0; k < n_names; k++)
            if (strlen(names[k]) == len && strncmp(names[k], s, len) == 0)
                break;
        if (k == n_names || *n == n_names)
            return terr(c, t, err, KL_EINVAL, "parameter '%s' of op %s: cannot use '%.*s'", key,
                        kl_transform_op_name(t->op), (int)len, s);
        for (uint32_t q = 0; q < *n; q++)
            if (ks[q] == k)
                return terr(c, t, err, KL_EINVAL, "parameter '%s' of op %s names '%s' twice", key,
                            kl_transform_op_name(t->op), names[k]);
        ks[(*n)++] = k;
        s += len;
        while (*s == ' ' || *s == ',')
            s++;
    }
    if (*n == 0)
        return terr(c, t, err, KL_EINVAL, "parameter '%s' of op %s is empty", key,
                    kl_transform_op_name(t->op));
    return 0;
}

static int add_step(group *g, uint32_t op, uint32_t strategy, uint32_t indicator, double a,
                    double b)
{
    step *s = realloc(g->steps, (g->n_steps + 1) * sizeof(step));
    if (!s)
        return -1;
    g->steps = s;
    s = &g->steps[g->n_steps++];
    memset(s, 0, sizeof *s);
    s->op = op;
    s->strategy = strategy;
    s->indicator = indicator;
    /* a and b hold the parameters until fit_steps sizes them per output */
    s->a = malloc(sizeof(double));
    s->b = malloc(sizeof(double));
    if (!s->a || !s->b)
        return -1;
    s->a[0] = a;
    s->b[0] = b;
    return 0;
}

/* A numeric op from keel.yaml as a step of g. */
static int numeric_step(fitctx *c, group *g, const kl_spec_transform *t, kl_err *err)
{
    int rc = op_keys(c, t, err);
    if (rc < 0)
        return rc;
    uint32_t op, strategy = 0, indicator = 0;
    double a = 0, b = 0;
    switch (t->op) {
    case KL_TRANSFORM_OP_CLIP: {
        const char *lo = tparam(t, "min"), *hi = tparam(t, "max");
        a = -INFINITY;
        b = INFINITY;
        if ((lo && parse_num(lo, &a) < 0) || (hi && parse_num(hi, &b) < 0))
            return terr(c, t, err, KL_EINVAL, "clip bounds must be numbers");
        if (!lo && !hi)
            return terr(c, t, err, KL_EINVAL, "clip needs min or max");
        if (a > b)
            return terr(c, t, err, KL_EINVAL, "clip min %g is above max %g", a, b);
        op = STEP_CLIP;
        break;
    }
    case KL_TRANSFORM_OP_LOG1P:
        op = STEP_LOG1P;
        break;
    case KL_TRANSFORM_OP_STANDARDIZE:
        op = STEP_STANDARDIZE;
        break;
    case KL_TRANSFORM_OP_MINMAX:
        op = STEP_MINMAX;
        break;
    case KL_TRANSFORM_OP_IMPUTE: {
        const char *s = tparam(t, "strategy"), *fv = tparam(t, "fill_value"),
                   *ai = tparam(t, "add_indicator");
        strategy = IMP_MEDIAN;
        if (s) {
            for (strategy = 0; strategy < IMP_COUNT_; strategy++)
                if (strcmp(s, imp_names[strategy]) == 0)
                    break;
            if (strategy == IMP_COUNT_)
                return terr(
                    c, t, err, KL_EINVAL,
                    "impute strategy must be mean, median, most_frequent or constant, not '%s'", s);
        }
        if (strategy == IMP_CONSTANT && fv && parse_num(fv, &a) < 0)
            return terr(c, t, err, KL_EINVAL, "impute fill_value must be a number, not '%s'", fv);
        int bi = 0;
        if (ai && parse_bool(ai, &bi) < 0)
            return terr(c, t, err, KL_EINVAL, "add_indicator must be true or false, not '%s'", ai);
        indicator = (uint32_t)bi;
        op = STEP_IMPUTE;
        break;
    }
    default:
        KL_ASSERT(0);
    }
    if (add_step(g, op, strategy, indicator, a, b) < 0)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    return 0;
}

/* The k-th smallest of v[0..m) (reordering v): Hoare's selection, middle pivot. */
static double select_kth(double *v, size_t m, size_t k)
{
    size_t lo = 0, hi = m - 1;
    while (lo < hi) {
        double pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

/* An order-preserving key of a non-NaN double (-0.0 and 0.0 share one). */
static uint64_t order_key(double x)
{
    uint64_t u;
    if (x == 0)
        x = 0.0;
    memcpy(&u, &x, sizeof u);
    return (u >> 63) ? ~u : u | 0x8000000000000000ull;
}

#define RADIX_BITS 16
#define RADIX_SMALL 4096

/*
 * The k-th smallest of v[0..m) without reordering v, by radix selection on
 * order_key 16 bits at a time: a counting pass finds the bucket holding rank
 * k, that bucket's values are copied out and the next 16 bits decide among
 * them, and a few thousand values are left to Hoare's selection. Each pass
 * streams and its branches are predictable, where quickselect's are not
 * (the median of a million values was the largest cost of fitting a linear
 * model's pipeline). -1 when out of memory.
 */
static int select_kth_radix(const double *v, size_t m, size_t k, double *out)
{
    size_t *cnt = malloc(((size_t)1 << RADIX_BITS) * sizeof *cnt);
    double *w = NULL;
    const double *src = v;
    size_t len = m;
    int shift = 64 - RADIX_BITS, rc = 0;
    if (!cnt)
        return -1;
    for (;;) {
        if (len <= RADIX_SMALL || shift < 0) {
            if (src == v) { /* a copy to reorder (only when m itself is small) */
                double *c = malloc((len ? len : 1) * sizeof *c);
                if (!c) {
                    rc = -1;
                    break;
                }
                memcpy(c, src, len * sizeof *c);
                free(w);
                w = c;
            }
            *out = shift < 0 ? w[0] : select_kth(w, len, k);
            break;
        }
        memset(cnt, 0, ((size_t)1 << RADIX_BITS) * sizeof *cnt);
        for (size_t i = 0; i < len; i++)
            cnt[(order_key(src[i]) >> shift) & 0xffff]++;
        size_t b = 0, below = 0;
        while (below + cnt[b] <= k)
            below += cnt[b++];
        k -= below;
        if (!w && !(w = malloc((cnt[b] ? cnt[b] : 1) * sizeof *w))) {
            rc = -1;
            break;
        }
        size_t n2 = 0; /* filtering w into itself is safe: writes never pass reads */
        for (size_t i = 0; i < len; i++)
            if (((order_key(src[i]) >> shift) & 0xffff) == b)
                w[n2++] = src[i];
        src = w;
        len = n2;
        shift -= RADIX_BITS;
    }
    free(cnt);
    free(w);
    return rc;
}

/* numpy's median: the middle value, or the mean of the two middle values. O(m). */
static double median_select(double *v, size_t m)
{
    if (m > RADIX_SMALL) {
        double hi, lo;
        if (select_kth_radix(v, m, m / 2, &hi) == 0 &&
            (m % 2 || select_kth_radix(v, m, m / 2 - 1, &lo) == 0))
            return m % 2 ? hi : 0.5 * (lo + hi);
        /* out of memory for the buckets: select in place */
    }
    double hi = select_kth(v, m, m / 2);
    if (m % 2)
        return hi;
    double lo = v[0]; /* the largest of the lower half */
    for (size_t i = 1; i < m / 2; i++)
        lo = v[i] > lo ? v[i] : lo;
    return 0.5 * (lo + hi);
}

/* Fit each step on the training values in buf (n rows, ld n) and apply it. */
static int fit_steps(fitctx *c, group *g, double *buf, kl_err *err)
{
    size_t n = c->n;
    for (uint32_t si = 0; si < g->n_steps; si++) {
        step *s = &g->steps[si];
        double pa = s->a[0], pb = s->b[0];
        double *a = malloc((g->n_out ? g->n_out : 1) * sizeof(double));
        double *b = malloc((g->n_out ? g->n_out : 1) * sizeof(double));
        if (!a || !b) {
            free(a);
            free(b);
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        }
        free(s->a);
        free(s->b);
        s->a = a;
        s->b = b;
        int any_nan = 0;
        for (uint32_t o = 0; o < g->n_out; o++) {
            const double *x = buf + (size_t)o * n, *v = c->tmp;
            size_t m = 0;
            /* only the selections reorder their values: the others read the column in place
               when nothing is missing */
            int copy = s->op == STEP_IMPUTE && s->strategy != IMP_CONSTANT && s->strategy != IMP_MEAN;
            for (size_t i = 0; i < n && !copy; i++)
                if (isnan(x[i]))
                    copy = 1;
            if (copy) {
                for (size_t i = 0; i < n; i++)
                    if (!isnan(x[i]))
                        c->tmp[m++] = x[i];
            } else {
                v = x;
                m = n;
            }
            any_nan |= m < n;
            a[o] = pa;
            b[o] = pb;
            switch (s->op) {
            case STEP_LOG1P:
                for (size_t i = 0; i < m; i++)
                    if (v[i] <= -1.0)
                        return kl_err_set(err, KL_EINVAL,
                                          "log1p needs values above -1; column '%s' holds %g",
                                          g->source, v[i]);
                break;
            case STEP_IMPUTE:
                if (s->strategy == IMP_CONSTANT || m == 0)
                    break;
                if (s->strategy == IMP_MEAN) {
                    double sum = 0;
                    for (size_t i = 0; i < m; i++)
                        sum += v[i];
                    a[o] = sum / (double)m;
                } else if (s->strategy == IMP_MEDIAN) {
                    a[o] = median_select(c->tmp, m);
                } else {
                    qsort(c->tmp, m, sizeof(double), cmp_dbl);
                    { /* most frequent; ties go to the smallest value */
                        size_t best = 0, run = 0;
                        for (size_t i = 0; i < m; i++) {
                            run = (i > 0 && c->tmp[i] == c->tmp[i - 1]) ? run + 1 : 1;
                            if (run > best) {
                                best = run;
                                a[o] = c->tmp[i];
                            }
                        }
                    }
                }
                break;
            case STEP_STANDARDIZE:
            case STEP_MINMAX: {
                a[o] = 0;
                b[o] = 1;
                if (m == 0)
                    break;
                if (s->op == STEP_STANDARDIZE) {
                    double sum = 0, ss = 0;
                    for (size_t i = 0; i < m; i++)
                        sum += v[i];
                    double mean = sum / (double)m;
                    for (size_t i = 0; i < m; i++)
                        ss += (v[i] - mean) * (v[i] - mean);
                    double sd = sqrt(ss / (double)m);
                    a[o] = mean;
                    b[o] = sd > 0 && isfinite(sd) ? sd : 1.0;
                } else {
                    double lo = v[0], hi = v[0];
                    for (size_t i = 1; i < m; i++) {
                        lo = v[i] < lo ? v[i] : lo;
                        hi = v[i] > hi ? v[i] : hi;
                    }
                    a[o] = lo;
                    b[o] = hi > lo ? hi - lo : 1.0;
                }
                break;
            }
            default:
                break;
            }
        }
        /* imputing changes nothing when nothing is missing */
        if (s->op != STEP_IMPUTE || any_nan)
            apply_step(s, g->n_out, buf, NULL, n, n);
    }
    return 0;
}

/* Target-encoding statistics over rows whose fold is not skip (UINT32_MAX: all rows). */
static void te_stats(const double *y, const long *cat, const uint32_t *fold, uint32_t skip,
                     size_t n, uint32_t K, double smooth, double *val, double *dflt, double *work)
{
    double *cnt = work, *sum = work + K, *ssd = work + 2 * (size_t)K;
    memset(work, 0, 3 * (size_t)K * sizeof(double));
    double tot = 0, tsum = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(y[i]) && (!fold || fold[i] != skip)) {
            tot += 1;
            tsum += y[i];
        }
    double mean = tot > 0 ? tsum / tot : 0, var = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(y[i]) && (!fold || fold[i] != skip)) {
            var += (y[i] - mean) * (y[i] - mean);
            if (cat[i] >= 0) {
                cnt[cat[i]] += 1;
                sum[cat[i]] += y[i];
                ssd[cat[i]] += (y[i] - mean) * (y[i] - mean);
            }
        }
    var = tot > 0 ? var / tot : 0;
    for (uint32_t k = 0; k < K; k++) {
        if (cnt[k] == 0) {
            val[k] = mean;
        } else if (isnan(smooth)) { /* scikit-learn's smooth='auto' */
            double lambda = var * cnt[k] / (var * cnt[k] + ssd[k] / cnt[k]);
            val[k] = isnan(lambda) ? mean : lambda * (sum[k] / cnt[k]) + (1 - lambda) * mean;
        } else {
            val[k] = (sum[k] + smooth * mean) / (cnt[k] + smooth);
        }
    }
    *dflt = mean;
}

/* Categories, category fill and encoded values of an ONEHOT/FREQ/TARGET group. */
static int fit_categories(fitctx *c, group *g, long jcol, const kl_spec_transform *enc_t,
                          const kl_spec_transform *imp_t, kl_err *err)
{
    size_t j = (size_t)jcol, nd, n = c->n;
    const char *const *dict = kl_frame_col_dict(c->f, j, &nd);
    const int32_t *codes = kl_frame_col_codes(c->f, j);
    size_t *cnt = calloc(nd + 1, sizeof(size_t));
    if (!cnt)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    size_t missing = 0;
    for (size_t i = 0; i < n; i++) {
        if (codes[i] < 0)
            missing++;
        else
            cnt[codes[i]]++;
    }
    int rc = 0;
    if (imp_t) {
        const char *s = tparam(imp_t, "strategy");
        if (s && strcmp(s, "constant") == 0) {
            const char *fv = tparam(imp_t, "fill_value");
            g->cat_fill = xstrdup(fv ? fv : "missing");
        } else if (!s || strcmp(s, "most_frequent") == 0) {
            long best = -1;
            for (size_t k = 0; k < nd; k++)
                if (cnt[k] && (best < 0 || cnt[k] > cnt[best] ||
                               (cnt[k] == cnt[best] && strcmp(dict[k], dict[best]) < 0)))
                    best = (long)k;
            if (best >= 0)
                g->cat_fill = xstrdup(dict[best]);
        } else {
            free(cnt);
            return terr(c, imp_t, err, KL_EINVAL,
                        "impute strategy '%s' needs numbers; column '%s' is categorical (use "
                        "most_frequent or constant)",
                        s, g->source);
        }
        if (s && strcmp(s, "constant") == 0 && !g->cat_fill)
            rc = -1;
    }
    /* distinct categories seen, plus the fill when it stands in for missing values */
    size_t k_max = nd + 1;
    g->cats = calloc(k_max, sizeof(char *));
    if (!g->cats || rc < 0) {
        free(cnt);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < nd; k++)
        if (cnt[k] && !(g->cat_fill && strcmp(dict[k], g->cat_fill) == 0))
            if (!(g->cats[g->n_cats++] = xstrdup(dict[k])))
                rc = -1;
    int fill_seen = 0;
    for (size_t k = 0; g->cat_fill && k < nd; k++)
        if (cnt[k] && strcmp(dict[k], g->cat_fill) == 0)
            fill_seen = 1;
    if (g->cat_fill && (missing || fill_seen))
        if (!(g->cats[g->n_cats++] = xstrdup(g->cat_fill)))
            rc = -1;
    free(cnt);
    if (rc < 0)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    qsort(g->cats, g->n_cats, sizeof(char *), cmp_str);

    if (g->enc == ENC_ONEHOT) {
        const char *hu = tparam(enc_t ? enc_t : &(kl_spec_transform){0}, "handle_unknown");
        if (hu && strcmp(hu, "error") == 0)
            g->unknown_error = 1;
        else if (hu && strcmp(hu, "ignore") != 0)
            return terr(c, enc_t, err, KL_EINVAL,
                        "handle_unknown must be ignore or error, not '%s'", hu);
        g->n_out = g->n_cats;
        return 0;
    }
    g->n_out = 1;
    g->cat_val = calloc(g->n_cats ? g->n_cats : 1, sizeof(double));
    long *rowcat = malloc((n ? n : 1) * sizeof(long));
    int32_t *map = malloc((nd ? nd : 1) * sizeof(int32_t));
    if (!g->cat_val || !rowcat || !map) {
        free(rowcat);
        free(map);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < nd; k++)
        map[k] = -2;
    for (size_t i = 0; i < n; i++)
        rowcat[i] = code_to_cat(g, dict, map, codes[i]);
    free(map);
    if (g->enc == ENC_CODE) {
        for (uint32_t k = 0; k < g->n_cats; k++)
            g->cat_val[k] = (double)k;
        g->cat_default = NAN;
        free(rowcat);
        return 0;
    }
    if (g->enc == ENC_FREQ) {
        for (size_t i = 0; i < n; i++)
            if (rowcat[i] >= 0)
                g->cat_val[rowcat[i]] += 1;
        for (uint32_t k = 0; k < g->n_cats; k++)
            g->cat_val[k] /= (double)(n ? n : 1);
        g->cat_default = 0;
        free(rowcat);
        return 0;
    }
    /* target encoding */
    double smooth = NAN;
    const char *sm = tparam(enc_t, "smooth");
    if (sm && strcmp(sm, "auto") != 0 && (parse_num(sm, &smooth) < 0 || smooth < 0)) {
        free(rowcat);
        return terr(c, enc_t, err, KL_EINVAL, "smooth must be auto or a number >= 0, not '%s'", sm);
    }
    uint32_t folds;
    if ((rc = uint_param(c, enc_t, "folds", 5, &folds, err)) < 0 || folds < 2) {
        free(rowcat);
        return rc < 0 ? rc : terr(c, enc_t, err, KL_EINVAL, "folds must be at least 2");
    }
    if (!c->y) {
        c->y = malloc((n ? n : 1) * sizeof(double));
        if (!c->y) {
            free(rowcat);
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        }
        if ((rc = target_values(c->f, c->o->target, c->y, err)) < 0) {
            free(c->y);
            c->y = NULL;
            free(rowcat);
            if (enc_t)
                kl_err_ctx(err, "features.transforms[%zu]", tindex(c, enc_t));
            return rc;
        }
    }
    uint32_t K = g->n_cats;
    double *work = malloc(3 * (size_t)(K ? K : 1) * sizeof(double));
    uint32_t nf = (uint32_t)KL_MIN((size_t)folds, n);
    if (!work) {
        free(rowcat);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    te_stats(c->y, rowcat, NULL, UINT32_MAX, n, K, smooth, g->cat_val, &g->cat_default, work);
    if (nf >= 2) {
        size_t *idx = malloc(n * sizeof(size_t));
        g->fold = malloc(n * sizeof(uint32_t));
        g->oof = malloc((size_t)nf * (K ? K : 1) * sizeof(double));
        g->oof_default = malloc(nf * sizeof(double));
        if (!idx || !g->fold || !g->oof || !g->oof_default) {
            free(idx);
            free(work);
            free(rowcat);
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++)
            idx[i] = i;
        kl_rng r;
        kl_rng_init(&r, c->o->seed);
        kl_rng_shuffle_size(&r, idx, n);
        /* fold sizes as scikit-learn's KFold: the first n % k folds hold one more row */
        size_t pos = 0;
        for (uint32_t fo = 0; fo < nf; fo++) {
            size_t sz = n / nf + (fo < n % nf ? 1 : 0);
            for (size_t q = 0; q < sz; q++)
                g->fold[idx[pos++]] = fo;
        }
        free(idx);
        g->n_folds = nf;
        g->n_fold_rows = n;
        for (uint32_t fo = 0; fo < nf; fo++)
            te_stats(c->y, rowcat, g->fold, fo, n, K, smooth, g->oof + (size_t)fo * K,
                     &g->oof_default[fo], work);
    }
    free(work);
    free(rowcat);
    return 0;
}

/* The group for feature column j: its transforms, or the defaults. Returns 1 when dropped. */
static int build_group(fitctx *c, size_t j, group *g, kl_err *err)
{
    const char *name = kl_frame_col_name(c->f, j);
    enum kl_col_kind kind = kl_frame_col_kind(c->f, j);
    const kl_spec_transform *enc_t = NULL, *imp_cat = NULL;
    size_t n_listed = 0;
    int rc;
    memset(g, 0, sizeof *g);
    g->kind = (uint32_t)kind;
    if (!(g->source = xstrdup(name)))
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    for (size_t ti = 0; ti < c->o->n_transforms; ti++) {
        const kl_spec_transform *t = &c->o->transforms[ti];
        if (!names_column(t, name) || is_time_op(t->op))
            continue;
        n_listed++;
        if ((rc = op_keys(c, t, err)) < 0)
            return rc;
        if (is_encoding_op(t->op)) {
            if (enc_t)
                return terr(c, t, err, KL_EINVAL, "column '%s' has two encodings (%s and %s)", name,
                            kl_transform_op_name(enc_t->op), kl_transform_op_name(t->op));
            enc_t = t;
        }
    }
    if (enc_t) {
        int want_time = enc_t->op == KL_TRANSFORM_OP_DATE_PARTS;
        enum kl_col_kind need = want_time ? KL_COL_KIND_TIME : KL_COL_KIND_CATEGORICAL;
        if (kind != need)
            return terr(c, enc_t, err, KL_EINVAL, "op %s needs a %s column; '%s' is %s",
                        kl_transform_op_name(enc_t->op), kl_col_kind_name(need), name,
                        kl_col_kind_name(kind));
        g->enc = enc_t->op == KL_TRANSFORM_OP_ONEHOT      ? ENC_ONEHOT
                 : enc_t->op == KL_TRANSFORM_OP_FREQUENCY ? ENC_FREQ
                 : want_time                              ? ENC_DATE
                                                          : ENC_TARGET;
    } else {
        switch (kind) {
        case KL_COL_KIND_NUMERIC:
            g->enc = ENC_NUMERIC;
            break;
        case KL_COL_KIND_BOOL:
            g->enc = ENC_BOOL;
            break;
        case KL_COL_KIND_CATEGORICAL:
            g->enc = c->o->defaults == KL_PIPELINE_DEFAULTS_NATIVE ? ENC_CODE : ENC_ONEHOT;
            break;
        default:
            if (n_listed) {
                for (size_t ti = 0; ti < c->o->n_transforms; ti++)
                    if (names_column(&c->o->transforms[ti], name) &&
                        !is_time_op(c->o->transforms[ti].op))
                        return terr(c, &c->o->transforms[ti], err, KL_EINVAL,
                                    "op %s cannot apply to the %s column '%s'%s",
                                    kl_transform_op_name(c->o->transforms[ti].op),
                                    kl_col_kind_name(kind), name,
                                    kind == KL_COL_KIND_TIME ? " (use date_parts first)" : "");
            }
            if (add_str(&c->p->notes, &c->p->n_notes,
                        xprintf("column '%s' is %s: left out%s", name, kl_col_kind_name(kind),
                                kind == KL_COL_KIND_TIME ? " (op date_parts makes features of it)"
                                                         : "")) < 0)
                return kl_err_set(err, KL_ENOMEM, "out of memory");
            return 1;
        }
    }
    /* numeric steps, in the order listed */
    for (size_t ti = 0; ti < c->o->n_transforms; ti++) {
        const kl_spec_transform *t = &c->o->transforms[ti];
        if (!names_column(t, name) || is_time_op(t->op) || is_encoding_op(t->op))
            continue;
        if (kind == KL_COL_KIND_CATEGORICAL && t->op == KL_TRANSFORM_OP_IMPUTE) {
            imp_cat = t;
            continue;
        }
        if ((rc = numeric_step(c, g, t, err)) < 0)
            return rc;
    }
    if (n_listed == 0 && c->o->defaults != KL_PIPELINE_DEFAULTS_NATIVE) {
        int e = 0;
        if (kind == KL_COL_KIND_NUMERIC)
            e = add_step(g, STEP_IMPUTE, IMP_MEDIAN, 0, 0, 0) ||
                (c->o->defaults == KL_PIPELINE_DEFAULTS_LINEAR &&
                 add_step(g, STEP_STANDARDIZE, 0, 0, 0, 1));
        else if (kind == KL_COL_KIND_BOOL)
            e = add_step(g, STEP_IMPUTE, IMP_MOST_FREQUENT, 0, 0, 0);
        if (e)
            return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    /* encodings */
    if (g->enc == ENC_ONEHOT || g->enc == ENC_FREQ || g->enc == ENC_TARGET || g->enc == ENC_CODE) {
        if ((rc = fit_categories(c, g, (long)j, enc_t, imp_cat, err)) < 0)
            return rc;
    } else if (g->enc == ENC_DATE) {
        uint32_t ks[5], nk = 5;
        const char *parts = tparam(enc_t, "parts");
        for (uint32_t q = 0; q < 5; q++)
            ks[q] = q;
        if (parts && (rc = word_list(c, enc_t, "parts", parts, part_names, 5, ks, &nk, err)) < 0)
            return rc;
        g->ks = malloc(nk * sizeof(uint32_t));
        if (!g->ks)
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        memcpy(g->ks, ks, nk * sizeof(uint32_t));
        g->n_ks = g->n_out = nk;
    } else {
        g->n_out = 1;
    }
    return 0;
}

/* A lag, diff or rolling group for transform t on column j. */
static int build_time_group(fitctx *c, size_t j, const kl_spec_transform *t, group *g, kl_err *err)
{
    const char *name = kl_frame_col_name(c->f, j);
    int rc = op_keys(c, t, err);
    if (rc < 0)
        return rc;
    memset(g, 0, sizeof *g);
    if (kl_frame_col_kind(c->f, j) != KL_COL_KIND_NUMERIC)
        return terr(c, t, err, KL_EINVAL, "op %s needs a numeric column; '%s' is %s",
                    kl_transform_op_name(t->op), name,
                    kl_col_kind_name(kl_frame_col_kind(c->f, j)));
    g->kind = KL_COL_KIND_NUMERIC;
    g->on_target = c->o->target && strcmp(c->o->target, name) == 0;
    if (!(g->source = xstrdup(name)))
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    uint32_t ks[64], nk = 0;
    if (t->op == KL_TRANSFORM_OP_LAG) {
        g->enc = ENC_LAG;
        const char *v = tparam(t, "lags");
        double d;
        if (!v || (parse_num(v, &d) == 0)) {
            uint32_t nl;
            if ((rc = uint_param(c, t, "lags", 1, &nl, err)) < 0)
                return rc;
            if (nl > 64)
                return terr(c, t, err, KL_EINVAL, "at most 64 lags per transform, not %u", nl);
            for (uint32_t q = 0; q < nl; q++)
                ks[nk++] = q + 1;
        } else {
            const char *s = v;
            while (*s) {
                char *end;
                double x = strtod(s, &end);
                if (end == s || x < 1 || x > MAX_LAG || x != floor(x) || nk == 64)
                    return terr(
                        c, t, err, KL_EINVAL,
                        "lags must be a count or a list of up to 64 positive integers, not '%s'",
                        v);
                ks[nk++] = (uint32_t)x;
                s = end;
                while (*s == ' ' || *s == ',')
                    s++;
            }
        }
    } else if (t->op == KL_TRANSFORM_OP_DIFF) {
        g->enc = ENC_DIFF;
        if ((rc = uint_param(c, t, "periods", 1, &g->win, err)) < 0)
            return rc;
    } else {
        g->enc = ENC_ROLL;
        if (!tparam(t, "window"))
            return terr(c, t, err, KL_EINVAL, "rolling needs a window");
        if ((rc = uint_param(c, t, "window", 1, &g->win, err)) < 0)
            return rc;
        const char *st = tparam(t, "stats");
        ks[0] = 0;
        nk = 1;
        if (st && (rc = word_list(c, t, "stats", st, roll_names, 2, ks, &nk, err)) < 0)
            return rc;
    }
    if (nk) {
        g->ks = malloc(nk * sizeof(uint32_t));
        if (!g->ks)
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        memcpy(g->ks, ks, nk * sizeof(uint32_t));
    }
    g->n_ks = nk;
    g->n_out = g->enc == ENC_DIFF ? 1 : nk;
    return 0;
}

static int push_group(kl_pipeline *p, group *g)
{
    group *a = realloc(p->g, (p->n_groups + 1) * sizeof(group));
    if (!a)
        return -1;
    p->g = a;
    p->g[p->n_groups++] = *g;
    memset(g, 0, sizeof *g);
    return 0;
}

void kl_pipeline_opts_from_spec(const kl_spec *s, kl_pipeline_opts *o)
{
    memset(o, 0, sizeof *o);
    o->target = s->objective.target;
    o->include = s->features.include;
    o->n_include = s->features.n_include;
    o->exclude = s->features.exclude;
    o->n_exclude = s->features.n_exclude;
    o->protected_columns = s->constraints.protected_columns;
    o->n_protected = s->constraints.n_protected_columns;
    o->id_column = s->data.id_column;
    o->time_column = s->data.time_column;
    o->transforms = s->features.transforms;
    o->n_transforms = s->features.n_transforms;
    o->seed = s->train.seed;
}

int kl_pipeline_time_sort(const kl_pipeline_opts *opts, const kl_frame *f, kl_frame **out,
                          kl_err *err)
{
    *out = NULL;
    int timed = 0;
    for (size_t ti = 0; opts && ti < opts->n_transforms; ti++)
        timed |= is_time_op(opts->transforms[ti].op);
    if (!timed || !opts->time_column)
        return 0;
    long j = kl_frame_col_index(f, opts->time_column);
    if (j < 0) {
        kl_err_set(err, KL_ENOTFOUND, "no column '%s' to order the rows by", opts->time_column);
        return kl_err_ctx(err, "data.time_column");
    }
    size_t n = kl_frame_row_count(f);
    enum kl_col_kind kind = kl_frame_col_kind(f, (size_t)j);
    int sorted = 1;
    if (kind == KL_COL_KIND_TIME) {
        const int64_t *t = kl_frame_col_time(f, (size_t)j);
        for (size_t i = 1; i < n && sorted; i++) /* missing (INT64_MIN) belongs last */
            sorted = t[i] == KL_TIME_MISSING || (t[i - 1] != KL_TIME_MISSING && t[i - 1] <= t[i]);
    } else if (kind == KL_COL_KIND_NUMERIC) {
        const double *t = kl_frame_col_f64(f, (size_t)j);
        for (size_t i = 1; i < n && sorted; i++)
            sorted = isnan(t[i]) || (!isnan(t[i - 1]) && t[i - 1] <= t[i]);
    } else {
        kl_err_set(err, KL_EINVAL, "column '%s' is %s; the time column must be a date, a datetime "
                   "or a number", opts->time_column, kl_col_kind_name(kind));
        return kl_err_ctx(err, "data.time_column");
    }
    if (sorted)
        return 0;
    kl_sort_key key = {opts->time_column, 0};
    return kl_frame_sort(f, &key, 1, out, err);
}

static int check_opts(fitctx *c, kl_err *err)
{
    const kl_pipeline_opts *o = c->o;
    for (size_t ti = 0; ti < o->n_transforms; ti++) {
        const kl_spec_transform *t = &o->transforms[ti];
        for (size_t q = 0; q < t->n_columns; q++) {
            const char *col = t->columns[q];
            if (in_list(col, o->protected_columns, o->n_protected))
                return terr(c, t, err, KL_EINVAL,
                            "column '%s' is protected and cannot be a feature", col);
            if (kl_frame_col_index(c->f, col) < 0)
                return terr(c, t, err, KL_ENOTFOUND, "no column named '%s'", col);
            if (o->target && strcmp(col, o->target) == 0 && !is_time_op(t->op))
                return terr(c, t, err, KL_EINVAL,
                            "the target '%s' can only be used through lag, diff or rolling", col);
        }
    }
    for (size_t q = 0; q < o->n_include; q++) {
        if (in_list(o->include[q], o->protected_columns, o->n_protected)) {
            kl_err_set(err, KL_EINVAL, "column '%s' is protected and cannot be a feature",
                       o->include[q]);
            return kl_err_ctx(err, "features.include[%zu]", q);
        }
        if (kl_frame_col_index(c->f, o->include[q]) < 0) {
            kl_err_set(err, KL_ENOTFOUND, "no column named '%s'", o->include[q]);
            return kl_err_ctx(err, "features.include[%zu]", q);
        }
    }
    for (size_t q = 0; q < o->n_exclude; q++)
        if (kl_frame_col_index(c->f, o->exclude[q]) < 0) {
            kl_err_set(err, KL_ENOTFOUND, "no column named '%s'", o->exclude[q]);
            return kl_err_ctx(err, "features.exclude[%zu]", q);
        }
    return 0;
}

int kl_pipeline_fit(const kl_pipeline_opts *opts, const kl_frame *f, kl_pipeline **out, kl_err *err)
{
    static const kl_pipeline_opts none = {0};
    fitctx c = {.o = opts ? opts : &none, .f = f, .n = kl_frame_row_count(f)};
    group g = {0};
    double *buf = NULL;
    size_t buf_cap = 0;
    int rc = 0;
    *out = NULL;
    c.p = calloc(1, sizeof(kl_pipeline));
    c.tmp = malloc((c.n ? c.n : 1) * sizeof(double));
    if (!c.p || !c.tmp || !(c.p->target = xstrdup(c.o->target ? c.o->target : ""))) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = check_opts(&c, err)) < 0)
        goto done;
    for (size_t j = 0; j < kl_frame_col_count(f); j++) {
        const char *name = kl_frame_col_name(f, j);
        int is_target = c.o->target && strcmp(c.o->target, name) == 0;
        int use = !is_target;
        const char *why = NULL;
        if (use && c.o->id_column && strcmp(c.o->id_column, name) == 0)
            use = 0, why = "the id column";
        else if (use && in_list(name, c.o->exclude, c.o->n_exclude))
            use = 0;
        else if (use && in_list(name, c.o->protected_columns, c.o->n_protected))
            use = 0, why = "protected";
        else if (use && c.o->n_include && !in_list(name, c.o->include, c.o->n_include))
            use = 0;
        if (use && c.o->only_transforms) {
            use = 0;
            for (size_t ti = 0; ti < c.o->n_transforms; ti++)
                if (!is_time_op(c.o->transforms[ti].op) && names_column(&c.o->transforms[ti], name))
                    use = 1;
        }
        if (why && add_str(&c.p->notes, &c.p->n_notes,
                           xprintf("column '%s' is %s: left out", name, why)) < 0) {
            rc = kl_err_set(err, KL_ENOMEM, "out of memory");
            goto done;
        }
        if (use) {
            if ((rc = build_group(&c, j, &g, err)) < 0)
                goto done;
            if (rc == 1) {
                group_release(&g);
                rc = 0;
            } else {
                /* one scratch block for every group, grown when needed: fresh pages are
                   expensive, warm ones are not */
                size_t need = (c.n ? c.n : 1) * (g.n_out ? g.n_out : 1);
                if (need > buf_cap) {
                    free(buf);
                    if (!(buf = malloc(need * sizeof(double)))) {
                        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
                        goto done;
                    }
                    buf_cap = need;
                }
                if ((rc = extract(&g, f, 0, c.n, buf, c.n, 1, err)) < 0 ||
                    (rc = fit_steps(&c, &g, buf, err)) < 0)
                    goto done;
                if (push_group(c.p, &g) < 0) {
                    rc = kl_err_set(err, KL_ENOMEM, "out of memory");
                    goto done;
                }
            }
        }
        for (size_t ti = 0; ti < c.o->n_transforms; ti++) {
            const kl_spec_transform *t = &c.o->transforms[ti];
            if (!is_time_op(t->op) || !names_column(t, name))
                continue;
            if ((rc = build_time_group(&c, j, t, &g, err)) < 0)
                goto done;
            if (push_group(c.p, &g) < 0) {
                rc = kl_err_set(err, KL_ENOMEM, "out of memory");
                goto done;
            }
        }
    }
    if (derive(c.p) < 0)
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
done:
    group_release(&g);
    free(buf);
    free(c.tmp);
    free(c.y);
    if (rc < 0) {
        kl_pipeline_free(c.p);
        return rc;
    }
    *out = c.p;
    return 0;
}

/* ---- saving and loading (layout in docs/FORMATS.md, "Pipeline") ---- */

int kl_pipeline_save(const kl_pipeline *p, uint8_t **buf, size_t *len, kl_err *err)
{
    kl_wbuf w;
    kl_wbuf_init(&w);
    uint32_t ver = 1;
    for (size_t i = 0; i < p->n_groups; i++)
        if (p->g[i].enc == ENC_CODE)
            ver = PIPE_FORMAT_VERSION;
    kl_wbuf_u32(&w, ver);
    kl_wbuf_str(&w, p->target);
    kl_wbuf_u32(&w, (uint32_t)p->n_groups);
    for (size_t i = 0; i < p->n_groups; i++) {
        const group *g = &p->g[i];
        kl_wbuf_str(&w, g->source);
        kl_wbuf_u32(&w, g->kind);
        kl_wbuf_u32(&w, g->enc);
        kl_wbuf_u32(&w, g->n_out);
        kl_wbuf_u32(&w, g->on_target);
        kl_wbuf_u32(&w, g->win);
        kl_wbuf_u32(&w, g->n_ks);
        for (uint32_t q = 0; q < g->n_ks; q++)
            kl_wbuf_u32(&w, g->ks[q]);
        kl_wbuf_u32(&w, g->n_cats);
        for (uint32_t q = 0; q < g->n_cats; q++)
            kl_wbuf_str(&w, g->cats[q]);
        if (g->cat_val)
            kl_wbuf_f64s(&w, g->cat_val, g->n_cats);
        else
            for (uint32_t q = 0; q < g->n_cats; q++)
                kl_wbuf_f64(&w, 0.0);
        kl_wbuf_f64(&w, g->cat_default);
        kl_wbuf_u32(&w, g->unknown_error);
        kl_wbuf_u8(&w, g->cat_fill ? 1 : 0);
        if (g->cat_fill)
            kl_wbuf_str(&w, g->cat_fill);
        kl_wbuf_u32(&w, g->n_steps);
        for (uint32_t s = 0; s < g->n_steps; s++) {
            const step *st = &g->steps[s];
            kl_wbuf_u32(&w, st->op);
            kl_wbuf_u32(&w, st->strategy);
            kl_wbuf_u32(&w, st->indicator);
            kl_wbuf_f64s(&w, st->a, g->n_out);
            kl_wbuf_f64s(&w, st->b, g->n_out);
        }
    }
    kl_wbuf_u32(&w, (uint32_t)p->n_notes);
    for (size_t i = 0; i < p->n_notes; i++)
        kl_wbuf_str(&w, p->notes[i]);
    if (!w.ok) {
        kl_wbuf_release(&w);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    *buf = w.data;
    *len = w.len;
    return 0;
}

static int corrupt(kl_err *err, const char *what)
{
    return kl_err_set(err, KL_ECORRUPT, "model file pipeline is corrupt: %s", what);
}

/* The kinds and output counts each encoding allows. */
static const char *group_invalid(const group *g)
{
    if (g->kind > KL_COL_KIND_TIME || g->enc >= ENC_COUNT_)
        return "unknown column kind or encoding";
    uint32_t need_kind = g->enc == ENC_BOOL ? KL_COL_KIND_BOOL
                         : g->enc == ENC_ONEHOT || g->enc == ENC_FREQ || g->enc == ENC_TARGET ||
                                   g->enc == ENC_CODE
                             ? KL_COL_KIND_CATEGORICAL
                         : g->enc == ENC_DATE ? KL_COL_KIND_TIME
                                              : KL_COL_KIND_NUMERIC;
    if (g->kind != need_kind)
        return "encoding does not fit the column kind";
    uint32_t want = g->enc == ENC_ONEHOT                                            ? g->n_cats
                    : g->enc == ENC_DATE || g->enc == ENC_LAG || g->enc == ENC_ROLL ? g->n_ks
                                                                                    : 1;
    if (g->n_out != want)
        return "output count does not fit the encoding";
    if (g->on_target > 1 || g->unknown_error > 1)
        return "bad flag";
    if ((g->enc == ENC_DIFF || g->enc == ENC_ROLL) && (g->win < 1 || g->win > MAX_LAG))
        return "bad window";
    for (uint32_t q = 0; q < g->n_ks; q++) {
        uint32_t k = g->ks[q];
        if ((g->enc == ENC_DATE && k >= 5) || (g->enc == ENC_ROLL && k >= 2) ||
            (g->enc == ENC_LAG && (k < 1 || k > MAX_LAG)) ||
            (g->enc != ENC_DATE && g->enc != ENC_ROLL && g->enc != ENC_LAG))
            return "bad lag, part or statistic";
    }
    for (uint32_t q = 1; q < g->n_cats; q++)
        if (strcmp(g->cats[q - 1], g->cats[q]) >= 0)
            return "categories not sorted and distinct";
    for (uint32_t s = 0; s < g->n_steps; s++) {
        const step *st = &g->steps[s];
        if (st->op >= STEP_COUNT_ || st->strategy >= IMP_COUNT_ || st->indicator > 1 ||
            (st->indicator && st->op != STEP_IMPUTE))
            return "bad step";
    }
    return NULL;
}

int kl_pipeline_load(const uint8_t *buf, size_t len, kl_pipeline **out, kl_err *err)
{
    kl_rbuf r;
    kl_rbuf_init(&r, buf, len);
    *out = NULL;
    kl_pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    int rc = 0;
    uint32_t ver = kl_rbuf_u32(&r);
    if (r.ok && (ver < 1 || ver > PIPE_FORMAT_VERSION)) {
        rc = kl_err_set(err, ver > PIPE_FORMAT_VERSION ? KL_EUNSUPPORTED : KL_ECORRUPT,
                        "pipeline format version %u is not %u", ver, PIPE_FORMAT_VERSION);
        goto done;
    }
    p->target = kl_rbuf_str(&r, MAX_NAME);
    uint32_t ng = kl_rbuf_count(&r, MAX_ITEMS, 40);
    if (r.ok && !(p->g = calloc(ng ? ng : 1, sizeof(group)))) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    for (uint32_t i = 0; r.ok && i < ng; i++) {
        group *g = &p->g[i];
        p->n_groups = i + 1;
        g->source = kl_rbuf_str(&r, MAX_NAME);
        g->kind = kl_rbuf_u32(&r);
        g->enc = kl_rbuf_u32(&r);
        g->n_out = kl_rbuf_u32(&r);
        g->on_target = kl_rbuf_u32(&r);
        g->win = kl_rbuf_u32(&r);
        g->n_ks = kl_rbuf_count(&r, 64, 4);
        if (r.ok && g->n_ks && (g->ks = malloc(g->n_ks * sizeof(uint32_t))))
            for (uint32_t q = 0; q < g->n_ks; q++)
                g->ks[q] = kl_rbuf_u32(&r);
        else if (g->n_ks)
            r.ok = 0;
        uint32_t nc = kl_rbuf_count(&r, MAX_ITEMS, 12);
        if (r.ok && nc) {
            g->cats = calloc(nc, sizeof(char *));
            g->cat_val = malloc(nc * sizeof(double));
            if (!g->cats || !g->cat_val) {
                rc = kl_err_set(err, KL_ENOMEM, "out of memory");
                goto done;
            }
            for (uint32_t q = 0; r.ok && q < nc; q++) {
                g->cats[q] = kl_rbuf_str(&r, MAX_NAME);
                g->n_cats = q + 1;
            }
            kl_rbuf_f64s(&r, g->cat_val, nc);
        }
        g->cat_default = kl_rbuf_f64(&r);
        g->unknown_error = kl_rbuf_u32(&r);
        uint8_t has_fill = kl_rbuf_u8(&r);
        if (has_fill > 1)
            r.ok = 0;
        if (has_fill)
            g->cat_fill = kl_rbuf_str(&r, MAX_NAME);
        uint32_t ns = kl_rbuf_count(&r, 64, 12);
        if (r.ok && ns && !(g->steps = calloc(ns, sizeof(step)))) {
            rc = kl_err_set(err, KL_ENOMEM, "out of memory");
            goto done;
        }
        for (uint32_t s = 0; r.ok && s < ns; s++) {
            step *st = &g->steps[s];
            g->n_steps = s + 1;
            st->op = kl_rbuf_u32(&r);
            st->strategy = kl_rbuf_u32(&r);
            st->indicator = kl_rbuf_u32(&r);
            if (r.ok && g->n_out > (r.len - r.pos) / 16) {
                r.ok = 0;
                break;
            }
            st->a = malloc((g->n_out ? g->n_out : 1) * sizeof(double));
            st->b = malloc((g->n_out ? g->n_out : 1) * sizeof(double));
            if (!st->a || !st->b) {
                rc = kl_err_set(err, KL_ENOMEM, "out of memory");
                goto done;
            }
            kl_rbuf_f64s(&r, st->a, g->n_out);
            kl_rbuf_f64s(&r, st->b, g->n_out);
        }
        const char *bad = r.ok ? group_invalid(g) : NULL;
        if (bad) {
            rc = corrupt(err, bad);
            goto done;
        }
    }
    uint32_t nn = kl_rbuf_count(&r, MAX_ITEMS, 4);
    for (uint32_t i = 0; r.ok && i < nn; i++)
        if (add_str(&p->notes, &p->n_notes, kl_rbuf_str(&r, MAX_NAME)) < 0)
            r.ok = 0;
    if (!kl_rbuf_done(&r)) {
        rc = corrupt(err, r.ok ? "trailing bytes" : "truncated or malformed");
        goto done;
    }
    if (derive(p) < 0)
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
done:
    if (rc < 0) {
        kl_pipeline_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* ---- describe ---- */

static json_t *num_array(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, isfinite(v[i]) ? json_real(v[i]) : json_null());
    return a;
}

struct json_t *kl_pipeline_describe(const kl_pipeline *p)
{
    json_t *o = json_object(), *steps = json_array(), *outs = json_array(), *notes = json_array();
    if (!o || !steps || !outs || !notes) {
        json_decref(o);
        json_decref(steps);
        json_decref(outs);
        json_decref(notes);
        return NULL;
    }
    for (size_t i = 0; i < p->n_groups; i++) {
        const group *g = &p->g[i];
        json_t *s = json_object();
        json_object_set_new(s, "column", json_string(g->source));
        json_object_set_new(s, "encoding", json_string(enc_names[g->enc]));
        if (g->n_cats) {
            json_t *cats = json_array();
            for (uint32_t q = 0; q < g->n_cats; q++)
                json_array_append_new(cats, json_string(g->cats[q]));
            json_object_set_new(s, "categories", cats);
            if (g->enc != ENC_ONEHOT)
                json_object_set_new(s, "values", num_array(g->cat_val, g->n_cats));
        }
        if (g->cat_fill)
            json_object_set_new(s, "missing_category", json_string(g->cat_fill));
        if (g->enc == ENC_LAG) {
            json_t *l = json_array();
            for (uint32_t q = 0; q < g->n_ks; q++)
                json_array_append_new(l, json_integer(g->ks[q]));
            json_object_set_new(s, "lags", l);
        }
        if (g->enc == ENC_DIFF || g->enc == ENC_ROLL)
            json_object_set_new(s, g->enc == ENC_DIFF ? "periods" : "window", json_integer(g->win));
        json_t *chain = json_array();
        for (uint32_t q = 0; q < g->n_steps; q++) {
            const step *st = &g->steps[q];
            json_t *e = json_object();
            json_object_set_new(e, "op", json_string(step_names[st->op]));
            if (st->op == STEP_IMPUTE) {
                json_object_set_new(e, "strategy", json_string(imp_names[st->strategy]));
                json_object_set_new(e, "fill", num_array(st->a, g->n_out));
                json_object_set_new(e, "add_indicator", json_boolean(st->indicator));
            } else if (st->op == STEP_STANDARDIZE) {
                json_object_set_new(e, "mean", num_array(st->a, g->n_out));
                json_object_set_new(e, "scale", num_array(st->b, g->n_out));
            } else if (st->op == STEP_MINMAX) {
                json_object_set_new(e, "min", num_array(st->a, g->n_out));
                json_object_set_new(e, "range", num_array(st->b, g->n_out));
            } else if (st->op == STEP_CLIP) {
                json_object_set_new(e, "min", num_array(st->a, g->n_out));
                json_object_set_new(e, "max", num_array(st->b, g->n_out));
            }
            json_array_append_new(chain, e);
        }
        json_object_set_new(s, "steps", chain);
        json_array_append_new(steps, s);
    }
    for (size_t j = 0; j < p->n_out; j++)
        json_array_append_new(outs, json_string(p->out_names[j]));
    for (size_t j = 0; j < p->n_notes; j++)
        json_array_append_new(notes, json_string(p->notes[j]));
    json_object_set_new(o, "groups", steps);
    json_object_set_new(o, "outputs", outs);
    json_object_set_new(o, "warmup", json_integer((json_int_t)p->warmup));
    json_object_set_new(o, "notes", notes);
    return o;
}
