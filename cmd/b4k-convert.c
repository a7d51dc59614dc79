/* b4k-convert: TF / PyTorch / safetensors / CPM Megatron checkpoints to
 * .b4k; --info on any of them; --export safetensors from a .b4k. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "convert/convert.h"
#include "convert/safetensors.h"
#include "core/alloc.h"
#include "io/jsonl.h"
#include "tok/tok.h"

enum {
    O_ARCH = B4K_OPT_LONG, O_CONFIG, O_VOCAB, O_MERGES, O_SPM, O_JIEBA, O_DTYPE, O_COMPRESS,
    O_INFO, O_EXPORT, O_OPTIM, O_NODISC, O_NOCRC, O_THREADS
};

static const b4k_opt opts[] = {
    {"output", 'o', required_argument, "FILE", "write the .b4k (or exported file) here"},
    {"arch", O_ARCH, required_argument, "A", "bert, albert, nezha, gpt2, cpm or auto (default)"},
    {"config", O_CONFIG, required_argument, "FILE",
     "model config JSON (default: bert_config.json / hparams.json / config.json beside the input)"},
    {"vocab", O_VOCAB, required_argument, "FILE",
     "embed this vocab: vocab.txt (WordPiece) or encoder.json/vocab.json (BPE)"},
    {"merges", O_MERGES, required_argument, "FILE", "embed these BPE merges (vocab.bpe/merges.txt)"},
    {"spm", O_SPM, required_argument, "FILE", "embed this SentencePiece .model"},
    {"jieba", O_JIEBA, required_argument, "PATH",
     "CPM: embed this jieba data (b4k data file or jieba's folder; default $B4K_JIEBA, the "
     "converted file, python3-jieba's)"},
    {"dtype", 't', required_argument, "T",
     "f32 (default), f16, bf16 or int8 (q8) for matrices; vectors stay f32; with int8, "
     "matrices whose last dim is < 32 stay f16"},
    {"compress", 'z', required_argument, "LEVEL", "zstd level 1-19 per tensor (0 = raw, default)"},
    {"info", 'i', no_argument, NULL,
     "print the header and one JSON line per tensor of MODEL (any format) and exit"},
    {"export", 'e', required_argument, "FMT", "write the .b4k INPUT as FMT (safetensors)"},
    {"optimizer", O_OPTIM, no_argument, NULL, "keep optimizer slots (adam_m, adam_v, global_step)"},
    {"no-discover", O_NODISC, no_argument, NULL,
     "do not look for config and vocab files beside the input"},
    {"no-crc", O_NOCRC, no_argument, NULL,
     "do not verify checksums (TF tensor crc32c, torch zip CRC-32)"},
    {"threads", O_THREADS, required_argument, "N",
     "zstd worker threads (default: all CPUs; the output does not depend on it)"},
    {NULL, 0, 0, NULL, NULL}};

static void put_shape(b4k_buf *b, int ndim, const int64_t *shape)
{
    b4k_buf_putc(b, '[');
    for (int d = 0; d < ndim; d++) {
        if (d)
            b4k_buf_putc(b, ',');
        b4k_buf_put_i64(b, shape[d]);
    }
    b4k_buf_putc(b, ']');
}

static void emit(b4k_buf *b)
{
    b4k_buf_putc(b, '\n');
    fwrite(b->data, 1, b->len, stdout);
    b4k_buf_reset(b);
}

static int info_b4k(const char *path, b4k_err *err)
{
    b4k_model *m;
    b4k_buf b;
    json_t *h;
    int rc = b4k_model_open_ex(&m, path, B4K_MODEL_VERIFY_ALL, err);
    if (rc)
        return rc;
    b4k_buf_init(&b);
    h = json_copy(b4k_model_header(m));
    json_object_del(h, "tensors");
    json_object_set_new(h, "file", json_string(path));
    json_object_set_new(h, "format", json_string("b4k"));
    json_object_set_new(h, "version", json_integer(B4K_MODEL_VERSION));
    json_object_set_new(h, "tensor_count", json_integer((json_int_t)b4k_model_count(m)));
    b4k_jsonl_dump(&b, h);
    json_decref(h);
    emit(&b);
    json_t *tens = json_object_get(b4k_model_header(m), "tensors");
    for (size_t i = 0; i < b4k_model_count(m); i++) {
        const char *name = b4k_model_tensor_name(m, i);
        json_t *e = json_copy(json_object_get(tens, name)), *line = json_object();
        json_object_set_new(line, "name", json_string(name));
        json_object_update(line, e);
        json_decref(e);
        b4k_jsonl_dump(&b, line);
        json_decref(line);
        emit(&b);
    }
    b4k_buf_free(&b);
    b4k_model_free(m);
    return 0;
}

static int info_ckpt(const char *path, const char *arch, unsigned flags, b4k_err *err)
{
    b4k_ckpt *c;
    b4k_buf b;
    const char *fam = arch && strcmp(arch, "auto") ? arch : NULL;
    int rc = b4k_ckpt_open(&c, path, flags, err);
    if (rc)
        return rc;
    if ((rc = b4k_ckpt_verify_all(c, err))) { /* torch zip entries */
        b4k_ckpt_free(c);
        return rc;
    }
    if (!fam) {
        const char **names = b4k_malloc_n(c->n ? c->n : 1, sizeof *names);
        for (size_t i = 0; names && i < c->n; i++)
            names[i] = c->t[i].name;
        fam = names ? b4k_names_detect(names, c->n) : NULL;
        b4k_free(names);
    }
    if (fam && !b4k_names_family_ok(fam))
        b4k_cli_usage("unknown --arch %s", fam);
    b4k_buf_init(&b);
    json_t *h = json_pack("{s:s,s:s}", "file", path, "format", c->format);
    if (fam)
        json_object_set_new(h, "family", json_string(fam));
    json_object_update(h, c->meta);
    json_object_set_new(h, "tensor_count", json_integer((json_int_t)c->n));
    b4k_jsonl_dump(&b, h);
    json_decref(h);
    emit(&b);
    for (size_t i = 0; i < c->n; i++) {
        const b4k_ctensor *t = &c->t[i];
        char dst[512];
        int xf = 0, r = fam ? b4k_names_map(fam, t->name, dst, sizeof dst, &xf) : -1;
        b4k_buf_puts(&b, "{\"name\":");
        b4k_buf_put_json_str(&b, t->name, strlen(t->name));
        b4k_buf_printf(&b, ",\"dtype\":\"%s\",\"shape\":", b4k_src_dtype_name(t->dtype));
        put_shape(&b, t->ndim, t->shape);
        b4k_buf_printf(&b, ",\"offset\":%llu,\"nbytes\":%zu", (unsigned long long)t->src_offset,
                       t->nbytes);
        if (r > 0) {
            b4k_buf_puts(&b, ",\"b4k_name\":");
            b4k_buf_put_json_str(&b, dst, strlen(dst));
            if (xf)
                b4k_buf_puts(&b, ",\"transpose\":true");
        } else if (r == 0) {
            b4k_buf_puts(&b, ",\"dropped\":true");
        }
        b4k_buf_putc(&b, '}');
        emit(&b);
    }
    b4k_buf_free(&b);
    b4k_ckpt_free(c);
    return 0;
}

