/*
 * deployments.c -- the CI gate: a pipeline asks to deploy a service, Transom makes a
 * change for it and answers allow, wait or deny; the pipeline reports the outcome.
 *
 * A request makes a standard change from a template and submits it, so it is scheduled
 * into its window at once.  A template that is no longer pre-approved (its failure rate,
 * a duration over its maximum, a service it does not cover) makes a normal change
 * instead, which goes to its approvers: the pipeline waits, it is not refused.  The
 * decision is read off the change (decide(), pure): allow while its booked window is
 * open, wait before it (or while approvals are pending), deny when it was rejected,
 * cancelled or cannot be scheduled.  The first read that finds the window open starts the
 * change and grants a lease until the window closes; a lease that runs out without an
 * outcome fails (or cancels) the change and frees the window.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "planner/planner.h"
#include "policy/catalog.h"
#include "app/fields.h"
#include "app/records_int.h"
#include "store/deployments.h"

#define RETRY_PENDING_S 30     /* when to ask again while approvals or planning are pending */
#define CLAIM_STALE_MS  30000L /* a request making a change for this long has died */

struct dep_job {
	struct rec_job job;
	const char *dep_id;
	json_t *dep;                           /* the deployment row (owned) */
	json_t *decision;                      /* what decide() said (owned) */
	const char *outcome, *details, *lease; /* result */
	bool trusted;                          /* result: a signed GitHub deployment_status */
	char lease_token[64];                  /* a lease granted by this call */
};

