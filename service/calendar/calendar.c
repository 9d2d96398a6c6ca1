/*
 * calendar.c -- window, freeze and CAB-meeting calendars (libical): the module lock,
 * libical's set-up, the helpers parse.c and expand.c share, and a set's lifetime.
 *
 * Parsing (parse.c) keeps libical's component tree and records, per VEVENT, the mapped
 * Transom properties.  Expansion (expand.c) walks the tree under one mutex: libical mutates
 * components (property iterators, the sorted timezone list) and zones (lazily expanded
 * changes) even when only read, so concurrent expansion must not touch them unserialized.
 */
#include <ctype.h>
#include <stdarg.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libical/ical.h>

#include "calendar/cal_int.h"
#include "calendar/set_int.h"
#include "calendar/calendar.h"
#include "calendar/rrule_weekly.h"
#include "core/timeutil.h"

/* Serializes every libical call of the module (see the file comment and cal_int.h). */
static pthread_mutex_t cal_lock = PTHREAD_MUTEX_INITIALIZER;

void cal_lock_enter(void)
{
	pthread_mutex_lock(&cal_lock);
}

void cal_lock_leave(void)
{
	pthread_mutex_unlock(&cal_lock);
}

void cal_init(void)
{
	static bool done;
	static const char *const zones[] = {"UTC",
					    "Europe/London",
					    "Europe/Berlin",
					    "Europe/Paris",
					    "America/New_York",
					    "America/Chicago",
					    "America/Los_Angeles",
					    "Asia/Tokyo",
					    "Australia/Sydney"};

	if (done)
		return;
	done = true;
	icalerror_set_errors_are_fatal(0);
	icaltimezone_set_tzid_prefix("");
	for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
		icaltimezone *z = icaltimezone_get_builtin_timezone(zones[i]);
		if (z != NULL) {
			/* force the zone's component and transitions to load now */
			struct icaltimetype t = icaltime_from_timet_with_zone(0, 0, NULL);
			t.year = 2035;
			int dst;
			(void)icaltimezone_get_utc_offset(z, &t, &dst);
		}
	}
}

/* ---- small helpers ------------------------------------------------------------------- */

void cal_meta_clear(struct cal_meta *m)
{
	json_decref(m->services);
	json_decref(m->envs);
	free(m->summary);
	m->services = NULL;
	m->envs = NULL;
	m->summary = NULL;
}

void cal_loc_of(char *buf, size_t size, size_t index, const char *uid)
{
	if (uid != NULL)
		snprintf(buf, size, "VEVENT[%zu] (UID %.200s)", index, uid);
	else
		snprintf(buf, size, "VEVENT[%zu]", index);
}

/* The string value of an X- or TEXT property, borrowed; NULL when none. */
const char *cal_prop_text(icalproperty *p)
{
	icalvalue *v = icalproperty_get_value(p);
	if (v == NULL)
		return NULL;
	switch (icalvalue_isa(v)) {
	case ICAL_X_VALUE:
		return icalvalue_get_x(v);
	case ICAL_TEXT_VALUE:
		return icalvalue_get_text(v);
	default:
		return NULL;
	}
}

/* Finds the X- property named `name` of `c` (first), or NULL. */
icalproperty *cal_x_prop(icalcomponent *c, const char *name, int *count)
{
	icalproperty *found = NULL;
	*count = 0;
	for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_X_PROPERTY); p != NULL;
	     p = icalcomponent_get_next_property(c, ICAL_X_PROPERTY)) {
		const char *n = icalproperty_get_x_name(p);
		if (n != NULL && strcasecmp(n, name) == 0) {
			if (found == NULL)
				found = p;
			(*count)++;
		}
	}
	return found;
}

char *cal_trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

bool cal_service_name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 128)
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

/* An environment name: 1..64 of lowercase letters, digits, '-' and '_'. */
bool cal_env_name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return false;
	for (; *s != '\0'; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-' &&
		    *s != '_')
			return false;
	return true;
}

bool cal_tzid_safe(const char *s, size_t n)
{
	if (n == 0 || n > 64 || s[0] == '/' || memmem(s, n, "..", 2) != NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '_' || c == '+' || c == '-'))
			return false;
	}
	return true;
}

/* The builtin zone `tzid` names, when its name is safe to look up (see cal_tzid_safe). */
icaltimezone *cal_builtin_zone(const char *tzid)
{
	return tzid != NULL && cal_tzid_safe(tzid, strlen(tzid))
		       ? icaltimezone_get_builtin_timezone(tzid)
		       : NULL;
}

