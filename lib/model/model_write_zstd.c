/* .b4k writer: zstd tensors compressed before the header is written (their
 * stored sizes are part of it), streamed through the compressor a slice at a
 * time into a spill file (hashed while hot) or memory, and copied into the
 * output by the kernel; and the layout of every tensor. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>

#include "core/alloc.h"
#include "model/model_write_impl.h"

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
    size_t nr = b4k_mwi_nrows(t), rb = 0, step = 0, left, done = 0;
    uint64_t start = z->pos;
    *rc = 0;
    ZSTD_CCtx_reset(cc, ZSTD_reset_session_only);
    ZSTD_CCtx_setPledgedSrcSize(cc, t->raw);
    if (t->rows && !t->data && t->raw) {
        step = b4k_mwi_row_step(t, &rb);
        if ((*rc = b4k_mwi_chunk_buf(w, t, step * rb, err)))
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
int b4k_mwi_layout(b4k_mw *w, int spill, b4k_err *err)
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
                (rc = b4k_mwi_fill_now(t, err)))
                goto done;
            if (t->check && (rc = t->check(t->check_ctx, err)))
                goto done;
            if (!cc) {
                cc = ZSTD_createCCtx();
                if (!cc) {
                    rc = b4k_mwi_alloc_fail(t, err);
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
                    rc = b4k_mwi_alloc_fail(t, err);
                    goto done;
                }
                z.out = (ZSTD_outBuffer){zout, CHUNK, 0};
                b4k_xxh64_init(&z.h, 0);
                got = compress_stream(w, cc, t, &z, &rc, err);
            } else {
                t->zbuf = b4k_malloc(bound);
                if (!t->zbuf) {
                    rc = b4k_mwi_alloc_fail(t, err);
                    goto done;
                }
                z.out = (ZSTD_outBuffer){t->zbuf, bound, 0};
                if (t->rows && !t->data)
                    got = compress_stream(w, cc, t, &z, &rc, err);
                else
                    got = ZSTD_compress2(cc, t->zbuf, bound, t->data, t->raw);
            }
            b4k_mwi_drop(t);
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

/* A spilled zstd tensor into the output: in the kernel (copy_file_range,
 * no user-space copy of cold bytes), else through the chunk buffer. */
int b4k_mwi_put_spilled(b4k_mw *w, sink *s, int spill, const wtensor *t)
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

/* zstd output goes to an unnamed temporary file next to the output (it
 * never reaches the disk if it is small and short-lived, and the kernel
 * copies it into place), so compressed tensors are neither held in memory
 * nor copied cold from user space.  -1 (keep them in memory) if there are
 * no zstd tensors or no such file can be made. */
int b4k_mwi_open_spill(const b4k_mw *w, const char *tmpname)
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

