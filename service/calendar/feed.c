/*
 * feed.c -- iCalendar output with libical: checking items and building subscription
 * feeds (feed_pieces.c builds them in pieces, vtimezone.c their zones, freebusy.c the
 * published free/busy; feed_int.h holds what they share).
 *
 * Items are checked and turned into libical components, then libical's serializer writes
 * the text (it escapes TEXT values and folds lines at 75 octets on UTF-8 boundaries).
 * Every libical call runs under the module lock (cal_int.h).  Times are converted here
 * from milliseconds since the epoch; wall times use the zone's offset at that instant.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libical/ical.h>

#include "calendar/cal_int.h"
#include "calendar/feed.h"
#include "calendar/feed_int.h"

/* ---- errors ---------------------------------------------------------------------------- */

/* Records the first error: `field` is the path at fault ("items[3].tzid"). */
void cal_fail(struct build *b, const char *field, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	if (b->failed)
		return;
	b->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	tr_error_set(b->err, TR_E_UNPROCESSABLE, field, "%s: %s", field, msg);
}

void cal_fail_oom(struct build *b)
{
	if (b->failed)
		return;
	b->failed = true;
	b->oom = true;
	tr_error_set(b->err, TR_E_NOMEM, NULL, "out of memory building a calendar");
}

/* icalcomponent_add_property() ignores NULL, so an allocation failure would drop a line. */
void cal_add_prop(struct build *b, icalcomponent *c, icalproperty *p)
{
	if (p == NULL) {
		cal_fail_oom(b);
		return;
	}
	icalcomponent_add_property(c, p);
}

void cal_add_param(struct build *b, icalproperty *p, icalparameter *q)
{
	if (q == NULL) {
		cal_fail_oom(b);
		return;
	}
	if (p != NULL)
		icalproperty_add_parameter(p, q);
	else
		icalparameter_free(q);
}

/* ---- values ---------------------------------------------------------------------------- */

long long cal_floor_div(long long a, long long d)
{
	long long q = a / d;
	return (a % d != 0 && (a < 0) != (d < 0)) ? q - 1 : q;
}

long long cal_ceil_div(long long a, long long d)
{
	return -cal_floor_div(-a, d);
}

/* A libical time of `secs` (UTC clock fields); `utc` marks it UTC ("Z"), else floating. */
struct icaltimetype cal_time_of(long long secs, bool is_date, bool utc)
{
	struct icaltimetype t = icaltime_null_time();
	time_t tt = (time_t)secs;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		return t;
	t.year = tm.tm_year + 1900;
	t.month = tm.tm_mon + 1;
	t.day = tm.tm_mday;
	if (!is_date) {
		t.hour = tm.tm_hour;
		t.minute = tm.tm_min;
		t.second = tm.tm_sec;
	}
	t.is_date = is_date;
	t.zone = utc ? icaltimezone_get_utc_timezone() : NULL;
	return t;
}

/* UTC offset of `zone` at `secs` since the epoch, in seconds. */
static int offset_at(icaltimezone *zone, long long secs)
{
	struct icaltimetype u = cal_time_of(secs, false, true);
	int dst = 0;
	return icaltimezone_get_utc_offset_of_utc_time(zone, &u, &dst);
}

/*
 * Whether wall time `wall` of `zone` denotes the instant `secs` when read as RFC 5545
 * 3.3.5 says (an ambiguous wall time is its first occurrence).  False only for the second
 * occurrence in a fall-back overlap: an earlier instant has the same wall time.
 */
static bool wall_is_first(icaltimezone *zone, long long wall, long long secs)
{
	int cand[2] = {offset_at(zone, secs - DAY_SECS), offset_at(zone, secs + DAY_SECS)};
	for (int i = 0; i < 2; i++) {
		long long u = wall - cand[i];
		if (u < secs && offset_at(zone, u) == cand[i])
			return false;
	}
	return true;
}

