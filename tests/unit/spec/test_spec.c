/*
 * keel.yaml: every section parsed with its values, defaults filled, each
 * class of error with its exact message and line:column, the YAML and JSON
 * writers (round trip), the template, and the CSV options.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keel/spec.h"

/*
 * Allocation failures one by one (curl's torture mode): in builds without
 * AddressSanitizer or ThreadSanitizer (which own malloc there), malloc,
 * calloc and realloc are interposed for the whole process, libyaml and
 * jansson included, and fail once a countdown reaches zero. The countdown runs only around the call
 * under test, so cmocka's own allocations are never failed.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KL_TEST_ALLOC_FAILURES 0
#else
#define KL_TEST_ALLOC_FAILURES 1
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t count, size_t n);
extern void *__libc_realloc(void *p, size_t n);

static long alloc_countdown = -1; /* -1: never fail */

static int alloc_fails(void)
{
    if (alloc_countdown < 0)
        return 0;
    if (alloc_countdown == 0)
        return 1;
    alloc_countdown--;
    return 0;
}

void *malloc(size_t n)
{
    return alloc_fails() ? NULL : __libc_malloc(n);
}

void *calloc(size_t count, size_t n)
{
    return alloc_fails() ? NULL : __libc_calloc(count, n);
}

void *realloc(void *p, size_t n)
{
    return alloc_fails() ? NULL : __libc_realloc(p, n);
}

/* False when something else (valgrind) has replaced malloc and the hook is inert. */
static int alloc_hook_works(void)
{
    alloc_countdown = 0;
    void *volatile p = malloc(16);
    alloc_countdown = -1;
    free(p);
    return p == NULL;
}
#endif

#define FIXTURE(name) KEEL_SOURCE_DIR "/tests/fixtures/spec/" name

static const char *const HEAD = "project: {name: p}\n"
                                "objective: {task: regression, target: y}\n";

static kl_spec *load(const char *yaml)
{
    kl_spec *s = NULL;
    kl_err err = {0};
    int rc = kl_spec_load_buffer(yaml, strlen(yaml), "keel.yaml", &s, &err);
    if (rc != 0)
        fail_msg("unexpected error: %s (%s)", err.msg, err.ctx);
    assert_non_null(s);
    return s;
}

/* HEAD followed by tail. */
static char *with_head(const char *tail)
{
    size_t n = strlen(HEAD) + strlen(tail) + 1;
    char *buf = malloc(n);
    assert_non_null(buf);
    snprintf(buf, n, "%s%s", HEAD, tail);
    return buf;
}

static void expect_error(const char *yaml, int code, const char *msg, const char *ctx)
{
    kl_spec *s = (kl_spec *)0x1;
    kl_err err = {0};
    int rc = kl_spec_load_buffer(yaml, strlen(yaml), "keel.yaml", &s, &err);
    assert_int_equal(rc, code);
    assert_int_equal(err.code, code);
    assert_null(s);
    assert_string_equal(err.msg, msg);
    assert_string_equal(err.ctx, ctx);
}

static void expect_error_after_head(const char *tail, const char *msg, const char *ctx)
{
    char *yaml = with_head(tail);
    expect_error(yaml, KL_EPARSE, msg, ctx);
    free(yaml);
}

static char *to_yaml(const kl_spec *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    kl_err err = {0};
    assert_int_equal(kl_spec_write_yaml(s, fp, &err), 0);
    fclose(fp);
    return buf;
}

static char *to_json(const kl_spec *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    kl_err err = {0};
    assert_int_equal(kl_spec_write_json(s, fp, &err), 0);
    fclose(fp);
    return buf;
}

static kl_spec *load_fixture(const char *path)
{
    kl_spec *s = NULL;
    kl_err err = {0};
    if (kl_spec_load_file(path, &s, &err) != 0)
        fail_msg("cannot load %s: %s (%s)", path, err.msg, err.ctx);
    return s;
}

/* ---- every section ---- */

