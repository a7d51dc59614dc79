/* BERT WordPiece, with the semantics of HuggingFace's BertTokenizer
 * (BertNormalizer + BertPreTokenizer + WordPiece, as tokenizers 0.22 runs
 * them) and bert4keras's Tokenizer:
 *   clean-up     drop NUL, U+FFFD and Cc/Cf/Co/Cs (except \t \n \r); map
 *                White_Space to ' '
 *   CJK          every CJK ideograph (b4k_unicode_is_cjk) is its own word
 *   lower        NFD, drop Mn (strip_accents), then lower-case
 *   pre-split    on whitespace; each punctuation character (P* and the
 *                ASCII symbol ranges) is its own word
 *   wordpiece    greedy longest match first, "##" continuations; [UNK] for
 *                a word over 100 characters or with no match
 * Offsets are code points of the original text. */
#ifndef B4K_TOK_WORDPIECE_H
#define B4K_TOK_WORDPIECE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "tok/tok.h"

typedef struct b4k_wordpiece b4k_wordpiece;

#define B4K_WORDPIECE_MAX_WORD_CHARS 100

/* lower: -1 = auto (on when no vocabulary token outside [..] and <..> has
 * an upper-case letter), 0, 1.  strip_accents: -1 = same as lower. */
int b4k_wordpiece_load(b4k_wordpiece **out, const char *path, int lower, int strip_accents,
                       int tokenize_cjk, b4k_err *err);
/* Same from memory (the text of vocab.txt); name is used in messages. */
int b4k_wordpiece_load_mem(b4k_wordpiece **out, const char *text, size_t len, const char *name,
                           int lower, int strip_accents, int tokenize_cjk, b4k_err *err);
void b4k_wordpiece_free(b4k_wordpiece *wp);

size_t b4k_wordpiece_size(const b4k_wordpiece *wp);
const char *b4k_wordpiece_piece(const b4k_wordpiece *wp, int32_t id, size_t *len);
int32_t b4k_wordpiece_id(const b4k_wordpiece *wp, const char *s, size_t len);
int b4k_wordpiece_lower(const b4k_wordpiece *wp);
/* which: 0 unk, 1 cls, 2 sep, 3 pad, 4 mask; -1 when absent. */
int32_t b4k_wordpiece_special(const b4k_wordpiece *wp, int which);

int b4k_wordpiece_encode(const b4k_wordpiece *wp, const char *a, size_t a_len, const char *b,
                         size_t b_len, const b4k_tok_enc *enc, b4k_tok_out *out, b4k_err *err);
int b4k_wordpiece_decode(const b4k_wordpiece *wp, const int32_t *ids, size_t n,
                         int skip_special, b4k_buf *out, b4k_err *err);

/* Truncation lengths for a pair, as HF's LongestFirst: given the token
 * counts n1, n2 and the room left (max_len minus the special tokens),
 * the counts to keep. */
void b4k_tok_truncate_pair(size_t n1, size_t n2, size_t room, size_t *k1, size_t *k2);

#endif
