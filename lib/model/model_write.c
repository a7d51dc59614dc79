/* .b4k writer: collects tensors, then streams the header and the
 * 64-byte-aligned data in one pass.  Same calls => same bytes (insertion
 * order, fixed key order, no timestamps), whichever way they are written.
 *
 * The header's length is fixed before any tensor is produced: it is that of
 * the header with zero checksums (fixed width), every zstd tensor's
 * stored_size at its worst case, ZSTD_compressBound(raw_size), and the
 * offsets that follow from those; the final header (real sizes and offsets
 * are no longer, digit for digit) is padded with spaces to that length.  So
 * a placeholder is written first, each raw tensor is produced / hashed /
 * written a cache-sized slice at a time while hot (model_write_stream.c),
 * each zstd tensor streamed through the compressor straight into its place
 * (model_write_zstd.c), and the final header is written over the
 * placeholder at the end.  Only a pipe, where nothing can be patched, needs
 * a first pass (raw tensors hashed, zstd ones compressed into a spill
 * file). */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/alloc.h"
#include "io/atomic.h"
#include "model/model_write_impl.h"

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
    return w;
}

void b4k_mw_free(b4k_mw *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->nt; i++) {
        b4k_free(w->t[i].name);
        b4k_free(w->t[i].owned);
    }
    b4k_mwi_zfree(w);
    b4k_free(w->t);
    b4k_free(w->chunk);
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

