/* b4k-generate: text generation with a GPT-2 or CPM-LM .b4k model.
 *
 * Input: JSONL records {"id":..,"prompt":..|"prompt_ids":[..]|"input":..,
 * "n":.., sampling overrides...} or plain text lines; one output record per
 * sample: {"id","text","ids","finish_reason","tokens_per_s",...}.  Records
 * run one after another (batch 1); --threads splits every matrix product.
 * See man/b4k-generate.1. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b4k.h"
#include "cli.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/rng.h"
#include "core/utf8.h"
#include "gen/beam.h"
#include "gen/sample.h"
#include "b4k-generate/record.h"
#include "io/jsonl.h"
#include "io/stream.h"
#include "model/model.h"
#include "nn/gpt2.h"
#include "tok/tok.h"

enum {
    O_TEMP = B4K_OPT_LONG,
    O_TOPK,
    O_TOPP,
    O_MINP,
    O_REP,
    O_PRES,
    O_FREQ,
    O_LASTN,
    O_SEED,
    O_BEAMS,
    O_LENPEN,
    O_EARLY,
    O_STOP,
    O_END,
    O_IGNORE_EOS,
    O_TEMPLATE,
    O_LOGPROBS,
    O_STREAM,
    O_KEEP_GOING,
    O_CTX,
    O_NO_VERIFY,
    O_NO_MMAP,
    O_PROGRESS,
    O_VOCAB,
    O_MERGES,
    O_FIELD,
    O_STATS,
};

static const b4k_opt opts[] = {
    {"model", 'm', required_argument, "FILE", "GPT-2 or CPM model (.b4k)"},
    {"max-tokens", 'n', required_argument, "N", "generate at most N tokens (default 64)"},
    {"samples", 's', required_argument, "N", "samples per prompt (default 1; record key \"n\")"},
    {"temperature", O_TEMP, required_argument, "T", "sampling temperature; 0 = greedy (default 1)"},
    {"top-k", O_TOPK, required_argument, "K", "keep the K most probable tokens (0 = off)"},
    {"top-p", O_TOPP, required_argument, "P", "nucleus: smallest set with mass >= P (1 = off)"},
    {"min-p", O_MINP, required_argument, "P", "drop tokens below P times the top probability"},
    {"repetition-penalty", O_REP, required_argument, "R", "divide seen tokens' logits by R (1 = off)"},
    {"presence-penalty", O_PRES, required_argument, "X", "subtract X from seen tokens' logits"},
    {"frequency-penalty", O_FREQ, required_argument, "X", "subtract X times the count of a seen token"},
    {"penalty-last-n", O_LASTN, required_argument, "N", "penalties look at the last N tokens (0 = all)"},
    {"seed", O_SEED, required_argument, "S", "random seed (default 0)"},
    {"beams", O_BEAMS, required_argument, "K", "beam search with K beams (default 1: sampling)"},
    {"length-penalty", O_LENPEN, required_argument, "A", "beam score = logprob / length^A (default 1)"},
    {"early-stopping", O_EARLY, no_argument, NULL, "stop beam search once K hypotheses ended"},
    {"stop", O_STOP, required_argument, "TEXT", "stop when the output contains TEXT (repeatable)"},
    {"end-id", O_END, required_argument, "ID", "end-of-text token id (default: the model's)"},
    {"ignore-eos", O_IGNORE_EOS, no_argument, NULL, "do not stop at the end id"},
    {"template", O_TEMPLATE, required_argument, "FILE", "prompt template; {input} is replaced"},
    {"field", O_FIELD, required_argument, "NAME", "record field with the prompt text (default prompt)"},
    {"logprobs", O_LOGPROBS, no_argument, NULL, "add the log-probability of every token"},
    {"stream", O_STREAM, no_argument, NULL, "emit one JSON event per generated token"},
    {"keep-going", O_KEEP_GOING, no_argument, NULL,
     "write {\"error\":...,\"line\":N} for a bad record and go on"},
    {"threads", 't', required_argument, "N", "threads for the matrix products (default 2)"},
    {"ctx", O_CTX, required_argument, "N", "KV-cache length (default: the model's context)"},
    {"no-verify", O_NO_VERIFY, no_argument, NULL, "skip tensor checksums (mmap and go)"},
    {"no-mmap", O_NO_MMAP, no_argument, NULL,
     "read the weights into (huge-page) memory instead of mapping the file"},
    {"vocab", O_VOCAB, required_argument, "FILE", "GPT-2 encoder.json (if the model has no tokenizer)"},
    {"merges", O_MERGES, required_argument, "FILE", "GPT-2 vocab.bpe (with --vocab)"},
    {"output", 'o', required_argument, "FILE", "write to FILE instead of stdout"},
    {"progress", O_PROGRESS, no_argument, NULL, "show progress on stderr"},
    {"stats", O_STATS, no_argument, NULL, "print load time, speeds and peak memory on stderr"},
    {NULL, 0, 0, NULL, NULL},
};

typedef struct app {
    b4k_model *model;
    b4k_gpt2 *g;
    b4k_tok *tok;
    b4k_tok_out tout;
    b4k_sampler *smp;
    const b4k_gpt2_config *cfg;
    int V, ctx, max_beams;
    gen_params def;
    gen_input in;
    int logprobs, stream, keep_going;
    char tok_err[600];   /* why the embedded tokenizer could not be loaded */
    float *logits, *work, *first;
    int *ids;          /* prompt + generated */
    float *lps;
    FILE *out;
    b4k_buf ob, tb;
    long nrec;
    double gen_tokens, gen_time;   /* decode steps and their time */
    double pre_tokens, pre_time;   /* prompt tokens and prefill time */
} app;

