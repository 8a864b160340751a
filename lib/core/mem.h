/*
 * Large buffers that are about to be written in full.
 *
 * On the virtual machines keel runs on, the first touch of each fresh page
 * traps to the hypervisor, and that can cost more than the work done in the
 * page (the profile measured 60x between faulting 64 MB page by page and
 * populating it in one call). kl__big_alloc asks for transparent huge pages
 * and populates the buffer at once; small sizes are plain malloc. The result
 * is freed with free(). Only for buffers that will be written nearly in full:
 * populating memory that is never used costs time and resident memory.
 */
#ifndef KEEL_CORE_MEM_H
#define KEEL_CORE_MEM_H

#include <stddef.h>

void *kl__big_alloc(size_t bytes);

#endif
