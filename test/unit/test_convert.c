/* Converter: torch zip/legacy, safetensors, CPM merge -> .b4k compared bit
 * for bit with the canonical tensors test/ref/gen_convert_fixtures.py
 * computed with torch/numpy; f16/bf16 against torch casts; q8 bound; the
 * .b4k -> safetensors -> .b4k round trip; pickle safety; name maps. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "convert/convert.h"
#include "convert/crc32.h"
#include "convert/crc32c.h"
#include "convert/pickle.h"
#include "convert/safetensors.h"
#include "core/alloc.h"
#include "t.h"

static char G[1024], tmpd[64];

static const char *gp(const char *f)
{
    static char b[4][1200];
    static int k;
    k = (k + 1) % 4;
    snprintf(b[k], sizeof b[k], "%s/%s", G, f);
    return b[k];
}
static const char *tp(const char *f)
{
    static char b[4][200];
    static int k;
    k = (k + 1) % 4;
    snprintf(b[k], sizeof b[k], "%s/%s", tmpd, f);
    return b[k];
}

static void write_text(const char *path, const char *s)
{
    FILE *fp = fopen(path, "w");
    fputs(s, fp);
    fclose(fp);
}

/* Every tensor of the expected safetensors is in the model with the same
 * dtype, shape and bytes; the model has no other non-tokenizer tensor. */
static int same_as(const char *model, const char *expect)
{
    b4k_ckpt *c;
    b4k_model *m;
    b4k_err e;
    int bad = 0;
    size_t nmodel = 0;
    if (b4k_ckpt_open(&c, expect, 0, &e)) {
        printf("  %s: %s\n", expect, e.msg);
        return 1;
    }
    if (b4k_model_open_ex(&m, model, B4K_MODEL_VERIFY_ALL, &e)) {
        printf("  %s: %s\n", model, e.msg);
        b4k_ckpt_free(c);
        return 1;
    }
    for (size_t i = 0; i < c->n; i++) {
        b4k_tensor_view v;
        const b4k_ctensor *t = &c->t[i];
        if (b4k_model_get(m, t->name, &v, &e)) {
            printf("  missing %s\n", t->name);
            bad++;
            continue;
        }
        if (v.dtype != t->dtype || v.ndim != t->ndim || v.nbytes != t->nbytes ||
            memcmp(v.shape, t->shape, (size_t)t->ndim * 8) || memcmp(v.data, t->data, t->nbytes)) {
            printf("  %s differs (dtype %s vs %s)\n", t->name, b4k_dtype_name(v.dtype),
                   b4k_src_dtype_name(t->dtype));
            bad++;
        }
    }
    for (size_t i = 0; i < b4k_model_count(m); i++)
        nmodel += strncmp(b4k_model_tensor_name(m, i), "tokenizer.", 10) != 0;
    if (nmodel != c->n) {
        printf("  %zu tensors in the model, %zu expected\n", nmodel, c->n);
        bad++;
    }
    b4k_model_free(m);
    b4k_ckpt_free(c);
    return bad;
}

static int conv(const char *out, const char *arch, const char *cfg, int dtype, int z,
                const char *in1, const char *in2)
{
    b4k_convert_opts o;
    b4k_err e;
    const char *in[2] = {in1, in2};
    b4k_convert_opts_init(&o);
    o.arch = arch;
    o.config = cfg;
    o.dtype = dtype;
    o.zstd_level = z;
    o.no_discover = 1;
    int rc = b4k_convert_run(in, in2 ? 2 : 1, &o, out, &e);
    if (rc)
        printf("  convert %s: %s\n", in1, e.msg);
    return rc;
}

TEST(bert_torch_zip_and_legacy)
{
    write_text(tp("bert.json"), "{\"num_attention_heads\":2}");
    CHECK_EQ_INT(conv(tp("b.b4k"), NULL, tp("bert.json"), -1, -1, gp("bert_hf.pt"), NULL), 0);
    CHECK_EQ_INT(same_as(tp("b.b4k"), gp("expect_bert.safetensors")), 0);
    CHECK_EQ_INT(conv(tp("b2.b4k"), "bert", tp("bert.json"), -1, -1, gp("bert_hf_legacy.pt"),
                      NULL), 0);
    CHECK_EQ_INT(same_as(tp("b2.b4k"), gp("expect_bert.safetensors")), 0);
    b4k_model *m;
    b4k_err e;
    CHECK_EQ_INT(b4k_model_open(&m, tp("b.b4k"), &e), 0);
    if (m) {
        json_t *c = b4k_model_config(m);
        CHECK_EQ_INT(json_integer_value(json_object_get(c, "hidden_size")), 8);
        CHECK_EQ_INT(json_integer_value(json_object_get(c, "num_hidden_layers")), 2);
        CHECK_EQ_INT(json_integer_value(json_object_get(c, "intermediate_size")), 16);
        CHECK_EQ_STR(b4k_model_arch(m), "bert");
    }
    b4k_model_free(m);
    /* missing head count is a clear error, and no file is left */
    b4k_convert_opts o;
    const char *in = gp("bert_hf.pt");
    b4k_convert_opts_init(&o);
    o.no_discover = 1;
    CHECK_EQ_INT(b4k_convert_run(&in, 1, &o, tp("nohead.b4k"), &e), B4K_EINVAL);
    CHECK(strstr(e.msg, "num_attention_heads") != NULL);
    CHECK(access(tp("nohead.b4k"), F_OK) != 0);
}

