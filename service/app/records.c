/*
 * records.c -- the record use cases behind records.h.
 *
 * Every write follows one shape: in a transaction, lock (or create) the row, ask the
 * engine what happens (pure), then rec_persist() the outcome: row, links, effects, audit
 * events and the live notification.  A refusal decided inside the transaction is
 * carried out as `job.code` and rolls everything back.
 */
#include "app/records_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "auth/roles.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "policy/catalog.h"
#include "app/fields.h"
#include "store/audit_log.h"
#include "store/effects.h"
#include "store/records.h"
#include "wf/wf.h"

_Static_assert((unsigned)ROLE_REQUESTER == (unsigned)WF_ROLE_REQUESTER &&
		       (unsigned)ROLE_CAB == (unsigned)WF_ROLE_CAB &&
		       (unsigned)ROLE_CHANGE_MANAGER == (unsigned)WF_ROLE_CHANGE_MANAGER &&
		       (unsigned)ROLE_PIPELINE == (unsigned)WF_ROLE_PIPELINE &&
		       (unsigned)ROLE_ADMIN == (unsigned)WF_ROLE_ADMIN,
	       "API roles and workflow roles share their bits");

#define MAX_AUDIT 40 /* events one request may append: its steps, notes, the main one */

void rec_reply_clear(struct rec_reply *r)
{
	json_decref(r->body);
	json_decref(r->extra);
	free(r->raw_body);
	memset(r, 0, sizeof *r);
}

/* Ends a transaction body with a refusal: rolled back, reported as `code`. */
enum db_status rec_refuse(struct rec_job *j, enum tr_code code)
{
	j->code = code;
	return DB_HARD;
}

enum tr_code rec_db_error(struct tr_error *err, enum db_status s, struct store *st)
{
	return store_error(st, s, NULL, err);
}

/* Runs `fn` as a transaction and turns its outcome into a tr_code. */
enum tr_code rec_run(struct rec_job *j, enum db_status (*fn)(struct store *, void *))
{
	j->code = TR_OK;
	enum db_status s = store_tx(j->c->st, STORE_READ_COMMITTED, j->c->retries, fn, j);
	json_decref(j->history);
	json_decref(j->history_summary);
	j->history = j->history_summary = NULL;
	if (j->code != TR_OK)
		return j->code;
	if (s < 0)
		return rec_db_error(j->err, s, j->c->st);
	return TR_OK;
}

/* ---- representation --------------------------------------------------------------------- */

/* The inverse name of a link seen from its target. */
static const char *inverse(const char *rel)
{
	return strcmp(rel, "caused_by") == 0   ? "caused_incidents"
	       : strcmp(rel, "incident") == 0  ? "problems"
	       : strcmp(rel, "fixed_by") == 0  ? "fixes_problems"
	       : strcmp(rel, "follow_up") == 0 ? "follow_up_of"
					       : rel;
}

/* {"caused_by": ["CHG-1"], "caused_incidents": [...], ...} from store_links_of rows. */
static json_t *group_links(const char *id, json_t *rows)
{
	json_t *g = json_object();
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) {
		const char *from = json_string_value(json_object_get(row, "from"));
		const char *rel = json_string_value(json_object_get(row, "rel"));
		bool outgoing = strcmp(from, id) == 0;
		const char *name = outgoing ? rel : inverse(rel);
		json_t *other = json_object_get(row, outgoing ? "to" : "from");
		json_t *list = json_object_get(g, name);
		if (list == NULL) {
			list = json_array();
			json_object_set_new(g, name, list);
		}
		json_array_append(list, other);
	}
	return g;
}

static void set_etag(struct rec_reply *out, int version)
{
	snprintf(out->etag, sizeof out->etag, "\"%d\"", version);
}

/* The distinct problems a change's follow-up actions name (owned array). */
static json_t *follow_up_problems(const char *kind, json_t *record)
{
	json_t *ids = json_array(), *a;
	size_t i, k;
	json_t *seen;
	if (strcmp(kind, "change") != 0)
		return ids;
	json_array_foreach(json_object_get(record, "follow_up_actions"), i, a) {
		json_t *p = json_object_get(a, "problem");
		bool dup = false;
		json_array_foreach(ids, k, seen)
			dup = dup || json_equal(seen, p);
		if (json_is_string(p) && !dup)
			json_array_append(ids, p);
	}
	return ids;
}

/*
 * The links of `r` now: those pointing at it, as read with it, and those its own link
 * fields make (which this request may just have changed).
 */
