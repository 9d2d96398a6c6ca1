/*
 * rrule_weekly.c -- RFC 5545 expansion of FREQ=WEEKLY rules with BYDAY (see rrule_weekly.h).
 *
 * cal_rw_from_ical() reads libical's parsed rule (no libical state is touched: no lock needed);
 * everything else is plain date arithmetic.
 */
#include <limits.h>
#include <stdlib.h>

#include <libical/ical.h>

#include "calendar/rrule_weekly.h"
#include "core/timeutil.h"

#define DAY_SECS 86400LL

static long long floor_div(long long a, long long b)
{
	long long q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Weekday of a day number, 0 = Sunday (1970-01-01 was a Thursday). */
static int weekday(long long day)
{
	return (int)(((day % 7) + 7 + 4) % 7);
}

void cal_rw_begin(struct rw_iter *it, const struct rw_rule *rule, long long start,
		  long long skip_to)
{
	*it = (struct rw_iter){0};
	it->rule = *rule;
	if (it->rule.interval < 1)
		it->rule.interval = 1;
	if (it->rule.nsetpos > RW_SETPOS_MAX)
		it->rule.nsetpos = RW_SETPOS_MAX;
	it->start = start;
	long long day = floor_div(start, DAY_SECS);
	it->tod = start - day * DAY_SECS;
	/* the week containing DTSTART starts on the last WKST on or before it */
	it->week_day = day - (weekday(day) - it->rule.wkst + 7) % 7;
	if (it->rule.count == 0 && skip_to != LLONG_MIN && skip_to > start) {
		long long skip_day = floor_div(skip_to, DAY_SECS);
		long long k =
			floor_div(skip_day - it->week_day - 7, 7) + 1; /* first week ending after */
		if (k > 0) {
			long long n = it->rule.interval;
			k = (k + n - 1) / n * n; /* weeks are selected every INTERVAL */
			it->week_day += 7 * k;
		}
	}
	it->done = it->rule.days == 0;
}

/* Whether 1-based position `pos` (of `n`) is selected by BYSETPOS. */
static bool setpos_selects(const struct rw_rule *r, int pos, int n)
{
	for (int i = 0; i < r->nsetpos; i++) {
		int p = r->setpos[i];
		if ((p > 0 && p == pos) || (p < 0 && n + p + 1 == pos))
			return true;
	}
	return false;
}

/* Fills the buffer with the next selected week's instances after DTSTART. */
static void fill_week(struct rw_iter *it)
{
	const struct rw_rule *r = &it->rule;
	long long cand[7];
	int n = 0;
	for (int off = 0; off < 7; off++) {
		long long day = it->week_day + off;
		if (!(r->days & (1u << weekday(day))))
			continue;
		if (r->months != 0) {
			int y, m, d;
			time_civil_from_days(day, &y, &m, &d);
			if (!(r->months & (1u << m)))
				continue;
		}
		cand[n++] = day * DAY_SECS + it->tod;
	}
	it->nbuf = it->ibuf = 0;
	for (int i = 0; i < n; i++) {
		if (r->nsetpos > 0 && !setpos_selects(r, i + 1, n))
			continue;
		if (cand[i] <= it->start) /* before DTSTART, or DTSTART (already returned) */
			continue;
		it->buf[it->nbuf++] = cand[i];
	}
	it->week_day += 7LL * r->interval;
}

bool cal_rw_next(struct rw_iter *it, long long *out)
{
	static const long long end_day = 84006; /* 2200-01-01 */
	if (it->done)
		return false;
	if (!it->start_done) {
		it->start_done = true;
		it->emitted = 1;
		*out = it->start;
		return true;
	}
	if (it->rule.count > 0 && it->emitted >= it->rule.count) {
		it->done = true;
		return false;
	}
	while (it->ibuf == it->nbuf) {
		if (it->week_day >= end_day) {
			it->done = true;
			return false;
		}
		fill_week(it);
	}
	long long v = it->buf[it->ibuf++];
	if (it->rule.has_until && v > it->rule.until) {
		it->done = true;
		return false;
	}
	it->emitted++;
	*out = v;
	return true;
}

bool cal_rw_from_ical(const struct icalrecurrencetype *r, struct rw_rule *out)
{
	*out = (struct rw_rule){0};
	if (r->freq != ICAL_WEEKLY_RECURRENCE || r->by_day[0] == ICAL_RECURRENCE_ARRAY_MAX)
		return false;
	if (r->by_hour[0] != ICAL_RECURRENCE_ARRAY_MAX ||
	    r->by_minute[0] != ICAL_RECURRENCE_ARRAY_MAX ||
	    r->by_second[0] != ICAL_RECURRENCE_ARRAY_MAX ||
	    r->by_month_day[0] != ICAL_RECURRENCE_ARRAY_MAX ||
	    r->by_year_day[0] != ICAL_RECURRENCE_ARRAY_MAX ||
	    r->by_week_no[0] != ICAL_RECURRENCE_ARRAY_MAX)
		return false;
	for (int i = 0; i < ICAL_BY_DAY_SIZE && r->by_day[i] != ICAL_RECURRENCE_ARRAY_MAX; i++) {
		if (icalrecurrencetype_day_position(r->by_day[i]) != 0)
			return false;
		int d = (int)icalrecurrencetype_day_day_of_week(r->by_day[i]); /* 1 = SU */
		if (d < 1 || d > 7)
			return false;
		out->days |= 1u << (d - 1);
	}
	for (int i = 0; i < ICAL_BY_MONTH_SIZE && r->by_month[i] != ICAL_RECURRENCE_ARRAY_MAX;
	     i++) {
		int m = icalrecurrencetype_month_month(r->by_month[i]);
		if (icalrecurrencetype_month_is_leap(r->by_month[i]) || m < 1 || m > 12)
			return false;
		out->months |= 1u << m;
	}
	for (int i = 0; i < ICAL_BY_SETPOS_SIZE && r->by_set_pos[i] != ICAL_RECURRENCE_ARRAY_MAX;
	     i++) {
		if (out->nsetpos < RW_SETPOS_MAX)
			out->setpos[out->nsetpos++] = r->by_set_pos[i];
	}
	out->interval = r->interval < 1 ? 1 : r->interval;
	out->wkst = r->week_start == ICAL_NO_WEEKDAY ? 1 : (int)r->week_start - 1;
	out->count = r->count;
	return true;
}
