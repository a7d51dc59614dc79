/* The .b4k model container (man/b4k-model.5).
 *
 *   offset 0   "B4K\0"                 magic
 *          4   u32 LE version          (B4K_MODEL_VERSION = 1)
 *          8   u64 LE header length H  (JSON bytes, then spaces)
 *         16   JSON header, H bytes    {"architecture","config","tokenizer",
 *                                        "tensors":{name:{dtype,shape,codec,
 *                                        offset,stored_size,raw_size,checksum}}}
 *   D = 16+H   (a multiple of 64) tensor data; each tensor's offset is
 *              relative to D and a multiple of 64; little-endian.
 *
 * checksum = "xxh64:<16 hex digits>", XXH64 (seed 0) of the *stored* bytes.
 *
 * READING.  b4k_model_open mmaps the file; raw tensors are returned zero-copy
 * (pointers into the map, valid until b4k_model_free), zstd tensors are
 * decompressed once on first access into memory the model owns.  The header
 * is validated completely at open (magic, version, lengths, offsets inside
 * the file, overlaps, duplicate names, shape x dtype = raw_size, overflow).
 * Checksums: a zstd tensor is always verified before it is decompressed; a
 * raw tensor is verified lazily on its first b4k_model_get (read with
 * pread(2), not through the map, so pages the caller never touches are
 * never faulted in), or eagerly for all tensors at
 * open with B4K_MODEL_VERIFY_ALL, or never with B4K_MODEL_NO_VERIFY (for
 * mmap-and-go loading of very large models).  b4k_model_get and friends
 * are thread-safe, also on a tensor's first access (lock-free: threads
 * racing on it may each verify / decompress, one copy is kept).
 *
 * WRITING.  b4k_mw_* collects tensors and writes them in insertion order with
 * the header keys in a fixed order, so the same calls give byte-identical
 * files.  The file is written atomically (temp + fsync + rename) in one pass
 * (a placeholder header of a length fixed in advance, slices produced /
 * hashed / written while hot, zstd streamed into place, the final header
 * last); see model_write.c. */
#ifndef B4K_MODEL_MODEL_H
#define B4K_MODEL_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "io/jsonl.h"
#include "tensor/dtype.h"

#define B4K_MODEL_VERSION 1
#define B4K_MODEL_ALIGN 64

enum { B4K_CODEC_RAW = 0, B4K_CODEC_ZSTD = 1 };

enum {
    B4K_MODEL_VERIFY_ALL = 1 << 0, /* verify every checksum at open */
    B4K_MODEL_NO_VERIFY = 1 << 1,  /* never verify raw tensors */
    B4K_MODEL_POPULATE = 1 << 2,   /* prefault the whole map at open (file
                                      opens only): the first pass over the
                                      weights then pays no page faults */
    B4K_MODEL_LOAD = 1 << 3,       /* file opens: read the file into
                                      anonymous memory (2 MiB-aligned,
                                      MADV_HUGEPAGE) instead of mapping the
                                      page cache: fewer TLB misses when
                                      streaming the weights, at the cost of
                                      a private copy (RSS anon = file) */
    B4K_MODEL_HUGE = 1 << 4        /* file opens of 32 MiB or more: if the
                                      page cache holds the file in 4 KiB
                                      pages, drop them (after writeback)
                                      so that the mapping's faults read the
                                      file back in 2 MiB pages (model.c
                                      map_file); the map is always 2 MiB-
                                      aligned and advised MADV_HUGEPAGE */
};

typedef struct b4k_model b4k_model;

typedef struct b4k_tensor_view {
    int dtype;                      /* b4k_dtype */
    int ndim;
    int64_t shape[B4K_MAX_DIMS];    /* logical shape (q8: (rows..., K)) */
    const void *data;               /* borrowed from the model */
    size_t nbytes;                  /* raw size (b4k_dtype_nbytes) */
} b4k_tensor_view;

/* Open a file (mmap, read-only). */
int b4k_model_open(b4k_model **out, const char *path, b4k_err *err);
int b4k_model_open_ex(b4k_model **out, const char *path, unsigned flags, b4k_err *err);
/* Open a memory buffer (borrowed: keep it alive until b4k_model_free).
 * name is used in messages.  Same validation as open. */
int b4k_model_open_mem(b4k_model **out, const void *buf, size_t n, const char *name,
                       b4k_err *err);
