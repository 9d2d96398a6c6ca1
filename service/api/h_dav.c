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
 * A member sees only their own principal and calendars.  The schedule's objects come from
 * the snapshot the ICS feeds share (feed_cache.h: made again whenever the definitions, the
 * audit log or the day move, so never out of step); the cab-votes objects are computed on
 * every request.  The change log in the store (store/dav.h) turns each listing into sync
 * tokens and ctags.
 * Window and freeze instances are separate non-recurring objects, so a calendar-query's
 * time range is recurrence-aware by construction: an object matches when its one
 * instance overlaps the range.
 *
 * Auth is the dispatcher's (ROUTE_BASIC_AUTH: app passwords, or a Bearer token).
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "app/feed_cache.h"
#include "app/feed_items.h"
#include "calendar/feed.h"
#include "calendar/vote.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/utf8.h"
#include "crypto/crypto.h"
#include "dav/dav.h"
#include "planner/planner.h"
#include "policy/policy.h"
#include "app/imip.h"
#include "app/records.h"
#include "store/dav.h"
#include "store/records.h"

#define DAY_MS       (86400LL * 1000)
#define DAV_CAPS     "1, 3, calendar-access, calendar-auto-schedule"
#define DAV_ALLOW    "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, REPORT"
#define SYNC_PREFIX  "http://transom.invalid/ns/sync/"
#define CT_XML       "application/xml; charset=utf-8"
#define CT_ICS       "text/calendar; charset=utf-8"
#define VOTE_MINUTES 30
#define CAL_SCHEDULE "schedule"
#define CAL_VOTES    "cab-votes"
#define CAL_INBOX    "inbox"
#define CAL_OUTBOX   "outbox"

/* What a path names. */
enum res_kind { RES_ROOT, RES_PRINCIPALS, RES_PRINCIPAL, RES_HOME, RES_CAL, RES_OBJECT };

/* One object of a calendar, as computed for this request. */
struct obj {
	char name[128];
	char etag[40];      /* quoted */
	char sched_tag[40]; /* quoted; cab-votes only */
	long long start_ms, end_ms;
	json_t *item; /* schedule: a cal_feed item; cab-votes: the vote (owned); or NULL */
	const struct feed_obj *fo; /* schedule: the snapshot's event (then item is NULL) */
};

/* A computed calendar collection. */
struct coll {
	const char *cal;
	struct obj *objs;
	size_t n;
	long long token; /* sync token, from the change log */
	long long stamp_ms;
	struct feed_snap *snap; /* schedule: the snapshot the objects borrow from, or NULL */
};

struct ctx {
	struct http_req *req;
	struct http_reply *rep;
	struct rec_ctx rc;
	const char *user;                 /* = the caller */
	const struct policy_user *person; /* NULL when people.json does not know them */
	enum res_kind kind;
	const char *cal;    /* RES_CAL, RES_OBJECT */
	const char *object; /* RES_OBJECT */
	struct coll coll;   /* for RES_CAL, RES_OBJECT once loaded */
	bool loaded;
};

/* ---- small helpers ------------------------------------------------------------------------ */

static bool cal_known(const char *cal)
{
	return strcmp(cal, CAL_SCHEDULE) == 0 || strcmp(cal, CAL_VOTES) == 0 ||
	       strcmp(cal, CAL_INBOX) == 0 || strcmp(cal, CAL_OUTBOX) == 0;
}

static bool cal_has_objects(const char *cal)
{
	return strcmp(cal, CAL_SCHEDULE) == 0 || strcmp(cal, CAL_VOTES) == 0;
}

/* Replies `status` with a DAV:error body naming `ns` `name` (RFC 4918 16). */
static enum tr_code reply_dav_error(struct ctx *x, int status, const char *ns, const char *name)
{
	struct dav_buf b = {0};
	dav_error_body(&b, ns, name);
	enum tr_code rc = b.oom ? TR_E_NOMEM : http_reply_text(x->rep, status, CT_XML, b.p, b.len);
	free(b.p);
	return rc;
}

static void coll_clear(struct coll *c)
{
	for (size_t i = 0; i < c->n; i++)
		json_decref(c->objs[i].item);
	free(c->objs);
	feed_snap_release(c->snap);
	memset(c, 0, sizeof *c);
}

/* Which of the snapshot's events `c` lists: c->snap->n bytes (owned), or NULL (OOM). */
static unsigned char *coll_selection(const struct coll *c)
{
	unsigned char *sel = calloc(c->snap->n + 1, 1);
	for (size_t i = 0; sel != NULL && i < c->n; i++)
		sel[c->objs[i].fo - c->snap->objs] = 1;
	return sel;
}

static const struct obj *coll_find(const struct coll *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->objs[i].name, name) == 0)
			return &c->objs[i];
	return NULL;
}

/* ---- the schedule calendar ----------------------------------------------------------------- */

/* The schedule computed afresh (when the snapshot does not cover the window alike). */
static enum tr_code load_schedule_fresh(struct ctx *x, struct coll *c, long long from, long long to)
{
	json_t *items = NULL;
	enum tr_code rc =
		api_feed_items(&x->rc, ((struct app *)x->req->app)->public_url, "schedule", NULL,
			       from, to, &items, NULL, &c->stamp_ms, &x->req->err);
	if (rc != TR_OK)
		return rc;
	size_t n = json_array_size(items), i;
	json_t *it, *names = json_object();
	c->objs = calloc(n + 1, sizeof *c->objs);
	if (c->objs == NULL || names == NULL) {
		json_decref(names);
		json_decref(items);
		return TR_E_NOMEM;
	}
	json_array_foreach(items, i, it) {
		struct obj *o = &c->objs[c->n];
		const char *uid = json_string_value(json_object_get(it, "uid"));
		if (uid == NULL || !feed_etag_of_json(it, o->etag))
			continue;
		feed_object_name(uid, o->name);
		if (json_object_get(names, o->name) != NULL)
			continue; /* a duplicate UID: the feed would refuse it too */
		json_object_set_new(names, o->name, json_true());
		o->start_ms = json_integer_value(json_object_get(it, "start_ms"));
		o->end_ms = json_integer_value(json_object_get(it, "end_ms"));
		o->item = json_incref(it);
		c->n++;
	}
	json_decref(names);
	json_decref(items);
	return TR_OK;
}

