/* Beam search against brute-force enumeration on a tiny vocabulary, and
 * against a naive beam search with and without early stopping, with a
 * fake model whose logits are a fixed function of the whole prefix. */
#include <math.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "gen/beam.h"
#include "t.h"

#define V 4
#define END 0
#define MAXP 16
#define SLOTS 256

typedef struct fake {
    int pre[SLOTS][MAXP];
    unsigned seed;
    int calls;
} fake;

static void logits_of(const fake *f, const int *pre, int n, float *out)
{
    unsigned h = f->seed;
    for (int i = 0; i < n; i++)
        h = h * 2654435761u + (unsigned)pre[i] + 1;
    for (int v = 0; v < V; v++) {
        unsigned x = (h ^ (unsigned)(v * 0x9e3779b9u)) * 2246822519u;
        x ^= x >> 15;
        out[v] = (float)((x % 10007) / 10007.0 * 4.0 - 2.0);
    }
}

static int fstep(void *ctx, int B, const int *slots, const int *tokens, const int *pos,
                 float *logits, b4k_err *err)
{
    fake *f = ctx;
    (void)err;
    f->calls++;
    for (int b = 0; b < B; b++) {
        f->pre[slots[b]][pos[b]] = tokens[b];
        logits_of(f, f->pre[slots[b]], pos[b] + 1, logits + b * V);
    }
    return 0;
}

static void fcopy(void *ctx, int dst, int src, int n)
{
    fake *f = ctx;
    memcpy(f->pre[dst], f->pre[src], (size_t)n * sizeof(int));
}

static double lsm(const float *l, int t)
{
    double mx = -1e30, s = 0;
    for (int i = 0; i < V; i++)
        mx = fmax(mx, l[i]);
    for (int i = 0; i < V; i++)
        s += exp(l[i] - mx);
    return l[t] - mx - log(s);
}

/* best normalised score over all continuations (ending in END, or of length M) */
static void brute(const fake *f, int *pre, int plen, int gen, int M, double sum, float lp,
                  double *best, int *bseq, int *blen, int *cur)
{
    float l[V];
    logits_of(f, pre, plen + gen, l);
    for (int t = 0; t < V; t++) {
        double s = sum + lsm(l, t);
        if (t == END) {
            double ns = s / pow(gen + 1, lp);
            if (ns > *best) {
                *best = ns;
                memcpy(bseq, cur, (size_t)gen * sizeof *cur);
                *blen = gen;
            }
            continue;
        }
        cur[gen] = t;
        pre[plen + gen] = t;
        if (gen + 1 == M) {
            double ns = s / pow(M, lp);
            if (ns > *best) {
                *best = ns;
                memcpy(bseq, cur, (size_t)M * sizeof *cur);
                *blen = M;
            }
        } else {
            brute(f, pre, plen, gen + 1, M, s, lp, best, bseq, blen, cur);
        }
    }
}

static int run(unsigned seed, int K, int M, float lp, int early, b4k_beam_result *r, fake *f)
{
    memset(f, 0, sizeof *f);
    f->seed = seed;
    int prompt[3] = { 1, 2, 3 };
    memcpy(f->pre[0], prompt, sizeof prompt);
    float first[V];
    logits_of(f, prompt, 3, first);
    b4k_beam_model m = { f, V, fstep, fcopy };
    b4k_beam_opts o = { K, M, lp, early, END };
    b4k_err err;
    return b4k_beam_search(&m, &o, 3, first, r, &err);
}

