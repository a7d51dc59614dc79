/* Parity driver (compiled by test/parity/parity_generate.sh): logits at
 * every position of prompts, through the cached path.
 *   gpt2_logits MODEL.b4k PROMPTS.txt OUT.f32 THREADS MODE
 * PROMPTS.txt: one prompt per line, ids separated by spaces.  MODE 0: one
 * prefill over the whole prompt (all logits); 1: prefill of the first token
 * then one-token decode steps.  OUT gets (sum T, V) little-endian f32. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/gpt2.h"

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: gpt2_logits MODEL PROMPTS OUT THREADS MODE\n");
        return 2;
    }
    b4k_err err;
    b4k_model *m;
    b4k_gpt2 *g;
    if (b4k_model_open(&m, argv[1], &err)) {
        fprintf(stderr, "gpt2_logits: %s\n", err.msg);
        return 1;
    }
    b4k_gpt2_opts o = { atoi(argv[4]), 1, 0, 512 };
    if (b4k_gpt2_new(&g, m, &o, &err)) {
        fprintf(stderr, "gpt2_logits: %s\n", err.msg);
        return 1;
    }
    int V = b4k_gpt2_cfg(g)->vocab, mode = atoi(argv[5]);
    FILE *in = fopen(argv[2], "r"), *out = fopen(argv[3], "wb");
    char line[1 << 16];
    int ids[4096];
    float *lg = malloc(sizeof(float) * (size_t)V * 4096);
    while (in && fgets(line, sizeof line, in)) {
        int T = 0;
        for (char *p = strtok(line, " \n"); p && T < 4096; p = strtok(NULL, " \n"))
            ids[T++] = atoi(p);
        if (!T)
            continue;
        int rc = 0, s = 0;
        if (mode == 0) {
            rc = b4k_gpt2_prefill(g, 0, ids, T, 0, lg, 1, &err);
        } else {
            rc = b4k_gpt2_prefill(g, 0, ids, 1, 0, lg, 1, &err);
            for (int t = 1; t < T && !rc; t++)
                rc = b4k_gpt2_step(g, 1, &s, ids + t, &t, lg + (size_t)t * V, &err);
        }
        if (rc) {
            fprintf(stderr, "gpt2_logits: %s\n", err.msg);
            return 1;
        }
        fwrite(lg, sizeof(float), (size_t)T * V, out);
    }
    fclose(out);
    b4k_gpt2_free(g);
    b4k_model_free(m);
    free(lg);
    return 0;
}
