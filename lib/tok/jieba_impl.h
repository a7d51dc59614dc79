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

/* One trie edge in 8 bytes.  The node an edge leads to is numbered by the
 * edge's slot: node = slot + 1 (the root is node 0), so no child field:
 *   bits 0-20   cp
 *   bits 21-42  parent node + 1      (bits 0-42: the key, never 0)
 *   bits 43-60  frequency index: ftab[i] / lft[i]; 0 = frequency 0
 *   bit 61      the node has children
 *   bit 62      the node is a dictionary word (jieba's FREQ has the word)
 *   bit 63      split into characters after the HMM (a user word with freq 0)
 * Everything the DAG walk needs is in one slot; 4 slots fill a bucket of
 * 32 bytes, homes are bucket-aligned (b4k_jieba_home), probing is linear. */
#define B4K_JIEBA_KEYMASK ((1ull << 43) - 1)
#define B4K_JIEBA_FSHIFT 43
#define B4K_JIEBA_FMASK ((1ull << 18) - 1)
#define B4K_JIEBA_KIDS (1ull << 61)
#define B4K_JIEBA_WORD (1ull << 62)
#define B4K_JIEBA_FORCE (1ull << 63)
#define B4K_JIEBA_MAX_FREQS ((1u << 18) - 1)
#define B4K_JIEBA_MAX_SLOTS (((size_t)1 << 22) - 4)

static inline uint32_t b4k_jieba_fi(uint64_t s) { return (uint32_t)(s >> B4K_JIEBA_FSHIFT) & B4K_JIEBA_FMASK; }
static inline uint64_t b4k_jieba_key(uint32_t node, uint32_t cp) { return ((uint64_t)(node + 1) << 21) | cp; }
static inline uint32_t b4k_jieba_parent(uint64_t s) { return (uint32_t)((s >> 21) & 0x3FFFFF) - 1; }

/* Home slot of a key: the bucket by a multiplicative hash scaled to the
 * bucket count.  Part of the file format. */
static inline size_t b4k_jieba_home(uint64_t key, size_t n_slots)
{
    uint64_t h = (key * 0x9E3779B97F4A7C15ull) >> 32;
    return (size_t)((h * (uint64_t)(n_slots >> 2)) >> 32) << 2;
}

struct b4k_jieba {
    char name[256];
    /* the trie */
    uint32_t *root;            /* (n_root) slot + 1 of the root's edge by cp, 0 = none */
    uint32_t n_root;           /* code points below it use root[] */
    uint64_t *slot;            /* (n_slots) edges, 0 = empty */
    size_t n_slots, n_edges;
    uint64_t *ftab;            /* (n_freq + 1) the distinct frequencies, ftab[0] = 0 */
    double *lft;               /* (n_freq + 1) their logs (lft[0] = 0) */
    size_t n_freq, freq_cap;
    uint32_t *fmap;            /* owned only: (fmap_cap) hash of ftab, index or 0 */
    size_t fmap_cap;
    size_t n_words, n_force;   /* edges with WORD, FORCE */
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
static inline const uint64_t *b4k_jieba_edge(const b4k_jieba *j, uint32_t node, uint32_t cp)
{
    if (node == 0 && cp < j->n_root) {
        uint32_t s = j->root[cp];
        return s ? &j->slot[s - 1] : NULL;
    }
    const uint64_t key = b4k_jieba_key(node, cp);
    const size_t n = j->n_slots;
    size_t h = b4k_jieba_home(key, n);
    for (;;) {
        const uint64_t v = j->slot[h];
        if ((v & B4K_JIEBA_KEYMASK) == key) return &j->slot[h];
        if (!v) return NULL;
        if (++h == n) h = 0;
    }
}

/* the node an edge leads to */
static inline uint32_t b4k_jieba_node(const b4k_jieba *j, const uint64_t *e)
{
    return (uint32_t)(e - j->slot) + 1;
}

static inline void b4k_jieba_prefetch(const b4k_jieba *j, uint32_t node, uint32_t cp)
{
    __builtin_prefetch(&j->slot[b4k_jieba_home(b4k_jieba_key(node, cp), j->n_slots)]);
}

static inline const double *b4k_jieba_emit(const b4k_jieba *j, uint32_t cp)
{
    static const double none[4] = {B4K_JIEBA_MIN_FLOAT, B4K_JIEBA_MIN_FLOAT,
                                   B4K_JIEBA_MIN_FLOAT, B4K_JIEBA_MIN_FLOAT};
    uint32_t i = cp - B4K_JIEBA_EMIT_LO;
    return i < B4K_JIEBA_EMIT_N && j->eidx[i] ? j->ev[j->eidx[i] - 1] : none;
}

/* Walk a UTF-8 word (n >= 1); returns its edge or NULL. */
const uint64_t *b4k_jieba_find(const b4k_jieba *j, const char *w, size_t n);
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

/* Copy src's trie (n_src slots) into the zeroed table dst of n_dst slots
 * (a multiple of 4, with room): breadth-first, children in code point order,
 * so the same dictionary gets the same slots (and node numbers) however it
 * was built.  Frequency indexes go through fmap (NULL: unchanged).  root
 * (n_root entries, zeroed) gets the root's edges.  Returns the number of
 * edges copied (nodes not reachable from the root are left out), or -1 when
 * out of memory. */
long b4k_jieba_relayout(const uint64_t *src, size_t n_src, uint64_t *dst, size_t n_dst,
                        uint32_t *root, uint32_t n_root, const uint32_t *fmap);

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
