/*
 * alerts.h -- SQL of the alert_groups, change_alerts and alert_silences tables: which
 * incident (or change) each Alertmanager alert group went to, and the maintenance
 * silences kept in Alertmanager for changes under way (an outbox, one row per change and
 * service).
 *
 * A change is "under way" on its services when one of its bookings spans now (whatever
 * its state, scheduled or implementing), or when it is implementing without a booking
 * (an emergency change); the change workflows' state names are assumed: `implementing`.
 */
#ifndef TRANSOM_STORE_ALERTS_H
#define TRANSOM_STORE_ALERTS_H

#include <jansson.h>
#include <stdbool.h>

#include "store/store.h"

/* An alert group as stored (all strings owned by the struct; store_alert_group_clear). */
struct store_alert_group {
	char *incident;          /* the group's incident, or NULL */
	char *incident_state;    /* that incident's state, or NULL */
	char *change;            /* the change the group was linked to, or NULL */
	int episode;             /* raised each time a new incident replaces a closed one */
	long long resolved_ms;   /* when its incident (in state resolved) got there, else 0 */
	long long notifications; /* notifications received, this one included */
	bool inserted;           /* this notification made the row */
};

void store_alert_group_clear(struct store_alert_group *g);

/*
 * Records a notification of group `key`: makes its row (service, priority, alertname and
 * receiver are kept from the first notification) or counts one more, with `status`
 * ("firing", "resolved") and the fingerprints of `fps` (a JSON array of strings, added to
 * those seen) at `now_ms`.  Fills `g` with the row as it is now.  DB_ONE.
 */
enum db_status store_alert_group_seen(struct store *st, const char *key, const char *receiver,
				      const char *service, const char *priority, const char *status,
				      const char *alertname, json_t *fps, long long now_ms,
				      struct store_alert_group *g);

/*
 * Sets the incident of episode `episode` of group `key` unless it has one.  DB_ONE when
 * set, DB_NONE when it already had one (or the episode moved on).
 */
enum db_status store_alert_group_set_incident(struct store *st, const char *key, int episode,
					      const char *incident);

/*
 * Starts a new episode of group `key` whose incident `old` (closed, or resolved longer
 * ago than the reopen window) is kept among previous_incidents; *episode receives the
 * episode now current (also when another request started it first).  DB_ONE.
 */
enum db_status store_alert_group_new_episode(struct store *st, const char *key, const char *old,
					     int *episode);

/* Records when group `key`'s incident was resolved (`resolved_ms`; 0: reopened).  DB_ONE. */
enum db_status store_alert_group_mark(struct store *st, const char *key, long long resolved_ms);

/*
 * Links group `key` to change `change`: the group's row names it, and change_alerts holds
 * {service, alertname, status, fingerprints (`fps`, added), first/last seen}.  DB_ONE.
 */
enum db_status store_alert_group_link(struct store *st, const char *key, const char *change,
				      const char *service, const char *alertname,
				      const char *status, json_t *fps, long long now_ms);

/*
 * The changes under way at `now_ms` (see above), touching `service` (NULL: any), oldest
 * booking first: owned array in *out of {"change", "services": [...], "end_ms" (the
 * latest booking's end, or null without one)}.
 */
enum db_status store_changes_under_way(struct store *st, const char *service, long long now_ms,
				       json_t **out);

/* ---- maintenance silences ------------------------------------------------------------- */

/*
 * Queues a silence for service `service` of change `change` over [start_ms, end_ms) with
 * `matchers` (a JSON array of Alertmanager matchers, ANDed): DB_ONE when made, DB_NONE
 * when the change already has one for that service (one silence per change and service).
 */
enum db_status store_silence_plan(struct store *st, const char *change, const char *service,
				  json_t *matchers, long long start_ms, long long end_ms);

/*
 * Silences whose change is no longer under way at `now_ms`, or whose end passed, are to
 * be expired (those never created are expired at once).  *n counts them.
 */
enum db_status store_silences_close(struct store *st, long long now_ms, unsigned *n);

/*
 * Claims up to 20 silences due at `now_ms` (to create or to expire), leasing each for
 * `lease_ms` so that no other replica takes it meanwhile: owned array in *out of
 * {"change", "service", "state": "pending"|"expire", "silence_id", "matchers", "starts_at",
 * "ends_at" (RFC 3339), "attempts"}.
 */
enum db_status store_silences_claim(struct store *st, long long now_ms, long long lease_ms,
				    json_t **out);

/*
 * Alertmanager made silence `silence_id` for `change`: active, or (when the change ended
 * meanwhile) to be expired at once.  DB_ONE.
 */
enum db_status store_silence_created(struct store *st, const char *change, const char *service,
				     const char *silence_id);

/* The silence of `change` on `service` was expired in Alertmanager (or was gone).  DB_ONE. */
enum db_status store_silence_expired(struct store *st, const char *change, const char *service);

/* A try failed with `error`: the next one at `next_ms`.  DB_ONE. */
enum db_status store_silence_failed(struct store *st, const char *change, const char *service,
				    long long next_ms, const char *error);

#endif /* TRANSOM_STORE_ALERTS_H */
