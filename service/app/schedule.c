/*
 * schedule.c -- the scheduling use cases: booking a slot when a workflow's `schedule`
 * action asks for one, freeing it when a change ends, rescheduling, re-planning after
 * the calendars changed, and the read-only views (windows, freezes, bookings, slots,
 * free/busy).
 *
 * A change's placement lives in its record as `schedule`:
 *   {"status": "booked" | "unscheduled" | "released", "start", "end", "window",
 *    "soft_freeze", "broken_freeze", "sequence", "state", "respect_window",
 *    "approved_at", "booked_at", "reasons"}
 * and its booking rows in the bookings table, written in the same transaction.  Every
 * placement takes the scheduling lock first, so two replicas plan one after the other;
 * the exclusion constraint of the table is the last line of defence.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsontext.h"
#include "core/timeutil.h"
#include "planner/planner.h"
#include "policy/catalog.h"
#include "app/fields.h"
#include "app/incident_freezes.h"
#include "app/records_int.h"
#include "store/bookings.h"

#define DAY_MS (86400LL * 1000)

/* The effect {"type": "schedule"} of `effects`, or NULL. */
static json_t *schedule_effect(json_t *effects)
{
	size_t i;
	json_t *e;
	json_array_foreach(effects, i, e) {
		const char *type = json_string_value(json_object_get(e, "type"));
		if (type != NULL && strcmp(type, "schedule") == 0)
			return e;
	}
	return NULL;
}

/* The environment change `record` is deployed to (production when it names none). */
static const char *env_of(json_t *record)
{
	return json_string_value(json_object_get(record, "environment")) ?: PLANNER_DEFAULT_ENV;
}

/*
 * rec_calendar's list: first `borrowed` instances of the snapshot's shared span (shallow
 * copies: their arrays stay the span's), then, once calendar_freezes() has read them,
 * the incident freezes, whose strings borrow from `incident_freezes`.
 */
struct rec_cal {
	struct cal_instances l;       /* first: rec_calendar returns &rc->l */
	const struct defs_span *span; /* a reference, or NULL when `l` was expanded here */
	size_t borrowed;
	bool freezes_read;        /* calendar_freezes() ran: planners may be made from `l` */
	json_t *incident_freezes; /* NULL when the database could not say */
};

/* The instances of `sp` overlapping [from_ms, to_ms) into rc->l.  -1 on out of memory. */
static int borrow_span(struct rec_cal *rc, const struct defs_span *sp, long long from_ms,
		       long long to_ms)
{
	rc->span = sp;
	rc->l.cap = sp->l.n ? sp->l.n : 1;
	rc->l.v = malloc(rc->l.cap * sizeof *rc->l.v);
	if (rc->l.v == NULL)
		return -1;
	for (size_t i = 0; i < sp->l.n; i++)
		if (cal_overlaps(sp->l.v[i].start_ms, sp->l.v[i].end_ms, from_ms, to_ms))
			rc->l.v[rc->l.n++] = sp->l.v[i];
	rc->borrowed = rc->l.n;
	return 0;
}

struct cal_instances *rec_calendar(const struct rec_ctx *c)
{
	const struct defs *d = c->defs;
	int64_t horizon = d->plan ? d->plan->horizon_ms : SCHED_HORIZON_DEFAULT_MS;
	long long from = c->now_ms - DAY_MS, to = c->now_ms + horizon + DAY_MS;
	struct rec_cal *rc = calloc(1, sizeof *rc);
	if (rc == NULL)
		return NULL;
	const struct defs_span *sp = defs_span_get(d, from, to);
	if (sp != NULL ? borrow_span(rc, sp, from, to) != 0
		       : defs_instance_list(d, from, to, &rc->l) != 0) {
		rec_calendar_free(&rc->l);
		return NULL;
	}
	return &rc->l;
}

/*
 * Adds the incident freezes to rec_calendar's list `all`, once: open P1/P2 incidents
 * freeze their services (incident_freezes.h).  Read only by the writes that place a
 * change (most writes do not: they need no query for it), in their transaction, before
 * any planner is made from `all`: planner_for and planner_shared refuse a list without
 * them.  A database that cannot say leaves them out and returns its error: the write
 * fails on it.
 */
static enum db_status calendar_freezes(const struct rec_ctx *c, const struct cal_instances *all)
{
	struct rec_cal *rc = (struct rec_cal *)all; /* the job's own list, made mutable here */
	if (rc == NULL)
		return DB_HARD;
	if (rc->freezes_read)
		return DB_NONE;
	rc->freezes_read = true;
	enum db_status s =
		c->st != NULL ? incident_freezes_list(c, &rc->incident_freezes) : DB_NONE;
	if (s < 0)
		return s;
	return incident_freezes_append(rc->incident_freezes, &rc->l) == 0 ? DB_NONE : DB_HARD;
}

void rec_calendar_free(struct cal_instances *l)
{
	if (l == NULL)
		return;
	struct rec_cal *rc = (struct rec_cal *)l;
	for (size_t i = rc->borrowed; i < rc->l.n; i++) {
		free(rc->l.v[i].services);
		free(rc->l.v[i].environments);
	}
	free(rc->l.v);
	defs_span_release(rc->span);
	json_decref(rc->incident_freezes);
	free(rc);
}

/* Whether `record` is exempt from the freeze of some incident among `all`. */
static bool freeze_exempt_any(const struct rec_ctx *c, const struct cal_instances *all,
			      json_t *record)
{
	for (size_t i = 0; all != NULL && record != NULL && i < all->n; i++)
		if (incident_freeze_exempt(c, all->v[i].uid, record))
			return true;
	return false;
}

/*
 * A planner over the windows and freezes of `all` (from rec_calendar, borrowed) that
 * concern `environment` (X-TRANSOM-ENVIRONMENTS; production by default) and every
 * booking but `exclude`'s, without the incident freezes `record` (NULL: none) is exempt
 * from.  Expands nothing: it may run under a row lock.
 */
static enum db_status planner_for(struct rec_ctx *c, const struct cal_instances *all,
				  const char *exclude, const char *environment, json_t *record,
				  struct planner **out)
{
	const struct defs *d = c->defs;
	int64_t horizon = d->plan ? d->plan->horizon_ms : SCHED_HORIZON_DEFAULT_MS;
	json_t *bookings = NULL;
	*out = NULL;
	if (all == NULL || !((const struct rec_cal *)all)->freezes_read)
		return DB_HARD; /* never a planner without the incident freezes */
	/* An emergency change fixing an incident is not held by that incident's freeze: the
	 * planner gets the instances without it (a shallow copy; the planner keeps nothing of
	 * the list itself). */
	struct cal_instances mine = {0};
	if (freeze_exempt_any(c, all, record)) {
		mine.v = malloc(all->n * sizeof *mine.v);
		if (mine.v == NULL)
			return DB_HARD;
		for (size_t i = 0; i < all->n; i++)
			if (!incident_freeze_exempt(c, all->v[i].uid, record))
				mine.v[mine.n++] = all->v[i];
		mine.cap = all->n;
		all = &mine;
	}
	enum db_status s = store_bookings_placed(c->st, c->now_ms, c->now_ms + horizon, &bookings);
	if (s >= 0) {
		*out = planner_new(all, environment, bookings, d->catalog, exclude, horizon);
		s = *out != NULL ? DB_ONE : DB_HARD;
	}
	free(mine.v); /* not cal_instances_clear: the name lists are `all`'s */
	json_decref(bookings);
	return s;
}

