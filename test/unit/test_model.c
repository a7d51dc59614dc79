/* .b4k container: write -> read round trips, determinism, validation of
 * every header field, checksums, zstd, blobs, q8. */
#include <pthread.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <zstd.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "model/model.h"
#include "t.h"

static float fdata[6 * 40];
static int32_t idata[5] = {1, -2, 3, -4, 5};

static b4k_mw *make_writer(int codec)
{
    b4k_mw *w = b4k_mw_new("gpt2");
    b4k_err e;
    json_t *cfg = json_pack("{s:i,s:i}", "n_layer", 2, "n_embd", 40);
    json_t *tok = json_pack("{s:s,s:[s,s]}", "kind", "bpe", "merges", "a b", "ab c");
    for (int i = 0; i < 6 * 40; i++)
        fdata[i] = (float)((i * 7919) % 201 - 100) / 37.0f;
    b4k_mw_set_config(w, cfg);
    b4k_mw_set_tokenizer(w, tok);
    json_decref(cfg);
    json_decref(tok);
    int64_t s2[2] = {6, 40}, s1[1] = {5}, s0[1] = {0};
    CHECK_EQ_INT(b4k_mw_add(w, "w.f32", B4K_F32, 2, s2, fdata, codec, &e), 0);
    CHECK_EQ_INT(b4k_mw_add_f32(w, "w.f16", B4K_F16, 2, s2, fdata, codec, &e), 0);
    CHECK_EQ_INT(b4k_mw_add_f32(w, "w.bf16", B4K_BF16, 2, s2, fdata, codec, &e), 0);
    CHECK_EQ_INT(b4k_mw_add_f32(w, "w.q8", B4K_Q8, 2, s2, fdata, codec, &e), 0);
    CHECK_EQ_INT(b4k_mw_add_copy(w, "ids", B4K_I32, 1, s1, idata, codec, &e), 0);
    CHECK_EQ_INT(b4k_mw_add_blob(w, "blob", "hello\0world", 11, codec, &e), 0);
    CHECK_EQ_INT(b4k_mw_add(w, "empty", B4K_F32, 1, s0, NULL, codec, &e), 0);
    CHECK_EQ_INT(b4k_mw_add(w, "w.f32", B4K_F32, 1, s1, fdata, codec, &e), B4K_EINVAL);
    return w;
}

static void check_model(b4k_model *m)
{
    b4k_err e;
    b4k_tensor_view v;
    CHECK_EQ_STR(b4k_model_arch(m), "gpt2");
    CHECK_EQ_INT(json_integer_value(json_object_get(b4k_model_config(m), "n_embd")), 40);
    CHECK_EQ_STR(json_string_value(json_object_get(b4k_model_tokenizer(m), "kind")), "bpe");
    CHECK_EQ_INT(b4k_model_count(m), 7);
    CHECK_EQ_STR(b4k_model_tensor_name(m, 0), "w.f32");
    CHECK_EQ_STR(b4k_model_tensor_name(m, 6), "empty");
    CHECK_EQ_INT(b4k_model_get(m, "w.f32", &v, &e), 0);
    CHECK_EQ_INT(v.dtype, B4K_F32);
    CHECK_EQ_INT(v.ndim, 2);
    CHECK_EQ_INT(v.shape[1], 40);
    CHECK_EQ_INT(v.nbytes, 6 * 40 * 4);
    CHECK(!memcmp(v.data, fdata, sizeof fdata));
    CHECK_EQ_INT(b4k_model_get(m, "ids", &v, &e), 0);
    CHECK(!memcmp(v.data, idata, sizeof idata));
    CHECK_EQ_INT(v.dtype, B4K_I32);
    const void *bp;
    size_t bn;
    CHECK_EQ_INT(b4k_model_get_blob(m, "blob", &bp, &bn, &e), 0);
    CHECK_EQ_INT(bn, 11);
    CHECK(!memcmp(bp, "hello\0world", 11));
    CHECK(b4k_model_get_blob(m, "ids", &bp, &bn, &e) == B4K_EFORMAT);
    CHECK(b4k_model_get(m, "nope", &v, &e) == B4K_EFORMAT);
    CHECK(strstr(e.msg, "no tensor nope") != NULL);
    CHECK(b4k_model_has(m, "w.q8") && !b4k_model_has(m, "w.q"));
    int64_t want[2] = {-1, 40}, bad[2] = {6, 41};
    CHECK_EQ_INT(b4k_model_get_checked(m, "w.f16", B4K_F16, 2, want, &v, &e), 0);
    CHECK(b4k_model_get_checked(m, "w.f16", B4K_F16, 2, bad, &v, &e) == B4K_EFORMAT);
    CHECK(b4k_model_get_checked(m, "w.f16", B4K_F32, 2, want, &v, &e) == B4K_EFORMAT);
    /* converted values */
    float *f;
    CHECK_EQ_INT(b4k_model_get_f32(m, "w.f16", &f, &v, &e), 0);
    double md = 0;
    for (int i = 0; i < 240; i++)
        md = fmax(md, fabs(f[i] - fdata[i]) / (fabs(fdata[i]) + 1e-3));
    CHECK(md < 1.0 / 1024);
    b4k_free(f);
    CHECK_EQ_INT(b4k_model_get_f32(m, "w.q8", &f, &v, &e), 0);
    CHECK_EQ_INT(v.nbytes, 6 * 64 + 6 * 2 * 2);
    for (int r = 0; r < 6; r++)
        for (int i = 0; i < 40; i++) {
            float amax = 0;
            int lo = i / 32 * 32, hi = lo + 32 < 40 ? lo + 32 : 40;
            for (int j = lo; j < hi; j++)
                amax = fmaxf(amax, fabsf(fdata[r * 40 + j]));
            CHECK(fabsf(f[r * 40 + i] - fdata[r * 40 + i]) <= amax / 127 * (1 + 1.0 / 2048) / 2);
        }
    b4k_free(f);
    CHECK_EQ_INT(b4k_model_get(m, "empty", &v, &e), 0);
    CHECK_EQ_INT(v.nbytes, 0);
    CHECK_EQ_INT(b4k_model_verify(m, &e), 0);
}

