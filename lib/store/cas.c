/*
 * Content-addressed objects: .keel/objects/ab/cdef... holds the bytes whose
 * SHA-256 is abcdef..., zstd-compressed behind a 16-byte header (format in
 * include/keel/store.h and docs/STORE.md).
 *
 * Invariants:
 *  - A file under objects/xx/ is complete: writers fill a temporary file in
 *    objects/tmp/, fsync it, rename it into place and fsync the directory, so a
 *    crash at any moment leaves either no object or a whole one (and perhaps
 *    an orphan temporary file, which is never listed as an object).
 *  - No bytes reach a caller as verified unless their SHA-256 matched the
 *    name: kl_store_get checks before returning, and the streaming reader
 *    reports corruption on its final call.
 *  - Objects are immutable; putting one that exists leaves its file alone.
 *
 * Why streaming zstd rather than one ZSTD_compress call: objects (snapshot
 * tables, models) can be larger than memory, and the streaming API keeps the
 * memory use at zstd's window size whatever the object's size. The size in
 * the header is written last (pwrite at commit), since a stream does not know
 * its length up front.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "keel/err.h"
#include "keel/hash.h"
#include "keel/store.h"
#include "store/store_internal.h"
#include "core/common.h"

#define OBJ_MAGIC "KLOB"
#define OBJ_VERSION 1
#define OBJ_ZSTD 1
#define OBJ_HEADER 16
#define ZSTD_LEVEL 1

/* ---- small file helpers ---- */

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static ssize_t read_some(int fd, void *p, size_t n)
{
    for (;;) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        return r;
    }
}

static ssize_t read_full(int fd, void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read_some(fd, (char *)p + got, n - got);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static int fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
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

int kl__is_full_id(const char *s)
{
    if (!s)
        return 0;
    size_t i = 0;
    for (; s[i]; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) || i >= KL_SHA256_HEX_LEN)
            return 0;
    }
    return i == KL_SHA256_HEX_LEN;
}

int kl_store_object_path(const kl_store *s, const char *id, char *buf, size_t n, kl_err *err)
{
    if (!kl__is_full_id(id)) {
        if (n > 0)
            buf[0] = '\0';
        return kl_err_set(err, KL_EINVAL, "'%s' is not an object id (64 lowercase hex digits)",
                          id ? id : "(null)");
    }
    int len = snprintf(buf, n, "%s/%.2s/%s", s->objects, id, id + 2);
    if (len < 0 || (size_t)len >= n)
        return kl_err_set(err, KL_ERANGE, "object path does not fit in %zu bytes", n);
    return 0;
}

int kl_store_has(kl_store *s, const char *id)
{
    char path[4096];
    if (kl_store_object_path(s, id, path, sizeof path, NULL) < 0)
        return 0;
    return access(path, F_OK) == 0;
}

/* ---- writer ---- */

struct kl_store_writer {
    kl_store *s;
    int fd;
    char tmp[4096];
    ZSTD_CCtx *cctx;
    kl_sha256_ctx h;
    uint64_t size;
    uint8_t *out;
    size_t out_cap;
    int failed;
};

static void writer_free(kl_store_writer *w, int unlink_tmp)
{
    if (w->fd >= 0)
        close(w->fd);
    if (unlink_tmp && w->tmp[0])
        unlink(w->tmp);
    if (w->h.ctx) {
        uint8_t dummy[KL_SHA256_LEN];
        kl_sha256_final(&w->h, dummy);
    }
    ZSTD_freeCCtx(w->cctx);
    free(w->out);
    free(w);
}

