/*
 * YAML to a node tree, through libyaml's event parser, plus the pool that
 * holds the tree and, later, the spec itself.
 *
 * Invariants: every node carries the 1-based line and column of its first
 * character; scalars are NUL-terminated and hold no NUL; nesting is at most
 * KL__SPEC_MAX_DEPTH deep; aliases never reach the tree. libyaml's event
 * parser keeps its own explicit state stack rather than recursing, so with
 * the depth cap here nothing recurses on input size.
 *
 * Why a tree rather than validating straight from events: duplicate keys,
 * cross-field rules (positive_class needs task classification) and error
 * messages naming the enclosing key are all easier with the whole mapping in
 * hand, and a keel.yaml is small (at most 1 MiB).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "keel/err.h"
#include "spec/spec_internal.h"
#include "core/common.h"

/* ---- pool ---- */

struct kl__pool_block {
    kl__pool_block *next;
    size_t used, cap;
    max_align_t data[];
};

#define POOL_BLOCK 16384u

void *kl__pool_calloc(kl__pool *p, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    size_t n = count * size;
    size_t align = sizeof(max_align_t);
    if (n > SIZE_MAX - align)
        return NULL;
    n = (n + align - 1) / align * align;
    if (n == 0)
        n = align;
    kl__pool_block *b = p->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > POOL_BLOCK ? n : POOL_BLOCK;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        /* A big block goes behind the head so the head keeps its free space. */
        if (p->head && cap > POOL_BLOCK) {
            b->next = p->head->next;
            p->head->next = b;
        } else {
            b->next = p->head;
            p->head = b;
        }
    }
    void *ptr = (char *)b->data + b->used;
    b->used += n;
    memset(ptr, 0, n);
    return ptr;
}

char *kl__pool_strndup(kl__pool *p, const char *s, size_t n)
{
    char *d = kl__pool_calloc(p, n + 1, 1);
    if (d && n)
        memcpy(d, s, n);
    return d;
}

void kl__pool_release(kl__pool *p)
{
    kl__pool_block *b = p->head;
    while (b) {
        kl__pool_block *next = b->next;
        free(b);
        b = next;
    }
    p->head = NULL;
}

/* ---- parsing ---- */

int kl__node_is_null(const kl__node *n)
{
    if (!n || n->kind != KL__NODE_SCALAR || n->quoted)
        return 0;
    return kl__text_looks_null(n->text);
}

int kl__text_looks_null(const char *s)
{
    return !s[0] || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

/*
 * True when a plain s would read as something other than a string to a YAML
 * 1.1 reader (a bool, a number or null). keel reads string fields literally,
 * but other tools reading the file should see strings too, and a quoted
 * free-form scalar keeps its quoting only when it matters (kl_spec_kv).
 */
int kl__text_looks_typed(const char *s)
{
    static const char *const words[] = {"y", "n", "yes", "no", "true", "false", "on", "off"};
    if (kl__text_looks_null(s))
        return 1;
    for (size_t i = 0; i < KL_ARRAY_LEN(words); i++)
        if (!strcasecmp(s, words[i]))
            return 1;
    if (strspn(s, "0123456789+-.eE") == strlen(s) && strpbrk(s, "0123456789")) {
        char *end;
        strtod(s, &end);
        if (!*end)
            return 1;
    }
    /* YAML 1.1 also reads 0x1F, 0o17, 1_000 and 1:30 (base 60) as numbers. */
    const char *p = s + (*s == '+' || *s == '-');
    const char *dot = strchr(p, '.');
    if (*p >= '0' && *p <= '9' && strspn(p, "0123456789abcdefABCDEFxo_:.") == strlen(p) &&
        (!dot || !strchr(dot + 1, '.')))
        return 1; /* one dot at most: 127.0.0.1 and 1.2.3 are strings */
    return !strcasecmp(p, ".inf") || !strcasecmp(s, ".nan");
}

/*
 * The byte at libyaml's mark, found from line and column (libyaml's index
 * counts characters, not bytes). Used only to explain a tab; -1 when the
 * mark is past the end.
 */
static int byte_at_mark(const char *buf, size_t len, yaml_mark_t m)
{
    size_t i = 0;
    if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3))
        i = 3;
    for (size_t line = 0; line < m.line && i < len; i++) {
        if (buf[i] == '\n' || (buf[i] == '\r' && (i + 1 == len || buf[i + 1] != '\n')))
            line++;
    }
    for (size_t col = 0; col < m.column && i < len; col++) {
        i++;
        while (i < len && ((unsigned char)buf[i] & 0xC0) == 0x80)
            i++;
    }
    return i < len ? (unsigned char)buf[i] : -1;
}

