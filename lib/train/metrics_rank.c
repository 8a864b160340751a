/*
 * Metrics from scores and probabilities: ROC AUC (binary and one-vs-rest),
 * average precision, log loss, Brier score and the calibration curve, as
 * scikit-learn 1.2.1 defines them (see keel/metrics.h for each edge case).
 *
 * The ranking metrics walk the samples once in decreasing score order after
 * one radix sort of (score key, signed weight: + positive, - negative) items, and
 * evaluate the curve only where the score changes: that is exactly
 * scikit-learn's _binary_clf_curve ("distinct value indices"), so ties move
 * the true- and false-positive sums together. Radix rather than comparison
 * sort because it is O(n), needs no comparator calls and the scratch buffer
 * (2n items) is the only allocation of a call.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "keel/err.h"
#include "keel/metrics.h"
#include "train/metrics_internal.h"
#include "core/common.h"

static double weight_at(const double *w, size_t i)
{
    return w ? w[i] : 1.0;
}

/*
 * y_true of a binary metric: at most two distinct labels, and pos_label one
 * of them when there are two (scikit-learn's _check_pos_label_consistency
 * with an explicit pos_label).
 */
static int check_binary(const char *metric, const double *y_true, size_t n, double pos_label,
                        kl_err *err)
{
    if (!isfinite(pos_label))
        return kl__metric_fail(err, metric, KL_EINVAL, "positive label is not finite");
    double a = y_true[0], b = NAN;
    for (size_t i = 1; i < n; i++) {
        double y = y_true[i];
        if (y == a || y == b)
            continue;
        if (isnan(b)) {
            b = y;
            continue;
        }
        return kl__metric_fail(err, metric, KL_EINVAL,
                               "%s needs a binary target, but y_true holds at least three labels "
                               "(%g, %g, %g)",
                               metric, KL_MIN(a, b), KL_MAX(a, b), y);
    }
    if (!isnan(b) && pos_label != a && pos_label != b)
        return kl__metric_fail(err, metric, KL_EINVAL,
                               "positive label %g is not one of the labels in y_true (%g, %g)",
                               pos_label, KL_MIN(a, b), KL_MAX(a, b));
    return 0;
}

static int check_common(const char *metric, const double *y_true, const double *score, size_t n,
                        const double *w, double *out, kl_err *err)
{
    *out = NAN;
    int rc = kl__metric_check(metric, "y_true", y_true, n, err);
    if (!rc)
        rc = kl__metric_check(metric, "y_score", score, n, err);
    if (!rc)
        rc = kl__metric_check_weights(metric, w, n, err);
    return rc;
}

/* ---- the ranking curve ---- */

/*
 * Items (score, +weight if positive, -weight if negative) for the samples of
 * nonzero weight, sorted by ascending score; returns how many, and their
 * total positive and negative weight. -0.0 becomes 0.0 so equal scores share
 * one key. items holds 2n (the second half is sort scratch).
 */
static size_t curve_items(kl__sort_item *items, const double *cls, double pos, const double *score,
                          size_t stride, size_t n, const double *w, double *p_total,
                          double *n_total)
{
    size_t m = 0;
    double tp = 0, tn = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = weight_at(w, i);
        if (wi == 0)
            continue;
        int is_pos = cls[i] == pos;
        items[m++] = (kl__sort_item){kl__sort_key(score[i * stride] + 0.0), is_pos ? wi : -wi};
        if (is_pos)
            tp += wi;
        else
            tn += wi;
    }
    kl__sort_items(items, items + m, m);
    *p_total = tp;
    *n_total = tn;
    return m;
}

/*
 * Trapezoidal area under (fp, tp) over thresholds in decreasing order, divided
 * by P*N: each threshold adds the trapezoid of width dfp between heights tp
 * and tp + dtp.
 */
static double auc_of(const kl__sort_item *items, size_t m, double p_total, double n_total)
{
    double tp = 0, area = 0;
    size_t i = m;
    while (i > 0) {
        uint64_t key = items[i - 1].key;
        double dtp = 0, dfp = 0;
        for (; i > 0 && items[i - 1].key == key; i--) {
            double v = items[i - 1].a;
            if (v > 0)
                dtp += v;
            else
                dfp -= v;
        }
        area += dfp * (2 * tp + dtp) / 2;
        tp += dtp;
    }
    return area / (p_total * n_total);
}

/*
 * Binary ROC AUC of cls[i] == pos against score[i*stride]. items
 * holds 2n. Returns KL_EINVAL when one class has no weight.
 */
