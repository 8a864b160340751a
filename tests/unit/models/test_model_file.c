/*
 * The model file: save -> load -> predict is bit-identical, the bytes are a
 * pure function of the model, the header holds the documented fields at
 * the documented offsets, and truncated, altered, wrong-magic and
 * future-version files fail with clear errors and no crash.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "keel/hash.h"
#include "keel/model.h"
#include "keel/spec.h"

#include "unit/models/fixture.h"

static kl_model *fit_opts(const kl_frame *f, const char *algo, enum kl_task task,
                          const char *target, const kl_pipeline_opts *po)
{
    kl_model_fit_opts o = {
        .algo = algo, .task = task, .target = target, .pipeline = po, .seed = 42};
    kl_model *m = NULL;
    kl_err err = {0};
    int rc = kl_model_fit(f, &o, &m, &err);
    if (rc != 0)
        fprintf(stderr, "fit: %s (%s)\n", err.msg, err.ctx);
    assert_int_equal(rc, 0);
    return m;
}

static void save(const kl_model *m, uint8_t **buf, size_t *len)
{
    kl_err err = {0};
    assert_int_equal(kl_model_save_buffer(m, buf, len, &err), 0);
}

/* Predictions of m and of its reloaded copy are the same bits. */
static void check_roundtrip(const kl_model *m, const kl_frame *f)
{
    uint8_t *b1, *b2;
    size_t l1, l2;
    kl_model *r = NULL;
    kl_err err = {0};
    save(m, &b1, &l1);
    assert_int_equal(kl_model_load_buffer(b1, l1, &r, &err), 0);
    save(r, &b2, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, l1); /* load -> save gives the same bytes */
    kl_model_pred p1, p2;
    assert_int_equal(kl_model_predict(m, f, &p1, &err), 0);
    assert_int_equal(kl_model_predict(r, f, &p2, &err), 0);
    size_t n = p1.n_rows, K = p1.n_classes;
    if (p1.value)
        assert_memory_equal(p1.value, p2.value, n * sizeof(double));
    if (K) {
        assert_memory_equal(p1.proba, p2.proba, n * K * sizeof(double));
        assert_memory_equal(p1.label, p2.label, n * sizeof(int32_t));
    }
    assert_memory_equal(kl_model_schema_hash(m), kl_model_schema_hash(r), 32);
    kl_model_pred_release(&p1);
    kl_model_pred_release(&p2);
    kl_model_free(r);
    free(b1);
    free(b2);
}

