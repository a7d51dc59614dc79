/* Build a GPT-2 / CPM .b4k for benchmarks and parity runs (not installed;
 * compiled by test/bench/bench_generate.sh and test/parity/parity_generate.sh).
 *
 *   mkmodel OUT.b4k ARCH L C NH V P DTYPE SEED         random weights
 *   mkmodel OUT.b4k ARCH L C NH V P DTYPE --from DIR   DIR/index.json lists
 *       [{"name":..,"shape":[..],"file":..}] raw little-endian f32 files in
 *       the canonical b4k layout (written by test/ref/gpt2_parity.py)
 *
 * DTYPE (f32, f16, bf16, q8) applies to wte and the linear weights; the
 * vectors and wpe stay f32.  Random weights: uniform with standard deviation
 * 0.02 (GPT-2's init scale; uniform is much faster to draw for 2.6B of them),
 * LayerNorm weights 1, biases 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/rng.h"
#include "io/jsonl.h"
#include "model/model.h"

static int add(b4k_mw *w, const char *name, int dt, int r, int c, const float *x)
{
    b4k_err err;
    int64_t shape[2] = { r, c };
    int nd = c > 0 ? 2 : 1;
    if (nd == 1)
        shape[0] = r;
    if (b4k_mw_add_f32(w, name, nd == 2 ? dt : B4K_F32, nd, shape, x, B4K_CODEC_RAW, &err)) {
        fprintf(stderr, "mkmodel: %s: %s\n", name, err.msg);
        exit(1);
    }
    return 0;
}

static float *rnd(b4k_rng *g, size_t n, float std, float mean)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = std ? (float)((b4k_rng_double(g) * 2 - 1) * std * 1.7320508) + mean : mean;
    return x;
}

int main(int argc, char **argv)
{
    if (argc != 10 && argc != 11) {
        fprintf(stderr, "usage: mkmodel OUT ARCH L C NH V P DTYPE (SEED | --from DIR)\n");
        return 2;
    }
    const char *out = argv[1], *arch = argv[2];
    int L = atoi(argv[3]), C = atoi(argv[4]), NH = atoi(argv[5]), V = atoi(argv[6]),
        P = atoi(argv[7]);
    int dt = b4k_dtype_from_name(argv[8]);
    b4k_err err;
    b4k_mw *w = b4k_mw_new(arch);
    json_t *cfg = json_pack("{s:i,s:i,s:i,s:i,s:i,s:f,s:s,s:i}", "n_layer", L, "n_embd", C,
                            "n_head", NH, "vocab_size", V, "n_ctx", P, "layer_norm_epsilon", 1e-5,
                            "activation", "gelu_new", "eos_token_id",
                            strcmp(arch, "cpm") ? V - 1 : 3);
    b4k_mw_set_config(w, cfg);
    json_decref(cfg);
    if (argc == 11) {
        char p[4096];
        snprintf(p, sizeof p, "%s/index.json", argv[10]);
        json_t *idx;
        if (b4k_json_load_file(&idx, p, &err)) {
            fprintf(stderr, "mkmodel: %s\n", err.msg);
            return 1;
        }
        size_t i;
        json_t *e;
        json_array_foreach(idx, i, e) {
            const char *name = json_string_value(json_object_get(e, "name"));
            json_t *sh = json_object_get(e, "shape");
            int r = (int)json_integer_value(json_array_get(sh, 0));
            int c = json_array_size(sh) > 1 ? (int)json_integer_value(json_array_get(sh, 1)) : 0;
            size_t n = (size_t)r * (c ? c : 1);
            snprintf(p, sizeof p, "%s/%s", argv[10], json_string_value(json_object_get(e, "file")));
            FILE *f = fopen(p, "rb");
            float *x = malloc(n * sizeof *x);
            if (!f || fread(x, sizeof *x, n, f) != n) {
                fprintf(stderr, "mkmodel: cannot read %s\n", p);
                return 1;
            }
            fclose(f);
            int isvec = c == 0 || !strcmp(name, "wpe.weight");
            add(w, name, isvec ? B4K_F32 : dt, r, c, x);
            free(x);
        }
        json_decref(idx);
    } else {
        b4k_rng g;
        b4k_rng_seed(&g, (uint64_t)atoll(argv[9]), 0);
        char nm[128];
        float *x;
        x = rnd(&g, (size_t)V * C, 0.02f, 0), add(w, "wte.weight", dt, V, C, x), free(x);
        x = rnd(&g, (size_t)P * C, 0.01f, 0), add(w, "wpe.weight", B4K_F32, P, C, x), free(x);
        for (int l = 0; l < L; l++) {
            struct { const char *n; int r, c; float std, mean; } t[] = {
                { "ln_1.weight", C, 0, 0, 1 }, { "ln_1.bias", C, 0, 0, 0 },
                { "attn.c_attn.weight", 3 * C, C, 0.02f, 0 }, { "attn.c_attn.bias", 3 * C, 0, 0, 0 },
                { "attn.c_proj.weight", C, C, 0.02f, 0 }, { "attn.c_proj.bias", C, 0, 0, 0 },
                { "ln_2.weight", C, 0, 0, 1 }, { "ln_2.bias", C, 0, 0, 0 },
                { "mlp.c_fc.weight", 4 * C, C, 0.02f, 0 }, { "mlp.c_fc.bias", 4 * C, 0, 0, 0 },
                { "mlp.c_proj.weight", C, 4 * C, 0.02f, 0 }, { "mlp.c_proj.bias", C, 0, 0, 0 } };
            for (size_t k = 0; k < sizeof t / sizeof *t; k++) {
                snprintf(nm, sizeof nm, "h.%d.%s", l, t[k].n);
                x = rnd(&g, (size_t)t[k].r * (t[k].c ? t[k].c : 1), t[k].std, t[k].mean);
                add(w, nm, dt, t[k].r, t[k].c, x);
                free(x);
            }
        }
        x = rnd(&g, C, 0, 1), add(w, "ln_f.weight", B4K_F32, C, 0, x), free(x);
        x = rnd(&g, C, 0, 0), add(w, "ln_f.bias", B4K_F32, C, 0, x), free(x);
    }
    if (b4k_mw_write(w, out, &err)) {
        fprintf(stderr, "mkmodel: %s\n", err.msg);
        return 1;
    }
    b4k_mw_free(w);
    return 0;
}
