/* dtype conversions: torch-golden f16/bf16 bits, fast == _ref on every f16
 * and random f32 bit patterns, q8 layout, error bound and fast == _ref. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/cpu.h"
#include "core/rng.h"
#include "tensor/dtype.h"
#include "t.h"

static float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

TEST(traits)
{
    int64_t s[2] = {3, 40}, big[2] = {(int64_t)1 << 40, (int64_t)1 << 40};
    size_t n;
    CHECK_EQ_INT(b4k_dtype_from_name("bf16"), B4K_BF16);
    CHECK_EQ_INT(b4k_dtype_from_name("int8"), -1);
    CHECK_EQ_STR(b4k_dtype_name(B4K_Q8), "q8");
    CHECK_EQ_INT(b4k_dtype_nbytes(B4K_F16, 2, s, &n), 0);
    CHECK_EQ_INT(n, 240);
    CHECK_EQ_INT(b4k_dtype_nbytes(B4K_Q8, 2, s, &n), 0);
    CHECK_EQ_INT(n, 3 * 64 + 3 * 2 * 2);
    CHECK_EQ_INT(b4k_dtype_nbytes(B4K_F32, 2, big, &n), -1);
    CHECK_EQ_INT(b4k_dtype_nbytes(B4K_Q8, 0, s, &n), -1);
    CHECK_EQ_INT(b4k_dtype_nbytes(99, 2, s, &n), -1);
}

TEST(torch_golden_casts)
{
    const char *top = getenv("TOP");
    char path[1024];
    snprintf(path, sizeof path, "%s/test/golden/convert/casts.bin", top ? top : ".");
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        t_skip("torch_golden_casts", "test/golden/convert/casts.bin not found (set TOP)");
        CHECK(0);
        return;
    }
    uint32_t n = 0;
    CHECK(fread(&n, 4, 1, fp) == 1);
    uint32_t *x = malloc(n * 4);
    uint16_t *h = malloc(n * 2), *b = malloc(n * 2), *o = malloc(n * 2), *o2 = malloc(n * 2);
    CHECK(fread(x, 4, n, fp) == n && fread(h, 2, n, fp) == n && fread(b, 2, n, fp) == n);
    fclose(fp);
    int bad = 0;
    b4k_f32_to_f16_row(o, (const float *)x, n);
    b4k_f32_to_f16_row_ref(o2, (const float *)x, n);
    for (uint32_t i = 0; i < n; i++)
        if (o[i] != h[i] || o2[i] != h[i]) {
            if (bad++ < 5)
                printf("  f16 of %08x: got %04x/%04x torch %04x\n", x[i], o[i], o2[i], h[i]);
        }
    b4k_f32_to_bf16_row(o, (const float *)x, n);
    b4k_f32_to_bf16_row_ref(o2, (const float *)x, n);
    for (uint32_t i = 0; i < n; i++)
        if (o[i] != b[i] || o2[i] != b[i]) {
            if (bad++ < 10)
                printf("  bf16 of %08x: got %04x/%04x torch %04x\n", x[i], o[i], o2[i], b[i]);
        }
    CHECK_EQ_INT(bad, 0);
    CHECK(n > 4000);
    free(x), free(h), free(b), free(o), free(o2);
}

TEST(f16_all_values)
{
    /* every f16 -> f32 -> f16 is the identity (NaN stays NaN, quiet) */
    uint16_t in[65536], back[65536], back2[65536];
    float f[65536], fr[65536];
    for (int i = 0; i < 65536; i++)
        in[i] = (uint16_t)i;
    b4k_f16_to_f32_row(f, in, 65536);
    b4k_f16_to_f32_row_ref(fr, in, 65536);
    CHECK(!memcmp(f, fr, sizeof f));
    b4k_f32_to_f16_row(back, f, 65536);
    b4k_f32_to_f16_row_ref(back2, f, 65536);
    int bad = 0;
    for (int i = 0; i < 65536; i++) {
        int isnan16 = (i & 0x7c00) == 0x7c00 && (i & 0x3ff);
        uint16_t want = isnan16 ? (uint16_t)(i | 0x200) : (uint16_t)i;
        if (back[i] != want || back2[i] != want)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(b4k_f16_to_f32(0x3c00) == 1.0f && b4k_f16_to_f32(0x0001) == 0x1p-24f);
    CHECK(b4k_f16_to_f32(0x7bff) == 65504.0f && isinf(b4k_f16_to_f32(0xfc00)));
}

