/*
 * memory.c -- heap tuning and trimming (see memory.h).
 */
#include "core/memory.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

/* Blocks this large and larger are mmapped on their own (glibc's starting default). */
#define MEM_MMAP_THRESHOLD (128 * 1024)
/* Free memory at the top of a heap beyond this is given back at once. */
#define MEM_TRIM_THRESHOLD (1024 * 1024)
/* A block this large, freed, makes glibc trim the top of its thread's arena (free() of a
 * chunk of 64 KiB or more); under MEM_MMAP_THRESHOLD, so it comes from the arena. */
#define MEM_NUDGE_SIZE (MEM_MMAP_THRESHOLD / 2)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* Since the last trim (lock): the least of the process's resident bytes not in use by
 * malloc's callers that a call saw (libraries, stacks and the heap's free pages);
 * SIZE_MAX before the first trim. */
static size_t least_idle = SIZE_MAX;
/* How many trims there were; each thread's mem_trim_own_arena() follows it. */
static atomic_uint trims;
static _Thread_local unsigned trims_seen;

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

#if defined(__GLIBC__)
/* The process's resident bytes (/proc/self/statm), or 0 when they cannot be read. */
static size_t resident_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	unsigned long size, resident;
	int n = f != NULL ? fscanf(f, "%lu %lu", &size, &resident) : 0;
	if (f != NULL)
		fclose(f);
	long page = sysconf(_SC_PAGESIZE);
	return n == 2 && page > 0 ? (size_t)resident * (size_t)page : 0;
}

/* Resident bytes that malloc's callers do not hold: 0 when unknown. */
static size_t idle_bytes(void)
{
	size_t rss = resident_bytes();
	struct mallinfo2 mi = mallinfo2();
	size_t used = mi.uordblks + mi.hblkhd; /* the heaps' and the mapped blocks' */
	return rss > used ? rss - used : 0;
}
#endif

size_t mem_trim_if_due(size_t threshold)
{
#if defined(__GLIBC__)
	pthread_mutex_lock(&lock);
	size_t idle = idle_bytes(), trimmed = 0;
	/* Trimmed at the first call, so that the least seen starts from a trimmed heap, then
	 * when the resident memory nobody uses grew by `threshold` over the least seen: pages
	 * freed, or freed after they were given back and used again, which the heap's free
	 * bytes alone do not show (they count pages given back as free). */
	if (idle > 0 && (least_idle == SIZE_MAX || idle > least_idle + threshold)) {
		malloc_trim(0);
		atomic_fetch_add(&trims, 1);
		mem_trim_own_arena();
		trimmed = idle;
		least_idle = idle_bytes();
	} else if (idle > 0 && idle < least_idle) {
		least_idle = idle;
	}
	pthread_mutex_unlock(&lock);
	return trimmed;
#else
	(void)threshold;
	return 0;
#endif
}

void mem_trim_own_arena(void)
{
#if defined(__GLIBC__)
	unsigned now = atomic_load_explicit(&trims, memory_order_relaxed);
	if (now == trims_seen)
		return;
	trims_seen = now;
	/* malloc_trim gives back the top of the main arena only; a thread's own arena gives
	 * back its top when a large enough block is freed in it.  (volatile: the compiler
	 * would drop a malloc and free of an unused block.) */
	volatile char *nudge = malloc(MEM_NUDGE_SIZE);
	if (nudge != NULL) {
		nudge[0] = 0;
		free((void *)nudge);
	}
#endif
}
