/*
 * test_calendar.c -- unit tests of service/calendar: parsing, mapping and expansion of
 * maintenance-window and freeze calendars, with exact UTC instants.
 */
#include <pthread.h>
#include <time.h>

#include "calendar/calendar.h"
#include "harness.h"

#define CAL_HEAD "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Transom//test//EN\r\n"
#define CAL_TAIL "END:VCALENDAR\r\n"

static long long iso_ms(const char *s)
{
	struct tm tm = {0};
	if (strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL)
		return -1;
	return (long long)timegm(&tm) * 1000;
}

static struct cal_set *parse(const char *text)
{
	struct diags d = {0};
	struct cal_set *set = cal_parse("t.ics", text, strlen(text), &d);
	if (set == NULL) {
		char *s = diags_join(&d);
		fprintf(stderr, "  unexpected parse errors:\n%s", s ? s : "");
		free(s);
	}
	diags_clear(&d);
	return set;
}

/* Expands `text` over [from, to) and compares "start/end" pairs with `want` (NULL-ended). */
struct expand_case {
	const char *name;
	const char *text;
	const char *from, *to;
	size_t cap;
	const char *want[16]; /* "start end" in RFC 3339, NULL-terminated */
};

static void run_case(const struct expand_case *c)
{
	struct cal_set *set = parse(c->text);
	CHECKF(set != NULL, "%s: parse failed", c->name);
	if (set == NULL)
		return;
	json_t *arr = cal_expand(set, iso_ms(c->from), iso_ms(c->to), c->cap);
	size_t n = 0;
	while (c->want[n] != NULL)
		n++;
	CHECKF(json_array_size(arr) == n, "%s: %zu instances, want %zu", c->name,
	       json_array_size(arr), n);
	for (size_t i = 0; i < n && i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		char got[80];
		snprintf(got, sizeof got, "%s %s", json_string_value(json_object_get(v, "start")),
			 json_string_value(json_object_get(v, "end")));
		CHECKF(strcmp(got, c->want[i]) == 0, "%s[%zu]: got \"%s\", want \"%s\"", c->name, i,
		       got, c->want[i]);
		long long s = json_integer_value(json_object_get(v, "start_ms"));
		CHECKF(s == iso_ms(json_string_value(json_object_get(v, "start"))),
		       "%s[%zu]: start_ms disagrees with start", c->name, i);
	}
	json_decref(arr);
	cal_free(set);
}

static const struct expand_case cases[] = {
	{"london weekly across DST",
	 CAL_HEAD "BEGIN:VEVENT\r\nUID:w\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n"
		  "X-TRANSOM-SERVICES:*\r\nDTSTART;TZID=Europe/London:20260315T100000\r\n"
		  "DTEND;TZID=Europe/London:20260315T120000\r\nRRULE:FREQ=WEEKLY;BYDAY=SU\r\n"
		  "END:VEVENT\r\n" CAL_TAIL,
	 "2026-03-14T00:00:00Z",
	 "2026-04-06T00:00:00Z",
	 0,
	 {"2026-03-15T10:00:00Z 2026-03-15T12:00:00Z", "2026-03-22T10:00:00Z 2026-03-22T12:00:00Z",
	  "2026-03-29T09:00:00Z 2026-03-29T11:00:00Z", "2026-04-05T09:00:00Z 2026-04-05T11:00:00Z",
	  NULL}},
	{"london weekly october",
	 CAL_HEAD "BEGIN:VEVENT\r\nUID:w\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n"
		  "X-TRANSOM-SERVICES:*\r\nDTSTART;TZID=Europe/London:20260315T100000\r\n"
		  "DTEND;TZID=Europe/London:20260315T120000\r\nRRULE:FREQ=WEEKLY;BYDAY=SU\r\n"
		  "END:VEVENT\r\n" CAL_TAIL,
	 "2026-10-17T00:00:00Z",
	 "2026-11-02T00:00:00Z",
	 0,
	 {"2026-10-18T09:00:00Z 2026-10-18T11:00:00Z", "2026-10-25T10:00:00Z 2026-10-25T12:00:00Z",
	  "2026-11-01T10:00:00Z 2026-11-01T12:00:00Z", NULL}},
	{"exdate removes, rdate adds",
	 CAL_HEAD "BEGIN:VEVENT\r\nUID:x\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n"
		  "X-TRANSOM-SERVICES:api\r\nDTSTART:20260105T090000Z\r\nDURATION:PT1H\r\n"
		  "RRULE:FREQ=WEEKLY;COUNT=3\r\nEXDATE:20260112T090000Z\r\n"
		  "RDATE:20260110T150000Z\r\nEND:VEVENT\r\n" CAL_TAIL,
	 "2026-01-01T00:00:00Z",
	 "2026-02-01T00:00:00Z",
	 0,
	 {"2026-01-05T09:00:00Z 2026-01-05T10:00:00Z", "2026-01-10T15:00:00Z 2026-01-10T16:00:00Z",
	  "2026-01-19T09:00:00Z 2026-01-19T10:00:00Z", NULL}},
	{"override moves one, cancelled override removes one",
	 CAL_HEAD "BEGIN:VEVENT\r\nUID:o\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n"
		  "X-TRANSOM-SERVICES:api\r\nDTSTART;TZID=America/New_York:20260105T200000\r\n"
		  "DTEND;TZID=America/New_York:20260105T210000\r\nRRULE:FREQ=DAILY;COUNT=4\r\n"
		  "END:VEVENT\r\n"
		  "BEGIN:VEVENT\r\nUID:o\r\nRECURRENCE-ID;TZID=America/New_York:20260106T200000\r\n"
		  "DTSTART;TZID=America/New_York:20260106T230000\r\n"
		  "DTEND;TZID=America/New_York:20260107T003000\r\nEND:VEVENT\r\n"
		  "BEGIN:VEVENT\r\nUID:o\r\nRECURRENCE-ID:20260108T010000Z\r\n"
		  "STATUS:CANCELLED\r\nEND:VEVENT\r\n" CAL_TAIL,
	 "2026-01-01T00:00:00Z",
	 "2026-02-01T00:00:00Z",
	 0,
	 {"2026-01-06T01:00:00Z 2026-01-06T02:00:00Z", "2026-01-07T04:00:00Z 2026-01-07T05:30:00Z",
	  "2026-01-09T01:00:00Z 2026-01-09T02:00:00Z", NULL}},
	{"count",
	 CAL_HEAD "BEGIN:VEVENT\r\nUID:c\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:a\r\n"
		  "DTSTART:20260301T060000Z\r\nRRULE:FREQ=DAILY;INTERVAL=2;COUNT=3\r\n"
		  "END:VEVENT\r\n" CAL_TAIL,
	 "2026-01-01T00:00:00Z",
	 "2027-01-01T00:00:00Z",
	 0,
	 {"2026-03-01T06:00:00Z 2026-03-01T06:00:00Z", "2026-03-03T06:00:00Z 2026-03-03T06:00:00Z",
	  "2026-03-05T06:00:00Z 2026-03-05T06:00:00Z", NULL}},
	{"until is inclusive, UTC until with a TZID start after DST",
	 CAL_HEAD "BEGIN:VEVENT\r\nUID:u\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:a\r\n"
		  "DTSTART;TZID=Europe/London:20260325T060000\r\nDURATION:PT1H\r\n"
		  "RRULE:FREQ=WEEKLY;UNTIL=20260401T050000Z\r\nEND:VEVENT\r\n" CAL_TAIL,
	 "2026-01-01T00:00:00Z",
	 "2027-01-01T00:00:00Z",
	 0,
	 {"2026-03-25T06:00:00Z 2026-03-25T07:00:00Z", "2026-04-01T05:00:00Z 2026-04-01T06:00:00Z",
	  NULL}},
	{"all-day freeze over Christmas",
	 CAL_HEAD "BEGIN:VEVENT\r\nUID:x\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
		  "DTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261227\r\nEND:VEVENT\r\n"
		  "BEGIN:VEVENT\r\nUID:ny\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
		  "DTSTART;VALUE=DATE:20270101\r\nEND:VEVENT\r\n" CAL_TAIL,
	 "2026-12-25T12:00:00Z",
	 "2027-01-05T00:00:00Z",
	 0,
	 {"2026-12-24T00:00:00Z 2026-12-27T00:00:00Z", "2027-01-01T00:00:00Z 2027-01-02T00:00:00Z",
	  NULL}},
	{"spring-forward gap and fall-back overlap",
	 CAL_HEAD "BEGIN:VEVENT\r\nUID:g\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n"
		  "X-TRANSOM-SERVICES:*\r\nDTSTART;TZID=America/New_York:20260307T023000\r\n"
		  "DURATION:PT30M\r\nRRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\n"
		  "BEGIN:VEVENT\r\nUID:o\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n"
		  "X-TRANSOM-SERVICES:*\r\nDTSTART;TZID=America/New_York:20261101T013000\r\n"
		  "DURATION:PT20M\r\nEND:VEVENT\r\n" CAL_TAIL,
	 "2026-01-01T00:00:00Z",
	 "2027-01-01T00:00:00Z",
	 0,
	 {"2026-03-07T07:30:00Z 2026-03-07T08:00:00Z", "2026-03-08T07:30:00Z 2026-03-08T08:00:00Z",
	  "2026-03-09T06:30:00Z 2026-03-09T07:00:00Z", "2026-11-01T05:30:00Z 2026-11-01T05:50:00Z",
	  NULL}},
	{"rdate period",
	 CAL_HEAD "BEGIN:VEVENT\r\nUID:p\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:core\r\n"
		  "DTSTART:20260401T000000Z\r\nDTEND:20260401T060000Z\r\n"
		  "RDATE;VALUE=PERIOD:20260410T000000Z/20260410T120000Z,20260420T080000Z/PT2H\r\n"
		  "END:VEVENT\r\n" CAL_TAIL,
	 "2026-01-01T00:00:00Z",
	 "2027-01-01T00:00:00Z",
	 0,
	 {"2026-04-01T00:00:00Z 2026-04-01T06:00:00Z", "2026-04-10T00:00:00Z 2026-04-10T12:00:00Z",
	  "2026-04-20T08:00:00Z 2026-04-20T10:00:00Z", NULL}},
	{"cap",
	 CAL_HEAD "BEGIN:VEVENT\r\nUID:m\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:a\r\n"
		  "DTSTART:20260101T000000Z\r\nRRULE:FREQ=HOURLY\r\nEND:VEVENT\r\n" CAL_TAIL,
	 "2026-01-01T00:00:00Z",
	 "2030-01-01T00:00:00Z",
	 2,
	 {"2026-01-01T00:00:00Z 2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z 2026-01-01T01:00:00Z",
	  NULL}},
};

