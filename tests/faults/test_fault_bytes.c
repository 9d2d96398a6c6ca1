/*
 * test_fault_bytes.c -- malformed bytes never reach PostgreSQL as a 500: invalid UTF-8
 * in every id-taking route, in the list filters and in the header values handlers read
 * is refused with 4xx naming the field, and no reply ever carries the database's text.
 * Then every route of docs/openapi.json is replayed with malformed bytes (path, query,
 * headers, JSON bodies of wrong types, huge numbers, deep nesting, NUL) and no reply
 * may be a 5xx.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../http/lib_http.h"
#include "../unit/harness.h"

static struct server srv;
static char admin[128];

/* No 5xx and no server text in `r`; returns true when it held. */
static bool sane(const struct reply *r, const char *method, const char *path)
{
	const char *b = r->body ? r->body : "";
	bool ok = r->status >= 200 && r->status < 500 && strstr(b, "ERROR:") == NULL &&
		  strstr(b, "invalid byte sequence") == NULL;
	CHECKF(ok, "%s %s: %ld %.300s", method, path, r->status, b);
	return ok;
}

static bool start(void)
{
	static bool up;
	if (!up) {
		up = server_start(&srv, NULL, NULL, NULL);
		snprintf(admin, sizeof admin, "%s", token_for("admin", "admin"));
	}
	return up;
}

static void test_bad_utf8_ids_are_4xx(void)
{
	static const char *const gets[] = {
		"/v1/changes/%ff",           "/v1/changes/%ff/history",
		"/v1/changes/%ff/risk",      "/v1/changes/%ff/approvals",
		"/v1/incidents/%ff",         "/v1/problems/%c3%28/history",
		"/v1/deployments/%ff",       "/v1/webhooks/%ff",
		"/v1/workflows/%ff",         "/v1/calendars/services/%ff.ics",
		"/feeds/%ff/schedule.ics",   "/v/%ff",
		"/v1/changes/CHG-%ed%a0%80", /* a UTF-16 surrogate */
	};
	static const char *const posts[] = {
		"/v1/changes/%ff/transitions", "/v1/changes/%ff/approvals",
		"/v1/changes/%ff/reschedule",  "/v1/changes/%ff/break-glass",
		"/v1/deployments/%ff/result",
	};
	if (!start())
		return;
	for (size_t i = 0; i < sizeof gets / sizeof gets[0]; i++) {
		struct reply *r = request(&srv, "GET", gets[i], admin, NULL, NULL);
		if (sane(r, "GET", gets[i]))
			CHECKF(r->status == 400 || r->status == 404, "GET %s: %ld", gets[i],
			       r->status);
		reply_free(r);
		r = request(&srv, "HEAD", gets[i], admin, NULL, NULL);
		sane(r, "HEAD", gets[i]);
		reply_free(r);
	}
	for (size_t i = 0; i < sizeof posts / sizeof posts[0]; i++) {
		struct reply *r = request(&srv, "POST", posts[i], admin,
					  "{\"event\":\"submit\",\"decision\":\"approve\"}", NULL);
		if (sane(r, "POST", posts[i]))
			CHECKF(r->status == 400 || r->status == 404, "POST %s: %ld", posts[i],
			       r->status);
		reply_free(r);
	}
	const char *ifm[] = {"If-Match: \"1\"", NULL};
	struct reply *r =
		request(&srv, "PATCH", "/v1/changes/%ff", admin, "{\"title\":\"x\"}", ifm);
	sane(r, "PATCH", "/v1/changes/%ff");
	CHECK(r->status == 400 || r->status == 404);
	reply_free(r);
	r = request(&srv, "GET", "/v1/changes/%ff", admin, NULL, NULL);
	CHECK_INT(r->status, 400);
	CHECK_STR(reply_str(r, "field"), "path");
	reply_free(r);
}

