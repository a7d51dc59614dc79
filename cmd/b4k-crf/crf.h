/* b4k-crf's tag and eval commands and the tagging machinery they share
 * (cmd/b4k-crf.c has learn, dump and main). */
#ifndef B4K_CMD_CRF_H
#define B4K_CMD_CRF_H

#include "cli.h"
#include "core/buf.h"
#include "crf/crf1d.h"
#include "crf/data.h"
#include "crf/model.h"

enum {
    O_C1 = B4K_OPT_LONG, O_C2, O_EPS, O_DELTA, O_PERIOD, O_MINFREQ, O_DENSE, O_STARTEND, O_SEED,
    O_ETA, O_AVG, O_HOLDOUT, O_HEVERY, O_HMETRIC, O_CKPT, O_CKPT_EVERY, O_RESUME, O_PROGRESS,
    O_OFMT, O_MARG, O_CONSTR, O_WORDS, O_TEXT, O_METRIC, O_HIST, O_WARM, O_KEEP
};

/* a format name (conll, seg, jsonl, spans); usage error if unknown */
int crf_parse_format(const char *s);

/* Per-thread tagging workspace. */
typedef struct tagws {
    b4k_crf1d_ws *ws;
    b4k_buf scratch;
    int32_t *aid;
    size_t acap;
    size_t *aoff;
    double *emit, *mg;
    int32_t *path, *paths;
    double *scores;
    size_t cap;
    double score, logz;
    int found;
    int rc;       /* B4K_ERANGE: no path satisfies the constraints */
} tagws;

typedef struct tagger {
    b4k_crf_model m;
    b4k_crf1d_tr tr;
    int nbest, marg;
    tagws w;      /* the main thread's workspace */
} tagger;

void tagws_init(tagws *w, int L);
void tagws_free(tagws *w);
void tagger_open(tagger *tg, const char *path, const char *constraints, int nbest, int marg);
void tagger_close(tagger *tg);
/* Viterbi, and with --marginals / --nbest forward-backward and n-best, for
 * seq in workspace w (thread-safe: the model and tables are read-only).
 * Returns 0, B4K_ERANGE (constraints leave no path) or B4K_ENOMEM. */
int tagger_run(const tagger *tg, tagws *w, const b4k_crf_seq *seq);
/* tagger_run in the main thread, dying on failure */
void tagger_run_main(tagger *tg, const b4k_crf_seq *seq, const char *file);
/* 0, or B4K_EFORMAT with err set when seq has other columns than the model */
int check_cols(const tagger *tg, const b4k_crf_seq *seq, const char *file, b4k_err *err);

enum { OUT_CONLL, OUT_JSONL, OUT_SEG };
/* Format the result in w for seq into b. */
void tag_format(const tagger *tg, const tagws *w, const b4k_crf_seq *seq, int ofmt, b4k_buf *b);

int crf_cmd_tag(int argc, char **argv);
int crf_cmd_eval(int argc, char **argv);

#endif
