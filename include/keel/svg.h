/*
 * A small SVG chart writer: histogram, bar chart, heat map and line chart,
 * each written as one self-contained <svg> element (no scripts, no external
 * fonts or styles) for keel's HTML reports.
 *
 * Ownership: every argument is borrowed; the functions write to fp and keep
 * nothing. Text is XML-escaped. Write errors show in ferror(fp).
 */
#ifndef KEEL_SVG_H
#define KEEL_SVG_H

#include <stddef.h>
#include <stdio.h>

/* Write s with &, <, >, " and ' escaped for XML text and attribute values. */
void kl_svg_escape(FILE *fp, const char *s);

/* Bars for counts[0..n) of equal-width bins over [lo, hi], axis labels at lo and hi. */
void kl_svg_histogram(FILE *fp, const size_t *counts, size_t n, double lo, double hi, int width,
                      int height);

/* Horizontal bars, one per label, lengths proportional to values (>= 0). */
void kl_svg_bars(FILE *fp, const char *const *labels, const double *values, size_t n, int width);

/*
 * An n x n heat map of v (row-major) with values in [-1, 1]: blue for
 * negative, red for positive, grey for NaN; labels name rows and columns.
 */
void kl_svg_heatmap(FILE *fp, const char *const *labels, const double *v, size_t n, int cell);

/* A polyline through (x[i], y[i]), axes scaled to the data's range. */
void kl_svg_line(FILE *fp, const double *x, const double *y, size_t n, int width, int height);

#endif
