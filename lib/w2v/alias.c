/* The unigram^0.75 negative sampler: Vose's alias method (see alias.h). */
#include "w2v/alias.h"

#include <math.h>

#include "core/alloc.h"

b4k_w2v_alias *b4k_w2v_alias_build(const b4k_w2v_vocab *v, size_t n)
{
    b4k_w2v_alias *t = b4k_malloc_n(n, sizeof *t);
    double *p = b4k_malloc_n(n, sizeof *p);
    uint32_t *small = b4k_malloc_n(n, sizeof *small), *large = b4k_malloc_n(n, sizeof *large);
    if (!t || !p || !small || !large)
        goto fail;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t c = b4k_w2v_vocab_count(v, i);
        p[i] = pow((double)(c > 0 ? c : 1), 0.75);
        sum += p[i];
    }
    size_t ns = 0, nl = 0;
    for (size_t i = 0; i < n; i++) {
        p[i] = p[i] * (double)n / sum;
        if (p[i] < 1.0)
            small[ns++] = (uint32_t)i;
        else
            large[nl++] = (uint32_t)i;
    }
    while (ns && nl) {
        uint32_t s = small[--ns], l = large[--nl];
        t[s].prob = (float)p[s];
        t[s].alias = l;
        p[l] = (p[l] + p[s]) - 1.0;
        if (p[l] < 1.0)
            small[ns++] = l;
        else
            large[nl++] = l;
    }
    while (nl) {
        uint32_t l = large[--nl];
        t[l].prob = 1.0f;
        t[l].alias = l;
    }
    while (ns) {
        uint32_t s = small[--ns];
        t[s].prob = 1.0f;
        t[s].alias = s;
    }
    b4k_free(p);
    b4k_free(small);
    b4k_free(large);
    return t;
fail:
    b4k_free(t);
    b4k_free(p);
    b4k_free(small);
    b4k_free(large);
    return NULL;
}
