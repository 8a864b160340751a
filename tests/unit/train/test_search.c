/*
 * Hyperparameter search: grids counted by hand, random draws checked for
 * reproducibility, bounds and their distribution (log-uniform fractions
 * against the closed form), successive halving on a deterministic objective
 * whose survivors and schedule are computed here by hand, the direction of
 * the best choice, conditional parameters, the store round trip of a
 * search (children, resume reusing them), and thread-count independence on
 * real data.
 */
#include <ftw.h>
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

#include "keel/csv.h"
#include "keel/metrics.h"
#include "keel/parallel.h"
#include "keel/search.h"
#include "keel/store.h"
#include "keel/track.h"

static kl_spec *spec_from(const char *yaml)
{
    kl_spec *s = NULL;
    kl_err err = {0};
    int rc = kl_spec_load_buffer(yaml, strlen(yaml), "keel.yaml", &s, &err);
    if (rc)
        fprintf(stderr, "spec: %s (%s)\n", err.msg, err.ctx);
    assert_int_equal(rc, 0);
    return s;
}

static int spec_error(const char *yaml, kl_err *err)
{
    kl_spec *s = NULL;
    int rc = kl_spec_load_buffer(yaml, strlen(yaml), "keel.yaml", &s, err);
    kl_spec_free(s);
    return rc;
}

#define HEAD "version: 1\nproject: {name: t}\nobjective: {task: regression, target: y}\n"

static kl_frame *read_data(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/data/%s", KEEL_SOURCE_DIR, name);
    kl_frame *f = NULL;
    kl_err err = {0};
    assert_int_equal(kl_csv_read_file(path, NULL, &f, NULL, &err), 0);
    return f;
}

/* ---- grids ---- */

static void test_grid_is_the_cartesian_product_in_declaration_order(void **state)
{
    (void)state;
    kl_spec *s = spec_from(HEAD "train:\n  search:\n    method: grid\n    space:\n"
                                "      a: {type: choice, values: [x, y, z]}\n"
                                "      b: {type: int, low: 1, high: 4}\n"
                                "      c: {type: float, low: 0.1, high: 0.3, step: 0.1}\n");
    kl_search_params *g = NULL;
    size_t n = 0;
    kl_err err = {0};
    assert_int_equal(kl_search_grid(s->train.search.space, s->train.search.n_space, &g, &n, &err),
                     0);
    assert_int_equal(n, 3 * 4 * 3); /* by hand: 3 choices x 4 ints x 3 floats */
    /* the last entry varies fastest */
    assert_string_equal(kl_search_params_get(&g[0], "a"), "x");
    assert_string_equal(kl_search_params_get(&g[0], "b"), "1");
    assert_string_equal(kl_search_params_get(&g[0], "c"), "0.1");
    assert_string_equal(kl_search_params_get(&g[1], "c"), "0.2");
    assert_string_equal(kl_search_params_get(&g[2], "c"), "0.3");
    assert_string_equal(kl_search_params_get(&g[3], "b"), "2");
    assert_string_equal(kl_search_params_get(&g[35], "a"), "z");
    assert_string_equal(kl_search_params_get(&g[35], "b"), "4");
    /* every combination exactly once */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            int same = 1;
            for (size_t k = 0; k < 3; k++)
                same &= !strcmp(g[i].v[k].value, g[j].v[k].value);
            assert_false(same);
        }
    free(g);
    kl_spec_free(s);
}

static void test_grid_conditional_entry_multiplies_only_where_it_applies(void **state)
{
    (void)state;
    kl_spec *s = spec_from(HEAD "train:\n  search:\n    method: grid\n    space:\n"
                                "      a: {type: choice, values: [x, y, z]}\n"
                                "      b: {type: int, low: 1, high: 4}\n"
                                "      d: {type: int, values: [5, 7], when: {a: x}}\n"
                                "      e: {type: float, low: 1, high: 100, log: true, step: 10}\n");
    kl_search_params *g = NULL;
    size_t n = 0;
    kl_err err = {0};
    assert_int_equal(kl_search_grid(s->train.search.space, s->train.search.n_space, &g, &n, &err),
                     0);
    /* a=x: 4 x 2 x 3 = 24; a=y, a=z: 4 x 3 each = 24; log points 1, 10, 100 */
    assert_int_equal(n, 24 + 24);
    size_t with_d = 0;
    for (size_t i = 0; i < n; i++) {
        const char *a = kl_search_params_get(&g[i], "a"), *d = kl_search_params_get(&g[i], "d");
        if (!strcmp(a, "x")) {
            assert_non_null(d);
            with_d++;
            assert_int_equal(g[i].n, 4);
        } else {
            assert_null(d);
            assert_int_equal(g[i].n, 3);
        }
        const char *e = kl_search_params_get(&g[i], "e");
        assert_true(!strcmp(e, "1") || !strcmp(e, "10") || !strcmp(e, "100"));
    }
    assert_int_equal(with_d, 24);
    free(g);
    kl_spec_free(s);
}