static void check_full(const kl_spec *s)
{
    assert_int_equal(s->version, 1);
    assert_string_equal(s->project.name, "credit-risk");
    assert_string_equal(s->project.description, "default risk for small loans");
    assert_string_equal(s->project.owner, "risk-team@example.com");

    assert_int_equal(s->objective.task, KL_TASK_CLASSIFICATION);
    assert_string_equal(s->objective.target, "default");
    assert_string_equal(s->objective.business_outcome, "fewer bad loans at the same approval rate");
    assert_string_equal(s->objective.positive_class, "yes");
    assert_int_equal(s->objective.horizon, 0);

    assert_string_equal(s->data.source, "loans.csv");
    assert_string_equal(s->data.time_column, "applied_at");
    assert_string_equal(s->data.segment_column, "region");
    assert_string_equal(s->data.id_column, "loan_id");
    assert_int_equal(s->data.delimiter, ';');
    assert_int_equal(s->data.n_missing_tokens, 3);
    assert_string_equal(s->data.missing_tokens[0], "");
    assert_string_equal(s->data.missing_tokens[1], "NA");
    assert_string_equal(s->data.missing_tokens[2], "?");
    assert_int_equal(s->data.n_columns, 3);
    assert_string_equal(s->data.columns[0].column, "zip");
    assert_int_equal(s->data.columns[0].type, KL_TYPE_CATEGORICAL);
    assert_null(s->data.columns[0].time_format);
    assert_string_equal(s->data.columns[1].column, "applied_at");
    assert_int_equal(s->data.columns[1].type, KL_TYPE_DATE);
    assert_string_equal(s->data.columns[1].time_format, "%d/%m/%Y");
    assert_int_equal(s->data.columns[2].type, KL_TYPE_FLOAT);

    assert_int_equal(s->constraints.n_terms, 1);
    const kl_spec_terms *t = &s->constraints.terms[0];
    assert_string_equal(t->source, "loans.csv");
    assert_string_equal(t->licence, "CC-BY-4.0");
    assert_string_equal(t->terms, "https://example.com/terms");
    assert_int_equal(t->n_purposes, 2);
    assert_string_equal(t->purposes[1], "research");
    assert_string_equal(t->retention, "2 years");
    assert_int_equal(s->constraints.require_terms, 1);
    assert_string_equal(s->constraints.purpose, "credit scoring");
    assert_int_equal(s->constraints.pii_default.action, KL_PII_ACTION_REDACT);
    assert_int_equal(s->constraints.n_pii_columns, 3);
    assert_string_equal(s->constraints.pii_columns[0].name, "email");
    assert_int_equal(s->constraints.pii_columns[0].policy.action, KL_PII_ACTION_HASH);
    assert_string_equal(s->constraints.pii_columns[1].name, "card");
    assert_int_equal(s->constraints.pii_columns[1].policy.action, KL_PII_ACTION_MASK);
    assert_int_equal(s->constraints.pii_columns[1].policy.keep_last, 2);
    assert_int_equal(s->constraints.pii_columns[2].policy.action, KL_PII_ACTION_DROP);
    assert_int_equal(s->constraints.n_pii_entities, 2);
    assert_string_equal(s->constraints.pii_entities[0].name, "phone");
    assert_int_equal(s->constraints.pii_entities[0].policy.action, KL_PII_ACTION_FAIL);
    assert_int_equal(s->constraints.pii_entities[1].policy.action, KL_PII_ACTION_MASK);
    assert_int_equal(s->constraints.pii_entities[1].policy.keep_last, 4); /* the mask default */
    assert_int_equal(s->constraints.n_protected_columns, 2);
    assert_string_equal(s->constraints.protected_columns[1], "race");
    assert_true(s->constraints.min_group_share == 0.1);

    assert_int_equal(s->features.n_include, 3);
    assert_string_equal(s->features.include[2], "age");
    assert_int_equal(s->features.n_exclude, 1);
    assert_int_equal(s->features.n_transforms, 2);
    const kl_spec_transform *tr = &s->features.transforms[0];
    assert_int_equal(tr->n_columns, 1);
    assert_string_equal(tr->columns[0], "income");
    assert_int_equal(tr->op, KL_TRANSFORM_OP_LOG1P);
    assert_int_equal(tr->n_params, 0);
    tr = &s->features.transforms[1];
    assert_int_equal(tr->n_columns, 2);
    assert_string_equal(tr->columns[0], "age");
    assert_int_equal(tr->op, KL_TRANSFORM_OP_IMPUTE);
    assert_int_equal(tr->n_params, 2);
    assert_string_equal(tr->params[0].key, "strategy");
    assert_string_equal(tr->params[0].value, "median");
    assert_int_equal(tr->params[0].quoted, 0);
    assert_string_equal(tr->params[1].key, "fill");
    assert_string_equal(tr->params[1].value, "0");
    assert_int_equal(tr->params[1].quoted, 1);
    assert_int_equal(s->features.has_budget, 1);
    assert_true(s->features.budget == 12.5);
    assert_int_equal(s->features.n_costs, 2);
    assert_string_equal(s->features.costs[1].column, "zip");
    assert_true(s->features.costs[1].cost == 0.25);

    assert_string_equal(s->train.algorithm, "gbdt");
    assert_int_equal(s->train.n_params, 3);
    assert_string_equal(s->train.params[0].key, "eta");
    assert_string_equal(s->train.params[0].value, "0.1");
    assert_string_equal(s->train.params[2].value, "binary");
    assert_int_equal(s->train.params[2].quoted, 0); /* a string either way */
    assert_int_equal(s->train.seed, 7);
    assert_int_equal(s->train.validation.method, KL_VALIDATION_METHOD_STRATIFIED_KFOLD);
    assert_true(s->train.validation.test_size == 0.25);
    assert_int_equal(s->train.validation.folds, 10);
    assert_null(s->train.validation.group_column);
    assert_int_equal(s->train.search.method, KL_SEARCH_METHOD_HALVING);
    assert_int_equal(s->train.search.trials, 50);
    assert_int_equal(s->train.search.n_space, 3);
    const kl_spec_space *sp = &s->train.search.space[0];
    assert_string_equal(sp->param, "eta");
    assert_int_equal(sp->type, KL_PARAM_TYPE_FLOAT);
    assert_true(sp->low == 0.001 && sp->high == 0.3 && sp->log == 1);
    sp = &s->train.search.space[1];
    assert_int_equal(sp->type, KL_PARAM_TYPE_INT);
    assert_true(sp->low == 2 && sp->high == 10 && sp->log == 0);
    sp = &s->train.search.space[2];
    assert_int_equal(sp->type, KL_PARAM_TYPE_CHOICE);
    assert_int_equal(sp->n_values, 2);
    assert_string_equal(sp->values[1], "dart");

    assert_int_equal(s->n_sla, 3);
    assert_string_equal(s->sla[0].metric, "roc_auc");
    assert_int_equal(s->sla[0].bound, KL_SLA_BOUND_MIN);
    assert_true(s->sla[0].threshold == 0.8);
    assert_int_equal(s->sla[0].on, KL_SLA_ON_VALIDATION);
    assert_null(s->sla[0].by);
    assert_int_equal(s->sla[1].bound, KL_SLA_BOUND_MAX);
    assert_true(s->sla[1].threshold == 25);
    assert_int_equal(s->sla[1].on, KL_SLA_ON_PRODUCTION);
    assert_int_equal(s->sla[2].on, KL_SLA_ON_TEST);
    assert_string_equal(s->sla[2].by, "region");

    assert_int_equal(s->n_kpi, 2);
    assert_string_equal(s->kpi[0].name, "net gain");
    assert_null(s->kpi[0].metric);
    assert_string_equal(s->kpi[0].value, "100*tp - 20*fp - 500*fn");
    assert_int_equal(s->kpi[0].has_target, 1);
    assert_true(s->kpi[0].target == 10000);
    assert_int_equal(s->kpi[0].direction, KL_KPI_DIRECTION_MAX);
    assert_string_equal(s->kpi[0].owner, "cfo@example.com");
    assert_string_equal(s->kpi[1].metric, "roc_auc");
    assert_null(s->kpi[1].value);
    assert_int_equal(s->kpi[1].has_target, 0);
    assert_string_equal(s->kpi[1].why, "ranking quality drives the approval threshold");

    assert_string_equal(s->drift.reference, "baseline");
    assert_int_equal(s->drift.window_size, 0);
    assert_string_equal(s->drift.window_period, "7d");
    assert_int_equal(s->drift.n_tests, 2);
    assert_string_equal(s->drift.tests[1].column, "zip");
    assert_int_equal(s->drift.tests[1].test, KL_DRIFT_TEST_CHISQUARE);
    assert_int_equal(s->drift.n_thresholds, 2);
    assert_int_equal(s->drift.thresholds[1].test, KL_DRIFT_TEST_KS);
    assert_true(s->drift.thresholds[1].threshold == 0.05);
    assert_int_equal(s->drift.n_detectors, 2);
    assert_int_equal(s->drift.detectors[1], KL_DRIFT_DETECTOR_PAGE_HINKLEY);

    assert_string_equal(s->serve.host, "0.0.0.0");
    assert_int_equal(s->serve.port, 9090);
    assert_int_equal(s->serve.max_batch, 500);
    assert_int_equal(s->serve.log_predictions, 0);
}

