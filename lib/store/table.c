/*
 * Snapshot tables in keel's binary columnar format, "keel-table-v1": a frame
 * written column after column into one store object, and read back into a
 * frame with the same kl_frame_hash (docs/STORE.md, "Table object", has the
 * format field by field).
 *
 * Invariants: every value reads back bit for bit (a number column is only
 * narrowed to integers when each value was checked to come back exactly,
 * -0.0 and infinities included); nothing is handed to the caller before the
 * object's hash was verified at its end; memory beyond the frame is bounded
 * by one batch of encoded columns, never the whole serialised table.
 *
 * Why this design: the earlier CSV text cost a decimal formatting of every
 * number on write and a full parse on read, which was most of `keel data
 * add`. Columns are written as typed arrays instead, and number columns
 * whose values are all decimals with few digits (prices, counts, ages: the
 * usual CSV content) as small integers with a decimal scale, value = k /
 * 10^scale. IEEE division is correctly rounded, so k / 10^scale is the same
 * double strtod gives for the decimal text, and the encoder checks it value
 * by value anyway. Narrow integers hash and compress several times faster
 * than 8-byte doubles. The object store compresses the whole stream with
 * zstd, so the format itself has no compression of its own.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keel/frame.h"
#include "keel/parallel.h"
#include "keel/store.h"
#include "store/store_internal.h"
#include "core/common.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the table format is little-endian; this file writes native arrays as they are"
#endif

#define TABLE_MAGIC "KLTB"
#define TABLE_VERSION 1
#define TABLE_HEADER 24
#define COL_HEADER 24
#define CHUNK (1u << 16) /* rows encoded per write */

enum enc {
    ENC_F64 = 1,     /* n doubles, NaN missing */
    ENC_DECIMAL = 2, /* n signed ints of width bytes, value k / 10^scale; INT_MIN of the width missing */
    ENC_CODES = 3,   /* dictionary, then n signed codes of width bytes, -1 missing */
    ENC_BOOL = 4,    /* n bytes: 0, 1, 255 missing */
    ENC_TEXT = 5,    /* n uint32 lengths (UINT32_MAX missing), then the bytes */
    ENC_TIME = 6,    /* n int64 microseconds, INT64_MIN missing */
};

const double kl__pow10[KL__MAX_SCALE + 1] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,
                                              1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                              1e12, 1e13, 1e14, 1e15, 1e16, 1e17};

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
    return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static inline int same_bits(double a, double b)
{
    uint64_t x, y;
    memcpy(&x, &a, 8);
    memcpy(&y, &b, 8);
    return x == y;
}

/* k with k / 10^scale == v exactly, or 0 when there is none (*ok cleared). */
static inline int64_t decimal_of(double v, double p, int *ok)
{
    double t = v * p;
    if (!(fabs(t) < 2251799813685248.0)) { /* 2^51 */
        *ok = 0;
        return 0;
    }
    double k = kl__round_int(t);
    if (!same_bits(k / p, v)) {
        *ok = 0;
        return 0;
    }
    return (int64_t)k;
}

/* ---- writing ---- */

struct colenc {
    size_t j;
    enum enc enc;
    unsigned width, scale;
    uint64_t payload; /* bytes after the column header */
    uint8_t *buf;     /* encoded values (decimal, codes) or NULL when written from the frame */
    int oom;
};

struct encjob {
    const kl_frame *f;
    struct colenc *cols;
};

static unsigned int_width(int64_t lo, int64_t hi)
{
    /* The most negative value of each width is kept for "missing". */
    if (lo > INT8_MIN && hi <= INT8_MAX)
        return 1;
    if (lo > INT16_MIN && hi <= INT16_MAX)
        return 2;
    if (lo > INT32_MIN && hi <= INT32_MAX)
        return 4;
    return 8;
}

static void store_int(uint8_t *p, unsigned width, int64_t k)
{
    switch (width) {
    case 1: *(int8_t *)p = (int8_t)k; break;
    case 2: { int16_t x = (int16_t)k; memcpy(p, &x, 2); break; }
    case 4: { int32_t x = (int32_t)k; memcpy(p, &x, 4); break; }
    default: memcpy(p, &k, 8); break;
    }
}

