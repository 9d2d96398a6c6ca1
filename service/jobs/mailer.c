/*
 * mailer.c -- the iMIP worker: plans calendar invitations, sends them by SMTP, and polls
 * the agent mailbox by IMAP for replies.
 *
 * Each sweep (every TRANSOM_TIMER_INTERVAL ms, at most 500), on the worker's own database
 * connection:
 *   1. plan (imip_plan): events synced, REQUESTs and CANCELs queued in imip_invitations;
 *   2. send: one by one, a due invitation is claimed and leased, composed (signed links,
 *      VCALENDAR, MIME), submitted with net_smtp_send() outside any transaction, and
 *      marked sent -- or, on failure, due again after an exponential backoff (capped at an
 *      hour, never given up: an outage delays invitations, it does not lose them);
 *   3. every TRANSOM_IMAP_INTERVAL seconds (when TRANSOM_IMAP_URL is set): the unseen
 *      messages of the mailbox are fetched (which marks them seen) and taken in
 *      (imip_intake); one that could not be recorded (database down) is marked unseen
 *      again for the next poll.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "core/clock.h"
#include "core/log.h"
#include "jobs/jobs.h"
#include "jobs/worker.h"
#include "net/net.h"
#include "app/imip.h"
#include "app/mail_queue.h"
#include "app/records.h"

#define SWEEP_MAX_MS    500
#define SENDS_PER_SWEEP 50
#define SMTP_TIMEOUT_MS 30000L
#define IMAP_TIMEOUT_MS 30000L
#define IMAP_BATCH      100
#define MAIL_MAX_BYTES  (8u * 1024 * 1024) /* largest message fetched */

struct mail_worker {
	struct app *app;
	unsigned interval_ms;
	struct worker *thread;
	struct worker *self;         /* the same, as seen by the sweeping thread itself */
	struct app_session *session; /* owned */
	long long polled_ms;         /* monotonic, last IMAP poll */
	struct imip_settings settings;
};

static bool stopping(struct mail_worker *w)
{
	return worker_stopping(w->self);
}

static bool context(struct mail_worker *w, struct rec_ctx *c)
{
	struct tr_error err = {0};
	w->settings.public_url = w->app->public_url;
	return app_session_context(w->session, "system", REC_ROLE_SYSTEM, NULL, c, &err) == TR_OK;
}

static void send_one(struct mail_worker *w, const struct store_imip_job *job)
{
	const struct config *cfg = w->app->cfg;
	struct rec_ctx c;
	struct tr_error err = {0};
	char error[512] = "";
	char *msg = NULL;
	size_t len = 0;

	if (!context(w, &c))
		snprintf(error, sizeof error, "no definitions are loaded");
	else if (imip_compose(&c, &w->settings, job, &msg, &len, &err) != TR_OK)
		snprintf(error, sizeof error, "%s", err.detail);
	else {
		struct net_mail_opts o = {cfg->smtp_url, cfg->smtp_user, cfg->smtp_password,
					  SMTP_TIMEOUT_MS};
		net_smtp_send(&o, cfg->smtp_from, job->email, msg, len, error, sizeof error);
	}
	free(msg);
	long long retry = error[0] ? jobs_backoff_ms(cfg->mail_backoff, job->attempt) : 0;
	app_imip_attempt(w->session, job->id, error[0] ? error : NULL, retry);
	if (error[0])
		LOG_WARN("event=imip_send_failed invitation=%lld change=%s member=%s attempt=%d "
			 "retry_ms=%lld error=\"%s\"",
			 job->id, job->change_id, job->member, job->attempt, retry, error);
	else
		LOG_INFO("event=imip_sent invitation=%lld change=%s member=%s method=%s "
			 "sequence=%d",
			 job->id, job->change_id, job->member, job->method, job->sequence);
}

