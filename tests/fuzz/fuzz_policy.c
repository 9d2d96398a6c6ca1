/*
 * fuzz_policy.c -- libFuzzer target: bytes as the content of one policy file.
 *
 * The first byte picks the file ('p' people.json, 'r' risk.json, 'a' approvals.json,
 * 't' templates.json; other bytes by value modulo 4), the rest is its text.  Every
 * diagnostic is formatted.  A file that validates is built into a set with small fixed
 * versions of the other files and a small catalog, and used the way the service will:
 * lookups, risk assessment, approvals required, votes, tallies, break glass, template
 * pre-approval and a dry run, with invariants checked.  Must never crash, leak or hang.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char catalog_text[] =
	"{\"services\": ["
	"{\"name\": \"web\", \"criticality\": \"high\", \"team\": \"web-team\"},"
	"{\"name\": \"db\", \"criticality\": \"critical\", \"team\": \"db-team\","
	" \"depends_on\": []},"
	"{\"name\": \"jobs\", \"criticality\": \"low\", \"team\": \"web-team\","
	" \"depends_on\": [\"db\"]}]}";

static const char people_text[] =
	"{\"users\": ["
	"{\"name\": \"ann\", \"display_name\": \"Ann\", \"email\": \"ann@x.org\","
	" \"aliases\": [\"A@x.org\"], \"team\": \"web-team\"},"
	"{\"name\": \"bob\", \"display_name\": \"Bob\", \"email\": \"bob@x.org\", \"team\": "
	"\"db-team\"},"
	"{\"name\": \"cy\", \"display_name\": \"Cy\", \"email\": \"cy@x.org\"},"
	"{\"name\": \"dee\", \"display_name\": \"Dee\", \"email\": \"dee@x.org\"}],"
	"\"groups\": ["
	"{\"name\": \"cab\", \"members\": [\"ann\", \"bob\", \"cy\"]},"
	"{\"name\": \"ecab\", \"members\": [\"cy\", \"dee\"]},"
	"{\"name\": \"managers\", \"members\": [\"dee\"]},"
	"{\"name\": \"web-team\", \"members\": [\"ann\", \"cy\"]},"
	"{\"name\": \"db-team\", \"members\": [\"bob\"]}]}";

static const char risk_text[] =
	"{\"factors\": ["
	"{\"id\": \"crit\", \"when\": \"services.max_criticality == \\\"critical\\\"\","
	" \"points\": 25, \"reason\": \"critical\"},"
	"{\"id\": \"hours\", \"when\": \"change.in_business_hours == true\", \"points\": 10,"
	" \"reason\": \"hours\"},"
	"{\"id\": \"hist\", \"when\": \"history.failure_rate >= 0.2\","
	" \"points\": \"min(history.failure_rate * 100, 30)\", \"reason\": \"history\"},"
	"{\"id\": \"long\", \"when\": \"change.duration_seconds != null && "
	"change.duration_seconds > 4h\", \"points\": 10, \"reason\": \"long\"}],"
	"\"levels\": [{\"name\": \"low\", \"min\": 0}, {\"name\": \"medium\", \"min\": 30},"
	" {\"name\": \"high\", \"min\": 60}],"
	"\"business_hours\": {\"utc_offset\": \"+01:00\", \"days\": [\"mon\", \"fri\"],"
	" \"start\": \"08:00\", \"end\": \"18:00\"}}";

static const char approvals_text[] =
	"{\"defaults\": {\"expires_after\": \"72h\", \"expiry_event\": \"expire\"},"
	"\"rules\": ["
	"{\"id\": \"low\", \"when\": \"risk.level == \\\"low\\\"\","
	" \"require\": [{\"group\": \"cab\", \"quorum\": 1, \"one_rejection_rejects\": true}]},"
	"{\"id\": \"high\", \"when\": \"risk.level != \\\"low\\\"\","
	" \"require\": [{\"group\": \"cab\", \"quorum\": 2}, {\"service_owners\": true,"
	" \"quorum\": 1}]},"
	"{\"id\": \"emergency\", \"when\": \"change.type == \\\"emergency\\\"\","
	" \"require\": [{\"group\": \"ecab\", \"quorum\": 2}], \"expires_after\": \"4h\"}],"
	"\"break_glass\": {\"group\": \"managers\", \"min_justification\": 5}}";

static const char templates_text[] =
	"{\"templates\": [{\"id\": \"t\", \"title\": \"T\", \"services\": [\"web\", \"jobs\"],"
	" \"max_duration\": \"1h\", \"preapproved_while\": \"history.template.failure_rate < "
	"0.2\"}]}";

/* Changes the set is exercised with. */
static const char *const changes[] = {
	("{\"id\": \"CHG-1\", \"type\": \"normal\", \"requester\": \"ann\", \"services\": [\"web\","
	 " \"db\", \"nope\"], \"duration\": \"PT5H\", \"not_before\": "
	 "\"2026-12-04T09:00:00+01:00\","
	 " \"template\": \"t\", \"title\": \"x\"}"),
	("{\"type\": \"emergency\", \"requester\": \"A@X.ORG\", \"services\": \"jobs\","
	 " \"duration\": 1800, \"template\": \"t\", \"rollback_plan\": 3}"),
	"{\"services\": [1, null, \"web\"], \"duration\": \"bad\", \"not_before\": \"bad\"}",
};

