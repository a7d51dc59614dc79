#include "gen/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

struct b4k_sampler {
    int V;
    int *ids;      /* candidates */
    float *p;      /* their probabilities */
    float *all;    /* softmax over V */
    int *count;    /* penalty counts */
};

void b4k_sample_opts_default(b4k_sample_opts *o)
{
    memset(o, 0, sizeof *o);
    o->temperature = 1.0f;
    o->top_p = 1.0f;
    o->repetition_penalty = 1.0f;
}

b4k_sampler *b4k_sampler_new(int vocab)
{
    b4k_sampler *s = b4k_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->V = vocab;
    s->ids = b4k_malloc_n((size_t)vocab, sizeof *s->ids);
    s->p = b4k_malloc_n((size_t)vocab, sizeof *s->p);
    s->all = b4k_malloc_n((size_t)vocab, sizeof *s->all);
    s->count = b4k_calloc((size_t)vocab, sizeof *s->count);
    if (!s->ids || !s->p || !s->all || !s->count) {
        b4k_sampler_free(s);
        return NULL;
    }
    return s;
}

void b4k_sampler_free(b4k_sampler *s)
{
    if (!s)
        return;
    b4k_free(s->ids);
    b4k_free(s->p);
    b4k_free(s->all);
    b4k_free(s->count);
    b4k_free(s);
}

void b4k_sample_penalize(b4k_sampler *s, float *logits, const int *hist, int n,
                         const b4k_sample_opts *o)
{
    if (o->repetition_penalty == 1.0f && o->presence_penalty == 0 && o->frequency_penalty == 0)
        return;
    int from = o->penalty_last_n > 0 && n > o->penalty_last_n ? n - o->penalty_last_n : 0;
    for (int i = from; i < n; i++)
        if (hist[i] >= 0 && hist[i] < s->V)
            s->count[hist[i]]++;
    for (int i = from; i < n; i++) {
        int t = hist[i];
        if (t < 0 || t >= s->V || s->count[t] == 0)
            continue;
        float l = logits[t];
        if (o->repetition_penalty != 1.0f)
            l = l > 0 ? l / o->repetition_penalty : l * o->repetition_penalty;
        l -= o->presence_penalty + o->frequency_penalty * (float)s->count[t];
        logits[t] = l;
        s->count[t] = 0; /* each distinct token once */
    }
}

/* first index of the maximum (NaN never wins over x[0]); the running
 * maximum stays in a register */
static int argmax(const float *x, int n)
{
    int b = 0;
    float m = x[0];
    for (int i = 1; i < n; i++)
        if (x[i] > m) {
            m = x[i];
            b = i;
        }
    return b;
}

static int cmp_desc(const void *a, const void *b, void *ctx)
{
    const float *p = ctx;
    int i = *(const int *)a, j = *(const int *)b;
    if (p[i] != p[j])
        return p[i] > p[j] ? -1 : 1;
    return (i > j) - (i < j);
}

int b4k_sample_dist(b4k_sampler *s, const float *logits, const b4k_sample_opts *o,
                    const int **ids, const float **probs)
{
    int V = s->V;
    *ids = s->ids;
    *probs = s->p;
    if (o->temperature <= 0 || o->top_k == 1) {
        s->ids[0] = argmax(logits, V);
        s->p[0] = 1;
        return 1;
    }
    float inv_t = 1.0f / o->temperature, mx = -INFINITY;
    for (int i = 0; i < V; i++)
        mx = fmaxf(mx, logits[i] * inv_t);
    double sum = 0;
    for (int i = 0; i < V; i++) {
        s->all[i] = expf(logits[i] * inv_t - mx);
        sum += s->all[i];
    }
    float pmax = 0;
    for (int i = 0; i < V; i++) {
        s->all[i] = (float)(s->all[i] / sum);
        pmax = fmaxf(pmax, s->all[i]);
    }
    /* Candidates to sort: everything above a threshold tau that already
     * holds the top-k set (with top-k) or the nucleus (without: mass >=
     * top_p), lowering tau until it does. */
    int n = 0;
    int need_k = o->top_k > 0 && o->top_k < V ? o->top_k : 0;
    float minp = o->min_p > 0 ? o->min_p * pmax : 0;
    int truncating = need_k || o->top_p < 1.0f;
    for (float tau = pmax * 1e-3f;; tau *= 1e-3f) {
        if (!truncating || tau < 1e-30f)
            tau = 0;
        double mass = 0;
        n = 0;
        for (int i = 0; i < V; i++)
            if (s->all[i] >= tau && s->all[i] > 0 && (truncating || s->all[i] >= minp)) {
                s->ids[n++] = i;
                mass += s->all[i];
            }
        if (tau == 0 || (need_k ? n >= need_k : mass >= o->top_p))
            break;
    }
    if (truncating)
        qsort_r(s->ids, (size_t)n, sizeof *s->ids, cmp_desc, s->all);
    if (need_k && n > need_k)
        n = need_k;
    if (o->top_p < 1.0f) {
        /* the nucleus of the top-k set renormalised (HF's TopK then TopP
         * warpers, llama.cpp's top_k then top_p): mass / (mass of the set) */
        double z = 0, c = 0;
        if (need_k)
            for (int i = 0; i < n; i++)
                z += s->all[s->ids[i]];
        else
            z = 1.0;
        int k = 0;
        for (; k < n; k++) {
            c += s->all[s->ids[k]];
            if (c >= o->top_p * z)
                break;
        }
        n = k + 1 < n ? k + 1 : n;
    }
    if (truncating && minp > 0) /* sorted: min-p cuts the tail */
        while (n > 1 && s->all[s->ids[n - 1]] < minp)
            n--;
    if (n < 1)
        n = 1;
    double z = 0;
    for (int i = 0; i < n; i++)
        z += s->all[s->ids[i]];
    for (int i = 0; i < n; i++)
        s->p[i] = (float)(s->all[s->ids[i]] / z);
    return n;
}

int b4k_sample(b4k_sampler *s, const float *logits, const b4k_sample_opts *o, b4k_rng *rng)
{
    const int *ids;
    const float *p;
    int n = b4k_sample_dist(s, logits, o, &ids, &p);
    if (n == 1)
        return ids[0];
    double u = b4k_rng_double(rng), c = 0;
    for (int i = 0; i < n; i++) {
        c += p[i];
        if (u < c)
            return ids[i];
    }
    return ids[n - 1];
}

float b4k_logprob(const float *logits, int V, int id)
{
    float mx = -INFINITY;
    for (int i = 0; i < V; i++)
        mx = fmaxf(mx, logits[i]);
    double s = 0;
    for (int i = 0; i < V; i++)
        s += exp((double)logits[i] - mx);
    return (float)((double)logits[id] - mx - log(s));
}
