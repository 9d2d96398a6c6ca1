/*
 * reports.c -- the SQL of the reports (see reports.h): each joins a series of buckets to
 * the records of the period, so a bucket with nothing in it is a row of zeros.
 */
#include "store/reports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* The bucket starts of [$1, $2) by $3 ('day', 'week', 'month'), as UTC timestamps. */
#define BUCKETS                                                                                    \
	"WITH b AS (SELECT g AS s FROM generate_series("                                           \
	" date_trunc($3, " TS("$1") " AT TIME ZONE 'UTC'),"                                        \
				    " " TS("$2") " AT TIME ZONE 'UTC' - interval '1 microsecond'," \
						 " ('1 ' || $3)::interval) g)"

#define IN_PERIOD(col) " AND " col " >= " TS("$1") " AND " col " < " TS("$2")

#define CARRIED_OUT_IN_PERIOD                                                                      \
	" FROM records WHERE kind = 'change' AND state IN ('closed', 'failed', "                   \
	"'review')" IN_PERIOD("updated_at")

#define KEY(col) "date_trunc($3, " col " AT TIME ZONE 'UTC') AS k"

static const struct store_stmt stmts[STORE_REPORT_COUNT] = {
	[STORE_REPORT_CHANGE_SUCCESS] =
		{"report_change_success",
		 BUCKETS ", r AS (SELECT id, " KEY(
			 "updated_at") ","
				       " (state = 'failed' OR coalesce(data->>'result' = 'failed', "
				       "false)) AS failed" CARRIED_OUT_IN_PERIOD ")"
				       " SELECT to_char(b.s, 'YYYY-MM-DD'), count(r.id),"
				       " count(r.id) FILTER (WHERE NOT r.failed), count(r.id) "
				       "FILTER (WHERE r.failed)"
				       " FROM b LEFT JOIN r ON r.k = b.s GROUP BY b.s ORDER BY b.s",
		 3},
	[STORE_REPORT_LEAD_TIME] =
		{"report_lead_time",
		 BUCKETS ", r AS (SELECT id, " KEY(
			 "updated_at") ","
				       " extract(epoch FROM updated_at - created_at) / 3600.0 AS "
				       "hours" CARRIED_OUT_IN_PERIOD ")"
				       " SELECT to_char(b.s, 'YYYY-MM-DD'), count(r.id),"
				       " round(avg(r.hours)::numeric, 2),"
				       " round((percentile_cont(0.5) WITHIN GROUP (ORDER BY "
				       "r.hours))::numeric, 2)"
				       " FROM b LEFT JOIN r ON r.k = b.s GROUP BY b.s ORDER BY b.s",
		 3},
	[STORE_REPORT_RISK_LEVELS] =
		{"report_risk_levels",
		 BUCKETS ", r AS (SELECT id, " KEY(
			 "created_at") ", data->'risk'->>'level' AS level"
				       " FROM records WHERE kind = 'change'" IN_PERIOD(
					       "created_at") ")"
							     " SELECT to_char(b.s, 'YYYY-MM-DD'),"
							     " count(r.id) FILTER (WHERE r.level = "
							     "'low'),"
							     " count(r.id) FILTER (WHERE r.level = "
							     "'medium'),"
							     " count(r.id) FILTER (WHERE r.level = "
							     "'high'),"
							     " count(r.id) FILTER (WHERE r.level = "
							     "'critical'),"
							     " count(r.id) FILTER (WHERE r.level "
							     "IS NULL)"
							     " FROM b LEFT JOIN r ON r.k = b.s "
							     "GROUP BY b.s ORDER BY b.s",
		 3},
	[STORE_REPORT_CHANGE_INCIDENTS] =
		{"report_change_incidents",
		 BUCKETS ", r AS (SELECT i.id, " KEY(
			 "i.created_at") ","
					 " EXISTS (SELECT 1 FROM record_links l WHERE l.from_id = "
					 "i.id AND l.rel = 'caused_by')"
					 " AS caused FROM records i WHERE i.kind = "
					 "'incident'" IN_PERIOD(
						 "i.created_at") ")"
								 " SELECT to_char(b.s, "
								 "'YYYY-MM-DD'), count(r.id),"
								 " count(r.id) FILTER (WHERE "
								 "r.caused)"
								 " FROM b LEFT JOIN r ON r.k = b.s "
								 "GROUP BY b.s ORDER BY b.s",
		 3},
	[STORE_REPORT_APPROVAL_LATENCY] =
		{"report_approval_latency",
		 BUCKETS
		 ", t AS (SELECT record_id, at, content::jsonb->'detail' AS d"
		 " FROM audit_events WHERE action = 'transitioned'"
		 " AND at < " TS("$2") " AND at >= " TS(
			 "$1") " - interval '180 days'),"
			       " ok AS (SELECT x.record_id, x.at AS done,"
			       " (SELECT max(y.at) FROM t y WHERE y.record_id = x.record_id"
			       " AND y.d->>'to' = 'authorize' AND y.d->>'from' <> 'authorize'"
			       " AND y.at <= x.at) AS began"
			       " FROM t x WHERE x.d->>'from' = 'authorize'"
			       " AND x.d->>'to' NOT IN ('authorize', 'rejected', "
			       "'cancelled')" IN_PERIOD(
				       "x.at") "),"
					       " r AS (SELECT record_id, " KEY(
						       "done") ","
							       " extract(epoch FROM done - began) "
							       "/ 3600.0 AS hours FROM ok"
							       " WHERE began IS NOT NULL)"
							       " SELECT to_char(b.s, "
							       "'YYYY-MM-DD'), count(r.record_id),"
							       " round(avg(r.hours)::numeric, 2),"
							       " round((percentile_cont(0.5) "
							       "WITHIN GROUP (ORDER BY "
							       "r.hours))::numeric, 2)"
							       " FROM b LEFT JOIN r ON r.k = b.s "
							       "GROUP BY b.s ORDER BY b.s",
		 3},
	[STORE_REPORT_GATE_DECISIONS] =
		{"report_gate_decisions",
		 BUCKETS ", r AS (SELECT id, " KEY(
			 "created_at") ", outcome"
				       " FROM deployments WHERE true" IN_PERIOD(
					       "created_at") ")"
							     " SELECT to_char(b.s, 'YYYY-MM-DD'), "
							     "count(r.id),"
							     " count(r.id) FILTER (WHERE r.outcome "
							     "= 'denied'),"
							     " count(r.id) FILTER (WHERE r.outcome "
							     "= 'success'),"
							     " count(r.id) FILTER (WHERE r.outcome "
							     "= 'failure'),"
							     " count(r.id) FILTER (WHERE r.outcome "
							     "= 'expired'),"
							     " count(r.id) FILTER (WHERE r.outcome "
							     "IS NULL)"
							     " FROM b LEFT JOIN r ON r.k = b.s "
							     "GROUP BY b.s ORDER BY b.s",
		 3},
};

