/* word2vec training: skip-gram / CBOW with negative sampling and/or
 * hierarchical softmax, Hogwild threads.
 *
 * One pass over the corpus builds the vocabulary and spools provisional word
 * ids to an unlinked temporary file (4 bytes per token; so stdin works),
 * which is then renumbered in place and mmap'd for the training passes.
 * Each thread trains a contiguous slice of the id stream for `iter` epochs.
 *
 * Skip-gram updates are batched per centre word: the input vectors of the
 * window's context words are trained together against the centre word's
 * output targets (its negative samples, shared by the window, and/or its
 * Huffman path) as small dense products (kern.h).  CBOW averages the context
 * as word2vec.c does.  With threads = 1 and a seed, runs are bit-identical,
 * also across a checkpoint and --resume. */
#ifndef B4K_W2V_TRAIN_H
#define B4K_W2V_TRAIN_H

#include "w2v/corpus.h"
#include "w2v/w2v.h"

typedef struct b4k_w2v_progress {
    int phase;                /* 0 counting words, 1 training */
    int64_t tokens;           /* phase 0: tokens read so far */
    size_t bytes_done, bytes_total;
    int64_t words_done;       /* phase 1: words trained (all epochs) */
    int64_t words_total;      /* iter * train_words */
    double alpha, loss;       /* current learning rate, mean loss per target */
    int epoch;
} b4k_w2v_progress;

typedef struct b4k_w2v_train_opts {
    b4k_w2v_config cfg;       /* model, dim, window, ... (cfg.train_words ignored) */
    int threads;
    b4k_w2v_scan_opts scan;
    const char *tmpdir;       /* NULL: $TMPDIR or /tmp */
    const char *checkpoint;   /* write a checkpoint here every checkpoint_every words */
    int64_t checkpoint_every;
    const char *resume;       /* continue from this checkpoint */
    /* called from the calling thread only, at least every ~10000 words */
    void (*progress)(void *ctx, const b4k_w2v_progress *p);
    void *progress_ctx;
    /* with threads > 1, plain files of this many bytes or more in all are
     * counted in parallel (w2v/encode.c); 0 = 8 MiB (tests set it low) */
    size_t par_scan_min;
} b4k_w2v_train_opts;

typedef struct b4k_w2v_train_stats {
    int64_t lines, tokens, truncated, train_words;
    size_t vocab;
    double seconds_vocab, seconds_train, loss;
    const char *kernel;
    int checkpoints;
    int threads;       /* threads used (from the checkpoint when resuming) */
    int64_t words_done; /* corpus words trained, over all epochs and threads
                           (iter * train_words at the end of a whole run) */
} b4k_w2v_train_stats;

/* Defaults: skip-gram, dim 100, window 5, negative 5, no hs, sample 1e-3,
 * min-count 5, iter 5, alpha 0.025 (0.05 for CBOW), seed 1. */
void b4k_w2v_train_defaults(b4k_w2v_train_opts *o, int model);

int b4k_w2v_train(b4k_w2v **out, const char *const *paths, int npaths,
                  const b4k_w2v_train_opts *o, b4k_w2v_train_stats *st, b4k_err *err);

/* Huffman tree as word2vec.c builds it, for counts sorted descending.
 * codes (n*40 bytes), points (n*40), lens (n).  Returns B4K_ERANGE if a code
 * would be longer than 40. */
#define B4K_W2V_MAX_CODE 40
int b4k_w2v_huffman(const int64_t *counts, size_t n, uint8_t *codes, int32_t *points,
                    uint8_t *lens, b4k_err *err);

/* One batched update (exposed for the exactness tests): contexts C (m rows),
 * targets T (n rows) with labels lab, learning rate alpha; the products,
 * gradients and updates of the skip-gram batch.  Returns the summed loss. */
double b4k_w2v_update(float *const *C, int m, float *const *T, const float *lab, int n, int d,
                      float alpha, float *scratch);
/* CBOW: mean of C, trained against T; scratch >= 2*d + 2*n floats. */
double b4k_w2v_update_cbow(float *const *C, int m, float *const *T, const float *lab, int n,
                           int d, float alpha, float *scratch);
/* CBOW for B <= B4K_W2V_MAX_SHARE centre words that share k negatives:
 * Cb[b] (mb[b] rows) the contexts of centre b, P[b] its output row (of word
 * wp[b]), N[j] the negatives' output rows (of words wn[j]); a negative that
 * is centre b's own word is skipped for b.  All products come from the
 * values before the update.  scratch >= B * (2 * d + k + 1) floats. */
double b4k_w2v_update_cbow_shared(float **const *Cb, const int *mb, int B, float *const *P,
                                  const uint32_t *wp, float *const *N, const uint32_t *wn, int k,
                                  int d, float alpha, float *scratch);
/* The sigmoid the trainer uses (table with linear interpolation). */
float b4k_w2v_sigmoid(float x);

#endif