/* ---- output ------------------------------------------------------------- */

static void put_key_val(b4k_buf *b, const char *k, json_t *v)
{
    b4k_buf_printf(b, "\"%s\":", k);
    if (v)
        b4k_jsonl_dump(b, v);
    else
        b4k_buf_puts(b, "null");
}

static int decode_text(app *a, const int *ids, int n, b4k_buf *out, b4k_err *err)
{
    out->len = 0;
    if (!a->tok)
        return 0;
    int rc = b4k_tok_decode(a->tok, (const int32_t *)ids, (size_t)n, 1, out, err);
    if (rc)
        return rc;
    /* the text of a cut-off multi-byte sequence is made valid for JSON */
    if (b4k_utf8_check(out->data, out->len) != (size_t)-1) {
        char *t = NULL;
        size_t tl = 0;
        if (b4k_utf8_sanitize(out->data, out->len, &t, &tl) == 0) {
            out->len = 0;
            b4k_buf_append(out, t, tl);
        }
        free(t);
    }
    return 0;
}

static void flush_line(app *a)
{
    b4k_buf_putc(&a->ob, '\n');
    fwrite(a->ob.data, 1, a->ob.len, a->out);
    if (a->stream)
        fflush(a->out);
    a->ob.len = 0;
}

/* ---- generation ---------------------------------------------------------- */

typedef struct result {
    int n;                 /* generated ids in a->ids[plen..] */
    const char *finish;
    double tps, prefill_tps;
    float score;
    size_t text_cut;       /* stop string: text length to keep, else SIZE_MAX */
} result;

static int stop_hit(app *a, const gen_params *p, const int *gen, int n, size_t *cut, b4k_err *err)
{
    if (!p->nstop)
        return 0;
    int rc = decode_text(a, gen, n, &a->tb, err);
    if (rc)
        return rc;
    for (int i = 0; i < p->nstop; i++) {
        const char *s = memmem(a->tb.data, a->tb.len, p->stop[i], strlen(p->stop[i]));
        if (s) {
            size_t c = (size_t)(s - a->tb.data);
            if (c < *cut)
                *cut = c;
        }
    }
    return *cut != SIZE_MAX;
}

