/*
 * clock.h -- the service's wall clock, which tests may move forward.
 *
 * clock_now_ms() is CLOCK_REALTIME plus an offset.  The offset is 0 unless the process was
 * started with TRANSOM_CLOCK_OFFSET_FILE naming a file that holds a number of
 * milliseconds: tests (and fire drills) write it to make Transom believe it is later --
 * a window opening, a lease running out -- without sleeping.  The file is looked at again
 * whenever its modification time changes.  Never set it in production.
 */
#ifndef TRANSOM_CORE_CLOCK_H
#define TRANSOM_CORE_CLOCK_H

#include <stdbool.h>

/* Reads TRANSOM_CLOCK_OFFSET_FILE.  Call once, before threads start. */
void clock_init(void);

/* Milliseconds since the epoch, UTC, offset included.  Thread-safe. */
long long clock_now_ms(void);

/*
 * The wall clock without the offset, for timestamps other systems check (webhook
 * signatures, cache metadata).  Milliseconds since the epoch.  Thread-safe.
 */
long long clock_wall_ms(void);

/* A monotonic clock in milliseconds, for durations and deadlines.  Thread-safe. */
long long clock_mono_ms(void);

/* Whether an offset file is in use (then sleeps should be short: time may jump). */
bool clock_is_offset(void);

#endif /* TRANSOM_CORE_CLOCK_H */
