/*
 * test_jose.c -- the JOSE module (jose/jose.h) with fixed keys and a fixed `now`: a JWKS
 * keeps only keys fit to sign, tokens of RS256 and ES256 verify, and every forgery the
 * bearer path must refuse is refused for its own reason (tampered payload, alg none,
 * HS256 keyed with the public key, unknown kid, a key of another type or use, EdDSA);
 * then the claim checks at the edges of their skew.
 */
#include <string.h>

#include "../unit/harness.h"
#include "jose/jose.h"
#include "jose_vectors.h"

#define NOW 1700000100LL

static struct jose_jwks *keys(void)
{
	char err[128] = "";
	size_t skipped = 0;
	struct jose_jwks *k = jose_jwks_parse(JWKS, strlen(JWKS), &skipped, err, sizeof err);
	CHECKF(k != NULL, "%s", err);
	return k;
}

static void test_jwks_keeps_signing_keys_only(void)
{
	char err[128] = "";
	size_t skipped = 0;
	struct jose_jwks *k = jose_jwks_parse(JWKS, strlen(JWKS), &skipped, err, sizeof err);
	CHECK(k != NULL);
	CHECK_INT(jose_jwks_count(k), 2);
	CHECK_INT(skipped, 4); /* use enc, alg RS512, OKP (no EdDSA in libcjose 0.6), oct */
	CHECK(jose_jwks_has(k, "r1") && jose_jwks_has(k, "e1"));
	CHECK(!jose_jwks_has(k, "renc") && !jose_jwks_has(k, "h1") && !jose_jwks_has(k, "ed1"));
	jose_jwks_free(k);
	CHECK(jose_jwks_parse("{\"nokeys\":1}", 12, NULL, err, sizeof err) == NULL);
	CHECK(strstr(err, "keys") != NULL);
	CHECK(jose_jwks_parse("not json", 8, NULL, err, sizeof err) == NULL);
	jose_jwks_free(NULL);
}

static void test_rs256_and_es256_verify(void)
{
	struct jose_jwks *k = keys();
	json_t *c = NULL;
	CHECK_INT(jose_jws_verify(k, TOK_RS256, &c), JOSE_OK);
	CHECK_STR(json_string_value(json_object_get(c, "repository")), "acme/payments");
	json_decref(c);
	CHECK_INT(jose_jws_verify(k, TOK_ES256, &c), JOSE_OK);
	CHECK_STR(json_string_value(json_object_get(c, "sub")), "repo:acme/payments");
	json_decref(c);
	char kid[64];
	CHECK_INT(jose_token_kid(TOK_ES256, kid, sizeof kid), JOSE_OK);
	CHECK_STR(kid, "e1");
	jose_jwks_free(k);
}

static void test_forgeries_refused(void)
{
	struct jose_jwks *k = keys();
	json_t *c = NULL;
	CHECK_INT(jose_jws_verify(k, TOK_TAMPERED, &c), JOSE_SIGNATURE);
	CHECK(c == NULL);
	CHECK_INT(jose_jws_verify(k, TOK_NONE, &c), JOSE_ALG);
	CHECK_INT(jose_jws_verify(k, TOK_HS256_PUB, &c), JOSE_ALG);
	CHECK_INT(jose_jws_verify(k, TOK_EDDSA, &c), JOSE_ALG);
	CHECK_INT(jose_jws_verify(k, TOK_UNKNOWN_KID, &c), JOSE_UNKNOWN_KID);
	CHECK_INT(jose_jws_verify(k, TOK_ES_WITH_RSA_KID, &c), JOSE_KEY_UNFIT);
	CHECK_INT(jose_jws_verify(k, TOK_RS_WITH_ENC_KEY, &c), JOSE_UNKNOWN_KID);
	CHECK_INT(jose_jws_verify(k, "abc", &c), JOSE_MALFORMED);
	CHECK_INT(jose_jws_verify(k, "a.b.c", &c), JOSE_MALFORMED);
	CHECK_INT(jose_jws_verify(k, "", &c), JOSE_MALFORMED);
	CHECK(c == NULL);
	jose_jwks_free(k);
}

/*
 * libcjose's base64url decoder aborts the process (an assert) on some malformed input,
 * such as "A=AA": a token segment or key member that is not plain base64url of a
 * decodable length must be refused before it gets there (found by fuzz_jose).
 */
