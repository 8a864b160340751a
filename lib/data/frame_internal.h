/*
 * Shared inside the library only: ways to hand buffers to a frame without
 * copying them (the CSV reader fills columns in place and gives them over).
 * Each function takes ownership of its malloc'd arguments, also on failure,
 * when it frees them. They check the name (non-empty, unique), the type and,
 * for categoricals, that the dictionary has no duplicate or NULL entry, but
 * trust the values (unlike kl_frame_add_*): codes in [-1, n_dict), bools in
 * {0, 1, 255}, INT values integral, DATE values whole days. A NULL value
 * array is accepted only when the frame has 0 rows.
 */
#ifndef KEEL_DATA_FRAME_INTERNAL_H
#define KEEL_DATA_FRAME_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "keel/frame.h"

int kl__frame_adopt_numeric(kl_frame *f, const char *name, enum kl_type type, double *v,
                            kl_err *err);
int kl__frame_adopt_bool(kl_frame *f, const char *name, uint8_t *v, kl_err *err);
int kl__frame_adopt_time(kl_frame *f, const char *name, enum kl_type type, int64_t *v,
                         const char *format, kl_err *err);
/* codes: n_rows codes; dict: n_dict pointers into pool (one malloc'd block holding the strings). */
int kl__frame_adopt_categorical(kl_frame *f, const char *name, int32_t *codes, char **dict,
                                size_t n_dict, char *pool, kl_err *err);
/* values: n_rows pointers into pool (NULL is missing). */
int kl__frame_adopt_text(kl_frame *f, const char *name, char **values, char *pool, kl_err *err);

/*
 * Copy n strings (NULL stays NULL) into one new malloc'd pool sized exactly;
 * out[i] points into it. out may be the same array as src (each string is
 * read before its slot is written). *pool is NULL when there is nothing to
 * hold. Returns 0 or KL_ENOMEM (out is then unspecified, nothing allocated).
 */
int kl__strings_copy(const char *const *src, size_t n, char **out, char **pool);

/*
 * A set of strings held elsewhere (keys[idx]), for building and merging
 * dictionaries: open addressing over indices, FNV-1a hashes kept beside them.
 */
typedef struct kl__strset {
    int32_t *slot;  /* index into keys, or -1 when empty */
    uint64_t *hash; /* hash of the key in the same slot */
    size_t mask;    /* capacity - 1 (a power of two) */
    size_t count;
} kl__strset;

/* expected: how many keys will be added (a hint). Returns 0 or KL_ENOMEM. */
int kl__strset_init(kl__strset *s, size_t expected);
void kl__strset_release(kl__strset *s);
/*
 * The index of the key equal to key (keys[i] for the i added so far), or, when
 * absent, adds idx (which must already point at key in keys, or be -1 to only
 * look up) and returns -1. Returns -2 when growing the table ran out of memory
 * (key was added).
 */
int32_t kl__strset_find_or_add(kl__strset *s, const char *const *keys, const char *key,
                               int32_t idx);

#endif