int main(int argc, char **argv)
{
    b4k_convert_opts o;
    b4k_err err;
    const char *out = NULL, *arg, *export_fmt = NULL;
    int key, info = 0, rc;
    b4k_convert_opts_init(&o);
    b4k_err_clear(&err);
    o.threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    b4k_cli_set_prog("b4k-convert");
    b4k_cli cli = {
        .prog = "b4k-convert",
        .synopsis = "[OPTIONS] -o OUT.b4k INPUT...\n"
                    "       b4k-convert --info MODEL\n"
                    "       b4k-convert --export safetensors -o OUT.safetensors MODEL.b4k",
        .summary = "Convert TF, PyTorch, safetensors and CPM Megatron checkpoints to .b4k.",
        .opts = opts,
        .epilog = "INPUT is a TF checkpoint prefix (or its .index), a torch.save file (zip or\n"
                  "legacy), a .safetensors file, several CPM mp_rank_NN_model_states.pt\n"
                  "shards (merged), or a .b4k (re-encoded with --dtype/--compress).\n"
                  "Output is written atomically: nothing is left behind on error.\n"};
    while ((key = b4k_cli_next(&cli, argc, argv, &arg)) != -1) {
        switch (key) {
        case 'o': out = arg; break;
        case O_ARCH:
            if (strcmp(arg, "auto") && !b4k_names_family_ok(arg))
                b4k_cli_usage("unknown --arch '%s' (bert, albert, nezha, gpt2, cpm, auto)", arg);
            o.arch = arg;
            break;
        case O_CONFIG: o.config = arg; break;
        case O_VOCAB: o.vocab = arg; break;
        case O_MERGES: o.merges = arg; break;
        case O_SPM: o.spm = arg; break;
        case O_JIEBA: o.jieba = arg; break;
        case 't':
            if (!strcmp(arg, "int8") || !strcmp(arg, "q8"))
                o.dtype = B4K_Q8;
            else if (!strcmp(arg, "f32") || !strcmp(arg, "f16") || !strcmp(arg, "bf16"))
                o.dtype = b4k_dtype_from_name(arg);
            else
                b4k_cli_usage("unknown --dtype '%s' (f32, f16, bf16, int8)", arg);
            break;
        case 'z': o.zstd_level = (int)b4k_cli_int("--compress", arg, 0, 19); break;
        case 'i': info = 1; break;
        case 'e':
            if (strcmp(arg, "safetensors"))
                b4k_cli_usage("unknown --export format '%s' (safetensors)", arg);
            export_fmt = arg;
            break;
        case O_OPTIM: o.ckpt_flags |= B4K_CKPT_OPTIMIZER; break;
        case O_NODISC: o.no_discover = 1; break;
        case O_NOCRC: o.ckpt_flags |= B4K_CKPT_NO_CRC; break;
        case O_THREADS: o.threads = (int)b4k_cli_int("--threads", arg, 1, 1024); break;
        }
    }
    int nin = argc - optind;
    const char *const *inputs = (const char *const *)argv + optind;
    if (nin < 1)
        b4k_cli_usage("no input given");
    if (info) {
        for (int i = 0; i < nin; i++) {
            const char *fmt = b4k_ckpt_sniff(inputs[i]);
            rc = fmt && !strcmp(fmt, "b4k") ? info_b4k(inputs[i], &err)
                                            : info_ckpt(inputs[i], o.arch, o.ckpt_flags, &err);
            if (rc)
                b4k_cli_die(&err);
        }
        b4k_cli_free(&cli);
        return b4k_cli_finish(0);
    }
    if (!out)
        b4k_cli_usage("no output file: give -o FILE");
    if (!strcmp(out, "-"))
        b4k_cli_usage("a model is not written to stdout: give -o FILE");
    char exe[4096], jbuf[8400];
    if (o.spm && !o.jieba && o.arch && !strcmp(o.arch, "cpm")) {
        /* the jieba data to embed: $B4K_JIEBA, else the converted file beside
         * the program, else python3-jieba's folder (converted here) */
        const char *search[4], *env = getenv("B4K_JIEBA");
        ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[k > 0 ? k : 0] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        else exe[0] = 0;
        b4k_tok_jieba_paths(exe, jbuf, sizeof jbuf, search);
        o.jieba = env && *env ? env : NULL;
        for (int i = 0; !o.jieba && search[i]; i++)
            if (access(search[i], R_OK) == 0) o.jieba = search[i];
    }
    if (export_fmt) {
        if (nin != 1)
            b4k_cli_usage("--export takes one .b4k model");
        rc = b4k_convert_export_safetensors(inputs[0], out, &err);
    } else {
        rc = b4k_convert_run(inputs, nin, &o, out, &err);
    }
    if (rc)
        b4k_cli_die(&err);
    b4k_cli_free(&cli);
    return b4k_cli_finish(0);
}
