/*
 * The feature pipeline on hand-made frames whose outputs are computed by
 * hand here: defaults per column kind, each op, out-of-fold target encoding
 * (leave-one-out folds make it checkable), time ops on the target, date
 * parts, protected columns, errors, and the saved form.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keel/pipeline.h"
#include "keel/rng.h"

static kl_pipeline *fit(const kl_pipeline_opts *o, const kl_frame *f)
{
    kl_pipeline *p = NULL;
    kl_err err = {0};
    int rc = kl_pipeline_fit(o, f, &p, &err);
    if (rc != 0)
        fprintf(stderr, "fit: %s (%s)\n", err.msg, err.ctx);
    assert_int_equal(rc, 0);
    return p;
}

/* All rows of f through p, column-major. */
static double *all(const kl_pipeline *p, const kl_frame *f)
{
    size_t n = kl_frame_row_count(f);
    double *X = malloc((n * kl_pipeline_n_outputs(p) + 1) * sizeof(double));
    kl_err err = {0};
    assert_int_equal(kl_pipeline_transform(p, f, 0, n, X, n, &err), 0);
    return X;
}

static int same(double a, double b)
{
    return (isnan(a) && isnan(b)) || fabs(a - b) <= 1e-12 * fmax(1, fabs(b));
}

static void test_numeric_default_is_median_impute_then_standardize(void **state)
{
    (void)state;
    double x[] = {1, NAN, 3, 10}, y[] = {0, 0, 0, 0};
    kl_frame *f = kl_frame_new(4);
    assert_int_equal(kl_frame_add_numeric(f, "x", KL_TYPE_FLOAT, x, NULL), 0);
    assert_int_equal(kl_frame_add_numeric(f, "y", KL_TYPE_FLOAT, y, NULL), 0);
    kl_pipeline_opts o = {.target = "y"};
    kl_pipeline *p = fit(&o, f);
    assert_int_equal(kl_pipeline_n_outputs(p), 1);
    assert_string_equal(kl_pipeline_output_name(p, 0), "x");
    double *X = all(p, f);
    /* median of 1, 3, 10 is 3: values 1 3 3 10, mean 4.25, population std */
    double v[] = {1, 3, 3, 10}, mean = 4.25, ss = 0;
    for (int i = 0; i < 4; i++)
        ss += (v[i] - mean) * (v[i] - mean);
    for (int i = 0; i < 4; i++)
        assert_true(same(X[i], (v[i] - mean) / sqrt(ss / 4)));
    free(X);
    kl_pipeline_free(p);
    o.defaults = KL_PIPELINE_DEFAULTS_PLAIN;
    p = fit(&o, f);
    X = all(p, f);
    for (int i = 0; i < 4; i++)
        assert_true(X[i] == v[i]);
    free(X);
    kl_pipeline_free(p);
    kl_frame_free(f);
}

