/* .b4k writer: raw tensors produced (copied, filled, or a row slice at a
 * time from a producer), hashed and written a cache-sized slice at a time
 * while hot; q8 from f32 rows quantised slice by slice. */
#include <string.h>

#include "core/alloc.h"
#include "model/model_write_impl.h"

size_t b4k_mwi_nrows(const wtensor *t)
{
    return t->ndim ? (size_t)t->shape[0] : 1;
}

/* q8 row producers give f32: values per axis-0 row. */
size_t b4k_mwi_q8_row_f32(const wtensor *t)
{
    size_t n = 1;
    for (int d = 1; d < t->ndim; d++)
        n *= (size_t)t->shape[d];
    return n;
}

int b4k_mwi_alloc_fail(const wtensor *t, b4k_err *err)
{
    return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "tensor %s: out of memory", t->name);
}

/* The whole tensor in memory (a lazy or row-produced tensor, for zstd). */
int b4k_mwi_fill_now(wtensor *t, b4k_err *err)
{
    void *p = b4k_aligned_alloc(B4K_MODEL_ALIGN, t->raw ? t->raw : 1);
    int rc = 0;
    if (!p)
        return b4k_mwi_alloc_fail(t, err);
    if (t->fill)
        rc = t->fill(t->fill_ctx, p, t->raw, err);
    else if (t->raw && t->dtype == B4K_Q8) {
        size_t k = (size_t)t->shape[t->ndim - 1], n = b4k_mwi_nrows(t) * b4k_mwi_q8_row_f32(t);
        float *f = b4k_aligned_alloc(B4K_MODEL_ALIGN, n * 4 + 4);
        if (!f) {
            b4k_free(p);
            return b4k_mwi_alloc_fail(t, err);
        }
        if (!(rc = t->rows(t->fill_ctx, f, 0, b4k_mwi_nrows(t), err)))
            b4k_q8_quantize(p, f, n / k, k);
        b4k_free(f);
    } else if (t->raw)
        rc = t->rows(t->fill_ctx, p, 0, b4k_mwi_nrows(t), err);
    if (rc) {
        b4k_free(p);
        return rc;
    }
    t->owned = p;
    t->data = p;
    return 0;
}

void b4k_mwi_drop(wtensor *t)
{
    if (t->fill || t->rows) {
        b4k_free(t->owned);
        t->owned = NULL;
        t->data = NULL;
    }
}

int b4k_mwi_chunk_buf(b4k_mw *w, const wtensor *t, size_t bytes, b4k_err *err)
{
    if (w->chunk_cap >= bytes)
        return 0;
    b4k_free(w->chunk);
    w->chunk_cap = 0;
    if (!(w->chunk = b4k_aligned_alloc(B4K_MODEL_ALIGN, bytes)))
        return b4k_mwi_alloc_fail(t, err);
    w->chunk_cap = bytes;
    return 0;
}

/* Rows per slice of a row-produced tensor, and the slice's bytes. */
size_t b4k_mwi_row_step(const wtensor *t, size_t *rb)
{
    size_t nr = b4k_mwi_nrows(t), step;
    *rb = t->dtype == B4K_Q8 ? b4k_mwi_q8_row_f32(t) * 4 : t->raw / nr;
    step = *rb >= CHUNK ? 1 : CHUNK / *rb;
    if (step > 8) /* whole 8-row blocks for vectorised transposes */
        step &= ~(size_t)7;
    return step > nr ? nr : step;
}

/* Hash and write [p, p + n) a chunk at a time (each chunk still in cache
 * from the hash when the kernel copies it). */
static int put_hashed(sink *s, b4k_xxh64_state *h, const uint8_t *p, size_t n)
{
    while (n) {
        size_t k = n < CHUNK ? n : CHUNK;
        b4k_xxh64_update(h, p, k);
        if (s->put(s, p, k))
            return -1;
        p += k;
        n -= k;
    }
    return 0;
}

/* A q8 tensor from f32 rows: quantised a slice at a time (rows are
 * independent, so the bytes are those of quantising the whole tensor); the
 * int8 values are hashed and written at once, the f16 scales, which follow
 * all values in the planar layout, are kept (1/16 of the values) and
 * written last. */
static int stream_q8(b4k_mw *w, wtensor *t, sink *s, b4k_xxh64_state *h, b4k_err *err)
{
    size_t nr = b4k_mwi_nrows(t), k = (size_t)t->shape[t->ndim - 1];
    size_t per = b4k_mwi_q8_row_f32(t) / k;
    size_t kp = b4k_q8_kpad(k), sb = kp / B4K_Q8_BLOCK * 2, rb, step = b4k_mwi_row_step(t, &rb);
    uint8_t *q = NULL, *scales = NULL;
    int rc = 0;
    if ((rc = b4k_mwi_chunk_buf(w, t, step * rb, err)))
        return rc;
    q = b4k_aligned_alloc(B4K_MODEL_ALIGN, step * per * (kp + sb) + 1);
    scales = b4k_malloc(nr * per * sb + 1);
    if (!q || !scales) {
        rc = b4k_mwi_alloc_fail(t, err);
        goto done;
    }
    for (size_t r = 0; r < nr; r += step) {
        size_t n = nr - r < step ? nr - r : step, qr = n * per;
        if ((rc = t->rows(t->fill_ctx, w->chunk, r, n, err)))
            goto done;
        b4k_q8_quantize(q, w->chunk, qr, k);
        memcpy(scales + r * per * sb, q + qr * kp, qr * sb);
        b4k_xxh64_update(h, q, qr * kp);
        if (s->put(s, q, qr * kp)) {
            rc = -1;
            goto done;
        }
    }
    b4k_xxh64_update(h, scales, nr * per * sb);
    if (s->put(s, scales, nr * per * sb))
        rc = -1;
done:
    b4k_free(q);
    b4k_free(scales);
    return rc;
}

/* One raw tensor: produce, hash, write. */
int b4k_mwi_stream_raw(b4k_mw *w, wtensor *t, sink *s, b4k_err *err)
{
    b4k_xxh64_state h;
    int rc = 0;
    b4k_xxh64_init(&h, 0);
    if (t->rows && t->raw && t->dtype == B4K_Q8) {
        rc = stream_q8(w, t, s, &h, err);
        if (rc)
            return rc;
    } else if (t->rows && t->raw) {
        size_t nr = b4k_mwi_nrows(t), rb, step = b4k_mwi_row_step(t, &rb);
        if ((rc = b4k_mwi_chunk_buf(w, t, step * rb, err)))
            return rc;
        for (size_t r = 0; r < nr; r += step) {
            size_t k = nr - r < step ? nr - r : step;
            if ((rc = t->rows(t->fill_ctx, w->chunk, r, k, err)))
                return rc;
            b4k_xxh64_update(&h, w->chunk, k * rb);
            if (s->put(s, w->chunk, k * rb))
                return -1;
        }
    } else {
        if (t->fill && !t->data && (rc = b4k_mwi_fill_now(t, err)))
            return rc;
        if (t->check && (rc = t->check(t->check_ctx, err)))
            return rc;
        rc = put_hashed(s, &h, t->data, t->raw);
        b4k_mwi_drop(t);
        if (rc)
            return -1;
    }
    t->checksum = b4k_xxh64_digest(&h);
    return 0;
}