TEST(exhaustive_beams_equal_brute_force)
{
    int bad = 0, n = 0;
    for (unsigned seed = 1; seed <= 40; seed++)
        for (int li = 0; li < 2; li++) {
            float lp = li ? 1.0f : 0.0f;
            int M = 4, K = 64; /* K >= V^(M-1): nothing is ever pruned */
            fake f;
            b4k_beam_result r;
            if (run(seed, K, M, lp, 0, &r, &f)) {
                bad++;
                continue;
            }
            int pre[MAXP] = { 1, 2, 3 }, bseq[MAXP], blen = -1, cur[MAXP];
            double best = -1e30;
            brute(&f, pre, 3, 0, M, 0, lp, &best, bseq, &blen, cur);
            int same = r.n == blen && !memcmp(r.ids, bseq, (size_t)blen * sizeof *bseq) &&
                       fabs(r.score - best) < 1e-4;
            if (!same) {
                bad++;
                printf("  seed %u lp %g: beam n=%d score %.6f, brute n=%d score %.6f\n", seed, lp,
                       r.n, r.score, blen, best);
            }
            n++;
            b4k_free(r.ids);
        }
    printf("  %d cases, %d mismatches\n", n, bad);
    CHECK_EQ_INT(bad, 0);
}

TEST(one_beam_is_greedy)
{
    for (unsigned seed = 1; seed <= 20; seed++) {
        fake f;
        b4k_beam_result r;
        CHECK_EQ_INT(run(seed, 1, 6, 1.0f, 0, &r, &f), 0);
        int pre[MAXP] = { 1, 2, 3 }, n = 0, ended = 0;
        for (int i = 0; i < 6; i++) {
            float l[V];
            logits_of(&f, pre, 3 + i, l);
            int b = 0;
            for (int v = 1; v < V; v++)
                if (l[v] > l[b])
                    b = v;
            if (b == END) {
                ended = 1;
                break;
            }
            pre[3 + i] = b;
            n++;
        }
        CHECK_EQ_INT(r.n, n);
        CHECK_EQ_INT(r.ended, ended);
        CHECK(!memcmp(r.ids, pre + 3, (size_t)n * sizeof(int)));
        b4k_free(r.ids);
    }
}

TEST(small_beams_not_worse_than_greedy)
{
    /* with lp = 0 a wider beam never finds a lower sum than one beam here */
    int worse = 0;
    for (unsigned seed = 1; seed <= 30; seed++) {
        fake f;
        b4k_beam_result a, b;
        run(seed, 1, 5, 0.0f, 0, &a, &f);
        run(seed, 3, 5, 0.0f, 0, &b, &f);
        if (b.score < a.score - 1e-6)
            worse++;
        b4k_free(a.ids);
        b4k_free(b.ids);
    }
    CHECK_EQ_INT(worse, 0);
}

/* An independent, naive beam search (whole sequences, logits recomputed
 * from the prefix, no cache slots) with the rules of beam.h: each step
 * ranks every (beam, token) by cumulative log-prob; an end token among the
 * best K finishes a hypothesis; the best K others go on; stop once K are
 * finished and either early stopping is on or the best live beam, ended
 * now, could not beat the worst finished one; at max_new the live beams
 * count as finished. */
typedef struct nhyp {
    int seq[MAXP], n, ended;
    double sum, norm;
} nhyp;

static void naive_add(nhyp *fin, int *nfin, int K, const int *seq, int n, int len, double sum,
                      float lp, int ended)
{
    double ns = sum / pow(len > 0 ? len : 1, lp);
    if (*nfin == K && ns <= fin[K - 1].norm)
        return;
    if (*nfin == K)
        (*nfin)--;
    int i = *nfin;
    while (i > 0 && fin[i - 1].norm < ns) {
        fin[i] = fin[i - 1];
        i--;
    }
    memcpy(fin[i].seq, seq, (size_t)n * sizeof *seq);
    fin[i].n = n;
    fin[i].ended = ended;
    fin[i].sum = sum;
    fin[i].norm = ns;
    (*nfin)++;
}

typedef struct ncand {
    double score;
    int beam, tok;
} ncand;

static int ncand_cmp(const void *a, const void *b)
{
    const ncand *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->beam != y->beam ? x->beam - y->beam : x->tok - y->tok;
}

