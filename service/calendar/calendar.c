/*
 * calendar.c -- parsing and expansion of window, freeze and CAB-meeting calendars (libical).
 *
 * Parsing keeps libical's component tree and records, per VEVENT, the mapped Transom
 * properties.  Expansion walks the tree under one mutex: libical mutates components
 * (property iterators, the sorted timezone list) and zones (lazily expanded changes) even
 * when only read, so concurrent expansion must not touch them unserialized.
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
#include "calendar/calendar.h"
#include "calendar/rrule_weekly.h"
#include "core/timeutil.h"

#define DAY_MS    (86400LL * 1000)
#define MAX_STEPS 200000 /* iterator steps per event and expansion, whatever the rule */

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

enum cal_kind {
	CAL_NONE = 0, /* no category (an override inherits its master's) */
	CAL_WINDOW,   /* MAINTENANCE-WINDOW */
	CAL_FREEZE,   /* FREEZE */
	CAL_MEETING   /* CAB-MEETING */
};

/* Mapped properties of one VEVENT. */
struct cal_meta {
	enum cal_kind kind;
	int hard;         /* -1 unset */
	long capacity;    /* 0 unset */
	json_t *services; /* owned; NULL unset */
	json_t *envs;     /* X-TRANSOM-ENVIRONMENTS, owned; NULL unset (production) */
	char *summary;    /* owned; NULL unset */
};

struct cal_event {
	icalcomponent *comp; /* borrowed from the set's root */
	char *uid;
	struct cal_meta meta;
	char *tzid;     /* DTSTART's TZID when it names a zone libical knows by IANA name */
	bool cancelled; /* STATUS:CANCELLED */
	long master;    /* overrides: index of the master in events[], else -1 */
	bool is_override;
};

/* How a file's times are read: its VTIMEZONEs, and the zone of floating times and dates. */
struct zctx {
	icalcomponent *root;    /* the VCALENDAR (its VTIMEZONEs) */
	icaltimezone *floating; /* floating DATE-TIMEs and DATEs; NULL = UTC */
};

struct cal_set {
	icalcomponent *root;
	struct zctx zc;
	struct cal_event *ev;
	size_t n;
	json_t *warnings; /* owned: array of "file: VEVENT[i] (UID x): message" strings */
};

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

static void meta_clear(struct cal_meta *m)
{
	json_decref(m->services);
	json_decref(m->envs);
	free(m->summary);
	m->services = NULL;
	m->envs = NULL;
	m->summary = NULL;
}

static void loc_of(char *buf, size_t size, size_t index, const char *uid)
{
	if (uid != NULL)
		snprintf(buf, size, "VEVENT[%zu] (UID %.200s)", index, uid);
	else
		snprintf(buf, size, "VEVENT[%zu]", index);
}

/* The string value of an X- or TEXT property, borrowed; NULL when none. */
static const char *prop_text(icalproperty *p)
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
static icalproperty *x_prop(icalcomponent *c, const char *name, int *count)
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

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static bool service_name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 128)
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

/* An environment name: 1..64 of lowercase letters, digits, '-' and '_'. */
static bool env_name_ok(const char *s)
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
static icaltimezone *builtin_zone(const char *tzid)
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
		*zone = builtin_zone(tzid);
	return *zone != NULL;
}

/*
 * Attaches the zone of `p` to `t` (UTC times keep UTC); a floating time or date (no
 * TZID) takes the calendar's zone, zc->floating (NULL: UTC).
 */
static bool fix_zone(const struct zctx *zc, icalproperty *p, struct icaltimetype *t)
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
static int offset_at_utc(icaltimezone *zone, long long secs)
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
static long long time_ms(struct icaltimetype t)
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
	int cand[3] = {offset_at_utc(z, wall - off - 86400), off,
		       offset_at_utc(z, wall - off + 86400)};
	long long best = 0;
	bool found = false;
	for (int i = 0; i < 3; i++) {
		long long u = wall - cand[i];
		if (offset_at_utc(z, u) == cand[i] && (!found || u < best)) {
			best = u;
			found = true;
		}
	}
	if (!found) /* in a gap */
		best = wall - cand[0];
	return best * 1000;
}

static void rfc3339(long long ms, char *buf, size_t size)
{
	time_t s = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;
	if (gmtime_r(&s, &tm) == NULL) {
		snprintf(buf, size, "invalid");
		return;
	}
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Whether s[0..len) is valid UTF-8 (no overlongs, surrogates or code points > U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned c = s[i];
		size_t n;
		unsigned cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 1, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n + 1;
	}
	return true;
}

/* ---- parsing ------------------------------------------------------------------------- */

struct parse_ctx {
	const char *file;
	struct diags *diags;
	icalcomponent *root;
	bool bad;
	struct zctx zc;
	json_t *warnings; /* the set's warnings (borrowed) */
	/* cal_parse_as: every event is read as this, whatever its properties say */
	enum cal_kind as_kind; /* CAL_NONE: read the properties */
	bool as_hard;
	json_t *as_services;
};

#define DIAG(pc, loc, ...)                                                                         \
	do {                                                                                       \
		diags_add((pc)->diags, (pc)->file, (loc), 0, __VA_ARGS__);                         \
		(pc)->bad = true;                                                                  \
	} while (0)

