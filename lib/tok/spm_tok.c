/* Kinds spm and cpm behind the b4k_tok interface (see spm_tok.h). */
#include "tok/spm_tok.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "tok/cpm.h"
#include "tok/jieba.h"
#include "tok/spm.h"

/* per-thread scratch kept in b4k_tok_out */
typedef struct scratch {
    b4k_spm_state *sst;
    b4k_cpm_state *cst;
    b4k_spm_tokens tk;
    int32_t *cpidx;  /* byte -> code point index */
    size_t ccap;
} scratch;

static void scratch_free(void *p)
{
    scratch *s = p;
    if (!s) return;
    b4k_spm_state_free(s->sst);
    b4k_cpm_state_free(s->cst);
    b4k_spm_tokens_free(&s->tk);
    b4k_free(s->cpidx);
    b4k_free(s);
}

static scratch *get_scratch(b4k_tok_out *out, int cpm)
{
    b4k_tok_kind k = cpm ? B4K_TOK_CPM : B4K_TOK_SPM;
    if (out->scratch_kind != k || !out->scratch) {
        if (out->scratch_free) out->scratch_free(out->scratch);
        out->scratch = NULL;
        out->scratch_free = NULL;
        out->scratch_kind = B4K_TOK_NONE;
        scratch *s = b4k_calloc(1, sizeof *s);
        if (!s) return NULL;
        s->sst = b4k_spm_state_new();
        s->cst = cpm ? b4k_cpm_state_new() : NULL;
        if (!s->sst || (cpm && !s->cst)) {
            scratch_free(s);
            return NULL;
        }
        out->scratch = s;
        out->scratch_free = scratch_free;
        out->scratch_kind = k;
    }
    return out->scratch;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int b4k_tok_jieba_open(struct b4k_jieba **out, const char *path, b4k_err *err)
{
    if (!path || !*path) path = B4K_JIEBA_DEBIAN_DIR;
    if (is_dir(path)) return b4k_jieba_load_dir(out, path, err);
    return b4k_jieba_load(out, path, err);
}

/* opts->jieba, opts->jieba_data, the first existing opts->jieba_search path,
 * then Debian's python3-jieba folder */
static int jieba_default(b4k_jieba **out, const b4k_tok_opts *o, b4k_err *err)
{
    if (o->jieba) return b4k_tok_jieba_open(out, o->jieba, err);
    if (o->jieba_data)
        return b4k_jieba_load_mem(out, o->jieba_data, o->jieba_size, "tokenizer.jieba", err);
    for (const char *const *p = o->jieba_search; p && *p; p++) {
        struct stat st;
        if (stat(*p, &st) == 0) return b4k_tok_jieba_open(out, *p, err);
    }
    return b4k_tok_jieba_open(out, NULL, err);
}

int b4k_tok_spm_load(void **impl, const b4k_tok_opts *o, b4k_err *err)
{
    b4k_spm *m = NULL;
    b4k_jieba *j = NULL;
    int rc;
    *impl = NULL;
    if (!o->model && !o->model_data)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "%s needs a SentencePiece model (--model FILE.model)",
                           o->kind == B4K_TOK_CPM ? "cpm" : "spm");
    rc = o->model_data ? b4k_spm_load_mem(&m, o->model_data, o->model_size,
                                          o->model ? o->model : "tokenizer.spm", err)
                       : b4k_spm_load(&m, o->model, err);
    if (rc) return rc;
    if (o->kind != B4K_TOK_CPM) {
        *impl = m;
        return 0;
    }
    if ((rc = jieba_default(&j, o, err))) goto fail;
    if (o->user_dict && (rc = b4k_jieba_load_userdict(j, o->user_dict, err))) goto fail;
    b4k_cpm *c;
    rc = b4k_cpm_new(&c, m, j, err); /* takes both */
    m = NULL;
    j = NULL;
    if (rc) return rc;
    *impl = c;
    return 0;
fail:
    b4k_spm_free(m);
    b4k_jieba_free(j);
    return rc;
}

static const b4k_spm *SPM(const void *impl, int cpm)
{
    return cpm ? b4k_cpm_spm(impl) : impl;
}

void b4k_tok_spm_free(void *impl, int cpm)
{
    if (cpm) b4k_cpm_free(impl);
    else b4k_spm_free(impl);
}

size_t b4k_tok_spm_size(const void *impl, int cpm) { return b4k_spm_size(SPM(impl, cpm)); }

const char *b4k_tok_spm_piece(const void *impl, int cpm, int32_t id, size_t *len)
{
    return b4k_spm_piece(SPM(impl, cpm), id, len);
}

int32_t b4k_tok_spm_id(const void *impl, int cpm, const char *piece, size_t len)
{
    return b4k_spm_piece_id(SPM(impl, cpm), piece, len);
}

int32_t b4k_tok_spm_special(const void *impl, int cpm, int which)
{
    const b4k_spm *m = SPM(impl, cpm);
    switch (which) {
    case 0: return b4k_spm_unk_id(m);
    case 1: return b4k_spm_bos_id(m);
    case 2: return b4k_spm_eos_id(m);
    case 3: return b4k_spm_pad_id(m);
    default: return -1;
    }
}