static void test_expand_table(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run_case(&cases[i]);
}

/* Issue 17.2: FREQ=WEEKLY rules with INTERVAL > 1 or BYSETPOS, where libical 3.0.16 picks
 * the wrong weeks (expected instants from RFC 5545 3.3.10 by hand, checked against
 * python-dateutil; DTSTART is always the first instance and counts towards COUNT). */
static const struct expand_case weekly_cases[] = {
	{"issue 17.2: INTERVAL=2;BYDAY=SU from a Tuesday, COUNT counts DTSTART",
	 CAL_HEAD "BEGIN:VEVENT\r\nUID:f\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
		  "DTSTART;TZID=Europe/Berlin:20270105T220000\r\n"
		  "DTEND;TZID=Europe/Berlin:20270105T230000\r\n"
		  "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=SU;COUNT=3\r\nEND:VEVENT\r\n" CAL_TAIL,
	 "2027-01-01T00:00:00Z",
	 "2027-06-01T00:00:00Z",
	 0,
	 {"2027-01-05T21:00:00Z 2027-01-05T22:00:00Z", "2027-01-10T21:00:00Z 2027-01-10T22:00:00Z",
	  "2027-01-24T21:00:00Z 2027-01-24T22:00:00Z", NULL}},
	{"issue 17.2: fortnightly Sundays 10, 24 Jan, 7 Feb",
	 CAL_HEAD "BEGIN:VEVENT\r\nUID:f\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
		  "DTSTART;TZID=Europe/Berlin:20270105T220000\r\n"
		  "DTEND;TZID=Europe/Berlin:20270105T230000\r\n"
		  "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=SU\r\nEND:VEVENT\r\n" CAL_TAIL,
	 "2027-01-06T00:00:00Z",
	 "2027-02-10T00:00:00Z",
	 0,
	 {"2027-01-10T21:00:00Z 2027-01-10T22:00:00Z", "2027-01-24T21:00:00Z 2027-01-24T22:00:00Z",
	  "2027-02-07T21:00:00Z 2027-02-07T22:00:00Z", NULL}},
	{"INTERVAL=2;BYDAY=MO,FR from a Wednesday (days before and after)",
	 CAL_HEAD "BEGIN:VEVENT\r\nUID:f\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
		  "DTSTART;TZID=Europe/Berlin:20270106T090000\r\n"
		  "DTEND;TZID=Europe/Berlin:20270106T100000\r\n"
		  "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR\r\nEND:VEVENT\r\n" CAL_TAIL,
	 "2027-01-01T00:00:00Z",
	 "2027-02-06T00:00:00Z",
	 0,
	 {"2027-01-06T08:00:00Z 2027-01-06T09:00:00Z", "2027-01-08T08:00:00Z 2027-01-08T09:00:00Z",
	  "2027-01-18T08:00:00Z 2027-01-18T09:00:00Z", "2027-01-22T08:00:00Z 2027-01-22T09:00:00Z",
	  "2027-02-01T08:00:00Z 2027-02-01T09:00:00Z", "2027-02-05T08:00:00Z 2027-02-05T09:00:00Z",
	  NULL}},
	{"INTERVAL=2;WKST=SU;BYDAY=SU,TU from a Monday",
	 CAL_HEAD "BEGIN:VEVENT\r\nUID:f\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
		  "DTSTART;TZID=Europe/Berlin:20270104T090000\r\n"
		  "DTEND;TZID=Europe/Berlin:20270104T100000\r\n"
		  "RRULE:FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=SU,TU\r\nEND:VEVENT\r\n" CAL_TAIL,
	 "2027-01-01T00:00:00Z",
	 "2027-02-03T00:00:00Z",
	 0,
	 {"2027-01-04T08:00:00Z 2027-01-04T09:00:00Z", "2027-01-05T08:00:00Z 2027-01-05T09:00:00Z",
	  "2027-01-17T08:00:00Z 2027-01-17T09:00:00Z", "2027-01-19T08:00:00Z 2027-01-19T09:00:00Z",
	  "2027-01-31T08:00:00Z 2027-01-31T09:00:00Z", "2027-02-02T08:00:00Z 2027-02-02T09:00:00Z",
	  NULL}},
	{"INTERVAL=2;BYDAY=SU,TU from a Monday, default WKST=MO",
	 CAL_HEAD "BEGIN:VEVENT\r\nUID:f\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
		  "DTSTART;TZID=Europe/Berlin:20270104T090000\r\n"
		  "DTEND;TZID=Europe/Berlin:20270104T100000\r\n"
		  "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=SU,TU\r\nEND:VEVENT\r\n" CAL_TAIL,
	 "2027-01-01T00:00:00Z",
	 "2027-02-03T00:00:00Z",
	 0,
	 {"2027-01-04T08:00:00Z 2027-01-04T09:00:00Z", "2027-01-05T08:00:00Z 2027-01-05T09:00:00Z",
	  "2027-01-10T08:00:00Z 2027-01-10T09:00:00Z", "2027-01-19T08:00:00Z 2027-01-19T09:00:00Z",
	  "2027-01-24T08:00:00Z 2027-01-24T09:00:00Z", "2027-02-02T08:00:00Z 2027-02-02T09:00:00Z",
	  NULL}},
	{"INTERVAL=3;WKST=WE;BYDAY=MO,TH from a Friday",
	 CAL_HEAD "BEGIN:VEVENT\r\nUID:f\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
		  "DTSTART;TZID=Europe/Berlin:20270108T090000\r\n"
		  "DTEND;TZID=Europe/Berlin:20270108T100000\r\n"
		  "RRULE:FREQ=WEEKLY;INTERVAL=3;WKST=WE;BYDAY=MO,TH\r\nEND:VEVENT\r\n" CAL_TAIL,
	 "2027-01-01T00:00:00Z",
	 "2027-02-20T00:00:00Z",
	 0,
	 {"2027-01-08T08:00:00Z 2027-01-08T09:00:00Z", "2027-01-11T08:00:00Z 2027-01-11T09:00:00Z",
	  "2027-01-28T08:00:00Z 2027-01-28T09:00:00Z", "2027-02-01T08:00:00Z 2027-02-01T09:00:00Z",
	  "2027-02-18T08:00:00Z 2027-02-18T09:00:00Z", NULL}},
	{"INTERVAL=2;WKST=SU;BYDAY=SU,SA;BYSETPOS=-1: the Saturdays",
	 CAL_HEAD
	 "BEGIN:VEVENT\r\nUID:f\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
	 "DTSTART;TZID=Europe/Berlin:20270104T090000\r\n"
	 "DTEND;TZID=Europe/Berlin:20270104T100000\r\n"
	 "RRULE:FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=SU,SA;BYSETPOS=-1\r\nEND:VEVENT\r\n" CAL_TAIL,
	 "2027-01-01T00:00:00Z",
	 "2027-02-07T00:00:00Z",
	 0,
	 {"2027-01-04T08:00:00Z 2027-01-04T09:00:00Z", "2027-01-09T08:00:00Z 2027-01-09T09:00:00Z",
	  "2027-01-23T08:00:00Z 2027-01-23T09:00:00Z", "2027-02-06T08:00:00Z 2027-02-06T09:00:00Z",
	  NULL}},
	{"INTERVAL=2;BYDAY=SU,SA;BYSETPOS=-1 (WKST=MO): the Sundays",
	 CAL_HEAD "BEGIN:VEVENT\r\nUID:f\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
		  "DTSTART;TZID=Europe/Berlin:20270104T090000\r\n"
		  "DTEND;TZID=Europe/Berlin:20270104T100000\r\n"
		  "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=SU,SA;BYSETPOS=-1\r\nEND:VEVENT\r\n" CAL_TAIL,
	 "2027-01-01T00:00:00Z",
	 "2027-02-08T00:00:00Z",
	 0,
	 {"2027-01-04T08:00:00Z 2027-01-04T09:00:00Z", "2027-01-10T08:00:00Z 2027-01-10T09:00:00Z",
	  "2027-01-24T08:00:00Z 2027-01-24T09:00:00Z", "2027-02-07T08:00:00Z 2027-02-07T09:00:00Z",
	  NULL}},
	{"INTERVAL=2;BYDAY=MO,WE,FR;BYSETPOS=1 from a Wednesday: Monday, past DTSTART, dropped",
	 CAL_HEAD
	 "BEGIN:VEVENT\r\nUID:f\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
	 "DTSTART;TZID=Europe/Berlin:20270106T090000\r\n"
	 "DTEND;TZID=Europe/Berlin:20270106T100000\r\n"
	 "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;BYSETPOS=1\r\nEND:VEVENT\r\n" CAL_TAIL,
	 "2027-01-01T00:00:00Z",
	 "2027-02-16T00:00:00Z",
	 0,
	 {"2027-01-06T08:00:00Z 2027-01-06T09:00:00Z", "2027-01-18T08:00:00Z 2027-01-18T09:00:00Z",
	  "2027-02-01T08:00:00Z 2027-02-01T09:00:00Z", "2027-02-15T08:00:00Z 2027-02-15T09:00:00Z",
	  NULL}},
	{"INTERVAL=2;BYDAY=SU;UNTIL (UTC, inclusive) across the spring-forward gap",
	 CAL_HEAD
	 "BEGIN:VEVENT\r\nUID:f\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
	 "DTSTART;TZID=Europe/Berlin:20270309T020000\r\n"
	 "DTEND;TZID=Europe/Berlin:20270309T030000\r\n"
	 "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=SU;UNTIL=20270411T000000Z\r\nEND:VEVENT\r\n" CAL_TAIL,
	 "2027-03-01T00:00:00Z",
	 "2027-06-01T00:00:00Z",
	 0,
	 {"2027-03-09T01:00:00Z 2027-03-09T02:00:00Z", "2027-03-14T01:00:00Z 2027-03-14T02:00:00Z",
	  "2027-03-28T01:00:00Z 2027-03-28T02:00:00Z", "2027-04-11T00:00:00Z 2027-04-11T01:00:00Z",
	  NULL}},
	{"all-day INTERVAL=2;BYDAY=SU with EXDATE, RDATE and a DATE UNTIL",
	 CAL_HEAD "BEGIN:VEVENT\r\nUID:f\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
		  "DTSTART;VALUE=DATE:20270105\r\n"
		  "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=SU;UNTIL=20270207\r\n"
		  "EXDATE;VALUE=DATE:20270124\r\nRDATE;VALUE=DATE:20270301\r\n"
		  "END:VEVENT\r\n" CAL_TAIL,
	 "2027-01-01T00:00:00Z",
	 "2027-06-01T00:00:00Z",
	 0,
	 {"2027-01-05T00:00:00Z 2027-01-06T00:00:00Z", "2027-01-10T00:00:00Z 2027-01-11T00:00:00Z",
	  "2027-02-07T00:00:00Z 2027-02-08T00:00:00Z", "2027-03-01T00:00:00Z 2027-03-02T00:00:00Z",
	  NULL}},
	{"timed INTERVAL=2;BYDAY=SU: a DATE UNTIL includes its whole day",
	 CAL_HEAD "BEGIN:VEVENT\r\nUID:f\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
		  "DTSTART;TZID=America/New_York:20270105T220000\r\nDURATION:PT1H\r\n"
		  "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=SU;UNTIL=20270207\r\n"
		  "EXDATE;TZID=America/New_York:20270110T220000\r\nEND:VEVENT\r\n" CAL_TAIL,
	 "2027-01-01T00:00:00Z",
	 "2027-06-01T00:00:00Z",
	 0,
	 {"2027-01-06T03:00:00Z 2027-01-06T04:00:00Z", "2027-01-25T03:00:00Z 2027-01-25T04:00:00Z",
	  "2027-02-08T03:00:00Z 2027-02-08T04:00:00Z", NULL}},
};

