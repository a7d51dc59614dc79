/* BERT encoder forward (keeping activations) and backward; see bert.h. */
#include "nn/bert.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/threads.h"
#include "nn/linear_bf16.h"
#include "nn/ops.h"
#include "nn/ops_bwd.h"
#include "tensor/blas.h"
#include "tensor/dtype.h"

int b4k_bert_config_check(const b4k_bert_config *c, b4k_err *err)
{
    if (c->vocab <= 0 || c->hidden <= 0 || c->layers <= 0 || c->heads <= 0 || c->inter <= 0 ||
        c->max_pos <= 0 || c->type_vocab <= 0)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "BERT config: sizes must be positive");
    if (c->hidden % c->heads)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0,
                           "BERT config: hidden_size %d not divisible by num_attention_heads %d",
                           c->hidden, c->heads);
    if (c->vocab > (1 << 24) || c->hidden > 16384 || c->inter > 65536 || c->layers > 256 ||
        c->max_pos > 65536 || c->type_vocab > 65536)
        return b4k_err_set(err, B4K_ERANGE, NULL, 0, "BERT config: sizes too large");
    if (!(c->drop_hidden >= 0 && c->drop_hidden < 1 && c->drop_attn >= 0 && c->drop_attn < 1))
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "BERT config: dropout must be in [0,1)");
    if (!(c->ln_eps > 0)) return b4k_err_set(err, B4K_EINVAL, NULL, 0, "BERT config: bad eps");
    if (c->emb < 0 || c->emb > 16384 || c->pos_offset < 0 || c->pos_offset >= c->max_pos ||
        !(c->init_range >= 0 && c->init_range < 10))
        return b4k_err_set(err, B4K_EINVAL, NULL, 0,
                           "BERT config: bad embedding_size, position offset or initializer_range");
    return 0;
}

int b4k_bert_add_params(b4k_bert *m, b4k_ptab *tab, b4k_err *err, const b4k_bert_config *c,
                        const char *prefix)
{
    int rc = b4k_bert_config_check(c, err);
    if (rc) return rc;
    memset(m, 0, sizeof *m);
    m->c = *c;
    m->p_proj_w = m->p_proj_b = -1;
    m->pl = b4k_calloc((size_t)c->layers * B4K_BL_N, sizeof *m->pl);
    if (!m->pl) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    int H = c->hidden, I = c->inter, E = b4k_bert_emb(c);
    char nm[96];
#define ADD(dst, suffix, r, cl, dec)                                                   \
    do {                                                                             \
        snprintf(nm, sizeof nm, "%s%s", prefix, suffix);                             \
        int i_ = b4k_ptab_add(tab, err, nm, r, cl, dec);                             \
        if (i_ < 0) return i_;                                                       \
        dst = i_;                                                                    \
    } while (0)
    int dummy;
    ADD(m->p_word, "embeddings.word_embeddings.weight", c->vocab, E, 1);
    m->first_param = m->p_word;
    ADD(m->p_pos, "embeddings.position_embeddings.weight", c->max_pos, E, 1);
    ADD(m->p_type, "embeddings.token_type_embeddings.weight", c->type_vocab, E, 1);
    ADD(m->p_eln_g, "embeddings.LayerNorm.weight", E, 0, 0);
    ADD(m->p_eln_b, "embeddings.LayerNorm.bias", E, 0, 0);
    if (E != H) {
        ADD(m->p_proj_w, "encoder.embedding_hidden_mapping_in.weight", H, E, 1);
        ADD(m->p_proj_b, "encoder.embedding_hidden_mapping_in.bias", H, 0, 0);
    }
    for (int l = 0; l < c->layers; l++) {
        int *p = m->pl + (size_t)l * B4K_BL_N;
        if (c->shared && l > 0) { /* ALBERT: the one layer, again */
            memcpy(p, m->pl, B4K_BL_N * sizeof *p);
            continue;
        }
        char s[96];
#define LADD(dst, suffix, r, cl, dec)                                                  \
    do {                                                                             \
        snprintf(s, sizeof s, "encoder.layer.%d.%s", l, suffix);                     \
        ADD(dst, s, r, cl, dec);                                                     \
    } while (0)
        /* q, k, v consecutive: one (3H, H) weight block and one (3H) bias block */
        LADD(p[B4K_BL_WQKV], "attention.self.query.weight", H, H, 1);
        LADD(dummy, "attention.self.key.weight", H, H, 1);
        LADD(dummy, "attention.self.value.weight", H, H, 1);
        LADD(p[B4K_BL_BQKV], "attention.self.query.bias", H, 0, 0);
        LADD(dummy, "attention.self.key.bias", H, 0, 0);
        LADD(dummy, "attention.self.value.bias", H, 0, 0);
        LADD(p[B4K_BL_WO], "attention.output.dense.weight", H, H, 1);
        LADD(p[B4K_BL_BO], "attention.output.dense.bias", H, 0, 0);
        LADD(p[B4K_BL_LN1G], "attention.output.LayerNorm.weight", H, 0, 0);
        LADD(p[B4K_BL_LN1B], "attention.output.LayerNorm.bias", H, 0, 0);
        LADD(p[B4K_BL_W1], "intermediate.dense.weight", I, H, 1);
        LADD(p[B4K_BL_B1], "intermediate.dense.bias", I, 0, 0);
        LADD(p[B4K_BL_W2], "output.dense.weight", H, I, 1);
        LADD(p[B4K_BL_B2], "output.dense.bias", H, 0, 0);
        LADD(p[B4K_BL_LN2G], "output.LayerNorm.weight", H, 0, 0);
        LADD(p[B4K_BL_LN2B], "output.LayerNorm.bias", H, 0, 0);
        m->last_param = p[B4K_BL_LN2B];
    }
#undef LADD
#undef ADD
    (void)dummy;
    return 0;
}

