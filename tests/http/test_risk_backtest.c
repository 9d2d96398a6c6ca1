/*
 * test_risk_backtest.c -- GET /v1/risk/backtest and `transomd risk backtest` against the
 * real server and PostgreSQL, on a history written in SQL whose answer is known (the
 * eight changes of tests/unit/test_backtest.c, worked by hand there): the figures of the
 * route and of the CLI; changes outside the period, not carried out or never assessed
 * left out; refusals of a bad `from`, `to` or `band` (400 BAD_PARAMETER naming the
 * field) and of a requester (403).
 */
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/harness.h"
#include "lib_http.h"

static struct server srv;
static char manager[128], admin[128], requester[128];

/*
 * In June 2026, eight assessed changes carried out (score, level, failed, caused an
 * incident): 5 low, 5 low, 10 low failed | 20 medium, 20 medium incident, 30 medium
 * failed+incident | 40 high, 45 high failed (result 'failed' or state 'failed').  Left out
 * of June: a scheduled change (not carried out) and a closed one never assessed.  In
 * 2020, one more assessed change (80 high, closed fine).  Two incidents name CHG-5 and
 * CHG-6 as caused_by; a third names CHG-6 too (still one bad change).  CHG-11 is
 * edited in June 2026 (a comment): a change belongs to the period it was carried out in,
 * not to the one of its last write.
 */
static const char *const history =
	"INSERT INTO records (id, kind, workflow, workflow_version, state, data, services,"
	" type, requester, created_at, updated_at, state_entered_at)"
	" SELECT id, kind, kind, '1', state, data::jsonb, '{}', 'normal', 'u', at::timestamptz,"
	"  at::timestamptz, at::timestamptz FROM (VALUES"
	" ('CHG-1', 'change', 'closed', '{\"risk\": {\"score\": 5, \"level\": \"low\"}}',"
	"  '2026-06-01T10:00:00Z'),"
	" ('CHG-2', 'change', 'closed', '{\"risk\": {\"score\": 5, \"level\": \"low\"}}',"
	"  '2026-06-02T10:00:00Z'),"
	" ('CHG-3', 'change', 'closed', '{\"result\": \"failed\","
	"  \"risk\": {\"score\": 10, \"level\": \"low\"}}', '2026-06-03T10:00:00Z'),"
	" ('CHG-4', 'change', 'review', '{\"risk\": {\"score\": 20, \"level\": \"medium\"}}',"
	"  '2026-06-04T10:00:00Z'),"
	" ('CHG-5', 'change', 'closed', '{\"result\": \"successful\","
	"  \"risk\": {\"score\": 20, \"level\": \"medium\"}}', '2026-06-05T10:00:00Z'),"
	" ('CHG-6', 'change', 'failed', '{\"risk\": {\"score\": 30, \"level\": \"medium\"}}',"
	"  '2026-06-06T10:00:00Z'),"
	" ('CHG-7', 'change', 'closed', '{\"risk\": {\"score\": 40, \"level\": \"high\"}}',"
	"  '2026-06-07T10:00:00Z'),"
	" ('CHG-8', 'change', 'closed', '{\"result\": \"failed\","
	"  \"risk\": {\"score\": 45, \"level\": \"high\"}}', '2026-06-08T10:00:00Z'),"
	" ('CHG-9', 'change', 'scheduled', '{\"risk\": {\"score\": 90, \"level\": \"high\"}}',"
	"  '2026-06-09T10:00:00Z'),"
	" ('CHG-10', 'change', 'closed', '{\"result\": \"failed\"}', '2026-06-10T10:00:00Z'),"
	" ('CHG-11', 'change', 'closed', '{\"risk\": {\"score\": 80, \"level\": \"high\"}}',"
	"  '2020-03-01T10:00:00Z'),"
	" ('INC-1', 'incident', 'open', '{}', '2026-06-20T10:00:00Z'),"
	" ('INC-2', 'incident', 'open', '{}', '2026-06-21T10:00:00Z'),"
	" ('INC-3', 'incident', 'open', '{}', '2026-06-22T10:00:00Z')"
	" ) v(id, kind, state, data, at);"
	" INSERT INTO record_links (from_id, rel, to_id) VALUES ('INC-1', 'caused_by', 'CHG-5'),"
	" ('INC-2', 'caused_by', 'CHG-6'), ('INC-3', 'caused_by', 'CHG-6');"
	" UPDATE records SET updated_at = '2026-06-15T10:00:00Z',"
	"  data = data || '{\"comment\": \"looked again\"}' WHERE id = 'CHG-11'";

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

