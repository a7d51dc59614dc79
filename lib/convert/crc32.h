/* CRC-32 (IEEE 802.3, reflected polynomial 0xedb88320), as used by zip
 * entries (torch.save files): the same values as zlib's crc32(). */
#ifndef B4K_CONVERT_CRC32_H
#define B4K_CONVERT_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Extend crc (0 to start) with n bytes.  Dispatches to carry-less multiply
 * folding (the AVX-512 file with VPCLMULQDQ, or the AVX2 file with
 * PCLMULQDQ) when the CPU has it;
 * b4k_crc32_ref is the table-driven twin. */
uint32_t b4k_crc32(uint32_t crc, const void *data, size_t n);
uint32_t b4k_crc32_ref(uint32_t crc, const void *data, size_t n);
/* crc32_avx2.c: the raw register state (not inverted) over n bytes, n a
 * multiple of 16 and >= 64. */
uint32_t b4k_crc32_fold(uint32_t state, const uint8_t *p, size_t n);
/* crc32_avx512.c: the same with 512-bit VPCLMULQDQ, n >= 256. */
uint32_t b4k_crc32_fold_avx512(uint32_t state, const uint8_t *p, size_t n);

#endif
