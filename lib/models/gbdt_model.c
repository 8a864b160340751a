/*
 * The histogram GBDT behind the kl_model interface (`--algo gbdt`).
 *
 * Parameters carry XGBoost's names. Two pairs are aliases: eta and
 * learning_rate (learning_rate, when > 0, wins), n_estimators and
 * num_boost_round (num_boost_round, when > 0, wins). The objective follows
 * the task: classification is binary:logistic for two classes and
 * multi:softprob for more; regression takes `objective` (squarederror,
 * absoluteerror, pseudohubererror, poisson, each also under its XGBoost
 * name reg:squarederror, ...; binary:logistic and multi:softprob name what
 * classification does anyway). Validation rows given by the caller
 * (kl_model_data.Xv: the validation fold in `keel train`) score every round
 * and drive early stopping; without them, early_stopping_rounds > 0 holds
 * out a validation_fraction of the training rows (chosen with
 * kl_rng_stream(seed, 0x6764)), unless full_rounds asks for every round
 * (the caller then truncates with rounds_keep). The model keeps the trees up
 * to the best round.
 *
 * Features come from the native pipeline: NaN is missing (learned default
 * direction) and category codes become native categorical splits.
 * monotone_constraints is XGBoost's "(1,0,-1)" (one per feature, in the
 * pipeline's output order) or a mapping by feature name "{x:1,z:-1}" (also
 * without braces; quotes allowed); features left out are unconstrained.
 *
 * Payload: kl_gbdt_save's layout, described in docs/GBDT.md.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/gbdt.h"
#include "keel/model.h"
#include "keel/rng.h"
#include "keel/svg.h"
#include "core/common.h"

static const kl_algo_param gbdt_params[] = {
    {"eta", KL_ALGO_PARAM_KIND_FLOAT, "0.3", 0, 1, 1, NULL},
    {"learning_rate", KL_ALGO_PARAM_KIND_FLOAT, "0", 0, 1, 0, NULL},
    {"n_estimators", KL_ALGO_PARAM_KIND_INT, "100", 1, 100000, 0, NULL},
    {"num_boost_round", KL_ALGO_PARAM_KIND_INT, "0", 0, 100000, 0, NULL},
    {"max_depth", KL_ALGO_PARAM_KIND_INT, "6", 0, 30, 0, NULL},
    {"max_leaves", KL_ALGO_PARAM_KIND_INT, "0", 0, 1e6, 0, NULL},
    {"grow_policy", KL_ALGO_PARAM_KIND_CHOICE, "depthwise", 0, 0, 0, "depthwise,lossguide"},
    {"min_child_weight", KL_ALGO_PARAM_KIND_FLOAT, "1", 0, 1e300, 0, NULL},
    {"lambda", KL_ALGO_PARAM_KIND_FLOAT, "1", 0, 1e300, 0, NULL},
    {"alpha", KL_ALGO_PARAM_KIND_FLOAT, "0", 0, 1e300, 0, NULL},
    {"gamma", KL_ALGO_PARAM_KIND_FLOAT, "0", 0, 1e300, 0, NULL},
    {"max_delta_step", KL_ALGO_PARAM_KIND_FLOAT, "0", 0, 1e300, 0, NULL},
    {"subsample", KL_ALGO_PARAM_KIND_FLOAT, "1", 0, 1, 1, NULL},
    {"colsample_bytree", KL_ALGO_PARAM_KIND_FLOAT, "1", 0, 1, 1, NULL},
    {"max_bin", KL_ALGO_PARAM_KIND_INT, "255", 2, 255, 0, NULL},
    {"objective", KL_ALGO_PARAM_KIND_CHOICE, "squarederror", 0, 0, 0,
     "squarederror,absoluteerror,pseudohubererror,poisson,reg:squarederror,reg:absoluteerror,"
     "reg:pseudohubererror,count:poisson,binary:logistic,multi:softprob"},
    {"huber_slope", KL_ALGO_PARAM_KIND_FLOAT, "1", 0, 1e300, 1, NULL},
    {"early_stopping_rounds", KL_ALGO_PARAM_KIND_INT, "0", 0, 100000, 0, NULL},
    {"validation_fraction", KL_ALGO_PARAM_KIND_FLOAT, "0.1", 0, 1, 1, NULL},
    {"monotone_constraints", KL_ALGO_PARAM_KIND_TEXT, "", 0, 0, 0, NULL},
};

enum {
    PV_ETA,
    PV_LR,
    PV_NEST,
    PV_NBR,
    PV_DEPTH,
    PV_LEAVES,
    PV_GROW,
    PV_MCW,
    PV_LAMBDA,
    PV_ALPHA,
    PV_GAMMA,
    PV_MDS,
    PV_SUB,
    PV_COL,
    PV_BIN,
    PV_OBJ,
    PV_HUBER,
    PV_ESR,
    PV_VFRAC,
    PV_MONO,
};

#define N_REG_OBJECTIVES 4

static void opts_from(const double *pv, size_t n_classes, uint64_t seed, kl_gbdt_opts *o)
{
    static const enum kl_gbdt_loss reg[] = {KL_GBDT_LOSS_SQUARED, KL_GBDT_LOSS_ABSOLUTE,
                                            KL_GBDT_LOSS_HUBER, KL_GBDT_LOSS_POISSON};
    memset(o, 0, sizeof *o);
    if (n_classes >= 3) {
        o->loss = KL_GBDT_LOSS_SOFTMAX;
        o->n_classes = n_classes;
    } else if (n_classes == 2) {
        o->loss = KL_GBDT_LOSS_LOGISTIC;
    } else {
        o->loss = reg[(int)pv[PV_OBJ] % N_REG_OBJECTIVES];
    }
    o->eta = pv[PV_LR] > 0 ? pv[PV_LR] : pv[PV_ETA];
    o->n_estimators = (int)(pv[PV_NBR] > 0 ? pv[PV_NBR] : pv[PV_NEST]);
    o->max_depth = (int)pv[PV_DEPTH];
    o->max_depth_set = 1;
    o->max_leaves = (int)pv[PV_LEAVES];
    o->grow_policy = pv[PV_GROW] != 0 ? KL_GBDT_GROW_LOSSGUIDE : KL_GBDT_GROW_DEPTHWISE;
    o->min_child_weight = pv[PV_MCW];
    o->min_child_weight_set = 1;
    o->lambda = pv[PV_LAMBDA];
    o->lambda_set = 1;
    o->alpha = pv[PV_ALPHA];
    o->gamma = pv[PV_GAMMA];
    o->max_delta_step = pv[PV_MDS];
    o->max_delta_step_set = o->loss != KL_GBDT_LOSS_POISSON || pv[PV_MDS] > 0;
    o->subsample = pv[PV_SUB];
    o->colsample_bytree = pv[PV_COL];
    o->max_bin = (int)pv[PV_BIN];
    o->huber_slope = pv[PV_HUBER];
    o->early_stopping_rounds = (int)pv[PV_ESR];
    o->seed = seed;
}

/* ---- monotone constraints ---- */

