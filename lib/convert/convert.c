/* b4k-convert's pipeline: open inputs -> (merge CPM shards) -> map names ->
 * config + tokenizer -> transpose / cast -> .b4k (atomic).  A .b4k input, or
 * a safetensors file exported from one, passes through with its header,
 * names, order and codecs, so .b4k -> safetensors -> .b4k is byte-identical. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert/convert_impl.h"
#include "convert/crc32.h"
#include "convert/safetensors.h"
#include "core/alloc.h"
#include "core/cpu.h"

void b4k_convert_opts_init(b4k_convert_opts *o)
{
    memset(o, 0, sizeof *o);
    o->dtype = -1;
    o->zstd_level = -1;
}

const b4k_cv_out *b4k_cv_find(b4k_cv *cv, const char *name)
{
    for (size_t i = 0; i < cv->nout; i++)
        if (!strcmp(cv->out[i].name, name))
            return &cv->out[i];
    return NULL;
}

static int is_float(int dt)
{
    return dt == B4K_F32 || dt == B4K_F16 || dt == B4K_BF16 || dt == B4K_SRC_F64 || dt == B4K_Q8;
}

static int add_out(b4k_cv *cv, const char *name, const b4k_ctensor *src, int xform, int codec,
                   b4k_err *err)
{
    b4k_cv_out *o;
    if (b4k_cv_find(cv, name))
        return b4k_err_set(err, B4K_EFORMAT, NULL, 0, "two tensors map to %s", name);
    if (B4K_GROW(cv->out, cv->cap, cv->nout + 1))
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    o = &cv->out[cv->nout];
    memset(o, 0, sizeof *o);
    o->name = b4k_strdup(name);
    if (!o->name)
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    o->cv = cv;
    o->src = src;
    o->xform = xform;
    o->codec = codec;
    o->ndim = src->ndim;
    memcpy(o->shape, src->shape, sizeof o->shape);
    if (xform == B4K_XF_SQT) {
        if (src->ndim != 3 || src->shape[0] != 1)
            return b4k_err_set(err, B4K_EFORMAT, NULL, 0,
                               "tensor %s: expected a conv1d weight [1,in,out]", src->name);
        o->ndim = 2;
        o->shape[0] = src->shape[2];
        o->shape[1] = src->shape[1];
    } else if (xform == B4K_XF_T) {
        if (src->ndim != 2)
            return b4k_err_set(err, B4K_EFORMAT, NULL, 0,
                               "tensor %s: expected a 2-D weight to transpose", src->name);
        o->shape[0] = src->shape[1];
        o->shape[1] = src->shape[0];
    }
    cv->nout++;
    return 0;
}

static void cv_free(b4k_cv *cv)
{
    for (size_t i = 0; i < cv->nout; i++)
        b4k_free(cv->out[i].name);
    b4k_free(cv->out);
    b4k_ckpt_free(cv->merged);
    for (int i = 0; i < cv->nck; i++)
        b4k_ckpt_free(cv->ck[i]);
    b4k_free(cv->ck);
    b4k_free(cv->in);
    b4k_model_free(cv->model);
    json_decref(cv->header);
    json_decref(cv->config);
    b4k_free(cv->config_file);
    b4k_mw_free(cv->w);
    b4k_free(cv->whole);
}

/* The 16 hex digits of "xxh64:..." (validated by the model reader). */
static uint64_t xxh64_of(const char *text)
{
    return strtoull(text + 6, NULL, 16);
}

/* .b4k input as a checkpoint of borrowed views.  Raw tensors are not
 * verified at open: each gets a check (its XXH64) that is made as its
 * bytes are read, with pread, to be written (src_read), so a re-encode
 * reads and hashes every byte once.  zstd tensors are verified and
 * decompressed by the model on first access, here. */
