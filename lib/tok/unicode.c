/* Code-point mappings over the generated tables (unicode_data.c). */
#include "tok/unicode.h"

static int find_map(uint32_t cp)
{
    size_t lo = 0, hi = b4k_unicode_nfd_n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (b4k_unicode_nfd[mid].cp < cp) lo = mid + 1;
        else hi = mid;
    }
    return (lo < b4k_unicode_nfd_n && b4k_unicode_nfd[lo].cp == cp) ? (int)lo : -1;
}

int b4k_unicode_nfd_char(uint32_t cp, uint32_t *out)
{
    if (cp >= 0xAC00 && cp <= 0xD7A3) { /* Hangul syllable: L V (T) */
        uint32_t s = cp - 0xAC00, t = s % 28;
        out[0] = 0x1100 + s / (21 * 28);
        out[1] = 0x1161 + (s % (21 * 28)) / 28;
        if (t == 0) return 2;
        out[2] = 0x11A7 + t;
        return 3;
    }
    if (!(b4k_unicode_flags(cp) & B4K_U_MAP)) {
        out[0] = cp;
        return 1;
    }
    int i = find_map(cp);
    if (i < 0) {
        out[0] = cp;
        return 1;
    }
    const b4k_unicode_map *m = &b4k_unicode_nfd[i];
    uint32_t n = m->len < B4K_UNICODE_MAXDECOMP ? m->len : B4K_UNICODE_MAXDECOMP;
    for (uint32_t k = 0; k < n; k++) out[k] = b4k_unicode_nfd_pool[m->off + k];
    return (int)n;
}

int b4k_unicode_lower_char(uint32_t cp, uint32_t *out)
{
    if (cp < 128) {
        out[0] = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
        return 1;
    }
    if (cp == 0x130) {
        out[0] = 'i';
        out[1] = 0x307;
        return 2;
    }
    out[0] = cp;
    if (!(b4k_unicode_flags(cp) & B4K_U_MAP)) return 1;
    size_t lo = 0, hi = b4k_unicode_lower_n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (b4k_unicode_lower[mid].cp < cp) lo = mid + 1;
        else hi = mid;
    }
    if (lo < b4k_unicode_lower_n && b4k_unicode_lower[lo].cp == cp) out[0] = b4k_unicode_lower[lo].to;
    return 1;
}
