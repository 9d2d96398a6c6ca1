/*
 * test_history_counters.c -- the risk-history counters of migration 0023 (change_history
 * and records.carried_out_at, kept by triggers) against the query they replaced, on a
 * random history written through the store's own statements: changes created (some
 * straight into a carried-out state), moved between states (in and out of closed,
 * failed and review; closed -> review -> closed), their services, template, requester
 * and result edited while carried out, touched by unrelated edits, incidents naming and
 * un-naming them as caused_by (store_links_set), and, in SQL, links moved and purged and
 * records deleted.  After every few steps store_change_history must give, for many
 * windows (random, on day boundaries, on the very millisecond a change was carried out),
 * exactly what the per-change query of main gives over the same rows (kept below as the
 * oracle, reading carried_out_at where it read updated_at), and carried_out_at must be
 * what the test's own model of the writes says.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "store/records.h"
#include "store/store_int.h"

#define DAY_MS      86400000LL
#define N_CHANGES   48
#define N_INCIDENTS 24
#define STEPS       1500
#define CHECK_EVERY 60
#define WINDOWS     24

/*
 * The oracle: store_change_history's statement on main before 0023, verbatim but for the
 * time column (updated_at there; the counters count a change from when it was carried
 * out).
 */
#define CARRIED_OUT                                                                                \
	" r.kind = 'change' AND r.state IN ('closed', 'failed', 'review')"                         \
	" AND r.carried_out_at >= to_timestamp($1::bigint / 1000.0)"
#define HISTORY_CHANGES                                                                            \
	"WITH c AS (SELECT 'services' AS k, v.s AS key,"                                           \
	"  (SELECT count(*) FROM unnest(r.services) u WHERE u = v.s) AS w, r.id,"                  \
	"  r.data->>'result' AS result"                                                            \
	"  FROM (SELECT DISTINCT s FROM jsonb_array_elements_text($2::jsonb) s) v"                 \
	"  JOIN records r ON r.services @> ARRAY[v.s] WHERE" CARRIED_OUT                           \
	" UNION ALL SELECT 'templates', $3::text, 1, r.id, r.data->>'result' FROM records r"       \
	"  WHERE r.data->>'template' = $3::text AND" CARRIED_OUT                                   \
	" UNION ALL SELECT 'teams', $4::text, 1, r.id, r.data->>'result' FROM records r"           \
	"  WHERE $4::text IS NOT NULL AND r.requester = ANY (ARRAY("                               \
	"   SELECT jsonb_array_elements_text($5::jsonb))) AND" CARRIED_OUT "),"                    \
	" f AS (SELECT k, key, w, n AS incidents, (c.result = 'failed' OR n > 0) AS failed"        \
	"  FROM c, LATERAL (SELECT count(*) AS n FROM record_links l"                              \
	"   WHERE l.to_id = c.id AND l.rel = 'caused_by') l) "
#define COUNTS "sum(w), coalesce(sum(w) FILTER (WHERE failed), 0), coalesce(sum(w * incidents), 0)"
static const struct store_stmt oracle = {
	"test_history_oracle",
	HISTORY_CHANGES
	"SELECT k, key, " COUNTS " FROM f WHERE k <> 'teams' GROUP BY k, key"
	" UNION ALL SELECT 'teams', $4::text, count(*), count(*) FILTER (WHERE failed),"
	" coalesce(sum(incidents), 0) FROM f WHERE k = 'teams'",
	5};

static const char *const states[] = {"draft",  "scheduled", "implementing", "cancelled",
				     "closed", "failed",    "review"};
