/*
 * test_incident_freeze.c -- an open P1 incident as a dynamic hard freeze, over HTTP
 * against the real server: the gate denies deployments to the incident's service and to
 * a service depending on it (rule incident_freeze, the incident named), not to a service
 * it depends on; GET /v1/freezes lists it; the scheduler places nothing in it and says
 * why (slots, simulate); an emergency change naming the incident in fixes_incident is
 * exempt and the gate allows it once authorized; a P3 freezes nothing; resolving lifts it;
 * the re-planner moves a change booked before the incident out of its freeze.
 *
 * The server's policies are a copy of policies/ with one window open all day on every
 * service and no calendar freeze, so only the incident freezes anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/harness.h"
#include "lib_http.h"

static struct server srv;
static char pipeline[128], manager[128], requester[128];
static char incident[32];
static char clock_file[600]; /* TRANSOM_CLOCK_OFFSET_FILE */

/* Moves the server's clock `ms` ahead of the real one. */
static bool clock_ahead(long long ms)
{
	char tmp[700];
	snprintf(tmp, sizeof tmp, "%s.tmp", clock_file);
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return false;
	bool ok = fprintf(f, "%lld\n", ms) > 0;
	return fclose(f) == 0 && ok && rename(tmp, clock_file) == 0;
}

static const char windows_ics[] =
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Transom//test//EN\r\n"
	"BEGIN:VEVENT\r\nUID:always@freeze-test\r\nDTSTAMP:20260101T000000Z\r\n"
	"DTSTART:20260101T000000Z\r\nDURATION:PT24H\r\nRRULE:FREQ=DAILY\r\n"
	"SUMMARY:open all day\r\nCATEGORIES:MAINTENANCE-WINDOW\r\nX-TRANSOM-SERVICES:*\r\n"
	"END:VEVENT\r\nEND:VCALENDAR\r\n";
static const char freezes_ics[] =
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Transom//test//EN\r\n"
	"END:VCALENDAR\r\n";

/* POST /v1/deployments for `service`; the reply (caller frees). */
static struct reply *deploy(const char *service, const char *extra)
{
	char body[1024];
	snprintf(
		body, sizeof body,
		"{\"service\": \"%s\", \"environment\": \"production\", \"duration\": \"PT30M\"%s}",
		service, extra ? extra : "");
	return request(&srv, "POST", "/v1/deployments", pipeline, body, NULL);
}

static bool reasons_have(const struct reply *r, const char *needle)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(r->json, "reasons"), i, v) {
		if (strstr(json_string_value(v) ?: "", needle) != NULL)
			return true;
	}
	return false;
}

static bool freezes_list_incident(const char *id)
{
	struct reply *r =
		request(&srv, "GET", "/v1/freezes?service=payments", requester, NULL, NULL);
	bool found = false;
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(r->json, "freezes"), i, f) {
		const char *inc = json_string_value(json_object_get(f, "incident"));
		found = found || (inc != NULL && strcmp(inc, id) == 0);
	}
	reply_free(r);
	return found;
}

static void test_p3_freezes_nothing(void)
{
	struct reply *r = request(&srv, "POST", "/v1/incidents", requester,
				  "{\"title\": \"Slow receipts\", \"service\": \"payments\", "
				  "\"priority\": \"P3\"}",
				  NULL);
	CHECK_INT(r->status, 201);
	char p3[32];
	snprintf(p3, sizeof p3, "%s", reply_str(r, "id"));
	reply_free(r);
	r = deploy("payments", NULL);
	CHECK_INT(r->status, 201);
	CHECKF(strcmp(reply_str(r, "decision"), "deny") != 0, "decision %s: %s",
	       reply_str(r, "decision"), r->body);
	reply_free(r);
	CHECK(!freezes_list_incident(p3));
}

static void incident_event_on(const char *id, const char *event, const char *patch);

/*
 * A deployment whose window opened before the incident, not yet started: the re-plan
 * leaves an under-way booking where it is, so the gate itself holds it (wait, rule
 * incident_freeze) until the incident is resolved.  web-frontend's certificate template
 * is pre-approved; the server's clock is moved two minutes on past not_before.
 */
