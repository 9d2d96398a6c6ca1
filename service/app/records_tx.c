/*
 * records_tx.c -- the steps every record write is made of (records_int.h): running a
 * job as a transaction whose attempts start afresh, locking and loading the record and
 * what the policies read, mapping the engine's refusals, and persisting an outcome (row,
 * links, effects, audit events, the notification, problems a fix change moves on).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/fields.h"
#include "app/records_int.h"
#include "audit/audit.h"
#include "core/timeutil.h"
#include "policy/catalog.h"
#include "store/audit_log.h"
#include "store/effects.h"
#include "store/records.h"
#include "wf/wf.h"

#define MAX_AUDIT 40 /* events one request may append: its steps, notes, the main one */

/* Ends a transaction body with a refusal: rolled back, reported as `code`. */
enum db_status rec_refuse(struct rec_job *j, enum tr_code code)
{
	j->code = code;
	return DB_HARD;
}

enum db_status rec_defer(struct rec_job *j, const char *what)
{
	tr_error_set(j->err, TR_E_DEFERRED, NULL, "%s is left to a request worker", what);
	return rec_refuse(j, TR_E_DEFERRED);
}

enum tr_code rec_db_error(struct tr_error *err, enum db_status s, struct store *st)
{
	return store_error(st, s, NULL, err);
}

/* Drops what an attempt of the job loaded from the database. */
static void rec_job_forget(struct rec_job *j)
{
	json_decref(j->history);
	json_decref(j->history_summary);
	j->history = j->history_summary = NULL;
	j->ext = (struct policy_ext){0};
	j->subject = NULL;
}

/*
 * One attempt of the job's transaction.  A serialization failure or deadlock runs it
 * again: nothing the rolled-back attempt read (history, the proposed slot) may survive.
 */
static enum db_status rec_attempt(struct store *st, void *cls)
{
	struct rec_job *j = cls;
	rec_job_forget(j);
	rec_schedule_committed(j, false); /* a rolled-back attempt's placement */
	free(j->timers);
	j->timers = NULL;
	j->reply_pending = false;
	j->code = TR_OK;
	return j->body(st, j);
}

/* Runs `fn` as a transaction and turns its outcome into a tr_code. */
enum tr_code rec_run(struct rec_job *j, enum db_status (*fn)(struct store *, void *))
{
	struct cal_instances *expanded = NULL;
	j->code = TR_OK;
	j->body = fn;
	if (j->instances == NULL && j->kind != NULL && strcmp(j->kind, "change") == 0 &&
	    !j->c->short_only) {
		/* Calendars are expanded here, before any row is locked (rec_calendar); a short
		 * run places and proposes nothing (rec_defer), so it never needs them. */
		expanded = rec_calendar(j->c);
		if (expanded == NULL)
			return tr_error_set(j->err, TR_E_NOMEM, NULL, "out of memory");
		j->instances = expanded;
	}
	enum db_status s = store_tx(j->c->st, STORE_READ_COMMITTED, j->c->retries, rec_attempt, j);
	bool committed = s >= 0 && j->code == TR_OK;
	rec_schedule_committed(j, committed);
	rec_job_forget(j);
	bool finished = !j->reply_pending || (committed && rec_reply_finish(j));
	if (j->reply_pending && !committed) { /* a reply that was never to be */
		free(j->out->raw_body);
		j->out->raw_body = NULL;
	}
	free(j->timers);
	j->timers = NULL;
	j->reply_pending = false;
	if (expanded != NULL) {
		rec_calendar_free(expanded);
		j->instances = NULL;
	}
	if (j->code != TR_OK)
		return j->code;
	if (s == DB_SOFT && j->c->short_only) /* no retries here: a worker retries */
		return tr_error_set(j->err, TR_E_DEFERRED, NULL, "a conflict is left to a worker");
	if (s < 0)
		return rec_db_error(j->err, s, j->c->st);
	if (!finished)
		return tr_error_set(j->err, TR_E_NOMEM, NULL, "out of memory");
	return TR_OK;
}

/*
 * Rewrites the links of every link field from the record, so that edits and workflow
 * actions (a set_field clearing fix_change) alike keep both sides in step.
 */
