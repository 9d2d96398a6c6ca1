/*
 * test_plan_memo.c -- the shared planners of a definitions snapshot (defs/plan_memo.c):
 * one is lent only to a caller whose inputs are those it was made from (the bookings'
 * version, the shared span, made_ms <= now < until_ms), an older planner never replaces
 * a newer one, a committed placement moves it to the version it made and shortens its
 * validity to the new booking's end, and a spoiled one is dropped.
 */
#include <stdio.h>
#include <stdlib.h>

#include "defs/defs.h"
#include "harness.h"
#include "planner/planner.h"

#define DAY_MS (24LL * 3600 * 1000)
#define T0_MS  1772323200000LL /* 2026-03-01T00:00:00Z */

static struct defs *load(void)
{
	char *errors = NULL;
	struct defs *d = defs_load("workflows", "policies", NULL, "2026-03-01T00:00:00Z", &errors);
	CHECKF(d != NULL, "defs_load: %s", errors ? errors : "?");
	free(errors);
	return d;
}

static struct planner *make(const struct defs_span *sp)
{
	json_t *none = json_array();
	struct planner *p = planner_new(&sp->l, NULL, none, NULL, NULL, 180 * DAY_MS);
	json_decref(none);
	CHECK(p != NULL);
	return p;
}

/* Whether the memo lends `want` (NULL: nothing) for version `v` at `now` over `sp`. */
static bool lends(const struct defs *d, const struct defs_span *sp, long long v, long long now,
		  const struct planner *want)
{
	struct defs_plan_key k = {.version = v, .span = sp, .made_ms = now};
	struct planner *p = defs_planner_lend(d, "production", &k);
	if (p != NULL)
		defs_planner_give_back(d, p, false);
	return p == want;
}

static void test_lent_only_for_the_same_inputs(void)
{
	struct defs *d = load();
	if (d == NULL)
		return;
	const struct defs_span *sp = defs_span_get(d, T0_MS - DAY_MS, T0_MS + 181 * DAY_MS);
	CHECK(sp != NULL);
	if (sp == NULL) {
		defs_release(d);
		return;
	}
	CHECK(lends(d, sp, 5, T0_MS, NULL)); /* an empty memo lends nothing */
	struct planner *p = make(sp);
	struct defs_plan_key k = {
		.version = 5, .span = sp, .made_ms = T0_MS, .until_ms = T0_MS + 1000};
	CHECK(defs_planner_keep(d, "production", &k, p) == p);
	defs_planner_give_back(d, p, false);
	CHECK(lends(d, sp, 5, T0_MS, p));
	CHECK(lends(d, sp, 5, T0_MS + 999, p));
	CHECK(lends(d, sp, 5, T0_MS + 1000, NULL)); /* until_ms: no longer the same planner */
	CHECK(lends(d, sp, 5, T0_MS - 1, NULL));    /* made after the caller's now */
	CHECK(lends(d, sp, 6, T0_MS, NULL));        /* other bookings */
	CHECK(lends(d, NULL, 5, T0_MS, NULL));      /* other instances */
	struct defs_plan_key other = k;
	other.made_ms = T0_MS + 10;
	CHECK(defs_planner_lend(d, "staging", &other) == NULL); /* another environment */

	/* An older planner does not replace a newer one. */
	struct defs_plan_key older = {
		.version = 4, .span = sp, .made_ms = T0_MS + 10, .until_ms = T0_MS + 5000};
	CHECK(defs_planner_keep(d, "production", &older, make(sp)) == NULL);
	CHECK(lends(d, sp, 5, T0_MS + 10, p));

	/* A committed placement: version 9 now, its booking ending at T0 + 500. */
	struct defs_plan_key now = {.version = 5, .span = sp, .made_ms = T0_MS + 10};
	CHECK(defs_planner_lend(d, "production", &now) == p);
	defs_planner_rekey(d, p, 9, T0_MS + 50, T0_MS + 500);
	defs_planner_give_back(d, p, false);
	CHECK(lends(d, sp, 5, T0_MS + 60, NULL));
	CHECK(lends(d, sp, 9, T0_MS + 499, p));
	CHECK(lends(d, sp, 9, T0_MS + 500, NULL));
	CHECK(lends(d, sp, 9, T0_MS + 49, NULL)); /* planned before that write was */

	/* A spoiled planner is dropped. */
	now.version = 9;
	now.made_ms = T0_MS + 60;
	CHECK(defs_planner_lend(d, "production", &now) == p);
	defs_planner_give_back(d, p, true);
	CHECK(lends(d, sp, 9, T0_MS + 60, NULL));

	/* A newer one takes its place. */
	struct planner *q = make(sp);
	struct defs_plan_key newer = {
		.version = 12, .span = sp, .made_ms = T0_MS + 20, .until_ms = T0_MS + 900};
	CHECK(defs_planner_keep(d, "production", &newer, q) == q);
	defs_planner_give_back(d, q, false);
	CHECK(lends(d, sp, 12, T0_MS + 30, q));
	defs_span_release(sp);
	defs_release(d); /* frees the memo, its planners and its reference to the span */
}

TESTS(test_lent_only_for_the_same_inputs)
