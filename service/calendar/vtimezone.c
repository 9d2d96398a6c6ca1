/*
 * vtimezone.c -- the VTIMEZONEs a feed carries: libical's builtin definition of a zone,
 * trimmed to the observances the feed's times need.
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

/* ---- VTIMEZONE trimming ---------------------------------------------------------------- */

/* Observances needed from this instant on (2020-01-01T00:00:00Z), unless an event is older. */
#define TZ_KEEP_FROM 1577836800LL
/* Most onsets read from one observance's RRULE (a year each, typically). */
#define TZ_MAX_ONSETS 1000

/* Seconds since the epoch of the clock fields of `t` (read as UTC). */
static long long fields_secs(struct icaltimetype t)
{
	long long y = t.year - (t.month <= 2), m = t.month;
	long long era = cal_floor_div(y, 400), yoe = y - era * 400;
	long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + t.day - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	long long days = era * 146097 + doe - 719468;
	return days * DAY_SECS + t.hour * 3600LL + t.minute * 60LL + t.second;
}

/* The instant of onset `t` of an observance whose TZOFFSETFROM is `from` (seconds). */
static long long onset_secs(struct icaltimetype t, int from)
{
	return icaltime_is_utc(t) ? fields_secs(t) : fields_secs(t) - from;
}

/*
 * Reads the onsets of observance `obs` (DTSTART, RDATEs, RRULE up to its end or the first
 * onset at or after `keep_from`): whether one is at or after `keep_from` (*after), and
 * the latest before it (*before, LLONG_MIN when none).
 */
static void observance_onsets(icalcomponent *obs, long long keep_from, bool *after,
			      long long *before)
{
	icalproperty *p = icalcomponent_get_first_property(obs, ICAL_TZOFFSETFROM_PROPERTY);
	int from = p != NULL ? icalproperty_get_tzoffsetfrom(p) : 0;
	struct icaltimetype start = icalcomponent_get_dtstart(obs);
	*after = false;
	*before = LLONG_MIN;
#define ONSET(secs)                                                                                \
	do {                                                                                       \
		long long o_ = (secs);                                                             \
		if (o_ >= keep_from)                                                               \
			*after = true;                                                             \
		else if (o_ > *before)                                                             \
			*before = o_;                                                              \
	} while (0)
	if (icaltime_is_null_time(start)) {
		*after = true; /* unreadable: keep it */
		return;
	}
	ONSET(onset_secs(start, from));
	for (p = icalcomponent_get_first_property(obs, ICAL_RDATE_PROPERTY); p != NULL;
	     p = icalcomponent_get_next_property(obs, ICAL_RDATE_PROPERTY)) {
		struct icaldatetimeperiodtype r = icalproperty_get_rdate(p);
		struct icaltimetype t = icaltime_is_null_time(r.time) ? r.period.start : r.time;
		if (!icaltime_is_null_time(t))
			ONSET(onset_secs(t, from));
	}
	p = icalcomponent_get_first_property(obs, ICAL_RRULE_PROPERTY);
	if (p != NULL && !*after) {
		struct icalrecurrencetype rule = icalproperty_get_rrule(p);
		if (!icaltime_is_null_time(rule.until) && icaltime_is_utc(rule.until)) {
			/* the iterator compares UNTIL with the floating onsets field by field:
			   give it the onset's wall time (UNTIL + TZOFFSETFROM) */
			rule.until = cal_time_of(fields_secs(rule.until) + from, false, false);
		}
		icalrecur_iterator *it = icalrecur_iterator_new(rule, start);
		if (it == NULL) {
			*after = true; /* cannot tell: keep it */
			return;
		}
		struct icaltimetype t;
		for (int n = 0; n < TZ_MAX_ONSETS && !*after &&
				!icaltime_is_null_time(t = icalrecur_iterator_next(it));
		     n++)
			ONSET(onset_secs(t, from));
		icalrecur_iterator_free(it);
	}
#undef ONSET
}

/*
 * Drops the observances of `vz` (STANDARD, DAYLIGHT) that no time from `keep_from` on
 * needs: kept are those with an onset at or after it, and the one in effect at it (the
 * latest onset before it).  A client reading a wall time at or after `keep_from` then
 * finds the same offset as with the whole history (RFC 5545 3.6.5: the observance with
 * the latest onset not after the time applies), and the text stays small -- libical's
 * builtin zones reach back to 1893, with LMT offsets in seconds some clients refuse.
 */
static void vtimezone_trim(icalcomponent *vz, long long keep_from)
{
	icalcomponent *obs[256], *in_effect = NULL;
	bool keep[256];
	size_t n = 0;
	long long latest = LLONG_MIN;
	for (icalcomponent *c = icalcomponent_get_first_component(vz, ICAL_ANY_COMPONENT);
	     c != NULL && n < 256; c = icalcomponent_get_next_component(vz, ICAL_ANY_COMPONENT)) {
		icalcomponent_kind k = icalcomponent_isa(c);
		if (k != ICAL_XSTANDARD_COMPONENT && k != ICAL_XDAYLIGHT_COMPONENT)
			continue;
		bool after;
		long long before;
		observance_onsets(c, keep_from, &after, &before);
		if (before > latest) {
			latest = before;
			in_effect = c;
		}
		keep[n] = after;
		obs[n++] = c;
	}
	if (n == 256)
		return; /* more than any real zone: leave it whole */
	for (size_t i = 0; i < n; i++)
		if (!keep[i] && obs[i] != in_effect) {
			icalcomponent_remove_component(vz, obs[i]);
			icalcomponent_free(obs[i]);
		}
}

/* The earliest start (seconds) of the items, or TZ_KEEP_FROM when none is earlier. */
long long cal_keep_from_of(const json_t *items)
{
	long long keep = TZ_KEEP_FROM;
	size_t i;
	const json_t *it;
	json_array_foreach(items, i, it) {
		const json_t *v = json_object_get(it, "start_ms");
		if (json_is_integer(v) && cal_floor_div(json_integer_value(v), 1000) < keep)
			keep = cal_floor_div(json_integer_value(v), 1000);
	}
	return keep;
}

/*
 * The VTIMEZONE of `z`: a clone of libical's builtin definition whose TZID is the plain
 * IANA name (the one DTSTART;TZID= uses), with the observances needed from `keep_from`
 * (seconds) on.
 */
icalcomponent *cal_vtimezone_of(struct build *b, icaltimezone *z, long long keep_from)
{
	icalcomponent *vz = icalcomponent_new_clone(icaltimezone_get_component(z));
	if (vz == NULL) {
		cal_fail_oom(b);
		return NULL;
	}
	vtimezone_trim(vz, keep_from);
	icalproperty *tp = icalcomponent_get_first_property(vz, ICAL_TZID_PROPERTY);
	if (tp != NULL)
		icalproperty_set_tzid(tp, icaltimezone_get_location(z));
	else
		cal_add_prop(b, vz, icalproperty_new_tzid(icaltimezone_get_location(z)));
	return vz;
}