static int open_b4k(b4k_cv *cv, const char *path, b4k_err *err)
{
    b4k_ckpt *c;
    int rc = b4k_model_open_ex(&cv->model, path, B4K_MODEL_NO_VERIFY, err);
    if (rc)
        return rc;
    c = cv->ck[cv->nck++] = b4k_ckpt_new("b4k", 0);
    if (!c)
        return b4k_err_set(err, B4K_ENOMEM, path, 0, "out of memory");
    for (size_t i = 0; i < b4k_model_count(cv->model); i++) {
        const char *name = b4k_model_tensor_name(cv->model, i), *cks;
        b4k_tensor_view v;
        b4k_ctensor *t;
        int codec, fd;
        uint64_t foff;
        if ((rc = b4k_model_get_at(cv->model, i, &v, err)) ||
            (rc = b4k_ckpt_add(c, name, v.dtype, v.ndim, v.shape, v.data, v.nbytes, NULL, err)))
            return rc;
        b4k_model_stored(cv->model, i, &codec, NULL, &cks);
        if (codec != B4K_CODEC_RAW)
            continue;
        t = &c->t[c->n - 1];
        b4k_model_source(cv->model, i, &fd, &foff);
        t->check = b4k_ckpt_add_check(c, B4K_CHECK_XXH64, path, name, strlen(name), v.data,
                                      v.nbytes, xxh64_of(cks));
        if (!t->check)
            return b4k_err_set(err, B4K_ENOMEM, path, 0, "out of memory");
        t->check->fd = t->fd = v.nbytes ? fd : -1;
        t->check->foff = t->foff = foff;
    }
    cv->header = json_incref(b4k_model_header(cv->model));
    return 0;
}

static int tied_equal(b4k_ckpt *c, const char *a, const char *b)
{
    b4k_ctensor *x = NULL, *y = NULL;
    for (size_t i = 0; i < c->n; i++) {
        const char *n = c->t[i].name;
        if (!strncmp(n, "module.", 7))
            n += 7;
        if (!strcmp(n, a))
            x = &c->t[i];
        if (!strcmp(n, b))
            y = &c->t[i];
    }
    if (!x || !y || x->nbytes != y->nbytes || x->dtype != y->dtype)
        return 0;
    if (x->data && y->data)
        return x->data == y->data || !memcmp(x->data, y->data, x->nbytes);
    { /* a lazily merged tensor: compare a slice at a time */
        uint8_t bx[4096], by[4096];
        for (size_t off = 0; off < x->nbytes; off += sizeof bx) {
            size_t k = x->nbytes - off < sizeof bx ? x->nbytes - off : sizeof bx;
            b4k_ckpt_gather(x, bx, off, k);
            b4k_ckpt_gather(y, by, off, k);
            if (memcmp(bx, by, k))
                return 0;
        }
        return 1;
    }
}

static int by_name(const void *a, const void *b)
{
    return b4k_names_cmp(((const b4k_cv_out *)a)->name, ((const b4k_cv_out *)b)->name);
}

/* CPM shards into rank order (cv->ck and cv->in), checked against each
 * other and against their number. */
static int order_cpm(b4k_cv *cv, int n, b4k_err *err)
{
    int *order = b4k_malloc_n((size_t)n, sizeof *order), rc;
    b4k_ckpt **ck = b4k_malloc_n((size_t)n, sizeof *ck);
    const char **in = b4k_malloc_n((size_t)n, sizeof *in);
    if (!order || !ck || !in)
        rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    else if (!(rc = b4k_cpm_order(cv->ck, cv->in, n, order, err))) {
        for (int r = 0; r < n; r++) {
            ck[r] = cv->ck[order[r]];
            in[r] = cv->in[order[r]];
        }
        memcpy(cv->ck, ck, (size_t)n * sizeof *ck);
        memcpy(cv->in, in, (size_t)n * sizeof *in);
    }
    b4k_free(order);
    b4k_free(ck);
    b4k_free(in);
    return rc;
}

