/*
 * kl_arena: scratch memory freed in one go (one per command or HTTP request).
 *
 * Ownership: the caller owns the arena; everything allocated from it is freed
 * by kl_arena_free or kl_arena_reset. Nothing long-lived may point into it.
 */
#ifndef KEEL_ARENA_H
#define KEEL_ARENA_H

#include <stddef.h>

typedef struct kl_arena kl_arena;

/*
 * New arena. cap is the most bytes it may hand out in total (0 = no cap);
 * past that kl_arena_alloc returns NULL. Returns NULL when out of memory.
 */
kl_arena *kl_arena_new(size_t cap);
void kl_arena_free(kl_arena *a); /* NULL does nothing */
/* Free every allocation but keep the arena (and its first block) for reuse. */
void kl_arena_reset(kl_arena *a);
/* n bytes aligned to 16, uninitialised; NULL when out of memory or over the cap. */
void *kl_arena_alloc(kl_arena *a, size_t n);
/* Like kl_arena_alloc but zeroed; count*size overflow gives NULL. */
void *kl_arena_calloc(kl_arena *a, size_t count, size_t size);
/* Copy of the NUL-terminated string s; NULL when out of memory or over the cap. */
char *kl_arena_strdup(kl_arena *a, const char *s);
/*
 * Copy of exactly the n bytes at s (which need not be NUL-terminated) plus a
 * NUL; NULL when out of memory or over the cap.
 */
char *kl_arena_strndup(kl_arena *a, const char *s, size_t n);
/* Bytes handed out so far: the sum of the sizes asked for (counted against the cap). */
size_t kl_arena_used(const kl_arena *a);

#endif
