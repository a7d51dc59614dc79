/* Fuzz target: the .b4k reader on a memory buffer, then every tensor
 * (checksums, zstd decompression, f32 conversion). */
#include <stdint.h>

#include "core/alloc.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    b4k_model *m;
    b4k_err e;
    if (b4k_model_open_mem(&m, data, size, "fuzz", &e))
        return 0;
    for (size_t i = 0; i < b4k_model_count(m); i++) {
        b4k_tensor_view v;
        float *f;
        if (b4k_model_get_at(m, i, &v, &e))
            continue;
        if (b4k_model_get_f32(m, b4k_model_tensor_name(m, i), &f, &v, &e) == 0)
            b4k_free(f);
    }
    b4k_model_free(m);
    return 0;
}
