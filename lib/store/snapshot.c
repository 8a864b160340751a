/*
 * Data snapshots: store a frame with its schema and drift summaries under a
 * content id (include/keel/snapshot.h; byte formats in docs/STORE.md).
 *
 * Invariants: the three objects are published before the snapshots row, so
 * a snapshot row never names a missing object; the manifest holds only what
 * the id determines (no name, time or source hash: those live in the row), so
 * adding the same content twice writes byte-identical objects, which the
 * content-addressed store turns into no-ops.
 *
 * Why this design: the table goes through table.c's binary columnar format
 * (typed arrays, no number formatting or parsing), and kl_snapshot_load
 * proves each load by comparing kl_frame_hash. Numeric columns are summarised
 * from their sorted distinct values: a counting sort when the column is
 * decimal numbers over a small integer range (ages, prices in cents), else an
 * LSD radix sort (4 passes of 16 bits, constant digits skipped) of the
 * decimal integers or of the doubles' order-preserving bit patterns; columns
 * in parallel, a batch of kl_threads() columns at a time so memory stays
 * bounded, each task keeping its scratch arrays from column to column.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "keel/frame.h"
#include "keel/hash.h"
#include "keel/parallel.h"
#include "keel/snapshot.h"
#include "keel/store.h"
#include "store/store_internal.h"
#include "core/common.h"

#define VALUES_MAGIC "KLSV"
#define TABLE_ENCODING "keel-table-v1"

/* ---- numeric summaries ---- */

static uint64_t key_of(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return (b >> 63) ? ~b : b ^ (UINT64_C(1) << 63);
}