static const char *const services[] = {"s0", "s1", "s2", "s3", "s4", "s5"};
static const char *const templates[] = {"t0", "t1", "t2"};
static const char *const people[] = {"u0", "u1", "u2", "u3", "u4"};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static unsigned long long rng = 0x9E3779B97F4A7C15ULL;
static unsigned pick(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static bool carried(const char *state)
{
	return strcmp(state, "closed") == 0 || strcmp(state, "failed") == 0 ||
	       strcmp(state, "review") == 0;
}

/* The model: what carried_out_at must be, per change (-1: not carried out or gone). */
static long long carried_ms[N_CHANGES];
static bool exists_chg[N_CHANGES], exists_inc[N_INCIDENTS];
static long long clock_ms;

static json_t *random_data(const char *kind)
{
	json_t *d = json_pack("{s:s, s:s}", "title", "random", "requester", people[pick(5)]);
	if (strcmp(kind, "incident") == 0) {
		json_object_set_new(d, "service", json_string(services[pick(N_OF(services))]));
		return d;
	}
	json_t *svc = json_array();
	for (unsigned i = 0, n = pick(4); i < n; i++) /* 0 to 3 names, repeats allowed */
		json_array_append_new(svc, json_string(services[pick(N_OF(services))]));
	json_object_set_new(d, "services", svc);
	if (pick(4) != 0)
		json_object_set_new(d, "template", json_string(templates[pick(N_OF(templates))]));
	if (pick(3) != 0)
		json_object_set_new(d, "result",
				    json_string(pick(3) == 0 ? "failed" : "successful"));
	return d;
}

struct op {
	int what, i;
	int edited; /* step 3: which field it changed on a carried-out change, or -1 */
	const char *state;
	json_t *links;
};

/* One step in one transaction, through the statements the service runs. */
static enum db_status step(struct store *st, void *cls)
{
	struct op *o = cls;
	struct store_record r = {0};
	enum db_status s;
	char id[32];
	switch (o->what) {
	case 0: /* a change created, usually a draft, sometimes carried out already */
	case 1: /* an incident created */
		snprintf(r.id, sizeof r.id, o->what == 0 ? "CHG-%d" : "INC-%d", o->i);
		snprintf(r.kind, sizeof r.kind, o->what == 0 ? "change" : "incident");
		snprintf(r.workflow, sizeof r.workflow, "w");
		snprintf(r.workflow_version, sizeof r.workflow_version, "1");
		snprintf(r.state, sizeof r.state, "%s", o->state);
		r.data = random_data(r.kind);
		r.created_ms = clock_ms;
		s = store_record_insert(st, &r, NULL);
		json_decref(r.data);
		return s;
	case 2: /* a transition */
	case 3: /* an edit of what the history reads */
	case 4: /* an edit of something else (a comment), which moves updated_at */
		snprintf(id, sizeof id, "CHG-%d", o->i);
		s = store_record_get(st, id, true, &r);
		if (s != DB_ONE) {
			store_record_clear(&r);
			return s < 0 ? s : DB_HARD;
		}
		if (o->what == 2) {
			snprintf(r.state, sizeof r.state, "%s", o->state);
		} else if (o->what == 4) {
			json_object_set_new(r.data, "comment", json_integer(pick(1000)));
		} else {
			json_t *fresh = random_data("change");
			static const char *const fields[] = {"services", "template", "requester",
							     "result"};
			unsigned k = pick(4);
			const char *f = fields[k];
			json_t *v = json_object_get(fresh, f), *was = json_object_get(r.data, f);
			if (carried(r.state) && !(v == NULL ? was == NULL : json_equal(v, was)))
				o->edited = (int)k;
			if (v != NULL)
				json_object_set(r.data, f, v);
			else
				json_object_del(r.data, f);
			json_decref(fresh);
		}
		r.updated_ms = clock_ms;
		s = store_record_update(st, &r, NULL, o->what == 2);
		store_record_clear(&r);
		return s;
	default: /* an incident's caused_by set */
		snprintf(id, sizeof id, "INC-%d", o->i);
		return store_links_set(st, id, "caused_by", o->links);
	}
}

static void sql(PGconn *pg, const char *q)
{
	PGresult *res = PQexec(pg, q);
	CHECKF(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK,
	       "%s: %s", q, PQerrorMessage(pg));
	PQclear(res);
}

/* The oracle's answer, shaped as store_change_history shapes its own. */
static json_t *oracle_answer(struct store *st, const char *const *p)
{
	PGresult *res;
	if (store_exec(st, &oracle, p, &res) < 0)
		return NULL;
	json_t *h = store_history_answer(res);
	PQclear(res);
	return h;
}

/* A random question: services (repeats, unknown names), template, team and members. */
static void ask(struct store *st, long long since_ms, int *asked)
{
	json_t *svc = json_array(), *members = json_array();
	for (unsigned i = 0, n = pick(5); i < n; i++)
		json_array_append_new(
			svc,
			json_string(pick(8) == 0 ? "nowhere" : services[pick(N_OF(services))]));
	for (unsigned i = 0, n = pick(4); i < n; i++)
		json_array_append_new(members, json_string(people[pick(N_OF(people))]));
	const char *tpl = pick(4) == 0 ? NULL : templates[pick(N_OF(templates))];
	const char *team = pick(4) == 0 ? NULL : "team";
	char since[32], *s = json_dumps(svc, JSON_COMPACT), *m = json_dumps(members, JSON_COMPACT);
	snprintf(since, sizeof since, "%lld", since_ms);
	json_t *got = NULL;
	CHECK_INT(store_change_history(st, svc, tpl, team, members, since_ms, &got), DB_ONE);
	const char *p[] = {since, s, tpl, team, m};
	json_t *want = oracle_answer(st, p);
	CHECK(got != NULL && want != NULL);
	if (got != NULL && want != NULL && !json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
		char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
		CHECKF(false,
		       "since %lld services %s template %s team %s members %s:\n  got  %s\n"
		       "  want %s",
		       since_ms, s, tpl ? tpl : "-", team ? team : "-", m, g, w);
		free(g);
		free(w);
	}
	(*asked)++;
	free(s);
	free(m);
	json_decref(got);
	json_decref(want);
	json_decref(svc);
	json_decref(members);
}

/* carried_out_at of every change, in ms, is the model's. */
static void check_model(PGconn *pg)
{
	PGresult *res = PQexec(pg, "SELECT substr(id, 5)::int,"
				   " coalesce(round(extract(epoch FROM carried_out_at) * 1000), -1)"
				   " FROM records WHERE kind = 'change'");
	CHECK(PQresultStatus(res) == PGRES_TUPLES_OK);
	int seen = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		int c = atoi(PQgetvalue(res, i, 0));
		long long ms = atoll(PQgetvalue(res, i, 1));
		CHECKF(c >= 0 && c < N_CHANGES && exists_chg[c] && ms == carried_ms[c],
		       "CHG-%d carried out at %lld, want %lld", c, ms,
		       c >= 0 && c < N_CHANGES ? carried_ms[c] : -2);
		seen++;
	}
	PQclear(res);
	int want = 0;
	for (int c = 0; c < N_CHANGES; c++)
		want += exists_chg[c];
	CHECK_INT(seen, want);
}

