/*
 * votes.c -- votes on the approvals a change needs (policy.h): whether a user may cast
 * one (segregation of duties), tallying them per group, and breaking glass.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "policy/policy_int.h"

#define TIME_MS_MAX 253402300799999LL /* 9999-12-31T23:59:59.999Z */

/* ---- votes ---------------------------------------------------------------------------- */

const char *policy_vote_rule(enum policy_vote_check c)
{
	switch (c) {
	case POLICY_VOTE_OK:
		return "ok";
	case POLICY_VOTE_REQUESTER_CANNOT_APPROVE:
		return "requester_cannot_approve";
	case POLICY_VOTE_NOT_A_MEMBER:
		return "not_a_member";
	case POLICY_VOTE_NOT_REQUIRED:
		return "not_required";
	case POLICY_VOTE_REQUESTER_CANNOT_BREAK_GLASS:
		return "requester_cannot_break_glass";
	case POLICY_VOTE_BREAK_GLASS_NOT_ALLOWED:
		return "break_glass_not_allowed";
	case POLICY_VOTE_JUSTIFICATION_TOO_SHORT:
		return "justification_too_short";
	case POLICY_VOTE_EDITOR_CANNOT_APPROVE:
		return "editor_cannot_approve";
	}
	return "unknown";
}

/* The required group entry named `name`, or NULL. */
static json_t *required_group(json_t *required, const char *name)
{
	size_t i;
	json_t *g;

	json_array_foreach(json_object_get(required, "groups"), i, g) {
		const char *n = json_string_value(json_object_get(g, "group"));
		if (n != NULL && name != NULL && strcmp(n, name) == 0)
			return g;
	}
	return NULL;
}

/* Whether required.groups is usable: every entry an object with a string "group". */
static bool groups_valid(json_t *groups)
{
	size_t i;
	json_t *g;

	if (!json_is_array(groups))
		return false;
	json_array_foreach(groups, i, g) {
		if (!json_is_string(json_object_get(g, "group")))
			return false;
	}
	return true;
}

/*
 * The required group a vote without one goes to: among the groups whose eligible members
 * include `user` (and, when `set` is given, whose current members do), the one with the
 * least slack (eligible members minus quorum), the first on a tie; -1 when none.  So a
 * person needed by a small group is not used up by a large one.
 */
static long long pick_group(const struct policy_set *set, json_t *groups, const char *user)
{
	long long best = -1, best_slack = 0;
	size_t i;
	json_t *g;

	json_array_foreach(groups, i, g) {
		json_t *eligible = json_object_get(g, "eligible");
		const char *name = json_string_value(json_object_get(g, "group"));
		if (!policy_has_str(eligible, user) ||
		    (set != NULL && !policy_people_has(set->people, name, user)))
			continue;
		long long slack = (long long)json_array_size(eligible) -
				  (long long)json_integer_value(json_object_get(g, "quorum"));
		if (best < 0 || slack < best_slack) {
			best = (long long)i;
			best_slack = slack;
		}
	}
	return best;
}

/* Whether `sod` of `required` has `rule` on (absent: on). */
static bool sod_on(json_t *required, const char *rule)
{
	json_t *v = json_object_get(json_object_get(required, "sod"), rule);

	return !json_is_false(v);
}

