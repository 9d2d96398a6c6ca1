/*
 * oidc_login.h -- signing in to the web app through the OpenID Provider: the Authorization
 * Code flow with PKCE (S256), state and nonce; RP-initiated and back-channel logout.
 *
 * Settings: TRANSOM_OIDC_ISSUER, TRANSOM_OIDC_CLIENT_ID, TRANSOM_OIDC_CLIENT_SECRET (or
 * _FILE), TRANSOM_OIDC_SCOPES; the redirect URI is TRANSOM_PUBLIC_URL + /oidc/callback.
 *
 * The flow: app_oidc_begin stores the login (state hash, nonce, PKCE verifier, where to
 * land: store/oidc_logins.h) and gives the provider's authorization URL and the state,
 * which the browser also keeps in a short-lived cookie.  app_oidc_finish takes the login
 * of the callback's state (once: a replayed or unknown state is refused), checks that the
 * state is the browser's cookie's, exchanges the code at the token endpoint (client
 * secret, PKCE verifier) through net/, verifies the ID token through app/identity.h
 * (signature by kid, RS256/ES256; iss; aud = the client id; azp; exp/nbf/iat with the
 * skew; nonce), maps its claims (policies/identity.json "sign_in") to a user and roles,
 * provisions the user (name, e-mail, display name) and opens the web session
 * (app_sign_in_oidc).
 */
#ifndef TRANSOM_APP_OIDC_LOGIN_H
#define TRANSOM_APP_OIDC_LOGIN_H

#include <jansson.h>
#include <stdbool.h>

#include "app/session.h"
#include "app/web_sessions.h"
#include "core/err.h"

#define APP_OIDC_STATE_MAX 64   /* 43 base64url characters and the NUL, rounded up */
#define APP_OIDC_URL_MAX   4096 /* the authorization or logout URL */
#define APP_OIDC_COOKIE    "transom_oidc"

/* Whether sign-in through the provider is configured (issuer, client id and secret). */
bool app_oidc_enabled(const struct app *app);

/* The provider's name for the sign-in button (TRANSOM_OIDC_PROVIDER_NAME); static. */
const char *app_oidc_provider_name(const struct app *app);

/* Where the browser goes to sign in, and the state it keeps in its cookie. */
struct app_oidc_start {
	char url[APP_OIDC_URL_MAX];
	char state[APP_OIDC_STATE_MAX];
};

/*
 * Begins a sign-in that lands on `return_path` (a local path: "/app/..."; NULL or
 * anything else: "/app/").  404 OIDC_OFF when not configured, 503 when the provider's
 * discovery fails, or a database error.  `now` in seconds.
 */
enum tr_code app_oidc_begin(struct app_session *s, const char *return_path, long long now,
			    const char *request_id, struct app_oidc_start *out,
			    struct tr_error *err);

/* The provider's redirect back. */
struct app_oidc_callback {
	const char *state;        /* the query's state (may be NULL) */
	const char *code;         /* the query's code (may be NULL) */
	const char *error;        /* the query's error, when the provider refused */
	const char *cookie_state; /* the browser's transom_oidc cookie (may be NULL) */
};

/* A finished sign-in: the web session and where to land. */
struct app_oidc_done {
	struct app_web_session ws;
	char return_path[512];
};

/*
 * Finishes a sign-in.  400 OIDC_STATE naming `state` when it is missing, not the
 * cookie's, unknown, used or expired; 401 OIDC_CODE when the provider refuses the code
 * (or reported an error); 401 OIDC_ID_TOKEN naming what is wrong with the ID token; 403
 * when the claims map to no role or the user is disabled; 503 when the provider cannot
 * be reached.  TR_OK with `out` (the cookie's secret in out->ws, shown once).
 */
enum tr_code app_oidc_finish(struct app_session *s, const struct app_oidc_callback *cb,
			     long long now, const char *request_id, struct app_oidc_done *out,
			     struct tr_error *err);

/*
 * Signs out the session behind cookie `secret` (may be NULL: none) and gives, in `url`,
 * where the browser goes next: the provider's end_session_endpoint with id_token_hint
 * and post_logout_redirect_uri (TRANSOM_PUBLIC_URL/app/signin) when the session was
 * made by the provider and the provider has one, else PUBLIC_URL/app/signin.
 */
enum tr_code app_oidc_logout(struct app_session *s, const char *secret, long long now,
			     const char *request_id, char url[APP_OIDC_URL_MAX],
			     struct tr_error *err);

/*
 * Back-channel logout: verifies `logout_token` (signature, iss, aud = client id, iat,
 * the back-channel logout event, sid or sub, no nonce) and ends the sessions of its sid
 * (*n how many).  400 LOGOUT_TOKEN when it does not verify.
 */
enum tr_code app_oidc_backchannel(struct app_session *s, const char *logout_token, long long now,
				  const char *request_id, long long *n, struct tr_error *err);

/*
 * Maps verified ID token `claims` by `policy` (policies/identity.json; its "sign_in"
 * member) into `out`: the user name from sign_in.user_claim (default
 * preferred_username, then sub), e-mail and display name (claims email and name), and
 * the union of the roles of every sign_in.rules entry whose match holds, plus
 * sign_in.default_roles.  false when there is no usable user name (1 to 128 of A-Z a-z
 * 0-9 . _ @ + -, and not "system").  Pure.
 */
bool app_oidc_map(const json_t *policy, const json_t *claims, struct app_user *out);

/*
 * The policy groups (people.json's cab, ecab, teams) `claims` give by `policy`'s
 * sign_in.groups ([{"match": {...}, "group": "cab"}]; every entry that matches), as a
 * comma-separated list into `out` (outlen bytes; "" when none).  Pure.
 */
void app_oidc_groups(const json_t *policy, const json_t *claims, char *out, size_t outlen);

/*
 * Whether `user` may still vote for policy group `group` as far as the identity provider
 * is concerned: always when `policy` (identity.json) leaves groups to people.json
 * (sign_in.group_source absent or "people") or the user never signed in through the
 * provider; with "claims", only when their last sign-in's claims gave that group.  Reads
 * through `st` (in the caller's transaction).  DB_ONE with *held, or an error.
 */
struct store;
enum db_status app_oidc_group_held(struct store *st, const json_t *policy, const char *user,
				   const char *group, bool *held);

#endif /* TRANSOM_APP_OIDC_LOGIN_H */
