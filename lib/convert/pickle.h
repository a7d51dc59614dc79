/* A strict, data-only pickle reader for torch.save state dicts.
 *
 * It implements the opcodes protocols 2-5 use for dicts, lists, tuples,
 * strings, numbers and persistent ids, and knows a fixed allow-list of
 * globals, none of which is ever called:
 *   collections.OrderedDict, torch._utils._rebuild_tensor(_v2),
 *   torch._utils._rebuild_parameter, torch.<T>Storage (dtype tags),
 *   builtins.set / argparse.Namespace / a few numpy scalar and array
 *   reconstructors / _codecs.encode (inert opaque objects, so that training
 *   metadata in Megatron/DeepSpeed checkpoints -- rng states, args -- does
 *   not stop a load).
 * Any other global is refused with B4K_EUNSUP naming it. */
#ifndef B4K_CONVERT_PICKLE_H
#define B4K_CONVERT_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "tensor/dtype.h"

enum {
    PK_NONE, PK_BOOL, PK_INT, PK_FLOAT, PK_STR, PK_BYTES, PK_TUPLE, PK_LIST, PK_DICT,
    PK_GLOBAL, PK_STORAGE, PK_TENSOR, PK_OBJ, PK_MARK
};

typedef struct pk_val pk_val;
struct pk_val {
    int type;
    int64_t i;            /* INT, BOOL; GLOBAL: id; STORAGE: numel */
    double f;
    const char *s;        /* STR/BYTES (borrowed from the input), STORAGE key */
    size_t slen;
    pk_val **items;       /* TUPLE/LIST; DICT: k0,v0,k1,v1,... */
    size_t n, cap;
    int dtype;            /* STORAGE, TENSOR: element type (ckpt.h) */
    pk_val *storage;      /* TENSOR */
    int64_t offset;       /* TENSOR: storage offset in elements */
    int ndim;
    int64_t shape[B4K_MAX_DIMS], stride[B4K_MAX_DIMS];
};

typedef struct pk_vm pk_vm;

pk_vm *pk_vm_new(void);
void pk_vm_free(pk_vm *vm);   /* frees every value it made */
/* Run one pickle starting at buf[*pos]; on success *out is the result and
 * *pos the offset after STOP.  name is used in messages. */
int pk_load(pk_vm *vm, const uint8_t *buf, size_t n, size_t *pos, pk_val **out,
            const char *name, b4k_err *err);

#endif
