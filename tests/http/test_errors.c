/*
 * test_errors.c -- registered error codes over HTTP against the real transomd: every
 * problem+json reply carries `code`, the registered name of the refusal (a named rule's,
 * else the HTTP class's), and each code is documented in docs/errors.md.  A database
 * error provoked through the API reaches the client as a code, never as server text.
 */
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "lib_http.h"

static struct server srv;
#include "record_steps.h"
static char alice[128];
static char *errors_md; /* docs/errors.md */

static const char *normal_change =
	"{\"title\": \"Upgrade payments DB\", \"type\": \"normal\", \"services\": [\"payments\"],"
	" \"duration\": \"PT2H\", \"description\": \"minor version\","
	" \"implementation_plan\": \"apt upgrade\", \"rollback_plan\": \"restore snapshot\"}";

/*
 * Is `r` a problem+json reply with `status` whose `code` is `code`, documented in
 * docs/errors.md, and whose `rule` is `rule` (NULL: none)?  Checks and says why not.
 */
static bool coded(const struct reply *r, long status, const char *code, const char *rule)
{
	char heading[96];
	snprintf(heading, sizeof heading, "### `%s`\n", code);
	bool ok = problem_is(r, status, NULL) && strcmp(reply_str(r, "code"), code) == 0 &&
		  strcmp(reply_str(r, "rule"), rule ? rule : "") == 0 &&
		  json_integer_value(json_object_get(r->json, "status")) == status &&
		  strlen(reply_str(r, "type")) > 0 && strlen(reply_str(r, "title")) > 0;
	CHECKF(ok, "want %ld %s (rule %s): %ld %s", status, code, rule ? rule : "none", r->status,
	       body_of(r));
	CHECKF(errors_md != NULL && strstr(errors_md, heading) != NULL,
	       "code %s is not in docs/errors.md", code);
	return ok;
}

/* Checks `r` and frees it. */
static void expect(struct reply *r, long status, const char *code, const char *rule)
{
	coded(r, status, code, rule);
	reply_free(r);
}

static void test_routing_and_auth_refusals_carry_their_class_code(void)
{
	expect(request(&srv, "GET", "/v1/no-such-thing", alice, NULL, NULL), 404, "NOT_FOUND",
	       NULL);
	expect(request(&srv, "PUT", "/v1/changes", alice, "{}", NULL), 405, "METHOD_NOT_ALLOWED",
	       NULL);
	expect(request(&srv, "GET", "/v1/changes", NULL, NULL, NULL), 401, "UNAUTHENTICATED", NULL);
	expect(request(&srv, "GET", "/v1/changes", "trn_not-a-token", NULL, NULL), 401,
	       "UNAUTHENTICATED", NULL);
	/* A route's role is a named rule: its code, the class's type and status. */
	struct reply *r = request(&srv, "GET", "/v1/users", alice, NULL, NULL);
	if (coded(r, 403, "ROLE", "role"))
		CHECK(strstr(reply_str(r, "type"), "/forbidden") != NULL);
	reply_free(r);
	expect(post("/v1/changes", alice, "{\"title\": "), 400, "MALFORMED_JSON", NULL);
	const char *xml[] = {"Content-Type: text/xml", NULL};
	expect(request(&srv, "POST", "/v1/changes", alice, "<x/>", xml), 415,
	       "UNSUPPORTED_MEDIA_TYPE", NULL);
}

static void test_transport_refusals_carry_codes(void)
{
	/* 413 from the transport, before any dispatch: TRANSOM_MAX_BODY is 1M by default. */
	size_t n = (1u << 20) + 64;
	char *big = malloc(n + 1);
	if (big == NULL)
		return;
	memset(big, 'x', n);
	big[n] = '\0';
	expect(post("/v1/changes", alice, big), 413, "MAX_BODY", "max_body");
	free(big);
	expect(request(&srv, "GET", "/v1/changes?q=%ff", alice, NULL, NULL), 400, "UTF8", "utf8");
}

static void test_record_refusals_carry_rule_codes(void)
{
	char path[64];
	if (!create("/v1/changes", alice, normal_change, path, sizeof path))
		return;
	/* A field at fault without a rule: the class's code, naming the field. */
	struct reply *r = post("/v1/changes", alice, "{\"title\": \"x\"}");
	if (coded(r, 422, "UNPROCESSABLE", NULL))
		CHECK_STR(reply_str(r, "field"), "type");
	reply_free(r);
	expect(post("/v1/changes", alice,
		    "{\"title\": \"x\", \"type\": \"normal\", \"services\": [\"mainframe\"]}"),
	       422, "CATALOG", "catalog");
	/* An event the draft does not allow, and a risk it has not been assessed for. */
	r = fire(path, alice, "start");
	if (coded(r, 409, "STATE", "state"))
		CHECK(strstr(reply_str(r, "type"), "/conflict") != NULL);
	reply_free(r);
	char risk[96];
	snprintf(risk, sizeof risk, "%s/risk", path);
	expect(request(&srv, "GET", risk, alice, NULL, NULL), 409, "STATE", "state");
	/* If-Match: required, then stale. */
	expect(request(&srv, "PATCH", path, alice, "{\"description\": \"y\"}", NULL), 428,
	       "PRECONDITION_REQUIRED", NULL);
	const char *stale[] = {"If-Match: \"7\"", NULL};
	expect(request(&srv, "PATCH", path, alice, "{\"description\": \"y\"}", stale), 412,
	       "PRECONDITION_FAILED", NULL);
	expect(request(&srv, "GET", "/v1/changes/CHG-999999", alice, NULL, NULL), 404, "NOT_FOUND",
	       NULL);
}

