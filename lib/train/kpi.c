/*
 * KPI formulas ("100*tp - 5*fp") and KPI verdicts.
 *
 * The evaluator is a recursive-descent parser that computes as it parses:
 *   expr   := term (('+' | '-') term)*
 *   term   := unary (('*' | '/') unary)*
 *   unary  := '-' unary | '+' unary | primary
 *   primary:= NUMBER | IDENT | '(' expr ')'
 * Nothing is allocated and nothing but numbers and the spec's identifier list
 * is accepted, so a formula from keel.yaml can never do more than arithmetic.
 * Depth is bounded (64) so a hostile formula cannot exhaust the stack.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/evaluate.h"
#include "core/common.h"

#define MAX_DEPTH 64

struct parser {
    const char *s, *p;
    kl_kpi_lookup lookup;
    void *ud;
    kl_err *err;
    int depth;
};

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *ps, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    kl_err_set(ps->err, KL_EINVAL, "%s", msg);
    kl_err_ctx(ps->err, "kpi formula '%s'", ps->s);
    return KL_EINVAL;
}

static void skip(struct parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t')
        ps->p++;
}

static int expr(struct parser *ps, double *v);

static int primary(struct parser *ps, double *v)
{
    skip(ps);
    char c = *ps->p;
    if (c == '(') {
        ps->p++;
        int rc = expr(ps, v);
        if (rc < 0)
            return rc;
        skip(ps);
        if (*ps->p != ')')
            return fail(ps, "missing ')' at '%s'", *ps->p ? ps->p : "end");
        ps->p++;
        return 0;
    }
    if (isdigit((unsigned char)c) || c == '.') {
        char *end;
        errno = 0;
        *v = strtod(ps->p, &end);
        if (end == ps->p || errno || !isfinite(*v))
            return fail(ps, "bad number at '%s'", ps->p);
        ps->p = end;
        return 0;
    }
    if (isalpha((unsigned char)c) || c == '_') {
        char name[64];
        size_t n = 0;
        while (isalnum((unsigned char)*ps->p) || *ps->p == '_') {
            if (n + 1 < sizeof name)
                name[n++] = *ps->p;
            ps->p++;
        }
        name[n] = '\0';
        if (!kl_spec_kpi_ident_known(name))
            return fail(ps, "unknown name '%s'", name);
        if (ps->lookup(name, ps->ud, v) < 0)
            return fail(ps, "'%s' is not defined for this task", name);
        return 0;
    }
    return fail(ps, "expected a number, a name or '(' at '%s'", c ? ps->p : "end");
}

static int unary(struct parser *ps, double *v)
{
    skip(ps);
    if (*ps->p == '-' || *ps->p == '+') {
        int neg = *ps->p == '-';
        ps->p++;
        if (++ps->depth > MAX_DEPTH)
            return fail(ps, "formula nested too deeply at '%s'", ps->p);
        int rc = unary(ps, v);
        ps->depth--;
        if (neg)
            *v = -*v;
        return rc;
    }
    return primary(ps, v);
}

static int term(struct parser *ps, double *v)
{
    int rc = unary(ps, v);
    for (;;) {
        if (rc < 0)
            return rc;
        skip(ps);
        char op = *ps->p;
        if (op != '*' && op != '/')
            return 0;
        ps->p++;
        double r;
        if ((rc = unary(ps, &r)) < 0)
            return rc;
        if (op == '/' && r == 0)
            return fail(ps, "division by zero");
        *v = op == '*' ? *v * r : *v / r;
    }
}

static int expr(struct parser *ps, double *v)
{
    if (++ps->depth > MAX_DEPTH)
        return fail(ps, "formula nested too deeply at '%s'", ps->p);
    int rc = term(ps, v);
    for (;;) {
        if (rc < 0)
            return rc;
        skip(ps);
        char op = *ps->p;
        if (op != '+' && op != '-') {
            ps->depth--;
            return 0;
        }
        ps->p++;
        double r;
        if ((rc = term(ps, &r)) < 0)
            return rc;
        *v = op == '+' ? *v + r : *v - r;
    }
}

int kl_kpi_formula_eval(const char *formula, kl_kpi_lookup lookup, void *ud, double *out,
                        kl_err *err)
{
    struct parser ps = {formula, formula, lookup, ud, err, 0};
    double v = 0;
    int rc = expr(&ps, &v);
    if (rc < 0)
        return rc;
    skip(&ps);
    if (*ps.p)
        return fail(&ps, "unexpected '%s'", ps.p);
    if (!isfinite(v))
        return fail(&ps, "the value is not finite");
    *out = v;
    return 0;
}

int kl_eval_kpi_lookup(const char *name, void *ud, double *v)
{
    const kl_eval_result *r = ud;
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
        {"tp", offsetof(kl_eval_result, tp)},
        {"fp", offsetof(kl_eval_result, fp)},
        {"tn", offsetof(kl_eval_result, tn)},
        {"fn", offsetof(kl_eval_result, fn)},
        {"n", offsetof(kl_eval_result, n)},
        {"sum_actual", offsetof(kl_eval_result, sum_actual)},
        {"mean_actual", offsetof(kl_eval_result, mean_actual)},
        {"sum_predicted", offsetof(kl_eval_result, sum_predicted)},
        {"mean_predicted", offsetof(kl_eval_result, mean_predicted)},
        {"sum_abs_error", offsetof(kl_eval_result, sum_abs_error)},
        {"sum_squared_error", offsetof(kl_eval_result, sum_squared_error)},
    };
    for (size_t i = 0; i < KL_ARRAY_LEN(fields); i++)
        if (!strcmp(fields[i].name, name)) {
            double x;
            memcpy(&x, (const char *)r + fields[i].off, sizeof x);
            if (isnan(x))
                return KL_ENOTFOUND;
            *v = x;
            return 0;
        }
    return KL_ENOTFOUND;
}

void kl_kpi_check(const kl_spec_kpi *kpi, size_t n, const kl_eval_result *r, kl_kpi_verdict *out)
{
    for (size_t i = 0; i < n; i++) {
        kl_kpi_verdict *v = &out[i];
        memset(v, 0, sizeof *v);
        v->kpi = &kpi[i];
        v->value = NAN;
        v->has_target = kpi[i].has_target;
        if (kpi[i].metric) {
            if (!(v->ok = kl_eval_metric_get(r, kpi[i].metric, &v->value)))
                snprintf(v->error, sizeof v->error, "metric '%s' was not measured", kpi[i].metric);
        } else {
            kl_err e = {0};
            if (kl_kpi_formula_eval(kpi[i].value, kl_eval_kpi_lookup, (void *)r, &v->value, &e) < 0)
                snprintf(v->error, sizeof v->error, "%s", e.msg);
            else
                v->ok = 1;
        }
        if (v->ok && v->has_target)
            v->met = kpi[i].direction == KL_KPI_DIRECTION_MIN ? v->value <= kpi[i].target
                                                              : v->value >= kpi[i].target;
    }
}
