/* safetensors reader (in ckpt.h: b4k_safetensors_read) and writer. */
#ifndef B4K_CONVERT_SAFETENSORS_H
#define B4K_CONVERT_SAFETENSORS_H

#include "convert/ckpt.h"

/* "F32", "BF16", ... or NULL if the dtype has no safetensors name. */
const char *b4k_safetensors_dtype_name(int dtype);
/* Write n tensors (in this order) atomically; metadata (object of strings,
 * may be NULL) becomes "__metadata__". */
int b4k_safetensors_write(const char *path, const b4k_ctensor *t, size_t n, json_t *metadata,
                          b4k_err *err);
/* The same bytes into out (reset first), for tests and the fuzzer. */
int b4k_safetensors_write_mem(b4k_buf *out, const b4k_ctensor *t, size_t n, json_t *metadata,
                              b4k_err *err);

#endif
