/* b4k-tokenize's pipeline: see pipe.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "b4k-tokenize/pipe.h"
#include "core/alloc.h"
#include "io/stream.h"

/* A chunk is some 64 KB of text: small enough that the last ones of the
 * input (and a thread held back by the scheduler) leave the others little
 * to wait for, big enough that taking and writing one costs nothing next
 * to encoding it.  The ring has this many chunks a thread in flight (up to
 * 64 in all; one with one thread, where main reads, encodes and writes in
 * turn). */
#define TK_CHUNK_BYTES ((size_t)64 << 10)
#define TK_SLOTS_PER_THREAD 8

/* ---- reading: whole lines into chunks ---------------------------------- */

/* Input across all files; a chunk never spans files.  Text is read straight
 * into the chunk; the part after its last whole line waits in carry for the
 * next chunk.  A file that cannot be opened or read ends the input: the
 * lines before the failure are still handed out, then failed is set. */
typedef struct reader {
    char **paths;
    int npaths, next;
    b4k_stream *s;
    char name[256];
    long lineno;       /* lines of s handed out */
    int eof;           /* s has nothing more: what is in carry is all */
    int fail_pending;  /* s failed: err, once carry is handed out */
    int failed;
    b4k_err err;
    char *carry;       /* [cpos, clen) read, not yet handed out */
    size_t cpos, clen, ccap;
    size_t max_lines, chunk_bytes;
} reader;

static void text_room(tk_chunk *k, size_t need) /* cap > need */
{
    if (need < k->cap) return;
    size_t nc = k->cap ? k->cap : 4096;
    while (nc <= need) nc *= 2;
    char *t = realloc(k->text, nc);
    if (!t) b4k_cli_dief("out of memory");
    k->text = t;
    k->cap = nc;
}

/* Count the line ends in t[*scan, len) until there are max lines, or until
 * the lines reach `bytes`; *cut is the end of the last whole line. */
static void scan_lines(const char *t, size_t len, size_t *scan, size_t *cut, size_t *n,
                       size_t max, size_t bytes)
{
    while (*n < max && *cut < bytes) {
        const char *nl = memchr(t + *scan, '\n', len - *scan);
        if (!nl) {
            *scan = len;
            return;
        }
        *scan = *cut = (size_t)(nl - t) + 1;
        ++*n;
    }
}

/* The next chunk of the current file; 0 lines when the file is done. */
static size_t take_lines(reader *r, tk_chunk *k)
{
    size_t n = 0, cut = 0, scan = 0, len = 0;
    text_room(k, 0);
    snprintf(k->file, sizeof k->file, "%s", r->name);
    k->lineno = r->lineno + 1;
    if (r->cpos < r->clen) { /* what the last read left over */
        const char *c = r->carry + r->cpos;
        size_t cl = r->clen - r->cpos;
        scan_lines(c, cl, &scan, &cut, &n, r->max_lines, r->chunk_bytes);
        if (n == r->max_lines || cut >= r->chunk_bytes || r->eof) {
            if (r->eof && n < r->max_lines && cut < r->chunk_bytes && cut < cl) {
                n++; /* the last line, without '\n' */
                cut = cl;
            }
            text_room(k, cut);
            memcpy(k->text, c, cut);
            r->cpos += cut;
            len = cut;
            goto done;
        }
        text_room(k, cl > r->chunk_bytes ? cl : r->chunk_bytes);
        memcpy(k->text, c, cl);
        len = cl;
        r->cpos = r->clen = 0;
    }
    for (;;) {
        if (n == r->max_lines || (n && len >= r->chunk_bytes)) break;
        if (r->eof) {
            if (len > cut) { /* the last line, without '\n' */
                n++;
                cut = len;
            }
            break;
        }
        /* up to chunk_bytes, or twice as much for a line that long */
        size_t want = len < r->chunk_bytes ? r->chunk_bytes - len : len;
        text_room(k, len + want);
        size_t got = 0;
        int rc = b4k_stream_read(r->s, k->text + len, want, &got, &r->err);
        len += got;
        if (rc) { /* keep the whole lines before it */
            const char *nl = len > cut ? memrchr(k->text + cut, '\n', len - cut) : NULL;
            if (nl) len = (size_t)(nl - k->text) + 1;
            else len = cut;
            if (scan > len) scan = len;
            r->fail_pending = 1;
        }
        if (rc || got < want) r->eof = 1;
        if (len - cut > B4K_STREAM_MAX_LINE_DEFAULT) {
            /* the line at cut, whole or not (any later one is shorter than
             * what was read): too long, as for b4k_stream_getline */
            const char *nl = memchr(k->text + scan, '\n', len - scan);
            size_t ll = nl ? (size_t)(nl - k->text) - cut : len - cut;
            if (ll > B4K_STREAM_MAX_LINE_DEFAULT) {
                if (!r->fail_pending)
                    b4k_err_set(&r->err, B4K_ERANGE, r->name, r->lineno + (long)n + 1,
                                "line longer than %zu bytes", B4K_STREAM_MAX_LINE_DEFAULT);
                r->fail_pending = r->eof = 1;
                len = cut;
                break;
            }
        }
        scan_lines(k->text, len, &scan, &cut, &n, r->max_lines, (size_t)-1);
    }
    if (len > cut) { /* the start of the next chunk */
        size_t rest = len - cut;
        if (rest > r->ccap && B4K_GROW(r->carry, r->ccap, rest)) b4k_cli_dief("out of memory");
        memcpy(r->carry, k->text + cut, rest);
        r->cpos = 0;
        r->clen = rest;
    }
done:
    k->len = cut;
    k->text[cut] = 0;
    k->nlines = n;
    r->lineno += (long)n;
    return n;
}