static void test_grid_rejects_a_float_range_without_step(void **state)
{
    (void)state;
    kl_spec *s = spec_from(HEAD "train:\n  search:\n    method: grid\n    space:\n"
                                "      eta: {type: float, low: 0.1, high: 0.3}\n");
    kl_err err = {0};
    assert_int_equal(kl_search_space_check(s->train.search.space, 1, KL_SEARCH_METHOD_GRID, &err),
                     KL_EINVAL);
    assert_non_null(strstr(err.msg, "step or values"));
    assert_string_equal(err.ctx, "train.search.space.eta");
    /* random can sample it */
    assert_int_equal(kl_search_space_check(s->train.search.space, 1, KL_SEARCH_METHOD_RANDOM, &err),
                     0);
    kl_spec_free(s);
}

/* ---- random ---- */

static void test_random_draw_depends_only_on_seed_and_index(void **state)
{
    (void)state;
    kl_spec *s = spec_from(HEAD "train:\n  search:\n    space:\n"
                                "      a: {type: float, low: 0, high: 1}\n"
                                "      b: {type: int, low: 1, high: 1000}\n");
    kl_search_params p, q, r;
    kl_search_sample(s->train.search.space, 2, 7, 5, &p);
    kl_search_sample(s->train.search.space, 2, 7, 3, &r); /* another index in between */
    kl_search_sample(s->train.search.space, 2, 7, 5, &q);
    assert_string_equal(p.v[0].value, q.v[0].value);
    assert_string_equal(p.v[1].value, q.v[1].value);
    assert_true(strcmp(p.v[0].value, r.v[0].value) || strcmp(p.v[1].value, r.v[1].value));
    kl_search_sample(s->train.search.space, 2, 8, 5, &q); /* another seed */
    assert_true(strcmp(p.v[0].value, q.v[0].value) || strcmp(p.v[1].value, q.v[1].value));
    kl_spec_free(s);
}

static void test_random_values_stay_in_bounds_with_the_right_distribution(void **state)
{
    (void)state;
    kl_spec *s = spec_from(HEAD "train:\n  search:\n    space:\n"
                                "      lr: {type: float, low: 0.001, high: 10, log: true}\n"
                                "      die: {type: int, low: 1, high: 6}\n"
                                "      n: {type: int, low: 1, high: 100, log: true}\n"
                                "      u: {type: float, low: -2, high: 2}\n");
    const size_t N = 6000;
    size_t below_01 = 0, faces[7] = {0}, n_le_10 = 0, u_neg = 0;
    for (size_t i = 0; i < N; i++) {
        kl_search_params p;
        kl_search_sample(s->train.search.space, 4, 42, i, &p);
        assert_int_equal(p.n, 4);
        double lr = strtod(kl_search_params_get(&p, "lr"), NULL);
        long die = strtol(kl_search_params_get(&p, "die"), NULL, 10);
        long n = strtol(kl_search_params_get(&p, "n"), NULL, 10);
        double u = strtod(kl_search_params_get(&p, "u"), NULL);
        assert_true(lr >= 0.001 && lr <= 10);
        assert_true(die >= 1 && die <= 6);
        assert_true(n >= 1 && n <= 100);
        assert_true(u >= -2 && u <= 2);
        below_01 += lr < 0.1;
        faces[die]++;
        n_le_10 += n <= 10;
        u_neg += u < 0;
    }
    /*
     * Log-uniform on [1e-3, 10]: P(x < 0.1) = (log 0.1 - log 1e-3) / (log 10 - log 1e-3) = 0.5.
     * Ints on a log scale draw log-uniformly on [0.5, 100.5] and round:
     * P(n <= 10) = log(10.5 / 0.5) / log(100.5 / 0.5). Tolerances are 5 binomial sigmas.
     */
    double sd = sqrt(0.25 / (double)N);
    assert_true(fabs((double)below_01 / (double)N - 0.5) < 5 * sd);
    assert_true(fabs((double)u_neg / (double)N - 0.5) < 5 * sd);
    double p10 = log(10.5 / 0.5) / log(100.5 / 0.5);
    assert_true(fabs((double)n_le_10 / (double)N - p10) < 5 * sqrt(p10 * (1 - p10) / (double)N));
    for (int f = 1; f <= 6; f++)
        assert_true(fabs((double)faces[f] / (double)N - 1.0 / 6) <
                    5 * sqrt((1.0 / 6) * (5.0 / 6) / (double)N));
    kl_spec_free(s);
}

