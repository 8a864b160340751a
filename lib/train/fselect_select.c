/*
 * Choosing a feature set under a cost budget, and keeping it in the store.
 *
 * The search is greedy forward selection guided by the ranking: each step
 * tries the few unchosen features with the best score per unit cost that
 * still fit the budget, scores each candidate set by k-fold CV of the
 * training algorithm on the objective's main metric, and keeps the best;
 * it stops when nothing fits or nothing improves. Trying every subset is
 * exponential and RFE's path ignores costs; this costs at most
 * 8 x (steps) x K fits and spends the budget where the metric says.
 *
 * A feature set is an ordinary run (kind=feature_set) so that it is listed,
 * compared, exported and garbage-collected like every other run; its list
 * is an artifact object, one name per line.
 *
 * Invariants: fold frames are cut once and shared by every candidate set;
 * candidates of a step are scored in parallel, each into its own slot, and
 * ties go to the better-ranked candidate, so the path does not depend on the
 * thread count.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/evaluate.h"
#include "keel/fselect.h"
#include "keel/parallel.h"
#include "keel/track.h"
#include "train/fselect_internal.h"
#include "core/common.h"

#define TRY_PER_STEP 8

typedef struct cv_ctx {
    const kl__fs *c;
    const kl_split *sp;
    kl_frame **tr, **te;
} cv_ctx;

/* CV mean and std (ddof 1) of the signed main metric with candidates set[0..n). */
static int cv_score(const cv_ctx *x, const size_t *set, size_t n, double *mean, double *sd,
                    kl_err *err)
{
    size_t K = x->sp->n_folds;
    double v[128], s = 0, ss = 0;
    KL_ASSERT(K <= KL_ARRAY_LEN(v));
    for (size_t k = 0; k < K; k++) {
        kl_model *m = NULL;
        int rc =
            kl__fs_fit(x->c, x->tr[k], x->c->algo, x->c->params, x->c->n_params, set, n, &m, err);
        if (rc == 0)
            rc = kl__fs_score(x->c, m, x->te[k], &v[k], err);
        kl_model_free(m);
        if (rc < 0)
            return kl_err_ctx(err, "fold %zu of %zu", k + 1, K);
        s += v[k];
    }
    *mean = s / (double)K;
    for (size_t k = 0; k < K; k++)
        ss += (v[k] - *mean) * (v[k] - *mean);
    *sd = K > 1 ? sqrt(ss / (double)(K - 1)) : 0;
    return 0;
}

typedef struct try_task {
    const cv_ctx *x;
    const size_t *chosen;
    size_t n_chosen;
    const size_t *cand;
    double *mean, *sd;
    int *rc;
    kl_err *errs;
} try_task;

static void try_one(void *ctx, size_t t)
{
    try_task *a = ctx;
    size_t set[KL__FS_MAX];
    memcpy(set, a->chosen, a->n_chosen * sizeof *set);
    set[a->n_chosen] = a->cand[t];
    a->rc[t] = cv_score(a->x, set, a->n_chosen + 1, &a->mean[t], &a->sd[t], &a->errs[t]);
}

void kl_fselect_choice_release(kl_fselect_choice *c)
{
    kl_fselect_result_release(&c->rank);
    for (size_t i = 0; c->names && i < c->n; i++)
        free(c->names[i]);
    free(c->names);
    for (size_t i = 0; c->steps && i < c->n_steps; i++)
        free(c->steps[i].added);
    free(c->steps);
    memset(c, 0, sizeof *c);
}

