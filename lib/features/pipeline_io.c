/*
 * Little-endian byte streams for keel's saved formats (the model file and
 * the pipeline inside it).
 *
 * Invariants: a kl_wbuf's data holds exactly len bytes written so far; a
 * kl_rbuf never reads at or past len. Both are sticky on failure, so a loader
 * can read a whole section and test `ok` once: a failed read returns zeros
 * and never touches memory outside the buffer. Values are written byte by
 * byte rather than by memcpy of host integers, so the format does not depend
 * on the host's byte order.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keel/pipeline.h"

#include "core/common.h"

void kl_wbuf_init(kl_wbuf *w)
{
    w->data = NULL;
    w->len = w->cap = 0;
    w->ok = 1;
}

void kl_wbuf_release(kl_wbuf *w)
{
    free(w->data);
    kl_wbuf_init(w);
}

void kl_wbuf_bytes(kl_wbuf *w, const void *p, size_t n)
{
    if (!w->ok || n == 0)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *d = realloc(w->data, cap);
        if (!d) {
            w->ok = 0;
            return;
        }
        w->data = d;
        w->cap = cap;
    }
    memcpy(w->data + w->len, p, n);
    w->len += n;
}

void kl_wbuf_u8(kl_wbuf *w, uint8_t v)
{
    kl_wbuf_bytes(w, &v, 1);
}

void kl_wbuf_u32(kl_wbuf *w, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    kl_wbuf_bytes(w, b, 4);
}

void kl_wbuf_u64(kl_wbuf *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    kl_wbuf_bytes(w, b, 8);
}

void kl_wbuf_f64(kl_wbuf *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    kl_wbuf_u64(w, u);
}

void kl_wbuf_f64s(kl_wbuf *w, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        kl_wbuf_f64(w, v[i]);
}

void kl_wbuf_str(kl_wbuf *w, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > UINT32_MAX) {
        w->ok = 0;
        return;
    }
    kl_wbuf_u32(w, (uint32_t)n);
    kl_wbuf_bytes(w, s, n);
}

void kl_rbuf_init(kl_rbuf *r, const uint8_t *data, size_t len)
{
    r->data = data;
    r->len = len;
    r->pos = 0;
    r->ok = 1;
}

const uint8_t *kl_rbuf_bytes(kl_rbuf *r, size_t n)
{
    if (!r->ok || n > r->len - r->pos) {
        r->ok = 0;
        return NULL;
    }
    const uint8_t *p = r->data + r->pos;
    r->pos += n;
    return p;
}

uint8_t kl_rbuf_u8(kl_rbuf *r)
{
    const uint8_t *p = kl_rbuf_bytes(r, 1);
    return p ? p[0] : 0;
}

uint32_t kl_rbuf_u32(kl_rbuf *r)
{
    const uint8_t *p = kl_rbuf_bytes(r, 4);
    if (!p)
        return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

uint64_t kl_rbuf_u64(kl_rbuf *r)
{
    const uint8_t *p = kl_rbuf_bytes(r, 8);
    if (!p)
        return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

double kl_rbuf_f64(kl_rbuf *r)
{
    uint64_t u = kl_rbuf_u64(r);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

void kl_rbuf_f64s(kl_rbuf *r, double *v, size_t n)
{
    if (!r->ok || n > (r->len - r->pos) / 8) {
        r->ok = 0;
        return;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = kl_rbuf_f64(r);
}

char *kl_rbuf_str(kl_rbuf *r, size_t max)
{
    uint32_t n = kl_rbuf_u32(r);
    if (!r->ok || n > max) {
        r->ok = 0;
        return NULL;
    }
    const uint8_t *p = kl_rbuf_bytes(r, n);
    if (!p || memchr(p, 0, n)) {
        r->ok = 0;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        r->ok = 0;
        return NULL;
    }
    memcpy(s, p, n);
    s[n] = 0;
    return s;
}

uint32_t kl_rbuf_count(kl_rbuf *r, uint32_t max, size_t min_item)
{
    uint32_t n = kl_rbuf_u32(r);
    if (!r->ok || n > max || (min_item && n > (r->len - r->pos) / min_item)) {
        r->ok = 0;
        return 0;
    }
    return n;
}

int kl_rbuf_done(const kl_rbuf *r)
{
    return r->ok && r->pos == r->len;
}
