/*
 * test_sched.c -- the scheduler core (sched/sched.h): window intersections, transitive
 * conflicts, capacity, freezes, not_before/not_after, emergencies and break-glass, the
 * deterministic batch planner, explanations with exact reasons, and the horizon.  Every
 * instant is exact; T0 is Monday 2026-03-02T00:00:00Z.  Last, random scenarios planned and
 * searched both by the scheduler and by a brute-force reference written here from the
 * rules alone (test_random_against_reference).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
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

/*
 * Issue 10: a found slot explains the windows skipped before it -- a hard freeze (named),
 * a booking on a related service (naming the change), too short -- and nothing after.
 */
static void test_skipped_windows_explained(void)
{
	struct sched_window w[] = {
		{T0 + 1 * HOUR, T0 + 3 * HOUR, "w1", NULL, 0, 0}, /* frozen */
		{T0 + 4 * HOUR, T0 + 6 * HOUR, "w2", NULL, 0, 0}, /* db busy: api depends on db */
		{T0 + 7 * HOUR, T0 + 7 * HOUR + 30 * 60000LL, "w3", NULL, 0, 0}, /* too short */
		{T0 + 8 * HOUR, T0 + 10 * HOUR, "w4", NULL, 0, 0},               /* chosen */
		{T0 + 11 * HOUR, T0 + 13 * HOUR, "w5", NULL, 0, 0},
	};
	struct sched_freeze f[] = {{T0, T0 + 3 * HOUR, "night freeze", true, NULL, 0}};
	struct sched_booking b[] = {{"CHG-7", S_DB, 1, T0 + 4 * HOUR, T0 + 6 * HOUR, NULL}};
	struct sched_input in = {.windows = w,
				 .n_windows = 5,
				 .freezes = f,
				 .n_freezes = 1,
				 .bookings = b,
				 .n_bookings = 1,
				 .related = related};
	struct sched_change c = change("CHG-9", S_API, 1, HOUR);
	struct sched_index *ix = NULL;
	struct sched_slot s;
	struct sched_explain why;
	CHECK_INT(sched_index_new(&in, &ix), SCHED_OK);
	CHECK_INT(sched_find(ix, &c, T0, &s, NULL), SCHED_OK);
	CHECK_INT(s.start_ms, T0 + 8 * HOUR);
	CHECK_INT(sched_explain_skipped(ix, &c, T0, &s, &why), SCHED_OK);
	CHECK_INT(why.n, 3);
	CHECK_STR(why.items[0].window_uid, "w1");
	CHECK_STR(why.items[0].reason, "inside hard freeze 'night freeze'");
	CHECK_STR(why.items[1].window_uid, "w2");
	CHECK_STR(why.items[1].reason, "db booked by CHG-7");
	CHECK_STR(why.items[2].window_uid, "w3");
	CHECK(strstr(why.items[2].reason, "shorter than the change") != NULL);
	/* The first window taken: nothing skipped.  Emergencies skip no windows. */
	c.not_before_ms = T0 + 8 * HOUR;
	CHECK_INT(sched_find(ix, &c, T0, &s, NULL), SCHED_OK);
	CHECK_INT(sched_explain_skipped(ix, &c, T0, &s, &why), SCHED_OK);
	CHECK_INT(why.n, 0);
	c.type = SCHED_EMERGENCY;
	CHECK_INT(sched_find(ix, &c, T0, &s, NULL), SCHED_OK);
	CHECK_INT(sched_explain_skipped(ix, &c, T0, &s, &why), SCHED_OK);
	CHECK_INT(why.n, 0);
	CHECK_INT(sched_explain_skipped(NULL, &c, T0, &s, &why), SCHED_ERR_INVALID);
	sched_index_free(ix);
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

/* ---- random scenarios against a brute-force reference ------------------------------- */

/*
 * The reference reads the rules of sched.h literally: a start t is allowed when every
 * service of the change has a window instance holding [t, t + duration) whose bookings
 * overlapping it are fewer than its capacity (not for emergencies), no applicable hard
 * freeze overlaps it (unless break-glass), and no booking of a related service overlaps
 * it.  Whether t is allowed changes only at the earliest start, a window start, or the
 * end of a booking, a freeze or a use of an instance, so the earliest slot is the first
 * of those instants that is allowed.  Every check scans everything: slow and plain.
 */

#define R_SVC   6
#define R_MAX   64
#define R_UNIT  (15 * MIN)
#define R_NAMES "abcdef"

static const char *const r_names[R_SVC] = {"a", "b", "c", "d", "e", "f"};
static bool r_dep[R_SVC][R_SVC]; /* r_dep[x][y]: x depends on y, transitively */
static uint64_t r_seed;

static uint64_t r_next(void)
{
	r_seed ^= r_seed << 13;
	r_seed ^= r_seed >> 7;
	r_seed ^= r_seed << 17;
	return r_seed;
}

static int64_t r_int(int64_t n)
{
	return (int64_t)(r_next() % (uint64_t)n);
}

static int r_id(const char *name)
{
	return (int)(strchr(R_NAMES, name[0]) - R_NAMES);
}

static bool r_related(void *ctx, const char *a, const char *b)
{
	(void)ctx;
	int x = r_id(a), y = r_id(b);
	return x == y || r_dep[x][y] || r_dep[y][x];
}

/* A scenario: the input and the changes, with the storage their pointers borrow. */
struct r_scenario {
	struct sched_window w[R_MAX];
	struct sched_freeze f[4];
	struct sched_booking b[R_MAX];
	struct sched_change c[R_MAX];
	const char *w_svc[R_MAX][3], *f_svc[4][2], *b_svc[R_MAX][2], *c_svc[R_MAX][3];
	char c_id[R_MAX][8], f_name[4][8];
	struct sched_input in;
	size_t n_c;
	int64_t now;
};

/* One booking as the reference keeps it: the services, and the instances it uses. */
struct r_booking {
	const char *const *svcs;
	size_t n_svcs;
	int64_t start, end;
	int inst[3]; /* window indexes, -1: none */
};

struct r_state {
	const struct r_scenario *s;
	struct r_booking bk[2 * R_MAX];
	size_t n;
};

static void r_pick(const char **dst, size_t *n, int max, int n_svc)
{
	*n = 1 + (size_t)r_int(max);
	for (size_t i = 0; i < *n; i++)
		dst[i] = r_names[r_int(n_svc)];
}

/* A small random scenario over about a day and a half in quarter hours. */
static void r_make(struct r_scenario *s, bool dense)
{
	int n_svc = 2 + (int)r_int(R_SVC - 1);
	int64_t span = dense ? 48 : 144;
	memset(s, 0, sizeof *s);
	memset(r_dep, 0, sizeof r_dep);
	for (int x = 0; x < n_svc; x++)
		for (int y = 0; y < x; y++)
			r_dep[x][y] = r_int(3) == 0;
	for (int k = 0; k < n_svc; k++) /* transitive closure */
		for (int x = 0; x < n_svc; x++)
			for (int y = 0; y < n_svc; y++)
				r_dep[x][y] = r_dep[x][y] || (r_dep[x][k] && r_dep[k][y]);
	static const char *const uids[] = {"w1", "w2", "w3"};
	size_t n_w = (size_t)r_int(10), n_f = (size_t)r_int(4);
	size_t n_b = (size_t)r_int(dense ? R_MAX : 10);
	for (size_t i = 0; i < n_w; i++) {
		int64_t start = T0 + r_int(span) * R_UNIT, len = (1 + r_int(32)) * R_UNIT;
		if (r_int(12) == 0)
			len = -r_int(2) * R_UNIT; /* empty or backwards: ignored */
		s->w[i] = (struct sched_window){start,       start + len, uids[r_int(3)],
						s->w_svc[i], 0,           (int)r_int(5) - 1};
		if (r_int(3) > 0)
			r_pick(s->w_svc[i], &s->w[i].n_services, 3, n_svc);
	}
	for (size_t i = 0; i < n_f; i++) {
		int64_t start = T0 + r_int(span) * R_UNIT;
		snprintf(s->f_name[i], sizeof s->f_name[i], "F%zu", i);
		s->f[i] = (struct sched_freeze){start,        start + (1 + r_int(16)) * R_UNIT,
						s->f_name[i], r_int(2) == 0,
						s->f_svc[i],  0};
		if (r_int(2) > 0)
			r_pick(s->f_svc[i], &s->f[i].n_services, 2, n_svc);
	}
	for (size_t i = 0; i < n_b; i++) {
		int64_t start = T0 + r_int(span) * R_UNIT, len = (1 + r_int(8)) * R_UNIT;
		if (r_int(15) == 0)
			len = 0;
		s->b[i] = (struct sched_booking){"B",         s->b_svc[i],
						 0,           start,
						 start + len, r_int(4) > 0 ? uids[r_int(3)] : NULL};
		r_pick(s->b_svc[i], &s->b[i].n_services, 2, n_svc);
	}
	s->n_c = 1 + (size_t)r_int(dense ? R_MAX : 12);
	for (size_t i = 0; i < s->n_c; i++) {
		struct sched_change *c = &s->c[i];
		snprintf(s->c_id[i], sizeof s->c_id[i], "C%d", (int)r_int((int64_t)s->n_c + 3));
		*c = (struct sched_change){.id = s->c_id[i], .services = s->c_svc[i]};
		r_pick(s->c_svc[i], &c->n_services, 3, n_svc);
		c->duration_ms = (1 + r_int(8)) * R_UNIT + (r_int(6) == 0 ? r_int(600) * 1000 : 0);
		c->not_before_ms = r_int(3) > 0 ? T0 + r_int(span) * R_UNIT : 0;
		c->not_after_ms = r_int(3) == 0 ? c->not_before_ms + r_int(48) * R_UNIT : 0;
		int type = (int)r_int(6);
		c->type = type == 0 ? SCHED_EMERGENCY : type == 1 ? SCHED_STANDARD : SCHED_NORMAL;
		c->break_glass = r_int(2) == 0;
		c->priority = (int)r_int(3);
		c->approved_ms = r_int(3);
	}
	s->now = T0 + (r_int(3) > 0 ? r_int(span / 2) * R_UNIT : 0);
	s->in = (struct sched_input){s->w,
				     n_w,
				     s->f,
				     n_f,
				     s->b,
				     n_b,
				     r_int(4) > 0 ? r_related : NULL,
				     NULL,
				     r_int(2) > 0 ? (span + r_int(48)) * R_UNIT : 0};
}

static bool r_names_svc(const char *const *svcs, size_t n, const char *svc)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(svcs[i], svc) == 0)
			return true;
	return false;
}

