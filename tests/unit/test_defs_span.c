/*
 * test_defs_span.c -- the shared instance span of a definitions snapshot (defs/span.c):
 * its instances overlapping any span it covers are exactly those a fresh expansion of
 * that span gives, it is shared while it covers, replaced when `now` has moved past it,
 * and never used for a calendar near the per-event cap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "defs/defs.h"
#include "harness.h"

#define HOUR_MS (3600LL * 1000)
#define DAY_MS  (24 * HOUR_MS)
/* 2026-03-01T00:00:00Z: both DST changes of 2026 (US and EU) fall in the next month */
#define T0_MS 1772323200000LL

/* Calendars added to a copy of the shipped policies, beside windows/freezes/cab.ics. */
static const char extra_ics[] =
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Transom//test//EN\r\n"
	/* a nightly window across the US DST change, one night moved and one excluded */
	"BEGIN:VEVENT\r\nUID:nightly@test\r\nDTSTAMP:20260101T000000Z\r\n"
	"DTSTART;TZID=America/New_York:20260201T013000\r\nDURATION:PT90M\r\n"
	"RRULE:FREQ=DAILY\r\nEXDATE;TZID=America/New_York:20260310T013000\r\n"
	"SUMMARY:Nightly\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n"
	"X-TRANSOM-SERVICES:payments\r\nEND:VEVENT\r\n"
	"BEGIN:VEVENT\r\nUID:nightly@test\r\nDTSTAMP:20260101T000000Z\r\n"
	"RECURRENCE-ID;TZID=America/New_York:20260305T013000\r\n"
	"DTSTART;TZID=America/New_York:20260305T040000\r\nDURATION:PT1H\r\n"
	"SUMMARY:Nightly (late)\r\nEND:VEVENT\r\n"
	/* an hourly sync meeting: 4,000-odd instances over the span, under the cap */
	"BEGIN:VEVENT\r\nUID:hourly@test\r\nDTSTAMP:20260101T000000Z\r\n"
	"DTSTART:20260215T000000Z\r\nDURATION:PT10M\r\nRRULE:FREQ=HOURLY\r\n"
	"SUMMARY:Sync\r\nCATEGORIES:CAB-MEETING\r\nEND:VEVENT\r\n"
	/* one freeze, and an empty event starting right at an edge used below */
	"BEGIN:VEVENT\r\nUID:freeze@test\r\nDTSTAMP:20260101T000000Z\r\n"
	"DTSTART:20260227T120000Z\r\nDTEND:20260302T120000Z\r\n"
	"SUMMARY:Quarter end\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\nEND:VEVENT\r\n"
	"BEGIN:VEVENT\r\nUID:instant@test\r\nDTSTAMP:20260101T000000Z\r\n"
	"DTSTART:20260228T000000Z\r\nDTEND:20260228T000000Z\r\n"
	"SUMMARY:Instant\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:web\r\nEND:VEVENT\r\n"
	"END:VCALENDAR\r\n";

/* Hourly windows of three services: 13,000-odd instances over the span; no one event reaches
 * CAL_CAP_DEFAULT, the calendar in all does, and sharing stops conservatively there. */
static const char dense_ics[] =
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Transom//test//EN\r\n"
	"BEGIN:VEVENT\r\nUID:dense-a@test\r\nDTSTAMP:20260101T000000Z\r\n"
	"DTSTART:20260101T000000Z\r\nDURATION:PT5M\r\nRRULE:FREQ=HOURLY\r\n"
	"SUMMARY:Dense\r\nCATEGORIES:MAINTENANCE-WINDOW\r\nX-TRANSOM-SERVICES:web\r\n"
	"END:VEVENT\r\n"
	"BEGIN:VEVENT\r\nUID:dense-b@test\r\nDTSTAMP:20260101T000000Z\r\n"
	"DTSTART:20260101T003000Z\r\nDURATION:PT5M\r\nRRULE:FREQ=HOURLY\r\n"
	"SUMMARY:Dense\r\nCATEGORIES:MAINTENANCE-WINDOW\r\nX-TRANSOM-SERVICES:payments\r\n"
	"END:VEVENT\r\n"
	"BEGIN:VEVENT\r\nUID:dense-c@test\r\nDTSTAMP:20260101T000000Z\r\n"
	"DTSTART:20260101T004500Z\r\nDURATION:PT5M\r\nRRULE:FREQ=HOURLY\r\n"
	"SUMMARY:Dense\r\nCATEGORIES:MAINTENANCE-WINDOW\r\nX-TRANSOM-SERVICES:data\r\n"
	"END:VEVENT\r\nEND:VCALENDAR\r\n";

/* The shipped workflows and policies, plus `ics` (NULL: none) as the calendar extra.ics,
 * loaded from a copy removed again. */
static struct defs *load_with(const char *ics)
{
	char dir[] = "/tmp/defs-span-XXXXXX", cmd[256], path[128];
	if (mkdtemp(dir) == NULL) {
		CHECK(!"mkdtemp");
		return NULL;
	}
	snprintf(cmd, sizeof cmd, "cp policies/* %s/", dir);
	CHECK(system(cmd) == 0);
	if (ics != NULL) {
		snprintf(path, sizeof path, "%s/extra.ics", dir);
		FILE *f = fopen(path, "w");
		CHECK(f != NULL);
		if (f != NULL) {
			fputs(ics, f);
			fclose(f);
		}
	}
	char *errors = NULL;
	struct defs *d = defs_load("workflows", dir, NULL, "2026-03-01T00:00:00Z", &errors);
	CHECKF(d != NULL, "defs_load: %s", errors ? errors : "?");
	free(errors);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return d;
}

