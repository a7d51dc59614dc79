/* lib/core and lib/io unit tests. */
#include "t.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/rng.h"
#include "core/threads.h"
#include "core/utf8.h"
#include "io/atomic.h"
#include "io/jsonl.h"
#include "io/stream.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

TEST(err_format)
{
    b4k_err e;
    b4k_err_clear(&e);
    CHECK_EQ_INT(b4k_err_set(&e, B4K_EFORMAT, "train.txt", 1234, "expected %d columns, got %d", 3, 2),
                 B4K_EFORMAT);
    char buf[256];
    b4k_err_format(&e, buf, sizeof buf);
    CHECK_EQ_STR(buf, "train.txt:1234: expected 3 columns, got 2");
    b4k_err_set(&e, B4K_EIO, "x", 0, "gone");
    b4k_err_format(&e, buf, sizeof buf);
    CHECK_EQ_STR(buf, "x: gone");
    b4k_err_locate(&e, "y", 7);
    CHECK_EQ_INT(e.line, 7);
    CHECK_EQ_STR(e.file, "x");
}

TEST(alloc_overflow)
{
    CHECK(b4k_malloc_n((size_t)1 << 62, 16) == NULL);
    CHECK(b4k_calloc((size_t)-1, 2) == NULL);
    int *p = NULL;
    size_t cap = 0;
    CHECK_EQ_INT(B4K_GROW(p, cap, 100), 0);
    CHECK(cap >= 100);
    p[99] = 1;
    free(p);
}

TEST(alloc_huge)
{
    /* small: 64-byte aligned; from 2 MiB: 2 MiB aligned; both writable
     * end to end and freed by b4k_free */
    size_t sizes[] = {0, 100, ((size_t)2 << 20) - 4, (size_t)2 << 20, ((size_t)5 << 20) + 12};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        unsigned char *q = b4k_alloc_huge(n);
        CHECK(q != NULL);
        if (!q)
            continue;
        size_t align = n >= ((size_t)2 << 20) ? (size_t)2 << 20 : 64;
        CHECK(((uintptr_t)q & (align - 1)) == 0);
        if (n) {
            memset(q, 0xA5, n);
            CHECK(q[0] == 0xA5 && q[n - 1] == 0xA5);
        }
        b4k_free(q);
    }
}

TEST(buf_json)
{
    b4k_buf b;
    b4k_buf_init(&b);
    b4k_buf_put_json_str(&b, "a\"b\\c\n\x01é", 9);
    CHECK_EQ_STR(b.data, "\"a\\\"b\\\\c\\n\\u0001é\"");
    b4k_buf_reset(&b);
    int32_t v[] = { 0, -5, 2147483647, -2147483647 - 1 };
    b4k_jsonl_put_ints(&b, v, 4);
    CHECK_EQ_STR(b.data, "[0,-5,2147483647,-2147483648]");
    b4k_buf_reset(&b);
    /* every digit count, both signs, against printf */
    char want[64];
    for (int32_t x = 1, d = 0; d < 10; d++, x = x > 214748364 ? 2147483647 : x * 10 + 7) {
        int32_t pv[4] = { x, -x, x - 1, 9 };
        b4k_buf_reset(&b);
        b4k_jsonl_put_pairs(&b, pv, 2);
        snprintf(want, sizeof want, "[[%d,%d],[%d,9]]", x, -x, x - 1);
        CHECK_EQ_STR(b.data, want);
    }
    b4k_buf_reset(&b);
    b4k_jsonl_put_pairs(&b, v, 0);
    CHECK_EQ_STR(b.data, "[]");
    b4k_buf_reset(&b);
    b4k_buf_put_i64(&b, -9223372036854775807LL - 1);
    CHECK_EQ_STR(b.data, "-9223372036854775808");
    b4k_buf_free(&b);
}

TEST(utf8)
{
    uint32_t cp;
    CHECK_EQ_INT(b4k_utf8_decode((const unsigned char *)"\xe4\xb8\xad", 3, &cp), 3);
    CHECK_EQ_INT(cp, 0x4E2D);
    CHECK_EQ_INT(b4k_utf8_decode((const unsigned char *)"\xc0\x80", 2, &cp), -1); /* overlong */
    CHECK_EQ_INT(b4k_utf8_decode((const unsigned char *)"\xed\xa0\x80", 3, &cp), -1); /* surrogate */
    CHECK_EQ_INT(b4k_utf8_check("abc\xe4\xb8", 5), 3);
    CHECK_EQ_INT((long long)b4k_utf8_check("abc\xe4\xb8\xad", 6), -1);
    char *o;
    size_t n;
    /* maximal subparts: E4 B8 (truncated) -> one U+FFFD; FF -> one each */
    CHECK_EQ_INT(b4k_utf8_sanitize("a\xe4\xb8z\xff\xff", 6, &o, &n), 0);
    CHECK_EQ_STR(o, "a\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd");
    free(o);
    char enc[4];
    CHECK_EQ_INT(b4k_utf8_encode(0x1F60E, enc), 4);
    CHECK(!memcmp(enc, "\xf0\x9f\x98\x8e", 4));
}

