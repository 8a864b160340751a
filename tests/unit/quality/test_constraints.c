/*
 * Protected features, the proxy check, terms of use and kl_check_run.
 * Expected values are computed by hand in the comments, or (for the real
 * datasets) by a short independent Python computation of the textbook
 * formulas, quoted with the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "keel/constraints.h"
#include "keel/csv.h"
#include "keel/frame.h"
#include "keel/spec.h"

static kl_spec *load(const char *yaml)
{
    kl_spec *s = NULL;
    kl_err err = {0};
    if (kl_spec_load_buffer(yaml, strlen(yaml), "keel.yaml", &s, &err) != 0)
        fail_msg("unexpected error: %s (%s)", err.msg, err.ctx);
    return s;
}

static kl_frame *read_csv(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/data/%s", KEEL_SOURCE_DIR, name);
    kl_frame *f = NULL;
    kl_err err = {0};
    kl_csv_read_opts o = {0};
    if (kl_csv_read_file(path, &o, &f, NULL, &err) != 0)
        fail_msg("cannot read %s: %s", path, err.msg);
    return f;
}

static void add_cat(kl_frame *f, const char *name, const char *const *v)
{
    kl_err err = {0};
    assert_int_equal(kl_frame_add_categorical(f, name, v, &err), 0);
}

static void add_num(kl_frame *f, const char *name, const double *v)
{
    kl_err err = {0};
    assert_int_equal(kl_frame_add_numeric(f, name, KL_TYPE_FLOAT, v, &err), 0);
}

static const kl_proxy *find_pair(const kl_proxy_report *r, const char *attr, const char *feat)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->pairs[i].attribute, attr) && !strcmp(r->pairs[i].feature, feat))
            return &r->pairs[i];
    return NULL;
}

/* ---- protected features ---- */

static const char *const SPEC = "project: {name: p}\n"
                                "objective: {task: classification, target: y}\n"
                                "constraints:\n"
                                "  protected: [sex, race]\n";

static void test_protected_feature_is_refused_with_its_spec_line(void **state)
{
    (void)state;
    kl_spec *s = load(SPEC);
    kl_err err = {0};
    const char *ok[] = {"age", "hours"};
    assert_int_equal(kl_constraints_check_features(s, ok, 2, &err), 0);
    const char *bad[] = {"age", "race"};
    assert_int_equal(kl_constraints_check_features(s, bad, 2, &err), KL_EINVAL);
    assert_string_equal(err.msg, "column 'race' is protected and cannot be a feature");
    assert_string_equal(err.ctx, "keel.yaml:4:20"); /* `race` in `  protected: [sex, race]` */
    size_t n = 0;
    const char *const *p = kl_constraints_protected(s, &n);
    assert_int_equal(n, 2);
    assert_string_equal(p[0], "sex");
    kl_spec_free(s);
}

/* ---- proxies on small frames ---- */

static void test_proxy_cramers_v_of_a_2x2_table_by_hand(void **state)
{
    (void)state;
    /* M: a a a b, F: b b b a. Row and column totals 4, expected 2 per cell,
     * chi2 = 4 * 1^2 / 2 = 2, V = sqrt(2 / 8 / 1) = 0.5. */
    const char *sex[] = {"M", "M", "M", "M", "F", "F", "F", "F"};
    const char *feat[] = {"a", "a", "a", "b", "b", "b", "b", "a"};
    kl_frame *f = kl_frame_new(8);
    add_cat(f, "sex", sex);
    add_cat(f, "f", feat);
    kl_proxy_report r;
    kl_err err = {0};
    const char *attrs[] = {"sex"};
    assert_int_equal(kl_proxy_check(f, attrs, 1, NULL, &r, &err), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.pairs[0].assoc_measure, KL_PROXY_MEASURE_CRAMERS_V);
    assert_true(fabs(r.pairs[0].assoc - 0.5) < 1e-12);
    assert_int_equal(r.pairs[0].rows, 8);
    assert_true(r.pairs[0].flagged); /* 0.5 >= the default 0.5 */
    assert_int_equal(r.pairs[0].measure, KL_PROXY_MEASURE_CRAMERS_V);
    kl_proxy_report_release(&r);
    kl_frame_free(f);
}

