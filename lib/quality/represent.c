/*
 * Representation: how many rows each group of a protected attribute (or of
 * the segment column) has, and whether that is enough to measure anything
 * on the group.
 *
 * A group's share is compared with constraints.min_group_share; its size is
 * turned into the half-width of the 95% Wilson interval a proportion (an
 * accuracy, a selection rate) measured on it would have, at p = 0.5 before
 * any model exists (the widest case). Users read "±0.098 on 100 rows" more
 * easily than a share. Intersections of two attributes are where groups
 * get small fast (Fairlearn's MetricFrame with several sensitive features),
 * so every pair is tabulated too.
 *
 * Invariants: counts of a table sum to the row count (missing is a group of
 * its own, value NULL); pair tables leave out empty combinations.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/constraints.h"
#include "core/common.h"

double kl_wilson_half_width(double p, double n)
{
    if (!(n > 0))
        return 1.0;
    const double z = KL_WILSON_Z, z2 = z * z;
    return z * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
}

static void table_release(kl_group_table *t)
{
    for (size_t g = 0; g < t->n_groups; g++) {
        free(t->groups[g].values[0]);
        free(t->groups[g].values[1]);
    }
    free(t->groups);
    free(t->columns[0]);
    free(t->columns[1]);
}

void kl_represent_report_release(kl_represent_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_tables; i++)
        table_release(&r->tables[i]);
    free(r->tables);
    for (size_t i = 0; i < r->n_skipped; i++)
        free(r->skipped[i]);
    free(r->skipped);
    memset(r, 0, sizeof *r);
}

/* A grouped column: codes (-1 missing) and the names of its groups. */
typedef struct grouped {
    size_t j;
    const int32_t *codes; /* categorical */
    const uint8_t *bools; /* bool */
    const char *const *dict;
    size_t n_dict;
} grouped;

/* Pair tables larger than this are not built (two id-like columns would need n0 * n1 counts). */
#define MAX_CELLS ((size_t)1 << 22)

static const char *const bool_names[] = {"false", "true"};

