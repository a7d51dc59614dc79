/* Tokenizer interface: dispatch on the kind (see tok.h).
 *
 * Adding a kind: give it a module (tok/<kind>.c/.h) with load/free/encode/
 * decode/piece/id/size functions, then fill its case in each switch below.
 * The SentencePiece and CPM cases are marked "issue 4". */
#include "tok/tok.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "model/model.h"
#include "tok/bpe.h"
#include "tok/jieba.h"
#include "tok/spm_tok.h"
#include "tok/wordpiece.h"

struct b4k_tok {
    b4k_tok_kind kind;
    void *impl; /* b4k_wordpiece, b4k_bpe, ... */
};

b4k_tok_kind b4k_tok_kind_parse(const char *name)
{
    if (!name) return B4K_TOK_NONE;
    if (!strcasecmp(name, "wordpiece") || !strcasecmp(name, "bert")) return B4K_TOK_WORDPIECE;
    if (!strcasecmp(name, "bpe") || !strcasecmp(name, "gpt2")) return B4K_TOK_BPE;
    if (!strcasecmp(name, "spm") || !strcasecmp(name, "sentencepiece")) return B4K_TOK_SPM;
    if (!strcasecmp(name, "cpm")) return B4K_TOK_CPM;
    return B4K_TOK_NONE;
}

const char *b4k_tok_kind_name(b4k_tok_kind kind)
{
    switch (kind) {
    case B4K_TOK_WORDPIECE: return "wordpiece";
    case B4K_TOK_BPE: return "bpe";
    case B4K_TOK_SPM: return "spm";
    case B4K_TOK_CPM: return "cpm";
    default: return "none";
    }
}

void b4k_tok_opts_init(b4k_tok_opts *o)
{
    memset(o, 0, sizeof *o);
    o->lower = -1;
    o->strip_accents = -1;
    o->tokenize_cjk = 1;
}

void b4k_tok_jieba_paths(const char *exe_dir, char *buf, size_t cap, const char *paths[4])
{
    int k = 0;
    size_t used = 0;
    if (exe_dir && *exe_dir) {
        static const char *const rel[2] = { "/../share/b4k/jieba.b4kj",
                                            "/../build/share/b4k/jieba.b4kj" };
        for (int i = 0; i < 2; i++) {
            int w = snprintf(buf + used, cap - used, "%s%s", exe_dir, rel[i]);
            if (w < 0 || (size_t)w >= cap - used) break;
            paths[k++] = buf + used;
            used += (size_t)w + 1;
        }
    }
    paths[k++] = B4K_JIEBA_DEBIAN_DIR;
    while (k < 4) paths[k++] = NULL;
}

void b4k_tok_enc_init(b4k_tok_enc *e)
{
    memset(e, 0, sizeof *e);
    e->add_special = 1;
}

int b4k_tok_load(b4k_tok **out, const b4k_tok_opts *o, b4k_err *err)
{
    *out = NULL;
    b4k_tok *t = b4k_calloc(1, sizeof *t);
    if (!t) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    t->kind = o->kind;
    int rc;
    switch (o->kind) {
    case B4K_TOK_WORDPIECE:
        if (o->vocab_data) {
            rc = b4k_wordpiece_load_mem((b4k_wordpiece **)&t->impl, o->vocab_data, o->vocab_size,
                                        o->vocab ? o->vocab : "vocab", o->lower,
                                        o->strip_accents, o->tokenize_cjk, err);
            break;
        }
        if (!o->vocab) {
            rc = b4k_err_set(err, B4K_EINVAL, NULL, 0, "wordpiece needs a vocabulary (vocab.txt)");
            break;
        }
        rc = b4k_wordpiece_load((b4k_wordpiece **)&t->impl, o->vocab, o->lower, o->strip_accents,
                                o->tokenize_cjk, err);
        break;
    case B4K_TOK_BPE:
        if (o->vocab_data && o->merges_data) {
            rc = b4k_bpe_load_mem((b4k_bpe **)&t->impl, o->vocab_data, o->vocab_size,
                                  o->vocab ? o->vocab : "encoder.json", o->merges_data,
                                  o->merges_size, o->merges ? o->merges : "vocab.bpe", err);
            break;
        }
        if (!o->vocab || !o->merges) {
            rc = b4k_err_set(err, B4K_EINVAL, NULL, 0,
                             "bpe needs an encoder (encoder.json) and merges (vocab.bpe)");
            break;
        }
        rc = b4k_bpe_load((b4k_bpe **)&t->impl, o->vocab, o->merges, err);
        break;
    case B4K_TOK_SPM: /* issue 4: SentencePiece */
    case B4K_TOK_CPM: /* issue 4: CPM (jieba + SentencePiece) */
        rc = b4k_tok_spm_load(&t->impl, o, err);
        break;
    default:
        rc = b4k_err_set(err, B4K_EINVAL, NULL, 0, "unknown tokenizer kind");
        break;
    }
    if (rc) {
        free(t); /* impl is NULL on failure */
        return rc;
    }
    *out = t;
    return 0;
}