static json_t *current_links(const struct store_record *r)
{
	json_t *rows = json_array();
	size_t i, n;
	json_t *row;
	json_array_foreach(r->links, i, row)
		if (strcmp(json_string_value(json_object_get(row, "to")) ?: "", r->id) == 0)
			json_array_append(rows, row);
	json_t *follow = follow_up_problems(r->kind, r->data), *pid;
	json_array_foreach(follow, i, pid)
		json_array_append_new(rows, json_pack("{s:s, s:s, s:O}", "from", r->id, "rel",
						      "follow_up", "to", pid));
	json_decref(follow);
	const struct field_link *links = fields_links(r->kind, &n);
	for (size_t k = 0; k < n; k++) {
		json_t *v = json_object_get(r->data, links[k].field), *id;
		size_t m;
		if (json_is_string(v))
			json_array_append_new(rows, json_pack("{s:s, s:s, s:O}", "from", r->id,
							      "rel", links[k].rel, "to", v));
		else
			json_array_foreach(v, m, id)
				json_array_append_new(rows,
						      json_pack("{s:s, s:s, s:O}", "from", r->id,
								"rel", links[k].rel, "to", id));
	}
	return rows;
}

/* Whether `list` (a JSON array of strings) holds `s`. */
static bool list_has(json_t *list, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
		if (strcmp(json_string_value(v) ?: "", s) == 0)
			return true;
	return false;
}

/*
 * The events of r's state the caller may fire now (role, ownership, required fields,
 * guard: each tried on a copy, the engine is pure and the policy actions are left out),
 * into *avail; the others, each with the rule that blocks it, into *blocked.
 */
static void events_for(struct rec_ctx *c, const struct store_record *r, const struct wf *wf,
		       json_t **avail, json_t **blocked)
{
	json_t *all = wf_events_allowed(wf, r->state, ROLE_ALL);
	json_t *mine = wf_events_allowed(wf, r->state, c->roles), *e;
	struct rec_reply none = {0};
	struct tr_error err = {0};
	struct rec_job j = {.c = c, .kind = r->kind, .id = r->id, .out = &none, .err = &err};
	struct wf_ctx ctx;
	size_t i;
	*avail = json_array();
	*blocked = json_array();
	rec_engine_ctx(&j, r, &ctx);
	json_t *rec = json_deep_copy(r->data);
	json_object_set_new(rec, "state", json_string(r->state));
	ctx.record = rec;
	json_array_foreach(all, i, e) {
		const char *ev = json_string_value(e);
		json_t *why = NULL;
		struct wf_outcome o = {0};
		if (!list_has(mine, ev)) {
			why = json_pack("{s:s, s:s, s:s}", "event", ev, "rule", "role", "detail",
					"none of your roles may fire it");
		} else if ((strcmp(ev, "submit") == 0 || strcmp(ev, "cancel") == 0) &&
			   !rec_may_manage(c, r->kind, r->data)) {
			why = json_pack("{s:s, s:s, s:s}", "event", ev, "rule", "owner_only",
					"detail",
					"only its requester, a change manager or an admin may");
		} else {
			enum wf_status ws = wf_fire(wf, &ctx, ev, &o);
			if (ws == WF_ERR_MISSING)
				why = json_pack("{s:s, s:s, s:s, s:O?}", "event", ev, "rule",
						"required", "detail", o.detail, "missing",
						o.missing);
			else if (ws == WF_ERR_GUARD)
				why = json_pack("{s:s, s:s, s:s, s:s?}", "event", ev, "rule",
						"guard", "detail", o.detail, "guard", o.guard_name);
			else if (ws == WF_ERR_FORBIDDEN || ws == WF_ERR_NOT_ALLOWED)
				why = json_pack("{s:s, s:s, s:s}", "event", ev, "rule", "role",
						"detail", o.detail);
			wf_outcome_clear(&o);
		}
		if (why != NULL)
			json_array_append_new(*blocked, why);
		else
			json_array_append(*avail, e);
	}
	json_decref(rec);
	json_decref(all);
	json_decref(mine);
}

/* The record as clients see it: its data, version, links and the events of its state. */
enum db_status rec_represent(struct rec_ctx *c, const struct store_record *r, struct rec_reply *out)
{
	json_t *rows = current_links(r);
	json_t *body = json_deep_copy(r->data);
	const struct wf *wf = wf_set_find(c->defs->workflows, r->workflow);
	json_object_set_new(body, "version", json_integer(r->version));
	json_object_set_new(body, "links", group_links(r->id, rows));
	json_t *avail = NULL, *blocked = NULL;
	if (wf != NULL)
		events_for(c, r, wf, &avail, &blocked);
	json_object_set_new(body, "available_events", avail ? avail : json_array());
	json_object_set_new(body, "blocked_events", blocked ? blocked : json_array());
	json_decref(rows);
	json_decref(out->body);
	out->body = body;
	set_etag(out, r->version);
	return body != NULL ? DB_ONE : DB_HARD;
}