static void test_conditional_params_are_absent_when_the_condition_is_false(void **state)
{
    (void)state;
    kl_spec *s = spec_from(HEAD "train:\n  search:\n    space:\n"
                                "      booster: {type: choice, values: [gbtree, gblinear]}\n"
                                "      max_depth: {type: int, low: 2, high: 8, when: {booster: "
                                "gbtree}}\n"
                                "      alpha: {type: float, low: 0, high: 1}\n");
    size_t seen_tree = 0, seen_linear = 0;
    for (size_t i = 0; i < 400; i++) {
        kl_search_params p;
        kl_search_sample(s->train.search.space, 3, 1, i, &p);
        const char *b = kl_search_params_get(&p, "booster");
        if (!strcmp(b, "gbtree")) {
            seen_tree++;
            assert_non_null(kl_search_params_get(&p, "max_depth"));
        } else {
            seen_linear++;
            assert_null(kl_search_params_get(&p, "max_depth"));
        }
        assert_non_null(kl_search_params_get(&p, "alpha"));
    }
    assert_true(seen_tree > 100 && seen_linear > 100);
    kl_spec_free(s);
}

static void test_spec_rejects_bad_search_entries(void **state)
{
    (void)state;
    kl_err err = {0};
    assert_int_equal(spec_error(HEAD "train:\n  search:\n    space:\n"
                                     "      d: {type: int, low: 1, high: 3, when: {b: x}}\n"
                                     "      b: {type: choice, values: [x]}\n",
                                &err),
                     KL_EPARSE);
    assert_non_null(strstr(err.msg, "must come before 'd'"));
    assert_int_equal(spec_error(HEAD "train:\n  search:\n    space:\n"
                                     "      b: {type: choice, values: [x]}\n"
                                     "      d: {type: int, low: 1, high: 3, when: {b: q}}\n",
                                &err),
                     KL_EPARSE);
    assert_non_null(strstr(err.msg, "not one of the values of 'b'"));
    assert_int_equal(spec_error(HEAD "train:\n  search:\n    method: random\n    factor: 2\n"
                                     "    space: {b: {type: choice, values: [x]}}\n",
                                &err),
                     KL_EPARSE);
    assert_non_null(strstr(err.msg, "applies only to method halving"));
    assert_int_equal(spec_error(HEAD "train:\n  search:\n    space:\n"
                                     "      e: {type: float, low: 1, high: 2, values: [1]}\n",
                                &err),
                     KL_EPARSE);
    assert_int_equal(spec_error(HEAD "train:\n  search:\n    space:\n"
                                     "      e: {type: int, values: [1, 2.5]}\n",
                                &err),
                     KL_EPARSE);
    assert_non_null(strstr(err.msg, "must hold integers"));
    assert_int_equal(spec_error(HEAD "train:\n  search:\n    method: halving\n"
                                     "    min_resources: 0\n"
                                     "    space: {b: {type: choice, values: [x]}}\n",
                                &err),
                     KL_EPARSE);
}

