/*
 * h_dav.c -- CalDAV (RFC 4791, 6578, 6638 attendee side) for calendar programs.
 *
 * Layout (every collection href ends with '/'; the routes accept both spellings):
 *   /.well-known/caldav                  301 to /dav/
 *   /dav/                                the root: current-user-principal
 *   /dav/principals/{user}/              the member's principal
 *   /dav/calendars/{user}/               the calendar home
 *   /dav/calendars/{user}/schedule/      read-only: booked changes, windows, freezes
 *                                        (the schedule feed's events, one object each)
 *   /dav/calendars/{user}/cab-votes/     the changes awaiting the member's vote, each an
 *                                        attendee scheduling object; a PUT changing only
 *                                        the member's PARTSTAT is a vote, DELETE declines
 *   /dav/calendars/{user}/inbox/ outbox/ scheduling collections (empty; they only exist)
 *   /dav/calendars/{user}/{cal}/{name}.ics  one object
 *
 * A member sees only their own principal and calendars.  What the calendars hold, their
 * sync tokens and what a PARTSTAT change means are app/caldav.h's; this file and
 * h_dav_find.c (PROPFIND, REPORT) speak WebDAV: routes, headers, XML, status codes.
 * Window and freeze instances are separate non-recurring objects, so a calendar-query's
 * time range is recurrence-aware by construction: an object matches when its one
 * instance overlaps the range.
 *
 * Auth is the dispatcher's (ROUTE_BASIC_AUTH: app passwords, or a Bearer token).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/h_dav.h"
#include "crypto/crypto.h"
#include "dav/dav.h"

/* ---- small helpers ------------------------------------------------------------------------ */

enum tr_code h_dav_reply_error(struct ctx *x, int status, const char *ns, const char *name)
{
	struct dav_buf b = {0};
	dav_error_body(&b, ns, name);
	enum tr_code rc = b.oom ? TR_E_NOMEM : http_reply_text(x->rep, status, CT_XML, b.p, b.len);
	free(b.p);
	return rc;
}

enum tr_code h_dav_coll_load(struct ctx *x)
{
	if (x->loaded)
		return TR_OK;
	enum tr_code rc =
		caldav_coll_load(x->req->app, &x->rc, &x->m, x->cal, &x->coll, &x->req->err);
	if (rc == TR_OK)
		x->loaded = true;
	return rc;
}

/* ---- GET, PUT, DELETE, OPTIONS ------------------------------------------------------------- */

/* Does `header` (If-Match / If-None-Match) list `etag` (or "*")? */
static bool etag_listed(const char *header, const char *etag)
{
	return header != NULL && (strstr(header, etag) != NULL || strstr(header, "*") != NULL);
}

/* Releases a reply's feed_text (http_reply_shared). */
static void text_release(void *t)
{
	feed_text_release(t);
}

static enum tr_code do_get(struct ctx *x)
{
	enum tr_code rc;
	if (x->kind == RES_CAL && strcmp(x->cal, CALDAV_SCHEDULE) == 0) {
		/* The whole calendar in one text, as the schedule feed serves it. */
		if ((rc = h_dav_coll_load(x)) != TR_OK)
			return rc;
		struct feed_text *t = NULL;
		if ((rc = caldav_calendar(&x->coll, &t, &x->req->err)) != TR_OK)
			return rc;
		rc = http_reply_header(x->rep, "ETag", t->etag);
		if (rc != TR_OK) {
			feed_text_release(t);
			return rc;
		}
		/* the reply takes our reference: the text is not copied */
		return http_reply_shared(x->rep, 200, CT_ICS, t->text, t->len, text_release, t);
	}
	if (x->kind != RES_OBJECT) {
		const char *t =
			"Transom CalDAV: use a calendar program (see docs/calendar-clients.md)\n";
		return http_reply_text(x->rep, 200, "text/plain; charset=utf-8", t, strlen(t));
	}
	if ((rc = h_dav_coll_load(x)) != TR_OK)
		return rc;
	const struct caldav_obj *o = caldav_coll_find(&x->coll, x->object);
	if (o == NULL)
		return tr_error_set(&x->req->err, TR_E_NOT_FOUND, NULL, "no object %s", x->object);
	if (etag_listed(http_req_header(x->req, "If-None-Match"), o->etag)) {
		rc = http_reply_text(x->rep, 304, NULL, "", 0);
	} else {
		size_t len = 0;
		char *text = caldav_obj_text(&x->coll, o, &len, &x->req->err);
		if (text == NULL)
			return TR_E_INTERNAL;
		rc = http_reply_text(x->rep, 200, CT_ICS, text, len);
		free(text);
	}
	if (rc == TR_OK)
		rc = http_reply_header(x->rep, "ETag", o->etag);
	if (rc == TR_OK && o->sched_tag[0])
		rc = http_reply_header(x->rep, "Schedule-Tag", o->sched_tag);
	return rc;
}

