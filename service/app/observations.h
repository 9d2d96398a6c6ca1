/*
 * observations.h -- unauthorized-change detection: a deployment observed outside Transom
 * (GitHub deployment_status, Argo CD, Flux or any CD tool through POST /v1/observations)
 * is authorized when a change of its service and environment was implementing, or booked
 * for a window containing the time it was observed; otherwise it is flagged: a stored
 * record, a metric (the caller's), the event change.unauthorized (live events and
 * webhooks, written with the record), and with policies/incidents.json
 * unauthorized.open_incident an incident.  Idempotent by (source, external_id).
 */
#ifndef TRANSOM_APP_OBSERVATIONS_H
#define TRANSOM_APP_OBSERVATIONS_H

#include "app/records.h"

/* What was observed, as decoded from a request.  Strings borrowed; optional ones NULL. */
struct observation_req {
	const char *source;      /* required: ^[a-z0-9][a-z0-9._-]{0,63}$ ("argocd", "github") */
	const char *external_id; /* the source's id (1..200); default service@env:ref@observed_at */
	const char *service;     /* required: a service of the catalog */
	const char *environment; /* default production */
	const char *ref;         /* version, tag or commit (at most 200 bytes) */
	const char *url;         /* http(s), at most 2000 bytes */
	const char *observed_at; /* RFC 3339, at most 5 minutes ahead; default now */
};

/*
 * Judges and records observation `in`: REC_CREATED with the observation {"id", "source",
 * "external_id", "service", "environment", "ref", "url", "observed_at", "received_at",
 * "reporter", "authorized", "change", "incident", "reason"} (kind "observation"), or
 * REC_DONE with the earlier one for a repeated (source, external_id).  422 names a bad
 * field.
 */
enum tr_code records_observe(struct rec_ctx *c, const struct observation_req *in,
			     struct rec_reply *out, struct tr_error *err);

/*
 * The newest observations (`unauthorized`: only those flagged), observed at or after
 * `since` (RFC 3339, may be NULL), at most `limit` (may be NULL: 100; 1..500):
 * {"observations": [...]}.  400 names a bad since or limit.
 */
enum tr_code records_observations(struct rec_ctx *c, bool unauthorized, const char *since,
				  const char *limit, struct rec_reply *out, struct tr_error *err);

/* Observation `id` (404 when none). */
enum tr_code records_observation_get(struct rec_ctx *c, const char *id, struct rec_reply *out,
				     struct tr_error *err);

#endif /* TRANSOM_APP_OBSERVATIONS_H */
