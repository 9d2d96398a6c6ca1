/*
 * test_dav.c -- CalDAV against the real transomd: app passwords and HTTP Basic (401 with
 * WWW-Authenticate first, wrong and revoked passwords), discovery, PROPFIND (404 propstat
 * for unsupported properties), REPORT calendar-query / calendar-multiget /
 * sync-collection (the token moves after a vote; unknown tokens refused), votes by
 * PARTSTAT (204 with ETag and Schedule-Tag, recorded with channel caldav, the change moves
 * on at quorum), 403 allowed-attendee-scheduling-object-change for anything else, DELETE
 * as a decline; then real clients: python3-caldav (tests/http/dav/caldav_client.py) and
 * vdirsyncer + khal on the schedule calendar.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "lib_http.h"

static struct server srv;
#include "record_steps.h"

static char grossi[128], amartin[128], bokafor[128], cnguyen[128], dschmidt[128], mpetrov[128];

/* web-frontend (high) 10, with test evidence, PT1H: 10, low (CAB quorum 1). */
#define LOW_WEB                                                                                    \
                                                                                                   \
	"{\"title\": \"%s\", \"type\": \"normal\","                                                \
	" \"services\": [\"web-frontend\"], \"duration\": \"PT1H\","                               \
	" \"description\": \"typo\", \"implementation_plan\": \"deploy\","                         \
	" \"rollback_plan\": \"switch the load balancer back to the blue pool\","                  \
	" \"test_evidence\": \"visual diff reviewed\"}"
/* web-frontend (high) 10, no test evidence 15, PT6H 10: 35, medium (CAB quorum 2). */
#define MEDIUM_WEB                                                                                 \
                                                                                                   \
	"{\"title\": \"%s\", \"type\": \"normal\","                                                \
	" \"services\": [\"web-frontend\"], \"duration\": \"PT6H\","                               \
	" \"description\": \"new layout\", \"implementation_plan\": \"blue/green deploy\","        \
	" \"rollback_plan\": \"switch the load balancer back to the blue pool\"}"

/* An app password of `token`'s user into `pw` (64 bytes); its id into *id. */
static bool app_password(const char *token, char *pw, long long *id)
{
	struct reply *r = post("/v1/me/app-passwords", token, "{\"label\": \"test\"}");
	bool ok = r->status == 201 && *reply_str(r, "password") != '\0';
	CHECKF(ok, "app password: %ld %s", r->status, body_of(r));
	snprintf(pw, 64, "%s", reply_str(r, "password"));
	if (id != NULL)
		*id = json_integer_value(json_object_get(r->json, "id"));
	reply_free(r);
	return ok;
}

/* A DAV request with HTTP Basic `user`:`pw` (user NULL: no Authorization). */
static struct reply *dav(const char *method, const char *path, const char *user, const char *pw,
			 const char *body, const char *depth, const char *extra)
{
	char cred[256], enc[400], auth[480], dh[32];
	const char *h[6];
	size_t n = 0;
	if (user != NULL) {
		snprintf(cred, sizeof cred, "%s:%s", user, pw);
		b64_encode(cred, enc);
		snprintf(auth, sizeof auth, "Authorization: Basic %s", enc);
		h[n++] = auth;
	}
	if (depth != NULL) {
		snprintf(dh, sizeof dh, "Depth: %s", depth);
		h[n++] = dh;
	}
	if (body != NULL)
		h[n++] = strncmp(body, "BEGIN:VCALENDAR", 15) == 0
				 ? "Content-Type: text/calendar; charset=utf-8"
				 : "Content-Type: application/xml; charset=utf-8";
	if (extra != NULL)
		h[n++] = extra;
	h[n] = NULL;
	return request(&srv, method, path, NULL, body, h);
}

/* Creates a change (`fmt` with `title`) as grossi and submits it; its id into `id`. */
static bool change(bool medium, const char *title, char *id, size_t len)
{
	char body[1024], path[64];
	if (medium)
		snprintf(body, sizeof body, MEDIUM_WEB, title);
	else
		snprintf(body, sizeof body, LOW_WEB, title);
	if (!create("/v1/changes", grossi, body, path, sizeof path))
		return false;
	bool ok = step(path, grossi, "submit", "authorize");
	snprintf(id, len, "%s", strrchr(path, '/') + 1);
	return ok;
}

static const char *state_of(const char *id, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof path, "/v1/changes/%s", id);
	struct reply *r = request(&srv, "GET", path, grossi, NULL, NULL);
	snprintf(buf, len, "%s", reply_str(r, "state"));
	reply_free(r);
	return buf;
}

/* The vote of `user` on change `id` as {decision, channel}, or NULL (owned JSON). */
static json_t *vote_of(const char *id, const char *user)
{
	char path[96];
	snprintf(path, sizeof path, "/v1/changes/%s/approvals", id);
	struct reply *r = request(&srv, "GET", path, grossi, NULL, NULL);
	json_t *found = NULL, *v;
	size_t i;
	json_array_foreach(json_object_get(r->json, "votes"), i, v) {
		if (strcmp(json_string_value(json_object_get(v, "user")) ?: "", user) == 0) {
			json_decref(found);
			found = json_incref(v);
		}
	}
	if (found == NULL)
		fprintf(stderr, "  approvals of %s: %s\n", id, body_of(r));
	reply_free(r);
	return found;
}

static bool contains(const struct reply *r, const char *s)
{
	return r->body != NULL && strstr(r->body, s) != NULL;
}

