/* CRF training: corpus of attribute ids, feature generation (frequency
 * cut-off, observed or dense attribute x label pairs), and the trainers:
 * L-BFGS with L2, OWL-QN for L1 / elastic net, SGD with L2 (optionally
 * averaged), averaged perceptron, with checkpoints that resume exactly.  The objective and gradient are computed over sentences in
 * parallel: a fixed partition of the sentences into one contiguous range per
 * thread, per-thread partial gradients summed in thread order, so a given
 * --threads gives bit-identical results run after run. */
#ifndef B4K_CRF_TRAIN_H
#define B4K_CRF_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "crf/data.h"
#include "crf/model.h"

typedef struct b4k_crf_corpus {
    size_t nseq, ntok, na;
    size_t *seq_off;    /* (nseq+1) first token of each sequence */
    int32_t *y;         /* (ntok) gold label ids */
    size_t *tok_off;    /* (ntok+1) first attribute of each token */
    int32_t *aid;       /* (na) attribute ids */
    size_t cap_seq, cap_tok, cap_a;
    size_t maxT;
} b4k_crf_corpus;

void b4k_crf_corpus_init(b4k_crf_corpus *c);
void b4k_crf_corpus_free(b4k_crf_corpus *c);
/* Add a labelled sequence.  grow = 1 (training data): new attributes and
 * labels enter the model's dictionaries; grow = 0 (held-out data): unknown
 * attributes are skipped and an unknown label is an error at its line. */
int b4k_crf_corpus_add(b4k_crf_corpus *c, b4k_crf_model *m, const b4k_crf_seq *seq, int grow,
                       const char *file, b4k_buf *scratch, b4k_err *err);

/* After the training corpus is read: drop attributes seen fewer than
 * minfreq times (remapping c), number the attributes by decreasing
 * frequency, make the features and zero the parameters.  Features are the
 * (attribute, label) pairs seen in c, except that an attribute seen with at
 * least dense_min distinct labels gets all L labels (a dense row, summed with
 * vector instructions); dense_min = 0: never, 1: every attribute.
 * other: more corpora (held-out) to remap, may be NULL. */
int b4k_crf_features(b4k_crf_model *m, b4k_crf_corpus *c, b4k_crf_corpus *other, int minfreq,
                     int dense_min, b4k_err *err);

/* Copy the weights of old into m where attribute, label (and transition
 * labels) match: a warm start from another model.  Returns the number
 * copied. */
size_t b4k_crf_warm_start(b4k_crf_model *m, const b4k_crf_model *old);

enum { B4K_CRF_LBFGS = 0, B4K_CRF_SGD = 1, B4K_CRF_AP = 2 };

typedef struct b4k_crf_progress {
    int iter;           /* iteration (L-BFGS) or epoch */
    int start_iter;     /* iterations done before this run (resume) */
    int max_iter;       /* the run stops by then (0: no limit, L-BFGS) */
    double loss;        /* objective (AP: number of mistakes) */
    double xnorm, gnorm, step;
    int nevals;
    double seconds;
    int holdout;        /* 1 when the held-out score was computed now */
    double score;       /* held-out score (F1 or accuracy, percent) */
    int best;           /* this is the best held-out score so far */
} b4k_crf_progress;

typedef struct b4k_crf_train_opt {
    int algo;           /* B4K_CRF_* */
    double c1, c2;      /* L1 (OWL-QN) and L2 coefficients: c1|w|_1 + c2|w|^2 */
    int max_iter;       /* iterations / epochs (0 = L-BFGS until convergence) */
    double epsilon;     /* L-BFGS gradient test */
    int period;         /* delta test window */
    double delta;       /* delta test */
    int m;              /* L-BFGS history */
    int threads;
    double eta0;        /* SGD initial rate (0 = calibrate) */
    int averaging;      /* SGD: return the average of the weights after every
                           update from the first update of epoch 2 (epoch 1
                           with max_iter 1) on (averaged SGD) */
    uint64_t seed;      /* SGD / AP shuffling */
    const b4k_crf_corpus *holdout;
    int holdout_every;  /* evaluate every N iterations (default 1) */
    int holdout_acc;    /* score token accuracy instead of chunk F1 */
    int (*progress)(void *ctx, const b4k_crf_progress *p); /* non-zero stops */
    const char *checkpoint; /* write a checkpoint (crf/ckpt.h) here every */
    int checkpoint_every;   /* N iterations, and when max_iter is reached */
    const char *resume;     /* continue from this checkpoint (threads 0: the
                               checkpoint's thread count) */
    /* tests: called after every SGD update with the raw weights v (real
     * weights = scale * v) */
    void (*on_update)(void *ctx, const double *v, double scale, size_t n);
    void *ctx;
} b4k_crf_train_opt;

void b4k_crf_train_default(b4k_crf_train_opt *o);

typedef struct b4k_crf_train_result {
    int iters;
    double loss;
    int status;         /* lbfgs status, or 0 */
    double best_score;  /* held-out, -1 if none */
    int best_iter;
    int resumed_from;   /* iteration of the --resume checkpoint, or 0 */
    int threads;        /* threads used */
} b4k_crf_train_result;

int b4k_crf_train(b4k_crf_model *m, const b4k_crf_corpus *c, const b4k_crf_train_opt *o,
                  b4k_crf_train_result *res, b4k_err *err);

/* Objective (negative log-likelihood + c2|x|^2) and gradient over a corpus,
 * threads as in training: exposed for the gradient check. */
double b4k_crf_objective(const b4k_crf_model *m, const b4k_crf_corpus *c, const double *x,
                         double *g, double c2, int threads, int *rc);

/* Held-out score of the current model: chunk F1 (or accuracy), percent. */
int b4k_crf_score(const b4k_crf_model *m, const b4k_crf_corpus *c, int acc, double *score);

#endif
