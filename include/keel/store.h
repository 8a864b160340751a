/*
 * keel store: a project's content-addressed objects and its metadata database.
 *
 * Ownership: kl_store_open returns a handle the caller owns and closes with
 * kl_store_close; object writers and readers belong to the caller until
 * commit/abort or close; every result (kl_snapshot_list, kl_lineage, ...)
 * belongs to the caller and is freed with its own _free function (NULL does
 * nothing). Strings passed in are borrowed for the duration of the call.
 *
 * Layout on disk (docs/STORE.md has the full format):
 *
 *     <project>/.keel/objects/ab/cdef...   object named by the SHA-256 of its
 *                                           uncompressed bytes (64 hex, split 2/62)
 *     <project>/.keel/objects/tmp/         writers' temporary files, never objects
 *     <project>/.keel/keel.db              SQLite metadata (default backend)
 *
 * Object file format, version 1 (all integers little-endian):
 *
 *     offset size field
 *          0    4 magic "KLOB"
 *          4    1 format version (1)
 *          5    1 compression (1 = zstd)
 *          6    2 reserved, zero
 *          8    8 uncompressed size in bytes (uint64)
 *         16    - one zstd frame holding exactly that many bytes
 *
 * The metadata lives behind one interface with two backends: SQLite (the
 * default, .keel/keel.db) and PostgreSQL (opts.url, or the KEEL_STORE
 * environment variable, naming a postgresql:// or postgres:// URL). Both hold
 * the same tables, created and upgraded by the same forward migrations.
 *
 * A store handle is for one thread at a time and for the process that
 * opened it (after fork, the child opens its own). Any number of processes
 * may open the same store at once.
 */
#ifndef KEEL_STORE_H
#define KEEL_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "keel/err.h"
#include "keel/hash.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kl_store kl_store;

/* A full object, run or snapshot id: 64 lowercase hex digits and a NUL. */
#define KL_ID_LEN (KL_SHA256_HEX_LEN + 1)

/* The schema version this build creates and expects (see docs/STORE.md). */
#define KL_STORE_SCHEMA_VERSION 2

typedef struct kl_store_opts {
    /*
     * Metadata backend: NULL or "" means the KEEL_STORE environment variable
     * if set and non-empty, else SQLite at <project>/.keel/keel.db. A
     * "postgresql://" or "postgres://" URL selects PostgreSQL; "sqlite:PATH"
     * selects SQLite at PATH.
     */
    const char *url;
} kl_store_opts;

/*
 * Open the store of the project in project_dir: create .keel/,
 * .keel/objects/ and .keel/objects/tmp/ when missing, connect to the metadata
 * backend and apply any pending migrations in one transaction (concurrent
 * openers wait for each other; opening an up-to-date store changes nothing).
 * opts may be NULL. Returns 0 and sets *out; KL_ENOTFOUND when project_dir
 * is not a directory; KL_EIO when a directory or the
 * database cannot be opened; KL_EUNSUPPORTED for an unknown URL scheme or a
 * database written by a newer keel (schema version above ours); KL_ECORRUPT
 * when the database is not a keel store.
 */
int kl_store_open(const char *project_dir, const kl_store_opts *opts, kl_store **out, kl_err *err);

/* Close the store; NULL does nothing. Open runs must be ended first. */
void kl_store_close(kl_store *s);

/* "sqlite" or "postgresql". */
const char *kl_store_backend(const kl_store *s);

/* ---- objects ---- */

/*
 * Store the n bytes at data as an object and write its id (64 hex + NUL) to
 * id. Putting an object that exists already does nothing (its file is not
 * touched). Returns 0; KL_EIO when writing fails (no partial object is ever
 * visible: the bytes go to a temporary file, are fsynced and then renamed).
 */
int kl_store_put(kl_store *s, const void *data, size_t n, char id[KL_ID_LEN], kl_err *err);

/* Store everything read from fd (until end of file) as an object, streaming. */
int kl_store_put_fd(kl_store *s, int fd, char id[KL_ID_LEN], kl_err *err);

/* Store everything read from f (until end of file) as an object, streaming. */
int kl_store_put_file(kl_store *s, FILE *f, char id[KL_ID_LEN], kl_err *err);

/*
 * Streaming writer for objects too large to hold in memory: begin, write any
 * number of chunks, then commit (which names and publishes the object) or
 * abort (which discards it). Memory use is bounded by zstd's window, not by the
 * object's size. After a failed write the writer can only be aborted.
 */
