/*
 * keel init [DIR]: start a project: keel.yaml from the commented template
 * (with the name, task, target and data source given here filled in) and
 * the .keel/ store directory.
 */
#include "keel/project.h"
#include "keel.h"
#include "core/common.h"

static const char *const tasks[] = {"regression", "classification", "forecast", NULL};

static int cmd_init_run(struct kl_cli *cli, int argc, char **argv)
{
    kl_init_opts o = {0};
    const struct kl_opt opts[] = {
        KL_OPT_STRING_("name", 0, "NAME", &o.name, "project name (default: the directory's name)"),
        KL_OPT_CHOICE_("task", 0, NULL, &o.task, tasks, "what is predicted"),
        KL_OPT_STRING_("target", 0, "COLUMN", &o.target, "the column to predict"),
        KL_OPT_STRING_("data", 0, "FILE", &o.source, "the CSV data source, relative to DIR"),
        KL_OPT_FLAG_("force", 'f', &o.force, "overwrite an existing keel.yaml"),
        KL_OPT_END_,
    };
    const struct kl_usage u = {
        "[options] [DIR]",
        "Create a keel project in DIR (default: the current directory): a\n"
        "commented keel.yaml template with the values given here filled in, and\n"
        "the .keel/ directory that holds the project's store.",
        opts, 0, 1};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    const char *dir = n_pos ? pos[0] : cli->dir;
    char path[4096];
    if (n_pos)
        dir = kl_cli_path(cli, pos[0], path, sizeof path);
    kl_err err = {0};
    if (kl_project_init(dir, &o, &err) < 0)
        return kl_cli_fail(&err);
    printf("initialised keel project in %s (keel.yaml, .keel/)\n", dir);
    return KL_EXIT_OK;
}

static const struct kl_cmd init = {"init", cmd_init_run,
                                   "create keel.yaml and .keel/ in a directory", 10, NULL};
KL_COMMANDS(init, &init);
