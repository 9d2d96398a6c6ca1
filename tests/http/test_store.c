/*
 * test_store.c -- the store's pipelined round trips against the real PostgreSQL: a
 * failing statement in the middle of a queue fails the transaction as a whole, leaves
 * nothing behind, names the SQLSTATE, and the connection stays usable; a read queued
 * with the writes (store_queue_text) answers with the COMMIT, after the writes before
 * it, and not at all when the transaction fails.
 */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/harness.h"
#include "store/store_int.h"

static const struct store_stmt add_user = {"test_add_user", "INSERT INTO users (name) VALUES ($1)",
					   1};
static const struct store_stmt count_users = {
	"test_count_users", "SELECT count(*) FROM users WHERE name LIKE 'pipe-%'", 0};
static const struct store_stmt names_like = {
	"test_names_like",
	"SELECT string_agg(name, ',' ORDER BY name) FROM users WHERE name LIKE $1", 1};

struct job {
	const char *names[3];
};

static enum db_status queue_three(struct store *st, void *cls)
{
	struct job *j = cls;
	for (int i = 0; i < 3; i++) {
		const char *p[] = {j->names[i]};
		enum db_status s = store_queue(st, &add_user, p);
		if (s < 0)
			return s;
	}
	return DB_ONE; /* the queue goes out with COMMIT */
}

static long users(struct store *st)
{
	PGresult *res;
	enum db_status s = store_exec(st, &count_users, NULL, &res);
	if (s != DB_ONE)
		return -1;
	long n = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return n;
}

static void test_a_failure_mid_queue_rolls_back_everything(void)
{
	struct store *st = store_new(getenv("TRANSOM_TEST_DATABASE_URL"), NULL);
	CHECK(st != NULL);
	CHECK_INT(store_migrate(st) >= 0, 1);
	/* the users table refuses names with spaces (a CHECK constraint) */
	struct job bad = {{"pipe-a", "pipe b", "pipe-c"}};
	CHECK_INT(store_tx(st, STORE_READ_COMMITTED, 0, queue_three, &bad), DB_HARD);
	CHECK_STR(store_last_sqlstate(st), "23514");
	CHECK_INT(users(st), 0); /* pipe-a did not survive its transaction */
	struct job good = {{"pipe-a", "pipe-b", "pipe-c"}};
	CHECK_INT(store_tx(st, STORE_READ_COMMITTED, 0, queue_three, &good), DB_ONE);
	CHECK_INT(users(st), 3); /* and the same connection goes on */
	/* a duplicate: the unique key refuses it; the rest of the queue is dropped */
	struct job dup = {{"pipe-d", "pipe-a", "pipe-e"}};
	CHECK_INT(store_tx(st, STORE_READ_COMMITTED, 0, queue_three, &dup), DB_HARD);
	CHECK_STR(store_last_sqlstate(st), "23505");
	CHECK_INT(users(st), 3);
	CHECK_INT(store_ping(st), DB_ONE);
	store_free(st);
}

/* Two names written, then the names read, then (when `bad`) a name the table refuses. */
struct read_job {
	const char *names[2];
	bool bad;
	char *seen; /* store_queue_text's answer */
	unsigned long trips_before_commit;
};

static enum db_status write_then_read(struct store *st, void *cls)
{
	struct read_job *j = cls;
	for (int i = 0; i < 2; i++) {
		const char *p[] = {j->names[i]};
		enum db_status s = store_queue(st, &add_user, p);
		if (s < 0)
			return s;
	}
	const char *p[] = {"read-%"};
	enum db_status s = store_queue_text(st, &names_like, p, &j->seen);
	if (s >= 0 && j->bad) {
		const char *q[] = {"read bad"}; /* a space: the CHECK constraint refuses it */
		s = store_queue(st, &add_user, q);
	}
	j->trips_before_commit = store_round_trips(st);
	return s < 0 ? s : j->seen == NULL ? DB_ONE : DB_HARD; /* nothing before the COMMIT */
}

static void test_a_queued_read_answers_with_the_commit(void)
{
	struct store *st = store_new(getenv("TRANSOM_TEST_DATABASE_URL"), NULL);
	CHECK(st != NULL);
	CHECK_INT(store_migrate(st) >= 0, 1);
	unsigned long before = store_round_trips(st);
	struct read_job ok = {{"read-b", "read-a"}, false, NULL, 0};
	CHECK_INT(store_tx(st, STORE_READ_COMMITTED, 0, write_then_read, &ok), DB_ONE);
	/* BEGIN, the writes, the read and COMMIT: one round trip, nothing sent before it */
	CHECK_INT(ok.trips_before_commit, before);
	CHECK_INT(store_round_trips(st), before + 1);
	CHECK_STR(ok.seen, "read-a,read-b"); /* the writes queued before it are seen */
	free(ok.seen);

	/* A statement after the read fails: the read's answer is dropped with the rest. */
	struct read_job bad = {{"read-c", "read-d"}, true, NULL, 0};
	CHECK_INT(store_tx(st, STORE_READ_COMMITTED, 0, write_then_read, &bad), DB_HARD);
	CHECK_STR(store_last_sqlstate(st), "23514");
	CHECK(bad.seen == NULL);
	free(bad.seen);
	PGresult *res;
	const char *p[] = {"read-%"};
	CHECK_INT(store_exec(st, &names_like, p, &res), DB_ONE);
	if (res != NULL) {
		CHECK_STR(PQgetvalue(res, 0, 0), "read-a,read-b");
		PQclear(res);
	}
	store_free(st);
}

TESTS(test_a_failure_mid_queue_rolls_back_everything, test_a_queued_read_answers_with_the_commit)
