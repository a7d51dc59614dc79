/* String -> id hash map for tokenizer vocabularies.  Keys are borrowed
 * (they point into a pool the owner keeps alive), lookups never allocate,
 * and the table is read-only after building, so any number of threads can
 * look up at once.  Open addressing, load factor <= 1/2. */
#ifndef B4K_TOK_VOCAB_H
#define B4K_TOK_VOCAB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct b4k_strmap_slot {
    uint32_t hash;
    int32_t val; /* -1 = empty */
} b4k_strmap_slot;

typedef struct b4k_strmap_key {
    const char *key;
    size_t len;
} b4k_strmap_key;

/* Slots are 8 bytes (hash, value) so that the probed part of a 40k-entry
 * vocabulary fits in L2; the key itself is read only on a hash match. */
typedef struct b4k_strmap {
    b4k_strmap_slot *slot;
    b4k_strmap_key *keys; /* parallel to slot */
    size_t mask;          /* capacity - 1 (a power of two) */
    size_t n;
} b4k_strmap;

static inline uint32_t b4k_strhash(const char *s, size_t n)
{
    /* 64-bit multiply-mix over 8-byte words (unaligned loads via memcpy). */
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) w |= (uint64_t)(unsigned char)s[i] << (8 * i);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 32;
    h *= 0xFF51AFD7ED558CCDull;
    return (uint32_t)(h >> 32);
}

/* Room for `expect` keys.  0 or B4K_ENOMEM. */
int b4k_strmap_init(b4k_strmap *m, size_t expect);
void b4k_strmap_free(b4k_strmap *m);
/* Insert key -> val.  Returns 0, 1 if the key was already present (then
 * *old gets its value and nothing changes), or B4K_ENOMEM. */
int b4k_strmap_put(b4k_strmap *m, const char *key, size_t len, int32_t val, int32_t *old);

static inline int b4k_strmap_eq(const char *a, const char *b, size_t n)
{
    if (n > 16) return memcmp(a, b, n) == 0;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

static inline int32_t b4k_strmap_get(const b4k_strmap *m, const char *key, size_t len)
{
    if (!m->slot) return -1;
    uint32_t h = b4k_strhash(key, len);
    size_t i = h & m->mask;
    for (;;) {
        const b4k_strmap_slot *s = &m->slot[i];
        if (s->val < 0) return -1;
        if (s->hash == h && m->keys[i].len == len && b4k_strmap_eq(m->keys[i].key, key, len))
            return s->val;
        i = (i + 1) & m->mask;
    }
}

#endif
