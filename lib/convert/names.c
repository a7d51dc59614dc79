/* Canonical names: HF-style module paths without the model prefix, Linear
 * weights (out, in).  See man/b4k-model.5 for the full table. */
#include "convert/names.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int b4k_names_family_ok(const char *f)
{
    return !strcmp(f, "bert") || !strcmp(f, "albert") || !strcmp(f, "nezha") ||
           !strcmp(f, "gpt2") || !strcmp(f, "cpm");
}

static int starts(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }
static int ends(const char *s, const char *p)
{
    size_t a = strlen(s), b = strlen(p);
    return a >= b && !strcmp(s + a - b, p);
}

/* Replace the first occurrence of `from` in buf by `to` (in place). */
static int subst(char *buf, size_t cap, const char *from, const char *to)
{
    char *p = strstr(buf, from);
    size_t lf = strlen(from), lt = strlen(to), n = strlen(buf);
    if (!p)
        return 0;
    if (n - lf + lt + 1 > cap)
        return 0;
    memmove(p + lt, p + lf, n - (size_t)(p - buf) - lf + 1);
    memcpy(p, to, lt);
    return 1;
}

static int put(char *dst, size_t cap, const char *s)
{
    return snprintf(dst, cap, "%s", s) < (int)cap ? 1 : -1;
}