int kl_store_put_begin(kl_store *s, kl_store_writer **out, kl_err *err)
{
    *out = NULL;
    kl_store_writer *w = calloc(1, sizeof *w);
    if (!w)
        return kl_err_set(err, KL_ENOMEM, "out of memory starting an object");
    w->s = s;
    w->fd = -1;
    w->out_cap = ZSTD_CStreamOutSize();
    w->out = malloc(w->out_cap);
    w->cctx = ZSTD_createCCtx();
    if (!w->out || !w->cctx || kl_sha256_init(&w->h) < 0) {
        writer_free(w, 0);
        return kl_err_set(err, KL_ENOMEM, "out of memory starting an object");
    }
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL);
    /*
     * One zstd worker thread compresses while the caller hashes and produces
     * the next bytes; the output is the same frame either way. A libzstd
     * built without threads refuses the setting and compresses inline.
     */
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_nbWorkers, 1);
    int len = snprintf(w->tmp, sizeof w->tmp, "%s/tmp/obj-XXXXXX", s->objects);
    if (len < 0 || (size_t)len >= sizeof w->tmp) {
        w->tmp[0] = '\0';
        writer_free(w, 0);
        return kl_err_set(err, KL_ERANGE, "store path is too long");
    }
    w->fd = mkostemp(w->tmp, O_CLOEXEC);
    if (w->fd < 0) {
        int e = errno;
        w->tmp[0] = '\0';
        writer_free(w, 0);
        kl_err_set(err, KL_EIO, "cannot create a temporary object file: %s", strerror(e));
        return kl_err_ctx(err, "%s/tmp", s->objects);
    }
    uint8_t hdr[OBJ_HEADER] = {0};
    memcpy(hdr, OBJ_MAGIC, 4);
    hdr[4] = OBJ_VERSION;
    hdr[5] = OBJ_ZSTD;
    if (write_all(w->fd, hdr, sizeof hdr) < 0) {
        int e = errno;
        writer_free(w, 1);
        kl_err_set(err, KL_EIO, "cannot write a temporary object file: %s", strerror(e));
        return kl_err_ctx(err, "%s/tmp", s->objects);
    }
    *out = w;
    return 0;
}

/* Run the compressor over in with directive end_op and write what it produces. */
static int writer_pump(kl_store_writer *w, ZSTD_inBuffer *in, ZSTD_EndDirective end_op, kl_err *err)
{
    for (;;) {
        ZSTD_outBuffer ob = {w->out, w->out_cap, 0};
        size_t r = ZSTD_compressStream2(w->cctx, &ob, in, end_op);
        if (ZSTD_isError(r)) {
            w->failed = 1;
            return kl_err_set(err, KL_EIO, "cannot compress an object: %s", ZSTD_getErrorName(r));
        }
        if (ob.pos > 0 && write_all(w->fd, w->out, ob.pos) < 0) {
            w->failed = 1;
            kl_err_set(err, KL_EIO, "cannot write an object: %s", strerror(errno));
            return kl_err_ctx(err, "%s", w->tmp);
        }
        int finished = end_op == ZSTD_e_end ? r == 0 : in->pos == in->size;
        if (finished)
            return 0;
    }
}

int kl_store_put_write(kl_store_writer *w, const void *data, size_t n, kl_err *err)
{
    if (w->failed)
        return kl_err_set(err, KL_EINVAL, "object writer already failed; abort it");
    if (n == 0)
        return 0;
    kl_sha256_update(&w->h, data, n);
    w->size += n;
    ZSTD_inBuffer in = {data, n, 0};
    return writer_pump(w, &in, ZSTD_e_continue, err);
}

void kl_store_put_abort(kl_store_writer *w)
{
    if (w)
        writer_free(w, 1);
}

