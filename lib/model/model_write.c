/* .b4k writer: collects tensors, compresses zstd ones, lays out the file,
 * then streams header + 64-byte-aligned data.  Same calls => same bytes
 * (insertion order, fixed key order, no timestamps).
 *
 * One pass over raw tensors: the header's length does not depend on the
 * raw tensors' checksums (fixed-width "xxh64:<16 hex>"; offsets and sizes
 * are known), so it is written first with zero checksums, each raw tensor is
 * produced / hashed / written a cache-sized chunk at a time while the chunk
 * is hot, and the final header is written over the placeholder at the end.
 * zstd tensors are compressed (and hashed) before, as their stored size is
 * part of the header. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
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
    b4k_mw_rows_fn rows; /* row producer: produces axis-0 slices */
    void *fill_ctx;
    b4k_mw_check_fn check; /* before borrowed data is first read */
    void *check_ctx;
    size_t raw;
    void *zbuf;        /* compressed bytes (zstd codec) */
    unsigned spilled;  /* ... or in the spill file at zoff (== gen) */
    uint64_t zoff;
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
    unsigned gen;      /* b4k_mw_write calls: tensors spilled in this one */
    void *chunk;       /* scratch for row producers */
    size_t chunk_cap;
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

/* Bytes produced / hashed / written per step: fits L2 with room to spare. */
#define CHUNK ((size_t)256 << 10)

static size_t nrows_of(const wtensor *t)
{
    return t->ndim ? (size_t)t->shape[0] : 1;
}

/* q8 row producers give f32: values per axis-0 row. */
static size_t q8_row_f32(const wtensor *t)
{
    size_t n = 1;
    for (int d = 1; d < t->ndim; d++)
        n *= (size_t)t->shape[d];
    return n;
}

static int alloc_fail(const wtensor *t, b4k_err *err)
{
    return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "tensor %s: out of memory", t->name);
}

/* The whole tensor in memory (a lazy or row-produced tensor, for zstd). */
static int fill_now(wtensor *t, b4k_err *err)
{
    void *p = b4k_aligned_alloc(B4K_MODEL_ALIGN, t->raw ? t->raw : 1);
    int rc = 0;
    if (!p)
        return alloc_fail(t, err);
    if (t->fill)
        rc = t->fill(t->fill_ctx, p, t->raw, err);
    else if (t->raw && t->dtype == B4K_Q8) {
        size_t k = (size_t)t->shape[t->ndim - 1], n = nrows_of(t) * q8_row_f32(t);
        float *f = b4k_aligned_alloc(B4K_MODEL_ALIGN, n * 4 + 4);
        if (!f) {
            b4k_free(p);
            return alloc_fail(t, err);
        }
        if (!(rc = t->rows(t->fill_ctx, f, 0, nrows_of(t), err)))
            b4k_q8_quantize(p, f, n / k, k);
        b4k_free(f);
    } else if (t->raw)
        rc = t->rows(t->fill_ctx, p, 0, nrows_of(t), err);
    if (rc) {
        b4k_free(p);
        return rc;
    }
    t->owned = p;
    t->data = p;
    return 0;
}

static void drop(wtensor *t)
{
    if (t->fill || t->rows) {
        b4k_free(t->owned);
        t->owned = NULL;
        t->data = NULL;
    }
}

static int chunk_buf(b4k_mw *w, const wtensor *t, size_t bytes, b4k_err *err)
{
    if (w->chunk_cap >= bytes)
        return 0;
    b4k_free(w->chunk);
    w->chunk_cap = 0;
    if (!(w->chunk = b4k_aligned_alloc(B4K_MODEL_ALIGN, bytes)))
        return alloc_fail(t, err);
    w->chunk_cap = bytes;
    return 0;
}

/* Rows per slice of a row-produced tensor, and the slice's bytes. */
static size_t row_step(const wtensor *t, size_t *rb)
{
    size_t nr = nrows_of(t), step;
    *rb = t->dtype == B4K_Q8 ? q8_row_f32(t) * 4 : t->raw / nr;
    step = *rb >= CHUNK ? 1 : CHUNK / *rb;
    if (step > 8) /* whole 8-row blocks for vectorised transposes */
        step &= ~(size_t)7;
    return step > nr ? nr : step;
}

/* Where the streaming compressor's output goes: t->zbuf (memory), or the
 * spill file, appended and hashed a slice at a time while hot (fd >= 0). */
typedef struct zsink {
    ZSTD_outBuffer out;
    int fd;
    uint64_t pos;
    b4k_xxh64_state h;
} zsink;

static int pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
    const char *c = p;
    while (n) {
        ssize_t k = pwrite(fd, c, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        c += k;
        off += (uint64_t)k;
        n -= (size_t)k;
    }
    return 0;
}

