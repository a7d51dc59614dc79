/* Fuzz target: the CPM tokenizer (jieba -> ' '/'\n' to U+2582/U+2583 ->
 * join with spaces -> SentencePiece) on any text, with a small jieba
 * (fuzz_jieba_common.h) and hand-built SentencePiece models:
 *   - the later vocabulary ("\u2583" is a piece) with byte fallback, unigram
 *     and BPE: every text round-trips, decode(encode(x)) == x, once the
 *     characters that cannot (U+2581-U+2583, which decode to ' ', ' ' and
 *     '\n') are changed to U+2580 and each invalid UTF-8 byte is read as
 *     U+FFFD -- where the reference round-trips;
 *   - the first-release vocabulary (no "\u2583": a newline is an unknown
 *     piece mapped to id 3), no byte fallback: only no crash, valid ids.
 * For all: offsets are inside the text, in order, ids in range; subword
 * sampling and n-best sampling give valid ids too, and decoding the input
 * read as ids never crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/utf8.h"
#include "fuzz_jieba_common.h"
#include "fuzz_spm_common.h"
#include "tok/cpm.h"

static void model(b4k_buf *b, int type, int later)
{
    static const char *pcs[] = {"\xE2\x96\x81", "\xE2\x96\x82", "\xE4\xBD\xA0", "\xE5\xA5\xBD",
                                "\xE4\xBD\xA0\xE5\xA5\xBD", "\xE4\xB8\x96\xE7\x95\x8C",
                                "\xE2\x96\x81\xE4\xBD\xA0", "a", "b", "ab", "\xE2\x96\x81" "a",
                                "\xE2\x96\x82" "a"};
    b4k_buf_init(b);
    fz_piece(b, "<unk>", 0, 2);
    fz_piece(b, "<s>", 0, 3);
    fz_piece(b, "</s>", 0, 3);
    if (later) fz_piece(b, "\xE2\x96\x83", -1.0f, 1); /* id 3 */
    else fz_piece(b, "<eod>", 0, 3);
    for (int i = 0; i < 12; i++) fz_piece(b, pcs[i], -1.5f - (float)i / 4, 1);
    char name[8];
    for (int i = 0; later && i < 256; i++) {
        snprintf(name, sizeof name, "<0x%02X>", i);
        fz_piece(b, name, 0, 6);
    }
    b4k_buf ts, ns;
    b4k_buf_init(&ts);
    b4k_buf_init(&ns);
    fz_int(&ts, 3, (uint64_t)type);
    fz_int(&ts, 35, later ? 1 : 0);
    fz_bytes(b, 2, ts.data, ts.len);
    fz_int(&ns, 3, 1);
    fz_bytes(b, 3, ns.data, ns.len);
    b4k_buf_free(&ts);
    b4k_buf_free(&ns);
}

/* each invalid UTF-8 byte -> U+FFFD */
static void expected(const uint8_t *s, size_t n, b4k_buf *out)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int l = b4k_utf8_decode(s + i, n - i, &cp);
        if (l < 0) {
            b4k_buf_append(out, "\xEF\xBF\xBD", 3);
            i++;
        } else {
            b4k_buf_append(out, s + i, (size_t)l);
            i += (size_t)l;
        }
    }
}

static void check(const b4k_spm_tokens *t, size_t n, size_t V)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->id[i] < 0 || (size_t)t->id[i] >= V) __builtin_trap();
        if (t->beg[i] > t->end[i] || t->end[i] > n) __builtin_trap();
        if (i && t->beg[i] < t->beg[i - 1]) __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    uint8_t text[4096];
    memcpy(text, data, size);
    for (size_t i = 0; i + 3 <= size; i++)
        if (text[i] == 0xE2 && text[i + 1] == 0x96 && text[i + 2] >= 0x81 && text[i + 2] <= 0x83)
            text[i + 2] = 0x80;
    /* the three tokenizers are built once (read-only afterwards) */
    static b4k_cpm *cpm[3];
    static b4k_cpm_state *sts[3]; /* a state caches one jieba's trie: one each */
    if (!sts[2]) {
        for (int v = 0; v < 3; v++) {
            b4k_buf mb;
            b4k_spm *m = NULL;
            b4k_err e;
            model(&mb, v == 1 ? 2 : 1, v < 2);
            if (b4k_spm_load_mem(&m, mb.data, mb.len, "fuzz", &e)) __builtin_trap();
            if (b4k_cpm_new(&cpm[v], m, fz_jieba(), &e)) __builtin_trap();
            if (b4k_cpm_newline_mapped(cpm[v]) != (v == 2)) __builtin_trap();
            b4k_buf_free(&mb);
        }
        for (int v = 0; v < 3; v++)
            if (!(sts[v] = b4k_cpm_state_new())) __builtin_trap();
    }
    for (int v = 0; v < 3; v++) {
        int later = v < 2;
        b4k_cpm *c = cpm[v];
        b4k_cpm_state *st = sts[v];
        b4k_err e;
        size_t V = b4k_spm_size(b4k_cpm_spm(c));
        b4k_spm_tokens t;
        b4k_spm_tokens_init(&t);
        b4k_buf got, want;
        b4k_buf_init(&got);
        b4k_buf_init(&want);
        const char *x = (const char *)(later ? text : data);
        if (b4k_cpm_encode(c, st, x, size, 0, 0, NULL, &t, &e)) __builtin_trap();
        check(&t, size, V);
        if (b4k_cpm_decode(c, t.id, t.n, &got, &e)) __builtin_trap();
        if (later) {
            expected(text, size, &want);
            if (got.len != want.len || (want.len && memcmp(got.data, want.data, want.len)))
                __builtin_trap();
        }
        /* sampling (unigram lattice / BPE-dropout) and n-best sampling */
        b4k_rng rng;
        b4k_rng_seed(&rng, size, 7);
        for (int nb = 0; nb <= 3; nb += 3) {
            t.n = 0;
            if (b4k_cpm_encode(c, st, x, size, nb, 0.5, &rng, &t, &e)) __builtin_trap();
            check(&t, size, V);
            got.len = 0;
            if (b4k_cpm_decode(c, t.id, t.n, &got, &e)) __builtin_trap();
            if (later && (got.len != want.len || (want.len && memcmp(got.data, want.data, want.len))))
                __builtin_trap();
        }
        /* the input read as ids: decode never crashes */
        int32_t ids[64];
        size_t k = 0;
        for (; k < 64 && k < size; k++) ids[k] = (int32_t)(data[k] % (V + 2)) - 1;
        got.len = 0;
        b4k_cpm_decode(c, ids, k, &got, &e);
        b4k_spm_tokens_free(&t);
        b4k_buf_free(&got);
        b4k_buf_free(&want);
    }
    return 0;
}