static void add_reason(json_t *reasons, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_reason(json_t *reasons, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	json_array_append_new(reasons, json_string(buf));
}

/*
 * The gate's answer for a deployment whose change is `change` (NULL: not made yet) at
 * `now_ms`, given the deployment row `dep` (a refusal at request time is kept there):
 * {"decision", "reason_code", "reasons", "window", "retry_after", "window_start_ms"};
 * reason_code is one word of a fixed set (refused, preparing, rejected, cancelled, over,
 * implementing, emergency, unschedulable, window_open, booked, window_passed,
 * awaiting_approval, state), for metrics and scripts.  Pure.
 */
static json_t *decide(json_t *dep, json_t *change, long long now_ms)
{
	json_t *reasons = json_array();
	const char *decision = "wait", *code = "state";
	json_t *window = json_null();
	long long retry = RETRY_PENDING_S, wstart = 0;
	const char *outcome = json_string_value(json_object_get(dep, "outcome"));

	const char *id = json_string_value(json_object_get(change, "id"));
	const char *state = json_string_value(json_object_get(change, "state"));
	json_t *sched = json_object_get(change, "schedule");
	const char *status = json_string_value(json_object_get(sched, "status"));
	json_t *appr = json_object_get(change, "approvals");
	long long start = 0, end = 0;
	bool booked = wf_schedule_booked(sched, &start, &end);
	if (booked)
		window = json_pack("{s:O, s:O}", "start", json_object_get(sched, "start"), "end",
				   json_object_get(sched, "end"));

	if (outcome != NULL && strcmp(outcome, "denied") == 0) {
		decision = "deny";
		code = "refused";
		add_reason(reasons, "%s",
			   json_string_value(json_object_get(dep, "details")) ?: "refused");
	} else if (change == NULL) {
		code = "preparing";
		add_reason(reasons, "the change for this deployment is being prepared");
		retry = 2;
	} else if (strcmp(state, "rejected") == 0) {
		decision = "deny";
		code = "rejected";
		add_reason(reasons, "%s was rejected by its approvers", id);
	} else if (strcmp(state, "cancelled") == 0) {
		decision = "deny";
		code = "cancelled";
		add_reason(reasons, "%s was cancelled", id);
	} else if (strcmp(state, "closed") == 0 || strcmp(state, "failed") == 0 ||
		   strcmp(state, "review") == 0) {
		decision = "deny";
		code = "over";
		add_reason(reasons, "%s is over (state %s)", id, state);
	} else if (strcmp(state, "implementing") == 0) {
		decision = "allow";
		code = "implementing";
		add_reason(reasons, "%s is being carried out", id);
	} else if (strcmp(state, "approved") == 0 &&
		   strcmp(json_string_value(json_object_get(change, "type")) ?: "", "emergency") ==
			   0) {
		decision = "allow";
		code = "emergency";
		json_t *bg = json_object_get(appr, "break_glass");
		if (json_is_object(bg))
			add_reason(reasons, "emergency change %s: glass broken by %s", id,
				   json_string_value(json_object_get(bg, "by")) ?: "?");
		else
			add_reason(reasons, "emergency change %s authorized by the emergency board",
				   id);
		add_reason(reasons, "an emergency may skip the window (audited)");
	} else if (status != NULL && strcmp(status, "unscheduled") == 0) {
		decision = "deny";
		code = "unschedulable";
		add_reason(reasons, "%s cannot be scheduled within the horizon", id);
		size_t i;
		json_t *r;
		json_array_foreach(json_object_get(sched, "reasons"), i, r) {
			if (i >= 5)
				break;
			add_reason(reasons, "%s: %s",
				   json_string_value(json_object_get(r, "start")) ?: "",
				   json_string_value(json_object_get(r, "reason")) ?: "");
		}
	} else if (booked && start <= now_ms && now_ms < end) {
		decision = "allow";
		code = "window_open";
		add_reason(reasons, "the window of %s is open until %s", id,
			   json_string_value(json_object_get(sched, "end")));
	} else if (booked && now_ms < start) {
		code = "booked";
		add_reason(reasons, "%s is booked for %s to %s", id,
			   json_string_value(json_object_get(sched, "start")),
			   json_string_value(json_object_get(sched, "end")));
		if (json_is_string(json_object_get(sched, "soft_freeze")))
			add_reason(reasons, "inside soft freeze '%s'",
				   json_string_value(json_object_get(sched, "soft_freeze")));
		retry = (start - now_ms + 999) / 1000;
		wstart = start;
	} else if (booked) {
		code = "window_passed";
		add_reason(reasons, "the window of %s has passed: it is being re-planned", id);
	} else if (json_is_object(appr) && !json_is_true(json_object_get(appr, "satisfied"))) {
		code = "awaiting_approval";
		add_reason(reasons, "%s needs approval (state %s)", id, state);
		size_t i;
		json_t *g;
		json_array_foreach(json_object_get(appr, "groups"), i, g) {
			add_reason(reasons, "group %s: %lld of %lld approvals",
				   json_string_value(json_object_get(g, "group")) ?: "?",
				   (long long)json_integer_value(json_object_get(g, "approvals")),
				   (long long)json_integer_value(json_object_get(g, "quorum")));
		}
	} else {
		add_reason(reasons, "%s is in state %s", id, state);
	}
	json_t *d = json_pack("{s:s, s:s, s:o, s:o, s:I, s:I}", "decision", decision, "reason_code",
			      code, "reasons", reasons, "window", window, "window_start_ms",
			      (json_int_t)wstart, "retry_after", (json_int_t)retry);
	if (strcmp(decision, "wait") != 0)
		json_object_set_new(d, "retry_after", json_null());
	return d;
}

/* Fires `event` on locked change `r` as the job's actor; refusals roll back. */
static enum db_status fire(struct rec_job *j, struct store_record *r, const struct wf *wf,
			   const char *event)
{
	struct wf_outcome o = {0};
	struct wf_ctx ctx;
	enum db_status s = rec_load_policy_inputs(j, wf, r->data);
	if (s < 0)
		return s;
	rec_engine_ctx(j, r, &ctx);
	if (wf_fire(wf, &ctx, event, &o) != WF_OK) {
		enum tr_code code = rec_engine_error(j, &o);
		wf_outcome_clear(&o);
		return rec_refuse(j, code);
	}
	s = rec_persist(j, r, &o, false, NULL, NULL);
	wf_outcome_clear(&o);
	return s;
}

/* The reply body: the deployment and the decision, with the lease. */
static json_t *body_of(struct dep_job *d)
{
	json_t *b = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O}", "id",
			      json_object_get(d->dep, "id"), "change",
			      json_object_get(d->dep, "change"), "service",
			      json_object_get(d->dep, "service"), "environment",
			      json_object_get(d->dep, "environment"), "decision",
			      json_object_get(d->decision, "decision"), "reasons",
			      json_object_get(d->decision, "reasons"), "window",
			      json_object_get(d->decision, "window"));
	json_object_set(b, "reason_code", json_object_get(d->decision, "reason_code"));
	json_object_set(b, "retry_after", json_object_get(d->decision, "retry_after"));
	json_int_t exp = json_integer_value(json_object_get(d->dep, "lease_expires_ms"));
	if (exp > 0) {
		char at[TIME_RFC3339_LEN];
		time_format_ms(exp, at);
		json_object_set_new(b, "lease",
				    json_pack("{s:s?, s:s}", "token",
					      d->lease_token[0] ? d->lease_token : NULL, "expires",
					      at));
	} else {
		json_object_set_new(b, "lease", json_null());
	}
	json_object_set(b, "outcome", json_object_get(d->dep, "outcome"));
	json_object_set(b, "template", json_object_get(d->dep, "template"));
	return b;
}

