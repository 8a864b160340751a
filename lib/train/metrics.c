/*
 * Metrics from predicted values and labels: regression, forecasting,
 * label-based classification and the registry of metric names. Ranking and
 * probability metrics (AUC, AP, log loss, calibration) live in
 * metrics_rank.c.
 *
 * Every definition follows scikit-learn 1.2.1 (the header states each edge
 * case), because users compare keel's numbers with sklearn's; where sklearn
 * warns, we return its value, and where it raises, we return KL_EINVAL.
 *
 * Label metrics find the distinct labels with a sorted array grown by binary
 * search insertion (at most KL_METRIC_MAX_CLASSES), then map each sample by
 * binary search: O(n log k) time and O(k) memory, so no per-call buffer
 * scales with n and no hash of doubles is needed.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "keel/err.h"
#include "keel/metrics.h"
#include "keel/spec.h"
#include "train/metrics_internal.h"
#include "core/common.h"

/* ---- checks shared by every metric ---- */

int kl__metric_fail(kl_err *err, const char *metric, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return kl_err_ctx(err, "metric %s", metric);
}

int kl__metric_check(const char *metric, const char *what, const double *x, size_t n, kl_err *err)
{
    if (n == 0)
        return kl__metric_fail(err, metric, KL_EINVAL, "%s needs at least one sample", metric);
    if (!x)
        return kl__metric_fail(err, metric, KL_EINVAL, "%s is missing", what);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return kl__metric_fail(err, metric, KL_EINVAL, "%s[%zu] is %s", what, i,
                                   isnan(x[i]) ? "NaN" : "infinite");
    return 0;
}

int kl__metric_check_weights(const char *metric, const double *w, size_t n, kl_err *err)
{
    if (!w)
        return 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(w[i]) || w[i] < 0)
            return kl__metric_fail(err, metric, KL_EINVAL,
                                   "sample weight[%zu] is %g; weights must be finite and >= 0", i,
                                   w[i]);
        sum += w[i];
    }
    if (!(sum > 0))
        return kl__metric_fail(err, metric, KL_EINVAL, "sample weights sum to zero");
    return 0;
}

/* y_true, y_pred and w together; *out is NaN until a result is written. */
static int check_pair(const char *metric, const double *y_true, const double *y_pred, size_t n,
                      const double *w, double *out, kl_err *err)
{
    *out = NAN;
    int rc = kl__metric_check(metric, "y_true", y_true, n, err);
    if (!rc)
        rc = kl__metric_check(metric, "y_pred", y_pred, n, err);
    if (!rc)
        rc = kl__metric_check_weights(metric, w, n, err);
    return rc;
}

static double weight_at(const double *w, size_t i)
{
    return w ? w[i] : 1.0;
}

/* ---- radix sort on doubles ---- */

uint64_t kl__sort_key(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return (u >> 63) ? ~u : u | (UINT64_C(1) << 63);
}

