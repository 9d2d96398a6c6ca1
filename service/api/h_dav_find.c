/*
 * h_dav_find.c -- CalDAV PROPFIND and REPORT (calendar-query, calendar-multiget,
 * sync-collection): a member's principal, calendar home, calendars and objects, with
 * their properties, as Multi-Status (dav/).  What the calendars hold is app/caldav.h's.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/h_dav.h"
#include "core/log.h"
#include "dav/dav.h"

/* ---- properties ------------------------------------------------------------------------------ */

struct res {
	enum res_kind kind;
	const char *cal;
	const struct caldav_obj *obj;
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

/* prop_write for the properties of resources and principals. */
static bool prop_write_res(struct ctx *x, const struct res *r, const char *ns, const char *name,
			   struct dav_buf *b)
{
	struct dav_buf v = {0};
	bool dav = strcmp(ns, DAV_NS) == 0, cdav = strcmp(ns, CALDAV_NS) == 0;
	bool cal = r->kind == RES_CAL, obj = r->kind == RES_OBJECT;
	bool votes = r->cal != NULL && strcmp(r->cal, CALDAV_VOTES) == 0;
	bool found = true;

	if (dav && strcmp(name, "resourcetype") == 0) {
		if (obj)
			dav_ms_prop_empty(b, ns, name);
		else {
			dav_buf_add(&v, "<D:collection/>");
			if (r->kind == RES_PRINCIPAL)
				dav_buf_add(&v, "<D:principal/>");
			if (cal && caldav_cal_has_objects(r->cal))
				dav_buf_add(&v, "<C:calendar/>");
			if (cal && strcmp(r->cal, CALDAV_INBOX) == 0)
				dav_buf_add(&v, "<C:schedule-inbox/>");
			if (cal && strcmp(r->cal, CALDAV_OUTBOX) == 0)
				dav_buf_add(&v, "<C:schedule-outbox/>");
		}
	} else if (dav && strcmp(name, "displayname") == 0 && !obj) {
		const char *dn = r->kind == RES_PRINCIPAL               ? x->m.display_name
				 : !cal                                 ? "Transom"
				 : strcmp(r->cal, CALDAV_SCHEDULE) == 0 ? "Transom: change schedule"
				 : votes                                ? "Transom: CAB votes"
				 : strcmp(r->cal, CALDAV_INBOX) == 0    ? "Inbox"
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
		href_xml(&v, x->m.address, "", "");
		href_xml(&v, "/dav/principals/", x->user, "/");
	} else if (cdav && strcmp(name, "calendar-user-type") == 0 && r->kind == RES_PRINCIPAL) {
		dav_ms_prop_text(b, ns, name, "INDIVIDUAL", 10);
	} else if (cdav && strcmp(name, "schedule-inbox-URL") == 0 && r->kind == RES_PRINCIPAL) {
		href_xml(&v, "/dav/calendars/", x->user, "/" CALDAV_INBOX "/");
	} else if (cdav && strcmp(name, "schedule-outbox-URL") == 0 && r->kind == RES_PRINCIPAL) {
		href_xml(&v, "/dav/calendars/", x->user, "/" CALDAV_OUTBOX "/");
	} else {
		found = false;
	}
	if (found && v.p != NULL)
		dav_ms_prop_xml(b, ns, name, v.p);
	free(v.p);
	return found;
}

/* prop_write for the properties of calendars and objects. */
static bool prop_write_cal(struct ctx *x, const struct res *r, const char *ns, const char *name,
			   struct dav_buf *b)
{
	struct dav_buf v = {0};
	bool dav = strcmp(ns, DAV_NS) == 0, cdav = strcmp(ns, CALDAV_NS) == 0;
	bool cal = r->kind == RES_CAL, obj = r->kind == RES_OBJECT;
	bool votes = r->cal != NULL && strcmp(r->cal, CALDAV_VOTES) == 0;
	bool found = true;
	char tok[96];

