/* .b4k writer: a zstd tensor streamed through the compressor a slice at a
 * time (a row producer's slices, or the tensor's bytes) and handed, hashed
 * while hot, to a sink: the output itself (a file or memory, at the
 * tensor's place: the header has room reserved for the stored sizes, see
 * model_write.c), or for a pipe a spill file that is copied out once the
 * header is known. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <zstd.h>

#include "core/alloc.h"
#include "model/model_write_impl.h"

static ZSTD_CCtx *cctx(b4k_mw *w)
{
    ZSTD_CCtx *cc = w->zcc;
    if (cc)
        return cc;
    if (!w->zout && !(w->zout = b4k_malloc(CHUNK)))
        return NULL;
    if (!(cc = ZSTD_createCCtx()))
        return NULL;
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, w->zlevel);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 1);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 0);
    /* Always multi-threaded mode (>= 1 worker): its output is the same for
     * any number of workers, so bytes never depend on --threads, and with
     * one worker the compression overlaps producing and writing the bytes.
     * (A libzstd without threads ignores this.) */
    ZSTD_CCtx_setParameter(cc, ZSTD_c_nbWorkers, w->zthreads > 0 ? w->zthreads : 1);
    w->zcc = cc;
    return cc;
}

void b4k_mwi_zfree(b4k_mw *w)
{
    ZSTD_freeCCtx(w->zcc);
    w->zcc = NULL;
    b4k_free(w->zout);
    w->zout = NULL;
}

/* Hash and hand on what the compressor has produced. */
static int drain(sink *s, ZSTD_outBuffer *out, b4k_xxh64_state *h, size_t *stored)
{
    if (!out->pos)
        return 0;
    b4k_xxh64_update(h, out->dst, out->pos);
    *stored += out->pos;
    if (s->put(s, out->dst, out->pos))
        return -1;
    out->pos = 0;
    return 0;
}

/* The pledged size and the job boundaries of the multi-threaded compressor
 * are those of ZSTD_compress2 on the whole buffer, so the frame does not
 * depend on the slicing (test_model checks it against ZSTD_compress2). */
int b4k_mwi_stream_zstd(b4k_mw *w, wtensor *t, sink *s, b4k_err *err)
{
    size_t nr = b4k_mwi_nrows(t), rb = 0, step = 0, left, stored = 0;
    ZSTD_CCtx *cc;
    ZSTD_outBuffer out;
    b4k_xxh64_state h;
    int rc = 0;
    if ((t->fill || (t->rows && t->dtype == B4K_Q8)) && !t->data &&
        (rc = b4k_mwi_fill_now(t, err)))
        return rc;
    if (t->check && (rc = t->check(t->check_ctx, err)))
        goto done;
    if (!(cc = cctx(w))) {
        rc = b4k_mwi_alloc_fail(t, err);
        goto done;
    }
    out = (ZSTD_outBuffer){w->zout, CHUNK, 0};
    b4k_xxh64_init(&h, 0);
    ZSTD_CCtx_reset(cc, ZSTD_reset_session_only);
    ZSTD_CCtx_setPledgedSrcSize(cc, t->raw);
    if (t->rows && !t->data && t->raw) {
        step = b4k_mwi_row_step(t, &rb);
        if ((rc = b4k_mwi_chunk_buf(w, t, step * rb, err)))
            goto done;
    }
    for (size_t off = 0, r = 0; off < t->raw;) {
        ZSTD_inBuffer in;
        if (step) {
            size_t k = nr - r < step ? nr - r : step;
            if ((rc = t->rows(t->fill_ctx, w->chunk, r, k, err)))
                goto done;
            in = (ZSTD_inBuffer){w->chunk, k * rb, 0};
            r += k;
        } else {
            in = (ZSTD_inBuffer){(const uint8_t *)t->data + off,
                                 t->raw - off < CHUNK ? t->raw - off : CHUNK, 0};
        }
        off += in.size;
        while (in.pos < in.size) {
            left = ZSTD_compressStream2(cc, &out, &in, ZSTD_e_continue);
            if (ZSTD_isError(left))
                goto zerr;
            if (drain(s, &out, &h, &stored))
                goto ioerr;
        }
    }
    do {
        ZSTD_inBuffer in = {NULL, 0, 0};
        left = ZSTD_compressStream2(cc, &out, &in, ZSTD_e_end);
        if (ZSTD_isError(left))
            goto zerr;
        if (drain(s, &out, &h, &stored))
            goto ioerr;
    } while (left);
    t->stored = stored;
    t->checksum = b4k_xxh64_digest(&h);
    goto done;
zerr:
    rc = b4k_err_set(err, B4K_EIO, NULL, 0, "tensor %s: zstd: %s", t->name,
                     ZSTD_getErrorName(left));
    goto done;
ioerr:
    rc = -1;
done:
    b4k_mwi_drop(t);
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
            break; /* EXDEV, ENOSYS, a pipe, ...: copy by hand */
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

/* Output written in place and not seekable (a pipe, a FIFO) cannot have
 * its header patched, so the zstd tensors are compressed first, into an
 * unnamed temporary file (in $TMPDIR, else memory), and copied out after
 * the header.  -1 if there are no zstd tensors or no file can be made
 * (then they are compressed twice: once for the header, once to send). */
int b4k_mwi_open_spill(const b4k_mw *w)
{
    const char *dir = getenv("TMPDIR");
    size_t i;
    int fd;
    for (i = 0; i < w->nt && w->t[i].codec != B4K_CODEC_ZSTD; i++)
        ;
    if (i == w->nt)
        return -1;
    fd = open(dir && *dir ? dir : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        fd = memfd_create("b4k-zstd", MFD_CLOEXEC);
    return fd;
}