/* ---- checks ----------------------------------------------------------------------------- */

/*
 * Parses an If-Match value against `version`: true when it matches.  "*" matches any
 * existing record; weak validators never match (RFC 9110 strong comparison).
 */
static bool etag_matches(const char *h, int version)
{
	char want[40];
	snprintf(want, sizeof want, "\"%d\"", version);
	while (h != NULL && *h) {
		while (*h == ' ' || *h == ',')
			h++;
		if (*h == '*')
			return true;
		size_t n = strcspn(h, ",");
		while (n > 0 && h[n - 1] == ' ')
			n--;
		if (n == strlen(want) && strncmp(h, want, n) == 0)
			return true;
		h += strcspn(h, ",");
	}
	return false;
}

/* The referenced records of the link fields in `input` must exist with the right kind. */
static enum db_status check_links(struct rec_job *j, json_t *input)
{
	size_t n;
	const struct field_link *links = fields_links(j->kind, &n);
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(input, links[i].field), *ids, *missing;
		if (v == NULL || json_is_null(v))
			continue;
		ids = links[i].many ? json_incref(v) : json_pack("[O]", v);
		enum db_status s = store_records_missing(j->c->st, ids, links[i].target, &missing);
		json_decref(ids);
		if (s < 0)
			return s;
		if (json_array_size(missing) > 0) {
			char list[256] = "";
			size_t k;
			json_t *m;
			json_array_foreach(missing, k, m)
				snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
					 k ? ", " : "", json_string_value(m));
			json_decref(missing);
			tr_error_set(j->err, TR_E_UNPROCESSABLE, links[i].field,
				     "'%s' names no existing %s: %s", links[i].field,
				     links[i].target, list);
			tr_error_rule(j->err, TR_R_REFERENCE);
			return rec_refuse(j, TR_E_UNPROCESSABLE);
		}
		json_decref(missing);
	}
	return DB_ONE;
}

/* The problems that a change's follow-up actions name must exist: 422 naming the first. */
static enum db_status check_follow_ups(struct rec_job *j, json_t *input)
{
	json_t *actions = json_object_get(input, "follow_up_actions"), *a, *missing = NULL;
	json_t *ids = json_array();
	size_t i;
	json_array_foreach(actions, i, a)
		if (json_is_string(json_object_get(a, "problem")))
			json_array_append(ids, json_object_get(a, "problem"));
	enum db_status s = json_array_size(ids) == 0
				   ? DB_ONE
				   : store_records_missing(j->c->st, ids, "problem", &missing);
	json_decref(ids);
	if (s < 0 || json_array_size(missing) == 0) {
		json_decref(missing);
		return s < 0 ? s : DB_ONE;
	}
	json_array_foreach(actions, i, a) {
		json_t *p = json_object_get(a, "problem");
		size_t k;
		json_t *m;
		json_array_foreach(missing, k, m) {
			if (!json_equal(p, m))
				continue;
			char field[96];
			snprintf(field, sizeof field, "follow_up_actions[%zu].problem", i);
			tr_error_set(j->err, TR_E_UNPROCESSABLE, field,
				     "'%s' names no existing problem: %s", field,
				     json_string_value(m));
			tr_error_rule(j->err, TR_R_REFERENCE);
			json_decref(missing);
			return rec_refuse(j, TR_E_UNPROCESSABLE);
		}
	}
	json_decref(missing);
	return DB_ONE;
}

/*
 * The services a record names must be in the catalog (when policies/ has one): 422
 * naming every unknown one.
 */
static enum db_status check_services(struct rec_job *j, json_t *input)
{
	const struct policy_catalog *cat = j->c->defs->catalog;
	const char *field = strcmp(j->kind, "change") == 0 ? "services" : "service";
	json_t *names = json_object_get(input, field);
	if (cat == NULL || names == NULL || json_is_null(names))
		return DB_ONE;
	json_t *unknown = catalog_unknown(cat, names);
	if (json_array_size(unknown) == 0) {
		json_decref(unknown);
		return DB_ONE;
	}
	char list[256] = "";
	size_t k;
	json_t *u;
	json_array_foreach(unknown, k, u)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "",
			 json_string_value(u));
	tr_error_set(j->err, TR_E_UNPROCESSABLE, field, "unknown service%s: %s",
		     json_array_size(unknown) > 1 ? "s" : "", list);
	tr_error_rule(j->err, TR_R_CATALOG);
	j->out->extra = json_pack("{s:o}", "unknown_services", unknown);
	return rec_refuse(j, TR_E_UNPROCESSABLE);
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
		json_t *ids = follow_up_problems(j->kind, record);
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
				     .err = &err};
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
	json_t *scheduled = NULL;
	if ((s = rec_schedule_apply(j, r, o->effects, &scheduled)) < 0)
		return s;

	if (insert)
		r->version = 1;
	/* Every write below is queued: the transaction's COMMIT sends them in one go. */
	s = insert ? store_record_insert(c->st, r)
		   : store_record_update(c->st, r, strcmp(prev_state, r->state) != 0);
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
	if (s >= 0)
		s = rec_represent(c, r, j->out);
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
	if (j->if_match != NULL && !etag_matches(j->if_match, r->version)) {
		tr_error_set(j->err, TR_E_PRECONDITION_FAILED, "If-Match",
			     "%s is at version \"%d\"; If-Match was %s", r->id, r->version,
			     j->if_match);
		return rec_refuse(j, TR_E_PRECONDITION_FAILED);
	}
	return DB_ONE;
}

