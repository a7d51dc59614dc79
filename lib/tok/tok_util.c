/* Helpers shared by the tokenizers (see tok_util.h). */
#include "tok/tok_util.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "io/stream.h"

int b4k_tok_slurp(const char *path, char **data, size_t *len, b4k_err *err)
{
    b4k_stream *s = NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc;
    *data = NULL;
    *len = 0;
    if (!path || !*path)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "no file name given");
    if (strcmp(path, "-") == 0)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "a vocabulary cannot be read from stdin");
    if ((rc = b4k_stream_open(&s, path, err)))
        return rc;
    for (;;) {
        if (cap - n < 65536 + 1) {
            if (B4K_GROW(buf, cap, n + 65536 + 1)) {
                rc = b4k_err_set(err, B4K_ENOMEM, path, 0, "out of memory");
                goto fail;
            }
        }
        size_t got = 0;
        if ((rc = b4k_stream_read(s, buf + n, 65536, &got, err)))
            goto fail;
        n += got;
        if (got < 65536)
            break;
    }
    buf[n] = 0;
    b4k_stream_close(s);
    *data = buf;
    *len = n;
    return 0;
fail:
    free(buf);
    b4k_stream_close(s);
    return rc;
}
