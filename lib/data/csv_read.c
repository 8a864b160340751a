/*
 * CSV reader: from bytes to a typed kl_frame, on all cores.
 *
 * The pipeline, over chunks that start at row starts (csv_tokenize.c cuts
 * them, aware of quotes):
 *   A  count each chunk's rows (memchr speed), so each chunk knows its first
 *      global row before any value is parsed;
 *   B  per chunk, in parallel: tokenize into the thread's index (4 bytes a
 *      field, row shapes checked, every byte validated), then, while that
 *      index and the chunk's text are still in cache, classify every field:
 *      numbers are parsed straight into their column at their global row,
 *      and the facts inference needs are kept per chunk and column (all
 *      numbers? all integers? all booleans? which date forms fit every
 *      value?). Booleans are stored as 0/1, dates are parsed into the same
 *      8-byte slots with the first form that still fits the chunk's values,
 *      and columns that are plainly strings in the chunk get their chunk
 *      dictionary and codes at once;
 *   C  merge the facts in chunk order and decide each column's type;
 *   D  finish what is not a number: booleans from their slots, dates kept
 *      when the chosen form is the one phase B used, and otherwise (and for
 *      string columns a chunk held only numbers of) tokenize the chunk again
 *      and convert from its cells; chunk dictionaries are merged in chunk
 *      order, so category codes follow first appearance as a serial read
 *      would.
 * Rows dropped by skip mode leave holes in the columns, closed by moving
 * each chunk's values down. Every merge is in chunk order and every fact is
 * an AND or a sum, so the frame does not depend on the thread count or on
 * where chunks fall; tests force chunks of a few bytes to check it.
 *
 * Why this design: an index of the whole file (4 bytes per field) costs as
 * much memory traffic as the text itself; keeping one chunk's index per
 * thread, reused, keeps it in cache and peak memory at the mapped file plus
 * the columns. Values are parsed once and never copied, column writes go
 * through a small staging block and streaming stores, and strings are only
 * materialised for string columns.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <omp.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "keel/arena.h"
#include "keel/csv.h"
#include "keel/parallel.h"
#include "data/csv_internal.h"
#include "data/frame_internal.h"
#include "data/parse.h"
#include "core/mem.h"
#include "core/common.h"

#define TF_ALL 0x3FFu
#define DEFAULT_MAX_CATEGORIES 1000
#define SMALL_CATEGORIES 10
#define CHUNK_MIN ((size_t)64 << 10)
#define CHUNK_MAX ((size_t)4 << 20)
#define SMALL_ROW_LIMIT ((size_t)1 << 20)

static size_t g_chunk_bytes;

void kl__csv_set_chunk_bytes(size_t n)
{
    g_chunk_bytes = n;
}

size_t kl__csv_chunk_bytes(void)
{
    return g_chunk_bytes;
}

/* ---- missing tokens ---- */

static const char *const default_missing[] = {"", "NA", "N/A", "null", "NaN", "None"};

typedef struct missing_set {
    const char *const *tok;
    size_t n;
    size_t maxlen;
    int empty;         /* "" is a token */
    uint8_t first[256]; /* first bytes of the non-empty tokens */
} missing_set;

static void missing_init(missing_set *m, const char *const *tok, size_t n)
{
    memset(m, 0, sizeof *m);
    if (!tok) {
        tok = default_missing;
        n = KL_ARRAY_LEN(default_missing);
    }
    m->tok = tok;
    m->n = n;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(tok[i]);
        if (l == 0)
            m->empty = 1;
        else
            m->first[(uint8_t)tok[i][0]] = 1;
        m->maxlen = KL_MAX(m->maxlen, l);
    }
}

static inline int is_missing(const missing_set *m, const uint8_t *p, size_t n)
{
    if (n == 0)
        return m->empty;
    if (n > m->maxlen || !m->first[p[0]])
        return 0;
    for (size_t i = 0; i < m->n; i++)
        if (strlen(m->tok[i]) == n && memcmp(m->tok[i], p, n) == 0)
            return 1;
    return 0;
}

/* ---- numbers: an inline fast path in front of kl__parse_number ---- */

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/*
 * The common "-123.456" or "1.5e-07" shape with at most 19 digits, a
 * mantissa m <= 2^53 and a decimal exponent k with |k| <= 22: m * 10^k or
 * m / 10^-k with both operands exact is one correctly rounded operation
 * (Clinger), so it equals strtod. Anything else goes to kl__parse_number.
 */
static inline __attribute__((always_inline)) int parse_num(const uint8_t *p, size_t n,
                                                            double *out, int *is_int)
{
    size_t i = 0;
    int neg = 0;
    if (n && p[0] == '-') {
        neg = 1;
        i = 1;
    }
    uint64_t m = 0;
    size_t nd = 0, frac = 0;
    int dot = 0;
    while (i < n && (unsigned)(p[i] - '0') < 10) {
        m = m * 10 + (uint64_t)(p[i] - '0');
        i++;
        nd++;
    }
    if (i < n && p[i] == '.') {
        dot = 1;
        i++;
        while (i < n && (unsigned)(p[i] - '0') < 10) {
            m = m * 10 + (uint64_t)(p[i] - '0');
            i++;
            nd++;
            frac++;
        }
    }
    long e10 = -(long)frac;
    int expo = 0;
    if (i < n && (p[i] == 'e' || p[i] == 'E') && nd > 0) {
        /* A short exponent ("1.23e-05"); anything longer goes the slow way. */
        size_t k = i + 1;
        int eneg = 0;
        if (k < n && (p[k] == '-' || p[k] == '+'))
            eneg = p[k++] == '-';
        long ev = 0;
        size_t ed = 0;
        while (k < n && ed < 4 && (unsigned)(p[k] - '0') < 10) {
            ev = ev * 10 + (p[k] - '0');
            k++;
            ed++;
        }
        if (ed > 0 && k == n) {
            e10 += eneg ? -ev : ev;
            expo = 1;
            i = n;
        }
    }
    if (i == n && nd > 0 && nd <= 19 && m <= ((uint64_t)1 << 53) && e10 >= -22 && e10 <= 22) {
        double v = (double)m;
        if (e10 < 0)
            v /= pow10_exact[-e10];
        else if (e10 > 0)
            v *= pow10_exact[e10];
        *out = neg ? -v : v;
        *is_int = !dot && !expo;
        return 1;
    }
    if (n && (p[0] == '-' || p[0] == '+' || p[0] == '.' || p[0] == ' ' || p[0] == 'i' ||
              p[0] == 'I' || (unsigned)(p[0] - '0') < 10))
        return kl__parse_number((const char *)p, n, out, is_int);
    return 0;
}

/* ---- string dictionaries ---- */

typedef struct dent {
    const uint8_t *p;
    uint32_t n;
    uint32_t h;
} dent;

typedef struct dtab {
    uint32_t *slot; /* entry index + 1; 0 is empty */
    uint32_t mask;
    dent *e;
    uint32_t ne, cap;
} dtab;

static inline uint64_t str_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

static void dtab_release(dtab *t)
{
    free(t->slot);
    free(t->e);
    memset(t, 0, sizeof *t);
}

static int dtab_grow(dtab *t)
{
    uint32_t size = t->slot ? (t->mask + 1) * 2 : 64;
    if (size == 0 || size > (1u << 31))
        return -1;
    uint32_t *slot = calloc(size, sizeof *slot);
    if (!slot)
        return -1;
    for (uint32_t k = 0; k < t->ne; k++) {
        uint32_t i = t->e[k].h & (size - 1);
        while (slot[i])
            i = (i + 1) & (size - 1);
        slot[i] = k + 1;
    }
    free(t->slot);
    t->slot = slot;
    t->mask = size - 1;
    return 0;
}

