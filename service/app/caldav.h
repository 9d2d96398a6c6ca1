/*
 * caldav.h -- the CalDAV semantics, without the protocol: which calendars a member has,
 * which events each holds for them (names, ETags, Schedule-Tags, ranges, texts), the
 * sync tokens of their listings, and what a change of the member's PARTSTAT means.
 *
 * Calendars of a member:
 *   schedule   read-only: booked changes, windows and freezes (the schedule feed's
 *              events, one object each, from the snapshot the ICS feeds share:
 *              feed_cache.h)
 *   cab-votes  the changes awaiting the member's vote, each an attendee scheduling
 *              object computed on every request; changing only the member's PARTSTAT
 *              is a vote (through records_vote, as the JSON API and iMIP vote), and
 *              deleting one declines
 *   inbox, outbox  scheduling collections (empty; they only exist)
 * The change log in the store (store/dav.h) turns each listing into a sync token.
 *
 * api/h_dav.c speaks WebDAV (XML, headers, status codes) and calls these; nothing here
 * knows of HTTP or XML.
 */
#ifndef TRANSOM_APP_CALDAV_H
#define TRANSOM_APP_CALDAV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "app/app.h"
#include "app/feed_cache.h"
#include "app/records.h"
#include "core/err.h"

#define CALDAV_SCHEDULE "schedule"
#define CALDAV_VOTES    "cab-votes"
#define CALDAV_INBOX    "inbox"
#define CALDAV_OUTBOX   "outbox"

/* The member a request acts for, as their calendars show them. */
struct caldav_member {
	const char *user;         /* their user name (borrowed) */
	const char *display_name; /* people.json's display name, else `user` (borrowed) */
	char address[300];        /* "mailto:" their people.json e-mail, else the token's, else
				     <user>@transom.invalid */
};

/*
 * The member `user` (borrowed; must outlive *m) with the e-mail `token_email` of their
 * credential (may be "" or NULL) under the definitions of `c`.
 */
void caldav_member_of(const struct rec_ctx *c, const char *user, const char *token_email,
		      struct caldav_member *m);

/* Whether `cal` names one of a member's calendars; whether it holds objects. */
bool caldav_cal_known(const char *cal);
bool caldav_cal_has_objects(const char *cal);

/* One object of a calendar, as computed for this request. */
struct caldav_obj {
	char name[128];
	char etag[40];      /* quoted */
	char sched_tag[40]; /* quoted; cab-votes only */
	long long start_ms, end_ms;
	json_t *item; /* schedule: a cal_feed item; cab-votes: the vote (owned); or NULL */
	const struct feed_obj *fo; /* schedule: the snapshot's event (then item is NULL) */
	size_t fo_at;              /* ... its index in the snapshot */
};

/* A computed calendar collection.  Zero-initialise; release with caldav_coll_clear. */
struct caldav_coll {
	const char *cal;
	struct caldav_obj *objs;
	size_t n;
	long long token; /* sync token, from the change log */
	long long stamp_ms;
	struct feed_snap *snap; /* schedule: the snapshot the objects borrow from, or NULL */
};

/*
 * The objects of calendar `cal` (one with objects) of member `m` at the time and with
 * the definitions and connection of `c`, into *out, with its sync token (the change log
 * is brought up to date).  TR_OK, or an error set on `err` (database, out of memory).
 */
enum tr_code caldav_coll_load(struct app *app, struct rec_ctx *c, const struct caldav_member *m,
			      const char *cal, struct caldav_coll *out, struct tr_error *err);

/* Releases what `c` holds and zeroes it. */
void caldav_coll_clear(struct caldav_coll *c);

/* The object of `c` named `name`, or NULL. */
const struct caldav_obj *caldav_coll_find(const struct caldav_coll *c, const char *name);

/* The iCalendar text of object `o` of `c` (owned), length in *len; NULL with `err` set. */
char *caldav_obj_text(const struct caldav_coll *c, const struct caldav_obj *o, size_t *len,
		      struct tr_error *err);

/* The whole schedule collection `c` as one calendar with its ETag (a reference in *out). */
enum tr_code caldav_calendar(const struct caldav_coll *c, struct feed_text **out,
			     struct tr_error *err);

/*
 * What changed in calendar `cal` of `m` after sync token `since`: an owned array of
 * {"name", "deleted": bool} in *out, in change order.  TR_OK, or a database error.
 */
enum tr_code caldav_changes(struct rec_ctx *c, const struct caldav_member *m, const char *cal,
			    long long since, json_t **out, struct tr_error *err);

/* What a new text of a cab-votes object asks for. */
enum caldav_put {
	CALDAV_PUT_INVALID,   /* not a calendar object of this vote */
	CALDAV_PUT_FORBIDDEN, /* changes more than the member's PARTSTAT, or resets it */
	CALDAV_PUT_SAME,      /* changes nothing */
	CALDAV_PUT_VOTE       /* a vote: *decision is "approve", "reject" or "abstain" */
};

/*
 * Reads `len` bytes of `body`, put by member `m` on vote object `o`: ACCEPTED approves,
 * DECLINED rejects, TENTATIVE abstains (then *decision is set).  Logs the verdict with
 * request `c`'s id.
 */
enum caldav_put caldav_vote_put(const struct rec_ctx *c, const struct caldav_member *m,
				const struct caldav_obj *o, const char *body, size_t len,
				const char **decision);

/*
 * Casts `decision` as the caller of `c` on the change of vote object `o`, through
 * records_vote (channel "caldav").  TR_OK, or the vote's refusal set on `err` with `out`
 * holding its extras; release `out` with rec_reply_clear either way.  A caller holding
 * the cab-votes collection loads it again to see the object as it is now (gone once the
 * change awaits no decision).
 */
enum tr_code caldav_vote_cast(struct rec_ctx *c, const struct caldav_obj *o, const char *decision,
			      struct rec_reply *out, struct tr_error *err);

#endif /* TRANSOM_APP_CALDAV_H */
