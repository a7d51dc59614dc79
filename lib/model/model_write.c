/* .b4k writer: collects tensors, compresses zstd ones, hashes the stored
 * bytes, then writes header + 64-byte-aligned data.  Same calls => same
 * bytes (insertion order, fixed key order, no timestamps). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "io/atomic.h"
#include "model/model.h"

typedef struct wtensor {
    char *name;
    int dtype, ndim, codec;
    int64_t shape[B4K_MAX_DIMS];
    const void *data;
    void *owned;       /* data we free */
    b4k_mw_fill_fn fill; /* lazy tensor: produces the bytes on demand */
    void *fill_ctx;
    size_t raw;
    void *zbuf;        /* compressed bytes (zstd codec) */
    size_t stored;
    uint64_t offset, checksum;
} wtensor;

struct b4k_mw {
    char *arch;
    json_t *config, *tok, *meta;
    wtensor *t;
    size_t nt, cap;
    int zlevel, zthreads;
    int written;
    size_t kept;       /* bytes of lazy tensors kept filled after prepare */
    size_t budget;     /* limit for kept */
};

b4k_mw *b4k_mw_new(const char *arch)
{
    b4k_mw *w = b4k_calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->arch = b4k_strdup(arch ? arch : "");
    w->meta = json_object();
    if (!w->arch || !w->meta) {
        b4k_mw_free(w);
        return NULL;
    }
    w->zlevel = 3;
    w->budget = (size_t)1 << 30;
    return w;
}

void b4k_mw_free(b4k_mw *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->nt; i++) {
        b4k_free(w->t[i].name);
        b4k_free(w->t[i].owned);
        b4k_free(w->t[i].zbuf);
    }
    b4k_free(w->t);
    json_decref(w->config);
    json_decref(w->tok);
    json_decref(w->meta);
    b4k_free(w->arch);
    b4k_free(w);
}

int b4k_mw_set_config(b4k_mw *w, json_t *config)
{
    if (config && !json_is_object(config))
        return B4K_EINVAL;
    json_decref(w->config);
    w->config = json_incref(config);
    return 0;
}

int b4k_mw_set_tokenizer(b4k_mw *w, json_t *tok)
{
    if (tok && !json_is_object(tok))
        return B4K_EINVAL;
    json_decref(w->tok);
    w->tok = json_incref(tok);
    return 0;
}

int b4k_mw_set_meta(b4k_mw *w, const char *key, json_t *value)
{
    static const char *reserved[] = {"architecture", "config", "tokenizer", "tensors",
                                     "zstd_level"};
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
        if (!strcmp(key, reserved[i]))
            return B4K_EINVAL;
    return json_object_set(w->meta, key, value) ? B4K_ENOMEM : 0;
}

void b4k_mw_set_zstd(b4k_mw *w, int level, int threads)
{
    w->zlevel = level;
    w->zthreads = threads < 0 ? 0 : threads;
}

