/*
 * token.h -- issuing API tokens: a random secret shown once, only its hash kept.
 */
#ifndef TRANSOM_AUTH_TOKEN_H
#define TRANSOM_AUTH_TOKEN_H

#include <stddef.h>

#include "store/store.h"

#define AUTH_TOKEN_MAX 64 /* "trn_" + 43 base64url characters + NUL, with room */

/*
 * Creates a token for user `name` (created or updated with `email` and `display_name`,
 * either may be NULL) with `roles` (enum role bits, not 0).  Writes the token text to
 * `token` (AUTH_TOKEN_MAX bytes) and its id to *id.  DB_ONE on success; DB_HARD also
 * when the CSPRNG fails.
 */
enum db_status auth_token_issue(struct store *st, const char *name, const char *email,
				const char *display_name, unsigned roles,
				char token[AUTH_TOKEN_MAX], long long *id);

/* True when `name` is a valid user name (1-128 of A-Z a-z 0-9 . _ @ + -). */
int auth_user_name_valid(const char *name);

#endif /* TRANSOM_AUTH_TOKEN_H */
