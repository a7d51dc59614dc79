/* Config and tokenizer for b4k-convert: read the user's or the one found
 * next to the checkpoint, normalise to the keys the b4k models read, check
 * it against the tensor shapes, and embed tokenizer files as u8 tensors. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "convert/convert_impl.h"
#include "core/alloc.h"
#include "tok/jieba.h"
#include "tok/spm_tok.h"

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* dir of the first input + file name, if it exists. */
int b4k_cv_discover(const char *input, const char *file, char *out, size_t cap)
{
    const char *slash = strrchr(input, '/');
    int dl = slash ? (int)(slash - input) : 1;
    snprintf(out, cap, "%.*s/%s", dl, slash ? input : ".", file);
    return exists(out);
}

static int64_t dim_of(b4k_cv *cv, const char *name, int d)
{
    const b4k_cv_out *o = b4k_cv_find(cv, name);
    if (!o || d >= o->ndim)
        return -1;
    return o->shape[d];
}

static int count_layers(b4k_cv *cv, const char *prefix)
{
    int maxl = -1;
    size_t pl = strlen(prefix);
    for (size_t i = 0; i < cv->nout; i++)
        if (!strncmp(cv->out[i].name, prefix, pl)) {
            int l = atoi(cv->out[i].name + pl);
            maxl = l > maxl ? l : maxl;
        }
    return maxl + 1;
}

static int put_shape(char *b, size_t cap, int ndim, const int64_t *shape)
{
    int o = snprintf(b, cap, "[");
    for (int d = 0; d < ndim && o < (int)cap; d++)
        o += snprintf(b + o, cap - (size_t)o, "%s%lld", d ? "," : "", (long long)shape[d]);
    if (o < (int)cap)
        snprintf(b + o, cap - (size_t)o, "]");
    return 0;
}

/* GPT-2 / CPM: every tensor has the shape the config says (C = n_embd,
 * I = the MLP width, from layer 0's c_fc), and every block of the
 * n_layer has all its tensors.  One shard of a model-parallel checkpoint
 * fails here (c_attn has 3C/k rows). */
static int check_gpt2_shapes(b4k_cv *cv, const char *file, b4k_err *err)
{
    static const struct { const char *sfx; int d0, d1; } blk[] = {
        /* d: 1 = C, 3 = 3C, 4 = I, 0 = none (a vector) */
        {"ln_1.weight", 1, 0},        {"ln_1.bias", 1, 0},
        {"attn.c_attn.weight", 3, 1}, {"attn.c_attn.bias", 3, 0},
        {"attn.c_proj.weight", 1, 1}, {"attn.c_proj.bias", 1, 0},
        {"ln_2.weight", 1, 0},        {"ln_2.bias", 1, 0},
        {"mlp.c_fc.weight", 4, 1},    {"mlp.c_fc.bias", 4, 0},
        {"mlp.c_proj.weight", 1, 4},  {"mlp.c_proj.bias", 1, 0},
    };
    json_t *c = cv->config;
    int64_t C = json_integer_value(json_object_get(c, "n_embd"));
    int64_t NH = json_integer_value(json_object_get(c, "n_head"));
    int64_t L = json_integer_value(json_object_get(c, "n_layer"));
    int64_t I = dim_of(cv, "h.0.mlp.c_fc.weight", 0);
    const char *hint = !strcmp(cv->family, "cpm")
                           ? " (one shard of a model-parallel checkpoint? give every "
                             "mp_rank_NN file)" : "";
    char name[64], got[128], want[128];
    if (NH <= 0 || C <= 0 || C % NH)
        return b4k_err_set(err, B4K_EFORMAT, file, 0,
                           "config: n_embd %lld is not a multiple of n_head %lld",
                           (long long)C, (long long)NH);
    if (I <= 0)
        I = 4 * C;
    for (size_t i = 0; i < cv->nout; i++) {
        const b4k_cv_out *o = &cv->out[i];
        int64_t w[2] = {0, 0};
        int nd = 0, l, off = 0;
        const char *s = o->name;
        if (!strcmp(s, "wte.weight") || !strcmp(s, "lm_head.weight"))
            w[0] = json_integer_value(json_object_get(c, "vocab_size")), w[1] = C, nd = 2;
        else if (!strcmp(s, "wpe.weight"))
            w[0] = json_integer_value(json_object_get(c, "n_ctx")), w[1] = C, nd = 2;
        else if (!strcmp(s, "ln_f.weight") || !strcmp(s, "ln_f.bias"))
            w[0] = C, nd = 1;
        else if (sscanf(s, "h.%d.%n", &l, &off) == 1 && off)
            for (size_t k = 0; k < sizeof blk / sizeof *blk; k++)
                if (!strcmp(s + off, blk[k].sfx)) {
                    int dd[2] = {blk[k].d0, blk[k].d1};
                    for (nd = 0; nd < 2 && dd[nd]; nd++)
                        w[nd] = dd[nd] == 1 ? C : dd[nd] == 3 ? 3 * C : I;
                }
        if (!nd)
            continue;
        if (o->ndim != nd || o->shape[0] != w[0] || (nd > 1 && o->shape[1] != w[1])) {
            put_shape(got, sizeof got, o->ndim, o->shape);
            put_shape(want, sizeof want, nd, w);
            return b4k_err_set(err, B4K_EFORMAT, file, 0,
                               "tensor %s has shape %s, expected %s for n_embd %lld%s", s, got,
                               want, (long long)C, hint);
        }
    }
    for (int64_t l = 0; l < L; l++)
        for (size_t k = 0; k < sizeof blk / sizeof *blk; k++) {
            snprintf(name, sizeof name, "h.%lld.%s", (long long)l, blk[k].sfx);
            if (!b4k_cv_find(cv, name))
                return b4k_err_set(err, B4K_EFORMAT, file, 0, "tensor %s is missing", name);
        }
    return 0;
}