TEST(gpt2_torch_safetensors_and_casts)
{
    write_text(tp("g.json"), "{\"n_head\":2}");
    const char *ins[] = {"gpt2_hf.pt", "gpt2_hf_legacy.pt", "gpt2_hf.safetensors"};
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(conv(tp("g.b4k"), NULL, tp("g.json"), -1, -1, gp(ins[i]), NULL), 0);
        CHECK_EQ_INT(same_as(tp("g.b4k"), gp("expect_gpt2.safetensors")), 0);
    }
    CHECK_EQ_INT(conv(tp("gs.b4k"), NULL, tp("g.json"), -1, -1,
                      gp("gpt2_hf-00001-of-00002.safetensors"),
                      gp("gpt2_hf-00002-of-00002.safetensors")), 0);
    CHECK_EQ_INT(same_as(tp("gs.b4k"), gp("expect_gpt2.safetensors")), 0);
    CHECK_EQ_INT(conv(tp("g16.b4k"), "gpt2", tp("g.json"), B4K_F16, -1, gp("gpt2_hf.pt"), NULL), 0);
    CHECK_EQ_INT(same_as(tp("g16.b4k"), gp("expect_gpt2_f16.safetensors")), 0);
    CHECK_EQ_INT(conv(tp("gbf.b4k"), "gpt2", tp("g.json"), B4K_BF16, 5, gp("gpt2_hf.pt"), NULL), 0);
    CHECK_EQ_INT(same_as(tp("gbf.b4k"), gp("expect_gpt2_bf16.safetensors")), 0);
    /* q8: every 2-D tensor within the documented bound of the f32 one */
    CHECK_EQ_INT(conv(tp("gq.b4k"), "gpt2", tp("g.json"), B4K_Q8, -1, gp("gpt2_hf.pt"), NULL), 0);
    b4k_model *q, *f;
    b4k_err e;
    CHECK_EQ_INT(b4k_model_open(&q, tp("gq.b4k"), &e), 0);
    CHECK_EQ_INT(conv(tp("g.b4k"), "gpt2", tp("g.json"), -1, -1, gp("gpt2_hf.pt"), NULL), 0);
    CHECK_EQ_INT(b4k_model_open(&f, tp("g.b4k"), &e), 0);
    int nq = 0, bad = 0;
    for (size_t i = 0; q && f && i < b4k_model_count(q); i++) {
        const char *n = b4k_model_tensor_name(q, i);
        b4k_tensor_view vq, vf;
        float *x;
        if (b4k_model_get(q, n, &vq, &e) || vq.dtype != B4K_Q8)
            continue;
        nq++;
        b4k_model_get(f, n, &vf, &e);
        b4k_model_get_f32(q, n, &x, &vq, &e);
        size_t k = (size_t)vq.shape[1], rows = (size_t)vq.shape[0];
        const float *ref = vf.data;
        const uint16_t *sc = b4k_q8_scales(vq.data, rows, k);
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < k; j++) {
                float ds = b4k_f16_to_f32(sc[r * (b4k_q8_kpad(k) / 32) + j / 32]);
                bad += !(fabsf(x[r * k + j] - ref[r * k + j]) <= ds / 2 * 1.000001f);
            }
        b4k_free(x);
    }
    CHECK_EQ_INT(nq, 2); /* mlp.c_proj x 2 layers: the only matrices with K >= 32 */
    CHECK_EQ_INT(bad, 0);
    /* the other matrices (K = 8: q8 would pad them to 32) are f16, the same
     * bits as --dtype f16 gives */
    b4k_model *h = NULL;
    int nh = 0;
    CHECK_EQ_INT(b4k_model_open(&h, tp("g16.b4k"), &e), 0);
    for (size_t i = 0; q && h && i < b4k_model_count(q); i++) {
        const char *n = b4k_model_tensor_name(q, i);
        b4k_tensor_view vq, vh;
        if (b4k_model_get(q, n, &vq, &e) || vq.ndim < 2 || vq.dtype == B4K_Q8 ||
            !strncmp(n, "tokenizer.", 10))
            continue;
        nh++;
        CHECK(vq.dtype == B4K_F16 && !b4k_model_get(h, n, &vh, &e) && vh.nbytes == vq.nbytes &&
              !memcmp(vh.data, vq.data, vq.nbytes));
    }
    CHECK_EQ_INT(nh, 8);
    b4k_model_free(h);
    b4k_model_free(q);
    b4k_model_free(f);
}

/* --dtype int8 keeps q8 only where it pays: a last dimension K >= 32 whose
 * q8 bytes (K padded to 32, an f16 scale per 32) are no more than f16's;
 * K = 31 and K = 33 become f16, vectors stay f32. */
