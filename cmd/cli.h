/* Command-line plumbing shared by every b4k program: one option table per
 * program (or subcommand) drives getopt_long, --help and the man-page check;
 * usage errors exit 2, data errors exit 1, progress goes to stderr only when
 * it is a terminal or --progress was given.  Only cmd/ may exit or print. */
#ifndef B4K_CMD_CLI_H
#define B4K_CMD_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "core/err.h"

enum { B4K_EXIT_OK = 0, B4K_EXIT_DATA = 1, B4K_EXIT_USAGE = 2 };

/* Option keys >= B4K_OPT_LONG have no short form. */
#define B4K_OPT_LONG 256

typedef struct b4k_opt {
    const char *name;  /* long name without "--"; NULL ends the table */
    int key;           /* short option character, or B4K_OPT_LONG + n */
    int has_arg;       /* no_argument, required_argument */
    const char *arg;   /* metavariable for help ("N", "FILE"), NULL if none */
    const char *help;  /* one line */
} b4k_opt;

typedef struct b4k_cli {
    const char *prog;      /* "b4k-tokenize", or "b4k-w2v train" */
    const char *synopsis;  /* text after the program name in Usage: */
    const char *summary;   /* one-line description */
    const b4k_opt *opts;   /* table; -h/--help and -V/--version are added */
    const char *epilog;    /* extra help text (may be NULL) */
    /* internal */
    struct option *lopts;
    char *shorts;
} b4k_cli;

/* Name used in every message ("b4k-tokenize").  Call first. */
void b4k_cli_set_prog(const char *prog);
const char *b4k_cli_prog(void);

/* Like getopt_long over cli->opts.  Returns the key of the next option (and
 * sets *arg), or -1 when options end (then optind is the first operand).
 * Handles --help and --version itself (exit 0) and unknown options or
 * missing arguments (usage error, exit 2). */
int b4k_cli_next(b4k_cli *cli, int argc, char **argv, const char **arg);
void b4k_cli_help(const b4k_cli *cli, FILE *fp);
void b4k_cli_free(b4k_cli *cli);

/* Messages. */
__attribute__((noreturn, format(printf, 1, 2))) void b4k_cli_usage(const char *fmt, ...);
__attribute__((noreturn)) void b4k_cli_die(const b4k_err *err);
__attribute__((noreturn, format(printf, 1, 2))) void b4k_cli_dief(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void b4k_cli_warn(const char *fmt, ...);

/* Checked number parsing for option values: usage error (exit 2) when s is
 * not a number in [lo,hi]. */
long long b4k_cli_int(const char *opt, const char *s, long long lo, long long hi);
double b4k_cli_double(const char *opt, const char *s, double lo, double hi);

/* The -o FILE of a program: NULL or "-" is stdout; a file is written
 * atomically (io/atomic: a temporary beside it, renamed into place by
 * b4k_cli_output_commit), so a run that dies -- b4k_cli_die, _dief or
 * _usage discard the temporary -- leaves FILE as it was.  A FIFO or device
 * is written in place.  One output per program. */
FILE *b4k_cli_output_open(const char *path);
/* Commit (flush, fsync, rename); dies with exit 1 on a write error.  For
 * stdout it only flushes (b4k_cli_finish checks stdout at the end). */
void b4k_cli_output_commit(FILE *fp);

/* Refuse to write binary data to a terminal (exit 2). */
void b4k_cli_no_binary_tty(FILE *fp);

/* Flush and close stdout, checking for write errors (EPIPE, ENOSPC).  Returns
 * the exit code to use: `return b4k_cli_finish(rc);`. */
int b4k_cli_finish(int rc);

/* Progress line on stderr, rate-limited (5 per second), main thread only.
 * enabled = explicitly requested; it also shows when stderr is a TTY. */
typedef struct b4k_progress {
    int on, tty;
    double t0, last;
    int drawn;
} b4k_progress;

void b4k_progress_init(b4k_progress *p, int requested);
/* Redraw if at least 0.2 s passed since the last draw (or force). */
__attribute__((format(printf, 3, 4))) void b4k_progress_update(b4k_progress *p, int force,
                                                               const char *fmt, ...);
void b4k_progress_end(b4k_progress *p);
double b4k_progress_elapsed(const b4k_progress *p);
double b4k_now(void); /* monotonic seconds */

#endif
