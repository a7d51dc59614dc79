/* CRC-32 by folding with carry-less multiplication (PCLMULQDQ): four 128-bit
 * lanes folded 64 bytes at a time, then into one lane, then a Barrett
 * reduction to 32 bits (crc32_fold.h; Gopal et al., "Fast CRC Computation for Generic
 * Polynomials Using PCLMULQDQ", Intel 2009; the constants are those of the
 * bit-reflected polynomial 0x1db710641, as in Linux's crc32-pclmul).  Built
 * with the AVX2 flags; called only when the CPU has PCLMULQDQ. */
#include <immintrin.h>

#include "convert/crc32.h"
#include "convert/crc32_fold.h"

#define CLMUL __attribute__((target("pclmul,sse4.1")))

CLMUL static inline __m128i fold(__m128i x, __m128i k)
{
    return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}

CLMUL uint32_t b4k_crc32_fold(uint32_t state, const uint8_t *p, size_t n)
{
    const __m128i k12 = _mm_set_epi64x(0x1c6e41596LL, 0x154442bd4LL); /* x^(4*128+-32) */
    const __m128i k34 = _mm_set_epi64x(0x0ccaa009eLL, 0x1751997d0LL); /* x^(128+-32) */
    __m128i x1 = _mm_loadu_si128((const __m128i *)p);
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i x4 = _mm_loadu_si128((const __m128i *)(p + 48));
    x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)state));
    p += 64;
    n -= 64;
    for (; n >= 64; p += 64, n -= 64) {
        x1 = _mm_xor_si128(fold(x1, k12), _mm_loadu_si128((const __m128i *)p));
        x2 = _mm_xor_si128(fold(x2, k12), _mm_loadu_si128((const __m128i *)(p + 16)));
        x3 = _mm_xor_si128(fold(x3, k12), _mm_loadu_si128((const __m128i *)(p + 32)));
        x4 = _mm_xor_si128(fold(x4, k12), _mm_loadu_si128((const __m128i *)(p + 48)));
    }
    x1 = _mm_xor_si128(fold(x1, k34), x2);
    x1 = _mm_xor_si128(fold(x1, k34), x3);
    x1 = _mm_xor_si128(fold(x1, k34), x4);
    return b4k_crc32_reduce(x1, p, n);
}
