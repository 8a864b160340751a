/*
 * Joins of two frames: an equality (hash) join on key columns and an as-of
 * (point-in-time) join on a time column, with a report of the cardinality
 * surprises a join can hide (docs/JOINS.md).
 *
 * Ownership: kl_join returns a new frame that the caller frees with
 * kl_frame_free; it copies what it needs, so it outlives both inputs. Options
 * and inputs are borrowed for the call. The report holds no pointers.
 *
 * Output, for both kinds of join:
 *   - rows follow A's row order; in an equality join each row of A is
 *     followed by its matches in B's row order (pandas.merge's order);
 *   - columns are A's columns in their order, then B's except the key
 *     columns (and, for an as-of join, B's time column when it has A's
 *     name), which appear once, with A's values;
 *   - a column other than a key that both sides have is renamed NAME_x in A's
 *     part and NAME_y in B's part (pandas' default suffixes);
 *   - a row of A without a match (kept by a left join) has B's columns missing.
 *
 * Keys match by value: numbers numerically (an int key matches a float key
 * with the same value, -0.0 matches 0.0), categories and text by their
 * strings (a categorical key may meet a text key), times and dates as
 * instants, bools as bools. A missing key value never matches anything (SQL's
 * rule; pandas would match NaN with NaN).
 */
#ifndef KEEL_JOIN_H
#define KEEL_JOIN_H

#include <stddef.h>
#include <stdint.h>

#include "keel/err.h"
#include "keel/frame.h"

#ifdef __cplusplus
extern "C" {
#endif

enum kl_join_how {
    KL_JOIN_HOW_INNER = 0, /* only rows of A with a match */
    KL_JOIN_HOW_LEFT = 1,  /* every row of A */
};

typedef struct kl_join_opts {
    /*
     * Key columns, present in both frames under the same name. Without asof:
     * the equality keys (at least one). With asof: the "by" keys (may be
     * none), which must match exactly before times are compared.
     */
    const char *const *keys;
    size_t n_keys;
    enum kl_join_how how; /* default inner; an as-of join is usually run as left */
    /*
     * As-of join on this column (NULL: equality join). Present in both frames,
     * both time (date or datetime) or both numeric. Each row of A gets the
     * row of B with the same by keys and the latest time at or before A's
     * time (pandas.merge_asof, direction backward, exact matches allowed);
     * among rows of B with that same time, the last in B's order. A row of B
     * whose time is after A's is never used.
     */
    const char *asof;
    /*
     * B's time column when it is named differently (NULL: asof in both). As
     * in pandas (left_on/right_on), B's time column is then kept in the
     * output, which shows how old each matched row was; with one name for
     * both it appears once, with A's values.
     */
    const char *asof_b;
    /*
     * As-of only: the largest allowed distance from A's time back to B's
     * (NULL: no limit). For a time column a whole number with a unit:
     * "500ms", "90s", "15m", "2h", "7d", "1w"; for a numeric column a plain
     * number. Negative values are KL_EINVAL.
     */
    const char *tolerance;
    /* What to call the two sides in error messages (NULL: "A" and "B"). */
    const char *name_a, *name_b;
} kl_join_opts;

typedef struct kl_join_report {
    size_t rows_a, rows_b, rows_out;
    /* Rows of A that matched no row of B (dropped by inner, kept by left). */
    size_t unmatched_a;
    /* Rows of B that no row of A used. */
    size_t unmatched_b;
    /* Rows whose key (or as-of time) has a missing value, so never match. */
    size_t missing_key_a, missing_key_b;
    /*
     * Equality join: among keys present on both sides, how many appear on
     * more than one row of A (dup_keys_a) and those rows (dup_rows_a); the
     * same for B. A duplicate on B's side multiplies rows of A.
     * As-of join: dup_keys_b counts (by keys, time) pairs held by more than
     * one row of B, and dup_rows_b their rows (only the last is ever used);
     * the A fields count the same for A (harmless, reported for symmetry).
     */
    size_t dup_keys_a, dup_rows_a, dup_keys_b, dup_rows_b;
    /* As-of only: rows of A whose latest B row was further back than the tolerance. */
    size_t beyond_tolerance;
} kl_join_report;

/*
 * "one-to-one", "one-to-many", "many-to-one" or "many-to-many": whether keys
 * present on both sides repeat on A's side (first word) and B's (second).
 */
const char *kl_join_relation(const kl_join_report *r);

/*
 * Join a and b as o says and store the result in *out (NULL on failure);
 * rep (may be NULL) gets the counts. Errors: KL_ENOTFOUND for a key or time
 * column missing from a side ("no key column 'id' in B"); KL_EINVAL for keys
 * of incompatible types ("key column 'id' is int in A but categorical in
 * B"), a time column that is neither time nor numeric, no keys for an
 * equality join, a bad tolerance, or a result column name that is taken;
 * KL_ERANGE when the result would be too large; KL_ENOMEM.
 */
int kl_join(const kl_frame *a, const kl_frame *b, const kl_join_opts *o, kl_frame **out,
            kl_join_report *rep, kl_err *err);

#ifdef __cplusplus
}
#endif
#endif
