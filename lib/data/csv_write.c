/*
 * CSV writer: a kl_frame as RFC 4180 text that the reader turns back into
 * the same frame (same values, same logical types).
 *
 * Invariants that make the round trip hold, each matching a reader rule of
 * docs/FORMATS.md: a missing value is an empty unquoted field; an empty
 * string is "" (quoted fields are never missing); a string that equals a
 * missing token is quoted; numbers use the shortest text strtod reads back
 * to the same double, and a float whose text has integer syntax gets ".0" so
 * it is read as a float again; integers are written as plain digits (never
 * "1e+15"); times use their column's format, so inference finds it again.
 *
 * Why this design: rows are built in one growing line buffer and written with
 * one fwrite per row, which keeps stdio calls off the per-field path.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keel/csv.h"
#include "data/parse.h"
#include "core/common.h"

typedef struct line {
    char *p;
    size_t n, cap;
} line;

static int line_put(line *l, const char *s, size_t n)
{
    if (l->n + n > l->cap) {
        size_t cap = l->cap ? l->cap : 256;
        while (cap < l->n + n)
            cap *= 2;
        char *p = realloc(l->p, cap);
        if (!p)
            return -1;
        l->p = p;
        l->cap = cap;
    }
    memcpy(l->p + l->n, s, n);
    l->n += n;
    return 0;
}

static int is_missing_token(const char *s)
{
    static const char *const tok[] = {"NA", "N/A", "null", "NaN", "None"};
    for (size_t i = 0; i < KL_ARRAY_LEN(tok); i++)
        if (strcmp(s, tok[i]) == 0)
            return 1;
    return 0;
}

/* A present string: quoted when it holds delim, '"', CR, LF, is empty, is a token or a BOM. */
static int put_string(line *l, const char *s, char delim)
{
    size_t n = strlen(s);
    int q = n == 0 || is_missing_token(s) || (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0);
    for (size_t i = 0; i < n && !q; i++)
        q = s[i] == delim || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!q)
        return line_put(l, s, n);
    if (line_put(l, "\"", 1) < 0)
        return -1;
    const char *a = s, *e = s + n;
    while (a < e) {
        const char *qt = memchr(a, '"', (size_t)(e - a));
        size_t k = qt ? (size_t)(qt - a) + 1 : (size_t)(e - a);
        if (line_put(l, a, k) < 0)
            return -1;
        if (qt && line_put(l, "\"", 1) < 0)
            return -1;
        a += k;
    }
    return line_put(l, "\"", 1);
}

static int put_number(line *l, double v, enum kl_type type)
{
    char buf[48];
    size_t n;
    if (isnan(v))
        return 0;
    if (type == KL_TYPE_INT && fabs(v) <= 9007199254740992.0 && v == trunc(v)) {
        if (v == 0 && signbit(v))
            n = (size_t)snprintf(buf, sizeof buf, "-0");
        else
            n = (size_t)snprintf(buf, sizeof buf, "%" PRId64, (int64_t)v);
        return line_put(l, buf, n);
    }
    n = kl__format_double(v, buf, sizeof buf);
    if (type != KL_TYPE_INT) {
        size_t i = buf[0] == '-' ? 1 : 0;
        while (i < n && buf[i] >= '0' && buf[i] <= '9')
            i++;
        if (i == n) {
            memcpy(buf + n, ".0", 2);
            n += 2;
        }
    }
    return line_put(l, buf, n);
}

