/*
 * h_oidc.c -- signing in through the OpenID Provider over HTTP: the redirect to it, its
 * redirect back, logging out, back-channel logout and the list of sign-in methods.  The
 * use cases are in app/oidc_login.c; here the cookies and redirects are made.
 *
 * The login cookie (transom_oidc) holds the sign-in's state: HttpOnly, SameSite=Lax (the
 * provider's redirect back is a cross-site top-level navigation, which Lax lets through),
 * Path=/oidc, ten minutes.  The session cookie is the one of the local sign-in
 * (h_session.c): HttpOnly, SameSite=Strict, Secure behind TLS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api.h"
#include "app/oidc_login.h"
#include "config/config.h"
#include "core/clock.h"

static enum tr_code login_cookie(struct http_reply *rep, const struct http_req *req,
				 const char *state, int max_age)
{
	char c[256];
	snprintf(c, sizeof c, "%s=%s; Path=/oidc; Max-Age=%d; HttpOnly; SameSite=Lax%s",
		 APP_OIDC_COOKIE, state, max_age, api_cookie_secure(req) ? "; Secure" : "");
	return http_reply_header(rep, "Set-Cookie", c);
}

static enum tr_code redirect(struct http_reply *rep, const char *url)
{
	enum tr_code rc = http_reply_header(rep, "Location", url);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Cache-Control", "no-store");
	if (rc == TR_OK)
		rc = http_reply_text(rep, 302, NULL, "", 0);
	return rc;
}

static long long now_s(void)
{
	return clock_now_ms() / 1000;
}

enum tr_code h_oidc_login(struct http_req *req, struct http_reply *rep)
{
	struct app_oidc_start st;
	enum tr_code rc = app_oidc_begin(api_session(req), http_req_query(req, "return"), now_s(),
					 req->request_id, &st, &req->err);
	if (rc == TR_OK)
		rc = login_cookie(rep, req, st.state, 600);
	if (rc == TR_OK)
		rc = redirect(rep, st.url);
	return rc;
}

enum tr_code h_oidc_callback(struct http_req *req, struct http_reply *rep)
{
	char state[APP_OIDC_STATE_MAX];
	struct app_oidc_callback cb = {
		.state = http_req_query(req, "state"),
		.code = http_req_query(req, "code"),
		.error = http_req_query(req, "error"),
		.cookie_state =
			api_cookie(req, APP_OIDC_COOKIE, state, sizeof state) ? state : NULL,
	};
	/* the login cookie has served, whatever the outcome */
	enum tr_code rc = login_cookie(rep, req, "", 0);
	struct app_oidc_done done;
	if (rc == TR_OK)
		rc = app_oidc_finish(api_session(req), &cb, now_s(), req->request_id, &done,
				     &req->err);
	if (rc != TR_OK)
		return rc;
	snprintf(req->user.name, sizeof req->user.name, "%s", done.ws.user.name); /* access log */
	rc = api_set_session_cookie(rep, req, done.ws.secret, done.ws.max_age);
	explicit_bzero(done.ws.secret, sizeof done.ws.secret);
	if (rc == TR_OK)
		rc = redirect(rep, done.return_path);
	return rc;
}

enum tr_code h_oidc_logout(struct http_req *req, struct http_reply *rep)
{
	char secret[APP_SESSION_SECRET_MAX], url[APP_OIDC_URL_MAX];
	bool have = api_session_cookie(req, secret, sizeof secret);
	enum tr_code rc = app_oidc_logout(api_session(req), have ? secret : NULL, now_s(),
					  req->request_id, url, &req->err);
	explicit_bzero(secret, sizeof secret);
	if (rc == TR_OK)
		rc = api_set_session_cookie(rep, req, "", 0);
	if (rc == TR_OK)
		rc = redirect(rep, url);
	return rc;
}

/* The value of form field `name` in x-www-form-urlencoded `body` into `out`, decoded. */
static bool form_field(const char *body, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	for (const char *p = body; p != NULL && *p;) {
		size_t len = strcspn(p, "&");
		if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			size_t o = 0;
			for (size_t i = nlen + 1; i < len; i++) {
				char ch = p[i];
				if (ch == '+')
					ch = ' ';
				else if (ch == '%' && i + 2 < len) {
					char hex[3] = {p[i + 1], p[i + 2], 0};
					ch = (char)strtol(hex, NULL, 16);
					i += 2;
				}
				if (o + 1 >= outlen)
					return false;
				out[o++] = ch;
			}
			out[o] = '\0';
			return true;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return false;
}

enum tr_code h_oidc_backchannel(struct http_req *req, struct http_reply *rep)
{
	char token[8192];
	if (!form_field(req->body, "logout_token", token, sizeof token))
		token[0] = '\0';
	long long n = 0;
	enum tr_code rc = app_oidc_backchannel(api_session(req), token, now_s(), req->request_id,
					       &n, &req->err);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Cache-Control", "no-store");
	if (rc == TR_OK)
		rc = http_reply_text(rep, 200, NULL, "", 0);
	return rc;
}

enum tr_code h_session_providers(struct http_req *req, struct http_reply *rep)
{
	struct app *app = req->app;
	json_t *oidc = app_oidc_enabled(app)
			       ? json_pack("{s:s, s:s, s:s}", "name", app_oidc_provider_name(app),
					   "login_url", "/oidc/login", "logout_url", "/oidc/logout")
			       : json_null();
	return http_reply_json(rep, 200, json_pack("{s:b, s:o}", "password", 1, "oidc", oidc));
}