struct sum_ctx {
    long long part[8];
};
static void sum_range(void *p, size_t b, size_t e, int tid)
{
    struct sum_ctx *c = p;
    for (size_t i = b; i < e; i++)
        c->part[tid] += (long long)i;
}

TEST(pool)
{
    for (int nt = 1; nt <= 4; nt++) {
        b4k_pool *pool = b4k_pool_new(nt);
        CHECK(pool != NULL);
        for (int rep = 0; rep < 50; rep++) {
            struct sum_ctx c = { { 0 } };
            b4k_pool_for(pool, 10001, sum_range, &c);
            long long s = 0;
            for (int i = 0; i < 8; i++)
                s += c.part[i];
            CHECK_EQ_INT(s, 10000LL * 10001 / 2);
        }
        b4k_pool_free(pool);
    }
    b4k_pool_free(NULL);
}

TEST(rng)
{
    b4k_rng a, b;
    b4k_rng_seed(&a, 42, 0);
    b4k_rng_seed(&b, 42, 0);
    for (int i = 0; i < 100; i++)
        CHECK(b4k_rng_u64(&a) == b4k_rng_u64(&b));
    b4k_rng_seed(&b, 42, 1);
    CHECK(b4k_rng_u64(&a) != b4k_rng_u64(&b));
    int hist[10] = { 0 };
    for (int i = 0; i < 100000; i++)
        hist[b4k_rng_below(&a, 10)]++;
    for (int i = 0; i < 10; i++)
        CHECK(hist[i] > 9500 && hist[i] < 10500);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* b4k-generate's per-sample streams: (seed, record, sample) -> generator.
 * The old single stream index record*1024 + sample made record 0 sample
 * 1024 and record 1 sample 0 the same stream. */
TEST(rng_two_counters)
{
    b4k_rng a, b;
    CHECK(0 * 1024 + 1024 == 1 * 1024 + 0); /* the old collision */
    b4k_rng_seed2(&a, 0, 0, 1024);
    b4k_rng_seed2(&b, 0, 1, 0);
    CHECK(memcmp(a.s, b.s, sizeof a.s) != 0);
    CHECK(b4k_rng_u64(&a) != b4k_rng_u64(&b));
    /* swapped counters, and the seed, give other streams too */
    b4k_rng_seed2(&a, 0, 1, 2);
    b4k_rng_seed2(&b, 0, 2, 1);
    CHECK(b4k_rng_u64(&a) != b4k_rng_u64(&b));
    b4k_rng_seed2(&a, 1, 0, 0);
    b4k_rng_seed2(&b, 0, 0, 0);
    CHECK(b4k_rng_u64(&a) != b4k_rng_u64(&b));
    /* reproducible */
    b4k_rng_seed2(&a, 7, 3, 5);
    b4k_rng_seed2(&b, 7, 3, 5);
    int same = 1;
    for (int i = 0; i < 100; i++)
        same &= b4k_rng_u64(&a) == b4k_rng_u64(&b);
    CHECK(same);
    /* 64 records x 2048 samples: every first draw distinct, and uniform */
    size_t n = 64 * 2048, dup = 0;
    uint64_t *v = malloc(n * sizeof *v);
    int hist[16] = { 0 };
    for (size_t r = 0; r < 64; r++)
        for (size_t k = 0; k < 2048; k++) {
            b4k_rng_seed2(&a, 0, r, k);
            v[r * 2048 + k] = b4k_rng_u64(&a);
            hist[v[r * 2048 + k] >> 60]++;
        }
    qsort(v, n, sizeof *v, cmp_u64);
    for (size_t i = 1; i < n; i++)
        dup += v[i] == v[i - 1];
    CHECK_EQ_INT(dup, 0);
    double x2 = 0, e = n / 16.0;
    for (int i = 0; i < 16; i++)
        x2 += (hist[i] - e) * (hist[i] - e) / e;
    CHECK(x2 < 37.7); /* chi-square, df 15, p = 0.001 */
    free(v);
}

static int read_lines(b4k_stream *s, char out[][64], int max)
{
    int n = 0;
    char *line;
    size_t len;
    b4k_err e;
    while (n < max && b4k_stream_getline(s, &line, &len, &e) == 1) {
        snprintf(out[n], 64, "%.*s", (int)len, line);
        n++;
    }
    return n;
}

TEST(stream_plain_and_zstd)
{
    const char *text = "one\ntwo\n\nfour";
    b4k_stream *s;
    b4k_err e;
    char lines[8][64];
    CHECK_EQ_INT(b4k_stream_open_mem(&s, text, strlen(text), "mem", &e), 0);
    CHECK_EQ_INT(read_lines(s, lines, 8), 4);
    CHECK_EQ_STR(lines[2], "");
    CHECK_EQ_STR(lines[3], "four");
    CHECK_EQ_INT(b4k_stream_lineno(s), 4);
    b4k_stream_close(s);

    char z[256];
    size_t zn = ZSTD_compress(z, sizeof z, text, strlen(text), 3);
    CHECK(!ZSTD_isError(zn));
    CHECK_EQ_INT(b4k_stream_open_mem(&s, z, zn, "mem.zst", &e), 0);
    CHECK(b4k_stream_is_zstd(s));
    CHECK_EQ_INT(read_lines(s, lines, 8), 4);
    CHECK_EQ_STR(lines[1], "two");
    b4k_stream_close(s);

    /* truncated zstd is an error, not silent data loss */
    CHECK_EQ_INT(b4k_stream_open_mem(&s, z, zn - 3, "cut.zst", &e), 0);
    char *line;
    size_t len;
    int rc;
    while ((rc = b4k_stream_getline(s, &line, &len, &e)) == 1)
        ;
    CHECK(rc < 0);
    CHECK(strstr(e.msg, "truncated") != NULL);
    b4k_stream_close(s);
}

/* b4k_stream_read: what came before an error is handed out (got), so a
 * reader of raw bytes loses no line before a corrupt frame. */
TEST(stream_read_error_keeps_data)
{
    const char *one = "first frame\nwhole\n", *two = "second frame, cut\n";
    char z[512];
    size_t n1 = ZSTD_compress(z, sizeof z, one, strlen(one), 3);
    CHECK(!ZSTD_isError(n1));
    size_t n2 = ZSTD_compress(z + n1, sizeof z - n1, two, strlen(two), 3);
    CHECK(!ZSTD_isError(n2));
    b4k_stream *s;
    b4k_err e;
    CHECK_EQ_INT(b4k_stream_open_mem(&s, z, n1 + n2 - 3, "cut.zst", &e), 0);
    char buf[256];
    size_t got = 12345;
    CHECK(b4k_stream_read(s, buf, sizeof buf, &got, &e) < 0);
    /* all of the first frame, perhaps some of the cut one (a raw block) */
    CHECK(got >= strlen(one) && got < strlen(one) + strlen(two));
    CHECK(!memcmp(buf, one, strlen(one)));
    CHECK(strstr(e.msg, "truncated") != NULL);
    b4k_stream_close(s);
}

TEST(stream_long_lines)
{
    size_t n = 5u << 20;
    char *big = malloc(n + 2);
    memset(big, 'x', n);
    big[n] = '\n';
    big[n + 1] = 'y';
    b4k_stream *s;
    b4k_err e;
    CHECK_EQ_INT(b4k_stream_open_mem(&s, big, n + 2, "big", &e), 0);
    char *line;
    size_t len;
    CHECK_EQ_INT(b4k_stream_getline(s, &line, &len, &e), 1);
    CHECK_EQ_INT(len, n);
    CHECK_EQ_INT(b4k_stream_getline(s, &line, &len, &e), 1);
    CHECK_EQ_INT(len, 1);
    CHECK_EQ_INT(b4k_stream_getline(s, &line, &len, &e), 0);
    b4k_stream_close(s);
    CHECK_EQ_INT(b4k_stream_open_mem(&s, big, n + 2, "big", &e), 0);
    b4k_stream_set_max_line(s, 1000);
    CHECK_EQ_INT(b4k_stream_getline(s, &line, &len, &e), B4K_ERANGE);
    CHECK_EQ_INT(e.line, 1);
    b4k_stream_close(s);
    free(big);
}

TEST(jsonl)
{
    json_t *v;
    b4k_err e;
    const char *rec = "{\"text\":\"\xe4\xb8\xad\",\"id\":3}";
    CHECK_EQ_INT(b4k_jsonl_parse_object(&v, rec, strlen(rec), "f", 9, &e), 0);
    size_t n;
    const char *t = b4k_json_get_str(v, "text", &n, "f", 9, &e);
    CHECK(t && n == 3);
    CHECK(b4k_json_get_str(v, "missing", NULL, "f", 9, &e) == NULL);
    CHECK_EQ_STR(e.msg, "missing field \"missing\"");
    CHECK(b4k_json_get_str(v, "id", NULL, "f", 9, &e) == NULL);
    b4k_buf b;
    b4k_buf_init(&b);
    b4k_jsonl_dump(&b, v);
    CHECK_EQ_STR(b.data, "{\"text\":\"\xe4\xb8\xad\",\"id\":3}");
    json_decref(v);
    CHECK(b4k_jsonl_parse_object(&v, "[1]", 3, "f", 2, &e) == B4K_EFORMAT);
    CHECK(b4k_jsonl_parse_object(&v, "{\"a\":", 5, "f", 2, &e) == B4K_EFORMAT);
    CHECK_EQ_INT(e.line, 2);
    /* invalid UTF-8 inside a JSON string is rejected */
    CHECK(b4k_jsonl_parse_object(&v, "{\"a\":\"\xff\"}", 9, "f", 2, &e) == B4K_EFORMAT);
    b4k_buf_reset(&b);
    CHECK_EQ_INT(b4k_jsonl_splice(&b, "{\"a\":1} ", 8, "\"ids\":[1]", 9), 0);
    CHECK_EQ_STR(b.data, "{\"a\":1,\"ids\":[1]}");
    b4k_buf_reset(&b);
    CHECK_EQ_INT(b4k_jsonl_splice(&b, "{ }", 3, "\"ids\":[1]", 9), 0);
    CHECK_EQ_STR(b.data, "{ \"ids\":[1]}");
    b4k_buf_free(&b);
}

TEST(atomic_file)
{
    char dir[] = "/tmp/b4k-atomic.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    b4k_err e;
    CHECK_EQ_INT(b4k_afile_write_all(path, "old", 3, &e), 0);
    b4k_afile *af;
    CHECK_EQ_INT(b4k_afile_open(&af, path, &e), 0);
    fputs("new data", b4k_afile_fp(af));
    b4k_afile_abort(af); /* the old file must survive */
    FILE *fp = fopen(path, "rb");
    char got[16] = { 0 };
    CHECK(fp && fread(got, 1, sizeof got, fp) == 3);
    fclose(fp);
    CHECK_EQ_STR(got, "old");
    CHECK_EQ_INT(b4k_afile_open(&af, path, &e), 0);
    fputs("new", b4k_afile_fp(af));
    CHECK_EQ_INT(b4k_afile_commit(af, &e), 0);
    fp = fopen(path, "rb");
    memset(got, 0, sizeof got);
    CHECK(fp && fread(got, 1, sizeof got, fp) == 3);
    fclose(fp);
    CHECK_EQ_STR(got, "new");
    unlink(path);
    CHECK_EQ_INT(rmdir(dir), 0); /* no temporaries left behind */
}

TEST(atomic_special_files)
{
    /* /dev/null must stay a device: written in place, never renamed over */
    b4k_err e;
    b4k_afile *af;
    CHECK_EQ_INT(b4k_afile_open(&af, "/dev/null", &e), 0);
    CHECK(b4k_afile_tmpname(af) == NULL);
    CHECK(!b4k_afile_seekable(af));
    fputs("x", b4k_afile_fp(af));
    CHECK_EQ_INT(b4k_afile_commit(af, &e), 0);
    struct stat st;
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
    CHECK_EQ_INT(b4k_afile_write_all("/dev/null", "abc", 3, &e), 0);
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
    /* a FIFO gets the bytes */
    char dir[] = "/tmp/b4k-fifo.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char fifo[256];
    snprintf(fifo, sizeof fifo, "%s/p", dir);
    CHECK_EQ_INT(mkfifo(fifo, 0600), 0);
    pid_t pid = fork();
    if (pid == 0) {
        b4k_err e2;
        _exit(b4k_afile_write_all(fifo, "hello", 5, &e2) ? 1 : 0);
    }
    FILE *fp = fopen(fifo, "rb");
    char got[16] = { 0 };
    CHECK(fp && fread(got, 1, sizeof got, fp) == 5);
    if (fp)
        fclose(fp);
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_EQ_STR(got, "hello");
    CHECK(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    unlink(fifo);
    CHECK_EQ_INT(rmdir(dir), 0);
    /* a directory is refused */
    CHECK(b4k_afile_open(&af, "/tmp", &e) == B4K_EIO);
}

int main(void)
{
    RUN(err_format);
    RUN(alloc_overflow);
    RUN(alloc_huge);
    RUN(buf_json);
    RUN(utf8);
    RUN(pool);
    RUN(rng);
    RUN(rng_two_counters);
    RUN(stream_plain_and_zstd);
    RUN(stream_read_error_keeps_data);
    RUN(stream_long_lines);
    RUN(jsonl);
    RUN(atomic_file);
    RUN(atomic_special_files);
    return t_done();
}
