/*
 * Option parsing and help, driven by one table per command (git's OPT_*):
 * the same kl_opt array parses argv and prints --help, so the two cannot
 * drift apart. Errors suggest the nearest option name (kl_suggest).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "keel/model.h"
#include "keel/suggest.h"
#include "keel.h"
#include "core/common.h"

int kl_cli_exit_code(int kl_code)
{
    if (kl_code == KL_ECHECK)
        return KL_EXIT_CHECK;
    if (kl_code == 0)
        return KL_EXIT_OK;
    return KL_EXIT_INPUT;
}

int kl_cli_fail(const kl_err *err)
{
    char buf[KL_ERR_MSG_MAX + KL_ERR_CTX_MAX + 8];
    fprintf(stderr, "keel: error: %s\n", kl_err_format(err, buf, sizeof buf));
    return kl_cli_exit_code(err->code);
}

int kl_cli_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("keel: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

void kl_cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("keel: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

const char *kl_cli_path(const struct kl_cli *cli, const char *name, char *buf, size_t n)
{
    if (!cli->dir || strcmp(cli->dir, ".") == 0 || name[0] == '/')
        snprintf(buf, n, "%s", name);
    else
        snprintf(buf, n, "%s/%s", cli->dir, name);
    return buf;
}

/* ---- help ---- */

static void opt_label(const struct kl_opt *o, char *buf, size_t n)
{
    char arg[64] = "";
    if (o->type == KL_OPT_CHOICE && o->choices) {
        size_t len = 0;
        for (const char *const *c = o->choices; *c && len < sizeof arg; c++)
            len += (size_t)snprintf(arg + len, sizeof arg - len, "%s%s", c == o->choices ? "" : "|",
                                    *c);
    } else if (o->arg) {
        snprintf(arg, sizeof arg, "%s", o->arg);
    }
    if (o->short_name)
        snprintf(buf, n, "-%c, --%s%s%s", o->short_name, o->name, arg[0] ? " " : "", arg);
    else
        snprintf(buf, n, "    --%s%s%s", o->name, arg[0] ? " " : "", arg);
}

void kl_cli_help(FILE *fp, const struct kl_cli *cli, const struct kl_usage *u)
{
    fprintf(fp, "usage: keel %s %s\n", cli->path, u->args);
    if (u->description && u->description[0])
        fprintf(fp, "\n%s\n", u->description);
    fputs("\noptions:\n", fp);
    for (const struct kl_opt *o = u->opts; o && o->type != KL_OPT_END; o++) {
        char label[128];
        opt_label(o, label, sizeof label);
        if (strlen(label) <= 28)
            fprintf(fp, "  %-28s %s\n", label, o->help);
        else
            fprintf(fp, "  %s\n  %-28s %s\n", label, "", o->help);
    }
    fprintf(fp, "  %-28s %s\n", "-h, --help", "show this help");
}

/* ---- parsing ---- */

static const struct kl_opt *find_long(const struct kl_opt *opts, const char *name, size_t len)
{
    for (const struct kl_opt *o = opts; o && o->type != KL_OPT_END; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
            return o;
    return NULL;
}

static const struct kl_opt *find_short(const struct kl_opt *opts, char c)
{
    for (const struct kl_opt *o = opts; o && o->type != KL_OPT_END; o++)
        if (o->short_name && o->short_name == c)
            return o;
    return NULL;
}

static int usage_error(const struct kl_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const struct kl_cli *cli, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("keel: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nkeel: see 'keel %s --help'\n", cli->path);
    return KL_EXIT_USAGE;
}

static int unknown_option(const struct kl_cli *cli, const struct kl_usage *u, const char *word,
                          size_t len)
{
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)KL_MIN(len, sizeof name - 1), word);
    const char *names[64];
    size_t n = 0;
    for (const struct kl_opt *o = u->opts; o && o->type != KL_OPT_END && n < 63; o++)
        names[n++] = o->name;
    names[n++] = "help";
    const char *s = kl_suggest(name, names, n);
    if (s)
        return usage_error(cli, "unknown option '--%s' for 'keel %s'; did you mean '--%s'?", name,
                           cli->path, s);
    return usage_error(cli, "unknown option '--%s' for 'keel %s'", name, cli->path);
}

