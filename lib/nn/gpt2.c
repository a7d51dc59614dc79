#include "nn/gpt2.h"

#include <math.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdatomic.h>
#include <string.h>

#include "core/alloc.h"
#include "nn/ops.h"
#include "tensor/blas.h"

#define SMALL_T 8 /* forward calls with at most this many tokens use matvec */

typedef struct layer {
    const float *ln1_w, *ln1_b, *ln2_w, *ln2_b;
    b4k_wmat attn_w, proj_w, fc_w, fcp_w;
    const float *attn_b, *proj_b, *fc_b, *fcp_b;
} layer;

typedef struct spin_bar {
    int n;
    atomic_int count;
    atomic_int gen;
    atomic_int sleepers;
} spin_bar;

/* Dynamic split of the row-split decode phases (proj, fc, fcp, LM head):
 * the rows are cut into chunks of about WQ_BYTES, and thread i owns the
 * chunks [front,back) of an even share; it takes them from the front (one
 * sequential stream, as with a static split), and when its share is done
 * it takes chunks from the back of another thread's share.  A thread that
 * is slowed down (the VM's other tenants, a late wake-up) is helped instead
 * of waited for at the next barrier.  Every chunk is computed alone by the
 * same kernel (x converted once per phase, b4k_matmul_rows_more), so the
 * results do not depend on who computes what.  One share per thread and
 * per kind of phase (WQ_*), each on a cache line of its own; front in the
 * low 32 bits of fb, back in the high. */
enum { WQ_PROJ, WQ_FC, WQ_FCP, WQ_LM, WQ_N };
#define WQ_BYTES (48 << 10) /* weight bytes of a chunk of rows */

typedef struct wq_share {
    _Alignas(64) _Atomic uint64_t fb;
} wq_share;

struct b4k_gpt2 {
    b4k_gpt2_config cfg;
    b4k_model *model;
    b4k_pool *pool;
    int nthreads, slots, ctx, tmax, small;
    layer *L;
    b4k_wmat wte, lm;
    const float *wpe, *lnf_w, *lnf_b;
    float **owned;          /* f32 copies of vectors stored in other dtypes */
    int nowned;
    /* arena */
    float *arena;
    float *x, *xn, *qkv, *att, *fc, *tmp, *scratch;
    /* per-thread scratch (floats, each part 64-byte aligned): matvec
     * scratch, attention scores (tmax x ctx), a private (small,C) xn, and
     * the prefill GEMM's work */
    size_t scr_per_thread, mm_scratch, att_scratch, xn_scratch;
    float *kv;              /* (slots, L, 2, NH, ctx, HS) */
    spin_bar bar;
    wq_share *wq;           /* (WQ_N, nthreads) */
};

const b4k_gpt2_config *b4k_gpt2_cfg(const b4k_gpt2 *g) { return &g->cfg; }
int b4k_gpt2_ctx(const b4k_gpt2 *g) { return g->ctx; }

/* ---- config and weights ---------------------------------------------------- */

static int cfg_int(json_t *c, const char *const *keys, int *out)
{
    for (; *keys; keys++) {
        json_t *v = json_object_get(c, *keys);
        if (json_is_integer(v)) {
            json_int_t x = json_integer_value(v);
            if (x < 0 || x > (1 << 30))
                return -1;
            *out = (int)x;
            return 1;
        }
    }
    return 0;
}

