/*
 * approvals.c -- risk explanations, votes, break glass, the pending list and the dry run:
 * the record use cases that ask the policy module (policies/) and then let the workflow
 * move on by itself, in the same transaction as any other write.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/timeutil.h"
#include "app/fields.h"
#include "app/incident_freezes.h"
#include "app/oidc_login.h"
#include "app/records_int.h"

/* Reads change `id` without locking; 404 when there is none. */
static enum tr_code read_change(struct rec_ctx *c, const char *id, struct store_record *r,
				struct tr_error *err)
{
	enum db_status s = store_record_get(c->st, id, false, r);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	if (s == DB_NONE || strcmp(r->kind, "change") != 0) {
		store_record_clear(r);
		return tr_error_set(err, TR_E_NOT_FOUND, "id", "no change '%s'", id);
	}
	return TR_OK;
}

enum tr_code records_risk(struct rec_ctx *c, const char *id, struct rec_reply *out,
			  struct tr_error *err)
{
	struct store_record r = {0};
	enum tr_code rc = read_change(c, id, &r, err);
	if (rc != TR_OK)
		return rc;
	json_t *risk = json_object_get(r.data, "risk");
	if (!json_is_object(risk)) {
		tr_error_set(err, TR_E_CONFLICT, "id", "%s has not been assessed (state '%s')", id,
			     r.state);
		tr_error_rule(err, TR_R_STATE);
		store_record_clear(&r);
		return TR_E_CONFLICT;
	}
	out->body = json_incref(risk);
	store_record_clear(&r);
	return TR_OK;
}

/* The approvals status as clients see it, with the change it belongs to. */
static json_t *status_of(const struct store_record *r)
{
	json_t *a = json_deep_copy(json_object_get(r->data, "approvals"));
	if (a == NULL)
		return NULL;
	if (json_object_get(a, "votes") == NULL)
		json_object_set_new(a, "votes", json_array());
	json_object_set_new(a, "change",
			    json_pack("{s:s, s:s, s:i}", "id", r->id, "state", r->state, "version",
				      r->version));
	return a;
}

enum tr_code records_approvals(struct rec_ctx *c, const char *id, struct rec_reply *out,
			       struct tr_error *err)
{
	struct store_record r = {0};
	enum tr_code rc = read_change(c, id, &r, err);
	if (rc != TR_OK)
		return rc;
	if (!json_is_object(json_object_get(r.data, "approvals"))) {
		tr_error_set(err, TR_E_CONFLICT, "id", "%s has no approvals requested (state '%s')",
			     id, r.state);
		tr_error_rule(err, TR_R_STATE);
		store_record_clear(&r);
		return TR_E_CONFLICT;
	}
	out->body = status_of(&r);
	out->version = r.version;
	store_record_clear(&r);
	return out->body ? TR_OK : TR_E_NOMEM;
}

/* ---- decisions inside a transaction ----------------------------------------------------- */

struct decision {
	struct rec_job job;
	const char *decision, *group, *channel, *justification; /* justification: break glass */
};

/* Locks the change and checks its approvals are awaited; refuses 404/409. */
static enum db_status load_awaiting(struct decision *d, struct store_record *r,
				    const struct wf **wf)
{
	struct rec_job *j = &d->job;
	enum db_status s = rec_load_locked(j, r, wf);
	if (s < 0)
		return s;
	json_t *a = json_object_get(r->data, "approvals");
	if (!json_is_object(a) || json_is_true(json_object_get(a, "satisfied")) ||
	    json_is_true(json_object_get(a, "rejected"))) {
		tr_error_set(j->err, TR_E_CONFLICT, "id",
			     "%s is not waiting for approvals (state '%s'%s)", r->id, r->state,
			     json_is_object(a) ? ", already decided" : "");
		tr_error_rule(j->err, TR_R_STATE);
		return rec_refuse(j, TR_E_CONFLICT);
	}
	if (j->c->defs->policies == NULL) {
		tr_error_set(j->err, TR_E_CONFLICT, NULL, "no approval policies are loaded");
		tr_error_rule(j->err, TR_R_POLICY);
		return rec_refuse(j, TR_E_CONFLICT);
	}
	return DB_ONE;
}

