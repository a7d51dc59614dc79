/* Small helpers shared by the tokenizers: a fast UTF-8 step that never reads
 * out of bounds, and reading a whole vocabulary file (plain or .zst). */
#ifndef B4K_TOK_UTIL_H
#define B4K_TOK_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Decode one code point at s (n > 0 bytes left).  Returns its length; an
 * invalid or truncated sequence gives U+FFFD and length 1. */
static inline int b4k_tok_u8(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF && n >= 2 && (s[1] & 0xC0) == 0x80) {
        *cp = ((c & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF && n >= 3 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
        uint32_t v = ((c & 0x0F) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3F);
        if (v >= 0x800 && (v < 0xD800 || v > 0xDFFF)) {
            *cp = v;
            return 3;
        }
    } else if (c >= 0xF0 && c <= 0xF4 && n >= 4 && (s[1] & 0xC0) == 0x80 &&
               (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80) {
        uint32_t v = ((c & 0x07) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) |
                     (s[3] & 0x3F);
        if (v >= 0x10000 && v <= 0x10FFFF) {
            *cp = v;
            return 4;
        }
    }
    *cp = 0xFFFD;
    return 1;
}

/* Read all of path (plain or zstd; "-" is not allowed) into a malloc'd,
 * NUL-terminated buffer. */
int b4k_tok_slurp(const char *path, char **data, size_t *len, b4k_err *err);

#endif