static void test_spec_search_section_round_trips_through_yaml(void **state)
{
    (void)state;
    kl_spec *s = spec_from(HEAD "train:\n  search:\n    method: halving\n    factor: 2\n"
                                "    min_resources: 50\n    space:\n"
                                "      b: {type: choice, values: [x, y]}\n"
                                "      d: {type: int, low: 2, high: 64, log: true, step: 2, "
                                "when: {b: y}}\n"
                                "      e: {type: float, values: [0.5, 0.25]}\n");
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    kl_err err = {0};
    assert_int_equal(kl_spec_write_yaml(s, fp, &err), 0);
    fclose(fp);
    kl_spec *t = spec_from(buf);
    assert_int_equal(t->train.search.method, KL_SEARCH_METHOD_HALVING);
    assert_true(t->train.search.factor == 2);
    assert_int_equal(t->train.search.min_resources, 50);
    assert_int_equal(t->train.search.n_space, 3);
    const kl_spec_space *d = &t->train.search.space[1];
    assert_true(d->step == 2 && d->log && d->low == 2 && d->high == 64);
    assert_int_equal(d->n_when, 1);
    assert_string_equal(d->when[0].key, "b");
    assert_string_equal(d->when[0].value, "y");
    assert_int_equal(t->train.search.space[2].n_values, 2);
    assert_true(t->train.search.space[2].low == 0.25 && t->train.search.space[2].high == 0.5);
    free(buf);
    kl_spec_free(t);
    kl_spec_free(s);
}

/* ---- the engine on a deterministic objective ---- */

struct toy {
    const char *metric;
    int flip_at;        /* rows >= flip_at score 1 - q instead of q (0: never) */
    const char *fail_q; /* a q value whose trial fails */
};

static int toy_fold(void *ctx, const kl_search_params *p, size_t fold, size_t rows,
                    kl_eval_result *out, kl_err *err)
{
    const struct toy *t = ctx;
    const char *qt = kl_search_params_get(p, "q");
    if (t->fail_q && !strcmp(qt, t->fail_q))
        return kl_err_set(err, KL_EINVAL, "toy failure");
    double q = strtod(qt, NULL);
    double v = t->flip_at && rows >= (size_t)t->flip_at ? 1 - q : q;
    memset(out, 0, sizeof *out);
    out->n_metrics = 1;
    /* folds differ by a constant, so the mean is v + 0.01 and the ranking is v's */
    out->metrics[0] = (kl_eval_metric){kl_metric_by_name(t->metric), v + 0.01 * (double)fold};
    return 0;
}

static kl_search_result run_toy(const char *space_yaml, enum kl_search_method m, size_t trials,
                                struct toy *toy, size_t max_rows, kl_spec **keep)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml, HEAD "train:\n  search:\n    space:\n%s", space_yaml);
    kl_spec *s = spec_from(yaml);
    kl_search_plan plan = {.method = m,
                           .space = s->train.search.space,
                           .n_space = s->train.search.n_space,
                           .trials = trials,
                           .factor = 3,
                           .seed = 11};
    kl_search_objective obj = {
        .n_folds = 3, .max_rows = max_rows, .metric = toy->metric, .fold = toy_fold, .ctx = toy};
    kl_search_result r;
    kl_err err = {0};
    int rc = kl_search_run_objective(&plan, &obj, NULL, &r, &err);
    if (rc)
        fprintf(stderr, "search: %s (%s)\n", err.msg, err.ctx);
    assert_int_equal(rc, 0);
    *keep = s; /* the result's params point into the spec's keys */
    return r;
}

static double q_of(const kl_search_trial *t)
{
    return strtod(kl_search_params_get(&t->params, "q"), NULL);
}

static void test_halving_keeps_the_top_third_each_rung_on_the_sklearn_schedule(void **state)
{
    (void)state;
    struct toy toy = {.metric = "r2", .flip_at = 900};
    kl_spec *sp = NULL;
    kl_search_result r = run_toy("      q: {type: float, low: 0, high: 1}\n",
                                 KL_SEARCH_METHOD_HALVING, 9, &toy, 900, &sp);
    /*
     * By hand (scikit-learn's _run_search): 9 candidates, factor 3 -> 1 + floor(log3 9) = 3
     * rungs needed; min_resources exhaust = max(2 x 3 folds, 900 // 3^2) = 100; possible rungs
     * 1 + floor(log3(900 / 100)) = 3. Rungs: 9 on 100 rows, 3 on 300, 1 on 900.
     */
    assert_int_equal(r.n_rungs, 3);
    assert_int_equal(r.rung_candidates[0], 9);
    assert_int_equal(r.rung_candidates[1], 3);
    assert_int_equal(r.rung_candidates[2], 1);
    assert_int_equal(r.rung_resources[0], 100);
    assert_int_equal(r.rung_resources[1], 300);
    assert_int_equal(r.rung_resources[2], 900);
    assert_int_equal(r.n_trials, 13);
    /* rung 1 holds exactly the 3 highest q of rung 0 */
    double q0[9];
    for (size_t i = 0; i < 9; i++) {
        assert_int_equal(r.trials[i].rung, 0);
        assert_int_equal(r.trials[i].n_resources, 100);
        q0[i] = q_of(&r.trials[i]);
        assert_true(fabs(r.trials[i].mean - (q0[i] + 0.01)) < 1e-12);
    }
    for (size_t k = 9; k < 12; k++) {
        const kl_search_trial *t = &r.trials[k];
        assert_int_equal(t->rung, 1);
        size_t higher = 0; /* how many rung-0 candidates beat it */
        for (size_t i = 0; i < 9; i++)
            higher += q0[i] > q_of(t);
        assert_true(higher < 3);
    }
    /* rung 2 (900 rows) scores 1 - q: the survivor is the best of rung 1 by q (rows 300) */
    double best1 = -1;
    size_t best1_id = 0;
    for (size_t k = 9; k < 12; k++)
        if (q_of(&r.trials[k]) > best1) {
            best1 = q_of(&r.trials[k]);
            best1_id = r.trials[k].id;
        }
    assert_int_equal(r.trials[12].rung, 2);
    assert_int_equal(r.trials[12].id, best1_id);
    assert_int_equal(r.best, 12);
    kl_search_result_release(&r);
    kl_spec_free(sp);
}