static double num(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);
	if (b != NULL)
		v = json_object_get(v, b);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

#define CHECK_NEAR(got, want)                                                                      \
	do {                                                                                       \
		double g_ = (got), w_ = (want);                                                    \
		CHECKF(fabs(g_ - w_) < 1e-9, "got %.12f, want %.12f", g_, w_);                     \
	} while (0)

static void test_june_figures(void)
{
	struct reply *r = request(&srv, "GET", "/v1/risk/backtest?from=2026-06-01&to=2026-07-01",
				  manager, NULL, NULL);
	CHECK_INT(r->status, 200);
	json_t *j = r->json;
	CHECK_INT(json_integer_value(json_object_get(j, "changes")), 8);
	CHECK_INT(json_integer_value(json_object_get(j, "failures")), 3);
	CHECK_INT(json_integer_value(json_object_get(j, "incidents_caused")), 2);
	CHECK_INT(json_integer_value(json_object_get(j, "bad")), 4);
	CHECK_INT(json_integer_value(json_object_get(j, "unassessed")), 1);
	CHECK_STR(json_string_value(json_object_get(j, "from")), "2026-06-01T00:00:00.000Z");
	CHECK_STR(json_string_value(json_object_get(j, "to")), "2026-07-01T00:00:00.000Z");
	CHECK_NEAR(num(j, "base_rate", NULL), 0.5);
	CHECK_NEAR(num(j, "brier", "base_rate"), 0.25);
	CHECK_NEAR(num(j, "brier", "per_level"), 11.0 / 48.0);
	CHECK_NEAR(num(j, "brier", "skill"), 1.0 / 12.0);
	CHECK_NEAR(num(j, "auc", "score"), 0.71875);
	CHECK_NEAR(num(j, "auc", "level"), 0.59375);
	CHECK(json_is_null(json_object_get(j, "predicted_probability")));
	CHECK(json_is_false(json_object_get(j, "levels_rise")));
	CHECK(strstr(json_string_value(json_object_get(j, "verdict")) ?: "", "AUC 0.72") != NULL);
	json_t *levels = json_object_get(j, "levels");
	CHECK_INT(json_array_size(levels), 3);
	static const char *const names[] = {"low", "medium", "high"};
	static const double rates[] = {1.0 / 3.0, 2.0 / 3.0, 0.5};
	for (size_t i = 0; i < 3; i++) {
		json_t *l = json_array_get(levels, i);
		CHECK_STR(json_string_value(json_object_get(l, "level")), names[i]);
		CHECK_NEAR(num(l, "observed_rate", NULL), rates[i]);
	}
	CHECK_INT(
		json_integer_value(json_object_get(json_array_get(levels, 1), "incidents_caused")),
		2);
	CHECK_INT(json_array_size(json_object_get(j, "bands")), 5);
	CHECK(json_string_length(json_object_get(json_object_get(j, "explain"), "brier.skill")) >
	      40);
	reply_free(r);

	/* the admin may too; wider bands */
	r = request(&srv, "GET", "/v1/risk/backtest?from=2026-06-01&to=2026-07-01&band=20", admin,
		    NULL, NULL);
	CHECK_INT(r->status, 200);
	CHECK_INT(json_array_size(json_object_get(r->json, "bands")), 3);
	reply_free(r);
}

