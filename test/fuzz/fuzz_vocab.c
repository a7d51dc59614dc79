/* Fuzz target: the vocabulary loaders.  The input is tried as a WordPiece
 * vocab.txt and, split at the first "\n--\n", as a GPT-2 encoder.json plus
 * merges.  Whatever loads must then encode and decode a fixed text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tok/bpe.h"
#include "tok/wordpiece.h"

static const char TEXT[] = "Hello, world! 中文 unaffable caf\xc3\xa9 x'sy  \n 123";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    b4k_err err;
    b4k_tok_out o;
    b4k_tok_out_init(&o);
    b4k_tok_enc e;
    b4k_tok_enc_init(&e);
    b4k_buf b;
    b4k_buf_init(&b);
    b4k_wordpiece *wp = NULL;
    if (b4k_wordpiece_load_mem(&wp, s, size, "fuzz", -1, -1, 1, &err) == 0) {
        e.add_special = b4k_wordpiece_special(wp, 1) >= 0 && b4k_wordpiece_special(wp, 2) >= 0;
        if (b4k_wordpiece_encode(wp, TEXT, sizeof TEXT - 1, TEXT, 5, &e, &o, &err)) abort();
        if (b4k_wordpiece_decode(wp, o.ids, o.n, 1, &b, &err)) abort();
        b4k_wordpiece_free(wp);
    }
    const char *sep = size >= 4 ? memmem(s, size, "\n--\n", 4) : NULL;
    if (sep) {
        b4k_bpe *bpe = NULL;
        size_t el = (size_t)(sep - s);
        if (b4k_bpe_load_mem(&bpe, s, el, "enc", sep + 4, size - el - 4, "merges", &err) == 0) {
            if (b4k_bpe_encode(bpe, TEXT, sizeof TEXT - 1, NULL, &o, &err)) abort();
            b4k_buf_reset(&b);
            if (b4k_bpe_decode(bpe, o.ids, o.n, 0, &b, &err)) abort();
            if (b.len != sizeof TEXT - 1 || memcmp(b.data, TEXT, b.len)) abort();
            b4k_bpe_free(bpe);
        }
    }
    b4k_buf_free(&b);
    b4k_tok_out_free(&o);
    return 0;
}
