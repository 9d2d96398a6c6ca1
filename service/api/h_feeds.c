/*
 * h_feeds.c -- iCalendar feeds of the schedule: secret feed URLs for calendar programs
 * (/feeds/{token}/...), the same calendars for bearer-token clients (/v1/calendars/...),
 * and the feed tokens themselves (/v1/feeds).
 *
 * Calendars: schedule.ics (booked changes, windows and freezes), freezes.ics,
 * cab.ics (CAB meetings with their agenda) and services/{name}.ics (one service's
 * bookings, windows and freezes), computed by app/feeds.h.  Strong ETags (a hash of the
 * text) and 304 on If-None-Match.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "app/feeds.h"
#include "auth/roles.h"
#include "crypto/crypto.h"

/* Releases a reply's feed_text (http_reply_shared). */
static void text_release(void *t)
{
	feed_text_release(t);
}

/* Serves the calendar the route names, with the request's context. */
static enum tr_code calendar(struct http_req *req, struct http_reply *rep, struct rec_ctx *c)
{
	struct feeds_want w;
	struct feed_text *t = NULL;
	const char *file = route_param(&req->match, "file");
	bool services = strstr(req->path, "/services/") != NULL;
	enum tr_code rc = feeds_want_of(c->defs, services, file, &w, &req->err);
	if (rc == TR_OK)
		rc = feeds_calendar(req->app, c, &w, &t, &req->err);
	if (rc != TR_OK)
		return rc;
	const char *inm = http_req_header(req, "If-None-Match");
	rc = http_reply_header(rep, "ETag", t->etag);
	if (inm != NULL && (strstr(inm, t->etag) != NULL || strcmp(inm, "*") == 0)) {
		if (rc == TR_OK)
			rc = http_reply_text(rep, 304, NULL, "", 0);
		feed_text_release(t);
	} else if (rc == TR_OK) { /* the reply takes our reference: the text is not copied */
		rc = http_reply_shared(rep, 200, "text/calendar; charset=utf-8", t->text, t->len,
				       text_release, t);
	} else {
		feed_text_release(t);
	}
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Cache-Control", "private, max-age=300");
	return rc;
}

enum tr_code h_calendar(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	char hash[CRYPTO_SHA256_HEX_LEN];
	enum tr_code rc = api_rec_context(req, &c, hash);
	return rc == TR_OK ? calendar(req, rep, &c) : rc;
}

enum tr_code h_feed(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	char hash[CRYPTO_SHA256_HEX_LEN], user[129];
	const char *token = route_param(&req->match, "token");
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = feeds_token_user(&c, token, user, &req->err);
	if (rc != TR_OK)
		return rc;
	c.actor = user;
	return calendar(req, rep, &c);
}

/* ---- feed tokens ------------------------------------------------------------------------ */

enum tr_code h_feeds_create(struct http_req *req, struct http_reply *rep)
{
	json_t *label = json_object_get(req->json, "label");
	if (label != NULL && (!json_is_string(label) || json_string_length(label) > 200))
		return tr_error_set(&req->err, TR_E_UNPROCESSABLE, "label",
				    "'label' must be a string of 200 characters at most");
	const char *key;
	json_t *v;
	json_object_foreach(req->json, key, v) {
		if (strcmp(key, "label") != 0)
			return tr_error_set(&req->err, TR_E_UNPROCESSABLE, key,
					    "unknown member '%s' (only 'label')", key);
	}
	long long id = 0;
	json_t *body = NULL;
	enum tr_code rc =
		feeds_token_create(api_session(req), req->request_id, req->user.name,
				   req->user.token_id, json_string_value(label),
				   ((struct app *)req->app)->public_url, &body, &id, &req->err);
	if (rc != TR_OK)
		return rc;
	char loc[64];
	snprintf(loc, sizeof loc, "/v1/feeds/%lld", id);
	rc = http_reply_json(rep, 201, body);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Location", loc);
	return rc;
}

enum tr_code h_feeds_list(struct http_req *req, struct http_reply *rep)
{
	json_t *list = NULL;
	bool admin = (req->user.roles & ROLE_ADMIN) != 0;
	enum tr_code rc = feeds_token_list(api_session(req), req->request_id,
					   admin ? NULL : req->user.name, &list, &req->err);
	if (rc != TR_OK)
		return rc;
	return http_reply_json(rep, 200, json_pack("{s:o}", "feeds", list));
}

enum tr_code h_feeds_revoke(struct http_req *req, struct http_reply *rep)
{
	const char *ids = route_param(&req->match, "id");
	char *end;
	long long id = strtoll(ids, &end, 10);
	if (*end != '\0' || id <= 0)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, "id", "no feed '%s'", ids);
	bool admin = (req->user.roles & ROLE_ADMIN) != 0;
	enum tr_code rc = feeds_token_revoke(api_session(req), req->request_id, id,
					     admin ? NULL : req->user.name, &req->err);
	if (rc != TR_OK)
		return rc;
	return http_reply_text(rep, 204, NULL, "", 0);
}