static double value_of(uint64_t k)
{
    uint64_t b = (k >> 63) ? k ^ (UINT64_C(1) << 63) : ~k;
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

/* LSD radix sort of keys[0..n) using tmp (n items); counts has 4 * 65536 slots. */
static void radix_sort(uint64_t *keys, uint64_t *tmp, size_t n, size_t *counts)
{
    memset(counts, 0, 4 * 65536 * sizeof *counts);
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < 4; d++)
            counts[d * 65536 + ((keys[i] >> (16 * d)) & 0xffff)]++;
    uint64_t *src = keys, *dst = tmp;
    for (int d = 0; d < 4; d++) {
        size_t *c = counts + d * 65536, sum = 0;
        if (c[(src[0] >> (16 * d)) & 0xffff] == n)
            continue; /* every key has this digit: the pass would not move anything */
        for (size_t b = 0; b < 65536; b++) {
            size_t x = c[b];
            c[b] = sum;
            sum += x;
        }
        for (size_t i = 0; i < n; i++)
            dst[c[(src[i] >> (16 * d)) & 0xffff]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != keys)
        memcpy(keys, src, n * sizeof *keys);
}

struct numsum {
    size_t col;
    size_t present, distinct;
    double *values;   /* distinct, ascending */
    uint64_t *counts; /* of each */
    double mean, sd, skew, kurt, min, max;
    double deciles[11];
    int dec;        /* values are k / 10^scale (the values object stores the ks) */
    unsigned scale;
    int oom;
};

/*
 * Scratch arrays of one task, kept from column to column: fresh memory costs
 * a page fault per 4 KiB on first touch, which was most of the summaries'
 * time when every column allocated its own.
 */
struct numbuf {
    uint64_t *keys, *tmp;
    size_t *radix;   /* 4 * 65536 */
    uint32_t *hist;  /* counting sort of small decimal ranges */
    size_t hist_cap;
    double *values;   /* the column's distinct values and counts, until written */
    uint64_t *counts;
};

struct numjob {
    const kl_frame *f;
    struct numsum *sums;
    struct numbuf *bufs; /* one per task of a batch */
};

/*
 * Distinct values and counts of the present values, ascending, by whichever
 * sort fits: a counting sort of the decimal integers when their range is
 * small, a radix sort of them (its constant high digits cost nothing), or a
 * radix sort of the doubles' order-preserving bit patterns.
 */
static int distinct_values(const double *v, size_t n, struct numbuf *bf, struct numsum *x)
{
    unsigned sc = 0;
    int64_t klo = 0, khi = 0;
    int dec = kl__decimal_scale(v, n, &sc, &klo, &khi);
    double p = kl__pow10[sc];
    uint64_t range = dec ? (uint64_t)(khi - klo) + 1 : 0;
    size_t m = 0, k = 0;
    if (dec && range <= (uint64_t)n + 65536) {
        if (range > bf->hist_cap) {
            free(bf->hist);
            bf->hist_cap = 0;
            if (!(bf->hist = malloc(range * sizeof *bf->hist)))
                return -1;
            bf->hist_cap = range;
        }
        memset(bf->hist, 0, range * sizeof *bf->hist);
        for (size_t i = 0; i < n; i++)
            if (v[i] == v[i]) {
                bf->hist[(int64_t)kl__round_int(v[i] * p) - klo]++;
                m++;
            }
        for (uint64_t b = 0; b < range; b++)
            k += bf->hist[b] != 0;
        x->values = bf->values; /* n long: room for any number of distinct values */
        x->counts = bf->counts;
        k = 0;
        for (uint64_t b = 0; b < range; b++)
            if (bf->hist[b]) {
                double kv = (double)(klo + (int64_t)b);
                x->values[k] = sc ? kv / p : kv;
                x->counts[k++] = bf->hist[b];
            }
    } else {
        for (size_t i = 0; i < n; i++)
            if (v[i] == v[i])
                bf->keys[m++] = dec ? (uint64_t)((int64_t)kl__round_int(v[i] * p) - klo)
                                    : key_of(v[i]);
        if (m)
            radix_sort(bf->keys, bf->tmp, m, bf->radix);
        for (size_t i = 0; i < m; i++)
            k += i == 0 || bf->keys[i] != bf->keys[i - 1];
        x->values = bf->values; /* n long: room for any number of distinct values */
        x->counts = bf->counts;
        k = 0;
        for (size_t i = 0; i < m; i++) {
            if (i == 0 || bf->keys[i] != bf->keys[i - 1]) {
                double kv = (double)(klo + (int64_t)bf->keys[i]);
                x->values[k] = !dec ? value_of(bf->keys[i]) : sc ? kv / p : kv;
                x->counts[k++] = 0;
            }
            x->counts[k - 1]++;
        }
    }
    x->present = m;
    x->distinct = k;
    x->dec = dec;
    x->scale = sc;
    return 0;
}

static void num_task(void *ctx, size_t t)
{
    struct numjob *job = ctx;
    struct numsum *x = &job->sums[t];
    struct numbuf *bf = &job->bufs[t];
    const double *v = kl_frame_col_f64(job->f, x->col);
    size_t n = kl_frame_row_count(job->f);
    if (!bf->keys) {
        bf->keys = malloc((n ? n : 1) * sizeof *bf->keys);
        bf->tmp = malloc((n ? n : 1) * sizeof *bf->tmp);
        bf->radix = malloc(4 * 65536 * sizeof *bf->radix);
        bf->values = malloc((n ? n : 1) * sizeof *bf->values);
        bf->counts = malloc((n ? n : 1) * sizeof *bf->counts);
    }
    if (!bf->keys || !bf->tmp || !bf->radix || !bf->values || !bf->counts ||
        distinct_values(v, n, bf, x) < 0) {
        x->oom = 1;
        return;
    }
    size_t m = x->present, k = x->distinct;
    if (m == 0)
        return;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] == v[i])
            sum += v[i];
    x->mean = sum / (double)m;
    double m2 = 0, m3 = 0, m4 = 0;
    for (size_t i = 0; i < k; i++) {
        double d = x->values[i] - x->mean, d2 = d * d, c = (double)x->counts[i];
        m2 += c * d2;
        m3 += c * d2 * d;
        m4 += c * d2 * d2;
    }
    x->min = x->values[0];
    x->max = x->values[k - 1];
    x->sd = m > 1 ? sqrt(m2 / (double)(m - 1)) : 0;
    m2 /= (double)m;
    m3 /= (double)m;
    m4 /= (double)m;
    x->skew = m2 > 0 ? m3 / pow(m2, 1.5) : 0;
    x->kurt = m2 > 0 ? m4 / (m2 * m2) - 3 : 0;
    /*
     * Decile edges: linear interpolation between order statistics (type 7),
     * the order statistics found by walking the cumulative counts once.
     */
    size_t q_at = 0, cum = x->counts[0];
    for (int q = 0; q <= 10; q++) {
        double pos = (double)(m - 1) * q / 10.0;
        size_t lo = (size_t)floor(pos), hi = lo + 1 < m ? lo + 1 : lo;
        while (cum <= lo) /* first distinct value whose cumulative count passes lo */
            cum += x->counts[++q_at];
        double a = x->values[q_at];
        double b = cum > hi ? a : x->values[q_at + 1];
        double w = pos - (double)lo;
        x->deciles[q] = w == 0 ? a : a + (b - a) * w;
    }
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

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static unsigned uint_width(uint64_t max)
{
    return max <= UINT8_MAX ? 1 : max <= UINT16_MAX ? 2 : max <= UINT32_MAX ? 4 : 8;
}