/* Fill k with the next lines of the input: 0 at its end (or its failure). */
static int fill(reader *r, tk_chunk *k)
{
    for (;;) {
        if (r->failed) return 0;
        if (!r->s) {
            if (r->next >= r->npaths) return 0;
            if (b4k_stream_open(&r->s, r->paths[r->next++], &r->err)) {
                r->s = NULL;
                r->failed = 1;
                return 0;
            }
            snprintf(r->name, sizeof r->name, "%s", b4k_stream_name(r->s));
            r->lineno = 0;
            r->eof = 0;
            r->cpos = r->clen = 0;
        }
        if (take_lines(r, k)) return 1;
        /* the file is done */
        b4k_stream_close(r->s);
        r->s = NULL;
        if (r->fail_pending) {
            b4k_err_locate(&r->err, r->name, r->lineno + 1);
            r->failed = 1;
        }
    }
}

/* ---- the ring and its threads ------------------------------------------ */

/* Chunks are numbered in input order; chunk i sits in slot i % nslot.
 * written <= taken <= filled <= written + nslot. */
typedef struct ring {
    tk_pipe *p;
    tk_chunk *slot;
    unsigned char *done;
    size_t nslot;
    size_t filled, taken, written;
    int stop;      /* a chunk failed: take no more */
    int quit;
    int idle;      /* workers waiting for a chunk */
    int waiting;   /* main waits for the oldest chunk */
    pthread_mutex_t mu;
    pthread_cond_t work, fin;
} ring;

typedef struct thread_arg {
    ring *g;
    int tid;
} thread_arg;

static void encode(ring *g, int tid, tk_chunk *k)
{
    k->ndone = k->ntok = k->nerr = 0;
    k->err_at = -1;
    g->p->encode(g->p->ctx, tid, k);
}

/* Called with mu held. */
static void finish(ring *g, size_t i)
{
    tk_chunk *k = &g->slot[i % g->nslot];
    g->done[i % g->nslot] = 1;
    if (k->err_at >= 0) g->stop = 1;
    if (g->waiting) pthread_cond_signal(&g->fin);
}

