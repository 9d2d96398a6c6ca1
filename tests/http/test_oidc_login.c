/*
 * test_oidc_login.c -- signing in to the web app through a real OpenID Provider:
 * oidc-provider (npm, tests/oidc/op.mjs) with a confidential client (PKCE required) and
 * people with groups; transomd trusts it as TRANSOM_OIDC_ISSUER with that client.  A
 * libcurl "browser" (cookie jar, redirects followed by hand, the provider's login form
 * posted) goes through the Authorization Code flow:
 *   - it lands on the page it asked for with the session cookie, and GET /v1/session says
 *     who it is, with the roles policies/identity.json's sign_in maps its groups to;
 *   - a missing, wrong or reused state is 400 OIDC_STATE; a replayed code 401 OIDC_CODE;
 *     an ID token with a wrong nonce, audience or issuer, expired or tampered with is 401
 *     OIDC_ID_TOKEN naming what is wrong;
 *   - group changes at the provider take effect at the next sign-in;
 *   - disabling the user ends the session at once and refuses the next sign-in;
 *   - back-channel logout tokens are checked (events, nonce, aud) and end the session;
 *   - GET /oidc/logout ends the session and sends the browser to the provider's
 *     end_session_endpoint with id_token_hint;
 *   - GET /v1/session/providers offers the provider;
 *   - with identity.json's sign_in.group_source "claims", a CAB member removed from the
 *     provider's cab group has their next vote refused (403 NOT_A_MEMBER);
 *   - tokens.unknown_user "refuse": POST /v1/tokens for a user nobody knows is 422;
 *   - after the provider rotates its key, sign-in still works (new kid).
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "lib_http.h"

static struct server srv;
#include "record_steps.h"
static struct server op; /* only base is used */
static char policies[512];
static pid_t op_pid = -1;

/* The shipped policies, and a sign-in mapping of the provider's groups. */
static void make_policies(void)
{
	CHECK(policies_copy("oidc-login-policies", policies, sizeof policies));
	write_file_in(
		policies, "identity.json",
		"{\"rules\": [],\n"
		" \"sign_in\": {\"user_claim\": \"preferred_username\","
		" \"default_roles\": [\"requester\"],\n"
		"  \"rules\": [{\"match\": {\"groups\": \"transom-cab\"}, \"roles\": [\"cab\"]},\n"
		"   {\"match\": {\"groups\": \"transom-admins\"}, \"roles\": [\"admin\"]}],\n"
		"  \"groups\": [{\"match\": {\"groups\": \"transom-cab\"}, \"group\": \"cab\"}],\n"
		"  \"group_source\": \"claims\"},\n"
		" \"tokens\": {\"unknown_user\": \"refuse\"}}\n");
}

/* ---- a small browser: one cookie jar, redirects followed by hand ------------------------ */

struct browser {
	CURL *c;
};

struct page {
	long status;
	char location[4096];   /* absolute */
	char set_cookie[2048]; /* every Set-Cookie line, joined by '\n' */
	char *body;
	size_t len;
};

static size_t on_body(char *p, size_t sz, size_t n, void *cls)
{
	struct page *pg = cls;
	char *b = realloc(pg->body, pg->len + sz * n + 1);
	if (b == NULL)
		return 0;
	memcpy(b + pg->len, p, sz * n);
	pg->len += sz * n;
	b[pg->len] = '\0';
	pg->body = b;
	return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *cls)
{
	struct page *pg = cls;
	size_t len = sz * n;
	char line[4096];
	snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
	line[strcspn(line, "\r\n")] = '\0';
	if (strncasecmp(line, "Location: ", 10) == 0)
		snprintf(pg->location, sizeof pg->location, "%s", line + 10);
	if (strncasecmp(line, "Set-Cookie: ", 12) == 0) {
		size_t u = strlen(pg->set_cookie);
		snprintf(pg->set_cookie + u, sizeof pg->set_cookie - u, "%s\n", line + 12);
	}
	return len;
}

static void browser_open(struct browser *b)
{
	b->c = curl_easy_init();
	curl_easy_setopt(b->c, CURLOPT_COOKIEFILE, ""); /* the in-memory jar */
	curl_easy_setopt(b->c, CURLOPT_TIMEOUT, 30L);
}