/* Replaces the first `from` in `text` by `to` into an owned string. */
static char *replaced(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	if (at == NULL)
		return strdup(text);
	size_t a = (size_t)(at - text), fl = strlen(from), tl = strlen(to), n = strlen(text);
	char *out = malloc(n - fl + tl + 1);
	memcpy(out, text, a);
	memcpy(out + a, to, tl);
	memcpy(out + a + tl, at + fl, n - a - fl + 1);
	return out;
}

/*
 * Runs `argv` with `env` additions ("K=V", NULL-terminated, may be NULL), stdin from
 * `input` (may be NULL), for at most `limit` seconds; its stdout and stderr into *out
 * (owned).  Returns the exit status, or -1 (killed or not run).
 */
static int run(const char *const *argv, const char *const *env, const char *input, char **out,
	       unsigned limit)
{
	char outfile[512], infile[512];
	const char *tmp = getenv("TRANSOM_TEST_TMP") ?: "/tmp";
	static unsigned seq;
	snprintf(outfile, sizeof outfile, "%s/run-%d-%u.out", tmp, (int)getpid(), seq);
	snprintf(infile, sizeof infile, "%s/run-%d-%u.in", tmp, (int)getpid(), seq++);
	FILE *f = fopen(infile, "w");
	if (f != NULL) {
		fputs(input ? input : "", f);
		fclose(f);
	}
	pid_t pid = fork();
	if (pid == 0) {
		if (!freopen(infile, "r", stdin) || !freopen(outfile, "w", stdout) ||
		    dup2(fileno(stdout), STDERR_FILENO) < 0)
			_exit(126);
		for (size_t i = 0; env != NULL && env[i] != NULL; i++)
			putenv((char *)env[i]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	int status = -1, st;
	for (unsigned i = 0; pid > 0 && i < limit * 10; i++) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid) {
			status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
			pid = 0;
			break;
		}
		struct timespec ts = {0, 100000000};
		nanosleep(&ts, NULL);
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		fprintf(stderr, "  %s: killed after %u s\n", argv[0], limit);
	}
	*out = NULL;
	f = fopen(outfile, "r");
	if (f != NULL) {
		char *buf = NULL;
		size_t cap = 0;
		FILE *m = open_memstream(&buf, &cap);
		char chunk[4096];
		size_t k;
		while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
			fwrite(chunk, 1, k, m);
		fclose(m);
		fclose(f);
		*out = buf;
	}
	return status;
}

/* ---- auth ---------------------------------------------------------------------------------- */

static void test_dav_basic_auth_and_app_passwords(void)
{
	char pw[64];
	long long id = 0;
	if (!app_password(amartin, pw, &id))
		return;
	struct reply *r = dav("PROPFIND", "/dav/", NULL, NULL, NULL, "0", NULL);
	CHECKF(r->status == 401, "no credentials: %ld", r->status);
	const char *wa = reply_header(r, "WWW-Authenticate");
	CHECKF(wa != NULL && strncmp(wa, "Basic realm=\"Transom\"", 21) == 0,
	       "WWW-Authenticate: %s", wa ? wa : "(none)");
	reply_free(r);

	r = dav("PROPFIND", "/dav/", "amartin", "tap_wrong", NULL, "0", NULL);
	CHECKF(r->status == 401, "wrong password: %ld", r->status);
	CHECK(reply_header(r, "WWW-Authenticate") != NULL);
	reply_free(r);
	r = dav("PROPFIND", "/dav/", "bokafor", pw, NULL, "0", NULL);
	CHECKF(r->status == 401, "someone else's password: %ld", r->status);
	reply_free(r);

	r = dav("PROPFIND", "/dav/", "amartin", pw, NULL, "0", NULL);
	CHECKF(r->status == 207, "right password: %ld %s", r->status, body_of(r));
	CHECK(contains(r, "/dav/principals/amartin/"));
	reply_free(r);
	/* DAVx5 names the account by e-mail; aliases work too. */
	r = dav("PROPFIND", "/dav/", "alice.martin@example.com", pw, NULL, "0", NULL);
	CHECKF(r->status == 207, "e-mail as user name: %ld", r->status);
	reply_free(r);
	/* DAV routes take app passwords only: a bearer token is refused with a Basic
	 * challenge (issue 11; tests/http/test_security_auth.c has the rest). */
	const char *bearer[] = {"Depth: 0", NULL};
	r = request(&srv, "PROPFIND", "/dav/", amartin, NULL, bearer);
	CHECKF(r->status == 401, "bearer: %ld", r->status);
	wa = reply_header(r, "WWW-Authenticate");
	CHECKF(wa != NULL && strncmp(wa, "Basic realm=\"Transom\"", 21) == 0,
	       "WWW-Authenticate: %s", wa ? wa : "(none)");
	reply_free(r);

	r = request(&srv, "GET", "/v1/me/app-passwords", amartin, NULL, NULL);
	CHECKF(r->status == 200 && !contains(r, pw) && contains(r, "\"label\":\"test\""),
	       "list: %ld %s", r->status, body_of(r));
	reply_free(r);

	char path[64];
	snprintf(path, sizeof path, "/v1/me/app-passwords/%lld", id);
	r = request(&srv, "DELETE", path, bokafor, NULL, NULL);
	CHECKF(r->status == 404, "someone else's revoke: %ld", r->status);
	reply_free(r);
	r = request(&srv, "DELETE", path, amartin, NULL, NULL);
	CHECKF(r->status == 204, "revoke: %ld %s", r->status, body_of(r));
	reply_free(r);
	r = dav("PROPFIND", "/dav/", "amartin", pw, NULL, "0", NULL);
	CHECKF(r->status == 401, "revoked password: %ld", r->status);
	reply_free(r);
}

/* ---- discovery and PROPFIND ---------------------------------------------------------------- */