static enum db_status sync_links(struct rec_job *j, const char *id, json_t *record)
{
	size_t n;
	const struct field_link *links = fields_links(j->kind, &n);
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(record, links[i].field);
		/* A change that never named the incident it fixes has no link to rewrite: most
		 * changes, so their writes send nothing more. */
		if (v == NULL && strcmp(j->kind, "change") == 0 &&
		    json_object_get(j->input, links[i].field) == NULL)
			continue;
		json_t *ids = v == NULL || json_is_null(v) ? json_array()
			      : links[i].many              ? json_incref(v)
							   : json_pack("[O]", v);
		enum db_status s = store_links_set(j->c->st, id, links[i].rel, ids);
		json_decref(ids);
		if (s < 0)
			return s;
	}
	/* A change's follow-up actions link the problems they name ("follow_up"). */
	if (strcmp(j->kind, "change") == 0 &&
	    (json_object_get(record, "follow_up_actions") != NULL ||
	     json_object_get(j->input, "follow_up_actions") != NULL)) {
		json_t *ids = rec_follow_up_problems(j->kind, record);
		enum db_status s = store_links_set(j->c->st, id, "follow_up", ids);
		json_decref(ids);
		if (s < 0)
			return s;
	}
	return DB_ONE;
}

/*
 * A start refused by the `within_window` guard: the detail names the booked window with
 * its start and end (or says there is none), and extra.window carries them.
 */
static void explain_window(struct rec_job *j)
{
	json_t *rec = j->subject; /* borrowed from the caller's record */
	json_t *sched = json_object_get(rec, "schedule");
	const char *id = json_string_value(json_object_get(rec, "id")) ?: "the change";
	const char *status = json_string_value(json_object_get(sched, "status")) ?: "none";
	const char *start = json_string_value(json_object_get(sched, "start"));
	const char *end = json_string_value(json_object_get(sched, "end"));
	json_t *w = json_object_get(sched, "window");
	const char *name = json_string_value(json_object_get(w, "summary"));
	char at[TIME_RFC3339_LEN];
	time_format_ms(j->c->now_ms, at);
	if (strcmp(status, "booked") == 0 && start != NULL && end != NULL) {
		tr_error_set(j->err, TR_E_CONFLICT, "event",
			     "%s may start only inside its booked window%s%s%s, from %s to %s (now "
			     "%s); only an emergency change or break glass may skip it",
			     id, name ? " '" : "", name ? name : "", name ? "'" : "", start, end,
			     at);
		json_object_set_new(j->out->extra, "window",
				    json_pack("{s:s?, s:O?, s:s, s:s}", "name", name, "uid",
					      json_object_get(w, "uid"), "start", start, "end",
					      end));
	} else {
		tr_error_set(j->err, TR_E_CONFLICT, "event",
			     "%s has no booked window (schedule status %s): it may not start; "
			     "only an emergency change or break glass may skip the window",
			     id, status);
		json_object_set_new(j->out->extra, "window", json_null());
	}
	tr_error_rule(j->err, TR_R_WITHIN_WINDOW);
}

