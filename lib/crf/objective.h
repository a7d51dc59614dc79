/* The CRF training objective (negative log-likelihood + L2) and its
 * gradient over a corpus, computed with a fixed partition of the sequences
 * into one contiguous range per thread and the partial gradients summed in
 * thread order (deterministic for a given thread count); held-out scoring.
 * Internal to lib/crf (train.c, ckpt.c). */
#ifndef B4K_CRF_OBJECTIVE_H
#define B4K_CRF_OBJECTIVE_H

#include "core/threads.h"
#include "crf/crf1d.h"
#include "crf/train.h"

typedef struct b4k_crf_worker {
    b4k_crf1d_ws *ws;
    double *emit, *marg; /* (maxT, L) */
    double *g;           /* (nx) partial gradient */
    double loss;
    int rc;
} b4k_crf_worker;

typedef struct b4k_crf_obj {
    const b4k_crf_model *m;
    const b4k_crf_corpus *c;
    const double *x;
    double *g;
    b4k_crf1d_tr tr;
    b4k_crf_worker *w;   /* (nthreads) */
    int nthreads;
    b4k_pool *pool;
} b4k_crf_obj;

/* threads are capped at the number of sequences; 0 or B4K_ENOMEM */
int b4k_crf_obj_init(b4k_crf_obj *o, const b4k_crf_model *m, const b4k_crf_corpus *c, int threads);
void b4k_crf_obj_free(b4k_crf_obj *o);
/* f(x) and g = grad f(x), f = NLL + c2 |x|^2; *rc gets a crf1d failure */
double b4k_crf_obj_eval(b4k_crf_obj *o, const double *x, double *g, double c2, int *rc);

/* emissions (T, L) of sequence s of c with parameters x */
void b4k_crf_seq_emit(const b4k_crf_model *m, const b4k_crf_corpus *c, const double *x, size_t s,
                      double *emit);
/* transition tables from the parameter vector x (layout of model.h) */
void b4k_crf_set_tr(b4k_crf1d_tr *tr, const b4k_crf_model *m, const double *x);

#endif
