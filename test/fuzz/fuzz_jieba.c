/* Fuzz target: the b4k jieba data loader (b4k_jieba_load_mem, format
 * version 2: the trie used in place).  The input gets a valid checksum
 * appended unless it ends with the right one already, so the fuzzer reaches
 * the structure checks; then whatever loads cuts a few texts, with and
 * without the HMM, saves and loads back (the same cuts), and takes a user
 * word (which copies the arrays out of the image). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "tok/jieba.h"

/* cut a few texts with and without the HMM; the word ends go to sig */
static void cut_all(const b4k_jieba *j, b4k_jieba_state *st, b4k_buf *sig)
{
    static const char *texts[] = {"\xE4\xBD\xA0\xE5\xA5\xBD\xE4\xB8\x96\xE7\x95\x8C",
                                  "a b\r\nc 1.5% x", "\xff\xE4\xBD", "",
                                  "\xE4\xB8\x96\xE4\xBD\xA0\xE5\xA5\xBD\xE5\xA5\xBD\xE4\xB8\x96"};
    b4k_jieba_words w;
    b4k_err e;
    b4k_jieba_words_init(&w);
    for (int k = 0; k < 5; k++)
        for (int hmm = 0; hmm < 2; hmm++) {
            w.n = 0;
            if (b4k_jieba_cut(j, st, texts[k], strlen(texts[k]), hmm, &w, &e)) continue;
            if (sig) {
                b4k_buf_append(sig, w.end, w.n * sizeof *w.end);
                b4k_buf_putc(sig, '|');
            }
        }
    b4k_jieba_words_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size + 8);
    if (!buf) return 0;
    memcpy(buf, data, size);
    uint64_t h = b4k_jieba_data_checksum(data, size);
    memcpy(buf + size, &h, 8);
    b4k_jieba *j = NULL;
    b4k_err e;
    int rc = b4k_jieba_load_mem(&j, buf, size + 8, "fuzz", &e);
    if (rc) rc = b4k_jieba_load_mem(&j, data, size, "fuzz", &e);
    if (!rc) {
        b4k_jieba_state *st = b4k_jieba_state_new();
        b4k_buf sig1, sig2, saved;
        b4k_buf_init(&sig1);
        b4k_buf_init(&sig2);
        b4k_buf_init(&saved);
        cut_all(j, st, &sig1);
        b4k_jieba *k = NULL;
        if (b4k_jieba_save(j, &saved, &e) || b4k_jieba_load_mem(&k, saved.data, saved.len, "saved", &e))
            __builtin_trap(); /* what loads saves, and that loads */
        cut_all(k, st, &sig2);
        if (sig1.len != sig2.len || (sig1.len && memcmp(sig1.data, sig2.data, sig1.len)))
            __builtin_trap();
        b4k_jieba_free(k);
        if (!b4k_jieba_add_word(j, "\xE4\xBD\xA0\xE5\xA5\xBD", 6, -1, &e)) cut_all(j, st, NULL);
        b4k_buf_free(&sig1);
        b4k_buf_free(&sig2);
        b4k_buf_free(&saved);
        b4k_jieba_state_free(st);
        b4k_jieba_free(j);
    }
    free(buf);
    return 0;
}
