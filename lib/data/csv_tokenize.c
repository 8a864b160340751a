/*
 * CSV tokenizer: finds where every field of a chunk ends, checks the shape
 * of each row and validates every byte (no NUL, valid UTF-8), without
 * looking at values. Also splits the input into chunks at row starts, aware of
 * quotes, and detects the delimiter.
 *
 * Invariants: a chunk starts at a row start; its output holds exactly n_cols
 * field ends per kept row, as 4-byte chunk-relative offsets (see
 * csv_internal.h); the first fault in a chunk stops it, and since chunks
 * before the first malformed byte of the input are cut correctly, the
 * earliest chunk's fault is the input's first fault whatever the chunking.
 *
 * Why this design: a byte-at-a-time state machine spends most of its time on
 * ordinary bytes. Here 64 bytes at a time are compared (SSE2) against the
 * delimiter and '\n' (structural bytes) and against '"', NUL and bytes >= 0x80
 * (rare bytes). While a block holds no rare byte, its structural bits are
 * walked with count-trailing-zeros, one iteration per field; a rare byte drops
 * to a careful path (quoted field, UTF-8 sequence, error) and the scan
 * restarts after it. Values are converted later by csv_read.c, per column.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "data/csv_internal.h"
#include "core/mem.h"
#include "core/common.h"

/* ---- UTF-8 ---- */

size_t kl__utf8_seq(const uint8_t *p, size_t avail)
{
    uint8_t c0 = p[0];
    if (c0 < 0xC2)
        return 0; /* a continuation byte, or an overlong 2-byte lead */
    if (c0 < 0xE0) {
        if (avail < 2 || (p[1] & 0xC0) != 0x80)
            return 0;
        return 2;
    }
    if (c0 < 0xF0) {
        if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if (c0 == 0xE0 && p[1] < 0xA0)
            return 0; /* overlong */
        if (c0 == 0xED && p[1] >= 0xA0)
            return 0; /* UTF-16 surrogates */
        return 3;
    }
    if (c0 < 0xF5) {
        if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
            (p[3] & 0xC0) != 0x80)
            return 0;
        if (c0 == 0xF0 && p[1] < 0x90)
            return 0; /* overlong */
        if (c0 == 0xF4 && p[1] >= 0x90)
            return 0; /* past U+10FFFF */
        return 4;
    }
    return 0;
}

/* ---- byte scanning ---- */

/*
 * Bits of the 64 bytes at p: the result marks the delimiter and '\n', *rare
 * marks '"', NUL and bytes >= 0x80.
 */
static inline uint64_t scan64(const uint8_t *p, uint8_t delim, uint64_t *rare)
{
#if defined(__SSE2__)
    const __m128i vd = _mm_set1_epi8((char)delim);
    const __m128i vn = _mm_set1_epi8('\n');
    const __m128i vq = _mm_set1_epi8('"');
    const __m128i vz = _mm_setzero_si128();
    uint64_t s = 0, o = 0;
    for (int k = 0; k < 4; k++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        __m128i st = _mm_or_si128(_mm_cmpeq_epi8(x, vd), _mm_cmpeq_epi8(x, vn));
        __m128i rr = _mm_or_si128(_mm_cmpeq_epi8(x, vq), _mm_cmpeq_epi8(x, vz));
        s |= (uint64_t)(uint32_t)_mm_movemask_epi8(st) << (16 * k);
        o |= (uint64_t)(uint32_t)(_mm_movemask_epi8(rr) | _mm_movemask_epi8(x)) << (16 * k);
    }
    *rare = o;
    return s;
#else
    uint64_t s = 0, o = 0;
    for (int k = 0; k < 64; k++) {
        uint8_t c = p[k];
        if (c == delim || c == '\n')
            s |= (uint64_t)1 << k;
        if (c == '"' || c == 0 || c >= 0x80)
            o |= (uint64_t)1 << k;
    }
    *rare = o;
    return s;
#endif
}

/* First offset at or after p of '"', NUL or a byte >= 0x80; n when none. */
static inline size_t find_in_quotes(const uint8_t *b, size_t n, size_t p)
{
#if defined(__SSE2__)
    const __m128i vq = _mm_set1_epi8('"');
    const __m128i vz = _mm_setzero_si128();
    while (n - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + p));
        unsigned m = (unsigned)(_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, vq),
                                                               _mm_cmpeq_epi8(x, vz))) |
                                _mm_movemask_epi8(x));
        if (m)
            return p + (size_t)__builtin_ctz(m);
        p += 16;
    }