/* Reads (and locks) the deployment and its change; decides; starts the change if due. */
static enum db_status gate_tx(struct store *st, void *cls)
{
	struct dep_job *d = cls;
	struct rec_job *j = &d->job;
	struct store_record r = {0};
	const struct wf *wf = NULL;

	rec_reply_clear(j->out);
	json_decref(d->dep);
	json_decref(d->decision);
	d->dep = d->decision = NULL;
	d->lease_token[0] = '\0';
	enum db_status s = store_deployment_get(st, d->dep_id, true, &d->dep);
	if (s == DB_NONE) {
		tr_error_set(j->err, TR_E_NOT_FOUND, "id", "no deployment '%s'", d->dep_id);
		return rec_refuse(j, TR_E_NOT_FOUND);
	}
	if (s < 0)
		return s;
	j->id = json_string_value(json_object_get(d->dep, "change"));
	if (j->id != NULL && (s = rec_load_locked(j, &r, &wf)) < 0) {
		store_record_clear(&r);
		return s;
	}
	d->decision = decide(d->dep, j->id ? r.data : NULL, j->c->now_ms);
	const char *decision = json_string_value(json_object_get(d->decision, "decision"));
	/* Only the pipeline that asked (or Transom itself, for GitHub) starts the change and
	 * receives the lease; anyone else reading the gate just learns the decision. */
	const char *requester = json_string_value(json_object_get(d->dep, "requester"));
	bool owner = j->c->actor != NULL && requester != NULL &&
		     (strcmp(j->c->actor, requester) == 0 || strcmp(j->c->actor, "system") == 0);
	if (strcmp(decision, "allow") == 0 && owner &&
	    json_integer_value(json_object_get(d->dep, "lease_expires_ms")) == 0 &&
	    json_object_get(d->dep, "outcome") == json_null()) {
		/* The window is open and nobody holds it: start the change, grant the lease. */
		if (strcmp(r.state, "implementing") != 0 && (s = fire(j, &r, wf, "start")) < 0) {
			store_record_clear(&r);
			return s;
		}
		char hash[CRYPTO_SHA256_HEX_LEN];
		long long end = 0;
		json_t *w = json_object_get(d->decision, "window");
		if (!time_parse_rfc3339(json_string_value(json_object_get(w, "end")) ?: "", &end))
			end = j->c->now_ms + 3600 * 1000; /* emergencies without a window */
		if (!crypto_token("lease_", 24, d->lease_token, sizeof d->lease_token)) {
			store_record_clear(&r);
			return DB_HARD;
		}
		crypto_sha256_hex(d->lease_token, strlen(d->lease_token), hash);
		if ((s = store_deployment_lease(st, d->dep_id, hash, end)) < 0) {
			store_record_clear(&r);
			return s;
		}
		json_object_set_new(d->dep, "lease_expires_ms", json_integer(end));
	}
	store_record_clear(&r);
	json_decref(j->out->body); /* the started change's representation, if any */
	j->out->status = 200;
	j->out->body = body_of(d);
	return j->out->body ? DB_ONE : DB_HARD;
}

static void dep_clear(struct dep_job *d)
{
	json_decref(d->dep);
	json_decref(d->decision);
}

