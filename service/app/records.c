/*
 * records.c -- the record writes behind records.h: create, edit, fire an event, fire a
 * due timer, with the checks of their input and Idempotency-Key replays.  The steps they
 * share are in records_tx.c, the reads in records_view.c.
 *
 * Every write follows one shape: in a transaction, lock (or create) the row, ask the
 * engine what happens (pure), then rec_persist() the outcome: row, links, effects, audit
 * events and the live notification.  A refusal decided inside the transaction is
 * carried out as `job.code` and rolls everything back.
 */
#include "app/records_int.h"

#include <assert.h>
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
_Static_assert(REC_ROLE_SYSTEM == (unsigned)WF_ROLE_SYSTEM, "the system role is the engine's");

void rec_reply_clear(struct rec_reply *r)
{
	bool as_text = r->as_text;
	json_decref(r->body);
	json_decref(r->extra);
	free(r->raw_body);
	memset(r, 0, sizeof *r);
	r->as_text = as_text;
}

/* ---- checks ----------------------------------------------------------------------------- */

bool rec_versions_match(const struct rec_versions *want, int version)
{
	for (size_t i = 0; i < want->n; i++)
		if (want->v[i] == version)
			return true;
	return want->any;
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
	/* Stored as idem_finish writes them; keys of before that kept the HTTP reply (201,
	 * "\"7\"", "/v1/changes/CHG-1") read the same. */
	const char *name = strrchr(prev.location, '/');
	j->out->outcome = prev.status == REC_CREATED || prev.status == 201 ? REC_CREATED : REC_DONE;
	j->out->raw_body = prev.body;
	j->out->version = atoi(prev.etag + strspn(prev.etag, "\""));
	if (prev.location[0] != '\0') {
		snprintf(j->out->kind, sizeof j->out->kind, "%s", j->kind);
		snprintf(j->out->id, sizeof j->out->id, "%.31s", name ? name + 1 : prev.location);
	}
	return DB_NONE;
}

/* Stores the reply for the claimed key, in the same transaction. */
static enum db_status idem_finish(struct rec_job *j)
{
	struct rec_ctx *c = j->c;
	if (c->idem_key == NULL)
		return DB_ONE;
	assert(!j->reply_pending); /* rec_represent_written made the body whole */
	char *text = json_dumps(j->out->body, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (text == NULL)
		return DB_HARD;
	char version[16];
	snprintf(version, sizeof version, "%d", j->out->version);
	enum db_status s = store_idem_finish(c->st, c->actor, c->idem_key, (int)j->out->outcome,
					     j->out->id, version, text);
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
		j->out->outcome = REC_CREATED;
		snprintf(j->out->kind, sizeof j->out->kind, "%s", j->kind);
		snprintf(j->out->id, sizeof j->out->id, "%s", r.id);
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
	return s;
}

enum tr_code records_patch(struct rec_ctx *c, const char *kind, const char *id,
			   const struct rec_versions *expect, json_t *patch, struct rec_reply *out,
			   struct tr_error *err)
{
	if (expect == NULL)
		return tr_error_set(err, TR_E_PRECONDITION_REQUIRED, "version",
				    "an edit names the version it was made on");
	enum tr_code rc = fields_check(kind, patch, false, err);
	if (rc != TR_OK)
		return rc;
	if (json_object_size(patch) == 0)
		return tr_error_set(err, TR_E_UNPROCESSABLE, NULL, "the patch changes nothing");
	struct rec_job j = {.c = c,
			    .kind = kind,
			    .id = id,
			    .expect = expect,
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
	bool yes = rec_list_has(mine, event);
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
	if (s >= 0)
		s = idem_finish(j);
	return s;
}

enum tr_code records_transition(struct rec_ctx *c, const char *kind, const char *id,
				const char *event, const char *comment,
				const struct rec_versions *expect, struct rec_reply *out,
				struct tr_error *err)
{
	struct rec_job j = {.c = c,
			    .kind = kind,
			    .id = id,
			    .event = event,
			    .comment = comment,
			    .expect = expect,
			    .out = out,
			    .err = err};
	/* A change's submit decides (risk, approvals, the slot): not on a transport thread */
	if (c->short_only && strcmp(kind, "change") == 0 && strcmp(event, "submit") == 0)
		return tr_error_set(err, TR_E_DEFERRED, NULL, "a submit is left to a worker");
	return rec_run(&j, transition_tx);
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
	if (j->instances == NULL && strcmp(j->kind, "change") == 0) {
		/* The change may be planned: roll back, expand the calendars, claim again. */
		store_record_clear(&r);
		j->fired = false;
		j->wants_calendar = true;
		return rec_refuse(j, TR_E_CONFLICT);
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
	struct rec_job j = {.c = c, .out = &out, .err = err, .no_reply = true};
	enum tr_code rc = rec_run(&j, timer_tx);
	if (j.wants_calendar) {
		struct cal_instances *all = rec_calendar(c);
		struct rec_job again = {
			.c = c, .out = &out, .err = err, .instances = all, .no_reply = true};
		rc = all != NULL ? rec_run(&again, timer_tx)
				 : tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
		j.fired = again.fired;
		rec_calendar_free(all);
	}
	*fired = j.fired;
	rec_reply_clear(&out);
	return rc;
}