/* Windows: random, on UTC midnights and a millisecond either side, on carried-out times. */
static void check_windows(struct store *st, long long start_ms, int *asked)
{
	for (int w = 0; w < WINDOWS; w++) {
		long long since =
			start_ms - 3 * DAY_MS +
			(long long)pick(1u << 30) * ((clock_ms - start_ms + 5 * DAY_MS) >> 30);
		switch (w % 4) {
		case 1:
			since = since / DAY_MS * DAY_MS + (long long)pick(3) - 1;
			break;
		case 2: {
			int c = (int)pick(N_CHANGES);
			if (carried_ms[c] >= 0)
				since = carried_ms[c] + (long long)pick(3) - 1;
			break;
		}
		case 3:
			since = clock_ms - (long long)pick(3) * DAY_MS - pick(DAY_MS);
			break;
		}
		ask(st, since, asked);
	}
}

static void test_the_counters_answer_as_the_old_query(void)
{
	struct store *st = store_new(getenv("TRANSOM_TEST_DATABASE_URL"), NULL);
	CHECK(st != NULL);
	CHECK_INT(store_migrate(st) >= 0, 1);
	PGconn *pg = PQconnectdb(getenv("TRANSOM_TEST_DATABASE_URL"));
	CHECK(PQstatus(pg) == CONNECTION_OK);
	PGresult *res = PQexec(pg, "SELECT (extract(epoch FROM now()) * 1000)::bigint");
	long long now_ms = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	long long start_ms = now_ms - 120 * DAY_MS;
	clock_ms = start_ms;
	for (int c = 0; c < N_CHANGES; c++)
		carried_ms[c] = -1;
	int asked = 0, kinds[9] = {0}, edited[4] = {0};
	for (int n = 1; n <= STEPS; n++) {
		if (n % CHECK_EVERY == 0) {
			check_model(pg);
			check_windows(st, start_ms, &asked);
		}
		clock_ms += pick(3 * 3600) * 1000LL + pick(1000); /* some 20 h a step on average */
		struct op o = {.what = (int)pick(12), .i = 0, .edited = -1};
		if (o.what >= 9) /* edits, more often: each of four fields must be seen */
			o.what = 3;
		char q[256];
		if (o.what == 0 || o.what >= 2) {
			o.i = (int)pick(N_CHANGES);
			if (!exists_chg[o.i])
				o.what = 0;
		}
		if (o.what == 1 || o.what == 5) {
			int i = (int)pick(N_INCIDENTS);
			o.what = exists_inc[i] ? 5 : 1;
			o.i = i;
		}
		if (o.what == 0 && exists_chg[o.i])
			o.what = 2;
		kinds[o.what]++;
		switch (o.what) {
		case 0:
			o.state = pick(4) == 0 ? states[4 + pick(3)] : states[pick(3)];
			break;
		case 1:
			o.state = "open";
			break;
		case 2:
			o.state = states[pick(N_OF(states))];
			break;
		case 5:
			o.links = json_array();
			for (unsigned k = 0, m = pick(4); k < m; k++) {
				char id[32];
				int c = (int)pick(N_CHANGES);
				snprintf(id, sizeof id, "CHG-%d", c);
				if (exists_chg[c])
					json_array_append_new(o.links, json_string(id));
			}
			break;
		case 6: /* in SQL: every caused_by naming a change purged in one statement */
			snprintf(q, sizeof q,
				 "DELETE FROM record_links WHERE to_id = 'CHG-%d'"
				 " AND rel = 'caused_by'",
				 o.i);
			sql(pg, q);
			continue;
		case 7: /* in SQL: the caused_by links naming a change moved to another */
		{
			int to = (int)pick(N_CHANGES);
			if (!exists_chg[to])
				continue;
			snprintf(q, sizeof q,
				 "UPDATE record_links l SET to_id = 'CHG-%d' WHERE to_id = 'CHG-%d'"
				 " AND rel = 'caused_by' AND NOT EXISTS (SELECT 1 FROM "
				 "record_links x"
				 " WHERE x.from_id = l.from_id AND x.rel = l.rel"
				 " AND x.to_id = 'CHG-%d')",
				 to, o.i, to);
			sql(pg, q);
			continue;
		}
		case 8: /* in SQL: a change deleted, with its links */
			if (pick(3) != 0) {
				o.what = 4;
				break;
			}
			snprintf(q, sizeof q,
				 "DELETE FROM record_links WHERE to_id = 'CHG-%d';"
				 " DELETE FROM records WHERE id = 'CHG-%d'",
				 o.i, o.i);
			sql(pg, q);
			exists_chg[o.i] = false;
			carried_ms[o.i] = -1;
			continue;
		}
		CHECK_INT(store_tx(st, STORE_READ_COMMITTED, 0, step, &o) >= 0, 1);
		json_decref(o.links);
		if (o.edited >= 0)
			edited[o.edited]++;
		if (o.what == 0 || o.what == 2) {
			/* the model: a change counts from the write that carried it out */
			if (!carried(o.state))
				carried_ms[o.i] = -1;
			else if (carried_ms[o.i] < 0)
				carried_ms[o.i] = clock_ms;
			exists_chg[o.i] = true;
		}
		if (o.what == 1)
			exists_inc[o.i] = true;
	}
	/* the history is a real one: every branch ran, and much counted */
	for (int k = 0; k < 9; k++)
		CHECKF(kinds[k] > 10, "step kind %d ran %d times", k, kinds[k]);
	for (int k = 0; k < 4; k++)
		CHECKF(edited[k] >= 5, "field %d of a carried-out change edited %d times", k,
		       edited[k]);
	res = PQexec(pg, "SELECT (SELECT count(*) FROM records WHERE carried_out_at IS NOT NULL),"
			 " (SELECT count(*) FROM record_links),"
			 " (SELECT count(*) FROM change_history WHERE n > 0)");
	CHECKF(atoll(PQgetvalue(res, 0, 0)) > 10 && atoll(PQgetvalue(res, 0, 1)) > 5 &&
		       atoll(PQgetvalue(res, 0, 2)) > 30,
	       "carried out %s, links %s, buckets %s", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
	       PQgetvalue(res, 0, 2));
	PQclear(res);
	CHECKF(asked >= STEPS / CHECK_EVERY * WINDOWS, "asked %d", asked);
	/* a TRUNCATE (no row triggers) leaves the counters right */
	sql(pg, "TRUNCATE record_links");
	check_windows(st, start_ms, &asked);
	PQfinish(pg);
	store_free(st);
}