/* Little-endian unsigned of width bytes. */
static void put_uint(uint8_t *p, unsigned width, uint64_t v)
{
    for (unsigned i = 0; i < width; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_uint(const uint8_t *p, unsigned width)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < width; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/*
 * One numeric column of the values object (format in snapshot.h): the
 * distinct values as deltas of their decimal integers when they have them
 * (sorted, so the deltas are small), else as doubles; then the counts, each
 * part in the narrowest unsigned width that holds it.
 */
static int write_values(kl_store_writer *w, const struct numsum *x, kl_err *err)
{
    size_t k = x->distinct;
    double p = kl__pow10[x->scale];
    int64_t first = 0;
    uint64_t maxd = 0, maxc = 0;
    for (size_t i = 0; i < k; i++)
        maxc = x->counts[i] > maxc ? x->counts[i] : maxc;
    if (x->dec && k) {
        int64_t prev = first = (int64_t)kl__round_int(x->values[0] * p);
        for (size_t i = 1; i < k; i++) {
            int64_t ki = (int64_t)kl__round_int(x->values[i] * p);
            maxd = (uint64_t)(ki - prev) > maxd ? (uint64_t)(ki - prev) : maxd;
            prev = ki;
        }
    }
    unsigned vw = x->dec ? uint_width(maxd) : 8, cw = uint_width(maxc);
    uint8_t h[24];
    put_le32(h, (uint32_t)x->col);
    put_le64(h + 4, (uint64_t)k);
    h[12] = x->dec ? 2 : 1;
    h[13] = (uint8_t)x->scale;
    h[14] = (uint8_t)vw;
    h[15] = (uint8_t)cw;
    put_le64(h + 16, (uint64_t)first);
    int rc = kl_store_put_write(w, h, sizeof h, err);
    uint8_t buf[8 * 1024];
    size_t per = sizeof buf / 8;
    int64_t prev = first;
    for (size_t i = 0; rc == 0 && i < k; i += per) { /* values */
        size_t m = k - i < per ? k - i : per;
        for (size_t j = 0; j < m; j++) {
            uint64_t bits;
            if (x->dec) {
                int64_t ki = (int64_t)kl__round_int(x->values[i + j] * p);
                bits = (uint64_t)(ki - prev);
                prev = ki;
            } else {
                memcpy(&bits, &x->values[i + j], sizeof bits);
            }
            put_uint(buf + vw * j, vw, bits);
        }
        rc = kl_store_put_write(w, buf, vw * m, err);
    }
    for (size_t i = 0; rc == 0 && i < k; i += per) { /* counts */
        size_t m = k - i < per ? k - i : per;
        for (size_t j = 0; j < m; j++)
            put_uint(buf + cw * j, cw, x->counts[i + j]);
        rc = kl_store_put_write(w, buf, cw * m, err);
    }
    return rc;
}

/* A JSON real, or null for a value JSON cannot hold. */
static json_t *real(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *numeric_json(const struct numsum *x)
{
    json_t *o = json_object();
    json_object_set_new(o, "present", json_integer((json_int_t)x->present));
    json_object_set_new(o, "distinct", json_integer((json_int_t)x->distinct));
    if (x->present) {
        json_object_set_new(o, "min", real(x->min));
        json_object_set_new(o, "max", real(x->max));
        json_object_set_new(o, "mean", real(x->mean));
        json_object_set_new(o, "sd", real(x->sd));
        json_object_set_new(o, "skewness", real(x->skew));
        json_object_set_new(o, "kurtosis", real(x->kurt));
        json_t *d = json_array();
        for (int q = 0; q <= 10; q++)
            json_array_append_new(d, real(x->deciles[q]));
        json_object_set_new(o, "deciles", d);
    }
    return o;
}

/* Category counts keyed by category (JSON objects dump sorted); unused entries left out. */
static json_t *categorical_json(const kl_frame *f, size_t j)
{
    size_t nd = 0, n = kl_frame_row_count(f);
    const char *const *dict = kl_frame_col_dict(f, j, &nd);
    const int32_t *codes = kl_frame_col_codes(f, j);
    uint64_t *c = calloc(nd ? nd : 1, sizeof *c);
    if (!c)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (codes[i] >= 0 && (size_t)codes[i] < nd)
            c[codes[i]]++;
    json_t *counts = json_object();
    for (size_t k = 0; k < nd; k++)
        if (c[k])
            json_object_set_new(counts, dict[k], json_integer((json_int_t)c[k]));
    free(c);
    return json_pack("{s:I, s:o}", "distinct", (json_int_t)json_object_size(counts), "counts",
                     counts);
}

static json_t *bool_json(const kl_frame *f, size_t j)
{
    const uint8_t *b = kl_frame_col_bool(f, j);
    size_t n = kl_frame_row_count(f), t = 0, fa = 0;
    for (size_t i = 0; i < n; i++) {
        t += b[i] == 1;
        fa += b[i] == 0;
    }
    return json_pack("{s:{s:I, s:I}}", "counts", "true", (json_int_t)t, "false", (json_int_t)fa);
}

static json_t *time_json(const kl_frame *f, size_t j)
{
    const int64_t *t = kl_frame_col_time(f, j);
    size_t n = kl_frame_row_count(f), m = 0;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < n; i++)
        if (t[i] != KL_TIME_MISSING) {
            m++;
            lo = t[i] < lo ? t[i] : lo;
            hi = t[i] > hi ? t[i] : hi;
        }
    json_t *o = json_pack("{s:I}", "present", (json_int_t)m);
    if (m) {
        json_object_set_new(o, "min", json_integer((json_int_t)lo));
        json_object_set_new(o, "max", json_integer((json_int_t)hi));
    }
    return o;
}

static json_t *schema_json(const kl_frame *f)
{
    json_t *cols = json_array();
    for (size_t j = 0; j < kl_frame_col_count(f); j++) {
        json_t *c = json_pack("{s:s, s:s, s:s, s:I}", "name", kl_frame_col_name(f, j), "type",
                              kl_type_name(kl_frame_col_type(f, j)), "kind",
                              kl_col_kind_name(kl_frame_col_kind(f, j)), "missing",
                              (json_int_t)kl_frame_col_missing(f, j));
        const char *fmt = kl_frame_col_time_format(f, j);
        if (fmt)
            json_object_set_new(c, "format", json_string(fmt));
        json_array_append_new(cols, c);
    }
    return cols;
}

/*
 * Summaries of every column into stats (one object per column, in order) and
 * the values object (numeric columns' distinct values) into values_id.
 */
static int put_summaries(kl_store *s, const kl_frame *f, json_t *stats, char values_id[KL_ID_LEN],
                         kl_err *err)
{
    size_t nc = kl_frame_col_count(f), n_num = 0;
    for (size_t j = 0; j < nc; j++)
        n_num += kl_frame_col_kind(f, j) == KL_COL_KIND_NUMERIC;
    kl_store_writer *w = NULL;
    int rc = kl_store_put_begin(s, &w, err);
    if (rc < 0)
        return rc;
    uint8_t head[12];
    memcpy(head, VALUES_MAGIC, 4);
    head[4] = KL_SNAPSHOT_FORMAT;
    head[5] = head[6] = head[7] = 0;
    put_le32(head + 8, (uint32_t)n_num);
    rc = kl_store_put_write(w, head, sizeof head, err);

    size_t batch = (size_t)(kl_threads() > 0 ? kl_threads() : 1);
    struct numsum *sums = calloc(batch, sizeof *sums);
    struct numbuf *bufs = calloc(batch, sizeof *bufs);
    if ((!sums || !bufs) && rc == 0)
        rc = kl_err_set(err, KL_ENOMEM, "out of memory summarising a snapshot");
    size_t j = 0;
    while (rc == 0 && j < nc) {
        /* Next batch of numeric columns, with the other columns up to there summarised inline. */
        size_t nb = 0;
        while (j < nc && nb < batch) {
            enum kl_col_kind kind = kl_frame_col_kind(f, j);
            json_t *c = NULL;
            if (kind == KL_COL_KIND_NUMERIC) {
                memset(&sums[nb], 0, sizeof sums[nb]);
                sums[nb++].col = j;
                c = json_object(); /* filled after the batch */
            } else if (kind == KL_COL_KIND_CATEGORICAL) {
                c = categorical_json(f, j);
            } else if (kind == KL_COL_KIND_BOOL) {
                c = bool_json(f, j);
            } else if (kind == KL_COL_KIND_TIME) {
                c = time_json(f, j);
            } else {
                c = json_object();
            }
            if (!c || json_array_append_new(stats, c) < 0) {
                rc = kl_err_set(err, KL_ENOMEM, "out of memory summarising a snapshot");
                break;
            }
            j++;
        }
        if (rc < 0 || nb == 0)
            break;
        struct numjob job = {f, sums, bufs};
        kl_parallel_for(nb, num_task, &job);
        for (size_t b = 0; b < nb; b++) {
            struct numsum *x = &sums[b];
            if (rc == 0 && x->oom)
                rc = kl_err_set(err, KL_ENOMEM, "out of memory summarising column '%s'",
                                kl_frame_col_name(f, x->col));
            if (rc == 0) {
                json_t *o = numeric_json(x);
                json_object_update(json_array_get(stats, x->col), o);
                json_decref(o);
                rc = write_values(w, x, err);
            }
            x->values = NULL; /* the task's buffers, reused by the next batch */
            x->counts = NULL;
        }
    }
    free(sums);
    for (size_t b = 0; bufs && b < batch; b++) {
        free(bufs[b].keys);
        free(bufs[b].tmp);
        free(bufs[b].radix);
        free(bufs[b].hist);
        free(bufs[b].values);
        free(bufs[b].counts);
    }
    free(bufs);
    if (rc < 0) {
        kl_store_put_abort(w);
        return rc;
    }
    return kl_store_put_commit(w, values_id, err);
}

int kl_file_sha256(const char *path, char hex[KL_ID_LEN], kl_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kl_err_set(err, KL_EIO, "cannot open '%s': %s", path, strerror(errno));
    kl_sha256_ctx h;
    if (kl_sha256_init(&h) < 0) {
        close(fd);
        return kl_err_set(err, KL_ENOMEM, "out of memory hashing '%s'", path);
    }
    static __thread uint8_t buf[1 << 16];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            uint8_t d[KL_SHA256_LEN];
            kl_sha256_final(&h, d);
            close(fd);
            return kl_err_set(err, KL_EIO, "cannot read '%s': %s", path, strerror(e));
        }
        if (r == 0)
            break;
        kl_sha256_update(&h, buf, (size_t)r);
    }
    close(fd);
    uint8_t d[KL_SHA256_LEN];
    kl_sha256_final(&h, d);
    kl_hex(d, sizeof d, hex);
    return 0;
}