TEST(roundtrip_raw_and_zstd)
{
    for (int codec = 0; codec < 2; codec++) {
        b4k_mw *w = make_writer(codec);
        uint8_t *buf, *buf2;
        size_t n, n2;
        b4k_err e;
        b4k_model *m;
        CHECK_EQ_INT(b4k_mw_write_mem(w, &buf, &n, &e), 0);
        b4k_mw_free(w);
        CHECK(n % 64 != 0 || n > 0);
        uint64_t hlen;
        memcpy(&hlen, buf + 8, 8);
        CHECK_EQ_INT((16 + hlen) % 64, 0);
        CHECK_EQ_INT(b4k_model_open_mem(&m, buf, n, "mem", &e), 0);
        if (m)
            check_model(m);
        b4k_model_free(m);
        /* determinism: same calls, same bytes */
        w = make_writer(codec);
        CHECK_EQ_INT(b4k_mw_write_mem(w, &buf2, &n2, &e), 0);
        b4k_mw_free(w);
        CHECK(n == n2 && !memcmp(buf, buf2, n));
        b4k_free(buf2);
        b4k_free(buf);
    }
}

TEST(file_roundtrip_mmap)
{
    char path[] = "/tmp/b4k-test-model-XXXXXX";
    int fd = mkstemp(path);
    b4k_err e;
    b4k_model *m;
    close(fd);
    b4k_mw *w = make_writer(B4K_CODEC_RAW);
    CHECK_EQ_INT(b4k_mw_write(w, path, &e), 0);
    b4k_mw_free(w);
    CHECK_EQ_INT(b4k_model_open_ex(&m, path, B4K_MODEL_VERIFY_ALL, &e), 0);
    if (m) {
        b4k_tensor_view v;
        check_model(m);
        b4k_model_get(m, "w.f32", &v, &e);
        CHECK(((uintptr_t)v.data & 63) == 0);
    }
    b4k_model_free(m);
    CHECK(b4k_model_open(&m, "/nonexistent/x.b4k", &e) == B4K_EIO);
    unlink(path);
}

/* Build a file from a header text and a data section for validation tests. */
static int open_hdr(const char *json, size_t datalen, uint32_t version, b4k_err *e)
{
    b4k_buf b;
    b4k_model *m;
    uint64_t hl = strlen(json);
    b4k_buf_init(&b);
    b4k_buf_append(&b, "B4K\0", 4);
    b4k_buf_append(&b, &version, 4);
    b4k_buf_append(&b, &hl, 8);
    b4k_buf_puts(&b, json);
    while (b.len % 64)
        b4k_buf_putc(&b, 0);
    for (size_t i = 0; i < datalen; i++)
        b4k_buf_putc(&b, (char)i);
    int rc = b4k_model_open_mem_ex(&m, b.data, b.len, "h", B4K_MODEL_VERIFY_ALL, e);
    b4k_model_free(m);
    b4k_buf_free(&b);
    return rc;
}

#define T1(extra) "{\"architecture\":\"x\",\"config\":{},\"tensors\":{" extra "}}"
#define ENT(name, dt, shape, off, st, raw, cks)                                          \
    "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"codec\":\"raw\",\"offset\":" \
    off ",\"stored_size\":" st ",\"raw_size\":" raw ",\"checksum\":\"xxh64:" cks "\"}"
#define Z16 "0000000000000000"