	if (cdav && strcmp(name, "supported-calendar-component-set") == 0 && cal &&
	    caldav_cal_has_objects(r->cal)) {
		dav_buf_add(&v, "<C:comp name=\"VEVENT\"/>");
	} else if (cdav && strcmp(name, "calendar-description") == 0 && cal &&
		   caldav_cal_has_objects(r->cal)) {
		const char *d = votes ? "Changes awaiting your vote: Accept approves, Decline "
					"rejects, Tentative abstains."
				      : "Scheduled changes, maintenance windows and freezes.";
		dav_ms_prop_text(b, ns, name, d, strlen(d));
	} else if (cdav && strcmp(name, "schedule-calendar-transp") == 0 && cal &&
		   caldav_cal_has_objects(r->cal)) {
		dav_buf_add(&v, votes ? "<C:transparent/>" : "<C:opaque/>");
	} else if (dav && strcmp(name, "supported-report-set") == 0 && cal &&
		   caldav_cal_has_objects(r->cal)) {
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
	} else if ((cal && caldav_cal_has_objects(r->cal) && x->loaded) &&
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
	} else if (dav && strcmp(name, "getcontenttype") == 0 && cal &&
		   caldav_cal_has_objects(r->cal)) {
		dav_ms_prop_text(b, ns, name, CT_ICS, strlen(CT_ICS));
	} else if ((cdav && strcmp(name, "calendar-data") == 0 && obj) ||
		   (dav && strcmp(name, "getcontentlength") == 0 && obj)) {
		size_t len = 0;
		char *text = caldav_obj_text(&x->coll, r->obj, &len, &x->req->err);
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

/*
 * Writes property `ns` `name` of `r` into `b` and returns true, or returns false (writing
 * nothing) when `r` has no such property.
 */
static bool prop_write(struct ctx *x, const struct res *r, const char *ns, const char *name,
		       struct dav_buf *b)
{
	return prop_write_res(x, r, ns, name, b) || prop_write_cal(x, r, ns, name, b);
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

/* ---- PROPFIND, REPORT ----------------------------------------------------------------------- */

/* The responses of the members of the resource `x` names (Depth: 1). */
static enum tr_code propfind_members(struct ctx *x, const struct dav_body *body, struct dav_buf *b)
{
	enum tr_code rc = TR_OK;
	if (x->kind == RES_ROOT) {
		struct res p = {.kind = RES_PRINCIPALS};
		href_of(x, &p);
		response(x, &p, body, b);
	} else if (x->kind == RES_PRINCIPALS) {
		struct res p = {.kind = RES_PRINCIPAL};
		href_of(x, &p);
		response(x, &p, body, b);
	} else if (x->kind == RES_HOME) {
		static const char *const cals[] = {CALDAV_SCHEDULE, CALDAV_VOTES, CALDAV_INBOX,
						   CALDAV_OUTBOX};
		for (size_t i = 0; i < 4 && rc == TR_OK; i++) {
			struct ctx sub = *x;
			sub.cal = cals[i];
			sub.kind = RES_CAL;
			sub.loaded = false;
			memset(&sub.coll, 0, sizeof sub.coll);
			if (caldav_cal_has_objects(cals[i]))
				rc = h_dav_coll_load(&sub);
			struct res c = {.kind = RES_CAL, .cal = cals[i]};
			href_of(&sub, &c);
			if (rc == TR_OK)
				response(&sub, &c, body, b);
			caldav_coll_clear(&sub.coll);
		}
	} else if (x->kind == RES_CAL) {
		for (size_t i = 0; i < x->coll.n; i++) {
			struct res o = {.kind = RES_OBJECT, .cal = x->cal, .obj = &x->coll.objs[i]};
			href_of(x, &o);
			response(x, &o, body, b);
		}
	}
	return rc;
}

enum tr_code h_dav_propfind(struct ctx *x)
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
	if ((x->kind == RES_CAL && caldav_cal_has_objects(x->cal)) || x->kind == RES_OBJECT) {
		if ((rc = h_dav_coll_load(x)) != TR_OK) {
			dav_body_free(body);
			return rc;
		}
	}
	if (x->kind == RES_OBJECT) {
		r.obj = caldav_coll_find(&x->coll, x->object);
		if (r.obj == NULL) {
			dav_body_free(body);
			return tr_error_set(&x->req->err, TR_E_NOT_FOUND, NULL, "no object %s",
					    x->object);
		}
	}
	dav_ms_begin(&b);
	href_of(x, &r);
	response(x, &r, body, &b);
	if (deep)
		rc = propfind_members(x, body, &b);
	dav_ms_end(&b, NULL);
	dav_body_free(body);
	if (rc != TR_OK) {
		free(b.p);
		return rc;
	}
	return reply_ms(x, &b);
}

/* Does object `o` match the calendar-query filter of `q`? */
static bool query_matches(const struct dav_body *q, const struct caldav_obj *o)
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

/* calendar-multiget: the objects `q`'s hrefs name, 404 for the others. */
static void report_multiget(struct ctx *x, const struct dav_body *q, struct dav_buf *b)
{
	char prefix[300];
	snprintf(prefix, sizeof prefix, "/dav/calendars/%s/%s/", x->user, x->cal);
	for (size_t i = 0; i < q->nhrefs; i++) {
		char path[600];
		href_path(q->hrefs[i], path, sizeof path);
		size_t pl = strlen(prefix);
		const struct caldav_obj *ob = strncmp(path, prefix, pl) == 0
						      ? caldav_coll_find(&x->coll, path + pl)
						      : NULL;
		if (ob == NULL) {
			dav_ms_response_status(b, q->hrefs[i], 404);
			continue;
		}
		struct res o = {.kind = RES_OBJECT, .cal = x->cal, .obj = ob};
		href_of(x, &o);
		response(x, &o, q, b);
	}
}

/* sync-collection: every object when `q` has no token, else what changed after `since`. */
static enum tr_code report_sync(struct ctx *x, const struct dav_body *q, long long since,
				struct dav_buf *b)
{
	if (q->sync_token[0] == '\0') {
		for (size_t i = 0; i < x->coll.n; i++) {
			struct res o = {.kind = RES_OBJECT, .cal = x->cal, .obj = &x->coll.objs[i]};
			href_of(x, &o);
			response(x, &o, q, b);
		}
		return TR_OK;
	}
	json_t *changes = NULL;
	enum tr_code rc = caldav_changes(&x->rc, &x->m, x->cal, since, &changes, &x->req->err);
	if (rc != TR_OK)
		return rc;
	size_t i;
	json_t *ch;
	json_array_foreach(changes, i, ch) {
		const char *name = json_string_value(json_object_get(ch, "name"));
		const struct caldav_obj *ob = caldav_coll_find(&x->coll, name);
		if (ob == NULL) {
			char href[512];
			snprintf(href, sizeof href, "/dav/calendars/%s/%s/%s", x->user, x->cal,
				 name);
			dav_ms_response_status(b, href, 404);
			continue;
		}
		struct res o = {.kind = RES_OBJECT, .cal = x->cal, .obj = ob};
		href_of(x, &o);
		response(x, &o, q, b);
	}
	json_decref(changes);
	return TR_OK;
}

enum tr_code h_dav_report(struct ctx *x)
{
	struct dav_body *q = NULL;
	enum tr_code rc = dav_body_parse(x->req->body, x->req->body_len, true, &q, &x->req->err);
	if (rc != TR_OK)
		return rc;
	if (q->kind == DAV_REPORT_OTHER || x->kind != RES_CAL || !caldav_cal_has_objects(x->cal)) {
		dav_body_free(q);
		return h_dav_reply_error(x, 403, DAV_NS, "supported-report");
	}
	if (q->kind == DAV_REPORT_CALENDAR_QUERY && q->unsupported_filter[0] != '\0') {
		LOG_INFO("event=dav_unsupported_filter request_id=%s element=%s",
			 x->req->request_id, q->unsupported_filter);
		dav_body_free(q);
		return h_dav_reply_error(x, 403, CALDAV_NS, "supported-filter");
	}
	if ((rc = h_dav_coll_load(x)) != TR_OK) {
		dav_body_free(q);
		return rc;
	}
	long long since = 0; /* sync-collection: the token asked after */
	if (q->kind == DAV_REPORT_SYNC && q->sync_token[0])
		since = token_of(q->sync_token);
	if (q->kind == DAV_REPORT_SYNC && (since < 0 || since > x->coll.token)) {
		dav_body_free(q);
		return h_dav_reply_error(x, 403, DAV_NS, "valid-sync-token");
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
		report_multiget(x, q, &b);
	} else if ((rc = report_sync(x, q, since, &b)) != TR_OK) { /* sync-collection */
		free(b.p);
		dav_body_free(q);
		return rc;
	}
	dav_ms_end(&b, q->kind == DAV_REPORT_SYNC ? tok : NULL);
	dav_body_free(q);
	return reply_ms(x, &b);
}
