/*
 * crypto.h -- hashes, HMAC and randomness (the only module that includes OpenSSL headers).
 */
#ifndef TRANSOM_CRYPTO_H
#define TRANSOM_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define CRYPTO_SHA256_LEN     32
#define CRYPTO_SHA256_HEX_LEN 65 /* 64 hex digits and the NUL */

/* SHA-256 of `len` bytes at `data` into `out`.  Thread-safe. */
void crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_LEN]);

/* SHA-256 of `len` bytes as lowercase hex into `out`.  Thread-safe. */
void crypto_sha256_hex(const void *data, size_t len, char out[CRYPTO_SHA256_HEX_LEN]);

/*
 * HMAC-SHA256 (RFC 2104) of `len` bytes at `data` under the `keylen`-byte `key`, as
 * lowercase hex into `out`.  Returns false only when libcrypto fails (then `out` is "").
 * Thread-safe.  Used to sign webhook deliveries.
 */
bool crypto_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
			    char out[CRYPTO_SHA256_HEX_LEN]);

/* Overwrites `len` bytes at `p` with zeroes in a way the compiler keeps (secrets). */
void crypto_cleanse(void *p, size_t len);

/* Fills `out` with `len` bytes from the CSPRNG.  Returns false when it fails. */
bool crypto_random(void *out, size_t len);

/*
 * Whether strings `a` and `b` are equal, in time that depends only on their lengths (for
 * secrets: MACs, CSRF tokens).
 */
bool crypto_equal(const char *a, const char *b);

/*
 * Writes `prefix` followed by `nbytes` random bytes in unpadded base64url into `out`
 * (`outlen` bytes, NUL-terminated).  Returns false when randomness fails or `out` is
 * too small.  Used for API tokens and feed tokens.
 */
bool crypto_token(const char *prefix, size_t nbytes, char *out, size_t outlen);

/*
 * As crypto_token, for identifiers that are not secrets (request ids): the bytes come
 * from the CSPRNG through a per-thread pool refilled CRYPTO_ID_POOL bytes at a time,
 * which spares a CSPRNG call per identifier.  Thread-safe.
 */
#define CRYPTO_ID_POOL 4096
bool crypto_id(const char *prefix, size_t nbytes, char *out, size_t outlen);

#endif /* TRANSOM_CRYPTO_H */
