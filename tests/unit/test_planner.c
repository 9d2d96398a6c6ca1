/*
 * test_planner.c -- the planner's incremental bookings (planner_booking_remove and
 * planner_booking_add, over sched_index_remove and sched_index_add): a re-plan pass that
 * keeps one planner and moves each change in it places every change exactly where the
 * old pass, which made a planner per change with that change excluded, placed it.
 *
 * The property: on generated calendars (windows with and without capacity, for named
 * services, maintenance calendars of the catalog or every service, some of another
 * environment; hard and soft freezes), bookings made legal and then disturbed (window
 * instances dropped, freezes added, bookings put at random times), and changes of one
 * or two services of the shipped catalog (dependencies conflict), some bounded, some
 * emergencies, both passes are run side by side, change after change, in the same
 * order; every decision (kept or not, the soft freeze, the slot, its window, the reasons
 * when none, what was skipped) must be the same.  The seed of a failing case is printed.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "core/diag.h"
#include "planner/planner.h"
#include "policy/catalog.h"
#include "sched/sched.h"

#define HOUR  (3600LL * 1000)
#define DAY   (24 * HOUR)
#define T0    1796601600000LL /* 2026-12-07T00:00:00Z */
#define DAYS  30
#define HORIZ (DAYS * DAY)

static const char *const SVCS[] = {"web-frontend",  "mobile-api", "api-gateway", "payments",
				   "payments-db",   "ledger",     "ledger-db",   "identity",
				   "notifications", "search",     "reporting",   "data-warehouse",
				   "message-bus"};
#define N_SVCS (sizeof SVCS / sizeof SVCS[0])
static const char *const CALS[] = {"web-window", "platform-window", "payments-window",
				   "data-window"};
static const char *PROD[] = {"production"};
static const char *STAGING[] = {"staging"};

static uint64_t rng;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}
static int64_t pick(int64_t n)
{
	return (int64_t)(rnd() % (uint64_t)n);
}

/* The generated input: instances and their strings, the changes, the bookings. */
struct gen {
	struct cal_instances inst;
	const char *names[64][3]; /* service lists of the events */
	char uids[64][16], sums[64][32];
	size_t n_events;
	json_t *changes;  /* [{"id", "services", "duration_ms", "not_before_ms", "not_after_ms",
			     "emergency"}] */
	json_t *bookings; /* planner_new's shape */
};

static void add_instance(struct gen *g, size_t ev, enum cal_inst_kind kind, bool hard,
			 long capacity, size_t n_services, bool staging, int64_t start, int64_t end)
{
	if (g->inst.n == g->inst.cap) {
		g->inst.cap = g->inst.cap ? 2 * g->inst.cap : 256;
		g->inst.v = realloc(g->inst.v, g->inst.cap * sizeof *g->inst.v);
	}
	g->inst.v[g->inst.n++] = (struct cal_instance){
		.uid = g->uids[ev],
		.summary = g->sums[ev],
		.kind = kind,
		.hard = hard,
		.capacity = capacity,
		.services = n_services ? g->names[ev] : NULL,
		.n_services = n_services,
		.environments = staging ? STAGING : PROD,
		.n_environments = 1,
		.start_ms = start,
		.end_ms = end,
		.recurring = true,
	};
}

/* An event's service list: named services, a maintenance calendar, or every service (0). */
static size_t event_services(struct gen *g, size_t ev)
{
	int64_t k = pick(10);
	if (k == 0)
		return 0;
	if (k <= 3) {
		g->names[ev][0] = CALS[pick(4)];
		return 1;
	}
	size_t n = 1 + (size_t)pick(3);
	for (size_t i = 0; i < n; i++)
		g->names[ev][i] = SVCS[pick(N_SVCS)];
	return n;
}

