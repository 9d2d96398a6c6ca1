/*
 * oidc_login.c -- the Authorization Code flow with PKCE against the OpenID Provider, and
 * logging out of it (oidc_login.h).
 */
#include "app/oidc_login.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/identity.h"
#include "app/tokens.h"
#include "auth/roles.h"
#include "config/config.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "defs/defs.h"
#include "net/net.h"
#include "store/oidc_logins.h"
#include "store/web_sessions.h"

#define LOGIN_TTL_S       600 /* a sign-in must come back within ten minutes */
#define TOKEN_TIMEOUT_MS  10000
#define TOKEN_MAX_BYTES   (64 * 1024)
#define BACKCHANNEL_EVENT "http://schemas.openid.net/event/backchannel-logout"
#define DEFAULT_LAND      "/app/"

bool app_oidc_enabled(const struct app *app)
{
	const struct config *c = app->cfg;
	return app->identity != NULL && c->oidc_client_id[0] != '\0' &&
	       c->oidc_client_secret[0] != '\0';
}

const char *app_oidc_provider_name(const struct app *app)
{
	return app->cfg->oidc_provider_name;
}

static enum tr_code off(struct tr_error *err)
{
	tr_error_set(err, TR_E_NOT_FOUND, NULL,
		     "sign-in through the OpenID Provider is not configured");
	tr_error_rule(err, TR_R_OIDC_OFF);
	return TR_E_NOT_FOUND;
}

/* Base64 of `n` bytes (url: the base64url alphabet, unpadded) into `out` (outlen). */
static bool b64(const unsigned char *in, size_t n, bool url, char *out, size_t outlen)
{
	const char *a = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			    : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		char q[4] = {a[(v >> 18) & 63], a[(v >> 12) & 63], a[(v >> 6) & 63], a[v & 63]};
		size_t k = i + 2 < n ? 4 : i + 1 < n ? 3 : 2;
		for (size_t j = 0; j < 4; j++) {
			if (j >= k && url)
				break;
			if (o + 1 >= outlen)
				return false;
			out[o++] = j < k ? q[j] : '=';
		}
	}
	out[o] = '\0';
	return true;
}

/* Appends `s` percent-encoded (RFC 3986 unreserved kept) to `out` at *used. */
static bool put_enc(char *out, size_t outlen, size_t *used, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
			    *p == '~';
		if (*used + 4 >= outlen)
			return false;
		if (keep) {
			out[(*used)++] = (char)*p;
		} else {
			out[(*used)++] = '%';
			out[(*used)++] = hex[*p >> 4];
			out[(*used)++] = hex[*p & 15];
		}
	}
	out[*used] = '\0';
	return true;
}

/* Appends literal `s` to `out` at *used. */
static bool put(char *out, size_t outlen, size_t *used, const char *s)
{
	size_t n = strlen(s);
	if (*used + n + 1 > outlen)
		return false;
	memcpy(out + *used, s, n + 1);
	*used += n;
	return true;
}

/* TRANSOM_PUBLIC_URL (without a trailing slash) followed by `path`. */
static void public_url(const struct app *app, const char *path, char *out, size_t outlen)
{
	size_t n = strlen(app->public_url);
	while (n > 0 && app->public_url[n - 1] == '/')
		n--;
	snprintf(out, outlen, "%.*s%s", (int)n, app->public_url, path);
}

/* Whether `p` is a local path to land on: "/" and not "//" or "/\", no scheme. */
static bool local_path(const char *p)
{
	return p != NULL && p[0] == '/' && p[1] != '/' && p[1] != '\\' &&
	       strlen(p) < STORE_OIDC_RETURN_MAX && strpbrk(p, "\r\n\t ") == NULL;
}

