/*
 * deploy_request.c -- the CI gate's request (records_deploy_request, records.h): checks
 * what a pipeline asks for, records the deployment (once per Idempotency-Key), makes a
 * standard change from the template (a normal one when the template is not
 * pre-approved) and submits it, then answers with the gate's decision
 * (deployments.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/fields.h"
#include "app/records_int.h"
#include "core/timeutil.h"
#include "planner/planner.h"
#include "policy/catalog.h"
#include "store/deployments.h"

#define CLAIM_STALE_MS 30000L /* a request making a change for this long has died */

/* ---- the request ------------------------------------------------------------------------ */

/* Whether `service` is a word of space-separated `list`. */
static bool service_listed(const char *list, const char *service)
{
	size_t n = strlen(service);
	for (const char *p = list; *p;) {
		size_t w = strcspn(p, " ");
		if (w == n && strncmp(p, service, n) == 0)
			return true;
		p += w;
		p += strspn(p, " ");
	}
	return false;
}

/* Checks the request; fills the change to create. */
static enum tr_code check_request(struct rec_ctx *c, json_t *in, json_t **change,
				  const char **template, struct tr_error *err)
{
	static const char *const known[] = {
		"service",   "environment", "duration",      "template",      "pipeline",
		"title",     "description", "rollback_plan", "test_evidence", "not_before",
		"not_after", "emergency",   "justification", "fixes_incident"};
	const char *key;
	json_t *v;
	json_object_foreach(in, key, v) {
		bool ok = false;
		for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
			ok = ok || strcmp(key, known[i]) == 0;
		if (!ok)
			return tr_error_set(err, TR_E_UNPROCESSABLE, key, "unknown member '%s'",
					    key);
	}
	const char *service = json_string_value(json_object_get(in, "service"));
	const char *env = json_string_value(json_object_get(in, "environment"));
	const char *duration = json_string_value(json_object_get(in, "duration"));
	json_t *pipeline = json_object_get(in, "pipeline");
	long long secs;
	if (service == NULL)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "service", "'service' is required");
	if (c->defs->catalog != NULL && catalog_find(c->defs->catalog, service) == NULL)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "service", "unknown service '%s'",
				    service);
	if (c->services != NULL && !service_listed(c->services, service)) {
		tr_error_set(err, TR_E_FORBIDDEN, "service",
			     "this pipeline's identity may not deploy '%s' (policies/identity.json "
			     "maps it to: %s)",
			     service, c->services[0] ? c->services : "no service");
		tr_error_rule(err, TR_R_SERVICE_NOT_MAPPED);
		return TR_E_FORBIDDEN;
	}
	if (env == NULL || !fields_environment_ok(env))
		return tr_error_set(
			err, TR_E_UNPROCESSABLE, "environment",
			"'environment' is required: 1 to 64 lowercase letters, digits, - "
			"and _ (e.g. production, staging)");
	if (duration == NULL || !time_parse_duration(duration, &secs) || secs <= 0)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "duration",
				    "'duration' must be an ISO 8601 duration such as PT30M");
	if (pipeline != NULL && !json_is_object(pipeline))
		return tr_error_set(err, TR_E_UNPROCESSABLE, "pipeline",
				    "'pipeline' must be an object {url, commit, actor}");
	json_t *emergency = json_object_get(in, "emergency");
	const char *justification = json_string_value(json_object_get(in, "justification"));
	if (emergency != NULL && !json_is_boolean(emergency))
		return tr_error_set(err, TR_E_UNPROCESSABLE, "emergency",
				    "'emergency' must be true or false");
	if (json_object_get(in, "justification") != NULL &&
	    (justification == NULL || strlen(justification) > 2000))
		return tr_error_set(err, TR_E_UNPROCESSABLE, "justification",
				    "'justification' must be a string of at most 2000 bytes");
	if (json_is_true(emergency) && (justification == NULL || strlen(justification) < 10))
		return tr_error_set(err, TR_E_UNPROCESSABLE, "justification",
				    "an emergency deployment needs a 'justification' (at least 10 "
				    "characters): the emergency board reads it");
	if (!json_is_true(emergency) && justification != NULL)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "justification",
				    "'justification' goes with \"emergency\": true");
	*template = json_string_value(json_object_get(in, "template"));
	const struct policy_set *set = c->defs->policies;
	if (*template != NULL && (set == NULL || policy_template_find(set, *template) == NULL))
		return tr_error_set(err, TR_E_UNPROCESSABLE, "template", "unknown template '%s'",
				    *template);
	for (size_t i = 0; *template == NULL && set != NULL && i < policy_template_count(set);
	     i++) {
		const struct policy_template *t = policy_template_at(set, i);
		for (size_t k = 0; k < t->n_services; k++)
			if (strcmp(t->services[k], service) == 0)
				*template = t->id;
	}
	const char *url = json_string_value(json_object_get(pipeline, "url"));
	const char *commit = json_string_value(json_object_get(pipeline, "commit"));
	const char *actor = json_string_value(json_object_get(pipeline, "actor"));
	char title[256], desc[1024], plan[1024];
	snprintf(title, sizeof title, "Deploy %s to %s%s%.12s", service, env, commit ? " at " : "",
		 commit ? commit : "");
	snprintf(desc, sizeof desc, "Deployment requested by pipeline %s%s%s.", url ? url : "",
		 actor ? " for " : "", actor ? actor : "");
	snprintf(plan, sizeof plan, "The pipeline deploys %s%s to %s and reports the outcome.",
		 commit ? "commit " : "the build", commit ? commit : "", env);
	*change = json_pack("{s:s, s:s, s:[s], s:s, s:s, s:s, s:s?}", "title", title, "description",
			    desc, "services", service, "environment", env, "duration", duration,
			    "implementation_plan", plan, "template", *template);
	static const char *const pass[] = {"title",         "description", "rollback_plan",
					   "test_evidence", "not_before",  "not_after",
					   "fixes_incident"};
	for (size_t i = 0; *change != NULL && i < sizeof pass / sizeof pass[0]; i++)
		if (json_is_string(json_object_get(in, pass[i])))
			json_object_set(*change, pass[i], json_object_get(in, pass[i]));
	if (*change != NULL && json_is_true(emergency)) {
		/* The emergency board authorizes it while the pipeline waits. */
		char *text = NULL;
		const char *d = json_string_value(json_object_get(*change, "description")) ?: "";
		if (asprintf(&text, "EMERGENCY: %s\n\n%s", justification, d) < 0)
			text = NULL;
		json_object_set_new(*change, "type", json_string("emergency"));
		json_object_set_new(*change, "description", text ? json_string(text) : json_null());
		free(text);
		json_object_del(*change, "template");
		*template = NULL;
	}
	return *change ? TR_OK : TR_E_NOMEM;
}