static bool r_overlap(int64_t s1, int64_t e1, int64_t s2, int64_t e2)
{
	return s1 < e2 && s2 < e1;
}

/* Bookings counted against window i overlapping [t, t + dur). */
static int r_uses(const struct r_state *st, int i, int64_t t, int64_t dur)
{
	int n = 0;
	for (size_t k = 0; k < st->n; k++)
		for (int j = 0; j < 3; j++)
			if (st->bk[k].inst[j] == i &&
			    r_overlap(st->bk[k].start, st->bk[k].end, t, t + dur))
				n++;
	return n;
}

/* The instance of svc holding [t, t + dur) with capacity left, latest by (start, input
 * position), or -1. */
static int r_instance(const struct r_state *st, const char *svc, int64_t t, int64_t dur)
{
	const struct sched_input *in = &st->s->in;
	int best = -1;
	for (size_t i = 0; i < in->n_windows; i++) {
		const struct sched_window *w = &in->windows[i];
		if (w->end_ms <= w->start_ms || w->start_ms > t || w->end_ms < t + dur ||
		    (w->n_services > 0 && !r_names_svc(w->services, w->n_services, svc)))
			continue;
		if (w->capacity > 0 && r_uses(st, (int)i, t, dur) >= w->capacity)
			continue;
		if (best < 0 || w->start_ms >= in->windows[best].start_ms)
			best = (int)i;
	}
	return best;
}