/* Buckets that differ from a rebuild from the records (0: the counters are right). */
static long long buckets_wrong(PGconn *pg)
{
	sql(pg, "BEGIN");
	sql(pg, "CREATE TEMP TABLE kept ON COMMIT DROP AS SELECT * FROM change_history"
		" WHERE n <> 0 OR failed <> 0 OR incidents <> 0");
	sql(pg, "SELECT change_history_rebuild()");
	PGresult *res = PQexec(pg, "SELECT count(*) FROM ((TABLE kept EXCEPT TABLE change_history)"
				   " UNION ALL (TABLE change_history EXCEPT TABLE kept)) d");
	CHECK(PQresultStatus(res) == PGRES_TUPLES_OK);
	long long n = PQresultStatus(res) == PGRES_TUPLES_OK ? atoll(PQgetvalue(res, 0, 0)) : -1;
	PQclear(res);
	sql(pg, "ROLLBACK");
	return n;
}

/*
 * Runs `first` in an open transaction on `a`, then sends `second` (a whole transaction)
 * on `b`; once `b` has finished or waits on a lock (watched from `w`), commits `a` and
 * waits for `b`.  Returns whether `b` had to wait.
 */
static bool race(PGconn *a, PGconn *b, PGconn *w, const char *first, const char *second)
{
	sql(a, "BEGIN");
	sql(a, first);
	CHECK_INT(PQsendQuery(b, second), 1);
	char q[160];
	snprintf(q, sizeof q,
		 "SELECT count(*) FROM pg_locks WHERE pid = %d AND NOT granted"
		 " AND locktype = 'advisory'",
		 PQbackendPID(b));
	bool waited = false;
	for (int i = 0; i < 500 && !waited; i++) { /* 5 s at most */
		CHECK_INT(PQconsumeInput(b), 1);
		if (!PQisBusy(b))
			break;
		PGresult *res = PQexec(w, q);
		waited = PQresultStatus(res) == PGRES_TUPLES_OK && atoi(PQgetvalue(res, 0, 0)) > 0;
		PQclear(res);
		if (!waited)
			usleep(10000);
	}
	sql(a, "COMMIT");
	PGresult *res;
	while ((res = PQgetResult(b)) != NULL) {
		CHECKF(PQresultStatus(res) == PGRES_COMMAND_OK ||
			       PQresultStatus(res) == PGRES_TUPLES_OK,
		       "%s: %s", second, PQresultErrorMessage(res));
		PQclear(res);
	}
	return waited;
}