int kl_store_put_commit(kl_store_writer *w, char id[KL_ID_LEN], kl_err *err)
{
    int rc;
    id[0] = '\0';
    if (w->failed) {
        writer_free(w, 1);
        return kl_err_set(err, KL_EINVAL, "object writer already failed; abort it");
    }
    ZSTD_inBuffer in = {NULL, 0, 0};
    if ((rc = writer_pump(w, &in, ZSTD_e_end, err)) < 0)
        goto fail;
    uint8_t size[8];
    put_le64(size, w->size);
    /* Read-only like git's objects: nothing may change an object in place. */
    if (pwrite(w->fd, size, 8, 8) != 8 || fchmod(w->fd, 0444) < 0 || fsync(w->fd) < 0) {
        rc = kl_err_set(err, KL_EIO, "cannot write an object: %s", strerror(errno));
        kl_err_ctx(err, "%s", w->tmp);
        goto fail;
    }
    if (close(w->fd) < 0) {
        w->fd = -1;
        rc = kl_err_set(err, KL_EIO, "cannot write an object: %s", strerror(errno));
        kl_err_ctx(err, "%s", w->tmp);
        goto fail;
    }
    w->fd = -1;
    uint8_t digest[KL_SHA256_LEN];
    kl_sha256_final(&w->h, digest);
    kl_hex(digest, KL_SHA256_LEN, id);

    char dir[4096], path[4096];
    snprintf(dir, sizeof dir, "%s/%.2s", w->s->objects, id);
    if ((rc = kl_store_object_path(w->s, id, path, sizeof path, err)) < 0)
        goto fail;
    if (access(path, F_OK) == 0) {
        writer_free(w, 1); /* already stored: identical bytes by construction */
        return 0;
    }
    if (mkdir(dir, 0777) == 0) {
        if (fsync_dir(w->s->objects) < 0) {
            rc = kl_err_set(err, KL_EIO, "cannot sync a directory: %s", strerror(errno));
            kl_err_ctx(err, "%s", w->s->objects);
            goto fail;
        }
    } else if (errno != EEXIST) {
        rc = kl_err_set(err, KL_EIO, "cannot create an object directory: %s", strerror(errno));
        kl_err_ctx(err, "%s", dir);
        goto fail;
    }
    if (rename(w->tmp, path) < 0) {
        rc = kl_err_set(err, KL_EIO, "cannot publish an object: %s", strerror(errno));
        kl_err_ctx(err, "%s", path);
        goto fail;
    }
    w->tmp[0] = '\0';
    if (fsync_dir(dir) < 0) {
        rc = kl_err_set(err, KL_EIO, "cannot sync a directory: %s", strerror(errno));
        kl_err_ctx(err, "%s", dir);
        writer_free(w, 0);
        return rc;
    }
    writer_free(w, 0);
    return 0;
fail:
    id[0] = '\0';
    writer_free(w, 1);
    return rc;
}

int kl_store_put(kl_store *s, const void *data, size_t n, char id[KL_ID_LEN], kl_err *err)
{
    uint8_t digest[KL_SHA256_LEN];
    if (kl_sha256(data, n, digest) < 0)
        return kl_err_set(err, KL_ENOMEM, "out of memory hashing an object");
    kl_hex(digest, KL_SHA256_LEN, id);
    if (kl_store_has(s, id))
        return 0;
    kl_store_writer *w;
    int rc = kl_store_put_begin(s, &w, err);
    if (rc == 0 && (rc = kl_store_put_write(w, data, n, err)) < 0)
        kl_store_put_abort(w);
    else if (rc == 0)
        rc = kl_store_put_commit(w, id, err);
    if (rc < 0)
        id[0] = '\0'; /* an id is only ever handed out for a stored object */
    return rc;
}

int kl_store_put_fd(kl_store *s, int fd, char id[KL_ID_LEN], kl_err *err)
{
    id[0] = '\0';
    enum { CHUNK = 1 << 17 };
    kl_store_writer *w;
    int rc = kl_store_put_begin(s, &w, err);
    if (rc < 0)
        return rc;
    char *buf = malloc(CHUNK);
    if (!buf) {
        kl_store_put_abort(w);
        return kl_err_set(err, KL_ENOMEM, "out of memory reading an object");
    }
    for (;;) {
        ssize_t r = read_some(fd, buf, CHUNK);
        if (r < 0) {
            rc = kl_err_set(err, KL_EIO, "cannot read the object's input: %s", strerror(errno));
            break;
        }
        if (r == 0)
            break;
        if ((rc = kl_store_put_write(w, buf, (size_t)r, err)) < 0)
            break;
    }
    free(buf);
    if (rc < 0) {
        kl_store_put_abort(w);
        return rc;
    }
    return kl_store_put_commit(w, id, err);
}

