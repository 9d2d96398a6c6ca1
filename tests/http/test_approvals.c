/*
 * test_approvals.c -- risk scoring and CAB approvals over HTTP against the real transomd:
 * exact scores and factor lists from policies/risk.json, the risk explanation, votes and
 * quorums, segregation of duties, vote replacement, rejection, the pending list, the
 * emergency board and break glass, the dry run of POST /v1/simulate, the history factor
 * rising as changes on a service fail, and GET /v1/policies.
 *
 * Expected scores are computed by hand from the shipped policies (policies/README.md):
 * critical-service +25, customer-facing-service +10, unknown-service +15, no-rollback-plan
 * +20 (under 20 characters), no-test-evidence +15, long-duration +10 (over 4 h),
 * many-services min((n - 3) * 5, 20) + 5 for n > 3, business-hours +10 (Mon-Fri 08:00-18:00
 * at +01:00), poor-track-record min(rate * 100, 30) from rate 0.2, emergency +10; levels
 * low < 30 <= medium < 60 <= high.  History rate = (failures + 1) / (changes + 10).
 *
 * Approval expiry (approvals.json: 72 h, emergency 4 h) cannot be waited for here; the
 * timer machinery that fires it is covered by the timer test in test_records.c.
 *
 * Services: `reporting` (the only low-criticality service) is kept for the history test,
 * so that nothing else closes changes on it; the other tests use web-frontend (high:
 * +10) and friends, whose history nothing here touches.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "lib_http.h"

static struct server srv;
#include "record_steps.h"
/* Requesters; CAB (amartin also change manager); ECAB (dschmidt, ekowalski, fdiallo). */
static char grossi[128], hsato[128], kmensah[128];
static char amartin[128], bokafor[128], cnguyen[128], dschmidt[128], mpetrov[128];
static char ekowalski[128], fdiallo[128], zed[128], alice_alias[128], admin[128];

/* ---- helpers ---------------------------------------------------------------------------- */

static struct reply *get(const char *path, const char *token)
{
	return request(&srv, "GET", path, token, NULL, NULL);
}

/* The id of the record at `path` ("/v1/changes/CHG-12" -> "CHG-12"). */
static const char *id_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/*
 * Creates a change as `token` and submits it; expects 200 and state `want` (the reply is
 * returned for inspection, NULL when creating failed).
 */
static struct reply *create_and_submit(const char *token, const char *body, const char *want,
				       char *path, size_t len)
{
	if (!create("/v1/changes", token, body, path, len))
		return NULL;
	struct reply *r = fire(path, token, "submit");
	CHECKF(r->status == 200 && strcmp(reply_str(r, "state"), want) == 0,
	       "submit %s: status %ld state '%s' (want '%s') body %s", path, r->status,
	       reply_str(r, "state"), want, body_of(r));
	return r;
}

/* POST {path}/approvals with a decision, a comment and (when not NULL) a group. */
static struct reply *vote(const char *path, const char *token, const char *decision,
			  const char *comment, const char *group)
{
	char url[256];
	snprintf(url, sizeof url, "%s/approvals", path);
	json_t *b = json_pack("{s:s, s:s}", "decision", decision, "comment", comment);
	if (group != NULL)
		json_object_set_new(b, "group", json_string(group));
	char *text = json_dumps(b, JSON_COMPACT);
	struct reply *r = post(url, token, text);
	free(text);
	json_decref(b);
	return r;
}

/* Votes and expects 200 with "change".state == want_state; returns the reply. */
static struct reply *vote_ok(const char *path, const char *token, const char *decision,
			     const char *comment, const char *group, const char *want_state)
{
	struct reply *r = vote(path, token, decision, comment, group);
	json_t *chg = json_object_get(r->json, "change");
	const char *st = json_string_value(json_object_get(chg, "state"));
	CHECKF(r->status == 200 && st != NULL && strcmp(st, want_state) == 0,
	       "vote %s %s: status %ld change.state '%s' (want '%s') body %s", path, decision,
	       r->status, st ? st : "(null)", want_state, body_of(r));
	return r;
}

/* The ids of a risk's factors, comma-separated, into `buf`. */
static const char *factor_ids(json_t *risk, char *buf, size_t len)
{
	size_t i;
	json_t *f;
	buf[0] = '\0';
	json_array_foreach(json_object_get(risk, "factors"), i, f) {
		const char *id = json_string_value(json_object_get(f, "id"));
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? "," : "",
			 id ? id : "(no id)");
	}
	return buf;
}

/* The points of factor `id` in `risk`, or -1000 when it did not fire. */
static long long factor_points(json_t *risk, const char *id)
{
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(risk, "factors"), i, f) {
		const char *fid = json_string_value(json_object_get(f, "id"));
		if (fid != NULL && strcmp(fid, id) == 0)
			return json_integer_value(json_object_get(f, "points"));
	}
	return -1000;
}

/* The element of array `arr` whose string member `key` is `value`, or NULL. */
static json_t *find_by(json_t *arr, const char *key, const char *value)
{
	size_t i;
	json_t *it;
	json_array_foreach(arr, i, it) {
		const char *v = json_string_value(json_object_get(it, key));
		if (v != NULL && strcmp(v, value) == 0)
			return it;
	}
	return NULL;
}

/* Whether array `arr` holds the string `s`. */
static bool has_str(json_t *arr, const char *s)
{
	size_t i;
	json_t *it;
	json_array_foreach(arr, i, it) {
		if (json_is_string(it) && strcmp(json_string_value(it), s) == 0)
			return true;
	}
	return false;
}

/* Whether the array of strings `arr` is exactly the set `want` (NULL-terminated). */
static bool same_set(json_t *arr, const char *const *want)
{
	size_t n = 0;
	if (!json_is_array(arr))
		return false;
	for (; want[n] != NULL; n++)
		if (!has_str(arr, want[n]))
			return false;
	return json_array_size(arr) == n;
}

/* Whether the array of strings `arr` is exactly `want` (NULL-terminated), in order. */
static bool path_is(json_t *arr, const char *const *want)
{
	size_t n = 0;
	for (; want[n] != NULL; n++) {
		const char *s = json_string_value(json_array_get(arr, n));
		if (s == NULL || strcmp(s, want[n]) != 0)
			return false;
	}
	return json_array_size(arr) == n;
}

