/* b4k-crf: the tagging machinery shared by tag and eval (see crf.h). */
#include <math.h>
#include <string.h>

#include "b4k-crf/crf.h"
#include "core/alloc.h"

/* ---- tagging machinery shared by tag and eval ---- */

void tagws_init(tagws *w, int L)
{
    memset(w, 0, sizeof *w);
    if (!(w->ws = b4k_crf1d_ws_new(L)))
        b4k_cli_dief("out of memory");
    b4k_buf_init(&w->scratch);
}

void tagws_free(tagws *w)
{
    b4k_crf1d_ws_free(w->ws);
    b4k_buf_free(&w->scratch);
    b4k_free(w->aid);
    b4k_free(w->aoff);
    b4k_free(w->emit);
    b4k_free(w->mg);
    b4k_free(w->path);
    b4k_free(w->paths);
    b4k_free(w->scores);
}

void tagger_open(tagger *tg, const char *path, const char *constraints, int nbest, int marg)
{
    b4k_err err;
    b4k_err_clear(&err);
    memset(tg, 0, sizeof *tg);
    if (b4k_crf_model_load_ex(&tg->m, path, B4K_CRF_LOAD_TAG, &err))
        b4k_cli_die(&err);
    int L = tg->m.L;
    if (b4k_crf1d_tr_init(&tg->tr, L))
        b4k_cli_dief("out of memory");
    if (constraints) {
        const char **labs = b4k_malloc_n(L, sizeof(char *));
        uint8_t *allow = b4k_malloc_n((size_t)L * L, 1), *as = b4k_malloc(L), *ae = b4k_malloc(L);
        if (!labs || !allow || !as || !ae)
            b4k_cli_dief("out of memory");
        for (int i = 0; i < L; i++)
            labs[i] = b4k_crf_model_label_str(&tg->m, i);
        if (b4k_crf1d_scheme_mask(constraints, labs, L, allow, as, ae))
            b4k_cli_usage("unknown --constraints '%s' (BIO, BIOES, BMES)", constraints);
        b4k_crf1d_tr_constrain(&tg->tr, allow, as, ae);
        b4k_free(labs);
        b4k_free(allow);
        b4k_free(as);
        b4k_free(ae);
    }
    b4k_crf_model_tr(&tg->m, &tg->tr);
    tg->nbest = nbest;
    tg->marg = marg;
    tagws_init(&tg->w, L);
}

void tagger_close(tagger *tg)
{
    tagws_free(&tg->w);
    b4k_crf_model_free(&tg->m);
    b4k_crf1d_tr_free(&tg->tr);
}

/* Viterbi, and with --marginals / --nbest forward-backward and n-best, for
 * seq in workspace w (thread-safe: the model and tables are read-only).
 * Returns 0, B4K_ERANGE (constraints leave no path) or B4K_ENOMEM. */
int tagger_run(const tagger *tg, tagws *w, const b4k_crf_seq *seq)
{
    size_t T = seq->T;
    int L = tg->m.L;
    if (T > w->cap) {
        size_t cap = T * 2;
        w->aoff = b4k_realloc_n(w->aoff, cap + 1, sizeof(size_t));
        w->emit = b4k_realloc_n(w->emit, cap * (size_t)L, sizeof(double));
        w->path = b4k_realloc_n(w->path, cap, sizeof(int32_t));
        if (!w->aoff || !w->emit || !w->path)
            return B4K_ENOMEM;
        if (tg->nbest > 1) {
            w->paths = b4k_realloc_n(w->paths, cap * (size_t)tg->nbest, sizeof(int32_t));
            w->scores = b4k_realloc_n(w->scores, (size_t)tg->nbest, sizeof(double));
            if (!w->paths || !w->scores)
                return B4K_ENOMEM;
        }
        if (tg->marg && !(w->mg = b4k_realloc_n(w->mg, cap * (size_t)L, sizeof(double))))
            return B4K_ENOMEM;
        w->cap = cap;
    }
    if (b4k_crf_model_scores(&tg->m, seq, &w->scratch, w->emit))
        return B4K_ENOMEM;
    int rc = b4k_crf1d_viterbi(w->ws, &tg->tr, w->emit, T, w->path, &w->score);
    if (rc)
        return rc;
    w->found = 1;
    w->logz = 0;
    if (tg->marg || tg->nbest > 1)
        if ((rc = b4k_crf1d_fb(w->ws, &tg->tr, w->emit, T, &w->logz)))
            return rc;
    if (tg->nbest > 1 &&
        (rc = b4k_crf1d_nbest(w->ws, &tg->tr, w->emit, T, tg->nbest, w->paths, w->scores, &w->found)))
        return rc;
    if (tg->marg)
        b4k_crf1d_marginals(w->ws, &tg->tr, w->mg);
    return 0;
}

/* tagger_run in the main thread, dying on failure */
void tagger_run_main(tagger *tg, const b4k_crf_seq *seq, const char *file)
{
    int rc = tagger_run(tg, &tg->w, seq);
    if (rc == B4K_ERANGE) {
        b4k_err err;
        b4k_err_set(&err, B4K_EFORMAT, file, seq->line, "no label sequence satisfies the constraints");
        b4k_cli_die(&err);
    }
    if (rc)
        b4k_cli_dief("out of memory");
}