static void test_spec_full_fixture_parses_every_section(void **state)
{
    (void)state;
    kl_spec *s = load_fixture(FIXTURE("full.yaml"));
    check_full(s);
    kl_spec_free(s);
}

static void test_spec_minimal_forecast_fills_defaults(void **state)
{
    (void)state;
    kl_spec *s = load_fixture(FIXTURE("minimal.yaml"));
    assert_int_equal(s->version, 1);
    assert_null(s->project.description);
    assert_int_equal(s->objective.task, KL_TASK_FORECAST);
    assert_int_equal(s->objective.horizon, 1);
    assert_null(s->data.source);
    static const char *const missing[] = {"", "NA", "N/A", "null", "NaN", "None"};
    assert_int_equal(s->data.n_missing_tokens, 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(s->data.missing_tokens[i], missing[i]);
    assert_int_equal(s->data.delimiter, 0);
    assert_int_equal(s->constraints.pii_default.action, KL_PII_ACTION_KEEP);
    assert_int_equal(s->constraints.require_terms, 0);
    assert_true(s->constraints.min_group_share == 0.05);
    assert_string_equal(s->train.algorithm, "ar");
    assert_int_equal(s->train.seed, 42);
    assert_int_equal(s->train.validation.method, KL_VALIDATION_METHOD_TIME_SERIES);
    assert_true(s->train.validation.test_size == 0.2);
    assert_int_equal(s->train.validation.folds, 5);
    assert_int_equal(s->train.search.method, KL_SEARCH_METHOD_NONE);
    assert_int_equal(s->n_sla, 0);
    assert_int_equal(s->n_kpi, 0);
    assert_string_equal(s->serve.host, "127.0.0.1");
    assert_int_equal(s->serve.port, 8080);
    assert_int_equal(s->serve.max_batch, 10000);
    assert_int_equal(s->serve.log_predictions, 1);
    kl_spec_free(s);
}

static void test_spec_default_algorithm_and_split_follow_task(void **state)
{
    (void)state;
    kl_spec *s = load(HEAD);
    assert_string_equal(s->train.algorithm, "ridge");
    assert_int_equal(s->train.validation.method, KL_VALIDATION_METHOD_HOLDOUT);
    assert_int_equal(s->objective.horizon, 0);
    kl_spec_free(s);
    s = load("project: {name: p}\nobjective: {task: classification, target: y}\n");
    assert_string_equal(s->train.algorithm, "logistic");
    assert_int_equal(s->train.validation.method, KL_VALIDATION_METHOD_HOLDOUT);
    kl_spec_free(s);
}

static void test_spec_search_defaults_to_random_with_20_trials(void **state)
{
    (void)state;
    char *yaml =
        with_head("train:\n  search:\n    space: {alpha: {type: float, low: 0, high: 1}}\n");
    kl_spec *s = load(yaml);
    assert_int_equal(s->train.search.method, KL_SEARCH_METHOD_RANDOM);
    assert_int_equal(s->train.search.trials, 20);
    assert_int_equal(s->train.search.n_space, 1);
    kl_spec_free(s);
    free(yaml);
}

static void test_spec_null_values_mean_absent(void **state)
{
    (void)state;
    char *yaml = with_head("serve:\nfeatures: ~\nconstraints:\n  purpose:\n");
    kl_spec *s = load(yaml);
    assert_int_equal(s->serve.port, 8080);
    assert_null(s->constraints.purpose);
    kl_spec_free(s);
    free(yaml);
}

static void test_spec_delimiter_words_and_single_string_lists(void **state)
{
    (void)state;
    char *yaml = with_head("data: {source: a.tsv, delimiter: tab, missing_tokens: '-'}\n"
                           "constraints: {protected: sex}\n");
    kl_spec *s = load(yaml);
    assert_int_equal(s->data.delimiter, '\t');
    assert_int_equal(s->data.n_missing_tokens, 1);
    assert_string_equal(s->data.missing_tokens[0], "-");
    assert_int_equal(s->constraints.n_protected_columns, 1);
    assert_string_equal(s->constraints.protected_columns[0], "sex");
    kl_spec_free(s);
    free(yaml);
}

/* ---- errors: each class with its message and position ---- */

static void test_spec_unknown_key_suggests_nearest(void **state)
{
    (void)state;
    expect_error("project: {name: p}\nobjective:\n  task: regression\n  taget: y\n", KL_EPARSE,
                 "unknown key 'taget' in 'objective'; did you mean 'target'?", "keel.yaml:4:3");
    expect_error("projct: {name: p}\n", KL_EPARSE,
                 "unknown section 'projct'; did you mean 'project'?", "keel.yaml:1:1");
    expect_error_after_head("serve: {hostname_and_port: x}\n",
                            "unknown key 'hostname_and_port' in 'serve'", "keel.yaml:3:9");
}

static void test_spec_wrong_type_names_key_path(void **state)
{
    (void)state;
    expect_error_after_head("sla:\n  - metric: rmse\n    max: 3\n  - metric: mae\n    min: high\n",
                            "'sla[1].min' must be a number, not 'high'", "keel.yaml:7:10");
    expect_error_after_head("serve: {port: [80]}\n", "'serve.port' must be an integer, not a list",
                            "keel.yaml:3:15");
    expect_error_after_head("serve: {log_predictions: maybe}\n",
                            "'serve.log_predictions' must be true or false, not 'maybe'",
                            "keel.yaml:3:26");
    expect_error_after_head("train: fast\n", "'train' must be a mapping, not 'fast'",
                            "keel.yaml:3:8");
    expect_error("- project\n", KL_EPARSE, "the spec must be a mapping of sections, not a list",
                 "keel.yaml:1:1");
}

static void test_spec_bad_enum_lists_choices(void **state)
{
    (void)state;
    expect_error("project: {name: p}\nobjective:\n  task: regresion\n  target: y\n", KL_EPARSE,
                 "'objective.task' must be one of regression, classification, forecast, not "
                 "'regresion'; did you mean 'regression'?",
                 "keel.yaml:3:9");
    expect_error_after_head("data:\n  source: a.csv\n  columns: {age: flaot}\n",
                            "'data.columns.age' must be one of int, float, bool, date, datetime, "
                            "categorical, text, not 'flaot'; did you mean 'float'?",
                            "keel.yaml:5:18");
}

static void test_spec_out_of_range_numbers(void **state)
{
    (void)state;
    expect_error_after_head("serve:\n  port: 70000\n",
                            "'serve.port' must be between 1 and 65535, not '70000'",
                            "keel.yaml:4:9");
    expect_error_after_head("constraints: {min_group_share: 1.5}\n",
                            "'constraints.min_group_share' must be between 0 and 1, not '1.5'",
                            "keel.yaml:3:32");
    expect_error_after_head("train:\n  validation: {test_size: 1}\n",
                            "'train.validation.test_size' must be greater than 0 and less than 1, "
                            "not '1'",
                            "keel.yaml:4:27");
    expect_error("project: {name: p}\nobjective: {task: forecast, target: y, horizon: 0}\n",
                 KL_EPARSE, "'objective.horizon' must be at least 1, not '0'", "keel.yaml:2:49");
}

static void test_spec_missing_required_key(void **state)
{
    (void)state;
    expect_error("project: {name: p}\nobjective:\n  task: regression\n", KL_EPARSE,
                 "missing required key 'target' in 'objective'", "keel.yaml:3:3");
    expect_error("objective: {task: regression, target: y}\n", KL_EPARSE,
                 "missing required section 'project'", "keel.yaml:1:1");
    expect_error_after_head("kpi:\n  - name: gain\n    metric: rmse\n",
                            "missing required key 'why' in 'kpi[0]'", "keel.yaml:4:5");
}

static void test_spec_duplicate_key(void **state)
{
    (void)state;
    expect_error(
        "project: {name: p}\nobjective:\n  task: regression\n  target: y\n  task: forecast\n",
        KL_EPARSE, "duplicate key 'task' in 'objective', first given on line 3", "keel.yaml:5:3");
    expect_error_after_head("serve: {port: 1}\nserve: {port: 2}\n",
                            "duplicate key 'serve' in the spec, first given on line 3",
                            "keel.yaml:4:1");
}

static void test_spec_yaml_syntax_error_gives_libyaml_problem(void **state)
{
    (void)state;
    expect_error("project:\n  name: p\n objective: x\n", KL_EPARSE,
                 "invalid YAML: did not find expected key while parsing a block mapping",
                 "keel.yaml:3:2");
    expect_error("project: {name: p\n", KL_EPARSE,
                 "invalid YAML: did not find expected ',' or '}' while parsing a flow mapping",
                 "keel.yaml:2:1");
}

static void test_spec_tab_indentation_is_explained(void **state)
{
    (void)state;
    expect_error("project:\n\tname: p\n", KL_EPARSE,
                 "invalid YAML: tab character used for indentation; indent with spaces",
                 "keel.yaml:2:1");
}

static void test_spec_empty_file_is_an_error(void **state)
{
    (void)state;
    const char *msg = "the spec is empty; it needs at least 'project' and 'objective'";
    expect_error("", KL_EPARSE, msg, "keel.yaml");
    expect_error("# only a comment\n\n", KL_EPARSE, msg, "keel.yaml");
    expect_error("---\n", KL_EPARSE, msg, "keel.yaml");
}

static void test_spec_alias_is_rejected(void **state)
{
    (void)state;
    expect_error("project: &p {name: p}\nobjective: {task: regression, target: y}\nx: *p\n",
                 KL_EPARSE, "aliases are not supported in keel.yaml ('*p'); write the value out",
                 "keel.yaml:3:4");
}

static void test_spec_future_version_is_refused(void **state)
{
    (void)state;
    expect_error("version: 2\nproject: {name: p}\n", KL_EPARSE,
                 "'version' is 2, but this keel understands only version 1; upgrade keel",
                 "keel.yaml:1:10");
}

static void test_spec_cross_field_rules(void **state)
{
    (void)state;
    expect_error(
        "project: {name: p}\nobjective: {task: regression, target: y, positive_class: a}\n",
        KL_EPARSE, "'objective.positive_class' applies only to classification, not regression",
        "keel.yaml:2:58");
    expect_error_after_head("sla:\n  - {metric: rmse, min: 1, max: 2}\n",
                            "'sla[0]' has both 'min' and 'max'; give one, or write two entries "
                            "for a range",
                            "keel.yaml:4:5");
    expect_error_after_head("sla:\n  - metric: rmse\n", "'sla[0]' needs 'min' or 'max'",
                            "keel.yaml:4:5");
    expect_error_after_head("sla:\n  - {metric: roc_auc, min: 0.8}\n",
                            "'sla[0].metric' is 'roc_auc', which does not apply to regression",
                            "keel.yaml:4:14");
    expect_error_after_head("sla:\n  - {metric: rmsee, max: 1}\n",
                            "'sla[0].metric' is not a known metric: 'rmsee'; did you mean 'rmse'?",
                            "keel.yaml:4:14");
    expect_error_after_head("constraints: {protected: [sex]}\nfeatures: {include: [age, sex]}\n",
                            "'features.include[1]' is 'sex', which "
                            "constraints.protected lists; a protected column cannot be a feature",
                            "keel.yaml:4:27");
    expect_error_after_head("train:\n  validation: {method: group_kfold}\n",
                            "'train.validation.group_column' is required when the method is "
                            "group_kfold",
                            "keel.yaml:4:15");
    expect_error_after_head("train: {algorithm: logistic}\n",
                            "'train.algorithm' is 'logistic', which does not fit a regression task",
                            "keel.yaml:3:20");
    expect_error_after_head("data:\n  source: a.csv\n  columns: {n: {type: int, format: \"%d\"}}\n",
                            "'data.columns.n.format' applies only to date and datetime columns, "
                            "not int",
                            "keel.yaml:5:36");
    expect_error_after_head(
        "train:\n  search:\n    space: {alpha: {type: float, low: 0, high: 1, log: true}}\n",
        "'train.search.space.alpha.low' must be greater than 0 on a log scale, not '0'",
        "keel.yaml:5:39");
    expect_error_after_head(
        "train:\n  search:\n    space: {d: {type: int, low: 1e300, high: 2e300}}\n",
        "'train.search.space.d.low' must be an integer, not '1e300'", "keel.yaml:5:33");
    expect_error_after_head("drift: {window: {size: 10, period: 7d}}\n",
                            "'drift.window' has both 'size' and 'period'; give one",
                            "keel.yaml:3:17");
    expect_error_after_head("drift: {thresholds: {pis: 0.2}}\n",
                            "unknown drift test 'pis' in 'drift.thresholds' (known: psi, ks, "
                            "wasserstein, jensenshannon, chisquare, z); did you mean 'psi'?",
                            "keel.yaml:3:22");
}

static void test_spec_kpi_formula_is_validated(void **state)
{
    (void)state;
    expect_error_after_head("kpi:\n  - {name: g, value: 10*tpp - fp, why: w}\n",
                            "'kpi[0].value' uses unknown name 'tpp'; did you mean 'tp'?",
                            "keel.yaml:4:22");
    expect_error_after_head("kpi:\n  - {name: g, value: (tp - fp, why: w}\n",
                            "'kpi[0].value' is not a valid formula: expected ')' at the end",
                            "keel.yaml:4:22");
    expect_error_after_head("kpi:\n  - {name: g, value: tp fp, why: w}\n",
                            "'kpi[0].value' is not a valid formula: expected an operator at "
                            "character 4",
                            "keel.yaml:4:22");
    char *ok = with_head("kpi:\n  - {name: g, value: \"-(2.5e3*tp + fn) / n\", why: w}\n");
    kl_spec *s = load(ok);
    assert_string_equal(s->kpi[0].value, "-(2.5e3*tp + fn) / n");
    kl_spec_free(s);
    free(ok);
}

static void test_spec_deep_nesting_is_an_error_not_a_crash(void **state)
{
    (void)state;
    char buf[4096];
    size_t j = 0;
    j += (size_t)snprintf(buf, sizeof buf, "x: ");
    for (int i = 0; i < 1000; i++)
        buf[j++] = '[';
    buf[j] = '\0';
    expect_error(buf, KL_EPARSE, "nesting is deeper than 32 levels", "keel.yaml:1:35");
}

static void test_spec_nul_in_value_is_rejected(void **state)
{
    (void)state;
    expect_error("project: {name: \"a\\0b\"}\n", KL_EPARSE, "a value holds a NUL character",
                 "keel.yaml:1:17");
}

static void test_spec_missing_file_is_eio(void **state)
{
    (void)state;
    kl_spec *s = NULL;
    kl_err err = {0};
    assert_int_equal(kl_spec_load_file(FIXTURE("no-such-file.yaml"), &s, &err), KL_EIO);
    assert_null(s);
    assert_string_equal(err.ctx, FIXTURE("no-such-file.yaml"));
}

/* ---- writers, template, helpers ---- */

/* Every allocation of a load, failed in turn, gives KL_ENOMEM and no spec; then it loads. */
static void test_spec_load_survives_each_allocation_failure(void **state)
{
    (void)state;
#if KL_TEST_ALLOC_FAILURES
    if (!alloc_hook_works())
        skip();
    FILE *fp = fopen(FIXTURE("full.yaml"), "rb");
    assert_non_null(fp);
    char text[8192];
    size_t len = fread(text, 1, sizeof text, fp);
    fclose(fp);
    long k = 0;
    for (;; k++) {
        kl_spec *s = (kl_spec *)0x1;
        kl_err err = {0};
        alloc_countdown = k;
        int rc = kl_spec_load_buffer(text, len, "keel.yaml", &s, &err);
        alloc_countdown = -1;
        if (rc == 0) {
            check_full(s);
            kl_spec_free(s);
            break;
        }
        assert_int_equal(rc, KL_ENOMEM);
        assert_null(s);
        assert_true(k < 100000);
    }
    assert_true(k > 10); /* the countdown really reached the loader's allocations */
#else
    skip();
#endif
}

/* The same for both writers: each failure is an error, never a crash. */
static void test_spec_writers_survive_each_allocation_failure(void **state)
{
    (void)state;
#if KL_TEST_ALLOC_FAILURES
    if (!alloc_hook_works())
        skip();
    kl_spec *s = load_fixture(FIXTURE("full.yaml"));
    for (int json = 0; json < 2; json++) {
        for (long k = 0;; k++) {
            FILE *fp = fopen("/dev/null", "w");
            assert_non_null(fp);
            setvbuf(fp, NULL, _IONBF, 0);
            kl_err err = {0};
            alloc_countdown = k;
            int rc = json ? kl_spec_write_json(s, fp, &err) : kl_spec_write_yaml(s, fp, &err);
            alloc_countdown = -1;
            fclose(fp);
            if (rc == 0)
                break;
            assert_true(rc == KL_ENOMEM || rc == KL_EIO);
            assert_true(err.msg[0] != '\0');
            assert_true(k < 100000);
        }
    }
    kl_spec_free(s);
#else
    skip();
#endif
}

static void test_spec_yaml_round_trip_is_equal(void **state)
{
    (void)state;
    const char *fixtures[] = {FIXTURE("full.yaml"), FIXTURE("minimal.yaml")};
    for (size_t i = 0; i < 2; i++) {
        kl_spec *a = load_fixture(fixtures[i]);
        char *ya = to_yaml(a);
        kl_spec *b = load(ya);
        char *yb = to_yaml(b);
        assert_string_equal(ya, yb);
        if (i == 0)
            check_full(b); /* the reloaded spec holds the same values, not just the same text */
        char *ja = to_json(a), *jb = to_json(b);
        assert_string_equal(ja, jb);
        free(ya);
        free(yb);
        free(ja);
        free(jb);
        kl_spec_free(a);
        kl_spec_free(b);
    }
}

static void test_spec_round_trip_keeps_awkward_strings(void **state)
{
    (void)state;
    char *yaml =
        with_head("data:\n  source: \"a: b.csv\"\n  missing_tokens: [\"\", \"null\", \"~\", "
                  "\"#\", \"tab\\there\"]\n"
                  "train: {params: {a: \"1\", b: 1, c: \"null\", d: ---x, e: \"word\"}}\n");
    kl_spec *a = load(yaml);
    char *ya = to_yaml(a);
    kl_spec *b = load(ya);
    assert_string_equal(b->data.source, "a: b.csv");
    assert_int_equal(b->data.n_missing_tokens, 5);
    assert_string_equal(b->data.missing_tokens[0], "");
    assert_string_equal(b->data.missing_tokens[1], "null");
    assert_string_equal(b->data.missing_tokens[2], "~");
    assert_string_equal(b->data.missing_tokens[3], "#");
    assert_string_equal(b->data.missing_tokens[4], "tab\there");
    assert_int_equal(b->train.params[0].quoted, 1);
    assert_int_equal(b->train.params[1].quoted, 0);
    assert_string_equal(b->train.params[2].value, "null");
    assert_int_equal(b->train.params[2].quoted, 1);
    /* Found by fuzzing: a plain value the emitter must quote reads back the same. */
    assert_string_equal(b->train.params[3].value, "---x");
    assert_int_equal(b->train.params[3].quoted, 0);
    assert_int_equal(b->train.params[4].quoted, 0);
    char *yb = to_yaml(b);
    assert_string_equal(ya, yb);
    free(ya);
    free(yb);
    free(yaml);
    kl_spec_free(a);
    kl_spec_free(b);
}

static void test_spec_yaml_writes_defaults(void **state)
{
    (void)state;
    kl_spec *s = load(HEAD);
    char *y = to_yaml(s);
    assert_non_null(strstr(y, "  algorithm: ridge\n"));
    assert_non_null(strstr(y, "  seed: 42\n"));
    assert_non_null(strstr(y, "    test_size: 0.2\n"));
    assert_non_null(strstr(y, "  min_group_share: 0.05\n"));
    assert_non_null(strstr(y, "  port: 8080\n"));
    assert_non_null(strstr(y, "  host: 127.0.0.1\n"));
    free(y);
    kl_spec_free(s);
}

/* Strings another YAML reader would take for a number, bool or null are quoted. */
static void test_spec_yaml_quotes_strings_that_look_typed(void **state)
{
    (void)state;
    kl_spec *s = load("project: {name: 2024, owner: no, description: ~x}\n"
                      "serve: {host: 0x1F}\ndata: {source: 1.2.3}\n"
                      "objective: {task: classification, target: y, positive_class: \"1e3\"}\n");
    char *y = to_yaml(s);
    assert_non_null(strstr(y, "  name: \"2024\"\n"));
    assert_non_null(strstr(y, "  owner: \"no\"\n"));
    assert_non_null(strstr(y, "  description: ~x\n"));
    assert_non_null(strstr(y, "  positive_class: \"1e3\"\n"));
    assert_non_null(strstr(y, "  host: \"0x1F\"\n")); /* an int to YAML 1.1 */
    assert_non_null(strstr(y, "  source: 1.2.3\n"));  /* a string to everyone */
    free(y);
    kl_spec_free(s);
}

static void test_spec_json_holds_the_same_values(void **state)
{
    (void)state;
    kl_spec *s = load_fixture(FIXTURE("full.yaml"));
    char *j = to_json(s);
    json_error_t jerr;
    json_t *root = json_loads(j, 0, &jerr);
    assert_non_null(root);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(root, "objective"), "task")),
        "classification");
    json_t *sla1 = json_array_get(json_object_get(root, "sla"), 1);
    assert_true(json_number_value(json_object_get(sla1, "max")) == 25);
    assert_string_equal(json_string_value(json_object_get(sla1, "on")), "production");
    json_t *card = json_object_get(
        json_object_get(json_object_get(json_object_get(root, "constraints"), "pii"), "columns"),
        "card");
    assert_int_equal(json_integer_value(json_object_get(card, "keep_last")), 2);
    assert_true(json_number_value(json_object_get(json_object_get(root, "constraints"),
                                                  "min_group_share")) == 0.1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(root, "serve"), "port")),
                     9090);
    json_decref(root);
    free(j);
    kl_spec_free(s);
}