TEST(validation)
{
    b4k_err e;
    char cks[17];
    uint8_t d[8];
    for (int i = 0; i < 8; i++)
        d[i] = (uint8_t)i;
    snprintf(cks, sizeof cks, "%016llx", (unsigned long long)b4k_xxh64(d, 8, 0));
    CHECK_EQ_INT(open_hdr(T1(""), 0, 1, &e), 0);
    char ok[512];
    snprintf(ok, sizeof ok, T1(ENT("a", "f32", "[2]", "0", "8", "8", "%s")), cks);
    CHECK_EQ_INT(open_hdr(ok, 8, 1, &e), 0);
    CHECK_EQ_INT(open_hdr(ok, 8, 2, &e), B4K_EUNSUP);
    CHECK(strstr(e.msg, "newer") != NULL);
    CHECK_EQ_INT(open_hdr(ok, 8, 0, &e), B4K_EFORMAT);
    CHECK_EQ_INT(open_hdr(ok, 7, 1, &e), B4K_EFORMAT); /* truncated data */
    CHECK(strstr(e.msg, "past the end") != NULL);
    CHECK_EQ_INT(open_hdr(T1(ENT("a", "f32", "[2]", "0", "8", "8", Z16)), 8, 1, &e),
                 B4K_ECHECKSUM);
    CHECK_EQ_INT(open_hdr(T1(ENT("a", "f32", "[3]", "0", "8", "8", Z16)), 8, 1, &e),
                 B4K_EFORMAT); /* shape x dtype != raw_size */
    CHECK_EQ_INT(open_hdr(T1(ENT("a", "f32", "[4611686018427387904,4]", "0", "8", "8", Z16)),
                          8, 1, &e), B4K_EFORMAT); /* overflow */
    CHECK_EQ_INT(open_hdr(T1(ENT("a", "f32", "[2]", "18446744073709551552", "8", "8", Z16)), 8,
                          1, &e), B4K_EFORMAT);
    CHECK_EQ_INT(open_hdr(T1(ENT("a", "f32", "[2]", "64", "8", "8", Z16)), 8, 1, &e),
                 B4K_EFORMAT); /* offset past EOF */
    CHECK_EQ_INT(open_hdr(T1(ENT("a", "f32", "[2]", "4", "8", "8", Z16)), 72, 1, &e),
                 B4K_EFORMAT); /* misaligned */
    CHECK_EQ_INT(open_hdr(T1(ENT("a", "f99", "[2]", "0", "8", "8", Z16)), 8, 1, &e),
                 B4K_EFORMAT);
    CHECK_EQ_INT(open_hdr(T1(ENT("a", "f32", "[2]", "0", "8", "8", Z16) ","
                             ENT("a", "f32", "[2]", "0", "8", "8", Z16)), 8, 1, &e),
                 B4K_EFORMAT); /* duplicate */
    CHECK(strstr(e.msg, "duplicate") != NULL);
    CHECK_EQ_INT(open_hdr(T1(ENT("a", "f32", "[16]", "0", "64", "64", Z16) ","
                             ENT("b", "f32", "[16]", "0", "64", "64", Z16)), 64, 1, &e),
                 B4K_EFORMAT); /* overlap */
    CHECK_EQ_INT(open_hdr("{\"architecture\":\"x\",\"config\":{}}", 0, 1, &e), B4K_EFORMAT);
    CHECK_EQ_INT(open_hdr("[1]", 0, 1, &e), B4K_EFORMAT);
    CHECK_EQ_INT(open_hdr("{", 0, 1, &e), B4K_EFORMAT);
    b4k_model *m;
    CHECK_EQ_INT(b4k_model_open_mem(&m, "B4K", 3, "x", &e), B4K_EFORMAT);
    CHECK_EQ_INT(b4k_model_open_mem(&m, "GGUF\1\0\0\0\0\0\0\0\0\0\0\0", 16, "x", &e),
                 B4K_EFORMAT);
    CHECK(strstr(e.msg, "magic") != NULL);
    CHECK_EQ_INT(b4k_model_open_mem(&m, "B4K\0\1\0\0\0\xff\0\0\0\0\0\0\0", 16, "x", &e),
                 B4K_EFORMAT);
}

TEST(lazy_checksum)
{
    b4k_mw *w = make_writer(B4K_CODEC_RAW);
    uint8_t *buf;
    size_t n;
    b4k_err e;
    b4k_model *m;
    b4k_tensor_view v;
    b4k_mw_write_mem(w, &buf, &n, &e);
    b4k_mw_free(w);
    buf[n - 1] ^= 1; /* last byte belongs to "blob"... or padding; flip in w.f32 */
    buf[n - 1] ^= 1;
    uint64_t hl;
    memcpy(&hl, buf + 8, 8);
    buf[16 + hl + 5] ^= 0x40; /* inside w.f32 */
    CHECK_EQ_INT(b4k_model_open_mem(&m, buf, n, "mem", &e), 0); /* lazy: opens */
    CHECK_EQ_INT(b4k_model_get(m, "ids", &v, &e), 0);
    CHECK_EQ_INT(b4k_model_get(m, "w.f32", &v, &e), B4K_ECHECKSUM);
    b4k_model_free(m);
    CHECK_EQ_INT(b4k_model_open_mem_ex(&m, buf, n, "mem", B4K_MODEL_NO_VERIFY, &e), 0);
    CHECK_EQ_INT(b4k_model_get(m, "w.f32", &v, &e), 0);
    b4k_model_free(m);
    CHECK_EQ_INT(b4k_model_open_mem_ex(&m, buf, n, "mem", B4K_MODEL_VERIFY_ALL, &e),
                 B4K_ECHECKSUM);
    b4k_free(buf);
}

TEST(xxh64_vectors)
{
    CHECK(b4k_xxh64("", 0, 0) == 0xEF46DB3751D8E999ull);
    CHECK(b4k_xxh64("a", 1, 0) == 0xD24EC4F1A98C6E5Bull);
    CHECK(b4k_xxh64("abc", 3, 0) == 0x44BC2CF5AD770999ull);
    CHECK(b4k_xxh64("Nobody inspects the spammish repetition", 39, 0) == 0xFBCEA83C8A378BF1ull);
}