/* ---- idempotency ------------------------------------------------------------------------ */

/*
 * Claims the request's Idempotency-Key.  DB_ONE: go ahead.  DB_NONE: the reply of the
 * first request with this key is in j->out (or j->code refuses a different body).
 */
static enum db_status idem_claim(struct rec_job *j)
{
	struct rec_ctx *c = j->c;
	struct store_idem prev = {0};
	if (c->idem_key == NULL)
		return DB_ONE;
	enum db_status s = store_idem_claim(c->st, c->actor, c->idem_key, c->idem_method,
					    c->idem_path, c->idem_body_hash, &prev);
	if (s != DB_NONE)
		return s;
	if (strcmp(prev.method, c->idem_method) != 0 || strcmp(prev.path, c->idem_path) != 0 ||
	    strcmp(prev.body_hash, c->idem_body_hash) != 0) {
		free(prev.body);
		tr_error_set(j->err, TR_E_UNPROCESSABLE, "Idempotency-Key",
			     "this Idempotency-Key was used within 24 h for %s %s with a different "
			     "body",
			     prev.method, prev.path);
		tr_error_rule(j->err, TR_R_IDEMPOTENCY_KEY);
		return rec_refuse(j, TR_E_UNPROCESSABLE);
	}
	j->out->status = prev.status;
	j->out->raw_body = prev.body;
	snprintf(j->out->etag, sizeof j->out->etag, "%s", prev.etag);
	snprintf(j->out->location, sizeof j->out->location, "%s", prev.location);
	return DB_NONE;
}

/* Stores the reply for the claimed key, in the same transaction. */
static enum db_status idem_finish(struct rec_job *j)
{
	struct rec_ctx *c = j->c;
	if (c->idem_key == NULL)
		return DB_ONE;
	char *text = json_dumps(j->out->body, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (text == NULL)
		return DB_HARD;
	enum db_status s = store_idem_finish(c->st, c->actor, c->idem_key, j->out->status,
					     j->out->location, j->out->etag, text);
	free(text);
	return s;
}

/* ---- create ----------------------------------------------------------------------------- */

static enum db_status create_tx(struct store *st, void *cls)
{
	struct rec_job *j = cls;
	struct rec_ctx *c = j->c;
	struct store_record r = {0};
	struct wf_outcome o = {0};
	const struct wf *wf = NULL;
	char at[TIME_RFC3339_LEN];
	(void)st;