static int zdrain(zsink *z)
{
    if (z->fd < 0 || !z->out.pos)
        return 0;
    b4k_xxh64_update(&z->h, z->out.dst, z->out.pos);
    if (pwrite_all(z->fd, z->out.dst, z->out.pos, z->pos))
        return -1;
    z->pos += z->out.pos;
    z->out.pos = 0;
    return 0;
}

/* Stream a tensor through zstd a slice at a time: a row producer's slices
 * (no whole tensor in memory) or the tensor's bytes.  The pledged size and
 * the job boundaries of the multi-threaded compressor are those of
 * ZSTD_compress2 on the whole buffer, so the frame is byte-identical
 * (test_model checks it).  Returns the compressed size or a zstd error;
 * *rc gets a producer's error or B4K_EIO for a spill write error. */
static size_t compress_stream(b4k_mw *w, ZSTD_CCtx *cc, wtensor *t, zsink *z, int *rc,
                              b4k_err *err)
{
    size_t nr = nrows_of(t), rb = 0, step = 0, left, done = 0;
    uint64_t start = z->pos;
    *rc = 0;
    ZSTD_CCtx_reset(cc, ZSTD_reset_session_only);
    ZSTD_CCtx_setPledgedSrcSize(cc, t->raw);
    if (t->rows && !t->data && t->raw) {
        step = row_step(t, &rb);
        if ((*rc = chunk_buf(w, t, step * rb, err)))
            return 0;
    }
    for (size_t off = 0, r = 0; off < t->raw;) {
        ZSTD_inBuffer in;
        if (step) {
            size_t k = nr - r < step ? nr - r : step;
            if ((*rc = t->rows(t->fill_ctx, w->chunk, r, k, err)))
                return 0;
            in = (ZSTD_inBuffer){w->chunk, k * rb, 0};
            r += k;
        } else {
            in = (ZSTD_inBuffer){(const uint8_t *)t->data + off,
                                 t->raw - off < CHUNK ? t->raw - off : CHUNK, 0};
        }
        off += in.size;
        while (in.pos < in.size) {
            left = ZSTD_compressStream2(cc, &z->out, &in, ZSTD_e_continue);
            if (ZSTD_isError(left))
                return left;
            if (zdrain(z))
                goto ioerr;
        }
    }
    do {
        ZSTD_inBuffer in = {NULL, 0, 0};
        left = ZSTD_compressStream2(cc, &z->out, &in, ZSTD_e_end);
        if (ZSTD_isError(left))
            return left;
        if (zdrain(z))
            goto ioerr;
    } while (left);
    done = z->fd >= 0 ? (size_t)(z->pos - start) : z->out.pos;
    return done;
ioerr:
    *rc = b4k_err_set(err, B4K_EIO, NULL, 0, "tensor %s: cannot write the zstd spill file: %s",
                      t->name, strerror(errno));
    return 0;
}

/* Compress and hash zstd tensors; lay out every tensor.  spill >= 0: the
 * compressed bytes go to that file (t->zoff) instead of memory. */
static int layout(b4k_mw *w, int spill, b4k_err *err)
{
    ZSTD_CCtx *cc = NULL;
    uint64_t off = 0, spos = 0;
    int rc = 0;
    void *zout = NULL;
    for (size_t i = 0; i < w->nt; i++) /* where this call's spill ends */
        if (w->t[i].spilled == w->gen && w->t[i].zoff + w->t[i].stored > spos)
            spos = w->t[i].zoff + w->t[i].stored;
    for (size_t i = 0; i < w->nt; i++) {
        wtensor *t = &w->t[i];
        if (t->codec == B4K_CODEC_ZSTD && !t->zbuf && !(spill >= 0 && t->spilled == w->gen)) {
            size_t bound = ZSTD_compressBound(t->raw), got;
            zsink z = {{NULL, 0, 0}, spill, spos, {{0}, 0, 0, {0}, 0}};
            if ((t->fill || (t->rows && t->dtype == B4K_Q8)) && !t->data &&
                (rc = fill_now(t, err)))
                goto done;
            if (t->check && (rc = t->check(t->check_ctx, err)))
                goto done;
            if (!cc) {
                cc = ZSTD_createCCtx();
                if (!cc) {
                    rc = alloc_fail(t, err);
                    goto done;
                }
                ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, w->zlevel);
                ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 1);
                ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 0);
                /* Always multi-threaded mode (>= 1 worker): its output is the
                 * same for any number of workers, so bytes never depend on
                 * --threads.  (A libzstd without threads ignores this.) */
                ZSTD_CCtx_setParameter(cc, ZSTD_c_nbWorkers, w->zthreads > 0 ? w->zthreads : 1);
            }
            if (spill >= 0) {
                if (!zout && !(zout = b4k_malloc(CHUNK))) {
                    rc = alloc_fail(t, err);
                    goto done;
                }
                z.out = (ZSTD_outBuffer){zout, CHUNK, 0};
                b4k_xxh64_init(&z.h, 0);
                got = compress_stream(w, cc, t, &z, &rc, err);
            } else {
                t->zbuf = b4k_malloc(bound);
                if (!t->zbuf) {
                    rc = alloc_fail(t, err);
                    goto done;
                }
                z.out = (ZSTD_outBuffer){t->zbuf, bound, 0};
                if (t->rows && !t->data)
                    got = compress_stream(w, cc, t, &z, &rc, err);
                else
                    got = ZSTD_compress2(cc, t->zbuf, bound, t->data, t->raw);
            }
            drop(t);
            if (rc)
                goto done;
            if (ZSTD_isError(got)) {
                rc = b4k_err_set(err, B4K_EIO, NULL, 0, "tensor %s: zstd: %s", t->name,
                                 ZSTD_getErrorName(got));
                goto done;
            }
            t->stored = got;
            if (spill >= 0) {
                t->spilled = w->gen;
                t->zoff = spos;
                spos += got;
                t->checksum = b4k_xxh64_digest(&z.h);
            } else {
                t->checksum = b4k_xxh64(t->zbuf, t->stored, 0);
            }
        } else if (t->codec == B4K_CODEC_RAW) {
            t->stored = t->raw;
        }
        t->offset = off;
        off += (t->stored + B4K_MODEL_ALIGN - 1) / B4K_MODEL_ALIGN * B4K_MODEL_ALIGN;
    }