/*
 * A change's buckets depend on its row and on the caused_by links naming it, written by
 * different transactions.  A change closing while an incident names it in a transaction
 * of its own, in either order, must leave the counters as a rebuild makes them: without
 * the triggers' lock each side counted the other table as last committed and the
 * incident was never counted (122 of 63 buckets wrong under 8 pgbench clients).
 */
static void test_a_link_racing_a_close_is_counted(void)
{
	const char *url = getenv("TRANSOM_TEST_DATABASE_URL");
	struct store *st = store_new(url, NULL);
	CHECK(st != NULL);
	CHECK_INT(store_migrate(st) >= 0, 1);
	store_free(st);
	PGconn *a = PQconnectdb(url), *b = PQconnectdb(url), *w = PQconnectdb(url);
	CHECK(PQstatus(a) == CONNECTION_OK && PQstatus(b) == CONNECTION_OK &&
	      PQstatus(w) == CONNECTION_OK);
	sql(a, "INSERT INTO records (id, kind, workflow, workflow_version, state, data, services,"
	       " requester, created_at, updated_at, state_entered_at) VALUES"
	       " ('CHG-901', 'change', 'w', '1', 'implementing', '{\"template\": \"race\"}',"
	       "  '{race-a}', 'racer', now(), now(), now()),"
	       " ('CHG-902', 'change', 'w', '1', 'implementing', '{}', '{race-b}', 'racer',"
	       "  now(), now(), now()),"
	       " ('INC-901', 'incident', 'w', '1', 'open', '{}', '{}', NULL, now(), now(), now())");
	CHECK_INT(buckets_wrong(w), 0);

	/* the close first, the link while it is uncommitted */
	bool waited = race(a, b, w,
			   "UPDATE records SET state = 'closed', updated_at = now()"
			   " WHERE id = 'CHG-901'",
			   "BEGIN; INSERT INTO record_links (from_id, rel, to_id)"
			   " VALUES ('INC-901', 'caused_by', 'CHG-901'); COMMIT");
	CHECK(waited);
	CHECK_INT(buckets_wrong(w), 0);

	/* the link first, the close while it is uncommitted */
	waited = race(a, b, w,
		      "INSERT INTO record_links (from_id, rel, to_id)"
		      " VALUES ('INC-901', 'caused_by', 'CHG-902')",
		      "BEGIN; UPDATE records SET state = 'failed', updated_at = now()"
		      " WHERE id = 'CHG-902'; COMMIT");
	CHECK(waited);
	CHECK_INT(buckets_wrong(w), 0);

	PGresult *res = PQexec(w, "SELECT incidents FROM change_history"
				  " WHERE kind = 'services' AND key = 'race-b'");
	CHECK(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	      strcmp(PQgetvalue(res, 0, 0), "1") == 0);
	PQclear(res);

	/* gone again, for the other tests of the file */
	sql(a, "DELETE FROM record_links WHERE from_id = 'INC-901';"
	       " DELETE FROM records WHERE id IN ('CHG-901', 'CHG-902', 'INC-901')");
	CHECK_INT(buckets_wrong(w), 0);
	PQfinish(a);
	PQfinish(b);
	PQfinish(w);
}