	rec_reply_clear(j->out);
	enum db_status s = idem_claim(j);
	if (s != DB_ONE)
		return s;
	if ((s = check_links(j, j->input)) < 0 || (s = check_services(j, j->input)) < 0 ||
	    (s = check_follow_ups(j, j->input)) < 0)
		return s;
	enum wf_status ws = wf_set_select(c->defs->workflows, j->kind, j->input, &wf);
	if (ws != WF_OK) {
		o.status = ws;
		snprintf(o.detail, sizeof o.detail, "%s", wf_status_name(ws));
		return rec_refuse(j, rec_engine_error(j, &o));
	}
	if ((s = store_record_next_id(c->st, j->kind, r.id)) < 0)
		return s;
	time_format_ms(c->now_ms, at);
	json_t *draft = json_deep_copy(j->input);
	json_object_set_new(draft, "id", json_string(r.id));
	json_object_set_new(draft, "requester", json_string(c->actor));
	if (strcmp(j->kind, "change") == 0 && json_object_get(draft, "environment") == NULL)
		json_object_set_new(draft, "environment", json_string("production"));
	json_object_set_new(draft, "created_at", json_string(at));
	struct wf_ctx ctx;
	r.data = draft;
	r.created_ms = r.updated_ms = r.entered_ms = c->now_ms;
	snprintf(r.kind, sizeof r.kind, "%s", j->kind);
	if ((s = rec_load_policy_inputs(j, wf, r.data)) < 0) {
		store_record_clear(&r);
		return s;
	}
	rec_engine_ctx(j, &r, &ctx);
	ws = wf_start(wf, &ctx, &o);
	if (ws != WF_OK) {
		store_record_clear(&r);
		enum tr_code code = rec_engine_error(j, &o);
		wf_outcome_clear(&o);
		return rec_refuse(j, code);
	}
	snprintf(r.workflow, sizeof r.workflow, "%s", wf_name(wf));
	snprintf(r.workflow_version, sizeof r.workflow_version, "%s", wf_version_hex(wf));
	snprintf(r.state, sizeof r.state, "%s", o.state);
	s = rec_persist(j, &r, &o, true, "created",
			json_pack("{s:s, s:s, s:O}", "workflow", r.workflow, "workflow_version",
				  r.workflow_version, "fields", j->input));
	wf_outcome_clear(&o);
	if (s >= 0) {
		j->out->status = 201;
		snprintf(j->out->location, sizeof j->out->location, "/v1/%ss/%s", j->kind, r.id);
		s = idem_finish(j);
	}
	store_record_clear(&r);
	return s;
}

enum tr_code records_create(struct rec_ctx *c, const char *kind, json_t *input,
			    struct rec_reply *out, struct tr_error *err)
{
	enum tr_code rc = fields_check(kind, input, true, err);
	if (rc == TR_OK)
		rc = fields_check_record(kind, input, err);
	if (rc != TR_OK)
		return rc;
	struct rec_job j = {.c = c, .kind = kind, .input = input, .out = out, .err = err};
	return rec_run(&j, create_tx);
}

/* ---- read ------------------------------------------------------------------------------- */

enum tr_code records_get(struct rec_ctx *c, const char *kind, const char *id,
			 const char *if_none_match, struct rec_reply *out, struct tr_error *err)
{
	struct store_record r = {0};
	enum db_status s = store_record_get(c->st, id, false, &r);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	if (s == DB_NONE || strcmp(r.kind, kind) != 0) {
		store_record_clear(&r);
		return tr_error_set(err, TR_E_NOT_FOUND, "id", "no %s '%s'", kind, id);
	}
	if (if_none_match != NULL && etag_matches(if_none_match, r.version)) {
		out->status = 304;
		set_etag(out, r.version);
		store_record_clear(&r);
		return TR_OK;
	}
	s = rec_represent(c, &r, out);
	store_record_clear(&r);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	out->status = 200;
	return TR_OK;
}

/* ---- edit ------------------------------------------------------------------------------- */

/*
 * An assessed change whose edit moves its score is assessed again: the new result
 * replaces the old, and *what ({"from", "to"}, owned) goes into the edit's audit event.
 */
static enum db_status reassess(struct rec_job *j, struct store_record *r, json_t **what)
{
	json_t *old = json_object_get(r->data, "risk");
	struct policy_error perr;
	*what = NULL;
	if (j->ext.set == NULL || !json_is_object(old))
		return DB_ONE;
	json_t *now = policy_risk_assess(j->ext.set, j->ext.catalog, r->data, j->history, &perr);
	if (now == NULL)
		return DB_ONE; /* a factor cannot be evaluated on the edited change: keep the old */
	if (json_equal(json_object_get(now, "score"), json_object_get(old, "score")) &&
	    json_equal(json_object_get(now, "factors"), json_object_get(old, "factors"))) {
		json_decref(now);
		return DB_ONE;
	}
	*what = json_pack("{s:{s:O, s:O}, s:{s:O, s:O}}", "from", "score",
			  json_object_get(old, "score"), "level", json_object_get(old, "level"),
			  "to", "score", json_object_get(now, "score"), "level",
			  json_object_get(now, "level"));
	json_object_set_new(r->data, "risk", now);
	return DB_ONE;
}

/*
 * Adds the actor to change r's "editors" (who wrote its content: segregation of duties
 * keeps them from approving it, policies/approvals.json editors_cannot_approve).
 */
static enum db_status note_editor(struct rec_job *j, struct store_record *r)
{
	if (strcmp(j->kind, "change") != 0 || j->c->actor == NULL)
		return DB_ONE;
	json_t *editors = json_object_get(r->data, "editors"), *e;
	size_t i;
	json_array_foreach(editors, i, e)
		if (strcmp(json_string_value(e) ?: "", j->c->actor) == 0)
			return DB_ONE;
	if (!json_is_array(editors)) {
		editors = json_array();
		if (editors == NULL || json_object_set_new(r->data, "editors", editors) != 0)
			return DB_HARD;
	}
	return json_array_append_new(editors, json_string(j->c->actor)) == 0 ? DB_ONE : DB_HARD;
}

static enum db_status patch_tx(struct store *st, void *cls)
{
	struct rec_job *j = cls;
	struct store_record r = {0};
	struct wf_outcome o = {0};
	const struct wf *wf;
	const char *key;
	json_t *v;
	(void)st;

