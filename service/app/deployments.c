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
 *
 * Here: the decision, the gate, the result and the background sweeps; the request is
 * in deploy_request.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "planner/planner.h"
#include "policy/catalog.h"
#include "app/fields.h"
#include "app/incident_freezes.h"
#include "app/records_int.h"
#include "store/deployments.h"

#define RETRY_PENDING_S 30 /* when to ask again while approvals or planning are pending */

struct dep_job {
	struct rec_job job;
	const char *dep_id;
	json_t *dep;                           /* the deployment row (owned) */
	json_t *decision;                      /* what decide() said (owned) */
	const char *outcome, *details, *lease; /* result */
	bool trusted;                          /* result: a signed GitHub deployment_status */
	char lease_token[64];                  /* a lease granted by this call */
};

void rec_add_reason(json_t *reasons, const char *fmt, ...)
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
 * reason_code is one word of a fixed set (refused, incident_freeze, preparing, rejected,
 * cancelled, over,
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
		/* a refusal naming its rule (incident_freeze) says so in reason_code */
		code = json_string_value(json_object_get(dep, "rule")) ?: "refused";
		rec_add_reason(reasons, "%s",
			       json_string_value(json_object_get(dep, "details")) ?: "refused");
	} else if (change == NULL) {
		code = "preparing";
		rec_add_reason(reasons, "the change for this deployment is being prepared");
		retry = 2;
	} else if (strcmp(state, "rejected") == 0) {
		decision = "deny";
		code = "rejected";
		rec_add_reason(reasons, "%s was rejected by its approvers", id);
	} else if (strcmp(state, "cancelled") == 0) {
		decision = "deny";
		code = "cancelled";
		rec_add_reason(reasons, "%s was cancelled", id);
	} else if (strcmp(state, "closed") == 0 || strcmp(state, "failed") == 0 ||
		   strcmp(state, "review") == 0) {
		decision = "deny";
		code = "over";
		rec_add_reason(reasons, "%s is over (state %s)", id, state);
	} else if (strcmp(state, "implementing") == 0) {
		decision = "allow";
		code = "implementing";
		rec_add_reason(reasons, "%s is being carried out", id);
	} else if (strcmp(state, "approved") == 0 &&
		   strcmp(json_string_value(json_object_get(change, "type")) ?: "", "emergency") ==
			   0) {
		decision = "allow";
		code = "emergency";
		json_t *bg = json_object_get(appr, "break_glass");
		if (json_is_object(bg))
			rec_add_reason(reasons, "emergency change %s: glass broken by %s", id,
				       json_string_value(json_object_get(bg, "by")) ?: "?");
		else
			rec_add_reason(reasons,
				       "emergency change %s authorized by the emergency board", id);
		rec_add_reason(reasons, "an emergency may skip the window (audited)");
	} else if (status != NULL && strcmp(status, "unscheduled") == 0) {
		decision = "deny";
		code = "unschedulable";
		rec_add_reason(reasons, "%s cannot be scheduled within the horizon", id);
		size_t i;
		json_t *r;
		json_array_foreach(json_object_get(sched, "reasons"), i, r) {
			if (i >= 5)
				break;
			rec_add_reason(reasons, "%s: %s",
				       json_string_value(json_object_get(r, "start")) ?: "",
				       json_string_value(json_object_get(r, "reason")) ?: "");
		}
	} else if (booked && start <= now_ms && now_ms < end) {
		decision = "allow";
		code = "window_open";
		rec_add_reason(reasons, "the window of %s is open until %s", id,
			       json_string_value(json_object_get(sched, "end")));
	} else if (booked && now_ms < start) {
		code = "booked";
		rec_add_reason(reasons, "%s is booked for %s to %s", id,
			       json_string_value(json_object_get(sched, "start")),
			       json_string_value(json_object_get(sched, "end")));
		if (json_is_string(json_object_get(sched, "soft_freeze")))
			rec_add_reason(reasons, "inside soft freeze '%s'",
				       json_string_value(json_object_get(sched, "soft_freeze")));
		retry = (start - now_ms + 999) / 1000;
		wstart = start;
	} else if (booked) {
		code = "window_passed";
		rec_add_reason(reasons, "the window of %s has passed: it is being re-planned", id);
	} else if (json_is_object(appr) && !json_is_true(json_object_get(appr, "satisfied"))) {
		code = "awaiting_approval";
		rec_add_reason(reasons, "%s needs approval (state %s)", id, state);
		size_t i;
		json_t *g;
		json_array_foreach(json_object_get(appr, "groups"), i, g) {
			rec_add_reason(
				reasons, "group %s: %lld of %lld approvals",
				json_string_value(json_object_get(g, "group")) ?: "?",
				(long long)json_integer_value(json_object_get(g, "approvals")),
				(long long)json_integer_value(json_object_get(g, "quorum")));
		}
	} else {
		rec_add_reason(reasons, "%s is in state %s", id, state);
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
	/* the registered rule of a refusal or a hold (core/err.h), else absent */
	if (json_is_string(json_object_get(d->dep, "rule")))
		json_object_set(b, "rule", json_object_get(d->dep, "rule"));
	else if (json_is_string(json_object_get(d->decision, "rule")))
		json_object_set(b, "rule", json_object_get(d->decision, "rule"));
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

/*
 * An open window is no go while an incident freezes the service (incident_freezes.h) and
 * the change has not started: the gate says wait (reason_code and rule incident_freeze,
 * the incident named), and asks again in a minute -- the incident may be resolved within
 * the window.  A started change, an emergency and other environments are not held.
 */
static enum db_status hold_for_incident(struct rec_job *j, struct dep_job *d, json_t *change)
{
	const char *code = json_string_value(json_object_get(d->decision, "reason_code"));
	const char *env = json_string_value(json_object_get(d->dep, "environment"));
	if (code == NULL || strcmp(code, "window_open") != 0 || env == NULL ||
	    strcmp(env, PLANNER_DEFAULT_ENV) != 0 ||
	    json_integer_value(json_object_get(d->dep, "lease_expires_ms")) != 0 ||
	    strcmp(json_string_value(json_object_get(change, "state")) ?: "", "implementing") == 0)
		return DB_NONE;
	json_t *freezes = NULL;
	enum db_status s = incident_freezes_list(j->c, &freezes);
	if (s < 0)
		return s;
	json_t *f = incident_freeze_of(freezes,
				       json_string_value(json_object_get(d->dep, "service")) ?: "");
	if (f != NULL &&
	    !incident_freeze_exempt(j->c, json_string_value(json_object_get(f, "uid")), change)) {
		json_t *reasons = json_array();
		rec_add_reason(reasons,
			       "%s is frozen by incident %s (%s) on %s, open since %s: the window "
			       "is open, but the deployment waits until it is resolved",
			       json_string_value(json_object_get(d->dep, "service")),
			       json_string_value(json_object_get(f, "incident")),
			       json_string_value(json_object_get(f, "priority")),
			       json_string_value(json_object_get(f, "service")),
			       json_string_value(json_object_get(f, "start")));
		json_object_set_new(d->decision, "decision", json_string("wait"));
		json_object_set_new(d->decision, "reason_code",
				    json_string(tr_code_slug(TR_R_INCIDENT_FREEZE)));
		json_object_set_new(d->decision, "rule",
				    json_string(tr_code_slug(TR_R_INCIDENT_FREEZE)));
		json_object_set_new(d->decision, "reasons", reasons);
		json_object_set_new(d->decision, "retry_after", json_integer(60));
	}
	json_decref(freezes);
	return DB_ONE;
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
	if ((s = hold_for_incident(j, d, j->id ? r.data : NULL)) < 0) {
		store_record_clear(&r);
		return s;
	}
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
