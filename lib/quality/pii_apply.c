/*
 * PII policies: turn a frame into one that may be stored (keep, drop,
 * redact, mask, hash, fail per column or per entity), log what changed for
 * lineage, and keep the project's hashing salt.
 *
 * Which rule applies to a column, first match wins: a rule naming the
 * column; for a column the scan flagged, the rule of its entity, else the
 * default. Those transform whole cells. Every other text or categorical
 * column is still searched cell by cell, and each match of an entity that
 * has a (non-keep) rule, or of any entity when the default is not keep, is
 * transformed in place: an email inside a comment is caught although the
 * comment column as a whole is not PII.
 *
 * Invariants: the input frame is never changed; the output holds no cell
 * the policies asked to transform in its original form; errors never quote
 * a cell's value (it is the PII being protected). The salt is read from a
 * file only its owner can read, and is never written anywhere else.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keel/hash.h"
#include "keel/pii.h"
#include "keel/suggest.h"
#include "core/common.h"

#define N_ENT KL_PII_ENTITY_COUNT
#define MAX_MATCHES 64

void kl_pii_policies_from_spec(const kl_spec *spec, kl_pii_policies *out)
{
    memset(out, 0, sizeof *out);
    out->fallback = spec->constraints.pii_default;
    out->columns = spec->constraints.pii_columns;
    out->n_columns = spec->constraints.n_pii_columns;
    out->entities = spec->constraints.pii_entities;
    out->n_entities = spec->constraints.n_pii_entities;
}

void kl_pii_log_release(kl_pii_log *log)
{
    if (!log)
        return;
    for (size_t k = 0; k < log->n; k++)
        free(log->entries[k].column);
    free(log->entries);
    memset(log, 0, sizeof *log);
}

/* ---- output strings ---- */

/* The cells of one transformed column: bytes in one buffer, offsets per row. */
struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
};

