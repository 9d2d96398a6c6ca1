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
 * Gives the heap's free pages back to the system when the process's resident memory that
 * malloc's callers do not hold (VmRSS less the bytes in use) grew by more than
 * `threshold` bytes over the least the calls saw since the last trim (or the start).
 * Returns those bytes before a trim, or 0 when it did not trim.  Reads /proc/self/statm;
 * takes malloc's locks for a few milliseconds: call it from a thread that holds none of
 * ours.
 */
size_t mem_trim_if_due(size_t threshold);

/*
 * Gives back the free top of the calling thread's own malloc arena when mem_trim_if_due
 * trimmed since this thread last called (malloc_trim does that for the main arena only:
 * 28 MB of a worker's arena stayed resident after the start-up re-plan pass).  One atomic
 * read when there is nothing to do: call it from every thread that does work, between
 * jobs (request workers after each request, background jobs after each sweep).
 */
void mem_trim_own_arena(void);

#endif /* TRANSOM_CORE_MEMORY_H */