/* Group of row i: 0..n_dict-1, or n_dict for missing. */
static size_t group_of(const grouped *c, size_t i)
{
    if (c->codes)
        return c->codes[i] < 0 ? c->n_dict : (size_t)c->codes[i];
    return c->bools[i] == KL_BOOL_MISSING ? c->n_dict : c->bools[i];
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Fill t's groups from counts[k0 * n1 + k1] (n1 = 1 for a single attribute). */
static int fill_table(kl_group_table *t, const grouped *a, const grouped *b, const size_t *counts,
                      size_t rows, double min_share, double p)
{
    size_t n0 = a->n_dict + 1, n1 = b ? b->n_dict + 1 : 1, used = 0;
    for (size_t k = 0; k < n0 * n1; k++)
        used += counts[k] > 0;
    t->groups = calloc(used ? used : 1, sizeof *t->groups);
    if (!t->groups)
        return KL_ENOMEM;
    for (size_t k0 = 0; k0 < n0; k0++) {
        for (size_t k1 = 0; k1 < n1; k1++) {
            size_t cnt = counts[k0 * n1 + k1];
            if (!cnt)
                continue;
            kl_group *g = &t->groups[t->n_groups++];
            g->count = cnt;
            g->share = rows ? (double)cnt / (double)rows : 0;
            g->half_width = kl_wilson_half_width(p, (double)cnt);
            g->small = g->share < min_share;
            t->n_small += g->small != 0;
            const char *v0 = k0 < a->n_dict ? a->dict[k0] : NULL;
            const char *v1 = b && k1 < b->n_dict ? b->dict[k1] : NULL;
            g->values[0] = dup_or_null(v0);
            g->values[1] = dup_or_null(v1);
            if ((v0 && !g->values[0]) || (v1 && !g->values[1]))
                return KL_ENOMEM;
        }
    }
    return 0;
}

static int add_table(kl_represent_report *r, const kl_frame *f, const grouped *a, const grouped *b,
                     double min_share, double p)
{
    size_t n = kl_frame_row_count(f);
    size_t n0 = a->n_dict + 1, n1 = b ? b->n_dict + 1 : 1;
    if (n1 > SIZE_MAX / n0 / sizeof(size_t))
        return KL_ENOMEM;
    size_t *counts = calloc(n0 * n1, sizeof *counts);
    if (!counts)
        return KL_ENOMEM;
    for (size_t i = 0; i < n; i++)
        counts[group_of(a, i) * n1 + (b ? group_of(b, i) : 0)]++;
    kl_group_table *t = &r->tables[r->n_tables++];
    memset(t, 0, sizeof *t);
    t->columns[0] = strdup(kl_frame_col_name(f, a->j));
    t->columns[1] = b ? strdup(kl_frame_col_name(f, b->j)) : NULL;
    int rc = !t->columns[0] || (b && !t->columns[1]) ? KL_ENOMEM : 0;
    if (rc == 0)
        rc = fill_table(t, a, b, counts, n, min_share, p);
    free(counts);
    return rc;
}

int kl_represent(const kl_frame *f, const char *const *cols, size_t n, double min_share, double p,
                 kl_represent_report *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    out->rows = kl_frame_row_count(f);
    out->min_group_share = min_share;
    out->p = p;
    grouped *g = calloc(n ? n : 1, sizeof *g);
    out->skipped = calloc(n ? n : 1, sizeof *out->skipped);
    out->tables = calloc(n + n * (n ? n - 1 : 0) / 2 + 1, sizeof *out->tables);
    int rc = g && out->skipped && out->tables ? 0 : KL_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        long j = kl_frame_col_index(f, cols[i]);
        if (j < 0) {
            free(g);
            kl_represent_report_release(out);
            return kl_err_set(err, KL_ENOTFOUND, "column '%s' is not in the data", cols[i]);
        }
        grouped c = {.j = (size_t)j};
        enum kl_col_kind kind = kl_frame_col_kind(f, c.j);
        if (kind == KL_COL_KIND_CATEGORICAL) {
            c.codes = kl_frame_col_codes(f, c.j);
            c.dict = kl_frame_col_dict(f, c.j, &c.n_dict);
        } else if (kind == KL_COL_KIND_BOOL) {
            c.bools = kl_frame_col_bool(f, c.j);
            c.dict = bool_names;
            c.n_dict = 2;
        } else {
            char buf[512];
            snprintf(buf, sizeof buf, "column '%s' is %s: no groups", cols[i],
                     kl_col_kind_name(kind));
            if (!(out->skipped[out->n_skipped++] = strdup(buf)))
                rc = KL_ENOMEM;
            continue;
        }
        g[m++] = c;
    }
    for (size_t i = 0; rc == 0 && i < m; i++)
        rc = add_table(out, f, &g[i], NULL, min_share, p);
    for (size_t i = 0; rc == 0 && i < m; i++) {
        for (size_t k = i + 1; rc == 0 && k < m; k++) {
            if ((g[i].n_dict + 1) * (g[k].n_dict + 1) <= MAX_CELLS) {
                rc = add_table(out, f, &g[i], &g[k], min_share, p);
                continue;
            }
            char buf[512];
            snprintf(buf, sizeof buf, "columns '%s' x '%s': too many combinations to tabulate",
                     kl_frame_col_name(f, g[i].j), kl_frame_col_name(f, g[k].j));
            char **sk = realloc(out->skipped, (out->n_skipped + 1) * sizeof *sk);
            if (!sk || !(sk[out->n_skipped] = strdup(buf)))
                rc = KL_ENOMEM;
            if (sk)
                out->skipped = sk;
            if (rc == 0)
                out->n_skipped++;
        }
    }
    free(g);
    if (rc < 0) {
        kl_represent_report_release(out);
        return kl_err_set(err, KL_ENOMEM, "out of memory computing representation");
    }
    return 0;
}