static const char history_text[] =
	"{\"services\": {\"web\": {\"changes\": 3, \"failures\": 2}, \"db\": {\"changes\": -1,"
	" \"failures\": 9}}, \"templates\": {\"t\": {\"changes\": 1, \"failures\": 1}},"
	" \"teams\": {\"web-team\": {\"changes\": \"x\"}}}";

static void check_risk(json_t *r)
{
	json_int_t sum = 0;
	size_t i;
	json_t *f;

	if (r == NULL)
		return;
	json_array_foreach(json_object_get(r, "factors"), i, f) {
		sum += json_integer_value(json_object_get(f, "points"));
	}
	if (sum != json_integer_value(json_object_get(r, "score")) ||
	    !json_is_string(json_object_get(r, "level")))
		abort();
}

/* Votes by every user for every required group, then the tally. */
static void check_votes(const struct policy_set *set, json_t *req, json_t *change)
{
	static const char *const decisions[] = {"approve", "reject", "abstain", "approve"};
	json_t *votes = json_array();
	const char *group = NULL;
	size_t n = 0;

	for (size_t gi = 0; gi < policy_group_count(set) && votes != NULL; gi++) {
		const struct policy_group *g = policy_group_at(set, gi);
		for (size_t k = 0; k < g->n_members && k < 8; k++) {
			char reason[POLICY_REASON_MAX];
			enum policy_vote_check c = policy_vote_allowed(
				set, req, change, g->members[k], k % 2 == 0 ? NULL : g->name,
				&group, reason, sizeof reason);
			if (c == POLICY_VOTE_OK && group == NULL)
				abort();
			if (policy_vote_rule(c) == NULL)
				abort();
			if (c == POLICY_VOTE_OK)
				json_array_append_new(votes,
						      json_pack("{s:s, s:s, s:s}", "user",
								g->members[k], "group", group,
								"decision", decisions[n++ % 4]));
		}
	}
	json_t *t = policy_approvals_tally(req, votes);
	if (t != NULL && json_is_true(json_object_get(t, "satisfied")) &&
	    json_is_true(json_object_get(t, "rejected")))
		abort();
	json_decref(t);
	json_decref(votes);
}

static void exercise(const struct policy_set *set, const struct policy_catalog *cat)
{
	json_t *history = json_loads(history_text, 0, NULL);
	char reason[POLICY_REASON_MAX];

	if (strlen(policy_version(set)) != 16)
		abort();
	for (size_t i = 0; i < policy_group_count(set); i++) {
		const struct policy_group *g = policy_group_at(set, i);
		if (policy_group_find(set, g->name) != g)
			abort();
		for (size_t k = 0; k < g->n_members; k++) {
			const struct policy_user *u = policy_user_find(set, g->members[k]);
			if (u == NULL || !policy_group_has(set, g->name, u->name) ||
			    policy_user_by_email(set, u->email) != u)
				abort();
			json_decref(policy_user_groups(set, u->email));
		}
	}
	for (size_t c = 0; c < sizeof changes / sizeof changes[0]; c++) {
		json_t *change = json_loads(changes[c], 0, NULL);
		struct policy_error err;
		json_t *risk = policy_risk_assess(set, cat, change, history, &err);
		check_risk(risk);
		json_t *req = policy_approvals_required(set, cat, change, risk, &err);
		if (req != NULL)
			check_votes(set, req, change);
		for (size_t t = 0; t < policy_template_count(set); t++)
			policy_template_preapproved(set, policy_template_at(set, t)->id, change,
						    history, reason, sizeof reason);
		policy_break_glass_allowed(set, change, "dee", "because", reason, sizeof reason);
		json_decref(policy_simulate(set, cat, change, history));
		json_decref(policy_history_summary(set, change, history));
		json_decref(req);
		json_decref(risk);
		json_decref(change);
	}
	json_decref(policy_break_glass("dee", "because", 0));
	json_decref(history);
}

