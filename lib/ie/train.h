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
#include "ie/model.h"
#include "ie/run.h"
#include "ie/task.h"
#include "nn/adamw.h"

typedef struct b4k_ie_train_cfg {
    int epochs, batch, accum, bucket;
    long max_steps;          /* > 0: stop after this many optimiser steps */
    uint64_t seed;
    const char *checkpoint;  /* written after each epoch and at a stop; may be NULL */
} b4k_ie_train_cfg;

/* Examples to evaluate on: indices idx of s (documents in d). */
typedef struct b4k_ie_evalset {
    const b4k_ie_exset *s;
    const b4k_ie_data *d;
    const int32_t *idx;
    size_t n;
} b4k_ie_evalset;

enum { B4K_IE_EV_STEP = 1, B4K_IE_EV_EPOCH = 2 };

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
