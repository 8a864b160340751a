/*
 * Included by every library and CLI source file after its system headers.
 * It holds the kl__ helpers shared inside the library and, last, banned.h,
 * which turns calls to unsafe C functions into compile errors.
 */
#ifndef KEEL_CORE_COMMON_H
#define KEEL_CORE_COMMON_H

#include <stdio.h>
#include <stdlib.h>

/* Our own bugs (broken invariants), never bad input, trip KL_ASSERT. */
#define KL_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "keel: internal error: assertion '%s' failed at %s:%d\n", #cond,      \
                    __FILE__, __LINE__);                                                           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define KL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define KL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define KL_MAX(a, b) ((a) > (b) ? (a) : (b))

#include "core/banned.h"

#endif
