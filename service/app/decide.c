/*
 * decide.c -- the one decision on what would happen to a change: the slot it would get
 * now (and the soft freeze it falls in), its risk, the verdict of its standard-change
 * template at that slot, and the approvals it needs.  POST /v1/simulate, the `submit`
 * transition and the deployment gate all ask rec_decide(), so what simulate predicts is
 * what submit does: the approvals are computed after the slot is proposed, on the same
 * record, by the same functions.
 */
#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"
#include "app/records_int.h"

/* The template verdict of `record`, judged at `at` (RFC 3339, may be NULL). */
static json_t *template_verdict(const struct rec_job *j, json_t *record, const char *at)
{
	const struct policy_set *set = j->c->defs->policies;
	const char *id = json_string_value(json_object_get(record, "template"));
	char reason[POLICY_REASON_MAX];
	if (id == NULL || set == NULL)
		return json_null();
	json_t *copy = json_deep_copy(record);
	if (copy == NULL)
		return NULL;
	if (at != NULL)
		json_object_set_new(copy, "not_before", json_string(at));
	bool ok = policy_template_preapproved(set, id, copy, j->history, reason, sizeof reason);
	json_decref(copy);
	return json_pack("{s:s, s:b, s:s, s:s?}", "id", id, "preapproved", ok, "reason", reason,
			 "at", at);
}

enum db_status rec_decide(struct rec_job *j, const struct wf *wf, json_t *record, json_t **out)
{
	struct rec_ctx *c = j->c;
	const struct policy_set *set = c->defs->policies;
	*out = NULL;
	/* 1. the slot first: approval rules and the template read it */
	enum db_status s = rec_load_policy_inputs(j, wf, record); /* proposes if it asks */
	if (s >= 0 && set != NULL && wf != NULL && !wf_uses_action(wf, "request_approvals"))
		s = rec_schedule_propose_any(j, wf, record);
	/* 2. history, once per job, whatever the workflow runs */
	if (s >= 0)
		s = rec_load_history(j, record);
	if (s < 0)
		return s;
	if (set == NULL) {
		*out = json_pack("{s:n, s:n, s:n, s:n, s:[], s:n}", "risk", "approvals", "template",
				 "schedule", "errors", "policy_version");
		return *out != NULL ? DB_ONE : DB_HARD;
	}
	/* 3. risk and approvals on the record that carries the slot */
	json_t *d = policy_simulate(set, c->defs->catalog, record, j->history);
	if (d == NULL)
		return DB_HARD;
	json_t *sched = json_object_get(record, "schedule");
	const char *status = json_string_value(json_object_get(sched, "status"));
	bool proposed = status != NULL && strcmp(status, "proposed") == 0;
	const char *at = proposed ? json_string_value(json_object_get(sched, "start")) : NULL;
	/* 4. the template, at the proposed slot */
	json_t *tpl = template_verdict(j, record, at);
	if (tpl == NULL) {
		json_decref(d);
		return DB_HARD;
	}
	json_object_set_new(d, "template", tpl);
	json_object_set(d, "schedule", proposed ? sched : json_null());
	*out = d;
	return DB_ONE;
}

bool rec_decision_allows_submit(struct rec_job *j, json_t *record, json_t *decision)
{
	const char *type = json_string_value(json_object_get(record, "type"));
	json_t *tpl = json_object_get(decision, "template");
	if (type == NULL || strcmp(type, "standard") != 0 || j->c->defs->policies == NULL)
		return true;
	const char *id = json_string_value(json_object_get(tpl, "id"));
	if (id == NULL)
		return true; /* no template: the workflow's required fields say so */
	if (json_is_true(json_object_get(tpl, "preapproved")))
		return true;
	const char *why = json_string_value(json_object_get(tpl, "reason"));
	tr_error_set(
		j->err, TR_E_UNPROCESSABLE, "template",
		"template '%s' does not pre-approve this change (%s): it is not a standard "
		"change; file it as a normal change (\"type\": \"normal\") to go through the CAB",
		id, why ? why : "its condition does not hold");
	tr_error_rule(j->err, TR_R_TEMPLATE_NOT_PREAPPROVED);
	json_decref(j->out->extra);
	j->out->extra = json_pack("{s:O}", "template", tpl);
	return false;
}
