/*
 * caldav.c -- the CalDAV semantics: a member's calendars and their objects, sync tokens,
 * and votes cast by changing a PARTSTAT (see caldav.h).
 */
#include "app/caldav.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/feed_items.h"
#include "app/imip.h"
#include "calendar/feed.h"
#include "calendar/vote.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/utf8.h"
#include "crypto/crypto.h"
#include "policy/policy.h"
#include "store/dav.h"
#include "store/records.h"

#define DAY_MS       (86400LL * 1000)
#define VOTE_MINUTES 30

/* ---- the member and their calendars ------------------------------------------------------ */

void caldav_member_of(const struct rec_ctx *c, const char *user, const char *token_email,
		      struct caldav_member *m)
{
	const struct policy_user *person =
		c->defs->policies ? policy_user_find(c->defs->policies, user) : NULL;
	m->user = user;
	m->display_name = person && person->display_name ? person->display_name : user;
	/* Their e-mail from people.json, else the token's, else a local one. */
	if (person != NULL && person->email != NULL)
		snprintf(m->address, sizeof m->address, "mailto:%s", person->email);
	else if (token_email != NULL && token_email[0])
		snprintf(m->address, sizeof m->address, "mailto:%s", token_email);
	else
		snprintf(m->address, sizeof m->address, "mailto:%s@transom.invalid", user);
}

bool caldav_cal_known(const char *cal)
{
	return strcmp(cal, CALDAV_SCHEDULE) == 0 || strcmp(cal, CALDAV_VOTES) == 0 ||
	       strcmp(cal, CALDAV_INBOX) == 0 || strcmp(cal, CALDAV_OUTBOX) == 0;
}

bool caldav_cal_has_objects(const char *cal)
{
	return strcmp(cal, CALDAV_SCHEDULE) == 0 || strcmp(cal, CALDAV_VOTES) == 0;
}

void caldav_coll_clear(struct caldav_coll *c)
{
	for (size_t i = 0; i < c->n; i++)
		json_decref(c->objs[i].item);
	free(c->objs);
	feed_snap_release(c->snap);
	memset(c, 0, sizeof *c);
}

/* Which of the snapshot's events `c` lists: c->snap->n bytes (owned), or NULL (OOM). */
static unsigned char *coll_selection(const struct caldav_coll *c)
{
	unsigned char *sel = calloc(c->snap->n + 1, 1);
	for (size_t i = 0; sel != NULL && i < c->n; i++)
		sel[c->objs[i].fo_at] = 1;
	return sel;
}

const struct caldav_obj *caldav_coll_find(const struct caldav_coll *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->objs[i].name, name) == 0)
			return &c->objs[i];
	return NULL;
}

/* ---- the schedule calendar ----------------------------------------------------------------- */

