/*
 * feeds.c -- the iCalendar feeds of the schedule and their secret tokens (see feeds.h).
 */
#include "app/feeds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/feed_items.h"
#include "app/session.h"
#include "calendar/feed.h"
#include "crypto/crypto.h"
#include "policy/catalog.h"
#include "store/bookings.h"

#define FEED_REFRESH_S 900

/* Whether event `o` belongs to calendar `w` (feed_items_list' choice, see feed_items.c). */
static bool wanted(const struct defs *d, const struct feed_obj *o, const struct feeds_want *w)
{
	if (strcmp(w->what, "freezes") == 0)
		return o->kind == FEED_FREEZE;
	if (w->service == NULL)
		return true; /* "schedule": bookings, windows and freezes */
	return feed_obj_on_service(d, o, w->service);
}

/*
 * Calendar `w` from the shared snapshot (feed_cache.h) into *out, or *out = NULL when the
 * snapshot cannot serve it (the CAB calendar, whose agenda it does not hold; a window the
 * snapshot does not cover alike).
 */
static enum tr_code feed_cached(struct app *app, struct rec_ctx *c, const struct feeds_want *w,
				long long from, long long to, struct feed_text **out,
				struct tr_error *err)
{
	struct feed_snap *s = NULL;
	*out = NULL;
	if (strcmp(w->what, "cab") == 0)
		return TR_OK;
	enum tr_code rc = feed_cache_get(app->feed_cache, c, app->public_url, &s, err);
	if (rc != TR_OK || !s->exact) {
		feed_snap_release(s);
		return rc;
	}
	unsigned char *sel = calloc(s->n + 1, 1);
	char key[160];
	if (sel == NULL) {
		feed_snap_release(s);
		return tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	}
	for (size_t i = 0; i < s->n; i++)
		sel[i] = feed_obj_in(s->objs[i], from, to) && wanted(c->defs, s->objs[i], w);
	snprintf(key, sizeof key, "ics:%s:%.120s", w->what, w->service ? w->service : "");
	struct cal_feed f = {
		.name = w->name, .refresh_seconds = FEED_REFRESH_S, .dtstamp_ms = s->stamp_ms};
	*out = feed_snap_calendar(s, key, sel, &f, err);
	free(sel);
	feed_snap_release(s);
	return *out != NULL ? TR_OK : err->code ? err->code : TR_E_INTERNAL;
}

/* Calendar `w` computed afresh into *out. */
static enum tr_code feed_fresh(struct app *app, struct rec_ctx *c, const struct feeds_want *w,
			       long long from, long long to, struct feed_text **out,
			       struct tr_error *err)
{
	const char *base = app->public_url;
	long long stamp = 0;
	json_t *items = NULL;
	*out = NULL;
	enum tr_code rc =
		feed_items_list(c, base, w->what, w->service, from, to, &items, NULL, &stamp, err);
	if (rc != TR_OK)
		return rc;
	struct cal_feed f = {
		.name = w->name, .refresh_seconds = FEED_REFRESH_S, .dtstamp_ms = stamp};
	struct tr_error e = {0};
	size_t len = 0;
	char *text = cal_feed_build(&f, items, &len, &e);
	json_decref(items);
	if (text == NULL)
		return tr_error_set(err, TR_E_INTERNAL, NULL, "feed: %s: %s", e.field, e.detail);
	*out = feed_text_new(text, len);
	free(text);
	if (*out == NULL)
		return tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	feed_etag_of_text((*out)->text, (*out)->len, (*out)->etag);
	return TR_OK;
}

enum tr_code feeds_calendar(struct app *app, struct rec_ctx *c, const struct feeds_want *w,
			    struct feed_text **out, struct tr_error *err)
{
	long long from, to;
	feed_window(c->defs, c->now_ms, &from, &to);
	enum tr_code rc = feed_cached(app, c, w, from, to, out, err);
	if (rc == TR_OK && *out == NULL)
		rc = feed_fresh(app, c, w, from, to, out, err);
	return rc;
}

