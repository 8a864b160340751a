/*
 * SVG charts for keel's HTML reports.
 *
 * Invariants: each function writes exactly one <svg>...</svg> element, with
 * every text escaped, every number finite (non-finite inputs are drawn as
 * empty or grey) and no reference to anything outside the element, so a
 * report stays one self-contained file.
 *
 * The elements carry no xmlns attribute: HTML5 puts inline <svg> in the SVG
 * namespace by itself, and the reports must not hold a single URL.
 *
 * Why this design: SVG written directly with fprintf is a few hundred lines
 * and needs no JavaScript charting library, which a report that must open
 * without a network could not load anyway.
 */
#include <math.h>
#include <stdio.h>

#include "keel/svg.h"
#include "core/common.h"

void kl_svg_escape(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", fp);
            break;
        case '<':
            fputs("&lt;", fp);
            break;
        case '>':
            fputs("&gt;", fp);
            break;
        case '"':
            fputs("&quot;", fp);
            break;
        case '\'':
            fputs("&#39;", fp);
            break;
        default:
            fputc(*s, fp);
        }
    }
}

static void open_svg(FILE *fp, int w, int h)
{
    fprintf(fp,
            "<svg width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"10\">",
            w, h, w, h);
}

void kl_svg_histogram(FILE *fp, const size_t *counts, size_t n, double lo, double hi, int width,
                      int height)
{
    open_svg(fp, width, height);
    size_t top = 0;
    for (size_t i = 0; i < n; i++)
        top = KL_MAX(top, counts[i]);
    double plot_h = height - 16.0, bw = n ? (double)width / (double)n : 0;
    for (size_t i = 0; i < n && top; i++) {
        if (!counts[i])
            continue;
        double h = plot_h * (double)counts[i] / (double)top;
        fprintf(fp,
                "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#4c78a8\">"
                "<title>%zu</title></rect>",
                bw * (double)i, plot_h - h, bw > 1 ? bw - 0.5 : bw, h, counts[i]);
    }
    if (isfinite(lo) && isfinite(hi))
        fprintf(fp,
                "<text x=\"0\" y=\"%d\">%.6g</text><text x=\"%d\" y=\"%d\" "
                "text-anchor=\"end\">%.6g</text>",
                height - 3, lo, width, height - 3, hi);
    fputs("</svg>", fp);
}

void kl_svg_bars(FILE *fp, const char *const *labels, const double *values, size_t n, int width)
{
    int row = 16, label_w = width / 3, height = (int)n * row + 2;
    open_svg(fp, width, height);
    double top = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(values[i]))
            top = KL_MAX(top, values[i]);
    for (size_t i = 0; i < n; i++) {
        double v = isfinite(values[i]) && top > 0 ? values[i] / top : 0;
        int y = (int)i * row;
        fprintf(fp, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", label_w - 4, y + 12);
        kl_svg_escape(fp, labels[i]);
        fprintf(fp,
                "</text><rect x=\"%d\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"#f58518\">"
                "<title>%.6g</title></rect>",
                label_w, y + 2, v * (width - label_w - 2), row - 4,
                isfinite(values[i]) ? values[i] : 0);
    }
    fputs("</svg>", fp);
}

void kl_svg_heatmap(FILE *fp, const char *const *labels, const double *v, size_t n, int cell)
{
    int label_w = 120, size = label_w + (int)n * cell;
    open_svg(fp, size, size);
    for (size_t i = 0; i < n; i++) {
        fprintf(fp, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", label_w - 4,
                label_w + (int)i * cell + cell / 2 + 3);
        kl_svg_escape(fp, labels[i]);
        fputs("</text>", fp);
        int x = label_w + (int)i * cell + cell / 2 + 3;
        fprintf(fp, "<text x=\"%d\" y=\"%d\" transform=\"rotate(-60 %d %d)\">", x, label_w - 4, x,
                label_w - 4);
        kl_svg_escape(fp, labels[i]);
        fputs("</text>", fp);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double x = v[i * n + j];
            int r = 220, g = 220, b = 220;
            if (isfinite(x)) {
                double a = fabs(x) > 1 ? 1 : fabs(x);
                int fade = (int)lround(255 * (1 - a));
                r = x >= 0 ? 255 : fade;
                b = x >= 0 ? fade : 255;
                g = fade;
            }
            fprintf(fp,
                    "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                    "fill=\"rgb(%d,%d,%d)\"><title>",
                    label_w + (int)j * cell, label_w + (int)i * cell, cell, cell, r, g, b);
            kl_svg_escape(fp, labels[i]);
            fputs(" / ", fp);
            kl_svg_escape(fp, labels[j]);
            if (isfinite(x))
                fprintf(fp, ": %.3f</title></rect>", x);
            else
                fputs(": undefined</title></rect>", fp);
        }
    fputs("</svg>", fp);
}

void kl_svg_line(FILE *fp, const double *x, const double *y, size_t n, int width, int height)
{
    open_svg(fp, width, height);
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]) && isfinite(y[i])) {
            x0 = KL_MIN(x0, x[i]);
            x1 = KL_MAX(x1, x[i]);
            y0 = KL_MIN(y0, y[i]);
            y1 = KL_MAX(y1, y[i]);
        }
    if (x0 <= x1) {
        double sx = x1 > x0 ? (width - 4) / (x1 - x0) : 0,
               sy = y1 > y0 ? (height - 4) / (y1 - y0) : 0;
        fputs("<polyline fill=\"none\" stroke=\"#4c78a8\" stroke-width=\"1.5\" points=\"", fp);
        for (size_t i = 0; i < n; i++)
            if (isfinite(x[i]) && isfinite(y[i]))
                fprintf(fp, "%.2f,%.2f ", 2 + (x[i] - x0) * sx, height - 2 - (y[i] - y0) * sy);
        fputs("\"/>", fp);
    }
    fputs("</svg>", fp);
}