int kl_fselect_select(const kl_frame *f, const kl_fselect_opts *opts, double budget,
                      kl_fselect_choice *out, kl_err *err)
{
    memset(out, 0, sizeof *out);
    if (!(budget >= 0) || isinf(budget))
        return kl_err_set(err, KL_ERANGE, "the budget must be a number >= 0, not %g", budget);
    kl__fs c;
    kl_split *sp = NULL;
    kl_frame **fr = NULL;
    int rc = kl__fs_setup(&c, f, opts, err);
    if (rc < 0)
        goto done;
    if ((rc = kl__fs_rank(&c, &out->rank, err)) < 0)
        goto done;
    out->budget = budget;
    const kl_fselect_feature *ft = out->rank.features;
    size_t p = c.p;
    /* the cheapest feature must fit, or there is nothing to recommend */
    size_t cheapest = 0;
    for (size_t j = 1; j < p; j++)
        if (ft[j].cost < ft[cheapest].cost)
            cheapest = j;
    if (ft[cheapest].cost > budget) {
        rc = kl_err_set(err, KL_EINVAL,
                        "no feature fits the budget %g: the cheapest, '%s', costs %g", budget,
                        ft[cheapest].name, ft[cheapest].cost);
        goto done;
    }
    if ((rc = kl__fs_split(&c, 0, &sp, err)) < 0)
        goto done;
    size_t K = sp->n_folds;
    if (K > 128) {
        rc = kl_err_set(err, KL_ERANGE, "at most 128 folds, not %zu", K);
        goto done;
    }
    if (!(fr = calloc(2 * K, sizeof *fr))) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < K && rc == 0; k++)
        if ((rc = kl_frame_take(f, sp->folds[k].train, sp->folds[k].n_train, &fr[k], err)) == 0)
            rc = kl_frame_take(f, sp->folds[k].test, sp->folds[k].n_test, &fr[K + k], err);
    if (rc < 0)
        goto done;
    cv_ctx x = {&c, sp, fr, fr + K};
    out->folds = K;
    out->steps = calloc(p, sizeof *out->steps);
    out->names = calloc(p, sizeof *out->names);
    if (!out->steps || !out->names) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    size_t chosen[KL__FS_MAX], n_chosen = 0;
    uint8_t used[KL__FS_MAX] = {0};
    double spent = 0, best = -INFINITY, best_sd = 0;
    for (;;) {
        /* candidates: fitting ones by score per unit cost, best first (rank breaks ties) */
        size_t cand[KL__FS_MAX], nc = 0;
        for (size_t r = 0; r < p; r++) {
            size_t j = out->rank.order[r];
            if (!used[j] && spent + ft[j].cost <= budget * (1 + 1e-12))
                cand[nc++] = j;
        }
        if (nc == 0)
            break;
        for (size_t i = 1; i < nc; i++) { /* stable insertion sort by ratio */
            size_t v = cand[i], k = i;
            double rv = fmax(ft[v].score, 0) / fmax(ft[v].cost, 1e-300);
            while (k > 0 &&
                   fmax(ft[cand[k - 1]].score, 0) / fmax(ft[cand[k - 1]].cost, 1e-300) < rv) {
                cand[k] = cand[k - 1];
                k--;
            }
            cand[k] = v;
        }
        if (nc > TRY_PER_STEP)
            nc = TRY_PER_STEP;
        double mean[TRY_PER_STEP], sd[TRY_PER_STEP];
        int rcs[TRY_PER_STEP] = {0};
        kl_err errs[TRY_PER_STEP];
        memset(errs, 0, sizeof errs);
        try_task t = {&x, chosen, n_chosen, cand, mean, sd, rcs, errs};
        kl_parallel_for(nc, try_one, &t);
        size_t win = 0;
        for (size_t i = 0; i < nc; i++) {
            if (rcs[i] < 0) {
                *err = errs[i];
                rc = rcs[i];
                goto done;
            }
            if (mean[i] > mean[win])
                win = i;
        }
        if (n_chosen > 0 && !(mean[win] > best))
            break;
        size_t j = cand[win];
        used[j] = 1;
        chosen[n_chosen++] = j;
        spent += ft[j].cost;
        best = mean[win];
        best_sd = sd[win];
        kl_fselect_step *st = &out->steps[out->n_steps];
        if (!(st->added = strdup(ft[j].name))) {
            rc = kl_err_set(err, KL_ENOMEM, "out of memory");
            goto done;
        }
        out->n_steps++;
        st->n = n_chosen;
        st->metric = best;
        st->std = best_sd;
        st->cost = spent;
    }
    /* report the metric in its own sign */
    const char *main = out->rank.main_metric;
    const kl_metric_desc *md = main ? kl_metric_by_name(main) : NULL;
    out->higher_is_better = md ? md->higher_is_better : 1;
    double sign = out->higher_is_better ? 1 : -1;
    for (size_t i = 0; i < out->n_steps; i++)
        out->steps[i].metric *= sign;
    for (size_t i = 0; i < n_chosen; i++)
        if (!(out->names[out->n++] = strdup(ft[chosen[i]].name))) {
            rc = kl_err_set(err, KL_ENOMEM, "out of memory");
            goto done;
        }
    out->metric = sign * best;
    out->std = best_sd;
    out->cost = spent;
