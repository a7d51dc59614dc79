/* Fuzz target: GPT-2 byte-level BPE on arbitrary bytes, with a small
 * byte-level vocabulary built here.  Decode must give back exactly the input
 * bytes (abort otherwise); offsets must be ordered and in range. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "tok/bpe.h"

static b4k_bpe *make(void)
{
    static const char *merges[] = {"h e", "l l", "he ll", "hell o", "\xc4\xa0 w", "o r",
                                   "\xc4\xa0w or", "l d", "\xc4\xa0wor ld", "' s", "\xc4\xa0 t",
                                   "\xc4\xa0t h", "\xc4\xa0th e", "\xc3\xa4 \xc2\xb8",
                                   "\xc4\x8a \xc4\x8a", "1 2"};
    b4k_buf e, m;
    b4k_buf_init(&e);
    b4k_buf_init(&m);
    b4k_buf_puts(&e, "{");
    int id = 0, extra = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        uint32_t cp = printable ? (uint32_t)b : (uint32_t)(256 + extra++);
        char u[3] = {0};
        if (cp < 0x80) u[0] = (char)cp;
        else {
            u[0] = (char)(0xC0 | (cp >> 6));
            u[1] = (char)(0x80 | (cp & 63));
        }
        b4k_buf_puts(&e, id ? "," : "");
        b4k_buf_put_json_str(&e, u, strlen(u));
        b4k_buf_printf(&e, ":%d", id++);
    }
    b4k_buf_puts(&m, "#version: 0.2\n");
    for (size_t i = 0; i < sizeof merges / sizeof *merges; i++) {
        const char *sp = strchr(merges[i], ' ');
        char j[32];
        snprintf(j, sizeof j, "%.*s%s", (int)(sp - merges[i]), merges[i], sp + 1);
        b4k_buf_puts(&e, ",");
        b4k_buf_put_json_str(&e, j, strlen(j));
        b4k_buf_printf(&e, ":%d", id++);
        b4k_buf_printf(&m, "%s\n", merges[i]);
    }
    b4k_buf_puts(&e, ",\"<|endoftext|>\":");
    b4k_buf_printf(&e, "%d}", id);
    b4k_bpe *bpe = NULL;
    b4k_err err;
    if (b4k_bpe_load_mem(&bpe, e.data, e.len, "e", m.data, m.len, "m", &err)) abort();
    b4k_buf_free(&e);
    b4k_buf_free(&m);
    return bpe;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static b4k_bpe *bpe;
    if (!bpe) bpe = make();
    b4k_tok_out o;
    b4k_tok_out_init(&o);
    b4k_err err;
    if (b4k_bpe_encode(bpe, (const char *)data, size, NULL, &o, &err)) abort();
    for (size_t i = 0; i < o.n; i++) {
        if (o.offsets[2 * i] >= o.offsets[2 * i + 1] || (size_t)o.offsets[2 * i + 1] > size)
            abort();
        if (i && o.offsets[2 * i] < o.offsets[2 * i - 2]) abort();
    }
    b4k_buf out;
    b4k_buf_init(&out);
    if (b4k_bpe_decode(bpe, o.ids, o.n, 0, &out, &err)) abort();
    if (out.len != size || (size && memcmp(out.data, data, size))) abort();
    b4k_buf_free(&out);
    b4k_tok_out_free(&o);
    /* the heap merge (long words) must equal encoder.py's loop */
    if (size && size < 4096) {
        int32_t *s1 = malloc(size * sizeof *s1), *s2 = malloc(size * sizeof *s2);
        uint32_t *l1 = malloc(size * sizeof *l1), *l2 = malloc(size * sizeof *l2);
        if (!s1 || !s2 || !l1 || !l2) abort();
        size_t n1 = b4k_bpe_merge(bpe, data, size, s1, l1, 1);
        size_t n2 = b4k_bpe_merge(bpe, data, size, s2, l2, 2);
        if (n1 != n2 || memcmp(s1, s2, n1 * sizeof *s1) || memcmp(l1, l2, n1 * sizeof *l1))
            abort();
        free(s1);
        free(s2);
        free(l1);
        free(l2);
    }
    return 0;
}