/* Whether s[0..n) has a control character (C0, NUL included, or DEL). */
bool cal_has_ctl(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return true;
	}
	return false;
}

/*
 * An owned copy of JSON string `v` fit for a TEXT value: CR LF and a lone CR become LF,
 * other control characters except TAB and LF (and NUL) become spaces.  NULL when out of
 * memory.
 */
static char *text_clean(const json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), k = 0;
	char *out = malloc(n + 1);

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r') {
			if (i + 1 < n && s[i + 1] == '\n')
				continue;
			c = '\n';
		} else if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
			c = ' ';
		}
		out[k++] = (char)c;
	}
	out[k] = '\0';
	return out;
}

/* A URI as far as a calendar line cares: a scheme, no spaces or control characters. */
bool cal_uri_ok(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	if (n == 0 || n > MAX_URI || colon == NULL || colon == s)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c == 0x7f || c == '"')
			return false;
	}
	return true;
}

/* An x-name (RFC 5545 3.1): "X-" then letters, digits and '-'. */
static bool xname_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 3 || n > 64 || (s[0] != 'X' && s[0] != 'x') || s[1] != '-')
		return false;
	for (size_t i = 2; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
	}
	return true;
}

/* Seconds of a millisecond JSON integer (floor), checked against 1900..2199. */
static bool secs_of(struct build *b, const char *field, const json_t *v, long long *out)
{
	json_int_t ms = json_integer_value(v);
	if (ms < MIN_SECS * 1000 || ms >= MAX_SECS * 1000) {
		cal_fail(b, field, "out of range (years 1900..2199)");
		return false;
	}
	*out = cal_floor_div((long long)ms, 1000);
	return true;
}

/* ---- members of an item ---------------------------------------------------------------- */

static const struct field item_fields[] = {
	{"uid", F_STR},        {"summary", F_STR},    {"description", F_STR},
	{"location", F_STR},   {"url", F_STR},        {"start_ms", F_INT},
	{"end_ms", F_INT},     {"all_day", F_BOOL},   {"tzid", F_STR},
	{"sequence", F_INT},   {"dtstamp_ms", F_INT}, {"last_modified_ms", F_INT},
	{"categories", F_ARR}, {"status", F_STR},     {"transp", F_STR},
	{"x", F_OBJ},
};

static const char *const type_names[] = {"a string", "an integer", "a boolean", "an array",
					 "an object"};

static bool type_ok(const json_t *v, enum ftype t)
{
	switch (t) {
	case F_STR:
		return json_is_string(v);
	case F_INT:
		return json_is_integer(v);
	case F_BOOL:
		return json_is_boolean(v);
	case F_ARR:
		return json_is_array(v);
	case F_OBJ:
		return json_is_object(v);
	}
	return false;
}

/*
 * Checks the members of `obj` (`what` = "items[3]") against `spec`: unknown members and
 * wrong types are errors, null members count as absent.
 */
bool cal_members_ok(struct build *b, const char *what, const json_t *obj, const struct field *spec,
		    size_t nspec)
{
	char field[FIELD_LEN];
	const char *key;
	json_t *v;

	if (!json_is_object(obj)) {
		cal_fail(b, what, "must be an object");
		return false;
	}
	json_object_foreach((json_t *)obj, key, v) {
		size_t i = 0;
		while (i < nspec && strcmp(spec[i].name, key) != 0)
			i++;
		snprintf(field, sizeof field, "%s.%.64s", what, key);
		if (i == nspec) {
			cal_fail(b, field, "unknown member");
			return false;
		}
		if (!json_is_null(v) && !type_ok(v, spec[i].type)) {
			cal_fail(b, field, "must be %s", type_names[spec[i].type]);
			return false;
		}
	}
	return true;
}

