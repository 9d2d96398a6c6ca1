/*
 * test_feed_cache.c -- the shared schedule snapshot (app/feed_cache.c) against the real
 * PostgreSQL: after each of a seeded random sequence of writes to the bookings and the
 * booked changes (bookings, reschedules, cancels, renames, deletes, a service dropped, a
 * booking moved out of the window and back, a UID twice, writes that change nothing it
 * shows), the snapshot a long-lived cache updates in place must equal, event by event
 * and byte for byte, the one a fresh cache builds, and so must the calendars joined from
 * them; the update must have passed the unchanged bookings on (else it tests nothing).
 * And the memo keeps within FEED_MEMO_BYTES.
 */
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/harness.h"
#include "app/feed_cache.h"
#include "audit/audit.h"
#include "calendar/calendar.h"
#include "core/timeutil.h"
#include "defs/defs.h"
#include "store/audit_log.h"
#include "store/store.h"

#define MIN_MS   (60 * 1000LL)
#define CHANGES  300 /* several batches of bookings_batched */
#define SERVICES 3

static const char *const services[SERVICES] = {"web-frontend", "search", "payments"};

static PGconn *db;
static struct store *st;
static struct defs *defs;
static long long now_ms;
static unsigned rnd = 20261207;
static int next_slot = 1; /* each placement gets a slot of its own: no overlap */

static unsigned roll(unsigned n)
{
	rnd = rnd * 1103515245u + 12345u;
	return (rnd >> 8) % n;
}

/* Runs `sql` with printf-style arguments; false (and a failed check) on error. */
static bool sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool sql(const char *fmt, ...)
{
	char q[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q, sizeof q, fmt, ap);
	va_end(ap);
	PGresult *r = PQexec(db, q);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	CHECKF(ok, "%s: %s", q, PQerrorMessage(db));
	PQclear(r);
	return ok;
}

/* A slot's start never used before, about `days_out` days from now (negative: in the
 * past), in 20-minute steps: no two bookings overlap. */
static long long slot_start(int days_out)
{
	static bool used[600 * 72]; /* 100 days back to 500 ahead */
	int k = (days_out + 100) * 72 + next_slot++ % 72;
	while (used[k])
		k++;
	used[k] = true;
	return now_ms + (k - 100 * 72) * 20 * MIN_MS;
}

/* Books change `i` on `nsvc` services at `start` for 15 minutes (replacing any booking). */
static void book(int i, int nsvc, long long start)
{
	sql("DELETE FROM bookings WHERE change_id = 'CHG-%d'", i);
	for (int k = 0; k < nsvc; k++)
		sql("INSERT INTO bookings (change_id, service, during, window_uid, window_start,"
		    " window_end) VALUES ('CHG-%d', '%s', tstzrange(to_timestamp(%lld / 1000.0),"
		    " to_timestamp(%lld / 1000.0), '[)'), %s, to_timestamp(%lld / 1000.0),"
		    " to_timestamp(%lld / 1000.0))",
		    i, services[(i + k) % SERVICES], start, start + 15 * MIN_MS,
		    k == 0 && i % 2 ? "'win@test'" : "NULL", start - 60 * MIN_MS,
		    start + 60 * MIN_MS);
	sql("UPDATE records SET state = 'scheduled', updated_at = now(), data = jsonb_set(data,"
	    " '{schedule,sequence}', to_jsonb(coalesce((data->'schedule'->>'sequence')::int, 0)"
	    " + 1)) WHERE id = 'CHG-%d'",
	    i);
}

/* Moves the audit head, as every audited write does (the cache looks again then). */
static enum db_status note_tx(struct store *s, void *cls)
{
	(void)cls;
	char at[TIME_RFC3339_LEN];
	time_format_ms(now_ms, at);
	struct audit_event ev = {at, "test", NULL, "note", "test-feed-cache", NULL};
	return store_audit_append(s, &ev, 1);
}

static struct feed_snap *snapshot(struct feed_cache *fc)
{
	struct rec_ctx c = {
		.st = st, .defs = defs, .actor = "test", .request_id = "test", .now_ms = now_ms};
	struct tr_error err = {0};
	struct feed_snap *s = NULL;
	enum tr_code rc = feed_cache_get(fc, &c, "https://transom.test", &s, &err);
	CHECKF(rc == TR_OK, "feed_cache_get: %d %s", (int)rc, err.detail);
	return s;
}

