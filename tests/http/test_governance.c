/*
 * test_governance.c -- governance holds on every path (issue 10, part A): a standard
 * change is booked without the CAB only when its template pre-approves it; simulate
 * predicts what submit does (also in a soft freeze); a change belongs to its requester;
 * whoever edited a change cannot approve it; available_events lists only what the caller
 * may fire now.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/harness.h"
#include "lib_http.h"

#define DAY_MS (86400LL * 1000)

static struct server srv;
static char policies[512];
static char grossi[128], bokafor[128], amartin_cm[128], admin[128], lgarcia[128];
static long long day0; /* midnight UTC three days from now: search's soft-frozen day */

#include "record_steps.h"

static const char *const JSON[] = {"Content-Type: application/json", NULL};

static void write_file(const char *name, const char *text)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", policies, name);
	FILE *fp = fopen(path, "w");
	if (fp != NULL) {
		fputs(text, fp);
		fclose(fp);
	}
}

static void stamp(long long ms, bool date, char *out, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, size, date ? "%Y%m%d" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* POSTs `body` to /v1/changes as `token`; copies the new id into `id` ("" on failure). */
static void new_change(const char *token, const char *body, char *id, size_t size)
{
	struct reply *r = request(&srv, "POST", "/v1/changes", token, body, JSON);
	CHECKF(r->status == 201, "create: %ld %s", r->status, body_of(r));
	snprintf(id, size, "%s", r->status == 201 ? reply_str(r, "id") : "");
	reply_free(r);
}

static struct reply *submit_as(const char *token, const char *id)
{
	char url[128];
	snprintf(url, sizeof url, "/v1/changes/%s/transitions", id);
	return request(&srv, "POST", url, token, "{\"event\": \"submit\"}", JSON);
}

static struct reply *get_change(const char *token, const char *id)
{
	char url[128];
	snprintf(url, sizeof url, "/v1/changes/%s", id);
	return request(&srv, "GET", url, token, NULL, NULL);
}

/* "g:quorum," for each group of an approvals requirement. */
static void groups_of(json_t *required, char *out, size_t size)
{
	size_t i;
	json_t *g;
	out[0] = '\0';
	json_array_foreach(json_object_get(required, "groups"), i, g) {
		char one[160];
		snprintf(one, sizeof one, "%s:%lld,",
			 json_string_value(json_object_get(g, "group")) ?: "?",
			 (long long)json_integer_value(json_object_get(g, "quorum")));
		strncat(out, one, size - strlen(out) - 1);
	}
}

static bool has_event(json_t *list, const char *ev)
{
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v) {
		const char *s = json_is_string(v) ? json_string_value(v)
						  : json_string_value(json_object_get(v, "event"));
		if (s != NULL && strcmp(s, ev) == 0)
			return true;
	}
	return false;
}

/* The rule a blocked event is blocked by, or "". */
static const char *blocked_rule(json_t *blocked, const char *ev)
{
	size_t i;
	json_t *v;
	json_array_foreach(blocked, i, v)
		if (strcmp(json_string_value(json_object_get(v, "event")) ?: "", ev) == 0)
			return json_string_value(json_object_get(v, "rule")) ?: "";
	return "";
}

/* ---- 1. standard changes ------------------------------------------------------------ */

static void check_standard_refused(const char *template, const char *services, const char *duration,
				   const char *why)
{
	char body[1024], id[32];
	snprintf(body, sizeof body,
		 "{\"title\": \"Std\", \"type\": \"standard\", \"template\": \"%s\","
		 " \"services\": %s, \"duration\": \"%s\"}",
		 template, services, duration);
	new_change(grossi, body, id, sizeof id);
	struct reply *r = submit_as(grossi, id);
	CHECKF(problem_is(r, 422, "template"), "%s: %ld %s", template, r->status, body_of(r));
	CHECK_STR(reply_str(r, "rule"), "template_not_preapproved");
	CHECKF(strstr(reply_str(r, "detail"), template) != NULL &&
		       strstr(reply_str(r, "detail"), why) != NULL &&
		       strstr(reply_str(r, "detail"), "normal change") != NULL,
	       "detail: %s", reply_str(r, "detail"));
	reply_free(r);
	r = get_change(grossi, id);
	CHECK_STR(reply_str(r, "state"), "draft");
	CHECK(json_object_get(json_object_get(r->json, "schedule"), "start") == NULL ||
	      strcmp(json_string_value(
			     json_object_get(json_object_get(r->json, "schedule"), "status"))
			     ?: "",
		     "booked") != 0);
	reply_free(r);
}

