/*
 * keel pii scan|apply: report the personal data a CSV file holds, and write
 * an anonymised copy by the policies of keel.yaml (constraints.pii) or of
 * --policy. Neither prints a cell's value: the report gives entities,
 * shares and confidences, the apply summary what was done to which column.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keel/csv.h"
#include "keel/frame.h"
#include "keel/pii.h"
#include "keel/spec.h"
#include "keel.h"
#include "core/common.h"

/* JSON with short decimals (0.88, not 0.88000000000000000). */
static int print_json(json_t *v)
{
    if (!v)
        return kl_cli_error(KL_EXIT_INPUT, "out of memory while writing JSON");
    int rc = json_dumpf(v, stdout,
                        JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII |
                            JSON_REAL_PRECISION(6));
    json_decref(v);
    fputc('\n', stdout);
    return rc == 0 ? KL_EXIT_OK : kl_cli_error(KL_EXIT_INPUT, "cannot write JSON to stdout");
}

/*
 * Load the spec (--spec, or keel.yaml when present unless --no-spec) and
 * read FILE with its CSV options. *spec stays loaded for its policies.
 */
static int read_input(const struct kl_cli *cli, const char *spec_file, int no_spec,
                      const char *file, kl_spec **spec, kl_frame **f, char *path, size_t n)
{
    kl_err err = {0};
    kl_csv_read_opts opts = {0};
    char spec_path[4096];
    kl_cli_path(cli, spec_file ? spec_file : "keel.yaml", spec_path, sizeof spec_path);
    *spec = NULL;
    if (!no_spec && (spec_file || access(spec_path, F_OK) == 0)) {
        if (kl_spec_load_file(spec_path, spec, &err) < 0)
            return kl_cli_fail(&err);
        if (kl_spec_csv_opts(*spec, &opts, &err) < 0)
            return kl_cli_fail(&err);
    }
    kl_cli_path(cli, file, path, n);
    kl_csv_report rep = {0};
    int rc = kl_csv_read_file(path, &opts, f, &rep, &err);
    kl_csv_report_release(&rep);
    if (rc < 0)
        return kl_cli_fail(&err);
    return KL_EXIT_OK;
}

/* The entities a column's name suggests, as "a, b". */
static void hint_text(unsigned hint, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = 0;
    for (int e = 1; e < KL_PII_ENTITY_COUNT; e++)
        if (hint & (1u << e) && k < n)
            k += (size_t)snprintf(buf + k, n - k, "%s%s", k ? ", " : "",
                                  kl_pii_entity_name((enum kl_pii_entity)e));
}

static json_t *report_json(const char *path, const kl_pii_report *r)
{
    json_t *o = json_pack("{s:s}", "file", path), *body = kl_pii_report_json(r);
    if (!o || !body || json_object_update(o, body) < 0) {
        json_decref(o);
        o = NULL;
    }
    json_decref(body);
    return o;
}

static void report_text(const char *path, const kl_pii_report *r)
{
    size_t flagged = 0;
    for (size_t j = 0; j < r->n_columns; j++)
        flagged += r->columns[j].flagged != 0;
    printf("PII scan of '%s': %zu rows, %zu columns, %zu flagged (confidence >= %.2f)\n\n", path,
           r->rows, r->n_columns, flagged, r->min_confidence);
    struct kl_table *t = kl_table_new(6);
    const char *head[] = {"column", "entity", "share", "confidence", "flagged", "name suggests"};
    kl_table_add(t, head);
    kl_table_align_right(t, 2);
    kl_table_align_right(t, 3);
    for (size_t j = 0; j < r->n_columns; j++) {
        const kl_pii_column *c = &r->columns[j];
        char share[32] = "", conf[32] = "", hint[256];
        if (c->entity) {
            snprintf(share, sizeof share, "%.1f%%", 100 * c->share);
            snprintf(conf, sizeof conf, "%.2f", c->confidence);
        }
        hint_text(c->hint, hint, sizeof hint);
        const char *row[] = {c->name,
                             c->entity ? kl_pii_entity_name(c->entity) : "-",
                             share,
                             conf,
                             c->flagged ? "yes" : "no",
                             hint};
        kl_table_add(t, row);
    }
    kl_table_print(t, stdout, 40);
    kl_table_free(t);
}