static void sb_add(struct sbuf *b, const void *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void sb_str(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_end(struct sbuf *b)
{
    sb_add(b, "", 1);
}

/* Characters (UTF-8 code points) in s[0..n). */
static size_t utf8_len(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

/* The transformed form of s[0..n) under p (never keep, drop or fail) appended to b. */
static int transform(struct sbuf *b, const char *s, size_t n, const kl_pii_policy *p,
                     enum kl_pii_entity e, const uint8_t *salt)
{
    switch (p->action) {
    case KL_PII_ACTION_REDACT:
        sb_str(b, "[REDACTED");
        if (e != KL_PII_ENTITY_NONE) {
            sb_str(b, ":");
            sb_str(b, kl_pii_entity_name(e));
        }
        sb_str(b, "]");
        return 0;
    case KL_PII_ACTION_MASK: {
        size_t chars = utf8_len(s, n), keep = p->keep_last > 0 ? (size_t)p->keep_last : 0;
        if (keep >= chars) {
            sb_add(b, s, n);
            return 0;
        }
        size_t masked = chars - keep, i = 0, k = 0;
        for (; k < masked; k++)
            sb_add(b, "*", 1);
        for (k = 0; i < n; i++) {
            k += ((unsigned char)s[i] & 0xC0) != 0x80;
            if (k > masked)
                break;
        }
        sb_add(b, s + i, n - i);
        return 0;
    }
    case KL_PII_ACTION_HASH: {
        kl_sha256_ctx h;
        uint8_t d[KL_SHA256_LEN];
        char hex[KL_SHA256_HEX_LEN + 1];
        if (kl_sha256_init(&h) < 0)
            return KL_ENOMEM;
        kl_sha256_update(&h, s, n);
        kl_sha256_update(&h, salt, KL_PII_SALT_LEN);
        kl_sha256_final(&h, d);
        kl_hex(d, sizeof d, hex);
        sb_add(b, hex, KL_SHA256_HEX_LEN);
        return 0;
    }
    case KL_PII_ACTION_DROP: /* a span cut out of a cell */
        return 0;
    case KL_PII_ACTION_KEEP:
    case KL_PII_ACTION_FAIL:
        break;
    }
    sb_add(b, s, n);
    return 0;
}

/* ---- choosing the rule ---- */

static const kl_pii_policy *entity_rule(const kl_pii_policies *p, enum kl_pii_entity e)
{
    for (size_t k = 0; k < p->n_entities; k++)
        if (kl_pii_entity_parse(p->entities[k].name) == (int)e)
            return &p->entities[k].policy;
    return NULL;
}

static const kl_pii_policy *column_rule(const kl_pii_policies *p, const char *name)
{
    for (size_t k = 0; k < p->n_columns; k++)
        if (strcmp(p->columns[k].name, name) == 0)
            return &p->columns[k].policy;
    return NULL;
}

/* ---- applying ---- */

struct out_col {
    int dropped;
    int changed;
    char **cells; /* per row, pointers into buf (after fix-up); NULL when missing */
    struct sbuf buf;
    size_t *off;
};

static int log_add(kl_pii_log *log, const char *column, enum kl_pii_entity e,
                   const kl_pii_policy *p, const char *rule, int whole, size_t cells, size_t spans)
{
    if (!log)
        return 0;
    kl_pii_log_entry *n = realloc(log->entries, (log->n + 1) * sizeof *n);
    if (!n)
        return KL_ENOMEM;
    log->entries = n;
    kl_pii_log_entry *x = &n[log->n];
    x->column = strdup(column);
    if (!x->column)
        return KL_ENOMEM;
    x->entity = e;
    x->policy = *p;
    x->rule = rule;
    x->whole = whole;
    x->cells = cells;
    x->spans = spans;
    log->n++;
    return 0;
}

/* Cell (i, j) as text: a borrowed pointer for text and categories, else rendered into tmp. */
static const char *cell_text(const kl_frame *f, size_t i, size_t j, char *tmp, size_t n)
{
    switch (kl_frame_col_kind(f, j)) {
    case KL_COL_KIND_TEXT:
        return kl_frame_col_text(f, j)[i];
    case KL_COL_KIND_CATEGORICAL: {
        int32_t c = kl_frame_col_codes(f, j)[i];
        return c == KL_CAT_MISSING ? NULL : kl_frame_col_dict(f, j, NULL)[c];
    }
    default:
        return kl_frame_cell_str(f, i, j, tmp, n) ? tmp : NULL;
    }
}

/* Whole cells of column j under p. */
static int apply_whole(const kl_frame *f, size_t j, const kl_pii_policy *p, enum kl_pii_entity e,
                       const uint8_t *salt, struct out_col *oc, size_t *cells)
{
    size_t rows = kl_frame_row_count(f);
    char tmp[256];
    *cells = 0;
    for (size_t i = 0; i < rows; i++) {
        const char *s = cell_text(f, i, j, tmp, sizeof tmp);
        if (!s) {
            oc->off[i] = SIZE_MAX;
            continue;
        }
        oc->off[i] = oc->buf.n;
        int rc = transform(&oc->buf, s, strlen(s), p, e, salt);
        if (rc < 0)
            return rc;
        sb_end(&oc->buf);
        (*cells)++;
    }
    oc->changed = 1;
    return oc->buf.oom ? KL_ENOMEM : 0;
}

/* Matches inside the cells of text or categorical column j; *fail_row is set when a fail rule
 * matched. */
static int apply_spans(const kl_frame *f, size_t j, unsigned hint, const kl_pii_policy *pol,
                       const uint8_t *salt, struct out_col *oc, size_t *cells, size_t *spans,
                       size_t *fail_row, enum kl_pii_entity *fail_e)
{
    size_t rows = kl_frame_row_count(f);
    kl_pii_match m[MAX_MATCHES];
    char tmp[8];
    memset(cells, 0, N_ENT * sizeof *cells);
    memset(spans, 0, N_ENT * sizeof *spans);
    size_t total = 0;
    for (size_t i = 0; i < rows; i++) {
        const char *s = cell_text(f, i, j, tmp, sizeof tmp);
        if (!s) {
            oc->off[i] = SIZE_MAX;
            continue;
        }
        size_t n = strlen(s);
        size_t k = kl_pii_find(s, n, hint, m, MAX_MATCHES);
        kl_pii_match *mm = m, *heap = NULL;
        if (k > MAX_MATCHES) {
            /* A cell with very many matches (a mailing list): every one must go. */
            heap = malloc(k * sizeof *heap);
            if (!heap)
                return KL_ENOMEM;
            kl_pii_find(s, n, hint, heap, k);
            mm = heap;
        }
        oc->off[i] = oc->buf.n;
        size_t at = 0;
        unsigned changed = 0;
        int rc = 0;
        for (size_t q = 0; q < k && rc == 0; q++) {
            const kl_pii_policy *p = &pol[mm[q].entity];
            if (p->action == KL_PII_ACTION_KEEP)
                continue;
            if (p->action == KL_PII_ACTION_FAIL) {
                *fail_row = i;
                *fail_e = mm[q].entity;
                rc = KL_ECHECK;
                break;
            }
            sb_add(&oc->buf, s + at, mm[q].start - at);
            rc = transform(&oc->buf, s + mm[q].start, mm[q].end - mm[q].start, p, mm[q].entity,
                           salt);
            at = mm[q].end;
            changed |= 1u << mm[q].entity;
            spans[mm[q].entity]++;
            total++;
        }
        free(heap);
        if (rc < 0)
            return rc;
        sb_add(&oc->buf, s + at, n - at);
        sb_end(&oc->buf);
        for (unsigned e = 1; e < N_ENT; e++)
            cells[e] += (changed >> e) & 1;
    }
    oc->changed = total > 0;
    return oc->buf.oom ? KL_ENOMEM : 0;
}

static int copy_column(kl_frame *o, const kl_frame *f, size_t j, kl_err *err)
{
    const char *name = kl_frame_col_name(f, j);
    switch (kl_frame_col_kind(f, j)) {
    case KL_COL_KIND_NUMERIC:
        return kl_frame_add_numeric(o, name, kl_frame_col_type(f, j), kl_frame_col_f64(f, j), err);
    case KL_COL_KIND_CATEGORICAL: {
        size_t n_dict = 0;
        const char *const *dict = kl_frame_col_dict(f, j, &n_dict);
        return kl_frame_add_categorical_codes(o, name, kl_frame_col_codes(f, j), dict, n_dict, err);
    }
    case KL_COL_KIND_BOOL:
        return kl_frame_add_bool(o, name, kl_frame_col_bool(f, j), err);
    case KL_COL_KIND_TEXT:
        return kl_frame_add_text(o, name, kl_frame_col_text(f, j), err);
    case KL_COL_KIND_TIME:
        return kl_frame_add_time(o, name, kl_frame_col_type(f, j), kl_frame_col_time(f, j),
                                 kl_frame_col_time_format(f, j), err);
    }
    return kl_err_set(err, KL_EINVAL, "column '%s' has an unknown kind", name);
}

static int add_transformed(kl_frame *o, const kl_frame *f, size_t j, struct out_col *oc,
                           kl_err *err)
{
    size_t rows = kl_frame_row_count(f);
    const char **cells = malloc((rows ? rows : 1) * sizeof *cells);
    if (!cells)
        return kl_err_set(err, KL_ENOMEM, "out of memory applying PII policies");
    for (size_t i = 0; i < rows; i++)
        cells[i] = oc->off[i] == SIZE_MAX ? NULL : oc->buf.p + oc->off[i];
    const char *name = kl_frame_col_name(f, j);
    int rc = kl_frame_col_kind(f, j) == KL_COL_KIND_CATEGORICAL
                 ? kl_frame_add_categorical(o, name, cells, err)
                 : kl_frame_add_text(o, name, cells, err);
    free(cells);
    return rc;
}

int kl_pii_apply(const kl_frame *in, const kl_pii_report *report, const kl_pii_policies *p,
                 const uint8_t *salt, kl_frame **out, kl_pii_log *log, kl_err *err)
{
    *out = NULL;
    if (log)
        memset(log, 0, sizeof *log);
    kl_pii_report own = {0};
    if (!report) {
        int rc = kl_pii_scan(in, NULL, &own, err);
        if (rc < 0)
            return rc;
        report = &own;
    }
    size_t nc = kl_frame_col_count(in), rows = kl_frame_row_count(in);
    int rc = 0;
    struct out_col *oc = calloc(nc ? nc : 1, sizeof *oc);
    kl_frame *o = NULL;
    if (!oc) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory applying PII policies");
        goto done;
    }
    /* A rule for a column the data lacks is most likely a typo that would let PII through. */
    for (size_t k = 0; k < p->n_columns; k++) {
        if (kl_frame_col_index(in, p->columns[k].name) >= 0)
            continue;
        const char **names = malloc((nc ? nc : 1) * sizeof *names);
        const char *near = NULL;
        if (names) {
            for (size_t j = 0; j < nc; j++)
                names[j] = kl_frame_col_name(in, j);
            near = kl_suggest(p->columns[k].name, names, nc);
        }
        rc = kl_err_set(
            err, KL_ENOTFOUND, "a PII rule names column '%s', which the data lacks%s%s%s",
            p->columns[k].name, near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
        kl_err_ctx(err, "constraints.pii.columns");
        free(names);
        goto done;
    }
    /* The rule for spans found in columns no whole-cell rule covers, per entity. */
    kl_pii_policy span_pol[N_ENT];
    for (unsigned e = 0; e < N_ENT; e++) {
        const kl_pii_policy *r = entity_rule(p, (enum kl_pii_entity)e);
        span_pol[e] = r ? *r : p->fallback;
        if (e == KL_PII_ENTITY_NONE)
            span_pol[e].action = KL_PII_ACTION_KEEP;
    }
    int any_span = 0;
    for (unsigned e = 1; e < N_ENT; e++)
        any_span |= span_pol[e].action != KL_PII_ACTION_KEEP;
    if (report->n_columns != nc) {
        rc = kl_err_set(err, KL_EINVAL, "the PII report has %zu columns, the frame %zu",
                        report->n_columns, nc);
        goto done;
    }
    for (size_t j = 0; j < nc && rc == 0; j++) {
        const kl_pii_column *c = &report->columns[j];
        const char *name = kl_frame_col_name(in, j);
        enum kl_col_kind kind = kl_frame_col_kind(in, j);
        const kl_pii_policy *pol = column_rule(p, name);
        const char *rule = "column";
        enum kl_pii_entity e = c->flagged ? c->entity : KL_PII_ENTITY_NONE;
        if (!pol && c->flagged) {
            pol = entity_rule(p, c->entity);
            rule = pol ? "entity" : "default";
            if (!pol)
                pol = &p->fallback;
        }
        if (pol) {
            if (pol->action == KL_PII_ACTION_KEEP)
                continue;
            if (pol->action == KL_PII_ACTION_FAIL) {
                if (e != KL_PII_ENTITY_NONE)
                    rc = kl_err_set(err, KL_ECHECK,
                                    "column '%s' holds PII (%s, confidence %.2f) and its policy "
                                    "is fail",
                                    name, kl_pii_entity_name(e), c->confidence);
                else
                    rc = kl_err_set(err, KL_ECHECK, "column '%s' has the policy fail", name);
                kl_err_ctx(err, "%s", name);
                goto done;
            }
            if ((pol->action == KL_PII_ACTION_HASH) && !salt) {
                rc = kl_err_set(err, KL_EINVAL, "hashing column '%s' needs a salt", name);
                goto done;
            }
            size_t cells = c->present;
            if (pol->action == KL_PII_ACTION_DROP) {
                oc[j].dropped = 1;
            } else {
                oc[j].off = malloc((rows ? rows : 1) * sizeof *oc[j].off);
                if (!oc[j].off) {
                    rc = kl_err_set(err, KL_ENOMEM, "out of memory applying PII policies");
                    goto done;
                }
                rc = apply_whole(in, j, pol, e, salt, &oc[j], &cells);
                if (rc < 0) {
                    kl_err_set(err, rc, "out of memory applying PII policies");
                    goto done;
                }
            }
            if (log_add(log, name, e, pol, rule, 1, cells, 0) < 0) {
                rc = kl_err_set(err, KL_ENOMEM, "out of memory applying PII policies");
                goto done;
            }
            continue;
        }
        if (!any_span || (kind != KL_COL_KIND_TEXT && kind != KL_COL_KIND_CATEGORICAL))
            continue;
        for (unsigned q = 1; q < N_ENT; q++) {
            if (span_pol[q].action == KL_PII_ACTION_HASH && !salt && c->stats[q].matched) {
                rc = kl_err_set(err, KL_EINVAL, "hashing PII in column '%s' needs a salt", name);
                goto done;
            }
        }
        oc[j].off = malloc((rows ? rows : 1) * sizeof *oc[j].off);
        if (!oc[j].off) {
            rc = kl_err_set(err, KL_ENOMEM, "out of memory applying PII policies");
            goto done;
        }
        size_t cells[N_ENT], spans[N_ENT], fail_row = 0;
        enum kl_pii_entity fail_e = KL_PII_ENTITY_NONE;
        rc = apply_spans(in, j, c->hint, span_pol, salt, &oc[j], cells, spans, &fail_row, &fail_e);
        if (rc == KL_ECHECK) {
            kl_err_set(err, KL_ECHECK,
                       "column '%s' holds PII (%s in row %zu) and its policy is fail", name,
                       kl_pii_entity_name(fail_e), fail_row + 1);
            kl_err_ctx(err, "%s", name);
            goto done;
        }
        if (rc < 0) {
            kl_err_set(err, rc, "out of memory applying PII policies");
            goto done;
        }
        /* One log entry per entity whose spans were changed in this column. */
        for (unsigned q = 1; q < N_ENT && oc[j].changed; q++) {
            if (!spans[q])
                continue;
            const kl_pii_policy *r = entity_rule(p, (enum kl_pii_entity)q);
            if (log_add(log, name, (enum kl_pii_entity)q, &span_pol[q], r ? "entity" : "default", 0,
                        cells[q], spans[q]) < 0) {
                rc = kl_err_set(err, KL_ENOMEM, "out of memory applying PII policies");
                goto done;
            }
        }
    }
    o = kl_frame_new(rows);
    if (!o) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory applying PII policies");
        goto done;
    }
    for (size_t j = 0; j < nc; j++) {
        if (oc[j].dropped)
            continue;
        rc = oc[j].changed ? add_transformed(o, in, j, &oc[j], err) : copy_column(o, in, j, err);
        if (rc < 0)
            goto done;
    }
    kl_frame_set_infer_version(o, kl_frame_infer_version(in));
    *out = o;
    o = NULL;
done:
    if (oc)
        for (size_t j = 0; j < nc; j++) {
            free(oc[j].off);
            free(oc[j].buf.p);
        }
    free(oc);
    kl_frame_free(o);
    kl_pii_report_release(&own);
    if (rc < 0 && log)
        kl_pii_log_release(log);
    return rc < 0 ? rc : 0;
}

int kl_pii_protect(const kl_frame *in, const kl_spec *spec, const char *project_dir, kl_frame **out,
                   kl_pii_log *log, kl_err *err)
{
    kl_pii_policies p;
    uint8_t salt[KL_PII_SALT_LEN];
    int active, hashes;
    kl_pii_policies_from_spec(spec, &p);
    *out = NULL;
    if (log)
        memset(log, 0, sizeof *log);
    active = p.fallback.action != KL_PII_ACTION_KEEP;
    hashes = p.fallback.action == KL_PII_ACTION_HASH;
    for (size_t k = 0; k < p.n_columns; k++) {
        active |= p.columns[k].policy.action != KL_PII_ACTION_KEEP;
        hashes |= p.columns[k].policy.action == KL_PII_ACTION_HASH;
    }
    for (size_t k = 0; k < p.n_entities; k++) {
        active |= p.entities[k].policy.action != KL_PII_ACTION_KEEP;
        hashes |= p.entities[k].policy.action == KL_PII_ACTION_HASH;
    }
    if (!active) {
        *out = kl_frame_dup(in);
        return *out ? 0 : kl_err_set(err, KL_ENOMEM, "out of memory copying the data");
    }
    if (hashes) {
        int rc = kl_pii_salt_load(project_dir, salt, err);
        if (rc < 0)
            return rc;
    }
    return kl_pii_apply(in, NULL, &p, hashes ? salt : NULL, out, log, err);
}

/* ---- the salt ---- */

static int salt_read(int fd, const char *path, uint8_t salt[KL_PII_SALT_LEN], kl_err *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return kl_err_set(err, KL_EIO, "cannot stat '%s': %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return kl_err_set(err, KL_ECORRUPT, "'%s' is not a regular file", path);
    if (st.st_mode & 077)
        return kl_err_set(err, KL_EIO,
                          "'%s' may be read or written by others (mode %04o); it must be 0600",
                          path, (unsigned)(st.st_mode & 07777));
    if (st.st_size != KL_PII_SALT_LEN)
        return kl_err_set(err, KL_ECORRUPT, "'%s' holds %lld bytes, not %d", path,
                          (long long)st.st_size, KL_PII_SALT_LEN);
    size_t got = 0;
    while (got < KL_PII_SALT_LEN) {
        ssize_t r = read(fd, salt + got, KL_PII_SALT_LEN - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return kl_err_set(err, KL_EIO, "cannot read '%s'", path);
        got += (size_t)r;
    }
    return 0;
}

static int ensure_dir(const char *path, mode_t mode, int private_dir, kl_err *err)
{
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return kl_err_set(err, KL_EIO, "cannot create '%s': %s", path, strerror(errno));
    struct stat st;
    if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return kl_err_set(err, KL_EIO, "'%s' is not a directory", path);
    if (private_dir && (st.st_mode & 077) && chmod(path, 0700) < 0)
        return kl_err_set(err, KL_EIO, "cannot make '%s' private: %s", path, strerror(errno));
    return 0;
}

int kl_pii_salt_load(const char *project_dir, uint8_t salt[KL_PII_SALT_LEN], kl_err *err)
{
    char keel[4096], dir[4096], path[4096];
    int rc;
    if (snprintf(keel, sizeof keel, "%s/.keel", project_dir) >= (int)sizeof keel ||
        snprintf(dir, sizeof dir, "%s/.keel/secrets", project_dir) >= (int)sizeof dir ||
        snprintf(path, sizeof path, "%s/.keel/secrets/pii_salt", project_dir) >= (int)sizeof path)
        return kl_err_set(err, KL_EINVAL, "project path '%s' is too long", project_dir);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        rc = salt_read(fd, path, salt, err);
        close(fd);
        return rc;
    }
    if (errno != ENOENT)
        return kl_err_set(err, KL_EIO, "cannot open '%s': %s", path, strerror(errno));
    if ((rc = ensure_dir(keel, 0755, 0, err)) < 0 || (rc = ensure_dir(dir, 0700, 1, err)) < 0)
        return rc;
    uint8_t fresh[KL_PII_SALT_LEN];
    size_t got = 0;
    while (got < sizeof fresh) {
        ssize_t r = getrandom(fresh + got, sizeof fresh - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return kl_err_set(err, KL_EIO, "cannot draw random bytes: %s", strerror(errno));
        got += (size_t)r;
    }
    /*
     * Written in full under a temporary name, then linked into place: link
     * fails if the salt exists, so two processes starting at once agree on
     * one salt and neither ever reads a half-written file.
     */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return kl_err_set(err, KL_EIO, "cannot create '%s': %s", tmp, strerror(errno));
    int ok = fchmod(fd, 0600) == 0 && write(fd, fresh, sizeof fresh) == (ssize_t)sizeof fresh &&
             fsync(fd) == 0;
    ok &= close(fd) == 0;
    if (!ok) {
        unlink(tmp);
        return kl_err_set(err, KL_EIO, "cannot write '%s'", tmp);
    }
    int linked = link(tmp, path) == 0, lerr = errno;
    unlink(tmp);
    if (!linked && lerr == EEXIST) {
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return kl_err_set(err, KL_EIO, "cannot open '%s': %s", path, strerror(errno));
        rc = salt_read(fd, path, salt, err);
        close(fd);
        return rc;
    }
    if (!linked)
        return kl_err_set(err, KL_EIO, "cannot create '%s': %s", path, strerror(lerr));
    memcpy(salt, fresh, sizeof fresh);
    return 0;
}
