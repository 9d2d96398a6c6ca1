/*
 * audit_log.h -- the audit aggregate: appending to the hash chain, reading it back.
 */
#ifndef TRANSOM_STORE_AUDIT_LOG_H
#define TRANSOM_STORE_AUDIT_LOG_H

#include <jansson.h>

#include "audit/audit.h"
#include "store/store.h"

/*
 * Appends the `n` events of `ev` in order, inside the caller's transaction: locks the
 * chain head, numbers the events (sets ev[i].seq), hashes and inserts them.  Returns
 * DB_ONE, or an error.  Concurrent appenders queue on the head row.
 */
enum db_status store_audit_append(struct store *st, struct audit_event *ev, size_t n);

/* The events of record `id`, oldest first: an owned array of their content objects. */
enum db_status store_audit_of_record(struct store *st, const char *id, json_t **out);

/*
 * Recomputes the whole chain.  *out receives an owned object: {"ok": true, "events": N,
 * "head": "<hash>"}, or {"ok": false, "events": N, "first_bad": {"seq": s, "reason": r}}.
 */
enum db_status store_audit_verify(struct store *st, json_t **out);

#endif /* TRANSOM_STORE_AUDIT_LOG_H */
