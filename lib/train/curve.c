/*
 * The learning curve and the labelling estimate (method in curve.h).
 *
 * Each point is a full kl_train on a subset with the fold's validation rows
 * given as opts.valid, so a curve point is measured by exactly the code that
 * measures a run. Subsets are nested (the first m rows of one seeded
 * permutation of the fold's training rows), so a larger size only adds rows.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keel/curve.h"
#include "keel/rng.h"
#include "keel/split.h"
#include "core/common.h"

static const double fractions[KL_CURVE_SIZES] = {0.1, 0.325, 0.55, 0.775, 1.0};

int kl_curve_fit_power(const double *x, const double *e, size_t n, double *a, double *b, double *c)
{
    double best = INFINITY;
    int ok = 0;
    for (int step = 1; step <= 300; step++) {
        double bb = step * 0.01, sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (size_t i = 0; i < n; i++) {
            double t = pow(x[i], -bb);
            sx += t;
            sy += e[i];
            sxx += t * t;
            sxy += t * e[i];
        }
        double dn = (double)n, det = dn * sxx - sx * sx, aa, cc;
        if (det <= 0)
            continue;
        aa = (dn * sxy - sx * sy) / det;
        cc = (sy - aa * sx) / dn;
        if (cc < 0) { /* c = 0: least squares through the origin */
            cc = 0;
            aa = sxy / sxx;
        }
        if (aa < 0)
            continue;
        double sse = 0;
        for (size_t i = 0; i < n; i++) {
            double r = e[i] - (aa * pow(x[i], -bb) + cc);
            sse += r * r;
        }
        if (sse < best) {
            best = sse;
            *a = aa;
            *b = bb;
            *c = cc;
            ok = 1;
        }
    }
    return ok;
}

double kl_curve_rows_for(double a, double b, double c, double e)
{
    if (!(e > c))
        return INFINITY;
    if (a <= 0)
        return 1;
    return pow(a / (e - c), 1.0 / b);
}

/* Metric value -> an error that falls with more data. */
static double to_err(const kl_metric_desc *d, double v)
{
    return d->higher_is_better ? 1 - v : v;
}

void kl_curve_release(kl_curve *c)
{
    free(c->values);
    memset(c, 0, sizeof *c);
}

static size_t metric_index(const kl_curve *c, const char *name)
{
    for (size_t m = 0; m < c->n_metrics; m++)
        if (!strcmp(c->metrics[m]->name, name))
            return m;
    return SIZE_MAX;
}

/* Per-SLA estimates from the curve of the SLA's metric. */
static void estimate(kl_curve *c, const kl_spec *spec)
{
    double x[KL_CURVE_SIZES], e[KL_CURVE_SIZES];
    for (size_t s = 0; s < c->n_sizes; s++)
        x[s] = (double)c->sizes[s];
    for (size_t i = 0; spec && i < spec->n_sla && c->n_targets < KL_CURVE_MAX_TARGETS; i++) {
        const kl_spec_sla *sla = &spec->sla[i];
        size_t m = metric_index(c, sla->metric);
        if (sla->on != KL_SLA_ON_VALIDATION || m == SIZE_MAX)
            continue;
        const kl_metric_desc *d = c->metrics[m];
        if ((sla->bound == KL_SLA_BOUND_MIN) != (d->higher_is_better != 0))
            continue; /* a bound the metric does not move toward with more data */
        kl_curve_target *t = &c->targets[c->n_targets++];
        *t = (kl_curve_target){sla->metric, sla->bound, sla->threshold, 0, NAN, NAN, NAN, NAN, NAN};
        double goal = to_err(d, sla->threshold);
        for (size_t s = 0; s < c->n_sizes; s++) {
            double sum = 0;
            for (size_t k = 0; k < c->n_folds; k++)
                sum += c->values[(m * c->n_sizes + s) * c->n_folds + k];
            e[s] = to_err(d, sum / (double)c->n_folds);
        }
        double a, b, cc;
        if (!kl_curve_fit_power(x, e, c->n_sizes, &a, &b, &cc)) {
            t->rows_needed = t->rows_low = t->rows_high = INFINITY;
            continue;
        }
        t->rows_needed = kl_curve_rows_for(a, b, cc, goal);
        t->reachable = isfinite(t->rows_needed);
        double lo = INFINITY, hi = 0;
        for (size_t k = 0; k < c->n_folds; k++) {
            double ek[KL_CURVE_SIZES], ak, bk, ck, rk = INFINITY;
            for (size_t s = 0; s < c->n_sizes; s++)
                ek[s] = to_err(d, c->values[(m * c->n_sizes + s) * c->n_folds + k]);
            if (kl_curve_fit_power(x, ek, c->n_sizes, &ak, &bk, &ck))
                rk = kl_curve_rows_for(ak, bk, ck, goal);
            lo = fmin(lo, rk);
            hi = fmax(hi, rk);
        }
        t->rows_low = fmin(lo, t->rows_needed);
        t->rows_high = fmax(hi, t->rows_needed);
        t->extra_rows = t->reachable ? fmax(0, ceil(t->rows_needed) - (double)c->n_rows) : NAN;
        t->cost = t->reachable && isfinite(c->label_cost) ? t->extra_rows * c->label_cost : NAN;
    }
}