/* The schedule's objects over the request's window, first of each name only. */
static enum tr_code load_schedule(struct ctx *x, struct coll *c)
{
	struct app *app = x->req->app;
	long long from, to;
	feed_window(x->rc.defs, x->rc.now_ms, &from, &to);
	enum tr_code rc =
		feed_cache_get(app->feed_cache, &x->rc, app->public_url, &c->snap, &x->req->err);
	if (rc != TR_OK)
		return rc;
	if (!c->snap->exact) {
		feed_snap_release(c->snap);
		c->snap = NULL;
		return load_schedule_fresh(x, c, from, to);
	}
	const struct feed_snap *s = c->snap;
	json_t *names = s->any_dup_name ? json_object() : NULL;
	c->stamp_ms = s->stamp_ms;
	c->objs = calloc(s->n + 1, sizeof *c->objs);
	if (c->objs == NULL || (s->any_dup_name && names == NULL)) {
		json_decref(names);
		return TR_E_NOMEM;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct feed_obj *fo = &s->objs[i];
		if (!feed_obj_in(fo, from, to))
			continue;
		if (names != NULL) { /* the first of a name in this window wins */
			if (json_object_get(names, fo->name) != NULL)
				continue;
			json_object_set_new(names, fo->name, json_true());
		}
		struct obj *o = &c->objs[c->n++];
		memcpy(o->name, fo->name, sizeof o->name);
		memcpy(o->etag, fo->etag, sizeof o->etag);
		o->start_ms = fo->start_ms;
		o->end_ms = fo->end_ms;
		o->fo = fo;
	}
	json_decref(names);
	return TR_OK;
}

/* The text of schedule object `o` (owned), or NULL with req->err set. */
static char *schedule_text(struct ctx *x, const struct coll *c, const struct obj *o, size_t *len)
{
	if (o->fo != NULL)
		return feed_snap_object(c->snap, o->fo, len, &x->req->err);
	struct cal_feed f = {.dtstamp_ms = c->stamp_ms};
	json_t *one = json_pack("[O]", o->item);
	struct tr_error e = {0};
	char *text = one ? cal_feed_build(&f, one, len, &e) : NULL;
	json_decref(one);
	if (text == NULL)
		tr_error_set(&x->req->err, TR_E_INTERNAL, NULL, "object %s: %s", o->name,
			     e.detail[0] ? e.detail : "out of memory");
	return text;
}

/* ---- the cab-votes calendar ---------------------------------------------------------------- */

/* The member's latest vote on `approvals` as a PARTSTAT. */
static const char *partstat_of(json_t *approvals, const char *user)
{
	const char *ps = "NEEDS-ACTION";
	size_t k;
	json_t *v;
	json_array_foreach(json_object_get(approvals, "votes"), k, v) {
		if (strcmp(json_string_value(json_object_get(v, "user")) ?: "", user) != 0)
			continue;
		const char *dec = json_string_value(json_object_get(v, "decision")) ?: "";
		ps = strcmp(dec, "approve") == 0  ? "ACCEPTED"
		     : strcmp(dec, "reject") == 0 ? "DECLINED"
						  : "TENTATIVE";
	}
	return ps;
}

/* When the vote takes place: the change's proposed start, else the next CAB meeting. */
static void vote_time(struct ctx *x, json_t *rec, long long *start, long long *end)
{
	long long s = 0, dur = 0;
	const char *nb = json_string_value(json_object_get(rec, "not_before"));
	const char *du = json_string_value(json_object_get(rec, "duration"));
	if (nb != NULL && time_parse_rfc3339(nb, &s)) {
		*start = s;
		*end = s + (du && time_parse_duration(du, &dur) && dur > 0
				    ? dur * 1000
				    : VOTE_MINUTES * 60000LL);
		return;
	}
	json_t *all = defs_instances(x->rc.defs, x->rc.now_ms, x->rc.now_ms + 60 * DAY_MS);
	size_t i;
	json_t *v;
	json_array_foreach(all, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "kind")) ?: "", "meeting") != 0)
			continue;
		*start = json_integer_value(json_object_get(v, "start_ms"));
		*end = json_integer_value(json_object_get(v, "end_ms"));
		if (*end <= *start)
			*end = *start + VOTE_MINUTES * 60000LL;
		json_decref(all);
		return;
	}
	json_decref(all);
	/* No meeting planned: the day after the change was created, at its hour. */
	const char *ca = json_string_value(json_object_get(rec, "created_at"));
	if (ca == NULL || !time_parse_rfc3339(ca, &s))
		s = 0;
	*start = s - s % (3600 * 1000LL) + DAY_MS;
	*end = *start + VOTE_MINUTES * 60000LL;
}

/* The organizer of votes: the agent address. */
static void agent_address(struct ctx *x, char *out, size_t size)
{
	const struct config *cfg = ((struct app *)x->req->app)->cfg;
	snprintf(out, size, "mailto:cab@%s",
		 cfg->agent_domain[0] ? cfg->agent_domain : "transom.invalid");
}

/* The member's address: their e-mail from people.json, else the token's, else a local one. */
static void member_address(struct ctx *x, char *out, size_t size)
{
	if (x->person != NULL && x->person->email != NULL)
		snprintf(out, size, "mailto:%s", x->person->email);
	else if (x->req->user.email[0])
		snprintf(out, size, "mailto:%s", x->req->user.email);
	else
		snprintf(out, size, "mailto:%s@transom.invalid", x->user);
}

