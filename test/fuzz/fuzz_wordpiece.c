/* Fuzz target: WordPiece encode/decode on arbitrary bytes.
 * Byte 0 picks options (lower, specials, max length); the rest is the text,
 * split at the first TAB into a sentence pair.  Invariants checked (abort on
 * violation): ids in range, offsets ordered and inside the text, segment ids
 * 0/1, truncation respected, decode succeeds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tok/tok_util.h"
#include "tok/wordpiece.h"

static const char VOCAB[] =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n,\n!\n.\n中\n文\nun\n##aff\n##able\n"
    "##s\nhe\n##llo\ne\ncafe\n'\ns\nx\n##x\na\n##a\n1\n##1\n한\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static b4k_wordpiece *wp[2];
    b4k_err err;
    if (!wp[0]) {
        if (b4k_wordpiece_load_mem(&wp[0], VOCAB, sizeof VOCAB - 1, "v", 0, -1, 1, &err) ||
            b4k_wordpiece_load_mem(&wp[1], VOCAB, sizeof VOCAB - 1, "v", 1, -1, 1, &err))
            abort();
    }
    if (size < 1) return 0;
    unsigned opt = data[0];
    const char *text = (const char *)data + 1;
    size_t n = size - 1;
    const char *tab = memchr(text, '\t', n);
    const char *b = tab ? tab + 1 : NULL;
    size_t a_len = tab ? (size_t)(tab - text) : n, b_len = tab ? n - a_len - 1 : 0;
    b4k_tok_enc e;
    b4k_tok_enc_init(&e);
    e.add_special = opt & 2 ? 1 : 0;
    e.max_len = (opt >> 2) & 15;
    const b4k_wordpiece *w = wp[opt & 1];
    b4k_tok_out o;
    b4k_tok_out_init(&o);
    int rc = b4k_wordpiece_encode(w, text, a_len, b, b_len, &e, &o, &err);
    if (rc == 0) {
        size_t chars = 0; /* code points as the encoder counts them */
        for (size_t i = 0; i < n;) {
            uint32_t cp;
            i += (size_t)b4k_tok_u8((const unsigned char *)text + i, n - i, &cp);
            chars++;
        }
        if (e.max_len > 0 && o.n > (size_t)e.max_len) abort();
        for (size_t i = 0; i < o.n; i++) {
            if (o.ids[i] < 0 || (size_t)o.ids[i] >= b4k_wordpiece_size(w)) abort();
            if (o.offsets[2 * i] > o.offsets[2 * i + 1] || o.offsets[2 * i] < 0 ||
                (size_t)o.offsets[2 * i + 1] > chars)
                abort();
            if (o.segs[i] != 0 && o.segs[i] != 1) abort();
        }
        b4k_buf out;
        b4k_buf_init(&out);
        if (b4k_wordpiece_decode(w, o.ids, o.n, opt & 64, &out, &err)) abort();
        b4k_buf_free(&out);
    } else if (rc != B4K_EINVAL) {
        abort();
    }
    b4k_tok_out_free(&o);
    return 0;
}