static void test_bad_utf8_filters_are_400_naming_the_parameter(void)
{
	static const char *const names[] = {"requester", "state", "service", "type"};
	if (!start())
		return;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char path[128];
		snprintf(path, sizeof path, "/v1/changes?%s=%%ff%%fe", names[i]);
		struct reply *r = request(&srv, "GET", path, admin, NULL, NULL);
		if (sane(r, "GET", path)) {
			CHECKF(r->status == 400, "%s: %ld", path, r->status);
			CHECK_STR(reply_str(r, "field"), names[i]);
		}
		reply_free(r);
	}
	struct reply *r = request(&srv, "GET", "/v1/schedule?service=%ff", admin, NULL, NULL);
	sane(r, "GET", "/v1/schedule?service=%ff");
	CHECK_INT(r->status, 400);
	reply_free(r);
}

static void test_bad_utf8_header_values_are_400_naming_the_header(void)
{
	if (!start())
		return;
	const char *key[] = {"Idempotency-Key: \xff\xfe", NULL};
	struct reply *r = request(&srv, "POST", "/v1/incidents", admin,
				  "{\"title\":\"disk full\",\"type\":\"incident\"}", key);
	if (sane(r, "POST", "/v1/incidents")) {
		CHECK_INT(r->status, 400);
		CHECK_STR(reply_str(r, "field"), "Idempotency-Key");
	}
	reply_free(r);
	r = request(&srv, "POST", "/v1/deployments", admin,
		    "{\"service\":\"payments\",\"environment\":\"production\"}", key);
	if (sane(r, "POST", "/v1/deployments"))
		CHECK_INT(r->status, 400);
	reply_free(r);
	const char *ifm[] = {"If-Match: \"\xc3\x28\"", NULL};
	r = request(&srv, "PATCH", "/v1/changes/CHG-1", admin, "{\"title\":\"x\"}", ifm);
	sane(r, "PATCH", "/v1/changes/CHG-1 (If-Match)");
	reply_free(r);
	const char *lei[] = {"Last-Event-ID: \xff", NULL};
	r = request(&srv, "GET", "/v1/events", admin, NULL, lei);
	sane(r, "GET", "/v1/events (Last-Event-ID)");
	CHECK_INT(r->status, 400);
	reply_free(r);
}

/* ---- the replay of every documented route ------------------------------------------------ */

/* `pattern` with each {param} replaced by `with`. */
static void fill(const char *pattern, const char *with, char *out, size_t len)
{
	size_t n = 0;
	for (const char *p = pattern; *p && n + 1 < len;) {
		if (*p == '{') {
			const char *e = strchr(p, '}');
			n += (size_t)snprintf(out + n, len - n, "%s", with);
			p = e ? e + 1 : p + 1;
		} else {
			out[n++] = *p++;
		}
	}
	out[n < len ? n : len - 1] = '\0';
}

static char *deep(unsigned depth)
{
	char *s = malloc(2 * depth + 16);
	size_t n = 0;
	for (unsigned i = 0; i < depth; i++)
		s[n++] = '[';
	for (unsigned i = 0; i < depth; i++)
		s[n++] = ']';
	s[n] = '\0';
	char *o = malloc(2 * depth + 32);
	snprintf(o, 2 * depth + 32, "{\"title\":%s}", s);
	free(s);
	return o;
}

