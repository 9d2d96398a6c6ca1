/*
 * replan.c -- the re-plan worker thread: moves scheduled changes whose slot is no longer
 * legal, on its own thread and database connection, so that due timers (timers.c) never
 * wait behind a re-plan of every scheduled change, and asking it to stop between two
 * changes, so that a shutdown never waits for one either.
 */
#include <stdlib.h>

#include "app/app.h"
#include "app/records.h"
#include "app/session.h"
#include "core/clock.h"
#include "core/log.h"
#include "jobs/jobs.h"
#include "jobs/worker.h"

struct replan_worker {
	struct app *app;
	struct worker *thread;
	struct app_session *session;        /* its own connection and definitions */
	unsigned long planned_gen;          /* the definitions the last complete re-plan saw */
	long long planned_ms;               /* when it started */
	long long planned_version;          /* the bookings it left (-1: another pass is due) */
	unsigned long long planned_freezes; /* the incident freezes it planned around */
	long long planned_edge_ms;          /* when time alone may move a change (0: never) */
	bool planned;                       /* one complete re-plan has run */
};

/* Re-plans at least this often, whatever else: a safety net, not the trigger. */
#define REPLAN_EVERY_MS (60 * 60 * 1000)

/* records_replan's stop question: has worker_stop() been called? */
static bool stop_asked(void *cls)
{
	return worker_stopping(cls);
}

/*
 * Whether the last complete re-plan still holds: the same definitions, the clock before
 * the next instant that moves a change by itself (a booking's end, a window coming into
 * the horizon), less than REPLAN_EVERY_MS ago, no change booked, moved or released
 * since, by any replica (one read of the bookings' version), and the same incident
 * freezes (an incident opened, resolved or reprioritised moves placements).
 */
static bool still_planned(struct replan_worker *w, struct rec_ctx *c, unsigned long gen,
			  const char **why)
{
	long long now = c->now_ms, version;
	unsigned long long freezes;
	struct tr_error err = {0};
	*why = !w->planned                                            ? "start"
	       : w->planned_gen != gen                                ? "definitions"
	       : w->planned_version < 0                               ? "others_wrote"
	       : w->planned_edge_ms != 0 && now >= w->planned_edge_ms ? "edge"
	       : now - w->planned_ms >= REPLAN_EVERY_MS               ? "hourly"
								      : NULL;
	if (*why != NULL)
		return false;
	if (records_replan_version(c, &version, &freezes, &err) != TR_OK)
		return true; /* the database is away: try again at the next sweep */
	*why = version != w->planned_version ? "bookings" : "incident_freezes";
	return version == w->planned_version && freezes == w->planned_freezes;
}

/*
 * Re-plans scheduled changes at start-up and when something a placement depends on
 * changed: the definitions (a reload, a remote calendar fetched), the bookings (a change
 * booked, moved or released here or on another replica), the incident freezes, or the clock passing
 * an instant that moves a change by itself; at the latest hourly.  An idle service only reads the
 * bookings' version once a sweep.  Replicas may re-plan at once: each change is
 * re-planned in its own transaction under the scheduling lock, and a legal booking stays
 * put.  A run cut short by a stop or a database outage counts as not done.
 */
static bool sweep(struct worker *self, void *cls)
{
	struct replan_worker *w = cls;
	struct rec_ctx c;
	struct tr_error err = {0};
	if (app_session_context(w->session, "system", REC_ROLE_SYSTEM, NULL, &c, &err) != TR_OK)
		return false; /* no definitions loaded yet */
	unsigned long gen = w->session->defs_gen;
	long long now = c.now_ms;
	const char *why;
	if (still_planned(w, &c, gen, &why))
		return false;
	struct rec_replan_stats st;
	long long t0 = clock_mono_ms();
	LOG_INFO("event=replan_started why=%s definitions=%s", why, c.defs->version);
	enum tr_code rc = records_replan(&c, stop_asked, self, &st, &err);
	if (rc != TR_OK && rc != TR_E_DB_UNAVAILABLE) /* an outage: the next sweep retries */
		LOG_WARN("event=replan_failed code=%s detail=\"%s\"", tr_code_slug(rc), err.detail);
	LOG_INFO("event=replanned why=%s candidates=%zu examined=%zu moved=%u finished=%s ms=%lld "
		 "version=%lld next_edge_ms=%lld definitions=%s",
		 why, st.candidates, st.examined, st.moved, st.finished ? "true" : "false",
		 clock_mono_ms() - t0, st.version, st.next_edge_ms, c.defs->version);
	if (st.finished) {
		w->planned = true;
		w->planned_gen = gen;
		w->planned_ms = now;
		w->planned_version = st.version;
		w->planned_freezes = st.freezes;
		w->planned_edge_ms = st.next_edge_ms;
	}
	return false;
}

struct replan_worker *replan_worker_start(struct app *app, unsigned interval_ms)
{
	struct replan_worker *w = calloc(1, sizeof *w);
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

void replan_worker_stop(struct replan_worker *w)
{
	if (w == NULL)
		return;
	worker_stop(w->thread);
	app_session_free(w->session);
	free(w);
}
