/* Fuzz target: the CRF model reader (container + CRF-specific checks), then
 * tagging one sequence with whatever loaded. */
#include <stdint.h>
#include <string.h>

#include "crf/crf1d.h"
#include "core/alloc.h"
#include "crf/model.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    b4k_crf_model m;
    b4k_err e;
    /* without checksum verification, so mutations reach the CRF checks */
    b4k_model *f;
    if (b4k_model_open_mem_ex(&f, data, size, "fuzz", B4K_MODEL_NO_VERIFY, &e))
        return 0;
    if (b4k_crf_model_from(&m, f, &e))
        return 0;
    b4k_crf_seq s;
    b4k_crf_seq_init(&s);
    static const char txt[] = "a b c\nd e f\n";
    b4k_crf_reader *r;
    if (b4k_crf_reader_open_mem(&r, txt, sizeof txt - 1, "t", B4K_CRF_CONLL, m.ncol,
                                B4K_CRF_LAB_AUTO, &e) == 0) {
        if (b4k_crf_reader_next(r, &s, &e) == 1 && s.ncol == m.ncol) {
            b4k_buf sc;
            b4k_buf_init(&sc);
            int32_t *aid = NULL;
            size_t acap = 0, aoff[3];
            double emit[2 * 64];
            int32_t path[2];
            if (m.L <= 64 && b4k_crf_model_attrs(&m, &s, &sc, &aid, &acap, aoff) == 0) {
                b4k_crf_model_emit(&m, aid, aoff, s.T, emit);
                b4k_crf1d_tr tr;
                if (b4k_crf1d_tr_init(&tr, m.L) == 0) {
                    b4k_crf_model_tr(&m, &tr);
                    b4k_crf1d_ws *ws = b4k_crf1d_ws_new(m.L);
                    if (ws)
                        b4k_crf1d_viterbi(ws, &tr, emit, s.T, path, NULL);
                    b4k_crf1d_ws_free(ws);
                    b4k_crf1d_tr_free(&tr);
                }
            }
            b4k_free(aid);
            b4k_buf_free(&sc);
        }
        b4k_crf_reader_close(r);
    }
    b4k_crf_seq_free(&s);
    b4k_crf_model_free(&m);
    return 0;
}
