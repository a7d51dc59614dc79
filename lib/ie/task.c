/* Documents -> examples -> batches; see task.h. */
#include "ie/task.h"

#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "io/atomic.h"
#include "io/jsonl.h"

void b4k_ie_exset_free(b4k_ie_exset *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->ex[i].ids);
        free(s->ex[i].offs);
        free(s->ex[i].tt);
        free(s->ex[i].tags);
    }
    free(s->ex);
    memset(s, 0, sizeof *s);
}

int b4k_ie_align(const int32_t *offs, int n, int32_t c0, int32_t c1, int *t0, int *t1)
{
    *t0 = *t1 = -1;
    if (c0 < 0 || c1 <= c0) return -1;
    for (int i = 0; i < n; i++) {
        int32_t a = offs[2 * i], b = offs[2 * i + 1];
        if (b <= a) continue; /* special token */
        if (b > c0 && a < c1) {
            if (*t0 < 0) *t0 = i;
            *t1 = i;
        }
    }
    return *t0 < 0 ? -1 : 0;
}

int b4k_ie_featurize(b4k_ie_exset *s, b4k_err *err, const b4k_wordpiece *wp,
                     const b4k_ie_data *d, int task, int max_len)
{
    b4k_tok_out out;
    b4k_tok_out_init(&out);
    b4k_tok_enc enc, tail;
    b4k_tok_enc_init(&enc);
    enc.max_len = max_len;
    b4k_tok_enc_init(&tail);
    tail.add_special = 0;
    tail.max_len = 1; /* one token is enough to tell */
    b4k_tok_out out2;
    b4k_tok_out_init(&out2);
    int rc = 0;
    for (size_t i = 0; i < d->n; i++) {
        const b4k_ie_doc *doc = &d->doc[i];
        if ((rc = b4k_wordpiece_encode(wp, doc->text, doc->len, NULL, 0, &enc, &out, err))) {
            b4k_err_locate(err, doc->src, doc->line);
            goto out;
        }
        if (B4K_GROW(s->ex, s->cap, s->n + 1)) goto nomem;
        b4k_ie_ex *e = &s->ex[s->n];
        memset(e, 0, sizeof *e);
        int n = (int)out.n;
        e->n = n;
        e->doc = (int)i;
        e->ids = b4k_malloc_n((size_t)n, sizeof *e->ids);
        e->offs = b4k_malloc_n((size_t)n * 2, sizeof *e->offs);
        if (!e->ids || !e->offs) {
            free(e->ids);
            free(e->offs);
            goto nomem;
        }
        s->n++;
        memcpy(e->ids, out.ids, (size_t)n * sizeof *e->ids);
        memcpy(e->offs, out.offsets, (size_t)n * 2 * sizeof *e->offs);
        /* truncated: the last real token ends before the text does, and
         * what follows makes tokens (not only spaces or control chars) */
        int32_t last_end = 0;
        for (int k = 0; k < n; k++)
            if (e->offs[2 * k + 1] > last_end) last_end = e->offs[2 * k + 1];
        if (n >= max_len && last_end < doc->ncp) {
            size_t b0 = b4k_ie_cp_to_byte(doc->text, doc->len, last_end);
            if ((rc = b4k_wordpiece_encode(wp, doc->text + b0, doc->len - b0, NULL, 0, &tail, &out2, err))) {
                b4k_err_locate(err, doc->src, doc->line);
                goto out;
            }
            if (out2.n > 0)
                b4k_ie_note_add(&s->truncated, doc->src, doc->line,
                                "text cut at %d tokens: %d of %d characters kept", max_len, last_end,
                                doc->ncp);
        }
        if (task == B4K_IE_SPO) {
            e->tt = b4k_malloc_n((size_t)(doc->ntrip ? doc->ntrip : 1) * 5, sizeof *e->tt);
            if (!e->tt) goto nomem;
            for (int k = 0; k < doc->ntrip; k++) {
                const b4k_ie_triple *t = &doc->trip[k];
                int a0, a1, b0, b1;
                if (t->s0 < 0 || t->o0 < 0) continue; /* noted by the reader */
                if (b4k_ie_align(e->offs, n, t->s0, t->s1, &a0, &a1) ||
                    b4k_ie_align(e->offs, n, t->o0, t->o1, &b0, &b1)) {
                    b4k_ie_note_add(&s->dropped, doc->src, doc->line,
                                    "triple with subject \"%.40s\" and object \"%.40s\" %s (dropped)",
                                    t->subj, t->obj, t->s1 > last_end || t->o1 > last_end ? "lies past the cut"
                                                                                 : "cannot be aligned to tokens");
                    continue;
                }
                int32_t *q = e->tt + 5 * e->ntt;
                int dup = 0;
                for (int j = 0; j < e->ntt; j++) {
                    int32_t *r = e->tt + 5 * j;
                    if (r[0] == a0 && r[1] == a1 && r[2] == t->pred && r[3] == b0 && r[4] == b1) dup = 1;
                }
                if (dup) continue;
                q[0] = a0, q[1] = a1, q[2] = t->pred, q[3] = b0, q[4] = b1;
                e->ntt++;
            }
        } else {
            e->tags = b4k_calloc((size_t)n, sizeof *e->tags);
            if (!e->tags) goto nomem;
            for (int k = 0; k < doc->nent; k++) {
                const b4k_ie_span *sp = &doc->ent[k];
                int a0, a1;
                if (b4k_ie_align(e->offs, n, sp->start, sp->end, &a0, &a1)) {
                    b4k_ie_note_add(&s->dropped, doc->src, doc->line,
                                    "entity [%d, %d) %s (dropped)", sp->start, sp->end,
                                    sp->end > last_end ? "lies past the cut" : "cannot be aligned to tokens");
                    continue;
                }
                e->tags[a0] = 2 * sp->type + 1;
                for (int j = a0 + 1; j <= a1; j++) e->tags[j] = 2 * sp->type + 2;
            }
        }
    }
    goto out;
nomem:
    rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
out:
    b4k_tok_out_free(&out);
    b4k_tok_out_free(&out2);
    return rc;
}

