/* Checkpoint container: tensor list, mapped files, format detection. */
#include "convert/ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert/crc32.h"
#include "core/alloc.h"
#include "model/model.h"

size_t b4k_src_elem_size(int dtype)
{
    switch (dtype) {
    case B4K_F32: case B4K_I32: return 4;
    case B4K_F16: case B4K_BF16: case B4K_SRC_I16: case B4K_SRC_U16: return 2;
    case B4K_I64: case B4K_SRC_F64: return 8;
    case B4K_U8: case B4K_SRC_I8: case B4K_SRC_BOOL: return 1;
    default: return 0;
    }
}

const char *b4k_src_dtype_name(int dtype)
{
    switch (dtype) {
    case B4K_SRC_F64: return "f64";
    case B4K_SRC_I16: return "i16";
    case B4K_SRC_U16: return "u16";
    case B4K_SRC_I8: return "i8";
    case B4K_SRC_BOOL: return "bool";
    default: return b4k_dtype_name(dtype);
    }
}

b4k_ckpt *b4k_ckpt_new(const char *format, unsigned flags)
{
    b4k_ckpt *c = b4k_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    snprintf(c->format, sizeof c->format, "%s", format ? format : "");
    c->flags = flags;
    c->meta = json_object();
    if (!c->meta) {
        b4k_free(c);
        return NULL;
    }
    return c;
}

void b4k_ckpt_free(b4k_ckpt *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        b4k_free(c->t[i].name);
        b4k_free(c->t[i].owned);
    }
    b4k_free(c->t);
    for (size_t i = 0; i < c->nmaps; i++) {
        if (c->maps[i].p)
            munmap(c->maps[i].p, c->maps[i].n);
        if (c->maps[i].fd >= 0)
            close(c->maps[i].fd);
        b4k_free(c->maps[i].path);
    }
    b4k_free(c->maps);
    for (b4k_ccheck *k = c->checks, *nx; k; k = nx) {
        nx = k->next;
        b4k_free(k->file);
        b4k_free(k->entry);
        b4k_free(k);
    }
    json_decref(c->meta);
    b4k_free(c);
}

int b4k_ckpt_add_spans(b4k_ckpt *c, const char *name, int dtype, int ndim, const int64_t *shape,
                       b4k_cspan *spans, size_t nspans, b4k_err *err)
{
    size_t total = 0;
    int rc;
    for (size_t i = 0; i < nspans; i++)
        total += spans[i].n;
    if ((rc = b4k_ckpt_add(c, name, dtype, ndim, shape, NULL, total, spans, err)))
        return rc;
    c->t[c->n - 1].data = NULL;
    c->t[c->n - 1].spans = spans;
    c->t[c->n - 1].nspans = nspans;
    return 0;
}

void b4k_ckpt_gather(const b4k_ctensor *t, void *dst, size_t off, size_t n)
{
    uint8_t *d = dst;
    size_t lo = 0, hi = t->nspans, base;
    if (t->data) {
        memcpy(dst, (const uint8_t *)t->data + off, n);
        return;
    }
    /* spans of equal length are the common case; otherwise walk */
    base = 0;
    for (lo = 0; lo < hi && base + t->spans[lo].n <= off; lo++)
        base += t->spans[lo].n;
    for (size_t i = lo; n && i < hi; i++) {
        size_t a = off > base ? off - base : 0, k = t->spans[i].n - a;
        if (k > n)
            k = n;
        memcpy(d, (const uint8_t *)t->spans[i].p + a, k);
        d += k;
        n -= k;
        off += k;
        base += t->spans[i].n;
    }
}

/* The fd and offset of borrowed bytes inside one of c's maps. */
static int locate(const b4k_ckpt *c, const void *p, size_t n, uint64_t *off)
{
    const uint8_t *q = p;
    for (size_t i = 0; i < c->nmaps; i++) {
        const uint8_t *b = c->maps[i].p;
        if (b && c->maps[i].fd >= 0 && q >= b && q - b <= (ptrdiff_t)c->maps[i].n &&
            n <= c->maps[i].n - (size_t)(q - b)) {
            *off = (uint64_t)(q - b);
            return c->maps[i].fd;
        }
    }
    *off = 0;
    return -1;
}