static int stream_event(app *a, json_t *id, int k, int tok, float lp, b4k_err *err)
{
    b4k_buf *b = &a->ob;
    b4k_buf_putc(b, '{');
    put_key_val(b, "id", id);
    if (k >= 0)
        b4k_buf_printf(b, ",\"sample\":%d", k);
    b4k_buf_printf(b, ",\"token\":%d", tok);
    if (a->tok) {
        int rc = decode_text(a, &tok, 1, &a->tb, err);
        if (rc)
            return rc;
        b4k_buf_puts(b, ",\"text\":");
        b4k_buf_put_json_str(b, a->tb.data, a->tb.len);
    }
    if (a->logprobs)
        b4k_buf_printf(b, ",\"logprob\":%.6g", lp);
    b4k_buf_putc(b, '}');
    flush_line(a);
    return 0;
}

static int gpt2_step_cb(void *ctx, int B, const int *slots, const int *tokens, const int *pos,
                        float *logits, b4k_err *err)
{
    return b4k_gpt2_step(ctx, B, slots, tokens, pos, logits, err);
}

static void gpt2_copy_cb(void *ctx, int dst, int src, int npos)
{
    b4k_gpt2_copy_slot(ctx, dst, src, npos);
}

/* One sample (k) from the prompt already in slot 0 with logits a->first. */
static int sample_one(app *a, const gen_params *p, int plen, int k, json_t *id, result *r,
                      b4k_err *err)
{
    b4k_rng rng;
    b4k_rng_seed2(&rng, p->seed, (uint64_t)a->nrec - 1, (uint64_t)k); /* record, sample */
    int slot = k == 0 ? 0 : 1, rc = 0, V = a->V;
    if (k > 0)
        b4k_gpt2_copy_slot(a->g, 1, 0, plen);
    memcpy(a->logits, a->first, (size_t)V * sizeof *a->logits);
    r->n = 0;
    r->finish = "length";
    r->text_cut = SIZE_MAX;
    int steps = 0;
    double t0 = b4k_now();
    for (int i = 0; i < p->max_tokens; i++) {
        memcpy(a->work, a->logits, (size_t)V * sizeof *a->work);
        b4k_sample_penalize(a->smp, a->work, a->ids, plen + i, &p->so);
        int tok = b4k_sample(a->smp, a->work, &p->so, &rng);
        float lp = a->logprobs ? b4k_logprob(a->logits, V, tok) : 0;
        if (tok == p->end_id) {
            r->finish = "stop";
            break;
        }
        a->ids[plen + i] = tok;
        a->lps[i] = lp;
        r->n = i + 1;
        if (a->stream && (rc = stream_event(a, id, p->n > 1 ? k : -1, tok, lp, err)))
            return rc;
        if ((rc = stop_hit(a, p, a->ids + plen, r->n, &r->text_cut, err)) < 0)
            return rc;
        if (rc == 1) {
            r->finish = "stop";
            rc = 0;
            break;
        }
        if (i + 1 == p->max_tokens)
            break;
        if (plen + i >= a->ctx) {
            r->finish = "length";
            break;
        }
        int pos = plen + i;
        if ((rc = b4k_gpt2_step(a->g, 1, &slot, &tok, &pos, a->logits, err)))
            return rc;
        steps++;
    }
    /* decode speed: one-token forward steps (the first token comes from the
     * prefill's logits) per second, sampling included */
    double dt = b4k_now() - t0;
    r->tps = dt > 0 ? steps / dt : 0;
    a->gen_tokens += steps;
    a->gen_time += dt;
    return rc;
}