static void test_best_trial_follows_the_metric_direction(void **state)
{
    (void)state;
    const char *space = "      q: {type: int, low: 1, high: 9}\n";
    struct toy up = {.metric = "r2"}, down = {.metric = "rmse"};
    kl_spec *sa = NULL, *sb = NULL;
    kl_search_result a = run_toy(space, KL_SEARCH_METHOD_GRID, 0, &up, 100, &sa);
    kl_search_result b = run_toy(space, KL_SEARCH_METHOD_GRID, 0, &down, 100, &sb);
    assert_int_equal(a.n_trials, 9);
    assert_true(a.higher_is_better);
    assert_false(b.higher_is_better);
    assert_string_equal(kl_search_params_get(&a.trials[a.best].params, "q"), "9");
    assert_string_equal(kl_search_params_get(&b.trials[b.best].params, "q"), "1");
    /* mean and std over the 3 folds: q + 0.01, sample std of {0, 0.01, 0.02} = 0.01 */
    assert_true(fabs(a.trials[a.best].mean - 9.01) < 1e-12);
    assert_true(fabs(a.trials[a.best].std - 0.01) < 1e-12);
    kl_search_result_release(&a);
    kl_search_result_release(&b);
    kl_spec_free(sa);
    kl_spec_free(sb);
}

static void test_a_failed_trial_is_kept_and_never_wins(void **state)
{
    (void)state;
    struct toy toy = {.metric = "r2", .fail_q = "9"};
    kl_spec *sp = NULL;
    kl_search_result r = run_toy("      q: {type: int, low: 1, high: 9}\n", KL_SEARCH_METHOD_GRID,
                                 0, &toy, 100, &sp);
    assert_int_equal(r.n_trials, 9);
    assert_false(r.trials[8].ok);
    assert_true(isnan(r.trials[8].mean));
    assert_non_null(strstr(r.trials[8].error, "toy failure"));
    assert_string_equal(kl_search_params_get(&r.trials[r.best].params, "q"), "8");
    kl_search_result_release(&r);
    kl_spec_free(sp);
}

/* ---- real data: threads, the store, resume ---- */

static const char *iris_yaml =
    "version: 1\nproject: {name: t}\nobjective: {task: classification, target: target}\n"
    "train:\n  algorithm: gbdt\n  params: {n_estimators: 15}\n"
    "  validation: {method: stratified_kfold, folds: 3}\n"
    "  search:\n    method: random\n    trials: 6\n    space:\n"
    "      max_depth: {type: int, low: 1, high: 5}\n"
    "      eta: {type: float, low: 0.05, high: 0.5, log: true}\n";