int kl_snapshot_create(kl_store *s, const kl_frame *f, const kl_snapshot_opts *o,
                       char id[KL_ID_LEN], int *created, kl_err *err)
{
    if (created)
        *created = 0;
    if (!o || !o->source_hash || !kl_frame_col_count(f))
        return kl_err_set(err, KL_EINVAL, "a snapshot needs a frame with columns and a source hash");
    const char *policy = o->policy ? o->policy : "keep";
    uint8_t th[KL_SHA256_LEN], sh[KL_SHA256_LEN], d[KL_SHA256_LEN];
    char table_hex[KL_ID_LEN], schema_hex[KL_ID_LEN], ver[24];
    if (kl_frame_hash(f, th) < 0 || kl_frame_schema_hash(f, sh) < 0)
        return kl_err_set(err, KL_ENOMEM, "out of memory hashing a frame");
    kl_hex(th, sizeof th, table_hex);
    kl_hex(sh, sizeof sh, schema_hex);
    unsigned iv = kl_frame_infer_version(f);
    snprintf(ver, sizeof ver, "%u", iv);
    kl_sha256_ctx h;
    if (kl_sha256_init(&h) < 0)
        return kl_err_set(err, KL_ENOMEM, "out of memory hashing a snapshot");
    kl_sha256_update(&h, "keel-snapshot-v1", 17);
    kl_sha256_update(&h, th, sizeof th);
    kl_sha256_update(&h, sh, sizeof sh);
    kl_sha256_update(&h, policy, strlen(policy) + 1);
    kl_sha256_update(&h, ver, strlen(ver) + 1);
    kl_sha256_final(&h, d);
    kl_hex(d, sizeof d, id);

    kl_snapshot_list have = {0};
    int rc = kl_store_snapshot_list(s, id, &have, err);
    kl_snapshot_list_release(&have);
    if (rc == 0)
        return 0; /* same content under the same rules: nothing new */
    if (rc != KL_ENOTFOUND)
        return rc;
    kl_err_clear(err);

    char table_id[KL_ID_LEN], values_id[KL_ID_LEN], manifest_id[KL_ID_LEN];
    json_t *stats = json_array();
    if (!stats)
        return kl_err_set(err, KL_ENOMEM, "out of memory summarising a snapshot");
    if ((rc = kl__table_put(s, f, table_id, err)) < 0 ||
        (rc = put_summaries(s, f, stats, values_id, err)) < 0) {
        json_decref(stats);
        return rc;
    }
    json_t *m = json_pack("{s:s, s:i, s:s, s:{s:s, s:s, s:s, s:I, s:I}, s:{s:s, s:i, s:o}, "
                          "s:s, s:o, s:{s:s, s:s}, s:o}",
                          "format", "keel-snapshot", "version", KL_SNAPSHOT_FORMAT, "id", id,
                          "table", "object", table_id, "encoding", TABLE_ENCODING, "hash", table_hex,
                          "rows", (json_int_t)kl_frame_row_count(f), "columns",
                          (json_int_t)kl_frame_col_count(f), "schema", "hash", schema_hex,
                          "infer_version", (int)iv, "columns", schema_json(f), "policy", policy,
                          "pii_log", o->pii_log ? json_deep_copy(o->pii_log) : json_array(),
                          "values", "object", values_id, "encoding", "keel-values-v2", "stats",
                          stats);
    char *text = m ? json_dumps(m, JSON_SORT_KEYS | JSON_INDENT(1)) : NULL;
    json_decref(m);
    if (!text)
        return kl_err_set(err, KL_ENOMEM, "out of memory writing a snapshot manifest");
    rc = kl_store_put(s, text, strlen(text), manifest_id, err);
    free(text);
    if (rc < 0)
        return rc;
    kl_snapshot_rec rec = {0};
    memcpy(rec.id, id, KL_ID_LEN);
    rec.name = o->name;
    rec.source_hash = o->source_hash;
    rec.n_rows = (int64_t)kl_frame_row_count(f);
    rec.n_cols = (int64_t)kl_frame_col_count(f);
    rec.schema_hash = schema_hex;
    rec.infer_version = iv;
    rec.manifest = manifest_id;
    if ((rc = kl_store_snapshot_add(s, &rec, err)) < 0)
        return rc;
    if (created)
        *created = 1;
    return 0;
}