static int set_value(const struct kl_cli *cli, const struct kl_opt *o, const char *val)
{
    switch (o->type) {
    case KL_OPT_STRING:
        *(const char **)o->value = val;
        return KL_CLI_CONTINUE;
    case KL_OPT_INT: {
        char *end;
        errno = 0;
        long v = strtol(val, &end, 10);
        if (errno || end == val || *end)
            return usage_error(cli, "option '--%s' needs a whole number, not '%s'", o->name, val);
        if (v < o->min || v > o->max)
            return usage_error(cli, "option '--%s' must be between %ld and %ld, not %ld", o->name,
                               o->min, o->max, v);
        *(long *)o->value = v;
        return KL_CLI_CONTINUE;
    }
    case KL_OPT_CHOICE: {
        size_t n = 0;
        for (const char *const *c = o->choices; *c; c++, n++)
            if (strcmp(*c, val) == 0) {
                *(const char **)o->value = *c;
                return KL_CLI_CONTINUE;
            }
        const char *s = kl_suggest(val, o->choices, n);
        if (s)
            return usage_error(cli, "option '--%s' does not take '%s'; did you mean '%s'?", o->name,
                               val, s);
        return usage_error(cli, "option '--%s' does not take '%s'", o->name, val);
    }
    default:
        return KL_CLI_CONTINUE;
    }
}

int kl_cli_parse(const struct kl_cli *cli, const struct kl_usage *u, int argc, char **argv,
                 char **pos, int *n_pos)
{
    int np = 0, only_pos = 0;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (u->max_args >= 0 && np >= u->max_args)
                return usage_error(cli, "too many arguments for 'keel %s' ('%s')", cli->path, a);
            pos[np++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            kl_cli_help(stdout, cli, u);
            return KL_EXIT_OK;
        }
        const struct kl_opt *o;
        const char *val = NULL;
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            o = find_long(u->opts, name, len);
            if (!o)
                return unknown_option(cli, u, name, len);
            if (eq) {
                if (o->type == KL_OPT_FLAG)
                    return usage_error(cli, "option '--%s' takes no value", o->name);
                val = eq + 1;
            }
        } else {
            o = find_short(u->opts, a[1]);
            if (!o)
                return usage_error(cli, "unknown option '-%c' for 'keel %s'", a[1], cli->path);
            if (a[2]) {
                if (o->type == KL_OPT_FLAG)
                    return usage_error(cli, "option '-%c' takes no value", a[1]);
                val = a + 2;
            }
        }
        if (o->type == KL_OPT_FLAG) {
            *(int *)o->value = 1;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc)
                return usage_error(cli, "option '--%s' needs a value (%s)", o->name,
                                   o->arg ? o->arg : "VALUE");
            val = argv[++i];
        }
        int rc = set_value(cli, o, val);
        if (rc != KL_CLI_CONTINUE)
            return rc;
    }
    if (np < u->min_args)
        return usage_error(cli, "'keel %s' needs %s%d argument%s (usage: keel %s %s)", cli->path,
                           u->max_args != u->min_args ? "at least " : "", u->min_args,
                           u->min_args == 1 ? "" : "s", cli->path, u->args);
    *n_pos = np;
    return KL_CLI_CONTINUE;
}

int kl_cli_collect_params(int argc, char **argv, const char *cmd, kl_model_param *params,
                          size_t max, size_t *n, char *store, size_t cap)
{
    size_t used = 0;
    *n = 0;
    for (int i = 0; i < argc; i++) {
        const char *kv = NULL;
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--param") && i + 1 < argc)
            kv = argv[++i];
        else if (!strncmp(argv[i], "--param=", 8))
            kv = argv[i] + 8;
        if (!kv)
            continue;
        const char *eq = strchr(kv, '=');
        if (!eq || eq == kv)
            return kl_cli_error(KL_EXIT_USAGE,
                                "option '--param' needs KEY=VALUE, not '%s'; see 'keel %s --help'",
                                kv, cmd);
        size_t len = strlen(kv) + 1;
        if (*n == max || used + len > cap)
            return kl_cli_error(KL_EXIT_USAGE, "too many --param options");
        char *k = store + used;
        memcpy(k, kv, len);
        used += len;
        k[eq - kv] = '\0';
        params[(*n)++] = (kl_model_param){k, k + (eq - kv) + 1};
    }
    return KL_EXIT_OK;
}