/* Whether the span's instances overlapping [from, to) are exactly a fresh expansion's. */
static void check_same(const struct defs *d, const struct defs_span *sp, long long from,
		       long long to)
{
	struct cal_instances fresh = {0};
	CHECK_INT(defs_instance_list(d, from, to, &fresh), 0);
	size_t k = 0, mismatches = 0;
	for (size_t i = 0; i < sp->l.n; i++) {
		const struct cal_instance *a = &sp->l.v[i];
		if (!cal_overlaps(a->start_ms, a->end_ms, from, to))
			continue;
		const struct cal_instance *b = k < fresh.n ? &fresh.v[k] : NULL;
		k++;
		if (b == NULL || strcmp(a->uid, b->uid) != 0 || a->start_ms != b->start_ms ||
		    a->end_ms != b->end_ms || a->kind != b->kind || a->hard != b->hard ||
		    a->capacity != b->capacity || a->recurrence_ms != b->recurrence_ms ||
		    a->n_services != b->n_services || a->n_environments != b->n_environments)
			mismatches++;
	}
	CHECKF(k == fresh.n && mismatches == 0,
	       "span [%lld, %lld): %zu shared, %zu fresh, %zu differ", from, to, k, fresh.n,
	       mismatches);
	CHECKF(fresh.n > 10, "only %zu instances: the calendars did not load", fresh.n);
	cal_instances_clear(&fresh);
}

/* The spans a write asks for (a day back, the 180-day horizon and a day on) as `now`
 * moves on by odd steps through and past the slack: each equal to a fresh expansion. */
static void test_equal_to_a_fresh_expansion(void)
{
	struct defs *d = load_with(extra_ics);
	if (d == NULL)
		return;
	for (long long now = T0_MS; now < T0_MS + 30 * HOUR_MS; now += 37 * 60 * 1000 + 11) {
		long long from = now - DAY_MS, to = now + 182 * DAY_MS;
		const struct defs_span *sp = defs_span_get(d, from, to);
		CHECK(sp != NULL);
		if (sp == NULL)
			break;
		CHECK(sp->from_ms <= from && sp->to_ms >= to);
		check_same(d, sp, from, to);
		defs_span_release(sp);
	}
	/* edges: an empty instance exactly at `from`, and spans ending on an instance start */
	const struct defs_span *sp = defs_span_get(d, 1772236800000LL, T0_MS + 100 * DAY_MS);
	CHECK(sp != NULL);
	if (sp != NULL) {
		check_same(d, sp, 1772236800000LL, T0_MS + 100 * DAY_MS);
		check_same(d, sp, 1772236800001LL, T0_MS + DAY_MS);
		defs_span_release(sp);
	}
	defs_release(d);
}

/* Shared while it covers, replaced once `now` moved past it; an old reference stays good. */
static void test_shared_then_replaced(void)
{
	struct defs *d = load_with(NULL);
	if (d == NULL)
		return;
	const struct defs_span *a = defs_span_get(d, T0_MS, T0_MS + 180 * DAY_MS);
	const struct defs_span *b =
		defs_span_get(d, T0_MS + HOUR_MS, T0_MS + 180 * DAY_MS + HOUR_MS);
	const struct defs_span *c = defs_span_get(d, T0_MS + DAY_MS, T0_MS + 181 * DAY_MS);
	CHECK(a != NULL && b != NULL && c != NULL);
	CHECK(a == b); /* an hour later: the same expansion */
	CHECK(c != a); /* a day later: past the slack, a new one */
	if (a != NULL && c != NULL) {
		CHECK(c->from_ms == T0_MS + DAY_MS);
		CHECK(a->l.n > 0 && a->l.v[0].uid != NULL); /* still readable */
	}
	/* a span reaching before the shared one's start is expanded anew */
	const struct defs_span *e = defs_span_get(d, T0_MS, T0_MS + DAY_MS);
	CHECK(e != NULL && e != c && e->from_ms == T0_MS);
	defs_span_release(a);
	defs_span_release(b);
	defs_span_release(c);
	defs_span_release(e);
	/* wider than the calendars' horizon: not shared */
	CHECK(defs_span_get(d, T0_MS, T0_MS + 400 * DAY_MS) == NULL);
	defs_release(d);
}

/* A calendar near the per-event cap is never shared: callers expand for themselves. */
static void test_not_shared_near_the_cap(void)
{
	struct defs *d = load_with(dense_ics);
	if (d == NULL)
		return;
	CHECK(defs_span_get(d, T0_MS - DAY_MS, T0_MS + 181 * DAY_MS) == NULL);
	CHECK(defs_span_get(d, T0_MS, T0_MS + DAY_MS) == NULL); /* and stays so */
	defs_release(d);
}

TESTS(test_equal_to_a_fresh_expansion, test_shared_then_replaced, test_not_shared_near_the_cap)