/*
 * Opens an event stream as `token` on a raw socket and waits (5 s at most) for its first
 * bytes; returns the socket (close it to end the stream), or -1.
 */
static int stream_open(const char *token)
{
	const char *colon = strrchr(srv.base, ':');
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)atoi(colon ? colon + 1 : "0"))};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char head[512], buf[512];
	int n = snprintf(head, sizeof head,
			 "GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
			 "%s\r\n\r\n",
			 token);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    write(fd, head, (size_t)n) != n) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 5000) != 1 || read(fd, buf, sizeof buf - 1) <= 0 ||
	    strncmp(buf, "HTTP/1.1 200", 12) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* TRANSOM_STREAMS_PER_USER is 1 on this server: a second stream is a named rule's 429. */
static void test_a_second_stream_is_429_with_its_rule_code(void)
{
	int fd = stream_open(alice);
	CHECK(fd >= 0);
	struct reply *r = request(&srv, "GET", "/v1/events", alice, NULL, NULL);
	if (coded(r, 429, "STREAMS_PER_USER", "streams_per_user"))
		CHECK(strstr(reply_str(r, "type"), "/too-many-requests") != NULL);
	reply_free(r);
	if (fd >= 0)
		close(fd);
}

/* Runs `sql` as the database owner; returns whether it worked. */
static bool db_run(const char *sql)
{
	PGconn *c = PQconnectdb(getenv("TRANSOM_TEST_DATABASE_URL"));
	PGresult *res = PQexec(c, sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	CHECKF(ok, "%s: %s", sql, PQerrorMessage(c));
	PQclear(res);
	PQfinish(c);
	return ok;
}

/* The reply says nothing of the database's own text. */
static void no_server_text(const struct reply *r)
{
	const char *b = body_of(r);
	CHECKF(strstr(b, "secret-marker") == NULL && strstr(b, "ERROR") == NULL &&
		       strstr(b, "SQL") == NULL && strstr(b, "trigger") == NULL &&
		       strstr(b, "errors_fail") == NULL,
	       "server text in the reply: %s", b);
}

/* Makes every insert into records fail with SQLSTATE `code` (a trigger that raises). */
static bool fail_inserts(const char *code)
{
	char sql[512];
	snprintf(sql, sizeof sql,
		 "CREATE OR REPLACE FUNCTION errors_fail() RETURNS trigger LANGUAGE plpgsql "
		 "SECURITY DEFINER AS $$ BEGIN RAISE EXCEPTION USING ERRCODE = '%s', MESSAGE = "
		 "'secret-marker: relation records violates ERROR'; END $$",
		 code);
	return db_run(sql);
}

/* A database failure injected under a record write. */
static void test_database_errors_carry_a_code_and_no_server_text(void)
{
	if (!fail_inserts("XX000") ||
	    !db_run("CREATE TRIGGER errors_fail BEFORE INSERT ON records FOR EACH ROW "
		    "EXECUTE FUNCTION errors_fail()"))
		return;
	/* Any other failure: 500, the class's code, the request id to quote. */
	struct reply *r = post("/v1/changes", alice, normal_change);
	if (coded(r, 500, "INTERNAL", NULL))
		CHECK(strlen(reply_str(r, "instance")) > 0);
	no_server_text(r);
	reply_free(r);
	/* A value the database rejects (SQLSTATE class 22): 400, rule data. */
	fail_inserts("22023");
	r = post("/v1/changes", alice, normal_change);
	coded(r, 400, "DATA", "data");
	no_server_text(r);
	reply_free(r);
	db_run("DROP TRIGGER errors_fail ON records");
	r = post("/v1/changes", alice, normal_change);
	CHECK_INT(r->status, 201);
	reply_free(r);
}

/* docs/errors.md, read once; run from the repository's root (tests/run.sh). */
static char *read_doc(void)
{
	FILE *f = fopen("docs/errors.md", "rb");
	if (f == NULL)
		return NULL;
	char *buf = calloc(1, 1 << 18);
	if (buf != NULL)
		fread(buf, 1, (1 << 18) - 1, f);
	fclose(f);
	return buf;
}

static void setup(void)
{
	errors_md = read_doc();
	snprintf(alice, sizeof alice, "%s", token_for("alice", "requester"));
	const char *env[] = {"TRANSOM_STREAMS_PER_USER=1", NULL};
	if (errors_md == NULL || !alice[0] || !server_start(&srv, NULL, NULL, env)) {
		printf("setup failed (docs/errors.md %s)\n0 passed, 1 failed\n",
		       errors_md ? "read" : "missing");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_routing_and_auth_refusals_carry_their_class_code, test_transport_refusals_carry_codes,
      test_record_refusals_carry_rule_codes, test_a_second_stream_is_429_with_its_rule_code,
      test_database_errors_carry_a_code_and_no_server_text)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	free(errors_md);
	return rc;
}
