/*
 * feed_int.h -- internals of the iCalendar output shared by feed.c (feeds), feed_pieces.c
 * (a feed in pieces), vtimezone.c (trimmed VTIMEZONEs) and freebusy.c; not for other
 * modules.  Every libical call runs under the module lock (cal_int.h).
 */
#ifndef TRANSOM_CAL_FEED_INT_H
#define TRANSOM_CAL_FEED_INT_H

#include <jansson.h>
#include <libical/ical.h>
#include <stdbool.h>
#include <stddef.h>

#include "calendar/feed.h"

#define PRODID      "-//Transom//Transom 1.0//EN"
#define MIN_SECS    (-2208988800LL) /* 1900-01-01T00:00:00Z */
#define MAX_SECS    7258118400LL    /* 2200-01-01T00:00:00Z, excluded */
#define DAY_SECS    86400LL
#define MAX_UID     255
#define MAX_TZID    64
#define MAX_URI     2048
#define MAX_REFRESH (366L * 86400)
#define FIELD_LEN   160

/* One build: where errors go and what went wrong first. */
struct build {
	struct tr_error *err;
	bool failed;
	bool oom;
};

enum ftype {
	F_STR, /* string */
	F_INT, /* integer */
	F_BOOL,
	F_ARR,
	F_OBJ
};

struct field {
	const char *name;
	enum ftype type;
};

/* The zones a feed uses, in first-use order. */
struct zones {
	icaltimezone **v;
	size_t n, cap;
};

/* Records the first error: `field` is the path at fault ("items[3].tzid"). */
void cal_fail(struct build *b, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- feed.c ---- */

void cal_fail_oom(struct build *b);
void cal_add_prop(struct build *b, icalcomponent *c, icalproperty *p);
void cal_add_param(struct build *b, icalproperty *p, icalparameter *q);
long long cal_floor_div(long long a, long long d);
long long cal_ceil_div(long long a, long long d);
struct icaltimetype cal_time_of(long long secs, bool is_date, bool utc);
bool cal_has_ctl(const char *s, size_t n);
bool cal_uri_ok(const char *s, size_t n);
bool cal_members_ok(struct build *b, const char *what, const json_t *obj, const struct field *spec,
		    size_t nspec);
const json_t *cal_member(const json_t *obj, const char *key);
bool cal_item_range(struct build *b, const char *what, const json_t *it, long long *s,
		    long long *e);
icalcomponent *cal_vcalendar_new(struct build *b, bool publish);
char *cal_serialize(struct build *b, icalcomponent *cal, size_t *len_out);
void cal_zones_add(struct build *b, struct zones *zs, icaltimezone *z);
icalcomponent *cal_item_event(struct build *b, const struct cal_feed *f, size_t i, const json_t *it,
			      struct zones *zs, json_t *uids);
void cal_add_feed_props(struct build *b, icalcomponent *cal, const struct cal_feed *f);

/* ---- vtimezone.c ---- */

long long cal_keep_from_of(const json_t *items);
icalcomponent *cal_vtimezone_of(struct build *b, icaltimezone *z, long long keep_from);

#endif /* TRANSOM_CAL_FEED_INT_H */