static bool r_freeze_applies(const struct sched_freeze *f, const struct sched_change *c)
{
	if (f->end_ms <= f->start_ms)
		return false;
	if (f->n_services == 0)
		return true;
	for (size_t i = 0; i < c->n_services; i++)
		if (r_names_svc(f->services, f->n_services, c->services[i]))
			return true;
	return false;
}

static bool r_allowed(const struct r_state *st, const struct sched_change *c, int64_t t)
{
	const struct sched_input *in = &st->s->in;
	int64_t dur = c->duration_ms;
	for (size_t i = 0; c->type != SCHED_EMERGENCY && i < c->n_services; i++)
		if (r_instance(st, c->services[i], t, dur) < 0)
			return false;
	for (size_t k = 0; k < in->n_freezes; k++) {
		const struct sched_freeze *f = &in->freezes[k];
		if (f->hard && r_freeze_applies(f, c) &&
		    r_overlap(f->start_ms, f->end_ms, t, t + dur) &&
		    !(c->type == SCHED_EMERGENCY && c->break_glass))
			return false;
	}
	for (size_t k = 0; k < st->n; k++) {
		const struct r_booking *b = &st->bk[k];
		if (!r_overlap(b->start, b->end, t, t + dur))
			continue;
		for (size_t i = 0; i < c->n_services; i++)
			for (size_t j = 0; j < b->n_svcs; j++)
				if (strcmp(c->services[i], b->svcs[j]) == 0 ||
				    (in->related != NULL &&
				     in->related(NULL, c->services[i], b->svcs[j])))
					return false;
	}
	return true;
}