static const struct store_stmt rows_read = {
	"test_history_rows_read",
	"SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)"
	" FROM pg_stat_xact_user_tables WHERE relname = 'records'",
	0};

/*
 * The history reads records only for the part of the window's first day: with 12,500
 * changes carried out over a year, one question reads some 40 of them, not them all.
 * The statement used to join the day's bounds from a CTE, and PostgreSQL then estimated
 * the day to hold a ninth of the carried-out changes: at the default costs it chose to
 * read them all and filter as often as not, by the luck of ANALYZE's sample (the create
 * bench's slow runs: 10 ms a question, normal creates at a fifth of standard ones), and
 * always when random reads cost more (random_page_cost 10, as for spinning disks, set
 * here).  Counted in rows, not timed: the rows fetched from records since the session's
 * statistics were last flushed (this question's, and maybe the last few), for the
 * custom plans and then the generic one.  In this database PostgreSQL happened to choose
 * the index with the old statement too (psql on the same rows did not): the test holds
 * the property, the bench's per-sample costliest statement shows the plans differ.
 */
static void test_one_day_of_records_is_read(void)
{
	const char *url = getenv("TRANSOM_TEST_DATABASE_URL");
	struct store *st = store_new(url, NULL);
	CHECK(st != NULL);
	CHECK_INT(store_migrate(st) >= 0, 1);
	PGconn *pg = PQconnectdb(url);
	CHECK(PQstatus(pg) == CONNECTION_OK);
	sql(pg,
	    "INSERT INTO records (id, kind, workflow, workflow_version, state, data, services,"
	    " requester, created_at, updated_at, state_entered_at)"
	    " SELECT 'CHG-' || (5000000 + i), 'change', 'w', '1',"
	    "  CASE WHEN i % 8 < 5 THEN 'closed' ELSE 'draft' END,"
	    "  jsonb_build_object('template', 't0', 'title', repeat('x', 300)),"
	    "  ARRAY['s' || (i % 7)], 'u' || (i % 5), at, at, at"
	    " FROM generate_series(1, 20000) i,"
	    "  LATERAL (SELECT now() - (i * 5261 % (365 * 86400)) * interval '1 second' AS at) a");
	sql(pg, "ANALYZE records");
	PGresult *res = PQexec(pg, "SELECT (extract(epoch FROM now()) * 1000)::bigint");
	long long now_ms = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);

	char q[200];
	snprintf(q, sizeof q,
		 "SELECT sum((SELECT count(*) FROM unnest(services) u WHERE u = 's1'))"
		 " FROM records WHERE carried_out_at >= to_timestamp(%lld / 1000.0)",
		 now_ms - 90 * DAY_MS);
	res = PQexec(pg, q);
	long long want = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	CHECKF(want > 150, "%lld changes of s1 in 90 days", want);
	CHECK_INT(store_command(st, "SET random_page_cost = 10"), DB_NONE);
	json_t *svc = json_pack("[s]", "s1"), *members = json_pack("[s, s]", "u1", "u2"), *got;
	for (int k = 0; k < 8; k++) { /* past the custom plans: the generic one too */
		CHECK_INT(store_command(st, "BEGIN"), DB_NONE);
		CHECK_INT(store_change_history(st, svc, "t0", "team", members, now_ms - 90 * DAY_MS,
					       &got),
			  DB_ONE);
		long long changes = json_integer_value(json_object_get(
			json_object_get(json_object_get(got, "services"), "s1"), "changes"));
		CHECK_INT(changes, want);
		json_decref(got);
		CHECK_INT(store_exec(st, &rows_read, NULL, &res), DB_ONE);
		long long read = atoll(PQgetvalue(res, 0, 0));
		PQclear(res);
		CHECKF(read <= 1000, "question %d read %lld rows of records", k, read);
		CHECK_INT(store_command(st, "ROLLBACK"), DB_NONE);
	}
	json_decref(svc);
	json_decref(members);
	sql(pg, "DELETE FROM records WHERE id LIKE 'CHG-50%'");
	PQfinish(pg);
	store_free(st);
}

TESTS(test_the_counters_answer_as_the_old_query, test_a_link_racing_a_close_is_counted,
      test_one_day_of_records_is_read)
