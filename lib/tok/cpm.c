/* The CPM tokenizer pipeline: jieba -> translate -> join -> SentencePiece,
 * with offsets carried back to the input text. */
#include "tok/cpm.h"

#include <string.h>

#include "core/alloc.h"

struct b4k_cpm {
    b4k_spm *spm;
    b4k_jieba *jb;
    int32_t nl_id;   /* id of "\u2583" */
    int mapped;      /* first-release vocabulary: "\u2583" is not a piece */
};

struct b4k_cpm_state {
    b4k_jieba_state *jst;
    b4k_spm_state *sst;
    b4k_jieba_words words;
    char *joined;
    uint32_t *jmap;  /* (joined_len + 1) joined byte -> text byte */
    size_t jlen, jcap, mcap;
    size_t first;    /* first token of the current call in out */
};

#define NL "\xE2\x96\x83"
#define SP "\xE2\x96\x82"

int b4k_cpm_new(b4k_cpm **out, b4k_spm *spm, b4k_jieba *jb, b4k_err *err)
{
    *out = NULL;
    b4k_cpm *c = b4k_calloc(1, sizeof *c);
    if (!c) {
        b4k_spm_free(spm);
        b4k_jieba_free(jb);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    c->spm = spm;
    c->jb = jb;
    c->nl_id = b4k_spm_piece_id(spm, NL, 3);
    if (c->nl_id < 0) {
        c->mapped = 1;
        c->nl_id = 3;
        if (b4k_spm_size(spm) <= 3) {
            b4k_cpm_free(c);
            return b4k_err_set(err, B4K_EFORMAT, NULL, 0,
                               "not a CPM vocabulary: no \"\u2583\" piece and fewer than 4 pieces");
        }
    }
    *out = c;
    return 0;
}

void b4k_cpm_free(b4k_cpm *c)
{
    if (!c) return;
    b4k_spm_free(c->spm);
    b4k_jieba_free(c->jb);
    b4k_free(c);
}

const b4k_spm *b4k_cpm_spm(const b4k_cpm *c) { return c->spm; }
const b4k_jieba *b4k_cpm_jieba(const b4k_cpm *c) { return c->jb; }
int b4k_cpm_newline_mapped(const b4k_cpm *c) { return c->mapped; }

b4k_cpm_state *b4k_cpm_state_new(void)
{
    b4k_cpm_state *st = b4k_calloc(1, sizeof *st);
    if (!st) return NULL;
    st->jst = b4k_jieba_state_new();
    st->sst = b4k_spm_state_new();
    b4k_jieba_words_init(&st->words);
    if (!st->jst || !st->sst) {
        b4k_cpm_state_free(st);
        return NULL;
    }
    return st;
}

void b4k_cpm_state_free(b4k_cpm_state *st)
{
    if (!st) return;
    b4k_jieba_state_free(st->jst);
    b4k_spm_state_free(st->sst);
    b4k_jieba_words_free(&st->words);
    b4k_free(st->joined);
    b4k_free(st->jmap);
    b4k_free(st);
}

int b4k_cpm_pretokenize(const b4k_cpm *c, b4k_cpm_state *st, const char *text, size_t n,
                        const char **joined, size_t *joined_len, b4k_err *err)
{
    int rc;
    st->words.n = 0;
    if ((rc = b4k_jieba_cut(c->jb, st->jst, text, n, 1, &st->words, err))) return rc;
    /* worst case: every byte becomes 3, plus a space per word */
    size_t need = 3 * n + st->words.n + 1;
    if (need > st->jcap && B4K_GROW(st->joined, st->jcap, need)) goto oom;
    if (need > st->mcap && B4K_GROW(st->jmap, st->mcap, need)) goto oom;
    char *o = st->joined;
    uint32_t *m = st->jmap;
    for (size_t w = 0; w < st->words.n; w++) {
        uint32_t b = st->words.beg[w], e = st->words.end[w];
        if (w) {
            *m++ = b;
            *o++ = ' ';
        }
        for (uint32_t i = b; i < e; i++) {
            if (text[i] == ' ' || text[i] == '\n') {
                memcpy(o, text[i] == ' ' ? SP : NL, 3);
                o += 3;
                m[0] = m[1] = m[2] = i;
                m += 3;
            } else {
                *o++ = text[i];
                *m++ = i;
            }
        }
    }
    *m = (uint32_t)n;
    st->jlen = (size_t)(o - st->joined);
    *o = 0;
    *joined = st->joined;
    *joined_len = st->jlen;
    return 0;
oom:
    return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
}

void b4k_cpm_finish(const b4k_cpm *c, const b4k_cpm_state *st, b4k_spm_tokens *out, size_t first)
{
    /* the unknown piece the encoder emits (trainer_spec.unk_id, checked on
     * load), not the id looked up by the unk_piece name */
    int32_t unk = b4k_spm_spec_id(c->spm, B4K_SPM_SPEC_UNK);
    for (size_t i = first; i < out->n; i++) {
        uint32_t b = out->beg[i], e = out->end[i];
        if (c->mapped && out->id[i] == unk && e - b == 3 && !memcmp(st->joined + b, NL, 3))
            out->id[i] = c->nl_id;
        out->beg[i] = st->jmap[b];
        out->end[i] = st->jmap[e];
    }
}

int b4k_cpm_encode(const b4k_cpm *c, b4k_cpm_state *st, const char *text, size_t n, int nbest,
                   double alpha, b4k_rng *rng, b4k_spm_tokens *out, b4k_err *err)
{
    const char *j;
    size_t jl;
    int rc;
    if ((rc = b4k_cpm_pretokenize(c, st, text, n, &j, &jl, err))) return rc;
    size_t first = out->n;
    rc = rng ? b4k_spm_sample(c->spm, st->sst, j, jl, nbest, alpha, rng, out, err)
             : b4k_spm_encode(c->spm, st->sst, j, jl, out, err);
    if (rc) return rc;
    b4k_cpm_finish(c, st, out, first);
    return 0;
}

/* spm decode, then drop ' ', U+2582 -> ' ', U+2583 -> '\n' */
int b4k_cpm_decode(const b4k_cpm *c, const int32_t *ids, size_t n, b4k_buf *out, b4k_err *err)
{
    b4k_buf tmp;
    int rc = 0;
    b4k_buf_init(&tmp);
    if (!c->mapped) {
        rc = b4k_spm_decode(c->spm, ids, n, &tmp, err);
    } else {
        /* id 3 stands for the piece "\u2583" (an unknown piece decodes to its
         * own text).  Decode the runs between them; whether a run's leading
         * "\u2581" is dropped does not matter, as every space goes below. */
        size_t s = 0;
        for (size_t i = 0; i <= n && !rc; i++) {
            if (i < n && ids[i] != c->nl_id) continue;
            if (i > s) rc = b4k_spm_decode(c->spm, ids + s, i - s, &tmp, err);
            if (!rc && i < n && b4k_buf_append(&tmp, NL, 3)) rc = B4K_ENOMEM;
            s = i + 1;
        }
        if (rc == B4K_ENOMEM) b4k_err_set(err, rc, NULL, 0, "out of memory");
    }
    if (rc) goto done;
    for (size_t i = 0; i < tmp.len;) {
        if (tmp.data[i] == ' ') {
            i++;
        } else if (i + 3 <= tmp.len && !memcmp(tmp.data + i, SP, 3)) {
            if (b4k_buf_putc(out, ' ')) goto oom;
            i += 3;
        } else if (i + 3 <= tmp.len && !memcmp(tmp.data + i, NL, 3)) {
            if (b4k_buf_putc(out, '\n')) goto oom;
            i += 3;
        } else {
            size_t k = i + 1;
            while (k < tmp.len && tmp.data[k] != ' ' && (unsigned char)tmp.data[k] != 0xE2) k++;
            if (b4k_buf_append(out, tmp.data + i, k - i)) goto oom;
            i = k;
        }
    }
    if (!out->data && b4k_buf_reserve(out, 1)) goto oom;
done:
    b4k_buf_free(&tmp);
    return rc;
oom:
    b4k_buf_free(&tmp);
    return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
}