void b4k_bert_free(b4k_bert *m)
{
    if (!m) return;
    free(m->pl);
    m->pl = NULL;
}

int b4k_bert_param_layer(const b4k_bert *m, int i)
{
    if (i < m->first_param || i > m->last_param) return -2;
    for (int l = 0; l < (m->c.shared ? 1 : m->c.layers); l++) {
        const int *p = m->pl + (size_t)l * B4K_BL_N;
        if (i >= p[B4K_BL_WQKV] && i <= p[B4K_BL_LN2B]) return l;
    }
    return -1;
}

static float trunc_normal(b4k_rng *r, float sd)
{
    for (;;) {
        double z = b4k_rng_normal(r);
        if (z >= -2 && z <= 2) return (float)(z * sd);
    }
}

void b4k_bert_init_weights(const b4k_bert *m, b4k_ptab *tab, uint64_t seed)
{
    b4k_rng r;
    b4k_rng_seed(&r, seed, 0x62657274); /* "bert" */
    float sd = m->c.init_range > 0 ? m->c.init_range : 0.02f;
    for (int i = m->first_param; i <= m->last_param; i++) {
        b4k_ptensor *t = &tab->t[i];
        float *w = tab->w + t->off;
        const char *nm = t->name;
        size_t len = strlen(nm);
        int is_ln_g = len > 16 && !strcmp(nm + len - 16, "LayerNorm.weight");
        if (is_ln_g)
            for (size_t k = 0; k < t->n; k++) w[k] = 1.f;
        else if (t->ndim == 1)
            memset(w, 0, t->n * sizeof *w);
        else
            for (size_t k = 0; k < t->n; k++) w[k] = trunc_normal(&r, sd);
    }
}

/* ---- activations --------------------------------------------------------- */

int b4k_bert_act_init(b4k_bert_act *a, b4k_err *err, const b4k_bert_config *c, int Bcap,
                      int Tcap, int keep)
{
    memset(a, 0, sizeof *a);
    if (Bcap <= 0 || Tcap <= 0 || Tcap + c->pos_offset > c->max_pos)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "batch shape %dx%d out of range", Bcap, Tcap);
    a->Bcap = Bcap;
    a->Tcap = Tcap;
    a->keep = keep;
    a->layers = c->layers;
    size_t N = (size_t)Bcap * Tcap, H = c->hidden, I = c->inter, NH = c->heads;
    size_t E = (size_t)b4k_bert_emb(c);
    size_t nl = keep ? (size_t)c->layers : 1;
    size_t PT = (size_t)Bcap * NH * Tcap * Tcap;
    /* float counts */
    size_t emb = 3 * N * E + N * H + 2 * N;
    size_t lay = N * 3 * H + PT + N * H * 4 + N * I * 2 + N * 4 + N * H;
    size_t bwd = keep ? N * H * 2 + N * I + N * 3 * H + 2 * N * E : 0;
    size_t total = emb + nl * lay + bwd, bytes;
    size_t mbytes = N * E + nl * (PT + 2 * N * H);
    if (b4k_mul_ok(total, sizeof(float), &bytes))
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "activation size overflow");
    a->arena = b4k_aligned_alloc(64, bytes);
    a->mask_arena = b4k_malloc(mbytes);
    a->L = b4k_calloc(nl, sizeof *a->L);
    a->lens = b4k_calloc((size_t)Bcap, sizeof *a->lens);
    a->zseg = b4k_calloc((size_t)Tcap, sizeof *a->zseg);
    if (!a->arena || !a->mask_arena || !a->L || !a->lens || !a->zseg) {
        b4k_bert_act_free(a);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0,
                           "out of memory for activations (%zu MiB)", bytes >> 20);
    }
    a->arena_n = total;
    float *p = a->arena;
    uint8_t *q = a->mask_arena;
