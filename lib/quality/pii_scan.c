/*
 * PII at column level: entity names, what a column's name suggests, and
 * kl_pii_scan, which runs the value matchers over every cell and turns the
 * evidence into one entity and a confidence per column.
 *
 * Confidence (docs/PII.md): with S the mean best score of entity E over the
 * column's present cells (0 for a cell without E) and share the fraction of
 * present cells holding E,
 *     confidence = S                                 without a name hint,
 *     confidence = S + (1 - S) * 0.5 * share         when the name suggests E.
 * So a column of validated values scores near its share, a weak pattern
 * scores only its weak score, and a name halves the remaining doubt in
 * proportion to how many values agree with it; a name alone is no evidence.
 *
 * The work is cut into (column, row chunk) tasks whose boundaries depend on
 * the row count only; each task fills its own accumulator and they are
 * summed in task order, so the report does not depend on the thread count.
 * Categorical columns are scanned once per category and weighted by count.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keel/parallel.h"
#include "keel/pii.h"
#include "quality/pii_internal.h"
#include "core/common.h"

#define BIT(e) (1u << (e))
#define N_ENT KL_PII_ENTITY_COUNT
#define CHUNK 8192
#define MAX_MATCHES 32

static const char *const entity_names[N_ENT] = {
    "none", "email",         "phone",  "credit_card", "us_ssn",   "iban",     "ip_address",
    "url",  "date_of_birth", "person", "address",     "postcode", "passport",
};

const char *kl_pii_entity_name(enum kl_pii_entity e)
{
    return (unsigned)e < N_ENT ? entity_names[e] : "?";
}

/* Lowercase letters and digits of s, other characters dropped, into buf (size n). */
static void squash(const char *s, char *buf, size_t n)
{
    size_t k = 0;
    for (; *s && k + 1 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 'A' && c <= 'Z')
            buf[k++] = (char)(c | 32);
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            buf[k++] = (char)c;
    }
    buf[k] = 0;
}

int kl_pii_entity_parse(const char *name)
{
    static const struct {
        const char *alias;
        enum kl_pii_entity e;
    } aliases[] = {
        {"email", KL_PII_ENTITY_EMAIL},
        {"emailaddress", KL_PII_ENTITY_EMAIL},
        {"phone", KL_PII_ENTITY_PHONE},
        {"phonenumber", KL_PII_ENTITY_PHONE},
        {"telephone", KL_PII_ENTITY_PHONE},
        {"creditcard", KL_PII_ENTITY_CREDIT_CARD},
        {"card", KL_PII_ENTITY_CREDIT_CARD},
        {"cc", KL_PII_ENTITY_CREDIT_CARD},
        {"usssn", KL_PII_ENTITY_US_SSN},
        {"ssn", KL_PII_ENTITY_US_SSN},
        {"iban", KL_PII_ENTITY_IBAN},
        {"ibancode", KL_PII_ENTITY_IBAN},
        {"ipaddress", KL_PII_ENTITY_IP_ADDRESS},
        {"ip", KL_PII_ENTITY_IP_ADDRESS},
        {"ipv4", KL_PII_ENTITY_IP_ADDRESS},
        {"ipv6", KL_PII_ENTITY_IP_ADDRESS},
        {"url", KL_PII_ENTITY_URL},
        {"dateofbirth", KL_PII_ENTITY_DATE_OF_BIRTH},
        {"dob", KL_PII_ENTITY_DATE_OF_BIRTH},
        {"birthdate", KL_PII_ENTITY_DATE_OF_BIRTH},
        {"person", KL_PII_ENTITY_PERSON},
        {"name", KL_PII_ENTITY_PERSON},
        {"address", KL_PII_ENTITY_ADDRESS},
        {"postcode", KL_PII_ENTITY_POSTCODE},
        {"zip", KL_PII_ENTITY_POSTCODE},
        {"zipcode", KL_PII_ENTITY_POSTCODE},
        {"postalcode", KL_PII_ENTITY_POSTCODE},
        {"passport", KL_PII_ENTITY_PASSPORT},
    };
    char b[64];
    if (!name)
        return -1;
    squash(name, b, sizeof b);
    for (size_t k = 0; k < KL_ARRAY_LEN(aliases); k++)
        if (strcmp(b, aliases[k].alias) == 0)
            return (int)aliases[k].e;
    return -1;
}