static int plan(b4k_cv *cv, int n, const b4k_convert_opts *o, json_t *unmapped, b4k_err *err)
{
    b4k_ckpt *c;
    const char *const *inputs = cv->in;
    int rc;
    const char *fam = o->arch && strcmp(o->arch, "auto") ? o->arch : NULL;
    int codec = o->zstd_level > 0 ? B4K_CODEC_ZSTD : B4K_CODEC_RAW;
    if (!fam) {
        const char **names = b4k_malloc_n(cv->ck[0]->n ? cv->ck[0]->n : 1, sizeof *names);
        if (!names)
            return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
        for (size_t i = 0; i < cv->ck[0]->n; i++)
            names[i] = cv->ck[0]->t[i].name;
        fam = b4k_names_detect(names, cv->ck[0]->n);
        b4k_free(names);
        if (!fam)
            return b4k_err_set(err, B4K_EFORMAT, inputs[0], 0,
                               "cannot tell the model family from the tensor names; give --arch");
    }
    if (!b4k_names_family_ok(fam))
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "unknown --arch %s", fam);
    snprintf(cv->family, sizeof cv->family, "%s", fam);
    if (!strcmp(fam, "cpm") && (rc = order_cpm(cv, n, err)))
        return rc;
    if (n > 1 && !strcmp(fam, "cpm")) {
        if ((rc = b4k_cpm_merge(&cv->merged, cv->ck, cv->in, n, err)))
            return rc;
        c = cv->merged;
    } else if (n > 1) { /* sharded checkpoints (model-0000k-of-0000n): the union */
        cv->merged = b4k_ckpt_new("union", 0);
        if (!cv->merged)
            return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
        for (int k = 0; k < n; k++)
            for (size_t i = 0; i < cv->ck[k]->n; i++) {
                const b4k_ctensor *t = &cv->ck[k]->t[i];
                if (b4k_ckpt_find(cv->merged, t->name))
                    return b4k_err_set(err, B4K_EFORMAT, inputs[k], 0,
                                       "tensor %s is also in an earlier input", t->name);
                if ((rc = b4k_ckpt_add(cv->merged, t->name, t->dtype, t->ndim, t->shape, t->data,
                                       t->nbytes, NULL, err)))
                    return rc;
                cv->merged->t[cv->merged->n - 1].check = t->check;
                cv->merged->t[cv->merged->n - 1].fd = t->fd;
                cv->merged->t[cv->merged->n - 1].foff = t->foff;
            }
        c = cv->merged;
    } else {
        c = cv->ck[0];
    }
    int mod = 0; /* a ['module'] state dict: other top-level tensors are training state */
    for (size_t i = 0; i < c->n; i++)
        mod |= !strncmp(c->t[i].name, "module.", 7);
    for (size_t i = 0; i < c->n; i++) {
        char dst[512];
        if (mod && strncmp(c->t[i].name, "module.", 7) && c != cv->merged)
            continue;
        int xf, r = b4k_names_map(fam, c->t[i].name, dst, sizeof dst, &xf);
        if (r == 0)
            continue;
        if (r < 0) { /* kept under its own name, listed in the header */
            json_array_append_new(unmapped, json_string(c->t[i].name));
            snprintf(dst, sizeof dst, "%s", c->t[i].name);
            xf = B4K_XF_NONE;
        }
        if (!strcmp(fam, "gpt2") && !strcmp(dst, "lm_head.weight") &&
            tied_equal(c, "lm_head.weight", "transformer.wte.weight"))
            continue; /* tied to wte.weight */
        if ((rc = add_out(cv, dst, &c->t[i], xf, codec, err)))
            return rc;
    }
    qsort(cv->out, cv->nout, sizeof *cv->out, by_name);
    return 0;
}

/* Passthrough of a b4k header (from .b4k or exported safetensors). */
static int plan_passthrough(b4k_cv *cv, const b4k_convert_opts *o, b4k_err *err)
{
    b4k_ckpt *c = cv->ck[0];
    json_t *tens = json_object_get(cv->header, "tensors");
    for (size_t i = 0; i < c->n; i++) {
        int codec = B4K_CODEC_RAW, rc;
        const char *cs = json_string_value(json_object_get(json_object_get(tens, c->t[i].name),
                                                           "codec"));
        if (cs && !strcmp(cs, "zstd"))
            codec = B4K_CODEC_ZSTD;
        if (o->zstd_level >= 0)
            codec = o->zstd_level > 0 ? B4K_CODEC_ZSTD : B4K_CODEC_RAW;
        if ((rc = add_out(cv, c->t[i].name, &c->t[i], B4K_XF_NONE, codec, err)))
            return rc;
    }
    return 0;
}

