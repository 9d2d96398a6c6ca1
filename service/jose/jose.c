/*
 * jose.c -- JWKS parsing, compact JWS verification by kid (over libcjose) and the
 * claim checks of an access token (jose.h).
 */
#include "jose/jose.h"

#include <cjose/cjose.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KID_MAX 256

/* One usable key: its kid, the one algorithm it verifies, the imported key. */
struct jose_key {
	char kid[KID_MAX];
	const char *alg; /* "RS256" or "ES256" (static) */
	cjose_jwk_t *jwk;
};

struct jose_jwks {
	struct jose_key *keys;
	size_t n;
};

const char *jose_status_text(enum jose_status s)
{
	switch (s) {
	case JOSE_OK:
		return "ok";
	case JOSE_MALFORMED:
		return "not a compact JWS of JSON";
	case JOSE_ALG:
		return "algorithm not accepted (RS256 and ES256 only)";
	case JOSE_UNKNOWN_KID:
		return "no key of the issuer has this kid";
	case JOSE_KEY_UNFIT:
		return "the key does not fit the algorithm";
	case JOSE_SIGNATURE:
		return "signature does not verify";
	case JOSE_ISSUER:
		return "issuer is not the configured one";
	case JOSE_AUDIENCE:
		return "audience does not include this service";
	case JOSE_EXPIRED:
		return "token has expired or has no exp";
	case JOSE_NOT_YET_VALID:
		return "token is not valid yet";
	case JOSE_SUBJECT:
		return "token has no subject";
	case JOSE_NOMEM:
		return "out of memory";
	}
	return "unknown";
}

/*
 * Whether `n` bytes at `s` are base64url that libcjose can decode.  Its decoder asserts
 * (aborts the process) on a length of 4k+1, so every untrusted segment and key member is
 * checked here before libcjose sees it.
 */
