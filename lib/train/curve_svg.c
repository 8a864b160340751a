/*
 * The learning-curve chart: one self-contained SVG (no scripts, no external
 * fonts) with the fold-mean metric per training size as points, ±1 standard
 * deviation as whiskers, and the fitted power law as a dashed line. The x
 * axis is linear in training rows from 0; the y axis spans the data and the
 * fitted curve. Written to a temporary file and renamed, so a reader never
 * sees half a chart.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "keel/curve.h"
#include "train/chart_internal.h"
#include "core/common.h"

int kl_curve_svg_write(const kl_curve *c, const char *path, kl_err *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *fp = fopen(tmp, "w");
    if (!fp)
        return kl_err_set(err, KL_EIO, "cannot write '%s'", path);
    const kl_metric_desc *d = kl_metric_by_name(c->metric);
    int hib = d && d->higher_is_better;
    double xmax = (double)c->sizes[c->n_sizes - 1] * 1.05, lo = INFINITY, hi = -INFINITY;
    for (size_t s = 0; s < c->n_sizes; s++) {
        lo = fmin(lo, c->mean[s] - c->std[s]);
        hi = fmax(hi, c->mean[s] + c->std[s]);
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
            "<text x=\"%d\" y=\"22\" font-size=\"14\">learning curve: %s vs training rows</text>\n",
            L, c->metric);
    fprintf(fp, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", L, H - B,
            W - R, H - B);
    fprintf(fp, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", L, T, L,
            H - B);
    for (int i = 0; i <= 4; i++) {
        double yv = lo + (hi - lo) * i / 4, xv = xmax * i / 4;
        fprintf(fp, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n", L - 6,
                py(yv, lo, hi) + 4, yv);
        fprintf(fp, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0f</text>\n", px(xv, xmax),
                H - B + 18, xv);
    }
    fprintf(fp, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">training rows</text>\n",
            (L + W - R) / 2, H - 10);
    if (c->fit_ok) {
        fprintf(fp,
                "<polyline fill=\"none\" stroke=\"#d62728\" stroke-dasharray=\"5,4\" points=\"");
        for (int i = 1; i <= 100; i++) {
            double x = xmax * i / 100, e = c->a * pow(x, -c->b) + c->c, y = hib ? 1 - e : e;
            if (y < lo || y > hi)
                continue;
            fprintf(fp, "%.1f,%.1f ", px(x, xmax), py(y, lo, hi));
        }
        fprintf(fp, "\"/>\n");
    }
    fprintf(fp, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"");
    for (size_t s = 0; s < c->n_sizes; s++)
        fprintf(fp, "%.1f,%.1f ", px((double)c->sizes[s], xmax), py(c->mean[s], lo, hi));
    fprintf(fp, "\"/>\n");
    for (size_t s = 0; s < c->n_sizes; s++) {
        double x = px((double)c->sizes[s], xmax);
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1f77b4\"/>\n",
                x, py(c->mean[s] - c->std[s], lo, hi), x, py(c->mean[s] + c->std[s], lo, hi));
        fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#1f77b4\"/>\n", x,
                py(c->mean[s], lo, hi));
    }
    fprintf(fp, "</svg>\n");
    int bad = ferror(fp);
    if (fclose(fp) != 0 || bad || rename(tmp, path) != 0) {
        remove(tmp);
        return kl_err_set(err, KL_EIO, "cannot write '%s'", path);
    }
    return 0;
}
