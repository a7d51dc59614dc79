/* CRC-32C with the SSE4.2 crc32 instruction (built with the AVX2 flags,
 * which imply SSE4.2; called only when the CPU has AVX2). */
#include <nmmintrin.h>
#include <string.h>

#include "convert/crc32c.h"

uint32_t b4k_crc32c_hw(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    uint64_t c = ~crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    while (n--)
        c = _mm_crc32_u8((uint32_t)c, *p++);
    return ~(uint32_t)c;
}
