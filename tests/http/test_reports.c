/*
 * test_reports.c -- GET /v1/reports/{name} against the real server and PostgreSQL, on a
 * history (records, audit trail, deployments) written in SQL whose figures are worked out
 * below: each report's rows by week
 * and by day, empty weeks as zeros, the CSV (by ?format=csv and by Accept) with the same
 * figures, and the refusals: an unknown report (404), a bad bucket, period or format (400
 * naming the field) and a requester (403).
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/harness.h"
#include "lib_http.h"

static struct server srv;
#include "record_steps.h"
static char manager[128], admin[128], requester[128];

/*
 * June 2026 (the 1st is a Monday).  Week of 1 June: CHG-1 closed fine, low, 48 h from
 * creation; CHG-2 failed (state), medium, 12 h; CHG-3 closed with result failed, high,
 * 120 h, created in May (so not in June's risk levels).  Week of 8 June: CHG-4 in review,
 * never assessed, 6 h; CHG-5 low, scheduled (not carried out).  Week of 15 June: nothing.
 * Incidents: INC-1 (2 June) caused by CHG-2, INC-2 (10 June) by nothing, INC-3 (11 June)
 * by CHG-4.
 * Approvals (audit trail): CHG-1 entered authorize on 1 June 12:00, a timer's step from
 * authorize to itself at 12:30 (no new entry), approved at 18:00 (6 h); CHG-2 entered it
 * on 2 June and was rejected (no approval); CHG-3 entered it on 30 May 12:00 and was
 * authorized on 2 June 12:00 (72 h); CHG-4 entered it on 8 June 10:00, approved at 14:00
 * (4 h).  Deployments: week of 1 June one succeeded, one denied, one failed; week of 8
 * June one lease expired, one open, one succeeded.
 */
static const char *const history =
	"INSERT INTO records (id, kind, workflow, workflow_version, state, data, services,"
	" type, requester, created_at, updated_at, state_entered_at)"
	" SELECT id, kind, kind, '1', state, data::jsonb, '{}', 'normal', 'u', c::timestamptz,"
	"  u::timestamptz, u::timestamptz FROM (VALUES"
	" ('CHG-1', 'change', 'closed', '{\"risk\": {\"score\": 5, \"level\": \"low\"}}',"
	"  '2026-06-01T10:00:00Z', '2026-06-03T10:00:00Z'),"
	" ('CHG-2', 'change', 'failed', '{\"risk\": {\"score\": 20, \"level\": \"medium\"}}',"
	"  '2026-06-02T10:00:00Z', '2026-06-02T22:00:00Z'),"
	" ('CHG-3', 'change', 'closed', '{\"result\": \"failed\","
	"  \"risk\": {\"score\": 45, \"level\": \"high\"}}', '2026-05-30T10:00:00Z',"
	"  '2026-06-04T10:00:00Z'),"
	" ('CHG-4', 'change', 'review', '{}', '2026-06-08T10:00:00Z', '2026-06-08T16:00:00Z'),"
	" ('CHG-5', 'change', 'scheduled', '{\"risk\": {\"score\": 5, \"level\": \"low\"}}',"
	"  '2026-06-09T10:00:00Z', '2026-06-09T11:00:00Z'),"
	" ('INC-1', 'incident', 'new', '{}', '2026-06-02T12:00:00Z', '2026-06-02T12:00:00Z'),"
	" ('INC-2', 'incident', 'new', '{}', '2026-06-10T12:00:00Z', '2026-06-10T12:00:00Z'),"
	" ('INC-3', 'incident', 'new', '{}', '2026-06-11T12:00:00Z', '2026-06-11T12:00:00Z')"
	" ) v(id, kind, state, data, c, u);"
	" INSERT INTO record_links (from_id, rel, to_id) VALUES ('INC-1', 'caused_by', 'CHG-2'),"
	" ('INC-3', 'caused_by', 'CHG-4');"
	" INSERT INTO audit_events (seq, at, actor, record_id, action, content, prev_hash, hash)"
	" SELECT seq, at::timestamptz, 'u', id, 'transitioned',"
	"  json_build_object('detail', json_build_object('event', e, 'from', f, 'to', t))::text,"
	"  repeat('0', 64), repeat('0', 64) FROM (VALUES"
	" (900001, '2026-06-01T12:00:00Z', 'CHG-1', 'submit', 'assess', 'authorize'),"
	" (900002, '2026-06-01T12:30:00Z', 'CHG-1', 'authorization_overdue', 'authorize',"
	"  'authorize'),"
	" (900003, '2026-06-01T18:00:00Z', 'CHG-1', 'approve', 'authorize', 'scheduled'),"
	" (900004, '2026-06-02T00:00:00Z', 'CHG-2', 'submit', 'assess', 'authorize'),"
	" (900005, '2026-06-02T05:00:00Z', 'CHG-2', 'reject', 'authorize', 'rejected'),"
	" (900006, '2026-05-30T12:00:00Z', 'CHG-3', 'submit', 'assess', 'authorize'),"
	" (900007, '2026-06-02T12:00:00Z', 'CHG-3', 'authorized', 'authorize', 'scheduled'),"
	" (900008, '2026-06-08T10:00:00Z', 'CHG-4', 'submit', 'assess', 'authorize'),"
	" (900009, '2026-06-08T14:00:00Z', 'CHG-4', 'approve', 'authorize', 'scheduled')"
	" ) v(seq, at, id, e, f, t);"
	" INSERT INTO deployments (id, requester, service, environment, outcome, created_at)"
	" VALUES ('DEP-1', 'ci', 'payments', 'production', 'success', '2026-06-01T09:00:00Z'),"
	" ('DEP-2', 'ci', 'payments', 'production', 'denied', '2026-06-02T09:00:00Z'),"
	" ('DEP-3', 'ci', 'search', 'production', 'failure', '2026-06-03T09:00:00Z'),"
	" ('DEP-4', 'ci', 'search', 'production', 'expired', '2026-06-09T09:00:00Z'),"
	" ('DEP-5', 'ci', 'search', 'production', NULL, '2026-06-10T09:00:00Z'),"
	" ('DEP-6', 'ci', 'ledger', 'production', 'success', '2026-06-10T10:00:00Z')";

