/*
 * keel spec show|check: print the effective keel.yaml (defaults filled) or
 * validate it. Validation is the spec module's; check adds what needs the
 * file system: the data source named in the spec must exist.
 */
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "keel/spec.h"
#include "keel.h"
#include "core/common.h"

static int load(const struct kl_cli *cli, const char *file, kl_spec **spec)
{
    char path[4096];
    kl_err err = {0};
    kl_cli_path(cli, file, path, sizeof path);
    if (kl_spec_load_file(path, spec, &err) < 0)
        return kl_cli_fail(&err);
    return KL_EXIT_OK;
}

static int cmd_spec_show(struct kl_cli *cli, int argc, char **argv)
{
    int json = 0;
    const struct kl_opt opts[] = {KL_OPT_JSON_(&json), KL_OPT_END_};
    const struct kl_usage u = {
        "[options] [FILE]",
        "Print the effective spec: keel.yaml (or FILE) with every default filled\n"
        "in, as YAML, or as JSON with --json.",
        opts, 0, 1};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    kl_spec *spec = NULL;
    if ((rc = load(cli, n_pos ? pos[0] : "keel.yaml", &spec)) != KL_EXIT_OK)
        return rc;
    kl_err err = {0};
    rc = json ? kl_spec_write_json(spec, stdout, &err) : kl_spec_write_yaml(spec, stdout, &err);
    kl_spec_free(spec);
    return rc < 0 ? kl_cli_fail(&err) : KL_EXIT_OK;
}

static int cmd_spec_check(struct kl_cli *cli, int argc, char **argv)
{
    int json = 0;
    const struct kl_opt opts[] = {KL_OPT_JSON_(&json), KL_OPT_END_};
    const struct kl_usage u = {
        "[options] [FILE]",
        "Validate keel.yaml (or FILE): syntax, known keys, types, ranges and\n"
        "required values, and that the data source it names exists. Prints\n"
        "'<file>: ok', or the first error with its line and column (exit 3).",
        opts, 0, 1};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    const char *file = n_pos ? pos[0] : "keel.yaml";
    kl_spec *spec = NULL;
    if ((rc = load(cli, file, &spec)) != KL_EXIT_OK)
        return rc;
    if (spec->data.source) {
        char dir[4096], src[8192];
        kl_cli_path(cli, file, dir, sizeof dir);
        char *slash = strrchr(dir, '/');
        if (spec->data.source[0] == '/' || !slash)
            snprintf(src, sizeof src, "%s", spec->data.source);
        else
            snprintf(src, sizeof src, "%.*s/%s", (int)(slash - dir), dir, spec->data.source);
        if (access(src, R_OK) != 0) {
            char where[512];
            kl_spec_where(spec, "data.source", where, sizeof where);
            kl_spec_free(spec);
            return kl_cli_error(KL_EXIT_INPUT, "cannot read data source '%s' (%s)", src, where);
        }
    }
    kl_spec_free(spec);
    if (json)
        return kl_cli_json_print(json_pack("{s:s, s:b}", "file", file, "ok", 1));
    else
        printf("%s: ok\n", file);
    return KL_EXIT_OK;
}

static const struct kl_cmd spec = {"spec", NULL, "Show or check the project spec (keel.yaml).", 20,
                                   NULL};
static const struct kl_cmd show = {"show", cmd_spec_show, "print the effective keel.yaml", 10,
                                   "spec"};
static const struct kl_cmd check = {"check", cmd_spec_check, "validate keel.yaml", 20, "spec"};
KL_COMMANDS(spec, &spec, &show, &check);