TEST(q8_only_where_it_pays)
{
    static const int k[] = {31, 32, 33, 34, 64};
    char hdr[2048], *h = hdr;
    size_t off = 0;
    float buf[3 * 64];
    for (int i = 0; i < 3 * 64; i++)
        buf[i] = (float)(i % 17) * 0.25f - 2.0f;
    h += sprintf(h, "{");
    for (int i = 0; i < 5; i++) {
        h += sprintf(h, "\"x%d\":{\"dtype\":\"F32\",\"shape\":[3,%d],\"data_offsets\":[%zu,%zu]},",
                     k[i], k[i], off, off + 12 * (size_t)k[i]);
        off += 12 * (size_t)k[i];
    }
    h += sprintf(h, "\"v\":{\"dtype\":\"F32\",\"shape\":[40],\"data_offsets\":[%zu,%zu]}}",
                 off, off + 160);
    uint64_t hl = (uint64_t)(h - hdr);
    FILE *fp = fopen(tp("k.safetensors"), "wb");
    fwrite(&hl, 8, 1, fp);
    fwrite(hdr, 1, hl, fp);
    for (int i = 0; i < 5; i++)
        fwrite(buf, 4, 3 * (size_t)k[i], fp);
    fwrite(buf, 4, 40, fp);
    fclose(fp);
    write_text(tp("k.json"),
               "{\"n_layer\":0,\"n_embd\":4,\"n_head\":1,\"vocab_size\":4,\"n_ctx\":4}");
    CHECK_EQ_INT(conv(tp("k.b4k"), "gpt2", tp("k.json"), B4K_Q8, -1, tp("k.safetensors"), NULL),
                 0);
    b4k_model *m;
    b4k_err e;
    CHECK_EQ_INT(b4k_model_open(&m, tp("k.b4k"), &e), 0);
    static const char *nm[] = {"x31", "x32", "x33", "x34", "x64", "v"};
    static const int want[] = {B4K_F16, B4K_Q8, B4K_F16, B4K_Q8, B4K_Q8, B4K_F32};
    for (int i = 0; m && i < 6; i++) {
        b4k_tensor_view v;
        CHECK_EQ_INT(b4k_model_get(m, nm[i], &v, &e), 0);
        CHECK_EQ_STR(b4k_dtype_name(v.dtype), b4k_dtype_name(want[i]));
    }
    b4k_model_free(m);
}

static int files_equal(const char *a, const char *b);

/* 1 if both models hold the same tensors (names, dtypes, shapes, bytes). */
static int same_tensors(const char *pa, const char *pb)
{
    b4k_model *a = NULL, *b = NULL;
    b4k_err e;
    int ok = !b4k_model_open(&a, pa, &e) && !b4k_model_open(&b, pb, &e) &&
             b4k_model_count(a) == b4k_model_count(b) && b4k_model_count(a) > 0;
    for (size_t i = 0; ok && i < b4k_model_count(a); i++) {
        b4k_tensor_view va, vb;
        const char *n = b4k_model_tensor_name(a, i);
        ok = !b4k_model_get(a, n, &va, &e) && !b4k_model_get(b, n, &vb, &e) &&
             va.dtype == vb.dtype && va.nbytes == vb.nbytes && va.ndim == vb.ndim &&
             !memcmp(va.data, vb.data, va.nbytes);
        if (!ok)
            printf("  tensor %s differs\n", n);
    }
    b4k_model_free(a);
    b4k_model_free(b);
    return ok;
}

TEST(cpm_merge_equals_unsplit)
{
    write_text(tp("c.json"), "{\"n_head\":4}");
    CHECK_EQ_INT(conv(tp("c.b4k"), "cpm", tp("c.json"), -1, -1,
                      gp("cpm/mp_rank_00_model_states.pt"), gp("cpm/mp_rank_01_model_states.pt")),
                 0);
    CHECK_EQ_INT(same_as(tp("c.b4k"), gp("expect_cpm.safetensors")), 0);
    /* merged tensors are spans over the shards, gathered when written: every
     * write path (raw slices, zstd, f16 casts, q8) gives the tensors that
     * converting the checked f32 merge gives */
    static const int dts[] = {B4K_F16, B4K_BF16, B4K_Q8, -1};
    for (size_t k = 0; k < sizeof dts / sizeof *dts; k++) {
        int z = dts[k] < 0 ? 3 : -1;
        CHECK_EQ_INT(conv(tp("cm.b4k"), "cpm", tp("c.json"), dts[k], z,
                          gp("cpm/mp_rank_00_model_states.pt"),
                          gp("cpm/mp_rank_01_model_states.pt")), 0);
        CHECK_EQ_INT(conv(tp("cu.b4k"), NULL, NULL, dts[k], z, tp("c.b4k"), NULL), 0);
        CHECK_EQ_INT(same_tensors(tp("cm.b4k"), tp("cu.b4k")), 1);
    }
    /* the same shard twice is refused */
    b4k_convert_opts o;
    b4k_err e;
    const char *in[2] = {gp("cpm/mp_rank_00_model_states.pt"), gp("cpm/mp_rank_00_model_states.pt")};
    b4k_convert_opts_init(&o);
    o.arch = "cpm";
    o.config = tp("c.json");
    CHECK_EQ_INT(b4k_convert_run(in, 2, &o, tp("c2.b4k"), &e), B4K_EINVAL);
    CHECK(strstr(e.msg, "mp-shard mismatch") != NULL);
    CHECK(access(tp("c2.b4k"), F_OK) != 0);
    /* given in reverse order: put back in rank order, the same bytes */
    CHECK_EQ_INT(conv(tp("cr.b4k"), "cpm", tp("c.json"), -1, -1,
                      gp("cpm/mp_rank_01_model_states.pt"), gp("cpm/mp_rank_00_model_states.pt")),
                 0);
    CHECK(files_equal(tp("c.b4k"), tp("cr.b4k")));
}

