/*
 * kl__big_alloc: large, soon-written buffers in huge pages, populated in one
 * call (see mem.h for why). madvise is advice only: when the kernel refuses
 * huge pages or MADV_POPULATE_WRITE (Linux before 5.14), the memory still
 * works and is faulted in as usual.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "core/mem.h"
#include "core/common.h"

void *kl__big_alloc(size_t bytes)
{
    const size_t huge = (size_t)2 << 20;
    if (bytes < huge / 2)
        return malloc(bytes ? bytes : 1);
    size_t size = (bytes + huge - 1) / huge * huge;
    void *p = NULL;
    if (posix_memalign(&p, huge, size) != 0)
        return NULL;
    madvise(p, size, MADV_HUGEPAGE);
#ifdef MADV_POPULATE_WRITE
    madvise(p, size, MADV_POPULATE_WRITE);
#endif
    return p;
}