/*
 * Approvals for a fuzzed people file: one rule requiring its first group (read from the
 * text, which validated), none when it has no group.  Owned text; NULL on OOM.
 */
static char *approvals_for(const char *text, size_t len)
{
	json_t *root = json_loadb(text, len, 0, NULL);
	const char *g0 = json_string_value(
		json_object_get(json_array_get(json_object_get(root, "groups"), 0), "name"));
	json_t *a = g0 != NULL ? json_pack("{s:{s:s, s:s}, s:[{s:s, s:s, s:[{s:s, s:i}]}]}",
					   "defaults", "expires_after", "1d", "expiry_event",
					   "expire", "rules", "id", "r", "when", "true", "require",
					   "group", g0, "quorum", 1)
			       : json_pack("{s:{s:s, s:s}, s:[]}", "defaults", "expires_after",
					   "1d", "expiry_event", "expire", "rules");
	char *out = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;

	json_decref(a);
	json_decref(root);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diags d = {0};
	const char *text = size > 0 ? (const char *)data + 1 : "";
	size_t len = size > 0 ? size - 1 : 0;
	int which = size == 0        ? 0
		    : data[0] == 'p' ? 0
		    : data[0] == 'r' ? 1
		    : data[0] == 'a' ? 2
		    : data[0] == 't' ? 3
				     : data[0] % 4;
	struct policy_people *people = NULL;
	struct policy_risk *risk = NULL;
	struct policy_approvals *appr = NULL;
	struct policy_templates *tpl = NULL;
	void *fuzzed = NULL;

	switch (which) {
	case 0:
		fuzzed = people = policy_parse_people("policies/people.json", text, len, &d);
		break;
	case 1:
		fuzzed = risk = policy_parse_risk("policies/risk.json", text, len, &d);
		break;
	case 2:
		fuzzed = appr = policy_parse_approvals("policies/approvals.json", text, len, &d);
		break;
	default:
		fuzzed = tpl = policy_parse_templates("policies/templates.json", text, len, &d);
		break;
	}
	char *lines = diags_join(&d);
	free(lines);
	if (fuzzed != NULL && d.n != 0)
		abort();
	if (fuzzed == NULL && d.n == 0 && !d.oom)
		abort(); /* a refusal always says why */
	if (fuzzed == NULL)
		goto done;

	struct policy_catalog *cat =
		catalog_parse("policies/services.json", catalog_text, strlen(catalog_text), &d);
	if (cat == NULL)
		abort();
	if (people == NULL)
		people = policy_parse_people("p", people_text, strlen(people_text), &d);
	if (risk == NULL)
		risk = policy_parse_risk("r", risk_text, strlen(risk_text), &d);
	if (appr == NULL) {
		/* the fixed approvals name groups a fuzzed people file may lack */
		char *atext = which == 0 ? approvals_for(text, len) : NULL;
		appr = atext != NULL ? policy_parse_approvals("a", atext, strlen(atext), &d)
				     : policy_parse_approvals("a", approvals_text,
							      strlen(approvals_text), &d);
		free(atext);
	}
	if (tpl == NULL)
		tpl = policy_parse_templates("t", templates_text, strlen(templates_text), &d);
	/* a fuzzed people file need not have the catalog's team groups: no catalog then */
	struct policy_set *set =
		policy_set_new(people, risk, appr, tpl, which == 0 ? NULL : cat, &d);
	if (set != NULL)
		exercise(set, which == 0 ? NULL : cat);
	policy_free(set);
	catalog_free(cat);
done:
	diags_clear(&d);
	return 0;
}
