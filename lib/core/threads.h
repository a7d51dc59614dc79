/* A small fixed-size thread pool for fork-join parallel loops.
 *
 * b4k_pool_run() calls fn(ctx, tid, nthreads) once on every thread (tid 0 is
 * the caller) and returns when all have finished.  Work splitting is static
 * and deterministic: the same nthreads always gives the same partition, so
 * results are reproducible for a given --threads. */
#ifndef B4K_CORE_THREADS_H
#define B4K_CORE_THREADS_H

#include <stddef.h>

typedef struct b4k_pool b4k_pool;

typedef void (*b4k_pool_fn)(void *ctx, int tid, int nthreads);
typedef void (*b4k_pool_range_fn)(void *ctx, size_t begin, size_t end, int tid);

/* nthreads <= 0 means the number of online CPUs.  Returns NULL on failure. */
b4k_pool *b4k_pool_new(int nthreads);
void b4k_pool_free(b4k_pool *pool);          /* NULL is a no-op */
int b4k_pool_size(const b4k_pool *pool);      /* 1 for NULL */

/* Run fn on every thread.  pool may be NULL (runs fn(ctx,0,1) inline). */
void b4k_pool_run(b4k_pool *pool, b4k_pool_fn fn, void *ctx);

/* Split [0,n) into nthreads contiguous chunks; chunk t goes to thread t. */
void b4k_pool_for(b4k_pool *pool, size_t n, b4k_pool_range_fn fn, void *ctx);

/* Number of online CPUs (>= 1). */
int b4k_ncpu(void);

#endif
