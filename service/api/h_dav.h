/*
 * h_dav.h -- what the CalDAV handler's files (h_dav.c: routes, GET, PUT, DELETE;
 * h_dav_find.c: PROPFIND and REPORT) share: the resource a request names and the
 * request's state.  The semantics (a member's calendars, objects, votes) are
 * app/caldav.h's; these files speak WebDAV.
 */
#ifndef TRANSOM_API_H_DAV_H
#define TRANSOM_API_H_DAV_H

#include <stdbool.h>

#include "api/api.h"
#include "app/caldav.h"
#include "app/records.h"

#define DAV_CAPS    "1, 3, calendar-access, calendar-auto-schedule"
#define DAV_ALLOW   "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, REPORT"
#define SYNC_PREFIX "http://transom.invalid/ns/sync/"
#define CT_XML      "application/xml; charset=utf-8"
#define CT_ICS      "text/calendar; charset=utf-8"

/* What a path names. */
enum res_kind { RES_ROOT, RES_PRINCIPALS, RES_PRINCIPAL, RES_HOME, RES_CAL, RES_OBJECT };

/* One request's state. */
struct ctx {
	struct http_req *req;
	struct http_reply *rep;
	struct rec_ctx rc;
	const char *user;       /* = the caller */
	struct caldav_member m; /* the caller as their calendars show them */
	enum res_kind kind;
	const char *cal;         /* RES_CAL, RES_OBJECT */
	const char *object;      /* RES_OBJECT */
	struct caldav_coll coll; /* for RES_CAL, RES_OBJECT once loaded */
	bool loaded;
};

/* Replies `status` with a DAV:error body naming `ns` `name` (RFC 4918 16). */
enum tr_code h_dav_reply_error(struct ctx *x, int status, const char *ns, const char *name);

/* Loads x->coll (x->cal) once per request.  TR_OK, or an error set on x->req->err. */
enum tr_code h_dav_coll_load(struct ctx *x);

/* PROPFIND and REPORT on the resource `x` names (h_dav_find.c). */
enum tr_code h_dav_propfind(struct ctx *x);
enum tr_code h_dav_report(struct ctx *x);

#endif /* TRANSOM_API_H_DAV_H */
