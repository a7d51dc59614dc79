/* The end of CRC-32 folding shared by crc32_avx2.c and crc32_avx512.c: the
 * remaining 16-byte blocks folded into the 128-bit remainder x, then 128 ->
 * 64 -> 32 bits and a Barrett reduction (constants of the bit-reflected
 * polynomial 0x1db710641, as in Linux's crc32-pclmul).  Included only by
 * files built with (or targeting) PCLMULQDQ and SSE4.1. */
#ifndef B4K_CONVERT_CRC32_FOLD_H
#define B4K_CONVERT_CRC32_FOLD_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

__attribute__((target("pclmul,sse4.1"))) static inline uint32_t
b4k_crc32_reduce(__m128i x1, const uint8_t *p, size_t n)
{
    const __m128i k34 = _mm_set_epi64x(0x0ccaa009eLL, 0x1751997d0LL); /* x^(128+-32) */
    const __m128i k5 = _mm_set_epi64x(0, 0x163cd6124LL);
    const __m128i pu = _mm_set_epi64x(0x1f7011641LL, 0x1db710641LL); /* mu', P' */
    const __m128i m32 = _mm_set_epi64x(0, 0xffffffffLL);
    __m128i t;
    for (; n >= 16; p += 16, n -= 16)
        x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k34, 0x00),
                                         _mm_clmulepi64_si128(x1, k34, 0x11)),
                           _mm_loadu_si128((const __m128i *)p));
    /* 128 -> 64 bits (appending 32 zero bits), then -> 32 */
    t = _mm_clmulepi64_si128(k34, x1, 0x01);
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), t);
    t = _mm_srli_si128(x1, 4);
    x1 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x1, m32), k5, 0x00), t);
    /* Barrett reduction */
    t = x1;
    x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, m32), pu, 0x10);
    x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, m32), pu, 0x00);
    x1 = _mm_xor_si128(x1, t);
    return (uint32_t)_mm_extract_epi32(x1, 1);
}

#endif