/*
 * The first instant after c->now_ms at which a planner made now over `rc`'s instances and
 * `bookings` (read over [now, now + horizon)) would no longer be the one made later from
 * the same bookings' version: a booking read ends (a later read leaves it out), an
 * instance taken ends a day behind the caller's span (rec_calendar), or one of the shared
 * span not taken comes within it.  Bookings starting past the horizon are not read, but
 * none are made while the horizon stays (a placement lies within the horizon of its own
 * now, and a later booking raises the version); a reload brings new definitions, hence
 * a new memo.
 */
static long long plan_until(const struct rec_cal *rc, json_t *bookings, long long now,
			    int64_t horizon)
{
	long long until = now + 60 * 1000; /* a bound, not a rule: planners are cheap to make */
	size_t i;
	json_t *b;
	json_array_foreach(bookings, i, b) {
		long long end = json_integer_value(json_object_get(b, "end_ms"));
		if (end > now && end < until)
			until = end;
	}
	long long from = now - DAY_MS, to = now + horizon + DAY_MS;
	for (size_t k = 0; k < rc->span->l.n; k++) {
		const struct cal_instance *in = &rc->span->l.v[k];
		long long next;
		if (cal_overlaps(in->start_ms, in->end_ms, from, to))
			next = in->end_ms + DAY_MS; /* leaves [now - 1 day, ...) then */
		else if (in->start_ms >= to)
			next = in->start_ms - horizon - DAY_MS; /* comes within it after this */
		else
			continue; /* over before the span: never taken again */
		if (next < until)
			until = next; /* at or before now: this planner is for this caller alone */
	}
	return until;
}

/*
 * The shared planner of the definitions snapshot (defs/plan_memo.c) for `environment`
 * over `all` (from rec_calendar) and every booking, as planner_for() would make it with
 * no booking excluded: lent (*out; give it back with defs_planner_give_back), made and
 * kept when the memo has none made from the same inputs.  DB_NONE (*out NULL) when this
 * placement must make its own: incident freezes (per request, and exemptions), calendars
 * not shared, or bookings this transaction wrote itself (they may yet roll back).
 */
static enum db_status planner_shared(struct rec_ctx *c, const struct cal_instances *all,
				     const char *environment, struct planner **out,
				     long long *key_version)
{
	const struct rec_cal *rc = (const struct rec_cal *)all;
	const struct defs *d = c->defs;
	int64_t horizon = d->plan ? d->plan->horizon_ms : SCHED_HORIZON_DEFAULT_MS;
	long long version;
	bool mine;
	json_t *bookings = NULL;
	*out = NULL;
	if (all == NULL || !rc->freezes_read)
		return DB_HARD; /* never a planner without the incident freezes */
	if (rc->span == NULL || rc->incident_freezes == NULL ||
	    json_array_size(rc->incident_freezes) > 0 || rc->l.n != rc->borrowed)
		return DB_NONE;
	enum db_status s = store_schedule_version_mine(c->st, &version, &mine);
	if (s < 0 || mine)
		return s < 0 ? s : DB_NONE;
	struct defs_plan_key k = {.version = version, .span = rc->span, .made_ms = c->now_ms};
	*key_version = version;
	if ((*out = defs_planner_lend(d, environment, &k)) != NULL)
		return DB_ONE;
	/* The version first, then the bookings: a write between them makes this planner
	 * newer than its key, never older, and the next read of the version tells. */
	if ((s = store_bookings_placed(c->st, c->now_ms, c->now_ms + horizon, &bookings)) < 0)
		return s;
	struct planner *p = planner_new(all, environment, bookings, d->catalog, NULL, horizon);
	k.until_ms = plan_until(rc, bookings, c->now_ms, horizon);
	json_decref(bookings);
	if (p == NULL)
		return DB_HARD;
	*out = defs_planner_keep(d, environment, &k, p);
	return *out != NULL ? DB_ONE : DB_NONE;
}

/*
 * A planner without change `id`'s booking: the shared one (*shared set, the booking taken
 * out into *held, *version the bookings' version it holds) or, when there is none to
 * share, one made for this placement.
 */
static enum db_status planner_lend_or_make(struct rec_ctx *c, const struct cal_instances *all,
					   const char *id, const char *environment, json_t *record,
					   struct planner **out, bool *shared, json_t **held,
					   long long *version)
{
	*held = NULL;
	*shared = false;
	enum db_status s = planner_shared(c, all, environment, out, version);
	if (s < 0)
		return s;
	if (*out == NULL)
		return planner_for(c, all, id, environment, record, out);
	*shared = true;
	if (id != NULL && planner_booking_remove(*out, id, held) < 0) {
		defs_planner_give_back(c->defs, *out, true);
		*out = NULL;
		*shared = false;
		return DB_HARD;
	}
	return DB_ONE;
}

/* Ends planner_lend_or_make's planner: the shared one gets `held` (stolen) back. */
static void planner_done(struct rec_ctx *c, struct planner *p, bool shared, const char *id,
			 json_t *held)
{
	if (!shared) {
		planner_free(p);
		return;
	}
	bool spoiled = held != NULL && planner_booking_add(p, id, held) < 0;
	json_decref(held);
	defs_planner_give_back(c->defs, p, spoiled);
}

/*
 * The planners of one re-plan pass, one per environment, each holding every booking of
 * the horizon: a change is taken out of them, placed, and put back where it now is, so a
 * pass costs one planner, not one per change (issue 19).  They hold what the bookings
 * table held at `version` (store_schedule_version, read under the scheduling lock); when
 * the table moved on without them (another request or replica booked, a change was
 * released), or a transaction that changed them did not commit, they are made again.
 */
#define PLAN_ENVS 16

struct rec_plan_cache {
	struct {
		char *env;
		struct planner *p;
	} v[PLAN_ENVS];
	size_t n;
	long long version; /* of the bookings the planners hold; -1: unknown */
	long long pending; /* the version once the running transaction commits; -1: unknown */
	bool touched;      /* the running transaction changed the planners */
	unsigned foreign;  /* times the bookings moved on without the pass (others wrote) */
};

static void plan_cache_drop(struct rec_plan_cache *pc)
{
	for (size_t i = 0; i < pc->n; i++) {
		free(pc->v[i].env);
		planner_free(pc->v[i].p);
	}
	pc->n = 0;
	pc->version = -1;
}

