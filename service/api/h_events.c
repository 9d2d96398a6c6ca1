/*
 * h_events.c -- GET /v1/events: record events as a Server-Sent Events stream.
 *
 * The handler checks the filters, subscribes to the event hub and hands the HTTP layer
 * a streaming reply that reads from the subscriber.  It returns at once: while no event
 * is due the connection is parked, holding neither a pool thread nor a database
 * connection.
 *
 * Each user may hold a few streams (api_stream_take, api/stream_quota.h), so that one
 * requester cannot take every subscriber slot of the replica.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/api.h"
#include "api/stream_quota.h"
#include "app/streams.h"
#include "auth/roles.h"
#include "core/clock.h"
#include "events/events.h"

/* Seconds a client refused for too many streams is asked to wait (Retry-After). */
#define STREAM_RETRY_AFTER_S 5

enum tr_code api_stream_take(struct http_req *req, struct http_reply *rep)
{
	unsigned limit = 0;
	char after[16];
	enum stream_quota_refusal why = stream_quota_take(((struct api *)req->app)->streams,
							  req->user.name, req->user.roles, &limit);
	if (why == STREAM_QUOTA_OK)
		return TR_OK;
	if (why == STREAM_QUOTA_NOMEM)
		return TR_E_NOMEM;
	snprintf(after, sizeof after, "%d", STREAM_RETRY_AFTER_S);
	http_reply_header(rep, "Retry-After", after);
	if (why == STREAM_QUOTA_USER) {
		tr_error_set(&req->err, TR_E_TOO_MANY_REQUESTS, NULL,
			     "'%s' already holds %u event streams and long-polls on this server, "
			     "the most one user may (TRANSOM_STREAMS_PER_%s); close one first",
			     req->user.name, limit,
			     req->user.roles & (ROLE_ADMIN | ROLE_PIPELINE) ? "PRIVILEGED"
									    : "USER");
		tr_error_rule(&req->err, TR_R_STREAMS_PER_USER);
	} else {
		tr_error_set(&req->err, TR_E_TOO_MANY_REQUESTS, NULL,
			     "users hold %u event streams and long-polls on this server, the most "
			     "they may together (the rest are kept for admins and pipelines: "
			     "TRANSOM_STREAMS_RESERVED)",
			     limit);
		tr_error_rule(&req->err, TR_R_STREAMS_SHARED);
	}
	return TR_E_TOO_MANY_REQUESTS;
}

/* One SSE client: its subscriber and whom its stream is counted against. */
struct sse_client {
	struct events_sub *sub;
	struct stream_quota *quota;
	char user[128];
	unsigned roles;
};

static long sse_pull(void *cls, char *buf, size_t max)
{
	struct sse_client *c = cls;
	long n = events_sub_read(c->sub, buf, max);
	return n == EVENTS_SUB_END ? HTTP_STREAM_END : n;
}

/* The stream is over: unsubscribing (under the hub's lock) also ends the wakes. */
static void sse_close(void *cls)
{
	struct sse_client *c = cls;
	events_sub_free(c->sub);
	stream_quota_give(c->quota, c->user, c->roles);
	free(c);
}

static void sse_wake(void *cls)
{
	http_stream_wake(cls);
}

static const struct http_stream_ops sse_ops = {sse_pull, sse_close};

/* Last-Event-ID: absent or empty = none; otherwise one of our ids (a decimal seq). */
static enum tr_code last_event_id(struct http_req *req, bool *has, long long *seq)
{
	const char *h = http_req_header(req, "Last-Event-ID");
	char *end;

	*has = false;
	while (h != NULL && *h == ' ')
		h++;
	if (h == NULL || *h == '\0')
		return TR_OK;
	errno = 0;
	*seq = strtoll(h, &end, 10);
	while (*end == ' ')
		end++;
	if (!isdigit((unsigned char)*h) || errno != 0 || *end != '\0')
		return tr_error_set(&req->err, TR_E_BAD_PARAMETER, "Last-Event-ID",
				    "Last-Event-ID must be the id of an event this stream sent");
	*has = true;
	return TR_OK;
}

enum tr_code h_events(struct http_req *req, struct http_reply *rep)
{
	struct api *api = req->app;
	struct app *app = &api->app;
	struct events_filter filter;
	struct events_sub *sub;
	bool has_last;
	long long last = 0;
	enum tr_code rc;

	rc = events_filter_parse(&filter, http_req_query(req, "kind"),
				 http_req_query(req, "service"), &req->err);
	if (rc == TR_OK)
		rc = last_event_id(req, &has_last, &last);
	if (rc != TR_OK)
		return rc;
	if (app->events == NULL)
		return tr_error_set(&req->err, TR_E_NOT_READY, NULL,
				    "live events are not available on this server");
	if (req->method == HTTP_HEAD)
		return http_reply_text(rep, 200, "text/event-stream", "", 0);
	if ((rc = api_stream_take(req, rep)) != TR_OK)
		return rc;
	struct sse_client *client = calloc(1, sizeof *client);
	if (client == NULL) {
		stream_quota_give(api->streams, req->user.name, req->user.roles);
		return TR_E_NOMEM;
	}
	client->quota = api->streams;
	client->roles = req->user.roles;
	snprintf(client->user, sizeof client->user, "%s", req->user.name);
	rc = events_sub_new(app->events, &filter, has_last, last, &sub, &req->err);
	if (rc != TR_OK) {
		stream_quota_give(api->streams, client->user, client->roles);
		free(client);
		if (rc == TR_E_NOT_READY) /* every subscriber slot is taken */
			http_reply_header(rep, "Retry-After", "5");
		return rc;
	}
	client->sub = sub;
	/* Ended when the credential dies: a token (its id) or a web session (-id) revoked or
	 * ended, its user disabled, or a JWT's exp passed. */
	long long ends_mono = 0;
	if (req->user.expires_ms != 0) {
		long long left = req->user.expires_ms - clock_now_ms();
		ends_mono = clock_mono_ms() + (left > 0 ? left : 0) + 1;
	}
	events_sub_set_owner(sub, req->user.token_id ? req->user.token_id : -req->user.session_id,
			     req->user.name, ends_mono);
	if (has_last && events_sub_wants_history(sub))
		app_stream_resume(api_session(req), sub, last);
	struct http_stream *stream =
		http_reply_stream(rep, req, 200, "text/event-stream", &sse_ops, client);
	if (stream == NULL) {
		sse_close(client);
		return TR_E_NOMEM;
	}
	/* From here the stream owns `client`: an error reply replacing it closes both. */
	if (http_reply_header(rep, "Cache-Control", "no-cache") != TR_OK ||
	    http_reply_header(rep, "X-Accel-Buffering", "no") != TR_OK)
		return TR_E_NOMEM;
	events_sub_start(sub, sse_wake, stream);
	return TR_OK;
}
