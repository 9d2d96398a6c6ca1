/*
 * token.c -- token issuing shared by `transomd token create` and POST /v1/tokens.
 */
#include "auth/token.h"

#include <string.h>

#include "crypto/crypto.h"
#include "store/tokens.h"

int auth_user_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 128)
		return 0;
	return strspn(name,
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@+-") == n;
}

enum db_status auth_token_issue(struct store *st, const char *name, const char *email,
				const char *display_name, unsigned roles,
				char token[AUTH_TOKEN_MAX], long long *id)
{
	char hash[CRYPTO_SHA256_HEX_LEN];
	if (!crypto_token("trn_", 32, token, AUTH_TOKEN_MAX))
		return DB_HARD;
	crypto_sha256_hex(token, strlen(token), hash);
	return store_token_create(st, name, email, display_name, roles, hash, id);
}