static void test_ridge_roundtrip_predicts_bit_identically(void **state)
{
    (void)state;
    kl_frame *f = fx_csv("data/diabetes.csv");
    kl_model *m = fit_opts(f, "ridge", KL_TASK_REGRESSION, "target", NULL);
    check_roundtrip(m, f);
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_logistic_roundtrip_predicts_bit_identically(void **state)
{
    (void)state;
    kl_frame *f = fx_csv("data/iris.csv");
    kl_model *m = fit_opts(f, "logistic", KL_TASK_CLASSIFICATION, "target", NULL);
    check_roundtrip(m, f);
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_pipeline_with_every_encoding_roundtrips(void **state)
{
    (void)state;
    kl_frame *f = fx_csv("data/adult_2000.csv");
    const char *edu[] = {"education"}, *occ[] = {"occupation"}, *cg[] = {"capital_gain"},
               *age[] = {"age"}, *hrs[] = {"hours_per_week"};
    kl_spec_kv te[] = {{"folds", "4", 0}},
               imp[] = {{"strategy", "mean", 0}, {"add_indicator", "true", 0}};
    kl_spec_kv clip[] = {{"min", "20", 0}, {"max", "60", 0}};
    kl_spec_transform tr[] = {
        {edu, 1, KL_TRANSFORM_OP_TARGET_ENCODE, te, 1},
        {occ, 1, KL_TRANSFORM_OP_FREQUENCY, NULL, 0},
        {cg, 1, KL_TRANSFORM_OP_LOG1P, NULL, 0},
        {cg, 1, KL_TRANSFORM_OP_MINMAX, NULL, 0},
        {age, 1, KL_TRANSFORM_OP_IMPUTE, imp, 2},
        {hrs, 1, KL_TRANSFORM_OP_CLIP, clip, 2},
    };
    const char *prot[] = {"sex", "race"};
    kl_pipeline_opts po = {.transforms = tr,
                           .n_transforms = 6,
                           .protected_columns = prot,
                           .n_protected = 2,
                           .seed = 3};
    kl_model *m = fit_opts(f, "logistic", KL_TASK_CLASSIFICATION, "income", &po);
    const kl_pipeline *p = kl_model_pipeline(m);
    for (size_t j = 0; j < kl_pipeline_n_outputs(p); j++) {
        const char *nm = kl_pipeline_output_name(p, j);
        assert_true(strncmp(nm, "sex", 3) != 0 && strncmp(nm, "race", 4) != 0);
    }
    check_roundtrip(m, f);
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_file_is_a_pure_function_of_the_fit(void **state)
{
    (void)state;
    kl_frame *f = fx_csv("data/diabetes.csv");
    kl_model *a = fit_opts(f, "lasso", KL_TASK_REGRESSION, "target", NULL);
    kl_model *b = fit_opts(f, "lasso", KL_TASK_REGRESSION, "target", NULL);
    uint8_t *ba, *bb;
    size_t la, lb;
    save(a, &ba, &la);
    save(b, &bb, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(ba, bb, la);
    free(ba);
    free(bb);
    kl_model_free(a);
    kl_model_free(b);
    kl_frame_free(f);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_header_fields_are_at_documented_offsets(void **state)
{
    (void)state;
    kl_frame *f = fx_csv("data/diabetes.csv");
    kl_model *m = fit_opts(f, "ridge", KL_TASK_REGRESSION, "target", NULL);
    uint8_t *b, sum[32];
    size_t l;
    save(m, &b, &l);
    assert_memory_equal(b, "KEELMDL\0", 8);
    assert_int_equal(le32(b + 8), 1);
    assert_int_equal(le32(b + 12), 5);
    assert_memory_equal(b + 16, "ridge", 5);
    assert_int_equal(le32(b + 21), 0); /* task: regression */
    assert_int_equal(le32(b + 25), 6);
    assert_memory_equal(b + 29, "target", 6);
    assert_int_equal(le32(b + 35), 0); /* no classes */
    assert_int_equal(le32(b + 39), 2); /* ridge: alpha, fit_intercept */
    assert_int_equal(le32(b + 43), 5);
    assert_memory_equal(b + 47, "alpha", 5);
    assert_int_equal(le32(b + 52), 1);
    assert_memory_equal(b + 56, "1", 1);
    /* the last 32 bytes are the SHA-256 of everything before */
    assert_int_equal(kl_sha256(b, l - 32, sum), 0);
    assert_memory_equal(sum, b + l - 32, 32);
    /* the training schema hash is inside */
    uint8_t sh[32];
    assert_int_equal(kl_frame_schema_hash(f, sh), 0);
    assert_memory_equal(kl_model_schema_hash(m), sh, 32);
    assert_non_null(memmem(b, l, sh, 32));
    free(b);
    kl_model_free(m);
    kl_frame_free(f);
}

static void reseal(uint8_t *b, size_t l)
{
    assert_int_equal(kl_sha256(b, l - 32, b + l - 32), 0);
}

static void test_truncated_and_altered_files_are_corrupt(void **state)
{
    (void)state;
    kl_frame *f = fx_csv("data/iris.csv");
    kl_model *m = fit_opts(f, "logistic", KL_TASK_CLASSIFICATION, "target", NULL);
    uint8_t *b;
    size_t l;
    save(m, &b, &l);
    kl_model *r = NULL;
    kl_err err = {0};
    for (size_t cut = 0; cut < l; cut++) {
        int rc = kl_model_load_buffer(b, cut, &r, &err);
        assert_int_equal(rc, KL_ECORRUPT);
        assert_null(r);
    }
    uint8_t *c = malloc(l + 1);
    for (size_t i = 12; i < l; i++) { /* past magic and version */
        memcpy(c, b, l);
        c[i] ^= 0x40;
        assert_int_equal(kl_model_load_buffer(c, l, &r, &err), KL_ECORRUPT);
        assert_null(r);
    }
    memcpy(c, b, l);
    c[l] = 0;
    assert_int_equal(kl_model_load_buffer(c, l + 1, &r, &err), KL_ECORRUPT);
    assert_string_equal(err.msg, "model file checksum mismatch (truncated or altered)");
    free(c);
    free(b);
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_resealed_bad_fields_are_corrupt_not_crashes(void **state)
{
    (void)state;
    kl_frame *f = fx_csv("data/iris.csv");
    kl_model *m = fit_opts(f, "logistic", KL_TASK_CLASSIFICATION, "target", NULL);
    uint8_t *b;
    size_t l;
    save(m, &b, &l);
    uint8_t *c = malloc(l);
    kl_model *r = NULL;
    kl_err err = {0};
    size_t unsupported = 0;
    /* every byte after the version, altered and the checksum recomputed */
    for (size_t i = 12; i < l - 32; i++) {
        for (int v = 0; v < 3; v++) {
            memcpy(c, b, l);
            c[i] = v == 0 ? 0xff : (v == 1 ? 0x00 : (uint8_t)(c[i] + 1));
            reseal(c, l);
            int rc = kl_model_load_buffer(c, l, &r, &err);
            if (rc == 0) { /* a still-valid model (a changed coefficient): it predicts */
                kl_model_pred p;
                assert_int_equal(kl_model_predict(r, f, &p, &err) <= 0, 1);
                kl_model_pred_release(&p);
                kl_model_free(r);
                r = NULL;
                continue;
            }
            assert_true(rc == KL_ECORRUPT || rc == KL_EUNSUPPORTED);
            unsupported += rc == KL_EUNSUPPORTED;
            assert_true(err.msg[0] != 0);
            assert_null(r);
        }
    }
    assert_true(unsupported > 0); /* an altered algorithm name is one */
    free(c);
    free(b);
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_wrong_magic_and_future_version_are_named(void **state)
{
    (void)state;
    kl_frame *f = fx_csv("data/diabetes.csv");
    kl_model *m = fit_opts(f, "ols", KL_TASK_REGRESSION, "target", NULL);
    uint8_t *b;
    size_t l;
    save(m, &b, &l);
    kl_model *r = NULL;
    kl_err err = {0};
    b[8] = 2;
    assert_int_equal(kl_model_load_buffer(b, l, &r, &err), KL_EUNSUPPORTED);
    assert_string_equal(err.msg, "model file format version 2 is newer than this keel reads (1)");
    b[8] = 1;
    b[0] = 'X';
    assert_int_equal(kl_model_load_buffer(b, l, &r, &err), KL_ECORRUPT);
    assert_string_equal(err.msg, "not a keel model file (bad magic)");
    assert_int_equal(kl_model_load_buffer((const uint8_t *)"", 0, &r, &err), KL_ECORRUPT);
    free(b);
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_save_file_and_load_file_roundtrip(void **state)
{
    (void)state;
    kl_frame *f = fx_csv("data/diabetes.csv");
    kl_model *m = fit_opts(f, "ridge", KL_TASK_REGRESSION, "target", NULL);
    kl_err err = {0};
    assert_int_equal(kl_model_set_meta(m, "threshold", "0.5", &err), 0);
    assert_int_equal(kl_model_set_meta(m, "a_first", "x", &err), 0);
    assert_int_equal(kl_model_set_meta(m, "threshold", "0.25", &err), 0);
    char path[] = "/tmp/keel_model_test_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(kl_model_save_file(m, path, &err), 0);
    kl_model *r = NULL;
    assert_int_equal(kl_model_load_file(path, &r, &err), 0);
    assert_string_equal(kl_model_meta(r, "threshold"), "0.25");
    assert_string_equal(kl_model_meta(r, "a_first"), "x");
    assert_null(kl_model_meta(r, "nope"));
    assert_string_equal(kl_model_param_value(r, "alpha"), "1");
    assert_string_equal(kl_model_param_value(r, "fit_intercept"), "true");
    kl_model_free(r);
    unlink(path);
    assert_int_equal(kl_model_load_file(path, &r, &err), KL_ENOTFOUND);
    assert_string_equal(err.ctx, path);
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_describe_names_coefficients_by_feature(void **state)
{
    (void)state;
    kl_frame *f = fx_csv("data/iris.csv");
    kl_model *m = fit_opts(f, "logistic", KL_TASK_CLASSIFICATION, "target", NULL);
    json_t *d = kl_model_describe(m);
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(d, "algorithm")), "logistic");
    json_t *co = json_object_get(json_object_get(d, "coefficients"), "2");
    assert_non_null(co);
    size_t k, p;
    const double *ic, *w;
    assert_int_equal(kl_model_linear_coef(m, &k, &p, &ic, &w, NULL), 0);
    assert_true(json_real_value(json_object_get(co, "petal_width_cm")) == w[2 * p + 3]);
    assert_string_equal(json_string_value(json_object_get(json_object_get(d, "params"), "C")), "1");
    assert_int_equal(json_array_size(json_object_get(d, "classes")), 3);
    assert_non_null(json_object_get(d, "pipeline"));
    json_decref(d);
    kl_model_free(m);
    kl_frame_free(f);
}

static void test_registry_lists_linear_algorithms_and_refuses_duplicates(void **state)
{
    (void)state;
    const char *want[] = {"ols", "ridge", "lasso", "elasticnet", "logistic"};
    for (size_t i = 0; i < 5; i++) {
        const kl_algo *a = kl_algo_find(want[i]);
        assert_non_null(a);
        assert_ptr_equal(kl_algo_at(i), a);
    }
    assert_non_null(kl_algo_find("ar")); /* the forecaster is built in too */
    assert_null(kl_algo_find("no-such-algorithm"));
    kl_err err = {0};
    assert_int_equal(kl_algo_register(kl_algo_find("ridge"), &err), KL_EEXIST);
    kl_frame *f = fx_csv("data/diabetes.csv");
    kl_model *m = fit_opts(f, "ridge", KL_TASK_REGRESSION, "target", NULL);
    double mean;
    assert_int_equal(kl_model_forecast(m, 3, NULL, 0.95, &mean, NULL, NULL, &err),
                     KL_EUNSUPPORTED);
    assert_string_equal(err.msg, "algorithm 'ridge' does not forecast");
    kl_model_free(m);
    kl_frame_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ridge_roundtrip_predicts_bit_identically),
        cmocka_unit_test(test_logistic_roundtrip_predicts_bit_identically),
        cmocka_unit_test(test_pipeline_with_every_encoding_roundtrips),
        cmocka_unit_test(test_file_is_a_pure_function_of_the_fit),
        cmocka_unit_test(test_header_fields_are_at_documented_offsets),
        cmocka_unit_test(test_truncated_and_altered_files_are_corrupt),
        cmocka_unit_test(test_resealed_bad_fields_are_corrupt_not_crashes),
        cmocka_unit_test(test_wrong_magic_and_future_version_are_named),
        cmocka_unit_test(test_save_file_and_load_file_roundtrip),
        cmocka_unit_test(test_describe_names_coefficients_by_feature),
        cmocka_unit_test(test_registry_lists_linear_algorithms_and_refuses_duplicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
