/*
 * h_events.c -- GET /v1/events: record events as a Server-Sent Events stream.
 *
 * The handler checks the filters, subscribes to the event hub and hands the HTTP layer
 * a streaming reply that reads from the subscriber.  It returns at once: while no event
 * is due the connection is parked, holding neither a pool thread nor a database
 * connection.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "api/api.h"
#include "events/events.h"

static long sse_pull(void *cls, char *buf, size_t max)
{
	long n = events_sub_read(cls, buf, max);
	return n == EVENTS_SUB_END ? HTTP_STREAM_END : n;
}

/* The stream is over: unsubscribing (under the hub's lock) also ends the wakes. */
static void sse_close(void *cls)
{
	events_sub_free(cls);
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
	struct app *app = req->app;
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
	rc = events_sub_new(app->events, &filter, has_last, last, &sub, &req->err);
	if (rc != TR_OK)
		return rc;
	struct http_stream *stream =
		http_reply_stream(rep, req, 200, "text/event-stream", &sse_ops, sub);
	if (stream == NULL) {
		events_sub_free(sub);
		return TR_E_NOMEM;
	}
	/* From here the stream owns `sub`: an error reply replacing it closes both. */
	if (http_reply_header(rep, "Cache-Control", "no-cache") != TR_OK ||
	    http_reply_header(rep, "X-Accel-Buffering", "no") != TR_OK)
		return TR_E_NOMEM;
	events_sub_start(sub, sse_wake, stream);
	return TR_OK;
}