enum tr_code app_oidc_begin(struct app_session *s, const char *return_path, long long now,
			    const char *request_id, struct app_oidc_start *out,
			    struct tr_error *err)
{
	struct app *app = s->app;
	const struct config *cfg = app->cfg;
	memset(out, 0, sizeof *out);
	if (!app_oidc_enabled(app))
		return off(err);
	struct identity_endpoints ep;
	enum tr_code rc = identity_endpoints(app->identity, now, &ep, err);
	if (rc != TR_OK)
		return rc;
	struct store_oidc_login l = {0};
	char state_hash[CRYPTO_SHA256_HEX_LEN], challenge[64], redirect[1200];
	unsigned char digest[CRYPTO_SHA256_LEN];
	if (!crypto_token("", 32, out->state, sizeof out->state) ||
	    !crypto_token("", 32, l.nonce, sizeof l.nonce) ||
	    !crypto_token("", 48, l.verifier, sizeof l.verifier))
		return tr_error_set(err, TR_E_INTERNAL, NULL, "no randomness");
	crypto_sha256(l.verifier, strlen(l.verifier), digest);
	b64(digest, sizeof digest, true, challenge, sizeof challenge);
	crypto_sha256_hex(out->state, strlen(out->state), state_hash);
	snprintf(l.return_path, sizeof l.return_path, "%s",
		 local_path(return_path) ? return_path : DEFAULT_LAND);
	enum db_status st = store_oidc_login_put(s->store, state_hash, &l, LOGIN_TTL_S);
	if (st < 0)
		return app_session_error(s, st, request_id, err);
	public_url(app, "/oidc/callback", redirect, sizeof redirect);
	char scopes[300];
	snprintf(scopes, sizeof scopes, "%s%s",
		 strstr(cfg->oidc_scopes, "openid") != NULL ? "" : "openid ", cfg->oidc_scopes);
	size_t u = 0;
	bool ok = put(out->url, sizeof out->url, &u, ep.authorization) &&
		  put(out->url, sizeof out->url, &u, strchr(ep.authorization, '?') ? "&" : "?") &&
		  put(out->url, sizeof out->url, &u, "response_type=code&client_id=") &&
		  put_enc(out->url, sizeof out->url, &u, cfg->oidc_client_id) &&
		  put(out->url, sizeof out->url, &u, "&redirect_uri=") &&
		  put_enc(out->url, sizeof out->url, &u, redirect) &&
		  put(out->url, sizeof out->url, &u, "&scope=") &&
		  put_enc(out->url, sizeof out->url, &u, scopes) &&
		  put(out->url, sizeof out->url, &u, "&state=") &&
		  put(out->url, sizeof out->url, &u, out->state) &&
		  put(out->url, sizeof out->url, &u, "&nonce=") &&
		  put(out->url, sizeof out->url, &u, l.nonce) &&
		  put(out->url, sizeof out->url, &u, "&code_challenge=") &&
		  put(out->url, sizeof out->url, &u, challenge) &&
		  put(out->url, sizeof out->url, &u, "&code_challenge_method=S256");
	explicit_bzero(&l, sizeof l);
	if (!ok)
		return tr_error_set(err, TR_E_INTERNAL, NULL, "authorization URL too long");
	LOG_INFO("event=oidc_login_begun request_id=%s", request_id);
	return TR_OK;
}

static enum tr_code state_refused(struct tr_error *err, const char *why)
{
	tr_error_set(err, TR_E_BAD_REQUEST, "state", "%s: start the sign-in again", why);
	tr_error_rule(err, TR_R_OIDC_STATE);
	return TR_E_BAD_REQUEST;
}

static enum tr_code code_refused(struct tr_error *err, const char *why)
{
	tr_error_set(err, TR_E_UNAUTHENTICATED, "code", "%s", why);
	tr_error_rule(err, TR_R_OIDC_CODE);
	return TR_E_UNAUTHENTICATED;
}

static enum tr_code id_token_refused(struct tr_error *err, const char *why)
{
	tr_error_set(err, TR_E_UNAUTHENTICATED, "id_token", "ID token refused: %s", why);
	tr_error_rule(err, TR_R_OIDC_ID_TOKEN);
	return TR_E_UNAUTHENTICATED;
}

/*
 * Exchanges `code` at the token endpoint; the ID token owned in *id_token.  TR_OK, 401
 * OIDC_CODE, or 503 when the provider cannot be reached.
 */
