/* safetensors: u64 LE header length N, N bytes of JSON
 *   {"__metadata__":{str:str}, name:{"dtype","shape","data_offsets":[b,e]}}
 * then the data; offsets are relative to the data start.  Reader (borrows
 * the buffer) and writer (b4k_safetensors_write). */
#include "convert/safetensors.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "io/atomic.h"

static const struct {
    const char *name;
    int dtype;
} st_types[] = {
    {"F32", B4K_F32},   {"F16", B4K_F16},          {"BF16", B4K_BF16},       {"F64", B4K_SRC_F64},
    {"I64", B4K_I64},   {"I32", B4K_I32},          {"I16", B4K_SRC_I16},     {"I8", B4K_SRC_I8},
    {"U8", B4K_U8},     {"BOOL", B4K_SRC_BOOL},    {"U16", B4K_SRC_U16},
};

const char *b4k_safetensors_dtype_name(int dtype)
{
    for (size_t i = 0; i < sizeof st_types / sizeof *st_types; i++)
        if (st_types[i].dtype == dtype)
            return st_types[i].name;
    return NULL;
}

#define MAX_HEADER ((uint64_t)100 << 20)

int b4k_safetensors_read(b4k_ckpt *c, const uint8_t *buf, size_t n, const char *name,
                         int file_idx, b4k_err *err)
{
    uint64_t hlen;
    json_error_t je;
    json_t *root = NULL, *v;
    const char *key;
    const uint8_t *data;
    size_t dlen;
    int rc = 0;
    if (n < 8)
        return b4k_err_set(err, B4K_EFORMAT, name, 0, "safetensors: file shorter than 8 bytes");
    memcpy(&hlen, buf, 8);
    if (hlen > n - 8 || hlen > MAX_HEADER)
        return b4k_err_set(err, B4K_EFORMAT, name, 0,
                           "safetensors: header length %llu exceeds the file (%zu bytes)",
                           (unsigned long long)hlen, n);
    data = buf + 8 + hlen;
    dlen = n - 8 - (size_t)hlen;
    root = json_loadb((const char *)buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return b4k_err_set(err, B4K_EFORMAT, name, 0, "safetensors header: %s", je.text);
    if (!json_is_object(root)) {
        rc = b4k_err_set(err, B4K_EFORMAT, name, 0, "safetensors header is not an object");
        goto done;
    }
    json_object_foreach(root, key, v) {
        json_t *dt, *shape, *offs;
        int dtype = -1, ndim;
        int64_t sh[B4K_MAX_DIMS];
        uint64_t b, e;
        if (!strcmp(key, "__metadata__")) {
            if (!json_is_object(v) && !json_is_null(v)) {
                rc = b4k_err_set(err, B4K_EFORMAT, name, 0, "__metadata__ is not an object");
                goto done;
            }
            if (json_is_object(v))
                json_object_set(c->meta, "metadata", v);
            continue;
        }
        dt = json_object_get(v, "dtype");
        shape = json_object_get(v, "shape");
        offs = json_object_get(v, "data_offsets");
        for (size_t i = 0; json_is_string(dt) && i < sizeof st_types / sizeof *st_types; i++)
            if (!strcmp(json_string_value(dt), st_types[i].name))
                dtype = st_types[i].dtype;
        if (dtype < 0) {
            rc = b4k_err_set(err, B4K_EUNSUP, name, 0, "tensor %s: unsupported dtype %s", key,
                             json_is_string(dt) ? json_string_value(dt) : "(missing)");
            goto done;
        }
        if (!json_is_array(shape) || json_array_size(shape) > B4K_MAX_DIMS ||
            !json_is_array(offs) || json_array_size(offs) != 2 ||
            !json_is_integer(json_array_get(offs, 0)) ||
            !json_is_integer(json_array_get(offs, 1)) ||
            json_integer_value(json_array_get(offs, 0)) < 0 ||
            json_integer_value(json_array_get(offs, 1)) < 0) {
            rc = b4k_err_set(err, B4K_EFORMAT, name, 0, "tensor %s: bad shape or data_offsets",
                             key);
            goto done;
        }
        ndim = (int)json_array_size(shape);
        for (int i = 0; i < ndim; i++) {
            json_t *d = json_array_get(shape, (size_t)i);
            if (!json_is_integer(d) || json_integer_value(d) < 0) {
                rc = b4k_err_set(err, B4K_EFORMAT, name, 0, "tensor %s: bad shape", key);
                goto done;
            }
            sh[i] = json_integer_value(d);
        }
        b = (uint64_t)json_integer_value(json_array_get(offs, 0));
        e = (uint64_t)json_integer_value(json_array_get(offs, 1));
        if (b > e || e > dlen) {
            rc = b4k_err_set(err, B4K_EFORMAT, name, 0,
                             "tensor %s: data_offsets [%llu, %llu) outside the %zu data bytes",
                             key, (unsigned long long)b, (unsigned long long)e, dlen);
            goto done;
        }
        rc = b4k_ckpt_add(c, key, dtype, ndim, sh, data + b, (size_t)(e - b), NULL, err);
        if (rc) {
            b4k_err_locate(err, name, 0);
            goto done;
        }
        c->t[c->n - 1].src_offset = 8 + hlen + b;
        c->t[c->n - 1].src_file = file_idx;
    }
done:
    json_decref(root);
    return rc;
}

/* The 8-byte length and the JSON header (space padded so the data is 8-byte
 * aligned) of n tensors laid out in order. */
static int header(b4k_buf *hdr, const b4k_ctensor *t, size_t n, json_t *metadata, b4k_err *err)
{
    json_t *root = json_object();
    uint64_t off = 0, hlen;
    int rc = 0;
    if (!root)
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    if (metadata && json_object_size(metadata))
        json_object_set(root, "__metadata__", metadata);
    for (size_t i = 0; i < n; i++) {
        const char *dn = b4k_safetensors_dtype_name(t[i].dtype);
        json_t *e, *sh;
        if (!dn) {
            rc = b4k_err_set(err, B4K_EUNSUP, NULL, 0,
                             "tensor %s: dtype %s cannot be exported to safetensors", t[i].name,
                             b4k_src_dtype_name(t[i].dtype));
            goto done;
        }
        sh = json_array();
        for (int d = 0; d < t[i].ndim; d++)
            json_array_append_new(sh, json_integer(t[i].shape[d]));
        e = json_pack("{s:s,s:o,s:[I,I]}", "dtype", dn, "shape", sh, "data_offsets",
                      (json_int_t)off, (json_int_t)(off + t[i].nbytes));
        if (!e || json_object_set_new(root, t[i].name, e)) {
            rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
            goto done;
        }
        off += t[i].nbytes;
    }
    b4k_buf_reset(hdr);
    if (b4k_buf_append(hdr, "\0\0\0\0\0\0\0\0", 8) || b4k_jsonl_dump(hdr, root)) {
        rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
        goto done;
    }
    while (hdr->len % 8) /* keep the data 8-byte aligned, as safetensors does */
        if (b4k_buf_putc(hdr, ' ')) {
            rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
            goto done;
        }
    hlen = hdr->len - 8;
    memcpy(hdr->data, &hlen, 8);
done:
    json_decref(root);
    return rc;
}

int b4k_safetensors_write(const char *path, const b4k_ctensor *t, size_t n, json_t *metadata,
                          b4k_err *err)
{
    b4k_buf hdr;
    b4k_afile *af = NULL;
    int rc;
    FILE *fp;
    b4k_buf_init(&hdr);
    if ((rc = header(&hdr, t, n, metadata, err)) || (rc = b4k_afile_open(&af, path, err)))
        goto done;
    fp = b4k_afile_fp(af);
    if (fwrite(hdr.data, 1, hdr.len, fp) != hdr.len) {
        rc = b4k_err_set(err, B4K_EIO, path, 0, "write failed");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (t[i].nbytes && fwrite(t[i].data, 1, t[i].nbytes, fp) != t[i].nbytes) {
            rc = b4k_err_set(err, B4K_EIO, path, 0, "write failed");
            goto done;
        }
    rc = b4k_afile_commit(af, err);
    af = NULL;
done:
    b4k_afile_abort(af);
    b4k_buf_free(&hdr);
    return rc;
}

int b4k_safetensors_write_mem(b4k_buf *out, const b4k_ctensor *t, size_t n, json_t *metadata,
                              b4k_err *err)
{
    int rc = header(out, t, n, metadata, err);
    for (size_t i = 0; !rc && i < n; i++)
        if (t[i].nbytes && b4k_buf_append(out, t[i].data, t[i].nbytes))
            rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    return rc;
}