TEST(cpm_rank_from_path)
{
    CHECK_EQ_INT(b4k_cpm_rank("80000/mp_rank_01_model_states.pt"), 1);
    CHECK_EQ_INT(b4k_cpm_rank("/x/mp_rank_07/model_optim_rng.pt"), 7);
    CHECK_EQ_INT(b4k_cpm_rank("mp_rank_00/mp_rank_12_model_states.pt"), 12);
    CHECK_EQ_INT(b4k_cpm_rank("iter_0001000/mp_rank_03_001/model_optim_rng.pt"), 3);
    CHECK_EQ_INT(b4k_cpm_rank("model_states.pt"), -1);
    CHECK_EQ_INT(b4k_cpm_rank("mp_rank_x.pt"), -1);
    CHECK_EQ_INT(b4k_cpm_rank("mp_rank_"), -1);
}

TEST(tf_bundle_written_from_the_spec)
{
    /* test/ref/gen_convert_tf.py writes the bundle without TensorFlow; the
     * real TF-written fixtures are checked by test/data/convert.sh */
    CHECK_EQ_INT(conv(tp("tf.b4k"), NULL, gp("tf_bert_config.json"), -1, -1, gp("tf_bert.ckpt"),
                      NULL), 0);
    CHECK_EQ_INT(same_as(tp("tf.b4k"), gp("expect_tf_bert.safetensors")), 0);
    CHECK_EQ_INT(conv(tp("al.b4k"), NULL, gp("tf_albert_config.json"), -1, -1,
                      gp("tf_albert.ckpt"), NULL), 0);
    CHECK_EQ_INT(same_as(tp("al.b4k"), gp("expect_tf_albert.safetensors")), 0);
    b4k_model *m;
    b4k_err e;
    CHECK_EQ_INT(b4k_model_open(&m, tp("al.b4k"), &e), 0);
    if (m) {
        CHECK_EQ_STR(b4k_model_arch(m), "albert");
        CHECK_EQ_INT(json_integer_value(json_object_get(b4k_model_config(m), "embedding_size")), 4);
        CHECK_EQ_INT(json_integer_value(json_object_get(b4k_model_config(m), "num_hidden_layers")), 3);
    }
    b4k_model_free(m);
    b4k_ckpt *c;
    CHECK_EQ_INT(b4k_ckpt_open(&c, gp("tf_bert.ckpt.index"), B4K_CKPT_OPTIMIZER, &e), 0);
    CHECK(c && b4k_ckpt_find(c, "global_step") && b4k_ckpt_find(c, "bert/pooler/dense/kernel/adam_m"));
    CHECK(c && c->n == 3 * 42 + 1); /* weights, adam_m, adam_v, global_step */
    b4k_ckpt_free(c);
}

/* NEZHA from TF names (no position_embeddings) and from HF names (nezha.
 * prefix; the relative-position sinusoid buffer and token_type_ids dropped):
 * detected as nezha, and the same canonical tensors, bit for bit, as
 * test/ref/gen_convert_nezha.py computed. */
TEST(nezha_tf_and_hf)
{
    static const char *ins[] = {"tf_nezha.ckpt", "nezha_hf.pt"};
    for (int i = 0; i < 2; i++) {
        b4k_model *m;
        b4k_err e;
        CHECK_EQ_INT(conv(tp("nz.b4k"), NULL, gp("nezha_config.json"), -1, -1, gp(ins[i]), NULL),
                     0);
        CHECK_EQ_INT(same_as(tp("nz.b4k"), gp("expect_nezha.safetensors")), 0);
        CHECK_EQ_INT(b4k_model_open(&m, tp("nz.b4k"), &e), 0);
        if (m) {
            json_t *c = b4k_model_config(m);
            CHECK_EQ_STR(b4k_model_arch(m), "nezha");
            CHECK_EQ_INT(json_integer_value(json_object_get(c, "max_relative_position")), 3);
            CHECK(json_object_get(c, "max_position_embeddings") == NULL);
            CHECK_EQ_INT(json_integer_value(json_object_get(c, "num_hidden_layers")), 2);
            CHECK(json_object_get(json_object_get(b4k_model_header(m), "source"), "unmapped") ==
                  NULL);
        }
        b4k_model_free(m);
    }
    const char *n[] = {"nezha.embeddings.word_embeddings.weight",
                       "nezha.encoder.layer.0.attention.self.query.weight"};
    CHECK_EQ_STR(b4k_names_detect(n, 2), "nezha");
    char dst[128];
    int xf;
    CHECK_EQ_INT(b4k_names_map("nezha", "nezha.encoder.layer.3.attention.self.relative_positions_"
                               "encoding.positions_encoding", dst, sizeof dst, &xf), 0);
    CHECK_EQ_INT(b4k_names_map("nezha", "nezha.encoder.layer.3.output.dense.weight", dst,
                               sizeof dst, &xf), 1);
    CHECK_EQ_STR(dst, "encoder.layer.3.output.dense.weight");
}

/* HF RoBERTa's MLM head lands on BERT's canonical cls.predictions.* (the
 * tied decoder and the buffers dropped, nothing left unmapped). */