/* Member `key` of `obj`, NULL when absent or null. */
const json_t *cal_member(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

/* ---- feeds ----------------------------------------------------------------------------- */

void cal_zones_add(struct build *b, struct zones *zs, icaltimezone *z)
{
	for (size_t i = 0; i < zs->n; i++)
		if (zs->v[i] == z)
			return;
	if (zs->n == zs->cap) {
		size_t cap = zs->cap ? zs->cap * 2 : 4;
		icaltimezone **v = realloc(zs->v, cap * sizeof *v);
		if (v == NULL) {
			cal_fail_oom(b);
			return;
		}
		zs->v = v;
		zs->cap = cap;
	}
	zs->v[zs->n++] = z;
}

/* The zone named by `v` (a JSON string), or NULL (UTC); sets b->failed when unknown. */
static icaltimezone *zone_of(struct build *b, const char *field, const json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	icaltimezone *z;

	if (!cal_tzid_safe(s, n)) {
		cal_fail(b, field, "not a time zone name");
		return NULL;
	}
	/* the syntax check first: libical would open /usr/share/zoneinfo/<name> as given */
	z = icaltimezone_get_builtin_timezone(s);
	if (z != NULL && z == icaltimezone_get_utc_timezone())
		return NULL;
	if (z == NULL || icaltimezone_get_location(z) == NULL) {
		cal_fail(b, field, "unknown time zone '%s'", s);
		return NULL;
	}
	if (icaltimezone_get_component(z) == NULL) {
		cal_fail(b, field, "time zone '%s' has no definition", s);
		return NULL;
	}
	return z;
}

/*
 * A DTSTART or DTEND at `secs`: in UTC, or (zone != NULL) the zone's wall time with TZID,
 * unless that wall time would be read as another instant (then UTC).  *used tells whether
 * the zone was referenced.
 */
static icalproperty *time_prop(struct build *b, icalproperty_kind kind, long long secs,
			       icaltimezone *zone, bool *used)
{
	struct icaltimetype t;
	icalproperty *p;
	bool local = false;

	if (zone != NULL) {
		long long wall = secs + offset_at(zone, secs);
		if (wall_is_first(zone, wall, secs)) {
			t = cal_time_of(wall, false, false);
			local = true;
		}
	}
	if (!local)
		t = cal_time_of(secs, false, true);
	p = kind == ICAL_DTSTART_PROPERTY ? icalproperty_new_dtstart(t) : icalproperty_new_dtend(t);
	if (p == NULL)
		return NULL;
	if (local) {
		cal_add_param(b, p, icalparameter_new_tzid(icaltimezone_get_location(zone)));
		*used = true;
	}
	return p;
}

/* Adds a TEXT property made by `mk` from JSON string `v` (NULL: nothing). */
static void add_text(struct build *b, icalcomponent *c, icalproperty *(*mk)(const char *),
		     const json_t *v)
{
	if (v == NULL)
		return;
	char *s = text_clean(v);
	if (s == NULL) {
		cal_fail_oom(b);
		return;
	}
	cal_add_prop(b, c, mk(s));
	free(s);
}

/* Adds an X- property `name` with the cleaned text of `v`. */
static void add_x(struct build *b, icalcomponent *c, const char *name, const json_t *v)
{
	char *s = text_clean(v);
	if (s == NULL) {
		cal_fail_oom(b);
		return;
	}
	icalproperty *p = icalproperty_new_x(s);
	free(s);
	if (p != NULL)
		icalproperty_set_x_name(p, name);
	cal_add_prop(b, c, p);
}

static void add_x_str(struct build *b, icalcomponent *c, const char *name, const char *s)
{
	icalproperty *p = icalproperty_new_x(s);
	if (p != NULL)
		icalproperty_set_x_name(p, name);
	cal_add_prop(b, c, p);
}

/* The categories of `arr` joined by commas, owned; NULL with b->failed on error. */
static char *categories_of(struct build *b, const char *what, const json_t *arr)
{
	char field[FIELD_LEN];
	size_t len = 1, i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		snprintf(field, sizeof field, "%s.categories[%zu]", what, i);
		if (!json_is_string(v)) {
			cal_fail(b, field, "must be a string");
			return NULL;
		}
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);
		if (n == 0 || cal_has_ctl(s, n) || memchr(s, ',', n) != NULL ||
		    memchr(s, ';', n) != NULL) {
			cal_fail(b, field,
				 "must be non-empty, without ',', ';' or control characters");
			return NULL;
		}
		len += n + 1;
	}
	char *out = malloc(len);
	if (out == NULL) {
		cal_fail_oom(b);
		return NULL;
	}
	size_t k = 0;
	json_array_foreach(arr, i, v) {
		if (k > 0)
			out[k++] = ',';
		memcpy(out + k, json_string_value(v), json_string_length(v));
		k += json_string_length(v);
	}
	out[k] = '\0';
	return out;
}

