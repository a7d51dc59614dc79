/* CRC-32 by folding with 512-bit carry-less multiplication (VPCLMULQDQ on
 * zmm registers): sixteen 128-bit lanes in four zmm accumulators, folded 256
 * bytes at a time, then into one zmm, then into one 128-bit lane, reduced
 * as by the 128-bit kernel (crc32_fold.h).  The same method as the
 * 128-bit kernel (Gopal et al., "Fast CRC Computation for Generic
 * Polynomials Using PCLMULQDQ", Intel 2009), over a longer distance; the
 * fold constants are x^(d+32) and x^(d-32) mod P, bit-reflected and shifted
 * left by one, for d = 2048 (256 bytes), 512 (64 bytes) and 128 (16 bytes),
 * the last two those of crc32_avx2.c.  Built with the AVX-512 flags; called
 * only when the CPU has AVX-512 and VPCLMULQDQ. */
#include <immintrin.h>

#include "convert/crc32.h"
#include "convert/crc32_fold.h"

#define VCLMUL __attribute__((target("avx512f,avx512bw,avx512vl,vpclmulqdq,pclmul,sse4.1")))

VCLMUL static inline __m512i fold512(__m512i x, __m512i k, __m512i add)
{
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00),
                                     _mm512_clmulepi64_epi128(x, k, 0x11), add, 0x96);
}

VCLMUL static inline __m128i fold128(__m128i x, __m128i k, __m128i add)
{
    return _mm_ternarylogic_epi64(_mm_clmulepi64_si128(x, k, 0x00),
                                  _mm_clmulepi64_si128(x, k, 0x11), add, 0x96);
}

/* The raw register state over [p, p + n), n >= 256 and a multiple of 16. */
VCLMUL uint32_t b4k_crc32_fold_avx512(uint32_t state, const uint8_t *p, size_t n)
{
    const __m512i k2048 = _mm512_broadcast_i32x4(_mm_set_epi64x(0x1322d1430LL, 0x11542778aLL));
    const __m512i k512 = _mm512_broadcast_i32x4(_mm_set_epi64x(0x1c6e41596LL, 0x154442bd4LL));
    const __m128i k128 = _mm_set_epi64x(0x0ccaa009eLL, 0x1751997d0LL);
    __m512i z0 = _mm512_loadu_si512((const void *)p);
    __m512i z1 = _mm512_loadu_si512((const void *)(p + 64));
    __m512i z2 = _mm512_loadu_si512((const void *)(p + 128));
    __m512i z3 = _mm512_loadu_si512((const void *)(p + 192));
    __m128i x;
    z0 = _mm512_xor_si512(z0, _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)state)));
    p += 256;
    n -= 256;
    for (; n >= 256; p += 256, n -= 256) {
        z0 = fold512(z0, k2048, _mm512_loadu_si512((const void *)p));
        z1 = fold512(z1, k2048, _mm512_loadu_si512((const void *)(p + 64)));
        z2 = fold512(z2, k2048, _mm512_loadu_si512((const void *)(p + 128)));
        z3 = fold512(z3, k2048, _mm512_loadu_si512((const void *)(p + 192)));
    }
    z0 = fold512(z0, k512, z1);
    z0 = fold512(z0, k512, z2);
    z0 = fold512(z0, k512, z3);
    x = _mm512_castsi512_si128(z0);
    x = fold128(x, k128, _mm512_extracti32x4_epi32(z0, 1));
    x = fold128(x, k128, _mm512_extracti32x4_epi32(z0, 2));
    x = fold128(x, k128, _mm512_extracti32x4_epi32(z0, 3));
    return b4k_crc32_reduce(x, p, n);
}