/* Lets the workflow react to the new approvals status, then writes it all. */
static enum db_status settle_and_persist(struct decision *d, struct store_record *r,
					 const struct wf *wf, const char *action, json_t *detail)
{
	struct rec_job *j = &d->job;
	struct wf_outcome o = {0};
	struct wf_ctx ctx;
	enum db_status s = rec_load_policy_inputs(j, wf, r->data);
	if (s < 0) {
		json_decref(detail);
		return s;
	}
	rec_engine_ctx(j, r, &ctx);
	enum wf_status ws = wf_settle(wf, &ctx, &o);
	if (ws != WF_OK) {
		json_decref(detail);
		enum tr_code code = rec_engine_error(j, &o);
		wf_outcome_clear(&o);
		return rec_refuse(j, code);
	}
	s = rec_persist(j, r, &o, false, action, detail);
	wf_outcome_clear(&o);
	if (s >= 0) {
		json_decref(j->out->body);
		j->out->body = status_of(r);
	}
	return s;
}

static enum db_status vote_tx(struct store *st, void *cls)
{
	struct decision *d = cls;
	struct rec_job *j = &d->job;
	struct store_record r = {0};
	const struct wf *wf;
	char reason[256], at[TIME_RFC3339_LEN];
	const char *group = NULL;
	(void)st;

	rec_reply_clear(j->out);
	enum db_status s = load_awaiting(d, &r, &wf);
	if (s < 0) {
		store_record_clear(&r);
		return s;
	}
	json_t *a = json_object_get(r.data, "approvals");
	json_t *required = json_object_get(a, "required");
	enum policy_vote_check chk =
		policy_vote_allowed(j->c->defs->policies, required, r.data, j->c->actor, d->group,
				    &group, reason, sizeof reason);
	if (chk != POLICY_VOTE_OK) {
		tr_error_set(j->err, TR_E_FORBIDDEN, d->group ? "group" : NULL, "%s", reason);
		tr_error_rule(j->err, tr_code_of_rule(policy_vote_rule(chk)));
		store_record_clear(&r);
		return rec_refuse(j, TR_E_FORBIDDEN);
	}
	/* the identity provider's word on the group, when the policy defers to it */
	bool held = true;
	s = app_oidc_group_held(st, j->c->defs ? j->c->defs->identity : NULL, j->c->actor, group,
				&held);
	if (s < 0) {
		store_record_clear(&r);
		return s;
	}
	if (!held) {
		tr_error_set(j->err, TR_E_FORBIDDEN, d->group ? "group" : NULL,
			     "not_a_member: %.100s is no longer in group '%.100s' at the identity "
			     "provider (the claims of their last sign-in)",
			     j->c->actor, group ? group : "");
		tr_error_rule(j->err, TR_R_NOT_A_MEMBER);
		store_record_clear(&r);
		return rec_refuse(j, TR_E_FORBIDDEN);
	}
	/* The latest vote of a member counts: it replaces theirs in the list. */
	time_format_ms(j->c->now_ms, at);
	json_t *votes = json_array(), *v;
	size_t i;
	json_array_foreach(json_object_get(a, "votes"), i, v)
		if (strcmp(json_string_value(json_object_get(v, "user")) ?: "", j->c->actor) != 0)
			json_array_append(votes, v);
	json_array_append_new(votes,
			      json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s}", "user", j->c->actor,
					"group", group, "decision", d->decision, "comment",
					j->comment, "at", at, "channel", d->channel));
	json_t *tally = policy_approvals_tally(required, votes);
	if (tally == NULL) {
		json_decref(votes);
		store_record_clear(&r);
		return DB_HARD;
	}
	json_t *next = json_deep_copy(a);
	json_object_update(next, tally);
	json_object_set_new(next, "votes", votes);
	json_decref(tally);
	json_object_set_new(r.data, "approvals", next);
	s = settle_and_persist(
		d, &r, wf, "vote",
		json_pack("{s:s, s:s, s:s?, s:s, s:b, s:b}", "decision", d->decision, "group",
			  group, "comment", j->comment, "channel", d->channel, "satisfied",
			  json_is_true(json_object_get(next, "satisfied")), "rejected",
			  json_is_true(json_object_get(next, "rejected"))));
	store_record_clear(&r);
	return s;
}

enum tr_code records_vote(struct rec_ctx *c, const char *id, const char *decision,
			  const char *group, const char *comment, const char *channel,
			  struct rec_reply *out, struct tr_error *err)
{
	if (strcmp(decision, "approve") != 0 && strcmp(decision, "reject") != 0 &&
	    strcmp(decision, "abstain") != 0)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "decision",
				    "'decision' must be approve, reject or abstain");
	struct decision d = {.job = {.c = c,
				     .kind = "change",
				     .id = id,
				     .comment = comment,
				     .out = out,
				     .err = err},
			     .decision = decision,
			     .group = group,
			     .channel = channel};
	return rec_run(&d.job, vote_tx);
}

