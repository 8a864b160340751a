/*
 * keel check: run every data constraint of keel.yaml (schema, PII, protected
 * columns, proxies, representation, terms of use, expectations) on a data
 * source and print one report. Exit 1 when anything is violated; warnings
 * (proxies, small groups, PII kept on purpose) are printed and exit 0.
 * The checks live in the library (kl_check_run); this file reads the data
 * the way `keel data schema` does and prints.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keel/constraints.h"
#include "keel/csv.h"
#include "keel/frame.h"
#include "keel/spec.h"
#include "data_read.h"
#include "keel.h"
#include "core/common.h"

/*
 * The spec (required) and the data: DATA, or the spec's data.source, read
 * by the shared reader (cli/data_read.h) with the spec's CSV options.
 */
static int read_input(const struct kl_cli *cli, const struct kl_data_read_args *a, const char *file,
                      kl_spec **spec, kl_frame **f, char *path, size_t n, const char **source)
{
    char spec_path[4096];
    kl_cli_path(cli, a->spec_file ? a->spec_file : "keel.yaml", spec_path, sizeof spec_path);
    *spec = NULL;
    if (!a->spec_file && access(spec_path, F_OK) != 0)
        return kl_cli_error(KL_EXIT_INPUT,
                            "no keel.yaml in '%s': keel check needs a spec (see 'keel init')",
                            cli->dir);
    kl_csv_report rep = {0};
    int rc = kl_data_read(cli, a, file, f, &rep, spec, path, n);
    kl_csv_report_release(&rep);
    if (rc != KL_EXIT_OK)
        return rc;
    *source = file ? file : (*spec)->data.source;
    return KL_EXIT_OK;
}

static int print_json(json_t *v)
{
    if (!v)
        return kl_cli_error(KL_EXIT_INPUT, "out of memory while writing JSON");
    int rc = json_dumpf(v, stdout,
                        JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII |
                            JSON_REAL_PRECISION(6));
    json_decref(v);
    fputc('\n', stdout);
    return rc == 0 ? KL_EXIT_OK : kl_cli_error(KL_EXIT_INPUT, "cannot write JSON to stdout");
}

/* A short summary of what a section looked at. */
static void section_detail(const kl_check_report *r, const kl_spec *s, size_t i, char *buf,
                           size_t n)
{
    buf[0] = '\0';
    switch (i) {
    case 1: {
        size_t flagged = 0;
        for (size_t k = 0; k < r->pii_report.n_columns; k++)
            flagged += r->pii_report.columns[k].flagged != 0;
        snprintf(buf, n, "%zu column%s flagged", flagged, flagged == 1 ? "" : "s");
        break;
    }
    case 2:
        for (size_t k = 0; k < s->constraints.n_protected_columns; k++) {
            size_t len = strlen(buf);
            snprintf(buf + len, n - len, "%s%s", k ? ", " : "",
                     s->constraints.protected_columns[k]);
        }
        break;
    case 3:
        if (r->proxy_report.n)
            snprintf(buf, n, "%zu of %zu pairs flagged", r->proxy_report.n_flagged,
                     r->proxy_report.n);
        break;
    case 4: {
        size_t small = 0, groups = 0;
        for (size_t k = 0; k < r->represent_report.n_tables; k++) {
            small += r->represent_report.tables[k].n_small;
            groups += r->represent_report.tables[k].n_groups;
        }
        if (r->represent_report.n_tables)
            snprintf(buf, n, "%zu of %zu groups small", small, groups);
        break;
    }
    case 6:
        if (r->expect_report.n)
            snprintf(buf, n, "%zu of %zu failed", r->expect_report.n_failed, r->expect_report.n);
        break;
    default:
        break;
    }
}

static void print_sections(const kl_check_report *r, const kl_spec *s)
{
    const char *names[] = {"schema",         "pii",   "protected",   "proxies",
                           "representation", "terms", "expectations"};
    enum kl_check_status v[] = {r->schema,         r->pii,   r->protected_,  r->proxies,
                                r->representation, r->terms, r->expectations};
    struct kl_table *t = kl_table_new(3);
    const char *head[] = {"check", "status", "details"};
    kl_table_add(t, head);
    for (size_t i = 0; i < KL_ARRAY_LEN(names); i++) {
        char detail[512];
        section_detail(r, s, i, detail, sizeof detail);
        const char *row[] = {names[i], kl_check_status_name(v[i]), detail};
        kl_table_add(t, row);
    }
    kl_table_print(t, stdout, 60);
    kl_table_free(t);
}

