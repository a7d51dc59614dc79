/* The training corpus as word ids: one streaming pass builds the vocabulary
 * (or, resuming, only looks words up) and spools provisional ids to an
 * unlinked temporary file (4 bytes per token, so stdin works); the ids are
 * then renumbered in place to the final vocabulary order (dropped words
 * removed, B4K_W2V_EOS between sentences) and mmap'd for the training
 * passes.  Internal to lib/w2v. */
#ifndef B4K_W2V_ENCODE_H
#define B4K_W2V_ENCODE_H

#include "w2v/train.h"

#define B4K_W2V_EOS 0xFFFFFFFFu

/* On success *ids is a MAP_SHARED mapping of *map_bytes bytes holding *nids
 * entries, *train_words of them words.  fixed: v is final (resume). */
int b4k_w2v_encode(const char *const *paths, int npaths, const b4k_w2v_train_opts *o,
                   b4k_w2v_vocab *v, int fixed, uint32_t **ids, size_t *map_bytes,
                   int64_t *nids, int64_t *train_words, b4k_w2v_scan_stats *st, b4k_err *err);

#endif