static bool same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_services(const char *a, const char *b)
{
	for (;; a += strlen(a) + 1, b += strlen(b) + 1) {
		if (strcmp(a, b) != 0)
			return false;
		if (*a == '\0')
			return true;
	}
}

/* The calendar of the events `pick` keeps, from `s`, as text (owned) or "error: ..." */
static char *calendar_of(struct feed_snap *s, const char *key,
			 bool (*pick)(const struct feed_obj *))
{
	unsigned char *sel = calloc(s->n + 1, 1);
	for (size_t i = 0; i < s->n; i++)
		sel[i] = pick(s->objs[i]);
	struct cal_feed f = {.name = "test", .refresh_seconds = 900, .dtstamp_ms = s->stamp_ms};
	struct tr_error err = {0};
	struct feed_text *t = feed_snap_calendar(s, key, sel, &f, &err);
	char *out = NULL;
	if (t != NULL) {
		out = malloc(t->len + sizeof t->etag + 2);
		snprintf(out, t->len + sizeof t->etag + 2, "%s\n%s", t->etag, t->text);
	} else {
		out = malloc(600);
		snprintf(out, 600, "error %d: %s", (int)err.code, err.detail);
	}
	feed_text_release(t);
	free(sel);
	return out;
}

static bool pick_all(const struct feed_obj *o)
{
	(void)o;
	return true;
}

static bool pick_search(const struct feed_obj *o)
{
	return feed_obj_on_service(defs, o, "search");
}

/* Whether `a` (updated in place) and `b` (made afresh) are the same snapshot. */
static bool same_snapshot(struct feed_snap *a, struct feed_snap *b, int step)
{
	bool ok = a->n == b->n && a->n_own == b->n_own && a->exact == b->exact &&
		  a->texts == b->texts && a->any_dup_name == b->any_dup_name &&
		  a->stamp_ms == b->stamp_ms && a->versions[0] == b->versions[0] &&
		  a->versions[1] == b->versions[1];
	CHECKF(ok, "step %d: n %zu/%zu bookings %zu/%zu texts %d/%d dup %d/%d versions %lld/%lld",
	       step, a->n, b->n, a->n_own, b->n_own, a->texts, b->texts, a->any_dup_name,
	       b->any_dup_name, a->versions[0], b->versions[0]);
	for (size_t i = 0; ok && i < a->n; i++) {
		const struct feed_obj *x = a->objs[i], *y = b->objs[i];
		ok = strcmp(x->name, y->name) == 0 && strcmp(x->etag, y->etag) == 0 &&
		     x->start_ms == y->start_ms && x->end_ms == y->end_ms && x->kind == y->kind &&
		     (x->kind != FEED_BOOKING || same_services(x->services, y->services)) &&
		     (x->kind == FEED_BOOKING || json_equal(x->applies, y->applies)) &&
		     (!a->texts || (x->len == y->len && memcmp(x->text, y->text, x->len) == 0 &&
				    same_str(x->zone, y->zone))) &&
		     (a->texts || json_equal(x->item, y->item));
		CHECKF(ok, "step %d: event %zu differs: %s %s / %s %s", step, i, x->name, x->etag,
		       y->name, y->etag);
	}
	for (int k = 0; ok && k < 2; k++) {
		const char *key = k == 0 ? "test:all" : "test:search";
		char *ta = calendar_of(a, key, k == 0 ? pick_all : pick_search);
		char *tb = calendar_of(b, key, k == 0 ? pick_all : pick_search);
		ok = strcmp(ta, tb) == 0;
		CHECKF(ok, "step %d: calendar %s differs:\n%.300s\n---\n%.300s", step, key, ta, tb);
		free(ta);
		free(tb);
	}
	return ok;
}

/* Whether two bookings of `s` have the same name (so the same UID). */
static bool dup_booking(const struct feed_snap *s)
{
	for (size_t i = 0; i < s->n_own; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->objs[i]->name, s->objs[j]->name) == 0)
				return true;
	return false;
}

/* How many bookings of `now` are the very objects of `before` (passed on). */
static size_t shared(const struct feed_snap *before, const struct feed_snap *now)
{
	size_t k = 0;
	for (size_t i = 0; i < now->n_own; i++)
		for (size_t j = 0; j < before->n_own; j++)
			if (now->objs[i] == before->objs[j]) {
				k++;
				break;
			}
	return k;
}

