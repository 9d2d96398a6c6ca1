/*
 * test_web_session.c -- the web app's sign-in and its files, against the real transomd
 * (one worker thread, so every request meets the same credential memo):
 *   - sign in with a user name and app password: a session cookie (HttpOnly,
 *     SameSite=Strict, Path=/; Secure only behind TLS) and a CSRF token;
 *   - with the cookie, reads work; a write without the CSRF token, or with a wrong
 *     one, is 403 CSRF; with it, the write goes through;
 *   - wrong passwords, missing or unknown members are 401/422 naming the field;
 *   - signing out, disabling the user, or revoking the app password ends the session;
 *   - a one-time login link from `transomd user login-link` signs in once;
 *   - the cookie is not a credential on DAV routes;
 *   - GET / and /app/... answer the app's page (with a CSP); its versioned files are
 *     immutable, gzip'd on request and 304 on If-None-Match.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "lib_http.h"

static struct server srv;
static char admin[128];

static const char *body_of(const struct reply *r)
{
	return r->body ? r->body : "";
}

/* A request with up to two extra header lines (NULL: none). */
static struct reply *req2(const char *method, const char *path, const char *body, const char *h1,
			  const char *h2)
{
	const char *hs[3] = {h1, h1 ? h2 : NULL, NULL};
	return request(&srv, method, path, NULL, body, hs);
}

/* An app password of a new token for `user` with `roles` into `pw` (64 bytes). */
static bool app_password(const char *user, const char *roles, char *pw)
{
	char tok[128];
	snprintf(tok, sizeof tok, "%s", token_for(user, roles));
	struct reply *r = request(&srv, "POST", "/v1/me/app-passwords", tok, "{}", NULL);
	bool ok = r->status == 201 && *reply_str(r, "password") != '\0';
	CHECKF(ok, "app password: %ld %s", r->status, body_of(r));
	snprintf(pw, 64, "%s", ok ? reply_str(r, "password") : "");
	reply_free(r);
	return ok;
}

struct web {
	char cookie[160]; /* "Cookie: transom_session=..." */
	char csrf[128];   /* "X-CSRF-Token: ..." */
	long long app_password_id;
};

/* Signs in with `body`; fills `w` from Set-Cookie and the answer.  The status. */
static long sign_in(const char *body, struct web *w)
{
	struct reply *r = request(&srv, "POST", "/v1/session", NULL, body, NULL);
	long st = r->status;
	const char *sc = reply_header(r, "Set-Cookie");
	if (st == 201 && sc != NULL) {
		snprintf(w->cookie, sizeof w->cookie, "Cookie: %.*s", (int)strcspn(sc, ";"), sc);
		snprintf(w->csrf, sizeof w->csrf, "X-CSRF-Token: %s", reply_str(r, "csrf_token"));
	}
	reply_free(r);
	return st;
}

static long status_of(struct reply *r)
{
	long st = r->status;
	reply_free(r);
	return st;
}

static void test_sign_in_sets_a_strict_cookie(void)
{
	char pw[64], body[256];
	if (!app_password("bokafor", "cab,requester", pw))
		return;
	snprintf(body, sizeof body, "{\"user\": \"bokafor\", \"password\": \"%s\"}", pw);
	struct reply *r = request(&srv, "POST", "/v1/session", NULL, body, NULL);
	CHECKF(r->status == 201, "sign in: %ld %s", r->status, body_of(r));
	const char *sc = reply_header(r, "Set-Cookie");
	CHECKF(sc && strncmp(sc, "transom_session=tws_", 20) == 0 && strstr(sc, "HttpOnly") &&
		       strstr(sc, "SameSite=Strict") && strstr(sc, "Path=/") &&
		       !strstr(sc, "Secure"),
	       "Set-Cookie: %s", sc ? sc : "(none)");
	CHECK_STR(reply_str(r, "user"), "bokafor");
	CHECK(strlen(reply_str(r, "csrf_token")) == 64);
	CHECK_STR(reply_header(r, "Cache-Control"), "no-store");
	reply_free(r);
	/* Behind a TLS proxy the cookie is Secure. */
	r = req2("POST", "/v1/session", body, "X-Forwarded-Proto: https", NULL);
	sc = reply_header(r, "Set-Cookie");
	CHECKF(r->status == 201 && sc && strstr(sc, "; Secure"), "behind TLS: %s",
	       sc ? sc : "(none)");
	reply_free(r);
	/* The e-mail address names the person too. */
	snprintf(body, sizeof body, "{\"user\": \"bola.okafor@example.com\", \"password\": \"%s\"}",
		 pw);
	struct web w;
	CHECK_INT(sign_in(body, &w), 201);
	r = req2("GET", "/v1/me", NULL, w.cookie, NULL);
	CHECKF(r->status == 200 && strcmp(reply_str(r, "user"), "bokafor") == 0, "me: %ld %s",
	       r->status, body_of(r));
	reply_free(r);
	r = req2("GET", "/v1/session", NULL, w.cookie, NULL);
	CHECKF(r->status == 200 && strcmp(reply_str(r, "credential"), "session") == 0 &&
		       strcmp(reply_str(r, "csrf_token"), w.csrf + 14) == 0,
	       "session: %ld %s", r->status, body_of(r));
	reply_free(r);
}

