/*
 * webhooks.h -- webhook subscriptions: the use cases of the API (create with the
 * outbound URL check, list, read, delete, deliveries, replay) and those of the delivery
 * worker (fan-out, claim, render and sign, record the outcome).
 *
 * A subscription belongs to the caller who created it; admins see and manage all of
 * them, anyone else gets 404 for another's.  The signing secret is a shared secret: it
 * is kept sealed (the worker needs it to sign) and never shown again, except that a
 * generated one is returned once, when the subscription is made.
 */
#ifndef TRANSOM_APP_WEBHOOKS_H
#define TRANSOM_APP_WEBHOOKS_H

#include <jansson.h>
#include <stdbool.h>

#include "app/session.h"
#include "core/err.h"

/* POST /v1/webhooks decoded (borrowed). */
struct app_webhook_request {
	const char *url;
	json_t *events;     /* a JSON array of event patterns */
	const char *secret; /* NULL: one is generated and shown once */
};

/*
 * Subscribes `who` to rq->events at rq->url: 422 naming the field for a bad URL (rule
 * "internal-address" for an address outbound requests may not reach), pattern or secret.
 * TR_OK with *out the subscription (owned; with "secret" and "note" when generated) and
 * *id, or an error in `err`.
 */
enum tr_code app_webhook_create(struct app_session *s, const struct app_actor *who,
				const struct app_webhook_request *rq, json_t **out, long long *id,
				struct tr_error *err);

/* The subscriptions who may see (an owned JSON array in *out). */
enum tr_code app_webhooks_list(struct app_session *s, const struct app_actor *who, json_t **out,
			       struct tr_error *err);

/*
 * Subscription `id` as who sees it, with its delivery counts when `counts`: *out owned.
 * `id_text` is how the caller named it (for the 404 of an id that is 0: not one).
 */
enum tr_code app_webhook_get(struct app_session *s, const struct app_actor *who, long long id,
			     const char *id_text, bool counts, json_t **out, struct tr_error *err);

/* Deletes (deactivates) subscription `id` of who's: 404 when who has none such. */
enum tr_code app_webhook_delete(struct app_session *s, const struct app_actor *who, long long id,
				const char *id_text, struct tr_error *err);

/* Which deliveries app_webhook_deliveries lists. */
struct app_delivery_query {
	const char *status; /* "pending", "delivered", "dead" or NULL */
	const char *record; /* a record id or NULL */
	long long before;   /* > 0: only ids below */
	long long limit;    /* page size */
};

/*
 * The deliveries of who's subscription `id` (404 as app_webhook_get), newest first:
 * *out owned {"webhook", "deliveries", "next_before" when the page is full}.
 */
enum tr_code app_webhook_deliveries(struct app_session *s, const struct app_actor *who,
				    long long id, const char *id_text,
				    const struct app_delivery_query *q, json_t **out,
				    struct tr_error *err);

/*
 * Sends delivery `delivery` of who's subscription `id` again: 404 when there is none, 409
 * when it is pending already.  *out (owned) the delivery as it is now.
 */
enum tr_code app_webhook_replay(struct app_session *s, const struct app_actor *who, long long id,
				long long delivery, json_t **out, struct tr_error *err);

/* ---- the delivery worker ---- */

/*
 * Fans new outbox events out into deliveries (at most `rounds` statements of `batch`
 * events each), then marks dead the due deliveries with no attempt of `max_attempts`
 * left.  Failures are logged.  -1 when the database failed (nothing more to do now), 1
 * when it stopped at the limit with events left, else 0.
 */
int app_webhooks_fan_out(struct app_session *s, unsigned batch, unsigned rounds,
			 unsigned max_attempts);

/* A delivery claimed and rendered for sending: what goes on the wire. */
struct app_webhook_delivery {
	long long id, webhook_id;
	int attempt;                   /* this attempt's number, from 1 */
	const char *topic, *url;       /* borrowed from `job` */
	char *body;                    /* owned; NULL when out of memory */
	size_t len;                    /* of `body` */
	char ts[24];                   /* X-Transom-Timestamp: seconds since the epoch */
	char delivery[24];             /* X-Transom-Delivery */
	char sig[80];                  /* X-Transom-Signature: "v1=" HMAC-SHA256 hex */
	char error[512];               /* why it cannot be sent ("": it can) */
	long long started_ms;          /* wall clock, when it was rendered */
	struct store_webhook_job *job; /* owned */
};

/*
 * Claims the most overdue due delivery (leased for `lease_ms`; fewer than `max_attempts`
 * made) and renders it: the body {"id", "topic", "attempt", "created_at", "data"} signed
 * over "timestamp.body" with the subscription's secret (opened with app->keyring).  True
 * with `d` filled (release with app_webhook_delivery_clear) -- d->error set when it
 * cannot be signed; false when none is due or the database failed (logged).
 */
bool app_webhook_claim(struct app_session *s, long long lease_ms, unsigned max_attempts,
		       struct app_webhook_delivery *d);
void app_webhook_delivery_clear(struct app_webhook_delivery *d);

/* What became of one attempt. */
enum app_webhook_outcome {
	APP_WEBHOOK_DELIVERED, /* a 2xx reply */
	APP_WEBHOOK_RETRY,     /* failed; due again after retry_ms */
	APP_WEBHOOK_DEAD,      /* failed, and that was the last attempt */
};

/*
 * Records the attempt of `d`: lasting `duration_ms`, the reply's `status` (0: none),
 * `error` (NULL on success), and the outcome.  A failure to record is logged.
 */
void app_webhook_record(struct app_session *s, const struct app_webhook_delivery *d,
			long long duration_ms, int status, const char *error,
			enum app_webhook_outcome outcome, long long retry_ms);

#endif /* TRANSOM_APP_WEBHOOKS_H */
