/* TensorFlow TensorBundle checkpoints (TF1 Saver V2, TF2 ckpt):
 *   X.index  a LevelDB-format table (SSTable): data blocks of prefix-
 *            compressed entries with restart points, an index block of
 *            BlockHandles, a 48-byte footer (metaindex and index handles,
 *            padding, magic 0xdb4775248b80fb57); every block is followed by
 *            a type byte (0 = uncompressed) and a masked crc32c.
 *            Key "" -> BundleHeaderProto {num_shards=1, endianness=2};
 *            other keys -> BundleEntryProto {dtype=1, shape=2, shard_id=3,
 *            offset=4, size=5, crc32c=6 (fixed32, masked), slices=7}.
 *   X.data-0000k-of-0000n  the tensor bytes. */
#include <stdio.h>
#include <string.h>

#include "convert/ckpt.h"
#include "convert/crc32c.h"
#include "core/alloc.h"

typedef struct rd {
    const uint8_t *p, *end;
} rd;

static int varint(rd *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int s = 0; s < 64 && r->p < r->end; s += 7) {
        uint8_t b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* Skip one protobuf field of wire type wt. */
static int skip_field(rd *r, int wt)
{
    uint64_t v;
    switch (wt) {
    case 0: return varint(r, &v);
    case 1: if (r->end - r->p < 8) return -1; r->p += 8; return 0;
    case 5: if (r->end - r->p < 4) return -1; r->p += 4; return 0;
    case 2:
        if (varint(r, &v) || v > (uint64_t)(r->end - r->p)) return -1;
        r->p += v;
        return 0;
    default: return -1;
    }
}

static int tf_to_dtype(int tf)
{
    switch (tf) {
    case 1: return B4K_F32;
    case 2: return B4K_SRC_F64;
    case 3: return B4K_I32;
    case 4: return B4K_U8;
    case 5: return B4K_SRC_I16;
    case 6: return B4K_SRC_I8;
    case 9: return B4K_I64;
    case 10: return B4K_SRC_BOOL;
    case 14: return B4K_BF16;
    case 17: return B4K_SRC_U16;
    case 19: return B4K_F16;
    default: return -1; /* strings, complex, quantized, resources */
    }
}

static int parse_shape(rd r, b4k_tf_entry *e)
{
    uint64_t tag, v;
    while (r.p < r.end) {
        if (varint(&r, &tag))
            return -1;
        if (tag == (2 << 3 | 2)) { /* dim */
            rd d;
            if (varint(&r, &v) || v > (uint64_t)(r.end - r.p))
                return -1;
            d.p = r.p;
            d.end = r.p + v;
            r.p += v;
            if (e->ndim >= B4K_MAX_DIMS)
                return -1;
            int64_t size = 0;
            while (d.p < d.end) {
                uint64_t t2;
                if (varint(&d, &t2))
                    return -1;
                if (t2 == (1 << 3 | 0)) {
                    if (varint(&d, &v))
                        return -1;
                    size = (int64_t)v;
                } else if (skip_field(&d, (int)(t2 & 7))) {
                    return -1;
                }
            }
            if (size < 0)
                return -1;
            e->shape[e->ndim++] = size;
        } else if (tag == (3 << 3 | 0)) { /* unknown_rank */
            if (varint(&r, &v) || v)
                return -1;
        } else if (skip_field(&r, (int)(tag & 7))) {
            return -1;
        }
    }
    return 0;
}

static int parse_entry(const uint8_t *p, size_t n, b4k_tf_entry *e, int *has_slices)
{
    rd r = {p, p + n};
    uint64_t tag, v;
    while (r.p < r.end) {
        if (varint(&r, &tag))
            return -1;
        switch (tag) {
        case 1 << 3 | 0:
            if (varint(&r, &v)) return -1;
            e->tf_dtype = (int)(v & 0xffff);
            break;
        case 2 << 3 | 2: {
            rd s;
            if (varint(&r, &v) || v > (uint64_t)(r.end - r.p)) return -1;
            s.p = r.p;
            s.end = r.p + v;
            r.p += v;
            e->ndim = 0;
            if (parse_shape(s, e)) return -1;
            break;
        }
        case 3 << 3 | 0:
            if (varint(&r, &v) || v > 1000000) return -1;
            e->shard = (int)v;
            break;
        case 4 << 3 | 0: if (varint(&r, &v)) return -1; e->offset = v; break;
        case 5 << 3 | 0: if (varint(&r, &v)) return -1; e->size = v; break;
        case 6 << 3 | 5:
            if (r.end - r.p < 4) return -1;
            memcpy(&e->crc, r.p, 4);
            e->has_crc = 1;
            r.p += 4;
            break;
        case 7 << 3 | 2:
            *has_slices = 1;
            if (skip_field(&r, 2)) return -1;
            break;
        default:
            if (skip_field(&r, (int)(tag & 7))) return -1;
        }
    }
    e->dtype = tf_to_dtype(e->tf_dtype);
    return 0;
}

typedef struct sst {
    const uint8_t *buf;
    size_t n;
    const char *name;
    b4k_err *err;
} sst;

#define SFAIL(...) b4k_err_set(s->err, B4K_EFORMAT, s->name, 0, __VA_ARGS__)

/* Validate a block handle and its trailer; returns contents in *b. */
static int read_block(sst *s, uint64_t off, uint64_t size, rd *b)
{
    uint32_t want, got;
    if (off > s->n || size > s->n - off || s->n - off - size < 5)
        return SFAIL("table block [%llu,+%llu) lies outside the %zu-byte index",
                     (unsigned long long)off, (unsigned long long)size, s->n);
    if (s->buf[off + size] != 0)
        return b4k_err_set(s->err, B4K_EUNSUP, s->name, 0,
                           "compressed table blocks (type %d) are not supported",
                           s->buf[off + size]);
    memcpy(&want, s->buf + off + size + 1, 4);
    got = b4k_crc32c_mask(b4k_crc32c(0, s->buf + off, (size_t)size + 1));
    if (got != want)
        return b4k_err_set(s->err, B4K_ECHECKSUM, s->name, 0,
                           "table block at %llu: crc32c mismatch", (unsigned long long)off);
    b->p = s->buf + off;
    b->end = b->p + size;
    return 0;
}

typedef int (*entry_fn)(void *ctx, const char *key, size_t klen, const uint8_t *val,
                        size_t vlen);

/* Walk every entry of a block (keys rebuilt from the prefix compression). */
static int walk_block(sst *s, rd b, b4k_buf *key, entry_fn fn, void *ctx)
{
    uint32_t nrest;
    size_t size = (size_t)(b.end - b.p), limit;
    rd r;
    if (size < 4)
        return SFAIL("table block too short");
    memcpy(&nrest, b.end - 4, 4);
    if (nrest > (size - 4) / 4)
        return SFAIL("table block: bad restart count %u", nrest);
    limit = size - 4 - (size_t)nrest * 4;
    for (uint32_t i = 0; i < nrest; i++) {
        uint32_t ro;
        memcpy(&ro, b.p + limit + 4 * (size_t)i, 4);
        if (ro > limit)
            return SFAIL("table block: restart point %u past the entries", ro);
    }
    r.p = b.p;
    r.end = b.p + limit;
    b4k_buf_reset(key);
    while (r.p < r.end) {
        uint64_t shared, nonshared, vlen;
        if (varint(&r, &shared) || varint(&r, &nonshared) || varint(&r, &vlen) ||
            shared > key->len || nonshared > (uint64_t)(r.end - r.p) ||
            vlen > (uint64_t)(r.end - r.p) - nonshared)
            return SFAIL("table block: corrupt entry");
        key->len = (size_t)shared;
        if (b4k_buf_append(key, r.p, (size_t)nonshared))
            return b4k_err_set(s->err, B4K_ENOMEM, s->name, 0, "out of memory");
        r.p += nonshared;
        int rc = fn(ctx, key->data ? key->data : "", key->len, r.p, (size_t)vlen);
        if (rc)
            return rc;
        r.p += vlen;
    }
    return 0;
}

typedef struct walk_ctx {
    sst *s;
    b4k_tf_entry *e;
    size_t n, cap;
    int num_shards, saw_header;
    b4k_buf dkey;
} walk_ctx;

static int on_entry(void *vctx, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
    walk_ctx *w = vctx;
    sst *s = w->s;
    int slices = 0;
    if (klen == 0) {
        rd r = {val, val + vlen};
        uint64_t tag, v;
        w->saw_header = 1;
        while (r.p < r.end) {
            if (varint(&r, &tag))
                return SFAIL("corrupt BundleHeaderProto");
            if (tag == (1 << 3 | 0)) {
                if (varint(&r, &v) || v < 1 || v > 100000)
                    return SFAIL("BundleHeaderProto: bad num_shards");
                w->num_shards = (int)v;
            } else if (tag == (2 << 3 | 0)) {
                if (varint(&r, &v))
                    return SFAIL("corrupt BundleHeaderProto");
                if (v != 0)
                    return b4k_err_set(s->err, B4K_EUNSUP, s->name, 0,
                                       "big-endian checkpoints are not supported");
            } else if (skip_field(&r, (int)(tag & 7))) {
                return SFAIL("corrupt BundleHeaderProto");
            }
        }
        return 0;
    }
    if (memchr(key, 0, klen) || klen > 4096)
        return SFAIL("bad tensor name in the index");
    if (B4K_GROW(w->e, w->cap, w->n + 1))
        return b4k_err_set(s->err, B4K_ENOMEM, s->name, 0, "out of memory");
    b4k_tf_entry *e = &w->e[w->n];
    memset(e, 0, sizeof *e);
    e->name = b4k_strndup(key, klen);
    if (!e->name)
        return b4k_err_set(s->err, B4K_ENOMEM, s->name, 0, "out of memory");
    w->n++;
    if (parse_entry(val, vlen, e, &slices))
        return SFAIL("tensor %s: corrupt BundleEntryProto", e->name);
    if (slices)
        return b4k_err_set(s->err, B4K_EUNSUP, s->name, 0,
                           "tensor %s: partitioned (sliced) variables are not supported",
                           e->name);
    if (w->n > 1 && strcmp(w->e[w->n - 2].name, e->name) >= 0)
        return SFAIL("index keys out of order or duplicated at %s", e->name);
    return 0;
}

static int on_index(void *vctx, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
    walk_ctx *w = vctx;
    rd r = {val, val + vlen}, blk;
    uint64_t off, size;
    (void)key, (void)klen;
    if (varint(&r, &off) || varint(&r, &size))
        return b4k_err_set(w->s->err, B4K_EFORMAT, w->s->name, 0, "corrupt block handle");
    int rc = read_block(w->s, off, size, &blk);
    if (rc)
        return rc;
    return walk_block(w->s, blk, &w->dkey, on_entry, w);
}

void b4k_tf_entries_free(b4k_tf_entry *e, size_t n)
{
    if (!e)
        return;
    for (size_t i = 0; i < n; i++)
        b4k_free(e[i].name);
    b4k_free(e);
}

int b4k_tf_index_parse(const uint8_t *buf, size_t n, const char *name, b4k_tf_entry **entries,
                       size_t *count, int *num_shards, b4k_err *err)
{
    sst s = {buf, n, name, err};
    walk_ctx w;
    rd f, idx;
    uint64_t mo, ms, io, is, magic;
    b4k_buf ikey;
    int rc;
    *entries = NULL;
    *count = 0;
    memset(&w, 0, sizeof w);
    w.s = &s;
    w.num_shards = 1;
    if (n < 48)
        return b4k_err_set(err, B4K_EFORMAT, name, 0, "index file shorter than a table footer");
    memcpy(&magic, buf + n - 8, 8);
    if (magic != 0xdb4775248b80fb57ull)
        return b4k_err_set(err, B4K_EFORMAT, name, 0, "not a TF checkpoint index (bad magic)");
    f.p = buf + n - 48;
    f.end = buf + n - 8;
    if (varint(&f, &mo) || varint(&f, &ms) || varint(&f, &io) || varint(&f, &is))
        return b4k_err_set(err, B4K_EFORMAT, name, 0, "corrupt table footer");
    rc = read_block(&s, io, is, &idx);
    if (rc)
        return rc;
    b4k_buf_init(&ikey);
    b4k_buf_init(&w.dkey);
    rc = walk_block(&s, idx, &ikey, on_index, &w);
    b4k_buf_free(&ikey);
    b4k_buf_free(&w.dkey);
    if (!rc && !w.saw_header)
        rc = b4k_err_set(err, B4K_EFORMAT, name, 0, "index has no bundle header");
    if (rc) {
        b4k_tf_entries_free(w.e, w.n);
        return rc;
    }
    *entries = w.e;
    *count = w.n;
    *num_shards = w.num_shards;
    return 0;
}

static int is_optimizer_slot(const char *n)
{
    static const char *suffix[] = {"/adam_m", "/adam_v", "/Adam", "/Adam_1", "/Momentum",
                                   "/RMSProp", "/RMSProp_1", "/Adagrad", "/lamb_m", "/lamb_v"};
    static const char *whole[] = {"global_step", "beta1_power", "beta2_power", "good_steps",
                                  "bad_steps", "loss_scale", "current_loss_scale"};
    size_t ln = strlen(n);
    for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
        size_t ls = strlen(suffix[i]);
        if (ln > ls && !strcmp(n + ln - ls, suffix[i]))
            return 1;
    }
    for (size_t i = 0; i < sizeof whole / sizeof *whole; i++)
        if (!strcmp(n, whole[i]))
            return 1;
    return !strncmp(n, "_CHECKPOINTABLE_OBJECT_GRAPH", 28) || strstr(n, "/.OPTIMIZER_SLOT/");
}

