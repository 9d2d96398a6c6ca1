/*
 * webhooks.c -- the webhook worker: fans the outbox out into deliveries and sends them.
 *
 * Each sweep, on the worker's own database connection:
 *   1. fan-out: outbox events not yet fanned out become one delivery per matching active
 *      subscription, and are marked, in one statement (store_webhook_fanout);
 *   2. deliveries that are due but have no attempts left are marked dead (a sender died
 *      during their last attempt);
 *   3. one by one, a due delivery is claimed and leased (its attempt counted, due again
 *      after the lease) in its own statement, sent with net_send() outside any
 *      transaction, and its outcome recorded: 2xx delivers it; anything else schedules
 *      a retry after an exponential backoff with jitter, or, after the last attempt,
 *      marks it dead.
 * A transomd killed mid-send leaves the delivery leased: once the lease runs out any
 * replica sends it again, with the same delivery id (the receiver's deduplication key).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "core/clock.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "jobs/jobs.h"
#include "jobs/worker.h"
#include "net/net.h"
#include "store/webhooks.h"

#define SWEEP_MAX_MS    500  /* the sweep interval: TRANSOM_TIMER_INTERVAL, at most this */
#define FANOUT_BATCH    100  /* outbox events per fan-out statement */
#define FANOUT_ROUNDS   20   /* fan-out statements per sweep, at most */
#define SENDS_PER_SWEEP 100  /* deliveries sent per sweep, at most (then the sweep repeats) */
#define REPLY_KEEP      4096 /* reply bytes read (and dropped: never stored) */
#define LEASE_MARGIN_MS 1000 /* besides twice the timeout: claim-to-send and the outcome write */
#define USER_AGENT      "transom-webhooks/1"

struct webhook_worker {
	struct app *app;
	unsigned interval_ms;
	struct worker *thread;
	struct store *store;
};

/*
 * The request body: {"id", "topic", "attempt", "created_at", "data"}.  Owned text, or
 * NULL when out of memory.
 */
