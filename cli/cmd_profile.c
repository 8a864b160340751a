/*
 * keel profile: statistics, associations and alerts for a CSV file, as a
 * terminal summary, JSON (--json) or a self-contained HTML report (--html).
 * The work is kl_profile_compute; this file reads the input, picks the
 * target and thresholds from keel.yaml or the options, and prints.
 */
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keel/csv.h"
#include "keel/frame.h"
#include "keel/hash.h"
#include "keel/profile.h"
#include "keel/snapshot.h"
#include "keel/spec.h"
#include "keel/store.h"
#include "keel.h"
#include "core/common.h"

static int print_json(json_t *v)
{
    if (!v)
        return kl_cli_error(KL_EXIT_INPUT, "out of memory while writing JSON");
    int rc = json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(v);
    fputc('\n', stdout);
    return rc == 0 ? KL_EXIT_OK : kl_cli_error(KL_EXIT_INPUT, "cannot write JSON to stdout");
}

/* keel.yaml's 0 means "any": the library reads 0 as its default, so pass the least positive. */
static double given(double v)
{
    return v > 0 ? v : DBL_MIN;
}

static void fmt_num(char *buf, size_t n, double v)
{
    if (isfinite(v))
        snprintf(buf, n, "%.4g", v);
    else
        snprintf(buf, n, "-");
}

static void alert_line(const kl_profile *p, const kl_profile_alert *a)
{
    printf("  %-17s", kl_profile_alert_name(a->kind));
    if (a->column >= 0)
        printf(" %s", p->columns[a->column].name);
    if (a->column2 >= 0)
        printf(a->kind == KL_PROFILE_ALERT_TARGET_LEAKAGE ? " predicts %s" : " ~ %s",
               p->columns[a->column2].name);
    switch (a->kind) {
    case KL_PROFILE_ALERT_EMPTY:
    case KL_PROFILE_ALERT_CONSTANT:
    case KL_PROFILE_ALERT_UNIQUE:
        printf("\n");
        break;
    case KL_PROFILE_ALERT_CONSTANT_LENGTH:
        printf("  (length %.0f)\n", a->value);
        break;
    default:
        printf("  (%.4g > %.4g)\n", a->value, a->threshold);
    }
}

static void report_text(const char *path, const kl_profile *p)
{
    printf("Profile of '%s': %zu rows, %zu columns, %zu missing cells, %zu duplicate rows, "
           "%.1f MiB\n",
           path, p->rows, p->n_columns, p->missing_cells, p->duplicate_rows,
           (double)p->memory_bytes / 1048576.0);
    if (p->target >= 0)
        printf("Target: %s\n", p->columns[p->target].name);
    printf("\n");
    struct kl_table *t = kl_table_new(10);
    const char *head[] = {"column", "type", "missing", "distinct", "mean",
                          "std",    "min",  "median",  "max",      "top"};
    kl_table_add(t, head);
    for (size_t j = 2; j < 9; j++)
        kl_table_align_right(t, j);
    for (size_t j = 0; j < p->n_columns; j++) {
        const kl_profile_column *c = &p->columns[j];
        char miss[32], dist[32], mean[32] = "", sd[32] = "", mn[32] = "", med[32] = "", mx[32] = "",
                                 top[96] = "";
        snprintf(miss, sizeof miss, "%.1f%%",
                 p->rows ? 100.0 * (double)c->missing / (double)p->rows : 0);
        snprintf(dist, sizeof dist, "%zu", c->distinct);
        if (c->has_numeric) {
            fmt_num(mean, sizeof mean, c->mean);
            fmt_num(sd, sizeof sd, c->std);
            fmt_num(mn, sizeof mn, c->min);
            fmt_num(med, sizeof med, c->quantiles[3]);
            fmt_num(mx, sizeof mx, c->max);
        }
        if (c->n_top)
            snprintf(top, sizeof top, "%.40s (%zu)", c->top[0].value, c->top[0].count);
        const char *row[] = {c->name, kl_type_name(c->type), miss, dist, mean, sd, mn, med, mx,
                             top};
        kl_table_add(t, row);
    }
    kl_table_print(t, stdout, 40);
    kl_table_free(t);
    printf("\nAlerts (%zu):\n", p->n_alerts);
    for (size_t a = 0; a < p->n_alerts; a++)
        alert_line(p, &p->alerts[a]);
    if (!p->n_alerts)
        printf("  none\n");
}

/*
 * The lineage relation naming the stored profile of a snapshot under these
 * options: "profile/1/" and 16 hex digits of SHA-256 over the requested
 * target and the thresholds, so other options make (and reuse) another one.
 */
