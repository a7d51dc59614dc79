/* Beam search over any autoregressive model given as callbacks.
 *
 * Scores are sums of log-probabilities (log softmax of the logits); a
 * finished hypothesis (it produced end_id, or reached max_new tokens) is
 * ranked by sum / len^length_penalty, len = its generated tokens counting
 * end_id (after HF.s
 * BeamHypotheses).  Each step expands every live beam, keeps the best 2K
 * (beam, token) pairs by cumulative score, moves those ending in end_id (if
 * in the top K) to the finished list and continues the best K others.
 * Stops when K hypotheses are finished and either early_stopping is set or
 * no live beam can still beat the worst finished one (its best possible
 * normalised score, assuming it ended now, is lower), or at max_new.
 *
 * The model keeps one KV-cache slot per beam; beams live in slots
 * [0,K) and [K,2K) alternately, and copy(ctx, dst, src, npos) moves a
 * parent's cache to its child's slot. */
#ifndef B4K_GEN_BEAM_H
#define B4K_GEN_BEAM_H

#include "core/err.h"

typedef struct b4k_beam_model {
    void *ctx;
    int vocab;
    /* logits(B,V) for tokens[b] at position pos[b] in slot slots[b] */
    int (*step)(void *ctx, int B, const int *slots, const int *tokens, const int *pos,
                float *logits, b4k_err *err);
    void (*copy)(void *ctx, int dst, int src, int npos);
} b4k_beam_model;

typedef struct b4k_beam_opts {
    int beams;              /* K >= 1 */
    int max_new;            /* generated tokens at most */
    float length_penalty;   /* exponent; 1 = average log-prob, 0 = sum */
    int early_stopping;
    int end_id;             /* -1: none */
} b4k_beam_opts;

typedef struct b4k_beam_result {
    int *ids;               /* generated ids (b4k_malloc), without end_id */
    int n;
    float score;            /* normalised score */
    float logprob;          /* sum of the token log-probabilities */
    int ended;              /* 1 if it produced end_id */
} b4k_beam_result;

/* The prompt must already be in slot 0 (positions 0..plen-1) and first
 * holds the logits after it (V).  Needs 2K slots. */
int b4k_beam_search(const b4k_beam_model *m, const b4k_beam_opts *o, int plen,
                    const float *first, b4k_beam_result *res, b4k_err *err);

#endif
