/* The fine-tuning loop of b4k-extract: epochs of bucketed batches, AdamW
 * steps with gradient accumulation, held-out evaluation with the EMA
 * weights after each epoch (bert4keras's Evaluator), checkpoints, and
 * bit-identical resumption (the batch order of epoch e and the dropout /
 * subject-sampling stream of batch b depend only on the seed, e and b, so
 * a run restarted from a checkpoint at step s repeats the same steps).
 * The library does not print: progress and metrics go to a callback. */
#ifndef B4K_IE_TRAIN_H
#define B4K_IE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "io/jsonl.h"
#include "ie/model.h"
#include "ie/run.h"
#include "ie/task.h"
#include "nn/adamw.h"

/* Every setting that shapes the result of a training run.  Checkpoints and
 * trained models keep them as the header member "training"; a resumed run
 * takes them from its checkpoint (b4k_ie_settings_resume), so it goes on
 * exactly as the interrupted run would have. */
typedef struct b4k_ie_settings {
    int epochs, batch, accum, bucket, decay, max_len, threads;
    uint64_t seed;
    double lr, warmup, wd, clip, ema, crf_lr_mult, layer_decay, holdout;
    double dropout;          /* < 0: the BERT config's rates */
    int bf16;                /* bf16 GEMMs in the encoder (b4k_bert_act_bf16) */
    long documents;          /* training documents read (before the hold-out) */
    uint64_t data_hash;      /* b4k_ie_data_hash of them */
} b4k_ie_settings;

/* Bits for b4k_ie_settings_resume's `given` (options on the command line). */
enum {
    B4K_IE_S_EPOCHS = 1 << 0, B4K_IE_S_BATCH = 1 << 1, B4K_IE_S_ACCUM = 1 << 2,
    B4K_IE_S_BUCKET = 1 << 3, B4K_IE_S_DECAY = 1 << 4, B4K_IE_S_MAXLEN = 1 << 5,
    B4K_IE_S_THREADS = 1 << 6, B4K_IE_S_SEED = 1 << 7, B4K_IE_S_LR = 1 << 8,
    B4K_IE_S_WARMUP = 1 << 9, B4K_IE_S_WD = 1 << 10, B4K_IE_S_CLIP = 1 << 11,
    B4K_IE_S_EMA = 1 << 12, B4K_IE_S_CRFLR = 1 << 13, B4K_IE_S_LAYERDECAY = 1 << 14,
    B4K_IE_S_HOLDOUT = 1 << 15, B4K_IE_S_DROPOUT = 1 << 16, B4K_IE_S_BF16 = 1 << 17
};

/* {"epochs":..,"batch_size":..,...}: a new object. */
json_t *b4k_ie_settings_json(const b4k_ie_settings *s);
/* Read them back (name: the file, for messages).  "bf16" may be absent
 * (checkpoints from before it existed: f32). */
int b4k_ie_settings_from_json(b4k_ie_settings *s, b4k_err *err, const json_t *o, const char *name);
/* For a resumed run: start from the checkpoint's settings ck and keep a
 * command-line value of cli only where it cannot change the result:
 * --threads (then, in f32, *note says the run is no longer bit-identical
 * to one with the checkpoint's thread count; in bf16 it still is) and --epochs when the learning rate
 * schedule does not depend on the run's length (no --lr-decay, no
 * --warmup).  Any other option given (bit in `given`) with a different
 * value is refused (B4K_EINVAL, naming the option and both values).  The
 * training data must be the same documents (count and hash).  *note
 * (may be NULL) receives a static string or NULL. */
int b4k_ie_settings_resume(b4k_ie_settings *out, b4k_err *err, const b4k_ie_settings *ck,
                           const b4k_ie_settings *cli, unsigned given, const char *ckname,
                           const char **note);

typedef struct b4k_ie_train_cfg {
    int epochs, batch, accum, bucket;
    long max_steps;          /* > 0: stop after this many optimiser steps */
    uint64_t seed;
    const char *checkpoint;  /* written after each epoch and at a stop; may be NULL */
    long checkpoint_every;   /* > 0: also every this many optimiser steps */
    const json_t *settings;  /* stored in the checkpoints as "training"; may be NULL */
} b4k_ie_train_cfg;

/* Examples to evaluate on: indices idx of s (documents in d). */
typedef struct b4k_ie_evalset {
    const b4k_ie_exset *s;
    const b4k_ie_data *d;
    const int32_t *idx;
    size_t n;
} b4k_ie_evalset;

enum { B4K_IE_EV_STEP = 1, B4K_IE_EV_EPOCH = 2, B4K_IE_EV_CHECKPOINT = 3 };

typedef struct b4k_ie_event {
    int kind;
    int epoch;                      /* 1-based */
    long step, total_steps;         /* optimiser steps */
    double loss;                    /* STEP: this step's mean loss; EPOCH: epoch mean */
    double grad_norm, lr;           /* STEP */
    double precision, recall, f1;   /* EPOCH; f1 < 0 without evaluation */
} b4k_ie_event;

typedef void (*b4k_ie_event_fn)(void *ctx, const b4k_ie_event *ev);

long b4k_ie_steps_per_epoch(size_t nuse, int batch, int accum);

/* Split the examples of ex (one per document): a fraction `holdout` of the
 * documents, drawn by seed, is held out (hold, in file order); of the rest,
 * the training examples are use (spo: only those with a gold triple, as
 * bert4keras).  use and hold have room for ex->n each. */
int b4k_ie_split(int32_t *use, size_t *nuse, int32_t *hold, size_t *nhold, b4k_err *err,
                 const b4k_ie_exset *ex, int task, double holdout, uint64_t seed);

/* Exact-match metrics of the model on ev (mt initialised by the caller). */
int b4k_ie_evaluate(const b4k_ie_model *m, b4k_ie_runner *r, b4k_err *err,
                    const b4k_ie_evalset *ev, b4k_ie_metrics *mt);

/* Train from opt->step on examples use[0..nuse) of ex.  ev may be NULL or
 * empty.  fn (may be NULL) sees every step and epoch. */
int b4k_ie_train(b4k_ie_model *m, b4k_ie_runner *r, b4k_adamw *opt, b4k_err *err,
                 const b4k_ie_exset *ex, const int32_t *use, size_t nuse,
                 const b4k_ie_evalset *ev, const b4k_ie_train_cfg *cfg, b4k_ie_event_fn fn,
                 void *ctx);

#endif