static int cmd_pii_scan(struct kl_cli *cli, int argc, char **argv)
{
    const char *spec_file = NULL;
    int no_spec = 0, json = 0;
    const struct kl_opt opts[] = {
        KL_OPT_STRING_("spec", 0, "FILE", &spec_file,
                       "read CSV options from this spec (default: keel.yaml if present)"),
        KL_OPT_FLAG_("no-spec", 0, &no_spec, "ignore keel.yaml"),
        KL_OPT_JSON_(&json),
        KL_OPT_END_,
    };
    const struct kl_usage u = {
        "[options] FILE",
        "Look for personal data in every cell of a CSV file and report, per\n"
        "column, the most likely entity (email, phone, credit_card, us_ssn,\n"
        "iban, ip_address, url, date_of_birth, person, address, postcode,\n"
        "passport), the share of values that match it and a confidence built\n"
        "from that share, the validators and the column's name (docs/PII.md).\n"
        "Columns at or above confidence 0.5 are flagged. No value is printed.",
        opts, 1, 1};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    kl_spec *spec = NULL;
    kl_frame *f = NULL;
    char path[8192];
    rc = read_input(cli, spec_file, no_spec, pos[0], &spec, &f, path, sizeof path);
    kl_spec_free(spec);
    if (rc != KL_EXIT_OK)
        return rc;
    kl_pii_report r;
    kl_err err = {0};
    if (kl_pii_scan(f, NULL, &r, &err) < 0) {
        kl_frame_free(f);
        return kl_cli_fail(&err);
    }
    if (json)
        rc = print_json(report_json(pos[0], &r));
    else
        report_text(pos[0], &r);
    kl_pii_report_release(&r);
    kl_frame_free(f);
    return rc;
}

/* ---- apply ---- */

/* Parse "ACTION" or "mask:N" into p; 0 or -1. */
static int parse_action(const char *s, size_t n, kl_pii_policy *p)
{
    static const char *const names[] = {"keep", "drop", "redact", "mask", "hash", "fail"};
    size_t word = n;
    const char *colon = memchr(s, ':', n);
    if (colon)
        word = (size_t)(colon - s);
    for (size_t a = 0; a < KL_ARRAY_LEN(names); a++) {
        if (strlen(names[a]) != word || strncmp(s, names[a], word) != 0)
            continue;
        p->action = (enum kl_pii_action)a;
        p->keep_last = p->action == KL_PII_ACTION_MASK ? 4 : 0;
        if (!colon)
            return 0;
        if (p->action != KL_PII_ACTION_MASK)
            return -1;
        char num[16];
        size_t len = n - word - 1;
        if (len == 0 || len >= sizeof num)
            return -1;
        memcpy(num, colon + 1, len);
        num[len] = 0;
        char *end;
        long v = strtol(num, &end, 10);
        if (*end || v < 0 || v > 4096)
            return -1;
        p->keep_last = (int)v;
        return 0;
    }
    return -1;
}

struct policy_set {
    kl_pii_policies p;
    kl_spec_pii_rule *cols, *ents;
    size_t n_cols, n_ents;
    char *text; /* the --policy string, cut into names */
};

/* Add or replace a rule; entity rules are the same rule under any alias ("ssn", "us_ssn"). */
static int add_rule(kl_spec_pii_rule **v, size_t *n, const char *name, kl_pii_policy pol,
                    int entity)
{
    for (size_t k = 0; k < *n; k++) {
        if (entity ? kl_pii_entity_parse((*v)[k].name) == kl_pii_entity_parse(name)
                   : strcmp((*v)[k].name, name) == 0) {
            (*v)[k].policy = pol;
            return 0;
        }
    }
    kl_spec_pii_rule *x = realloc(*v, (*n + 1) * sizeof *x);
    if (!x)
        return -1;
    *v = x;
    x[*n].name = name;
    x[*n].policy = pol;
    (*n)++;
    return 0;
}

/*
 * The spec's rules, then --policy's: KEY=ACTION pairs split by commas, KEY
 * an entity name, "default", or "column:NAME"; ACTION keep, drop, redact,
 * mask, mask:N, hash or fail.
 */
