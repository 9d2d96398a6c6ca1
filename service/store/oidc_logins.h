/*
 * oidc_logins.h -- sign-ins through the OpenID Provider under way (table oidc_logins,
 * migration 0022), and the ID token kept with the session they made.
 *
 * A login is stored by the SHA-256 hex of its state and taken (deleted) once by the
 * callback: a state is good for one callback, within its lifetime.
 */
#ifndef TRANSOM_STORE_OIDC_LOGINS_H
#define TRANSOM_STORE_OIDC_LOGINS_H

#include <stddef.h>

#include <jansson.h>

#include "store/store.h"

#define STORE_OIDC_NONCE_MAX    129
#define STORE_OIDC_VERIFIER_MAX 129
#define STORE_OIDC_RETURN_MAX   512

/* A login under way. */
struct store_oidc_login {
	char nonce[STORE_OIDC_NONCE_MAX];        /* the ID token's nonce must equal it */
	char verifier[STORE_OIDC_VERIFIER_MAX];  /* the PKCE code_verifier */
	char return_path[STORE_OIDC_RETURN_MAX]; /* a local path ("/app/...") */
};

/*
 * Stores login `l` under state hash `state_hash`, valid `ttl_s` seconds; expired logins
 * are deleted on the way.  DB_ONE, or an error (DB_HARD for a violated check).
 */
enum db_status store_oidc_login_put(struct store *st, const char *state_hash,
				    const struct store_oidc_login *l, long long ttl_s);

/*
 * Takes (deletes and returns) the unexpired login of `state_hash` into `out`.  DB_ONE,
 * DB_NONE (unknown, taken already or expired), or an error.
 */
enum db_status store_oidc_login_take(struct store *st, const char *state_hash,
				     struct store_oidc_login *out);

/* Keeps `id_token` with web session `session_id`.  DB_ONE, DB_NONE, or an error. */
enum db_status store_session_set_id_token(struct store *st, long long session_id,
					  const char *id_token);

/*
 * The ID token of the live or ended session whose secret hashes to `hash`, owned in
 * *id_token (free; NULL when it has none).  DB_ONE, DB_NONE, or an error.
 */
enum db_status store_session_id_token(struct store *st, const char *hash, char **id_token);

/*
 * Provisions user `name` signing in through the provider: created when new, with `email`
 * and `display_name` (NULL: keep what is there; the provider's values replace older
 * ones).  *active set to whether the user is active.  DB_ONE, or an error.
 */
enum db_status store_oidc_user_provision(struct store *st, const char *name, const char *email,
					 const char *display_name, bool *active);

/*
 * Records the policy groups `groups` (comma-separated, may be "") the provider's claims
 * gave `user` at this sign-in, replacing earlier ones.  DB_ONE, or an error.
 */
enum db_status store_claim_groups_set(struct store *st, const char *user, const char *groups);

/*
 * The policy groups the claims gave `user` at their last sign-in, comma-separated, into
 * `out` (outlen bytes).  DB_ONE, DB_NONE (never signed in through the provider), or an
 * error.
 */
enum db_status store_claim_groups_get(struct store *st, const char *user, char *out, size_t outlen);

/*
 * The users whose claims gave them policy group `group` at their last sign-in, ordered by
 * name, as an owned JSON array of strings in *out.  DB_ONE, or an error (*out NULL).
 */
enum db_status store_claim_group_members(struct store *st, const char *group, json_t **out);

#endif /* TRANSOM_STORE_OIDC_LOGINS_H */
