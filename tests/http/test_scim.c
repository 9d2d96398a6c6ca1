/*
 * test_scim.c -- SCIM 2.0 provisioning (/scim/v2/...) against the real transomd, as an
 * identity provider drives it:
 *   - discovery documents; admin bearer tokens only (no token 401, another role 403, an
 *     admin's session cookie 401), every error in SCIM's shape with its scimType;
 *   - users created (409 uniqueness when taken), read, found by `userName eq`, paged;
 *     replaced (PUT), patched (display name, e-mail);
 *   - active=false (PATCH in the value-object form, the path form, Entra ID's "False";
 *     PUT; DELETE) disables the user: their API token and web session are refused at once
 *     and an open event stream ends; active=true enables them without reviving the old
 *     token; every write is in the audit trail;
 *   - refusals: bad filter, bad userName, unknown attribute, remove without path, not a
 *     PatchOp, malformed JSON, userName changed, unknown user or path: 400/404/409 with
 *     the right scimType;
 *   - the policy groups (read-only) with people.json's members and the claims'.
 */
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "lib_http.h"

static struct server srv;
static char admin[128];

static const char *body_of(const struct reply *r)
{
	return r->body ? r->body : "";
}

static const char *const scim_ct[] = {"Content-Type: application/scim+json", NULL};

/* A SCIM request as the admin with `body` (NULL: none) sent as application/scim+json. */
static struct reply *scim(const char *method, const char *path, const char *body)
{
	return request(&srv, method, path, admin, body, body ? scim_ct : NULL);
}

static long status_of(struct reply *r)
{
	long st = r->status;
	reply_free(r);
	return st;
}

/* Whether `r` is a SCIM error with `status` and scimType `type` (NULL: none). */
static bool scim_error(const struct reply *r, long status, const char *type)
{
	char st[8];
	snprintf(st, sizeof st, "%ld", status);
	json_t *schemas = r->json ? json_object_get(r->json, "schemas") : NULL;
	const char *ct = reply_header(r, "Content-Type");
	bool ok = r->status == status && ct && strncmp(ct, "application/scim+json", 21) == 0 &&
		  json_is_array(schemas) &&
		  strcmp(json_string_value(json_array_get(schemas, 0)) ?: "",
			 "urn:ietf:params:scim:api:messages:2.0:Error") == 0 &&
		  strcmp(reply_str(r, "status"), st) == 0 && *reply_str(r, "detail") != '\0' &&
		  *reply_str(r, "code") != '\0';
	const char *t = json_string_value(json_object_get(r->json, "scimType"));
	if (type == NULL)
		return ok && t == NULL;
	return ok && t != NULL && strcmp(t, type) == 0;
}

/* Provisions user `name` through SCIM (201); false when that failed. */
static bool provision(const char *name)
{
	char body[512];
	snprintf(
		body, sizeof body,
		"{\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
		" \"userName\": \"%s\", \"name\": {\"givenName\": \"Pat\", \"familyName\": \"%s\"},"
		" \"emails\": [{\"value\": \"%s@example.com\", \"type\": \"work\", \"primary\": "
		"true}],"
		" \"active\": true, \"externalId\": \"ext-%s\"}",
		name, name, name, name);
	struct reply *r = scim("POST", "/scim/v2/Users", body);
	bool ok = r->status == 201;
	CHECKF(ok, "provision %s: %ld %s", name, r->status, body_of(r));
	reply_free(r);
	return ok;
}

/* ---- a provisioned person's credentials --------------------------------------------------- */

struct person {
	char name[64];
	char token[128];  /* an API token */
	char cookie[160]; /* "Cookie: transom_session=..." of a web session */
	pid_t stream;     /* a curl child reading GET /v1/events with the token */
};

/*
 * GET /v1/events with `token`, in a curl child (output thrown away, at most 60 s), its
 * response head written to `head` (a file name).  The child's pid, or -1.
 */
