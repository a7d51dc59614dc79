/* A checkpoint as read from its original format: a flat list of named,
 * contiguous little-endian tensors (borrowed from mmap'd files or owned),
 * plus the format's extra facts.  Readers: tf_bundle.c (TF TensorBundle),
 * safetensors.c, torch.c (torch.save zip and legacy), and .b4k itself.
 * Names are the checkpoint's own; names.c maps them to b4k's. */
#ifndef B4K_CONVERT_CKPT_H
#define B4K_CONVERT_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "io/jsonl.h"
#include "tensor/dtype.h"

/* Element types found in checkpoints beyond b4k_dtype. */
enum { B4K_SRC_F64 = 100, B4K_SRC_I16, B4K_SRC_I8, B4K_SRC_BOOL, B4K_SRC_U16 };

enum {
    B4K_CKPT_OPTIMIZER = 1 << 0, /* keep adam_m/adam_v/global_step etc. */
    B4K_CKPT_NO_CRC = 1 << 1     /* do not verify TF tensor crc32c, zip CRC-32 */
};

/* A stored checksum over bytes of a mapped file that tensors borrow (a
 * torch zip entry's CRC-32, a .b4k tensor's XXH64), verified the first time
 * one of them is used rather than at open: b4k-convert verifies an entry
 * as it reads it to write it (convert.c), and never one it does not write.
 * The bytes are read with pread(2) when the file is known (fd >= 0), not
 * through the map (see b4k_ckpt_map).  Owned by the checkpoint (a list;
 * the records do not move). */
enum { B4K_CHECK_CRC32 = 0, B4K_CHECK_XXH64 = 1 };

typedef struct b4k_ccheck {
    const uint8_t *p;
    size_t n;
    int kind;                     /* B4K_CHECK_* */
    uint64_t want;                /* the CRC-32 (zip) or XXH64 (.b4k) */
    int fd;                       /* the file p maps, or -1 */
    uint64_t foff;                /* p's offset in it */
    int state;                    /* 0 not yet, 1 good, -1 bad */
    char *file, *entry;           /* for messages */
    struct b4k_ccheck *next;
} b4k_ccheck;

/* A piece of a lazily merged tensor (CPM shards): the tensor's bytes are
 * its spans in order, read from the shards' maps only when written. */
typedef struct b4k_cspan {
    const void *p;
    size_t n;
} b4k_cspan;

typedef struct b4k_ctensor {
    char *name;
    int dtype;                    /* b4k_dtype or B4K_SRC_* */
    int ndim;
    int64_t shape[B4K_MAX_DIMS];
    const void *data;             /* contiguous, little-endian; NULL with spans */
    size_t nbytes;
    const b4k_cspan *spans;       /* data == NULL: the bytes are these pieces */
    size_t nspans;
    void *owned;                  /* non-NULL when data is ours */
    b4k_ccheck *check;            /* bytes to verify before use, or NULL */
    uint64_t src_offset;          /* offset in its file (for --info) */
    int src_file;                 /* index into the checkpoint's files */
    int fd;                       /* data's file, open for pread(2), or -1 */
    uint64_t foff;                /* data's offset in it */
} b4k_ctensor;

typedef struct b4k_ckpt {
    char format[24];              /* "tf", "safetensors", "torch-zip", ... */
    b4k_ctensor *t;
    size_t n, cap;
    json_t *meta;                 /* format facts for --info (object) */
    /* mapped files, unmapped (and closed) by b4k_ckpt_free */
    struct b4k_cmap { void *p; size_t n; char *path; int fd; } *maps;
    size_t nmaps, capmaps;
    unsigned flags;
    b4k_ccheck *checks;
} b4k_ckpt;

/* Detect the format of path (a file, or a TF prefix "X" with X.index) and
 * read it.  Returns B4K_EFORMAT/EUNSUP with a message naming the file. */
int b4k_ckpt_open(b4k_ckpt **out, const char *path, unsigned flags, b4k_err *err);
/* An empty checkpoint (for readers working on memory). */
b4k_ckpt *b4k_ckpt_new(const char *format, unsigned flags);
void b4k_ckpt_free(b4k_ckpt *c);

/* Format sniffing: "tf", "safetensors", "torch-zip", "torch-legacy", "b4k"
 * or NULL. */
const char *b4k_ckpt_sniff(const char *path);