	rec_reply_clear(j->out);
	enum db_status s = rec_load_locked(j, &r, &wf);
	if (s >= 0 && !rec_may_manage(j->c, j->kind, r.data))
		s = rec_refuse_not_owner(j, r.data, "edit");
	if (s < 0) {
		store_record_clear(&r);
		return s;
	}
	json_object_foreach(j->input, key, v) {
		if (!wf_field_editable(wf, r.state, key)) {
			tr_error_set(j->err, TR_E_CONFLICT, key,
				     "'%s' cannot be edited in state '%s'", key, r.state);
			tr_error_rule(j->err, TR_R_EDITABLE);
			json_t *editable = json_array();
			const char *const *list = wf_state_editable(wf, r.state);
			for (size_t i = 0; list[i] != NULL; i++)
				json_array_append_new(editable, json_string(list[i]));
			j->out->extra =
				json_pack("{s:s, s:o}", "state", r.state, "editable", editable);
			store_record_clear(&r);
			return rec_refuse(j, TR_E_CONFLICT);
		}
	}
	if ((s = check_links(j, j->input)) < 0 || (s = check_services(j, j->input)) < 0 ||
	    (s = check_follow_ups(j, j->input)) < 0) {
		store_record_clear(&r);
		return s;
	}
	/* JSON merge patch (RFC 7386) on top-level fields: null removes. */
	json_t *before = json_deep_copy(r.data);
	json_object_foreach(j->input, key, v) {
		if (json_is_null(v))
			json_object_del(r.data, key);
		else
			json_object_set(r.data, key, v);
	}
	enum tr_code rc = fields_check_record(j->kind, r.data, j->err);
	if (rc != TR_OK) {
		json_decref(before);
		store_record_clear(&r);
		return rec_refuse(j, rc);
	}
	json_t *changed = json_array();
	json_object_foreach(j->input, key, v)
		if (!json_equal(json_object_get(before, key), json_object_get(r.data, key)))
			json_array_append_new(changed, json_string(key));
	json_decref(before);
	if (json_array_size(changed) > 0 && (s = note_editor(j, &r)) < 0) {
		json_decref(changed);
		store_record_clear(&r);
		return s;
	}
	json_t *reassessed = NULL;
	if ((s = rec_load_policy_inputs(j, wf, r.data)) < 0 ||
	    (s = reassess(j, &r, &reassessed)) < 0) {
		json_decref(changed);
		store_record_clear(&r);
		return s;
	}

	struct wf_ctx ctx;
	rec_engine_ctx(j, &r, &ctx);
	enum wf_status ws = wf_settle(wf, &ctx, &o);
	if (ws != WF_OK) {
		json_decref(changed);
		store_record_clear(&r);
		enum tr_code code = rec_engine_error(j, &o);
		wf_outcome_clear(&o);
		return rec_refuse(j, code);
	}
	s = rec_persist(j, &r, &o, false, "updated",
			json_pack("{s:o, s:O, s:o?}", "changed", changed, "patch", j->input, "risk",
				  reassessed));
	wf_outcome_clear(&o);
	store_record_clear(&r);
	if (s >= 0)
		j->out->status = 200;
	return s;
}

enum tr_code records_patch(struct rec_ctx *c, const char *kind, const char *id,
			   const char *if_match, json_t *patch, struct rec_reply *out,
			   struct tr_error *err)
{
	if (if_match == NULL)
		return tr_error_set(err, TR_E_PRECONDITION_REQUIRED, "If-Match",
				    "send If-Match with the ETag of the version you edited");
	enum tr_code rc = fields_check(kind, patch, false, err);
	if (rc != TR_OK)
		return rc;
	if (json_object_size(patch) == 0)
		return tr_error_set(err, TR_E_UNPROCESSABLE, NULL, "the patch changes nothing");
	struct rec_job j = {.c = c,
			    .kind = kind,
			    .id = id,
			    .if_match = if_match,
			    .input = patch,
			    .out = out,
			    .err = err};
	return rec_run(&j, patch_tx);
}

/* ---- events ----------------------------------------------------------------------------- */

/* Whether a caller with `roles` may fire `event` from `state` by hand. */
static bool role_may_fire(const struct wf *wf, const char *state, unsigned roles, const char *event)
{
	json_t *mine = wf_events_allowed(wf, state, roles);
	bool yes = list_has(mine, event);
	json_decref(mine);
	return yes;
}

static enum db_status transition_tx(struct store *st, void *cls)
{
	struct rec_job *j = cls;
	struct store_record r = {0};
	struct wf_outcome o = {0};
	const struct wf *wf;
	(void)st;

