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

#include "core/timeutil.h"
#include "planner/planner.h"
#include "policy/catalog.h"
#include "app/fields.h"
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

/* A planner over the calendars and every booking of the horizon but `exclude`'s. */
/* The environment change `record` is deployed to (production when it names none). */
static const char *env_of(json_t *record)
{
	return json_string_value(json_object_get(record, "environment")) ?: PLANNER_DEFAULT_ENV;
}

struct cal_instances *rec_calendar(const struct rec_ctx *c)
{
	const struct defs *d = c->defs;
	int64_t horizon = d->plan ? d->plan->horizon_ms : SCHED_HORIZON_DEFAULT_MS;
	struct cal_instances *l = calloc(1, sizeof *l);
	if (l != NULL &&
	    defs_instance_list(d, c->now_ms - DAY_MS, c->now_ms + horizon + DAY_MS, l) != 0) {
		rec_calendar_free(l);
		return NULL;
	}
	return l;
}

void rec_calendar_free(struct cal_instances *l)
{
	if (l == NULL)
		return;
	cal_instances_clear(l);
	free(l);
}

/*
 * A planner over the windows and freezes of `all` (from rec_calendar, borrowed) that
 * concern `environment` (X-TRANSOM-ENVIRONMENTS; production by default) and every
 * booking but `exclude`'s.  Expands nothing: it may run under a row lock.
 */
static enum db_status planner_for(struct rec_ctx *c, const struct cal_instances *all,
				  const char *exclude, const char *environment,
				  struct planner **out)
{
	const struct defs *d = c->defs;
	int64_t horizon = d->plan ? d->plan->horizon_ms : SCHED_HORIZON_DEFAULT_MS;
	json_t *bookings = NULL;
	*out = NULL;
	if (all == NULL)
		return DB_HARD;
	enum db_status s =
		store_bookings_list(c->st, c->now_ms, c->now_ms + horizon, NULL, &bookings);
	if (s < 0)
		return s;
	*out = planner_new(all, environment, bookings, d->catalog, exclude, horizon);
	json_decref(bookings);
	return *out != NULL ? DB_ONE : DB_HARD;
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

	*detail = NULL;
	*moved = false;
	time_format_ms(c->now_ms, at);
	if ((s = store_schedule_lock(c->st)) < 0 ||
	    (s = planner_for(c, j->instances, r->id, env_of(r->data), &p)) < 0)
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
			planner_free(p);
			return same ? DB_NONE : DB_ONE;
		}
	}
	enum sched_status st = ok ? planner_slots(p, &rq, c->now_ms, 1, &res) : SCHED_NO_SLOT;
	planner_free(p);
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
		s = store_booking_set(c->st, r->id, rq.services,
				      json_integer_value(json_object_get(slot, "start_ms")),
				      json_integer_value(json_object_get(slot, "end_ms")),
				      json_string_value(json_object_get(w, "uid")),
				      json_integer_value(json_object_get(w, "start_ms")),
				      json_integer_value(json_object_get(w, "end_ms")));
	} else {
		if (keep && old_status != NULL && strcmp(old_status, "unscheduled") == 0) {
			/* Still no slot: nothing to write (the reasons are those of the last
			 * attempt that changed something). */
			json_decref(sched);
			json_decref(res);
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
	}
	json_decref(res);
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
	enum db_status s = planner_for(c, j->instances, j->id, env_of(record), &p);
	if (s < 0)
		return s;
	json_t *res = NULL;
	enum sched_status st = planner_slots(p, &rq, c->now_ms, 1, &res);
	planner_free(p);
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
	return store_booking_drop(j->c->st, r->id);
}

/* ---- reschedule and re-plan ------------------------------------------------------------- */

struct resched {
	struct rec_job job;
	const char *not_before; /* reschedule: the new earliest start, or NULL */
	bool keep;              /* re-plan: leave legal bookings alone */
	bool moved;
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
	enum db_status s = rec_load_locked(&d->job, &r, &wf);
	if (s >= 0)
		s = replace(d, &r, wf, "replanned");
	store_record_clear(&r);
	return s;
}

enum tr_code records_replan(struct rec_ctx *c, bool (*stop)(void *cls), void *cls,
			    struct rec_replan_stats *stats, struct tr_error *err)
{
	json_t *ids = NULL;
	*stats = (struct rec_replan_stats){0};
	enum db_status s = store_schedule_candidates(c->st, &ids);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	size_t i;
	json_t *id;
	enum tr_code rc = TR_OK;
	stats->candidates = json_array_size(ids);
	struct cal_instances *all = rec_calendar(c); /* once: c->now_ms does not move */
	if (all == NULL) {
		json_decref(ids);
		return tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	}
	json_array_foreach(ids, i, id) {
		if (stop != NULL && stop(cls)) /* between changes: each is its own transaction */
			break;
		struct rec_reply out = {0};
		struct tr_error e = {0};
		struct resched d = {.job = {.c = c,
					    .kind = "change",
					    .id = json_string_value(id),
					    .out = &out,
					    .err = &e,
					    .instances = all},
				    .keep = true};
		enum tr_code one = rec_run(&d.job, replan_one_tx);
		rec_reply_clear(&out);
		stats->examined++;
		if (one == TR_OK && d.moved)
			stats->moved++;
		else if (one == TR_E_DB_UNAVAILABLE) {
			*err = e;
			rc = one;
			break;
		}
		/* A change that moved on meanwhile (409) is simply no longer a candidate. */
	}
	stats->finished = rc == TR_OK && i == json_array_size(ids);
	rec_calendar_free(all);
	json_decref(ids);
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
	*out = keep;
	return TR_OK;
}

enum tr_code records_bookings(struct rec_ctx *c, long long from_ms, long long to_ms,
			      const char *service, json_t **out, struct tr_error *err)
{
	json_t *svc = service ? json_pack("[s]", service) : NULL;
	enum db_status s = store_bookings_list(c->st, from_ms, to_ms, svc, out);
	json_decref(svc);
	return s < 0 ? rec_db_error(err, s, c->st) : TR_OK;
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
	enum db_status s = planner_for(c, all, NULL, env_of(change), &p);
	rec_calendar_free(all);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	enum sched_status st = planner_slots(p, &rq, c->now_ms, count, out);
	planner_free(p);
	if (st < 0)
		return tr_error_set(err, TR_E_INTERNAL, NULL, "the scheduler failed");
	return TR_OK;
}