done:
    if (rc < 0)
        kl_fselect_choice_release(out);
    for (size_t k = 0; fr && k < 2 * (sp ? sp->n_folds : 0); k++)
        kl_frame_free(fr[k]);
    free(fr);
    kl_split_free(sp);
    kl__fs_release(&c);
    return rc;
}

/* ---- feature sets in the store ---- */

int kl_fselect_record(kl_store *s, const kl_fselect_choice *c, const char *name,
                      char run_id[KL_ID_LEN], kl_err *err)
{
    if (!name || !*name)
        return kl_err_set(err, KL_EINVAL, "a feature set needs a name");
    char *list = NULL;
    size_t len = 0, cap = 1;
    for (size_t i = 0; i < c->n; i++)
        cap += strlen(c->names[i]) + 1;
    if (!(list = malloc(cap)))
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    for (size_t i = 0; i < c->n; i++) {
        size_t L = strlen(c->names[i]);
        memcpy(list + len, c->names[i], L);
        len += L;
        list[len++] = '\n';
    }
    list[len] = '\0';
    kl_run *r = NULL;
    kl_run_opts ro = {.name = name, .seed = c->rank.seed, .has_seed = 1};
    char obj[KL_ID_LEN], buf[64];
    int rc = kl_store_put(s, list, len, obj, err);
    if (rc == 0)
        rc = kl_run_start(s, &ro, &r, err);
    if (rc < 0) {
        free(list);
        return rc;
    }
    /* the comma list as a parameter too, for `keel runs` and `keel show` */
    for (size_t i = 0; i < len; i++)
        if (list[i] == '\n')
            list[i] = i + 1 < len ? ',' : '\0';
    snprintf(buf, sizeof buf, "%.17g", c->budget);
    char seed[32], folds[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->rank.seed);
    snprintf(folds, sizeof folds, "%zu", c->folds);
    if ((rc = kl_run_set_tag(r, "kind", "feature_set", err)) == 0 &&
        (rc = kl_run_log_param(r, "features", list, err)) == 0 &&
        (rc = kl_run_log_param(r, "budget", buf, err)) == 0 &&
        (rc = kl_run_log_param(r, "method", kl_fselect_method_name(c->rank.method), err)) == 0 &&
        (rc = kl_run_log_param(r, "algo", c->rank.algo, err)) == 0 &&
        (rc = kl_run_log_param(r, "target", c->rank.target, err)) == 0 &&
        (rc = kl_run_log_param(r, "seed", seed, err)) == 0 &&
        (rc = kl_run_log_param(r, "folds", folds, err)) == 0 &&
        (rc = kl_run_log_metric(r, c->rank.main_metric, c->metric, -1, err)) == 0) {
        char key[128];
        snprintf(key, sizeof key, "%s_std", c->rank.main_metric);
        if ((rc = kl_run_log_metric(r, key, c->std, -1, err)) == 0 &&
            (rc = kl_run_log_metric(r, "cost", c->cost, -1, err)) == 0 &&
            (rc = kl_run_log_metric(r, "n_features", (double)c->n, -1, err)) == 0)
            for (size_t i = 0; i < c->n_steps && rc == 0; i++) {
                const kl_fselect_step *st = &c->steps[i];
                if ((rc = kl_run_log_metric(r, c->rank.main_metric, st->metric, (int64_t)i, err)) ==
                    0)
                    rc = kl_run_log_metric(r, "cost", st->cost, (int64_t)i, err);
            }
        if (rc == 0)
            rc = kl_run_log_artifact(r, "features", obj, "feature_set", err);
    }
    free(list);
    if (rc == 0)
        memcpy(run_id, kl_run_id(r), KL_ID_LEN);
    kl_err ignored = {0};
    if (rc < 0) {
        kl_run_end(r, KL_RUN_STATUS_FAILED, &ignored);
        return rc;
    }
    return kl_run_end(r, KL_RUN_STATUS_FINISHED, err);
}

