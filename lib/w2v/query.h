/* Queries over a word2vec model: nearest neighbours and analogies by cosine,
 * in batches through BLAS (sgemm of the query block against the
 * unit-normalised vector matrix), and the analogy / word-similarity
 * evaluations (compute-accuracy's restriction to the N most frequent words,
 * per section and in total; Spearman on "w1 w2 score" files). */
#ifndef B4K_W2V_QUERY_H
#define B4K_W2V_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "w2v/w2v.h"

typedef struct b4k_w2v_index b4k_w2v_index;

/* Normalise the first `limit` rows of m (0 = all).  fold: also match words
 * ASCII-case-insensitively (the most frequent spelling wins), as
 * compute-accuracy's upper-casing does.  m must outlive the index. */
int b4k_w2v_index_new(b4k_w2v_index **out, const b4k_w2v *m, size_t limit, int fold,
                      b4k_err *err);
void b4k_w2v_index_free(b4k_w2v_index *ix);
size_t b4k_w2v_index_size(const b4k_w2v_index *ix);
int b4k_w2v_index_dim(const b4k_w2v_index *ix);
/* Row of a word (exact, then folded if enabled), or -1. */
int64_t b4k_w2v_index_find(const b4k_w2v_index *ix, const char *w, size_t n);
const char *b4k_w2v_index_word(const b4k_w2v_index *ix, int64_t row, size_t *n);
const float *b4k_w2v_index_unit(const b4k_w2v_index *ix, int64_t row);

enum { B4K_W2V_ADD = 0, B4K_W2V_MUL = 1 };

/* A batch of queries.  For nearest, q[i].a = -1, q[i].c = -1, q[i].b = the
 * word (or vec != NULL: a raw vector).  For analogies "a is to b as c is to
 * ?", all three are set.  Excluded from the answers: the query words. */
typedef struct b4k_w2v_query {
    int64_t a, b, c;
    int k;
    /* results: k entries (fewer if the index is small) */
    int64_t *ids;
    float *scores;
    int found;
} b4k_w2v_query;

/* Answer nq queries (any nq; blocked internally).  method: ADD (3CosAdd;
 * cosine for nearest) or MUL (3CosMul, Levy & Goldberg, eps 1e-3). */
int b4k_w2v_answer(const b4k_w2v_index *ix, b4k_w2v_query *q, size_t nq, int method,
                   b4k_err *err);

/* Evaluation: reads files, appends a JSON object to report. */
typedef struct b4k_w2v_eval_opts {
    const char *analogy;      /* questions-words.txt format, or NULL */
    const char *const *sim;   /* word-similarity files */
    int nsim;
    size_t restrict_n;        /* analogy vocabulary (0 = all); default 30000 in the CLI */
    int method;
    int fold;
} b4k_w2v_eval_opts;

int b4k_w2v_eval(const b4k_w2v *m, const b4k_w2v_eval_opts *o, b4k_buf *report, b4k_err *err);

/* Spearman rank correlation (average ranks for ties); NAN if undefined. */
double b4k_w2v_spearman(const double *x, const double *y, size_t n);

#endif
