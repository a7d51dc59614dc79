/* Build-time converter: jieba's dictionary and HMM parameters (Debian's
 * python3-jieba: dict.txt and finalseg/prob_*.py) -> the compact b4k jieba
 * data file (see lib/tok/jieba_dict.c), optionally with user dictionaries
 * merged in.  Python is never run: the files are parsed in C.
 *
 *   build/tools/jieba-data [-d JIEBA_DIR] [-u USER_DICT]... OUT
 *
 * OUT ending in .zst is not compressed here; pipe through zstd for that. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "io/atomic.h"
#include "tok/jieba.h"

int main(int argc, char **argv)
{
    const char *dir = B4K_JIEBA_DEBIAN_DIR, *users[64];
    int nu = 0, c;
    while ((c = getopt(argc, argv, "d:u:h")) != -1) {
        if (c == 'd') dir = optarg;
        else if (c == 'u' && nu < 64) users[nu++] = optarg;
        else {
            fprintf(stderr, "usage: jieba-data [-d JIEBA_DIR] [-u USER_DICT]... OUT\n");
            return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: jieba-data [-d JIEBA_DIR] [-u USER_DICT]... OUT\n");
        return 2;
    }
    b4k_err err = {0};
    b4k_jieba *j = NULL;
    b4k_buf out;
    b4k_buf_init(&out);
    char msg[1024];
    if (b4k_jieba_load_dir(&j, dir, &err)) goto fail;
    for (int i = 0; i < nu; i++)
        if (b4k_jieba_load_userdict(j, users[i], &err)) goto fail;
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
