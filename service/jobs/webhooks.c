/*
 * webhooks.c -- the webhook worker: fans the outbox out into deliveries and sends them.
 *
 * Each sweep, on the worker's own database connection:
 *   1. fan-out: outbox events not yet fanned out become one delivery per matching active
 *      subscription, and are marked, in one statement (app_webhooks_fan_out);
 *   2. deliveries that are due but have no attempts left are marked dead (a sender died
 *      during their last attempt);
 *   3. one by one, a due delivery is claimed and leased (its attempt counted, due again
 *      after the lease) in its own statement and signed (app_webhook_claim), sent with
 *      net_send() outside any
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
#include "app/webhooks.h"
#include "core/clock.h"
#include "core/log.h"
#include "jobs/jobs.h"
#include "jobs/worker.h"
#include "net/net.h"

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
	struct app_session *session;
};

/* Sends one claimed delivery and records what happened. */
static void send_one(struct webhook_worker *w, const struct app_webhook_delivery *d)
{
	const struct config *cfg = w->app->cfg;
	char error[512];
	int status = 0;
	long long t0 = clock_mono_ms();

	snprintf(error, sizeof error, "%s", d->error);
	if (error[0] == '\0') {
		const struct net_header headers[] = {
			{"Content-Type", "application/json"}, {"User-Agent", USER_AGENT},
			{"X-Transom-Event", d->topic},        {"X-Transom-Delivery", d->delivery},
			{"X-Transom-Timestamp", d->ts},       {"X-Transom-Signature", d->sig},
		};
		struct net_request rq = {
			.method = "POST",
			.url = d->url,
			.headers = headers,
			.n_headers = sizeof headers / sizeof headers[0],
			.body = d->body,
			.len = d->len,
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
	long long duration = clock_mono_ms() - t0;

	bool ok = error[0] == '\0';
	bool last = d->attempt >= (int)cfg->webhook_tries;
	enum app_webhook_outcome outcome = ok     ? APP_WEBHOOK_DELIVERED
					   : last ? APP_WEBHOOK_DEAD
						  : APP_WEBHOOK_RETRY;
	long long retry = outcome == APP_WEBHOOK_RETRY
				  ? jobs_backoff_ms(cfg->webhook_backoff, d->attempt)
				  : 0;
	app_webhook_record(w->session, d, duration, status, ok ? NULL : error, outcome, retry);
	if (ok)
		LOG_INFO("event=webhook_delivered delivery=%lld webhook=%lld topic=%s attempt=%d "
			 "status=%d ms=%lld",
			 d->id, d->webhook_id, d->topic, d->attempt, status, duration);
	else if (outcome == APP_WEBHOOK_DEAD)
		LOG_WARN("event=webhook_dead delivery=%lld webhook=%lld topic=%s attempts=%d "
			 "error=\"%s\"",
			 d->id, d->webhook_id, d->topic, d->attempt, error);
	else
		LOG_INFO("event=webhook_failed delivery=%lld webhook=%lld topic=%s attempt=%d "
			 "retry_ms=%lld error=\"%s\"",
			 d->id, d->webhook_id, d->topic, d->attempt, retry, error);
}

/* One sweep; returns true when it stopped at a limit with work left (sweep again now). */
static bool sweep(struct worker *self, struct webhook_worker *w)
{
	const struct config *cfg = w->app->cfg;
	int fanned =
		app_webhooks_fan_out(w->session, FANOUT_BATCH, FANOUT_ROUNDS, cfg->webhook_tries);
	if (fanned < 0)
		return false;
	bool more = fanned > 0;

	long long lease = 2LL * cfg->webhook_timeout + LEASE_MARGIN_MS;
	for (int sent = 0; sent < SENDS_PER_SWEEP; sent++) {
		if (worker_stopping(self))
			return false;
		struct app_webhook_delivery d;
		if (!app_webhook_claim(w->session, lease, cfg->webhook_tries, &d))
			return more;
		send_one(w, &d);
		app_webhook_delivery_clear(&d);
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
	w->session = app_session_new(app, APP_SESSION_PLAIN);
	if (w->session == NULL || (w->thread = worker_start(w->interval_ms, sweep_cb, w)) == NULL) {
		app_session_free(w->session);
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
	app_session_free(w->session);
	free(w);
}