static enum tr_code exchange(struct app *app, const struct identity_endpoints *ep, const char *code,
			     const char *verifier, char **id_token, struct tr_error *err)
{
	const struct config *cfg = app->cfg;
	char redirect[1200], body[4096], cred[1024], basic[1500], auth[1600];
	size_t u = 0, c = 0;
	public_url(app, "/oidc/callback", redirect, sizeof redirect);
	bool ok = put(body, sizeof body, &u, "grant_type=authorization_code&code=") &&
		  put_enc(body, sizeof body, &u, code) &&
		  put(body, sizeof body, &u, "&redirect_uri=") &&
		  put_enc(body, sizeof body, &u, redirect) &&
		  put(body, sizeof body, &u, "&code_verifier=") &&
		  put_enc(body, sizeof body, &u, verifier);
	/* client_secret_basic: the form-encoded id and secret (RFC 6749 2.3.1) */
	ok = ok && put_enc(cred, sizeof cred, &c, cfg->oidc_client_id) &&
	     put(cred, sizeof cred, &c, ":") &&
	     put_enc(cred, sizeof cred, &c, cfg->oidc_client_secret) &&
	     b64((const unsigned char *)cred, c, false, basic, sizeof basic);
	explicit_bzero(cred, sizeof cred);
	if (!ok)
		return code_refused(err, "the authorization code is too long");
	snprintf(auth, sizeof auth, "Basic %s", basic);
	explicit_bzero(basic, sizeof basic);
	struct net_header h[] = {{"Authorization", auth},
				 {"Content-Type", "application/x-www-form-urlencoded"},
				 {"Accept", "application/json"}};
	struct net_request rq = {.method = "POST",
				 .url = ep->token,
				 .headers = h,
				 .n_headers = 3,
				 .body = body,
				 .len = u,
				 .timeout_ms = TOKEN_TIMEOUT_MS,
				 .max_reply = TOKEN_MAX_BYTES,
				 .guard = identity_guard_for(app->identity, ep->token)};
	struct net_reply rp;
	int rc = net_send(&rq, &rp);
	explicit_bzero(auth, sizeof auth);
	if (rc != 0) {
		LOG_WARN("event=oidc_token_endpoint_failed error=\"%s\"", rp.error);
		return tr_error_set(err, TR_E_IDP_UNAVAILABLE, NULL,
				    "the OpenID Provider's token endpoint cannot be reached");
	}
	json_t *doc = rp.body ? json_loadb(rp.body, rp.len, 0, NULL) : NULL;
	int status = rp.status;
	net_reply_clear(&rp);
	const char *tok = json_string_value(json_object_get(doc, "id_token"));
	enum tr_code out = TR_OK;
	if (status >= 500) {
		out = tr_error_set(err, TR_E_IDP_UNAVAILABLE, NULL,
				   "the OpenID Provider's token endpoint answered %d", status);
	} else if (status != 200 || tok == NULL) {
		const char *e = json_string_value(json_object_get(doc, "error"));
		char why[200];
		snprintf(why, sizeof why,
			 "the OpenID Provider refused the authorization code (%.60s): sign in "
			 "again",
			 e                              ? e
			 : tok == NULL && status == 200 ? "no id_token"
							: "error");
		out = code_refused(err, why);
	} else if ((*id_token = strdup(tok)) == NULL) {
		out = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	}
	json_decref(doc);
	return out;
}

/* How many audiences claim `aud` names. */
static size_t audiences(const json_t *aud)
{
	return json_is_array(aud) ? json_array_size(aud) : 1;
}

/* Checks the ID token's OpenID-specific claims: nonce, azp.  NULL or why not. */
static const char *id_claims_check(const json_t *claims, const char *nonce, const char *client)
{
	const char *n = json_string_value(json_object_get(claims, "nonce"));
	if (n == NULL || !crypto_equal(n, nonce))
		return "nonce is not the one of this sign-in";
	const char *azp = json_string_value(json_object_get(claims, "azp"));
	json_t *a = json_object_get(claims, "azp");
	if (a != NULL && (azp == NULL || strcmp(azp, client) != 0))
		return "azp is not this client";
	if (audiences(json_object_get(claims, "aud")) > 1 && azp == NULL)
		return "several audiences and no azp";
	return NULL;
}

