/* Fuzz target: the TF checkpoint .index reader (SSTable blocks, restart
 * points, footer, block crc32c, BundleHeader/BundleEntry protobufs). */
#include <stdint.h>

#include "convert/ckpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    b4k_tf_entry *e;
    size_t n;
    int shards;
    b4k_err err;
    if (b4k_tf_index_parse(data, size, "fuzz", &e, &n, &shards, &err) == 0)
        b4k_tf_entries_free(e, n);
    return 0;
}