/* Records a warning "file: loc: message" (not an error: the calendar is still used). */
static void warn(struct parse_ctx *pc, const char *loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void warn(struct parse_ctx *pc, const char *loc, const char *fmt, ...)
{
	char msg[600], line[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (*loc != '\0')
		snprintf(line, sizeof line, "%s: %s: %s", pc->file, loc, msg);
	else
		snprintf(line, sizeof line, "%s: %s", pc->file, msg);
	if (pc->warnings == NULL || json_array_append_new(pc->warnings, json_string(line)) != 0)
		pc->diags->oom = true;
}

static void parse_meta(struct parse_ctx *pc, icalcomponent *c, const char *loc, struct cal_meta *m)
{
	int count;
	bool win = false, frz = false, mtg = false;

	m->hard = -1;
	for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_CATEGORIES_PROPERTY);
	     p != NULL; p = icalcomponent_get_next_property(c, ICAL_CATEGORIES_PROPERTY)) {
		const char *v = icalproperty_get_categories(p);
		char *copy = strdup(v != NULL ? v : ""), *save = NULL;
		if (copy == NULL) {
			pc->diags->oom = true;
			pc->bad = true;
			return;
		}
		for (char *t = strtok_r(copy, ",", &save); t != NULL;
		     t = strtok_r(NULL, ",", &save)) {
			t = trim(t);
			if (strcasecmp(t, "MAINTENANCE-WINDOW") == 0)
				win = true;
			else if (strcasecmp(t, "FREEZE") == 0)
				frz = true;
			else if (strcasecmp(t, "CAB-MEETING") == 0)
				mtg = true;
		}
		free(copy);
	}
	if (win && frz)
		DIAG(pc, loc, "categories name both MAINTENANCE-WINDOW and FREEZE");
	else if (mtg && (win || frz))
		DIAG(pc, loc, "categories name CAB-MEETING with %s",
		     win ? "MAINTENANCE-WINDOW" : "FREEZE");
	m->kind = win ? CAL_WINDOW : frz ? CAL_FREEZE : mtg ? CAL_MEETING : CAL_NONE;

	icalproperty *p = x_prop(c, "X-TRANSOM-SERVICES", &count);
	if (count > 1)
		DIAG(pc, loc, "X-TRANSOM-SERVICES given %d times", count);
	if (p != NULL) {
		const char *v = prop_text(p);
		char *copy = strdup(v != NULL ? v : ""), *save = NULL;
		json_t *arr = json_array();
		if (copy == NULL || arr == NULL) {
			free(copy);
			json_decref(arr);
			pc->diags->oom = true;
			pc->bad = true;
			return;
		}
		bool star = false, bad = false;
		for (char *t = strtok_r(copy, ",", &save); t != NULL;
		     t = strtok_r(NULL, ",", &save)) {
			t = trim(t);
			if (strcmp(t, "*") == 0)
				star = true;
			else if (!service_name_ok(t))
				bad = true;
			else
				json_array_append_new(arr, json_string(t));
		}
		free(copy);
		if (bad)
			DIAG(pc, loc, "X-TRANSOM-SERVICES: bad service name in '%.100s'",
			     v ? v : "");
		else if (star && json_array_size(arr) > 0)
			DIAG(pc, loc, "X-TRANSOM-SERVICES: '*' mixed with service names");
		else if (!star && json_array_size(arr) == 0)
			DIAG(pc, loc, "X-TRANSOM-SERVICES is empty");
		if (star) {
			json_decref(arr);
			arr = json_string("*");
		}
		m->services = arr;
	}

	p = x_prop(c, "X-TRANSOM-ENVIRONMENTS", &count);
	if (count > 1)
		DIAG(pc, loc, "X-TRANSOM-ENVIRONMENTS given %d times", count);
	if (p != NULL) {
		const char *v = prop_text(p);
		char *copy = strdup(v != NULL ? v : ""), *save = NULL;
		json_t *arr = json_array();
		if (copy == NULL || arr == NULL) {
			free(copy);
			json_decref(arr);
			pc->diags->oom = true;
			pc->bad = true;
			return;
		}
		bool bad = false;
		for (char *t = strtok_r(copy, ",", &save); t != NULL;
		     t = strtok_r(NULL, ",", &save)) {
			t = trim(t);
			if (!env_name_ok(t))
				bad = true;
			else
				json_array_append_new(arr, json_string(t));
		}
		free(copy);
		if (bad)
			DIAG(pc, loc,
			     "X-TRANSOM-ENVIRONMENTS: bad environment name in '%.100s' (lowercase "
			     "letters, digits, - and _; list them, '*' is not allowed)",
			     v ? v : "");
		else if (json_array_size(arr) == 0)
			DIAG(pc, loc, "X-TRANSOM-ENVIRONMENTS is empty");
		m->envs = arr;
	}

	p = x_prop(c, "X-TRANSOM-HARDNESS", &count);
	if (count > 1)
		DIAG(pc, loc, "X-TRANSOM-HARDNESS given %d times", count);
	if (p != NULL) {
		const char *v = prop_text(p);
		if (v != NULL && strcasecmp(v, "hard") == 0)
			m->hard = 1;
		else if (v != NULL && strcasecmp(v, "soft") == 0)
			m->hard = 0;
		else
			DIAG(pc, loc, "X-TRANSOM-HARDNESS must be 'hard' or 'soft'");
	}

	p = x_prop(c, "X-TRANSOM-CAPACITY", &count);
	if (count > 1)
		DIAG(pc, loc, "X-TRANSOM-CAPACITY given %d times", count);
	if (p != NULL) {
		const char *v = prop_text(p);
		char *end = NULL;
		long n = v != NULL ? strtol(v, &end, 10) : 0;
		if (v == NULL || end == v || *trim(end) != '\0' || n <= 0 || n > 1000000)
			DIAG(pc, loc, "X-TRANSOM-CAPACITY must be a positive integer");
		else
			m->capacity = n;
	}

	const char *s = icalcomponent_get_summary(c);
	if (s != NULL && (m->summary = strdup(s)) == NULL) {
		pc->diags->oom = true;
		pc->bad = true;
	}
}

/*
 * Refuses rules libical cannot iterate, and rules that can never produce an instance:
 * libical 3.0.16 then spins inside one icalrecur_iterator_next() call until the year 2582
 * (FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30 takes minutes), beyond any bound a caller can set.
 * The probe iterates the day-level part of the rule (BYMONTH, BYWEEKNO, BYYEARDAY,
 * BYMONTHDAY, BYDAY without ordinals) with FREQ=DAILY: a few hundred thousand cheap
 * steps at worst, once, at parse time.
 */
static void check_rule(struct parse_ctx *pc, const char *loc, struct icalrecurrencetype r,
		       struct icaltimetype st)
{
	st.zone = NULL;
	icalrecur_iterator *it = icalrecur_iterator_new(r, st);
	if (it == NULL) {
		DIAG(pc, loc, "RRULE: rule not supported");
		return;
	}
	icalrecur_iterator_free(it);
	if (r.freq != ICAL_MONTHLY_RECURRENCE && r.freq != ICAL_YEARLY_RECURRENCE) {
		for (int i = 0; i < ICAL_BY_DAY_SIZE && r.by_day[i] != ICAL_RECURRENCE_ARRAY_MAX;
		     i++) {
			if (icalrecurrencetype_day_position(r.by_day[i]) != 0) {
				DIAG(pc, loc,
				     "RRULE: BYDAY with an ordinal needs FREQ=MONTHLY or "
				     "YEARLY");
				return;
			}
		}
	}
	if (r.freq != ICAL_HOURLY_RECURRENCE)
		return; /* coarser rules: at most ~200000 internal steps to year 2582 */
	struct icalrecurrencetype d = r;
	d.freq = ICAL_DAILY_RECURRENCE;
	d.interval = 1;
	d.count = 0;
	d.until = icaltime_null_time();
	d.by_hour[0] = d.by_minute[0] = d.by_second[0] = d.by_set_pos[0] =
		ICAL_RECURRENCE_ARRAY_MAX;
	for (int i = 0; i < ICAL_BY_DAY_SIZE && d.by_day[i] != ICAL_RECURRENCE_ARRAY_MAX; i++)
		d.by_day[i] = (short)icalrecurrencetype_day_day_of_week(d.by_day[i]);
	st.hour = st.minute = st.second = 0;
	it = icalrecur_iterator_new(d, st);
	if (it == NULL) {
		DIAG(pc, loc, "RRULE: rule not supported");
		return;
	}
	struct icaltimetype t = icalrecur_iterator_next(it);
	icalrecur_iterator_free(it);
	if (icaltime_is_null_time(t))
		DIAG(pc, loc, "RRULE: rule never produces an instance");
	if (r.interval > 24 * 366)
		DIAG(pc, loc, "RRULE: INTERVAL too large for FREQ=HOURLY");
}

/* Whether the first instance rule `r` yields from `st` is `st` itself. */
static bool rule_starts_at(struct icalrecurrencetype r, struct icaltimetype st)
{
	st.zone = NULL;
	icalrecur_iterator *it = icalrecur_iterator_new(r, st);
	if (it == NULL)
		return true;
	struct icaltimetype t = icalrecur_iterator_next(it);
	icalrecur_iterator_free(it);
	return icaltime_is_null_time(t) ||
	       (t.year == st.year && t.month == st.month && t.day == st.day &&
		(st.is_date ||
		 (t.hour == st.hour && t.minute == st.minute && t.second == st.second)));
}

