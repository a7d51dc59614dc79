/* Glue between tok.c's kind dispatch and the SentencePiece and CPM
 * tokenizers (kinds spm and cpm).  impl is a b4k_spm or a b4k_cpm.
 *
 * Encoding adds no special tokens (as sp.encode and CPM-Generate), so ids
 * equal the reference's; a pair is a then b (segments 0 and 1).  Offsets are
 * code points of the input text.  With enc->sample, subword sampling is
 * seeded by enc->seed. */
#ifndef B4K_TOK_SPM_TOK_H
#define B4K_TOK_SPM_TOK_H

#include <stddef.h>
#include <stdint.h>

#include "tok/tok.h"

/* opts->model (or opts->model_data): the .model; cpm: opts->user_dict
 * optional, the jieba data from opts->jieba (b4k data file or jieba's own
 * folder), else opts->jieba_data, else the first existing
 * opts->jieba_search path, else Debian's python3-jieba folder. */
int b4k_tok_spm_load(void **impl, const b4k_tok_opts *opts, b4k_err *err);
void b4k_tok_spm_free(void *impl, int cpm);
size_t b4k_tok_spm_size(const void *impl, int cpm);
const char *b4k_tok_spm_piece(const void *impl, int cpm, int32_t id, size_t *len);
int32_t b4k_tok_spm_id(const void *impl, int cpm, const char *piece, size_t len);
/* which: 0 unk, 1 bos, 2 eos, 3 pad */
int32_t b4k_tok_spm_special(const void *impl, int cpm, int which);
int b4k_tok_spm_encode(const void *impl, int cpm, const char *a, size_t a_len, const char *b,
                       size_t b_len, const b4k_tok_enc *enc, b4k_tok_out *out, b4k_err *err);
/* The nbest best segmentations of a (unigram models): outs[0..*got). */
int b4k_tok_spm_nbest(const void *impl, int cpm, const char *a, size_t a_len, int nbest,
                      b4k_tok_out *outs, float *scores, int *got, b4k_err *err);
/* skip_special has no effect: control pieces never decode to text. */
int b4k_tok_spm_decode(const void *impl, int cpm, const int32_t *ids, size_t n, b4k_buf *out,
                       b4k_err *err);

/* Open the jieba data: path = a b4k data file or a jieba folder (with
 * dict.txt); NULL = B4K_JIEBA_DEBIAN_DIR. */
struct b4k_jieba;
int b4k_tok_jieba_open(struct b4k_jieba **out, const char *path, b4k_err *err);

#endif
