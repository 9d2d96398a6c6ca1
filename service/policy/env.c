/*
 * env.c -- what policy expressions read: the known field paths of each context, the
 * fields derived from a change (duration, business hours, services, requester), the
 * smoothed history, and the lookup callback.
 *
 * Derived fields are computed once per computation into a flat object (path -> value);
 * change.* and risk.* paths are read from the borrowed records.  Keep the lists in step
 * with policies/README.md ("Expression fields").
 */
#include <limits.h>
#include <string.h>

#include "core/timeutil.h"
#include "policy/policy_int.h"

/* ---- known fields --------------------------------------------------------------------- */

static const char *const change_derived[] = {"change.duration_seconds", "change.in_business_hours",
					     NULL};
static const char *const services_paths[] = {
	"services.max_criticality", "services.max_criticality_rank",
	"services.count",           "services.teams",
	"services.unknown",         NULL};
static const char *const history_paths[] = {"history.failure_rate",
					    "history.changes",
					    "history.failures",
					    "history.incidents_caused",
					    "history.service",
					    "history.template.failure_rate",
					    "history.template.changes",
					    "history.template.failures",
					    "history.template.incidents_caused",
					    "history.team.failure_rate",
					    "history.team.changes",
					    "history.team.failures",
					    "history.team.incidents_caused",
					    NULL};
static const char *const requester_paths[] = {"requester.name", "requester.team",
					      "requester.groups", "requester.known", NULL};
static const char *const risk_paths[] = {"risk.score", "risk.level", NULL};

static bool listed(const char *const *list, const char *path)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], path) == 0)
			return true;
	return false;
}

bool policy_expr_field_known(void *cls, const char *path)
{
	const char *ctx = cls;
	bool risk = ctx != NULL && strcmp(ctx, "risk") == 0;
	bool approvals = ctx != NULL && strcmp(ctx, "approvals") == 0;
	bool templates = ctx != NULL && strcmp(ctx, "templates") == 0;
	bool break_glass = ctx != NULL && strcmp(ctx, "break_glass") == 0;

	if (path == NULL || !(risk || approvals || templates || break_glass))
		return false;
	if (listed(change_derived, path) || listed(requester_paths, path))
		return true;
	if (strncmp(path, "change.", 7) == 0)
		return wf_expr_field_known((void *)"change", path);
	if (listed(services_paths, path))
		return risk || approvals;
	if (listed(history_paths, path))
		return risk || approvals || templates;
	if (listed(risk_paths, path))
		return approvals;
	return false;
}

/* ---- history -------------------------------------------------------------------------- */

double policy_failure_rate(const struct policy_set *set, long failures, long changes)
{
	double a = set->risk->prior_failures, b = set->risk->prior_successes;

	if (changes < 0)
		changes = 0;
	if (failures < 0)
		failures = 0;
	if (failures > changes)
		failures = changes;
	if ((double)changes + a + b <= 0)
		return 0;
	return ((double)failures + a) / ((double)changes + a + b);
}

long long policy_history_window(const struct policy_set *set)
{
	return set->risk->window;
}

/* A non-negative count from counts[key]; anything else is 0. */
static long count_of(json_t *counts, const char *key)
{
	json_t *v = json_object_get(counts, key);
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;

	if (n < 0)
		return 0;
	return n > LONG_MAX ? LONG_MAX : (long)n;
}

/* {failure_rate, changes, failures, incidents_caused} of raw `counts` (may be NULL). */
static json_t *subject(const struct policy_set *set, json_t *counts)
{
	long changes = count_of(counts, "changes"), failures = count_of(counts, "failures");

	if (failures > changes)
		failures = changes;
	return json_pack("{s:f, s:I, s:I, s:I}", "failure_rate",
			 policy_failure_rate(set, failures, changes), "changes",
			 (json_int_t)changes, "failures", (json_int_t)failures, "incidents_caused",
			 (json_int_t)count_of(counts, "incidents_caused"));
}

/* The requester's user, resolved; NULL when unknown. */
static const struct policy_user *requester_of(const struct policy_set *set, json_t *change)
{
	return policy_user_resolve(set, json_string_value(json_object_get(change, "requester")));
}

