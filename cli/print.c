/*
 * Terminal tables: cells are collected first so each column can be padded to
 * its widest cell. Widths count UTF-8 code points, not bytes, so names with
 * accents line up. Long cells are cut to max_width with "...".
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "keel.h"
#include "core/common.h"

struct kl_table {
    size_t n_cols, n_rows, cap;
    char **cells; /* n_rows * n_cols, row-major */
    unsigned char *right;
};

struct kl_table *kl_table_new(size_t n_cols)
{
    struct kl_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->n_cols = n_cols;
    t->right = calloc(n_cols ? n_cols : 1, 1);
    if (!t->right) {
        free(t);
        return NULL;
    }
    return t;
}

void kl_table_free(struct kl_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->right);
    free(t);
}

int kl_table_add(struct kl_table *t, const char *const *cells)
{
    if (t->n_rows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **nc = realloc(t->cells, cap * t->n_cols * sizeof *nc);
        if (!nc)
            return -1;
        t->cells = nc;
        t->cap = cap;
    }
    char **row = t->cells + t->n_rows * t->n_cols;
    for (size_t j = 0; j < t->n_cols; j++) {
        row[j] = strdup(cells[j] ? cells[j] : "");
        if (!row[j]) {
            while (j > 0)
                free(row[--j]);
            return -1;
        }
    }
    t->n_rows++;
    return 0;
}

void kl_table_align_right(struct kl_table *t, size_t j)
{
    if (j < t->n_cols)
        t->right[j] = 1;
}

/* Display width: UTF-8 continuation bytes do not count. */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

/* Bytes of s that fit in w display columns. */
static size_t prefix_bytes(const char *s, size_t w)
{
    size_t i = 0, seen = 0;
    while (s[i]) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            if (seen == w)
                break;
            seen++;
        }
        i++;
    }
    return i;
}

void kl_table_print(const struct kl_table *t, FILE *fp, size_t max_width)
{
    if (max_width < 4)
        max_width = 4;
    size_t *w = calloc(t->n_cols ? t->n_cols : 1, sizeof *w);
    if (!w)
        return;
    size_t line_cap = 1;
    for (size_t i = 0; i < t->n_rows; i++)
        for (size_t j = 0; j < t->n_cols; j++) {
            size_t cw = width(t->cells[i * t->n_cols + j]);
            w[j] = KL_MAX(w[j], KL_MIN(cw, max_width));
        }
    for (size_t j = 0; j < t->n_cols; j++)
        line_cap += (w[j] + 2) * 4; /* a code point takes at most 4 bytes */
    char *line = malloc(line_cap);
    if (!line) {
        free(w);
        return;
    }
    for (size_t i = 0; i < t->n_rows; i++) {
        size_t len = 0;
        for (size_t j = 0; j < t->n_cols; j++) {
            const char *c = t->cells[i * t->n_cols + j];
            size_t cw = width(c);
            int cut = cw > max_width;
            size_t shown = cut ? max_width - 3 : cw;
            size_t pad = w[j] - (cut ? max_width : cw), nb = prefix_bytes(c, shown);
            if (t->right[j]) {
                memset(line + len, ' ', pad);
                len += pad;
            }
            memcpy(line + len, c, nb);
            len += nb;
            if (cut) {
                memcpy(line + len, "...", 3);
                len += 3;
            }
            if (!t->right[j]) {
                memset(line + len, ' ', pad);
                len += pad;
            }
            if (j + 1 < t->n_cols) {
                memcpy(line + len, "  ", 2);
                len += 2;
            }
        }
        while (len > 0 && line[len - 1] == ' ')
            len--;
        fwrite(line, 1, len, fp);
        fputc('\n', fp);
    }
    free(line);
    free(w);
}

int kl_cli_json_print(json_t *v)
{
    if (!v)
        return kl_cli_error(KL_EXIT_INPUT, "out of memory while writing JSON");
    int rc = json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(v);
    fputc('\n', stdout);
    return rc == 0 ? KL_EXIT_OK : kl_cli_error(KL_EXIT_INPUT, "cannot write JSON to stdout");
}