/* Reads the start and end of item `it` into seconds; false with b->failed on error. */
bool cal_item_range(struct build *b, const char *what, const json_t *it, long long *s, long long *e)
{
	char field[FIELD_LEN];
	const json_t *sv = cal_member(it, "start_ms"), *ev = cal_member(it, "end_ms");

	snprintf(field, sizeof field, "%s.start_ms", what);
	if (sv == NULL) {
		cal_fail(b, field, "missing");
		return false;
	}
	if (!secs_of(b, field, sv, s))
		return false;
	snprintf(field, sizeof field, "%s.end_ms", what);
	if (ev == NULL) {
		cal_fail(b, field, "missing");
		return false;
	}
	if (!secs_of(b, field, ev, e))
		return false;
	if (json_integer_value(ev) < json_integer_value(sv)) {
		cal_fail(b, field, "before start_ms");
		return false;
	}
	return true;
}

/* DTSTART and DTEND of an all-day item: the days of start and end in `zone` (NULL: UTC). */
static void add_all_day(struct build *b, icalcomponent *c, long long s, long long e,
			icaltimezone *zone)
{
	long long ws = s + (zone != NULL ? offset_at(zone, s) : 0);
	long long we = e + (zone != NULL ? offset_at(zone, e) : 0);
	long long ds = cal_floor_div(ws, DAY_SECS), de = cal_ceil_div(we, DAY_SECS);

	if (de <= ds)
		de = ds + 1;
	cal_add_prop(b, c, icalproperty_new_dtstart(cal_time_of(ds * DAY_SECS, true, false)));
	cal_add_prop(b, c, icalproperty_new_dtend(cal_time_of(de * DAY_SECS, true, false)));
}

/* Adds the enumerated STATUS and TRANSP of item `it`. */
static void add_status_transp(struct build *b, icalcomponent *c, const char *what, const json_t *it)
{
	char field[FIELD_LEN];
	const json_t *v;

	if ((v = cal_member(it, "status")) != NULL) {
		const char *s = json_string_value(v);
		enum icalproperty_status st;
		if (strcmp(s, "CONFIRMED") == 0)
			st = ICAL_STATUS_CONFIRMED;
		else if (strcmp(s, "TENTATIVE") == 0)
			st = ICAL_STATUS_TENTATIVE;
		else if (strcmp(s, "CANCELLED") == 0)
			st = ICAL_STATUS_CANCELLED;
		else {
			snprintf(field, sizeof field, "%s.status", what);
			cal_fail(b, field, "must be CONFIRMED, TENTATIVE or CANCELLED");
			return;
		}
		cal_add_prop(b, c, icalproperty_new_status(st));
	}
	if ((v = cal_member(it, "transp")) != NULL) {
		const char *s = json_string_value(v);
		enum icalproperty_transp tp;
		if (strcmp(s, "OPAQUE") == 0)
			tp = ICAL_TRANSP_OPAQUE;
		else if (strcmp(s, "TRANSPARENT") == 0)
			tp = ICAL_TRANSP_TRANSPARENT;
		else {
			snprintf(field, sizeof field, "%s.transp", what);
			cal_fail(b, field, "must be OPAQUE or TRANSPARENT");
			return;
		}
		cal_add_prop(b, c, icalproperty_new_transp(tp));
	}
}