TEST(roberta_mlm_head)
{
    b4k_model *m;
    b4k_err e;
    write_text(tp("rb.json"), "{\"num_attention_heads\":2}");
    CHECK_EQ_INT(conv(tp("rb.b4k"), NULL, tp("rb.json"), -1, -1, gp("roberta_hf.pt"), NULL), 0);
    CHECK_EQ_INT(same_as(tp("rb.b4k"), gp("expect_roberta.safetensors")), 0);
    CHECK_EQ_INT(b4k_model_open(&m, tp("rb.b4k"), &e), 0);
    if (m) {
        CHECK_EQ_STR(b4k_model_arch(m), "bert");
        CHECK(json_object_get(json_object_get(b4k_model_header(m), "source"), "unmapped") ==
              NULL);
    }
    b4k_model_free(m);
}

TEST(strided_tensors)
{
    const char *ins[] = {"strided.pt", "strided_legacy.pt"};
    for (int i = 0; i < 2; i++) {
        b4k_ckpt *c, *x;
        b4k_err e;
        CHECK_EQ_INT(b4k_ckpt_open(&c, gp(ins[i]), 0, &e), 0);
        CHECK_EQ_INT(b4k_ckpt_open(&x, gp("expect_strided.safetensors"), 0, &e), 0);
        for (size_t k = 0; c && x && k < x->n; k++) {
            b4k_ctensor *a = b4k_ckpt_find(c, x->t[k].name);
            CHECK(a && a->nbytes == x->t[k].nbytes && !memcmp(a->data, x->t[k].data, a->nbytes) &&
                  a->shape[0] == x->t[k].shape[0]);
        }
        b4k_ckpt_free(c);
        b4k_ckpt_free(x);
    }
}

static int files_equal(const char *a, const char *b)
{
    FILE *x = fopen(a, "rb"), *y = fopen(b, "rb");
    int eq = x && y, ca, cb;
    while (eq && ((ca = fgetc(x)) != EOF) | ((cb = fgetc(y)) != EOF))
        eq = ca == cb;
    if (x) fclose(x);
    if (y) fclose(y);
    return eq;
}

TEST(roundtrip_b4k_safetensors_b4k)
{
    int z[] = {-1, 3};
    int dt[] = {-1, B4K_BF16};
    write_text(tp("g.json"), "{\"n_head\":2}");
    for (int i = 0; i < 2; i++) {
        b4k_err e;
        b4k_convert_opts o;
        CHECK_EQ_INT(conv(tp("r1.b4k"), "gpt2", tp("g.json"), dt[i], z[i], gp("gpt2_hf.pt"), NULL), 0);
        CHECK_EQ_INT(b4k_convert_export_safetensors(tp("r1.b4k"), tp("r.safetensors"), &e), 0);
        const char *in = tp("r.safetensors");
        b4k_convert_opts_init(&o);
        CHECK_EQ_INT(b4k_convert_run(&in, 1, &o, tp("r2.b4k"), &e), 0);
        CHECK(files_equal(tp("r1.b4k"), tp("r2.b4k")));
        /* .b4k -> .b4k re-encode without options is the identity too */
        in = tp("r1.b4k");
        CHECK_EQ_INT(b4k_convert_run(&in, 1, &o, tp("r3.b4k"), &e), 0);
        CHECK(files_equal(tp("r1.b4k"), tp("r3.b4k")));
    }
    /* q8 cannot be exported */
    b4k_err e;
    CHECK_EQ_INT(conv(tp("rq.b4k"), "gpt2", tp("g.json"), B4K_Q8, -1, gp("gpt2_hf.pt"), NULL), 0);
    CHECK_EQ_INT(b4k_convert_export_safetensors(tp("rq.b4k"), tp("rq.safetensors"), &e), B4K_EUNSUP);
    CHECK(access(tp("rq.safetensors"), F_OK) != 0);
}

TEST(pickle_refuses_globals)
{
    static const uint8_t bad[] = "\x80\x02" "cposix\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.";
    static const uint8_t ok[] = "\x80\x02}q\x00(X\x01\x00\x00\x00" "aq\x01K\x05X\x01\x00\x00\x00"
                                "bq\x02]q\x03(K\x01G?\xf0\x00\x00\x00\x00\x00\x00" "eu.";
    pk_vm *vm = pk_vm_new();
    pk_val *v;
    size_t pos = 0;
    b4k_err e;
    CHECK_EQ_INT(pk_load(vm, bad, sizeof bad - 1, &pos, &v, "x.pkl", &e), B4K_EUNSUP);
    CHECK(strstr(e.msg, "forbidden global posix.system") != NULL);
    pos = 0;
    v = NULL;
    CHECK_EQ_INT(pk_load(vm, ok, sizeof ok - 1, &pos, &v, "x.pkl", &e), 0);
    CHECK(v && v->type == PK_DICT && v->n == 4 && v->items[1]->i == 5 &&
          v->items[3]->type == PK_LIST && v->items[3]->n == 2 && v->items[3]->items[1]->f == 1.0);
    CHECK_EQ_INT(pos, sizeof ok - 1);
    pk_vm_free(vm);
}