static void gen_calendar(struct gen *g)
{
	size_t windows = 4 + (size_t)pick(5), freezes = 1 + (size_t)pick(3);
	for (size_t w = 0; w < windows; w++) {
		size_t ev = g->n_events++;
		snprintf(g->uids[ev], sizeof g->uids[ev], "w%zu", w);
		snprintf(g->sums[ev], sizeof g->sums[ev], "Window %zu", w);
		size_t ns = event_services(g, ev);
		long cap = pick(3) == 0 ? 1 + pick(3) : 100;
		bool staging = pick(8) == 0;
		int64_t hour = pick(20), len = (2 + pick(6)) * HOUR, every = 1 + pick(3);
		for (int64_t d = -1; d < DAYS + 2; d += every)
			if (pick(12) != 0) /* some instances missing */
				add_instance(g, ev, CAL_INST_WINDOW, true, cap, ns, staging,
					     T0 + d * DAY + hour * HOUR,
					     T0 + d * DAY + hour * HOUR + len);
	}
	for (size_t f = 0; f < freezes; f++) {
		size_t ev = g->n_events++;
		snprintf(g->uids[ev], sizeof g->uids[ev], "f%zu", f);
		snprintf(g->sums[ev], sizeof g->sums[ev], "Freeze %zu", f);
		size_t ns = event_services(g, ev);
		int64_t start = T0 + pick(DAYS) * DAY + pick(24) * HOUR;
		add_instance(g, ev, CAL_INST_FREEZE, pick(2) == 0, 0, ns, false, start,
			     start + (4 + pick(60)) * HOUR);
	}
}

static void gen_changes(struct gen *g, size_t n)
{
	g->changes = json_array();
	for (size_t i = 0; i < n; i++) {
		char id[32];
		snprintf(id, sizeof id, "CHG-%zu", i + 1);
		json_t *svcs = json_pack("[s]", SVCS[pick(N_SVCS)]);
		if (pick(4) == 0)
			json_array_append_new(svcs, json_string(SVCS[pick(N_SVCS)]));
		int64_t nb = pick(3) == 0 ? T0 + pick(DAYS / 2) * DAY : 0;
		int64_t na = pick(6) == 0 ? T0 + (DAYS / 2 + pick(DAYS / 2)) * DAY : 0;
		json_array_append_new(g->changes,
				      json_pack("{s:s, s:o, s:I, s:I, s:I, s:b}", "id", id,
						"services", svcs, "duration_ms",
						(json_int_t)((1 + pick(8)) * HOUR / 2),
						"not_before_ms", (json_int_t)nb, "not_after_ms",
						(json_int_t)na, "emergency", pick(10) == 0));
	}
}

static struct planner_request request(json_t *c)
{
	return (struct planner_request){
		.id = json_string_value(json_object_get(c, "id")),
		.services = json_object_get(c, "services"),
		.duration_ms = json_integer_value(json_object_get(c, "duration_ms")),
		.not_before_ms = json_integer_value(json_object_get(c, "not_before_ms")),
		.not_after_ms = json_integer_value(json_object_get(c, "not_after_ms")),
		.emergency = json_is_true(json_object_get(c, "emergency")),
	};
}

/* A booking of `id` from a slot, services sorted and distinct (as the store lists them). */
static json_t *booking_of(const char *id, json_t *services, json_t *slot)
{
	json_t *names = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(services, i, v) {
		size_t at = 0;
		const char *n = json_string_value(v);
		while (at < json_array_size(names) &&
		       strcmp(json_string_value(json_array_get(names, at)), n) < 0)
			at++;
		if (at < json_array_size(names) &&
		    strcmp(json_string_value(json_array_get(names, at)), n) == 0)
			continue;
		json_array_insert_new(names, at, json_string(n));
	}
	json_t *w = json_object_get(slot, "window");
	return json_pack("{s:s, s:o, s:O, s:O, s:O?}", "change", id, "services", names, "start_ms",
			 json_object_get(slot, "start_ms"), "end_ms",
			 json_object_get(slot, "end_ms"), "window_uid",
			 json_is_object(w) ? json_object_get(w, "uid") : NULL);
}

/* bookings without `id`'s, then `b` (stolen; may be NULL) appended. */
static json_t *replace_booking(json_t *bookings, const char *id, json_t *b)
{
	json_t *out = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(bookings, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "change")), id) != 0)
			json_array_append(out, v);
	}
	if (b != NULL)
		json_array_append_new(out, b);
	return out;
}

