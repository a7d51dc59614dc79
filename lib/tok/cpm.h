/* The CPM-LM tokenizer (TsinghuaAI CPM-Generate's tokenization_gpt2.py):
 *   encode: jieba.cut(text) -> each word with ' ' -> U+2582 and '\n' ->
 *           U+2583 -> words joined by ' ' -> SentencePiece encode;
 *   decode: SentencePiece decode -> drop every ' ' -> U+2582 -> ' ',
 *           U+2583 -> '\n'.
 * Both vocabularies work: the later one has "\u2583" as a piece (id 3); the
 * first release has none, and an unknown piece whose text is exactly
 * "\u2583" becomes id 3, as bert4keras's token_translate does (and id 3
 * decodes to a newline). */
#ifndef B4K_TOK_CPM_H
#define B4K_TOK_CPM_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/rng.h"
#include "tok/jieba.h"
#include "tok/spm.h"

typedef struct b4k_cpm b4k_cpm;
typedef struct b4k_cpm_state b4k_cpm_state;

/* Takes ownership of spm and jb (also on failure). */
int b4k_cpm_new(b4k_cpm **out, b4k_spm *spm, b4k_jieba *jb, b4k_err *err);
void b4k_cpm_free(b4k_cpm *c); /* NULL ok */
const b4k_spm *b4k_cpm_spm(const b4k_cpm *c);
const b4k_jieba *b4k_cpm_jieba(const b4k_cpm *c);
/* 1 when the vocabulary has no "\u2583" piece (first release). */
int b4k_cpm_newline_mapped(const b4k_cpm *c);

b4k_cpm_state *b4k_cpm_state_new(void);
void b4k_cpm_state_free(b4k_cpm_state *st);

/* The text handed to SentencePiece (jieba words translated and joined);
 * valid until the next call with st. */
int b4k_cpm_pretokenize(const b4k_cpm *c, b4k_cpm_state *st, const char *text, size_t n,
                        const char **joined, size_t *joined_len, b4k_err *err);

/* Encode: ids with byte offsets into text.  With rng != NULL, sample
 * (see b4k_spm_sample; nbest, alpha). */
int b4k_cpm_encode(const b4k_cpm *c, b4k_cpm_state *st, const char *text, size_t n,
                   int nbest, double alpha, b4k_rng *rng, b4k_spm_tokens *out, b4k_err *err);

/* After SentencePiece ran on the pretokenized text: tokens out[first..]
 * get the newline mapping and offsets into the original text. */
void b4k_cpm_finish(const b4k_cpm *c, const b4k_cpm_state *st, b4k_spm_tokens *out, size_t first);

int b4k_cpm_decode(const b4k_cpm *c, const int32_t *ids, size_t n, b4k_buf *out, b4k_err *err);

#endif