static void test_results_do_not_depend_on_the_thread_count(void **state)
{
    (void)state;
    kl_frame *f = read_data("iris.csv");
    kl_spec *s = spec_from(iris_yaml);
    kl_train_opts to = {.spec = s};
    kl_search_opts so = {.no_final = 1};
    kl_search_result r1, r2;
    kl_err err = {0};
    kl_threads_set(1);
    assert_int_equal(kl_search_run(f, &to, &so, NULL, &r1, &err), 0);
    kl_threads_set(2);
    assert_int_equal(kl_search_run(f, &to, &so, NULL, &r2, &err), 0);
    kl_threads_set(0);
    assert_int_equal(r1.n_trials, 6);
    assert_int_equal(r2.n_trials, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_true(r1.trials[i].ok);
        assert_memory_equal(&r1.trials[i].mean, &r2.trials[i].mean, sizeof(double));
        assert_memory_equal(&r1.trials[i].std, &r2.trials[i].std, sizeof(double));
        assert_int_equal(r1.trials[i].n_metrics, r2.trials[i].n_metrics);
        assert_memory_equal(r1.trials[i].fold_values, r2.trials[i].fold_values,
                            3 * r1.trials[i].n_metrics * sizeof(double));
    }
    assert_int_equal(r1.best, r2.best);
    kl_search_result_release(&r1);
    kl_search_result_release(&r2);
    kl_spec_free(s);
    kl_frame_free(f);
}

