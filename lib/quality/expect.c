/*
 * Expectations: the declarative data checks of keel.yaml's
 * constraints.expectations (Great Expectations' expect_column_values_to_*,
 * TensorFlow Data Validation's schema constraints), evaluated on a frame.
 *
 * Each expectation marks its failing rows in one byte mask and then
 * reports the same way: the count, and up to KL_EXPECT_EXAMPLES distinct
 * failing values in row order, rendered as `keel data head` shows them.
 * Categorical columns are checked once per category and the verdict spread
 * over the codes, so a million rows of ten categories cost ten regexec
 * calls. A column whose values are personal data never shows them: its
 * examples are the single string "[hidden]".
 *
 * Invariants: a failed expectation is a result, never an error (a missing
 * column, a range on text); missing cells are ignored by every expectation
 * but missing; the outcome depends on the frame and the expectation only
 * (and the clock, for freshness without opts->now_us).
 */
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keel/constraints.h"
#include "core/common.h"

#define CELL_MAX 256

void kl_expect_report_release(kl_expect_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        kl_expect_result *x = &r->results[i];
        free(x->column);
        free(x->detail);
        for (size_t k = 0; k < x->n_examples; k++)
            free(x->examples[k]);
    }
    free(r->results);
    memset(r, 0, sizeof *r);
}

