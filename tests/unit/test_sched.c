/*
 * test_sched.c -- the scheduler core (sched/sched.h): window intersections, transitive
 * conflicts, capacity, freezes, not_before/not_after, emergencies and break-glass, the
 * deterministic batch planner, explanations with exact reasons, and the horizon.  Every
 * instant is exact; T0 is Monday 2026-03-02T00:00:00Z.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "sched/sched.h"

#define MIN  (60LL * 1000)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)
#define T0   (1772409600LL * 1000)

/* Dependencies "a depends on b" of the test catalog: web -> api -> db; batch alone. */
static const char *const deps[][2] = {{"web", "api"}, {"api", "db"}};

static bool depends(const char *a, const char *b)
{
	for (size_t i = 0; i < sizeof deps / sizeof deps[0]; i++)
		if (strcmp(deps[i][0], a) == 0 &&
		    (strcmp(deps[i][1], b) == 0 || depends(deps[i][1], b)))
			return true;
	return false;
}

/* The conflict relation, as catalog_related() answers it. */
static bool related(void *ctx, const char *a, const char *b)
{
	(void)ctx;
	return strcmp(a, b) == 0 || depends(a, b) || depends(b, a);
}

static const char *const S_API[] = {"api"};
static const char *const S_DB[] = {"db"};
static const char *const S_WEB[] = {"web"};
static const char *const S_BATCH[] = {"batch"};
static const char *const S_PAY[] = {"payments"};
static const char *const S_API_DB[] = {"api", "db"};
static const char *const S_A[] = {"a"};
static const char *const S_B[] = {"b"};
static const char *const S_C[] = {"c"};

/* A window for every service. */
static struct sched_window all_window(const char *uid, int64_t start, int64_t end, int cap)
{
	return (struct sched_window){start, end, uid, NULL, 0, cap};
}

static struct sched_change change(const char *id, const char *const *svcs, size_t n, int64_t dur)
{
	return (struct sched_change){
		.id = id, .services = svcs, .n_services = n, .duration_ms = dur};
}

/* sched_find on a fresh index of `in`; the index is freed before returning. */
static enum sched_status find(const struct sched_input *in, const struct sched_change *c,
			      int64_t now, struct sched_slot *slot, struct sched_explain *why)
{
	struct sched_index *ix = NULL;
	enum sched_status st = sched_index_new(in, &ix);
	if (st != SCHED_OK)
		return st;
	st = sched_find(ix, c, now, slot, why);
	sched_index_free(ix);
	return st;
}

static void test_windows_intersect_across_services(void)
{
	struct sched_window w[] = {
		{T0 + 8 * HOUR, T0 + 12 * HOUR, "api-win", S_API, 1, 0},
		{T0 + 10 * HOUR, T0 + 14 * HOUR, "db-win", S_DB, 1, 0},
	};
	struct sched_input in = {.windows = w, .n_windows = 2};
	struct sched_slot s;
	struct sched_change c = change("CHG-1", S_API_DB, 2, HOUR);

	CHECK_INT(find(&in, &c, T0, &s, NULL), SCHED_OK);
	CHECK_INT(s.start_ms, T0 + 10 * HOUR);
	CHECK_INT(s.end_ms, T0 + 11 * HOUR);
	CHECK_STR(s.window_uid, "api-win");

	/* Three hours do not fit in the two-hour intersection. */
	c.duration_ms = 3 * HOUR;
	struct sched_explain why;
	CHECK_INT(find(&in, &c, T0, &s, &why), SCHED_NO_SLOT);
	CHECK_INT(why.n, 1);
	CHECK_STR(why.items[0].window_uid, "api-win");
	CHECK_STR(why.items[0].reason, "no window of db at the same time");

	/* A service only in api's window has none. */
	c = change("CHG-2", S_WEB, 1, HOUR);
	CHECK_INT(find(&in, &c, T0, &s, &why), SCHED_NO_SLOT);
	CHECK_STR(why.items[0].reason, "no window of web before the horizon");
}