#define TAKE(n) (p += (n), p - (n))
#define TAKEM(n) (q += (n), q - (n))
    a->e_sum = TAKE(N * E);
    a->e_ln = TAKE(N * E);
    a->e_drop = TAKE(N * E);
    a->x0 = TAKE(N * H);
    a->e_mean = TAKE(N);
    a->e_rstd = TAKE(N);
    a->e_mask = TAKEM(N * E);
    for (size_t l = 0; l < nl; l++) {
        struct b4k_bert_lact *L = &a->L[l];
        L->qkv = TAKE(N * 3 * H);
        L->P = TAKE(PT);
        L->ctx = TAKE(N * H);
        L->h1 = TAKE(N * H);
        L->a = TAKE(N * H);
        L->h2 = TAKE(N * H);
        L->u = TAKE(N * I);
        L->g = TAKE(N * I);
        L->m1 = TAKE(N);
        L->r1 = TAKE(N);
        L->m2 = TAKE(N);
        L->r2 = TAKE(N);
        L->out = TAKE(N * H);
        L->pmask = TAKEM(PT);
        L->amask = TAKEM(N * H);
        L->fmask = TAKEM(N * H);
    }
    if (keep) {
        a->dA = TAKE(N * H);
        a->dB = TAKE(N * H);
        a->dI = TAKE(N * I);
        a->dQKV = TAKE(N * 3 * H);
        a->dE1 = TAKE(N * E);
        a->dE2 = TAKE(N * E);
    }
#undef TAKE
#undef TAKEM
    return 0;
}

void b4k_bert_act_free(b4k_bert_act *a)
{
    if (!a) return;
    b4k_free(a->arena);
    free(a->mask_arena);
    free(a->L);
    free(a->lens);
    free(a->zseg);
    free(a->scratch);
    b4k_bert_act_bf16(a, NULL, NULL, B4K_BERT_F32);
    memset(a, 0, sizeof *a);
}

/* ---- bf16 weights ------------------------------------------------------------- */

struct b4k_bert_bf16 {
    int mode;
    int nblk;
    int *blk_p;                 /* (nblk) ptab index of each linear weight block */
    size_t *blk_n, *blk_off;    /* (nblk) elements, offset into wh */
    uint16_t *wh;               /* bf16 copies, packed */
    const b4k_ptab *tab;        /* the table wh was made from, at version */
    uint64_t version;
    int fresh;                  /* wh is valid for (tab, version) */
    long conversions;
    void *work;                 /* GEMM work (64-byte aligned) */
    size_t work_n;
};

static void bf16_free(b4k_bert_bf16 *bf)
{
    if (!bf) return;
    free(bf->blk_p);
    free(bf->blk_n);
    free(bf->blk_off);
    b4k_free(bf->wh);
    b4k_free(bf->work);
    free(bf);
}