/* Adds the X- properties of member "x" of item `it`, in the object's order. */
static void add_xs(struct build *b, icalcomponent *c, const char *what, const json_t *it)
{
	char field[FIELD_LEN];
	const json_t *x = cal_member(it, "x");
	const char *key;
	json_t *v;

	if (x == NULL)
		return;
	json_object_foreach((json_t *)x, key, v) {
		snprintf(field, sizeof field, "%s.x.%.64s", what, key);
		if (!xname_ok(key)) {
			cal_fail(b, field, "not an X- property name");
			return;
		}
		if (!json_is_string(v)) {
			cal_fail(b, field, "must be a string");
			return;
		}
		add_x(b, c, key, v);
	}
}

/*
 * The VEVENT of item `it` (number `i`), owned, or NULL with b->failed.  Zones it
 * references are added to `zs`; `uids` (a JSON object used as a set) catches duplicates.
 */
icalcomponent *cal_item_event(struct build *b, const struct cal_feed *f, size_t i, const json_t *it,
			      struct zones *zs, json_t *uids)
{
	char what[32], field[FIELD_LEN];
	const json_t *v;
	long long s, e;
	icaltimezone *zone = NULL;
	bool used = false;

	snprintf(what, sizeof what, "items[%zu]", i);
	if (!cal_members_ok(b, what, it, item_fields, sizeof item_fields / sizeof item_fields[0]))
		return NULL;

	/* identity */
	snprintf(field, sizeof field, "%s.uid", what);
	v = cal_member(it, "uid");
	if (v == NULL) {
		cal_fail(b, field, "missing");
		return NULL;
	}
	const char *uid = json_string_value(v);
	size_t uid_len = json_string_length(v);
	if (uid_len == 0 || uid_len > MAX_UID || cal_has_ctl(uid, uid_len)) {
		cal_fail(b, field, "must be 1..%d octets without control characters", MAX_UID);
		return NULL;
	}
	const json_t *prev = json_object_get(uids, uid);
	if (prev != NULL) {
		cal_fail(b, field, "duplicate uid (also items[%lld])",
			 (long long)json_integer_value(prev));
		return NULL;
	}
	if (json_object_set_new(uids, uid, json_integer((json_int_t)i)) != 0) {
		cal_fail_oom(b);
		return NULL;
	}

	/* times */
	if (!cal_item_range(b, what, it, &s, &e))
		return NULL;
	if ((v = cal_member(it, "tzid")) != NULL) {
		snprintf(field, sizeof field, "%s.tzid", what);
		zone = zone_of(b, field, v);
		if (b->failed)
			return NULL;
	}
	/* DTSTAMP: the item's, else its last modification, else the feed's (checked) */
	long long stamp_s = cal_floor_div(f->dtstamp_ms, 1000), modified_s = 0;
	const char *stamp_key = "dtstamp_ms";
	if (cal_member(it, stamp_key) == NULL)
		stamp_key = cal_member(it, "last_modified_ms") != NULL ? "last_modified_ms" : NULL;
	if (stamp_key != NULL) {
		snprintf(field, sizeof field, "%s.%s", what, stamp_key);
		if (!secs_of(b, field, cal_member(it, stamp_key), &stamp_s))
			return NULL;
	}
	if ((v = cal_member(it, "last_modified_ms")) != NULL) {
		snprintf(field, sizeof field, "%s.last_modified_ms", what);
		if (!secs_of(b, field, v, &modified_s))
			return NULL;
	}
	json_int_t seq = 0;
	if ((v = cal_member(it, "sequence")) != NULL) {
		seq = json_integer_value(v);
		if (seq < 0 || seq > INT_MAX) {
			snprintf(field, sizeof field, "%s.sequence", what);
			cal_fail(b, field, "must be 0..%d", INT_MAX);
			return NULL;
		}
	}
	if ((v = cal_member(it, "url")) != NULL &&
	    (!cal_uri_ok(json_string_value(v), json_string_length(v)) ||
	     strlen(json_string_value(v)) != json_string_length(v))) {
		snprintf(field, sizeof field, "%s.url", what);
		cal_fail(b, field, "not an absolute URI");
		return NULL;
	}
	char *cats = NULL;
	if ((v = cal_member(it, "categories")) != NULL && json_array_size(v) > 0 &&
	    (cats = categories_of(b, what, v)) == NULL)
		return NULL;

