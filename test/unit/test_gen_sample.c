/* Sampler: top-k, top-p, min-p, temperature and penalties on fixed logits,
 * and a chi-square test of the empirical frequencies of seeded draws. */
#include <math.h>
#include <stdlib.h>

#include "gen/sample.h"
#include "t.h"

#define V 8
static const double P[V] = { 0.3, 0.2, 0.15, 0.1, 0.1, 0.08, 0.05, 0.02 };
static float L[V];

static void init_logits(void)
{
    for (int i = 0; i < V; i++)
        L[i] = (float)log(P[i]) + 1.5f; /* any shift */
}

static int dist(const b4k_sample_opts *o, const int **ids, const float **p, b4k_sampler *s)
{
    return b4k_sample_dist(s, L, o, ids, p);
}

TEST(top_k_top_p_min_p)
{
    b4k_sampler *s = b4k_sampler_new(V);
    b4k_sample_opts o;
    const int *ids;
    const float *p;
    b4k_sample_opts_default(&o);
    o.top_k = 3;
    CHECK_EQ_INT(dist(&o, &ids, &p, s), 3);
    CHECK(ids[0] == 0 && ids[1] == 1 && ids[2] == 2);
    CHECK_NEAR(p[0], 0.3 / 0.65, 1e-6);
    CHECK_NEAR(p[2], 0.15 / 0.65, 1e-6);
    b4k_sample_opts_default(&o);
    o.top_p = 0.6f; /* 0.3 + 0.2 + 0.15 = 0.65 >= 0.6 */
    CHECK_EQ_INT(dist(&o, &ids, &p, s), 3);
    o.top_p = 0.5f; /* 0.3 + 0.2 reaches it exactly: float rounding may add one */
    int n = dist(&o, &ids, &p, s);
    CHECK(n == 2 || n == 3);
    o.top_p = 0.95f; /* 1 - 0.02 - 0.05 = 0.93 < 0.95: needs 7 */
    CHECK_EQ_INT(dist(&o, &ids, &p, s), 7);
    CHECK_EQ_INT(ids[6], 6);
    b4k_sample_opts_default(&o);
    o.min_p = 0.3f; /* p >= 0.09 */
    CHECK_EQ_INT(dist(&o, &ids, &p, s), 5);
    double z = 0.3 + 0.2 + 0.15 + 0.1 + 0.1, tot = 0;
    for (int i = 0; i < 5; i++) {
        CHECK_NEAR(p[i], P[ids[i]] / z, 1e-6);
        tot += p[i];
    }
    CHECK_NEAR(tot, 1.0, 1e-6);
    /* combined: top-k 6 then top-p 0.7 over the top-6 set renormalised
     * (mass 0.93): .3/.93 .5/.93 .65/.93 = .699 < .7, .75/.93 = .806 -> 4 */
    b4k_sample_opts_default(&o);
    o.top_k = 6;
    o.top_p = 0.7f;
    CHECK_EQ_INT(dist(&o, &ids, &p, s), 4);
    /* top-k 3 (mass .65) then top-p .7 as HF's TopK -> TopP warpers do:
     * renormalised .3/.65 = .4615, .5/.65 = .769 >= .7 -> {0, 1} with
     * p = .6, .4.  Over the full distribution (.3, .5, .65 < .7) all three
     * would stay: that was b4k's old rule. */
    o.top_k = 3;
    o.top_p = 0.7f;
    CHECK_EQ_INT(dist(&o, &ids, &p, s), 2);
    CHECK(ids[0] == 0 && ids[1] == 1);
    CHECK_NEAR(p[0], 0.6, 1e-6);
    CHECK_NEAR(p[1], 0.4, 1e-6);
    /* top-k 2 (mass .5), top-p .55: .3/.5 = .6 >= .55 -> greedy-like {0} */
    o.top_k = 2;
    o.top_p = 0.55f;
    CHECK_EQ_INT(dist(&o, &ids, &p, s), 1);
    CHECK(ids[0] == 0 && p[0] == 1.0f);
    /* top-k 4 (mass .75), top-p .9: .4 .667 .867 1 -> all 4 */
    o.top_k = 4;
    o.top_p = 0.9f;
    CHECK_EQ_INT(dist(&o, &ids, &p, s), 4);
    CHECK_NEAR(p[3], 0.1 / 0.75, 1e-6);
    /* then min-p .7 (p >= .7 * .3 = .21) after top-k 3 / top-p .7: {0} */
    o.top_k = 3;
    o.top_p = 0.7f;
    o.min_p = 0.7f;
    CHECK_EQ_INT(dist(&o, &ids, &p, s), 1);
    /* min-p .6 (p >= .18) keeps {0, 1}, renormalised as before */
    o.min_p = 0.6f;
    CHECK_EQ_INT(dist(&o, &ids, &p, s), 2);
    CHECK_NEAR(p[1], 0.4, 1e-6);
    /* temperature 2: p ~ sqrt(P) */
    b4k_sample_opts_default(&o);
    o.temperature = 2;
    n = dist(&o, &ids, &p, s);
    CHECK_EQ_INT(n, V);
    double zz = 0;
    for (int i = 0; i < V; i++)
        zz += sqrt(P[i]);
    for (int i = 0; i < n; i++)
        CHECK_NEAR(p[i], sqrt(P[ids[i]]) / zz, 1e-6);
    /* greedy, and ties go to the lowest id */
    b4k_sample_opts_default(&o);
    o.temperature = 0;
    CHECK_EQ_INT(b4k_sample(s, L, &o, NULL), 0);
    float tie[V] = { 1, 3, 2, 3, 0, 0, 0, 0 };
    CHECK_EQ_INT(b4k_sample(s, tie, &o, NULL), 1);
    b4k_sampler_free(s);
}

