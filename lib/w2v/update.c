/* The batched word2vec update (skip-gram and CBOW) and the sigmoid table. */
#include <math.h>
#include <pthread.h>

#include "w2v/kern.h"
#include "w2v/train.h"

#define SIG_N 4096
#define SIG_MAX 8.0f

/* sig[i] = sigmoid(x_i), lsig[i] = log sigmoid(x_i), x_i = -8 + 16 i / N,
 * with one extra entry so interpolation at the top end stays inside. */
static float sig_tab[SIG_N + 2], lsig_tab[SIG_N + 2];
static pthread_once_t sig_once = PTHREAD_ONCE_INIT;
static const b4k_w2v_kern *kern;

static void sig_init(void)
{
    for (int i = 0; i <= SIG_N + 1; i++) {
        double x = -SIG_MAX + 2.0 * SIG_MAX * i / SIG_N;
        sig_tab[i] = (float)(1.0 / (1.0 + exp(-x)));
        lsig_tab[i] = (float)(-log1p(exp(-x)));
    }
    kern = b4k_w2v_kern_best();
}

static inline float sig_lookup(const float *tab, float x)
{
    if (x <= -SIG_MAX)
        x = -SIG_MAX;
    else if (x >= SIG_MAX)
        x = SIG_MAX;
    float u = (x + SIG_MAX) * (SIG_N / (2 * SIG_MAX));
    int i = (int)u;
    float f = u - (float)i;
    return tab[i] + f * (tab[i + 1] - tab[i]);
}

float b4k_w2v_sigmoid(float x)
{
    pthread_once(&sig_once, sig_init);
    return sig_lookup(sig_tab, x);
}

/* log sigmoid, exact enough for a loss display; linear below -8 */
static inline float logsig(float x)
{
    if (x < -SIG_MAX)
        return x;
    return sig_lookup(lsig_tab, x);
}

/* G = alpha * (lab - sigmoid(S)); returns the loss -sum log p(label). */
static inline double grads(float *G, const float *S, int m, const float *lab, int n, float alpha)
{
    double loss = 0;
    for (int j = 0; j < m; j++)
        for (int k = 0; k < n; k++) {
            float f = S[j * n + k];
            G[j * n + k] = alpha * (lab[k] - sig_lookup(sig_tab, f));
            loss -= lab[k] > 0.5f ? logsig(f) : logsig(-f);
        }
    return loss;
}

double b4k_w2v_update(float *const *C, int m, float *const *T, const float *lab, int n, int d,
                      float alpha, float *scratch)
{
    pthread_once(&sig_once, sig_init);
    const b4k_w2v_kern *K = kern;
    float *S = scratch;          /* (m,n) */
    float *G = S + m * n;        /* (m,n) */
    float *E = G + m * n;        /* (m,d) */
    const float *const *Cc = (const float *const *)C;
    const float *const *Tc = (const float *const *)T;
    K->dots(S, Cc, m, Tc, n, d);
    double loss = grads(G, S, m, lab, n, alpha);
    for (int j = 0; j < m; j++)
        K->comb(E + (size_t)j * d, 0, G + j * n, 1, Tc, n, d);
    for (int k = 0; k < n; k++)
        K->comb(T[k], 1, G + k, n, Cc, m, d);
    static const float one = 1.0f;
    for (int j = 0; j < m; j++) {
        const float *e = E + (size_t)j * d;
        K->comb(C[j], 1, &one, 0, &e, 1, d);
    }
    return loss;
}

double b4k_w2v_update_cbow(float *const *C, int m, float *const *T, const float *lab, int n,
                           int d, float alpha, float *scratch)
{
    pthread_once(&sig_once, sig_init);
    const b4k_w2v_kern *K = kern;
    float *h = scratch;  /* (d) */
    float *e = h + d;    /* (d) */
    float *S = e + d;    /* (n) */
    float *G = S + n;    /* (n) */
    const float *const *Cc = (const float *const *)C;
    const float *const *Tc = (const float *const *)T;
    float inv = 1.0f / (float)m;
    K->comb(h, 0, &inv, 0, Cc, m, d);
    const float *hp = h;
    K->dots(S, &hp, 1, Tc, n, d);
    double loss = grads(G, S, 1, lab, n, alpha);
    K->comb(e, 0, G, 1, Tc, n, d);
    for (int k = 0; k < n; k++)
        K->comb(T[k], 1, G + k, 0, &hp, 1, d);
    static const float one = 1.0f;
    const float *ep = e;
    for (int j = 0; j < m; j++)
        K->comb(C[j], 1, &one, 0, &ep, 1, d);
    return loss;
}

double b4k_w2v_update_cbow_shared(float **const *Cb, const int *mb, int B, float *const *P,
                                  const uint32_t *wp, float *const *N, const uint32_t *wn, int k,
                                  int d, float alpha, float *scratch)
{
    pthread_once(&sig_once, sig_init);
    const b4k_w2v_kern *K = kern;
    float *H = scratch;                 /* (B,d) mean contexts */
    float *E = H + (size_t)B * d;       /* (B,d) the contexts' gradient */
    float *S = E + (size_t)B * d;       /* (B,k) products, then gradients */
    float *Sp = S + (size_t)B * k;      /* (B) the same for the positives */
    const float *Hp[B4K_W2V_MAX_SHARE];
    const float *const *Nc = (const float *const *)N;
    double loss = 0;
    for (int b = 0; b < B; b++) {
        float inv = 1.0f / (float)mb[b];
        Hp[b] = H + (size_t)b * d;
        K->comb(H + (size_t)b * d, 0, &inv, 0, (const float *const *)Cb[b], mb[b], d);
        const float *pb = P[b];
        K->dots(Sp + b, Hp + b, 1, &pb, 1, d);
    }
    if (k)
        K->dots(S, Hp, B, Nc, k, d);
    for (int b = 0; b < B; b++) {
        float f = Sp[b];
        Sp[b] = alpha * (1.0f - sig_lookup(sig_tab, f));
        loss -= logsig(f);
        for (int j = 0; j < k; j++) {
            float x = S[b * k + j];
            if (wn[j] == wp[b]) {
                S[b * k + j] = 0.0f;
                continue;
            }
            S[b * k + j] = -alpha * sig_lookup(sig_tab, x);
            loss -= logsig(-x);
        }
        float *e = E + (size_t)b * d;
        const float *pb = P[b];
        K->comb(e, 0, Sp + b, 0, &pb, 1, d);
        if (k)
            K->comb(e, 1, S + b * k, 1, Nc, k, d);
    }
    for (int j = 0; j < k; j++)
        K->comb(N[j], 1, S + j, k, Hp, B, d);
    for (int b = 0; b < B; b++)
        K->comb(P[b], 1, Sp + b, 0, Hp + b, 1, d);
    static const float one = 1.0f;
    for (int b = 0; b < B; b++) {
        const float *ep = E + (size_t)b * d;
        for (int i = 0; i < mb[b]; i++)
            K->comb(Cb[b][i], 1, &one, 0, &ep, 1, d);
    }
    return loss;
}
