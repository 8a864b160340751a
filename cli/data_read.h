/*
 * Reading a data file the way every data command does: keel.yaml's data
 * section (delimiter, missing tokens, type overrides) when a keel.yaml is
 * present, then the command line's overrides. Shared by the data snapshot
 * commands (cli/cmd_data_add.c).
 */
#ifndef KEEL_CLI_DATA_READ_H
#define KEEL_CLI_DATA_READ_H

#include <stddef.h>

#include "keel/csv.h"
#include "keel/frame.h"
#include "keel/spec.h"
#include "keel.h"

struct kl_data_read_args {
    const char *delimiter;
    const char *on_bad_rows;
    const char *spec_file;
    int no_spec;
    int json;
};

/* kl_opt entries for a struct kl_data_read_args a (without --json). */
#define KL_DATA_READ_OPTS_(a)                                                                      \
    KL_OPT_STRING_("delimiter", 'd', "CHAR", &(a).delimiter,                                       \
                   "field delimiter: , ; | or tab (default: detect)"),                            \
        KL_OPT_CHOICE_("on-bad-rows", 0, NULL, &(a).on_bad_rows, kl_data_bad_rows_choices,        \
                       "stop at the first malformed row, or skip and count them"),                \
        KL_OPT_STRING_("spec", 0, "FILE", &(a).spec_file,                                          \
                       "read options from this spec (default: keel.yaml if present)"),            \
        KL_OPT_FLAG_("no-spec", 0, &(a).no_spec, "ignore keel.yaml")

extern const char *const kl_data_bad_rows_choices[];

/*
 * Read file (or, when NULL, the spec's data.source) into *frame. *spec gets
 * the loaded spec (NULL when none; the caller frees it) when spec is not
 * NULL. path receives the path read. Returns KL_EXIT_OK or an exit code
 * after printing the error.
 */
int kl_data_read(const struct kl_cli *cli, const struct kl_data_read_args *a, const char *file,
                 kl_frame **frame, kl_csv_report *report, kl_spec **spec, char *path,
                 size_t path_n);

/*
 * The PII policy description that enters a snapshot's id (every rule, in
 * spec order; "pii:default=keep" without a spec), so a file snapshotted by
 * `keel data add FILE` and as one of data.sources gets the same id.
 */
void kl_data_policy_text(const kl_spec *spec, char *buf, size_t n);

#endif
