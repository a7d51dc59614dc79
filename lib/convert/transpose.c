/* b4k-convert's transposes (HF Conv1D and TF kernels are stored (in, out);
 * .b4k wants (out, in)): the portable tiled twin, and the dispatch to
 * transpose_avx2.c for f32. */
#include <stdint.h>
#include <string.h>

#include "convert/convert_impl.h"
#include "core/cpu.h"

/* Rows [j0, j1) of out (cols, rows) <- in (rows, cols), element size es,
 * for input rows [ia, ib) only: out row j is column j of in.  Tiles of 8
 * columns x 64 rows: each input cache line is read once per tile; the
 * caller keeps j1 - j0 small enough that out fits in cache.  The portable
 * twin of b4k_cv_transpose_f32_avx2. */
static void transpose_ref(uint8_t *d, const uint8_t *s, size_t rows, size_t cols, size_t ia,
                          size_t ib, size_t j0, size_t j1, size_t es)
{
    for (size_t i0 = ia; i0 < ib; i0 += 64) {
        size_t i1 = i0 + 64 < ib ? i0 + 64 : ib;
        for (size_t jb = j0; jb < j1; jb += 8) {
            size_t je = jb + 8 < j1 ? jb + 8 : j1;
            if (es == 4 && je - jb == 8) {
                for (size_t i = i0; i < i1; i++) {
                    uint32_t v[8];
                    memcpy(v, s + (i * cols + jb) * 4, 32);
                    for (size_t j = 0; j < 8; j++)
                        memcpy(d + ((jb - j0 + j) * rows + i) * 4, &v[j], 4);
                }
            } else if (es == 4) { /* constant size: inlined */
                for (size_t i = i0; i < i1; i++)
                    for (size_t j = jb; j < je; j++)
                        memcpy(d + ((j - j0) * rows + i) * 4, s + (i * cols + j) * 4, 4);
            } else {
                for (size_t i = i0; i < i1; i++)
                    for (size_t j = jb; j < je; j++)
                        memcpy(d + ((j - j0) * rows + i) * es, s + (i * cols + j) * es, es);
            }
        }
    }
}

void b4k_cv_transpose_rows(void *out, const void *in, size_t rows, size_t cols, size_t j0,
                           size_t j1, size_t es)
{
    uint8_t *d = out;
    const uint8_t *s = in;
    if (es == 4 && b4k_cpu_has(B4K_CPU_AVX2)) {
        size_t r8 = rows / 8 * 8, jend = j0 + (j1 - j0) / 8 * 8;
        b4k_cv_transpose_f32_avx2(out, in, rows, cols, j0, j1);
        if (r8 < rows) /* the last rows % 8 input rows, for the 8x8 columns */
            transpose_ref(d, s, rows, cols, r8, rows, j0, jend, 4);
        if (jend < j1) /* the last (j1 - j0) % 8 output rows */
            transpose_ref(d + (jend - j0) * rows * 4, s, rows, cols, 0, rows, jend, j1, 4);
        return;
    }
    transpose_ref(d, s, rows, cols, 0, rows, j0, j1, es);
}

void b4k_cv_transpose(void *out, const void *in, size_t rows, size_t cols, size_t es)
{
    for (size_t j = 0; j < cols; j += 64)
        b4k_cv_transpose_rows((uint8_t *)out + j * rows * es, in, rows, cols, j,
                       j + 64 < cols ? j + 64 : cols, es);
}
