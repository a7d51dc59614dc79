/* From documents to model inputs and back: WordPiece encoding with code
 * point offsets, gold spans mapped to token spans, training batches
 * (bucketed by length), and token predictions mapped back to text spans.
 *
 * NER labels are BIO over the entity types: 0 = O, 2k+1 = B-type k,
 * 2k+2 = I-type k (bert4keras's layout). */
#ifndef B4K_IE_TASK_H
#define B4K_IE_TASK_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/rng.h"
#include "ie/data.h"
#include "tok/tok.h"
#include "tok/wordpiece.h"

enum { B4K_IE_SPO = 1, B4K_IE_NER = 2 };

typedef struct b4k_ie_ex {
    int32_t *ids;     /* (n) with [CLS] ... [SEP] */
    int32_t *offs;    /* (n,2) code points; [0,0] for specials */
    int n;
    int doc;          /* document index */
    int32_t *tt;      /* spo: (ntt,5) token triples s0 s1 p o0 o1 (inclusive) */
    int ntt;
    int32_t *tags;    /* ner: (n) BIO label ids */
} b4k_ie_ex;

typedef struct b4k_ie_exset {
    b4k_ie_ex *ex;
    size_t n, cap;
    b4k_ie_notes truncated; /* documents cut at max_len (text left after the cut) */
    b4k_ie_notes dropped;   /* gold items lost to the cut or not alignable to tokens
                               (not those whose strings are not in the text) */
} b4k_ie_exset;

void b4k_ie_exset_free(b4k_ie_exset *s);

/* Encode documents [0, d->n) for task with at most max_len tokens. */
int b4k_ie_featurize(b4k_ie_exset *s, b4k_err *err, const b4k_wordpiece *wp,
                     const b4k_ie_data *d, int task, int max_len);

/* Token span [t0, t1] (inclusive) covering code points [c0, c1); -1 if none. */
int b4k_ie_align(const int32_t *offs, int n, int32_t c0, int32_t c1, int *t0, int *t1);

/* Batches: index lists into the example set.  Bucketing: shuffle, cut into
 * chunks of 32 batches, sort each chunk by length, split, shuffle batches. */
typedef struct b4k_ie_batches {
    int32_t *idx;     /* all example indices in batch order */
    size_t *start;    /* (nb+1) batch boundaries into idx */
    size_t nb;
} b4k_ie_batches;

int b4k_ie_batches_make(b4k_ie_batches *bt, b4k_err *err, const b4k_ie_exset *s,
                        const int32_t *use, size_t nuse, int batch, int bucket, b4k_rng *rng);
void b4k_ie_batches_free(b4k_ie_batches *bt);

/* Dense batch inputs (B,T): ids, lens; spo labels and the sampled subject,
 * ner tags (task 0: inputs only).  Buffers are grown as needed. */
typedef struct b4k_ie_batch {
    int B, T;
    int32_t *ids, *segs, *lens, *subj, *tags;
    float *subj_lab, *obj_lab;
    size_t cap_n, cap_b, cap_lab;
} b4k_ie_batch;

int b4k_ie_batch_fill(b4k_ie_batch *b, b4k_err *err, const b4k_ie_exset *s, const int32_t *idx,
                      int B, int task, int npred, int32_t pad_id, b4k_rng *rng);
void b4k_ie_batch_free(b4k_ie_batch *b);

/* One JSON line per example (first line {"schema": [...]}): split
 * ("train" for use, "heldout" for hold), ids, offsets, token triples or
 * tags, gold strings or spans, text.  For reference runs in other
 * frameworks on exactly the same tokenisation.  Written atomically. */
int b4k_ie_dump_features(const char *path, b4k_err *err, const b4k_ie_exset *ex,
                         const b4k_ie_data *d, const b4k_ie_names *names, const int32_t *use,
                         size_t nuse, const int32_t *hold, size_t nhold);

#endif
