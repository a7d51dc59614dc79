/* Fuzz target: a whole TF checkpoint from memory (b4k_tf_read): the .index
 * table, then every tensor entry against its data shard (shard bounds, size
 * against shape, masked crc32c), as b4k_tf_open does with files.
 * Input: u32 LE index length L, the L index bytes, then the bytes of data
 * shard 0 (test/fuzz/tfbundle_seed.sh PREFIX writes one from a checkpoint).
 * Seeds: test/ref/gen_convert_tf.py (from our fixtures); test/data/convert.sh
 * also replays one made from the real keras-bert-test-checkpoint. */
#include <stdint.h>
#include <string.h>

#include "convert/ckpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    b4k_err err;
    b4k_tf_shard sh = {NULL, 0};
    uint32_t il = 0;
    b4k_ckpt *c;
    if (size >= 4)
        memcpy(&il, data, 4);
    if (size < 4 || il > size - 4) { /* all index, an empty shard */
        il = (uint32_t)size;
        sh.p = data + size;
    } else {
        data += 4;
        size -= 4;
        sh.p = data + il;
        sh.n = size - il;
    }
    for (unsigned flags = 0; flags <= B4K_CKPT_OPTIMIZER; flags += B4K_CKPT_OPTIMIZER) {
        if (!(c = b4k_ckpt_new("fuzz", flags)))
            return 0;
        if (b4k_tf_read(c, data, il, &sh, 1, "fuzz", &err) == 0) {
            volatile uint8_t x = 0; /* touch every tensor's last byte */
            for (size_t i = 0; i < c->n; i++)
                if (c->t[i].nbytes)
                    x ^= ((const uint8_t *)c->t[i].data)[c->t[i].nbytes - 1];
            (void)x;
        }
        b4k_ckpt_free(c);
    }
    return 0;
}