static void profile_key(const kl_profile_opts *o, char *buf, size_t n)
{
    const kl_profile_thresholds *t = &o->thresholds;
    char text[1024];
    snprintf(text, sizeof text, "%s|%.17g|%.17g|%.17g|%.17g|%.17g|%.17g|%.17g|%.17g|%.17g|%.17g",
             o->target ? o->target : "", t->missing, t->zeros, t->infinite, t->duplicates,
             t->skewed, t->high_cardinality, t->imbalance, t->high_correlation, t->leakage,
             t->date_like);
    uint8_t h[KL_SHA256_LEN];
    char hex[KL_SHA256_HEX_LEN + 1];
    kl_sha256(text, strlen(text), h);
    kl_hex(h, 8, hex);
    snprintf(buf, n, "profile/1/%.16s", hex);
}

/* The profile stored for snapshot id under key: 1 and *out, 0 when none, or an error. */
static int profile_stored(kl_store *s, const char *id, const char *key, kl_profile **out,
                          kl_err *err)
{
    kl_lineage l = {0};
    int rc = kl_store_lineage(s, "snapshot", id, KL_LINEAGE_DIR_DESCENDANTS, 1, &l, err);
    if (rc < 0)
        return rc;
    char obj[KL_ID_LEN] = "";
    for (size_t k = 0; k < l.count; k++) {
        const kl_lineage_edge *e = &l.edges[k];
        if (strcmp(e->from_kind, "snapshot") == 0 && strcmp(e->from_id, id) == 0 &&
            strcmp(e->to_kind, "object") == 0 && strcmp(e->relation, key) == 0)
            snprintf(obj, sizeof obj, "%s", e->to_id);
    }
    kl_lineage_release(&l);
    if (!obj[0])
        return 0;
    void *data = NULL;
    size_t n = 0;
    if ((rc = kl_store_get(s, obj, 0, &data, &n, err)) < 0)
        return rc;
    json_error_t je;
    json_t *j = json_loadb(data, n, 0, &je);
    free(data);
    if (!j)
        return kl_err_set(err, KL_ECORRUPT, "stored profile %.12s is not JSON: %s", obj, je.text);
    rc = kl_profile_from_json(j, out, err);
    json_decref(j);
    return rc < 0 ? rc : 1;
}

/* Store p as an object linked from snapshot id under key. */
static int profile_store(kl_store *s, const char *id, const char *key, const kl_profile *p,
                         kl_err *err)
{
    json_t *j = kl_profile_json(p);
    char *text =
        j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(j);
    if (!text)
        return kl_err_set(err, KL_ENOMEM, "out of memory while storing the profile");
    char obj[KL_ID_LEN];
    int rc = kl_store_put(s, text, strlen(text), obj, err);
    free(text);
    if (rc == 0)
        rc = kl_store_link(s, "snapshot", id, "object", obj, key, err);
    return rc;
}

/*
 * Profile the snapshot text names, when no file has that name and the
 * project has a store: the stored profile for these options when there is
 * one, else computed from the snapshot and stored. Returns 1 and *out, 0
 * when text names no snapshot, or an error.
 */
static int profile_snapshot(const struct kl_cli *cli, const char *text, kl_profile_opts *o,
                            int target_given, kl_profile **out, kl_err *err)
{
    kl_store *s = NULL;
    if (kl_store_open(cli->dir, NULL, &s, err) < 0) {
        *err = (kl_err){0};
        return 0;
    }
    kl_ref ref;
    int rc = kl_store_resolve(s, "snapshot", text, &ref, err);
    if (rc == KL_ENOTFOUND) {
        kl_store_close(s);
        *err = (kl_err){0};
        return 0;
    }
    char key[64];
    profile_key(o, key, sizeof key);
    if (rc == 0)
        rc = profile_stored(s, ref.id, key, out, err);
    if (rc == 0) {
        kl_frame *f = NULL;
        rc = kl_snapshot_load(s, ref.id, &f, err);
        if (rc == 0 && o->target && kl_frame_col_index(f, o->target) < 0 && !target_given)
            o->target = NULL;
        if (rc == 0)
            rc = kl_profile_compute(f, o, out, err);
        kl_frame_free(f);
        if (rc == 0)
            rc = profile_store(s, ref.id, key, *out, err);
        if (rc == 0)
            rc = 1;
    }
    kl_store_close(s);
    if (rc < 0) {
        kl_profile_free(*out);
        *out = NULL;
    }
    return rc;
}

