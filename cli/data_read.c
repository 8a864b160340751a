/*
 * kl_data_read: the data commands' common reader (cli/data_read.h). The same
 * rules as cli/cmd_data.c's reader: keel.yaml applies when present (or
 * --spec), --no-spec ignores it, command-line options override it.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "keel/csv.h"
#include "keel/pii.h"
#include "keel/spec.h"
#include "data_read.h"
#include "keel.h"
#include "core/common.h"

const char *const kl_data_bad_rows_choices[] = {"error", "skip", NULL};

int kl_data_read(const struct kl_cli *cli, const struct kl_data_read_args *a, const char *file,
                 kl_frame **frame, kl_csv_report *report, kl_spec **spec_out, char *path,
                 size_t path_n)
{
    kl_err err = {0};
    kl_spec *spec = NULL;
    kl_csv_read_opts opts = {0};
    char spec_path[4096];
    const char *spec_name = a->spec_file ? a->spec_file : "keel.yaml";
    if (spec_out)
        *spec_out = NULL;
    kl_cli_path(cli, spec_name, spec_path, sizeof spec_path);
    if (!a->no_spec && (a->spec_file || access(spec_path, F_OK) == 0)) {
        if (kl_spec_load_file(spec_path, &spec, &err) < 0)
            return kl_cli_fail(&err);
        kl_spec_csv_opts(spec, &opts, &err);
    }
    if (file) {
        kl_cli_path(cli, file, path, path_n);
    } else if (spec && spec->data.source) {
        char *slash = strrchr(spec_path, '/');
        if (spec->data.source[0] == '/' || !slash)
            snprintf(path, path_n, "%s", spec->data.source);
        else
            snprintf(path, path_n, "%.*s/%s", (int)(slash - spec_path), spec_path,
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
            return kl_cli_error(KL_EXIT_USAGE, "option '--delimiter' takes , ; | or tab, not '%s'",
                                d);
        }
    }
    if (a->on_bad_rows && strcmp(a->on_bad_rows, "skip") == 0)
        opts.on_bad_rows = KL_CSV_BAD_ROWS_SKIP;
    int rc = kl_csv_read_file(path, &opts, frame, report, &err);
    if (rc < 0) {
        kl_spec_free(spec);
        return kl_cli_fail(&err);
    }
    if (!a->json)
        for (size_t i = 0; i < report->n_warnings; i++)
            kl_cli_warn("%s", report->warnings[i]);
    if (spec_out)
        *spec_out = spec;
    else
        kl_spec_free(spec);
    return KL_EXIT_OK;
}

void kl_data_policy_text(const kl_spec *spec, char *buf, size_t n)
{
    size_t len = 0;
#define PUT_(...)                                                                                  \
    do {                                                                                           \
        int w_ = snprintf(buf + len, len < n ? n - len : 0, __VA_ARGS__);                          \
        if (w_ > 0)                                                                                \
            len += (size_t)w_;                                                                     \
    } while (0)
    if (!spec) {
        snprintf(buf, n, "pii:default=keep");
        return;
    }
    kl_pii_policies p;
    kl_pii_policies_from_spec(spec, &p);
    PUT_("pii:default=%s/%d", kl_pii_action_name(p.fallback.action), p.fallback.keep_last);
    for (size_t i = 0; i < p.n_columns; i++)
        PUT_(";column:%s=%s/%d", p.columns[i].name, kl_pii_action_name(p.columns[i].policy.action),
             p.columns[i].policy.keep_last);
    for (size_t i = 0; i < p.n_entities; i++)
        PUT_(";entity:%s=%s/%d", p.entities[i].name,
             kl_pii_action_name(p.entities[i].policy.action), p.entities[i].policy.keep_last);
#undef PUT_
    if (len >= n && n > 0)
        buf[n - 1] = '\0';
}