int b4k_gpt2_config_parse(b4k_gpt2_config *cfg, const char *arch, json_t *config,
                          b4k_err *err)
{
    static const char *const k_layer[] = { "n_layer", "num_hidden_layers", NULL };
    static const char *const k_embd[] = { "n_embd", "hidden_size", NULL };
    static const char *const k_head[] = { "n_head", "num_attention_heads", NULL };
    static const char *const k_vocab[] = { "vocab_size", NULL };
    static const char *const k_ctx[] = { "n_ctx", "n_positions", "max_position_embeddings", NULL };
    static const char *const k_eos[] = { "eos_token_id", "eos_id", NULL };
    memset(cfg, 0, sizeof *cfg);
    if (!arch || (strcmp(arch, "gpt2") && strcmp(arch, "cpm")))
        return b4k_err_set(err, B4K_EFORMAT, NULL, 0,
                           "architecture is \"%s\", expected \"gpt2\" or \"cpm\"",
                           arch ? arch : "(none)");
    if (!json_is_object(config))
        return b4k_err_set(err, B4K_EFORMAT, NULL, 0, "model has no config object");
    struct { const char *const *k; int *v; } need[] = {
        { k_layer, &cfg->n_layer }, { k_embd, &cfg->n_embd }, { k_head, &cfg->n_head },
        { k_vocab, &cfg->vocab }, { k_ctx, &cfg->n_ctx } };
    for (size_t i = 0; i < sizeof need / sizeof *need; i++) {
        int r = cfg_int(config, need[i].k, need[i].v);
        if (r <= 0 || *need[i].v <= 0)
            return b4k_err_set(err, B4K_EFORMAT, NULL, 0, "config: %s missing or invalid",
                               need[i].k[0]);
    }
    if (cfg->n_embd % cfg->n_head)
        return b4k_err_set(err, B4K_EFORMAT, NULL, 0, "config: n_embd %d not a multiple of n_head %d",
                           cfg->n_embd, cfg->n_head);
    cfg->eos_id = -1;
    if (cfg_int(config, k_eos, &cfg->eos_id) < 0 || cfg->eos_id >= cfg->vocab)
        cfg->eos_id = -1;
    cfg->eps = 1e-5f;
    json_t *e = json_object_get(config, "layer_norm_epsilon");
    if (!e)
        e = json_object_get(config, "layer_norm_eps");
    if (json_is_number(e))
        cfg->eps = (float)json_number_value(e);
    json_t *a = json_object_get(config, "activation");
    if (!a)
        a = json_object_get(config, "activation_function");
    if (json_is_string(a)) {
        const char *s = json_string_value(a);
        if (!strcmp(s, "gelu") || !strcmp(s, "gelu_erf"))
            cfg->gelu_erf = 1;
        else if (strcmp(s, "gelu_new") && strcmp(s, "gelu_tanh") && strcmp(s, "gelu_pytorch_tanh"))
            return b4k_err_set(err, B4K_EUNSUP, NULL, 0, "config: unsupported activation \"%s\"", s);
    }
    return 0;
}

static int get_mat(b4k_gpt2 *g, const char *name, int rows, int cols, b4k_wmat *w, b4k_err *err)
{
    b4k_tensor_view v;
    int rc = b4k_model_get(g->model, name, &v, err);
    if (rc)
        return rc;
    if (v.ndim != 2 || v.shape[0] != rows || v.shape[1] != cols)
        return b4k_err_set(err, B4K_EFORMAT, NULL, 0, "tensor %s: expected shape (%d,%d)", name,
                           rows, cols);
    if (v.dtype != B4K_F32 && v.dtype != B4K_F16 && v.dtype != B4K_BF16 && v.dtype != B4K_Q8)
        return b4k_err_set(err, B4K_EFORMAT, NULL, 0, "tensor %s: dtype %s is not a float type",
                           name, b4k_dtype_name(v.dtype));
    if (v.dtype == B4K_Q8 && cols % 32)
        return b4k_err_set(err, B4K_EUNSUP, NULL, 0, "tensor %s: q8 needs columns %% 32 == 0",
                           name);
    w->type = v.dtype;
    w->rows = rows;
    w->cols = cols;
    w->data = v.data;
    w->scales = v.dtype == B4K_Q8 ? b4k_q8_scales(v.data, rows, cols) : NULL;
    return 0;
}

static int get_vec(b4k_gpt2 *g, const char *name, size_t n, size_t k, const float **out,
                   b4k_err *err)
{
    b4k_tensor_view v;
    int rc = b4k_model_get(g->model, name, &v, err);
    if (rc)
        return rc;
    size_t numel = 1;
    for (int i = 0; i < v.ndim; i++)
        numel *= (size_t)v.shape[i];
    if (numel != n || (k > 1 && (v.ndim != 2 || (size_t)v.shape[1] != k)) ||
        (k <= 1 && v.ndim != 1))
        return b4k_err_set(err, B4K_EFORMAT, NULL, 0, "tensor %s: unexpected shape", name);
    if (v.dtype == B4K_F32) {
        *out = v.data;
        return 0;
    }
    float *f = b4k_malloc_n(n, sizeof *f);
    if (!f)
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    g->owned[g->nowned++] = f;
    if (b4k_dtype_to_f32(f, v.dtype, v.data, n, k > 1 ? k : n))
        return b4k_err_set(err, B4K_EFORMAT, NULL, 0, "tensor %s: dtype %s is not a float type",
                           name, b4k_dtype_name(v.dtype));
    *out = f;
    return 0;
}