static void test_spec_template_loads_and_round_trips(void **state)
{
    (void)state;
    const char *t = kl_spec_template();
    kl_spec *s = load(t);
    assert_string_equal(s->project.name, "my-project");
    assert_int_equal(s->objective.task, KL_TASK_REGRESSION);
    assert_string_equal(s->data.source, "data.csv");
    assert_int_equal(s->n_sla, 1);
    assert_int_equal(s->n_kpi, 0);
    assert_int_equal(s->drift.window_size, 1000);
    char *y = to_yaml(s);
    kl_spec *b = load(y);
    char *y2 = to_yaml(b);
    assert_string_equal(y, y2);
    free(y);
    free(y2);
    kl_spec_free(b);
    kl_spec_free(s);
}

/* keel init replaces the task line; the template must stay valid for every task. */
static void test_spec_template_loads_for_every_task(void **state)
{
    (void)state;
    const char *t = kl_spec_template();
    const char *line = strstr(t, "  task: regression");
    assert_non_null(line);
    const char *tasks[] = {"classification", "forecast"};
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(t) + 32;
        char *buf = malloc(n);
        assert_non_null(buf);
        snprintf(buf, n, "%.*s  task: %s%s", (int)(line - t), t, tasks[i],
                 line + strlen("  task: regression"));
        kl_spec *s = load(buf);
        assert_int_equal(s->objective.task, i == 0 ? KL_TASK_CLASSIFICATION : KL_TASK_FORECAST);
        kl_spec_free(s);
        free(buf);
    }
}

