/* dtype traits, scalar conversions and the portable (_ref) kernels. */
#include "tensor/dtype.h"

#include <math.h>
#include <string.h>

#include "core/cpu.h"

static const b4k_dtype_traits traits[B4K_DTYPE_COUNT] = {
    [B4K_F32] = {"f32", 4, 1, 0},
    [B4K_F16] = {"f16", 2, 1, 0},
    [B4K_BF16] = {"bf16", 2, 1, 0},
    [B4K_Q8] = {"q8", 1, 1, 1},
    [B4K_I32] = {"i32", 4, 0, 0},
    [B4K_I64] = {"i64", 8, 0, 0},
    [B4K_U8] = {"u8", 1, 0, 0},
};

const b4k_dtype_traits *b4k_dtype_traits_of(int dtype)
{
    if (dtype < 0 || dtype >= B4K_DTYPE_COUNT)
        return NULL;
    return &traits[dtype];
}

const char *b4k_dtype_name(int dtype)
{
    const b4k_dtype_traits *t = b4k_dtype_traits_of(dtype);
    return t ? t->name : "?";
}

int b4k_dtype_from_name(const char *name)
{
    for (int i = 0; i < B4K_DTYPE_COUNT; i++)
        if (!strcmp(name, traits[i].name))
            return i;
    return -1;
}

int b4k_shape_numel(int ndim, const int64_t *shape, size_t *out)
{
    size_t n = 1;
    if (ndim < 0 || ndim > B4K_MAX_DIMS)
        return -1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (uint64_t)shape[i] > (uint64_t)1 << 62)
            return -1;
        if (__builtin_mul_overflow(n, (size_t)shape[i], &n))
            return -1;
    }
    *out = n;
    return 0;
}

int b4k_dtype_nbytes(int dtype, int ndim, const int64_t *shape, size_t *out)
{
    const b4k_dtype_traits *t = b4k_dtype_traits_of(dtype);
    size_t n;
    if (!t || b4k_shape_numel(ndim, shape, &n))
        return -1;
    if (!t->blocked)
        return __builtin_mul_overflow(n, t->elem_size, out) ? -1 : 0;
    /* q8: needs at least one dimension; rows x Kp int8 + rows x Kp/32 f16 */
    if (ndim < 1)
        return -1;
    size_t k = (size_t)shape[ndim - 1], rows = 1, kp, a, b;
    for (int i = 0; i < ndim - 1; i++)
        rows *= (size_t)shape[i]; /* no overflow: bounded by n above */
    if (k > ((size_t)1 << 62))
        return -1;
    kp = b4k_q8_kpad(k);
    if (__builtin_mul_overflow(rows, kp, &a) ||
        __builtin_mul_overflow(rows, kp / B4K_Q8_BLOCK * 2, &b) ||
        __builtin_add_overflow(a, b, out))
        return -1;
    return 0;
}

/* ---- scalars ---- */

uint16_t b4k_f32_to_f16(float f)
{
    uint32_t x, ax, sign;
    memcpy(&x, &f, 4);
    sign = (x >> 16) & 0x8000;
    ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) {
        if (ax > 0x7f800000u) /* NaN: quiet, top payload bits kept (as F16C) */
            return (uint16_t)(sign | 0x7e00 | ((ax >> 13) & 0x3ff));
        return (uint16_t)(sign | 0x7c00);
    }
    if (ax >= 0x477ff000u) /* >= 65520: rounds to infinity */
        return (uint16_t)(sign | 0x7c00);
    if (ax < 0x38800000u) { /* below 2^-14: subnormal (or zero) */
        float a;
        uint32_t r;
        memcpy(&a, &ax, 4);
        a += 0.5f; /* the f32 ulp at 0.5 is 2^-24: the FPU rounds (RNE) */
        memcpy(&r, &a, 4);
        return (uint16_t)(sign | (r - 0x3f000000u));
    }
    ax += 0xc8000fffu + ((ax >> 13) & 1); /* rebias by -112, round to even */
    return (uint16_t)(sign | (ax >> 13));
}

float b4k_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, x;
    float f;
    if (e == 0) {
        f = (float)m * 0x1p-24f;
        memcpy(&x, &f, 4);
        x |= sign;
    } else if (e == 31) {
        x = sign | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0);
    } else {
        x = sign | ((e + 112) << 23) | (m << 13);
    }
    memcpy(&f, &x, 4);
    return f;
}

uint16_t b4k_f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return 0x7fc0;
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1)) >> 16);
}

float b4k_bf16_to_f32(uint16_t h)
{
    uint32_t x = (uint32_t)h << 16;
    float f;
    memcpy(&f, &x, 4);
    return f;
}

/* ---- rows: ref ---- */

void b4k_f32_to_f16_row_ref(uint16_t *out, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = b4k_f32_to_f16(x[i]);
}

void b4k_f16_to_f32_row_ref(float *out, const uint16_t *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = b4k_f16_to_f32(x[i]);
}

