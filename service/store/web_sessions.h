/*
 * web_sessions.h -- the web app's sign-in: browser sessions and one-time login links.
 *
 * Only the SHA-256 hex of a session secret or a link token is kept.  A lookup checks, in
 * the database, that the session has not ended or expired (absolute and idle limits),
 * that its user is active and, for a session signed in with an app password, that the
 * password (and the token that made it) is still unrevoked.
 */
#ifndef TRANSOM_STORE_WEB_SESSIONS_H
#define TRANSOM_STORE_WEB_SESSIONS_H

#include "store/store.h"
#include "store/tokens.h"

/* How a session was signed in (the column web_sessions.method). */
enum store_session_method {
	STORE_SESSION_PASSWORD, /* user name and app password */
	STORE_SESSION_LINK,     /* a one-time login link */
	STORE_SESSION_OIDC      /* the OpenID Provider */
};

/* What a new session is. */
struct store_session_new {
	const char *user; /* must exist in users */
	unsigned roles;   /* enum role bits, not 0 */
	enum store_session_method method;
	long long app_password_id; /* with STORE_SESSION_PASSWORD, else 0 */
	const char *idp_sid;       /* the provider's sid claim, or NULL */
	const char *secret_hash;   /* SHA-256 hex of the cookie's secret */
	long long ttl_s;           /* absolute lifetime */
};

/* Stores a new session; *id set.  DB_ONE, or an error. */
enum db_status store_session_create(struct store *st, const struct store_session_new *n,
				    long long *id);

/*
 * The live session whose secret hashes to `hash`, not idle longer than `idle_s`: fills
 * `user` (token_id = the session's id) and *expires_unix, and marks it seen.  DB_ONE,
 * DB_NONE (unknown, ended, expired, idle, user disabled, password revoked), or an error.
 */
enum db_status store_session_lookup(struct store *st, const char *hash, long long idle_s,
				    struct store_user *user, long long *expires_unix);

/* Ends the session whose secret hashes to `hash`.  DB_ONE when it was live, DB_NONE. */
enum db_status store_session_end(struct store *st, const char *hash);

/* Ends every live session with the provider's session id `sid` (back-channel logout);
 * *n set to how many.  DB_ONE when any, DB_NONE, or an error. */
enum db_status store_session_end_sid(struct store *st, const char *sid, long long *n);

/*
 * Stores a one-time login link for `user` (created if unknown, as a token holder is) with
 * `roles`, whose token hashes to `hash`, valid `ttl_s` seconds.  DB_ONE, or an error.
 */
enum db_status store_login_link_create(struct store *st, const char *user, unsigned roles,
				       const char *hash, long long ttl_s);

/*
 * Uses the login link whose token hashes to `hash`, once: fills `user` (roles = the
 * link's).  DB_ONE, DB_NONE (unknown, used, expired, user disabled), or an error.
 */
enum db_status store_login_link_use(struct store *st, const char *hash, struct store_user *user);

#endif /* TRANSOM_STORE_WEB_SESSIONS_H */
