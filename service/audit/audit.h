/*
 * audit.h -- the tamper-evident audit trail: canonical event content and its hash chain.
 *
 * Every create, edit, transition, note and vote appends one event.  Its content is the
 * canonical JSON (sorted keys, compact, ASCII) of what happened; its hash is
 * SHA-256(prev_hash_hex || content) in lowercase hex, the first event chaining from 64
 * zeros.  The position (seq) is not in the content: the chain itself fixes the order, so
 * changing, removing or reordering any stored event breaks it, which
 * audit_verify_step() detects.  The database computes the same hash when it appends
 * (store/audit_log.c), so an event needs one statement.  Pure: no I/O, no clock.
 */
#ifndef TRANSOM_AUDIT_H
#define TRANSOM_AUDIT_H

#include <jansson.h>
#include <stdbool.h>

#include "crypto/crypto.h"

#define AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* What an event records; strings are borrowed, any but `action` may be NULL. */
struct audit_event {
	const char *at;        /* RFC 3339 UTC with milliseconds */
	const char *actor;     /* user name, or "system" */
	const char *record_id; /* "CHG-12", or NULL for events about no record */
	const char *action;    /* "created", "updated", "transitioned", "note", "vote", ... */
	const char *request_id;
	json_t *detail; /* action-specific: from/to state, event, changed fields, ... */
};

/* The canonical content of `ev` as an owned string, or NULL when out of memory. */
char *audit_content(const struct audit_event *ev);

/* hash = SHA-256(prev || content), lowercase hex. */
void audit_hash(const char *prev, const char *content, char out[CRYPTO_SHA256_HEX_LEN]);

/* One stored row, as read back for verification (all borrowed). */
struct audit_row {
	long long seq;
	const char *actor, *record_id, *action, *content, *prev_hash, *hash;
};

/*
 * Checks `row` against the chain so far: `expect_seq` and `expect_prev` (the previous
 * row's hash, or AUDIT_GENESIS).  Returns true when the row verifies; otherwise false
 * with a short reason in `why` (e.g. "hash does not match content").
 */
bool audit_verify_step(const struct audit_row *row, long long expect_seq, const char *expect_prev,
		       char *why, size_t whylen);

#endif /* TRANSOM_AUDIT_H */