static int64_t load_int(const uint8_t *p, unsigned width)
{
    switch (width) {
    case 1: return *(const int8_t *)p;
    case 2: { int16_t x; memcpy(&x, p, 2); return x; }
    case 4: { int32_t x; memcpy(&x, p, 4); return x; }
    default: { int64_t x; memcpy(&x, p, 8); return x; }
    }
}

static int64_t int_missing(unsigned width)
{
    return width == 1 ? INT8_MIN : width == 2 ? INT16_MIN : width == 4 ? INT32_MIN : INT64_MIN;
}

int kl__decimal_scale(const double *v, size_t n, unsigned *scale, int64_t *klo, int64_t *khi)
{
    unsigned d = 0;
    size_t raised = 0; /* values before this index were checked at a smaller scale */
    double lo = INFINITY, hi = -INFINITY;
    *scale = 0;
    *klo = *khi = 0;
    for (size_t i = 0; i < n; i++) {
        double x = v[i];
        if (x != x)
            continue;
        int ok = 1;
        decimal_of(x, kl__pow10[d], &ok);
        while (!ok && d < KL__MAX_SCALE) {
            ok = 1;
            decimal_of(x, kl__pow10[++d], &ok);
            raised = i;
        }
        if (!ok)
            return 0;
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
    }
    if (lo > hi)
        return 1;
    int ok = 1;
    for (size_t i = 0; i < raised && ok; i++) /* the exact rational is the same; check anyway */
        if (v[i] == v[i])
            decimal_of(v[i], kl__pow10[d], &ok);
    int64_t a = decimal_of(lo, kl__pow10[d], &ok), b = decimal_of(hi, kl__pow10[d], &ok);
    if (!ok)
        return 0;
    *scale = d;
    *klo = a;
    *khi = b;
    return 1;
}

/*
 * A number column as decimal integers when every value is one and they fit
 * in fewer than 8 bytes; encoding checks each value again at the final scale.
 */
static void encode_numeric(const kl_frame *f, struct colenc *c)
{
    const double *v = kl_frame_col_f64(f, c->j);
    size_t n = kl_frame_row_count(f);
    c->enc = ENC_F64;
    c->payload = (uint64_t)n * 8;
    unsigned d;
    int64_t klo, khi;
    if (!kl__decimal_scale(v, n, &d, &klo, &khi))
        return;
    unsigned w = int_width(klo, khi);
    if (w == 8)
        return; /* no narrower than the doubles themselves */
    uint8_t *buf = malloc(n ? n * w : 1);
    if (!buf) {
        c->oom = 1;
        return;
    }
    double p = kl__pow10[d];
    int64_t miss = int_missing(w);
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        double x = v[i];
        store_int(buf + i * w, w, x != x ? miss : decimal_of(x, p, &ok));
    }
    if (!ok) { /* a value that only held at a smaller scale: keep the doubles */
        free(buf);
        return;
    }
    c->enc = ENC_DECIMAL;
    c->width = w;
    c->scale = d;
    c->buf = buf;
    c->payload = (uint64_t)n * w;
}