int b4k_model_open_mem_ex(b4k_model **out, const void *buf, size_t n, const char *name,
                          unsigned flags, b4k_err *err);
void b4k_model_free(b4k_model *m);

/* Borrowed header parts (valid until b4k_model_free). */
const char *b4k_model_arch(const b4k_model *m);
json_t *b4k_model_config(const b4k_model *m);     /* an object, maybe empty */
json_t *b4k_model_tokenizer(const b4k_model *m);  /* an object or NULL */
json_t *b4k_model_header(const b4k_model *m);     /* the whole JSON header */
const char *b4k_model_name(const b4k_model *m);   /* path or buffer name */

/* Tensors, in file order: for (i = 0; i < b4k_model_count(m); i++)
 * b4k_model_tensor_name(m, i) ... */
size_t b4k_model_count(const b4k_model *m);
const char *b4k_model_tensor_name(const b4k_model *m, size_t i);
/* 1 if present, 0 if not. */
int b4k_model_has(const b4k_model *m, const char *name);

/* Look up a tensor: fills *view (data decompressed / verified as above).
 * A missing name is B4K_EFORMAT with "no tensor NAME". */
int b4k_model_get(b4k_model *m, const char *name, b4k_tensor_view *view, b4k_err *err);
int b4k_model_get_at(b4k_model *m, size_t i, b4k_tensor_view *view, b4k_err *err);
/* Stored (on-disk) facts of tensor i: codec, stored size, checksum text. */
int b4k_model_stored(const b4k_model *m, size_t i, int *codec, size_t *stored_size,
                     const char **checksum);
/* Where tensor i's stored bytes are: *fd, the model's open file (valid
 * until b4k_model_free; -1 for a memory model), at *file_offset.  For
 * reading them with pread(2) instead of through the map (b4k-convert). */
int b4k_model_source(const b4k_model *m, size_t i, int *fd, uint64_t *file_offset);
/* Like b4k_model_get, but also checks dtype and shape: ndim and every
 * shape[k] (a -1 in shape matches any size).  Message names the tensor. */
int b4k_model_get_checked(b4k_model *m, const char *name, int dtype, int ndim,
                          const int64_t *shape, b4k_tensor_view *view, b4k_err *err);
/* A byte payload (a u8 tensor of 1 dimension), e.g. an embedded
 * sentencepiece model or jieba dictionary. */
int b4k_model_get_blob(b4k_model *m, const char *name, const void **data, size_t *n,
                       b4k_err *err);
/* Verify every tensor's checksum now (and decompress nothing). */
int b4k_model_verify(b4k_model *m, b4k_err *err);

/* Get a float tensor as f32 (converted from f16/bf16/q8), newly allocated
 * with b4k_malloc; the caller frees it with b4k_free. */
int b4k_model_get_f32(b4k_model *m, const char *name, float **out, b4k_tensor_view *view,
                      b4k_err *err);

/* ---- writer ---- */
typedef struct b4k_mw b4k_mw;

b4k_mw *b4k_mw_new(const char *arch);   /* NULL on allocation failure */
void b4k_mw_free(b4k_mw *w);
/* config/tokenizer: the writer takes a new reference (json_incref). */
int b4k_mw_set_config(b4k_mw *w, json_t *config);
int b4k_mw_set_tokenizer(b4k_mw *w, json_t *tokenizer);
/* Extra top-level header members (e.g. "source"); reference taken. */
int b4k_mw_set_meta(b4k_mw *w, const char *key, json_t *value);
/* zstd level for B4K_CODEC_ZSTD tensors (default 3), and zstd worker
 * threads (default 1; the output bytes do not depend on it). */
void b4k_mw_set_zstd(b4k_mw *w, int level, int threads);

/* Add a tensor whose bytes are already in `dtype` layout (q8: packed).
 * b4k_mw_add BORROWS data: it must stay valid until b4k_mw_write returns.
 * b4k_mw_add_copy copies it; b4k_mw_add_owned takes ownership of a buffer
 * from b4k_malloc/b4k_aligned_alloc (freed by the writer, also on error).
 * Duplicate names and bad shapes are B4K_EINVAL. */
int b4k_mw_add(b4k_mw *w, const char *name, int dtype, int ndim, const int64_t *shape,
               const void *data, int codec, b4k_err *err);
int b4k_mw_add_copy(b4k_mw *w, const char *name, int dtype, int ndim, const int64_t *shape,
                    const void *data, int codec, b4k_err *err);
