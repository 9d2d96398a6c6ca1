/*
 * feeds.h -- the iCalendar feeds of the schedule as data: which calendars exist
 * (schedule.ics, freezes.ics, cab.ics, services/{name}.ics), their texts with strong
 * ETags, and the secret feed tokens that open them to calendar programs.
 *
 * A bounded range: 30 days back, the scheduling horizon ahead (feed_window).  All but
 * cab.ics are cut from the shared snapshot of the schedule (feed_cache.h) and their
 * texts remembered until something changes.  api/h_feeds.c translates HTTP into these
 * calls; nothing here knows of HTTP.
 */
#ifndef TRANSOM_APP_FEEDS_H
#define TRANSOM_APP_FEEDS_H

#include <jansson.h>
#include <stdbool.h>

#include "app/app.h"
#include "app/feed_cache.h"
#include "app/records.h"
#include "core/err.h"

struct app_session;

/* Which calendar a request asks for.  Points into itself: do not copy. */
struct feeds_want {
	const char *what;    /* "schedule", "freezes", "cab" or "service" */
	const char *service; /* for "service" */
	const char *name;    /* the calendar's display name */
	char buf[256], name_buf[300];
};

/*
 * Which calendar file `file` ("schedule.ics"; in the services directory when `services`)
 * names, under definitions `d`, into *w.  TR_OK, or TR_E_NOT_FOUND set on `err` (not
 * .ics, no such calendar, no such service: field "service").
 */
enum tr_code feeds_want_of(const struct defs *d, bool services, const char *file,
			   struct feeds_want *w, struct tr_error *err);

/*
 * Calendar `w` for request context `c` (definitions, clock, database) with links to
 * `app`'s public URL: *out is a reference (feed_text_release) to its text and ETag.
 * TR_OK, or an error set on `err` (database, out of memory, an item that does not make
 * iCalendar).
 */
enum tr_code feeds_calendar(struct app *app, struct rec_ctx *c, const struct feeds_want *w,
			    struct feed_text **out, struct tr_error *err);

/* ---- feed tokens ------------------------------------------------------------------------ */

/*
 * The user of secret feed token `token` into `user` (129 bytes).  TR_OK, or
 * TR_E_NOT_FOUND ("no such feed": unknown and revoked alike, so the answer tells nothing)
 * or a database error set on `err`.
 */
enum tr_code feeds_token_user(struct rec_ctx *c, const char *token, char user[129],
			      struct tr_error *err);

/*
 * Makes a feed token for `user`, made with API token `token_id`, labelled `label` (may
 * be NULL), on connection `st` (errors logged with `request_id`).  *body receives the
 * owned reply {"id", "label"?, "token", "urls": {...}, "note"} with URLs under `base`,
 * *id the token's id.  TR_OK, or an error set on `err`.
 */
enum tr_code feeds_token_create(struct app_session *ses, const char *request_id, const char *user,
				long long token_id, const char *label, const char *base,
				json_t **body, long long *id, struct tr_error *err);

/* The feed tokens of `user` (every user's when NULL) into *list (owned array). */
enum tr_code feeds_token_list(struct app_session *ses, const char *request_id, const char *user,
			      json_t **list, struct tr_error *err);

/*
 * Revokes feed token `id` of `user` (any user's when NULL).  TR_OK, or TR_E_NOT_FOUND
 * (field "id") when there is no such active token, or a database error.
 */
enum tr_code feeds_token_revoke(struct app_session *ses, const char *request_id, long long id,
				const char *user, struct tr_error *err);

#endif /* TRANSOM_APP_FEEDS_H */
