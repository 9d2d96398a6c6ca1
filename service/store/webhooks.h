/*
 * webhooks.h -- SQL of webhook subscriptions, their deliveries and attempts.
 *
 * The outbox (written with every record change, in its transaction) is fanned out into
 * one delivery per matching active subscription; UNIQUE (webhook_id, outbox_id) makes a
 * fan-out repeated after a crash harmless.  Senders claim due deliveries with
 * FOR UPDATE SKIP LOCKED and hold them by a lease (next_attempt_at pushed past the
 * request timeout), so replicas never send one attempt twice and a sender that died
 * mid-request is retried once the lease ends.
 *
 * Every function takes a connection used by one thread at a time, runs outside any
 * caller transaction (each statement is its own), and returns DB_DOWN, DB_SOFT or
 * DB_HARD on failure (see store.h).  JSON results are owned by the caller.
 */
#ifndef TRANSOM_STORE_WEBHOOKS_H
#define TRANSOM_STORE_WEBHOOKS_H

#include <jansson.h>
#include <stdbool.h>

#include "store/store.h"

/* ---- subscriptions ------------------------------------------------------------------ */

/*
 * Stores an active subscription of `owner` (an existing user) to `events` (a JSON array
 * of patterns, borrowed; checked by the caller) at `url`, signed with the secret
 * `sealed_secret` seals (crypto/seal.h; stored as given).  *out receives {"id", "owner", "url",
 * "events", "active", "created_at"}. DB_ONE; DB_HARD when a CHECK refuses the values.
 */
enum db_status store_webhook_insert(struct store *st, const char *owner, const char *url,
				    json_t *events, const char *sealed_secret, json_t **out);

/*
 * Active subscriptions of `owner` (everyone's when NULL), all of them or only `id` (when
 * > 0), oldest first, as an owned array in *out of {"id", "owner", "url", "events",
 * "active", "created_at"}; with `counts`, each also has "deliveries": {"pending",
 * "delivered", "dead"}.  Never the secret.  DB_ONE (also for an empty array).
 */
enum db_status store_webhooks_list(struct store *st, const char *owner, long long id, bool counts,
				   json_t **out);

/*
 * Deactivates subscription `id` of `owner` (anyone's when NULL): it matches no new event,
 * and its pending deliveries are marked dead ("the webhook was deleted").  DB_ONE, or
 * DB_NONE when there is no such active subscription.
 */
enum db_status store_webhook_deactivate(struct store *st, long long id, const char *owner);

/* Which deliveries store_webhook_deliveries() lists. */
struct store_delivery_filter {
	long long webhook_id; /* required */
	long long id;         /* > 0: only this delivery */
	long long before;     /* > 0: only ids below (paging, newest first) */
	const char *status;   /* "pending", "delivered", "dead" or NULL */
	const char *record;   /* the outbox event's record id, or NULL */
	unsigned limit;       /* 1..500 */
};

/*
 * The deliveries of a subscription (the caller checked it is visible), newest first, as
 * an owned array in *out of {"id", "outbox_id", "record_id", "topic", "status",
 * "attempts", "replays", "created_at", "next_attempt_at" (pending only), "delivered_at",
 * "last_status_code", "last_error", "history": [{"attempt", "at", "status_code",
 * "error", "duration_ms"}]}.  DB_ONE.
 */
enum db_status store_webhook_deliveries(struct store *st, const struct store_delivery_filter *f,
					json_t **out);

/*
 * Sends delivery `delivery_id` of active subscription `webhook_id` of `owner` (anyone's
 * when NULL) again: a dead or delivered delivery becomes pending, due now, with its
 * attempts reset.  `was` (16 bytes) receives the status it had; a pending one is left
 * alone.  DB_ONE, or DB_NONE when there is no such delivery.
 */
enum db_status store_webhook_replay(struct store *st, long long webhook_id, long long delivery_id,
				    const char *owner, char was[16]);

/* ---- the delivery worker ------------------------------------------------------------- */

/*
 * Fans out up to `limit` outbox events not yet fanned out, oldest first, in one
 * statement: one delivery per active subscription created before the event whose
 * patterns match its topic; the events are then marked (outbox.delivered_at).  Events
 * locked by another replica are skipped.  *events and *deliveries receive the counts.
 */
enum db_status store_webhook_fanout(struct store *st, unsigned limit, unsigned *events,
				    unsigned *deliveries);

/*
 * Marks dead the pending deliveries that are due but used `max_attempts` attempts already
 * (a sender died during the last one, or the limit was lowered).  Returns the count.
 */
enum db_status store_webhook_expire(struct store *st, unsigned max_attempts);

/*
 * The subscriptions whose secret is not sealed under key `key_id` yet (plain, or sealed
 * under an older key): an owned array in *out of {"id", "secret" (plain or null),
 * "secret_enc" (or null)}.  DB_ONE (also empty).
 */
enum db_status store_webhook_secrets_to_seal(struct store *st, const char *key_id, json_t **out);

/* Stores subscription `id`'s secret as `sealed` and forgets any plain copy.  DB_ONE/NONE. */
enum db_status store_webhook_secret_seal(struct store *st, long long id, const char *sealed);

/* A claimed delivery: what one attempt needs.  Strings owned; see store_webhook_job_clear. */
struct store_webhook_job {
	long long id; /* the delivery */
	long long webhook_id;
	int attempt; /* this attempt's number, from 1 */
	char *topic;
	char *payload; /* the outbox event's payload, JSON text */
	char *url;
	char *secret_sealed; /* the secret as crypto_seal() left it ("" when not sealed yet) */
	char *secret;        /* a legacy plain secret not sealed yet ("" when sealed) */
	char *created_at;    /* the outbox event's time, RFC 3339 with milliseconds */
};

/*
 * Claims the most overdue pending delivery of an active subscription with attempts left
 * (fewer than `max_attempts`): its attempt count goes up and it is leased for `lease_ms`
 * (due again then, should no outcome be recorded).  DB_ONE with *job filled (release it
 * with store_webhook_job_clear), or DB_NONE when nothing is due.
 */
enum db_status store_webhook_claim(struct store *st, long long lease_ms, unsigned max_attempts,
				   struct store_webhook_job *job);

/* Frees what `job` owns and zeroes it.  NULL is a no-op. */
void store_webhook_job_clear(struct store_webhook_job *job);

/* What became of one attempt. */
enum store_webhook_outcome {
	STORE_WEBHOOK_DELIVERED, /* a 2xx reply */
	STORE_WEBHOOK_RETRY,     /* failed; due again after retry_in_ms */
	STORE_WEBHOOK_DEAD,      /* failed, and that was the last attempt */
};

/*
 * Records attempt `job->attempt` of `job->id`, started at `started_ms` (wall clock, ms
 * since the epoch) and lasting `duration_ms`: the reply's `status_code` (0: none) and
 * `error` (NULL on success) join the history, and the delivery takes `outcome` -- unless
 * it moved on meanwhile (replayed, deleted, or claimed again after its lease ran out),
 * when only the history is written.  DB_ONE when the delivery was updated, DB_NONE when
 * it had moved on.
 */
enum db_status store_webhook_record(struct store *st, const struct store_webhook_job *job,
				    long long started_ms, long long duration_ms, int status_code,
				    const char *error, enum store_webhook_outcome outcome,
				    long long retry_in_ms);

#endif /* TRANSOM_STORE_WEBHOOKS_H */