static int set_detail(kl_expect_result *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int set_detail(kl_expect_result *x, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    free(x->detail);
    x->detail = strdup(buf);
    return x->detail ? 0 : KL_ENOMEM;
}

/* Examples: distinct failing values in row order; "[hidden]" for a hidden column. */
static int collect(kl_expect_result *x, const kl_frame *f, size_t j, const uint8_t *bad, int hidden)
{
    size_t n = kl_frame_row_count(f);
    x->failing = 0;
    for (size_t i = 0; i < n; i++)
        x->failing += bad[i];
    x->passed = x->failing == 0;
    if (!x->failing)
        return 0;
    if (hidden) {
        x->examples[0] = strdup("[hidden]");
        x->n_examples = x->examples[0] != NULL;
        return x->examples[0] ? 0 : KL_ENOMEM;
    }
    char buf[CELL_MAX];
    for (size_t i = 0; i < n && x->n_examples < KL_EXPECT_EXAMPLES; i++) {
        if (!bad[i])
            continue;
        kl_frame_cell_str(f, i, j, buf, sizeof buf);
        size_t k = 0;
        while (k < x->n_examples && strcmp(x->examples[k], buf))
            k++;
        if (k < x->n_examples)
            continue;
        if (!(x->examples[x->n_examples] = strdup(buf)))
            return KL_ENOMEM;
        x->n_examples++;
    }
    return 0;
}

static size_t present_count(const kl_frame *f, size_t j)
{
    return kl_frame_row_count(f) - kl_frame_col_missing(f, j);
}

/* Row i of column j is missing. */
static int is_missing(const kl_frame *f, size_t i, size_t j)
{
    switch (kl_frame_col_kind(f, j)) {
    case KL_COL_KIND_NUMERIC:
        return isnan(kl_frame_col_f64(f, j)[i]);
    case KL_COL_KIND_CATEGORICAL:
        return kl_frame_col_codes(f, j)[i] < 0;
    case KL_COL_KIND_BOOL:
        return kl_frame_col_bool(f, j)[i] == KL_BOOL_MISSING;
    case KL_COL_KIND_TEXT:
        return kl_frame_col_text(f, j)[i] == NULL;
    case KL_COL_KIND_TIME:
        return kl_frame_col_time(f, j)[i] == KL_TIME_MISSING;
    }
    return 1;
}

/*
 * Mark rows whose value fails pred (called with the value as text). A
 * categorical column calls pred once per category.
 */
typedef int (*str_pred)(const char *s, const void *ctx);

static int mark_by_text(const kl_frame *f, size_t j, str_pred pred, const void *ctx, uint8_t *bad)
{
    size_t n = kl_frame_row_count(f);
    if (kl_frame_col_kind(f, j) == KL_COL_KIND_CATEGORICAL) {
        size_t n_dict = 0;
        const char *const *dict = kl_frame_col_dict(f, j, &n_dict);
        uint8_t *verdict = malloc(n_dict ? n_dict : 1);
        if (!verdict)
            return KL_ENOMEM;
        for (size_t k = 0; k < n_dict; k++)
            verdict[k] = !pred(dict[k], ctx);
        const int32_t *codes = kl_frame_col_codes(f, j);
        for (size_t i = 0; i < n; i++)
            bad[i] = codes[i] >= 0 && verdict[codes[i]];
        free(verdict);
        return 0;
    }
    char buf[CELL_MAX];
    for (size_t i = 0; i < n; i++) {
        if (kl_frame_col_kind(f, j) == KL_COL_KIND_TEXT) {
            const char *s = kl_frame_col_text(f, j)[i];
            bad[i] = s && !pred(s, ctx);
            continue;
        }
        bad[i] = kl_frame_cell_str(f, i, j, buf, sizeof buf) && !pred(buf, ctx);
    }
    return 0;
}

/* ---- values ---- */

typedef struct values_ctx {
    const kl_spec_expectation *e;
} values_ctx;

static int parse_number(const char *s, double *out)
{
    char *end;
    if (!*s)
        return 0;
    double d = strtod(s, &end);
    if (*end)
        return 0;
    *out = d;
    return 1;
}

static int in_values(const char *s, const void *ctx)
{
    const kl_spec_expectation *e = ((const values_ctx *)ctx)->e;
    double x, y;
    int numeric = parse_number(s, &x);
    for (size_t k = 0; k < e->n_values; k++) {
        if (!strcmp(s, e->values[k]))
            return 1;
        if (numeric && parse_number(e->values[k], &y) && x == y)
            return 1;
    }
    return 0;
}

/* ---- regex ---- */

static int whole_match(const char *s, const void *ctx)
{
    regmatch_t m;
    if (regexec((const regex_t *)ctx, s, 1, &m, 0))
        return 0;
    return m.rm_so == 0 && (size_t)m.rm_eo == strlen(s);
}

/* ---- unique ---- */

typedef struct keyed {
    double v;
    const char *s;
    size_t row;
} keyed;

static int cmp_num(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

static int cmp_str(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int r = strcmp(x->s, y->s);
    if (r)
        return r;
    return x->row < y->row ? -1 : x->row > y->row;
}

static int mark_duplicates(const kl_frame *f, size_t j, uint8_t *bad)
{
    size_t n = kl_frame_row_count(f), m = 0;
    enum kl_col_kind kind = kl_frame_col_kind(f, j);
    memset(bad, 0, n);
    if (kind == KL_COL_KIND_CATEGORICAL || kind == KL_COL_KIND_BOOL) {
        size_t n_dict = 2;
        if (kind == KL_COL_KIND_CATEGORICAL)
            kl_frame_col_dict(f, j, &n_dict);
        size_t *cnt = calloc(n_dict ? n_dict : 1, sizeof *cnt);
        if (!cnt)
            return KL_ENOMEM;
        const int32_t *codes = kind == KL_COL_KIND_CATEGORICAL ? kl_frame_col_codes(f, j) : NULL;
        const uint8_t *b = kind == KL_COL_KIND_BOOL ? kl_frame_col_bool(f, j) : NULL;
        for (size_t i = 0; i < n; i++) {
            long k = codes ? codes[i] : (b[i] == KL_BOOL_MISSING ? -1 : b[i]);
            if (k >= 0)
                cnt[k]++;
        }
        for (size_t i = 0; i < n; i++) {
            long k = codes ? codes[i] : (b[i] == KL_BOOL_MISSING ? -1 : b[i]);
            bad[i] = k >= 0 && cnt[k] > 1;
        }
        free(cnt);
        return 0;
    }
    keyed *k = malloc((n ? n : 1) * sizeof *k);
    if (!k)
        return KL_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (is_missing(f, i, j))
            continue;
        k[m] = (keyed){0, NULL, i};
        if (kind == KL_COL_KIND_TEXT)
            k[m].s = kl_frame_col_text(f, j)[i];
        else if (kind == KL_COL_KIND_TIME)
            k[m].v = (double)kl_frame_col_time(f, j)[i];
        else
            k[m].v = kl_frame_col_f64(f, j)[i];
        m++;
    }
    int text = kind == KL_COL_KIND_TEXT;
    qsort(k, m, sizeof *k, text ? cmp_str : cmp_num);
    for (size_t a = 0; a < m;) {
        size_t b = a + 1;
        while (b < m && (text ? !strcmp(k[a].s, k[b].s) : k[a].v == k[b].v))
            b++;
        if (b - a > 1)
            for (size_t t = a; t < b; t++)
                bad[k[t].row] = 1;
        a = b;
    }
    free(k);
    return 0;
}

/* ---- one expectation ---- */

static int listed(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i], name))
            return 1;
    return 0;
}

