/*
 * test_feed.c -- unit tests of service/calendar/feed: iCalendar feeds and free/busy
 * output (times, zones, escaping, folding, determinism, errors), each re-parsed by
 * libical (cal_text_check, cal_parse) and by python3-icalendar
 * (tests/calendar/validate_feed.py); and CAB meetings in cal_parse/cal_expand.
 */
#include <pthread.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "calendar/calendar.h"
#include "calendar/feed.h"
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

static json_t *items_of(const char *json)
{
	json_error_t e;
	json_t *v = json_loads(json, 0, &e);
	if (v == NULL)
		fprintf(stderr, "  bad test JSON: %s (line %d)\n", e.text, e.line);
	return v;
}

/* The text with folding undone (CRLF + one space or tab removed).  Owned. */
static char *unfold(const char *text)
{
	size_t n = strlen(text), k = 0;
	char *out = malloc(n + 3);
	out[k++] = '\r'; /* so that every line, the first too, is preceded by CRLF */
	out[k++] = '\n';
	for (size_t i = 0; i < n; i++) {
		if (text[i] == '\r' && text[i + 1] == '\n' &&
		    (text[i + 2] == ' ' || text[i + 2] == '\t')) {
			i += 2;
			continue;
		}
		out[k++] = text[i];
	}
	out[k] = '\0';
	return out;
}

/* Number of unfolded lines of `text` equal to `line`. */
static int count_line(const char *text, const char *line)
{
	char *u = unfold(text), pat[1024];
	int n = 0;
	snprintf(pat, sizeof pat, "\r\n%s\r\n", line);
	for (const char *p = u; (p = strstr(p, pat)) != NULL; p += 2)
		n++;
	free(u);
	return n;
}

#define CHECK_LINE(text, line) CHECKF(count_line(text, line) == 1, "line \"%s\" not once", line)
#define CHECK_NO(text, s)      CHECKF(strstr(text, s) == NULL, "\"%s\" present", s)

/* Whether s[0..n) is well-formed UTF-8 (structure only). */
static bool utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = s[i] < 0x80             ? 0
			   : (s[i] & 0xE0) == 0xC0 ? 1
			   : (s[i] & 0xF0) == 0xE0 ? 2
						   : 3;
		if ((s[i] & 0xC0) == 0x80 || i + k >= n + (k == 0))
			return false;
		for (size_t j = 1; j <= k; j++)
			if (i + j >= n || (s[i + j] & 0xC0) != 0x80)
				return false;
		i += k + 1;
	}
	return true;
}

/* CRLF everywhere, lines of at most 75 octets, each line whole UTF-8 characters. */
static void check_shape(const char *text, size_t len)
{
	CHECK_INT(strlen(text), len);
	CHECK(len >= 2 && text[len - 2] == '\r' && text[len - 1] == '\n');
	const char *line = text;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n')
			CHECKF(i > 0 && text[i - 1] == '\r', "bare LF at %zu", i);
		if (text[i] == '\r')
			CHECKF(text[i + 1] == '\n', "bare CR at %zu", i);
		if (text[i] == '\r') {
			size_t n = (size_t)(text + i - line);
			CHECKF(n <= 75, "line of %zu octets: %.80s", n, line);
			CHECKF(utf8_ok((const unsigned char *)line, n), "split UTF-8: %.80s", line);
			line = text + i + 2;
		}
	}
	char err[256];
	int n = cal_text_check(text, len, err, sizeof err);
	CHECKF(n == 0, "libical re-parse: %d errors, first: %s", n, err);
}

/*
 * Runs validate_feed.py on `n` texts written to temporary files; its exit status.  Its
 * report goes to stderr, or nowhere when `quiet` (texts meant to fail).
 */
