/* Golden tests of the GPT-2 decoder against torch (test/ref/gpt2_golden.py):
 * logits at every position through the uncached prefill, through the cached
 * path (prefill then one-token steps), several slots at once, greedy
 * continuations; bf16 and q8 files against torch on the rounded weights. */
#include <stdio.h>
#include <stdlib.h>

#include <unistd.h>

#include "convert/convert.h"
#include "core/alloc.h"
#include "core/cpu.h"
#include "io/jsonl.h"
#include "model/model.h"
#include "nn/gpt2.h"
#include "t.h"

#define DIR "test/golden/gen/"

static json_t *meta;
static int nprompt, V;

static const char *top(void)
{
    const char *t = getenv("TOP");
    return t ? t : ".";
}

static float *load_f32(const char *name, size_t *n)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/" DIR "%s", top(), name);
    FILE *f = fopen(p, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    float *v = malloc((size_t)sz);
    *n = fread(v, 1, (size_t)sz, f) / sizeof(float);
    fclose(f);
    return v;
}

static b4k_model *open_model(const char *name)
{
    char p[1024];
    b4k_err err;
    b4k_model *m = NULL;
    snprintf(p, sizeof p, "%s/" DIR "%s", top(), name);
    if (b4k_model_open(&m, p, &err)) {
        printf("  cannot open %s: %s\n", p, err.msg);
        return NULL;
    }
    return m;
}

static int prompt(int i, int *ids)
{
    json_t *a = json_array_get(json_object_get(meta, "prompts"), (size_t)i);
    for (size_t k = 0; k < json_array_size(a); k++)
        ids[k] = (int)json_integer_value(json_array_get(a, k));
    return (int)json_array_size(a);
}

static double maxdiff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= m))
            m = d;
    }
    return m;
}

/* mode 0: one prefill with all logits; 1: prefill 1 token then steps;
 * 2: prefill in chunks of 3 (cached prefill). Returns max abs diff. */
static double run_prompts_only(const char *model, const char *ref, int mode, int threads,
                               int only)
{
    b4k_model *m = open_model(model);
    size_t nref = 0;
    float *want = load_f32(ref, &nref);
    if (!m || !want) {
        CHECK(m && want);
        free(want);
        b4k_model_free(m);
        return 1e9;
    }
    b4k_gpt2_opts o = { threads, 2, 0, 32 };
    b4k_gpt2 *g = NULL;
    b4k_err err;
    int rc = b4k_gpt2_new(&g, m, &o, &err);
    CHECK_EQ_INT(rc, 0);
    if (rc)
        printf("  %s\n", err.msg);
    double md = 0;
    size_t off = 0;
    for (int p = 0; !rc && p < nprompt; p++) {
        int ids[64], T = prompt(p, ids);
        float *lg = calloc((size_t)T * V, sizeof *lg);
        if (mode == 0) {
            CHECK_EQ_INT(b4k_gpt2_prefill(g, p % 2, ids, T, 0, lg, 1, &err), 0);
        } else if (mode == 1) {
            CHECK_EQ_INT(b4k_gpt2_prefill(g, p % 2, ids, 1, 0, lg, 1, &err), 0);
            for (int t = 1; t < T; t++) {
                int s = p % 2;
                CHECK_EQ_INT(b4k_gpt2_step(g, 1, &s, ids + t, &t, lg + (size_t)t * V, &err), 0);
            }
        } else {
            for (int t = 0; t < T; t += 3) {
                int n = T - t < 3 ? T - t : 3;
                CHECK_EQ_INT(b4k_gpt2_prefill(g, p % 2, ids + t, n, t, lg + (size_t)t * V, 1, &err), 0);
            }
        }
        double d = maxdiff(lg, want + off, (size_t)T * V);
        if (only < 0 || only == p)
            md = d > md ? d : md;
        off += (size_t)T * V;
        free(lg);
    }
    CHECK_EQ_INT(off, nref);
    b4k_gpt2_free(g);
    b4k_model_free(m);
    free(want);
    return md;
}

static double run_prompts(const char *model, const char *ref, int mode, int threads)
{
    return run_prompts_only(model, ref, mode, threads, -1);
}

