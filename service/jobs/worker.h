/*
 * worker.h -- what every job of service/jobs/ is made of (timers, webhooks, mail, remote
 * calendars, ...): a background thread that sweeps at an interval until stopped, and the
 * backoff of retried work.
 *
 * The thread calls sweep(self, cls) at once, then again `interval_ms` after each sweep
 * that returned false; a sweep that returns true ("more to do") is followed at once by
 * the next.  worker_stop() wakes a waiting thread and joins it after the sweep under way;
 * a long sweep may ask worker_stopping(self) between its steps.
 */
#ifndef TRANSOM_JOBS_WORKER_H
#define TRANSOM_JOBS_WORKER_H

#include <stdbool.h>

struct worker;

/* Starts the thread.  NULL when out of memory or no thread could be made. */
struct worker *worker_start(unsigned interval_ms, bool (*sweep)(struct worker *self, void *cls),
			    void *cls);

/* Whether worker_stop() was called for `w`.  Thread-safe. */
bool worker_stopping(struct worker *w);

/* Stops and joins the thread, then frees `w`; NULL is a no-op. */
void worker_stop(struct worker *w);

/*
 * The wait before retry number `attempt` + 1 of a job that failed (webhooks, mail):
 * step = base * 2^(attempt-1), capped at an hour (or at base, when that is larger); the
 * wait is half the step plus a random part of the other half ("equal jitter").  Replicas
 * retrying one endpoint spread out, and every retry still waits at least as long as the
 * previous one could, so the intervals grow.
 */
long long jobs_backoff_ms(unsigned base_ms, int attempt);

#endif /* TRANSOM_JOBS_WORKER_H */