int b4k_bert_act_bf16(b4k_bert_act *a, b4k_err *err, const b4k_bert *m, int mode)
{
    bf16_free(a->bf16);
    a->bf16 = NULL;
    if (mode == B4K_BERT_F32) return 0;
    const b4k_bert_config *c = &m->c;
    size_t H = (size_t)c->hidden, I = (size_t)c->inter, E = (size_t)b4k_bert_emb(c);
    int L = c->shared ? 1 : c->layers, cap = 4 * L + 1;
    b4k_bert_bf16 *bf = b4k_calloc(1, sizeof *bf);
    if (!bf || !(bf->blk_p = b4k_malloc_n((size_t)cap, sizeof *bf->blk_p)) ||
        !(bf->blk_n = b4k_malloc_n((size_t)cap, sizeof *bf->blk_n)) ||
        !(bf->blk_off = b4k_malloc_n((size_t)cap, sizeof *bf->blk_off)))
        goto nomem;
    bf->mode = mode;
    size_t off = 0;
#define BLK(p, n)                                                                      \
    do {                                                                             \
        bf->blk_p[bf->nblk] = (p), bf->blk_n[bf->nblk] = (n), bf->blk_off[bf->nblk] = off; \
        off += ((n) + 31) & ~(size_t)31; /* 64-byte aligned blocks */              \
        bf->nblk++;                                                                  \
    } while (0)
    if (m->p_proj_w >= 0) BLK(m->p_proj_w, H * E);
    for (int l = 0; l < L; l++) {
        const int *p = m->pl + (size_t)l * B4K_BL_N;
        BLK(p[B4K_BL_WQKV], 3 * H * H); /* query, key, value: one (3H,H) block */
        BLK(p[B4K_BL_WO], H * H);
        BLK(p[B4K_BL_W1], I * H);
        BLK(p[B4K_BL_W2], H * I);
    }
#undef BLK
    if (!(bf->wh = b4k_aligned_alloc(64, (off ? off : 32) * sizeof *bf->wh))) goto nomem;
    a->bf16 = bf;
    return 0;
nomem:
    bf16_free(bf);
    return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory for the bf16 weights");
}

long b4k_bert_bf16_conversions(const b4k_bert_act *a) { return a->bf16 ? a->bf16->conversions : 0; }

/* Remake the bf16 weights if the table changed since; size the GEMM work
 * for N rows on this pool. */
static int bf16_sync(b4k_bert_bf16 *bf, b4k_err *err, const b4k_bert_config *c,
                     const b4k_ptab *tab, int N, b4k_pool *pool)
{
    if (!bf->fresh || bf->tab != tab || bf->version != tab->version) {
        for (int k = 0; k < bf->nblk; k++)
            b4k_f32_to_bf16_row(bf->wh + bf->blk_off[k], b4k_ptab_w(tab, bf->blk_p[k]), bf->blk_n[k]);
        bf->tab = tab;
        bf->version = tab->version;
        bf->fresh = 1;
        bf->conversions++;
    }
    if (bf->mode == B4K_BERT_BF16_REF) return 0;
    int D = 3 * c->hidden; /* the widest layer: every GEMM fits (N, D, D) */
    if (c->inter > D) D = c->inter;
    if (b4k_bert_emb(c) > D) D = b4k_bert_emb(c);
    size_t need = b4k_linear_bf16_work(N, D, D, b4k_pool_size(pool));
    if (need > bf->work_n) {
        b4k_free(bf->work);
        bf->work_n = 0;
        if (!(bf->work = b4k_aligned_alloc(64, need)))
            return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory for the bf16 GEMM work");
        bf->work_n = need;
    }
    return 0;
}

static const uint16_t *bf16_w(const b4k_bert_bf16 *bf, int p)
{
    for (int k = 0; k < bf->nblk; k++)
        if (bf->blk_p[k] == p) return bf->wh + bf->blk_off[k];
    return NULL; /* not reached: every linear weight has a block */
}

/* y(N,O) = x(N,I) W^T + b for weight pw and bias pb, in the act's precision.
 * The bf16 GEMMs cannot fail here: their work is allocated (bf16_sync). */
static void lin_fwd(const b4k_bert_act *a, b4k_pool *pool, const b4k_ptab *tab, int pw, int pb,
                    float *y, const float *x, int N, int I, int O)
{
    const b4k_bert_bf16 *bf = a->bf16;
    const float *b = b4k_ptab_w(tab, pb);
    if (!bf)
        b4k_linear_fwd_par(pool, y, x, b4k_ptab_w(tab, pw), b, N, I, O);
    else if (bf->mode == B4K_BERT_BF16_REF)
        b4k_linear_bf16_fwd_ref(y, x, bf16_w(bf, pw), b, N, I, O);
    else
        (void)b4k_linear_bf16_fwd(pool, bf->work, y, x, bf16_w(bf, pw), b, N, I, O);
}