static void test_spec_csv_opts_borrow_from_spec(void **state)
{
    (void)state;
    kl_spec *s = load_fixture(FIXTURE("full.yaml"));
    kl_csv_read_opts opts;
    memset(&opts, 0xff, sizeof opts);
    kl_err err = {0};
    assert_int_equal(kl_spec_csv_opts(s, &opts, &err), 0);
    assert_int_equal(opts.delimiter, ';');
    assert_int_equal(opts.n_missing_tokens, 3);
    assert_ptr_equal(opts.missing_tokens, s->data.missing_tokens);
    assert_int_equal(opts.n_overrides, 3);
    assert_string_equal(opts.overrides[1].column, "applied_at");
    assert_int_equal(opts.overrides[1].type, KL_TYPE_DATE);
    assert_int_equal(opts.no_header, 0);
    assert_int_equal(opts.max_rows, 0);
    kl_spec_free(s);
}

static void test_spec_where_points_into_the_file(void **state)
{
    (void)state;
    kl_spec *s = load_fixture(FIXTURE("full.yaml"));
    char buf[512], expect[512];
    snprintf(expect, sizeof expect, "%s:9:11", FIXTURE("full.yaml"));
    assert_string_equal(kl_spec_where(s, "objective.target", buf, sizeof buf), expect);
    snprintf(expect, sizeof expect, "%s:77:10", FIXTURE("full.yaml"));
    assert_string_equal(kl_spec_where(s, "sla[2].min", buf, sizeof buf), expect);
    snprintf(expect, sizeof expect, "%s:21:10", FIXTURE("full.yaml"));
    assert_string_equal(kl_spec_where(s, "data.columns.zip", buf, sizeof buf), expect);
    assert_string_equal(kl_spec_where(s, "train.validation.group_column", buf, sizeof buf),
                        FIXTURE("full.yaml"));
    kl_spec_free(s);
}

