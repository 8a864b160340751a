/*
 * keel's entry point: global options, then one dispatch table of commands
 * (git's commands[]). Groups ("data", "spec") hold subcommands; a leaf's own
 * function parses its options with kl_cli_parse. `keel help X Y` is
 * `keel X Y --help`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/log.h"
#include "keel/parallel.h"
#include "keel/suggest.h"
#include "keel/version.h"
#include "keel.h"
#include "core/common.h"

/* Every cli/cmd_*.c registers its commands; the build lists the files. */
#define KL_CMD_FILE(n) extern const struct kl_cmd *const kl_cmds_##n[];
#include "cli_commands.inc"
#undef KL_CMD_FILE
#define KL_CMD_FILE(n) kl_cmds_##n,
static const struct kl_cmd *const *const files[] = {
#include "cli_commands.inc"
    NULL,
};
#undef KL_CMD_FILE

#define MAX_CMDS 256
static const struct kl_cmd *all[MAX_CMDS];
static size_t n_all;

static int by_order(const void *a, const void *b)
{
    const struct kl_cmd *x = *(const struct kl_cmd *const *)a, *y = *(const struct kl_cmd *const *)b;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void collect(void)
{
    for (size_t f = 0; files[f]; f++)
        for (size_t i = 0; files[f][i]; i++) {
            KL_ASSERT(n_all < MAX_CMDS);
            all[n_all++] = files[f][i];
        }
    qsort(all, n_all, sizeof all[0], by_order);
}

/* Does c sit directly under the group path ("" for the top level)? */
static int under(const struct kl_cmd *c, const char *path)
{
    return path[0] ? c->group && strcmp(c->group, path) == 0 : c->group == NULL;
}

static void list_commands(FILE *fp, const char *path)
{
    for (size_t i = 0; i < n_all; i++) {
        const struct kl_cmd *c = all[i];
        if (!under(c, path))
            continue;
        char full[160];
        snprintf(full, sizeof full, "%s%s%s", path, path[0] ? " " : "", c->name);
        if (c->fn)
            fprintf(fp, "  %-22s %s\n", full, c->summary);
        else
            list_commands(fp, full);
    }
}

static void main_help(FILE *fp)
{
    fputs("usage: keel [--version] [-C DIR] [--threads N] <command> [<args>]\n"
          "\n"
          "keel takes a prediction problem from a CSV file and a written objective\n"
          "(keel.yaml) to a served, monitored, explainable and reproducible model.\n"
          "\n"
          "commands:\n",
          fp);
    list_commands(fp, "");
    fputs("\nglobal options:\n"
          "  -C DIR                 run as if keel was started in DIR\n"
          "  --threads N            threads to use (default: KEEL_THREADS or all cores)\n"
          "  --version              print the version\n"
          "\n"
          "Run 'keel <command> --help' for a command's options. Exit codes: 0 ok,\n"
          "1 a check failed, 2 usage error, 3 bad input or environment.\n",
          fp);
}

static const struct kl_cmd *find_cmd(const char *path, const char *name)
{
    for (size_t i = 0; i < n_all; i++)
        if (under(all[i], path) && strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

static int unknown_command(const char *path, const char *name)
{
    const char *names[MAX_CMDS];
    size_t n = 0;
    for (size_t i = 0; i < n_all; i++)
        if (under(all[i], path))
            names[n++] = all[i]->name;
    const char *s = kl_suggest(name, names, n);
    if (s)
        fprintf(stderr, "keel: error: '%s' is not a keel%s%s command; did you mean '%s'?\n", name,
                path[0] ? " " : "", path, s);
    else
        fprintf(stderr, "keel: error: '%s' is not a keel%s%s command; see 'keel%s%s --help'\n",
                name, path[0] ? " " : "", path, path[0] ? " " : "", path);
    return KL_EXIT_USAGE;
}

static void group_help(FILE *fp, const struct kl_cmd *g, const char *path)
{
    fprintf(fp, "usage: keel %s <command> [<args>]\n\n%s\n\ncommands:\n", path, g->summary);
    list_commands(fp, path);
}

static int is_help(const char *w)
{
    return strcmp(w, "-h") == 0 || strcmp(w, "--help") == 0;
}

/* Walk the command words of argv, then run the leaf; help: print its help instead. */
static int dispatch(struct kl_cli *cli, int argc, char **argv, int help)
{
    static char path[160];
    const struct kl_cmd *group = NULL;
    path[0] = '\0';
    for (int i = 0;; i++) {
        if (i >= argc || (group && is_help(argv[i]))) {
            int asked = help || i < argc;
            FILE *fp = asked ? stdout : stderr;
            if (group)
                group_help(fp, group, path);
            else
                main_help(fp);
            return asked ? KL_EXIT_OK : KL_EXIT_USAGE;
        }
        const struct kl_cmd *c = find_cmd(path, argv[i]);
        if (!c)
            return unknown_command(path, argv[i]);
        size_t len = strlen(path);
        snprintf(path + len, sizeof path - len, "%s%s", len ? " " : "", c->name);
        if (c->fn) {
            cli->path = path;
            if (help) {
                char *h[] = {"--help"};
                return c->fn(cli, 1, h);
            }
            return c->fn(cli, argc - i - 1, argv + i + 1);
        }
        group = c;
    }
}

int main(int argc, char **argv)
{
    collect();
    struct kl_cli cli = {.path = "", .dir = "."};
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        const char *a = argv[i];
        if (strcmp(a, "--version") == 0) {
            printf("keel %s\n", KEEL_VERSION);
            return KL_EXIT_OK;
        } else if (is_help(a)) {
            main_help(stdout);
            return KL_EXIT_OK;
        } else if (strcmp(a, "-C") == 0 || strcmp(a, "--threads") == 0) {
            if (i + 1 >= argc)
                return kl_cli_error(KL_EXIT_USAGE, "option '%s' needs a value", a);
            if (a[1] == 'C') {
                cli.dir = argv[i + 1];
            } else {
                char *end;
                long n = strtol(argv[i + 1], &end, 10);
                if (*end || end == argv[i + 1] || n < 1 || n > 1024)
                    return kl_cli_error(KL_EXIT_USAGE,
                                        "option '--threads' needs a number from 1 to 1024, not '%s'",
                                        argv[i + 1]);
                kl_threads_set((int)n);
            }
            i += 2;
        } else {
            const char *globals[] = {"version", "help", "threads"};
            const char *s = a[1] == '-' ? kl_suggest(a + 2, globals, 3) : NULL;
            if (s)
                return kl_cli_error(KL_EXIT_USAGE, "unknown option '%s'; did you mean '--%s'?", a,
                                    s);
            return kl_cli_error(KL_EXIT_USAGE, "unknown option '%s'; see 'keel --help'", a);
        }
    }
    if (i < argc && strcmp(argv[i], "help") == 0)
        return dispatch(&cli, argc - i - 1, argv + i + 1, 1);
    if (i < argc && strcmp(argv[i], "version") == 0) {
        printf("keel %s\n", KEEL_VERSION);
        return KL_EXIT_OK;
    }
    return dispatch(&cli, argc - i, argv + i, 0);
}
