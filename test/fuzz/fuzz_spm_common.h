/* Helpers for the SentencePiece fuzz targets: a tiny protobuf writer and a
 * fixed model (pieces, 256 byte pieces, byte fallback) whose normalizer
 * charsmap the caller chooses. */
#ifndef B4K_FUZZ_SPM_COMMON_H
#define B4K_FUZZ_SPM_COMMON_H
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"

static inline void fz_varint(b4k_buf *b, uint64_t v)
{
    do {
        b4k_buf_putc(b, (char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
        v >>= 7;
    } while (v);
}
static inline void fz_bytes(b4k_buf *b, int f, const void *p, size_t n)
{
    fz_varint(b, (uint64_t)(f << 3 | 2));
    fz_varint(b, n);
    b4k_buf_append(b, p, n);
}
static inline void fz_int(b4k_buf *b, int f, uint64_t v)
{
    fz_varint(b, (uint64_t)(f << 3));
    fz_varint(b, v);
}
static inline void fz_piece(b4k_buf *b, const char *s, float score, int type)
{
    b4k_buf p;
    b4k_buf_init(&p);
    fz_bytes(&p, 1, s, strlen(s));
    uint32_t u;
    memcpy(&u, &score, 4);
    fz_varint(&p, 2 << 3 | 5);
    b4k_buf_append(&p, &u, 4);
    fz_int(&p, 3, (uint64_t)type);
    fz_bytes(b, 1, p.data, p.len);
    b4k_buf_free(&p);
}
/* model_type 1 unigram / 2 bpe; cmap may be NULL (identity) */
static inline void fz_model(b4k_buf *b, int model_type, const void *cmap, size_t cmap_len)
{
    static const char *pcs[] = {"\xE2\x96\x81", "a", "b", "ab", "\xE2\x96\x81" "a", "\xE4\xBD\xA0",
                                "\xE5\xA5\xBD", "\xE4\xBD\xA0\xE5\xA5\xBD", "x", "y", "xy", "<br>"};
    b4k_buf_init(b);
    fz_piece(b, "<unk>", 0, 2);
    fz_piece(b, "<s>", 0, 3);
    for (int i = 0; i < 12; i++) fz_piece(b, pcs[i], -1.0f - (float)i / 4, i == 11 ? 4 : 1);
    char name[8];
    for (int i = 0; i < 256; i++) {
        snprintf(name, sizeof name, "<0x%02X>", i);
        fz_piece(b, name, 0, 6);
    }
    b4k_buf ts, ns;
    b4k_buf_init(&ts);
    b4k_buf_init(&ns);
    fz_int(&ts, 3, (uint64_t)model_type);
    fz_int(&ts, 35, 1);
    fz_bytes(b, 2, ts.data, ts.len);
    if (cmap) fz_bytes(&ns, 2, cmap, cmap_len);
    fz_int(&ns, 3, 1);
    fz_bytes(b, 3, ns.data, ns.len);
    b4k_buf_free(&ts);
    b4k_buf_free(&ns);
}
#endif
