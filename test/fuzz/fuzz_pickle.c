/* Fuzz target: torch.save files (zip container, legacy stream) through the
 * data-only pickle VM, including tensor materialisation (strides, storage
 * bounds) and the zip entries' CRC-32. */
#include <stdint.h>

#include "convert/ckpt.h"
#include "convert/pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    b4k_err err;
    b4k_ckpt *c = b4k_ckpt_new("fuzz", 0);
    if (c) {
        if (b4k_torch_read(c, data, size, "fuzz", 0, &err) == 0)
            b4k_ckpt_verify_all(c, &err); /* zip entries' CRC-32 */
        b4k_ckpt_free(c);
    }
    /* and the bare pickle VM on the same bytes */
    pk_vm *vm = pk_vm_new();
    pk_val *v;
    size_t pos = 0;
    if (vm)
        pk_load(vm, data, size, &pos, &v, "fuzz", &err);
    pk_vm_free(vm);
    return 0;
}