enum tr_code feeds_want_of(const struct defs *d, bool services, const char *file,
			   struct feeds_want *w, struct tr_error *err)
{
	size_t n = strlen(file);
	memset(w, 0, sizeof *w);
	if (n < 5 || strcmp(file + n - 4, ".ics") != 0)
		return tr_error_set(err, TR_E_NOT_FOUND, NULL,
				    "calendars end in .ics: schedule.ics, freezes.ics, cab.ics, "
				    "services/{name}.ics");
	snprintf(w->buf, sizeof w->buf, "%.*s", (int)(n - 4), file);
	if (services) {
		if (d->catalog != NULL && catalog_find(d->catalog, w->buf) == NULL)
			return tr_error_set(err, TR_E_NOT_FOUND, "service", "no service '%s'",
					    w->buf);
		snprintf(w->name_buf, sizeof w->name_buf, "Transom: %s", w->buf);
		w->what = "service";
		w->service = w->buf;
		w->name = w->name_buf;
		return TR_OK;
	}
	static const struct {
		const char *what, *name;
	} cals[] = {{"schedule", "Transom: change schedule"},
		    {"freezes", "Transom: change freezes"},
		    {"cab", "Transom: CAB meetings"}};
	for (size_t i = 0; i < sizeof cals / sizeof cals[0]; i++)
		if (strcmp(w->buf, cals[i].what) == 0) {
			w->what = cals[i].what;
			w->name = cals[i].name;
			return TR_OK;
		}
	return tr_error_set(err, TR_E_NOT_FOUND, NULL, "no calendar '%s'", file);
}

/* ---- feed tokens ------------------------------------------------------------------------ */

enum tr_code feeds_token_user(struct rec_ctx *c, const char *token, char user[129],
			      struct tr_error *err)
{
	char hash[CRYPTO_SHA256_HEX_LEN];
	crypto_sha256_hex(token, strlen(token), hash);
	enum db_status s = store_feed_token_user(c->st, hash, user);
	if (s < 0)
		return store_error(c->st, s, c->request_id, err);
	if (s == DB_NONE) /* unknown and revoked alike: nothing to learn from the answer */
		return tr_error_set(err, TR_E_NOT_FOUND, NULL, "no such feed");
	return TR_OK;
}

enum tr_code feeds_token_create(struct app_session *ses, const char *request_id, const char *user,
				long long token_id, const char *label, const char *base,
				json_t **body, long long *id, struct tr_error *err)
{
	struct store *st = ses->store;
	char token[64], hash[CRYPTO_SHA256_HEX_LEN];
	if (!crypto_token("feed_", 24, token, sizeof token))
		return tr_error_set(err, TR_E_INTERNAL, NULL, "no randomness");
	crypto_sha256_hex(token, strlen(token), hash);
	*id = 0;
	enum db_status s = store_feed_token_insert(st, user, hash, label, token_id, id);
	if (s < 0)
		return store_error(st, s, request_id, err);
	*body = json_pack("{s:I, s:s?, s:s, s:{s:s+++, s:s+++, s:s+++, s:s+++}, s:s}", "id",
			  (json_int_t)*id, "label", label, "token", token, "urls", "schedule", base,
			  "/feeds/", token, "/schedule.ics", "freezes", base, "/feeds/", token,
			  "/freezes.ics", "cab", base, "/feeds/", token, "/cab.ics", "service",
			  base, "/feeds/", token, "/services/{name}.ics", "note",
			  "keep the URLs secret: anyone holding one can read these calendars; "
			  "DELETE /v1/feeds/{id} revokes them");
	return TR_OK;
}

enum tr_code feeds_token_list(struct app_session *ses, const char *request_id, const char *user,
			      json_t **list, struct tr_error *err)
{
	struct store *st = ses->store;
	enum db_status s = store_feed_tokens_list(st, user, list);
	return s < 0 ? store_error(st, s, request_id, err) : TR_OK;
}

enum tr_code feeds_token_revoke(struct app_session *ses, const char *request_id, long long id,
				const char *user, struct tr_error *err)
{
	struct store *st = ses->store;
	enum db_status s = store_feed_token_revoke(st, id, user);
	if (s < 0)
		return store_error(st, s, request_id, err);
	if (s == DB_NONE)
		return tr_error_set(err, TR_E_NOT_FOUND, "id", "no feed %lld of yours", id);
	return TR_OK;
}