static int fill_calls;
static int fill_ramp(void *ctx, void *dst, size_t n, b4k_err *err)
{
    (void)err;
    fill_calls++;
    for (size_t i = 0; i < n / 4; i++)
        ((float *)dst)[i] = (float)i * *(const float *)ctx;
    return 0;
}
static int fill_drift(void *ctx, void *dst, size_t n, b4k_err *err)
{
    (void)ctx, (void)err;
    memset(dst, fill_calls++, n);
    return 0;
}

static int fill_rows_ramp(void *ctx, void *dst, size_t r0, size_t nr, b4k_err *err)
{
    const size_t cols = *(const size_t *)ctx;
    (void)err;
    fill_calls++;
    for (size_t r = 0; r < nr; r++)
        for (size_t c = 0; c < cols; c++)
            ((float *)dst)[r * cols + c] = (float)((r0 + r) * cols + c) * 0.5f;
    return 0;
}

TEST(lazy_tensors)
{
    float scale = 0.5f, ramp[100];
    int64_t shape[1] = {100};
    uint8_t *a, *b;
    size_t na, nb;
    b4k_err e;
    for (int i = 0; i < 100; i++)
        ramp[i] = (float)i * scale;
    for (int codec = 0; codec < 2; codec++) {
        b4k_mw *w = b4k_mw_new("x"), *w2 = b4k_mw_new("x");
        fill_calls = 0;
        CHECK_EQ_INT(b4k_mw_add_lazy(w, "r", B4K_F32, 1, shape, codec, fill_ramp, &scale, &e), 0);
        CHECK_EQ_INT(b4k_mw_add(w2, "r", B4K_F32, 1, shape, ramp, codec, &e), 0);
        CHECK_EQ_INT(b4k_mw_write_mem(w, &a, &na, &e), 0);
        CHECK_EQ_INT(b4k_mw_write_mem(w2, &b, &nb, &e), 0);
        CHECK(na == nb && !memcmp(a, b, na));
        CHECK_EQ_INT(fill_calls, 1); /* one pass: produced, hashed and written once */
        b4k_free(a), b4k_free(b);
        b4k_mw_free(w), b4k_mw_free(w2);
    }
    /* the checksum is of the bytes written, whatever the producer does */
    b4k_mw *w = b4k_mw_new("x");
    b4k_model *m;
    b4k_tensor_view v;
    fill_calls = 7;
    CHECK_EQ_INT(b4k_mw_add_lazy(w, "d", B4K_U8, 1, shape, 0, fill_drift, NULL, &e), 0);
    CHECK_EQ_INT(b4k_mw_write_mem(w, &a, &na, &e), 0);
    CHECK_EQ_INT(b4k_model_open_mem_ex(&m, a, na, "drift", B4K_MODEL_VERIFY_ALL, &e), 0);
    CHECK_EQ_INT(b4k_model_get(m, "d", &v, &e), 0);
    CHECK(v.nbytes == 100 && ((const uint8_t *)v.data)[99] == 7);
    b4k_model_free(m);
    b4k_free(a);
    b4k_mw_free(w);
}

/* Row producers: sliced in cache-sized chunks (several calls for a tensor
 * bigger than a chunk), hashed and written, or streamed through zstd; same
 * bytes as a borrowed tensor with the same content, for both codecs, a
 * 1-row and a 0-row tensor. */
