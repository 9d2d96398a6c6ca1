/*
 * web_sessions.c -- signing in to the web app and out again (see web_sessions.h).
 */
#include "app/web_sessions.h"

#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "app/tokens.h"
#include "auth/roles.h"
#include "core/clock.h"
#include "crypto/crypto.h"
#include "store/web_sessions.h"

void app_session_csrf(const char *secret, char csrf[APP_SESSION_CSRF_LEN])
{
	char buf[APP_SESSION_SECRET_MAX + 8];
	int n = snprintf(buf, sizeof buf, "csrf:%s", secret);
	crypto_sha256_hex(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1, csrf);
	explicit_bzero(buf, sizeof buf);
}

/* Makes the secret and stores the session of `u` (from `method`). */
static enum tr_code session_open(struct app_session *s, const struct app_user *u,
				 enum store_session_method method, long long app_password_id,
				 const char *sid, const char *request_id,
				 struct app_web_session *out, struct tr_error *err)
{
	const struct config *cfg = s->app->cfg;
	char hash[CRYPTO_SHA256_HEX_LEN];
	if (!crypto_token("tws_", 32, out->secret, sizeof out->secret))
		return tr_error_set(err, TR_E_INTERNAL, NULL, "no randomness");
	crypto_sha256_hex(out->secret, strlen(out->secret), hash);
	app_session_csrf(out->secret, out->csrf);
	struct store_session_new n = {
		.user = u->name,
		.roles = u->roles,
		.method = method,
		.app_password_id = app_password_id,
		.idp_sid = sid,
		.secret_hash = hash,
		.ttl_s = cfg->session_ttl,
	};
	long long id = 0;
	enum db_status st = store_session_create(s->store, &n, &id);
	if (st < 0) {
		explicit_bzero(out->secret, sizeof out->secret);
		return app_session_error(s, st, request_id, err);
	}
	out->user = *u;
	out->user.token_id = id;
	out->max_age = cfg->session_ttl;
	out->expires_unix = clock_now_ms() / 1000 + cfg->session_ttl;
	return TR_OK;
}

static enum tr_code sign_in_refused(struct tr_error *err, const char *field, const char *why)
{
	return tr_error_set(err, TR_E_UNAUTHENTICATED, field, "%s", why);
}

enum tr_code app_sign_in(struct app_session *s, const struct app_sign_in *in,
			 const char *request_id, struct app_web_session *out, struct tr_error *err)
{
	memset(out, 0, sizeof *out);
	if (in->link != NULL) {
		char hash[CRYPTO_SHA256_HEX_LEN];
		struct store_user su;
		if (strlen(in->link) >= APP_LOGIN_LINK_MAX)
			return sign_in_refused(err, "link",
					       "the login link is unknown, used or "
					       "expired: ask for a new one");
		crypto_sha256_hex(in->link, strlen(in->link), hash);
		enum db_status st = store_login_link_use(s->store, hash, &su);
		if (st < 0)
			return app_session_error(s, st, request_id, err);
		if (st == DB_NONE)
			return sign_in_refused(err, "link",
					       "the login link is unknown, used or "
					       "expired: ask for a new one");
		struct app_user u = {0};
		snprintf(u.name, sizeof u.name, "%s", su.name);
		snprintf(u.email, sizeof u.email, "%s", su.email);
		snprintf(u.display_name, sizeof u.display_name, "%s", su.display_name);
		u.roles = su.roles;
		return session_open(s, &u, STORE_SESSION_LINK, 0, NULL, request_id, out, err);
	}
	if (in->user == NULL || in->user[0] == '\0')
		return tr_error_set(err, TR_E_UNPROCESSABLE, "user",
				    "'user' (your user name or e-mail address) is required, with "
				    "'password'; or send 'link'");
	if (in->password == NULL || in->password[0] == '\0')
		return tr_error_set(err, TR_E_UNPROCESSABLE, "password",
				    "'password' (one of your app passwords) is required");
	struct app_user u = {0};
	bool found = false;
	enum tr_code rc = app_auth_password(s, in->user, in->password, request_id, &u, &found, err);
	if (rc != TR_OK)
		return rc;
	if (!found)
		return sign_in_refused(err, "password",
				       "unknown user or app password (an admin's token makes app "
				       "passwords: POST /v1/me/app-passwords)");
	return session_open(s, &u, STORE_SESSION_PASSWORD, u.token_id, NULL, request_id, out, err);
}