/* Source tensor as f32 (owned, aligned). */
static float *to_f32(const b4k_ctensor *t, size_t numel, b4k_err *err)
{
    float *f = b4k_aligned_alloc(64, numel ? numel * 4 : 4);
    void *tmp = NULL;
    const void *src = t->data;
    if (!f) {
        b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
        return NULL;
    }
    if (((uintptr_t)src & 7) && t->dtype != B4K_F32) { /* align for typed loads */
        tmp = b4k_aligned_alloc(64, t->nbytes ? t->nbytes : 1);
        if (!tmp) {
            b4k_free(f);
            b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
            return NULL;
        }
        memcpy(tmp, src, t->nbytes);
        src = tmp;
    }
    if (t->dtype == B4K_SRC_F64) {
        for (size_t i = 0; i < numel; i++) {
            double x;
            memcpy(&x, (const uint8_t *)src + 8 * i, 8);
            f[i] = (float)x;
        }
    } else if (numel) {
        b4k_dtype_to_f32(f, t->dtype, src, numel,
                         t->ndim ? (size_t)t->shape[t->ndim - 1] : 1);
    }
    b4k_free(tmp);
    return f;
}

/* Lazy producer of an output tensor (transpose and/or cast), called by the
 * writer once or twice; never keeps memory between calls. */
static int fill_out_data(const b4k_cv_out *o, const b4k_ctensor *s, void *dst, size_t nbytes,
                         b4k_err *err);

/* The writer's check of a borrowed source tensor (its zip entry's CRC-32),
 * right before it is first read. */
static int check_src(void *ctx, b4k_err *err)
{
    return b4k_ckpt_verify(((const b4k_cv_out *)ctx)->src, err);
}

static int fill_out(void *ctx, void *dst, size_t nbytes, b4k_err *err)
{
    const b4k_cv_out *o = ctx;
    b4k_ctensor whole;
    int rc;
    void *buf;
    if ((rc = b4k_ckpt_verify(o->src, err)))
        return rc;
    if (o->src->data)
        return fill_out_data(o, o->src, dst, nbytes, err);
    /* a lazily merged source: gather it for the transpose / quantiser */
    whole = *o->src;
    if (!(buf = b4k_aligned_alloc(64, whole.nbytes ? whole.nbytes : 1)))
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    b4k_ckpt_gather(o->src, buf, 0, whole.nbytes);
    whole.data = buf;
    rc = fill_out_data(o, &whole, dst, nbytes, err);
    b4k_free(buf);
    return rc;
}

static int fill_out_data(const b4k_cv_out *o, const b4k_ctensor *s, void *dst, size_t nbytes,
                         b4k_err *err)
{
    size_t numel;
    float *f, *g;
    b4k_shape_numel(o->ndim, o->shape, &numel);
    if (o->dt == s->dtype) { /* same type: a transpose */
        b4k_cv_transpose(dst, s->data, (size_t)o->shape[1], (size_t)o->shape[0],
                  b4k_src_elem_size(s->dtype));
        return 0;
    }
    if (!(f = to_f32(s, numel, err)))
        return err ? err->code : B4K_ENOMEM;
    if (o->xform != B4K_XF_NONE) {
        g = b4k_aligned_alloc(64, numel ? numel * 4 : 4);
        if (!g) {
            b4k_free(f);
            return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
        }
        b4k_cv_transpose(g, f, (size_t)o->shape[1], (size_t)o->shape[0], 4);
        b4k_free(f);
        f = g;
    }
    size_t k = o->ndim ? (size_t)o->shape[o->ndim - 1] : 1;
    if (o->dt == B4K_Q8 && k == 0)
        memset(dst, 0, nbytes);
    else if (numel || o->dt == B4K_Q8)
        b4k_dtype_from_f32(dst, o->dt, f, numel, k);
    b4k_free(f);
    return 0;
}

/* Reading a source tensor.  Borrowed bytes of a file the checkpoint keeps
 * open (s->fd) are read with pread(2) into a buffer the writer reuses, not
 * through the map: the first touch of each mapped page is a page fault
 * (~1.5-5 us per 4 KiB page on the bench VM, the main cost of a
 * conversion there), while pread copies the same page-cache pages with
 * none.  The source's check (a torch zip entry's CRC-32, a .b4k tensor's
 * XXH64) is computed on the way when it covers exactly the tensor and the
 * reads come in order, so each byte is read once: the writer's temporary
 * output is abandoned when it fails at the tensor's end.  Otherwise the
 * check is made on its own first (b4k_ckpt_verify, also with pread). */
#define SLICE ((size_t)256 << 10)
#define WHOLE_MAX ((size_t)64 << 20) /* larger sources are transposed from the map */

