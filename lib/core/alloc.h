/* Checked allocation: sizes are overflow-checked, failure returns NULL
 * (never aborts).  b4k_free(NULL) is a no-op like free(). */
#ifndef B4K_CORE_ALLOC_H
#define B4K_CORE_ALLOC_H

#include <stddef.h>

/* a*b without overflow; returns 0 and sets *out, or -1 on overflow. */
static inline int b4k_mul_ok(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out) ? -1 : 0;
}
static inline int b4k_add_ok(size_t a, size_t b, size_t *out)
{
    return __builtin_add_overflow(a, b, out) ? -1 : 0;
}

void *b4k_malloc(size_t n);                       /* n may be 0 */
void *b4k_calloc(size_t count, size_t size);      /* zeroed, overflow-checked */
void *b4k_malloc_n(size_t count, size_t size);    /* overflow-checked */
void *b4k_realloc_n(void *p, size_t count, size_t size);
void *b4k_aligned_alloc(size_t align, size_t n);  /* free with b4k_free */
/* For large arrays read and written at random (word vectors): from 2 MiB
 * up, 2 MiB-aligned and advised MADV_HUGEPAGE, so that transparent huge
 * pages back it even in THP "madvise" mode (far fewer TLB misses); smaller
 * sizes are 64-byte aligned.  Free with b4k_free. */
void *b4k_alloc_huge(size_t n);
char *b4k_strdup(const char *s);
char *b4k_strndup(const char *s, size_t n);
void b4k_free(void *p);

/* Grow *p (an array of elem-size items with capacity *cap) so that it holds
 * at least need items.  Geometric growth.  Returns 0 or B4K_ENOMEM. */
int b4k_grow(void **p, size_t *cap, size_t need, size_t elem);

#define B4K_GROW(ptr, cap, need) \
    b4k_grow((void **)&(ptr), &(cap), (need), sizeof *(ptr))

#endif