static int load_weights(b4k_gpt2 *g, b4k_err *err)
{
    const b4k_gpt2_config *c = &g->cfg;
    int C = c->n_embd, rc;
    char nm[128];
    g->owned = b4k_calloc((size_t)c->n_layer * 12 + 8, sizeof *g->owned);
    g->L = b4k_calloc((size_t)c->n_layer, sizeof *g->L);
    if (!g->owned || !g->L)
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    if ((rc = get_mat(g, "wte.weight", c->vocab, C, &g->wte, err)) ||
        (rc = get_vec(g, "wpe.weight", (size_t)c->n_ctx * C, C, &g->wpe, err)) ||
        (rc = get_vec(g, "ln_f.weight", C, 1, &g->lnf_w, err)) ||
        (rc = get_vec(g, "ln_f.bias", C, 1, &g->lnf_b, err)))
        return rc;
    g->lm = g->wte;
    if (b4k_model_has(g->model, "lm_head.weight") &&
        (rc = get_mat(g, "lm_head.weight", c->vocab, C, &g->lm, err)))
        return rc;
    g->cfg.wdtype = g->wte.type;
    for (int l = 0; l < c->n_layer; l++) {
        layer *y = &g->L[l];
#define V(field, nmfmt, n)                                                   \
        snprintf(nm, sizeof nm, "h.%d." nmfmt, l);                           \
        if ((rc = get_vec(g, nm, (n), 1, &y->field, err)))                    \
            return rc;
#define M(field, nmfmt, r, k)                                                \
        snprintf(nm, sizeof nm, "h.%d." nmfmt, l);                           \
        if ((rc = get_mat(g, nm, (r), (k), &y->field, err)))                  \
            return rc;
        V(ln1_w, "ln_1.weight", C) V(ln1_b, "ln_1.bias", C)
        V(ln2_w, "ln_2.weight", C) V(ln2_b, "ln_2.bias", C)
        M(attn_w, "attn.c_attn.weight", 3 * C, C) V(attn_b, "attn.c_attn.bias", 3 * C)
        M(proj_w, "attn.c_proj.weight", C, C) V(proj_b, "attn.c_proj.bias", C)
        M(fc_w, "mlp.c_fc.weight", 4 * C, C) V(fc_b, "mlp.c_fc.bias", 4 * C)
        M(fcp_w, "mlp.c_proj.weight", C, 4 * C) V(fcp_b, "mlp.c_proj.bias", C)
#undef V
#undef M
    }
    return 0;
}

size_t b4k_gpt2_weight_bytes(const b4k_gpt2 *g)
{
    size_t n = b4k_wmat_bytes(&g->lm);
    for (int l = 0; l < g->cfg.n_layer; l++)
        n += b4k_wmat_bytes(&g->L[l].attn_w) + b4k_wmat_bytes(&g->L[l].proj_w) +
             b4k_wmat_bytes(&g->L[l].fc_w) + b4k_wmat_bytes(&g->L[l].fcp_w);
    return n;
}

int b4k_gpt2_new(b4k_gpt2 **out, b4k_model *m, const b4k_gpt2_opts *opts, b4k_err *err)
{
    *out = NULL;
    b4k_gpt2 *g = b4k_calloc(1, sizeof *g);
    if (!g)
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    int rc = b4k_gpt2_config_parse(&g->cfg, b4k_model_arch(m), b4k_model_config(m), err);
    if (rc)
        goto fail;
    g->model = m;
    if ((rc = load_weights(g, err)))
        goto fail;
    const b4k_gpt2_config *c = &g->cfg;
    g->nthreads = opts && opts->threads > 0 ? opts->threads : b4k_ncpu();
    g->slots = opts && opts->slots > 0 ? opts->slots : 1;
    g->ctx = opts && opts->ctx > 0 && opts->ctx < c->n_ctx ? opts->ctx : c->n_ctx;
    g->small = g->slots > SMALL_T ? g->slots : SMALL_T;
    g->tmax = opts && opts->max_tokens > 0 ? opts->max_tokens : 256;
    if (g->tmax < g->small)
        g->tmax = g->small;
    g->pool = b4k_pool_new(g->nthreads);
    if (!g->pool) {
        rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "cannot start %d threads", g->nthreads);
        goto fail;
    }
    /* prefill runs one single-threaded BLAS call per thread of the pool (see
     * run_big): OpenBLAS's own threads would spin between the calls and
     * fight the pool's */
    b4k_blas_set_threads(1);
    g->bar.n = g->nthreads;

    size_t C = (size_t)c->n_embd, T = (size_t)g->tmax, mm = 0, big = 0;
    const b4k_wmat *all[] = { &g->lm, &g->L[0].attn_w, &g->L[0].proj_w, &g->L[0].fc_w,
                              &g->L[0].fcp_w };
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        size_t s = b4k_matmul_scratch(all[i], g->small),
               b = (b4k_matmul_big_work(all[i], g->tmax) + 3) / sizeof(float);
        mm = s > mm ? s : mm;
        big = b > big ? b : big;
    }