static enum db_status break_glass_tx(struct store *st, void *cls)
{
	struct decision *d = cls;
	struct rec_job *j = &d->job;
	struct store_record r = {0};
	const struct wf *wf;
	char reason[256];
	(void)st;

	rec_reply_clear(j->out);
	enum db_status s = load_awaiting(d, &r, &wf);
	if (s < 0) {
		store_record_clear(&r);
		return s;
	}
	enum policy_vote_check chk = policy_break_glass_allowed(
		j->c->defs->policies, r.data, j->c->actor, d->justification, reason, sizeof reason);
	if (chk != POLICY_VOTE_OK) {
		enum tr_code code = chk == POLICY_VOTE_JUSTIFICATION_TOO_SHORT ? TR_E_UNPROCESSABLE
									       : TR_E_FORBIDDEN;
		tr_error_set(j->err, code, code == TR_E_UNPROCESSABLE ? "justification" : NULL,
			     "%s", reason);
		tr_error_rule(j->err, tr_code_of_rule(policy_vote_rule(chk)));
		store_record_clear(&r);
		return rec_refuse(j, code);
	}
	json_t *bg = policy_break_glass(j->c->actor, d->justification, j->c->now_ms);
	if (bg == NULL) {
		store_record_clear(&r);
		return DB_HARD;
	}
	json_t *next = json_deep_copy(json_object_get(r.data, "approvals"));
	json_object_set(next, "satisfied", json_true());
	json_object_set(next, "rejected", json_false());
	json_object_set(next, "break_glass", json_object_get(bg, "break_glass"));
	json_object_set_new(r.data, "approvals", next);
	/* Breaking glass always earns a post-implementation review. */
	json_t *review = json_object_get(r.data, "review");
	if (!json_is_object(review))
		json_object_set(r.data, "review", json_object_get(bg, "review"));
	else
		json_object_update(review, json_object_get(bg, "review"));
	json_decref(bg);
	s = settle_and_persist(d, &r, wf, "break_glass",
			       json_pack("{s:s}", "justification", d->justification));
	store_record_clear(&r);
	return s;
}

enum tr_code records_break_glass(struct rec_ctx *c, const char *id, const char *justification,
				 struct rec_reply *out, struct tr_error *err)
{
	struct decision d = {.job = {.c = c, .kind = "change", .id = id, .out = out, .err = err},
			     .justification = justification};
	return rec_run(&d.job, break_glass_tx);
}

/* ---- the caller's queue ----------------------------------------------------------------- */

enum tr_code records_pending(struct rec_ctx *c, const char *limit, struct rec_reply *out,
			     struct tr_error *err)
{
	json_t *rows, *rec;
	size_t i, total = 0, cap = (size_t)-1;
	if (limit != NULL) {
		char *end;
		long v = strtol(limit, &end, 10);
		if (*limit == '\0' || *end != '\0' || v < 1 || v > 500)
			return tr_error_set(err, TR_E_BAD_PARAMETER, "limit",
					    "query parameter 'limit' must be a whole number from 1 "
					    "to 500");
		cap = (size_t)v;
	}
	enum db_status s = store_records_awaiting_approval(c->st, &rows);
	if (s < 0)
		return rec_db_error(err, s, c->st);
	json_t *items = json_array();
	json_array_foreach(rows, i, rec) {
		json_t *a = json_object_get(rec, "approvals"), *v;
		const char *group = NULL;
		bool voted = false;
		size_t k;
		json_array_foreach(json_object_get(a, "votes"), k, v)
			voted = voted || strcmp(json_string_value(json_object_get(v, "user")) ?: "",
						c->actor) == 0;
		if (voted || c->defs->policies == NULL ||
		    policy_vote_allowed(c->defs->policies, json_object_get(a, "required"), rec,
					c->actor, NULL, &group, NULL, 0) != POLICY_VOTE_OK)
			continue;
		if (total++ >= cap)
			continue;
		json_array_append_new(items,
				      json_pack("{s:O, s:O, s:O, s:O?, s:O, s:s, s:O?}", "id",
						json_object_get(rec, "id"), "title",
						json_object_get(rec, "title"), "state",
						json_object_get(rec, "state"), "risk",
						json_object_get(rec, "risk"), "groups",
						json_object_get(a, "groups"), "your_group", group,
						"expires_at", json_object_get(a, "expires_at")));
	}
	json_decref(rows);
	out->body = json_pack("{s:o, s:I}", "items", items, "total", (json_int_t)total);
	return out->body ? TR_OK : TR_E_NOMEM;
}

