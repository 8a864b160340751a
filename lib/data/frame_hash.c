/*
 * Content hashes of frames: SHA-256 over a canonical byte stream per column,
 * a frame hash over the column digests and a schema hash. Later issues store
 * these digests as ids (snapshots, lineage), so the byte streams below are a
 * file format: changing a single byte of them changes every id. Bump the
 * version byte of a stream whenever its layout changes.
 *
 * The streams depend only on the content, never on how a frame was built: a
 * categorical value is hashed as its string (not its code), so dictionary
 * order and unused dictionary entries do not show; every NaN hashes as one bit
 * pattern; there is no chunk or thread boundary in any stream, so a frame read
 * on 1 or 16 threads, or appended from pieces, hashes the same.
 *
 * All integers are little-endian. "str" is a u64 byte length followed by the
 * bytes (UTF-8 as stored, no terminator).
 *
 * Column stream (kl_frame_col_hash), version 1:
 *   "KLC"  3 bytes     tag
 *   u8     1           version
 *   str    name
 *   u8     type        enum kl_type: int 0, float 1, bool 2, date 3, datetime 4,
 *                      categorical 5, text 6
 *   u64    rows
 *   u8     has_format  TIME only: 1 when the column has a time format, else 0;
 *   str    format      TIME only, when has_format is 1
 *   then one value per row:
 *     int, float         u64 of the IEEE-754 binary64 bits; every NaN (missing) is
 *                        written as 0x7ff8000000000000. -0.0 keeps its sign bit and
 *                        so hashes differently from 0.0: they print differently
 *                        ("-0" and "0") and 1/x tells them apart.
 *     bool               u8: 0, 1, or 255 when missing
 *     date, datetime     i64 microseconds since 1970-01-01T00:00:00Z; missing is
 *                        INT64_MIN (0x8000000000000000)
 *     categorical, text  u8 0 when missing; else u8 1 then str
 *
 * Frame stream (kl_frame_hash), version 1:
 *   "KLF" u8 1, u64 rows, u64 columns, then the 32-byte column digests in
 *   column order. The inference version is not part of it (it is schema).
 *
 * Schema stream (kl_frame_schema_hash), version 1:
 *   "KLS" u8 1, u32 inference version, u64 columns, then per column:
 *   str name, u8 type, u8 has_format, and str format when has_format is 1
 *   (has_format is 0 for every column that is not TIME).
 *
 * Values go through a 16 KiB staging buffer so SHA-256 is fed large blocks,
 * not 8 bytes at a time. It is malloc'd once per call rather than put on the
 * stack, since column hashes run on worker threads whose stack size is not
 * ours to choose.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keel/frame.h"
#include "keel/hash.h"
#include "keel/parallel.h"
#include "data/frame_internal.h"
#include "core/common.h"

#define STAGE_SIZE 16384
#define CANONICAL_NAN 0x7ff8000000000000ull

struct stage {
    kl_sha256_ctx h;
    size_t pos;
    uint8_t buf[STAGE_SIZE];
};

static void stage_flush(struct stage *s)
{
    kl_sha256_update(&s->h, s->buf, s->pos);
    s->pos = 0;
}

static void put(struct stage *s, const void *p, size_t n)
{
    if (n > STAGE_SIZE - s->pos) {
        stage_flush(s);
        if (n >= STAGE_SIZE) {
            kl_sha256_update(&s->h, p, n);
            return;
        }
    }
    memcpy(s->buf + s->pos, p, n);
    s->pos += n;
}

static void store_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u8(struct stage *s, uint8_t v)
{
    put(s, &v, 1);
}

static void put_u32(struct stage *s, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(s, b, 4);
}

static void put_u64(struct stage *s, uint64_t v)
{
    uint8_t b[8];
    store_u64(b, v);
    put(s, b, 8);
}

static void put_str(struct stage *s, const char *str, size_t len)
{
    put_u64(s, len);
    put(s, str, len);
}

/* Make room for n more bytes in the buffer (n <= STAGE_SIZE). */
static uint8_t *reserve(struct stage *s, size_t n)
{
    if (n > STAGE_SIZE - s->pos)
        stage_flush(s);
    uint8_t *p = s->buf + s->pos;
    s->pos += n;
    return p;
}

static void put_f64s(struct stage *s, const double *v, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = KL_MIN(n - i, (size_t)(STAGE_SIZE / 8));
        uint8_t *p = reserve(s, 8 * k);
        for (size_t e = i + k; i < e; i++, p += 8) {
            uint64_t bits;
            memcpy(&bits, &v[i], 8);
            store_u64(p, v[i] != v[i] ? CANONICAL_NAN : bits);
        }
    }
}

static void put_i64s(struct stage *s, const int64_t *v, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = KL_MIN(n - i, (size_t)(STAGE_SIZE / 8));
        uint8_t *p = reserve(s, 8 * k);
        for (size_t e = i + k; i < e; i++, p += 8)
            store_u64(p, (uint64_t)v[i]);
    }
}

static void put_opt_str(struct stage *s, const char *str, size_t len)
{
    if (!str) {
        put_u8(s, 0);
        return;
    }
    uint8_t *p = reserve(s, 9);
    p[0] = 1;
    store_u64(p + 1, len);
    put(s, str, len);
}

