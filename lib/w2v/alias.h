/* Negative sampling from counts^0.75 in O(1) per draw: Vose's alias method,
 * one 8-byte entry per word (a cache-friendlier table than word2vec.c's
 * 1e8-entry unigram table).  Internal to lib/w2v. */
#ifndef B4K_W2V_ALIAS_H
#define B4K_W2V_ALIAS_H

#include <stdint.h>

#include "core/rng.h"
#include "w2v/vocab.h"

typedef struct b4k_w2v_alias {
    float prob;
    uint32_t alias;
} b4k_w2v_alias;

/* n entries for the first n words of v (count 0 counts as 1); b4k_free()
 * the result.  NULL when out of memory. */
b4k_w2v_alias *b4k_w2v_alias_build(const b4k_w2v_vocab *v, size_t n);

static inline uint32_t b4k_w2v_alias_draw(const b4k_w2v_alias *t, uint32_t n, b4k_rng *r)
{
    uint64_t x = b4k_rng_u64(r);
    uint32_t i = (uint32_t)(((x >> 32) * (uint64_t)n) >> 32);
    float coin = (float)(uint32_t)x * (1.0f / 4294967296.0f);
    return coin < t[i].prob ? i : t[i].alias;
}

#endif