static void test_weekly_interval(void)
{
	for (size_t i = 0; i < sizeof weekly_cases / sizeof weekly_cases[0]; i++)
		run_case(&weekly_cases[i]);
}

/* No runaway: an endless rule is bounded by the horizon and the cap, also from long ago. */
static void test_bounded(void)
{
	static const char daily[] =
		CAL_HEAD "BEGIN:VEVENT\r\nUID:d\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:a\r\n"
			 "DTSTART:20260101T000000Z\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT\r\n" CAL_TAIL;
	static const char hourly[] =
		CAL_HEAD "BEGIN:VEVENT\r\nUID:s\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:a\r\n"
			 "DTSTART:19900101T000000Z\r\nRRULE:FREQ=HOURLY\r\nEND:VEVENT\r\n" CAL_TAIL;
	struct cal_set *set = parse(daily);
	json_t *arr =
		cal_expand(set, iso_ms("2026-01-01T00:00:00Z"), iso_ms("2036-01-01T00:00:00Z"), 0);
	CHECK_INT(json_array_size(arr), 400); /* horizon: 400 days */
	json_decref(arr);
	cal_free(set);

	/* 36 years of hours skipped, then 400 days x 24 h, under the 10000 cap */
	set = parse(hourly);
	clock_t t0 = clock();
	arr = cal_expand(set, iso_ms("2026-06-01T00:00:00Z"), iso_ms("2030-01-01T00:00:00Z"),
			 100000);
	CHECK_INT(json_array_size(arr), 400 * 24);
	CHECK_STR(json_string_value(json_object_get(json_array_get(arr, 0), "start")),
		  "2026-06-01T00:00:00Z");
	CHECKF(clock() - t0 < 5 * CLOCKS_PER_SEC, "took %ld ticks", (long)(clock() - t0));
	json_decref(arr);
	cal_free(set);
}