/* ---- column names ---- */

#define MAX_TOKENS 8

struct name_tokens {
    int n;
    char tok[MAX_TOKENS][32];
    char joined[128];
};

/* Split at non-alphanumerics and lower-to-upper case changes ("firstName", "client_IP"). */
static void tokenize(const char *s, struct name_tokens *t)
{
    t->n = 0;
    size_t k = 0;
    unsigned char prev = 0;
    for (;; s++) {
        unsigned char c = (unsigned char)*s;
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        int upper = c >= 'A' && c <= 'Z';
        int split = !alnum || (upper && prev >= 'a' && prev <= 'z');
        if (split && k) {
            if (t->n < MAX_TOKENS)
                t->tok[t->n++][k] = 0;
            k = 0;
        }
        if (!c)
            break;
        if (alnum && t->n < MAX_TOKENS && k + 1 < sizeof t->tok[0])
            t->tok[t->n][k++] = (char)(upper ? c | 32 : c);
        prev = c;
    }
    t->joined[0] = 0;
    size_t j = 0;
    for (int m = 0; m < t->n; m++)
        for (const char *p = t->tok[m]; *p && j + 1 < sizeof t->joined; p++)
            t->joined[j++] = *p;
    t->joined[j] = 0;
}

static int has_token(const struct name_tokens *t, const char *const *words)
{
    for (int m = 0; m < t->n; m++)
        for (size_t w = 0; words[w]; w++)
            if (strcmp(t->tok[m], words[w]) == 0)
                return 1;
    return 0;
}

static int joined_has(const struct name_tokens *t, const char *const *words)
{
    for (size_t w = 0; words[w]; w++)
        if (strstr(t->joined, words[w]))
            return 1;
    return 0;
}

static int joined_is(const struct name_tokens *t, const char *const *words)
{
    for (size_t w = 0; words[w]; w++)
        if (strcmp(t->joined, words[w]) == 0)
            return 1;
    return 0;
}

static int joined_ends(const struct name_tokens *t, const char *const *words)
{
    size_t n = strlen(t->joined);
    for (size_t w = 0; words[w]; w++) {
        size_t m = strlen(words[w]);
        if (n >= m && strcmp(t->joined + n - m, words[w]) == 0)
            return 1;
    }
    return 0;
}