/* The string of claim `name`, or NULL when absent, empty or too long for `max`. */
static const char *claim_str(const json_t *claims, const char *name, size_t max)
{
	const char *v = json_string_value(json_object_get(claims, name));
	return v != NULL && v[0] != '\0' && strlen(v) < max ? v : NULL;
}

bool app_oidc_map(const json_t *policy, const json_t *claims, struct app_user *out)
{
	memset(out, 0, sizeof *out);
	const json_t *si = json_object_get(policy, "sign_in");
	const char *uc = json_string_value(json_object_get(si, "user_claim"));
	const char *name = claim_str(claims, uc ? uc : "preferred_username", sizeof out->name);
	if (name == NULL && uc == NULL)
		name = claim_str(claims, "sub", sizeof out->name);
	/* a user name as tokens take them; never "system", Transom's own actor */
	if (name == NULL || !app_user_name_valid(name) || strcmp(name, "system") == 0)
		return false;
	snprintf(out->name, sizeof out->name, "%s", name);
	const char *email = claim_str(claims, "email", sizeof out->email);
	const char *display = claim_str(claims, "name", sizeof out->display_name);
	if (email != NULL)
		snprintf(out->email, sizeof out->email, "%s", email);
	if (display != NULL)
		snprintf(out->display_name, sizeof out->display_name, "%s", display);
	size_t i, k;
	json_t *r, *role;
	json_array_foreach(json_object_get(si, "default_roles"), k, role) {
		out->roles |= role_from_name(json_string_value(role) ?: "");
	}
	json_array_foreach(json_object_get(si, "rules"), i, r) {
		if (!identity_rule_matches(json_object_get(r, "match"), claims))
			continue;
		json_array_foreach(json_object_get(r, "roles"), k, role) {
			out->roles |= role_from_name(json_string_value(role) ?: "");
		}
	}
	return true;
}

void app_oidc_groups(const json_t *policy, const json_t *claims, char *out, size_t outlen)
{
	size_t used = 0, i;
	json_t *r;
	out[0] = '\0';
	json_array_foreach(json_object_get(json_object_get(policy, "sign_in"), "groups"), i, r) {
		const char *g = json_string_value(json_object_get(r, "group"));
		if (g == NULL || !identity_rule_matches(json_object_get(r, "match"), claims))
			continue;
		size_t n = strlen(g);
		if (used + n + 2 > outlen)
			break;
		used += (size_t)snprintf(out + used, outlen - used, "%s%s", used ? "," : "", g);
	}
}

/* Whether comma-separated `list` holds `item`. */
static bool list_has(const char *list, const char *item)
{
	size_t n = strlen(item);
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, item, n) == 0)
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

enum db_status app_oidc_group_held(struct store *st, const json_t *policy, const char *user,
				   const char *group, bool *held)
{
	*held = true;
	const char *src = json_string_value(
		json_object_get(json_object_get(policy, "sign_in"), "group_source"));
	if (src == NULL || strcmp(src, "claims") != 0 || group == NULL || user == NULL)
		return DB_ONE;
	char groups[2048];
	enum db_status s = store_claim_groups_get(st, user, groups, sizeof groups);
	if (s < 0)
		return s;
	if (s == DB_ONE)
		*held = list_has(groups, group);
	return DB_ONE;
}