static void browser_close(struct browser *b)
{
	curl_easy_cleanup(b->c);
	b->c = NULL;
}

static void page_free(struct page *pg)
{
	free(pg->body);
	memset(pg, 0, sizeof *pg);
}

/* GET (form NULL) or POST `form` to `url`; `extra` one more header line (may be NULL). */
static void go(struct browser *b, const char *url, const char *form, const char *extra,
	       struct page *pg)
{
	memset(pg, 0, sizeof *pg);
	struct curl_slist *h = extra ? curl_slist_append(NULL, extra) : NULL;
	curl_easy_setopt(b->c, CURLOPT_URL, url);
	curl_easy_setopt(b->c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(b->c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(b->c, CURLOPT_WRITEDATA, pg);
	curl_easy_setopt(b->c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(b->c, CURLOPT_HEADERDATA, pg);
	if (form != NULL)
		curl_easy_setopt(b->c, CURLOPT_POSTFIELDS, form);
	else
		curl_easy_setopt(b->c, CURLOPT_HTTPGET, 1L);
	CURLcode rc = curl_easy_perform(b->c);
	CHECKF(rc == CURLE_OK, "%s: %s", url, curl_easy_strerror(rc));
	curl_easy_getinfo(b->c, CURLINFO_RESPONSE_CODE, &pg->status);
	curl_slist_free_all(h);
	if (pg->location[0] == '/') { /* make it absolute: the origin of `url` */
		const char *p = strstr(url, "://");
		size_t n = p ? (size_t)(p + 3 - url) + strcspn(p + 3, "/") : 0;
		size_t l = strlen(pg->location);
		if (n + l < sizeof pg->location) {
			memmove(pg->location + n, pg->location, l + 1);
			memcpy(pg->location, url, n);
		}
	}
}

/* A query parameter of `url` into `out`. */
static void param(const char *url, const char *name, char *out, size_t outlen)
{
	char key[64];
	snprintf(key, sizeof key, "%s=", name);
	const char *p = strstr(url, key);
	out[0] = '\0';
	if (p != NULL && (p[-1] == '?' || p[-1] == '&'))
		snprintf(out, outlen, "%.*s", (int)strcspn(p + strlen(key), "&"), p + strlen(key));
}

/*
 * Starts a sign-in at transomd landing on `ret`, signs in at the provider as `user` when
 * it asks, and stops before transomd's callback: its URL into `callback`.
 */
static bool to_callback(struct browser *b, const char *user, const char *ret, char *callback,
			size_t cblen)
{
	char url[4096];
	struct page pg;
	snprintf(url, sizeof url, "%s/oidc/login?return=%s", srv.base, ret);
	go(b, url, NULL, NULL, &pg);
	CHECKF(pg.status == 302 && strstr(pg.set_cookie, "transom_oidc=") != NULL, "login: %ld %s",
	       pg.status, pg.body ? pg.body : "");
	CHECK(strstr(pg.set_cookie, "SameSite=Lax") != NULL &&
	      strstr(pg.set_cookie, "HttpOnly") != NULL);
	CHECK(strstr(pg.location, "code_challenge_method=S256") != NULL &&
	      strstr(pg.location, "nonce=") != NULL && strstr(pg.location, "state=") != NULL);
	for (int hops = 0; hops < 10; hops++) {
		snprintf(url, sizeof url, "%s", pg.location);
		page_free(&pg);
		if (strncmp(url, srv.base, strlen(srv.base)) == 0) {
			snprintf(callback, cblen, "%s", url);
			return true;
		}
		if (strstr(url, "/interaction/") != NULL) {
			go(b, url, NULL, NULL, &pg); /* the login form */
			CHECKF(pg.status == 200, "interaction: %ld", pg.status);
			page_free(&pg);
			char form[256];
			snprintf(form, sizeof form, "prompt=login&login=%s&password=any", user);
			go(b, url, form, NULL, &pg);
		} else {
			go(b, url, NULL, NULL, &pg);
		}
		if (pg.status != 302 && pg.status != 303) {
			CHECKF(0, "provider: %s: %ld %s", url, pg.status, pg.body ? pg.body : "");
			page_free(&pg);
			return false;
		}
	}
	page_free(&pg);
	return false;
}

/* The whole sign-in as `user`: the callback's page in `pg`. */
static void sign_in(struct browser *b, const char *user, struct page *pg)
{
	char cb[4096];
	memset(pg, 0, sizeof *pg);
	if (to_callback(b, user, "/app/changes", cb, sizeof cb))
		go(b, cb, NULL, NULL, pg);
}

/* GET /v1/session with the browser's jar. */
static json_t *whoami(struct browser *b, long *status)
{
	char url[256];
	struct page pg;
	snprintf(url, sizeof url, "%s/v1/session", srv.base);
	go(b, url, NULL, NULL, &pg);
	*status = pg.status;
	json_t *j = pg.body ? json_loads(pg.body, 0, NULL) : NULL;
	page_free(&pg);
	return j;
}

static bool has_role(json_t *who, const char *role)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(who, "roles"), i, v) {
		if (strcmp(json_string_value(v), role) == 0)
			return true;
	}
	return false;
}

static const char *jstr(json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k)) ?: "";
}