enum tr_code records_deploy_get(struct rec_ctx *c, const char *id, struct rec_reply *out,
				long long *wake_ms, struct tr_error *err)
{
	struct rec_ctx as_pipeline = *c;
	as_pipeline.roles |= WF_ROLE_PIPELINE; /* starting the change is the gate's doing */
	struct dep_job d = {.job = {.c = &as_pipeline, .kind = "change", .out = out, .err = err},
			    .dep_id = id};
	enum tr_code rc = rec_run(&d.job, gate_tx);
	if (wake_ms != NULL)
		*wake_ms =
			rc == TR_OK
				? json_integer_value(json_object_get(d.decision, "window_start_ms"))
				: 0;
	dep_clear(&d);
	return rc;
}

/* ---- the request ------------------------------------------------------------------------ */

/* Checks the request; fills the change to create. */
static enum tr_code check_request(struct rec_ctx *c, json_t *in, json_t **change,
				  const char **template, struct tr_error *err)
{
	static const char *const known[] = {
		"service",   "environment", "duration",      "template",      "pipeline",
		"title",     "description", "rollback_plan", "test_evidence", "not_before",
		"not_after", "emergency",   "justification"};
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
					   "test_evidence", "not_before",  "not_after"};
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
 * withdrawn and the deployment denied, naming the freeze and when it ends.
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
		if (hard == NULL && json_is_true(json_object_get(f, "hard")) &&
		    planner_env_applies(f, env))
			hard = f;
	}
	if (rc != TR_OK || hard == NULL) {
		json_decref(freezes);
		return rc;
	}
	char reason[512];
	snprintf(reason, sizeof reason, "%s (%s) is inside hard freeze '%s' until %s", service, env,
		 json_string_value(json_object_get(hard, "summary")) ?: "?",
		 json_string_value(json_object_get(hard, "end")) ?: "?");
	json_decref(freezes);
	struct rec_reply out = {0};
	rc = records_transition(c, "change", change, "cancel", reason, NULL, &out, err);
	rec_reply_clear(&out);
	if (rc != TR_OK)
		return rc;
	enum db_status s = store_deployment_outcome(c->st, dep_id, "denied", reason);
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
		add_reason(reasons, "emergency: the emergency board (or a change manager breaking "
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
			add_reason(reasons, "no standard-change template covers this service: "
					    "the change goes to its approvers");
		else if (!pre)
			add_reason(reasons,
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
		out->status = replay ? 200 : 201;
		snprintf(out->location, sizeof out->location, "/v1/deployments/%s", dep_id);
	}
	json_decref(reasons);
	return rc;
}

/* ---- the result --------------------------------------------------------------------------- */

static enum db_status result_tx(struct store *st, void *cls)
{
	struct dep_job *d = cls;
	struct rec_job *j = &d->job;
	struct store_record r = {0};
	const struct wf *wf = NULL;
	char hash[CRYPTO_SHA256_HEX_LEN];