/* backward of lin_fwd: dx (written or added), dW and db accumulated */
static void lin_bwd(const b4k_bert_act *a, b4k_pool *pool, b4k_ptab *tab, int pw, int pb,
                    float *dx, int dx_add, const float *dy, const float *x, int N, int I, int O)
{
    const b4k_bert_bf16 *bf = a->bf16;
    float *dW = b4k_ptab_g(tab, pw), *db = b4k_ptab_g(tab, pb);
    if (!bf)
        b4k_nn_linear_bwd_par(pool, dx, dx_add, dW, db, dy, x, b4k_ptab_w(tab, pw), N, I, O);
    else if (bf->mode == B4K_BERT_BF16_REF)
        b4k_linear_bf16_bwd_ref(dx, dx_add, dW, db, dy, x, bf16_w(bf, pw), N, I, O);
    else
        (void)b4k_linear_bf16_bwd(pool, bf->work, dx, dx_add, dW, db, dy, x, bf16_w(bf, pw), N, I, O);
}

float *b4k_bert_out(const b4k_bert_act *a) { return a->L[a->keep ? a->layers - 1 : 0].out; }
float *b4k_bert_pre(const b4k_bert_act *a) { return a->L[a->keep ? a->layers - 1 : 0].h2; }

/* Per-thread attention scratch (b4k_attention_scratch), kept in the
 * activations and grown when a bigger pool comes. */
static float *att_scratch(b4k_bert_act *a, b4k_pool *pool)
{
    size_t need = b4k_attention_scratch(a->Tcap, pool);
    if (need > a->scratch_n) {
        free(a->scratch);
        a->scratch = b4k_malloc_n(need, sizeof(float));
        a->scratch_n = a->scratch ? need : 0;
    }
    return a->scratch;
}

/* ---- forward ----------------------------------------------------------------- */