/* The vote object of change `rec` for the member, as JSON (owned), or NULL. */
static json_t *vote_item(struct ctx *x, json_t *rec)
{
	json_t *a = json_object_get(rec, "approvals");
	const char *id = json_string_value(json_object_get(rec, "id"));
	if (id == NULL)
		return NULL;
	bool voted = strcmp(partstat_of(a, x->user), "NEEDS-ACTION") != 0;
	const char *group = NULL;
	if (!voted && (x->rc.defs->policies == NULL ||
		       policy_vote_allowed(x->rc.defs->policies, json_object_get(a, "required"),
					   rec, x->user, NULL, &group, NULL, 0) != POLICY_VOTE_OK))
		return NULL;
	const char *base = ((struct app *)x->req->app)->public_url;
	json_t *risk = json_object_get(rec, "risk");
	char uid[160], summary[600], desc[2048], url[1200], org[300], att[300];
	long long start = 0, end = 0, stamp = 0;
	/* The e-mail invitation's UID: one event per change on both channels. */
	imip_vote_uid(id, ((struct app *)x->req->app)->cfg->agent_domain, uid, sizeof uid);
	utf8_snprintf(summary, sizeof summary, "CAB vote: %s: %s", id,
		      json_string_value(json_object_get(rec, "title")) ?: "");
	snprintf(url, sizeof url, "%s/v1/changes/%s", base, id);
	utf8_snprintf(desc, sizeof desc,
		      "Accept = approve, Decline = reject, Tentative = abstain.\n"
		      "Change %s, risk %s (score %lld).\n%s\n\n%s",
		      id, json_string_value(json_object_get(risk, "level")) ?: "not assessed",
		      (long long)json_integer_value(json_object_get(risk, "score")),
		      json_string_value(json_object_get(rec, "description")) ?: "", url);
	vote_time(x, rec, &start, &end);
	const char *ca = json_string_value(json_object_get(rec, "created_at"));
	if (ca == NULL || !time_parse_rfc3339(ca, &stamp))
		stamp = start;
	agent_address(x, org, sizeof org);
	member_address(x, att, sizeof att);
	json_t *seq = json_object_get(json_object_get(rec, "schedule"), "sequence");
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:s}",
			 "change", id, "uid", uid, "summary", summary, "description", desc, "url",
			 url, "start_ms", (json_int_t)start, "end_ms", (json_int_t)end,
			 "dtstamp_ms", (json_int_t)stamp, "sequence",
			 (json_int_t)(json_is_integer(seq) ? json_integer_value(seq) : 0),
			 "organizer", org, "attendee", att, "attendee_cn",
			 x->person && x->person->display_name ? x->person->display_name : x->user,
			 "partstat", partstat_of(a, x->user));
}

/* The cal_vote view of a vote item (borrowing its strings). */
static struct cal_vote vote_of(const json_t *v)
{
#define S(k) json_string_value(json_object_get(v, k))
#define I(k) json_integer_value(json_object_get(v, k))
	return (struct cal_vote){.uid = S("uid"),
				 .summary = S("summary"),
				 .description = S("description"),
				 .url = S("url"),
				 .start_ms = I("start_ms"),
				 .end_ms = I("end_ms"),
				 .dtstamp_ms = I("dtstamp_ms"),
				 .sequence = (int)I("sequence"),
				 .organizer = S("organizer"),
				 .organizer_cn = "Transom CAB",
				 .attendee = S("attendee"),
				 .attendee_cn = S("attendee_cn"),
				 .partstat = S("partstat"),
				 .change_id = S("change")};
#undef S
#undef I
}

static enum tr_code load_votes(struct ctx *x, struct coll *c)
{
	json_t *rows = NULL;
	enum db_status s = store_records_awaiting_approval(x->rc.st, &rows);
	if (s < 0)
		return api_db_error(x->req, s);
	size_t n = json_array_size(rows), i;
	json_t *rec;
	c->objs = calloc(n + 1, sizeof *c->objs);
	if (c->objs == NULL) {
		json_decref(rows);
		return TR_E_NOMEM;
	}
	json_array_foreach(rows, i, rec) {
		json_t *v = vote_item(x, rec);
		if (v == NULL)
			continue;
		struct obj *o = &c->objs[c->n];
		snprintf(o->name, sizeof o->name, "%s.ics",
			 json_string_value(json_object_get(v, "change")));
		json_t *fixed = json_deep_copy(v); /* the Schedule-Tag ignores the PARTSTAT */
		json_object_del(fixed, "partstat");
		bool ok = feed_etag_of_json(v, o->etag) && fixed != NULL &&
			  feed_etag_of_json(fixed, o->sched_tag);
		json_decref(fixed);
		if (!ok) {
			json_decref(v);
			continue;
		}
		o->start_ms = json_integer_value(json_object_get(v, "start_ms"));
		o->end_ms = json_integer_value(json_object_get(v, "end_ms"));
		o->item = v;
		c->n++;
	}
	json_decref(rows);
	return TR_OK;
}

static char *vote_text(struct ctx *x, const struct obj *o, size_t *len)
{
	struct cal_vote v = vote_of(o->item);
	struct tr_error e = {0};
	char *text = cal_vote_build(&v, len, &e);
	if (text == NULL)
		tr_error_set(&x->req->err, TR_E_INTERNAL, NULL, "vote %s: %s", o->name, e.detail);
	return text;
}

/* The text of any object (owned). */
static char *obj_text(struct ctx *x, const struct obj *o, size_t *len)
{
	return strcmp(x->coll.cal, CAL_VOTES) == 0 ? vote_text(x, o, len)
						   : schedule_text(x, &x->coll, o, len);
}

/* ---- loading a collection with its sync token ---------------------------------------------- */

/* The digest of a listing: a hash of its names and ETags, in order. */
static bool listing_digest(const struct coll *c, char digest[CRYPTO_SHA256_HEX_LEN])
{
	struct dav_buf dig = {0};
	for (size_t i = 0; i < c->n; i++) {
		dav_buf_add(&dig, c->objs[i].name);
		dav_buf_add(&dig, c->objs[i].etag);
		dav_buf_add(&dig, "\n");
	}
	crypto_sha256_hex(dig.p ? dig.p : "", dig.len, digest);
	bool oom = dig.oom;
	free(dig.p);
	return !oom;
}

