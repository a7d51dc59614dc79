/* Fuzz target: the safetensors reader, then the writer on what it read. */
#include <stdint.h>

#include "convert/ckpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    b4k_err err;
    b4k_ckpt *c = b4k_ckpt_new("fuzz", 0);
    if (!c)
        return 0;
    if (b4k_safetensors_read(c, data, size, "fuzz", 0, &err) == 0) {
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < c->n; i++)
            if (c->t[i].nbytes)
                sink ^= ((const uint8_t *)c->t[i].data)[c->t[i].nbytes - 1];
        (void)sink;
    }
    b4k_ckpt_free(c);
    return 0;
}
