/* Tensor element types: one traits table, conversions between f32 and the
 * reduced-precision types, and the q8 block quantiser.
 *
 * Every fast routine has a portable `_ref` twin that gives the same bits;
 * the plain name dispatches at run time (b4k_cpu_has) to the AVX2/F16C
 * kernel in dtype_avx2.c when the CPU has it.
 *
 * Bit-exactness promises (checked against torch in test/unit/test_dtype.c):
 *   f16  = IEEE binary16, round to nearest even, subnormals, +-inf, NaN kept
 *          (quiet) -- the same bits as torch's `x.half()`.
 *   bf16 = top 16 bits of the f32, round to nearest even; every NaN
 *          becomes the quiet NaN 0x7fc0 -- the same bits as
 *          `x.to(torch.bfloat16)` (c10::BFloat16 round_to_nearest_even).
 *
 * q8 layout (the generate/extract kernels rely on it; man/b4k-model.5):
 *   a tensor of logical shape (..., K) is viewed as rows = prod(leading dims)
 *   rows of K values.  K is padded with zeros to Kp = ceil(K/32)*32.  The
 *   bytes are planar:
 *       int8  q[rows][Kp]            row-major, starts at the tensor start
 *       f16   d[rows][Kp/32]         immediately after (Kp is a multiple
 *                                    of 32, so it stays 2-byte aligned)
 *   per block of 32: amax = max|x|, d = amax/127 (f32), ds = f32(f16(d)),
 *   q = clamp(rint(x/ds), -127, 127) (round half to even; q = 0 when ds == 0)
 *   and x' = q*ds.  Error bound: |x - x'| <= max(ds/2, amax - 127*ds), which
 *   for scales in the f16 normal range (6.1e-5 <= d <= 65504) is at most
 *   ds/2 <= (amax/127) * (1 + 2^-11) / 2.
 */
#ifndef B4K_TENSOR_DTYPE_H
#define B4K_TENSOR_DTYPE_H

#include <stddef.h>
#include <stdint.h>

typedef enum b4k_dtype {
    B4K_F32 = 0,
    B4K_F16 = 1,
    B4K_BF16 = 2,
    B4K_Q8 = 3,   /* int8, f16 scale per 32 values, planar (see above) */
    B4K_I32 = 4,
    B4K_I64 = 5,
    B4K_U8 = 6,   /* bytes: blobs (spm model, jieba dict), masks */
    B4K_DTYPE_COUNT
} b4k_dtype;

#define B4K_MAX_DIMS 8
#define B4K_Q8_BLOCK 32

typedef struct b4k_dtype_traits {
    const char *name;   /* "f32", "f16", "bf16", "q8", "i32", "i64", "u8" */
    size_t elem_size;   /* bytes per element; for q8 the int8 part (1) */
    int is_float;       /* 1 for f32/f16/bf16/q8 */
    int blocked;        /* 1 for q8: size is not elem_size * count */
} b4k_dtype_traits;

/* NULL for an unknown dtype. */
const b4k_dtype_traits *b4k_dtype_traits_of(int dtype);
const char *b4k_dtype_name(int dtype);                /* "?" if unknown */
/* Returns the dtype or -1 if name is unknown. */
int b4k_dtype_from_name(const char *name);

/* Element count of a shape, overflow-checked (0 ok, -1 overflow/neg dim). */
int b4k_shape_numel(int ndim, const int64_t *shape, size_t *out);
/* Bytes of a tensor of this dtype and shape (q8: planar layout above).
 * 0 ok, -1 on overflow, bad ndim, negative dim or unknown dtype. */
int b4k_dtype_nbytes(int dtype, int ndim, const int64_t *shape, size_t *out);
/* q8 helpers: padded row length, and byte offset of the scales. */
static inline size_t b4k_q8_kpad(size_t k)
{
    return (k + B4K_Q8_BLOCK - 1) / B4K_Q8_BLOCK * B4K_Q8_BLOCK;
}

/* Scalars. */
uint16_t b4k_f32_to_f16(float x);
float b4k_f16_to_f32(uint16_t h);
uint16_t b4k_f32_to_bf16(float x);
float b4k_bf16_to_f32(uint16_t h);

/* Rows of n values.  Fast versions dispatch; _ref are portable scalar. */
void b4k_f32_to_f16_row(uint16_t *out, const float *x, size_t n);
void b4k_f32_to_f16_row_ref(uint16_t *out, const float *x, size_t n);
void b4k_f16_to_f32_row(float *out, const uint16_t *x, size_t n);
void b4k_f16_to_f32_row_ref(float *out, const uint16_t *x, size_t n);
void b4k_f32_to_bf16_row(uint16_t *out, const float *x, size_t n);
void b4k_f32_to_bf16_row_ref(uint16_t *out, const float *x, size_t n);
void b4k_bf16_to_f32_row(float *out, const uint16_t *x, size_t n);
void b4k_bf16_to_f32_row_ref(float *out, const uint16_t *x, size_t n);

/* q8: out (b4k_dtype_nbytes bytes) <- x (rows, K) f32, row-major. */
void b4k_q8_quantize(void *out, const float *x, size_t rows, size_t k);
void b4k_q8_quantize_ref(void *out, const float *x, size_t rows, size_t k);
/* x (rows, K) <- q8 packed (drops the padding). */
void b4k_q8_dequantize(float *x, const void *q, size_t rows, size_t k);
/* Pointers into a packed q8 tensor. */
static inline const int8_t *b4k_q8_values(const void *q) { return (const int8_t *)q; }
static inline const uint16_t *b4k_q8_scales(const void *q, size_t rows, size_t k)
{
    return (const uint16_t *)((const uint8_t *)q + rows * b4k_q8_kpad(k));
}

/* Convert n elements (f32/f16/bf16) or a whole q8 tensor of shape
 * (rows = n / k, k) to f32.  Returns 0, or -1 for a dtype that is not a
 * float type (or q8 with n % k != 0). */
int b4k_dtype_to_f32(float *out, int dtype, const void *data, size_t n, size_t k);
/* f32 -> dtype for f32/f16/bf16/q8 (q8 needs rows = n / k). */
int b4k_dtype_from_f32(void *out, int dtype, const float *x, size_t n, size_t k);

/* AVX2/F16C kernels (dtype_avx2.c); call only when b4k_cpu_has(AVX2). */
void b4k_f32_to_f16_row_avx2(uint16_t *out, const float *x, size_t n);
void b4k_f16_to_f32_row_avx2(float *out, const uint16_t *x, size_t n);
void b4k_f32_to_bf16_row_avx2(uint16_t *out, const float *x, size_t n);
void b4k_q8_quantize_avx2(void *out, const float *x, size_t rows, size_t k);

#endif