/* listing_digest, remembered by the snapshot for the schedule's listings. */
static bool coll_digest(const struct coll *c, char digest[CRYPTO_SHA256_HEX_LEN])
{
	if (c->snap == NULL)
		return listing_digest(c, digest);
	unsigned char *sel = coll_selection(c);
	if (sel == NULL)
		return false;
	struct feed_text *t = feed_snap_memo_get(c->snap, "dav:digest", sel);
	bool ok = true;
	if (t == NULL && (ok = listing_digest(c, digest))) {
		t = feed_text_new(digest, strlen(digest));
		if (t != NULL)
			feed_snap_memo_put(c->snap, "dav:digest", sel, t);
	} else if (t != NULL) {
		snprintf(digest, CRYPTO_SHA256_HEX_LEN, "%s", t->text);
	}
	feed_text_release(t);
	free(sel);
	return ok;
}

static enum tr_code coll_load(struct ctx *x)
{
	if (x->loaded)
		return TR_OK;
	struct coll *c = &x->coll;
	c->cal = x->cal;
	enum tr_code rc = TR_OK;
	if (strcmp(x->cal, CAL_SCHEDULE) == 0)
		rc = load_schedule(x, c);
	else if (strcmp(x->cal, CAL_VOTES) == 0)
		rc = load_votes(x, c);
	if (rc != TR_OK)
		return rc;
	struct store_dav_obj *so = calloc(c->n + 1, sizeof *so);
	if (so == NULL)
		return TR_E_NOMEM;
	for (size_t i = 0; i < c->n; i++)
		so[i] = (struct store_dav_obj){c->objs[i].name, c->objs[i].etag};
	char digest[CRYPTO_SHA256_HEX_LEN] = "";
	if (!coll_digest(c, digest)) {
		free(so);
		return TR_E_NOMEM;
	}
	/* Names are unique; the digest follows the listing order, which is deterministic. */
	enum db_status s = store_dav_sync(x->rc.st, x->user, x->cal, digest, so, c->n, &c->token);
	free(so);
	if (s < 0)
		return api_db_error(x->req, s);
	x->loaded = true;
	return TR_OK;
}

/* ---- properties ------------------------------------------------------------------------------ */

struct res {
	enum res_kind kind;
	const char *cal;
	const struct obj *obj;
	char href[512];
};

static void href_of(struct ctx *x, struct res *r)
{
	switch (r->kind) {
	case RES_ROOT: /* "/" too: a program given only the server's address (issue 17.6) */
		snprintf(r->href, sizeof r->href, "%s",
			 strcmp(x->req->path, "/") == 0 ? "/" : "/dav/");
		break;
	case RES_PRINCIPALS:
		snprintf(r->href, sizeof r->href, "/dav/principals/");
		break;
	case RES_PRINCIPAL:
		snprintf(r->href, sizeof r->href, "/dav/principals/%s/", x->user);
		break;
	case RES_HOME:
		snprintf(r->href, sizeof r->href, "/dav/calendars/%s/", x->user);
		break;
	case RES_CAL:
		snprintf(r->href, sizeof r->href, "/dav/calendars/%s/%s/", x->user, r->cal);
		break;
	case RES_OBJECT:
		snprintf(r->href, sizeof r->href, "/dav/calendars/%s/%s/%s", x->user, r->cal,
			 r->obj->name);
		break;
	}
}

/* <D:href>a b c</D:href> (the parts joined, escaped). */
static void href_xml(struct dav_buf *b, const char *a, const char *m, const char *c)
{
	dav_buf_add(b, "<D:href>");
	dav_buf_esc(b, a, strlen(a));
	dav_buf_esc(b, m, strlen(m));
	dav_buf_esc(b, c, strlen(c));
	dav_buf_add(b, "</D:href>");
}

/*
 * Writes property `ns` `name` of `r` into `b` and returns true, or returns false (writing
 * nothing) when `r` has no such property.
 */
static bool prop_write(struct ctx *x, const struct res *r, const char *ns, const char *name,
		       struct dav_buf *b)
{
	struct dav_buf v = {0};
	bool dav = strcmp(ns, DAV_NS) == 0, cdav = strcmp(ns, CALDAV_NS) == 0;
	bool cal = r->kind == RES_CAL, obj = r->kind == RES_OBJECT;
	bool votes = r->cal != NULL && strcmp(r->cal, CAL_VOTES) == 0;
	bool found = true;
	char tok[96];