static void test_dav_discovery_and_propfind(void)
{
	char pw[64];
	if (!app_password(amartin, pw, NULL))
		return;
	struct reply *r = dav("PROPFIND", "/.well-known/caldav", NULL, NULL, NULL, "0", NULL);
	CHECKF(r->status == 301 && strcmp(reply_header(r, "Location") ?: "", "/dav/") == 0,
	       "well-known: %ld", r->status);
	reply_free(r);
	r = dav("OPTIONS", "/dav/calendars/amartin/cab-votes/", "amartin", pw, NULL, NULL, NULL);
	const char *d = reply_header(r, "DAV");
	CHECKF(r->status == 200 && d && strstr(d, "calendar-access") &&
		       strstr(d, "calendar-auto-schedule"),
	       "OPTIONS: %ld DAV: %s", r->status, d ? d : "(none)");
	reply_free(r);

	static const char *principal_props =
		"<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\""
		" xmlns:c=\"urn:ietf:params:xml:ns:caldav\" xmlns:x=\"http://example.com/ns\">"
		"<d:prop><c:calendar-home-set/><c:calendar-user-address-set/>"
		"<c:schedule-inbox-URL/><c:schedule-outbox-URL/><d:displayname/>"
		"<x:favourite-colour/><d:quota-used-bytes/></d:prop></d:propfind>";
	r = dav("PROPFIND", "/dav/principals/amartin/", "amartin", pw, principal_props, "0", NULL);
	CHECKF(r->status == 207, "principal: %ld %s", r->status, body_of(r));
	CHECKF(contains(r, "<D:href>/dav/calendars/amartin/</D:href>") &&
		       contains(r, "mailto:alice.martin@example.com") &&
		       contains(r, "/dav/calendars/amartin/inbox/") &&
		       contains(r, "/dav/calendars/amartin/outbox/") && contains(r, "Alice Martin"),
	       "principal properties: %s", body_of(r));
	/* Unsupported properties come back in a 404 propstat, with their namespace. */
	const char *p404 = strstr(body_of(r), "HTTP/1.1 404");
	const char *colour = strstr(body_of(r), "favourite-colour");
	CHECKF(p404 != NULL && colour != NULL && colour < p404 &&
		       contains(r, "xmlns:X=\"http://example.com/ns\"") &&
		       contains(r, "<D:quota-used-bytes/>"),
	       "404 propstat: %s", body_of(r));
	reply_free(r);

	/* Someone else's principal is not theirs to read. */
	r = dav("PROPFIND", "/dav/principals/bokafor/", "amartin", pw, principal_props, "0", NULL);
	CHECKF(r->status == 403, "other principal: %ld", r->status);
	reply_free(r);

	/* The home lists the calendars, with ctag and sync token; allprop on an empty body. */
	static const char *home_props =
		"<d:propfind xmlns:d=\"DAV:\" xmlns:cs=\"http://calendarserver.org/ns/\""
		" xmlns:c=\"urn:ietf:params:xml:ns:caldav\"><d:prop><d:resourcetype/>"
		"<d:displayname/><cs:getctag/><d:sync-token/>"
		"<c:supported-calendar-component-set/><d:current-user-privilege-set/>"
		"</d:prop></d:propfind>";
	r = dav("PROPFIND", "/dav/calendars/amartin", "amartin", pw, home_props, "1", NULL);
	CHECKF(r->status == 207 &&
		       contains(r, "<D:href>/dav/calendars/amartin/schedule/</D:href>") &&
		       contains(r, "<D:href>/dav/calendars/amartin/cab-votes/</D:href>") &&
		       contains(r, "<C:calendar/>") && contains(r, "<CS:getctag>") &&
		       contains(r, "<C:comp name=\"VEVENT\"/>") &&
		       contains(r, "<D:write-content/>"),
	       "home depth 1: %ld %s", r->status, body_of(r));
	reply_free(r);
	r = dav("PROPFIND", "/dav/calendars/amartin/schedule/", "amartin", pw, "", "0", NULL);
	CHECKF(r->status == 207 && contains(r, "<D:getctag") == 0 && contains(r, "<CS:getctag>"),
	       "allprop: %ld %s", r->status, body_of(r));
	reply_free(r);

	/* Entities are not expanded; a DOCTYPE is refused outright. */
	r = dav("PROPFIND", "/dav/", "amartin", pw,
		"<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY a \"aaaa\">]>"
		"<d:propfind xmlns:d=\"DAV:\"><d:prop>&a;</d:prop></d:propfind>",
		"0", NULL);
	CHECKF(r->status == 400, "DOCTYPE: %ld", r->status);
	reply_free(r);
	r = dav("PROPFIND", "/dav/", "amartin", pw, "<d:propfind xmlns:d=\"DAV:\"><d:prop>", "0",
		NULL);
	CHECKF(r->status == 400, "broken XML: %ld", r->status);
	reply_free(r);
}

/* ---- reports ------------------------------------------------------------------------------- */

#define SYNC_BODY                                                                                  \
                                                                                                   \
	"<d:sync-collection xmlns:d=\"DAV:\"><d:sync-token>%s</d:sync-token>"                      \
	"<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"

/* The sync token in a reply, into `out`. */
static const char *token_in(const struct reply *r, char *out, size_t len)
{
	const char *a = strstr(body_of(r), "<D:sync-token>");
	const char *b = a ? strstr(a, "</D:sync-token>") : NULL;
	if (a == NULL || b == NULL)
		snprintf(out, len, "(none)");
	else
		snprintf(out, len, "%.*s", (int)(b - a - 14), a + 14);
	return out;
}