static void test_proxy_correlation_ratio_by_hand(void **state)
{
    (void)state;
    /* A: 1 2 3 (mean 2), B: 4 5 6 (mean 5), overall 3.5. SSb = 3*1.5^2*2 =
     * 13.5, SSt = 17.5, eta = sqrt(13.5 / 17.5) = 0.8783100656536799. */
    const char *g[] = {"A", "A", "A", "B", "B", "B"};
    const double x[] = {1, 2, 3, 4, 5, 6};
    kl_frame *f = kl_frame_new(6);
    add_cat(f, "g", g);
    add_num(f, "x", x);
    kl_proxy_report r;
    kl_err err = {0};
    const char *attrs[] = {"g"};
    kl_proxy_opts o = {.threshold = 0.9};
    assert_int_equal(kl_proxy_check(f, attrs, 1, &o, &r, &err), 0);
    assert_int_equal(r.pairs[0].assoc_measure, KL_PROXY_MEASURE_ETA);
    assert_true(fabs(r.pairs[0].assoc - 0.8783100656536799) < 1e-12);
    kl_proxy_report_release(&r);

    /* The other way round: a numeric attribute and a categorical feature give the same eta. */
    const char *attrs2[] = {"x"};
    assert_int_equal(kl_proxy_check(f, attrs2, 1, &o, &r, &err), 0);
    assert_int_equal(r.pairs[0].assoc_measure, KL_PROXY_MEASURE_ETA);
    assert_true(fabs(r.pairs[0].assoc - 0.8783100656536799) < 1e-12);
    assert_true(isnan(r.pairs[0].auc));
    kl_proxy_report_release(&r);
    kl_frame_free(f);
}

static void test_proxy_auc_is_one_for_a_copy_and_half_for_a_constant(void **state)
{
    (void)state;
    enum { N = 1000 };
    const char **grp = malloc(N * sizeof *grp), **cst = malloc(N * sizeof *cst);
    double *num = malloc(N * sizeof *num);
    static const char *const names[] = {"a", "b", "c"};
    for (size_t i = 0; i < N; i++) {
        grp[i] = names[(i * 7) % 3];
        cst[i] = "k";
        num[i] = (double)((i * 7) % 3) * 10.0; /* three values: pure bins */
    }
    kl_frame *f = kl_frame_new(N);
    add_cat(f, "g", grp);
    add_cat(f, "copy", grp);
    add_cat(f, "const", cst);
    add_num(f, "num", num);
    kl_proxy_report r;
    kl_err err = {0};
    const char *attrs[] = {"g"};
    assert_int_equal(kl_proxy_check(f, attrs, 1, NULL, &r, &err), 0);
    const kl_proxy *copy = find_pair(&r, "g", "copy"), *c = find_pair(&r, "g", "const"),
                   *n = find_pair(&r, "g", "num");
    assert_non_null(copy);
    assert_true(copy->auc == 1.0);
    assert_true(fabs(copy->assoc - 1.0) < 1e-12);
    assert_true(c->auc == 0.5); /* every score ties */
    assert_true(isnan(c->assoc));
    assert_false(c->flagged);
    assert_true(n->auc == 1.0);
    kl_proxy_report_release(&r);
    kl_frame_free(f);
    free(grp);
    free(cst);
    free(num);
}

static void test_proxy_skips_protected_and_listed_columns(void **state)
{
    (void)state;
    const char *a[] = {"x", "y", "x", "y"};
    kl_frame *f = kl_frame_new(4);
    add_cat(f, "sex", a);
    add_cat(f, "race", a);
    add_cat(f, "y", a);
    add_cat(f, "f", a);
    kl_proxy_report r;
    kl_err err = {0};
    const char *attrs[] = {"sex", "race"}, *skip[] = {"y"};
    kl_proxy_opts o = {.skip = skip, .n_skip = 1};
    assert_int_equal(kl_proxy_check(f, attrs, 2, &o, &r, &err), 0);
    assert_int_equal(r.n, 2); /* (sex, f) and (race, f) */
    assert_non_null(find_pair(&r, "sex", "f"));
    assert_non_null(find_pair(&r, "race", "f"));
    kl_proxy_report_release(&r);
    const char *missing[] = {"gender"};
    assert_int_equal(kl_proxy_check(f, missing, 1, NULL, &r, &err), KL_ENOTFOUND);
    assert_string_equal(err.msg, "protected column 'gender' is not in the data");
    kl_frame_free(f);
}

/* ---- proxies on real data ---- */

static void test_proxy_adult_relationship_predicts_sex(void **state)
{
    (void)state;
    /* Python, textbook chi-squared: V(relationship, sex) = 0.6362697200104387,
     * V(race, sex) = 0.11069546025743848, eta(age | sex) = 0.07119205481083131. */
    kl_frame *f = read_csv("adult_2000.csv");
    kl_proxy_report r;
    kl_err err = {0};
    const char *attrs[] = {"sex", "race"}, *skip[] = {"income"};
    kl_proxy_opts o = {.skip = skip, .n_skip = 1};
    assert_int_equal(kl_proxy_check(f, attrs, 2, &o, &r, &err), 0);
    const kl_proxy *rel = find_pair(&r, "sex", "relationship");
    assert_non_null(rel);
    assert_true(fabs(rel->assoc - 0.6362697200104387) < 1e-9);
    assert_true(rel->flagged);
    assert_int_equal(rel->measure, KL_PROXY_MEASURE_CRAMERS_V);
    assert_true(rel->auc > 0.8); /* Husband / Wife separate the sexes */
    const kl_proxy *age = find_pair(&r, "sex", "age");
    assert_true(fabs(age->assoc - 0.07119205481083131) < 1e-9);
    assert_false(age->flagged);
    assert_null(find_pair(&r, "sex", "race")); /* both protected */
    assert_null(find_pair(&r, "sex", "income"));
    kl_proxy_report_release(&r);
    kl_frame_free(f);
}