int check_cols(const tagger *tg, const b4k_crf_seq *seq, const char *file, b4k_err *err)
{
    if (seq->ncol == tg->m.ncol)
        return 0;
    return b4k_err_set(err, B4K_EFORMAT, file, seq->line,
                       "the model expects %d feature column%s, the input has %d", tg->m.ncol,
                       tg->m.ncol == 1 ? "" : "s", seq->ncol);
}

static void put_seg(b4k_buf *b, const b4k_crf_seq *seq, const tagger *tg, const int32_t *path)
{
    for (size_t t = 0; t < seq->T; t++) {
        if (t) {
            char c = b4k_crf_model_label_str(&tg->m, path[t])[0];
            char p = b4k_crf_model_label_str(&tg->m, path[t - 1])[0];
            if (c == 'B' || c == 'S' || p == 'E' || p == 'S')
                b4k_buf_puts(b, "  ");
        }
        b4k_buf_append(b, seq->cell[t], seq->clen[t]);
    }
    b4k_buf_putc(b, '\n');
}

static void put_labels(b4k_buf *b, const tagger *tg, const int32_t *path, size_t T)
{
    b4k_buf_putc(b, '[');
    for (size_t t = 0; t < T; t++) {
        const char *l = b4k_crf_model_label_str(&tg->m, path[t]);
        if (t)
            b4k_buf_putc(b, ',');
        b4k_buf_put_json_str(b, l, strlen(l));
    }
    b4k_buf_putc(b, ']');
}

/* Format the result in w for seq into b. */
void tag_format(const tagger *tg, const tagws *w, const b4k_crf_seq *seq, int ofmt,
                       b4k_buf *b)
{
    size_t T = seq->T;
    int L = tg->m.L, nbest = tg->nbest, marg = tg->marg;
    if (!T) { /* empty seg line */
        b4k_buf_putc(b, '\n');
        return;
    }
    if (ofmt == OUT_SEG) {
        put_seg(b, seq, tg, w->path);
    } else if (ofmt == OUT_JSONL) {
        b4k_buf_puts(b, "{\"tokens\":[");
        for (size_t t = 0; t < T; t++) {
            if (t)
                b4k_buf_putc(b, ',');
            if (seq->ncol > 1)
                b4k_buf_putc(b, '[');
            for (int c = 0; c < seq->ncol; c++) {
                if (c)
                    b4k_buf_putc(b, ',');
                size_t i = t * seq->ncol + c;
                b4k_buf_put_json_str(b, seq->cell[i], seq->clen[i]);
            }
            if (seq->ncol > 1)
                b4k_buf_putc(b, ']');
        }
        b4k_buf_puts(b, "],\"labels\":");
        put_labels(b, tg, w->path, T);
        b4k_buf_printf(b, ",\"score\":%.6f", w->score);
        if (marg) {
            b4k_buf_printf(b, ",\"prob\":%.6g,\"marginals\":[", exp(w->score - w->logz));
            for (size_t t = 0; t < T; t++)
                b4k_buf_printf(b, "%s%.6g", t ? "," : "", w->mg[t * L + w->path[t]]);
            b4k_buf_puts(b, "]");
        }
        if (nbest > 1) {
            b4k_buf_puts(b, ",\"nbest\":[");
            for (int q = 0; q < w->found; q++) {
                b4k_buf_puts(b, q ? ",{\"labels\":" : "{\"labels\":");
                put_labels(b, tg, w->paths + (size_t)q * T, T);
                b4k_buf_printf(b, ",\"score\":%.6f,\"prob\":%.6g}", w->scores[q],
                               exp(w->scores[q] - w->logz));
            }
            b4k_buf_puts(b, "]");
        }
        b4k_buf_puts(b, "}\n");
    } else {
        for (int q = 0; q < w->found; q++) {
            const int32_t *pth = nbest > 1 ? w->paths + (size_t)q * T : w->path;
            if (nbest > 1)
                b4k_buf_printf(b, "# %d %.6f %.6g\n", q, w->scores[q], exp(w->scores[q] - w->logz));
            for (size_t t = 0; t < T; t++) {
                for (int c = 0; c < seq->ncol; c++) {
                    size_t i = t * seq->ncol + c;
                    b4k_buf_append(b, seq->cell[i], seq->clen[i]);
                    b4k_buf_putc(b, '\t');
                }
                if (seq->label) {
                    b4k_buf_append(b, seq->label[t], seq->llen[t]);
                    b4k_buf_putc(b, '\t');
                }
                b4k_buf_puts(b, b4k_crf_model_label_str(&tg->m, pth[t]));
                if (marg && q == 0)
                    b4k_buf_printf(b, "/%.6f", w->mg[t * L + pth[t]]);
                b4k_buf_putc(b, '\n');
            }
            b4k_buf_putc(b, '\n');
        }
    }
}