#endif
    for (; p < n; p++)
        if (b[p] == '"' || b[p] == 0 || b[p] >= 0x80)
            return p;
    return n;
}

static size_t count_quotes(const uint8_t *p, size_t n)
{
    size_t total = 0, i = 0;
#if defined(__SSE2__)
    const __m128i vq = _mm_set1_epi8('"');
    const __m128i vz = _mm_setzero_si128();
    while (n - i >= 16) {
        /* Byte counters may not overflow: fold them every 255 blocks. */
        __m128i acc = vz;
        for (int k = 0; k < 255 && n - i >= 16; k++, i += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(x, vq));
        }
        __m128i s = _mm_sad_epu8(acc, vz);
        total += (size_t)_mm_cvtsi128_si32(s) + (size_t)_mm_cvtsi128_si32(_mm_unpackhi_epi64(s, s));
    }
#endif
    for (; i < n; i++)
        total += p[i] == '"';
    return total;
}

/* ---- the tokenizer ---- */

typedef struct tstate {
    const uint8_t *b; /* the chunk's first byte */
    size_t n;         /* chunk length */
    size_t base;      /* absolute offset of b */
    uint32_t *ends;
    size_t ne, cap;
    size_t row_base;   /* ne at the start of the current row */
    size_t rstart;     /* chunk-relative start of the current row */
    size_t next_start; /* where a row following the last kept one starts without a gap */
    size_t fstart;     /* chunk-relative start of the current field */
    int row_bad;       /* skip mode: the current row held a NUL or invalid UTF-8 */
} tstate;

static int grow_ends(tstate *s)
{
    size_t cap = s->cap ? s->cap + s->cap / 2 + 1024 : 4096;
    uint32_t *e = realloc(s->ends, cap * sizeof *e);
    if (!e)
        return -1;
    s->ends = e;
    s->cap = cap;
    return 0;
}

static inline int push_end(tstate *s, size_t off)
{
    if (s->ne == s->cap && grow_ends(s) < 0)
        return -1;
    s->ends[s->ne++] = (uint32_t)off;
    return 0;
}

static int fault(kl__csv_chunk *c, enum kl__csv_fault f, size_t pos)
{
    c->fault = f;
    c->fault_pos = pos;
    return -1;
}

/* A NUL or bad UTF-8: an error, or under skip mode a mark on the row. */
static int row_fault(kl__csv_tok *tok, kl__csv_chunk *c, tstate *s, enum kl__csv_fault f,
                     size_t p)
{
    if (tok->skip_bad) {
        s->row_bad = 1;
        return 0;
    }
    c->fault_byte = s->b[p];
    return fault(c, f, s->base + p);
}

/* The row ending at p is complete. Returns 0, 1 when the row limit is reached, or -1. */
static int end_row(kl__csv_tok *tok, kl__csv_chunk *c, tstate *s, size_t p)
{
    size_t nf = s->ne - s->row_base;
    if (tok->n_cols == 0)
        tok->n_cols = nf;
    int drop = 0; /* 1 blank line, 2 bad row */
    if (nf != tok->n_cols) {
        size_t len = p - s->rstart;
        if (nf == 1 && tok->n_cols > 1 && (len == 0 || (len == 1 && s->b[s->rstart] == '\r'))) {
            drop = 1;
        } else if (!tok->skip_bad) {
            size_t at;
            if (nf > tok->n_cols)
                at = s->ends[s->row_base + tok->n_cols - 1] + 1;
            else
                at = (p > s->rstart && s->b[p - 1] == '\r') ? p - 1 : p;
            c->fault_fields = nf;
            return fault(c, KL__CSV_RAGGED, s->base + at);
        } else {
            drop = 2;
        }
    } else if (s->row_bad) {
        drop = 2;
    }
    if (drop) {
        s->ne = s->row_base;
        if (drop == 2) {
            c->bad_rows++;
            if (c->first_bad_pos == SIZE_MAX)
                c->first_bad_pos = s->base + s->rstart;
        }
    } else {
        if (s->rstart != s->next_start) {
            if (c->n_gaps == c->cap_gaps) {
                size_t cap = c->cap_gaps ? 2 * c->cap_gaps : 16;
                kl__csv_gap *g = realloc(c->gaps, cap * sizeof *g);
                if (!g)
                    return fault(c, KL__CSV_NOMEM, s->base + p);
                c->gaps = g;
                c->cap_gaps = cap;
            }
            c->gaps[c->n_gaps].row = c->n_rows;
            c->gaps[c->n_gaps].start = (uint32_t)s->rstart;
            c->n_gaps++;
        }
        c->n_rows++;
        s->next_start = p + 1;
    }
    s->row_bad = 0;
    s->rstart = p + 1;
    s->row_base = s->ne;
    if (tok->row_limit && c->n_rows == tok->row_limit) {
        c->stop = KL_MIN(p + 1, s->n);
        return 1;
    }
    return 0;
}

