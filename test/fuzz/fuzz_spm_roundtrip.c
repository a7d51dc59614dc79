/* Fuzz target: the encode -> decode property.  With identity normalisation
 * and byte fallback (unigram, then BPE), decoding the ids of any text gives
 * the text back with runs of spaces squeezed, leading and trailing spaces
 * dropped and each invalid UTF-8 byte replaced by U+FFFD (U+2581 in the
 * input, which decodes to a space, is changed to U+2580 first).  Also: offsets
 * are monotonic and inside the text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "fuzz_spm_common.h"
#include "tok/spm.h"

/* each invalid byte -> U+FFFD (as the normaliser), spaces squeezed */
static void expected(const char *s, size_t n, b4k_buf *out)
{
    b4k_buf clean;
    b4k_buf_init(&clean);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int l = b4k_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (l < 0) {
            b4k_buf_append(&clean, "\xEF\xBF\xBD", 3);
            i++;
        } else {
            b4k_buf_append(&clean, s + i, (size_t)l);
            i += (size_t)l;
        }
    }
    int sp = 0;
    for (size_t i = 0; i < clean.len; i++) {
        if (clean.data[i] == ' ') {
            sp = 1;
            continue;
        }
        if (sp && out->len) b4k_buf_putc(out, ' ');
        sp = 0;
        b4k_buf_putc(out, clean.data[i]);
    }
    b4k_buf_free(&clean);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    /* a literal U+2581 decodes to a space: keep it out of the property */
    uint8_t text[4096];
    memcpy(text, data, size);
    for (size_t i = 0; i + 3 <= size; i++)
        if (text[i] == 0xE2 && text[i + 1] == 0x96 && text[i + 2] == 0x81) text[i + 2] = 0x80;
    data = text;
    for (int type = 1; type <= 2; type++) {
        b4k_buf mb, want, got;
        fz_model(&mb, type, NULL, 0);
        b4k_buf_init(&want);
        b4k_buf_init(&got);
        b4k_spm *m = NULL;
        b4k_err e;
        if (b4k_spm_load_mem(&m, mb.data, mb.len, "fuzz", &e)) __builtin_trap();
        b4k_spm_state *st = b4k_spm_state_new();
        b4k_spm_tokens t;
        b4k_spm_tokens_init(&t);
        if (b4k_spm_encode(m, st, (const char *)data, size, &t, &e)) __builtin_trap();
        for (size_t i = 0; i < t.n; i++) {
            if (t.beg[i] > t.end[i] || t.end[i] > size) __builtin_trap();
            if (i && t.beg[i] < t.beg[i - 1]) __builtin_trap();
        }
        if (b4k_spm_decode(m, t.id, t.n, &got, &e)) __builtin_trap();
        expected((const char *)data, size, &want);
        if (got.len != want.len || (want.len && memcmp(got.data, want.data, want.len))) __builtin_trap();
        b4k_spm_tokens_free(&t);
        b4k_spm_state_free(st);
        b4k_spm_free(m);
        b4k_buf_free(&mb);
        b4k_buf_free(&want);
        b4k_buf_free(&got);
    }
    return 0;
}
