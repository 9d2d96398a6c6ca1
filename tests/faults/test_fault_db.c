/*
 * test_fault_db.c -- transomd when the database misbehaves: read-only (as after a
 * failover to a standby), a table lock held by someone else, and PostgreSQL restarted
 * (fast and immediate) under a write load.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "fault_steps.h"

static struct server srv;
static char admin[128];

static const char incident[] = "{\"title\": \"Checkout errors\", \"service\": \"payments\", "
			       "\"priority\": \"P2\"}";

static bool start(void)
{
	static bool up;
	if (!up) {
		curl_global_init(CURL_GLOBAL_ALL);
		const char *env[] = {"TRANSOM_LOCK_TIMEOUT_MS=1000", NULL};
		up = server_start(&srv, NULL, NULL, env);
		snprintf(admin, sizeof admin, "%s", token_for("admin", "admin"));
	}
	return up;
}

static void test_read_only_database_is_503_and_not_ready(void)
{
	PGconn *c = start() ? db_open() : NULL;
	if (c == NULL)
		return;
	db_run(c, "ALTER SYSTEM SET default_transaction_read_only = on");
	db_run(c, "SELECT pg_reload_conf()");
	usleep(300 * 1000);
	struct reply *r = request(&srv, "POST", "/v1/incidents", admin, incident, NULL);
	CHECKF(r->status == 503, "write on a read-only database: %ld %s", r->status,
	       r->body ? r->body : "");
	CHECK(reply_header(r, "Retry-After") != NULL);
	CHECK(strstr(reply_str(r, "type"), "database-read-only") != NULL);
	CHECK(strstr(r->body ? r->body : "", "ERROR") == NULL);
	reply_free(r);
	double secs;
	struct reply *ready;
	long st = timed(&srv, "GET", "/readyz", NULL, NULL, &secs, &ready);
	CHECKF(st == 503, "readyz on a read-only database: %ld", st);
	CHECK(json_is_false(json_object_get(ready->json, "ready")));
	CHECK(reply_header(ready, "Retry-After") != NULL);
	CHECKF(secs < 1.5, "readyz took %.2f s", secs);
	reply_free(ready);
	/* reads still work; liveness stays green */
	CHECK_INT(timed(&srv, "GET", "/v1/incidents", admin, NULL, &secs, NULL), 200);
	CHECK_INT(timed(&srv, "GET", "/healthz", NULL, NULL, &secs, NULL), 200);

	db_run(c, "ALTER SYSTEM RESET default_transaction_read_only");
	db_run(c, "SELECT pg_reload_conf()");
	usleep(300 * 1000);
	CHECK_INT(timed(&srv, "GET", "/readyz", NULL, NULL, &secs, NULL), 200);
	r = request(&srv, "POST", "/v1/incidents", admin, incident, NULL);
	CHECK_INT(r->status, 201);
	reply_free(r);
	PQfinish(c);
}

struct blocked {
	pthread_t thread;
	char path[128];
	long status;
	double secs;
	char type[128];
	bool retry_after;
};

static void *blocked_request(void *arg)
{
	struct blocked *b = arg;
	struct reply *r;
	b->status = timed(&srv, "GET", b->path, admin, NULL, &b->secs, &r);
	snprintf(b->type, sizeof b->type, "%s", reply_str(r, "type"));
	char ra[32];
	b->retry_after = header_copy(r, "Retry-After", ra, sizeof ra);
	reply_free(r);
	return NULL;
}