TEST(f32_prefill_all_positions)
{
    double d1 = run_prompts("tiny-gpt2.b4k", "logits-f32.f32", 0, 1);
    double d2 = run_prompts("tiny-gpt2.b4k", "logits-f32.f32", 0, 2);
    printf("  f32 prefill max|diff| vs torch: %.3g (1 thread) %.3g (2 threads)\n", d1, d2);
    CHECK(d1 <= 1e-4);
    CHECK(d2 <= 1e-4);
}

TEST(f32_cached_steps)
{
    double d1 = run_prompts("tiny-gpt2.b4k", "logits-f32.f32", 1, 2);
    double d2 = run_prompts("tiny-gpt2.b4k", "logits-f32.f32", 2, 3);
    printf("  f32 cached max|diff| vs torch: %.3g (steps) %.3g (chunks of 3)\n", d1, d2);
    CHECK(d1 <= 1e-4);
    CHECK(d2 <= 1e-4);
}

/* bf16 and q8, with the bounds man/b4k-generate.1 (ACCURACY) states:
 *  - against torch run on the file's own (rounded) weights, the model's
 *    exact answer: bf16 1e-4 (activations split hi + lo, so only the
 *    accumulation order differs); q8 1e-4 through sgemm prefill (weights
 *    expanded to f32), 0.05 through the int8 x int8 matvec path (activations
 *    quantised per block of 32);
 *  - against torch on the f32 weights (what rounding the weights costs on
 *    this model): bf16 0.02, q8 0.1. */
TEST(bf16_q8_bounds)
{
    double b0 = run_prompts("tiny-gpt2-bf16.b4k", "logits-bf16.f32", 0, 2);
    double b1 = run_prompts("tiny-gpt2-bf16.b4k", "logits-bf16.f32", 1, 2);
    /* prompt 1 has 20 tokens: the sgemm path; the others run the matvec path */
    double q0 = run_prompts_only("tiny-gpt2-q8.b4k", "logits-q8.f32", 0, 2, 1);
    double q0m = run_prompts("tiny-gpt2-q8.b4k", "logits-q8.f32", 0, 2);
    double q1 = run_prompts("tiny-gpt2-q8.b4k", "logits-q8.f32", 1, 2);
    double bf = fmax(run_prompts("tiny-gpt2-bf16.b4k", "logits-f32.f32", 0, 2),
                     run_prompts("tiny-gpt2-bf16.b4k", "logits-f32.f32", 1, 2));
    double qf = fmax(run_prompts("tiny-gpt2-q8.b4k", "logits-f32.f32", 0, 2),
                     run_prompts("tiny-gpt2-q8.b4k", "logits-f32.f32", 1, 2));
    printf("  bf16 vs torch(bf16 weights): prefill %.3g, steps %.3g (bound 1e-4); "
           "vs torch f32: %.3g (bound 0.02)\n", b0, b1, bf);
    printf("  q8 vs torch(q8 weights): sgemm prefill %.3g (bound 1e-4), matvec prefill and steps "
           "%.3g, %.3g (bound 0.05); vs torch f32: %.3g (bound 0.1)\n", q0, q0m, q1, qf);
    CHECK(b0 <= 1e-4);
    CHECK(b1 <= 1e-4);
    CHECK(bf <= 0.02);
    CHECK(q0 <= 1e-4);
    CHECK(q0m <= 0.05);
    CHECK(q1 <= 0.05);
    CHECK(qf <= 0.1);
}

/* GELU in the erf form ("activation": "gelu"): a smaller f32 model whose
 * torch logits use the exact GELU; the tanh form would be off by
 * meta.erf_vs_tanh, far above the bound.  Prompt 1 (20 tokens) runs the
 * sgemm path, the others and the steps the matvec one. */
TEST(erf_gelu)
{
    double d0 = run_prompts("tiny-gpt2-erf.b4k", "logits-erf.f32", 0, 2);
    double d1 = run_prompts("tiny-gpt2-erf.b4k", "logits-erf.f32", 1, 2);
    double d2 = run_prompts("tiny-gpt2-erf.b4k", "logits-erf.f32", 2, 1);
    double gap = json_real_value(json_object_get(meta, "erf_vs_tanh"));
    printf("  erf GELU vs torch: prefill %.3g, steps %.3g, chunks %.3g (tanh form would be %.3g)\n",
           d0, d1, d2, gap);
    CHECK(gap > 1e-3);
    CHECK(d0 <= 1e-4);
    CHECK(d1 <= 1e-4);
    CHECK(d2 <= 1e-4);
}