static void add_rows(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

int b4k_bert_forward(const b4k_bert *m, const b4k_ptab *tab, b4k_bert_act *a, b4k_err *err,
                     const int32_t *ids, const int32_t *segs, const int32_t *lens, int B,
                     int T, int train, b4k_rng *rng, b4k_pool *pool)
{
    const b4k_bert_config *c = &m->c;
    int H = c->hidden, I = c->inter, NH = c->heads;
    if (B <= 0 || T <= 0 || B > a->Bcap || T > a->Tcap || T + c->pos_offset > c->max_pos)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "batch %dx%d exceeds %dx%d", B, T, a->Bcap,
                           a->Tcap);
    int N = B * T;
    for (int i = 0; i < N; i++) {
        if (ids[i] < 0 || ids[i] >= c->vocab)
            return b4k_err_set(err, B4K_ERANGE, NULL, 0, "token id %d out of vocabulary", ids[i]);
        if (segs && (segs[i] < 0 || segs[i] >= c->type_vocab))
            return b4k_err_set(err, B4K_ERANGE, NULL, 0, "segment id %d out of range", segs[i]);
    }
    int drop_h = train && c->drop_hidden > 0, drop_a = train && c->drop_attn > 0;
    if ((drop_h || drop_a) && !rng)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "dropout needs an rng");
    a->B = B;
    a->T = T;
    a->train = train;
    a->ids = ids;
    a->segs = segs;
    for (int b = 0; b < B; b++) a->lens[b] = lens[b] < 0 ? 0 : lens[b] > T ? T : lens[b];
    int rc;
    if (a->bf16 && (rc = bf16_sync(a->bf16, err, c, tab, N, pool))) return rc;

    /* embeddings: word + position (from pos_offset) + segment, LN, dropout,
     * then ALBERT's projection to H */
    int E = b4k_bert_emb(c);
    const float *we = b4k_ptab_w(tab, m->p_word), *pe = b4k_ptab_w(tab, m->p_pos),
                *te = b4k_ptab_w(tab, m->p_type);
    for (int b = 0; b < B; b++)
        b4k_embed_fwd(a->e_sum + (size_t)b * T * E, ids + (size_t)b * T,
                      segs ? segs + (size_t)b * T : a->zseg, we, pe, te, T, E, c->pos_offset);
    b4k_layernorm_fwd_par(pool, a->e_ln, a->e_mean, a->e_rstd, a->e_sum, b4k_ptab_w(tab, m->p_eln_g),
                          0, b4k_ptab_w(tab, m->p_eln_b), 0, N, E, c->ln_eps);
    float *ed = m->p_proj_w >= 0 ? a->e_drop : a->x0; /* (N,E) */
    if (drop_h) {
        b4k_nn_dropout_mask(a->e_mask, (size_t)N * E, c->drop_hidden, rng);
        b4k_nn_dropout_apply(ed, a->e_ln, a->e_mask, (size_t)N * E, c->drop_hidden);
    } else {
        memcpy(ed, a->e_ln, (size_t)N * E * sizeof(float));
    }
    if (m->p_proj_w >= 0) lin_fwd(a, pool, tab, m->p_proj_w, m->p_proj_b, a->x0, a->e_drop, N, E, H);

    float *scratch = att_scratch(a, pool);
    if (!scratch) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    const float *x = a->x0;
    for (int l = 0; l < c->layers; l++) {
        struct b4k_bert_lact *L = &a->L[a->keep ? l : 0];
        const int *p = m->pl + (size_t)l * B4K_BL_N;
        lin_fwd(a, pool, tab, p[B4K_BL_WQKV], p[B4K_BL_BQKV], L->qkv, x, N, H, 3 * H);
        if (drop_a) b4k_nn_dropout_mask(L->pmask, (size_t)B * NH * T * T, c->drop_attn, rng);
        b4k_attention_fwd(L->ctx, L->P, scratch, L->qkv, a->lens, drop_a ? L->pmask : NULL,
                          c->drop_attn, B, T, H, NH, 0, pool);
        /* h1 = x + drop(ctx Wo + bo) */
        lin_fwd(a, pool, tab, p[B4K_BL_WO], p[B4K_BL_BO], L->h1, L->ctx, N, H, H);
        if (drop_h) {
            b4k_nn_dropout_mask(L->amask, (size_t)N * H, c->drop_hidden, rng);
            b4k_nn_dropout_apply(L->h1, L->h1, L->amask, (size_t)N * H, c->drop_hidden);
        }
        add_rows(L->h1, x, (size_t)N * H);
        b4k_layernorm_fwd_par(pool, L->a, L->m1, L->r1, L->h1, b4k_ptab_w(tab, p[B4K_BL_LN1G]), 0,
                              b4k_ptab_w(tab, p[B4K_BL_LN1B]), 0, N, H, c->ln_eps);
        /* h2 = a + drop(gelu(a W1 + b1) W2 + b2) */
        lin_fwd(a, pool, tab, p[B4K_BL_W1], p[B4K_BL_B1], L->u, L->a, N, H, I);
        b4k_gelu_fwd_par(pool, L->g, L->u, (size_t)N * I, c->gelu_tanh);
        lin_fwd(a, pool, tab, p[B4K_BL_W2], p[B4K_BL_B2], L->h2, L->g, N, I, H);
        if (drop_h) {
            b4k_nn_dropout_mask(L->fmask, (size_t)N * H, c->drop_hidden, rng);
            b4k_nn_dropout_apply(L->h2, L->h2, L->fmask, (size_t)N * H, c->drop_hidden);
        }
        add_rows(L->h2, L->a, (size_t)N * H);
        b4k_layernorm_fwd_par(pool, L->out, L->m2, L->r2, L->h2, b4k_ptab_w(tab, p[B4K_BL_LN2G]), 0,
                              b4k_ptab_w(tab, p[B4K_BL_LN2B]), 0, N, H, c->ln_eps);
        x = L->out;
    }
    return 0;
}


/* ---- backward ---------------------------------------------------------------- */