static int beam_one(app *a, const gen_params *p, int plen, result *r, b4k_err *err)
{
    b4k_beam_model bm = { a->g, a->V, gpt2_step_cb, gpt2_copy_cb };
    int room = a->ctx - plen;
    b4k_beam_opts bo = { p->beams, p->max_tokens < room ? p->max_tokens : room, p->length_penalty,
                         p->early, p->end_id };
    b4k_beam_result br;
    double t0 = b4k_now();
    int rc = b4k_beam_search(&bm, &bo, plen, a->first, &br, err);
    if (rc)
        return rc;
    double dt = b4k_now() - t0;
    memcpy(a->ids + plen, br.ids, (size_t)br.n * sizeof *a->ids);
    for (int i = 0; i < br.n; i++)
        a->lps[i] = NAN;
    r->n = br.n;
    r->finish = br.ended ? "stop" : "length";
    r->score = br.score;
    r->text_cut = SIZE_MAX;
    r->tps = dt > 0 ? br.n / dt : 0;
    b4k_free(br.ids);
    /* the best hypothesis is cut like a sample: ids up to the token that
     * completed a stop string, text before it */
    for (int i = 1; i <= r->n && p->nstop; i++) {
        if ((rc = stop_hit(a, p, a->ids + plen, i, &r->text_cut, err)) < 0)
            return rc;
        if (rc == 1) {
            r->n = i;
            r->finish = "stop";
            break;
        }
    }
    return 0;
}

static int emit(app *a, json_t *id, int k, const gen_params *p, int plen, const result *r,
                b4k_err *err)
{
    b4k_buf *b = &a->ob;
    const int *gen = a->ids + plen;
    b4k_buf_putc(b, '{');
    put_key_val(b, "id", id);
    if (p->n > 1 && p->beams <= 1)
        b4k_buf_printf(b, ",\"sample\":%d", k);
    b4k_buf_puts(b, ",\"text\":");
    if (a->tok) {
        int rc = decode_text(a, gen, r->n, &a->tb, err);
        if (rc)
            return rc;
        size_t n = r->text_cut < a->tb.len ? r->text_cut : a->tb.len;
        b4k_buf_put_json_str(b, a->tb.data, n);
    } else {
        b4k_buf_puts(b, "null");
    }
    b4k_buf_puts(b, ",\"ids\":");
    b4k_jsonl_put_ints(b, (const int32_t *)gen, (size_t)r->n);
    b4k_buf_printf(b, ",\"finish_reason\":\"%s\",\"prompt_tokens\":%d,\"tokens_per_s\":%.2f",
                   r->finish, plen, r->tps);
    b4k_buf_printf(b, ",\"prefill_tokens_per_s\":%.2f", r->prefill_tps);
    if (p->beams > 1)
        b4k_buf_printf(b, ",\"score\":%.6g", r->score);
    if (a->logprobs && p->beams <= 1) {
        b4k_buf_puts(b, ",\"logprobs\":[");
        for (int i = 0; i < r->n; i++)
            b4k_buf_printf(b, "%s%.6g", i ? "," : "", a->lps[i]);
        b4k_buf_putc(b, ']');
    }
    b4k_buf_putc(b, '}');
    flush_line(a);
    return 0;
}

/* The tokenizer embedded in the model (man/b4k-model.5), loaded from
 * memory.  No tokenizer is not an error (prompts must then be ids).  A CPM
 * model without embedded jieba data looks for it as b4k-tokenize does:
 * $B4K_JIEBA, the converted file beside the program, python3-jieba's. */
static int model_tokenizer(b4k_model *m, b4k_tok **out, b4k_err *err)
{
    char exe[4096], buf[8400];
    const char *search[4];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[k > 0 ? k : 0] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    else exe[0] = 0;
    b4k_tok_jieba_paths(exe, buf, sizeof buf, search);
    b4k_tok_opts o;
    b4k_tok_opts_init(&o);
    const char *env = getenv("B4K_JIEBA");
    o.jieba = env && *env ? env : NULL;
    o.jieba_search = search;
    return b4k_tok_load_model(out, m, &o, err);
}