/*
 * One change's decision with planner `p` (its own booking already left out): "kept" with
 * the soft freeze, or the reply of planner_slots.  The change's booking is `start` (0:
 * none).
 */
static json_t *decide(struct planner *p, json_t *c, int64_t start)
{
	struct planner_request rq = request(c);
	const char *soft = NULL;
	if (start > T0 && planner_slot_still_legal(p, &rq, start, T0, &soft))
		return json_pack("{s:s, s:s?}", "kept", "yes", "soft", soft);
	json_t *res = NULL;
	enum sched_status st = planner_slots(p, &rq, T0, 1, &res);
	if (res == NULL)
		return json_pack("{s:i}", "status", st);
	json_object_set_new(res, "status", json_integer(st));
	return res;
}

static int64_t start_of(json_t *bookings, const char *id)
{
	size_t i;
	json_t *v;
	json_array_foreach(bookings, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "change")), id) == 0)
			return json_integer_value(json_object_get(v, "start_ms"));
	}
	return 0;
}

/* Books every change once with a fresh planner each: legal bookings to start from. */
static json_t *book_all(struct gen *g, const struct policy_catalog *cat)
{
	json_t *bookings = json_array();
	size_t i;
	json_t *c;
	json_array_foreach(g->changes, i, c) {
		if (pick(5) == 0)
			continue; /* unscheduled */
		struct planner *p = planner_new(&g->inst, NULL, bookings, cat, NULL, HORIZ);
		struct planner_request rq = request(c);
		json_t *res = NULL;
		if (planner_slots(p, &rq, T0, 1, &res) == SCHED_OK) {
			json_t *slot = json_array_get(json_object_get(res, "slots"), 0);
			json_t *next = replace_booking(bookings, rq.id,
						       booking_of(rq.id, rq.services, slot));
			json_decref(bookings);
			bookings = next;
		}
		json_decref(res);
		planner_free(p);
	}
	return bookings;
}

/* Disturbs the calendar and the bookings, so that a pass has changes to move. */
static void disturb(struct gen *g)
{
	for (size_t i = 0; i < g->inst.n; i++)
		if (g->inst.v[i].kind == CAL_INST_WINDOW && pick(6) == 0)
			g->inst.v[i].end_ms = g->inst.v[i].start_ms + HOUR / 2; /* shortened */
	size_t ev = g->n_events++;
	snprintf(g->uids[ev], sizeof g->uids[ev], "fx");
	snprintf(g->sums[ev], sizeof g->sums[ev], "New freeze");
	size_t ns = event_services(g, ev);
	int64_t start = T0 + pick(DAYS / 2) * DAY;
	add_instance(g, ev, CAL_INST_FREEZE, pick(3) != 0, 0, ns, false, start,
		     start + (12 + pick(48)) * HOUR);
	size_t i;
	json_t *v;
	json_array_foreach(g->bookings, i, v) {
		if (pick(8) == 0) { /* a booking at a random time (another replica's, say) */
			int64_t s = T0 + pick(DAYS * 24) * HOUR;
			int64_t len = json_integer_value(json_object_get(v, "end_ms")) -
				      json_integer_value(json_object_get(v, "start_ms"));
			json_object_set_new(v, "start_ms", json_integer(s));
			json_object_set_new(v, "end_ms", json_integer(s + len));
		}
	}
}

