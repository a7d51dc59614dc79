/* Parameter table and AdamW; see adamw.h. */
#include "nn/adamw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/cpu.h"
#include "nn/adamw_kern.h"

void b4k_ptab_init(b4k_ptab *tab) { memset(tab, 0, sizeof *tab); }

void b4k_ptab_free(b4k_ptab *tab)
{
    if (!tab) return;
    free(tab->t);
    b4k_free(tab->w);
    b4k_free(tab->g);
    memset(tab, 0, sizeof *tab);
}

int b4k_ptab_add(b4k_ptab *tab, b4k_err *err, const char *name, int rows, int cols, int decay)
{
    if (tab->w) return b4k_err_set(err, B4K_EINVAL, NULL, 0, "parameter table already laid out");
    if (rows <= 0 || strlen(name) >= sizeof tab->t[0].name)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "bad parameter %s", name);
    if (b4k_ptab_find(tab, name) >= 0)
        return b4k_err_set(err, B4K_EINVAL, NULL, 0, "duplicate parameter %s", name);
    if (B4K_GROW(tab->t, tab->cap, tab->n + 1))
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    b4k_ptensor *t = &tab->t[tab->n];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = cols > 0 ? 2 : 1;
    t->shape[0] = rows;
    t->shape[1] = cols > 0 ? cols : 1;
    t->n = (size_t)rows * (size_t)t->shape[1];
    t->decay = decay;
    t->lr_mult = 1.f;
    return tab->n++;
}

int b4k_ptab_alloc(b4k_ptab *tab, b4k_err *err)
{
    size_t off = 0;
    for (int i = 0; i < tab->n; i++) {
        tab->t[i].off = off;
        off += tab->t[i].n; /* packed: query/key/value form one (3C,C) block */
    }
    tab->total = off;
    size_t bytes = (off ? off : 16) * sizeof(float);
    tab->w = b4k_aligned_alloc(64, bytes);
    tab->g = b4k_aligned_alloc(64, bytes);
    if (!tab->w || !tab->g) {
        b4k_free(tab->w);
        b4k_free(tab->g);
        tab->w = tab->g = NULL;
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory for %zu parameters", off);
    }
    memset(tab->w, 0, bytes);
    memset(tab->g, 0, bytes);
    return 0;
}

int b4k_ptab_find(const b4k_ptab *tab, const char *name)
{
    for (int i = 0; i < tab->n; i++)
        if (!strcmp(tab->t[i].name, name)) return i;
    return -1;
}

void b4k_ptab_zero_grad(b4k_ptab *tab)
{
    if (tab->g) memset(tab->g, 0, tab->total * sizeof(float));
}

double b4k_ptab_grad_norm(const b4k_ptab *tab)
{
    /* four partial sums (fixed order, so deterministic) for throughput */
    double s[4] = {0, 0, 0, 0};
    const float *g = tab->g;
    size_t n = tab->total, k = 0;
    for (; k + 4 <= n; k += 4)
        for (int j = 0; j < 4; j++) s[j] += (double)g[k + j] * g[k + j];
    for (; k < n; k++) s[0] += (double)g[k] * g[k];
    return sqrt((s[0] + s[1]) + (s[2] + s[3]));
}

void b4k_adamw_kern_ref(float *w, float *m, float *v, const float *g, size_t n,
                        const b4k_adamw_kargs *a)
{
    for (size_t k = 0; k < n; k++) {
        float gk = g[k] * a->scale;
        m[k] = a->b1 * m[k] + (1.f - a->b1) * gk;
        v[k] = a->b2 * v[k] + (1.f - a->b2) * gk * gk;
        float denom = sqrtf(v[k]) * a->rbc2 + a->eps;
        w[k] = w[k] * a->decay - a->step_size * m[k] / denom;
    }
}

void b4k_adamw_defaults(b4k_adamw_opts *o)
{
    memset(o, 0, sizeof *o);
    o->lr = 2e-5f;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-6f;
    o->weight_decay = 0.01f;
}