	rec_reply_clear(j->out);
	enum db_status s = idem_claim(j);
	if (s != DB_ONE)
		return s;
	if ((s = rec_load_locked(j, &r, &wf)) < 0) {
		store_record_clear(&r);
		return s;
	}
	/* Ownership once the caller's roles may fire the event here (else the engine says
	 * why not, naming the event). */
	bool managing = strcmp(j->event, "submit") == 0 || strcmp(j->event, "cancel") == 0;
	if (managing && !rec_may_manage(j->c, j->kind, r.data) &&
	    role_may_fire(wf, r.state, j->c->roles, j->event)) {
		s = rec_refuse_not_owner(j, r.data, j->event);
		store_record_clear(&r);
		return s;
	}
	/* A change's submit follows the one decision simulate and the gate also ask. */
	json_t *decision = NULL;
	bool submit = strcmp(j->kind, "change") == 0 && strcmp(j->event, "submit") == 0;
	s = submit ? rec_decide(j, wf, r.data, &decision) : rec_load_policy_inputs(j, wf, r.data);
	if (s < 0) {
		store_record_clear(&r);
		return s;
	}
	struct wf_ctx ctx;
	rec_engine_ctx(j, &r, &ctx);
	enum wf_status ws = wf_fire(wf, &ctx, j->event, &o);
	if (ws != WF_OK) {
		enum tr_code code = rec_engine_error(j, &o); /* reads j->subject, i.e. r.data */
		json_decref(decision);
		store_record_clear(&r);
		wf_outcome_clear(&o);
		return rec_refuse(j, code);
	}
	bool allowed = !submit || rec_decision_allows_submit(j, r.data, decision);
	json_decref(decision);
	if (!allowed) {
		store_record_clear(&r);
		wf_outcome_clear(&o);
		return rec_refuse(j, TR_E_UNPROCESSABLE);
	}
	s = rec_persist(j, &r, &o, false, NULL, NULL);
	wf_outcome_clear(&o);
	store_record_clear(&r);
	if (s >= 0) {
		j->out->status = 200;
		s = idem_finish(j);
	}
	return s;
}

enum tr_code records_transition(struct rec_ctx *c, const char *kind, const char *id,
				const char *event, const char *comment, const char *if_match,
				struct rec_reply *out, struct tr_error *err)
{
	struct rec_job j = {.c = c,
			    .kind = kind,
			    .id = id,
			    .event = event,
			    .comment = comment,
			    .if_match = if_match,
			    .out = out,
			    .err = err};
	return rec_run(&j, transition_tx);
}

/* ---- history and lists ------------------------------------------------------------------ */

enum tr_code records_history(struct rec_ctx *c, const char *kind, const char *id,
			     struct rec_reply *out, struct tr_error *err)
{
	struct store_record r = {0};
	enum db_status s = store_record_get(c->st, id, false, &r);
	bool found = s == DB_ONE && strcmp(r.kind, kind) == 0;
	store_record_clear(&r);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	if (!found)
		return tr_error_set(err, TR_E_NOT_FOUND, "id", "no %s '%s'", kind, id);
	json_t *events;
	s = store_audit_of_record(c->st, id, &events);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	out->body = json_pack("{s:s, s:o}", "id", id, "events", events);
	out->status = 200;
	return out->body ? TR_OK : TR_E_NOMEM;
}

/* Cursors are "<updated_at>|<id>" in hex: opaque to clients, exact for the database. */
static void cursor_encode(const char *ts, const char *id, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	char raw[160];
	size_t n = (size_t)snprintf(raw, sizeof raw, "%s|%s", ts, id), k = 0;
	for (size_t i = 0; i < n && k + 2 < outlen; i++) {
		out[k++] = hex[(unsigned char)raw[i] >> 4];
		out[k++] = hex[(unsigned char)raw[i] & 15];
	}
	out[k] = '\0';
}

static bool cursor_decode(const char *s, char *ts, size_t tslen, char *id, size_t idlen)
{
	char raw[160];
	size_t n = strlen(s);
	if (n == 0 || n % 2 != 0 || n / 2 >= sizeof raw)
		return false;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return false;
		raw[i] = (char)v;
	}
	raw[n / 2] = '\0';
	char *bar = strchr(raw, '|');
	long long ms;
	if (bar == NULL || strchr(raw, '\0') != raw + n / 2)
		return false;
	*bar = '\0';
	if (!time_parse_rfc3339(raw, &ms) || fields_kind_of_id(bar + 1) == NULL)
		return false;
	snprintf(ts, tslen, "%s", raw);
	snprintf(id, idlen, "%s", bar + 1);
	return true;
}

static enum tr_code bad_param(struct tr_error *err, const char *name, const char *expected)
{
	return tr_error_set(err, TR_E_BAD_PARAMETER, name, "query parameter '%s' must be %s", name,
			    expected);
}