static nhyp naive_beam(const fake *f, int K, int M, float lp, int early, int *steps)
{
    nhyp live[8], next[8], fin[9];
    int nlive = 1, nfin = 0;
    live[0].n = 0;
    live[0].sum = 0;
    *steps = 0;
    for (int s = 0; s < M; s++) {
        ncand c[8 * V];
        int nc = 0;
        for (int b = 0; b < nlive; b++) {
            int pre[MAXP] = { 1, 2, 3 };
            memcpy(pre + 3, live[b].seq, (size_t)live[b].n * sizeof(int));
            float l[V];
            logits_of(f, pre, 3 + live[b].n, l);
            for (int t = 0; t < V; t++)
                c[nc++] = (ncand){ live[b].sum + lsm(l, t), b, t };
        }
        qsort(c, (size_t)nc, sizeof *c, ncand_cmp);
        int nn = 0;
        for (int i = 0; i < nc && nn < K; i++) {
            const nhyp *src = &live[c[i].beam];
            if (c[i].tok == END) {
                if (i < K)
                    naive_add(fin, &nfin, K, src->seq, s, s + 1, c[i].score, lp, 1);
                continue;
            }
            next[nn] = *src;
            next[nn].seq[s] = c[i].tok;
            next[nn].n = s + 1;
            next[nn].sum = c[i].score;
            nn++;
        }
        (*steps)++;
        int done = nn == 0;
        if (!done && nfin >= K)
            done = early || next[0].sum / pow(s + 1, lp) <= fin[nfin - 1].norm;
        if (done || s == M - 1) {
            if (!done || nfin < K)
                for (int b = 0; b < nn; b++)
                    naive_add(fin, &nfin, K, next[b].seq, s + 1, s + 1, next[b].sum, lp, 0);
            break;
        }
        memcpy(live, next, (size_t)nn * sizeof *next);
        nlive = nn;
    }
    return fin[0];
}

TEST(early_stopping_against_naive)
{
    int bad = 0, n = 0, differ = 0, fewer = 0, ended_all = 1;
    static const float lps[] = { 0.0f, 1.0f, 2.0f };
    for (unsigned seed = 1; seed <= 60; seed++)
        for (int K = 2; K <= 3; K++)
            for (int li = 0; li < 3; li++) {
                nhyp want[2];
                b4k_beam_result got[2];
                int calls[2], steps;
                for (int early = 0; early < 2; early++) {
                    fake f;
                    memset(&f, 0, sizeof f);
                    f.seed = seed;
                    want[early] = naive_beam(&f, K, 7, lps[li], early, &steps);
                    if (run(seed, K, 7, lps[li], early, &got[early], &f)) {
                        bad++;
                        continue;
                    }
                    calls[early] = f.calls;
                    const nhyp *w = &want[early];
                    if (got[early].n != w->n || got[early].ended != w->ended ||
                        memcmp(got[early].ids, w->seq, (size_t)w->n * sizeof(int)) ||
                        fabs(got[early].score - w->norm) > 1e-4) {
                        bad++;
                        printf("  seed %u K %d lp %g early %d: beam n=%d score %.6f, naive n=%d "
                               "score %.6f\n", seed, K, lps[li], early, got[early].n,
                               got[early].score, w->n, w->norm);
                    }
                    n++;
                }
                /* early stopping never runs longer, and when it stopped
                 * before max_new (6 model steps) its answer has ended */
                fewer += calls[1] < calls[0];
                if (calls[1] > calls[0])
                    bad++;
                if (calls[1] < 6 && !got[1].ended)
                    ended_all = 0;
                differ += got[0].n != got[1].n || memcmp(got[0].ids, got[1].ids,
                                                         (size_t)got[0].n * sizeof(int));
                b4k_free(got[0].ids);
                b4k_free(got[1].ids);
            }
    printf("  %d searches, %d mismatches; early stopping ran fewer steps in %d, changed the "
           "answer in %d\n", n, bad, fewer, differ);
    CHECK_EQ_INT(bad, 0);
    CHECK(ended_all);
    CHECK(fewer > 0);
    CHECK(differ > 0); /* the flag matters on these cases */
}

int main(void)
{
    RUN(exhaustive_beams_equal_brute_force);
    RUN(one_beam_is_greedy);
    RUN(small_beams_not_worse_than_greedy);
    RUN(early_stopping_against_naive);
    return t_done();
}