double kl__sort_key_value(uint64_t key)
{
    uint64_t u = (key >> 63) ? key & ~(UINT64_C(1) << 63) : ~key;
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

void kl__sort_items(kl__sort_item *items, kl__sort_item *tmp, size_t n)
{
    if (n < 2)
        return;
    if (n <= 32) { /* insertion sort: radix passes cost more than they save here */
        for (size_t i = 1; i < n; i++) {
            kl__sort_item t = items[i];
            size_t j = i;
            for (; j > 0 && items[j - 1].key > t.key; j--)
                items[j] = items[j - 1];
            items[j] = t;
        }
        return;
    }
    /* One pass builds every digit's histogram; a digit all keys share is skipped. */
    enum { BITS = 11, RADIX = 1 << BITS, PASSES = (64 + BITS - 1) / BITS };
    size_t hist[PASSES][RADIX]; /* 96 KiB of stack, no allocation and no failure path */
    memset(hist, 0, sizeof hist);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = items[i].key;
        for (int p = 0; p < PASSES; p++)
            hist[p][(k >> (BITS * p)) & (RADIX - 1)]++;
    }
    kl__sort_item *src = items, *dst = tmp;
    for (int p = 0; p < PASSES; p++) {
        size_t *h = hist[p];
        unsigned shift = BITS * (unsigned)p;
        if (h[(src[0].key >> shift) & (RADIX - 1)] == n)
            continue;
        size_t pos = 0;
        for (int d = 0; d < RADIX; d++) {
            size_t c = h[d];
            h[d] = pos;
            pos += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[h[(src[i].key >> shift) & (RADIX - 1)]++] = src[i];
        kl__sort_item *t = src;
        src = dst;
        dst = t;
    }
    if (src != items)
        memcpy(items, src, n * sizeof *items);
}

/* ---- regression ---- */

/* Weighted mean squared error under the name metric (for messages). */
static int mean_squared(const char *metric, const double *y_true, const double *y_pred, size_t n,
                        const double *w, double *out, kl_err *err)
{
    int rc = check_pair(metric, y_true, y_pred, n, w, out, err);
    if (rc)
        return rc;
    double s = 0, sw = 0;
    for (size_t i = 0; i < n; i++) {
        double e = y_true[i] - y_pred[i], wi = weight_at(w, i);
        s += wi * e * e;
        sw += wi;
    }
    *out = s / sw;
    return 0;
}

int kl_metric_mse(const double *y_true, const double *y_pred, size_t n, const double *w,
                  double *out, kl_err *err)
{
    return mean_squared("mse", y_true, y_pred, n, w, out, err);
}

int kl_metric_rmse(const double *y_true, const double *y_pred, size_t n, const double *w,
                   double *out, kl_err *err)
{
    int rc = mean_squared("rmse", y_true, y_pred, n, w, out, err);
    if (!rc)
        *out = sqrt(*out);
    return rc;
}

int kl_metric_mae(const double *y_true, const double *y_pred, size_t n, const double *w,
                  double *out, kl_err *err)
{
    int rc = check_pair("mae", y_true, y_pred, n, w, out, err);
    if (rc)
        return rc;
    double s = 0, sw = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = weight_at(w, i);
        s += wi * fabs(y_true[i] - y_pred[i]);
        sw += wi;
    }
    *out = s / sw;
    return 0;
}

int kl_metric_mape(const double *y_true, const double *y_pred, size_t n, const double *w,
                   double *out, kl_err *err)
{
    int rc = check_pair("mape", y_true, y_pred, n, w, out, err);
    if (rc)
        return rc;
    double s = 0, sw = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = weight_at(w, i);
        s += wi * (fabs(y_pred[i] - y_true[i]) / fmax(fabs(y_true[i]), DBL_EPSILON));
        sw += wi;
    }
    *out = s / sw;
    return 0;
}

/*
 * Weighted mean of x[i] - (sub ? sub[i] : 0). When every value of positive
 * weight is the same, that value exactly: a rounded sum/n of a constant would
 * leave a residue of order 1e-17 that turns R²'s "constant target" case into
 * a huge negative number instead of sklearn's intended 0.0.
 */
static double mean_of(const double *x, const double *sub, size_t n, const double *w)
{
    double s = 0, sw = 0, first = NAN;
    int constant = 1;
    for (size_t i = 0; i < n; i++) {
        double wi = weight_at(w, i), v = x[i] - (sub ? sub[i] : 0);
        s += wi * v;
        sw += wi;
        if (wi > 0) {
            if (isnan(first))
                first = v;
            else if (v != first)
                constant = 0;
        }
    }
    return constant ? first : s / sw;
}

/* scikit-learn's _assemble_r2_explained_variance with force_finite=True. */
static double assemble_r2(double num, double den)
{
    if (num == 0)
        return 1.0;
    if (den == 0)
        return 0.0;
    return 1.0 - num / den;
}

int kl_metric_r2(const double *y_true, const double *y_pred, size_t n, const double *w, double *out,
                 kl_err *err)
{
    int rc = check_pair("r2", y_true, y_pred, n, w, out, err);
    if (rc)
        return rc;
    if (n < 2)
        return kl__metric_fail(err, "r2", KL_EINVAL,
                               "r2 is not defined for fewer than two samples");
    double mean = mean_of(y_true, NULL, n, w), num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = weight_at(w, i), e = y_true[i] - y_pred[i], d = y_true[i] - mean;
        num += wi * e * e;
        den += wi * d * d;
    }
    *out = assemble_r2(num, den);
    return 0;
}