int kl_curve_run(const kl_frame *f, const kl_curve_opts *opts, kl_curve *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    const kl_train_opts *to = opts->train;
    const kl_spec *spec = to->spec;
    enum kl_task task = to->has_task ? to->task : spec ? spec->objective.task : KL_TASK_REGRESSION;
    if (task == KL_TASK_FORECAST)
        return kl_err_set(err, KL_EUNSUPPORTED,
                          "the learning curve needs a regression or classification task");
    size_t n = kl_frame_row_count(f);
    out->n_rows = n;
    out->n_sizes = KL_CURVE_SIZES;
    out->n_folds = opts->folds ? opts->folds : to->cv_folds >= 2 ? to->cv_folds : 5;
    out->label_cost = opts->label_cost > 0                 ? opts->label_cost
                      : spec && spec->train.has_label_cost ? spec->train.label_cost
                                                           : NAN;
    if (opts->svg_path)
        snprintf(out->svg_path, sizeof out->svg_path, "%s", opts->svg_path);
    uint64_t seed = to->has_seed ? to->seed : spec ? spec->train.seed : 42;
    const char *target = to->target ? to->target : spec ? spec->objective.target : NULL;
    long tc = target ? kl_frame_col_index(f, target) : -1;
    if (tc < 0)
        return kl_err_set(err, KL_ENOTFOUND, "no target column '%s' in the data",
                          target ? target : "");

    /* folds: stratified by the target's values for classification */
    double *lab = NULL;
    kl_split *sp = NULL;
    kl_split_opts so = {
        .method = KL_SPLIT_METHOD_KFOLD, .seed = seed, .folds = out->n_folds, .shuffle = 1};
    int rc = 0;
    if (task == KL_TASK_CLASSIFICATION) {
        so.method = KL_SPLIT_METHOD_STRATIFIED_KFOLD;
        if (!(lab = malloc(n * sizeof *lab)))
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        char buf[128];
        size_t j = (size_t)tc;
        for (size_t i = 0; i < n; i++) {
            const double *v = kl_frame_col_f64(f, j);
            const int32_t *cd = kl_frame_col_codes(f, j);
            const uint8_t *bl = kl_frame_col_bool(f, j);
            lab[i] = v ? v[i] : cd ? cd[i] : bl ? bl[i] : 0;
            if (!kl_frame_cell_str(f, i, j, buf, sizeof buf) || !isfinite(lab[i]))
                lab[i] = -1;
        }
    }
    rc = kl_split_new(&sp, n, lab, NULL, &so, err);
    free(lab);
    if (rc < 0)
        return rc;
    size_t cap = KL_EVAL_MAX_METRICS * KL_CURVE_SIZES * out->n_folds;
    size_t *perm = malloc((n ? n : 1) * sizeof *perm);
    out->values = malloc(cap * sizeof(double));
    if (!perm || !out->values) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    size_t size_sum[KL_CURVE_SIZES] = {0};
    for (size_t k = 0; k < sp->n_folds && rc == 0; k++) {
        const kl_fold *fd = &sp->folds[k];
        kl_frame *test = NULL;
        if ((rc = kl_frame_take(f, fd->test, fd->n_test, &test, err)) < 0)
            break;
        memcpy(perm, fd->train, fd->n_train * sizeof *perm);
        kl_rng rng;
        kl_rng_stream(&rng, seed, k);
        kl_rng_shuffle_size(&rng, perm, fd->n_train);
        for (size_t s = 0; s < KL_CURVE_SIZES && rc == 0; s++) {
            size_t m = (size_t)ceil(fractions[s] * (double)fd->n_train);
            if (m < 2)
                m = KL_MIN((size_t)2, fd->n_train);
            size_sum[s] += m;
            kl_frame *sub = NULL;
            kl_train_opts o = *to;
            o.valid = test;
            o.cv_folds = 0;
            kl_train_result r = {0};
            if ((rc = kl_frame_take(f, perm, m, &sub, err)) == 0 &&
                (rc = kl_train(sub, &o, &r, err)) == 0) {
                if (k == 0 && s == 0) {
                    out->metric = r.main_metric;
                    out->n_metrics = r.n_metrics;
                    for (size_t j = 0; j < r.n_metrics; j++)
                        out->metrics[j] = r.metrics[j].desc;
                }
                for (size_t j = 0; j < out->n_metrics; j++) {
                    double v = NAN;
                    for (size_t q = 0; q < r.n_metrics; q++)
                        if (r.metrics[q].desc == out->metrics[j])
                            v = r.metrics[q].mean;
                    out->values[(j * KL_CURVE_SIZES + s) * out->n_folds + k] = v;
                }
            } else {
                kl_err_ctx(err, "learning curve, %zu rows, fold %zu", m, k + 1);
            }
            kl_train_result_release(&r);
            kl_frame_free(sub);
        }
        kl_frame_free(test);
    }
    if (rc < 0)
        goto done;
    for (size_t s = 0; s < KL_CURVE_SIZES; s++)
        out->sizes[s] = (size_sum[s] + sp->n_folds / 2) / sp->n_folds;
    /* a metric undefined in some fold (NaN) is dropped from the curve */
    size_t keep = 0;
    for (size_t j = 0; j < out->n_metrics; j++) {
        int finite = 1;
        for (size_t q = 0; q < KL_CURVE_SIZES * out->n_folds; q++)
            finite &= isfinite(out->values[j * KL_CURVE_SIZES * out->n_folds + q]) != 0;
        if (!finite)
            continue;
        memmove(out->values + keep * KL_CURVE_SIZES * out->n_folds,
                out->values + j * KL_CURVE_SIZES * out->n_folds,
                KL_CURVE_SIZES * out->n_folds * sizeof(double));
        out->metrics[keep++] = out->metrics[j];
    }
    out->n_metrics = keep;
    size_t mm = metric_index(out, out->metric);
    if (mm == SIZE_MAX) {
        rc = kl_err_set(err, KL_EINVAL, "the metric '%s' is undefined on some learning-curve fold",
                        out->metric);
        goto done;
    }
    const kl_metric_desc *d = out->metrics[mm];
    double x[KL_CURVE_SIZES], e[KL_CURVE_SIZES];
    for (size_t s = 0; s < KL_CURVE_SIZES; s++) {
        const double *v = out->values + (mm * KL_CURVE_SIZES + s) * out->n_folds;
        double sum = 0, ss = 0;
        for (size_t k = 0; k < out->n_folds; k++)
            sum += v[k];
        out->mean[s] = sum / (double)out->n_folds;
        for (size_t k = 0; k < out->n_folds; k++)
            ss += (v[k] - out->mean[s]) * (v[k] - out->mean[s]);
        out->std[s] = out->n_folds > 1 ? sqrt(ss / (double)(out->n_folds - 1)) : 0;
        x[s] = (double)out->sizes[s];
        e[s] = to_err(d, out->mean[s]);
    }
    out->fit_ok = kl_curve_fit_power(x, e, KL_CURVE_SIZES, &out->a, &out->b, &out->c);
    estimate(out, spec);
    if (opts->svg_path)
        rc = kl_curve_svg_write(out, opts->svg_path, err);
done:
    free(perm);
    kl_split_free(sp);
    if (rc < 0)
        kl_curve_release(out);
    return rc;
}

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *kl_curve_json(const kl_curve *c)
{
    json_t *o = json_object(), *pts = json_array(), *tg = json_array();
    for (size_t s = 0; s < c->n_sizes; s++)
        json_array_append_new(pts, json_pack("{s:I, s:o, s:o}", "rows", (json_int_t)c->sizes[s],
                                             "mean", num(c->mean[s]), "std", num(c->std[s])));
    for (size_t i = 0; i < c->n_targets; i++) {
        const kl_curve_target *t = &c->targets[i];
        json_array_append_new(
            tg,
            json_pack("{s:s, s:s, s:f, s:b, s:o, s:o, s:o, s:o, s:o}", "metric", t->metric, "bound",
                      t->bound == KL_SLA_BOUND_MIN ? "min" : "max", "threshold", t->threshold,
                      "reachable", t->reachable, "rows_needed", num(t->rows_needed), "rows_low",
                      num(t->rows_low), "rows_high", num(t->rows_high), "extra_rows",
                      num(t->extra_rows), "cost", num(t->cost)));
    }
    json_object_set_new(o, "metric", json_string(c->metric));
    json_object_set_new(o, "folds", json_integer((json_int_t)c->n_folds));
    json_object_set_new(o, "points", pts);
    json_object_set_new(o, "power_law",
                        c->fit_ok ? json_pack("{s:f, s:f, s:f}", "a", c->a, "b", c->b, "c", c->c)
                                  : json_null());
    json_object_set_new(o, "label_cost", num(c->label_cost));
    json_object_set_new(o, "sla", tg);
    json_object_set_new(o, "svg", c->svg_path[0] ? json_string(c->svg_path) : json_null());
    return o;
}