int b4k_adamw_init(b4k_adamw *opt, b4k_err *err, const b4k_ptab *tab, const b4k_adamw_opts *o)
{
    memset(opt, 0, sizeof *opt);
    opt->o = *o;
    size_t bytes = (tab->total ? tab->total : 16) * sizeof(float);
    opt->m = b4k_aligned_alloc(64, bytes);
    opt->v = b4k_aligned_alloc(64, bytes);
    if (o->ema_decay > 0) {
        opt->ema = b4k_aligned_alloc(64, bytes);
        opt->swap = b4k_aligned_alloc(64, bytes);
    }
    if (!opt->m || !opt->v || (o->ema_decay > 0 && (!opt->ema || !opt->swap))) {
        b4k_adamw_free(opt);
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory for optimiser state");
    }
    memset(opt->m, 0, bytes);
    memset(opt->v, 0, bytes);
    if (opt->ema) memcpy(opt->ema, tab->w, tab->total * sizeof(float));
    return 0;
}

void b4k_adamw_free(b4k_adamw *opt)
{
    if (!opt) return;
    b4k_free(opt->m);
    b4k_free(opt->v);
    b4k_free(opt->ema);
    b4k_free(opt->swap);
    opt->m = opt->v = opt->ema = opt->swap = NULL;
}

float b4k_adamw_lr_at(const b4k_adamw_opts *o, long s)
{
    double f = 1.0;
    if (o->warmup_steps > 0 && s < o->warmup_steps) f = (double)(s + 1) / o->warmup_steps;
    else if (o->total_steps > 0) {
        long rest = o->total_steps - (o->warmup_steps > 0 ? o->warmup_steps : 0);
        long done = s - (o->warmup_steps > 0 ? o->warmup_steps : 0);
        f = rest > 0 ? (double)(rest - done) / rest : 0.0;
        if (f < 0) f = 0;
    }
    return (float)(o->lr * f);
}

void b4k_adamw_step(b4k_adamw *opt, b4k_ptab *tab, float grad_scale, double *gnorm)
{
    const b4k_adamw_opts *o = &opt->o;
    float scale = grad_scale;
    double norm = b4k_ptab_grad_norm(tab) * fabs(grad_scale);
    if (gnorm) *gnorm = norm;
    if (o->clip_norm > 0 && norm > o->clip_norm) scale *= (float)(o->clip_norm / (norm + 1e-6));
    float lr = b4k_adamw_lr_at(o, opt->step);
    opt->step++;
    double bc1 = 1.0 - pow(o->beta1, (double)opt->step);
    double bc2 = 1.0 - pow(o->beta2, (double)opt->step);
    float rbc2 = (float)(1.0 / sqrt(bc2));
    int avx2 = b4k_cpu_has(B4K_CPU_AVX2);
    for (int i = 0; i < tab->n; i++) {
        const b4k_ptensor *t = &tab->t[i];
        float lri = lr * t->lr_mult;
        float step_size = (float)(lri / bc1);
        float decay = t->decay ? 1.f - lri * o->weight_decay : 1.f;
        b4k_adamw_kargs ka = {scale, o->beta1, o->beta2, rbc2, o->eps, step_size, decay};
        float *w = tab->w + t->off, *g = tab->g + t->off;
        float *m = opt->m + t->off, *v = opt->v + t->off;
        if (avx2) b4k_adamw_kern_avx2(w, m, v, g, t->n, &ka);
        else b4k_adamw_kern_ref(w, m, v, g, t->n, &ka);
    }
    if (opt->ema) {
        float d = o->ema_decay;
        for (size_t k = 0; k < tab->total; k++) opt->ema[k] = d * opt->ema[k] + (1.f - d) * tab->w[k];
    }
    b4k_ptab_touch(tab);
}

void b4k_adamw_ema_apply(b4k_adamw *opt, b4k_ptab *tab)
{
    if (!opt->ema || opt->ema_applied) return;
    memcpy(opt->swap, tab->w, tab->total * sizeof(float));
    memcpy(tab->w, opt->ema, tab->total * sizeof(float));
    opt->ema_applied = 1;
    b4k_ptab_touch(tab);
}

void b4k_adamw_ema_restore(b4k_adamw *opt, b4k_ptab *tab)
{
    if (!opt->ema || !opt->ema_applied) return;
    memcpy(tab->w, opt->swap, tab->total * sizeof(float));
    opt->ema_applied = 0;
    b4k_ptab_touch(tab);
}
