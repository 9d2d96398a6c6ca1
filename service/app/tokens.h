/*
 * tokens.h -- issuing API tokens: a random secret shown once, only its hash kept.
 */
#ifndef TRANSOM_APP_TOKENS_H
#define TRANSOM_APP_TOKENS_H

#include <jansson.h>
#include <stddef.h>

#include "store/store.h"

struct policy_set;

#define AUTH_TOKEN_MAX 64 /* "trn_" + 43 base64url characters + NUL, with room */

/*
 * Creates a token for user `name` (created or updated with `email` and `display_name`,
 * either may be NULL) with `roles` (enum role bits, not 0).  Writes the token text to
 * `token` (AUTH_TOKEN_MAX bytes) and its id to *id.  DB_ONE on success; DB_HARD also
 * when the CSPRNG fails.
 */
enum db_status app_token_issue(struct store *st, const char *name, const char *email,
			       const char *display_name, unsigned roles, char token[AUTH_TOKEN_MAX],
			       long long *id);

/*
 * What to tell whoever makes a token for `user` that does not stop it: an owned JSON
 * array of strings, empty when nothing.  Today: `user` is not a person of
 * policies/people.json (by name, e-mail or alias), so cannot vote as a CAB member.
 * `policies` may be NULL (not configured or not loaded: nothing can be checked, which is
 * said).  Pure; NULL only when out of memory.
 */
json_t *app_token_warnings(const struct policy_set *policies, const char *user);

/* True when `name` is a valid user name (1-128 of A-Z a-z 0-9 . _ @ + -). */
int app_user_name_valid(const char *name);

#endif /* TRANSOM_APP_TOKENS_H */