int b4k_ckpt_add(b4k_ckpt *c, const char *name, int dtype, int ndim, const int64_t *shape,
                 const void *data, size_t nbytes, void *owned, b4k_err *err)
{
    size_t numel, want, es = b4k_src_elem_size(dtype);
    b4k_ctensor *t;
    if (dtype == B4K_Q8) { /* only from .b4k input: packed bytes */
        es = 1;
        if (b4k_dtype_nbytes(dtype, ndim, shape, &want) || b4k_shape_numel(ndim, shape, &numel))
            es = 0;
        numel = want;
    }
    if (!es || ndim < 0 || ndim > B4K_MAX_DIMS || b4k_shape_numel(ndim, shape, &numel) ||
        (dtype == B4K_Q8 ? b4k_dtype_nbytes(dtype, ndim, shape, &want)
                         : __builtin_mul_overflow(numel, es, &want))) {
        b4k_free(owned);
        return b4k_err_set(err, B4K_EFORMAT, NULL, 0, "tensor %s: bad dtype or shape", name);
    }
    if (want != nbytes) {
        b4k_free(owned);
        return b4k_err_set(err, B4K_EFORMAT, NULL, 0,
                           "tensor %s: %zu bytes of data for a shape of %zu bytes", name, nbytes,
                           want);
    }
    if (B4K_GROW(c->t, c->cap, c->n + 1)) {
        b4k_free(owned);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    t = &c->t[c->n];
    memset(t, 0, sizeof *t);
    t->name = b4k_strdup(name);
    if (!t->name) {
        b4k_free(owned);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    t->data = owned ? owned : data;
    t->owned = owned;
    t->nbytes = nbytes;
    t->fd = owned || !data ? -1 : locate(c, data, nbytes, &t->foff);
    c->n++;
    return 0;
}

b4k_ccheck *b4k_ckpt_add_check(b4k_ckpt *c, int kind, const char *file, const char *entry,
                               size_t elen, const void *p, size_t n, uint64_t want)
{
    b4k_ccheck *k = b4k_calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->file = b4k_strdup(file ? file : "");
    k->entry = b4k_strndup(entry, elen);
    if (!k->file || !k->entry) {
        b4k_free(k->file);
        b4k_free(k->entry);
        b4k_free(k);
        return NULL;
    }
    k->p = p;
    k->n = n;
    k->kind = kind;
    k->want = want;
    k->fd = locate(c, p, n, &k->foff);
    k->next = c->checks;
    c->checks = k;
    return k;
}

/* The CRC-32 or XXH64 of the checked bytes: read with pread into a small
 * buffer when the file is known (no page faults on the map), else from the
 * map. */
static uint64_t digest(const b4k_ccheck *k)
{
    enum { SLICE = 256 << 10 };
    uint8_t *buf = k->fd >= 0 && k->n >= SLICE ? b4k_malloc(SLICE) : NULL;
    b4k_xxh64_state h;
    uint32_t crc = 0;
    size_t done = 0;
    b4k_xxh64_init(&h, 0);
    while (done < k->n) {
        size_t m = k->n - done < SLICE ? k->n - done : SLICE;
        const uint8_t *p = k->p + done;
        if (buf) {
            ssize_t got = pread(k->fd, buf, m, (off_t)(k->foff + done));
            if (got < 0 && errno == EINTR)
                continue;
            if (got > 0) {
                p = buf;
                m = (size_t)got;
            }
        }
        if (k->kind == B4K_CHECK_CRC32)
            crc = b4k_crc32(crc, p, m);
        else
            b4k_xxh64_update(&h, p, m);
        done += m;
    }
    b4k_free(buf);
    return k->kind == B4K_CHECK_CRC32 ? crc : b4k_xxh64_digest(&h);
}

int b4k_ckpt_verify_check(b4k_ccheck *k, b4k_err *err)
{
    if (k && !k->state)
        k->state = digest(k) == k->want ? 1 : -1;
    if (k && k->state < 0) {
        if (k->kind == B4K_CHECK_XXH64)
            return b4k_err_set(err, B4K_ECHECKSUM, k->file, 0,
                               "tensor %s: checksum mismatch (file is corrupt)", k->entry);
        return b4k_err_set(err, B4K_ECHECKSUM, k->file, 0,
                           "zip entry %s: CRC-32 mismatch (the file is corrupt)", k->entry);
    }
    return 0;
}

int b4k_ckpt_check_done(b4k_ccheck *k, uint64_t got, b4k_err *err)
{
    if (!k->state)
        k->state = got == k->want ? 1 : -1;
    return b4k_ckpt_verify_check(k, err);
}

int b4k_ckpt_verify(const b4k_ctensor *t, b4k_err *err)
{
    return b4k_ckpt_verify_check(t->check, err);
}

int b4k_ckpt_verify_all(const b4k_ckpt *c, b4k_err *err)
{
    for (size_t i = 0; i < c->n; i++) {
        int rc = b4k_ckpt_verify(&c->t[i], err);
        if (rc)
            return rc;
    }
    return 0;
}

b4k_ctensor *b4k_ckpt_find(b4k_ckpt *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->t[i].name, name))
            return &c->t[i];
    return NULL;
}