#define A16(n) (((size_t)(n) + 15) & ~(size_t)15)
    g->mm_scratch = A16(mm);
    g->att_scratch = A16(T * (size_t)g->ctx);
    g->xn_scratch = A16((size_t)g->small * C);
    g->scr_per_thread = g->mm_scratch + g->att_scratch + g->xn_scratch + A16(big);
    size_t sizes[] = { T * C, T * C, T * 3 * C, T * C, T * 4 * C, T * C,
                       g->scr_per_thread * g->nthreads };
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        total += A16(sizes[i]);
    g->arena = b4k_aligned_alloc(64, total * sizeof(float));
    size_t kvn = (size_t)g->slots * c->n_layer * 2 * C * g->ctx;
    g->kv = b4k_calloc(kvn, sizeof(float)); /* lazily backed by the OS */
    g->wq = b4k_aligned_alloc(64, (size_t)WQ_N * g->nthreads * sizeof *g->wq);
    if (!g->arena || !g->kv || !g->wq) {
        rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory for activations / KV cache");
        goto fail;
    }
    float **ptrs[] = { &g->x, &g->xn, &g->qkv, &g->att, &g->fc, &g->tmp, &g->scratch };
    float *p = g->arena;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        *ptrs[i] = p;
        p += A16(sizes[i]);
    }
#undef A16
    *out = g;
    return 0;
fail:
    b4k_gpt2_free(g);
    return rc;
}

void b4k_gpt2_free(b4k_gpt2 *g)
{
    if (!g)
        return;
    b4k_pool_free(g->pool);
    for (int i = 0; i < g->nowned; i++)
        b4k_free(g->owned[i]);
    b4k_free(g->owned);
    b4k_free(g->L);
    b4k_free(g->arena);
    b4k_free(g->kv);
    b4k_free(g->wq);
    b4k_free(g);
}

/* ---- helpers ------------------------------------------------------------- */

static inline float *kv_at(const b4k_gpt2 *g, int slot, int l, int which, int h)
{
    const b4k_gpt2_config *c = &g->cfg;
    size_t HS = (size_t)c->n_embd / c->n_head;
    return g->kv + ((((size_t)slot * c->n_layer + l) * 2 + which) * c->n_head + h) * g->ctx * HS;
}

static void embed_one(const b4k_gpt2 *g, float *o, int id, int pos)
{
    int C = g->cfg.n_embd;
    b4k_wmat_rows_f32(o, &g->wte, id, id + 1);
    const float *p = g->wpe + (size_t)pos * C;
    for (int c = 0; c < C; c++)
        o[c] += p[c];
}

static void gelu(const b4k_gpt2 *g, float *x, size_t n)
{
    if (g->cfg.gelu_erf)
        b4k_gelu_erf_fwd(x, x, n);
    else
        b4k_gelu_tanh_fwd(x, x, n);
}

/* Barrier between the phases of a decode step: spin briefly (phases last
 * microseconds), then sleep on a futex so that an oversubscribed machine does
 * not burn the time slice the other thread needs. */
static void bar_wait(spin_bar *b)
{
    if (b->n <= 1)
        return;
    int gen = atomic_load_explicit(&b->gen, memory_order_acquire);
    if (atomic_fetch_add_explicit(&b->count, 1, memory_order_acq_rel) == b->n - 1) {
        atomic_store_explicit(&b->count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->gen, 1, memory_order_release);
        if (atomic_load_explicit(&b->sleepers, memory_order_acquire))
            syscall(SYS_futex, &b->gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
        return;
    }
    for (int spins = 0; spins < 4000; spins++) {
        if (atomic_load_explicit(&b->gen, memory_order_acquire) != gen)
            return;
        __builtin_ia32_pause();
    }
    atomic_fetch_add_explicit(&b->sleepers, 1, memory_order_acq_rel);
    while (atomic_load_explicit(&b->gen, memory_order_acquire) == gen)
        syscall(SYS_futex, &b->gen, FUTEX_WAIT_PRIVATE, gen, NULL, NULL, 0);
    atomic_fetch_sub_explicit(&b->sleepers, 1, memory_order_acq_rel);
}

static int check_ids(const b4k_gpt2 *g, const int *ids, int n, b4k_err *err)
{
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= g->cfg.vocab)
            return b4k_err_set(err, B4K_ERANGE, NULL, 0, "token id %d outside the vocabulary (%d)",
                               ids[i], g->cfg.vocab);
    return 0;
}

