/*
 * jose.h -- JSON Web Signatures for bearer tokens: a JWKS parsed, a compact JWS verified
 * against it by `kid`, and the claims of an access token checked.
 *
 * The only module that includes libcjose.  Pure: no I/O and no clock (`now` is a
 * parameter), so the API's bearer tokens and, later, the web sign-in's ID tokens are
 * checked by the same code.
 *
 * Accepted algorithms: RS256 (an RSA key of at least 2048 bits) and ES256 (an EC key on
 * P-256), each only with a key of its type; `none`, every HMAC (HS256 signed with a public
 * key is the classic confusion) and every other algorithm are refused before any key is
 * touched.  EdDSA is refused too: libcjose 0.6 has no OKP keys (see docs/security.md).
 * A key whose `use` is not "sig", or whose `alg` names another algorithm, is never used.
 */
#ifndef TRANSOM_JOSE_H
#define TRANSOM_JOSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Why a token was refused; JOSE_OK = accepted. */
enum jose_status {
	JOSE_OK = 0,
	JOSE_MALFORMED,     /* not three base64url segments of JSON */
	JOSE_ALG,           /* alg is none, HMAC or not one of RS256, ES256 */
	JOSE_UNKNOWN_KID,   /* no key of the set has the header's kid */
	JOSE_KEY_UNFIT,     /* the key's kty, curve, size, use or alg does not fit alg */
	JOSE_SIGNATURE,     /* the signature does not verify */
	JOSE_ISSUER,        /* iss is not the configured issuer */
	JOSE_AUDIENCE,      /* aud does not contain the configured audience */
	JOSE_EXPIRED,       /* exp is missing or past (beyond the skew) */
	JOSE_NOT_YET_VALID, /* nbf or iat is in the future (beyond the skew) */
	JOSE_SUBJECT,       /* sub is missing or empty */
	JOSE_NOMEM,         /* out of memory */
};

/* A short lowercase phrase for `s` ("signature does not verify"); static. */
const char *jose_status_text(enum jose_status s);

struct jose_jwks; /* an immutable key set; thread-safe to share once parsed */

/*
 * Parses a JWK Set (RFC 7517) of `len` bytes.  Keys without a `kid`, of a type other
 * than RSA or EC P-256, with `use` other than "sig" or `alg` other than RS256/ES256 are
 * skipped (counted in *skipped when not NULL).  Returns an owned set (jose_jwks_free), or
 * NULL with `err` when the text is not a JWKS or on out of memory.  Thread-safe.
 */
struct jose_jwks *jose_jwks_parse(const char *json, size_t len, size_t *skipped, char *err,
				  size_t errlen);

/* Frees a set.  NULL is a no-op. */
void jose_jwks_free(struct jose_jwks *k);

/* The number of usable keys in `k`. */
size_t jose_jwks_count(const struct jose_jwks *k);

/* Whether `k` holds a usable key named `kid`. */
bool jose_jwks_has(const struct jose_jwks *k, const char *kid);

/*
 * The protected header's `kid` of compact JWS `token` into `kid` (at most kidlen bytes,
 * NUL-terminated): JOSE_OK, or JOSE_MALFORMED (no such header, or not a JWS).  It is
 * unverified: use it only to pick a key set.
 */
enum jose_status jose_token_kid(const char *token, char *kid, size_t kidlen);

/*
 * Verifies compact JWS `token` against `keys`: the header's alg must be accepted, its
 * kid one of the set's keys, that key must fit the alg, and the signature must verify.
 * Then the payload must be a JSON object: returned owned in *claims.  Any other outcome
 * leaves *claims NULL.  Checks no claim (see jose_claims_check).  Thread-safe.
 */
enum jose_status jose_jws_verify(const struct jose_jwks *keys, const char *token, json_t **claims);

/* What an access token must say. */
struct jose_expect {
	const char *issuer;   /* iss equals it exactly */
	const char *audience; /* aud equals it, or is an array that contains it */
	long long skew;       /* seconds of clock difference tolerated */
};

/*
 * Checks verified `claims` at `now` (seconds since the epoch): iss, aud, exp (required:
 * now < exp + skew), nbf and iat (when present: not after now + skew), and a non-empty
 * string sub.  The first failure in that order is returned.  Pure.
 */
enum jose_status jose_claims_check(const json_t *claims, const struct jose_expect *e,
				   long long now);

#endif /* TRANSOM_JOSE_H */