static int tokenize(app *a, const char *text, size_t len, int *plen, b4k_err *err)
{
    if (!a->tok)
        return b4k_err_set(err, B4K_EUNSUP, NULL, 0,
                           "no tokenizer: %s; give \"prompt_ids\" (or --vocab/--merges for GPT-2)",
                           a->tok_err[0] ? a->tok_err : "the model has none");
    b4k_tok_enc enc;
    b4k_tok_enc_init(&enc);
    enc.add_special = 0;
    int rc = b4k_tok_encode(a->tok, text, len, NULL, 0, &enc, &a->tout, err);
    if (rc)
        return rc;
    if (a->tout.n >= (size_t)a->ctx)
        return b4k_err_set(err, B4K_ERANGE, NULL, 0,
                           "prompt of %zu tokens does not fit the context of %d positions",
                           a->tout.n, a->ctx);
    for (size_t i = 0; i < a->tout.n; i++)
        a->ids[i] = a->tout.ids[i];
    *plen = (int)a->tout.n;
    return 0;
}

static int run_record(app *a, const char *line, size_t len, const char *file, long lineno,
                      b4k_err *err)
{
    gen_record rec;
    int rc = gen_record_parse(&rec, line, len, &a->def, &a->in, file, lineno, err), plen = 0;
    const gen_params *p = &rec.p;
    if (rc)
        goto done;
    if (p->beams > a->max_beams) {
        rc = b4k_err_set(err, B4K_EINVAL, NULL, 0, "%d beams exceed --beams %d", p->beams,
                         a->max_beams);
        goto done;
    }
    if (p->nstop && !a->tok) {
        rc = b4k_err_set(err, B4K_EUNSUP, NULL, 0, "stop strings need a tokenizer");
        goto done;
    }
    /* the prompt */
    if (rec.ids) {
        if (json_array_size(rec.ids) >= (size_t)a->ctx) {
            rc = b4k_err_set(err, B4K_ERANGE, NULL, 0,
                             "prompt of %zu tokens does not fit the context of %d positions",
                             json_array_size(rec.ids), a->ctx);
            goto done;
        }
        size_t i;
        json_t *e;
        json_array_foreach(rec.ids, i, e) {
            if (!json_is_integer(e) || json_integer_value(e) < 0 ||
                json_integer_value(e) >= a->V) {
                rc = b4k_err_set(err, B4K_EFORMAT, NULL, 0,
                                 "\"prompt_ids\"[%zu] is not a token id in [0, %d)", i, a->V);
                goto done;
            }
            a->ids[i] = (int)json_integer_value(e);
        }
        plen = (int)json_array_size(rec.ids);
    } else {
        if ((rc = tokenize(a, rec.text, rec.len, &plen, err)))
            goto done;
        if (plen == 0) {
            rc = b4k_err_set(err, B4K_EFORMAT, NULL, 0, "empty prompt");
            goto done;
        }
    }
    /* prefill once, then each sample */
    double t0 = b4k_now();
    if ((rc = b4k_gpt2_prefill(a->g, 0, a->ids, plen, 0, a->first, 0, err)))
        goto done;
    double pre = b4k_now() - t0;
    a->pre_tokens += plen;
    a->pre_time += pre;
    for (int k = 0; k < p->n; k++) {
        result r = { 0 };
        rc = p->beams > 1 ? beam_one(a, p, plen, &r, err)
                          : sample_one(a, p, plen, k, rec.id, &r, err);
        if (rc)
            goto done;
        r.prefill_tps = pre > 0 ? plen / pre : 0;
        if ((rc = emit(a, rec.id, k, p, plen, &r, err)))
            goto done;
        if (p->beams > 1)
            break;
    }
done:
    gen_record_free(&rec);
    return rc;
}

