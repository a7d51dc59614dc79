/* Fuzz target: the SentencePiece .model reader (protobuf wire format,
 * piece table, trainer/normalizer specs, charsmap), then encode, n-best,
 * sampling and decode with whatever model was accepted. */
#include <stdint.h>
#include <string.h>

#include "core/rng.h"
#include "tok/spm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    b4k_spm *m = NULL;
    b4k_err e;
    if (b4k_spm_load_mem(&m, data, size, "fuzz", &e)) return 0;
    static const char *texts[] = {"", "  a  b ", "\xE4\xBD\xA0\xE5\xA5\xBD world 123", "\xff\xfe\xc3",
                                  "\xE2\x96\x81\xE2\x96\x81x"};
    b4k_spm_state *st = b4k_spm_state_new();
    b4k_spm_tokens t[3];
    b4k_buf out;
    b4k_buf_init(&out);
    for (int i = 0; i < 3; i++) b4k_spm_tokens_init(&t[i]);
    for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
        const char *s = texts[k];
        t[0].n = 0;
        if (b4k_spm_encode(m, st, s, strlen(s), &t[0], &e) == 0) b4k_spm_decode(m, t[0].id, t[0].n, &out, &e);
        int got;
        b4k_spm_nbest(m, st, s, strlen(s), 3, t, NULL, &got, &e);
        b4k_rng r;
        b4k_rng_seed(&r, k, 0);
        t[0].n = 0;
        b4k_spm_sample(m, st, s, strlen(s), 0, 0.5, &r, &t[0], &e);
    }
    int32_t ids[] = {0, 1, 2, 3, (int32_t)b4k_spm_size(m) - 1};
    b4k_spm_decode(m, ids, 5, &out, &e);
    b4k_buf_free(&out);
    for (int i = 0; i < 3; i++) b4k_spm_tokens_free(&t[i]);
    b4k_spm_state_free(st);
    b4k_spm_free(m);
    return 0;
}