enum tr_code records_list(struct rec_ctx *c, const char *kind, const struct rec_query *q,
			  struct rec_reply *out, struct tr_error *err)
{
	struct store_record_filter f = {.kind = kind,
					.state = q->state,
					.type = q->type,
					.service = q->service,
					.requester = q->requester,
					.environment = q->environment,
					.limit = 50};
	char ts[64], id[32], next[400];
	long long ms;

	if (q->limit != NULL) {
		char *end;
		long v = strtol(q->limit, &end, 10);
		if (*q->limit == '\0' || *end != '\0' || v < 1 || v > 200)
			return bad_param(err, "limit", "a whole number from 1 to 200");
		f.limit = (int)v;
	}
	if (q->updated_since != NULL) {
		if (!time_parse_rfc3339(q->updated_since, &ms))
			return bad_param(err, "updated_since", "an RFC 3339 date-time");
		f.updated_since = q->updated_since;
	}
	if (q->next != NULL) {
		if (!cursor_decode(q->next, ts, sizeof ts, id, sizeof id))
			return bad_param(err, "next", "a cursor from a previous page");
		f.after_ts = ts;
		f.after_id = id;
	}
	json_t *rows;
	enum db_status s = store_record_list(c->st, &f, &rows);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	json_t *items = json_array();
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) {
		json_t *rec = json_object_get(row, "record");
		json_object_set(rec, "version", json_object_get(row, "version"));
		json_array_append(items, rec);
	}
	json_t *last = json_array_get(rows, json_array_size(rows) - 1);
	bool more = json_array_size(rows) == (size_t)f.limit;
	if (more)
		cursor_encode(
			json_string_value(json_object_get(last, "cursor_ts")),
			json_string_value(json_object_get(json_object_get(last, "record"), "id")),
			next, sizeof next);
	json_decref(rows);
	out->body = json_pack("{s:o, s:s?}", "items", items, "next", more ? next : NULL);
	out->status = 200;
	return out->body ? TR_OK : TR_E_NOMEM;
}

/* ---- timers ----------------------------------------------------------------------------- */

/* How long a timer of a workflow not loaded here waits before it is looked at again. */
enum { TIMER_DEFER_MS = 60 * 1000 };

static enum db_status timer_tx(struct store *st, void *cls)
{
	struct rec_job *j = cls;
	char id[32], state[128], event[128];
	struct store_record r = {0};
	struct wf_outcome o = {0};
	const struct wf *wf;

	rec_reply_clear(j->out);
	j->fired = false;
	enum db_status s = store_timer_claim(st, j->c->now_ms, id, state, event);
	if (s != DB_ONE)
		return s;
	j->fired = true;
	j->id = id;
	j->event = event;
	j->kind = fields_kind_of_id(id);
	if (j->kind == NULL)
		return DB_ONE; /* not ours to fire: dropped */
	s = rec_load_locked(j, &r, &wf);
	if (s == DB_HARD && j->code == TR_E_CONFLICT && r.workflow[0] != '\0') {
		/*
		 * The record follows a workflow this process has not loaded (a replica with
		 * other workflows, or a reload in progress): leave the timer for whoever knows
		 * it, and look again later rather than dropping it or blocking the others.
		 */
		LOG_WARN("event=timer_deferred record=%s workflow=%s event_name=%s", id, r.workflow,
			 event);
		store_record_clear(&r);
		j->code = TR_OK;
		j->fired = false;
		return store_timer_arm(st, id, state, event, j->c->now_ms + TIMER_DEFER_MS);
	}
	if (s < 0 || strcmp(r.state, state) != 0) {
		/* The record moved on, or vanished: the timer is void.  Keep the claim. */
		store_record_clear(&r);
		j->code = TR_OK;
		return s == DB_DOWN || s == DB_SOFT ? s : DB_ONE;
	}
	if ((s = rec_load_policy_inputs(j, wf, r.data)) < 0) {
		store_record_clear(&r);
		return s;
	}
	struct wf_ctx ctx;
	rec_engine_ctx(j, &r, &ctx);
	enum wf_status ws = wf_fire(wf, &ctx, event, &o);
	if (ws == WF_OK)
		s = rec_persist(j, &r, &o, false, NULL, NULL);
	wf_outcome_clear(&o);
	store_record_clear(&r);
	return s;
}

enum tr_code records_fire_due_timer(struct rec_ctx *c, bool *fired, struct tr_error *err)
{
	struct rec_reply out = {0};
	struct rec_job j = {.c = c, .out = &out, .err = err};
	enum tr_code rc = rec_run(&j, timer_tx);
	*fired = j.fired;
	rec_reply_clear(&out);
	return rc;
}