/* ---- batches -------------------------------------------------------------- */

void b4k_ie_batches_free(b4k_ie_batches *bt)
{
    if (!bt) return;
    free(bt->idx);
    free(bt->start);
    memset(bt, 0, sizeof *bt);
}

static void shuffle_i32(int32_t *v, size_t n, b4k_rng *rng)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = b4k_rng_below(rng, i);
        int32_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

static int by_len(const void *a, const void *b, void *ctx)
{
    const b4k_ie_exset *s = ctx;
    int la = s->ex[*(const int32_t *)a].n, lb = s->ex[*(const int32_t *)b].n;
    if (la != lb) return la < lb ? -1 : 1;
    return *(const int32_t *)a < *(const int32_t *)b ? -1 : 1;
}

int b4k_ie_batches_make(b4k_ie_batches *bt, b4k_err *err, const b4k_ie_exset *s,
                        const int32_t *use, size_t nuse, int batch, int bucket, b4k_rng *rng)
{
    memset(bt, 0, sizeof *bt);
    if (batch <= 0 || nuse == 0) return b4k_err_set(err, B4K_EINVAL, NULL, 0, "no training examples");
    size_t nb = (nuse + batch - 1) / batch;
    bt->idx = b4k_malloc_n(nuse, sizeof *bt->idx);
    bt->start = b4k_malloc_n(nb + 1, sizeof *bt->start);
    int32_t *order = b4k_malloc_n(nb, sizeof *order);
    int32_t *tmp = b4k_malloc_n(nuse, sizeof *tmp);
    if (!bt->idx || !bt->start || !order || !tmp) {
        free(order);
        free(tmp);
        b4k_ie_batches_free(bt);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    memcpy(tmp, use, nuse * sizeof *tmp);
    if (rng) shuffle_i32(tmp, nuse, rng);
    if (bucket) {
        size_t chunk = (size_t)batch * 32;
        for (size_t c = 0; c < nuse; c += chunk)
            qsort_r(tmp + c, nuse - c < chunk ? nuse - c : chunk, sizeof *tmp, by_len, (void *)s);
    }
    for (size_t b = 0; b < nb; b++) order[b] = (int32_t)b;
    if (rng && bucket) shuffle_i32(order, nb, rng);
    size_t k = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t lo = (size_t)order[b] * batch, hi = lo + batch < nuse ? lo + batch : nuse;
        bt->start[b] = k;
        for (size_t i = lo; i < hi; i++) bt->idx[k++] = tmp[i];
    }
    bt->start[nb] = k;
    bt->nb = nb;
    free(order);
    free(tmp);
    return 0;
}

