/*
 * keel data snapshots: a frame stored in a kl_store with its schema and the
 * summaries drift checks need, under an id that depends only on content.
 *
 * Ownership: frames, manifests (jansson values) and lists returned belong to
 * the caller; options and strings passed in are borrowed for the call.
 *
 * A snapshot is three objects and one row of the snapshots table
 * (docs/STORE.md, "Data snapshots", has the byte formats field by field):
 *   table     the normalised table in keel's binary columnar format
 *             "keel-table-v1" (lib/store/table.c): per column a header, then
 *             typed values (doubles; decimal numbers as narrow integers with a
 *             scale; dictionary codes; bytes; lengths and text); it reads
 *             back bit for bit, which kl_snapshot_load checks on every load
 *             by comparing kl_frame_hash with the manifest's;
 *   values    "keel-values-v2": per numeric column its sorted distinct values
 *             with their counts (exact: every quantile and rank statistic
 *             follows), deltas of decimal integers where they apply;
 *   manifest  JSON naming the two objects, the schema, the PII policy and
 *             transformation log, and per column statistics: moments, frozen
 *             decile edges, category counts.
 * Snapshots written by keel before manifest version 2 kept their table as
 * CSV text; loading one is KL_EUNSUPPORTED ("add the data again").
 * The id is SHA-256 of "keel-snapshot-v1", the table's kl_frame_hash, its
 * kl_frame_schema_hash, the policy description and the inference rule
 * version, so the same content under the same rules gets the same id and
 * adds nothing new.
 */
#ifndef KEEL_SNAPSHOT_H
#define KEEL_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "keel/err.h"
#include "keel/frame.h"
#include "keel/store.h"

#ifdef __cplusplus
extern "C" {
#endif

struct json_t;

/* Version of the manifest and values formats written (2: binary table, values v2). */
#define KL_SNAPSHOT_FORMAT 2

typedef struct kl_snapshot_opts {
    const char *name;               /* may be NULL */
    const char *source_hash;        /* SHA-256 hex of the original bytes (required) */
    const char *policy;             /* PII policy description; NULL: "keep" */
    const struct json_t *pii_log;   /* kl_pii_log_json of what was transformed; may be NULL */
} kl_snapshot_opts;

/*
 * Store f as a snapshot and write its id. *created (may be NULL) is 1 when
 * the snapshot is new, 0 when the same id existed already (nothing is
 * written then; a new name is not applied). Objects are written before the
 * metadata row, so a crash leaves at most unreferenced objects (gc removes
 * them), never a snapshot whose objects are missing.
 */
int kl_snapshot_create(kl_store *s, const kl_frame *f, const kl_snapshot_opts *o,
                       char id[KL_ID_LEN], int *created, kl_err *err);

/* The manifest of snapshot id (a full id), verified. KL_ENOTFOUND, KL_ECORRUPT. */
int kl_snapshot_manifest(kl_store *s, const char *id, struct json_t **out, kl_err *err);

/*
 * The stored table of snapshot id as a frame. Its kl_frame_hash is checked
 * against the manifest: a mismatch is KL_ECORRUPT.
 */
int kl_snapshot_load(kl_store *s, const char *id, kl_frame **out, kl_err *err);

/*
 * Sorted distinct values and their counts of numeric column col of snapshot
 * id (from the values object). *values and *counts are malloc'd (the caller
 * frees both); KL_ENOTFOUND when col is not a numeric column.
 */
int kl_snapshot_values(kl_store *s, const char *id, const char *col, double **values,
                       uint64_t **counts, size_t *n, kl_err *err);

/* SHA-256 hex of a file's bytes, streaming. KL_EIO when it cannot be read. */
int kl_file_sha256(const char *path, char hex[KL_ID_LEN], kl_err *err);

#ifdef __cplusplus
}
#endif
#endif