static void test_dav_reports_and_sync(void)
{
	char pw[64], id[32], href[128], body[1024], t1[128], t2[128], st[32];
	if (!app_password(bokafor, pw, NULL) || !change(true, "Report me", id, sizeof id))
		return;
	const char *cal = "/dav/calendars/bokafor/cab-votes/";
	snprintf(href, sizeof href, "%s%s.ics", cal, id);

	snprintf(body, sizeof body, SYNC_BODY, "");
	struct reply *r = dav("REPORT", cal, "bokafor", pw, body, "1", NULL);
	CHECKF(r->status == 207 && contains(r, href), "initial sync: %ld %s", r->status,
	       body_of(r));
	token_in(r, t1, sizeof t1);
	reply_free(r);

	/* Nothing changed: the same token, an empty listing. */
	snprintf(body, sizeof body, SYNC_BODY, t1);
	r = dav("REPORT", cal, "bokafor", pw, body, "1", NULL);
	CHECKF(r->status == 207 && !contains(r, "<D:response>") &&
		       strcmp(token_in(r, t2, sizeof t2), t1) == 0,
	       "unchanged sync: %ld %s", r->status, body_of(r));
	reply_free(r);

	snprintf(body, sizeof body,
		 "<c:calendar-multiget xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\">"
		 "<d:prop><d:getetag/><c:calendar-data/></d:prop><d:href>%s</d:href>"
		 "<d:href>%sCHG-999999.ics</d:href></c:calendar-multiget>",
		 href, cal);
	r = dav("REPORT", cal, "bokafor", pw, body, "1", NULL);
	CHECKF(r->status == 207 && contains(r, "PARTSTAT=NEEDS-ACTION") &&
		       contains(r, "ORGANIZER") && contains(r, "RSVP=TRUE") &&
		       contains(r, "CHG-999999.ics</D:href><D:status>HTTP/1.1 404") &&
		       !contains(r, "METHOD:"),
	       "multiget: %ld %s", r->status, body_of(r));
	reply_free(r);

	/* A vote through the API moves the member's object and the token. */
	struct reply *v = NULL;
	char url[96];
	snprintf(url, sizeof url, "/v1/changes/%s/approvals", id);
	v = post(url, bokafor, "{\"decision\": \"approve\", \"comment\": \"api\"}");
	CHECKF(v->status == 200, "API vote: %ld %s", v->status, body_of(v));
	reply_free(v);
	snprintf(body, sizeof body, SYNC_BODY, t1);
	r = dav("REPORT", cal, "bokafor", pw, body, "1", NULL);
	CHECKF(r->status == 207 && contains(r, href) && strcmp(token_in(r, t2, sizeof t2), t1) != 0,
	       "sync after a vote: %ld %s (old token %s)", r->status, body_of(r), t1);
	reply_free(r);
	r = dav("GET", href, "bokafor", pw, NULL, NULL, NULL);
	CHECKF(r->status == 200 && contains(r, "PARTSTAT=ACCEPTED"), "GET after vote: %ld %s",
	       r->status, body_of(r));
	reply_free(r);

	/* The second approval reaches the quorum: the object goes, reported as a 404. */
	v = post(url, cnguyen, "{\"decision\": \"approve\", \"comment\": \"api\"}");
	CHECKF(v->status == 200, "second vote: %ld", v->status);
	reply_free(v);
	CHECK_STR(state_of(id, st, sizeof st), "scheduled");
	snprintf(body, sizeof body, SYNC_BODY, t2);
	r = dav("REPORT", cal, "bokafor", pw, body, "1", NULL);
	char gone[200];
	snprintf(gone, sizeof gone, "%s</D:href><D:status>HTTP/1.1 404", href);
	CHECKF(r->status == 207 && contains(r, gone), "sync after quorum: %ld %s", r->status,
	       body_of(r));
	reply_free(r);

	/* Unknown tokens, unsupported reports and filters are refused, not guessed. */
	snprintf(body, sizeof body, SYNC_BODY, "http://transom.invalid/ns/sync/99999999");
	r = dav("REPORT", cal, "bokafor", pw, body, "1", NULL);
	CHECKF(r->status == 403 && contains(r, "valid-sync-token"), "future token: %ld %s",
	       r->status, body_of(r));
	reply_free(r);
	snprintf(body, sizeof body, SYNC_BODY, "garbage");
	r = dav("REPORT", cal, "bokafor", pw, body, "1", NULL);
	CHECKF(r->status == 403 && contains(r, "valid-sync-token"), "bad token: %ld", r->status);
	reply_free(r);
	r = dav("REPORT", cal, "bokafor", pw,
		"<c:free-busy-query xmlns:c=\"urn:ietf:params:xml:ns:caldav\"/>", "1", NULL);
	CHECKF(r->status == 403 && contains(r, "supported-report"), "free-busy: %ld", r->status);
	reply_free(r);
	r = dav("REPORT", "/dav/calendars/bokafor/schedule/", "bokafor", pw,
		"<c:calendar-query xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\">"
		"<d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name=\"VCALENDAR\">"
		"<c:comp-filter name=\"VEVENT\"><c:prop-filter name=\"UID\"><c:text-match>x"
		"</c:text-match></c:prop-filter></c:comp-filter></c:comp-filter></c:filter>"
		"</c:calendar-query>",
		"1", NULL);
	CHECKF(r->status == 403 && contains(r, "supported-filter"), "prop-filter: %ld %s",
	       r->status, body_of(r));
	reply_free(r);
}