/* ---- small-T forward: one pool run, spin barriers between phases ----------- */

typedef struct step_job {
    b4k_gpt2 *g;
    int T;
    const int *slots, *ids, *pos;
    float *logits;
    int lrow0, lrows; /* rows of xn that get logits */
} step_job;

static void ln_all(float *out, const float *x, const float *w, const float *b, int T, int C,
                   float eps)
{
    b4k_layernorm_fwd(out, NULL, NULL, x, w, b, T, C, eps);
}

/* x[t][r] += y[t][r] for the T rows (leading dimension ld) and the
 * columns [r0,r1) that this thread computed: the residual add. */
static void add_cols(float *x, const float *y, int ld, int T, int r0, int r1)
{
    for (int t = 0; t < T; t++)
        for (int r = r0; r < r1; r++)
            x[(size_t)t * ld + r] += y[(size_t)t * ld + r];
}

/* Rows in a chunk of w for the dynamic split: about WQ_BYTES, whole
 * 16-row groups. */
static int wq_rows(const b4k_wmat *w)
{
    size_t K = (size_t)w->cols, rb = w->type == B4K_F32 ? 4 * K : w->type == B4K_Q8 ? K : 2 * K;
    int r = (int)(WQ_BYTES / rb) & ~15;
    return r < 16 ? 16 : r;
}

/* Set this thread's share of the chunks of w for phase kind k.  Called
 * before the barrier that starts the phase: nobody touches the share
 * between the barrier that ended its last use and that one. */
static void wq_init(b4k_gpt2 *g, int k, const b4k_wmat *w, int tid, int nt)
{
    int cr = wq_rows(w);
    long long nch = (w->rows + cr - 1) / cr;
    uint64_t f = (uint64_t)(nch * tid / nt), b = (uint64_t)(nch * (tid + 1) / nt);
    atomic_store_explicit(&g->wq[k * nt + tid].fb, f | b << 32, memory_order_relaxed);
}

/* The next chunk for thread tid, or -1 when all are taken. */
static int wq_next(b4k_gpt2 *g, int k, int tid, int nt)
{
    wq_share *s = g->wq + (size_t)k * nt;
    /* own share, from the front: the owner alone moves the front, so a
     * fetch_add; it may pass the back, which then only says "empty" */
    uint64_t v = atomic_fetch_add_explicit(&s[tid].fb, 1, memory_order_relaxed);
    if ((uint32_t)v < (uint32_t)(v >> 32))
        return (int)(uint32_t)v;
    for (int i = 1; i < nt; i++) {
        wq_share *o = &s[(tid + i) % nt];
        v = atomic_load_explicit(&o->fb, memory_order_relaxed);
        while ((uint32_t)v < (uint32_t)(v >> 32))
            if (atomic_compare_exchange_weak_explicit(&o->fb, &v, v - ((uint64_t)1 << 32),
                                                      memory_order_relaxed,
                                                      memory_order_relaxed))
                return (int)(v >> 32) - 1;
    }
    return -1;
}

/* out = x w^T + bias over the chunks of phase kind k this thread gets; then
 * resid += out (if resid) or GELU (if act) on those rows. */
static void mm_dyn(b4k_gpt2 *g, int k, float *out, int ldo, const float *x, const b4k_wmat *w,
                   const float *bias, int T, int tid, int nt, float *scr, float *resid, int act)
{
    int cr = wq_rows(w), ch, first = 1;
    while ((ch = wq_next(g, k, tid, nt)) >= 0) {
        int r0 = ch * cr, r1 = r0 + cr < w->rows ? r0 + cr : w->rows;
        if (first)
            b4k_matmul_rows(out, ldo, x, w, bias, T, r0, r1, scr);
        else
            b4k_matmul_rows_more(out, ldo, x, w, bias, T, r0, r1, scr);
        first = 0;
        if (resid)
            add_cols(resid, out, ldo, T, r0, r1);
        if (act)
            for (int t = 0; t < T; t++)
                gelu(g, out + (size_t)t * ldo + r0, (size_t)(r1 - r0));
    }
}