static int validate_run(const char *const *texts, size_t n, bool quiet)
{
	char cmd[4096] = "/usr/bin/python3 tests/calendar/validate_feed.py";
	char names[8][64];
	for (size_t i = 0; i < n && i < 8; i++) {
		snprintf(names[i], sizeof names[i], "/tmp/transom-feed-XXXXXX.ics");
		int fd = mkstemps(names[i], 4);
		if (fd < 0)
			return -1;
		size_t len = strlen(texts[i]);
		bool ok = write(fd, texts[i], len) == (ssize_t)len;
		close(fd);
		if (!ok)
			return -1;
		strncat(cmd, " ", sizeof cmd - strlen(cmd) - 1);
		strncat(cmd, names[i], sizeof cmd - strlen(cmd) - 1);
	}
	strncat(cmd, quiet ? " >/dev/null 2>&1" : " 1>&2", sizeof cmd - strlen(cmd) - 1);
	int st = system(cmd);
	for (size_t i = 0; i < n && i < 8; i++)
		unlink(names[i]);
	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

static int validate(const char *const *texts, size_t n)
{
	return validate_run(texts, n, false);
}

/* Builds a feed of `json` items; NULL (with the error printed) on failure. */
static char *build(const struct cal_feed *f, const char *json, size_t *len)
{
	json_t *items = items_of(json);
	struct tr_error err = {0};
	char *text = cal_feed_build(f, items, len, &err);
	if (text == NULL)
		fprintf(stderr, "  build failed: %s\n", err.detail);
	json_decref(items);
	return text;
}

/* The expansion of calendar `text` (parsed by cal_parse) over 2026..2027. */
static json_t *expand(const char *text, size_t len)
{
	struct diags d = {0};
	struct cal_set *set = cal_parse("feed.ics", text, len, &d);
	if (set == NULL) {
		char *s = diags_join(&d);
		fprintf(stderr, "  cal_parse errors:\n%s", s ? s : "");
		free(s);
	}
	diags_clear(&d);
	json_t *arr =
		cal_expand(set, iso_ms("2026-01-01T00:00:00Z"), iso_ms("2027-01-01T00:00:00Z"), 0);
	cal_free(set);
	return arr;
}

/* ---- feeds ----------------------------------------------------------------------------- */

static const char utc_items[] =
	"[{\"uid\": \"chg-12@transom\", \"summary\": \"Upgrade core routers\","
	"  \"description\": \"Approved by CAB\", \"start_ms\": 1767603600000,"
	"  \"end_ms\": 1767610800000, \"url\": \"https://transom.example/changes/CHG-12\","
	"  \"sequence\": 3, \"dtstamp_ms\": 1767000000000, \"last_modified_ms\": 1766990000000,"
	"  \"categories\": [\"CHANGE\", \"NETWORK\"], \"status\": \"CONFIRMED\","
	"  \"transp\": \"TRANSPARENT\", \"location\": \"DC1\","
	"  \"x\": {\"X-TRANSOM-CHANGE\": \"CHG-12\", \"X-TRANSOM-RISK\": \"high\"}},"
	" {\"uid\": \"chg-7@transom\", \"summary\": \"Second\", \"start_ms\": 1767600000000,"
	"  \"end_ms\": 1767600000000, \"last_modified_ms\": 1766000000000,"
	"  \"description\": null}]";

static void test_utc_feed(void)
{
	cal_init();
	struct cal_feed f = {.name = "Transom changes", .refresh_seconds = 900};
	size_t len = 0;
	char *t = build(&f, utc_items, &len);
	CHECK(t != NULL);
	if (t == NULL)
		return;
	check_shape(t, len);
	CHECK(strncmp(t, "BEGIN:VCALENDAR\r\nPRODID:-//Transom//Transom 1.0//EN\r\n", 51) == 0);
	CHECK_LINE(t, "VERSION:2.0");
	CHECK_LINE(t, "CALSCALE:GREGORIAN");
	CHECK_LINE(t, "NAME:Transom changes");
	CHECK_LINE(t, "X-WR-CALNAME:Transom changes");
	CHECK_LINE(t, "REFRESH-INTERVAL;VALUE=DURATION:PT15M");
	CHECK_LINE(t, "X-PUBLISHED-TTL:PT15M");
	CHECK_LINE(t, "UID:chg-12@transom");
	CHECK_LINE(t, "DTSTAMP:20251229T092000Z");
	CHECK_LINE(t, "DTSTART:20260105T090000Z");
	CHECK_LINE(t, "DTEND:20260105T110000Z");
	CHECK_LINE(t, "SEQUENCE:3");
	CHECK_LINE(t, "SUMMARY:Upgrade core routers");
	CHECK_LINE(t, "DESCRIPTION:Approved by CAB");
	CHECK_LINE(t, "LOCATION:DC1");
	CHECK_LINE(t, "URL:https://transom.example/changes/CHG-12");
	CHECK_LINE(t, "STATUS:CONFIRMED");
	CHECK_LINE(t, "TRANSP:TRANSPARENT");
	CHECK_LINE(t, "CATEGORIES:CHANGE,NETWORK");
	CHECK_LINE(t, "LAST-MODIFIED:20251229T063320Z");
	CHECK_LINE(t, "X-TRANSOM-CHANGE:CHG-12");
	CHECK_LINE(t, "X-TRANSOM-RISK:high");
	/* the second item: zero length, DTSTAMP from LAST-MODIFIED, no DESCRIPTION */
	CHECK_LINE(t, "DTSTART:20260105T080000Z");
	CHECK_LINE(t, "DTEND:20260105T080000Z");
	CHECK_LINE(t, "DTSTAMP:20251217T193320Z");
	CHECK_INT(count_line(t, "BEGIN:VEVENT"), 2);
	CHECK(strstr(t, "chg-12@") < strstr(t, "chg-7@")); /* item order, not time order */
	CHECK_NO(t, "METHOD");
	CHECK_NO(t, "ATTENDEE");
	CHECK_NO(t, "ORGANIZER");
	CHECK_NO(t, "VTIMEZONE");
	CHECK_NO(t, "TZID");
	const char *texts[] = {t};
	CHECK_INT(validate(texts, 1), 0);
	free(t);

	/* METHOD:PUBLISH on request; no NAME or REFRESH when not given; feed DTSTAMP */
	struct cal_feed pub = {.publish = true, .dtstamp_ms = 1767225600000};
	t = build(&pub, "[{\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 1000}]", &len);
	CHECK(t != NULL);
	if (t != NULL) {
		check_shape(t, len);
		CHECK_LINE(t, "METHOD:PUBLISH");
		CHECK_LINE(t, "DTSTAMP:20260101T000000Z");
		CHECK_LINE(t, "DTSTART:19700101T000000Z");
		CHECK_NO(t, "NAME");
		CHECK_NO(t, "REFRESH");
		CHECK_NO(t, "TTL");
	}
	free(t);

	/* an empty feed is a valid calendar; NULL feed and NULL len_out are fine */
	json_t *none = json_array();
	t = cal_feed_build(NULL, none, NULL, NULL);
	CHECK(t != NULL && strstr(t, "BEGIN:VEVENT") == NULL);
	if (t != NULL)
		check_shape(t, strlen(t));
	json_decref(none);
	free(t);
}

/*
 * Europe/Berlin: clocks go 02:00 CET -> 03:00 CEST on 2026-03-29 (01:00Z) and back
 * 03:00 CEST -> 02:00 CET on 2026-10-25 (01:00Z).
 */
static const char tz_items[] =
	"[{\"uid\": \"b1\", \"tzid\": \"Europe/Berlin\", \"start_ms\": 1774688400000,"
	"  \"end_ms\": 1774692000000, \"dtstamp_ms\": 0,"
	"  \"categories\": [\"MAINTENANCE-WINDOW\"], \"x\": {\"X-TRANSOM-SERVICES\": \"*\"}},"
	" {\"uid\": \"b2\", \"tzid\": \"Europe/Berlin\", \"start_ms\": 1774744200000,"
	"  \"end_ms\": 1774747800000, \"dtstamp_ms\": 0,"
	"  \"categories\": [\"MAINTENANCE-WINDOW\"], \"x\": {\"X-TRANSOM-SERVICES\": \"*\"}},"
	" {\"uid\": \"ny\", \"tzid\": \"America/New_York\", \"start_ms\": 1774789200000,"
	"  \"end_ms\": 1774792800000, \"dtstamp_ms\": 0,"
	"  \"categories\": [\"MAINTENANCE-WINDOW\"], \"x\": {\"X-TRANSOM-SERVICES\": \"*\"}},"
	" {\"uid\": \"b3\", \"tzid\": \"Europe/Berlin\", \"start_ms\": 1792888200000,"
	"  \"end_ms\": 1792891800000, \"dtstamp_ms\": 0,"
	"  \"categories\": [\"FREEZE\"], \"x\": {\"X-TRANSOM-SERVICES\": \"db\"}},"
	" {\"uid\": \"u\", \"tzid\": \"UTC\", \"start_ms\": 1775000000000,"
	"  \"end_ms\": 1775000000000, \"dtstamp_ms\": 0,"
	"  \"categories\": [\"FREEZE\"], \"x\": {\"X-TRANSOM-SERVICES\": \"db\"}}]";

static void test_tzid_feed(void)
{
	cal_init();
	size_t len = 0;
	char *t = build(NULL, tz_items, &len);
	CHECK(t != NULL);
	if (t == NULL)
		return;
	check_shape(t, len);
	/* b1: 2026-03-28 09:00Z-10:00Z = 10:00-11:00 CET */
	CHECK_LINE(t, "DTSTART;TZID=Europe/Berlin:20260328T100000");
	CHECK_LINE(t, "DTEND;TZID=Europe/Berlin:20260328T110000");
	/* b2 across spring-forward: 00:30Z-01:30Z = 01:30 CET - 03:30 CEST */
	CHECK_LINE(t, "DTSTART;TZID=Europe/Berlin:20260329T013000");
	CHECK_LINE(t, "DTEND;TZID=Europe/Berlin:20260329T033000");
	/* ny: 2026-03-29 13:00Z = 09:00 EDT */
	CHECK_LINE(t, "DTSTART;TZID=America/New_York:20260329T090000");
	/* b3 in the fall-back overlap: 00:30Z = 02:30 CEST (first occurrence, local);
	   01:30Z = 02:30 CET, the second occurrence, which local time cannot say: UTC */
	CHECK_LINE(t, "DTSTART;TZID=Europe/Berlin:20261025T023000");
	CHECK_LINE(t, "DTEND:20261025T013000Z");
	/* "UTC" is written as UTC */
	CHECK_LINE(t, "DTSTART:20260331T233320Z");
	/* one VTIMEZONE per zone, before the events, with the plain IANA TZID */
	CHECK_INT(count_line(t, "BEGIN:VTIMEZONE"), 2);
	CHECK_LINE(t, "TZID:Europe/Berlin");
	CHECK_LINE(t, "TZID:America/New_York");
	CHECK_NO(t, "freeassociation");
	CHECK(strstr(t, "BEGIN:VTIMEZONE") < strstr(t, "BEGIN:VEVENT"));
	CHECK(strstr(t, "TZID:Europe/Berlin") < strstr(t, "TZID:America/New_York"));

	/* cal_parse reads the instants back (through the feed's own VTIMEZONEs) */
	json_t *arr = expand(t, len);
	static const long long want[][2] = {
		{1774688400000, 1774692000000}, {1774744200000, 1774747800000},
		{1774789200000, 1774792800000}, {1775000000000, 1775000000000},
		{1792888200000, 1792891800000},
	};
	CHECK_INT(json_array_size(arr), 5);
	for (size_t i = 0; i < 5 && i < json_array_size(arr); i++) {
		json_t *v = json_array_get(arr, i);
		CHECK_INT(json_integer_value(json_object_get(v, "start_ms")), want[i][0]);
		CHECK_INT(json_integer_value(json_object_get(v, "end_ms")), want[i][1]);
	}
	json_decref(arr);
	const char *texts[] = {t};
	CHECK_INT(validate(texts, 1), 0);
	free(t);
}

static void test_all_day(void)
{
	cal_init();
	static const char items[] =
		"[{\"uid\": \"xmas\", \"all_day\": true, \"start_ms\": 1798070400000,"
		"  \"end_ms\": 1798329600000, \"categories\": [\"FREEZE\"],"
		"  \"x\": {\"X-TRANSOM-SERVICES\": \"*\"}},"
		" {\"uid\": \"half\", \"all_day\": true, \"start_ms\": 1798156800000,"
		"  \"end_ms\": 1798200000000, \"categories\": [\"FREEZE\"],"
		"  \"x\": {\"X-TRANSOM-SERVICES\": \"*\"}},"
		" {\"uid\": \"zero\", \"all_day\": true, \"start_ms\": 1798416000000,"
		"  \"end_ms\": 1798416000000, \"categories\": [\"FREEZE\"],"
		"  \"x\": {\"X-TRANSOM-SERVICES\": \"*\"}},"
		" {\"uid\": \"berlin\", \"all_day\": true, \"tzid\": \"Europe/Berlin\","
		"  \"start_ms\": 1798066800000, \"end_ms\": 1798326000000,"
		"  \"categories\": [\"FREEZE\"], \"x\": {\"X-TRANSOM-SERVICES\": \"*\"}}]";
	size_t len = 0;
	char *t = build(NULL, items, &len);
	CHECK(t != NULL);
	if (t == NULL)
		return;
	check_shape(t, len);
	/* 2026-12-24T00:00Z .. 2026-12-27T00:00Z */
	CHECK_INT(count_line(t, "DTSTART;VALUE=DATE:20261224"), 2); /* xmas and berlin */
	CHECK_INT(count_line(t, "DTEND;VALUE=DATE:20261227"), 2);
	/* 2026-12-25T00:00Z .. 12:00Z: an end after midnight counts its whole day */
	CHECK_LINE(t, "DTSTART;VALUE=DATE:20261225");
	CHECK_LINE(t, "DTEND;VALUE=DATE:20261226");
	/* zero length on 2026-12-28: one day */
	CHECK_LINE(t, "DTSTART;VALUE=DATE:20261228");
	CHECK_LINE(t, "DTEND;VALUE=DATE:20261229");
	CHECK_NO(t, "TZID");
	CHECK_NO(t, "VTIMEZONE");
	json_t *arr = expand(t, len);
	CHECK_INT(json_array_size(arr), 4);
	json_t *first = json_array_get(arr, 0);
	CHECK_STR(json_string_value(json_object_get(first, "start")), "2026-12-24T00:00:00Z");
	CHECK_STR(json_string_value(json_object_get(first, "end")), "2026-12-27T00:00:00Z");
	json_decref(arr);
	const char *texts[] = {t};
	CHECK_INT(validate(texts, 1), 0);
	free(t);
}

/* Escaping by libical, read back by libical (cal_parse) as the same text. */
static void test_escaping(void)
{
	cal_init();
	static const char items[] =
		"[{\"uid\": \"esc\", \"summary\": \"a,b;c\\nd\", \"start_ms\": 1767603600000,"
		"  \"end_ms\": 1767607200000, \"categories\": [\"CAB-MEETING\"],"
		"  \"description\": \"back\\\\slash, CRLF\\r\\nline2\\rline3\\u0001\\ttab\","
		"  \"location\": \"Room 1; floor 2\"}]";
	size_t len = 0;
	char *t = build(NULL, items, &len);
	CHECK(t != NULL);
	if (t == NULL)
		return;
	check_shape(t, len);
	CHECK_LINE(t, "SUMMARY:a\\,b\\;c\\nd");
	CHECK_LINE(t, "DESCRIPTION:back\\\\slash\\, CRLF\\nline2\\nline3 \ttab");
	CHECK_LINE(t, "LOCATION:Room 1\\; floor 2");
	json_t *arr = expand(t, len);
	CHECK_INT(json_array_size(arr), 1);
	json_t *m = json_array_get(arr, 0);
	CHECK_STR(json_string_value(json_object_get(m, "summary")), "a,b;c\nd");
	CHECK_STR(json_string_value(json_object_get(m, "kind")), "meeting");
	json_decref(arr);
	const char *texts[] = {t};
	CHECK_INT(validate(texts, 1), 0);
	free(t);
}

/* Long values fold at 75 octets, never inside a UTF-8 character, at any alignment. */
static void test_folding(void)
{
	cal_init();
	static const char *const pieces[] = {
		"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9d\x84\x9e", " ", ",", "b"};
	for (int shift = 0; shift < 8; shift++) {
		char summary[2048] = "";
		for (int i = 0; i < shift; i++)
			strcat(summary, "x");
		for (int i = 0; strlen(summary) < 600; i++)
			strcat(summary, pieces[(i * 5 + shift) % 7]);
		strcat(summary, "z"); /* libical's parser drops a value's trailing spaces */
		json_t *items =
			json_pack("[{s:s, s:s, s:I, s:I, s:[s]}]", "uid", "fold", "summary",
				  summary, "start_ms", (json_int_t)1767603600000LL, "end_ms",
				  (json_int_t)1767607200000LL, "categories", "CAB-MEETING");
		size_t len = 0;
		struct tr_error err = {0};
		char *t = cal_feed_build(NULL, items, &len, &err);
		CHECKF(t != NULL, "shift %d: %s", shift, err.detail);
		if (t != NULL) {
			check_shape(t, len);
			CHECKF(count_line(t, "BEGIN:VEVENT") == 1, "shift %d", shift);
			char *u = unfold(t);
			CHECKF(strstr(u, "\r\nSUMMARY:") != NULL, "shift %d", shift);
			free(u);
			json_t *arr = expand(t, len);
			const char *got = json_string_value(
				json_object_get(json_array_get(arr, 0), "summary"));
			CHECKF(got != NULL && strcmp(got, summary) == 0,
			       "shift %d: summary differs", shift);
			json_decref(arr);
			if (shift == 0) {
				const char *texts[] = {t};
				CHECK_INT(validate(texts, 1), 0);
			}
		}
		free(t);
		json_decref(items);
	}
}

static void test_determinism(void)
{
	cal_init();
	struct cal_feed f = {.name = "n", .refresh_seconds = 3600};
	json_t *a = items_of(tz_items), *u = items_of(utc_items);
	json_array_extend(a, u);
	json_decref(u);
	json_t *b = json_deep_copy(a);
	size_t la = 0, lb = 0, lc = 0;
	char *ta = cal_feed_build(&f, a, &la, NULL);
	char *tb = cal_feed_build(&f, b, &lb, NULL);
	char *tc = cal_feed_build(&f, a, &lc, NULL);
	CHECK(ta != NULL && tb != NULL && tc != NULL);
	CHECK(la == lb && la == lc);
	CHECK(ta != NULL && tb != NULL && tc != NULL && strcmp(ta, tb) == 0 && strcmp(ta, tc) == 0);
	CHECK(ta != NULL && strstr(ta, "X-PUBLISHED-TTL:PT1H\r\n") != NULL);
	free(ta);
	free(tb);
	free(tc);
	json_decref(a);
	json_decref(b);
}

/* The pieces of cal_feed_pieces_build, joined for the subset `mask`, against cal_feed_build. */
static bool pieces_match(const struct cal_feed *f, const json_t *items,
			 const struct cal_feed_pieces *p, unsigned mask)
{
	size_t n = json_array_size(items), head_len = 0, len = 0;
	char *head = cal_feed_head(f, &head_len, NULL), *buf = NULL;
	json_t *sub = json_array();
	bool zone_on[16] = {false};
	int order[16], nz = 0;
	size_t cap = head_len + 16;
	for (size_t i = 0; i < p->nzones; i++)
		cap += p->zone_len[i];
	for (size_t i = 0; i < n; i++)
		cap += p->events[i].len;
	buf = malloc(cap);
	if (head == NULL || buf == NULL || p->nzones > 16) {
		free(head);
		free(buf);
		json_decref(sub);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		int z = p->events[i].zone;
		if ((mask & (1u << i)) == 0)
			continue;
		json_array_append(sub, json_array_get(items, i));
		if (z >= 0 && !zone_on[z]) {
			zone_on[z] = true;
			order[nz++] = z;
		}
	}
	memcpy(buf, head, head_len);
	len = head_len;
	for (int k = 0; k < nz; k++) {
		memcpy(buf + len, p->zones[order[k]], p->zone_len[order[k]]);
		len += p->zone_len[order[k]];
	}
	for (size_t i = 0; i < n; i++)
		if (mask & (1u << i)) {
			memcpy(buf + len, p->events[i].text, p->events[i].len);
			len += p->events[i].len;
		}
	memcpy(buf + len, CAL_FEED_TAIL, sizeof CAL_FEED_TAIL);
	len += sizeof CAL_FEED_TAIL - 1;
	size_t want_len = 0;
	char *want = cal_feed_build(f, sub, &want_len, NULL);
	bool ok = want != NULL && want_len == len && memcmp(want, buf, len) == 0;
	if (!ok)
		fprintf(stderr, "  mask %#x: joined pieces differ from cal_feed_build\n", mask);
	free(want);
	free(head);
	free(buf);
	json_decref(sub);
	return ok;
}

static void test_pieces(void)
{
	cal_init();
	json_t *items = items_of(tz_items), *u = items_of(utc_items);
	json_array_extend(items, u);
	json_decref(u);
	size_t n = json_array_size(items);
	CHECK(n >= 6 && n <= 12);
	const struct cal_feed feeds[] = {{.name = "n", .refresh_seconds = 3600, .dtstamp_ms = 0},
					 {.publish = true, .dtstamp_ms = 1767000000000},
					 {.dtstamp_ms = 0}};
	for (size_t k = 0; k < sizeof feeds / sizeof feeds[0]; k++) {
		struct cal_feed_pieces p = {0};
		struct tr_error err = {0};
		CHECKF(cal_feed_pieces_build(&feeds[k], items, &p, &err), "pieces: %s", err.detail);
		CHECK(p.n == n && p.nzones == 2);
		unsigned bad = 0;
		for (unsigned mask = 0; p.n == n && mask < (1u << n); mask++)
			bad += !pieces_match(&feeds[k], items, &p, mask);
		CHECKF(bad == 0, "%u of %u subsets differ", bad, 1u << n);
		cal_feed_pieces_free(&p);
		cal_feed_pieces_free(&p); /* emptied: a second call does nothing */
	}
	/* The same refusals as cal_feed_build, and nothing left behind. */
	json_t *dup = items_of("[{\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 0},"
			       " {\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 0}]");
	struct cal_feed_pieces p = {0};
	struct tr_error err = {0};
	CHECK(!cal_feed_pieces_build(NULL, dup, &p, &err));
	CHECKF(strcmp(err.field, "items[1].uid") == 0, "field %s", err.field);
	CHECK(p.events == NULL && p.n == 0);
	json_decref(dup);
	json_decref(items);
}

struct err_case {
	const char *json;
	const char *field;
};

static void test_errors(void)
{
	cal_init();
	static const struct err_case cases[] = {
		{"[{\"start_ms\": 0, \"end_ms\": 0}]", "items[0].uid"},
		{"[{\"uid\": \"a\", \"end_ms\": 0}]", "items[0].start_ms"},
		{"[{\"uid\": \"a\", \"start_ms\": 0}]", "items[0].end_ms"},
		{"[{\"uid\": \"a\", \"start_ms\": 10000, \"end_ms\": 9999}]", "items[0].end_ms"},
		{"[{\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 0},"
		 " {\"uid\": \"b\", \"start_ms\": 0, \"end_ms\": 0, \"tzid\": \"Mars/Olympus\"}]",
		 "items[1].tzid"},
		{"[{\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 0, \"tzid\": "
		 "\"../../etc/passwd\"}]",
		 "items[0].tzid"},
		{"[{\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 0, \"tzid\": \"\"}]",
		 "items[0].tzid"},
		{"[{\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 0, \"sumary\": \"x\"}]",
		 "items[0].sumary"},
		{"[{\"uid\": \"a\", \"start_ms\": \"0\", \"end_ms\": 0}]", "items[0].start_ms"},
		{"[{\"uid\": 7, \"start_ms\": 0, \"end_ms\": 0}]", "items[0].uid"},
		{"[{\"uid\": \"\", \"start_ms\": 0, \"end_ms\": 0}]", "items[0].uid"},
		{"[{\"uid\": \"a\\nb\", \"start_ms\": 0, \"end_ms\": 0}]", "items[0].uid"},
		{"[{\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 0},"
		 " {\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 0}]",
		 "items[1].uid"},
		{"[{\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 0, \"status\": \"DONE\"}]",
		 "items[0].status"},
		{"[{\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 0, \"transp\": \"CLEAR\"}]",
		 "items[0].transp"},
		{"[{\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 0, \"x\": {\"FOO\": \"1\"}}]",
		 "items[0].x.FOO"},
		{"[{\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 0, \"x\": {\"X-N\": 1}}]",
		 "items[0].x.X-N"},
		{"[{\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 0, \"categories\": [\"a,b\"]}]",
		 "items[0].categories[0]"},
		{"[{\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 0, \"categories\": [\"ok\", 1]}]",
		 "items[0].categories[1]"},
		{"[{\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 0, \"url\": \"http://a b\"}]",
		 "items[0].url"},
		{"[{\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 0, \"url\": \"no-scheme\"}]",
		 "items[0].url"},
		{"[{\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 0, \"sequence\": -1}]",
		 "items[0].sequence"},
		{"[{\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 10444444444000}]",
		 "items[0].end_ms"},
		{"[{\"uid\": \"a\", \"start_ms\": -2208988800001, \"end_ms\": 0}]",
		 "items[0].start_ms"},
		{"[{\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 0, \"dtstamp_ms\": 1e3}]",
		 "items[0].dtstamp_ms"},
		{"[{\"uid\": \"a\", \"start_ms\": 0, \"end_ms\": 0, \"all_day\": 1}]",
		 "items[0].all_day"},
		{"[7]", "items[0]"},
		{"{}", "items"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *items = items_of(cases[i].json);
		struct tr_error err = {0};
		size_t len = 12345;
		char *t = cal_feed_build(NULL, items, &len, &err);
		CHECKF(t == NULL, "case %zu accepted", i);
		CHECKF(err.code == TR_E_UNPROCESSABLE, "case %zu: code %d", i, (int)err.code);
		CHECKF(strcmp(err.field, cases[i].field) == 0,
		       "case %zu: field \"%s\", want \"%s\"", i, err.field, cases[i].field);
		CHECKF(strncmp(err.detail, cases[i].field, strlen(cases[i].field)) == 0,
		       "case %zu: detail \"%s\"", i, err.detail);
		CHECK_INT(len, 12345);
		CHECK(cal_feed_build(NULL, items, NULL, NULL) == NULL); /* err may be NULL */
		free(t);
		json_decref(items);
	}
	struct tr_error err = {0};
	json_t *items = json_array();
	struct cal_feed bad = {.refresh_seconds = -5};
	CHECK(cal_feed_build(&bad, items, NULL, &err) == NULL);
	CHECK_STR(err.field, "feed.refresh_seconds");
	CHECK(cal_feed_build(NULL, NULL, NULL, &err) == NULL);
	CHECK_STR(err.field, "items");
	struct cal_feed badname = {.name = "caf\xe9"}; /* Latin-1, not UTF-8 */
	CHECK(cal_feed_build(&badname, items, NULL, &err) == NULL);
	CHECK_STR(err.field, "feed.name");
	json_decref(items);

	/* cal_text_check itself: garbage and libical parse errors are reported */
	char msg[200];
	static const char bad_time[] = CAL_HEAD "BEGIN:VEVENT\r\nUID:x\r\nDTSTART:2026XX01\r\n"
						"END:VEVENT\r\n" CAL_TAIL;
	CHECK(cal_text_check(bad_time, strlen(bad_time), msg, sizeof msg) > 0);
	CHECK(msg[0] != '\0');
	CHECK_INT(cal_text_check("hello", 5, msg, sizeof msg), -1);
	CHECK_INT(cal_text_check("BEGIN:VCALENDAR\0", 16, NULL, 0), -1);
}

/* ---- free/busy ------------------------------------------------------------------------- */

static char **freebusy_lines(const char *text, size_t *n)
{
	char *u = unfold(text);
	char **v = calloc(32, sizeof *v);
	*n = 0;
	for (char *p = u; (p = strstr(p, "\r\nFREEBUSY")) != NULL && *n < 32; p += 2) {
		char *e = strstr(p + 2, "\r\n");
		v[(*n)++] = strndup(p + 2, (size_t)(e - p - 2));
	}
	free(u);
	return v;
}

static void test_freebusy(void)
{
	cal_init();
	/* shuffled, overlapping, touching, nested, clipped, outside, empty, sub-second */
	static const char busy[] =
		"[{\"start_ms\": 1767603600000, \"end_ms\": 1767607200000},"
		" {\"start_ms\": 1767650400000, \"end_ms\": 1767652200000,"
		"  \"type\": \"BUSY-UNAVAILABLE\"},"
		" {\"start_ms\": 1767564000000, \"end_ms\": 1767574800000, \"type\": \"BUSY\"},"
		" {\"start_ms\": 1767600000000, \"end_ms\": 1767605400000},"
		" {\"start_ms\": 1767646800000, \"end_ms\": 1767654000000,"
		"  \"type\": \"BUSY-TENTATIVE\"},"
		" {\"start_ms\": 1767607200000, \"end_ms\": 1767610800000},"
		" {\"start_ms\": 1767780000000, \"end_ms\": 1767783600000},"
		" {\"start_ms\": 1767628800000, \"end_ms\": 1767628800000},"
		" {\"start_ms\": 1767632400500, \"end_ms\": 1767635999200, \"type\": null}]";
	static const char *const want[] = {
		"FREEBUSY;FBTYPE=BUSY:20260105T000000Z/20260105T010000Z",
		"FREEBUSY;FBTYPE=BUSY:20260105T080000Z/20260105T110000Z",
		"FREEBUSY;FBTYPE=BUSY:20260105T170000Z/20260105T180000Z",
		"FREEBUSY;FBTYPE=BUSY-TENTATIVE:20260105T210000Z/20260105T220000Z",
		"FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20260105T220000Z/20260105T223000Z",
		"FREEBUSY;FBTYPE=BUSY-TENTATIVE:20260105T223000Z/20260105T230000Z",
	};
	struct cal_freebusy fb = {.from_ms = iso_ms("2026-01-05T00:00:00Z"),
				  .to_ms = iso_ms("2026-01-06T00:00:00Z"),
				  .dtstamp_ms = iso_ms("2026-01-04T12:00:00Z")};
	json_t *arr = items_of(busy);
	struct tr_error err = {0};
	size_t len = 0, n = 0;
	char *t = cal_freebusy_build(&fb, arr, &len, &err);
	CHECKF(t != NULL, "%s", err.detail);
	if (t != NULL) {
		check_shape(t, len);
		CHECK_NO(t, "METHOD");
		CHECK_NO(t, "ORGANIZER");
		CHECK_LINE(t, "BEGIN:VFREEBUSY");
		CHECK_LINE(t, "DTSTAMP:20260104T120000Z");
		CHECK_LINE(t, "UID:freebusy-1767571200000-1767657600000@transom");
		CHECK_LINE(t, "DTSTART:20260105T000000Z");
		CHECK_LINE(t, "DTEND:20260106T000000Z");
		char **lines = freebusy_lines(t, &n);
		CHECK_INT(n, sizeof want / sizeof want[0]);
		for (size_t i = 0; i < n; i++) {
			if (i < sizeof want / sizeof want[0])
				CHECK_STR(lines[i], want[i]);
			free(lines[i]);
		}
		free(lines);
	}

	/* with an organizer: an iTIP publication, METHOD:PUBLISH */
	fb.organizer = "mailto:ops@example.org";
	fb.uid = "fb-ops@transom";
	char *t2 = cal_freebusy_build(&fb, arr, NULL, &err);
	CHECK(t2 != NULL);
	if (t2 != NULL) {
		check_shape(t2, strlen(t2));
		CHECK_LINE(t2, "METHOD:PUBLISH");
		CHECK_LINE(t2, "ORGANIZER:mailto:ops@example.org");
		CHECK_LINE(t2, "UID:fb-ops@transom");
	}
	/* deterministic */
	char *t3 = cal_freebusy_build(&fb, arr, NULL, NULL);
	CHECK(t2 != NULL && t3 != NULL && strcmp(t2, t3) == 0);
	if (t != NULL && t2 != NULL) {
		const char *texts[] = {t, t2};
		CHECK_INT(validate(texts, 2), 0);
	}
	free(t);
	free(t2);
	free(t3);
	json_decref(arr);

	/* nothing busy: a VFREEBUSY without FREEBUSY */
	json_t *empty = json_array();
	fb.organizer = NULL;
	t = cal_freebusy_build(&fb, empty, &len, NULL);
	CHECK(t != NULL && strstr(t, "FREEBUSY;") == NULL && strstr(t, "BEGIN:VFREEBUSY") != NULL);
	free(t);
	json_decref(empty);

	/* errors */
	static const struct err_case bad[] = {
		{"[{\"start_ms\": 1767603600000, \"end_ms\": 1767603500000}]", "busy[0].end_ms"},
		{"[{\"start_ms\": 1767603600000}]", "busy[0].end_ms"},
		{"[{\"start_ms\": 0, \"end_ms\": 1, \"type\": \"FREE\"}]", "busy[0].type"},
		{"[{\"start_ms\": 0, \"end_ms\": 1, \"kind\": \"BUSY\"}]", "busy[0].kind"},
		{"[1]", "busy[0]"},
		{"{}", "busy"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		json_t *b = items_of(bad[i].json);
		memset(&err, 0, sizeof err);
		CHECKF(cal_freebusy_build(&fb, b, NULL, &err) == NULL, "case %zu accepted", i);
		CHECKF(strcmp(err.field, bad[i].field) == 0, "case %zu: field \"%s\", want \"%s\"",
		       i, err.field, bad[i].field);
		json_decref(b);
	}
	json_t *e2 = json_array();
	struct cal_freebusy back = fb;
	back.to_ms = fb.from_ms - 1;
	CHECK(cal_freebusy_build(&back, e2, NULL, &err) == NULL);
	CHECK_STR(err.field, "to_ms");
	back = fb;
	back.organizer = "ops example";
	CHECK(cal_freebusy_build(&back, e2, NULL, &err) == NULL);
	CHECK_STR(err.field, "organizer");
	CHECK(cal_freebusy_build(NULL, e2, NULL, NULL) == NULL);
	json_decref(e2);
}

/* ---- the validator itself ------------------------------------------------------------- */

static void test_validator_rejects(void)
{
	static const char lf[] = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nEND:VCALENDAR\n";
	static const char attendee[] =
		CAL_HEAD "BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\n"
			 "DTSTART:20260101T000000Z\r\nATTENDEE:mailto:a@example.org\r\n"
			 "END:VEVENT\r\n" CAL_TAIL;
	static const char no_tz[] = CAL_HEAD "BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\n"
					     "DTSTART;TZID=Europe/Berlin:20260101T000000\r\n"
					     "END:VEVENT\r\n" CAL_TAIL;
	static const char no_stamp[] =
		CAL_HEAD "BEGIN:VEVENT\r\nUID:a\r\n"
			 "DTSTART:20260101T000000Z\r\nEND:VEVENT\r\n" CAL_TAIL;
	static const char long_line[] =
		CAL_HEAD "BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\n"
			 "DTSTART:20260101T000000Z\r\nSUMMARY:0123456789012345678901234567890123456"
			 "789012345678901234567890123456789\r\nEND:VEVENT\r\n" CAL_TAIL;
	static const char ok[] = CAL_HEAD "BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20260101T000000Z\r\n"
					  "DTSTART:20260101T000000Z\r\nEND:VEVENT\r\n" CAL_TAIL;
	const char *each[] = {lf, attendee, no_tz, no_stamp, long_line};
	for (size_t i = 0; i < sizeof each / sizeof each[0]; i++)
		CHECKF(validate_run(&each[i], 1, true) == 1, "text %zu passed the validator", i);
	const char *good[] = {ok};
	CHECK_INT(validate(good, 1), 0);
}

/* ---- CAB meetings in cal_parse --------------------------------------------------------- */

static void test_meetings(void)
{
	cal_init();
	static const char text[] =
		CAL_HEAD "BEGIN:VEVENT\r\nUID:cab\r\nSUMMARY:Weekly CAB\r\n"
			 "CATEGORIES:CAB-MEETING\r\nDTSTART;TZID=Europe/London:20260106T140000\r\n"
			 "DURATION:PT1H\r\nRRULE:FREQ=WEEKLY;COUNT=2\r\nEND:VEVENT\r\n"
			 "BEGIN:VEVENT\r\nUID:ecab\r\nCATEGORIES:OPS,cab-meeting\r\n"
			 "X-TRANSOM-SERVICES:payments\r\nDTSTART:20260107T100000Z\r\n"
			 "END:VEVENT\r\n"
			 "BEGIN:VEVENT\r\nUID:f\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:a\r\n"
			 "DTSTART:20260108T000000Z\r\nEND:VEVENT\r\n" CAL_TAIL;
	json_t *arr = expand(text, strlen(text));
	CHECK_INT(json_array_size(arr), 4);
	json_t *m = json_array_get(arr, 0), *e = json_array_get(arr, 1),
	       *f = json_array_get(arr, 2);
	CHECK_STR(json_string_value(json_object_get(m, "kind")), "meeting");
	CHECK_STR(json_string_value(json_object_get(m, "start")), "2026-01-06T14:00:00Z");
	CHECK_STR(json_string_value(json_object_get(m, "services")), "*");
	CHECK(json_is_false(json_object_get(m, "hard")));
	CHECK_INT(json_integer_value(json_object_get(m, "capacity")), 0);
	CHECK_STR(json_string_value(json_object_get(m, "summary")), "Weekly CAB");
	CHECK_STR(json_string_value(json_object_get(e, "kind")), "meeting");
	CHECK_STR(json_string_value(json_array_get(json_object_get(e, "services"), 0)), "payments");
	CHECK_STR(json_string_value(json_object_get(f, "kind")), "freeze"); /* unchanged */
	CHECK(json_is_true(json_object_get(f, "hard")));
	CHECK_STR(json_string_value(json_object_get(json_array_get(arr, 3), "start")),
		  "2026-01-13T14:00:00Z");
	json_decref(arr);

	static const struct {
		const char *text, *want;
	} bad[] = {
		{CAL_HEAD
		 "BEGIN:VEVENT\r\nUID:m\r\nCATEGORIES:CAB-MEETING,FREEZE\r\n"
		 "X-TRANSOM-SERVICES:a\r\nDTSTART:20260107T100000Z\r\nEND:VEVENT\r\n" CAL_TAIL,
		 "categories name CAB-MEETING with FREEZE"},
		{CAL_HEAD
		 "BEGIN:VEVENT\r\nUID:m\r\nCATEGORIES:CAB-MEETING\r\n"
		 "X-TRANSOM-CAPACITY:2\r\nDTSTART:20260107T100000Z\r\nEND:VEVENT\r\n" CAL_TAIL,
		 "X-TRANSOM-CAPACITY applies to windows only"},
		{CAL_HEAD
		 "BEGIN:VEVENT\r\nUID:m\r\nCATEGORIES:CAB-MEETING\r\n"
		 "X-TRANSOM-HARDNESS:soft\r\nDTSTART:20260107T100000Z\r\nEND:VEVENT\r\n" CAL_TAIL,
		 "X-TRANSOM-HARDNESS applies to freezes only"},
		{CAL_HEAD "BEGIN:VEVENT\r\nUID:m\r\nCATEGORIES:MEETING\r\n"
			  "DTSTART:20260107T100000Z\r\nEND:VEVENT\r\n" CAL_TAIL,
		 "CATEGORIES must contain MAINTENANCE-WINDOW, FREEZE or CAB-MEETING"},
		{CAL_HEAD "BEGIN:VEVENT\r\nUID:w\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n"
			  "DTSTART:20260107T100000Z\r\nEND:VEVENT\r\n" CAL_TAIL,
		 "missing X-TRANSOM-SERVICES"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct diags d = {0};
		struct cal_set *set = cal_parse("m.ics", bad[i].text, strlen(bad[i].text), &d);
		CHECKF(set == NULL, "case %zu accepted", i);
		char *all = diags_join(&d);
		CHECKF(all != NULL && strstr(all, bad[i].want) != NULL, "case %zu: %s", i,
		       all ? all : "(none)");
		free(all);
		cal_free(set);
		diags_clear(&d);
	}
}

/* ---- threads --------------------------------------------------------------------------- */

struct thread_arg {
	char *text;
	bool ok;
};

static void *build_thread(void *p)
{
	struct thread_arg *a = p;
	json_t *items = items_of(tz_items);
	a->ok = true;
	for (int i = 0; i < 20; i++) {
		free(a->text);
		a->text = cal_feed_build(NULL, items, NULL, NULL);
		char *fb = NULL;
		json_t *busy = json_pack("[{s:I, s:I}]", "start_ms", (json_int_t)1000, "end_ms",
					 (json_int_t)5000);
		struct cal_freebusy r = {.from_ms = 0, .to_ms = 10000};
		fb = cal_freebusy_build(&r, busy, NULL, NULL);
		if (a->text == NULL || fb == NULL || cal_text_check(fb, strlen(fb), NULL, 0) != 0)
			a->ok = false;
		free(fb);
		json_decref(busy);
	}
	json_decref(items);
	return NULL;
}

static void test_threads(void)
{
	cal_init();
	struct thread_arg args[4] = {{NULL, false}};
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, build_thread, &args[i]);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 4; i++) {
		CHECK(args[i].ok);
		CHECK(args[i].text != NULL && args[0].text != NULL &&
		      strcmp(args[i].text, args[0].text) == 0);
	}
	for (int i = 0; i < 4; i++)
		free(args[i].text);
}

/*
 * Issue 17.7: a VTIMEZONE carries only the observances the feed needs -- those in effect
 * from 2020 (or the earliest event, when earlier) on -- not the zone's history since 1893
 * (LMT offsets with seconds, wartime rules); times still convert both ways.
 */
static void test_vtimezone_trimmed(void)
{
	cal_init();
	static const char items[] =
		"[{\"uid\": \"ber\", \"tzid\": \"Europe/Berlin\", \"start_ms\": 1797408000000,"
		"  \"end_ms\": 1797411600000, \"dtstamp_ms\": 0,"
		"  \"categories\": [\"MAINTENANCE-WINDOW\"], \"x\": {\"X-TRANSOM-SERVICES\": "
		"\"*\"}},"
		" {\"uid\": \"ny\", \"tzid\": \"America/New_York\", \"start_ms\": 1793599200000,"
		"  \"end_ms\": 1793606400000, \"dtstamp_ms\": 0,"
		"  \"categories\": [\"FREEZE\"], \"x\": {\"X-TRANSOM-SERVICES\": \"*\"}}]";
	size_t len = 0;
	char *t = build(NULL, items, &len);
	CHECK(t != NULL);
	if (t == NULL)
		return;
	/* 2026-12-16 08:00Z = 09:00 CET; 2026-11-02 06:00Z = 01:00 EST */
	CHECK_LINE(t, "DTSTART;TZID=Europe/Berlin:20261216T090000");
	CHECK_LINE(t, "DTSTART;TZID=America/New_York:20261102T010000");
	CHECK_NO(t, "DTSTART:18930401");
	CHECK_NO(t, "DTSTART:18831118");
	CHECK_NO(t, "+005328");
	CHECK_NO(t, "-045602");
	size_t obs = count_line(t, "BEGIN:STANDARD") + count_line(t, "BEGIN:DAYLIGHT");
	CHECKF(obs >= 4 && obs <= 8, "%zu observances in two zones (40 untrimmed)", obs);
	CHECKF(len < 2500, "%zu bytes", len);
	json_t *arr = expand(t, len);
	CHECK_INT(json_array_size(arr), 2);
	json_t *v;
	size_t i;
	json_array_foreach(arr, i, v) {
		long long st = json_integer_value(json_object_get(v, "start_ms"));
		CHECKF(st == 1797408000000LL || st == 1793599200000LL, "read back %lld", st);
	}
	json_decref(arr);
	const char *texts[] = {t};
	CHECK_INT(validate(texts, 1), 0);
	free(t);

	/* Every 37 hours over 2026-2028 in seven zones: each wall time the feed writes gives
	 * the same instant through its trimmed VTIMEZONE (read by dateutil) and through the
	 * system's zoneinfo (tests/calendar/check_vtimezones.py). */
	static const char *const zones[] = {
		"Europe/Berlin", "America/New_York",  "Australia/Sydney", "Europe/London",
		"Asia/Tokyo",    "America/Sao_Paulo", "Asia/Tehran"};
	json_t *many = json_array();
	for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++)
		for (long long h = 0; h < 3 * 365 * 24; h += 37) {
			long long st = 1767225600000LL + h * 3600000LL; /* 2026-01-01 + h */
			char uid[32];
			snprintf(uid, sizeof uid, "z%zu-%lld", z, h);
			json_array_append_new(many, json_pack("{s:s, s:s, s:I, s:I}", "uid", uid,
							      "tzid", zones[z], "start_ms", st,
							      "end_ms", st + 5400000LL));
		}
	struct tr_error err = {0};
	t = cal_feed_build(NULL, many, &len, &err);
	json_decref(many);
	CHECKF(t != NULL, "build: %s", err.detail);
	if (t != NULL) {
		char name[] = "/tmp/transom-tz-XXXXXX.ics", cmd[200];
		int fd = mkstemps(name, 4);
		CHECK(fd >= 0 && write(fd, t, len) == (ssize_t)len);
		if (fd >= 0)
			close(fd);
		snprintf(cmd, sizeof cmd,
			 "/usr/bin/python3 tests/calendar/check_vtimezones.py %s 1>&2", name);
		CHECK_INT(system(cmd), 0);
		unlink(name);
		free(t);
	}

	/* An event from 1950 keeps what 1950 needs: it reads back at the same instant. */
	static const char old[] =
		"[{\"uid\": \"old\", \"tzid\": \"Europe/Berlin\", \"start_ms\": -615477600000,"
		"  \"end_ms\": -615474000000, \"dtstamp_ms\": 0,"
		"  \"categories\": [\"FREEZE\"], \"x\": {\"X-TRANSOM-SERVICES\": \"*\"}}]";
	t = build(NULL, old, &len);
	CHECK(t != NULL);
	if (t == NULL)
		return;
	CHECK_NO(t, "DTSTART:18930401");
	struct diags d = {0};
	struct cal_set *set = cal_parse("old.ics", t, len, &d);
	CHECK(set != NULL);
	diags_clear(&d);
	arr = cal_expand(set, iso_ms("1950-01-01T00:00:00Z"), iso_ms("1951-01-01T00:00:00Z"), 0);
	cal_free(set);
	CHECK_INT(json_array_size(arr), 1);
	CHECK_INT(json_integer_value(json_object_get(json_array_get(arr, 0), "start_ms")),
		  -615477600000LL);
	json_decref(arr);
	texts[0] = t;
	CHECK_INT(validate(texts, 1), 0);
	free(t);
}

TESTS(test_utc_feed, test_tzid_feed, test_all_day, test_escaping, test_folding, test_determinism,
      test_pieces, test_errors, test_freebusy, test_validator_rejects, test_meetings, test_threads,
      test_vtimezone_trimmed)