/* Adds candidate x to the list when in [lo, last]. */
static void r_cand(int64_t *v, size_t *n, int64_t x, int64_t lo, int64_t last)
{
	if (x >= lo && x <= last)
		v[(*n)++] = x;
}

static int r_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* The earliest slot for c from `from`, as sched_next_slots searches; false: none. */
static bool r_find(const struct r_state *st, const struct sched_change *c, int64_t from,
		   struct sched_slot *slot)
{
	const struct sched_input *in = &st->s->in;
	int64_t horizon = in->horizon_ms > 0 ? in->horizon_ms : SCHED_HORIZON_DEFAULT_MS;
	int64_t hi = st->s->now + horizon;
	if (c->not_after_ms != 0 && c->not_after_ms < hi)
		hi = c->not_after_ms;
	int64_t last = hi - c->duration_ms;
	static int64_t v[8 * R_MAX];
	size_t n = 0;
	r_cand(v, &n, from, from, last);
	for (size_t i = 0; i < in->n_windows; i++)
		r_cand(v, &n, in->windows[i].start_ms, from, last);
	for (size_t i = 0; i < in->n_freezes; i++)
		r_cand(v, &n, in->freezes[i].end_ms, from, last);
	for (size_t k = 0; k < st->n; k++)
		r_cand(v, &n, st->bk[k].end, from, last);
	qsort(v, n, sizeof *v, r_cmp_i64);
	for (size_t k = 0; k < n; k++) {
		if (!r_allowed(st, c, v[k]))
			continue;
		int64_t t = v[k], dur = c->duration_ms;
		*slot = (struct sched_slot){.start_ms = t, .end_ms = t + dur};
		if (c->type != SCHED_EMERGENCY) {
			const struct sched_window *w =
				&in->windows[r_instance(st, c->services[0], t, dur)];
			slot->window_uid = w->uid;
			slot->window_start_ms = w->start_ms;
			slot->window_end_ms = w->end_ms;
		}
		for (size_t i = 0; i < in->n_freezes; i++) {
			const struct sched_freeze *f = &in->freezes[i];
			if (!r_freeze_applies(f, c) ||
			    !r_overlap(f->start_ms, f->end_ms, t, t + dur))
				continue;
			if (!f->hard && slot->soft_freeze == NULL)
				slot->soft_freeze = f->name;
			if (f->hard && slot->broken_freeze == NULL)
				slot->broken_freeze = f->name;
		}
		return true;
	}
	return false;
}

