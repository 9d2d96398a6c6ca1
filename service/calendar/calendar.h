/*
 * calendar.h -- maintenance windows, change freezes and CAB meetings read from iCalendar.
 *
 * The only module that includes libical (feed.h, the iCalendar output, is part of it).
 * It parses one .ics text (a VCALENDAR with VEVENTs and VTIMEZONEs) into a cal_set and
 * expands the set into concrete instances for the scheduler.  No clock is read: every
 * range is a parameter.
 *
 * Mapping of a VEVENT:
 *   CATEGORIES          must contain exactly one of MAINTENANCE-WINDOW (a window), FREEZE
 *                       (a freeze) or CAB-MEETING (a CAB meeting); other categories are
 *                       ignored
 *   X-TRANSOM-SERVICES  "a,b,c" or "*" (all services); required for windows and freezes,
 *                       optional for meetings (default "*": the services it may discuss)
 *   X-TRANSOM-HARDNESS  freezes only: "hard" (default) or "soft"; windows are always hard,
 *                       meetings never (they block nothing: "hard" is false)
 *   X-TRANSOM-CAPACITY  windows only: positive integer, default 1; freezes and meetings
 *                       report 0
 *   UID, DTSTART        required; SUMMARY optional
 * An override (a VEVENT with RECURRENCE-ID) inherits every mapped property it does not
 * set from its master, which must exist in the same file.
 *
 * Time rules (documented choices, checked against tests/calendar/oracle.py):
 *   - Floating DATE-TIMEs (no Z, no TZID) and floating DATEs (all-day: the whole day) are
 *     read in the calendar's zone: the configured zone of the calendar (cal_zones.calendar),
 *     else the file's X-WR-TIMEZONE (Google's exports), else the site zone
 *     (cal_zones.site), else UTC.  A DATE with a TZID is the whole day of that zone.
 *   - TZID is looked up in the file's VTIMEZONEs, then in libical's builtin zones
 *     ("Europe/London"); an unknown TZID is a parse error.
 *   - Recurrences are computed in DTSTART's local wall time, then each wall time is mapped
 *     to UTC as RFC 5545 3.3.5 says: a wall time in the spring-forward gap (01:30 in
 *     London on the day clocks jump 01:00->02:00) takes the offset before the gap
 *     (01:30 GMT = 02:30 BST, as libical does); an ambiguous wall time in the fall-back
 *     overlap is its FIRST occurrence (the daylight one).  libical 3.0.16 alone would pick
 *     the second (standard) occurrence, and so does python icalendar/pytz (is_dst=False);
 *     Python's zoneinfo with fold=0 agrees with the rule used here.
 *   - DTEND gives an exact duration (seconds) applied to every instance (RFC 5545
 *     3.8.5.3); DURATION's days and weeks are nominal (wall-clock days), its hours,
 *     minutes and seconds exact.  All-day events without DTEND/DURATION last one day.
 *   - RECURRENCE-ID;RANGE=THISANDFUTURE is refused at parse time, and so are RRULEs
 *     libical 3.0.16 could spin on for minutes inside one iterator step (it runs to the
 *     year 2582 looking for a match): FREQ=SECONDLY/MINUTELY, HOURLY rules whose day
 *     filters never match (BYMONTH=2;BYMONTHDAY=30), ordinal BYDAY outside MONTHLY/YEARLY.
 *   - FREQ=WEEKLY rules with BYDAY are expanded by rrule_weekly.c, not libical (RFC 5545
 *     weeks from WKST, BYSETPOS over the whole week; see rrule_weekly.h).
 *   - DTSTART is always the first instance, even when its RRULE does not produce it
 *     (RFC 5545 3.8.5.3; libical and dateutil drop it, calendar programs show it): for a
 *     freeze, dropping it is the unsafe side.  It counts towards COUNT, as the RFC says
 *     (recurring-ical-events gives COUNT + 1 instances then); a warning says so.
 *   - Input must be UTF-8 once unfolded (a fold may split a UTF-8 sequence, RFC 5545 3.1).
 *     STATUS:CANCELLED on a master drops all its instances.
 *   - A property libical cannot read (an empty LOCATION:, DESCRIPTION: or Apple's
 *     URL;VALUE=URI:, which RFC 5545 allows) is dropped with a warning (cal_warnings),
 *     unless it is one Transom reads to place the event: DTSTART, DTEND, DURATION, RRULE,
 *     EXRULE, RDATE, EXDATE, RECURRENCE-ID, UID, STATUS, and CATEGORIES in Transom's own
 *     files; those, and errors that name no property, are errors.
 */
#ifndef TRANSOM_CALENDAR_H
#define TRANSOM_CALENDAR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/diag.h"

/* Default and largest number of instances cal_expand() returns per event. */
#define CAL_CAP_DEFAULT 10000
/* Longest range cal_expand() expands: from_ms + 400 days; the rest is ignored. */
#define CAL_HORIZON_MS (400LL * 86400 * 1000)

/* A parsed calendar file.  Opaque. */
struct cal_set;

/*
 * Configures libical for the process: errors not fatal, no TZID prefix, and the builtin
 * zones Transom's policies use preloaded.  Call once, single-threaded, before any other
 * cal_ function and before threads start.  Idempotent (later calls do nothing).
 */
void cal_init(void);

/*
 * Parses one iCalendar text.  `file` names it in diagnostics ("policies/freezes.ics");
 * `text` need not be NUL-terminated (an embedded NUL byte is an error).  Returns an owned
 * set, or NULL with every error appended to `diags` (not NULL), each as
 *   file: VEVENT[i] (UID x): message
 * (i counts VEVENTs from 0 in file order; "" for whole-file errors such as bad UTF-8).
 * Never aborts on bad input.  Thread-safe after cal_init() (serialized by the module lock,
 * since it may load libical builtin zones).
 */