	rec_reply_clear(j->out);
	json_decref(d->dep);
	d->dep = NULL;
	enum db_status s = store_deployment_get(st, d->dep_id, true, &d->dep);
	if (s == DB_NONE) {
		tr_error_set(j->err, TR_E_NOT_FOUND, "id", "no deployment '%s'", d->dep_id);
		return rec_refuse(j, TR_E_NOT_FOUND);
	}
	if (s < 0)
		return s;
	if (json_is_string(json_object_get(d->dep, "outcome"))) {
		tr_error_set(j->err, TR_E_CONFLICT, "outcome", "%s already has the outcome '%s'",
			     d->dep_id, json_string_value(json_object_get(d->dep, "outcome")));
		tr_error_rule(j->err, TR_R_OUTCOME_RECORDED);
		return rec_refuse(j, TR_E_CONFLICT);
	}
	if (d->lease != NULL) {
		crypto_sha256_hex(d->lease, strlen(d->lease), hash);
		if ((s = store_deployment_lease_check(st, d->dep_id, hash)) < 0)
			return s;
		if (s == DB_NONE) {
			tr_error_set(j->err, TR_E_CONFLICT, "lease", "that is not the lease of %s",
				     d->dep_id);
			return rec_refuse(j, TR_E_CONFLICT);
		}
	} else if (!d->trusted) {
		/* Without the lease, only the pipeline that asked, and only while nobody holds
		 * the lease: a result fails the change and feeds the history pre-approval reads. */
		const char *requester = json_string_value(json_object_get(d->dep, "requester"));
		bool leased = json_integer_value(json_object_get(d->dep, "lease_expires_ms")) > 0;
		if (leased || requester == NULL || strcmp(requester, j->c->actor) != 0) {
			if (leased)
				tr_error_set(j->err, TR_E_FORBIDDEN, "lease",
					     "%s is leased: report its result with the lease token "
					     "the gate gave when it said allow",
					     d->dep_id);
			else
				tr_error_set(j->err, TR_E_FORBIDDEN, "lease",
					     "only the pipeline that requested %s (%s) may report "
					     "its result without its lease",
					     d->dep_id, requester ? requester : "?");
			tr_error_rule(j->err, TR_R_LEASE_REQUIRED);
			return rec_refuse(j, TR_E_FORBIDDEN);
		}
	}
	j->id = json_string_value(json_object_get(d->dep, "change"));
	if (j->id == NULL) {
		tr_error_set(j->err, TR_E_CONFLICT, "id", "%s has no change yet", d->dep_id);
		return rec_refuse(j, TR_E_CONFLICT);
	}
	if ((s = rec_load_locked(j, &r, &wf)) < 0) {
		store_record_clear(&r);
		return s;
	}
	if (strcmp(r.state, "implementing") != 0) {
		tr_error_set(j->err, TR_E_CONFLICT, "id",
			     "%s has not started (state %s): deploy when the gate says allow",
			     j->id, r.state);
		tr_error_rule(j->err, TR_R_NOT_STARTED);
		store_record_clear(&r);
		return rec_refuse(j, TR_E_CONFLICT);
	}
	bool ok = strcmp(d->outcome, "success") == 0;
	json_object_set_new(r.data, "result", json_string(ok ? "success" : "failed"));
	j->comment = d->details;
	if ((s = fire(j, &r, wf, ok ? "complete" : "fail")) >= 0)
		s = store_deployment_outcome(st, d->dep_id, d->outcome, d->details);
	if (s >= 0) {
		json_object_set_new(d->dep, "outcome", json_string(d->outcome));
		json_object_set_new(d->dep, "state", json_string(r.state));
		j->out->status = 200;
	}
	store_record_clear(&r);
	return s;
}

enum tr_code records_deploy_result(struct rec_ctx *c, const char *id, json_t *input,
				   struct rec_reply *out, struct tr_error *err)
{
	return rec_deploy_result(c, id, input, false, out, err);
}