static int pread_all(const b4k_ctensor *s, void *dst, size_t off, size_t n, b4k_err *err)
{
    uint8_t *d = dst;
    while (n) {
        ssize_t k = pread(s->fd, d, n, (off_t)(s->foff + off));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return b4k_err_set(err, B4K_EIO, NULL, 0, "tensor %s: read error: %s", s->name,
                               k < 0 ? strerror(errno) : "the file shrank");
        d += k;
        off += (size_t)k;
        n -= (size_t)k;
    }
    return 0;
}

/* The check covers exactly the tensor's bytes and is not made yet. */
static int fusable(const b4k_ctensor *s)
{
    const b4k_ccheck *k = s->check;
    return k && !k->state && k->p == s->data && k->n == s->nbytes;
}

/* Source bytes [off, off + n) into buf. */
static int src_read(b4k_cv_out *o, void *buf, size_t off, size_t n, b4k_err *err)
{
    const b4k_ctensor *s = o->src;
    b4k_ccheck *k = s->check;
    int fused = !o->defer && fusable(s), rc;
    if (fused && off == 0) {
        o->crc = 0;
        b4k_xxh64_init(&o->xh, 0);
        o->vnext = 0;
    }
    if (fused && off != o->vnext)
        fused = 0; /* not in order: check first */
    if (!fused && !o->defer && (rc = b4k_ckpt_verify(s, err)))
        return rc;
    if ((rc = pread_all(s, buf, off, n, err)))
        return rc;
    if (fused) {
        if (k->kind == B4K_CHECK_CRC32)
            o->crc = b4k_crc32(o->crc, buf, n);
        else
            b4k_xxh64_update(&o->xh, buf, n);
        o->vnext = off + n;
        if (o->vnext == s->nbytes)
            return b4k_ckpt_check_done(k, k->kind == B4K_CHECK_CRC32 ? o->crc
                                                                    : b4k_xxh64_digest(&o->xh),
                                       err);
    }
    return 0;
}

/* A deferred check: the writer hashed the bytes it wrote, which are the
 * source's stored bytes (a raw .b4k tensor re-encoded raw). */
static int src_done(void *ctx, uint64_t xxh64, b4k_err *err)
{
    return b4k_ckpt_check_done(((b4k_cv_out *)ctx)->src->check, xxh64, err);
}

/* The whole source (for a transpose, which reads every row for each slice
 * of output rows): read once into cv->whole and checked, or the map. */
static int src_whole(b4k_cv_out *o, const uint8_t **out, b4k_err *err)
{
    b4k_cv *cv = o->cv;
    const b4k_ctensor *s = o->src;
    int rc;
    if (cv->whole_of == s) {
        *out = cv->whole;
        return 0;
    }
    if (s->fd < 0 || s->nbytes > WHOLE_MAX) {
        *out = s->data;
        return b4k_ckpt_verify(s, err);
    }
    cv->whole_of = NULL;
    if (cv->whole_cap < s->nbytes) {
        b4k_free(cv->whole);
        cv->whole_cap = 0;
        if (!(cv->whole = b4k_aligned_alloc(64, s->nbytes)))
            return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
        cv->whole_cap = s->nbytes;
    }
    for (size_t off = 0; off < s->nbytes; off += SLICE)
        if ((rc = src_read(o, cv->whole + off, off,
                           s->nbytes - off < SLICE ? s->nbytes - off : SLICE, err)))
            return rc;
    cv->whole_of = s;
    *out = cv->whole;
    return 0;
}

/* Source elements [a, a + n) as f32 into f (aligned loads, any src dtype
 * the row producer takes: not blocked). */
static void src_to_f32(float *f, int sdt, const uint8_t *src, size_t n)
{
    if (sdt == B4K_SRC_F64) {
        for (size_t i = 0; i < n; i++) {
            double x;
            memcpy(&x, src + 8 * i, 8);
            f[i] = (float)x;
        }
    } else if (sdt == B4K_F32) {
        memcpy(f, src, n * 4);
    } else if (n) {
        b4k_dtype_to_f32(f, sdt, src, n, 1);
    }
}