struct cal_set *cal_parse(const char *file, const char *text, size_t len, struct diags *diags);

/* Zones for floating times and dates (see "Time rules"); either may be NULL or "". */
struct cal_zones {
	const char *calendar; /* this calendar's configured zone: wins over X-WR-TIMEZONE */
	const char *site;     /* the site's zone: used when the file declares none */
};

/*
 * cal_parse() with the zones of floating times and dates (`zones` may be NULL: UTC unless
 * the file declares X-WR-TIMEZONE).  A configured zone libical does not know is an error.
 */
struct cal_set *cal_parse_in(const char *file, const char *text, size_t len,
			     const struct cal_zones *zones, struct diags *diags);

/* Whether `tzid` names a zone libical knows (an IANA name such as "Europe/Berlin"). */
bool cal_zone_known(const char *tzid);

/*
 * The warnings of a parsed set: a JSON array of strings "file: VEVENT[i] (UID x): message"
 * about what was read but not used (a property libical could not read and Transom does
 * not need, an unknown X-WR-TIMEZONE) or read differently from libical (DTSTART not
 * matching its RRULE).  Borrowed, valid while `set` is; NULL for NULL.
 */
json_t *cal_warnings(const struct cal_set *set);

/* How cal_parse_as() reads every event of a foreign calendar. */
enum cal_as {
	CAL_AS_FREEZE, /* a freeze (public holidays, a finance close...) */
	CAL_AS_WINDOW, /* a maintenance window of capacity 1 */
};

/*
 * Parses a calendar Transom does not own (a remote ICS: holidays, a finance close) as
 * cal_parse() does, but reads every VEVENT as `as`, `hard` (freezes), for `services`
 * ("*" or an array of names; borrowed, referenced by the set), ignoring its CATEGORIES
 * and X-TRANSOM-* properties; floating times and dates as cal_parse_in() with `zones`.
 * Same errors and thread-safety as cal_parse().
 */
struct cal_set *cal_parse_as(const char *file, const char *text, size_t len, enum cal_as as,
			     bool hard, json_t *services, const struct cal_zones *zones,
			     struct diags *diags);

/* Frees `set`; NULL is a no-op.  Not while another thread expands it. */
void cal_free(struct cal_set *set);

/* Number of events in `set` (masters, overrides excluded). */
size_t cal_event_count(const struct cal_set *set);

/*
 * The instances of every event of `set` overlapping [from_ms, to_ms) (milliseconds since
 * the epoch, UTC; an instance of zero length overlaps when its start is in the range).
 * to_ms is clamped to from_ms + CAL_HORIZON_MS; `cap` instances at most per event
 * (0 means CAL_CAP_DEFAULT, larger values are clamped to it).  Returns an owned JSON array
 * sorted by start (then uid, then end) of
 *   {"uid", "summary", "kind": "window"|"freeze"|"meeting", "hard": bool,
 *    "services": [..]|"*",
 *    "capacity": n, "start_ms", "end_ms", "start", "end" (RFC 3339 UTC, "Z"),
 *    "recurrence_id": RFC 3339 UTC of the instance's original start, or null for an
 *    event without RRULE/RDATE, "tzid": DTSTART's zone when libical knows it by its
 *    IANA name (absent otherwise)}
 * NULL on out of memory.  Thread-safe: several threads may expand one set (libical calls
 * are serialized inside the module, since libical mutates components and zones lazily).
 */
json_t *cal_expand(const struct cal_set *set, long long from_ms, long long to_ms, size_t cap);

/* What an instance is. */
enum cal_inst_kind {
	CAL_INST_WINDOW, /* a maintenance window */
	CAL_INST_FREEZE, /* a change freeze, hard or soft */
	CAL_INST_MEETING /* a CAB meeting */
};

/*
 * One instance, as cal_expand_list() gives it: the members of a cal_expand() object.
 * Strings are borrowed from the set (valid while it is); the name lists are owned by the
 * instance and released by cal_instances_clear().
 */
struct cal_instance {
	const char *uid;
	const char *summary; /* "" when the event has none */
	enum cal_inst_kind kind;
	bool hard;     /* windows true, meetings false, freezes as declared (default true) */
	long capacity; /* windows: at least 1; 0 otherwise */
	const char **services; /* names; NULL when the services are "*" (every service) */
	size_t n_services;
	const char **environments; /* names; {"production"} when the event declares none */
	size_t n_environments;
	long long start_ms, end_ms;
	long long recurrence_ms; /* the original start of a recurring instance */
	bool recurring;          /* false for an event without RRULE/RDATE */
	const char *tzid;        /* DTSTART's IANA zone, or NULL */
};

/* A list of instances.  Zero-initialise; release with cal_instances_clear(). */
struct cal_instances {
	struct cal_instance *v;
	size_t n, cap;
};

/*
 * cal_expand() as structs: appends the instances of `set` overlapping [from_ms, to_ms) to
 * `out`, sorted by start (then uid, then end) among themselves.  Returns 0, or -1 on out
 * of memory (`out` then keeps what it had).  Same range, cap and thread-safety rules.
 */
int cal_expand_list(const struct cal_set *set, long long from_ms, long long to_ms, size_t cap,
		    struct cal_instances *out);

/*
 * Whether an instance [s, e) overlaps [from, to): the rule of every expansion above.  An
 * empty instance (e == s) overlaps when it starts inside.
 */
bool cal_overlaps(long long s, long long e, long long from, long long to);

/* Releases every instance of `l` and resets it to empty; NULL is a no-op. */
void cal_instances_clear(struct cal_instances *l);

#endif /* TRANSOM_CALENDAR_H */