static int binary_auc(const char *metric, kl__sort_item *items, const double *cls, double pos,
                      const double *score, size_t stride, size_t n, const double *w, double *out,
                      kl_err *err)
{
    double p_total, n_total;
    size_t m = curve_items(items, cls, pos, score, stride, n, w, &p_total, &n_total);
    if (!(p_total > 0) || !(n_total > 0))
        return kl__metric_fail(err, metric, KL_EINVAL,
                               "only one class present in y_true; ROC AUC is not defined then");
    *out = auc_of(items, m, p_total, n_total);
    return 0;
}

int kl_metric_roc_auc(const double *y_true, const double *score, size_t n, const double *w,
                      double pos_label, double *out, kl_err *err)
{
    const char *metric = "roc_auc";
    int rc = check_common(metric, y_true, score, n, w, out, err);
    if (!rc)
        rc = check_binary(metric, y_true, n, pos_label, err);
    if (rc)
        return rc;
    kl__sort_item *items = malloc(2 * n * sizeof *items);
    if (!items)
        return kl__metric_fail(err, metric, KL_ENOMEM, "out of memory sorting %zu scores", n);
    rc = binary_auc(metric, items, y_true, pos_label, score, 1, n, w, out, err);
    free(items);
    return rc;
}

int kl_metric_average_precision(const double *y_true, const double *score, size_t n,
                                const double *w, double pos_label, double *out, kl_err *err)
{
    const char *metric = "average_precision";
    int rc = check_common(metric, y_true, score, n, w, out, err);
    if (!rc)
        rc = check_binary(metric, y_true, n, pos_label, err);
    if (rc)
        return rc;
    kl__sort_item *items = malloc(2 * n * sizeof *items);
    if (!items)
        return kl__metric_fail(err, metric, KL_ENOMEM, "out of memory sorting %zu scores", n);
    double p_total, n_total;
    size_t m = curve_items(items, y_true, pos_label, score, 1, n, w, &p_total, &n_total);
    double tp = 0, fp = 0, ap = 0, r_prev = 0;
    size_t i = m;
    while (i > 0) {
        uint64_t key = items[i - 1].key;
        for (; i > 0 && items[i - 1].key == key; i--) {
            double v = items[i - 1].a;
            if (v > 0)
                tp += v;
            else
                fp -= v;
        }
        double prec = tp + fp != 0 ? tp / (tp + fp) : 0;
        double rec = p_total != 0 ? tp / p_total : 1; /* no positives: recall set to 1 */
        ap += (rec - r_prev) * prec;
        r_prev = rec;
    }
    *out = ap;
    free(items);
    return 0;
}

/* ---- probabilities ---- */

int kl_metric_log_loss(const double *y_true, const double *p, size_t n, const double *w,
                       double pos_label, double eps, double *out, kl_err *err)
{
    const char *metric = "log_loss";
    int rc = check_common(metric, y_true, p, n, w, out, err);
    if (!rc)
        rc = check_binary(metric, y_true, n, pos_label, err);
    if (rc)
        return rc;
    if (!(eps > 0))
        eps = KL_LOG_LOSS_EPS_DEFAULT;
    double s = 0, sw = 0;
    for (size_t i = 0; i < n; i++) {
        double q1 = fmin(fmax(p[i], eps), 1 - eps), q0 = 1 - q1, sum = q0 + q1;
        double wi = weight_at(w, i);
        s += wi * -log((y_true[i] == pos_label ? q1 : q0) / sum);
        sw += wi;
    }
    *out = s / sw;
    return 0;
}

static int check_unit_interval(const char *metric, const double *p, size_t n, kl_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0 || p[i] > 1)
            return kl__metric_fail(err, metric, KL_EINVAL, "probability[%zu] is %g, outside [0, 1]",
                                   i, p[i]);
    return 0;
}

int kl_metric_brier(const double *y_true, const double *p, size_t n, const double *w,
                    double pos_label, double *out, kl_err *err)
{
    const char *metric = "brier";
    int rc = check_common(metric, y_true, p, n, w, out, err);
    if (!rc)
        rc = check_binary(metric, y_true, n, pos_label, err);
    if (!rc)
        rc = check_unit_interval(metric, p, n, err);
    if (rc)
        return rc;
    double s = 0, sw = 0;
    for (size_t i = 0; i < n; i++) {
        double wi = weight_at(w, i), d = (y_true[i] == pos_label) - p[i];
        s += wi * d * d;
        sw += wi;
    }
    *out = s / sw;
    return 0;
}

/* numpy.percentile(sorted, q*100) with the default linear method, bit for bit. */
static double percentile_linear(const kl__sort_item *sorted, size_t n, double q)
{
    double vi = (double)(n - 1) * q;
    if (vi >= (double)(n - 1))
        return kl__sort_key_value(sorted[n - 1].key);
    double prev = floor(vi), g = vi - prev;
    size_t j = (size_t)prev;
    double a = kl__sort_key_value(sorted[j].key), b = kl__sort_key_value(sorted[j + 1].key);
    double diff = b - a;
    return g >= 0.5 ? b - diff * (1 - g) : a + diff * g;
}

