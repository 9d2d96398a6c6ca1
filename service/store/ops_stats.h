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
 *    "mail_pending": N, "mail_dead": N, "outbox_backlog": N,
 *    "lead": [{"workflow", "state", "n", "sum", "le": [N...]}],
 *    "approval": {"n", "sum", "le": [N...]}, "booked": [{"window", "secs"}]}.
 * "lead" is, per workflow and current state of the changes, how long they took from
 * creation to entering that state (the caller keeps the final states): "n" changes,
 * "sum" seconds, "le" the cumulative counts at most OPS_LEAD_BUCKETS seconds.  "approval"
 * is, over the changes whose approvals were decided by votes, the seconds from the request
 * to the last vote, with the counts at most OPS_APPROVAL_BUCKETS seconds.  "booked" is, per
 * window uid, the seconds booked by changes (each change once, whatever its services)
 * starting within the next 7 days.
 * A change awaits approvals while its data holds an "approvals" object that is neither
 * satisfied nor rejected; its age is measured from when it entered its state.
 * Returns DB_ONE, or DB_DOWN/DB_SOFT/DB_HARD (then *out is NULL).
 */
#define OPS_LEAD_BUCKETS                                                                           \
	{                                                                                          \
		3600, 14400, 86400, 172800, 604800, 1209600, 2592000, 7776000                      \
	}
#define OPS_APPROVAL_BUCKETS                                                                       \
	{                                                                                          \
		300, 900, 3600, 14400, 86400, 172800, 604800                                       \
	}

enum db_status store_ops_stats(struct store *st, json_t **out);

#endif /* TRANSOM_STORE_OPS_STATS_H */