int kl_snapshot_manifest(kl_store *s, const char *id, json_t **out, kl_err *err)
{
    *out = NULL;
    kl_snapshot_list l = {0};
    int rc = kl_store_snapshot_list(s, id, &l, err);
    if (rc < 0)
        return rc;
    void *data = NULL;
    size_t n = 0;
    rc = kl_store_get(s, l.items[0].manifest, 64u << 20, &data, &n, err);
    kl_snapshot_list_release(&l);
    if (rc < 0)
        return rc;
    json_error_t je;
    json_t *m = json_loadb(data, n, 0, &je);
    free(data);
    if (!m || !json_is_object(m)) {
        json_decref(m);
        return kl_err_set(err, KL_ECORRUPT, "snapshot %.12s: manifest is not JSON: %s", id,
                          je.text);
    }
    *out = m;
    return 0;
}

int kl_snapshot_load(kl_store *s, const char *id, kl_frame **out, kl_err *err)
{
    *out = NULL;
    json_t *m = NULL;
    int rc = kl_snapshot_manifest(s, id, &m, err);
    if (rc < 0)
        return rc;
    json_t *t = json_object_get(m, "table");
    const char *table = json_string_value(json_object_get(t, "object"));
    const char *hash = json_string_value(json_object_get(t, "hash"));
    const char *enc = json_string_value(json_object_get(t, "encoding"));
    kl_frame *f = NULL;
    if (!table || !hash || !enc)
        rc = kl_err_set(err, KL_ECORRUPT, "snapshot %.12s: manifest lacks its table", id);
    else if (strcmp(enc, TABLE_ENCODING) != 0)
        rc = kl_err_set(err, KL_EUNSUPPORTED,
                        "snapshot %.12s stores its table as '%s', which this keel no longer "
                        "reads (it reads %s); add the data again",
                        id, enc, TABLE_ENCODING);
    else
        rc = kl__table_get(s, table, &f, err);
    if (rc == 0) {
        uint8_t h[KL_SHA256_LEN];
        char hex[KL_ID_LEN];
        if (kl_frame_hash(f, h) < 0)
            rc = kl_err_set(err, KL_ENOMEM, "out of memory hashing a snapshot table");
        kl_hex(h, sizeof h, hex);
        if (rc == 0 && strcmp(hex, hash) != 0)
            rc = kl_err_set(err, KL_ECORRUPT,
                            "snapshot %.12s: the stored table reads back with hash %.12s, not "
                            "%.12s",
                            id, hex, hash);
        if (rc < 0) {
            kl_frame_free(f);
            f = NULL;
        }
    }
    json_decref(m);
    *out = f;
    return rc;
}