void b4k_ie_batch_free(b4k_ie_batch *b)
{
    if (!b) return;
    free(b->ids);
    free(b->segs);
    free(b->lens);
    free(b->subj);
    free(b->tags);
    free(b->subj_lab);
    free(b->obj_lab);
    memset(b, 0, sizeof *b);
}

int b4k_ie_batch_fill(b4k_ie_batch *b, b4k_err *err, const b4k_ie_exset *s, const int32_t *idx,
                      int B, int task, int npred, int32_t pad_id, b4k_rng *rng)
{
    int T = 1;
    for (int i = 0; i < B; i++)
        if (s->ex[idx[i]].n > T) T = s->ex[idx[i]].n;
    size_t N = (size_t)B * T, nlab = task == B4K_IE_SPO ? N * 2 * (size_t)npred : 0;
    if (N > b->cap_n) {
        free(b->ids), free(b->segs), free(b->tags), free(b->subj_lab);
        b->ids = b4k_malloc_n(N, sizeof *b->ids);
        b->segs = b4k_calloc(N, sizeof *b->segs);
        b->tags = b4k_malloc_n(N, sizeof *b->tags);
        b->subj_lab = b4k_malloc_n(N * 2, sizeof *b->subj_lab);
        b->cap_n = N;
    }
    if ((size_t)B > b->cap_b) {
        free(b->lens), free(b->subj);
        b->lens = b4k_malloc_n((size_t)B, sizeof *b->lens);
        b->subj = b4k_malloc_n((size_t)B * 2, sizeof *b->subj);
        b->cap_b = (size_t)B;
    }
    if (nlab > b->cap_lab) {
        free(b->obj_lab);
        b->obj_lab = b4k_malloc_n(nlab, sizeof *b->obj_lab);
        b->cap_lab = nlab;
    }
    if (!b->ids || !b->segs || !b->tags || !b->subj_lab || !b->lens || !b->subj ||
        (nlab && !b->obj_lab)) {
        b4k_ie_batch_free(b);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    }
    b->B = B;
    b->T = T;
    memset(b->tags, 0, N * sizeof *b->tags);
    memset(b->subj_lab, 0, N * 2 * sizeof *b->subj_lab);
    if (nlab) memset(b->obj_lab, 0, nlab * sizeof *b->obj_lab);
    for (int i = 0; i < B; i++) {
        const b4k_ie_ex *e = &s->ex[idx[i]];
        b->lens[i] = e->n;
        for (int t = 0; t < T; t++) b->ids[(size_t)i * T + t] = t < e->n ? e->ids[t] : pad_id;
        if (task != B4K_IE_SPO) {
            if (task == B4K_IE_NER && e->tags)
                memcpy(b->tags + (size_t)i * T, e->tags, (size_t)e->n * sizeof *b->tags);
            continue;
        }
        b->subj[2 * i] = b->subj[2 * i + 1] = 0;
        if (e->ntt == 0) continue;
        for (int k = 0; k < e->ntt; k++) {
            const int32_t *q = e->tt + 5 * k;
            b->subj_lab[((size_t)i * T + q[0]) * 2] = 1.f;
            b->subj_lab[((size_t)i * T + q[1]) * 2 + 1] = 1.f;
        }
        /* sample a subject as bert4keras: a random start, then a random end
         * among the subject ends at or after it */
        int k = rng ? (int)b4k_rng_below(rng, (uint64_t)e->ntt) : 0;
        int32_t st = e->tt[5 * k], cand[64], nc = 0;
        for (int j = 0; j < e->ntt && nc < 64; j++)
            if (e->tt[5 * j] == st || e->tt[5 * j + 1] >= st) {
                int32_t en = e->tt[5 * j + 1];
                if (en < st) continue;
                int dup = 0;
                for (int q = 0; q < nc; q++) dup |= cand[q] == en;
                if (!dup) cand[nc++] = en;
            }
        int32_t en = nc ? cand[rng ? b4k_rng_below(rng, (uint64_t)nc) : 0] : e->tt[5 * k + 1];
        b->subj[2 * i] = st;
        b->subj[2 * i + 1] = en;
        for (int j = 0; j < e->ntt; j++) {
            const int32_t *q = e->tt + 5 * j;
            if (q[0] != st || q[1] != en) continue;
            size_t base = ((size_t)i * T) * 2 * npred;
            b->obj_lab[base + ((size_t)q[3] * npred + q[2]) * 2] = 1.f;
            b->obj_lab[base + ((size_t)q[4] * npred + q[2]) * 2 + 1] = 1.f;
        }
    }
    return 0;
}

