/*
 * fields.c -- record kinds, their fields, roles, and the expression paths workflows read.
 *
 * The `known` callback vets paths when a workflow is loaded; wf_env_get() resolves them
 * when a guard or timer is evaluated.  Keep the lists in step with workflows/README.md.
 */
#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"
#include "wf/wf_int.h"

/* ---- roles ---- */

static const struct {
	const char *name;
	unsigned bit;
} roles[] = {
	{"requester", WF_ROLE_REQUESTER},
	{"cab", WF_ROLE_CAB},
	{"change_manager", WF_ROLE_CHANGE_MANAGER},
	{"pipeline", WF_ROLE_PIPELINE},
	{"admin", WF_ROLE_ADMIN},
	{"system", WF_ROLE_SYSTEM},
};

unsigned wf_role_parse(const char *name)
{
	if (name == NULL)
		return 0;
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
		if (strcmp(roles[i].name, name) == 0)
			return roles[i].bit;
	return 0;
}

const char *wf_role_name(unsigned role)
{
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
		if (roles[i].bit == role)
			return roles[i].name;
	return NULL;
}

/* ---- kinds and fields ---- */

static const char *const kind_names[WF_KIND_COUNT_] = {"change", "incident", "problem"};

/* Fields every record has; the first six are written only by Transom. */
#define COMMON_FIELDS                                                                              \
	"id", "kind", "state", "workflow", "created_at", "updated_at", "review", "assignment_group"

static const char *const change_fields[] = {COMMON_FIELDS,
					    "title",
					    "description",
					    "type",
					    "services",
					    "duration",
					    "not_before",
					    "not_after",
					    "implementation_plan",
					    "rollback_plan",
					    "test_evidence",
					    "requester",
					    "template",
					    "result",
					    "schedule",
					    "review_outcome",
					    "review_findings",
					    "follow_up_actions",
					    "environment",
					    "started_at",
					    "fixes_incident",
					    NULL};

static const char *const incident_fields[] = {
	COMMON_FIELDS, "title",     "description", "service",   "priority",
	"caused_by",   "requester", "resolution",  "escalated", NULL};

static const char *const problem_fields[] = {COMMON_FIELDS, "title",      "description",
					     "incidents",   "fix_change", "root_cause",
					     "workaround",  "requester",  NULL};

static const char *const *const kind_fields[WF_KIND_COUNT_] = {change_fields, incident_fields,
							       problem_fields};

static const char *const protected_fields[] = {"id",         "kind",       "state", "workflow",
					       "created_at", "updated_at", NULL};

/* Object-valued fields: expression paths may go below them (review.required). */
static const char *const object_fields[] = {"review", "schedule", NULL};

static bool in_list(const char *const *list, const char *s, size_t n)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strlen(list[i]) == n && strncmp(list[i], s, n) == 0)
			return true;
	return false;
}

const char *wf_kind_name(enum wf_kind_id k)
{
	return (unsigned)k < WF_KIND_COUNT_ ? kind_names[k] : "?";
}

int wf_kind_parse(const char *s)
{
	for (int k = 0; s != NULL && k < WF_KIND_COUNT_; k++)
		if (strcmp(kind_names[k], s) == 0)
			return k;
	return -1;
}

bool wf_kind_valid(const char *kind)
{
	return wf_kind_parse(kind) >= 0;
}

const char *const *wf_kind_fields(const char *kind)
{
	int k = wf_kind_parse(kind);
	return k < 0 ? NULL : kind_fields[k];
}

bool wf_field_protected(const char *field)
{
	return field != NULL && in_list(protected_fields, field, strlen(field));
}

bool wf_field_of_kind(enum wf_kind_id k, const char *field)
{
	return (unsigned)k < WF_KIND_COUNT_ && in_list(kind_fields[k], field, strlen(field));
}

/* ---- expression paths ---- */

static const char *const risk_paths[] = {"level", "score", NULL};
static const char *const approvals_paths[] = {"satisfied", "rejected", "break_glass", NULL};
static const char *const window_paths[] = {"open", "start", "end", NULL};
static const char *const history_paths[] = {"failure_rate", "changes", "incidents_caused", NULL};
static const char *const actor_paths[] = {"name", "roles", NULL};
static const char *const event_paths[] = {"name", "comment", NULL};
static const char *const state_paths[] = {"name", "entered_at", NULL};

