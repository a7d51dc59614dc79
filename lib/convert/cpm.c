/* Merge Megatron model-parallel shards (CPM-LM) into one state dict:
 *   word embeddings                  concat axis 0 (vocab-parallel)
 *   attention.query_key_value.*      per rank [q_r; k_r; v_r] -> [q; k; v]
 *                                    with q = [q_0; q_1; ...] (heads by rank)
 *   attention.dense.weight,
 *   mlp.dense_4h_to_h.weight         concat axis 1; their bias from rank 0
 *   mlp.dense_h_to_4h.*              concat axis 0
 *   everything else                  rank 0 (same shape on every rank) */
#include <stdlib.h>
#include <string.h>

#include "convert/convert.h"
#include "core/alloc.h"

int b4k_cpm_rank(const char *path)
{
    const char *p = NULL, *q = path;
    long r;
    char *end;
    while ((q = strstr(q, "mp_rank_"))) /* the last one: the file, else its folder */
        p = q++;
    if (!p || p[8] < '0' || p[8] > '9')
        return -1;
    r = strtol(p + 8, &end, 10);
    return r > 100000 ? -1 : (int)r;
}

int b4k_cpm_order(b4k_ckpt *const *shards, const char *const *files, int k, int *order,
                  b4k_err *err)
{
    for (int i = 0; i < k; i++)
        order[i] = -1;
    for (int i = 0; i < k; i++) {
        json_t *w = json_object_get(shards[i]->meta, "mp_world_size");
        int r = b4k_cpm_rank(files[i]);
        if (json_is_integer(w) && json_integer_value(w) != k)
            return b4k_err_set(err, B4K_EFORMAT, files[i], 0,
                               "mp-shard mismatch: the shard says mp_world_size %lld but %d "
                               "shard%s given (give every mp_rank_NN file)",
                               (long long)json_integer_value(w), k, k == 1 ? " was" : "s were");
        if (r < 0 && k == 1)
            r = 0; /* an unsplit state dict under any name */
        if (r < 0)
            return b4k_err_set(err, B4K_EFORMAT, files[i], 0,
                               "mp-shard mismatch: cannot tell the model-parallel rank of this "
                               "shard (its path has no mp_rank_NN)");
        if (r >= k)
            return b4k_err_set(err, B4K_EFORMAT, files[i], 0,
                               "mp-shard mismatch: this is rank %d but %d shard%s given (ranks "
                               "0..%d)", r, k, k == 1 ? " was" : "s were", k - 1);
        if (order[r] >= 0)
            return b4k_err_set(err, B4K_EFORMAT, files[i], 0,
                               "mp-shard mismatch: rank %d again (also %s)", r, files[order[r]]);
        order[r] = i;
    }
    return 0; /* k distinct ranks in [0, k): no gaps */
}

static const char *strip(const char *s) { return strncmp(s, "module.", 7) ? s : s + 7; }

/* With a ['module'] state dict, the other top-level tensors (rng states,
 * optimizer) are training state, not weights. */
static int has_module(const b4k_ckpt *c)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strncmp(c->t[i].name, "module.", 7))
            return 1;
    return 0;
}

static size_t count_weights(const b4k_ckpt *c, int mod)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++)
        n += !mod || !strncmp(c->t[i].name, "module.", 7);
    return n;
}
static int ends(const char *s, const char *p)
{
    size_t a = strlen(s), b = strlen(p);
    return a >= b && !strcmp(s + a - b, p);
}

/* Concatenate k parts along axis (0 or 1) of a tensor whose rows are shape[0]
 * and row bytes the rest.  parts[i] are (shape with axis size ai). */
static int concat(b4k_ckpt *out, const char *name, b4k_ctensor **parts,
                  const char *const *files, int k, int axis, b4k_err *err)
{
    const b4k_ctensor *p0 = parts[0];
    int64_t shape[B4K_MAX_DIMS];
    size_t es = b4k_src_elem_size(p0->dtype), total = 0, rows, inner = 1;
    memcpy(shape, p0->shape, sizeof shape);
    if (axis >= p0->ndim)
        return b4k_err_set(err, B4K_EFORMAT, files[0], 0, "mp-shard mismatch: %s has %d dims",
                           name, p0->ndim);
    shape[axis] = 0;
    for (int i = 0; i < k; i++) {
        if (parts[i]->dtype != p0->dtype || parts[i]->ndim != p0->ndim)
            return b4k_err_set(err, B4K_EFORMAT, files[i], 0,
                               "mp-shard mismatch: %s differs in dtype or rank from rank 0",
                               name);
        for (int d = 0; d < p0->ndim; d++)
            if (d != axis && parts[i]->shape[d] != p0->shape[d])
                return b4k_err_set(err, B4K_EFORMAT, files[i], 0,
                                   "mp-shard mismatch: %s dimension %d is %lld here, %lld on "
                                   "rank 0", name, d, (long long)parts[i]->shape[d],
                                   (long long)p0->shape[d]);
        shape[axis] += parts[i]->shape[axis];
        total += parts[i]->nbytes;
    }
    /* spans, not a copy: the merged bytes are read from the shards' maps
     * when the tensor is written (memory stays ~ one write chunk) */
    rows = (size_t)p0->shape[0];
    for (int d = 2; d < p0->ndim; d++)
        inner *= (size_t)p0->shape[d];
    size_t ns = axis == 0 ? (size_t)k : rows * (size_t)k, o = 0;
    b4k_cspan *sp = b4k_malloc_n(ns ? ns : 1, sizeof *sp);
    (void)total;
    if (!sp)
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    if (axis == 0) {
        for (int i = 0; i < k; i++)
            sp[o++] = (b4k_cspan){parts[i]->data, parts[i]->nbytes};
    } else {
        for (size_t r = 0; r < rows; r++)
            for (int i = 0; i < k; i++) {
                size_t rb = (size_t)parts[i]->shape[1] * inner * es;
                sp[o++] = (b4k_cspan){(const uint8_t *)parts[i]->data + r * rb, rb};
            }
    }
    return b4k_ckpt_add_spans(out, name, p0->dtype, p0->ndim, shape, sp, ns, err);
}