static void poll_imap(struct mail_worker *w)
{
	const struct config *cfg = w->app->cfg;
	struct net_mail_opts o = {cfg->imap_url, cfg->imap_user, cfg->imap_password,
				  IMAP_TIMEOUT_MS};
	unsigned long uids[IMAP_BATCH];
	size_t n = 0;
	char error[512];
	if (net_imap_unseen(&o, uids, IMAP_BATCH, &n, error, sizeof error) != 0) {
		LOG_WARN("event=imap_poll_failed error=\"%s\"", error);
		return;
	}
	for (size_t i = 0; i < n && !stopping(w); i++) {
		char *raw = NULL;
		size_t len = 0;
		if (net_imap_fetch(&o, uids[i], MAIL_MAX_BYTES, &raw, &len, error, sizeof error) !=
		    0) {
			LOG_WARN("event=imap_fetch_failed uid=%lu error=\"%s\"", uids[i], error);
			free(raw);
			continue;
		}
		struct rec_ctx c;
		struct imip_intake_result res;
		struct tr_error err = {0};
		struct imip_message m = {.source = "imap", .raw = raw, .len = len};
		enum tr_code rc = context(w, &c) ? imip_intake(&c, &w->settings, &m, &res, &err)
						 : TR_E_NOT_READY;
		free(raw);
		if (rc != TR_OK) {
			LOG_WARN("event=imip_intake_failed uid=%lu code=%s detail=\"%s\"", uids[i],
				 tr_code_slug(rc), err.detail);
			if (net_imap_flag_seen(&o, uids[i], false, error, sizeof error) != 0)
				LOG_WARN("event=imap_unflag_failed uid=%lu error=\"%s\"", uids[i],
					 error);
		} else if (res.counted) {
			LOG_INFO("event=imip_vote change=%s member=%s decision=%s message=%lld",
				 res.change_id, res.member, res.decision, res.message_row);
		} else {
			LOG_WARN("event=imip_quarantined change=%s member=%s message=%lld "
				 "reason=\"%s\"",
				 res.change_id, res.member, res.message_row, res.reason);
		}
	}
}

/* One sweep; true when it stopped at a limit with work left. */
static bool sweep(struct mail_worker *w)
{
	const struct config *cfg = w->app->cfg;
	struct rec_ctx c;
	struct tr_error err = {0};
	unsigned queued = 0;
	if (cfg->smtp_url[0] && context(w, &c)) {
		enum tr_code rc = imip_plan(&c, &w->settings, &queued, &err);
		if (rc != TR_OK && rc != TR_E_DB_UNAVAILABLE)
			LOG_WARN("event=imip_plan_failed code=%s detail=\"%s\"", tr_code_slug(rc),
				 err.detail);
		if (queued > 0)
			LOG_INFO("event=imip_planned queued=%u", queued);
	}
	bool more = false;
	for (int sent = 0; cfg->smtp_url[0] && sent < SENDS_PER_SWEEP; sent++) {
		if (stopping(w))
			return false;
		struct store_imip_job job;
		if (!app_imip_claim(w->session, 2 * SMTP_TIMEOUT_MS + 1000, &job))
			break;
		send_one(w, &job);
		more = sent + 1 == SENDS_PER_SWEEP;
	}
	long long now = clock_mono_ms();
	if (cfg->imap_url[0] &&
	    (w->polled_ms == 0 || now - w->polled_ms >= (long long)cfg->imap_interval * 1000)) {
		w->polled_ms = now;
		poll_imap(w);
	}
	return more;
}

static bool sweep_cb(struct worker *self, void *cls)
{
	struct mail_worker *w = cls;
	w->self = self;
	return sweep(w);
}

struct mail_worker *mail_worker_start(struct app *app)
{
	const struct config *cfg = app->cfg;
	if (cfg->smtp_url[0] == '\0' && cfg->imap_url[0] == '\0')
		return NULL;
	struct mail_worker *w = calloc(1, sizeof *w);
	if (w == NULL)
		return NULL;
	w->app = app;
	w->interval_ms = cfg->timer_interval < SWEEP_MAX_MS ? cfg->timer_interval : SWEEP_MAX_MS;
	w->settings = (struct imip_settings){.public_url = app->public_url,
					     .agent_domain = cfg->agent_domain,
					     .from_addr = cfg->smtp_from,
					     .trusted_authserv_id = cfg->mail_authserv_id};
	w->session = app_session_new(app, APP_SESSION_PLAIN);
	if (w->session == NULL || (w->thread = worker_start(w->interval_ms, sweep_cb, w)) == NULL) {
		app_session_free(w->session);
		free(w);
		return NULL;
	}
	return w;
}

void mail_worker_stop(struct mail_worker *w)
{
	if (w == NULL)
		return;
	worker_stop(w->thread);
	app_session_free(w->session);
	free(w);
}
