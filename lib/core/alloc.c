#include "core/alloc.h"
#include "core/err.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>

void *b4k_malloc(size_t n) { return malloc(n ? n : 1); }

void *b4k_calloc(size_t count, size_t size)
{
    size_t n;
    if (b4k_mul_ok(count, size, &n))
        return NULL;
    return calloc(n ? n : 1, 1);
}

void *b4k_malloc_n(size_t count, size_t size)
{
    size_t n;
    if (b4k_mul_ok(count, size, &n))
        return NULL;
    return malloc(n ? n : 1);
}

void *b4k_realloc_n(void *p, size_t count, size_t size)
{
    size_t n;
    if (b4k_mul_ok(count, size, &n))
        return NULL;
    return realloc(p, n ? n : 1);
}

void *b4k_aligned_alloc(size_t align, size_t n)
{
    void *p = NULL;
    if (align < sizeof(void *))
        align = sizeof(void *);
    if (posix_memalign(&p, align, n ? n : 1))
        return NULL;
    return p;
}

void *b4k_alloc_huge(size_t n)
{
    const size_t H = (size_t)2 << 20;
    if (n < H)
        return b4k_aligned_alloc(64, n);
    void *p = b4k_aligned_alloc(H, n);
#ifdef MADV_HUGEPAGE
    if (p)
        (void)madvise(p, n & ~(H - 1), MADV_HUGEPAGE); /* advisory */
#endif
    return p;
}

char *b4k_strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *b4k_strdup(const char *s) { return b4k_strndup(s, strlen(s)); }

void b4k_free(void *p) { free(p); }

int b4k_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (nc > ((size_t)-1) / 2)
            return B4K_ENOMEM;
        nc *= 2;
    }
    void *np = b4k_realloc_n(*p, nc, elem);
    if (!np)
        return B4K_ENOMEM;
    *p = np;
    *cap = nc;
    return 0;
}
