/*
 * Run queries: a small parser for filter expressions such as
 *
 *     metrics.auc > 0.8 and (params.alpha = '0.1' or tags.stage = "prod")
 *
 * and sort lists such as "metrics.auc desc, started", translated to SQL over
 * the runs table (alias r) that both backends accept.
 *
 * Invariant: user text never becomes SQL text. Keys and values become bound
 * parameters ('?'); only fixed fragments chosen from tables here (column
 * names, operators) are written into the statement. A value that looks like
 * SQL is therefore just a string that matches nothing.
 *
 * Grammar (and binds tighter than or; words are case-insensitive):
 *     expr    = and_expr { "or" and_expr }
 *     and_expr= primary { "and" primary }
 *     primary = "(" expr ")" | field op value
 *     op      = ">" | ">=" | "<" | "<=" | "=" | "==" | "!=" | "<>"
 *     value   = number | 'text' | "text"      (a doubled quote stands for itself)
 *     sort    = field [ "asc" | "desc" ] { "," field [ "asc" | "desc" ] }
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keel/err.h"
#include "keel/track.h"
#include "store/store_internal.h"
#include "core/common.h"

#define MAX_NESTING 32

/* ---- SQL buffer ---- */

static void sb_putn(kl__sqlbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->sql, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->sql = p;
        b->cap = cap;
    }
    memcpy(b->sql + b->len, s, n);
    b->len += n;
    b->sql[b->len] = '\0';
}

static void sb_puts(kl__sqlbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static kl__sqlarg *sb_arg(kl__sqlbuf *b)
{
    if (b->oom)
        return NULL;
    if (b->n_args == b->cap_args) {
        size_t cap = b->cap_args ? b->cap_args * 2 : 8;
        kl__sqlarg *p = realloc(b->args, cap * sizeof *p);
        if (!p) {
            b->oom = 1;
            return NULL;
        }
        b->args = p;
        b->cap_args = cap;
    }
    kl__sqlarg *a = &b->args[b->n_args++];
    memset(a, 0, sizeof *a);
    return a;
}

/* Bind text (taking ownership of t) and write its placeholder. */
static void sb_text(kl__sqlbuf *b, char *t)
{
    kl__sqlarg *a = t ? sb_arg(b) : NULL;
    if (!a) {
        free(t);
        b->oom = 1;
        return;
    }
    a->kind = KL__ARG_TEXT;
    a->text = t;
    sb_puts(b, "?");
}

static void sb_f64(kl__sqlbuf *b, double v)
{
    kl__sqlarg *a = sb_arg(b);
    if (!a)
        return;
    a->kind = KL__ARG_F64;
    a->f64 = v;
    sb_puts(b, "?");
}

static void sb_i64(kl__sqlbuf *b, int64_t v)
{
    kl__sqlarg *a = sb_arg(b);
    if (!a)
        return;
    a->kind = KL__ARG_I64;
    a->i64 = v;
    sb_puts(b, "?");
}

/* Append src's text and move its arguments to dst. */
static void sb_take(kl__sqlbuf *dst, kl__sqlbuf *src)
{
    if (src->oom)
        dst->oom = 1;
    if (src->sql)
        sb_puts(dst, src->sql);
    for (size_t i = 0; i < src->n_args; i++) {
        kl__sqlarg *a = sb_arg(dst);
        if (!a)
            break;
        *a = src->args[i];
        src->args[i].text = NULL;
    }
    kl__sqlbuf_release(src);
}

void kl__sqlbuf_release(kl__sqlbuf *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_args; i++)
        free(b->args[i].text);
    free(b->args);
    free(b->sql);
    memset(b, 0, sizeof *b);
}

void kl__sqlbuf_bind(const kl__sqlbuf *b, const kl__db_vt *vt, kl__stmt *st)
{
    for (size_t i = 0; i < b->n_args; i++) {
        const kl__sqlarg *a = &b->args[i];
        int k = (int)i + 1;
        if (a->kind == KL__ARG_TEXT)
            vt->bind_text(st, k, a->text);
        else if (a->kind == KL__ARG_F64)
            vt->bind_f64(st, k, a->f64);
        else
            vt->bind_i64(st, k, a->i64);
    }
}

/* ---- lexer ---- */

enum tok_kind { T_END, T_WORD, T_NUM, T_STR, T_OP, T_LP, T_RP, T_COMMA, T_BAD };

typedef struct token {
    enum tok_kind kind;
    const char *start;
    size_t len;
} token;