static void encode_codes(const kl_frame *f, struct colenc *c)
{
    size_t n = kl_frame_row_count(f), nd = 0;
    const char *const *dict = kl_frame_col_dict(f, c->j, &nd);
    const int32_t *codes = kl_frame_col_codes(f, c->j);
    unsigned w = int_width(-1, (int64_t)nd);
    c->enc = ENC_CODES;
    c->width = w;
    c->payload = 4 + (uint64_t)n * w;
    for (size_t k = 0; k < nd; k++)
        c->payload += 4 + strlen(dict[k]);
    if (w == 4)
        return; /* written from the frame's codes as they are */
    c->buf = malloc(n ? n * w : 1);
    if (!c->buf) {
        c->oom = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        store_int(c->buf + i * w, w, codes[i]);
}

static void encode_task(void *ctx, size_t t)
{
    struct encjob *job = ctx;
    struct colenc *c = &job->cols[t];
    const kl_frame *f = job->f;
    size_t n = kl_frame_row_count(f);
    switch (kl_frame_col_kind(f, c->j)) {
    case KL_COL_KIND_NUMERIC:
        encode_numeric(f, c);
        break;
    case KL_COL_KIND_CATEGORICAL:
        encode_codes(f, c);
        break;
    case KL_COL_KIND_BOOL:
        c->enc = ENC_BOOL;
        c->payload = n;
        break;
    case KL_COL_KIND_TEXT: {
        const char *const *s = kl_frame_col_text(f, c->j);
        c->enc = ENC_TEXT;
        c->payload = (uint64_t)n * 4;
        for (size_t i = 0; i < n; i++)
            c->payload += s[i] ? strlen(s[i]) : 0;
        break;
    }
    case KL_COL_KIND_TIME:
        c->enc = ENC_TIME;
        c->payload = (uint64_t)n * 8;
        break;
    }
}

/* The text column's lengths, then its bytes, through a bounded buffer. */
static int write_text(kl_store_writer *w, const kl_frame *f, size_t j, uint8_t *buf, kl_err *err)
{
    const char *const *s = kl_frame_col_text(f, j);
    size_t n = kl_frame_row_count(f), fill = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t len = s[i] ? strlen(s[i]) : 0;
        if (len >= UINT32_MAX)
            return kl_err_set(err, KL_ERANGE, "a text value in column '%s' is too long to store",
                              kl_frame_col_name(f, j));
        put_le32(buf + fill, s[i] ? (uint32_t)len : UINT32_MAX);
        if ((fill += 4) == CHUNK * 8) {
            rc = kl_store_put_write(w, buf, fill, err);
            fill = 0;
        }
    }
    if (rc == 0 && fill)
        rc = kl_store_put_write(w, buf, fill, err);
    fill = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!s[i])
            continue;
        size_t len = strlen(s[i]);
        if (fill + len > CHUNK * 8) {
            if ((rc = kl_store_put_write(w, buf, fill, err)) < 0)
                break;
            fill = 0;
        }
        if (len > CHUNK * 8)
            rc = kl_store_put_write(w, s[i], len, err);
        else {
            memcpy(buf + fill, s[i], len);
            fill += len;
        }
    }
    if (rc == 0 && fill)
        rc = kl_store_put_write(w, buf, fill, err);
    return rc;
}

static int write_column(kl_store_writer *w, const kl_frame *f, const struct colenc *c,
                        uint8_t *buf, kl_err *err)
{
    size_t j = c->j, n = kl_frame_row_count(f);
    const char *name = kl_frame_col_name(f, j);
    const char *fmt = kl_frame_col_time_format(f, j);
    size_t nlen = strlen(name), flen = fmt ? strlen(fmt) : 0;
    if (nlen > UINT16_MAX || flen > UINT16_MAX)
        return kl_err_set(err, KL_ERANGE, "column name or format too long to store ('%.40s')",
                          name);
    uint8_t h[COL_HEADER] = {0};
    put_le16(h, (uint16_t)nlen);
    put_le16(h + 2, (uint16_t)flen);
    h[4] = (uint8_t)kl_frame_col_type(f, j);
    h[5] = (uint8_t)c->enc;
    h[6] = (uint8_t)c->width;
    h[7] = (uint8_t)c->scale;
    put_le64(h + 8, c->payload);
    int rc = kl_store_put_write(w, h, sizeof h, err);
    if (rc == 0)
        rc = kl_store_put_write(w, name, nlen, err);
    if (rc == 0 && flen)
        rc = kl_store_put_write(w, fmt, flen, err);
    if (rc < 0)
        return rc;
    switch (c->enc) {
    case ENC_F64:
        return kl_store_put_write(w, kl_frame_col_f64(f, j), n * 8, err);
    case ENC_DECIMAL:
        return kl_store_put_write(w, c->buf, n * c->width, err);
    case ENC_CODES: {
        size_t nd = 0;
        const char *const *dict = kl_frame_col_dict(f, j, &nd);
        uint8_t b4[4];
        put_le32(b4, (uint32_t)nd);
        rc = kl_store_put_write(w, b4, 4, err);
        for (size_t k = 0; k < nd && rc == 0; k++) {
            size_t len = strlen(dict[k]);
            put_le32(b4, (uint32_t)len);
            if ((rc = kl_store_put_write(w, b4, 4, err)) == 0)
                rc = kl_store_put_write(w, dict[k], len, err);
        }
        if (rc == 0)
            rc = kl_store_put_write(w, c->buf ? (const void *)c->buf : kl_frame_col_codes(f, j),
                                    n * c->width, err);
        return rc;
    }
    case ENC_BOOL:
        return kl_store_put_write(w, kl_frame_col_bool(f, j), n, err);
    case ENC_TEXT:
        return write_text(w, f, j, buf, err);
    case ENC_TIME:
        return kl_store_put_write(w, kl_frame_col_time(f, j), n * 8, err);
    }
    return kl_err_set(err, KL_EINVAL, "unknown column encoding");
}