static int build_policies(const kl_spec *spec, const char *arg, struct policy_set *ps)
{
    memset(ps, 0, sizeof *ps);
    if (spec) {
        kl_pii_policies_from_spec(spec, &ps->p);
        for (size_t k = 0; k < ps->p.n_columns; k++)
            if (add_rule(&ps->cols, &ps->n_cols, ps->p.columns[k].name, ps->p.columns[k].policy, 0))
                return kl_cli_error(KL_EXIT_INPUT, "out of memory");
        for (size_t k = 0; k < ps->p.n_entities; k++)
            if (add_rule(&ps->ents, &ps->n_ents, ps->p.entities[k].name, ps->p.entities[k].policy,
                         1))
                return kl_cli_error(KL_EXIT_INPUT, "out of memory");
    }
    if (arg) {
        ps->text = strdup(arg);
        if (!ps->text)
            return kl_cli_error(KL_EXIT_INPUT, "out of memory");
        for (char *item = ps->text; item && *item;) {
            char *next = strchr(item, ',');
            if (next)
                *next++ = 0;
            char *eq = strchr(item, '=');
            kl_pii_policy pol;
            if (!eq || eq == item || parse_action(eq + 1, strlen(eq + 1), &pol) < 0)
                return kl_cli_error(KL_EXIT_USAGE,
                                    "option '--policy' takes KEY=ACTION pairs (ACTION keep, drop, "
                                    "redact, mask, mask:N, hash or fail), not '%s'",
                                    item);
            *eq = 0;
            int bad = 0;
            if (strcmp(item, "default") == 0)
                ps->p.fallback = pol;
            else if (strncmp(item, "column:", 7) == 0 && item[7])
                bad = add_rule(&ps->cols, &ps->n_cols, item + 7, pol, 0);
            else if (kl_pii_entity_parse(item) >= 0)
                bad = add_rule(&ps->ents, &ps->n_ents, item, pol, 1);
            else
                return kl_cli_error(KL_EXIT_USAGE,
                                    "'%s' in '--policy' is not a PII entity, 'default' or "
                                    "'column:NAME'",
                                    item);
            if (bad)
                return kl_cli_error(KL_EXIT_INPUT, "out of memory");
            item = next;
        }
    }
    ps->p.columns = ps->cols;
    ps->p.n_columns = ps->n_cols;
    ps->p.entities = ps->ents;
    ps->p.n_entities = ps->n_ents;
    return KL_EXIT_OK;
}

static void policy_set_release(struct policy_set *ps)
{
    free(ps->cols);
    free(ps->ents);
    free(ps->text);
}

static int needs_salt(const kl_pii_policies *p)
{
    int any = p->fallback.action == KL_PII_ACTION_HASH;
    for (size_t k = 0; k < p->n_columns; k++)
        any |= p->columns[k].policy.action == KL_PII_ACTION_HASH;
    for (size_t k = 0; k < p->n_entities; k++)
        any |= p->entities[k].policy.action == KL_PII_ACTION_HASH;
    return any;
}

static void action_text(const kl_pii_policy *p, char *buf, size_t n)
{
    if (p->action == KL_PII_ACTION_MASK)
        snprintf(buf, n, "mask (keep last %d)", p->keep_last);
    else
        snprintf(buf, n, "%s", kl_pii_action_name(p->action));
}