typedef struct parser {
    const char *src;
    const char *what; /* "filter" or "sort", for error contexts */
    const char *p;
    token tok;
    kl_err *err;
    int failed;
} parser;

__attribute__((format(printf, 3, 4))) static int fail_at(parser *ps, const char *at,
                                                         const char *fmt, ...)
{
    if (ps->failed)
        return KL_EPARSE;
    ps->failed = 1;
    char msg[KL_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kl_err_set(ps->err, KL_EPARSE, "%s", msg);
    kl_err_ctx(ps->err, "%s:%zu", ps->what, (size_t)(at - ps->src) + 1);
    return KL_EPARSE;
}

/* Length of a token's text for "%.*s", capped so a message stays readable. */
static int shown(size_t len)
{
    return (int)(len == 0 ? 1 : len > 200 ? 200 : len);
}

static int is_word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-' || c == '/';
}

static void next(parser *ps)
{
    const char *p = ps->p;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    token *t = &ps->tok;
    t->start = p;
    if (!*p) {
        t->kind = T_END;
        t->len = 0;
    } else if (*p == '(' || *p == ')' || *p == ',') {
        t->kind = *p == '(' ? T_LP : *p == ')' ? T_RP : T_COMMA;
        t->len = 1;
    } else if (strchr("<>=!", *p)) {
        t->kind = T_OP;
        t->len = (p[1] == '=' || (p[0] == '<' && p[1] == '>')) ? 2 : 1;
        if (p[0] == '!' && p[1] != '=')
            t->kind = T_BAD;
    } else if (*p == '\'' || *p == '"') {
        char q = *p;
        const char *e = p + 1;
        for (;;) {
            if (!*e) {
                t->kind = T_BAD;
                t->len = (size_t)(e - p);
                ps->p = e;
                fail_at(ps, p, "unterminated string %.*s", shown(1), p);
                return;
            }
            if (*e == q && e[1] == q) {
                e += 2;
                continue;
            }
            if (*e == q)
                break;
            e++;
        }
        t->kind = T_STR;
        t->len = (size_t)(e + 1 - p);
    } else if (isdigit((unsigned char)*p) || ((*p == '-' || *p == '+' || *p == '.') &&
                                              (isdigit((unsigned char)p[1]) || p[1] == '.'))) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        (void)v;
        t->kind = end > p ? T_NUM : T_BAD;
        t->len = (size_t)(end > p ? end - p : 1);
        if (is_word_char(*end) || *end == '`')
            t->kind = T_BAD, t->len = (size_t)(end - p) + 1;
    } else if (isalpha((unsigned char)*p) || *p == '_') {
        const char *e = p;
        while (is_word_char(*e) || *e == '`') {
            if (*e == '`') {
                const char *close = strchr(e + 1, '`');
                if (!close) {
                    t->kind = T_BAD;
                    t->len = strlen(p);
                    ps->p = p + t->len;
                    fail_at(ps, e, "unterminated backquote %.*s", shown(1), e);
                    return;
                }
                e = close + 1;
            } else {
                e++;
            }
        }
        t->kind = T_WORD;
        t->len = (size_t)(e - p);
    } else {
        t->kind = T_BAD;
        t->len = 1;
    }
    ps->p = p + t->len;
}

static int tok_is(const token *t, const char *word)
{
    return t->kind == T_WORD && strlen(word) == t->len && strncasecmp(t->start, word, t->len) == 0;
}

/* ---- fields ---- */

enum field_kind { F_METRIC, F_PARAM, F_TAG, F_ATTR };

typedef struct attr {
    const char *name, *column;
    int numeric;
} attr;

static const attr attrs[] = {
    {"id", "r.id", 0},
    {"name", "r.name", 0},
    {"status", "r.status", 0},
    {"parent", "r.parent_run", 0},
    {"spec_hash", "r.spec_hash", 0},
    {"snapshot", "r.snapshot", 0},
    {"keel_version", "r.keel_version", 0},
    {"git_commit", "r.git_commit", 0},
    {"host", "r.host", 0},
    {"started", "r.started_ms", 1},
    {"ended", "r.ended_ms", 1},
    {"seed", "r.seed", 1},
    {"git_dirty", "r.git_dirty", 1},
};

typedef struct field {
    enum field_kind kind;
    char *key;        /* owned; metrics/params/tags */
    const attr *attr; /* F_ATTR */
} field;

