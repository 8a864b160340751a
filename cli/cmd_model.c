/*
 * keel model show MODEL: what a trained model is (algorithm, task, classes,
 * parameters, meta such as the decision threshold, training schema hash and
 * pipeline) and its fitted values (linear: intercept and coefficients by
 * feature name; AR: const, k1..kp, sigma2, AIC, BIC). Everything comes from
 * kl_model_describe; the text form prints the same tree as indented lines.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "keel/train.h"
#include "keel.h"
#include "core/common.h"

static void print_scalar(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        fputs(json_string_value(v), stdout);
        break;
    case JSON_INTEGER:
        printf("%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        printf("%.10g", json_real_value(v));
        break;
    case JSON_TRUE:
        fputs("true", stdout);
        break;
    case JSON_FALSE:
        fputs("false", stdout);
        break;
    default:
        fputs("null", stdout);
    }
}

static int is_scalar(const json_t *v)
{
    return !json_is_object(v) && !json_is_array(v);
}

static void print_tree(const char *key, const json_t *v, int depth)
{
    printf("%*s%s:", 2 * depth, "", key);
    if (is_scalar(v)) {
        putchar(' ');
        print_scalar(v);
        putchar('\n');
        return;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        int flat = 1;
        json_array_foreach(v, i, e) flat &= is_scalar(e);
        if (flat) {
            json_array_foreach(v, i, e)
            {
                fputs(i ? ", " : " ", stdout);
                print_scalar(e);
            }
            putchar('\n');
            return;
        }
        putchar('\n');
        json_array_foreach(v, i, e)
        {
            char k[32];
            snprintf(k, sizeof k, "[%zu]", i);
            print_tree(k, e, depth + 1);
        }
        return;
    }
    putchar('\n');
    const char *k;
    json_t *e;
    json_object_foreach((json_t *)v, k, e) print_tree(k, e, depth + 1);
}

static int cmd_model_show(struct kl_cli *cli, int argc, char **argv)
{
    int json = 0;
    const struct kl_opt opts[] = {KL_OPT_JSON_(&json), KL_OPT_END_};
    const struct kl_usage u = {
        "[options] MODEL",
        "Show MODEL (a run id prefix, a run name, or a model file): algorithm,\n"
        "task, classes, parameters, meta (decision threshold), the training\n"
        "schema hash, the feature pipeline and the fitted values (linear models:\n"
        "intercept and coefficients by feature; AR: const, k1..kp, sigma2, AIC,\n"
        "BIC).",
        opts, 1, 1};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    kl_err err = {0};
    kl_model *m = NULL;
    char run_id[KL_ID_LEN];
    if (kl_train_model_open(cli->dir, pos[0], &m, run_id, &err) < 0)
        return kl_cli_fail(&err);
    json_t *d = kl_model_describe(m);
    kl_model_free(m);
    if (!d)
        return kl_cli_error(KL_EXIT_INPUT, "out of memory");
    if (run_id[0])
        json_object_set_new(d, "run_id", json_string(run_id));
    if (json)
        return kl_cli_json_print(d);
    const char *k;
    json_t *e;
    json_object_foreach(d, k, e) print_tree(k, e, 0);
    json_decref(d);
    return KL_EXIT_OK;
}

static const struct kl_cmd model = {"model", NULL, "Inspect trained models.", 66, NULL};
static const struct kl_cmd model_show = {
    "show", cmd_model_show, "a model's parameters, pipeline and training schema", 1, "model"};
KL_COMMANDS(model, &model, &model_show);