/* Google TF BERT/ALBERT/NEZHA: bert/encoder/layer_3/attention/self/query/kernel */
static int map_tf_bert(const char *src, char *dst, size_t cap, int *xf)
{
    char tmp[512], out[512] = "";
    char *save, *tok;
    int albert_inner = 0;
    if (strlen(src) >= sizeof tmp)
        return -1;
    strcpy(tmp, src);
    *xf = B4K_XF_NONE;
    if (!strcmp(src, "bert/embeddings/word_embeddings_2")) { /* brightmart albert_zh */
        *xf = B4K_XF_T;
        return put(dst, cap, "encoder.embedding_hidden_mapping_in.weight");
    }
    if (subst(tmp, sizeof tmp, "encoder/transformer/group_0/inner_group_0/", "encoder/layer_0/"))
        albert_inner = 1;
    subst(tmp, sizeof tmp, "encoder/layer_shared/", "encoder/layer_0/");
    if (albert_inner) {
        if (!subst(tmp, sizeof tmp, "/attention_1/", "/attention/") &&
            !subst(tmp, sizeof tmp, "/ffn_1/intermediate/output/dense/", "/output/dense/") &&
            !subst(tmp, sizeof tmp, "/ffn_1/intermediate/dense/", "/intermediate/dense/") &&
            !subst(tmp, sizeof tmp, "/LayerNorm_1/", "/output/LayerNorm/"))
            subst(tmp, sizeof tmp, "/LayerNorm/", "/attention/output/LayerNorm/");
    }
    for (tok = strtok_r(tmp, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        const char *part = tok;
        char num[64];
        if (!*out && !strcmp(tok, "bert"))
            continue;
        if (starts(tok, "layer_") && isdigit((unsigned char)tok[6])) {
            snprintf(num, sizeof num, "layer.%s", tok + 6);
            part = num;
        } else if (!strcmp(tok, "kernel")) {
            part = "weight";
            *xf = B4K_XF_T;
        } else if (!strcmp(tok, "gamma") || !strcmp(tok, "output_weights")) {
            part = "weight";
        } else if (!strcmp(tok, "beta") || !strcmp(tok, "output_bias")) {
            part = "bias";
        }
        if (strlen(out) + strlen(part) + 2 > sizeof out)
            return -1;
        if (*out)
            strcat(out, ".");
        strcat(out, part);
    }
    if (ends(out, "_embeddings"))
        strcat(out, ".weight");
    if (!starts(out, "embeddings.") && !starts(out, "encoder.") && !starts(out, "pooler.") &&
        !starts(out, "cls."))
        return -1;
    return put(dst, cap, out);
}

/* HF BERT / RoBERTa / ALBERT names. */
static int map_hf_bert(const char *src, char *dst, size_t cap, int *xf)
{
    char tmp[512];
    const char *s = src;
    *xf = B4K_XF_NONE;
    if (starts(s, "bert.") || starts(s, "roberta.") || starts(s, "albert.") || starts(s, "nezha."))
        s = strchr(s, '.') + 1;
    if (strlen(s) + 2 >= sizeof tmp)
        return -1;
    strcpy(tmp, s);
    /* buffers (position / token type ids, NEZHA's sinusoid table, which
     * b4k computes) and the decoder tied to the word embeddings */
    if (ends(tmp, "position_ids") || ends(tmp, "token_type_ids") ||
        ends(tmp, "relative_positions_encoding.positions_encoding") ||
        starts(tmp, "cls.predictions.decoder.") || starts(tmp, "predictions.decoder.") ||
        starts(tmp, "lm_head.decoder."))
        return 0;
    if (subst(tmp, sizeof tmp, "encoder.albert_layer_groups.0.albert_layers.0.",
              "encoder.layer.0.")) {
        if (!subst(tmp, sizeof tmp, ".attention.query.", ".attention.self.query.") &&
            !subst(tmp, sizeof tmp, ".attention.key.", ".attention.self.key.") &&
            !subst(tmp, sizeof tmp, ".attention.value.", ".attention.self.value.") &&
            !subst(tmp, sizeof tmp, ".attention.dense.", ".attention.output.dense.") &&
            !subst(tmp, sizeof tmp, ".attention.LayerNorm.", ".attention.output.LayerNorm.") &&
            !subst(tmp, sizeof tmp, ".ffn_output.", ".output.dense.") &&
            !subst(tmp, sizeof tmp, ".ffn.", ".intermediate.dense.") &&
            !subst(tmp, sizeof tmp, ".full_layer_layer_norm.", ".output.LayerNorm."))
            return -1;
    }
    if (starts(tmp, "pooler.") && !starts(tmp, "pooler.dense."))
        subst(tmp, sizeof tmp, "pooler.", "pooler.dense.");
    if (starts(tmp, "predictions.")) {
        if (!subst(tmp, sizeof tmp, "predictions.dense.", "cls.predictions.transform.dense.") &&
            !subst(tmp, sizeof tmp, "predictions.LayerNorm.",
                   "cls.predictions.transform.LayerNorm."))
            subst(tmp, sizeof tmp, "predictions.", "cls.predictions.");
    }
    /* RoBERTa's MLM head (lm_head.dense, .layer_norm, .bias) is BERT's */
    if (starts(tmp, "lm_head.dense."))
        subst(tmp, sizeof tmp, "lm_head.dense.", "cls.predictions.transform.dense.");
    else if (starts(tmp, "lm_head.layer_norm."))
        subst(tmp, sizeof tmp, "lm_head.layer_norm.", "cls.predictions.transform.LayerNorm.");
    else if (!strcmp(tmp, "lm_head.bias"))
        strcpy(tmp, "cls.predictions.bias");
    if (starts(tmp, "sop_classifier.classifier."))
        subst(tmp, sizeof tmp, "sop_classifier.classifier.", "cls.seq_relationship.");
    if (ends(tmp, ".gamma"))
        strcpy(tmp + strlen(tmp) - 6, ".weight"); /* fits: sizeof tmp > strlen(s) + 1 */
    else if (ends(tmp, ".beta"))
        strcpy(tmp + strlen(tmp) - 5, ".bias");
    if (!starts(tmp, "embeddings.") && !starts(tmp, "encoder.") && !starts(tmp, "pooler.") &&
        !starts(tmp, "cls.") && !starts(tmp, "lm_head."))
        return -1;
    return put(dst, cap, tmp);
}

/* OpenAI TF GPT-2: model/h3/attn/c_attn/w; HF: transformer.h.3.attn.c_attn.weight */
static int map_gpt2(const char *src, char *dst, size_t cap, int *xf)
{
    char out[512];
    *xf = B4K_XF_NONE;
    if (starts(src, "model/")) {
        const char *s = src + 6;
        int layer;
        char rest[256];
        if (!strcmp(s, "wte") || !strcmp(s, "wpe")) {
            snprintf(out, sizeof out, "%s.weight", s);
            return put(dst, cap, out);
        }
        if (!strcmp(s, "ln_f/g"))
            return put(dst, cap, "ln_f.weight");
        if (!strcmp(s, "ln_f/b"))
            return put(dst, cap, "ln_f.bias");
        if (sscanf(s, "h%d/%255s", &layer, rest) != 2 || layer < 0)
            return -1;
        char *last = strrchr(rest, '/');
        if (!last)
            return -1;
        *last = 0;
        const char *leaf = last + 1;
        for (char *c = rest; *c; c++)
            if (*c == '/')
                *c = '.';
        if (!strcmp(leaf, "w")) {
            *xf = B4K_XF_SQT;
            leaf = "weight";
        } else if (!strcmp(leaf, "g")) {
            leaf = "weight";
        } else if (!strcmp(leaf, "b")) {
            leaf = "bias";
        } else {
            return -1;
        }
        snprintf(out, sizeof out, "h.%d.%s.%s", layer, rest, leaf);
        return put(dst, cap, out);
    }
    const char *s = starts(src, "transformer.") ? src + 12 : src;
    if (ends(s, ".attn.bias") || ends(s, ".attn.masked_bias"))
        return 0;
    if (!starts(s, "h.") && !starts(s, "wte.") && !starts(s, "wpe.") && !starts(s, "ln_f.") &&
        !starts(s, "lm_head."))
        return -1;
    if (ends(s, ".weight") && (strstr(s, ".c_attn.") || strstr(s, ".c_proj.") ||
                               strstr(s, ".c_fc.")))
        *xf = B4K_XF_T; /* HF Conv1D stores (in, out) */
    return put(dst, cap, s);
}

/* Megatron (CPM-LM): transformer.layers.3.attention.query_key_value.weight */
static int map_cpm(const char *src, char *dst, size_t cap, int *xf)
{
    static const char *sub[][2] = {
        {"input_layernorm.", "ln_1."},         {"attention.query_key_value.", "attn.c_attn."},
        {"attention.dense.", "attn.c_proj."},  {"post_attention_layernorm.", "ln_2."},
        {"mlp.dense_h_to_4h.", "mlp.c_fc."},   {"mlp.dense_4h_to_h.", "mlp.c_proj."},
    };
    char out[512];
    int layer, off = 0;
    *xf = B4K_XF_NONE;
    if (!strcmp(src, "word_embeddings.weight"))
        return put(dst, cap, "wte.weight");
    if (!strcmp(src, "position_embeddings.weight"))
        return put(dst, cap, "wpe.weight");
    if (starts(src, "transformer.final_layernorm.")) {
        snprintf(out, sizeof out, "ln_f.%s", src + 28);
        return put(dst, cap, out);
    }
    if (sscanf(src, "transformer.layers.%d.%n", &layer, &off) != 1 || !off || layer < 0)
        return -1;
    for (size_t i = 0; i < sizeof sub / sizeof *sub; i++)
        if (starts(src + off, sub[i][0])) {
            snprintf(out, sizeof out, "h.%d.%s%s", layer, sub[i][1],
                     src + off + strlen(sub[i][0]));
            return put(dst, cap, out);
        }
    return -1;
}

int b4k_names_map(const char *family, const char *src, char *dst, size_t cap, int *xform)
{
    if (starts(src, "module."))
        src += 7;
    if (!strcmp(family, "gpt2"))
        return map_gpt2(src, dst, cap, xform);
    if (!strcmp(family, "cpm"))
        return map_cpm(src, dst, cap, xform);
    if (strchr(src, '/'))
        return map_tf_bert(src, dst, cap, xform);
    return map_hf_bert(src, dst, cap, xform);
}

const char *b4k_names_detect(const char *const *names, size_t n)
{
    int bert = 0, albert = 0, gpt2 = 0, cpm = 0, pos = 0, nezha = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = names[i];
        if (starts(s, "module."))
            s += 7;
        if (strstr(s, "inner_group_0") || strstr(s, "albert_layer_groups") ||
            strstr(s, "layer_shared") || strstr(s, "embedding_hidden_mapping_in") ||
            strstr(s, "word_embeddings_2"))
            albert++;
        if (starts(s, "bert/") || starts(s, "bert.") || starts(s, "roberta.") ||
            starts(s, "encoder.layer.") || starts(s, "albert."))
            bert++;
        if (strstr(s, "position_embeddings"))
            pos++;
        if (starts(s, "nezha.") || strstr(s, "relative_positions_encoding"))
            nezha++;
        if (starts(s, "model/h") || starts(s, "transformer.h.") || starts(s, "h.0.attn"))
            gpt2++;
        if (strstr(s, "query_key_value") || starts(s, "transformer.layers."))
            cpm++;
    }
    if (cpm)
        return "cpm";
    if (gpt2)
        return "gpt2";
    if (albert)
        return "albert";
    if (nezha)
        return "nezha";
    if (bert)
        return pos ? "bert" : "nezha";
    return NULL;
}

int b4k_names_cmp(const char *a, const char *b)
{
    while (*a && *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            char *ea, *eb;
            unsigned long long x = strtoull(a, &ea, 10), y = strtoull(b, &eb, 10);
            if (x != y)
                return x < y ? -1 : 1;
            a = ea;
            b = eb;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++, b++;
    }
    return *a ? 1 : *b ? -1 : 0;
}
