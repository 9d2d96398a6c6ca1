/*
 * plan_memo.c -- a planner per environment shared by the requests of a definitions
 * snapshot while what it was made from stays as it was.
 *
 * Every normal-change write plans (a proposal on create, edit and submit, a booking when
 * approved), and a planner is made from every booking of the horizon: read, turned into
 * JSON and indexed, on each of them -- most of a lifecycle's cost (issue 19).  Planners
 * made from the same instances and the same bookings are the same planner, so the
 * snapshot keeps the last one made for each environment with what identifies its inputs
 * (struct defs_plan_key), and lends it to a caller whose inputs are the same.  The caller
 * (app/schedule.c) decides what "the same" needs; this file only compares keys and
 * serialises the use: a planner is used by one thread at a time (planner.h), so a lent
 * planner is used under the memo's lock, briefly (one placement, no I/O).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "defs/defs.h"
#include "planner/planner.h"

#define PLAN_MEMO_ENVS 4 /* environments remembered; more are planned for each time */

struct defs_plan_memo {
	pthread_mutex_t lock;
	struct {
		char env[64];
		struct defs_plan_key key;
		struct planner *p;
	} v[PLAN_MEMO_ENVS];
	size_t n, next; /* entries used; the one a new environment replaces */
};

struct defs_plan_memo *defs_plan_memo_new(void)
{
	struct defs_plan_memo *m = calloc(1, sizeof *m);
	if (m != NULL && pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m);
		return NULL;
	}
	return m;
}

void defs_plan_memo_free(struct defs_plan_memo *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++) {
		planner_free(m->v[i].p);
		defs_span_release(m->v[i].key.span);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* Whether `k` (a caller's, at k->made_ms) is answered by entry key `have`. */
static bool key_matches(const struct defs_plan_key *have, const struct defs_plan_key *k)
{
	return have->version == k->version && have->span == k->span &&
	       have->made_ms <= k->made_ms && k->made_ms < have->until_ms;
}

struct planner *defs_planner_lend(const struct defs *d, const char *environment,
				  const struct defs_plan_key *k)
{
	struct defs_plan_memo *m = d->plans;
	if (m == NULL || strlen(environment) >= sizeof m->v[0].env)
		return NULL;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i].env, environment) == 0 && key_matches(&m->v[i].key, k))
			return m->v[i].p; /* the lock stays held: defs_planner_give_back */
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

struct planner *defs_planner_keep(const struct defs *d, const char *environment,
				  const struct defs_plan_key *k, struct planner *p)
{
	struct defs_plan_memo *m = d->plans;
	if (m == NULL || p == NULL || k->span == NULL ||
	    strlen(environment) >= sizeof m->v[0].env) {
		planner_free(p);
		return NULL;
	}
	pthread_mutex_lock(&m->lock);
	size_t i = 0;
	while (i < m->n && strcmp(m->v[i].env, environment) != 0)
		i++;
	if (i == m->n) {
		if (m->n < PLAN_MEMO_ENVS) {
			i = m->n++;
		} else {
			i = m->next;
			m->next = (m->next + 1) % PLAN_MEMO_ENVS;
		}
		strcpy(m->v[i].env, environment);
		planner_free(m->v[i].p);
		defs_span_release(m->v[i].key.span);
		m->v[i].p = NULL;
		m->v[i].key.span = NULL;
	}
	/* The newer bookings win: a slower request must not put back an older planner. */
	if (m->v[i].p != NULL && m->v[i].key.version > k->version) {
		pthread_mutex_unlock(&m->lock);
		planner_free(p);
		return NULL;
	}
	planner_free(m->v[i].p);
	defs_span_release(m->v[i].key.span);
	atomic_fetch_add(&((struct defs_span *)k->span)->refs, 1); /* the planner borrows it */
	m->v[i].p = p;
	m->v[i].key = *k;
	return p; /* the lock stays held: defs_planner_give_back */
}

void defs_planner_rekey(const struct defs *d, struct planner *p, long long version,
			long long made_ms, long long end_ms)
{
	struct defs_plan_memo *m = d->plans;
	for (size_t i = 0; i < m->n; i++)
		if (m->v[i].p == p) {
			m->v[i].key.version = version;
			if (made_ms > m->v[i].key.made_ms)
				m->v[i].key.made_ms = made_ms;
			if (end_ms > 0 && end_ms < m->v[i].key.until_ms)
				m->v[i].key.until_ms = end_ms;
		}
}

void defs_planner_give_back(const struct defs *d, struct planner *p, bool spoiled)
{
	struct defs_plan_memo *m = d->plans;
	for (size_t i = 0; spoiled && i < m->n; i++)
		if (m->v[i].p == p) {
			planner_free(p);
			m->v[i].p = NULL;
			m->v[i].key.version = -1; /* matches no caller: made again next time */
		}
	pthread_mutex_unlock(&m->lock);
}