int kl_metric_explained_variance(const double *y_true, const double *y_pred, size_t n,
                                 const double *w, double *out, kl_err *err)
{
    int rc = check_pair("explained_variance", y_true, y_pred, n, w, out, err);
    if (rc)
        return rc;
    double diff_avg = mean_of(y_true, y_pred, n, w), true_avg = mean_of(y_true, NULL, n, w);
    double num = 0, den = 0, sw = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = weight_at(w, i), a = y_true[i] - y_pred[i] - diff_avg, b = y_true[i] - true_avg;
        num += wi * a * a;
        den += wi * b * b;
        sw += wi;
    }
    *out = assemble_r2(num / sw, den / sw);
    return 0;
}

int kl_metric_median_ae(const double *y_true, const double *y_pred, size_t n, const double *w,
                        double *out, kl_err *err)
{
    int rc = check_pair("median_ae", y_true, y_pred, n, w, out, err);
    if (rc)
        return rc;
    kl__sort_item *items = malloc(2 * n * sizeof *items);
    if (!items)
        return kl__metric_fail(err, "median_ae", KL_ENOMEM, "out of memory sorting %zu errors", n);
    for (size_t i = 0; i < n; i++)
        items[i] = (kl__sort_item){kl__sort_key(fabs(y_true[i] - y_pred[i])), weight_at(w, i)};
    kl__sort_items(items, items + n, n);
    if (!w) {
        double lo = kl__sort_key_value(items[(n - 1) / 2].key);
        double hi = kl__sort_key_value(items[n / 2].key);
        *out = n % 2 ? lo : (lo + hi) / 2; /* numpy.median: mean of the two middle values */
    } else {
        double total = 0;
        for (size_t i = 0; i < n; i++)
            total += items[i].a;
        /* searchsorted(cdf, total/2, side="left"): the first cumulative weight >= half. */
        double half = 0.5 * total, cdf = 0;
        size_t i = 0;
        for (; i < n; i++) {
            cdf += items[i].a;
            if (cdf >= half)
                break;
        }
        *out = kl__sort_key_value(items[KL_MIN(i, n - 1)].key);
    }
    free(items);
    return 0;
}

/* ---- forecasting ---- */

int kl_metric_smape(const double *y_true, const double *y_pred, size_t n, const double *w,
                    double *out, kl_err *err)
{
    int rc = check_pair("smape", y_true, y_pred, n, w, out, err);
    if (rc)
        return rc;
    double s = 0, sw = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = weight_at(w, i), d = fabs(y_true[i]) + fabs(y_pred[i]);
        if (d > 0)
            s += wi * 2 * fabs(y_pred[i] - y_true[i]) / d;
        sw += wi;
    }
    *out = 100 * s / sw;
    return 0;
}

int kl_metric_mase(const double *y_true, const double *y_pred, size_t n, const double *y_train,
                   size_t n_train, size_t m, double *out, kl_err *err)
{
    int rc = check_pair("mase", y_true, y_pred, n, NULL, out, err);
    if (rc)
        return rc;
    if (!m)
        m = 1;
    if (n_train <= m)
        return kl__metric_fail(err, "mase", KL_EINVAL,
                               "mase needs a training series longer than the season %zu, got %zu",
                               m, n_train);
    rc = kl__metric_check("mase", "y_train", y_train, n_train, err);
    if (rc)
        return rc;
    double scale = 0;
    for (size_t t = m; t < n_train; t++)
        scale += fabs(y_train[t] - y_train[t - m]);
    scale /= (double)(n_train - m);
    if (scale == 0)
        return kl__metric_fail(err, "mase", KL_EINVAL,
                               "mase is undefined: the seasonal naive forecast (m=%zu) fits the "
                               "training series exactly",
                               m);
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += fabs(y_true[i] - y_pred[i]);
    *out = s / (double)n / scale;
    return 0;
}

/* ---- labels: the sorted set and per-label sums ---- */

typedef struct label_set {
    size_t k;
    double v[KL_METRIC_MAX_CLASSES];
} label_set;