TEST(row_tensors)
{
    static const size_t dims[][2] = {{1000, 300}, {3, 5}, {1, 70000}, {0, 4}, {9000, 1000}};
    b4k_err e;
    for (size_t k = 0; k < sizeof dims / sizeof *dims; k++)
        for (int codec = 0; codec < 2; codec++) {
            size_t rows = dims[k][0], cols = dims[k][1];
            int64_t shape[2] = {(int64_t)rows, (int64_t)cols};
            float *x = b4k_malloc(rows * cols * 4 + 4);
            uint8_t *a, *b;
            size_t na, nb;
            for (size_t i = 0; i < rows * cols; i++)
                x[i] = (float)i * 0.5f;
            b4k_mw *w = b4k_mw_new("x"), *w2 = b4k_mw_new("x");
            CHECK_EQ_INT(b4k_mw_add_blob(w, "pre", "abc", 3, 0, &e), 0);
            CHECK_EQ_INT(b4k_mw_add_blob(w2, "pre", "abc", 3, 0, &e), 0);
            fill_calls = 0;
            CHECK_EQ_INT(b4k_mw_add_rows(w, "t", B4K_F32, 2, shape, codec, fill_rows_ramp,
                                         &cols, &e), 0);
            CHECK_EQ_INT(b4k_mw_add(w2, "t", B4K_F32, 2, shape, x, codec, &e), 0);
            CHECK_EQ_INT(b4k_mw_add_blob(w, "post", "de", 2, codec, &e), 0);
            CHECK_EQ_INT(b4k_mw_add_blob(w2, "post", "de", 2, codec, &e), 0);
            CHECK_EQ_INT(b4k_mw_write_mem(w, &a, &na, &e), 0);
            CHECK_EQ_INT(b4k_mw_write_mem(w2, &b, &nb, &e), 0);
            CHECK(na == nb && !memcmp(a, b, na));
            /* sliced (zstd too: streamed, same frame as the one-shot) */
            if (rows > 1 && rows * cols * 4 > ((size_t)256 << 10))
                CHECK(fill_calls > 1);
            b4k_free(a), b4k_free(b), b4k_free(x);
            b4k_mw_free(w), b4k_mw_free(w2);
        }
    /* q8 from f32 rows, quantised a slice at a time (values streamed,
     * scales last): the bytes of quantising the whole tensor at once */
    static const size_t qd[][2] = {{3000, 70}, {5, 33}, {1, 40000}};
    for (size_t k = 0; k < sizeof qd / sizeof *qd; k++)
        for (int codec = 0; codec < 2; codec++) {
            size_t rows = qd[k][0], cols = qd[k][1];
            int64_t shape[2] = {(int64_t)rows, (int64_t)cols};
            float *x = b4k_malloc(rows * cols * 4);
            uint8_t *a, *b;
            size_t na, nb;
            for (size_t i = 0; i < rows * cols; i++)
                x[i] = (float)i * 0.5f;
            b4k_mw *w = b4k_mw_new("x"), *w2 = b4k_mw_new("x");
            fill_calls = 0;
            CHECK_EQ_INT(b4k_mw_add_rows(w, "q", B4K_Q8, 2, shape, codec, fill_rows_ramp, &cols,
                                         &e), 0);
            CHECK_EQ_INT(b4k_mw_add_f32(w2, "q", B4K_Q8, 2, shape, x, codec, &e), 0);
            CHECK_EQ_INT(b4k_mw_write_mem(w, &a, &na, &e), 0);
            CHECK_EQ_INT(b4k_mw_write_mem(w2, &b, &nb, &e), 0);
            CHECK(na == nb && !memcmp(a, b, na));
            if (codec == 0 && rows * cols * 4 > ((size_t)256 << 10) && rows > 1)
                CHECK(fill_calls > 1);
            b4k_free(a), b4k_free(b), b4k_free(x);
            b4k_mw_free(w), b4k_mw_free(w2);
        }
    b4k_mw *w = b4k_mw_new("x");
    int64_t sh[2] = {2, 0};
    size_t cols = 0;
    CHECK_EQ_INT(b4k_mw_add_rows(w, "q", B4K_Q8, 2, sh, 0, fill_rows_ramp, &cols, &e),
                 B4K_EINVAL);
    b4k_mw_free(w);
}

/* Streaming XXH64 equals the one-shot digest for every split. */
TEST(xxh64_streaming)
{
    uint8_t d[300];
    for (size_t i = 0; i < sizeof d; i++)
        d[i] = (uint8_t)(i * 131 + 7);
    for (size_t n = 0; n <= sizeof d; n += 1 + n / 8)
        for (size_t step = 1; step <= 70; step += 3) {
            b4k_xxh64_state s;
            b4k_xxh64_init(&s, 5);
            for (size_t o = 0; o < n; o += step)
                b4k_xxh64_update(&s, d + o, n - o < step ? n - o : step);
            CHECK(b4k_xxh64_digest(&s) == b4k_xxh64(d, n, 5));
        }
}

typedef struct race {
    b4k_model *m;
    const void *raw, *z;
    int rc;
} race;

static void *race_get(void *ctx)
{
    race *r = ctx;
    b4k_tensor_view v;
    b4k_err e;
    r->rc = b4k_model_get(r->m, "z", &v, &e);
    r->z = v.data;
    r->rc |= b4k_model_get(r->m, "r", &v, &e);
    r->raw = v.data;
    return NULL;
}

/* First access from several threads at once: every thread gets the same
 * verified view, one decompressed copy (ASan/TSan builds check the rest). */
TEST(first_get_threads)
{
    enum { NT = 8, N = 1 << 16 };
    int64_t shape[1] = {N};
    float *x = b4k_malloc(N * 4);
    uint8_t *a;
    size_t na;
    b4k_err e;
    for (int i = 0; i < N; i++)
        x[i] = (float)(i % 977);
    b4k_mw *w = b4k_mw_new("x");
    CHECK_EQ_INT(b4k_mw_add(w, "r", B4K_F32, 1, shape, x, B4K_CODEC_RAW, &e), 0);
    CHECK_EQ_INT(b4k_mw_add(w, "z", B4K_F32, 1, shape, x, B4K_CODEC_ZSTD, &e), 0);
    CHECK_EQ_INT(b4k_mw_write_mem(w, &a, &na, &e), 0);
    b4k_mw_free(w);
    for (int round = 0; round < 20; round++) {
        b4k_model *m;
        pthread_t th[NT];
        race r[NT];
        CHECK_EQ_INT(b4k_model_open_mem(&m, a, na, "race", &e), 0);
        for (int i = 0; i < NT; i++) {
            r[i].m = m;
            pthread_create(&th[i], NULL, race_get, &r[i]);
        }
        for (int i = 0; i < NT; i++)
            pthread_join(th[i], NULL);
        for (int i = 0; i < NT; i++) {
            CHECK_EQ_INT(r[i].rc, 0);
            CHECK(r[i].z == r[0].z && r[i].raw == r[0].raw);
        }
        CHECK(!memcmp(r[0].z, x, N * 4) && !memcmp(r[0].raw, x, N * 4));
        b4k_model_free(m);
    }
    b4k_free(a);
    b4k_free(x);
}

