#include "core/threads.h"
#include "core/alloc.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct b4k_pool {
    int n;                  /* total threads including the caller */
    pthread_t *th;          /* n-1 workers */
    pthread_mutex_t mu;
    pthread_cond_t go;
    pthread_cond_t done;
    unsigned long gen;      /* bumped for every job */
    int pending;            /* workers still running the current job */
    int quit;
    b4k_pool_fn fn;
    void *ctx;
};

struct worker_arg {
    b4k_pool *pool;
    int tid;
};

static void *worker(void *p)
{
    struct worker_arg *wa = p;
    b4k_pool *pool = wa->pool;
    int tid = wa->tid;
    free(wa);
    unsigned long seen = 0;
    for (;;) {
        pthread_mutex_lock(&pool->mu);
        while (pool->gen == seen && !pool->quit)
            pthread_cond_wait(&pool->go, &pool->mu);
        if (pool->quit) {
            pthread_mutex_unlock(&pool->mu);
            return NULL;
        }
        seen = pool->gen;
        b4k_pool_fn fn = pool->fn;
        void *ctx = pool->ctx;
        pthread_mutex_unlock(&pool->mu);

        fn(ctx, tid, pool->n);

        pthread_mutex_lock(&pool->mu);
        if (--pool->pending == 0)
            pthread_cond_signal(&pool->done);
        pthread_mutex_unlock(&pool->mu);
    }
}

int b4k_ncpu(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

b4k_pool *b4k_pool_new(int nthreads)
{
    if (nthreads <= 0)
        nthreads = b4k_ncpu();
    b4k_pool *pool = b4k_calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    pool->n = nthreads;
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->go, NULL);
    pthread_cond_init(&pool->done, NULL);
    if (nthreads > 1) {
        pool->th = b4k_calloc((size_t)nthreads - 1, sizeof *pool->th);
        if (!pool->th)
            goto fail;
        for (int i = 1; i < nthreads; i++) {
            struct worker_arg *wa = malloc(sizeof *wa);
            if (!wa)
                goto fail_threads;
            wa->pool = pool;
            wa->tid = i;
            if (pthread_create(&pool->th[i - 1], NULL, worker, wa)) {
                free(wa);
                goto fail_threads;
            }
            continue;
        fail_threads:
            pool->n = i; /* only i-1 workers exist */
            b4k_pool_free(pool);
            return NULL;
        }
    }
    return pool;
fail:
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->go);
    pthread_cond_destroy(&pool->done);
    free(pool);
    return NULL;
}

void b4k_pool_free(b4k_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->mu);
    pool->quit = 1;
    pthread_cond_broadcast(&pool->go);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 1; i < pool->n; i++)
        pthread_join(pool->th[i - 1], NULL);
    free(pool->th);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->go);
    pthread_cond_destroy(&pool->done);
    free(pool);
}

int b4k_pool_size(const b4k_pool *pool) { return pool ? pool->n : 1; }

void b4k_pool_run(b4k_pool *pool, b4k_pool_fn fn, void *ctx)
{
    if (!pool || pool->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_mutex_lock(&pool->mu);
    pool->fn = fn;
    pool->ctx = ctx;
    pool->pending = pool->n - 1;
    pool->gen++;
    pthread_cond_broadcast(&pool->go);
    pthread_mutex_unlock(&pool->mu);

    fn(ctx, 0, pool->n);

    pthread_mutex_lock(&pool->mu);
    while (pool->pending > 0)
        pthread_cond_wait(&pool->done, &pool->mu);
    pthread_mutex_unlock(&pool->mu);
}

struct range_job {
    size_t n;
    b4k_pool_range_fn fn;
    void *ctx;
};

static void range_tramp(void *p, int tid, int nt)
{
    struct range_job *j = p;
    size_t per = j->n / (size_t)nt, rem = j->n % (size_t)nt;
    size_t b = (size_t)tid * per + ((size_t)tid < rem ? (size_t)tid : rem);
    size_t e = b + per + ((size_t)tid < rem ? 1 : 0);
    if (b < e)
        j->fn(j->ctx, b, e, tid);
}

void b4k_pool_for(b4k_pool *pool, size_t n, b4k_pool_range_fn fn, void *ctx)
{
    struct range_job j = { n, fn, ctx };
    b4k_pool_run(pool, range_tramp, &j);
}
