/*
 * Take an AR series out of a frame: one numeric column, trimmed of leading
 * and trailing missing values. A gap inside the series is an error rather
 * than something to interpolate, because any filling rule changes the fitted
 * coefficients and must be the user's explicit choice.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keel/ar.h"
#include "keel/frame.h"
#include "keel/suggest.h"
#include "core/common.h"

int kl_ar_frame_series(const kl_frame *f, const char *column, double **out, size_t *n,
                       size_t *first, kl_err *err)
{
    *out = NULL;
    *n = 0;
    long j = kl_frame_col_index(f, column);
    if (j < 0) {
        size_t nc = kl_frame_col_count(f);
        const char *names[256], *s = NULL;
        for (size_t i = 0; i < nc && i < KL_ARRAY_LEN(names); i++)
            names[i] = kl_frame_col_name(f, i);
        if (column)
            s = kl_suggest(column, names, KL_MIN(nc, KL_ARRAY_LEN(names)));
        if (s)
            return kl_err_set(err, KL_ENOTFOUND, "no column named '%s'; did you mean '%s'?", column,
                              s);
        return kl_err_set(err, KL_ENOTFOUND, "no column named '%s'", column ? column : "");
    }
    const double *v = kl_frame_col_f64(f, (size_t)j);
    if (!v)
        return kl_err_set(err, KL_EINVAL,
                          "column '%s' is %s, not numeric: an AR series needs numbers", column,
                          kl_type_name(kl_frame_col_type(f, (size_t)j)));
    size_t rows = kl_frame_row_count(f), a = 0, b = rows;
    while (a < rows && isnan(v[a]))
        a++;
    while (b > a && isnan(v[b - 1]))
        b--;
    if (a == b)
        return kl_err_set(err, KL_EINVAL, "column '%s' has no values", column);
    for (size_t i = a; i < b; i++)
        if (!isfinite(v[i]))
            return kl_err_set(err, KL_EINVAL,
                              "column '%s' has a %s value at data row %zu inside the series; fill "
                              "or drop it first (keel does not interpolate)",
                              column, isnan(v[i]) ? "missing" : "non-finite", i + 1);
    double *c = malloc((b - a) * sizeof(double));
    if (!c)
        return kl_err_set(err, KL_ENOMEM, "out of memory copying column '%s'", column);
    memcpy(c, v + a, (b - a) * sizeof(double));
    *out = c;
    *n = b - a;
    if (first)
        *first = a;
    return 0;
}
