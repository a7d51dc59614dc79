/* jieba internals shared by jieba_dict.c and jieba.c.  Not a public header. */
#ifndef B4K_TOK_JIEBA_IMPL_H
#define B4K_TOK_JIEBA_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "tok/jieba.h"

#define B4K_JIEBA_MIN_FLOAT (-3.14e100)
enum { JB_B = 0, JB_E = 1, JB_M = 2, JB_S = 3 }; /* alphabetical: ties go to the later letter */

/* A trie edge in one 64-bit word: bits 0-41 the key ((node + 1) << 21 | cp),
 * 42-62 the child, 63 "freq[child] > 0" (saves a memory access in the DAG
 * walk).  0 = empty.  Hence at most 2^21 - 2 nodes. */
#define B4K_JIEBA_KEYMASK ((1ull << 42) - 1)
#define B4K_JIEBA_MAX_NODES ((1u << 21) - 2)

/* Prefix trie over code points.  Node 0 is the root; its children for BMP
 * code points are in a direct table, every other edge in a hash keyed by
 * ((node + 1) << 21 | cp). */
struct b4k_jieba {
    char name[256];
    uint32_t *root;            /* (0x10000) */
    uint8_t *roothasf;         /* (0x10000) freq[root[cp]] > 0 */
    uint64_t *slot;            /* (hcap) packed edges, 0 = empty */
    size_t hcap, hn;
    uint64_t *freq;            /* (n_nodes) */
    double *lf;                /* (n_nodes) log(freq or 1) */
    uint8_t *flag;             /* (n_nodes) 1: explicit word, 2: force split */
    uint32_t n_nodes, nodes_cap;
    uint64_t total;
    double logtotal;
    uint64_t gen;              /* bumped by every change, for per-thread caches */
    /* explicit words in insertion order, for saving */
    char *wblob;
    size_t wblob_len, wblob_cap;
    uint32_t *woff;            /* (n_words + 1) */
    uint32_t *wnode;           /* (n_words) */
    size_t n_words, words_cap;
    /* HMM */
    double start[4], trans[4][4];
    uint32_t *ekey;            /* (ecap) cp + 1, 0 = empty */
    double (*eval)[4];         /* (ecap) */
    size_t ecap, en;
};

static inline uint32_t b4k_jieba_next(const b4k_jieba *j, uint32_t node, uint32_t cp)
{
    if (node == 0 && cp < 0x10000) return j->root[cp];
    uint64_t key = ((uint64_t)(node + 1) << 21) | cp;
    size_t mask = j->hcap - 1, h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & mask;
    for (;;) {
        uint64_t v = j->slot[h];
        if ((v & B4K_JIEBA_KEYMASK) == key) return (uint32_t)(v >> 42) & 0x1FFFFF;
        if (!v) return 0;
        h = (h + 1) & mask;
    }
}

/* child and whether its frequency is > 0 */
static inline uint32_t b4k_jieba_next_f(const b4k_jieba *j, uint32_t node, uint32_t cp, int *hasf)
{
    if (node == 0 && cp < 0x10000) {
        *hasf = j->roothasf[cp];
        return j->root[cp];
    }
    uint64_t key = ((uint64_t)(node + 1) << 21) | cp;
    size_t mask = j->hcap - 1, h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & mask;
    for (;;) {
        uint64_t v = j->slot[h];
        if ((v & B4K_JIEBA_KEYMASK) == key) {
            *hasf = (int)(v >> 63);
            return (uint32_t)(v >> 42) & 0x1FFFFF;
        }
        if (!v) return 0;
        h = (h + 1) & mask;
    }
}

static inline const double *b4k_jieba_emit(const b4k_jieba *j, uint32_t cp)
{
    static const double none[4] = {B4K_JIEBA_MIN_FLOAT, B4K_JIEBA_MIN_FLOAT,
                                   B4K_JIEBA_MIN_FLOAT, B4K_JIEBA_MIN_FLOAT};
    if (!j->ecap) return none;
    size_t mask = j->ecap - 1, h = (size_t)(((uint64_t)cp * 0x9E3779B97F4A7C15ull) >> 20) & mask;
    for (;;) {
        uint32_t k = j->ekey[h];
        if (k == cp + 1) return j->eval[h];
        if (!k) return none;
        h = (h + 1) & mask;
    }
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

/* FREQ[word] = freq (with every prefix in the trie); total += f. */
int b4k_jieba_dict_set(b4k_jieba *j, const char *w, size_t n, uint64_t freq, b4k_err *err,
                       long line);
int b4k_jieba_dict_count(b4k_jieba *j, uint64_t f, b4k_err *err, long line);

#endif
