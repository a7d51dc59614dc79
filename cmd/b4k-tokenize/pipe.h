/* b4k-tokenize's pipeline: input read in chunks of whole lines, chunks
 * encoded by the threads in any order, their output written in input order.
 *
 * The main thread reads and writes, and encodes a chunk itself whenever it
 * has nothing else to do; --threads N means N encoding threads, main
 * included.  The chunks sit in a ring of a fixed number of slots, so memory
 * does not grow with the input, and there is no barrier between one part of
 * the input and the next: a thread takes the next chunk as soon as it is
 * free, and the oldest chunk is written as soon as it is done. */
#ifndef B4K_CMD_TOKENIZE_PIPE_H
#define B4K_CMD_TOKENIZE_PIPE_H

#include <stdio.h>

#include "cli.h"
#include "core/buf.h"
#include "core/err.h"

typedef struct tk_chunk {
    /* input, from the reader */
    char *text;      /* whole lines, each ended by '\n' (a file's last line
                      * perhaps not), then a NUL at text[len] */
    size_t len, cap;
    size_t nlines;
    long lineno;     /* the number of its first line in its file */
    char file[256];  /* the file's name, for messages */
    /* output, from the encoder */
    b4k_buf out;
    size_t *ends;    /* end offset in out of each line done */
    size_t ecap;
    size_t ndone;    /* lines done: all of them, unless err_at >= 0 */
    long err_at;     /* index of the line that failed, or -1 */
    b4k_err err;
    size_t ntok, nerr;
} tk_chunk;

/* Encode the chunk's lines into out/ends/ndone (and err_at, err, ntok,
 * nerr); tid in [0, threads) names the calling thread's scratch. */
typedef void (*tk_encode_fn)(void *ctx, int tid, tk_chunk *k);

typedef struct tk_pipe {
    char **paths;        /* "-" is stdin */
    int npaths;
    int threads;         /* encoding threads, main included */
    size_t max_lines;    /* lines per chunk at most (--batch) */
    size_t chunk_bytes;  /* text per chunk, about (0: the default) */
    tk_encode_fn encode;
    void *ctx;
    FILE *out;
    b4k_progress *prog;
    /* totals, set by tk_pipe_run */
    size_t lines, bytes, tokens, errors;
} tk_pipe;

enum { TK_OK, TK_ENCODE_ERROR, TK_READ_ERROR };

/* Run the pipeline.  TK_ENCODE_ERROR: a line failed (err); every line
 * before it was written.  TK_READ_ERROR: a file could not be opened or
 * read (err); every line before the failure was encoded and written.  Dies
 * on a write error or when out of memory.  The threads are gone on return. */
int tk_pipe_run(tk_pipe *p, b4k_err *err);

#endif