static void test_mapping(void)
{
	static const char text[] =
		CAL_HEAD "BEGIN:VEVENT\r\nUID:w1\r\nSUMMARY:DB window\r\n"
			 "CATEGORIES:OPS,MAINTENANCE-WINDOW\r\nX-TRANSOM-SERVICES:payments, db\r\n"
			 "X-TRANSOM-CAPACITY:3\r\nDTSTART:20260105T090000Z\r\nDURATION:PT1H\r\nEND:"
			 "VEVENT\r\n"
			 "BEGIN:VEVENT\r\nUID:f1\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
			 "X-TRANSOM-HARDNESS:soft\r\nDTSTART:20260106T090000Z\r\nEND:VEVENT\r\n"
			 "BEGIN:VEVENT\r\nUID:f2\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:web\r\n"
			 "DTSTART:20260107T090000Z\r\nEND:VEVENT\r\n" CAL_TAIL;
	struct cal_set *set = parse(text);
	CHECK(set != NULL);
	CHECK_INT(cal_event_count(set), 3);
	json_t *arr =
		cal_expand(set, iso_ms("2026-01-01T00:00:00Z"), iso_ms("2026-02-01T00:00:00Z"), 0);
	CHECK_INT(json_array_size(arr), 3);
	json_t *w = json_array_get(arr, 0), *f1 = json_array_get(arr, 1),
	       *f2 = json_array_get(arr, 2);
	CHECK_STR(json_string_value(json_object_get(w, "kind")), "window");
	CHECK_STR(json_string_value(json_object_get(w, "summary")), "DB window");
	CHECK_INT(json_integer_value(json_object_get(w, "capacity")), 3);
	CHECK_INT(json_array_size(json_object_get(w, "services")), 2);
	CHECK_STR(json_string_value(json_array_get(json_object_get(w, "services"), 1)), "db");
	CHECK(json_is_null(json_object_get(w, "recurrence_id")));
	CHECK_STR(json_string_value(json_object_get(f1, "kind")), "freeze");
	CHECK(json_is_false(json_object_get(f1, "hard")));
	CHECK_STR(json_string_value(json_object_get(f1, "services")), "*");
	CHECK(json_is_true(json_object_get(f2, "hard"))); /* default */
	CHECK_STR(json_string_value(json_object_get(f2, "uid")), "f2");
	json_decref(arr);
	cal_free(set);
}