static int mono_value(const char *s, size_t len, int8_t *v)
{
    if (len == 1 && s[0] == '0')
        *v = 0;
    else if ((len == 1 && s[0] == '1') || (len == 2 && s[0] == '+' && s[1] == '1'))
        *v = 1;
    else if (len == 2 && s[0] == '-' && s[1] == '1')
        *v = -1;
    else
        return -1;
    return 0;
}

/* Trim spaces and quotes around [*s, *s + *len). */
static void trim(const char **s, size_t *len)
{
    while (*len && (**s == ' ' || **s == '"' || **s == '\''))
        (*s)++, (*len)--;
    while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '"' || (*s)[*len - 1] == '\''))
        (*len)--;
}

/*
 * Parse monotone_constraints text into mono[p] (zeros first). "" is no
 * constraint. Errors name the bad item and, for an unknown feature, the
 * features there are.
 */
static int mono_parse(const char *text, const kl_model_data *d, int8_t *mono, kl_err *err)
{
    size_t p = d->p, len = strlen(text);
    memset(mono, 0, p);
    const char *s = text;
    trim(&s, &len);
    if (len == 0)
        return 0;
    char open = s[0], close = s[len - 1];
    int positional = open == '(' || open == '[';
    int braced = open == '{';
    if ((positional && close != (open == '(' ? ')' : ']')) || (braced && close != '}') ||
        (!positional && !braced && !memchr(s, ':', len)))
        goto bad;
    if (positional || braced) {
        s++;
        len -= 2;
    }
    size_t k = 0;
    const char *end = s + len;
    while (s <= end) {
        const char *c = memchr(s, ',', (size_t)(end - s));
        size_t il = c ? (size_t)(c - s) : (size_t)(end - s);
        const char *it = s;
        trim(&it, &il);
        int8_t v;
        if (positional) {
            if (il == 0 && !c && k == 0)
                break; /* "()" */
            if (mono_value(it, il, &v) < 0) {
                kl_err_set(err, KL_EINVAL,
                           "monotone constraint '%.*s' must be -1, 0 or 1 (in '%s')", (int)il, it,
                           text);
                return kl_err_ctx(err, "param monotone_constraints");
            }
            if (k < p)
                mono[k] = v;
            k++;
        } else {
            const char *colon = memchr(it, ':', il);
            if (!colon)
                goto bad;
            size_t nl = (size_t)(colon - it), vl = il - nl - 1;
            const char *nm = it, *vs = colon + 1;
            trim(&nm, &nl);
            trim(&vs, &vl);
            if (mono_value(vs, vl, &v) < 0) {
                kl_err_set(err, KL_EINVAL,
                           "monotone constraint '%.*s' for '%.*s' must be -1, 0 or 1", (int)vl, vs,
                           (int)nl, nm);
                return kl_err_ctx(err, "param monotone_constraints");
            }
            size_t j = 0;
            while (j < p &&
                   !(strlen(d->feature_names[j]) == nl && !strncmp(d->feature_names[j], nm, nl)))
                j++;
            if (j == p) {
                kl_err_set(err, KL_EINVAL,
                           "monotone constraint on '%.*s', which is not a feature of this model",
                           (int)nl, nm);
                return kl_err_ctx(err, "param monotone_constraints");
            }
            mono[j] = v;
        }
        if (!c)
            break;
        s = c + 1;
    }
    if (positional && k != p) {
        kl_err_set(err, KL_EINVAL,
                   "monotone_constraints '%s' has %zu value%s; the model has %zu feature%s", text,
                   k, k == 1 ? "" : "s", p, p == 1 ? "" : "s");
        return kl_err_ctx(err, "param monotone_constraints");
    }
    for (size_t j = 0; j < p; j++)
        if (mono[j] && d->n_categories && d->n_categories[j]) {
            kl_err_set(err, KL_EINVAL, "feature '%s' is categorical and cannot be monotone",
                       d->feature_names[j]);
            return kl_err_ctx(err, "param monotone_constraints");
        }
    return 0;
bad:
    kl_err_set(err, KL_EINVAL,
               "monotone_constraints must be like '(1,0,-1)' or '{name:1,other:-1}', not '%s'",
               text);
    return kl_err_ctx(err, "param monotone_constraints");
}

