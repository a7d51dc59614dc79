/* word2vec training driver: tables, Hogwild threads, checkpoints.  The
 * corpus encoding is in encode.c, the negative sampler in alias.c, the
 * Huffman tree in huffman.c, the dense math in update.c and kern*.c. */
#include "w2v/train.h"

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

#define EOS B4K_W2V_EOS
#define MAX_SENTENCE 1000
#define SYNC_WORDS 10000
#define STATE_HEAD 6
#define STATE_VERSION 3
#define STATE_PER_THREAD 14    /* version 3 */
#define STATE_PER_THREAD_V2 12 /* versions 1 and 2 */
/* ids per chunk of work that a thread takes at a time (fewer on small
 * corpora: at least 8 chunks per thread) */
#define CHUNK_IDS 65536

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

typedef struct tstate {
    b4k_rng rng;
    int64_t epoch, pos, word_count, last_word_count;
    int64_t region, j, end; /* the chunk in hand: region, number there, end id */
    float alpha;
    double loss;
    int64_t nloss;
    /* published at each sync point (for checkpoints) */
    pthread_mutex_t mu;
    int64_t pub[STATE_PER_THREAD_V2];
    /* scratch */
    uint32_t *sen;
    float **C, **T, *lab, *scratch;
    /* CBOW with shared negatives: the pending centres' contexts (CB[b],
     * mb[b] rows), words (wp) and output rows (P); the draw (wn, N) */
    float ***CB, **P, **N;
    int *mb;
    uint32_t *wp, *wn;
} tstate;

typedef struct trainer {
    const b4k_w2v_train_opts *o;
    const b4k_w2v_config *cfg;
    b4k_w2v *m;
    const uint32_t *ids;
    int64_t nids, train_words, total;
    int64_t done; /* atomic */
    float *keep;
    b4k_w2v_alias *alias;
    uint8_t *codes, *lens;
    int32_t *points;
    tstate **ts;
    int nthreads;
    /* The work (split_work): the ids are cut into one region per thread,
     * of equal expected work, and each region into chunks: region r holds
     * chunks [rlo[r], rlo[r+1]), chunk c ids [cb[c], cb[c+1]).  Region r's
     * chunk c of epoch e is its number j = e * len + c - rlo[r].  Thread r
     * takes region r's numbers from the front; when they are gone it takes
     * from the back of the region with the most left (if steal).  So the
     * threads train far-apart parts of the corpus, as with fixed ranges,
     * and none waits at the end for one that the host ran slower.  front
     * and back are under mu, as is every hand-over (take_chunk). */
    int64_t *cb, *rlo, *front, *back;
    int version, steal;
    pthread_mutex_t mu;
    int stop; /* atomic */
    int ck_rc;
    b4k_err ck_err;
    int ckpts;
    int64_t next_ck;
    double t0;
    b4k_w2v_train_stats *st;
} trainer;

static void publish(tstate *s)
{
    pthread_mutex_lock(&s->mu);
    s->pub[0] = s->epoch;
    s->pub[1] = s->pos;
    s->pub[2] = s->word_count;
    s->pub[3] = s->last_word_count;
    for (int i = 0; i < 4; i++)
        s->pub[4 + i] = (int64_t)s->rng.s[i];
    float a = s->alpha;
    int32_t ab;
    memcpy(&ab, &a, sizeof ab);
    s->pub[8] = ab;
    s->pub[9] = s->end;
    s->pub[10] = s->region;
    s->pub[11] = s->j;
    pthread_mutex_unlock(&s->mu);
}

static int64_t *state_pack(trainer *t, size_t *n)
{
    size_t per = t->version >= 3 ? STATE_PER_THREAD : STATE_PER_THREAD_V2;
    size_t k = STATE_HEAD + (size_t)t->nthreads * per;
    int64_t *st = b4k_calloc(k, sizeof *st);
    if (!st)
        return NULL;
    st[0] = t->version;
    st[1] = t->nthreads;
    st[2] = t->nids;
    st[3] = t->train_words;
    int64_t done = 0;
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < t->nthreads; i++) {
        tstate *s = t->ts[i];
        int64_t *p = st + STATE_HEAD + i * per;
        pthread_mutex_lock(&s->mu);
        memcpy(p, s->pub, sizeof s->pub);
        done += s->pub[3];
        pthread_mutex_unlock(&s->mu);
        if (per > STATE_PER_THREAD_V2) {
            p[12] = t->front[i];
            p[13] = t->back[i];
        }
    }
    pthread_mutex_unlock(&t->mu);
    st[4] = done;
    *n = k;
    return st;
}