/* Index of s[0..n) in t, added when new; -1 when out of memory. */
static int32_t dtab_intern(dtab *t, const uint8_t *p, size_t n)
{
    if (!t->slot || (size_t)(t->ne + 1) * 2 > (size_t)t->mask + 1)
        if (dtab_grow(t) < 0)
            return -1;
    uint64_t h64 = str_hash(p, n);
    uint32_t h = (uint32_t)h64 ^ (uint32_t)(h64 >> 32);
    uint32_t i = h & t->mask;
    for (;;) {
        uint32_t s = t->slot[i];
        if (!s)
            break;
        const dent *d = &t->e[s - 1];
        if (d->h == h && d->n == n && memcmp(d->p, p, n) == 0)
            return (int32_t)(s - 1);
        i = (i + 1) & t->mask;
    }
    if (t->ne == INT32_MAX)
        return -1;
    if (t->ne == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 32;
        dent *e = realloc(t->e, (size_t)cap * sizeof *e);
        if (!e)
            return -1;
        t->e = e;
        t->cap = cap;
    }
    t->e[t->ne] = (dent){p, (uint32_t)n, h};
    t->slot[i] = ++t->ne;
    return (int32_t)(t->ne - 1);
}

/* ---- the reader's state ---- */

typedef struct colstat {
    size_t present; /* values that are neither missing tokens nor quoted "" */
    size_t missing; /* unquoted missing tokens */
    size_t qempty;  /* quoted empty strings */
    unsigned tf;    /* date forms every value fits */
    unsigned pform; /* the form dates were parsed with in phase B (0: none parsed) */
    uint8_t num_ok, int_ok, bool_ok, active;
    uint8_t pmixed; /* dates of this chunk were parsed with more than one form */
} colstat;

enum col_plan {
    PLAN_NUMERIC,
    PLAN_BOOL,
    PLAN_TIME,
    PLAN_STRING, /* categorical or text, decided by cardinality unless forced */
};

typedef struct colinfo {
    char *name;
    const kl_csv_override *ov;
    int scan;       /* classify in phase B */
    int tf_numbers; /* also track date forms of values that are numbers (time override) */
    enum col_plan plan;
    enum kl_type type;
    unsigned form;
    double *num;
    uint8_t *bools;
    int64_t *times;
    int32_t *codes;
    colstat st; /* merged over chunks */
    /* strings */
    dtab global;
    uint32_t **maps; /* per chunk: local code -> global code */
} colinfo;

/* A chunk's string dictionaries, one per column (used for string columns only). */
typedef struct chunkstr {
    dtab *tabs;
    size_t *present; /* values that are not missing */
    uint8_t *built;  /* the column's codes for this chunk are written */
    kl_arena *arena; /* unescaped copies of quoted fields holding "" */
    int failed;
} chunkstr;

/* A thread's reusable tokenizer buffers: a chunk's index lives only while it is worked on. */
typedef struct scratch {
    uint32_t *ends;
    size_t cap_ends;
    kl__csv_gap *gaps;
    size_t cap_gaps;
} scratch;

typedef struct reader {
    const uint8_t *buf;
    size_t len;
    const char *name;
    const kl_csv_read_opts *o;
    int threads;
    missing_set miss;
    kl__csv_tok tok;
    size_t n_cols;
    colinfo *cols;
    kl__csv_chunk *chunks;
    size_t n_chunks;
    size_t *row0;
    size_t n_rows;
    colstat *stats; /* n_chunks * n_cols */
    size_t *strcols;
    size_t n_strcols;
    chunkstr *cs;
    size_t *pred;      /* per chunk: rows counted before tokenizing */
    size_t n_pred;     /* their sum: the length of arrays filled in phase B */
    uint32_t **saved;  /* n_chunks * n_cols: (start, end) per row of non-numeric cells, or NULL */
    scratch *sc;       /* per thread: the index of the chunk being worked on */
    kl_csv_report *rep;
    kl_err *err;
} reader;

/* ---- errors and warnings ---- */

static void pos_line_col(const reader *R, size_t pos, size_t *line, size_t *col)
{
    size_t l = 1, ls = 0;
    if (pos > R->len)
        pos = R->len;
    while (ls < pos) {
        const uint8_t *q = memchr(R->buf + ls, '\n', pos - ls);
        if (!q)
            break;
        l++;
        ls = (size_t)(q - R->buf) + 1;
    }
    *line = l;
    *col = pos - ls + 1;
}

