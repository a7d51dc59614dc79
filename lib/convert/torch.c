/* torch.save files: the zip format (<archive>/data.pkl + <archive>/data/<key>,
 * stored uncompressed; zip64 supported) and the legacy stream (magic pickle,
 * protocol pickle, sys_info pickle, the object pickle, the storage-key list
 * pickle, then per storage an i64 element count and its bytes).  The object
 * is read by the data-only pickle VM; tensors become b4k_ctensors that
 * borrow the storage bytes when contiguous (else they are gathered).  Zip
 * entries' CRC-32: data.pkl is verified at once, a storage when a tensor
 * over it is first used (b4k_ckpt_verify) or gathered. */
#include <stdio.h>
#include <string.h>

#include "convert/ckpt.h"
#include "convert/pickle.h"
#include "core/alloc.h"

typedef struct blob {
    const char *key;      /* storage key */
    size_t klen;
    const uint8_t *data;
    size_t n;
    b4k_ccheck *check;    /* zip: its CRC-32, verified before first use */
} blob;

typedef struct tctx {
    b4k_ckpt *c;
    const char *name;
    b4k_err *err;
    blob *blobs;
    size_t nblobs, cap;
    int file_idx;
    const uint8_t *base;
    size_t visited;
} tctx;

static uint64_t le(const uint8_t *p, int k)
{
    uint64_t v = 0;
    for (int i = k - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int add_blob(tctx *t, const char *key, size_t klen, const uint8_t *d, size_t n,
                    b4k_ccheck *check)
{
    if (B4K_GROW(t->blobs, t->cap, t->nblobs + 1))
        return b4k_err_set(t->err, B4K_ENOMEM, t->name, 0, "out of memory");
    t->blobs[t->nblobs++] = (blob){key, klen, d, n, check};
    return 0;
}

static const blob *find_blob(const tctx *t, const char *key, size_t klen)
{
    for (size_t i = 0; i < t->nblobs; i++)
        if (t->blobs[i].klen == klen && !memcmp(t->blobs[i].key, key, klen))
            return &t->blobs[i];
    return NULL;
}

#define TFAIL(...) b4k_err_set(t->err, B4K_EFORMAT, t->name, 0, __VA_ARGS__)

static int add_tensor(tctx *t, const char *tname, const pk_val *v)
{
    const pk_val *st = v->storage;
    const blob *b = find_blob(t, st->s, st->slen);
    size_t es = b4k_src_elem_size(v->dtype), numel, nb, avail;
    int contiguous = 1;
    int64_t expect = 1;
    if (!b)
        return TFAIL("tensor %s: storage %.*s not found", tname, (int)(st->slen > 64 ? 64 : st->slen),
                     st->s);
    avail = b->n / es;
    if ((uint64_t)st->i < avail)
        avail = (size_t)st->i;
    if (b4k_shape_numel(v->ndim, v->shape, &numel) || __builtin_mul_overflow(numel, es, &nb))
        return TFAIL("tensor %s: bad shape", tname);
    for (int d = v->ndim - 1; d >= 0; d--) {
        if (v->shape[d] != 1 && v->stride[d] != expect)
            contiguous = 0;
        expect *= v->shape[d];
    }
    if (numel == 0)
        return b4k_ckpt_add(t->c, tname, v->dtype, v->ndim, v->shape, "", 0, NULL, t->err);
    /* highest element index touched: offset + sum (shape-1)*stride */
    uint64_t hi = (uint64_t)v->offset;
    for (int d = 0; d < v->ndim; d++) {
        if (v->stride[d] < 0)
            return TFAIL("tensor %s: negative stride", tname);
        uint64_t add;
        if (__builtin_mul_overflow((uint64_t)(v->shape[d] - 1), (uint64_t)v->stride[d], &add) ||
            __builtin_add_overflow(hi, add, &hi))
            return TFAIL("tensor %s: stride overflow", tname);
    }
    if (hi >= avail)
        return TFAIL("tensor %s: reaches element %llu of a storage of %zu", tname,
                     (unsigned long long)hi, avail);
    const uint8_t *src = b->data + (size_t)v->offset * es;
    if (contiguous) { /* borrowed: its entry is verified when first used */
        int rc = b4k_ckpt_add(t->c, tname, v->dtype, v->ndim, v->shape, src, nb, NULL, t->err);
        if (!rc) {
            t->c->t[t->c->n - 1].src_offset = (uint64_t)(src - t->base);
            t->c->t[t->c->n - 1].src_file = t->file_idx;
            t->c->t[t->c->n - 1].check = b->check;
        }
        return rc;
    }
    int rc = b4k_ckpt_verify_check(b->check, t->err); /* gathered now: verified now */
    if (rc)
        return rc;
    uint8_t *dst = b4k_aligned_alloc(64, nb);
    if (!dst)
        return b4k_err_set(t->err, B4K_ENOMEM, t->name, 0, "out of memory");
    int64_t idx[B4K_MAX_DIMS] = {0};
    for (size_t i = 0; i < numel; i++) {
        size_t off = 0;
        for (int d = 0; d < v->ndim; d++)
            off += (size_t)idx[d] * (size_t)v->stride[d];
        memcpy(dst + i * es, src + off * es, es);
        for (int d = v->ndim - 1; d >= 0; d--) {
            if (++idx[d] < v->shape[d])
                break;
            idx[d] = 0;
        }
    }
    return b4k_ckpt_add(t->c, tname, v->dtype, v->ndim, v->shape, NULL, nb, dst, t->err);
}

/* Flatten dicts of tensors: names joined with '.'. */
static int walk(tctx *t, const pk_val *v, char *name, size_t len, size_t cap, int depth)
{
    if (depth > 32 || ++t->visited > 10000000)
        return TFAIL("object nesting too deep");
    if (v->type == PK_TENSOR)
        return len ? add_tensor(t, name, v) : add_tensor(t, "tensor", v);
    if (v->type == PK_DICT || v->type == PK_LIST || v->type == PK_TUPLE) {
        int isdict = v->type == PK_DICT;
        size_t step = isdict ? 2 : 1;
        for (size_t i = 0; i + step - 1 < v->n; i += step) {
            const pk_val *k = isdict ? v->items[i] : NULL, *x = v->items[i + step - 1];
            char part[128];
            int pl;
            if (!isdict)
                pl = snprintf(part, sizeof part, "%zu", i);
            else if (k->type == PK_STR)
                pl = snprintf(part, sizeof part, "%.*s", (int)(k->slen > 120 ? 120 : k->slen), k->s);
            else if (k->type == PK_INT)
                pl = snprintf(part, sizeof part, "%lld", (long long)k->i);
            else
                continue;
            if (k && k->type == PK_STR && (k->slen > 120 || memchr(k->s, 0, k->slen)))
                return TFAIL("bad key in state dict");
            if (x->type != PK_TENSOR && x->type != PK_DICT && x->type != PK_LIST &&
                x->type != PK_TUPLE) {
                if (depth == 0 && (x->type == PK_INT || x->type == PK_STR) && isdict) {
                    json_t *j = x->type == PK_INT ? json_integer(x->i)
                                                  : json_stringn_nocheck(x->s, x->slen);
                    if (x->type == PK_STR && !json_string_value(j))
                        j = NULL;
                    if (j)
                        json_object_set_new(t->c->meta, part, j);
                }
                continue;
            }
            if (len + (size_t)pl + 2 >= cap)
                return TFAIL("tensor name too long");
            size_t nl = len;
            if (len)
                name[nl++] = '.';
            memcpy(name + nl, part, (size_t)pl + 1);
            int rc = walk(t, x, name, nl + (size_t)pl, cap, depth + 1);
            name[len] = 0;
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* ---- zip ---- */

static int read_zip(tctx *t, const uint8_t *buf, size_t n, const uint8_t **pkl, size_t *pkln)
{
    size_t eocd = 0, cd_off, cd_n, cd_size, p;
    int found = 0;
    for (size_t back = 22; back <= n && back <= 22 + 65535; back++)
        if (le(buf + n - back, 4) == 0x06054b50) {
            eocd = n - back;
            found = 1;
            break;
        }
    if (!found)
        return TFAIL("zip: no end of central directory");
    cd_n = (size_t)le(buf + eocd + 10, 2);
    cd_size = (size_t)le(buf + eocd + 12, 4);
    cd_off = (size_t)le(buf + eocd + 16, 4);
    if (cd_n == 0xffff || cd_off == 0xffffffffu || cd_size == 0xffffffffu) {
        if (eocd < 20 || le(buf + eocd - 20, 4) != 0x07064b50)
            return TFAIL("zip64: missing locator");
        uint64_t e64 = le(buf + eocd - 20 + 8, 8);
        if (e64 > n || n - e64 < 56 || le(buf + e64, 4) != 0x06064b50)
            return TFAIL("zip64: bad end record");
        cd_n = (size_t)le(buf + e64 + 32, 8);
        cd_size = (size_t)le(buf + e64 + 40, 8);
        cd_off = (size_t)le(buf + e64 + 48, 8);
    }
    if (cd_off > n || cd_size > n - cd_off)
        return TFAIL("zip: central directory outside the file");
    *pkl = NULL;
    p = cd_off;
    for (size_t i = 0; i < cd_n; i++) {
        uint64_t csize, usize, loff;
        size_t nl, xl, cl, method, data;
        uint32_t crc;
        if (p > n || n - p < 46 || le(buf + p, 4) != 0x02014b50)
            return TFAIL("zip: corrupt central directory entry %zu", i);
        method = (size_t)le(buf + p + 10, 2);
        crc = (uint32_t)le(buf + p + 16, 4);
        csize = le(buf + p + 20, 4);
        usize = le(buf + p + 24, 4);
        nl = (size_t)le(buf + p + 28, 2);
        xl = (size_t)le(buf + p + 30, 2);
        cl = (size_t)le(buf + p + 32, 2);
        loff = le(buf + p + 42, 4);
        if (n - p - 46 < nl + xl + cl)
            return TFAIL("zip: truncated central directory");
        const char *fname = (const char *)buf + p + 46;
        /* zip64 extra field */
        for (size_t x = p + 46 + nl; x + 4 <= p + 46 + nl + xl;) {
            size_t id = (size_t)le(buf + x, 2), sz = (size_t)le(buf + x + 2, 2), q = x + 4;
            if (x + 4 + sz > p + 46 + nl + xl)
                break;
            if (id == 1) {
                if (usize == 0xffffffffu && q + 8 <= x + 4 + sz) { usize = le(buf + q, 8); q += 8; }
                if (csize == 0xffffffffu && q + 8 <= x + 4 + sz) { csize = le(buf + q, 8); q += 8; }
                if (loff == 0xffffffffu && q + 8 <= x + 4 + sz) { loff = le(buf + q, 8); }
            }
            x += 4 + sz;
        }
        p += 46 + nl + xl + cl;
        if (loff > n || n - loff < 30 || le(buf + loff, 4) != 0x04034b50)
            return TFAIL("zip: bad local header for %.*s", (int)(nl > 200 ? 200 : nl), fname);
        data = (size_t)loff + 30 + (size_t)le(buf + loff + 26, 2) + (size_t)le(buf + loff + 28, 2);
        if (data > n || csize > n - data)
            return TFAIL("zip: entry %.*s lies past the end of the file", (int)(nl > 200 ? 200 : nl),
                         fname);
        if (method != 0 || csize != usize)
            return b4k_err_set(t->err, B4K_EUNSUP, t->name, 0,
                               "zip: entry %.*s is compressed (torch.save stores entries "
                               "uncompressed)", (int)(nl > 200 ? 200 : nl), fname);
        /* <archive>/data.pkl, <archive>/data/<key> */
        const char *slash = memchr(fname, '/', nl);
        if (!slash)
            continue;
        size_t rest = nl - (size_t)(slash + 1 - fname);
        const char *r = slash + 1;
        b4k_ccheck *check = NULL;
        if (!(t->c->flags & B4K_CKPT_NO_CRC) &&
            !(check = b4k_ckpt_add_check(t->c, B4K_CHECK_CRC32, t->name, fname,
                                         nl > 200 ? 200 : nl, buf + data, (size_t)csize, crc)))
            return b4k_err_set(t->err, B4K_ENOMEM, t->name, 0, "out of memory");
        if (rest == 8 && !memcmp(r, "data.pkl", 8)) {
            int rc = b4k_ckpt_verify_check(check, t->err);
            if (rc)
                return rc;
            *pkl = buf + data;
            *pkln = (size_t)csize;
        } else if (rest > 5 && !memcmp(r, "data/", 5)) {
            int rc = add_blob(t, r + 5, rest - 5, buf + data, (size_t)csize, check);
            if (rc)
                return rc;
        } else if (rest == 9 && !memcmp(r, "byteorder", 9)) {
            if (csize < 6 || memcmp(buf + data, "little", 6))
                return b4k_err_set(t->err, B4K_EUNSUP, t->name, 0,
                                   "big-endian torch files are not supported");
        }
    }
    if (!*pkl)
        return TFAIL("zip: no data.pkl (not a torch.save file)");
    return 0;
}

/* Legacy: element size of each storage key, from the storages the object
 * pickle refers to. */
static int storage_dtype(const pk_val *v, const char *key, size_t klen, int depth, size_t *budget)
{
    if (depth > 32 || !*budget)
        return -1;
    (*budget)--;
    if (v->type == PK_TENSOR)
        v = v->storage;
    if (v->type == PK_STORAGE)
        return v->slen == klen && !memcmp(v->s, key, klen) ? v->dtype : -1;
    if (v->type == PK_DICT || v->type == PK_LIST || v->type == PK_TUPLE)
        for (size_t i = 0; i < v->n; i++) {
            int d = storage_dtype(v->items[i], key, klen, depth + 1, budget);
            if (d >= 0)
                return d;
        }
    return -1;
}

static int read_legacy(tctx *t, pk_vm *vm, const uint8_t *buf, size_t n, pk_val **obj)
{
    size_t pos = 0;
    pk_val *v, *keys;
    int rc;
    static const uint8_t magic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
    if ((rc = pk_load(vm, buf, n, &pos, &v, t->name, t->err)))
        return rc;
    if (v->type != PK_BYTES || v->slen != 10 || memcmp(v->s, magic, 10))
        return TFAIL("not a torch.save file (bad magic number)");
    if ((rc = pk_load(vm, buf, n, &pos, &v, t->name, t->err)))
        return rc;
    if (v->type != PK_INT || v->i != 1001)
        return b4k_err_set(t->err, B4K_EUNSUP, t->name, 0, "torch legacy protocol %lld",
                           (long long)v->i);
    if ((rc = pk_load(vm, buf, n, &pos, &v, t->name, t->err)))
        return rc;
    for (size_t i = 0; v->type == PK_DICT && i + 1 < v->n; i += 2)
        if (v->items[i]->type == PK_STR && v->items[i]->slen == 13 &&
            !memcmp(v->items[i]->s, "little_endian", 13) && v->items[i + 1]->type == PK_BOOL &&
            !v->items[i + 1]->i)
            return b4k_err_set(t->err, B4K_EUNSUP, t->name, 0,
                               "big-endian torch files are not supported");
    /* values stay owned by the VM across pickles */
    if ((rc = pk_load(vm, buf, n, &pos, obj, t->name, t->err)))
        return rc;
    if ((rc = pk_load(vm, buf, n, &pos, &keys, t->name, t->err)))
        return rc;
    if (keys->type != PK_LIST)
        return TFAIL("storage key list missing");
    for (size_t i = 0; i < keys->n; i++) {
        pk_val *k = keys->items[i];
        uint64_t cnt, nb;
        size_t budget = 1000000, es;
        int dt;
        if (k->type != PK_STR)
            return TFAIL("bad storage key");
        if (n - pos < 8)
            return TFAIL("truncated storage %zu", i);
        cnt = le(buf + pos, 8);
        pos += 8;
        dt = storage_dtype(*obj, k->s, k->slen, 0, &budget);
        if (dt < 0)
            return TFAIL("storage %.*s is not used by any tensor", (int)(k->slen > 64 ? 64 : k->slen),
                         k->s);
        es = b4k_src_elem_size(dt);
        if (__builtin_mul_overflow(cnt, (uint64_t)es, &nb) || nb > n - pos)
            return TFAIL("storage %.*s: %llu elements past the end of the file",
                         (int)(k->slen > 64 ? 64 : k->slen), k->s, (unsigned long long)cnt);
        if ((rc = add_blob(t, k->s, k->slen, buf + pos, (size_t)nb, NULL)))
            return rc;
        pos += (size_t)nb;
    }
    return 0;
}

int b4k_torch_read(b4k_ckpt *c, const uint8_t *buf, size_t n, const char *name, int file_idx,
                   b4k_err *err)
{
    tctx t = {c, name, err, NULL, 0, 0, file_idx, buf, 0};
    pk_vm *vm = pk_vm_new();
    pk_val *obj = NULL;
    char tname[4096];
    int rc;
    if (!vm)
        return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
    if (n >= 4 && !memcmp(buf, "PK\3\4", 4)) {
        const uint8_t *pkl = NULL;
        size_t pkln = 0, pos = 0;
        snprintf(c->format, sizeof c->format, "torch-zip");
        rc = read_zip(&t, buf, n, &pkl, &pkln);
        if (!rc)
            rc = pk_load(vm, pkl, pkln, &pos, &obj, name, err);
    } else {
        snprintf(c->format, sizeof c->format, "torch-legacy");
        rc = read_legacy(&t, vm, buf, n, &obj);
    }
    if (!rc) {
        tname[0] = 0;
        rc = walk(&t, obj, tname, 0, sizeof tname, 0);
    }
    b4k_free(t.blobs);
    pk_vm_free(vm);
    return rc;
}
