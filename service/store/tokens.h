/*
 * tokens.h -- the API-token aggregate: users and their bearer tokens.
 */
#ifndef TRANSOM_STORE_TOKENS_H
#define TRANSOM_STORE_TOKENS_H

#include <jansson.h>

#include "http/http.h"
#include "store/store.h"

/*
 * Creates (or updates the e-mail and display name of) user `name` and stores a token
 * whose SHA-256 hex is `hash` with `roles` (enum role bits).  `email` and
 * `display_name` may be NULL (kept as they were).  Sets *id.  DB_ONE on success.
 */
enum db_status store_token_create(struct store *st, const char *name, const char *email,
				  const char *display_name, unsigned roles, const char *hash,
				  long long *id);

/*
 * Finds the unrevoked token with SHA-256 hex `hash` and fills `user`.  DB_ONE when
 * found, DB_NONE when not (unknown or revoked).
 */
enum db_status store_token_lookup(struct store *st, const char *hash, struct http_user *user);

/* Lists every token (without hashes) as an owned JSON array in *out. */
enum db_status store_token_list(struct store *st, json_t **out);

/* Revokes token `id`.  DB_ONE when it was active, DB_NONE when unknown or revoked. */
enum db_status store_token_revoke(struct store *st, long long id);

#endif /* TRANSOM_STORE_TOKENS_H */