int b4k_mw_add_checked(b4k_mw *w, const char *name, int dtype, int ndim, const int64_t *shape,
                       const void *data, int codec, b4k_mw_check_fn check, void *ctx,
                       b4k_err *err)
{
    int rc = add(w, name, dtype, ndim, shape, data, NULL, codec, err);
    if (!rc) {
        w->t[w->nt - 1].check = check;
        w->t[w->nt - 1].check_ctx = ctx;
    }
    return rc;
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

int b4k_mw_add_rows(b4k_mw *w, const char *name, int dtype, int ndim, const int64_t *shape,
                    int codec, b4k_mw_rows_fn fill, void *ctx, b4k_err *err)
{
    const b4k_dtype_traits *tr = b4k_dtype_traits_of(dtype);
    if (!tr || (tr->blocked && (dtype != B4K_Q8 || ndim < 1 || !shape[ndim - 1])))
        return b4k_err_set(err, B4K_EINVAL, NULL, 0,
                           "tensor %s: row producers need an unblocked dtype or q8 (ndim >= 1, "
                           "K > 0)", name);
    int rc = add(w, name, dtype, ndim, shape, NULL, NULL, codec, err);
    if (!rc) {
        w->t[w->nt - 1].rows = fill;
        w->t[w->nt - 1].fill_ctx = ctx;
    }
    return rc;
}

int b4k_mw_set_done(b4k_mw *w, const char *name, b4k_mw_done_fn done, void *ctx)
{
    for (size_t i = w->nt; i-- > 0;)
        if (!strcmp(w->t[i].name, name)) {
            w->t[i].done = done;
            w->t[i].done_ctx = ctx;
            return 0;
        }
    return B4K_EINVAL;
}

/* The header text: magic, version, length, JSON, space padding.  bound:
 * with zero checksums and every zstd tensor at its worst-case size (the
 * reserved length); else the real values, padded to reserve bytes in all
 * (0: to the next multiple of 64). */
static int header(b4k_mw *w, b4k_buf *hdr, int bound, size_t reserve, b4k_err *err)
{
    json_t *root = NULL, *tens = NULL;
    int rc = B4K_ENOMEM;
    const char *k;
    json_t *v;
    uint64_t boff = 0;
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
        uint64_t off = t->offset, stored = t->stored, sum = t->checksum;
        if (bound) {
            stored = t->codec == B4K_CODEC_ZSTD ? ZSTD_compressBound(t->raw) : t->raw;
            off = boff;
            boff += (stored + B4K_MODEL_ALIGN - 1) / B4K_MODEL_ALIGN * B4K_MODEL_ALIGN;
            sum = 0;
        }
        if (!e || !sh || json_object_set_new(tens, t->name, e)) {
            json_decref(e);
            json_decref(sh);
            goto oom;
        }
        for (int d = 0; d < t->ndim; d++)
            json_array_append_new(sh, json_integer(t->shape[d]));
        snprintf(cks, sizeof cks, "xxh64:%016llx", (unsigned long long)sum);
        if (json_object_set_new(e, "dtype", json_string(b4k_dtype_name(t->dtype))) ||
            json_object_set_new(e, "shape", sh) ||
            json_object_set_new(e, "codec",
                                json_string(t->codec == B4K_CODEC_ZSTD ? "zstd" : "raw")) ||
            json_object_set_new(e, "offset", json_integer((json_int_t)off)) ||
            json_object_set_new(e, "stored_size", json_integer((json_int_t)stored)) ||
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
    if (reserve && hdr->len > reserve) {
        rc = b4k_err_set(err, B4K_EINVAL, NULL, 0,
                         "internal error: the header outgrew its reserved length");
        goto done;
    }
    while (reserve ? hdr->len < reserve : hdr->len % B4K_MODEL_ALIGN)
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
done:
    json_decref(tens);
    json_decref(root);
    return rc;
}

static const uint8_t zeros[B4K_MODEL_ALIGN];

/* Writeback of the output is started every FLUSH bytes (asynchronously:
 * sync_file_range(SYNC_FILE_RANGE_WRITE)), so the disk writes while the
 * next tensors are produced and the final fsync has little left to do, as
 * PostgreSQL's checkpoint_flush_after and RocksDB's bytes_per_sync do.  The
 * fsync at commit is still what makes the file durable. */
#define FLUSH ((uint64_t)8 << 20)

static int put_fd(sink *s, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t k = write(s->fd, c, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        c += k;
        n -= (size_t)k;
        s->pos += (uint64_t)k;
    }
    if (s->writeback && s->pos - s->flushed >= FLUSH) {
        /* a failure here is not an error: the fsync at commit reports it */
        sync_file_range(s->fd, (off64_t)s->flushed, (off64_t)(s->pos - s->flushed),
                        SYNC_FILE_RANGE_WRITE);
        s->flushed = s->pos;
    }
    return 0;
}

static int patch_fd(sink *s, const void *p, size_t n)
{
    const char *c = p;
    off_t off = 0;
    while (n) {
        ssize_t k = pwrite(s->fd, c, n, off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        c += k;
        off += k;
        n -= (size_t)k;
    }
    return 0;
}

static int put_none(sink *s, const void *p, size_t n)
{
    (void)s, (void)p, (void)n;
    return 0;
}

static int put_buf(sink *s, const void *p, size_t n)
{
    return b4k_buf_append(s->buf, p, n) ? -1 : 0;
}

static int patch_buf(sink *s, const void *p, size_t n)
{
    if (s->buf->len < n)
        return -1;
    memcpy(s->buf->data, p, n);
    return 0;
}

/* One pass over the tensors into s, laying them out as it goes (t->offset,
 * t->stored, t->checksum).  zstd tensors: compressed into s, or with
 * spill >= 0 into the spill file (fill) or copied from it (!fill).
 * Returns 0, -1 on a write error, or a B4K_E* code. */
static int pass(b4k_mw *w, sink *s, int spill, int fill, b4k_err *err)
{
    uint64_t off = 0, spos = 0;
    int rc;
    for (size_t i = 0; i < w->nt; i++) {
        wtensor *t = &w->t[i];
        size_t pad;
        t->offset = off;
        if (t->codec == B4K_CODEC_RAW) {
            t->stored = t->raw;
            rc = b4k_mwi_stream_raw(w, t, s, err);
        } else if (spill >= 0 && fill) {
            sink sp = {.put = put_fd, .patch = patch_fd, .fd = spill};
            t->zoff = spos;
            rc = b4k_mwi_stream_zstd(w, t, &sp, err);
            spos += t->stored;
            t->spilled = 1;
        } else if (spill >= 0 && t->spilled) {
            rc = b4k_mwi_put_spilled(w, s, spill, t);
        } else {
            rc = b4k_mwi_stream_zstd(w, t, s, err);
        }
        if (!rc && t->done && !(spill >= 0 && t->spilled && !fill))
            rc = t->done(t->done_ctx, t->checksum, err);
        if (rc)
            return rc;
        pad = (B4K_MODEL_ALIGN - t->stored % B4K_MODEL_ALIGN) % B4K_MODEL_ALIGN;
        if (i + 1 < w->nt && s->put(s, zeros, pad))
            return -1;
        off += t->stored + pad;
    }
    return 0;
}

/* The header (of the reserved length), then the tensors, then the final
 * header over the first when they differ.  pipe: nothing can be patched, so
 * a first pass computes the checksums and compresses into the spill file
 * (or, without one, just computes the sizes: then zstd tensors are
 * compressed twice).  Returns 0, -1 on a write error, or a B4K_E* code. */
static int emit(b4k_mw *w, sink *s, int pipe, int spill, b4k_err *err)
{
    b4k_buf hdr;
    size_t hlen;
    int rc;
    uint8_t *first = NULL;
    b4k_buf_init(&hdr);
    if ((rc = header(w, &hdr, 1, 0, err)))
        goto done;
    hlen = hdr.len;
    for (size_t i = 0; i < w->nt; i++)
        w->t[i].spilled = 0;
    if (pipe) {
        sink none = {.put = put_none, .patch = put_none, .fd = -1};
        if ((rc = pass(w, &none, spill, 1, err)) || (rc = header(w, &hdr, 0, hlen, err)))
            goto done;
    }
    rc = -1;
    if (s->put(s, hdr.data, hlen) || !(first = b4k_malloc(hlen)))
        goto done;
    memcpy(first, hdr.data, hlen);
    if ((rc = pass(w, s, spill, 0, err)) || (rc = header(w, &hdr, 0, hlen, err)))
        goto done;
    /* (already right after a first pass, unless a producer changed its
     * bytes: then patching a pipe fails, as it should) */
    rc = memcmp(first, hdr.data, hlen) && s->patch(s, hdr.data, hlen) ? -1 : 0;
done:
    b4k_mwi_zfree(w);
    b4k_free(first);
    b4k_buf_free(&hdr);
    return rc;
}

int b4k_mw_write(b4k_mw *w, const char *path, b4k_err *err)
{
    b4k_afile *af = NULL;
    sink s = {.put = put_fd, .patch = patch_fd, .fd = -1};
    int rc, spill = -1, pipe;
    rc = b4k_afile_open(&af, path, err);
    if (rc)
        goto fail;
    /* nothing goes through the FILE: the data is written with write(2) in
     * large chunks, the header with pwrite(2) at the end */
    s.fd = fileno(b4k_afile_fp(af));
    pipe = !b4k_afile_seekable(af);
    s.writeback = !pipe && b4k_afile_tmpname(af) != NULL;
    if (pipe)
        spill = b4k_mwi_open_spill(w);
    rc = emit(w, &s, pipe, spill, err);
    if (spill >= 0)
        close(spill);
    if (rc) {
        if (rc == -1)
            rc = b4k_err_set(err, B4K_EIO, path, 0, "write failed: %s", strerror(errno));
        goto fail;
    }
    rc = b4k_afile_commit(af, err);
    af = NULL;
fail:
    b4k_afile_abort(af);
    return rc;
}

int b4k_mw_write_mem(b4k_mw *w, uint8_t **out, size_t *n, b4k_err *err)
{
    b4k_buf body;
    sink s = {.put = put_buf, .patch = patch_buf, .fd = -1, .buf = &body};
    int rc;
    *out = NULL;
    *n = 0;
    b4k_buf_init(&body);
    if ((rc = emit(w, &s, 0, -1, err)) == -1)
        rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
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