/* Whether name list `v` (n names; NULL: "*") says what JSON `j` says. */
static bool names_match(const char **v, size_t n, json_t *j)
{
	if (v == NULL)
		return json_is_string(j) && strcmp(json_string_value(j), "*") == 0;
	if (!json_is_array(j) || json_array_size(j) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], json_string_value(json_array_get(j, i))) != 0)
			return false;
	return true;
}

/* cal_expand_list() gives the instances cal_expand() gives, member by member. */
static void expand_list_matches(const char *name, const char *text, const char *from,
				const char *to, size_t cap)
{
	struct cal_set *set = parse(text);
	json_t *arr = cal_expand(set, iso_ms(from), iso_ms(to), cap);
	struct cal_instances l = {0};
	static const char *const kinds[] = {"window", "freeze", "meeting"};

	CHECKF(set != NULL && arr != NULL, "%s: parse failed", name);
	CHECKF(cal_expand_list(set, iso_ms(from), iso_ms(to), cap, &l) == 0, "%s", name);
	CHECKF(l.n == json_array_size(arr), "%s: %zu structs, %zu objects", name, l.n,
	       json_array_size(arr));
	for (size_t i = 0; i < l.n && i < json_array_size(arr); i++) {
		const struct cal_instance *c = &l.v[i];
		json_t *o = json_array_get(arr, i);
		const char *tzid = json_string_value(json_object_get(o, "tzid"));
		CHECKF(strcmp(c->uid, json_string_value(json_object_get(o, "uid"))) == 0 &&
			       strcmp(c->summary,
				      json_string_value(json_object_get(o, "summary"))) == 0 &&
			       strcmp(kinds[c->kind],
				      json_string_value(json_object_get(o, "kind"))) == 0 &&
			       c->hard == json_is_true(json_object_get(o, "hard")) &&
			       c->capacity == json_integer_value(json_object_get(o, "capacity")) &&
			       c->start_ms == json_integer_value(json_object_get(o, "start_ms")) &&
			       c->end_ms == json_integer_value(json_object_get(o, "end_ms")) &&
			       c->recurring ==
				       json_is_string(json_object_get(o, "recurrence_id")) &&
			       (c->tzid == NULL ? tzid == NULL
						: tzid != NULL && strcmp(c->tzid, tzid) == 0) &&
			       names_match(c->services, c->n_services,
					   json_object_get(o, "services")) &&
			       c->environments != NULL &&
			       names_match(c->environments, c->n_environments,
					   json_object_get(o, "environments")),
		       "%s[%zu]: struct and JSON differ", name, i);
	}
	/* appending: a second expansion adds the same instances after the first */
	size_t n = l.n;
	CHECKF(cal_expand_list(set, iso_ms(from), iso_ms(to), cap, &l) == 0 && l.n == 2 * n,
	       "%s: append", name);
	cal_instances_clear(&l);
	CHECK(l.n == 0 && l.v == NULL);
	json_decref(arr);
	cal_free(set);
}

static void test_expand_list(void)
{
	static const char text[] =
		CAL_HEAD "BEGIN:VEVENT\r\nUID:w1\r\nSUMMARY:DB window\r\n"
			 "CATEGORIES:MAINTENANCE-WINDOW\r\nX-TRANSOM-SERVICES:payments, db\r\n"
			 "X-TRANSOM-ENVIRONMENTS:staging\r\nDTSTART:20260105T090000Z\r\n"
			 "DURATION:PT1H\r\nRRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\n"
			 "BEGIN:VEVENT\r\nUID:f1\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
			 "X-TRANSOM-HARDNESS:soft\r\nDTSTART:20260106T090000Z\r\nEND:VEVENT\r\n"
			 "BEGIN:VEVENT\r\nUID:m1\r\nCATEGORIES:CAB-MEETING\r\n"
			 "DTSTART;TZID=Europe/Berlin:20260107T090000\r\nEND:VEVENT\r\n" CAL_TAIL;

	expand_list_matches("mapping", text, "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", 0);
	struct cal_set *set = parse(text);
	struct cal_instances l = {0};
	CHECK(cal_expand_list(set, iso_ms("2026-01-01T00:00:00Z"), iso_ms("2026-02-01T00:00:00Z"),
			      0, &l) == 0);
	CHECK_INT(l.n, 5); /* three windows, a freeze, a meeting */
	CHECK(l.n == 5 && l.v[0].kind == CAL_INST_WINDOW && l.v[0].n_services == 2 &&
	      strcmp(l.v[0].environments[0], "staging") == 0 && l.v[0].capacity == 1 &&
	      l.v[0].recurring);
	CHECK(l.n == 5 && l.v[1].kind == CAL_INST_FREEZE && !l.v[1].hard &&
	      l.v[1].services == NULL && strcmp(l.v[1].environments[0], "production") == 0);
	cal_instances_clear(&l);
	cal_free(set);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		expand_list_matches(cases[i].name, cases[i].text, cases[i].from, cases[i].to,
				    cases[i].cap);

	CHECK(cal_expand_list(NULL, 0, 1, 0, &l) == 0 && l.n == 0);
	cal_instances_clear(&l);
	cal_instances_clear(NULL);
}

