/*
 * Arena allocator: scratch memory for one command or one HTTP request, freed
 * in one go.
 *
 * Memory comes in blocks on a singly linked list, newest first. Allocation
 * bumps a pointer in the current block; when it does not fit, a new block
 * twice the size of the last one is added (up to a ceiling), so a command
 * that allocates a lot makes O(log n) calls to malloc. A request larger than
 * a quarter of the next block gets a block of its own, linked behind the
 * current one, so the free space left in the current block is not wasted.
 *
 * Invariants: every pointer handed out is 16-byte aligned (rounded up within
 * the block, so this holds whatever malloc's own alignment is); a->used is
 * the sum of the sizes requested and never exceeds a->cap when a cap is set;
 * the first block is allocated with the arena and survives kl_arena_reset.
 * Every size computation is checked for overflow before it is used.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keel/arena.h"
#include "core/common.h"

#define ARENA_ALIGN 16
#define ARENA_FIRST_BLOCK 4096
#define ARENA_MAX_BLOCK ((size_t)16 << 20)

typedef struct block {
    struct block *next;
    unsigned char *cur; /* next free byte (before alignment) */
    unsigned char *end; /* one past the last usable byte */
} block;

struct kl_arena {
    block *head;      /* current block: allocations bump head->cur */
    block *first;     /* allocated with the arena, kept by reset */
    size_t cap;       /* most bytes handed out in total, 0 = no cap */
    size_t used;      /* bytes handed out (sum of requested sizes) */
    size_t next_size; /* usable size of the next growth block */
};

/* Bytes to malloc for a block with room for n bytes at 16-byte alignment; 0 on overflow. */
static size_t block_bytes(size_t n)
{
    size_t extra = sizeof(block) + ARENA_ALIGN - 1;
    if (n > SIZE_MAX - extra)
        return 0;
    return n + extra;
}

static block *block_new(size_t n)
{
    size_t bytes = block_bytes(n);
    if (bytes == 0)
        return NULL;
    block *b = malloc(bytes);
    if (!b)
        return NULL;
    b->next = NULL;
    b->cur = (unsigned char *)(b + 1);
    b->end = (unsigned char *)b + bytes;
    return b;
}

/* Aligned pointer for n bytes in b, or NULL when it does not fit. */
static void *block_take(block *b, size_t n)
{
    uintptr_t p = ((uintptr_t)b->cur + (ARENA_ALIGN - 1)) & ~(uintptr_t)(ARENA_ALIGN - 1);
    uintptr_t end = (uintptr_t)b->end;
    if (p > end || n > end - p)
        return NULL;
    b->cur = (unsigned char *)p + n;
    return (void *)p;
}

kl_arena *kl_arena_new(size_t cap)
{
    kl_arena *a = malloc(sizeof *a);
    if (!a)
        return NULL;
    a->first = block_new(ARENA_FIRST_BLOCK);
    if (!a->first) {
        free(a);
        return NULL;
    }
    a->head = a->first;
    a->cap = cap;
    a->used = 0;
    a->next_size = 2 * ARENA_FIRST_BLOCK;
    return a;
}

static void free_blocks_except(block *b, const block *keep)
{
    while (b) {
        block *next = b->next;
        if (b != keep)
            free(b);
        b = next;
    }
}

void kl_arena_free(kl_arena *a)
{
    if (!a)
        return;
    free_blocks_except(a->head, NULL);
    free(a);
}

void kl_arena_reset(kl_arena *a)
{
    free_blocks_except(a->head, a->first);
    a->first->next = NULL;
    a->first->cur = (unsigned char *)(a->first + 1);
    a->head = a->first;
    a->used = 0;
    a->next_size = 2 * ARENA_FIRST_BLOCK;
}

void *kl_arena_alloc(kl_arena *a, size_t n)
{
    if (a->cap && n > a->cap - a->used)
        return NULL;
    void *p = block_take(a->head, n);
    if (!p) {
        if (n > a->next_size / 4) {
            /* Its own block, behind the current one, which keeps serving small requests. */
            block *big = block_new(n);
            if (!big)
                return NULL;
            big->next = a->head->next;
            a->head->next = big;
            p = block_take(big, n);
        } else {
            block *b = block_new(a->next_size);
            if (!b)
                return NULL;
            b->next = a->head;
            a->head = b;
            if (a->next_size < ARENA_MAX_BLOCK)
                a->next_size *= 2;
            p = block_take(b, n);
        }
        KL_ASSERT(p);
    }
    a->used += n;
    return p;
}

void *kl_arena_calloc(kl_arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    size_t n = count * size;
    void *p = kl_arena_alloc(a, n);
    if (p && n > 0)
        memset(p, 0, n);
    return p;
}

char *kl_arena_strndup(kl_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *d = kl_arena_alloc(a, n + 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *kl_arena_strdup(kl_arena *a, const char *s)
{
    return kl_arena_strndup(a, s, strlen(s));
}

size_t kl_arena_used(const kl_arena *a)
{
    return a->used;
}
