/*
 * h_session.c -- the web app's sign-in over HTTP (/v1/session): the use cases are in
 * app/web_sessions.c; here the cookie is set and cleared.
 *
 * The cookie is HttpOnly (scripts cannot read it), SameSite=Strict (other sites' pages
 * do not send it) and Secure behind TLS (TRANSOM_COOKIE_SECURE).  Every request that
 * changes something with it needs the CSRF token in X-CSRF-Token (dispatch.c).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api.h"
#include "app/web_sessions.h"
#include "config/config.h"

bool api_cookie_secure(const struct http_req *req)
{
	const char *mode = ((struct app *)req->app)->cfg->cookie_secure;
	if (strcmp(mode, "auto") != 0)
		return strcmp(mode, "yes") == 0;
	const char *proto = http_req_header(req, "X-Forwarded-Proto");
	return proto != NULL && strcasecmp(proto, "https") == 0;
}

enum tr_code api_set_session_cookie(struct http_reply *rep, const struct http_req *req,
				    const char *value, long long max_age)
{
	char c[256];
	snprintf(c, sizeof c, "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
		 APP_SESSION_COOKIE, value, max_age, api_cookie_secure(req) ? "; Secure" : "");
	return http_reply_header(rep, "Set-Cookie", c);
}

/* {"user", "email", "display_name", "roles", "csrf_token", "expires_at"} of `u`. */
static json_t *session_json(const struct http_user *u, const char *csrf, long long expires)
{
	char at[32] = "";
	if (expires > 0) {
		time_t t = (time_t)expires;
		struct tm tm;
		strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	}
	return json_pack("{s:s, s:s?, s:s?, s:o, s:s?, s:s?, s:s}", "user", u->name, "email",
			 u->email[0] ? u->email : NULL, "display_name",
			 u->display_name[0] ? u->display_name : NULL, "roles",
			 api_roles_json(u->roles), "csrf_token", csrf, "expires_at",
			 at[0] ? at : NULL, "credential", csrf ? "session" : "bearer");
}

/* A string member `name` of the body, or NULL; *bad set when present and not a string. */
static const char *body_string(json_t *body, const char *name, bool *bad)
{
	json_t *v = json_object_get(body, name);
	if (v != NULL && !json_is_string(v))
		*bad = true;
	return json_string_value(v);
}

enum tr_code h_session_create(struct http_req *req, struct http_reply *rep)
{
	const char *key;
	json_t *v;
	json_object_foreach(req->json, key, v) {
		if (strcmp(key, "user") != 0 && strcmp(key, "password") != 0 &&
		    strcmp(key, "link") != 0)
			return tr_error_set(&req->err, TR_E_UNPROCESSABLE, key,
					    "unknown member '%s' (send 'user' and 'password', or "
					    "'link')",
					    key);
	}
	struct app_sign_in in = {0};
	static const char *const names[] = {"user", "password", "link"};
	const char **fields[] = {&in.user, &in.password, &in.link};
	for (size_t i = 0; i < 3; i++) {
		bool bad = false;
		*fields[i] = body_string(req->json, names[i], &bad);
		if (bad)
			return tr_error_set(&req->err, TR_E_UNPROCESSABLE, names[i],
					    "'%s' must be a string", names[i]);
	}
	struct app_web_session ws;
	enum tr_code rc = app_sign_in(api_session(req), &in, req->request_id, &ws, &req->err);
	if (rc != TR_OK)
		return rc;
	struct http_user u = {0};
	snprintf(u.name, sizeof u.name, "%s", ws.user.name);
	snprintf(u.email, sizeof u.email, "%s", ws.user.email);
	snprintf(u.display_name, sizeof u.display_name, "%s", ws.user.display_name);
	u.roles = ws.user.roles;
	req->user = u; /* for the access log */
	rc = api_set_session_cookie(rep, req, ws.secret, ws.max_age);
	explicit_bzero(ws.secret, sizeof ws.secret);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Cache-Control", "no-store");
	if (rc == TR_OK)
		rc = http_reply_json(rep, 201, session_json(&u, ws.csrf, ws.expires_unix));
	return rc;
}

enum tr_code h_session_get(struct http_req *req, struct http_reply *rep)
{
	char secret[APP_SESSION_SECRET_MAX], csrf[APP_SESSION_CSRF_LEN];
	const char *token = NULL;
	if (req->user.session_id != 0 && api_session_cookie(req, secret, sizeof secret)) {
		app_session_csrf(secret, csrf);
		explicit_bzero(secret, sizeof secret);
		token = csrf;
	}
	enum tr_code rc = http_reply_header(rep, "Cache-Control", "no-store");
	if (rc == TR_OK)
		rc = http_reply_json(rep, 200, session_json(&req->user, token, 0));
	return rc;
}

enum tr_code h_session_delete(struct http_req *req, struct http_reply *rep)
{
	char secret[APP_SESSION_SECRET_MAX];
	if (req->user.session_id == 0 || !api_session_cookie(req, secret, sizeof secret))
		return tr_error_set(&req->err, TR_E_UNPROCESSABLE, "Cookie",
				    "no web app session to end (revoke a token with DELETE "
				    "/v1/tokens/{id})");
	enum tr_code rc = app_sign_out(api_session(req), secret, req->request_id, &req->err);
	explicit_bzero(secret, sizeof secret);
	if (rc == TR_OK)
		rc = api_set_session_cookie(rep, req, "", 0);
	if (rc == TR_OK)
		rc = http_reply_text(rep, 204, NULL, "", 0);
	return rc;
}
