/* Fuzz target: the precompiled charsmap (darts-clone double array +
 * replacement strings).  The first input byte says how many of the
 * following bytes (x 8) are the charsmap blob; the rest is the text,
 * normalised (checking the offset map) and encoded with it. */
#include <stdint.h>
#include <string.h>

#include "fuzz_spm_common.h"
#include "tok/spm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t k = (size_t)data[0] * 8;
    if (k > size - 1) k = size - 1;
    b4k_buf mb;
    fz_model(&mb, 1, data + 1, k);
    b4k_spm *m = NULL;
    b4k_err e;
    if (b4k_spm_load_mem(&m, mb.data, mb.len, "fuzz", &e) == 0) {
        const char *text = (const char *)data + 1 + k;
        size_t tl = size - 1 - k;
        b4k_spm_state *st = b4k_spm_state_new();
        const char *norm;
        size_t nl;
        const uint32_t *n2o;
        if (b4k_spm_normalize(m, st, text, tl, &norm, &nl, &n2o, &e) == 0) {
            for (size_t i = 1; i <= nl; i++)
                if (n2o[i] < n2o[i - 1] || n2o[i] > tl) __builtin_trap();
        }
        b4k_spm_tokens t;
        b4k_spm_tokens_init(&t);
        b4k_spm_encode(m, st, text, tl, &t, &e);
        b4k_spm_tokens_free(&t);
        b4k_spm_state_free(st);
        b4k_spm_free(m);
    }
    b4k_buf_free(&mb);
    return 0;
}
