/*
 * Decision threshold of a binary classifier, chosen on validation scores.
 *
 * Rows are sorted by score, highest first, and swept once: after the rows
 * with score >= t are called positive, tp/fp/tn/fn are known in O(1), so
 * every distinct score is tried in O(n log n) overall. The objective is F1
 * or a KPI formula over the confusion counts (expected cost or gain, e.g.
 * "100*tp - 5*fp"), evaluated per candidate by kl_kpi_formula_eval. Among
 * equally good thresholds the highest wins (fewest positive calls).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keel/evaluate.h"
#include "core/common.h"

const char *kl_threshold_method_name(enum kl_threshold_method m)
{
    switch (m) {
    case KL_THRESHOLD_METHOD_FIXED:
        return "fixed";
    case KL_THRESHOLD_METHOD_F1:
        return "f1";
    case KL_THRESHOLD_METHOD_COST:
        return "cost";
    }
    return "?";
}

struct item {
    double s, y;
};

static int cmp_desc(const void *a, const void *b)
{
    double x = ((const struct item *)a)->s, y = ((const struct item *)b)->s;
    return x < y ? 1 : x > y ? -1 : 0;
}

int kl_threshold_choose(const double *score, const double *is_pos, size_t n,
                        enum kl_threshold_method method, const char *formula,
                        enum kl_kpi_direction direction, double *threshold, double *best,
                        kl_err *err)
{
    if (!n)
        return kl_err_set(err, KL_EINVAL, "no rows to choose a threshold on");
    if (method == KL_THRESHOLD_METHOD_FIXED) {
        *best = NAN;
        if (!(*threshold > 0))
            *threshold = 0.5;
        return 0;
    }
    if (method == KL_THRESHOLD_METHOD_COST && !formula)
        return kl_err_set(err, KL_EINVAL, "choosing a threshold by cost needs a kpi formula");
    struct item *it = malloc(n * sizeof *it);
    if (!it)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    double P = 0;
    for (size_t i = 0; i < n; i++) {
        it[i] = (struct item){score[i], is_pos[i] != 0 ? 1.0 : 0.0};
        P += it[i].y;
    }
    qsort(it, n, sizeof *it, cmp_desc);
    kl_eval_result r;
    memset(&r, 0, sizeof r);
    r.n = (double)n;
    double tp = 0, fp = 0, best_v = NAN, best_t = NAN;
    int rc = 0;
    for (size_t i = 0; i < n;) {
        double t = it[i].s;
        while (i < n && it[i].s == t) {
            tp += it[i].y;
            fp += 1 - it[i].y;
            i++;
        }
        double v;
        if (method == KL_THRESHOLD_METHOD_F1) {
            v = tp > 0 ? 2 * tp / (2 * tp + fp + (P - tp)) : 0;
        } else {
            r.tp = tp;
            r.fp = fp;
            r.fn = P - tp;
            r.tn = (double)n - P - fp;
            r.sum_actual = P;
            r.sum_predicted = tp + fp;
            r.mean_actual = P / r.n;
            r.mean_predicted = (tp + fp) / r.n;
            r.sum_abs_error = r.sum_squared_error = NAN;
            if ((rc = kl_kpi_formula_eval(formula, kl_eval_kpi_lookup, &r, &v, err)) < 0)
                break;
        }
        int better =
            isnan(best_v) ||
            (method == KL_THRESHOLD_METHOD_COST && direction == KL_KPI_DIRECTION_MIN ? v < best_v
                                                                                     : v > best_v);
        if (better) {
            best_v = v;
            best_t = t;
        }
    }
    free(it);
    if (rc < 0)
        return rc;
    *threshold = best_t;
    *best = best_v;
    return 0;
}
