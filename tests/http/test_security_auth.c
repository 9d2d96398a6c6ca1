/*
 * test_security_auth.c -- security regressions of issue 11 on credentials, against the
 * real transomd (one worker thread, so that every request meets the same per-thread
 * credential memo):
 *   - an app password sent as "Bearer basic:<base64>" after a CalDAV login is refused
 *     (the memo once answered it with the Basic entry);
 *   - app passwords work on DAV routes only, bearer tokens on the API only;
 *   - disabling a user (HTTP and CLI) kills their tokens, app passwords, feed URLs and
 *     signed vote links at once; enabling them revives none of those;
 *   - revoking a token revokes the app passwords and feed URLs made with it;
 *   - token creation warns about a user missing from policies/people.json;
 *   - /readyz shows anonymous callers ready or not, never error text; admins the checks;
 *   - a GitHub webhook with a bad signature is 401 whatever its body (checked first).
 */
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "crypto/crypto.h"
#include "lib_http.h"

#define GH_SECRET "gh-secret-of-the-security-suite"

static struct server srv;
#include "record_steps.h"

static char admin[128], policies[512];

/* A request with `auth` as the whole Authorization header value (NULL: none). */
static struct reply *with_auth(const char *method, const char *path, const char *auth,
			       const char *extra)
{
	char h[600];
	const char *hs[3];
	size_t n = 0;
	if (auth != NULL) {
		snprintf(h, sizeof h, "Authorization: %s", auth);
		hs[n++] = h;
	}
	if (extra != NULL)
		hs[n++] = extra;
	hs[n] = NULL;
	return request(&srv, method, path, NULL, NULL, hs);
}

/* "user:pw" in base64 into `out` (400 bytes). */
static void basic_of(const char *user, const char *pw, char *out)
{
	char cred[256];
	snprintf(cred, sizeof cred, "%s:%s", user, pw);
	b64_encode(cred, out);
}

/* The status of a PROPFIND /dav/ with HTTP Basic user:pw. */
static long dav_status(const char *user, const char *pw)
{
	char enc[400], auth[420];
	basic_of(user, pw, enc);
	snprintf(auth, sizeof auth, "Basic %s", enc);
	struct reply *r = with_auth("PROPFIND", "/dav/", auth, "Depth: 0");
	long st = r->status;
	reply_free(r);
	return st;
}

/* The status of GET /v1/me with bearer `token`. */
static long api_status(const char *token)
{
	struct reply *r = request(&srv, "GET", "/v1/me", token, NULL, NULL);
	long st = r->status;
	reply_free(r);
	return st;
}

/* An app password made with bearer `token` into `pw` (64 bytes). */
static bool app_password(const char *token, char *pw)
{
	struct reply *r = post("/v1/me/app-passwords", token, "{\"label\": \"security\"}");
	bool ok = r->status == 201 && *reply_str(r, "password") != '\0';
	CHECKF(ok, "app password: %ld %s", r->status, body_of(r));
	snprintf(pw, 64, "%s", reply_str(r, "password"));
	reply_free(r);
	return ok;
}

/* A feed URL path made with bearer `token` into `path` ("/feeds/<token>/schedule.ics"). */
static bool feed_path(const char *token, char *path, size_t len)
{
	struct reply *r = post("/v1/feeds", token, "{\"label\": \"security\"}");
	bool ok = r->status == 201 && *reply_str(r, "token") != '\0';
	CHECKF(ok, "feed: %ld %s", r->status, body_of(r));
	snprintf(path, len, "/feeds/%s/schedule.ics", reply_str(r, "token"));
	reply_free(r);
	return ok;
}

static long get_status(const char *path)
{
	struct reply *r = request(&srv, "GET", path, NULL, NULL, NULL);
	long st = r->status;
	reply_free(r);
	return st;
}

/* The token id of bearer `token` (GET /v1/me), or 0. */
static long long token_id(const char *token)
{
	struct reply *r = request(&srv, "GET", "/v1/me", token, NULL, NULL);
	long long id = json_integer_value(json_object_get(r->json, "token_id"));
	reply_free(r);
	return id;
}