int b4k_bert_backward(const b4k_bert *m, b4k_ptab *tab, b4k_bert_act *a, b4k_err *err,
                      float *dout, const float *dpre, b4k_pool *pool)
{
    const b4k_bert_config *c = &m->c;
    if (!a->keep)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "backward needs stored activations");
    int B = a->B, T = a->T, N = B * T, H = c->hidden, I = c->inter, NH = c->heads;
    int drop_h = a->train && c->drop_hidden > 0, drop_a = a->train && c->drop_attn > 0;
    float *scratch = att_scratch(a, pool);
    if (!scratch) return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    float *dx = dout;       /* gradient w.r.t. the current layer's output */
    float *dh_ = a->dA;     /* (N,H) */
    float *dt = a->dB;      /* (N,H) */
    for (int l = c->layers - 1; l >= 0; l--) {
        struct b4k_bert_lact *L = &a->L[l];
        const int *p = m->pl + (size_t)l * B4K_BL_N;
        const float *xin = l ? a->L[l - 1].out : a->x0;
        /* out = LN2(h2) */
        b4k_nn_ln_bwd(dh_, b4k_ptab_g(tab, p[B4K_BL_LN2G]), b4k_ptab_g(tab, p[B4K_BL_LN2B]), dx,
                      L->h2, L->m2, L->r2, b4k_ptab_w(tab, p[B4K_BL_LN2G]), 0, N, H);
        if (l == c->layers - 1 && dpre) add_rows(dh_, dpre, (size_t)N * H);
        /* h2 = a + drop(g W2 + b2):  dt = drop(dh2) */
        if (drop_h) b4k_nn_dropout_apply(dt, dh_, L->fmask, (size_t)N * H, c->drop_hidden);
        else memcpy(dt, dh_, (size_t)N * H * sizeof(float));
        lin_bwd(a, pool, tab, p[B4K_BL_W2], p[B4K_BL_B2], a->dI, 0, dt, L->g, N, I, H);
        b4k_nn_gelu_bwd_par(pool, a->dI, a->dI, L->u, (size_t)N * I, c->gelu_tanh);
        /* da = dh2 + dI W1 (into dh_) */
        lin_bwd(a, pool, tab, p[B4K_BL_W1], p[B4K_BL_B1], dh_, 1, a->dI, L->a, N, H, I);
        /* a = LN1(h1): dh1 into dx (dx is free now) */
        b4k_nn_ln_bwd(dx, b4k_ptab_g(tab, p[B4K_BL_LN1G]), b4k_ptab_g(tab, p[B4K_BL_LN1B]), dh_,
                      L->h1, L->m1, L->r1, b4k_ptab_w(tab, p[B4K_BL_LN1G]), 0, N, H);
        /* h1 = x + drop(ctx Wo + bo): dt = drop(dh1); dctx into dh_ */
        if (drop_h) b4k_nn_dropout_apply(dt, dx, L->amask, (size_t)N * H, c->drop_hidden);
        else memcpy(dt, dx, (size_t)N * H * sizeof(float));
        lin_bwd(a, pool, tab, p[B4K_BL_WO], p[B4K_BL_BO], dh_, 0, dt, L->ctx, N, H, H);
        b4k_nn_attention_bwd(a->dQKV, scratch, dh_, L->qkv, L->P, drop_a ? L->pmask : NULL,
                             c->drop_attn, B, T, H, NH, pool);
        /* qkv = x Wqkv + b: dx (residual, already dh1) += dQKV Wqkv */
        lin_bwd(a, pool, tab, p[B4K_BL_WQKV], p[B4K_BL_BQKV], dx, 1, a->dQKV, xin, N, H, 3 * H);
    }
    /* embeddings: x0 = [proj](drop(LN(e_sum))) */
    int E = b4k_bert_emb(c);
    float *de = dx; /* gradient w.r.t. the dropout output (N,E) */
    if (m->p_proj_w >= 0) {
        de = a->dE1;
        lin_bwd(a, pool, tab, m->p_proj_w, m->p_proj_b, de, 0, dx, a->e_drop, N, E, H);
    }
    float *dsum = m->p_proj_w >= 0 ? a->dE2 : dh_; /* (N,E) */
    if (drop_h) b4k_nn_dropout_apply(de, de, a->e_mask, (size_t)N * E, c->drop_hidden);
    b4k_nn_ln_bwd(dsum, b4k_ptab_g(tab, m->p_eln_g), b4k_ptab_g(tab, m->p_eln_b), de, a->e_sum,
                  a->e_mean, a->e_rstd, b4k_ptab_w(tab, m->p_eln_g), 0, N, E);
    b4k_nn_embed_bwd(b4k_ptab_g(tab, m->p_word), dsum, a->ids, N, E, c->vocab);
    float *gp = b4k_ptab_g(tab, m->p_pos), *gt = b4k_ptab_g(tab, m->p_type);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const float *r = dsum + ((size_t)b * T + t) * E;
            float *pp = gp + (size_t)(t + c->pos_offset) * E,
                  *tt = gt + (size_t)(a->segs ? a->segs[b * T + t] : 0) * E;
            for (int k = 0; k < E; k++) {
                pp[k] += r[k];
                tt[k] += r[k];
            }
        }
    return 0;
}
