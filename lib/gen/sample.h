/* Token sampling from logits: penalties, temperature, top-k, top-p (nucleus),
 * min-p, then a draw from the renormalised distribution.
 *
 * Order (as in llama.cpp's default chain):
 *   1. repetition penalty (CTRL / HF: a seen token's logit l becomes l/r if
 *      l > 0, else l*r), presence (l -= presence if seen) and frequency
 *      (l -= frequency * count) penalties, over the last penalty_last_n
 *      tokens of the history (0 = all of it);
 *   2. temperature 0 (or top_k 1): greedy argmax (lowest id on ties);
 *   3. p = softmax(l / temperature);
 *   4. top-k keeps the k most probable; top-p then keeps the smallest
 *      prefix (by descending p, then ascending id) of what is left whose
 *      mass reaches top_p of that set's mass (the top-k set renormalised
 *      first, as HF's TopK -> TopP warpers and llama.cpp's chain do);
 *      min-p then drops the tokens with p < min_p * max p;
 *   5. renormalise and draw with one uniform number from the rng. */
#ifndef B4K_GEN_SAMPLE_H
#define B4K_GEN_SAMPLE_H

#include "core/rng.h"

typedef struct b4k_sample_opts {
    float temperature;         /* 0 = greedy; default 1 */
    int top_k;                 /* 0 = off */
    float top_p;               /* 1 = off */
    float min_p;               /* 0 = off */
    float repetition_penalty;  /* 1 = off */
    float presence_penalty;    /* 0 = off */
    float frequency_penalty;   /* 0 = off */
    int penalty_last_n;        /* 0 = whole history */
} b4k_sample_opts;

void b4k_sample_opts_default(b4k_sample_opts *o);

typedef struct b4k_sampler b4k_sampler;

b4k_sampler *b4k_sampler_new(int vocab);  /* NULL on allocation failure */
void b4k_sampler_free(b4k_sampler *s);

/* Step 1 in place on logits(V), given the history hist(n). */
void b4k_sample_penalize(b4k_sampler *s, float *logits, const int *hist, int n,
                         const b4k_sample_opts *o);

/* Steps 2-4: the candidate set with renormalised probabilities, most
 * probable first when top-k or top-p truncate (else in id order).  Returns the count (>= 1); ids/probs point into the
 * sampler (valid until the next call). */
int b4k_sample_dist(b4k_sampler *s, const float *logits, const b4k_sample_opts *o,
                    const int **ids, const float **probs);

/* Steps 2-5 (call b4k_sample_penalize first if penalties are set).
 * Greedy draws no random number. */
int b4k_sample(b4k_sampler *s, const float *logits, const b4k_sample_opts *o, b4k_rng *rng);

/* log softmax(logits)[id] (the model's own log-probability of id). */
float b4k_logprob(const float *logits, int V, int id);

#endif