TEST(penalties)
{
    b4k_sampler *s = b4k_sampler_new(V);
    b4k_sample_opts o;
    b4k_sample_opts_default(&o);
    float l[V] = { 2, -2, 1, 1, 0, 0, 0, 0 };
    int hist[] = { 0, 1, 1, 3, 3, 3 };
    o.repetition_penalty = 2;
    b4k_sample_penalize(s, l, hist, 6, &o);
    CHECK_NEAR(l[0], 1, 1e-6);
    CHECK_NEAR(l[1], -4, 1e-6);
    CHECK_NEAR(l[2], 1, 1e-6);
    CHECK_NEAR(l[3], 0.5, 1e-6);
    float m[V] = { 2, -2, 1, 1, 0, 0, 0, 0 };
    b4k_sample_opts_default(&o);
    o.presence_penalty = 0.5f;
    o.frequency_penalty = 0.25f;
    b4k_sample_penalize(s, m, hist, 6, &o);
    CHECK_NEAR(m[0], 2 - 0.5 - 0.25, 1e-6);
    CHECK_NEAR(m[1], -2 - 0.5 - 0.5, 1e-6);
    CHECK_NEAR(m[3], 1 - 0.5 - 0.75, 1e-6);
    CHECK_NEAR(m[2], 1, 1e-6);
    /* last-n window: only the last 2 tokens (3, 3) */
    float k[V] = { 2, -2, 1, 1, 0, 0, 0, 0 };
    o.penalty_last_n = 2;
    b4k_sample_penalize(s, k, hist, 6, &o);
    CHECK_NEAR(k[0], 2, 1e-6);
    CHECK_NEAR(k[3], 1 - 0.5 - 0.5, 1e-6);
    b4k_sampler_free(s);
}

/* Pearson chi-square of N seeded draws against the expected distribution.
 * Critical values at p = 0.001: df 1 -> 10.83, df 4 -> 18.47, df 7 -> 24.32. */
static double chi2(const b4k_sample_opts *o, int N, uint64_t seed, int *outside)
{
    b4k_sampler *s = b4k_sampler_new(V);
    const int *ids;
    const float *p;
    int n = b4k_sample_dist(s, L, o, &ids, &p), idv[V];
    double want[V] = { 0 };
    for (int i = 0; i < n; i++) {
        want[ids[i]] = p[i];
        idv[i] = ids[i];
    }
    int cnt[V] = { 0 };
    b4k_rng r;
    b4k_rng_seed(&r, seed, 0);
    *outside = 0;
    for (int i = 0; i < N; i++) {
        int t = b4k_sample(s, L, o, &r);
        cnt[t]++;
        if (want[t] == 0)
            (*outside)++;
    }
    double x = 0;
    for (int i = 0; i < n; i++) {
        double e = want[idv[i]] * N;
        x += (cnt[idv[i]] - e) * (cnt[idv[i]] - e) / e;
    }
    b4k_sampler_free(s);
    return x;
}

