/*
 * test_fault_sqlstate.c -- store_error, the one map from a failed database call to the
 * API's error, against the real PostgreSQL: each SQLSTATE class gets its status, and the
 * server's text never reaches the error detail.
 */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/harness.h"
#include "store/store_int.h"

static struct store *open_store(void)
{
	struct store *st = store_new(getenv("TRANSOM_TEST_DATABASE_URL"), NULL);
	CHECK(st != NULL);
	return st;
}

/* Runs `sql` and maps its failure; returns the code and the detail in `err`. */
static enum tr_code fail(struct store *st, const char *sql, struct tr_error *err)
{
	enum db_status s = store_command(st, sql);
	CHECKF(s < 0, "%s succeeded", sql);
	return store_error(st, s, "t-1", err);
}

static void test_data_exceptions_are_400(void)
{
	struct store *st = open_store();
	struct tr_error e = {0};
	CHECK_INT(fail(st, "SELECT 'abc'::int", &e), TR_E_BAD_REQUEST); /* 22P02 */
	CHECK_STR(e.rule, "data");
	CHECK(strstr(e.detail, "abc") == NULL && strstr(e.detail, "ERROR") == NULL);
	CHECK_INT(fail(st, "SELECT 99999999999::int", &e), TR_E_BAD_REQUEST); /* 22003 */
	CHECK_INT(fail(st, "SELECT convert_from('\\xff'::bytea, 'UTF8')", &e),
		  TR_E_BAD_REQUEST); /* 22021 */
	CHECK_INT(store_ping(st), DB_ONE);
	store_free(st);
}

static void test_read_only_and_timeouts_are_503(void)
{
	struct store *st = open_store();
	struct tr_error e = {0};
	CHECK(store_command(st, "CREATE TABLE IF NOT EXISTS fault_t (x int)") >= 0);
	CHECK(store_command(st, "SET default_transaction_read_only = on") >= 0);
	CHECK_INT(fail(st, "INSERT INTO fault_t VALUES (1)", &e), TR_E_DB_READ_ONLY); /* 25006 */
	CHECK_INT(tr_code_http_status(e.code), 503);
	CHECK(store_command(st, "SET default_transaction_read_only = off") >= 0);

	CHECK(store_command(st, "SET statement_timeout = 100") >= 0);
	CHECK_INT(fail(st, "SELECT pg_sleep(2)", &e), TR_E_DB_TIMEOUT); /* 57014 */
	CHECK(store_command(st, "SET statement_timeout = 0") >= 0);

	PGconn *holder = PQconnectdb(getenv("TRANSOM_TEST_DATABASE_URL"));
	PQclear(PQexec(holder, "BEGIN"));
	PQclear(PQexec(holder, "LOCK TABLE fault_t IN ACCESS EXCLUSIVE MODE"));
	CHECK(store_command(st, "SET lock_timeout = 100") >= 0);
	CHECK_INT(fail(st, "SELECT * FROM fault_t", &e), TR_E_DB_TIMEOUT); /* 55P03 */
	CHECK_INT(tr_code_http_status(e.code), 503);
	PQclear(PQexec(holder, "COMMIT"));
	PQfinish(holder);
	CHECK_INT(store_ping(st), DB_ONE);
	store_free(st);
}

static void test_the_timeouts_set_on_a_store_apply_to_its_connections(void)
{
	struct store *st = open_store();
	struct tr_error e = {0};
	store_set_timeouts(st, 150, 0);
	CHECK_INT(fail(st, "SELECT pg_sleep(2)", &e), TR_E_DB_TIMEOUT);
	store_free(st);
}

static void test_other_failures_are_500_without_the_server_text(void)
{
	struct store *st = open_store();
	struct tr_error e = {0};
	CHECK_INT(fail(st, "SELECT * FROM no_such_table_xyz", &e), TR_E_INTERNAL); /* 42P01 */
	CHECK(strstr(e.detail, "no_such_table_xyz") == NULL);
	CHECK_INT(store_error(st, DB_DOWN, NULL, &e), TR_E_DB_UNAVAILABLE);
	CHECK_INT(store_error(st, DB_SOFT, NULL, &e), TR_E_DB_CONFLICT);
	store_free(st);
}

TESTS(test_data_exceptions_are_400, test_read_only_and_timeouts_are_503,
      test_the_timeouts_set_on_a_store_apply_to_its_connections,
      test_other_failures_are_500_without_the_server_text)