/* Whether `rest` ("type" or "review.required") is a record path of kind `k`. */
static bool record_path_known(enum wf_kind_id k, const char *rest)
{
	const char *dot = strchr(rest, '.');
	size_t n = dot != NULL ? (size_t)(dot - rest) : strlen(rest);

	if (n == 0 || !in_list(kind_fields[k], rest, n))
		return false;
	if (dot == NULL)
		return true;
	/* below an object field: any non-empty segments */
	if (!in_list(object_fields, rest, n))
		return false;
	for (const char *p = dot; *p != '\0'; p++)
		if (*p == '.' && (p[1] == '.' || p[1] == '\0'))
			return false;
	return true;
}

/* Splits "prefix.rest": returns rest when path starts with prefix + '.', else NULL. */
static const char *after_prefix(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(path, prefix, n) == 0 && path[n] == '.')
		return path + n + 1;
	return NULL;
}

static bool known_for(enum wf_kind_id k, const char *path)
{
	const char *rest;

	if (strcmp(path, "now") == 0)
		return true;
	if ((rest = after_prefix(path, kind_names[k])) != NULL ||
	    (rest = after_prefix(path, "record")) != NULL)
		return record_path_known(k, rest);
	if ((rest = after_prefix(path, "actor")) != NULL)
		return in_list(actor_paths, rest, strlen(rest));
	if ((rest = after_prefix(path, "event")) != NULL)
		return in_list(event_paths, rest, strlen(rest));
	if ((rest = after_prefix(path, "state")) != NULL)
		return in_list(state_paths, rest, strlen(rest));
	if (k != WF_KIND_CHANGE)
		return false;
	if ((rest = after_prefix(path, "risk")) != NULL)
		return in_list(risk_paths, rest, strlen(rest));
	if ((rest = after_prefix(path, "approvals")) != NULL)
		return in_list(approvals_paths, rest, strlen(rest));
	if ((rest = after_prefix(path, "history")) != NULL)
		return in_list(history_paths, rest, strlen(rest));
	if ((rest = after_prefix(path, "window")) != NULL)
		return in_list(window_paths, rest, strlen(rest));
	return false;
}

bool wf_expr_field_known(void *cls, const char *path)
{
	int k = wf_kind_parse((const char *)cls);
	return k >= 0 && path != NULL && known_for((enum wf_kind_id)k, path);
}

/* ---- evaluation ---- */

/* Keeps `v` (stolen) alive for the evaluation and returns it borrowed. */
static json_t *keep(struct wf_env *env, json_t *v)
{
	if (v == NULL || json_array_append_new(env->scratch, v) != 0) {
		env->oom = true;
		return NULL;
	}
	return v;
}

bool wf_schedule_booked(const json_t *schedule, long long *start_ms, long long *end_ms)
{
	const char *status = json_string_value(json_object_get(schedule, "status"));
	return status != NULL && strcmp(status, "booked") == 0 &&
	       time_parse_rfc3339(json_string_value(json_object_get(schedule, "start")) ?: "",
				  start_ms) &&
	       time_parse_rfc3339(json_string_value(json_object_get(schedule, "end")) ?: "",
				  end_ms);
}

/*
 * window.open / .start / .end of a change, read off record.schedule and `now` (pure):
 * null without a schedule (its workflow books none); for a booked slot its bounds in
 * seconds and whether now lies inside [start, end); otherwise (unscheduled, proposed,
 * released) open is false and the bounds null.
 */
static json_t *window_get(struct wf_env *env, const char *what)
{
	json_t *sched = json_object_get(env->record, "schedule");
	if (env->kind != WF_KIND_CHANGE || !json_is_object(sched))
		return NULL;
	long long start = 0, end = 0;
	bool booked = wf_schedule_booked(sched, &start, &end);
	/* `now` has whole seconds: the bounds widen to them (start down, end up), so a
	 * start the gate allows in milliseconds is never refused here. */
	long long s = start / 1000, e = (end + 999) / 1000;
	if (strcmp(what, "open") == 0)
		return keep(env, json_boolean(booked && s <= env->now && env->now < e));
	if (!booked)
		return NULL;
	return keep(env, json_integer(strcmp(what, "start") == 0 ? s : e));
}

