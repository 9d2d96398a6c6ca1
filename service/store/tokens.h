/*
 * tokens.h -- the API-token aggregate: users (with their lifecycle: active or disabled)
 * and their bearer tokens.
 */
#ifndef TRANSOM_STORE_TOKENS_H
#define TRANSOM_STORE_TOKENS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"

/* A user as a credential lookup finds it: who, and what this credential lets them do. */
struct store_user {
	char name[128];
	char email[256];
	char display_name[256];
	unsigned roles; /* enum role bits of the credential */
	long long token_id;
};

/*
 * Creates (or updates the e-mail and display name of) user `name` and stores a token
 * whose SHA-256 hex is `hash` with `roles` (enum role bits).  `email` and
 * `display_name` may be NULL (kept as they were).  Sets *id.  DB_ONE on success.
 */
enum db_status store_token_create(struct store *st, const char *name, const char *email,
				  const char *display_name, unsigned roles, const char *hash,
				  long long *id);

/*
 * Finds the unrevoked token with SHA-256 hex `hash` of an active user and fills `user`.
 * DB_ONE when found, DB_NONE when not (unknown, revoked, or its user disabled).
 */
enum db_status store_token_lookup(struct store *st, const char *hash, struct store_user *user);

/* Lists every token (without hashes) as an owned JSON array in *out. */
enum db_status store_token_list(struct store *st, json_t **out);

/*
 * Revokes token `id` and the app passwords and feed URLs made with it, and tells every
 * replica to forget its cached lookups (NOTIFY).  DB_ONE when it was active, DB_NONE when
 * unknown or revoked.
 */
enum db_status store_token_revoke(struct store *st, long long id);

/* What disabling a user revoked. */
struct store_revoked {
	long long tokens, app_passwords, feeds, sessions;
};

/*
 * Disables user `name`: state 'disabled', and every token, app password, feed URL, web
 * session and unused login link of theirs revoked, in one statement; replicas are told
 * to forget cached lookups (NOTIFY).  Fills *out with the counts.  DB_ONE (also when
 * already disabled), DB_NONE when no such user.
 */
enum db_status store_user_disable(struct store *st, const char *name, struct store_revoked *out);

/*
 * Enables user `name` again (state 'active').  Credentials revoked by the disable stay
 * revoked: the user needs a new token.  DB_ONE, DB_NONE when no such user.
 */
enum db_status store_user_enable(struct store *st, const char *name);

/* DB_ONE when user `name` exists and is disabled; DB_NONE when active or unknown. */
enum db_status store_user_disabled(struct store *st, const char *name);

/*
 * Lists every user as an owned JSON array in *out: [{"user", "state", "email",
 * "display_name", "created_at", "disabled_at", "active_tokens"}].
 */
enum db_status store_user_list(struct store *st, json_t **out);

/* One row of the users table, as SCIM provisioning reads it. */
struct store_user_row {
	char name[128];
	char email[256];        /* "" when none */
	char display_name[256]; /* "" when none */
	bool active;            /* state 'active' */
	char created_at[32];    /* RFC 3339 UTC, seconds */
};

/* User `name` into `out`: DB_ONE, DB_NONE when there is none, or an error. */
enum db_status store_user_get(struct store *st, const char *name, struct store_user_row *out);

/*
 * The users (only `name_eq` when not NULL) ordered by name: *total of them in all, and
 * up to `limit` from the `offset`-th (0-based) into the owned array *rows (*n of them;
 * free()).  DB_ONE or DB_NONE (as *n), or an error (then *rows is NULL).
 */
enum db_status store_users_page(struct store *st, const char *name_eq, long offset, long limit,
				long *total, struct store_user_row **rows, size_t *n);

/*
 * Creates user `name` (active) with `email` and `display_name` (either may be NULL).
 * DB_ONE when made, DB_NONE when a user of that name exists already (nothing changed).
 */
enum db_status store_user_insert(struct store *st, const char *name, const char *email,
				 const char *display_name);

/*
 * Sets the e-mail (when `set_email`; NULL clears it) and the display name (when
 * `set_display`; NULL clears it) of user `name`.  DB_ONE, DB_NONE when no such user.
 */
enum db_status store_user_update(struct store *st, const char *name, bool set_email,
				 const char *email, bool set_display, const char *display_name);

/*
 * Of the users `names` (n of them), those disabled: inactive[i] is set for names[i].  A
 * name no users row has (a pipeline's JWT subject) is not disabled.  DB_ONE when some
 * are, DB_NONE when none is, or an error.
 */
enum db_status store_users_disabled(struct store *st, const char *const *names, size_t n,
				    bool *inactive);

/*
 * Of the credentials `ids` (n of them: API token ids, and web session ids negated), those
 * no longer valid -- revoked, ended, expired, or their user disabled or gone -- into
 * `dead` (room for n) and *ndead.  DB_ONE when there are some,
 * DB_NONE when all are alive, or an error.
 */
enum db_status store_tokens_dead(struct store *st, const long long *ids, size_t n, long long *dead,
				 size_t *ndead);

#endif /* TRANSOM_STORE_TOKENS_H */