/* Maps an engine refusal to a problem, with its extra members. */
enum tr_code rec_engine_error(struct rec_job *j, struct wf_outcome *o)
{
	struct tr_error *err = j->err;
	struct rec_reply *out = j->out;
	switch (o->status) {
	case WF_ERR_NOT_ALLOWED:
		tr_error_set(err, TR_E_CONFLICT, "event", "%s", o->detail);
		tr_error_rule(err, TR_R_STATE);
		out->extra = json_pack("{s:O}", "allowed_events", o->allowed);
		return TR_E_CONFLICT;
	case WF_ERR_FORBIDDEN:
		tr_error_set(err, TR_E_FORBIDDEN, "event", "%s", o->detail);
		tr_error_rule(err, TR_R_ROLE);
		return TR_E_FORBIDDEN;
	case WF_ERR_MISSING: {
		const char *first = json_string_value(json_array_get(o->missing, 0));
		tr_error_set(err, TR_E_UNPROCESSABLE, first ? first : "", "%s", o->detail);
		tr_error_rule(err, TR_R_REQUIRED);
		out->extra = json_pack("{s:O}", "missing", o->missing);
		return TR_E_UNPROCESSABLE;
	}
	case WF_ERR_GUARD:
		tr_error_set(err, TR_E_CONFLICT, "event", "%s", o->detail);
		tr_error_rule_as(err, TR_R_GUARD, o->guard_name);
		out->extra =
			json_pack("{s:s?, s:s?}", "guard", o->guard_name, "when", o->guard_text);
		if (o->guard_name != NULL && strcmp(o->guard_name, "within_window") == 0)
			explain_window(j);
		return TR_E_CONFLICT;
	case WF_ERR_NO_WORKFLOW:
		tr_error_set(err, TR_E_UNPROCESSABLE, "type", "no workflow applies to this %s: %s",
			     j->kind, o->detail);
		return TR_E_UNPROCESSABLE;
	default:
		return tr_error_set(err, TR_E_INTERNAL, NULL, "workflow engine: %s (%s)",
				    wf_status_name(o->status), o->detail);
	}
}

/* ---- persisting an outcome -------------------------------------------------------------- */

/* A growing list of audit events whose details this file owns. */
struct audit_list {
	struct audit_event ev[MAX_AUDIT];
	size_t n;
};

static void audit_add(struct audit_list *l, const struct rec_ctx *c, const char *at,
		      const char *actor, const char *record_id, const char *action, json_t *detail)
{
	if (l->n >= MAX_AUDIT) {
		json_decref(detail);
		return;
	}
	l->ev[l->n++] = (struct audit_event){at, actor, record_id, action, c->request_id, detail};
}

static void audit_list_clear(struct audit_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		json_decref(l->ev[i].detail);
	l->n = 0;
}

/* Writes the engine's effects: outbox events, timers; notes become audit events. */
static enum db_status apply_effects(struct rec_job *j, const char *id, json_t *effects,
				    struct audit_list *audit, const char *at)
{
	size_t i;
	json_t *e;
	json_array_foreach(effects, i, e) {
		const char *type = json_string_value(json_object_get(e, "type"));
		const char *state = json_string_value(json_object_get(e, "state"));
		const char *event = json_string_value(json_object_get(e, "event"));
		enum db_status s = DB_ONE;
		if (type == NULL)
			continue;
		if (strcmp(type, "emit") == 0)
			s = store_outbox_add(j->c->st, event ? event : "record.event", id, e);
		else if (strcmp(type, "timer_arm") == 0)
			s = store_timer_arm(
				j->c->st, id, state, event,
				(long long)json_integer_value(json_object_get(e, "due")) * 1000);
		else if (strcmp(type, "timer_cancel") == 0)
			s = store_timer_cancel(j->c->st, id, state, event);
		else if (strcmp(type, "note") == 0)
			audit_add(audit, j->c, at, j->c->actor, id, "note",
				  json_pack("{s:O?, s:s?}", "text", json_object_get(e, "text"),
					    "state", state));
		if (s < 0)
			return s;
	}
	return DB_ONE;
}

/*
 * A change that a problem names as its fix (`fix_change`, link "fixed_by") moves that
 * problem on, in the same transaction, as actor "system": closing successfully fires the
 * problem workflow's `fixed`; failing, being cancelled or rejected fires `fix_failed`.  A
 * problem whose workflow does not take the event from its state (not in fix_in_change)
 * is left alone.  Called by rec_persist after change `r` entered a new state.
 */
