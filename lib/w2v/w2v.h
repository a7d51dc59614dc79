/* A word2vec model: vocabulary (words in row order, with corpus counts) and
 * the word vectors, plus the output layers while training.  Loaded from and
 * saved to the .b4k container (architecture "word2vec"), or read from /
 * written to the original word2vec text and binary formats. */
#ifndef B4K_W2V_W2V_H
#define B4K_W2V_W2V_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "w2v/vocab.h"

enum { B4K_W2V_SKIPGRAM = 0, B4K_W2V_CBOW = 1 };

enum {
    B4K_W2V_FMT_AUTO = 0,
    B4K_W2V_FMT_B4K = 1,
    B4K_W2V_FMT_TEXT = 2, /* word2vec text: "V D\n" then "word f f ...\n" */
    B4K_W2V_FMT_BIN = 3   /* word2vec binary: "V D\n" then "word " + D f32 LE [+ "\n"] */
};

#define B4K_W2V_MAX_SHARE 64 /* the largest share_negatives */

typedef struct b4k_w2v_config {
    int model, dim, window, negative, hs, iter;
    int64_t min_count, max_vocab;
    double sample, alpha;
    uint64_t seed;
    int chars;
    int per_pair;        /* skip-gram: negatives per (centre, context) pair, not per window */
    int share_negatives; /* CBOW: consecutive centre words that share one draw of
                            negatives (0 or 1: each its own, as word2vec.c) */
    int64_t train_words; /* in-vocabulary tokens of the corpus */
} b4k_w2v_config;

typedef struct b4k_w2v {
    b4k_w2v_vocab *vocab; /* row order; counts are 0 when the source had none */
    size_t n;             /* words */
    int dim;
    float *in;            /* (n, dim) word vectors */
    float *out;           /* (n, dim) negative-sampling output vectors, or NULL */
    float *hs;            /* (n, dim) hierarchical-softmax node vectors, or NULL */
    int has_counts;
    b4k_w2v_config cfg;   /* training settings (zeros when unknown) */
} b4k_w2v;

/* Allocate n x dim (vectors zeroed; out/hs not allocated).  Takes vocab. */
int b4k_w2v_new(b4k_w2v **out, b4k_w2v_vocab *vocab, int dim, b4k_err *err);
void b4k_w2v_free(b4k_w2v *m);

/* Load any format (fmt = B4K_W2V_FMT_*; AUTO detects: "B4K\0" magic ->
 * container, else a "V D" header followed by a text or binary first
 * record).  Errors carry file:line (line = record number + 1 for binary). */
int b4k_w2v_load(b4k_w2v **out, const char *path, int fmt, b4k_err *err);
int b4k_w2v_load_mem(b4k_w2v **out, const void *data, size_t n, const char *name, int fmt,
                     b4k_err *err);

/* Save as .b4k (atomic).  with_output also stores the output layers. */
int b4k_w2v_save(const b4k_w2v *m, const char *path, int with_output, b4k_err *err);

/* Write word2vec text (floats with %.9g: exact round trip) or binary. */
int b4k_w2v_write_text(const b4k_w2v *m, FILE *fp, b4k_err *err);
int b4k_w2v_write_bin(const b4k_w2v *m, FILE *fp, b4k_err *err);

/* Checkpoint (training state + model) as a .b4k of architecture
 * "word2vec-checkpoint": state is an opaque i64 array kept by train.c. */
int b4k_w2v_ckpt_save(const b4k_w2v *m, const int64_t *state, size_t nstate, const char *path,
                      b4k_err *err);
int b4k_w2v_ckpt_load(b4k_w2v **out, int64_t **state, size_t *nstate, const char *path,
                      b4k_err *err);

#endif