TEST(name_maps)
{
    static const char *cases[][4] = {
        {"bert", "bert/encoder/layer_11/attention/self/query/kernel",
         "encoder.layer.11.attention.self.query.weight", "1"},
        {"bert", "bert/embeddings/LayerNorm/gamma", "embeddings.LayerNorm.weight", "0"},
        {"bert", "cls/predictions/output_bias", "cls.predictions.bias", "0"},
        {"bert", "cls/seq_relationship/output_weights", "cls.seq_relationship.weight", "0"},
        {"bert", "bert.encoder.layer.0.output.LayerNorm.gamma",
         "encoder.layer.0.output.LayerNorm.weight", "0"},
        {"bert", "roberta.embeddings.word_embeddings.weight", "embeddings.word_embeddings.weight", "0"},
        {"albert", "bert/encoder/transformer/group_0/inner_group_0/ffn_1/intermediate/output/dense/kernel",
         "encoder.layer.0.output.dense.weight", "1"},
        {"albert", "bert/encoder/transformer/group_0/inner_group_0/LayerNorm/beta",
         "encoder.layer.0.attention.output.LayerNorm.bias", "0"},
        {"albert", "bert/encoder/transformer/group_0/inner_group_0/LayerNorm_1/gamma",
         "encoder.layer.0.output.LayerNorm.weight", "0"},
        {"albert", "bert/encoder/embedding_hidden_mapping_in/kernel",
         "encoder.embedding_hidden_mapping_in.weight", "1"},
        {"albert", "albert.encoder.albert_layer_groups.0.albert_layers.0.ffn_output.weight",
         "encoder.layer.0.output.dense.weight", "0"},
        {"albert", "albert.encoder.albert_layer_groups.0.albert_layers.0.attention.dense.bias",
         "encoder.layer.0.attention.output.dense.bias", "0"},
        /* RoBERTa's MLM head: BERT's canonical cls.predictions.* */
        {"bert", "lm_head.dense.weight", "cls.predictions.transform.dense.weight", "0"},
        {"bert", "lm_head.dense.bias", "cls.predictions.transform.dense.bias", "0"},
        {"bert", "lm_head.layer_norm.weight", "cls.predictions.transform.LayerNorm.weight", "0"},
        {"bert", "lm_head.layer_norm.bias", "cls.predictions.transform.LayerNorm.bias", "0"},
        {"bert", "lm_head.bias", "cls.predictions.bias", "0"},
        {"gpt2", "model/h3/attn/c_attn/w", "h.3.attn.c_attn.weight", "2"},
        {"gpt2", "model/ln_f/g", "ln_f.weight", "0"},
        {"gpt2", "transformer.h.1.mlp.c_fc.weight", "h.1.mlp.c_fc.weight", "1"},
        {"cpm", "module.transformer.layers.31.mlp.dense_4h_to_h.bias", "h.31.mlp.c_proj.bias", "0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char dst[256];
        int xf = -1;
        CHECK_EQ_INT(b4k_names_map(cases[i][0], cases[i][1], dst, sizeof dst, &xf), 1);
        CHECK_EQ_STR(dst, cases[i][2]);
        CHECK_EQ_INT(xf, atoi(cases[i][3]));
    }
    char dst[64];
    int xf;
    CHECK_EQ_INT(b4k_names_map("gpt2", "transformer.h.0.attn.bias", dst, sizeof dst, &xf), 0);
    CHECK_EQ_INT(b4k_names_map("bert", "bert.embeddings.position_ids", dst, sizeof dst, &xf), 0);
    CHECK_EQ_INT(b4k_names_map("bert", "lm_head.decoder.weight", dst, sizeof dst, &xf), 0);
    CHECK_EQ_INT(b4k_names_map("bert", "lm_head.decoder.bias", dst, sizeof dst, &xf), 0);
    CHECK(b4k_names_cmp("h.2.x", "h.10.x") < 0 && b4k_names_cmp("h.10", "h.9") > 0);
    const char *n1[] = {"bert/embeddings/word_embeddings"}, *n2[] = {"model/h0/attn/c_attn/w"};
    CHECK_EQ_STR(b4k_names_detect(n1, 1), "nezha");
    CHECK_EQ_STR(b4k_names_detect(n2, 1), "gpt2");
}

TEST(crc32_zip)
{
    /* the CRC-32 check value; the folding kernels (128-bit PCLMULQDQ, 512-bit
     * VPCLMULQDQ from 1024 bytes) against the table twin on every length to
     * 1100 at 3 alignments, every 16th to 4400, and chained */
    static uint8_t buf[4500];
    int bad = 0;
    CHECK(b4k_crc32(0, "123456789", 9) == 0xcbf43926u);
    CHECK(b4k_crc32_ref(0, "123456789", 9) == 0xcbf43926u);
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 131 + (i >> 3) * 7);
    for (size_t n = 0; n <= 4400; n += n < 1100 ? 1 : 13)
        for (size_t a = 0; a < 3; a++)
            bad += b4k_crc32(0, buf + a, n) != b4k_crc32_ref(0, buf + a, n);
    CHECK_EQ_INT(bad, 0);
    CHECK(b4k_crc32(b4k_crc32(0, buf, 300), buf + 300, 900) == b4k_crc32_ref(0, buf, 1200));
    CHECK(b4k_crc32(b4k_crc32(0, buf, 1300), buf + 1300, 3100) == b4k_crc32_ref(0, buf, 4400));
    for (size_t n = 64; n <= 1024 && __builtin_cpu_supports("pclmul"); n += 16)
        bad += b4k_crc32_fold(0x12345678u, buf, n) != ~b4k_crc32_ref(~0x12345678u, buf, n);
    CHECK_EQ_INT(bad, 0);
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("vpclmulqdq")) {
        for (size_t n = 256; n <= 4400; n += 16)
            for (size_t a = 0; a < 2; a++)
                bad += b4k_crc32_fold_avx512(0x12345678u, buf + a, n) !=
                       ~b4k_crc32_ref(~0x12345678u, buf + a, n);
        CHECK_EQ_INT(bad, 0);
    } else {
        printf("  (no VPCLMULQDQ here: the 512-bit kernel is not tested)\n");
    }
}

