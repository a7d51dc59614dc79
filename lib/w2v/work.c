/* The work of the training threads: the ids cut into regions and chunks,
 * chunks handed out (with stealing at the end), and the threads' places
 * packed into and restored from checkpoints.  See trainer.h. */
#include "w2v/trainer.h"

#include <string.h>

#include "core/alloc.h"

void b4k_w2v_work_publish(tstate *s)
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

int64_t *b4k_w2v_work_pack(trainer *t, size_t *n)
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

/* Take the next chunk of work; 0 when there is none left.  The chunk and
 * the thread's position are published under t->mu, with front and back,
 * so a checkpoint (b4k_w2v_work_pack) sees every chunk in a thread's
 * hands, done, or still in a region, never in between. */
int b4k_w2v_work_take(trainer *t, tstate *s, int tid)
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
        b4k_w2v_work_publish(s);
    }
    pthread_mutex_unlock(&t->mu);
    return j >= 0;
}

/* ids per chunk of a region of L ids: the whole region without stealing
 * or on one thread, else L / 8 up to CHUNK_IDS; at least 1 */
static int64_t chunk_ids(const trainer *t, int64_t L)
{
    int64_t size = !t->steal || t->nthreads == 1 ? L : L / 8 > CHUNK_IDS ? CHUNK_IDS : L / 8;
    return size < 1 ? 1 : size;
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
int b4k_w2v_work_split(trainer *t, int version)
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
    int64_t k = 0;
    for (int r = 0; r < nt; r++) {
        int64_t L = b[r + 1] - b[r], size = chunk_ids(t, L);
        t->rlo[r] = k;
        k += t->steal ? (L + size - 1) / size : 1;
    }
    t->rlo[nt] = k;
    if (!(t->cb = b4k_malloc_n((size_t)k + 1, sizeof *t->cb))) {
        b4k_free(b);
        return B4K_ENOMEM;
    }
    for (int r = 0; r < nt; r++) {
        int64_t size = chunk_ids(t, b[r + 1] - b[r]);
        for (int64_t c = t->rlo[r]; c < t->rlo[r + 1]; c++) {
            int64_t e = b[r] + (c - t->rlo[r]) * size;
            t->cb[c] = e < b[r + 1] ? e : b[r + 1];
        }
        t->back[r] = iter * (t->rlo[r + 1] - t->rlo[r]);
    }
    t->cb[k] = n;
    b4k_free(b);
    return 0;
}

/* A thread's place from a checkpoint's state p (whose version
 * b4k_w2v_work_split was given): 0, or -1 if it does not fit this run. */
int b4k_w2v_work_restore(trainer *t, tstate *s, int tid, const int64_t *p)
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
    b4k_w2v_work_publish(s);
    return 0;
}

/* After b4k_w2v_work_restore for all threads: no chunk in two places (two
 * threads' hands, or a thread's hands and its region's untaken numbers). */
int b4k_w2v_work_restored_ok(const trainer *t)
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