/* After the transaction of one change: committed (`ok`) or not. */
static void plan_cache_settle(struct rec_plan_cache *pc, bool ok)
{
	if (ok && pc->pending >= 0)
		pc->version = pc->pending;
	else if (pc->touched)
		plan_cache_drop(pc);
	pc->touched = false;
	pc->pending = -1;
}

/*
 * The index of the cached planner for `environment`, made when missing from the bookings
 * as they are now (in the caller's transaction, or outside any: then the version is read
 * first when unknown, so that a write in between only makes the next placement start
 * again); *k receives it.  DB_NONE when there are too many environments to cache.
 */
static enum db_status plan_cache_find(struct rec_ctx *c, struct rec_plan_cache *pc,
				      const struct cal_instances *all, const char *environment,
				      size_t *k)
{
	enum db_status s;
	for (*k = 0; *k < pc->n; (*k)++)
		if (strcmp(pc->v[*k].env, environment) == 0)
			return DB_ONE;
	if (pc->n == PLAN_ENVS)
		return DB_NONE; /* too many environments: this one plans alone */
	if (pc->n == 0 && pc->version < 0 && (s = store_schedule_version(c->st, &pc->version)) < 0)
		return s;
	struct planner *p;
	char *env = strdup(environment);
	if (env == NULL)
		return DB_HARD;
	if ((s = planner_for(c, all, NULL, environment, NULL, &p)) < 0) {
		free(env);
		return s;
	}
	pc->v[pc->n].env = env;
	pc->v[pc->n++].p = p;
	return DB_ONE;
}

/* Takes `change` out of every cached planner; *was (may be NULL) gets planner k's booking. */
static enum db_status plan_cache_take(struct rec_plan_cache *pc, const char *change, size_t k,
				      json_t **was)
{
	for (size_t i = 0; i < pc->n; i++)
		if (planner_booking_remove(pc->v[i].p, change, i == k ? was : NULL) < 0)
			return DB_HARD;
	return DB_ONE;
}

/*
 * The cached planner for `environment` with change `exclude` taken out of every cached
 * planner (*was receives its booking, owned, or NULL), after the scheduling lock.
 * *version receives the bookings' version read now.
 */
static enum db_status plan_cache_get(struct rec_job *j, const char *exclude,
				     const char *environment, struct planner **out, json_t **was,
				     long long *version)
{
	struct rec_plan_cache *pc = j->plan;
	*out = NULL;
	*was = NULL;
	enum db_status s = store_schedule_version(j->c->st, version);
	if (s < 0)
		return s;
	if (pc->touched || *version != pc->version) {
		if (!pc->touched && pc->version >= 0)
			pc->foreign++;
		plan_cache_drop(pc);
		pc->touched = false;
	}
	pc->version = *version;
	pc->pending = -1;
	size_t k;
	if ((s = plan_cache_find(j->c, pc, j->instances, environment, &k)) != DB_ONE)
		return s;
	pc->touched = true;
	if ((s = plan_cache_take(pc, exclude, k, was)) < 0)
		return s;
	*out = pc->v[k].p;
	return DB_ONE;
}

/* Puts `booking` (borrowed; NULL: none) of `change` back into every cached planner. */
static enum db_status plan_cache_put_all(struct rec_plan_cache *pc, const char *change,
					 json_t *booking)
{
	for (size_t i = 0; booking != NULL && i < pc->n; i++)
		if (planner_booking_add(pc->v[i].p, change, booking) < 0)
			return DB_HARD;
	return DB_ONE;
}

static enum db_status plan_cache_put(struct rec_job *j, const char *change, json_t *booking)
{
	return plan_cache_put_all(j->plan, change, booking);
}

/* A booking as store_bookings_list lists it: services sorted and distinct. */
static json_t *booking_json(json_t *services, long long start_ms, long long end_ms,
			    const char *window_uid)
{
	json_t *names = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(services, i, v) {
		const char *n = json_string_value(v);
		size_t at = 0;
		while (n != NULL && at < json_array_size(names) &&
		       strcmp(json_string_value(json_array_get(names, at)), n) < 0)
			at++;
		if (n == NULL || (at < json_array_size(names) &&
				  strcmp(json_string_value(json_array_get(names, at)), n) == 0))
			continue;
		json_array_insert_new(names, at, json_string(n));
	}
	return json_pack("{s:o, s:I, s:I, s:s?}", "services", names, "start_ms",
			 (json_int_t)start_ms, "end_ms", (json_int_t)end_ms, "window_uid",
			 window_uid);
}

/* A placement's bookings for the shared planner, applied once its transaction commits. */
struct rec_booked {
	char env[64];
	char id[32];
	long long before, after; /* the bookings' version it planned on, and the one it made */
	json_t *booking;         /* its new booking (owned), or NULL: it holds none now */
};

/*
 * Notes that change `id` now holds `booking` (stolen; NULL: none) in `env`'s shared
 * planner, planned on bookings' version `before`: once the transaction commits
 * (rec_schedule_committed), the shared planner of `before` becomes that of the version
 * these writes made, read now (nobody else writes bookings meanwhile: the scheduling
 * lock).  A placement too long to note is simply not shared.
 */
static enum db_status note_booked(struct rec_job *j, const char *env, long long before,
				  const char *id, json_t *booking)
{
	long long after;
	rec_schedule_committed(j, false); /* one placement per transaction is noted */
	enum db_status s = store_schedule_version(j->c->st, &after);
	struct rec_booked *b = s >= 0 ? calloc(1, sizeof *b) : NULL;
	if (b == NULL || strlen(env) >= sizeof b->env || strlen(id) >= sizeof b->id) {
		free(b);
		json_decref(booking);
		return s < 0 ? s : DB_ONE;
	}
	strcpy(b->env, env);
	strcpy(b->id, id);
	b->before = before;
	b->after = after;
	b->booking = booking;
	j->booked = b;
	return DB_ONE;
}

void rec_schedule_committed(struct rec_job *j, bool committed)
{
	struct rec_booked *b = j->booked;
	j->booked = NULL;
	if (b == NULL)
		return;
	struct defs_plan_key k = {.version = b->before, .made_ms = j->c->now_ms};
	const struct rec_cal *rc = (const struct rec_cal *)j->instances;
	k.span = rc != NULL ? rc->span : NULL;
	struct planner *p =
		committed && k.span != NULL ? defs_planner_lend(j->c->defs, b->env, &k) : NULL;
	if (p != NULL) {
		bool spoiled =
			planner_booking_remove(p, b->id, NULL) < 0 ||
			(b->booking != NULL && planner_booking_add(p, b->id, b->booking) < 0);
		long long end = json_integer_value(json_object_get(b->booking, "end_ms"));
		defs_planner_rekey(j->c->defs, p, b->after, j->c->now_ms,
				   b->booking != NULL ? end : 0);
		defs_planner_give_back(j->c->defs, p, spoiled);
	}
	json_decref(b->booking);
	free(b);
}