enum policy_vote_check policy_vote_allowed(const struct policy_set *set, json_t *required,
					   json_t *change, const char *voter, const char *group,
					   const char **group_out, char *reason, size_t reason_size)
{
	const char *who = policy_canonical_user(set, voter);
	const char *requester =
		policy_canonical_user(set, json_string_value(json_object_get(change, "requester")));
	const char *id = json_string_value(json_object_get(change, "id"));

	if (group_out != NULL)
		*group_out = NULL;
	if (who == NULL || who[0] == '\0') {
		policy_say(reason, reason_size, "not_a_member: no voter given");
		return POLICY_VOTE_NOT_A_MEMBER;
	}
	/* the rule holds when the current policy or the request says so */
	if (requester != NULL && strcmp(who, requester) == 0 &&
	    (set->approvals->requester_cannot_approve ||
	     sod_on(required, "requester_cannot_approve"))) {
		policy_say(reason, reason_size,
			   "requester_cannot_approve: %.100s requested %.40s and cannot vote on it",
			   who, id != NULL ? id : "this change");
		return POLICY_VOTE_REQUESTER_CANNOT_APPROVE;
	}
	/* whoever wrote the change's content is no more independent than its requester */
	json_t *editor;
	size_t k;
	json_array_foreach(json_object_get(change, "editors"), k, editor) {
		const char *e = policy_canonical_user(set, json_string_value(editor));
		if (e != NULL && strcmp(e, who) == 0 &&
		    (set->approvals->editors_cannot_approve ||
		     json_is_true(json_object_get(json_object_get(required, "sod"),
						  "editors_cannot_approve")))) {
			policy_say(
				reason, reason_size,
				"editor_cannot_approve: %.100s edited %.40s and cannot vote on it",
				who, id != NULL ? id : "this change");
			return POLICY_VOTE_EDITOR_CANNOT_APPROVE;
		}
	}
	if (group != NULL) {
		json_t *g = required_group(required, group);
		if (g == NULL) {
			policy_say(
				reason, reason_size,
				"not_required: group '%.100s' is not asked to approve this change",
				group);
			return POLICY_VOTE_NOT_REQUIRED;
		}
		if (!policy_people_has(set->people, group, who)) {
			policy_say(reason, reason_size,
				   "not_a_member: %.100s is not a member of group '%.100s'", who,
				   group);
			return POLICY_VOTE_NOT_A_MEMBER;
		}
		if (!policy_has_str(json_object_get(g, "eligible"), who)) {
			policy_say(
				reason, reason_size,
				"not_a_member: %.100s was not an eligible member of '%.100s' when "
				"approvals were requested",
				who, group);
			return POLICY_VOTE_NOT_A_MEMBER;
		}
		if (group_out != NULL)
			*group_out = json_string_value(json_object_get(g, "group"));
		policy_say(reason, reason_size, "ok: %.100s votes for group '%.100s'", who, group);
		return POLICY_VOTE_OK;
	}
	json_t *groups = json_object_get(required, "groups");
	long long pos = groups_valid(groups) ? pick_group(set, groups, who) : -1;
	if (pos >= 0) {
		const char *name = json_string_value(
			json_object_get(json_array_get(groups, (size_t)pos), "group"));
		if (group_out != NULL)
			*group_out = name;
		policy_say(reason, reason_size, "ok: %.100s votes for group '%.100s'", who, name);
		return POLICY_VOTE_OK;
	}
	policy_say(reason, reason_size,
		   "not_a_member: %.100s is not an eligible member of any group asked to approve",
		   who);
	return POLICY_VOTE_NOT_A_MEMBER;
}

bool policy_owner_team(const struct policy_set *set)
{
	return set != NULL && set->approvals->owner_team;
}

/* ---- tally ---------------------------------------------------------------------------- */

/* One vote that passed the checks. */
struct vote {
	const char *user;
	size_t group; /* position in required.groups */
	const char *decision;
	json_t *at;
	bool counts; /* the latest of its user (and group) */
};

/* Checks `v`; fills `out` and returns true, or appends to `ignored` and returns false. */
static bool vote_check(json_t *groups, json_t *v, struct vote *out, json_t *ignored, bool *oom)
{
	const char *user = json_string_value(json_object_get(v, "user"));
	const char *decision = json_string_value(json_object_get(v, "decision"));
	json_t *gv = json_object_get(v, "group");
	char why[POLICY_REASON_MAX];
	long long pos = -1;

	if (user == NULL) {
		policy_say(why, sizeof why, "no user");
	} else if (decision == NULL ||
		   (strcmp(decision, "approve") != 0 && strcmp(decision, "reject") != 0 &&
		    strcmp(decision, "abstain") != 0)) {
		policy_say(why, sizeof why, "unknown decision '%.40s'",
			   decision != NULL ? decision : "(none)");
	} else if (gv == NULL || json_is_null(gv)) {
		pos = pick_group(NULL, groups, user);
		if (pos < 0)
			policy_say(why, sizeof why, "not eligible in any required group");
	} else if (!json_is_string(gv)) {
		policy_say(why, sizeof why, "group is not a string");
	} else {
		size_t i;
		json_t *g;
		json_array_foreach(groups, i, g) {
			if (strcmp(json_string_value(json_object_get(g, "group")),
				   json_string_value(gv)) == 0)
				pos = (long long)i;
		}
		if (pos < 0)
			policy_say(why, sizeof why, "group '%.100s' is not required",
				   json_string_value(gv));
		else if (!policy_has_str(
				 json_object_get(json_array_get(groups, (size_t)pos), "eligible"),
				 user)) {
			policy_say(why, sizeof why, "not eligible in group '%.100s'",
				   json_string_value(gv));
			pos = -1;
		}
	}
	if (pos >= 0) {
		*out = (struct vote){user, (size_t)pos, decision, json_object_get(v, "at"), false};
		return true;
	}
	if (json_array_append_new(ignored, json_pack("{s:s?, s:s}", "user", user, "reason", why)) !=
	    0)
		*oom = true;
	return false;
}

