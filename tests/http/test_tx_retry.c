/*
 * test_tx_retry.c -- a transaction body is a pure function of what it reads in that
 * attempt (store/store.h): a submit that loses a real deadlock to a second transaction is
 * run again, and the retry recomputes the change's history (risk) and its proposed slot
 * from what the other transaction committed meanwhile, instead of reusing what the
 * rolled-back attempt had read.
 *
 * The interleaving, with a second libpq connection ("other"):
 *   other:  BEGIN; LOCK audit_events            (the submit's audit append will wait)
 *   server: submit: locks CHG-1, reads history and bookings, proposes, waits at COMMIT
 *   other:  SELECT CHG-1 FOR UPDATE             (a cycle: PostgreSQL aborts the server's
 *                                                attempt, which waited first: 40P01)
 *   other:  three failed changes on `search` and a booking of its first slot; COMMIT
 *   server: the retry locks CHG-1 again and must see all of it.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "lib_http.h"

#define DAY_MS  (86400LL * 1000)
#define HOUR_MS (3600LL * 1000)

static struct server srv;
static char requester[128], policies[512];
static long long day0; /* midnight UTC three days from now */

static void write_file(const char *name, const char *text)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", policies, name);
	FILE *fp = fopen(path, "w");
	if (fp != NULL) {
		fputs(text, fp);
		fclose(fp);
	}
}

/* `ms` as an RFC 3339 time, with milliseconds when `ms_form`. */
static void stamp(long long ms, bool ms_form, char *out, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, size, ms_form ? "%Y-%m-%dT%H:%M:%S.000Z" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Runs `sql` on `pg`; true when it succeeded. */
static bool run(PGconn *pg, const char *sql)
{
	PGresult *res = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(res);
	bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "# %s: %s", sql, PQerrorMessage(pg));
	PQclear(res);
	return ok;
}

/* Whether another backend of this database waits for a lock. */
static bool someone_waits(PGconn *pg)
{
	PGresult *res =
		PQexec(pg, "SELECT count(*) FROM pg_locks l JOIN pg_database d"
			   " ON d.oid = l.database WHERE NOT l.granted"
			   " AND d.datname = current_database() AND l.pid <> pg_backend_pid()");
	bool yes = PQresultStatus(res) == PGRES_TUPLES_OK && atol(PQgetvalue(res, 0, 0)) > 0;
	PQclear(res);
	return yes;
}

struct submit {
	char path[128];
	struct reply *reply;
};

static void *submit_thread(void *cls)
{
	struct submit *s = cls;
	const char *h[] = {"Content-Type: application/json", NULL};
	s->reply = request(&srv, "POST", s->path, requester, "{\"event\": \"submit\"}", h);
	return NULL;
}

/* Whether the risk factors of `rec` hold `id`. */
static bool has_factor(json_t *rec, const char *id)
{
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(json_object_get(rec, "risk"), "factors"), i, f)
		if (strcmp(json_string_value(json_object_get(f, "id")) ?: "", id) == 0)
			return true;
	return false;
}

