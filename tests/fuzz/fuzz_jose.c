/*
 * fuzz_jose.c -- libFuzzer target: the JOSE module's parsers (jose/jose.h) on untrusted
 * bytes: a bearer token, and the JWKS a provider serves.
 *
 * The input is "JWKS\ntoken": the part before the first newline is parsed as a JWK set,
 * the rest is verified as a compact JWS against it, and any claims that verify are
 * checked.  Without a newline the whole input is the token, verified against no keys.
 * Must never crash, leak or hang; claims come back only with JOSE_OK.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jose/jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char *nl = memchr(text, '\n', size);
	const char *token = text;
	struct jose_jwks *keys = NULL;
	if (nl != NULL) {
		char err[128];
		*nl = '\0';
		keys = jose_jwks_parse(text, (size_t)(nl - text), NULL, err, sizeof err);
		token = nl + 1;
	}
	char kid[64];
	(void)jose_token_kid(token, kid, sizeof kid);
	json_t *claims = NULL;
	enum jose_status s = jose_jws_verify(keys, token, &claims);
	if ((s == JOSE_OK) != (claims != NULL))
		abort();
	if (claims != NULL) {
		struct jose_expect e = {"https://op.test", "transom", 60};
		(void)jose_claims_check(claims, &e, 1700000100);
		json_decref(claims);
	}
	if (jose_status_text(s) == NULL)
		abort();
	jose_jwks_free(keys);
	free(text);
	return 0;
}
