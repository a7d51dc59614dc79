/* XXH64 (Yann Collet's xxHash, 64-bit variant), written from the published
 * algorithm description: the .b4k tensor checksum.  ~10+ GB/s scalar. */
#include <stdint.h>
#include <string.h>

#include "model/model.h"

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull

static inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static inline uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v; /* little-endian hosts only (x86-64, aarch64) */
}
static inline uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline uint64_t round1(uint64_t acc, uint64_t in)
{
    acc += in * P2;
    acc = rotl(acc, 31);
    return acc * P1;
}
static inline uint64_t merge(uint64_t acc, uint64_t v)
{
    acc ^= round1(0, v);
    return acc * P1 + P4;
}

/* The tail: the remaining < 32 bytes and the avalanche. */
static uint64_t finish(uint64_t h, const uint8_t *p, const uint8_t *end)
{
    while (p + 8 <= end) {
        h ^= round1(0, rd64(p));
        h = rotl(h, 27) * P1 + P4;
        p += 8;
    }
    if (p + 4 <= end) {
        h ^= (uint64_t)rd32(p) * P1;
        h = rotl(h, 23) * P2 + P3;
        p += 4;
    }
    while (p < end) {
        h ^= (uint64_t)(*p) * P5;
        h = rotl(h, 11) * P1;
        p++;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

/* Consume whole 32-byte stripes of [p, p + n); returns the bytes used. */
static size_t stripes(uint64_t v[4], const uint8_t *p, size_t n)
{
    uint64_t v1 = v[0], v2 = v[1], v3 = v[2], v4 = v[3];
    size_t used = n / 32 * 32;
    for (const uint8_t *q = p, *e = p + used; q < e; q += 32) {
        v1 = round1(v1, rd64(q));
        v2 = round1(v2, rd64(q + 8));
        v3 = round1(v3, rd64(q + 16));
        v4 = round1(v4, rd64(q + 24));
    }
    v[0] = v1, v[1] = v2, v[2] = v3, v[3] = v4;
    return used;
}

static uint64_t converge(const uint64_t v[4])
{
    uint64_t h = rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18);
    for (int i = 0; i < 4; i++)
        h = merge(h, v[i]);
    return h;
}

uint64_t b4k_xxh64(const void *data, size_t n, uint64_t seed)
{
    const uint8_t *p = (const uint8_t *)data;
    uint64_t h;
    size_t used = 0;
    if (n >= 32) {
        uint64_t v[4] = {seed + P1 + P2, seed + P2, seed, seed - P1};
        used = stripes(v, p, n);
        h = converge(v);
    } else {
        h = seed + P5;
    }
    return finish(h + (uint64_t)n, p + used, p + n);
}

void b4k_xxh64_init(b4k_xxh64_state *s, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->seed = seed;
    s->v[0] = seed + P1 + P2;
    s->v[1] = seed + P2;
    s->v[2] = seed;
    s->v[3] = seed - P1;
}

void b4k_xxh64_update(b4k_xxh64_state *s, const void *data, size_t n)
{
    const uint8_t *p = (const uint8_t *)data;
    s->total += n;
    if (s->nbuf) {
        size_t k = 32 - s->nbuf < n ? 32 - s->nbuf : n;
        memcpy(s->buf + s->nbuf, p, k);
        s->nbuf += k;
        p += k;
        n -= k;
        if (s->nbuf < 32)
            return;
        stripes(s->v, s->buf, 32);
        s->nbuf = 0;
    }
    size_t used = stripes(s->v, p, n);
    if (n > used)
        memcpy(s->buf, p + used, n - used);
    s->nbuf = n - used;
}

uint64_t b4k_xxh64_digest(const b4k_xxh64_state *s)
{
    uint64_t h = s->total >= 32 ? converge(s->v) : s->seed + P5;
    return finish(h + s->total, s->buf, s->buf + s->nbuf);
}