/* policy_history_summary, with the template to describe chosen by the caller. */
static json_t *summary(const struct policy_set *set, json_t *change, json_t *history,
		       const char *template_id)
{
	json_t *services = json_object_get(change, "services");
	json_t *by_service = json_object_get(history, "services");
	size_t n = json_is_array(services) ? json_array_size(services) : 1;
	json_t *worst = NULL;
	const char *worst_name = NULL;

	for (size_t i = 0; i < n; i++) {
		const char *name = json_string_value(
			json_is_array(services) ? json_array_get(services, i) : services);
		if (name == NULL)
			continue;
		json_t *s = subject(set, json_object_get(by_service, name));
		if (s == NULL) {
			json_decref(worst);
			return NULL;
		}
		double r = json_real_value(json_object_get(s, "failure_rate"));
		if (worst == NULL || r > json_real_value(json_object_get(worst, "failure_rate"))) {
			json_decref(worst);
			worst = s;
			worst_name = name;
		} else {
			json_decref(s);
		}
	}
	if (worst == NULL && (worst = subject(set, NULL)) == NULL)
		return NULL;
	if (json_object_set_new(worst, "service",
				worst_name != NULL ? json_string(worst_name) : json_null()) != 0)
		goto nomem;

	json_t *tpl = json_null(), *team = json_null();
	if (template_id != NULL) {
		tpl = subject(set,
			      json_object_get(json_object_get(history, "templates"), template_id));
		if (tpl == NULL || json_object_set_new(tpl, "id", json_string(template_id)) != 0) {
			json_decref(tpl);
			goto nomem;
		}
	}
	if (json_object_set_new(worst, "template", tpl) != 0)
		goto nomem;
	const struct policy_user *u = requester_of(set, change);
	if (u != NULL && u->team != NULL) {
		team = subject(set, json_object_get(json_object_get(history, "teams"), u->team));
		if (team == NULL || json_object_set_new(team, "name", json_string(u->team)) != 0) {
			json_decref(team);
			goto nomem;
		}
	}
	if (json_object_set_new(worst, "team", team) != 0 ||
	    json_object_set_new(worst, "window", json_integer(set->risk->window)) != 0 ||
	    json_object_set_new(worst, "prior",
				json_pack("{s:f, s:f}", "failures", set->risk->prior_failures,
					  "successes", set->risk->prior_successes)) != 0)
		goto nomem;
	return worst;
nomem:
	json_decref(worst);
	return NULL;
}

json_t *policy_history_summary(const struct policy_set *set, json_t *change, json_t *history)
{
	return summary(set, change, history,
		       json_string_value(json_object_get(change, "template")));
}

/* ---- derived fields ------------------------------------------------------------------- */

