/*
 * Search spaces: checking them, drawing random candidates and enumerating
 * grids (the rules are at the top of keel/search.h).
 *
 * Invariants: a random candidate is a pure function of (space, seed, i): it
 * reads only kl_rng_stream(seed, i), and every entry consumes exactly one
 * draw whether or not its conditions hold, so adding a condition to one entry
 * never shifts the values of the others. Values are text in one canonical
 * form (decimal integers, "%.6g" floats), which is what the model, the store
 * and a resumed search compare.
 *
 * A grid is enumerated depth-first in declaration order with the conditions
 * evaluated on the prefix, so a conditional entry multiplies only the points
 * where it applies; that is why conditions may name earlier entries only.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/rng.h"
#include "keel/search.h"
#include "core/common.h"

const char *kl_search_params_get(const kl_search_params *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->v[i].key, key))
            return p->v[i].value;
    return NULL;
}

/* Does entry sp apply, given the values chosen so far? */
static int applies(const kl_spec_space *sp, const kl_search_params *sofar)
{
    for (size_t q = 0; q < sp->n_when; q++) {
        const char *v = kl_search_params_get(sofar, sp->when[q].key);
        if (!v || strcmp(v, sp->when[q].value))
            return 0;
    }
    return 1;
}

static void put(kl_search_params *p, const char *key, const char *value)
{
    kl_search_value *v = &p->v[p->n++];
    v->key = key;
    snprintf(v->value, sizeof v->value, "%s", value);
}

/* A float as "%.6g", kept inside [lo, hi] (rounding may step past a bound). */
static void float_text(double x, double lo, double hi, char *buf, size_t n)
{
    snprintf(buf, n, "%.6g", x);
    double back = strtod(buf, NULL);
    if (back > hi)
        snprintf(buf, n, "%.17g", hi);
    else if (back < lo)
        snprintf(buf, n, "%.17g", lo);
}

static void number_text(const kl_spec_space *sp, double x, char *buf, size_t n)
{
    if (sp->type == KL_PARAM_TYPE_INT)
        snprintf(buf, n, "%lld", (long long)x);
    else
        float_text(x, sp->low, sp->high, buf, n);
}

/* Points of a range on a grid: low, low + step, ... <= high (or times step on a log scale). */
static size_t range_points(const kl_spec_space *sp)
{
    double step = sp->step > 0 ? sp->step : 1;
    if (sp->log)
        return (size_t)floor(log(sp->high / sp->low) / log(step) + 1e-9) + 1;
    return (size_t)floor((sp->high - sp->low) / step + 1e-9) + 1;
}

static double range_point(const kl_spec_space *sp, size_t k)
{
    double step = sp->step > 0 ? sp->step : 1;
    double x = sp->log ? sp->low * pow(step, (double)k) : sp->low + (double)k * step;
    if (sp->type == KL_PARAM_TYPE_INT)
        x = round(x);
    return x > sp->high ? sp->high : x;
}

/* How many grid values entry sp has (it must be griddable). */
static size_t entry_points(const kl_spec_space *sp)
{
    return sp->n_values ? sp->n_values : range_points(sp);
}

static void entry_value(const kl_spec_space *sp, size_t k, char *buf, size_t n)
{
    if (sp->n_values)
        snprintf(buf, n, "%s", sp->values[k]);
    else
        number_text(sp, range_point(sp, k), buf, n);
}

int kl_search_space_check(const kl_spec_space *space, size_t n, enum kl_search_method method,
                          kl_err *err)
{
    if (n == 0)
        return kl_err_set(err, KL_EINVAL, "the search space is empty: declare train.search.space");
    if (n > KL_SEARCH_MAX_PARAMS)
        return kl_err_set(err, KL_EINVAL, "the search space has %zu entries; at most %d", n,
                          KL_SEARCH_MAX_PARAMS);
    for (size_t i = 0; i < n; i++) {
        const kl_spec_space *sp = &space[i];
        for (size_t k = 0; k < sp->n_values; k++)
            if (strlen(sp->values[k]) >= KL_SEARCH_VALUE_MAX) {
                kl_err_set(err, KL_EINVAL, "value '%.40s...' is longer than %d characters",
                           sp->values[k], KL_SEARCH_VALUE_MAX - 1);
                {
                    kl_err_ctx(err, "train.search.space.%s", sp->param);
                    return KL_EINVAL;
                }
            }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(space[j].param, sp->param)) {
                kl_err_set(err, KL_EINVAL, "parameter '%s' appears twice in the space", sp->param);
                {
                    kl_err_ctx(err, "train.search.space.%s", sp->param);
                    return KL_EINVAL;
                }
            }
        if (method == KL_SEARCH_METHOD_GRID && !sp->n_values && sp->type == KL_PARAM_TYPE_FLOAT &&
            !(sp->step > 0)) {
            kl_err_set(err, KL_EINVAL,
                       "a grid cannot enumerate the float range of '%s': give it a step or "
                       "values",
                       sp->param);
            {
                kl_err_ctx(err, "train.search.space.%s", sp->param);
                return KL_EINVAL;
            }
        }
    }
    if (method == KL_SEARCH_METHOD_GRID) {
        /* an upper bound (conditions only remove points) keeps the check cheap */
        double total = 1;
        for (size_t i = 0; i < n; i++)
            total *= (double)entry_points(&space[i]) + (space[i].n_when ? 1 : 0);
        if (total > KL_SEARCH_MAX_GRID) {
            size_t count = 0;
            kl_search_params *all = NULL;
            int rc = kl_search_grid(space, n, &all, &count, err);
            free(all);
            return rc;
        }
    }
    return 0;
}