static bool write_history(void)
{
	PGconn *c = PQconnectdb(getenv("TRANSOM_TEST_DATABASE_URL"));
	PGresult *r = PQexec(c, history);
	bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "history: %s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return ok;
}

/* The report's rows as compact JSON text, for comparing with what the history gives. */
static void check_rows(const char *path, const char *want)
{
	struct reply *r = request(&srv, "GET", path, manager, NULL, NULL);
	CHECKF(r->status == 200, "%s: %ld %s", path, r->status, r->body ? r->body : "");
	char *got = json_dumps(json_object_get(r->json, "rows"), JSON_COMPACT);
	CHECKF(got && strcmp(got, want) == 0, "%s:\n  got  %s\n  want %s", path, got ? got : "",
	       want);
	free(got);
	reply_free(r);
}

static void test_weekly_figures(void)
{
	check_rows("/v1/reports/change-success?from=2026-06-01&to=2026-06-22",
		   "[[\"2026-06-01\",3,1,2],[\"2026-06-08\",1,1,0],[\"2026-06-15\",0,0,0]]");
	check_rows("/v1/reports/lead-time?from=2026-06-01&to=2026-06-22&bucket=week",
		   "[[\"2026-06-01\",3,60.0,48.0],[\"2026-06-08\",1,6.0,6.0],"
		   "[\"2026-06-15\",0,null,null]]");
	check_rows("/v1/reports/risk-levels?from=2026-06-01&to=2026-06-22",
		   "[[\"2026-06-01\",1,1,0,0,0],[\"2026-06-08\",1,0,0,0,1],"
		   "[\"2026-06-15\",0,0,0,0,0]]");
	check_rows("/v1/reports/change-incidents?from=2026-06-01&to=2026-06-22",
		   "[[\"2026-06-01\",1,1],[\"2026-06-08\",2,1],[\"2026-06-15\",0,0]]");
	check_rows("/v1/reports/approval-latency?from=2026-06-01&to=2026-06-22",
		   "[[\"2026-06-01\",2,39.0,39.0],[\"2026-06-08\",1,4.0,4.0],"
		   "[\"2026-06-15\",0,null,null]]");
	check_rows("/v1/reports/gate-decisions?from=2026-06-01&to=2026-06-22",
		   "[[\"2026-06-01\",3,1,1,1,0,0],[\"2026-06-08\",3,0,1,0,1,1],"
		   "[\"2026-06-15\",0,0,0,0,0,0]]");
	/* By day; `to` is exclusive, and a week starting mid-week starts on its Monday. */
	check_rows("/v1/reports/change-success?from=2026-06-02&to=2026-06-04&bucket=day",
		   "[[\"2026-06-02\",1,0,1],[\"2026-06-03\",1,1,0]]");
	check_rows("/v1/reports/change-success?from=2026-06-03&to=2026-06-08",
		   "[[\"2026-06-01\",2,1,1]]");
	check_rows("/v1/reports/change-success?from=2026-06-01&to=2026-07-01&bucket=month",
		   "[[\"2026-06-01\",4,2,2]]");

	struct reply *r = request(&srv, "GET", "/v1/reports/change-success?from=2026-06-01", admin,
				  NULL, NULL);
	CHECK_INT(r->status, 200);
	CHECK_STR(reply_str(r, "report"), "change-success");
	CHECK_STR(reply_str(r, "bucket"), "week");
	json_t *cols = json_object_get(r->json, "columns");
	CHECK_INT(json_array_size(cols), 4);
	CHECK_STR(json_string_value(json_object_get(json_array_get(cols, 3), "name")), "failed");
	reply_free(r);
}

