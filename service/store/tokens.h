/*
 * tokens.h -- the API-token aggregate: users (with their lifecycle: active or disabled)
 * and their bearer tokens.
 */
#ifndef TRANSOM_STORE_TOKENS_H
#define TRANSOM_STORE_TOKENS_H

#include <jansson.h>

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