/* Checks the time properties of one VEVENT. */
static void check_times(struct parse_ctx *pc, icalcomponent *c, const char *loc, bool override)
{
	icalproperty *ds = icalcomponent_get_first_property(c, ICAL_DTSTART_PROPERTY);
	icalproperty *de = icalcomponent_get_first_property(c, ICAL_DTEND_PROPERTY);
	icalproperty *du = icalcomponent_get_first_property(c, ICAL_DURATION_PROPERTY);
	struct icaltimetype st = icaltime_null_time();

	if (ds == NULL) {
		if (!override)
			DIAG(pc, loc, "missing DTSTART");
	} else {
		st = icalproperty_get_dtstart(ds);
		if (icaltime_is_null_time(st) || !icaltime_is_valid_time(st))
			DIAG(pc, loc, "DTSTART: invalid time");
		else if (!fix_zone(&pc->zc, ds, &st))
			DIAG(pc, loc, "DTSTART: unknown TZID");
		else if (st.year < 1900 || st.year > 2200)
			DIAG(pc, loc, "DTSTART: year out of range 1900..2200");
	}
	if (de != NULL && du != NULL)
		DIAG(pc, loc, "both DTEND and DURATION");
	if (de != NULL) {
		struct icaltimetype et = icalproperty_get_dtend(de);
		if (icaltime_is_null_time(et) || !icaltime_is_valid_time(et))
			DIAG(pc, loc, "DTEND: invalid time");
		else if (!fix_zone(&pc->zc, de, &et))
			DIAG(pc, loc, "DTEND: unknown TZID");
		else if (ds != NULL && !pc->bad) {
			if (et.is_date != st.is_date)
				DIAG(pc, loc, "DTEND and DTSTART differ in value type");
			else if (et.year > 2200 || time_ms(et) < time_ms(st))
				DIAG(pc, loc, "DTEND before DTSTART");
		}
	}
	if (du != NULL) {
		struct icaldurationtype d = icalproperty_get_duration(du);
		if (d.is_neg || icaldurationtype_is_bad_duration(d))
			DIAG(pc, loc, "DURATION: negative or invalid");
		else if (icaldurationtype_as_int(d) > 400 * 86400)
			DIAG(pc, loc, "DURATION longer than 400 days");
	}
	int nr = icalcomponent_count_properties(c, ICAL_RRULE_PROPERTY);
	if (nr > 1)
		DIAG(pc, loc, "more than one RRULE");
	if (nr == 1 && override)
		DIAG(pc, loc, "RRULE in an override (RECURRENCE-ID)");
	if (nr == 1 && ds != NULL) {
		icalproperty *rp = icalcomponent_get_first_property(c, ICAL_RRULE_PROPERTY);
		struct icalrecurrencetype r = icalproperty_get_rrule(rp);
		if (r.freq == ICAL_NO_RECURRENCE) {
			DIAG(pc, loc, "RRULE: invalid rule");
		} else if (r.freq == ICAL_SECONDLY_RECURRENCE ||
			   r.freq == ICAL_MINUTELY_RECURRENCE) {
			DIAG(pc, loc, "RRULE: FREQ=SECONDLY and MINUTELY are not supported");
		} else if (!pc->bad) {
			check_rule(pc, loc, r, st);
			if (!pc->bad && !rule_starts_at(r, st))
				warn(pc, loc,
				     "DTSTART does not match its RRULE: it is counted as the first "
				     "instance anyway (RFC 5545 3.8.5.3), as calendar programs "
				     "show "
				     "it");
		}
	}
	for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_RDATE_PROPERTY); p != NULL;
	     p = icalcomponent_get_next_property(c, ICAL_RDATE_PROPERTY)) {
		struct icaldatetimeperiodtype r = icalproperty_get_rdate(p);
		struct icaltimetype t = !icaltime_is_null_time(r.time) ? r.time : r.period.start;
		if (icaltime_is_null_time(t) || !icaltime_is_valid_time(t) || t.year < 1900 ||
		    t.year > 2200)
			DIAG(pc, loc, "RDATE: invalid value");
		else if (!fix_zone(&pc->zc, p, &t))
			DIAG(pc, loc, "RDATE: unknown TZID");
	}
	for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_EXDATE_PROPERTY); p != NULL;
	     p = icalcomponent_get_next_property(c, ICAL_EXDATE_PROPERTY)) {
		struct icaltimetype t = icalproperty_get_exdate(p);
		if (icaltime_is_null_time(t) || !icaltime_is_valid_time(t))
			DIAG(pc, loc, "EXDATE: invalid value");
		else if (!fix_zone(&pc->zc, p, &t))
			DIAG(pc, loc, "EXDATE: unknown TZID");
	}
	icalproperty *rid = icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY);
	if (rid != NULL) {
		struct icaltimetype t = icalproperty_get_recurrenceid(rid);
		icalparameter *rg = icalproperty_get_first_parameter(rid, ICAL_RANGE_PARAMETER);
		if (icaltime_is_null_time(t) || !icaltime_is_valid_time(t) || t.year < 1900 ||
		    t.year > 2200)
			DIAG(pc, loc, "RECURRENCE-ID: invalid value");
		else if (!fix_zone(&pc->zc, rid, &t))
			DIAG(pc, loc, "RECURRENCE-ID: unknown TZID");
		if (rg != NULL && icalparameter_get_range(rg) == ICAL_RANGE_THISANDFUTURE)
			DIAG(pc, loc, "RECURRENCE-ID;RANGE=THISANDFUTURE is not supported");
	}
}

/*
 * The property an X-LIC-ERROR message is about ("No value for LOCATION property. ...",
 * "Can't parse as RECUR value in RRULE property. ..."), copied to `name`; false when the
 * message names none.  libical says "X" for any X- property.
 */
static bool error_property(const char *msg, char *name, size_t size)
{
	const char *end = msg != NULL ? strstr(msg, " property") : NULL;
	if (end == NULL || end == msg)
		return false;
	const char *start = end;
	while (start > msg && start[-1] != ' ')
		start--;
	size_t n = (size_t)(end - start);
	if (n == 0 || n >= size)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isupper((unsigned char)start[i]) && start[i] != '-')
			return false;
	memcpy(name, start, n);
	name[n] = '\0';
	return true;
}

/*
 * Whether a broken property `name` of a VEVENT makes the event unusable: the ones that
 * say when it happens, which event it is, and (in Transom's own files) what it is.
 * Anything else (an empty LOCATION, DESCRIPTION, URL, an unknown X- property) is left
 * out with a warning: libical has already dropped it.
 */
static bool fatal_property(const struct parse_ctx *pc, const char *name)
{
	static const char *const fatal[] = {"DTSTART", "DTEND",  "DURATION",      "RRULE",
					    "RDATE",   "EXDATE", "RECURRENCE-ID", "UID",
					    "STATUS",  "EXRULE"};
	for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
		if (strcmp(name, fatal[i]) == 0)
			return true;
	return pc->as_kind == CAL_NONE && strcmp(name, "CATEGORIES") == 0;
}

/*
 * Reports every X-LIC-ERROR of `c` (`loc` names it).  When `used` (a VEVENT or the
 * VCALENDAR), an error about a property that matters (fatal_property) or that names no
 * property is an error, the others are warnings; when not (a VALARM, of which Transom
 * reads nothing), all are warnings, prefixed with the component's name.
 */