/* Builds the tally entry of group `gi`. */
static json_t *group_tally(json_t *g, size_t gi, const struct vote *votes, size_t n,
			   bool per_person, bool *rejected)
{
	json_t *eligible = json_object_get(g, "eligible");
	json_int_t quorum = json_integer_value(json_object_get(g, "quorum"));
	bool one_rejection = json_is_true(json_object_get(g, "one_rejection_rejects"));
	long long approvals = 0, rejections = 0, abstentions = 0;
	json_t *voted = json_array(), *pending = json_array();
	size_t i;
	json_t *m;

	if (quorum < 1)
		quorum = 1;
	for (size_t k = 0; voted != NULL && k < n; k++) {
		if (!votes[k].counts || votes[k].group != gi)
			continue;
		if (strcmp(votes[k].decision, "approve") == 0)
			approvals++;
		else if (strcmp(votes[k].decision, "reject") == 0)
			rejections++;
		else
			abstentions++;
		if (json_array_append_new(
			    voted, json_pack("{s:s, s:s, s:O?}", "user", votes[k].user, "decision",
					     votes[k].decision, "at", votes[k].at)) != 0)
			goto nomem;
	}
	json_array_foreach(eligible, i, m) {
		bool has_voted = false;
		for (size_t k = 0; !has_voted && k < n; k++)
			has_voted = votes[k].counts && json_is_string(m) &&
				    strcmp(votes[k].user, json_string_value(m)) == 0 &&
				    (per_person || votes[k].group == gi);
		if (!has_voted && json_is_string(m) && json_array_append(pending, m) != 0)
			goto nomem;
	}
	long long n_eligible = (long long)json_array_size(eligible);
	bool g_rejected = one_rejection ? rejections >= 1
					: rejections > 0 && rejections > n_eligible - quorum;
	bool g_satisfied = !g_rejected && approvals >= quorum;
	*rejected = g_rejected;
	return json_pack("{s:O, s:I, s:I, s:I, s:I, s:b, s:b, s:o, s:o}", "group",
			 json_object_get(g, "group"), "quorum", quorum, "approvals",
			 (json_int_t)approvals, "rejections", (json_int_t)rejections, "abstentions",
			 (json_int_t)abstentions, "satisfied", g_satisfied, "rejected", g_rejected,
			 "voted", voted, "pending", pending);
nomem:
	json_decref(voted);
	json_decref(pending);
	return NULL;
}

json_t *policy_approvals_tally(json_t *required, json_t *votes)
{
	json_t *groups = json_object_get(required, "groups");
	bool per_person = sod_on(required, "one_vote_per_person");
	size_t n = json_array_size(votes), n_ok = 0;
	struct vote *v = NULL;
	json_t *ignored = json_array(), *out_groups = json_array(), *seen = json_object();
	bool oom = false, all_satisfied = true, any_rejected = false;

	if (!groups_valid(groups))
		goto fail;
	v = calloc(n + 1, sizeof *v);
	if (v == NULL || ignored == NULL || out_groups == NULL || seen == NULL)
		goto fail;
	for (size_t i = 0; i < n && !oom; i++)
		if (vote_check(groups, json_array_get(votes, i), &v[n_ok], ignored, &oom))
			n_ok++;
	/* the latest vote per user (and group) counts; earlier ones are replaced */
	for (size_t k = n_ok; k-- > 0 && !oom;) {
		char key[300];
		snprintf(key, sizeof key, "%.200s\n%zu", v[k].user, per_person ? 0 : v[k].group);
		if (json_object_get(seen, key) == NULL) {
			v[k].counts = true;
			oom = json_object_set_new(seen, key, json_true()) != 0;
		}
	}
	for (size_t k = 0; k < n_ok && !oom; k++)
		if (!v[k].counts &&
		    json_array_append_new(ignored,
					  json_pack("{s:s, s:s}", "user", v[k].user, "reason",
						    "replaced by a later vote")) != 0)
			oom = true;
	for (size_t gi = 0; gi < json_array_size(groups) && !oom; gi++) {
		bool rejected = false;
		json_t *t =
			group_tally(json_array_get(groups, gi), gi, v, n_ok, per_person, &rejected);
		if (t == NULL || json_array_append_new(out_groups, t) != 0) {
			oom = true;
			break;
		}
		any_rejected = any_rejected || rejected;
		all_satisfied = all_satisfied && json_is_true(json_object_get(t, "satisfied"));
	}
	if (oom)
		goto fail;
	free(v);
	json_decref(seen);
	bool satisfied = !any_rejected && all_satisfied && json_array_size(groups) > 0;
	return json_pack("{s:b, s:b, s:o, s:o}", "satisfied", satisfied, "rejected", any_rejected,
			 "groups", out_groups, "ignored", ignored);
fail:
	free(v);
	json_decref(ignored);
	json_decref(out_groups);
	json_decref(seen);
	return NULL;
}

