/* Sequence-labelling scores.
 *
 * Chunks: conlleval's chunk rules (CoNLL-2000 conlleval.pl), extended to
 * IOBES as in its common ports: a label "B-NP" has prefix B and type NP, a
 * label without '-' has an empty type; prefixes B, I, E, S, O, [ and ] are
 * recognised and M counts as I, so IOB1, IOB2, IOBES and BMES label sets
 * all score correctly.  A chunk is correct when both its boundaries and its
 * type match.  Token accuracy counts exact label matches.
 *
 * Words (SIGHAN): words are spans of characters delimited by B/S starts and
 * E/S ends; precision, recall and F1 over spans, and recall of words that
 * are out of the training vocabulary (OOV) when a word list is given. */
#ifndef B4K_CRF_EVAL_H
#define B4K_CRF_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "crf/dict.h"

typedef struct b4k_crf_eval {
    b4k_crf_dict types;  /* chunk types in order of appearance */
    size_t *cnt;         /* (3*ntypes) correct, guessed, gold */
    size_t cntcap;
    size_t correct, guessed, gold;
    size_t tok_ok, tok_n, nseq;
    /* words */
    size_t w_ok, w_pred, w_gold, oov_gold, oov_ok;
    int words;           /* word scores were added */
    int have_oov;
    b4k_buf scratch;
} b4k_crf_eval;

void b4k_crf_eval_init(b4k_crf_eval *e);
void b4k_crf_eval_free(b4k_crf_eval *e);

/* Add one sequence of gold and predicted labels (NUL-terminated strings). */
int b4k_crf_eval_chunks(b4k_crf_eval *e, const char *const *gold, const char *const *pred,
                        size_t T);
/* Add one segmented sentence: characters chars (T) and B/M/E/S labels.
 * known: training word list (NULL: no OOV figures). */
int b4k_crf_eval_words(b4k_crf_eval *e, const char *const *chars, const uint32_t *clen,
                       const char *const *gold, const char *const *pred, size_t T,
                       const b4k_crf_dict *known);

/* Overall chunk P/R/F1 in percent (0 when undefined). */
void b4k_crf_eval_prf(const b4k_crf_eval *e, double *p, double *r, double *f);

/* One JSON object: {"sentences","tokens","accuracy","chunks":{"precision",
 * "recall","f1","gold","guessed","correct"},"types":{T:{...}},"words":{...}} */
int b4k_crf_eval_json(const b4k_crf_eval *e, b4k_buf *out);
/* conlleval.pl's text report. */
int b4k_crf_eval_text(const b4k_crf_eval *e, b4k_buf *out);

#endif
