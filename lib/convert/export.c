/* A .b4k model as a safetensors file whose metadata carries the .b4k
 * header, so that converting it back gives the same bytes. */
#include <string.h>

#include "convert/convert.h"
#include "convert/safetensors.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "io/jsonl.h"
#include "model/model.h"

int b4k_convert_export_safetensors(const char *model, const char *out, b4k_err *err)
{
    b4k_model *m = NULL;
    b4k_ctensor *t = NULL;
    json_t *hdr = NULL, *meta = NULL, *tens;
    size_t n = 0;
    b4k_buf text;
    int rc;
    b4k_buf_init(&text);
    if ((rc = b4k_model_open(&m, model, err)))
        return rc;
    n = b4k_model_count(m);
    t = b4k_calloc(n ? n : 1, sizeof *t);
    hdr = json_copy(b4k_model_header(m));
    tens = json_object();
    if (!t || !hdr || !tens || json_object_set_new(hdr, "tensors", tens)) {
        rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        b4k_tensor_view v;
        int codec;
        if ((rc = b4k_model_get_at(m, i, &v, err)))
            goto done;
        if (v.dtype == B4K_Q8) {
            rc = b4k_err_set(err, B4K_EUNSUP, model, 0,
                             "tensor %s is q8, which safetensors cannot hold; convert the "
                             "original checkpoint with --dtype f32, f16 or bf16",
                             b4k_model_tensor_name(m, i));
            goto done;
        }
        t[i].name = (char *)b4k_model_tensor_name(m, i);
        t[i].dtype = v.dtype;
        t[i].ndim = v.ndim;
        memcpy(t[i].shape, v.shape, sizeof v.shape);
        t[i].data = v.data;
        t[i].nbytes = v.nbytes;
        b4k_model_stored(m, i, &codec, NULL, NULL);
        json_object_set_new(tens, t[i].name,
                            json_pack("{s:s}", "codec", codec == B4K_CODEC_ZSTD ? "zstd" : "raw"));
    }
    if (b4k_jsonl_dump(&text, hdr)) {
        rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
        goto done;
    }
    meta = json_pack("{s:s,s:s}", "format", "pt", "b4k.header", text.data);
    rc = b4k_safetensors_write(out, t, n, meta, err);
done:
    b4k_buf_free(&text);
    json_decref(meta);
    json_decref(hdr);
    b4k_free(t);
    b4k_model_free(m);
    return rc;
}