static void test_parse_errors(void)
{
	static const char text[] = CAL_HEAD
		"BEGIN:VEVENT\r\nUID:ok\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:a\r\n"
		"DTSTART:20260105T090000Z\r\nEND:VEVENT\r\n"
		"BEGIN:VEVENT\r\nUID:b\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:a\r\nEND:"
		"VEVENT\r\n"
		"BEGIN:VEVENT\r\nUID:c\r\nCATEGORIES:MEETING\r\nX-TRANSOM-SERVICES:a\r\n"
		"DTSTART:20260105T090000Z\r\nEND:VEVENT\r\n"
		"BEGIN:VEVENT\r\nUID:d\r\nCATEGORIES:MAINTENANCE-WINDOW\r\nX-TRANSOM-SERVICES:a\r\n"
		"X-TRANSOM-CAPACITY:-2\r\nDTSTART;TZID=Mars/"
		"Olympus:20260105T090000\r\nEND:VEVENT\r\n"
		"BEGIN:VEVENT\r\nUID:e\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:a\r\n"
		"X-TRANSOM-HARDNESS:medium\r\nDTSTART:2026XX05T090000Z\r\nEND:VEVENT\r\n" CAL_TAIL;
	struct diags d = {0};
	struct cal_set *set = cal_parse("policies/freezes.ics", text, strlen(text), &d);
	CHECK(set == NULL);
	char *all = diags_join(&d);
	CHECK(all != NULL);
	static const char *const want[] = {
		"policies/freezes.ics: VEVENT[1] (UID b): missing DTSTART\n",
		"policies/freezes.ics: VEVENT[2] (UID c): unknown category",
		"policies/freezes.ics: VEVENT[3] (UID d): X-TRANSOM-CAPACITY must be a positive "
		"integer\n",
		"policies/freezes.ics: VEVENT[4] (UID e): X-TRANSOM-HARDNESS must be 'hard' or "
		"'soft'\n",
		"policies/freezes.ics: VEVENT[4] (UID e): parse error",
	};
	for (size_t i = 0; all != NULL && i < sizeof want / sizeof want[0]; i++)
		CHECKF(strstr(all, want[i]) != NULL, "missing \"%s\" in:\n%s", want[i], all);
	CHECKF(all != NULL && strstr(all, "VEVENT[0]") == NULL, "VEVENT[0] is valid:\n%s", all);
	free(all);
	diags_clear(&d);

	/* the unknown TZID, reported once the properties are valid */
	static const char tz[] = CAL_HEAD
		"BEGIN:VEVENT\r\nUID:d\r\nCATEGORIES:MAINTENANCE-WINDOW\r\nX-TRANSOM-SERVICES:a\r\n"
		"DTSTART;TZID=Mars/Olympus:20260105T090000\r\nEND:VEVENT\r\n" CAL_TAIL;
	CHECK(cal_parse("x.ics", tz, strlen(tz), &d) == NULL);
	CHECK_INT(d.n, 1);
	if (d.n == 1) {
		CHECK_STR(d.v[0].path, "VEVENT[0] (UID d)");
		CHECK_STR(d.v[0].message, "DTSTART: unknown TZID");
	}
	diags_clear(&d);
}

static void test_garbage(void)
{
	static const char *const inputs[] = {
		"",
		"hello world",
		"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:garbage\r\n",
		"BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\n",
		CAL_HEAD
		"BEGIN:VEVENT\r\nUID:x\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:a\r\n"
		"DTSTART:20260101T000000Z\r\nRRULE:FREQ=FORTNIGHTLY\r\nEND:VEVENT\r\n" CAL_TAIL,
		CAL_HEAD "BEGIN:VEVENT\r\nUID:x\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:a b\r\n"
			 "DTSTART:20260101T000000Z\r\nEND:VEVENT\r\n" CAL_TAIL,
		/* rules on which libical 3.0.16 spins for minutes: refused at parse time */
		CAL_HEAD "BEGIN:VEVENT\r\nUID:x\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:a\r\n"
			 "DTSTART:20260101T000000Z\r\nRRULE:FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30\r\n"
			 "END:VEVENT\r\n" CAL_TAIL,
		CAL_HEAD
		"BEGIN:VEVENT\r\nUID:x\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:a\r\n"
		"DTSTART:20260101T000000Z\r\nRRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30\r\n"
		"END:VEVENT\r\n" CAL_TAIL,
		CAL_HEAD "BEGIN:VEVENT\r\nUID:x\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:a\r\n"
			 "DTSTART:20260101T000000Z\r\nRRULE:FREQ=HOURLY;BYDAY=1MO;BYMONTH=2\r\n"
			 "END:VEVENT\r\n" CAL_TAIL,
		"BEGIN:VCALENDAR\r\nUID:\xff\xfe\r\nEND:VCALENDAR\r\n",
	};
	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		struct diags d = {0};
		struct cal_set *set = cal_parse("g.ics", inputs[i], strlen(inputs[i]), &d);
		CHECKF(set == NULL, "input %zu accepted", i);
		CHECKF(d.n > 0, "input %zu: no diagnostic", i);
		cal_free(set);
		diags_clear(&d);
	}
	static const char nul[] = "BEGIN:VCALENDAR\0END:VCALENDAR\r\n";
	struct diags d = {0};
	CHECK(cal_parse("n.ics", nul, sizeof nul - 1, &d) == NULL);
	CHECK_INT(d.n, 1);
	diags_clear(&d);
	cal_free(NULL);
}

/* The warnings of `set` joined by newlines (owned). */
static char *warnings_of(const struct cal_set *set)
{
	char *out = NULL;
	size_t len = 0, i;
	FILE *m = open_memstream(&out, &len);
	json_t *w;
	json_array_foreach(cal_warnings(set), i, w)
		fprintf(m, "%s\n", json_string_value(w));
	fclose(m);
	return out;
}

/* One instance "start end" of `set` over 2026..2027, index `i`, into buf. */
static const char *nth(const struct cal_set *set, size_t i, char *buf, size_t size)
{
	json_t *arr =
		cal_expand(set, iso_ms("2026-01-01T00:00:00Z"), iso_ms("2027-01-01T00:00:00Z"), 0);
	json_t *v = json_array_get(arr, i);
	snprintf(buf, size, "%s %s", v ? json_string_value(json_object_get(v, "start")) : "none",
		 v ? json_string_value(json_object_get(v, "end")) : "none");
	json_decref(arr);
	return buf;
}