static void test_transitive_conflict_lands_later(void)
{
	struct sched_window w[] = {all_window("w", T0 + 8 * HOUR, T0 + 20 * HOUR, 0)};
	struct sched_booking b[] = {{"CHG-1", S_DB, 1, T0 + 8 * HOUR, T0 + 10 * HOUR, "w"}};
	struct sched_input in = {
		.windows = w, .n_windows = 1, .bookings = b, .n_bookings = 1, .related = related};
	struct sched_slot s;
	static const struct {
		const char *const *svcs;
		int64_t want;
	} cases[] = {
		{S_DB, T0 + 10 * HOUR},   /* the same service */
		{S_API, T0 + 10 * HOUR},  /* depends on db directly */
		{S_WEB, T0 + 10 * HOUR},  /* web -> api -> db: transitively */
		{S_BATCH, T0 + 8 * HOUR}, /* unrelated */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sched_change c = change("CHG-2", cases[i].svcs, 1, HOUR);
		CHECK_INT(find(&in, &c, T0, &s, NULL), SCHED_OK);
		CHECKF(s.start_ms == cases[i].want, "case %zu: start %+lld h", i,
		       (long long)((s.start_ms - T0) / HOUR));
	}
	/* Without the relation only the same service conflicts. */
	in.related = NULL;
	struct sched_change c = change("CHG-2", S_WEB, 1, HOUR);
	CHECK_INT(find(&in, &c, T0, &s, NULL), SCHED_OK);
	CHECK_INT(s.start_ms, T0 + 8 * HOUR);
}

static void test_capacity_two_allows_two_not_three(void)
{
	struct sched_window w[] = {all_window("w", T0 + 8 * HOUR, T0 + 12 * HOUR, 2)};
	struct sched_input in = {.windows = w, .n_windows = 1};
	struct sched_change c[] = {change("CHG-1", S_A, 1, 2 * HOUR),
				   change("CHG-2", S_B, 1, 2 * HOUR),
				   change("CHG-3", S_C, 1, 2 * HOUR)};
	struct sched_plan_entry out[3];

	CHECK_INT(sched_plan(&in, c, 3, T0, out), SCHED_OK);
	CHECK_INT(out[0].slot.start_ms, T0 + 8 * HOUR);
	CHECK_INT(out[1].slot.start_ms, T0 + 8 * HOUR);
	CHECK_INT(out[2].status, SCHED_OK);
	CHECK_INT(out[2].slot.start_ms, T0 + 10 * HOUR);

	/* Existing bookings in the instance count too: two booked, a third waits. */
	struct sched_booking b[] = {{"CHG-8", S_A, 1, T0 + 8 * HOUR, T0 + 9 * HOUR, "w"},
				    {"CHG-9", S_B, 1, T0 + 8 * HOUR, T0 + 10 * HOUR, "w"}};
	in.bookings = b;
	in.n_bookings = 2;
	struct sched_slot s;
	struct sched_explain why;
	CHECK_INT(find(&in, &c[2], T0, &s, NULL), SCHED_OK);
	CHECK_INT(s.start_ms, T0 + 9 * HOUR);
	c[2].duration_ms = 4 * HOUR;
	CHECK_INT(find(&in, &c[2], T0, &s, &why), SCHED_NO_SLOT);
	CHECK_INT(why.n, 1);
	CHECK_STR(why.items[0].reason, "window full for c (capacity 2)");
}