static void op_post(const char *path)
{
	struct reply *r = request(&op, "POST", path, NULL, "", NULL);
	CHECKF(r->status == 200, "%s: %ld", path, r->status);
	reply_free(r);
}

/* ---- the tests --------------------------------------------------------------------------- */

static void test_providers_offered(void)
{
	struct reply *r = request(&srv, "GET", "/v1/session/providers", NULL, NULL, NULL);
	CHECKF(r->status == 200, "%ld", r->status);
	json_t *o = json_object_get(r->json, "oidc");
	CHECK_STR(jstr(o, "name"), "Test IdP");
	CHECK_STR(jstr(o, "login_url"), "/oidc/login");
	CHECK(json_is_true(json_object_get(r->json, "password")));
	reply_free(r);
}

static void test_sign_in_lands_with_roles_from_groups(void)
{
	struct browser b;
	struct page pg;
	browser_open(&b);
	char cb[4096];
	CHECK(to_callback(&b, "alice", "/app/changes", cb, sizeof cb));
	go(&b, cb, NULL, NULL, &pg);
	CHECKF(pg.status == 302, "callback: %ld %s", pg.status, pg.body ? pg.body : "");
	CHECKF(strcmp(pg.location, "/app/changes") == 0 ||
		       strstr(pg.location, "/app/changes") != NULL,
	       "lands on %s", pg.location);
	CHECK(strstr(pg.set_cookie, "transom_session=tws_") != NULL);
	CHECK(strstr(pg.set_cookie, "HttpOnly; SameSite=Strict") != NULL);
	CHECK(strstr(pg.set_cookie, "transom_oidc=;") != NULL); /* the login cookie is spent */
	page_free(&pg);
	long st;
	json_t *who = whoami(&b, &st);
	CHECKF(st == 200, "session: %ld", st);
	CHECK_STR(jstr(who, "user"), "alice");
	CHECK_STR(jstr(who, "email"), "alice@example.org");
	CHECK_STR(jstr(who, "display_name"), "Alice Martin");
	CHECK(has_role(who, "cab") && has_role(who, "requester") && !has_role(who, "admin"));
	CHECK(jstr(who, "csrf_token")[0] != '\0');
	json_decref(who);

	/* the same callback again, even with the old login cookie: the state is used */
	char state[128], cookie[256];
	param(cb, "state", state, sizeof state);
	snprintf(cookie, sizeof cookie, "Cookie: transom_oidc=%s", state);
	struct browser other;
	browser_open(&other);
	go(&other, cb, NULL, cookie, &pg);
	CHECKF(pg.status == 400, "replayed state: %ld", pg.status);
	CHECK(pg.body && strstr(pg.body, "\"OIDC_STATE\"") && strstr(pg.body, "used already"));
	CHECK(strstr(pg.body, "\"field\": \"state\"") || strstr(pg.body, "\"field\":\"state\""));
	page_free(&pg);
	browser_close(&other);
	browser_close(&b);
}

