/*
 * test_memory.c -- heap trimming (service/core/memory.c): memory freed between live
 * blocks goes back to the system once the heap's free memory grew past the threshold.
 */
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
	for (int i = 0; i < BLOCKS; i++)
		free(pins[i]);
#else
	/* AddressSanitizer's allocator is not glibc's: nothing of this applies. */
	fprintf(stderr, "skip test_memory/test_freed_memory_goes_back: not glibc's malloc\n");
#endif
}

TESTS(test_freed_memory_goes_back)
