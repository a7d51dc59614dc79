/* CRC-32C (Castagnoli), as used by LevelDB tables and TF tensor bundles,
 * with their "mask" (rotate right 15, add 0xa282ead8). */
#ifndef B4K_CONVERT_CRC32C_H
#define B4K_CONVERT_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extend crc (0 to start) with n bytes.  Dispatches to SSE4.2 (the AVX2
 * file) when available; b4k_crc32c_ref is the table-driven twin. */
uint32_t b4k_crc32c(uint32_t crc, const void *data, size_t n);
uint32_t b4k_crc32c_ref(uint32_t crc, const void *data, size_t n);
uint32_t b4k_crc32c_hw(uint32_t crc, const void *data, size_t n); /* crc32c_avx2.c */

static inline uint32_t b4k_crc32c_mask(uint32_t crc)
{
    return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

#endif
