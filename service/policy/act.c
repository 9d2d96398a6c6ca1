/*
 * act.c -- the policy module's workflow actions (`assess_risk`, `request_approvals`) and
 * the dry run behind POST /v1/simulate.
 *
 * The actions read a `struct policy_ext` from wf_ctx.ext and publish through the risk and
 * approvals slots of `struct wf_act`; they never read the clock (ctx->now) beyond
 * stamping the request and arming the expiry timer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy/policy_int.h"
#include "wf/wf_action.h"

#define NOTE_MAX 1024 /* longest note an action writes */

/* The extension of `act`, or NULL when the policy module is not configured. */
static const struct policy_ext *ext_of(const struct wf_act *act)
{
	const struct policy_ext *ext = act->ctx != NULL ? act->ctx->ext : NULL;

	return ext != NULL && ext->set != NULL ? ext : NULL;
}

static int fail(struct wf_act *act, const struct policy_error *err)
{
	policy_say(act->err, sizeof act->err, "%s", err->message);
	return -1;
}

/* Appends "text" to the note being built, keeping it a valid string. */
static void note_add(char *note, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void note_add(char *note, size_t *len, const char *fmt, ...)
{
	va_list ap;

	if (*len >= NOTE_MAX - 1)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(note + *len, NOTE_MAX - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n < NOTE_MAX - *len ? (size_t)n : NOTE_MAX - 1 - *len;
}

int policy_act_assess_risk(struct wf_act *act)
{
	const struct policy_ext *ext = ext_of(act);
	struct policy_error err = {{0}};
	char note[NOTE_MAX];
	size_t len = 0;

	if (ext == NULL)
		return 0;
	json_t *risk = policy_risk_assess(ext->set, ext->catalog, act->record, ext->history, &err);
	if (risk == NULL)
		return fail(act, &err);
	json_decref(*act->risk);
	*act->risk = risk;
	note_add(note, &len, "risk %s (score %lld)",
		 json_string_value(json_object_get(risk, "level")),
		 (long long)json_integer_value(json_object_get(risk, "score")));
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(risk, "factors"), i, f) {
		note_add(note, &len, "%s %s %+lld", i == 0 ? ":" : ",",
			 json_string_value(json_object_get(f, "id")),
			 (long long)json_integer_value(json_object_get(f, "points")));
	}
	policy_utf8_fix(note);
	return wf_act_note(act, note);
}

/* The note of a request: groups and quorums, or why there are none. */
static void request_note(json_t *required, char *note)
{
	size_t len = 0, i;
	json_t *g;

	note[0] = '\0';
	if (json_array_size(json_object_get(required, "groups")) == 0) {
		note_add(note, &len, "no approval rule matched: a change manager decides");
		return;
	}
	note_add(note, &len, "approvals requested:");
	json_array_foreach(json_object_get(required, "groups"), i, g) {
		note_add(note, &len, "%s %s (quorum %lld)", i == 0 ? "" : ",",
			 json_string_value(json_object_get(g, "group")),
			 (long long)json_integer_value(json_object_get(g, "quorum")));
	}
	note_add(note, &len, "; rules:");
	json_array_foreach(json_object_get(required, "rules_matched"), i, g) {
		note_add(note, &len, "%s %s", i == 0 ? "" : ",", json_string_value(g));
	}
	policy_utf8_fix(note);
}

int policy_act_request_approvals(struct wf_act *act)
{
	const struct policy_ext *ext = ext_of(act);
	struct policy_error err = {{0}};
	char note[NOTE_MAX];

	if (ext == NULL)
		return 0;
	json_t *required =
		policy_approvals_required(ext->set, ext->catalog, act->record, *act->risk, &err);
	if (required == NULL)
		return fail(act, &err);
	json_t *none = json_array();
	json_t *status = none != NULL ? policy_approvals_tally(required, none) : NULL;
	json_decref(none);
	json_int_t after = json_integer_value(json_object_get(required, "expires_after"));
	json_int_t now = act->ctx->now;
	const char *board = json_string_value(json_object_get(act->params, "board"));
	const char *event = json_string_value(json_object_get(required, "expiry_event"));
	request_note(required, note);
	if (status == NULL || json_object_set_new(status, "required", required) != 0) {
		json_decref(status);
		policy_say(act->err, sizeof act->err, "out of memory");
		return -1;
	}
	if (json_object_set_new(status, "board",
				board != NULL ? json_string(board) : json_null()) != 0 ||
	    json_object_set_new(status, "requested_at", json_integer(now)) != 0 ||
	    json_object_set_new(status, "expires_at", json_integer(now + after)) != 0) {
		json_decref(status);
		policy_say(act->err, sizeof act->err, "out of memory");
		return -1;
	}
	json_decref(*act->approvals);
	*act->approvals = status;
	json_t *timer = json_pack("{s:s, s:s, s:I, s:I}", "type", "timer_arm", "event", event,
				  "after", after, "due", now + after);
	if (wf_act_effect(act, timer) != 0)
		return -1;
	return wf_act_note(act, note);
}

/* Appends a string to `errors`; false on OOM. */
static bool add_error(json_t *errors, const char *what, const char *msg)
{
	return json_array_append_new(errors, json_sprintf("%s: %s", what, msg)) == 0;
}

json_t *policy_simulate(const struct policy_set *set, const struct policy_catalog *catalog,
			json_t *change, json_t *history)
{
	struct policy_error err = {{0}};
	json_t *errors = json_array(), *tpl = json_null();
	char reason[POLICY_REASON_MAX];

	if (errors == NULL)
		return NULL;
	json_t *risk = policy_risk_assess(set, catalog, change, history, &err);
	if (risk == NULL &&
	    (strcmp(err.message, "out of memory") == 0 || !add_error(errors, "risk", err.message)))
		goto nomem;
	json_t *approvals = policy_approvals_required(set, catalog, change, risk, &err);
	if (approvals == NULL && (strcmp(err.message, "out of memory") == 0 ||
				  !add_error(errors, "approvals", err.message)))
		goto nomem_both;
	const char *id = json_string_value(json_object_get(change, "template"));
	if (id != NULL) {
		bool ok = policy_template_preapproved(set, id, change, history, reason,
						      sizeof reason);
		tpl = json_pack("{s:s, s:b, s:s}", "id", id, "preapproved", ok, "reason", reason);
		if (tpl == NULL) {
			json_decref(approvals);
			goto nomem_both;
		}
	}
	return json_pack("{s:o?, s:o?, s:o, s:o, s:s}", "risk", risk, "approvals", approvals,
			 "template", tpl, "errors", errors, "policy_version", set->version);
nomem_both:
	json_decref(risk);
nomem:
	json_decref(errors);
	return NULL;
}

const struct wf_action_impl policy_wf_actions[] = {
	{"assess_risk", policy_act_assess_risk},
	{"request_approvals", policy_act_request_approvals},
	{NULL, NULL},
};