static void test_hard_freeze_skipped_soft_flagged(void)
{
	struct sched_window w[] = {all_window("w", T0 + 8 * HOUR, T0 + 20 * HOUR, 0)};
	struct sched_freeze f[] = {
		{T0, T0 + 12 * HOUR, "year-end", true, NULL, 0},
		{T0 + 12 * HOUR, T0 + 14 * HOUR, "quiet", false, NULL, 0},
		{T0, T0 + DAY, "db-only", true, S_DB, 1},
	};
	struct sched_input in = {.windows = w, .n_windows = 1, .freezes = f, .n_freezes = 3};
	struct sched_slot s;
	struct sched_change c = change("CHG-1", S_API, 1, HOUR);

	CHECK_INT(find(&in, &c, T0, &s, NULL), SCHED_OK);
	CHECK_INT(s.start_ms, T0 + 12 * HOUR);
	CHECK_STR(s.soft_freeze, "quiet");
	CHECK(s.broken_freeze == NULL);

	/* After the soft freeze: not flagged. */
	c.not_before_ms = T0 + 14 * HOUR;
	CHECK_INT(find(&in, &c, T0, &s, NULL), SCHED_OK);
	CHECK_INT(s.start_ms, T0 + 14 * HOUR);
	CHECK(s.soft_freeze == NULL);

	/* A freeze naming db does not stop api, but stops db for the whole day. */
	c = change("CHG-2", S_DB, 1, HOUR);
	struct sched_explain why;
	CHECK_INT(find(&in, &c, T0, &s, &why), SCHED_NO_SLOT);
	CHECK_STR(why.items[0].reason, "inside hard freeze 'year-end'");
}

static void test_not_before_not_after(void)
{
	struct sched_window w[] = {all_window("w", T0 + 8 * HOUR, T0 + 20 * HOUR, 0)};
	struct sched_input in = {.windows = w, .n_windows = 1};
	struct sched_slot s;
	struct sched_explain why;
	struct sched_change c = change("CHG-1", S_API, 1, HOUR);

	c.not_before_ms = T0 + 9 * HOUR + 30 * MIN;
	CHECK_INT(find(&in, &c, T0, &s, NULL), SCHED_OK);
	CHECK_INT(s.start_ms, T0 + 9 * HOUR + 30 * MIN);

	/* now later than not_before wins. */
	CHECK_INT(find(&in, &c, T0 + 11 * HOUR, &s, NULL), SCHED_OK);
	CHECK_INT(s.start_ms, T0 + 11 * HOUR);

	/* The end must be by not_after: exactly at it is fine, a minute short is not. */
	c.not_after_ms = T0 + 10 * HOUR + 30 * MIN;
	CHECK_INT(find(&in, &c, T0, &s, NULL), SCHED_OK);
	CHECK_INT(s.end_ms, T0 + 10 * HOUR + 30 * MIN);
	c.not_after_ms -= MIN;
	CHECK_INT(find(&in, &c, T0, &s, &why), SCHED_NO_SLOT);
	CHECK_INT(why.n, 1);
	CHECK_STR(why.items[0].reason, "after not_after");
}

static void test_emergency_ignores_windows_respects_bookings(void)
{
	struct sched_window w[] = {all_window("w", T0 + 8 * HOUR, T0 + 20 * HOUR, 0)};
	struct sched_booking b[] = {{"CHG-1", S_DB, 1, T0 + 1 * HOUR, T0 + 3 * HOUR, NULL}};
	struct sched_input in = {
		.windows = w, .n_windows = 1, .bookings = b, .n_bookings = 1, .related = related};
	struct sched_slot s;
	struct sched_change c = change("CHG-2", S_API, 1, HOUR);

	c.type = SCHED_EMERGENCY;
	CHECK_INT(find(&in, &c, T0 + 2 * HOUR, &s, NULL), SCHED_OK);
	CHECK_INT(s.start_ms, T0 + 3 * HOUR); /* api depends on db, booked until 03:00 */
	CHECK(s.window_uid == NULL);
	CHECK_INT(find(&in, &c, T0, &s, NULL), SCHED_OK);
	CHECK_INT(s.start_ms, T0); /* an hour fits before the booking */

	/* The same change as normal waits for the window. */
	c.type = SCHED_NORMAL;
	CHECK_INT(find(&in, &c, T0 + 2 * HOUR, &s, NULL), SCHED_OK);
	CHECK_INT(s.start_ms, T0 + 8 * HOUR);
}