static void test_wrong_or_missing_state_refused(void)
{
	struct browser b;
	struct page pg;
	char cb[4096], bad[4096], state[128];
	browser_open(&b);
	CHECK(to_callback(&b, "alice", "/app/", cb, sizeof cb));
	param(cb, "state", state, sizeof state);
	/* another state than the browser's cookie */
	snprintf(bad, sizeof bad, "%s", cb);
	char *p = strstr(bad, state);
	CHECK(p != NULL);
	if (p != NULL)
		*p = *p == 'A' ? 'B' : 'A';
	go(&b, bad, NULL, NULL, &pg);
	CHECKF(pg.status == 400 && pg.body && strstr(pg.body, "\"OIDC_STATE\""), "wrong: %ld",
	       pg.status);
	page_free(&pg);
	/* no state at all */
	char url[256];
	snprintf(url, sizeof url, "%s/oidc/callback?code=abc", srv.base);
	go(&b, url, NULL, NULL, &pg);
	CHECKF(pg.status == 400 && pg.body && strstr(pg.body, "\"OIDC_STATE\""), "missing: %ld",
	       pg.status);
	page_free(&pg);
	/* the right state without the browser's cookie (another browser) */
	struct browser other;
	browser_open(&other);
	go(&other, cb, NULL, NULL, &pg);
	CHECKF(pg.status == 400 && pg.body && strstr(pg.body, "cookie"), "no cookie: %ld",
	       pg.status);
	page_free(&pg);
	browser_close(&other);
	browser_close(&b);
}

/* The provider said no (the person cancelled): 401 OIDC_CODE, and the state is spent. */
static void test_provider_error_refused(void)
{
	struct browser b;
	struct page pg;
	char cb[4096], state[128], url[512];
	browser_open(&b);
	CHECK(to_callback(&b, "alice", "/app/", cb, sizeof cb));
	param(cb, "state", state, sizeof state);
	snprintf(url, sizeof url, "%s/oidc/callback?state=%s&error=access_denied", srv.base, state);
	go(&b, url, NULL, NULL, &pg);
	CHECKF(pg.status == 401 && pg.body && strstr(pg.body, "\"OIDC_CODE\"") &&
		       strstr(pg.body, "access_denied"),
	       "error: %ld %s", pg.status, pg.body ? pg.body : "");
	page_free(&pg);
	go(&b, cb, NULL, NULL, &pg); /* the real code, too late: the state was taken */
	CHECKF(pg.status == 400, "after the error: %ld", pg.status);
	page_free(&pg);
	browser_close(&b);
}

static void test_replayed_code_refused(void)
{
	struct browser b;
	struct page pg;
	char cb1[4096], cb2[4096], code[512], state2[128], url[8192];
	browser_open(&b);
	CHECK(to_callback(&b, "alice", "/app/", cb1, sizeof cb1));
	go(&b, cb1, NULL, NULL, &pg);
	CHECKF(pg.status == 302, "first: %ld", pg.status);
	page_free(&pg);
	param(cb1, "code", code, sizeof code);
	/* a new sign-in of this browser, answered with the code already used */
	CHECK(to_callback(&b, "alice", "/app/", cb2, sizeof cb2));
	param(cb2, "state", state2, sizeof state2);
	snprintf(url, sizeof url, "%s/oidc/callback?code=%s&state=%s", srv.base, code, state2);
	go(&b, url, NULL, NULL, &pg);
	CHECKF(pg.status == 401 && pg.body && strstr(pg.body, "\"OIDC_CODE\""), "replay: %ld %s",
	       pg.status, pg.body ? pg.body : "");
	CHECK(strstr(pg.set_cookie, "transom_session=tws_") == NULL);
	page_free(&pg);
	browser_close(&b);
}

static void spoiled(const char *kind, const char *says)
{
	char path[128];
	snprintf(path, sizeof path, "/test/id-token?kind=%s", kind);
	op_post(path);
	struct browser b;
	struct page pg;
	browser_open(&b);
	sign_in(&b, "bob", &pg);
	CHECKF(pg.status == 401 && pg.body && strstr(pg.body, "\"OIDC_ID_TOKEN\""), "%s: %ld %s",
	       kind, pg.status, pg.body ? pg.body : "");
	CHECKF(pg.body && strstr(pg.body, says) != NULL, "%s: %s", kind, pg.body ? pg.body : "");
	CHECK(strstr(pg.set_cookie, "transom_session=tws_") == NULL);
	page_free(&pg);
	long st;
	json_decref(whoami(&b, &st));
	CHECKF(st == 401, "%s: session %ld", kind, st);
	browser_close(&b);
}

static void test_bad_id_tokens_refused(void)
{
	spoiled("wrongnonce", "nonce");
	spoiled("wrongaud", "audience");
	spoiled("wrongiss", "issuer");
	spoiled("expired", "expired");
	spoiled("tampered", "signature");
}

