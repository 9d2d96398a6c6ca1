/*
 * credentials.h -- who is calling: API tokens (bearer) and app passwords (HTTP Basic,
 * for calendar programs) checked against the database, app passwords made, listed and
 * revoked, and the news that credentials changed.
 *
 * The two kinds never stand in for each other: the caller (api/dispatch.c) picks the
 * kind by route.  A lookup checks the user's state and the credential's own revocation
 * in the database, so a disabled user or a revoked token is refused on every replica.
 */
#ifndef TRANSOM_APP_CREDENTIALS_H
#define TRANSOM_APP_CREDENTIALS_H

#include <jansson.h>
#include <stdbool.h>

#include "app/session.h"
#include "core/err.h"

/* A user as a credential shows them: who, and what this credential lets them do. */
struct app_user {
	char name[128];
	char email[256];
	char display_name[256];
	unsigned roles;     /* ROLE_* bits of the credential */
	long long token_id; /* the API token (an app password's: the token that made it) */
};

/*
 * The unrevoked API token of an active user whose SHA-256 hex is `hash`: TR_OK with
 * *found, and `user` filled when found; or a database error in `err`.
 */
enum tr_code app_auth_bearer(struct app_session *s, const char *hash, const char *request_id,
			     struct app_user *user, bool *found, struct tr_error *err);

/*
 * HTTP Basic `credentials` (the base64 after "Basic "): the user part is a user name or
 * one of the person's e-mail addresses (policies/people.json), the password one of the
 * user's unrevoked app passwords (compared in constant time).  As app_auth_bearer.
 */
enum tr_code app_auth_basic(struct app_session *s, const char *credentials, const char *request_id,
			    struct app_user *user, bool *found, struct tr_error *err);

/*
 * User `name` (or one of the person's e-mail addresses) with one of their unrevoked app
 * passwords, `password`: the web app's sign-in.  As app_auth_bearer; `user->token_id` is
 * the app password's id.
 */
enum tr_code app_auth_password(struct app_session *s, const char *name, const char *password,
			       const char *request_id, struct app_user *user, bool *found,
			       struct tr_error *err);

/*
 * Credentials may have changed (revoked here, or a NOTIFY from another replica or the
 * CLI): every remembered lookup of every thread is forgotten (app->token_gen), and the
 * event streams opened with a credential that is now dead are ended.  Any thread.
 */
void app_credentials_changed(struct app *app);

/*
 * Whether user `name` may act: TR_OK unless the users table holds them disabled (a
 * credential from elsewhere, such as an OpenID Provider's JWT, names a user Transom may
 * have disabled); then TR_E_UNAUTHENTICATED, or a database error.
 */
enum tr_code app_user_active(struct app_session *s, const char *name, const char *request_id,
			     struct tr_error *err);

/* The password made by app_password_create: shown once. */
#define APP_PASSWORD_MAX 64

/*
 * Makes an app password for `who` with label `label` (may be NULL; at most 200
 * characters: 422 otherwise): it carries who's roles and dies with who's token.  TR_OK
 * with *id and `password` (APP_PASSWORD_MAX bytes) filled, or an error in `err`.
 */
enum tr_code app_password_create(struct app_session *s, const struct app_actor *who,
				 const char *label, long long *id, char password[APP_PASSWORD_MAX],
				 struct tr_error *err);

/* who's app passwords (never the secrets), as an owned JSON array in *out. */
enum tr_code app_passwords_list(struct app_session *s, const struct app_actor *who, json_t **out,
				struct tr_error *err);

/* Revokes who's app password `id`: 404 when who has no such active one. */
enum tr_code app_password_revoke(struct app_session *s, const struct app_actor *who, long long id,
				 struct tr_error *err);

#endif /* TRANSOM_APP_CREDENTIALS_H */