static void report_errors(struct parse_ctx *pc, icalcomponent *c, const char *loc, bool used)
{
	for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY);
	     p != NULL; p = icalcomponent_get_next_property(c, ICAL_XLICERROR_PROPERTY)) {
		const char *msg = icalproperty_get_xlicerror(p);
		char name[64] = "a property";
		bool named = error_property(msg, name, sizeof name);
		if (msg == NULL || (used && (!named || fatal_property(pc, name)))) {
			DIAG(pc, loc, "parse error: %.300s", msg != NULL ? msg : "unknown");
			continue;
		}
		/* "No value for LOCATION property. Removing entire property: " */
		const char *cut = strstr(msg, ". Removing entire property");
		int n = cut != NULL ? (int)(cut - msg) : (int)strlen(msg);
		warn(pc, loc, "%s%s%s left out: %.*s",
		     used ? "" : icalcomponent_kind_to_string(icalcomponent_isa(c)),
		     used ? "" : " ", strcmp(name, "X") == 0 ? "X-property" : name,
		     n > 300 ? 300 : n, msg);
	}
}

/* Reports every X-LIC-ERROR of `c` and its children as an error; `loc` names `c`. */
static void report_errors_strict(struct parse_ctx *pc, icalcomponent *c, const char *loc)
{
	for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY);
	     p != NULL; p = icalcomponent_get_next_property(c, ICAL_XLICERROR_PROPERTY)) {
		const char *msg = icalproperty_get_xlicerror(p);
		DIAG(pc, loc, "parse error: %.300s", msg != NULL ? msg : "unknown");
	}
	for (icalcomponent *k = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); k != NULL;
	     k = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT))
		report_errors_strict(pc, k, loc);
}

/* A VEVENT's X-LIC-ERRORs as report_errors() says, its VALARMs' as warnings. */
static void report_event_errors(struct parse_ctx *pc, icalcomponent *c, const char *loc)
{
	report_errors(pc, c, loc, true);
	for (icalcomponent *k = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); k != NULL;
	     k = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT))
		report_errors(pc, k, loc, false);
}

static void set_free_locked(struct cal_set *set);

/*
 * Copies text[0..len) with its folds removed (RFC 5545 3.1: a line break followed by a
 * space or tab), NUL-terminated; *out_len is the copy's length.  NULL on out of memory.
 */
static char *unfold(const char *text, size_t len, size_t *out_len)
{
	char *buf = malloc(len + 1);
	size_t n = 0;
	if (buf == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		size_t brk = text[i] == '\r' && i + 1 < len && text[i + 1] == '\n' ? 2
			     : text[i] == '\n'                                     ? 1
										   : 0;
		if (brk > 0 && i + brk < len && (text[i + brk] == ' ' || text[i + brk] == '\t')) {
			i += brk; /* the break and the one space or tab after it */
			continue;
		}
		buf[n++] = text[i];
	}
	buf[n] = '\0';
	*out_len = n;
	return buf;
}

/*
 * Chooses the zone of floating times and dates: zones->calendar, else the file's
 * X-WR-TIMEZONE, else zones->site, else UTC (NULL).  An unknown configured zone is an
 * error, an unknown X-WR-TIMEZONE a warning.
 */
static icaltimezone *floating_zone(struct parse_ctx *pc, const struct cal_zones *zones)
{
	const char *names[2] = {zones != NULL ? zones->calendar : NULL,
				zones != NULL ? zones->site : NULL};
	int count;
	icalproperty *wr = x_prop(pc->root, "X-WR-TIMEZONE", &count);
	const char *declared = wr != NULL ? prop_text(wr) : NULL;
	for (int i = 0; i < 2; i++) {
		if (names[i] != NULL && *names[i] != '\0' && builtin_zone(names[i]) == NULL)
			DIAG(pc, "", "unknown time zone '%.64s' configured for this calendar",
			     names[i]);
	}
	if (names[0] != NULL && *names[0] != '\0')
		return builtin_zone(names[0]);
	if (declared != NULL && *declared != '\0') {
		icaltimezone *z = builtin_zone(declared);
		if (z != NULL)
			return z;
		warn(pc, "VCALENDAR",
		     "X-WR-TIMEZONE '%.64s' is not a known zone: floating times and all-day "
		     "events are read in %s",
		     declared, names[1] != NULL && *names[1] != '\0' ? names[1] : "UTC");
	}
	if (names[1] != NULL && *names[1] != '\0')
		return builtin_zone(names[1]);
	return NULL;
}