/* Runs `sql` with up to three parameters on the test database; true when it succeeded. */
static bool sql(const char *q, const char *a, const char *b, const char *c)
{
	PGconn *db = PQconnectdb(getenv("TRANSOM_TEST_DATABASE_URL"));
	bool ok = false;
	if (PQstatus(db) == CONNECTION_OK) {
		const char *params[] = {a, b, c};
		int n = c ? 3 : b ? 2 : a ? 1 : 0;
		PGresult *r = PQexecParams(db, q, n, NULL, params, NULL, NULL, 0);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
		if (!ok)
			fprintf(stderr, "  sql: %s\n", PQerrorMessage(db));
		PQclear(r);
	}
	PQfinish(db);
	return ok;
}

/* The first column of the first row of `q` (one parameter `a`) into `out`; "" when none. */
static void sql_text(const char *q, const char *a, char *out, size_t len)
{
	PGconn *db = PQconnectdb(getenv("TRANSOM_TEST_DATABASE_URL"));
	out[0] = '\0';
	if (PQstatus(db) == CONNECTION_OK) {
		const char *params[] = {a};
		PGresult *r = PQexecParams(db, q, 1, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
			snprintf(out, len, "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	PQfinish(db);
}

/*
 * A signed vote link of `member` on a fresh change, written straight into the tables the
 * mailer fills (the link is a secret whose SHA-256 is kept): its path into `path`.
 */
static bool vote_link(const char *requester, const char *member, char *path, size_t len)
{
	char loc[128], token[80], hash[CRYPTO_SHA256_HEX_LEN];
	static int n;
	if (!create("/v1/changes", requester,
		    "{\"title\": \"link target\", \"type\": \"normal\","
		    " \"services\": [\"web-frontend\"], \"duration\": \"PT1H\","
		    " \"description\": \"d\", \"implementation_plan\": \"p\","
		    " \"rollback_plan\": \"switch the load balancer back to the blue pool\"}",
		    loc, sizeof loc))
		return false;
	const char *id = strrchr(loc, '/') + 1;
	snprintf(token, sizeof token, "v1.security-suite-link-%d-%s", ++n, member);
	crypto_sha256_hex(token, strlen(token), hash);
	bool ok = sql("INSERT INTO imip_events (change_id, uid, start_at, end_at)"
		      " VALUES ($1, $1 || '@security', now() + interval '1 day',"
		      " now() + interval '25 hours')",
		      id, NULL, NULL) &&
		  sql("INSERT INTO imip_vote_links (token_hash, change_id, member, sequence,"
		      " decision, expires_at) VALUES ($1, $2, $3, 0, 'approve',"
		      " now() + interval '1 day')",
		      hash, id, member);
	CHECK(ok);
	snprintf(path, len, "/v/%s", token);
	return ok;
}

/* ---- 1. an app password is not a bearer token ---------------------------------------------- */

static void test_bearer_basic_is_not_an_app_password(void)
{
	char tok[128], pw[64], enc[400], auth[420];
	snprintf(tok, sizeof tok, "%s", token_for("amartin", "cab,requester,admin"));
	if (!app_password(tok, pw))
		return;
	basic_of("amartin", pw, enc);
	/* A CalDAV login fills the (single) worker's memo with the Basic entry... */
	for (int i = 0; i < 3; i++)
		CHECK_INT(dav_status("amartin", pw), 207);
	/* ...which a bearer token spelled "basic:<base64>" must never hit. */
	snprintf(auth, sizeof auth, "Bearer basic:%s", enc);
	for (int i = 0; i < 3; i++) {
		struct reply *r = with_auth("GET", "/v1/me", auth, NULL);
		CHECKF(r->status == 401, "Bearer basic: on /v1/me: %ld %s", r->status, body_of(r));
		reply_free(r);
		r = with_auth("GET", "/v1/tokens", auth, NULL);
		CHECKF(r->status == 401, "Bearer basic: on /v1/tokens: %ld", r->status);
		reply_free(r);
	}
	/* The base64 alone as a bearer token: refused too. */
	snprintf(auth, sizeof auth, "Bearer %s", enc);
	struct reply *r = with_auth("GET", "/v1/me", auth, NULL);
	CHECKF(r->status == 401, "Bearer <base64>: %ld", r->status);
	reply_free(r);
	CHECK_INT(dav_status("amartin", pw), 207); /* the password still works where it belongs */
}

/* ---- 1. each credential on its own routes ---------------------------------------------------- */

static void test_credentials_keep_to_their_routes(void)
{
	char tok[128], pw[64], enc[400], auth[420];
	snprintf(tok, sizeof tok, "%s", token_for("bokafor", "cab"));
	if (!app_password(tok, pw))
		return;
	CHECK_INT(dav_status("bokafor", pw), 207);
	/* An app password over Basic on API routes: 401 asking for a bearer token. */
	basic_of("bokafor", pw, enc);
	snprintf(auth, sizeof auth, "Basic %s", enc);
	const char *api[] = {"/v1/me", "/v1/changes", "/v1/approvals/pending", "/v1/feeds"};
	for (size_t i = 0; i < sizeof api / sizeof api[0]; i++) {
		struct reply *r = with_auth("GET", api[i], auth, NULL);
		CHECKF(problem_is(r, 401, "Authorization"), "Basic on %s: %ld", api[i], r->status);
		reply_free(r);
	}
	/* A bearer token on DAV routes: 401 with a Basic challenge. */
	snprintf(auth, sizeof auth, "Bearer %s", tok);
	const char *dav[] = {"/dav/", "/dav/principals/bokafor/", "/dav/calendars/bokafor/",
			     "/dav/calendars/bokafor/cab-votes/"};
	for (size_t i = 0; i < sizeof dav / sizeof dav[0]; i++) {
		struct reply *r = with_auth("PROPFIND", dav[i], auth, "Depth: 0");
		const char *wa = reply_header(r, "WWW-Authenticate");
		CHECKF(r->status == 401 && wa != NULL && strncmp(wa, "Basic ", 6) == 0,
		       "Bearer on %s: %ld", dav[i], r->status);
		reply_free(r);
	}
	CHECK_INT(api_status(tok), 200);
}

/* ---- 2. disabling a user kills every credential at once ------------------------------------- */

static void test_disable_kills_every_credential(void)
{
	char tok[128], req[128], pw[64], feed[160], link[200];
	snprintf(tok, sizeof tok, "%s", token_for("cnguyen", "cab,requester"));
	snprintf(req, sizeof req, "%s", token_for("grossi", "requester"));
	if (!app_password(tok, pw) || !feed_path(tok, feed, sizeof feed) ||
	    !vote_link(req, "cnguyen", link, sizeof link))
		return;
	/* Everything works, and is remembered by the worker's memo. */
	for (int i = 0; i < 2; i++) {
		CHECK_INT(api_status(tok), 200);
		CHECK_INT(dav_status("cnguyen", pw), 207);
		CHECK_INT(get_status(feed), 200);
	}
	struct reply *r = request(&srv, "GET", link, NULL, NULL, NULL);
	CHECKF(r->status == 200 && strstr(body_of(r), "Confirm") != NULL, "link before: %ld",
	       r->status);
	reply_free(r);

	/* Only an admin may disable; nobody disables themselves; unknown users are 404. */
	r = post("/v1/users/cnguyen/disable", tok, NULL);
	CHECKF(r->status == 403, "non-admin disable: %ld", r->status);
	reply_free(r);
	r = post("/v1/users/admin/disable", admin, NULL);
	CHECKF(problem_is(r, 422, "name") && strcmp(reply_str(r, "rule"), "self") == 0,
	       "self disable: %ld %s", r->status, body_of(r));
	reply_free(r);
	r = post("/v1/users/nobody-here/disable", admin, NULL);
	CHECKF(problem_is(r, 404, "name"), "unknown user: %ld", r->status);
	reply_free(r);

	r = post("/v1/users/cnguyen/disable", admin, NULL);
	CHECKF(r->status == 200 && strcmp(reply_str(r, "state"), "disabled") == 0,
	       "disable: %ld %s", r->status, body_of(r));
	json_t *rev = json_object_get(r->json, "revoked");
	CHECK(json_integer_value(json_object_get(rev, "tokens")) >= 1);
	CHECK(json_integer_value(json_object_get(rev, "app_passwords")) == 1);
	CHECK(json_integer_value(json_object_get(rev, "feeds")) == 1);
	reply_free(r);

	/* At once, memo or not. */
	CHECK_INT(api_status(tok), 401);
	CHECK_INT(dav_status("cnguyen", pw), 401);
	CHECK_INT(get_status(feed), 404);
	r = request(&srv, "GET", link, NULL, NULL, NULL);
	CHECKF(r->status == 404, "link after: %ld", r->status);
	reply_free(r);
	r = request(&srv, "POST", link, NULL, "", NULL);
	CHECKF(r->status == 404, "link vote after: %ld", r->status);
	reply_free(r);

	/* Listed as disabled; a new token is refused while disabled. */
	r = request(&srv, "GET", "/v1/users", admin, NULL, NULL);
	bool listed = false;
	size_t i;
	json_t *u;
	json_array_foreach(json_object_get(r->json, "users"), i, u) {
		if (strcmp(json_string_value(json_object_get(u, "user")) ?: "", "cnguyen") == 0)
			listed = strcmp(json_string_value(json_object_get(u, "state")) ?: "",
					"disabled") == 0;
	}
	CHECKF(r->status == 200 && listed, "list: %ld %s", r->status, body_of(r));
	reply_free(r);
	r = post("/v1/tokens", admin, "{\"user\": \"cnguyen\", \"roles\": [\"cab\"]}");
	CHECKF(problem_is(r, 409, "user"), "token for a disabled user: %ld %s", r->status,
	       body_of(r));
	reply_free(r);

	/* Enabled again: the old credentials stay dead; a new token works. */
	r = post("/v1/users/cnguyen/enable", admin, NULL);
	CHECKF(r->status == 200 && strcmp(reply_str(r, "state"), "active") == 0, "enable: %ld",
	       r->status);
	reply_free(r);
	CHECK_INT(api_status(tok), 401);
	CHECK_INT(dav_status("cnguyen", pw), 401);
	CHECK_INT(get_status(feed), 404);
	char fresh[128];
	snprintf(fresh, sizeof fresh, "%s", token_for("cnguyen", "cab"));
	CHECK_INT(api_status(fresh), 200);
	/* DELETE /v1/users/{name} disables too. */
	r = request(&srv, "DELETE", "/v1/users/cnguyen", admin, NULL, NULL);
	CHECKF(r->status == 200, "DELETE user: %ld", r->status);
	reply_free(r);
	CHECK_INT(api_status(fresh), 401);
}

/* `transomd user disable` from another process: running servers forget at once (NOTIFY). */
static void test_cli_disable(void)
{
	char tok[128], pw[64];
	snprintf(tok, sizeof tok, "%s", token_for("dschmidt", "cab"));
	if (!app_password(tok, pw))
		return;
	CHECK_INT(api_status(tok), 200);
	CHECK_INT(dav_status("dschmidt", pw), 207);
	int status = -1;
	const char *args[] = {"user", "disable", "dschmidt", NULL};
	char *out = transomd_run(&status, args);
	CHECKF(status == 0 && out && strstr(out, "disabled dschmidt"), "cli: %d %s", status,
	       out ? out : "");
	free(out);
	/* The NOTIFY reaches the server within milliseconds; allow a second. */
	long a = 200, d = 207;
	for (int i = 0; i < 20 && (a != 401 || d != 401); i++) {
		usleep(50 * 1000);
		a = api_status(tok);
		d = dav_status("dschmidt", pw);
	}
	CHECKF(a == 401 && d == 401, "after the CLI disable: api %ld dav %ld", a, d);
	/* audited like the API's and SCIM's disable, by the account that ran the command */
	char ev[256];
	sql_text("SELECT action || ' ' || actor || ' ' || (content::jsonb #>> '{detail,via}')"
		 " FROM audit_events WHERE record_id IS NULL"
		 " AND content::jsonb #>> '{detail,user}' = $1 ORDER BY seq DESC LIMIT 1",
		 "dschmidt", ev, sizeof ev);
	CHECKF(strncmp(ev, "user.disabled cli:", 18) == 0 && strstr(ev, " cli") != NULL,
	       "the CLI's disable in the audit trail: '%s'", ev);
	const char *list[] = {"user", "list", NULL};
	out = transomd_run(&status, list);
	CHECKF(status == 0 && out && strstr(out, "dschmidt") && strstr(out, "disabled"),
	       "user list: %s", out ? out : "");
	free(out);
	const char *bad[] = {"user", "disable", "no-such-user", NULL};
	free(transomd_run(&status, bad));
	CHECK_INT(status, 1);
}

/* ---- 2. revoking a token revokes what it made --------------------------------------------- */

static void test_revoking_a_token_revokes_its_app_passwords_and_feeds(void)
{
	char t1[128], t2[128], pw1[64], pw2[64], feed1[160], feed2[160], path[64];
	snprintf(t1, sizeof t1, "%s", token_for("mpetrov", "cab"));
	snprintf(t2, sizeof t2, "%s", token_for("mpetrov", "cab"));
	if (!app_password(t1, pw1) || !app_password(t2, pw2) ||
	    !feed_path(t1, feed1, sizeof feed1) || !feed_path(t2, feed2, sizeof feed2))
		return;
	CHECK_INT(dav_status("mpetrov", pw1), 207);
	CHECK_INT(get_status(feed1), 200);
	snprintf(path, sizeof path, "/v1/tokens/%lld", token_id(t1));
	struct reply *r = request(&srv, "DELETE", path, admin, NULL, NULL);
	CHECKF(r->status == 204, "revoke: %ld %s", r->status, body_of(r));
	reply_free(r);
	CHECK_INT(api_status(t1), 401);
	CHECK_INT(dav_status("mpetrov", pw1), 401);
	CHECK_INT(get_status(feed1), 404);
	/* What the other token made lives on. */
	CHECK_INT(api_status(t2), 200);
	CHECK_INT(dav_status("mpetrov", pw2), 207);
	CHECK_INT(get_status(feed2), 200);
	/* The listing says so. */
	r = request(&srv, "GET", "/v1/me/app-passwords", t2, NULL, NULL);
	size_t revoked = 0, i;
	json_t *p;
	json_array_foreach(json_object_get(r->json, "app_passwords"), i, p)
		revoked += !json_is_null(json_object_get(p, "revoked_at"));
	CHECKF(r->status == 200 && revoked == 1, "list: %s", body_of(r));
	reply_free(r);
}

/* ---- 2. a token for someone policies/ do not know ------------------------------------------ */

static void test_token_for_unknown_person_warns(void)
{
	struct reply *r =
		post("/v1/tokens", admin, "{\"user\": \"ci-robot\", \"roles\": [\"pipeline\"]}");
	json_t *w = json_object_get(r->json, "warnings");
	CHECKF(r->status == 201 && json_array_size(w) == 1 &&
		       strstr(json_string_value(json_array_get(w, 0)) ?: "", "people.json"),
	       "unknown person: %ld %s", r->status, body_of(r));
	reply_free(r);
	r = post("/v1/tokens", admin, "{\"user\": \"hsato\", \"roles\": [\"cab\"]}");
	w = json_object_get(r->json, "warnings");
	CHECKF(r->status == 201 && json_is_array(w) && json_array_size(w) == 0,
	       "known person: %ld %s", r->status, body_of(r));
	reply_free(r);
}

/* ---- 10. /readyz ----------------------------------------------------------------------------- */

static void test_readyz_shows_strangers_no_error_text(void)
{
	char file[600], saved[700], cmd[2400];
	snprintf(file, sizeof file, "%s/people.json", policies);
	snprintf(saved, sizeof saved, "%s/people.json.good", policies);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s' && printf '{\"users\": [' > '%s'", file, saved,
		 file);
	CHECK(system(cmd) == 0);
	server_signal(&srv, SIGHUP);
	bool failed = false;
	for (int i = 0; i < 50 && !failed; i++) {
		usleep(100 * 1000);
		struct reply *r = request(&srv, "GET", "/readyz", admin, NULL, NULL);
		json_t *defs = json_object_get(json_object_get(r->json, "checks"), "definitions");
		failed = json_is_false(json_object_get(defs, "last_reload_ok"));
		if (failed) {
			const char *e = json_string_value(json_object_get(defs, "last_error"));
			CHECKF(e && strstr(e, "people.json"), "admin sees the error: %s",
			       e ? e : "(none)");
		}
		reply_free(r);
	}
	CHECK(failed);
	const char *who[] = {NULL, "Bearer nonsense", "Basic YWJjOmRlZg=="};
	for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
		struct reply *r = with_auth("GET", "/readyz", who[i], NULL);
		CHECKF(r->status == 200 && json_is_true(json_object_get(r->json, "ready")) &&
			       json_object_get(r->json, "checks") == NULL &&
			       strstr(body_of(r), "people.json") == NULL,
		       "anonymous: %ld %s", r->status, body_of(r));
		reply_free(r);
	}
	/* A non-admin token is a stranger here too. */
	char cab[128];
	snprintf(cab, sizeof cab, "%s", token_for("iobrien", "cab"));
	struct reply *r = request(&srv, "GET", "/readyz", cab, NULL, NULL);
	CHECKF(r->status == 200 && json_object_get(r->json, "checks") == NULL, "cab: %s",
	       body_of(r));
	reply_free(r);
	snprintf(cmd, sizeof cmd, "mv '%s' '%s'", saved, file);
	CHECK(system(cmd) == 0);
	server_signal(&srv, SIGHUP);
}

/* ---- 10. the GitHub webhook checks its signature before parsing ---------------------------- */

static struct reply *github(const char *body, const char *sig, const char *ctype)
{
	char sh[200], ch[100];
	const char *h[4] = {"X-GitHub-Event: ping", NULL, NULL, NULL};
	size_t n = 1;
	if (sig != NULL) {
		snprintf(sh, sizeof sh, "X-Hub-Signature-256: %s", sig);
		h[n++] = sh;
	}
	if (ctype != NULL) {
		snprintf(ch, sizeof ch, "Content-Type: %s", ctype);
		h[n++] = ch;
	}
	return request(&srv, "POST", "/integrations/github", NULL, body, h);
}

static void test_github_signature_before_parsing(void)
{
	char mac[CRYPTO_SHA256_HEX_LEN], sig[80];
	const char *bad = "sha256=0000000000000000000000000000000000000000000000000000000000000000";
	struct reply *r = github("{not json", bad, "application/json");
	CHECKF(problem_is(r, 401, "X-Hub-Signature-256"), "bad sig, malformed body: %ld %s",
	       r->status, body_of(r));
	reply_free(r);
	r = github("[1, 2", NULL, "application/json");
	CHECKF(problem_is(r, 401, "X-Hub-Signature-256"), "no sig, malformed body: %ld", r->status);
	reply_free(r);
	r = github("<xml/>", bad, "text/xml");
	CHECKF(problem_is(r, 401, "X-Hub-Signature-256"), "bad sig, wrong type: %ld", r->status);
	reply_free(r);
	/* Signed but malformed: now it is parsed, and refused as what it is. */
	const char *body = "{not json";
	CHECK(crypto_hmac_sha256_hex(GH_SECRET, strlen(GH_SECRET), body, strlen(body), mac));
	snprintf(sig, sizeof sig, "sha256=%s", mac);
	r = github(body, sig, "application/json");
	CHECKF(problem_is(r, 400, NULL), "signed, malformed: %ld %s", r->status, body_of(r));
	reply_free(r);
	/* Signed and well-formed: served. */
	body = "{\"zen\": \"Keep it logically awesome.\", \"hook_id\": 1}";
	CHECK(crypto_hmac_sha256_hex(GH_SECRET, strlen(GH_SECRET), body, strlen(body), mac));
	snprintf(sig, sizeof sig, "sha256=%s", mac);
	r = github(body, sig, "application/json");
	CHECKF(r->status == 200, "signed ping: %ld %s", r->status, body_of(r));
	reply_free(r);
}

static void setup(void)
{
	char cmd[1600];
	snprintf(policies, sizeof policies, "%s/security-policies",
		 getenv("TRANSOM_TEST_TMP") ?: "/tmp");
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s/policies' '%s'", policies,
		 getenv("TRANSOM_TEST_ROOT") ?: ".", policies);
	CHECK(system(cmd) == 0);
	snprintf(admin, sizeof admin, "%s", token_for("admin", "admin"));
	/* One worker thread: every request meets the same credential memo. */
	const char *env[] = {"TRANSOM_THREADS=1", "TRANSOM_GITHUB_WEBHOOK_SECRET=" GH_SECRET, NULL};
	if (admin[0] == '\0' || !server_start(&srv, NULL, policies, env)) {
		fprintf(stderr, "cannot start transomd\n");
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_bearer_basic_is_not_an_app_password, test_credentials_keep_to_their_routes,
      test_disable_kills_every_credential, test_cli_disable,
      test_revoking_a_token_revokes_its_app_passwords_and_feeds,
      test_token_for_unknown_person_warns, test_readyz_shows_strangers_no_error_text,
      test_github_signature_before_parsing)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	return rc;
}