static void setup(void)
{
	const char *root = getenv("TRANSOM_TEST_ROOT") ?: ".";
	char wf[1024], pol[1024], at[TIME_RFC3339_LEN];
	char *errors = NULL;
	cal_init();
	now_ms = 1796000000000LL; /* a fixed clock: 2026-11-29, one day throughout */
	time_format_ms(now_ms, at);
	snprintf(wf, sizeof wf, "%s/workflows", root);
	snprintf(pol, sizeof pol, "%s/policies", root);
	defs = defs_load(wf, pol, NULL, at, &errors);
	CHECKF(defs != NULL, "defs: %s", errors ? errors : "");
	free(errors);
	db = PQconnectdb(getenv("TRANSOM_TEST_DATABASE_URL"));
	st = store_new(getenv("TRANSOM_TEST_DATABASE_URL"), NULL);
	CHECK(PQstatus(db) == CONNECTION_OK && st != NULL && store_migrate(st) >= 0);
	for (int i = 1; i <= CHANGES; i++)
		sql("INSERT INTO records (id, kind, workflow, workflow_version, state, data, type,"
		    " created_at, updated_at, state_entered_at) VALUES ('CHG-%d', 'change',"
		    " 'normal', '1', 'scheduled', '{\"title\": \"Change number %d\","
		    " \"schedule\": {\"sequence\": 0}}', 'normal', now(), now(), now())",
		    i, i);
	for (int i = 1; i <= CHANGES * 3 / 4; i++)
		book(i, 1 + i % 3 / 2, slot_start((int)roll(100)));
}

static void test_updated_snapshot_equals_a_fresh_build(void)
{
	setup();
	if (defs == NULL)
		return;
	struct feed_cache *live = feed_cache_new();
	struct feed_snap *before = snapshot(live);
	size_t passed_on = 0, dup_steps = 0, steps = 160;
	bool ok = before != NULL;
	for (size_t step = 0; ok && step < steps; step++) {
		int i = 1 + (int)roll(CHANGES), op = (int)roll(12);
		long long at;
		const char *what = "";
		switch (op) {
		case 0: /* booked, or booked again elsewhere */
		case 1:
			book(i, 1 + (int)roll(3), slot_start((int)roll(150)));
			what = "book";
			break;
		case 2: /* rescheduled: its rows written anew */
			book(i, 1, slot_start((int)roll(150)));
			what = "reschedule";
			break;
		case 3: /* cancelled: released */
			sql("DELETE FROM bookings WHERE change_id = 'CHG-%d'", i);
			sql("UPDATE records SET state = 'cancelled', updated_at = now() WHERE id ="
			    " 'CHG-%d'",
			    i);
			what = "cancel";
			break;
		case 4: /* renamed (no booking row written) */
			sql("UPDATE records SET data = jsonb_set(data, '{title}', "
			    "to_jsonb('Renamed "
			    "%zu'::text)) WHERE id = 'CHG-%d'",
			    step, i);
			what = "rename";
			break;
		case 5: /* its booking deleted, nothing else */
			sql("DELETE FROM bookings WHERE change_id = 'CHG-%d'", i);
			what = "delete";
			break;
		case 6: /* one service dropped: the other rows stay as they were */
			sql("DELETE FROM bookings WHERE change_id = 'CHG-%d' AND service = (SELECT"
			    " max(service) FROM bookings WHERE change_id = 'CHG-%d')",
			    i, i);
			what = "drop a service";
			break;
		case 7: /* out of the window (past or beyond the horizon), or back */
			book(i, 1, slot_start(roll(2) ? -60 : 400));
			what = "out of the window";
			break;
		case 8: /* a second booking of the same change: its UID twice */
			at = slot_start(3);
			sql("INSERT INTO bookings (change_id, service, during) SELECT 'CHG-%d',"
			    " 'dup-service', tstzrange(to_timestamp(%lld / 1000.0), to_timestamp("
			    "%lld / 1000.0), '[)') WHERE EXISTS (SELECT 1 FROM bookings WHERE"
			    " change_id = 'CHG-%d') ON CONFLICT DO NOTHING",
			    i, at, at + 5 * MIN_MS, i);
			what = "duplicate";
			break;
		case 9: /* the duplicates gone */
			sql("DELETE FROM bookings WHERE service = 'dup-service'");
			what = "no duplicates";
			break;
		case 10: /* a write that changes nothing the feed shows */
			sql("UPDATE bookings SET opened_at = now() WHERE change_id = 'CHG-%d'", i);
			what = "no-op";
			break;
		default: /* state and sequence */
			sql("UPDATE records SET state = 'implementing', data = jsonb_set(data,"
			    " '{schedule,sequence}', '7') WHERE id = 'CHG-%d'",
			    i);
			what = "state";
			break;
		}
		CHECK_INT(store_tx(st, STORE_READ_COMMITTED, 0, note_tx, NULL), DB_ONE);
		struct feed_snap *now = snapshot(live);
		struct feed_cache *fresh_cache = feed_cache_new();
		struct feed_snap *fresh = snapshot(fresh_cache);
		ok = now != NULL && fresh != NULL && same_snapshot(now, fresh, (int)step);
		if (!ok)
			fprintf(stderr, "  after step %zu: %s CHG-%d\n", step, what, i);
		if (ok && before->texts && now->texts) {
			size_t k = shared(before, now);
			passed_on += k;
			/* one change written: at most its bookings are new */
			CHECKF(k + 3 >= now->n_own || op == 9,
			       "step %zu (%s): only %zu of %zu bookings passed on", step, what, k,
			       now->n_own);
		}
		/* a UID twice among the bookings, and only that, takes the texts away */
		CHECKF(!ok || fresh->texts == !dup_booking(fresh), "step %zu: texts %d", step,
		       fresh->texts);
		dup_steps += ok && !now->texts;
		feed_snap_release(fresh);
		feed_cache_free(fresh_cache);
		feed_snap_release(before);
		before = now;
	}
	/* The sequence must have gone through both kinds of snapshot. */
	CHECKF(passed_on > steps * 10, "only %zu bookings passed on", passed_on);
	CHECKF(dup_steps > 0, "no step made a snapshot without texts");
	feed_snap_release(before);
	feed_cache_free(live);
}

