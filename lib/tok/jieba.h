/* A jieba segmenter matching jieba 0.42's precise mode (cut_all=False) with
 * or without the HMM:
 *   - the text is split into blocks by jieba's regexes: runs of
 *     [\u4E00-\u9FD5a-zA-Z0-9+#&._%-] are cut with the dictionary, the rest
 *     is cut at "\r\n" and each Python \s character, one character a word;
 *   - in a block: the prefix dictionary DAG, the max-probability route over
 *     log frequencies (ties to the longer word, as Python's max over
 *     (score, end) tuples), and runs of single characters that are not a
 *     dictionary word go to the HMM (BMES Viterbi, finalseg);
 *   - a user dictionary in jieba's format (word [freq] [tag]) as
 *     jieba.load_userdict, with suggest_freq for missing frequencies.
 *
 * The data (dictionary and HMM parameters) come either from jieba's own
 * files (dict.txt and finalseg/prob_*.py, parsed in C) or from the b4k
 * data file that tools/jieba-data.c writes ("B4KJIEBA" format version 2,
 * see jieba_data.c): a trie laid out to be used in place, so loading it is
 * an mmap plus checks, with nothing built.  The same bytes can be loaded
 * from memory, so a converted model can embed them.  A b4k_jieba is
 * read-only once loaded (add user dictionaries before sharing it between
 * threads; adding a word to a loaded data file copies its arrays). */
#ifndef B4K_TOK_JIEBA_H
#define B4K_TOK_JIEBA_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

typedef struct b4k_jieba b4k_jieba;
typedef struct b4k_jieba_state b4k_jieba_state;

/* Where Debian's python3-jieba keeps its data. */
#define B4K_JIEBA_DEBIAN_DIR "/usr/lib/python3/dist-packages/jieba"

/* The b4k data file (plain: mmap'd and used in place; or zstd-compressed),
 * or the same bytes in memory (copied).  Version 1 files are refused with a
 * message saying how to regenerate them. */
int b4k_jieba_load(b4k_jieba **out, const char *path, b4k_err *err);
int b4k_jieba_load_mem(b4k_jieba **out, const void *data, size_t n, const char *name,
                       b4k_err *err);
/* jieba's own files: dir/dict.txt and dir/finalseg/prob_{start,trans,emit}.py. */
int b4k_jieba_load_dir(b4k_jieba **out, const char *dir, b4k_err *err);
/* The same files held in memory: dict.txt, then prob_start.py, prob_trans.py
 * and prob_emit.py (prob[0..2], prob_n[0..2]; NULL with length 0 is an empty
 * file).  Messages name "NAME/dict.txt" and "NAME/finalseg/prob_*.py". */
int b4k_jieba_load_text_mem(b4k_jieba **out, const void *dict, size_t dict_n,
                            const void *const prob[3], const size_t prob_n[3], const char *name,
                            b4k_err *err);
void b4k_jieba_free(b4k_jieba *j); /* NULL ok */

/* Serialise to the b4k data format (appended to out). */
int b4k_jieba_save(const b4k_jieba *j, b4k_buf *out, b4k_err *err);
/* The checksum a data file ends with (over every byte before it). */
uint64_t b4k_jieba_data_checksum(const void *data, size_t n);

/* Add a user dictionary (jieba.load_userdict).  Not thread-safe. */
int b4k_jieba_load_userdict(b4k_jieba *j, const char *path, b4k_err *err);
int b4k_jieba_load_userdict_mem(b4k_jieba *j, const void *data, size_t n, const char *name,
                                b4k_err *err);
int b4k_jieba_add_word(b4k_jieba *j, const char *word, size_t len, int64_t freq /* -1: suggest */,
                       b4k_err *err);

size_t b4k_jieba_n_words(const b4k_jieba *j);
uint64_t b4k_jieba_total(const b4k_jieba *j);
/* Frequency of a word (0 when absent or only a prefix). */
uint64_t b4k_jieba_freq(const b4k_jieba *j, const char *word, size_t len);

/* Words as byte spans [beg,end) of the input. */
typedef struct b4k_jieba_words {
    uint32_t *beg, *end; /* (n) */
    size_t n, cap;
} b4k_jieba_words;
void b4k_jieba_words_init(b4k_jieba_words *w);
void b4k_jieba_words_free(b4k_jieba_words *w);

b4k_jieba_state *b4k_jieba_state_new(void);
void b4k_jieba_state_free(b4k_jieba_state *st);

/* Cut text (valid UTF-8; an invalid byte is taken as one character) as
 * jieba.cut(text, cut_all=False, HMM=hmm).  Appends to out. */
int b4k_jieba_cut(const b4k_jieba *j, b4k_jieba_state *st, const char *text, size_t n,
                  int hmm, b4k_jieba_words *out, b4k_err *err);

#endif