static void test_open_window_is_held(void)
{
	char at[32], extra[96];
	time_t t = time(NULL) + 60;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(extra, sizeof extra, ", \"not_before\": \"%s\"", at);
	struct reply *r = deploy("web-frontend", extra);
	CHECK_INT(r->status, 201);
	CHECKF(strcmp(reply_str(r, "reason_code"), "booked") == 0, "deploy: %s", r->body);
	char path[96];
	snprintf(path, sizeof path, "/v1/deployments/%s", reply_str(r, "id"));
	reply_free(r);
	CHECK(clock_ahead(120 * 1000));
	r = request(&srv, "POST", "/v1/incidents", requester,
		    "{\"title\": \"Gateway errors\", \"service\": \"payments\", "
		    "\"priority\": \"P2\"}",
		    NULL);
	CHECK_INT(r->status, 201);
	char p2[32];
	snprintf(p2, sizeof p2, "%s", reply_str(r, "id"));
	reply_free(r);
	r = request(&srv, "GET", path, pipeline, NULL, NULL);
	CHECK_STR(reply_str(r, "decision"), "wait");
	CHECK_STR(reply_str(r, "reason_code"), "incident_freeze");
	CHECK_STR(reply_str(r, "rule"), "incident_freeze");
	CHECKF(reasons_have(r, p2), "reasons: %s", r->body);
	CHECK(json_is_null(json_object_get(r->json, "lease")));
	reply_free(r);
	incident_event_on(p2, "start", NULL);
	incident_event_on(p2, "resolve", "{\"resolution\": \"restarted\"}");
	r = request(&srv, "GET", path, pipeline, NULL, NULL);
	CHECKF(strcmp(reply_str(r, "decision"), "allow") == 0, "after resolve: %s", r->body);
	const char *lease =
		json_string_value(json_object_get(json_object_get(r->json, "lease"), "token"));
	CHECK(lease != NULL);
	/* done: its booking no longer holds payments' dependents */
	char body[256], result[128];
	snprintf(body, sizeof body, "{\"outcome\": \"success\", \"lease\": \"%s\"}",
		 lease ? lease : "");
	snprintf(result, sizeof result, "%s/result", path);
	reply_free(r);
	r = request(&srv, "POST", result, pipeline, body, NULL);
	CHECKF(r->status == 200, "result: %s", r->body);
	reply_free(r);
}

static void test_p1_denies_the_service_and_its_dependents(void)
{
	struct reply *r = request(&srv, "POST", "/v1/incidents", requester,
				  "{\"title\": \"Card payments down\", \"service\": \"payments\", "
				  "\"priority\": \"P1\"}",
				  NULL);
	CHECK_INT(r->status, 201);
	snprintf(incident, sizeof incident, "%s", reply_str(r, "id"));
	reply_free(r);
	CHECK(freezes_list_incident(incident));

	r = deploy("payments", NULL);
	CHECK_INT(r->status, 201);
	CHECK_STR(reply_str(r, "decision"), "deny");
	CHECK_STR(reply_str(r, "rule"), "incident_freeze");
	CHECK_STR(reply_str(r, "reason_code"), "incident_freeze");
	CHECKF(reasons_have(r, incident) && reasons_have(r, "(P1) on payments"), "reasons: %s",
	       r->body);
	/* the gate's answer stays the same on a later read */
	char path[96];
	snprintf(path, sizeof path, "/v1/deployments/%s", reply_str(r, "id"));
	reply_free(r);
	r = request(&srv, "GET", path, pipeline, NULL, NULL);
	CHECK_STR(reply_str(r, "decision"), "deny");
	CHECK_STR(reply_str(r, "rule"), "incident_freeze");
	reply_free(r);

	/* web-frontend depends on api-gateway, which depends on payments: frozen too */
	r = deploy("web-frontend", NULL);
	CHECK_STR(reply_str(r, "decision"), "deny");
	CHECK_STR(reply_str(r, "rule"), "incident_freeze");
	CHECK(reasons_have(r, incident));
	reply_free(r);

	/* payments depends on ledger; a ledger deployment is not held */
	r = deploy("ledger", NULL);
	CHECK_INT(r->status, 201);
	CHECKF(strcmp(reply_str(r, "decision"), "deny") != 0, "ledger: %s", r->body);
	reply_free(r);
}