/* Whether `ms` (epoch milliseconds) falls inside the business hours of `r`. */
static bool in_hours(const struct policy_risk *r, long long ms)
{
	long long local = ms / 1000 + r->utc_offset;
	long long days = local / 86400 - (local % 86400 < 0 ? 1 : 0);
	long long sod = local - days * 86400;
	int weekday = (int)(((days + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */

	return (r->days & (1u << weekday)) != 0 && sod >= r->start && sod < r->end;
}

/* Sets derived[path] = v (stolen); -1 on OOM. */
static int put(json_t *derived, const char *path, json_t *v)
{
	return v != NULL && json_object_set_new(derived, path, v) == 0 ? 0 : -1;
}

static int derive_change(struct policy_env *env)
{
	json_t *d = env->derived, *dur = json_object_get(env->change, "duration");
	const char *nb = json_string_value(json_object_get(env->change, "not_before"));
	long long secs = -1, ms = 0;
	json_t *hours = json_null();

	if (json_is_integer(dur) && json_integer_value(dur) >= 0)
		secs = json_integer_value(dur);
	else if (json_is_string(dur) && !time_parse_duration(json_string_value(dur), &secs))
		secs = -1;
	if (env->set->risk->has_hours && nb != NULL && time_parse_rfc3339(nb, &ms))
		hours = json_boolean(in_hours(env->set->risk, ms));
	if (put(d, "change.duration_seconds", secs >= 0 ? json_integer(secs) : json_null()) != 0 ||
	    put(d, "change.in_business_hours", hours) != 0)
		return -1;
	return 0;
}

static int derive_services(struct policy_env *env, const struct policy_catalog *cat)
{
	json_t *d = env->derived, *names = json_object_get(env->change, "services");
	json_t *teams = json_array(), *seen = json_object();
	long long count = 0;
	int rc = -1;

	if (cat == NULL) {
		json_decref(teams);
		json_decref(seen);
		for (size_t i = 0; services_paths[i] != NULL; i++)
			if (put(d, services_paths[i], json_null()) != 0)
				return -1;
		return 0;
	}
	if (teams == NULL || seen == NULL)
		goto out;
	size_t n = json_is_array(names) ? json_array_size(names) : 1;
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_is_array(names) ? json_array_get(names, i) : names;
		const struct catalog_service *s = catalog_find(cat, json_string_value(v));
		if (s == NULL || json_object_get(seen, s->name) != NULL)
			continue;
		count++;
		if (json_object_set_new(seen, s->name, json_true()) != 0)
			goto out;
		bool dup = false;
		for (size_t k = 0; !dup && k < json_array_size(teams); k++)
			dup = strcmp(json_string_value(json_array_get(teams, k)), s->team) == 0;
		if (!dup && json_array_append_new(teams, json_string(s->team)) != 0)
			goto out;
	}
	enum catalog_criticality max = catalog_max_criticality(cat, names);
	if (put(d, "services.max_criticality", json_string(catalog_criticality_name(max))) != 0 ||
	    put(d, "services.max_criticality_rank", json_integer((json_int_t)max)) != 0 ||
	    put(d, "services.count", json_integer(count)) != 0 ||
	    put(d, "services.teams", json_incref(teams)) != 0 ||
	    put(d, "services.unknown", catalog_unknown(cat, names)) != 0)
		goto out;
	rc = 0;
out:
	json_decref(teams);
	json_decref(seen);
	return rc;
}

static int derive_requester(struct policy_env *env)
{
	json_t *d = env->derived;
	const char *raw = json_string_value(json_object_get(env->change, "requester"));
	const struct policy_user *u = requester_of(env->set, env->change);
	const char *name = u != NULL ? u->name : raw;

	if (put(d, "requester.name", name != NULL ? json_string(name) : json_null()) != 0 ||
	    put(d, "requester.team",
		u != NULL && u->team != NULL ? json_string(u->team) : json_null()) != 0 ||
	    put(d, "requester.groups",
		u != NULL ? policy_user_groups(env->set, u->name) : json_array()) != 0 ||
	    put(d, "requester.known", json_boolean(u != NULL)) != 0)
		return -1;
	return 0;
}

/* Copies the history summary into derived "history.*" paths. */
static int derive_history(struct policy_env *env)
{
	static const char *const keys[] = {"failure_rate", "changes", "failures",
					   "incidents_caused", NULL};
	json_t *d = env->derived, *h = env->history;
	char path[64];

	if (put(d, "history.service", json_incref(json_object_get(h, "service"))) != 0)
		return -1;
	for (size_t i = 0; keys[i] != NULL; i++) {
		json_t *t = json_object_get(json_object_get(h, "template"), keys[i]);
		json_t *m = json_object_get(json_object_get(h, "team"), keys[i]);
		snprintf(path, sizeof path, "history.%s", keys[i]);
		if (put(d, path, json_incref(json_object_get(h, keys[i]))) != 0)
			return -1;
		snprintf(path, sizeof path, "history.template.%s", keys[i]);
		if (put(d, path, t != NULL ? json_incref(t) : json_null()) != 0)
			return -1;
		snprintf(path, sizeof path, "history.team.%s", keys[i]);
		if (put(d, path, m != NULL ? json_incref(m) : json_null()) != 0)
			return -1;
	}
	return 0;
}

int policy_env_init(struct policy_env *env, const struct policy_set *set,
		    const struct policy_catalog *catalog, json_t *change, json_t *risk,
		    json_t *history, const char *template_id)
{
	memset(env, 0, sizeof *env);
	env->set = set;
	env->change = change;
	env->risk = risk;
	env->derived = json_object();
	if (template_id == NULL)
		template_id = json_string_value(json_object_get(change, "template"));
	env->history = summary(set, change, history, template_id);
	if (env->derived == NULL || env->history == NULL)
		return -1;
	if (derive_change(env) != 0 || derive_services(env, catalog) != 0 ||
	    derive_requester(env) != 0 || derive_history(env) != 0)
		return -1;
	return 0;
}

void policy_env_clear(struct policy_env *env)
{
	json_decref(env->derived);
	json_decref(env->history);
	memset(env, 0, sizeof *env);
}

json_t *policy_env_get(void *cls, const char *path)
{
	struct policy_env *env = cls;
	json_t *v = json_object_get(env->derived, path);

	if (v != NULL)
		return v;
	if (strncmp(path, "change.", 7) == 0)
		return expr_path_walk(env->change, path + 7);
	if (strncmp(path, "risk.", 5) == 0)
		return expr_path_walk(env->risk, path + 5);
	return NULL;
}