void b4k_f32_to_bf16_row_ref(uint16_t *out, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = b4k_f32_to_bf16(x[i]);
}

void b4k_bf16_to_f32_row_ref(float *out, const uint16_t *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = b4k_bf16_to_f32(x[i]);
}

void b4k_q8_quantize_ref(void *out, const float *x, size_t rows, size_t k)
{
    size_t kp = b4k_q8_kpad(k), nb = kp / B4K_Q8_BLOCK;
    int8_t *q = (int8_t *)out;
    uint8_t *sc = (uint8_t *)out + rows * kp;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * k;
        for (size_t b = 0; b < nb; b++) {
            size_t lo = b * B4K_Q8_BLOCK, hi = lo + B4K_Q8_BLOCK < k ? lo + B4K_Q8_BLOCK : k;
            float amax = 0.0f;
            for (size_t i = lo; i < hi; i++) {
                float a = fabsf(xr[i]);
                amax = a > amax ? a : amax;
            }
            uint16_t dh = b4k_f32_to_f16(amax / 127.0f);
            float ds = b4k_f16_to_f32(dh);
            for (size_t i = lo; i < lo + B4K_Q8_BLOCK; i++) {
                float v = 0.0f;
                if (i < hi && ds != 0.0f) {
                    v = rintf(xr[i] / ds);
                    v = v != v ? 0.0f : v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v;
                }
                q[r * kp + i] = (int8_t)v;
            }
            memcpy(sc + (r * nb + b) * 2, &dh, 2);
        }
    }
}

void b4k_q8_dequantize(float *x, const void *qv, size_t rows, size_t k)
{
    size_t kp = b4k_q8_kpad(k), nb = kp / B4K_Q8_BLOCK;
    const int8_t *q = (const int8_t *)qv;
    const uint8_t *sc = (const uint8_t *)qv + rows * kp;
    for (size_t r = 0; r < rows; r++)
        for (size_t b = 0; b < nb; b++) {
            uint16_t dh;
            memcpy(&dh, sc + (r * nb + b) * 2, 2);
            float ds = b4k_f16_to_f32(dh);
            size_t lo = b * B4K_Q8_BLOCK, hi = lo + B4K_Q8_BLOCK < k ? lo + B4K_Q8_BLOCK : k;
            for (size_t i = lo; i < hi; i++)
                x[r * k + i] = (float)q[r * kp + i] * ds;
        }
}

/* ---- dispatch ---- */

void b4k_f32_to_f16_row(uint16_t *out, const float *x, size_t n)
{
    if (b4k_cpu_has(B4K_CPU_AVX2))
        b4k_f32_to_f16_row_avx2(out, x, n);
    else
        b4k_f32_to_f16_row_ref(out, x, n);
}

void b4k_f16_to_f32_row(float *out, const uint16_t *x, size_t n)
{
    if (b4k_cpu_has(B4K_CPU_AVX2))
        b4k_f16_to_f32_row_avx2(out, x, n);
    else
        b4k_f16_to_f32_row_ref(out, x, n);
}

void b4k_f32_to_bf16_row(uint16_t *out, const float *x, size_t n)
{
    if (b4k_cpu_has(B4K_CPU_AVX2))
        b4k_f32_to_bf16_row_avx2(out, x, n);
    else
        b4k_f32_to_bf16_row_ref(out, x, n);
}

void b4k_bf16_to_f32_row(float *out, const uint16_t *x, size_t n)
{
    b4k_bf16_to_f32_row_ref(out, x, n); /* a shift: the compiler vectorises it */
}

void b4k_q8_quantize(void *out, const float *x, size_t rows, size_t k)
{
    if (b4k_cpu_has(B4K_CPU_AVX2))
        b4k_q8_quantize_avx2(out, x, rows, k);
    else
        b4k_q8_quantize_ref(out, x, rows, k);
}

int b4k_dtype_to_f32(float *out, int dtype, const void *data, size_t n, size_t k)
{
    switch (dtype) {
    case B4K_F32: memcpy(out, data, n * 4); return 0;
    case B4K_F16: b4k_f16_to_f32_row(out, (const uint16_t *)data, n); return 0;
    case B4K_BF16: b4k_bf16_to_f32_row(out, (const uint16_t *)data, n); return 0;
    case B4K_Q8:
        if (!k || n % k)
            return -1;
        b4k_q8_dequantize(out, data, n / k, k);
        return 0;
    default: return -1;
    }
}

int b4k_dtype_from_f32(void *out, int dtype, const float *x, size_t n, size_t k)
{
    switch (dtype) {
    case B4K_F32: memcpy(out, x, n * 4); return 0;
    case B4K_F16: b4k_f32_to_f16_row((uint16_t *)out, x, n); return 0;
    case B4K_BF16: b4k_f32_to_bf16_row((uint16_t *)out, x, n); return 0;
    case B4K_Q8:
        if (!k || n % k)
            return -1;
        b4k_q8_quantize(out, x, n / k, k);
        return 0;
    default: return -1;
    }
}