/* Index of x in the sorted set, or where it would go (lower bound). */
static size_t label_lower(const label_set *s, double x)
{
    size_t lo = 0, hi = s->k;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int label_add(label_set *s, double x, const char *metric, kl_err *err)
{
    size_t at = label_lower(s, x);
    if (at < s->k && s->v[at] == x)
        return 0;
    if (s->k == KL_METRIC_MAX_CLASSES)
        return kl__metric_fail(err, metric, KL_ERANGE,
                               "more than %d distinct class labels; is the target numeric?",
                               KL_METRIC_MAX_CLASSES);
    memmove(s->v + at + 1, s->v + at, (s->k - at) * sizeof *s->v);
    s->v[at] = x;
    s->k++;
    return 0;
}

/* The sorted union of labels in y_true and y_pred (0.0 and -0.0 are one label). */
static int label_union(label_set *s, const double *y_true, const double *y_pred, size_t n,
                       const char *metric, kl_err *err)
{
    s->k = 0;
    double last_t = NAN, last_p = NAN; /* skip runs of one label cheaply */
    for (size_t i = 0; i < n; i++) {
        int rc = 0;
        if (y_true[i] != last_t)
            rc = label_add(s, last_t = y_true[i], metric, err);
        if (!rc && y_pred[i] != last_p)
            rc = label_add(s, last_p = y_pred[i], metric, err);
        if (rc)
            return rc;
    }
    return 0;
}

/*
 * Per label j: tp[j] = Σw over y_true == y_pred == j; ts[j] true sums; ps[j]
 * predicted sums. With the label set it is a call's one scratch buffer (32 KiB).
 */
typedef struct label_sums {
    label_set s;
    double tp[KL_METRIC_MAX_CLASSES], ts[KL_METRIC_MAX_CLASSES], ps[KL_METRIC_MAX_CLASSES];
} label_sums;

static void label_sums_compute(label_sums *ls, const label_set *s, const double *y_true,
                               const double *y_pred, size_t n, const double *w)
{
    memset(ls->tp, 0, s->k * sizeof *ls->tp);
    memset(ls->ts, 0, s->k * sizeof *ls->ts);
    memset(ls->ps, 0, s->k * sizeof *ls->ps);
    for (size_t i = 0; i < n; i++) {
        double wi = weight_at(w, i);
        size_t t = label_lower(s, y_true[i]), p = label_lower(s, y_pred[i]);
        ls->ts[t] += wi;
        ls->ps[p] += wi;
        if (t == p)
            ls->tp[t] += wi;
    }
}

/* ---- classification from labels ---- */

int kl_metric_accuracy(const double *y_true, const double *y_pred, size_t n, const double *w,
                       double *out, kl_err *err)
{
    int rc = check_pair("accuracy", y_true, y_pred, n, w, out, err);
    if (rc)
        return rc;
    double hit = 0, sw = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = weight_at(w, i);
        if (y_true[i] == y_pred[i])
            hit += wi;
        sw += wi;
    }
    *out = hit / sw;
    return 0;
}

int kl_metric_balanced_accuracy(const double *y_true, const double *y_pred, size_t n,
                                const double *w, double *out, kl_err *err)
{
    const char *metric = "balanced_accuracy";
    int rc = check_pair(metric, y_true, y_pred, n, w, out, err);
    if (rc)
        return rc;
    label_sums *ls = malloc(sizeof *ls);
    if (!ls)
        return kl__metric_fail(err, metric, KL_ENOMEM, "out of memory");
    const label_set *s = &ls->s;
    rc = label_union(&ls->s, y_true, y_pred, n, metric, err);
    if (!rc) {
        label_sums_compute(ls, s, y_true, y_pred, n, w);
        /* Recall per class; a class with no true weight is NaN in sklearn and dropped. */
        double sum = 0;
        size_t used = 0;
        for (size_t j = 0; j < s->k; j++)
            if (ls->ts[j] != 0) {
                sum += ls->tp[j] / ls->ts[j];
                used++;
            }
        *out = sum / (double)used;
    }
    free(ls);
    return rc;
}

/* P, R, F from sums with zero_division=0; flags where a denominator was zero. */
static void prf_from(double tp, double ts, double ps, double *p, double *r, double *f,
                     unsigned *flags)
{
    *p = ps != 0 ? tp / ps : 0;
    *r = ts != 0 ? tp / ts : 0;
    if (ps == 0)
        *flags |= KL_PRF_PRECISION_ILL_DEFINED;
    if (ts == 0)
        *flags |= KL_PRF_RECALL_ILL_DEFINED;
    if (ps == 0 && ts == 0)
        *flags |= KL_PRF_F1_ILL_DEFINED;
    double den = *p + *r;
    *f = den != 0 ? 2 * *p * *r / den : 0;
}

