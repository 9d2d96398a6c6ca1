/*
 * h_feeds.c -- iCalendar feeds of the schedule: secret feed URLs for calendar programs
 * (/feeds/{token}/...), the same calendars for bearer-token clients (/v1/calendars/...),
 * and the feed tokens themselves (/v1/feeds).
 *
 * Calendars: schedule.ics (booked changes, windows and freezes), freezes.ics,
 * cab.ics (CAB meetings with their agenda) and services/{name}.ics (one service's
 * bookings, windows and freezes).  A bounded range: 30 days back, the scheduling
 * horizon ahead.  Strong ETags (a hash of the text) and 304 on If-None-Match.  All but
 * cab.ics are cut from the shared snapshot of the schedule (feed_cache.h) and their texts
 * remembered until something changes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "app/feed_cache.h"
#include "app/feed_items.h"
#include "auth/roles.h"
#include "calendar/feed.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "planner/planner.h"
#include "policy/catalog.h"
#include "app/records.h"
#include "store/bookings.h"
#include "store/records.h"

#define FEED_REFRESH_S 900

/* Which calendar a request asks for. */
struct feed_want {
	const char *what;    /* "schedule", "freezes", "cab" or "service" */
	const char *service; /* for "service" */
	const char *name;    /* the calendar's display name */
};

/* Whether event `o` belongs to calendar `w` (api_feed_items' choice, see feed_items.c). */
static bool wanted(const struct defs *d, const struct feed_obj *o, const struct feed_want *w)
{
	if (strcmp(w->what, "freezes") == 0)
		return o->kind == FEED_FREEZE;
	if (w->service == NULL)
		return true; /* "schedule": bookings, windows and freezes */
	if (o->kind != FEED_BOOKING)
		return planner_applies(d->catalog, o->src, w->service);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(o->src, "services"), i, v) {
		if (strcmp(json_string_value(v) ?: "", w->service) == 0)
			return true;
	}
	return false;
}

/*
 * Calendar `w` from the shared snapshot (feed_cache.h) into *out, or *out = NULL when the
 * snapshot cannot serve it (the CAB calendar, whose agenda it does not hold; a window the
 * snapshot does not cover alike).
 */
static enum tr_code feed_cached(struct http_req *req, struct rec_ctx *c, const struct feed_want *w,
				long long from, long long to, struct feed_text **out)
{
	struct app *app = req->app;
	struct feed_snap *s = NULL;
	*out = NULL;
	if (strcmp(w->what, "cab") == 0)
		return TR_OK;
	enum tr_code rc = feed_cache_get(app->feed_cache, c, app->public_url, &s, &req->err);
	if (rc != TR_OK || !s->exact) {
		feed_snap_release(s);
		return rc;
	}
	unsigned char *sel = calloc(s->n + 1, 1);
	char key[160];
	if (sel == NULL) {
		feed_snap_release(s);
		return tr_error_set(&req->err, TR_E_NOMEM, NULL, "out of memory");
	}
	for (size_t i = 0; i < s->n; i++)
		sel[i] = feed_obj_in(&s->objs[i], from, to) && wanted(c->defs, &s->objs[i], w);
	snprintf(key, sizeof key, "ics:%s:%.120s", w->what, w->service ? w->service : "");
	struct cal_feed f = {
		.name = w->name, .refresh_seconds = FEED_REFRESH_S, .dtstamp_ms = s->stamp_ms};
	*out = feed_snap_calendar(s, key, sel, &f, &req->err);
	free(sel);
	feed_snap_release(s);
	return *out != NULL ? TR_OK : req->err.code ? req->err.code : TR_E_INTERNAL;
}

/* Calendar `w` computed afresh into *out. */
static enum tr_code feed_fresh(struct http_req *req, struct rec_ctx *c, const struct feed_want *w,
			       long long from, long long to, struct feed_text **out)
{
	const char *base = ((struct app *)req->app)->public_url;
	long long stamp = 0;
	json_t *items = NULL;
	*out = NULL;
	enum tr_code rc = api_feed_items(c, base, w->what, w->service, from, to, &items, NULL,
					 &stamp, &req->err);
	if (rc != TR_OK)
		return rc;
	struct cal_feed f = {
		.name = w->name, .refresh_seconds = FEED_REFRESH_S, .dtstamp_ms = stamp};
	struct tr_error e = {0};
	size_t len = 0;
	char *text = cal_feed_build(&f, items, &len, &e);
	json_decref(items);
	if (text == NULL)
		return tr_error_set(&req->err, TR_E_INTERNAL, NULL, "feed: %s: %s", e.field,
				    e.detail);
	*out = feed_text_new(text, len);
	free(text);
	if (*out == NULL)
		return tr_error_set(&req->err, TR_E_NOMEM, NULL, "out of memory");
	feed_etag_of_text((*out)->text, (*out)->len, (*out)->etag);
	return TR_OK;
}