static struct cal_set *parse_locked(const char *file, const char *text, size_t len,
				    const struct cal_zones *zones, struct diags *diags,
				    const struct parse_ctx *as)
{
	struct parse_ctx pc = {file, diags, NULL, false, {NULL, NULL}, NULL, CAL_NONE, false, NULL};
	if (as != NULL) {
		pc.as_kind = as->as_kind;
		pc.as_hard = as->as_hard;
		pc.as_services = as->as_services;
	}
	char loc[300];

	if (memchr(text, '\0', len) != NULL) {
		DIAG(&pc, "", "NUL byte in calendar text");
		return NULL;
	}
	/* RFC 5545 3.1: unfold, then decode (a fold may split a UTF-8 sequence) */
	size_t ulen = 0;
	char *buf = unfold(text, len, &ulen);
	if (buf == NULL) {
		diags->oom = true;
		return NULL;
	}
	if (!utf8_valid((const unsigned char *)buf, ulen)) {
		free(buf);
		DIAG(&pc, "", "calendar text is not valid UTF-8");
		return NULL;
	}
	icalcomponent *root = icalparser_parse_string(buf);
	free(buf);
	if (root == NULL) {
		DIAG(&pc, "", "not an iCalendar text");
		return NULL;
	}
	if (icalcomponent_isa(root) != ICAL_VCALENDAR_COMPONENT) {
		DIAG(&pc, "", "expected exactly one VCALENDAR");
		icalcomponent_free(root);
		return NULL;
	}
	pc.root = root;

	struct cal_set *set = calloc(1, sizeof *set);
	size_t nev = (size_t)icalcomponent_count_components(root, ICAL_VEVENT_COMPONENT);
	if (set == NULL || (nev > 0 && (set->ev = calloc(nev, sizeof *set->ev)) == NULL)) {
		free(set);
		icalcomponent_free(root);
		diags->oom = true;
		return NULL;
	}
	set->root = root;
	pc.warnings = set->warnings = json_array();
	pc.zc.root = root;
	pc.zc.floating = floating_zone(&pc, zones);
	set->zc = pc.zc;

	report_errors(&pc, root, "VCALENDAR", true);
	size_t ti = 0;
	for (icalcomponent *k = icalcomponent_get_first_component(root, ICAL_ANY_COMPONENT);
	     k != NULL; k = icalcomponent_get_next_component(root, ICAL_ANY_COMPONENT)) {
		if (icalcomponent_isa(k) == ICAL_VTIMEZONE_COMPONENT) {
			snprintf(loc, sizeof loc, "VTIMEZONE[%zu]", ti++);
			report_errors_strict(&pc, k, loc);
		}
	}

	size_t i = 0;
	for (icalcomponent *c = icalcomponent_get_first_component(root, ICAL_VEVENT_COMPONENT);
	     c != NULL && i < nev;
	     c = icalcomponent_get_next_component(root, ICAL_VEVENT_COMPONENT), i++) {
		struct cal_event *e = &set->ev[set->n++];
		const char *uid = icalcomponent_get_uid(c);
		bool was_bad = pc.bad;
		pc.bad = false;
		loc_of(loc, sizeof loc, i, uid);
		e->comp = c;
		e->master = -1;
		e->is_override =
			icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY) != NULL;
		report_event_errors(&pc, c, loc);
		if (uid == NULL || *uid == '\0')
			DIAG(&pc, loc, "missing UID");
		else if ((e->uid = strdup(uid)) == NULL)
			diags->oom = true;
		e->cancelled = icalcomponent_get_status(c) == ICAL_STATUS_CANCELLED;
		icalproperty *dtstart = icalcomponent_get_first_property(c, ICAL_DTSTART_PROPERTY);
		icalparameter *tzp =
			dtstart ? icalproperty_get_first_parameter(dtstart, ICAL_TZID_PARAMETER)
				: NULL;
		const char *tzid = tzp ? icalparameter_get_tzid(tzp) : NULL;
		if (builtin_zone(tzid) != NULL)
			e->tzid = strdup(tzid);
		else if (tzid == NULL && pc.zc.floating != NULL &&
			 icaltimezone_get_location(pc.zc.floating) != NULL)
			e->tzid = strdup(icaltimezone_get_location(pc.zc.floating));
		parse_meta(&pc, c, loc, &e->meta);
		if (pc.as_kind != CAL_NONE) {
			/* A foreign calendar (holidays, a finance close): its own categories
			 * and X- properties mean nothing here. */
			char *summary = e->meta.summary;
			e->meta.summary = NULL;
			meta_clear(&e->meta);
			e->meta.summary = summary;
			e->meta.capacity = 0;
			e->meta.hard = e->is_override ? -1 : pc.as_hard;
			e->meta.kind = e->is_override ? CAL_NONE : pc.as_kind;
			e->meta.services = e->is_override ? NULL : json_incref(pc.as_services);
			e->meta.envs = NULL;
		}
		if (!pc.bad)
			check_times(&pc, c, loc, e->is_override);
		if (!e->is_override) {
			if (e->meta.kind == CAL_NONE)
				DIAG(&pc, loc,
				     "unknown category: CATEGORIES must contain "
				     "MAINTENANCE-WINDOW, FREEZE or CAB-MEETING");
			if (e->meta.services == NULL && e->meta.kind != CAL_MEETING)
				DIAG(&pc, loc, "missing X-TRANSOM-SERVICES");
		}
		enum cal_kind kind = e->meta.kind;
		if ((kind == CAL_WINDOW || kind == CAL_MEETING) && e->meta.hard >= 0)
			DIAG(&pc, loc, "X-TRANSOM-HARDNESS applies to freezes only");
		if ((kind == CAL_FREEZE || kind == CAL_MEETING) && e->meta.capacity > 0)
			DIAG(&pc, loc, "X-TRANSOM-CAPACITY applies to windows only");
		pc.bad = pc.bad || was_bad;
	}

	/* masters: unique UIDs; overrides: a master of the same UID */
	for (size_t a = 0; a < set->n && !pc.bad; a++) {
		struct cal_event *e = &set->ev[a];
		loc_of(loc, sizeof loc, a, e->uid);
		for (size_t b = 0; b < set->n; b++) {
			struct cal_event *f = &set->ev[b];
			if (b == a || f->is_override || strcmp(f->uid, e->uid) != 0)
				continue;
			if (!e->is_override && b < a)
				DIAG(&pc, loc, "duplicate UID (also VEVENT[%zu])", b);
			else if (e->is_override)
				e->master = (long)b;
		}
		if (e->is_override && e->master < 0)
			DIAG(&pc, loc, "RECURRENCE-ID without a master event of the same UID");
		if (e->is_override && e->master >= 0) {
			enum cal_kind mk = set->ev[e->master].meta.kind;
			if (e->meta.kind != CAL_NONE && e->meta.kind != mk)
				DIAG(&pc, loc, "override changes the category of its master");
			if ((mk == CAL_WINDOW || mk == CAL_MEETING) && e->meta.hard >= 0)
				DIAG(&pc, loc, "X-TRANSOM-HARDNESS applies to freezes only");
			if ((mk == CAL_FREEZE || mk == CAL_MEETING) && e->meta.capacity > 0)
				DIAG(&pc, loc, "X-TRANSOM-CAPACITY applies to windows only");
		}
	}
	if (pc.bad || diags->oom) {
		set_free_locked(set);
		return NULL;
	}
	return set;
}

/*
 * Parsing runs under the module lock too: it may load libical builtin zones (a shared
 * cache whose concurrent first loads have raced) and reads zones other sets share.
 */
struct cal_set *cal_parse(const char *file, const char *text, size_t len, struct diags *diags)
{
	return cal_parse_in(file, text, len, NULL, diags);
}

struct cal_set *cal_parse_in(const char *file, const char *text, size_t len,
			     const struct cal_zones *zones, struct diags *diags)
{
	pthread_mutex_lock(&cal_lock);
	struct cal_set *set = parse_locked(file, text, len, zones, diags, NULL);
	pthread_mutex_unlock(&cal_lock);
	return set;
}

struct cal_set *cal_parse_as(const char *file, const char *text, size_t len, enum cal_as as,
			     bool hard, json_t *services, const struct cal_zones *zones,
			     struct diags *diags)
{
	struct parse_ctx opts = {.as_kind = as == CAL_AS_WINDOW ? CAL_WINDOW : CAL_FREEZE,
				 .as_hard = hard,
				 .as_services = services};
	if (!json_is_array(services) && !json_is_string(services)) {
		diags_add(diags, file, "", 0, "services must be \"*\" or a list");
		return NULL;
	}
	pthread_mutex_lock(&cal_lock);
	struct cal_set *set = parse_locked(file, text, len, zones, diags, &opts);
	pthread_mutex_unlock(&cal_lock);
	return set;
}

static void set_free_locked(struct cal_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++) {
		free(set->ev[i].uid);
		free(set->ev[i].tzid);
		meta_clear(&set->ev[i].meta);
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
	set_free_locked(set);
	pthread_mutex_unlock(&cal_lock);
}

json_t *cal_warnings(const struct cal_set *set)
{
	return set != NULL ? set->warnings : NULL;
}