static void test_break_glass_crosses_hard_freeze(void)
{
	struct sched_freeze f[] = {{T0, T0 + 10 * HOUR, "year-end", true, NULL, 0}};
	struct sched_input in = {.freezes = f, .n_freezes = 1};
	struct sched_slot s;
	struct sched_change c = change("CHG-1", S_API, 1, HOUR);

	c.type = SCHED_EMERGENCY;
	CHECK_INT(find(&in, &c, T0 + HOUR, &s, NULL), SCHED_OK);
	CHECK_INT(s.start_ms, T0 + 10 * HOUR);
	CHECK(s.broken_freeze == NULL);

	c.break_glass = true;
	CHECK_INT(find(&in, &c, T0 + HOUR, &s, NULL), SCHED_OK);
	CHECK_INT(s.start_ms, T0 + HOUR);
	CHECK_STR(s.broken_freeze, "year-end");

	/* break_glass means nothing for a normal change. */
	struct sched_window w[] = {all_window("w", T0, T0 + 20 * HOUR, 0)};
	in.windows = w;
	in.n_windows = 1;
	c.type = SCHED_NORMAL;
	CHECK_INT(find(&in, &c, T0 + HOUR, &s, NULL), SCHED_OK);
	CHECK_INT(s.start_ms, T0 + 10 * HOUR);
}

static void test_plan_order_is_deterministic(void)
{
	struct sched_window w[] = {all_window("w", T0 + 8 * HOUR, T0 + 20 * HOUR, 0)};
	struct sched_input in = {.windows = w, .n_windows = 1};
	struct sched_change c[] = {change("CHG-2", S_API, 1, HOUR), change("CHG-9", S_API, 1, HOUR),
				   change("CHG-1", S_API, 1, HOUR),
				   change("CHG-5", S_API, 1, HOUR)};
	c[0].priority = 2; /* CHG-2: priority 2, approved at 5: after CHG-1 by id */
	c[0].approved_ms = 5;
	c[1].priority = 1; /* CHG-9: first by priority */
	c[1].approved_ms = 9;
	c[2].priority = 2;
	c[2].approved_ms = 5;
	c[3].priority = 2; /* CHG-5: approved earlier than CHG-1 and CHG-2 */
	c[3].approved_ms = 1;
	static const int64_t want[] = {11, 8, 10, 9}; /* hours, in the order of c[] */
	struct sched_plan_entry out[4], again[4];

	CHECK_INT(sched_plan(&in, c, 4, T0, out), SCHED_OK);
	for (size_t i = 0; i < 4; i++) {
		CHECK_INT(out[i].status, SCHED_OK);
		CHECKF(out[i].slot.start_ms == T0 + want[i] * HOUR, "%s at %+lld h", c[i].id,
		       (long long)((out[i].slot.start_ms - T0) / HOUR));
	}
	CHECK_INT(sched_plan(&in, c, 4, T0, again), SCHED_OK);
	for (size_t i = 0; i < 4; i++)
		CHECK_INT(again[i].slot.start_ms, out[i].slot.start_ms);
}