/*
 * Places change `r` (its booking replaced or dropped) and writes the outcome into
 * r->data.schedule.  With `keep`, a booking still legal stays where it is.  *detail
 * receives the audit detail (owned), *moved whether the slot changed.
 */
static enum db_status place(struct rec_job *j, struct store_record *r, bool respect_window,
			    bool keep, json_t **detail, bool *moved)
{
	struct rec_ctx *c = j->c;
	struct planner *p = NULL;
	struct planner_request rq;
	char why[256], at[TIME_RFC3339_LEN];
	json_t *old = json_object_get(r->data, "schedule");
	const char *old_status = json_string_value(json_object_get(old, "status"));
	const char *old_start = json_string_value(json_object_get(old, "start"));
	json_int_t seq = json_integer_value(json_object_get(old, "sequence"));
	json_t *res = NULL;
	enum db_status s;

	json_t *held = NULL; /* with j->plan: r's booking, taken out of the cached planners */
	long long version = 0;
	bool cached = false;

	*detail = NULL;
	*moved = false;
	time_format_ms(c->now_ms, at);
	if ((s = store_schedule_lock(c->st)) < 0 || (s = calendar_freezes(c, j->instances)) < 0)
		return s;
	/* A change exempt from an incident's freeze needs a planner without it: the pass's
	 * shared planners hold every freeze. */
	if (j->plan != NULL && !freeze_exempt_any(c, j->instances, r->data)) {
		s = plan_cache_get(j, r->id, env_of(r->data), &p, &held, &version);
		if (s < 0)
			return s;
		cached = s == DB_ONE;
	}
	bool shared = false;
	json_t *lent = NULL; /* shared: r's booking, taken out of the shared planner */
	if (!cached && j->plan == NULL)
		s = planner_lend_or_make(c, j->instances, r->id, env_of(r->data), r->data, &p,
					 &shared, &lent, &version);
	else if (!cached)
		s = planner_for(c, j->instances, r->id, env_of(r->data), r->data, &p);
	if (s < 0)
		return s;
	int64_t def = c->defs->plan ? c->defs->plan->default_duration_ms : 3600 * 1000;
	bool ok = planner_request_from(r->data, r->id, def, &rq, why, sizeof why);
	rq.emergency = !respect_window;
	/* Break glass (records/approvals.c) is kept in the approvals: it lets an emergency
	 * cross a hard freeze. */
	rq.break_glass = !respect_window && json_object_get(json_object_get(r->data, "approvals"),
							    "break_glass") != NULL;
	long long old_ms = 0, old_end_ms = 0;
	const char *old_end = json_string_value(json_object_get(old, "end"));
	const char *soft = NULL;
	if (ok && keep && old_status && strcmp(old_status, "booked") == 0 && old_start && old_end &&
	    time_parse_rfc3339(old_start, &old_ms) && time_parse_rfc3339(old_end, &old_end_ms)) {
		bool under_way = old_ms <= c->now_ms && c->now_ms < old_end_ms;
		if (under_way || (old_ms > c->now_ms &&
				  planner_slot_still_legal(p, &rq, old_ms, c->now_ms, &soft))) {
			/* Still legal: it stays.  Only a soft freeze that came or went is news. */
			const char *was = json_string_value(json_object_get(old, "soft_freeze"));
			bool same =
				under_way || (was == NULL ? soft == NULL
							  : soft != NULL && strcmp(was, soft) == 0);
			if (!same) {
				/* the detail first: replacing the schedule frees old_start */
				*detail = json_pack("{s:s, s:s, s:s?}", "status", "booked", "start",
						    old_start, "soft_freeze", soft);
				json_t *sched = json_deep_copy(old);
				json_object_set_new(sched, "soft_freeze",
						    soft ? json_string(soft) : json_null());
				json_object_set_new(r->data, "schedule", sched);
			}
			if (cached) {
				/* Unmoved: its booking goes back as it was. */
				s = plan_cache_put(j, r->id, held);
				json_decref(held);
				if (s < 0)
					return s;
				j->plan->pending = version;
			} else {
				planner_done(c, p, shared, r->id, lent);
			}
			return same ? DB_NONE : DB_ONE;
		}
	}
	enum sched_status st = ok ? planner_slots(p, &rq, c->now_ms, 1, &res) : SCHED_NO_SLOT;
	json_decref(held);
	if (!cached)
		planner_done(c, p, shared, r->id, lent);
	if (st < 0) {
		json_decref(res);
		tr_error_set(j->err, TR_E_UNPROCESSABLE, "services",
			     "the change cannot be scheduled: %s",
			     st == SCHED_ERR_OOM ? "out of memory" : "invalid request");
		return rec_refuse(j, st == SCHED_ERR_OOM ? TR_E_INTERNAL : TR_E_UNPROCESSABLE);
	}
	const char *approved = json_string_value(json_object_get(old, "approved_at"));
	json_t *sched = json_pack("{s:s, s:I, s:s, s:b, s:s, s:s}", "status", "booked", "sequence",
				  seq, "state", r->state, "respect_window", respect_window,
				  "approved_at", approved ? approved : at, "booked_at", at);
	json_t *slot = st == SCHED_OK ? json_array_get(json_object_get(res, "slots"), 0) : NULL;
	if (slot != NULL) {
		const char *start = json_string_value(json_object_get(slot, "start"));
		*moved = old_start == NULL || strcmp(old_start, start) != 0;
		if (*moved && old_start != NULL)
			json_object_set_new(sched, "sequence", json_integer(seq + 1));
		json_t *w = json_object_get(slot, "window");
		json_object_set(sched, "start", json_object_get(slot, "start"));
		json_object_set(sched, "end", json_object_get(slot, "end"));
		json_object_set_new(sched, "window",
				    json_is_object(w)
					    ? json_pack("{s:O, s:O, s:O, s:O}", "uid",
							json_object_get(w, "uid"), "summary",
							json_object_get(w, "summary"), "start",
							json_object_get(w, "start"), "end",
							json_object_get(w, "end"))
					    : json_null());
		json_object_set(sched, "soft_freeze", json_object_get(slot, "soft_freeze"));
		json_object_set(sched, "broken_freeze", json_object_get(slot, "broken_freeze"));
		long long start_ms = json_integer_value(json_object_get(slot, "start_ms"));
		long long end_ms = json_integer_value(json_object_get(slot, "end_ms"));
		const char *uid = json_string_value(json_object_get(w, "uid"));
		s = store_booking_set(c->st, r->id, rq.services, start_ms, end_ms, uid,
				      json_integer_value(json_object_get(w, "start_ms")),
				      json_integer_value(json_object_get(w, "end_ms")));
		if (s >= 0 && cached) {
			json_t *b = booking_json(rq.services, start_ms, end_ms, uid);
			s = b != NULL ? plan_cache_put(j, r->id, b) : DB_HARD;
			json_decref(b);
		} else if (s >= 0 && shared) {
			json_t *b = booking_json(rq.services, start_ms, end_ms, uid);
			s = b != NULL ? note_booked(j, env_of(r->data), version, r->id, b)
				      : DB_HARD;
		}
	} else {
		if (keep && old_status != NULL && strcmp(old_status, "unscheduled") == 0) {
			/* Still no slot: nothing to write (the reasons are those of the last
			 * attempt that changed something). */
			json_decref(sched);
			json_decref(res);
			if (cached)
				j->plan->pending = version;
			return DB_NONE;
		}
		*moved = old_start != NULL;
		json_object_set_new(sched, "status", json_string("unscheduled"));
		if (*moved)
			json_object_set_new(sched, "sequence", json_integer(seq + 1));
		json_object_set_new(sched, "reasons",
				    ok ? json_incref(json_object_get(res, "reasons"))
				       : json_pack("[{s:n, s:s}]", "window", "reason", why));
		s = store_booking_drop(c->st, r->id);
		if (s >= 0 && shared)
			s = note_booked(j, env_of(r->data), version, r->id, NULL);
	}
	json_decref(res);
	if (s >= 0 && cached) /* the version these writes made (nobody else writes: the lock) */
		s = store_schedule_version(c->st, &j->plan->pending);
	if (s < 0) {
		json_decref(sched);
		return s;
	}
	json_object_set_new(r->data, "schedule", sched);
	*detail = json_pack(
		"{s:O, s:O?, s:O?, s:O?, s:O, s:O?}", "status", json_object_get(sched, "status"),
		"start", json_object_get(sched, "start"), "end", json_object_get(sched, "end"),
		"window", json_object_get(json_object_get(sched, "window"), "uid"), "sequence",
		json_object_get(sched, "sequence"), "reasons", json_object_get(sched, "reasons"));
	return DB_ONE;
}