/* Four barriers per layer: every thread normalises all T rows itself (a few
 * microseconds) instead of waiting for one thread to do it; each thread
 * computes q, k and v of its own heads (heads split evenly), stores k and v
 * in the cache and runs those heads' attention without waiting.  The other
 * matrix products are split dynamically (wq_share). */
static void step_thread(void *ctx, int tid, int nt)
{
    step_job *j = ctx;
    b4k_gpt2 *g = j->g;
    const b4k_gpt2_config *c = &g->cfg;
    int T = j->T, C = c->n_embd, NH = c->n_head, HS = C / NH;
    float *scr = g->scratch + (size_t)tid * g->scr_per_thread, *asc = scr + g->mm_scratch;
    float *xn = asc + g->att_scratch; /* private (T,C) */
    int h0 = NH * tid / nt, h1 = NH * (tid + 1) / nt; /* this thread's heads */
    for (int t = tid; t < T; t += nt)
        embed_one(g, g->x + (size_t)t * C, j->ids[t], j->pos[t]);
    bar_wait(&g->bar);
    for (int l = 0; l < c->n_layer; l++) {
        const layer *y = &g->L[l];
        ln_all(xn, g->x, y->ln1_w, y->ln1_b, T, C, c->eps);
        /* q, k and v of this thread's heads, then their attention: no
         * barrier between the two.  A static split, so that q, k and v are
         * one stream of rows each (a dynamic split by heads, three short
         * streams a head, measured no faster) */
        for (int which = 0; which < 3; which++) {
            int o = which * C;
            if (which == 0)
                b4k_matmul_rows(g->qkv, 3 * C, xn, &y->attn_w, y->attn_b, T, o + h0 * HS,
                                o + h1 * HS, scr);
            else
                b4k_matmul_rows_more(g->qkv, 3 * C, xn, &y->attn_w, y->attn_b, T, o + h0 * HS,
                                     o + h1 * HS, scr);
        }
        for (int t = 0; t < T; t++)
            for (int which = 0; which < 2; which++)
                for (int h = h0; h < h1; h++)
                    memcpy(kv_at(g, j->slots[t], l, which, h) + (size_t)j->pos[t] * HS,
                           g->qkv + (size_t)t * 3 * C + (size_t)(which + 1) * C + (size_t)h * HS,
                           (size_t)HS * sizeof(float));
        for (int t = 0; t < T; t++)
            for (int h = h0; h < h1; h++)
                b4k_attention_cached_row(g->att + (size_t)t * C + (size_t)h * HS, asc,
                                         g->qkv + (size_t)t * 3 * C + (size_t)h * HS,
                                         kv_at(g, j->slots[t], l, 0, h),
                                         kv_at(g, j->slots[t], l, 1, h), HS, j->pos[t] + 1);
        wq_init(g, WQ_PROJ, &y->proj_w, tid, nt);
        bar_wait(&g->bar);
        mm_dyn(g, WQ_PROJ, g->tmp, C, g->att, &y->proj_w, y->proj_b, T, tid, nt, scr, g->x, 0);
        wq_init(g, WQ_FC, &y->fc_w, tid, nt);
        bar_wait(&g->bar);
        ln_all(xn, g->x, y->ln2_w, y->ln2_b, T, C, c->eps);
        mm_dyn(g, WQ_FC, g->fc, 4 * C, xn, &y->fc_w, y->fc_b, T, tid, nt, scr, NULL, 1);
        wq_init(g, WQ_FCP, &y->fcp_w, tid, nt);
        bar_wait(&g->bar);
        mm_dyn(g, WQ_FCP, g->tmp, C, g->fc, &y->fcp_w, y->fcp_b, T, tid, nt, scr, g->x, 0);
        if (l + 1 == c->n_layer && j->logits)
            wq_init(g, WQ_LM, &g->lm, tid, nt);
        bar_wait(&g->bar);
    }
    if (j->logits) {
        ln_all(xn, g->x + (size_t)j->lrow0 * C, g->lnf_w, g->lnf_b, j->lrows, C, c->eps);
        mm_dyn(g, WQ_LM, j->logits, c->vocab, xn, &g->lm, NULL, j->lrows, tid, nt, scr, NULL,
               0);
    }
}

static void run_small(b4k_gpt2 *g, int T, const int *slots, const int *ids, const int *pos,
                      float *logits, int lrow0, int lrows)
{
    step_job j = { g, T, slots, ids, pos, logits, lrow0, lrows };
    atomic_store(&g->bar.count, 0);
    b4k_pool_run(g->pool, step_thread, &j);
}

/* ---- large-T forward (prefill): GEMMs, one pool run ------------------------- */