/* Serves calendar `w` with the request's context. */
static enum tr_code serve_feed(struct http_req *req, struct http_reply *rep, struct rec_ctx *c,
			       const struct feed_want *w)
{
	long long from, to;
	struct feed_text *t = NULL;
	feed_window(c->defs, c->now_ms, &from, &to);
	enum tr_code rc = feed_cached(req, c, w, from, to, &t);
	if (rc == TR_OK && t == NULL)
		rc = feed_fresh(req, c, w, from, to, &t);
	if (rc != TR_OK)
		return rc;
	const char *inm = http_req_header(req, "If-None-Match");
	if (inm != NULL && (strstr(inm, t->etag) != NULL || strcmp(inm, "*") == 0))
		rc = http_reply_text(rep, 304, NULL, "", 0);
	else
		rc = http_reply_text(rep, 200, "text/calendar; charset=utf-8", t->text, t->len);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "ETag", t->etag);
	feed_text_release(t);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Cache-Control", "private, max-age=300");
	return rc;
}

/* Which calendar `file` ("schedule.ics") of directory `dir` (NULL or "services") is. */
static enum tr_code want_of(struct http_req *req, const struct defs *d, const char *dir,
			    const char *file, struct feed_want *w, char *buf, size_t size)
{
	size_t n = strlen(file);
	if (n < 5 || strcmp(file + n - 4, ".ics") != 0)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, NULL,
				    "calendars end in .ics: schedule.ics, freezes.ics, cab.ics, "
				    "services/{name}.ics");
	snprintf(buf, size, "%.*s", (int)(n - 4), file);
	if (dir != NULL) {
		if (d->catalog != NULL && catalog_find(d->catalog, buf) == NULL)
			return tr_error_set(&req->err, TR_E_NOT_FOUND, "service", "no service '%s'",
					    buf);
		*w = (struct feed_want){"service", buf, NULL};
		return TR_OK;
	}
	static const struct {
		const char *what, *name;
	} cals[] = {{"schedule", "Transom: change schedule"},
		    {"freezes", "Transom: change freezes"},
		    {"cab", "Transom: CAB meetings"}};
	for (size_t i = 0; i < sizeof cals / sizeof cals[0]; i++)
		if (strcmp(buf, cals[i].what) == 0) {
			*w = (struct feed_want){cals[i].what, NULL, cals[i].name};
			return TR_OK;
		}
	return tr_error_set(&req->err, TR_E_NOT_FOUND, NULL, "no calendar '%s'", file);
}

static enum tr_code calendar(struct http_req *req, struct http_reply *rep, struct rec_ctx *c)
{
	struct feed_want w = {0};
	char buf[256], name[300];
	const char *file = route_param(&req->match, "file");
	const char *dir = strstr(req->path, "/services/") != NULL ? "services" : NULL;
	enum tr_code rc = want_of(req, c->defs, dir, file, &w, buf, sizeof buf);
	if (rc != TR_OK)
		return rc;
	if (w.service != NULL) {
		snprintf(name, sizeof name, "Transom: %s", w.service);
		w.name = name;
	}
	return serve_feed(req, rep, c, &w);
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
	if (rc != TR_OK)
		return rc;
	crypto_sha256_hex(token, strlen(token), hash);
	enum db_status s = store_feed_token_user(c.st, hash, user);
	if (s < 0)
		return api_db_error(req, s);
	if (s == DB_NONE) /* unknown and revoked alike: nothing to learn from the answer */
		return tr_error_set(&req->err, TR_E_NOT_FOUND, NULL, "no such feed");
	c.actor = user;
	return calendar(req, rep, &c);
}

/* ---- feed tokens ------------------------------------------------------------------------ */

enum tr_code h_feeds_create(struct http_req *req, struct http_reply *rep)
{
	char token[64], hash[CRYPTO_SHA256_HEX_LEN];
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
	if (!crypto_token("feed_", 24, token, sizeof token))
		return tr_error_set(&req->err, TR_E_INTERNAL, NULL, "no randomness");
	crypto_sha256_hex(token, strlen(token), hash);
	long long id = 0;
	enum db_status s =
		store_feed_token_insert(api_store(req), req->user.name, hash,
					json_string_value(label), req->user.token_id, &id);
	if (s < 0)
		return api_db_error(req, s);
	const char *base = ((struct app *)req->app)->public_url;
	char loc[64];
	snprintf(loc, sizeof loc, "/v1/feeds/%lld", id);
	json_t *body = json_pack(
		"{s:I, s:s?, s:s, s:{s:s+++, s:s+++, s:s+++, s:s+++}, s:s}", "id", (json_int_t)id,
		"label", json_string_value(label), "token", token, "urls", "schedule", base,
		"/feeds/", token, "/schedule.ics", "freezes", base, "/feeds/", token,
		"/freezes.ics", "cab", base, "/feeds/", token, "/cab.ics", "service", base,
		"/feeds/", token, "/services/{name}.ics", "note",
		"keep the URLs secret: anyone holding one can read these calendars; "
		"DELETE /v1/feeds/{id} revokes them");
	enum tr_code rc = http_reply_json(rep, 201, body);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Location", loc);
	return rc;
}

enum tr_code h_feeds_list(struct http_req *req, struct http_reply *rep)
{
	json_t *list = NULL;
	bool admin = (req->user.roles & ROLE_ADMIN) != 0;
	enum db_status s =
		store_feed_tokens_list(api_store(req), admin ? NULL : req->user.name, &list);
	if (s < 0)
		return api_db_error(req, s);
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
	enum db_status s =
		store_feed_token_revoke(api_store(req), id, admin ? NULL : req->user.name);
	if (s < 0)
		return api_db_error(req, s);
	if (s == DB_NONE)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, "id", "no feed %lld of yours", id);
	return http_reply_text(rep, 204, NULL, "", 0);
}