void b4k_ckpt_remove(b4k_ckpt *c, size_t i)
{
    if (i >= c->n)
        return;
    b4k_free(c->t[i].name);
    b4k_free(c->t[i].owned);
    memmove(&c->t[i], &c->t[i + 1], (c->n - i - 1) * sizeof *c->t);
    c->n--;
}

int b4k_ckpt_map(b4k_ckpt *c, const char *path, const uint8_t **data, size_t *n, int *idx,
                 b4k_err *err)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    void *p = NULL;
    if (fd < 0)
        return b4k_err_set(err, B4K_EIO, path, 0, "cannot open: %s", strerror(errno));
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return b4k_err_set(err, B4K_EIO, path, 0, "not a regular file");
    }
    if (st.st_size > 0) {
        p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return b4k_err_set(err, B4K_EIO, path, 0, "mmap: %s", strerror(errno));
        }
    }
    if (B4K_GROW(c->maps, c->capmaps, c->nmaps + 1)) {
        if (p)
            munmap(p, (size_t)st.st_size);
        close(fd);
        return b4k_err_set(err, B4K_ENOMEM, path, 0, "out of memory");
    }
    c->maps[c->nmaps].p = p;
    c->maps[c->nmaps].n = (size_t)st.st_size;
    c->maps[c->nmaps].path = b4k_strdup(path);
    c->maps[c->nmaps].fd = fd; /* for pread: see b4k_ckpt_check / convert.c */
    if (idx)
        *idx = (int)c->nmaps;
    c->nmaps++;
    *data = p ? p : (const uint8_t *)"";
    *n = (size_t)st.st_size;
    return 0;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* For a TF checkpoint, the prefix: "X" for X, X.index, X.data-*. */
static int tf_prefix(const char *path, char *out, size_t cap)
{
    const char *d;
    size_t n = strlen(path);
    if (n + 7 >= cap)
        return 0;
    if (n > 6 && !strcmp(path + n - 6, ".index")) {
        memcpy(out, path, n - 6);
        out[n - 6] = 0;
        return 1;
    }
    if ((d = strstr(path, ".data-")) && strstr(d, "-of-")) {
        memcpy(out, path, (size_t)(d - path));
        out[d - path] = 0;
        char idx[4200];
        snprintf(idx, sizeof idx, "%s.index", out);
        return exists(idx);
    }
    snprintf(out, cap, "%s.index", path);
    if (exists(out) && !exists(path)) {
        snprintf(out, cap, "%s", path);
        return 1;
    }
    return 0;
}

const char *b4k_ckpt_sniff(const char *path)
{
    char pre[4096];
    uint8_t h[16] = {0};
    FILE *fp;
    size_t got;
    if (tf_prefix(path, pre, sizeof pre))
        return "tf";
    fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    got = fread(h, 1, sizeof h, fp);
    fclose(fp);
    if (got >= 4 && !memcmp(h, "B4K\0", 4))
        return "b4k";
    if (got >= 4 && !memcmp(h, "PK\3\4", 4))
        return "torch-zip";
    if (got >= 3 && h[0] == 0x80 && h[1] <= 5 && h[2] == 0x8a)
        return "torch-legacy";
    if (got >= 9 && h[8] == '{')
        return "safetensors";
    return NULL;
}

int b4k_ckpt_open(b4k_ckpt **out, const char *path, unsigned flags, b4k_err *err)
{
    const char *fmt = b4k_ckpt_sniff(path);
    b4k_ckpt *c;
    const uint8_t *buf;
    size_t n;
    int rc, idx;
    char pre[4096];
    *out = NULL;
    if (!fmt) {
        if (!exists(path))
            return b4k_err_set(err, B4K_EIO, path, 0, "cannot open: %s", strerror(ENOENT));
        return b4k_err_set(err, B4K_EFORMAT, path, 0,
                           "unknown checkpoint format (expected a TF checkpoint, safetensors, "
                           "a torch.save file or .b4k)");
    }
    if (!strcmp(fmt, "b4k"))
        return b4k_err_set(err, B4K_EUNSUP, path, 0, "already a .b4k model");
    c = b4k_ckpt_new(fmt, flags);
    if (!c)
        return b4k_err_set(err, B4K_ENOMEM, path, 0, "out of memory");
    if (!strcmp(fmt, "tf")) {
        tf_prefix(path, pre, sizeof pre);
        rc = b4k_tf_open(c, pre, err);
    } else {
        rc = b4k_ckpt_map(c, path, &buf, &n, &idx, err);
        if (!rc && !strcmp(fmt, "safetensors"))
            rc = b4k_safetensors_read(c, buf, n, path, idx, err);
        else if (!rc)
            rc = b4k_torch_read(c, buf, n, path, idx, err);
        if (rc)
            b4k_err_locate(err, path, 0);
    }
    if (rc) {
        b4k_ckpt_free(c);
        return rc;
    }
    *out = c;
    return 0;
}