/* Resolves the zone of a time property; returns false when its TZID is unknown. */
static bool prop_zone(icalcomponent *root, icalproperty *p, icaltimezone **zone)
{
	icalparameter *tp = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
	*zone = NULL;
	if (tp == NULL)
		return true;
	const char *tzid = icalparameter_get_tzid(tp);
	if (tzid == NULL || *tzid == '\0')
		return false;
	*zone = icalcomponent_get_timezone(root, tzid);
	if (*zone == NULL)
		*zone = cal_builtin_zone(tzid);
	return *zone != NULL;
}

/*
 * Attaches the zone of `p` to `t` (UTC times keep UTC); a floating time or date (no
 * TZID) takes the calendar's zone, zc->floating (NULL: UTC).
 */
bool cal_fix_zone(const struct zctx *zc, icalproperty *p, struct icaltimetype *t)
{
	icaltimezone *z;
	if (!prop_zone(zc->root, p, &z))
		return false;
	if (icaltime_is_utc(*t))
		return true;
	t->zone = z != NULL ? z : zc->floating;
	return true;
}

/* UTC offset of `zone` at `secs` since the epoch, in seconds. */
int cal_offset_at_utc(icaltimezone *zone, long long secs)
{
	struct icaltimetype u = icaltime_from_timet_with_zone((time_t)secs, 0, NULL);
	int dst = 0;
	u.zone = icaltimezone_get_utc_timezone();
	return icaltimezone_get_utc_offset_of_utc_time(zone, &u, &dst);
}

/*
 * Milliseconds since the epoch of `t` (its zone; floating and dates without zone: UTC).
 * RFC 5545 3.3.5: an ambiguous wall time (fall-back overlap) is its first occurrence; a
 * wall time in a gap (spring forward) uses the offset before the gap.  libical 3.0.16's
 * own icaltimezone_get_utc_offset() picks the second occurrence in an overlap, so the
 * candidates are checked here against the offsets before and after.
 */
long long cal_time_ms(struct icaltimetype t)
{
	icaltimezone *z = (icaltimezone *)t.zone;
	long long wall = time_days_from_civil(t.year, t.month, t.day) * 86400LL;
	if (!t.is_date)
		wall += t.hour * 3600LL + t.minute * 60LL + t.second;
	if (z == NULL || z == icaltimezone_get_utc_timezone())
		return wall * 1000;
	struct icaltimetype lt = t;
	if (lt.is_date) {
		lt.is_date = 0;
		lt.hour = lt.minute = lt.second = 0;
	}
	int dst = 0;
	int off = icaltimezone_get_utc_offset(z, &lt, &dst);
	int cand[3] = {cal_offset_at_utc(z, wall - off - 86400), off,
		       cal_offset_at_utc(z, wall - off + 86400)};
	long long best = 0;
	bool found = false;
	for (int i = 0; i < 3; i++) {
		long long u = wall - cand[i];
		if (cal_offset_at_utc(z, u) == cand[i] && (!found || u < best)) {
			best = u;
			found = true;
		}
	}
	if (!found) /* in a gap */
		best = wall - cand[0];
	return best * 1000;
}

void cal_rfc3339(long long ms, char *buf, size_t size)
{
	time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;
	if (gmtime_r(&s, &tm) == NULL) {
		snprintf(buf, size, "invalid");
		return;
	}
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void cal_set_free_locked(struct cal_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++) {
		free(set->ev[i].uid);
		free(set->ev[i].tzid);
		cal_meta_clear(&set->ev[i].meta);
	}
	free(set->ev);
	json_decref(set->warnings);
	if (set->root != NULL)
		icalcomponent_free(set->root);
	free(set);
}

void cal_free(struct cal_set *set)
{
	if (set == NULL)
		return;
	pthread_mutex_lock(&cal_lock);
	cal_set_free_locked(set);
	pthread_mutex_unlock(&cal_lock);
}

json_t *cal_warnings(const struct cal_set *set)
{
	return set != NULL ? set->warnings : NULL;
}

bool cal_zone_known(const char *tzid)
{
	pthread_mutex_lock(&cal_lock);
	bool known = cal_builtin_zone(tzid) != NULL;
	pthread_mutex_unlock(&cal_lock);
	return known;
}

size_t cal_event_count(const struct cal_set *set)
{
	size_t n = 0;
	for (size_t i = 0; set != NULL && i < set->n; i++)
		n += !set->ev[i].is_override;
	return n;
}