static void test_a_held_lock_leaves_liveness_green_and_times_requests_out(void)
{
	char inc[64];
	PGconn *c = start() ? db_open() : NULL;
	if (c == NULL)
		return;
	struct reply *r = request(&srv, "POST", "/v1/incidents", admin, incident, NULL);
	CHECK_INT(r->status, 201);
	snprintf(inc, sizeof inc, "%s", reply_header(r, "Location") ?: "/v1/incidents/INC-1");
	reply_free(r);

	db_run(c, "BEGIN");
	db_run(c, "LOCK TABLE records IN ACCESS EXCLUSIVE MODE");
	/* more requests than there are workers, all waiting on the lock */
	struct blocked b[8];
	for (int i = 0; i < 8; i++) {
		memset(&b[i], 0, sizeof b[i]);
		snprintf(b[i].path, sizeof b[i].path, "%s", i % 2 ? inc : "/v1/incidents");
		pthread_create(&b[i].thread, NULL, blocked_request, &b[i]);
	}
	usleep(200 * 1000);
	double secs;
	for (int i = 0; i < 3; i++) {
		CHECK_INT(timed(&srv, "GET", "/healthz", NULL, NULL, &secs, NULL), 200);
		CHECKF(secs < 1.0, "/healthz took %.2f s under a held lock", secs);
		CHECK_INT(timed(&srv, "GET", "/metrics", NULL, NULL, &secs, NULL), 200);
		CHECKF(secs < 1.0, "/metrics took %.2f s under a held lock", secs);
		long st = timed(&srv, "GET", "/readyz", NULL, NULL, &secs, NULL);
		CHECKF(st == 200 || st == 503, "/readyz: %ld", st);
		CHECKF(secs < 1.5, "/readyz took %.2f s under a held lock", secs);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(b[i].thread, NULL);
	db_run(c, "COMMIT");
	for (int i = 0; i < 8; i++) {
		CHECKF(b[i].status == 503, "%s under a held lock: %ld", b[i].path, b[i].status);
		CHECK(strstr(b[i].type, "database-timeout") != NULL);
		CHECK(b[i].retry_after);
		/* lock_timeout is 1 s here; 8 requests on 4 workers: two rounds at most */
		CHECKF(b[i].secs < 5.0, "%s took %.2f s", b[i].path, b[i].secs);
	}
	CHECK_INT(timed(&srv, "GET", inc, admin, NULL, &secs, NULL), 200);
	PQfinish(c);
}

static void *stalled_request(void *arg)
{
	return blocked_request(arg);
}

static void test_a_stalled_database_is_not_ready_within_a_second(void)
{
	if (!start())
		return;
	double secs;
	CHECK_INT(timed(&srv, "GET", "/readyz", NULL, NULL, &secs, NULL), 200);
	CHECK(pg_signal_all(SIGSTOP) > 1);
	/* requests pile up on the frozen database; liveness and readiness still answer */
	struct blocked b[6];
	for (int i = 0; i < 6; i++) {
		memset(&b[i], 0, sizeof b[i]);
		snprintf(b[i].path, sizeof b[i].path, "/v1/incidents");
		pthread_create(&b[i].thread, NULL, stalled_request, &b[i]);
	}
	usleep(300 * 1000);
	for (int i = 0; i < 3; i++) {
		struct reply *r;
		long st = timed(&srv, "GET", "/readyz", NULL, NULL, &secs, &r);
		CHECKF(st == 503 && secs < 1.6, "/readyz on a stalled database: %ld after %.2f s",
		       st, secs);
		CHECK(json_is_false(json_object_get(r->json, "ready")));
		reply_free(r);
		CHECK_INT(timed(&srv, "GET", "/healthz", NULL, NULL, &secs, NULL), 200);
		CHECKF(secs < 1.0, "/healthz took %.2f s on a stalled database", secs);
	}
	CHECK(pg_signal_all(SIGCONT) > 1);
	for (int i = 0; i < 6; i++)
		pthread_join(b[i].thread, NULL);
	for (int i = 0; i < 6; i++) /* answered once the database woke: not lost, not 500 */
		CHECKF(b[i].status == 200 || b[i].status == 503, "%s: %ld", b[i].path, b[i].status);
	long st = 0;
	for (int i = 0; i < 20 && st != 200; i++) { /* ready again within a few seconds */
		st = timed(&srv, "GET", "/readyz", NULL, NULL, &secs, NULL);
		if (st != 200)
			usleep(250 * 1000);
	}
	CHECK_INT(st, 200);
}

/* ---- PostgreSQL restarted under a write load -------------------------------------------- */

#define WRITERS   4
#define MAX_ACKED 20000

struct writer {
	pthread_t thread;
	atomic_bool *stop;
	char (*acked)[32]; /* ids of acknowledged creations */
	unsigned nacked;
	unsigned failed, other;
	int n;
};

static void *write_loop(void *arg)
{
	struct writer *w = arg;
	char body[256];
	for (unsigned i = 0; !atomic_load(w->stop) && w->nacked < MAX_ACKED / WRITERS; i++) {
		snprintf(body, sizeof body,
			 "{\"title\": \"load %d-%u\", \"service\": \"payments\", \"priority\": "
			 "\"P3\"}",
			 w->n, i);
		struct reply *r = request(&srv, "POST", "/v1/incidents", admin, body, NULL);
		char loc[128];
		if (r->status == 201 && header_copy(r, "Location", loc, sizeof loc) &&
		    strrchr(loc, '/') != NULL)
			snprintf(w->acked[w->nacked++], 32, "%s", strrchr(loc, '/') + 1);
		else if (r->status == 503)
			w->failed++;
		else
			w->other++;
		reply_free(r);
	}
	return NULL;
}

static void test_restarts_under_load_lose_no_acknowledged_write(void)
{
	if (!start())
		return;
	atomic_bool stop = false;
	struct writer w[WRITERS];
	for (int i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){.stop = &stop, .n = i};
		w[i].acked = calloc(MAX_ACKED / WRITERS, 32);
		pthread_create(&w[i].thread, NULL, write_loop, &w[i]);
	}
	sleep(1);
	CHECK_INT(pg_restart("fast"), 0);
	sleep(1);
	CHECK_INT(pg_restart("immediate"), 0);
	sleep(2);
	atomic_store(&stop, true);
	unsigned acked = 0, failed = 0, other = 0;
	for (int i = 0; i < WRITERS; i++) {
		pthread_join(w[i].thread, NULL);
		acked += w[i].nacked;
		failed += w[i].failed;
		other += w[i].other;
	}
	fprintf(stderr, "  %u writes acknowledged, %u refused with 503 during the restarts\n",
		acked, failed);
	CHECK(acked > 20);
	CHECKF(other == 0, "%u replies neither 201 nor 503", other);
	/* every acknowledged write is there, through the API and in the table */
	PGconn *c = db_open();
	unsigned missing = 0;
	for (int i = 0; c != NULL && i < WRITERS; i++) {
		for (unsigned k = 0; k < w[i].nacked; k++) {
			const char *p[] = {w[i].acked[k]};
			PGresult *r = PQexecParams(c, "SELECT 1 FROM records WHERE id = $1", 1,
						   NULL, p, NULL, NULL, 0);
			if (PQntuples(r) != 1) {
				missing++;
				fprintf(stderr, "  lost: %s\n", w[i].acked[k]);
			}
			PQclear(r);
		}
	}
	CHECKF(missing == 0, "%u of %u acknowledged writes lost", missing, acked);
	char path[64];
	snprintf(path, sizeof path, "/v1/incidents/%s", w[0].nacked ? w[0].acked[0] : "INC-1");
	double secs;
	CHECK_INT(timed(&srv, "GET", path, admin, NULL, &secs, NULL), 200);
	for (int i = 0; i < WRITERS; i++)
		free(w[i].acked);
	if (c != NULL)
		PQfinish(c);
}

static void test_the_server_stops_cleanly(void)
{
	if (start())
		CHECK_INT(server_stop(&srv, 20, NULL), 0);
}

TESTS(test_read_only_database_is_503_and_not_ready,
      test_a_held_lock_leaves_liveness_green_and_times_requests_out,
      test_a_stalled_database_is_not_ready_within_a_second,
      test_restarts_under_load_lose_no_acknowledged_write, test_the_server_stops_cleanly)