static int parse_field(parser *ps, field *f)
{
    memset(f, 0, sizeof *f);
    token t = ps->tok;
    if (t.kind != T_WORD)
        return fail_at(ps, t.start, "expected a field such as metrics.auc, found '%.*s'",
                       shown(t.len), t.start);
    const char *dot = memchr(t.start, '.', t.len);
    size_t plen = dot ? (size_t)(dot - t.start) : t.len;
    static const struct {
        const char *name;
        enum field_kind kind;
    } prefixes[] = {{"metrics", F_METRIC},  {"metric", F_METRIC}, {"params", F_PARAM},
                    {"param", F_PARAM},     {"tags", F_TAG},      {"tag", F_TAG},
                    {"attributes", F_ATTR}, {"attr", F_ATTR},     {"run", F_ATTR}};
    int prefix = -1;
    if (dot)
        for (size_t i = 0; i < KL_ARRAY_LEN(prefixes); i++)
            if (strlen(prefixes[i].name) == plen && strncmp(t.start, prefixes[i].name, plen) == 0)
                prefix = (int)i;
    const char *key = dot && prefix >= 0 ? dot + 1 : t.start;
    size_t klen = t.len - (size_t)(key - t.start);
    if (klen >= 2 && key[0] == '`' && key[klen - 1] == '`') {
        key++;
        klen -= 2;
    }
    if (klen == 0 || memchr(key, '`', klen))
        return fail_at(ps, t.start, "bad field '%.*s'", shown(t.len), t.start);
    f->kind = prefix >= 0 ? prefixes[prefix].kind : F_ATTR;
    if (f->kind == F_ATTR) {
        for (size_t i = 0; i < KL_ARRAY_LEN(attrs); i++)
            if (strlen(attrs[i].name) == klen && strncmp(attrs[i].name, key, klen) == 0)
                f->attr = &attrs[i];
        if (!f->attr)
            return fail_at(ps, t.start,
                           "unknown field '%.*s'; use metrics.KEY, params.KEY, tags.KEY or a "
                           "run attribute (id, name, status, parent, spec_hash, snapshot, "
                           "keel_version, git_commit, host, started, ended, seed, git_dirty)",
                           shown(t.len), t.start);
        next(ps);
        return 0;
    }
    f->key = strndup(key, klen);
    if (!f->key) {
        ps->failed = 1;
        return kl_err_set(ps->err, KL_ENOMEM, "out of memory parsing a %s", ps->what);
    }
    next(ps);
    return 0;
}

/* The unquoted text of a string token (doubled quotes collapsed); NULL when out of memory. */
static char *unquote(const token *t)
{
    char q = t->start[0];
    char *out = malloc(t->len);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 1; i + 1 < t->len; i++) {
        out[o++] = t->start[i];
        if (t->start[i] == q)
            i++;
    }
    out[o] = '\0';
    return out;
}

/* An integer literal that int64 holds exactly. */
static int int_literal(const token *t, int64_t *v)
{
    for (size_t i = 0; i < t->len; i++)
        if (!(isdigit((unsigned char)t->start[i]) || (i == 0 && strchr("+-", t->start[i]))))
            return 0;
    errno = 0;
    char *end;
    long long x = strtoll(t->start, &end, 10);
    if (errno || end != t->start + t->len)
        return 0;
    *v = x;
    return 1;
}

/* ---- filter ---- */

static int parse_or(parser *ps, kl__sqlbuf *b, int depth);

/* The SQL spelling of an operator token (the lexer only makes these). */
static const char *sql_op(const token *op)
{
    static const struct {
        const char *text, *sql;
    } ops[] = {{">=", ">="}, {"<=", "<="}, {"==", "="}, {"!=", "<>"},
               {"<>", "<>"}, {">", ">"},   {"<", "<"},  {"=", "="}};
    for (size_t i = 0; i < KL_ARRAY_LEN(ops); i++)
        if (strlen(ops[i].text) == op->len && strncmp(op->start, ops[i].text, op->len) == 0)
            return ops[i].sql;
    KL_ASSERT(!"the lexer made an operator token sql_op does not know");
    return "=";
}

