/*
 * tokens.c -- token issuing shared by `transomd token create` and POST /v1/tokens.
 */
#include "app/tokens.h"

#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "policy/policy.h"
#include "store/tokens.h"

json_t *app_token_warnings(const struct policy_set *policies, const char *user)
{
	json_t *w = json_array();
	char text[400];
	if (w == NULL)
		return NULL;
	if (policies == NULL)
		snprintf(text, sizeof text,
			 "no policies are loaded: cannot tell whether user '%s' is in "
			 "policies/people.json",
			 user);
	else if (policy_user_resolve(policies, user) == NULL)
		snprintf(text, sizeof text,
			 "user '%s' is not in policies/people.json: the token works, but its "
			 "holder cannot vote as a CAB member (add them to people.json and reload)",
			 user);
	else
		return w;
	if (json_array_append_new(w, json_string(text)) != 0) {
		json_decref(w);
		return NULL;
	}
	return w;
}

int app_user_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 128)
		return 0;
	return strspn(name,
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@+-") == n;
}

enum db_status app_token_issue(struct store *st, const char *name, const char *email,
			       const char *display_name, unsigned roles, char token[AUTH_TOKEN_MAX],
			       long long *id)
{
	char hash[CRYPTO_SHA256_HEX_LEN];
	if (!crypto_token("trn_", 32, token, AUTH_TOKEN_MAX))
		return DB_HARD;
	crypto_sha256_hex(token, strlen(token), hash);
	return store_token_create(st, name, email, display_name, roles, hash, id);
}
