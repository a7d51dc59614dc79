/* Fuzz target: the CRF++ template parser, then expansion of every template
 * over a small fixed sequence; also the column readers (conll, seg, jsonl,
 * spans) over the same bytes. */
#include <stdint.h>
#include <string.h>

#include "crf/data.h"
#include "crf/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    b4k_crf_tpl t;
    b4k_err e;
    if (b4k_crf_tpl_parse(&t, (const char *)data, size, "fuzz", &e) == 0) {
        const char *cells[] = { "a", "X", "b", "Y", "c", "Z" };
        uint32_t cl[] = { 1, 1, 1, 1, 1, 1 };
        b4k_buf b;
        b4k_buf_init(&b);
        if (t.maxcol < 2)
            for (int k = 0; k < t.nu; k++)
                for (size_t pos = 0; pos < 3; pos++) {
                    b4k_buf_reset(&b);
                    b4k_crf_tpl_expand(&t, k, cells, cl, 3, 2, pos, &b);
                }
        b4k_buf_free(&b);
        b4k_crf_tpl_free(&t);
    }
    for (int fmt = 0; fmt < 4; fmt++) {
        b4k_crf_reader *r;
        if (b4k_crf_reader_open_mem(&r, data, size, "fuzz", fmt, 0, fmt & 1 ? B4K_CRF_LAB_AUTO
                                                                         : B4K_CRF_LAB_REQUIRED,
                                    &e))
            continue;
        b4k_crf_seq s;
        b4k_crf_seq_init(&s);
        int n = 0;
        while (n++ < 1000 && b4k_crf_reader_next(r, &s, &e) == 1)
            ;
        b4k_crf_seq_free(&s);
        b4k_crf_reader_close(r);
    }
    return 0;
}
