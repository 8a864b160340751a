/*
 * Validation splits with scikit-learn 1.2.1's sizes and allocation rules
 * (see keel/split.h for each method), drawn from kl_rng.
 *
 * Every partitioning method first decides one thing per row: its test fold
 * (fold_of[row]), or for a holdout whether it tests. The fold arrays are then
 * filled by one ascending sweep over the rows, so indices come out sorted
 * without a sort, and the methods differ only in how they assign rows. The
 * time-series windows are ranges and are written directly. All index arrays
 * of a split share one allocation owned by the kl_split.
 *
 * Randomness is one kl_rng seeded once per split and consumed in a fixed
 * order (row shuffles, then per-class shuffles in class order), so a split is
 * a pure function of its inputs and seed; nothing runs in parallel.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "keel/err.h"
#include "keel/hash.h"
#include "keel/rng.h"
#include "keel/split.h"
#include "train/metrics_internal.h"
#include "core/common.h"

static const char *const method_names[] = {
    "holdout",          "holdout_stratified", "holdout_time", "kfold",
    "stratified_kfold", "group_kfold",        "time_series",
};

const char *kl_split_method_name(enum kl_split_method m)
{
    return (unsigned)m < KL_ARRAY_LEN(method_names) ? method_names[m] : "unknown";
}

static int fail(kl_err *err, enum kl_split_method m, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(kl_err *err, enum kl_split_method m, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return kl_err_ctx(err, "split %s", kl_split_method_name(m));
}

/* ---- building the result ---- */

/* A split with n_folds folds and room for pool indices, all in one block. */
static kl_split *split_alloc(size_t n_folds, size_t pool)
{
    size_t head = sizeof(kl_split) + n_folds * sizeof(kl_fold);
    head = (head + sizeof(size_t) - 1) / sizeof(size_t) * sizeof(size_t);
    if (pool > (SIZE_MAX - head) / sizeof(size_t))
        return NULL;
    kl_split *s = calloc(1, head + pool * sizeof(size_t));
    if (s) {
        s->folds = (kl_fold *)(s + 1);
        s->n_folds = n_folds;
    }
    return s;
}

static size_t *split_pool(kl_split *s)
{
    size_t head = sizeof(kl_split) + s->n_folds * sizeof(kl_fold);
    head = (head + sizeof(size_t) - 1) / sizeof(size_t) * sizeof(size_t);
    return (size_t *)((char *)s + head);
}