enum db_status rec_schedule_propose(struct rec_job *j, const struct wf *wf, json_t *record)
{
	if (wf == NULL || !wf_uses_action(wf, "request_approvals"))
		return DB_ONE;
	return rec_schedule_propose_any(j, wf, record);
}

enum db_status rec_schedule_propose_any(struct rec_job *j, const struct wf *wf, json_t *record)
{
	json_t *old = json_object_get(record, "schedule");
	const char *status = json_string_value(json_object_get(old, "status"));
	const char *state = json_string_value(json_object_get(record, "state"));
	if (strcmp(j->kind, "change") != 0 || wf == NULL || !wf_uses_action(wf, "schedule") ||
	    (old != NULL && status == NULL) ||
	    (status != NULL && strcmp(status, "proposed") != 0) ||
	    (state != NULL && wf_state_final(wf, state)))
		return DB_ONE; /* booked, unscheduled or released: the real thing decides */
	struct rec_ctx *c = j->c;
	struct planner *p = NULL;
	struct planner_request rq;
	char why[256];
	int64_t def = c->defs->plan ? c->defs->plan->default_duration_ms : 3600 * 1000;
	if (!planner_request_from(record, NULL, def, &rq, why, sizeof why))
		return DB_ONE; /* nothing to propose for a change without services yet */
	const char *type = json_string_value(json_object_get(record, "type"));
	rq.emergency = type != NULL && strcmp(type, "emergency") == 0;
	bool shared = false;
	json_t *lent = NULL;
	long long version;
	enum db_status s = calendar_freezes(c, j->instances);
	if (s < 0)
		return s;
	s = j->plan == NULL ? planner_lend_or_make(c, j->instances, j->id, env_of(record), record,
						   &p, &shared, &lent, &version)
			    : planner_for(c, j->instances, j->id, env_of(record), record, &p);
	if (s < 0)
		return s;
	json_t *res = NULL;
	enum sched_status st = planner_slots(p, &rq, c->now_ms, 1, &res);
	planner_done(c, p, shared, j->id, lent);
	json_t *slot = st == SCHED_OK ? json_array_get(json_object_get(res, "slots"), 0) : NULL;
	json_t *w = json_object_get(slot, "window");
	json_t *proposal =
		slot != NULL
			? json_pack("{s:s, s:O, s:O, s:O, s:O, s:O?}", "status", "proposed",
				    "start", json_object_get(slot, "start"), "end",
				    json_object_get(slot, "end"), "soft_freeze",
				    json_object_get(slot, "soft_freeze"), "window",
				    json_is_object(w) ? json_object_get(w, "uid") : json_null(),
				    "skipped", json_object_get(res, "skipped"))
			: json_pack("{s:s, s:O?}", "status", "proposed", "reasons",
				    json_object_get(res, "reasons"));
	json_decref(res);
	if (proposal == NULL)
		return DB_HARD;
	json_object_set_new(record, "schedule", proposal);
	return DB_ONE;
}

enum db_status rec_schedule_apply(struct rec_job *j, struct store_record *r, json_t *effects,
				  json_t **audit_detail)
{
	json_t *e = schedule_effect(effects);
	*audit_detail = NULL;
	if (e != NULL && j->c->short_only)
		return rec_defer(j, "a placement");
	if (e != NULL) {
		bool moved;
		enum db_status s =
			place(j, r, !json_is_false(json_object_get(e, "respect_window")),
			      json_is_true(json_object_get(e, "keep")), audit_detail, &moved);
		return s == DB_NONE ? DB_ONE : s;
	}
	json_t *sched = json_object_get(r->data, "schedule");
	const char *status = json_string_value(json_object_get(sched, "status"));
	const struct wf *wf = wf_set_find(j->c->defs->workflows, r->workflow);
	bool over = wf != NULL && (wf_state_final(wf, r->state) ||
				   json_is_string(json_object_get(r->data, "result")));
	if (status == NULL || strcmp(status, "released") == 0 || strcmp(status, "proposed") == 0 ||
	    !over)
		return DB_ONE;
	/* The change is over (closed, cancelled, or carried out with a result): its slot is
	 * free again. */
	char at[TIME_RFC3339_LEN];
	time_format_ms(j->c->now_ms, at);
	sched = json_deep_copy(sched);
	json_object_set_new(sched, "status", json_string("released"));
	json_object_set_new(sched, "released_at", json_string(at));
	json_object_set_new(r->data, "schedule", sched);
	*audit_detail = json_pack("{s:s, s:s}", "status", "released", "state", r->state);
	if (j->plan != NULL)
		j->plan->pending = -1; /* the cached planners do not know of this */
	enum db_status s = store_schedule_lock(j->c->st); /* every writer of bookings takes it */
	return s < 0 ? s : store_booking_drop(j->c->st, r->id);
}

/* ---- reschedule and re-plan ------------------------------------------------------------- */

struct resched {
	struct rec_job job;
	const char *not_before; /* reschedule: the new earliest start, or NULL */
	bool keep;              /* re-plan: leave legal bookings alone */
	bool moved;
	bool unscheduled; /* re-plan: the change waits for a slot (none was found) */
};