int b4k_tok_load_model(b4k_tok **out, b4k_model *m, const b4k_tok_opts *opts, b4k_err *err)
{
    static const char *const keys[4] = { "vocab", "merges", "model", "jieba" };
    json_t *t = b4k_model_tokenizer(m);
    b4k_tok_opts o;
    *out = NULL;
    if (!t) return 0;
    if (opts) o = *opts;
    else b4k_tok_opts_init(&o);
    const char *kind = json_string_value(json_object_get(t, "kind"));
    b4k_tok_kind want = opts ? opts->kind : B4K_TOK_NONE;
    o.kind = b4k_tok_kind_parse(kind);
    /* the caller may take a CPM model's SentencePiece alone, or add jieba */
    if ((o.kind == B4K_TOK_SPM || o.kind == B4K_TOK_CPM) &&
        (want == B4K_TOK_SPM || want == B4K_TOK_CPM))
        o.kind = want;
    if (o.kind == B4K_TOK_NONE)
        return b4k_err_set(err, B4K_EFORMAT, NULL, 0, "unknown tokenizer kind \"%s\"",
                           kind ? kind : "(none)");
    const char **name[4] = { &o.vocab, &o.merges, &o.model, NULL };
    const void **data[4] = { &o.vocab_data, &o.merges_data, &o.model_data, &o.jieba_data };
    size_t *size[4] = { &o.vocab_size, &o.merges_size, &o.model_size, &o.jieba_size };
    for (int i = 0; i < 4; i++) {
        const char *tensor = json_string_value(json_object_get(t, keys[i]));
        *data[i] = NULL;
        *size[i] = 0;
        if (name[i]) *name[i] = NULL;
        if (!tensor || (i == 3 && o.jieba)) continue;
        int rc = b4k_model_get_blob(m, tensor, data[i], size[i], err);
        if (rc) return rc;
        if (!*data[i]) *data[i] = ""; /* an empty blob is still given */
        if (name[i]) *name[i] = tensor;
    }
    return b4k_tok_load(out, &o, err);
}

void b4k_tok_free(b4k_tok *t)
{
    if (!t) return;
    switch (t->kind) {
    case B4K_TOK_WORDPIECE: b4k_wordpiece_free(t->impl); break;
    case B4K_TOK_BPE: b4k_bpe_free(t->impl); break;
    case B4K_TOK_SPM: /* issue 4 */
    case B4K_TOK_CPM: b4k_tok_spm_free(t->impl, t->kind == B4K_TOK_CPM); break;
    default: break;
    }
    free(t);
}

b4k_tok_kind b4k_tok_kind_of(const b4k_tok *t) { return t->kind; }

size_t b4k_tok_vocab_size(const b4k_tok *t)
{
    switch (t->kind) {
    case B4K_TOK_WORDPIECE: return b4k_wordpiece_size(t->impl);
    case B4K_TOK_BPE: return b4k_bpe_size(t->impl);
    case B4K_TOK_SPM: /* issue 4 */
    case B4K_TOK_CPM: return b4k_tok_spm_size(t->impl, t->kind == B4K_TOK_CPM);
    default: return 0;
    }
}

const char *b4k_tok_piece(const b4k_tok *t, int32_t id, size_t *len)
{
    switch (t->kind) {
    case B4K_TOK_WORDPIECE: return b4k_wordpiece_piece(t->impl, id, len);
    case B4K_TOK_BPE: return b4k_bpe_piece(t->impl, id, len);
    case B4K_TOK_SPM: /* issue 4 */
    case B4K_TOK_CPM: return b4k_tok_spm_piece(t->impl, t->kind == B4K_TOK_CPM, id, len);
    default: return NULL;
    }
}

int32_t b4k_tok_id(const b4k_tok *t, const char *piece, size_t len)
{
    switch (t->kind) {
    case B4K_TOK_WORDPIECE: return b4k_wordpiece_id(t->impl, piece, len);
    case B4K_TOK_BPE: return b4k_bpe_id(t->impl, piece, len);
    case B4K_TOK_SPM: /* issue 4 */
    case B4K_TOK_CPM: return b4k_tok_spm_id(t->impl, t->kind == B4K_TOK_CPM, piece, len);
    default: return -1;
    }
}

int b4k_tok_lower(const b4k_tok *t)
{
    return t->kind == B4K_TOK_WORDPIECE ? b4k_wordpiece_lower(t->impl) : 0;
}

