/*
 * incident_freezes.c -- open P1/P2 incidents as dynamic hard freezes (incident_freezes.h):
 * read from the store, shaped by the policy (policy/incidents.h), handed to the planner as
 * calendar instances.
 */
#include "app/incident_freezes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "defs/defs.h"
#include "planner/planner.h"
#include "policy/incidents.h"
#include "store/records.h"

#define HOUR_MS (3600LL * 1000)

enum db_status incident_freezes_list(const struct rec_ctx *c, json_t **out)
{
	const struct policy_incidents *p = defs_incidents(c->defs);
	json_t *open = NULL;
	*out = NULL;
	if (!p->freeze_enabled) {
		*out = json_array();
		return *out ? DB_NONE : DB_HARD;
	}
	enum db_status s = store_open_incidents(c->st, &open);
	if (s < 0)
		return s;
	json_t *list = json_array();
	/* Up to a whole hour: the once-a-minute re-plan moves the changes booked just after
	 * the freeze once an hour while the incident stays open, not every minute. */
	long long end_ms = (c->now_ms + p->freeze_hold_ms + HOUR_MS - 1) / HOUR_MS * HOUR_MS;
	char end[TIME_RFC3339_LEN];
	time_format_ms(end_ms, end);
	size_t i;
	json_t *inc;
	json_array_foreach(open, i, inc) {
		const char *prio = json_string_value(json_object_get(inc, "priority"));
		const char *service = json_string_value(json_object_get(inc, "service"));
		const char *id = json_string_value(json_object_get(inc, "id"));
		if (list == NULL || !policy_incident_freezes(p, prio))
			continue;
		long long start_ms = json_integer_value(json_object_get(inc, "created_ms"));
		char start[TIME_RFC3339_LEN], uid[96], summary[256];
		time_format_ms(start_ms, start);
		snprintf(uid, sizeof uid, INCIDENT_FREEZE_UID "%s", id);
		snprintf(summary, sizeof summary, "incident %s (%s) on %s", id, prio, service);
		json_t *f = json_pack(
			"{s:s, s:s, s:s, s:b, s:o, s:[s], s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:O}",
			"uid", uid, "summary", summary, "kind", "freeze", "hard", 1, "services",
			policy_freeze_services(p, c->defs->catalog, service), "environments",
			"production", "start", start, "end", end, "start_ms", (json_int_t)start_ms,
			"end_ms", (json_int_t)end_ms, "incident", id, "priority", prio, "service",
			service, "title", json_object_get(inc, "title") ?: json_null());
		if (f == NULL || json_array_append_new(list, f) != 0) {
			json_decref(list);
			list = NULL;
		}
	}
	json_decref(open);
	*out = list;
	return list != NULL ? DB_ONE : DB_HARD;
}

int incident_freezes_append(json_t *freezes, struct cal_instances *l)
{
	size_t i;
	json_t *f;
	json_array_foreach(freezes, i, f) {
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 16;
			struct cal_instance *v = realloc(l->v, cap * sizeof *v);
			if (v == NULL)
				return -1;
			l->v = v;
			l->cap = cap;
		}
		json_t *svcs = json_object_get(f, "services");
		const char **names = calloc(json_array_size(svcs) + 1, sizeof *names);
		const char **envs = calloc(1, sizeof *envs);
		if (names == NULL || envs == NULL) {
			free(names);
			free(envs);
			return -1;
		}
		size_t k;
		json_t *v;
		json_array_foreach(svcs, k, v)
			names[k] = json_string_value(v);
		envs[0] = PLANNER_DEFAULT_ENV;
		l->v[l->n++] = (struct cal_instance){
			.uid = json_string_value(json_object_get(f, "uid")),
			.summary = json_string_value(json_object_get(f, "summary")),
			.kind = CAL_INST_FREEZE,
			.hard = true,
			.services = names,
			.n_services = json_array_size(svcs),
			.environments = envs,
			.n_environments = 1,
			.start_ms = json_integer_value(json_object_get(f, "start_ms")),
			.end_ms = json_integer_value(json_object_get(f, "end_ms")),
			.recurrence_ms = json_integer_value(json_object_get(f, "start_ms")),
		};
	}
	return 0;
}

bool incident_freeze_exempt(const struct rec_ctx *c, const char *uid, json_t *record)
{
	size_t n = strlen(INCIDENT_FREEZE_UID);
	if (uid == NULL || strncmp(uid, INCIDENT_FREEZE_UID, n) != 0)
		return false;
	const char *type = json_string_value(json_object_get(record, "type"));
	if (type == NULL || strcmp(type, "emergency") != 0)
		return false;
	if (defs_incidents(c->defs)->freeze_all_emergencies)
		return true;
	const char *fixes = json_string_value(json_object_get(record, "fixes_incident"));
	return fixes != NULL && strcmp(fixes, uid + n) == 0;
}

enum db_status incident_freezes_holding(const struct rec_ctx *c, json_t *record, json_t **out)
{
	json_t *all = NULL;
	*out = NULL;
	const char *env = json_string_value(json_object_get(record, "environment"));
	enum db_status s = incident_freezes_list(c, &all);
	if (s < 0)
		return s;
	json_t *keep = json_array();
	size_t i, k;
	json_t *f, *svc;
	json_array_foreach(all, i, f) {
		if (env != NULL && strcmp(env, PLANNER_DEFAULT_ENV) != 0)
			break;
		if (incident_freeze_exempt(c, json_string_value(json_object_get(f, "uid")), record))
			continue;
		bool holds = false;
		json_array_foreach(json_object_get(record, "services"), k, svc) {
			size_t m;
			json_t *v;
			json_array_foreach(json_object_get(f, "services"), m, v) {
				holds = holds || (json_is_string(svc) && json_equal(v, svc));
			}
		}
		if (holds)
			json_array_append(keep, f);
	}
	json_decref(all);
	*out = keep;
	return keep ? DB_ONE : DB_HARD;
}

json_t *incident_freeze_of(json_t *freezes, const char *service)
{
	size_t i, k;
	json_t *f, *v;
	json_array_foreach(freezes, i, f) {
		json_array_foreach(json_object_get(f, "services"), k, v) {
			if (strcmp(json_string_value(v) ?: "", service) == 0)
				return f;
		}
	}
	return NULL;
}
