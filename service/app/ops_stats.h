/*
 * ops_stats.h -- the database figures of /metrics (store_ops_stats), shaped against the
 * definitions: what the metrics job publishes.
 */
#ifndef TRANSOM_APP_OPS_STATS_H
#define TRANSOM_APP_OPS_STATS_H

#include <jansson.h>

#include "app/session.h"

/*
 * Reads the figures on `s` (one statement, bounded by the statement timeout) and shapes
 * them: stats["lead_time"] (the changes in a final state of their workflow, one series
 * per outcome), stats["approval_latency"] and stats["windows"] (per window, the seconds
 * offered and booked in the 7 days from `now_ms`).  Owned, or NULL when the database
 * failed (logged).
 */
json_t *app_ops_stats(struct app_session *s, long long now_ms);

#endif /* TRANSOM_APP_OPS_STATS_H */