/*
 * "May I deploy now?" -- not while the service is inside a hard freeze: the change is
 * withdrawn and the deployment denied, naming the freeze and when it ends.  An open
 * incident freezing the service (incident_freezes.h) is named first, with its rule.
 */
static enum tr_code refuse_if_frozen(struct rec_ctx *c, const char *dep_id, const char *change,
				     const char *service, const char *env, struct tr_error *err)
{
	json_t *freezes = NULL;
	enum tr_code rc = records_calendar_instances(c, "freeze", service, c->now_ms, c->now_ms + 1,
						     &freezes, err);
	json_t *hard = NULL;
	size_t i;
	json_t *f;
	json_array_foreach(freezes, i, f) {
		/* a freeze concerns the environments it names (production when none) */
		if (json_is_true(json_object_get(f, "hard")) && planner_env_applies(f, env) &&
		    (hard == NULL || (json_object_get(hard, "incident") == NULL &&
				      json_object_get(f, "incident") != NULL)))
			hard = f;
	}
	if (rc != TR_OK || hard == NULL) {
		json_decref(freezes);
		return rc;
	}
	char reason[512];
	const char *incident = json_string_value(json_object_get(hard, "incident"));
	if (incident != NULL)
		snprintf(reason, sizeof reason,
			 "%s (%s) is frozen by incident %s (%s) on %s, open since %s: deployments "
			 "wait until it is resolved (an emergency change fixing it is exempt)",
			 service, env, incident,
			 json_string_value(json_object_get(hard, "priority")) ?: "?",
			 json_string_value(json_object_get(hard, "service")) ?: "?",
			 json_string_value(json_object_get(hard, "start")) ?: "?");
	else
		snprintf(reason, sizeof reason, "%s (%s) is inside hard freeze '%s' until %s",
			 service, env, json_string_value(json_object_get(hard, "summary")) ?: "?",
			 json_string_value(json_object_get(hard, "end")) ?: "?");
	json_decref(freezes);
	struct rec_reply out = {0};
	rc = records_transition(c, "change", change, "cancel", reason, NULL, &out, err);
	rec_reply_clear(&out);
	if (rc != TR_OK)
		return rc;
	enum db_status s = store_deployment_deny(
		c->st, dep_id, reason, incident ? tr_code_slug(TR_R_INCIDENT_FREEZE) : NULL);
	return s < 0 ? rec_db_error(err, s, c->st) : TR_OK;
}

enum tr_code records_deploy_request(struct rec_ctx *c, json_t *input, struct rec_reply *out,
				    struct tr_error *err)
{
	json_t *change = NULL, *reasons = json_array();
	const char *template = NULL;
	char dep_id[32];
	enum tr_code rc = check_request(c, input, &change, &template, err);
	if (rc != TR_OK) {
		json_decref(reasons);
		return rc;
	}
	/* 1. The deployment row: with an Idempotency-Key seen before, the earlier one. */
	enum db_status s = store_deployment_insert(
		c->st, c->actor, c->idem_key, json_string_value(json_object_get(input, "service")),
		json_string_value(json_object_get(input, "environment")), template,
		json_object_get(input, "pipeline"), dep_id);
	if (s < 0) {
		json_decref(change);
		json_decref(reasons);
		return rec_db_error(err, s, c->st);
	}
	json_t *dep = NULL;
	if ((s = store_deployment_get(c->st, dep_id, false, &dep)) < 0) {
		json_decref(change);
		json_decref(reasons);
		return rec_db_error(err, s, c->st);
	}
	bool replay = json_is_string(json_object_get(dep, "change"));
	json_decref(dep);
	struct rec_ctx inner = *c;
	inner.idem_key = NULL;           /* the deployment row carries the key */
	inner.roles |= WF_ROLE_PIPELINE; /* whoever calls the gate acts as a pipeline */