void kl_search_sample(const kl_spec_space *space, size_t n, uint64_t seed, size_t i,
                      kl_search_params *out)
{
    kl_rng r;
    kl_rng_stream(&r, seed, (uint64_t)i);
    out->n = 0;
    char buf[KL_SEARCH_VALUE_MAX];
    for (size_t e = 0; e < n && e < KL_SEARCH_MAX_PARAMS; e++) {
        const kl_spec_space *sp = &space[e];
        double u = kl_rng_double(&r); /* one draw per entry, applied or not */
        if (!applies(sp, out))
            continue;
        if (sp->n_values) {
            size_t k = (size_t)(u * (double)sp->n_values);
            put(out, sp->param, sp->values[k < sp->n_values ? k : sp->n_values - 1]);
            continue;
        }
        double x;
        if (sp->type == KL_PARAM_TYPE_INT) {
            if (sp->log) {
                double a = log(sp->low - 0.5), b = log(sp->high + 0.5);
                x = round(exp(a + u * (b - a)));
            } else {
                x = floor(sp->low + u * (sp->high - sp->low + 1));
            }
            if (sp->step > 1 && !sp->log)
                x = sp->low + round((x - sp->low) / sp->step) * sp->step;
            x = fmin(fmax(x, sp->low), sp->high);
        } else {
            x = sp->log ? exp(log(sp->low) + u * (log(sp->high) - log(sp->low)))
                        : sp->low + u * (sp->high - sp->low);
            if (sp->step > 0 && !sp->log)
                x = fmin(sp->low + round((x - sp->low) / sp->step) * sp->step, sp->high);
        }
        number_text(sp, x, buf, sizeof buf);
        put(out, sp->param, buf);
    }
}

/* ---- grids ---- */

struct grid {
    const kl_spec_space *space;
    size_t n;
    kl_search_params *items;
    size_t count, cap;
    int overflow;
};

static int grid_walk(struct grid *g, size_t e, kl_search_params *cur)
{
    if (g->overflow)
        return 0;
    if (e == g->n) {
        if (g->count == KL_SEARCH_MAX_GRID) {
            g->overflow = 1;
            return 0;
        }
        if (g->count == g->cap) {
            size_t cap = g->cap ? 2 * g->cap : 64;
            kl_search_params *p = realloc(g->items, cap * sizeof *p);
            if (!p)
                return -1;
            g->items = p;
            g->cap = cap;
        }
        g->items[g->count++] = *cur;
        return 0;
    }
    const kl_spec_space *sp = &g->space[e];
    if (!applies(sp, cur))
        return grid_walk(g, e + 1, cur);
    size_t pts = entry_points(sp);
    char buf[KL_SEARCH_VALUE_MAX];
    for (size_t k = 0; k < pts && !g->overflow; k++) {
        entry_value(sp, k, buf, sizeof buf);
        put(cur, sp->param, buf);
        int rc = grid_walk(g, e + 1, cur);
        cur->n--;
        if (rc < 0)
            return rc;
    }
    return 0;
}

int kl_search_grid(const kl_spec_space *space, size_t n, kl_search_params **out, size_t *count,
                   kl_err *err)
{
    *out = NULL;
    *count = 0;
    for (size_t i = 0; i < n && i < KL_SEARCH_MAX_PARAMS; i++)
        if (!space[i].n_values && space[i].type == KL_PARAM_TYPE_FLOAT && !(space[i].step > 0)) {
            kl_err_set(err, KL_EINVAL,
                       "a grid cannot enumerate the float range of '%s': give it a step or "
                       "values",
                       space[i].param);
            {
                kl_err_ctx(err, "train.search.space.%s", space[i].param);
                return KL_EINVAL;
            }
        }
    if (n > KL_SEARCH_MAX_PARAMS)
        return kl_err_set(err, KL_EINVAL, "the search space has %zu entries; at most %d", n,
                          KL_SEARCH_MAX_PARAMS);
    struct grid g = {.space = space, .n = n};
    kl_search_params cur = {0};
    if (grid_walk(&g, 0, &cur) < 0) {
        free(g.items);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    if (g.overflow) {
        free(g.items);
        return kl_err_set(err, KL_EINVAL,
                          "the grid has more than %d points: narrow the space or use random",
                          KL_SEARCH_MAX_GRID);
    }
    *out = g.items;
    *count = g.count;
    return 0;
}
