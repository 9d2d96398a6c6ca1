/*
 * metrics.h -- counters and histograms, rendered in the Prometheus text format.
 *
 * Lock-free: every counter is an atomic, so the request path never waits on another
 * thread.  Routes are known at start-up (the route table), so per-route series are
 * plain arrays indexed by route; index `nroutes` stands for "no route matched".
 */
#ifndef TRANSOM_METRICS_H
#define TRANSOM_METRICS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct metrics;

/*
 * Creates the registry for `nroutes` routes whose patterns are `names` (borrowed, must
 * outlive the registry).  Returns NULL when out of memory.
 */
struct metrics *metrics_new(const char *const *names, size_t nroutes);
void metrics_free(struct metrics *m);

/* Records one finished request: route index (nroutes = unmatched), status, duration. */
void metrics_request(struct metrics *m, size_t route, int status, double seconds);

/* Database events. */
void metrics_db_error(struct metrics *m);
void metrics_db_reconnect(struct metrics *m);

/* A reload of the definitions succeeded (ok) or was refused. */
void metrics_reload(struct metrics *m, bool ok);

/*
 * The deployment gate answered `decision` (allow, wait, deny) for `reason` (the decision's
 * reason_code, see records/deployments.c): transom_gate_decisions_total{decision,reason}.
 * Unknown words are counted as "other".
 */
void metrics_gate(struct metrics *m, const char *decision, const char *reason);

/*
 * An Alertmanager notification was taken in (`outcome` NULL: transom_alerts_received_total)
 * or did `outcome` (opened, updated, deduped, resolved, reopened, linked, refused:
 * transom_alerts_total{outcome}).  Unknown words count as "other".
 */
void metrics_alert(struct metrics *m, const char *outcome);

/* A maintenance silence was created, expired, or a call failed: transom_silences_total{event}. */
void metrics_silence(struct metrics *m, const char *event);

/*
 * A deployment observed outside Transom was judged: authorized by a change, or not
 * (transom_observed_deployments_total{authorized}).
 */
void metrics_observation(struct metrics *m, bool authorized);

/*
 * The audit checkpoint job wrote a checkpoint at `unix_seconds` (wall clock): exported as
 * transom_audit_checkpoint_last_timestamp_seconds.
 */
void metrics_checkpoint(struct metrics *m, double unix_seconds);

/*
 * Publishes the database-derived figures read by the metrics job at `unix_seconds`:
 * `stats` (borrowed) is store_ops_stats()'s object.  They are rendered here, once, and
 * the text is swapped in under a lock held only for the swap, so /metrics never waits on
 * the database; NULL `stats` only records a failed collection
 * (transom_metrics_collection_failures_total).
 */
void metrics_publish_db(struct metrics *m, json_t *stats, double unix_seconds);

/*
 * Renders every series as Prometheus text into an owned, NUL-terminated string, or NULL
 * when out of memory.  `definitions_ok` is exported as a gauge; `remote` (borrowed, may
 * be NULL) is the remote calendars' status, [{"name", "ok", "last_success_ms"}], exported
 * as transom_remote_calendar_up and transom_remote_calendar_last_success_seconds.
 */
char *metrics_render(const struct metrics *m, bool definitions_ok, json_t *remote);

#endif /* TRANSOM_METRICS_H */