	icalcomponent *c = icalcomponent_new(ICAL_VEVENT_COMPONENT);
	if (c == NULL) {
		free(cats);
		cal_fail_oom(b);
		return NULL;
	}
	cal_add_prop(b, c, icalproperty_new_uid(uid));
	cal_add_prop(b, c, icalproperty_new_dtstamp(cal_time_of(stamp_s, false, true)));
	if (json_is_true(cal_member(it, "all_day"))) {
		add_all_day(b, c, s, e, zone);
	} else {
		cal_add_prop(b, c, time_prop(b, ICAL_DTSTART_PROPERTY, s, zone, &used));
		cal_add_prop(b, c, time_prop(b, ICAL_DTEND_PROPERTY, e, zone, &used));
	}
	if (used)
		cal_zones_add(b, zs, zone);
	if (cal_member(it, "sequence") != NULL)
		cal_add_prop(b, c, icalproperty_new_sequence((int)seq));
	add_text(b, c, icalproperty_new_summary, cal_member(it, "summary"));
	add_text(b, c, icalproperty_new_description, cal_member(it, "description"));
	add_text(b, c, icalproperty_new_location, cal_member(it, "location"));
	if ((v = cal_member(it, "url")) != NULL)
		cal_add_prop(b, c, icalproperty_new_url(json_string_value(v)));
	add_status_transp(b, c, what, it);
	if (cats != NULL)
		cal_add_prop(b, c, icalproperty_new_categories(cats));
	free(cats);
	if (cal_member(it, "last_modified_ms") != NULL)
		cal_add_prop(b, c,
			     icalproperty_new_lastmodified(cal_time_of(modified_s, false, true)));
	add_xs(b, c, what, it);
	if (b->failed) {
		icalcomponent_free(c);
		return NULL;
	}
	return c;
}

/* The VCALENDAR with its calendar-level properties, owned; NULL with b->failed. */
icalcomponent *cal_vcalendar_new(struct build *b, bool publish)
{
	icalcomponent *cal = icalcomponent_new(ICAL_VCALENDAR_COMPONENT);
	if (cal == NULL) {
		cal_fail_oom(b);
		return NULL;
	}
	cal_add_prop(b, cal, icalproperty_new_prodid(PRODID));
	cal_add_prop(b, cal, icalproperty_new_version("2.0"));
	cal_add_prop(b, cal, icalproperty_new_calscale("GREGORIAN"));
	if (publish)
		cal_add_prop(b, cal, icalproperty_new_method(ICAL_METHOD_PUBLISH));
	return cal;
}

/* Serializes `cal` into an owned malloc() string. */
char *cal_serialize(struct build *b, icalcomponent *cal, size_t *len_out)
{
	char *s = icalcomponent_as_ical_string_r(cal);
	if (s == NULL) {
		cal_fail_oom(b);
		return NULL;
	}
	size_t n = strlen(s);
	char *out = malloc(n + 1); /* not libical's allocator: callers free() */
	if (out != NULL)
		memcpy(out, s, n + 1);
	else
		cal_fail_oom(b);
	icalmemory_free_buffer(s);
	if (out != NULL && len_out != NULL)
		*len_out = n;
	return out;
}

