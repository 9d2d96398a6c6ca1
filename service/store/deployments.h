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
 * "outcome" (or null), "details", "created_at", "rule" (a refusal's rule, or null)}.
 * DB_ONE, or DB_NONE when there is none.  With `lock` the row stays locked until the
 * transaction ends.
 */
enum db_status store_deployment_get(struct store *st, const char *id, bool lock, json_t **out);

/*
 * Claims the making of deployment `id`'s change: DB_ONE for the one request that does it
 * (or takes over a claim older than `stale_ms`), DB_NONE for the others.
 */
enum db_status store_deployment_claim(struct store *st, const char *id, long long stale_ms);

/* Links deployment `id` to the change made for it.  Queued. */
enum db_status store_deployment_set_change(struct store *st, const char *id, const char *change);

/* Grants the lease (hash of its token) until `expires_ms` unless one was granted.  DB_ONE or
 * DB_NONE. */
enum db_status store_deployment_lease(struct store *st, const char *id, const char *hash_hex,
				      long long expires_ms);

/* Whether `hash_hex` is the lease of deployment `id`.  DB_ONE or DB_NONE. */
enum db_status store_deployment_lease_check(struct store *st, const char *id, const char *hash_hex);

/*
 * Records that the gate refused deployment `id` at request time (outcome "denied"), with
 * `reason` and the registered rule `rule` that refused (may be NULL), unless an outcome is
 * recorded.  DB_ONE or DB_NONE.
 */
enum db_status store_deployment_deny(struct store *st, const char *id, const char *reason,
				     const char *rule);

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

/* ---- GitHub deployment protection rules --------------------------------------------------- */

/* Marks deployment `id` as GitHub's: where to report, for which environment and deployment. */
enum db_status store_github_attach(struct store *st, const char *id, const char *callback,
				   const char *environment, long long github_deployment);

/* The deployment made for GitHub deployment `github_deployment`, into `id` (32 bytes).
 * DB_ONE/DB_NONE. */
enum db_status store_github_find(struct store *st, long long github_deployment, char id[32]);

/*
 * GitHub deployments not yet reported whose next try is due at `now_ms`: owned array of
 * {"id", "callback", "environment"}, oldest first, at most 20.
 */
enum db_status store_github_pending(struct store *st, long long now_ms, json_t **out);

/* Records what GitHub was told ("approved", "rejected"). */
enum db_status store_github_reported(struct store *st, const char *id, const char *state);

/* Records a failed or premature report; the next try at `next_ms`. */
enum db_status store_github_later(struct store *st, const char *id, long long next_ms,
				  const char *error);

#endif /* TRANSOM_STORE_DEPLOYMENTS_H */