static char *body_of(const struct store_webhook_job *job)
{
	json_t *data = json_loads(job->payload, 0, NULL);
	json_t *o = json_pack("{s:I, s:s, s:i, s:s, s:o}", "id", (json_int_t)job->id, "topic",
			      job->topic, "attempt", job->attempt, "created_at", job->created_at,
			      "data", data ? data : json_null());
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

/* Sends one claimed delivery and records what happened. */
static void send_one(struct webhook_worker *w, const struct store_webhook_job *job)
{
	const struct config *cfg = w->app->cfg;
	char error[512] = "", ts[24], delivery[24], sig[8 + CRYPTO_SHA256_HEX_LEN];
	char hex[CRYPTO_SHA256_HEX_LEN];
	int status = 0;
	long long started = clock_wall_ms(), t0 = clock_mono_ms();

	char *body = body_of(job);
	/* The secret: sealed (open it), or plain from before migration 0013 until start-up
	 * sealed it. */
	char *secret = job->secret_sealed[0]
			       ? (w->app->keyring ? crypto_open(w->app->keyring, job->secret_sealed,
								CRYPTO_AAD_WEBHOOK_SECRET, NULL)
						  : NULL)
			       : strdup(job->secret);
	snprintf(ts, sizeof ts, "%lld", started / 1000);
	snprintf(delivery, sizeof delivery, "%lld", job->id);
	/* Signed: the timestamp, a dot, and the body, byte for byte. */
	size_t tlen = strlen(ts), blen = body ? strlen(body) : 0;
	char *signed_text = body ? malloc(tlen + 1 + blen) : NULL;
	bool sig_ok = false;
	if (signed_text != NULL && secret != NULL) {
		memcpy(signed_text, ts, tlen);
		signed_text[tlen] = '.';
		memcpy(signed_text + tlen + 1, body, blen);
		sig_ok = crypto_hmac_sha256_hex(secret, strlen(secret), signed_text,
						tlen + 1 + blen, hex);
	}
	free(signed_text);
	bool have_secret = secret != NULL;
	if (have_secret) {
		crypto_cleanse(secret, strlen(secret));
		free(secret);
	}
	if (!sig_ok) {
		snprintf(error, sizeof error, "%s",
			 body == NULL   ? "out of memory"
			 : !have_secret ? "cannot open the signing secret (TRANSOM_SECRET_KEY_FILE "
					  "lacks its key?)"
					: "cannot sign the body");
	} else {
		snprintf(sig, sizeof sig, "v1=%s", hex);
		const struct net_header headers[] = {
			{"Content-Type", "application/json"}, {"User-Agent", USER_AGENT},
			{"X-Transom-Event", job->topic},      {"X-Transom-Delivery", delivery},
			{"X-Transom-Timestamp", ts},          {"X-Transom-Signature", sig},
		};
		struct net_request rq = {
			.method = "POST",
			.url = job->url,
			.headers = headers,
			.n_headers = sizeof headers / sizeof headers[0],
			.body = body,
			.len = blen,
			.timeout_ms = cfg->webhook_timeout,
			.max_reply = REPLY_KEEP,
			.guard = w->app->guard,
		};
		struct net_reply rp = {0};
		if (net_send(&rq, &rp) != 0) {
			snprintf(error, sizeof error, "%s",
				 rp.error[0] ? rp.error : "request failed");
		} else {
			status = rp.status;
			/* The status only: a reply body may carry whatever the endpoint (or
			 * something it reached) answered, and deliveries are shown to the
			 * subscription's owner. */
			if (status < 200 || status > 299)
				snprintf(error, sizeof error, "http status %d", status);
		}
		net_reply_clear(&rp);
	}
	free(body);
	long long duration = clock_mono_ms() - t0;

	bool ok = error[0] == '\0';
	bool last = job->attempt >= (int)cfg->webhook_tries;
	enum store_webhook_outcome outcome = ok     ? STORE_WEBHOOK_DELIVERED
					     : last ? STORE_WEBHOOK_DEAD
						    : STORE_WEBHOOK_RETRY;
	long long retry = outcome == STORE_WEBHOOK_RETRY
				  ? jobs_backoff_ms(cfg->webhook_backoff, job->attempt)
				  : 0;
	enum db_status s = store_webhook_record(w->store, job, started, duration, status,
						ok ? NULL : error, outcome, retry);
	if (s < 0)
		LOG_WARN("event=webhook_record_failed delivery=%lld error=\"%s\"", job->id,
			 store_last_error(w->store));
	if (ok)
		LOG_INFO("event=webhook_delivered delivery=%lld webhook=%lld topic=%s attempt=%d "
			 "status=%d ms=%lld",
			 job->id, job->webhook_id, job->topic, job->attempt, status, duration);
	else if (outcome == STORE_WEBHOOK_DEAD)
		LOG_WARN("event=webhook_dead delivery=%lld webhook=%lld topic=%s attempts=%d "
			 "error=\"%s\"",
			 job->id, job->webhook_id, job->topic, job->attempt, error);
	else
		LOG_INFO("event=webhook_failed delivery=%lld webhook=%lld topic=%s attempt=%d "
			 "retry_ms=%lld error=\"%s\"",
			 job->id, job->webhook_id, job->topic, job->attempt, retry, error);
}

/* One sweep; returns true when it stopped at a limit with work left (sweep again now). */
static bool sweep(struct worker *self, struct webhook_worker *w)
{
	const struct config *cfg = w->app->cfg;
	unsigned events = 0, deliveries = 0;
	bool more = false;

	for (int round = 0; round < FANOUT_ROUNDS; round++) {
		enum db_status s =
			store_webhook_fanout(w->store, FANOUT_BATCH, &events, &deliveries);
		if (s < 0) {
			if (s != DB_DOWN)
				LOG_WARN("event=webhook_fanout_failed error=\"%s\"",
					 store_last_error(w->store));
			return false;
		}
		if (deliveries > 0)
			LOG_DEBUG("event=webhook_fanout events=%u deliveries=%u", events,
				  deliveries);
		more = events == FANOUT_BATCH;
		if (!more)
			break;
	}
	enum db_status s = store_webhook_expire(w->store, cfg->webhook_tries);
	if (s > 0)
		LOG_WARN("event=webhook_expired count=%d", (int)s);

	long long lease = 2LL * cfg->webhook_timeout + LEASE_MARGIN_MS;
	for (int sent = 0; sent < SENDS_PER_SWEEP; sent++) {
		if (worker_stopping(self))
			return false;
		struct store_webhook_job job;
		s = store_webhook_claim(w->store, lease, cfg->webhook_tries, &job);
		if (s < 0 && s != DB_DOWN)
			LOG_WARN("event=webhook_claim_failed error=\"%s\"",
				 store_last_error(w->store));
		if (s != DB_ONE)
			return more;
		send_one(w, &job);
		store_webhook_job_clear(&job);
	}
	return true;
}

static bool sweep_cb(struct worker *self, void *cls)
{
	return sweep(self, cls);
}

struct webhook_worker *webhook_worker_start(struct app *app)
{
	struct webhook_worker *w = calloc(1, sizeof *w);
	if (w == NULL)
		return NULL;
	w->app = app;
	w->interval_ms =
		app->cfg->timer_interval < SWEEP_MAX_MS ? app->cfg->timer_interval : SWEEP_MAX_MS;
	w->store = store_new(app->cfg->database_url, NULL);
	if (w->store == NULL || (w->thread = worker_start(w->interval_ms, sweep_cb, w)) == NULL) {
		store_free(w->store);
		free(w);
		return NULL;
	}
	return w;
}

void webhook_worker_stop(struct webhook_worker *w)
{
	if (w == NULL)
		return;
	worker_stop(w->thread);
	store_free(w->store);
	free(w);
}