/* Where the bytes of data shard k (of nsh) are: mapped from a file, or
 * given in memory.  *idx: the checkpoint's map index (-1 for memory), *path:
 * the name for messages. */
typedef int (*shard_fn)(void *ctx, b4k_ckpt *c, int k, int nsh, const uint8_t **d, size_t *n,
                        int *idx, const char **path, b4k_err *err);

/* The tensors of a parsed index, bounds- and crc-checked against their
 * shards. */
static int tf_read(b4k_ckpt *c, const uint8_t *ibuf, size_t in, const char *iname, shard_fn get,
                   void *ctx, b4k_err *err)
{
    size_t count = 0;
    int nsh = 1, rc, skipped = 0, nonnum = 0;
    b4k_tf_entry *e = NULL;
    struct shard { const uint8_t *d; size_t n; int idx; const char *path; } *sh = NULL;
    if ((rc = b4k_tf_index_parse(ibuf, in, iname, &e, &count, &nsh, err)))
        return rc;
    sh = b4k_calloc((size_t)nsh, sizeof *sh);
    if (!sh) {
        rc = b4k_err_set(err, B4K_ENOMEM, iname, 0, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        const uint8_t *d;
        size_t dn, want, es;
        if (!(c->flags & B4K_CKPT_OPTIMIZER) && is_optimizer_slot(e[i].name)) {
            skipped++;
            continue;
        }
        if (e[i].dtype < 0) {
            nonnum++;
            continue;
        }
        if (e[i].shard < 0 || e[i].shard >= nsh) {
            rc = b4k_err_set(err, B4K_EFORMAT, iname, 0, "tensor %s: shard %d of %d", e[i].name,
                             e[i].shard, nsh);
            goto done;
        }
        struct shard *s = &sh[e[i].shard];
        if (!s->path && (rc = get(ctx, c, e[i].shard, nsh, &s->d, &s->n, &s->idx, &s->path, err)))
            goto done;
        d = s->d;
        dn = s->n;
        es = b4k_src_elem_size(e[i].dtype);
        if (b4k_shape_numel(e[i].ndim, e[i].shape, &want) ||
            __builtin_mul_overflow(want, es, &want) || want != e[i].size) {
            rc = b4k_err_set(err, B4K_EFORMAT, iname, 0,
                             "tensor %s: size %llu does not match its shape", e[i].name,
                             (unsigned long long)e[i].size);
            goto done;
        }
        if (e[i].offset > dn || e[i].size > dn - e[i].offset) {
            rc = b4k_err_set(err, B4K_EFORMAT, s->path, 0,
                             "tensor %s: data [%llu,+%llu) past the end of the shard (%zu "
                             "bytes)", e[i].name, (unsigned long long)e[i].offset,
                             (unsigned long long)e[i].size, dn);
            goto done;
        }
        d = d ? d + e[i].offset : (const uint8_t *)"";
        if (e[i].has_crc && !(c->flags & B4K_CKPT_NO_CRC) &&
            b4k_crc32c_mask(b4k_crc32c(0, d, (size_t)e[i].size)) != e[i].crc) {
            rc = b4k_err_set(err, B4K_ECHECKSUM, s->path, 0,
                             "tensor %s: crc32c mismatch (checkpoint is corrupt)", e[i].name);
            goto done;
        }
        if ((rc = b4k_ckpt_add(c, e[i].name, e[i].dtype, e[i].ndim, e[i].shape, d,
                               (size_t)e[i].size, NULL, err))) {
            b4k_err_locate(err, iname, 0);
            goto done;
        }
        c->t[c->n - 1].src_offset = e[i].offset;
        c->t[c->n - 1].src_file = s->idx;
    }
    json_object_set_new(c->meta, "num_shards", json_integer(nsh));
    json_object_set_new(c->meta, "skipped_optimizer", json_integer(skipped));
    if (nonnum)
        json_object_set_new(c->meta, "skipped_non_numeric", json_integer(nonnum));
done:
    b4k_free(sh);
    b4k_tf_entries_free(e, count);
    return rc;
}

static int file_shard(void *ctx, b4k_ckpt *c, int k, int nsh, const uint8_t **d, size_t *n,
                      int *idx, const char **path, b4k_err *err)
{
    char dp[4300];
    int rc;
    snprintf(dp, sizeof dp, "%s.data-%05d-of-%05d", (const char *)ctx, k, nsh);
    if ((rc = b4k_ckpt_map(c, dp, d, n, idx, err)))
        return rc;
    *path = c->maps[*idx].path;
    return 0;
}

int b4k_tf_open(b4k_ckpt *c, const char *prefix, b4k_err *err)
{
    char path[4200];
    const uint8_t *ibuf;
    size_t in;
    int rc, idx;
    snprintf(path, sizeof path, "%s.index", prefix);
    if ((rc = b4k_ckpt_map(c, path, &ibuf, &in, &idx, err)))
        return rc;
    return tf_read(c, ibuf, in, c->maps[idx].path, file_shard, (void *)prefix, err);
}

typedef struct mem_shards {
    const b4k_tf_shard *s;
    int n;
    const char *name;
} mem_shards;

static int mem_shard(void *ctx, b4k_ckpt *c, int k, int nsh, const uint8_t **d, size_t *n,
                     int *idx, const char **path, b4k_err *err)
{
    const mem_shards *m = ctx;
    (void)c;
    if (nsh != m->n || k >= m->n)
        return b4k_err_set(err, B4K_EFORMAT, m->name, 0,
                           "the index has %d data shards, %d given", nsh, m->n);
    *d = m->s[k].p ? m->s[k].p : (const uint8_t *)"";
    *n = m->s[k].n;
    *idx = -1;
    *path = m->name;
    return 0;
}

int b4k_tf_read(b4k_ckpt *c, const uint8_t *index, size_t n, const b4k_tf_shard *shards,
                int nshards, const char *name, b4k_err *err)
{
    mem_shards m = {shards, nshards, name};
    return tf_read(c, index, n, name, mem_shard, &m, err);
}