/* Writes the new placement of a loaded, locked change through the usual persistence. */
static enum db_status replace(struct resched *d, struct store_record *r, const struct wf *wf,
			      const char *action)
{
	struct rec_job *j = &d->job;
	json_t *sched = json_object_get(r->data, "schedule");
	const char *state = json_string_value(json_object_get(sched, "state"));
	if (sched == NULL || state == NULL || strcmp(state, r->state) != 0) {
		tr_error_set(j->err, TR_E_CONFLICT, "state",
			     "%s is in state '%s', not waiting for its slot", r->id, r->state);
		tr_error_rule(j->err, TR_R_STATE);
		return rec_refuse(j, TR_E_CONFLICT);
	}
	if (d->not_before != NULL) {
		const char *na = json_string_value(json_object_get(r->data, "not_after"));
		long long nb_ms, na_ms;
		if (na != NULL && time_parse_rfc3339(na, &na_ms) &&
		    time_parse_rfc3339(d->not_before, &nb_ms) && nb_ms >= na_ms) {
			tr_error_set(j->err, TR_E_UNPROCESSABLE, "not_before",
				     "'not_before' (%s) must be earlier than the change's "
				     "'not_after' (%s)",
				     d->not_before, na);
			return rec_refuse(j, TR_E_UNPROCESSABLE);
		}
		json_object_set_new(r->data, "not_before", json_string(d->not_before));
	}
	struct wf_outcome o = {0};
	struct wf_ctx ctx;
	enum db_status s = rec_load_policy_inputs(j, wf, r->data);
	if (s < 0)
		return s;
	rec_engine_ctx(j, r, &ctx);
	if (wf_settle(wf, &ctx, &o) != WF_OK) {
		enum tr_code code = rec_engine_error(j, &o);
		wf_outcome_clear(&o);
		return rec_refuse(j, code);
	}
	if (json_array_size(o.steps) > 0) {
		/* An auto transition applies first; the workflow books anew if it wants to. */
		s = rec_persist(j, r, &o, false, action, NULL);
		wf_outcome_clear(&o);
		return s;
	}
	/* The placement, decided before writing anything, so an unmoved change costs nothing. */
	json_t *detail = NULL;
	s = place(j, r, !json_is_false(json_object_get(sched, "respect_window")), d->keep, &detail,
		  &d->moved);
	if (s <= 0 || detail == NULL) {
		json_decref(detail);
		wf_outcome_clear(&o);
		return s;
	}
	if (j->comment != NULL)
		json_object_set_new(detail, "reason", json_string(j->comment));
	if (d->not_before != NULL)
		json_object_set_new(detail, "not_before", json_string(d->not_before));
	json_decref(o.record);
	o.record = json_incref(r->data);
	json_array_append_new(o.effects,
			      json_pack("{s:s, s:s, s:s, s:s, s:s, s:O}", "type", "emit", "event",
					d->moved ? "change.rescheduled" : "change.schedule_flagged",
					"record", r->id, "kind", "change", "state", r->state,
					"data", json_object_get(r->data, "schedule")));
	s = rec_persist(j, r, &o, false, action, detail);
	wf_outcome_clear(&o);
	return s;
}

static enum db_status reschedule_tx(struct store *st, void *cls)
{
	struct resched *d = cls;
	struct store_record r = {0};
	const struct wf *wf;
	(void)st;
	rec_reply_clear(d->job.out);
	enum db_status s = rec_load_locked(&d->job, &r, &wf);
	if (s >= 0)
		s = replace(d, &r, wf, "rescheduled");
	store_record_clear(&r);
	return s;
}

enum tr_code records_reschedule(struct rec_ctx *c, const char *id, json_t *input,
				struct rec_reply *out, struct tr_error *err)
{
	json_t *nb = json_object_get(input, "not_before");
	long long ms;
	if (!json_is_string(nb) || !time_parse_rfc3339(json_string_value(nb), &ms))
		return tr_error_set(err, TR_E_UNPROCESSABLE, "not_before",
				    "'not_before' must be an RFC 3339 time such as "
				    "2026-12-05T02:00:00Z");
	struct resched d = {.job = {.c = c, .kind = "change", .id = id, .out = out, .err = err},
			    .not_before = json_string_value(nb)};
	d.job.comment = json_string_value(json_object_get(input, "reason"));
	return rec_run(&d.job, reschedule_tx);
}

static enum db_status replan_one_tx(struct store *st, void *cls)
{
	struct resched *d = cls;
	struct store_record r = {0};
	const struct wf *wf;
	(void)st;
	rec_reply_clear(d->job.out);
	d->moved = false;
	if (d->job.plan != NULL) /* an earlier attempt's placement did not commit */
		plan_cache_settle(d->job.plan, false);
	enum db_status s = rec_load_locked(&d->job, &r, &wf);
	if (s >= 0)
		s = replace(d, &r, wf, "replanned");
	const char *status =
		json_string_value(json_object_get(json_object_get(r.data, "schedule"), "status"));
	d->unscheduled = status != NULL && strcmp(status, "unscheduled") == 0;
	store_record_clear(&r);
	return s;
}

/*
 * Whether candidate `cand` ({"id", "workflow", "state", "data"} of
 * store_schedule_candidates) keeps its placement as it is -- the decision place() makes
 * with `keep` -- decided on the pass's planners without a transaction: a booking still
 * legal with the same soft freeze, or still no slot for a change waiting for one.  Then
 * nothing would be written, and the change costs no transaction.  Safe without the
 * scheduling lock: whoever booked meanwhile planned around this change's booking, and
 * what others freed meanwhile makes the pass end with another one due (records_replan).
 * A workflow with an automatic transition out of the change's state always takes the
 * transaction (wf_settle may fire it).  1: it holds; 0: it needs its transaction.
 */