/* Row producer of an output tensor: rows [r0, r0 + nr) transposed and/or
 * cast straight into dst (a cache-sized slice the writer hashes and writes
 * next; f32 for a q8 output, which the writer quantises).  Casts go through
 * an f32 slice. */
static int fill_out_rows(void *ctx, void *dst, size_t r0, size_t nr, b4k_err *err)
{
    b4k_cv_out *o = ctx;
    const b4k_ctensor *s = o->src;
    const int tdt = o->dt == B4K_Q8 ? B4K_F32 : o->dt; /* the writer quantises f32 rows */
    size_t es = b4k_src_elem_size(s->dtype), rowlen = 1, n;
    void *tmp = NULL, *src;
    float *f = NULL;
    int rc = 0;
    for (int d = 1; d < o->ndim; d++)
        rowlen *= (size_t)o->shape[d];
    n = nr * rowlen;
    if (o->xform != B4K_XF_NONE) { /* gather the source elements of these rows */
        const uint8_t *whole = NULL;
        if ((rc = src_whole(o, &whole, err)))
            return rc;
        src = tdt == s->dtype ? dst : (tmp = b4k_aligned_alloc(64, n * es + 1));
        if (!src)
            goto oom;
        b4k_cv_transpose_rows(src, whole, (size_t)o->shape[1], (size_t)o->shape[0], r0, r0 + nr, es);
    } else if (s->data && s->fd >= 0) { /* read (and checked) a slice at a time */
        src = tdt == s->dtype ? dst : (tmp = b4k_aligned_alloc(64, n * es + 1));
        if (!src)
            goto oom;
        if ((rc = src_read(o, src, r0 * rowlen * es, n * es, err)))
            goto fail;
    } else if ((rc = b4k_ckpt_verify(s, err))) { /* once: then a flag test */
        return rc;
    } else if (!s->data) { /* a lazily merged source: gather these rows */
        src = tdt == s->dtype ? dst : (tmp = b4k_aligned_alloc(64, n * es + 1));
        if (!src)
            goto oom;
        b4k_ckpt_gather(s, src, r0 * rowlen * es, n * es);
    } else {
        src = (uint8_t *)s->data + r0 * rowlen * es;
        if ((uintptr_t)src % 8) { /* typed loads want alignment */
            if (!(tmp = b4k_aligned_alloc(64, n * es + 1)))
                goto oom;
            memcpy(tmp, src, n * es);
            src = tmp;
        }
    }
    if (tdt != s->dtype) {
        if (s->dtype == B4K_F32) {
            f = src;
        } else {
            if (!(f = b4k_aligned_alloc(64, n * 4 + 4)))
                goto oom;
            src_to_f32(f, s->dtype, src, n);
        }
        b4k_dtype_from_f32(dst, tdt, f, n, rowlen);
        if (f != src)
            b4k_free(f);
    } else if (src != dst) {
        memcpy(dst, src, n * es);
    }
    b4k_free(tmp);
    return 0;
oom:
    rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
fail:
    b4k_free(tmp);
    return rc;
}

/* q8 pads each row's last dimension K to a multiple of 32 and adds an f16
 * scale per 32: worth it only for K >= 32 and when no bigger than f16 (K =
 * 33 is not); other matrices are written as f16 instead. */
static int q8_pays(const b4k_cv_out *o)
{
    size_t k = (size_t)o->shape[o->ndim - 1], kp = b4k_q8_kpad(k);
    return k >= B4K_Q8_BLOCK && kp + kp / B4K_Q8_BLOCK * 2 <= 2 * k;
}

