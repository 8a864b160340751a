/*
 * The frame shared by keel train's SVG charts (the learning curve and the
 * boosting rounds): a W x H canvas, plot area inset by L, R, T, B pixels, and
 * the maps from data to pixels.
 */
#ifndef KEEL_TRAIN_CHART_INTERNAL_H
#define KEEL_TRAIN_CHART_INTERNAL_H

#define W 640
#define H 400
#define L 70
#define R 20
#define T 40
#define B 50

/* x in [0, xmax] to a pixel column. */
static inline double px(double x, double xmax)
{
    return L + (W - L - R) * x / xmax;
}

/* y in [lo, hi] to a pixel row (hi at the top). */
static inline double py(double y, double lo, double hi)
{
    return T + (H - T - B) * (hi - y) / (hi - lo);
}

#endif
