/*
 * app.h -- the process context of the application layer: what every use case, HTTP
 * handler and background job of one transomd process shares.
 *
 * The layers above (api/ for HTTP, jobs/ for the background workers, main/) reach the
 * use cases through this context; nothing here knows of HTTP.
 */
#ifndef TRANSOM_APP_H
#define TRANSOM_APP_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "config/config.h"
#include "defs/defs.h"
#include "metrics/metrics.h"

struct feed_cache;
struct events_hub;
struct alarm_clock;
struct net_guard;
struct crypto_keyring;
struct app_db_check;
struct identity;

/* Everything shared by all threads of the process. */
struct app {
	const struct config *cfg; /* immutable */
	struct defs_holder defs;  /* current definitions */
	struct metrics *metrics;  /* lock-free counters */
	atomic_ulong token_gen;   /* bumped when any credential may have changed (cache flush) */
	char public_url[1024];    /* base URL for links */
	/* Live record events (events/events.h); NULL = none. */
	struct events_hub *events;
	/* Deadlines of parked long-polls (core/alarm.h); NULL = none. */
	struct alarm_clock *alarms;
	/* Remote calendars' fetch status, written by the fetcher (jobs/), read by /readyz
	 * and /metrics: [{"name", "url", "ok", "cached", "last_attempt", "last_success_ms",
	 * "error"}] (owned, guarded by remote_lock). */
	pthread_mutex_t remote_lock;
	json_t *remote;
	/* The schedule calendar shared by the ICS feeds and CalDAV (app/feed_cache.h). */
	struct feed_cache *feed_cache;
	/* Which addresses outbound requests may reach (TRANSOM_WEBHOOK_ALLOW_NETS; net.h):
	 * webhooks, remote calendars, GitHub callbacks.  Set by cmd_serve; owned by it. */
	const struct net_guard *guard;
	/* The key of secrets at rest (TRANSOM_SECRET_KEY_FILE; crypto/seal.h).  Set by
	 * cmd_serve; owned by it. */
	const struct crypto_keyring *keyring;
	/* Each thread's struct app_session (app/session.h). */
	pthread_key_t session_key;
	/* /readyz's database check (app/system.h). */
	struct app_db_check *db_check;
	/* JWT bearer tokens of TRANSOM_OIDC_ISSUER (app/identity.h); NULL = none accepted. */
	struct identity *identity;
};

/*
 * Prepares `app`: its definitions (`initial`, stolen), metrics over the `nroutes` route
 * names `routes` (borrowed; they must outlive `app`), the feed cache, the long-poll
 * clock, the per-thread sessions and the readiness check.  `cfg` is borrowed.  Returns 0, or -1
 * when out of memory (then `initial` is still the caller's and there is nothing to destroy).
 */
int app_init(struct app *app, const struct config *cfg, struct defs *initial,
	     const char *const *routes, size_t nroutes);
void app_destroy(struct app *app);

/* A copy of app->remote (owned; an empty array when none). */
json_t *app_remote_status(struct app *app);

#endif /* TRANSOM_APP_H */