enum tr_code app_oidc_finish(struct app_session *s, const struct app_oidc_callback *cb,
			     long long now, const char *request_id, struct app_oidc_done *out,
			     struct tr_error *err)
{
	struct app *app = s->app;
	memset(out, 0, sizeof *out);
	if (!app_oidc_enabled(app))
		return off(err);
	if (cb->state == NULL || cb->state[0] == '\0')
		return state_refused(err, "the callback has no state");
	if (cb->cookie_state == NULL || !crypto_equal(cb->state, cb->cookie_state))
		return state_refused(err, "the state is not the one this browser began the "
					  "sign-in with (cookie transom_oidc)");
	char state_hash[CRYPTO_SHA256_HEX_LEN];
	crypto_sha256_hex(cb->state, strlen(cb->state), state_hash);
	struct store_oidc_login l;
	enum db_status st = store_oidc_login_take(s->store, state_hash, &l);
	if (st < 0)
		return app_session_error(s, st, request_id, err);
	if (st == DB_NONE)
		return state_refused(err, "the state is unknown, used already or expired");
	if (cb->error != NULL) {
		char why[160];
		snprintf(why, sizeof why, "the OpenID Provider answered '%.60s'", cb->error);
		return code_refused(err, why);
	}
	if (cb->code == NULL || cb->code[0] == '\0')
		return code_refused(err, "the callback has no code");
	struct identity_endpoints ep;
	enum tr_code rc = identity_endpoints(app->identity, now, &ep, err);
	char *id_token = NULL;
	if (rc == TR_OK)
		rc = exchange(app, &ep, cb->code, l.verifier, &id_token, err);
	explicit_bzero(l.verifier, sizeof l.verifier);
	if (rc != TR_OK)
		return rc;
	json_t *claims = NULL;
	struct tr_error why = {0};
	rc = identity_verify(app->identity, id_token, app->cfg->oidc_client_id, now, &claims, &why);
	if (rc == TR_E_UNAUTHENTICATED) {
		free(id_token);
		/* "JWT refused: signature does not verify" -> the part after the colon */
		const char *d = strstr(why.detail, ": ");
		return id_token_refused(err, d ? d + 2 : why.detail);
	}
	if (rc != TR_OK) {
		free(id_token);
		*err = why;
		return rc;
	}
	const char *bad = id_claims_check(claims, l.nonce, app->cfg->oidc_client_id);
	struct app_user u;
	const struct defs *d = app_session_defs(s);
	if (bad == NULL && !app_oidc_map(d ? d->identity : NULL, claims, &u))
		bad = "no usable user name in its claims";
	char groups[2048] = "";
	if (bad == NULL)
		app_oidc_groups(d ? d->identity : NULL, claims, groups, sizeof groups);
	char sid[256] = "";
	const char *sid_claim = claim_str(claims, "sid", sizeof sid);
	if (sid_claim != NULL)
		snprintf(sid, sizeof sid, "%s", sid_claim);
	json_decref(claims);
	if (bad != NULL) {
		free(id_token);
		return id_token_refused(err, bad);
	}
	bool active = false;
	st = store_oidc_user_provision(s->store, u.name, u.email[0] ? u.email : NULL,
				       u.display_name[0] ? u.display_name : NULL, &active);
	if (st >= 0 && !active) {
		free(id_token);
		tr_error_set(err, TR_E_FORBIDDEN, NULL, "user '%s' is disabled", u.name);
		tr_error_rule(err, TR_R_USER_DISABLED);
		return TR_E_FORBIDDEN;
	}
	if (st >= 0)
		st = store_claim_groups_set(s->store, u.name, groups);
	if (st < 0) {
		free(id_token);
		return app_session_error(s, st, request_id, err);
	}
	rc = app_sign_in_oidc(s, &u, sid[0] ? sid : NULL, request_id, &out->ws, err);
	if (rc == TR_OK) {
		st = store_session_set_id_token(s->store, out->ws.user.token_id, id_token);
		if (st < 0)
			LOG_WARN("event=oidc_id_token_not_kept request_id=%s", request_id);
		snprintf(out->return_path, sizeof out->return_path, "%s", l.return_path);
		LOG_INFO("event=oidc_signed_in request_id=%s user=%s session=%lld", request_id,
			 u.name, out->ws.user.token_id);
	}
	free(id_token);
	return rc;
}