/* Runs both passes over one generated case; returns the number of differences. */
static int one_case(uint64_t seed, const struct policy_catalog *cat, size_t n_changes,
		    size_t *moved)
{
	struct gen g = {0};
	rng = seed * 2654435761u + 1;
	gen_calendar(&g);
	gen_changes(&g, n_changes);
	g.bookings = book_all(&g, cat);
	disturb(&g);

	int diffs = 0;
	json_t *old_bookings = json_incref(g.bookings), *new_bookings = json_incref(g.bookings);
	struct planner *inc = planner_new(&g.inst, NULL, g.bookings, cat, NULL, HORIZ);
	size_t i;
	json_t *c;
	json_array_foreach(g.changes, i, c) {
		const char *id = json_string_value(json_object_get(c, "id"));
		json_t *services = json_object_get(c, "services");
		/* The old pass: a planner of every booking but this change's. */
		struct planner *p = planner_new(&g.inst, NULL, old_bookings, cat, id, HORIZ);
		int64_t start = start_of(old_bookings, id);
		json_t *a = decide(p, c, start);
		planner_free(p);
		/* The new one: taken out of the pass's planner, decided, put back. */
		json_t *was = NULL;
		CHECK(planner_booking_remove(inc, id, &was) == 0);
		json_t *b = decide(inc, c, start_of(new_bookings, id));
		if (!json_equal(a, b)) {
			char *x = json_dumps(a, JSON_COMPACT), *y = json_dumps(b, JSON_COMPACT);
			fprintf(stderr, "  seed %" PRIu64 ", %s:\n    old %s\n    new %s\n", seed,
				id, x, y);
			free(x);
			free(y);
			diffs++;
		}
		/* Both worlds move on the same way. */
		json_t *next_booking = NULL;
		if (json_object_get(a, "kept") != NULL) {
			if (was != NULL)
				CHECK(planner_booking_add(inc, id, was) == 0);
		} else if (json_integer_value(json_object_get(a, "status")) == SCHED_OK) {
			next_booking = booking_of(id, services,
						  json_array_get(json_object_get(a, "slots"), 0));
			CHECK(planner_booking_add(inc, id, next_booking) == 0);
			(*moved)++;
		} else if (start_of(old_bookings, id) != 0) {
			(*moved)++;
		}
		json_decref(was);
		if (json_object_get(a, "kept") == NULL) {
			json_t *nb = replace_booking(old_bookings, id, json_incref(next_booking));
			json_decref(old_bookings);
			old_bookings = nb;
			nb = replace_booking(new_bookings, id, next_booking);
			json_decref(new_bookings);
			new_bookings = nb;
		} else {
			json_decref(next_booking);
		}
		json_decref(a);
		json_decref(b);
	}
	planner_free(inc);
	json_decref(old_bookings);
	json_decref(new_bookings);
	json_decref(g.bookings);
	json_decref(g.changes);
	free(g.inst.v);
	return diffs;
}

static struct policy_catalog *shipped(void)
{
	struct diags d = {0};
	struct policy_catalog *cat = catalog_load_file("policies/services.json", &d);
	diags_clear(&d);
	if (cat == NULL) {
		fprintf(stderr,
			"cannot load policies/services.json (run from the repository root)\n");
		exit(1);
	}
	return cat;
}

/* The property, on 40 generated cases of 120 changes. */
static void test_incremental_pass_places_as_a_planner_per_change(void)
{
	struct policy_catalog *cat = shipped();
	size_t moved = 0;
	int diffs = 0;
	for (uint64_t seed = 1; seed <= 40; seed++)
		diffs += one_case(seed, cat, 120, &moved);
	CHECK_INT(diffs, 0);
	/* The cases are worth something: changes did move (or lose their slot). */
	CHECKF(moved >= 100, "only %zu changes moved", moved);
	catalog_free(cat);
}

/*
 * Removing and adding back by hand: CHG-1 holds payments for the first hour of a window
 * of payments and search with capacity 1, so a change on payments (the same service)
 * and one on search (the window's capacity) both wait an hour; with CHG-1 taken out
 * both start with the window; put back, both wait again.
 */
static int64_t first_start(struct planner *p, const char *id, const char *service)
{
	json_t *svcs = json_pack("[s]", service), *res = NULL;
	struct planner_request rq = {.id = id, .services = svcs, .duration_ms = HOUR};
	int64_t at = -1;
	if (planner_slots(p, &rq, T0, 1, &res) == SCHED_OK)
		at = json_integer_value(json_object_get(
			json_array_get(json_object_get(res, "slots"), 0), "start_ms"));
	json_decref(res);
	json_decref(svcs);
	return at;
}