/* A field (or row) ends at terminator p. Returns 0, 1 (row limit) or -1. */
static inline int terminate(kl__csv_tok *tok, kl__csv_chunk *c, tstate *s, size_t p)
{
    if (push_end(s, p) < 0)
        return fault(c, KL__CSV_NOMEM, s->base + p);
    s->fstart = p + 1;
    if (p == s->n || s->b[p] == '\n')
        return end_row(tok, c, s, p);
    return 0;
}

/* The quoted field opening at *pp; on return *pp is past its terminator. */
static int quoted_field(kl__csv_tok *tok, kl__csv_chunk *c, tstate *s, size_t *pp)
{
    const uint8_t *b = s->b;
    size_t n = s->n, open = *pp, p = open + 1;
    for (;;) {
        p = find_in_quotes(b, n, p);
        if (p >= n)
            return fault(c, KL__CSV_UNTERMINATED, s->base + open);
        uint8_t ch = b[p];
        if (ch == '"') {
            if (p + 1 < n && b[p + 1] == '"') {
                p += 2;
                continue;
            }
            p++;
            break;
        }
        if (ch == 0) {
            if (row_fault(tok, c, s, KL__CSV_NUL, p) < 0)
                return -1;
            p++;
            continue;
        }
        size_t l = kl__utf8_seq(b + p, n - p);
        if (!l) {
            if (row_fault(tok, c, s, KL__CSV_UTF8, p) < 0)
                return -1;
            l = 1;
        }
        p += l;
    }
    size_t t;
    if (p == n || b[p] == tok->delim || b[p] == '\n')
        t = p;
    else if (b[p] == '\r' && p + 1 < n && b[p + 1] == '\n')
        t = p + 1;
    else
        return fault(c, KL__CSV_AFTER_QUOTE, s->base + p);
    *pp = t + 1;
    return terminate(tok, c, s, t);
}

void kl__csv_chunk_release(kl__csv_chunk *c)
{
    free(c->ends);
    free(c->gaps);
    c->ends = NULL;
    c->gaps = NULL;
    c->n_ends = c->cap_ends = c->n_gaps = c->cap_gaps = 0;
}

int kl__csv_tokenize(kl__csv_tok *tok, kl__csv_chunk *c)
{
    tstate s = {0};
    s.b = tok->buf + c->begin;
    s.n = c->end - c->begin;
    s.base = c->begin;
    c->n_rows = 0;
    c->n_gaps = 0;
    c->bad_rows = 0;
    c->first_bad_pos = SIZE_MAX;
    c->fault = KL__CSV_OK;
    c->stop = s.n;
    if (s.n >= UINT32_MAX)
        return fault(c, KL__CSV_TOO_LONG, c->begin);
    if (s.n == 0)
        return 0;
    s.ends = c->ends;
    s.cap = c->cap_ends;
    if (!s.ends && tok->fields_hint) {
        size_t want = (size_t)((double)s.n * (double)tok->fields_hint / 1024.0) + 64;
        s.ends = kl__big_alloc(want * sizeof *s.ends);
        if (s.ends)
            s.cap = want;
    }

    const uint8_t *b = s.b;
    const size_t n = s.n;
    const uint8_t delim = tok->delim;
    size_t pos = 0;
    int rc = 0;
    while (pos < n) {
        if (n - pos >= 64) {
            uint64_t rare, st = scan64(b + pos, delim, &rare);
            uint64_t clean = rare ? (rare & (~rare + 1)) - 1 : ~(uint64_t)0;
            st &= clean;
            while (st) {
                size_t p = pos + (size_t)__builtin_ctzll(st);
                st &= st - 1;
                if ((rc = terminate(tok, c, &s, p)) != 0)
                    goto out;
            }
            if (!rare) {
                pos += 64;
                continue;
            }
            pos += (size_t)__builtin_ctzll(rare);
        } else {
            uint8_t ch = b[pos];
            if (ch == delim || ch == '\n') {
                if ((rc = terminate(tok, c, &s, pos)) != 0)
                    goto out;
                pos++;
                continue;
            }
            if (ch != '"' && ch != 0 && ch < 0x80) {
                pos++;
                continue;
            }
        }
        /* b[pos] is a quote, a NUL or a byte >= 0x80. */
        uint8_t ch = b[pos];
        if (ch == '"') {
            if (pos != s.fstart) {
                rc = fault(c, KL__CSV_QUOTE_INSIDE, s.base + pos);
                goto out;
            }
            if ((rc = quoted_field(tok, c, &s, &pos)) != 0)
                goto out;
            continue;
        }
        if (ch == 0) {
            if ((rc = row_fault(tok, c, &s, KL__CSV_NUL, pos)) != 0)
                goto out;
            pos++;
            continue;
        }
        size_t l = kl__utf8_seq(b + pos, n - pos);
        if (!l) {
            if ((rc = row_fault(tok, c, &s, KL__CSV_UTF8, pos)) != 0)
                goto out;
            l = 1;
        }
        pos += l;
    }
    /* A last row without a final newline. */
    if (s.rstart < n)
        rc = terminate(tok, c, &s, n);
out:
    c->ends = s.ends;
    c->n_ends = s.ne;
    c->cap_ends = s.cap;
    return rc < 0 ? -1 : 0;
}