static void test_scheduler_places_nothing_in_it(void)
{
	struct reply *r = request(&srv, "GET", "/v1/slots?services=payments&duration=PT30M",
				  requester, NULL, NULL);
	CHECK_INT(r->status, 200);
	json_t *slot = json_array_get(json_object_get(r->json, "slots"), 0);
	CHECK(slot != NULL);
	/* the freeze is planned to last the policy's hold (4 h) beyond now */
	long long start = json_integer_value(json_object_get(slot, "start_ms"));
	CHECKF(start >= (long long)time(NULL) * 1000 + 4LL * 3600 * 1000 - 120 * 1000, "slot at %s",
	       json_string_value(json_object_get(slot, "start")));
	/* why: the incident's freeze holds the service */
	json_t *held = json_array_get(json_object_get(r->json, "incident_freezes"), 0);
	bool why =
		held != NULL &&
		strcmp(json_string_value(json_object_get(held, "incident")) ?: "", incident) == 0 &&
		json_integer_value(json_object_get(held, "end_ms")) <= start;
	CHECKF(why, "slots: %s", r->body);
	reply_free(r);
}

/*
 * A change submitted while the incident is open is booked after its freeze, not in it:
 * the placement of a write (not only slots, simulate and the re-planner) reads the
 * incident freezes.  web-frontend depends on payments through api-gateway.
 */
static long long booked_start(const char *id);

static void test_a_booking_lands_after_it(void)
{
	long long now = (long long)time(NULL) * 1000;
	struct reply *r =
		request(&srv, "POST", "/v1/changes", requester,
			"{\"title\": \"Renew the edge certificate\", \"type\": \"standard\","
			" \"services\": [\"web-frontend\"], \"duration\": \"PT15M\","
			" \"template\": \"tls-certificate-renewal\"}",
			NULL);
	CHECKF(r->status == 201, "create: %ld %s", r->status, r->body);
	char id[32], path[96];
	snprintf(id, sizeof id, "%s", reply_str(r, "id") ?: "");
	reply_free(r);
	snprintf(path, sizeof path, "/v1/changes/%s/transitions", id);
	r = request(&srv, "POST", path, requester, "{\"event\": \"submit\"}", NULL);
	CHECKF(r->status == 200 && strcmp(reply_str(r, "state") ?: "", "scheduled") == 0,
	       "submit: %ld %s", r->status, r->body);
	reply_free(r);
	long long start = booked_start(id);
	CHECKF(start >= now + 4LL * 3600 * 1000 - 120 * 1000,
	       "%s booked at %lld, inside %s's freeze (now %lld)", id, start, incident, now);
	snprintf(path, sizeof path, "/v1/changes/%s/transitions", id);
	r = request(&srv, "POST", path, requester, "{\"event\": \"cancel\"}", NULL);
	reply_free(r);
}

/* The start of the proposed schedule of a simulated emergency change (ms), or 0. */
static long long simulated_start(const char *extra)
{
	char body[512];
	snprintf(body, sizeof body,
		 "{\"title\": \"hotfix\", \"type\": \"emergency\", \"services\": [\"payments\"], "
		 "\"duration\": \"PT30M\"%s}",
		 extra);
	struct reply *r = request(&srv, "POST", "/v1/simulate", requester, body, NULL);
	CHECK_INT(r->status, 200);
	/* simulate says why: the incident freezes holding the draft (none when exempt) */
	size_t held = json_array_size(json_object_get(r->json, "incident_freezes"));
	CHECKF(held == (strstr(extra, "fixes_incident") ? 0u : 1u), "incident_freezes: %s",
	       r->body);
	json_t *sched = json_object_get(r->json, "schedule");
	const char *start = json_string_value(json_object_get(sched, "start"));
	long long ms = 0;
	if (start != NULL) {
		struct tm tm = {0};
		if (strptime(start, "%Y-%m-%dT%H:%M:%S", &tm) != NULL)
			ms = (long long)timegm(&tm) * 1000;
	}
	if (ms == 0)
		fprintf(stderr, "simulate: %s\n", r->body);
	reply_free(r);
	return ms;
}

