#include "core/utf8.h"
#include "core/alloc.h"
#include "core/err.h"

#include <string.h>

/* Length of the maximal subpart of an ill-formed sequence starting at s
 * (Unicode 3.9, "U+FFFD substitution of maximal subparts"), or the full
 * length when valid; *valid tells which. */
static int utf8_step(const unsigned char *s, size_t n, uint32_t *cp, int *valid)
{
    unsigned char c = s[0];
    *valid = 0;
    *cp = 0xFFFD;
    if (c < 0x80) {
        *cp = c;
        *valid = 1;
        return 1;
    }
    int need;
    uint32_t v;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) { need = 1; v = c & 0x1F; }
    else if (c == 0xE0) { need = 2; v = c & 0x0F; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) { need = 2; v = c & 0x0F; }
    else if (c == 0xED) { need = 2; v = c & 0x0F; hi = 0x9F; }
    else if (c >= 0xEE && c <= 0xEF) { need = 2; v = c & 0x0F; }
    else if (c == 0xF0) { need = 3; v = c & 0x07; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) { need = 3; v = c & 0x07; }
    else if (c == 0xF4) { need = 3; v = c & 0x07; hi = 0x8F; }
    else return 1;
    for (int i = 1; i <= need; i++) {
        if ((size_t)i >= n)
            return i;
        unsigned char d = s[i];
        if (d < lo || d > hi)
            return i;
        lo = 0x80;
        hi = 0xBF;
        v = (v << 6) | (d & 0x3F);
    }
    *cp = v;
    *valid = 1;
    return need + 1;
}

int b4k_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    int valid;
    if (!n) {
        *cp = 0xFFFD;
        return -1;
    }
    int k = utf8_step(s, n, cp, &valid);
    return valid ? k : -1;
}

int b4k_utf8_encode(uint32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t b4k_utf8_check(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        /* ASCII fast path, 8 bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        int valid;
        int k = utf8_step(s + i, n - i, &cp, &valid);
        if (!valid)
            return i;
        i += (size_t)k;
    }
    return (size_t)-1;
}

int b4k_utf8_sanitize(const char *str, size_t n, char **out, size_t *out_len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t cap;
    /* worst case: every byte becomes 3 bytes */
    if (b4k_mul_ok(n, 3, &cap) || b4k_add_ok(cap, 1, &cap))
        return B4K_ENOMEM;
    char *o = b4k_malloc(cap);
    if (!o)
        return B4K_ENOMEM;
    size_t i = 0, j = 0;
    while (i < n) {
        uint32_t cp;
        int valid;
        int k = utf8_step(s + i, n - i, &cp, &valid);
        if (valid) {
            memcpy(o + j, s + i, (size_t)k);
            j += (size_t)k;
        } else {
            j += (size_t)b4k_utf8_encode(0xFFFD, o + j);
        }
        i += (size_t)k;
    }
    o[j] = '\0';
    *out = o;
    *out_len = j;
    return 0;
}