/* The memo keeps within FEED_MEMO_BYTES, forgetting the least recently used. */
static void test_memo_bounded_by_bytes(void)
{
	struct feed_cache *fc = feed_cache_new();
	struct feed_snap *s = snapshot(fc);
	if (s == NULL)
		return;
	size_t big = FEED_MEMO_BYTES / 3; /* two fit, not three */
	char *text = calloc(big, 1);
	unsigned char *sel = calloc(s->n + 1, 1);
	memset(text, 'x', big);
	struct feed_text *t[4];
	for (int k = 0; k < 4; k++) {
		char key[16];
		snprintf(key, sizeof key, "k%d", k);
		t[k] = feed_text_new(text, big);
		feed_snap_memo_put(s, key, sel, t[k]);
		if (k == 1) /* k0 used after k1: k1 is the least recently used */
			feed_text_release(feed_snap_memo_get(s, "k0", sel));
		CHECKF(s->memo_bytes <= FEED_MEMO_BYTES, "%zu bytes remembered", s->memo_bytes);
	}
	struct feed_text *got[4];
	for (int k = 0; k < 4; k++) {
		char key[16];
		snprintf(key, sizeof key, "k%d", k);
		got[k] = feed_snap_memo_get(s, key, sel);
	}
	/* k2 forgot k1, k3 forgot k0 */
	CHECKF(got[0] == NULL && got[1] == NULL && got[2] == t[2] && got[3] == t[3],
	       "remembered: %d %d %d %d", got[0] != NULL, got[1] != NULL, got[2] == t[2],
	       got[3] == t[3]);
	/* a text larger than the bound is not remembered at all */
	struct feed_text *huge = malloc(sizeof *huge + FEED_MEMO_BYTES + 1);
	atomic_init(&huge->refs, 1);
	huge->len = FEED_MEMO_BYTES + 1;
	feed_snap_memo_put(s, "huge", sel, huge);
	CHECK(feed_snap_memo_get(s, "huge", sel) == NULL);
	CHECK(feed_snap_memo_get(s, "k3", sel) == t[3]);
	feed_text_release(t[3]);
	for (int k = 0; k < 4; k++) {
		feed_text_release(got[k]);
		feed_text_release(t[k]);
	}
	feed_text_release(huge);
	free(sel);
	free(text);
	feed_snap_release(s);
	feed_cache_free(fc);
	store_free(st);
	PQfinish(db);
	defs_release(defs);
}

TESTS(test_updated_snapshot_equals_a_fresh_build, test_memo_bounded_by_bytes)
