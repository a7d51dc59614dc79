/* Beam search against brute-force enumeration on a tiny vocabulary, with a
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

int main(void)
{
    RUN(exhaustive_beams_equal_brute_force);
    RUN(one_beam_is_greedy);
    RUN(small_beams_not_worse_than_greedy);
    return t_done();
}