static int add(b4k_mw *w, const char *name, int dtype, int ndim, const int64_t *shape,
               const void *data, void *owned, int codec, b4k_err *err)
{
    wtensor *t;
    size_t raw;
    if (!name || !*name || strlen(name) > 4096) {
        b4k_free(owned);
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "bad tensor name");
    }
    if (b4k_dtype_nbytes(dtype, ndim, shape, &raw) || (codec != B4K_CODEC_RAW &&
                                                        codec != B4K_CODEC_ZSTD)) {
        b4k_free(owned);
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "tensor %s: bad dtype, shape or codec",
                           name);
    }
    for (size_t i = 0; i < w->nt; i++)
        if (!strcmp(w->t[i].name, name)) {
            b4k_free(owned);
            return b4k_err_set(err, B4K_EINVAL, NULL, 0, "duplicate tensor %s", name);
        }
    if (B4K_GROW(w->t, w->cap, w->nt + 1)) {
        b4k_free(owned);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    t = &w->t[w->nt];
    memset(t, 0, sizeof *t);
    t->name = b4k_strdup(name);
    if (!t->name) {
        b4k_free(owned);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->codec = codec;
    t->data = owned ? owned : data;
    t->owned = owned;
    t->raw = raw;
    w->nt++;
    return 0;
}

int b4k_mw_add(b4k_mw *w, const char *name, int dtype, int ndim, const int64_t *shape,
               const void *data, int codec, b4k_err *err)
{
    return add(w, name, dtype, ndim, shape, data, NULL, codec, err);
}

int b4k_mw_add_owned(b4k_mw *w, const char *name, int dtype, int ndim, const int64_t *shape,
                     void *data, int codec, b4k_err *err)
{
    return add(w, name, dtype, ndim, shape, NULL, data ? data : b4k_malloc(1), codec, err);
}

int b4k_mw_add_copy(b4k_mw *w, const char *name, int dtype, int ndim, const int64_t *shape,
                    const void *data, int codec, b4k_err *err)
{
    size_t raw;
    void *p;
    if (b4k_dtype_nbytes(dtype, ndim, shape, &raw))
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "tensor %s: bad dtype or shape", name);
    p = b4k_aligned_alloc(B4K_MODEL_ALIGN, raw ? raw : 1);
    if (!p)
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    if (raw)
        memcpy(p, data, raw);
    return add(w, name, dtype, ndim, shape, NULL, p, codec, err);
}

int b4k_mw_add_f32(b4k_mw *w, const char *name, int dtype, int ndim, const int64_t *shape,
                   const float *data, int codec, b4k_err *err)
{
    size_t raw, n;
    void *p;
    if (b4k_dtype_nbytes(dtype, ndim, shape, &raw) || b4k_shape_numel(ndim, shape, &n) ||
        !b4k_dtype_traits_of(dtype)->is_float || (dtype == B4K_Q8 && ndim < 1))
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "tensor %s: bad dtype or shape", name);
    p = b4k_aligned_alloc(B4K_MODEL_ALIGN, raw ? raw : 1);
    if (!p)
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    if (n || dtype == B4K_Q8) {
        size_t k = ndim ? (size_t)shape[ndim - 1] : 1;
        if (dtype == B4K_Q8 && k == 0)
            memset(p, 0, raw);
        else
            b4k_dtype_from_f32(p, dtype, data, n, k);
    }
    return add(w, name, dtype, ndim, shape, NULL, p, codec, err);
}

int b4k_mw_add_blob(b4k_mw *w, const char *name, const void *data, size_t n, int codec,
                    b4k_err *err)
{
    int64_t shape[1] = {(int64_t)n};
    return b4k_mw_add_copy(w, name, B4K_U8, 1, shape, data, codec, err);
}

int b4k_mw_add_lazy(b4k_mw *w, const char *name, int dtype, int ndim, const int64_t *shape,
                    int codec, b4k_mw_fill_fn fill, void *ctx, b4k_err *err)
{
    int rc = add(w, name, dtype, ndim, shape, NULL, NULL, codec, err);
    if (!rc) {
        w->t[w->nt - 1].fill = fill;
        w->t[w->nt - 1].fill_ctx = ctx;
    }
    return rc;
}

void b4k_mw_set_memory(b4k_mw *w, size_t bytes) { w->budget = bytes; }

static int fill_now(wtensor *t, b4k_err *err)
{
    void *p = b4k_aligned_alloc(B4K_MODEL_ALIGN, t->raw ? t->raw : 1);
    int rc;
    if (!p)
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "tensor %s: out of memory", t->name);
    rc = t->fill(t->fill_ctx, p, t->raw, err);
    if (rc) {
        b4k_free(p);
        return rc;
    }
    t->owned = p;
    t->data = p;
    return 0;
}