unsigned kl_pii_name_hint(const char *column_name)
{
    static const char *const email_j[] = {"email", NULL};
    static const char *const email_t[] = {"mail", NULL};
    static const char *const phone_j[] = {"phone", "mobile", "contactnumber", NULL};
    static const char *const phone_t[] = {"tel", "cell", "fax", "msisdn", NULL};
    static const char *const ssn_j[] = {"socialsecurity", NULL};
    static const char *const ssn_t[] = {"ssn", "ssns", NULL};
    static const char *const iban_j[] = {"iban", NULL};
    static const char *const card_j[] = {"creditcard", "cardnumber", "ccnumber",
                                         "cardno",     "debitcard",  NULL};
    static const char *const card_t[] = {"card", "cc", NULL};
    static const char *const ip_j[] = {"ipaddress", "ipv4", "ipv6", "ipaddr", "remoteaddr", NULL};
    static const char *const ip_t[] = {"ip", NULL};
    static const char *const url_j[] = {"website", "homepage", "url", NULL};
    static const char *const url_t[] = {"uri", "link", "href", "web", NULL};
    static const char *const dob_j[] = {"birth", NULL};
    static const char *const dob_t[] = {"dob", "born", NULL};
    static const char *const person_is[] = {
        "name",       "fullname", "firstname", "lastname", "surname",    "givenname",  "familyname",
        "middlename", "forename", "first",     "last",     "maidenname", "personname", NULL};
    static const char *const person_end[] = {"firstname", "lastname",   "fullname",   "surname",
                                             "givenname", "familyname", "maidenname", NULL};
    static const char *const roles[] = {
        "customer", "client",    "patient",     "employee", "person", "contact", "owner",
        "member",   "applicant", "student",     "driver",   "holder", "father",  "mother",
        "spouse",   "emergency", "beneficiary", "account",  NULL};
    static const char *const addr_j[] = {"address", "street", NULL};
    static const char *const addr_t[] = {"addr", NULL};
    static const char *const post_j[] = {"postcode", "zipcode", "postalcode", NULL};
    static const char *const post_t[] = {"zip", "postal", "plz", NULL};
    static const char *const passport_j[] = {"passport", NULL};
    static const char *const not_addr[] = {"email", "ipaddr", "macaddr", "webaddr", NULL};

    struct name_tokens t;
    if (!column_name)
        return 0;
    tokenize(column_name, &t);
    if (!t.n)
        return 0;
    unsigned h = 0;
    if (joined_has(&t, email_j) || has_token(&t, email_t))
        h |= BIT(KL_PII_ENTITY_EMAIL);
    if (joined_has(&t, phone_j) || has_token(&t, phone_t))
        h |= BIT(KL_PII_ENTITY_PHONE);
    if (joined_has(&t, ssn_j) || has_token(&t, ssn_t))
        h |= BIT(KL_PII_ENTITY_US_SSN);
    if (joined_has(&t, iban_j))
        h |= BIT(KL_PII_ENTITY_IBAN);
    if (joined_has(&t, card_j) || has_token(&t, card_t))
        h |= BIT(KL_PII_ENTITY_CREDIT_CARD);
    if (joined_has(&t, ip_j) || has_token(&t, ip_t))
        h |= BIT(KL_PII_ENTITY_IP_ADDRESS);
    if (joined_has(&t, url_j) || has_token(&t, url_t))
        h |= BIT(KL_PII_ENTITY_URL);
    if (joined_has(&t, dob_j) || has_token(&t, dob_t))
        h |= BIT(KL_PII_ENTITY_DATE_OF_BIRTH);
    if (joined_is(&t, person_is) || joined_ends(&t, person_end) ||
        (t.n == 2 && strcmp(t.tok[1], "name") == 0 && has_token(&t, roles)))
        h |= BIT(KL_PII_ENTITY_PERSON);
    if ((joined_has(&t, addr_j) || has_token(&t, addr_t)) && !joined_has(&t, not_addr) &&
        !(h & BIT(KL_PII_ENTITY_IP_ADDRESS)))
        h |= BIT(KL_PII_ENTITY_ADDRESS);
    if (joined_has(&t, post_j) || has_token(&t, post_t))
        h |= BIT(KL_PII_ENTITY_POSTCODE);
    if (joined_has(&t, passport_j))
        h |= BIT(KL_PII_ENTITY_PASSPORT);
    return h;
}

/* ---- the scan ---- */

struct acc {
    size_t matched[N_ENT];
    size_t whole[N_ENT];
    double score[N_ENT];
};

struct task {
    size_t col;
    size_t lo, hi; /* rows; for a categorical column the whole column */
};

struct scan_ctx {
    const kl_frame *f;
    const kl_pii_report *r;
    const struct task *tasks;
    struct acc *accs;
};

/* Add one cell's matches (weight copies of it) to a. */
static void scan_cell(const char *v, size_t len, unsigned hint, struct acc *a, size_t weight)
{
    kl_pii_match m[MAX_MATCHES], *mm = m, *heap = NULL;
    size_t k = kl_pii_find(v, len, hint, m, MAX_MATCHES);
    if (!k)
        return;
    if (k > MAX_MATCHES) {
        /* Rare (a cell listing many addresses): look at every match, or at the first ones. */
        heap = malloc(k * sizeof *heap);
        if (heap) {
            kl_pii_find(v, len, hint, heap, k);
            mm = heap;
        } else {
            k = MAX_MATCHES;
        }
    }
    size_t b = 0, e = len;
    while (b < e && (v[b] == ' ' || v[b] == '\t'))
        b++;
    while (e > b && (v[e - 1] == ' ' || v[e - 1] == '\t'))
        e--;
    double best[N_ENT];
    int whole[N_ENT];
    unsigned seen = 0;
    for (size_t q = 0; q < k; q++) {
        unsigned ent = mm[q].entity;
        if (!(seen & BIT(ent))) {
            seen |= BIT(ent);
            best[ent] = 0;
            whole[ent] = 0;
        }
        if (mm[q].score > best[ent])
            best[ent] = mm[q].score;
        if (mm[q].start <= b && mm[q].end >= e)
            whole[ent] = 1;
    }
    for (unsigned ent = 1; ent < N_ENT; ent++) {
        if (!(seen & BIT(ent)))
            continue;
        a->matched[ent] += weight;
        a->whole[ent] += whole[ent] ? weight : 0;
        a->score[ent] += best[ent] * (double)weight;
    }
    free(heap);
}