/* Records a booking; with a window, it uses each distinct instance found by `inst`. */
static void r_book(struct r_state *st, const char *const *svcs, size_t n, int64_t start,
		   int64_t end, const int *inst)
{
	struct r_booking *b = &st->bk[st->n++];
	*b = (struct r_booking){svcs, n, start, end, {-1, -1, -1}};
	for (size_t i = 0; i < n && inst != NULL; i++) {
		bool seen = inst[i] < 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = inst[j] == inst[i];
		if (!seen)
			b->inst[i] = inst[i];
	}
}

/* Books c at slot, as sched_index_book does: instances chosen before counting it. */
static void r_book_change(struct r_state *st, const struct sched_change *c,
			  const struct sched_slot *slot)
{
	int inst[3] = {-1, -1, -1};
	for (size_t i = 0; i < c->n_services && slot->window_uid != NULL; i++)
		inst[i] = r_instance(st, c->services[i], slot->start_ms,
				     slot->end_ms - slot->start_ms);
	r_book(st, c->services, c->n_services, slot->start_ms, slot->end_ms, inst);
}

/* The reference's state for the scenario's existing bookings. */
static void r_init(struct r_state *st, const struct r_scenario *s)
{
	const struct sched_input *in = &s->in;
	st->s = s;
	st->n = 0;
	for (size_t k = 0; k < in->n_bookings; k++) {
		const struct sched_booking *b = &in->bookings[k];
		if (b->end_ms <= b->start_ms)
			continue;
		int inst[3] = {-1, -1, -1};
		for (size_t i = 0; i < b->n_services && b->window_uid != NULL; i++)
			for (size_t j = 0; j < in->n_windows; j++) { /* latest holding it by uid */
				const struct sched_window *w = &in->windows[j];
				if (w->end_ms > w->start_ms && w->start_ms <= b->start_ms &&
				    w->end_ms >= b->end_ms && strcmp(w->uid, b->window_uid) == 0 &&
				    (w->n_services == 0 ||
				     r_names_svc(w->services, w->n_services, b->services[i])) &&
				    (inst[i] < 0 || w->start_ms >= in->windows[inst[i]].start_ms))
					inst[i] = (int)j;
			}
		r_book(st, b->services, b->n_services, b->start_ms, b->end_ms, inst);
	}
}

static int r_cmp_plan(const struct sched_change *x, size_t i, const struct sched_change *y,
		      size_t j)
{
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	if (x->approved_ms != y->approved_ms)
		return x->approved_ms < y->approved_ms ? -1 : 1;
	int r = strcmp(x->id, y->id);
	return r != 0 ? r : i < j ? -1 : i > j;
}

/* Whether two slots are the same, reporting the first difference. */
static bool r_same(const struct sched_slot *got, const struct sched_slot *want, int scenario,
		   const char *what, size_t i)
{
	bool same = got->start_ms == want->start_ms && got->end_ms == want->end_ms &&
		    got->window_uid == want->window_uid &&
		    got->window_start_ms == want->window_start_ms &&
		    got->window_end_ms == want->window_end_ms &&
		    got->soft_freeze == want->soft_freeze &&
		    got->broken_freeze == want->broken_freeze;
	CHECKF(same,
	       "scenario %d %s %zu: got [%+lld, %+lld) in %s, want [%+lld, %+lld) in %s (min)",
	       scenario, what, i, (long long)((got->start_ms - T0) / MIN),
	       (long long)((got->end_ms - T0) / MIN), got->window_uid ? got->window_uid : "-",
	       (long long)((want->start_ms - T0) / MIN), (long long)((want->end_ms - T0) / MIN),
	       want->window_uid ? want->window_uid : "-");
	return same;
}