/* Add a tensor (name copied; owned is freed with the checkpoint, also on
 * error).  Checks shape x element size == nbytes.  Borrowed data inside one
 * of the checkpoint's maps gets that file's fd and offset. */
int b4k_ckpt_add(b4k_ckpt *c, const char *name, int dtype, int ndim, const int64_t *shape,
                 const void *data, size_t nbytes, void *owned, b4k_err *err);
b4k_ctensor *b4k_ckpt_find(b4k_ckpt *c, const char *name);
/* Add a tensor made of spans (taken over: freed with the checkpoint, also on
 * error); their lengths must add up to the shape's size. */
int b4k_ckpt_add_spans(b4k_ckpt *c, const char *name, int dtype, int ndim, const int64_t *shape,
                       b4k_cspan *spans, size_t nspans, b4k_err *err);
/* Bytes [off, off + n) of a tensor (contiguous or spans) into dst. */
void b4k_ckpt_gather(const b4k_ctensor *t, void *dst, size_t off, size_t n);
/* A check record over [p, p + n) (file, entry: names for the message; the
 * fd and offset of p when it lies in one of c's maps); NULL when out of
 * memory. */
b4k_ccheck *b4k_ckpt_add_check(b4k_ckpt *c, int kind, const char *file, const char *entry,
                               size_t elen, const void *p, size_t n, uint64_t want);
/* Verify the bytes t borrows if they have a check not yet made (once; the
 * result is kept): 0, or B4K_ECHECKSUM naming the file and entry.  Not
 * thread-safe for one record. */
int b4k_ckpt_verify(const b4k_ctensor *t, b4k_err *err);
int b4k_ckpt_verify_check(b4k_ccheck *k, b4k_err *err);
/* A check computed by the caller as it read the bytes: digest is the CRC-32
 * or XXH64 of all of [k->p, k->p + k->n).  Records the result; 0 or the
 * error of b4k_ckpt_verify_check. */
int b4k_ckpt_check_done(b4k_ccheck *k, uint64_t digest, b4k_err *err);
/* Every tensor's (what --info and the fuzzers do). */
int b4k_ckpt_verify_all(const b4k_ckpt *c, b4k_err *err);
/* Remove tensor i (frees it). */
void b4k_ckpt_remove(b4k_ckpt *c, size_t i);

/* mmap a whole file read-only; kept, with its fd, until b4k_ckpt_free.
 * *idx gets the map index (for src_file). */
int b4k_ckpt_map(b4k_ckpt *c, const char *path, const uint8_t **data, size_t *n, int *idx,
                 b4k_err *err);

/* Element size and name of a source dtype (0 / "?" if unknown). */
size_t b4k_src_elem_size(int dtype);
const char *b4k_src_dtype_name(int dtype);

/* Per-format readers over memory (the fuzz targets use these).  The data
 * stays borrowed from buf. */
int b4k_safetensors_read(b4k_ckpt *c, const uint8_t *buf, size_t n, const char *name,
                         int file_idx, b4k_err *err);
/* TF: parse an .index SSTable; data shards are attached by b4k_tf_open. */
typedef struct b4k_tf_entry {
    char *name;
    int dtype, ndim;              /* dtype: b4k dtype / B4K_SRC_*, or -1 */
    int tf_dtype;
    int64_t shape[B4K_MAX_DIMS];
    int shard;
    uint64_t offset, size;
    uint32_t crc;                 /* masked crc32c */
    int has_crc;
} b4k_tf_entry;
int b4k_tf_index_parse(const uint8_t *buf, size_t n, const char *name, b4k_tf_entry **entries,
                       size_t *count, int *num_shards, b4k_err *err);
void b4k_tf_entries_free(b4k_tf_entry *e, size_t n);
int b4k_tf_open(b4k_ckpt *c, const char *prefix, b4k_err *err);
/* The same from memory (the fuzz target uses it): the .index bytes and the
 * data shards' bytes, shards[k] for shard k; the index's num_shards must be
 * nshards.  Tensors borrow the shard bytes. */
typedef struct b4k_tf_shard {
    const uint8_t *p;
    size_t n;
} b4k_tf_shard;
int b4k_tf_read(b4k_ckpt *c, const uint8_t *index, size_t n, const b4k_tf_shard *shards,
                int nshards, const char *name, b4k_err *err);
/* torch.save: zip archive or legacy stream, in memory. */
int b4k_torch_read(b4k_ckpt *c, const uint8_t *buf, size_t n, const char *name, int file_idx,
                   b4k_err *err);

#endif