	if (dav && strcmp(name, "resourcetype") == 0) {
		if (obj)
			dav_ms_prop_empty(b, ns, name);
		else {
			dav_buf_add(&v, "<D:collection/>");
			if (r->kind == RES_PRINCIPAL)
				dav_buf_add(&v, "<D:principal/>");
			if (cal && cal_has_objects(r->cal))
				dav_buf_add(&v, "<C:calendar/>");
			if (cal && strcmp(r->cal, CAL_INBOX) == 0)
				dav_buf_add(&v, "<C:schedule-inbox/>");
			if (cal && strcmp(r->cal, CAL_OUTBOX) == 0)
				dav_buf_add(&v, "<C:schedule-outbox/>");
		}
	} else if (dav && strcmp(name, "displayname") == 0 && !obj) {
		const char *dn = r->kind == RES_PRINCIPAL ? (x->person && x->person->display_name
								     ? x->person->display_name
								     : x->user)
				 : !cal                   ? "Transom"
				 : strcmp(r->cal, CAL_SCHEDULE) == 0 ? "Transom: change schedule"
				 : votes                             ? "Transom: CAB votes"
				 : strcmp(r->cal, CAL_INBOX) == 0    ? "Inbox"
								     : "Outbox";
		dav_ms_prop_text(b, ns, name, dn, strlen(dn));
	} else if (dav && strcmp(name, "current-user-principal") == 0) {
		href_xml(&v, "/dav/principals/", x->user, "/");
	} else if (dav && (strcmp(name, "principal-URL") == 0 || strcmp(name, "owner") == 0) &&
		   r->kind != RES_ROOT && r->kind != RES_PRINCIPALS) {
		href_xml(&v, "/dav/principals/", x->user, "/");
	} else if (dav && strcmp(name, "principal-collection-set") == 0) {
		dav_buf_add(&v, "<D:href>/dav/principals/</D:href>");
	} else if (cdav && strcmp(name, "calendar-home-set") == 0 &&
		   (r->kind == RES_PRINCIPAL || r->kind == RES_ROOT)) {
		href_xml(&v, "/dav/calendars/", x->user, "/");
	} else if (cdav && strcmp(name, "calendar-user-address-set") == 0 &&
		   r->kind == RES_PRINCIPAL) {
		char a[300];
		member_address(x, a, sizeof a);
		href_xml(&v, a, "", "");
		href_xml(&v, "/dav/principals/", x->user, "/");
	} else if (cdav && strcmp(name, "calendar-user-type") == 0 && r->kind == RES_PRINCIPAL) {
		dav_ms_prop_text(b, ns, name, "INDIVIDUAL", 10);
	} else if (cdav && strcmp(name, "schedule-inbox-URL") == 0 && r->kind == RES_PRINCIPAL) {
		href_xml(&v, "/dav/calendars/", x->user, "/" CAL_INBOX "/");
	} else if (cdav && strcmp(name, "schedule-outbox-URL") == 0 && r->kind == RES_PRINCIPAL) {
		href_xml(&v, "/dav/calendars/", x->user, "/" CAL_OUTBOX "/");
	} else if (cdav && strcmp(name, "supported-calendar-component-set") == 0 && cal &&
		   cal_has_objects(r->cal)) {
		dav_buf_add(&v, "<C:comp name=\"VEVENT\"/>");
	} else if (cdav && strcmp(name, "calendar-description") == 0 && cal &&
		   cal_has_objects(r->cal)) {
		const char *d = votes ? "Changes awaiting your vote: Accept approves, Decline "
					"rejects, Tentative abstains."
				      : "Scheduled changes, maintenance windows and freezes.";
		dav_ms_prop_text(b, ns, name, d, strlen(d));
	} else if (cdav && strcmp(name, "schedule-calendar-transp") == 0 && cal &&
		   cal_has_objects(r->cal)) {
		dav_buf_add(&v, votes ? "<C:transparent/>" : "<C:opaque/>");
	} else if (dav && strcmp(name, "supported-report-set") == 0 && cal &&
		   cal_has_objects(r->cal)) {
		dav_buf_add(&v, "<D:supported-report><D:report><C:calendar-query/></D:report>"
				"</D:supported-report><D:supported-report><D:report>"
				"<C:calendar-multiget/></D:report></D:supported-report>"
				"<D:supported-report><D:report><D:sync-collection/></D:report>"
				"</D:supported-report>");
	} else if (dav && strcmp(name, "current-user-privilege-set") == 0) {
		dav_buf_add(&v, "<D:privilege><D:read/></D:privilege>"
				"<D:privilege><D:read-current-user-privilege-set/></D:privilege>");
		if (votes)
			dav_buf_add(&v, "<D:privilege><D:write-content/></D:privilege>"
					"<D:privilege><D:unbind/></D:privilege>");
	} else if ((cal && cal_has_objects(r->cal) && x->loaded) &&
		   ((dav && strcmp(name, "sync-token") == 0) ||
		    (strcmp(ns, CS_NS) == 0 && strcmp(name, "getctag") == 0))) {
		snprintf(tok, sizeof tok, SYNC_PREFIX "%lld", x->coll.token);
		dav_ms_prop_text(b, ns, name, tok, strlen(tok));
	} else if (dav && strcmp(name, "getetag") == 0 && obj) {
		dav_ms_prop_text(b, ns, name, r->obj->etag, strlen(r->obj->etag));
	} else if (cdav && strcmp(name, "schedule-tag") == 0 && obj && votes) {
		dav_ms_prop_text(b, ns, name, r->obj->sched_tag, strlen(r->obj->sched_tag));
	} else if (dav && strcmp(name, "getcontenttype") == 0 && obj) {
		const char *ct = "text/calendar; charset=utf-8; component=VEVENT";
		dav_ms_prop_text(b, ns, name, ct, strlen(ct));
	} else if (dav && strcmp(name, "getcontenttype") == 0 && cal && cal_has_objects(r->cal)) {
		dav_ms_prop_text(b, ns, name, CT_ICS, strlen(CT_ICS));
	} else if ((cdav && strcmp(name, "calendar-data") == 0 && obj) ||
		   (dav && strcmp(name, "getcontentlength") == 0 && obj)) {
		size_t len = 0;
		char *text = obj_text(x, r->obj, &len);
		if (text == NULL)
			found = false;
		else if (cdav)
			dav_ms_prop_text(b, ns, name, text, len);
		else {
			char n[32];
			snprintf(n, sizeof n, "%zu", len);
			dav_ms_prop_text(b, ns, name, n, strlen(n));
		}
		free(text);
	} else {
		found = false;
	}
	if (found && v.p != NULL)
		dav_ms_prop_xml(b, ns, name, v.p);
	free(v.p);
	return found;
}

/* The properties allprop returns (RFC 4918 9.1: the live DAV properties and more). */
static const struct dav_propname allprops[] = {
	{DAV_NS, "resourcetype"},
	{DAV_NS, "displayname"},
	{DAV_NS, "getetag"},
	{DAV_NS, "getcontenttype"},
	{DAV_NS, "getcontentlength"},
	{DAV_NS, "sync-token"},
	{CS_NS, "getctag"},
	{CALDAV_NS, "supported-calendar-component-set"},
	{DAV_NS, "current-user-principal"},
};

