/* Internals of the .b4k writer, shared by its files:
 *   model_write.c         the API, the header, the passes over the tensors
 *                         (emit) and where the bytes go (file, pipe, memory)
 *   model_write_stream.c  producing, hashing and writing raw tensors a
 *                         cache-sized slice at a time (q8 quantised on the way)
 *   model_write_zstd.c    streaming zstd tensors through the compressor into
 *                         the output (or, for a pipe, a spill file first) */
#ifndef B4K_MODEL_MODEL_WRITE_IMPL_H
#define B4K_MODEL_MODEL_WRITE_IMPL_H

#include "core/buf.h"
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
    b4k_mw_done_fn done;   /* with the stored bytes' XXH64 */
    void *done_ctx;
    size_t raw;
    unsigned spilled;  /* zstd, pipe output: compressed into the spill file */
    uint64_t zoff;     /* ... at this offset */
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
    void *chunk;       /* scratch for row producers */
    size_t chunk_cap;
    void *zcc;         /* ZSTD_CCtx, made on first use, freed after a write */
    void *zout;        /* its output slice (CHUNK bytes) */
};

/* Bytes produced / hashed / written per step: fits L2 with room to spare. */
#define CHUNK ((size_t)256 << 10)

/* Where the bytes go: appended in order, and the header patched at 0. */
typedef struct sink {
    int (*put)(struct sink *s, const void *p, size_t n);
    int (*patch)(struct sink *s, const void *p, size_t n);
    int fd;
    b4k_buf *buf;
    int writeback;     /* a file: start its writeback as it grows */
    uint64_t pos;      /* bytes put */
    uint64_t flushed;  /* writeback started up to here */
} sink;

/* model_write_stream.c */
size_t b4k_mwi_nrows(const wtensor *t);     /* axis-0 rows (1 for 0-D) */
size_t b4k_mwi_q8_row_f32(const wtensor *t); /* f32 values per row of a q8 producer */
int b4k_mwi_alloc_fail(const wtensor *t, b4k_err *err);
/* The whole tensor in memory (a lazy or row-produced tensor, for zstd). */
int b4k_mwi_fill_now(wtensor *t, b4k_err *err);
/* Free what b4k_mwi_fill_now made. */
void b4k_mwi_drop(wtensor *t);
/* w->chunk of at least bytes. */
int b4k_mwi_chunk_buf(b4k_mw *w, const wtensor *t, size_t bytes, b4k_err *err);
/* Rows per slice of a row-produced tensor, and the slice's bytes. */
size_t b4k_mwi_row_step(const wtensor *t, size_t *rb);
/* One raw tensor: produce, hash (t->checksum), write.  0, -1 on a write
 * error, or a producer's / check's B4K_E* code. */
int b4k_mwi_stream_raw(b4k_mw *w, wtensor *t, sink *s, b4k_err *err);

/* model_write_zstd.c */
/* One zstd tensor streamed through the compressor into s (a slice at a
 * time, hashed as the frame comes out): sets t->stored and t->checksum.
 * 0, -1 on a write error, or a B4K_E* code (producer, check, zstd). */
int b4k_mwi_stream_zstd(b4k_mw *w, wtensor *t, sink *s, b4k_err *err);
/* Free the compressor (end of a write). */
void b4k_mwi_zfree(b4k_mw *w);
/* A spilled zstd tensor (pipe output) into the output; 0 or -1. */
int b4k_mwi_put_spilled(b4k_mw *w, sink *s, int spill, const wtensor *t);
/* A spill file for output written in place (a pipe) that has zstd tensors,
 * or -1 when there are none (or no such file can be made). */
int b4k_mwi_open_spill(const b4k_mw *w);

#endif