static pid_t stream_open(const char *token, const char *head)
{
	char url[256], auth[300];
	snprintf(url, sizeof url, "%s/v1/events", srv.base);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	pid_t pid = fork();
	if (pid == 0) {
		execlp("curl", "curl", "-sN", "-o", "/dev/null", "-D", head, "--max-time", "60",
		       "-H", auth, url, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Whether the stream's response head in file `head` says 200 (polled, at most 10 s). */
static bool stream_answered(const char *head)
{
	for (int i = 0; i < 500; i++) {
		char buf[64] = "";
		FILE *f = fopen(head, "r");
		if (f != NULL) {
			if (fgets(buf, sizeof buf, f) == NULL)
				buf[0] = '\0';
			fclose(f);
		}
		if (strstr(buf, " 200") != NULL)
			return true;
		usleep(20 * 1000);
	}
	return false;
}

/* Whether curl child `pid` is still running (the stream open). */
static bool stream_running(pid_t pid)
{
	return pid > 0 && waitpid(pid, NULL, WNOHANG) == 0;
}

/*
 * Waits for curl child `pid` to exit: true when the server ended the stream (curl's
 * own --max-time, status 28, is not that).
 */
static bool stream_ended_by_server(pid_t pid)
{
	int status = 0;
	if (pid <= 0 || waitpid(pid, &status, 0) != pid)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) != 28 && WEXITSTATUS(status) != 127;
}

/* Provisions `name` and gives them a token, a web session and an open event stream. */
static bool person_new(struct person *p, const char *name)
{
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s", name);
	if (!provision(name))
		return false;
	snprintf(p->token, sizeof p->token, "%s", token_for(name, "requester"));
	struct reply *r = request(&srv, "POST", "/v1/me/app-passwords", p->token, "{}", NULL);
	char body[256];
	snprintf(body, sizeof body, "{\"user\": \"%s\", \"password\": \"%s\"}", name,
		 reply_str(r, "password"));
	CHECKF(r->status == 201, "app password: %ld %s", r->status, body_of(r));
	reply_free(r);
	r = request(&srv, "POST", "/v1/session", NULL, body, NULL);
	const char *sc = reply_header(r, "Set-Cookie");
	CHECKF(r->status == 201 && sc, "sign in: %ld %s", r->status, body_of(r));
	if (sc)
		snprintf(p->cookie, sizeof p->cookie, "Cookie: %.*s", (int)strcspn(sc, ";"), sc);
	reply_free(r);
	char head[512];
	snprintf(head, sizeof head, "%s/scim-stream-%s", getenv("TRANSOM_TEST_TMP") ?: "/tmp",
		 name);
	unlink(head);
	p->stream = stream_open(p->token, head);
	/* Open once the server has answered 200 (it subscribes first), and still running. */
	CHECKF(stream_answered(head) && stream_running(p->stream),
	       "the event stream of %s did not open", name);
	unlink(head);
	return p->token[0] && p->cookie[0] && p->stream > 0;
}

static long me_with_token(const struct person *p)
{
	return status_of(request(&srv, "GET", "/v1/me", p->token, NULL, NULL));
}

static long me_with_cookie(const struct person *p)
{
	const char *h[] = {p->cookie, NULL};
	return status_of(request(&srv, "GET", "/v1/me", NULL, NULL, h));
}

/* Every credential of `p` works before; `write` (a SCIM request) disables them; after, all
 * are refused at once and the stream has ended. */
static void check_disabled_by(struct person *p, const char *method, const char *body,
			      long want_status)
{
	char path[128];
	CHECK_INT(me_with_token(p), 200);
	CHECK_INT(me_with_cookie(p), 200);
	snprintf(path, sizeof path, "/scim/v2/Users/%s", p->name);
	struct reply *r = scim(method, path, body);
	CHECKF(r->status == want_status, "%s %s: %ld %s", method, path, r->status, body_of(r));
	if (want_status == 200)
		CHECKF(json_is_false(json_object_get(r->json, "active")), "active: %s", body_of(r));
	reply_free(r);
	CHECK_INT(me_with_token(p), 401);
	CHECK_INT(me_with_cookie(p), 401);
	CHECKF(stream_ended_by_server(p->stream), "%s's event stream outlived the disable",
	       p->name);
	p->stream = 0;
	r = scim("GET", path, NULL);
	CHECKF(r->status == 200 && json_is_false(json_object_get(r->json, "active")),
	       "after: %ld %s", r->status, body_of(r));
	reply_free(r);
}

/* ---- the database, as the owner: the audit trail and claim groups ------------------------- */

/* The first column of the first row of `sql` with `arg` as $1 into `out` ("" on error). */
static void sql_value(const char *sql, const char *arg, char *out, size_t outlen)
{
	out[0] = '\0';
	PGconn *c = PQconnectdb(getenv("TRANSOM_TEST_DATABASE_URL"));
	if (PQstatus(c) == CONNECTION_OK) {
		const char *p[] = {arg};
		PGresult *r =
			PQexecParams(c, sql, arg ? 1 : 0, NULL, arg ? p : NULL, NULL, NULL, 0);
		if ((PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0))
			snprintf(out, outlen, "%s", PQgetvalue(r, 0, 0));
		else if (PQresultStatus(r) != PGRES_COMMAND_OK)
			fprintf(stderr, "  sql: %s", PQerrorMessage(c));
		PQclear(r);
	}
	PQfinish(c);
}

/* The audit actions about user `name` (content names them), in order, comma-separated. */
static void audit_actions(const char *name, char *out, size_t outlen)
{
	sql_value("SELECT string_agg(action, ',' ORDER BY seq) FROM audit_events"
		  " WHERE record_id IS NULL AND content::jsonb #>> '{detail,user}' = $1",
		  name, out, outlen);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_discovery_documents(void)
{
	struct reply *r = scim("GET", "/scim/v2/ServiceProviderConfig", NULL);
	CHECKF(r->status == 200, "%ld %s", r->status, body_of(r));
	CHECK(strncmp(reply_header(r, "Content-Type") ?: "", "application/scim+json", 21) == 0);
	CHECK(json_is_true(json_object_get(json_object_get(r->json, "patch"), "supported")));
	CHECK(json_is_true(json_object_get(json_object_get(r->json, "filter"), "supported")));
	CHECK(json_is_false(json_object_get(json_object_get(r->json, "bulk"), "supported")));
	CHECK(json_is_false(json_object_get(json_object_get(r->json, "sort"), "supported")));
	CHECK(json_is_false(json_object_get(json_object_get(r->json, "etag"), "supported")));
	CHECK(json_is_false(
		json_object_get(json_object_get(r->json, "changePassword"), "supported")));
	reply_free(r);
	r = scim("GET", "/scim/v2/ResourceTypes", NULL);
	CHECKF(r->status == 200 &&
		       json_integer_value(json_object_get(r->json, "totalResults")) == 2,
	       "%ld %s", r->status, body_of(r));
	reply_free(r);
	r = scim("GET", "/scim/v2/Schemas", NULL);
	json_t *res = json_object_get(r->json, "Resources");
	CHECKF(r->status == 200 && json_array_size(res) == 2 &&
		       strcmp(json_string_value(json_object_get(json_array_get(res, 0), "id"))
				      ?: "",
			      "urn:ietf:params:scim:schemas:core:2.0:User") == 0,
	       "%ld %s", r->status, body_of(r));
	reply_free(r);
}

static void test_only_admin_bearer_tokens(void)
{
	/* No token: 401 with the challenge, in SCIM's shape. */
	struct reply *r = request(&srv, "GET", "/scim/v2/Users", NULL, NULL, NULL);
	CHECKF(scim_error(r, 401, NULL), "no token: %ld %s", r->status, body_of(r));
	CHECK(reply_header(r, "WWW-Authenticate") != NULL);
	reply_free(r);
	const char *paths[] = {"/scim/v2/ServiceProviderConfig", "/scim/v2/Users",
			       "/scim/v2/Users/admin", "/scim/v2/Groups"};
	char tok[128];
	snprintf(tok, sizeof tok, "%s",
		 token_for("scim-requester", "requester,cab,change_manager"));
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		r = request(&srv, "GET", paths[i], tok, NULL, NULL);
		CHECKF(scim_error(r, 403, NULL) && strcmp(reply_str(r, "code"), "ROLE") == 0,
		       "%s as a non-admin: %ld %s", paths[i], r->status, body_of(r));
		reply_free(r);
	}
	r = request(&srv, "POST", "/scim/v2/Users", tok, "{\"userName\": \"scim-x\"}", scim_ct);
	CHECKF(scim_error(r, 403, NULL), "create as a non-admin: %ld %s", r->status, body_of(r));
	reply_free(r);
	r = request(&srv, "GET", "/scim/v2/Users", "trn_not-a-token", NULL, NULL);
	CHECKF(scim_error(r, 401, NULL), "unknown token: %ld %s", r->status, body_of(r));
	reply_free(r);
	/* An admin's web session cookie is not a credential here. */
	char atok[128], body[256];
	snprintf(atok, sizeof atok, "%s", token_for("scim-webadmin", "admin"));
	r = request(&srv, "POST", "/v1/me/app-passwords", atok, "{}", NULL);
	snprintf(body, sizeof body, "{\"user\": \"scim-webadmin\", \"password\": \"%s\"}",
		 reply_str(r, "password"));
	reply_free(r);
	r = request(&srv, "POST", "/v1/session", NULL, body, NULL);
	const char *sc = reply_header(r, "Set-Cookie");
	char cookie[160] = "";
	if (sc)
		snprintf(cookie, sizeof cookie, "Cookie: %.*s", (int)strcspn(sc, ";"), sc);
	CHECKF(r->status == 201 && cookie[0], "sign in: %ld %s", r->status, body_of(r));
	reply_free(r);
	const char *h[] = {cookie, NULL};
	CHECK_INT(status_of(request(&srv, "GET", "/v1/users", NULL, NULL, h)), 200);
	r = request(&srv, "GET", "/scim/v2/Users", NULL, NULL, h);
	CHECKF(scim_error(r, 401, NULL), "cookie: %ld %s", r->status, body_of(r));
	reply_free(r);
}

static void test_create_get_and_uniqueness(void)
{
	char before[32], after[32];
	sql_value("SELECT count(*) FROM audit_events", NULL, before, sizeof before);
	if (!provision("scim-alice"))
		return;
	struct reply *r = scim("GET", "/scim/v2/Users/scim-alice", NULL);
	CHECKF(r->status == 200, "%ld %s", r->status, body_of(r));
	CHECK_STR(reply_str(r, "id"), "scim-alice");
	CHECK_STR(reply_str(r, "userName"), "scim-alice");
	CHECK_STR(reply_str(r, "displayName"), "Pat scim-alice");
	CHECK(json_is_true(json_object_get(r->json, "active")));
	json_t *meta = json_object_get(r->json, "meta");
	CHECK_STR(json_string_value(json_object_get(meta, "resourceType")), "User");
	const char *loc = json_string_value(json_object_get(meta, "location"));
	CHECKF(loc && strstr(loc, "/scim/v2/Users/scim-alice"), "location %s", loc ?: "-");
	CHECK_STR(json_string_value(json_object_get(
			  json_array_get(json_object_get(r->json, "emails"), 0), "value")),
		  "scim-alice@example.com");
	CHECK_STR(json_string_value(json_array_get(json_object_get(r->json, "schemas"), 0)),
		  "urn:ietf:params:scim:schemas:core:2.0:User");
	CHECK(strncmp(reply_header(r, "Content-Type") ?: "", "application/scim+json", 21) == 0);
	reply_free(r);
	/* The same user name again: 409 uniqueness; with application/json too. */
	const char *json_ct[] = {"Content-Type: application/json", NULL};
	r = request(&srv, "POST", "/scim/v2/Users", admin, "{\"userName\": \"scim-alice\"}",
		    json_ct);
	CHECKF(scim_error(r, 409, "uniqueness"), "again: %ld %s", r->status, body_of(r));
	reply_free(r);
	/* A user Transom made otherwise (a token) is taken too. */
	token_for("scim-bytoken", "requester");
	r = scim("POST", "/scim/v2/Users", "{\"userName\": \"scim-bytoken\"}");
	CHECKF(scim_error(r, 409, "uniqueness"), "token user: %ld %s", r->status, body_of(r));
	reply_free(r);
	/* Created inactive: provisioned disabled. */
	r = scim("POST", "/scim/v2/Users", "{\"userName\": \"scim-inactive\", \"active\": false}");
	CHECKF(r->status == 201 && json_is_false(json_object_get(r->json, "active")), "%ld %s",
	       r->status, body_of(r));
	reply_free(r);
	/* Audited. */
	char actions[256];
	audit_actions("scim-alice", actions, sizeof actions);
	CHECK_STR(actions, "user.created");
	audit_actions("scim-inactive", actions, sizeof actions);
	CHECK_STR(actions, "user.created,user.disabled");
	sql_value("SELECT count(*) FROM audit_events", NULL, after, sizeof after);
	CHECKF(atol(after) == atol(before) + 3, "audit events %s -> %s", before, after);
	r = request(&srv, "GET", "/v1/audit/verify", admin, NULL, NULL);
	CHECKF(json_is_true(json_object_get(r->json, "ok")), "audit chain: %s", body_of(r));
	reply_free(r);
}

static void test_filter_and_paging(void)
{
	provision("scim-page1");
	provision("scim-page2");
	provision("scim-page3");
	struct reply *r =
		scim("GET", "/scim/v2/Users?filter=userName%20eq%20%22scim-page2%22", NULL);
	json_t *res = json_object_get(r->json, "Resources");
	CHECKF(r->status == 200 &&
		       json_integer_value(json_object_get(r->json, "totalResults")) == 1 &&
		       json_array_size(res) == 1 &&
		       strcmp(json_string_value(json_object_get(json_array_get(res, 0), "id"))
				      ?: "",
			      "scim-page2") == 0,
	       "filter: %ld %s", r->status, body_of(r));
	CHECK_STR(json_string_value(json_array_get(json_object_get(r->json, "schemas"), 0)),
		  "urn:ietf:params:scim:api:messages:2.0:ListResponse");
	reply_free(r);
	/* Entra ID's form: the URN-qualified attribute, case-insensitive operator. */
	r = scim("GET",
		 "/scim/v2/Users?filter=urn:ietf:params:scim:schemas:core:2.0:User:userName+EQ+"
		 "%22scim-page3%22",
		 NULL);
	CHECKF(r->status == 200 &&
		       json_integer_value(json_object_get(r->json, "totalResults")) == 1,
	       "qualified filter: %ld %s", r->status, body_of(r));
	reply_free(r);
	r = scim("GET", "/scim/v2/Users?filter=userName%20eq%20%22scim-nobody%22", NULL);
	CHECKF(r->status == 200 &&
		       json_integer_value(json_object_get(r->json, "totalResults")) == 0 &&
		       json_array_size(json_object_get(r->json, "Resources")) == 0,
	       "no match: %ld %s", r->status, body_of(r));
	reply_free(r);
	/* Paging: the whole list, then pages of it. */
	r = scim("GET", "/scim/v2/Users?count=200", NULL);
	long total = (long)json_integer_value(json_object_get(r->json, "totalResults"));
	json_t *all = json_incref(json_object_get(r->json, "Resources"));
	CHECKF(total >= 4 && (long)json_array_size(all) == total, "all: %s", body_of(r));
	reply_free(r);
	r = scim("GET", "/scim/v2/Users?startIndex=2&count=2", NULL);
	res = json_object_get(r->json, "Resources");
	CHECKF(r->status == 200 &&
		       json_integer_value(json_object_get(r->json, "totalResults")) == total &&
		       json_integer_value(json_object_get(r->json, "itemsPerPage")) == 2 &&
		       json_integer_value(json_object_get(r->json, "startIndex")) == 2 &&
		       json_array_size(res) == 2 &&
		       json_equal(json_array_get(res, 0), json_array_get(all, 1)) &&
		       json_equal(json_array_get(res, 1), json_array_get(all, 2)),
	       "page: %ld %s", r->status, body_of(r));
	reply_free(r);
	char path[128];
	snprintf(path, sizeof path, "/scim/v2/Users?startIndex=%ld&count=5", total);
	r = scim("GET", path, NULL);
	CHECKF(json_array_size(json_object_get(r->json, "Resources")) == 1, "last page: %s",
	       body_of(r));
	reply_free(r);
	snprintf(path, sizeof path, "/scim/v2/Users?startIndex=%ld", total + 1);
	r = scim("GET", path, NULL);
	CHECKF(r->status == 200 && json_array_size(json_object_get(r->json, "Resources")) == 0 &&
		       json_integer_value(json_object_get(r->json, "totalResults")) == total,
	       "past the end: %s", body_of(r));
	reply_free(r);
	r = scim("GET", "/scim/v2/Users?count=0", NULL);
	CHECKF(r->status == 200 && json_array_size(json_object_get(r->json, "Resources")) == 0 &&
		       json_integer_value(json_object_get(r->json, "totalResults")) == total,
	       "count=0: %s", body_of(r));
	reply_free(r);
	json_decref(all);
}

static void test_put_and_patch_attributes(void)
{
	if (!provision("scim-bob"))
		return;
	struct reply *r =
		scim("PUT", "/scim/v2/Users/scim-bob",
		     "{\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
		     " \"userName\": \"scim-bob\", \"displayName\": \"Robert B\","
		     " \"emails\": [{\"value\": \"rb@example.com\", \"primary\": true}]}");
	CHECKF(r->status == 200, "put: %ld %s", r->status, body_of(r));
	CHECK_STR(reply_str(r, "displayName"), "Robert B");
	CHECK(json_is_true(json_object_get(r->json, "active")));
	reply_free(r);
	/* PUT replaces: no emails, no e-mail. */
	r = scim("PUT", "/scim/v2/Users/scim-bob",
		 "{\"userName\": \"scim-bob\", \"displayName\": \"Robert B\"}");
	CHECKF(r->status == 200 && json_object_get(r->json, "emails") == NULL, "put: %ld %s",
	       r->status, body_of(r));
	reply_free(r);
	/* PATCH as Entra ID sends it. */
	r = scim("PATCH", "/scim/v2/Users/scim-bob",
		 "{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
		 " \"Operations\": ["
		 "  {\"op\": \"Replace\", \"path\": \"emails[type eq \\\"work\\\"].value\","
		 "   \"value\": \"bob@example.com\"},"
		 "  {\"op\": \"Replace\", \"path\": \"displayName\", \"value\": \"Bob B\"},"
		 "  {\"op\": \"Add\", \"path\": \"externalId\", \"value\": \"e-1\"}]}");
	CHECKF(r->status == 200, "patch: %ld %s", r->status, body_of(r));
	CHECK_STR(reply_str(r, "displayName"), "Bob B");
	CHECK_STR(json_string_value(json_object_get(
			  json_array_get(json_object_get(r->json, "emails"), 0), "value")),
		  "bob@example.com");
	reply_free(r);
	r = scim("GET", "/v1/users", NULL);
	CHECK(strstr(body_of(r), "bob@example.com") != NULL);
	reply_free(r);
	char actions[256];
	audit_actions("scim-bob", actions, sizeof actions);
	CHECK_STR(actions, "user.created,user.updated,user.updated,user.updated");
	/* A PATCH that changes nothing is not a change. */
	r = scim("PATCH", "/scim/v2/Users/scim-bob",
		 "{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
		 " \"Operations\": [{\"op\": \"replace\", \"value\": {\"displayName\": \"Bob B\","
		 " \"active\": true}}]}");
	CHECKF(r->status == 200, "no-op patch: %ld %s", r->status, body_of(r));
	reply_free(r);
	audit_actions("scim-bob", actions, sizeof actions);
	CHECK_STR(actions, "user.created,user.updated,user.updated,user.updated");
	/* A name object gives the display name, unless displayName says it (either order). */
	r = scim("PATCH", "/scim/v2/Users/scim-bob",
		 "{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
		 " \"Operations\": [{\"op\": \"replace\", \"value\": {\"name\": {\"givenName\": "
		 "\"Rob\","
		 " \"familyName\": \"Brown\"}}}]}");
	CHECKF(r->status == 200 && strcmp(reply_str(r, "displayName"), "Rob Brown") == 0,
	       "name: %ld %s", r->status, body_of(r));
	reply_free(r);
	r = scim("PATCH", "/scim/v2/Users/scim-bob",
		 "{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
		 " \"Operations\": [{\"op\": \"replace\", \"value\": {\"displayName\": \"Bobby\","
		 " \"name\": {\"givenName\": \"Rob\", \"familyName\": \"Brown\"}}}]}");
	CHECKF(r->status == 200 && strcmp(reply_str(r, "displayName"), "Bobby") == 0,
	       "displayName and name: %ld %s", r->status, body_of(r));
	reply_free(r);
}

static void test_patch_active_false_value_form(void)
{
	struct person p;
	if (!person_new(&p, "scim-carol"))
		return;
	check_disabled_by(
		&p, "PATCH",
		"{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
		" \"Operations\": [{\"op\": \"replace\", \"value\": {\"active\": false}}]}",
		200);
	char actions[256];
	audit_actions("scim-carol", actions, sizeof actions);
	CHECK_STR(actions, "user.created,user.disabled");
}

static void test_patch_active_false_path_form(void)
{
	struct person p;
	if (!person_new(&p, "scim-dave"))
		return;
	check_disabled_by(&p, "PATCH",
			  "{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
			  " \"Operations\": [{\"op\": \"replace\", \"path\": \"active\","
			  " \"value\": false}]}",
			  200);
}

static void test_patch_active_false_entra_string(void)
{
	struct person p;
	if (!person_new(&p, "scim-erin"))
		return;
	check_disabled_by(&p, "PATCH",
			  "{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
			  " \"Operations\": [{\"op\": \"Replace\", \"path\": \"active\","
			  " \"value\": \"False\"}]}",
			  200);
	/* Enabled again: active, but the old token stays refused; a new one works. */
	struct reply *r = scim("PATCH", "/scim/v2/Users/scim-erin",
			       "{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
			       " \"Operations\": [{\"op\": \"Replace\", \"path\": \"active\", "
			       "\"value\": \"True\"}]}");
	CHECKF(r->status == 200 && json_is_true(json_object_get(r->json, "active")),
	       "enable: %ld %s", r->status, body_of(r));
	reply_free(r);
	CHECK_INT(me_with_token(&p), 401);
	CHECK_INT(me_with_cookie(&p), 401);
	CHECK_INT(status_of(request(&srv, "GET", "/v1/me", token_for("scim-erin", "requester"),
				    NULL, NULL)),
		  200);
	char actions[256];
	audit_actions("scim-erin", actions, sizeof actions);
	CHECK_STR(actions, "user.created,user.disabled,user.enabled");
}

static void test_put_active_false_disables(void)
{
	struct person p;
	if (!person_new(&p, "scim-fay"))
		return;
	check_disabled_by(&p, "PUT", "{\"userName\": \"scim-fay\", \"active\": false}", 200);
}

static void test_delete_disables(void)
{
	struct person p;
	if (!person_new(&p, "scim-gus"))
		return;
	check_disabled_by(&p, "DELETE", NULL, 204);
	/* The user is kept (the audit trail names them), disabled. */
	struct reply *r = scim("GET", "/scim/v2/Users?filter=userName%20eq%20%22scim-gus%22", NULL);
	CHECKF(json_integer_value(json_object_get(r->json, "totalResults")) == 1, "%s", body_of(r));
	reply_free(r);
	/* Deleting an unknown user is 404. */
	r = scim("DELETE", "/scim/v2/Users/scim-nobody", NULL);
	CHECKF(scim_error(r, 404, NULL), "%ld %s", r->status, body_of(r));
	reply_free(r);
}

/* The same use case behind /v1/users: audited too, saying which interface asked. */
static void test_v1_disable_and_enable_are_audited(void)
{
	token_for("scim-jo", "requester");
	CHECK_INT(status_of(scim("POST", "/v1/users/scim-jo/disable", NULL)), 200);
	CHECK_INT(status_of(scim("POST", "/v1/users/scim-jo/enable", NULL)), 200);
	char actions[256], via[64];
	audit_actions("scim-jo", actions, sizeof actions);
	CHECK_STR(actions, "user.disabled,user.enabled");
	sql_value("SELECT string_agg(content::jsonb #>> '{detail,via}', ',' ORDER BY seq)"
		  " FROM audit_events WHERE content::jsonb #>> '{detail,user}' = $1",
		  "scim-jo", via, sizeof via);
	CHECK_STR(via, "api,api");
}

static void test_cannot_disable_yourself(void)
{
	struct reply *r = scim("PATCH", "/scim/v2/Users/admin",
			       "{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"],"
			       " \"Operations\": [{\"op\": \"replace\", \"path\": \"active\","
			       " \"value\": false}]}");
	CHECKF(scim_error(r, 422, NULL) && strcmp(reply_str(r, "code"), "SELF") == 0, "%ld %s",
	       r->status, body_of(r));
	reply_free(r);
	CHECK_INT(status_of(scim("GET", "/scim/v2/ServiceProviderConfig", NULL)), 200);
}

static void test_refusals_carry_scim_types(void)
{
	provision("scim-henry");
#define PATCH_BODY                                                                                 \
	"{\"schemas\": [\"urn:ietf:params:scim:api:messages:2.0:PatchOp\"], \"Operations\": [%s]}"
	char body[512];
	struct {
		const char *method, *path, *body;
		long status;
		const char *type;
	} cases[] = {
		{"GET", "/scim/v2/Users?filter=userName%20sw%20%22scim%22", NULL, 400,
		 "invalidFilter"},
		{"GET", "/scim/v2/Users?filter=title%20eq%20%22x%22", NULL, 400, "invalidFilter"},
		{"GET", "/scim/v2/Users?filter=userName%20eq%20scim-henry", NULL, 400,
		 "invalidFilter"},
		{"GET", "/scim/v2/Users?filter=externalId%20eq%20%22e%22", NULL, 400,
		 "invalidFilter"},
		{"GET", "/scim/v2/Users?count=ten", NULL, 400, "invalidValue"},
		{"GET", "/scim/v2/Users?startIndex=1x", NULL, 400, "invalidValue"},
		{"POST", "/scim/v2/Users", "{\"userName\": \"bad name!\"}", 400, "invalidValue"},
		{"POST", "/scim/v2/Users", "{\"userName\": \"system\"}", 400, "invalidValue"},
		{"POST", "/scim/v2/Users", "{\"userName\": \"\"}", 400, "invalidValue"},
		{"POST", "/scim/v2/Users", "{\"displayName\": \"No Name\"}", 400, "invalidValue"},
		{"POST", "/scim/v2/Users", "{\"userName\": 7}", 400, "invalidValue"},
		{"POST", "/scim/v2/Users", "{\"userName\": \"scim-z\", \"active\": \"maybe\"}", 400,
		 "invalidValue"},
		{"POST", "/scim/v2/Users", "{\"userName\": \"scim-z\", \"emails\": \"z@x\"}", 400,
		 "invalidValue"},
		{"POST", "/scim/v2/Users", "{\"userName\": \"scim-z\"", 400, "invalidSyntax"},
		{"POST", "/scim/v2/Users", "[]", 400, "invalidSyntax"},
		{"PUT", "/scim/v2/Users/scim-henry", "{\"userName\": \"scim-other\"}", 400,
		 "mutability"},
		{"PATCH", "/scim/v2/Users/scim-henry",
		 "{\"Operations\": [{\"op\": \"replace\", \"path\": \"active\", \"value\": "
		 "false}]}",
		 400, "invalidSyntax"},
		{"PATCH", "/scim/v2/Users/scim-henry", NULL, 400, "invalidPath"},
		{"PATCH", "/scim/v2/Users/scim-henry", NULL, 400, "invalidPath"},
		{"PATCH", "/scim/v2/Users/scim-henry", NULL, 400, "noTarget"},
		{"PATCH", "/scim/v2/Users/scim-henry", NULL, 400, "invalidSyntax"},
		{"PATCH", "/scim/v2/Users/scim-henry", NULL, 400, "mutability"},
		{"PATCH", "/scim/v2/Users/scim-henry", NULL, 400, "invalidValue"},
		{"GET", "/scim/v2/Users/scim-nobody", NULL, 404, NULL},
		{"PUT", "/scim/v2/Users/scim-nobody", "{\"displayName\": \"x\"}", 404, NULL},
		{"GET", "/scim/v2/Bulk", NULL, 404, NULL},
		{"POST", "/scim/v2/Groups", "{\"displayName\": \"x\"}", 405, NULL},
	};
	const char *patches[] = {
		"{\"op\": \"replace\", \"path\": \"title\", \"value\": \"Boss\"}",
		"{\"op\": \"replace\", \"value\": {\"nickName\": \"h\"}}",
		"{\"op\": \"remove\"}",
		"{\"op\": \"frobnicate\", \"path\": \"active\", \"value\": true}",
		"{\"op\": \"replace\", \"path\": \"userName\", \"value\": \"scim-hank\"}",
		"{\"op\": \"replace\", \"path\": \"active\", \"value\": \"yes\"}",
	};
	size_t np = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *b = cases[i].body;
		if (b == NULL && strcmp(cases[i].method, "PATCH") == 0) {
			snprintf(body, sizeof body, PATCH_BODY, patches[np++]);
			b = body;
		}
		struct reply *r = scim(cases[i].method, cases[i].path, b);
		CHECKF(scim_error(r, cases[i].status, cases[i].type), "%s %s %s: %ld %s",
		       cases[i].method, cases[i].path, b ? b : "", r->status, body_of(r));
		reply_free(r);
	}
	/* A body of another media type is refused (415), in SCIM's shape. */
	const char *text[] = {"Content-Type: text/plain", NULL};
	struct reply *r =
		request(&srv, "POST", "/scim/v2/Users", admin, "{\"userName\": \"scim-t\"}", text);
	CHECKF(scim_error(r, 415, NULL), "%ld %s", r->status, body_of(r));
	reply_free(r);
	/* Nothing of scim-henry changed. */
	r = scim("GET", "/scim/v2/Users/scim-henry", NULL);
	CHECKF(r->status == 200 && json_is_true(json_object_get(r->json, "active")) &&
		       strcmp(reply_str(r, "displayName"), "Pat scim-henry") == 0,
	       "%s", body_of(r));
	reply_free(r);
}