static int fail_at(kl_err *err, int code, const char *name, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail_at(kl_err *err, int code, const char *name, yaml_mark_t m, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return kl_err_ctx(err, "%s:%zu:%zu", name, m.line + 1, m.column + 1);
}

static int syntax_error(const yaml_parser_t *p, const char *buf, size_t len, const char *name,
                        kl_err *err)
{
    if (p->error == YAML_MEMORY_ERROR)
        return kl_err_set(err, KL_ENOMEM, "out of memory while parsing YAML");
    yaml_mark_t m = p->problem_mark;
    if (byte_at_mark(buf, len, m) == '\t')
        return fail_at(err, KL_EPARSE, name, m,
                       "invalid YAML: tab character used for indentation; indent with spaces");
    char msg[KL_ERR_MSG_MAX];
    const char *problem = p->problem ? p->problem : "malformed document";
    if (p->context)
        snprintf(msg, sizeof msg, "%s %s", problem, p->context);
    else
        snprintf(msg, sizeof msg, "%s", problem);
    /* Reader errors (bad UTF-8, control characters) carry an offset, not a mark. */
    if (p->error == YAML_READER_ERROR) {
        kl_err_set(err, KL_EPARSE, "invalid YAML: %s at byte %zu", msg, p->problem_offset);
        return kl_err_ctx(err, "%s", name);
    }
    return fail_at(err, KL_EPARSE, name, m, "invalid YAML: %s", msg);
}

typedef struct builder {
    kl__pool *pool;
    kl__node *stack[KL__SPEC_MAX_DEPTH + 1];
    int depth;
    kl__node *root;
} builder;

static int add_node(builder *b, kl__node *n)
{
    if (b->depth == 0) {
        b->root = n;
        return 0;
    }
    kl__node *parent = b->stack[b->depth - 1];
    if (parent->last)
        parent->last->next = n;
    else
        parent->child = n;
    parent->last = n;
    parent->n++;
    return 0;
}

static kl__node *new_node(builder *b, enum kl__node_kind kind, yaml_mark_t m)
{
    kl__node *n = kl__pool_calloc(b->pool, 1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->line = (int)KL_MIN(m.line + 1, (size_t)INT32_MAX);
    n->col = (int)KL_MIN(m.column + 1, (size_t)INT32_MAX);
    return n;
}

int kl__yaml_parse(const char *buf, size_t len, const char *name, kl__pool *pool, kl__node **root,
                   kl_err *err)
{
    *root = NULL;
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return kl_err_set(err, KL_ENOMEM, "out of memory while parsing YAML");
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    builder b = {.pool = pool};
    int rc = 0, docs = 0, done = 0;
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = syntax_error(&p, buf, len, name, err);
            break;
        }
        kl__node *n = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                rc = fail_at(err, KL_EPARSE, name, ev.start_mark,
                             "the spec must hold one YAML document; found a second one");
            break;
        case YAML_ALIAS_EVENT:
            rc = fail_at(err, KL_EPARSE, name, ev.start_mark,
                         "aliases are not supported in keel.yaml ('*%s'); write the value out",
                         (const char *)ev.data.alias.anchor);
            break;
        case YAML_SCALAR_EVENT:
            if (memchr(ev.data.scalar.value, 0, ev.data.scalar.length)) {
                rc = fail_at(err, KL_EPARSE, name, ev.start_mark, "a value holds a NUL character");
                break;
            }
            n = new_node(&b, KL__NODE_SCALAR, ev.start_mark);
            if (n) {
                n->len = ev.data.scalar.length;
                n->text = kl__pool_strndup(pool, (const char *)ev.data.scalar.value, n->len);
                n->quoted = ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
            }
            if (!n || !n->text)
                rc = kl_err_set(err, KL_ENOMEM, "out of memory while parsing YAML");
            else
                add_node(&b, n);
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            if (b.depth >= KL__SPEC_MAX_DEPTH) {
                rc = fail_at(err, KL_EPARSE, name, ev.start_mark,
                             "nesting is deeper than %d levels", KL__SPEC_MAX_DEPTH);
                break;
            }
            n = new_node(&b, ev.type == YAML_MAPPING_START_EVENT ? KL__NODE_MAP : KL__NODE_SEQ,
                         ev.start_mark);
            if (!n) {
                rc = kl_err_set(err, KL_ENOMEM, "out of memory while parsing YAML");
                break;
            }
            add_node(&b, n);
            b.stack[b.depth++] = n;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            KL_ASSERT(b.depth > 0);
            b.depth--;
            if (b.stack[b.depth]->kind == KL__NODE_MAP)
                b.stack[b.depth]->n /= 2;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (rc < 0)
            break;
    }
    yaml_parser_delete(&p);
    if (rc < 0)
        return rc;
    *root = b.root;
    return 0;
}
