/*
 * audit_log.h -- the audit aggregate: appending to the hash chain, reading it back.
 */
#ifndef TRANSOM_STORE_AUDIT_LOG_H
#define TRANSOM_STORE_AUDIT_LOG_H

#include <jansson.h>
#include <stdbool.h>

#include "audit/audit.h"
#include "store/store.h"

/*
 * Appends the `n` events of `ev` in order, inside the caller's transaction: one statement
 * each locks the chain head, numbers and hashes the event (SHA-256 in PostgreSQL) and
 * moves the head.  The statements may be queued (store_queue) and sent with the next
 * round trip.  Returns DB_ONE, or an error.  Concurrent appenders queue on the head row.
 */
enum db_status store_audit_append(struct store *st, const struct audit_event *ev, size_t n);

/*
 * The sequence number of the last event appended (0 before the first) into *seq: it
 * moves with every audited write, so it tells readers whether anything changed.  DB_ONE.
 */
enum db_status store_audit_head(struct store *st, long long *seq);

/* The events of record `id`, oldest first: an owned array of their contents, with "seq". */
enum db_status store_audit_of_record(struct store *st, const char *id, json_t **out);

/*
 * Recomputes the whole chain.  *out receives an owned object: {"ok": true, "events": N,
 * "head": "<hash>"}, or {"ok": false, "events": N, "first_bad": {"seq": s, "reason": r}}.
 */
enum db_status store_audit_verify(struct store *st, json_t **out);

/*
 * The head of the chain: its sequence number into *seq and its hash into `hash` (0 and
 * 64 zeros before the first event).  DB_ONE, or an error.
 */
enum db_status store_audit_head_hash(struct store *st, long long *seq,
				     char hash[CRYPTO_SHA256_HEX_LEN]);

/*
 * Calls `fn` for every stored event with a sequence number above `after`, in order,
 * whatever the head says (offline verification reads everything there is), until `fn`
 * returns false or `upto` (when > 0) is passed.  The row is borrowed for the call.  Reads
 * in batches, each its own statement: run it inside a REPEATABLE READ transaction for a
 * consistent view.  DB_NONE when done or stopped, or an error.
 */
enum db_status store_audit_scan(struct store *st, long long after, long long upto,
				bool (*fn)(const struct audit_row *row, void *cls), void *cls);

#endif /* TRANSOM_STORE_AUDIT_LOG_H */