static int parse_comparison(parser *ps, kl__sqlbuf *b)
{
    field f;
    const char *fstart = ps->tok.start;
    size_t flen = ps->tok.len;
    int rc = parse_field(ps, &f);
    if (rc < 0)
        return rc;
    token op = ps->tok;
    if (op.kind != T_OP) {
        free(f.key);
        return fail_at(ps, op.start, "expected an operator (> >= < <= = !=) after '%.*s'",
                       shown(flen), fstart);
    }
    const char *sqlop = sql_op(&op);
    next(ps);
    token v = ps->tok;
    if (v.kind != T_NUM && v.kind != T_STR) {
        free(f.key);
        return fail_at(ps, v.start, "expected a number or a quoted string, found '%.*s'",
                       shown(v.len), v.start);
    }
    int numeric_field = f.kind == F_METRIC || (f.kind == F_ATTR && f.attr->numeric);
    if (numeric_field && v.kind != T_NUM) {
        free(f.key);
        return fail_at(ps, v.start, "'%.*s' compares with numbers, not strings", shown(flen),
                       fstart);
    }
    next(ps);
    switch (f.kind) {
    case F_METRIC:
        sb_puts(b, "EXISTS (SELECT 1 FROM metrics m WHERE m.run = r.id AND m.key = ");
        sb_text(b, f.key);
        sb_puts(b, " AND m.value ");
        break;
    case F_PARAM:
        sb_puts(b, "EXISTS (SELECT 1 FROM params p WHERE p.run = r.id AND p.key = ");
        sb_text(b, f.key);
        sb_puts(b, " AND p.value ");
        break;
    case F_TAG:
        sb_puts(b, "EXISTS (SELECT 1 FROM tags t WHERE t.target_kind = 'run' AND "
                   "t.target_id = r.id AND t.key = ");
        sb_text(b, f.key);
        sb_puts(b, " AND t.value ");
        break;
    case F_ATTR:
        break;
    }
    int64_t iv;
    if (f.kind == F_ATTR && f.attr->numeric && !int_literal(&v, &iv)) {
        /* A fractional bound on an integer column: compare as doubles. */
        sb_puts(b, "(CAST(");
        sb_puts(b, f.attr->column);
        sb_puts(b, " AS DOUBLE PRECISION) ");
    } else if (f.kind == F_ATTR) {
        sb_puts(b, "(");
        sb_puts(b, f.attr->column);
        sb_puts(b, " ");
    }
    sb_puts(b, sqlop);
    sb_puts(b, " ");
    if (v.kind == T_STR) {
        char *t = unquote(&v);
        sb_text(b, t);
    } else if (f.kind == F_METRIC || (f.kind == F_ATTR && f.attr->numeric)) {
        if (f.kind == F_ATTR && int_literal(&v, &iv))
            sb_i64(b, iv);
        else
            sb_f64(b, strtod(v.start, NULL));
    } else {
        /* Params, tags and text attributes are text: bind the number as written. */
        sb_text(b, strndup(v.start, v.len));
    }
    sb_puts(b, ")");
    if (b->oom) {
        ps->failed = 1;
        return kl_err_set(ps->err, KL_ENOMEM, "out of memory parsing a filter");
    }
    return 0;
}

static int parse_primary(parser *ps, kl__sqlbuf *b, int depth)
{
    if (ps->tok.kind == T_LP) {
        if (depth >= MAX_NESTING)
            return fail_at(ps, ps->tok.start, "parentheses nested too deeply");
        const char *open = ps->tok.start;
        next(ps);
        int rc = parse_or(ps, b, depth + 1);
        if (rc < 0)
            return rc;
        if (ps->tok.kind != T_RP)
            return fail_at(ps, open, "unbalanced parenthesis");
        next(ps);
        return 0;
    }
    return parse_comparison(ps, b);
}

static int parse_and(parser *ps, kl__sqlbuf *b, int depth)
{
    sb_puts(b, "(");
    int rc = parse_primary(ps, b, depth);
    while (rc == 0 && tok_is(&ps->tok, "and")) {
        next(ps);
        sb_puts(b, " AND ");
        rc = parse_primary(ps, b, depth);
    }
    sb_puts(b, ")");
    return rc;
}

static int parse_or(parser *ps, kl__sqlbuf *b, int depth)
{
    sb_puts(b, "(");
    int rc = parse_and(ps, b, depth);
    while (rc == 0 && tok_is(&ps->tok, "or")) {
        next(ps);
        sb_puts(b, " OR ");
        rc = parse_and(ps, b, depth);
    }
    sb_puts(b, ")");
    return rc;
}

