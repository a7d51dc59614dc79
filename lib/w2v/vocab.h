/* word2vec vocabulary: a string -> id hash with counts.
 *
 * Counting happens in first-seen id order (ids stay stable while counting,
 * so a single corpus pass can spool provisional ids); b4k_w2v_vocab_finalize
 * then sorts by count (descending, ties by bytes), applies --min-count and
 * --max-vocab and returns the old->new id map.  When the number of distinct
 * words exceeds prune_limit during counting, rare words are pruned as
 * word2vec.c's ReduceVocab does (their slots stay, marked dead). */
#ifndef B4K_W2V_VOCAB_H
#define B4K_W2V_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct b4k_w2v_vocab b4k_w2v_vocab;

b4k_w2v_vocab *b4k_w2v_vocab_new(void);
void b4k_w2v_vocab_free(b4k_w2v_vocab *v);

/* Number of ids (live words after finalize; live + dead slots before). */
size_t b4k_w2v_vocab_size(const b4k_w2v_vocab *v);
/* Distinct live words. */
size_t b4k_w2v_vocab_live(const b4k_w2v_vocab *v);

/* Add count occurrences of w[0..n); returns the id (>= 0) or B4K_ENOMEM. */
int64_t b4k_w2v_vocab_add(b4k_w2v_vocab *v, const char *w, size_t n, int64_t count);
/* Id of w or -1. */
int64_t b4k_w2v_vocab_find(const b4k_w2v_vocab *v, const char *w, size_t n);
/* Word of id (NUL-terminated, borrowed); *n gets its length if n != NULL. */
const char *b4k_w2v_vocab_word(const b4k_w2v_vocab *v, size_t id, size_t *n);
int64_t b4k_w2v_vocab_count(const b4k_w2v_vocab *v, size_t id);
void b4k_w2v_vocab_set_count(b4k_w2v_vocab *v, size_t id, int64_t c);
/* Sum of live counts. */
int64_t b4k_w2v_vocab_total(const b4k_w2v_vocab *v);

/* Prune words with count <= the current threshold (which then grows by one)
 * whenever more than limit words are live.  0 = never (default 20 M). */
void b4k_w2v_vocab_set_prune_limit(b4k_w2v_vocab *v, size_t limit);
/* Number of prune rounds done so far. */
int b4k_w2v_vocab_pruned(const b4k_w2v_vocab *v);
/* Exchange the contents of a and b. */
void b4k_w2v_vocab_swap(b4k_w2v_vocab *a, b4k_w2v_vocab *b);

/* Sort, keep words with count >= min_count, then the max_vocab most frequent
 * (0 = all).  If map != NULL, *map gets a malloc'd array of size
 * b4k_w2v_vocab_size() before the call, old id -> new id or -1. */
int b4k_w2v_vocab_finalize(b4k_w2v_vocab *v, int64_t min_count, size_t max_vocab,
                           int32_t **map, b4k_err *err);

#endif
