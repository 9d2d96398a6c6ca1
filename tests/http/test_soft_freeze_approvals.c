/*
 * test_soft_freeze_approvals.c -- a change whose slot falls in a soft freeze needs more
 * approvals: the proposed slot (record.schedule, status "proposed") is known before the
 * approval rules run, and the shipped rule "soft-freeze" asks the emergency board too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/harness.h"
#include "lib_http.h"

#define DAY_MS (86400LL * 1000)

static struct server srv;
static char requester[128], policies[512];
static long long day0; /* midnight UTC three days from now: the frozen day */

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

/* `ms` as a DATE ("20261130"), an RFC 3339 time, or one with milliseconds. */
enum stamp_form { DATE, TIME, TIME_MS };
static void stamp(long long ms, enum stamp_form form, char *out, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	if (form == DATE)
		strftime(out, size, "%Y%m%d", &tm);
	else if (form == TIME)
		strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		strftime(out, size, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

/* Creates and submits a low-risk normal change on search, not before `not_before_ms`. */
static json_t *submit(long long not_before_ms)
{
	char nb[32], body[1024], url[128];
	stamp(not_before_ms, TIME, nb, sizeof nb);
	snprintf(body, sizeof body,
		 "{\"title\": \"Reindex search\", \"type\": \"normal\", \"services\": [\"search\"],"
		 " \"duration\": \"PT1H\", \"not_before\": \"%s\", \"description\": \"reindex\","
		 " \"implementation_plan\": \"rebuild the index\", \"rollback_plan\": \"switch back"
		 " to the previous index\", \"test_evidence\": \"staging run 12\"}",
		 nb);
	const char *h[] = {"Content-Type: application/json", NULL};
	struct reply *r = request(&srv, "POST", "/v1/changes", requester, body, h);
	CHECK_INT(r->status, 201);
	snprintf(url, sizeof url, "/v1/changes/%s/transitions", reply_str(r, "id"));
	reply_free(r);
	r = request(&srv, "POST", url, requester, "{\"event\": \"submit\"}", h);
	CHECK_INT(r->status, 200);
	json_t *rec = json_incref(r->json);
	reply_free(r);
	return rec;
}

/* The groups the change's approvals require, as "g1,g2,". */
static void groups_of(json_t *rec, char *out, size_t size)
{
	size_t i;
	json_t *g;
	out[0] = '\0';
	json_array_foreach(
		json_object_get(json_object_get(json_object_get(rec, "approvals"), "required"),
				"groups"),
		i, g) {
		strncat(out, json_string_value(json_object_get(g, "group")) ?: "?",
			size - strlen(out) - 2);
		strcat(out, ",");
	}
}

static void test_slot_in_soft_freeze_needs_the_emergency_board(void)
{
	char groups[256], want[40];
	json_t *rec = submit(day0);
	json_t *s = json_object_get(rec, "schedule");
	CHECK_STR(json_string_value(json_object_get(rec, "state")), "authorize");
	CHECK_STR(json_string_value(json_object_get(s, "status")), "proposed");
	stamp(day0 + 2 * 3600 * 1000, TIME_MS, want, sizeof want);
	CHECK_STR(json_string_value(json_object_get(s, "start")), want);
	CHECK_STR(json_string_value(json_object_get(s, "soft_freeze")), "Index rebuild moratorium");
	groups_of(rec, groups, sizeof groups);
	CHECKF(strstr(groups, "cab,") && strstr(groups, "ecab,"), "groups: %s", groups);
	json_decref(rec);
}

static void test_slot_outside_the_freeze_needs_the_cab_only(void)
{
	char groups[256];
	json_t *rec = submit(day0 + 2 * DAY_MS);
	json_t *s = json_object_get(rec, "schedule");
	CHECK_STR(json_string_value(json_object_get(s, "status")), "proposed");
	CHECK(json_is_null(json_object_get(s, "soft_freeze")));
	groups_of(rec, groups, sizeof groups);
	CHECKF(strcmp(groups, "cab,") == 0, "groups: %s", groups);
	json_decref(rec);
}

static void setup(void)
{
	char cmd[2048], text[2048], a[16], b[16];
	snprintf(policies, sizeof policies, "%s/soft-freeze-policies",
		 getenv("TRANSOM_TEST_TMP") ?: "/tmp");
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s/policies' '%s'", policies,
		 getenv("TRANSOM_TEST_ROOT") ?: ".", policies);
	if (system(cmd) != 0)
		exit(1);
	day0 = ((long long)time(NULL) * 1000 / DAY_MS + 3) * DAY_MS;
	write_file("windows.ics",
		   "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
		   "BEGIN:VEVENT\r\nUID:search-nightly@test\r\nDTSTAMP:20260101T000000Z\r\n"
		   "DTSTART:20260101T020000Z\r\nDURATION:PT2H\r\nRRULE:FREQ=DAILY\r\n"
		   "SUMMARY:Search nightly\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n"
		   "X-TRANSOM-SERVICES:search\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
	stamp(day0, DATE, a, sizeof a);
	stamp(day0 + DAY_MS, DATE, b, sizeof b);
	snprintf(text, sizeof text,
		 "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
		 "BEGIN:VEVENT\r\nUID:moratorium@test\r\nDTSTAMP:20260101T000000Z\r\n"
		 "DTSTART;VALUE=DATE:%s\r\nDTEND;VALUE=DATE:%s\r\n"
		 "SUMMARY:Index rebuild moratorium\r\nCATEGORIES:FREEZE\r\n"
		 "X-TRANSOM-SERVICES:search\r\nX-TRANSOM-HARDNESS:soft\r\nEND:VEVENT\r\n"
		 "END:VCALENDAR\r\n",
		 a, b);
	write_file("freezes.ics", text);
	snprintf(requester, sizeof requester, "%s", token_for("grossi", "requester"));
	if (!requester[0] || !server_start(&srv, NULL, policies, NULL)) {
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_slot_in_soft_freeze_needs_the_emergency_board,
      test_slot_outside_the_freeze_needs_the_cab_only)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	return rc;
}
