/*
 * keel data schema|head: read a CSV file the way every other command will
 * (the keel.yaml data section's delimiter, missing tokens and type overrides
 * apply when a keel.yaml is present) and show what was inferred, or the
 * first rows.
 */
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "keel/csv.h"
#include "keel/frame.h"
#include "keel/hash.h"
#include "keel/spec.h"
#include "keel.h"
#include "core/common.h"

/* Options shared by the data commands. */
struct read_args {
    const char *delimiter;
    const char *on_bad_rows;
    const char *spec_file;
    int no_spec;
    int json;
};

static const char *const bad_rows_choices[] = {"error", "skip", NULL};

#define READ_OPTS_(a)                                                                              \
    KL_OPT_STRING_("delimiter", 'd', "CHAR", &(a).delimiter,                                       \
                   "field delimiter: , ; | or tab (default: detect)"),                            \
        KL_OPT_CHOICE_("on-bad-rows", 0, NULL, &(a).on_bad_rows, bad_rows_choices,                \
                       "stop at the first malformed row, or skip and count them"),                \
        KL_OPT_STRING_("spec", 0, "FILE", &(a).spec_file,                                          \
                       "read options from this spec (default: keel.yaml if present)"),            \
        KL_OPT_FLAG_("no-spec", 0, &(a).no_spec, "ignore keel.yaml"), KL_OPT_JSON_(&(a).json)

/*
 * Read the file named on the command line, or the spec's data source, with
 * the spec's CSV options and the command line's overrides.
 */
static int read_frame(const struct kl_cli *cli, const struct read_args *a, const char *file,
                      size_t max_rows, kl_frame **frame, kl_csv_report *report, char *shown,
                      size_t shown_n)
{
    kl_err err = {0};
    kl_spec *spec = NULL;
    kl_csv_read_opts opts = {0};
    char spec_path[4096], path[8192];
    const char *spec_name = a->spec_file ? a->spec_file : "keel.yaml";
    kl_cli_path(cli, spec_name, spec_path, sizeof spec_path);
    if (!a->no_spec && (a->spec_file || access(spec_path, F_OK) == 0)) {
        if (kl_spec_load_file(spec_path, &spec, &err) < 0)
            return kl_cli_fail(&err);
        kl_spec_csv_opts(spec, &opts, &err);
    }
    if (file) {
        kl_cli_path(cli, file, path, sizeof path);
    } else if (spec && spec->data.source) {
        char *slash = strrchr(spec_path, '/');
        if (spec->data.source[0] == '/' || !slash)
            snprintf(path, sizeof path, "%s", spec->data.source);
        else
            snprintf(path, sizeof path, "%.*s/%s", (int)(slash - spec_path), spec_path,
                     spec->data.source);
    } else {
        kl_spec_free(spec);
        return kl_cli_error(KL_EXIT_USAGE,
                            "no FILE given and no keel.yaml with data.source here; see 'keel %s "
                            "--help'",
                            cli->path);
    }
    if (a->delimiter) {
        const char *d = a->delimiter;
        if (strcmp(d, "tab") == 0 || strcmp(d, "\\t") == 0)
            opts.delimiter = '\t';
        else if (strlen(d) == 1 && strchr(",;|\t", d[0]))
            opts.delimiter = d[0];
        else {
            kl_spec_free(spec);
            return kl_cli_error(KL_EXIT_USAGE,
                                "option '--delimiter' takes , ; | or tab, not '%s'", d);
        }
    }
    if (a->on_bad_rows && strcmp(a->on_bad_rows, "skip") == 0)
        opts.on_bad_rows = KL_CSV_BAD_ROWS_SKIP;
    opts.max_rows = max_rows;
    snprintf(shown, shown_n, "%s", path);
    int rc = kl_csv_read_file(path, &opts, frame, report, &err);
    kl_spec_free(spec);
    if (rc < 0)
        return kl_cli_fail(&err);
    if (!a->json)
        for (size_t i = 0; i < report->n_warnings; i++)
            kl_cli_warn("%s", report->warnings[i]);
    return KL_EXIT_OK;
}

static const char *delimiter_name(char d)
{
    switch (d) {
    case ',': return ",";
    case ';': return ";";
    case '|': return "|";
    case '\t': return "tab";
    default: return "?";
    }
}

static json_t *warnings_json(const kl_csv_report *r)
{
    json_t *w = json_array();
    for (size_t i = 0; w && i < r->n_warnings; i++)
        json_array_append_new(w, json_string(r->warnings[i]));
    return w;
}

