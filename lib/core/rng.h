/* Deterministic PRNG: xoshiro256** seeded through splitmix64.  Per-thread
 * streams come from b4k_rng_seed(&r, seed, thread_id). */
#ifndef B4K_CORE_RNG_H
#define B4K_CORE_RNG_H

#include <stdint.h>

typedef struct b4k_rng {
    uint64_t s[4];
} b4k_rng;

void b4k_rng_seed(b4k_rng *r, uint64_t seed, uint64_t stream);

/* A stream per pair of independent counters (e.g. record, sample): distinct
 * (seed, a, b) triples give distinct generator states (three of the four
 * state words are bijective mixes of seed, a and b alone; the fourth, which
 * the first output depends on, mixes all three). */
void b4k_rng_seed2(b4k_rng *r, uint64_t seed, uint64_t a, uint64_t b);

static inline uint64_t b4k_rng_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t b4k_rng_u64(b4k_rng *r)
{
    uint64_t *s = r->s;
    uint64_t res = b4k_rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = b4k_rng_rotl(s[3], 45);
    return res;
}

/* uniform in [0,1) with 53 random bits */
static inline double b4k_rng_double(b4k_rng *r)
{
    return (double)(b4k_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* uniform in [0,1) with 24 random bits */
static inline float b4k_rng_float(b4k_rng *r)
{
    return (float)(b4k_rng_u64(r) >> 40) * (1.0f / 16777216.0f);
}

/* uniform integer in [0,n), n > 0, unbiased (Lemire) */
uint64_t b4k_rng_below(b4k_rng *r, uint64_t n);

/* standard normal (Box-Muller) */
double b4k_rng_normal(b4k_rng *r);

#endif
