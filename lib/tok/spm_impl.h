/* SentencePiece internals shared by spm_model.c, spm_norm.c, spm.c and
 * spm_lattice.c.  Not a public header. */
#ifndef B4K_TOK_SPM_IMPL_H
#define B4K_TOK_SPM_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "tok/spm.h"

/* Byte trie over the pieces: node 0 is the root; children of the root in a
 * direct table, deeper edges in an open-addressing hash keyed by
 * (node << 8 | byte).  val[node] is the piece id ending there or -1. */
typedef struct b4k_spm_trie {
    uint32_t root[256];   /* child of root per byte, 0 = none */
    uint64_t *slots;      /* (cap) key << 32 | child; key = node << 8 | byte; 0 = empty */
    size_t cap, mask;
    int32_t *val;         /* (n_nodes) */
    uint32_t n_nodes;
} b4k_spm_trie;

static inline uint32_t b4k_spm_trie_next(const b4k_spm_trie *t, uint32_t node, unsigned char c)
{
    if (node == 0) return t->root[c];
    uint32_t key = (node << 8) | c;
    size_t h = ((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 20 & t->mask;
    for (;;) {
        uint64_t s = t->slots[h];
        if (!s) return 0;
        if ((uint32_t)(s >> 32) == key) return (uint32_t)s;
        h = (h + 1) & t->mask;
    }
}

/* The piece trie over code points, used by the unigram Viterbi when every
 * piece and the normalised text are valid UTF-8 (then it finds exactly the
 * matches the byte trie finds, with one probe per character instead of one
 * per byte).  Root children of BMP code points in a direct table. */
/* An edge in one 64-bit word: bits 0-41 the key ((node + 1) << 21 | cp),
 * 42-62 the child; 0 = empty.  At most 2^21 - 2 nodes (else the model
 * keeps to the byte trie). */
#define B4K_SPM_CPKEY ((1ull << 42) - 1)

typedef struct b4k_spm_cptrie {
    int ok;                 /* built (all pieces valid UTF-8, not too many) */
    uint32_t *root;         /* (0x10000) child, 0 = none */
    uint64_t *slots;        /* (cap) */
    int32_t *val;           /* (n_nodes) piece id ending at the node, or -1 */
    size_t cap, mask;
    uint32_t n_nodes;
} b4k_spm_cptrie;

/* child of node by cp, or 0 */
static inline uint32_t b4k_spm_cp_next(const b4k_spm_cptrie *t, uint32_t node, uint32_t cp)
{
    if (node == 0 && cp < 0x10000) return t->root[cp];
    uint64_t key = ((uint64_t)(node + 1) << 21) | cp;
    size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 24) & t->mask;
    for (;;) {
        uint64_t v = t->slots[h];
        if ((v & B4K_SPM_CPKEY) == key) return (uint32_t)(v >> 42) & 0x1FFFFF;
        if (!v) return 0;
        h = (h + 1) & t->mask;
    }
}

/* The precompiled charsmap: darts-clone double array + NUL-separated
 * replacement strings. */
typedef struct b4k_spm_charsmap {
    const uint32_t *units; /* (n_units), little-endian host assumed (x86) */
    size_t n_units;
    const char *norm;      /* replacement strings */
    size_t norm_len;
    size_t last_nul;       /* offsets <= last_nul are NUL-terminated */
} b4k_spm_charsmap;

typedef struct b4k_spm_normspec {
    int present;
    const char *name;       /* normalizer_spec.name (into the blob), "" if none */
    size_t name_len;
    int add_dummy_prefix, remove_extra_ws, escape_ws;
    b4k_spm_charsmap cmap;  /* n_units == 0: identity */
} b4k_spm_normspec;

struct b4k_spm {
    unsigned char *blob;    /* the file contents (owned) */
    size_t blob_len;
    char name[256];
    int32_t n;              /* pieces */
    const char **piece;     /* (n) into blob */
    uint32_t *piece_len;    /* (n) */
    float *score;           /* (n) */
    uint8_t *type;          /* (n) */
    /* piece -> id hash (all pieces) */
    int32_t *hash;          /* (hcap) id or -1 */
    size_t hcap;
    b4k_spm_trie trie;      /* normal, user-defined and unused pieces */
    b4k_spm_cptrie cptrie;  /* the same over code points (unigram fast path) */
    int has_user_defined;
    int model_type;
    int byte_fallback;
    int treat_ws_suffix;
    int32_t unk_id;         /* the UNKNOWN piece (= trainer_spec.unk_id, checked) */
    int32_t spec_id[4];     /* trainer_spec unk_id, bos_id, eos_id, pad_id (fields 40-43) */
    int32_t bytes[256];     /* byte pieces <0xNN>, -1 if none */
    float min_score, max_score;
    const char *unk_surface;
    size_t unk_surface_len;
    const char *unk_piece, *bos_piece, *eos_piece, *pad_piece;
    size_t unk_piece_len, bos_piece_len, eos_piece_len, pad_piece_len;
    b4k_spm_normspec norm;
};

struct b4k_spm_state {
    char *norm;             /* normalised text */
    size_t norm_len, norm_cap;
    uint32_t *n2o;          /* (norm_len + 1) */
    size_t n2o_cap;
    /* unigram Viterbi */
    struct b4k_spm_best *best;
    size_t best_cap;
    /* BPE */
    struct b4k_spm_sym *sym;
    size_t sym_cap;
    struct b4k_spm_pair *heap;
    size_t heap_n, heap_cap;
    uint32_t *cps;          /* (norm_len) code points of the normalised text */
    uint8_t *cpl;           /* their byte lengths */
    size_t cps_cap;
    /* raw (id, nbeg, nend) results before byte fallback and offset mapping */
    int32_t *rid;
    uint32_t *rbeg, *rend;
    size_t rn, rcap;
    /* lattice (n-best, sampling) */
    struct b4k_spm_lattice *lat;
};

int b4k_spm_state_norm(const b4k_spm *m, b4k_spm_state *st, const char *text, size_t n,
                       b4k_err *err);
int b4k_spm_raw_push(b4k_spm_state *st, int32_t id, uint32_t b, uint32_t e);
/* Turn st's raw pieces into out: byte fallback for unknown pieces and
 * normalised offsets mapped back to input offsets. */
int b4k_spm_finish(const b4k_spm *m, b4k_spm_state *st, b4k_spm_tokens *out);
/* Length of the UTF-8 character at s by its lead byte (as the reference's
 * OneCharLen), capped at n. */
static inline size_t b4k_spm_one_char_len(const char *s, size_t n)
{
    static const unsigned char tab[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    size_t l = tab[(unsigned char)s[0] >> 4];
    return l < n ? l : n;
}
void b4k_spm_lattice_free(struct b4k_spm_lattice *lat);

#endif