static int hash_failed(uint8_t out[32])
{
    memset(out, 0, 32);
    return KL_ENOMEM;
}

int kl_frame_col_hash(const kl_frame *f, size_t j, uint8_t out[32])
{
    size_t n = kl_frame_row_count(f);
    enum kl_type type = kl_frame_col_type(f, j);
    size_t *lens = NULL;
    if (kl_frame_col_kind(f, j) == KL_COL_KIND_CATEGORICAL) {
        size_t n_dict;
        const char *const *dict = kl_frame_col_dict(f, j, &n_dict);
        lens = malloc((n_dict ? n_dict : 1) * sizeof *lens);
        if (!lens)
            return hash_failed(out);
        for (size_t k = 0; k < n_dict; k++)
            lens[k] = strlen(dict[k]);
    }
    struct stage *s = malloc(sizeof *s);
    if (!s || kl_sha256_init(&s->h) < 0) {
        free(s);
        free(lens);
        return hash_failed(out);
    }
    s->pos = 0;

    put(s, "KLC", 3);
    put_u8(s, 1);
    const char *name = kl_frame_col_name(f, j);
    put_str(s, name, strlen(name));
    put_u8(s, (uint8_t)type);
    put_u64(s, n);
    switch (kl_frame_col_kind(f, j)) {
    case KL_COL_KIND_NUMERIC:
        put_f64s(s, kl_frame_col_f64(f, j), n);
        break;
    case KL_COL_KIND_BOOL:
        put(s, kl_frame_col_bool(f, j), n);
        break;
    case KL_COL_KIND_TIME: {
        const char *fmt = kl_frame_col_time_format(f, j);
        put_u8(s, fmt != NULL);
        if (fmt)
            put_str(s, fmt, strlen(fmt));
        put_i64s(s, kl_frame_col_time(f, j), n);
        break;
    }
    case KL_COL_KIND_CATEGORICAL: {
        const char *const *dict = kl_frame_col_dict(f, j, NULL);
        const int32_t *codes = kl_frame_col_codes(f, j);
        for (size_t i = 0; i < n; i++) {
            int32_t c = codes[i];
            put_opt_str(s, c < 0 ? NULL : dict[c], c < 0 ? 0 : lens[c]);
        }
        break;
    }
    case KL_COL_KIND_TEXT: {
        const char *const *v = kl_frame_col_text(f, j);
        for (size_t i = 0; i < n; i++)
            put_opt_str(s, v[i], v[i] ? strlen(v[i]) : 0);
        break;
    }
    }
    stage_flush(s);
    kl_sha256_final(&s->h, out);
    free(s);
    free(lens);
    return 0;
}

struct frame_hash_job {
    const kl_frame *f;
    uint8_t (*digests)[32];
    int *rc;
};

static void frame_hash_task(void *ctx, size_t j)
{
    struct frame_hash_job *job = ctx;
    job->rc[j] = kl_frame_col_hash(job->f, j, job->digests[j]);
}

int kl_frame_hash(const kl_frame *f, uint8_t out[32])
{
    size_t nc = kl_frame_col_count(f);
    uint8_t(*digests)[32] = malloc((nc ? nc : 1) * sizeof *digests);
    int *rc = malloc((nc ? nc : 1) * sizeof *rc);
    struct stage *s = malloc(sizeof *s);
    if (!digests || !rc || !s)
        goto fail;
    /* Columns are independent streams: hashing them on several threads changes nothing. */
    struct frame_hash_job job = {f, digests, rc};
    if (nc > 1)
        kl_parallel_for(nc, frame_hash_task, &job);
    else if (nc == 1)
        frame_hash_task(&job, 0);
    for (size_t j = 0; j < nc; j++)
        if (rc[j] < 0)
            goto fail;
    if (kl_sha256_init(&s->h) < 0)
        goto fail;
    s->pos = 0;
    put(s, "KLF", 3);
    put_u8(s, 1);
    put_u64(s, kl_frame_row_count(f));
    put_u64(s, nc);
    for (size_t j = 0; j < nc; j++)
        put(s, digests[j], 32);
    stage_flush(s);
    kl_sha256_final(&s->h, out);
    free(digests);
    free(rc);
    free(s);
    return 0;
fail:
    free(digests);
    free(rc);
    free(s);
    return hash_failed(out);
}

int kl_frame_schema_hash(const kl_frame *f, uint8_t out[32])
{
    struct stage *s = malloc(sizeof *s);
    if (!s || kl_sha256_init(&s->h) < 0) {
        free(s);
        return hash_failed(out);
    }
    s->pos = 0;
    size_t nc = kl_frame_col_count(f);
    put(s, "KLS", 3);
    put_u8(s, 1);
    put_u32(s, kl_frame_infer_version(f));
    put_u64(s, nc);
    for (size_t j = 0; j < nc; j++) {
        const char *name = kl_frame_col_name(f, j);
        const char *fmt = kl_frame_col_time_format(f, j);
        put_str(s, name, strlen(name));
        put_u8(s, (uint8_t)kl_frame_col_type(f, j));
        put_u8(s, fmt != NULL);
        if (fmt)
            put_str(s, fmt, strlen(fmt));
    }
    stage_flush(s);
    kl_sha256_final(&s->h, out);
    free(s);
    return 0;
}