static int cmd_pii_apply(struct kl_cli *cli, int argc, char **argv)
{
    const char *spec_file = NULL, *output = NULL, *policy = NULL;
    int no_spec = 0, json = 0;
    const struct kl_opt opts[] = {
        KL_OPT_STRING_("output", 'o', "OUT", &output, "write the anonymised CSV here (required)"),
        KL_OPT_STRING_("policy", 0, "LIST", &policy,
                       "KEY=ACTION pairs, comma-separated, added to keel.yaml's"),
        KL_OPT_STRING_("spec", 0, "FILE", &spec_file,
                       "read policies and CSV options from this spec (default: keel.yaml)"),
        KL_OPT_FLAG_("no-spec", 0, &no_spec, "ignore keel.yaml"),
        KL_OPT_JSON_(&json),
        KL_OPT_END_,
    };
    const struct kl_usage u = {
        "[options] FILE -o OUT",
        "Scan a CSV file for personal data and write a copy with the PII\n"
        "policies applied: keel.yaml's constraints.pii (default, columns,\n"
        "entities), then --policy. In --policy, KEY is an entity (email, phone,\n"
        "credit_card, ssn, iban, ip, url, dob, name, address, postcode,\n"
        "passport), 'default' or 'column:NAME'; ACTION is keep, drop, redact,\n"
        "mask, mask:N (keep the last N characters), hash (salted SHA-256; the\n"
        "salt is .keel/secrets/pii_salt, created on first use) or fail (exit 1\n"
        "naming the column). Prints what was done to each column.",
        opts, 1, 1};
    char *pos[1];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    if (!output)
        return kl_cli_error(KL_EXIT_USAGE, "missing '--output OUT'; see 'keel %s --help'",
                            cli->path);
    kl_spec *spec = NULL;
    kl_frame *f = NULL, *o = NULL;
    kl_pii_log log = {0};
    struct policy_set ps = {0};
    char path[8192], out_path[8192];
    kl_err err = {0};
    uint8_t salt[KL_PII_SALT_LEN];
    rc = read_input(cli, spec_file, no_spec, pos[0], &spec, &f, path, sizeof path);
    if (rc != KL_EXIT_OK)
        goto done;
    rc = build_policies(spec, policy, &ps);
    if (rc != KL_EXIT_OK)
        goto done;
    int salted = needs_salt(&ps.p);
    if (salted && kl_pii_salt_load(cli->dir, salt, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto done;
    }
    if (kl_pii_apply(f, NULL, &ps.p, salted ? salt : NULL, &o, &log, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto done;
    }
    kl_cli_path(cli, output, out_path, sizeof out_path);
    if (kl_csv_write_file(o, out_path, NULL, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto done;
    }
    if (json) {
        json_t *tr = kl_pii_log_json(&log);
        rc = print_json(json_pack("{s:s, s:s, s:I, s:I, s:o}", "input", pos[0], "output", output,
                                  "rows", (json_int_t)kl_frame_row_count(o), "columns",
                                  (json_int_t)kl_frame_col_count(o), "transformed", tr));
    } else {
        size_t distinct = 0;
        for (size_t k = 0; k < log.n; k++)
            distinct += k == 0 || strcmp(log.entries[k].column, log.entries[k - 1].column) != 0;
        printf("wrote '%s': %zu rows, %zu columns; %zu column%s transformed\n", output,
               kl_frame_row_count(o), kl_frame_col_count(o), distinct, distinct == 1 ? "" : "s");
        if (log.n) {
            putchar('\n');
            struct kl_table *t = kl_table_new(6);
            const char *head[] = {"column", "entity", "action", "rule", "cells", "where"};
            kl_table_add(t, head);
            kl_table_align_right(t, 4);
            for (size_t k = 0; k < log.n; k++) {
                const kl_pii_log_entry *x = &log.entries[k];
                char act[64], cells[32], where[64];
                action_text(&x->policy, act, sizeof act);
                snprintf(cells, sizeof cells, "%zu", x->cells);
                if (x->whole)
                    snprintf(where, sizeof where, "whole cells");
                else
                    snprintf(where, sizeof where, "%zu match%s in text", x->spans,
                             x->spans == 1 ? "" : "es");
                const char *row[] = {x->column, x->entity ? kl_pii_entity_name(x->entity) : "-",
                                     act,       x->rule,
                                     cells,     where};
                kl_table_add(t, row);
            }
            kl_table_print(t, stdout, 40);
            kl_table_free(t);
        }
        rc = KL_EXIT_OK;
    }
done:
    policy_set_release(&ps);
    kl_pii_log_release(&log);
    kl_frame_free(o);
    kl_frame_free(f);
    kl_spec_free(spec);
    return rc;
}

static const struct kl_cmd pii = {"pii", NULL, "Find personal data and anonymise it.", 45, NULL};
static const struct kl_cmd scan = {
    "scan", cmd_pii_scan, "report the personal data each column of a CSV file holds", 10, "pii"};
static const struct kl_cmd apply = {"apply", cmd_pii_apply,
                                    "write a CSV file with the PII policies applied", 20, "pii"};
KL_COMMANDS(pii, &pii, &scan, &apply);