static void test_no_slot_explanations(void)
{
	struct sched_window w[] = {
		{T0 + 3 * DAY + 8 * HOUR, T0 + 3 * DAY + 12 * HOUR, "w4", S_PAY, 1, 0},
		{T0 + 8 * HOUR, T0 + 10 * HOUR, "w1", S_PAY, 1, 0},
		{T0 + DAY + 8 * HOUR, T0 + DAY + 9 * HOUR, "w2", S_PAY, 1, 0},
		{T0 + 2 * DAY + 8 * HOUR, T0 + 2 * DAY + 12 * HOUR, "w3", S_PAY, 1, 0},
	};
	struct sched_freeze f[] = {{T0 + 2 * DAY, T0 + 3 * DAY, "year-end", true, NULL, 0}};
	struct sched_booking b[] = {{"CHG-12", S_PAY, 1, T0 + 8 * HOUR, T0 + 10 * HOUR, "w1"}};
	struct sched_input in = {.windows = w,
				 .n_windows = 4,
				 .freezes = f,
				 .n_freezes = 1,
				 .bookings = b,
				 .n_bookings = 1};
	struct sched_change c = change("CHG-13", S_PAY, 1, 2 * HOUR);
	struct sched_slot s;
	struct sched_explain why;

	c.not_after_ms = T0 + 3 * DAY;
	CHECK_INT(find(&in, &c, T0, &s, &why), SCHED_NO_SLOT);
	CHECK_INT(why.n, 4);
	static const struct {
		const char *window, *start, *end, *reason;
	} want[] = {
		{"w1", "2026-03-02T08:00:00Z", "2026-03-02T10:00:00Z", "payments booked by CHG-12"},
		{"w2", "2026-03-03T08:00:00Z", "2026-03-03T09:00:00Z",
		 "shorter than the change (PT2H)"},
		{"w3", "2026-03-04T08:00:00Z", "2026-03-04T12:00:00Z",
		 "inside hard freeze 'year-end'"},
		{"w4", "2026-03-05T08:00:00Z", "2026-03-05T12:00:00Z", "after not_after"},
	};
	json_t *j = sched_explain_to_json(&why);
	CHECK(j != NULL && json_array_size(j) == 4);
	for (size_t i = 0; i < 4 && i < why.n; i++) {
		json_t *o = json_array_get(j, i);
		CHECK_STR(json_string_value(json_object_get(o, "window")), want[i].window);
		CHECK_STR(json_string_value(json_object_get(o, "start")), want[i].start);
		CHECK_STR(json_string_value(json_object_get(o, "end")), want[i].end);
		CHECK_STR(json_string_value(json_object_get(o, "reason")), want[i].reason);
	}
	json_decref(j);

	/* Never more than SCHED_EXPLAIN_MAX entries: 60 instances, each booked. */
	struct sched_window many[60];
	struct sched_booking booked[60];
	char ids[60][16];
	for (int i = 0; i < 60; i++) {
		snprintf(ids[i], sizeof ids[i], "CHG-%d", 100 + i);
		many[i] = (struct sched_window){
			T0 + i * DAY, T0 + i * DAY + 2 * HOUR, "daily", S_PAY, 1, 0};
		booked[i] = (struct sched_booking){
			ids[i], S_PAY, 1, T0 + i * DAY + HOUR, T0 + i * DAY + 2 * HOUR, "daily"};
	}
	struct sched_input in2 = {.windows = many,
				  .n_windows = 60,
				  .bookings = booked,
				  .n_bookings = 60,
				  .horizon_ms = 90 * DAY};
	c.not_after_ms = 0;
	CHECK_INT(find(&in2, &c, T0, &s, &why), SCHED_NO_SLOT);
	CHECK_INT(why.n, SCHED_EXPLAIN_MAX);
	CHECK_STR(why.items[49].reason, "payments booked by CHG-149");
	CHECK_INT(why.items[49].start_ms, T0 + 49 * DAY);
}