static void test_proxy_compas_decile_score_and_race(void **state)
{
    (void)state;
    /* Python: eta(decile_score | race) = 0.3178027185546156. */
    kl_frame *f = read_csv("compas_two_years.csv");
    kl_proxy_report r;
    kl_err err = {0};
    const char *attrs[] = {"race"};
    assert_int_equal(kl_proxy_check(f, attrs, 1, NULL, &r, &err), 0);
    const kl_proxy *d = find_pair(&r, "race", "decile_score");
    assert_non_null(d);
    assert_true(fabs(d->assoc - 0.3178027185546156) < 1e-9);
    assert_true(d->auc > 0.5 && d->auc < 0.8);
    kl_proxy_report_release(&r);
    kl_frame_free(f);
}

/* ---- terms of use ---- */

static void test_terms_required_and_missing_fails(void **state)
{
    (void)state;
    kl_spec *s = load("project: {name: p}\n"
                      "objective: {task: classification, target: y}\n"
                      "constraints:\n"
                      "  require_terms: true\n");
    kl_err err = {0};
    assert_int_equal(kl_terms_check(s, "data/compas.csv", &err), KL_ECHECK);
    assert_string_equal(err.msg, "data source 'data/compas.csv' has no terms of use in "
                                 "constraints.terms, and constraints.require_terms is true");
    assert_string_equal(err.ctx, "keel.yaml:4:18");
    kl_spec_free(s);
}

static void test_terms_purpose_must_be_allowed(void **state)
{
    (void)state;
    kl_spec *s = load("project: {name: p}\n"
                      "objective: {task: classification, target: y}\n"
                      "constraints:\n"
                      "  terms:\n"
                      "    - {source: compas.csv, licence: ODbL, purposes: [research, audit]}\n"
                      "  require_terms: true\n"
                      "  purpose: marketing\n");
    kl_err err = {0};
    /* matched by file name */
    assert_ptr_equal(kl_terms_find(s, "data/compas.csv"), &s->constraints.terms[0]);
    assert_null(kl_terms_find(s, "adult.csv"));
    assert_int_equal(kl_terms_check(s, "data/compas.csv", &err), KL_ECHECK);
    assert_string_equal(err.msg, "purpose 'marketing' is not allowed by the terms of "
                                 "'compas.csv' (allowed: research, audit)");
    assert_string_equal(err.ctx, "keel.yaml:7:12");
    kl_spec_free(s);
    s = load("project: {name: p}\n"
             "objective: {task: classification, target: y}\n"
             "constraints:\n"
             "  terms: [{source: compas.csv, purposes: [research, audit]}]\n"
             "  purpose: audit\n");
    assert_int_equal(kl_terms_check(s, "compas.csv", &err), 0);
    assert_int_equal(kl_terms_check(s, "other.csv", &err), 0); /* not required */
    kl_spec_free(s);
}

/* ---- everything ---- */

static void test_check_run_counts_violations_and_warnings(void **state)
{
    (void)state;
    kl_frame *f = read_csv("adult_2000.csv");
    kl_spec *s = load("project: {name: p}\n"
                      "objective: {task: classification, target: income}\n"
                      "data: {source: adult.csv, segment_column: workclass}\n"
                      "constraints:\n"
                      "  protected: [sex, race, religion]\n"
                      "  expectations:\n"
                      "    - {column: age, expect: range, min: 18, max: 90}\n"
                      "    - {expect: rows, min: 1000}\n");
    kl_check_report r;
    kl_err err = {0};
    assert_int_equal(kl_check_run(f, s, "adult.csv", &r, &err), 0);
    /* violations: 'religion' missing; age has values 17 (below 18) */
    assert_int_equal(r.protected_, KL_CHECK_STATUS_FAIL);
    assert_int_equal(r.expectations, KL_CHECK_STATUS_FAIL);
    assert_int_equal(r.schema, KL_CHECK_STATUS_OK);
    assert_int_equal(r.terms, KL_CHECK_STATUS_SKIP);
    assert_int_equal(r.proxies, KL_CHECK_STATUS_WARN);
    assert_int_equal(r.n_violations, 2);
    int saw_rel = 0;
    for (size_t i = 0; i < r.n_findings; i++)
        saw_rel |=
            strstr(r.findings[i].msg, "'relationship' is a proxy for protected 'sex'") != NULL;
    assert_true(saw_rel);
    /* sex, race, workclass, then three pairs */
    assert_int_equal(r.represent_report.n_tables, 6);
    assert_int_equal(r.expect_report.n_failed, 1);
    json_t *j = kl_check_report_json(&r);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "violations")), 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "status"), "terms")),
                        "skip");
    json_decref(j);
    kl_check_report_release(&r);
    kl_spec_free(s);
    kl_frame_free(f);
}