static int prf_binary(kl_prf *out, const label_set *s, const label_sums *ls, double pos_label,
                      kl_err *err)
{
    const char *metric = "f1";
    if (s->k > 2)
        return kl__metric_fail(err, metric, KL_EINVAL,
                               "target is multiclass (%zu labels) but the average is binary; "
                               "use macro, micro or weighted",
                               s->k);
    size_t j = label_lower(s, pos_label);
    if (j >= s->k || s->v[j] != pos_label) {
        if (s->k == 2)
            return kl__metric_fail(err, metric, KL_EINVAL,
                                   "positive label %g is not one of the labels (%g, %g)", pos_label,
                                   s->v[0], s->v[1]);
        /* One label present and it is not pos_label: no positives anywhere. */
        prf_from(0, 0, 0, &out->precision, &out->recall, &out->f1, &out->flags);
        return 0;
    }
    prf_from(ls->tp[j], ls->ts[j], ls->ps[j], &out->precision, &out->recall, &out->f1, &out->flags);
    return 0;
}

static void prf_average(kl_prf *out, const label_set *s, const label_sums *ls, enum kl_average avg)
{
    if (avg == KL_AVERAGE_MICRO) {
        double tp = 0, ts = 0, ps = 0;
        for (size_t j = 0; j < s->k; j++) {
            tp += ls->tp[j];
            ts += ls->ts[j];
            ps += ls->ps[j];
        }
        prf_from(tp, ts, ps, &out->precision, &out->recall, &out->f1, &out->flags);
        return;
    }
    double sp = 0, sr = 0, sf = 0, sw = 0;
    for (size_t j = 0; j < s->k; j++) {
        double p, r, f, wj = avg == KL_AVERAGE_WEIGHTED ? ls->ts[j] : 1.0;
        prf_from(ls->tp[j], ls->ts[j], ls->ps[j], &p, &r, &f, &out->flags);
        sp += wj * p;
        sr += wj * r;
        sf += wj * f;
        sw += wj;
    }
    if (sw == 0) { /* weighted with zero total support: zero_division for all three */
        out->precision = out->recall = out->f1 = 0;
        return;
    }
    out->precision = sp / sw;
    out->recall = sr / sw;
    out->f1 = sf / sw;
}

int kl_metric_prf(const double *y_true, const double *y_pred, size_t n, const double *w,
                  enum kl_average avg, double pos_label, kl_prf *out, kl_err *err)
{
    const char *metric = "f1";
    double nan_out;
    out->precision = out->recall = out->f1 = NAN;
    out->flags = 0;
    int rc = check_pair(metric, y_true, y_pred, n, w, &nan_out, err);
    if (rc)
        return rc;
    if (avg < KL_AVERAGE_BINARY || avg > KL_AVERAGE_WEIGHTED)
        return kl__metric_fail(err, metric, KL_EINVAL, "unknown average %d", (int)avg);
    if (avg == KL_AVERAGE_BINARY && !isfinite(pos_label))
        return kl__metric_fail(err, metric, KL_EINVAL, "positive label is not finite");
    label_sums *ls = malloc(sizeof *ls);
    if (!ls)
        return kl__metric_fail(err, metric, KL_ENOMEM, "out of memory");
    const label_set *s = &ls->s;
    rc = label_union(&ls->s, y_true, y_pred, n, metric, err);
    if (!rc) {
        label_sums_compute(ls, s, y_true, y_pred, n, w);
        if (avg == KL_AVERAGE_BINARY)
            rc = prf_binary(out, s, ls, pos_label, err);
        else
            prf_average(out, s, ls, avg);
    }
    if (rc)
        out->precision = out->recall = out->f1 = NAN;
    free(ls);
    return rc;
}

