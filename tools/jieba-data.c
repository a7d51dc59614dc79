/* Build-time converter: jieba's dictionary and HMM parameters (Debian's
 * python3-jieba: dict.txt and finalseg/prob_*.py) -> the b4k jieba data
 * file (format version 2, used in place: see lib/tok/jieba_data.c),
 * optionally with user dictionaries merged in.  Python is never run: the
 * files are parsed in C.
 *
 *   build/tools/jieba-data [-d JIEBA_DIR] [-u USER_DICT]... OUT
 *   build/tools/jieba-data -c [-d JIEBA_DIR | -f DATA] [-u USER_DICT]... [-n]
 *       cut stdin's lines (for the parity tests): words escaped (\\ \s \t
 *       \r \n) and joined by one space, as test/ref/jieba_ref.py prints;
 *       -n: no HMM.
 *
 * OUT ending in .zst is not compressed here; pipe through zstd for that. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "io/atomic.h"
#include "io/stream.h"
#include "tok/jieba.h"

static void esc(b4k_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') b4k_buf_puts(b, "\\\\");
        else if (c == ' ') b4k_buf_puts(b, "\\s");
        else if (c == '\t') b4k_buf_puts(b, "\\t");
        else if (c == '\r') b4k_buf_puts(b, "\\r");
        else if (c == '\n') b4k_buf_puts(b, "\\n");
        else b4k_buf_putc(b, c);
    }
}

static int cut(b4k_jieba *j, int hmm, b4k_err *err)
{
    b4k_stream *s = NULL;
    b4k_jieba_state *st = b4k_jieba_state_new();
    b4k_jieba_words w;
    b4k_buf b;
    char *line;
    size_t len;
    int k, rc;
    b4k_jieba_words_init(&w);
    b4k_buf_init(&b);
    if ((rc = b4k_stream_open(&s, "-", err))) return rc;
    while ((k = b4k_stream_getline(s, &line, &len, err)) == 1) {
        w.n = 0;
        b.len = 0;
        if ((rc = b4k_jieba_cut(j, st, line, len, hmm, &w, err))) break;
        for (size_t i = 0; i < w.n; i++) {
            if (i) b4k_buf_putc(&b, ' ');
            esc(&b, line + w.beg[i], w.end[i] - w.beg[i]);
        }
        b4k_buf_putc(&b, '\n');
        if (fwrite(b.data, 1, b.len, stdout) != b.len) {
            rc = b4k_err_set(err, B4K_EIO, NULL, 0, "write error");
            break;
        }
    }
    if (!rc && k < 0) rc = k;
    b4k_stream_close(s);
    b4k_jieba_state_free(st);
    b4k_jieba_words_free(&w);
    b4k_buf_free(&b);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = B4K_JIEBA_DEBIAN_DIR, *users[64], *data = NULL;
    int nu = 0, c, docut = 0, hmm = 1;
    while ((c = getopt(argc, argv, "cd:f:nu:h")) != -1) {
        if (c == 'd') dir = optarg;
        else if (c == 'f') data = optarg;
        else if (c == 'c') docut = 1;
        else if (c == 'n') hmm = 0;
        else if (c == 'u' && nu < 64) users[nu++] = optarg;
        else {
            fprintf(stderr, "usage: jieba-data [-d JIEBA_DIR] [-u USER_DICT]... OUT\n");
            return 2;
        }
    }
    if (optind + !docut != argc) {
        fprintf(stderr, "usage: jieba-data [-d JIEBA_DIR] [-u USER_DICT]... OUT\n");
        return 2;
    }
    b4k_err err = {0};
    b4k_jieba *j = NULL;
    b4k_buf out;
    b4k_buf_init(&out);
    char msg[1024];
    if (data ? b4k_jieba_load(&j, data, &err) : b4k_jieba_load_dir(&j, dir, &err)) goto fail;
    for (int i = 0; i < nu; i++)
        if (b4k_jieba_load_userdict(j, users[i], &err)) goto fail;
    if (docut) {
        if (cut(j, hmm, &err)) goto fail;
        b4k_jieba_free(j);
        return fflush(stdout) ? 1 : 0;
    }
    if (b4k_jieba_save(j, &out, &err)) goto fail;
    if (strcmp(argv[optind], "-") == 0) {
        if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout)) {
            fprintf(stderr, "jieba-data: write error\n");
            return 1;
        }
    } else if (b4k_afile_write_all(argv[optind], out.data, out.len, &err)) {
        goto fail;
    }
    fprintf(stderr, "jieba-data: %zu words, total %llu, %zu bytes\n", b4k_jieba_n_words(j),
            (unsigned long long)b4k_jieba_total(j), out.len);
    b4k_jieba_free(j);
    b4k_buf_free(&out);
    return 0;
fail:
    b4k_err_format(&err, msg, sizeof msg);
    fprintf(stderr, "jieba-data: %s\n", msg);
    b4k_jieba_free(j);
    b4k_buf_free(&out);
    return 1;
}