static void test_sign_in_refusals_name_the_field(void)
{
	char pw[64];
	if (!app_password("grossi", "requester", pw))
		return;
	struct {
		const char *body;
		long status;
		const char *field;
	} cases[] = {
		{"{\"user\": \"grossi\", \"password\": \"tap_wrong\"}", 401, "password"},
		{"{\"user\": \"nobody\", \"password\": \"tap_wrong\"}", 401, "password"},
		{"{\"password\": \"x\"}", 422, "user"},
		{"{\"user\": \"grossi\"}", 422, "password"},
		{"{\"user\": 7, \"password\": \"x\"}", 422, "user"},
		{"{\"user\": \"grossi\", \"password\": \"x\", \"remember\": true}", 422,
		 "remember"},
		{"{\"link\": \"tll_not-a-link\"}", 401, "link"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct reply *r = request(&srv, "POST", "/v1/session", NULL, cases[i].body, NULL);
		CHECKF(r->status == cases[i].status &&
			       strcmp(reply_str(r, "field"), cases[i].field) == 0 &&
			       reply_header(r, "Set-Cookie") == NULL,
		       "%s: %ld %s", cases[i].body, r->status, body_of(r));
		reply_free(r);
	}
	struct reply *r = req2("POST", "/v1/session", "user=grossi",
			       "Content-Type: application/x-www-form-urlencoded", NULL);
	CHECKF(r->status == 415, "a form post: %ld", r->status);
	reply_free(r);
}

static void test_writes_need_the_csrf_token(void)
{
	char pw[64], body[256];
	struct web w;
	if (!app_password("cnguyen", "requester", pw))
		return;
	snprintf(body, sizeof body, "{\"user\": \"cnguyen\", \"password\": \"%s\"}", pw);
	CHECK_INT(sign_in(body, &w), 201);
	const char *change = "{\"type\": \"standard\", \"title\": \"csrf probe\"}";
	struct reply *r = req2("POST", "/v1/changes", change, w.cookie, NULL);
	CHECKF(r->status == 403 && strcmp(reply_str(r, "code"), "CSRF") == 0 &&
		       strcmp(reply_str(r, "field"), "X-CSRF-Token") == 0,
	       "no token: %ld %s", r->status, body_of(r));
	reply_free(r);
	r = req2("POST", "/v1/changes", change, w.cookie,
		 "X-CSRF-Token: 0000000000000000000000000000000000000000000000000000000000000000");
	CHECKF(r->status == 403 && strcmp(reply_str(r, "code"), "CSRF") == 0, "wrong token: %ld %s",
	       r->status, body_of(r));
	reply_free(r);
	r = req2("POST", "/v1/changes", change, w.cookie, w.csrf);
	CHECKF(r->status != 403 && r->status != 401 && r->status < 500, "with the token: %ld %s",
	       r->status, body_of(r));
	reply_free(r);
	/* Reads need no token; a token of another session does not fit this one. */
	CHECK_INT(status_of(req2("GET", "/v1/changes", NULL, w.cookie, NULL)), 200);
	struct web other;
	CHECK_INT(sign_in(body, &other), 201);
	CHECK_INT(status_of(req2("POST", "/v1/changes", change, w.cookie, other.csrf)), 403);
}

static void test_sign_out_ends_the_session(void)
{
	char pw[64], body[256];
	struct web w;
	if (!app_password("fdiallo", "requester", pw))
		return;
	snprintf(body, sizeof body, "{\"user\": \"fdiallo\", \"password\": \"%s\"}", pw);
	CHECK_INT(sign_in(body, &w), 201);
	CHECK_INT(status_of(req2("DELETE", "/v1/session", NULL, w.cookie, NULL)), 403);
	struct reply *r = req2("DELETE", "/v1/session", NULL, w.cookie, w.csrf);
	const char *sc = reply_header(r, "Set-Cookie");
	CHECKF(r->status == 204 && sc && strstr(sc, "Max-Age=0"), "sign out: %ld %s", r->status,
	       sc ? sc : "(no cookie)");
	reply_free(r);
	r = req2("GET", "/v1/me", NULL, w.cookie, NULL);
	CHECKF(r->status == 401 && strcmp(reply_str(r, "field"), "Cookie") == 0,
	       "after sign out: %ld %s", r->status, body_of(r));
	reply_free(r);
	/* A made-up cookie is no session either. */
	CHECK_INT(
		status_of(req2("GET", "/v1/me", NULL, "Cookie: transom_session=tws_forged", NULL)),
		401);
}

static void test_disable_and_revoke_end_sessions(void)
{
	char pw[64], body[256];
	struct web w;
	if (!app_password("hsato", "requester", pw))
		return;
	snprintf(body, sizeof body, "{\"user\": \"hsato\", \"password\": \"%s\"}", pw);
	CHECK_INT(sign_in(body, &w), 201);
	CHECK_INT(status_of(req2("GET", "/v1/me", NULL, w.cookie, NULL)), 200);
	struct reply *r = request(&srv, "POST", "/v1/users/hsato/disable", admin, NULL, NULL);
	json_t *n = json_object_get(json_object_get(r->json, "revoked"), "sessions");
	CHECKF(r->status == 200 && json_integer_value(n) == 1, "disable: %ld %s", r->status,
	       body_of(r));
	reply_free(r);
	CHECK_INT(status_of(req2("GET", "/v1/me", NULL, w.cookie, NULL)), 401);
	CHECK_INT(sign_in(body, &w), 401);

	/* Revoking the app password signed in with ends the session too. */
	char tok[128];
	snprintf(tok, sizeof tok, "%s", token_for("iobrien", "requester"));
	r = request(&srv, "POST", "/v1/me/app-passwords", tok, "{}", NULL);
	long long id = json_integer_value(json_object_get(r->json, "id"));
	snprintf(body, sizeof body, "{\"user\": \"iobrien\", \"password\": \"%s\"}",
		 reply_str(r, "password"));
	reply_free(r);
	CHECK_INT(sign_in(body, &w), 201);
	CHECK_INT(status_of(req2("GET", "/v1/me", NULL, w.cookie, NULL)), 200);
	char path[64];
	snprintf(path, sizeof path, "/v1/me/app-passwords/%lld", id);
	CHECK_INT(status_of(request(&srv, "DELETE", path, tok, NULL, NULL)), 204);
	CHECK_INT(status_of(req2("GET", "/v1/me", NULL, w.cookie, NULL)), 401);
}

static void test_login_link_signs_in_once(void)
{
	int status = -1;
	const char *args[] = {"user", "login-link", "jlarsen", "--role", "requester,cab", NULL};
	char *out = transomd_run(&status, args);
	const char *t = out ? strstr(out, "#link=") : NULL;
	CHECKF(status == 0 && t != NULL, "login-link: %d %s", status, out ? out : "");
	if (t == NULL) {
		free(out);
		return;
	}
	char body[200];
	snprintf(body, sizeof body, "{\"link\": \"%.*s\"}", (int)strcspn(t + 6, "\n"), t + 6);
	free(out);
	struct web w;
	CHECK_INT(sign_in(body, &w), 201);
	struct reply *r = req2("GET", "/v1/me", NULL, w.cookie, NULL);
	json_t *roles = json_object_get(r->json, "roles");
	CHECKF(r->status == 200 && json_array_size(roles) == 2, "me by link: %ld %s", r->status,
	       body_of(r));
	reply_free(r);
	CHECK_INT(sign_in(body, &w), 401); /* once */
	const char *bad[] = {"user", "login-link", "jlarsen", "--role", "wizard", NULL};
	free(transomd_run(&status, bad));
	CHECK_INT(status, 1);
}

static void test_cookie_is_not_a_dav_credential(void)
{
	char pw[64], body[256];
	struct web w;
	if (!app_password("lgarcia", "cab", pw))
		return;
	snprintf(body, sizeof body, "{\"user\": \"lgarcia\", \"password\": \"%s\"}", pw);
	CHECK_INT(sign_in(body, &w), 201);
	CHECK_INT(status_of(req2("PROPFIND", "/dav/", NULL, w.cookie, "Depth: 0")), 401);
}

/* Whether header `name` of `r` contains `part` (reply_header's buffer is shared). */
static bool has(const struct reply *r, const char *name, const char *part)
{
	const char *v = reply_header(r, name);
	return v != NULL && strstr(v, part) != NULL;
}

/* The asset version index.html names ("/assets/VERSION/app.js") into `v`. */
static bool page_version(const char *html, char v[32])
{
	const char *p = html ? strstr(html, "/assets/") : NULL;
	if (p == NULL)
		return false;
	p += 8;
	size_t n = strcspn(p, "/");
	if (n == 0 || n >= 32)
		return false;
	memcpy(v, p, n);
	v[n] = '\0';
	return strcmp(v, "{{VERSION}}") != 0;
}

static void test_the_app_is_served(void)
{
	struct reply *r = request(&srv, "GET", "/", NULL, NULL, NULL);
	char v[32] = "";
	CHECKF(r->status == 200 && has(r, "Content-Type", "text/html") &&
		       has(r, "Content-Security-Policy", "default-src 'self'") &&
		       has(r, "Content-Security-Policy", "frame-ancestors 'none'") &&
		       page_version(r->body, v),
	       "GET /: %ld %s", r->status, r->headers);
	CHECK_STR(reply_header(r, "Cache-Control"), "no-cache");
	reply_free(r);
	r = request(&srv, "GET", "/app/changes/CHG-1", NULL, NULL, NULL);
	CHECKF(r->status == 200 && r->body && strstr(r->body, "/assets/"), "deep link: %ld",
	       r->status);
	reply_free(r);

	char path[96];
	snprintf(path, sizeof path, "/assets/%s/app.js", v);
	r = request(&srv, "GET", path, NULL, NULL, NULL);
	char etag[80];
	snprintf(etag, sizeof etag, "If-None-Match: %s", reply_header(r, "ETag") ?: "");
	CHECKF(r->status == 200 && has(r, "Cache-Control", "immutable") &&
		       has(r, "Content-Type", "text/javascript") &&
		       reply_header(r, "Content-Encoding") == NULL,
	       "app.js: %ld %s", r->status, r->headers);
	size_t plain = r->len;
	reply_free(r);
	r = req2("GET", path, NULL, "Accept-Encoding: gzip, deflate", NULL);
	CHECKF(r->status == 200 && has(r, "Content-Encoding", "gzip") && r->len < plain,
	       "gzip'd app.js: %ld %zu of %zu bytes", r->status, r->len, plain);
	reply_free(r);
	CHECK_INT(status_of(req2("GET", path, NULL, etag, NULL)), 304);
	snprintf(path, sizeof path, "/assets/%s/lib/api.js", v);
	CHECK_INT(status_of(request(&srv, "GET", path, NULL, NULL, NULL)), 200);
	/* Another version's name: this version's file, not cached. */
	r = request(&srv, "GET", "/assets/0123456789abcdef/app.js", NULL, NULL, NULL);
	CHECKF(r->status == 200 && has(r, "Cache-Control", "no-cache"), "old version: %ld",
	       r->status);
	reply_free(r);
	snprintf(path, sizeof path, "/assets/%s/nope.js", v);
	CHECK_INT(status_of(request(&srv, "GET", path, NULL, NULL, NULL)), 404);
	snprintf(path, sizeof path, "/assets/%s/index.html", v);
	CHECK_INT(status_of(request(&srv, "GET", path, NULL, NULL, NULL)), 404);
	snprintf(path, sizeof path, "/assets/%s/..%%2fMakefile", v);
	CHECK_INT(status_of(request(&srv, "GET", path, NULL, NULL, NULL)), 404);
}

static void setup(void)
{
	snprintf(admin, sizeof admin, "%s", token_for("admin", "admin"));
	const char *env[] = {"TRANSOM_THREADS=1", NULL};
	if (admin[0] == '\0' || !server_start(&srv, NULL, NULL, env)) {
		fprintf(stderr, "cannot start transomd\n");
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_sign_in_sets_a_strict_cookie, test_sign_in_refusals_name_the_field,
      test_writes_need_the_csrf_token, test_sign_out_ends_the_session,
      test_disable_and_revoke_end_sessions, test_login_link_signs_in_once,
      test_cookie_is_not_a_dav_credential, test_the_app_is_served)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	return rc;
}