int kl__table_put(kl_store *s, const kl_frame *f, char id[KL_ID_LEN], kl_err *err)
{
    size_t nc = kl_frame_col_count(f);
    size_t batch = (size_t)(kl_threads() > 0 ? kl_threads() : 1) * 4;
    struct colenc *cols = calloc(batch, sizeof *cols);
    uint8_t *buf = malloc(CHUNK * 8);
    kl_store_writer *w = NULL;
    int rc = 0;
    if (!cols || !buf)
        rc = kl_err_set(err, KL_ENOMEM, "out of memory writing a snapshot table");
    if (rc == 0)
        rc = kl_store_put_begin(s, &w, err);
    if (rc == 0) {
        uint8_t h[TABLE_HEADER] = {0};
        memcpy(h, TABLE_MAGIC, 4);
        put_le16(h + 4, TABLE_VERSION);
        put_le64(h + 8, (uint64_t)kl_frame_row_count(f));
        put_le32(h + 16, (uint32_t)nc);
        put_le32(h + 20, kl_frame_infer_version(f));
        rc = kl_store_put_write(w, h, sizeof h, err);
    }
    for (size_t j0 = 0; rc == 0 && j0 < nc; j0 += batch) {
        size_t nb = nc - j0 < batch ? nc - j0 : batch;
        memset(cols, 0, nb * sizeof *cols);
        for (size_t b = 0; b < nb; b++)
            cols[b].j = j0 + b;
        struct encjob job = {f, cols};
        kl_parallel_for(nb, encode_task, &job);
        for (size_t b = 0; b < nb; b++) {
            if (rc == 0 && cols[b].oom)
                rc = kl_err_set(err, KL_ENOMEM, "out of memory writing a snapshot table");
            if (rc == 0)
                rc = write_column(w, f, &cols[b], buf, err);
            free(cols[b].buf);
        }
    }
    free(cols);
    free(buf);
    if (rc < 0) {
        kl_store_put_abort(w);
        return rc;
    }
    return kl_store_put_commit(w, id, err);
}

/* ---- reading ---- */

struct rd {
    kl_store_reader *r;
    uint8_t *buf;
    size_t pos, len;
    uint64_t left; /* bytes of the object not yet consumed */
};