/* data.columns type names are the data module's own (kl_type_parse / kl_type_name). */
static void test_spec_column_types_agree_with_frame_type_names(void **state)
{
    (void)state;
    for (int t = KL_TYPE_INT; t <= KL_TYPE_TEXT; t++) {
        const char *name = kl_type_name((enum kl_type)t);
        assert_int_equal(kl_type_parse(name), t);
        char tail[128];
        snprintf(tail, sizeof tail, "data: {source: a.csv, columns: {c: %s}}\n", name);
        char *yaml = with_head(tail);
        kl_spec *s = load(yaml);
        assert_int_equal(s->data.n_columns, 1);
        assert_int_equal(s->data.columns[0].type, t);
        kl_spec_free(s);
        free(yaml);
    }
}

static void test_spec_metric_and_kpi_name_tables(void **state)
{
    (void)state;
    assert_true(kl_spec_metric_known("rmse"));
    assert_true(kl_spec_metric_known("latency_p99_ms"));
    assert_false(kl_spec_metric_known("rmsee"));
    assert_true(kl_spec_kpi_ident_known("fn"));
    assert_false(kl_spec_kpi_ident_known("rmse"));
    assert_string_equal(kl_task_name(KL_TASK_FORECAST), "forecast");
    assert_string_equal(kl_pii_action_name(KL_PII_ACTION_HASH), "hash");
    assert_string_equal(kl_transform_op_name(KL_TRANSFORM_OP_TARGET_ENCODE), "target_encode");
    assert_string_equal(kl_drift_detector_name(KL_DRIFT_DETECTOR_PAGE_HINKLEY), "page_hinkley");
    assert_string_equal(kl_task_name((enum kl_task)7), "?");
}

