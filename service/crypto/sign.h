/*
 * sign.h -- Ed25519 signatures (RFC 8032) through OpenSSL: the audit checkpoints' keys.
 *
 * A private key lives in a PEM file (PKCS #8, as `openssl genpkey -algorithm ed25519`
 * writes it, or `transomd audit keygen`).  Public keys and signatures travel as text:
 * a public key is "ed25519:" followed by the 32 raw bytes in standard base64, a
 * signature the 64 raw bytes in standard base64.
 */
#ifndef TRANSOM_CRYPTO_SIGN_H
#define TRANSOM_CRYPTO_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#define CRYPTO_SIGN_PUB_LEN 64  /* "ed25519:" + 44 base64 characters + NUL, rounded up */
#define CRYPTO_SIGN_SIG_LEN 100 /* 88 base64 characters + NUL, rounded up */

struct crypto_sign_key;

/*
 * Loads the Ed25519 private key in the PEM file `path`.  Returns an owned key (free with
 * crypto_sign_key_free), or NULL with a short reason in `err` (unreadable, not PEM, not
 * Ed25519).  Refuses a file that others than its owner may read or write.
 */
struct crypto_sign_key *crypto_sign_key_load(const char *path, char *err, size_t errlen);

/*
 * Creates a new key in the PEM file `path`, mode 0600, failing (false, reason in `err`)
 * when the file exists or cannot be written.
 */
bool crypto_sign_key_generate(const char *path, char *err, size_t errlen);

/* Frees `key`; NULL is a no-op. */
void crypto_sign_key_free(struct crypto_sign_key *key);

/* The public half of `key` as "ed25519:<base64>" into `out`.  False when libcrypto fails. */
bool crypto_sign_key_public(const struct crypto_sign_key *key, char out[CRYPTO_SIGN_PUB_LEN]);

/*
 * Signs `len` bytes at `msg`; the signature in base64 into `out`.  False when libcrypto
 * fails (then `out` is "").  Thread-safe for distinct keys; one key may be shared by
 * threads that do not sign at the same time.
 */
bool crypto_sign(const struct crypto_sign_key *key, const void *msg, size_t len,
		 char out[CRYPTO_SIGN_SIG_LEN]);

/*
 * Whether `sig` (base64) is a valid signature of `len` bytes at `msg` under `pub`
 * ("ed25519:<base64>").  False for any malformed input.  Thread-safe.
 */
bool crypto_sign_verify(const char *pub, const void *msg, size_t len, const char *sig);

#endif /* TRANSOM_CRYPTO_SIGN_H */
