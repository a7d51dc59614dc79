/* Checkpoint -> .b4k conversion (b4k-convert), and .b4k -> safetensors. */
#ifndef B4K_CONVERT_CONVERT_H
#define B4K_CONVERT_CONVERT_H

#include "convert/ckpt.h"
#include "convert/names.h"
#include "model/model.h"

typedef struct b4k_convert_opts {
    const char *arch;       /* bert|albert|nezha|gpt2|cpm, NULL or "auto" */
    const char *config;     /* JSON config file; NULL: look next to the input */
    const char *vocab;      /* wordpiece vocab.txt, or BPE encoder.json/vocab.json */
    const char *merges;     /* BPE merges (vocab.bpe / merges.txt) */
    const char *spm;        /* SentencePiece .model */
    const char *jieba;      /* jieba dictionary (CPM) */
    int no_discover;        /* do not look for config/vocab next to the input */
    int dtype;              /* B4K_F32 (default), F16, BF16, Q8; -1 = keep (b4k input) */
    int zstd_level;         /* < 0: codec raw (default); else zstd at this level */
    unsigned ckpt_flags;    /* B4K_CKPT_* */
    int threads;            /* zstd workers (<= 0: 1); bytes do not depend on it */
} b4k_convert_opts;

void b4k_convert_opts_init(b4k_convert_opts *o);

/* Convert inputs (one checkpoint, a TF prefix, CPM mp_rank shards, or a
 * .b4k / b4k-exported safetensors file) into out (written atomically). */
int b4k_convert_run(const char *const *inputs, int n, const b4k_convert_opts *o,
                    const char *out, b4k_err *err);

/* .b4k -> safetensors (f32/f16/bf16/i32/i64/u8 tensors; q8 is refused).
 * The b4k header goes into __metadata__["b4k.header"], so converting the
 * safetensors file back gives a byte-identical .b4k. */
int b4k_convert_export_safetensors(const char *model, const char *out, b4k_err *err);

/* Megatron model-parallel shards (cpm.c).  The rank of a shard is the number
 * after the last "mp_rank_" in its path (DeepSpeed mp_rank_NN_model_states.pt,
 * Megatron mp_rank_NN/model_optim_rng.pt), or -1. */
int b4k_cpm_rank(const char *path);
/* Check the k inputs of a CPM conversion against each other: every
 * mp_world_size they state is k, and their ranks are 0..k-1, each once (one
 * input may be an unsplit state dict under any name).  order[r] = index of
 * rank r's input.  Errors ("mp-shard mismatch: ...") name the file. */
int b4k_cpm_order(b4k_ckpt *const *shards, const char *const *files, int k, int *order,
                  b4k_err *err);
/* Merge shards given in rank order (files: their paths, for messages). */
int b4k_cpm_merge(b4k_ckpt **out, b4k_ckpt **shards, const char *const *files, int k,
                  b4k_err *err);

#endif