/* Set key to v (from shapes) unless the source config has it; if it has a
 * different value, that is an error. */
static int want_int(json_t *dst, json_t *src, const char *key, const char *alt, int64_t v,
                    int required, const char *file, b4k_err *err)
{
    json_t *s = src ? json_object_get(src, key) : NULL;
    if (!s && alt && src)
        s = json_object_get(src, alt);
    if (s && !json_is_integer(s))
        return b4k_err_set(err, B4K_EFORMAT, file, 0, "config: %s is not an integer", key);
    if (s && v >= 0 && json_integer_value(s) != v)
        return b4k_err_set(err, B4K_EFORMAT, file, 0,
                           "config: %s is %lld but the checkpoint has %lld", key,
                           (long long)json_integer_value(s), (long long)v);
    if (s)
        v = json_integer_value(s);
    if (v < 0) {
        if (required)
            return b4k_err_set(err, B4K_EINVAL, file, 0,
                               "config needs %s (give --config FILE with it)", key);
        return 0;
    }
    return json_object_set_new(dst, key, json_integer(v)) ? B4K_ENOMEM : 0;
}

static void copy_key(json_t *dst, json_t *src, const char *key, const char *alt, json_t *dflt)
{
    json_t *s = src ? json_object_get(src, key) : NULL;
    if (!s && alt && src)
        s = json_object_get(src, alt);
    if (s)
        json_object_set(dst, key, s);
    else if (dflt)
        json_object_set(dst, key, dflt);
    json_decref(dflt);
}