static int cmd_data_schema(struct kl_cli *cli, int argc, char **argv)
{
    struct read_args a = {0};
    const struct kl_opt opts[] = {READ_OPTS_(a), KL_OPT_END_};
    const struct kl_usage u = {
        "[options] [FILE]",
        "Read a CSV file (default: keel.yaml's data.source) and print the schema\n"
        "keel infers for it: each column's type and missing values, the number of\n"
        "rows and of malformed rows skipped. Type inference follows the rules of\n"
        "docs/FORMATS.md; keel.yaml's data.columns override them.",
        opts, 0, 1};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    kl_frame *f = NULL;
    kl_csv_report rep = {0};
    char path[8192];
    rc = read_frame(cli, &a, n_pos ? pos[0] : NULL, 0, &f, &rep, path, sizeof path);
    if (rc != KL_EXIT_OK) {
        kl_csv_report_release(&rep);
        return rc;
    }
    size_t nr = kl_frame_row_count(f), nc = kl_frame_col_count(f);
    uint8_t h[KL_SHA256_LEN];
    char hex[KL_SHA256_HEX_LEN + 1];
    kl_frame_schema_hash(f, h);
    kl_hex(h, sizeof h, hex);
    if (a.json) {
        json_t *cols = json_array();
        for (size_t j = 0; j < nc; j++) {
            json_t *c = json_pack("{s:s, s:s, s:s, s:I}", "name", kl_frame_col_name(f, j), "type",
                                  kl_type_name(kl_frame_col_type(f, j)), "kind",
                                  kl_col_kind_name(kl_frame_col_kind(f, j)), "missing",
                                  (json_int_t)kl_frame_col_missing(f, j));
            const char *fmt = kl_frame_col_time_format(f, j);
            size_t n_dict = 0;
            if (fmt)
                json_object_set_new(c, "format", json_string(fmt));
            if (kl_frame_col_dict(f, j, &n_dict))
                json_object_set_new(c, "categories", json_integer((json_int_t)n_dict));
            json_array_append_new(cols, c);
        }
        json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:s, s:I, s:i, s:s, s:o, s:o}", "file", path,
                              "rows", (json_int_t)nr, "columns", (json_int_t)nc, "bad_rows",
                              (json_int_t)rep.bad_rows, "delimiter",
                              delimiter_name(rep.delimiter), "bytes", (json_int_t)rep.bytes,
                              "infer_version", (int)kl_frame_infer_version(f), "schema_hash", hex,
                              "fields", cols, "warnings", warnings_json(&rep));
        rc = kl_cli_json_print(o);
    } else {
        printf("schema of '%s' (type inference rules v%u)\n", path, kl_frame_infer_version(f));
        printf("rows %zu, columns %zu, bad rows %zu, delimiter '%s'\n", nr, nc, rep.bad_rows,
               delimiter_name(rep.delimiter));
        if (rep.bad_rows)
            printf("first bad row at line %zu (skipped)\n", rep.first_bad_line);
        printf("schema hash %.16s\n\n", hex);
        struct kl_table *t = kl_table_new(4);
        const char *head[] = {"column", "type", "missing", "details"};
        kl_table_add(t, head);
        kl_table_align_right(t, 2);
        for (size_t j = 0; j < nc; j++) {
            char miss[64], details[128] = "";
            size_t m = kl_frame_col_missing(f, j), n_dict = 0;
            if (m)
                snprintf(miss, sizeof miss, "%zu (%.1f%%)", m, nr ? 100.0 * (double)m / (double)nr : 0.0);
            else
                snprintf(miss, sizeof miss, "0");
            const char *fmt = kl_frame_col_time_format(f, j);
            if (fmt)
                snprintf(details, sizeof details, "format %s", fmt);
            else if (kl_frame_col_dict(f, j, &n_dict))
                snprintf(details, sizeof details, "%zu categories", n_dict);
            const char *row[] = {kl_frame_col_name(f, j), kl_type_name(kl_frame_col_type(f, j)),
                                 miss, details};
            kl_table_add(t, row);
        }
        kl_table_print(t, stdout, 40);
        kl_table_free(t);
    }
    kl_frame_free(f);
    kl_csv_report_release(&rep);
    return rc;
}

/* A JSON string literal for s on stdout (jansson does the escaping). */
static void put_json_string(const char *s)
{
    json_t *j = json_string(s);
    char *text = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
    fputs(text ? text : "null", stdout);
    free(text);
    json_decref(j);
}

