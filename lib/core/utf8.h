/* UTF-8 decoding and validation (strict: no overlongs, no surrogates,
 * nothing above U+10FFFF). */
#ifndef B4K_CORE_UTF8_H
#define B4K_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decode one code point from s[0..n).  Returns its length in bytes (1..4) and
 * sets *cp, or returns -1 for an invalid or truncated sequence (then *cp is
 * U+FFFD and the caller should skip 1 byte... see b4k_utf8_sanitize). */
int b4k_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Encode cp into out (4 bytes room).  Returns the byte length. */
int b4k_utf8_encode(uint32_t cp, char *out);

/* Byte offset of the first invalid sequence, or (size_t)-1 if s is valid. */
size_t b4k_utf8_check(const char *s, size_t n);

/* Replace each maximal invalid subpart with U+FFFD (as Python's
 * errors="replace" and the WHATWG decoder do).  Writes into *out (malloc'd,
 * NUL-terminated) and returns 0, or B4K_ENOMEM. */
int b4k_utf8_sanitize(const char *s, size_t n, char **out, size_t *out_len);

#endif
