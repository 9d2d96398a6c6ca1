/*
 * deployments.h -- SQL of the deployments table (the CI gate) and of window openings.
 */
#ifndef TRANSOM_STORE_DEPLOYMENTS_H
#define TRANSOM_STORE_DEPLOYMENTS_H

#include <jansson.h>

#include "store/store.h"

/*
 * Adds a deployment request and writes its new id ("DEP-7") into `id` (32 bytes): DB_ONE.
 * When `idem_key` (may be NULL) was used by `requester` before, adds nothing and writes
 * the earlier request's id: DB_NONE.
 */
enum db_status store_deployment_insert(struct store *st, const char *requester,
				       const char *idem_key, const char *service,
				       const char *environment, const char *template,
				       json_t *pipeline, char id[32]);

/*
 * Deployment `id` as an owned object in *out: {"id", "requester", "change" (or null),
 * "service", "environment", "template", "pipeline", "lease_expires_ms" (0: no lease),
 * "outcome" (or null), "details", "created_at"}.  DB_ONE, or DB_NONE when there is none.
 * With `lock` the row stays locked until the transaction ends.
 */
enum db_status store_deployment_get(struct store *st, const char *id, bool lock, json_t **out);

/* Links deployment `id` to the change made for it.  Queued. */
enum db_status store_deployment_set_change(struct store *st, const char *id, const char *change);

/* Grants the lease (hash of its token) until `expires_ms` unless one was granted.  DB_ONE or
 * DB_NONE. */
enum db_status store_deployment_lease(struct store *st, const char *id, const char *hash_hex,
				      long long expires_ms);

/* Whether `hash_hex` is the lease of deployment `id`.  DB_ONE or DB_NONE. */
enum db_status store_deployment_lease_check(struct store *st, const char *id, const char *hash_hex);

/* Records the outcome ("success", "failure", "expired") unless one is recorded.  DB_ONE or DB_NONE.
 */
enum db_status store_deployment_outcome(struct store *st, const char *id, const char *outcome,
					const char *details);

/* Deployments whose lease ran out before `now_ms` without an outcome: owned array of ids. */
enum db_status store_deployments_expired(struct store *st, long long now_ms, json_t **out);

/*
 * Marks the bookings that started by `now_ms` as opened, and for each change among them
 * queues the outbox event change.window_opened and its notification.  *n receives how
 * many changes.  Run it inside a transaction.
 */
enum db_status store_windows_open(struct store *st, long long now_ms, unsigned *n);

#endif /* TRANSOM_STORE_DEPLOYMENTS_H */
