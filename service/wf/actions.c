/*
 * actions.c -- the registry of workflow actions: one static table, one row per action.
 *
 * Workflows name actions ({"action": "note", "text": "..."}); the loader checks the name
 * and parameters against this table, the engine calls the row's apply function.  The
 * generic actions live here.  `assess_risk` and `request_approvals` are declared with a
 * placeholder that does nothing: the policy module provides the real functions, bound to
 * a loaded set with wf_set_bind_actions() (see wf_action.h).
 */
#include <stdio.h>
#include <string.h>

#include "wf/wf_int.h"

static int oom(struct wf_act *act)
{
	snprintf(act->err, sizeof act->err, "out of memory");
	return -1;
}

int wf_act_effect(struct wf_act *act, json_t *effect)
{
	if (effect == NULL)
		return oom(act);
	if (json_object_get(effect, "state") == NULL && act->state != NULL &&
	    json_object_set_new(effect, "state", json_string(act->state)) != 0) {
		json_decref(effect);
		return oom(act);
	}
	if (json_array_append_new(act->effects, effect) != 0)
		return oom(act);
	return 0;
}

int wf_act_note(struct wf_act *act, const char *text)
{
	json_t *e =
		json_pack("{s:s, s:s, s:s?}", "type", "note", "text", text, "author", act->actor);
	return wf_act_effect(act, e);
}

static const char *param_str(const struct wf_act *act, const char *name)
{
	return json_string_value(json_object_get(act->params, name));
}

/* ---- generic actions ---- */

/* set_field: record[field] = value (a JSON literal). */
static int act_set_field(struct wf_act *act)
{
	const char *field = param_str(act, "field");
	/* a copy: the record must never share nodes with the immutable definition */
	json_t *value = json_deep_copy(json_object_get(act->params, "value"));

	if (value == NULL || json_object_set_new(act->record, field, value) != 0)
		return oom(act);
	return 0;
}

/* note: a journal entry. */
static int act_note(struct wf_act *act)
{
	return wf_act_note(act, param_str(act, "text"));
}

/* emit: an outbox event for later delivery. */
static int act_emit(struct wf_act *act)
{
	json_t *data = json_object_get(act->params, "data");
	json_t *d = data != NULL ? json_deep_copy(data) : json_object();
	json_t *e =
		json_pack("{s:s, s:s, s:O?, s:s}", "type", "emit", "event", param_str(act, "event"),
			  "record", json_object_get(act->record, "id"), "kind", act->kind);

	if (d == NULL || e == NULL || json_object_set_new(e, "data", d) != 0) {
		json_decref(e);
		if (e == NULL)
			json_decref(d);
		return oom(act);
	}
	return wf_act_effect(act, e);
}

/* open_review: review = {"required": true, "reason": reason}, keeping other members. */
static int act_open_review(struct wf_act *act)
{
	json_t *review = json_object_get(act->record, "review");
	json_t *r = json_is_object(review) ? json_deep_copy(review) : json_object();

	if (r == NULL)
		return oom(act);
	if (json_object_set_new(r, "required", json_true()) != 0 ||
	    json_object_set_new(r, "reason", json_string(param_str(act, "reason"))) != 0 ||
	    json_object_set_new(act->record, "review", r) != 0)
		return oom(act);
	return 0;
}

/*
 * route_to_team: assignment_group = teams[service].  `from` names the field holding the
 * service (default "service"; for an array such as change.services the first entry).
 * Without a known team the record stays unassigned and a note says why.
 */
static int act_route_to_team(struct wf_act *act)
{
	const char *from = param_str(act, "from");
	json_t *svc = json_object_get(act->record, from != NULL ? from : "service");
	const char *team = NULL;
	char msg[200];

	if (json_is_array(svc))
		svc = json_array_get(svc, 0);
	if (!json_is_string(svc))
		return wf_act_note(act, "no service given; left unassigned");
	team = json_string_value(json_object_get(act->ctx->teams, json_string_value(svc)));
	if (team == NULL) {
		snprintf(msg, sizeof msg,
			 "no owning team known for service '%.120s'; left unassigned",
			 json_string_value(svc));
		return wf_act_note(act, msg);
	}
	if (json_object_set_new(act->record, "assignment_group", json_string(team)) != 0)
		return oom(act);
	return 0;
}

/*
 * `schedule`: asks for a slot.  Finding one needs the bookings of every replica, so the
 * engine only records the request as an effect
 *   {"type": "schedule", "respect_window": bool, "state": s}
 * and the records layer books the slot in the same transaction (see records/schedule.c).
 */
static int act_schedule(struct wf_act *act)
{
	json_t *rw = json_object_get(act->params, "respect_window");
	return wf_act_effect(act, json_pack("{s:s, s:b}", "type", "schedule", "respect_window",
					    rw == NULL || json_is_true(rw)));
}

/*
 * An action implemented by a higher module (assess_risk, request_approvals): nothing
 * until wf_set_bind_actions() binds the module's function, as when that module has no
 * definitions to apply.
 */
static int act_provided(struct wf_act *act)
{
	(void)act;
	return 0;
}

/* ---- the table ---- */

static const struct wf_param p_set_field[] = {
	{"field", WF_PARAM_FIELD, true}, {"value", WF_PARAM_ANY, true}, {NULL, 0, false}};
static const struct wf_param p_note[] = {{"text", WF_PARAM_STRING, true}, {NULL, 0, false}};
static const struct wf_param p_emit[] = {
	{"event", WF_PARAM_STRING, true}, {"data", WF_PARAM_OBJECT, false}, {NULL, 0, false}};