static void test_search_refits_the_best_and_its_cv_equals_the_trial(void **state)
{
    (void)state;
    kl_frame *f = read_data("iris.csv");
    kl_spec *s = spec_from(iris_yaml);
    kl_train_opts to = {.spec = s};
    kl_search_result r;
    kl_err err = {0};
    assert_int_equal(kl_search_run(f, &to, NULL, NULL, &r, &err), 0);
    assert_non_null(r.final.model);
    assert_string_equal(r.metric, "accuracy"); /* multiclass main metric */
    const kl_search_trial *b = &r.trials[r.best];
    for (size_t i = 0; i < b->params.n; i++)
        assert_string_equal(kl_model_param_value(r.final.model, b->params.v[i].key) ? "ok" : "",
                            "ok");
    /* kl_train's own CV of the best params reproduces the trial's mean exactly */
    double v = NAN;
    for (size_t j = 0; j < r.final.n_metrics; j++)
        if (!strcmp(r.final.metrics[j].desc->name, r.metric))
            v = r.final.metrics[j].mean;
    assert_memory_equal(&v, &b->mean, sizeof v);
    kl_search_result_release(&r);
    kl_spec_free(s);
    kl_frame_free(f);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int stop_after(void *ctx, kl_search_trial *t, size_t n_folds, kl_err *err);

struct stopper {
    kl_search_hooks inner;
    size_t limit, seen;
    volatile sig_atomic_t *stop;
};

static int stop_after(void *ctx, kl_search_trial *t, size_t n_folds, kl_err *err)
{
    struct stopper *st = ctx;
    int rc = st->inner.trial_done(st->inner.ctx, t, n_folds, err);
    if (++st->seen >= st->limit)
        *st->stop = 1;
    return rc;
}

static void test_resumed_search_reuses_finished_children_and_equals_a_full_run(void **state)
{
    (void)state;
    char dir[] = "/tmp/keel_search_XXXXXX";
    assert_non_null(mkdtemp(dir));
    kl_frame *f = read_data("iris.csv");
    kl_spec *s = spec_from(iris_yaml);
    kl_train_opts to = {.spec = s};
    kl_err err = {0};
    kl_store *st = NULL;
    assert_int_equal(kl_store_open(dir, NULL, &st, &err), 0);

    /* the reference: uninterrupted */
    kl_search_result full;
    kl_threads_set(1);
    assert_int_equal(kl_search_run(f, &to, NULL, NULL, &full, &err), 0);

    /* a search stopped after 2 trials */
    kl_search_record_opts ro = {.train = {.spec = s}, .method = KL_SEARCH_METHOD_RANDOM};
    kl_search_recorder *rec = NULL;
    assert_int_equal(kl_search_recorder_open(st, &ro, &rec, &err), 0);
    char parent[KL_ID_LEN];
    memcpy(parent, kl_search_recorder_run_id(rec), KL_ID_LEN);
    volatile sig_atomic_t stop = 0;
    kl_search_hooks h = {0};
    kl_search_recorder_hooks(rec, &h);
    struct stopper sp = {.inner = h, .limit = 2, .stop = &stop};
    kl_search_hooks hs = {.ctx = &sp, .trial_done = stop_after};
    kl_search_opts so = {.stop = &stop};
    kl_search_result part;
    assert_int_equal(kl_search_run(f, &to, &so, &hs, &part, &err), KL_EIO);
    kl_search_result_release(&part);
    assert_int_equal(kl_search_recorder_close(rec, NULL, &err), 0);

    /* resume: the 2 finished children are reused, the other 4 run */
    ro.resume = parent;
    assert_int_equal(kl_search_recorder_open(st, &ro, &rec, &err), 0);
    kl_search_hooks h2 = {0};
    kl_search_recorder_hooks(rec, &h2);
    assert_int_equal(h2.n_done, 2);
    kl_search_result res;
    assert_int_equal(kl_search_run(f, &to, NULL, &h2, &res, &err), 0);
    assert_int_equal(res.n_reused, 2);
    assert_int_equal(kl_search_recorder_close(rec, &res, &err), 0);
    kl_threads_set(0);
    assert_int_equal(res.n_trials, full.n_trials);
    for (size_t i = 0; i < res.n_trials; i++) {
        assert_int_equal(res.trials[i].params.n, full.trials[i].params.n);
        for (size_t k = 0; k < res.trials[i].params.n; k++)
            assert_string_equal(res.trials[i].params.v[k].value, full.trials[i].params.v[k].value);
        assert_memory_equal(&res.trials[i].mean, &full.trials[i].mean, sizeof(double));
    }
    assert_int_equal(res.best, full.best);

    /* the store: the parent finished with best.* params, 6 finished children */
    kl_run_detail d = {0};
    assert_int_equal(kl_store_run_get(st, parent, &d, &err), 0);
    assert_int_equal(d.run.status, KL_RUN_STATUS_FINISHED);
    int has_best = 0, has_model = 0;
    for (size_t i = 0; i < d.n_params; i++)
        has_best |= !strncmp(d.params[i].key, "best.", 5);
    for (size_t i = 0; i < d.n_artifacts; i++)
        has_model |= !strcmp(d.artifacts[i].name, "model");
    assert_true(has_best && has_model);
    kl_run_detail_release(&d);
    char filter[128];
    snprintf(filter, sizeof filter, "parent = '%s' and status = 'finished'", parent);
    kl_run_query q = {.filter = filter};
    kl_run_list l = {0};
    assert_int_equal(kl_store_runs(st, &q, &l, &err), 0);
    assert_int_equal(l.count, 6);
    kl_run_list_release(&l);

    kl_search_result_release(&res);
    kl_search_result_release(&full);
    kl_store_close(st);
    kl_spec_free(s);
    kl_frame_free(f);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_a_space_parameter_the_algorithm_lacks_is_named(void **state)
{
    (void)state;
    kl_frame *f = read_data("iris.csv");
    kl_spec *s = spec_from("version: 1\nproject: {name: t}\n"
                           "objective: {task: classification, target: target}\n"
                           "train:\n  algorithm: gbdt\n  search:\n    space:\n"
                           "      max_dept: {type: int, low: 1, high: 5}\n");
    kl_train_opts to = {.spec = s};
    kl_search_result r;
    kl_err err = {0};
    assert_int_equal(kl_search_run(f, &to, NULL, NULL, &r, &err), KL_EINVAL);
    assert_non_null(strstr(err.msg, "max_depth"));
    assert_string_equal(err.ctx, "train.search.space.max_dept");
    kl_search_result_release(&r);
    kl_spec_free(s);
    kl_frame_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_is_the_cartesian_product_in_declaration_order),
        cmocka_unit_test(test_grid_conditional_entry_multiplies_only_where_it_applies),
        cmocka_unit_test(test_grid_rejects_a_float_range_without_step),
        cmocka_unit_test(test_random_draw_depends_only_on_seed_and_index),
        cmocka_unit_test(test_random_values_stay_in_bounds_with_the_right_distribution),
        cmocka_unit_test(test_conditional_params_are_absent_when_the_condition_is_false),
        cmocka_unit_test(test_spec_rejects_bad_search_entries),
        cmocka_unit_test(test_spec_search_section_round_trips_through_yaml),
        cmocka_unit_test(test_halving_keeps_the_top_third_each_rung_on_the_sklearn_schedule),
        cmocka_unit_test(test_best_trial_follows_the_metric_direction),
        cmocka_unit_test(test_a_failed_trial_is_kept_and_never_wins),
        cmocka_unit_test(test_results_do_not_depend_on_the_thread_count),
        cmocka_unit_test(test_search_refits_the_best_and_its_cv_equals_the_trial),
        cmocka_unit_test(test_resumed_search_reuses_finished_children_and_equals_a_full_run),
        cmocka_unit_test(test_a_space_parameter_the_algorithm_lacks_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
