/*
 * The keel command line: shared declarations for cli/keel.c (dispatch) and
 * the cli/cmd_<name>.c files (one per command).
 *
 * Adding a command (checklist):
 *   1. cli/cmd_<name>.c defining the command(s) and ending with
 *      KL_COMMANDS(<name>, &cmd, ...): the build finds every cli/cmd_*.c and
 *      registers its list (no shared table to edit). A leaf has fn; a group
 *      has fn NULL; a subcommand names its group ("data") and may live in its
 *      own file (cmd_data_add.c). Options go in a local kl_opt table that
 *      kl_cli_parse uses for both parsing and --help;
 *   2. an order number from the table below, so listings follow the lifecycle;
 *   3. docs/cli/keel-<name>.md holding the exact --help text of each leaf
 *      (tests/e2e/help_docs.sh compares them; scripts/gen-cli-docs.sh
 *      refreshes the blocks);
 *   4. e2e cases under tests/e2e/cases/, named <name>_<what>.
 *
 * Order numbers: init 10, spec 20, data 30, profile 40, pii 45, check 50,
 * features 55, train 60, predict 62, evaluate 64, model 66, ar 68, runs 70,
 * show 72, compare 74, lineage 76, explain 80, registry 85, serve 90,
 * monitor 95, fsck 100, gc 102, export 104, import 106.
 *
 * Commands only parse arguments, call the library (include/keel/) and print:
 * results to stdout, errors and progress to stderr. Exit codes: 0 ok, 1 a
 * check failed, 2 usage error, 3 bad input or environment.
 */
#ifndef KEEL_CLI_H
#define KEEL_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "keel/err.h"

enum kl_exit {
    KL_EXIT_OK = 0,
    KL_EXIT_CHECK = 1,
    KL_EXIT_USAGE = 2,
    KL_EXIT_INPUT = 3,
};

/* kl_cli_parse's "go on with the command" answer; anything else is an exit code. */
#define KL_CLI_CONTINUE (-1)

struct kl_cli;
typedef int (*kl_cmd_fn)(struct kl_cli *cli, int argc, char **argv);

struct kl_cmd {
    const char *name;
    kl_cmd_fn fn;        /* NULL for a group */
    const char *summary; /* one line for listings */
    int order;           /* position in listings (the table above) */
    const char *group;   /* the group path of a subcommand ("data"); NULL at top level */
};

/* Register the commands a cli/cmd_<file>.c defines. */
#define KL_COMMANDS(file, ...) const struct kl_cmd *const kl_cmds_##file[] = {__VA_ARGS__, NULL}

/* What the dispatcher hands a command. */
struct kl_cli {
    const char *path; /* "data schema": the words that named the command */
    const char *dir;  /* the project directory (-C DIR), "." by default */
};

enum kl_opt_type {
    KL_OPT_END = 0,
    KL_OPT_FLAG,   /* int *: set to 1 */
    KL_OPT_STRING, /* const char **; the argument */
    KL_OPT_INT,    /* long *: a whole number within [min, max] */
    KL_OPT_CHOICE, /* const char **; one of choices */
};

struct kl_opt {
    enum kl_opt_type type;
    const char *name;  /* long name, without "--" */
    char short_name;   /* 0 when none */
    const char *arg;   /* argument name in help ("FILE"), NULL for flags */
    void *value;
    const char *help;
    const char *const *choices; /* KL_OPT_CHOICE: NULL-terminated */
    long min, max;              /* KL_OPT_INT */
};

#define KL_OPT_FLAG_(n, s, v, h) {KL_OPT_FLAG, n, s, NULL, v, h, NULL, 0, 0}
#define KL_OPT_STRING_(n, s, a, v, h) {KL_OPT_STRING, n, s, a, v, h, NULL, 0, 0}
#define KL_OPT_INT_(n, s, a, v, lo, hi, h) {KL_OPT_INT, n, s, a, v, h, NULL, lo, hi}
#define KL_OPT_CHOICE_(n, s, a, v, c, h) {KL_OPT_CHOICE, n, s, a, v, h, c, 0, 0}
#define KL_OPT_JSON_(v) KL_OPT_FLAG_("json", 0, v, "print machine-readable JSON on stdout")
#define KL_OPT_END_ {KL_OPT_END, NULL, 0, NULL, NULL, NULL, NULL, 0, 0}

/* The usage of a leaf command. */
struct kl_usage {
    const char *args;        /* "[options] FILE" */
    const char *description; /* a paragraph, wrapped by hand at 76 columns */
    const struct kl_opt *opts;
    int min_args, max_args;  /* positional arguments; max -1 for any number */
};

/*
 * Parse argv (after the command words) against u. Options may come before or
 * after positional arguments; "--" ends options. On success stores the
 * positional arguments in pos (argv's own strings; *n_pos of them) and
 * returns KL_CLI_CONTINUE. Prints help and returns 0 for -h/--help; prints a
 * usage error (suggesting the nearest option) and returns 2 otherwise.
 */
int kl_cli_parse(const struct kl_cli *cli, const struct kl_usage *u, int argc, char **argv,
                 char **pos, int *n_pos);
/* Write the help text of a leaf command. */
void kl_cli_help(FILE *fp, const struct kl_cli *cli, const struct kl_usage *u);

/* Print "keel: error: <msg> (<ctx>)" and return the exit code for err->code. */
int kl_cli_fail(const kl_err *err);
/* Print "keel: error: <formatted>" and return code. */
int kl_cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Exit code for a library error code: KL_ECHECK -> 1, anything else -> 3. */
int kl_cli_exit_code(int kl_code);
/* Print a warning "keel: warning: <msg>" on stderr. */
void kl_cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Every `--param K=V` of argv (kl_cli_parse keeps only the last value of an
 * option): keys and values are copied into store (cap bytes) and pointed to
 * from params[0 .. *n). cmd names the command in the usage error. Returns
 * KL_EXIT_OK or KL_EXIT_USAGE after printing the error.
 */
struct kl_model_param;
int kl_cli_collect_params(int argc, char **argv, const char *cmd, struct kl_model_param *params,
                          size_t max, size_t *n, char *store, size_t cap);

/* Join dir and name into buf ("name" itself when dir is "." or name is absolute). */
const char *kl_cli_path(const struct kl_cli *cli, const char *name, char *buf, size_t n);

/* ---- output helpers (cli/print.c) ---- */

struct kl_table;
struct kl_table *kl_table_new(size_t n_cols);
/* Add a row of n_cols cells (copied); NULL cells print empty. Returns 0 or -1 (no memory). */
int kl_table_add(struct kl_table *t, const char *const *cells);
/* Right-align column j (numbers). */
void kl_table_align_right(struct kl_table *t, size_t j);
/* Print with columns padded to their widest cell (capped at max_width, cut with "..."). */
void kl_table_print(const struct kl_table *t, FILE *fp, size_t max_width);
void kl_table_free(struct kl_table *t);

/* Print a JSON value on stdout (indented, newline-terminated) and release it. NULL -> exit 3. */
struct json_t;
int kl_cli_json_print(struct json_t *v);

#endif
