/*
 * alerts.h -- Prometheus Alertmanager: alert groups become incidents, and changes under
 * way get maintenance silences.
 *
 * Notifications (the webhook payload, version 4) are decoded by the transport into a
 * struct alert_notification; alerts_notify() decides what the group means under
 * policies/alerts.json (its service, its priority) and acts through the record use cases,
 * so the incident workflow's own transitions, audit events, webhooks and SLA timers hold:
 *   - a group firing for the first time opens one incident (deduplicated by groupKey;
 *     Alertmanager's retries and repeats only update the group's row);
 *   - a group whose every alert resolved resolves its incident (event `alert_resolved`);
 *   - a group firing again while its incident is resolved and within the policy's
 *     reopen_window reopens it (event `alert_refired`); later, or once the incident is
 *     closed, it opens a new incident (a new episode of the group; the earlier ones are
 *     listed on the new incident's alert_group.previous_incidents);
 *   - a group firing on a service while a change to it is under way is linked to the
 *     change (shown on GET of the change under "alerts") and opens no incident; when it
 *     still fires after the change, the incident it opens names the change as caused_by.
 *
 * Silences: the silence job (jobs/silences.c) plans one silence per service of each
 * change under way (store/alerts.h says when that is), with the matchers of
 * policies/alerts.json (default service="<name>"), and expires it when the change leaves
 * its window; the calls to Alertmanager are the job's.
 */
#ifndef TRANSOM_APP_ALERTS_H
#define TRANSOM_APP_ALERTS_H

#include <jansson.h>
#include <stddef.h>

#include "app/records.h"

/* One alert of a notification.  All borrowed from the decoded body. */
struct alert_item {
	const char *status;              /* "firing" or "resolved" (checked by alerts_notify) */
	const char *fingerprint;         /* may be NULL */
	const char *starts_at, *ends_at; /* as sent, may be NULL */
	json_t *labels;                  /* object */
	json_t *annotations;             /* object or NULL */
};

/* A webhook notification (one alert group).  All borrowed from the decoded body. */
struct alert_notification {
	const char *version;                                       /* must be "4" */
	const char *group_key;                                     /* non-empty */
	const char *status;                                        /* "firing" or "resolved" */
	const char *receiver, *external_url;                       /* may be NULL */
	json_t *group_labels, *common_labels, *common_annotations; /* objects or NULL */
	const struct alert_item *alerts;
	size_t n_alerts; /* at least 1 */
};

/*
 * Takes notification `n` in (see the top of this file) as c->actor.  Answers REC_DONE
 * {"group_key", "status", "action": opened|deduped|resolved|reopened|linked, "service",
 * "priority", "incident": id|null, "change": id|null}.  Refusals: 422 naming the field
 * (version not "4", empty groupKey or one over 2000 bytes, a status other than firing/resolved, no
 * alerts, an alert's status), 422 rule alert_service when no label names a catalog service and the
 * policy says refuse; 503 database.  Idempotent: a retried notification changes nothing
 * more than the group's counters.
 */
enum tr_code alerts_notify(struct rec_ctx *c, const struct alert_notification *n,
			   struct rec_reply *out, struct tr_error *err);

/*
 * Adds to `body` (a record's representation) the members of `extra` (borrowed), what the
 * alert tables say of the record as store_record_view reads it, that say something: a
 * change's "alerts" and "silences" when it has any, an incident's "alert_group" when it
 * has one.
 */
void alerts_annotate(json_t *body, json_t *extra);

/* ---- maintenance silences (jobs/silences.c) --------------------------------------------- */

/*
 * Plans a silence for each service of each change under way that has none yet, ending
 * with its booking (two hours from now without one), and marks for expiry those whose
 * change is no longer under way or whose end passed.  *planned and *closed count them.
 */
enum tr_code alerts_silences_plan(struct rec_ctx *c, unsigned *planned, unsigned *closed,
				  struct tr_error *err);

/*
 * Claims the silences due now, leased for `lease_ms`: owned array in *out as
 * store_silences_claim gives them, with "silence": the body to POST to Alertmanager's
 * /api/v2/silences (for state "pending").
 */
enum tr_code alerts_silences_due(struct rec_ctx *c, long long lease_ms, json_t **out,
				 struct tr_error *err);

/* Alertmanager made `silence_id` for `change`'s `service`. */
enum tr_code alerts_silence_created(struct rec_ctx *c, const char *change, const char *service,
				    const char *silence_id, struct tr_error *err);

/* Alertmanager expired the silence of `change`'s `service` (or did not know it). */
enum tr_code alerts_silence_expired(struct rec_ctx *c, const char *change, const char *service,
				    struct tr_error *err);

/* A call failed with `why`: tried again at `next_ms`. */
enum tr_code alerts_silence_failed(struct rec_ctx *c, const char *change, const char *service,
				   long long next_ms, const char *why, struct tr_error *err);

#endif /* TRANSOM_APP_ALERTS_H */