static void test_group_changes_apply_at_next_sign_in(void)
{
	struct browser b;
	struct page pg;
	long st;
	browser_open(&b);
	sign_in(&b, "bob", &pg);
	CHECKF(pg.status == 302, "bob: %ld %s", pg.status, pg.body ? pg.body : "");
	page_free(&pg);
	json_t *who = whoami(&b, &st);
	CHECK(has_role(who, "requester") && !has_role(who, "cab"));
	json_decref(who);
	browser_close(&b);

	op_post("/test/groups?user=bob&groups=transom-cab,transom-admins");
	browser_open(&b);
	sign_in(&b, "bob", &pg);
	page_free(&pg);
	who = whoami(&b, &st);
	CHECK(has_role(who, "cab") && has_role(who, "admin"));
	json_decref(who);
	browser_close(&b);

	op_post("/test/groups?user=bob&groups=");
	browser_open(&b);
	sign_in(&b, "bob", &pg);
	page_free(&pg);
	who = whoami(&b, &st);
	CHECK(!has_role(who, "cab") && !has_role(who, "admin") && has_role(who, "requester"));
	json_decref(who);
	browser_close(&b);
}

static void test_disabled_user_loses_the_session_at_once(void)
{
	char admin[128];
	snprintf(admin, sizeof admin, "%s", token_for("root", "admin"));
	struct browser b;
	struct page pg;
	long st;
	browser_open(&b);
	sign_in(&b, "carol", &pg);
	CHECKF(pg.status == 302, "carol: %ld", pg.status);
	page_free(&pg);
	json_decref(whoami(&b, &st));
	CHECK(st == 200);
	struct reply *r = request(&srv, "POST", "/v1/users/carol/disable", admin, NULL, NULL);
	CHECKF(r->status == 200, "%ld %s", r->status, r->body);
	reply_free(r);
	json_decref(whoami(&b, &st));
	CHECKF(st == 401, "disabled: %ld", st);
	browser_close(&b);
	/* and the provider cannot sign them in again */
	browser_open(&b);
	sign_in(&b, "carol", &pg);
	CHECKF(pg.status == 403 && pg.body && strstr(pg.body, "USER_DISABLED"), "again: %ld %s",
	       pg.status, pg.body ? pg.body : "");
	page_free(&pg);
	browser_close(&b);
	r = request(&srv, "POST", "/v1/users/carol/enable", admin, NULL, NULL);
	CHECK(r->status == 200);
	reply_free(r);
}

