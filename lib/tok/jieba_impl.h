/* jieba internals shared by jieba_dict.c, jieba_data.c and jieba.c.  Not a
 * public header.
 *
 * The dictionary is a prefix trie over code points kept as one hash table
 * of edges, the same arrays whether they are built in memory (from jieba's
 * text files, or after a user dictionary was added) or used in place from
 * a b4k data file (mmap'd, or a buffer): see jieba_data.c for the file. */
#ifndef B4K_TOK_JIEBA_IMPL_H
#define B4K_TOK_JIEBA_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tok/jieba.h"

#define B4K_JIEBA_MIN_FLOAT (-3.14e100)
enum { JB_B = 0, JB_E = 1, JB_M = 2, JB_S = 3 }; /* alphabetical: ties go to the later letter */

/* The HMM runs on re_han's [\u4E00-\u9FD5] only, so emissions outside it
 * are never read (and not kept). */
#define B4K_JIEBA_EMIT_LO 0x4E00u
#define B4K_JIEBA_EMIT_N (0x9FD5u - 0x4E00u + 1)

/* One trie edge, 16 bytes:
 *   kc  bits 0-41 the key ((parent + 1) << 21 | cp), 42-62 the child,
 *       63 "freq[child] > 0"; 0 = an empty slot;
 *   lf  the IEEE bits of log(freq[child] or 1) (>= 0, so the sign bit is
 *       free), with the sign bit set when the child has children.
 * Everything the DAG walk needs is in one slot.  At most 2^21 - 2 nodes. */
typedef struct b4k_jieba_slot {
    uint64_t kc;
    uint64_t lf;
} b4k_jieba_slot;

#define B4K_JIEBA_KEYMASK ((1ull << 42) - 1)
#define B4K_JIEBA_HASF (1ull << 63)
#define B4K_JIEBA_KIDS (1ull << 63)
#define B4K_JIEBA_MAX_NODES ((1u << 21) - 2)

static inline uint32_t b4k_jieba_child(const b4k_jieba_slot *s)
{
    return (uint32_t)(s->kc >> 42) & 0x1FFFFF;
}

static inline double b4k_jieba_slot_lf(const b4k_jieba_slot *s)
{
    uint64_t b = s->lf & ~B4K_JIEBA_KIDS;
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

/* node flags */
enum { B4K_JIEBA_WORD = 1, B4K_JIEBA_FORCE_SPLIT = 2 };

/* Home slot of a key: buckets of 4 slots (one cache line), the bucket by a
 * multiplicative hash scaled to the bucket count; then linear probing
 * (wrapping).  Part of the file format. */
static inline size_t b4k_jieba_home(uint64_t key, size_t n_slots)
{
    uint64_t h = (key * 0x9E3779B97F4A7C15ull) >> 32;
    return (size_t)((h * (uint64_t)(n_slots >> 2)) >> 32) << 2;
}

struct b4k_jieba {
    char name[256];
    /* the trie (node 0 is the root) */
    uint32_t *root;            /* (n_root) slot + 1 of the root's edge by cp, 0 = none */
    uint32_t n_root;           /* code points below it use root[] */
    b4k_jieba_slot *slot;      /* (n_slots) */
    size_t n_slots, n_edges;
    uint64_t *freq;            /* (n_nodes) */
    uint8_t *flag;             /* (n_nodes) B4K_JIEBA_WORD | B4K_JIEBA_FORCE_SPLIT */
    uint32_t n_nodes, nodes_cap;
    size_t n_words, n_force;   /* nodes with flag WORD, FORCE_SPLIT */
    uint64_t total;
    double logtotal;
    /* HMM */
    double start[4], trans[4][4];
    double (*ev)[4];           /* (n_emit) emission rows, states B E M S */
    size_t n_emit, ev_cap;
    uint16_t eidx[B4K_JIEBA_EMIT_N]; /* row + 1 by cp - B4K_JIEBA_EMIT_LO, 0 = none */
    /* storage: the arrays above point into a data file image (map or
     * image, read-only) or are owned one by one (owned = 1, mutable) */
    void *map;                 /* mmap'd file */
    size_t map_len;
    void *image;               /* an image in memory (owned) */
    int owned;
};

/* Edge of node by cp, or NULL. */
static inline const b4k_jieba_slot *b4k_jieba_edge(const b4k_jieba *j, uint32_t node, uint32_t cp)
{
    if (node == 0 && cp < j->n_root) {
        uint32_t s = j->root[cp];
        return s ? &j->slot[s - 1] : NULL;
    }
    uint64_t key = ((uint64_t)(node + 1) << 21) | cp;
    const size_t n = j->n_slots;
    size_t h = b4k_jieba_home(key, n);
    for (;;) {
        const b4k_jieba_slot *s = &j->slot[h];
        if ((s->kc & B4K_JIEBA_KEYMASK) == key) return s;
        if (!s->kc) return NULL;
        if (++h == n) h = 0;
    }
}

static inline void b4k_jieba_prefetch(const b4k_jieba *j, uint32_t node, uint32_t cp)
{
    uint64_t key = ((uint64_t)(node + 1) << 21) | cp;
    __builtin_prefetch(&j->slot[b4k_jieba_home(key, j->n_slots)]);
}

static inline const double *b4k_jieba_emit(const b4k_jieba *j, uint32_t cp)
{
    static const double none[4] = {B4K_JIEBA_MIN_FLOAT, B4K_JIEBA_MIN_FLOAT,
                                   B4K_JIEBA_MIN_FLOAT, B4K_JIEBA_MIN_FLOAT};
    uint32_t i = cp - B4K_JIEBA_EMIT_LO;
    return i < B4K_JIEBA_EMIT_N && j->eidx[i] ? j->ev[j->eidx[i] - 1] : none;
}

/* Walk a UTF-8 word; returns its node or 0. */
uint32_t b4k_jieba_find(const b4k_jieba *j, const char *w, size_t n);
/* Decode one character as the segmenter sees it (an invalid byte is one
 * character, U+FFFD).  ASCII and 3-byte sequences inline. */
int b4k_jieba_decode_slow(const unsigned char *s, size_t n, uint32_t *cp);
static inline int b4k_jieba_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xF0) == 0xE0 && n >= 3 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
        uint32_t c = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        if (c >= 0x800 && (c < 0xD800 || c > 0xDFFF)) {
            *cp = c;
            return 3;
        }
    }
    return b4k_jieba_decode_slow(s, n, cp);
}

/* ---- building (jieba_dict.c) --------------------------------------------- */

/* An empty, owned dictionary (HMM tables at MIN_FLOAT). */
b4k_jieba *b4k_jieba_new_empty(const char *name);
/* Make the arrays owned and mutable (copies an image; no-op when owned). */
int b4k_jieba_thaw(b4k_jieba *j, b4k_err *err);
/* FREQ[word] = freq (with every prefix in the trie); total untouched. */
int b4k_jieba_dict_set(b4k_jieba *j, const char *w, size_t n, uint64_t freq, b4k_err *err,
                       long line);
int b4k_jieba_dict_count(b4k_jieba *j, uint64_t f, b4k_err *err, long line);
/* A whole file (plain or .zst), NUL-terminated; at most max bytes. */
int b4k_jieba_slurp(const char *path, char **out, size_t *len, size_t max, b4k_err *err);
/* Mark a word as split into characters after the HMM (freq 0 user word). */
int b4k_jieba_force_split(b4k_jieba *j, const char *w, size_t n, b4k_err *err);

#endif