static enum db_status move_fixed_problems(struct rec_job *j, const struct store_record *r)
{
	if (strcmp(r->kind, "change") != 0)
		return DB_ONE;
	const char *result = json_string_value(json_object_get(r->data, "result")) ?: "";
	const char *event = NULL;
	if (strcmp(r->state, "closed") == 0 && strcmp(result, "failed") != 0)
		event = "fixed";
	else if (strcmp(r->state, "failed") == 0 || strcmp(r->state, "cancelled") == 0 ||
		 strcmp(r->state, "rejected") == 0)
		event = "fix_failed";
	if (event == NULL)
		return DB_ONE;
	size_t i;
	json_t *row;
	json_array_foreach(r->links, i, row) {
		const char *from = json_string_value(json_object_get(row, "from"));
		if (from == NULL ||
		    strcmp(json_string_value(json_object_get(row, "rel")) ?: "", "fixed_by") != 0 ||
		    strcmp(json_string_value(json_object_get(row, "to")) ?: "", r->id) != 0)
			continue;
		char comment[300];
		snprintf(comment, sizeof comment, "fix change %s %s", r->id,
			 strcmp(event, "fixed") == 0 ? "closed successfully" : r->state);
		struct rec_ctx sys = *j->c;
		sys.actor = "system";
		sys.roles = WF_ROLE_SYSTEM;
		sys.idem_key = NULL;
		struct rec_reply out = {0};
		struct tr_error err = {0};
		struct rec_job pj = {.c = &sys,
				     .kind = "problem",
				     .id = from,
				     .comment = comment,
				     .out = &out,
				     .err = &err,
				     .instances = j->instances,
				     .no_reply = true};
		struct store_record p = {0};
		struct wf_outcome o = {0};
		const struct wf *wf;
		struct wf_ctx ctx;
		enum db_status s = rec_load_locked(&pj, &p, &wf);
		if (s >= 0) {
			rec_engine_ctx(&pj, &p, &ctx);
			if (wf_fire(wf, &ctx, event, &o) == WF_OK)
				s = rec_persist(&pj, &p, &o, false, NULL, NULL);
		} else if (pj.code != TR_OK) {
			s = DB_ONE; /* gone or not loaded here: nothing to move */
		}
		wf_outcome_clear(&o);
		store_record_clear(&p);
		rec_reply_clear(&out);
		if (s < 0)
			return s;
	}
	return DB_ONE;
}

/*
 * When `steps` start change `r` outside its booked slot (an emergency change, or one whose
 * glass was broken: the workflows refuse the others), what the audit keeps of it (owned):
 * {"reason", "window": {start, end} or null, "at"}; else NULL.
 */
static json_t *window_skipped(const struct store_record *r, json_t *steps, long long now_ms)
{
	size_t i;
	json_t *step, *sched = json_object_get(r->data, "schedule");
	bool started = false;
	json_array_foreach(steps, i, step) /* wf_start's step is named "start" too: from null */
		started =
			started || (json_is_string(json_object_get(step, "from")) &&
				    strcmp(json_string_value(json_object_get(step, "event")) ?: "",
					   "start") == 0);
	if (!started || strcmp(r->kind, "change") != 0)
		return NULL;
	long long start = 0, end = 0;
	bool booked = wf_schedule_booked(sched, &start, &end);
	if (booked && start <= now_ms && now_ms < end)
		return NULL;
	json_t *bg = json_object_get(json_object_get(r->data, "approvals"), "break_glass");
	const char *type = json_string_value(json_object_get(r->data, "type")) ?: "";
	char reason[200];
	if (json_is_object(bg))
		snprintf(reason, sizeof reason, "break glass by %s",
			 json_string_value(json_object_get(bg, "by")) ?: "a change manager");
	else
		snprintf(reason, sizeof reason, "%s change", type);
	char at[TIME_RFC3339_LEN];
	time_format_ms(now_ms, at);
	return json_pack("{s:s, s:o, s:s}", "reason", reason, "window",
			 booked ? json_pack("{s:O, s:O}", "start", json_object_get(sched, "start"),
					    "end", json_object_get(sched, "end"))
				: json_null(),
			 "at", at);
}

/*
 * Persists outcome `o` for record `r` (new when `insert`): row, links, effects, the
 * audit events (`main` first, stolen, may be NULL; then one per transition step), the
 * notification, and the reply.
 */