/* The schedule computed afresh (when the snapshot does not cover the window alike). */
static enum tr_code load_schedule_fresh(struct app *app, struct rec_ctx *rx, struct caldav_coll *c,
					long long from, long long to, struct tr_error *err)
{
	json_t *items = NULL;
	enum tr_code rc = feed_items_list(rx, app->public_url, "schedule", NULL, from, to, &items,
					  NULL, &c->stamp_ms, err);
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
		struct caldav_obj *o = &c->objs[c->n];
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
static enum tr_code load_schedule(struct app *app, struct rec_ctx *rx, struct caldav_coll *c,
				  struct tr_error *err)
{
	long long from, to;
	feed_window(rx->defs, rx->now_ms, &from, &to);
	enum tr_code rc = feed_cache_get(app->feed_cache, rx, app->public_url, &c->snap, err);
	if (rc != TR_OK)
		return rc;
	if (!c->snap->exact) {
		feed_snap_release(c->snap);
		c->snap = NULL;
		return load_schedule_fresh(app, rx, c, from, to, err);
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
		const struct feed_obj *fo = s->objs[i];
		if (!feed_obj_in(fo, from, to))
			continue;
		if (names != NULL) { /* the first of a name in this window wins */
			if (json_object_get(names, fo->name) != NULL)
				continue;
			json_object_set_new(names, fo->name, json_true());
		}
		struct caldav_obj *o = &c->objs[c->n++];
		snprintf(o->name, sizeof o->name, "%s", fo->name);
		memcpy(o->etag, fo->etag, sizeof o->etag);
		o->start_ms = fo->start_ms;
		o->end_ms = fo->end_ms;
		o->fo = fo;
		o->fo_at = i;
	}
	json_decref(names);
	return TR_OK;
}

/* The text of schedule object `o` (owned), or NULL with `err` set. */
static char *schedule_text(const struct caldav_coll *c, const struct caldav_obj *o, size_t *len,
			   struct tr_error *err)
{
	if (o->fo != NULL)
		return feed_snap_object(c->snap, o->fo, len, err);
	return feed_item_text(o->item, o->name, c->stamp_ms, len, err);
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
static void vote_time(struct rec_ctx *c, json_t *rec, long long *start, long long *end)
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
	json_t *all = defs_instances(c->defs, c->now_ms, c->now_ms + 60 * DAY_MS);
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
static void agent_address(const struct app *app, char *out, size_t size)
{
	const struct config *cfg = app->cfg;
	snprintf(out, size, "mailto:cab@%s",
		 cfg->agent_domain[0] ? cfg->agent_domain : "transom.invalid");
}

/* The vote object of change `rec` for member `m`, as JSON (owned), or NULL. */
static json_t *vote_item(struct app *app, struct rec_ctx *c, const struct caldav_member *m,
			 json_t *rec)
{
	json_t *a = json_object_get(rec, "approvals");
	const char *id = json_string_value(json_object_get(rec, "id"));
	if (id == NULL)
		return NULL;
	bool voted = strcmp(partstat_of(a, m->user), "NEEDS-ACTION") != 0;
	const char *group = NULL;
	if (!voted && (c->defs->policies == NULL ||
		       policy_vote_allowed(c->defs->policies, json_object_get(a, "required"), rec,
					   m->user, NULL, &group, NULL, 0) != POLICY_VOTE_OK))
		return NULL;
	const char *base = app->public_url;
	json_t *risk = json_object_get(rec, "risk");
	char uid[160], summary[600], desc[2048], url[1200], org[300];
	long long start = 0, end = 0, stamp = 0;
	/* The e-mail invitation's UID: one event per change on both channels. */
	imip_vote_uid(id, app->cfg->agent_domain, uid, sizeof uid);
	utf8_snprintf(summary, sizeof summary, "CAB vote: %s: %s", id,
		      json_string_value(json_object_get(rec, "title")) ?: "");
	snprintf(url, sizeof url, "%s/v1/changes/%s", base, id);
	utf8_snprintf(desc, sizeof desc,
		      "Accept = approve, Decline = reject, Tentative = abstain.\n"
		      "Change %s, risk %s (score %lld).\n%s\n\n%s",
		      id, json_string_value(json_object_get(risk, "level")) ?: "not assessed",
		      (long long)json_integer_value(json_object_get(risk, "score")),
		      json_string_value(json_object_get(rec, "description")) ?: "", url);
	vote_time(c, rec, &start, &end);
	const char *ca = json_string_value(json_object_get(rec, "created_at"));
	if (ca == NULL || !time_parse_rfc3339(ca, &stamp))
		stamp = start;
	agent_address(app, org, sizeof org);
	json_t *seq = json_object_get(json_object_get(rec, "schedule"), "sequence");
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:s}",
			 "change", id, "uid", uid, "summary", summary, "description", desc, "url",
			 url, "start_ms", (json_int_t)start, "end_ms", (json_int_t)end,
			 "dtstamp_ms", (json_int_t)stamp, "sequence",
			 (json_int_t)(json_is_integer(seq) ? json_integer_value(seq) : 0),
			 "organizer", org, "attendee", m->address, "attendee_cn", m->display_name,
			 "partstat", partstat_of(a, m->user));
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

static enum tr_code load_votes(struct app *app, struct rec_ctx *rx, const struct caldav_member *m,
			       struct caldav_coll *c, struct tr_error *err)
{
	json_t *rows = NULL;
	enum db_status s = store_records_awaiting_approval(rx->st, &rows);
	if (s < 0)
		return store_error(rx->st, s, rx->request_id, err);
	size_t n = json_array_size(rows), i;
	json_t *rec;
	c->objs = calloc(n + 1, sizeof *c->objs);
	if (c->objs == NULL) {
		json_decref(rows);
		return TR_E_NOMEM;
	}
	json_array_foreach(rows, i, rec) {
		json_t *v = vote_item(app, rx, m, rec);
		if (v == NULL)
			continue;
		struct caldav_obj *o = &c->objs[c->n];
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

static char *vote_text(const struct caldav_obj *o, size_t *len, struct tr_error *err)
{
	struct cal_vote v = vote_of(o->item);
	struct tr_error e = {0};
	char *text = cal_vote_build(&v, len, &e);
	if (text == NULL)
		tr_error_set(err, TR_E_INTERNAL, NULL, "vote %s: %s", o->name, e.detail);
	return text;
}

char *caldav_obj_text(const struct caldav_coll *c, const struct caldav_obj *o, size_t *len,
		      struct tr_error *err)
{
	return strcmp(c->cal, CALDAV_VOTES) == 0 ? vote_text(o, len, err)
						 : schedule_text(c, o, len, err);
}

/* ---- loading a collection with its sync token ---------------------------------------------- */

/* A growing byte buffer for the digest. */
struct bytes {
	char *p;
	size_t len, cap;
	bool oom;
};

static void bytes_add(struct bytes *b, const char *s)
{
	size_t n = strlen(s);
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

/* The digest of a listing: a hash of its names and ETags, in order. */
static bool listing_digest(const struct caldav_coll *c, char digest[CRYPTO_SHA256_HEX_LEN])
{
	struct bytes dig = {0};
	for (size_t i = 0; i < c->n; i++) {
		bytes_add(&dig, c->objs[i].name);
		bytes_add(&dig, c->objs[i].etag);
		bytes_add(&dig, "\n");
	}
	crypto_sha256_hex(dig.p ? dig.p : "", dig.len, digest);
	bool oom = dig.oom;
	free(dig.p);
	return !oom;
}

/* listing_digest, remembered by the snapshot for the schedule's listings. */
static bool coll_digest(const struct caldav_coll *c, char digest[CRYPTO_SHA256_HEX_LEN])
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

enum tr_code caldav_coll_load(struct app *app, struct rec_ctx *rx, const struct caldav_member *m,
			      const char *cal, struct caldav_coll *c, struct tr_error *err)
{
	c->cal = cal;
	enum tr_code rc = TR_OK;
	if (strcmp(cal, CALDAV_SCHEDULE) == 0)
		rc = load_schedule(app, rx, c, err);
	else if (strcmp(cal, CALDAV_VOTES) == 0)
		rc = load_votes(app, rx, m, c, err);
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
	enum db_status s = store_dav_sync(rx->st, m->user, cal, digest, so, c->n, &c->token);
	free(so);
	if (s < 0)
		return store_error(rx->st, s, rx->request_id, err);
	return TR_OK;
}

/* The whole schedule collection as one calendar, with its ETag (a reference in *out). */
enum tr_code caldav_calendar(const struct caldav_coll *c, struct feed_text **out,
			     struct tr_error *err)
{
	struct cal_feed f = {.name = "Transom: change schedule", .dtstamp_ms = c->stamp_ms};
	if (c->snap != NULL) {
		unsigned char *sel = coll_selection(c);
		if (sel == NULL)
			return TR_E_NOMEM;
		*out = feed_snap_calendar(c->snap, "dav:calendar", sel, &f, err);
		free(sel);
		return *out != NULL ? TR_OK : err->code ? err->code : TR_E_INTERNAL;
	}
	json_t *items = json_array();
	for (size_t i = 0; items != NULL && i < c->n; i++)
		json_array_append(items, c->objs[i].item);
	struct tr_error e = {0};
	size_t len = 0;
	char *text = items != NULL ? cal_feed_build(&f, items, &len, &e) : NULL;
	json_decref(items);
	if (text == NULL)
		return tr_error_set(err, TR_E_INTERNAL, NULL, "calendar: %s", e.detail);
	*out = feed_text_new(text, len);
	free(text);
	if (*out == NULL)
		return TR_E_NOMEM;
	feed_etag_of_text((*out)->text, (*out)->len, (*out)->etag);
	return TR_OK;
}

enum tr_code caldav_changes(struct rec_ctx *c, const struct caldav_member *m, const char *cal,
			    long long since, json_t **out, struct tr_error *err)
{
	enum db_status s = store_dav_changes(c->st, m->user, cal, since, out);
	return s < 0 ? store_error(c->st, s, c->request_id, err) : TR_OK;
}

/* ---- votes ------------------------------------------------------------------------------- */

enum caldav_put caldav_vote_put(const struct rec_ctx *c, const struct caldav_member *m,
				const struct caldav_obj *o, const char *body, size_t len,
				const char **decision)
{
	struct cal_vote cur = vote_of(o->item);
	char partstat[32], why[256];
	enum cal_vote_verdict v = cal_vote_check(&cur, body, len, partstat, why, sizeof why);
	LOG_INFO("event=dav_put request_id=%s user=%s object=%s verdict=%d partstat=%s why=\"%s\"",
		 c->request_id, m->user, o->name, (int)v, partstat, why);
	if (v == CAL_VOTE_INVALID)
		return CALDAV_PUT_INVALID;
	if (v == CAL_VOTE_FORBIDDEN ||
	    (v == CAL_VOTE_PARTSTAT && strcmp(partstat, "NEEDS-ACTION") == 0))
		return CALDAV_PUT_FORBIDDEN;
	if (v == CAL_VOTE_SAME)
		return CALDAV_PUT_SAME;
	*decision = strcmp(partstat, "ACCEPTED") == 0   ? "approve"
		    : strcmp(partstat, "DECLINED") == 0 ? "reject"
							: "abstain";
	return CALDAV_PUT_VOTE;
}

enum tr_code caldav_vote_cast(struct rec_ctx *c, const struct caldav_obj *o, const char *decision,
			      struct rec_reply *out, struct tr_error *err)
{
	const char *id = json_string_value(json_object_get(o->item, "change"));
	enum tr_code rc = records_vote(c, id, decision, NULL, "voted from a calendar (CalDAV)",
				       "caldav", out, err);
	if (rc == TR_OK)
		LOG_INFO("event=dav_vote request_id=%s record_id=%s user=%s decision=%s",
			 c->request_id, id, c->actor, decision);
	return rc;
}
