/*
 * test_risk_history.c -- the risk-history query (store_change_history) against the real
 * PostgreSQL, on a history generated in SQL: carried-out and other changes over several
 * services, templates and requesters, inside and outside the window, failed by result or
 * by caused_by incidents (some named by several), duplicated services, incidents and
 * problems.  Its answer must be exactly that of the full scan it replaced (kept below,
 * as it was: the generated rows are written once, so carried_out_at is updated_at), and
 * PostgreSQL must answer it from the counters and index of migration 0023 without
 * reading the whole records table.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/harness.h"
#include "store/records.h"
#include "store/store_int.h"

#define DAY_MS 86400000LL

/* The query before migration 0017, verbatim: every change of the table, then filtered. */
static const struct store_stmt full_scan = {
	"test_history_full_scan",
	"WITH c AS (SELECT r.services, r.data->>'template' AS template, r.requester,"
	"  (r.data->>'result' = 'failed' OR EXISTS (SELECT 1 FROM record_links l"
	"    WHERE l.to_id = r.id AND l.rel = 'caused_by')) AS failed,"
	"  (SELECT count(*) FROM record_links l WHERE l.to_id = r.id AND l.rel = 'caused_by')"
	"   AS incidents"
	"  FROM records r WHERE r.kind = 'change' AND r.state IN ('closed', 'failed', 'review')"
	"  AND r.updated_at >= to_timestamp($1::bigint / 1000.0)) "
	"SELECT 'services', s, count(*), count(*) FILTER (WHERE failed),"
	" coalesce(sum(incidents), 0) FROM c, unnest(c.services) s"
	" WHERE s IN (SELECT jsonb_array_elements_text($2::jsonb)) GROUP BY s"
	" UNION ALL SELECT 'templates', template, count(*), count(*) FILTER (WHERE failed),"
	" coalesce(sum(incidents), 0) FROM c WHERE template = $3::text GROUP BY template"
	" UNION ALL SELECT 'teams', $4::text, count(*), count(*) FILTER (WHERE failed),"
	" coalesce(sum(incidents), 0) FROM c WHERE $4::text IS NOT NULL"
	" AND requester IN (SELECT jsonb_array_elements_text($5::jsonb))",
	5};

/*
 * N records: 5 of 6 changes, the rest incidents (each caused_by one or two changes) and
 * problems (linking incidents, not counted).  Change i: state by i % 7 (closed, failed,
 * review, draft, scheduled, cancelled, closed), services from 8 names with some repeated
 * or doubled, template t(i % 5) or none, requester u(i % 11), result failed every 4th,
 * updated between 0 and 199 days ago.
 */
static const char *const generate =
	"INSERT INTO records (id, kind, workflow, workflow_version, state, data, services,"
	" type, requester, created_at, updated_at, state_entered_at)"
	" SELECT id, kind, kind, '1', state, data, services, data->>'type', data->>'requester',"
	"  at, at, at FROM (SELECT CASE WHEN i % 6 = 5 THEN 'INC-' || i ELSE 'CHG-' || i END AS id,"
	"  CASE WHEN i % 6 = 5 THEN 'incident' ELSE 'change' END AS kind,"
	"  (ARRAY['closed', 'failed', 'review', 'draft', 'scheduled', 'cancelled',"
	"   'closed'])[i % 7 + 1] AS state,"
	"  jsonb_strip_nulls(jsonb_build_object('type', 'normal', 'requester', 'u' || (i % 11),"
	"   'template', CASE WHEN i % 5 < 4 THEN 't' || (i % 5) END,"
	"   'result', CASE WHEN i % 4 = 0 THEN 'failed' WHEN i % 4 = 1 THEN 'successful' END))"
	"   AS data,"
	"  CASE WHEN i % 13 = 0 THEN ARRAY['s' || (i % 8), 's' || (i % 8)]"
	"   WHEN i % 3 = 0 THEN ARRAY['s' || (i % 8), 's' || ((i + 3) % 8)]"
	"   WHEN i % 17 = 0 THEN ARRAY[]::text[] ELSE ARRAY['s' || (i % 8)] END AS services,"
	"  now() - ((i * 7919) % (200 * 86400)) * interval '1 second' AS at"
	"  FROM generate_series(1, $1::int) i) g";
static const char *const generate_links =
	"INSERT INTO record_links (from_id, rel, to_id)"
	" SELECT 'INC-' || i, 'caused_by', 'CHG-' || (i - k) FROM generate_series(1, $1::int) i,"
	"  (VALUES (1), (3)) v(k) WHERE i % 6 = 5 AND (k = 1 OR i % 4 = 1)"
	" UNION ALL SELECT 'INC-' || i, 'caused_by', 'CHG-' || (i - 7) FROM generate_series(1,"
	"  $1::int) i WHERE i % 6 = 5 AND i % 5 = 0 AND i > 7";