/* Exactly n bytes into dst; a short object is corruption. */
static int rd_read(struct rd *d, void *dst, size_t n, kl_err *err)
{
    uint8_t *o = dst;
    if (n > d->left)
        return kl_err_set(err, KL_ECORRUPT, "snapshot table is truncated");
    d->left -= n;
    size_t have = d->len - d->pos;
    size_t take = have < n ? have : n;
    memcpy(o, d->buf + d->pos, take);
    d->pos += take;
    o += take;
    n -= take;
    while (n > 0) {
        size_t got = 0;
        int rc;
        if (n >= CHUNK) { /* large reads go straight to their destination */
            if ((rc = kl_store_get_read(d->r, o, n, &got, err)) < 0)
                return rc;
            if (got == 0)
                return kl_err_set(err, KL_ECORRUPT, "snapshot table is truncated");
            o += got;
            n -= got;
            continue;
        }
        if ((rc = kl_store_get_read(d->r, d->buf, CHUNK, &got, err)) < 0)
            return rc;
        if (got == 0)
            return kl_err_set(err, KL_ECORRUPT, "snapshot table is truncated");
        d->len = got;
        take = got < n ? got : n;
        memcpy(o, d->buf, take);
        d->pos = take;
        o += take;
        n -= take;
    }
    return 0;
}

/* The verified end: nothing left over, and the object's hash checked. */
static int rd_finish(struct rd *d, kl_err *err)
{
    if (d->pos < d->len || d->left != 0)
        return kl_err_set(err, KL_ECORRUPT, "snapshot table has trailing bytes");
    size_t got = 0;
    int rc = kl_store_get_read(d->r, d->buf, CHUNK, &got, err);
    if (rc < 0)
        return rc;
    if (got != 0)
        return kl_err_set(err, KL_ECORRUPT, "snapshot table has trailing bytes");
    return 0;
}

static int bad(kl_err *err, const char *name, const char *why)
{
    return kl_err_set(err, KL_ECORRUPT, "snapshot table column '%.64s': %s", name, why);
}

static int read_decimal(struct rd *d, kl_frame *f, const char *name, enum kl_type type,
                        unsigned width, unsigned scale, size_t n, kl_err *err)
{
    if (width != 1 && width != 2 && width != 4 && width != 8)
        return bad(err, name, "bad integer width");
    if (scale > KL__MAX_SCALE)
        return bad(err, name, "bad decimal scale");
    double *v = malloc((n ? n : 1) * sizeof *v);
    uint8_t *raw = malloc(n ? n * width : 1);
    int rc = (!v || !raw) ? kl_err_set(err, KL_ENOMEM, "out of memory reading a snapshot table")
                          : rd_read(d, raw, n * width, err);
    if (rc == 0) {
        double p = kl__pow10[scale];
        int64_t miss = int_missing(width);
        for (size_t i = 0; i < n; i++) {
            int64_t k = load_int(raw + i * width, width);
            v[i] = k == miss ? NAN : scale ? (double)k / p : (double)k;
        }
        rc = kl_frame_add_numeric(f, name, type, v, err);
    }
    free(raw);
    free(v);
    return rc;
}

static int read_codes(struct rd *d, kl_frame *f, const char *name, unsigned width, size_t n,
                      uint64_t payload, kl_err *err)
{
    if (width != 1 && width != 2 && width != 4)
        return bad(err, name, "bad code width");
    uint8_t b4[4];
    int rc = rd_read(d, b4, 4, err);
    if (rc < 0)
        return rc;
    uint32_t nd = get_le32(b4);
    if ((uint64_t)nd * 4 > payload)
        return bad(err, name, "dictionary larger than its column");
    char **dict = calloc(nd ? nd : 1, sizeof *dict);
    int32_t *codes = malloc((n ? n : 1) * sizeof *codes);
    uint8_t *raw = width == 4 ? (uint8_t *)codes : malloc(n ? n * width : 1);
    if (!dict || !codes || !raw)
        rc = kl_err_set(err, KL_ENOMEM, "out of memory reading a snapshot table");
    for (uint32_t k = 0; rc == 0 && k < nd; k++) {
        if ((rc = rd_read(d, b4, 4, err)) < 0)
            break;
        uint32_t len = get_le32(b4);
        if (len > payload) {
            rc = bad(err, name, "category longer than its column");
            break;
        }
        if (!(dict[k] = malloc((size_t)len + 1))) {
            rc = kl_err_set(err, KL_ENOMEM, "out of memory reading a snapshot table");
            break;
        }
        if ((rc = rd_read(d, dict[k], len, err)) == 0)
            dict[k][len] = '\0';
    }
    if (rc == 0)
        rc = rd_read(d, raw, n * width, err);
    if (rc == 0 && width != 4)
        for (size_t i = 0; i < n; i++)
            codes[i] = (int32_t)load_int(raw + i * width, width);
    if (rc == 0) /* checks every code against the dictionary */
        rc = kl_frame_add_categorical_codes(f, name, codes, (const char *const *)dict, nd, err);
    if (dict)
        for (uint32_t k = 0; k < nd; k++)
            free(dict[k]);
    free(dict);
    if (raw != (uint8_t *)codes)
        free(raw);
    free(codes);
    return rc;
}