static void sync_point(trainer *t, tstate *s, int tid)
{
    int64_t delta = s->word_count - s->last_word_count;
    s->last_word_count = s->word_count;
    int64_t done = __atomic_add_fetch(&t->done, delta, __ATOMIC_RELAXED);
    double a = t->cfg->alpha * (1.0 - (double)done / (double)(t->total + 1));
    if (a < t->cfg->alpha * 1e-4)
        a = t->cfg->alpha * 1e-4;
    s->alpha = (float)a;
    publish(s);
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
        int64_t *st = state_pack(t, &n);
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

/* Take the next chunk of work; 0 when there is none left.  The chunk and
 * the thread's position are published under t->mu, with front and back,
 * so a checkpoint (state_pack) sees every chunk in a thread's hands, done,
 * or still in a region, never in between. */
static int take_chunk(trainer *t, tstate *s, int tid)
{
    int r = tid;
    int64_t j = -1;
    pthread_mutex_lock(&t->mu);
    if (t->front[r] < t->back[r]) {
        j = t->front[r]++;
    } else if (t->steal) {
        int64_t most = 0;
        for (int q = 0; q < t->nthreads; q++)
            if (t->back[q] - t->front[q] > most) {
                most = t->back[q] - t->front[q];
                r = q;
            }
        if (most > 0)
            j = --t->back[r];
    }
    if (j >= 0) {
        int64_t len = t->rlo[r + 1] - t->rlo[r], c = t->rlo[r] + j % len;
        s->region = r;
        s->j = j;
        s->epoch = j / len;
        s->pos = t->cb[c];
        s->end = t->cb[c + 1];
        publish(s);
    }
    pthread_mutex_unlock(&t->mu);
    return j >= 0;
}

static void worker(void *ctx, int tid, int nt)
{
    trainer *t = ctx;
    tstate *s = t->ts[tid];
    (void)nt;
    const float *keep = t->keep;
    while (s->pos < s->end || take_chunk(t, s, tid)) {
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

/* Cut the ids into one region per thread and the regions into chunks
 * (see trainer).  Equal numbers of ids per region would leave one thread
 * with up to a tenth more to do, because sub-sampling drops a different
 * share of each; so regions hold equal expected numbers of kept words
 * (each id counted with its keep probability, plus a little for the draw
 * that drops it).  On one thread a region is one chunk, so that each epoch
 * is one plain pass over the ids.  version is the checkpoint's state
 * version, or 0 for a new run.  Versions 1 (equal id counts) and 2 were
 * made with one fixed range per thread: one chunk per region, no
 * stealing. */
static int split_work(trainer *t, int version)
{
    int nt = t->nthreads;
    int64_t n = t->nids, iter = t->cfg->iter;
    t->version = version ? version : STATE_VERSION;
    t->steal = t->version >= 3;
    int64_t *b = b4k_malloc_n((size_t)nt + 1, sizeof *b);
    t->rlo = b4k_malloc_n((size_t)nt + 1, sizeof *t->rlo);
    t->front = b4k_calloc((size_t)nt, sizeof *t->front);
    t->back = b4k_calloc((size_t)nt, sizeof *t->back);
    if (!b || !t->rlo || !t->front || !t->back) {
        b4k_free(b);
        return B4K_ENOMEM;
    }
    b[0] = 0;
    b[nt] = n;
    if (t->version == 1 || nt == 1 || !t->keep) {
        for (int i = 1; i < nt; i++)
            b[i] = n * i / nt;
    } else {
        double total = 0, acc = 0;
        for (int64_t p = 0; p < n; p++)
            if (t->ids[p] != EOS)
                total += 0.05 + t->keep[t->ids[p]];
        int i = 1;
        for (int64_t p = 0; p < n && i < nt; p++) {
            if (t->ids[p] != EOS)
                acc += 0.05 + t->keep[t->ids[p]];
            while (i < nt && acc >= total * i / nt)
                b[i++] = p + 1;
        }
        while (i < nt)
            b[i++] = n;
    }
    int64_t size[1024 + 1], k = 0; /* (threads <= 1024: check_cfg) */
    for (int r = 0; r < nt; r++) {
        int64_t L = b[r + 1] - b[r];
        size[r] = !t->steal || nt == 1 ? L : L / 8 > CHUNK_IDS ? CHUNK_IDS : L / 8;
        size[r] = size[r] < 1 ? 1 : size[r];
        t->rlo[r] = k;
        k += t->steal ? (L + size[r] - 1) / size[r] : 1;
    }
    t->rlo[nt] = k;
    if (!(t->cb = b4k_malloc_n((size_t)k + 1, sizeof *t->cb))) {
        b4k_free(b);
        return B4K_ENOMEM;
    }
    for (int r = 0; r < nt; r++) {
        for (int64_t c = t->rlo[r]; c < t->rlo[r + 1]; c++) {
            int64_t e = b[r] + (c - t->rlo[r]) * size[r];
            t->cb[c] = e < b[r + 1] ? e : b[r + 1];
        }
        t->back[r] = iter * (t->rlo[r + 1] - t->rlo[r]);
    }
    t->cb[k] = n;
    b4k_free(b);
    return 0;
}

/* A thread's place from a checkpoint's state p (which split_work's version
 * read): 0, or -1 if it does not fit the work of this run. */
static int restore_thread(trainer *t, tstate *s, int tid, const int64_t *p)
{
    int64_t iter = t->cfg->iter;
    s->epoch = p[0];
    s->pos = p[1];
    s->word_count = p[2];
    s->last_word_count = p[3];
    for (int q = 0; q < 4; q++)
        s->rng.s[q] = (uint64_t)p[4 + q];
    int32_t ab = (int32_t)p[8];
    memcpy(&s->alpha, &ab, sizeof ab);
    if (s->word_count < s->last_word_count || s->last_word_count < 0)
        return -1;
    if (!t->steal) {
        /* versions 1 and 2: thread tid trains range tid in each epoch,
         * epoch == iter when it is done */
        if (s->epoch < 0 || s->epoch > iter || s->pos < 0 || s->pos > t->cb[tid + 1])
            return -1;
        t->front[tid] = s->epoch < iter ? s->epoch + 1 : iter;
        s->region = s->epoch < iter ? tid : -1;
        s->j = s->epoch;
        s->end = s->epoch < iter ? t->cb[tid + 1] : 0;
        s->pos = s->epoch < iter ? (s->pos < t->cb[tid] ? t->cb[tid] : s->pos) : 0;
    } else {
        s->end = p[9];
        s->region = p[10];
        s->j = p[11];
        int64_t len = t->rlo[tid + 1] - t->rlo[tid];
        t->front[tid] = p[12];
        t->back[tid] = p[13];
        if (p[12] < 0 || p[12] > p[13] || p[13] > iter * len)
            return -1;
        if (s->region == -1) {
            if (s->pos != 0 || s->end != 0)
                return -1;
        } else {
            if (s->region < 0 || s->region >= t->nthreads)
                return -1;
            int r = (int)s->region;
            len = t->rlo[r + 1] - t->rlo[r];
            if (s->j < 0 || s->j >= iter * len)
                return -1;
            int64_t c = t->rlo[r] + s->j % len;
            if (s->end != t->cb[c + 1] || s->pos < t->cb[c] || s->pos > s->end)
                return -1;
            s->epoch = s->j / len;
        }
    }
    publish(s);
    return 0;
}

/* After restore_thread for all: no chunk in two places (two threads' hands,
 * or a thread's hands and its region's untaken numbers). */
static int restored_work_ok(const trainer *t)
{
    for (int i = 0; i < t->nthreads; i++) {
        const tstate *s = t->ts[i];
        if (s->region < 0)
            continue;
        if (s->j >= t->front[s->region] && s->j < t->back[s->region])
            return 0;
        for (int q = 0; q < i; q++)
            if (t->ts[q]->region == s->region && t->ts[q]->j == s->j)
                return 0;
    }
    return 1;
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
    publish(s);
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
    if (split_work(&t, state ? (int)state[0] : 0))
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
            if (restore_thread(&t, t.ts[i], i, state + STATE_HEAD + i * per)) {
                rc = b4k_err_set(err, B4K_EFORMAT, o->resume, 0,
                                 "bad checkpoint state (thread %d's position)", i);
                goto fail;
            }
        if (!restored_work_ok(&t) || state[4] < 0 || state[4] > t.total) {
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
