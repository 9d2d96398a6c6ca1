/*
 * timers.c -- the timer worker thread.
 */
#include <stdlib.h>
#include <time.h>

#include "app/app.h"
#include "core/log.h"
#include "core/memory.h"
#include "jobs/github.h"
#include "jobs/jobs.h"
#include "jobs/worker.h"
#include "app/records.h"
#include "app/session.h"

/* Growth of the heap's free memory after which a sweep trims it. */
#define TIMERS_TRIM_AFTER (8 * 1024 * 1024)

struct timer_worker {
	struct app *app;
	struct worker *thread;
	struct app_session *session; /* its own connection and definitions */
};

/* Fires every due timer; returns how many fired. */
static unsigned fire_due(struct timer_worker *w)
{
	unsigned n = 0;
	for (;;) {
		struct rec_ctx c;
		struct tr_error err = {0};
		bool fired = false;
		if (app_session_context(w->session, "system", REC_ROLE_SYSTEM, NULL, &c, &err) !=
		    TR_OK)
			return n; /* no definitions loaded yet */
		enum tr_code rc = records_fire_due_timer(&c, &fired, &err);
		if (rc != TR_OK) {
			if (rc != TR_E_DB_UNAVAILABLE)
				LOG_WARN("event=timer_failed code=%s detail=\"%s\"",
					 tr_code_slug(rc), err.detail);
			return n;
		}
		if (!fired)
			return n;
		n++;
	}
}

/*
 * Announces windows that opened (change.window_opened: webhooks, waiting pipelines) and
 * ends deployments whose lease ran out without a result.
 */
static void gate(struct timer_worker *w)
{
	struct rec_ctx c;
	struct tr_error err = {0};
	if (app_session_context(w->session, "system", REC_ROLE_SYSTEM, NULL, &c, &err) != TR_OK)
		return; /* no definitions loaded yet */
	bool opened = false;
	unsigned expired = 0;
	enum tr_code rc = records_windows_open(&c, &opened, &err);
	if (rc == TR_OK)
		rc = records_deploy_expire(&c, &expired, &err);
	if (rc != TR_OK && rc != TR_E_DB_UNAVAILABLE)
		LOG_WARN("event=gate_sweep_failed code=%s detail=\"%s\"", tr_code_slug(rc),
			 err.detail);
	if (expired > 0)
		LOG_INFO("event=leases_expired count=%u", expired);
	if (rc == TR_OK)
		github_report(w->app, &c);
}

/* One sweep: due timers, the gate.  (Re-planning has its own thread: replan.c.) */
static bool sweep(struct worker *self, void *cls)
{
	struct timer_worker *w = cls;
	(void)self;
	unsigned n = fire_due(w);
	if (n > 0)
		LOG_INFO("event=timers_fired count=%u", n);
	gate(w);
	/* After big replies or streams, hand the pages malloc keeps back (core/memory.h). */
	size_t unused = mem_trim_if_due(TIMERS_TRIM_AFTER);
	if (unused > 0)
		LOG_DEBUG("event=memory_trimmed resident_unused_before=%zu", unused);
	return false;
}

struct timer_worker *timer_worker_start(struct app *app, unsigned interval_ms)
{
	struct timer_worker *w = calloc(1, sizeof *w);
	if (w == NULL)
		return NULL;
	w->app = app;
	w->session = app_session_new(app, APP_SESSION_PLAIN);
	if (w->session == NULL || (w->thread = worker_start(interval_ms, sweep, w)) == NULL) {
		app_session_free(w->session);
		free(w);
		return NULL;
	}
	return w;
}

void timer_worker_stop(struct timer_worker *w)
{
	if (w == NULL)
		return;
	worker_stop(w->thread);
	app_session_free(w->session);
	free(w);
}