bool cal_zone_known(const char *tzid)
{
	pthread_mutex_lock(&cal_lock);
	bool known = builtin_zone(tzid) != NULL;
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

/* ---- expansion ----------------------------------------------------------------------- */

struct inst {
	long long start, end, rid; /* ms; rid = original start */
	size_t ev;                 /* the event whose properties apply (override or master) */
	bool recurring;
};

struct inst_vec {
	struct inst *v;
	size_t n, cap;
	bool oom;
};

static void inst_push(struct inst_vec *iv, struct inst in)
{
	if (iv->n == iv->cap) {
		size_t cap = iv->cap ? iv->cap * 2 : 64;
		struct inst *v = realloc(iv->v, cap * sizeof *v);
		if (v == NULL) {
			iv->oom = true;
			return;
		}
		iv->v = v;
		iv->cap = cap;
	}
	iv->v[iv->n++] = in;
}

/* How long each instance of `c` lasts: nominal days plus exact seconds. */
struct span {
	int days;
	long long secs;
};

static struct span event_span(const struct zctx *zc, icalcomponent *c, struct icaltimetype st)
{
	struct span sp = {0, 0};
	icalproperty *de = icalcomponent_get_first_property(c, ICAL_DTEND_PROPERTY);
	icalproperty *du = icalcomponent_get_first_property(c, ICAL_DURATION_PROPERTY);
	if (de != NULL) {
		struct icaltimetype et = icalproperty_get_dtend(de);
		(void)fix_zone(zc, de, &et);
		if (st.is_date)
			sp.days = (int)(time_days_from_civil(et.year, et.month, et.day) -
					time_days_from_civil(st.year, st.month, st.day));
		else
			sp.secs = (time_ms(et) - time_ms(st)) / 1000;
	} else if (du != NULL) {
		struct icaldurationtype d = icalproperty_get_duration(du);
		sp.days = (int)(d.weeks * 7 + d.days);
		sp.secs = d.hours * 3600LL + d.minutes * 60LL + d.seconds;
	} else if (st.is_date) {
		sp.days = 1;
	}
	if (sp.days < 0)
		sp.days = 0;
	if (sp.secs < 0)
		sp.secs = 0;
	return sp;
}

static long long end_of(struct icaltimetype t, struct span sp)
{
	if (sp.days > 0)
		icaltime_adjust(&t, sp.days, 0, 0, 0);
	return time_ms(t) + sp.secs * 1000;
}

static bool overlaps(long long s, long long e, long long from, long long to)
{
	if (e == s)
		return s >= from && s < to;
	return s < to && e > from;
}

/* Whether start `ms` (local date `t`) is excluded by an EXDATE of `c`. */
static bool excluded(const struct zctx *zc, icalcomponent *c, struct icaltimetype t, long long ms)
{
	for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_EXDATE_PROPERTY); p != NULL;
	     p = icalcomponent_get_next_property(c, ICAL_EXDATE_PROPERTY)) {
		struct icaltimetype x = icalproperty_get_exdate(p);
		(void)fix_zone(zc, p, &x);
		if (x.is_date && !t.is_date) {
			if (x.year == t.year && x.month == t.month && x.day == t.day)
				return true;
		} else if (time_ms(x) == ms) {
			return true;
		}
	}
	return false;
}

/* Whether an override of master `mi` replaces the instance starting at `ms`. */
static bool overridden(const struct cal_set *set, size_t mi, long long ms)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct cal_event *o = &set->ev[i];
		if (o->master != (long)mi)
			continue;
		icalproperty *rp =
			icalcomponent_get_first_property(o->comp, ICAL_RECURRENCEID_PROPERTY);
		struct icaltimetype r = icalproperty_get_recurrenceid(rp);
		(void)fix_zone(&set->zc, rp, &r);
		if (time_ms(r) == ms)
			return true;
	}
	return false;
}

/* Adds the instance at local start `t` of master `mi` when it is kept and in range. */
static void add_master(const struct cal_set *set, size_t mi, struct icaltimetype t,
		       long long end_override, struct span sp, long long from, long long to,
		       bool recurring, struct inst_vec *iv, size_t *count)
{
	icalcomponent *c = set->ev[mi].comp;
	long long s = time_ms(t);
	long long e = end_override >= 0 ? end_override : end_of(t, sp);
	if (e < s)
		e = s;
	if (!overlaps(s, e, from, to))
		return;
	for (size_t i = 0; i < iv->n; i++) /* RDATE equal to an RRULE instance: once */
		if (iv->v[i].ev == mi && iv->v[i].rid == s)
			return;
	if (excluded(&set->zc, c, t, s) || overridden(set, mi, s))
		return;
	inst_push(iv, (struct inst){s, e, s, mi, recurring});
	(*count)++;
}

/* The floating wall time of `ms` in `zone` (NULL: UTC). */
static struct icaltimetype wall_of(long long ms, icaltimezone *zone)
{
	long long secs = ms / 1000;
	if (zone != NULL && zone != icaltimezone_get_utc_timezone())
		secs += offset_at_utc(zone, secs);
	struct icaltimetype t = icaltime_from_timet_with_zone((time_t)secs, 0, NULL);
	t.zone = NULL;
	return t;
}

/*
 * A recurrence iterator over the wall times of `*st`.  libical 3.0.16 normalizes zoned
 * times inside the iterator, so a gap instance (01:30 on the spring-forward day) becomes
 * 02:30 and drags the next day's instance with it; iterating floating wall times avoids
 * that.  A UTC UNTIL is then converted to the zone's wall time.  *st loses its zone
 * (UTC stays UTC).
 */
static icalrecur_iterator *rrule_iterator(struct icalrecurrencetype *r, struct icaltimetype *st)
{
	icaltimezone *z = (icaltimezone *)st->zone;
	if (z != NULL && z != icaltimezone_get_utc_timezone()) {
		st->zone = NULL;
		if (!icaltime_is_null_time(r->until) && !r->until.is_date &&
		    icaltime_is_utc(r->until)) {
			struct icaltimetype u = r->until;
			u.zone = icaltimezone_get_utc_timezone();
			r->until = wall_of(time_ms(u), z);
		}
	}
	return icalrecur_iterator_new(*r, *st);
}

/* Wall seconds (rrule_weekly.h) of the wall time `t`, its zone ignored. */
static long long wall_secs(struct icaltimetype t)
{
	long long s = time_days_from_civil(t.year, t.month, t.day) * 86400LL;
	return t.is_date ? s : s + t.hour * 3600LL + t.minute * 60LL + t.second;
}

/*
 * Expands the FREQ=WEEKLY rule `r` of master `mi` (DTSTART `st`) with rrule_weekly.c,
 * which rw_from_ical() chose over libical's iterator (see rrule_weekly.h).  A UTC UNTIL is
 * converted to DTSTART's wall time; a DATE UNTIL of a DATE-TIME rule ends with its day.
 */
static void expand_weekly(const struct cal_set *set, size_t mi, struct icaltimetype st,
			  struct rw_rule *wr, struct icalrecurrencetype r, struct span sp,
			  long long from, long long to, size_t cap, long long span_ms,
			  struct inst_vec *iv, size_t *count)
{
	icaltimezone *z = (icaltimezone *)st.zone;
	if (!icaltime_is_null_time(r.until)) {
		struct icaltimetype u = r.until;
		if (!u.is_date && icaltime_is_utc(u)) {
			u.zone = icaltimezone_get_utc_timezone();
			u = wall_of(time_ms(u), z);
		}
		wr->has_until = true;
		wr->until = wall_secs(u) + (u.is_date && !st.is_date ? 86399 : 0);
	}
	long long skip_to = from - span_ms - DAY_MS, skip = LLONG_MIN;
	if (skip_to > time_ms(st))
		skip = wall_secs(wall_of(skip_to, z));
	struct rw_iter it;
	rw_begin(&it, wr, wall_secs(st), skip);
	long long w;
	for (long steps = 0; steps < MAX_STEPS && *count < cap && !iv->oom && rw_next(&it, &w);
	     steps++) {
		struct icaltimetype t = st;
		long long day = w >= 0 ? w / 86400 : (w - 86399) / 86400, sec = w - day * 86400;
		int y, m, d;
		time_civil_from_days(day, &y, &m, &d);
		t.year = y;
		t.month = m;
		t.day = d;
		if (!t.is_date) {
			t.hour = (int)(sec / 3600);
			t.minute = (int)(sec / 60 % 60);
			t.second = (int)(sec % 60);
		}
		if (t.year > 2200 || time_ms(t) >= to)
			break;
		add_master(set, mi, t, -1, sp, from, to, true, iv, count);
	}
}

/*
 * Expands master `mi` by its RRULE `r` through libical's iterator (every rule shape but
 * the weekly ones of rrule_weekly.c), DTSTART included.  False when libical cannot iterate
 * the rule (nothing added).
 */