/* A file write (zstd streamed into place, header patched at the end) gives
 * the bytes of a memory write, for borrowed, lazy and row-produced tensors,
 * raw and zstd, big and empty. */
TEST(file_equals_memory)
{
    enum { R = 3000, C = 1000 };
    static const size_t cols = C;
    float scale = 0.5f;
    float *x = b4k_malloc((size_t)R * C * 4);
    int64_t big[2] = {R, C}, none[2] = {0, 5}, small[1] = {100};
    char path[] = "/tmp/b4k-test-model-XXXXXX";
    int fd = mkstemp(path);
    uint8_t *a, *f = NULL;
    size_t na, nf = 0;
    b4k_err e;
    close(fd);
    for (size_t i = 0; i < (size_t)R * C; i++)
        x[i] = (float)((i * 2654435761u) % 1000) * 0.25f;
    for (int round = 0; round < 2; round++) {
        b4k_mw *w = b4k_mw_new("x");
        b4k_mw_set_zstd(w, 5, 2);
        CHECK_EQ_INT(b4k_mw_add(w, "big.z", B4K_F32, 2, big, x, B4K_CODEC_ZSTD, &e), 0);
        CHECK_EQ_INT(b4k_mw_add(w, "big.raw", B4K_F32, 2, big, x, B4K_CODEC_RAW, &e), 0);
        CHECK_EQ_INT(b4k_mw_add_rows(w, "rows.z", B4K_F32, 2, big, B4K_CODEC_ZSTD,
                                     fill_rows_ramp, (void *)&cols, &e), 0);
        CHECK_EQ_INT(b4k_mw_add_lazy(w, "lazy.z", B4K_F32, 1, small, B4K_CODEC_ZSTD, fill_ramp,
                                     &scale, &e), 0);
        CHECK_EQ_INT(b4k_mw_add(w, "none.z", B4K_F32, 2, none, x, B4K_CODEC_ZSTD, &e), 0);
        CHECK_EQ_INT(b4k_mw_add_blob(w, "blob.z", "tail", 4, B4K_CODEC_ZSTD, &e), 0);
        if (round == 0) {
            CHECK_EQ_INT(b4k_mw_write(w, path, &e), 0);
        } else {
            CHECK_EQ_INT(b4k_mw_write_mem(w, &a, &na, &e), 0);
            FILE *fp = fopen(path, "rb");
            f = b4k_malloc(na + 1);
            nf = fp ? fread(f, 1, na + 1, fp) : 0;
            if (fp)
                fclose(fp);
            CHECK(nf == na && !memcmp(f, a, na));
            b4k_free(a);
            b4k_free(f);
        }
        b4k_mw_free(w);
    }
    b4k_model *m;
    CHECK_EQ_INT(b4k_model_open_ex(&m, path, B4K_MODEL_VERIFY_ALL, &e), 0);
    b4k_tensor_view v;
    CHECK_EQ_INT(b4k_model_get(m, "big.z", &v, &e), 0);
    CHECK(v.nbytes == (size_t)R * C * 4 && !memcmp(v.data, x, v.nbytes));
    b4k_model_free(m);
    unlink(path);
    b4k_free(x);
}

/* The stored bytes and header fields of tensor name in a .b4k buffer. */
static const uint8_t *stored_of(const uint8_t *buf, size_t n, const char *name, size_t *sz)
{
    b4k_model *m;
    b4k_err e;
    uint64_t hl, off;
    const uint8_t *p = NULL;
    memcpy(&hl, buf + 8, 8);
    if (b4k_model_open_mem(&m, buf, n, "mem", &e))
        return NULL;
    json_t *t = json_object_get(json_object_get(b4k_model_header(m), "tensors"), name);
    off = (uint64_t)json_integer_value(json_object_get(t, "offset"));
    *sz = (size_t)json_integer_value(json_object_get(t, "stored_size"));
    p = buf + (16 + hl + 63) / 64 * 64 + off;
    b4k_model_free(m);
    return p;
}

/* zstd tensors are streamed through the compressor a slice at a time into
 * their place: each frame is the one ZSTD_compress2 makes of the whole
 * tensor with the writer's parameters (so the bytes depend neither on the
 * slicing nor on --threads), and the header has the length the worst case
 * (ZSTD_compressBound) would need, padded with spaces (man b4k-model 5). */