/* expr_field_get_fn over a `struct wf_env`. */
static json_t *wf_env_get(void *cls, const char *path)
{
	struct wf_env *env = cls;
	const char *rest;

	if (strcmp(path, "now") == 0)
		return keep(env, json_integer(env->now));
	if ((rest = after_prefix(path, wf_kind_name(env->kind))) != NULL ||
	    (rest = after_prefix(path, "record")) != NULL)
		return expr_path_walk(env->record, rest);
	if ((rest = after_prefix(path, "risk")) != NULL)
		return expr_path_walk(env->risk, rest);
	if ((rest = after_prefix(path, "approvals")) != NULL)
		return expr_path_walk(env->approvals, rest);
	if ((rest = after_prefix(path, "history")) != NULL)
		return expr_path_walk(env->history, rest);
	if ((rest = after_prefix(path, "window")) != NULL)
		return window_get(env, rest);
	if (strcmp(path, "actor.name") == 0)
		return keep(env, json_string(env->actor != NULL ? env->actor : "system"));
	if (strcmp(path, "actor.roles") == 0) {
		json_t *a = keep(env, json_array());
		for (size_t i = 0; a != NULL && i < sizeof roles / sizeof roles[0]; i++)
			if ((env->roles & roles[i].bit) != 0 &&
			    json_array_append_new(a, json_string(roles[i].name)) != 0)
				env->oom = true;
		return a;
	}
	if (strcmp(path, "event.name") == 0)
		return env->event != NULL ? keep(env, json_string(env->event)) : NULL;
	if (strcmp(path, "event.comment") == 0)
		return env->comment != NULL ? keep(env, json_string(env->comment)) : NULL;
	if (strcmp(path, "state.name") == 0)
		return env->state != NULL ? keep(env, json_string(env->state)) : NULL;
	if (strcmp(path, "state.entered_at") == 0)
		return env->entered_at != 0 ? keep(env, json_integer(env->entered_at)) : NULL;
	return NULL;
}

static int eval_prepare(struct wf_env *env)
{
	env->oom = false;
	if (env->scratch == NULL)
		env->scratch = json_array();
	return env->scratch != NULL ? 0 : -2;
}

int wf_env_eval_bool(struct wf_env *env, const struct expr *e, bool *out, struct expr_error *err)
{
	if (eval_prepare(env) != 0)
		return -2;
	bool ok = expr_eval_bool(e, wf_env_get, env, out, err);
	json_array_clear(env->scratch);
	if (env->oom)
		return -2;
	return ok ? 0 : -1;
}

int wf_env_eval(struct wf_env *env, const struct expr *e, json_t **out, struct expr_error *err)
{
	if (eval_prepare(env) != 0)
		return -2;
	*out = NULL;
	bool ok = expr_eval(e, wf_env_get, env, out, err);
	json_array_clear(env->scratch);
	if (env->oom) {
		json_decref(*out);
		*out = NULL;
		return -2;
	}
	return ok ? 0 : -1;
}

/* ---- what the checks read ---- */

struct members_walk {
	const char *kind;
	void (*fn)(void *cls, const char *member, size_t len);
	void *cls;
};

/* The record member a guard's field `path` reads, to w->fn. */
static void guard_member(void *cls, const char *path)
{
	const struct members_walk *w = cls;
	const char *rest;
	if ((rest = after_prefix(path, w->kind)) != NULL ||
	    (rest = after_prefix(path, "record")) != NULL)
		w->fn(w->cls, rest, strcspn(rest, "."));
	else if (after_prefix(path, "risk") != NULL)
		w->fn(w->cls, "risk", 4);
	else if (after_prefix(path, "approvals") != NULL)
		w->fn(w->cls, "approvals", 9);
	else if (after_prefix(path, "window") != NULL)
		w->fn(w->cls, "schedule", 8);
}

void wf_check_members(const struct wf *wf, const char *state, unsigned actor_roles,
		      void (*fn)(void *cls, const char *member, size_t len), void *cls)
{
	struct members_walk w = {wf_kind_name(wf->kind), fn, cls};
	size_t s = wf_state_find(wf, state);
	for (size_t i = 0; s < wf->n_states && i < wf->n_trans; i++) {
		const struct wf_transition *t = &wf->trans[i];
		bool from = false;
		for (size_t k = 0; !from && k < t->n_from; k++)
			from = t->from[k] == s;
		if (!from || (t->roles & actor_roles) == 0)
			continue;
		for (size_t k = 0; t->required[k] != NULL; k++)
			fn(cls, t->required[k], strlen(t->required[k]));
		if (t->when != NULL)
			expr_fields_foreach(t->when, guard_member, &w);
	}
}