enum db_status store_report(struct store *st, enum store_report_kind which, const char *bucket,
			    long long from_ms, long long to_ms, json_t **rows)
{
	char from[32], to[32];
	PGresult *res;
	*rows = NULL;
	if ((unsigned)which >= STORE_REPORT_COUNT)
		return DB_HARD;
	snprintf(from, sizeof from, "%lld", from_ms);
	snprintf(to, sizeof to, "%lld", to_ms);
	const char *p[] = {from, to, bucket};
	enum db_status s = store_exec(st, &stmts[which], p, &res);
	if (s < 0)
		return s;
	json_t *arr = json_array();
	int cols = PQnfields(res);
	for (int i = 0; arr != NULL && i < PQntuples(res); i++) {
		json_t *row = json_array();
		for (int c = 0; row != NULL && c < cols; c++) {
			const char *v = PQgetvalue(res, i, c);
			json_t *x = c == 0                   ? json_string(v)
				    : PQgetisnull(res, i, c) ? json_null()
				    : strchr(v, '.') != NULL ? json_real(strtod(v, NULL))
							     : json_integer(strtoll(v, NULL, 10));
			json_array_append_new(row, x);
		}
		if (row == NULL || json_array_append_new(arr, row) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	PQclear(res);
	*rows = arr;
	return arr != NULL ? s : DB_HARD;
}
