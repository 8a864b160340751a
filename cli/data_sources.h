/*
 * Joined snapshots, shared by `keel data join` (two snapshots) and `keel data
 * add` with keel.yaml's data.sources (several files): store a joined frame as
 * a snapshot with lineage to its inputs, and report what the join found
 * (docs/JOINS.md).
 */
#ifndef KEEL_CLI_DATA_SOURCES_H
#define KEEL_CLI_DATA_SOURCES_H

#include <stddef.h>

#include "keel/frame.h"
#include "keel/join.h"
#include "keel/spec.h"
#include "keel/store.h"
#include "data_read.h"
#include "keel.h"

struct json_t;

/* One join step: what joined, how, and what it found. */
struct kl_join_step {
    const char *a, *b;  /* names of the two sides as shown ("A", "orders.csv", an id) */
    kl_join_opts opts;  /* keys, how, asof, tolerance */
    kl_join_report rep; /* filled by the join */
};

/*
 * Split an as-of column argument, "COL" or "COL_A=COL_B" (A's and B's time
 * columns), into o->asof and o->asof_b, copying text into buf (n bytes).
 */
void kl_cli_join_asof(const char *text, char *buf, size_t n, kl_join_opts *o);

/* "on id,day (inner)" or "asof time by ticker (left, tolerance 2m)". */
void kl_cli_join_describe(const kl_join_opts *o, char *buf, size_t n);

/* Warnings on stderr for the surprises of one step (duplicates, unmatched rows, missing keys). */
void kl_cli_join_warn(const struct kl_join_step *st);

/* The step's summary lines on stdout: relation, rows, unmatched and duplicate counts. */
void kl_cli_join_print(const struct kl_join_step *st);

/* The step as JSON: sides, options and every report count. NULL when out of memory. */
struct json_t *kl_cli_join_step_json(const struct kl_join_step *st);

/*
 * Store f, made by joining snapshots inputs[0..n) in steps[0..n-1), as a
 * snapshot named name (may be NULL), with a lineage edge "joined_from" from
 * each input to it. Its source hash is SHA-256 of the input ids and the step
 * descriptions, so the same join of the same inputs gets the same id.
 * Returns 0 or a negative code with err filled.
 */
int kl_cli_join_store(kl_store *s, const kl_frame *f, char (*inputs)[KL_ID_LEN], size_t n,
                      const struct kl_join_step *steps, const char *name, char id[KL_ID_LEN],
                      int *created, kl_err *err);

/*
 * `keel data add` without FILE: when keel.yaml (or a->spec_file) has
 * data.sources, read each source (with the spec's CSV options and its own
 * type overrides), apply the PII policy, snapshot it, join the snapshots in
 * order (the first is the base) and store the result named name (may be
 * NULL) with lineage to every source's snapshot; print the result (JSON when
 * a->json) and return an exit code. Returns KL_CLI_CONTINUE, doing nothing,
 * when there is no spec or it has a single source.
 */
int kl_data_sources_add(const struct kl_cli *cli, const struct kl_data_read_args *a,
                        const char *name);

#endif
