/*
 * rrule_weekly.h -- RFC 5545 expansion of FREQ=WEEKLY rules with BYDAY (internal to calendar/).
 *
 * libical 3.0.16's iterator puts FREQ=WEEKLY;INTERVAL=n;BYDAY=... in the wrong week when
 * a BYDAY day falls before DTSTART's weekday in the week defined by WKST (the issue-17
 * case: INTERVAL=2;BYDAY=SU from a Tuesday lands a week late), groups weeks across WKST
 * wrongly for BYSETPOS, and drops a DTSTART that does not match the rule.  calendar.c
 * hands weekly BYDAY rules to this iterator instead (see cal_rw_from_ical(), the one function
 * here that reads a libical type).  The iterator is pure: no libical, no I/O, no clock.
 * All times are wall times of DTSTART's zone, in seconds since 1970-01-01T00:00 of that
 * wall clock ("wall seconds"); mapping them to UTC (DST gaps and overlaps) stays with
 * the caller.
 *
 * Semantics (RFC 5545 3.3.10 and 3.8.5.3):
 *   - weeks are counted from the week that contains DTSTART, a week starting on WKST
 *     (default Monday); every INTERVAL-th week is selected;
 *   - in a selected week the instances are the BYDAY days (limited by BYMONTH) at
 *     DTSTART's time of day, in order; BYSETPOS then picks among that week's set;
 *   - instances before DTSTART are dropped; DTSTART itself is always the first instance
 *     and counts towards COUNT, whether or not it matches the rule;
 *   - UNTIL (wall seconds, inclusive) ends the rule, COUNT bounds the number of instances.
 */
#ifndef TRANSOM_RRULE_WEEKLY_H
#define TRANSOM_RRULE_WEEKLY_H

#include <stdbool.h>

/* Largest number of BYSETPOS values kept (more are ignored: a week has 7 days). */
#define RW_SETPOS_MAX 16

/* A FREQ=WEEKLY rule.  Weekdays are 0 = Sunday ... 6 = Saturday. */
struct rw_rule {
	int interval;              /* >= 1 */
	int wkst;                  /* week start, 0..6 (Monday = 1 is the RFC default) */
	unsigned days;             /* BYDAY: bit d set for weekday d; must not be 0 */
	unsigned months;           /* BYMONTH: bit m (1..12) set; 0 = every month */
	int setpos[RW_SETPOS_MAX]; /* BYSETPOS values, +-1..+-366 */
	int nsetpos;               /* 0 = no BYSETPOS */
	long count;                /* COUNT; 0 = none */
	bool has_until;
	long long until; /* UNTIL in wall seconds, inclusive */
};

/* The iterator.  Plain data: initialise with cal_rw_begin(), no cleanup needed. */
struct rw_iter {
	struct rw_rule rule;
	long long start;    /* DTSTART, wall seconds */
	long long tod;      /* DTSTART's second of the day */
	long long week_day; /* first day (days since 1970-01-01) of the next week to fill */
	long long buf[7];   /* instances of the current week, ascending */
	int nbuf, ibuf;
	long emitted;
	bool start_done, done;
};

/*
 * Starts iterating `rule` (copied) from DTSTART `start` (wall seconds).  When `skip_to`
 * (wall seconds) is later than DTSTART and the rule has no COUNT, whole selected weeks
 * ending before `skip_to` are skipped (DTSTART is still returned first); pass
 * LLONG_MIN to iterate from DTSTART.
 */
void cal_rw_begin(struct rw_iter *it, const struct rw_rule *rule, long long start,
		  long long skip_to);

/*
 * The next instance in wall seconds into *out, ascending; false when the rule has ended
 * (COUNT, UNTIL, or beyond the year 2200).
 */
bool cal_rw_next(struct rw_iter *it, long long *out);

struct icalrecurrencetype;

/*
 * Whether calendar.c must expand `r` here rather than with libical's iterator: FREQ=WEEKLY
 * with BYDAY (no ordinals), any INTERVAL, WKST, BYSETPOS, BYMONTH, COUNT; not with BYHOUR,
 * BYMINUTE, BYSECOND, BYMONTHDAY, BYYEARDAY, BYWEEKNO or a leap month (those stay with
 * libical).  INTERVAL=1 without BYSETPOS is taken too: libical finds its days, but drops
 * a DTSTART that does not match the rule, and one iterator for the whole shape keeps
 * COUNT and DTSTART consistent.  Then *out holds the rule without UNTIL (has_until
 * false: its zone is the caller's business).
 */
bool cal_rw_from_ical(const struct icalrecurrencetype *r, struct rw_rule *out);

#endif /* TRANSOM_RRULE_WEEKLY_H */