static void test_emergency_fixing_it_is_exempt(void)
{
	long long now = (long long)time(NULL) * 1000;
	char extra[96];
	snprintf(extra, sizeof extra, ", \"fixes_incident\": \"%s\"", incident);
	long long linked = simulated_start(extra);
	/* slots for an emergency fixing it: at once, no incident freeze holding it */
	char path0[160];
	snprintf(path0, sizeof path0,
		 "/v1/slots?services=payments&duration=PT30M&type=emergency&fixes_incident=%s",
		 incident);
	struct reply *r0 = request(&srv, "GET", path0, requester, NULL, NULL);
	CHECK_INT(json_array_size(json_object_get(r0->json, "incident_freezes")), 0);
	CHECK(json_integer_value(json_object_get(
		      json_array_get(json_object_get(r0->json, "slots"), 0), "start_ms")) <
	      now + 5 * 60 * 1000);
	reply_free(r0);
	long long unlinked = simulated_start("");
	CHECKF(linked > 0 && linked < now + 5 * 60 * 1000, "linked at %lld, now %lld", linked, now);
	CHECKF(unlinked == 0 || unlinked >= now + 4LL * 3600 * 1000 - 120 * 1000,
	       "unlinked at %lld", unlinked);

	/* through the gate: an emergency deployment fixing the incident */
	char body[256];
	snprintf(body, sizeof body,
		 ", \"emergency\": true, \"justification\": \"roll back the card retry change\", "
		 "\"fixes_incident\": \"%s\"",
		 incident);
	struct reply *r = deploy("payments", body);
	CHECK_INT(r->status, 201);
	CHECK_STR(reply_str(r, "decision"), "wait");
	char change[32], dep[32], path[128];
	snprintf(change, sizeof change, "%s", reply_str(r, "change"));
	snprintf(dep, sizeof dep, "%s", reply_str(r, "id"));
	reply_free(r);
	snprintf(path, sizeof path, "/v1/changes/%s/break-glass", change);
	r = request(&srv, "POST", path, manager,
		    "{\"justification\": \"payments are down; this is the fix\"}", NULL);
	CHECK_INT(r->status, 200);
	reply_free(r);
	snprintf(path, sizeof path, "/v1/deployments/%s", dep);
	r = request(&srv, "GET", path, pipeline, NULL, NULL);
	CHECK_STR(reply_str(r, "decision"), "allow");
	reply_free(r);
	snprintf(path, sizeof path, "/v1/changes/%s", change);
	r = request(&srv, "GET", path, pipeline, NULL, NULL);
	CHECK_STR(reply_str(r, "fixes_incident"), incident);
	reply_free(r);
	snprintf(path, sizeof path, "/v1/incidents/%s", incident);
	r = request(&srv, "GET", path, pipeline, NULL, NULL);
	json_t *fixed = json_object_get(json_object_get(r->json, "links"), "fixed_by_changes");
	CHECK_STR(json_string_value(json_array_get(fixed, 0)), change);
	reply_free(r);

	/* a fixes_incident naming no incident is refused, naming the field */
	r = deploy("payments", ", \"emergency\": true, \"justification\": \"a long enough one\", "
			       "\"fixes_incident\": \"INC-999\"");
	CHECK_INT(r->status, 422);
	CHECK_STR(reply_str(r, "field"), "fixes_incident");
	reply_free(r);
}

/* Fires `event` on incident `id` (after setting `patch` when not NULL). */
static void incident_event_on(const char *id, const char *event, const char *patch)
{
	char path[96], body[256];
	snprintf(path, sizeof path, "/v1/incidents/%s", id);
	if (patch != NULL) {
		const char *const any[] = {"If-Match: *", NULL};
		struct reply *r = request(&srv, "PATCH", path, manager, patch, any);
		CHECKF(r->status == 200, "patch: %s", r->body);
		reply_free(r);
	}
	snprintf(path, sizeof path, "/v1/incidents/%s/transitions", id);
	snprintf(body, sizeof body, "{\"event\": \"%s\"}", event);
	struct reply *r = request(&srv, "POST", path, manager, body, NULL);
	CHECKF(r->status == 200, "%s: %s", event, r->body);
	reply_free(r);
}

static void test_resolving_lifts_it(void)
{
	incident_event_on(incident, "start", NULL);
	incident_event_on(incident, "resolve", "{\"resolution\": \"rolled back\"}");
	CHECK(!freezes_list_incident(incident));
	struct reply *r = deploy("payments", NULL);
	CHECK_INT(r->status, 201);
	CHECKF(strcmp(reply_str(r, "decision"), "deny") != 0, "after resolve: %s", r->body);
	reply_free(r);
	r = request(&srv, "GET", "/v1/slots?services=payments&duration=PT30M", requester, NULL,
		    NULL);
	json_t *slot = json_array_get(json_object_get(r->json, "slots"), 0);
	CHECK(json_integer_value(json_object_get(slot, "start_ms")) <
	      (long long)time(NULL) * 1000 + 3600 * 1000);
	reply_free(r);
}