static int gbdt_fit(const kl_model_data *d, const double *pv, void **state, kl_err *err)
{
    kl_gbdt *m = calloc(1, sizeof *m);
    if (!m)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    kl_gbdt_opts o;
    opts_from(pv, d->n_classes, d->seed, &o);
    int obj = (int)pv[PV_OBJ];
    if (d->n_classes == 0 && obj >= 2 * N_REG_OBJECTIVES) {
        free(m);
        kl_err_set(err, KL_EINVAL, "objective '%s' is for classification; this is regression",
                   obj == 2 * N_REG_OBJECTIVES ? "binary:logistic" : "multi:softprob");
        return kl_err_ctx(err, "param objective");
    }
    if (d->n_classes > 0 && obj != 0 && obj < 2 * N_REG_OBJECTIVES) {
        free(m);
        kl_err_set(err, KL_EINVAL, "objective '%s' is for regression; this is classification",
                   d->param_text ? d->param_text[PV_OBJ] : "?");
        return kl_err_ctx(err, "param objective");
    }
    int8_t *mono = malloc(d->p ? d->p : 1);
    uint8_t *cat = malloc(d->p ? d->p : 1);
    if (!mono || !cat) {
        free(mono);
        free(cat);
        free(m);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    int rc = d->param_text ? mono_parse(d->param_text[PV_MONO], d, mono, err) : 0;
    if (rc < 0) {
        free(mono);
        free(cat);
        free(m);
        return rc;
    }
    for (size_t j = 0; j < d->p; j++) {
        cat[j] = d->n_categories && d->n_categories[j] > 0;
        if (cat[j] && d->n_categories[j] > (size_t)o.max_bin) {
            kl_err_set(err, KL_EINVAL,
                       "feature '%s' has %zu categories; native categorical splits take at most "
                       "max_bin (%d)",
                       d->feature_names[j], d->n_categories[j], o.max_bin);
            free(mono);
            free(cat);
            free(m);
            return kl_err_ctx(err, "param max_bin");
        }
    }
    o.monotone = mono;
    o.categorical = cat;
    if (d->Xv) {
        kl_gbdt_data tr = {d->X, d->n, d->p, d->ld, d->y}, va = {d->Xv, d->nv, d->p, d->ldv, d->yv};
        rc = kl_gbdt_fit(&tr, &va, &o, m, err);
    } else if (o.early_stopping_rounds == 0 || d->full_rounds) {
        kl_gbdt_data tr = {d->X, d->n, d->p, d->ld, d->y};
        o.early_stopping_rounds = 0;
        rc = kl_gbdt_fit(&tr, NULL, &o, m, err);
    } else {
        /* hold out validation rows: each row independently with probability fraction */
        size_t n = d->n, p = d->p, nv = 0;
        uint8_t *hold = malloc(n ? n : 1);
        double *Xt = malloc((n ? n : 1) * p * sizeof *Xt), *yt = malloc((n ? n : 1) * sizeof *yt);
        if (!hold || !Xt || !yt) {
            free(hold);
            free(Xt);
            free(yt);
            free(m);
            free(mono);
            free(cat);
            return kl_err_set(err, KL_ENOMEM, "out of memory");
        }
        kl_rng g;
        kl_rng_stream(&g, d->seed, 0x6764);
        for (size_t i = 0; i < n; i++) {
            hold[i] = kl_rng_double(&g) < pv[PV_VFRAC];
            nv += hold[i];
        }
        size_t nt = n - nv;
        /* training rows first, then validation rows, each column-major */
        double *Xv = Xt + nt * p, *yv = yt + nt;
        size_t it = 0, iv = 0;
        for (size_t i = 0; i < n; i++) {
            size_t *k = hold[i] ? &iv : &it;
            double *dst = hold[i] ? Xv : Xt;
            size_t ldd = hold[i] ? nv : nt;
            for (size_t j = 0; j < p; j++)
                dst[j * ldd + *k] = d->X[j * d->ld + i];
            (hold[i] ? yv : yt)[*k] = d->y[i];
            (*k)++;
        }
        free(hold);
        if (nv == 0 || nt == 0) {
            free(Xt);
            free(yt);
            free(m);
            free(mono);
            free(cat);
            return kl_err_set(err, KL_EINVAL,
                              "validation_fraction leaves no training or no validation rows");
        }
        kl_gbdt_data tr = {Xt, nt, p, nt, yt}, va = {Xv, nv, p, nv, yv};
        rc = kl_gbdt_fit(&tr, &va, &o, m, err);
        free(Xt);
        free(yt);
    }
    free(mono);
    free(cat);
    if (rc < 0) {
        free(m);
        return rc;
    }
    m->early_stopping = o.early_stopping_rounds > 0;
    *state = m;
    return 0;
}

static int gbdt_predict(const void *state, const double *X, size_t n, size_t ld, double *out,
                        kl_err *err)
{
    (void)err;
    const kl_gbdt *m = state;
    kl_gbdt_predict(m, X, n, ld, out);
    if (m->loss ==
        KL_GBDT_LOSS_LOGISTIC) /* two class probabilities per row, in place from the end */
        for (size_t i = n; i-- > 0;) {
            double p1 = out[i];
            out[2 * i + 1] = p1;
            out[2 * i] = 1.0 - p1;
        }
    return 0;
}

static int gbdt_save(const void *state, kl_wbuf *w)
{
    kl_gbdt_save(state, w);
    return w->ok ? 0 : KL_ENOMEM;
}

static void gbdt_free(void *state)
{
    kl_gbdt_release(state);
    free(state);
}

static int gbdt_load(kl_rbuf *r, const double *pv, void **state, kl_err *err)
{
    (void)pv;
    kl_gbdt *m = calloc(1, sizeof *m);
    if (!m)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    int rc = kl_gbdt_load(r, m, err);
    if (rc < 0) {
        free(m);
        return rc;
    }
    *state = m;
    return 0;
}

static json_t *curve(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_real(v[i]));
    return a;
}