static int read_text(struct rd *d, kl_frame *f, const char *name, size_t n, uint64_t payload,
                     kl_err *err)
{
    if (payload < (uint64_t)n * 4)
        return bad(err, name, "shorter than its lengths");
    uint64_t bytes = payload - (uint64_t)n * 4;
    uint32_t *len = malloc((n ? n : 1) * sizeof *len);
    const char **s = calloc(n ? n : 1, sizeof *s);
    char *text = malloc(bytes + n + 1);
    int rc = (!len || !s || !text)
                 ? kl_err_set(err, KL_ENOMEM, "out of memory reading a snapshot table")
                 : rd_read(d, len, n * 4, err);
    uint64_t sum = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        sum += len[i] == UINT32_MAX ? 0 : len[i];
    if (rc == 0 && sum != bytes)
        rc = bad(err, name, "lengths do not add up to its size");
    char *p = text;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (len[i] == UINT32_MAX)
            continue;
        if ((rc = rd_read(d, p, len[i], err)) < 0)
            break;
        p[len[i]] = '\0';
        s[i] = p;
        p += len[i] + 1;
    }
    if (rc == 0)
        rc = kl_frame_add_text(f, name, s, err);
    free(len);
    free(s);
    free(text);
    return rc;
}

static int read_column(struct rd *d, kl_frame *f, size_t n, kl_err *err)
{
    uint8_t h[COL_HEADER];
    char name[UINT16_MAX + 1], fmt[UINT16_MAX + 1];
    int rc = rd_read(d, h, sizeof h, err);
    if (rc < 0)
        return rc;
    size_t nlen = h[0] | (size_t)h[1] << 8, flen = h[2] | (size_t)h[3] << 8;
    unsigned type = h[4], enc = h[5], width = h[6], scale = h[7];
    uint64_t payload = get_le64(h + 8);
    if ((rc = rd_read(d, name, nlen, err)) < 0 || (rc = rd_read(d, fmt, flen, err)) < 0)
        return rc;
    name[nlen] = '\0';
    fmt[flen] = '\0';
    if (type > KL_TYPE_TEXT)
        return bad(err, name, "unknown type");
    if (payload > d->left)
        return kl_err_set(err, KL_ECORRUPT, "snapshot table is truncated");
    enum kl_col_kind kind = kl_type_kind((enum kl_type)type);
    uint64_t want = 0;
    switch (enc) {
    case ENC_F64:
    case ENC_TIME:
        want = (uint64_t)n * 8;
        break;
    case ENC_DECIMAL:
        want = (uint64_t)n * width;
        break;
    case ENC_BOOL:
        want = n;
        break;
    default:
        want = payload;
        break;
    }
    if (payload != want)
        return bad(err, name, "size does not match its row count");
    int kind_ok = (enc == ENC_F64 || enc == ENC_DECIMAL) ? kind == KL_COL_KIND_NUMERIC
                  : enc == ENC_CODES                     ? kind == KL_COL_KIND_CATEGORICAL
                  : enc == ENC_BOOL                      ? kind == KL_COL_KIND_BOOL
                  : enc == ENC_TEXT                      ? kind == KL_COL_KIND_TEXT
                  : enc == ENC_TIME                      ? kind == KL_COL_KIND_TIME
                                                         : 0;
    if (!kind_ok)
        return bad(err, name, "encoding does not fit its type");
    switch (enc) {
    case ENC_F64: {
        double *v = malloc((n ? n : 1) * sizeof *v);
        if (!v)
            return kl_err_set(err, KL_ENOMEM, "out of memory reading a snapshot table");
        if ((rc = rd_read(d, v, n * 8, err)) == 0)
            rc = kl_frame_add_numeric(f, name, (enum kl_type)type, v, err);
        free(v);
        return rc;
    }
    case ENC_DECIMAL:
        return read_decimal(d, f, name, (enum kl_type)type, width, scale, n, err);
    case ENC_CODES:
        return read_codes(d, f, name, width, n, payload, err);
    case ENC_BOOL: {
        uint8_t *v = malloc(n ? n : 1);
        if (!v)
            return kl_err_set(err, KL_ENOMEM, "out of memory reading a snapshot table");
        if ((rc = rd_read(d, v, n, err)) == 0)
            rc = kl_frame_add_bool(f, name, v, err);
        free(v);
        return rc;
    }
    case ENC_TEXT:
        return read_text(d, f, name, n, payload, err);
    case ENC_TIME: {
        int64_t *v = malloc((n ? n : 1) * sizeof *v);
        if (!v)
            return kl_err_set(err, KL_ENOMEM, "out of memory reading a snapshot table");
        if ((rc = rd_read(d, v, n * 8, err)) == 0)
            rc = kl_frame_add_time(f, name, (enum kl_type)type, v, flen ? fmt : NULL, err);
        free(v);
        return rc;
    }
    }
    return bad(err, name, "unknown encoding");
}