typedef struct big_job {
    b4k_gpt2 *g;
    int slot, T, pos0, all;
    const int *ids;
    float *logits;
} big_job;

/* Causal attention of heads [h0,h1) for T queries at pos0.. against the
 * cache (which holds positions 0..pos0+T-1 of this layer): per head
 * P(T,S) = q K^T / sqrt(HS), masked softmax, out = P V; two sgemm. */
static void big_attention(b4k_gpt2 *g, int slot, int l, int T, int pos0, int h0, int h1,
                          float *P)
{
    const b4k_gpt2_config *c = &g->cfg;
    int C = c->n_embd, HS = C / c->n_head, S = pos0 + T;
    float scale = 1.0f / sqrtf((float)HS);
    for (int h = h0; h < h1; h++) {
        const float *K = kv_at(g, slot, l, 0, h), *Vv = kv_at(g, slot, l, 1, h);
        b4k_sgemm(0, 1, T, S, HS, scale, g->qkv + (size_t)h * HS, 3 * C, K, HS, 0.0f, P, S);
        for (int t = 0; t < T; t++)
            b4k_softmax_rows_fwd(P + (size_t)t * S, 1, S, pos0 + t + 1);
        b4k_sgemm(0, 0, T, HS, S, 1.0f, P, S, Vv, HS, 0.0f, g->att + (size_t)h * HS, C);
    }
}

/* The whole forward of T tokens on every thread: rows (tokens) split for
 * the embedding and LayerNorms, output columns for the GEMMs (each thread
 * one single-threaded GEMM on its columns, then the bias / GELU / residual
 * on the same columns while they are in cache), heads for the attention.
 * Seven barriers per layer. */
static void big_thread(void *ctx, int tid, int nt)
{
    big_job *j = ctx;
    b4k_gpt2 *g = j->g;
    const b4k_gpt2_config *c = &g->cfg;
    int T = j->T, C = c->n_embd, NH = c->n_head, HS = C / NH, V = c->vocab;
    float *scr = g->scratch + (size_t)tid * g->scr_per_thread, *P = scr + g->mm_scratch;
    float *xn1 = P + g->att_scratch;
    void *work = xn1 + g->xn_scratch;
    int t0 = (int)((long long)T * tid / nt), t1 = (int)((long long)T * (tid + 1) / nt);
    int h0 = NH * tid / nt, h1 = NH * (tid + 1) / nt, r0, r1;
    for (int t = t0; t < t1; t++)
        embed_one(g, g->x + (size_t)t * C, j->ids[t], j->pos0 + t);
    for (int l = 0; l < c->n_layer; l++) {
        const layer *y = &g->L[l];
        ln_all(g->xn + (size_t)t0 * C, g->x + (size_t)t0 * C, y->ln1_w, y->ln1_b, t1 - t0, C,
               c->eps);
        bar_wait(&g->bar);
        b4k_matmul_split(3 * C, tid, nt, &r0, &r1);
        b4k_matmul_big_rows(g->qkv, 3 * C, g->xn, &y->attn_w, y->attn_b, T, r0, r1, work);
        /* k and v of these columns into the cache, a head's run at a time */
        for (int r = r0 > C ? r0 : C; r < r1;) {
            int which = r >= 2 * C, h = (r - C - which * C) / HS, i = (r - C - which * C) % HS;
            int n = HS - i < r1 - r ? HS - i : r1 - r;
            float *dst = kv_at(g, j->slot, l, which, h) + (size_t)j->pos0 * HS + i;
            for (int t = 0; t < T; t++)
                memcpy(dst + (size_t)t * HS, g->qkv + (size_t)t * 3 * C + r, (size_t)n * sizeof(float));
            r += n;
        }
        bar_wait(&g->bar);
        big_attention(g, j->slot, l, T, j->pos0, h0, h1, P);
        bar_wait(&g->bar);
        b4k_matmul_split(C, tid, nt, &r0, &r1);
        b4k_matmul_big_rows(g->tmp, C, g->att, &y->proj_w, y->proj_b, T, r0, r1, work);
        add_cols(g->x, g->tmp, C, T, r0, r1);
        bar_wait(&g->bar);
        ln_all(g->xn + (size_t)t0 * C, g->x + (size_t)t0 * C, y->ln2_w, y->ln2_b, t1 - t0, C,
               c->eps);
        bar_wait(&g->bar);
        b4k_matmul_split(4 * C, tid, nt, &r0, &r1);
        b4k_matmul_big_rows(g->fc, 4 * C, g->xn, &y->fc_w, y->fc_b, T, r0, r1, work);
        for (int t = 0; t < T; t++)
            gelu(g, g->fc + (size_t)t * 4 * C + r0, (size_t)(r1 - r0));
        bar_wait(&g->bar);
        b4k_matmul_split(C, tid, nt, &r0, &r1);
        b4k_matmul_big_rows(g->tmp, C, g->fc, &y->fcp_w, y->fcp_b, T, r0, r1, work);
        add_cols(g->x, g->tmp, C, T, r0, r1);
        bar_wait(&g->bar);
    }
    if (!j->logits)
        return;
    b4k_matmul_split(V, tid, nt, &r0, &r1);
    if (j->all) {
        ln_all(g->xn + (size_t)t0 * C, g->x + (size_t)t0 * C, g->lnf_w, g->lnf_b, t1 - t0, C,
               c->eps);
        bar_wait(&g->bar);
        b4k_matmul_big_rows(j->logits, V, g->xn, &g->lm, NULL, T, r0, r1, work);
    } else {
        /* only the last position's logits: a matvec over the LM head */
        ln_all(xn1, g->x + (size_t)(T - 1) * C, g->lnf_w, g->lnf_b, 1, C, c->eps);
        b4k_matmul_rows(j->logits, V, xn1, &g->lm, NULL, 1, r0, r1, scr);
    }
}