static int gbdt_describe(const void *state, const char *const *feature_names,
                         const char *const *class_names, struct json_t *obj)
{
    (void)class_names;
    const kl_gbdt *m = state;
    double *imp = calloc(m->n_features ? m->n_features : 1, sizeof *imp);
    if (!imp)
        return KL_ENOMEM;
    for (size_t i = 0; i < m->tree_start[m->n_trees]; i++)
        if (m->nodes[i].left >= 0)
            imp[m->nodes[i].feature] += m->nodes[i].gain;
    json_t *gi = json_object();
    for (size_t j = 0; j < m->n_features; j++) {
        char name[32];
        snprintf(name, sizeof name, "f%zu", j);
        json_object_set_new(gi, feature_names ? feature_names[j] : name, json_real(imp[j]));
    }
    free(imp);
    json_object_set_new(obj, "n_trees", json_integer((json_int_t)m->n_trees));
    json_object_set_new(obj, "rounds_run", json_integer((json_int_t)m->n_rounds_run));
    json_object_set_new(obj, "best_iteration", json_integer((json_int_t)m->best_iteration));
    json_object_set_new(obj, "metric", json_string(m->metric_name));
    json_object_set_new(obj, "train_curve", curve(m->train_metric, m->n_rounds_run));
    if (m->valid_metric)
        json_object_set_new(obj, "valid_curve", curve(m->valid_metric, m->n_rounds_run));
    json_object_set_new(obj, "gain_importance", gi);
    return 0;
}