enum tr_code app_sign_in_oidc(struct app_session *s, const struct app_user *user, const char *sid,
			      const char *request_id, struct app_web_session *out,
			      struct tr_error *err)
{
	memset(out, 0, sizeof *out);
	if (user->roles == 0)
		return tr_error_set(err, TR_E_FORBIDDEN, NULL,
				    "the identity provider's claims map '%s' to no Transom role",
				    user->name);
	return session_open(s, user, STORE_SESSION_OIDC, 0, sid, request_id, out, err);
}

enum tr_code app_session_check(struct app_session *s, const char *secret, const char *request_id,
			       struct app_user *user, char csrf[APP_SESSION_CSRF_LEN], bool *found,
			       struct tr_error *err)
{
	char hash[CRYPTO_SHA256_HEX_LEN];
	struct store_user su;
	long long expires = 0;
	*found = false;
	if (strncmp(secret, "tws_", 4) != 0 || strlen(secret) >= APP_SESSION_SECRET_MAX)
		return TR_OK;
	crypto_sha256_hex(secret, strlen(secret), hash);
	enum db_status st =
		store_session_lookup(s->store, hash, s->app->cfg->session_idle, &su, &expires);
	if (st < 0)
		return app_session_error(s, st, request_id, err);
	if (st == DB_NONE)
		return TR_OK;
	*found = true;
	memset(user, 0, sizeof *user);
	snprintf(user->name, sizeof user->name, "%s", su.name);
	snprintf(user->email, sizeof user->email, "%s", su.email);
	snprintf(user->display_name, sizeof user->display_name, "%s", su.display_name);
	user->roles = su.roles;
	user->token_id = su.token_id;
	app_session_csrf(secret, csrf);
	return TR_OK;
}

enum tr_code app_sign_out(struct app_session *s, const char *secret, const char *request_id,
			  struct tr_error *err)
{
	char hash[CRYPTO_SHA256_HEX_LEN];
	crypto_sha256_hex(secret, strlen(secret), hash);
	enum db_status st = store_session_end(s->store, hash);
	if (st < 0)
		return app_session_error(s, st, request_id, err);
	app_credentials_changed(s->app);
	return TR_OK;
}

enum tr_code app_sign_out_sid(struct app_session *s, const char *sid, const char *request_id,
			      long long *n, struct tr_error *err)
{
	enum db_status st = store_session_end_sid(s->store, sid, n);
	if (st < 0)
		return app_session_error(s, st, request_id, err);
	if (*n > 0)
		app_credentials_changed(s->app);
	return TR_OK;
}

enum tr_code app_login_link_create(struct store *store, const char *user, const char *roles,
				   long long ttl_s, char token[APP_LOGIN_LINK_MAX],
				   struct tr_error *err)
{
	char bad[64], hash[CRYPTO_SHA256_HEX_LEN];
	unsigned mask = 0;
	if (!app_user_name_valid(user))
		return tr_error_set(err, TR_E_UNPROCESSABLE, "user",
				    "'user' must be 1 to 128 of A-Z a-z 0-9 . _ @ + -");
	if (roles_parse(roles, &mask, bad, sizeof bad) != 0 || mask == 0)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "roles",
				    "unknown role '%s'; roles are requester, cab, change_manager, "
				    "pipeline, admin",
				    bad);
	if (ttl_s < 60 || ttl_s > 86400)
		return tr_error_set(err, TR_E_UNPROCESSABLE, "ttl",
				    "a login link lives 60 to 86400 seconds");
	enum db_status st = store_user_disabled(store, user);
	if (st < 0)
		return tr_error_set(err, st == DB_DOWN ? TR_E_DB_UNAVAILABLE : TR_E_INTERNAL, NULL,
				    "database: %s", store_last_error(store));
	if (st == DB_ONE) {
		tr_error_set(err, TR_E_CONFLICT, "user", "user '%s' is disabled", user);
		tr_error_rule(err, TR_R_USER_DISABLED);
		return TR_E_CONFLICT;
	}
	if (!crypto_token("tll_", 32, token, APP_LOGIN_LINK_MAX))
		return tr_error_set(err, TR_E_INTERNAL, NULL, "no randomness");
	crypto_sha256_hex(token, strlen(token), hash);
	st = store_login_link_create(store, user, mask, hash, ttl_s);
	if (st < 0) {
		explicit_bzero(token, APP_LOGIN_LINK_MAX);
		return tr_error_set(err, st == DB_DOWN ? TR_E_DB_UNAVAILABLE : TR_E_INTERNAL, NULL,
				    "database: %s", store_last_error(store));
	}
	return TR_OK;
}