/* The start of change `id`'s booked slot (ms), or 0. */
static long long booked_start(const char *id)
{
	char path[96];
	snprintf(path, sizeof path, "/v1/changes/%s", id);
	struct reply *r = request(&srv, "GET", path, manager, NULL, NULL);
	const char *start = json_string_value(json_object_get(
		json_object_get(json_object_get(r->json, "record"), "schedule"), "start"));
	if (start == NULL) /* GET may answer the record itself */
		start = json_string_value(
			json_object_get(json_object_get(r->json, "schedule"), "start"));
	long long ms = 0;
	struct tm tm = {0};
	if (start != NULL && strptime(start, "%Y-%m-%dT%H:%M:%S", &tm) != NULL)
		ms = (long long)timegm(&tm) * 1000;
	reply_free(r);
	return ms;
}

/*
 * A change booked before the incident, inside what becomes its freeze, is moved out of
 * it by the re-planner without anything else happening: the freeze itself is what
 * changed (no booking was written, no definition reloaded).
 */
static void test_replan_moves_a_booked_change_out_of_a_new_freeze(void)
{
	char at[32], extra[96], change[32] = "";
	long long now = (long long)time(NULL) * 1000 + 120 * 1000; /* the server's clock */
	time_t t = (time_t)(now / 1000) + 2 * 3600;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(extra, sizeof extra, ", \"not_before\": \"%s\"", at);
	struct reply *r = deploy("web-frontend", extra);
	CHECK_INT(r->status, 201);
	CHECKF(strcmp(reply_str(r, "reason_code") ?: "", "booked") == 0, "deploy: %s", r->body);
	snprintf(change, sizeof change, "%s", reply_str(r, "change") ?: "");
	reply_free(r);
	long long before = booked_start(change);
	CHECKF(before != 0 && before < now + 3 * 3600 * 1000LL, "booked at %lld (now %lld)", before,
	       now);
	/* the booking is a write the re-planner notices: let that pass be over first */
	struct timespec settle = {2, 500 * 1000 * 1000};
	nanosleep(&settle, NULL);
	r = request(&srv, "POST", "/v1/incidents", requester,
		    "{\"title\": \"Card declines\", \"service\": \"payments\", "
		    "\"priority\": \"P1\"}",
		    NULL);
	CHECK_INT(r->status, 201);
	char p1[32];
	snprintf(p1, sizeof p1, "%s", reply_str(r, "id") ?: "");
	reply_free(r);
	/* the freeze holds 4 h from now: the re-planner (a sweep a second) moves it beyond */
	long long after = before;
	for (int i = 0; i < 100 && after < now + 4 * 3600 * 1000LL - 120 * 1000; i++) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
		after = booked_start(change);
	}
	CHECKF(after >= now + 4 * 3600 * 1000LL - 120 * 1000,
	       "%s still starts at %lld, inside %s's freeze (now %lld)", change, after, p1, now);
	incident_event_on(p1, "start", NULL);
	incident_event_on(p1, "resolve", "{\"resolution\": \"failed over\"}");
}

int tests_main(void);
#define main tests_main
TESTS(test_p3_freezes_nothing, test_open_window_is_held,
      test_p1_denies_the_service_and_its_dependents, test_scheduler_places_nothing_in_it,
      test_a_booking_lands_after_it, test_emergency_fixing_it_is_exempt, test_resolving_lifts_it,
      test_replan_moves_a_booked_change_out_of_a_new_freeze)
#undef main

int main(void)
{
	char dir[1024], cmd[4096];
	snprintf(dir, sizeof dir, "%s/freeze-policies", getenv("TRANSOM_TEST_TMP") ?: "/tmp");
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && cp '%s/policies/'* '%s/'", dir,
		 dir, getenv("TRANSOM_TEST_ROOT") ?: ".", dir);
	snprintf(pipeline, sizeof pipeline, "%s", token_for("ci", "pipeline"));
	snprintf(manager, sizeof manager, "%s", token_for("amartin", "change_manager"));
	snprintf(requester, sizeof requester, "%s", token_for("grossi", "requester"));
	snprintf(clock_file, sizeof clock_file, "%s/freeze-clock",
		 getenv("TRANSOM_TEST_TMP") ?: "/tmp");
	char clock_env[700];
	snprintf(clock_env, sizeof clock_env, "TRANSOM_CLOCK_OFFSET_FILE=%s", clock_file);
	const char *env[] = {clock_env, NULL};
	if (!clock_ahead(0) || system(cmd) != 0 ||
	    !write_file_in(dir, "windows.ics", windows_ics) ||
	    !write_file_in(dir, "freezes.ics", freezes_ics) || !pipeline[0] || !manager[0] ||
	    !requester[0] || !server_start(&srv, NULL, dir, env)) {
		printf("0 passed, 1 failed\n");
		return 1;
	}
	return tests_main();
}
