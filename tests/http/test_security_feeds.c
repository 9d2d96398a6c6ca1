/*
 * test_security_feeds.c -- issue 11 item 9: a change whose title is cut mid-character by
 * a fixed buffer used to vanish from every ICS feed and CalDAV calendar (jansson refused
 * the invalid UTF-8 and the item was dropped silently).  Three changes with titles of 200
 * characters, nearly all CJK (3 bytes each: "", "x" and "xx" then "界"s, so that two of
 * them are cut in the middle of a character whatever the length of the id), must appear
 * in schedule.ics, in the CalDAV schedule calendar, and, before they are voted on, in a
 * CAB member's cab-votes calendar.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/harness.h"
#include "lib_http.h"

static struct server srv;
#include "record_steps.h"

static char grossi[128], bokafor[128], amartin[128];
static char ids[3][24];

#define LOW_WEB                                                                                    \
	"{\"title\": \"%s\", \"type\": \"normal\","                                                \
	" \"services\": [\"web-frontend\"], \"duration\": \"PT1H\","                               \
	" \"description\": \"typo\", \"implementation_plan\": \"deploy\","                         \
	" \"rollback_plan\": \"switch the load balancer back to the blue pool\","                  \
	" \"test_evidence\": \"visual diff reviewed\"}"

/* A calendar-query REPORT (every VEVENT) on `path` as `user`:`pw`. */
static struct reply *report(const char *path, const char *user, const char *pw)
{
	char cred[256], enc[400], auth[480];
	snprintf(cred, sizeof cred, "%s:%s", user, pw);
	b64_encode(cred, enc);
	snprintf(auth, sizeof auth, "Authorization: Basic %s", enc);
	const char *h[] = {auth, "Depth: 1", "Content-Type: application/xml; charset=utf-8", NULL};
	return request(&srv, "REPORT", path, NULL,
		       "<c:calendar-query xmlns:d=\"DAV:\" "
		       "xmlns:c=\"urn:ietf:params:xml:ns:caldav\"><d:prop><d:getetag/>"
		       "<c:calendar-data/></d:prop><c:filter><c:comp-filter name=\"VCALENDAR\">"
		       "<c:comp-filter name=\"VEVENT\"/></c:comp-filter></c:filter>"
		       "</c:calendar-query>",
		       h);
}

static bool app_password(const char *token, char *pw)
{
	struct reply *r = post("/v1/me/app-passwords", token, "{\"label\": \"feeds\"}");
	bool ok = r->status == 201 && *reply_str(r, "password") != '\0';
	CHECKF(ok, "app password: %ld %s", r->status, body_of(r));
	snprintf(pw, 64, "%s", reply_str(r, "password"));
	reply_free(r);
	return ok;
}

/* A submitted change titled `prefix` then "界" up to 200 characters; its id into `id`. */
static bool long_change(const char *prefix, char *id, size_t len)
{
	char title[1024], body[2048], path[64];
	size_t n = (size_t)snprintf(title, sizeof title, "%s", prefix);
	for (size_t i = strlen(prefix); i < 200; i++, n += 3)
		memcpy(title + n, "\xe7\x95\x8c", 4);
	snprintf(body, sizeof body, LOW_WEB, title);
	if (!create("/v1/changes", grossi, body, path, sizeof path))
		return false;
	snprintf(id, len, "%s", strrchr(path, '/') + 1);
	return step(path, grossi, "submit", "authorize");
}

static void test_long_titles_in_cab_votes(void)
{
	char pw[64];
	const char *prefix[] = {"", "x", "xx"};
	for (size_t i = 0; i < 3; i++)
		CHECK(long_change(prefix[i], ids[i], sizeof ids[i]));
	if (!app_password(bokafor, pw))
		return;
	struct reply *r = report("/dav/calendars/bokafor/cab-votes/", "bokafor", pw);
	CHECKF(r->status == 207, "cab-votes: %ld", r->status);
	for (size_t i = 0; i < 3; i++)
		CHECKF(ids[i][0] && strstr(body_of(r), ids[i]) != NULL, "%s missing from cab-votes",
		       ids[i]);
	reply_free(r);
}

static void test_long_titles_in_schedule(void)
{
	char path[128], pw[64];
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "/v1/changes/%s/approvals", ids[i]);
		struct reply *v = post(path, bokafor, "{\"decision\": \"approve\"}");
		CHECKF(v->status == 200, "approve %s: %ld %s", ids[i], v->status, body_of(v));
		reply_free(v);
		snprintf(path, sizeof path, "/v1/changes/%s", ids[i]);
		v = request(&srv, "GET", path, grossi, NULL, NULL);
		CHECKF(strcmp(reply_str(v, "state"), "scheduled") == 0, "%s: %s", ids[i],
		       body_of(v));
		reply_free(v);
	}
	struct reply *r = request(&srv, "GET", "/v1/calendars/schedule.ics", grossi, NULL, NULL);
	CHECKF(r->status == 200, "schedule.ics: %ld", r->status);
	for (size_t i = 0; i < 3; i++) {
		char uid[96];
		snprintf(uid, sizeof uid, "UID:%s@transom", ids[i]);
		CHECKF(strstr(body_of(r), uid) != NULL, "%s missing from schedule.ics", ids[i]);
	}
	/* The summaries are there, cut on whole characters. */
	CHECK(strstr(body_of(r), "\xe7\x95\x8c\xe7\x95\x8c") != NULL);
	reply_free(r);
	if (!app_password(amartin, pw))
		return;
	r = report("/dav/calendars/amartin/schedule/", "amartin", pw);
	CHECKF(r->status == 207, "schedule: %ld", r->status);
	for (size_t i = 0; i < 3; i++)
		CHECKF(ids[i][0] && strstr(body_of(r), ids[i]) != NULL,
		       "%s missing from the CalDAV schedule", ids[i]);
	reply_free(r);
}

static void setup(void)
{
	snprintf(grossi, sizeof grossi, "%s", token_for("grossi", "requester"));
	snprintf(bokafor, sizeof bokafor, "%s", token_for("bokafor", "cab"));
	snprintf(amartin, sizeof amartin, "%s", token_for("amartin", "cab,change_manager"));
	if (!grossi[0] || !amartin[0] || !server_start(&srv, NULL, NULL, NULL)) {
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_long_titles_in_cab_votes, test_long_titles_in_schedule)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	return rc;
}