/* A zip entry whose bytes do not match its CRC-32: --info and the API say
 * so (the entry is checked when a tensor over it is first used). */
TEST(zip_crc_checked)
{
    char path[1300];
    b4k_ckpt *c;
    b4k_err e;
    snprintf(path, sizeof path, "%s/../../corrupt/convert-late/zip-crc-mismatch.pt", G);
    CHECK_EQ_INT(b4k_ckpt_open(&c, path, 0, &e), 0);
    if (c) {
        b4k_ctensor *t = b4k_ckpt_find(c, "transformer.wte.weight");
        CHECK(t && t->check && t->check->state == 0);
        CHECK_EQ_INT(b4k_ckpt_verify(b4k_ckpt_find(c, "transformer.wpe.weight"), &e), 0);
        CHECK_EQ_INT(b4k_ckpt_verify_all(c, &e), B4K_ECHECKSUM);
        CHECK(strstr(e.msg, "data/0: CRC-32 mismatch") != NULL && strstr(e.file, ".pt"));
        b4k_ckpt_free(c);
    }
    CHECK_EQ_INT(b4k_ckpt_open(&c, path, B4K_CKPT_NO_CRC, &e), 0);
    if (c)
        CHECK_EQ_INT(b4k_ckpt_verify_all(c, &e), 0);
    b4k_ckpt_free(c);
    CHECK_EQ_INT(b4k_ckpt_open(&c, gp("gpt2_hf.pt"), 0, &e), 0);
    if (c)
        CHECK_EQ_INT(b4k_ckpt_verify_all(c, &e), 0);
    b4k_ckpt_free(c);
}

TEST(crc32c)
{
    /* RFC 3720 test vector: 32 zero bytes -> 0x8a9136aa; "123456789" -> 0xe3069283 */
    uint8_t z[32] = {0};
    CHECK(b4k_crc32c(0, z, 32) == 0x8a9136aau && b4k_crc32c_ref(0, z, 32) == 0x8a9136aau);
    CHECK(b4k_crc32c(0, "123456789", 9) == 0xe3069283u);
    CHECK(b4k_crc32c_ref(0, "123456789", 9) == 0xe3069283u);
    uint8_t buf[1000];
    for (int i = 0; i < 1000; i++)
        buf[i] = (uint8_t)(i * 7);
    CHECK(b4k_crc32c(0, buf, 1000) == b4k_crc32c_ref(0, buf, 1000));
    CHECK(b4k_crc32c(b4k_crc32c(0, buf, 333), buf + 333, 667) == b4k_crc32c_ref(0, buf, 1000));
}

/* Transposes and casts of shapes that are not multiples of the 8x8 AVX2
 * blocks (edges done by the scalar twin), written to a raw file a slice at
 * a time: every HF Conv1D weight equals a naive transpose (f32), and its
 * f16 cast equals b4k_dtype_from_f32 of it. */