/* Records `decision` on the object's change as the member (caldav_vote_cast). */
static enum tr_code cast_vote(struct ctx *x, const struct caldav_obj *o, const char *decision)
{
	struct rec_reply out = {0};
	enum tr_code rc = caldav_vote_cast(&x->rc, o, decision, &out, &x->req->err);
	if (rc != TR_OK)
		return api_rec_reply(x->req, x->rep, rc, &out);
	rec_reply_clear(&out);
	/* The object as it is now (gone once the change no longer awaits a decision). */
	caldav_coll_clear(&x->coll);
	x->loaded = false;
	if ((rc = h_dav_coll_load(x)) != TR_OK)
		return rc;
	rc = http_reply_text(x->rep, 204, NULL, "", 0);
	const struct caldav_obj *now = caldav_coll_find(&x->coll, x->object);
	if (rc == TR_OK && now != NULL)
		rc = http_reply_header(x->rep, "ETag", now->etag);
	if (rc == TR_OK && now != NULL)
		rc = http_reply_header(x->rep, "Schedule-Tag", now->sched_tag);
	return rc;
}

/* If-Match and If-Schedule-Tag-Match against the current object. */
static bool preconditions_hold(struct ctx *x, const struct caldav_obj *o)
{
	const char *im = http_req_header(x->req, "If-Match");
	const char *ist = http_req_header(x->req, "If-Schedule-Tag-Match");
	if (im != NULL && !etag_listed(im, o->etag))
		return false;
	return ist == NULL || strstr(ist, o->sched_tag) != NULL;
}

static enum tr_code do_put(struct ctx *x)
{
	if (x->kind != RES_OBJECT || strcmp(x->cal, CALDAV_VOTES) != 0)
		return h_dav_reply_error(x, 403, DAV_NS, "need-privileges");
	enum tr_code rc = h_dav_coll_load(x);
	if (rc != TR_OK)
		return rc;
	const struct caldav_obj *o = caldav_coll_find(&x->coll, x->object);
	if (o == NULL) /* no new objects: votes are made by Transom */
		return h_dav_reply_error(x, 403, DAV_NS, "need-privileges");
	if (!preconditions_hold(x, o))
		return tr_error_set(&x->req->err, TR_E_PRECONDITION_FAILED, "If-Match",
				    "the object changed; fetch it again");
	const char *decision = NULL;
	switch (caldav_vote_put(&x->rc, &x->m, o, x->req->body, x->req->body_len, &decision)) {
	case CALDAV_PUT_INVALID:
		return h_dav_reply_error(x, 403, CALDAV_NS, "valid-calendar-data");
	case CALDAV_PUT_FORBIDDEN:
		return h_dav_reply_error(x, 403, CALDAV_NS,
					 "allowed-attendee-scheduling-object-change");
	case CALDAV_PUT_SAME:
		rc = http_reply_text(x->rep, 204, NULL, "", 0);
		if (rc == TR_OK)
			rc = http_reply_header(x->rep, "ETag", o->etag);
		if (rc == TR_OK)
			rc = http_reply_header(x->rep, "Schedule-Tag", o->sched_tag);
		return rc;
	case CALDAV_PUT_VOTE:
		break;
	}
	return cast_vote(x, o, decision);
}