/* A calendar-query over one time range on the schedule; 207 expected. */
static struct reply *query(const char *user, const char *pw, const char *start, const char *end)
{
	char body[1024], path[96];
	snprintf(path, sizeof path, "/dav/calendars/%s/schedule/", user);
	snprintf(body, sizeof body,
		 "<c:calendar-query xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\">"
		 "<d:prop><d:getetag/><c:calendar-data/></d:prop><c:filter>"
		 "<c:comp-filter name=\"VCALENDAR\"><c:comp-filter name=\"VEVENT\">"
		 "<c:time-range start=\"%s\" end=\"%s\"/></c:comp-filter></c:comp-filter>"
		 "</c:filter></c:calendar-query>",
		 start, end);
	return dav("REPORT", path, user, pw, body, "1", NULL);
}

static void test_dav_calendar_query_time_range(void)
{
	char pw[64];
	if (!app_password(dschmidt, pw, NULL))
		return;
	/* Windows recur weekly: a one-week range holds instances, 1990 none. */
	time_t now = time(NULL);
	char a[32], b[32];
	strftime(a, sizeof a, "%Y%m%dT%H%M%SZ", gmtime(&now));
	time_t later = now + 14 * 86400;
	strftime(b, sizeof b, "%Y%m%dT%H%M%SZ", gmtime(&later));
	struct reply *r = query("dschmidt", pw, a, b);
	CHECKF(r->status == 207 && contains(r, "BEGIN:VEVENT"), "two weeks: %ld %.2000s", r->status,
	       body_of(r));
	/* Each instance is its own object: no VEVENT carries a recurrence rule. */
	for (const char *ev = strstr(body_of(r), "BEGIN:VEVENT"); ev != NULL;
	     ev = strstr(ev + 1, "BEGIN:VEVENT")) {
		const char *end = strstr(ev, "END:VEVENT"), *rule = strstr(ev, "RRULE");
		CHECKF(end != NULL && (rule == NULL || rule > end), "recurring VEVENT: %.400s", ev);
	}
	reply_free(r);
	r = query("dschmidt", pw, "19900101T000000Z", "19900201T000000Z");
	CHECKF(r->status == 207 && !contains(r, "<D:response>"), "1990: %ld %s", r->status,
	       body_of(r));
	reply_free(r);
	r = query("dschmidt", pw, "1990-01-01", "19900201T000000Z");
	CHECKF(r->status == 400, "bad time-range: %ld", r->status);
	reply_free(r);
}

/* ---- votes by PUT and DELETE --------------------------------------------------------------- */

static void test_dav_vote_by_partstat(void)
{
	char pw[64], id[32], id2[32], path[128], st[32], etag[128];
	if (!app_password(mpetrov, pw, NULL) || !change(false, "Vote by PUT", id, sizeof id) ||
	    !change(false, "Decline by DELETE", id2, sizeof id2))
		return;
	snprintf(path, sizeof path, "/dav/calendars/mpetrov/cab-votes/%s.ics", id);
	struct reply *r = dav("GET", path, "mpetrov", pw, NULL, NULL, NULL);
	CHECKF(r->status == 200 && contains(r, "ATTENDEE") && reply_header(r, "ETag") &&
		       reply_header(r, "Schedule-Tag"),
	       "GET: %ld %s", r->status, body_of(r));
	snprintf(etag, sizeof etag, "%s", reply_header(r, "ETag") ?: "");
	char *text = strdup(body_of(r));
	reply_free(r);

	/* Moving the event or renaming it: 403 with the RFC 6638 precondition. */
	char *moved = replaced(text, "DTSTART:2", "DTSTART:3");
	r = dav("PUT", path, "mpetrov", pw, moved, NULL, NULL);
	CHECKF(r->status == 403 && contains(r, "allowed-attendee-scheduling-object-change") &&
		       contains(r, "urn:ietf:params:xml:ns:caldav"),
	       "moved: %ld %s", r->status, body_of(r));
	reply_free(r);
	free(moved);
	char *renamed = replaced(text, "SUMMARY:", "SUMMARY:Renamed ");
	r = dav("PUT", path, "mpetrov", pw, renamed, NULL, NULL);
	CHECKF(r->status == 403 && contains(r, "allowed-attendee-scheduling-object-change"),
	       "renamed: %ld %s", r->status, body_of(r));
	reply_free(r);
	free(renamed);
	char *other =
		replaced(text, "ATTENDEE;", "ATTENDEE;CN=Eve:mailto:eve@example.com\r\nATTENDEE;");
	r = dav("PUT", path, "mpetrov", pw, other, NULL, NULL);
	CHECKF(r->status == 403 && contains(r, "allowed-attendee-scheduling-object-change"),
	       "added attendee: %ld %s", r->status, body_of(r));
	reply_free(r);
	free(other);
	char *garbage = strdup("BEGIN:VCALENDAR\r\nnot ical\r\n");
	r = dav("PUT", path, "mpetrov", pw, garbage, NULL, NULL);
	CHECKF(r->status == 403 && contains(r, "valid-calendar-data"), "garbage: %ld %s", r->status,
	       body_of(r));
	reply_free(r);
	free(garbage);
	CHECK_STR(state_of(id, st, sizeof st), "authorize");

	/* A stale If-Match: 412. */
	char *accepted = replaced(text, "PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED");
	r = dav("PUT", path, "mpetrov", pw, accepted, NULL, "If-Match: \"stale\"");
	CHECKF(r->status == 412, "stale If-Match: %ld", r->status);
	reply_free(r);

	/* Only PARTSTAT changed: a vote; the change moves on at quorum (1). */
	char im[160];
	snprintf(im, sizeof im, "If-Match: %s", etag);
	r = dav("PUT", path, "mpetrov", pw, accepted, NULL, im);
	CHECKF(r->status == 204, "accept: %ld %s", r->status, body_of(r));
	reply_free(r);
	free(accepted);
	free(text);
	json_t *v = vote_of(id, "mpetrov");
	CHECKF(v != NULL &&
		       strcmp(json_string_value(json_object_get(v, "channel")) ?: "", "caldav") ==
			       0 &&
		       strcmp(json_string_value(json_object_get(v, "decision")) ?: "", "approve") ==
			       0,
	       "the vote: %s", v ? json_dumps(v, 0) : "(none)");
	json_decref(v);
	CHECK_STR(state_of(id, st, sizeof st), "scheduled");
	r = dav("GET", path, "mpetrov", pw, NULL, NULL, NULL);
	CHECKF(r->status == 404, "decided change left cab-votes: %ld", r->status);
	reply_free(r);

	/* DELETE declines. */
	snprintf(path, sizeof path, "/dav/calendars/mpetrov/cab-votes/%s.ics", id2);
	r = dav("DELETE", path, "mpetrov", pw, NULL, NULL, NULL);
	CHECKF(r->status == 204, "delete: %ld %s", r->status, body_of(r));
	reply_free(r);
	v = vote_of(id2, "mpetrov");
	CHECKF(v != NULL && strcmp(json_string_value(json_object_get(v, "decision")) ?: "",
				   "reject") == 0,
	       "decline: %s", v ? json_dumps(v, 0) : "(none)");
	json_decref(v);
	CHECK_STR(state_of(id2, st, sizeof st), "rejected");

	/* The schedule is read-only; the requester has nothing to vote on. */
	r = dav("PUT", "/dav/calendars/mpetrov/schedule/x.ics", "mpetrov", pw,
		"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", NULL, NULL);
	CHECKF(r->status == 403, "PUT on schedule: %ld", r->status);
	reply_free(r);
}