static void test_random_against_reference(void)
{
	static struct r_scenario s;
	static struct r_state st;
	static struct sched_plan_entry out[R_MAX];
	size_t n_slots = 0, n_none = 0;

	r_seed = 0x9e3779b97f4a7c15ULL;
	for (int k = 0; k < 400; k++) {
		r_make(&s, k % 4 == 3);

		/* The planner: in (priority, approved, id, position) order, each booked. */
		CHECK_INT(sched_plan(&s.in, s.c, s.n_c, s.now, out), SCHED_OK);
		r_init(&st, &s);
		bool done[R_MAX] = {false};
		for (size_t m = 0; m < s.n_c; m++) {
			size_t i = SIZE_MAX;
			for (size_t j = 0; j < s.n_c; j++)
				if (!done[j] &&
				    (i == SIZE_MAX || r_cmp_plan(&s.c[j], j, &s.c[i], i) < 0))
					i = j;
			done[i] = true;
			const struct sched_change *c = &s.c[i];
			struct sched_slot want;
			int64_t lo = c->not_before_ms > s.now ? c->not_before_ms : s.now;
			bool found = r_find(&st, c, lo, &want);
			CHECKF(out[i].status == (found ? SCHED_OK : SCHED_NO_SLOT),
			       "scenario %d plan %zu: status %d", k, i, (int)out[i].status);
			if (found && out[i].status == SCHED_OK &&
			    r_same(&out[i].slot, &want, k, "plan", i))
				r_book_change(&st, c, &want);
			n_slots += found;
			n_none += !found;
		}

		/* One index: the next three slots of each change, booking every other first. */
		struct sched_index *ix = NULL;
		CHECK_INT(sched_index_new(&s.in, &ix), SCHED_OK);
		r_init(&st, &s);
		for (size_t i = 0; ix != NULL && i < s.n_c; i++) {
			const struct sched_change *c = &s.c[i];
			struct sched_slot got[3], want;
			size_t n = 0, n_want = 0;
			enum sched_status r = sched_next_slots(ix, c, s.now, got, 3, &n, NULL);
			int64_t from = c->not_before_ms > s.now ? c->not_before_ms : s.now;
			for (; n_want < 3 && r_find(&st, c, from, &want);
			     n_want++, from = want.end_ms)
				if (n_want < n)
					r_same(&got[n_want], &want, k, "next", i);
			CHECKF(n == n_want && r == (n ? SCHED_OK : SCHED_NO_SLOT),
			       "scenario %d next %zu: %zu slots, want %zu", k, i, n, n_want);
			if (n > 0 && i % 2 == 0) {
				CHECK_INT(sched_index_book(ix, c, &got[0]), SCHED_OK);
				r_book_change(&st, c, &got[0]);
			}
		}
		sched_index_free(ix);
	}
	/* The scenarios are worth something: both outcomes, many times. */
	CHECKF(n_slots > 1000 && n_none > 300, "%zu slots, %zu without", n_slots, n_none);
}

TESTS(test_windows_intersect_across_services, test_transitive_conflict_lands_later,
      test_capacity_two_allows_two_not_three, test_hard_freeze_skipped_soft_flagged,
      test_not_before_not_after, test_emergency_ignores_windows_respects_bookings,
      test_break_glass_crosses_hard_freeze, test_plan_order_is_deterministic,
      test_no_slot_explanations, test_horizon_bound, test_next_slots_and_booking,
      test_invalid_and_formats, test_random_against_reference, test_skipped_windows_explained)