int kl_snapshot_values(kl_store *s, const char *id, const char *col, double **values,
                       uint64_t **counts, size_t *n, kl_err *err)
{
    *values = NULL;
    *counts = NULL;
    *n = 0;
    json_t *m = NULL;
    int rc = kl_snapshot_manifest(s, id, &m, err);
    if (rc < 0)
        return rc;
    json_t *cols = json_object_get(json_object_get(m, "schema"), "columns");
    long want = -1;
    for (size_t j = 0; j < json_array_size(cols); j++) {
        json_t *c = json_array_get(cols, j);
        if (strcmp(json_string_value(json_object_get(c, "name")) ?: "", col) == 0 &&
            strcmp(json_string_value(json_object_get(c, "kind")) ?: "", "numeric") == 0)
            want = (long)j;
    }
    const char *obj = json_string_value(json_object_get(json_object_get(m, "values"), "object"));
    if (want < 0 || !obj) {
        json_decref(m);
        return kl_err_set(err, KL_ENOTFOUND, "snapshot %.12s has no numeric column '%s'", id, col);
    }
    void *data = NULL;
    size_t len = 0;
    rc = kl_store_get(s, obj, 0, &data, &len, err);
    json_decref(m);
    if (rc < 0)
        return rc;
    const uint8_t *p = data, *end = p + len;
    if (len < 12 || memcmp(p, VALUES_MAGIC, 4) != 0 || p[4] != KL_SNAPSHOT_FORMAT) {
        free(data);
        return kl_err_set(err, KL_ECORRUPT, "snapshot %.12s: bad values object", id);
    }
    uint32_t nn = get_le32(p + 8);
    p += 12;
    for (uint32_t c = 0; c < nn && end - p >= 24; c++) {
        uint32_t col_j = get_le32(p);
        uint64_t nd = get_le64(p + 4);
        unsigned enc = p[12], sc = p[13], vw = p[14], cw = p[15];
        int64_t first = (int64_t)get_le64(p + 16);
        p += 24;
        if ((enc != 1 && enc != 2) || sc > KL__MAX_SCALE || (enc == 1 && vw != 8) ||
            (vw != 1 && vw != 2 && vw != 4 && vw != 8) || (cw != 1 && cw != 2 && cw != 4 && cw != 8) ||
            nd > (uint64_t)(end - p) / (vw + cw))
            break;
        if (col_j != (uint32_t)want) {
            p += (vw + cw) * nd;
            continue;
        }
        *values = malloc((nd ? nd : 1) * sizeof **values);
        *counts = malloc((nd ? nd : 1) * sizeof **counts);
        if (!*values || !*counts) {
            free(*values);
            free(*counts);
            *values = NULL;
            *counts = NULL;
            free(data);
            return kl_err_set(err, KL_ENOMEM, "out of memory reading values");
        }
        double pw = kl__pow10[sc];
        int64_t k = first;
        for (uint64_t i = 0; i < nd; i++) {
            uint64_t bits = get_uint(p + vw * i, vw);
            if (enc == 1) {
                memcpy(&(*values)[i], &bits, sizeof bits);
            } else {
                k += (int64_t)bits;
                (*values)[i] = sc ? (double)k / pw : (double)k;
            }
            (*counts)[i] = get_uint(p + vw * nd + cw * i, cw);
        }
        *n = (size_t)nd;
        free(data);
        return 0;
    }
    free(data);
    return kl_err_set(err, KL_ECORRUPT, "snapshot %.12s: values of '%s' missing", id, col);
}
