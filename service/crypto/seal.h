/*
 * seal.h -- secrets at rest: AES-256-GCM under a key kept outside the database.
 *
 * A keyring is read from a key file: one key a line, 64 hex digits (32 bytes), '#'
 * comments and blank lines ignored.  The first key seals; every key opens (rotation: put
 * a new key on the first line, restart -- transomd re-seals what an older key sealed --
 * then drop the old line).  A sealed value is text:
 *     v1:<key id>:<hex of nonce (12) | ciphertext | tag (16)>
 * the key id being the first 8 bytes of the SHA-256 of the key, in hex; `aad` binds the
 * value to its use (a sealed webhook secret does not open as anything else).
 *
 * Part of the crypto module (the only one that includes OpenSSL).  Keyrings are
 * immutable once loaded: thread-safe to share.
 */
#ifndef TRANSOM_CRYPTO_SEAL_H
#define TRANSOM_CRYPTO_SEAL_H

#include <stdbool.h>
#include <stddef.h>

#define CRYPTO_KEY_ID_LEN 17 /* 16 hex digits and the NUL */

/* The associated data of each kind of sealed value. */
#define CRYPTO_AAD_WEBHOOK_SECRET "transom:webhook-secret"

struct crypto_keyring;

/*
 * Loads the keyring of key file `path`.  With `create`, a missing file is made with one
 * new random key (mode 0600, atomically: a concurrent creator's file wins) and *created
 * (may be NULL) is set.  A file readable or writable by group or others is refused.
 * Owned (crypto_keyring_free); NULL with `err` (naming the line at fault).
 */
struct crypto_keyring *crypto_keyring_load(const char *path, bool create, bool *created, char *err,
					   size_t errlen);

/* A keyring of the one 32-byte `key` (tests).  Owned; NULL on OOM. */
struct crypto_keyring *crypto_keyring_of(const unsigned char key[32]);

void crypto_keyring_free(struct crypto_keyring *k);

/* The id of the sealing key (CRYPTO_KEY_ID_LEN). */
const char *crypto_keyring_id(const struct crypto_keyring *k);

/* `plain` sealed with the first key and `aad` (may be ""): owned text, NULL on failure. */
char *crypto_seal(const struct crypto_keyring *k, const char *plain, const char *aad);

/*
 * Opens `sealed` (any key of the ring; `aad` as sealed): owned plain text, or NULL when
 * it is malformed, its key is not in the ring, or it was tampered with.  *stale (may be
 * NULL) is set when a key other than the first sealed it (re-seal it).
 */
char *crypto_open(const struct crypto_keyring *k, const char *sealed, const char *aad, bool *stale);

#endif /* TRANSOM_CRYPTO_SEAL_H */