/* Compress, hash and lay out every tensor; build the header text. */
static int prepare(b4k_mw *w, b4k_buf *hdr, b4k_err *err)
{
    ZSTD_CCtx *cc = NULL;
    json_t *root = NULL, *tens = NULL;
    uint64_t off = 0;
    int rc = B4K_ENOMEM;
    const char *k;
    json_t *v;

    for (size_t i = 0; i < w->nt; i++) {
        wtensor *t = &w->t[i];
        if (t->fill && !t->data && (rc = fill_now(t, err)))
            goto fail;
        if (t->codec == B4K_CODEC_ZSTD && !t->zbuf) {
            size_t bound = ZSTD_compressBound(t->raw), got;
            if (!cc) {
                cc = ZSTD_createCCtx();
                if (!cc)
                    goto oom;
                ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, w->zlevel);
                ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 1);
                ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 0);
                /* Always multi-threaded mode (>= 1 worker): its output is the
                 * same for any number of workers, so bytes never depend on
                 * --threads.  (A libzstd without threads ignores this.) */
                ZSTD_CCtx_setParameter(cc, ZSTD_c_nbWorkers, w->zthreads > 0 ? w->zthreads : 1);
            }
            t->zbuf = b4k_malloc(bound);
            if (!t->zbuf)
                goto oom;
            got = ZSTD_compress2(cc, t->zbuf, bound, t->data, t->raw);
            if (ZSTD_isError(got)) {
                rc = b4k_err_set(err, B4K_EIO, NULL, 0, "tensor %s: zstd: %s", t->name,
                                 ZSTD_getErrorName(got));
                goto fail;
            }
            t->stored = got;
        } else if (t->codec == B4K_CODEC_RAW) {
            t->stored = t->raw;
        }
        t->checksum = b4k_xxh64(t->codec == B4K_CODEC_ZSTD ? t->zbuf : t->data, t->stored, 0);
        if (t->fill && t->owned) { /* drop what is not needed again */
            if (t->codec == B4K_CODEC_RAW && w->kept + t->raw <= w->budget) {
                w->kept += t->raw;
            } else {
                b4k_free(t->owned);
                t->owned = NULL;
                t->data = NULL;
            }
        }
        t->offset = off;
        off += (t->stored + B4K_MODEL_ALIGN - 1) / B4K_MODEL_ALIGN * B4K_MODEL_ALIGN;
    }
    root = json_object();
    tens = json_object();
    if (!root || !tens || json_object_set_new(root, "architecture", json_string(w->arch)) ||
        json_object_set_new(root, "config", w->config ? json_incref(w->config) : json_object()) ||
        json_object_set_new(root, "tokenizer", w->tok ? json_incref(w->tok) : json_null()))
        goto oom;
    json_object_foreach(w->meta, k, v) {
        if (json_object_set(root, k, v))
            goto oom;
    }
    for (size_t i = 0; i < w->nt; i++)
        if (w->t[i].codec == B4K_CODEC_ZSTD) { /* so a re-encode can match the bytes */
            if (json_object_set_new(root, "zstd_level", json_integer(w->zlevel)))
                goto oom;
            break;
        }
    for (size_t i = 0; i < w->nt; i++) {
        wtensor *t = &w->t[i];
        json_t *e = json_object(), *sh = json_array();
        char cks[32];
        if (!e || !sh || json_object_set_new(tens, t->name, e)) {
            json_decref(e);
            json_decref(sh);
            goto oom;
        }
        for (int d = 0; d < t->ndim; d++)
            json_array_append_new(sh, json_integer(t->shape[d]));
        snprintf(cks, sizeof cks, "xxh64:%016llx", (unsigned long long)t->checksum);
        if (json_object_set_new(e, "dtype", json_string(b4k_dtype_name(t->dtype))) ||
            json_object_set_new(e, "shape", sh) ||
            json_object_set_new(e, "codec",
                                json_string(t->codec == B4K_CODEC_ZSTD ? "zstd" : "raw")) ||
            json_object_set_new(e, "offset", json_integer((json_int_t)t->offset)) ||
            json_object_set_new(e, "stored_size", json_integer((json_int_t)t->stored)) ||
            json_object_set_new(e, "raw_size", json_integer((json_int_t)t->raw)) ||
            json_object_set_new(e, "checksum", json_string(cks)))
            goto oom;
    }
    if (json_object_set_new(root, "tensors", tens)) {
        tens = NULL;
        goto oom;
    }
    tens = NULL;
    b4k_buf_reset(hdr);
    if (b4k_buf_append(hdr, "B4K\0\1\0\0\0\0\0\0\0\0\0\0\0", 16) || b4k_jsonl_dump(hdr, root))
        goto oom;
    while (hdr->len % B4K_MODEL_ALIGN)
        if (b4k_buf_putc(hdr, ' '))
            goto oom;
    {
        uint64_t hlen = hdr->len - 16;
        memcpy(hdr->data + 8, &hlen, 8);
    }
    rc = 0;
    goto done;