/* one JSON line per example: split, ids, offsets, token triples or tags,
 * text and gold strings (test/ref/bert_extract_ref.py trains on these) */
int b4k_ie_dump_features(const char *path, b4k_err *err, const b4k_ie_exset *ex, const b4k_ie_data *d,
                         const b4k_ie_names *names, const int32_t *use, size_t nuse,
                         const int32_t *hold, size_t nhold)
{
    b4k_afile *af; /* atomic: a failed run leaves no half-written file */
    int rc = b4k_afile_open(&af, path, err);
    if (rc) return rc;
    FILE *f = b4k_afile_fp(af);
    b4k_buf b = {0};
    b4k_buf_puts(&b, "{\"schema\":[");
    for (int i = 0; i < names->n; i++) {
        if (i) b4k_buf_putc(&b, ',');
        b4k_buf_put_json_str(&b, names->v[i], strlen(names->v[i]));
    }
    b4k_buf_puts(&b, "]}\n");
    for (int part = 0; part < 2; part++) {
        const int32_t *ix = part ? hold : use;
        size_t n = part ? nhold : nuse;
        for (size_t i = 0; i < n; i++) {
            const b4k_ie_ex *e = &ex->ex[ix[i]];
            const b4k_ie_doc *doc = &d->doc[e->doc];
            b4k_buf_printf(&b, "{\"split\":\"%s\",\"ids\":", part ? "heldout" : "train");
            b4k_jsonl_put_ints(&b, e->ids, (size_t)e->n);
            b4k_buf_puts(&b, ",\"offsets\":");
            b4k_jsonl_put_ints(&b, e->offs, (size_t)e->n * 2);
            if (e->tt) {
                b4k_buf_puts(&b, ",\"triples\":");
                b4k_jsonl_put_ints(&b, e->tt, (size_t)e->ntt * 5);
                b4k_buf_puts(&b, ",\"gold\":[");
                for (int k = 0; k < doc->ntrip; k++) {
                    const b4k_ie_triple *t = &doc->trip[k];
                    if (k) b4k_buf_putc(&b, ',');
                    b4k_buf_putc(&b, '[');
                    b4k_buf_put_json_str(&b, t->subj, strlen(t->subj));
                    b4k_buf_printf(&b, ",%d,", t->pred);
                    b4k_buf_put_json_str(&b, t->obj, strlen(t->obj));
                    b4k_buf_putc(&b, ']');
                }
                b4k_buf_putc(&b, ']');
            }
            if (e->tags) {
                b4k_buf_puts(&b, ",\"tags\":");
                b4k_jsonl_put_ints(&b, e->tags, (size_t)e->n);
                b4k_buf_puts(&b, ",\"gold\":[");
                for (int k = 0; k < doc->nent; k++)
                    b4k_buf_printf(&b, "%s[%d,%d,%d]", k ? "," : "", doc->ent[k].start, doc->ent[k].end,
                                   doc->ent[k].type);
                b4k_buf_putc(&b, ']');
            }
            b4k_buf_puts(&b, ",\"text\":");
            b4k_buf_put_json_str(&b, doc->text, doc->len);
            b4k_buf_puts(&b, "}\n");
            fwrite(b.data, 1, b.len, f);
            b.len = 0;
        }
    }
    b4k_buf_free(&b);
    return b4k_afile_commit(af, err); /* checks every write */
}

