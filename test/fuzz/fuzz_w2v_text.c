/* Fuzz target: the strict word2vec text reader (and format detection). */
#include <stdint.h>

#include "w2v/query.h"
#include "w2v/w2v.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    b4k_err e;
    b4k_w2v *m = NULL;
    int fmts[2] = {B4K_W2V_FMT_TEXT, B4K_W2V_FMT_AUTO};
    for (int i = 0; i < 2; i++) {
        if (b4k_w2v_load_mem(&m, data, size, "fuzz", fmts[i], &e) == 0) {
            /* a model that loads must be usable */
            b4k_w2v_index *ix;
            if (b4k_w2v_index_new(&ix, m, 0, 1, &e) == 0) {
                int64_t ids[3];
                float sc[3];
                b4k_w2v_query q = {-1, 0, -1, 3, ids, sc, 0};
                b4k_w2v_answer(ix, &q, 1, B4K_W2V_ADD, &e);
                b4k_w2v_index_free(ix);
            }
            b4k_w2v_free(m);
            m = NULL;
        }
    }
    return 0;
}
