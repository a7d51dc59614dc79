/* Whole files in memory, for data read through once and then used at
 * random (a CRF model's hash tables): b4k_slurp reads the file into
 * anonymous memory advised to use transparent huge pages, when the kernel
 * offers them.  Mapping the file instead costs a page fault per few 4 KB
 * pages on the first pass -- in a shadow-paging VM an exit to the host each,
 * about 25 ms for a 19 MB model -- and a TLB miss on most random accesses
 * afterwards; reading into 2 MB pages costs one copy (~2 ms).  Without huge
 * pages (THP "never", other systems) the file is mapped (b4k_slurp_huge()
 * says which).  The memory is read-only for the caller either way. */
#ifndef B4K_IO_SLURP_H
#define B4K_IO_SLURP_H

#include <stddef.h>

#include "core/err.h"

typedef struct b4k_slurp {
    const void *data; /* size bytes ("" for an empty file) */
    size_t size;
    void *map;        /* what to unmap */
    size_t map_len;
    int huge;         /* read into huge-page memory (else mapped) */
} b4k_slurp;

/* 0, or B4K_EIO / B4K_ENOMEM with err naming path. */
int b4k_slurp_open(b4k_slurp *s, const char *path, b4k_err *err);
/* Release; a zeroed or already closed b4k_slurp is a no-op. */
void b4k_slurp_close(b4k_slurp *s);

#endif
