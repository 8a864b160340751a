/*
 * A keel project: a directory holding keel.yaml (the spec) and .keel/ (the
 * store: objects and metadata, filled by later commands).
 */
#ifndef KEEL_PROJECT_H
#define KEEL_PROJECT_H

#include "keel/err.h"

typedef struct kl_init_opts {
    const char *name;   /* project.name; NULL: the directory's base name */
    const char *task;   /* objective.task; NULL: the template's */
    const char *target; /* objective.target; NULL: the template's */
    const char *source; /* data.source (relative to dir); NULL: the template's */
    int force;          /* 1: overwrite an existing keel.yaml */
} kl_init_opts;

/*
 * Create dir (and its parents) if needed, write dir/keel.yaml from the
 * commented template with the values of opts filled in, and create
 * dir/.keel/ and dir/.keel/objects/. The filled template is validated before
 * anything is written, so a bad value (an unknown task) leaves no file behind.
 * Returns 0; KL_EEXIST when keel.yaml exists and force is 0; KL_EPARSE for an
 * invalid value; KL_EIO when a directory or file cannot be written. opts may
 * be NULL.
 */
int kl_project_init(const char *dir, const kl_init_opts *opts, kl_err *err);

#endif