TEST(zstd_streamed_in_place)
{
    enum { R = 2000, C = 700 };
    static const size_t cols = C;
    float *x = b4k_malloc((size_t)R * C * 4);
    int64_t shape[2] = {R, C};
    b4k_err e;
    for (size_t i = 0; i < (size_t)R * C; i++)
        x[i] = (float)((i * 2654435761u) % 977) * 0.125f;
    for (int threads = 1; threads <= 3; threads += 2) {
        b4k_mw *w = b4k_mw_new("x");
        uint8_t *a;
        size_t na, sz;
        b4k_mw_set_zstd(w, 3, threads);
        CHECK_EQ_INT(b4k_mw_add(w, "b", B4K_F32, 2, shape, x, B4K_CODEC_ZSTD, &e), 0);
        CHECK_EQ_INT(b4k_mw_add_rows(w, "r", B4K_F32, 2, shape, B4K_CODEC_ZSTD, fill_rows_ramp,
                                     (void *)&cols, &e), 0);
        CHECK_EQ_INT(b4k_mw_add_blob(w, "s", "tiny", 4, B4K_CODEC_ZSTD, &e), 0);
        CHECK_EQ_INT(b4k_mw_write_mem(w, &a, &na, &e), 0);
        b4k_mw_free(w);
        /* the frames */
        ZSTD_CCtx *cc = ZSTD_createCCtx();
        size_t cap = ZSTD_compressBound((size_t)R * C * 4), got;
        uint8_t *z = b4k_malloc(cap);
        float *ramp = b4k_malloc((size_t)R * C * 4);
        fill_rows_ramp((void *)&cols, ramp, 0, R, &e);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 1);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 0);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_nbWorkers, 1);
        got = ZSTD_compress2(cc, z, cap, x, (size_t)R * C * 4);
        const uint8_t *p = stored_of(a, na, "b", &sz);
        CHECK(p && sz == got && !memcmp(p, z, got));
        got = ZSTD_compress2(cc, z, cap, ramp, (size_t)R * C * 4);
        p = stored_of(a, na, "r", &sz);
        CHECK(p && sz == got && !memcmp(p, z, got));
        ZSTD_freeCCtx(cc);
        b4k_free(z);
        b4k_free(ramp);
        /* the header: the JSON, then spaces to the reserved length */
        uint64_t hl;
        memcpy(&hl, a + 8, 8);
        CHECK_EQ_INT((16 + hl) % 64, 0);
        b4k_model *m;
        CHECK_EQ_INT(b4k_model_open_mem(&m, a, na, "mem", &e), 0);
        if (m) {
            json_t *h = json_deep_copy(b4k_model_header(m)), *tens = json_object_get(h, "tensors");
            const char *k;
            json_t *v;
            uint64_t off = 0;
            char *text, *real;
            /* the reserved length: the same header with bounds and zero checksums */
            json_object_foreach(tens, k, v) {
                uint64_t raw = (uint64_t)json_integer_value(json_object_get(v, "raw_size"));
                uint64_t b = ZSTD_compressBound(raw);
                json_object_set_new(v, "offset", json_integer((json_int_t)off));
                json_object_set_new(v, "stored_size", json_integer((json_int_t)b));
                json_object_set_new(v, "checksum", json_string("xxh64:0000000000000000"));
                off += (b + 63) / 64 * 64;
            }
            text = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
            real = json_dumps(b4k_model_header(m), JSON_COMPACT | JSON_PRESERVE_ORDER);
            CHECK(text && real && hl == (16 + strlen(text) + 63) / 64 * 64 - 16);
            CHECK(real && strlen(real) < hl && !memcmp(a + 16, real, strlen(real)));
            for (size_t i = real ? strlen(real) : hl; i < hl; i++)
                CHECK(a[16 + i] == ' ');
            free(text);
            free(real);
            json_decref(h);
        }
        b4k_model_free(m);
        b4k_free(a);
    }
    b4k_free(x);
}

typedef struct fifo_rd {
    const char *path;
    b4k_buf got;
} fifo_rd;

static void *fifo_read(void *ctx)
{
    fifo_rd *r = ctx;
    char buf[65536];
    size_t n;
    FILE *fp = fopen(r->path, "rb");
    while (fp && (n = fread(buf, 1, sizeof buf, fp)) > 0)
        b4k_buf_append(&r->got, buf, n);
    if (fp)
        fclose(fp);
    return NULL;
}

/* A FIFO (written in place, not seekable): the checksums come from a first
 * pass, so the header is right when written; same bytes as memory. */
TEST(write_to_fifo)
{
    char dir[] = "/tmp/b4k-test-fifo-XXXXXX", path[64];
    static const size_t cols = 300;
    int64_t shape[2] = {1000, 300};
    float scale = 0.5f;
    int64_t small[1] = {100};
    uint8_t *a;
    size_t na;
    b4k_err e;
    pthread_t th;
    fifo_rd r = {path, {0}};
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/f", dir);
    CHECK_EQ_INT(mkfifo(path, 0600), 0);
    b4k_buf_init(&r.got);
    for (int round = 0; round < 2; round++) {
        b4k_mw *w = b4k_mw_new("x");
        CHECK_EQ_INT(b4k_mw_add_rows(w, "r", B4K_F32, 2, shape, B4K_CODEC_RAW, fill_rows_ramp,
                                     (void *)&cols, &e), 0);
        CHECK_EQ_INT(b4k_mw_add_rows(w, "z", B4K_F32, 2, shape, B4K_CODEC_ZSTD, fill_rows_ramp,
                                     (void *)&cols, &e), 0);
        CHECK_EQ_INT(b4k_mw_add_lazy(w, "l", B4K_F32, 1, small, B4K_CODEC_RAW, fill_ramp,
                                     &scale, &e), 0);
        if (round == 0) {
            pthread_create(&th, NULL, fifo_read, &r);
            CHECK_EQ_INT(b4k_mw_write(w, path, &e), 0);
            pthread_join(th, NULL);
        } else {
            CHECK_EQ_INT(b4k_mw_write_mem(w, &a, &na, &e), 0);
            CHECK(r.got.len == na && !memcmp(r.got.data, a, na));
            b4k_free(a);
        }
        b4k_mw_free(w);
    }
    b4k_buf_free(&r.got);
    unlink(path);
    rmdir(dir);
}