static int cmd_profile(struct kl_cli *cli, int argc, char **argv)
{
    const char *spec_file = NULL, *target = NULL, *html = NULL;
    int no_spec = 0, json = 0;
    const struct kl_opt opts[] = {
        KL_OPT_STRING_("target", 't', "COLUMN", &target,
                       "the column to predict (default: keel.yaml's objective.target)"),
        KL_OPT_STRING_("html", 0, "FILE", &html, "also write a self-contained HTML report"),
        KL_OPT_STRING_("spec", 0, "FILE", &spec_file,
                       "read options from this spec (default: keel.yaml if present)"),
        KL_OPT_FLAG_("no-spec", 0, &no_spec, "ignore keel.yaml"),
        KL_OPT_JSON_(&json),
        KL_OPT_END_,
    };
    const struct kl_usage u = {
        "[options] [FILE|SNAPSHOT]",
        "Profile a CSV file, or a snapshot of the store when no file has that\n"
        "name (default: keel.yaml's data.source): per column its type, missing\n"
        "values, distinct and most common values, summary statistics,\n"
        "quantiles, histogram, text lengths or time range; duplicate rows;\n"
        "Pearson and Spearman correlations, Cramer's V and correlation ratios;\n"
        "each column's association with the target; and alerts with the\n"
        "thresholds of keel.yaml's constraints.alerts (docs/PROFILE.md).",
        opts, 0, 1};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    kl_err err = {0};
    kl_spec *spec = NULL;
    kl_csv_read_opts ropts = {0};
    char spec_path[4096], path[8192];
    kl_cli_path(cli, spec_file ? spec_file : "keel.yaml", spec_path, sizeof spec_path);
    if (!no_spec && (spec_file || access(spec_path, F_OK) == 0)) {
        if (kl_spec_load_file(spec_path, &spec, &err) < 0)
            return kl_cli_fail(&err);
        if (kl_spec_csv_opts(spec, &ropts, &err) < 0) {
            kl_spec_free(spec);
            return kl_cli_fail(&err);
        }
    }
    if (n_pos) {
        kl_cli_path(cli, pos[0], path, sizeof path);
    } else if (spec && spec->data.source) {
        char *slash = strrchr(spec_path, '/');
        if (spec->data.source[0] == '/' || !slash)
            snprintf(path, sizeof path, "%s", spec->data.source);
        else
            snprintf(path, sizeof path, "%.*s/%s", (int)(slash - spec_path), spec_path,
                     spec->data.source);
    } else {
        return kl_cli_error(KL_EXIT_USAGE,
                            "no FILE given and no keel.yaml with data.source here; see 'keel %s "
                            "--help'",
                            cli->path);
    }
    kl_profile_opts popts = {0};
    popts.target = target ? target : spec ? spec->objective.target : NULL;
    if (spec) {
        kl_profile_thresholds *t = &popts.thresholds;
        t->missing = given(spec->constraints.alerts.missing);
        t->zeros = given(spec->constraints.alerts.zeros);
        t->infinite = given(spec->constraints.alerts.infinite);
        t->duplicates = given(spec->constraints.alerts.duplicates);
        t->skewed = given(spec->constraints.alerts.skewed);
        t->high_cardinality = given(spec->constraints.alerts.high_cardinality);
        t->imbalance = given(spec->constraints.alerts.imbalance);
        t->high_correlation = given(spec->constraints.alerts.high_correlation);
        t->leakage = given(spec->constraints.alerts.leakage);
        t->date_like = given(spec->constraints.alerts.date_like);
    }
    kl_frame *f = NULL;
    kl_profile *p = NULL;
    rc = 0;
    if (n_pos && access(path, F_OK) != 0)
        rc = profile_snapshot(cli, pos[0], &popts, target != NULL, &p, &err);
    if (rc == 0) {
        kl_csv_report rep = {0};
        rc = kl_csv_read_file(path, &ropts, &f, &rep, &err);
        kl_csv_report_release(&rep);
    }
    if (rc == 0) {
        /* The spec's target may be absent from a file profiled on its own: profile without it. */
        if (!target && popts.target && kl_frame_col_index(f, popts.target) < 0)
            popts.target = NULL;
        rc = kl_profile_compute(f, &popts, &p, &err);
    }
    kl_frame_free(f);
    kl_spec_free(spec);
    if (rc < 0)
        return kl_cli_fail(&err);
    rc = KL_EXIT_OK;
    if (html) {
        char hpath[8192];
        kl_cli_path(cli, html, hpath, sizeof hpath);
        FILE *fp = fopen(hpath, "w");
        if (!fp) {
            kl_profile_free(p);
            return kl_cli_error(KL_EXIT_INPUT, "cannot write '%s'", hpath);
        }
        const char *base = strrchr(path, '/');
        char title[8300];
        snprintf(title, sizeof title, "Profile of %s", base ? base + 1 : path);
        int hr = kl_profile_html(p, title, fp, &err);
        if (fclose(fp) != 0 && hr == 0)
            hr = kl_err_set(&err, KL_EIO, "cannot write '%s'", hpath);
        if (hr < 0) {
            kl_profile_free(p);
            return kl_cli_fail(&err);
        }
    }
    if (json)
        rc = print_json(kl_profile_json(p));
    else
        report_text(n_pos ? pos[0] : path, p);
    kl_profile_free(p);
    return rc;
}

static const struct kl_cmd profile_cmd = {
    "profile", cmd_profile, "statistics, associations and alerts for a data set", 40, NULL};

KL_COMMANDS(profile, &profile_cmd);