/* ---- constraints.expectations, proxy thresholds ---- */

static void test_spec_expectations_parse_each_kind(void **state)
{
    (void)state;
    char *yaml = with_head("data: {source: d.csv, time_column: ts}\n"
                           "constraints:\n"
                           "  proxy_threshold: 0.3\n"
                           "  expectations:\n"
                           "    - {column: age, expect: range, min: 17, max: 90}\n"
                           "    - {column: sex, expect: values, values: [Male, Female]}\n"
                           "    - {column: id, expect: unique}\n"
                           "    - {column: zip, expect: regex, pattern: '^[0-9]{5}$'}\n"
                           "    - {column: y, expect: missing, max_share: 0.1}\n"
                           "    - {expect: rows, min: 100}\n"
                           "    - {column: age, expect: type, type: int}\n"
                           "    - {expect: freshness, max_age: 30d}\n");
    kl_spec *s = load(yaml);
    free(yaml);
    assert_true(s->constraints.proxy_threshold == 0.3);
    assert_true(s->constraints.proxy_auc == 0.8); /* default */
    assert_int_equal(s->constraints.n_expectations, 8);
    const kl_spec_expectation *e = s->constraints.expectations;
    assert_int_equal(e[0].kind, KL_EXPECT_KIND_RANGE);
    assert_true(e[0].has_min && e[0].has_max && e[0].min == 17 && e[0].max == 90);
    assert_int_equal(e[1].n_values, 2);
    assert_string_equal(e[1].values[1], "Female");
    assert_int_equal(e[2].kind, KL_EXPECT_KIND_UNIQUE);
    assert_string_equal(e[3].pattern, "^[0-9]{5}$");
    assert_true(e[4].max_share == 0.1);
    assert_null(e[5].column);
    assert_true(e[5].has_min && !e[5].has_max && e[5].min == 100);
    assert_int_equal(e[6].type, KL_TYPE_INT);
    assert_null(e[7].column);
    assert_int_equal(e[7].max_age_secs, 30 * 86400);
    char *out = to_yaml(s);
    kl_spec *back = load(out);
    assert_int_equal(back->constraints.n_expectations, 8);
    assert_int_equal(back->constraints.expectations[7].max_age_secs, 30 * 86400);
    assert_string_equal(back->constraints.expectations[3].pattern, "^[0-9]{5}$");
    assert_true(back->constraints.proxy_threshold == 0.3);
    free(out);
    kl_spec_free(back);
    kl_spec_free(s);
}