static long backchannel(const char *kind)
{
	char path[128], form[8192];
	snprintf(path, sizeof path, "/test/logout-token?kind=%s", kind);
	struct reply *r = request(&op, "GET", path, NULL, NULL, NULL);
	CHECK(r->status == 200 && r->body != NULL);
	snprintf(form, sizeof form, "logout_token=%s", r->body ? r->body : "");
	reply_free(r);
	const char *h[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	r = request(&srv, "POST", "/oidc/backchannel-logout", NULL, form, h);
	long st = r->status;
	if (st == 400)
		CHECKF(strcmp(reply_str(r, "code"), "LOGOUT_TOKEN") == 0, "%s: %s", kind,
		       reply_str(r, "code"));
	reply_free(r);
	return st;
}

static void test_backchannel_logout(void)
{
	struct browser b;
	struct page pg;
	long st;
	browser_open(&b);
	sign_in(&b, "alice", &pg);
	CHECKF(pg.status == 302, "alice: %ld", pg.status);
	page_free(&pg);
	CHECK(backchannel("nonce") == 400);
	CHECK(backchannel("noevent") == 400);
	CHECK(backchannel("wrongaud") == 400);
	json_decref(whoami(&b, &st));
	CHECKF(st == 200, "still signed in: %ld", st);
	CHECK(backchannel("valid") == 200);
	json_decref(whoami(&b, &st));
	CHECKF(st == 401, "after back-channel logout: %ld", st);
	browser_close(&b);
}

static void test_rp_initiated_logout(void)
{
	struct browser b;
	struct page pg;
	long st;
	char url[256];
	browser_open(&b);
	sign_in(&b, "alice", &pg);
	page_free(&pg);
	snprintf(url, sizeof url, "%s/oidc/logout", srv.base);
	go(&b, url, NULL, NULL, &pg);
	CHECKF(pg.status == 302, "logout: %ld", pg.status);
	CHECKF(strncmp(pg.location, op.base, strlen(op.base)) == 0 &&
		       strstr(pg.location, "id_token_hint=ey") != NULL &&
		       strstr(pg.location, "post_logout_redirect_uri=") != NULL,
	       "to %s", pg.location);
	page_free(&pg);
	json_decref(whoami(&b, &st));
	CHECKF(st == 401, "after logout: %ld", st);
	browser_close(&b);
}

/* A vote on `path` with the browser's session (and its CSRF token). */
static void vote_as(struct browser *b, const char *path, struct page *pg)
{
	long st;
	json_t *who = whoami(b, &st);
	char csrf[160], url[512];
	snprintf(csrf, sizeof csrf, "X-CSRF-Token: %s", jstr(who, "csrf_token"));
	json_decref(who);
	snprintf(url, sizeof url, "%s%s/approvals", srv.base, path);
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	h = curl_slist_append(h, csrf);
	curl_easy_setopt(b->c, CURLOPT_HTTPHEADER, h);
	memset(pg, 0, sizeof *pg);
	curl_easy_setopt(b->c, CURLOPT_URL, url);
	curl_easy_setopt(b->c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(b->c, CURLOPT_WRITEDATA, pg);
	curl_easy_setopt(b->c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(b->c, CURLOPT_HEADERDATA, pg);
	curl_easy_setopt(b->c, CURLOPT_POSTFIELDS, "{\"decision\": \"approve\"}");
	CHECK(curl_easy_perform(b->c) == CURLE_OK);
	curl_easy_getinfo(b->c, CURLINFO_RESPONSE_CODE, &pg->status);
	curl_easy_setopt(b->c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
}

/*
 * identity.json says group_source "claims": cnguyen, a CAB member of people.json, signs in
 * through the provider; once the provider drops them from transom-cab, their next
 * sign-in's vote is refused 403 NOT_A_MEMBER; back in the group, it counts.
 */
static void test_cab_group_removed_at_provider_refuses_the_vote(void)
{
	static const char *low_web =
		"{\"title\": \"Fix a typo on the checkout page\", \"type\": \"normal\","
		" \"services\": [\"web-frontend\"], \"duration\": \"PT1H\","
		" \"description\": \"typo\", \"implementation_plan\": \"deploy\","
		" \"rollback_plan\": \"switch the load balancer back to the blue pool\","
		" \"test_evidence\": \"visual diff reviewed\"}";
	char hsato[128], path[64];
	snprintf(hsato, sizeof hsato, "%s", token_for("hsato", "requester"));
	CHECK(create("/v1/changes", hsato, low_web, path, sizeof path));
	CHECK(step(path, hsato, "submit", "authorize"));

	struct browser b;
	struct page pg;
	op_post("/test/groups?user=cnguyen&groups=transom-cab");
	browser_open(&b);
	sign_in(&b, "cnguyen", &pg);
	CHECKF(pg.status == 302, "cnguyen: %ld", pg.status);
	page_free(&pg);
	browser_close(&b);

	op_post("/test/groups?user=cnguyen&groups=");
	browser_open(&b);
	sign_in(&b, "cnguyen", &pg);
	CHECKF(pg.status == 302, "cnguyen again: %ld", pg.status);
	page_free(&pg);
	vote_as(&b, path, &pg);
	CHECKF(pg.status == 403 && pg.body && strstr(pg.body, "\"NOT_A_MEMBER\"") &&
		       strstr(pg.body, "identity provider"),
	       "vote after removal: %ld %s", pg.status, pg.body ? pg.body : "");
	page_free(&pg);
	browser_close(&b);

	op_post("/test/groups?user=cnguyen&groups=transom-cab");
	browser_open(&b);
	sign_in(&b, "cnguyen", &pg);
	page_free(&pg);
	vote_as(&b, path, &pg);
	CHECKF(pg.status == 200 || pg.status == 201, "vote in the group: %ld %s", pg.status,
	       pg.body ? pg.body : "");
	page_free(&pg);
	browser_close(&b);
}

/* tokens.unknown_user "refuse": POST /v1/tokens only for people.json's people and those
 * who signed in through the provider. */
static void test_token_for_unknown_user_refused(void)
{
	char admin[128];
	snprintf(admin, sizeof admin, "%s", token_for("root", "admin"));
	const char *h[] = {"Content-Type: application/json", NULL};
	struct reply *r = request(&srv, "POST", "/v1/tokens", admin,
				  "{\"user\": \"nobody-knows\", \"roles\": [\"requester\"]}", h);
	CHECKF(r->status == 422, "unknown: %ld %s", r->status, r->body);
	CHECK_STR(reply_str(r, "code"), "UNKNOWN_USER");
	CHECK_STR(reply_str(r, "field"), "user");
	reply_free(r);
	r = request(&srv, "POST", "/v1/tokens", admin,
		    "{\"user\": \"grossi\", \"roles\": [\"requester\"]}", h);
	CHECKF(r->status == 201, "people.json: %ld %s", r->status, r->body);
	reply_free(r);
	r = request(&srv, "POST", "/v1/tokens", admin,
		    "{\"user\": \"bob\", \"roles\": [\"requester\"]}", h); /* signed in before */
	CHECKF(r->status == 201, "known to the provider: %ld %s", r->status, r->body);
	CHECK(json_array_size(json_object_get(r->json, "warnings")) == 1);
	reply_free(r);
}

/* The provider rotates its signing key: the next ID token (new kid) still verifies. */
static void test_key_rotation(void)
{
	struct browser b;
	struct page pg;
	browser_open(&b);
	sign_in(&b, "alice", &pg); /* the keys of k1 are cached */
	CHECKF(pg.status == 302, "before: %ld", pg.status);
	page_free(&pg);
	struct reply *r = request(&op, "POST", "/test/rotate", NULL, "", NULL);
	CHECK(r->status == 200 && r->body && strcmp(r->body, "k2") == 0);
	reply_free(r);
	/* TRANSOM_OIDC_JWKS_MIN_REFRESH=1: let the refresh floor pass (a state, not a duration) */
	sleep(2);
	sign_in(&b, "alice", &pg);
	CHECKF(pg.status == 302, "after the rotation: %ld %s", pg.status, pg.body ? pg.body : "");
	page_free(&pg);
	browser_close(&b);
}

static void setup(void)
{
	make_policies();
	if ((op_pid = oidc_provider_start(&op)) < 0) {
		printf("the OpenID Provider (node tests/oidc/op.mjs) did not start: is "
		       "tests/oidc/node_modules there (npm ci)?\n0 passed, 1 failed\n");
		exit(1);
	}
	char env_iss[256];
	snprintf(env_iss, sizeof env_iss, "TRANSOM_OIDC_ISSUER=%s", op.base);
	const char *env[] = {env_iss,
			     "TRANSOM_OIDC_CLIENT_ID=transom-web",
			     "TRANSOM_OIDC_CLIENT_SECRET=web-secret",
			     "TRANSOM_OIDC_SCOPES=openid email profile groups",
			     "TRANSOM_OIDC_PROVIDER_NAME=Test IdP",
			     "TRANSOM_THREADS=1",
			     "TRANSOM_OIDC_JWKS_MIN_REFRESH=1",
			     NULL};
	if (!server_start(&srv, NULL, policies, env)) {
		printf("0 passed, 1 failed\n");
		exit(1);
	}
	struct reply *r = request(&op, "POST", "/test/web-client", NULL, srv.base, NULL);
	if (r->status != 200) {
		printf("op.mjs: /test/web-client %ld\n0 passed, 1 failed\n", r->status);
		exit(1);
	}
	reply_free(r);
}

int tests_main(void);
#define main tests_main
TESTS(test_providers_offered, test_sign_in_lands_with_roles_from_groups,
      test_wrong_or_missing_state_refused, test_provider_error_refused, test_replayed_code_refused,
      test_bad_id_tokens_refused, test_group_changes_apply_at_next_sign_in,
      test_disabled_user_loses_the_session_at_once, test_backchannel_logout,
      test_rp_initiated_logout, test_cab_group_removed_at_provider_refuses_the_vote,
      test_token_for_unknown_user_refused, test_key_rotation)
#undef main

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	if (op_pid > 0) {
		kill(op_pid, SIGTERM);
		waitpid(op_pid, NULL, 0);
	}
	return rc;
}
