/*
 * Inside the spec module: a bump pool that owns every byte of a kl_spec, and
 * the YAML node tree (with source marks) that validation walks.
 */
#ifndef KEEL_SPEC_INTERNAL_H
#define KEEL_SPEC_INTERNAL_H

#include <stddef.h>

#include "keel/err.h"
#include "keel/spec.h"

#define KL__SPEC_MAX_BYTES ((size_t)1 << 20)
#define KL__SPEC_MAX_DEPTH 32

/* ---- pool: many small allocations, freed at once ---- */

typedef struct kl__pool_block kl__pool_block;
typedef struct kl__pool {
    kl__pool_block *head;
} kl__pool;

/* n zeroed bytes aligned for any type; NULL when out of memory (or n*size overflows). */
void *kl__pool_calloc(kl__pool *p, size_t count, size_t size);
char *kl__pool_strndup(kl__pool *p, const char *s, size_t n);
void kl__pool_release(kl__pool *p);

/* ---- YAML node tree ---- */

enum kl__node_kind {
    KL__NODE_SCALAR = 0,
    KL__NODE_SEQ = 1,
    KL__NODE_MAP = 2,
};

/*
 * A node: a scalar (text, NUL-free and NUL-terminated), a sequence of child
 * nodes, or a mapping whose children alternate key, value. line and col are
 * 1-based.
 */
typedef struct kl__node kl__node;
struct kl__node {
    enum kl__node_kind kind;
    int line, col;
    const char *text; /* SCALAR */
    size_t len;
    int quoted;      /* SCALAR: not plain style */
    kl__node *child; /* SEQ, MAP: first child */
    kl__node *last;
    kl__node *next; /* next sibling */
    size_t n;       /* SEQ: items; MAP: pairs */
};

/*
 * Parse len bytes of buf into a tree allocated from pool. *root is NULL for
 * an empty document (nothing but comments). Fails with KL_EPARSE and a
 * "name:line:col" context on a YAML syntax error, an alias, several
 * documents, a NUL character or too deep nesting.
 */
int kl__yaml_parse(const char *buf, size_t len, const char *name, kl__pool *pool, kl__node **root,
                   kl_err *err);

/* A plain scalar meaning null: empty, "~", "null", "Null", "NULL". */
int kl__node_is_null(const kl__node *n);

/* ---- writer ---- */

/* True when s (a string value) must be quoted to read back as itself, not as null. */
int kl__text_looks_null(const char *s);
/* True when a plain s reads as a number, a bool or null to a YAML 1.1 reader. */
int kl__text_looks_typed(const char *s);

/* Names of the enumerations spec.h gives no public name function for. */
const char *kl__spec_type_name(enum kl_type t);
const char *kl__spec_param_type_name(enum kl_param_type t);
const char *kl__spec_sla_on_name(enum kl_sla_on on);
const char *kl__spec_direction_name(enum kl_kpi_direction d);

/* The spec's pool and key positions. */
typedef struct kl__spec_where {
    const char *path;
    int line, col;
} kl__spec_where;

struct kl__spec_priv {
    kl__pool pool;
    kl__spec_where *where;
    size_t n_where, cap_where;
};

#endif