enum tr_code app_oidc_logout(struct app_session *s, const char *secret, long long now,
			     const char *request_id, char url[APP_OIDC_URL_MAX],
			     struct tr_error *err)
{
	struct app *app = s->app;
	char signin[1200];
	public_url(app, "/app/signin", signin, sizeof signin);
	snprintf(url, APP_OIDC_URL_MAX, "%s", signin);
	if (secret == NULL)
		return TR_OK;
	char hash[CRYPTO_SHA256_HEX_LEN];
	char *id_token = NULL;
	crypto_sha256_hex(secret, strlen(secret), hash);
	enum db_status st = store_session_id_token(s->store, hash, &id_token);
	if (st < 0)
		return app_session_error(s, st, request_id, err);
	enum tr_code rc = app_sign_out(s, secret, request_id, err);
	struct identity_endpoints ep;
	struct tr_error ignored;
	if (rc == TR_OK && id_token != NULL && app_oidc_enabled(app) &&
	    identity_endpoints(app->identity, now, &ep, &ignored) == TR_OK &&
	    ep.end_session[0] != '\0') {
		size_t u = 0;
		bool ok = put(url, APP_OIDC_URL_MAX, &u, ep.end_session) &&
			  put(url, APP_OIDC_URL_MAX, &u, strchr(ep.end_session, '?') ? "&" : "?") &&
			  put(url, APP_OIDC_URL_MAX, &u, "id_token_hint=") &&
			  put_enc(url, APP_OIDC_URL_MAX, &u, id_token) &&
			  put(url, APP_OIDC_URL_MAX, &u, "&client_id=") &&
			  put_enc(url, APP_OIDC_URL_MAX, &u, app->cfg->oidc_client_id) &&
			  put(url, APP_OIDC_URL_MAX, &u, "&post_logout_redirect_uri=") &&
			  put_enc(url, APP_OIDC_URL_MAX, &u, signin);
		if (!ok) /* an ID token too long for a URL: sign out here only */
			snprintf(url, APP_OIDC_URL_MAX, "%s", signin);
	}
	free(id_token);
	return rc;
}

static enum tr_code logout_refused(struct tr_error *err, const char *why)
{
	tr_error_set(err, TR_E_BAD_REQUEST, "logout_token", "logout token refused: %s", why);
	tr_error_rule(err, TR_R_LOGOUT_TOKEN);
	return TR_E_BAD_REQUEST;
}

enum tr_code app_oidc_backchannel(struct app_session *s, const char *logout_token, long long now,
				  const char *request_id, long long *n, struct tr_error *err)
{
	struct app *app = s->app;
	*n = 0;
	if (!app_oidc_enabled(app))
		return off(err);
	if (logout_token == NULL || logout_token[0] == '\0')
		return logout_refused(err, "missing");
	json_t *claims = NULL;
	struct tr_error why = {0};
	enum tr_code rc = identity_verify(app->identity, logout_token, app->cfg->oidc_client_id,
					  now, &claims, &why);
	if (rc == TR_E_UNAUTHENTICATED) {
		const char *d = strstr(why.detail, ": ");
		return logout_refused(err, d ? d + 2 : why.detail);
	}
	if (rc != TR_OK) {
		*err = why;
		return rc;
	}
	const char *bad = NULL;
	json_t *events = json_object_get(claims, "events");
	const char *sid = json_string_value(json_object_get(claims, "sid"));
	if (!json_is_object(events) || json_object_get(events, BACKCHANNEL_EVENT) == NULL)
		bad = "no back-channel logout event";
	else if (json_object_get(claims, "nonce") != NULL)
		bad = "a logout token carries no nonce";
	else if (!json_is_integer(json_object_get(claims, "iat")))
		bad = "no iat";
	else if (sid == NULL || sid[0] == '\0')
		bad = "no sid (logging out every session of a subject is not supported)";
	if (bad == NULL) {
		enum db_status st = store_session_end_sid(s->store, sid, n);
		if (st < 0)
			rc = app_session_error(s, st, request_id, err);
		else {
			app_credentials_changed(app);
			LOG_INFO("event=oidc_backchannel_logout request_id=%s sessions=%lld",
				 request_id, *n);
		}
	}
	json_decref(claims);
	return bad != NULL ? logout_refused(err, bad) : rc;
}