/* Adds the feed-level properties of `f` to `cal`. */
void cal_add_feed_props(struct build *b, icalcomponent *cal, const struct cal_feed *f)
{
	if (f->name != NULL) {
		json_t *name = json_string(f->name);
		if (name == NULL) {
			cal_fail(b, "feed.name", "not valid UTF-8");
			return;
		}
		char *s = text_clean(name);
		json_decref(name);
		if (s == NULL) {
			cal_fail_oom(b);
			return;
		}
		cal_add_prop(b, cal, icalproperty_new_name(s));
		add_x_str(b, cal, "X-WR-CALNAME", s);
		free(s);
	}
	if (f->refresh_seconds > 0) {
		struct icaldurationtype d = icaldurationtype_from_int((int)f->refresh_seconds);
		cal_add_prop(b, cal, icalproperty_new_refreshinterval(d));
		char *ds = icaldurationtype_as_ical_string_r(d);
		if (ds == NULL) {
			cal_fail_oom(b);
			return;
		}
		add_x_str(b, cal, "X-PUBLISHED-TTL", ds);
		icalmemory_free_buffer(ds);
	}
}

static char *feed_build_locked(struct build *b, const struct cal_feed *f, const json_t *items,
			       size_t *len_out)
{
	size_t n = json_array_size(items);
	icalcomponent **evs = calloc(n > 0 ? n : 1, sizeof *evs);
	json_t *uids = json_object();
	struct zones zs = {0};
	icalcomponent *cal = NULL;
	char *out = NULL;

	if (evs == NULL || uids == NULL) {
		cal_fail_oom(b);
		goto done;
	}
	for (size_t i = 0; i < n && !b->failed; i++)
		evs[i] = cal_item_event(b, f, i, json_array_get(items, i), &zs, uids);
	if (b->failed)
		goto done;
	cal = cal_vcalendar_new(b, f->publish);
	if (cal == NULL)
		goto done;
	cal_add_feed_props(b, cal, f);
	/* libical puts each VTIMEZONE added first: add them last-used first */
	for (size_t i = zs.n; i-- > 0 && !b->failed;) {
		icalcomponent *vz = cal_vtimezone_of(b, zs.v[i], cal_keep_from_of(items));
		if (vz != NULL)
			icalcomponent_add_component(cal, vz);
	}
	for (size_t i = 0; i < n; i++) { /* the calendar owns them from here */
		icalcomponent_add_component(cal, evs[i]);
		evs[i] = NULL;
	}
	if (!b->failed)
		out = cal_serialize(b, cal, len_out);
done:
	for (size_t i = 0; evs != NULL && i < n; i++)
		if (evs[i] != NULL)
			icalcomponent_free(evs[i]);
	free(evs);
	if (cal != NULL)
		icalcomponent_free(cal);
	json_decref(uids);
	free(zs.v);
	return out;
}

char *cal_feed_build(const struct cal_feed *f, const json_t *items, size_t *len_out,
		     struct tr_error *err)
{
	static const struct cal_feed none = {0};
	struct build b = {err, false, false};

	if (f == NULL)
		f = &none;
	if (!json_is_array(items)) {
		cal_fail(&b, "items", "must be an array");
		return NULL;
	}
	if (f->refresh_seconds < 0 || f->refresh_seconds > MAX_REFRESH) {
		cal_fail(&b, "feed.refresh_seconds", "must be 0..%ld", MAX_REFRESH);
		return NULL;
	}
	if (f->dtstamp_ms < MIN_SECS * 1000 || f->dtstamp_ms >= MAX_SECS * 1000) {
		cal_fail(&b, "feed.dtstamp_ms", "out of range (years 1900..2199)");
		return NULL;
	}
	cal_lock_enter();
	char *out = feed_build_locked(&b, f, items, len_out);
	cal_lock_leave();
	return out;
}