int kl_store_put_file(kl_store *s, FILE *f, char id[KL_ID_LEN], kl_err *err)
{
    id[0] = '\0';
    enum { CHUNK = 1 << 17 };
    kl_store_writer *w;
    int rc = kl_store_put_begin(s, &w, err);
    if (rc < 0)
        return rc;
    char *buf = malloc(CHUNK);
    if (!buf) {
        kl_store_put_abort(w);
        return kl_err_set(err, KL_ENOMEM, "out of memory reading an object");
    }
    for (;;) {
        size_t r = fread(buf, 1, CHUNK, f);
        if (r > 0 && (rc = kl_store_put_write(w, buf, r, err)) < 0)
            break;
        if (r < CHUNK) {
            if (ferror(f))
                rc = kl_err_set(err, KL_EIO, "cannot read the object's input");
            break;
        }
    }
    free(buf);
    if (rc < 0) {
        kl_store_put_abort(w);
        return rc;
    }
    return kl_store_put_commit(w, id, err);
}

/* ---- reader ---- */

struct kl_store_reader {
    int fd;
    ZSTD_DCtx *dctx;
    kl_sha256_ctx h;
    uint64_t size, produced;
    uint8_t *in;
    size_t in_cap;
    ZSTD_inBuffer inb;
    int eof, frame_done, done, failed;
    char id[KL_ID_LEN];
    char path[4096];
};

void kl_store_get_close(kl_store_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    if (r->h.ctx) {
        uint8_t dummy[KL_SHA256_LEN];
        kl_sha256_final(&r->h, dummy);
    }
    ZSTD_freeDCtx(r->dctx);
    free(r->in);
    free(r);
}

static int corrupt(kl_store_reader *r, kl_err *err, const char *why)
{
    r->failed = 1;
    kl_err_set(err, KL_ECORRUPT, "object '%.12s' is corrupt: %s", r->id, why);
    return kl_err_ctx(err, "%s", r->path);
}

int kl_store_get_open(kl_store *s, const char *id, kl_store_reader **out, kl_err *err)
{
    *out = NULL;
    kl_store_reader *r = calloc(1, sizeof *r);
    if (!r)
        return kl_err_set(err, KL_ENOMEM, "out of memory opening an object");
    r->fd = -1;
    int rc = kl_store_object_path(s, id, r->path, sizeof r->path, err);
    if (rc < 0) {
        kl_store_get_close(r);
        return rc;
    }
    memcpy(r->id, id, KL_ID_LEN);
    r->fd = open(r->path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        int e = errno;
        kl_store_get_close(r);
        if (e == ENOENT)
            return kl_err_set(err, KL_ENOTFOUND, "no object '%s'", id);
        kl_err_set(err, KL_EIO, "cannot open object '%.12s': %s", id, strerror(e));
        return kl_err_ctx(err, "%s", r->path);
    }
    r->in_cap = ZSTD_DStreamInSize();
    r->in = malloc(r->in_cap);
    r->dctx = ZSTD_createDCtx();
    if (!r->in || !r->dctx || kl_sha256_init(&r->h) < 0) {
        kl_store_get_close(r);
        return kl_err_set(err, KL_ENOMEM, "out of memory opening an object");
    }
    uint8_t hdr[OBJ_HEADER];
    ssize_t got = read_full(r->fd, hdr, sizeof hdr);
    if (got < 0) {
        rc = kl_err_set(err, KL_EIO, "cannot read object '%.12s': %s", id, strerror(errno));
        kl_err_ctx(err, "%s", r->path);
    } else if ((size_t)got < sizeof hdr) {
        rc = corrupt(r, err, "truncated header");
    } else if (memcmp(hdr, OBJ_MAGIC, 4) != 0) {
        rc = corrupt(r, err, "bad magic");
    } else if (hdr[4] != OBJ_VERSION || hdr[5] != OBJ_ZSTD) {
        rc = kl_err_set(err, KL_EUNSUPPORTED,
                        "object '%.12s' has format %u/compression %u, this keel reads 1/1", id,
                        hdr[4], hdr[5]);
        kl_err_ctx(err, "%s", r->path);
    }
    if (rc < 0) {
        kl_store_get_close(r);
        return rc;
    }
    r->size = get_le64(hdr + 8);
    r->inb.src = r->in;
    *out = r;
    return 0;
}