/* Prompts over the arena's token count are prefilled in chunks, each chunk
 * after the first at pos0 > 0 through the sgemm path (attention over the
 * cache).  Prompt 1 (20 tokens) in one pass, in the arena's chunks of 10
 * (max_tokens 10), and in explicit prefill calls of 9 + 11 tokens (both over
 * the 8 tokens of the matvec path), for f32, bf16 and q8 (all sgemm, so all
 * within 1e-4 of torch on the file's weights). */
TEST(chunked_sgemm_prefill)
{
    static const char *models[3][2] = { { "tiny-gpt2.b4k", "logits-f32.f32" },
                                        { "tiny-gpt2-bf16.b4k", "logits-bf16.f32" },
                                        { "tiny-gpt2-q8.b4k", "logits-q8.f32" } };
    int ids[64], T0 = prompt(0, ids), T = prompt(1, ids);
    for (int mi = 0; mi < 3; mi++) {
        b4k_model *m = open_model(models[mi][0]);
        size_t nref = 0;
        float *want = load_f32(models[mi][1], &nref);
        if (!m || !want) {
            CHECK(0);
            free(want);
            b4k_model_free(m);
            continue;
        }
        want += (size_t)T0 * V; /* prompt 1's rows */
        float *lg[3];
        b4k_err err;
        for (int k = 0; k < 3; k++) {
            lg[k] = calloc((size_t)T * V, sizeof(float));
            b4k_gpt2_opts o = { 2, 1, 0, k == 1 ? 10 : 32 };
            b4k_gpt2 *g = NULL;
            CHECK_EQ_INT(b4k_gpt2_new(&g, m, &o, &err), 0);
            if (!g)
                continue;
            if (k < 2) {
                CHECK_EQ_INT(b4k_gpt2_prefill(g, 0, ids, T, 0, lg[k], 1, &err), 0);
            } else {
                CHECK_EQ_INT(b4k_gpt2_prefill(g, 0, ids, 9, 0, lg[k], 1, &err), 0);
                CHECK_EQ_INT(b4k_gpt2_prefill(g, 0, ids + 9, T - 9, 9, lg[k] + (size_t)9 * V, 1,
                                              &err), 0);
            }
            b4k_gpt2_free(g);
        }
        double one = maxdiff(lg[0], want, (size_t)T * V);
        double c10 = maxdiff(lg[1], want, (size_t)T * V), c9 = maxdiff(lg[2], want, (size_t)T * V);
        double s10 = maxdiff(lg[1], lg[0], (size_t)T * V), s9 = maxdiff(lg[2], lg[0], (size_t)T * V);
        printf("  %s, 20 tokens vs torch: one pass %.3g, chunks of 10 %.3g, 9 + 11 %.3g; "
               "chunks vs one pass %.3g, %.3g\n", models[mi][0], one, c10, c9, s10, s9);
        CHECK(one <= 1e-4 && c10 <= 1e-4 && c9 <= 1e-4);
        CHECK(s10 <= 1e-4 && s9 <= 1e-4);
        for (int k = 0; k < 3; k++)
            free(lg[k]);
        free(want - (size_t)T0 * V);
        b4k_model_free(m);
    }
}

static int argmax(const float *x, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b])
            b = i;
    return b;
}