int kl__table_get(kl_store *s, const char *object, kl_frame **out, kl_err *err)
{
    *out = NULL;
    struct rd d = {0};
    kl_frame *f = NULL;
    int rc = kl_store_get_open(s, object, &d.r, err);
    if (rc < 0)
        return rc;
    d.left = kl_store_get_size(d.r);
    d.buf = malloc(CHUNK);
    uint8_t h[TABLE_HEADER];
    if (!d.buf)
        rc = kl_err_set(err, KL_ENOMEM, "out of memory reading a snapshot table");
    else if ((rc = rd_read(&d, h, sizeof h, err)) == 0) {
        if (memcmp(h, TABLE_MAGIC, 4) != 0)
            rc = kl_err_set(err, KL_ECORRUPT, "snapshot table object has a bad magic");
        else if ((h[4] | h[5] << 8) != TABLE_VERSION)
            rc = kl_err_set(err, KL_EUNSUPPORTED,
                            "snapshot table format version %u, this keel reads %u",
                            (unsigned)(h[4] | h[5] << 8), TABLE_VERSION);
    }
    uint64_t n = rc == 0 ? get_le64(h + 8) : 0;
    uint32_t nc = rc == 0 ? get_le32(h + 16) : 0;
    if (rc == 0 && (n > d.left || (uint64_t)nc * COL_HEADER > d.left))
        rc = kl_err_set(err, KL_ECORRUPT, "snapshot table is truncated");
    if (rc == 0 && !(f = kl_frame_new((size_t)n)))
        rc = kl_err_set(err, KL_ENOMEM, "out of memory reading a snapshot table");
    for (uint32_t j = 0; rc == 0 && j < nc; j++)
        rc = read_column(&d, f, (size_t)n, err);
    if (rc == 0)
        rc = rd_finish(&d, err);
    if (rc == 0)
        kl_frame_set_infer_version(f, get_le32(h + 20));
    if (rc < 0 && rc != KL_ENOMEM && rc != KL_EUNSUPPORTED && rc != KL_EIO && err) {
        kl_err why = *err; /* bad bytes, whichever check found them, are corruption */
        rc = kl_err_set(err, KL_ECORRUPT, "%s", why.msg);
        kl_err_ctx(err, "object %.12s", object);
    }
    kl_store_get_close(d.r);
    free(d.buf);
    if (rc < 0) {
        kl_frame_free(f);
        return rc;
    }
    *out = f;
    return 0;
}