typedef struct kl_store_writer kl_store_writer;
int kl_store_put_begin(kl_store *s, kl_store_writer **out, kl_err *err);
int kl_store_put_write(kl_store_writer *w, const void *data, size_t n, kl_err *err);
/* Publish the object, write its id, and free w (also on failure). */
int kl_store_put_commit(kl_store_writer *w, char id[KL_ID_LEN], kl_err *err);
/* Discard the object and free w; NULL does nothing. */
void kl_store_put_abort(kl_store_writer *w);

/*
 * Streaming reader. kl_store_get_read hands out the decompressed bytes chunk
 * by chunk and verifies the SHA-256 at the end: the call that reaches the end
 * returns 0 with *n == 0 only when the object is intact, and KL_ECORRUPT
 * otherwise (bad header, truncated or damaged frame, wrong size, wrong hash).
 *
 * Consumers must therefore treat the bytes they receive as provisional and
 * must not commit anything derived from them (rename an output file into
 * place, record a result) before that final call returned 0. A caller that
 * cannot stage its output should call kl_store_verify first (which reads the
 * object once to check it) and then read.
 */
typedef struct kl_store_reader kl_store_reader;
/* Open object id (a full 64-hex id). KL_ENOTFOUND when it does not exist. */
int kl_store_get_open(kl_store *s, const char *id, kl_store_reader **out, kl_err *err);
/* Uncompressed size recorded in the object's header. */
uint64_t kl_store_get_size(const kl_store_reader *r);
/* Read up to cap bytes into buf and set *n; *n == 0 with 0 returned means verified end. */
int kl_store_get_read(kl_store_reader *r, void *buf, size_t cap, size_t *n, kl_err *err);
void kl_store_get_close(kl_store_reader *r); /* NULL does nothing */

/*
 * Read a whole object into a new malloc'd buffer (*data, *n; the caller
 * frees it). The hash is checked before the call returns, so *data is only
 * ever set to verified bytes. For objects that fit in memory; use the reader
 * for large ones. An object larger than max_size (0: no limit) gives KL_ERANGE.
 */
int kl_store_get(kl_store *s, const char *id, size_t max_size, void **data, size_t *n, kl_err *err);

/* Read the object into fd, streaming; returns KL_ECORRUPT at the end if it was damaged. */
int kl_store_get_fd(kl_store *s, const char *id, int fd, kl_err *err);

/* Read object id through and check its hash. 0 when intact, KL_ECORRUPT, KL_ENOTFOUND. */
int kl_store_verify(kl_store *s, const char *id, kl_err *err);

/* 1 when object id (a full 64-hex id) exists, else 0. */
int kl_store_has(kl_store *s, const char *id);

/*
 * Path of object id's file into buf of size n (always NUL-terminated when
 * n > 0). Returns 0, or KL_ERANGE when buf is too small, KL_EINVAL for an id
 * that is not 64 lowercase hex digits.
 */
int kl_store_object_path(const kl_store *s, const char *id, char *buf, size_t n, kl_err *err);

/*
 * Call fn(id, size_on_disk, ud) for every object file (in no particular
 * order); files in objects/tmp/ and names that are not object names are
 * skipped. fn returns 0 to go on, anything else stops the walk and is returned.
 */
int kl_store_object_each(kl_store *s, int (*fn)(const char *id, uint64_t disk_size, void *ud),
                         void *ud, kl_err *err);

/*
 * Call fn for every reference the metadata makes to an object: each
 * snapshot's manifest (owner "snapshot", role "manifest"), each run artifact
 * (owner "run", role the artifact's name) and each lineage edge with an
 * "object" end (owner the other end, role the relation). For fsck (every
 * referenced object must exist) and gc (an object nobody references may go;
 * objects referenced only from inside other objects, such as a manifest's
 * parts, are the reading tool's to follow). The same object may be reported
 * more than once. fn must not write to the store; it returns 0 to go on, and
 * anything else stops the walk and is returned.
 */
int kl_store_object_refs(kl_store *s,
                         int (*fn)(const char *owner_kind, const char *owner_id, const char *role,
                                   const char *object_id, void *ud),
                         void *ud, kl_err *err);

/*
 * Delete the files in objects/tmp/ last modified at least min_age_s seconds
 * ago: what crashed writers left behind. A live writer's file changes as it
 * writes; one idle for longer than min_age_s loses its file, and its commit
 * then fails cleanly (no object appears). Use an hour or more. *removed (may
 * be NULL) gets the number of files deleted.
 */