static void test_standard_with_unknown_template_is_refused(void)
{
	check_standard_refused("no-such-template", "[\"search\"]", "PT1H", "no-such-template");
}

static void test_standard_outside_its_template_is_refused(void)
{
	check_standard_refused("search-index-rebuild", "[\"reporting\"]", "PT1H", "reporting");
	check_standard_refused("search-index-rebuild", "[\"search\"]", "PT5H", "duration");
}

static void test_standard_not_preapproved_now_is_refused(void)
{
	/* postgres-minor-patch needs five clean changes of history: there are none */
	check_standard_refused("postgres-minor-patch", "[\"ledger-db\"]", "PT1H", "changes");
}

static void test_preapproved_standard_is_scheduled(void)
{
	char id[32], nb[32], body[1024];
	stamp(day0 + 2 * DAY_MS, false, nb, sizeof nb);
	snprintf(body, sizeof body,
		 "{\"title\": \"Rebuild\", \"type\": \"standard\", \"template\": "
		 "\"search-index-rebuild\", \"services\": [\"search\"], \"duration\": \"PT1H\","
		 " \"not_before\": \"%s\"}",
		 nb);
	new_change(grossi, body, id, sizeof id);
	struct reply *r = submit_as(grossi, id);
	CHECKF(r->status == 200, "%ld %s", r->status, body_of(r));
	CHECK_STR(reply_str(r, "state"), "scheduled");
	reply_free(r);
}

/* ---- 2. simulate = submit ------------------------------------------------------------ */

static void test_simulate_predicts_soft_freeze_approvals(void)
{
	char nb[32], body[1024], id[32], sim[256], real[256];
	stamp(day0, false, nb, sizeof nb);
	snprintf(body, sizeof body,
		 "{\"title\": \"Reindex search\", \"type\": \"normal\", \"services\": [\"search\"],"
		 " \"duration\": \"PT1H\", \"not_before\": \"%s\", \"description\": \"reindex\","
		 " \"implementation_plan\": \"rebuild\", \"rollback_plan\": \"switch back\","
		 " \"test_evidence\": \"staging\"}",
		 nb);
	struct reply *s = request(&srv, "POST", "/v1/simulate", grossi, body, JSON);
	CHECK_INT(s->status, 200);
	groups_of(json_object_get(s->json, "approvals"), sim, sizeof sim);
	new_change(grossi, body, id, sizeof id);
	struct reply *r = submit_as(grossi, id);
	CHECK_INT(r->status, 200);
	groups_of(json_object_get(json_object_get(r->json, "approvals"), "required"), real,
		  sizeof real);
	CHECKF(strstr(real, "ecab:") != NULL, "submit asks %s", real);
	CHECKF(strcmp(sim, real) == 0, "simulate asks %s, submit asks %s", sim, real);
	const char *soft = json_string_value(
		json_object_get(json_object_get(s->json, "schedule"), "soft_freeze"));
	CHECKF(soft != NULL && strcmp(soft, "Index rebuild moratorium") == 0, "simulate: %s",
	       body_of(s));
	reply_free(s);
	reply_free(r);
}

/* ---- 3. ownership and segregation of duties --------------------------------------------- */

static const char *NORMAL =
	"{\"title\": \"Tune search\", \"type\": \"normal\", \"services\": [\"search\"],"
	" \"duration\": \"PT1H\", \"description\": \"d\", \"implementation_plan\": \"p\","
	" \"rollback_plan\": \"r\"}";