/* Decimal digits of a non-negative integer below 1e19 into buf; returns the length. */
static size_t u64_digits(uint64_t v, char *buf)
{
    char t[24];
    size_t n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t k = 0; k < n; k++)
        buf[k] = t[n - 1 - k];
    return n;
}

static void scan_task(void *vctx, size_t ti)
{
    struct scan_ctx *c = vctx;
    const struct task *t = &c->tasks[ti];
    struct acc *a = &c->accs[ti];
    const kl_frame *f = c->f;
    unsigned hint = c->r->columns[t->col].hint;
    switch (kl_frame_col_kind(f, t->col)) {
    case KL_COL_KIND_TEXT: {
        const char *const *v = kl_frame_col_text(f, t->col);
        for (size_t i = t->lo; i < t->hi; i++)
            if (v[i])
                scan_cell(v[i], strlen(v[i]), hint, a, 1);
        break;
    }
    case KL_COL_KIND_CATEGORICAL: {
        size_t n_dict = 0;
        const char *const *dict = kl_frame_col_dict(f, t->col, &n_dict);
        const int32_t *codes = kl_frame_col_codes(f, t->col);
        size_t *counts = calloc(n_dict ? n_dict : 1, sizeof *counts);
        if (!counts) {
            /* Without memory for the counts, scan row by row: slower, same result. */
            for (size_t i = t->lo; i < t->hi; i++)
                if (codes[i] != KL_CAT_MISSING)
                    scan_cell(dict[codes[i]], strlen(dict[codes[i]]), hint, a, 1);
            break;
        }
        for (size_t i = t->lo; i < t->hi; i++)
            if (codes[i] != KL_CAT_MISSING)
                counts[codes[i]]++;
        for (size_t d = 0; d < n_dict; d++)
            if (counts[d])
                scan_cell(dict[d], strlen(dict[d]), hint, a, counts[d]);
        free(counts);
        break;
    }
    case KL_COL_KIND_NUMERIC: {
        /* Integers of 9 digits or more can be SSNs, phone or card numbers. */
        const double *v = kl_frame_col_f64(f, t->col);
        char buf[24];
        for (size_t i = t->lo; i < t->hi; i++) {
            double x = v[i];
            if (!(x >= 1e8 && x < 1e19) || x != floor(x))
                continue;
            scan_cell(buf, u64_digits((uint64_t)x, buf), hint, a, 1);
        }
        break;
    }
    case KL_COL_KIND_TIME: {
        const int64_t *v = kl_frame_col_time(f, t->col);
        const int64_t day = INT64_C(86400000000);
        for (size_t i = t->lo; i < t->hi; i++) {
            if (v[i] == KL_TIME_MISSING)
                continue;
            int64_t d = v[i] / day - (v[i] % day < 0);
            if (kl__pii_birth_days_ok(d)) {
                a->matched[KL_PII_ENTITY_DATE_OF_BIRTH]++;
                a->whole[KL_PII_ENTITY_DATE_OF_BIRTH]++;
                a->score[KL_PII_ENTITY_DATE_OF_BIRTH] += KL__PII_DOB_SCORE;
            }
        }
        break;
    }
    case KL_COL_KIND_BOOL:
        break;
    }
}

void kl_pii_report_release(kl_pii_report *r)
{
    if (!r)
        return;
    for (size_t j = 0; j < r->n_columns; j++)
        free(r->columns[j].name);
    free(r->columns);
    memset(r, 0, sizeof *r);
}

/* Whether column j is looked at, and in how many tasks. */
static size_t column_tasks(const kl_frame *f, size_t j, unsigned hint, int skip_numeric)
{
    size_t rows = kl_frame_row_count(f);
    switch (kl_frame_col_kind(f, j)) {
    case KL_COL_KIND_TEXT:
        return kl_task_count(rows, CHUNK);
    case KL_COL_KIND_CATEGORICAL:
        return rows ? 1 : 0;
    case KL_COL_KIND_NUMERIC:
        return skip_numeric || kl_frame_col_type(f, j) != KL_TYPE_INT ? 0
                                                                      : kl_task_count(rows, CHUNK);
    case KL_COL_KIND_TIME:
        return hint & BIT(KL_PII_ENTITY_DATE_OF_BIRTH) ? kl_task_count(rows, CHUNK) : 0;
    case KL_COL_KIND_BOOL:
        return 0;
    }
    return 0;
}

