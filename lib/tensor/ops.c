#include "tensor/ops.h"

#include "core/cpu.h"

#include <math.h>

float b4k_dot_f32_avx512(const float *a, const float *b, int n);
void b4k_axpy_f32_avx512(float *y, float a, const float *x, int n);
float b4k_dot_f32_avx2(const float *a, const float *b, int n);
void b4k_axpy_f32_avx2(float *y, float a, const float *x, int n);
void b4k_gelu_tanh_f32_avx2(float *out, const float *x, size_t n);
void b4k_attn_row_f32_avx512(float *out, float *sc, const float *q, const float *K,
                             const float *V, int HS, int S, float scale);
void b4k_attn_row_f32_avx2(float *out, float *sc, const float *q, const float *K,
                           const float *V, int HS, int S, float scale);

void b4k_gelu_tanh_f32_ref(float *out, const float *x, size_t n)
{
    const float k = 0.7978845608028654f; /* sqrt(2/pi) */
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        out[i] = 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
    }
}

void b4k_gelu_tanh_f32(float *out, const float *x, size_t n)
{
    if (b4k_cpu_has(B4K_CPU_AVX2))
        b4k_gelu_tanh_f32_avx2(out, x, n);
    else
        b4k_gelu_tanh_f32_ref(out, x, n);
}

float b4k_dot_f32_ref(const float *a, const float *b, int n)
{
    float s = 0;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

void b4k_axpy_f32_ref(float *y, float a, const float *x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}

float b4k_dot_f32(const float *a, const float *b, int n)
{
    if (b4k_cpu_has(B4K_CPU_AVX512))
        return b4k_dot_f32_avx512(a, b, n);
    if (b4k_cpu_has(B4K_CPU_AVX2))
        return b4k_dot_f32_avx2(a, b, n);
    return b4k_dot_f32_ref(a, b, n);
}

void b4k_axpy_f32(float *y, float a, const float *x, int n)
{
    if (b4k_cpu_has(B4K_CPU_AVX512))
        b4k_axpy_f32_avx512(y, a, x, n);
    else if (b4k_cpu_has(B4K_CPU_AVX2))
        b4k_axpy_f32_avx2(y, a, x, n);
    else
        b4k_axpy_f32_ref(y, a, x, n);
}

void b4k_attn_row_f32_ref(float *out, float *sc, const float *q, const float *K,
                          const float *V, int HS, int S, float scale)
{
    float mx = -INFINITY;
    for (int s = 0; s < S; s++) {
        float v = b4k_dot_f32_ref(q, K + (size_t)s * HS, HS) * scale;
        sc[s] = v;
        mx = v > mx ? v : mx;
    }
    double sum = 0;
    for (int s = 0; s < S; s++) {
        sc[s] = expf(sc[s] - mx);
        sum += sc[s];
    }
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < HS; i++)
        out[i] = 0;
    for (int s = 0; s < S; s++)
        b4k_axpy_f32_ref(out, sc[s] * inv, V + (size_t)s * HS, HS);
}

void b4k_attn_row_f32(float *out, float *sc, const float *q, const float *K, const float *V,
                      int HS, int S, float scale)
{
    if (b4k_cpu_has(B4K_CPU_AVX512))
        b4k_attn_row_f32_avx512(out, sc, q, K, V, HS, S, scale);
    else if (b4k_cpu_has(B4K_CPU_AVX2))
        b4k_attn_row_f32_avx2(out, sc, q, K, V, HS, S, scale);
    else
        b4k_attn_row_f32_ref(out, sc, q, K, V, HS, S, scale);
}
