/* word2vec training driver: tables, Hogwild threads, checkpoints.  The
 * corpus encoding is in encode.c, the negative sampler in alias.c, the
 * Huffman tree in huffman.c, the dense math in update.c and kern*.c. */
#include "w2v/trainer.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "core/threads.h"
#include "w2v/alias.h"
#include "w2v/encode.h"
#include "w2v/kern.h"

#define MAX_SENTENCE 1000
#define SYNC_WORDS 10000

void b4k_w2v_train_defaults(b4k_w2v_train_opts *o, int model)
{
    memset(o, 0, sizeof *o);
    o->cfg.model = model;
    o->cfg.dim = 100;
    o->cfg.window = 5;
    o->cfg.negative = 5;
    o->cfg.hs = 0;
    o->cfg.iter = 5;
    o->cfg.min_count = 5;
    o->cfg.sample = 1e-3;
    o->cfg.alpha = model == B4K_W2V_CBOW ? 0.05 : 0.025;
    o->cfg.seed = 1;
    o->threads = 1;
    o->scan.jsonl = -1;
}

/* ---- training threads ---- */

static void sync_point(trainer *t, tstate *s, int tid)
{
    int64_t delta = s->word_count - s->last_word_count;
    s->last_word_count = s->word_count;
    int64_t done = __atomic_add_fetch(&t->done, delta, __ATOMIC_RELAXED);
    double a = t->cfg->alpha * (1.0 - (double)done / (double)(t->total + 1));
    if (a < t->cfg->alpha * 1e-4)
        a = t->cfg->alpha * 1e-4;
    s->alpha = (float)a;
    b4k_w2v_work_publish(s);
    if (tid != 0)
        return;
    if (t->o->progress) {
        b4k_w2v_progress p = {0};
        p.phase = 1;
        p.words_done = done;
        p.words_total = t->total;
        p.alpha = s->alpha;
        p.loss = s->nloss ? s->loss / (double)s->nloss : 0;
        p.epoch = (int)s->epoch;
        t->o->progress(t->o->progress_ctx, &p);
    }
    if (t->o->checkpoint && t->o->checkpoint_every > 0 && done >= t->next_ck &&
        done < t->total) {
        size_t n;
        int64_t *st = b4k_w2v_work_pack(t, &n);
        int rc = st ? b4k_w2v_ckpt_save(t->m, st, n, t->o->checkpoint, &t->ck_err)
                    : b4k_err_set(&t->ck_err, B4K_ENOMEM, NULL, 0, "out of memory");
        b4k_free(st);
        if (rc) {
            t->ck_rc = rc;
            __atomic_store_n(&t->stop, 1, __ATOMIC_RELAXED);
        }
        t->ckpts++;
        t->next_ck = (done / t->o->checkpoint_every + 1) * t->o->checkpoint_every;
    }
}

static int targets(const trainer *t, tstate *s, uint32_t w, int d)
{
    const b4k_w2v_config *c = t->cfg;
    int n = 0;
    if (c->hs) {
        const uint8_t *code = t->codes + (size_t)w * B4K_W2V_MAX_CODE;
        const int32_t *pt = t->points + (size_t)w * B4K_W2V_MAX_CODE;
        for (int k = 0; k < t->lens[w]; k++) {
            s->T[n] = t->m->hs + (size_t)pt[k] * d;
            s->lab[n] = 1.0f - (float)code[k];
            n++;
        }
    }
    if (c->negative > 0) {
        s->T[n] = t->m->out + (size_t)w * d;
        s->lab[n] = 1.0f;
        n++;
        uint32_t V = (uint32_t)t->m->n;
        for (int k = 0; k < c->negative; k++) {
            uint32_t r = b4k_w2v_alias_draw(t->alias, V, &s->rng);
            if (r == w)
                continue;
            s->T[n] = t->m->out + (size_t)r * d;
            s->lab[n] = 0.0f;
            n++;
        }
    }
    return n;
}

/* The input rows of centre i's context words into C: a window shrunk at
 * random (word2vec.c's b), clipped to the sentence.  Returns their number. */
static int window_rows(tstate *s, float *in, const uint32_t *sen, int L, int i, int win, int d,
                       float **C)
{
    int b = win > 1 ? (int)(((b4k_rng_u64(&s->rng) >> 32) * (uint64_t)win) >> 32) : 0;
    int span = win - b;
    int lo = i - span < 0 ? 0 : i - span, hi = i + span >= L ? L - 1 : i + span;
    int m = 0;
    for (int p = lo; p <= hi; p++)
        if (p != i)
            C[m++] = in + (size_t)sen[p] * d;
    return m;
}

