/*
 * keel data join: join two snapshots into a new one (docs/JOINS.md).
 *
 * Inputs are snapshots, not CSV files: a snapshot has been through keel.yaml's
 * PII policy, so joining them never brings raw values into the store, and the
 * result's lineage can point at both. The library does the join (kl_join);
 * this file parses options, loads, stores and reports.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/frame.h"
#include "keel/join.h"
#include "keel/snapshot.h"
#include "keel/store.h"
#include "data_sources.h"
#include "keel.h"
#include "store_cli.h"
#include "core/common.h"

#define MAX_KEYS 16

static const char *const how_choices[] = {"inner", "left", NULL};

/* Split "a,b,c" into keys (pointing into buf, a copy of text). Exit code. */
static int split_keys(const char *opt, const char *text, char *buf, size_t n, const char **keys,
                      size_t *n_keys)
{
    snprintf(buf, n, "%s", text);
    *n_keys = 0;
    for (char *p = buf, *next; p; p = next) {
        next = strchr(p, ',');
        if (next)
            *next++ = '\0';
        if (!*p)
            return kl_cli_error(KL_EXIT_USAGE, "option '--%s' has an empty column name in '%s'",
                                opt, text);
        if (*n_keys == MAX_KEYS)
            return kl_cli_error(KL_EXIT_USAGE, "option '--%s' takes at most %d columns", opt,
                                MAX_KEYS);
        keys[(*n_keys)++] = p;
    }
    return KL_EXIT_OK;
}

static int cmd_data_join(struct kl_cli *cli, int argc, char **argv)
{
    const char *on = NULL, *how = NULL, *asof = NULL, *by = NULL, *tolerance = NULL;
    const char *name = NULL;
    int json = 0;
    const struct kl_opt opts[] = {
        KL_OPT_STRING_("on", 0, "KEY[,KEY]", &on, "equality join on these columns of both"),
        KL_OPT_CHOICE_("how", 0, NULL, &how, how_choices,
                       "keep matched rows of A only, or all (default: inner; left with --asof)"),
        KL_OPT_STRING_("asof", 0, "COL[=COL_B]", &asof,
                       "as-of join on this time column (B's, if named differently, after =)"),
        KL_OPT_STRING_("by", 0, "KEY[,KEY]", &by, "as-of: match these columns exactly first"),
        KL_OPT_STRING_("tolerance", 0, "DURATION", &tolerance,
                       "as-of: how far back at most (7d, 12h, 15m, 30s; a number for numbers)"),
        KL_OPT_STRING_("name", 0, "NAME", &name, "a name to refer to the new snapshot by"),
        KL_OPT_JSON_(&json),
        KL_OPT_END_};
    const struct kl_usage u = {
        "[options] A B",
        "Join snapshot B onto snapshot A and store the result as a new snapshot\n"
        "with lineage to both. --on joins rows with equal keys (a hash join);\n"
        "--asof gives each row of A the latest row of B at or before its time,\n"
        "so no later information leaks in (pandas.merge_asof, backward). Rows\n"
        "follow A's order; a column both sides have gets _x (A) and _y (B).\n"
        "Duplicate keys, unmatched rows and missing keys are reported as\n"
        "warnings. A and B are snapshot ids, unique prefixes, names or tags.",
        opts, 2, 2};
    char *pos[2];
    int n_pos = 0, rc = kl_cli_parse(cli, &u, argc, argv, pos, &n_pos);
    if (rc != KL_CLI_CONTINUE)
        return rc;
    if (!on == !asof)
        return kl_cli_error(KL_EXIT_USAGE,
                            "give exactly one of '--on' and '--asof'; see 'keel %s "
                            "--help'",
                            cli->path);
    if (on && (by || tolerance))
        return kl_cli_error(KL_EXIT_USAGE, "option '--%s' applies only with '--asof'",
                            by ? "by" : "tolerance");
    const char *keys[MAX_KEYS];
    char keybuf[4096];
    struct kl_join_step st = {0};
    if ((on || by) && (rc = split_keys(on ? "on" : "by", on ? on : by, keybuf, sizeof keybuf, keys,
                                       &st.opts.n_keys)) != KL_EXIT_OK)
        return rc;
    st.opts.keys = keys;
    char asofbuf[512];
    if (asof)
        kl_cli_join_asof(asof, asofbuf, sizeof asofbuf, &st.opts);
    st.opts.tolerance = tolerance;
    st.opts.how = how ? (strcmp(how, "left") == 0 ? KL_JOIN_HOW_LEFT : KL_JOIN_HOW_INNER)
                      : (asof ? KL_JOIN_HOW_LEFT : KL_JOIN_HOW_INNER);
    st.a = st.opts.name_a = pos[0];
    st.b = st.opts.name_b = pos[1];

    kl_store *s = NULL;
    kl_frame *fa = NULL, *fb = NULL, *out = NULL;
    kl_ref ra, rb;
    kl_err err = {0};
    char ids[2][KL_ID_LEN], id[KL_ID_LEN];
    int created = 0;
    if ((rc = kl_cli_store_open(cli, &s)) != KL_EXIT_OK)
        return rc;
    if ((rc = kl_cli_resolve(s, "snapshot", pos[0], &ra)) != KL_EXIT_OK ||
        (rc = kl_cli_resolve(s, "snapshot", pos[1], &rb)) != KL_EXIT_OK)
        goto done;
    if (kl_snapshot_load(s, ra.id, &fa, &err) < 0 || kl_snapshot_load(s, rb.id, &fb, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto done;
    }
    if (kl_join(fa, fb, &st.opts, &out, &st.rep, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto done;
    }
    memcpy(ids[0], ra.id, KL_ID_LEN);
    memcpy(ids[1], rb.id, KL_ID_LEN);
    if (kl_cli_join_store(s, out, ids, 2, &st, name, id, &created, &err) < 0) {
        rc = kl_cli_fail(&err);
        goto done;
    }
    size_t nr = kl_frame_row_count(out), nc = kl_frame_col_count(out);
    if (json) {
        json_t *o = json_pack("{s:s, s:b, s:s?, s:s, s:s, s:I, s:I, s:o}", "id", id, "created",
                              created, "name", name, "a", ra.id, "b", rb.id, "rows", (json_int_t)nr,
                              "columns", (json_int_t)nc, "join", kl_cli_join_step_json(&st));
        rc = kl_cli_json_print(o);
        goto done;
    }
    kl_cli_join_warn(&st);
    printf("%s snapshot %s (%zu rows, %zu columns)\n", created ? "added" : "unchanged: have", id,
           nr, nc);
    printf("  joined %.12s (A, %zu rows) and %.12s (B, %zu rows)\n", ra.id, st.rep.rows_a, rb.id,
           st.rep.rows_b);
    kl_cli_join_print(&st);
    rc = KL_EXIT_OK;
done:
    kl_frame_free(fa);
    kl_frame_free(fb);
    kl_frame_free(out);
    kl_store_close(s);
    return rc;
}

static const struct kl_cmd join = {
    "join", cmd_data_join, "join two snapshots into a new one (equality or as-of)", 35, "data"};
KL_COMMANDS(data_join, &join);
