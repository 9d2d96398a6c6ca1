/*
 * checkpoint.h -- signed checkpoints of the audit chain: what is signed, and the line
 * that carries it.
 *
 * A checkpoint anchors the chain outside the database.  It names the head (seq, hash)
 * at a moment, the previous checkpoint's seq, and the stored hash of every event in
 * between (so a verifier can name the first event of a rewritten history, not only the
 * checkpoint that no longer matches).  The signed message is
 *
 *   transom-audit-checkpoint/1\nseq=S\nhash=H\nat=T\nprev_seq=P\nhashes_sha256=D\n
 *
 * where D is SHA-256 (hex) of the listed hashes concatenated.  A checkpoint travels as
 * one JSON line: {"seq", "hash", "at", "prev_seq", "hashes": [...], "hashes_sha256",
 * "key", "sig"}.  Pure: no I/O, no clock.
 */
#ifndef TRANSOM_AUDIT_CHECKPOINT_H
#define TRANSOM_AUDIT_CHECKPOINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "crypto/crypto.h"
#include "crypto/sign.h"

struct audit_checkpoint {
	long long seq;      /* the head's sequence number */
	long long prev_seq; /* the previous checkpoint's (0 for the first) */
	char hash[CRYPTO_SHA256_HEX_LEN];
	char at[40]; /* RFC 3339 UTC, when it was taken */
	char hashes_sha256[CRYPTO_SHA256_HEX_LEN];
	char key[CRYPTO_SIGN_PUB_LEN]; /* the signer's public key (informative) */
	char sig[CRYPTO_SIGN_SIG_LEN];
	char (*hashes)[CRYPTO_SHA256_HEX_LEN]; /* owned: events prev_seq+1 .. seq */
	size_t nhashes;
};

/*
 * Appends the stored hash of event prev_seq + 1 + nhashes.  False when out of memory or
 * `hash` is not 64 lowercase hex digits.
 */
bool audit_checkpoint_add_hash(struct audit_checkpoint *c, const char *hash);

/*
 * Fills hashes_sha256 from the list, then returns the message to sign (owned), or NULL
 * when out of memory.
 */
char *audit_checkpoint_message(struct audit_checkpoint *c);

/* The JSON line (owned, no newline), or NULL when out of memory. */
char *audit_checkpoint_line(const struct audit_checkpoint *c);

/* The checkpoint without its hash list, for the outbox and logs (owned JSON). */
json_t *audit_checkpoint_summary(const struct audit_checkpoint *c);

/*
 * Parses one line into `out` (cleared first; free with audit_checkpoint_clear).  False
 * with a short reason in `why` when it is not a well-formed checkpoint (fields, types,
 * hash list length seq - prev_seq, last hash == hash).  Does not check the signature.
 */
bool audit_checkpoint_parse(const char *line, struct audit_checkpoint *out, char *why,
			    size_t whylen);

/*
 * Whether the signature of a parsed `c` verifies under `pub` ("ed25519:<base64>").
 * Recomputes the message from the fields and the hash list.
 */
bool audit_checkpoint_verify(struct audit_checkpoint *c, const char *pub);

/* Frees the hash list; the struct may be reused.  NULL is a no-op. */
void audit_checkpoint_clear(struct audit_checkpoint *c);

#endif /* TRANSOM_AUDIT_CHECKPOINT_H */
