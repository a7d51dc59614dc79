/* Fuzz target: the b4k jieba data loader (b4k_jieba_load_mem).  The input
 * gets a valid checksum appended unless it ends with the right one already,
 * so the fuzzer reaches the structure checks; then whatever loads cuts a
 * few texts, with and without the HMM. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tok/jieba.h"

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size + 8);
    if (!buf) return 0;
    memcpy(buf, data, size);
    uint64_t h = fnv(data, size);
    memcpy(buf + size, &h, 8);
    b4k_jieba *j = NULL;
    b4k_err e;
    int rc = b4k_jieba_load_mem(&j, buf, size + 8, "fuzz", &e);
    if (rc) rc = b4k_jieba_load_mem(&j, data, size, "fuzz", &e);
    if (!rc) {
        static const char *texts[] = {"\xE4\xBD\xA0\xE5\xA5\xBD\xE4\xB8\x96\xE7\x95\x8C", "a b\r\nc 1.5% x",
                                      "\xff\xE4\xBD", ""};
        b4k_jieba_state *st = b4k_jieba_state_new();
        b4k_jieba_words w;
        b4k_jieba_words_init(&w);
        for (int k = 0; k < 4; k++)
            for (int hmm = 0; hmm < 2; hmm++) {
                w.n = 0;
                b4k_jieba_cut(j, st, texts[k], strlen(texts[k]), hmm, &w, &e);
            }
        b4k_jieba_add_word(j, "\xE4\xBD\xA0\xE5\xA5\xBD", 6, -1, &e);
        b4k_jieba_words_free(&w);
        b4k_jieba_state_free(st);
        b4k_jieba_free(j);
    }
    free(buf);
    return 0;
}