/* Folds from fold_of[row] in [0, k) (row tests in that fold, trains in the others). */
static kl_split *split_from_assignment(const size_t *fold_of, size_t n, size_t k)
{
    if (k > SIZE_MAX / n)
        return NULL;
    kl_split *s = split_alloc(k, k * n);
    if (!s)
        return NULL;
    size_t *test_count = calloc(k, sizeof *test_count);
    if (!test_count) {
        free(s);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        test_count[fold_of[i]]++;
    size_t *at = split_pool(s);
    for (size_t f = 0; f < k; f++) {
        s->folds[f].test = at;
        s->folds[f].train = at + test_count[f];
        at += n;
    }
    for (size_t i = 0; i < n; i++) {
        size_t f = fold_of[i];
        for (size_t g = 0; g < k; g++) {
            kl_fold *fd = &s->folds[g];
            if (g == f)
                ((size_t *)fd->test)[fd->n_test++] = i;
            else
                ((size_t *)fd->train)[fd->n_train++] = i;
        }
    }
    free(test_count);
    return s;
}

static void hash_u64(kl_sha256_ctx *h, uint8_t *buf, size_t *len, uint64_t v)
{
    for (int b = 0; b < 8; b++)
        buf[(*len)++] = (uint8_t)(v >> (8 * b));
    if (*len == 4096) {
        kl_sha256_update(h, buf, *len);
        *len = 0;
    }
}

static int split_hash(kl_split *s)
{
    kl_sha256_ctx h;
    if (kl_sha256_init(&h) < 0)
        return KL_ENOMEM;
    uint8_t buf[4096];
    size_t len = 0;
    for (size_t f = 0; f < s->n_folds; f++) {
        const kl_fold *fd = &s->folds[f];
        hash_u64(&h, buf, &len, fd->n_train);
        for (size_t i = 0; i < fd->n_train; i++)
            hash_u64(&h, buf, &len, fd->train[i]);
        hash_u64(&h, buf, &len, fd->n_test);
        for (size_t i = 0; i < fd->n_test; i++)
            hash_u64(&h, buf, &len, fd->test[i]);
    }
    kl_sha256_update(&h, buf, len);
    kl_sha256_final(&h, s->hash);
    kl_hex(s->hash, KL_SHA256_LEN, s->hash_hex);
    return 0;
}

/* ---- classes and groups: values to codes ---- */

/*
 * codes[row] = the index of values[row] among the sorted distinct values;
 * returns the number of distinct values and, when first is not NULL, the
 * first row of each (in code order). -0.0 and 0.0 are one value.
 */
static int encode_sorted(const double *values, size_t n, size_t *codes, size_t *n_codes,
                         size_t **first)
{
    kl__sort_item *items = malloc(2 * n * sizeof *items);
    if (!items)
        return KL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        items[i] = (kl__sort_item){kl__sort_key(values[i] + 0.0), (double)i};
    kl__sort_items(items, items + n, n); /* stable: rows ascending within a value */
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && items[i].key != items[i - 1].key)
            c++;
        codes[(size_t)items[i].a] = c;
    }
    *n_codes = c + 1;
    if (first) {
        *first = malloc(*n_codes * sizeof **first);
        if (!*first) {
            free(items);
            return KL_ENOMEM;
        }
        c = 0;
        for (size_t i = 0; i < n; i++)
            if (i == 0 || items[i].key != items[i - 1].key)
                (*first)[c++] = (size_t)items[i].a;
    }
    free(items);
    return 0;
}

/* ---- the methods ---- */

typedef struct ctx {
    size_t n;
    const double *labels, *groups;
    const kl_split_opts *o;
    size_t folds;
    double test_fraction;
    kl_rng rng;
    kl_err *err;
    unsigned flags;
} ctx;

/* Holdout sizes as ShuffleSplit: n_test = ceil(f * n), the rest trains. */
static int holdout_sizes(ctx *c, size_t *n_test)
{
    double t = ceil(c->test_fraction * (double)c->n);
    *n_test = (size_t)t;
    if (*n_test >= c->n)
        return fail(c->err, c->o->method, KL_EINVAL,
                    "with %zu rows and test fraction %g the train set would be empty", c->n,
                    c->test_fraction);
    return 0;
}

static int holdout_random(ctx *c, size_t *fold_of)
{
    size_t n_test;
    int rc = holdout_sizes(c, &n_test);
    if (rc)
        return rc;
    size_t *perm = malloc(c->n * sizeof *perm);
    if (!perm)
        return KL_ENOMEM;
    for (size_t i = 0; i < c->n; i++)
        perm[i] = i;
    kl_rng_shuffle_size(&c->rng, perm, c->n);
    /* fold_of = 0 for test rows, 1 for train rows; folds are rebuilt as one later. */
    for (size_t i = 0; i < c->n; i++)
        fold_of[perm[i]] = i < n_test ? 0 : 1;
    free(perm);
    return 0;
}

static int holdout_time(ctx *c, size_t *fold_of)
{
    size_t n_test;
    int rc = holdout_sizes(c, &n_test);
    if (rc)
        return rc;
    for (size_t i = 0; i < c->n; i++)
        fold_of[i] = i >= c->n - n_test ? 0 : 1;
    return 0;
}

typedef struct rem {
    double r;
    size_t cls;
} rem;

static int rem_desc(const void *a, const void *b)
{
    const rem *x = a, *y = b;
    if (x->r != y->r)
        return x->r < y->r ? 1 : -1;
    return x->cls < y->cls ? -1 : x->cls > y->cls;
}

