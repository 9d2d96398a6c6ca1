/*
 * clock.c -- the wall clock of clock.h.
 */
#include "core/clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

static const char *offset_file; /* set once by clock_init */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct timespec seen_mtime; /* guarded by lock */
static long long offset_ms;        /* guarded by lock */

void clock_init(void)
{
	const char *f = getenv("TRANSOM_CLOCK_OFFSET_FILE");
	offset_file = f != NULL && *f != '\0' ? f : NULL;
}

bool clock_is_offset(void)
{
	return offset_file != NULL;
}

static long long offset_now(void)
{
	struct stat sb;
	long long off;
	pthread_mutex_lock(&lock);
	if (stat(offset_file, &sb) == 0 &&
	    (sb.st_mtim.tv_sec != seen_mtime.tv_sec || sb.st_mtim.tv_nsec != seen_mtime.tv_nsec)) {
		FILE *fp = fopen(offset_file, "r");
		long long v;
		if (fp != NULL) {
			if (fscanf(fp, "%lld", &v) == 1)
				offset_ms = v;
			fclose(fp);
		}
		seen_mtime = sb.st_mtim;
	}
	off = offset_ms;
	pthread_mutex_unlock(&lock);
	return off;
}

static long long ms_of(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long clock_wall_ms(void)
{
	return ms_of(CLOCK_REALTIME);
}

long long clock_mono_ms(void)
{
	return ms_of(CLOCK_MONOTONIC);
}

long long clock_now_ms(void)
{
	long long ms = ms_of(CLOCK_REALTIME);
	return offset_file != NULL ? ms + offset_now() : ms;
}