static const struct wf_param p_open_review[] = {{"reason", WF_PARAM_STRING, true},
						{NULL, 0, false}};
static const struct wf_param p_route[] = {{"from", WF_PARAM_FIELD, false}, {NULL, 0, false}};
static const struct wf_param p_assess_risk[] = {{NULL, 0, false}};
static const struct wf_param p_request_approvals[] = {{"board", WF_PARAM_STRING, false},
						      {NULL, 0, false}};
static const struct wf_param p_schedule[] = {{"respect_window", WF_PARAM_BOOL, false},
					     {NULL, 0, false}};

static const struct wf_action_def actions[] = {
	{"set_field", p_set_field, act_set_field, "sets a record field to a JSON value"},
	{"note", p_note, act_note, "adds a note to the record's journal"},
	{"emit", p_emit, act_emit, "writes an event to the outbox for later delivery"},
	{"open_review", p_open_review, act_open_review,
	 "requires a post-implementation review: review.required=true and the reason"},
	{"route_to_team", p_route, act_route_to_team,
	 "sets assignment_group to the team owning the record's service"},
	/* the policy module's (policy_wf_actions), bound by wf_set_bind_actions() */
	{"assess_risk", p_assess_risk, act_provided,
	 "scores the change with policies/risk.json and publishes risk.*"},
	{"request_approvals", p_request_approvals, act_provided,
	 "asks the groups policies/approvals.json requires and publishes approvals.*"},
	{"schedule", p_schedule, act_schedule,
	 "books the earliest conflict-free slot in the change's maintenance windows "
	 "(respect_window false: the earliest free slot, for emergencies)"},
};

#define N_ACTIONS (sizeof actions / sizeof actions[0])

const struct wf_action_def *wf_action_find(const char *name)
{
	for (size_t i = 0; name != NULL && i < N_ACTIONS; i++)
		if (strcmp(actions[i].name, name) == 0)
			return &actions[i];
	return NULL;
}

size_t wf_action_count(void)
{
	return N_ACTIONS;
}

const struct wf_action_def *wf_action_at(size_t i)
{
	return i < N_ACTIONS ? &actions[i] : NULL;
}

/* ---- load-time checks ---- */

static const char *type_word(enum wf_param_type t)
{
	switch (t) {
	case WF_PARAM_STRING:
		return "a non-empty string";
	case WF_PARAM_BOOL:
		return "a boolean";
	case WF_PARAM_OBJECT:
		return "an object";
	case WF_PARAM_FIELD:
		return "a field name";
	case WF_PARAM_ANY:
		break;
	}
	return "a value";
}

static void check_param(const struct wf_param *p, json_t *v, enum wf_kind_id kind, const char *file,
			const char *path, const char *action, struct diags *d)
{
	char sub[300];
	bool ok = true;

	wf_pathf(sub, sizeof sub, "%s.%s", path, p->name);
	switch (p->type) {
	case WF_PARAM_STRING:
	case WF_PARAM_FIELD:
		ok = json_is_string(v) && json_string_length(v) > 0;
		break;
	case WF_PARAM_BOOL:
		ok = json_is_boolean(v);
		break;
	case WF_PARAM_OBJECT:
		ok = json_is_object(v);
		break;
	case WF_PARAM_ANY:
		break;
	}
	if (!ok) {
		diags_add(d, file, sub, 0, "expected %s", type_word(p->type));
		return;
	}
	if (p->type != WF_PARAM_FIELD)
		return;
	const char *f = json_string_value(v);
	if (!wf_field_of_kind(kind, f))
		diags_add(d, file, sub, 0, "unknown %s field '%s'", wf_kind_name(kind), f);
	else if (wf_field_protected(f) && strcmp(action, "set_field") == 0)
		diags_add(d, file, sub, 0, "field '%s' is set only by transom", f);
}

const struct wf_action_def *wf_action_check(json_t *obj, enum wf_kind_id kind, const char *file,
					    const char *path, struct diags *d)
{
	char sub[300];
	const char *key;
	json_t *v;

	if (!json_is_object(obj)) {
		diags_add(d, file, path, 0, "expected an object");
		return NULL;
	}
	json_t *name = json_object_get(obj, "action");
	wf_pathf(sub, sizeof sub, "%s.action", path);
	if (name == NULL) {
		diags_add(d, file, path, 0, "missing key 'action'");
		return NULL;
	}
	if (!json_is_string(name)) {
		diags_add(d, file, sub, 0, "expected a string");
		return NULL;
	}
	const struct wf_action_def *def = wf_action_find(json_string_value(name));
	if (def == NULL) {
		diags_add(d, file, sub, 0, "unknown action '%s'", json_string_value(name));
		return NULL;
	}
	size_t before = d->n;
	for (const struct wf_param *p = def->params; p->name != NULL; p++) {
		v = json_object_get(obj, p->name);
		if (v == NULL) {
			if (p->required)
				diags_add(d, file, path, 0, "action '%s' needs parameter '%s'",
					  def->name, p->name);
			continue;
		}
		check_param(p, v, kind, file, path, def->name, d);
	}
	json_object_foreach(obj, key, v) {
		bool found = strcmp(key, "action") == 0;
		for (const struct wf_param *p = def->params; !found && p->name != NULL; p++)
			found = strcmp(p->name, key) == 0;
		if (!found)
			diags_add(d, file, path, 0, "action '%s' has no parameter '%s'", def->name,
				  key);
	}
	return d->n == before && !d->oom ? def : NULL;
}