/* encode one text into s->tk (byte offsets) */
static int enc_one(const void *impl, int cpm, scratch *s, const char *t, size_t n,
                   const b4k_tok_enc *enc, uint64_t stream, b4k_err *err)
{
    s->tk.n = 0;
    b4k_rng rng, *r = NULL;
    if (enc && enc->sample) {
        b4k_rng_seed(&rng, enc->seed, stream);
        r = &rng;
    }
    if (cpm) return b4k_cpm_encode(impl, s->cst, t, n, enc ? enc->nbest : 0, enc ? enc->alpha : 0, r, &s->tk, err);
    if (r) return b4k_spm_sample(impl, s->sst, t, n, enc->nbest, enc->alpha, r, &s->tk, err);
    return b4k_spm_encode(impl, s->sst, t, n, &s->tk, err);
}

/* append s->tk to out with code point offsets */
static int append(scratch *s, const char *t, size_t n, int32_t seg, b4k_tok_out *out)
{
    if (n + 1 > s->ccap && B4K_GROW(s->cpidx, s->ccap, n + 1)) return B4K_ENOMEM;
    int32_t c = 0;
    for (size_t i = 0; i < n; i++) { /* a byte inside a character maps to it */
        if (((unsigned char)t[i] & 0xC0) != 0x80) s->cpidx[i] = c++;
        else s->cpidx[i] = c ? c - 1 : 0;
    }
    s->cpidx[n] = c;
    if (b4k_tok_out_reserve(out, s->tk.n)) return B4K_ENOMEM;
    for (size_t i = 0; i < s->tk.n; i++)
        b4k_tok_out_push(out, s->tk.id[i], s->cpidx[s->tk.beg[i]], s->cpidx[s->tk.end[i]], seg);
    return 0;
}

int b4k_tok_spm_encode(const void *impl, int cpm, const char *a, size_t a_len, const char *b,
                       size_t b_len, const b4k_tok_enc *enc, b4k_tok_out *out, b4k_err *err)
{
    int rc;
    out->n = 0;
    out->n_a = 0;
    scratch *s = get_scratch(out, cpm);
    if (!s) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    if ((rc = enc_one(impl, cpm, s, a, a_len, enc, 0, err))) return rc;
    if ((rc = append(s, a, a_len, 0, out))) goto nomem;
    out->n_a = out->n;
    if (b) {
        if ((rc = enc_one(impl, cpm, s, b, b_len, enc, 1, err))) return rc;
        if ((rc = append(s, b, b_len, 1, out))) goto nomem;
    }
    if (enc && enc->max_len > 0 && out->n > (size_t)enc->max_len) {
        size_t na = out->n_a, nb = out->n - out->n_a, max = (size_t)enc->max_len;
        while (na + nb > max) { /* longest first */
            if (na >= nb) na--;
            else nb--;
        }
        if (nb) {
            memmove(out->ids + na, out->ids + out->n_a, nb * sizeof *out->ids);
            memmove(out->segs + na, out->segs + out->n_a, nb * sizeof *out->segs);
            memmove(out->offsets + 2 * na, out->offsets + 2 * out->n_a, 2 * nb * sizeof *out->offsets);
        }
        out->n_a = na;
        out->n = na + nb;
    }
    return 0;
nomem:
    return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
}

int b4k_tok_spm_nbest(const void *impl, int cpm, const char *a, size_t a_len, int nbest,
                      b4k_tok_out *outs, float *scores, int *got, b4k_err *err)
{
    int rc = 0;
    *got = 0;
    if (nbest < 1) nbest = 1;
    if (nbest > 1024) nbest = 1024;
    scratch *s = get_scratch(&outs[0], cpm);
    if (!s) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    const b4k_spm *m = SPM(impl, cpm);
    const char *t = a;
    size_t tn = a_len;
    if (cpm && (rc = b4k_cpm_pretokenize(impl, s->cst, a, a_len, &t, &tn, err))) return rc;
    b4k_spm_tokens *tks = b4k_calloc((size_t)nbest, sizeof *tks);
    if (!tks) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    /* cpm: t lives in s->cst; the spm state is s->sst */
    if ((rc = b4k_spm_nbest(m, s->sst, t, tn, nbest, tks, scores, got, err))) goto done;
    for (int k = 0; k < *got; k++) {
        b4k_tok_out *o = &outs[k];
        o->n = o->n_a = 0;
        s->tk.n = 0;
        for (size_t i = 0; i < tks[k].n; i++) {
            if (s->tk.n == s->tk.cap) {
                size_t c1 = s->tk.cap, c2 = s->tk.cap, c3 = s->tk.cap;
                if (B4K_GROW(s->tk.id, c1, s->tk.n + 1) || B4K_GROW(s->tk.beg, c2, s->tk.n + 1) ||
                    B4K_GROW(s->tk.end, c3, s->tk.n + 1)) {
                    rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
                    goto done;
                }
                s->tk.cap = c1 < c2 ? (c1 < c3 ? c1 : c3) : (c2 < c3 ? c2 : c3);
            }
            s->tk.id[s->tk.n] = tks[k].id[i];
            s->tk.beg[s->tk.n] = tks[k].beg[i];
            s->tk.end[s->tk.n] = tks[k].end[i];
            s->tk.n++;
        }
        if (cpm) b4k_cpm_finish(impl, s->cst, &s->tk, 0);
        if (append(s, a, a_len, 0, o)) {
            rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
            goto done;
        }
        o->n_a = o->n;
    }
done:
    for (int k = 0; k < nbest; k++) b4k_spm_tokens_free(&tks[k]);
    b4k_free(tks);
    return rc;
}

int b4k_tok_spm_decode(const void *impl, int cpm, const int32_t *ids, size_t n, b4k_buf *out,
                       b4k_err *err)
{
    return cpm ? b4k_cpm_decode(impl, ids, n, out, err) : b4k_spm_decode(impl, ids, n, out, err);
}