TEST(fast_equals_ref_random_bits)
{
    b4k_rng r;
    b4k_rng_seed(&r, 7, 0);
    enum { N = 100003 };
    uint32_t *x = malloc(N * 4);
    uint16_t *a = malloc(N * 2), *b = malloc(N * 2);
    for (int i = 0; i < N; i++)
        x[i] = (uint32_t)b4k_rng_u64(&r);
    b4k_f32_to_f16_row(a, (float *)x, N);
    b4k_f32_to_f16_row_ref(b, (float *)x, N);
    CHECK(!memcmp(a, b, N * 2));
    b4k_f32_to_bf16_row(a, (float *)x, N);
    b4k_f32_to_bf16_row_ref(b, (float *)x, N);
    CHECK(!memcmp(a, b, N * 2));
    CHECK_EQ_INT(b4k_f32_to_bf16(u2f(0xffc00001)), 0x7fc0);
    CHECK_EQ_INT(b4k_f32_to_bf16(u2f(0x3f808000)), 0x3f80); /* tie to even */
    CHECK_EQ_INT(b4k_f32_to_bf16(u2f(0x3f818000)), 0x3f82);
    free(x), free(a), free(b);
}

TEST(q8_layout_bound_and_ref)
{
    b4k_rng r;
    b4k_rng_seed(&r, 11, 0);
    size_t shapes[][2] = {{1, 32}, {3, 40}, {7, 1}, {5, 96}, {2, 33}, {64, 768}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        size_t rows = shapes[s][0], k = shapes[s][1], kp = b4k_q8_kpad(k);
        int64_t shp[2] = {(int64_t)rows, (int64_t)k};
        size_t nb;
        b4k_dtype_nbytes(B4K_Q8, 2, shp, &nb);
        CHECK_EQ_INT(nb, rows * kp + rows * (kp / 32) * 2);
        float *x = malloc(rows * k * 4), *y = malloc(rows * k * 4);
        uint8_t *q = malloc(nb), *q2 = malloc(nb);
        for (size_t i = 0; i < rows * k; i++) {
            double u = (double)(b4k_rng_u64(&r) >> 11) / 9007199254740992.0;
            x[i] = (float)((u - 0.5) * (s == 3 ? 1e-6 : 3.0));
            if (s == 1 && i % 17 == 0)
                x[i] = 0.0f;
        }
        if (s == 4)
            for (size_t i = 0; i < k; i++)
                x[i] = 0.0f; /* an all-zero row */
        b4k_q8_quantize(q, x, rows, k);
        b4k_q8_quantize_ref(q2, x, rows, k);
        CHECK(!memcmp(q, q2, nb));
        b4k_q8_dequantize(y, q, rows, k);
        const uint16_t *sc = b4k_q8_scales(q, rows, k);
        const int8_t *qv = b4k_q8_values(q);
        int bad = 0;
        for (size_t rr = 0; rr < rows; rr++)
            for (size_t i = 0; i < kp; i++) {
                float ds = b4k_f16_to_f32(sc[rr * (kp / 32) + i / 32]);
                if (i >= k) {
                    bad += qv[rr * kp + i] != 0; /* padding is zero */
                    continue;
                }
                float amax = 0;
                for (size_t j = i / 32 * 32; j < i / 32 * 32 + 32 && j < k; j++)
                    amax = fmaxf(amax, fabsf(x[rr * k + j]));
                float bound = fmaxf(ds / 2, amax - 127 * ds);
                bad += !(fabsf(y[rr * k + i] - x[rr * k + i]) <= bound * 1.000001f);
                bad += qv[rr * kp + i] < -127;
            }
        CHECK_EQ_INT(bad, 0);
        free(x), free(y), free(q), free(q2);
    }
}

int main(void)
{
    if (t_cpu_level_missing("test_dtype.c", b4k_cpu_level_name()))
        return 0;
    RUN(traits);
    RUN(torch_golden_casts);
    RUN(f16_all_values);
    RUN(fast_equals_ref_random_bits);
    RUN(q8_layout_bound_and_ref);
    return t_done();
}