static void run(PGconn *pg, const char *sql, const char *n)
{
	const char *p[] = {n};
	PGresult *res = PQexecParams(pg, sql, n ? 1 : 0, NULL, n ? p : NULL, NULL, NULL, 0);
	CHECKF(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK,
	       "%s", PQerrorMessage(pg));
	PQclear(res);
}

/* The full scan's answer, shaped as store_change_history shapes its own. */
static json_t *old_answer(struct store *st, const char *const *p)
{
	PGresult *res;
	if (store_exec(st, &full_scan, p, &res) < 0)
		return NULL;
	json_t *h = store_history_answer(res);
	PQclear(res);
	return h;
}

struct ask {
	const char *services, *template, *team, *members;
	long long days;
};

static void same_answer(struct store *st, const struct ask *a, long long now_ms)
{
	char since[32];
	long long since_ms = now_ms - a->days * DAY_MS;
	snprintf(since, sizeof since, "%lld", since_ms);
	json_t *services = json_loads(a->services, 0, NULL);
	json_t *members = a->members ? json_loads(a->members, 0, NULL) : NULL;
	json_t *got = NULL;
	CHECK_INT(store_change_history(st, services, a->template, a->team, members, since_ms, &got),
		  DB_ONE);
	const char *p[] = {since, a->services, a->template, a->team,
			   a->members ? a->members : "[]"};
	json_t *want = old_answer(st, p);
	CHECK(got != NULL && want != NULL);
	char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
	char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
	CHECKF(json_equal(got, want),
	       "services %s template %s team %s, %lld days:\n  got  %s\n  want %s", a->services,
	       a->template ? a->template : "-", a->team ? a->team : "-", a->days, g ? g : "?",
	       w ? w : "?");
	free(g);
	free(w);
	json_decref(got);
	json_decref(want);
	json_decref(services);
	json_decref(members);
}

/* The counts of a generated history, for every kind of question, equal the full scan's. */
static void test_the_answer_is_the_full_scans(void)
{
	struct store *st = store_new(getenv("TRANSOM_TEST_DATABASE_URL"), NULL);
	CHECK(st != NULL);
	CHECK_INT(store_migrate(st) >= 0, 1);
	PGconn *pg = PQconnectdb(getenv("TRANSOM_TEST_DATABASE_URL"));
	CHECK(PQstatus(pg) == CONNECTION_OK);
	run(pg, generate, "3000");
	run(pg, generate_links, "3000");
	run(pg, "ANALYZE records, record_links", NULL);
	PGresult *res = PQexec(pg, "SELECT (extract(epoch FROM now()) * 1000)::bigint,"
				   " (SELECT count(*) FROM record_links),"
				   " (SELECT count(*) FROM records WHERE kind = 'change'"
				   "  AND state IN ('closed', 'failed', 'review'))");
	long long now_ms = atoll(PQgetvalue(res, 0, 0));
	CHECKF(atoll(PQgetvalue(res, 0, 1)) > 500 && atoll(PQgetvalue(res, 0, 2)) > 1000,
	       "links %s, carried out %s", PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
	PQclear(res);
	const struct ask asks[] = {
		{"[\"s1\"]", "t1", "payments", "[\"u1\", \"u2\", \"u5\"]", 90},
		{"[\"s0\", \"s3\", \"s3\", \"nowhere\"]", "t0", "ops", "[\"u0\"]", 90},
		{"[\"s2\", \"s5\", \"s7\"]", "t3", NULL, NULL, 30},
		{"[]", NULL, NULL, NULL, 90},
		{"[\"s4\", \"s6\"]", "nope", "empty", "[]", 90},
		{"[\"s0\", \"s1\", \"s2\", \"s3\", \"s4\", \"s5\", \"s6\", \"s7\"]", "t2", "all",
		 "[\"u0\", \"u1\", \"u2\", \"u3\", \"u4\", \"u5\", \"u6\", \"u7\", \"u8\", \"u9\","
		 " \"u10\"]",
		 365},
		{"[\"s6\"]", "t1", "late", "[\"u3\"]", 1},
	};
	for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++)
		same_answer(st, &asks[i], now_ms);
	PQfinish(pg);
	store_free(st);
}

/*
 * On a generated table of 20,000 records, over all time, the plan reads the buckets of
 * change_history by key and day and records only through records_carried_out (0023,
 * the window's partial first day): no sequential scan on each normal-change write.
 * (Before 0017 the statement was the full scan above and failed this.)
 */