enum db_status rec_persist(struct rec_job *j, struct store_record *r, struct wf_outcome *o,
			   bool insert, const char *main_action, json_t *main)
{
	struct rec_ctx *c = j->c;
	struct audit_list audit = {.n = 0};
	char at[TIME_RFC3339_LEN];
	char prev_state[128];
	enum db_status s;

	time_format_ms(c->now_ms, at);
	snprintf(prev_state, sizeof prev_state, "%s", r->state);
	json_decref(r->data);
	r->data = json_incref(o->record);
	json_object_set_new(r->data, "updated_at", json_string(at));
	if (o->risk != NULL)
		json_object_set(r->data, "risk", o->risk);
	if (o->approvals != NULL)
		json_object_set(r->data, "approvals", o->approvals);
	snprintf(r->state, sizeof r->state, "%s", o->state);
	r->updated_ms = c->now_ms;
	/* When a change began: what suspect ranking (suspects.c) measures from. */
	if (strcmp(r->kind, "change") == 0 && strcmp(r->state, "implementing") == 0 &&
	    strcmp(prev_state, "implementing") != 0)
		json_object_set_new(r->data, "started_at", json_string(at));
	json_t *scheduled = NULL;
	if ((s = rec_schedule_apply(j, r, o->effects, &scheduled)) < 0)
		return s;

	if (insert)
		r->version = 1;
	/* The document as written, once: the reply is made of it too. */
	char *text = json_dumps(r->data, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (text == NULL)
		return DB_HARD;
	/* Every write below is queued: the transaction's COMMIT sends them in one go. */
	s = insert ? store_record_insert(c->st, r, text)
		   : store_record_update(c->st, r, text, strcmp(prev_state, r->state) != 0);
	if (s >= 0)
		s = sync_links(j, r->id, r->data);
	if (main != NULL)
		audit_add(&audit, c, at, c->actor, r->id, main_action, main);
	size_t i;
	json_t *step;
	json_array_foreach(o->steps, i, step) {
		json_t *d = json_deep_copy(step);
		if (i == 0 && c->actor && j->comment &&
		    !json_is_true(json_object_get(step, "auto")))
			json_object_set_new(d, "comment", json_string(j->comment));
		if (i == json_array_size(o->steps) - 1)
			json_object_set(d, "changed", o->changed);
		const char *who = json_string_value(json_object_get(step, "actor"));
		audit_add(&audit, c, at, who ? who : c->actor, r->id, "transitioned", d);
	}
	if (scheduled != NULL)
		audit_add(&audit, c, at, c->actor, r->id, "scheduled", scheduled);
	json_t *skipped = window_skipped(r, o->steps, c->now_ms);
	if (skipped != NULL)
		audit_add(&audit, c, at, c->actor, r->id, "window_skipped", skipped);
	if (s >= 0)
		s = apply_effects(j, r->id, o->effects, &audit, at);
	if (s >= 0)
		s = store_audit_append(c->st, audit.ev, audit.n);
	if (s >= 0) {
		json_t *services = fields_services(r->kind, r->data);
		json_t *first = json_array_get(o->steps, 0);
		json_t *note = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s?, s:O?, s:s, s:s}", "type",
					 insert                          ? "record.created"
					 : json_array_size(o->steps) > 0 ? "record.transitioned"
									 : "record.updated",
					 "kind", r->kind, "id", r->id, "services", services,
					 "state", r->state, "from", insert ? NULL : prev_state,
					 "event", first ? json_object_get(first, "event") : NULL,
					 "actor", c->actor, "at", at);
		s = note ? store_notify(c->st, note) : DB_HARD;
		/* The same event goes to the outbox, for webhooks: written with the change,
		 * so nothing is sent for a rolled-back write and nothing is lost. */
		if (s >= 0)
			s = store_outbox_add(c->st,
					     json_string_value(json_object_get(note, "type")),
					     r->id, note);
		json_decref(note);
	}
	audit_list_clear(&audit);
	if (s >= 0 && strcmp(prev_state, r->state) != 0)
		s = move_fixed_problems(j, r);
	if (s >= 0 && !j->no_reply)
		s = rec_represent_written(j, r, text);
	free(text);
	return s;
}