static bool b64url_ok(const char *s, size_t n)
{
	if (n % 4 == 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* Whether the members of JWK `k` that libcjose base64url-decodes are all decodable. */
static bool key_members_ok(const json_t *k)
{
	static const char *const b64[] = {"n", "e", "d", "p", "q", "dp", "dq", "qi", "x", "y", "k"};
	for (size_t i = 0; i < sizeof b64 / sizeof b64[0]; i++) {
		json_t *v = json_object_get(k, b64[i]);
		if (v != NULL &&
		    (!json_is_string(v) || !b64url_ok(json_string_value(v), json_string_length(v))))
			return false;
	}
	return true;
}

/* Whether compact JWS `t` is three segments of decodable base64url. */
static bool compact_ok(const char *t)
{
	const char *d1 = strchr(t, '.');
	const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	return d2 != NULL && strchr(d2 + 1, '.') == NULL && b64url_ok(t, (size_t)(d1 - t)) &&
	       b64url_ok(d1 + 1, (size_t)(d2 - d1 - 1)) && b64url_ok(d2 + 1, strlen(d2 + 1));
}

/* The algorithm a JWK may verify, or NULL when Transom will not use it. */
static const char *key_alg(const json_t *k)
{
	const char *kty = json_string_value(json_object_get(k, "kty"));
	const char *use = json_string_value(json_object_get(k, "use"));
	const char *alg = json_string_value(json_object_get(k, "alg"));
	const char *crv = json_string_value(json_object_get(k, "crv"));
	const char *fit = NULL;
	if (kty != NULL && strcmp(kty, "RSA") == 0)
		fit = "RS256";
	else if (kty != NULL && strcmp(kty, "EC") == 0 && crv != NULL && strcmp(crv, "P-256") == 0)
		fit = "ES256";
	if (fit == NULL ||
	    (json_object_get(k, "use") != NULL && (use == NULL || strcmp(use, "sig") != 0)))
		return NULL;
	if (json_object_get(k, "alg") != NULL && (alg == NULL || strcmp(alg, fit) != 0))
		return NULL;
	return fit;
}

struct jose_jwks *jose_jwks_parse(const char *json, size_t len, size_t *skipped, char *err,
				  size_t errlen)
{
	json_error_t je;
	size_t skip = 0;
	json_t *root = json_loadb(json, len, 0, &je);
	json_t *keys = json_object_get(root, "keys");
	if (!json_is_array(keys)) {
		snprintf(err, errlen, "not a JWK set: %s",
			 root == NULL ? je.text : "no \"keys\" array");
		json_decref(root);
		return NULL;
	}
	struct jose_jwks *set = calloc(1, sizeof *set);
	if (set == NULL ||
	    (json_array_size(keys) > 0 &&
	     (set->keys = calloc(json_array_size(keys), sizeof *set->keys)) == NULL)) {
		snprintf(err, errlen, "out of memory");
		free(set);
		json_decref(root);
		return NULL;
	}
	size_t i;
	json_t *k;
	json_array_foreach(keys, i, k) {
		const char *kid = json_string_value(json_object_get(k, "kid"));
		const char *alg = key_alg(k);
		if (kid == NULL || kid[0] == '\0' || strlen(kid) >= KID_MAX || alg == NULL ||
		    !key_members_ok(k)) {
			skip++;
			continue;
		}
		char *text = json_dumps(k, JSON_COMPACT);
		cjose_err ce;
		cjose_jwk_t *jwk = text ? cjose_jwk_import(text, strlen(text), &ce) : NULL;
		free(text);
		if (jwk != NULL && strcmp(alg, "RS256") == 0 &&
		    cjose_jwk_get_keysize(jwk, &ce) < 2048) {
			cjose_jwk_release(jwk);
			jwk = NULL;
		}
		if (jwk == NULL) {
			skip++;
			continue;
		}
		struct jose_key *dst = &set->keys[set->n++];
		snprintf(dst->kid, sizeof dst->kid, "%s", kid);
		dst->alg = alg;
		dst->jwk = jwk;
	}
	json_decref(root);
	if (skipped != NULL)
		*skipped = skip;
	return set;
}

void jose_jwks_free(struct jose_jwks *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->n; i++)
		cjose_jwk_release(k->keys[i].jwk);
	free(k->keys);
	free(k);
}

size_t jose_jwks_count(const struct jose_jwks *k)
{
	return k ? k->n : 0;
}

static const struct jose_key *find(const struct jose_jwks *k, const char *kid)
{
	for (size_t i = 0; k != NULL && kid != NULL && i < k->n; i++)
		if (strcmp(k->keys[i].kid, kid) == 0)
			return &k->keys[i];
	return NULL;
}

bool jose_jwks_has(const struct jose_jwks *k, const char *kid)
{
	return find(k, kid) != NULL;
}

/* The protected header of `token` as an owned JSON object, or NULL. */
static json_t *header_of(const char *token)
{
	const char *dot = strchr(token, '.');
	if (dot == NULL || dot == token || !compact_ok(token))
		return NULL;
	uint8_t *raw = NULL;
	size_t n = 0;
	cjose_err ce;
	if (!cjose_base64url_decode(token, (size_t)(dot - token), &raw, &n, &ce))
		return NULL;
	json_t *h = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
	cjose_get_dealloc()(raw);
	if (!json_is_object(h)) {
		json_decref(h);
		return NULL;
	}
	return h;
}

enum jose_status jose_token_kid(const char *token, char *kid, size_t kidlen)
{
	json_t *h = header_of(token);
	const char *k = json_string_value(json_object_get(h, "kid"));
	enum jose_status s = k != NULL && strlen(k) < kidlen ? JOSE_OK : JOSE_MALFORMED;
	snprintf(kid, kidlen, "%s", s == JOSE_OK ? k : "");
	json_decref(h);
	return s;
}

enum jose_status jose_jws_verify(const struct jose_jwks *keys, const char *token, json_t **claims)
{
	*claims = NULL;
	json_t *h = header_of(token);
	if (h == NULL)
		return JOSE_MALFORMED;
	const char *alg = json_string_value(json_object_get(h, "alg"));
	const char *kid = json_string_value(json_object_get(h, "kid"));
	enum jose_status s = JOSE_OK;
	const struct jose_key *key = NULL;
	if (alg == NULL || (strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0))
		s = JOSE_ALG;
	else if ((key = find(keys, kid)) == NULL)
		s = JOSE_UNKNOWN_KID;
	else if (strcmp(key->alg, alg) != 0)
		s = JOSE_KEY_UNFIT;
	json_decref(h);
	if (s != JOSE_OK)
		return s;

	cjose_err ce;
	cjose_jws_t *jws = cjose_jws_import(token, strlen(token), &ce);
	if (jws == NULL)
		return ce.code == CJOSE_ERR_NO_MEMORY ? JOSE_NOMEM : JOSE_MALFORMED;
	uint8_t *pt = NULL;
	size_t ptlen = 0;
	if (!cjose_jws_verify(jws, key->jwk, &ce))
		s = ce.code == CJOSE_ERR_NO_MEMORY ? JOSE_NOMEM : JOSE_SIGNATURE;
	else if (!cjose_jws_get_plaintext(jws, &pt, &ptlen, &ce))
		s = JOSE_MALFORMED;
	if (s == JOSE_OK) {
		json_t *c = json_loadb((const char *)pt, ptlen, JSON_REJECT_DUPLICATES, NULL);
		if (json_is_object(c))
			*claims = c;
		else {
			json_decref(c);
			s = JOSE_MALFORMED;
		}
	}
	cjose_jws_release(jws); /* owns pt */
	return s;
}

/* A NumericDate claim: true with *out when present and a number. */
static bool numeric(const json_t *claims, const char *name, long long *out)
{
	json_t *v = json_object_get(claims, name);
	if (json_is_integer(v))
		*out = json_integer_value(v);
	else if (json_is_real(v))
		*out = (long long)json_real_value(v);
	else
		return false;
	return true;
}

enum jose_status jose_claims_check(const json_t *claims, const struct jose_expect *e, long long now)
{
	const char *iss = json_string_value(json_object_get(claims, "iss"));
	if (iss == NULL || e->issuer == NULL || strcmp(iss, e->issuer) != 0)
		return JOSE_ISSUER;
	json_t *aud = json_object_get(claims, "aud");
	bool aud_ok = false;
	if (json_is_string(aud))
		aud_ok = strcmp(json_string_value(aud), e->audience) == 0;
	size_t i;
	json_t *a;
	json_array_foreach(json_is_array(aud) ? aud : NULL, i, a) {
		aud_ok = aud_ok ||
			 (json_is_string(a) && strcmp(json_string_value(a), e->audience) == 0);
	}
	if (!aud_ok)
		return JOSE_AUDIENCE;
	long long exp, nbf, iat;
	if (!numeric(claims, "exp", &exp) || now >= exp + e->skew)
		return JOSE_EXPIRED;
	if ((numeric(claims, "nbf", &nbf) && nbf > now + e->skew) ||
	    (numeric(claims, "iat", &iat) && iat > now + e->skew))
		return JOSE_NOT_YET_VALID;
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	if (sub == NULL || sub[0] == '\0')
		return JOSE_SUBJECT;
	return JOSE_OK;
}