static void test_a_retried_submit_recomputes_history_and_schedule(void)
{
	char nb[32], body[1024], sql[1024], want[40], a[40], b[40];
	const char *h[] = {"Content-Type: application/json", NULL};
	stamp(day0, false, nb, sizeof nb);
	snprintf(body, sizeof body,
		 "{\"title\": \"Reindex search\", \"type\": \"normal\", \"services\": [\"search\"],"
		 " \"duration\": \"PT1H\", \"not_before\": \"%s\", \"description\": \"reindex\","
		 " \"implementation_plan\": \"rebuild the index\", \"rollback_plan\": \"switch back"
		 " to the previous index\", \"test_evidence\": \"staging run 12\"}",
		 nb);
	struct reply *r = request(&srv, "POST", "/v1/changes", requester, body, h);
	CHECK_INT(r->status, 201);
	struct submit s = {.reply = NULL};
	char id[32];
	snprintf(id, sizeof id, "%s", reply_str(r, "id"));
	snprintf(s.path, sizeof s.path, "/v1/changes/%s/transitions", id);
	reply_free(r);

	PGconn *other = PQconnectdb(getenv("TRANSOM_TEST_DATABASE_URL"));
	CHECK(PQstatus(other) == CONNECTION_OK);
	CHECK(run(other, "BEGIN"));
	/* Never this side's deadlock check first (superuser only: best effort). */
	PQclear(PQexec(other, "SET LOCAL deadlock_timeout = '60s'"));
	CHECK(run(other, "LOCK TABLE audit_events IN EXCLUSIVE MODE"));

	pthread_t t;
	CHECK(pthread_create(&t, NULL, submit_thread, &s) == 0);
	bool waits = false;
	for (int i = 0; i < 2000 && !(waits = someone_waits(other)); i++)
		usleep(5 * 1000); /* well within the 1 s before the submit checks for deadlock */
	CHECKF(waits, "the submit never waited for the audit lock");

	/* The cycle: PostgreSQL ends the submit's attempt (40P01) and this one gets the row. */
	snprintf(sql, sizeof sql, "SELECT 1 FROM records WHERE id = '%s' FOR UPDATE", id);
	CHECKF(run(other, sql), "this side lost the deadlock instead");
	/* Meanwhile: three failed changes on search, and the first slot taken. */
	for (int i = 1; i <= 3; i++) {
		snprintf(sql, sizeof sql,
			 "INSERT INTO records (id, kind, workflow, workflow_version, state, data,"
			 " services, created_at, updated_at, state_entered_at) VALUES ('CHG-90%d',"
			 " 'change', 'change-normal', 'x', 'closed', '{\"result\": \"failed\"}',"
			 " '{search}', now(), now(), now())",
			 i);
		CHECK(run(other, sql));
	}
	stamp(day0 + 2 * HOUR_MS, false, a, sizeof a);
	stamp(day0 + 4 * HOUR_MS, false, b, sizeof b);
	snprintf(sql, sizeof sql,
		 "INSERT INTO bookings (change_id, service, during) VALUES ('CHG-901', 'search',"
		 " tstzrange('%s', '%s'))",
		 a, b);
	CHECK(run(other, sql));
	CHECK(run(other, "COMMIT"));
	pthread_join(t, NULL);
	PQfinish(other);

	r = s.reply;
	CHECKF(r->status == 200, "submit: %ld %s", r->status, r->body);
	json_t *sched = json_object_get(r->json, "schedule");
	CHECK_STR(json_string_value(json_object_get(sched, "status")) ?: "(none)", "proposed");
	stamp(day0 + DAY_MS + 2 * HOUR_MS, true, want, sizeof want);
	CHECK_STR(json_string_value(json_object_get(sched, "start")) ?: "(none)", want);
	CHECKF(has_factor(r->json, "poor-track-record"), "risk: %s",
	       json_dumps(json_object_get(r->json, "risk"), JSON_COMPACT));
	reply_free(r);
}

static void setup(void)
{
	char cmd[2048];
	snprintf(policies, sizeof policies, "%s/tx-retry-policies",
		 getenv("TRANSOM_TEST_TMP") ?: "/tmp");
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s/policies' '%s'", policies,
		 getenv("TRANSOM_TEST_ROOT") ?: ".", policies);
	if (system(cmd) != 0)
		exit(1);
	day0 = ((long long)time(NULL) * 1000 / DAY_MS + 3) * DAY_MS;
	write_file("windows.ics",
		   "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
		   "BEGIN:VEVENT\r\nUID:search-nightly@test\r\nDTSTAMP:20260101T000000Z\r\n"
		   "DTSTART:20260101T020000Z\r\nDURATION:PT2H\r\nRRULE:FREQ=DAILY\r\n"
		   "SUMMARY:Search nightly\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n"
		   "X-TRANSOM-SERVICES:search\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
	write_file("freezes.ics", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
				  "BEGIN:VEVENT\r\nUID:old@test\r\nDTSTAMP:20200101T000000Z\r\n"
				  "DTSTART;VALUE=DATE:20200101\r\nDTEND;VALUE=DATE:20200102\r\n"
				  "SUMMARY:Long gone\r\nCATEGORIES:FREEZE\r\n"
				  "X-TRANSOM-SERVICES:search\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
	snprintf(requester, sizeof requester, "%s", token_for("grossi", "requester"));
	if (!requester[0] || !server_start(&srv, NULL, policies, NULL)) {
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_a_retried_submit_recomputes_history_and_schedule)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	return rc;
}