/* One <D:response> for `r` with the properties `body` asks for. */
static void response(struct ctx *x, const struct res *r, const struct dav_body *body,
		     struct dav_buf *b)
{
	dav_ms_response_begin(b, r->href);
	const struct dav_propname *props = body->props;
	size_t n = body->nprops;
	bool names_only = body->kind == DAV_PROPFIND_PROPNAME;
	if (body->kind == DAV_PROPFIND_ALLPROP || names_only || body->allprop) {
		props = allprops;
		n = sizeof allprops / sizeof allprops[0];
	}
	struct dav_buf missing = {0};
	dav_ms_propstat_begin(b);
	for (size_t i = 0; i < n; i++) {
		struct dav_buf one = {0};
		if (prop_write(x, r, props[i].ns, props[i].name, &one)) {
			if (names_only)
				dav_ms_prop_empty(b, props[i].ns, props[i].name);
			else
				dav_buf_addn(b, one.p, one.len);
		} else if (props == body->props) {
			dav_ms_prop_empty(&missing, props[i].ns, props[i].name);
		}
		free(one.p);
	}
	dav_ms_propstat_end(b, 200);
	if (missing.len > 0) {
		dav_ms_propstat_begin(b);
		dav_buf_addn(b, missing.p, missing.len);
		dav_ms_propstat_end(b, 404);
	}
	b->oom = b->oom || missing.oom;
	free(missing.p);
	dav_ms_response_end(b);
}

static enum tr_code reply_ms(struct ctx *x, struct dav_buf *b)
{
	enum tr_code rc = b->oom ? TR_E_NOMEM : http_reply_text(x->rep, 207, CT_XML, b->p, b->len);
	free(b->p);
	return rc;
}

/* ---- methods --------------------------------------------------------------------------------- */

static enum tr_code do_propfind(struct ctx *x)
{
	struct dav_body *body = NULL;
	enum tr_code rc =
		dav_body_parse(x->req->body, x->req->body_len, false, &body, &x->req->err);
	if (rc != TR_OK)
		return rc;
	const char *depth = http_req_header(x->req, "Depth");
	bool deep = depth == NULL || strcmp(depth, "0") != 0; /* 1 and infinity alike */
	struct dav_buf b = {0};
	struct res r = {.kind = x->kind, .cal = x->cal};
	if ((x->kind == RES_CAL && cal_has_objects(x->cal)) || x->kind == RES_OBJECT) {
		if ((rc = coll_load(x)) != TR_OK) {
			dav_body_free(body);
			return rc;
		}
	}
	if (x->kind == RES_OBJECT) {
		r.obj = coll_find(&x->coll, x->object);
		if (r.obj == NULL) {
			dav_body_free(body);
			return tr_error_set(&x->req->err, TR_E_NOT_FOUND, NULL, "no object %s",
					    x->object);
		}
	}
	dav_ms_begin(&b);
	href_of(x, &r);
	response(x, &r, body, &b);
	if (deep && x->kind == RES_ROOT) {
		struct res p = {.kind = RES_PRINCIPALS};
		href_of(x, &p);
		response(x, &p, body, &b);
	} else if (deep && x->kind == RES_PRINCIPALS) {
		struct res p = {.kind = RES_PRINCIPAL};
		href_of(x, &p);
		response(x, &p, body, &b);
	} else if (deep && x->kind == RES_HOME) {
		static const char *const cals[] = {CAL_SCHEDULE, CAL_VOTES, CAL_INBOX, CAL_OUTBOX};
		for (size_t i = 0; i < 4 && rc == TR_OK; i++) {
			struct ctx sub = *x;
			sub.cal = cals[i];
			sub.kind = RES_CAL;
			sub.loaded = false;
			memset(&sub.coll, 0, sizeof sub.coll);
			if (cal_has_objects(cals[i]))
				rc = coll_load(&sub);
			struct res c = {.kind = RES_CAL, .cal = cals[i]};
			href_of(&sub, &c);
			if (rc == TR_OK)
				response(&sub, &c, body, &b);
			coll_clear(&sub.coll);
		}
	} else if (deep && x->kind == RES_CAL) {
		for (size_t i = 0; i < x->coll.n; i++) {
			struct res o = {.kind = RES_OBJECT, .cal = x->cal, .obj = &x->coll.objs[i]};
			href_of(x, &o);
			response(x, &o, body, &b);
		}
	}
	dav_ms_end(&b, NULL);
	dav_body_free(body);
	if (rc != TR_OK) {
		free(b.p);
		return rc;
	}
	return reply_ms(x, &b);
}

/* Does object `o` match the calendar-query filter of `q`? */
static bool query_matches(const struct dav_body *q, const struct obj *o)
{
	if (q->comp[0] != '\0' && strcmp(q->comp, "VEVENT") != 0)
		return false;
	if (!q->has_range)
		return true;
	if (o->end_ms > o->start_ms)
		return o->start_ms < q->range_end_ms && o->end_ms > q->range_start_ms;
	return o->start_ms >= q->range_start_ms && o->start_ms < q->range_end_ms;
}

/* Percent-decodes the path of an href (absolute URL or path) into `out`. */
static void href_path(const char *href, char *out, size_t size)
{
	const char *p = href;
	const char *scheme = strstr(href, "://");
	if (scheme != NULL) {
		p = strchr(scheme + 3, '/');
		if (p == NULL)
			p = "/";
	}
	size_t n = 0;
	for (; *p && n + 1 < size; p++) {
		if (*p == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
			char hx[3] = {p[1], p[2], 0};
			out[n++] = (char)strtol(hx, NULL, 16);
			p += 2;
		} else {
			out[n++] = *p;
		}
	}
	out[n] = '\0';
}

static long long token_of(const char *t)
{
	size_t pl = strlen(SYNC_PREFIX);
	if (strncmp(t, SYNC_PREFIX, pl) != 0 || t[pl] == '\0')
		return -1;
	char *end;
	long long v = strtoll(t + pl, &end, 10);
	return *end == '\0' && v >= 0 ? v : -1;
}