static void test_median_of_an_even_count_is_the_mean_of_the_middle_two(void **state)
{
    (void)state;
    double x[] = {4, NAN, 1, 3, 2, 9, -7, NAN}, y[8] = {0};
    kl_frame *f = kl_frame_new(8);
    assert_int_equal(kl_frame_add_numeric(f, "x", KL_TYPE_FLOAT, x, NULL), 0);
    assert_int_equal(kl_frame_add_numeric(f, "y", KL_TYPE_FLOAT, y, NULL), 0);
    kl_pipeline_opts o = {.target = "y", .defaults = KL_PIPELINE_DEFAULTS_PLAIN};
    kl_pipeline *p = fit(&o, f);
    double *X = all(p, f);
    /* sorted: -7 1 2 3 4 9 -> (2 + 3) / 2 */
    assert_true(X[1] == 2.5 && X[7] == 2.5 && X[0] == 4);
    free(X);
    kl_pipeline_free(p);
    kl_frame_free(f);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median the PLAIN pipeline imputes for column x (row 0 of f is missing). */
static double fitted_median(const double *x, size_t n)
{
    double *y = calloc(n, sizeof(double));
    kl_frame *f = kl_frame_new(n);
    assert_int_equal(kl_frame_add_numeric(f, "x", KL_TYPE_FLOAT, x, NULL), 0);
    assert_int_equal(kl_frame_add_numeric(f, "y", KL_TYPE_FLOAT, y, NULL), 0);
    kl_pipeline_opts o = {.target = "y", .defaults = KL_PIPELINE_DEFAULTS_PLAIN};
    kl_pipeline *p = fit(&o, f);
    double v;
    assert_int_equal(kl_pipeline_transform(p, f, 0, 1, &v, 1, NULL), 0);
    kl_pipeline_free(p);
    kl_frame_free(f);
    free(y);
    return v;
}

static void test_median_of_many_values_matches_a_full_sort(void **state)
{
    (void)state;
    /* large columns take the radix selection: checked against qsort's middle values on
       spread-out values, on values packed into a narrow range (every 16-bit pass used),
       and on heavy ties, with odd and even counts */
    size_t sizes[] = {20001, 20002};
    kl_rng r;
    kl_rng_init(&r, 9);
    for (int kind = 0; kind < 3; kind++)
        for (size_t si = 0; si < 2; si++) {
            size_t n = sizes[si], m = n - 1;
            double *x = malloc(n * sizeof(double)), *s = malloc(m * sizeof(double));
            x[0] = NAN;
            for (size_t i = 1; i < n; i++) {
                double z = kl_rng_normal(&r);
                x[i] = kind == 0 ? z * 1e3 : kind == 1 ? 1000.0 + z * 1e-9 : floor(z * 2) - 0.0;
                s[i - 1] = x[i];
            }
            qsort(s, m, sizeof(double), cmp_double);
            double want = m % 2 ? s[m / 2] : 0.5 * (s[m / 2 - 1] + s[m / 2]);
            double got = fitted_median(x, n);
            if (got != want)
                fprintf(stderr, "kind %d n %zu: %.17g vs %.17g\n", kind, n, got, want);
            assert_true(got == want);
            free(x);
            free(s);
        }
}

static kl_frame *mixed(void)
{
    const char *c[] = {"red", "blue", NULL, "red", "green"};
    const char *t[] = {"a b", "c", "d", "e", "f"};
    uint8_t b[] = {1, 0, KL_BOOL_MISSING, 1, 1};
    double y[] = {1, 2, 3, 4, 5}, id[] = {10, 11, 12, 13, 14}, s[] = {0, 1, 0, 1, 0};
    int64_t ts[] = {0, 1, 2, 3, 4};
    kl_frame *f = kl_frame_new(5);
    assert_int_equal(kl_frame_add_categorical(f, "color", c, NULL), 0);
    assert_int_equal(kl_frame_add_text(f, "note", t, NULL), 0);
    assert_int_equal(kl_frame_add_bool(f, "flag", b, NULL), 0);
    assert_int_equal(kl_frame_add_time(f, "when", KL_TYPE_DATETIME, ts, NULL, NULL), 0);
    assert_int_equal(kl_frame_add_numeric(f, "id", KL_TYPE_INT, id, NULL), 0);
    assert_int_equal(kl_frame_add_numeric(f, "sex", KL_TYPE_INT, s, NULL), 0);
    assert_int_equal(kl_frame_add_numeric(f, "y", KL_TYPE_FLOAT, y, NULL), 0);
    return f;
}

static void test_defaults_by_kind_and_columns_left_out(void **state)
{
    (void)state;
    kl_frame *f = mixed();
    const char *prot[] = {"sex"};
    kl_pipeline_opts o = {
        .target = "y", .id_column = "id", .protected_columns = prot, .n_protected = 1};
    kl_pipeline *p = fit(&o, f);
    /* color: one-hot over blue, green, red (sorted); flag: 0/1 */
    assert_int_equal(kl_pipeline_n_outputs(p), 4);
    assert_string_equal(kl_pipeline_output_name(p, 0), "color=blue");
    assert_string_equal(kl_pipeline_output_name(p, 2), "color=red");
    assert_string_equal(kl_pipeline_output_name(p, 3), "flag");
    double *X = all(p, f);
    double want_red[] = {1, 0, 0, 1, 0}, want_flag[] = {1, 0, 1, 1, 1};
    for (int i = 0; i < 5; i++) {
        assert_true(X[2 * 5 + i] == want_red[i]);
        assert_true(X[3 * 5 + i] == want_flag[i]); /* missing -> most frequent (1) */
    }
    /* the missing color is all zeros */
    assert_true(X[0 * 5 + 2] == 0 && X[1 * 5 + 2] == 0 && X[2 * 5 + 2] == 0);
    /* notes say why text, time, id and protected columns are out */
    assert_int_equal(kl_pipeline_note_count(p), 4);
    assert_string_equal(kl_pipeline_note(p, 0), "column 'note' is text: left out");
    assert_string_equal(kl_pipeline_note(p, 2), "column 'id' is the id column: left out");
    assert_string_equal(kl_pipeline_note(p, 3), "column 'sex' is protected: left out");
    free(X);
    kl_pipeline_free(p);
    kl_frame_free(f);
}

static void test_unseen_category_gives_zeros_or_an_error(void **state)
{
    (void)state;
    kl_frame *f = mixed();
    kl_pipeline_opts o = {
        .target = "y", .exclude = (const char *[]){"id", "sex", "flag"}, .n_exclude = 3};
    kl_pipeline *p = fit(&o, f);
    const char *c2[] = {"purple", "red"};
    double y2[] = {0, 0};
    kl_frame *g = kl_frame_new(2);
    assert_int_equal(kl_frame_add_categorical(g, "color", c2, NULL), 0);
    assert_int_equal(kl_frame_add_numeric(g, "y", KL_TYPE_FLOAT, y2, NULL), 0);
    double X[6];
    assert_int_equal(kl_pipeline_transform(p, g, 0, 2, X, 2, NULL), 0);
    assert_true(X[0] == 0 && X[2] == 0 && X[4] == 0);
    assert_true(X[5] == 1); /* red */
    kl_pipeline_free(p);

    const char *cols[] = {"color"};
    kl_spec_kv hu[] = {{"handle_unknown", "error", 0}};
    kl_spec_transform tr[] = {{cols, 1, KL_TRANSFORM_OP_ONEHOT, hu, 1}};
    o.transforms = tr;
    o.n_transforms = 1;
    p = fit(&o, f);
    kl_err err = {0};
    assert_int_equal(kl_pipeline_transform(p, g, 0, 2, X, 2, &err), KL_EINVAL);
    assert_string_equal(err.msg, "unknown category 'purple' in column 'color'");
    assert_string_equal(err.ctx, "row 1");
    kl_pipeline_free(p);
    kl_frame_free(g);
    kl_frame_free(f);
}

static void test_zero_one_column_may_arrive_as_numbers_or_bools(void **state)
{
    (void)state;
    kl_frame *f = mixed();
    kl_pipeline_opts o = {.target = "y", .include = (const char *[]){"flag"}, .n_include = 1};
    kl_pipeline *p = fit(&o, f);
    double v[] = {0, 1, NAN}, y[] = {0, 0, 0}, X[3];
    kl_frame *g = kl_frame_new(3);
    assert_int_equal(kl_frame_add_numeric(g, "flag", KL_TYPE_INT, v, NULL), 0);
    assert_int_equal(kl_frame_add_numeric(g, "y", KL_TYPE_FLOAT, y, NULL), 0);
    assert_int_equal(kl_pipeline_transform(p, g, 0, 3, X, 3, NULL), 0);
    assert_true(X[0] == 0 && X[1] == 1 && X[2] == 1); /* missing: the most frequent, 1 */
    kl_frame_free(g);
    /* but a category is not a number */
    const char *c[] = {"a", "b", "c"};
    g = kl_frame_new(3);
    assert_int_equal(kl_frame_add_categorical(g, "flag", c, NULL), 0);
    kl_err err = {0};
    assert_int_equal(kl_pipeline_transform(p, g, 0, 3, X, 3, &err), KL_EINVAL);
    assert_string_equal(err.msg, "column 'flag' is categorical; the pipeline expects bool");
    kl_frame_free(g);
    kl_pipeline_free(p);
    kl_frame_free(f);
}

static void test_protected_column_named_in_features_is_refused(void **state)
{
    (void)state;
    kl_frame *f = mixed();
    const char *prot[] = {"sex"}, *cols[] = {"sex"};
    kl_spec_transform tr[] = {{cols, 1, KL_TRANSFORM_OP_STANDARDIZE, NULL, 0}};
    kl_pipeline_opts o = {.target = "y",
                          .protected_columns = prot,
                          .n_protected = 1,
                          .transforms = tr,
                          .n_transforms = 1};
    kl_pipeline *p = NULL;
    kl_err err = {0};
    assert_int_equal(kl_pipeline_fit(&o, f, &p, &err), KL_EINVAL);
    assert_string_equal(err.msg, "column 'sex' is protected and cannot be a feature");
    assert_string_equal(err.ctx, "features.transforms[0]");
    kl_pipeline_opts o2 = {.target = "y",
                           .protected_columns = prot,
                           .n_protected = 1,
                           .include = cols,
                           .n_include = 1};
    assert_int_equal(kl_pipeline_fit(&o2, f, &p, &err), KL_EINVAL);
    assert_string_equal(err.ctx, "features.include[0]");
    assert_null(p);
    kl_frame_free(f);
}

static void test_bad_transforms_are_named(void **state)
{
    (void)state;
    kl_frame *f = mixed();
    const char *color[] = {"color"}, *flag[] = {"flag"}, *nope[] = {"colour"};
    kl_spec_kv typo[] = {{"stratgy", "mean", 0}};
    kl_spec_transform t1[] = {{color, 1, KL_TRANSFORM_OP_IMPUTE, typo, 1}};
    kl_spec_transform t2[] = {{flag, 1, KL_TRANSFORM_OP_ONEHOT, NULL, 0}};
    kl_spec_transform t3[] = {{nope, 1, KL_TRANSFORM_OP_LOG1P, NULL, 0}};
    kl_pipeline_opts o = {.target = "y", .transforms = t1, .n_transforms = 1};
    kl_pipeline *p = NULL;
    kl_err err = {0};
    assert_int_equal(kl_pipeline_fit(&o, f, &p, &err), KL_EINVAL);
    assert_string_equal(err.msg,
                        "unknown parameter 'stratgy' for op impute; did you mean 'strategy'?");
    o.transforms = t2;
    assert_int_equal(kl_pipeline_fit(&o, f, &p, &err), KL_EINVAL);
    assert_string_equal(err.msg, "op onehot needs a categorical column; 'flag' is bool");
    o.transforms = t3;
    assert_int_equal(kl_pipeline_fit(&o, f, &p, &err), KL_ENOTFOUND);
    assert_string_equal(err.msg, "no column named 'colour'");
    kl_frame_free(f);
}

static void test_numeric_ops_chain_in_order(void **state)
{
    (void)state;
    double x[] = {-0.5, 0, 3, 99, NAN}, y[] = {0, 0, 0, 0, 0};
    kl_frame *f = kl_frame_new(5);
    assert_int_equal(kl_frame_add_numeric(f, "x", KL_TYPE_FLOAT, x, NULL), 0);
    assert_int_equal(kl_frame_add_numeric(f, "y", KL_TYPE_FLOAT, y, NULL), 0);
    const char *c[] = {"x"};
    kl_spec_kv clip[] = {{"max", "7", 0}}, imp[] = {{"strategy", "constant", 0},
                                                    {"fill_value", "-0.25", 0},
                                                    {"add_indicator", "true", 0}};
    kl_spec_transform tr[] = {{c, 1, KL_TRANSFORM_OP_CLIP, clip, 1},
                              {c, 1, KL_TRANSFORM_OP_LOG1P, NULL, 0},
                              {c, 1, KL_TRANSFORM_OP_IMPUTE, imp, 3},
                              {c, 1, KL_TRANSFORM_OP_MINMAX, NULL, 0}};
    kl_pipeline_opts o = {.target = "y", .transforms = tr, .n_transforms = 4};
    kl_pipeline *p = fit(&o, f);
    assert_int_equal(kl_pipeline_n_outputs(p), 2);
    assert_string_equal(kl_pipeline_output_name(p, 1), "x__missing");
    double *X = all(p, f);
    double v[] = {log1p(-0.5), 0, log1p(3), log1p(7), -0.25};
    double lo = log1p(-0.5), hi = log1p(7);
    for (int i = 0; i < 5; i++) {
        assert_true(same(X[i], (v[i] - lo) / (hi - lo)));
        assert_true(X[5 + i] == (i == 4 ? 1 : 0));
    }
    free(X);
    kl_pipeline_free(p);
    kl_frame_free(f);
}

static void test_frequency_and_target_encoding_out_of_fold(void **state)
{
    (void)state;
    const char *c[] = {"a", "a", "a", "b", "b"};
    double y[] = {1, 2, 6, 3, 5};
    kl_frame *f = kl_frame_new(5);
    assert_int_equal(kl_frame_add_categorical(f, "c", c, NULL), 0);
    assert_int_equal(kl_frame_add_categorical(f, "d", c, NULL), 0);
    assert_int_equal(kl_frame_add_numeric(f, "y", KL_TYPE_FLOAT, y, NULL), 0);
    const char *cc[] = {"c"}, *dd[] = {"d"};
    kl_spec_kv te[] = {{"smooth", "0", 0}, {"folds", "5", 0}};
    kl_spec_transform tr[] = {{cc, 1, KL_TRANSFORM_OP_TARGET_ENCODE, te, 2},
                              {dd, 1, KL_TRANSFORM_OP_FREQUENCY, NULL, 0}};
    kl_pipeline_opts o = {.target = "y", .transforms = tr, .n_transforms = 2, .seed = 9};
    kl_pipeline *p = fit(&o, f);
    double X[10], T[10];
    assert_int_equal(kl_pipeline_transform(p, f, 0, 5, X, 5, NULL), 0);
    assert_int_equal(kl_pipeline_transform_train(p, f, 0, 5, T, 5, NULL), 0);
    /* new rows: category means a = 3, b = 4; frequencies 3/5 and 2/5 */
    double full[] = {3, 3, 3, 4, 4}, freq[] = {0.6, 0.6, 0.6, 0.4, 0.4};
    /* training rows with leave-one-out folds: the mean of the others in the category */
    double loo[] = {4, 3.5, 1.5, 5, 3};
    for (int i = 0; i < 5; i++) {
        assert_true(same(X[i], full[i]));
        assert_true(same(T[i], loo[i]));
        assert_true(same(X[5 + i], freq[i]));
        assert_true(same(T[5 + i], freq[i]));
    }
    kl_pipeline_free(p);
    /* smooth auto: scikit-learn's lambda = v n / (v n + ssd / n), around the global mean */
    te[0].value = "auto";
    p = fit(&o, f);
    assert_int_equal(kl_pipeline_transform(p, f, 0, 5, X, 5, NULL), 0);
    double gm = 3.4, v = 17.2 / 5, ssd_a = 2.4 * 2.4 + 1.4 * 1.4 + 2.6 * 2.6;
    double lam = v * 3 / (v * 3 + ssd_a / 3);
    assert_true(same(X[0], lam * 3 + (1 - lam) * gm));
    kl_pipeline_free(p);
    kl_frame_free(f);
}

static void test_lags_diff_and_rolling_on_the_target_use_only_the_past(void **state)
{
    (void)state;
    double y[] = {1, 2, 4, 7, 11, 16};
    kl_frame *f = kl_frame_new(6);
    assert_int_equal(kl_frame_add_numeric(f, "y", KL_TYPE_FLOAT, y, NULL), 0);
    const char *c[] = {"y"};
    kl_spec_kv lag[] = {{"lags", "2", 0}}, roll[] = {{"window", "3", 0}, {"stats", "mean,std", 0}};
    kl_spec_transform tr[] = {{c, 1, KL_TRANSFORM_OP_LAG, lag, 1},
                              {c, 1, KL_TRANSFORM_OP_DIFF, NULL, 0},
                              {c, 1, KL_TRANSFORM_OP_ROLLING, roll, 2}};
    kl_pipeline_opts o = {.target = "y", .transforms = tr, .n_transforms = 3};
    kl_pipeline *p = fit(&o, f);
    assert_int_equal(kl_pipeline_n_outputs(p), 5);
    assert_string_equal(kl_pipeline_output_name(p, 0), "y__lag1");
    assert_string_equal(kl_pipeline_output_name(p, 2), "y__diff1");
    assert_string_equal(kl_pipeline_output_name(p, 4), "y__rolling_std3");
    assert_int_equal(kl_pipeline_warmup(p), 3);
    double *X = all(p, f);
    /* row 4 (y = 11): lag1 7, lag2 4, diff y[3]-y[2] = 3, mean(2,4,7), std(2,4,7) ddof 1 */
    assert_true(X[0 * 6 + 4] == 7 && X[1 * 6 + 4] == 4 && X[2 * 6 + 4] == 3);
    assert_true(same(X[3 * 6 + 4], 13.0 / 3));
    double m = 13.0 / 3, s = sqrt(((2 - m) * (2 - m) + (4 - m) * (4 - m) + (7 - m) * (7 - m)) / 2);
    assert_true(same(X[4 * 6 + 4], s));
    assert_true(isnan(X[0 * 6 + 0]) && isnan(X[2 * 6 + 1]) && isnan(X[3 * 6 + 2]));
    assert_true(X[2 * 6 + 2] == 1); /* y[1] - y[0] */
    /* a block starting mid-frame looks back into the frame */
    double B[5];
    assert_int_equal(kl_pipeline_transform(p, f, 5, 1, B, 1, NULL), 0);
    assert_true(B[0] == 11 && B[1] == 7 && B[2] == 4);
    free(X);
    kl_pipeline_free(p);
    /* with another column, only_transforms keeps it out */
    double x[] = {5, 5, 5, 5, 5, 5};
    assert_int_equal(kl_frame_add_numeric(f, "x", KL_TYPE_FLOAT, x, NULL), 0);
    p = fit(&o, f);
    assert_int_equal(kl_pipeline_n_outputs(p), 6);
    kl_pipeline_free(p);
    o.only_transforms = 1;
    p = fit(&o, f);
    assert_int_equal(kl_pipeline_n_outputs(p), 5);
    kl_pipeline_free(p);
    kl_frame_free(f);
}

static void test_time_ops_read_rows_sorted_by_the_time_column(void **state)
{
    (void)state;
    /* days 3, 1, 2 with y 30, 10, 20: in time order y is 10, 20, 30, so lag1 is NaN, 10, 20 */
    int64_t day[] = {3 * 86400000000LL, 1 * 86400000000LL, 2 * 86400000000LL};
    double y[] = {30, 10, 20};
    kl_frame *f = kl_frame_new(3);
    assert_int_equal(kl_frame_add_time(f, "day", KL_TYPE_DATE, day, NULL, NULL), 0);
    assert_int_equal(kl_frame_add_numeric(f, "y", KL_TYPE_FLOAT, y, NULL), 0);
    const char *c[] = {"y"};
    kl_spec_kv lag[] = {{"lags", "1", 0}};
    kl_spec_transform tr[] = {{c, 1, KL_TRANSFORM_OP_LAG, lag, 1}};
    kl_pipeline_opts o = {.target = "y", .transforms = tr, .n_transforms = 1, .time_column = "day"};
    kl_frame *s = NULL;
    kl_err err = {0};
    assert_int_equal(kl_pipeline_time_sort(&o, f, &s, &err), 0);
    assert_non_null(s);
    const double *ys = kl_frame_col_f64(s, 1);
    assert_true(ys[0] == 10 && ys[1] == 20 && ys[2] == 30);
    kl_pipeline *p = fit(&o, s);
    double *X = all(p, s);
    assert_true(isnan(X[0]) && X[1] == 10 && X[2] == 20);
    free(X);
    kl_pipeline_free(p);
    /* already in order: nothing to copy */
    kl_frame *again = NULL;
    assert_int_equal(kl_pipeline_time_sort(&o, s, &again, &err), 0);
    assert_null(again);
    /* no time op, or no time column: rows stay as they are */
    o.n_transforms = 0;
    assert_int_equal(kl_pipeline_time_sort(&o, f, &again, &err), 0);
    assert_null(again);
    o.n_transforms = 1;
    o.time_column = "when";
    assert_int_equal(kl_pipeline_time_sort(&o, f, &again, &err), KL_ENOTFOUND);
    assert_string_equal(err.msg, "no column 'when' to order the rows by");
    assert_string_equal(err.ctx, "data.time_column");
    kl_frame_free(s);
    kl_frame_free(f);
}

static void test_date_parts_in_utc(void **state)
{
    (void)state;
    /* 2020-03-04T05:06:07Z is a Wednesday; 1969-12-31T23:00:00Z too */
    int64_t t[] = {1583298367000000LL, -3600000000LL, KL_TIME_MISSING};
    double y[] = {0, 0, 0};
    kl_frame *f = kl_frame_new(3);
    assert_int_equal(kl_frame_add_time(f, "t", KL_TYPE_DATETIME, t, NULL, NULL), 0);
    assert_int_equal(kl_frame_add_numeric(f, "y", KL_TYPE_FLOAT, y, NULL), 0);
    const char *c[] = {"t"};
    kl_spec_transform tr[] = {{c, 1, KL_TRANSFORM_OP_DATE_PARTS, NULL, 0}};
    kl_pipeline_opts o = {.target = "y", .transforms = tr, .n_transforms = 1};
    kl_pipeline *p = fit(&o, f);
    assert_int_equal(kl_pipeline_n_outputs(p), 5);
    assert_string_equal(kl_pipeline_output_name(p, 3), "t__weekday");
    double *X = all(p, f);
    double a[] = {2020, 3, 4, 2, 5}, b[] = {1969, 12, 31, 2, 23};
    for (int q = 0; q < 5; q++) {
        assert_true(X[q * 3 + 0] == a[q]);
        assert_true(X[q * 3 + 1] == b[q]);
        assert_true(isnan(X[q * 3 + 2]));
    }
    free(X);
    kl_pipeline_free(p);
    kl_frame_free(f);
}

static void test_saved_pipeline_transforms_identically_and_rejects_garbage(void **state)
{
    (void)state;
    kl_frame *f = mixed();
    kl_pipeline_opts o = {.target = "y"};
    kl_pipeline *p = fit(&o, f), *q = NULL;
    uint8_t *buf, *buf2;
    size_t len, len2;
    kl_err err = {0};
    assert_int_equal(kl_pipeline_save(p, &buf, &len, &err), 0);
    assert_int_equal(kl_pipeline_load(buf, len, &q, &err), 0);
    assert_int_equal(kl_pipeline_save(q, &buf2, &len2, &err), 0);
    assert_int_equal(len, len2);
    assert_memory_equal(buf, buf2, len);
    double *X = all(p, f), *Y = all(q, f);
    assert_memory_equal(X, Y, 5 * kl_pipeline_n_outputs(p) * sizeof(double));
    assert_int_equal(kl_pipeline_note_count(q), kl_pipeline_note_count(p));
    for (size_t cut = 0; cut < len; cut++) {
        kl_pipeline *r = NULL;
        assert_true(kl_pipeline_load(buf, cut, &r, &err) < 0);
        assert_null(r);
    }
    free(X);
    free(Y);
    free(buf);
    free(buf2);
    kl_pipeline_free(p);
    kl_pipeline_free(q);
    kl_frame_free(f);
}

static void test_options_come_from_keel_yaml(void **state)
{
    (void)state;
    static const char yaml[] = "version: 1\n"
                               "project: {name: p}\n"
                               "objective: {task: regression, target: y}\n"
                               "constraints: {protected: [sex]}\n"
                               "features:\n"
                               "  exclude: [flag]\n"
                               "  transforms:\n"
                               "    - {column: color, op: frequency}\n"
                               "    - {column: y, op: lag, lags: 1}\n"
                               "train: {seed: 7}\n";
    kl_spec *spec = NULL;
    kl_err err = {0};
    int rc = kl_spec_load_buffer(yaml, sizeof yaml - 1, "keel.yaml", &spec, &err);
    if (rc != 0)
        fprintf(stderr, "spec: %s (%s)\n", err.msg, err.ctx);
    assert_int_equal(rc, 0);
    kl_pipeline_opts o;
    kl_pipeline_opts_from_spec(spec, &o);
    assert_string_equal(o.target, "y");
    assert_int_equal(o.seed, 7);
    kl_frame *f = mixed();
    kl_pipeline *p = fit(&o, f);
    /* color by frequency, id (no id column declared) standardized, y's lag; sex, flag out */
    assert_int_equal(kl_pipeline_n_outputs(p), 3);
    assert_string_equal(kl_pipeline_output_name(p, 0), "color__freq");
    assert_string_equal(kl_pipeline_output_name(p, 1), "id");
    assert_string_equal(kl_pipeline_output_name(p, 2), "y__lag1");
    assert_int_equal(kl_pipeline_warmup(p), 1);
    kl_pipeline_free(p);
    kl_frame_free(f);
    kl_spec_free(spec);
}

static void test_byte_streams_are_little_endian_and_bounded(void **state)
{
    (void)state;
    kl_wbuf w;
    kl_wbuf_init(&w);
    kl_wbuf_u32(&w, 0x01020304u);
    kl_wbuf_f64(&w, -0.0);
    kl_wbuf_str(&w, "hi");
    assert_int_equal(w.len, 4 + 8 + 4 + 2);
    assert_true(w.data[0] == 4 && w.data[3] == 1 && w.data[11] == 0x80);
    kl_rbuf r;
    kl_rbuf_init(&r, w.data, w.len);
    assert_int_equal(kl_rbuf_u32(&r), 0x01020304u);
    double z = kl_rbuf_f64(&r);
    assert_true(z == 0 && signbit(z));
    char *s = kl_rbuf_str(&r, 10);
    assert_string_equal(s, "hi");
    free(s);
    assert_true(kl_rbuf_done(&r));
    assert_int_equal(kl_rbuf_u32(&r), 0); /* past the end: zero, and sticky */
    assert_false(r.ok);
    kl_rbuf_init(&r, w.data, w.len);
    assert_int_equal(kl_rbuf_count(&r, 100, 1), 0); /* 0x01020304 is over the max */
    assert_false(r.ok);
    kl_wbuf_release(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numeric_default_is_median_impute_then_standardize),
        cmocka_unit_test(test_median_of_an_even_count_is_the_mean_of_the_middle_two),
        cmocka_unit_test(test_median_of_many_values_matches_a_full_sort),
        cmocka_unit_test(test_defaults_by_kind_and_columns_left_out),
        cmocka_unit_test(test_unseen_category_gives_zeros_or_an_error),
        cmocka_unit_test(test_zero_one_column_may_arrive_as_numbers_or_bools),
        cmocka_unit_test(test_protected_column_named_in_features_is_refused),
        cmocka_unit_test(test_bad_transforms_are_named),
        cmocka_unit_test(test_numeric_ops_chain_in_order),
        cmocka_unit_test(test_frequency_and_target_encoding_out_of_fold),
        cmocka_unit_test(test_lags_diff_and_rolling_on_the_target_use_only_the_past),
        cmocka_unit_test(test_time_ops_read_rows_sorted_by_the_time_column),
        cmocka_unit_test(test_date_parts_in_utc),
        cmocka_unit_test(test_saved_pipeline_transforms_identically_and_rejects_garbage),
        cmocka_unit_test(test_options_come_from_keel_yaml),
        cmocka_unit_test(test_byte_streams_are_little_endian_and_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