int kl_confusion_compute(kl_confusion *cm, const double *y_true, const double *y_pred, size_t n,
                         const double *w, kl_err *err)
{
    const char *metric = "confusion_matrix";
    double nan_out;
    *cm = (kl_confusion){0};
    int rc = check_pair(metric, y_true, y_pred, n, w, &nan_out, err);
    if (rc)
        return rc;
    label_set *s = malloc(sizeof *s);
    if (!s)
        return kl__metric_fail(err, metric, KL_ENOMEM, "out of memory");
    rc = label_union(s, y_true, y_pred, n, metric, err);
    if (!rc) {
        cm->labels = malloc(s->k * sizeof *cm->labels);
        cm->counts = calloc(s->k * s->k, sizeof *cm->counts);
        if (!cm->labels || !cm->counts)
            rc = kl__metric_fail(err, metric, KL_ENOMEM, "out of memory for %zu x %zu counts", s->k,
                                 s->k);
    }
    if (!rc) {
        cm->k = s->k;
        memcpy(cm->labels, s->v, s->k * sizeof *s->v);
        for (size_t i = 0; i < n; i++)
            cm->counts[label_lower(s, y_true[i]) * s->k + label_lower(s, y_pred[i])] +=
                weight_at(w, i);
    } else {
        kl_confusion_release(cm);
    }
    free(s);
    return rc;
}

void kl_confusion_release(kl_confusion *cm)
{
    if (!cm)
        return;
    free(cm->labels);
    free(cm->counts);
    *cm = (kl_confusion){0};
}

/* ---- registry ---- */

#define REG (1u << KL_TASK_REGRESSION)
#define CLS (1u << KL_TASK_CLASSIFICATION)
#define FC (1u << KL_TASK_FORECAST)
#define ANY (REG | CLS | FC)

static const kl_metric_desc registry[] = {
    {"rmse", KL_METRIC_RMSE, REG | FC, 0, 0, 0},
    {"mse", KL_METRIC_MSE, REG | FC, 0, 0, 0},
    {"mae", KL_METRIC_MAE, REG | FC, 0, 0, 0},
    {"mape", KL_METRIC_MAPE, REG | FC, 0, 0, 0},
    {"smape", KL_METRIC_SMAPE, REG | FC, 0, 0, 0},
    {"mase", KL_METRIC_MASE, FC, 0, 0, 0},
    {"r2", KL_METRIC_R2, REG | FC, 1, 0, 0},
    {"explained_variance", KL_METRIC_EXPLAINED_VARIANCE, REG, 1, 0, 0},
    {"median_ae", KL_METRIC_MEDIAN_AE, REG, 0, 0, 0},
    {"accuracy", KL_METRIC_ACCURACY, CLS, 1, 0, 0},
    {"balanced_accuracy", KL_METRIC_BALANCED_ACCURACY, CLS, 1, 0, 0},
    {"precision", KL_METRIC_PRECISION, CLS, 1, 0, 0},
    {"recall", KL_METRIC_RECALL, CLS, 1, 0, 0},
    {"f1", KL_METRIC_F1, CLS, 1, 0, 0},
    {"f1_macro", KL_METRIC_F1_MACRO, CLS, 1, 0, 0},
    {"f1_micro", KL_METRIC_F1_MICRO, CLS, 1, 0, 0},
    {"f1_weighted", KL_METRIC_F1_WEIGHTED, CLS, 1, 0, 0},
    {"roc_auc", KL_METRIC_ROC_AUC, CLS, 1, 1, 0},
    {"pr_auc", KL_METRIC_PR_AUC, CLS, 1, 1, 0},
    {"average_precision", KL_METRIC_AVERAGE_PRECISION, CLS, 1, 1, 0},
    {"log_loss", KL_METRIC_LOG_LOSS, CLS, 0, 1, 0},
    {"brier", KL_METRIC_BRIER, CLS, 0, 1, 0},
    {"latency_p50_ms", KL_METRIC_LATENCY_P50_MS, ANY, 0, 0, 1},
    {"latency_p95_ms", KL_METRIC_LATENCY_P95_MS, ANY, 0, 0, 1},
    {"latency_p99_ms", KL_METRIC_LATENCY_P99_MS, ANY, 0, 0, 1},
    {"throughput_rps", KL_METRIC_THROUGHPUT_RPS, ANY, 1, 0, 1},
    {"error_rate", KL_METRIC_ERROR_RATE, ANY, 0, 0, 1},
};

const kl_metric_desc *kl_metric_by_name(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < KL_ARRAY_LEN(registry); i++)
        if (!strcmp(registry[i].name, name))
            return &registry[i];
    return NULL;
}

size_t kl_metric_count(void)
{
    return KL_ARRAY_LEN(registry);
}

const kl_metric_desc *kl_metric_at(size_t i)
{
    return i < KL_ARRAY_LEN(registry) ? &registry[i] : NULL;
}