static enum tr_code do_report(struct ctx *x)
{
	struct dav_body *q = NULL;
	enum tr_code rc = dav_body_parse(x->req->body, x->req->body_len, true, &q, &x->req->err);
	if (rc != TR_OK)
		return rc;
	if (q->kind == DAV_REPORT_OTHER || x->kind != RES_CAL || !cal_has_objects(x->cal)) {
		dav_body_free(q);
		return reply_dav_error(x, 403, DAV_NS, "supported-report");
	}
	if (q->kind == DAV_REPORT_CALENDAR_QUERY && q->unsupported_filter[0] != '\0') {
		LOG_INFO("event=dav_unsupported_filter request_id=%s element=%s",
			 x->req->request_id, q->unsupported_filter);
		dav_body_free(q);
		return reply_dav_error(x, 403, CALDAV_NS, "supported-filter");
	}
	if ((rc = coll_load(x)) != TR_OK) {
		dav_body_free(q);
		return rc;
	}
	struct dav_buf b = {0};
	char tok[96];
	snprintf(tok, sizeof tok, SYNC_PREFIX "%lld", x->coll.token);
	dav_ms_begin(&b);
	if (q->kind == DAV_REPORT_CALENDAR_QUERY) {
		for (size_t i = 0; i < x->coll.n; i++) {
			if (!query_matches(q, &x->coll.objs[i]))
				continue;
			struct res o = {.kind = RES_OBJECT, .cal = x->cal, .obj = &x->coll.objs[i]};
			href_of(x, &o);
			response(x, &o, q, &b);
		}
	} else if (q->kind == DAV_REPORT_MULTIGET) {
		char prefix[300];
		snprintf(prefix, sizeof prefix, "/dav/calendars/%s/%s/", x->user, x->cal);
		for (size_t i = 0; i < q->nhrefs; i++) {
			char path[600];
			href_path(q->hrefs[i], path, sizeof path);
			size_t pl = strlen(prefix);
			const struct obj *ob = strncmp(path, prefix, pl) == 0
						       ? coll_find(&x->coll, path + pl)
						       : NULL;
			if (ob == NULL) {
				dav_ms_response_status(&b, q->hrefs[i], 404);
				continue;
			}
			struct res o = {.kind = RES_OBJECT, .cal = x->cal, .obj = ob};
			href_of(x, &o);
			response(x, &o, q, &b);
		}
	} else { /* sync-collection */
		long long since = q->sync_token[0] ? token_of(q->sync_token) : 0;
		if (since < 0 || since > x->coll.token) {
			free(b.p);
			dav_body_free(q);
			return reply_dav_error(x, 403, DAV_NS, "valid-sync-token");
		}
		if (q->sync_token[0] == '\0') {
			for (size_t i = 0; i < x->coll.n; i++) {
				struct res o = {
					.kind = RES_OBJECT, .cal = x->cal, .obj = &x->coll.objs[i]};
				href_of(x, &o);
				response(x, &o, q, &b);
			}
		} else {
			json_t *changes = NULL;
			enum db_status s =
				store_dav_changes(x->rc.st, x->user, x->cal, since, &changes);
			if (s < 0) {
				free(b.p);
				dav_body_free(q);
				return api_db_error(x->req, s);
			}
			size_t i;
			json_t *ch;
			json_array_foreach(changes, i, ch) {
				const char *name = json_string_value(json_object_get(ch, "name"));
				const struct obj *ob = coll_find(&x->coll, name);
				if (ob == NULL) {
					char href[512];
					snprintf(href, sizeof href, "/dav/calendars/%s/%s/%s",
						 x->user, x->cal, name);
					dav_ms_response_status(&b, href, 404);
					continue;
				}
				struct res o = {.kind = RES_OBJECT, .cal = x->cal, .obj = ob};
				href_of(x, &o);
				response(x, &o, q, &b);
			}
			json_decref(changes);
		}
	}
	dav_ms_end(&b, q->kind == DAV_REPORT_SYNC ? tok : NULL);
	dav_body_free(q);
	return reply_ms(x, &b);
}

/* Does `header` (If-Match / If-None-Match) list `etag` (or "*")? */
static bool etag_listed(const char *header, const char *etag)
{
	return header != NULL && (strstr(header, etag) != NULL || strstr(header, "*") != NULL);
}

/* The whole schedule collection as one calendar, with its ETag (a reference in *out). */
static enum tr_code schedule_calendar(struct ctx *x, struct feed_text **out)
{
	struct coll *c = &x->coll;
	struct cal_feed f = {.name = "Transom: change schedule", .dtstamp_ms = c->stamp_ms};
	if (c->snap != NULL) {
		unsigned char *sel = coll_selection(c);
		if (sel == NULL)
			return TR_E_NOMEM;
		*out = feed_snap_calendar(c->snap, "dav:calendar", sel, &f, &x->req->err);
		free(sel);
		return *out != NULL ? TR_OK : x->req->err.code ? x->req->err.code : TR_E_INTERNAL;
	}
	json_t *items = json_array();
	for (size_t i = 0; items != NULL && i < c->n; i++)
		json_array_append(items, c->objs[i].item);
	struct tr_error e = {0};
	size_t len = 0;
	char *text = items != NULL ? cal_feed_build(&f, items, &len, &e) : NULL;
	json_decref(items);
	if (text == NULL)
		return tr_error_set(&x->req->err, TR_E_INTERNAL, NULL, "calendar: %s", e.detail);
	*out = feed_text_new(text, len);
	free(text);
	if (*out == NULL)
		return TR_E_NOMEM;
	feed_etag_of_text((*out)->text, (*out)->len, (*out)->etag);
	return TR_OK;
}