/* ---- counting rows ---- */

enum { LINE_EMPTY, LINE_CR, LINE_OTHER }; /* what the current line holds so far */

/* Newline and CR bits of the 64 bytes at p; 1 when the block holds a quote. */
static inline int scan64_lines(const uint8_t *p, uint64_t *nl, uint64_t *cr)
{
#if defined(__SSE2__)
    const __m128i vn = _mm_set1_epi8('\n');
    const __m128i vr = _mm_set1_epi8('\r');
    const __m128i vq = _mm_set1_epi8('"');
    uint64_t n = 0, r = 0;
    unsigned q = 0;
    for (int k = 0; k < 4; k++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        n |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, vn)) << (16 * k);
        r |= (uint64_t)(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, vr)) << (16 * k);
        q |= (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, vq));
    }
    *nl = n;
    *cr = r;
    return q != 0;
#else
    uint64_t n = 0, r = 0;
    int q = 0;
    for (int k = 0; k < 64; k++) {
        n |= (uint64_t)(p[k] == '\n') << k;
        r |= (uint64_t)(p[k] == '\r') << k;
        q |= p[k] == '"';
    }
    *nl = n;
    *cr = r;
    return q;
#endif
}

size_t kl__csv_count_rows(const uint8_t *b, size_t n, int skip_blank)
{
    size_t rows = 0, p = 0;
    int inq = 0, line = LINE_EMPTY;
    while (p < n) {
        uint64_t nl, cr;
        if (!inq && n - p >= 64 && !scan64_lines(b + p, &nl, &cr)) {
            /* No quote: every newline ends a row; find the blank ones with masks. */
            rows += (size_t)__builtin_popcountll(nl);
            if (skip_blank && (nl & ((nl << 1) | (cr << 1) | 1))) {
                uint64_t rs = (nl << 1) | (line == LINE_EMPTY); /* a row starts at bit i */
                uint64_t blank = nl & rs;
                blank |= nl & (((cr << 1) & (rs << 1)) | (line == LINE_CR));
                rows -= (size_t)__builtin_popcountll(blank);
            }
            if (nl) {
                int last = 63 - __builtin_clzll(nl);
                if (last == 63)
                    line = LINE_EMPTY;
                else if (last == 62 && b[p + 63] == '\r')
                    line = LINE_CR;
                else
                    line = LINE_OTHER;
            } else if (line == LINE_EMPTY || line == LINE_CR) {
                line = LINE_OTHER;
            }
            p += 64;
            continue;
        }
        size_t e = KL_MIN(n, p + 64);
        for (; p < e; p++) {
            uint8_t ch = b[p];
            if (ch == '"') {
                inq ^= 1;
                line = LINE_OTHER;
            } else if (ch == '\n' && !inq) {
                if (!(skip_blank && line != LINE_OTHER))
                    rows++;
                line = LINE_EMPTY;
            } else {
                line = (line == LINE_EMPTY && ch == '\r') ? LINE_CR : LINE_OTHER;
            }
        }
    }
    if (line == LINE_OTHER || (line == LINE_CR && !skip_blank))
        rows++;
    return rows;
}

