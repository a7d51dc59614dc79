/* Internal to lib/w2v: the training threads' state, the trainer, and how
 * the work is cut, handed out and checkpointed (work.c).  train.c runs the
 * threads. */
#ifndef B4K_W2V_TRAINER_H
#define B4K_W2V_TRAINER_H

#include <pthread.h>
#include <stdint.h>

#include "core/rng.h"
#include "w2v/alias.h"
#include "w2v/encode.h"
#include "w2v/train.h"

#define EOS B4K_W2V_EOS
#define STATE_HEAD 6
#define STATE_VERSION 3
#define STATE_PER_THREAD 14    /* version 3 */
#define STATE_PER_THREAD_V2 12 /* versions 1 and 2 */
/* ids per chunk of work that a thread takes at a time (fewer on small
 * corpora: at least 8 chunks per thread) */
#define CHUNK_IDS 65536

typedef struct tstate {
    b4k_rng rng;
    int64_t epoch, pos, word_count, last_word_count;
    int64_t region, j, end; /* the chunk in hand: region, number there, end id */
    float alpha;
    double loss;
    int64_t nloss;
    /* published at each sync point (for checkpoints) */
    pthread_mutex_t mu;
    int64_t pub[STATE_PER_THREAD_V2];
    /* scratch */
    uint32_t *sen;
    float **C, **T, *lab, *scratch;
    /* CBOW with shared negatives: the pending centres' contexts (CB[b],
     * mb[b] rows), words (wp) and output rows (P); the draw (wn, N) */
    float ***CB, **P, **N;
    int *mb;
    uint32_t *wp, *wn;
} tstate;

typedef struct trainer {
    const b4k_w2v_train_opts *o;
    const b4k_w2v_config *cfg;
    b4k_w2v *m;
    const uint32_t *ids;
    int64_t nids, train_words, total;
    int64_t done; /* atomic */
    float *keep;
    b4k_w2v_alias *alias;
    uint8_t *codes, *lens;
    int32_t *points;
    tstate **ts;
    int nthreads;
    /* The work (work.c): the ids are cut into one region per thread,
     * of equal expected work, and each region into chunks: region r holds
     * chunks [rlo[r], rlo[r+1]), chunk c ids [cb[c], cb[c+1]).  Region r's
     * chunk c of epoch e is its number j = e * len + c - rlo[r].  Thread r
     * takes region r's numbers from the front; when they are gone it takes
     * from the back of the region with the most left (if steal).  So the
     * threads train far-apart parts of the corpus, as with fixed ranges,
     * and none waits at the end for one that the host ran slower.  front
     * and back are under mu, as is every hand-over (b4k_w2v_work_take). */
    int64_t *cb, *rlo, *front, *back;
    int version, steal;
    pthread_mutex_t mu;
    int stop; /* atomic */
    int ck_rc;
    b4k_err ck_err;
    int ckpts;
    int64_t next_ck;
    double t0;
    b4k_w2v_train_stats *st;
} trainer;

/* Publish a thread's place for checkpoints (under its mutex). */
void b4k_w2v_work_publish(tstate *s);
/* The checkpoint state of the run (n values); NULL when out of memory. */
int64_t *b4k_w2v_work_pack(trainer *t, size_t *n);
/* The next chunk of work for thread tid; 0 when there is none left. */
int b4k_w2v_work_take(trainer *t, tstate *s, int tid);
/* Cut the work (version: a checkpoint's state version, 0 for a new run). */
int b4k_w2v_work_split(trainer *t, int version);
/* Thread tid's place from a checkpoint's values p: 0, or -1 if it does not fit. */
int b4k_w2v_work_restore(trainer *t, tstate *s, int tid, const int64_t *p);
/* After restoring every thread: 1 if no chunk is in two places. */
int b4k_w2v_work_restored_ok(const trainer *t);

#endif