static enum tr_code do_get(struct ctx *x)
{
	enum tr_code rc;
	if (x->kind == RES_CAL && strcmp(x->cal, CAL_SCHEDULE) == 0) {
		/* The whole calendar in one text, as the schedule feed serves it. */
		if ((rc = coll_load(x)) != TR_OK)
			return rc;
		struct feed_text *t = NULL;
		if ((rc = schedule_calendar(x, &t)) != TR_OK)
			return rc;
		rc = http_reply_text(x->rep, 200, CT_ICS, t->text, t->len);
		if (rc == TR_OK)
			rc = http_reply_header(x->rep, "ETag", t->etag);
		feed_text_release(t);
		return rc;
	}
	if (x->kind != RES_OBJECT) {
		const char *t =
			"Transom CalDAV: use a calendar program (see docs/calendar-clients.md)\n";
		return http_reply_text(x->rep, 200, "text/plain; charset=utf-8", t, strlen(t));
	}
	if ((rc = coll_load(x)) != TR_OK)
		return rc;
	const struct obj *o = coll_find(&x->coll, x->object);
	if (o == NULL)
		return tr_error_set(&x->req->err, TR_E_NOT_FOUND, NULL, "no object %s", x->object);
	if (etag_listed(http_req_header(x->req, "If-None-Match"), o->etag)) {
		rc = http_reply_text(x->rep, 304, NULL, "", 0);
	} else {
		size_t len = 0;
		char *text = obj_text(x, o, &len);
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

/* Records `decision` on the object's change as the member, through records_vote. */
static enum tr_code cast_vote(struct ctx *x, const struct obj *o, const char *decision)
{
	const char *id = json_string_value(json_object_get(o->item, "change"));
	struct rec_reply out = {0};
	enum tr_code rc = records_vote(&x->rc, id, decision, NULL, "voted from a calendar (CalDAV)",
				       "caldav", &out, &x->req->err);
	if (rc != TR_OK)
		return api_rec_reply(x->req, x->rep, rc, &out);
	LOG_INFO("event=dav_vote request_id=%s record_id=%s user=%s decision=%s",
		 x->req->request_id, id, x->user, decision);
	rec_reply_clear(&out);
	/* The object as it is now (gone once the change no longer awaits a decision). */
	coll_clear(&x->coll);
	x->loaded = false;
	if ((rc = coll_load(x)) != TR_OK)
		return rc;
	rc = http_reply_text(x->rep, 204, NULL, "", 0);
	const struct obj *now = coll_find(&x->coll, x->object);
	if (rc == TR_OK && now != NULL)
		rc = http_reply_header(x->rep, "ETag", now->etag);
	if (rc == TR_OK && now != NULL)
		rc = http_reply_header(x->rep, "Schedule-Tag", now->sched_tag);
	return rc;
}

/* If-Match and If-Schedule-Tag-Match against the current object. */
static bool preconditions_hold(struct ctx *x, const struct obj *o)
{
	const char *im = http_req_header(x->req, "If-Match");
	const char *ist = http_req_header(x->req, "If-Schedule-Tag-Match");
	if (im != NULL && !etag_listed(im, o->etag))
		return false;
	return ist == NULL || strstr(ist, o->sched_tag) != NULL;
}

static enum tr_code do_put(struct ctx *x)
{
	if (x->kind != RES_OBJECT || strcmp(x->cal, CAL_VOTES) != 0)
		return reply_dav_error(x, 403, DAV_NS, "need-privileges");
	enum tr_code rc = coll_load(x);
	if (rc != TR_OK)
		return rc;
	const struct obj *o = coll_find(&x->coll, x->object);
	if (o == NULL) /* no new objects: votes are made by Transom */
		return reply_dav_error(x, 403, DAV_NS, "need-privileges");
	if (!preconditions_hold(x, o))
		return tr_error_set(&x->req->err, TR_E_PRECONDITION_FAILED, "If-Match",
				    "the object changed; fetch it again");
	struct cal_vote cur = vote_of(o->item);
	char partstat[32], why[256];
	enum cal_vote_verdict v =
		cal_vote_check(&cur, x->req->body, x->req->body_len, partstat, why, sizeof why);
	LOG_INFO("event=dav_put request_id=%s user=%s object=%s verdict=%d partstat=%s why=\"%s\"",
		 x->req->request_id, x->user, x->object, (int)v, partstat, why);
	if (v == CAL_VOTE_INVALID)
		return reply_dav_error(x, 403, CALDAV_NS, "valid-calendar-data");
	if (v == CAL_VOTE_FORBIDDEN ||
	    (v == CAL_VOTE_PARTSTAT && strcmp(partstat, "NEEDS-ACTION") == 0))
		return reply_dav_error(x, 403, CALDAV_NS,
				       "allowed-attendee-scheduling-object-change");
	if (v == CAL_VOTE_SAME) {
		rc = http_reply_text(x->rep, 204, NULL, "", 0);
		if (rc == TR_OK)
			rc = http_reply_header(x->rep, "ETag", o->etag);
		if (rc == TR_OK)
			rc = http_reply_header(x->rep, "Schedule-Tag", o->sched_tag);
		return rc;
	}
	const char *decision = strcmp(partstat, "ACCEPTED") == 0   ? "approve"
			       : strcmp(partstat, "DECLINED") == 0 ? "reject"
								   : "abstain";
	return cast_vote(x, o, decision);
}

static enum tr_code do_delete(struct ctx *x)
{
	if (x->kind != RES_OBJECT || strcmp(x->cal, CAL_VOTES) != 0)
		return reply_dav_error(x, 403, DAV_NS, "need-privileges");
	enum tr_code rc = coll_load(x);
	if (rc != TR_OK)
		return rc;
	const struct obj *o = coll_find(&x->coll, x->object);
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
	x->person = x->rc.defs->policies ? policy_user_find(x->rc.defs->policies, x->user) : NULL;
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
	if (!cal_known(cal))
		return tr_error_set(&x->req->err, TR_E_NOT_FOUND, NULL,
				    "no calendar '%s' (schedule, cab-votes)", cal);
	x->cal = cal;
	x->kind = RES_CAL;
	if (object != NULL) {
		if (!cal_has_objects(cal))
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
		rc = do_propfind(&x);
		break;
	case HTTP_REPORT:
		rc = do_report(&x);
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
	coll_clear(&x.coll);
	if (rc == TR_OK && req->method != HTTP_OPTIONS && rep->nheaders < HTTP_MAX_REPLY_HEADERS)
		http_reply_header(rep, "DAV", DAV_CAPS);
	return rc;
}

enum tr_code h_root_get(struct http_req *req, struct http_reply *rep)
{
	(void)req;
	static const char page[] = "Transom: the API is described at /v1/openapi.json;"
				   " calendar programs log in here or at /dav/.\n";
	return http_reply_text(rep, 200, "text/plain; charset=utf-8", page, sizeof page - 1);
}

enum tr_code h_dav_well_known(struct http_req *req, struct http_reply *rep)
{
	enum tr_code rc = http_reply_text(rep, 301, NULL, "", 0);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Location", "/dav/");
	return rc;
}
