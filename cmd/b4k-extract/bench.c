/* b4k-extract bench: time the BERT encoder, inference or a training step,
 * on random ids (man/b4k-extract.1, bench). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/alloc.h"
#include "core/rng.h"
#include "core/threads.h"
#include "ie/model.h"
#include "nn/adamw.h"
#include "tensor/gemm_bf16.h"
#include "b4k-extract/extract.h"

/* ---- bench ------------------------------------------------------------------ */

enum { B_CONFIG = B4K_OPT_LONG + 300, B_BATCH, B_MAXLEN, B_ITERS, B_TRAIN, B_BF16 };

static const b4k_opt bench_opts[] = {
    {"config", B_CONFIG, required_argument, "FILE", "bert_config.json (default: BERT-base shapes)"},
    {"batch-size", B_BATCH, required_argument, "N", "sentences per batch (default 16)"},
    {"max-len", B_MAXLEN, required_argument, "N", "tokens per sentence (default 128)"},
    {"iters", B_ITERS, required_argument, "N", "timed iterations after one warm-up (default 3)"},
    {"train", B_TRAIN, no_argument, NULL, "time a training step (forward, backward, AdamW) instead"},
    {"bf16", B_BF16, no_argument, NULL, "bf16 GEMMs with f32 master weights (as train/predict --bf16)"},
    {"threads", 't', required_argument, "N", "threads (default 1)"},
    {NULL, 0, 0, NULL, NULL},
};

int cmd_bench(int argc, char **argv)
{
    b4k_cli_set_prog("b4k-extract bench");
    b4k_cli cli = {.prog = "b4k-extract bench",
                   .synopsis = "[OPTIONS]",
                   .summary = "Time the BERT encoder: inference sentences/s or a training step (JSON line).",
                   .opts = bench_opts};
    const char *cfgp = NULL, *arg;
    int B = 16, T = 128, iters = 3, train = 0, threads = 1, bf16 = 0, key;
    while ((key = b4k_cli_next(&cli, argc, argv, &arg)) != -1) {
        switch (key) {
        case B_CONFIG: cfgp = arg; break;
        case B_BATCH: B = (int)b4k_cli_int("--batch-size", arg, 1, 4096); break;
        case B_MAXLEN: T = (int)b4k_cli_int("--max-len", arg, 1, 65536); break;
        case B_ITERS: iters = (int)b4k_cli_int("--iters", arg, 1, 1000000); break;
        case B_TRAIN: train = 1; break;
        case B_BF16: bf16 = 1; break;
        case 't': threads = (int)b4k_cli_int("--threads", arg, 1, 256); break;
        }
    }
    b4k_err err;
    b4k_bert_config c = {21128, 768, 12, 12, 3072, 512, 2, 0, 1e-12f, 0.1f, 0.1f, 0, 0, 0, 0.02f};
    if (cfgp && b4k_ie_bert_config(&c, &err, cfgp)) b4k_cli_die(&err);
    if (T > c.max_pos) b4k_cli_usage("--max-len exceeds max_position_embeddings");
    b4k_ptab tab;
    b4k_bert bert;
    b4k_ptab_init(&tab);
    if (b4k_bert_add_params(&bert, &tab, &err, &c, "bert.") || b4k_ptab_alloc(&tab, &err)) b4k_cli_die(&err);
    b4k_bert_init_weights(&bert, &tab, 1);
    b4k_bert_act act;
    if (b4k_bert_act_init(&act, &err, &c, B, T, train)) b4k_cli_die(&err);
    if (bf16 && b4k_bert_act_bf16(&act, &err, &bert, B4K_BERT_BF16)) b4k_cli_die(&err);
    b4k_pool *pool = make_pool(threads);
    int32_t *ids = b4k_malloc_n((size_t)B * T, sizeof *ids), *lens = b4k_malloc_n((size_t)B, sizeof *lens);
    float *dout = b4k_malloc_n((size_t)B * T * c.hidden, sizeof *dout);
    if (!ids || !lens || !dout) b4k_cli_dief("out of memory");
    b4k_rng rng;
    b4k_rng_seed(&rng, 1, 0);
    for (int i = 0; i < B * T; i++) ids[i] = 1 + (int32_t)b4k_rng_below(&rng, (uint64_t)c.vocab - 1);
    for (int b = 0; b < B; b++) lens[b] = T;
    b4k_adamw_opts ao;
    b4k_adamw_defaults(&ao);
    b4k_adamw opt;
    if (train && b4k_adamw_init(&opt, &err, &tab, &ao)) b4k_cli_die(&err);
    double best = 1e30, sum = 0;
    for (int it = 0; it <= iters; it++) {
        double t0 = b4k_now();
        if (b4k_bert_forward(&bert, &tab, &act, &err, ids, NULL, lens, B, T, train, &rng, pool)) b4k_cli_die(&err);
        if (train) {
            for (size_t i = 0; i < (size_t)B * T * c.hidden; i++) dout[i] = 1e-3f;
            if (b4k_bert_backward(&bert, &tab, &act, &err, dout, NULL, pool)) b4k_cli_die(&err);
            b4k_adamw_step(&opt, &tab, 1.f, NULL);
            b4k_ptab_zero_grad(&tab);
        }
        double dt = b4k_now() - t0;
        if (it == 0) continue; /* warm-up */
        sum += dt;
        if (dt < best) best = dt;
    }
    double flops = 0; /* forward GEMM flops */
    double N = (double)B * T, H = c.hidden, I = c.inter;
    flops = 2 * N * c.layers * (4 * H * H + 2 * H * I) + 4.0 * B * c.layers * T * (double)T * H;
    const char *prec = !bf16 ? "f32" : strcmp(b4k_gemm_bf16_kernel_name(), "avx512bf16") ? "bf16-emulated" : "bf16";
    if (train)
        printf("{\"workload\":\"train_step\",\"precision\":\"%s\",\"batch\":%d,\"len\":%d,\"threads\":%d,\"seconds\":%.4f,\"best_seconds\":%.4f}\n",
               prec, B, T, threads, sum / iters, best);
    else
        printf("{\"workload\":\"inference\",\"precision\":\"%s\",\"batch\":%d,\"len\":%d,\"threads\":%d,\"sentences_per_s\":%.3f,\"gflops\":%.1f,\"seconds\":%.4f}\n",
               prec, B, T, threads, B / (sum / iters), flops / (sum / iters) * 1e-9, sum / iters);
    if (train) b4k_adamw_free(&opt);
    free(ids), free(lens), free(dout);
    b4k_bert_act_free(&act);
    b4k_bert_free(&bert);
    b4k_ptab_free(&tab);
    b4k_pool_free(pool);
    b4k_cli_free(&cli);
    return b4k_cli_finish(0);
}