static void test_only_the_owner_manages_a_change(void)
{
	char id[32], url[128];
	new_change(grossi, NORMAL, id, sizeof id);
	snprintf(url, sizeof url, "/v1/changes/%s", id);
	const char *h[] = {"Content-Type: application/json", "If-Match: \"1\"", NULL};
	struct reply *r =
		request(&srv, "PATCH", url, lgarcia, "{\"implementation_plan\": \"mine now\"}", h);
	CHECKF(problem_is(r, 403, NULL), "patch by another requester: %ld %s", r->status,
	       body_of(r));
	CHECK_STR(reply_str(r, "rule"), "owner_only");
	reply_free(r);
	r = submit_as(lgarcia, id);
	CHECKF(problem_is(r, 403, NULL), "submit by another requester: %ld", r->status);
	CHECK_STR(reply_str(r, "rule"), "owner_only");
	reply_free(r);
	r = fire(url, lgarcia, "cancel");
	CHECKF(problem_is(r, 403, NULL), "cancel by another requester: %ld", r->status);
	CHECK_STR(reply_str(r, "rule"), "owner_only");
	reply_free(r);
	/* others may read it; the owner and a change manager may edit it */
	r = get_change(lgarcia, id);
	CHECK_INT(r->status, 200);
	reply_free(r);
	r = request(&srv, "PATCH", url, grossi, "{\"description\": \"owner's\"}", h);
	CHECK_INT(r->status, 200);
	reply_free(r);
	const char *h2[] = {"Content-Type: application/json", "If-Match: \"2\"", NULL};
	r = request(&srv, "PATCH", url, amartin_cm, "{\"description\": \"manager's\"}", h2);
	CHECKF(r->status == 200, "patch by a change manager: %ld %s", r->status, body_of(r));
	reply_free(r);
}

static void test_an_editor_cannot_approve(void)
{
	char id[32], url[128];
	new_change(grossi, NORMAL, id, sizeof id);
	snprintf(url, sizeof url, "/v1/changes/%s", id);
	const char *h[] = {"Content-Type: application/json", "If-Match: \"1\"", NULL};
	/* amartin, a change manager and CAB member, rewrites the plan */
	struct reply *r = request(&srv, "PATCH", url, amartin_cm,
				  "{\"implementation_plan\": \"amartin's plan\"}", h);
	CHECK_INT(r->status, 200);
	reply_free(r);
	r = submit_as(grossi, id);
	CHECK_STR(reply_str(r, "state"), "authorize");
	reply_free(r);
	snprintf(url, sizeof url, "/v1/changes/%s/approvals", id);
	r = request(&srv, "POST", url, amartin_cm, "{\"decision\": \"approve\"}", JSON);
	CHECKF(problem_is(r, 403, NULL), "editor's vote: %ld %s", r->status, body_of(r));
	CHECK_STR(reply_str(r, "rule"), "editor_cannot_approve");
	reply_free(r);
	/* an independent CAB member still may */
	r = request(&srv, "POST", url, bokafor, "{\"decision\": \"approve\"}", JSON);
	CHECKF(r->status == 200, "independent vote: %ld %s", r->status, body_of(r));
	reply_free(r);
}

/* ---- 6. available_events ----------------------------------------------------------------- */