static void test_remove_and_add_free_and_block_a_slot(void)
{
	static const char *svc[] = {"payments", "search"};
	struct cal_instance w = {.uid = "w",
				 .summary = "W",
				 .kind = CAL_INST_WINDOW,
				 .hard = true,
				 .capacity = 1,
				 .services = svc,
				 .n_services = 2,
				 .environments = PROD,
				 .n_environments = 1,
				 .start_ms = T0 + DAY,
				 .end_ms = T0 + DAY + 4 * HOUR};
	struct cal_instances inst = {.v = &w, .n = 1, .cap = 1};
	json_t *bookings = json_pack("[{s:s, s:[s], s:I, s:I, s:s}]", "change", "CHG-1", "services",
				     "payments", "start_ms", (json_int_t)(T0 + DAY), "end_ms",
				     (json_int_t)(T0 + DAY + HOUR), "window_uid", "w");
	struct planner *p = planner_new(&inst, NULL, bookings, NULL, NULL, HORIZ);
	CHECK_INT(first_start(p, "CHG-2", "payments"), T0 + DAY + HOUR);
	CHECK_INT(first_start(p, "CHG-3", "search"), T0 + DAY + HOUR);
	json_t *was = NULL;
	CHECK(planner_booking_remove(p, "CHG-1", &was) == 0);
	CHECK(was != NULL);
	CHECK_INT(first_start(p, "CHG-2", "payments"), T0 + DAY);
	CHECK_INT(first_start(p, "CHG-3", "search"), T0 + DAY);
	/* Removing it again changes nothing. */
	json_t *again = NULL;
	CHECK(planner_booking_remove(p, "CHG-1", &again) == 0);
	CHECK(again == NULL);
	CHECK(planner_booking_add(p, "CHG-1", was) == 0);
	CHECK_INT(first_start(p, "CHG-2", "payments"), T0 + DAY + HOUR);
	CHECK_INT(first_start(p, "CHG-3", "search"), T0 + DAY + HOUR);
	json_decref(was);
	planner_free(p);
	json_decref(bookings);
}

/*
 * The scheduler index itself, where bookings overlap and touch (as they may after a
 * calendar change): one service, 60 bookings of random lengths packed so that many merge
 * into long busy runs; taken out in random order (and some put back), the index must
 * answer every probe -- the earliest slot of changes of several lengths from several
 * instants -- as an index built from the bookings left.
 */
static void test_index_remove_splits_busy_runs_exactly(void)
{
	static const char *const svc[] = {"s"};
	enum { NB = 60 };
	int diffs = 0;
	for (uint64_t seed = 1; seed <= 30; seed++) {
		rng = seed * 7919 + 3;
		struct sched_booking bk[NB];
		char ids[NB][16];
		bool live[NB];
		for (int i = 0; i < NB; i++) {
			snprintf(ids[i], sizeof ids[i], "CHG-%d", i);
			int64_t st = T0 + pick(48) * HOUR / 2;
			bk[i] = (struct sched_booking){
				ids[i], svc, 1, st, st + (1 + pick(6)) * HOUR / 2, NULL};
			live[i] = true;
		}
		struct sched_input in = {.bookings = bk, .n_bookings = NB, .horizon_ms = HORIZ};
		struct sched_index *inc;
		CHECK(sched_index_new(&in, &inc) == SCHED_OK);
		for (int step = 0; step < NB; step++) {
			int i = (int)pick(NB);
			if (live[i]) {
				CHECK(sched_index_remove(inc, ids[i], NULL) == SCHED_OK);
				live[i] = false;
			} else {
				CHECK(sched_index_add(inc, &bk[i]) == SCHED_OK);
				live[i] = true;
			}
			struct sched_booking left[NB];
			size_t n = 0;
			for (int k = 0; k < NB; k++)
				if (live[k])
					left[n++] = bk[k];
			struct sched_input fin = {
				.bookings = left, .n_bookings = n, .horizon_ms = HORIZ};
			struct sched_index *fresh;
			CHECK(sched_index_new(&fin, &fresh) == SCHED_OK);
			for (int64_t from = 0; from < 30; from += 3)
				for (int64_t len = 1; len <= 4; len++) {
					struct sched_change c = {.id = "probe",
								 .services = svc,
								 .n_services = 1,
								 .duration_ms = len * HOUR / 2,
								 .not_before_ms = T0 + from * HOUR,
								 .type = SCHED_EMERGENCY};
					struct sched_slot a, b;
					enum sched_status x = sched_find(fresh, &c, T0, &a, NULL);
					enum sched_status y = sched_find(inc, &c, T0, &b, NULL);
					if (x != y || (x == SCHED_OK && a.start_ms != b.start_ms)) {
						fprintf(stderr,
							"  seed %" PRIu64 " step %d: fresh %" PRId64
							", incremental %" PRId64 "\n",
							seed, step, a.start_ms, b.start_ms);
						diffs++;
					}
				}
			sched_index_free(fresh);
		}
		sched_index_free(inc);
	}
	CHECK_INT(diffs, 0);
}

