/*
 * h_deployments.c -- the CI gate over HTTP: deployment requests, the gate with long-poll,
 * and results.
 *
 * GET /v1/deployments/{id}?wait=N answers at once when nothing is to wait for; otherwise
 * it parks the connection (a streaming reply: no worker thread and no database
 * connection is held meanwhile) until the booked window opens, N seconds pass, or a
 * record event of the change arrives and the decision read then differs from the one it
 * parked on (retry_after aside); then it answers.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/clock.h"
#include "api/stream_quota.h"
#include "core/alarm.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "events/events.h"
#include "metrics/metrics.h"
#include "app/records.h"

#define WAIT_MAX_S 300 /* longest long-poll */

static enum tr_code reply_decision(struct http_req *req, struct http_reply *rep,
				   struct rec_reply *out)
{
	json_t *retry = json_object_get(out->body, "retry_after");
	char buf[32];
	metrics_gate(((struct app *)req->app)->metrics,
		     json_string_value(json_object_get(out->body, "decision")),
		     json_string_value(json_object_get(out->body, "reason_code")));
	if (json_is_integer(retry)) {
		snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(retry));
		http_reply_header(rep, "Retry-After", buf);
	}
	return api_rec_reply(req, rep, TR_OK, out);
}

enum tr_code h_deployments_create(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_deploy_request(&c, req->json, &out, &req->err);
	if (rc != TR_OK)
		return api_rec_reply(req, rep, rc, &out);
	return reply_decision(req, rep, &out);
}

enum tr_code h_deployment_result(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_deploy_result(&c, route_param(&req->match, "id"), req->json, &out,
					   &req->err);
	return api_rec_reply(req, rep, rc, &out);
}

/* ---- the long-poll ---------------------------------------------------------------------- */

/* One parked gate request. */
struct waiter {
	struct api *api;
	char dep[32], change[32], actor[129];
	unsigned roles;
	const char *request_id;
	struct http_stream *stream;
	struct events_sub *sub;
	unsigned long alarm;
	pthread_mutex_t lock;
	bool due;     /* guarded by lock: the deadline or the window start passed */
	char *parked; /* the decision it parked on (decision_key), or NULL */
	char *body;   /* the answer, once read */
	size_t len, off;
};

static void waiter_alarm(void *cls)
{
	struct waiter *w = cls;
	pthread_mutex_lock(&w->lock);
	w->due = true;
	pthread_mutex_unlock(&w->lock);
	http_stream_wake(w->stream);
}

static void waiter_event(void *cls)
{
	http_stream_wake(((struct waiter *)cls)->stream);
}

/* Whether the subscriber saw an event of the change (or ended).  Never blocks. */
static bool change_touched(struct waiter *w)
{
	char buf[4096], needle[40];
	bool hit = false;
	snprintf(needle, sizeof needle, "\"%s\"", w->change);
	for (;;) {
		long n = events_sub_read(w->sub, buf, sizeof buf - 1);
		if (n == EVENTS_SUB_END)
			return true;
		if (n <= 0)
			return hit;
		buf[n] = '\0';
		/* the record's id, whole ("CHG-5" not inside "CHG-50"); resync: look again */
		hit = hit || strstr(buf, needle) != NULL || strstr(buf, "event: resync") != NULL;
	}
}

/*
 * What a gate answer says, as text to compare, or NULL (out of memory): all of it but
 * retry_after, which counts down by itself.
 */
static char *decision_key(const json_t *body)
{
	json_t *copy = json_copy((json_t *)body);
	if (copy == NULL)
		return NULL;
	json_object_del(copy, "retry_after");
	char *key = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(copy);
	return key;
}

/*
 * Reads the decision now, with this thread's connection, into w->body; with `if_moved`,
 * only when it differs from the one the request parked on (an event of the change may be
 * one written before it parked, delivered late: the decision is then the same).
 */
static void answer(struct waiter *w, bool if_moved)
{
	struct api_worker *aw = api_worker_get(w->api);
	struct rec_reply out = {0};
	struct tr_error err = {0};
	struct rec_ctx c = {
		.st = aw ? aw->session->store : NULL,
		.defs = aw ? app_session_defs(aw->session) : NULL,
		.actor = w->actor,
		.roles = w->roles,
		.request_id = w->request_id,
		.now_ms = clock_now_ms(),
		.retries = w->api->app.cfg->db_retries,
	};
	enum tr_code rc = c.st && c.defs ? records_deploy_get(&c, w->dep, &out, NULL, &err)
					 : tr_error_set(&err, TR_E_NOT_READY, NULL, "not ready");
	if (rc == TR_OK && if_moved && w->parked != NULL) {
		char *key = decision_key(out.body);
		bool same = key != NULL && strcmp(key, w->parked) == 0;
		free(key);
		if (same) {
			rec_reply_clear(&out);
			return; /* w->body stays NULL: parked on */
		}
	}
	if (rc == TR_OK)
		metrics_gate(w->api->app.metrics,
			     json_string_value(json_object_get(out.body, "decision")),
			     json_string_value(json_object_get(out.body, "reason_code")));
	int status = tr_code_http_status(rc);
	const char *detail = err.detail;
	if (rc != TR_OK && status >= 500 && status != 503) {
		/* As in every problem reply: the log has an internal error's detail. */
		LOG_ERROR("event=gate_wait_failed deployment=%s code=%s detail=\"%s\"", w->dep,
			  tr_code_name(rc), err.detail);
		detail = "internal error; the log has the detail";
	}
	json_t *body =
		rc == TR_OK ? json_incref(out.body)
			    : json_pack("{s:s, s:n, s:s, s:s, s:i}", "id", w->dep, "decision",
					"error", detail, "code",
					tr_code_name(tr_error_public_code(&err)), "status", status);
	w->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	w->len = w->body ? strlen(w->body) : 0;
	json_decref(body);
	rec_reply_clear(&out);
}