static int put_cell(line *l, const kl_frame *f, size_t i, size_t j, char delim, kl_err *err)
{
    switch (kl_frame_col_kind(f, j)) {
    case KL_COL_KIND_NUMERIC:
        return put_number(l, kl_frame_col_f64(f, j)[i], kl_frame_col_type(f, j));
    case KL_COL_KIND_BOOL: {
        uint8_t b = kl_frame_col_bool(f, j)[i];
        if (b == KL_BOOL_MISSING)
            return 0;
        return b ? line_put(l, "true", 4) : line_put(l, "false", 5);
    }
    case KL_COL_KIND_TIME: {
        int64_t t = kl_frame_col_time(f, j)[i];
        if (t == KL_TIME_MISSING)
            return 0;
        unsigned form = kl__time_form_from_format(kl_frame_col_time_format(f, j));
        if (!form)
            form = kl_frame_col_type(f, j) == KL_TYPE_DATE ? KL__TF_DATE_ISO
                                                           : KL__TF_DATETIME_ISO;
        char buf[64];
        size_t n = kl__time_format(t, form, buf, sizeof buf);
        if (n == 0 && form == KL__TF_DATE_ISO)
            n = kl__time_format(t, KL__TF_DATETIME_ISO, buf, sizeof buf);
        if (n == 0) {
            kl_err_set(err, KL_ERANGE, "cannot write the time in row %zu of column '%s'", i + 1,
                       kl_frame_col_name(f, j));
            return -2;
        }
        return line_put(l, buf, n);
    }
    case KL_COL_KIND_CATEGORICAL: {
        int32_t c = kl_frame_col_codes(f, j)[i];
        if (c == KL_CAT_MISSING)
            return 0;
        size_t nd;
        const char *const *dict = kl_frame_col_dict(f, j, &nd);
        return put_string(l, dict[c], delim);
    }
    case KL_COL_KIND_TEXT: {
        const char *s = kl_frame_col_text(f, j)[i];
        return s ? put_string(l, s, delim) : 0;
    }
    }
    return 0;
}

int kl_csv_write_stream(const kl_frame *f, FILE *fp, const kl_csv_write_opts *opts, kl_err *err)
{
    char delim = opts && opts->delimiter ? opts->delimiter : ',';
    const char *eol = opts && opts->crlf ? "\r\n" : "\n";
    size_t eol_n = strlen(eol);
    size_t nc = kl_frame_col_count(f), nr = kl_frame_row_count(f);
    if (delim == '"' || delim == '\r' || delim == '\n')
        return kl_err_set(err, KL_EINVAL, "invalid delimiter");
    line l = {0};
    int rc = 0;
    for (size_t j = 0; j < nc && rc == 0; j++) {
        if (j && line_put(&l, &delim, 1) < 0)
            rc = -1;
        else if (put_string(&l, kl_frame_col_name(f, j), delim) < 0)
            rc = -1;
    }
    if (rc == 0 && line_put(&l, eol, eol_n) < 0)
        rc = -1;
    for (size_t i = 0; i <= nr && rc == 0; i++) {
        if (fwrite(l.p, 1, l.n, fp) != l.n) {
            rc = kl_err_set(err, KL_EIO, "cannot write CSV: %s", strerror(errno));
            break;
        }
        l.n = 0;
        if (i == nr)
            break;
        for (size_t j = 0; j < nc && rc == 0; j++) {
            if (j && line_put(&l, &delim, 1) < 0)
                rc = -1;
            else
                rc = put_cell(&l, f, i, j, delim, err);
        }
        if (rc == 0 && line_put(&l, eol, eol_n) < 0)
            rc = -1;
    }
    free(l.p);
    if (rc == -1)
        return kl_err_set(err, KL_ENOMEM, "out of memory writing CSV");
    if (rc == -2)
        return err ? err->code : KL_ERANGE;
    if (rc < 0)
        return rc;
    if (fflush(fp) != 0)
        return kl_err_set(err, KL_EIO, "cannot write CSV: %s", strerror(errno));
    return 0;
}

int kl_csv_write_file(const kl_frame *f, const char *path, const kl_csv_write_opts *opts,
                      kl_err *err)
{
    size_t n = strlen(path) + 5;
    char *tmp = malloc(n);
    if (!tmp)
        return kl_err_set(err, KL_ENOMEM, "out of memory writing '%s'", path);
    snprintf(tmp, n, "%s.tmp", path);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        int rc = kl_err_set(err, KL_EIO, "cannot create '%s': %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    int rc = kl_csv_write_stream(f, fp, opts, err);
    if (rc == 0 && fsync(fileno(fp)) != 0)
        rc = kl_err_set(err, KL_EIO, "cannot write '%s': %s", tmp, strerror(errno));
    if (fclose(fp) != 0 && rc == 0)
        rc = kl_err_set(err, KL_EIO, "cannot write '%s': %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0)
        rc = kl_err_set(err, KL_EIO, "cannot rename '%s' to '%s': %s", tmp, path,
                        strerror(errno));
    if (rc < 0) {
        unlink(tmp);
        if (err && !err->ctx[0])
            kl_err_ctx(err, "%s", path);
    }
    free(tmp);
    return rc;
}
