/*
 * web_sessions.h -- signing in to the web app: browser sessions behind a cookie, with a
 * CSRF token, made from a user name and app password, a one-time login link, or the
 * OpenID Provider; and signing out.
 *
 * The cookie holds a random secret; the database keeps its SHA-256.  The CSRF token is
 * derived from the secret (SHA-256 of "csrf:" and the secret): the page reads it from the
 * sign-in answer or GET /v1/session and sends it as X-CSRF-Token with every request that
 * changes something; a site that can make the browser send the cookie cannot read it.
 */
#ifndef TRANSOM_APP_WEB_SESSIONS_H
#define TRANSOM_APP_WEB_SESSIONS_H

#include <stdbool.h>

#include "app/credentials.h"
#include "app/session.h"
#include "core/err.h"

#define APP_SESSION_SECRET_MAX 64 /* "tws_" and 43 base64url characters, and the NUL */
#define APP_SESSION_CSRF_LEN   65 /* 64 hex digits and the NUL */

/* The cookie's name. */
#define APP_SESSION_COOKIE "transom_session"

/* A session made by a sign-in: the cookie's secret, shown once. */
struct app_web_session {
	char secret[APP_SESSION_SECRET_MAX];
	char csrf[APP_SESSION_CSRF_LEN];
	long long expires_unix; /* absolute end */
	long long max_age;      /* seconds from now to the end (the cookie's Max-Age) */
	struct app_user user;   /* who signed in; token_id = the session's id */
};

/* How a sign-in proves who it is: a name and app password, or a login link's token. */
struct app_sign_in {
	const char *user;     /* user name or e-mail address (with password) */
	const char *password; /* one of the user's app passwords */
	const char *link;     /* a login link's token (instead of user and password) */
};

/*
 * Signs in: 422 naming the field when neither a user and password nor a link is given,
 * 401 for a wrong password or a used, expired or unknown link (the same answer whatever
 * was wrong).  TR_OK with `out` filled, or an error in `err`.
 */
enum tr_code app_sign_in(struct app_session *s, const struct app_sign_in *in,
			 const char *request_id, struct app_web_session *out, struct tr_error *err);

/*
 * Opens a session for a user the OpenID Provider vouched for (app/identity.h made `user`
 * from the ID token's claims), with the provider's session id `sid` (NULL: none), for
 * back-channel logout.  The user is created when new.  TR_OK with `out`, or an error.
 */
enum tr_code app_sign_in_oidc(struct app_session *s, const struct app_user *user, const char *sid,
			      const char *request_id, struct app_web_session *out,
			      struct tr_error *err);

/*
 * The session behind cookie secret `secret`: TR_OK with *found and, when found, `user`
 * and `csrf` filled; or a database error.  An ended, expired or idle session, or one whose
 * user was disabled or whose app password was revoked, is not found.
 */
enum tr_code app_session_check(struct app_session *s, const char *secret, const char *request_id,
			       struct app_user *user, char csrf[APP_SESSION_CSRF_LEN], bool *found,
			       struct tr_error *err);

/* The CSRF token of cookie secret `secret`. */
void app_session_csrf(const char *secret, char csrf[APP_SESSION_CSRF_LEN]);

/* Ends the session behind `secret` (signing out; unknown or ended: still TR_OK). */
enum tr_code app_sign_out(struct app_session *s, const char *secret, const char *request_id,
			  struct tr_error *err);

/* Ends every session the OpenID Provider opened with session id `sid` (back-channel
 * logout); *n set to how many. */
enum tr_code app_sign_out_sid(struct app_session *s, const char *sid, const char *request_id,
			      long long *n, struct tr_error *err);

#define APP_LOGIN_LINK_MAX 64

/*
 * A one-time login link token for `user` with `roles` (names, comma-separated), valid
 * `ttl_s` seconds (60 to 86400), stored through `st` (`transomd user login-link` has no
 * application session): 422 naming the field for a bad user, role or ttl, 409 for a
 * disabled user, TR_E_DB_UNAVAILABLE/TR_E_INTERNAL for the database (store_last_error says
 * why).  The caller makes the URL (PUBLIC_URL/app/signin#link=TOKEN).
 */
struct store;
enum tr_code app_login_link_create(struct store *st, const char *user, const char *roles,
				   long long ttl_s, char token[APP_LOGIN_LINK_MAX],
				   struct tr_error *err);

#endif /* TRANSOM_APP_WEB_SESSIONS_H */
