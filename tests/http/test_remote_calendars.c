/*
 * test_remote_calendars.c -- remote freeze calendars (policies/calendars.json "remote"):
 * fetched from a real HTTP server (tests/http/remote/serve.py) with ETags, read as hard
 * freezes, shown in /readyz and /metrics; a change booked on a day that becomes a freeze
 * is re-planned; a failing server or a broken calendar keeps the last good copy.  The
 * refresh interval passes by moving the service's clock (TRANSOM_CLOCK_OFFSET_FILE).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "lib_http.h"

#define DAY_MS (86400LL * 1000)

static struct server srv;
static char requester[128], admin[128], root_dir[400], policies[512], serve_dir[512], log_file[512];
static char clock_file[512], base[128];
static pid_t stub = -1;
static long long day0;      /* midnight UTC, ten days from now: the day that gets frozen */
static long long offset_ms; /* how far the service's clock is moved */

/* Moves the service's clock `ms` further ahead. */
static void clock_forward(long long ms)
{
	char text[64];
	offset_ms += ms;
	snprintf(text, sizeof text, "%lld\n", offset_ms);
	char dir[512];
	snprintf(dir, sizeof dir, "%s", clock_file);
	*strrchr(dir, '/') = '\0';
	write_file_in(dir, strrchr(clock_file, '/') + 1, text);
}

static void date_of(long long ms, char *out, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, size, "%Y%m%d", &tm);
}

/* The remote calendar: one all-day event per (name, day) pair; NULL ends. */
static void publish(const char *name1, long long d1, const char *name2, long long d2)
{
	char a[16], b[16], a1[16], b1[16], text[2048];
	date_of(d1, a, sizeof a);
	date_of(d1 + DAY_MS, a1, sizeof a1);
	int n = snprintf(text, sizeof text,
			 "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Holidays//EN\r\n"
			 "BEGIN:VEVENT\r\nUID:h1@holidays\r\nDTSTAMP:20260101T000000Z\r\n"
			 "DTSTART;VALUE=DATE:%s\r\nDTEND;VALUE=DATE:%s\r\nSUMMARY:%s\r\n"
			 "CATEGORIES:HOLIDAY\r\nLOCATION:\r\nDESCRIPTION:\r\n"
			 "URL;VALUE=URI:\r\nEND:VEVENT\r\n",
			 a, a1, name1);
	if (name2 != NULL) {
		date_of(d2, b, sizeof b);
		date_of(d2 + DAY_MS, b1, sizeof b1);
		n += snprintf(text + n, sizeof text - (size_t)n,
			      "BEGIN:VEVENT\r\nUID:h2@holidays\r\nDTSTAMP:20260101T000000Z\r\n"
			      "DTSTART;VALUE=DATE:%s\r\nDTEND;VALUE=DATE:%s\r\nSUMMARY:%s\r\n"
			      "END:VEVENT\r\n",
			      b, b1, name2);
	}
	snprintf(text + n, sizeof text - (size_t)n, "END:VCALENDAR\r\n");
	write_file_in(serve_dir, "holidays.ics", text);
}

/* The remote calendar's entry of /readyz (owned), or NULL; the checks are shown to admins. */
static json_t *remote_status(void)
{
	struct reply *r = request(&srv, "GET", "/readyz", admin, NULL, NULL);
	json_t *list = json_object_get(json_object_get(r->json, "checks"), "remote_calendars");
	json_t *entry = json_incref(json_array_get(list, 0));
	CHECKF(r->status == 200, "readyz %ld: the service stays ready", r->status);
	reply_free(r);
	return entry;
}

/* Waits (up to 10 s) until the remote's status has `ok` and, if given, an error with `needle`. */
static json_t *wait_status(bool ok, const char *needle)
{
	json_t *s = NULL;
	for (int i = 0; i < 200; i++) {
		json_decref(s);
		s = remote_status();
		const char *err = json_string_value(json_object_get(s, "error"));
		if (json_is_true(json_object_get(s, "ok")) == ok &&
		    (needle == NULL || (err != NULL && strstr(err, needle) != NULL)))
			return s;
		usleep(50 * 1000);
	}
	char *text = json_dumps(s, 0);
	CHECKF(0, "remote status never became ok=%d %s: %s", ok, needle ? needle : "",
	       text ? text : "(none)");
	free(text);
	return s;
}