oom:
    rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
fail:
done:
    json_decref(tens);
    json_decref(root);
    ZSTD_freeCCtx(cc);
    return rc;
}

static const uint8_t zeros[B4K_MODEL_ALIGN];

typedef int (*sink_fn)(void *ctx, const void *p, size_t n);

/* Returns 0, -1 on a write error, or a B4K_E* code from a lazy fill. */
static int emit(b4k_mw *w, const b4k_buf *hdr, sink_fn put, void *ctx, b4k_err *err)
{
    if (put(ctx, hdr->data, hdr->len))
        return -1;
    for (size_t i = 0; i < w->nt; i++) {
        wtensor *t = &w->t[i];
        size_t pad = (B4K_MODEL_ALIGN - t->stored % B4K_MODEL_ALIGN) % B4K_MODEL_ALIGN;
        int refilled = 0, rc;
        if (t->codec == B4K_CODEC_RAW && t->fill && !t->data) {
            if ((rc = fill_now(t, err)))
                return rc;
            refilled = 1;
            if (b4k_xxh64(t->data, t->raw, 0) != t->checksum)
                return b4k_err_set(err, B4K_EINVAL, NULL, 0,
                                   "tensor %s: producer is not deterministic", t->name);
        }
        rc = put(ctx, t->codec == B4K_CODEC_ZSTD ? t->zbuf : t->data, t->stored) ||
             (i + 1 < w->nt && put(ctx, zeros, pad));
        if (refilled || (t->fill && t->owned)) {
            b4k_free(t->owned);
            t->owned = NULL;
            t->data = NULL;
        }
        if (rc)
            return -1;
    }
    return 0;
}

static int put_file(void *ctx, const void *p, size_t n)
{
    return n && fwrite(p, 1, n, (FILE *)ctx) != n ? -1 : 0;
}

static int put_buf(void *ctx, const void *p, size_t n)
{
    return b4k_buf_append((b4k_buf *)ctx, p, n) ? -1 : 0;
}

int b4k_mw_write(b4k_mw *w, const char *path, b4k_err *err)
{
    b4k_buf hdr;
    b4k_afile *af = NULL;
    int rc;
    b4k_buf_init(&hdr);
    rc = prepare(w, &hdr, err);
    if (rc)
        goto fail;
    rc = b4k_afile_open(&af, path, err);
    if (rc)
        goto fail;
    if ((rc = emit(w, &hdr, put_file, b4k_afile_fp(af), err))) {
        if (rc == -1)
            rc = b4k_err_set(err, B4K_EIO, path, 0, "write failed: %s", strerror(errno));
        goto fail;
    }
    rc = b4k_afile_commit(af, err);
    af = NULL;
fail:
    b4k_afile_abort(af);
    b4k_buf_free(&hdr);
    return rc;
}

int b4k_mw_write_mem(b4k_mw *w, uint8_t **out, size_t *n, b4k_err *err)
{
    b4k_buf hdr, body;
    int rc;
    *out = NULL;
    *n = 0;
    b4k_buf_init(&hdr);
    b4k_buf_init(&body);
    rc = prepare(w, &hdr, err);
    if (!rc && (rc = emit(w, &hdr, put_buf, &body, err)) == -1)
        rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    b4k_buf_free(&hdr);
    if (rc) {
        b4k_buf_free(&body);
        return rc;
    }
    *out = (uint8_t *)body.data;
    *n = body.len;
    if (!*out)
        *out = b4k_malloc(1);
    return 0;
}