/*
 * The planner's own bookings by change (planner_new's, then planner_booking_add and
 * _remove), as a map: 3,000 bookings read, then 20,000 random takes and puts of 4,000
 * changes (some never booked) against a JSON reference.  Each take must give back the
 * booking last put for that change (its services once each, in order), or none.
 */
static void test_thousands_of_bookings_are_kept_by_change(void)
{
	static const char *svc[] = {"payments", "search", "ledger", "web-frontend", "payments"};
	struct cal_instances none = {0};
	json_t *ref = json_object(), *bookings = json_array();
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	int wrong = 0;
#define NEXT() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
	char id[32];
	for (int i = 1; i <= 3000; i++) {
		snprintf(id, sizeof id, "CHG-%d", i);
		uint64_t r = NEXT();
		json_t *b = json_pack("{s:s, s:[s, s], s:I, s:I, s:s?}", "change", id, "services",
				      svc[r % 5], svc[(r >> 8) % 4], "start_ms",
				      (json_int_t)(T0 + (json_int_t)(r % 1000) * HOUR), "end_ms",
				      (json_int_t)(T0 + (json_int_t)(r % 1000 + 1) * HOUR),
				      "window_uid", (r >> 16) % 3 == 0 ? NULL : "uid-of-a-window");
		json_array_append(bookings, b);
		/* The shape a take gives back: each service once. */
		if (strcmp(svc[r % 5], svc[(r >> 8) % 4]) == 0)
			json_array_remove(json_object_get(b, "services"), 1);
		json_object_set_new(ref, id, b);
	}
	struct planner *p = planner_new(&none, NULL, bookings, NULL, NULL, HORIZ);
	CHECK(p != NULL);
	json_decref(bookings);
	for (int step = 0; p != NULL && step < 20000; step++) {
		uint64_t r = NEXT();
		snprintf(id, sizeof id, "CHG-%d", (int)(r % 4000) + 1);
		json_t *was = NULL, *want = json_object_get(ref, id);
		CHECK(planner_booking_remove(p, id, &was) == 0);
		if (!(want == NULL ? was == NULL : json_equal(was, want))) {
			char *got = was ? json_dumps(was, JSON_COMPACT) : NULL;
			if (wrong++ < 3)
				fprintf(stderr, "  step %d: %s gave %s\n", step, id,
					got ? got : "none");
			free(got);
		}
		json_decref(was);
		json_object_del(ref, id);
		if ((r >> 32) % 2 == 0) {
			json_t *b = json_pack(
				"{s:s, s:[s], s:I, s:I, s:n}", "change", id, "services",
				svc[(r >> 40) % 4], "start_ms",
				(json_int_t)(T0 + (json_int_t)((r >> 20) % 1000) * HOUR), "end_ms",
				(json_int_t)(T0 + (json_int_t)((r >> 20) % 1000 + 2) * HOUR),
				"window_uid");
			CHECK(planner_booking_add(p, id, b) == 0);
			json_object_set_new(ref, id, b);
		}
	}
#undef NEXT
	/* Every change still booked gives its booking back once. */
	const char *key;
	json_t *want;
	json_object_foreach(ref, key, want) {
		json_t *was = NULL;
		CHECK(p != NULL && planner_booking_remove(p, key, &was) == 0);
		wrong += !json_equal(was, want);
		json_decref(was);
	}
	CHECK_INT(wrong, 0);
	planner_free(p);
	json_decref(ref);
}

TESTS(test_incremental_pass_places_as_a_planner_per_change,
      test_thousands_of_bookings_are_kept_by_change, test_remove_and_add_free_and_block_a_slot,
      test_index_remove_splits_busy_runs_exactly)