/*
 * Segregation of duties holds on the CalDAV path too (issue 10): amartin, a CAB member and
 * change manager, rewrites grossi's plan; his calendar then offers no vote on it, and a
 * PARTSTAT reply is refused like the API vote (editor_cannot_approve), recording nothing.
 */
static void test_dav_editor_cannot_vote(void)
{
	char pw[64], body[1024], path[64], id[32], url[128];
	snprintf(body, sizeof body, LOW_WEB, "Edited by a CAB member");
	if (!app_password(amartin, pw, NULL) ||
	    !create("/v1/changes", grossi, body, path, sizeof path))
		return;
	snprintf(id, sizeof id, "%s", strrchr(path, '/') + 1);
	const char *h[] = {"Content-Type: application/json", "If-Match: \"1\"", NULL};
	struct reply *r = request(&srv, "PATCH", path, amartin,
				  "{\"implementation_plan\": \"amartin's own plan\"}", h);
	CHECKF(r->status == 200, "patch: %ld %s", r->status, body_of(r));
	reply_free(r);
	if (!step(path, grossi, "submit", "authorize"))
		return;
	snprintf(url, sizeof url, "/dav/calendars/amartin/cab-votes/%s.ics", id);
	r = dav("GET", url, "amartin", pw, NULL, NULL, NULL);
	if (r->status == 200) {
		char *accepted = replaced(body_of(r), "PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED");
		reply_free(r);
		r = dav("PUT", url, "amartin", pw, accepted, NULL, NULL);
		free(accepted);
		CHECKF(r->status == 403 && strstr(body_of(r), "editor_cannot_approve") != NULL,
		       "an editor's PARTSTAT: %ld %s", r->status, body_of(r));
	} else {
		CHECKF(r->status == 404, "an editor's cab-votes object: %ld", r->status);
	}
	reply_free(r);
	json_t *v = vote_of(id, "amartin");
	CHECKF(v == NULL, "an editor's vote was recorded");
	json_decref(v);
}

/* ---- real clients -------------------------------------------------------------------------- */

static void test_dav_python_caldav(void)
{
	char pw[64], id[32], sched[32], st[32], url[96];
	if (!app_password(cnguyen, pw, NULL) ||
	    !change(true, "Python votes on this", id, sizeof id) ||
	    !change(false, "Scheduled for python", sched, sizeof sched))
		return;
	snprintf(url, sizeof url, "/v1/changes/%s/approvals", sched);
	struct reply *v = post(url, dschmidt, "{\"decision\": \"approve\", \"comment\": \"ok\"}");
	CHECKF(v->status == 200, "schedule it: %ld %s", v->status, body_of(v));
	reply_free(v);
	const char *argv[] = {"/usr/bin/python3",
			      "tests/http/dav/caldav_client.py",
			      srv.base,
			      "cnguyen",
			      pw,
			      id,
			      "Scheduled for python",
			      NULL};
	char *out = NULL;
	int status = run(argv, NULL, NULL, &out, 120);
	CHECKF(status == 0, "caldav_client.py: exit %d\n%s", status, out ? out : "");
	if (status == 0 && out != NULL) /* the client's own checks, for the log */
		for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n"))
			printf("  python3-caldav: %s\n", line);
	free(out);
	json_t *vt = vote_of(id, "cnguyen");
	CHECKF(vt != NULL &&
		       strcmp(json_string_value(json_object_get(vt, "channel")) ?: "", "caldav") ==
			       0 &&
		       strcmp(json_string_value(json_object_get(vt, "decision")) ?: "",
			      "approve") == 0,
	       "python's vote: %s", vt ? json_dumps(vt, 0) : "(none)");
	json_decref(vt);
	CHECK_STR(state_of(id, st, sizeof st), "authorize"); /* quorum 2: one more */
	snprintf(url, sizeof url, "/v1/changes/%s/approvals", id);
	v = post(url, amartin, "{\"decision\": \"approve\", \"comment\": \"second\"}");
	CHECKF(v->status == 200, "second vote: %ld", v->status);
	reply_free(v);
	CHECK_STR(state_of(id, st, sizeof st), "scheduled");
}