/* CBOW with --share-negatives: the B pending centres, one draw of
 * negatives for all */
static void flush_shared(trainer *t, tstate *s, int B)
{
    const b4k_w2v_config *c = t->cfg;
    int d = c->dim;
    uint32_t V = (uint32_t)t->m->n;
    for (int j = 0; j < c->negative; j++) {
        s->wn[j] = b4k_w2v_alias_draw(t->alias, V, &s->rng);
        s->N[j] = t->m->out + (size_t)s->wn[j] * d;
    }
    for (int b = 0; b < B; b++)
        s->P[b] = t->m->out + (size_t)s->wp[b] * d;
    s->loss += b4k_w2v_update_cbow_shared(s->CB, s->mb, B, s->P, s->wp, s->N, s->wn, c->negative,
                                          d, s->alpha, s->scratch);
    s->nloss += (int64_t)B * (1 + c->negative);
}

static void train_sentence_shared(trainer *t, tstate *s, int L)
{
    const b4k_w2v_config *c = t->cfg;
    int d = c->dim, win = c->window, B = 0;
    float *in = t->m->in;
    const uint32_t *sen = s->sen;
    for (int i = 0; i < L; i++) {
        int m = window_rows(s, in, sen, L, i, win, d, s->CB[B]);
        if (!m)
            continue;
        s->mb[B] = m;
        s->wp[B] = sen[i];
        if (++B == c->share_negatives) {
            flush_shared(t, s, B);
            B = 0;
        }
    }
    if (B)
        flush_shared(t, s, B);
}

static void train_sentence(trainer *t, tstate *s, int L)
{
    const b4k_w2v_config *c = t->cfg;
    int d = c->dim, win = c->window;
    float *in = t->m->in;
    const uint32_t *sen = s->sen;
    if (c->share_negatives > 1) {
        train_sentence_shared(t, s, L);
        return;
    }
    for (int i = 0; i < L; i++) {
        int m = window_rows(s, in, sen, L, i, win, d, s->C);
        if (!m)
            continue;
        if (c->model == B4K_W2V_SKIPGRAM && c->per_pair) {
            /* word2vec.c's order: one context at a time, own negatives */
            for (int j = 0; j < m; j++) {
                int n = targets(t, s, sen[i], d);
                s->loss += b4k_w2v_update(s->C + j, 1, s->T, s->lab, n, d, s->alpha, s->scratch);
                s->nloss += n;
            }
            continue;
        }
        int n = targets(t, s, sen[i], d);
        if (!n)
            continue;
        if (c->model == B4K_W2V_CBOW) {
            s->loss += b4k_w2v_update_cbow(s->C, m, s->T, s->lab, n, d, s->alpha, s->scratch);
            s->nloss += n;
        } else {
            s->loss += b4k_w2v_update(s->C, m, s->T, s->lab, n, d, s->alpha, s->scratch);
            s->nloss += (int64_t)n * m;
        }
    }
}

static void worker(void *ctx, int tid, int nt)
{
    trainer *t = ctx;
    tstate *s = t->ts[tid];
    (void)nt;
    const float *keep = t->keep;
    while (s->pos < s->end || b4k_w2v_work_take(t, s, tid)) {
        int64_t e = s->end;
        while (s->pos < e) {
            if (s->word_count - s->last_word_count >= SYNC_WORDS) {
                sync_point(t, s, tid);
                if (__atomic_load_n(&t->stop, __ATOMIC_RELAXED))
                    return;
            }
            int L = 0;
            while (s->pos < e && L < MAX_SENTENCE) {
                uint32_t id = t->ids[s->pos++];
                if (id == EOS) {
                    if (L)
                        break;
                    continue;
                }
                s->word_count++;
                if (keep && keep[id] < 1.0f && keep[id] < b4k_rng_float(&s->rng))
                    continue;
                s->sen[L++] = id;
            }
            train_sentence(t, s, L);
        }
    }
    sync_point(t, s, tid);
}