static void test_the_query_does_not_scan_the_table(void)
{
	struct store *st = store_new(getenv("TRANSOM_TEST_DATABASE_URL"), NULL);
	CHECK(st != NULL);
	CHECK_INT(store_migrate(st) >= 0, 1);
	PGconn *pg = PQconnectdb(getenv("TRANSOM_TEST_DATABASE_URL"));
	CHECK(PQstatus(pg) == CONNECTION_OK);
	run(pg, "DELETE FROM record_links", NULL);
	run(pg, "DELETE FROM records", NULL);
	run(pg, generate, "20000");
	run(pg, generate_links, "20000");
	run(pg, "ANALYZE records, record_links", NULL);
	json_t *services = json_pack("[s]", "s1"), *members = json_pack("[s,s]", "u1", "u2"), *h;
	CHECK_INT(store_change_history(st, services, "t1", "payments", members, 0, &h), DB_ONE);
	json_decref(h);
	json_decref(services);
	json_decref(members);
	/* The store's sessions do not JIT-compile (40-90 ms for this query at 10k records). */
	static const struct store_stmt jit = {"test_history_jit", "SELECT current_setting('jit')",
					      0};
	PGresult *res;
	CHECK_INT(store_exec(st, &jit, NULL, &res), DB_ONE);
	CHECK_STR(PQgetvalue(res, 0, 0), "off");
	PQclear(res);
	/* The statement as the store prepared it, planned here both ways PostgreSQL may. */
	static const struct store_stmt text = {
		"test_history_text",
		"SELECT statement FROM pg_prepared_statements WHERE name = 'record_history'", 0};
	CHECK_INT(store_exec(st, &text, NULL, &res), DB_ONE);
	char *sql = NULL;
	if (asprintf(&sql, "PREPARE h(text, text, text, text, text) AS %s",
		     PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "SELECT 1") < 0)
		sql = NULL;
	PQclear(res);
	CHECK(sql != NULL);
	run(pg, sql, NULL);
	free(sql);
	static const char *const modes[] = {"force_custom_plan", "force_generic_plan"};
	for (int m = 0; m < 2; m++) {
		char set[64], plan[16384] = "";
		snprintf(set, sizeof set, "SET plan_cache_mode = %s", modes[m]);
		run(pg, set, NULL);
		res = PQexec(pg, "EXPLAIN EXECUTE h('0', '[\"s1\"]', 't1', 'payments',"
				 " '[\"u1\", \"u2\"]')");
		CHECK(PQresultStatus(res) == PGRES_TUPLES_OK);
		for (int i = 0; i < PQntuples(res); i++) {
			strncat(plan, PQgetvalue(res, i, 0), sizeof plan - strlen(plan) - 2);
			strcat(plan, "\n");
		}
		PQclear(res);
		CHECKF(strstr(plan, "Seq Scan on records") == NULL,
		       "%s: the plan scans records:\n%s", modes[m], plan);
		CHECKF(strstr(plan, "Seq Scan on change_history") == NULL &&
			       strstr(plan, "change_history_pkey") != NULL &&
			       strstr(plan, "records_carried_out") != NULL,
		       "%s: the plan misses an index of 0023:\n%s", modes[m], plan);
	}
	PQfinish(pg);
	store_free(st);
}

struct history_calls {
	json_t *services, *members;
	int default_after; /* calls after which plan_cache_mode was back to its default */
};

/* One transaction: the history, then the plan mode the rest of it runs with. */
static enum db_status history_tx(struct store *st, void *cls)
{
	static const struct store_stmt mode = {"test_history_mode",
					       "SELECT current_setting('plan_cache_mode')", 0};
	struct history_calls *c = cls;
	json_t *h = NULL;
	PGresult *res;
	enum db_status s =
		store_change_history(st, c->services, "t1", "payments", c->members, 0, &h);
	json_decref(h);
	if (s >= 0 && (s = store_exec(st, &mode, NULL, &res)) == DB_ONE) {
		c->default_after += strcmp(PQgetvalue(res, 0, 0), "auto") == 0;
		PQclear(res);
	}
	return s;
}

/*
 * The statement costs PostgreSQL more to plan than to run: inside a transaction it runs
 * on the generic plan, made once per connection, never replanned with each call's values
 * (PostgreSQL's own choice kept custom plans); and the transaction goes on with the
 * default plan mode.
 */
static void test_the_query_is_planned_once(void)
{
	static const struct store_stmt plans = {
		"test_history_plans",
		"SELECT generic_plans, custom_plans FROM pg_prepared_statements"
		" WHERE name = 'record_history'",
		0};
	struct store *st = store_new(getenv("TRANSOM_TEST_DATABASE_URL"), NULL);
	struct history_calls c = {json_pack("[s]", "s1"), json_pack("[s,s]", "u1", "u2"), 0};
	CHECK(st != NULL);
	for (int i = 0; i < 8; i++)
		CHECK_INT(store_tx(st, STORE_READ_COMMITTED, 0, history_tx, &c) >= 0, 1);
	CHECK_INT(c.default_after, 8);
	PGresult *res;
	CHECK_INT(store_exec(st, &plans, NULL, &res), DB_ONE);
	CHECKF(atoi(PQgetvalue(res, 0, 0)) == 8 && atoi(PQgetvalue(res, 0, 1)) == 0,
	       "record_history: %s generic plans, %s custom plans", PQgetvalue(res, 0, 0),
	       PQgetvalue(res, 0, 1));
	PQclear(res);
	json_decref(c.services);
	json_decref(c.members);
	store_free(st);
}

TESTS(test_the_answer_is_the_full_scans, test_the_query_does_not_scan_the_table,
      test_the_query_is_planned_once)