/* ---- the dry run ------------------------------------------------------------------------ */

static enum db_status simulate_tx(struct store *st, void *cls)
{
	struct rec_job *j = cls;
	struct rec_ctx *c = j->c;
	const struct wf *wf = NULL;
	struct wf_outcome start = {0}, submit = {0};
	json_t *result = NULL;
	(void)st;

	json_t *draft = json_deep_copy(j->input);
	json_object_set_new(draft, "id", json_string("CHG-0"));
	json_object_set_new(draft, "requester", json_string(c->actor));
	bool have_wf = wf_set_select(c->defs->workflows, "change", draft, &wf) == WF_OK;
	/* The one decision submit also asks (decide.c), on the draft. */
	enum db_status s = rec_decide(j, have_wf ? wf : NULL, draft, &result);
	if (s < 0) {
		json_decref(draft);
		return s;
	}
	/* The path a submit would take, on copies: the engine is pure. */
	json_t *workflow = json_object();
	if (have_wf) {
		struct store_record r = {.data = draft};
		snprintf(r.kind, sizeof r.kind, "change");
		r.created_ms = r.updated_ms = r.entered_ms = c->now_ms;
		struct wf_ctx ctx;
		rec_engine_ctx(j, &r, &ctx);
		json_object_set_new(workflow, "name", json_string(wf_name(wf)));
		if (wf_start(wf, &ctx, &start) == WF_OK) {
			json_t *path = json_deep_copy(start.path);
			r.data = start.record;
			snprintf(r.state, sizeof r.state, "%s", start.state);
			rec_engine_ctx(j, &r, &ctx);
			ctx.risk = start.risk ? start.risk : ctx.risk;
			struct rec_reply refusal = {0};
			struct tr_error terr = {0};
			struct rec_job check = {.c = c, .out = &refusal, .err = &terr};
			if (wf_fire(wf, &ctx, "submit", &submit) != WF_OK) {
				json_object_set_new(workflow, "blocked",
						    json_pack("{s:s, s:s, s:O?, s:s?}", "event",
							      "submit", "detail", submit.detail,
							      "missing", submit.missing, "guard",
							      submit.guard_name));
			} else if (!rec_decision_allows_submit(&check, draft, result)) {
				json_object_set_new(workflow, "blocked",
						    json_pack("{s:s, s:s, s:s, s:s?}", "event",
							      "submit", "detail", terr.detail,
							      "rule", terr.rule, "field",
							      terr.field[0] ? terr.field : NULL));
			} else {
				size_t i;
				json_t *st8;
				json_array_foreach(submit.path, i, st8)
					if (i > 0)
						json_array_append(path, st8);
				/* what the submit's own actions decided, on the same record */
				json_t *req = json_object_get(submit.approvals, "required");
				if (req != NULL)
					json_object_set(result, "approvals", req);
				if (submit.risk != NULL)
					json_object_set(result, "risk", submit.risk);
			}
			rec_reply_clear(&refusal);
			json_object_set_new(workflow, "path", path);
		}
	} else {
		json_object_set_new(workflow, "blocked",
				    json_pack("{s:s}", "detail", "no workflow applies"));
	}
	json_object_set_new(result, "workflow", workflow);
	wf_outcome_clear(&start);
	wf_outcome_clear(&submit);
	/* Why the proposed slot is no earlier when an open incident holds the services. */
	json_t *held = NULL;
	s = incident_freezes_holding(c, draft, &held);
	json_decref(draft);
	if (s < 0) {
		json_decref(result);
		return s;
	}
	json_object_set_new(result, "incident_freezes", held);
	j->out->body = result;
	/* Nothing was written, and nothing is to be: end the transaction as a refusal. */
	j->code = TR_OK;
	return DB_ONE;
}

enum tr_code records_simulate(struct rec_ctx *c, json_t *input, struct rec_reply *out,
			      struct tr_error *err)
{
	enum tr_code rc = fields_check("change", input, true, err);
	if (rc == TR_OK)
		rc = fields_check_record("change", input, err);
	if (rc != TR_OK)
		return rc;
	struct rec_job j = {.c = c, .kind = "change", .input = input, .out = out, .err = err};
	return rec_run(&j, simulate_tx);
}