static int merge_qkv(b4k_ckpt *out, const char *name, b4k_ctensor **parts,
                     const char *const *files, int k, b4k_err *err)
{
    const b4k_ctensor *p0 = parts[0];
    size_t total = 0, o = 0;
    int64_t shape[B4K_MAX_DIMS];
    for (int i = 0; i < k; i++) {
        if (parts[i]->dtype != p0->dtype || parts[i]->ndim != p0->ndim ||
            parts[i]->shape[0] % 3 || parts[i]->shape[0] != p0->shape[0] ||
            (p0->ndim > 1 && parts[i]->shape[1] != p0->shape[1]))
            return b4k_err_set(err, B4K_EFORMAT, files[i], 0,
                               "mp-shard mismatch: %s has shape [%lld...] here, [%lld...] on "
                               "rank 0", name, (long long)parts[i]->shape[0],
                               (long long)p0->shape[0]);
        total += parts[i]->nbytes;
    }
    if (p0->ndim < 1 || p0->shape[0] % 3)
        return b4k_err_set(err, B4K_EFORMAT, files[0], 0, "%s: rows not a multiple of 3", name);
    b4k_cspan *sp = b4k_malloc_n(3 * (size_t)k, sizeof *sp);
    (void)total;
    if (!sp)
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    for (int part = 0; part < 3; part++)
        for (int i = 0; i < k; i++) {
            size_t third = parts[i]->nbytes / 3;
            sp[o++] = (b4k_cspan){(const uint8_t *)parts[i]->data + (size_t)part * third, third};
        }
    memcpy(shape, p0->shape, sizeof shape);
    shape[0] *= k;
    return b4k_ckpt_add_spans(out, name, p0->dtype, p0->ndim, shape, sp, 3 * (size_t)k, err);
}

int b4k_cpm_merge(b4k_ckpt **out, b4k_ckpt **shards, const char *const *files, int k,
                  b4k_err *err)
{
    b4k_ckpt *m = b4k_ckpt_new("megatron-merged", 0);
    b4k_ctensor **parts = NULL;
    int rc = 0, mod = has_module(shards[0]);
    *out = NULL;
    if (!m || !(parts = b4k_malloc_n((size_t)k, sizeof *parts))) {
        b4k_ckpt_free(m);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    for (int i = 1; i < k; i++)
        if (count_weights(shards[i], mod) != count_weights(shards[0], mod)) {
            rc = b4k_err_set(err, B4K_EFORMAT, files[i], 0,
                             "mp-shard mismatch: %zu tensors here, %zu in rank 0 (%s)",
                             count_weights(shards[i], mod), count_weights(shards[0], mod),
                             files[0]);
            goto done;
        }
    for (size_t t = 0; t < shards[0]->n; t++) {
        if (mod && strncmp(shards[0]->t[t].name, "module.", 7))
            continue;
        const char *name = strip(shards[0]->t[t].name);
        for (int i = 0; i < k; i++) {
            parts[i] = NULL;
            for (size_t j = 0; j < shards[i]->n; j++)
                if ((!mod || !strncmp(shards[i]->t[j].name, "module.", 7)) &&
                    !strcmp(strip(shards[i]->t[j].name), name)) {
                    parts[i] = &shards[i]->t[j];
                    break;
                }
            if (!parts[i]) {
                rc = b4k_err_set(err, B4K_EFORMAT, files[i], 0,
                                 "mp-shard mismatch: %s is missing (rank 0 has it)", name);
                goto done;
            }
            /* merged tensors are spans over the shards: verified now */
            if ((rc = b4k_ckpt_verify(parts[i], err)))
                goto done;
        }
        if (!strcmp(name, "word_embeddings.weight") || ends(name, "mlp.dense_h_to_4h.weight") ||
            ends(name, "mlp.dense_h_to_4h.bias"))
            rc = concat(m, name, parts, files, k, 0, err);
        else if (ends(name, "attention.query_key_value.weight") ||
                 ends(name, "attention.query_key_value.bias"))
            rc = merge_qkv(m, name, parts, files, k, err);
        else if (ends(name, "attention.dense.weight") || ends(name, "mlp.dense_4h_to_h.weight"))
            rc = concat(m, name, parts, files, k, 1, err);
        else {
            for (int i = 1; i < k; i++)
                if (parts[i]->nbytes != parts[0]->nbytes || parts[i]->ndim != parts[0]->ndim) {
                    rc = b4k_err_set(err, B4K_EFORMAT, files[i], 0,
                                     "mp-shard mismatch: %s differs in shape from rank 0", name);
                    goto done;
                }
            rc = b4k_ckpt_add(m, name, parts[0]->dtype, parts[0]->ndim, parts[0]->shape,
                              parts[0]->data, parts[0]->nbytes, NULL, err);
        }
        if (rc)
            goto done;
    }
done:
    b4k_free(parts);
    if (rc) {
        b4k_ckpt_free(m);
        return rc;
    }
    *out = m;
    return 0;
}