static void column_verdict(kl_pii_column *c, const struct acc *sum, double min_conf)
{
    c->entity = KL_PII_ENTITY_NONE;
    c->share = c->confidence = 0;
    for (unsigned e = 1; e < N_ENT; e++) {
        kl_pii_entity_stat *st = &c->stats[e];
        st->matched = sum->matched[e];
        st->whole = sum->whole[e];
        if (!c->present || !st->matched)
            continue;
        double n = (double)c->present;
        double s = sum->score[e] / n;
        st->share = (double)st->matched / n;
        st->confidence = (c->hint & BIT(e)) ? s + (1 - s) * 0.5 * st->share : s;
        if (st->confidence > 1)
            st->confidence = 1;
        if (st->confidence > c->confidence) {
            c->entity = (enum kl_pii_entity)e;
            c->confidence = st->confidence;
            c->share = st->share;
        }
    }
    c->flagged = c->entity != KL_PII_ENTITY_NONE && c->confidence >= min_conf;
}

int kl_pii_scan(const kl_frame *f, const kl_pii_scan_opts *opts, kl_pii_report *out, kl_err *err)
{
    kl_pii_scan_opts o = opts ? *opts : (kl_pii_scan_opts){0};
    double min_conf = o.min_confidence > 0 ? o.min_confidence : 0.5;
    size_t nc = kl_frame_col_count(f), rows = kl_frame_row_count(f);
    memset(out, 0, sizeof *out);
    out->rows = rows;
    out->min_confidence = min_conf;
    out->columns = calloc(nc ? nc : 1, sizeof *out->columns);
    if (!out->columns)
        return kl_err_set(err, KL_ENOMEM, "out of memory scanning for PII");
    out->n_columns = nc;
    size_t n_tasks = 0;
    for (size_t j = 0; j < nc; j++) {
        kl_pii_column *c = &out->columns[j];
        c->name = strdup(kl_frame_col_name(f, j));
        if (!c->name) {
            kl_pii_report_release(out);
            return kl_err_set(err, KL_ENOMEM, "out of memory scanning for PII");
        }
        c->index = j;
        c->hint = kl_pii_name_hint(c->name);
        c->present = rows - kl_frame_col_missing(f, j);
        n_tasks += column_tasks(f, j, c->hint, o.skip_numeric);
    }
    struct task *tasks = calloc(n_tasks ? n_tasks : 1, sizeof *tasks);
    struct acc *accs = calloc(n_tasks ? n_tasks : 1, sizeof *accs);
    if (!tasks || !accs) {
        free(tasks);
        free(accs);
        kl_pii_report_release(out);
        return kl_err_set(err, KL_ENOMEM, "out of memory scanning for PII");
    }
    size_t t = 0;
    for (size_t j = 0; j < nc; j++) {
        size_t k = column_tasks(f, j, out->columns[j].hint, o.skip_numeric);
        int whole_col = kl_frame_col_kind(f, j) == KL_COL_KIND_CATEGORICAL;
        for (size_t q = 0; q < k; q++, t++) {
            tasks[t].col = j;
            tasks[t].lo = whole_col ? 0 : q * CHUNK;
            tasks[t].hi = whole_col ? rows : KL_MIN(rows, (q + 1) * CHUNK);
        }
    }
    struct scan_ctx ctx = {f, out, tasks, accs};
    kl_parallel_for(n_tasks, scan_task, &ctx);
    t = 0;
    for (size_t j = 0; j < nc; j++) {
        struct acc sum;
        memset(&sum, 0, sizeof sum);
        for (; t < n_tasks && tasks[t].col == j; t++) {
            for (unsigned e = 0; e < N_ENT; e++) {
                sum.matched[e] += accs[t].matched[e];
                sum.whole[e] += accs[t].whole[e];
                sum.score[e] += accs[t].score[e];
            }
        }
        column_verdict(&out->columns[j], &sum, min_conf);
    }
    free(tasks);
    free(accs);
    return 0;
}