int kl_metric_calibration_curve(const double *y_true, const double *p, size_t n, double pos_label,
                                size_t n_bins, enum kl_calibration_strategy strategy,
                                double *prob_true, double *prob_pred, size_t *counts, size_t *n_out,
                                kl_err *err)
{
    const char *metric = "calibration_curve";
    double unused;
    *n_out = 0;
    int rc = check_common(metric, y_true, p, n, NULL, &unused, err);
    if (!rc)
        rc = check_binary(metric, y_true, n, pos_label, err);
    if (!rc)
        rc = check_unit_interval(metric, p, n, err);
    if (rc)
        return rc;
    if (n_bins == 0)
        return kl__metric_fail(err, metric, KL_EINVAL, "the number of bins must be at least 1");
    if (strategy != KL_CALIBRATION_STRATEGY_UNIFORM && strategy != KL_CALIBRATION_STRATEGY_QUANTILE)
        return kl__metric_fail(err, metric, KL_EINVAL, "unknown strategy %d", (int)strategy);

    /* Scratch: n_bins+1 edges and 3 sums per bin, plus sort items for quantiles. */
    size_t n_items = strategy == KL_CALIBRATION_STRATEGY_QUANTILE ? 2 * n : 0;
    double *edges = malloc((4 * (n_bins + 1)) * sizeof *edges + n_items * sizeof(kl__sort_item));
    if (!edges)
        return kl__metric_fail(err, metric, KL_ENOMEM, "out of memory for %zu bins", n_bins);
    double *sum_p = edges + (n_bins + 1), *sum_t = sum_p + (n_bins + 1);
    double *total = sum_t + (n_bins + 1);
    memset(sum_p, 0, 3 * (n_bins + 1) * sizeof *sum_p);

    /* numpy.linspace(0, 1, n_bins + 1): i * (1 / n_bins), the last exactly 1. */
    double step = 1.0 / (double)n_bins;
    if (strategy == KL_CALIBRATION_STRATEGY_UNIFORM) {
        for (size_t i = 0; i <= n_bins; i++)
            edges[i] = i == n_bins ? 1.0 : (double)i * step;
    } else {
        kl__sort_item *items = (kl__sort_item *)(total + (n_bins + 1));
        for (size_t i = 0; i < n; i++)
            items[i] = (kl__sort_item){kl__sort_key(p[i] + 0.0), 0};
        kl__sort_items(items, items + n, n);
        for (size_t i = 0; i <= n_bins; i++) {
            double q = i == n_bins ? 1.0 : (double)i * step;
            edges[i] = percentile_linear(items, n, q * 100 / 100);
        }
    }
    /* searchsorted(edges[1..n_bins-1], p, side="left"): the first inner edge >= p. */
    const double *inner = edges + 1;
    size_t n_inner = n_bins - 1;
    for (size_t i = 0; i < n; i++) {
        size_t lo = 0, hi = n_inner;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (inner[mid] < p[i])
                lo = mid + 1;
            else
                hi = mid;
        }
        sum_p[lo] += p[i];
        sum_t[lo] += y_true[i] == pos_label;
        total[lo] += 1;
    }
    size_t k = 0;
    for (size_t b = 0; b < n_bins; b++) {
        if (total[b] == 0)
            continue;
        prob_true[k] = sum_t[b] / total[b];
        prob_pred[k] = sum_p[b] / total[b];
        if (counts)
            counts[k] = (size_t)total[b];
        k++;
    }
    *n_out = k;
    free(edges);
    return 0;
}

/* ---- multiclass ---- */

/* Labels strictly increasing and finite; every y_true among them. */
static int check_multi(const char *metric, const double *y_true, const double *proba, size_t n,
                       size_t k, const double *labels, const double *w, double *out, kl_err *err)
{
    *out = NAN;
    int rc = kl__metric_check(metric, "y_true", y_true, n, err);
    if (!rc && k < 2)
        rc = kl__metric_fail(err, metric, KL_EINVAL, "%s needs at least two classes, got %zu",
                             metric, k);
    if (!rc && n > SIZE_MAX / k)
        rc = kl__metric_fail(err, metric, KL_ERANGE, "%zu x %zu probabilities overflow", n, k);
    if (!rc)
        rc = kl__metric_check(metric, "y_proba", proba, n * k, err);
    if (!rc)
        rc = kl__metric_check_weights(metric, w, n, err);
    if (rc)
        return rc;
    if (labels)
        for (size_t j = 0; j < k; j++)
            if (!isfinite(labels[j]) || (j > 0 && !(labels[j] > labels[j - 1])))
                return kl__metric_fail(err, metric, KL_EINVAL,
                                       "labels must be finite and strictly increasing "
                                       "(labels[%zu] is %g)",
                                       j, labels[j]);
    return 0;
}