static int replan_holds(struct rec_ctx *c, struct rec_plan_cache *pc,
			const struct cal_instances *all, json_t *cand)
{
	const char *id = json_string_value(json_object_get(cand, "id"));
	const char *state = json_string_value(json_object_get(cand, "state"));
	const struct wf *wf = wf_set_find(c->defs->workflows,
					  json_string_value(json_object_get(cand, "workflow")));
	json_t *data = json_object_get(cand, "data"), *old = json_object_get(data, "schedule");
	const char *status = json_string_value(json_object_get(old, "status"));
	bool booked = status != NULL && strcmp(status, "booked") == 0;
	if (id == NULL || state == NULL || wf == NULL || wf_state_has_auto(wf, state) ||
	    (!booked && (status == NULL || strcmp(status, "unscheduled") != 0)))
		return 0;
	size_t k;
	json_t *held = NULL;
	enum db_status s = plan_cache_find(c, pc, all, env_of(data), &k);
	if (s != DB_ONE)
		return 0; /* too many environments, or the database failed: the transaction
			   * will tell */
	if (plan_cache_take(pc, id, k, &held) < 0) {
		plan_cache_drop(pc);
		return 0;
	}
	struct planner *p = pc->v[k].p;
	struct planner_request rq;
	char why[256];
	int64_t def = c->defs->plan ? c->defs->plan->default_duration_ms : 3600 * 1000;
	bool respect_window = !json_is_false(json_object_get(old, "respect_window"));
	bool ok = planner_request_from(data, id, def, &rq, why, sizeof why);
	rq.emergency = !respect_window;
	rq.break_glass = !respect_window &&
			 json_object_get(json_object_get(data, "approvals"), "break_glass") != NULL;
	int holds = 0;
	if (booked) {
		const char *start = json_string_value(json_object_get(old, "start"));
		const char *end = json_string_value(json_object_get(old, "end"));
		long long start_ms, end_ms;
		const char *soft = NULL;
		if (ok && start != NULL && end != NULL && time_parse_rfc3339(start, &start_ms) &&
		    time_parse_rfc3339(end, &end_ms)) {
			if (start_ms <= c->now_ms && c->now_ms < end_ms) {
				holds = 1; /* under way */
			} else if (start_ms > c->now_ms &&
				   planner_slot_still_legal(p, &rq, start_ms, c->now_ms, &soft)) {
				const char *was =
					json_string_value(json_object_get(old, "soft_freeze"));
				holds = was == NULL ? soft == NULL
						    : soft != NULL && strcmp(was, soft) == 0;
			}
		}
	} else {
		json_t *res = NULL;
		holds = (ok ? planner_slots(p, &rq, c->now_ms, 1, &res) : SCHED_NO_SLOT) ==
			SCHED_NO_SLOT;
		json_decref(res);
	}
	/* Put back as it was, whatever the answer: a change that moves does so in its
	 * transaction, which takes it out again. */
	if (plan_cache_put_all(pc, id, held) < 0) {
		plan_cache_drop(pc);
		holds = 0;
	}
	json_decref(held);
	return holds;
}

/*
 * A print of the incident freezes as incident_freezes_list makes them (FNV-1a over their
 * compact text; 0 for none), so that the re-planner notices one opened, lifted or held
 * into the next hour.
 */
static unsigned long long freezes_print(json_t *freezes)
{
	unsigned long long h = 0;
	char *text = json_array_size(freezes) > 0 ? json_dumps(freezes, JSON_COMPACT) : NULL;
	if (text != NULL) {
		h = 14695981039346656037ULL;
		for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
			h = (h ^ *p) * 1099511628211ULL;
		free(text);
	}
	return h;
}

enum tr_code records_replan_version(struct rec_ctx *c, long long *version,
				    unsigned long long *freezes, struct tr_error *err)
{
	json_t *list = NULL;
	enum db_status s = store_schedule_version(c->st, version);
	if (s >= 0)
		s = incident_freezes_list(c, &list);
	*freezes = freezes_print(list);
	json_decref(list);
	return s < 0 ? rec_db_error(err, s, c->st) : TR_OK;
}

/*
 * The next instant time alone may change what a pass decides, after a pass at c->now_ms
 * that found `unscheduled` changes without a slot: a booking's end (a change still
 * waiting then has missed its slot and moves on), and, while changes wait for a slot, a
 * window instance coming into the horizon (at the latest a day on: the calendar is
 * expanded a day beyond the horizon).  0 when none.
 */
static enum db_status next_edge(struct rec_ctx *c, const struct cal_instances *all,
				bool unscheduled, long long *edge)
{
	long long end_ms;
	enum db_status s = store_bookings_next_end(c->st, c->now_ms, &end_ms);
	if (s < 0)
		return s;
	*edge = end_ms;
	if (unscheduled) {
		int64_t horizon =
			c->defs->plan ? c->defs->plan->horizon_ms : SCHED_HORIZON_DEFAULT_MS;
		long long in = c->now_ms + DAY_MS;
		for (size_t i = 0; i < all->n; i++)
			if (all->v[i].kind == CAL_INST_WINDOW &&
			    all->v[i].start_ms - horizon > c->now_ms &&
			    all->v[i].start_ms - horizon < in)
				in = all->v[i].start_ms - horizon;
		if (*edge == 0 || in < *edge)
			*edge = in;
	}
	return DB_ONE;
}

enum tr_code records_replan(struct rec_ctx *c, bool (*stop)(void *cls), void *cls,
			    struct rec_replan_stats *stats, struct tr_error *err)
{
	json_t *cands = NULL;
	*stats = (struct rec_replan_stats){.version = -1};
	long long version_at_start, version_now;
	enum db_status s = store_schedule_version(c->st, &version_at_start);
	if (s >= 0)
		s = store_schedule_candidates(c->st, &cands);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	size_t i;
	json_t *cand;
	enum tr_code rc = TR_OK;
	stats->candidates = json_array_size(cands);
	if (stop != NULL && stop(cls)) { /* between the steps of a long pass, too */
		json_decref(cands);
		return TR_OK;
	}
	struct cal_instances *all = rec_calendar(c); /* once: c->now_ms does not move */
	if (all == NULL) {
		json_decref(cands);
		return tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	}
	/* As every planner here needs them: read now, outside any transaction.  A database
	 * that cannot say leaves them out; the pass's next statement fails on it anyway. */
	(void)calendar_freezes(c, all);
	stats->freezes = freezes_print(((struct rec_cal *)all)->incident_freezes);
	struct rec_plan_cache plan = {.version = -1, .pending = -1};
	bool unscheduled = false;
	json_array_foreach(cands, i, cand) {
		if (stop != NULL && stop(cls)) /* between changes: each is its own transaction */
			break;
		const char *id = json_string_value(json_object_get(cand, "id"));
		if (replan_holds(c, &plan, all, cand) > 0) {
			/* Nothing to write: no transaction. */
			stats->examined++;
			unscheduled = unscheduled ||
				      strcmp(json_string_value(json_object_get(
						     json_object_get(json_object_get(cand, "data"),
								     "schedule"),
						     "status")),
					     "unscheduled") == 0;
			continue;
		}
		struct rec_reply out = {0};
		struct tr_error e = {0};
		struct resched d = {.job = {.c = c,
					    .kind = "change",
					    .id = id,
					    .out = &out,
					    .err = &e,
					    .instances = all,
					    .plan = &plan},
				    .keep = true};
		enum tr_code one = rec_run(&d.job, replan_one_tx);
		plan_cache_settle(&plan, one == TR_OK);
		rec_reply_clear(&out);
		stats->examined++;
		unscheduled = unscheduled || (one == TR_OK && d.unscheduled);
		if (one == TR_OK && d.moved)
			stats->moved++;
		else if (one == TR_E_DB_UNAVAILABLE) {
			*err = e;
			rc = one;
			break;
		}
		/* A change that moved on meanwhile (409) is simply no longer a candidate. */
	}
	stats->finished = rc == TR_OK && i == json_array_size(cands);
	if (stats->finished) {
		/* The bookings as the pass left them.  When others booked, moved or released
		 * meanwhile, changes placed before that may have missed what they freed:
		 * then another pass is due at once (version -1). */
		long long expect = plan.version >= 0 ? plan.version : version_at_start;
		if (store_schedule_version(c->st, &version_now) >= 0 && plan.foreign == 0 &&
		    version_now == expect &&
		    next_edge(c, all, unscheduled, &stats->next_edge_ms) >= 0)
			stats->version = version_now;
	}
	plan_cache_drop(&plan);
	rec_calendar_free(all);
	json_decref(cands);
	return rc;
}