/*
 * Cell (i, j) as JSON. Numbers are written in the same shortest exact form
 * as the text output (jansson would print 17 digits: 5.9036584909999998),
 * so the JSON holds the numbers of the file.
 */
static void put_cell_json(const kl_frame *f, size_t i, size_t j)
{
    char buf[256];
    if (!kl_frame_cell_str(f, i, j, buf, sizeof buf)) {
        fputs("null", stdout);
        return;
    }
    switch (kl_frame_col_kind(f, j)) {
    case KL_COL_KIND_NUMERIC:
        if (isfinite(kl_frame_col_f64(f, j)[i]))
            fputs(buf, stdout);
        else
            put_json_string(buf);
        return;
    case KL_COL_KIND_BOOL: fputs(kl_frame_col_bool(f, j)[i] ? "true" : "false", stdout); return;
    case KL_COL_KIND_TEXT: put_json_string(kl_frame_col_text(f, j)[i]); return;
    default: put_json_string(buf); return;
    }
}

static int cmd_data_head(struct kl_cli *cli, int argc, char **argv)
{
    struct read_args a = {0};
    long n = 10;
    const struct kl_opt opts[] = {KL_OPT_INT_("rows", 'n', "N", &n, 1, 1000000,
                                              "number of rows to show (default 10)"),
                                  READ_OPTS_(a), KL_OPT_END_};
    const struct kl_usage u = {
        "[options] [FILE]",
        "Print the first rows of a CSV file (default: keel.yaml's data.source) as\n"
        "keel reads them: numbers in their shortest exact form, dates in their\n"
        "column's format, missing values empty (null in JSON). Only the rows shown\n"
        "are read, so their types are inferred from those rows alone.",
        opts, 0, 1};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    kl_frame *f = NULL;
    kl_csv_report rep = {0};
    char path[8192];
    rc = read_frame(cli, &a, n_pos ? pos[0] : NULL, (size_t)n, &f, &rep, path, sizeof path);
    if (rc != KL_EXIT_OK) {
        kl_csv_report_release(&rep);
        return rc;
    }
    size_t nr = kl_frame_row_count(f), nc = kl_frame_col_count(f);
    if (a.json) {
        fputs("{\n  \"file\": ", stdout);
        put_json_string(path);
        fputs(",\n  \"columns\": [", stdout);
        for (size_t j = 0; j < nc; j++) {
            fputs(j ? ", " : "", stdout);
            put_json_string(kl_frame_col_name(f, j));
        }
        fputs("],\n  \"rows\": [", stdout);
        for (size_t i = 0; i < nr; i++) {
            fputs(i ? ",\n    [" : "\n    [", stdout);
            for (size_t j = 0; j < nc; j++) {
                fputs(j ? ", " : "", stdout);
                put_cell_json(f, i, j);
            }
            fputc(']', stdout);
        }
        fputs(nr ? "\n  ]\n}\n" : "]\n}\n", stdout);
    } else {
        struct kl_table *t = kl_table_new(nc);
        const char **cells = calloc(nc ? nc : 1, sizeof *cells);
        char *buf = malloc((nc ? nc : 1) * 256);
        if (!t || !cells || !buf) {
            kl_table_free(t);
            free(cells);
            free(buf);
            kl_frame_free(f);
            kl_csv_report_release(&rep);
            return kl_cli_error(KL_EXIT_INPUT, "out of memory");
        }
        for (size_t j = 0; j < nc; j++) {
            cells[j] = kl_frame_col_name(f, j);
            if (kl_frame_col_kind(f, j) == KL_COL_KIND_NUMERIC)
                kl_table_align_right(t, j);
        }
        kl_table_add(t, cells);
        for (size_t i = 0; i < nr; i++) {
            for (size_t j = 0; j < nc; j++) {
                kl_frame_cell_str(f, i, j, buf + j * 256, 256);
                cells[j] = buf + j * 256;
            }
            kl_table_add(t, cells);
        }
        kl_table_print(t, stdout, 24);
        kl_table_free(t);
        free(cells);
        free(buf);
    }
    kl_frame_free(f);
    kl_csv_report_release(&rep);
    return rc;
}

static const struct kl_cmd data = {"data", NULL, "Read, inspect and version data.", 30, NULL};
static const struct kl_cmd schema = {"schema", cmd_data_schema,
                                     "print the inferred schema of a CSV file", 10, "data"};
static const struct kl_cmd head = {"head", cmd_data_head, "print the first rows of a CSV file",
                                   20, "data"};
KL_COMMANDS(data, &data, &schema, &head);