/* ---- chunks ---- */

size_t *kl__csv_split(const uint8_t *buf, size_t len, size_t start, size_t chunk_bytes,
                      int threads, size_t *n_chunks)
{
    if (chunk_bytes == 0)
        chunk_bytes = 1;
    size_t span = len > start ? len - start : 0;
    size_t k = span ? (span + chunk_bytes - 1) / chunk_bytes : 1;
    size_t *bound = malloc((k + 1) * sizeof *bound);
    size_t *parity = malloc(k * sizeof *parity);
    if (!bound || !parity) {
        free(bound);
        free(parity);
        return NULL;
    }
    /* Quotes per raw piece, in parallel; then the parity at each raw cut. */
    long kk = (long)k;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1 && k > 1)
    for (long i = 0; i < kk; i++) {
        size_t a = start + (size_t)i * chunk_bytes;
        size_t e = KL_MIN(a + chunk_bytes, len);
        parity[i] = a < len ? count_quotes(buf + a, e - a) & 1 : 0;
    }
    size_t acc = 0;
    for (size_t i = 0; i < k; i++) {
        size_t q = parity[i];
        parity[i] = acc;
        acc ^= q;
    }
    /*
     * Each cut searches only its own piece; a cut whose piece holds no
     * newline at even parity takes the next cut's boundary (the first such
     * newline after it is the next piece's), resolved from the end. So one
     * long quoted field costs one pass, not one pass per chunk.
     */
    bound[0] = start;
    bound[k] = len;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1 && k > 1)
    for (long i = 1; i < kk; i++) {
        size_t p = start + (size_t)i * chunk_bytes;
        size_t e = KL_MIN(p + chunk_bytes, len);
        size_t par = parity[i];
        size_t cut = SIZE_MAX;
        for (; p < e; p++) {
            if (buf[p] == '"')
                par ^= 1;
            else if (buf[p] == '\n' && !par) {
                cut = p + 1;
                break;
            }
        }
        bound[i] = cut;
    }
    for (size_t i = k - 1; i >= 1; i--)
        if (bound[i] == SIZE_MAX)
            bound[i] = bound[i + 1];
    free(parity);
    *n_chunks = k;
    return bound;
}

/* ---- delimiter detection ---- */

/* Fields of the record at *pos under delim, leniently (never fails); advances *pos. */
static size_t count_record(const uint8_t *b, size_t n, size_t *pos, uint8_t delim, int *blank)
{
    size_t p = *pos, start = p, nf = 1;
    int inq = 0, at_start = 1;
    while (p < n) {
        uint8_t ch = b[p++];
        if (inq) {
            if (ch == '"') {
                if (p < n && b[p] == '"')
                    p++;
                else
                    inq = 0;
            }
            continue;
        }
        if (ch == '"' && at_start) {
            inq = 1;
            at_start = 0;
            continue;
        }
        if (ch == delim) {
            nf++;
            at_start = 1;
            continue;
        }
        if (ch == '\n')
            break;
        at_start = 0;
    }
    size_t len = p - start;
    if (len && b[p - 1] == '\n')
        len--;
    *blank = len == 0 || (len == 1 && b[start] == '\r');
    *pos = p;
    return nf;
}

uint8_t kl__csv_detect_delimiter(const uint8_t *buf, size_t len)
{
    static const uint8_t cand[] = {',', ';', '\t', '|'};
    enum { MAX_LINES = 20 };
    size_t best_consistent = 0, best_first = 0;
    uint8_t pick_consistent = 0, pick_first = 0;
    for (size_t c = 0; c < KL_ARRAY_LEN(cand); c++) {
        size_t pos = 0, lines = 0, first = 0;
        int consistent = 1;
        while (pos < len && lines < MAX_LINES) {
            int blank;
            size_t nf = count_record(buf, len, &pos, cand[c], &blank);
            if (blank)
                continue;
            if (lines == 0)
                first = nf;
            else if (nf != first)
                consistent = 0;
            lines++;
        }
        if (consistent && first > 1 && first > best_consistent) {
            best_consistent = first;
            pick_consistent = cand[c];
        }
        if (first > 1 && first > best_first) {
            best_first = first;
            pick_first = cand[c];
        }
    }
    if (pick_consistent)
        return pick_consistent;
    if (pick_first)
        return pick_first;
    return ',';
}