done:
    b4k_free(zout);
    ZSTD_freeCCtx(cc);
    return rc;
}

/* The header text (magic, version, length, JSON, space padding). */
static int header(b4k_mw *w, b4k_buf *hdr, b4k_err *err)
{
    json_t *root = NULL, *tens = NULL;
    int rc = B4K_ENOMEM;
    const char *k;
    json_t *v;
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
done:
    json_decref(tens);
    json_decref(root);
    return rc;
}

static const uint8_t zeros[B4K_MODEL_ALIGN];

/* Where the bytes go: appended in order, and the header patched at 0. */
typedef struct sink {
    int (*put)(struct sink *s, const void *p, size_t n);
    int (*patch)(struct sink *s, const void *p, size_t n);
    int fd;
    b4k_buf *buf;
} sink;

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
    size_t nr = nrows_of(t), k = (size_t)t->shape[t->ndim - 1], per = q8_row_f32(t) / k;
    size_t kp = b4k_q8_kpad(k), sb = kp / B4K_Q8_BLOCK * 2, rb, step = row_step(t, &rb);
    uint8_t *q = NULL, *scales = NULL;
    int rc = 0;
    if ((rc = chunk_buf(w, t, step * rb, err)))
        return rc;
    q = b4k_aligned_alloc(B4K_MODEL_ALIGN, step * per * (kp + sb) + 1);
    scales = b4k_malloc(nr * per * sb + 1);
    if (!q || !scales) {
        rc = alloc_fail(t, err);
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
static int stream_raw(b4k_mw *w, wtensor *t, sink *s, b4k_err *err)
{
    b4k_xxh64_state h;
    int rc = 0;
    b4k_xxh64_init(&h, 0);
    if (t->rows && t->raw && t->dtype == B4K_Q8) {
        rc = stream_q8(w, t, s, &h, err);
        if (rc)
            return rc;
    } else if (t->rows && t->raw) {
        size_t nr = nrows_of(t), rb, step = row_step(t, &rb);
        if ((rc = chunk_buf(w, t, step * rb, err)))
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
        if (t->fill && !t->data && (rc = fill_now(t, err)))
            return rc;
        if (t->check && (rc = t->check(t->check_ctx, err)))
            return rc;
        rc = put_hashed(s, &h, t->data, t->raw);
        drop(t);
        if (rc)
            return -1;
    }
    t->checksum = b4k_xxh64_digest(&h);
    return 0;
}

/* A spilled zstd tensor into the output: in the kernel (copy_file_range,
 * no user-space copy of cold bytes), else through the chunk buffer. */
static int put_spilled(b4k_mw *w, sink *s, int spill, const wtensor *t)
{
    loff_t in = (loff_t)t->zoff;
    size_t n = t->stored;
    while (n && s->fd >= 0) {
        ssize_t k = copy_file_range(spill, &in, s->fd, NULL, n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break; /* EXDEV, ENOSYS, ...: copy by hand */
        n -= (size_t)k;
    }
    if (n && w->chunk_cap < CHUNK) {
        b4k_free(w->chunk);
        w->chunk_cap = 0;
        if (!(w->chunk = b4k_aligned_alloc(B4K_MODEL_ALIGN, CHUNK)))
            return -1;
        w->chunk_cap = CHUNK;
    }
    while (n) {
        size_t k = n < w->chunk_cap ? n : w->chunk_cap;
        ssize_t got = pread(spill, w->chunk, k, in);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0 || s->put(s, w->chunk, (size_t)got))
            return -1;
        in += got;
        n -= (size_t)got;
    }
    return 0;
}

/* Returns 0, -1 on a write error, or a B4K_E* code from a producer. */
static int emit(b4k_mw *w, sink *s, int spill, b4k_err *err)
{
    b4k_buf hdr;
    size_t hlen;
    int rc;
    uint8_t *first = NULL;
    b4k_buf_init(&hdr);
    if ((rc = layout(w, spill, err)) || (rc = header(w, &hdr, err)))
        goto done;
    hlen = hdr.len;
    rc = -1;
    if (s->put(s, hdr.data, hdr.len) || !(first = b4k_malloc(hlen)))
        goto done;
    memcpy(first, hdr.data, hlen);
    for (size_t i = 0; i < w->nt; i++) {
        wtensor *t = &w->t[i];
        size_t pad = (B4K_MODEL_ALIGN - t->stored % B4K_MODEL_ALIGN) % B4K_MODEL_ALIGN;
        if (t->codec == B4K_CODEC_RAW) {
            if ((rc = stream_raw(w, t, s, err)))
                goto done;
            rc = -1;
        } else if (t->zbuf ? s->put(s, t->zbuf, t->stored) : put_spilled(w, s, spill, t)) {
            goto done;
        }
        if (i + 1 < w->nt && s->put(s, zeros, pad))
            goto done;
    }
    /* the real checksums: same width, so the same header length */
    if ((rc = header(w, &hdr, err)))
        goto done;
    if (hdr.len != hlen) {
        rc = b4k_err_set(err, B4K_EINVAL, NULL, 0, "internal error: header length changed");
        goto done;
    }
    /* (already right when a first pass computed the checksums: pipes) */
    rc = memcmp(first, hdr.data, hlen) && s->patch(s, hdr.data, hdr.len) ? -1 : 0;
done:
    b4k_free(first);
    b4k_buf_free(&hdr);
    return rc;
}

/* zstd output goes to an unnamed temporary file next to the output (it
 * never reaches the disk if it is small and short-lived, and the kernel
 * copies it into place), so compressed tensors are neither held in memory
 * nor copied cold from user space.  -1 (keep them in memory) if there are
 * no zstd tensors or no such file can be made. */
static int open_spill(const b4k_mw *w, const char *tmpname)
{
    char dir[4096];
    const char *sl;
    size_t i, n;
    int fd;
    for (i = 0; i < w->nt && w->t[i].codec != B4K_CODEC_ZSTD; i++)
        ;
    if (i == w->nt)
        return -1;
    if (!tmpname) /* writing in place (a device, a FIFO) */
        return memfd_create("b4k-zstd", MFD_CLOEXEC);
    sl = strrchr(tmpname, '/');
    n = sl ? (size_t)(sl - tmpname) : 0;
    if (n + 1 >= sizeof dir)
        return -1;
    memcpy(dir, sl ? tmpname : ".", sl ? (n ? n : 1) : 1);
    dir[sl ? (n ? n : 1) : 1] = 0;
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        fd = memfd_create("b4k-zstd", MFD_CLOEXEC);
    return fd;
}

int b4k_mw_write(b4k_mw *w, const char *path, b4k_err *err)
{
    b4k_afile *af = NULL;
    sink s = {put_fd, patch_fd, -1, NULL};
    int rc, spill;
    rc = b4k_afile_open(&af, path, err);
    if (rc)
        goto fail;
    /* nothing goes through the FILE: the data is written with write(2) in
     * large chunks, the header with pwrite(2) at the end */
    s.fd = fileno(b4k_afile_fp(af));
    w->gen++;
    spill = open_spill(w, b4k_afile_tmpname(af));
    if (!b4k_afile_seekable(af)) {
        /* a pipe: the header cannot be patched, so a first pass computes
         * the checksums (raw tensors are produced twice) */
        sink none = {put_none, put_none, -1, NULL};
        rc = emit(w, &none, spill, err);
        if (rc == -1)
            rc = b4k_err_set(err, B4K_EIO, path, 0, "spill failed: %s", strerror(errno));
        if (rc) {
            if (spill >= 0)
                close(spill);
            goto fail;
        }
    }
    rc = emit(w, &s, spill, err);
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
    sink s = {put_buf, patch_buf, -1, &body};
    int rc;
    *out = NULL;
    *n = 0;
    b4k_buf_init(&body);
    if ((rc = emit(w, &s, -1, err)) == -1)
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