static long waiter_pull(void *cls, char *buf, size_t max)
{
	struct waiter *w = cls;
	if (w->body == NULL) {
		pthread_mutex_lock(&w->lock);
		bool due = w->due;
		pthread_mutex_unlock(&w->lock);
		if (!due && !change_touched(w))
			return 0; /* parked until the next wake */
		answer(w, !due);
		if (w->body == NULL && !due && w->parked != NULL)
			return 0; /* the same decision: parked until the next wake */
		if (w->body == NULL)
			return HTTP_STREAM_END;
	}
	if (w->off >= w->len)
		return HTTP_STREAM_END;
	size_t n = w->len - w->off < max ? w->len - w->off : max;
	memcpy(buf, w->body + w->off, n);
	w->off += n;
	return (long)n;
}

static void waiter_close(void *cls)
{
	struct waiter *w = cls;
	alarm_cancel(w->api->app.alarms, w->alarm);
	events_sub_free(w->sub);
	stream_quota_give(w->api->streams, w->actor, w->roles);
	pthread_mutex_destroy(&w->lock);
	free(w->parked);
	free(w->body);
	free(w);
}

static const struct http_stream_ops waiter_ops = {waiter_pull, waiter_close};

/*
 * Parks GET /v1/deployments/{id}?wait: wakes on the change's events, at `deadline`, or
 * answers at once (with `out`) when no waiter can be had.
 */
static enum tr_code park(struct http_req *req, struct http_reply *rep, struct rec_reply *out,
			 const char *id, const char *change, long long deadline)
{
	struct api *api = req->app;
	struct app *app = &api->app;
	enum tr_code rc;
	if ((rc = api_stream_take(req, rep)) != TR_OK) { /* the user's budget: 429 */
		rec_reply_clear(out);
		return rc;
	}
	struct waiter *w = calloc(1, sizeof *w);
	struct events_filter f = {.kinds = EVENTS_KIND_CHANGE};
	struct tr_error e = {0};
	if (w == NULL || events_sub_new(app->events, &f, false, 0, &w->sub, &e) != TR_OK) {
		free(w);
		stream_quota_give(api->streams, req->user.name, req->user.roles);
		return reply_decision(req, rep, out); /* too many waiters: answer now */
	}
	w->api = api;
	snprintf(w->dep, sizeof w->dep, "%s", id);
	snprintf(w->change, sizeof w->change, "%s", change);
	snprintf(w->actor, sizeof w->actor, "%s", req->user.name);
	w->roles = req->user.roles; /* request_id stays NULL: the request is gone by then */
	w->parked = decision_key(out->body); /* NULL: any event of the change answers */
	pthread_mutex_init(&w->lock, NULL);
	rec_reply_clear(out);
	struct http_stream *stream =
		http_reply_stream(rep, req, 200, "application/json", &waiter_ops, w);
	if (stream == NULL) {
		events_sub_free(w->sub);
		stream_quota_give(api->streams, w->actor, w->roles);
		pthread_mutex_destroy(&w->lock);
		free(w->parked);
		free(w);
		return TR_E_NOMEM;
	}
	/* From here the stream owns `w`. */
	w->stream = stream;
	w->alarm = alarm_set(app->alarms, deadline, waiter_alarm, w);
	if (w->alarm == 0)
		w->due = true; /* no alarm to be had: answer at the first pull */
	events_sub_start(w->sub, waiter_event, w);
	return TR_OK;
}

enum tr_code h_deployment_get(struct http_req *req, struct http_reply *rep)
{
	struct api *api = req->app;
	struct app *app = &api->app;
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	const char *id = route_param(&req->match, "id");
	const char *wait_s = http_req_query(req, "wait");
	long wait = 0;
	if (wait_s != NULL) {
		char *end;
		wait = strtol(wait_s, &end, 10);
		if (*wait_s == '\0' || *end != '\0' || wait < 0 || wait > WAIT_MAX_S)
			return tr_error_set(&req->err, TR_E_BAD_PARAMETER, "wait",
					    "'wait' is a number of seconds from 0 to %d",
					    WAIT_MAX_S);
	}
	long long wake_ms = 0;
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_deploy_get(&c, id, &out, &wake_ms, &req->err);
	if (rc != TR_OK)
		return api_rec_reply(req, rep, rc, &out);
	const char *decision = json_string_value(json_object_get(out.body, "decision"));
	const char *change = json_string_value(json_object_get(out.body, "change"));
	if (wait == 0 || strcmp(decision, "wait") != 0 || app->events == NULL ||
	    app->alarms == NULL || change == NULL)
		return reply_decision(req, rep, &out);
	/* Park: wake on the change's events, at the window start, or at the deadline. */
	long long deadline = c.now_ms + wait * 1000;
	if (wake_ms > 0 && wake_ms < deadline)
		deadline = wake_ms;
	return park(req, rep, &out, id, change, deadline);
}