/* The engine's view of a stored record. */
void rec_engine_ctx(struct rec_job *j, const struct store_record *r, struct wf_ctx *ctx)
{
	memset(ctx, 0, sizeof *ctx);
	j->subject = r->data;
	ctx->record = r->data;
	ctx->risk = json_object_get(r->data, "risk");
	ctx->approvals = json_object_get(r->data, "approvals");
	ctx->actor = j->c->actor;
	ctx->roles = j->c->roles;
	ctx->comment = j->comment;
	ctx->now = j->c->now_ms / 1000;
	ctx->entered_at = r->entered_ms / 1000;
	if (j->c->defs->catalog != NULL)
		ctx->teams = catalog_teams(j->c->defs->catalog);
	ctx->history = j->history_summary;
	ctx->ext = (void *)&j->ext;
}

enum db_status rec_load_policy_inputs(struct rec_job *j, const struct wf *wf, json_t *record)
{
	const struct policy_set *set = j->c->defs->policies;
	j->ext = (struct policy_ext){set, j->c->defs->catalog, j->history};
	/* The slot proposal and the risk history below: more than a short statement */
	if (j->c->short_only && set != NULL && wf != NULL && j->history == NULL &&
	    strcmp(j->kind, "change") == 0 &&
	    (wf_uses_action(wf, "request_approvals") || wf_uses_action(wf, "assess_risk")))
		return rec_defer(j, "a change's policy inputs");
	if (set != NULL && wf != NULL && j->history == NULL) {
		enum db_status s = rec_schedule_propose(j, wf, record);
		if (s < 0)
			return s;
	}
	if (set == NULL || j->history != NULL || strcmp(j->kind, "change") != 0 ||
	    (wf != NULL && !wf_uses_action(wf, "assess_risk") &&
	     !wf_uses_action(wf, "request_approvals")))
		return DB_ONE;
	return rec_load_history(j, record);
}

enum db_status rec_load_history(struct rec_job *j, json_t *record)
{
	const struct policy_set *set = j->c->defs->policies;
	j->ext = (struct policy_ext){set, j->c->defs->catalog, j->history};
	if (set == NULL || j->history != NULL || strcmp(j->kind, "change") != 0)
		return DB_ONE;
	const char *requester = json_string_value(json_object_get(record, "requester"));
	const struct policy_user *u = policy_user_resolve(set, requester);
	const struct policy_group *team = u && u->team ? policy_group_find(set, u->team) : NULL;
	json_t *members = json_array();
	for (size_t i = 0; team != NULL && i < team->n_members; i++)
		json_array_append_new(members, json_string(team->members[i]));
	json_t *services = fields_services(j->kind, record);
	enum db_status s = store_change_history(
		j->c->st, services, json_string_value(json_object_get(record, "template")),
		team ? team->name : NULL, members, j->c->now_ms - policy_history_window(set) * 1000,
		&j->history);
	json_decref(services);
	json_decref(members);
	if (s < 0)
		return s;
	j->history_summary = policy_history_summary(set, record, j->history);
	j->ext.history = j->history;
	return DB_ONE;
}

/* Loads and locks record j->id of kind j->kind; refuses 404 when there is none. */
enum db_status rec_load_locked(struct rec_job *j, struct store_record *r, const struct wf **wf)
{
	enum db_status s = store_record_get(j->c->st, j->id, true, r);
	if (s < 0)
		return s;
	if (s == DB_NONE || strcmp(r->kind, j->kind) != 0) {
		tr_error_set(j->err, TR_E_NOT_FOUND, "id", "no %s '%s'", j->kind, j->id);
		return rec_refuse(j, TR_E_NOT_FOUND);
	}
	*wf = wf_set_find(j->c->defs->workflows, r->workflow);
	if (*wf == NULL) {
		tr_error_set(j->err, TR_E_CONFLICT, NULL,
			     "%s follows workflow '%s', which is no longer loaded", r->id,
			     r->workflow);
		tr_error_rule(j->err, TR_R_WORKFLOW);
		return rec_refuse(j, TR_E_CONFLICT);
	}
	if (j->expect != NULL && !rec_versions_match(j->expect, r->version)) {
		tr_error_set(j->err, TR_E_PRECONDITION_FAILED, "version",
			     "%s is at version %d, not the one expected", r->id, r->version);
		j->out->version = r->version;
		snprintf(j->out->id, sizeof j->out->id, "%s", r->id);
		return rec_refuse(j, TR_E_PRECONDITION_FAILED);
	}
	return DB_ONE;
}