static bool is_hex16(const char *s)
{
	if (s == NULL || strlen(s) != 16)
		return false;
	for (size_t i = 0; i < 16; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* The change at `path` as `token` (caller frees). */
static struct reply *get_change(const char *path, const char *token)
{
	struct reply *r = get(path, token);
	CHECKF(r->status == 200, "GET %s: %ld %s", path, r->status, body_of(r));
	return r;
}

/* The audit events of the change at `path` with action `action` (owned array). */
static json_t *history_events(const char *path, const char *action)
{
	char url[256];
	snprintf(url, sizeof url, "%s/history", path);
	struct reply *r = get(url, admin);
	CHECKF(r->status == 200, "GET %s: %ld %s", url, r->status, body_of(r));
	json_t *out = json_array();
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(r->json, "events"), i, e) {
		const char *a = json_string_value(json_object_get(e, "action"));
		if (a != NULL && strcmp(a, action) == 0)
			json_array_append(out, e);
	}
	reply_free(r);
	return out;
}

/* Whether the JSON text of `v` contains `needle`. */
static bool json_mentions(json_t *v, const char *needle)
{
	char *text = json_dumps(v, JSON_COMPACT);
	bool yes = text != NULL && strstr(text, needle) != NULL;
	free(text);
	return yes;
}

/* The item for change `id` in GET /v1/approvals/pending as `token` (owned), or NULL. */
static json_t *pending_item(const char *token, const char *id)
{
	struct reply *r = get("/v1/approvals/pending", token);
	CHECKF(r->status == 200 && json_is_array(json_object_get(r->json, "items")),
	       "GET /v1/approvals/pending: %ld %s", r->status, body_of(r));
	json_t *it = find_by(json_object_get(r->json, "items"), "id", id);
	json_incref(it);
	reply_free(r);
	return it;
}

/* ---- change bodies ---------------------------------------------------------------------- */

/*
 * reporting (low criticality: 0), a rollback plan of more than 20 characters (0), test
 * evidence (0), PT1H (0), one service (0), Saturday 03:00 at +01:00 (0), normal (0), no
 * history (rate 1/10 = 0.1 < 0.2: 0).  Score 0, low, no factor.
 */
static const char *quiet_reporting =
	"{\"title\": \"Release the revenue dashboard\", \"type\": \"normal\","
	" \"services\": [\"reporting\"], \"duration\": \"PT1H\","
	" \"not_before\": \"2030-01-05T02:00:00Z\","
	" \"description\": \"new finance dashboard\","
	" \"implementation_plan\": \"deploy the dashboard bundle\","
	" \"rollback_plan\": \"redeploy the previous dashboard bundle from the registry\","
	" \"test_evidence\": \"ci run 1234: all dashboard tests green\"}";

/*
 * Five services with payments (critical): critical-service 25 (customer-facing does not
 * fire: the maximum is critical), many-services min(2 * 5, 20) + 5 = 15; rollback plan
 * "revert" (6 characters) 20; no test evidence 15; PT6H 10; Wednesday 2030-01-09 10:30
 * at +01:00 10.  25 + 20 + 15 + 10 + 15 + 10 = 95: high.
 */
static const char *risky_change =
	"{\"title\": \"Move checkout to the new event schema\", \"type\": \"normal\","
	" \"services\": [\"payments\", \"web-frontend\", \"notifications\", \"data-warehouse\","
	" \"search\"], \"duration\": \"PT6H\", \"not_before\": \"2030-01-09T09:30:00Z\","
	" \"description\": \"schema v2 everywhere\", \"implementation_plan\": \"big bang\","
	" \"rollback_plan\": \"revert\"}";
static const char *risky_factors =
	"critical-service,no-rollback-plan,no-test-evidence,long-duration,many-services,"
	"business-hours";

/* web-frontend (high) 10, no test evidence 15, PT6H 10: 35, medium (CAB quorum 2). */
static const char *medium_web =
	"{\"title\": \"Rework the checkout page\", \"type\": \"normal\","
	" \"services\": [\"web-frontend\"], \"duration\": \"PT6H\","
	" \"description\": \"new layout\", \"implementation_plan\": \"blue/green deploy\","
	" \"rollback_plan\": \"switch the load balancer back to the blue pool\"}";

/* web-frontend (high) 10, with test evidence, PT1H: 10, low (CAB quorum 1). */
static const char *low_web =
	"{\"title\": \"Fix a typo on the checkout page\", \"type\": \"normal\","
	" \"services\": [\"web-frontend\"], \"duration\": \"PT1H\","
	" \"description\": \"typo\", \"implementation_plan\": \"deploy\","
	" \"rollback_plan\": \"switch the load balancer back to the blue pool\","
	" \"test_evidence\": \"visual diff reviewed\"}";

/* Emergency on web-frontend: 10 + no test evidence 15 + emergency 10 = 35, medium. */
static const char *emergency_web =
	"{\"title\": \"Patch the checkout XSS\", \"type\": \"emergency\","
	" \"services\": [\"web-frontend\"], \"description\": \"CVE in the template engine\","
	" \"implementation_plan\": \"hotfix deploy\","
	" \"rollback_plan\": \"switch the load balancer back to the blue pool\"}";

static const char *justification =
	"Active exploitation of the checkout XSS; the ECAB is unreachable at 3 am.";

/* ---- risk ------------------------------------------------------------------------------- */

static void test_risk_exact_score_and_factors(void)
{
	char path[64], ids[512];
	struct reply *r = create_and_submit(grossi, risky_change, "authorize", path, sizeof path);
	if (r == NULL)
		return;
	json_t *risk = json_object_get(r->json, "risk");
	CHECKF(json_is_object(risk), "no risk on the submitted change: %s", body_of(r));
	CHECK_INT(json_integer_value(json_object_get(risk, "score")), 95);
	CHECK_STR(json_string_value(json_object_get(risk, "level")), "high");
	CHECK_STR(factor_ids(risk, ids, sizeof ids), risky_factors);
	CHECK_INT(factor_points(risk, "critical-service"), 25);
	CHECK_INT(factor_points(risk, "no-rollback-plan"), 20);
	CHECK_INT(factor_points(risk, "no-test-evidence"), 15);
	CHECK_INT(factor_points(risk, "long-duration"), 10);
	CHECK_INT(factor_points(risk, "many-services"), 15);
	CHECK_INT(factor_points(risk, "business-hours"), 10);
	CHECK_STR(json_string_value(json_object_get(
			  json_array_get(json_object_get(risk, "factors"), 0), "reason")),
		  "touches a critical service");
	CHECK(is_hex16(json_string_value(json_object_get(risk, "policy_version"))));
	static const char *const not_fired[] = {"customer-facing-service", "unknown-service",
						"poor-track-record", "emergency", NULL};
	CHECK(same_set(json_object_get(risk, "not_fired"), not_fired));
	json_t *in = json_object_get(risk, "inputs");
	CHECK_STR(json_string_value(json_object_get(in, "services.max_criticality")), "critical");
	CHECK_INT(json_integer_value(json_object_get(in, "change.duration_seconds")), 6 * 3600);
	CHECK(json_is_true(json_object_get(in, "change.in_business_hours")));

	/* High risk: three CAB members plus every owning team, one each; the requester grossi
	 * is no eligible owner for payments-team. */
	json_t *ap = json_object_get(r->json, "approvals");
	CHECKF(json_is_object(ap), "no approvals on the submitted change: %s", body_of(r));
	CHECK(json_is_false(json_object_get(ap, "satisfied")));
	CHECK(json_is_false(json_object_get(ap, "rejected")));
	json_t *groups = json_object_get(ap, "groups");
	CHECK_INT(json_array_size(groups), 6);
	json_t *g = find_by(groups, "group", "cab");
	CHECK_INT(json_integer_value(json_object_get(g, "quorum")), 3);
	static const char *const owners[] = {"payments-team", "web-team",       "platform-team",
					     "data-team",     "discovery-team", NULL};
	for (size_t i = 0; owners[i] != NULL; i++) {
		g = find_by(groups, "group", owners[i]);
		CHECKF(g != NULL && json_integer_value(json_object_get(g, "quorum")) == 1,
		       "owner group %s: %s", owners[i], body_of(r));
	}
	static const char *const pay_pending[] = {"bokafor", NULL};
	CHECK(same_set(json_object_get(find_by(groups, "group", "payments-team"), "pending"),
		       pay_pending));
	reply_free(r);

	/* The GET agrees with the submit reply. */
	r = get_change(path, grossi);
	CHECK_STR(reply_str(r, "state"), "authorize");
	CHECK_INT(json_integer_value(json_object_get(json_object_get(r->json, "risk"), "score")),
		  95);
	reply_free(r);

	/* A quiet change on a low-criticality service: no factor at all. */
	r = create_and_submit(kmensah, quiet_reporting, "authorize", path, sizeof path);
	if (r == NULL)
		return;
	risk = json_object_get(r->json, "risk");
	CHECK_INT(json_integer_value(json_object_get(risk, "score")), 0);
	CHECK_STR(json_string_value(json_object_get(risk, "level")), "low");
	CHECK_STR(factor_ids(risk, ids, sizeof ids), "");
	CHECK_INT(json_array_size(json_object_get(risk, "not_fired")), 10);
	CHECK(json_is_false(
		json_object_get(json_object_get(risk, "inputs"), "change.in_business_hours")));
	groups = json_object_get(json_object_get(r->json, "approvals"), "groups");
	CHECK_INT(json_array_size(groups), 1);
	CHECK_INT(json_integer_value(json_object_get(find_by(groups, "group", "cab"), "quorum")),
		  1);
	reply_free(r);
}

static void test_risk_endpoint_explains_the_change(void)
{
	char path[64], url[96];
	if (!create("/v1/changes", hsato, medium_web, path, sizeof path))
		return;
	snprintf(url, sizeof url, "%s/risk", path);
	struct reply *r = get(url, hsato);
	CHECKF(problem_is(r, 409, NULL), "draft risk: %ld %s", r->status, body_of(r));
	CHECK_STR(reply_str(r, "rule"), "state");
	reply_free(r);
	r = get("/v1/changes/CHG-999999/risk", hsato);
	CHECKF(problem_is(r, 404, NULL), "unknown risk: %ld %s", r->status, body_of(r));
	reply_free(r);

	struct reply *s = fire(path, hsato, "submit");
	CHECK_INT(s->status, 200);
	r = get(url, cnguyen);
	CHECKF(r->status == 200, "GET %s: %ld %s", url, r->status, body_of(r));
	CHECK_INT(json_integer_value(json_object_get(r->json, "score")), 35);
	CHECK_STR(reply_str(r, "level"), "medium");
	struct reply *c = get_change(path, cnguyen);
	json_t *stored = json_object_get(c->json, "risk");
	CHECKF(json_is_object(stored) && json_equal(r->json, stored),
	       "GET /risk %s differs from the change's risk", body_of(r));
	CHECK(json_equal(r->json, json_object_get(s->json, "risk")));
	char ids[256];
	CHECK_STR(factor_ids(r->json, ids, sizeof ids),
		  "customer-facing-service,no-test-evidence,long-duration");
	json_t *h = json_object_get(r->json, "history");
	CHECKF(json_is_object(h) &&
		       fabs(json_number_value(json_object_get(h, "failure_rate")) - 0.1) < 1e-9,
	       "history %s", body_of(r));
	reply_free(c);
	reply_free(s);
	reply_free(r);
}

/* ---- votes ------------------------------------------------------------------------------ */

static void test_quorum_reached_moves_on_by_itself(void)
{
	char path[64], url[96];
	struct reply *r = create_and_submit(hsato, medium_web, "authorize", path, sizeof path);
	if (r == NULL)
		return;
	CHECK_STR(json_string_value(json_object_get(json_object_get(r->json, "risk"), "level")),
		  "medium");
	reply_free(r);

	/* Before any vote: the whole CAB may vote (the requester hsato is not in it). */
	snprintf(url, sizeof url, "%s/approvals", path);
	r = get(url, hsato);
	CHECKF(r->status == 200, "GET %s: %ld %s", url, r->status, body_of(r));
	CHECK(json_is_false(json_object_get(r->json, "satisfied")));
	json_t *g = find_by(json_object_get(r->json, "groups"), "group", "cab");
	CHECK_INT(json_integer_value(json_object_get(g, "quorum")), 2);
	static const char *const all_cab[] = {"amartin",  "bokafor", "cnguyen",
					      "dschmidt", "mpetrov", NULL};
	CHECKF(same_set(json_object_get(g, "pending"), all_cab), "%s", body_of(r));
	reply_free(r);

	r = vote_ok(path, bokafor, "approve", "looks fine", NULL, "authorize");
	CHECK(json_is_false(json_object_get(r->json, "satisfied")));
	CHECK(json_is_false(json_object_get(r->json, "rejected")));
	g = find_by(json_object_get(r->json, "groups"), "group", "cab");
	CHECK_INT(json_integer_value(json_object_get(g, "approvals")), 1);
	json_t *votes = json_object_get(r->json, "votes");
	CHECK_INT(json_array_size(votes), 1);
	json_t *v = json_array_get(votes, 0);
	CHECK_STR(json_string_value(json_object_get(v, "user")), "bokafor");
	CHECK_STR(json_string_value(json_object_get(v, "group")), "cab");
	CHECK_STR(json_string_value(json_object_get(v, "decision")), "approve");
	CHECK_STR(json_string_value(json_object_get(v, "comment")), "looks fine");
	CHECK_STR(json_string_value(json_object_get(v, "channel")), "api");
	CHECK(strlen(json_string_value(json_object_get(v, "at")) ?: "") > 0);
	json_t *chg = json_object_get(r->json, "change");
	CHECK_STR(json_string_value(json_object_get(chg, "id")), id_of(path));
	long long version = json_integer_value(json_object_get(chg, "version"));
	reply_free(r);

	r = get(url, hsato);
	static const char *const rest[] = {"amartin", "cnguyen", "dschmidt", "mpetrov", NULL};
	g = find_by(json_object_get(r->json, "groups"), "group", "cab");
	CHECKF(same_set(json_object_get(g, "pending"), rest), "%s", body_of(r));
	reply_free(r);

	/* The second approval reaches the quorum: the change moves on without anyone firing
	 * an event. */
	r = vote_ok(path, cnguyen, "approve", "ok for the weekend", "cab", "scheduled");
	CHECK(json_is_true(json_object_get(r->json, "satisfied")));
	CHECK_INT(json_array_size(json_object_get(r->json, "votes")), 2);
	CHECK(json_integer_value(json_object_get(json_object_get(r->json, "change"), "version")) >
	      version);
	reply_free(r);
	r = get_change(path, hsato);
	CHECK_STR(reply_str(r, "state"), "scheduled");
	CHECK(json_is_true(json_object_get(json_object_get(r->json, "approvals"), "satisfied")));
	reply_free(r);

	/* Nothing is waiting any more. */
	r = vote(path, mpetrov, "approve", "late", NULL);
	CHECKF(problem_is(r, 409, NULL), "late vote: %ld %s", r->status, body_of(r));
	CHECK_STR(reply_str(r, "rule"), "state");
	reply_free(r);
	json_t *ev = history_events(path, "vote");
	CHECK_INT(json_array_size(ev), 2);
	json_decref(ev);
}

static void test_requester_cannot_approve(void)
{
	char path[64], url[96];
	/* amartin sits on the CAB and raises a change of her own. */
	struct reply *r = create_and_submit(amartin, low_web, "authorize", path, sizeof path);
	if (r == NULL)
		return;
	reply_free(r);
	snprintf(url, sizeof url, "%s/approvals", path);
	r = get(url, amartin);
	json_t *g = find_by(json_object_get(r->json, "groups"), "group", "cab");
	CHECKF(g != NULL && !has_str(json_object_get(g, "pending"), "amartin") &&
		       json_array_size(json_object_get(g, "pending")) == 4,
	       "the requester is offered a vote: %s", body_of(r));
	reply_free(r);

	static const char *const decisions[] = {"approve", "reject", "abstain"};
	for (size_t i = 0; i < 3; i++) {
		r = vote(path, amartin, decisions[i], "my own change", NULL);
		CHECKF(problem_is(r, 403, NULL), "%s: %ld %s", decisions[i], r->status, body_of(r));
		CHECK_STR(reply_str(r, "rule"), "requester_cannot_approve");
		reply_free(r);
	}
	r = vote(path, amartin, "approve", "my own change", "cab");
	CHECKF(problem_is(r, 403, NULL), "%ld %s", r->status, body_of(r));
	CHECK_STR(reply_str(r, "rule"), "requester_cannot_approve");
	reply_free(r);

	r = get_change(path, amartin);
	CHECK_STR(reply_str(r, "state"), "authorize");
	reply_free(r);
	r = get(url, amartin);
	CHECKF(json_is_array(json_object_get(r->json, "votes")) &&
		       json_array_size(json_object_get(r->json, "votes")) == 0,
	       "votes: %s", body_of(r));
	reply_free(r);
	json_t *ev = history_events(path, "vote");
	CHECK_INT(json_array_size(ev), 0);
	json_decref(ev);
}

static void test_alias_of_requester_cannot_approve(void)
{
	/* "alice@example.com" is an address of amartin (people.json): the same person. */
	char path[64];
	struct reply *r = create_and_submit(amartin, low_web, "authorize", path, sizeof path);
	if (r == NULL)
		return;
	reply_free(r);
	r = vote(path, alice_alias, "approve", "rubber stamp", NULL);
	CHECKF(problem_is(r, 403, NULL), "%ld %s", r->status, body_of(r));
	CHECK_STR(reply_str(r, "rule"), "requester_cannot_approve");
	reply_free(r);
	r = get_change(path, amartin);
	CHECK_STR(reply_str(r, "state"), "authorize");
	reply_free(r);
}

static void test_non_member_cannot_vote(void)
{
	char path[64], url[96];
	struct reply *r = create_and_submit(hsato, low_web, "authorize", path, sizeof path);
	if (r == NULL)
		return;
	reply_free(r);
	/* fdiallo is on the emergency board, not the CAB; zed is in no group at all. */
	const char *who[] = {fdiallo, zed};
	for (size_t i = 0; i < 2; i++) {
		r = vote(path, who[i], "approve", "let me", NULL);
		CHECKF(problem_is(r, 403, NULL), "voter %zu: %ld %s", i, r->status, body_of(r));
		CHECK_STR(reply_str(r, "rule"), "not_a_member");
		reply_free(r);
	}
	r = vote(path, fdiallo, "approve", "let me", "cab");
	CHECKF(problem_is(r, 403, NULL), "%ld %s", r->status, body_of(r));
	CHECK_STR(reply_str(r, "rule"), "not_a_member");
	reply_free(r);
	snprintf(url, sizeof url, "%s/approvals", path);
	r = get(url, hsato);
	CHECK_INT(r->status, 200);
	CHECKF(json_is_array(json_object_get(r->json, "votes")) &&
		       json_array_size(json_object_get(r->json, "votes")) == 0,
	       "votes: %s", body_of(r));
	CHECK(json_is_false(json_object_get(r->json, "satisfied")));
	reply_free(r);
	r = get_change(path, hsato);
	CHECK_STR(reply_str(r, "state"), "authorize");
	reply_free(r);
}

static void test_vote_errors(void)
{
	char path[64];
	if (!create("/v1/changes", hsato, low_web, path, sizeof path))
		return;
	/* A draft is not waiting for approvals. */
	struct reply *r = vote(path, bokafor, "approve", "too early", NULL);
	CHECKF(problem_is(r, 409, NULL), "draft: %ld %s", r->status, body_of(r));
	CHECK_STR(reply_str(r, "rule"), "state");
	reply_free(r);
	r = vote("/v1/changes/CHG-999999", bokafor, "approve", "who?", NULL);
	CHECKF(problem_is(r, 404, NULL), "unknown: %ld %s", r->status, body_of(r));
	reply_free(r);

	struct reply *s = fire(path, hsato, "submit");
	CHECK_INT(s->status, 200);
	reply_free(s);
	r = vote(path, bokafor, "maybe", "undecided", NULL);
	CHECKF(problem_is(r, 422, "decision"), "bad decision: %ld %s", r->status, body_of(r));
	reply_free(r);
	char url[96];
	snprintf(url, sizeof url, "%s/approvals", path);
	r = post(url, bokafor, "{\"comment\": \"forgot the decision\"}");
	CHECKF(problem_is(r, 422, "decision"), "no decision: %ld %s", r->status, body_of(r));
	reply_free(r);
	r = post(url, bokafor, "{\"decision\": 1}");
	CHECKF(problem_is(r, 422, "decision"), "number: %ld %s", r->status, body_of(r));
	reply_free(r);
	/* None of that counted. */
	r = get(url, bokafor);
	CHECKF(json_is_array(json_object_get(r->json, "votes")) &&
		       json_array_size(json_object_get(r->json, "votes")) == 0,
	       "votes: %s", body_of(r));
	reply_free(r);
	r = get_change(path, bokafor);
	CHECK_STR(reply_str(r, "state"), "authorize");
	reply_free(r);
}

static void test_second_vote_replaces_first(void)
{
	char path[64];
	struct reply *r = create_and_submit(hsato, medium_web, "authorize", path, sizeof path);
	if (r == NULL)
		return;
	reply_free(r);
	r = vote_ok(path, dschmidt, "abstain", "need the load test first", NULL, "authorize");
	json_t *g = find_by(json_object_get(r->json, "groups"), "group", "cab");
	CHECK_INT(json_integer_value(json_object_get(g, "abstentions")), 1);
	CHECK_INT(json_integer_value(json_object_get(g, "approvals")), 0);
	reply_free(r);

	r = vote_ok(path, dschmidt, "approve", "load test attached, fine", NULL, "authorize");
	CHECK(json_is_false(json_object_get(r->json, "satisfied")));
	g = find_by(json_object_get(r->json, "groups"), "group", "cab");
	CHECK_INT(json_integer_value(json_object_get(g, "approvals")), 1);
	CHECK_INT(json_integer_value(json_object_get(g, "abstentions")), 0);
	json_t *votes = json_object_get(r->json, "votes");
	CHECKF(json_array_size(votes) == 1, "votes: %s", body_of(r));
	json_t *v = json_array_get(votes, 0);
	CHECK_STR(json_string_value(json_object_get(v, "user")), "dschmidt");
	CHECK_STR(json_string_value(json_object_get(v, "decision")), "approve");
	CHECK_STR(json_string_value(json_object_get(v, "comment")), "load test attached, fine");
	reply_free(r);

	/* The audit trail keeps both, in order. */
	json_t *ev = history_events(path, "vote");
	CHECK_INT(json_array_size(ev), 2);
	if (json_array_size(ev) == 2) {
		json_t *a = json_array_get(ev, 0), *b = json_array_get(ev, 1);
		CHECK_STR(json_string_value(json_object_get(a, "actor")), "dschmidt");
		CHECK_STR(json_string_value(json_object_get(b, "actor")), "dschmidt");
		CHECKF(json_mentions(a, "abstain") && json_mentions(a, "need the load test first"),
		       "first vote event lacks its decision or comment");
		CHECKF(json_mentions(b, "approve") && json_mentions(b, "load test attached, fine"),
		       "second vote event lacks its decision or comment");
	}
	json_decref(ev);

	/* Replacing did not use up the quorum: one more approval finishes it. */
	r = vote_ok(path, mpetrov, "approve", "fine", NULL, "scheduled");
	CHECK(json_is_true(json_object_get(r->json, "satisfied")));
	reply_free(r);
}

static void test_one_rejection_rejects(void)
{
	char path[64];
	/* Medium: quorum 2, so one approval first leaves it waiting; one rejection ends it. */
	struct reply *r = create_and_submit(grossi, medium_web, "authorize", path, sizeof path);
	if (r == NULL)
		return;
	reply_free(r);
	r = vote_ok(path, cnguyen, "approve", "fine by me", NULL, "authorize");
	reply_free(r);
	r = vote_ok(path, mpetrov, "reject", "clashes with the sale", NULL, "rejected");
	CHECK(json_is_true(json_object_get(r->json, "rejected")));
	CHECK(json_is_false(json_object_get(r->json, "satisfied")));
	json_t *g = find_by(json_object_get(r->json, "groups"), "group", "cab");
	CHECK_INT(json_integer_value(json_object_get(g, "rejections")), 1);
	reply_free(r);
	r = get_change(path, grossi);
	CHECK_STR(reply_str(r, "state"), "rejected");
	CHECK(json_is_true(json_object_get(json_object_get(r->json, "approvals"), "rejected")));
	reply_free(r);
	r = vote(path, bokafor, "approve", "too late", NULL);
	CHECKF(problem_is(r, 409, NULL), "vote on a rejected change: %ld %s", r->status,
	       body_of(r));
	CHECK_STR(reply_str(r, "rule"), "state");
	reply_free(r);
}

/* ---- the pending list ------------------------------------------------------------------- */

static void test_pending_list_follows_votes(void)
{
	char path[64];
	if (!create("/v1/changes", amartin, medium_web, path, sizeof path))
		return;
	const char *id = id_of(path);
	json_t *it = pending_item(cnguyen, id);
	CHECKF(it == NULL, "a draft is pending for cnguyen");
	json_decref(it);

	struct reply *s = fire(path, amartin, "submit");
	CHECK_INT(s->status, 200);
	reply_free(s);
	it = pending_item(cnguyen, id);
	CHECKF(it != NULL, "%s not pending for cnguyen", id);
	if (it != NULL) {
		CHECK_STR(json_string_value(json_object_get(it, "title")),
			  "Rework the checkout page");
		CHECK_STR(json_string_value(json_object_get(it, "state")), "authorize");
		json_t *risk = json_object_get(it, "risk");
		CHECK_INT(json_integer_value(json_object_get(risk, "score")), 35);
		CHECK_STR(json_string_value(json_object_get(risk, "level")), "medium");
		CHECK(json_array_size(json_object_get(it, "groups")) >= 1);
	}
	json_decref(it);
	/* Not for the requester (a CAB member herself), nor for someone outside the CAB. */
	it = pending_item(amartin, id);
	CHECKF(it == NULL, "%s pending for its requester", id);
	json_decref(it);
	it = pending_item(fdiallo, id);
	CHECKF(it == NULL, "%s pending for fdiallo (not on the CAB)", id);
	json_decref(it);

	struct reply *r = vote_ok(path, mpetrov, "approve", "fine", NULL, "authorize");
	reply_free(r);
	it = pending_item(mpetrov, id);
	CHECKF(it == NULL, "%s still pending for mpetrov after his vote", id);
	json_decref(it);
	it = pending_item(cnguyen, id);
	CHECKF(it != NULL, "%s no longer pending for cnguyen", id);
	json_decref(it);
	it = pending_item(bokafor, id);
	CHECKF(it != NULL, "%s no longer pending for bokafor", id);
	json_decref(it);

	r = vote_ok(path, cnguyen, "approve", "fine", NULL, "scheduled");
	reply_free(r);
	it = pending_item(bokafor, id);
	CHECKF(it == NULL, "%s still pending for bokafor once scheduled", id);
	json_decref(it);
	it = pending_item(cnguyen, id);
	CHECKF(it == NULL, "%s still pending for cnguyen after voting", id);
	json_decref(it);
}

/* GET /v1/approvals/pending?limit=N: at most N items, `total` counts them all. */
static void test_pending_list_pages(void)
{
	char path[64];
	for (int i = 0; i < 3; i++) {
		if (!create("/v1/changes", amartin, medium_web, path, sizeof path))
			return;
		struct reply *s = fire(path, amartin, "submit");
		CHECK_INT(s->status, 200);
		reply_free(s);
	}
	struct reply *all = get("/v1/approvals/pending", cnguyen);
	struct reply *two = get("/v1/approvals/pending?limit=2", cnguyen);
	CHECK_INT(two->status, 200);
	size_t n = json_array_size(json_object_get(all->json, "items"));
	CHECKF(n >= 3, "pending for cnguyen: %s", body_of(all));
	CHECK_INT(json_integer_value(json_object_get(all->json, "total")), n);
	CHECK_INT(json_array_size(json_object_get(two->json, "items")), 2);
	CHECK_INT(json_integer_value(json_object_get(two->json, "total")), n);
	/* the oldest first, as in the whole list */
	CHECK(json_equal(json_array_get(json_object_get(two->json, "items"), 0),
			 json_array_get(json_object_get(all->json, "items"), 0)));
	reply_free(all);
	reply_free(two);
	const char *bad[] = {"0", "501", "ten", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char p[64];
		snprintf(p, sizeof p, "/v1/approvals/pending?limit=%s", bad[i]);
		struct reply *r = get(p, cnguyen);
		CHECKF(problem_is(r, 400, "limit"), "limit=%s: %ld %s", bad[i], r->status,
		       body_of(r));
		reply_free(r);
	}
}

/* ---- emergency -------------------------------------------------------------------------- */

static void test_emergency_board_two_of_three(void)
{
	char path[64], ids[256];
	struct reply *r = create_and_submit(hsato, emergency_web, "authorize", path, sizeof path);
	if (r == NULL)
		return;
	CHECK_STR(reply_str(r, "workflow"), "change-emergency");
	json_t *risk = json_object_get(r->json, "risk");
	CHECK_INT(json_integer_value(json_object_get(risk, "score")), 35);
	CHECK_STR(json_string_value(json_object_get(risk, "level")), "medium");
	CHECK_STR(factor_ids(risk, ids, sizeof ids),
		  "customer-facing-service,no-test-evidence,emergency");
	json_t *groups = json_object_get(json_object_get(r->json, "approvals"), "groups");
	CHECKF(json_array_size(groups) == 1, "%s", body_of(r));
	json_t *g = find_by(groups, "group", "ecab");
	CHECK_INT(json_integer_value(json_object_get(g, "quorum")), 2);
	reply_free(r);

	json_t *it = pending_item(fdiallo, id_of(path));
	CHECKF(it != NULL, "emergency change not pending for fdiallo");
	json_decref(it);
	it = pending_item(bokafor, id_of(path));
	CHECKF(it == NULL, "emergency change pending for bokafor (CAB only)");
	json_decref(it);

	r = vote(path, bokafor, "approve", "cab is not ecab", NULL);
	CHECKF(problem_is(r, 403, NULL), "%ld %s", r->status, body_of(r));
	CHECK_STR(reply_str(r, "rule"), "not_a_member");
	reply_free(r);
	r = vote_ok(path, dschmidt, "approve", "go", NULL, "authorize");
	CHECK(json_is_false(json_object_get(r->json, "satisfied")));
	reply_free(r);
	r = vote_ok(path, fdiallo, "approve", "go", "ecab", "approved");
	CHECK(json_is_true(json_object_get(r->json, "satisfied")));
	reply_free(r);
	r = get_change(path, hsato);
	CHECK_STR(reply_str(r, "state"), "approved");
	reply_free(r);
}

static void test_break_glass(void)
{
	char path[64], url[96];
	struct reply *r = create_and_submit(hsato, emergency_web, "authorize", path, sizeof path);
	if (r == NULL)
		return;
	reply_free(r);
	snprintf(url, sizeof url, "%s/break-glass", path);
	char body[512];
	snprintf(body, sizeof body, "{\"justification\": \"%s\"}", justification);

	/* dschmidt is on the emergency board but no change manager; hsato requested it. */
	r = post(url, dschmidt, body);
	CHECKF(problem_is(r, 403, NULL), "non-manager: %ld %s", r->status, body_of(r));
	reply_free(r);
	r = post(url, hsato, body);
	CHECKF(problem_is(r, 403, NULL), "requester: %ld %s", r->status, body_of(r));
	reply_free(r);
	/* 29 characters: one short of min_justification. */
	r = post(url, ekowalski, "{\"justification\": \"it is urgent, trust me please\"}");
	CHECKF(problem_is(r, 422, "justification"), "short: %ld %s", r->status, body_of(r));
	reply_free(r);
	r = post(url, ekowalski, "{}");
	CHECKF(problem_is(r, 422, "justification"), "missing: %ld %s", r->status, body_of(r));
	reply_free(r);
	r = get_change(path, hsato);
	CHECK_STR(reply_str(r, "state"), "authorize");
	reply_free(r);

	r = post(url, ekowalski, body);
	CHECKF(r->status == 200, "break glass: %ld %s", r->status, body_of(r));
	reply_free(r);
	r = get_change(path, hsato);
	CHECK_STR(reply_str(r, "state"), "approved");
	CHECKF(json_is_true(json_object_get(json_object_get(r->json, "review"), "required")),
	       "no review forced: %s", body_of(r));
	reply_free(r);
	json_t *ev = history_events(path, "break_glass");
	CHECK_INT(json_array_size(ev), 1);
	json_t *e = json_array_get(ev, 0);
	CHECK_STR(json_string_value(json_object_get(e, "actor")), "ekowalski");
	CHECKF(e != NULL && json_mentions(e, justification), "justification not audited");
	json_decref(ev);
	/* Glass breaks once: the change is no longer waiting. */
	r = post(url, ekowalski, body);
	CHECKF(r->status >= 400, "second break glass: %ld %s", r->status, body_of(r));
	reply_free(r);

	/* A change manager who requested the change may not break glass on it. */
	r = create_and_submit(amartin, emergency_web, "authorize", path, sizeof path);
	if (r == NULL)
		return;
	reply_free(r);
	snprintf(url, sizeof url, "%s/break-glass", path);
	r = post(url, amartin, body);
	CHECKF(problem_is(r, 403, NULL), "requester manager: %ld %s", r->status, body_of(r));
	reply_free(r);
	r = get_change(path, amartin);
	CHECK_STR(reply_str(r, "state"), "authorize");
	reply_free(r);
}

/* ---- simulate --------------------------------------------------------------------------- */

static long long count_changes(void)
{
	struct reply *r = get("/v1/changes?limit=200", admin);
	CHECKF(r->status == 200, "list: %ld %s", r->status, body_of(r));
	long long n = (long long)json_array_size(json_object_get(r->json, "items"));
	CHECK(n < 200); /* else the count below would not see a new one */
	reply_free(r);
	return n;
}

static long long count_audit_events(void)
{
	struct reply *r = get("/v1/audit/verify", admin);
	CHECKF(r->status == 200 && json_is_true(json_object_get(r->json, "ok")), "verify: %ld %s",
	       r->status, body_of(r));
	long long n = json_integer_value(json_object_get(r->json, "events"));
	reply_free(r);
	return n;
}

static void test_simulate_writes_nothing(void)
{
	char ids[512], path[64];
	/* At least one change and audit event, also when this test runs alone. */
	create("/v1/changes", grossi, risky_change, path, sizeof path);
	long long changes = count_changes(), events = count_audit_events();
	CHECK(changes > 0 && events > 0);

	struct reply *r = post("/v1/simulate", grossi, risky_change);
	CHECKF(r->status == 200, "simulate: %ld %s", r->status, body_of(r));
	json_t *risk = json_object_get(r->json, "risk");
	CHECK_INT(json_integer_value(json_object_get(risk, "score")), 95);
	CHECK_STR(json_string_value(json_object_get(risk, "level")), "high");
	CHECK_STR(factor_ids(risk, ids, sizeof ids), risky_factors);
	json_t *groups = json_object_get(json_object_get(r->json, "approvals"), "groups");
	CHECK_INT(json_array_size(groups), 6);
	CHECK_INT(json_integer_value(json_object_get(find_by(groups, "group", "cab"), "quorum")),
		  3);
	json_t *wf = json_object_get(r->json, "workflow");
	CHECK_STR(json_string_value(json_object_get(wf, "name")), "change-normal");
	json_t *p = json_object_get(wf, "path");
	/* submit, the automatic move on after assessment, then waiting for the votes */
	static const char *const normal_path[] = {"draft", "assess", "authorize", NULL};
	CHECKF(path_is(p, normal_path), "path %s", body_of(r));
	json_t *sim_risk = json_incref(risk);
	reply_free(r);

	r = post("/v1/simulate", hsato, emergency_web);
	CHECKF(r->status == 200, "simulate emergency: %ld %s", r->status, body_of(r));
	CHECK_STR(json_string_value(json_object_get(json_object_get(r->json, "workflow"), "name")),
		  "change-emergency");
	static const char *const emergency_path[] = {"draft", "authorize", NULL};
	CHECKF(path_is(json_object_get(json_object_get(r->json, "workflow"), "path"),
		       emergency_path),
	       "path %s", body_of(r));
	CHECK_INT(json_integer_value(json_object_get(json_object_get(r->json, "risk"), "score")),
		  35);
	groups = json_object_get(json_object_get(r->json, "approvals"), "groups");
	CHECK_INT(json_array_size(groups), 1);
	CHECK_INT(json_integer_value(json_object_get(find_by(groups, "group", "ecab"), "quorum")),
		  2);
	reply_free(r);

	CHECK_INT(count_changes(), changes);
	CHECK_INT(count_audit_events(), events);

	/* The dry run predicted what the real assessment gives. */
	r = create_and_submit(grossi, risky_change, "authorize", path, sizeof path);
	if (r != NULL) {
		json_t *real = json_object_get(r->json, "risk");
		CHECK(json_equal(json_object_get(real, "score"),
				 json_object_get(sim_risk, "score")));
		CHECK(json_equal(json_object_get(real, "factors"),
				 json_object_get(sim_risk, "factors")));
		reply_free(r);
	}
	json_decref(sim_risk);
}

/* ---- history ---------------------------------------------------------------------------- */

/* Authorizes (one CAB vote: the change must be low risk) and starts the change at `path`. */
static bool to_implementing(const char *path)
{
	struct reply *r = vote_ok(path, bokafor, "approve", "go", NULL, "scheduled");
	bool ok = r->status == 200;
	reply_free(r);
	return ok && open_window_now(path) && step(path, ekowalski, "start", "implementing");
}

static void check_history(json_t *risk, double rate, long long changes, long long failures,
			  long long incidents)
{
	json_t *h = json_object_get(risk, "history");
	double got = json_number_value(json_object_get(h, "failure_rate"));
	CHECKF(fabs(got - rate) < 1e-9, "failure_rate %.6f, want %.6f", got, rate);
	CHECK_INT(json_integer_value(json_object_get(h, "changes")), changes);
	CHECK_INT(json_integer_value(json_object_get(h, "failures")), failures);
	if (incidents >= 0)
		CHECK_INT(json_integer_value(json_object_get(h, "incidents_caused")), incidents);
	CHECK_STR(json_string_value(json_object_get(h, "service")), "reporting");
}

static void test_failures_raise_risk(void)
{
	char first[64], second[64], third[64], inc[64], ids[256];

	/* No history: 1/10, nothing fires, score 0. */
	struct reply *r =
		create_and_submit(kmensah, quiet_reporting, "authorize", first, sizeof first);
	if (r == NULL)
		return;
	json_t *risk = json_object_get(r->json, "risk");
	CHECK_INT(json_integer_value(json_object_get(risk, "score")), 0);
	CHECK_STR(factor_ids(risk, ids, sizeof ids), "");
	check_history(risk, 1.0 / 10.0, 0, 0, 0);
	reply_free(r);

	/* It fails and is closed as failed. */
	if (!to_implementing(first))
		return;
	CHECK(step(first, ekowalski, "fail", "failed"));
	CHECK(step(first, ekowalski, "review", "review"));
	CHECK(close_with_review(first, ekowalski));
	r = get_change(first, kmensah);
	CHECK_STR(reply_str(r, "result"), "failed");
	reply_free(r);

	/* 1 failure in 1 change: 2/11 = 0.18, still under 0.2. */
	r = create_and_submit(kmensah, quiet_reporting, "authorize", second, sizeof second);
	if (r == NULL)
		return;
	risk = json_object_get(r->json, "risk");
	CHECK_INT(json_integer_value(json_object_get(risk, "score")), 0);
	CHECK_STR(factor_ids(risk, ids, sizeof ids), "");
	check_history(risk, 2.0 / 11.0, 1, 1, 0);
	reply_free(r);

	/* The second one completes, closes as successful... and then an incident names it. */
	if (!to_implementing(second))
		return;
	CHECK(step(second, ekowalski, "complete", "review"));
	CHECK(step(second, ekowalski, "close", "closed"));
	char body[512];
	snprintf(body, sizeof body,
		 "{\"title\": \"Dashboards show yesterday's numbers\", \"service\": \"reporting\","
		 " \"priority\": \"P3\", \"caused_by\": \"%s\"}",
		 id_of(second));
	if (!create("/v1/incidents", kmensah, body, inc, sizeof inc))
		return;

	/* 2 failures in 2 changes: 3/12 = 0.25 >= 0.2, poor-track-record +25. */
	r = create_and_submit(kmensah, quiet_reporting, "authorize", third, sizeof third);
	if (r == NULL)
		return;
	risk = json_object_get(r->json, "risk");
	CHECK_INT(json_integer_value(json_object_get(risk, "score")), 25);
	CHECK_STR(json_string_value(json_object_get(risk, "level")), "low");
	CHECK_STR(factor_ids(risk, ids, sizeof ids), "poor-track-record");
	CHECK_INT(factor_points(risk, "poor-track-record"), 25);
	CHECK_STR(json_string_value(json_object_get(
			  json_array_get(json_object_get(risk, "factors"), 0), "reason")),
		  "recent changes to these services often failed or caused incidents");
	check_history(risk, 3.0 / 12.0, 2, 2, 1);
	CHECK(fabs(json_number_value(json_object_get(json_object_get(risk, "inputs"),
						     "history.failure_rate")) -
		   0.25) < 1e-9);
	reply_free(r);

	/* The explanation endpoint tells the same story. */
	char url[96];
	snprintf(url, sizeof url, "%s/risk", third);
	r = get(url, kmensah);
	CHECK_INT(r->status, 200);
	CHECK_INT(json_integer_value(json_object_get(r->json, "score")), 25);
	reply_free(r);
}

/* ---- policies --------------------------------------------------------------------------- */

static void test_policies_endpoint(void)
{
	struct reply *r = get("/v1/policies", hsato);
	CHECKF(r->status == 200, "GET /v1/policies: %ld %s", r->status, body_of(r));
	CHECKF(is_hex16(reply_str(r, "version")), "version '%s'", reply_str(r, "version"));
	CHECK(json_is_array(json_object_get(r->json, "files")));
	/* The catalog and the templates, for the RFC form: every service with its team,
	 * criticality and dependencies; every template with its services. */
	json_t *cat = json_object_get(r->json, "catalog");
	CHECKF(json_is_array(cat) && json_array_size(cat) > 0 &&
		       (json_int_t)json_array_size(cat) ==
			       json_integer_value(json_object_get(r->json, "services")),
	       "catalog: %s", body_of(r));
	size_t i;
	json_t *sv;
	json_array_foreach(cat, i, sv) {
		CHECK(json_is_string(json_object_get(sv, "name")));
		CHECK(json_is_string(json_object_get(sv, "team")));
		CHECK(json_is_string(json_object_get(sv, "criticality")));
		CHECK(json_is_array(json_object_get(sv, "depends_on")));
	}
	json_t *tpl = json_object_get(r->json, "templates");
	CHECKF(json_array_size(tpl) > 0, "templates: %s", body_of(r));
	json_array_foreach(tpl, i, sv) {
		CHECK(json_is_string(json_object_get(sv, "id")));
		CHECK(json_is_array(json_object_get(sv, "services")));
		CHECK(json_integer_value(json_object_get(sv, "max_duration")) > 0);
	}
	reply_free(r);
	r = get("/v1/policies", NULL);
	CHECK(problem_is(r, 401, NULL));
	reply_free(r);
}

/* ---- re-assessment and expiry ---------------------------------------------------------- */

/* Adding test evidence to an assessed change lowers its score; the edit records both. */
static void test_editing_reassesses(void)
{
	char path[64];
	struct reply *r = create_and_submit(hsato, medium_web, "authorize", path, sizeof path);
	if (r == NULL)
		return;
	CHECK_INT(json_integer_value(json_object_get(json_object_get(r->json, "risk"), "score")),
		  35);
	char ifm[80];
	snprintf(ifm, sizeof ifm, "If-Match: %s", reply_header(r, "ETag") ?: "\"0\"");
	reply_free(r);
	const char *h[] = {ifm, NULL};
	r = request(&srv, "PATCH", path, hsato, "{\"test_evidence\": \"load test 77 green\"}", h);
	CHECK_INT(r->status, 200);
	json_t *risk = json_object_get(r->json, "risk");
	CHECK_INT(json_integer_value(json_object_get(risk, "score")), 20); /* 35 - 15 */
	CHECK_STR(json_string_value(json_object_get(risk, "level")), "low");
	reply_free(r);
	json_t *edits = history_events(path, "updated");
	json_t *last = json_object_get(json_array_get(edits, json_array_size(edits) - 1), "detail");
	json_t *change = json_object_get(last, "risk");
	CHECK_INT(json_integer_value(json_object_get(json_object_get(change, "from"), "score")),
		  35);
	CHECK_INT(json_integer_value(json_object_get(json_object_get(change, "to"), "score")), 20);
	json_decref(edits);
}

/* With a two-second expiry (a copy of the shipped policies), an unanswered request
 * fires the workflow's expiry event by itself. */
static void test_unanswered_requests_expire(void)
{
	char dir[512], cmd[4096];
	snprintf(dir, sizeof dir, "%s/expiring-policies", getenv("TRANSOM_TEST_TMP") ?: "/tmp");
	snprintf(cmd, sizeof cmd,
		 "rm -rf '%s' && cp -r '%s/policies' '%s' && sed -i 's/\"expires_after\": "
		 "\"72h\"/\"expires_after\": \"2s\"/' '%s/approvals.json' && grep -q '\"2s\"' "
		 "'%s/approvals.json'",
		 dir, getenv("TRANSOM_TEST_ROOT") ?: ".", dir, dir, dir);
	CHECK(system(cmd) == 0);
	const char *env[] = {"TRANSOM_TIMER_INTERVAL=100", NULL};
	struct server s2;
	if (!server_start(&s2, NULL, dir, env)) {
		CHECK(!"the server with short expiries did not start");
		return;
	}
	struct reply *r = request(&s2, "POST", "/v1/changes", hsato, low_web, NULL);
	CHECK_INT(r->status, 201);
	char path[64], url[96];
	snprintf(path, sizeof path, "%s", reply_header(r, "Location") ?: "/x");
	reply_free(r);
	snprintf(url, sizeof url, "%s/transitions", path);
	r = request(&s2, "POST", url, hsato, "{\"event\": \"submit\"}", NULL);
	CHECK_STR(reply_str(r, "state"), "authorize");
	reply_free(r);
	bool expired = false;
	for (int i = 0; i < 150 && !expired; i++) { /* up to 15 s on a busy machine */
		usleep(100 * 1000);
		r = request(&s2, "GET", path, hsato, NULL, NULL);
		expired = strcmp(reply_str(r, "state"), "rejected") == 0;
		reply_free(r);
	}
	CHECK(expired);
	CHECK_INT(server_stop(&s2, 10, NULL), 0);
}

static void setup(void)
{
	snprintf(grossi, sizeof grossi, "%s", token_for("grossi", "requester"));
	snprintf(hsato, sizeof hsato, "%s", token_for("hsato", "requester"));
	snprintf(kmensah, sizeof kmensah, "%s", token_for("kmensah", "requester"));
	snprintf(amartin, sizeof amartin, "%s", token_for("amartin", "cab,change_manager"));
	snprintf(bokafor, sizeof bokafor, "%s", token_for("bokafor", "cab"));
	snprintf(cnguyen, sizeof cnguyen, "%s", token_for("cnguyen", "cab"));
	snprintf(dschmidt, sizeof dschmidt, "%s", token_for("dschmidt", "cab"));
	snprintf(mpetrov, sizeof mpetrov, "%s", token_for("mpetrov", "cab"));
	snprintf(ekowalski, sizeof ekowalski, "%s", token_for("ekowalski", "cab,change_manager"));
	snprintf(fdiallo, sizeof fdiallo, "%s", token_for("fdiallo", "cab"));
	snprintf(zed, sizeof zed, "%s", token_for("zed", "cab"));
	snprintf(alice_alias, sizeof alice_alias, "%s", token_for("alice@example.com", "cab"));
	snprintf(admin, sizeof admin, "%s", token_for("root", "admin"));
	if (!grossi[0] || !amartin[0] || !alice_alias[0] || !admin[0] ||
	    !server_start(&srv, NULL, NULL, NULL)) {
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_risk_exact_score_and_factors, test_risk_endpoint_explains_the_change,
      test_quorum_reached_moves_on_by_itself, test_requester_cannot_approve,
      test_alias_of_requester_cannot_approve, test_non_member_cannot_vote, test_vote_errors,
      test_second_vote_replaces_first, test_one_rejection_rejects, test_pending_list_follows_votes,
      test_pending_list_pages, test_emergency_board_two_of_three, test_break_glass,
      test_simulate_writes_nothing, test_failures_raise_risk, test_policies_endpoint,
      test_editing_reassesses, test_unanswered_requests_expire)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	return rc;
}