/* The names of the freezes on [from, from + 1 day), joined by '|'. */
static void freezes_on(long long from, char *out, size_t size)
{
	char path[256], f[32], t[32];
	time_t a = (time_t)(from / 1000), b = (time_t)((from + DAY_MS) / 1000);
	struct tm ta, tb;
	gmtime_r(&a, &ta);
	gmtime_r(&b, &tb);
	strftime(f, sizeof f, "%Y-%m-%dT%H:%M:%SZ", &ta);
	strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%SZ", &tb);
	snprintf(path, sizeof path, "/v1/freezes?service=search&from=%s&to=%s", f, t);
	struct reply *r = request(&srv, "GET", path, requester, NULL, NULL);
	out[0] = '\0';
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(r->json, "freezes"), i, v) {
		strncat(out, json_string_value(json_object_get(v, "summary")) ?: "?",
			size - strlen(out) - 2);
		strcat(out, "|");
	}
	reply_free(r);
}

static bool start_stub(void)
{
	char port_file[600];
	snprintf(port_file, sizeof port_file, "%s/remote.port", root_dir);
	unlink(port_file);
	stub = fork();
	if (stub == 0) {
		execl("/usr/bin/python3", "python3", "tests/http/remote/serve.py", serve_dir,
		      port_file, log_file, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		FILE *fp = fopen(port_file, "r");
		int port = 0;
		if (fp != NULL && fscanf(fp, "%d", &port) == 1 && port > 0) {
			fclose(fp);
			snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
			return true;
		}
		if (fp != NULL)
			fclose(fp);
		usleep(50 * 1000);
	}
	return false;
}

/* How many requests the calendar server logged, and how many were conditional. */
static void served(int *all, int *conditional)
{
	FILE *fp = fopen(log_file, "r");
	char line[1024];
	*all = *conditional = 0;
	while (fp != NULL && fgets(line, sizeof line, fp) != NULL) {
		(*all)++;
		if (strstr(line, "\"if_none_match\": null") == NULL)
			(*conditional)++;
	}
	if (fp != NULL)
		fclose(fp);
}

static void test_fetched_freeze_replans_and_failures_keep_the_last_copy(void)
{
	char names[512];
	/* 1. Fetched at start: the holiday is a hard freeze, the status is good. */
	json_t *s = wait_status(true, NULL);
	CHECK(json_is_true(json_object_get(s, "cached")));
	CHECK_STR(json_string_value(json_object_get(s, "name")), "holidays");
	json_decref(s);
	freezes_on(day0 - 5 * DAY_MS, names, sizeof names);
	CHECKF(strstr(names, "Founders Day") != NULL, "freezes: %s", names);
	/* Empty LOCATION:, DESCRIPTION:, URL;VALUE=URI: (as Google, Outlook and Apple export
	 * them) are left out with warnings an admin sees in /readyz (issue 17.1). */
	struct reply *rz = request(&srv, "GET", "/readyz", admin, NULL, NULL);
	char *warns = json_dumps(
		json_object_get(json_object_get(json_object_get(rz->json, "checks"), "definitions"),
				"warnings"),
		0);
	CHECKF(warns != NULL &&
		       strstr(warns, "calendars/holidays.ics: VEVENT[0] (UID h1@holidays): "
				     "LOCATION left out") != NULL &&
		       strstr(warns, "(UID h1@holidays): URL left out") != NULL,
	       "readyz warnings: %s", warns ? warns : "(none)");
	free(warns);
	reply_free(rz);
	struct reply *r = request(&srv, "GET", "/metrics", NULL, NULL, NULL);
	CHECK(r->body && strstr(r->body, "transom_remote_calendar_up{name=\"holidays\"} 1"));
	reply_free(r);

	/* 2. A change booked on day0 (the search window opens at 02:00 UTC every day). */
	char body[512], nb[32], path[64];
	time_t t0 = (time_t)(day0 / 1000);
	struct tm tm0;
	gmtime_r(&t0, &tm0);
	strftime(nb, sizeof nb, "%Y-%m-%dT00:00:00Z", &tm0);
	snprintf(body, sizeof body,
		 "{\"title\": \"Reindex\", \"type\": \"standard\", \"template\": \"search-deploy\","
		 " \"services\": [\"search\"], \"duration\": \"PT1H\", \"not_before\": \"%s\"}",
		 nb);
	r = request(&srv, "POST", "/v1/changes", requester, body,
		    (const char *[]){"Content-Type: application/json", NULL});
	CHECK_INT(r->status, 201);
	snprintf(path, sizeof path, "%s", reply_str(r, "id"));
	reply_free(r);
	char url[128];
	snprintf(url, sizeof url, "/v1/changes/%s/transitions", path);
	r = request(&srv, "POST", url, requester, "{\"event\": \"submit\"}",
		    (const char *[]){"Content-Type: application/json", NULL});
	json_t *sched = json_object_get(r->json, "schedule");
	long long start = 0;
	char want[32];
	strftime(want, sizeof want, "%Y-%m-%dT02:00:00.000Z", &tm0);
	CHECKF(strcmp(json_string_value(json_object_get(sched, "start")) ?: "", want) == 0,
	       "booked at %s, want %s", json_string_value(json_object_get(sched, "start")), want);
	reply_free(r);

	/* 3. The remote calendar freezes day0; after its refresh interval the change moves. */
	publish("Founders Day", day0 - 5 * DAY_MS, "Bridge Day", day0);
	clock_forward(2 * 60 * 1000);
	snprintf(url, sizeof url, "/v1/changes/%s", path);
	time_t t1 = (time_t)((day0 + DAY_MS) / 1000);
	struct tm tm1;
	gmtime_r(&t1, &tm1);
	strftime(want, sizeof want, "%Y-%m-%dT02:00:00.000Z", &tm1);
	bool moved = false;
	for (int i = 0; i < 200 && !moved; i++) {
		usleep(50 * 1000);
		r = request(&srv, "GET", url, requester, NULL, NULL);
		sched = json_object_get(r->json, "schedule");
		moved = strcmp(json_string_value(json_object_get(sched, "start")) ?: "", want) ==
				0 &&
			json_integer_value(json_object_get(sched, "sequence")) == 1;
		reply_free(r);
	}
	CHECKF(moved, "%s was not re-planned to %s after the remote freeze", path, want);
	(void)start;
	freezes_on(day0, names, sizeof names);
	CHECKF(strstr(names, "Bridge Day") != NULL, "freezes: %s", names);
	int all, conditional;
	served(&all, &conditional);
	CHECKF(all >= 2 && conditional >= 1, "%d requests, %d conditional", all, conditional);

	/* 4. The server fails: the last good copy stays in force, the status says why. */
	write_file_in(serve_dir, "FAIL", "on purpose\n");
	clock_forward(2 * 60 * 1000);
	s = wait_status(false, "500");
	CHECK(json_is_true(json_object_get(s, "cached")));
	json_decref(s);
	freezes_on(day0, names, sizeof names);
	CHECKF(strstr(names, "Bridge Day") != NULL, "last good copy kept: %s", names);
	r = request(&srv, "GET", "/metrics", NULL, NULL, NULL);
	CHECK(r->body && strstr(r->body, "transom_remote_calendar_up{name=\"holidays\"} 0"));
	reply_free(r);

	/* 5. It answers again, with something that is not a calendar: refused, copy kept. */
	char fail[600];
	snprintf(fail, sizeof fail, "%s/FAIL", serve_dir);
	unlink(fail);
	write_file_in(serve_dir, "holidays.ics", "<html>maintenance page</html>\n");
	clock_forward(2 * 60 * 1000);
	s = wait_status(false, "not a usable calendar");
	json_decref(s);
	freezes_on(day0, names, sizeof names);
	CHECKF(strstr(names, "Bridge Day") != NULL, "last good copy kept: %s", names);

	/* 6. A good calendar again: back to ok. */
	publish("Founders Day", day0 - 5 * DAY_MS, NULL, 0);
	clock_forward(2 * 60 * 1000);
	s = wait_status(true, NULL);
	json_decref(s);
}

static void setup(void)
{
	const char *tmp = getenv("TRANSOM_TEST_TMP") ?: "/tmp";
	char cmd[2048];
	snprintf(root_dir, sizeof root_dir, "%s/remote", tmp);
	snprintf(policies, sizeof policies, "%s/policies", root_dir);
	snprintf(serve_dir, sizeof serve_dir, "%s/served", root_dir);
	snprintf(log_file, sizeof log_file, "%s/served.log", root_dir);
	snprintf(clock_file, sizeof clock_file, "%s/clock", root_dir);
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && cp -r '%s/policies' '%s'",
		 root_dir, serve_dir, getenv("TRANSOM_TEST_ROOT") ?: ".", policies);
	if (system(cmd) != 0)
		exit(1);
	long long now = (long long)time(NULL) * 1000;
	day0 = (now / DAY_MS + 10) * DAY_MS;
	publish("Founders Day", day0 - 5 * DAY_MS, NULL, 0);
	clock_forward(0);
	if (!start_stub()) {
		printf("calendar server did not start\n0 passed, 1 failed\n");
		exit(1);
	}
	write_file_in(policies, "windows.ics",
		      "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
		      "BEGIN:VEVENT\r\nUID:search-nightly@test\r\nDTSTAMP:20260101T000000Z\r\n"
		      "DTSTART:20260101T020000Z\r\nDURATION:PT2H\r\nRRULE:FREQ=DAILY\r\n"
		      "SUMMARY:Search nightly\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n"
		      "X-TRANSOM-SERVICES:search\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
	write_file_in(policies, "freezes.ics",
		      "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nEND:VCALENDAR\r\n");
	write_file_in(policies, "templates.json",
		      "{\"templates\": [{\"id\": \"search-deploy\", \"title\": \"Deploy search\","
		      " \"services\": [\"search\"], \"max_duration\": \"2h\"}]}\n");
	snprintf(cmd, sizeof cmd,
		 "{\"horizon_days\": 60, \"remote\": [{\"name\": \"holidays\", \"url\":"
		 " \"%s/holidays.ics\", \"hardness\": \"hard\", \"services\": \"*\","
		 " \"refresh\": \"PT1M\", \"timeout\": \"PT5S\"}]}\n",
		 base);
	write_file_in(policies, "calendars.json", cmd);
	char env_cache[600], env_clock[600];
	snprintf(env_cache, sizeof env_cache, "TRANSOM_CACHE_DIR=%s/cache", root_dir);
	snprintf(env_clock, sizeof env_clock, "TRANSOM_CLOCK_OFFSET_FILE=%s", clock_file);
	/* The calendar server listens on loopback: allowed explicitly (SSRF guard). */
	const char *env[] = {env_cache, env_clock, "TRANSOM_TIMER_INTERVAL=100",
			     "TRANSOM_WEBHOOK_ALLOW_NETS=127.0.0.0/8", NULL};
	snprintf(requester, sizeof requester, "%s", token_for("grossi", "requester"));
	snprintf(admin, sizeof admin, "%s", token_for("admin", "admin"));
	if (!requester[0] || !server_start(&srv, NULL, policies, env)) {
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_fetched_freeze_replans_and_failures_keep_the_last_copy)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	if (stub > 0) {
		kill(stub, SIGTERM);
		waitpid(stub, NULL, 0);
	}
	return rc;
}
