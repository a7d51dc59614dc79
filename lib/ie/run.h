/* Running an extraction model: one training step (forward + backward of
 * encoder and head), batched prediction with spans mapped back to the text,
 * and exact-match precision / recall / F1 (overall and per predicate or
 * entity type; triples compare (subject, predicate, object) strings as
 * bert4keras's evaluate(), entities compare (start, end, type)). */
#ifndef B4K_IE_RUN_H
#define B4K_IE_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/rng.h"
#include "ie/data.h"
#include "ie/model.h"
#include "ie/task.h"
#include "nn/bert.h"

typedef struct b4k_pool b4k_pool;

typedef struct b4k_ie_runner {
    int Bcap, Tcap;
    b4k_bert_act act;
    b4k_spo_ws sws;
    b4k_ner_ws nws;
    b4k_ie_batch batch;
    b4k_pool *pool;      /* borrowed, may be NULL */
    int32_t *path;       /* (Tcap) */
} b4k_ie_runner;

/* keep = 1 for training (stores every layer's activations).  The encoder
 * runs in bf16 when m->bf16 is set (at init: change it before). */
int b4k_ie_runner_init(b4k_ie_runner *r, b4k_err *err, const b4k_ie_model *m, int Bcap,
                       int Tcap, int keep, b4k_pool *pool);
void b4k_ie_runner_free(b4k_ie_runner *r);

/* Forward + backward over examples idx[0..B) (gradients accumulated into
 * m->tab.g; for accumulation over k steps give AdamW grad_scale 1/k).
 * rng drives dropout and the subject sampling. */
int b4k_ie_train_step(b4k_ie_model *m, b4k_ie_runner *r, b4k_err *err, const b4k_ie_exset *s,
                      const int32_t *idx, int B, b4k_rng *rng, double *loss);

/* Predict examples idx[0..n) of s (documents in d), writing into pred[k]
 * (a b4k_ie_doc per example with trip or ent filled and text NULL). */
int b4k_ie_predict(const b4k_ie_model *m, b4k_ie_runner *r, b4k_err *err, const b4k_ie_exset *s,
                   const b4k_ie_data *d, const int32_t *idx, size_t n, b4k_ie_doc *pred);
void b4k_ie_pred_free(b4k_ie_doc *pred, size_t n);

typedef struct b4k_ie_metrics {
    int K;               /* classes */
    long *tp, *np, *ng;  /* (K+1): per class, then overall at [K] */
} b4k_ie_metrics;

int b4k_ie_metrics_init(b4k_ie_metrics *mt, int K);
void b4k_ie_metrics_free(b4k_ie_metrics *mt);
/* Compare one gold document with its prediction. */
int b4k_ie_metrics_add(b4k_ie_metrics *mt, int task, const b4k_ie_doc *gold, const b4k_ie_doc *pred);
/* P, R, F1 of class k (k = K: overall). */
void b4k_ie_metrics_prf(const b4k_ie_metrics *mt, int k, double *p, double *r, double *f);

/* Append the output member of one prediction: "spo_list":[{"subject",
 * "predicate","object","subject_offset","object_offset"}] or
 * "entities":[{"type","text","start","end"}] (d: the document's text). */
void b4k_ie_put_result(b4k_buf *b, const b4k_ie_model *m, const b4k_ie_doc *d,
                       const b4k_ie_doc *p);

#endif
