/*
 * keel predict MODEL DATA [-o OUT.csv] | keel predict MODEL --horizon H:
 * batch predictions of a trained model (a run id prefix or a model file) as
 * CSV, or a forecaster's next H steps with prediction intervals.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "keel/csv.h"
#include "keel/train.h"
#include "keel.h"
#include "core/common.h"

static int forecast(kl_model *m, long h, const char *level_text, const char *out_path, int json)
{
    kl_err err = {0};
    double level = 0.95;
    if (level_text) {
        char *end;
        errno = 0;
        level = strtod(level_text, &end);
        if (errno || end == level_text || *end || !(level > 0 && level < 1))
            return kl_cli_error(KL_EXIT_USAGE,
                                "option '--level' needs a number between 0 and 1, not '%s'",
                                level_text);
    }
    size_t n = (size_t)h;
    double *buf = malloc(4 * n * sizeof *buf);
    if (!buf)
        return kl_cli_error(KL_EXIT_INPUT, "out of memory");
    double *mean = buf, *lo = buf + n, *hi = buf + 2 * n, *step = buf + 3 * n;
    int rc = KL_EXIT_OK;
    kl_frame *f = NULL;
    if (kl_model_forecast(m, n, NULL, level, mean, lo, hi, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto done;
    }
    if (json) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, json_pack("{s:i, s:f, s:f, s:f}", "step", (int)i + 1, "mean",
                                               mean[i], "lower", lo[i], "upper", hi[i]));
        rc = kl_cli_json_print(json_pack("{s:f, s:o}", "level", level, "forecast", a));
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        step[i] = (double)(i + 1);
    f = kl_frame_new(n);
    if (!f || kl_frame_add_numeric(f, "step", KL_TYPE_INT, step, &err) < 0 ||
        kl_frame_add_numeric(f, "mean", KL_TYPE_FLOAT, mean, &err) < 0 ||
        kl_frame_add_numeric(f, "lower", KL_TYPE_FLOAT, lo, &err) < 0 ||
        kl_frame_add_numeric(f, "upper", KL_TYPE_FLOAT, hi, &err) < 0 ||
        (out_path ? kl_csv_write_file(f, out_path, NULL, &err)
                  : kl_csv_write_stream(f, stdout, NULL, &err)) < 0)
        rc = kl_cli_fail(&err);
done:
    kl_frame_free(f);
    free(buf);
    return rc;
}

static int cmd_predict_run(struct kl_cli *cli, int argc, char **argv)
{
    const char *out = NULL, *level = NULL;
    long horizon = 0;
    int json = 0;
    const struct kl_opt opts[] = {
        KL_OPT_STRING_("output", 'o', "FILE", &out, "write the CSV here (default: stdout)"),
        KL_OPT_INT_("horizon", 0, "H", &horizon, 1, 100000000,
                    "forecasters: predict the next H steps instead of DATA"),
        KL_OPT_STRING_("level", 0, "P", &level, "forecast interval level (default 0.95)"),
        KL_OPT_JSON_(&json),
        KL_OPT_END_,
    };
    const struct kl_usage u = {
        "[options] MODEL [DATA]",
        "Predict every row of DATA (CSV) with MODEL, a run id prefix (its model\n"
        "artifact) or a model file. Classifiers give the label (binary: at the\n"
        "threshold stored with the model) and one probability column per class;\n"
        "regressors and forecasters give the prediction. With --horizon H a\n"
        "forecaster predicts the H steps after its training series, with\n"
        "prediction intervals.",
        opts, 1, 2};
    char *pos[2];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    if ((n_pos == 2) == (horizon > 0))
        return kl_cli_error(KL_EXIT_USAGE,
                            "give either DATA or --horizon H; see 'keel predict --help'");
    kl_err err = {0};
    kl_model *m = NULL;
    char out_path[4096], data_path[4096];
    if (kl_train_model_open(cli->dir, pos[0], &m, NULL, &err) < 0)
        return kl_cli_fail(&err);
    if (out)
        kl_cli_path(cli, out, out_path, sizeof out_path);
    if (horizon > 0) {
        rc = forecast(m, horizon, level, out ? out_path : NULL, json);
        kl_model_free(m);
        return rc;
    }
    kl_frame *f = NULL, *p = NULL;
    kl_cli_path(cli, pos[1], data_path, sizeof data_path);
    if (kl_csv_read_file(data_path, NULL, &f, NULL, &err) < 0 ||
        kl_train_predict_frame(m, f, &p, &err) < 0) {
        if (!err.ctx[0])
            kl_err_ctx(&err, "%s", data_path);
        rc = kl_cli_fail(&err);
    } else if (json) {
        json_t *a = json_array();
        size_t nr = kl_frame_row_count(p), nc = kl_frame_col_count(p);
        char cell[128];
        for (size_t i = 0; i < nr; i++) {
            json_t *row = json_object();
            for (size_t j = 0; j < nc; j++) {
                const char *name = kl_frame_col_name(p, j);
                if (!kl_frame_cell_str(p, i, j, cell, sizeof cell))
                    json_object_set_new(row, name, json_null());
                else if (kl_frame_col_kind(p, j) == KL_COL_KIND_NUMERIC)
                    json_object_set_new(row, name, json_real(kl_frame_col_f64(p, j)[i]));
                else
                    json_object_set_new(row, name, json_string(cell));
            }
            json_array_append_new(a, row);
        }
        rc = kl_cli_json_print(a);
    } else if ((out ? kl_csv_write_file(p, out_path, NULL, &err)
                    : kl_csv_write_stream(p, stdout, NULL, &err)) < 0) {
        rc = kl_cli_fail(&err);
    } else {
        rc = KL_EXIT_OK;
    }
    kl_frame_free(p);
    kl_frame_free(f);
    kl_model_free(m);
    return rc;
}

static const struct kl_cmd predict = {
    "predict", cmd_predict_run, "predict a CSV file (or forecast) with a trained model", 62, NULL};
KL_COMMANDS(predict, &predict);