int b4k_mw_add_owned(b4k_mw *w, const char *name, int dtype, int ndim, const int64_t *shape,
                     void *data, int codec, b4k_err *err);
/* b4k_mw_add with a check the writer makes right before it first reads the
 * borrowed bytes (e.g. the source file's checksum of them): an error from
 * check(ctx, err) stops the write, and nothing is left behind.  ctx must
 * stay valid until b4k_mw_write returns. */
typedef int (*b4k_mw_check_fn)(void *ctx, b4k_err *err);
int b4k_mw_add_checked(b4k_mw *w, const char *name, int dtype, int ndim, const int64_t *shape,
                       const void *data, int codec, b4k_mw_check_fn check, void *ctx,
                       b4k_err *err);
/* Convert f32 data to dtype (f32/f16/bf16/q8) and add it (owned copy). */
int b4k_mw_add_f32(b4k_mw *w, const char *name, int dtype, int ndim, const int64_t *shape,
                   const float *data, int codec, b4k_err *err);
/* A byte blob as a 1-D u8 tensor (copied). */
int b4k_mw_add_blob(b4k_mw *w, const char *name, const void *data, size_t n, int codec,
                    b4k_err *err);

/* A tensor whose bytes are produced on demand by fill(ctx, dst, nbytes,
 * err) (e.g. a transposed or cast checkpoint tensor): called once, while
 * writing (or compressing), into a buffer the writer frees right after, so
 * a conversion holds about one tensor at a time.  ctx must stay valid until
 * b4k_mw_write returns. */
typedef int (*b4k_mw_fill_fn)(void *ctx, void *dst, size_t nbytes, b4k_err *err);
int b4k_mw_add_lazy(b4k_mw *w, const char *name, int dtype, int ndim, const int64_t *shape,
                    int codec, b4k_mw_fill_fn fill, void *ctx, b4k_err *err);
/* A tensor produced a slice at a time: fill(ctx, dst, row0, nrows, err)
 * writes rows [row0, row0 + nrows) along axis 0 (a 0-D tensor is 1 row),
 * each raw_size / shape[0] bytes.  A raw tensor is produced in cache-sized
 * slices that are hashed and written while hot (the fast path for
 * transposes and casts), a zstd one streamed through the compressor.
 * For q8 (ndim >= 1, K > 0) fill gives the rows as f32 and the writer
 * quantises them (slice by slice for raw, whole for zstd). */
typedef int (*b4k_mw_rows_fn)(void *ctx, void *dst, size_t row0, size_t nrows, b4k_err *err);
int b4k_mw_add_rows(b4k_mw *w, const char *name, int dtype, int ndim, const int64_t *shape,
                    int codec, b4k_mw_rows_fn fill, void *ctx, b4k_err *err);

/* A check of tensor name's stored bytes once they are all produced: called
 * with their XXH64 (in every pass that makes them), before the write goes
 * on.  For bytes known to equal a source whose XXH64 is known (a raw .b4k
 * tensor re-encoded raw): the writer hashes them anyway, so checking the
 * source costs nothing.  An error stops the write (nothing is left behind).
 * ctx must stay valid until b4k_mw_write returns.  B4K_EINVAL: no such
 * tensor. */
typedef int (*b4k_mw_done_fn)(void *ctx, uint64_t xxh64, b4k_err *err);
int b4k_mw_set_done(b4k_mw *w, const char *name, b4k_mw_done_fn done, void *ctx);

/* Write atomically to path ("-" is not allowed: a binary model never goes to
 * stdout through here).  Can be called once. */
int b4k_mw_write(b4k_mw *w, const char *path, b4k_err *err);
/* Write into memory (for tests and fuzzers); *out from b4k_malloc. */
int b4k_mw_write_mem(b4k_mw *w, uint8_t **out, size_t *n, b4k_err *err);

/* XXH64 (lib/model/xxh64.c), one-shot and streaming (same digests). */
uint64_t b4k_xxh64(const void *data, size_t n, uint64_t seed);
typedef struct b4k_xxh64_state {
    uint64_t v[4], total, seed;
    uint8_t buf[32];
    size_t nbuf;
} b4k_xxh64_state;
void b4k_xxh64_init(b4k_xxh64_state *s, uint64_t seed);
void b4k_xxh64_update(b4k_xxh64_state *s, const void *data, size_t n);
uint64_t b4k_xxh64_digest(const b4k_xxh64_state *s);

#endif
