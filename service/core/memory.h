/*
 * memory.h -- how the process's heap gives memory back to the system (glibc malloc).
 *
 * glibc keeps what a program frees for its next allocations, in one arena per thread (up
 * to 8 a core), and raises its mmap threshold each time a large block is freed, so that
 * later large blocks (a feed, a long list) come from the heap and stay there.  A service
 * that once re-planned 10,000 changes, answered big reads or held many streams then
 * keeps that memory for good (36 MB of 59 after the start-up re-plan pass alone).
 * mem_tune caps the arenas and fixes the thresholds at start; mem_trim_if_due, called
 * from a background thread, hands the free pages back (malloc_trim) once enough was
 * freed.  Thread-safe; no-ops elsewhere than glibc.
 */
#ifndef TRANSOM_CORE_MEMORY_H
#define TRANSOM_CORE_MEMORY_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Caps malloc's arenas at `arenas` (0: 2 a core) and makes blocks of 128 KiB and more
 * mapped on their own (given back when freed) whatever was freed before.  Call once, at
 * start, before other threads exist.
 */
void mem_tune(unsigned arenas);

/*
 * Gives the heap's free pages back to the system when, since the last trim (or the
 * start) and as far as the calls saw, the heap's free memory grew or the memory in use
 * shrank by more than `threshold` bytes.  Returns the bytes free in the heap before a
 * trim, or 0 when it did not trim.  Takes malloc's locks for
 * a few milliseconds: call it from a thread that holds none of ours.
 */
size_t mem_trim_if_due(size_t threshold);

#endif /* TRANSOM_CORE_MEMORY_H */
