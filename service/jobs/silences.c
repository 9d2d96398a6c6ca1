/*
 * silences.c -- the silence worker: maintenance silences in Alertmanager for changes
 * under way (see jobs.h and app/alerts.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/alerts.h"
#include "app/app.h"
#include "app/session.h"
#include "core/log.h"
#include "jobs/jobs.h"
#include "jobs/worker.h"
#include "metrics/metrics.h"
#include "net/net.h"

#define CALL_TIMEOUT_MS 5000
#define LEASE_MS        30000

struct silence_worker {
	struct app *app;
	struct app_session *session; /* owned: its own connection */
	struct worker *thread;
};

static long long backoff_ms(const struct app *app, json_t *row)
{
	json_int_t attempts = json_integer_value(json_object_get(row, "attempts"));
	return jobs_backoff_ms(app->cfg->silence_backoff, (int)attempts + 1);
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k)) ?: "";
}

/* POSTs the silence of `row`; its id into `id` (64 bytes).  0, or -1 with `why`. */
static int create(struct app *app, json_t *row, char *id, char *why, size_t whylen)
{
	char url[700];
	snprintf(url, sizeof url, "%s/api/v2/silences", app->cfg->alertmanager_url);
	char *body = json_dumps(json_object_get(row, "silence"), JSON_COMPACT);
	struct net_header h[] = {{"Content-Type", "application/json"},
				 {"Accept", "application/json"}};
	struct net_request rq = {.method = "POST",
				 .url = url,
				 .headers = h,
				 .n_headers = 2,
				 .body = body,
				 .len = body ? strlen(body) : 0,
				 .timeout_ms = CALL_TIMEOUT_MS,
				 .guard = app->guard};
	struct net_reply rp = {0};
	int rc = body ? net_send(&rq, &rp) : -1;
	free(body);
	if (rc != 0) {
		snprintf(why, whylen, "%s", body ? rp.error : "out of memory");
		net_reply_clear(&rp);
		return -1;
	}
	json_t *reply = rp.body ? json_loads(rp.body, 0, NULL) : NULL;
	const char *sid = json_string_value(json_object_get(reply, "silenceID"));
	rc = rp.status >= 200 && rp.status < 300 && sid != NULL && strlen(sid) < 64 ? 0 : -1;
	if (rc == 0)
		snprintf(id, 64, "%s", sid);
	else
		snprintf(why, whylen, "Alertmanager answered HTTP %d%s", rp.status,
			 sid == NULL && rp.status / 100 == 2 ? " without a silenceID" : "");
	json_decref(reply);
	net_reply_clear(&rp);
	return rc;
}

/* DELETEs silence `id`: 0 when expired (or unknown: 404), -1 with `why`. */
static int expire(struct app *app, const char *id, char *why, size_t whylen)
{
	char url[800];
	snprintf(url, sizeof url, "%s/api/v2/silence/%s", app->cfg->alertmanager_url, id);
	struct net_request rq = {
		.method = "DELETE", .url = url, .timeout_ms = CALL_TIMEOUT_MS, .guard = app->guard};
	struct net_reply rp = {0};
	int rc = net_send(&rq, &rp);
	if (rc != 0)
		snprintf(why, whylen, "%s", rp.error);
	else if (rp.status / 100 != 2 && rp.status != 404 &&
		 !(rp.body != NULL && strstr(rp.body, "already expired") != NULL)) {
		snprintf(why, whylen, "Alertmanager answered HTTP %d", rp.status);
		rc = -1;
	}
	net_reply_clear(&rp);
	return rc;
}

static void call_one(struct app *app, struct rec_ctx *c, json_t *row)
{
	const char *change = str(row, "change"), *service = str(row, "service");
	bool creating = strcmp(str(row, "state"), "pending") == 0;
	char id[64] = "", why[300] = "";
	struct tr_error err = {0};
	int rc;
	if (creating) {
		rc = create(app, row, id, why, sizeof why);
		if (rc == 0) {
			alerts_silence_created(c, change, service, id, &err);
			metrics_silence(app->metrics, "created");
			LOG_INFO("event=silence_created change=%s service=%s silence=%s", change,
				 service, id);
		}
	} else {
		snprintf(id, sizeof id, "%s", str(row, "silence_id"));
		rc = expire(app, id, why, sizeof why);
		if (rc == 0) {
			alerts_silence_expired(c, change, service, &err);
			metrics_silence(app->metrics, "expired");
			LOG_INFO("event=silence_expired change=%s service=%s silence=%s", change,
				 service, id);
		}
	}
	if (rc != 0) {
		alerts_silence_failed(c, change, service, c->now_ms + backoff_ms(app, row), why,
				      &err);
		metrics_silence(app->metrics, "failed");
		LOG_WARN("event=silence_call_failed change=%s service=%s action=%s error=\"%s\"",
			 change, service, creating ? "create" : "expire", why);
	}
}

/* One sweep: plan, then the due calls (a stop is honoured between two). */
static bool sweep(struct worker *self, void *cls)
{
	struct silence_worker *w = cls;
	struct rec_ctx c;
	struct tr_error err = {0};
	if (app_session_context(w->session, "system", REC_ROLE_SYSTEM, NULL, &c, &err) != TR_OK)
		return false; /* no definitions loaded yet */
	unsigned planned = 0, closed = 0;
	enum tr_code rc = alerts_silences_plan(&c, &planned, &closed, &err);
	if (rc != TR_OK) {
		if (rc != TR_E_DB_UNAVAILABLE)
			LOG_WARN("event=silence_plan_failed code=%s detail=\"%s\"",
				 tr_code_slug(rc), err.detail);
		return false;
	}
	json_t *due = NULL;
	if (alerts_silences_due(&c, LEASE_MS, &due, &err) != TR_OK)
		return false;
	size_t i;
	json_t *row;
	json_array_foreach(due, i, row) {
		if (worker_stopping(self))
			break; /* the rest is leased: another sweep (or replica) takes it later */
		call_one(w->app, &c, row);
	}
	bool more = json_array_size(due) == 20 && !worker_stopping(self);
	json_decref(due);
	return more;
}

struct silence_worker *silence_worker_start(struct app *app)
{
	if (app->cfg->alertmanager_url[0] == '\0')
		return NULL;
	struct silence_worker *w = calloc(1, sizeof *w);
	if (w == NULL)
		return NULL;
	w->app = app;
	unsigned interval = app->cfg->timer_interval < 1000 ? app->cfg->timer_interval : 1000;
	if ((w->session = app_session_new(app, APP_SESSION_TIMEOUTS)) == NULL ||
	    (w->thread = worker_start(interval, sweep, w)) == NULL) {
		app_session_free(w->session);
		free(w);
		return NULL;
	}
	return w;
}

void silence_worker_stop(struct silence_worker *w)
{
	if (w == NULL)
		return;
	worker_stop(w->thread);
	app_session_free(w->session);
	free(w);
}