/* A calendar program given only the server's address: PROPFIND, REPORT and OPTIONS at "/"
 * answer as the DAV root does (a browser's GET / is not DAV and stays as it was). */
static void test_dav_bare_url(void)
{
	char pw[64];
	if (!app_password(bokafor, pw, NULL))
		return;
	struct reply *r = dav("PROPFIND", "/", NULL, NULL, NULL, "0", NULL);
	CHECKF(r->status == 401 && reply_header(r, "WWW-Authenticate") != NULL,
	       "PROPFIND / without a password: %ld", r->status);
	reply_free(r);
	r = dav("PROPFIND", "/", "bokafor", pw,
		"<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\"><d:prop>"
		"<d:current-user-principal/><d:resourcetype/></d:prop></d:propfind>",
		"0", NULL);
	CHECKF(r->status == 207 && contains(r, "<D:href>/</D:href>") &&
		       contains(r, "<D:current-user-principal><D:href>/dav/principals/bokafor/"),
	       "PROPFIND /: %ld %s", r->status, body_of(r));
	reply_free(r);
	r = dav("OPTIONS", "/", "bokafor", pw, NULL, NULL, NULL);
	const char *d = reply_header(r, "DAV");
	CHECKF(r->status == 200 && d != NULL && strstr(d, "calendar-access") != NULL,
	       "OPTIONS /: %ld DAV: %s", r->status, d ? d : "(none)");
	reply_free(r);
	r = dav("GET", "/", NULL, NULL, NULL, NULL, NULL);
	CHECKF(r->status != 401 && r->status < 500, "a browser's GET /: %ld", r->status);
	reply_free(r);

	const char *argv[] = {
		"/usr/bin/python3", "tests/http/dav/caldav_bare.py", srv.base, "bokafor", pw, NULL};
	char *out = NULL;
	int status = run(argv, NULL, NULL, &out, 120);
	CHECKF(status == 0, "caldav_bare.py: exit %d\n%s", status, out ? out : "");
	free(out);
}

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return false;
	fputs(text, f);
	return fclose(f) == 0;
}