static int emit_one(b4k_cv *cv, b4k_cv_out *o, int target, b4k_err *err)
{
    const b4k_ctensor *s = o->src;
    int dt = s->dtype;
    if (is_float(dt)) {
        if (target == B4K_Q8 && o->ndim >= 2 && dt != B4K_Q8 && !q8_pays(o))
            dt = B4K_F16;
        else if (target >= 0 && o->ndim >= 2)
            dt = target;
        else if (target >= 0 || dt == B4K_SRC_F64)
            dt = B4K_F32;
    } else if (dt == B4K_SRC_BOOL) {
        dt = B4K_U8;
    } else if (dt != B4K_I32 && dt != B4K_I64 && dt != B4K_U8) {
        return b4k_err_set(err, B4K_EUNSUP, NULL, 0, "tensor %s: %s tensors are not supported",
                           s->name, b4k_src_dtype_name(s->dtype));
    }
    if (s->dtype == B4K_SRC_BOOL && s->data) /* same bytes as u8 */
        return b4k_mw_add_checked(cv->w, o->name, dt, o->ndim, o->shape, s->data, o->codec,
                                  check_src, o, err);
    o->dt = dt;
    if (dt == s->dtype && o->xform == B4K_XF_NONE && s->data && s->fd >= 0 &&
        !b4k_dtype_traits_of(dt)->blocked) { /* read with pread into the writer's slices */
        int rc = b4k_mw_add_rows(cv->w, o->name, dt, o->ndim, o->shape, o->codec,
                                 fill_out_rows, o, err);
        /* the same bytes raw: the writer's hash checks a .b4k source's */
        if (!rc && o->codec == B4K_CODEC_RAW && fusable(s) &&
            s->check->kind == B4K_CHECK_XXH64) {
            o->defer = 1;
            rc = b4k_mw_set_done(cv->w, o->name, src_done, o);
        }
        return rc;
    }
    if (dt == s->dtype && o->xform == B4K_XF_NONE && s->data) /* zero copy from the map */
        return b4k_mw_add_checked(cv->w, o->name, dt, o->ndim, o->shape, s->data, o->codec,
                                  check_src, o, err);
    if (!s->data && (s->dtype == B4K_SRC_BOOL || (!is_float(dt) && dt != s->dtype)))
        return b4k_err_set(err, B4K_EUNSUP, NULL, 0, "tensor %s: cannot convert", s->name);
    if (!is_float(dt) && dt != s->dtype)
        return b4k_err_set(err, B4K_EUNSUP, NULL, 0, "tensor %s: cannot convert", s->name);
    if ((dt != B4K_Q8 || o->shape[o->ndim - 1] > 0) && s->dtype != B4K_Q8 && o->ndim >= 1 &&
        (o->xform == B4K_XF_NONE || (o->ndim == 2 && s->data)))
        return b4k_mw_add_rows(cv->w, o->name, dt, o->ndim, o->shape, o->codec, fill_out_rows,
                               o, err);
    return b4k_mw_add_lazy(cv->w, o->name, dt, o->ndim, o->shape, o->codec, fill_out, o, err);
}

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int b4k_convert_run(const char *const *inputs, int n, const b4k_convert_opts *o,
                    const char *out, b4k_err *err)
{
    b4k_cv cv;
    json_t *unmapped = json_array(), *src = NULL;
    int rc = 0, target = o->dtype;
    const char *arch;
    memset(&cv, 0, sizeof cv);
    if (n < 1)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "no input");
    cv.ck = b4k_calloc((size_t)n, sizeof *cv.ck);
    cv.in = b4k_malloc_n((size_t)n, sizeof *cv.in);
    if (!cv.ck || !cv.in || !unmapped) {
        rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) {
            struct stat a, b;
            if (!stat(inputs[i], &a) && !stat(inputs[j], &b) && a.st_dev == b.st_dev &&
                a.st_ino == b.st_ino) {
                rc = b4k_err_set(err, B4K_EINVAL, inputs[i], 0,
                                 "mp-shard mismatch: input %d is the same file as input %d",
                                 i + 1, j + 1);
                goto done;
            }
        }
    for (int i = 0; i < n; i++)
        cv.in[i] = inputs[i];
    for (int i = 0; i < n; i++) {
        const char *fmt = b4k_ckpt_sniff(inputs[i]);
        if (fmt && !strcmp(fmt, "b4k")) {
            if (n > 1) {
                rc = b4k_err_set(err, B4K_EINVAL, inputs[i], 0, "a .b4k input must be alone");
                goto done;
            }
            if ((rc = open_b4k(&cv, inputs[i], err)))
                goto done;
            continue;
        }
        if ((rc = b4k_ckpt_open(&cv.ck[i], inputs[i], o->ckpt_flags, err)))
            goto done;
        cv.nck = i + 1;
    }
    if (!cv.header && n == 1 && !strcmp(cv.ck[0]->format, "safetensors")) {
        const char *h = json_string_value(
            json_object_get(json_object_get(cv.ck[0]->meta, "metadata"), "b4k.header"));
        if (h && (rc = b4k_json_parse_doc(&cv.header, h, strlen(h), inputs[0], err)))
            goto done;
        if (cv.header && !json_is_object(cv.header)) {
            rc = b4k_err_set(err, B4K_EFORMAT, inputs[0], 0, "bad b4k.header metadata");
            goto done;
        }
    }
    if (cv.header) { /* passthrough */
        json_t *a = json_object_get(cv.header, "architecture"), *lvl;
        const char *k;
        json_t *v;
        arch = json_is_string(a) ? json_string_value(a) : "";
        cv.w = b4k_mw_new(arch);
        if (!cv.w) {
            rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
            goto done;
        }
        lvl = json_object_get(cv.header, "zstd_level");
        b4k_mw_set_zstd(cv.w, o->zstd_level > 0 ? o->zstd_level
                              : json_is_integer(lvl) ? (int)json_integer_value(lvl) : 3,
                        o->threads);
        if (json_is_object(json_object_get(cv.header, "config")))
            b4k_mw_set_config(cv.w, json_object_get(cv.header, "config"));
        if (json_is_object(json_object_get(cv.header, "tokenizer")))
            b4k_mw_set_tokenizer(cv.w, json_object_get(cv.header, "tokenizer"));
        json_object_foreach(cv.header, k, v) {
            if (strcmp(k, "architecture") && strcmp(k, "config") && strcmp(k, "tokenizer") &&
                strcmp(k, "tensors") && strcmp(k, "zstd_level"))
                b4k_mw_set_meta(cv.w, k, v);
        }
        if ((rc = plan_passthrough(&cv, o, err)))
            goto done;
    } else {
        if ((rc = plan(&cv, n, o, unmapped, err)))
            goto done;
        inputs = cv.in; /* CPM: in rank order */
        cv.w = b4k_mw_new(cv.family);
        if (!cv.w) {
            rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
            goto done;
        }
        b4k_mw_set_zstd(cv.w, o->zstd_level > 0 ? o->zstd_level : 3, o->threads);
        cv.codec = o->zstd_level > 0 ? B4K_CODEC_ZSTD : B4K_CODEC_RAW;
        if ((rc = b4k_cv_config(&cv, inputs, o, err)))
            goto done;
        b4k_mw_set_config(cv.w, cv.config);
        if (target < 0)
            target = B4K_F32;
    }
    for (size_t i = 0; i < cv.nout; i++)
        if ((rc = emit_one(&cv, &cv.out[i], target, err))) {
            b4k_err_locate(err, inputs[0], 0);
            goto done;
        }
    { /* one buffer for the largest source read whole, so its pages fault
       * once, in 2 MiB pages where the kernel gives them (transparent huge
       * pages on madvise): fewer faults and TLB misses for the read and the
       * transpose's strided walk (-10% CPU for GPT-2 124M raw f32) */
        size_t most = 0;
        for (size_t i = 0; i < cv.nout; i++) {
            const b4k_ctensor *t = cv.out[i].src;
            if (cv.out[i].xform != B4K_XF_NONE && t->data && t->fd >= 0 &&
                t->nbytes <= WHOLE_MAX && t->nbytes > most)
                most = t->nbytes;
        }
        most = (most + ((size_t)2 << 20) - 1) & ~(((size_t)2 << 20) - 1);
        if (most && (cv.whole = b4k_aligned_alloc((size_t)2 << 20, most))) {
            cv.whole_cap = most;
            madvise(cv.whole, most, MADV_HUGEPAGE);
        }
    }
    if (!cv.header) {
        json_t *files = json_array();
        if ((rc = b4k_cv_tokenizer(&cv, inputs, o, err)))
            goto done;
        for (int i = 0; i < n; i++)
            json_array_append_new(files, json_string(base(inputs[i])));
        src = json_pack("{s:s,s:o}", "format", cv.nck ? cv.ck[0]->format : "", "files", files);
        if (cv.config_file)
            json_object_set_new(src, "config", json_string(base(cv.config_file)));
        if (json_array_size(unmapped))
            json_object_set(src, "unmapped", unmapped);
        b4k_mw_set_meta(cv.w, "source", src);
    }
    rc = b4k_mw_write(cv.w, out, err);
done:
    json_decref(src);
    json_decref(unmapped);
    cv_free(&cv);
    return rc;
}
