/* Fuzz target: the safetensors reader, then the writer on what it read
 * (b4k_safetensors_write_mem) and the reader again: the same names, dtypes,
 * shapes and bytes must come back (abort otherwise). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "convert/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    b4k_err err;
    b4k_ckpt *c = b4k_ckpt_new("fuzz", 0), *d = NULL;
    b4k_buf out;
    b4k_buf_init(&out);
    if (!c)
        return 0;
    if (b4k_safetensors_read(c, data, size, "fuzz", 0, &err) == 0 &&
        b4k_safetensors_write_mem(&out, c->t, c->n, NULL, &err) == 0) {
        if (!(d = b4k_ckpt_new("fuzz2", 0)) ||
            b4k_safetensors_read(d, (const uint8_t *)out.data, out.len, "fuzz2", 0, &err) ||
            d->n != c->n)
            abort();
        for (size_t i = 0; i < c->n; i++) {
            const b4k_ctensor *a = &c->t[i], *b = b4k_ckpt_find(d, a->name);
            if (!b || b->dtype != a->dtype || b->ndim != a->ndim || b->nbytes != a->nbytes ||
                memcmp(b->shape, a->shape, (size_t)a->ndim * sizeof *a->shape) ||
                (a->nbytes && memcmp(a->data, b->data, a->nbytes)))
                abort();
        }
    }
    b4k_buf_free(&out);
    b4k_ckpt_free(d);
    b4k_ckpt_free(c);
    return 0;
}
