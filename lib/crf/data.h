/* Sequence readers for b4k-crf: one sequence (sentence) at a time.
 *
 *   conll   whitespace-separated columns, one token per line, blank line
 *           between sequences; the last column is the label when labelled
 *   seg     one sentence per line, words separated by spaces; every
 *           character becomes a token labelled B/M/E/S (unsegmented lines
 *           have no labels: tag mode only)
 *   jsonl   {"tokens":[...], "labels":[...]}: a token is a string or an
 *           array of column strings; labels optional
 *   spans   CLUENER JSON {"text":..., "label":{type:{entity:[[s,e],...]}}}:
 *           characters as tokens, B-type/I-type/O labels (offsets inclusive) */
#ifndef B4K_CRF_DATA_H
#define B4K_CRF_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

enum { B4K_CRF_CONLL = 0, B4K_CRF_SEG = 1, B4K_CRF_JSONL = 2, B4K_CRF_SPANS = 3 };

/* label handling */
enum {
    B4K_CRF_LAB_REQUIRED = 0, /* every token must carry a label */
    B4K_CRF_LAB_AUTO = 1      /* conll: ncol columns = none, ncol+1 = labelled */
};

typedef struct b4k_crf_seq {
    size_t T;
    int ncol;              /* feature columns */
    const char **cell;     /* (T*ncol) NUL-terminated */
    uint32_t *clen;        /* (T*ncol) */
    const char **label;    /* (T) gold labels, or NULL when unlabelled */
    uint32_t *llen;        /* (T) */
    long line;             /* line of the first token (record line for JSON) */
    long *tline;           /* (T) line of each token */
    /* storage */
    b4k_buf arena;
    size_t *coff, *loff;   /* offsets into arena while reading */
    const char **lstore;   /* storage behind label */
    size_t cap;
} b4k_crf_seq;

typedef struct b4k_crf_reader b4k_crf_reader;

/* Open path ("-" = stdin) in a format.  ncol: feature columns expected (0 =
 * take from the first conll line: all but the last column when labels are
 * required).  lab: B4K_CRF_LAB_*. */
int b4k_crf_reader_open(b4k_crf_reader **out, const char *path, int format, int ncol, int lab,
                        b4k_err *err);
/* Same over a memory buffer (fuzzing, tests). */
int b4k_crf_reader_open_mem(b4k_crf_reader **out, const void *data, size_t n, const char *name,
                            int format, int ncol, int lab, b4k_err *err);
void b4k_crf_reader_close(b4k_crf_reader *r);
/* Next sequence into seq (reused).  Returns 1, 0 at the end, or a negative
 * code with err set to file:line.  seg format: an empty line is returned as a
 * sequence with T = 0 (so tagging can echo it); other formats reject empty
 * sequences. */
int b4k_crf_reader_next(b4k_crf_reader *r, b4k_crf_seq *seq, b4k_err *err);
/* After b4k_crf_reader_next failed on a bad record: skip the rest of that
 * record (conll: up to the next blank line; the other formats have one
 * record per line, already consumed) so that reading can go on (tag
 * --keep-going).  Returns 0, or a negative code when the input itself failed
 * (I/O error, over-long line): then reading cannot go on. */
int b4k_crf_reader_skip(b4k_crf_reader *r, b4k_err *err);
int b4k_crf_reader_ncol(const b4k_crf_reader *r);
const char *b4k_crf_reader_name(const b4k_crf_reader *r);

void b4k_crf_seq_init(b4k_crf_seq *s);
void b4k_crf_seq_free(b4k_crf_seq *s);

/* Parse a format name ("conll", "seg", "jsonl", "spans"); -1 if unknown. */
int b4k_crf_format_from_name(const char *name);

#endif