static void tstate_free(tstate *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    b4k_free(s->sen);
    b4k_free(s->C);
    b4k_free(s->T);
    b4k_free(s->lab);
    b4k_free(s->scratch);
    if (s->CB)
        for (int b = 0; b < B4K_W2V_MAX_SHARE; b++)
            b4k_free(s->CB[b]);
    b4k_free(s->CB);
    b4k_free(s->P);
    b4k_free(s->N);
    b4k_free(s->mb);
    b4k_free(s->wp);
    b4k_free(s->wn);
    b4k_free(s);
}

/* n bytes on 64-byte lines that no other block shares */
static void *private_lines(size_t n)
{
    return b4k_aligned_alloc(64, (n + 63) & ~(size_t)63);
}

static tstate *tstate_new(const b4k_w2v_config *c, uint64_t seed, int tid)
{
    tstate *s = private_lines(sizeof(tstate));
    if (!s)
        return NULL;
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    b4k_rng_seed(&s->rng, seed, (uint64_t)tid);
    s->region = -1;
    s->alpha = (float)c->alpha;
    size_t mmax = 2 * (size_t)c->window, nmax = 1 + (size_t)c->negative + B4K_W2V_MAX_CODE;
    /* every thread's scratch on cache lines of its own (small blocks from
     * malloc sit side by side, and these are written for every word) */
    s->sen = private_lines(MAX_SENTENCE * sizeof *s->sen);
    s->C = private_lines(mmax * sizeof *s->C);
    s->T = private_lines(nmax * sizeof *s->T);
    s->lab = private_lines(nmax * sizeof *s->lab);
    size_t B = c->share_negatives > 1 ? (size_t)c->share_negatives : 1;
    s->scratch = private_lines((mmax * c->dim + 2 * mmax * nmax + 2 * (size_t)c->dim +
                                2 * nmax + 16 + B * (2 * (size_t)c->dim + nmax)) * sizeof(float));
    if (!s->sen || !s->C || !s->T || !s->lab || !s->scratch) {
        tstate_free(s);
        return NULL;
    }
    if (B > 1) {
        s->CB = b4k_calloc(B4K_W2V_MAX_SHARE, sizeof *s->CB);
        s->P = private_lines(B * sizeof *s->P);
        s->N = private_lines(nmax * sizeof *s->N);
        s->mb = private_lines(B * sizeof *s->mb);
        s->wp = private_lines(B * sizeof *s->wp);
        s->wn = private_lines(nmax * sizeof *s->wn);
        int ok = s->CB && s->P && s->N && s->mb && s->wp && s->wn;
        for (size_t b = 0; ok && b < B; b++)
            ok = (s->CB[b] = private_lines(mmax * sizeof **s->CB)) != NULL;
        if (!ok) {
            tstate_free(s);
            return NULL;
        }
    }
    b4k_w2v_work_publish(s);
    return s;
}

static int check_cfg(const b4k_w2v_config *c, int threads, b4k_err *err)
{
    if (c->model != B4K_W2V_SKIPGRAM && c->model != B4K_W2V_CBOW)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "unknown model %d", c->model);
    if (c->dim < 1 || c->dim > 10000)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "--dim must be in 1..10000");
    if (c->window < 1 || c->window > 1000)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "--window must be in 1..1000");
    if (c->negative < 0 || c->negative > 1000)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "--negative must be in 0..1000");
    if (c->negative == 0 && !c->hs)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0,
                           "nothing to train: --negative 0 needs --hs");
    if (c->share_negatives < 0 || c->share_negatives > B4K_W2V_MAX_SHARE)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "--share-negatives must be in 1..%d (got %d)",
                           B4K_W2V_MAX_SHARE, c->share_negatives);
    if (c->share_negatives > 1 && (c->model != B4K_W2V_CBOW || c->hs || c->negative == 0))
        return b4k_err_set(err, B4K_EINVAL, NULL, 0,
                           "--share-negatives is for CBOW with negative sampling (no --hs)");
    if (c->iter < 1)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "--iter must be >= 1");
    if (threads < 1 || threads > 1024)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "--threads must be in 1..1024");
    return 0;
}

