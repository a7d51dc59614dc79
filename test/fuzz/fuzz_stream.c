/* Fuzz target: the line reader over plain and zstd input, and the JSONL
 * object parser on every line it yields. */
#include "io/jsonl.h"
#include "io/stream.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    b4k_stream *s;
    b4k_err e;
    if (b4k_stream_open_mem(&s, data, size, "fuzz", &e))
        return 0;
    b4k_stream_set_max_line(s, 1 << 16);
    char *line;
    size_t len;
    while (b4k_stream_getline(s, &line, &len, &e) == 1) {
        json_t *v;
        if (b4k_jsonl_parse_object(&v, line, len, "fuzz", b4k_stream_lineno(s), &e) == 0) {
            b4k_buf b;
            b4k_buf_init(&b);
            b4k_jsonl_dump(&b, v);
            b4k_jsonl_splice(&b, line, len, "\"x\":1", 5);
            b4k_buf_free(&b);
            json_decref(v);
        }
    }
    b4k_stream_close(s);
    return 0;
}
