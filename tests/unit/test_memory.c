/*
 * test_memory.c -- heap trimming (service/core/memory.c): memory freed between live
 * blocks goes back to the system once the resident memory nobody holds grew past the
 * threshold, again when the same pages were used and freed once more, and the free top
 * of a thread's own arena goes back when that thread calls mem_trim_own_arena.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>

#include "../unit/harness.h"
#include "core/memory.h"

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
/* This process's resident memory in kB (VmRSS), or -1. */
static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f != NULL && fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return kb;
}
#endif

#define BLOCKS 1024
#define BLOCK  (32 * 1024) /* below the mmap threshold: from the heap */

/*
 * 32 MB in small blocks, each followed by a small one that stays: freeing the 32 MB
 * leaves it free between live blocks, where free() cannot give it back.  The first call
 * trims (the free memory grew by more than 8 MiB) and the process shrinks; the second
 * has nothing new to do.
 */
static void test_freed_memory_goes_back(void)
{
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
	static char *blocks[BLOCKS], *pins[BLOCKS];
	mem_tune(0);
	mem_trim_if_due(0); /* start from a trimmed heap */
	for (int i = 0; i < BLOCKS; i++) {
		blocks[i] = malloc(BLOCK);
		CHECK(blocks[i] != NULL);
		for (int k = 0; blocks[i] != NULL && k < BLOCK; k += 1024)
			blocks[i][k] = (char)k; /* touched: resident */
		pins[i] = malloc(64);
	}
	for (int i = 0; i < BLOCKS; i++)
		free(blocks[i]);
	long before = rss_kb();
	CHECK(mem_trim_if_due(8 * 1024 * 1024) >= 16 * 1024 * 1024);
	long after = rss_kb();
	CHECKF(before - after >= 16 * 1024, "VmRSS %ld kB -> %ld kB", before, after);
	CHECK_INT(mem_trim_if_due(8 * 1024 * 1024), 0);
	/* The same pages used and freed again between two calls: the heap's free bytes are
	 * what they were after the trim (they count pages given back), but 32 MB more are
	 * resident, and they go back. */
	for (int i = 0; i < BLOCKS; i++) {
		blocks[i] = malloc(BLOCK);
		for (int k = 0; blocks[i] != NULL && k < BLOCK; k += 1024)
			blocks[i][k] = (char)k;
	}
	for (int i = 0; i < BLOCKS; i++)
		free(blocks[i]);
	before = rss_kb();
	CHECK(mem_trim_if_due(8 * 1024 * 1024) >= 16 * 1024 * 1024);
	after = rss_kb();
	CHECKF(before - after >= 16 * 1024, "used again: VmRSS %ld kB -> %ld kB", before, after);
	for (int i = 0; i < BLOCKS; i++)
		free(pins[i]);
#else
	/* AddressSanitizer's allocator is not glibc's: nothing of this applies. */
	fprintf(stderr, "skip test_memory/test_freed_memory_goes_back: not glibc's malloc\n");
#endif
}

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#define SMALL 300000 /* blocks of 80 bytes: 24 MB in the thread's arena, no mapped block */

static sem_t freed, trimmed, done;
static long thread_before, thread_after;

/* Fills its own arena with small blocks, frees them, then (once the process trimmed)
 * calls mem_trim_own_arena and measures. */
static void *arena_user(void *arg)
{
	char **small = arg;
	for (int i = 0; i < SMALL; i++) {
		small[i] = malloc(80);
		if (small[i] != NULL)
			small[i][0] = 1;
	}
	for (int i = 0; i < SMALL; i++)
		free(small[i]);
	sem_post(&freed);
	sem_wait(&trimmed);
	thread_before = rss_kb();
	mem_trim_own_arena();
	thread_after = rss_kb();
	sem_post(&done);
	return NULL;
}
#endif

/*
 * A thread's arena (not the main one, which malloc_trim trims): small blocks freed there
 * stay resident at its top after the process-wide trim, until that thread calls
 * mem_trim_own_arena (28 MB after transomd's start-up re-plan pass).
 */
static void test_a_threads_arena_gives_back_its_top(void)
{
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
	static char *small[SMALL];
	pthread_t t;
	mem_tune(0);
	mem_trim_if_due(0);
	sem_init(&freed, 0, 0);
	sem_init(&trimmed, 0, 0);
	sem_init(&done, 0, 0);
	CHECK(pthread_create(&t, NULL, arena_user, small) == 0);
	sem_wait(&freed);
	CHECK(mem_trim_if_due(8 * 1024 * 1024) > 0);
	sem_post(&trimmed);
	sem_wait(&done);
	pthread_join(t, NULL);
	CHECKF(thread_before - thread_after >= 16 * 1024, "VmRSS %ld kB -> %ld kB", thread_before,
	       thread_after);
#else
	fprintf(stderr, "skip test_memory/test_a_threads_arena_gives_back_its_top: not glibc's "
			"malloc\n");
#endif
}

TESTS(test_freed_memory_goes_back, test_a_threads_arena_gives_back_its_top)