static void test_horizon_bound(void)
{
	struct sched_window w[] = {all_window("late", T0 + 3 * DAY, T0 + 3 * DAY + HOUR, 0)};
	struct sched_input in = {.windows = w, .n_windows = 1, .horizon_ms = 2 * DAY};
	struct sched_slot s;
	struct sched_explain why;
	struct sched_change c = change("CHG-1", S_API, 1, HOUR);

	CHECK_INT(find(&in, &c, T0, &s, &why), SCHED_NO_SLOT);
	CHECK_INT(why.n, 1);
	CHECK_STR(why.items[0].reason, "beyond the horizon");
	in.horizon_ms = 3 * DAY + HOUR; /* the horizon bounds the end: exactly enough */
	CHECK_INT(find(&in, &c, T0, &s, NULL), SCHED_OK);
	CHECK_INT(s.start_ms, T0 + 3 * DAY);

	/* The default is 180 days. */
	in.horizon_ms = 0;
	w[0] = all_window("d", T0 + 179 * DAY, T0 + 179 * DAY + HOUR, 0);
	CHECK_INT(find(&in, &c, T0, &s, NULL), SCHED_OK);
	w[0] = all_window("d", T0 + 181 * DAY, T0 + 181 * DAY + HOUR, 0);
	CHECK_INT(find(&in, &c, T0, &s, NULL), SCHED_NO_SLOT);
}

static void test_next_slots_and_booking(void)
{
	struct sched_window w[] = {all_window("w", T0 + 8 * HOUR, T0 + 12 * HOUR, 0)};
	struct sched_input in = {.windows = w, .n_windows = 1};
	struct sched_index *ix = NULL;
	struct sched_slot slots[5];
	size_t n = 0;
	struct sched_change c = change("CHG-1", S_API, 1, HOUR);

	CHECK_INT(sched_index_new(&in, &ix), SCHED_OK);
	CHECK_INT(sched_next_slots(ix, &c, T0, slots, 5, &n, NULL), SCHED_OK);
	CHECK_INT(n, 4);
	for (size_t i = 0; i < n; i++)
		CHECK_INT(slots[i].start_ms, T0 + (8 + (int64_t)i) * HOUR);

	/* Booking the second makes it invisible to the next search. */
	CHECK_INT(sched_index_book(ix, &c, &slots[1]), SCHED_OK);
	struct sched_change d = change("CHG-2", S_API, 1, 2 * HOUR);
	CHECK_INT(sched_next_slots(ix, &d, T0, slots, 5, &n, NULL), SCHED_OK);
	CHECK_INT(n, 1);
	CHECK_INT(slots[0].start_ms, T0 + 10 * HOUR);
	sched_index_free(ix);
}

static void test_invalid_and_formats(void)
{
	struct sched_input in = {0};
	struct sched_slot s;
	struct sched_change c = change("CHG-1", S_API, 1, 0);
	char buf[40];

	CHECK_INT(find(&in, &c, T0, &s, NULL), SCHED_ERR_INVALID);
	c = change("CHG-1", S_API, 0, HOUR);
	CHECK_INT(find(&in, &c, T0, &s, NULL), SCHED_ERR_INVALID);
	CHECK_INT(sched_index_new(NULL, NULL), SCHED_ERR_INVALID);
	sched_index_free(NULL);

	CHECK_STR(sched_duration_iso(90 * MIN, buf, sizeof buf), "PT1H30M");
	CHECK_STR(sched_duration_iso(DAY + 4 * HOUR, buf, sizeof buf), "P1DT4H");
	CHECK_STR(sched_duration_iso(2 * DAY, buf, sizeof buf), "P2D");
	CHECK_STR(sched_duration_iso(45000, buf, sizeof buf), "PT45S");
	CHECK_STR(sched_rfc3339(T0 + 1500, buf, sizeof buf), "2026-03-02T00:00:01.500Z");
}

TESTS(test_windows_intersect_across_services, test_transitive_conflict_lands_later,
      test_capacity_two_allows_two_not_three, test_hard_freeze_skipped_soft_flagged,
      test_not_before_not_after, test_emergency_ignores_windows_respects_bookings,
      test_break_glass_crosses_hard_freeze, test_plan_order_is_deterministic,
      test_no_slot_explanations, test_horizon_bound, test_next_slots_and_booking,
      test_invalid_and_formats)
