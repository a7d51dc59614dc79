/* String dictionary for CRF attributes and labels: open addressing over an
 * append-only string arena, FNV-1a 64 hashing, ids in insertion order, with
 * an occurrence count per entry.  The same table layout is stored in .b4k
 * models (arena, offsets, slots) and used in place after loading, so a model
 * needs no rebuilding of its dictionary. */
#ifndef B4K_CRF_DICT_H
#define B4K_CRF_DICT_H

#include <stddef.h>
#include <stdint.h>

typedef struct b4k_crf_dict {
    char *arena;       /* strings, each followed by a NUL */
    size_t alen, acap;
    int64_t *off;      /* (n+1) start of string i in arena; off[n] = alen */
    uint32_t *count;   /* (n) occurrences (NULL in a loaded, read-only dict) */
    int32_t *slots;    /* (cap) id or -1 */
    size_t n, ncap, cap;
    int borrowed;      /* arena/off point into a model: read-only */
    int own_slots;     /* borrowed, but slots rebuilt (an older model's hash) */
} b4k_crf_dict;

/* The string hash: a polynomial over the bytes modulo 2^64,
 *   raw(s) = s[0] K^(n-1) + s[1] K^(n-2) + ... + s[n-1],
 * finished by a bijective mix.  raw is composable, raw(a b) = raw(a) K^|b| +
 * raw(b), so an attribute made of template literals and cells is hashed from
 * the parts' raw hashes without building the string (model.c).  Models store
 * tables made with this hash under config "dict_hash" = B4K_CRF_DICT_HASH;
 * tables of older models (FNV-1a) are rebuilt on loading. */
#define B4K_CRF_HASH_K 0x9E3779B97F4A7C15ull
#define B4K_CRF_DICT_HASH "poly64"
/* config "crf_version": 2 since the poly64 tables; readers refuse newer ones */
#define B4K_CRF_MODEL_VERSION 2

/* raw hash of s continued from h, and K^n in *pw (may be NULL) */
static inline uint64_t b4k_crf_hash_raw(uint64_t h, const char *s, size_t n, uint64_t *pw)
{
    uint64_t p = 1;
    for (size_t i = 0; i < n; i++) {
        h = h * B4K_CRF_HASH_K + (unsigned char)s[i];
        p *= B4K_CRF_HASH_K;
    }
    if (pw)
        *pw = p;
    return h;
}

static inline uint64_t b4k_crf_hash_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static inline uint64_t b4k_crf_hash(const char *s, size_t n)
{
    return b4k_crf_hash_mix(b4k_crf_hash_raw(0, s, n, NULL));
}

void b4k_crf_dict_init(b4k_crf_dict *d);
void b4k_crf_dict_free(b4k_crf_dict *d);
/* id of s (length n), or -1. */
int32_t b4k_crf_dict_find(const b4k_crf_dict *d, const char *s, size_t n);
/* Same with the hash given (b4k_crf_hash(s, n)), for batched lookups. */
int32_t b4k_crf_dict_find_h(const b4k_crf_dict *d, const char *s, size_t n, uint64_t h);
/* Hint that s (hash h) will be looked up soon. */
static inline void b4k_crf_dict_prefetch(const b4k_crf_dict *d, uint64_t h)
{
    if (d->cap)
        __builtin_prefetch(d->slots + ((size_t)h & (d->cap - 1)));
}
/* id of s, adding it if new; count is incremented.  Returns the id, or
 * B4K_ENOMEM / B4K_ERANGE (more than 2^31-2 entries). */
int32_t b4k_crf_dict_add(b4k_crf_dict *d, const char *s, size_t n);
static inline const char *b4k_crf_dict_str(const b4k_crf_dict *d, int32_t id)
{
    return d->arena + d->off[id];
}
static inline size_t b4k_crf_dict_len(const b4k_crf_dict *d, int32_t id)
{
    return (size_t)(d->off[id + 1] - d->off[id] - 1);
}
/* Keep the entries with keep[i] != 0, renumbered in order; newid (n) gets
 * the new id or -1.  Returns 0 or B4K_ENOMEM. */
int b4k_crf_dict_filter(b4k_crf_dict *d, const uint8_t *keep, int32_t *newid);
/* Renumber: entry order[k] becomes id k (order is a permutation of 0..n-1);
 * newid (n) gets the new id of each old id.  Returns 0 or B4K_ENOMEM. */
int b4k_crf_dict_reorder(b4k_crf_dict *d, const int32_t *order, int32_t *newid);
/* Use stored tables in place (borrowed; validated: offsets increasing and
 * inside the arena, strings NUL-terminated, slots in range, cap a power of
 * two larger than n).  With rehash set, the stored slots were made with
 * another hash: they are validated and replaced by a table of our own.
 * Returns 0, B4K_EFORMAT or B4K_ENOMEM. */
int b4k_crf_dict_borrow(b4k_crf_dict *d, const char *arena, size_t alen, const int64_t *off,
                        size_t n, const int32_t *slots, size_t cap, int rehash);

#endif
