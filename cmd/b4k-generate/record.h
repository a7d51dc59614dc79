/* b4k-generate's input side: the decoding parameters (command-line defaults
 * plus a record's overrides), one input line parsed into its id, parameters
 * and prompt (text, template filled, or ids), and the template file.
 * See man/b4k-generate.1, INPUT. */
#ifndef B4K_CMD_GENERATE_RECORD_H
#define B4K_CMD_GENERATE_RECORD_H

#include <jansson.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "gen/sample.h"

typedef struct gen_params {
    b4k_sample_opts so;
    int max_tokens, n, beams, early, end_id;
    float length_penalty;
    uint64_t seed;
    char **stop;   /* stop strings */
    int nstop;
    int stop_owned; /* stop was allocated by gen_params_apply */
    unsigned set;   /* the keys a record gave (bits in gen_params_apply's table) */
} gen_params;

/* How a line becomes a prompt. */
typedef struct gen_input {
    const char *field;   /* the prompt text's key (default "prompt") */
    const char *templ;   /* template text with {input}, or NULL */
} gen_input;

typedef struct gen_record {
    json_t *obj;         /* the parsed line (NULL for a plain-text line) */
    json_t *id;          /* owned reference */
    gen_params p;        /* the defaults with this record's overrides */
    json_t *ids;         /* "prompt_ids" (borrowed from obj), or NULL */
    const char *text;    /* else the prompt text (template filled) */
    size_t len;
    b4k_buf buf;         /* holds the filled template */
} gen_record;

/* Apply one key of a record to p; returns 1 if key is not a parameter. */
int gen_params_apply(gen_params *p, const char *key, json_t *v, b4k_err *err);
/* The combination is valid: beam search (beams > 1) takes no sampling key
 * and one answer (n 1); length_penalty and early_stopping need it. */
int gen_params_check(const gen_params *p, b4k_err *err);
/* Free a stop list gen_params_apply made (no-op for the caller's own). */
void gen_params_free_stop(gen_params *p);

/* Parse one non-empty input line.  On error r holds what was parsed so far
 * (free it in either case with gen_record_free). */
int gen_record_parse(gen_record *r, const char *line, size_t len, const gen_params *def,
                     const gen_input *in, const char *file, long lineno, b4k_err *err);
void gen_record_free(gen_record *r);

/* The template file (its final newline dropped), or NULL with err set. */
char *gen_template_read(const char *path, b4k_err *err);

#endif