/* Issue 17.1: empty TEXT/URI values are left out with a warning, not a broken calendar. */
static void test_empty_values(void)
{
	static const char text[] =
		CAL_HEAD "X-WR-CALDESC:\r\n"
			 "BEGIN:VEVENT\r\nUID:e\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
			 "DTSTART:20260105T090000Z\r\nDTEND:20260105T100000Z\r\nLOCATION:\r\n"
			 "DESCRIPTION:\r\nURL;VALUE=URI:\r\nX-APPLE-TRAVEL-ADVISORY-BEHAVIOR:\r\n"
			 "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:\r\n"
			 "END:VALARM\r\nEND:VEVENT\r\n" CAL_TAIL;
	struct diags d = {0};
	struct cal_set *set = cal_parse("policies/freezes.ics", text, strlen(text), &d);
	CHECK(set != NULL);
	CHECK_INT(d.n, 0);
	char *w = warnings_of(set), buf[100];
	static const char *const want[] = {
		"policies/freezes.ics: VEVENT[0] (UID e): LOCATION left out: No value for LOCATION",
		"policies/freezes.ics: VEVENT[0] (UID e): DESCRIPTION left out",
		"policies/freezes.ics: VEVENT[0] (UID e): URL left out",
		"policies/freezes.ics: VEVENT[0] (UID e): X-property left out",
		"policies/freezes.ics: VCALENDAR: X-property left out",
		"policies/freezes.ics: VEVENT[0] (UID e): VALARM DESCRIPTION left out",
	};
	for (size_t i = 0; w != NULL && i < sizeof want / sizeof want[0]; i++)
		CHECKF(strstr(w, want[i]) != NULL, "missing \"%s\" in:\n%s", want[i], w);
	CHECK_STR(nth(set, 0, buf, sizeof buf), "2026-01-05T09:00:00Z 2026-01-05T10:00:00Z");
	free(w);
	cal_free(set);
	diags_clear(&d);

	/* what places the event stays fatal */
	static const char *const fatal[] = {"DTEND:\r\n",   "DTEND:soon\r\n",
					    "RRULE:\r\n",   "RRULE:FREQ=SOMETIMES\r\n",
					    "EXDATE:x\r\n", "DURATION:\r\n"};
	for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) {
		char bad[600];
		snprintf(bad, sizeof bad,
			 CAL_HEAD "BEGIN:VEVENT\r\nUID:f\r\nCATEGORIES:FREEZE\r\n"
				  "X-TRANSOM-SERVICES:*\r\nDTSTART:20260105T090000Z\r\n%s"
				  "LOCATION:\r\nEND:VEVENT\r\n" CAL_TAIL,
			 fatal[i]);
		set = cal_parse("f.ics", bad, strlen(bad), &d);
		CHECKF(set == NULL, "fatal %zu (%s) accepted", i, fatal[i]);
		CHECKF(d.n > 0 && strstr(d.v[0].message, "parse error") != NULL, "fatal %zu: %s", i,
		       d.n ? d.v[0].message : "no diagnostic");
		cal_free(set);
		diags_clear(&d);
	}
}

/* Issue 17.3: a fold inside a UTF-8 sequence is unfolded before the text is decoded. */
static void test_fold_splits_utf8(void)
{
	static const char text[] =
		CAL_HEAD "BEGIN:VEVENT\r\nUID:u\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
			 "SUMMARY:Gr\xc3\r\n "
			 "\xbc\xc3\x9f\n\te\r\nDTSTART:20260105T090000Z\r\nEND:VEVENT\r\n" CAL_TAIL;
	struct cal_set *set = parse(text);
	CHECK(set != NULL);
	json_t *arr =
		cal_expand(set, iso_ms("2026-01-01T00:00:00Z"), iso_ms("2027-01-01T00:00:00Z"), 0);
	CHECK_STR(json_string_value(json_object_get(json_array_get(arr, 0), "summary")),
		  "Gr\xc3\xbc\xc3\x9f"
		  "e");
	json_decref(arr);
	cal_free(set);
	/* still refused: invalid UTF-8 that no unfolding explains */
	static const char bad[] = CAL_HEAD
		"BEGIN:VEVENT\r\nUID:u\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
		"SUMMARY:Gr\xc3\r\nX\xbc\r\nDTSTART:20260105T090000Z\r\nEND:VEVENT\r\n" CAL_TAIL;
	struct diags d = {0};
	CHECK(cal_parse("b.ics", bad, strlen(bad), &d) == NULL);
	CHECK(d.n == 1 && strstr(d.v[0].message, "not valid UTF-8") != NULL);
	diags_clear(&d);
}

/* Issue 17.4: DTSTART is an instance even when its RRULE does not produce it. */
static void test_dtstart_off_rule(void)
{
	static const char text[] =
		CAL_HEAD "BEGIN:VEVENT\r\nUID:wk\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
			 "DTSTART;TZID=Europe/Berlin:20260605T180000\r\n"
			 "DTEND;TZID=Europe/Berlin:20260605T230000\r\n"
			 "RRULE:FREQ=WEEKLY;BYDAY=SA,SU;COUNT=2\r\nEND:VEVENT\r\n" CAL_TAIL;
	struct cal_set *set = parse(text);
	CHECK(set != NULL);
	char buf[100];
	/* DTSTART counts towards COUNT (RFC 5545 3.8.5.3): Friday, then one rule day */
	CHECK_STR(nth(set, 0, buf, sizeof buf), "2026-06-05T16:00:00Z 2026-06-05T21:00:00Z");
	CHECK_STR(nth(set, 1, buf, sizeof buf), "2026-06-06T16:00:00Z 2026-06-06T21:00:00Z");
	CHECK_STR(nth(set, 2, buf, sizeof buf), "none none");
	char *w = warnings_of(set);
	CHECKF(w != NULL && strstr(w, "t.ics: VEVENT[0] (UID wk): DTSTART does not match its "
				      "RRULE") != NULL,
	       "warnings:\n%s", w ? w : "");
	free(w);
	cal_free(set);
	/* a DTSTART the rule produces: once, and no warning */
	static const char ok[] =
		CAL_HEAD "BEGIN:VEVENT\r\nUID:ok\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
			 "DTSTART:20260606T180000Z\r\nRRULE:FREQ=WEEKLY;BYDAY=SA;COUNT=2\r\n"
			 "END:VEVENT\r\n" CAL_TAIL;
	set = parse(ok);
	CHECK_STR(nth(set, 0, buf, sizeof buf), "2026-06-06T18:00:00Z 2026-06-06T18:00:00Z");
	CHECK_STR(nth(set, 1, buf, sizeof buf), "2026-06-13T18:00:00Z 2026-06-13T18:00:00Z");
	CHECK_STR(nth(set, 2, buf, sizeof buf), "none none");
	CHECK_INT(json_array_size(cal_warnings(set)), 0);
	cal_free(set);
	/* the same outside the weekly path (libical's iterator): the 10th, then one 15th */
	static const char monthly[] =
		CAL_HEAD "BEGIN:VEVENT\r\nUID:mo\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
			 "DTSTART:20260610T080000Z\r\nDTEND:20260610T090000Z\r\n"
			 "RRULE:FREQ=MONTHLY;BYMONTHDAY=15;COUNT=2\r\nEND:VEVENT\r\n" CAL_TAIL;
	set = parse(monthly);
	CHECK_STR(nth(set, 0, buf, sizeof buf), "2026-06-10T08:00:00Z 2026-06-10T09:00:00Z");
	CHECK_STR(nth(set, 1, buf, sizeof buf), "2026-06-15T08:00:00Z 2026-06-15T09:00:00Z");
	CHECK_STR(nth(set, 2, buf, sizeof buf), "none none");
	cal_free(set);
	static const char once[] =
		CAL_HEAD "BEGIN:VEVENT\r\nUID:o1\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
			 "DTSTART:20260610T080000Z\r\nDTEND:20260610T090000Z\r\n"
			 "RRULE:FREQ=MONTHLY;BYMONTHDAY=15;COUNT=1\r\nEND:VEVENT\r\n" CAL_TAIL;
	set = parse(once);
	CHECK_STR(nth(set, 0, buf, sizeof buf), "2026-06-10T08:00:00Z 2026-06-10T09:00:00Z");
	CHECK_STR(nth(set, 1, buf, sizeof buf), "none none");
	cal_free(set);
}