static void *worker_main(void *arg)
{
    thread_arg *a = arg;
    ring *g = a->g;
    pthread_mutex_lock(&g->mu);
    for (;;) {
        while (!g->quit && (g->stop || g->taken == g->filled)) {
            g->idle++;
            pthread_cond_wait(&g->work, &g->mu);
            g->idle--;
        }
        if (g->quit) break;
        size_t i = g->taken++;
        pthread_mutex_unlock(&g->mu);
        encode(g, a->tid, &g->slot[i % g->nslot]);
        pthread_mutex_lock(&g->mu);
        finish(g, i);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* Write the oldest chunk; TK_ENCODE_ERROR (err) if one of its lines failed. */
static int write_chunk(tk_pipe *p, tk_chunk *k, b4k_err *err)
{
    size_t n = k->ndone;
    if (n && fwrite(k->out.data, 1, k->ends[n - 1], p->out) != k->ends[n - 1])
        b4k_cli_dief("write error: %s", strerror(errno));
    p->tokens += k->ntok;
    p->errors += k->nerr;
    if (k->err_at >= 0) {
        *err = k->err;
        return TK_ENCODE_ERROR;
    }
    p->lines += k->nlines;
    p->bytes += k->len;
    b4k_progress_update(p->prog, 0, "%zu lines, %.1f MB, %zu tokens", p->lines,
                        p->bytes / 1e6, p->tokens);
    return TK_OK;
}

int tk_pipe_run(tk_pipe *p, b4k_err *err)
{
    int nt = p->threads < 1 ? 1 : p->threads;
    reader r = {.paths = p->paths, .npaths = p->npaths,
                .max_lines = p->max_lines ? p->max_lines : (size_t)-1,
                .chunk_bytes = p->chunk_bytes ? p->chunk_bytes : TK_CHUNK_BYTES};
    /* (many threads: fewer a thread, but still a few each) */
    size_t nslot = (size_t)nt * TK_SLOTS_PER_THREAD;
    if (nslot > 64) nslot = (size_t)nt * 2 > 64 ? (size_t)nt * 2 : 64;
    ring g = {.p = p, .nslot = nt == 1 ? 1 : nslot};
    g.slot = b4k_calloc(g.nslot, sizeof *g.slot);
    g.done = b4k_calloc(g.nslot, 1);
    thread_arg *ta = b4k_calloc((size_t)nt, sizeof *ta);
    pthread_t *th = b4k_calloc((size_t)nt, sizeof *th);
    if (!g.slot || !g.done || !ta || !th) b4k_cli_dief("out of memory");
    for (size_t i = 0; i < g.nslot; i++) b4k_buf_init(&g.slot[i].out);
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.work, NULL);
    pthread_cond_init(&g.fin, NULL);
    int nth = 0;
    for (; nth < nt - 1; nth++) {
        ta[nth] = (thread_arg){&g, nth + 1};
        if (pthread_create(&th[nth], NULL, worker_main, &ta[nth])) break;
    }
    if (nth < nt - 1) { /* fewer threads than asked: tell, and go on */
        pthread_mutex_lock(&g.mu);
        g.quit = 1;
        pthread_cond_broadcast(&g.work);
        pthread_mutex_unlock(&g.mu);
        for (int i = 0; i < nth; i++) pthread_join(th[i], NULL);
        b4k_cli_dief("cannot start %d threads", nt);
    }

    int rc = TK_OK, eof = 0;
    pthread_mutex_lock(&g.mu);
    for (;;) {
        size_t w = g.written % g.nslot;
        if (g.written < g.taken && g.done[w]) { /* the oldest is done: out */
            pthread_mutex_unlock(&g.mu);
            rc = write_chunk(p, &g.slot[w], err);
            pthread_mutex_lock(&g.mu);
            if (rc) break;
            g.done[w] = 0;
            g.written++;
            continue;
        }
        if (!eof && !g.stop && g.filled - g.written < g.nslot) { /* read one more */
            pthread_mutex_unlock(&g.mu);
            eof = !fill(&r, &g.slot[g.filled % g.nslot]);
            pthread_mutex_lock(&g.mu);
            if (!eof) {
                g.filled++;
                if (g.idle) pthread_cond_signal(&g.work);
            }
            continue;
        }
        if (eof && g.written == g.filled) break;
        if (g.taken < g.filled && !g.stop) { /* nothing else to do: encode */
            size_t i = g.taken++;
            pthread_mutex_unlock(&g.mu);
            encode(&g, 0, &g.slot[i % g.nslot]);
            pthread_mutex_lock(&g.mu);
            finish(&g, i);
            continue;
        }
        g.waiting = 1;
        pthread_cond_wait(&g.fin, &g.mu);
        g.waiting = 0;
    }
    g.stop = g.quit = 1;
    pthread_cond_broadcast(&g.work);
    pthread_mutex_unlock(&g.mu);
    for (int i = 0; i < nth; i++) pthread_join(th[i], NULL);
    if (!rc && r.failed) {
        *err = r.err;
        rc = TK_READ_ERROR;
    }

    b4k_stream_close(r.s);
    free(r.carry);
    for (size_t i = 0; i < g.nslot; i++) {
        free(g.slot[i].text);
        b4k_buf_free(&g.slot[i].out);
        free(g.slot[i].ends);
    }
    free(g.slot);
    free(g.done);
    free(ta);
    free(th);
    pthread_mutex_destroy(&g.mu);
    pthread_cond_destroy(&g.work);
    pthread_cond_destroy(&g.fin);
    return rc;
}