uint64_t kl_store_get_size(const kl_store_reader *r)
{
    return r->size;
}

/* After the frame ended: nothing may follow it, and the bytes must match the name. */
static int reader_finish(kl_store_reader *r, kl_err *err)
{
    if (r->inb.pos < r->inb.size)
        return corrupt(r, err, "trailing bytes after the data");
    if (!r->eof) {
        uint8_t extra;
        ssize_t got = read_some(r->fd, &extra, 1);
        if (got < 0)
            return kl_err_set(err, KL_EIO, "cannot read object '%.12s': %s", r->id,
                              strerror(errno));
        if (got > 0)
            return corrupt(r, err, "trailing bytes after the data");
        r->eof = 1;
    }
    if (r->produced != r->size)
        return corrupt(r, err, "size differs from its header");
    uint8_t digest[KL_SHA256_LEN];
    char hex[KL_ID_LEN];
    kl_sha256_final(&r->h, digest);
    kl_hex(digest, KL_SHA256_LEN, hex);
    if (memcmp(hex, r->id, KL_SHA256_HEX_LEN) != 0)
        return corrupt(r, err, "content hash does not match its name");
    r->done = 1;
    return 0;
}

int kl_store_get_read(kl_store_reader *r, void *buf, size_t cap, size_t *n, kl_err *err)
{
    *n = 0;
    if (r->failed)
        return kl_err_set(err, KL_ECORRUPT, "object '%.12s' is corrupt", r->id);
    if (r->done)
        return 0;
    if (cap == 0)
        return kl_err_set(err, KL_EINVAL, "object read with an empty buffer");
    ZSTD_outBuffer ob = {buf, cap, 0};
    while (ob.pos == 0) {
        if (r->frame_done)
            return reader_finish(r, err);
        if (r->inb.pos == r->inb.size && !r->eof) {
            ssize_t got = read_some(r->fd, r->in, r->in_cap);
            if (got < 0)
                return kl_err_set(err, KL_EIO, "cannot read object '%.12s': %s", r->id,
                                  strerror(errno));
            r->inb.size = (size_t)got;
            r->inb.pos = 0;
            if (got == 0)
                r->eof = 1;
        }
        size_t in_before = r->inb.pos;
        size_t z = ZSTD_decompressStream(r->dctx, &ob, &r->inb);
        if (ZSTD_isError(z))
            return corrupt(r, err, ZSTD_getErrorName(z));
        if (z == 0)
            r->frame_done = 1;
        else if (r->eof && ob.pos == 0 && r->inb.pos == in_before)
            /* All input used, nothing more buffered in zstd, and the frame is not over. */
            return corrupt(r, err, "truncated data");
    }
    if (ob.pos > r->size - r->produced)
        return corrupt(r, err, "more data than its header says");
    kl_sha256_update(&r->h, buf, ob.pos);
    r->produced += ob.pos;
    *n = ob.pos;
    return 0;
}

int kl_store_get(kl_store *s, const char *id, size_t max_size, void **data, size_t *n, kl_err *err)
{
    *data = NULL;
    *n = 0;
    kl_store_reader *r;
    int rc = kl_store_get_open(s, id, &r, err);
    if (rc < 0)
        return rc;
    if (r->size > SIZE_MAX - 1 || (max_size && r->size > max_size)) {
        uint64_t size = r->size;
        kl_store_get_close(r);
        return kl_err_set(err, KL_ERANGE, "object '%.12s' is %llu bytes, over the limit", id,
                          (unsigned long long)size);
    }
    size_t size = (size_t)r->size;
    char *buf = malloc(size + 1);
    if (!buf) {
        kl_store_get_close(r);
        return kl_err_set(err, KL_ENOMEM, "out of memory reading object '%.12s'", id);
    }
    size_t off = 0;
    for (;;) {
        size_t got;
        /* One spare byte so an object longer than its header is caught, not overflowed. */
        rc = kl_store_get_read(r, buf + off, size + 1 - off, &got, err);
        if (rc < 0 || got == 0)
            break;
        off += got;
    }
    kl_store_get_close(r);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *data = buf;
    *n = off;
    return 0;
}