static void test_undecodable_base64url_refused_not_fatal(void)
{
	struct jose_jwks *k = keys();
	json_t *c = NULL;
	char kid[64];
	CHECK_INT(jose_jws_verify(k, "A=AA.eyJz.c2ln", &c), JOSE_MALFORMED);
	CHECK_INT(jose_token_kid("A=AA.eyJz.c2ln", kid, sizeof kid), JOSE_MALFORMED);
	CHECK_INT(jose_jws_verify(k, "eyJhb.eyJz.c2ln", &c), JOSE_MALFORMED); /* 4k+1 */
	/* a valid header, then a payload and a signature of 4k+1 characters */
	char t[2048];
	const char *dot = strchr(TOK_RS256, '.');
	snprintf(t, sizeof t, "%.*s.A=AA.c2ln", (int)(dot - TOK_RS256), TOK_RS256);
	CHECK_INT(jose_jws_verify(k, t, &c), JOSE_MALFORMED);
	snprintf(t, sizeof t, "%.*s.eyJz.A=AA", (int)(dot - TOK_RS256), TOK_RS256);
	CHECK_INT(jose_jws_verify(k, t, &c), JOSE_MALFORMED);
	CHECK(c == NULL);
	jose_jwks_free(k);
	/* a JWKS whose modulus or coordinate is not decodable: that key is skipped */
	static const char bad[] =
		"{\"keys\": [{\"kty\": \"RSA\", \"kid\": \"r\", \"e\": \"AQAB\", \"n\": \"A=AA\"},"
		" {\"kty\": \"EC\", \"crv\": \"P-256\", \"kid\": \"e\", \"x\": \"e=1m\","
		" \"y\": \"AAAA\"}, {\"kty\": \"RSA\", \"kid\": \"s\", \"e\": 1, \"n\": "
		"\"AAAA\"}]}";
	char err[128];
	size_t skipped = 0;
	k = jose_jwks_parse(bad, strlen(bad), &skipped, err, sizeof err);
	CHECK(k != NULL);
	CHECK_INT(jose_jwks_count(k), 0);
	CHECK_INT(skipped, 3);
	jose_jwks_free(k);
}

static enum jose_status check(const char *json, long long now)
{
	struct jose_expect e = {"https://op.test", "transom", 60};
	json_t *c = json_loads(json, 0, NULL);
	CHECK(c != NULL);
	enum jose_status s = jose_claims_check(c, &e, now);
	json_decref(c);
	return s;
}

#define GOOD_ISS_AUD "\"iss\":\"https://op.test\",\"aud\":\"transom\""

static void test_claims(void)
{
	CHECK_INT(
		check("{" GOOD_ISS_AUD ",\"sub\":\"s\",\"exp\":1000,\"nbf\":900,\"iat\":900}", 950),
		JOSE_OK);
	CHECK_INT(check("{\"iss\":\"https://op.test/"
			"\",\"aud\":\"transom\",\"sub\":\"s\",\"exp\":1000}",
			950),
		  JOSE_ISSUER);
	CHECK_INT(check("{\"aud\":\"transom\",\"sub\":\"s\",\"exp\":1000}", 950), JOSE_ISSUER);
	CHECK_INT(
		check("{\"iss\":\"https://op.test\",\"aud\":\"other\",\"sub\":\"s\",\"exp\":1000}",
		      950),
		JOSE_AUDIENCE);
	CHECK_INT(check("{\"iss\":\"https://op.test\",\"aud\":[\"a\",\"transom\"],\"sub\":\"s\","
			"\"exp\":1000}",
			950),
		  JOSE_OK);
	CHECK_INT(check("{\"iss\":\"https://op.test\",\"aud\":[\"a\"],\"sub\":\"s\",\"exp\":1000}",
			950),
		  JOSE_AUDIENCE);
	/* exp with 60 s of skew: 1059 still passes, 1060 does not; no exp never does */
	CHECK_INT(check("{" GOOD_ISS_AUD ",\"sub\":\"s\",\"exp\":1000}", 1059), JOSE_OK);
	CHECK_INT(check("{" GOOD_ISS_AUD ",\"sub\":\"s\",\"exp\":1000}", 1060), JOSE_EXPIRED);
	CHECK_INT(check("{" GOOD_ISS_AUD ",\"sub\":\"s\"}", 1), JOSE_EXPIRED);
	/* nbf and iat: up to 60 s ahead of now */
	CHECK_INT(check("{" GOOD_ISS_AUD ",\"sub\":\"s\",\"exp\":2000,\"nbf\":1060}", 1000),
		  JOSE_OK);
	CHECK_INT(check("{" GOOD_ISS_AUD ",\"sub\":\"s\",\"exp\":2000,\"nbf\":1061}", 1000),
		  JOSE_NOT_YET_VALID);
	CHECK_INT(check("{" GOOD_ISS_AUD ",\"sub\":\"s\",\"exp\":2000,\"iat\":1061}", 1000),
		  JOSE_NOT_YET_VALID);
	CHECK_INT(check("{" GOOD_ISS_AUD ",\"sub\":\"\",\"exp\":2000}", 1000), JOSE_SUBJECT);
	CHECK_INT(check("{" GOOD_ISS_AUD ",\"exp\":2000}", 1000), JOSE_SUBJECT);
}

static void test_signed_token_claims_at_fixed_now(void)
{
	struct jose_jwks *k = keys();
	json_t *c = NULL;
	struct jose_expect e = {"https://op.test", "transom", 60};
	CHECK_INT(jose_jws_verify(k, TOK_RS256, &c), JOSE_OK);
	CHECK_INT(jose_claims_check(c, &e, NOW), JOSE_OK);
	CHECK_INT(jose_claims_check(c, &e, 1700000660), JOSE_EXPIRED);
	CHECK_INT(jose_claims_check(c, &e, 1699999900), JOSE_NOT_YET_VALID);
	json_decref(c);
	jose_jwks_free(k);
}

TESTS(test_jwks_keeps_signing_keys_only, test_rs256_and_es256_verify, test_forgeries_refused,
      test_claims, test_signed_token_claims_at_fixed_now,
      test_undecodable_base64url_refused_not_fatal)
