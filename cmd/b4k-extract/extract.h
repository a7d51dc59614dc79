/* b4k-extract: what its command files share. */
#ifndef B4K_CMD_EXTRACT_H
#define B4K_CMD_EXTRACT_H

#include "core/threads.h"

/* b4k's pool for THREADS (NULL for one), with OpenBLAS single-threaded */
b4k_pool *make_pool(int threads);
int cmd_bench(int argc, char **argv);

#endif