/*
 * scikit-learn's _approximate_mode: draws per class proportional to counts,
 * floored, then the leftover draws go to the largest remainders, a tie among
 * equal remainders broken by a random choice.
 */
static int approximate_mode(const size_t *counts, size_t k, size_t n_draws, kl_rng *rng,
                            size_t *out)
{
    size_t total = 0, taken = 0;
    for (size_t j = 0; j < k; j++)
        total += counts[j];
    rem *rm = malloc(k * sizeof *rm);
    size_t *pick = malloc(k * sizeof *pick);
    if (!rm || !pick) {
        free(rm);
        free(pick);
        return KL_ENOMEM;
    }
    for (size_t j = 0; j < k; j++) {
        double cont = (double)counts[j] / (double)total * (double)n_draws, fl = floor(cont);
        out[j] = (size_t)fl;
        taken += out[j];
        rm[j] = (rem){cont - fl, j};
    }
    size_t need = n_draws - taken;
    qsort(rm, k, sizeof *rm, rem_desc);
    for (size_t i = 0; i < k && need > 0;) {
        size_t e = i;
        while (e < k && rm[e].r == rm[i].r)
            e++;
        size_t m = e - i;
        for (size_t t = 0; t < m; t++)
            pick[t] = rm[i + t].cls;
        if (m > need)
            kl_rng_shuffle_size(rng, pick, m);
        size_t add = KL_MIN(m, need);
        for (size_t t = 0; t < add; t++)
            out[pick[t]]++;
        need -= add;
        i = e;
    }
    free(rm);
    free(pick);
    return 0;
}

