/* An independent reference of the word2vec.c training loop (negative
 * sampling, CBOW and skip-gram), written from the published algorithm
 * description to check b4k-w2v for algorithmic divergence.  Not part of the
 * library build; test/data/w2v_ref.sh compiles it and compares its training
 * loss with b4k-w2v's, and test/bench/bench_w2v.sh runs it side by side.
 * By hand:
 *
 *   cc -O2 -o /tmp/w2v_ref test/ref/w2v_ref.c -lm -lpthread
 *   /tmp/w2v_ref -train CORPUS -output VEC.txt -cbow 1 -size 200 -window 5 \
 *       -negative 5 -sample 1e-4 -min-count 5 -iter 1 -threads 1 [-alpha A] [-seed S] \
 *       [-table N]
 *   b4k-w2v eval --analogy questions-words.txt VEC.txt
 *
 * What it follows (the behaviour of word2vec.c as documented):
 *  - tokens are separated by space, tab and newline; a newline is the token
 *    "</s>", vocabulary entry 0, kept whatever its count; the other words
 *    are sorted by count (descending) and those below -min-count dropped;
 *  - train_words = the sum of the kept counts (</s> included);
 *  - one LCG per thread, r = r * 25214903917 + 11, seeded with the thread id
 *    (plus -seed S times 1000003: S = 0, the default, is word2vec.c's start);
 *  - a sentence is read up to "</s>" or 1000 kept words; out-of-vocabulary
 *    words are skipped (not counted); every in-vocabulary word read (</s>
 *    too) counts towards the progress; sub-sampling keeps a word with
 *    probability (sqrt(cn/(sample*T)) + 1) * (sample*T)/cn, tested against
 *    (r & 0xFFFF) / 65536;
 *  - every 10000 counted words the shared progress is updated and
 *    alpha = alpha0 * (1 - progress / (iter * train_words + 1)), floored at
 *    alpha0 * 1e-4;
 *  - the window is shrunk by b = r % window: offsets -(window-b)..(window-b);
 *  - CBOW: h = mean of the context input vectors; for the target (label 1)
 *    and `negative` draws from a 1e8-entry unigram^0.75 table (-table N
 *    makes it smaller, for tests; index
 *    (r >> 16) % size; a draw of entry 0 becomes r % (V-1) + 1; a draw
 *    equal to the target word is skipped): f = h.out[t];
 *    g = (label - sigmoid(f)) * alpha with sigmoid 1 above +6 and 0 below
 *    -6, a 1000-entry table between; e += g out[t]; out[t] += g h;
 *    then e is added, undivided, to every context input vector;
 *  - skip-gram: for each context word c, the same with h = in[c] and e
 *    added to in[c] (the target word predicted from each context word);
 *  - init: in ~ U(-0.5, 0.5) / dim from the LCG seeded with 1, out = 0;
 *  - threads split the file into equal byte ranges (Hogwild).
 * The output is word2vec text, vocabulary order.  It also prints the mean
 * loss -log p(label) per target, overall and per tenth of the run. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXW 100
#define MAXSEN 1000
#define EXPN 1000
#define EXPMAX 6

typedef struct {
    char *w;
    long long cn;
} entry;

static entry *voc;
static long long nvoc, capvoc;
static long long *hash;
static long long hsize = 1 << 24;
static int dim = 100, window = 5, negative = 5, cbow = 1, iter = 5, nthreads = 1;
static long long min_count = 5, train_words, file_size, seed, table_size = 100000000;
static double sample = 1e-3, alpha0 = -1;
static float *in, *out, *expt;
static int *table;
static const char *train_file, *out_file;
static volatile long long progress;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static double curve_loss[10];
static long long curve_n[10];

/* one token; newline gives "</s>"; returns 0 at EOF with nothing read */
static int read_word(FILE *f, char *w)
{
    int n = 0, c;
    while ((c = fgetc(f)) != EOF) {
        if (c == '\r')
            continue;
        if (c == ' ' || c == '\t' || c == '\n') {
            if (n > 0) {
                if (c == '\n')
                    ungetc(c, f);
                break;
            }
            if (c == '\n') {
                strcpy(w, "</s>");
                return 1;
            }
            continue;
        }
        if (n < MAXW - 1)
            w[n++] = (char)c;
    }
    w[n] = 0;
    return n > 0;
}

