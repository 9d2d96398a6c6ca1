/*
 * worker.h -- a background thread that sweeps at an interval until stopped: what every
 * job of service/jobs/ is made of (timers, webhooks, remote calendars, ...).
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

#endif /* TRANSOM_JOBS_WORKER_H */