TEST(greedy_matches_torch)
{
    b4k_model *m = open_model("tiny-gpt2.b4k");
    if (!m) {
        CHECK(m);
        return;
    }
    b4k_gpt2_opts o = { 2, 3, 0, 16 };
    b4k_gpt2 *g = NULL;
    b4k_err err;
    CHECK_EQ_INT(b4k_gpt2_new(&g, m, &o, &err), 0);
    float *lg = calloc((size_t)3 * V, sizeof *lg);
    /* all prompts decoded side by side in one batch of slots */
    int ids[3][64], T[3], next[3], pos[3], slots[3] = { 0, 1, 2 }, ok = 1;
    json_t *gr = json_object_get(meta, "greedy");
    for (int p = 0; p < nprompt; p++) {
        T[p] = prompt(p, ids[p]);
        CHECK_EQ_INT(b4k_gpt2_prefill(g, p, ids[p], T[p], 0, lg, 0, &err), 0);
        next[p] = argmax(lg, V);
        pos[p] = T[p];
    }
    size_t ngen = json_array_size(json_array_get(gr, 0));
    for (size_t k = 0; k < ngen; k++) {
        for (int p = 0; p < nprompt; p++)
            if (next[p] != (int)json_integer_value(json_array_get(json_array_get(gr, p), k)))
                ok = 0;
        if (k + 1 == ngen)
            break;
        CHECK_EQ_INT(b4k_gpt2_step(g, nprompt, slots, next, pos, lg, &err), 0);
        for (int p = 0; p < nprompt; p++) {
            next[p] = argmax(lg + (size_t)p * V, V);
            pos[p]++;
        }
    }
    CHECK(ok);
    free(lg);
    b4k_gpt2_free(g);
    b4k_model_free(m);
}

TEST(bad_inputs)
{
    b4k_model *m = open_model("tiny-gpt2.b4k");
    if (!m) {
        CHECK(m);
        return;
    }
    b4k_gpt2 *g = NULL;
    b4k_err err;
    CHECK_EQ_INT(b4k_gpt2_new(&g, m, NULL, &err), 0);
    int ids[64] = { 0 }, bad = V, s = 0, p = 0;
    float *lg = calloc((size_t)V, sizeof *lg);
    CHECK_EQ_INT(b4k_gpt2_prefill(g, 0, ids, 49, 0, lg, 0, &err), B4K_ERANGE);
    CHECK(strstr(err.msg, "context") != NULL);
    CHECK_EQ_INT(b4k_gpt2_prefill(g, 0, &bad, 1, 0, lg, 0, &err), B4K_ERANGE);
    CHECK_EQ_INT(b4k_gpt2_step(g, 1, &s, &bad, &p, lg, &err), B4K_ERANGE);
    p = 48;
    CHECK_EQ_INT(b4k_gpt2_step(g, 1, &s, ids, &p, lg, &err), B4K_ERANGE);
    free(lg);
    b4k_gpt2_free(g);
    b4k_model_free(m);
    /* wrong architecture */
    b4k_mw *w = b4k_mw_new("bert");
    json_t *cfg = json_pack("{s:i}", "n_layer", 1);
    b4k_mw_set_config(w, cfg);
    json_decref(cfg);
    uint8_t *buf = NULL;
    size_t n = 0;
    CHECK_EQ_INT(b4k_mw_write_mem(w, &buf, &n, &err), 0);
    b4k_mw_free(w);
    CHECK_EQ_INT(b4k_model_open_mem(&m, buf, n, "bert.b4k", &err), 0);
    CHECK_EQ_INT(b4k_gpt2_new(&g, m, NULL, &err), B4K_EFORMAT);
    CHECK(strstr(err.msg, "architecture") != NULL);
    b4k_model_free(m);
    b4k_free(buf);
}

/* The tiny two-shard Megatron CPM (test/golden/convert/cpm) converted with
 * b4k-convert --arch cpm: logits at every position against torch on the
 * unsplit model (test/ref/cpm_golden.py), through one prefill (the 16-token
 * prompt takes the sgemm path), one-token steps and chunks of 3. */