/* A group's member names in `r` (a Group resource), comma-separated, into `out`. */
static void members_of(json_t *group, char *out, size_t outlen)
{
	size_t i, k = 0;
	json_t *m;
	out[0] = '\0';
	json_array_foreach(json_object_get(group, "members"), i, m) {
		k += (size_t)snprintf(out + k, outlen > k ? outlen - k : 0, "%s%s", i ? "," : "",
				      json_string_value(json_object_get(m, "value")) ?: "?");
	}
}

static void test_groups_read_only(void)
{
	/* The claims of a sign-in through the provider made scim-ivy a CAB member. */
	token_for("scim-ivy", "requester");
	char out[64];
	sql_value("INSERT INTO user_claim_groups (user_name, groups) VALUES ($1, '{cab}')"
		  " ON CONFLICT (user_name) DO UPDATE SET groups = '{cab}' RETURNING 1",
		  "scim-ivy", out, sizeof out);
	CHECK_STR(out, "1");
	struct reply *r = scim("GET", "/scim/v2/Groups", NULL);
	json_t *res = json_object_get(r->json, "Resources"), *g, *cab = NULL;
	size_t i;
	json_array_foreach(res, i, g)
		if (strcmp(json_string_value(json_object_get(g, "id")) ?: "", "cab") == 0)
			cab = g;
	CHECKF(r->status == 200 && cab != NULL && json_array_size(res) >= 2, "groups: %ld %s",
	       r->status, body_of(r));
	char members[512];
	members_of(cab, members, sizeof members);
	CHECK_STR(members, "amartin,bokafor,cnguyen,dschmidt,mpetrov,scim-ivy");
	reply_free(r);
	r = scim("GET", "/scim/v2/Groups/cab", NULL);
	CHECKF(r->status == 200, "%ld %s", r->status, body_of(r));
	CHECK_STR(reply_str(r, "displayName"), "cab");
	CHECK_STR(json_string_value(
			  json_object_get(json_object_get(r->json, "meta"), "resourceType")),
		  "Group");
	members_of(r->json, members, sizeof members);
	CHECK_STR(members, "amartin,bokafor,cnguyen,dschmidt,mpetrov,scim-ivy");
	reply_free(r);
	r = scim("GET", "/scim/v2/Groups?filter=displayName%20eq%20%22cab%22", NULL);
	CHECKF(r->status == 200 &&
		       json_integer_value(json_object_get(r->json, "totalResults")) == 1,
	       "%ld %s", r->status, body_of(r));
	reply_free(r);
	r = scim("GET", "/scim/v2/Groups/nope", NULL);
	CHECKF(scim_error(r, 404, NULL), "%ld %s", r->status, body_of(r));
	reply_free(r);
	r = scim("GET", "/scim/v2/Groups?filter=members%20eq%20%22x%22", NULL);
	CHECKF(scim_error(r, 400, "invalidFilter"), "%ld %s", r->status, body_of(r));
	reply_free(r);
	/* Read-only: the groups are policy (policies/people.json). */
	const char *writes[] = {"PATCH", "PUT", "DELETE"};
	for (size_t k = 0; k < 3; k++) {
		r = scim(writes[k], "/scim/v2/Groups/cab", k < 2 ? "{}" : NULL);
		CHECKF(scim_error(r, 405, NULL) && reply_header(r, "Allow") != NULL, "%s: %ld %s",
		       writes[k], r->status, body_of(r));
		reply_free(r);
	}
}

static void setup(void)
{
	snprintf(admin, sizeof admin, "%s", token_for("admin", "admin"));
	if (admin[0] == '\0' || !server_start(&srv, NULL, NULL, NULL)) {
		fprintf(stderr, "cannot start transomd\n");
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_discovery_documents, test_only_admin_bearer_tokens, test_create_get_and_uniqueness,
      test_filter_and_paging, test_put_and_patch_attributes, test_patch_active_false_value_form,
      test_patch_active_false_path_form, test_patch_active_false_entra_string,
      test_put_active_false_disables, test_delete_disables, test_v1_disable_and_enable_are_audited,
      test_cannot_disable_yourself, test_refusals_carry_scim_types, test_groups_read_only)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	return rc;
}