static unsigned long long hstr(const char *s)
{
    unsigned long long h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static long long find(const char *w)
{
    unsigned long long h = hstr(w) & (hsize - 1);
    while (hash[h] >= 0) {
        if (!strcmp(voc[hash[h]].w, w))
            return hash[h];
        h = (h + 1) & (hsize - 1);
    }
    return -1;
}

static void add(const char *w)
{
    unsigned long long h = hstr(w) & (hsize - 1);
    while (hash[h] >= 0) {
        if (!strcmp(voc[hash[h]].w, w)) {
            voc[hash[h]].cn++;
            return;
        }
        h = (h + 1) & (hsize - 1);
    }
    if (nvoc == capvoc) {
        capvoc = capvoc ? 2 * capvoc : 1 << 16;
        voc = realloc(voc, capvoc * sizeof *voc);
    }
    voc[nvoc].w = strdup(w);
    voc[nvoc].cn = 1;
    hash[h] = nvoc++;
    if (nvoc * 2 > hsize) {
        fprintf(stderr, "vocabulary too large for this reference\n");
        exit(1);
    }
}

static int by_count(const void *a, const void *b)
{
    long long x = ((const entry *)a)->cn, y = ((const entry *)b)->cn;
    return x > y ? -1 : x < y;
}

static void build_vocab(void)
{
    FILE *f = fopen(train_file, "rb");
    if (!f) {
        perror(train_file);
        exit(1);
    }
    hash = malloc(hsize * sizeof *hash);
    for (long long i = 0; i < hsize; i++)
        hash[i] = -1;
    char w[MAXW];
    add("</s>");
    voc[0].cn = 0;
    while (read_word(f, w))
        add(w);
    fseek(f, 0, SEEK_END);
    file_size = ftell(f);
    fclose(f);
    /* sort all but </s> (stable enough: ties in any order) */
    qsort(voc + 1, nvoc - 1, sizeof *voc, by_count);
    long long k = 1;
    for (long long i = 1; i < nvoc; i++)
        if (voc[i].cn >= min_count)
            voc[k++] = voc[i];
        else
            free(voc[i].w);
    nvoc = k;
    for (long long i = 0; i < hsize; i++)
        hash[i] = -1;
    train_words = 0;
    for (long long i = 0; i < nvoc; i++) {
        unsigned long long h = hstr(voc[i].w) & (hsize - 1);
        while (hash[h] >= 0)
            h = (h + 1) & (hsize - 1);
        hash[h] = i;
        train_words += voc[i].cn;
    }
    fprintf(stderr, "vocab %lld, train_words %lld\n", nvoc, train_words);
}

static void build_table(void)
{
    double z = 0;
    for (long long i = 0; i < nvoc; i++)
        z += pow((double)voc[i].cn, 0.75);
    table = malloc((size_t)table_size * sizeof *table);
    long long i = 0;
    double cum = pow((double)voc[0].cn, 0.75) / z;
    for (long long a = 0; a < table_size; a++) {
        table[a] = (int)i;
        if ((double)a / table_size > cum && i < nvoc - 1) {
            i++;
            cum += pow((double)voc[i].cn, 0.75) / z;
        }
    }
}

static inline double logsig(double x) { return x > 0 ? -log1p(exp(-x)) : x - log1p(exp(x)); }

/* one (h, target word) example with negatives; e accumulates */
static inline void example(const float *h, float *e, long long word, unsigned long long *r,
                           float alpha, double *loss, long long *nl)
{
    for (int d = 0; d <= negative; d++) {
        long long t;
        float label;
        if (d == 0) {
            t = word;
            label = 1;
        } else {
            *r = *r * 25214903917ull + 11;
            t = table[(*r >> 16) % (unsigned long long)table_size];
            if (t == 0)
                t = (long long)(*r % (unsigned long long)(nvoc - 1)) + 1;
            if (t == word)
                continue;
            label = 0;
        }
        float *o = out + t * dim, f = 0, g;
        for (int c = 0; c < dim; c++)
            f += h[c] * o[c];
        *loss -= label > 0.5f ? logsig(f) : logsig(-f);
        (*nl)++;
        if (f > EXPMAX)
            g = (label - 1) * alpha;
        else if (f < -EXPMAX)
            g = (label - 0) * alpha;
        else
            g = (label - expt[(int)((f + EXPMAX) * (EXPN / EXPMAX / 2))]) * alpha;
        for (int c = 0; c < dim; c++)
            e[c] += g * o[c];
        for (int c = 0; c < dim; c++)
            o[c] += g * h[c];
    }
}

static void *thread(void *arg)
{
    long id = (long)arg;
    unsigned long long r = (unsigned long long)id + (unsigned long long)seed * 1000003ull;
    long long sen[MAXSEN + 1], len = 0, pos = 0, wc = 0, lastwc = 0, epoch = iter;
    float alpha = (float)alpha0;
    float *h = malloc(dim * sizeof *h), *e = malloc(dim * sizeof *e);
    char w[MAXW];
    double loss = 0;
    long long nl = 0;
    FILE *f = fopen(train_file, "rb");
    fseek(f, file_size / nthreads * id, SEEK_SET);
    for (;;) {
        if (wc - lastwc > 10000) {
            pthread_mutex_lock(&mu);
            progress += wc - lastwc;
            long long p = progress;
            pthread_mutex_unlock(&mu);
            lastwc = wc;
            alpha = (float)(alpha0 * (1 - p / (double)(iter * train_words + 1)));
            if (alpha < alpha0 * 0.0001)
                alpha = (float)(alpha0 * 0.0001);
        }
        if (len == 0) {
            while (1) {
                if (!read_word(f, w))
                    break;
                long long x = find(w);
                if (x < 0)
                    continue;
                wc++;
                if (x == 0)
                    break;
                if (sample > 0) {
                    double st = sample * train_words, cn = (double)voc[x].cn;
                    double keep = (sqrt(cn / st) + 1) * st / cn;
                    r = r * 25214903917ull + 11;
                    if (keep < (r & 0xFFFF) / 65536.0)
                        continue;
                }
                sen[len++] = x;
                if (len >= MAXSEN)
                    break;
            }
            pos = 0;
        }
        if (feof(f) || wc > train_words / nthreads) {
            /* the end of this thread's share: next epoch */
            pthread_mutex_lock(&mu);
            progress += wc - lastwc;
            pthread_mutex_unlock(&mu);
            if (--epoch == 0)
                break;
            wc = lastwc = len = 0;
            clearerr(f);
            fseek(f, file_size / nthreads * id, SEEK_SET);
            continue;
        }
        if (len == 0)
            continue;
        long long word = sen[pos];
        r = r * 25214903917ull + 11;
        int b = (int)(r % (unsigned long long)window);
        int span = window - b;
        if (cbow) {
            int cw = 0;
            memset(h, 0, dim * sizeof *h);
            memset(e, 0, dim * sizeof *e);
            for (int a = -span; a <= span; a++) {
                long long c = pos + a;
                if (a == 0 || c < 0 || c >= len)
                    continue;
                const float *v = in + sen[c] * dim;
                for (int q = 0; q < dim; q++)
                    h[q] += v[q];
                cw++;
            }
            if (cw) {
                for (int q = 0; q < dim; q++)
                    h[q] /= cw;
                double l0 = loss;
                long long n0 = nl;
                example(h, e, word, &r, alpha, &loss, &nl);
                for (int a = -span; a <= span; a++) {
                    long long c = pos + a;
                    if (a == 0 || c < 0 || c >= len)
                        continue;
                    float *v = in + sen[c] * dim;
                    for (int q = 0; q < dim; q++)
                        v[q] += e[q];
                }
                if (id == 0) {
                    int k = (int)(10.0 * (progress + wc - lastwc) / (double)(iter * train_words + 1));
                    k = k > 9 ? 9 : k;
                    curve_loss[k] += loss - l0;
                    curve_n[k] += nl - n0;
                }
            }
        } else {
            for (int a = -span; a <= span; a++) {
                long long c = pos + a;
                if (a == 0 || c < 0 || c >= len)
                    continue;
                float *v = in + sen[c] * dim;
                memset(e, 0, dim * sizeof *e);
                double l0 = loss;
                long long n0 = nl;
                example(v, e, word, &r, alpha, &loss, &nl);
                for (int q = 0; q < dim; q++)
                    v[q] += e[q];
                if (id == 0) {
                    int k = (int)(10.0 * (progress + wc - lastwc) / (double)(iter * train_words + 1));
                    k = k > 9 ? 9 : k;
                    curve_loss[k] += loss - l0;
                    curve_n[k] += nl - n0;
                }
            }
        }
        if (++pos >= len)
            len = 0;
    }
    fclose(f);
    free(h);
    free(e);
    double *res = malloc(2 * sizeof *res);
    res[0] = loss;
    res[1] = (double)nl;
    return res;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "-train"))
            train_file = v;
        else if (!strcmp(k, "-output"))
            out_file = v;
        else if (!strcmp(k, "-cbow"))
            cbow = atoi(v);
        else if (!strcmp(k, "-size"))
            dim = atoi(v);
        else if (!strcmp(k, "-window"))
            window = atoi(v);
        else if (!strcmp(k, "-negative"))
            negative = atoi(v);
        else if (!strcmp(k, "-sample"))
            sample = atof(v);
        else if (!strcmp(k, "-min-count"))
            min_count = atoll(v);
        else if (!strcmp(k, "-iter"))
            iter = atoi(v);
        else if (!strcmp(k, "-threads"))
            nthreads = atoi(v);
        else if (!strcmp(k, "-seed"))
            seed = atoll(v);
        else if (!strcmp(k, "-table"))
            table_size = atoll(v);
        else if (!strcmp(k, "-alpha"))
            alpha0 = atof(v);
        else {
            fprintf(stderr, "unknown option %s\n", k);
            return 2;
        }
    }
    if (!train_file || !out_file || negative < 1 || table_size < 1) {
        fprintf(stderr, "usage: %s -train FILE -output VEC [-cbow 0|1] [-size N] ...\n", argv[0]);
        return 2;
    }
    if (alpha0 < 0)
        alpha0 = cbow ? 0.05 : 0.025;
    expt = malloc((EXPN + 1) * sizeof *expt);
    for (int i = 0; i < EXPN; i++) {
        double x = exp((i / (double)EXPN * 2 - 1) * EXPMAX);
        expt[i] = (float)(x / (x + 1));
    }
    build_vocab();
    build_table();
    in = malloc((size_t)nvoc * dim * sizeof *in);
    out = calloc((size_t)nvoc * dim, sizeof *out);
    unsigned long long r = 1;
    for (long long i = 0; i < nvoc * dim; i++) {
        r = r * 25214903917ull + 11;
        in[i] = (((r & 0xFFFF) / 65536.0f) - 0.5f) / dim;
    }
    pthread_t *th = malloc(nthreads * sizeof *th);
    for (long i = 0; i < nthreads; i++)
        pthread_create(&th[i], NULL, thread, (void *)i);
    double loss = 0, nl = 0;
    for (int i = 0; i < nthreads; i++) {
        double *res;
        pthread_join(th[i], (void **)&res);
        loss += res[0];
        nl += res[1];
        free(res);
    }
    printf("{\"vocab\":%lld,\"train_words\":%lld,\"loss\":%.5f,\"curve\":[", nvoc, train_words,
           nl ? loss / nl : 0);
    for (int k = 0; k < 10; k++)
        printf("%s%.5f", k ? "," : "", curve_n[k] ? curve_loss[k] / curve_n[k] : 0);
    printf("]}\n");
    FILE *f = fopen(out_file, "w");
    fprintf(f, "%lld %d\n", nvoc, dim);
    for (long long i = 0; i < nvoc; i++) {
        fprintf(f, "%s", voc[i].w);
        for (int q = 0; q < dim; q++)
            fprintf(f, " %.6g", in[i * dim + q]);
        fprintf(f, "\n");
    }
    fclose(f);
    return 0;
}