static enum tr_code do_delete(struct ctx *x)
{
	if (x->kind != RES_OBJECT || strcmp(x->cal, CALDAV_VOTES) != 0)
		return h_dav_reply_error(x, 403, DAV_NS, "need-privileges");
	enum tr_code rc = h_dav_coll_load(x);
	if (rc != TR_OK)
		return rc;
	const struct caldav_obj *o = caldav_coll_find(&x->coll, x->object);
	if (o == NULL)
		return tr_error_set(&x->req->err, TR_E_NOT_FOUND, NULL, "no object %s", x->object);
	if (!preconditions_hold(x, o))
		return tr_error_set(&x->req->err, TR_E_PRECONDITION_FAILED, "If-Match",
				    "the object changed; fetch it again");
	return cast_vote(x, o, "reject"); /* RFC 6638 3.2.2.1: deleting = declining */
}

static enum tr_code do_options(struct ctx *x)
{
	enum tr_code rc = http_reply_text(x->rep, 200, NULL, "", 0);
	if (rc == TR_OK)
		rc = http_reply_header(x->rep, "DAV", DAV_CAPS);
	if (rc == TR_OK)
		rc = http_reply_header(x->rep, "Allow", DAV_ALLOW);
	return rc;
}

/* ---- entry points ---------------------------------------------------------------------------- */

/* Reads the route into `x`: which resource, whose. */
static enum tr_code resolve(struct ctx *x)
{
	const char *user = route_param(&x->req->match, "user");
	const char *cal = route_param(&x->req->match, "cal");
	const char *object = route_param(&x->req->match, "object");
	const char *path = x->req->path;
	x->user = x->req->user.name;
	caldav_member_of(&x->rc, x->user, x->req->user.email, &x->m);
	if (user == NULL) {
		x->kind = strncmp(path, "/dav/principals", 15) == 0 ? RES_PRINCIPALS : RES_ROOT;
		return TR_OK;
	}
	if (strcmp(user, x->user) != 0) {
		tr_error_set(&x->req->err, TR_E_FORBIDDEN, NULL,
			     "%s may read only their own calendars (/dav/calendars/%s/)", x->user,
			     x->user);
		tr_error_rule(&x->req->err, TR_R_OWN_CALENDARS);
		return TR_E_FORBIDDEN;
	}
	if (strncmp(path, "/dav/principals/", 16) == 0) {
		x->kind = RES_PRINCIPAL;
		return TR_OK;
	}
	if (cal == NULL) {
		x->kind = RES_HOME;
		return TR_OK;
	}
	if (!caldav_cal_known(cal))
		return tr_error_set(&x->req->err, TR_E_NOT_FOUND, NULL,
				    "no calendar '%s' (schedule, cab-votes)", cal);
	x->cal = cal;
	x->kind = RES_CAL;
	if (object != NULL) {
		if (!caldav_cal_has_objects(cal))
			return tr_error_set(&x->req->err, TR_E_NOT_FOUND, NULL, "no such object");
		x->kind = RES_OBJECT;
		x->object = object;
	}
	return TR_OK;
}

enum tr_code h_dav(struct http_req *req, struct http_reply *rep)
{
	struct ctx x = {.req = req, .rep = rep};
	char hash[CRYPTO_SHA256_HEX_LEN];
	enum tr_code rc = api_rec_context(req, &x.rc, hash);
	if (rc == TR_OK)
		rc = resolve(&x);
	if (rc != TR_OK)
		return rc;
	switch (req->method) {
	case HTTP_OPTIONS:
		rc = do_options(&x);
		break;
	case HTTP_PROPFIND:
		rc = h_dav_propfind(&x);
		break;
	case HTTP_REPORT:
		rc = h_dav_report(&x);
		break;
	case HTTP_GET:
	case HTTP_HEAD:
		rc = do_get(&x);
		break;
	case HTTP_PUT:
		rc = do_put(&x);
		break;
	case HTTP_DELETE:
		rc = do_delete(&x);
		break;
	default:
		http_reply_header(rep, "Allow", DAV_ALLOW);
		rc = tr_error_set(&req->err, TR_E_METHOD_NOT_ALLOWED, NULL,
				  "%s is not allowed here", req->method_name);
	}
	caldav_coll_clear(&x.coll);
	if (rc == TR_OK && req->method != HTTP_OPTIONS && rep->nheaders < HTTP_MAX_REPLY_HEADERS)
		http_reply_header(rep, "DAV", DAV_CAPS);
	return rc;
}

enum tr_code h_dav_well_known(struct http_req *req, struct http_reply *rep)
{
	enum tr_code rc = http_reply_text(rep, 301, NULL, "", 0);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Location", "/dav/");
	return rc;
}