static void test_available_events_are_what_the_caller_may_fire(void)
{
	char id[32];
	new_change(grossi, NORMAL, id, sizeof id);
	struct reply *r = get_change(grossi, id);
	json_t *av = json_object_get(r->json, "available_events");
	CHECKF(has_event(av, "submit") && has_event(av, "cancel"), "owner: %s", body_of(r));
	CHECK(!has_event(av, "expire"));
	reply_free(r);

	r = get_change(admin, id);
	av = json_object_get(r->json, "available_events");
	CHECKF(!has_event(av, "submit"), "admin may not submit: %s", body_of(r));
	CHECK_STR(blocked_rule(json_object_get(r->json, "blocked_events"), "submit"), "role");
	reply_free(r);

	r = get_change(lgarcia, id);
	av = json_object_get(r->json, "available_events");
	CHECKF(!has_event(av, "submit") && !has_event(av, "cancel"), "not owner: %s", body_of(r));
	CHECK_STR(blocked_rule(json_object_get(r->json, "blocked_events"), "submit"), "owner_only");
	reply_free(r);

	/* in authorize, a requester is offered neither approve nor reject */
	r = submit_as(grossi, id);
	reply_free(r);
	r = get_change(grossi, id);
	av = json_object_get(r->json, "available_events");
	CHECKF(!has_event(av, "approve") && !has_event(av, "reject") && has_event(av, "cancel"),
	       "requester in authorize: %s", body_of(r));
	reply_free(r);
	/* a change manager may not fire `approve` while a policy applies (its guard) */
	r = get_change(amartin_cm, id);
	CHECK(!has_event(json_object_get(r->json, "available_events"), "approve"));
	CHECK_STR(blocked_rule(json_object_get(r->json, "blocked_events"), "approve"), "guard");
	reply_free(r);

	/* a draft without its required fields: submit is blocked, naming them */
	new_change(grossi, "{\"title\": \"bare\", \"type\": \"normal\"}", id, sizeof id);
	r = get_change(grossi, id);
	CHECK(!has_event(json_object_get(r->json, "available_events"), "submit"));
	CHECK_STR(blocked_rule(json_object_get(r->json, "blocked_events"), "submit"), "required");
	reply_free(r);
}

/* ---- 10. the README walk-through ----------------------------------------------------- */

/* A token through POST /v1/tokens as the admin; its reply (owned). */
static struct reply *token_by_api(const char *user, const char *role)
{
	char body[256];
	snprintf(body, sizeof body, "{\"user\": \"%s\", \"roles\": [\"%s\"]}", user, role);
	return request(&srv, "POST", "/v1/tokens", admin, body, JSON);
}

static void test_tokens_warn_about_users_people_json_does_not_know(void)
{
	struct reply *r = token_by_api("carol", "cab");
	CHECK_INT(r->status, 201);
	json_t *w = json_object_get(r->json, "warnings");
	CHECKF(json_array_size(w) == 1 &&
		       strstr(json_string_value(json_array_get(w, 0)) ?: "", "people.json") != NULL,
	       "carol: %s", body_of(r));
	reply_free(r);
	r = token_by_api("cnguyen", "cab");
	CHECK_INT(r->status, 201);
	CHECK(json_is_array(json_object_get(r->json, "warnings")) &&
	      json_array_size(json_object_get(r->json, "warnings")) == 0);
	reply_free(r);
}

/* README "Changes, incidents and problems", step by step: no 403 on the way. */
static void test_readme_walkthrough_reaches_scheduled(void)
{
	char rq[160], cab[160], auth_r[200], auth_c[200];
	struct reply *r = token_by_api("grossi", "requester");
	snprintf(rq, sizeof rq, "%s", reply_str(r, "token"));
	reply_free(r);
	r = token_by_api("cnguyen", "cab");
	snprintf(cab, sizeof cab, "%s", reply_str(r, "token"));
	reply_free(r);
	snprintf(auth_r, sizeof auth_r, "%s", rq);
	snprintf(auth_c, sizeof auth_c, "%s", cab);
	char id[32], url[128];
	new_change(auth_r,
		   "{\"title\": \"Upgrade payments DB\", \"type\": \"normal\", \"services\": "
		   "[\"payments\"], \"duration\": \"PT2H\"}",
		   id, sizeof id);
	snprintf(url, sizeof url, "/v1/changes/%s", id);
	const char *h[] = {"Content-Type: application/json", "If-Match: \"1\"", NULL};
	r = request(&srv, "PATCH", url, auth_r,
		    "{\"implementation_plan\": \"rolling upgrade behind the pooler\", "
		    "\"rollback_plan\": \"fail back to the previous primary\", \"description\": "
		    "\"PG 16.4\", \"test_evidence\": \"staging run 41\"}",
		    h);
	CHECKF(r->status == 200, "patch: %ld %s", r->status, body_of(r));
	reply_free(r);
	r = submit_as(auth_r, id);
	CHECKF(r->status == 200 && strcmp(reply_str(r, "state"), "authorize") == 0,
	       "submit: %ld %s", r->status, body_of(r));
	reply_free(r);
	snprintf(url, sizeof url, "/v1/changes/%s/approvals", id);
	r = request(&srv, "POST", url, auth_c, "{\"decision\": \"approve\"}", JSON);
	CHECKF(r->status == 200, "vote: %ld %s", r->status, body_of(r));
	reply_free(r);
	r = get_change(auth_r, id);
	CHECK_STR(reply_str(r, "state"), "scheduled");
	reply_free(r);
}