static void test_spec_expectations_reject_bad_entries(void **state)
{
    (void)state;
    expect_error_after_head("constraints: {expectations: [{column: a, expect: rnage}]}\n",
                            "'constraints.expectations[0].expect' must be one of range, values, "
                            "unique, regex, missing, rows, type, freshness, not 'rnage'; did you "
                            "mean 'range'?",
                            "keel.yaml:3:50");
    expect_error_after_head(
        "constraints: {expectations: [{column: a, expect: range, pattern: x}]}\n",
        "'constraints.expectations[0].pattern' does not apply to 'expect: range'",
        "keel.yaml:3:57");
    expect_error_after_head("constraints: {expectations: [{column: a, expect: range}]}\n",
                            "'constraints.expectations[0]' needs 'min', 'max' or both",
                            "keel.yaml:3:30");
    expect_error_after_head("constraints: {expectations: [{expect: unique}]}\n",
                            "missing required key 'column' in 'constraints.expectations[0]'",
                            "keel.yaml:3:30");
    expect_error_after_head(
        "constraints: {expectations: [{column: a, expect: regex, pattern: 'a('}]}\n",
        "'constraints.expectations[0].pattern' is not a valid regular "
        "expression: Unmatched ( or \\(",
        "keel.yaml:3:66");
    expect_error_after_head("data: {source: d.csv, time_column: t}\n"
                            "constraints: {expectations: [{expect: freshness, max_age: 3x}]}\n",
                            "'constraints.expectations[0].max_age' must be a positive number "
                            "followed by s, m, h, d or w (such as 30d), not '3x'",
                            "keel.yaml:4:59");
    expect_error_after_head("constraints: {expectations: [{expect: freshness, max_age: 3d}]}\n",
                            "'constraints.expectations[0]' needs a 'column' (a time column), as "
                            "data.time_column is not set",
                            "keel.yaml:3:30");
    expect_error_after_head("constraints: {proxy_auc: 0.4}\n",
                            "'constraints.proxy_auc' must be between 0.5 and 1, not '0.4'",
                            "keel.yaml:3:26");
}

static void test_spec_profile_alert_thresholds_parse_and_round_trip(void **state)
{
    (void)state;
    kl_spec *d = load(HEAD);
    /* the defaults of ydata-profiling (REFERENCE section 10) and keel's own */
    assert_true(d->constraints.alerts.missing == 0.01 && d->constraints.alerts.zeros == 0.01);
    assert_true(d->constraints.alerts.infinite == 0.01 && d->constraints.alerts.duplicates == 0.01);
    assert_true(d->constraints.alerts.skewed == 20 && d->constraints.alerts.high_cardinality == 50);
    assert_true(d->constraints.alerts.imbalance == 0.5);
    assert_true(d->constraints.alerts.high_correlation == 0.9);
    assert_true(d->constraints.alerts.leakage == 0.98 && d->constraints.alerts.date_like == 0.9);
    kl_spec_free(d);
    char *yaml = with_head("constraints:\n"
                           "  alerts: {missing: 0.2, skewed: 3, high_cardinality: 10,\n"
                           "           high_correlation: 0.75, leakage: 0.95, date_like: 0.5}\n");
    kl_spec *s = load(yaml);
    free(yaml);
    assert_true(s->constraints.alerts.missing == 0.2 && s->constraints.alerts.skewed == 3);
    assert_true(s->constraints.alerts.high_cardinality == 10);
    assert_true(s->constraints.alerts.high_correlation == 0.75);
    assert_true(s->constraints.alerts.leakage == 0.95 && s->constraints.alerts.date_like == 0.5);
    assert_true(s->constraints.alerts.zeros == 0.01); /* unset keeps its default */
    char *out = to_yaml(s);
    kl_spec *back = load(out);
    assert_true(back->constraints.alerts.missing == 0.2 && back->constraints.alerts.skewed == 3);
    assert_true(back->constraints.alerts.leakage == 0.95);
    free(out);
    kl_spec_free(back);
    kl_spec_free(s);
    expect_error_after_head("constraints: {alerts: {missing: 1.5}}\n",
                            "'constraints.alerts.missing' must be between 0 and 1, not '1.5'",
                            "keel.yaml:3:33");
    expect_error_after_head("constraints: {alerts: {skewd: 2}}\n",
                            "unknown key 'skewd' in 'constraints.alerts'; did you mean 'skewed'?",
                            "keel.yaml:3:24");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_full_fixture_parses_every_section),
        cmocka_unit_test(test_spec_profile_alert_thresholds_parse_and_round_trip),
        cmocka_unit_test(test_spec_minimal_forecast_fills_defaults),
        cmocka_unit_test(test_spec_default_algorithm_and_split_follow_task),
        cmocka_unit_test(test_spec_search_defaults_to_random_with_20_trials),
        cmocka_unit_test(test_spec_null_values_mean_absent),
        cmocka_unit_test(test_spec_delimiter_words_and_single_string_lists),
        cmocka_unit_test(test_spec_unknown_key_suggests_nearest),
        cmocka_unit_test(test_spec_wrong_type_names_key_path),
        cmocka_unit_test(test_spec_bad_enum_lists_choices),
        cmocka_unit_test(test_spec_out_of_range_numbers),
        cmocka_unit_test(test_spec_missing_required_key),
        cmocka_unit_test(test_spec_duplicate_key),
        cmocka_unit_test(test_spec_yaml_syntax_error_gives_libyaml_problem),
        cmocka_unit_test(test_spec_tab_indentation_is_explained),
        cmocka_unit_test(test_spec_empty_file_is_an_error),
        cmocka_unit_test(test_spec_alias_is_rejected),
        cmocka_unit_test(test_spec_future_version_is_refused),
        cmocka_unit_test(test_spec_cross_field_rules),
        cmocka_unit_test(test_spec_kpi_formula_is_validated),
        cmocka_unit_test(test_spec_deep_nesting_is_an_error_not_a_crash),
        cmocka_unit_test(test_spec_nul_in_value_is_rejected),
        cmocka_unit_test(test_spec_missing_file_is_eio),
        cmocka_unit_test(test_spec_load_survives_each_allocation_failure),
        cmocka_unit_test(test_spec_writers_survive_each_allocation_failure),
        cmocka_unit_test(test_spec_yaml_round_trip_is_equal),
        cmocka_unit_test(test_spec_round_trip_keeps_awkward_strings),
        cmocka_unit_test(test_spec_yaml_writes_defaults),
        cmocka_unit_test(test_spec_yaml_quotes_strings_that_look_typed),
        cmocka_unit_test(test_spec_json_holds_the_same_values),
        cmocka_unit_test(test_spec_template_loads_and_round_trips),
        cmocka_unit_test(test_spec_template_loads_for_every_task),
        cmocka_unit_test(test_spec_csv_opts_borrow_from_spec),
        cmocka_unit_test(test_spec_where_points_into_the_file),
        cmocka_unit_test(test_spec_column_types_agree_with_frame_type_names),
        cmocka_unit_test(test_spec_metric_and_kpi_name_tables),
        cmocka_unit_test(test_spec_expectations_parse_each_kind),
        cmocka_unit_test(test_spec_expectations_reject_bad_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