static bool expand_rrule(const struct cal_set *set, size_t mi, struct icaltimetype st,
			 struct icalrecurrencetype r, struct span sp, long long from, long long to,
			 size_t cap, long long span_ms, struct inst_vec *iv, size_t *count)
{
	/* RFC 5545 3.8.5.3: DTSTART counts as the first instance, within COUNT too, even
	 * when the rule does not produce it; libical then yields COUNT others */
	bool off_rule = !rule_starts_at(r, st);
	bool only_dtstart = off_rule && r.count == 1;
	if (off_rule && r.count > 1)
		r.count--;
	if (!only_dtstart) {
		struct icaltimetype wst = st;
		icalrecur_iterator *it = rrule_iterator(&r, &wst);
		if (it == NULL)
			return false;
		/* skip far ahead when the rule allows it (no COUNT) */
		long long skip_to = from - span_ms - DAY_MS;
		if (r.count == 0 && skip_to - time_ms(st) > 40 * DAY_MS) {
			struct icaltimetype s2 = wall_of(skip_to, (icaltimezone *)st.zone);
			s2.zone = wst.zone;
			s2.is_date = st.is_date;
			(void)icalrecur_iterator_set_start(it, s2);
		}
		for (long steps = 0; steps < MAX_STEPS && *count < cap && !iv->oom; steps++) {
			struct icaltimetype t = icalrecur_iterator_next(it);
			if (icaltime_is_null_time(t))
				break;
			t.zone = st.zone;
			if (icaltime_is_utc(st))
				t.zone = icaltimezone_get_utc_timezone();
			if (t.year > 2200 || time_ms(t) >= to)
				break;
			add_master(set, mi, t, -1, sp, from, to, true, iv, count);
		}
		icalrecur_iterator_free(it);
	}
	/* RFC 5545 3.8.5.3: DTSTART is the first instance even when the rule does not
	 * produce it (libical drops it); add_master() keeps it once */
	if (*count < cap)
		add_master(set, mi, st, -1, sp, from, to, true, iv, count);
	return true;
}

static void expand_master(const struct cal_set *set, size_t mi, long long from, long long to,
			  size_t cap, struct inst_vec *iv)
{
	icalcomponent *c = set->ev[mi].comp;
	icalproperty *ds = icalcomponent_get_first_property(c, ICAL_DTSTART_PROPERTY);
	struct icaltimetype st = icalproperty_get_dtstart(ds);
	(void)fix_zone(&set->zc, ds, &st);
	struct span sp = event_span(&set->zc, c, st);
	long long span_ms = (sp.days * 86400LL + 3600 * 2 + sp.secs) * 1000; /* +2 h: DST slack */
	icalproperty *rr = icalcomponent_get_first_property(c, ICAL_RRULE_PROPERTY);
	bool recurring =
		rr != NULL || icalcomponent_get_first_property(c, ICAL_RDATE_PROPERTY) != NULL;
	size_t count = 0;

	if (rr == NULL) {
		add_master(set, mi, st, -1, sp, from, to, recurring, iv, &count);
	} else {
		struct icalrecurrencetype r = icalproperty_get_rrule(rr);
		struct rw_rule wr;
		if (rw_from_ical(&r, &wr))
			expand_weekly(set, mi, st, &wr, r, sp, from, to, cap, span_ms, iv, &count);
		else if (!expand_rrule(set, mi, st, r, sp, from, to, cap, span_ms, iv, &count))
			return;
	}
	/* collected first: add_master() walks EXDATEs, which resets the component's one
	 * property iterator */
	size_t nrd = (size_t)icalcomponent_count_properties(c, ICAL_RDATE_PROPERTY), k = 0;
	icalproperty **rds = nrd > 0 ? calloc(nrd, sizeof *rds) : NULL;
	if (nrd > 0 && rds == NULL) {
		iv->oom = true;
		return;
	}
	for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_RDATE_PROPERTY);
	     p != NULL && k < nrd; p = icalcomponent_get_next_property(c, ICAL_RDATE_PROPERTY))
		rds[k++] = p;
	for (size_t j = 0; j < k && count < cap; j++) {
		icalproperty *p = rds[j];
		struct icaldatetimeperiodtype rd = icalproperty_get_rdate(p);
		long long end = -1;
		struct icaltimetype t = rd.time;
		if (icaltime_is_null_time(t)) {
			t = rd.period.start;
			struct icaltimetype pe = rd.period.end;
			(void)fix_zone(&set->zc, p, &t);
			if (!icaltime_is_null_time(pe)) {
				(void)fix_zone(&set->zc, p, &pe);
				end = time_ms(pe);
			} else {
				struct span ps = {0, 0};
				ps.days = rd.period.duration.weeks * 7 + rd.period.duration.days;
				ps.secs = rd.period.duration.hours * 3600LL +
					  rd.period.duration.minutes * 60LL +
					  rd.period.duration.seconds;
				end = end_of(t, ps);
			}
		} else {
			(void)fix_zone(&set->zc, p, &t);
		}
		add_master(set, mi, t, end, sp, from, to, true, iv, &count);
	}
	free(rds);
}

static void expand_override(const struct cal_set *set, size_t oi, long long from, long long to,
			    struct inst_vec *iv)
{
	const struct cal_event *o = &set->ev[oi];
	const struct cal_event *m = &set->ev[o->master];
	if (o->cancelled || m->cancelled)
		return;
	icalproperty *rp = icalcomponent_get_first_property(o->comp, ICAL_RECURRENCEID_PROPERTY);
	struct icaltimetype rid = icalproperty_get_recurrenceid(rp);
	(void)fix_zone(&set->zc, rp, &rid);
	icalproperty *ds = icalcomponent_get_first_property(o->comp, ICAL_DTSTART_PROPERTY);
	struct icaltimetype st = rid;
	struct span sp;
	if (ds != NULL) {
		st = icalproperty_get_dtstart(ds);
		(void)fix_zone(&set->zc, ds, &st);
	}
	bool own_end = icalcomponent_get_first_property(o->comp, ICAL_DTEND_PROPERTY) != NULL ||
		       icalcomponent_get_first_property(o->comp, ICAL_DURATION_PROPERTY) != NULL;
	if (own_end) {
		sp = event_span(&set->zc, o->comp, st);
	} else {
		icalproperty *mds =
			icalcomponent_get_first_property(m->comp, ICAL_DTSTART_PROPERTY);
		struct icaltimetype mst = icalproperty_get_dtstart(mds);
		(void)fix_zone(&set->zc, mds, &mst);
		sp = event_span(&set->zc, m->comp, mst);
	}
	long long s = time_ms(st), e = end_of(st, sp);
	if (e < s)
		e = s;
	if (overlaps(s, e, from, to))
		inst_push(iv, (struct inst){s, e, time_ms(rid), oi, true});
}

static int inst_cmp(const void *pa, const void *pb, void *cls)
{
	const struct inst *a = pa, *b = pb;
	const struct cal_set *set = cls;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	int c = strcmp(set->ev[a->ev].uid, set->ev[b->ev].uid);
	if (c != 0)
		return c;
	if (a->end != b->end)
		return a->end < b->end ? -1 : 1;
	return 0;
}

