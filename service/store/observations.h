/*
 * observations.h -- the observations aggregate: deployments seen from outside Transom and
 * whether a change authorized them (migration 0020).
 */
#ifndef TRANSOM_STORE_OBSERVATIONS_H
#define TRANSOM_STORE_OBSERVATIONS_H

#include <jansson.h>
#include <stdbool.h>

#include "store/store.h"

/* One observation to record.  Strings borrowed; ref, url and change may be NULL. */
struct store_observation {
	const char *source, *external_id, *service, *environment, *ref, *url, *reporter;
	long long observed_ms;
	const char *change; /* the authorizing change, or NULL: unauthorized */
	const char *reason;
};

/*
 * The change that authorizes a deployment of `service` to `environment` observed at
 * `observed_ms`: one implementing now, or one whose booked slot contains that time
 * (scheduled, implementing or since carried out), the most recently started first.  Its
 * id into `change` (32 bytes).  DB_ONE, DB_NONE when there is none, or an error.
 */
enum db_status store_observation_authorizer(struct store *st, const char *service,
					    const char *environment, long long observed_ms,
					    char change[32]);

/*
 * Records `o` unless (source, external_id) is recorded already.  `id` (32 bytes) receives
 * the observation's id, new or earlier; *created whether it is new.  DB_ONE or an error.
 */
enum db_status store_observation_insert(struct store *st, const struct store_observation *o,
					char id[32], bool *created);

/* Links the incident opened for unauthorized observation `id`. */
enum db_status store_observation_set_incident(struct store *st, const char *id,
					      const char *incident);

/*
 * Observation `id` as an owned object: {"id", "source", "external_id", "service",
 * "environment", "ref", "url", "observed_at", "received_at", "reporter", "authorized",
 * "change", "incident", "reason"}.  DB_ONE, DB_NONE when there is none.
 */
enum db_status store_observation_get(struct store *st, const char *id, json_t **out);

/*
 * The newest observations (only the unauthorized ones with `unauthorized`), observed at
 * or after `since_ms` (0: any time), newest first, at most `limit` (1..500): an owned array
 * of store_observation_get's objects.
 */
enum db_status store_observations_list(struct store *st, bool unauthorized, long long since_ms,
				       int limit, json_t **out);

#endif /* TRANSOM_STORE_OBSERVATIONS_H */