int b4k_cv_config(b4k_cv *cv, const char *const *inputs, const b4k_convert_opts *o,
                  b4k_err *err)
{
    char path[4200];
    const char *file = o->config;
    json_t *src = NULL, *c = json_object();
    int rc = 0;
    const char *f = cv->family;
    int bertish = strcmp(f, "gpt2") && strcmp(f, "cpm");
    if (!c)
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    if (!file && !o->no_discover) {
        static const char *bn[] = {"bert_config.json", "albert_config.json", "config.json", NULL};
        static const char *gn[] = {"hparams.json", "config.json", NULL};
        const char **names = bertish ? bn : gn;
        for (int i = 0; names[i]; i++)
            if (b4k_cv_discover(inputs[0], names[i], path, sizeof path)) {
                file = path;
                break;
            }
    }
    if (file) {
        rc = b4k_json_load_file(&src, file, err);
        if (rc)
            goto done;
        if (!json_is_object(src)) {
            rc = b4k_err_set(err, B4K_EFORMAT, file, 0, "config is not a JSON object");
            goto done;
        }
        cv->config_file = b4k_strdup(file);
    }
    if (bertish) {
        int albert = !strcmp(f, "albert");
        int64_t layers = albert ? -1 : count_layers(cv, "encoder.layer.");
        if ((rc = want_int(c, src, "vocab_size", NULL,
                           dim_of(cv, "embeddings.word_embeddings.weight", 0), 1, file, err)) ||
            (rc = want_int(c, src, "hidden_size", NULL,
                           dim_of(cv, "encoder.layer.0.attention.self.query.weight", 0), 1, file,
                           err)) ||
            (rc = want_int(c, src, "num_hidden_layers", NULL, layers > 0 ? layers : -1, 1, file,
                           err)) ||
            (rc = want_int(c, src, "num_attention_heads", NULL, -1, 1, file, err)) ||
            (rc = want_int(c, src, "intermediate_size", NULL,
                           dim_of(cv, "encoder.layer.0.intermediate.dense.weight", 0), 1, file,
                           err)))
            goto done;
        copy_key(c, src, "hidden_act", NULL, json_string("gelu"));
        if ((rc = want_int(c, src, "max_position_embeddings", NULL,
                           dim_of(cv, "embeddings.position_embeddings.weight", 0),
                           strcmp(f, "nezha") != 0, file, err)) ||
            (rc = want_int(c, src, "type_vocab_size", NULL,
                           dim_of(cv, "embeddings.token_type_embeddings.weight", 0), 0, file,
                           err)))
            goto done;
        copy_key(c, src, "layer_norm_eps", "layer_norm_epsilon", json_real(1e-12));
        if (albert && (rc = want_int(c, src, "embedding_size", NULL,
                                     dim_of(cv, "embeddings.word_embeddings.weight", 1), 1, file,
                                     err)))
            goto done;
        if (!strcmp(f, "nezha"))
            copy_key(c, src, "max_relative_position", NULL, json_integer(64));
        /* RoBERTa (HF "roberta." names or model_type): its position ids
         * start after the padding index, so the model records where */
        json_t *mt = src ? json_object_get(src, "model_type") : NULL;
        int roberta = 0;
        if (json_is_string(mt))
            roberta = !strcmp(json_string_value(mt), "roberta") ||
                      !strcmp(json_string_value(mt), "xlm-roberta") ||
                      !strcmp(json_string_value(mt), "camembert");
        else
            for (size_t i = 0; i < cv->nout && !roberta; i++)
                roberta = cv->out[i].src && !strncmp(cv->out[i].src->name, "roberta.", 8);
        if (roberta) {
            json_t *pad = src ? json_object_get(src, "pad_token_id") : NULL;
            int64_t p = json_is_integer(pad) ? json_integer_value(pad) : 1;
            if (json_object_set_new(c, "model_type", json_is_string(mt) ? json_incref(mt) : json_string("roberta")) ||
                json_object_set_new(c, "pad_token_id", json_integer(p)) ||
                json_object_set_new(c, "position_offset", json_integer(p + 1))) {
                rc = b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
                goto done;
            }
        }
    } else {
        int64_t ne = dim_of(cv, "wte.weight", 1), heads = -1;
        if (!strcmp(f, "cpm") && ne == 2560)
            heads = 32;
        if ((rc = want_int(c, src, "n_layer", "num_layers", count_layers(cv, "h."), 1, file,
                           err)) ||
            (rc = want_int(c, src, "n_embd", "hidden_size", ne, 1, file, err)))
            goto done;
        if (src && !json_object_get(src, "n_head") && json_object_get(src, "num_attention_heads"))
            json_object_set(src, "n_head", json_object_get(src, "num_attention_heads"));
        if ((rc = want_int(c, src, "n_head", NULL, heads, 1, file, err)) ||
            (rc = want_int(c, src, "vocab_size", "n_vocab", dim_of(cv, "wte.weight", 0), 1, file,
                           err)))
            goto done;
        /* n_ctx: HF n_positions / OpenAI n_ctx; must match wpe rows */
        int64_t np = dim_of(cv, "wpe.weight", 0);
        if ((rc = want_int(c, src, "n_ctx", "n_positions", np, 1, file, err)))
            goto done;
        copy_key(c, src, "layer_norm_epsilon", NULL, json_real(1e-5));
        copy_key(c, src, "activation", "activation_function", json_string("gelu_new"));
        int64_t vs = json_integer_value(json_object_get(c, "vocab_size"));
        copy_key(c, src, "eos_token_id", NULL,
                 vs == 50257 ? json_integer(50256) : !strcmp(f, "cpm") && vs == 30000
                                                          ? json_integer(7) : NULL);
        copy_key(c, src, "bos_token_id", NULL, NULL);
    }
    cv->config = c;
    c = NULL;
    if (!bertish && (rc = check_gpt2_shapes(cv, inputs[0], err)))
        goto done;
done:
    json_decref(c);
    json_decref(src);
    return rc;
}

static int read_file(const char *path, uint8_t **out, size_t *n, b4k_err *err)
{
    FILE *fp = fopen(path, "rb");
    b4k_buf b;
    char chunk[65536];
    size_t k;
    if (!fp)
        return b4k_err_set(err, B4K_EIO, path, 0, "cannot open");
    b4k_buf_init(&b);
    while ((k = fread(chunk, 1, sizeof chunk, fp)) > 0)
        if (b4k_buf_append(&b, chunk, k)) {
            fclose(fp);
            b4k_buf_free(&b);
            return b4k_err_set(err, B4K_ENOMEM, path, 0, "out of memory");
        }
    if (ferror(fp)) {
        fclose(fp);
        b4k_buf_free(&b);
        return b4k_err_set(err, B4K_EIO, path, 0, "read error");
    }
    fclose(fp);
    *out = (uint8_t *)b.data;
    *n = b.len;
    return 0;
}