/* Issue 17.5: floating times and dates are in the calendar's zone. */
static void test_floating_zone(void)
{
	char text[800], buf[100];
	static const char body[] =
		"BEGIN:VEVENT\r\nUID:fl\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
		"DTSTART:20260105T100000\r\nDTEND:20260105T120000\r\nEND:VEVENT\r\n"
		"BEGIN:VEVENT\r\nUID:ad\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
		"DTSTART;VALUE=DATE:20260710\r\nDTEND;VALUE=DATE:20260712\r\nEND:VEVENT\r\n";
	struct diags d = {0};

	/* X-WR-TIMEZONE (Google's exports) */
	snprintf(text, sizeof text, CAL_HEAD "X-WR-TIMEZONE:Europe/Berlin\r\n%s" CAL_TAIL, body);
	struct cal_set *set = parse(text);
	CHECK_STR(nth(set, 0, buf, sizeof buf), "2026-01-05T09:00:00Z 2026-01-05T11:00:00Z");
	CHECK_STR(nth(set, 1, buf, sizeof buf), "2026-07-09T22:00:00Z 2026-07-11T22:00:00Z");
	cal_free(set);

	/* the site zone when the file declares none; a New York all-day freeze ends at
	 * midnight New York time on its last day, not 19:00 the evening before */
	snprintf(text, sizeof text, CAL_HEAD "%s" CAL_TAIL, body);
	struct cal_zones ny = {NULL, "America/New_York"};
	set = cal_parse_in("t.ics", text, strlen(text), &ny, &d);
	CHECK(set != NULL);
	CHECK_STR(nth(set, 0, buf, sizeof buf), "2026-01-05T15:00:00Z 2026-01-05T17:00:00Z");
	CHECK_STR(nth(set, 1, buf, sizeof buf), "2026-07-10T04:00:00Z 2026-07-12T04:00:00Z");
	cal_free(set);

	/* without any zone: UTC, as before */
	set = parse(text);
	CHECK_STR(nth(set, 0, buf, sizeof buf), "2026-01-05T10:00:00Z 2026-01-05T12:00:00Z");
	cal_free(set);

	/* the calendar's configured zone wins over X-WR-TIMEZONE, which wins over the site's */
	snprintf(text, sizeof text, CAL_HEAD "X-WR-TIMEZONE:Europe/Berlin\r\n%s" CAL_TAIL, body);
	struct cal_zones tokyo = {"Asia/Tokyo", "America/New_York"};
	set = cal_parse_in("t.ics", text, strlen(text), &tokyo, &d);
	CHECK_STR(nth(set, 0, buf, sizeof buf), "2026-01-05T01:00:00Z 2026-01-05T03:00:00Z");
	cal_free(set);
	set = cal_parse_in("t.ics", text, strlen(text), &ny, &d);
	CHECK_STR(nth(set, 0, buf, sizeof buf), "2026-01-05T09:00:00Z 2026-01-05T11:00:00Z");
	cal_free(set);
	CHECK_INT(d.n, 0);

	/* an unknown X-WR-TIMEZONE is a warning (the site zone applies), an unknown
	 * configured zone an error */
	snprintf(text, sizeof text, CAL_HEAD "X-WR-TIMEZONE:Mars/Olympus\r\n%s" CAL_TAIL, body);
	set = cal_parse_in("t.ics", text, strlen(text), &ny, &d);
	CHECK(set != NULL);
	CHECK_STR(nth(set, 0, buf, sizeof buf), "2026-01-05T15:00:00Z 2026-01-05T17:00:00Z");
	char *w = warnings_of(set);
	CHECKF(w != NULL && strstr(w, "X-WR-TIMEZONE 'Mars/Olympus' is not a known zone") != NULL,
	       "warnings:\n%s", w ? w : "");
	free(w);
	cal_free(set);
	struct cal_zones bad = {NULL, "Mars/Olympus"};
	CHECK(cal_parse_in("t.ics", text, strlen(text), &bad, &d) == NULL);
	CHECK(d.n >= 1 && strstr(d.v[0].message, "unknown time zone 'Mars/Olympus'") != NULL);
	diags_clear(&d);
	CHECK(cal_zone_known("Europe/Berlin"));
	CHECK(!cal_zone_known("Mars/Olympus"));
	CHECK(!cal_zone_known("../etc/passwd"));
}

struct thread_arg {
	const struct cal_set *set;
	char *dump;
};

static void *expand_thread(void *p)
{
	struct thread_arg *a = p;
	for (int i = 0; i < 20; i++) {
		struct cal_set *own = parse(cases[7].text); /* parsing concurrently too */
		json_t *mine = cal_expand(own, 0, 1, 0);
		if (own == NULL || mine == NULL)
			harness_failures_in_test++;
		json_decref(mine);
		cal_free(own);
		json_t *arr = cal_expand(a->set, iso_ms("2026-01-01T00:00:00Z"),
					 iso_ms("2027-01-01T00:00:00Z"), 0);
		free(a->dump);
		a->dump = json_dumps(arr, JSON_COMPACT);
		json_decref(arr);
	}
	return NULL;
}

static void test_threads(void)
{
	struct cal_set *set = parse(cases[0].text);
	struct thread_arg args[4] = {{set, NULL}, {set, NULL}, {set, NULL}, {set, NULL}};
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, expand_thread, &args[i]);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 4; i++)
		CHECK(args[i].dump != NULL && args[0].dump != NULL &&
		      strcmp(args[i].dump, args[0].dump) == 0);
	CHECK(args[0].dump != NULL && strstr(args[0].dump, "2026-03-29T09:00:00Z") != NULL);
	for (int i = 0; i < 4; i++)
		free(args[i].dump);
	cal_free(set);
}

static void test_init(void)
{
	cal_init();
	cal_init(); /* idempotent */
	CHECK(1);
}

TESTS(test_init, test_expand_table, test_bounded, test_mapping, test_parse_errors, test_garbage,
      test_threads, test_empty_values, test_fold_splits_utf8, test_dtstart_off_rule,
      test_floating_zone, test_weekly_interval, test_expand_list)