static int parse_filter(const char *src, kl__sqlbuf *b, kl_err *err)
{
    parser ps = {.src = src, .what = "filter", .p = src, .err = err};
    next(&ps);
    if (ps.failed)
        return KL_EPARSE;
    int rc = parse_or(&ps, b, 0);
    if (rc < 0)
        return rc;
    if (ps.tok.kind == T_RP)
        return fail_at(&ps, ps.tok.start, "unbalanced parenthesis");
    if (ps.tok.kind != T_END)
        return fail_at(&ps, ps.tok.start, "expected 'and', 'or' or the end, found '%.*s'",
                       shown(ps.tok.len), ps.tok.start);
    return 0;
}

/* ---- sort ---- */

static int parse_sort(const char *src, kl__sqlbuf *joins, kl__sqlbuf *order, kl_err *err)
{
    parser ps = {.src = src, .what = "sort", .p = src, .err = err};
    next(&ps);
    for (int n = 0;; n++) {
        if (n == 8)
            return fail_at(&ps, ps.tok.start, "at most 8 sort fields");
        field f;
        int rc = parse_field(&ps, &f);
        if (rc < 0)
            return rc;
        const char *dir = " ASC";
        if (tok_is(&ps.tok, "desc") || tok_is(&ps.tok, "asc")) {
            dir = tok_is(&ps.tok, "desc") ? " DESC" : " ASC";
            next(&ps);
        }
        char col[64];
        if (f.kind == F_ATTR) {
            snprintf(col, sizeof col, "%s", f.attr->column);
        } else {
            snprintf(col, sizeof col, "s%d.value", n);
            char join[160];
            snprintf(join, sizeof join,
                     f.kind == F_METRIC  ? " LEFT JOIN metrics s%d ON s%d.run = r.id AND s%d.key = "
                     : f.kind == F_PARAM ? " LEFT JOIN params s%d ON s%d.run = r.id AND s%d.key = "
                                         : " LEFT JOIN tags s%d ON s%d.target_kind = 'run' AND "
                                           "s%d.target_id = r.id AND s%d.key = ",
                     n, n, n, n);
            sb_puts(joins, join);
            sb_text(joins, f.key);
        }
        /* Missing values last in both directions, the same on both engines. */
        sb_puts(order, n ? ", " : " ORDER BY ");
        sb_puts(order, col);
        sb_puts(order, " IS NULL, ");
        sb_puts(order, col);
        sb_puts(order, dir);
        if (ps.tok.kind == T_COMMA) {
            next(&ps);
            continue;
        }
        if (ps.tok.kind != T_END)
            return fail_at(&ps, ps.tok.start,
                           "expected ',', 'asc', 'desc' or the end, found '%.*s'",
                           shown(ps.tok.len), ps.tok.start);
        break;
    }
    sb_puts(order, ", r.id");
    if (joins->oom || order->oom)
        return kl_err_set(err, KL_ENOMEM, "out of memory parsing a sort");
    return 0;
}

static int blank(const char *s)
{
    if (!s)
        return 1;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    return *s == '\0';
}

int kl__runs_sql(const kl_run_query *q, kl__sqlbuf *b, kl_err *err)
{
    memset(b, 0, sizeof *b);
    kl__sqlbuf joins = {0}, order = {0}, where = {0};
    int rc = 0;
    if (q && !blank(q->sort))
        rc = parse_sort(q->sort, &joins, &order, err);
    else
        sb_puts(&order, " ORDER BY r.started_ms DESC, r.id DESC");
    if (rc == 0 && q && !blank(q->filter)) {
        sb_puts(&where, " WHERE ");
        rc = parse_filter(q->filter, &where, err);
    }
    sb_puts(b, "SELECT r.id, r.name, r.status, r.started_ms, r.ended_ms, r.parent_run, "
               "r.spec_hash, r.snapshot, r.keel_version, r.git_commit, r.git_dirty, r.seed, "
               "r.host FROM runs r");
    sb_take(b, &joins);
    sb_take(b, &where);
    sb_take(b, &order);
    if (q && q->limit) {
        sb_puts(b, " LIMIT ");
        sb_i64(b, q->limit > INT64_MAX ? INT64_MAX : (int64_t)q->limit);
    }
    if (rc == 0 && b->oom)
        rc = kl_err_set(err, KL_ENOMEM, "out of memory building a run query");
    if (rc < 0)
        kl__sqlbuf_release(b);
    return rc;
}

int kl_run_query_check(const kl_run_query *q, kl_err *err)
{
    kl__sqlbuf b;
    int rc = kl__runs_sql(q, &b, err);
    kl__sqlbuf_release(&b);
    return rc;
}