/* ---- views ------------------------------------------------------------------------------ */

enum tr_code records_calendar_instances(struct rec_ctx *c, const char *kind, const char *service,
					long long from_ms, long long to_ms, json_t **out,
					struct tr_error *err)
{
	json_t *all = defs_instances(c->defs, from_ms, to_ms);
	*out = NULL;
	if (all == NULL)
		return tr_error_set(err, TR_E_INTERNAL, NULL, "out of memory");
	json_t *keep = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(all, i, v) {
		const char *k = json_string_value(json_object_get(v, "kind"));
		if (k == NULL || strcmp(k, kind) != 0)
			continue;
		if (service != NULL && !planner_applies(c->defs->catalog, v, service))
			continue;
		json_array_append(keep, v);
	}
	json_decref(all);
	/* and the incident freezes in force, when they overlap */
	json_t *inc = NULL;
	enum db_status s = strcmp(kind, "freeze") == 0 ? incident_freezes_list(c, &inc) : DB_NONE;
	if (s < 0) {
		json_decref(keep);
		return rec_db_error(err, s, c->st);
	}
	json_array_foreach(inc, i, v) {
		if (json_integer_value(json_object_get(v, "start_ms")) < to_ms &&
		    json_integer_value(json_object_get(v, "end_ms")) > from_ms &&
		    (service == NULL || planner_applies(c->defs->catalog, v, service)))
			json_array_append(keep, v);
	}
	json_decref(inc);
	*out = keep;
	return TR_OK;
}

enum tr_code records_bookings(struct rec_ctx *c, long long from_ms, long long to_ms,
			      const char *service, json_t **out, struct tr_error *err)
{
	enum db_status s = store_bookings_list(c->st, from_ms, to_ms, service, out);
	return s < 0 ? rec_db_error(err, s, c->st) : TR_OK;
}

/* Appends "name":value, value a JSON integer. */
static void put_int(struct jtext *b, const char *name, long long v)
{
	char num[48];
	snprintf(num, sizeof num, ",\"%s\":%lld", name, v);
	jtext_puts(b, num);
}

enum tr_code records_bookings_text(struct rec_ctx *c, long long from_ms, long long to_ms,
				   const char *service, struct jtext *out, struct tr_error *err)
{
	struct store_booking_rows rows;
	enum db_status s = store_booking_rows(c->st, from_ms, to_ms, service, &rows);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	jtext_puts(out, "[");
	for (size_t i = 0; i < rows.n; i++) {
		const struct store_booking_row *b = &rows.v[i];
		char t[TIME_RFC3339_LEN];
		jtext_puts(out, i > 0 ? ",{\"change\":" : "{\"change\":");
		jtext_put_string(out, b->change);
		jtext_puts(out, ",\"services\":");
		jtext_put_compact(out, b->services, strlen(b->services));
		put_int(out, "start_ms", b->start_ms);
		put_int(out, "end_ms", b->end_ms);
		jtext_puts(out, ",\"start\":");
		time_format_ms(b->start_ms, t);
		jtext_put_string(out, t);
		jtext_puts(out, ",\"end\":");
		time_format_ms(b->end_ms, t);
		jtext_put_string(out, t);
		jtext_puts(out, ",\"window_uid\":");
		jtext_put_string(out, b->window_uid);
		put_int(out, "window_start_ms", b->window_start_ms);
		put_int(out, "window_end_ms", b->window_end_ms);
		jtext_puts(out, ",\"state\":");
		jtext_put_string(out, b->state);
		jtext_puts(out, ",\"title\":");
		jtext_put_string(out, b->title);
		jtext_puts(out, ",\"type\":");
		jtext_put_string(out, b->type);
		put_int(out, "sequence", b->sequence);
		put_int(out, "updated_ms", b->updated_ms);
		jtext_puts(out, "}");
	}
	jtext_puts(out, "]");
	store_booking_rows_clear(&rows);
	return out->failed ? TR_E_NOMEM : TR_OK;
}

enum tr_code records_slots(struct rec_ctx *c, json_t *change, size_t count, json_t **out,
			   struct tr_error *err)
{
	struct planner *p = NULL;
	struct planner_request rq;
	char why[256];
	*out = NULL;
	int64_t def = c->defs->plan ? c->defs->plan->default_duration_ms : 3600 * 1000;
	if (!planner_request_from(change, NULL, def, &rq, why, sizeof why)) {
		char field[32];
		snprintf(field, sizeof field, "%.*s", (int)strcspn(why, ":"), why);
		return tr_error_set(err, TR_E_UNPROCESSABLE, field, "%s", why);
	}
	json_t *unknown =
		c->defs->catalog ? catalog_unknown(c->defs->catalog, rq.services) : json_array();
	if (json_array_size(unknown) > 0) {
		char *names = json_dumps(unknown, JSON_COMPACT);
		tr_error_set(err, TR_E_UNPROCESSABLE, "services", "unknown services: %s",
			     names ? names : "?");
		free(names);
		json_decref(unknown);
		return TR_E_UNPROCESSABLE;
	}
	json_decref(unknown);
	rq.emergency = json_is_string(json_object_get(change, "type")) &&
		       strcmp(json_string_value(json_object_get(change, "type")), "emergency") == 0;
	struct cal_instances *all = rec_calendar(c);
	enum db_status s = all != NULL ? calendar_freezes(c, all) : DB_HARD;
	if (s >= 0)
		s = planner_for(c, all, NULL, env_of(change), change, &p);
	if (s < 0) {
		rec_calendar_free(all);
		return rec_db_error(err, s, c->st);
	}
	/* The planner borrows the instances (a freeze's name explains a skipped slot). */
	enum sched_status st = planner_slots(p, &rq, c->now_ms, count, out);
	planner_free(p);
	rec_calendar_free(all);
	if (st < 0)
		return tr_error_set(err, TR_E_INTERNAL, NULL, "the scheduler failed");
	/* Why no slot comes earlier when an open incident holds the services: its freeze. */
	json_t *held = NULL;
	if ((s = incident_freezes_holding(c, change, &held)) < 0) {
		json_decref(*out);
		*out = NULL;
		return rec_db_error(err, s, c->st);
	}
	json_object_set_new(*out, "incident_freezes", held);
	return TR_OK;
}