	/* Concurrent requests with one key: one makes the change, the others wait for it. */
	bool mine = false;
	for (int i = 0; !replay && !mine && i < 100; i++) {
		s = store_deployment_claim(c->st, dep_id, CLAIM_STALE_MS);
		if (s < 0) {
			json_decref(change);
			json_decref(reasons);
			return rec_db_error(err, s, c->st);
		}
		mine = s == DB_ONE;
		if (!mine) {
			usleep(50 * 1000);
			if (store_deployment_get(c->st, dep_id, false, &dep) == DB_ONE)
				replay = json_is_string(json_object_get(dep, "change"));
			json_decref(dep);
			dep = NULL;
		}
	}
	if (!replay && !mine) {
		json_decref(change);
		json_decref(reasons);
		return tr_error_set(err, TR_E_DB_CONFLICT, NULL,
				    "%s is being prepared by another request; retry shortly",
				    dep_id);
	}

	bool emergency = json_is_true(json_object_get(input, "emergency"));
	if (!replay && emergency) {
		rec_add_reason(reasons,
			       "emergency: the emergency board (or a change manager breaking "
			       "glass) must authorize it; wait for allow");
		if (json_object_get(change, "rollback_plan") == NULL)
			json_object_set_new(change, "rollback_plan",
					    json_string("none given by the pipeline"));
	}
	if (!replay) {
		/* 2. Standard if the template is still pre-approved, else normal. */
		struct rec_reply sim = {0};
		struct tr_error e = {0};
		bool pre = false;
		const char *why = NULL;
		json_object_set_new(change, "type", json_string("standard"));
		if (json_object_get(change, "not_before") == NULL) {
			/* A deployment asks for now: business-hours conditions read this. */
			char at[TIME_RFC3339_LEN];
			time_format_ms(c->now_ms, at);
			json_object_set_new(change, "not_before", json_string(at));
		}
		if (!emergency && template != NULL &&
		    records_simulate(&inner, change, &sim, &e) == TR_OK) {
			json_t *t = json_object_get(sim.body, "template");
			pre = json_is_true(json_object_get(t, "preapproved"));
			why = json_string_value(json_object_get(t, "reason"));
		}
		if (emergency)
			; /* an emergency change: its board decides */
		else if (template == NULL)
			rec_add_reason(reasons, "no standard-change template covers this service: "
						"the change goes to its approvers");
		else if (!pre)
			rec_add_reason(
				reasons,
				"template '%s' is not pre-approved now (%s): the change goes "
				"to its approvers",
				template, why ? why : "its condition does not hold");
		rec_reply_clear(&sim);
		json_object_set_new(change, "type",
				    json_string(emergency ? "emergency"
						: pre     ? "standard"
							  : "normal"));
		if (!pre && json_object_get(change, "rollback_plan") == NULL)
			json_object_set_new(change, "rollback_plan",
					    json_string("none given by the pipeline"));
		/* 3. Create and submit the change (each its own transaction). */
		struct rec_reply created = {0};
		rc = records_create(&inner, "change", change, &created, err);
		const char *cid =
			rc == TR_OK ? json_string_value(json_object_get(created.body, "id")) : NULL;
		char id[32] = "";
		if (cid != NULL)
			snprintf(id, sizeof id, "%s", cid);
		rec_reply_clear(&created);
		if (rc == TR_OK) {
			struct rec_reply sub = {0};
			rc = records_transition(&inner, "change", id, "submit",
						"deployment requested by a pipeline", NULL, &sub,
						err);
			rec_reply_clear(&sub);
		}
		if (rc == TR_OK && (s = store_deployment_set_change(c->st, dep_id, id)) >= 0)
			s = store_ping(c->st); /* sends the queued update */
		if (rc == TR_OK && s < 0)
			rc = rec_db_error(err, s, c->st);
		if (rc == TR_OK && !emergency) /* an emergency is its board's to refuse */
			rc = refuse_if_frozen(
				&inner, dep_id, id,
				json_string_value(json_object_get(input, "service")),
				json_string_value(json_object_get(input, "environment")), err);
		if (rc != TR_OK) {
			json_decref(change);
			json_decref(reasons);
			return rc;
		}
	}
	json_decref(change);
	rc = records_deploy_get(c, dep_id, out, NULL, err);
	if (rc == TR_OK) {
		json_array_extend(json_object_get(out->body, "reasons"), reasons);
		out->outcome = replay ? REC_DONE : REC_CREATED;
		snprintf(out->kind, sizeof out->kind, "deployment");
		snprintf(out->id, sizeof out->id, "%s", dep_id);
	}
	json_decref(reasons);
	return rc;
}