TEST(odd_shape_transposes)
{
    enum { C = 19, V = 37, P = 11 };
    static const char *nm[] = {"wte.weight", "wpe.weight", "h.0.ln_1.weight", "h.0.ln_1.bias",
                               "h.0.attn.c_attn.weight", "h.0.attn.c_attn.bias",
                               "h.0.attn.c_proj.weight", "h.0.attn.c_proj.bias",
                               "h.0.ln_2.weight", "h.0.ln_2.bias", "h.0.mlp.c_fc.weight",
                               "h.0.mlp.c_fc.bias", "h.0.mlp.c_proj.weight",
                               "h.0.mlp.c_proj.bias", "ln_f.weight", "ln_f.bias"};
    static const int sh[][2] = {{V, C}, {P, C}, {C, 0}, {C, 0}, {C, 3 * C}, {3 * C, 0},
                                {C, C}, {C, 0}, {C, 0}, {C, 0}, {C, 4 * C}, {4 * C, 0},
                                {4 * C, C}, {C, 0}, {C, 0}, {C, 0}};
    enum { NT = sizeof nm / sizeof *nm };
    float *data[NT];
    size_t n[NT], off = 0;
    char hdr[8192], *h = hdr;
    h += sprintf(h, "{");
    for (int i = 0; i < NT; i++) {
        n[i] = (size_t)sh[i][0] * (sh[i][1] ? (size_t)sh[i][1] : 1);
        data[i] = b4k_malloc(n[i] * 4);
        for (size_t k = 0; k < n[i]; k++)
            data[i][k] = (float)(k * 7 % 101) * 0.013f - 0.5f + (float)i;
        if (sh[i][1])
            h += sprintf(h, "%s\"transformer.%s\":{\"dtype\":\"F32\",\"shape\":[%d,%d],"
                         "\"data_offsets\":[%zu,%zu]}", i ? "," : "", nm[i], sh[i][0], sh[i][1],
                         off, off + n[i] * 4);
        else
            h += sprintf(h, "%s\"transformer.%s\":{\"dtype\":\"F32\",\"shape\":[%d],"
                         "\"data_offsets\":[%zu,%zu]}", i ? "," : "", nm[i], sh[i][0], off,
                         off + n[i] * 4);
        off += n[i] * 4;
    }
    h += sprintf(h, "}");
    uint64_t hl = (uint64_t)(h - hdr);
    FILE *fp = fopen(tp("odd.safetensors"), "wb");
    fwrite(&hl, 8, 1, fp);
    fwrite(hdr, 1, hl, fp);
    for (int i = 0; i < NT; i++)
        fwrite(data[i], 4, n[i], fp);
    fclose(fp);
    write_text(tp("odd.json"), "{\"n_head\": 1}");
    for (int dt = 0; dt < 2; dt++) {
        b4k_model *m;
        b4k_err e;
        CHECK_EQ_INT(conv(tp("odd.b4k"), "gpt2", tp("odd.json"), dt ? B4K_F16 : -1, -1,
                          tp("odd.safetensors"), NULL), 0);
        CHECK_EQ_INT(b4k_model_open_ex(&m, tp("odd.b4k"), B4K_MODEL_VERIFY_ALL, &e), 0);
        for (int i = 4; i <= 12; i += i == 6 ? 4 : 2) { /* the Conv1D weights */
            b4k_tensor_view v;
            size_t r = (size_t)sh[i][0], c = (size_t)sh[i][1];
            float *t = b4k_malloc(n[i] * 4);
            uint16_t *t16 = b4k_malloc(n[i] * 2);
            for (size_t a = 0; a < r; a++)
                for (size_t bb = 0; bb < c; bb++)
                    t[bb * r + a] = data[i][a * c + bb];
            b4k_dtype_from_f32(t16, B4K_F16, t, n[i], r);
            CHECK_EQ_INT(b4k_model_get(m, nm[i], &v, &e), 0);
            CHECK(v.shape[0] == (int64_t)c && v.shape[1] == (int64_t)r);
            CHECK(v.nbytes == n[i] * (dt ? 2 : 4) && !memcmp(v.data, dt ? (void *)t16 : t,
                                                               v.nbytes));
            b4k_free(t);
            b4k_free(t16);
        }
        b4k_model_free(m);
    }
    for (int i = 0; i < NT; i++)
        b4k_free(data[i]);
}

/* A tensor made of spans reads back as their concatenation, from any
 * offset and length (the row producer asks for slices). */
TEST(ckpt_spans_gather)
{
    static uint8_t src[200];
    uint8_t want[200], got[200];
    static const size_t len[] = {7, 0, 33, 1, 64, 15};
    b4k_cspan *sp = b4k_malloc_n(6, sizeof *sp);
    b4k_ckpt *c = b4k_ckpt_new("t", 0);
    b4k_err e;
    size_t total = 0, o = 0;
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (uint8_t)(i * 37 + 11);
    for (size_t i = 0; i < 6; i++) { /* spans taken from scattered places */
        sp[i] = (b4k_cspan){src + (i * 29) % 100, len[i]};
        memcpy(want + total, sp[i].p, len[i]);
        total += len[i];
    }
    int64_t shape[1] = {(int64_t)total};
    CHECK_EQ_INT(b4k_ckpt_add_spans(c, "s", B4K_U8, 1, shape, sp, 6, &e), 0);
    CHECK(c->t[0].data == NULL && c->t[0].nbytes == total);
    for (size_t off = 0; off <= total; off++)
        for (size_t n = 0; off + n <= total; n += 3) {
            memset(got, 0xee, sizeof got);
            b4k_ckpt_gather(&c->t[0], got, off, n);
            o += !memcmp(got, want + off, n) && got[n] == 0xee;
        }
    size_t cases = 0;
    for (size_t off = 0; off <= total; off++)
        cases += (total - off) / 3 + 1;
    CHECK(o == cases);
    int64_t bad[1] = {(int64_t)total + 1};
    CHECK_EQ_INT(b4k_ckpt_add_spans(c, "b", B4K_U8, 1, bad, b4k_malloc_n(1, sizeof *sp), 0, &e),
                 B4K_EFORMAT);
    b4k_ckpt_free(c);
}

int main(void)
{
    const char *top = getenv("TOP");
    snprintf(G, sizeof G, "%s/test/golden/convert", top ? top : ".");
    snprintf(tmpd, sizeof tmpd, "/tmp/b4k-test-convert-XXXXXX");
    if (!mkdtemp(tmpd)) {
        printf("FAIL: test_convert.c: mkdtemp\n");
        return 1;
    }
    RUN(bert_torch_zip_and_legacy);
    RUN(gpt2_torch_safetensors_and_casts);
    RUN(q8_only_where_it_pays);
    RUN(cpm_merge_equals_unsplit);
    RUN(cpm_rank_from_path);
    RUN(tf_bundle_written_from_the_spec);
    RUN(nezha_tf_and_hf);
    RUN(roberta_mlm_head);
    RUN(strided_tensors);
    RUN(roundtrip_b4k_safetensors_b4k);
    RUN(pickle_refuses_globals);
    RUN(name_maps);
    RUN(crc32_zip);
    RUN(zip_crc_checked);
    RUN(crc32c);
    RUN(odd_shape_transposes);
    RUN(ckpt_spans_gather);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpd);
    if (system(cmd))
        printf("  could not remove %s\n", tmpd);
    return t_done();
}