static void test_every_documented_route_survives_malformed_bytes(void)
{
	char path[1024], spec[1024];
	json_error_t je;
	if (!start())
		return;
	snprintf(spec, sizeof spec, "%s/docs/openapi.json",
		 getenv("TRANSOM_TEST_ROOT") ? getenv("TRANSOM_TEST_ROOT") : ".");
	json_t *doc = json_load_file(spec, 0, &je);
	CHECK(doc != NULL);
	json_t *paths = json_object_get(doc, "paths");
	CHECK(json_object_size(paths) > 20);
	char *nested = deep(5000);
	const char *bodies[] = {
		"{\"title\":\"\xff\xfe\",\"type\":\"normal\"}",
		"{\"title\":\"a\\u0000b\"}",
		"{\"title\":123,\"type\":[],\"services\":\"payments\",\"duration\":{}}",
		"{\"event\":1e999999,\"limit\":-99999999999999999999999999}",
		"{\"id\":18446744073709551616,\"wait\":9223372036854775808}",
		"[1,2,3]",
		"{\"a\":",
		nested,
		"\0\0\0",
	};
	static const char *const fillers[] = {"%ff", "%c3%28", "x%00y", "CHG-99999999999999999999",
					      "-1"};
	static const char *const queries[] = {"",
					      "?limit=%ff",
					      "?limit=99999999999999999999",
					      "?state=%ff&service=%fe",
					      "?updated_since=%ff",
					      "?from=%ff&to=%fe",
					      "?wait=%ff",
					      "?next=%ff%00",
					      "?services=%ff&duration=%ff&count=99999999999"};
	/* NULL: no bad header, so the path, query and body reach the handler */
	static const char *const bad_headers[] = {NULL,
						  "Idempotency-Key: \xff\xfe",
						  NULL,
						  "If-Match: \"\xff\"",
						  NULL,
						  "If-None-Match: \xfe",
						  "Accept: \xff/\xfe",
						  "X-Request-Id: \xff"};
	const char *key;
	json_t *ops;
	unsigned sent = 0;
	json_object_foreach(paths, key, ops) {
		const char *method;
		json_t *op;
		json_object_foreach(ops, method, op) {
			char m[16];
			size_t k = 0;
			for (; method[k] && k < sizeof m - 1; k++)
				m[k] = (char)(method[k] >= 'a' && method[k] <= 'z' ? method[k] - 32
										   : method[k]);
			m[k] = '\0';
			/* the event stream never ends by itself: its bad bytes are tested above */
			if (strcmp(m, "PARAMETERS") == 0 || strcmp(key, "/v1/events") == 0)
				continue;
			for (size_t f = 0; f < sizeof fillers / sizeof fillers[0]; f++) {
				for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
					char p2[1024];
					fill(key, fillers[f], p2, sizeof p2);
					snprintf(path, sizeof path, "%s%s", p2, queries[q]);
					const char *h[] = {bad_headers[(f + q) % 8], NULL};
					const char *body = NULL;
					if (strcmp(m, "POST") == 0 || strcmp(m, "PATCH") == 0 ||
					    strcmp(m, "PUT") == 0)
						body = bodies[(f * 3 + q) %
							      (sizeof bodies / sizeof bodies[0])];
					struct reply *r = request(&srv, m, path, admin, body, h);
					sane(r, m, path);
					reply_free(r);
					sent++;
				}
			}
			/* every body on the route with a well-formed path */
			fill(key, "CHG-1", path, sizeof path);
			for (size_t b = 0; b < sizeof bodies / sizeof bodies[0] &&
					   (strcmp(m, "POST") == 0 || strcmp(m, "PATCH") == 0);
			     b++) {
				const char *h[] = {"If-Match: \"1\"", NULL};
				struct reply *r = request(&srv, m, path, admin, bodies[b], h);
				sane(r, m, path);
				reply_free(r);
				sent++;
			}
		}
	}
	free(nested);
	json_decref(doc);
	CHECK(sent > 500);
	fprintf(stderr, "  replayed %u malformed requests\n", sent);
}

static void test_the_server_survived(void)
{
	if (!start())
		return;
	struct reply *r = request(&srv, "GET", "/healthz", NULL, NULL, NULL);
	CHECK_INT(r->status, 200);
	reply_free(r);
	CHECK_INT(server_stop(&srv, 20, NULL), 0);
}

TESTS(test_bad_utf8_ids_are_4xx, test_bad_utf8_filters_are_400_naming_the_parameter,
      test_bad_utf8_header_values_are_400_naming_the_header,
      test_every_documented_route_survives_malformed_bytes, test_the_server_survived)
