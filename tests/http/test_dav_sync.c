/*
 * test_dav_sync.c -- the CalDAV change log (store_dav_sync, store_dav_changes) against the
 * real PostgreSQL, as two sessions (two workers) record one collection in turn.  The
 * process remembers the last listings recorded, by digest, and a sync whose collection
 * records one of them compares the new listing with it instead of reading the recorded
 * objects back.  After every sync of a random walk -- objects added, dropped, changed and
 * revived, old listings synced again (whose memo may be gone), either session -- the
 * recorded objects (ETag, tombstone) and the changes since the previous token must be
 * what a model of the log says.
 */
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/harness.h"
#include "store/dav.h"
#include "store/store_int.h"

#define NAMES   60 /* the names a listing draws from */
#define HISTORY 8  /* listings kept to sync again */
#define STEPS   300

/* A listing: for each name, its ETag version (0: not in it). */
struct listing {
	unsigned v[NAMES];
};

/* The model of what is recorded: each name's ETag version, and whether it is deleted. */
struct model {
	unsigned v[NAMES];
	bool deleted[NAMES], ever[NAMES];
};

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static unsigned next(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void name_of(unsigned i, char out[32])
{
	snprintf(out, 32, "CHG-%u.ics", i);
}

static void etag_of(unsigned i, unsigned v, char out[32])
{
	snprintf(out, 32, "e%u-%u", i, v);
}

/* Syncs listing `l` through session `st`; the objects and the digest are built here. */
static enum db_status sync_listing(struct store *st, const struct listing *l, long long *token)
{
	static char names[NAMES][32], etags[NAMES][32];
	struct store_dav_obj objs[NAMES];
	char digest[NAMES * 12 + 2] = "d";
	size_t n = 0;
	for (unsigned i = 0; i < NAMES; i++) {
		if (l->v[i] == 0)
			continue;
		name_of(i, names[n]);
		etag_of(i, l->v[i], etags[n]);
		objs[n] = (struct store_dav_obj){names[n], etags[n]};
		n++;
		snprintf(digest + strlen(digest), sizeof digest - strlen(digest), ":%u.%u", i,
			 l->v[i]);
	}
	/* listed in an order that is not the names' */
	for (size_t i = 0; n > 1 && i < n; i++) {
		size_t k = next((unsigned)n);
		struct store_dav_obj t = objs[i];
		objs[i] = objs[k];
		objs[k] = t;
	}
	return store_dav_sync(st, "sync-user", "schedule", digest, objs, n, token);
}

/* Applies listing `l` to the model; `changed` receives the names whose state moved. */
static void model_apply(struct model *m, const struct listing *l, bool changed[NAMES])
{
	for (unsigned i = 0; i < NAMES; i++) {
		changed[i] = false;
		if (l->v[i] != 0) {
			changed[i] = !m->ever[i] || m->deleted[i] || m->v[i] != l->v[i];
			m->v[i] = l->v[i];
			m->deleted[i] = false;
			m->ever[i] = true;
		} else if (m->ever[i] && !m->deleted[i]) {
			m->deleted[i] = true;
			changed[i] = true;
		}
	}
}

/* Compares what is recorded with the model; returns the differences, printed. */
static int compare(struct store *st, const struct model *m, int step)
{
	static const struct store_stmt objs = {
		"test_dav_objs",
		"SELECT name, etag, deleted FROM dav_objects WHERE user_name = 'sync-user'"
		" AND calendar = 'schedule' ORDER BY name",
		0};
	PGresult *res;
	if (store_exec(st, &objs, NULL, &res) < 0)
		return 1;
	int diffs = 0, rows = PQntuples(res), seen = 0;
	for (int r = 0; r < rows; r++) {
		unsigned i;
		char etag[32];
		if (sscanf(PQgetvalue(res, r, 0), "CHG-%u.ics", &i) != 1 || i >= NAMES ||
		    !m->ever[i]) {
			diffs++;
			continue;
		}
		seen++;
		bool deleted = PQgetvalue(res, r, 2)[0] == 't';
		etag_of(i, m->v[i], etag);
		if (deleted != m->deleted[i] || strcmp(PQgetvalue(res, r, 1), etag) != 0) {
			if (diffs < 3)
				fprintf(stderr, "  step %d: %s recorded %s%s, model %s%s\n", step,
					PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
					deleted ? " (deleted)" : "", etag,
					m->deleted[i] ? " (deleted)" : "");
			diffs++;
		}
	}
	PQclear(res);
	for (unsigned i = 0; i < NAMES; i++)
		seen -= m->ever[i];
	return diffs + (seen != 0);
}

/* Compares the changes after `since` with `changed`. */
static int compare_changes(struct store *st, long long since, const bool changed[NAMES], int step)
{
	json_t *arr = NULL;
	if (store_dav_changes(st, "sync-user", "schedule", since, &arr) < 0 || arr == NULL)
		return 1;
	bool got[NAMES] = {false};
	size_t k;
	json_t *c;
	json_array_foreach(arr, k, c) {
		unsigned i;
		if (sscanf(json_string_value(json_object_get(c, "name")) ?: "", "CHG-%u.ics", &i) ==
			    1 &&
		    i < NAMES)
			got[i] = true;
	}
	json_decref(arr);
	int diffs = 0;
	for (unsigned i = 0; i < NAMES; i++)
		if (got[i] != changed[i]) {
			if (diffs < 3)
				fprintf(stderr, "  step %d: CHG-%u.ics %s the changes\n", step, i,
					got[i] ? "wrongly in" : "missing from");
			diffs++;
		}
	return diffs;
}

static void test_two_sessions_record_a_random_walk(void)
{
	const char *url = getenv("TRANSOM_TEST_DATABASE_URL");
	struct store *a = store_new(url, NULL), *b = store_new(url, NULL);
	CHECK(a != NULL && b != NULL);
	CHECK_INT(store_migrate(a) >= 0, 1);
	struct listing hist[HISTORY] = {0}, cur = {0};
	struct model m = {0};
	size_t nhist = 0;
	long long token = 0;
	int diffs = 0;
	for (int step = 0; step < STEPS && diffs == 0; step++) {
		unsigned what = next(10);
		if (what < 2 && nhist > 0) {
			cur = hist[next((unsigned)(nhist < HISTORY ? nhist : HISTORY))]; /* again */
		} else {
			for (unsigned k = 0, moves = 1 + next(4); k < moves; k++) {
				unsigned i = next(NAMES);
				cur.v[i] = next(3) == 0 ? 0 : cur.v[i] + 1; /* drop, add, change */
			}
		}
		hist[nhist++ % HISTORY] = cur;
		/* mostly one session in a row (its memo holds), sometimes the other */
		struct store *st = next(4) == 0 ? b : a;
		bool changed[NAMES];
		long long before = token;
		CHECK_INT(sync_listing(st, &cur, &token), DB_ONE);
		model_apply(&m, &cur, changed);
		diffs += compare(st, &m, step);
		diffs += compare_changes(st, before, changed, step);
	}
	CHECK_INT(diffs, 0);
	store_free(a);
	store_free(b);
}

TESTS(test_two_sessions_record_a_random_walk)