static void run_big(b4k_gpt2 *g, int slot, const int *ids, int T, int pos0, float *logits,
                    int all)
{
    big_job j = { g, slot, T, pos0, all, ids, logits };
    atomic_store(&g->bar.count, 0);
    b4k_pool_run(g->pool, big_thread, &j);
}

/* ---- public forward calls ------------------------------------------------- */

int b4k_gpt2_prefill(b4k_gpt2 *g, int slot, const int *ids, int T, int pos0, float *logits,
                     int all, b4k_err *err)
{
    if (slot < 0 || slot >= g->slots || T <= 0 || pos0 < 0)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "bad prefill arguments");
    if (pos0 + T > g->ctx)
        return b4k_err_set(err, B4K_ERANGE, NULL, 0,
                           "%d tokens exceed the context of %d positions", pos0 + T, g->ctx);
    int rc = check_ids(g, ids, T, err);
    if (rc)
        return rc;
    int V = g->cfg.vocab;
    int pos[SMALL_T], slots[SMALL_T];
    for (int done = 0; done < T;) {
        int n = T - done;
        if (n > g->tmax)
            n = g->tmax;
        int last = done + n == T;
        float *lg = logits ? (all ? logits + (size_t)done * V : last ? logits : NULL) : NULL;
        if (n <= SMALL_T) {
            for (int i = 0; i < n; i++) {
                pos[i] = pos0 + done + i;
                slots[i] = slot;
            }
            run_small(g, n, slots, ids + done, pos, lg, all ? 0 : n - 1, lg ? (all ? n : 1) : 0);
        } else {
            run_big(g, slot, ids + done, n, pos0 + done, lg, all);
        }
        done += n;
    }
    return 0;
}

int b4k_gpt2_step(b4k_gpt2 *g, int B, const int *slots, const int *ids, const int *pos,
                  float *logits, b4k_err *err)
{
    if (B <= 0 || B > g->small)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "bad step batch %d", B);
    for (int b = 0; b < B; b++) {
        if (slots[b] < 0 || slots[b] >= g->slots || pos[b] < 0)
            return b4k_err_set(err, B4K_EINVAL, NULL, 0, "bad step slot/position");
        if (pos[b] >= g->ctx)
            return b4k_err_set(err, B4K_ERANGE, NULL, 0, "position %d exceeds the context of %d",
                               pos[b], g->ctx);
    }
    int rc = check_ids(g, ids, B, err);
    if (rc)
        return rc;
    run_small(g, B, slots, ids, pos, logits, 0, logits ? B : 0);
    return 0;
}

void b4k_gpt2_copy_slot(b4k_gpt2 *g, int dst, int src, int n)
{
    if (dst == src || n <= 0)
        return;
    const b4k_gpt2_config *c = &g->cfg;
    size_t HS = (size_t)c->n_embd / c->n_head;
    for (int l = 0; l < c->n_layer; l++)
        for (int w = 0; w < 2; w++)
            for (int h = 0; h < c->n_head; h++)
                memcpy(kv_at(g, dst, l, w, h), kv_at(g, src, l, w, h), (size_t)n * HS * sizeof(float));
}