/* Column of y in labels (NULL: 0..k-1), or k when y is none of them. */
static size_t label_column(const double *labels, size_t k, double y)
{
    if (!labels) {
        double j = floor(y);
        return j == y && y >= 0 && y < (double)k ? (size_t)j : k;
    }
    size_t lo = 0, hi = k;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (labels[mid] < y)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < k && labels[lo] == y ? lo : k;
}

/* col[i] = the column of y_true[i], as a double so it can stand in for a label. */
static int columns_of(const char *metric, const double *y_true, size_t n, size_t k,
                      const double *labels, double *col, kl_err *err)
{
    for (size_t i = 0; i < n; i++) {
        size_t c = label_column(labels, k, y_true[i]);
        col[i] = (double)c;
        if (c == k)
            return kl__metric_fail(err, metric, KL_EINVAL,
                                   "y_true[%zu] = %g is not one of the %zu class labels", i,
                                   y_true[i], k);
    }
    return 0;
}

int kl_metric_roc_auc_ovr(const double *y_true, const double *proba, size_t n, size_t k,
                          const double *labels, const double *w, enum kl_average avg, double *out,
                          kl_err *err)
{
    const char *metric = "roc_auc";
    int rc = check_multi(metric, y_true, proba, n, k, labels, w, out, err);
    if (rc)
        return rc;
    if (avg != KL_AVERAGE_MACRO && avg != KL_AVERAGE_WEIGHTED)
        return kl__metric_fail(err, metric, KL_EINVAL,
                               "one-vs-rest ROC AUC averages only macro or weighted");
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < k; j++)
            s += proba[i * k + j];
        if (!(fabs(s - 1) <= 1e-8 + 1e-5 * fabs(s)))
            return kl__metric_fail(err, metric, KL_EINVAL,
                                   "probabilities of row %zu sum to %g, not 1; multiclass ROC AUC "
                                   "needs probabilities",
                                   i, s);
    }
    /* Scratch: 2n sort items and n class columns. */
    kl__sort_item *items = malloc(2 * n * sizeof *items + n * sizeof(double));
    if (!items)
        return kl__metric_fail(err, metric, KL_ENOMEM, "out of memory sorting %zu scores", n);
    double *col = (double *)(items + 2 * n);
    rc = columns_of(metric, y_true, n, k, labels, col, err);
    double sum = 0, sum_w = 0;
    for (size_t j = 0; !rc && j < k; j++) {
        double support = 0, auc;
        for (size_t i = 0; i < n; i++)
            if (col[i] == (double)j)
                support += weight_at(w, i);
        rc = binary_auc(metric, items, col, (double)j, proba + j, k, n, w, &auc, err);
        if (rc) {
            kl__metric_fail(err, metric, KL_EINVAL,
                            "class %g has %s in y_true; its one-vs-rest ROC AUC is not defined",
                            labels ? labels[j] : (double)j,
                            support > 0 ? "every sample" : "no sample");
            break;
        }
        double wj = avg == KL_AVERAGE_WEIGHTED ? support : 1.0;
        sum += wj * auc;
        sum_w += wj;
    }
    if (!rc)
        *out = sum / sum_w;
    free(items);
    return rc;
}

int kl_metric_log_loss_multi(const double *y_true, const double *proba, size_t n, size_t k,
                             const double *labels, const double *w, double eps, double *out,
                             kl_err *err)
{
    const char *metric = "log_loss";
    int rc = check_multi(metric, y_true, proba, n, k, labels, w, out, err);
    if (rc)
        return rc;
    if (!(eps > 0))
        eps = KL_LOG_LOSS_EPS_DEFAULT;
    double s = 0, sw = 0;
    for (size_t i = 0; i < n; i++) {
        size_t c = label_column(labels, k, y_true[i]);
        if (c == k)
            return kl__metric_fail(err, metric, KL_EINVAL,
                                   "y_true[%zu] = %g is not one of the %zu class labels", i,
                                   y_true[i], k);
        const double *row = proba + i * k;
        double sum = 0;
        for (size_t j = 0; j < k; j++)
            sum += fmin(fmax(row[j], eps), 1 - eps);
        double wi = weight_at(w, i);
        s += wi * -log(fmin(fmax(row[c], eps), 1 - eps) / sum);
        sw += wi;
    }
    *out = s / sw;
    return 0;
}
