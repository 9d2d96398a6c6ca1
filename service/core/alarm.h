/*
 * alarm.h -- one thread that calls functions at given times, for waits that must not hold
 * a thread of their own (long-polls).
 *
 * An alarm calls fn(cls) once, on the alarm thread, at or shortly after its time, unless
 * cancelled first.  fn must be quick and must not block or call back into the clock.
 */
#ifndef TRANSOM_CORE_ALARM_H
#define TRANSOM_CORE_ALARM_H

struct alarm_clock;

/* Starts the clock's thread.  NULL when out of memory or no thread. */
struct alarm_clock *alarm_clock_start(void);

/* Stops the thread; pending alarms are dropped (never called).  NULL is a no-op. */
void alarm_clock_stop(struct alarm_clock *c);

/*
 * Calls fn(cls) at `when_ms` (CLOCK_REALTIME milliseconds; a past time fires at once).
 * Returns an id for alarm_cancel, or 0 when out of memory (nothing is armed).
 */
unsigned long alarm_set(struct alarm_clock *c, long long when_ms, void (*fn)(void *cls), void *cls);

/*
 * Cancels alarm `id` (0 and fired alarms are no-ops).  When it returns, fn is not running
 * and will not be called for that alarm.
 */
void alarm_cancel(struct alarm_clock *c, unsigned long id);

#endif /* TRANSOM_CORE_ALARM_H */
