#include "cli.h"
#include "b4k.h"
#include "core/alloc.h"
#include "io/atomic.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *g_prog = "b4k";
static b4k_afile *g_out; /* the -o file being written, discarded on exit 1/2 */

static void discard_output(void)
{
    b4k_afile *af = g_out;
    g_out = NULL;
    b4k_afile_abort(af);
}

void b4k_cli_set_prog(const char *prog) { g_prog = prog; }
const char *b4k_cli_prog(void) { return g_prog; }

static const b4k_opt std_opts[] = {
    { "help", 'h', no_argument, NULL, "display this help and exit" },
    { "version", 'V', no_argument, NULL, "output version information and exit" },
    { NULL, 0, 0, NULL, NULL },
};

static void build(b4k_cli *cli)
{
    if (cli->lopts)
        return;
    size_t n = 0;
    while (cli->opts && cli->opts[n].name)
        n++;
    cli->lopts = b4k_calloc(n + 3, sizeof *cli->lopts);
    cli->shorts = b4k_calloc(3 * n + 8, 1);
    if (!cli->lopts || !cli->shorts) {
        fprintf(stderr, "%s: out of memory\n", g_prog);
        exit(B4K_EXIT_DATA);
    }
    char *s = cli->shorts;
    *s++ = ':'; /* report missing arguments as ':' */
    size_t k = 0;
    for (int pass = 0; pass < 2; pass++) {
        const b4k_opt *t = pass ? std_opts : cli->opts;
        for (size_t i = 0; t && t[i].name; i++, k++) {
            cli->lopts[k].name = t[i].name;
            cli->lopts[k].has_arg = t[i].has_arg;
            cli->lopts[k].flag = NULL;
            cli->lopts[k].val = t[i].key;
            if (t[i].key > 0 && t[i].key < B4K_OPT_LONG) {
                *s++ = (char)t[i].key;
                if (t[i].has_arg == required_argument)
                    *s++ = ':';
            }
        }
    }
}

void b4k_cli_free(b4k_cli *cli)
{
    free(cli->lopts);
    free(cli->shorts);
    cli->lopts = NULL;
    cli->shorts = NULL;
}

static void help_rows(const b4k_opt *t, FILE *fp)
{
    for (size_t i = 0; t[i].name; i++) {
        char left[96];
        int n;
        if (t[i].key > 0 && t[i].key < B4K_OPT_LONG)
            n = snprintf(left, sizeof left, "  -%c, --%s", t[i].key, t[i].name);
        else
            n = snprintf(left, sizeof left, "      --%s", t[i].name);
        if (t[i].arg && n > 0 && (size_t)n < sizeof left)
            snprintf(left + n, sizeof left - (size_t)n, " %s", t[i].arg);
        if (strlen(left) >= 28)
            fprintf(fp, "%s\n%-28s  %s\n", left, "", t[i].help);
        else
            fprintf(fp, "%-28s  %s\n", left, t[i].help);
    }
}

void b4k_cli_help(const b4k_cli *cli, FILE *fp)
{
    fprintf(fp, "Usage: %s %s\n", cli->prog, cli->synopsis ? cli->synopsis : "[OPTION]...");
    if (cli->summary)
        fprintf(fp, "%s\n", cli->summary);
    fprintf(fp, "\nOptions:\n");
    if (cli->opts)
        help_rows(cli->opts, fp);
    help_rows(std_opts, fp);
    if (cli->epilog)
        fprintf(fp, "\n%s", cli->epilog);
    fprintf(fp, "\nSee the %s(1) manual page for details.\n", g_prog);
}

int b4k_cli_next(b4k_cli *cli, int argc, char **argv, const char **arg)
{
    build(cli);
    opterr = 0;
    int c = getopt_long(argc, argv, cli->shorts, cli->lopts, NULL);
    *arg = optarg;
    switch (c) {
    case 'h':
        b4k_cli_help(cli, stdout);
        exit(b4k_cli_finish(0));
    case 'V':
        printf("%s %s\n", g_prog, B4K_VERSION);
        exit(b4k_cli_finish(0));
    case '?':
        if (optopt && optopt < B4K_OPT_LONG && optopt > ' ')
            b4k_cli_usage("invalid option -- '%c'", optopt);
        b4k_cli_usage("unrecognized option '%s'", argv[optind - 1]);
    case ':':
        b4k_cli_usage("option '%s' requires an argument", argv[optind - 1]);
    default:
        return c;
    }
}

