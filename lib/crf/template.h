/* CRF++-compatible feature templates.
 *
 *   # comment
 *   U01:%x[-1,0]/%x[0,0]     unigram: attribute "U01:<w-1>/<w0>" at each position
 *   U05:%x[0,1]
 *   B                        bigram: label-transition features (L x L)
 *
 * %x[row,col] is the cell at relative row `row` and column `col` of the
 * current position; rows outside the sequence read "_B-1", "_B-2", ...
 * before it and "_B+1", "_B+2", ... after it, as CRF++ does.  Every other
 * character is copied.  Bigram lines with %x macros (label transitions
 * conditioned on observations) are rejected as unsupported. */
#ifndef B4K_CRF_TEMPLATE_H
#define B4K_CRF_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

typedef struct b4k_crf_tpl_part {
    int macro;        /* 1: %x[row,col]; 0: literal text */
    int row, col;
    const char *lit;  /* into the template's copy of its text */
    size_t litlen;
    uint64_t lh, lp;  /* literal: its raw hash and K^litlen (crf/dict.h) */
} b4k_crf_tpl_part;

typedef struct b4k_crf_tpl_line {
    b4k_crf_tpl_part *parts;
    int nparts;
    long line;        /* line in the template source */
} b4k_crf_tpl_line;

typedef struct b4k_crf_tpl {
    char *text;       /* the source text, unmodified (NUL-terminated) */
    size_t len;
    char *work;       /* parsed copy that the parts point into */
    b4k_crf_tpl_line *u;  /* unigram templates */
    int nu;
    int bigram;       /* a "B" line was present */
    int maxcol;       /* largest column referenced, -1 if none */
} b4k_crf_tpl;

/* Parse template text; name is used in error messages (file:line). */
int b4k_crf_tpl_parse(b4k_crf_tpl *tpl, const char *text, size_t len, const char *name,
                      b4k_err *err);
void b4k_crf_tpl_free(b4k_crf_tpl *tpl);

/* Append the attribute of unigram template k at position t of a sequence with
 * T positions and ncol columns, cells (T*ncol) with lengths clen, to out.
 * The caller checks tpl->maxcol < ncol first. */
int b4k_crf_tpl_expand(const b4k_crf_tpl *tpl, int k, const char *const *cells,
                       const uint32_t *clen, size_t T, int ncol, size_t t, b4k_buf *out);

/* Built-in templates by name ("chunking", "cws", "ner"); NULL if unknown.
 * The same texts are shipped as data/crf/<name>.tpl. */
const char *b4k_crf_tpl_builtin(const char *name);
/* Names of the built-ins, NULL-terminated. */
const char *const *b4k_crf_tpl_builtin_names(void);

#endif
