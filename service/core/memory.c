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
/* Since the last trim (lock): the least free heap bytes seen (the free bytes count pages
 * already given back too), and the most bytes seen in use. */
static size_t least_free, most_used;

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
	struct mallinfo2 mi = mallinfo2();
	size_t trimmed = 0;
	if (mi.fordblks < least_free)
		least_free = mi.fordblks;
	if (mi.uordblks > most_used)
		most_used = mi.uordblks;
	/* Trimmed when the free memory grew, or what was in use shrank, by `threshold`. */
	if (mi.fordblks > least_free + threshold || mi.uordblks + threshold < most_used) {
		malloc_trim(0);
		trimmed = mi.fordblks;
		mi = mallinfo2();
		least_free = mi.fordblks;
		most_used = mi.uordblks;
	}
	pthread_mutex_unlock(&lock);
	return trimmed;
#else
	(void)threshold;
	return 0;
#endif
}