/* ---- break glass ---------------------------------------------------------------------- */

/* Characters (code points) of `s` without leading and trailing blanks. */
static size_t trimmed_chars(const char *s)
{
	const char *end = s + strlen(s);
	size_t n = 0;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		end--;
	for (; s < end; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

enum policy_vote_check policy_break_glass_allowed(const struct policy_set *set, json_t *change,
						  const char *manager, const char *justification,
						  char *reason, size_t reason_size)
{
	const struct policy_approvals *a = set->approvals;
	const char *who = policy_canonical_user(set, manager);
	const char *requester =
		policy_canonical_user(set, json_string_value(json_object_get(change, "requester")));

	if (a->bg_group == NULL) {
		policy_say(reason, reason_size,
			   "break_glass_not_allowed: break glass is not configured");
		return POLICY_VOTE_BREAK_GLASS_NOT_ALLOWED;
	}
	if (who == NULL || !policy_people_has(set->people, a->bg_group, who)) {
		policy_say(reason, reason_size,
			   "not_a_member: %.100s is not a member of group '%.100s'",
			   who != NULL ? who : "(nobody)", a->bg_group);
		return POLICY_VOTE_NOT_A_MEMBER;
	}
	if (a->requester_cannot_break_glass && requester != NULL && strcmp(requester, who) == 0) {
		policy_say(reason, reason_size,
			   "requester_cannot_break_glass: %.100s requested this change", who);
		return POLICY_VOTE_REQUESTER_CANNOT_BREAK_GLASS;
	}
	if (a->bg_when != NULL) {
		struct policy_env env = {0};
		struct expr_error xe = {0};
		bool yes = false, ok = false;
		if (json_is_object(change) &&
		    policy_env_init(&env, set, NULL, change, NULL, NULL, NULL) == 0)
			ok = expr_eval_bool(a->bg_when, policy_env_get, &env, &yes, &xe);
		else
			policy_say(xe.message, sizeof xe.message, "cannot evaluate");
		policy_env_clear(&env);
		if (!ok || !yes) {
			policy_say(reason, reason_size, "break_glass_not_allowed: %s%.150s",
				   ok ? "the change does not match " : "",
				   ok ? expr_source(a->bg_when) : xe.message);
			return POLICY_VOTE_BREAK_GLASS_NOT_ALLOWED;
		}
	}
	if (justification == NULL ||
	    (long long)trimmed_chars(justification) < a->bg_min_justification) {
		policy_say(reason, reason_size,
			   "justification_too_short: at least %lld characters are required",
			   a->bg_min_justification);
		return POLICY_VOTE_JUSTIFICATION_TOO_SHORT;
	}
	policy_say(reason, reason_size, "ok: %.100s may break glass", who);
	return POLICY_VOTE_OK;
}

json_t *policy_break_glass(const char *manager, const char *justification, long long now_ms)
{
	char at[TIME_RFC3339_LEN];

	if (manager == NULL || justification == NULL || trimmed_chars(manager) == 0 ||
	    trimmed_chars(justification) == 0 || now_ms < 0 || now_ms > TIME_MS_MAX)
		return NULL;
	time_format_ms(now_ms, at);
	json_t *reason = json_sprintf("break glass by %s: %s", manager, justification);
	if (reason == NULL)
		return NULL;
	return json_pack("{s:b, s:b, s:{s:s, s:s, s:s, s:I}, s:{s:b, s:o}}", "satisfied", true,
			 "rejected", false, "break_glass", "by", manager, "justification",
			 justification, "at", at, "at_ms", (json_int_t)now_ms, "review", "required",
			 true, "reason", reason);
}
