/*
 * Terms of use: may this data source be used, and for this purpose?
 *
 * keel.yaml's constraints.terms records, per source, its licence, terms,
 * allowed purposes and retention; constraints.purpose says what the project
 * does with the data. A source is matched by the path as written or by its
 * last path component, so `keel check data/x.csv` and a terms entry for
 * "x.csv" agree (a snapshot keeps its source's file name). The check is a
 * pure function of the spec: it reads no file.
 */
#include <string.h>

#include "keel/constraints.h"
#include "core/common.h"

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

const kl_spec_terms *kl_terms_find(const kl_spec *s, const char *source)
{
    if (!source)
        return NULL;
    for (size_t i = 0; i < s->constraints.n_terms; i++)
        if (!strcmp(s->constraints.terms[i].source, source))
            return &s->constraints.terms[i];
    for (size_t i = 0; i < s->constraints.n_terms; i++)
        if (!strcmp(base_name(s->constraints.terms[i].source), base_name(source)))
            return &s->constraints.terms[i];
    return NULL;
}

int kl_terms_check(const kl_spec *s, const char *source, kl_err *err)
{
    char where[512];
    const kl_spec_terms *t = kl_terms_find(s, source);
    if (!t) {
        if (!s->constraints.require_terms)
            return 0;
        kl_err_set(err, KL_ECHECK,
                   "data source '%s' has no terms of use in constraints.terms, and "
                   "constraints.require_terms is true",
                   source ? source : "?");
        return kl_err_ctx(err, "%s",
                          kl_spec_where(s, "constraints.require_terms", where, sizeof where));
    }
    if (!s->constraints.purpose || !t->n_purposes)
        return 0;
    for (size_t i = 0; i < t->n_purposes; i++)
        if (!strcmp(t->purposes[i], s->constraints.purpose))
            return 0;
    char list[256];
    size_t k = 0;
    list[0] = '\0';
    for (size_t i = 0; i < t->n_purposes && k < sizeof list; i++) {
        int w = snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", t->purposes[i]);
        if (w < 0)
            break;
        k += (size_t)w;
    }
    kl_err_set(err, KL_ECHECK, "purpose '%s' is not allowed by the terms of '%s' (allowed: %s)",
               s->constraints.purpose, t->source, list);
    return kl_err_ctx(err, "%s", kl_spec_where(s, "constraints.purpose", where, sizeof where));
}