static int embed(b4k_cv *cv, json_t *tok, const char *key, const char *tensor, const char *path,
                 b4k_err *err)
{
    uint8_t *d = NULL;
    size_t n = 0;
    int rc = read_file(path, &d, &n, err);
    if (rc)
        return rc;
    rc = b4k_mw_add_blob(cv->w, tensor, d ? (const void *)d : "", n, cv->codec, err);
    if (!rc && !strcmp(key, "vocab") && json_is_string(json_object_get(tok, "kind")) &&
        !strcmp(json_string_value(json_object_get(tok, "kind")), "wordpiece")) {
        int upper = 0; /* lowercase vocab (no A-Z outside [..] specials) => do_lower_case */
        for (size_t i = 0; i < n; i++) {
            if (d[i] == '[') {
                while (i < n && d[i] != ']' && d[i] != '\n')
                    i++;
                continue;
            }
            if (d[i] >= 'A' && d[i] <= 'Z')
                upper = 1;
        }
        json_object_set_new(tok, "do_lower_case", json_boolean(!upper));
    }
    b4k_free(d);
    if (!rc)
        json_object_set_new(tok, key, json_string(tensor));
    return rc;
}

/* jieba's data as the compact b4k format (tok/jieba.h), from a b4k data
 * file (plain or .zst) or jieba's own folder (dict.txt, finalseg/) */
static int embed_jieba(b4k_cv *cv, json_t *tok, const char *path, b4k_err *err)
{
    b4k_jieba *j = NULL;
    b4k_buf b;
    b4k_buf_init(&b);
    int rc = b4k_tok_jieba_open(&j, path, err);
    if (!rc)
        rc = b4k_jieba_save(j, &b, err);
    if (!rc)
        rc = b4k_mw_add_blob(cv->w, "tokenizer.jieba", b.data, b.len, cv->codec, err);
    if (!rc)
        json_object_set_new(tok, "jieba", json_string("tokenizer.jieba"));
    b4k_jieba_free(j);
    b4k_buf_free(&b);
    return rc;
}

int b4k_cv_tokenizer(b4k_cv *cv, const char *const *inputs, const b4k_convert_opts *o,
                     b4k_err *err)
{
    char p1[4200], p2[4200];
    const char *vocab = o->vocab, *merges = o->merges, *spm = o->spm, *jieba = o->jieba;
    json_t *tok;
    int rc = 0, bertish = strcmp(cv->family, "gpt2") && strcmp(cv->family, "cpm");
    if (!vocab && !merges && !spm && !o->no_discover) {
        if (bertish && b4k_cv_discover(inputs[0], "vocab.txt", p1, sizeof p1))
            vocab = p1;
        if (!strcmp(cv->family, "gpt2") &&
            ((b4k_cv_discover(inputs[0], "encoder.json", p1, sizeof p1) &&
              b4k_cv_discover(inputs[0], "vocab.bpe", p2, sizeof p2)) ||
             (b4k_cv_discover(inputs[0], "vocab.json", p1, sizeof p1) &&
              b4k_cv_discover(inputs[0], "merges.txt", p2, sizeof p2)))) {
            vocab = p1;
            merges = p2;
        }
    }
    if (!vocab && !merges && !spm)
        return 0;
    /* a CPM model embeds jieba's data too: python3-jieba's when not given */
    struct stat jst;
    if (spm && !jieba && !strcmp(cv->family, "cpm") && stat(B4K_JIEBA_DEBIAN_DIR, &jst) == 0)
        jieba = B4K_JIEBA_DEBIAN_DIR;
    tok = json_object();
    if (!tok)
        return b4k_err_set(err, B4K_ENOMEM, NULL, 0, "out of memory");
    if (spm)
        json_object_set_new(tok, "kind", json_string(jieba || !strcmp(cv->family, "cpm") ? "cpm"
                                                                                       : "spm"));
    else if (merges)
        json_object_set_new(tok, "kind", json_string("bpe"));
    else
        json_object_set_new(tok, "kind", json_string("wordpiece"));
    if (!rc && vocab)
        rc = embed(cv, tok, "vocab", "tokenizer.vocab", vocab, err);
    if (!rc && merges)
        rc = embed(cv, tok, "merges", "tokenizer.merges", merges, err);
    if (!rc && spm)
        rc = embed(cv, tok, "model", "tokenizer.spm", spm, err);
    if (!rc && jieba)
        rc = embed_jieba(cv, tok, jieba, err);
    if (!rc)
        rc = b4k_mw_set_tokenizer(cv->w, tok);
    json_decref(tok);
    return rc;
}