static int fail_at(reader *R, int code, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_at(reader *R, int code, size_t pos, const char *fmt, ...)
{
    char msg[KL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kl_err_set(R->err, code, "%s", msg);
    size_t line, col;
    pos_line_col(R, pos, &line, &col);
    kl_err_ctx(R->err, "%s:%zu:%zu", R->name, line, col);
    return code;
}

static int fail_nomem(reader *R)
{
    kl_err_set(R->err, KL_ENOMEM, "out of memory reading CSV");
    kl_err_ctx(R->err, "%s", R->name);
    return KL_ENOMEM;
}

static void warn(reader *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(reader *R, const char *fmt, ...)
{
    kl_csv_report *r = R->rep;
    if (!r)
        return;
    r->n_warnings_total++;
    if (r->n_warnings >= KL_CSV_MAX_WARNINGS)
        return;
    if (!r->warnings && !(r->warnings = calloc(KL_CSV_MAX_WARNINGS, sizeof *r->warnings)))
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    size_t l = strlen(buf);
    char *s = malloc(l + 1);
    if (!s)
        return;
    memcpy(s, buf, l + 1);
    r->warnings[r->n_warnings++] = s;
}

void kl_csv_report_release(kl_csv_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_warnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
    memset(r, 0, sizeof *r);
}

/* A value for a message: at most 40 bytes, control bytes as '?', cut at a character. */
static void quote_value(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t k = n;
    int cut = 0;
    if (k > 40) {
        k = 40;
        while (k > 0 && (p[k] & 0xC0) == 0x80)
            k--;
        cut = 1;
    }
    if (k + 4 > cap)
        k = cap - 4;
    for (size_t i = 0; i < k; i++)
        out[i] = p[i] < 0x20 ? '?' : (char)p[i];
    size_t o = k;
    if (cut) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

static int fault_error(reader *R, const kl__csv_chunk *c)
{
    switch (c->fault) {
    case KL__CSV_RAGGED:
        return fail_at(R, KL_EPARSE, c->fault_pos, "row has %zu field%s, expected %zu",
                       c->fault_fields, c->fault_fields == 1 ? "" : "s", R->tok.n_cols);
    case KL__CSV_UNTERMINATED:
        return fail_at(R, KL_EPARSE, c->fault_pos, "unterminated quoted field");
    case KL__CSV_QUOTE_INSIDE:
        return fail_at(R, KL_EPARSE, c->fault_pos, "quote inside an unquoted field");
    case KL__CSV_AFTER_QUOTE:
        return fail_at(R, KL_EPARSE, c->fault_pos, "unexpected text after a closing quote");
    case KL__CSV_UTF8:
        return fail_at(R, KL_EPARSE, c->fault_pos, "invalid UTF-8 byte 0x%02x", c->fault_byte);
    case KL__CSV_NUL:
        return fail_at(R, KL_EPARSE, c->fault_pos, "NUL byte in the input");
    case KL__CSV_TOO_LONG:
        return fail_at(R, KL_EUNSUPPORTED, c->fault_pos, "a row longer than 4 GiB");
    case KL__CSV_NOMEM:
        return fail_nomem(R);
    case KL__CSV_MISCOUNT:
        return fail_at(R, KL_EINVAL, c->fault_pos, "internal error: rows miscounted");
    case KL__CSV_OK:
        break;
    }
    return 0;
}

/* ---- cells ---- */

static inline size_t row_start(const kl__csv_chunk *c, size_t r, size_t nc, size_t *gi)
{
    if (*gi < c->n_gaps && c->gaps[*gi].row == r)
        return c->gaps[(*gi)++].start;
    return r ? c->ends[r * nc - 1] + 1 : 0;
}

typedef struct cell {
    const uint8_t *p;
    size_t n;
    size_t pos; /* absolute offset of the raw field */
    int quoted;
} cell;

/* Field [s, end) of the last-or-not column: strip a CR before '\n', then the quotes. */
static inline cell make_cell(const reader *R, const kl__csv_chunk *c, size_t s, size_t end,
                             int last)
{
    cell x = {R->buf + c->begin + s, end - s, c->begin + s, 0};
    if (last && x.n && x.p[x.n - 1] == '\r')
        x.n--;
    if (x.n && x.p[0] == '"') {
        x.p++;
        x.n -= 2;
        x.quoted = 1;
    }
    return x;
}

/* ---- header ---- */

/* The unescaped text of a quoted cell with doubled quotes, into a malloc'd string. */
static char *cell_dup(const cell *x)
{
    char *s = malloc(x->n + 1);
    if (!s)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < x->n; i++) {
        s[o++] = (char)x->p[i];
        if (x->quoted && x->p[i] == '"')
            i++;
    }
    s[o] = '\0';
    return s;
}

/* Index of name in the set of names so far, or -1. */
static int32_t name_find(const dtab *t, const char *name)
{
    size_t n = strlen(name);
    if (!t->slot)
        return -1;
    uint64_t h64 = str_hash((const uint8_t *)name, n);
    uint32_t h = (uint32_t)h64 ^ (uint32_t)(h64 >> 32);
    for (uint32_t i = h & t->mask;; i = (i + 1) & t->mask) {
        uint32_t s = t->slot[i];
        if (!s)
            return -1;
        const dent *d = &t->e[s - 1];
        if (d->h == h && d->n == n && memcmp(d->p, name, n) == 0)
            return (int32_t)(s - 1);
    }
}

/*
 * Column names: from the header (or c1, c2, ...), empty ones named column_N,
 * repeats given the first free suffix _2, _3, ... A hash set keeps this
 * linear in the number of columns, and next[] remembers per name where the
 * search for a free suffix resumes, so a thousand copies of one name are
 * renamed in linear time too.
 */
static int set_names(reader *R, const kl__csv_chunk *h)
{
    size_t nc = R->n_cols;
    size_t gi = 0;
    dtab set = {0};
    size_t *next = calloc(2 * nc + 1, sizeof *next);
    int rc = next ? 0 : fail_nomem(R);
    for (size_t j = 0; j < nc && rc == 0; j++) {
        char *name;
        if (R->o->no_header) {
            char tmp[32];
            snprintf(tmp, sizeof tmp, "c%zu", j + 1);
            name = strdup(tmp);
        } else {
            size_t s = j ? h->ends[j - 1] + 1 : row_start(h, 0, nc, &gi);
            cell x = make_cell(R, h, s, h->ends[j], j == nc - 1);
            name = cell_dup(&x);
            if (name && !*name) {
                free(name);
                char tmp[32];
                snprintf(tmp, sizeof tmp, "column_%zu", j + 1);
                name = strdup(tmp);
                if (name)
                    warn(R, "column %zu has no name; named '%s'", j + 1, name);
            }
        }
        if (!name) {
            rc = fail_nomem(R);
            break;
        }
        int32_t base = name_find(&set, name);
        if (base >= 0) {
            size_t len = strlen(name) + 24;
            char *alt = malloc(len);
            if (!alt) {
                free(name);
                rc = fail_nomem(R);
                break;
            }
            size_t k = next[base] ? next[base] : 2;
            for (;; k++) {
                snprintf(alt, len, "%s_%zu", name, k);
                if (name_find(&set, alt) < 0)
                    break;
            }
            next[base] = k + 1;
            warn(R, "duplicate column name '%s' renamed to '%s'", name, alt);
            free(name);
            name = alt;
        }
        R->cols[j].name = name;
        if (dtab_intern(&set, (const uint8_t *)name, strlen(name)) < 0)
            rc = fail_nomem(R);
    }
    dtab_release(&set);
    free(next);
    return rc;
}

/* ---- a chunk's index, in a thread's scratch buffers ---- */

/*
 * Tokenize chunk ci into sc's buffers. The tokenizer updates its counters on
 * a private copy: neighbouring chunks' structs share cache lines, and two
 * threads bumping row counts in one line would slow each other down.
 */
static int index_chunk(reader *R, size_t ci, scratch *sc)
{
    kl__csv_chunk c = R->chunks[ci];
    c.ends = sc->ends;
    c.cap_ends = sc->cap_ends;
    c.gaps = sc->gaps;
    c.cap_gaps = sc->cap_gaps;
    kl__csv_tok tok = R->tok;
    int rc = kl__csv_tokenize(&tok, &c);
    R->chunks[ci] = c;
    return rc;
}

static void unindex_chunk(reader *R, size_t ci, scratch *sc)
{
    kl__csv_chunk *c = &R->chunks[ci];
    sc->ends = c->ends;
    sc->cap_ends = c->cap_ends;
    sc->gaps = c->gaps;
    sc->cap_gaps = c->cap_gaps;
    c->ends = NULL;
    c->gaps = NULL;
    c->n_ends = c->cap_ends = c->n_gaps = c->cap_gaps = 0;
}

/*
 * Keep (start, end) of every cell of the columns j with want(R, ci, j) of an
 * indexed chunk, in one pass over its rows; -1 when out of memory.
 */
static int save_cells(reader *R, size_t ci, int (*want)(const reader *, size_t, size_t))
{
    const kl__csv_chunk *c = &R->chunks[ci];
    const size_t nc = R->n_cols;
    uint32_t **cl = calloc(nc, sizeof *cl);
    if (!cl)
        return -1;
    int any = 0;
    for (size_t j = 0; j < nc; j++) {
        if (R->saved[ci * nc + j] || !want(R, ci, j))
            continue;
        cl[j] = malloc((2 * c->n_rows + 1) * sizeof **cl);
        if (!cl[j]) {
            free(cl);
            return -1;
        }
        R->saved[ci * nc + j] = cl[j];
        any = 1;
    }
    size_t gi = 0;
    for (size_t r = 0; r < c->n_rows && any; r++) {
        const uint32_t *e = c->ends + r * nc;
        size_t s = row_start(c, r, nc, &gi);
        for (size_t j = 0; j < nc; s = e[j] + 1, j++) {
            if (cl[j]) {
                cl[j][2 * r] = (uint32_t)s;
                cl[j][2 * r + 1] = e[j];
            }
        }
    }
    free(cl);
    return 0;
}

/* Whether phase B parsed column j's dates of chunk ci with the form inference chose. */
static int times_done(const reader *R, size_t ci, size_t j)
{
    const colstat *t = &R->stats[ci * R->n_cols + j];
    return !t->pmixed && (t->present == 0 || t->pform == R->cols[j].form);
}

/* Columns phase D converts from text, where phase B did not. */
static int want_text(const reader *R, size_t ci, size_t j)
{
    if (R->cols[j].plan == PLAN_TIME)
        return !times_done(R, ci, j);
    return R->cols[j].plan == PLAN_STRING && !R->cs[ci].built[j];
}

/* ---- phase B: classify ---- */

/*
 * The date forms a value fits: all inferable ones, or, for a column whose
 * override names a format, that form alone (which may be one inference never
 * picks, such as %Y%m%d).
 */
static inline unsigned value_forms(const colinfo *col, const uint8_t *p, size_t n)
{
    if (col->ov && col->ov->time_format) {
        int64_t us;
        return kl__time_parse((const char *)p, n, col->form, &us) ? col->form : 0;
    }
    return kl__time_forms((const char *)p, n);
}

enum { STAGE = 64 }; /* rows per staging block; a power of two */

/* Copy n doubles to d with stores that bypass the cache (whole lines are written). */
static inline void stream_copy(double *d, const double *s, size_t n)
{
#if defined(__SSE2__)
    for (size_t i = 0; i < n; i++) {
        long long bits;
        memcpy(&bits, &s[i], sizeof bits);
        _mm_stream_si64((long long *)(void *)(d + i), bits);
    }
#else
    memcpy(d, s, n * sizeof *d);
#endif
}

static int classify_chunk(reader *R, size_t ci)
{
    const kl__csv_chunk *c = &R->chunks[ci];
    const size_t nc = R->n_cols;
    /* Counters live in a private array while the chunk runs (no false sharing). */
    colstat *st = malloc(nc * sizeof *st);
    if (!st)
        return -1;
    size_t n_active = 0;
    for (size_t j = 0; j < nc; j++) {
        st[j] = (colstat){.tf = TF_ALL,
                          .num_ok = 1,
                          .int_ok = 1,
                          .bool_ok = 1,
                          .active = (uint8_t)R->cols[j].scan};
        n_active += st[j].active;
    }
    const uint8_t *cb = R->buf + c->begin;
    const size_t g0 = R->row0[ci];
    /*
     * Values go to a staging block of STAGE rows per column (in L1), which is
     * flushed to the columns with streaming stores: writing 8 bytes into each
     * of 20 far-apart arrays per row would read every cache line of the
     * columns from memory before overwriting it.
     */
    double **dst = malloc(nc * sizeof *dst);
    double *stage = malloc(nc * STAGE * sizeof *stage);
    if (!dst || !stage) {
        free(st);
        free(dst);
        free(stage);
        return -1;
    }
    for (size_t j = 0; j < nc; j++)
        dst[j] = R->cols[j].num ? R->cols[j].num + g0 : NULL;
    size_t gi = 0;
    for (size_t r = 0; r < c->n_rows && n_active; r++) {
        const uint32_t *e = c->ends + r * nc;
        size_t s = row_start(c, r, nc, &gi);
        for (size_t j = 0; j < nc; s = e[j] + 1, j++) {
            colstat *t = &st[j];
            if (!t->active)
                continue;
            const uint8_t *p = cb + s;
            size_t n = e[j] - s;
            if (j == nc - 1 && n && p[n - 1] == '\r')
                n--;
            int q = 0;
            if (n && p[0] == '"') {
                p++;
                n -= 2;
                q = 1;
            }
            double *slot = stage + j * STAGE + (r & (STAGE - 1));
            if (!q && is_missing(&R->miss, p, n)) {
                t->missing++;
                *slot = NAN;
                continue;
            }
            if (q && n == 0) {
                t->qempty++;
                *slot = NAN;
                continue;
            }
            t->present++;
            if (t->num_ok) {
                double v;
                int isint;
                if (parse_num(p, n, &v, &isint)) {
                    *slot = v;
                    t->int_ok &= (uint8_t)isint;
                    t->bool_ok = 0;
                    if (!R->cols[j].tf_numbers)
                        t->tf = 0;
                    else if (t->tf)
                        t->tf &= value_forms(&R->cols[j], p, n);
                    continue;
                }
                t->num_ok = 0;
            }
            if (t->bool_ok) {
                uint8_t b;
                if (kl__parse_bool((const char *)p, n, &b)) {
                    *slot = b;
                    t->tf = 0;
                    continue;
                }
                t->bool_ok = 0;
            }
            if (t->tf)
                t->tf &= value_forms(&R->cols[j], p, n);
            if (!t->num_ok && !t->bool_ok && !t->tf) {
                t->active = 0;
                n_active--;
            } else if (!t->num_ok && !t->bool_ok) {
                /*
                 * A date column, so far: parse the value now, while it is in
                 * cache, with the first form that still fits every value. If
                 * inference later picks another form, phase D parses the chunk
                 * again.
                 */
                unsigned form = t->tf & (~t->tf + 1);
                int64_t us = 0;
                if (t->pform && t->pform != form)
                    t->pmixed = 1;
                t->pform = form;
                if (!kl__time_parse((const char *)p, n, form, &us))
                    t->pmixed = 1;
                memcpy(slot, &us, sizeof us);
            }
        }
        if ((r & (STAGE - 1)) == STAGE - 1 || r + 1 == c->n_rows) {
            size_t r0 = r & ~(size_t)(STAGE - 1);
            for (size_t j = 0; j < nc; j++)
                if (st[j].active)
                    stream_copy(dst[j] + r0, stage + j * STAGE, r - r0 + 1);
        }
    }
#if defined(__SSE2__)
    _mm_sfence();
#endif
    free(stage);
    free(dst);
    memcpy(R->stats + ci * nc, st, nc * sizeof *st);
    free(st);
    return 0;
}

static int strings_from_index(reader *R, size_t ci);

/*
 * Tokenize a chunk, classify its fields, and keep the cells of the columns
 * that are not numbers in this chunk (phase D needs them; numbers are done).
 */
static void main_chunk(reader *R, size_t ci, scratch *sc)
{
    kl__csv_chunk *c = &R->chunks[ci];
    if (index_chunk(R, ci, sc) == 0) {
        if (c->n_rows > R->pred[ci]) {
            c->fault = KL__CSV_MISCOUNT;
        } else if (classify_chunk(R, ci) < 0 || strings_from_index(R, ci) < 0) {
            c->fault = KL__CSV_NOMEM;
        }
    }
    unindex_chunk(R, ci, sc);
}

/* Cells for phase D of the columns a chunk did not keep (numbers there, strings elsewhere). */
static void cells_chunk(reader *R, size_t ci, scratch *sc)
{
    const size_t nc = R->n_cols;
    int need = 0;
    for (size_t j = 0; j < nc; j++)
        if (want_text(R, ci, j) && !R->saved[ci * nc + j] && R->chunks[ci].n_rows)
            need = 1;
    if (!need)
        return;
    kl__csv_chunk *c = &R->chunks[ci];
    if (index_chunk(R, ci, sc) == 0 && save_cells(R, ci, want_text) < 0)
        c->fault = KL__CSV_NOMEM;
    unindex_chunk(R, ci, sc);
}

/* ---- phase C: decide ---- */

static unsigned pick_form(unsigned tf, int *ambiguous)
{
    *ambiguous = 0;
    if (!tf)
        return 0;
    unsigned f = tf & (~tf + 1);
    if ((f == KL__TF_DATE_DMY && (tf & KL__TF_DATE_MDY)) ||
        (f == KL__TF_DATETIME_DMY && (tf & KL__TF_DATETIME_MDY))) {
        *ambiguous = 1;
        return 0;
    }
    return f;
}

/* Forms allowed for a DATE or DATETIME override without a format. */
static unsigned forms_of_type(enum kl_type type)
{
    unsigned m = 0;
    for (unsigned f = 1; f < KL__TF_DATE_COMPACT; f <<= 1)
        if (kl__time_form_has_time(f) == (type == KL_TYPE_DATETIME))
            m |= f;
    return m;
}

/* Whether cell x fits type (running form mask *tf for times); missing cells fit. */
static int cell_fits(const reader *R, const colinfo *ci, const cell *x, unsigned *tf)
{
    if ((!x->quoted && is_missing(&R->miss, x->p, x->n)) || (x->quoted && x->n == 0))
        return 1;
    double v;
    int isint;
    uint8_t b;
    switch (ci->type) {
    case KL_TYPE_INT:
        return parse_num(x->p, x->n, &v, &isint) && isint;
    case KL_TYPE_FLOAT:
        return parse_num(x->p, x->n, &v, &isint);
    case KL_TYPE_BOOL:
        return kl__parse_bool((const char *)x->p, x->n, &b);
    case KL_TYPE_DATE:
    case KL_TYPE_DATETIME:
        *tf &= value_forms(ci, x->p, x->n);
        return *tf != 0;
    default:
        return 1;
    }
}

/* The first value of column j (in file order) that does not fit its forced type. */
static int misfit_error(reader *R, size_t j)
{
    colinfo *ci = &R->cols[j];
    unsigned tf = ci->form ? ci->form : forms_of_type(ci->type);
    const size_t nc = R->n_cols;
    for (size_t k = 0; k < R->n_chunks; k++) {
        const kl__csv_chunk *c = &R->chunks[k];
        if (index_chunk(R, k, &R->sc[0]) < 0) {
            unindex_chunk(R, k, &R->sc[0]);
            return fail_nomem(R);
        }
        size_t gi = 0;
        for (size_t r = 0; r < c->n_rows; r++) {
            size_t s0 = row_start(c, r, nc, &gi);
            size_t s = j ? c->ends[r * nc + j - 1] + 1 : s0;
            cell x = make_cell(R, c, s, c->ends[r * nc + j], j == nc - 1);
            if (!cell_fits(R, ci, &x, &tf)) {
                char v[64];
                quote_value(x.p, x.n, v, sizeof v);
                unindex_chunk(R, k, &R->sc[0]);
                return fail_at(R, KL_EPARSE, x.pos, "cannot parse '%s' as %s in column '%s'", v,
                               kl_type_name(ci->type), ci->name);
            }
        }
        unindex_chunk(R, k, &R->sc[0]);
    }
    return fail_at(R, KL_EPARSE, 0, "values of column '%s' do not fit type %s", ci->name,
                   kl_type_name(ci->type));
}

static int decide(reader *R)
{
    for (size_t j = 0; j < R->n_cols; j++) {
        colinfo *ci = &R->cols[j];
        colstat m = {.tf = TF_ALL, .num_ok = 1, .int_ok = 1, .bool_ok = 1, .active = 1};
        for (size_t k = 0; k < R->n_chunks; k++) {
            const colstat *t = &R->stats[k * R->n_cols + j];
            m.present += t->present;
            m.missing += t->missing;
            m.qempty += t->qempty;
            m.tf &= t->tf;
            m.num_ok &= t->num_ok;
            m.int_ok &= t->int_ok;
            m.bool_ok &= t->bool_ok;
        }
        ci->st = m;
        if (ci->ov) {
            enum kl_type ty = ci->ov->type;
            ci->type = ty;
            int ok = 1;
            switch (ty) {
            case KL_TYPE_INT:
                ci->plan = PLAN_NUMERIC;
                ok = m.num_ok && m.int_ok;
                break;
            case KL_TYPE_FLOAT:
                ci->plan = PLAN_NUMERIC;
                ok = m.num_ok;
                break;
            case KL_TYPE_BOOL:
                ci->plan = PLAN_BOOL;
                ok = m.bool_ok;
                break;
            case KL_TYPE_DATE:
            case KL_TYPE_DATETIME: {
                ci->plan = PLAN_TIME;
                if (!ci->form) {
                    int amb;
                    ci->form = pick_form(m.tf & forms_of_type(ty), &amb);
                    if (amb)
                        return fail_at(R, KL_EPARSE, 0,
                                       "ambiguous day/month order in column '%s'; give its "
                                       "time format",
                                       ci->name);
                    ok = ci->form != 0 || m.present == 0;
                    if (!ci->form)
                        ci->form = ty == KL_TYPE_DATE ? KL__TF_DATE_ISO : KL__TF_DATETIME_ISO;
                } else {
                    ok = (m.tf & ci->form) != 0 || m.present == 0;
                }
                break;
            }
            case KL_TYPE_CATEGORICAL:
            case KL_TYPE_TEXT:
                ci->plan = PLAN_STRING;
                break;
            }
            if (!ok)
                return misfit_error(R, j);
            continue;
        }
        if (m.present == 0 && m.qempty == 0) {
            ci->plan = PLAN_NUMERIC;
            ci->type = KL_TYPE_FLOAT;
        } else if (m.present == 0) {
            ci->plan = PLAN_STRING;
        } else if (m.num_ok) {
            ci->plan = PLAN_NUMERIC;
            ci->type = m.int_ok ? KL_TYPE_INT : KL_TYPE_FLOAT;
        } else if (m.bool_ok) {
            ci->plan = PLAN_BOOL;
            ci->type = KL_TYPE_BOOL;
        } else {
            int amb;
            unsigned f = pick_form(m.tf & ~(unsigned)KL__TF_DATE_COMPACT, &amb);
            if (amb)
                warn(R, "ambiguous day/month order in column '%s'", ci->name);
            if (f) {
                ci->plan = PLAN_TIME;
                ci->form = f;
                ci->type = kl__time_form_has_time(f) ? KL_TYPE_DATETIME : KL_TYPE_DATE;
            } else {
                ci->plan = PLAN_STRING;
            }
        }
    }
    return 0;
}

/* ---- phase D: booleans, times, strings ---- */

typedef struct time_fail {
    size_t pos;
    int failed;
} time_fail;

static void times_chunk(reader *R, size_t ci, time_fail *tfail)
{
    const kl__csv_chunk *c = &R->chunks[ci];
    const size_t nc = R->n_cols;
    for (size_t j = 0; j < nc; j++) {
        colinfo *col = &R->cols[j];
        if (col->plan != PLAN_TIME)
            continue;
        int64_t *out = col->times + R->row0[ci];
        if (times_done(R, ci, j)) {
            /*
             * Parsed in phase B; missing values still hold the NaN written
             * there. Its bits, 0x7ff8000000000000 as an integer, lie far past
             * year 9999, so no date can look like it (a date before 1970 can
             * look like some other NaN, hence the exact comparison).
             */
            const double nan_v = NAN;
            int64_t nan_bits;
            memcpy(&nan_bits, &nan_v, sizeof nan_bits);
            for (size_t r = 0; r < c->n_rows; r++)
                if (out[r] == nan_bits)
                    out[r] = KL_TIME_MISSING;
            continue;
        }
        const uint32_t *cl = R->saved[ci * nc + j];
        for (size_t r = 0; r < c->n_rows; r++) {
            cell x = make_cell(R, c, cl[2 * r], cl[2 * r + 1], j == nc - 1);
            if ((!x.quoted && is_missing(&R->miss, x.p, x.n)) || (x.quoted && x.n == 0)) {
                out[r] = KL_TIME_MISSING;
                continue;
            }
            int64_t us;
            if (!kl__time_parse((const char *)x.p, x.n, col->form, &us)) {
                if (!tfail->failed) {
                    tfail->failed = 1;
                    tfail->pos = x.pos;
                }
                out[r] = KL_TIME_MISSING;
                continue;
            }
            out[r] = us;
        }
    }
}

/* Code of cell x in chunk dictionary t (KL_CAT_MISSING when missing); -2 when out of memory. */
static inline int32_t intern_cell(const reader *R, chunkstr *cs, dtab *t, const cell *x,
                                  size_t *present)
{
    if (!x->quoted && is_missing(&R->miss, x->p, x->n))
        return KL_CAT_MISSING;
    (*present)++;
    const uint8_t *p = x->p;
    size_t n = x->n;
    if (x->quoted && memchr(p, '"', n)) {
        if (!cs->arena && !(cs->arena = kl_arena_new(0)))
            return -2;
        uint8_t *u = kl_arena_alloc(cs->arena, n ? n : 1);
        if (!u)
            return -2;
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
            u[o++] = p[i];
            if (p[i] == '"')
                i++;
        }
        p = u;
        n = o;
    }
    int32_t code = dtab_intern(t, p, n);
    return code < 0 ? -2 : code;
}

/* The codes array of column j, made on first use by any thread. */
static int32_t *codes_of(reader *R, size_t j)
{
    int32_t *c;
#pragma omp critical(kl_csv_codes)
    {
        if (!R->cols[j].codes)
            R->cols[j].codes = kl__big_alloc((R->n_pred ? R->n_pred : 1) * sizeof(int32_t));
        c = R->cols[j].codes;
    }
    return c;
}

/*
 * Phase B, for the columns that are strings in this chunk (hence in the
 * file): chunk dictionaries and codes straight from the hot index.
 */
static int strings_from_index(reader *R, size_t ci)
{
    const kl__csv_chunk *c = &R->chunks[ci];
    chunkstr *cs = &R->cs[ci];
    const size_t nc = R->n_cols;
    for (size_t j = 0; j < nc; j++) {
        const colstat *st = &R->stats[ci * nc + j];
        int string = R->cols[j].ov ? !R->cols[j].scan : !st->num_ok && !st->bool_ok && !st->tf;
        if (!string)
            continue;
        int32_t *codes = codes_of(R, j);
        if (!codes)
            return -1;
        int32_t *out = codes + R->row0[ci];
        size_t gi = 0, present = 0;
        /* The previous unquoted value and its code: runs of one category skip the hash. */
        const uint8_t *last = NULL;
        size_t last_n = 0;
        int32_t last_code = 0;
        for (size_t r = 0; r < c->n_rows; r++) {
            size_t s0 = row_start(c, r, nc, &gi);
            size_t s = j ? c->ends[r * nc + j - 1] + 1 : s0;
            cell x = make_cell(R, c, s, c->ends[r * nc + j], j == nc - 1);
            if (last && !x.quoted && x.n == last_n && memcmp(x.p, last, last_n) == 0) {
                present++;
                out[r] = last_code;
                continue;
            }
            int32_t code = intern_cell(R, cs, &cs->tabs[j], &x, &present);
            if (code == -2)
                return -1;
            out[r] = code;
            if (code >= 0 && !x.quoted) {
                last = x.p;
                last_n = x.n;
                last_code = code;
            }
        }
        cs->present[j] = present;
        cs->built[j] = 1;
    }
    return 0;
}

/* Phase D, for string columns a chunk held only numbers, bools or dates of: from saved cells. */
static void strings_chunk(reader *R, size_t ci)
{
    const kl__csv_chunk *c = &R->chunks[ci];
    chunkstr *cs = &R->cs[ci];
    const size_t nc = R->n_cols;
    for (size_t k = 0; k < R->n_strcols; k++) {
        size_t j = R->strcols[k];
        if (cs->built[j])
            continue;
        int32_t *out = R->cols[j].codes + R->row0[ci];
        const uint32_t *cl = R->saved[ci * nc + j];
        size_t present = 0;
        for (size_t r = 0; r < c->n_rows; r++) {
            cell x = make_cell(R, c, cl[2 * r], cl[2 * r + 1], j == nc - 1);
            int32_t code = intern_cell(R, cs, &cs->tabs[j], &x, &present);
            if (code == -2) {
                cs->failed = 1;
                return;
            }
            out[r] = code;
        }
        cs->present[j] = present;
        cs->built[j] = 1;
    }
}

static void remap_chunk(reader *R, size_t ci)
{
    const kl__csv_chunk *c = &R->chunks[ci];
    for (size_t k = 0; k < R->n_strcols; k++) {
        colinfo *col = &R->cols[R->strcols[k]];
        if (!col->maps[ci])
            continue;
        const uint32_t *map = col->maps[ci];
        int32_t *out = col->codes + R->row0[ci];
        for (size_t r = 0; r < c->n_rows; r++)
            if (out[r] >= 0)
                out[r] = (int32_t)map[out[r]];
    }
}

/* ---- parallel loops over chunks ---- */

enum job { JOB_COUNT, JOB_MAIN, JOB_CELLS, JOB_TIMES, JOB_STRINGS, JOB_REMAP };

static void run_jobs(reader *R, enum job job, time_fail *tfails)
{
    long n = (long)R->n_chunks;
#pragma omp parallel for schedule(dynamic, 1) num_threads(R->threads) if (R->threads > 1 && n > 1)
    for (long i = 0; i < n; i++) {
        size_t ci = (size_t)i;
        scratch *sc = &R->sc[omp_get_thread_num()];
        switch (job) {
        case JOB_COUNT: {
            /*
             * With a small row limit (keel data head) the limit itself bounds
             * the rows, so the file past them is never read.
             */
            const kl__csv_chunk *c = &R->chunks[ci];
            size_t len = c->end - c->begin, lim = R->tok.row_limit;
            if (lim && lim <= SMALL_ROW_LIMIT)
                R->pred[ci] = KL_MIN(lim, len + 1);
            else if (lim)
                R->pred[ci] = KL_MIN(lim, kl__csv_count_rows(R->buf + c->begin, len,
                                                             R->tok.n_cols > 1));
            else
                R->pred[ci] = kl__csv_count_rows(R->buf + c->begin, len, R->tok.n_cols > 1);
            break;
        }
        case JOB_MAIN:
            main_chunk(R, ci, sc);
            break;
        case JOB_CELLS:
            cells_chunk(R, ci, sc);
            break;
        case JOB_TIMES:
            times_chunk(R, ci, &tfails[ci]);
            break;
        case JOB_STRINGS:
            strings_chunk(R, ci);
            break;
        case JOB_REMAP:
            remap_chunk(R, ci);
            break;
        }
    }
}

/* ---- building the frame ---- */

static int convert_strings(reader *R)
{
    if (!R->n_strcols)
        return 0;
    for (size_t k = 0; k < R->n_strcols; k++) {
        colinfo *col = &R->cols[R->strcols[k]];
        if (!col->codes)
            col->codes = kl__big_alloc((R->n_rows ? R->n_rows : 1) * sizeof *col->codes);
        col->maps = calloc(R->n_chunks, sizeof *col->maps);
        if (!col->codes || !col->maps)
            return fail_nomem(R);
    }
    run_jobs(R, JOB_STRINGS, NULL);
    for (size_t ci = 0; ci < R->n_chunks; ci++)
        if (R->cs[ci].failed)
            return fail_nomem(R);
    /* Merge the chunks' dictionaries in chunk order. */
    for (size_t k = 0; k < R->n_strcols; k++) {
        colinfo *col = &R->cols[R->strcols[k]];
        size_t present = 0;
        for (size_t ci = 0; ci < R->n_chunks; ci++) {
            const dtab *t = &R->cs[ci].tabs[R->strcols[k]];
            present += R->cs[ci].present[R->strcols[k]];
            col->maps[ci] = malloc((t->ne ? t->ne : 1) * sizeof(uint32_t));
            if (!col->maps[ci])
                return fail_nomem(R);
            for (uint32_t e = 0; e < t->ne; e++) {
                int32_t g = dtab_intern(&col->global, t->e[e].p, t->e[e].n);
                if (g < 0)
                    return fail_nomem(R);
                col->maps[ci][e] = (uint32_t)g;
            }
        }
        col->st.present = present;
        if (!col->ov) {
            size_t maxcat = R->o->max_categories ? R->o->max_categories : DEFAULT_MAX_CATEGORIES;
            size_t d = col->global.ne;
            col->type = (d <= maxcat && (d <= SMALL_CATEGORIES || 2 * d <= present))
                            ? KL_TYPE_CATEGORICAL
                            : KL_TYPE_TEXT;
        }
    }
    run_jobs(R, JOB_REMAP, NULL);
    return 0;
}

/* Pool and dictionary of a string column's distinct values. */
static int string_pool(reader *R, colinfo *col, char ***dict_out, char **pool_out)
{
    const dtab *g = &col->global;
    size_t total = 1;
    for (uint32_t e = 0; e < g->ne; e++)
        total += (size_t)g->e[e].n + 1;
    char *pool = malloc(total);
    char **dict = malloc((g->ne ? g->ne : 1) * sizeof *dict);
    if (!pool || !dict) {
        free(pool);
        free(dict);
        return fail_nomem(R);
    }
    size_t o = 0;
    for (uint32_t e = 0; e < g->ne; e++) {
        dict[e] = pool + o;
        memcpy(pool + o, g->e[e].p, g->e[e].n);
        o += g->e[e].n;
        pool[o++] = '\0';
    }
    *dict_out = dict;
    *pool_out = pool;
    return 0;
}

static int build_frame(reader *R, kl_frame **out)
{
    kl_frame *f = kl_frame_new(R->n_rows);
    if (!f)
        return fail_nomem(R);
    int rc = 0;
    for (size_t j = 0; j < R->n_cols && rc == 0; j++) {
        colinfo *col = &R->cols[j];
        switch (col->plan) {
        case PLAN_NUMERIC:
            rc = kl__frame_adopt_numeric(f, col->name, col->type, col->num, R->err);
            col->num = NULL;
            break;
        case PLAN_BOOL:
            rc = kl__frame_adopt_bool(f, col->name, col->bools, R->err);
            col->bools = NULL;
            break;
        case PLAN_TIME:
            rc = kl__frame_adopt_time(f, col->name, col->type, col->times,
                                      kl__time_form_format(col->form), R->err);
            col->times = NULL;
            break;
        case PLAN_STRING: {
            char **dict = NULL, *pool = NULL;
            if ((rc = string_pool(R, col, &dict, &pool)) < 0)
                break;
            if (col->type == KL_TYPE_CATEGORICAL) {
                rc = kl__frame_adopt_categorical(f, col->name, col->codes, dict, col->global.ne,
                                                 pool, R->err);
                col->codes = NULL;
                break;
            }
            char **values = kl__big_alloc(R->n_rows * sizeof *values);
            if (!values) {
                free(dict);
                free(pool);
                rc = fail_nomem(R);
                break;
            }
            for (size_t i = 0; i < R->n_rows; i++)
                values[i] = col->codes[i] < 0 ? NULL : dict[col->codes[i]];
            free(dict);
            rc = kl__frame_adopt_text(f, col->name, values, pool, R->err);
            break;
        }
        }
        if (rc < 0 && R->err)
            kl_err_ctx(R->err, "%s", R->name);
    }
    if (rc < 0) {
        kl_frame_free(f);
        return rc;
    }
    kl_frame_set_infer_version(f, KL_CSV_INFER_VERSION);
    *out = f;
    return 0;
}

/* ---- the driver ---- */

static size_t default_chunk_bytes(size_t len)
{
    if (g_chunk_bytes)
        return g_chunk_bytes;
    return KL_MAX(CHUNK_MIN, KL_MIN(CHUNK_MAX, len / 16));
}

/* Fields per 1024 bytes in the first rows after start (sizes each chunk's index). */
static size_t fields_hint(const uint8_t *buf, size_t len, size_t start, size_t n_cols)
{
    if (start >= len)
        return 0;
    size_t span = KL_MIN(len - start, (size_t)64 << 10), rows = 0;
    const uint8_t *p = buf + start, *e = p + span;
    while (p < e && (p = memchr(p, '\n', (size_t)(e - p)))) {
        rows++;
        p++;
    }
    if (!rows || !span)
        return 0;
    double per_byte = (double)(rows * n_cols) / (double)span;
    return (size_t)(per_byte * 1024.0 * 1.1) + 1;
}

static int check_overrides(reader *R)
{
    const kl_csv_read_opts *o = R->o;
    for (size_t k = 0; k < o->n_overrides; k++) {
        const kl_csv_override *ov = &o->overrides[k];
        size_t j = 0;
        while (j < R->n_cols && strcmp(R->cols[j].name, ov->column ? ov->column : "") != 0)
            j++;
        if (j == R->n_cols) {
            kl_err_set(R->err, KL_ENOTFOUND, "no column '%s' to override",
                       ov->column ? ov->column : "");
            kl_err_ctx(R->err, "%s", R->name);
            return KL_ENOTFOUND;
        }
        colinfo *ci = &R->cols[j];
        if ((unsigned)ov->type > KL_TYPE_TEXT) {
            kl_err_set(R->err, KL_EINVAL, "invalid type for column '%s'", ci->name);
            return KL_EINVAL;
        }
        ci->ov = ov;
        ci->scan = ov->type != KL_TYPE_CATEGORICAL && ov->type != KL_TYPE_TEXT;
        if (ov->type == KL_TYPE_DATE || ov->type == KL_TYPE_DATETIME) {
            ci->tf_numbers = 1;
            if (ov->time_format) {
                ci->form = kl__time_form_from_format(ov->time_format);
                if (!ci->form) {
                    kl_err_set(R->err, KL_EINVAL, "unknown time format '%s' for column '%s'",
                               ov->time_format, ci->name);
                    kl_err_ctx(R->err, "%s", R->name);
                    return KL_EINVAL;
                }
            }
        }
    }
    return 0;
}

static void reader_release(reader *R)
{
    if (R->cols) {
        for (size_t j = 0; j < R->n_cols; j++) {
            colinfo *c = &R->cols[j];
            free(c->name);
            free(c->num);
            free(c->bools);
            free(c->times);
            free(c->codes);
            dtab_release(&c->global);
            if (c->maps)
                for (size_t k = 0; k < R->n_chunks; k++)
                    free(c->maps[k]);
            free(c->maps);
        }
        free(R->cols);
    }
    if (R->cs) {
        for (size_t ci = 0; ci < R->n_chunks; ci++) {
            if (R->cs[ci].tabs)
                for (size_t j = 0; j < R->n_cols; j++)
                    dtab_release(&R->cs[ci].tabs[j]);
            free(R->cs[ci].tabs);
            free(R->cs[ci].present);
            free(R->cs[ci].built);
            kl_arena_free(R->cs[ci].arena);
        }
        free(R->cs);
    }
    if (R->saved) {
        for (size_t k = 0; k < R->n_chunks * R->n_cols; k++)
            free(R->saved[k]);
        free(R->saved);
    }
    if (R->sc) {
        for (int t = 0; t < R->threads; t++) {
            free(R->sc[t].ends);
            free(R->sc[t].gaps);
        }
        free(R->sc);
    }
    if (R->chunks) {
        for (size_t ci = 0; ci < R->n_chunks; ci++)
            kl__csv_chunk_release(&R->chunks[ci]);
        free(R->chunks);
    }
    free(R->row0);
    free(R->pred);
    free(R->stats);
    free(R->strcols);
}

/*
 * Phases A and B: cut chunks, count their rows (so each knows its first global
 * row before any value is parsed), then tokenize and classify each chunk in
 * one pass while its index is hot in cache. Rows that skip mode drops leave
 * holes, closed afterwards by moving each chunk's values down.
 */
static int read_rows(reader *R, size_t data_start)
{
    const kl_csv_read_opts *o = R->o;
    size_t *bound = NULL;
    if (o->max_rows) {
        R->n_chunks = 1;
        bound = malloc(2 * sizeof *bound);
        if (bound) {
            bound[0] = data_start;
            bound[1] = R->len;
        }
        R->tok.row_limit = o->max_rows;
    } else {
        bound = kl__csv_split(R->buf, R->len, data_start, default_chunk_bytes(R->len),
                              R->threads, &R->n_chunks);
        R->tok.row_limit = 0;
    }
    if (!bound)
        return fail_nomem(R);
    const size_t nc = R->n_cols, nk = R->n_chunks;
    R->chunks = calloc(nk, sizeof *R->chunks);
    R->row0 = calloc(nk, sizeof *R->row0);
    R->pred = calloc(nk, sizeof *R->pred);
    R->saved = calloc(nk * nc, sizeof *R->saved);
    R->sc = calloc((size_t)R->threads, sizeof *R->sc);
    R->stats = malloc(nk * nc * sizeof *R->stats);
    R->cs = calloc(nk, sizeof *R->cs);
    if (!R->chunks || !R->row0 || !R->pred || !R->saved || !R->sc || !R->stats || !R->cs) {
        free(bound);
        return fail_nomem(R);
    }
    for (size_t k = 0; k < nk; k++) {
        R->cs[k].tabs = calloc(nc, sizeof(dtab));
        R->cs[k].present = calloc(nc, sizeof(size_t));
        R->cs[k].built = calloc(nc, 1);
        if (!R->cs[k].tabs || !R->cs[k].present || !R->cs[k].built) {
            free(bound);
            return fail_nomem(R);
        }
    }
    for (size_t k = 0; k < nk; k++) {
        R->chunks[k].begin = bound[k];
        R->chunks[k].end = bound[k + 1];
    }
    free(bound);
    R->tok.skip_bad = o->on_bad_rows == KL_CSV_BAD_ROWS_SKIP;
    R->tok.fields_hint = fields_hint(R->buf, R->len, data_start, nc);

    run_jobs(R, JOB_COUNT, NULL);
    size_t pred = 0;
    for (size_t k = 0; k < nk; k++) {
        R->row0[k] = pred;
        pred += R->pred[k];
    }
    R->n_pred = pred;
    for (size_t j = 0; j < nc; j++) {
        if (!R->cols[j].scan)
            continue;
        R->cols[j].num = kl__big_alloc(pred * sizeof(double));
        if (!R->cols[j].num)
            return fail_nomem(R);
    }
    run_jobs(R, JOB_MAIN, NULL);

    size_t rows = 0, bad = 0, first_bad = SIZE_MAX;
    int holes = 0;
    for (size_t k = 0; k < nk; k++) {
        const kl__csv_chunk *c = &R->chunks[k];
        KL_ASSERT(c->fault != KL__CSV_MISCOUNT);
        if (c->fault != KL__CSV_OK)
            return fault_error(R, c);
        holes |= c->n_rows != R->pred[k];
        rows += c->n_rows;
        bad += c->bad_rows;
        if (first_bad == SIZE_MAX)
            first_bad = c->first_bad_pos;
    }
    if (holes) {
        size_t at = 0;
        for (size_t k = 0; k < nk; k++) {
            size_t n = R->chunks[k].n_rows;
            for (size_t j = 0; j < nc && at != R->row0[k]; j++) {
                colinfo *col = &R->cols[j];
                if (col->num)
                    memmove(col->num + at, col->num + R->row0[k], n * sizeof(double));
                if (col->codes)
                    memmove(col->codes + at, col->codes + R->row0[k], n * sizeof(int32_t));
            }
            R->row0[k] = at;
            at += n;
        }
    }
    R->n_rows = rows;
    if (R->rep) {
        R->rep->bad_rows = bad;
        if (first_bad != SIZE_MAX) {
            size_t line, col;
            pos_line_col(R, first_bad, &line, &col);
            R->rep->first_bad_line = line;
        }
    }
    if (rows == 0)
        return fail_at(R, KL_EPARSE, R->len, "no data rows");
    return 0;
}

static int read_csv(reader *R, kl_frame **out)
{
    const kl_csv_read_opts *o = R->o;
    missing_init(&R->miss, o->missing_tokens, o->n_missing_tokens);
    if (R->len == 0)
        return fail_at(R, KL_EPARSE, 0, "empty file");
    uint8_t delim = (uint8_t)o->delimiter;
    if (!delim)
        delim = kl__csv_detect_delimiter(R->buf, R->len);
    if (delim == '"' || delim == '\n' || delim == '\r' || delim >= 0x80) {
        kl_err_set(R->err, KL_EINVAL, "invalid delimiter");
        return KL_EINVAL;
    }
    if (R->rep)
        R->rep->delimiter = (char)delim;
    R->tok = (kl__csv_tok){.buf = R->buf, .len = R->len, .delim = delim};

    /* The first row: the header, or the width of a header-less file. */
    kl__csv_chunk head = {.begin = 0, .end = R->len};
    kl__csv_tok htok = R->tok;
    htok.row_limit = 1;
    if (kl__csv_tokenize(&htok, &head) < 0) {
        int rc = fault_error(R, &head);
        kl__csv_chunk_release(&head);
        return rc;
    }
    R->n_cols = htok.n_cols;
    R->tok.n_cols = htok.n_cols;
    R->cols = calloc(R->n_cols, sizeof *R->cols);
    if (!R->cols) {
        kl__csv_chunk_release(&head);
        return fail_nomem(R);
    }
    for (size_t j = 0; j < R->n_cols; j++)
        R->cols[j].scan = 1;
    int rc = set_names(R, &head);
    size_t data_start = o->no_header ? 0 : head.stop;
    kl__csv_chunk_release(&head);
    if (rc < 0 || (rc = check_overrides(R)) < 0)
        return rc;

    if ((rc = read_rows(R, data_start)) < 0)
        return rc;

    if ((rc = decide(R)) < 0)
        return rc;

    /* Phase D. */
    R->strcols = malloc(R->n_cols * sizeof *R->strcols);
    if (!R->strcols)
        return fail_nomem(R);
    int any_time = 0;
    for (size_t j = 0; j < R->n_cols; j++) {
        colinfo *col = &R->cols[j];
        if (col->plan == PLAN_STRING) {
            R->strcols[R->n_strcols++] = j;
            free(col->num);
            col->num = NULL;
        } else if (col->plan == PLAN_BOOL) {
            col->bools = kl__big_alloc(R->n_rows);
            if (!col->bools)
                return fail_nomem(R);
            for (size_t i = 0; i < R->n_rows; i++)
                col->bools[i] = isnan(col->num[i]) ? KL_BOOL_MISSING : (uint8_t)col->num[i];
            free(col->num);
            col->num = NULL;
        } else if (col->plan == PLAN_TIME) {
            /* Phase B parsed the dates into the column's 8-byte slots: keep them. */
            col->times = (int64_t *)(void *)col->num;
            col->num = NULL;
            any_time = 1;
        }
    }
    run_jobs(R, JOB_CELLS, NULL);
    for (size_t k = 0; k < R->n_chunks; k++)
        if (R->chunks[k].fault != KL__CSV_OK)
            return fault_error(R, &R->chunks[k]);
    if (any_time) {
        time_fail *tf = calloc(R->n_chunks, sizeof *tf);
        if (!tf)
            return fail_nomem(R);
        run_jobs(R, JOB_TIMES, tf);
        for (size_t k = 0; k < R->n_chunks; k++)
            if (tf[k].failed) {
                size_t pos = tf[k].pos;
                free(tf);
                return fail_at(R, KL_EPARSE, pos, "cannot parse a date or time value");
            }
        free(tf);
    }
    if ((rc = convert_strings(R)) < 0)
        return rc;
    return build_frame(R, out);
}

int kl_csv_read_buffer(const char *buf, size_t len, const char *name,
                       const kl_csv_read_opts *opts, kl_frame **out, kl_csv_report *report,
                       kl_err *err)
{
    static const kl_csv_read_opts defaults = {0};
    *out = NULL;
    if (report)
        memset(report, 0, sizeof *report);
    reader R = {0};
    R.o = opts ? opts : &defaults;
    R.name = R.o->display_name ? R.o->display_name : (name ? name : "<buffer>");
    R.threads = R.o->threads > 0 ? R.o->threads : kl_threads();
    R.rep = report;
    R.err = err;
    const uint8_t *b = (const uint8_t *)buf;
    if (report)
        report->bytes = len;
    if (len >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
        b += 3;
        len -= 3;
    }
    R.buf = b;
    R.len = len;
    int rc = read_csv(&R, out);
    if (rc == 0 && report)
        report->rows = R.n_rows;
    reader_release(&R);
    return rc;
}

/*
 * A whole read touches every page of the mapping: map them in 4 MiB pieces
 * on all threads up front, which costs less than one page fault per 16
 * pages spread over the passes. Failure (an old kernel) changes nothing.
 */
static void populate(void *m, size_t len, int threads)
{
#ifdef MADV_POPULATE_READ
    const size_t piece = (size_t)4 << 20;
    long n = (long)((len + piece - 1) / piece);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1 && n > 1)
    for (long i = 0; i < n; i++) {
        size_t a = (size_t)i * piece;
        madvise((char *)m + a, KL_MIN(piece, len - a), MADV_POPULATE_READ);
    }
#else
    (void)m;
    (void)len;
    (void)threads;
#endif
}

int kl_csv_read_file(const char *path, const kl_csv_read_opts *opts, kl_frame **out,
                     kl_csv_report *report, kl_err *err)
{
    *out = NULL;
    const char *name = opts && opts->display_name ? opts->display_name : path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        kl_err_set(err, e == ENOENT ? KL_ENOTFOUND : KL_EIO, "cannot open '%s': %s", path,
                   strerror(e));
        kl_err_ctx(err, "%s", name);
        if (report)
            memset(report, 0, sizeof *report);
        return err ? err->code : KL_EIO;
    }
    struct stat st;
    char *data = NULL;
    size_t len = 0;
    int mapped = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        len = (size_t)st.st_size;
        if (len > 0) {
            void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
            if (m != MAP_FAILED) {
                madvise(m, len, MADV_SEQUENTIAL);
                if (!(opts && opts->max_rows))
                    populate(m, len, opts && opts->threads > 0 ? opts->threads : kl_threads());
                data = m;
                mapped = 1;
            }
        }
    }
    if (!mapped) {
        /* Pipes, or a file mmap refused: read it all. */
        size_t cap = 1 << 16;
        len = 0;
        data = malloc(cap);
        ssize_t got;
        while (data && (got = read(fd, data + len, cap - len)) != 0) {
            if (got < 0) {
                if (errno == EINTR)
                    continue;
                int e = errno;
                free(data);
                close(fd);
                kl_err_set(err, KL_EIO, "cannot read '%s': %s", path, strerror(e));
                kl_err_ctx(err, "%s", name);
                if (report)
                    memset(report, 0, sizeof *report);
                return KL_EIO;
            }
            len += (size_t)got;
            if (len == cap) {
                char *nd = realloc(data, cap * 2);
                if (!nd) {
                    free(data);
                    data = NULL;
                    break;
                }
                data = nd;
                cap *= 2;
            }
        }
        if (!data) {
            close(fd);
            kl_err_set(err, KL_ENOMEM, "out of memory reading '%s'", path);
            if (report)
                memset(report, 0, sizeof *report);
            return KL_ENOMEM;
        }
    }
    close(fd);
    int rc = kl_csv_read_buffer(data, len, name, opts, out, report, err);
    if (mapped)
        munmap(data, len);
    else
        free(data);
    return rc;
}
