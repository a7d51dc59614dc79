#include "core/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void b4k_rng_seed(b4k_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xD1342543DE82EF95ULL + 0x2545F4914F6CDD1DULL);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

/* splitmix64's finaliser: a bijection of the 64-bit words */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void b4k_rng_seed2(b4k_rng *r, uint64_t seed, uint64_t a, uint64_t b)
{
    r->s[0] = mix64(seed + 0x9E3779B97F4A7C15ULL);
    r->s[2] = mix64(a + 0x3C6EF372FE94F82AULL);
    r->s[3] = mix64(b + 0xDAA66D2C7DDF743FULL);
    /* xoshiro256**'s first output is a function of s[1] alone */
    r->s[1] = mix64(r->s[0] ^ b4k_rng_rotl(r->s[2], 21) ^ b4k_rng_rotl(r->s[3], 42) ^
                    0x78DDE6E5FD29F054ULL);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) /* the one forbidden state */
        r->s[0] = 1;
}

uint64_t b4k_rng_below(b4k_rng *r, uint64_t n)
{
    unsigned __int128 m = (unsigned __int128)b4k_rng_u64(r) * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = (0 - n) % n;
        while (l < t) {
            m = (unsigned __int128)b4k_rng_u64(r) * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double b4k_rng_normal(b4k_rng *r)
{
    double u1 = b4k_rng_double(r), u2 = b4k_rng_double(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