static int holdout_stratified(ctx *c, size_t *fold_of)
{
    size_t n_test;
    int rc = holdout_sizes(c, &n_test);
    if (rc)
        return rc;
    size_t n = c->n, k, n_train = n - n_test;
    size_t *code = malloc(n * sizeof *code);
    if (!code)
        return KL_ENOMEM;
    size_t *counts = NULL, *n_i = NULL, *start = NULL, *rows = NULL;
    rc = encode_sorted(c->labels, n, code, &k, NULL);
    if (rc)
        goto done;
    counts = calloc(k, sizeof *counts);
    n_i = malloc(k * sizeof *n_i);
    start = malloc((k + 1) * sizeof *start);
    rows = malloc(n * sizeof *rows);
    if (!counts || !n_i || !start || !rows) {
        rc = KL_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        counts[code[i]]++;
    for (size_t j = 0; j < k; j++)
        if (counts[j] < 2) {
            rc = fail(c->err, c->o->method, KL_EINVAL,
                      "the least populated class has only 1 row; each class needs at least 2");
            goto done;
        }
    if (n_train < k || n_test < k) {
        rc = fail(c->err, c->o->method, KL_EINVAL,
                  "the %s set of %zu rows cannot hold one row of each of the %zu classes",
                  n_train < k ? "train" : "test", KL_MIN(n_train, n_test), k);
        goto done;
    }
    rc = approximate_mode(counts, k, n_train, &c->rng, n_i);
    if (rc)
        goto done;
    /* Rows of each class in row order, then each class's rows shuffled. */
    start[0] = 0;
    for (size_t j = 0; j < k; j++)
        start[j + 1] = start[j] + counts[j];
    memset(counts, 0, k * sizeof *counts);
    for (size_t i = 0; i < n; i++)
        rows[start[code[i]] + counts[code[i]]++] = i;
    for (size_t j = 0; j < k; j++) {
        size_t *r = rows + start[j], m = start[j + 1] - start[j];
        kl_rng_shuffle_size(&c->rng, r, m);
        for (size_t t = 0; t < m; t++)
            fold_of[r[t]] = t < n_i[j] ? 1 : 0;
    }
done:
    free(code);
    free(counts);
    free(n_i);
    free(start);
    free(rows);
    return rc;
}

static int check_folds(ctx *c, size_t n_units, const char *unit)
{
    if (c->folds < 2)
        return fail(c->err, c->o->method, KL_EINVAL,
                    "the number of folds must be at least 2, "
                    "got %zu",
                    c->folds);
    if (c->folds > n_units)
        return fail(c->err, c->o->method, KL_EINVAL, "cannot have %zu folds with only %zu %s",
                    c->folds, n_units, unit);
    return 0;
}

static int kfold(ctx *c, size_t *fold_of)
{
    int rc = check_folds(c, c->n, "rows");
    if (rc)
        return rc;
    size_t n = c->n, k = c->folds;
    size_t *perm = malloc(n * sizeof *perm);
    if (!perm)
        return KL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    if (c->o->shuffle)
        kl_rng_shuffle_size(&c->rng, perm, n);
    size_t at = 0;
    for (size_t f = 0; f < k; f++) {
        size_t size = n / k + (f < n % k);
        for (size_t t = 0; t < size; t++)
            fold_of[perm[at++]] = f;
    }
    free(perm);
    return 0;
}

static int stratified_kfold(ctx *c, size_t *fold_of)
{
    int rc = check_folds(c, c->n, "rows");
    if (rc)
        return rc;
    size_t n = c->n, k = c->folds, n_cls;
    size_t *code = malloc(n * sizeof *code), *first = NULL;
    size_t *counts = NULL, *rank = NULL, *blocks = NULL;
    if (!code)
        return KL_ENOMEM;
    rc = encode_sorted(c->labels, n, code, &n_cls, &first);
    if (rc)
        goto done;
    /* Renumber classes by first appearance: rank[sorted code] = order of its first row. */
    counts = calloc(n_cls, sizeof *counts);
    rank = malloc(n_cls * sizeof *rank);
    blocks = malloc(n * sizeof *blocks);
    if (!counts || !rank || !blocks) {
        rc = KL_ENOMEM;
        goto done;
    }
    {
        kl__sort_item *it = malloc(2 * n_cls * sizeof *it);
        if (!it) {
            rc = KL_ENOMEM;
            goto done;
        }
        for (size_t j = 0; j < n_cls; j++)
            it[j] = (kl__sort_item){first[j], (double)j};
        kl__sort_items(it, it + n_cls, n_cls);
        for (size_t r = 0; r < n_cls; r++)
            rank[(size_t)it[r].a] = r;
        free(it);
    }
    for (size_t i = 0; i < n; i++) {
        code[i] = rank[code[i]]; /* from here on: code by first appearance */
        counts[code[i]]++;
    }
    size_t min_count = SIZE_MAX, max_count = 0;
    for (size_t j = 0; j < n_cls; j++) {
        min_count = KL_MIN(min_count, counts[j]);
        max_count = KL_MAX(max_count, counts[j]);
    }
    if (k > max_count) {
        rc = fail(c->err, c->o->method, KL_EINVAL,
                  "%zu folds cannot be greater than the number of rows in each class "
                  "(the largest class has %zu)",
                  k, max_count);
        goto done;
    }
    if (k > min_count)
        c->flags |= KL_SPLIT_WARN_SMALL_CLASS;
    /*
     * y_order = classes sorted, dealt round robin: position p goes to fold p % k.
     * Class j occupies positions [s, s + cnt); it gives fold f cnt / k rows, plus
     * one when f is among the first cnt % k folds counted from s % k.
     */
    size_t s = 0;
    for (size_t j = 0; j < n_cls; j++) {
        size_t cnt = counts[j], at = 0;
        size_t *b = blocks + s;
        for (size_t f = 0; f < k; f++) {
            size_t extra = ((f + k - s % k) % k) < cnt % k;
            for (size_t t = 0; t < cnt / k + extra; t++)
                b[at++] = f;
        }
        if (c->o->shuffle)
            kl_rng_shuffle_size(&c->rng, b, cnt);
        s += cnt;
    }
    /* Each class's rows, in row order, take its block sequence: counts become offsets. */
    s = 0;
    for (size_t j = 0; j < n_cls; j++) {
        size_t cnt = counts[j];
        counts[j] = s;
        s += cnt;
    }
    for (size_t i = 0; i < n; i++)
        fold_of[i] = blocks[counts[code[i]]++];
done:
    free(code);
    free(first);
    free(counts);
    free(rank);
    free(blocks);
    return rc;
}

typedef struct grp {
    size_t size, id;
} grp;

/* Largest first; equal sizes by larger group id first (numpy argsort reversed). */
static int grp_desc(const void *a, const void *b)
{
    const grp *x = a, *y = b;
    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

static int group_kfold(ctx *c, size_t *fold_of)
{
    size_t n = c->n, k = c->folds, n_grp;
    size_t *code = malloc(n * sizeof *code);
    if (!code)
        return KL_ENOMEM;
    grp *g = NULL;
    size_t *to_fold = NULL, *load = NULL;
    int rc = encode_sorted(c->groups, n, code, &n_grp, NULL);
    if (!rc)
        rc = check_folds(c, n_grp, "groups");
    if (rc)
        goto done;
    g = calloc(n_grp, sizeof *g);
    to_fold = malloc(n_grp * sizeof *to_fold);
    load = calloc(k, sizeof *load);
    if (!g || !to_fold || !load) {
        rc = KL_ENOMEM;
        goto done;
    }
    for (size_t j = 0; j < n_grp; j++)
        g[j].id = j;
    for (size_t i = 0; i < n; i++)
        g[code[i]].size++;
    qsort(g, n_grp, sizeof *g, grp_desc);
    for (size_t j = 0; j < n_grp; j++) {
        size_t light = 0;
        for (size_t f = 1; f < k; f++)
            if (load[f] < load[light])
                light = f;
        load[light] += g[j].size;
        to_fold[g[j].id] = light;
    }
    for (size_t i = 0; i < n; i++)
        fold_of[i] = to_fold[code[i]];
done:
    free(code);
    free(g);
    free(to_fold);
    free(load);
    return rc;
}

static int time_series(ctx *c, kl_split **out)
{
    size_t n = c->n, k = c->folds, gap = c->o->gap;
    if (k < 2)
        return fail(c->err, c->o->method, KL_EINVAL,
                    "the number of folds must be at least 2, got %zu", k);
    if (k + 1 > n)
        return fail(c->err, c->o->method, KL_EINVAL,
                    "cannot have %zu folds (%zu blocks) with only %zu rows", k, k + 1, n);
    size_t ts = c->o->test_size ? c->o->test_size : n / (k + 1);
    if (ts > n / k || gap >= n - ts * k)
        return fail(c->err, c->o->method, KL_EINVAL,
                    "too many folds (%zu) for %zu rows with test size %zu and gap %zu", k, n, ts,
                    gap);
    size_t pool = 0;
    for (size_t f = 0; f < k; f++) {
        size_t train_end = n - (k - f) * ts - gap;
        pool += (c->o->max_train && c->o->max_train < train_end ? c->o->max_train : train_end) + ts;
    }
    kl_split *s = split_alloc(k, pool);
    if (!s)
        return KL_ENOMEM;
    size_t *at = split_pool(s);
    for (size_t f = 0; f < k; f++) {
        size_t test_start = n - (k - f) * ts, train_end = test_start - gap, train_start = 0;
        if (c->o->max_train && c->o->max_train < train_end)
            train_start = train_end - c->o->max_train;
        kl_fold *fd = &s->folds[f];
        fd->train = at;
        for (size_t i = train_start; i < train_end; i++)
            *at++ = i;
        fd->n_train = train_end - train_start;
        fd->test = at;
        for (size_t i = test_start; i < test_start + ts; i++)
            *at++ = i;
        fd->n_test = ts;
    }
    *out = s;
    return 0;
}

/* ---- entry point ---- */

static int check_values(ctx *c, const double *v, const char *what)
{
    if (!v)
        return fail(c->err, c->o->method, KL_EINVAL, "%s split needs %s",
                    kl_split_method_name(c->o->method), what);
    for (size_t i = 0; i < c->n; i++)
        if (!isfinite(v[i]))
            return fail(c->err, c->o->method, KL_EINVAL, "%s[%zu] is %s", what, i,
                        isnan(v[i]) ? "NaN" : "infinite");
    return 0;
}

int kl_split_new(kl_split **out, size_t n, const double *labels, const double *groups,
                 const kl_split_opts *opts, kl_err *err)
{
    static const kl_split_opts defaults = {0};
    const kl_split_opts *o = opts ? opts : &defaults;
    *out = NULL;
    ctx c = {.n = n, .labels = labels, .groups = groups, .o = o, .err = err};
    c.folds = o->folds ? o->folds : 5;
    c.test_fraction = o->test_fraction != 0 ? o->test_fraction : 0.2;
    kl_rng_init(&c.rng, o->seed);
    if ((unsigned)o->method >= KL_ARRAY_LEN(method_names))
        return fail(err, o->method, KL_EINVAL, "unknown split method %d", (int)o->method);
    if (n == 0)
        return fail(err, o->method, KL_EINVAL, "cannot split zero rows");
    int holdout = o->method <= KL_SPLIT_METHOD_HOLDOUT_TIME;
    if (holdout && !(c.test_fraction > 0 && c.test_fraction < 1))
        return fail(err, o->method, KL_EINVAL, "the test fraction must be in (0, 1), got %g",
                    c.test_fraction);
    int rc = 0;
    if (o->method == KL_SPLIT_METHOD_HOLDOUT_STRATIFIED ||
        o->method == KL_SPLIT_METHOD_STRATIFIED_KFOLD)
        rc = check_values(&c, labels, "labels");
    else if (o->method == KL_SPLIT_METHOD_GROUP_KFOLD)
        rc = check_values(&c, groups, "groups");
    if (rc)
        return rc;

    kl_split *s = NULL;
    if (o->method == KL_SPLIT_METHOD_TIME_SERIES) {
        rc = time_series(&c, &s);
    } else {
        size_t *fold_of = malloc(n * sizeof *fold_of);
        if (!fold_of)
            return fail(err, o->method, KL_ENOMEM, "out of memory splitting %zu rows", n);
        switch (o->method) {
        case KL_SPLIT_METHOD_HOLDOUT:
            rc = holdout_random(&c, fold_of);
            break;
        case KL_SPLIT_METHOD_HOLDOUT_STRATIFIED:
            rc = holdout_stratified(&c, fold_of);
            break;
        case KL_SPLIT_METHOD_HOLDOUT_TIME:
            rc = holdout_time(&c, fold_of);
            break;
        case KL_SPLIT_METHOD_KFOLD:
            rc = kfold(&c, fold_of);
            break;
        case KL_SPLIT_METHOD_STRATIFIED_KFOLD:
            rc = stratified_kfold(&c, fold_of);
            break;
        case KL_SPLIT_METHOD_GROUP_KFOLD:
            rc = group_kfold(&c, fold_of);
            break;
        case KL_SPLIT_METHOD_TIME_SERIES:
            break;
        }
        if (!rc) {
            /* A holdout is the assignment's fold 0 (the test rows) of two. */
            s = split_from_assignment(fold_of, n, holdout ? 2 : c.folds);
            if (!s)
                rc = KL_ENOMEM;
            else if (holdout)
                s->n_folds = 1;
        }
        free(fold_of);
    }
    if (!rc && split_hash(s) < 0)
        rc = KL_ENOMEM;
    if (rc) {
        free(s);
        if (rc == KL_ENOMEM)
            return fail(err, o->method, KL_ENOMEM, "out of memory splitting %zu rows", n);
        return rc;
    }
    s->method = o->method;
    s->seed = o->seed;
    s->n_rows = n;
    s->flags = c.flags;
    *out = s;
    return 0;
}

void kl_split_free(kl_split *s)
{
    free(s);
}
