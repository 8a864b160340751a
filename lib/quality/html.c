/*
 * The profile as one self-contained HTML page: overview, alerts, one
 * section per column with its chart, and an association heat map.
 *
 * Invariants: the page references nothing outside itself (styles are inline,
 * charts are inline SVG from svg.c, no scripts, no URLs), every text from the
 * data is escaped, and every element opened is closed, so the file opens
 * offline in any browser and parses as XML-balanced markup.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/profile.h"
#include "keel/svg.h"
#include "profile_internal.h"
#include "core/common.h"

static const char style[] = "body{font-family:sans-serif;margin:2em;color:#222}"
                            "table{border-collapse:collapse;margin:0.5em 0}"
                            "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}"
                            "td.n{text-align:right}"
                            ".col{border-top:2px solid #4c78a8;margin-top:1.5em;padding-top:0.5em}"
                            ".alert{color:#b00}";

static void esc(FILE *fp, const char *s)
{
    kl_svg_escape(fp, s);
}

static void row_num(FILE *fp, const char *name, double v)
{
    fprintf(fp, "<tr><th>%s</th><td class=\"n\">", name);
    if (isfinite(v))
        fprintf(fp, "%.6g", v);
    else
        fputs("-", fp);
    fputs("</td></tr>", fp);
}

static void row_count(FILE *fp, const char *name, size_t v)
{
    fprintf(fp, "<tr><th>%s</th><td class=\"n\">%zu</td></tr>", name, v);
}

static void alert_text(FILE *fp, const kl_profile *p, const kl_profile_alert *a)
{
    fprintf(fp, "<li class=\"alert\">%s", kl_profile_alert_name(a->kind));
    if (a->column >= 0) {
        fputs(": ", fp);
        esc(fp, p->columns[a->column].name);
    }
    if (a->column2 >= 0) {
        fputs(a->kind == KL_PROFILE_ALERT_TARGET_LEAKAGE ? " predicts " : " ~ ", fp);
        esc(fp, p->columns[a->column2].name);
    }
    if (a->kind == KL_PROFILE_ALERT_EMPTY || a->kind == KL_PROFILE_ALERT_CONSTANT ||
        a->kind == KL_PROFILE_ALERT_UNIQUE || a->kind == KL_PROFILE_ALERT_CONSTANT_LENGTH)
        fputs("</li>", fp);
    else
        fprintf(fp, " (%.4g; threshold %.4g)</li>", a->value, a->threshold);
}

static void column_html(FILE *fp, const kl_profile *p, size_t j)
{
    const kl_profile_column *c = &p->columns[j];
    fputs("<div class=\"col\"><h3>", fp);
    esc(fp, c->name);
    fprintf(fp, " <small>%s</small></h3><table>", kl_type_name(c->type));
    row_count(fp, "count", c->count);
    row_count(fp, "missing", c->missing);
    row_count(fp, "distinct", c->distinct);
    if (c->has_numeric) {
        row_num(fp, "mean", c->mean);
        row_num(fp, "std", c->std);
        row_num(fp, "min", c->min);
        static const char *const qn[] = {"1%", "5%", "25%", "50%", "75%", "95%", "99%"};
        for (int k = 0; k < KL_PROFILE_N_QUANTILES; k++)
            row_num(fp, qn[k], c->quantiles[k]);
        row_num(fp, "max", c->max);
        row_num(fp, "skewness", c->skewness);
        row_num(fp, "kurtosis", c->kurtosis);
        row_count(fp, "zeros", c->zeros);
        row_count(fp, "infinite", c->infinite);
    }
    if (c->kind == KL_COL_KIND_TEXT) {
        row_count(fp, "length min", c->len_min);
        row_count(fp, "length max", c->len_max);
        row_num(fp, "length mean", c->len_mean);
    }
    if (c->kind == KL_COL_KIND_TIME && c->count) {
        char a[40], b[40];
        kl__profile_time_str(c->t_min, a, sizeof a);
        kl__profile_time_str(c->t_max, b, sizeof b);
        fprintf(fp, "<tr><th>range</th><td>%s to %s</td></tr>", a, b);
        row_num(fp, "largest gap (s)", (double)c->gap_max / 1e6);
        row_num(fp, "irregular gaps", c->irregular);
    }
    if (isfinite(c->target_assoc))
        fprintf(fp, "<tr><th>target (%s)</th><td class=\"n\">%.4f</td></tr>",
                kl_profile_measure_name(c->target_measure), c->target_assoc);
    fputs("</table>", fp);
    if (c->has_numeric && c->n_bins) {
        kl_svg_histogram(fp, c->bins, c->n_bins, c->bin_lo, c->bin_hi, 400, 140);
    } else if (c->kind == KL_COL_KIND_TIME && c->n_periods) {
        double xs[1024], ys[1024];
        size_t n = KL_MIN(c->n_periods, KL_ARRAY_LEN(xs));
        for (size_t k = 0; k < n; k++) {
            xs[k] = (double)k;
            ys[k] = (double)c->period_count[k];
        }
        fprintf(fp, "<p>values per %s</p>", c->period);
        kl_svg_line(fp, xs, ys, n, 400, 120);
    } else if (c->n_top) {
        const char *labels[KL_PROFILE_TOP];
        double values[KL_PROFILE_TOP];
        for (size_t k = 0; k < c->n_top; k++) {
            labels[k] = c->top[k].value;
            values[k] = (double)c->top[k].count;
        }
        kl_svg_bars(fp, labels, values, c->n_top, 400);
    }
    fputs("</div>", fp);
}

int kl_profile_html(const kl_profile *p, const char *title, FILE *fp, kl_err *err)
{
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"/><title>", fp);
    esc(fp, title);
    fprintf(fp, "</title><style>%s</style></head><body><h1>", style);
    esc(fp, title);
    fputs("</h1><h2>Overview</h2><table>", fp);
    row_count(fp, "rows", p->rows);
    row_count(fp, "columns", p->n_columns);
    row_count(fp, "missing cells", p->missing_cells);
    row_count(fp, "duplicate rows", p->duplicate_rows);
    row_count(fp, "memory (bytes)", p->memory_bytes);
    if (p->target >= 0) {
        fputs("<tr><th>target</th><td>", fp);
        esc(fp, p->columns[p->target].name);
        fputs("</td></tr>", fp);
    }
    fprintf(fp, "</table><h2>Alerts (%zu)</h2><ul>", p->n_alerts);
    for (size_t a = 0; a < p->n_alerts; a++)
        alert_text(fp, p, &p->alerts[a]);
    fputs("</ul><h2>Association</h2><p>Pearson for numeric pairs, Cram&#233;r's V for "
          "categorical pairs, correlation ratio for mixed pairs.</p>",
          fp);
    size_t m = p->n_columns, k = 0;
    size_t *idx = malloc((m ? m : 1) * sizeof *idx);
    const char **labels = malloc((m ? m : 1) * sizeof *labels);
    double *v = malloc((m ? m * m : 1) * sizeof *v);
    if (!idx || !labels || !v) {
        free(idx);
        free(labels);
        free(v);
        return kl_err_set(err, KL_ENOMEM, "out of memory while writing the HTML report");
    }
    {
        for (size_t j = 0; j < m; j++) {
            enum kl_col_kind kind = p->columns[j].kind;
            if (kind != KL_COL_KIND_TEXT && kind != KL_COL_KIND_TIME)
                idx[k++] = j;
        }
        for (size_t a = 0; a < k; a++) {
            labels[a] = p->columns[idx[a]].name;
            for (size_t b = 0; b < k; b++)
                v[a * k + b] = p->assoc[idx[a] * m + idx[b]];
        }
        kl_svg_heatmap(fp, labels, v, k, k > 40 ? 10 : 20);
    }
    free(idx);
    free(labels);
    free(v);
    fputs("<h2>Variables</h2>", fp);
    for (size_t j = 0; j < m; j++)
        column_html(fp, p, j);
    fputs("</body></html>\n", fp);
    if (fflush(fp) != 0 || ferror(fp))
        return kl_err_set(err, KL_EIO, "cannot write the HTML report");
    return 0;
}