int kl_store_get_fd(kl_store *s, const char *id, int fd, kl_err *err)
{
    enum { CHUNK = 1 << 17 };
    kl_store_reader *r;
    int rc = kl_store_get_open(s, id, &r, err);
    if (rc < 0)
        return rc;
    char *buf = malloc(CHUNK);
    if (!buf) {
        kl_store_get_close(r);
        return kl_err_set(err, KL_ENOMEM, "out of memory reading object '%.12s'", id);
    }
    for (;;) {
        size_t got;
        if ((rc = kl_store_get_read(r, buf, CHUNK, &got, err)) < 0 || got == 0)
            break;
        if (fd >= 0 && write_all(fd, buf, got) < 0) {
            rc =
                kl_err_set(err, KL_EIO, "cannot write object '%.12s' out: %s", id, strerror(errno));
            break;
        }
    }
    free(buf);
    kl_store_get_close(r);
    return rc;
}

int kl_store_verify(kl_store *s, const char *id, kl_err *err)
{
    return kl_store_get_fd(s, id, -1, err);
}

/* ---- listing ---- */

static int is_hex_name(const char *name, size_t len)
{
    size_t i = 0;
    for (; name[i]; i++) {
        char c = name[i];
        if (i >= len || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0;
    }
    return i == len;
}

int kl_store_object_each(kl_store *s, int (*fn)(const char *id, uint64_t disk_size, void *ud),
                         void *ud, kl_err *err)
{
    DIR *top = opendir(s->objects);
    if (!top) {
        kl_err_set(err, KL_EIO, "cannot list objects: %s", strerror(errno));
        return kl_err_ctx(err, "%s", s->objects);
    }
    int rc = 0;
    struct dirent *d;
    while (rc == 0 && (d = readdir(top))) {
        if (!is_hex_name(d->d_name, 2))
            continue;
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", s->objects, d->d_name);
        DIR *sub = opendir(dir);
        if (!sub)
            continue; /* a file named like a directory is not an object */
        struct dirent *e;
        while (rc == 0 && (e = readdir(sub))) {
            if (!is_hex_name(e->d_name, KL_SHA256_HEX_LEN - 2))
                continue;
            char id[KL_ID_LEN];
            memcpy(id, d->d_name, 2);
            memcpy(id + 2, e->d_name, KL_SHA256_HEX_LEN - 2 + 1);
            struct stat st;
            if (fstatat(dirfd(sub), e->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
                continue;
            rc = fn(id, (uint64_t)st.st_size, ud);
        }
        closedir(sub);
    }
    closedir(top);
    return rc;
}

/* ---- temporary files ---- */

int kl_store_tmp_sweep(kl_store *s, unsigned min_age_s, uint64_t *removed, kl_err *err)
{
    if (removed)
        *removed = 0;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tmp", s->objects);
    DIR *d = opendir(dir);
    if (!d) {
        kl_err_set(err, KL_EIO, "cannot list temporary objects: %s", strerror(errno));
        return kl_err_ctx(err, "%s", dir);
    }
    time_t now = time(NULL);
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        if (e->d_name[0] == '.' || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(st.st_mode) || now - st.st_mtime < (time_t)min_age_s)
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT) {
            rc = kl_err_set(err, KL_EIO, "cannot delete a temporary object: %s", strerror(errno));
            kl_err_ctx(err, "%s/%s", dir, e->d_name);
            break;
        }
        if (removed)
            (*removed)++;
    }
    closedir(d);
    return rc;
}