static void test_dav_vdirsyncer_and_khal(void)
{
	char pw[64], id[32], url[96], dir[512], cfg[4096], path[700], khal[700], vcfg[700];
	if (!app_password(amartin, pw, NULL) ||
	    !change(false, "Khal shows this change", id, sizeof id))
		return;
	snprintf(url, sizeof url, "/v1/changes/%s/approvals", id);
	struct reply *v = post(url, bokafor, "{\"decision\": \"approve\", \"comment\": \"ok\"}");
	CHECKF(v->status == 200, "schedule it: %ld", v->status);
	reply_free(v);
	/* When it was booked: khal lists from that day. */
	snprintf(url, sizeof url, "/v1/changes/%s", id);
	struct reply *r = request(&srv, "GET", url, grossi, NULL, NULL);
	const char *start =
		json_string_value(json_object_get(json_object_get(r->json, "schedule"), "start"));
	char day[16] = "";
	if (start != NULL)
		snprintf(day, sizeof day, "%.10s", start);
	CHECKF(day[0] != '\0', "no booking: %s", body_of(r));
	reply_free(r);

	snprintf(dir, sizeof dir, "%s/vdir-%d", getenv("TRANSOM_TEST_TMP") ?: "/tmp",
		 (int)getpid());
	mkdir(dir, 0700);
	snprintf(path, sizeof path, "%s/cals", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/status", dir);
	mkdir(path, 0700);
	snprintf(cfg, sizeof cfg,
		 "[general]\nstatus_path = \"%s/status/\"\n\n"
		 "[pair transom]\na = \"transom_local\"\nb = \"transom_remote\"\n"
		 "collections = [\"schedule\"]\nconflict_resolution = \"b wins\"\n\n"
		 "[storage transom_local]\ntype = \"filesystem\"\npath = \"%s/cals/\"\n"
		 "fileext = \".ics\"\n\n"
		 "[storage transom_remote]\ntype = \"caldav\"\nurl = \"%s/\"\n"
		 "username = \"amartin\"\npassword = \"%s\"\nread_only = true\n",
		 dir, dir, srv.base, pw);
	snprintf(vcfg, sizeof vcfg, "%s/vdirsyncer.conf", dir);
	CHECK(write_file(vcfg, cfg));
	snprintf(cfg, sizeof cfg,
		 "[calendars]\n[[transom]]\npath = %s/cals/schedule/\ntype = calendar\n\n"
		 "[locale]\ntimeformat = %%H:%%M\ndateformat = %%Y-%%m-%%d\n"
		 "longdateformat = %%Y-%%m-%%d\ndatetimeformat = %%Y-%%m-%%d %%H:%%M\n"
		 "longdatetimeformat = %%Y-%%m-%%d %%H:%%M\nlocal_timezone = UTC\n"
		 "default_timezone = UTC\n\n[sqlite]\npath = %s/khal.db\n",
		 dir, dir);
	snprintf(khal, sizeof khal, "%s/khal.conf", dir);
	CHECK(write_file(khal, cfg));

	char envc[800];
	snprintf(envc, sizeof envc, "VDIRSYNCER_CONFIG=%s", vcfg);
	const char *env[] = {envc, NULL};
	const char *discover[] = {"vdirsyncer", "discover", "transom", NULL};
	char *out = NULL;
	int st = run(discover, env, "y\ny\ny\n", &out, 120);
	CHECKF(st == 0, "vdirsyncer discover: %d\n%s", st, out ? out : "");
	free(out);
	const char *sync[] = {"vdirsyncer", "sync", NULL};
	st = run(sync, env, NULL, &out, 180);
	CHECKF(st == 0, "vdirsyncer sync: %d\n%s", st, out ? out : "");
	free(out);
	const char *list[] = {"khal", "-c", khal, "list", day, "2d", NULL};
	st = run(list, NULL, NULL, &out, 60);
	char want[64];
	snprintf(want, sizeof want, "%s: Khal shows this change", id);
	CHECKF(st == 0 && out && strstr(out, want), "khal list %s: %d\n%s", day, st,
	       out ? out : "");
	free(out);
}

/* ---- main ---------------------------------------------------------------------------------- */

static void setup(void)
{
	snprintf(grossi, sizeof grossi, "%s", token_for("grossi", "requester"));
	snprintf(amartin, sizeof amartin, "%s", token_for("amartin", "cab,change_manager"));
	snprintf(bokafor, sizeof bokafor, "%s", token_for("bokafor", "cab"));
	snprintf(cnguyen, sizeof cnguyen, "%s", token_for("cnguyen", "cab"));
	snprintf(dschmidt, sizeof dschmidt, "%s", token_for("dschmidt", "cab"));
	snprintf(mpetrov, sizeof mpetrov, "%s", token_for("mpetrov", "cab"));
	if (!grossi[0] || !mpetrov[0] || !server_start(&srv, NULL, NULL, NULL)) {
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

/* Runs one SQL statement as the database owner (a test's poke past the API). */
static bool poke(const char *sql, const char *param)
{
	PGconn *c = PQconnectdb(getenv("TRANSOM_TEST_DATABASE_URL"));
	const char *params[] = {param};
	PGresult *r = PQexecParams(c, sql, 1, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdTuples(r), "1") == 0;
	CHECKF(ok, "poke: %s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok;
}

/*
 * The schedule collection stays exact through writes that move the audit head: one
 * elsewhere leaves it as it was (feed_cache.c then keeps its snapshot, the bookings'
 * fingerprint being the same), one that changes what a booked change shows appears at
 * the next read, even when it did not touch the bookings table.
 */
static void test_dav_schedule_follows_booked_changes(void)
{
	char pw[64], booked[64], draft[64], url[96];
	const char *cal = "/dav/calendars/grossi/schedule/";
	if (!app_password(grossi, pw, NULL) ||
	    !create("/v1/changes", grossi,
		    "{\"title\": \"Renew the edge certificate\", \"type\": \"standard\","
		    " \"services\": [\"web-frontend\"], \"duration\": \"PT15M\","
		    " \"template\": \"tls-certificate-renewal\"}",
		    booked, sizeof booked) ||
	    !step(booked, grossi, "submit", "scheduled") ||
	    !create("/v1/changes", grossi, "{\"title\": \"A draft\", \"type\": \"normal\"}", draft,
		    sizeof draft))
		return;
	const char *id = strrchr(booked, '/') + 1;
	char summary[128];
	snprintf(summary, sizeof summary, "SUMMARY:%s: Renew the edge certificate", id);

	struct reply *before = dav("GET", cal, "grossi", pw, NULL, NULL, NULL);
	CHECKF(before->status == 200 && contains(before, summary), "first GET: %ld %s",
	       before->status, body_of(before));

	/* A comment on the draft: the head moves, the schedule does not. */
	snprintf(url, sizeof url, "%s/comments", draft);
	struct reply *w = post(url, grossi, "{\"text\": \"elsewhere\"}");
	CHECKF(w->status == 201, "comment: %ld %s", w->status, body_of(w));
	reply_free(w);
	struct reply *after = dav("GET", cal, "grossi", pw, NULL, NULL, NULL);
	CHECKF(after->status == 200 && after->len == before->len &&
		       memcmp(after->body, before->body, before->len) == 0,
	       "GET after a write elsewhere differs: %s", body_of(after));
	reply_free(after);
	reply_free(before);

	/* The booked change renamed past the API, then any audited write: the next read
	 * shows the new title (its fingerprint changed), not the kept snapshot. */
	if (!poke("UPDATE records SET data = jsonb_set(data, '{title}', "
		  "'\"Renamed in the database\"') WHERE id = $1",
		  id))
		return;
	w = post(url, grossi, "{\"text\": \"elsewhere again\"}");
	reply_free(w);
	snprintf(summary, sizeof summary, "SUMMARY:%s: Renamed in the database", id);
	after = dav("GET", cal, "grossi", pw, NULL, NULL, NULL);
	CHECKF(after->status == 200 && contains(after, summary), "GET after the rename: %s",
	       body_of(after));
	reply_free(after);

	/* Cancelled: released from the schedule, gone from the collection. */
	CHECK(step(booked, grossi, "cancel", "cancelled"));
	w = post(url, grossi, "{\"text\": \"and again\"}");
	reply_free(w);
	after = dav("GET", cal, "grossi", pw, NULL, NULL, NULL);
	CHECKF(after->status == 200 && !contains(after, summary), "GET after cancel: %s",
	       body_of(after));
	reply_free(after);
}

int tests_main(void);
#define main tests_main
TESTS(test_dav_basic_auth_and_app_passwords, test_dav_discovery_and_propfind,
      test_dav_reports_and_sync, test_dav_calendar_query_time_range, test_dav_vote_by_partstat,
      test_dav_editor_cannot_vote, test_dav_python_caldav, test_dav_bare_url,
      test_dav_vdirsyncer_and_khal, test_dav_schedule_follows_booked_changes)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	return rc;
}
