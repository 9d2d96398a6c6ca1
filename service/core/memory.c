/*
 * memory.c -- heap tuning and trimming (see memory.h).
 */
#include "core/memory.h"

#include <pthread.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

/* Blocks this large and larger are mmapped on their own (glibc's starting default). */
#define MEM_MMAP_THRESHOLD (128 * 1024)
/* Free memory at the top of a heap beyond this is given back at once. */
#define MEM_TRIM_THRESHOLD (1024 * 1024)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static size_t free_after_trim; /* heap bytes still free after the last trim (lock) */

void mem_tune(unsigned arenas)
{
#if defined(__GLIBC__)
	if (arenas == 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		arenas = cores > 0 ? 2 * (unsigned)cores : 2;
	}
	mallopt(M_ARENA_MAX, (int)arenas);
	/* Setting either threshold also stops glibc from raising them on its own. */
	mallopt(M_MMAP_THRESHOLD, MEM_MMAP_THRESHOLD);
	mallopt(M_TRIM_THRESHOLD, MEM_TRIM_THRESHOLD);
#else
	(void)arenas;
#endif
}

size_t mem_trim_if_due(size_t threshold)
{
#if defined(__GLIBC__)
	pthread_mutex_lock(&lock);
	size_t before = mallinfo2().fordblks, trimmed = 0;
	if (before > free_after_trim + threshold) {
		malloc_trim(0);
		/* What stays free is scattered between live blocks: not worth trying again. */
		free_after_trim = mallinfo2().fordblks;
		trimmed = before;
	} else if (before < free_after_trim) {
		free_after_trim = before; /* reused since: count the growth from here */
	}
	pthread_mutex_unlock(&lock);
	return trimmed;
#else
	(void)threshold;
	return 0;
#endif
}