static void test_proxy_numeric_pair_uses_abs_pearson(void **state)
{
    (void)state;
    /* x = 1 2 3 4, y = 2 4 7 7: sxy = 9, sxx = 5, syy = 18, r = 9 / sqrt(90) = 0.9486832980505138
     */
    const double x[] = {1, 2, 3, 4}, y[] = {2, 4, 7, 7};
    kl_frame *f = kl_frame_new(4);
    add_num(f, "age", x);
    add_num(f, "y", y);
    kl_proxy_report r;
    kl_err err = {0};
    const char *attrs[] = {"age"};
    assert_int_equal(kl_proxy_check(f, attrs, 1, NULL, &r, &err), 0);
    assert_int_equal(r.pairs[0].assoc_measure, KL_PROXY_MEASURE_PEARSON);
    assert_true(fabs(r.pairs[0].assoc - 0.9486832980505138) < 1e-12);
    assert_true(r.pairs[0].flagged);
    kl_proxy_report_release(&r);
    kl_frame_free(f);
}

static void test_check_run_schema_and_pii_fail_policy(void **state)
{
    (void)state;
    const char *mail[] = {"ann@example.org", "bob@example.com", "cy@example.net", "di@example.org"};
    const double v[] = {1, 2, 3, 4};
    kl_frame *f = kl_frame_new(4);
    kl_err err = {0};
    assert_int_equal(kl_frame_add_text(f, "contact", mail, &err), 0);
    add_num(f, "v", v);
    kl_spec *s = load("project: {name: p}\n"
                      "objective: {task: regression, target: y}\n"
                      "data: {source: d.csv, segment_column: region, columns: {v: int}}\n"
                      "constraints:\n"
                      "  pii: {entities: {email: fail}}\n"
                      "  expectations:\n"
                      "    - {column: contact, expect: regex, pattern: 'x'}\n");
    kl_check_report r;
    assert_int_equal(kl_check_run(f, s, "d.csv", &r, &err), 0);
    assert_int_equal(r.schema, KL_CHECK_STATUS_FAIL);
    assert_int_equal(r.pii, KL_CHECK_STATUS_FAIL);
    assert_int_equal(r.representation, KL_CHECK_STATUS_SKIP); /* the segment column is missing */
    /* target missing, segment missing, v float not int, email fail, expectation */
    assert_int_equal(r.n_violations, 5);
    assert_string_equal(r.findings[0].msg, "target column 'y' is not in the data");
    assert_string_equal(r.findings[0].ctx, "keel.yaml:2:39");
    assert_string_equal(r.findings[1].msg, "data.segment_column 'region' is not in the data");
    assert_string_equal(r.findings[2].msg, "column 'v' is float, but keel.yaml declares int");
    assert_string_equal(r.findings[3].section, "pii");
    assert_string_equal(r.findings[4].section, "expectations");
    /* contact holds emails: its failing values are not shown */
    assert_int_equal(r.expect_report.results[0].n_examples, 1);
    assert_string_equal(r.expect_report.results[0].examples[0], "[hidden]");
    kl_check_report_release(&r);
    kl_spec_free(s);
    kl_frame_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protected_feature_is_refused_with_its_spec_line),
        cmocka_unit_test(test_proxy_cramers_v_of_a_2x2_table_by_hand),
        cmocka_unit_test(test_proxy_correlation_ratio_by_hand),
        cmocka_unit_test(test_proxy_auc_is_one_for_a_copy_and_half_for_a_constant),
        cmocka_unit_test(test_proxy_skips_protected_and_listed_columns),
        cmocka_unit_test(test_proxy_adult_relationship_predicts_sex),
        cmocka_unit_test(test_proxy_compas_decile_score_and_race),
        cmocka_unit_test(test_terms_required_and_missing_fails),
        cmocka_unit_test(test_terms_purpose_must_be_allowed),
        cmocka_unit_test(test_check_run_counts_violations_and_warnings),
        cmocka_unit_test(test_proxy_numeric_pair_uses_abs_pearson),
        cmocka_unit_test(test_check_run_schema_and_pii_fail_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
