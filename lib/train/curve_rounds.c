/*
 * The per-round chart of a boosting run: the training and validation metric
 * of the validation fits per round on one pair of axes (blue training, orange
 * validation), the best round marked by a dashed line. One self-contained SVG
 * (no scripts, no external fonts), drawn the way the learning-curve chart is
 * (curve_svg.c), built in memory because it is stored as a run artifact
 * rather than written to a file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/curve.h"
#include "train/chart_internal.h"
#include "core/common.h"

/* At most this many points per line: long runs are thinned evenly (first and last kept). */
#define MAX_POINTS 1000

static void polyline(FILE *fp, const double *v, size_t n, double lo, double hi, const char *color)
{
    size_t step = n > MAX_POINTS ? (n + MAX_POINTS - 1) / MAX_POINTS : 1;
    fprintf(fp, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", color);
    for (size_t i = 0; i < n; i += step)
        fprintf(fp, "%.1f,%.1f ", px((double)(i + 1), (double)n), py(v[i], lo, hi));
    if ((n - 1) % step)
        fprintf(fp, "%.1f,%.1f ", px((double)n, (double)n), py(v[n - 1], lo, hi));
    fprintf(fp, "\"/>\n");
}

int kl_curve_rounds_svg(const kl_train_result *r, char **svg, size_t *len, kl_err *err)
{
    *svg = NULL;
    *len = 0;
    if (!r->round_metric || r->n_rounds == 0)
        return kl_err_set(err, KL_EINVAL, "the run has no per-round curves");
    FILE *fp = open_memstream(svg, len);
    if (!fp)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    size_t n = r->n_rounds;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        lo = fmin(lo, fmin(r->round_train[i], r->round_valid[i]));
        hi = fmax(hi, fmax(r->round_train[i], r->round_valid[i]));
    }
    if (!(hi > lo)) {
        lo -= 0.5;
        hi += 0.5;
    }
    double pad = 0.08 * (hi - lo);
    lo -= pad;
    hi += pad;
    fprintf(fp,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n",
            W, H, W, H);
    fprintf(fp, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H);
    fprintf(fp,
            "<text x=\"%d\" y=\"22\" font-size=\"14\">%s per round: training (blue), "
            "validation (orange)</text>\n",
            L, r->round_metric);
    fprintf(fp, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", L, H - B,
            W - R, H - B);
    fprintf(fp, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", L, T, L,
            H - B);
    for (int i = 0; i <= 4; i++) {
        double yv = lo + (hi - lo) * i / 4, xv = (double)n * i / 4;
        fprintf(fp, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n", L - 6,
                py(yv, lo, hi) + 4, yv);
        fprintf(fp, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0f</text>\n",
                px(xv, (double)n), H - B + 18, xv);
    }
    fprintf(fp, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">round</text>\n", (L + W - R) / 2,
            H - 10);
    double bx = px((double)(r->best_round + 1), (double)n);
    fprintf(fp,
            "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"gray\" "
            "stroke-dasharray=\"5,4\"/>\n",
            bx, T, bx, H - B);
    fprintf(fp, "<text x=\"%.1f\" y=\"%d\" fill=\"gray\">best iteration %zu</text>\n", bx + 4,
            T + 12, r->best_round);
    polyline(fp, r->round_train, n, lo, hi, "#1f77b4");
    polyline(fp, r->round_valid, n, lo, hi, "#ff7f0e");
    fprintf(fp, "</svg>\n");
    int bad = ferror(fp);
    if (fclose(fp) != 0 || bad) {
        free(*svg);
        *svg = NULL;
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    return 0;
}
