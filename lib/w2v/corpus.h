/* Corpus scanning for word2vec: whitespace-tokenised text, or JSON lines
 * with a "tokens" array of strings (what b4k-tokenize writes), plain or .zst,
 * "-" = stdin.  Each line (record) is a sentence.  With chars, every CJK
 * character becomes a token of its own (runs of other characters stay
 * whole).  With pieces, the tokens are SentencePiece pieces and a word is
 * a run of them from one that starts with U+2581 (the ▁ word-start mark,
 * dropped) to the next: b4k-tokenize --kind cpm --tokens gives jieba words
 * this way (words made only of CPM's space and newline marks U+2582 and
 * U+2583 are dropped).  Tokens longer than max_token bytes are cut at a UTF-8 boundary
 * and counted in stats->truncated. */
#ifndef B4K_W2V_CORPUS_H
#define B4K_W2V_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct b4k_w2v_scan_opts {
    int chars;          /* CJK characters as tokens */
    int jsonl;          /* -1 detect per file (first non-blank byte '{'), 0 text, 1 JSONL */
    size_t max_token;   /* bytes; 0 = 100 */
    size_t max_line;    /* bytes; 0 = the stream default (64 MiB) */
    int pieces;         /* join SentencePiece pieces into words */
} b4k_w2v_scan_opts;

typedef struct b4k_w2v_scan_stats {
    int64_t lines, tokens, truncated;
    size_t bytes_done, bytes_total; /* of the current file, for progress */
    int file;                       /* index of the current file */
    int par_threads;                /* threads of the first pass (w2v/encode.c) */
} b4k_w2v_scan_stats;

/* Called for each token (tok != NULL) and at the end of each non-empty
 * sentence (tok == NULL).  A non-zero return stops the scan with that code
 * (the callback fills err itself). */
typedef int (*b4k_w2v_token_fn)(void *ctx, const char *tok, size_t len);

int b4k_w2v_scan(const char *const *paths, int npaths, const b4k_w2v_scan_opts *o,
                 b4k_w2v_token_fn fn, void *ctx, b4k_w2v_scan_stats *st, b4k_err *err);

/* Bytes [off, off+len) of a plain file, which start and end at line starts,
 * in the mode o->jsonl (0 or 1, not -1): a piece of the parallel first pass
 * (w2v/encode.c).  Line numbers in errors count from the range's start. */
int b4k_w2v_scan_range(const char *path, size_t off, size_t len, const b4k_w2v_scan_opts *o,
                       b4k_w2v_token_fn fn, void *ctx, b4k_w2v_scan_stats *st, b4k_err *err);
/* The mode b4k_w2v_scan would read path in: o->jsonl if set, else 1 if the
 * first non-blank line (of the first 1000) starts with '{', 0 if not;
 * B4K_EFORMAT if those lines are all blank, or a stream error code. */
int b4k_w2v_scan_mode(const char *path, const b4k_w2v_scan_opts *o, b4k_err *err);

/* Scan one in-memory buffer (fuzzing, tests); name is used in errors. */
int b4k_w2v_scan_mem(const void *data, size_t n, const char *name, const b4k_w2v_scan_opts *o,
                     b4k_w2v_token_fn fn, void *ctx, b4k_w2v_scan_stats *st, b4k_err *err);

/* Is code point cp a CJK character (Han, kana, Hangul, CJK punctuation,
 * fullwidth forms)? */
int b4k_w2v_is_cjk(uint32_t cp);

#endif
