/* Fuzz target: jieba's own text files, parsed from memory -- dict.txt
 * (b4k_jieba_load_text_mem), the HMM's prob_start/trans/emit.py, and a user
 * dictionary (b4k_jieba_load_userdict_mem).
 *
 * The input is up to five parts separated by the line "@@":
 *   dict.txt @@ prob_start.py @@ prob_trans.py @@ prob_emit.py @@ user dict
 * A missing part takes a small valid default (fuzz_jieba_common.h): the
 * fuzzed dict is loaded with the default HMM files, the default dict with
 * the fuzzed HMM files and then the fuzzed user dict (an input of one part
 * is also tried as a user dict).  Whatever loads must cut texts (the words
 * tile the text, in order) and save to the b4k data format and load back
 * cutting every text the same way. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "fuzz_jieba_common.h"
#include "tok/jieba.h"

static const char *const TEXTS[] = {
    "\xE4\xBD\xA0\xE5\xA5\xBD\xE4\xB8\x96\xE7\x95\x8C",
    "\xE4\xB8\x96\xE7\x95\x8C\xE4\xBD\xA0 hello 12.5% \xE4\xBD\xA0\r\n\xE5\xA5\xBD",
    "\xff\xE4\xBD\xE4\xBD\xA0",
    "",
};
enum { NTEXT = 4 };

/* cut every text (and the input itself, capped) with and without the HMM;
 * fills sig with the word boundaries when given */
static void cut_all(const b4k_jieba *j, b4k_jieba_state *st, const uint8_t *in, size_t in_n,
                    b4k_buf *sig)
{
    b4k_jieba_words w;
    b4k_jieba_words_init(&w);
    b4k_err e;
    for (int k = 0; k <= NTEXT; k++) {
        const char *t = k < NTEXT ? TEXTS[k] : (const char *)in;
        size_t n = k < NTEXT ? strlen(t) : (in_n < 512 ? in_n : 512);
        for (int hmm = 0; hmm < 2; hmm++) {
            w.n = 0;
            if (b4k_jieba_cut(j, st, t, n, hmm, &w, &e)) continue;
            /* the words tile the text */
            uint32_t at = 0;
            for (size_t i = 0; i < w.n; i++) {
                if (w.beg[i] != at || w.end[i] <= w.beg[i] || w.end[i] > n) __builtin_trap();
                at = w.end[i];
            }
            if (at != n) __builtin_trap();
            if (sig) {
                b4k_buf_append(sig, w.end, w.n * sizeof *w.end);
                b4k_buf_putc(sig, '|');
            }
        }
    }
    b4k_jieba_words_free(&w);
}

/* cut; save -> load must give the same segmenter; then add the user dict
 * (when given) and cut again */
static void exercise(b4k_jieba *j, b4k_jieba_state *st, const uint8_t *in, size_t in_n,
                     const uint8_t *user, size_t user_n)
{
    b4k_err e;
    b4k_buf sig1, sig2, saved;
    b4k_buf_init(&sig1);
    b4k_buf_init(&sig2);
    b4k_buf_init(&saved);
    cut_all(j, st, in, in_n, &sig1);
    if (b4k_jieba_save(j, &saved, &e)) __builtin_trap();
    b4k_jieba *j2 = NULL;
    if (b4k_jieba_load_mem(&j2, saved.data, saved.len, "saved", &e)) __builtin_trap();
    if (b4k_jieba_n_words(j2) != b4k_jieba_n_words(j) || b4k_jieba_total(j2) != b4k_jieba_total(j))
        __builtin_trap();
    cut_all(j2, st, in, in_n, &sig2);
    if (sig1.len != sig2.len || (sig1.len && memcmp(sig1.data, sig2.data, sig1.len)))
        __builtin_trap();
    b4k_jieba_free(j2);
    if (user && !b4k_jieba_load_userdict_mem(j, user, user_n, "user.txt", &e))
        cut_all(j, st, in, in_n, NULL);
    b4k_buf_free(&sig1);
    b4k_buf_free(&sig2);
    b4k_buf_free(&saved);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16) return 0;
    const uint8_t *part[5] = {0};
    size_t len[5] = {0};
    int np = 0;
    size_t at = 0;
    while (np < 5) { /* split at lines "@@" */
        const uint8_t *hit = size - at >= 4 ? memmem(data + at, size - at, "\n@@\n", 4) : NULL;
        part[np] = data + at;
        if (!hit || np == 4) {
            len[np++] = size - at;
            break;
        }
        len[np++] = (size_t)(hit - (data + at)) + 1; /* keep the line's '\n' */
        at = (size_t)(hit - data) + 4;
    }
    const void *dflt[3] = {FZ_START, FZ_TRANS, FZ_EMIT};
    const size_t dlen[3] = {sizeof FZ_START - 1, sizeof FZ_TRANS - 1, sizeof FZ_EMIT - 1};
    const void *pv[3];
    size_t pn[3];
    b4k_jieba *j = NULL;
    b4k_jieba_state *st = b4k_jieba_state_new();
    b4k_err e;
    if (!st) return 0;
    /* 1. the fuzzed dict.txt with the default HMM files */
    if (!b4k_jieba_load_text_mem(&j, part[0], len[0], dflt, dlen, "fuzz", &e)) {
        exercise(j, st, data, size, NULL, 0);
        b4k_jieba_free(j);
    }
    /* 2. the default dict with the fuzzed HMM files (missing ones default),
     *    then the fuzzed user dict; a one-part input is also tried as a
     *    user dict */
    for (int w = 0; w < 3; w++) {
        pv[w] = w + 1 < np ? part[w + 1] : dflt[w];
        pn[w] = w + 1 < np ? len[w + 1] : dlen[w];
    }
    j = NULL;
    if (!b4k_jieba_load_text_mem(&j, FZ_DICT, sizeof FZ_DICT - 1, pv, pn, "fuzz", &e)) {
        if (np > 4) exercise(j, st, data, size, part[4], len[4]);
        else if (np > 1) exercise(j, st, data, size, NULL, 0);
        else if (!b4k_jieba_load_userdict_mem(j, data, size, "user.txt", &e))
            cut_all(j, st, data, size, NULL);
        b4k_jieba_free(j);
    } else if (np == 1) {
        __builtin_trap(); /* the defaults always load */
    }
    b4k_jieba_state_free(st);
    return 0;
}