void kl_gbdt_curve_svg(const kl_gbdt *m, FILE *fp)
{
    size_t n = m->n_rounds_run;
    double *x = malloc((n ? n : 1) * sizeof *x);
    if (!x)
        return;
    for (size_t i = 0; i < n; i++)
        x[i] = (double)(i + 1);
    fprintf(fp, "<figure><figcaption>training ");
    kl_svg_escape(fp, m->metric_name);
    fprintf(fp, " per round</figcaption>\n");
    kl_svg_line(fp, x, m->train_metric, n, 480, 200);
    fprintf(fp, "</figure>\n");
    if (m->valid_metric) {
        fprintf(fp, "<figure><figcaption>validation ");
        kl_svg_escape(fp, m->metric_name);
        fprintf(fp, " per round (best round %zu)</figcaption>\n", m->best_iteration + 1);
        kl_svg_line(fp, x, m->valid_metric, n, 480, 200);
        fprintf(fp, "</figure>\n");
    }
    free(x);
}

static int gbdt_rounds(const void *state, kl_model_rounds *out)
{
    const kl_gbdt *m = state;
    out->metric = m->metric_name;
    out->n_rounds = m->n_rounds_run;
    out->train = m->train_metric;
    out->valid = m->valid_metric;
    out->best_round = m->best_iteration;
    out->early_stopping = m->early_stopping;
    out->lower_is_better = 1;
    return 0;
}

static int gbdt_rounds_keep(void *state, size_t n, kl_err *err)
{
    kl_gbdt *m = state;
    if (n < 1 || n > m->n_trees / m->n_outputs)
        return kl_err_set(err, KL_EINVAL, "cannot keep %zu rounds of %zu", n,
                          m->n_trees / m->n_outputs);
    m->n_trees = n * m->n_outputs;
    if (m->best_iteration >= n)
        m->best_iteration = n - 1;
    return 0;
}

const kl_algo kl_algo_gbdt = {
    .name = "gbdt",
    .tasks = (1u << KL_TASK_REGRESSION) | (1u << KL_TASK_CLASSIFICATION),
    .pipeline_defaults = KL_PIPELINE_DEFAULTS_NATIVE,
    .flags = KL_ALGO_FLAGS_ROUNDS,
    .rounds = gbdt_rounds,
    .rounds_keep = gbdt_rounds_keep,
    .params = gbdt_params,
    .n_params = KL_ARRAY_LEN(gbdt_params),
    .fit = gbdt_fit,
    .predict = gbdt_predict,
    .save = gbdt_save,
    .load = gbdt_load,
    .free = gbdt_free,
    .describe = gbdt_describe,
};