int b4k_w2v_train(b4k_w2v **out, const char *const *paths, int npaths,
                  const b4k_w2v_train_opts *o, b4k_w2v_train_stats *st, b4k_err *err)
{
    trainer t;
    b4k_w2v *m = NULL;
    b4k_w2v_vocab *v = NULL;
    uint32_t *ids = NULL;
    size_t map_bytes = 0;
    int64_t *state = NULL;
    size_t nstate = 0;
    b4k_pool *pool = NULL;
    b4k_w2v_scan_stats sst;
    int rc;
    memset(&t, 0, sizeof t);
    pthread_mutex_init(&t.mu, NULL);
    memset(&sst, 0, sizeof sst);
    memset(st, 0, sizeof *st);
    *out = NULL;
    int nthreads = o->threads;
    double t0 = 0;
    {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        t0 = (double)ts.tv_sec + ts.tv_nsec * 1e-9;
    }
    if (o->resume) {
        rc = b4k_w2v_ckpt_load(&m, &state, &nstate, o->resume, err);
        if (rc)
            goto fail;
        if (nstate < STATE_HEAD || state[0] < 1 || state[0] > STATE_VERSION || state[1] < 1 ||
            state[1] > 1024 ||
            nstate != STATE_HEAD + (size_t)state[1] * (state[0] >= 3 ? STATE_PER_THREAD
                                                                      : STATE_PER_THREAD_V2)) {
            rc = b4k_err_set(err, B4K_EFORMAT, o->resume, 0, "bad checkpoint state");
            goto fail;
        }
        nthreads = (int)state[1];
        if (!m->out && m->cfg.negative > 0) {
            rc = b4k_err_set(err, B4K_EFORMAT, o->resume, 0, "checkpoint lacks output vectors");
            goto fail;
        }
        if (!m->hs && m->cfg.hs) {
            rc = b4k_err_set(err, B4K_EFORMAT, o->resume, 0, "checkpoint lacks HS vectors");
            goto fail;
        }
        v = m->vocab;
    } else {
        v = b4k_w2v_vocab_new();
        if (!v) {
            rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
            goto fail;
        }
    }
    const b4k_w2v_config *cfg = m ? &m->cfg : &o->cfg;
    rc = check_cfg(cfg, nthreads, err);
    if (rc)
        goto fail;
    b4k_w2v_train_opts eo = *o;
    eo.cfg = *cfg;
    if (m)
        eo.scan.chars = m->cfg.chars;
    int64_t nids = 0, train_words = 0;
    rc = b4k_w2v_encode(paths, npaths, &eo, v, m != NULL, &ids, &map_bytes, &nids, &train_words, &sst,
                err);
    if (rc)
        goto fail;
    st->lines = sst.lines;
    st->tokens = sst.tokens;
    st->truncated = sst.truncated;
    st->train_words = train_words;
    if (train_words == 0) {
        rc = b4k_err_set(err, B4K_EFORMAT, paths[0], 0, "no in-vocabulary words in the corpus");
        goto fail;
    }
    if (m) {
        if (state[2] != nids || state[3] != train_words) {
            rc = b4k_err_set(err, B4K_EINVAL, o->resume, 0,
                             "the corpus differs from the one the checkpoint was made on "
                             "(%lld words now, %lld then)",
                             (long long)train_words, (long long)state[3]);
            goto fail;
        }
    } else {
        rc = b4k_w2v_new(&m, v, o->cfg.dim, err);
        v = NULL;
        if (rc)
            goto fail;
        m->cfg = o->cfg;
        m->cfg.chars = o->scan.chars;
        m->has_counts = 1;
        size_t nel = m->n * (size_t)m->dim;
        b4k_rng r;
        b4k_rng_seed(&r, o->cfg.seed, 0xC0FFEEull << 20);
        for (size_t i = 0; i < nel; i++)
            m->in[i] = (b4k_rng_float(&r) - 0.5f) / (float)m->dim;
        if (o->cfg.negative > 0 && !(m->out = b4k_alloc_huge(nel * sizeof(float))))
            goto nomem;
        if (o->cfg.hs && !(m->hs = b4k_alloc_huge(nel * sizeof(float))))
            goto nomem;
        if (m->out)
            memset(m->out, 0, nel * sizeof(float));
        if (m->hs)
            memset(m->hs, 0, nel * sizeof(float));
    }
    m->cfg.train_words = train_words;
    st->vocab = m->n;
    {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        st->seconds_vocab = (double)ts.tv_sec + ts.tv_nsec * 1e-9 - t0;
        t0 += st->seconds_vocab;
    }

    /* tables */
    t.o = o;
    t.cfg = &m->cfg;
    t.m = m;
    t.ids = ids;
    t.nids = nids;
    t.train_words = train_words;
    t.total = (int64_t)m->cfg.iter * train_words;
    t.nthreads = nthreads;
    t.st = st;
    if (m->cfg.sample > 0) {
        t.keep = b4k_malloc_n(m->n, sizeof *t.keep);
        if (!t.keep)
            goto nomem;
        double th = m->cfg.sample * (double)train_words;
        for (size_t i = 0; i < m->n; i++) {
            double cn = (double)b4k_w2v_vocab_count(m->vocab, i);
            double k = cn > 0 ? (sqrt(cn / th) + 1.0) * th / cn : 1.0;
            t.keep[i] = k >= 1.0 ? 1.0f : (float)k;
        }
    }
    if (b4k_w2v_work_split(&t, state ? (int)state[0] : 0))
        goto nomem;
    if (m->cfg.negative > 0 && !(t.alias = b4k_w2v_alias_build(m->vocab, m->n)))
        goto nomem;
    if (m->cfg.hs) {
        t.codes = b4k_malloc_n(m->n, B4K_W2V_MAX_CODE);
        t.points = b4k_malloc_n(m->n * B4K_W2V_MAX_CODE, sizeof *t.points);
        t.lens = b4k_malloc_n(m->n, 1);
        if (!t.codes || !t.points || !t.lens)
            goto nomem;
        int64_t *cnt = b4k_malloc_n(m->n, sizeof *cnt);
        if (!cnt)
            goto nomem;
        for (size_t i = 0; i < m->n; i++)
            cnt[i] = b4k_w2v_vocab_count(m->vocab, i);
        rc = b4k_w2v_huffman(cnt, m->n, t.codes, t.points, t.lens, err);
        b4k_free(cnt);
        if (rc)
            goto fail;
    }
    t.ts = b4k_calloc((size_t)nthreads, sizeof *t.ts);
    if (!t.ts)
        goto nomem;
    for (int i = 0; i < nthreads; i++)
        if (!(t.ts[i] = tstate_new(&m->cfg, m->cfg.seed, i)))
            goto nomem;
    if (state) {
        size_t per = state[0] >= 3 ? STATE_PER_THREAD : STATE_PER_THREAD_V2;
        for (int i = 0; i < nthreads; i++)
            if (b4k_w2v_work_restore(&t, t.ts[i], i, state + STATE_HEAD + i * per)) {
                rc = b4k_err_set(err, B4K_EFORMAT, o->resume, 0,
                                 "bad checkpoint state (thread %d's position)", i);
                goto fail;
            }
        if (!b4k_w2v_work_restored_ok(&t) || state[4] < 0 || state[4] > t.total) {
            rc = b4k_err_set(err, B4K_EFORMAT, o->resume, 0, "bad checkpoint state");
            goto fail;
        }
        t.done = state[4];
    }
    if (o->checkpoint_every > 0)
        t.next_ck = (t.done / o->checkpoint_every + 1) * o->checkpoint_every;
    if (nthreads > 1 && !(pool = b4k_pool_new(nthreads)))
        goto nomem;
    b4k_pool_run(pool, worker, &t);
    if (t.ck_rc) {
        *err = t.ck_err;
        rc = t.ck_rc;
        goto fail;
    }
    {
        double loss = 0;
        int64_t nl = 0;
        for (int i = 0; i < nthreads; i++) {
            loss += t.ts[i]->loss;
            nl += t.ts[i]->nloss;
        }
        st->loss = nl ? loss / (double)nl : 0;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        st->seconds_train = (double)ts.tv_sec + ts.tv_nsec * 1e-9 - t0;
    }
    st->kernel = b4k_w2v_kern_best()->name;
    st->checkpoints = t.ckpts;
    st->words_done = t.done;
    st->threads = nthreads;
    rc = 0;
    *out = m;
    m = NULL;
    goto done;
nomem:
    rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
fail:
done:
    b4k_pool_free(pool);
    if (t.ts)
        for (int i = 0; i < nthreads; i++)
            tstate_free(t.ts[i]);
    b4k_free(t.ts);
    b4k_free(t.keep);
    b4k_free(t.cb);
    b4k_free(t.rlo);
    b4k_free(t.front);
    b4k_free(t.back);
    pthread_mutex_destroy(&t.mu);
    b4k_free(t.alias);
    b4k_free(t.codes);
    b4k_free(t.points);
    b4k_free(t.lens);
    b4k_free(state);
    if (ids)
        munmap(ids, map_bytes);
    if (m)
        b4k_w2v_free(m);
    else if (!o->resume)
        b4k_w2v_vocab_free(v); /* when resuming, v belongs to the model */
    return rc;
}