enum tr_code rec_deploy_result(struct rec_ctx *c, const char *id, json_t *input, bool trusted,
			       struct rec_reply *out, struct tr_error *err)
{
	const char *outcome = json_string_value(json_object_get(input, "outcome"));
	json_t *details = json_object_get(input, "details");
	json_t *incident = json_object_get(input, "open_incident");
	json_t *lease = json_object_get(input, "lease");
	if (outcome == NULL || (strcmp(outcome, "success") != 0 && strcmp(outcome, "failure") != 0))
		return tr_error_set(err, TR_E_UNPROCESSABLE, "outcome",
				    "'outcome' must be \"success\" or \"failure\"");
	if (details != NULL && !json_is_string(details))
		return tr_error_set(err, TR_E_UNPROCESSABLE, "details",
				    "'details' must be a string");
	if (incident != NULL && !json_is_boolean(incident))
		return tr_error_set(err, TR_E_UNPROCESSABLE, "open_incident",
				    "'open_incident' must be true or false");
	if (lease != NULL && !json_is_string(lease))
		return tr_error_set(err, TR_E_UNPROCESSABLE, "lease", "'lease' must be a string");
	struct rec_ctx as_pipeline = *c;
	as_pipeline.roles |= WF_ROLE_PIPELINE; /* the result is the pipeline's to give */
	struct dep_job d = {.job = {.c = &as_pipeline, .kind = "change", .out = out, .err = err},
			    .dep_id = id,
			    .outcome = outcome,
			    .details = json_string_value(details),
			    .lease = json_string_value(lease),
			    .trusted = trusted};
	enum tr_code rc = rec_run(&d.job, result_tx);
	if (rc == TR_OK && strcmp(outcome, "failure") == 0 && json_is_true(incident)) {
		/* A failed deployment may have hurt the service: an incident caused by it. */
		const char *change = json_string_value(json_object_get(d.dep, "change"));
		char title[256];
		snprintf(title, sizeof title, "Deployment %s of %s failed", id,
			 json_string_value(json_object_get(d.dep, "service")));
		json_t *inc = json_pack("{s:s, s:s, s:O, s:s, s:s}", "title", title, "description",
					json_string_value(details) ?: "reported by the pipeline",
					"service", json_object_get(d.dep, "service"), "priority",
					"P3", "caused_by", change);
		struct rec_reply ir = {0};
		struct tr_error ie = {0};
		struct rec_ctx inner = *c;
		inner.idem_key = NULL;
		if (inc != NULL && records_create(&inner, "incident", inc, &ir, &ie) == TR_OK)
			json_object_set(d.dep, "incident", json_object_get(ir.body, "id"));
		rec_reply_clear(&ir);
		json_decref(inc);
	}
	if (rc == TR_OK) {
		json_decref(out->body);
		out->body = json_pack(
			"{s:O, s:O, s:O, s:s, s:O?, s:O?}", "id", json_object_get(d.dep, "id"),
			"change", json_object_get(d.dep, "change"), "state",
			json_object_get(d.dep, "state"), "outcome", outcome, "details", details,
			"incident", json_object_get(d.dep, "incident"));
		out->status = 200;
	}
	dep_clear(&d);
	return rc;
}

/* ---- leases and windows (the background worker) ------------------------------------------ */

static enum db_status expire_tx(struct store *st, void *cls)
{
	struct dep_job *d = cls;
	struct rec_job *j = &d->job;
	struct store_record r = {0};
	const struct wf *wf = NULL;

	json_decref(d->dep);
	d->dep = NULL;
	enum db_status s = store_deployment_get(st, d->dep_id, true, &d->dep);
	if (s <= 0 || json_is_string(json_object_get(d->dep, "outcome")))
		return s < 0 ? s : DB_NONE;
	j->id = json_string_value(json_object_get(d->dep, "change"));
	if (j->id != NULL && (s = rec_load_locked(j, &r, &wf)) >= 0) {
		j->comment = "the deployment's lease ran out without a result";
		if (strcmp(r.state, "implementing") == 0)
			s = fire(j, &r, wf, "fail");
		else if (!wf_state_final(wf, r.state))
			s = fire(j, &r, wf, "cancel");
	}
	store_record_clear(&r);
	if (s >= 0)
		s = store_deployment_outcome(st, d->dep_id, "expired",
					     "the lease ran out without a result");
	return s;
}

enum tr_code records_deploy_expire(struct rec_ctx *c, unsigned *n, struct tr_error *err)
{
	json_t *ids = NULL;
	*n = 0;
	enum db_status s = store_deployments_expired(c->st, c->now_ms, &ids);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	size_t i;
	json_t *id;
	json_array_foreach(ids, i, id) {
		struct rec_reply out = {0};
		struct tr_error e = {0};
		struct dep_job d = {.job = {.c = c, .kind = "change", .out = &out, .err = &e},
				    .dep_id = json_string_value(id)};
		if (rec_run(&d.job, expire_tx) == TR_OK)
			(*n)++;
		rec_reply_clear(&out);
		dep_clear(&d);
	}
	json_decref(ids);
	return TR_OK;
}

static enum db_status open_tx(struct store *st, void *cls)
{
	struct dep_job *d = cls;
	unsigned n = 0;
	enum db_status s = store_windows_open(st, d->job.c->now_ms, &n);
	d->job.fired = n > 0;
	return s;
}

enum tr_code records_windows_open(struct rec_ctx *c, bool *opened, struct tr_error *err)
{
	struct rec_reply out = {0};
	struct dep_job d = {.job = {.c = c, .out = &out, .err = err}};
	enum tr_code rc = rec_run(&d.job, open_tx);
	*opened = d.job.fired;
	rec_reply_clear(&out);
	return rc;
}
