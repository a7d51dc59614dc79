/* An extraction model: BERT encoder + the spo or ner head + schema +
 * WordPiece vocabulary, stored as one .b4k file (architecture
 * "bert-extract"):
 *
 *   config:    {"task": "spo"|"ner", "bert": {Google bert_config.json keys},
 *               "schema": [predicate or entity type names],
 *               "max_len": N, "thresholds": [s_start, s_end, o_start, o_end],
 *               "precision": "f32"|"bf16"}  (the encoder's GEMMs at predict
 *               and eval time; absent = f32; trained with --bf16 = bf16)
 *   tokenizer: {"kind": "wordpiece", "vocab": "tokenizer.vocab",
 *               "do_lower_case": bool, "lower": 0|1}  (as man/b4k-model.5)
 *   tensors:   every parameter by name (f32; "bert.*", "spo.*" or "ner.*"),
 *              and "tokenizer.vocab", the vocab.txt bytes (u8) */
#ifndef B4K_IE_MODEL_H
#define B4K_IE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "ie/data.h"
#include "ie/ner.h"
#include "ie/spo.h"
#include "ie/task.h"
#include "io/jsonl.h"
#include "nn/adamw.h"
#include "nn/bert.h"
#include "tok/wordpiece.h"

typedef struct b4k_ie_model {
    int task;                 /* B4K_IE_SPO or B4K_IE_NER */
    b4k_bert_config cfg;
    b4k_bert bert;
    b4k_ptab tab;
    b4k_spo_head spo;
    b4k_ner_head ner;
    b4k_ie_names names;       /* predicates or entity types */
    b4k_wordpiece *wp;
    char *vocab;              /* vocab.txt bytes */
    size_t vocab_len;
    int lower;
    int max_len;
    b4k_spo_thresh th;
    int bf16;                 /* run the encoder in bf16 (b4k_bert_act_bf16) */
} b4k_ie_model;

/* Parse a Google bert_config.json (or the "bert" member of a model). */
int b4k_ie_bert_config(b4k_bert_config *c, b4k_err *err, const char *path);

/* New randomly initialised model (seed) over a vocab.txt file, or (when
 * vocab_path is NULL) the vocabulary embedded in the .b4k at init_path.
 * names are copied.  Every learning-rate multiplier starts at 1. */
int b4k_ie_model_create(b4k_ie_model *m, b4k_err *err, int task, const b4k_bert_config *c,
                        const b4k_ie_names *names, const char *vocab_path, const char *init_path,
                        int max_len, uint64_t seed);
/* Set every tensor's learning-rate multiplier from scratch (so a loaded
 * checkpoint gets exactly the multipliers of the run that wrote it):
 * the CRF transitions crf_lr_mult (ner), and with layer_decay < 1 encoder
 * layer l of L layer_decay^(L-l), the embeddings layer_decay^(L+1) (the
 * heads keep 1).  Shared-layer encoders (ALBERT) refuse layer_decay < 1. */
int b4k_ie_model_set_lr_mults(b4k_ie_model *m, b4k_err *err, double crf_lr_mult,
                              double layer_decay);
/* Copy the encoder weights (and the vocabulary) of a pretrained .b4k: BERT
 * tensors named as this model's ("bert.*", with or without the prefix).
 * Shapes must match the config. */
int b4k_ie_model_init_from(b4k_ie_model *m, b4k_err *err, const char *path);
/* Read the "bert" config of a pretrained .b4k (for --init). */
int b4k_ie_model_peek_config(b4k_bert_config *c, b4k_err *err, const char *path);

/* Write atomically: a failed write leaves an existing file untouched.
 * extra: more header members (e.g. training facts), may be NULL; opt_state:
 * optimiser state for checkpoints (m, v, ema arrays of tab.total and the
 * step), all may be NULL. */
typedef struct b4k_ie_optstate {
    const float *m, *v, *ema;
    long step;
} b4k_ie_optstate;
int b4k_ie_model_save(const b4k_ie_model *m, b4k_err *err, const char *path, json_t *extra,
                      const b4k_ie_optstate *st);
/* Load a model; with st non-NULL also the optimiser state (fields point to
 * arrays the caller frees with free(), or NULL when the file has none). */
typedef struct b4k_ie_optload {
    float *m, *v, *ema;
    long step;
    json_t *training;  /* the header's "training" member (a reference; json_decref it), or NULL */
} b4k_ie_optload;
int b4k_ie_model_load(b4k_ie_model *m, b4k_err *err, const char *path, b4k_ie_optload *st);
void b4k_ie_model_free(b4k_ie_model *m);

#endif