static void print_representation(const kl_represent_report *rep)
{
    if (!rep->n_tables && !rep->n_skipped)
        return;
    printf("\nrepresentation: %zu rows, min_group_share %g, 95%% Wilson half-width at p = %g\n",
           rep->rows, rep->min_group_share, rep->p);
    struct kl_table *t = kl_table_new(6);
    const char *head[] = {"attribute", "group", "rows", "share", "half-width", ""};
    kl_table_add(t, head);
    kl_table_align_right(t, 2);
    kl_table_align_right(t, 3);
    kl_table_align_right(t, 4);
    for (size_t k = 0; k < rep->n_tables; k++) {
        const kl_group_table *tb = &rep->tables[k];
        char attr[256];
        if (tb->columns[1])
            snprintf(attr, sizeof attr, "%s x %s", tb->columns[0], tb->columns[1]);
        else
            snprintf(attr, sizeof attr, "%s", tb->columns[0]);
        for (size_t g = 0; g < tb->n_groups; g++) {
            const kl_group *gr = &tb->groups[g];
            char group[256], count[32], share[32], half[32];
            const char *a = gr->values[0] ? gr->values[0] : "(missing)";
            if (tb->columns[1])
                snprintf(group, sizeof group, "%.120s & %.120s", a,
                         gr->values[1] ? gr->values[1] : "(missing)");
            else
                snprintf(group, sizeof group, "%s", a);
            snprintf(count, sizeof count, "%zu", gr->count);
            snprintf(share, sizeof share, "%.2f%%", 100 * gr->share);
            snprintf(half, sizeof half, "%.3f", gr->half_width);
            const char *row[] = {attr, group, count, share, half, gr->small ? "small" : ""};
            kl_table_add(t, row);
        }
    }
    kl_table_print(t, stdout, 40);
    kl_table_free(t);
    for (size_t i = 0; i < rep->n_skipped; i++)
        printf("skipped: %s\n", rep->skipped[i]);
}

static void print_findings(const kl_check_report *r)
{
    if (!r->n_findings)
        return;
    printf("\nfindings\n");
    for (size_t i = 0; i < r->n_findings; i++) {
        const kl_check_finding *x = &r->findings[i];
        printf("  %s %s: %s", x->status == KL_CHECK_STATUS_FAIL ? "FAIL" : "warn", x->section,
               x->msg);
        if (x->ctx[0])
            printf(" (%s)", x->ctx);
        putchar('\n');
    }
}

static int cmd_check(struct kl_cli *cli, int argc, char **argv)
{
    struct kl_data_read_args a = {0};
    const struct kl_opt opts[] = {
        KL_OPT_STRING_("spec", 0, "FILE", &a.spec_file,
                       "the spec to check against (default: keel.yaml)"),
        KL_OPT_STRING_("delimiter", 'd', "CHAR", &a.delimiter,
                       "field delimiter: , ; | or tab (default: keel.yaml's, else detect)"),
        KL_OPT_CHOICE_("on-bad-rows", 0, NULL, &a.on_bad_rows, kl_data_bad_rows_choices,
                       "stop at the first malformed row, or skip and count them"),
        KL_OPT_JSON_(&a.json), KL_OPT_END_};
    const struct kl_usage u = {
        "[options] [DATA]",
        "Check a data source (default: keel.yaml's data.source) against every\n"
        "constraint of keel.yaml: the schema (target, time, segment and id columns,\n"
        "declared types), PII and its policies, protected columns and the features\n"
        "that proxy them, group representation, terms of use, and expectations.\n"
        "Prints a report; exits 1 when a constraint is violated (warnings do not\n"
        "change the exit code). Rules and defaults: docs/CONSTRAINTS.md.",
        opts, 0, 1};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    kl_spec *spec = NULL;
    kl_frame *f = NULL;
    char path[8192];
    const char *source = NULL;
    rc = read_input(cli, &a, n_pos ? pos[0] : NULL, &spec, &f, path, sizeof path, &source);
    if (rc != KL_EXIT_OK) {
        kl_spec_free(spec);
        return rc;
    }
    kl_err err = {0};
    kl_check_report r;
    if (kl_check_run(f, spec, source, &r, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto done;
    }
    if (a.json) {
        json_t *o = kl_check_report_json(&r);
        if (o)
            json_object_set_new(o, "file", json_string(path));
        rc = print_json(o);
    } else {
        printf("check of '%s': %zu rows, %zu columns\n\n", path, r.rows, r.columns);
        print_sections(&r, spec);
        print_representation(&r.represent_report);
        print_findings(&r);
        printf("\n%zu violation%s, %zu warning%s\n", r.n_violations, r.n_violations == 1 ? "" : "s",
               r.n_warnings, r.n_warnings == 1 ? "" : "s");
    }
    if (rc == KL_EXIT_OK && r.n_violations)
        rc = KL_EXIT_CHECK;
    kl_check_report_release(&r);
done:
    kl_frame_free(f);
    kl_spec_free(spec);
    return rc;
}

static const struct kl_cmd check = {
    "check", cmd_check, "check data against keel.yaml's constraints (PII, fairness, terms)", 50,
    NULL};
KL_COMMANDS(check, &check);