void b4k_cli_usage(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", g_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    /* the base program name for the hint (strip a subcommand) */
    const char *sp = strchr(g_prog, ' ');
    fprintf(stderr, "\nTry '%.*s --help'.\n", sp ? (int)(sp - g_prog) : (int)strlen(g_prog),
            g_prog);
    discard_output();
    exit(B4K_EXIT_USAGE);
}

void b4k_cli_die(const b4k_err *err)
{
    char msg[1024];
    b4k_err_format(err, msg, sizeof msg);
    fflush(stdout);
    fprintf(stderr, "%s: %s\n", g_prog, msg);
    discard_output();
    exit(err->code == B4K_EINVAL ? B4K_EXIT_USAGE : B4K_EXIT_DATA);
}

void b4k_cli_dief(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: ", g_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    discard_output();
    exit(B4K_EXIT_DATA);
}

void b4k_cli_warn(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: warning: ", g_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

long long b4k_cli_int(const char *opt, const char *s, long long lo, long long hi)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno)
        b4k_cli_usage("invalid number for %s: '%s'", opt, s);
    if (v < lo || v > hi)
        b4k_cli_usage("%s must be between %lld and %lld, got %lld", opt, lo, hi, v);
    return v;
}

double b4k_cli_double(const char *opt, const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || isnan(v))
        b4k_cli_usage("invalid number for %s: '%s'", opt, s);
    if (v < lo || v > hi)
        b4k_cli_usage("%s must be between %g and %g, got %g", opt, lo, hi, v);
    return v;
}

FILE *b4k_cli_output_open(const char *path)
{
    if (!path || !strcmp(path, "-")) return stdout;
    b4k_err err;
    b4k_err_clear(&err);
    if (g_out) b4k_cli_dief("%s: internal error: a second output file", path);
    if (b4k_afile_open(&g_out, path, &err)) {
        g_out = NULL;
        b4k_cli_die(&err);
    }
    return b4k_afile_fp(g_out);
}

void b4k_cli_output_commit(FILE *fp)
{
    if (fp == stdout || !g_out || b4k_afile_fp(g_out) != fp) {
        fflush(fp);
        return;
    }
    b4k_afile *af = g_out;
    g_out = NULL;
    b4k_err err;
    b4k_err_clear(&err);
    if (b4k_afile_commit(af, &err)) b4k_cli_die(&err);
}

void b4k_cli_no_binary_tty(FILE *fp)
{
    if (isatty(fileno(fp)))
        b4k_cli_usage("refusing to write binary data to a terminal (use -o FILE)");
}

int b4k_cli_finish(int rc)
{
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "%s: write error on standard output: %s\n", g_prog, strerror(errno));
        return rc ? rc : B4K_EXIT_DATA;
    }
    if (fclose(stdout) && rc == 0) {
        fprintf(stderr, "%s: write error on standard output: %s\n", g_prog, strerror(errno));
        return B4K_EXIT_DATA;
    }
    return rc;
}

double b4k_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void b4k_progress_init(b4k_progress *p, int requested)
{
    p->tty = isatty(STDERR_FILENO);
    p->on = requested || p->tty;
    p->t0 = b4k_now();
    p->last = 0;
    p->drawn = 0;
}

void b4k_progress_update(b4k_progress *p, int force, const char *fmt, ...)
{
    if (!p->on)
        return;
    double t = b4k_now();
    /* a terminal gets a redrawn line 5 times a second; a log file gets a
     * plain line every 2 seconds */
    if (!force && t - p->last < (p->tty ? 0.2 : 2.0))
        return;
    p->last = t;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (p->tty) {
        fprintf(stderr, "\r%s: %s\033[K", g_prog, line);
        p->drawn = 1;
    } else {
        fprintf(stderr, "%s: %s\n", g_prog, line);
    }
    fflush(stderr);
}

void b4k_progress_end(b4k_progress *p)
{
    if (p->on && p->drawn)
        fputc('\n', stderr);
    p->drawn = 0;
}

double b4k_progress_elapsed(const b4k_progress *p) { return b4k_now() - p->t0; }