int main(int argc, char **argv)
{
    b4k_cli_set_prog("b4k-generate");
    b4k_cli cli = {"b4k-generate", "[OPTION]... -m MODEL.b4k [FILE]...",
                   "Generate text with a GPT-2 or CPM-LM model, JSONL prompts in, JSONL out.",
                   opts, "With no FILE, or when FILE is -, read standard input.", NULL, NULL};
    app a;
    memset(&a, 0, sizeof a);
    b4k_sample_opts_default(&a.def.so);
    a.def.max_tokens = 64;
    a.def.n = 1;
    a.def.beams = 1;
    a.def.length_penalty = 1.0f;
    a.def.end_id = -2; /* the model's */
    a.in.field = "prompt";
    const char *model = NULL, *output = NULL, *templ = NULL, *vocab = NULL, *merges = NULL;
    int threads = 2, ctx = 0, no_verify = 0, no_mmap = 0, progress = 0, ignore_eos = 0, stats = 0;
    char **stops = NULL;
    int nstop = 0;
    const char *arg, *sampling_opt = NULL, *beam_opt = NULL;
    int c;
    while ((c = b4k_cli_next(&cli, argc, argv, &arg)) != -1) {
        for (const b4k_opt *o = opts; o->name; o++)
            if (o->key == c && ((c >= O_TEMP && c <= O_LASTN) || c == O_LOGPROBS || c == O_STREAM))
                sampling_opt = o->name;
            else if (o->key == c && (c == O_LENPEN || c == O_EARLY))
                beam_opt = o->name;
        switch (c) {
        case 'm': model = arg; break;
        case 'n': a.def.max_tokens = (int)b4k_cli_int("--max-tokens", arg, 0, 1 << 30); break;
        case 's': a.def.n = (int)b4k_cli_int("--samples", arg, 1, 1 << 20); break;
        case O_TEMP: a.def.so.temperature = (float)b4k_cli_double("--temperature", arg, 0, 1e6); break;
        case O_TOPK: a.def.so.top_k = (int)b4k_cli_int("--top-k", arg, 0, 1 << 30); break;
        case O_TOPP: a.def.so.top_p = (float)b4k_cli_double("--top-p", arg, 0, 1); break;
        case O_MINP: a.def.so.min_p = (float)b4k_cli_double("--min-p", arg, 0, 1); break;
        case O_REP:
            a.def.so.repetition_penalty = (float)b4k_cli_double("--repetition-penalty", arg, 1e-6, 1e6);
            break;
        case O_PRES: a.def.so.presence_penalty = (float)b4k_cli_double("--presence-penalty", arg, -1e6, 1e6); break;
        case O_FREQ: a.def.so.frequency_penalty = (float)b4k_cli_double("--frequency-penalty", arg, -1e6, 1e6); break;
        case O_LASTN: a.def.so.penalty_last_n = (int)b4k_cli_int("--penalty-last-n", arg, 0, 1 << 30); break;
        case O_SEED: a.def.seed = (uint64_t)b4k_cli_int("--seed", arg, 0, INT64_MAX); break;
        case O_BEAMS: a.def.beams = (int)b4k_cli_int("--beams", arg, 1, 64); break;
        case O_LENPEN: a.def.length_penalty = (float)b4k_cli_double("--length-penalty", arg, -100, 100); break;
        case O_EARLY: a.def.early = 1; break;
        case O_STOP:
            if (!*arg)
                b4k_cli_usage("--stop needs a non-empty string");
            stops = b4k_realloc_n(stops, (size_t)nstop + 1, sizeof *stops);
            if (!stops)
                b4k_cli_dief("out of memory");
            stops[nstop++] = (char *)arg;
            break;
        case O_END: a.def.end_id = (int)b4k_cli_int("--end-id", arg, -1, 1 << 30); break;
        case O_IGNORE_EOS: ignore_eos = 1; break;
        case O_TEMPLATE: templ = arg; break;
        case O_FIELD: a.in.field = arg; break;
        case O_LOGPROBS: a.logprobs = 1; break;
        case O_STREAM: a.stream = 1; break;
        case O_KEEP_GOING: a.keep_going = 1; break;
        case 't': threads = (int)b4k_cli_int("--threads", arg, 1, 1024); break;
        case O_CTX: ctx = (int)b4k_cli_int("--ctx", arg, 1, 1 << 30); break;
        case O_NO_VERIFY: no_verify = 1; break;
        case O_NO_MMAP: no_mmap = 1; break;
        case O_VOCAB: vocab = arg; break;
        case O_MERGES: merges = arg; break;
        case 'o': output = arg; break;
        case O_PROGRESS: progress = 1; break;
        case O_STATS: stats = 1; break;
        }
    }
    if (!model)
        b4k_cli_usage("missing -m MODEL.b4k");
    if (!vocab != !merges)
        b4k_cli_usage("--vocab and --merges go together");
    /* beam search returns the best hypothesis; it does not sample */
    if (a.def.beams > 1 && (a.def.n > 1 || sampling_opt))
        b4k_cli_usage("--beams %d does not go with --%s", a.def.beams,
                      a.def.n > 1 ? "samples" : sampling_opt);
    if (a.def.beams == 1 && beam_opt)
        b4k_cli_usage("--%s needs --beams K (K > 1)", beam_opt);
    a.def.stop = stops;
    a.def.nstop = nstop;
    a.max_beams = a.def.beams;
    b4k_err err;
    b4k_err_clear(&err);
    if (templ && !(a.in.templ = gen_template_read(templ, &err)))
        b4k_cli_die(&err);
    /* Map every page of the model at open when it fits in memory with room
     * to spare: a first pass through a 5 GB map pays ~80k page faults that
     * MAP_POPULATE does in one go (and not inside the prefill). */
    double tload = b4k_now();
    unsigned oflags = (no_verify ? B4K_MODEL_NO_VERIFY : 0) | B4K_MODEL_HUGE;
    struct stat st;
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    if (!stat(model, &st) && pages > 0 && psz > 0 &&
        (double)st.st_size <= 0.75 * (double)pages * (double)psz)
        oflags |= B4K_MODEL_POPULATE;
    if (no_mmap)
        oflags |= B4K_MODEL_LOAD;
    if (b4k_model_open_ex(&a.model, model, oflags, &err)) {
        b4k_err_locate(&err, model, 0);
        b4k_cli_die(&err);
    }
    b4k_gpt2_opts go = { threads, a.max_beams > 1 ? 2 * a.max_beams : 2, ctx, 256 };
    if (b4k_gpt2_new(&a.g, a.model, &go, &err)) {
        if (!err.file[0])
            snprintf(err.file, sizeof err.file, "%s", model);
        b4k_cli_die(&err);
    }
    tload = b4k_now() - tload;
    a.cfg = b4k_gpt2_cfg(a.g);
    a.V = a.cfg->vocab;
    a.ctx = b4k_gpt2_ctx(a.g);
    if (a.def.end_id == -2)
        a.def.end_id = a.cfg->eos_id;
    if (ignore_eos)
        a.def.end_id = -1;
    if (!vocab && model_tokenizer(a.model, &a.tok, &err)) {
        /* ids still work: text prompts and stop strings will say why not */
        snprintf(a.tok_err, sizeof a.tok_err, "%s", err.msg);
        b4k_cli_warn("%s: embedded tokenizer unusable (%s); prompts must be ids", model, err.msg);
        a.tok = NULL;
        b4k_err_clear(&err);
    }
    if (vocab) {
        b4k_tok_opts to;
        b4k_tok_opts_init(&to);
        to.kind = B4K_TOK_BPE;
        to.vocab = vocab;
        to.merges = merges;
        if (b4k_tok_load(&a.tok, &to, &err))
            b4k_cli_die(&err);
        if (b4k_tok_vocab_size(a.tok) > (size_t)a.V)
            b4k_cli_dief("%s: tokenizer has %zu tokens, the model %d", vocab,
                         b4k_tok_vocab_size(a.tok), a.V);
    }
    b4k_tok_out_init(&a.tout);
    a.smp = b4k_sampler_new(a.V);
    a.logits = b4k_malloc_n((size_t)a.V, sizeof(float));
    a.work = b4k_malloc_n((size_t)a.V, sizeof(float));
    a.first = b4k_malloc_n((size_t)a.V, sizeof(float));
    a.ids = b4k_malloc_n((size_t)a.ctx + 1, sizeof(int));
    a.lps = b4k_malloc_n((size_t)a.ctx + 1, sizeof(float));
    if (!a.smp || !a.logits || !a.work || !a.first || !a.ids || !a.lps)
        b4k_cli_dief("out of memory");
    if (a.def.max_tokens > a.ctx)
        a.def.max_tokens = a.ctx;
    a.out = b4k_cli_output_open(output); /* atomic; stdout for none or "-" */
    b4k_buf_init(&a.ob);
    b4k_buf_init(&a.tb);
    b4k_progress pr;
    b4k_progress_init(&pr, progress);

    int rc = 0, nfiles = argc - optind;
    for (int fi = 0; fi < (nfiles ? nfiles : 1) && !rc; fi++) {
        const char *path = nfiles ? argv[optind + fi] : "-";
        b4k_stream *s;
        if (b4k_stream_open(&s, path, &err))
            b4k_cli_die(&err);
        char *line;
        size_t len;
        int g;
        while ((g = b4k_stream_getline(s, &line, &len, &err)) == 1) {
            long ln = b4k_stream_lineno(s);
            if (len && line[len - 1] == '\r')
                len--;
            if (len == 0)
                continue;
            a.nrec++;
            b4k_err rerr;
            b4k_err_clear(&rerr);
            int r = run_record(&a, line, len, b4k_stream_name(s), ln, &rerr);
            if (r) {
                b4k_err_locate(&rerr, b4k_stream_name(s), ln);
                if (!a.keep_going || r == B4K_ENOMEM || r == B4K_EIO) {
                    err = rerr;
                    if (err.code == B4K_EINVAL) /* a bad record is a data error: exit 1 */
                        err.code = B4K_EFORMAT;
                    rc = r;
                    break;
                }
                a.ob.len = 0;
                b4k_buf_puts(&a.ob, "{\"error\":");
                b4k_buf_put_json_str(&a.ob, rerr.msg, strlen(rerr.msg));
                b4k_buf_printf(&a.ob, ",\"line\":%ld}", ln);
                flush_line(&a);
            }
            b4k_progress_update(&pr, 0, "%ld records, %.1f tokens/s", a.nrec,
                                a.gen_time > 0 ? a.gen_tokens / a.gen_time : 0.0);
        }
        if (g < 0 && !rc) {
            rc = g;
            b4k_err_locate(&err, b4k_stream_name(s), b4k_stream_lineno(s));
        }
        b4k_stream_close(s);
    }
    b4k_progress_end(&pr);
    if (rc) {
        fflush(a.out);
        b4k_cli_die(&err);
    }
    b4k_cli_output_commit(a.out);
    if (stats) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        fprintf(stderr,
                "b4k-generate: load %.3f s; prefill %.0f tokens in %.3f s (%.2f tokens/s); "
                "decode %.0f steps in %.3f s (%.2f tokens/s); peak RSS %.0f MB\n",
                tload, a.pre_tokens, a.pre_time, a.pre_time > 0 ? a.pre_tokens / a.pre_time : 0.0,
                a.gen_tokens, a.gen_time, a.gen_time > 0 ? a.gen_tokens / a.gen_time : 0.0,
                ru.ru_maxrss / 1024.0);
    }
    b4k_buf_free(&a.ob);
    b4k_buf_free(&a.tb);
    b4k_tok_out_free(&a.tout);
    b4k_tok_free(a.tok);
    b4k_sampler_free(a.smp);
    b4k_free(a.logits);
    b4k_free(a.work);
    b4k_free(a.first);
    b4k_free(a.ids);
    b4k_free(a.lps);
    b4k_free((char *)a.in.templ);
    b4k_free(stops);
    b4k_gpt2_free(a.g);
    b4k_model_free(a.model);
    b4k_cli_free(&cli);
    return b4k_cli_finish(0);
}