/* Without bounds the 2020 change comes in: 9 changes, 4 bad. */
static void test_all_history(void)
{
	struct reply *r = request(&srv, "GET", "/v1/risk/backtest", manager, NULL, NULL);
	CHECK_INT(r->status, 200);
	CHECK_INT(json_integer_value(json_object_get(r->json, "changes")), 9);
	CHECK_INT(json_integer_value(json_object_get(r->json, "bad")), 4);
	CHECK(json_is_null(json_object_get(r->json, "from")));
	CHECK(json_is_null(json_object_get(r->json, "to")));
	reply_free(r);
	/* `to` is exclusive: up to the first June change, only 2020 */
	r = request(&srv, "GET", "/v1/risk/backtest?to=2026-06-01T10:00:00Z", manager, NULL, NULL);
	CHECK_INT(r->status, 200);
	CHECK_INT(json_integer_value(json_object_get(r->json, "changes")), 1);
	CHECK(json_is_null(json_object_get(json_object_get(r->json, "auc"), "score")));
	reply_free(r);
}

static void refused(const char *path, const char *field)
{
	struct reply *r = request(&srv, "GET", path, manager, NULL, NULL);
	CHECKF(r->status == 400, "%s: %ld", path, r->status);
	CHECK_STR(reply_str(r, "code"), "BAD_PARAMETER");
	CHECK_STR(reply_str(r, "field"), field);
	reply_free(r);
}

static void test_bad_arguments_are_refused(void)
{
	refused("/v1/risk/backtest?from=yesterday", "from");
	refused("/v1/risk/backtest?to=2026-13-01", "to");
	refused("/v1/risk/backtest?from=2026-07-01&to=2026-06-01", "to");
	refused("/v1/risk/backtest?from=2026-06-01&to=2026-06-01", "to");
	refused("/v1/risk/backtest?band=0", "band");
	refused("/v1/risk/backtest?band=10x", "band");
	refused("/v1/risk/backtest?band=-5", "band");
	struct reply *r = request(&srv, "GET", "/v1/risk/backtest", requester, NULL, NULL);
	CHECK_INT(r->status, 403);
	reply_free(r);
}

static void test_cli(void)
{
	int status = -1;
	const char *const args[] = {"risk", "backtest",   "--from", "2026-06-01",
				    "--to", "2026-07-01", NULL};
	char *out = transomd_run(&status, args);
	CHECK_INT(status, 0);
	CHECK(out && strstr(out, "Risk backtest: 8 changes, 3 failed, 2 caused incidents, 4 bad"));
	CHECK(out && strstr(out, "  medium              3        1         2      2  0.6667"));
	CHECK(out && strstr(out, "brier skill            0.0833"));
	CHECK(out && strstr(out, "auc (score)            0.7188"));
	CHECK(out && strstr(out, "not probabilities"));
	CHECK(out && strstr(out, "Verdict: The score ranks a bad change above a good one 72%"));
	CHECK(out && strstr(out, "1 changes carried out with no recorded risk were left out"));
	free(out);

	const char *const js[] = {"risk", "backtest", "--from", "2026-06-01", "--json", NULL};
	out = transomd_run(&status, js);
	CHECK_INT(status, 0);
	json_t *j = out ? json_loads(out, 0, NULL) : NULL;
	CHECK_INT(json_integer_value(json_object_get(j, "changes")), 8);
	CHECK_NEAR(num(j, "auc", "level"), 0.59375);
	json_decref(j);
	free(out);

	const char *const bad[] = {"risk", "backtest", "--to", "soon", NULL};
	free(transomd_run(&status, bad));
	CHECK_INT(status, 2);
	const char *const nosub[] = {"risk", "forecast", NULL};
	free(transomd_run(&status, nosub));
	CHECK_INT(status, 2);
}

int tests_main(void);
#define main tests_main
TESTS(test_june_figures, test_all_history, test_bad_arguments_are_refused, test_cli)
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
