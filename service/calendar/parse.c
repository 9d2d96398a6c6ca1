/*
 * parse.c -- reading iCalendar text into a calendar set (calendar.h): the Transom
 * properties of each VEVENT, the checks of times and rules, and the diagnostics.
 */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libical/ical.h>

#include "calendar/cal_int.h"
#include "calendar/calendar.h"
#include "calendar/rrule_weekly.h"
#include "calendar/set_int.h"
#include "core/timeutil.h"

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
			t = cal_trim(t);
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

	icalproperty *p = cal_x_prop(c, "X-TRANSOM-SERVICES", &count);
	if (count > 1)
		DIAG(pc, loc, "X-TRANSOM-SERVICES given %d times", count);
	if (p != NULL) {
		const char *v = cal_prop_text(p);
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
			t = cal_trim(t);
			if (strcmp(t, "*") == 0)
				star = true;
			else if (!cal_service_name_ok(t))
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

	p = cal_x_prop(c, "X-TRANSOM-ENVIRONMENTS", &count);
	if (count > 1)
		DIAG(pc, loc, "X-TRANSOM-ENVIRONMENTS given %d times", count);
	if (p != NULL) {
		const char *v = cal_prop_text(p);
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
			t = cal_trim(t);
			if (!cal_env_name_ok(t))
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

	p = cal_x_prop(c, "X-TRANSOM-HARDNESS", &count);
	if (count > 1)
		DIAG(pc, loc, "X-TRANSOM-HARDNESS given %d times", count);
	if (p != NULL) {
		const char *v = cal_prop_text(p);
		if (v != NULL && strcasecmp(v, "hard") == 0)
			m->hard = 1;
		else if (v != NULL && strcasecmp(v, "soft") == 0)
			m->hard = 0;
		else
			DIAG(pc, loc, "X-TRANSOM-HARDNESS must be 'hard' or 'soft'");
	}

	p = cal_x_prop(c, "X-TRANSOM-CAPACITY", &count);
	if (count > 1)
		DIAG(pc, loc, "X-TRANSOM-CAPACITY given %d times", count);
	if (p != NULL) {
		const char *v = cal_prop_text(p);
		char *end = NULL;
		long n = v != NULL ? strtol(v, &end, 10) : 0;
		if (v == NULL || end == v || *cal_trim(end) != '\0' || n <= 0 || n > 1000000)
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
bool cal_rule_starts_at(struct icalrecurrencetype r, struct icaltimetype st)
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
		else if (!cal_fix_zone(&pc->zc, ds, &st))
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
		else if (!cal_fix_zone(&pc->zc, de, &et))
			DIAG(pc, loc, "DTEND: unknown TZID");
		else if (ds != NULL && !pc->bad) {
			if (et.is_date != st.is_date)
				DIAG(pc, loc, "DTEND and DTSTART differ in value type");
			else if (et.year > 2200 || cal_time_ms(et) < cal_time_ms(st))
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
			if (!pc->bad && !cal_rule_starts_at(r, st))
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
		else if (!cal_fix_zone(&pc->zc, p, &t))
			DIAG(pc, loc, "RDATE: unknown TZID");
	}
	for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_EXDATE_PROPERTY); p != NULL;
	     p = icalcomponent_get_next_property(c, ICAL_EXDATE_PROPERTY)) {
		struct icaltimetype t = icalproperty_get_exdate(p);
		if (icaltime_is_null_time(t) || !icaltime_is_valid_time(t))
			DIAG(pc, loc, "EXDATE: invalid value");
		else if (!cal_fix_zone(&pc->zc, p, &t))
			DIAG(pc, loc, "EXDATE: unknown TZID");
	}
	icalproperty *rid = icalcomponent_get_first_property(c, ICAL_RECURRENCEID_PROPERTY);
	if (rid != NULL) {
		struct icaltimetype t = icalproperty_get_recurrenceid(rid);
		icalparameter *rg = icalproperty_get_first_parameter(rid, ICAL_RANGE_PARAMETER);
		if (icaltime_is_null_time(t) || !icaltime_is_valid_time(t) || t.year < 1900 ||
		    t.year > 2200)
			DIAG(pc, loc, "RECURRENCE-ID: invalid value");
		else if (!cal_fix_zone(&pc->zc, rid, &t))
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
	icalproperty *wr = cal_x_prop(pc->root, "X-WR-TIMEZONE", &count);
	const char *declared = wr != NULL ? cal_prop_text(wr) : NULL;
	for (int i = 0; i < 2; i++) {
		if (names[i] != NULL && *names[i] != '\0' && cal_builtin_zone(names[i]) == NULL)
			DIAG(pc, "", "unknown time zone '%.64s' configured for this calendar",
			     names[i]);
	}
	if (names[0] != NULL && *names[0] != '\0')
		return cal_builtin_zone(names[0]);
	if (declared != NULL && *declared != '\0') {
		icaltimezone *z = cal_builtin_zone(declared);
		if (z != NULL)
			return z;
		warn(pc, "VCALENDAR",
		     "X-WR-TIMEZONE '%.64s' is not a known zone: floating times and all-day "
		     "events are read in %s",
		     declared, names[1] != NULL && *names[1] != '\0' ? names[1] : "UTC");
	}
	if (names[1] != NULL && *names[1] != '\0')
		return cal_builtin_zone(names[1]);
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
		cal_loc_of(loc, sizeof loc, i, uid);
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
		if (cal_builtin_zone(tzid) != NULL)
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
			cal_meta_clear(&e->meta);
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
		cal_loc_of(loc, sizeof loc, a, e->uid);
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
		cal_set_free_locked(set);
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
	cal_lock_enter();
	struct cal_set *set = parse_locked(file, text, len, zones, diags, NULL);
	cal_lock_leave();
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
	cal_lock_enter();
	struct cal_set *set = parse_locked(file, text, len, zones, diags, &opts);
	cal_lock_leave();
	return set;
}
