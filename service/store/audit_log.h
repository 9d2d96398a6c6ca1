/*
 * audit_log.h -- the audit aggregate: appending to the hash chain, reading it back.
 */
#ifndef TRANSOM_STORE_AUDIT_LOG_H
#define TRANSOM_STORE_AUDIT_LOG_H

#include <jansson.h>

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

#endif /* TRANSOM_STORE_AUDIT_LOG_H */