static int32_t special(const b4k_tok *t, int which)
{
    switch (t->kind) {
    case B4K_TOK_WORDPIECE: return b4k_wordpiece_special(t->impl, which);
    case B4K_TOK_BPE: return which == 2 ? b4k_bpe_eos(t->impl) : -1;
    case B4K_TOK_SPM: /* issue 4 */
    case B4K_TOK_CPM: return b4k_tok_spm_special(t->impl, t->kind == B4K_TOK_CPM, which);
    default: return -1;
    }
}

int32_t b4k_tok_unk_id(const b4k_tok *t) { return special(t, 0); }
int32_t b4k_tok_cls_id(const b4k_tok *t) { return special(t, 1); }
int32_t b4k_tok_sep_id(const b4k_tok *t) { return special(t, 2); }
int32_t b4k_tok_pad_id(const b4k_tok *t) { return special(t, 3); }

void b4k_tok_out_init(b4k_tok_out *o) { memset(o, 0, sizeof *o); }

void b4k_tok_out_free(b4k_tok_out *o)
{
    if (!o) return;
    free(o->ids);
    free(o->offsets);
    free(o->segs);
    if (o->scratch_free) o->scratch_free(o->scratch);
    memset(o, 0, sizeof *o);
}

int b4k_tok_out_reserve(b4k_tok_out *o, size_t extra)
{
    size_t need = o->n + extra;
    if (need <= o->cap) return 0;
    size_t cap = o->cap ? o->cap : 64;
    while (cap < need) {
        if (cap > ((size_t)1 << 40)) return B4K_ENOMEM;
        cap *= 2;
    }
    int32_t *ids = b4k_realloc_n(o->ids, cap, sizeof *ids);
    if (!ids) return B4K_ENOMEM;
    o->ids = ids;
    int32_t *segs = b4k_realloc_n(o->segs, cap, sizeof *segs);
    if (!segs) return B4K_ENOMEM;
    o->segs = segs;
    int32_t *offs = b4k_realloc_n(o->offsets, cap, 2 * sizeof *offs);
    if (!offs) return B4K_ENOMEM;
    o->offsets = offs;
    o->cap = cap;
    return 0;
}

int b4k_tok_encode(const b4k_tok *t, const char *a, size_t a_len, const char *b, size_t b_len,
                   const b4k_tok_enc *enc, b4k_tok_out *out, b4k_err *err)
{
    switch (t->kind) {
    case B4K_TOK_WORDPIECE:
        return b4k_wordpiece_encode(t->impl, a, a_len, b, b_len, enc, out, err);
    case B4K_TOK_BPE:
        if (b)
            return b4k_err_set(err, B4K_EUNSUP, NULL, 0, "bpe does not encode sentence pairs");
        return b4k_bpe_encode(t->impl, a, a_len, enc, out, err);
    case B4K_TOK_SPM: /* issue 4 */
    case B4K_TOK_CPM:
        return b4k_tok_spm_encode(t->impl, t->kind == B4K_TOK_CPM, a, a_len, b, b_len, enc, out, err);
    default:
        return b4k_err_set(err, B4K_EUNSUP, NULL, 0, "tokenizer kind '%s' cannot encode",
                           b4k_tok_kind_name(t->kind));
    }
}

int b4k_tok_decode(const b4k_tok *t, const int32_t *ids, size_t n, int skip_special,
                   b4k_buf *out, b4k_err *err)
{
    switch (t->kind) {
    case B4K_TOK_WORDPIECE: return b4k_wordpiece_decode(t->impl, ids, n, skip_special, out, err);
    case B4K_TOK_BPE: return b4k_bpe_decode(t->impl, ids, n, skip_special, out, err);
    case B4K_TOK_SPM: /* issue 4 */
    case B4K_TOK_CPM: return b4k_tok_spm_decode(t->impl, t->kind == B4K_TOK_CPM, ids, n, out, err);
    default:
        return b4k_err_set(err, B4K_EUNSUP, NULL, 0, "tokenizer kind '%s' cannot decode",
                           b4k_tok_kind_name(t->kind));
    }
}

int b4k_tok_nbest(const b4k_tok *t, const char *a, size_t a_len, int nbest, b4k_tok_out *outs,
                  float *scores, int *got, b4k_err *err)
{
    *got = 0;
    if (t->kind != B4K_TOK_SPM && t->kind != B4K_TOK_CPM)
        return b4k_err_set(err, B4K_EUNSUP, NULL, 0, "n-best needs kind spm or cpm, not '%s'",
                           b4k_tok_kind_name(t->kind));
    return b4k_tok_spm_nbest(t->impl, t->kind == B4K_TOK_CPM, a, a_len, nbest, outs, scores, got,
                             err);
}