TEST(cpm_converted_logits)
{
    char dir[] = "/tmp/b4k-cpm.XXXXXX", out[64], sh[2][1024], cfgp[1024], p[1024];
    json_t *cm = NULL;
    b4k_err err;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(out, sizeof out, "%s/cpm.b4k", dir);
    for (int r = 0; r < 2; r++)
        snprintf(sh[r], sizeof sh[r], "%s/test/golden/convert/cpm/mp_rank_%02d_model_states.pt",
                 top(), r);
    snprintf(cfgp, sizeof cfgp, "%s/test/golden/convert/cpm_config.json", top());
    snprintf(p, sizeof p, "%s/" DIR "cpm-meta.json", top());
    const char *in[2] = { sh[0], sh[1] };
    b4k_convert_opts co;
    b4k_convert_opts_init(&co);
    co.arch = "cpm";
    co.config = cfgp;
    co.no_discover = 1;
    int rc = b4k_convert_run(in, 2, &co, out, &err);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(b4k_json_load_file(&cm, p, &err), 0);
    b4k_model *m = NULL;
    if (!rc && b4k_model_open(&m, out, &err))
        printf("  %s: %s\n", out, err.msg);
    size_t nref = 0;
    float *want = load_f32("cpm-logits.f32", &nref);
    b4k_gpt2 *g = NULL;
    b4k_gpt2_opts o = { 2, 1, 0, 0 };
    if (!m || !cm || !want || b4k_gpt2_new(&g, m, &o, &err)) {
        CHECK(0);
        goto done;
    }
    CHECK_EQ_STR(b4k_model_arch(m), "cpm");
    int Vc = b4k_gpt2_cfg(g)->vocab;
    CHECK_EQ_INT(Vc, 40);
    json_t *pr = json_object_get(cm, "prompts");
    double md[3] = { 0, 0, 0 };
    size_t off = 0;
    for (size_t i = 0; i < json_array_size(pr); i++) {
        json_t *a = json_array_get(pr, i);
        int T = (int)json_array_size(a), ids[16];
        for (int t = 0; t < T; t++)
            ids[t] = (int)json_integer_value(json_array_get(a, (size_t)t));
        float *lg = calloc((size_t)T * Vc, sizeof *lg);
        for (int mode = 0; mode < 3; mode++) {
            memset(lg, 0, (size_t)T * Vc * sizeof *lg);
            if (mode == 0) {
                CHECK_EQ_INT(b4k_gpt2_prefill(g, 0, ids, T, 0, lg, 1, &err), 0);
            } else if (mode == 1) {
                CHECK_EQ_INT(b4k_gpt2_prefill(g, 0, ids, 1, 0, lg, 1, &err), 0);
                for (int t = 1; t < T; t++) {
                    int s0 = 0;
                    CHECK_EQ_INT(b4k_gpt2_step(g, 1, &s0, ids + t, &t, lg + (size_t)t * Vc, &err), 0);
                }
            } else {
                for (int t = 0; t < T; t += 3)
                    CHECK_EQ_INT(b4k_gpt2_prefill(g, 0, ids + t, T - t < 3 ? T - t : 3, t,
                                                  lg + (size_t)t * Vc, 1, &err), 0);
            }
            double d = off + (size_t)T * Vc <= nref ? maxdiff(lg, want + off, (size_t)T * Vc) : 1e9;
            md[mode] = d > md[mode] ? d : md[mode];
        }
        off += (size_t)T * Vc;
        free(lg);
    }
    CHECK_EQ_INT(off, nref);
    printf("  cpm (converted from 2 shards) vs torch (unsplit), max|logit| %.3g: prefill %.3g, "
           "steps %.3g, chunks %.3g\n",
           json_real_value(json_object_get(cm, "max_abs_logit")), md[0], md[1], md[2]);
    for (int i = 0; i < 3; i++)
        CHECK(md[i] <= 1e-4);
done:
    b4k_gpt2_free(g);
    b4k_model_free(m);
    free(want);
    json_decref(cm);
    unlink(out);
    rmdir(dir);
}

int main(void)
{
    if (t_cpu_level_missing("test_nn_gpt2.c", b4k_cpu_level_name()))
        return 0;
    char p[1024];
    b4k_err err;
    snprintf(p, sizeof p, "%s/" DIR "meta.json", top());
    if (b4k_json_load_file(&meta, p, &err)) {
        printf("FAIL: test_nn_gpt2: cannot load %s: %s\n", p, err.msg);
        return 1;
    }
    nprompt = (int)json_array_size(json_object_get(meta, "prompts"));
    V = (int)json_integer_value(json_object_get(json_object_get(meta, "config"), "vocab_size"));
    RUN(f32_prefill_all_positions);
    RUN(f32_cached_steps);
    RUN(bf16_q8_bounds);
    RUN(erf_gelu);
    RUN(chunked_sgemm_prefill);
    RUN(greedy_matches_torch);
    RUN(bad_inputs);
    RUN(cpm_converted_logits);
    json_decref(meta);
    return t_done();
}
