/*
 * span.c -- the calendar instances of a definitions snapshot over the scheduling span,
 * expanded once and shared.
 *
 * Every write to a change plans against every window and freeze instance from a day ago
 * to the horizon and a day past it (app/schedule.c, rec_calendar).  Expanding them is
 * pure and depends only on the snapshot and the span, yet it cost more than the rest of
 * a transition: recurrence rules walked by libical under its one lock, on every request.
 * So the snapshot keeps one expansion over a span a little wider than asked
 * (DEFS_SPAN_SLACK_MS), and hands out references to it until `now` has moved past it;
 * the caller keeps the instances that overlap its own span.
 *
 * Equality with a fresh expansion: an instance's start, end and properties do not depend
 * on the range asked for, only whether it is returned does, and it is returned when it
 * overlaps the range (the same overlaps() rule is applied here to the shared list).  The
 * one exception is the per-event cap (CAL_CAP_DEFAULT instances): a wider span could
 * reach it earlier.  A calendar whose expansion comes near the cap is therefore never
 * shared; its snapshot answers NULL and callers expand for themselves as before.
 */
#include <pthread.h>
#include <stdlib.h>

#include "calendar/calendar.h"
#include "defs/defs.h"

/* How much wider than the first request the shared span is: requests of the next six
 * hours fall inside it. */
#define DEFS_SPAN_SLACK_MS (6LL * 3600 * 1000)

struct defs_memo {
	pthread_mutex_t lock;
	struct defs_span *span; /* owned reference, or NULL */
	bool unshareable;       /* a calendar came near the per-event cap */
};

struct defs_memo *defs_memo_new(void)
{
	struct defs_memo *m = calloc(1, sizeof *m);
	if (m != NULL && pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m);
		return NULL;
	}
	return m;
}

void defs_memo_free(struct defs_memo *m)
{
	if (m == NULL)
		return;
	defs_span_release(m->span);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void defs_span_release(const struct defs_span *sp)
{
	struct defs_span *s = (struct defs_span *)sp;
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	cal_instances_clear(&s->l);
	free(s);
}

/* A new span over [from_ms, to_ms) of every calendar of `d` (refs = 1); NULL on out of
 * memory, and with *unshareable set when a calendar came near the cap. */
static struct defs_span *span_expand(const struct defs *d, long long from_ms, long long to_ms,
				     bool *unshareable)
{
	struct defs_span *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	atomic_init(&s->refs, 1);
	s->from_ms = from_ms;
	s->to_ms = to_ms;
	for (size_t i = 0; i < d->n_calendars; i++) {
		size_t before = s->l.n;
		if (cal_expand_list(d->calendars[i].set, from_ms, to_ms, 0, &s->l) < 0) {
			defs_span_release(s);
			return NULL;
		}
		/* Some event of this calendar may have reached its cap: conservatively, any
		 * calendar with that many instances in all. */
		if (s->l.n - before >= CAL_CAP_DEFAULT)
			*unshareable = true;
	}
	return s;
}

const struct defs_span *defs_span_get(const struct defs *d, long long from_ms, long long to_ms)
{
	struct defs_memo *m = d->memo;
	struct defs_span *s = NULL;
	if (m == NULL || to_ms <= from_ms || to_ms + DEFS_SPAN_SLACK_MS - from_ms > CAL_HORIZON_MS)
		return NULL;
	pthread_mutex_lock(&m->lock);
	if (!m->unshareable &&
	    (m->span == NULL || from_ms < m->span->from_ms || to_ms > m->span->to_ms)) {
		bool unshareable = false;
		struct defs_span *fresh =
			span_expand(d, from_ms, to_ms + DEFS_SPAN_SLACK_MS, &unshareable);
		if (unshareable) {
			defs_span_release(fresh);
			fresh = NULL;
			m->unshareable = true;
		}
		if (fresh != NULL || m->unshareable) {
			defs_span_release(m->span);
			m->span = fresh;
		}
	}
	if (m->span != NULL && from_ms >= m->span->from_ms && to_ms <= m->span->to_ms) {
		s = m->span;
		atomic_fetch_add(&s->refs, 1);
	}
	pthread_mutex_unlock(&m->lock);
	return s;
}