static void test_csv(void)
{
	struct reply *r = request(
		&srv, "GET", "/v1/reports/change-success?from=2026-06-01&to=2026-06-22&format=csv",
		manager, NULL, NULL);
	CHECK_INT(r->status, 200);
	CHECK(r->headers && strstr(r->headers, "text/csv") != NULL);
	CHECK(r->headers && strstr(r->headers, "filename=\"change-success.csv\"") != NULL);
	CHECK_STR(r->body, "bucket,carried_out,succeeded,failed\r\n2026-06-01,3,1,2\r\n"
			   "2026-06-08,1,1,0\r\n2026-06-15,0,0,0\r\n");
	reply_free(r);
	const char *h[] = {"Accept: text/csv", NULL};
	r = request(&srv, "GET", "/v1/reports/lead-time?from=2026-06-01&to=2026-06-22", manager,
		    NULL, h);
	CHECK_INT(r->status, 200);
	CHECK_STR(r->body, "bucket,changes,mean_hours,median_hours\r\n2026-06-01,3,60.00,48.00\r\n"
			   "2026-06-08,1,6.00,6.00\r\n2026-06-15,0,,\r\n");
	reply_free(r);
}

static void refused(const char *path, const char *token, long status, const char *field)
{
	struct reply *r = request(&srv, "GET", path, token, NULL, NULL);
	CHECKF(field ? problem_is(r, status, field) : r->status == status, "%s: %ld %s", path,
	       r->status, r->body ? r->body : "");
	reply_free(r);
}

static void test_refusals(void)
{
	refused("/v1/reports/velocity", manager, 404, "name");
	refused("/v1/reports/change-success?bucket=year", manager, 400, "bucket");
	refused("/v1/reports/change-success?from=soon", manager, 400, "from");
	refused("/v1/reports/change-success?from=2026-06-08&to=2026-06-01", manager, 400, "to");
	refused("/v1/reports/change-success?from=2000-01-01&to=2026-06-01&bucket=day", manager, 400,
		"to");
	refused("/v1/reports/change-success?format=xml", manager, 400, "format");
	refused("/v1/reports/change-success", requester, 403, NULL);
}

int tests_main(void);
#define main tests_main
TESTS(test_weekly_figures, test_csv, test_refusals)
#undef main

int main(void)
{
	snprintf(manager, sizeof manager, "%s", token_for("amartin", "change_manager"));
	snprintf(admin, sizeof admin, "%s", token_for("root", "admin"));
	snprintf(requester, sizeof requester, "%s", token_for("grossi", "requester"));
	if (!manager[0] || !admin[0] || !requester[0] || !write_history() ||
	    !server_start(&srv, NULL, NULL, NULL)) {
		printf("0 passed, 1 failed\n");
		return 1;
	}
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	return rc;
}