/* A check that fails after k calls (counts its calls). */
typedef struct chk {
    int calls, fail_at;
} chk;

static int check_n(void *ctx, b4k_err *err)
{
    chk *c = ctx;
    if (++c->calls == c->fail_at)
        return b4k_err_set(err, B4K_ECHECKSUM, "src.bin", 0, "bad source bytes");
    return 0;
}

/* b4k_mw_add_checked: the check runs right before the borrowed bytes are
 * first read, i.e. with the temporary output open; when it fails, the write
 * stops with its error and the folder is left as it was (raw and zstd). */
TEST(checked_tensors)
{
    char dir[] = "/tmp/b4k-test-check-XXXXXX", path[64];
    int64_t shape[2] = {6, 40};
    b4k_err e;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/m.b4k", dir);
    for (int codec = 0; codec < 2; codec++)
        for (int fail = 0; fail < 3; fail++) {
            chk c1 = {0, fail == 1}, c2 = {0, fail == 2 ? 1 : 0};
            b4k_mw *w = b4k_mw_new("x");
            int cd = codec ? B4K_CODEC_ZSTD : B4K_CODEC_RAW;
            CHECK_EQ_INT(b4k_mw_add_checked(w, "a", B4K_F32, 2, shape, fdata, cd, check_n, &c1,
                                            &e), 0);
            CHECK_EQ_INT(b4k_mw_add_checked(w, "b", B4K_F32, 2, shape, fdata, cd, check_n, &c2,
                                            &e), 0);
            int rc = b4k_mw_write(w, path, &e);
            b4k_mw_free(w);
            if (!fail) {
                b4k_model *m;
                CHECK_EQ_INT(rc, 0);
                CHECK(c1.calls >= 1 && c2.calls >= 1);
                CHECK_EQ_INT(b4k_model_open_ex(&m, path, B4K_MODEL_VERIFY_ALL, &e), 0);
                b4k_model_free(m);
                unlink(path);
            } else {
                CHECK_EQ_INT(rc, B4K_ECHECKSUM);
                CHECK(strstr(e.msg, "bad source bytes") != NULL);
                CHECK_EQ_INT(fail == 2 ? c1.calls : 1, 1); /* "a" was checked before "b" */
            }
            CHECK(rmdir(dir) == 0); /* nothing left: no m.b4k, no m.b4k.tmp.* */
            CHECK(mkdir(dir, 0700) == 0);
        }
    rmdir(dir);
}

/* A file of 32 MiB or more maps at a 2 MiB-aligned address; with
 * B4K_MODEL_HUGE the page cache may be dropped and read back (model.c
 * map_file): the bytes must read back the same, every time. */
TEST(file_huge_map)
{
    char path[] = "/tmp/b4k-test-model-XXXXXX";
    int fd = mkstemp(path);
    b4k_err e;
    size_t n = (size_t)9 << 20; /* 36 MiB of f32 */
    int64_t shape[1] = {(int64_t)n};
    float *f = b4k_malloc_n(n, sizeof *f);
    close(fd);
    CHECK(f != NULL);
    if (!f)
        return;
    for (size_t i = 0; i < n; i++)
        f[i] = (float)(i % 1000003) * 0.25f;
    b4k_mw *w = b4k_mw_new("x");
    CHECK_EQ_INT(b4k_mw_add(w, "big", B4K_F32, 1, shape, f, B4K_CODEC_RAW, &e), 0);
    CHECK_EQ_INT(b4k_mw_write(w, path, &e), 0);
    b4k_mw_free(w);
    static const unsigned fl[] = { B4K_MODEL_HUGE | B4K_MODEL_VERIFY_ALL,
                                   B4K_MODEL_HUGE | B4K_MODEL_POPULATE, 0 };
    for (int k = 0; k < 3; k++) {
        b4k_model *m = NULL;
        b4k_tensor_view v;
        CHECK_EQ_INT(b4k_model_open_ex(&m, path, fl[k], &e), 0);
        if (!m)
            continue;
        CHECK_EQ_INT(b4k_model_get(m, "big", &v, &e), 0);
        CHECK(v.nbytes == n * sizeof *f && !memcmp(v.data, f, n * sizeof *f));
        b4k_model_free(m);
    }
    b4k_free(f);
    unlink(path);
}

int main(void)
{
    RUN(roundtrip_raw_and_zstd);
    RUN(file_roundtrip_mmap);
    RUN(file_huge_map);
    RUN(validation);
    RUN(lazy_checksum);
    RUN(row_tensors);
    RUN(xxh64_streaming);
    RUN(first_get_threads);
    RUN(file_equals_memory);
    RUN(zstd_streamed_in_place);
    RUN(write_to_fifo);
    RUN(xxh64_vectors);
    RUN(lazy_tensors);
    RUN(checked_tensors);
    return t_done();
}
