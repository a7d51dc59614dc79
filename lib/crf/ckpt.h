/* CRF trainer checkpoints.  A checkpoint is a complete CRF model file (the
 * weights training would output at that point: tag and eval accept it) with
 * the trainer's state added, so that `learn --resume` continues exactly
 * where it stopped: a run of N iterations and a run of k iterations resumed
 * to N give the same bits (same corpus, options and --threads).
 *
 * The header gets "checkpoint": {"version":1,"algorithm":A,"iteration":k,
 * "threads":t}; each state array is a 1-d i64 tensor "train.NAME" (doubles
 * are stored by their IEEE-754 bit patterns). */
#ifndef B4K_CRF_CKPT_H
#define B4K_CRF_CKPT_H

#include <stddef.h>

#include "core/err.h"
#include "crf/model.h"

typedef struct b4k_crf_ckpt_item {
    const char *name;   /* tensor "train.<name>" */
    const void *data;   /* n 8-byte values (int64_t or double) */
    size_t n;
} b4k_crf_ckpt_item;

/* Write m with the parameters `weights` (NULL: m->x) and the items,
 * atomically. */
int b4k_crf_ckpt_write(const char *path, const b4k_crf_model *m, const double *weights, int algo,
                       int iter, int threads, const b4k_crf_ckpt_item *items, int nitems,
                       b4k_err *err);

typedef struct b4k_crf_ckpt {
    b4k_crf_model m;    /* the model part */
    int algo, iter, threads;
} b4k_crf_ckpt;

/* Open a checkpoint: B4K_EFORMAT if path is a model without trainer state. */
int b4k_crf_ckpt_open(b4k_crf_ckpt *ck, const char *path, b4k_err *err);
void b4k_crf_ckpt_close(b4k_crf_ckpt *ck);
/* B4K_EINVAL unless the checkpoint was made on the features of m (same
 * labels, attributes, features and start/end scores). */
int b4k_crf_ckpt_match(const b4k_crf_ckpt *ck, const b4k_crf_model *m, b4k_err *err);
/* Copy the n values of "train.<name>" to dst; B4K_EFORMAT if absent or of
 * another length. */
int b4k_crf_ckpt_get(b4k_crf_ckpt *ck, const char *name, void *dst, size_t n, b4k_err *err);
/* Number of values of "train.<name>", or -1 if absent. */
long long b4k_crf_ckpt_len(b4k_crf_ckpt *ck, const char *name);

#endif