int kl_store_tmp_sweep(kl_store *s, unsigned min_age_s, uint64_t *removed, kl_err *err);

/* ---- snapshots ---- */

typedef struct kl_snapshot_rec {
    char id[KL_ID_LEN];      /* snapshot id (see the data snapshot docs) */
    const char *name;        /* may be NULL */
    const char *source_hash; /* SHA-256 hex of the original file's bytes */
    int64_t n_rows, n_cols;
    const char *schema_hash; /* SHA-256 hex of the schema */
    int64_t infer_version;   /* type-inference rule version */
    int64_t created_ms;      /* ms since the Unix epoch; 0: now */
    const char *manifest;    /* object id of the snapshot manifest */
} kl_snapshot_rec;

/*
 * Record a snapshot. The same id again is a no-op returning 0 (same content
 * under the same rules); KL_EINVAL when required fields are missing.
 */
int kl_store_snapshot_add(kl_store *s, const kl_snapshot_rec *rec, kl_err *err);

typedef struct kl_snapshot_list {
    kl_snapshot_rec *items; /* strings point into the list's own memory */
    size_t count;
    void *mem_; /* private */
} kl_snapshot_list;

/* Snapshots, newest first. id NULL: all; else just that full id (KL_ENOTFOUND if absent). */
int kl_store_snapshot_list(kl_store *s, const char *id, kl_snapshot_list *out, kl_err *err);
void kl_snapshot_list_release(kl_snapshot_list *l);

/* ---- tags, lineage, id resolution ---- */

/*
 * Kinds are short lowercase words naming what an id refers to: "run",
 * "snapshot", "object", "spec", "model", ... Tags and lineage edges accept
 * any kind, so later modules add their own without a schema change.
 */

/* Set (or replace) tag key=value on target kind:id. */
int kl_store_set_tag(kl_store *s, const char *kind, const char *id, const char *key,
                     const char *value, kl_err *err);

typedef struct kl_tag {
    const char *key, *value;
} kl_tag;

typedef struct kl_tag_list {
    kl_tag *items; /* ordered by key; strings point into the list's own memory */
    size_t count;
    void *mem_;
} kl_tag_list;

/* The tags of kind:id (none is an empty list, not an error). */
int kl_store_tags(kl_store *s, const char *kind, const char *id, kl_tag_list *out, kl_err *err);
void kl_tag_list_release(kl_tag_list *l);

/* Record that from_kind:from_id relates to to_kind:to_id ("input", "parent", "produced"...). */
int kl_store_link(kl_store *s, const char *from_kind, const char *from_id, const char *to_kind,
                  const char *to_id, const char *relation, kl_err *err);

typedef struct kl_lineage_edge {
    const char *from_kind, *from_id, *to_kind, *to_id, *relation;
    int depth; /* 1 for edges touching the start node, 2 for the next layer, ... */
} kl_lineage_edge;

typedef struct kl_lineage {
    kl_lineage_edge *edges; /* ordered by depth, then kinds and ids */
    size_t count;
    void *mem_;
} kl_lineage;

enum kl_lineage_dir {
    KL_LINEAGE_DIR_ANCESTORS = 1,   /* what kind:id was made from, transitively */
    KL_LINEAGE_DIR_DESCENDANTS = 2, /* what was made from kind:id, transitively */
};

/* Edges reachable from kind:id in direction dir, at most max_depth layers (0: 64). */
int kl_store_lineage(kl_store *s, const char *kind, const char *id, enum kl_lineage_dir dir,
                     int max_depth, kl_lineage *out, kl_err *err);
void kl_lineage_release(kl_lineage *l);

typedef struct kl_ref {
    char kind[16]; /* "run" or "snapshot" */
    char id[KL_ID_LEN];
} kl_ref;

/*
 * Resolve text to a run or snapshot, like git resolves revisions: a full
 * 64-hex id, a unique hex prefix of at least 4 characters, a run or snapshot
 * name, or a tag written "key=value" (or a bare tag key). kind restricts the
 * search ("run", "snapshot") or is NULL for both. Returns 0; KL_ENOTFOUND;
 * KL_EINVAL when text matches more than one thing (the message lists the
 * candidates) or is a hex prefix shorter than 4.
 */
int kl_store_resolve(kl_store *s, const char *kind, const char *text, kl_ref *out, kl_err *err);

#ifdef __cplusplus
}
#endif
#endif