/* The properties of instance `in`: the override's, else its master's, with defaults. */
struct inst_props {
	const struct cal_event *m; /* the master */
	const char *kind_name;
	enum cal_inst_kind kind;
	int hard;
	long capacity;
	json_t *services; /* borrowed; NULL: "*" */
	json_t *envs;     /* borrowed; NULL: production */
	const char *summary;
	const char *tzid;
};

static void inst_props(const struct cal_set *set, const struct inst *in, struct inst_props *pr)
{
	const struct cal_event *e = &set->ev[in->ev];
	const struct cal_event *m = e->is_override ? &set->ev[e->master] : e;
	enum cal_kind kind = m->meta.kind;
	int hard = e->meta.hard >= 0 ? e->meta.hard : m->meta.hard;
	long capacity = e->meta.capacity > 0 ? e->meta.capacity : m->meta.capacity;
	const char *summary = e->meta.summary != NULL ? e->meta.summary : m->meta.summary;

	pr->m = m;
	pr->services = e->meta.services != NULL ? e->meta.services : m->meta.services;
	pr->envs = e->meta.envs != NULL ? e->meta.envs : m->meta.envs;
	pr->summary = summary != NULL ? summary : "";
	pr->tzid = e->tzid ? e->tzid : m->tzid;
	pr->kind_name = "freeze";
	pr->kind = CAL_INST_FREEZE;
	if (kind == CAL_WINDOW) {
		pr->kind_name = "window";
		pr->kind = CAL_INST_WINDOW;
		hard = 1;
		if (capacity <= 0)
			capacity = 1;
	} else if (kind == CAL_MEETING) {
		pr->kind_name = "meeting";
		pr->kind = CAL_INST_MEETING;
		hard = 0;
		capacity = 0;
	} else {
		if (hard < 0)
			hard = 1;
		capacity = 0;
	}
	pr->hard = hard;
	pr->capacity = capacity;
}

static json_t *inst_json(const struct cal_set *set, const struct inst *in)
{
	struct inst_props pr;
	char sb[40], eb[40], rb[40];

	inst_props(set, in, &pr);
	/* meetings without X-TRANSOM-SERVICES concern every service */
	json_t *svc = pr.services != NULL ? json_incref(pr.services) : json_string("*");
	rfc3339(in->start, sb, sizeof sb);
	rfc3339(in->end, eb, sizeof eb);
	rfc3339(in->rid, rb, sizeof rb);
	/* windows and freezes without X-TRANSOM-ENVIRONMENTS concern production only */
	json_t *env = pr.envs != NULL ? json_incref(pr.envs) : json_pack("[s]", "production");
	return json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:I, s:I, s:I, s:s, s:s, s:o, s:s?}",
			 "uid", pr.m->uid, "summary", pr.summary, "kind", pr.kind_name, "hard",
			 pr.hard, "services", svc, "environments", env, "capacity",
			 (json_int_t)pr.capacity, "start_ms", (json_int_t)in->start, "end_ms",
			 (json_int_t)in->end, "start", sb, "end", eb, "recurrence_id",
			 in->recurring ? json_string(rb) : json_null(), "tzid", pr.tzid);
}

/* Collects the instances of `set` in [from_ms, to_ms), sorted; false on out of memory. */
static bool collect(const struct cal_set *set, long long from_ms, long long to_ms, size_t cap,
		    struct inst_vec *iv)
{
	if (set == NULL || to_ms <= from_ms)
		return true;
	if (cap == 0 || cap > CAL_CAP_DEFAULT)
		cap = CAL_CAP_DEFAULT;
	if (to_ms - from_ms > CAL_HORIZON_MS)
		to_ms = from_ms + CAL_HORIZON_MS;

	pthread_mutex_lock(&cal_lock);
	for (size_t i = 0; i < set->n && !iv->oom; i++) {
		const struct cal_event *e = &set->ev[i];
		if (e->is_override)
			expand_override(set, i, from_ms, to_ms, iv);
		else if (!e->cancelled)
			expand_master(set, i, from_ms, to_ms, cap, iv);
	}
	pthread_mutex_unlock(&cal_lock);

	if (!iv->oom && iv->n > 1)
		qsort_r(iv->v, iv->n, sizeof *iv->v, inst_cmp, (void *)set);
	return !iv->oom;
}

json_t *cal_expand(const struct cal_set *set, long long from_ms, long long to_ms, size_t cap)
{
	struct inst_vec iv = {0};
	json_t *out = json_array();

	if (out == NULL)
		return NULL;
	collect(set, from_ms, to_ms, cap, &iv);
	for (size_t i = 0; i < iv.n && !iv.oom; i++) {
		json_t *j = inst_json(set, &iv.v[i]);
		if (j == NULL || json_array_append_new(out, j) != 0)
			iv.oom = true;
	}
	free(iv.v);
	if (iv.oom) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/*
 * The names of `list` (a JSON array of strings, or NULL for the one name `dflt`) in one
 * owned block at *names (NULL with *n 0 for a JSON string such as "*").  False on out of
 * memory.
 */
static bool names_of(json_t *list, const char *dflt, const char ***names, size_t *n)
{
	size_t cap = list == NULL ? 1 : json_array_size(list);

	*names = NULL;
	*n = 0;
	if (list != NULL && !json_is_array(list))
		return true;
	if (cap == 0)
		cap = 1;
	*names = malloc(cap * sizeof **names);
	if (*names == NULL)
		return false;
	if (list == NULL) {
		(*names)[(*n)++] = dflt;
		return true;
	}
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
		if (json_is_string(v))
			(*names)[(*n)++] = json_string_value(v);
	return true;
}

static bool inst_struct(const struct cal_set *set, const struct inst *in, struct cal_instance *ci)
{
	struct inst_props pr;

	inst_props(set, in, &pr);
	*ci = (struct cal_instance){
		.uid = pr.m->uid,
		.summary = pr.summary,
		.kind = pr.kind,
		.hard = pr.hard != 0,
		.capacity = pr.capacity,
		.start_ms = in->start,
		.end_ms = in->end,
		.recurrence_ms = in->rid,
		.recurring = in->recurring,
		.tzid = pr.tzid,
	};
	/* no services: "*", every service; no environments: production only */
	if ((pr.services != NULL && !names_of(pr.services, NULL, &ci->services, &ci->n_services)) ||
	    !names_of(pr.envs, "production", &ci->environments, &ci->n_environments)) {
		free(ci->services);
		return false;
	}
	return true;
}

int cal_expand_list(const struct cal_set *set, long long from_ms, long long to_ms, size_t cap,
		    struct cal_instances *out)
{
	struct inst_vec iv = {0};
	size_t before = out->n;

	if (collect(set, from_ms, to_ms, cap, &iv) && out->n + iv.n > out->cap) {
		size_t ncap = out->cap ? out->cap : 64;
		while (ncap < out->n + iv.n)
			ncap *= 2;
		struct cal_instance *v = realloc(out->v, ncap * sizeof *v);
		if (v == NULL)
			iv.oom = true;
		else {
			out->v = v;
			out->cap = ncap;
		}
	}
	for (size_t i = 0; i < iv.n && !iv.oom; i++) {
		if (!inst_struct(set, &iv.v[i], &out->v[out->n]))
			iv.oom = true;
		else
			out->n++;
	}
	free(iv.v);
	if (!iv.oom)
		return 0;
	for (size_t i = before; i < out->n; i++) {
		free(out->v[i].services);
		free(out->v[i].environments);
	}
	out->n = before;
	return -1;
}

void cal_instances_clear(struct cal_instances *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].services);
		free(l->v[i].environments);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}