static void bounds_text(const kl_spec_expectation *e, char *buf, size_t n, const char *what)
{
    if (e->has_min && e->has_max)
        snprintf(buf, n, "%s [%g, %g]", what, e->min, e->max);
    else if (e->has_min)
        snprintf(buf, n, "below %g", e->min);
    else
        snprintf(buf, n, "above %g", e->max);
}

static int64_t now_us(const kl_expect_opts *o)
{
    if (o && o->now_us)
        return o->now_us;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int run_one(const kl_frame *f, const kl_spec_expectation *e, const kl_expect_opts *o,
                   uint8_t *bad, kl_expect_result *x)
{
    size_t n = kl_frame_row_count(f);
    x->kind = e->kind;
    const char *col = e->column;
    if (!col && e->kind == KL_EXPECT_KIND_FRESHNESS && o)
        col = o->time_column;
    if (e->kind == KL_EXPECT_KIND_ROWS) {
        x->checked = n;
        x->passed = !(e->has_min && (double)n < e->min) && !(e->has_max && (double)n > e->max);
        if (e->has_min && e->has_max)
            return set_detail(x, "%zu rows, expected between %g and %g", n, e->min, e->max);
        return set_detail(x, "%zu rows, expected at %s %g", n, e->has_min ? "least" : "most",
                          e->has_min ? e->min : e->max);
    }
    if (!col)
        return set_detail(x, "no column given and data.time_column is not set");
    if (!(x->column = strdup(col)))
        return KL_ENOMEM;
    long jl = kl_frame_col_index(f, col);
    if (jl < 0)
        return set_detail(x, "column '%s' is not in the data", col);
    size_t j = (size_t)jl;
    enum kl_col_kind kind = kl_frame_col_kind(f, j);
    int hidden = o && o->hidden && listed(col, o->hidden, o->n_hidden);
    x->checked = present_count(f, j);
    int marked = 1, rc = 0;
    switch (e->kind) {
    case KL_EXPECT_KIND_RANGE: {
        if (kind != KL_COL_KIND_NUMERIC)
            return set_detail(x, "range applies to numeric columns; '%s' is %s", col,
                              kl_col_kind_name(kind));
        const double *v = kl_frame_col_f64(f, j);
        for (size_t i = 0; i < n; i++)
            bad[i] = (e->has_min && v[i] < e->min) || (e->has_max && v[i] > e->max);
        break;
    }
    case KL_EXPECT_KIND_VALUES: {
        values_ctx ctx = {e};
        rc = mark_by_text(f, j, in_values, &ctx, bad);
        break;
    }
    case KL_EXPECT_KIND_UNIQUE:
        rc = mark_duplicates(f, j, bad);
        break;
    case KL_EXPECT_KIND_REGEX: {
        regex_t re;
        if (regcomp(&re, e->pattern, REG_EXTENDED))
            return set_detail(x, "pattern '%s' is not a valid regular expression", e->pattern);
        rc = mark_by_text(f, j, whole_match, &re, bad);
        regfree(&re);
        break;
    }
    default:
        marked = 0;
        break;
    }
    if (rc < 0)
        return rc;
    if (marked) {
        if (collect(x, f, j, bad, hidden) < 0)
            return KL_ENOMEM;
        char b[128];
        switch (e->kind) {
        case KL_EXPECT_KIND_RANGE:
            bounds_text(e, b, sizeof b, "outside");
            return set_detail(x, "%zu of %zu values %s", x->failing, x->checked, b);
        case KL_EXPECT_KIND_VALUES:
            return set_detail(x, "%zu of %zu values not among the %zu allowed", x->failing,
                              x->checked, e->n_values);
        case KL_EXPECT_KIND_UNIQUE:
            return set_detail(x, "%zu of %zu values are duplicated", x->failing, x->checked);
        default:
            return set_detail(x, "%zu of %zu values do not match '%s'", x->failing, x->checked,
                              e->pattern);
        }
    }
    switch (e->kind) {
    case KL_EXPECT_KIND_MISSING: {
        size_t miss = kl_frame_col_missing(f, j);
        double share = n ? (double)miss / (double)n : 0;
        x->checked = n;
        x->failing = miss;
        x->passed = share <= e->max_share;
        return set_detail(x, "%zu of %zu values missing (share %.4g, at most %g allowed)", miss, n,
                          share, e->max_share);
    }
    case KL_EXPECT_KIND_TYPE: {
        enum kl_type t = kl_frame_col_type(f, j);
        x->passed = (int)t == e->type;
        return set_detail(x, "type is %s, expected %s", kl_type_name(t),
                          kl_type_name((enum kl_type)e->type));
    }
    case KL_EXPECT_KIND_FRESHNESS: {
        if (kind != KL_COL_KIND_TIME)
            return set_detail(x, "freshness applies to time columns; '%s' is %s", col,
                              kl_col_kind_name(kind));
        const int64_t *t = kl_frame_col_time(f, j);
        int64_t newest = KL_TIME_MISSING, limit = now_us(o) - e->max_age_secs * 1000000;
        size_t at = 0;
        for (size_t i = 0; i < n; i++) {
            if (t[i] != KL_TIME_MISSING && (newest == KL_TIME_MISSING || t[i] > newest)) {
                newest = t[i];
                at = i;
            }
        }
        if (newest == KL_TIME_MISSING)
            return set_detail(x, "column '%s' has no values", col);
        memset(bad, 0, n);
        bad[at] = newest < limit;
        if (collect(x, f, j, bad, hidden) < 0)
            return KL_ENOMEM;
        char buf[CELL_MAX];
        kl_frame_cell_str(f, at, j, buf, sizeof buf);
        return set_detail(x, "newest value %s is %s than %s", hidden ? "[hidden]" : buf,
                          x->passed ? "not older" : "older", e->max_age);
    }
    default:
        break;
    }
    return 0;
}

int kl_expect_check(const kl_frame *f, const kl_spec_expectation *e, size_t n,
                    const kl_expect_opts *opts, kl_expect_report *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    size_t rows = kl_frame_row_count(f);
    out->results = calloc(n ? n : 1, sizeof *out->results);
    uint8_t *bad = malloc(rows ? rows : 1);
    int rc = out->results && bad ? 0 : KL_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        kl_expect_result *x = &out->results[i];
        x->index = i;
        out->n++;
        rc = run_one(f, &e[i], opts, bad, x);
        out->n_failed += rc == 0 && !x->passed;
    }
    free(bad);
    if (rc < 0) {
        kl_expect_report_release(out);
        return kl_err_set(err, KL_ENOMEM, "out of memory checking expectations");
    }
    return 0;
}