TEST(chi_square)
{
    b4k_sample_opts o;
    int out;
    b4k_sample_opts_default(&o);
    double x = chi2(&o, 50000, 1, &out);
    printf("  full distribution: chi2 = %.2f (df 7, critical 24.32)\n", x);
    CHECK(x < 24.32);
    o.top_k = 5;
    x = chi2(&o, 50000, 2, &out);
    printf("  top-k 5: chi2 = %.2f (df 4, critical 18.47), %d draws outside\n", x, out);
    CHECK(x < 18.47);
    CHECK_EQ_INT(out, 0);
    b4k_sample_opts_default(&o);
    o.top_p = 0.8f;
    o.temperature = 0.7f;
    x = chi2(&o, 50000, 3, &out);
    printf("  top-p 0.8 T 0.7: chi2 = %.2f, %d outside\n", x, out);
    CHECK(x < 24.32);
    CHECK_EQ_INT(out, 0);
    b4k_sample_opts_default(&o);
    o.top_k = 3;
    o.top_p = 0.7f;
    x = chi2(&o, 50000, 5, &out);
    printf("  top-k 3 then top-p 0.7: chi2 = %.2f (df 1, critical 10.83), %d outside\n", x, out);
    CHECK(x < 10.83);
    CHECK_EQ_INT(out, 0);
    b4k_sample_opts_default(&o);
    o.min_p = 0.3f;
    x = chi2(&o, 50000, 4, &out);
    printf("  min-p 0.3: chi2 = %.2f (df 4), %d outside\n", x, out);
    CHECK(x < 18.47);
    CHECK_EQ_INT(out, 0);
    /* a wrong distribution must fail the same test: draws from full
     * distribution tested against top-k 5 expectations would be 'outside' */
    b4k_sample_opts_default(&o);
    o.temperature = 1.3f;
    b4k_sampler *s = b4k_sampler_new(V);
    b4k_rng r;
    b4k_rng_seed(&r, 9, 0);
    int cnt[V] = { 0 };
    for (int i = 0; i < 50000; i++)
        cnt[b4k_sample(s, L, &o, &r)]++;
    double bad = 0;
    for (int i = 0; i < V; i++)
        bad += (cnt[i] - P[i] * 50000) * (cnt[i] - P[i] * 50000) / (P[i] * 50000);
    printf("  T 1.3 draws against T 1 probabilities: chi2 = %.1f (must be large)\n", bad);
    CHECK(bad > 100);
    b4k_sampler_free(s);
}

TEST(seeded_reproducible)
{
    b4k_sampler *s = b4k_sampler_new(V);
    b4k_sample_opts o;
    b4k_sample_opts_default(&o);
    b4k_rng a, b;
    b4k_rng_seed(&a, 42, 7);
    b4k_rng_seed(&b, 42, 7);
    int same = 1;
    for (int i = 0; i < 1000; i++)
        same &= b4k_sample(s, L, &o, &a) == b4k_sample(s, L, &o, &b);
    CHECK(same);
    CHECK_NEAR(b4k_logprob(L, V, 0), log(0.3), 1e-5);
    b4k_sampler_free(s);
}

TEST(large_vocab_top_p)
{
    /* the thresholded candidate search must give the same nucleus as a full
     * sort on a vocabulary of GPT-2 size */
    int n = 50257;
    b4k_sampler *s = b4k_sampler_new(n);
    float *l = malloc(sizeof *l * n);
    b4k_rng r;
    b4k_rng_seed(&r, 5, 0);
    for (int i = 0; i < n; i++)
        l[i] = (float)b4k_rng_normal(&r) * 3;
    b4k_sample_opts o;
    b4k_sample_opts_default(&o);
    o.top_p = 0.9f;
    const int *ids;
    const float *p;
    int k = b4k_sample_dist(s, l, &o, &ids, &p);
    /* brute force: mass of the k-1 best is < 0.9, of the k best >= 0.9 */
    double mx = -1e30, z = 0;
    for (int i = 0; i < n; i++)
        mx = fmax(mx, l[i]);
    for (int i = 0; i < n; i++)
        z += exp(l[i] - mx);
    double c = 0;
    int sorted = 1;
    for (int i = 0; i < k; i++) {
        c += exp(l[ids[i]] - mx) / z;
        if (i && l[ids[i]] > l[ids[i - 1]])
            sorted = 0;
        if (i == k - 2)
            CHECK(c < 0.9 + 1e-6);
    }
    CHECK(c >= 0.9 - 1e-6);
    CHECK(sorted);
    /* nothing left out is more probable than the last one kept */
    int ok = 1;
    char *in = calloc((size_t)n, 1);
    for (int i = 0; i < k; i++)
        in[ids[i]] = 1;
    for (int i = 0; i < n; i++)
        if (!in[i] && l[i] > l[ids[k - 1]])
            ok = 0;
    CHECK(ok);
    printf("  top-p 0.9 over 50257: %d candidates\n", k);
    free(in);
    free(l);
    b4k_sampler_free(s);
}

int main(void)
{
    init_logits();
    RUN(top_k_top_p_min_p);
    RUN(penalties);
    RUN(chi_square);
    RUN(seeded_reproducible);
    RUN(large_vocab_top_p);
    return t_done();
}
