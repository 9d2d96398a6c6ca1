/*
 * ops_stats.h -- the database-derived figures of /metrics, read in one bounded statement.
 */
#ifndef TRANSOM_STORE_OPS_STATS_H
#define TRANSOM_STORE_OPS_STATS_H

#include <jansson.h>

#include "store/store.h"

/*
 * Reads, in one statement (bounded by the connection's statement_timeout), the figures
 * an operator watches and sets *out (owned by the caller) to
 *   {"changes": [{"type", "state", "n"}], "approvals_pending": N,
 *    "approvals_oldest_seconds": S, "webhook_pending": N, "webhook_dead": N,
 *    "mail_pending": N, "mail_dead": N, "outbox_backlog": N}.
 * A change awaits approvals while its data holds an "approvals" object that is neither
 * satisfied nor rejected; its age is measured from when it entered its state.
 * Returns DB_ONE, or DB_DOWN/DB_SOFT/DB_HARD (then *out is NULL).
 */
enum db_status store_ops_stats(struct store *st, json_t **out);

#endif /* TRANSOM_STORE_OPS_STATS_H */