static void test_openapi_is_served(void)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/docs/openapi.json", getenv("TRANSOM_TEST_ROOT") ?: ".");
	json_t *doc = json_load_file(path, 0, NULL);
	struct reply *r = request(&srv, "GET", "/v1/openapi.json", NULL, NULL, NULL);
	CHECK_INT(r->status, 200);
	CHECK_STR(reply_header(r, "Content-Type") ?: "", "application/json");
	CHECKF(doc != NULL && r->json != NULL && json_equal(doc, r->json),
	       "the served document differs from docs/openapi.json");
	reply_free(r);
	json_decref(doc);
}

static void setup(void)
{
	char cmd[2048], text[2048], a[16], b[16];
	snprintf(policies, sizeof policies, "%s/governance-policies",
		 getenv("TRANSOM_TEST_TMP") ?: "/tmp");
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s/policies' '%s'", policies,
		 getenv("TRANSOM_TEST_ROOT") ?: ".", policies);
	if (system(cmd) != 0)
		exit(1);
	day0 = ((long long)time(NULL) * 1000 / DAY_MS + 3) * DAY_MS;
	write_file("windows.ics",
		   "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
		   "BEGIN:VEVENT\r\nUID:nightly@test\r\nDTSTAMP:20260101T000000Z\r\n"
		   "DTSTART:20260101T020000Z\r\nDURATION:PT3H\r\nRRULE:FREQ=DAILY\r\n"
		   "SUMMARY:Nightly\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n"
		   "X-TRANSOM-SERVICES:search,reporting,ledger-db\r\nEND:VEVENT\r\n"
		   "END:VCALENDAR\r\n");
	stamp(day0, true, a, sizeof a);
	stamp(day0 + DAY_MS, true, b, sizeof b);
	snprintf(text, sizeof text,
		 "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
		 "BEGIN:VEVENT\r\nUID:moratorium@test\r\nDTSTAMP:20260101T000000Z\r\n"
		 "DTSTART;VALUE=DATE:%s\r\nDTEND;VALUE=DATE:%s\r\n"
		 "SUMMARY:Index rebuild moratorium\r\nCATEGORIES:FREEZE\r\n"
		 "X-TRANSOM-SERVICES:search\r\nX-TRANSOM-HARDNESS:soft\r\nEND:VEVENT\r\n"
		 "END:VCALENDAR\r\n",
		 a, b);
	write_file("freezes.ics", text);
	snprintf(grossi, sizeof grossi, "%s", token_for("grossi", "requester"));
	snprintf(lgarcia, sizeof lgarcia, "%s", token_for("lgarcia", "requester"));
	snprintf(bokafor, sizeof bokafor, "%s", token_for("bokafor", "cab"));
	snprintf(amartin_cm, sizeof amartin_cm, "%s", token_for("amartin", "change_manager,cab"));
	snprintf(admin, sizeof admin, "%s", token_for("root", "admin"));
	if (!grossi[0] || !admin[0] || !server_start(&srv, NULL, policies, NULL)) {
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_standard_with_unknown_template_is_refused, test_standard_outside_its_template_is_refused,
      test_standard_not_preapproved_now_is_refused, test_preapproved_standard_is_scheduled,
      test_simulate_predicts_soft_freeze_approvals, test_only_the_owner_manages_a_change,
      test_an_editor_cannot_approve, test_available_events_are_what_the_caller_may_fire,
      test_tokens_warn_about_users_people_json_does_not_know,
      test_readme_walkthrough_reaches_scheduled, test_openapi_is_served)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	return rc;
}