int kl_fselect_set_load(kl_store *s, const char *text, char ***names, size_t *n, kl_err *err)
{
    *names = NULL;
    *n = 0;
    /* the newest feature-set run of that name; else an id prefix */
    char filter[1024], id[KL_ID_LEN] = "";
    size_t at = (size_t)snprintf(filter, sizeof filter, "tags.kind = 'feature_set' and name = '");
    for (const char *p = text; *p && at + 3 < sizeof filter; p++) {
        if (*p == '\'')
            filter[at++] = '\'';
        filter[at++] = *p;
    }
    if (at + 2 >= sizeof filter)
        return kl_err_set(err, KL_EINVAL, "feature set name too long");
    filter[at++] = '\'';
    filter[at] = '\0';
    kl_run_query q = {.filter = filter, .sort = "started desc", .limit = 1};
    kl_run_list l = {0};
    int rc = kl_store_runs(s, &q, &l, err);
    if (rc < 0)
        return rc;
    if (l.count)
        memcpy(id, l.items[0].id, KL_ID_LEN);
    kl_run_list_release(&l);
    if (!id[0]) {
        kl_ref ref;
        kl_err ignored = {0};
        if (kl_store_resolve(s, "run", text, &ref, &ignored) == 0)
            memcpy(id, ref.id, KL_ID_LEN);
    }
    kl_run_detail d = {0};
    const char *obj = NULL;
    if (id[0] && (rc = kl_store_run_get(s, id, &d, err)) < 0)
        return rc;
    for (size_t i = 0; i < d.n_artifacts; i++)
        if (!strcmp(d.artifacts[i].name, "features") && !strcmp(d.artifacts[i].kind, "feature_set"))
            obj = d.artifacts[i].object;
    if (!obj) {
        kl_run_detail_release(&d);
        return kl_err_set(err, KL_ENOTFOUND,
                          "no feature set '%s' (make one with 'keel features select --name')",
                          text);
    }
    void *buf = NULL;
    size_t len = 0;
    rc = kl_store_get(s, obj, (size_t)64 << 20, &buf, &len, err);
    kl_run_detail_release(&d);
    if (rc < 0)
        return rc;
    size_t cnt = 1;
    const char *b = buf;
    for (size_t i = 0; i < len; i++)
        cnt += b[i] == '\n';
    char **out = malloc((cnt + 1) * sizeof *out + len + 1);
    if (!out) {
        free(buf);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    char *txt = (char *)(out + cnt + 1);
    memcpy(txt, buf, len);
    txt[len] = '\0';
    free(buf);
    size_t k = 0;
    for (char *p = txt; *p && k < cnt;) {
        char *e = strchr(p, '\n');
        if (e)
            *e = '\0';
        if (*p)
            out[k++] = p;
        p = e ? e + 1 : p + strlen(p);
    }
    out[k] = NULL;
    *names = out;
    *n = k;
    return 0;
}
