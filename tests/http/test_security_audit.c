/*
 * test_security_audit.c -- an audit trail the service itself cannot rewrite (issue 11.4):
 * transomd serves as a role that owns nothing and may only INSERT and SELECT the audit
 * trail; signed checkpoints anchor the chain outside the database, so a history
 * rewritten and re-chained with the owner's login fails offline verification, naming
 * the first rewritten event, while an untouched history verifies.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "audit/checkpoint.h"
#include "lib_http.h"

static struct server srv;
static char alice[128], admin[128];

static PGconn *connect_as(const char *env)
{
	const char *url = getenv(env);
	PGconn *c = PQconnectdb(url ? url : "dbname=nonexistent-set-by-tests-run-sh");
	CHECKF(PQstatus(c) == CONNECTION_OK, "%s: %s", env, PQerrorMessage(c));
	return c;
}

/* Runs `sql`; returns its SQLSTATE ("" on success) in a static buffer. */
static const char *sqlstate_of(PGconn *c, const char *sql)
{
	static char state[8];
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	snprintf(state, sizeof state, "%s",
		 st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? ""
		 : s                                             ? s
								 : "?????");
	PQclear(r);
	return state;
}

/* The single value of `sql` (static; "" on error). */
static const char *value_of(PGconn *c, const char *sql)
{
	static char v[4096];
	PGresult *r = PQexec(c, sql);
	snprintf(v, sizeof v, "%s",
		 PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0)
									   : "");
	PQclear(r);
	return v;
}

static void create_changes(int n)
{
	for (int i = 0; i < n; i++) {
		char body[256];
		snprintf(body, sizeof body,
			 "{\"title\": \"anchored %d\", \"type\": \"normal\", \"services\": "
			 "[\"payments\"], \"duration\": \"PT1H\"}",
			 i);
		struct reply *r = request(&srv, "POST", "/v1/changes", alice, body, NULL);
		CHECK_INT(r->status, 201);
		reply_free(r);
	}
}

static long long audit_events(void)
{
	struct reply *r = request(&srv, "GET", "/v1/audit/verify", admin, NULL, NULL);
	long long n = json_integer_value(json_object_get(r->json, "events"));
	reply_free(r);
	return n;
}

/* The last line of the checkpoint file, parsed into *c; false when there is none. */
static bool last_checkpoint(struct audit_checkpoint *c)
{
	FILE *f = fopen(getenv("TRANSOM_TEST_CHECKPOINTS") ?: "", "r");
	char *line = NULL, *last = NULL, why[128];
	size_t cap = 0;
	if (f == NULL)
		return false;
	while (getline(&line, &cap, f) > 0) {
		free(last);
		last = strdup(line);
	}
	free(line);
	fclose(f);
	bool ok = last != NULL && audit_checkpoint_parse(last, c, why, sizeof why);
	CHECKF(last == NULL || ok, "bad checkpoint line: %s", why);
	free(last);
	return ok;
}

/* Waits up to 15 s for a checkpoint whose head is event `seq`. */
static bool wait_checkpoint(long long seq, struct audit_checkpoint *c)
{
	for (int i = 0; i < 150; i++) {
		if (last_checkpoint(c)) {
			if (c->seq == seq)
				return true;
			audit_checkpoint_clear(c);
		}
		usleep(100 * 1000);
	}
	return false;
}

/* `transomd audit ARGS...` (NULL-ended); stdout (owned) and the exit status. */
static char *audit_cli(int *status, const char *a1, const char *a2, const char *a3, const char *a4,
		       const char *a5)
{
	const char *args[] = {"audit", a1, a2, a3, a4, a5, NULL};
	char *out = transomd_run(status, args);
	return out ? out : strdup("");
}

static void test_server_connects_as_an_unprivileged_role(void)
{
	create_changes(1); /* the workers have connected */
	PGconn *own = connect_as("TRANSOM_TEST_DATABASE_URL");
	const char *who = value_of(
		own, "SELECT string_agg(DISTINCT a.usename || ':' || r.rolsuper::text, ',')"
		     " FROM pg_stat_activity a JOIN pg_roles r ON r.rolname = a.usename"
		     " WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
		     " AND a.backend_type = 'client backend'");
	CHECK_STR(who, "transom_app:false");
	CHECK_STR(value_of(own, "SELECT count(*) FROM pg_class c JOIN pg_roles r"
				" ON r.oid = c.relowner WHERE r.rolname = 'transom_app'"),
		  "0");
	PQfinish(own);
}

static void test_serving_role_cannot_rewrite_the_audit_trail(void)
{
	create_changes(2);
	PGconn *app = connect_as("TRANSOM_TEST_SERVE_DATABASE_URL");
	CHECK_STR(value_of(app, "SELECT current_user"), "transom_app");
	CHECK(atoll(value_of(app, "SELECT count(*) FROM audit_events")) >= 2); /* it may read */
	static const char *const refused[] = {
		"UPDATE audit_events SET actor = 'mallory' WHERE seq = 1",
		"DELETE FROM audit_events WHERE seq = 1",
		"TRUNCATE audit_events",
		"ALTER TABLE audit_events DISABLE TRIGGER USER",
		"ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update",
		"DROP TRIGGER audit_events_no_update ON audit_events",
		"SET session_replication_role = replica", /* would skip every trigger */
		"DELETE FROM audit_head",
		"UPDATE schema_version SET name = 'x'",
		"COPY (SELECT 1) TO PROGRAM 'true'",
		"CREATE TABLE sneaky (x int)",
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		CHECKF(strcmp(sqlstate_of(app, refused[i]), "42501") == 0, "%s: SQLSTATE '%s'",
		       refused[i], sqlstate_of(app, refused[i]));
	PQfinish(app);
}

static void test_rewritten_history_fails_offline_verification(void)
{
	struct audit_checkpoint c;
	int status;
	create_changes(3);
	long long head = audit_events();
	CHECK(head >= 5);
	CHECKF(wait_checkpoint(head, &c), "no checkpoint of event %lld in %s", head,
	       getenv("TRANSOM_TEST_CHECKPOINTS") ?: "");
	audit_checkpoint_clear(&c);

	/* `audit key` prints the key the checkpoints verify with. */
	char *pub = audit_cli(&status, "key", NULL, NULL, NULL, NULL);
	CHECK_INT(status, 0);
	pub[strcspn(pub, "\n")] = '\0';
	CHECK(strncmp(pub, "ed25519:", 8) == 0);
	CHECK(last_checkpoint(&c));
	CHECK(audit_checkpoint_verify(&c, pub));
	CHECK_STR(c.key, pub);
	/* The outbox carries the same checkpoint (webhook topic audit.checkpoint). */
	PGconn *own = connect_as("TRANSOM_TEST_DATABASE_URL");
	CHECK_STR(value_of(own, "SELECT payload->>'sig' FROM outbox WHERE topic ="
				" 'audit.checkpoint' ORDER BY id DESC LIMIT 1"),
		  c.sig);
	audit_checkpoint_clear(&c);

	/* The untouched history verifies; a key other than the signer's does not. */
	const char *file = getenv("TRANSOM_TEST_CHECKPOINTS");
	char *out = audit_cli(&status, "verify", "--checkpoints", file, "--key", pub);
	CHECKF(status == 0 && strncmp(out, "ok:", 3) == 0, "status %d: %s", status, out);
	free(out);
	char other[1200];
	snprintf(other, sizeof other, "%s/other.key", getenv("TRANSOM_TEST_TMP") ?: "/tmp");
	unlink(other);
	char *opub = audit_cli(&status, "keygen", other, NULL, NULL, NULL);
	opub[strcspn(opub, "\n")] = '\0';
	out = audit_cli(&status, "verify", "--checkpoints", file, "--key", opub);
	CHECKF(status == 1 && strstr(out, "signature does not verify"), "status %d: %s", status,
	       out);
	free(out);
	free(opub);

	/* The owner rewrites event 2, disables the guard and re-chains everything after. */
	CHECK_STR(sqlstate_of(own,
			      "BEGIN;"
			      " ALTER TABLE audit_events DISABLE TRIGGER USER;"
			      " UPDATE audit_events SET content = replace(content, '\"alice\"',"
			      "  '\"mallory\"'), actor = 'mallory' WHERE seq = 2;"
			      " DO $$ DECLARE r record; prev text := repeat('0', 64); BEGIN"
			      "  FOR r IN SELECT seq, content FROM audit_events ORDER BY seq LOOP"
			      "   UPDATE audit_events SET prev_hash = prev, hash = encode(sha256("
			      "    convert_to(prev || r.content, 'UTF8')), 'hex') WHERE seq = r.seq"
			      "    RETURNING hash INTO prev;"
			      "  END LOOP;"
			      "  UPDATE audit_head SET hash = prev WHERE id = 1;"
			      " END $$;"
			      " ALTER TABLE audit_events ENABLE TRIGGER USER;"
			      " COMMIT"),
		  "");
	CHECK_STR(value_of(own, "SELECT actor FROM audit_events WHERE seq = 2"), "mallory");
	/* The database's own check is fooled: the chain is consistent again... */
	struct reply *r = request(&srv, "GET", "/v1/audit/verify", admin, NULL, NULL);
	CHECKF(json_is_true(json_object_get(r->json, "ok")), "%s", r->body ?: "");
	reply_free(r);
	/* ...the checkpoints are not, and name the first rewritten event. */
	out = audit_cli(&status, "verify", "--checkpoints", file, "--key", pub);
	CHECKF(status == 1 && strncmp(out, "FAILED: event 2:", 16) == 0, "status %d: %s", status,
	       out);
	free(out);

	/* Cutting the history short (the last events deleted, the head moved back) fails too. */
	char sql[512];
	snprintf(sql, sizeof sql,
		 "BEGIN; ALTER TABLE audit_events DISABLE TRIGGER USER;"
		 " DELETE FROM audit_events WHERE seq >= 1;"
		 " UPDATE audit_head SET seq = 0, hash = repeat('0', 64);"
		 " ALTER TABLE audit_events ENABLE TRIGGER USER; COMMIT");
	CHECK_STR(sqlstate_of(own, sql), "");
	out = audit_cli(&status, "verify", "--checkpoints", file, "--key", pub);
	CHECKF(status == 1 && strncmp(out, "FAILED: event 1: missing", 24) == 0, "status %d: %s",
	       status, out);
	free(out);
	free(pub);
	PQfinish(own);
}

static void test_verify_usage_errors(void)
{
	int status;
	char *out = audit_cli(&status, "verify", NULL, NULL, NULL, NULL);
	CHECK_INT(status, 2);
	free(out);
	out = audit_cli(&status, "verify", "--checkpoints", "/nonexistent", "--key",
			"ed25519:AAAA");
	CHECK_INT(status, 1);
	free(out);
}

static void setup(void)
{
	static const char *const env[] = {"TRANSOM_AUDIT_CHECKPOINT_INTERVAL=1", NULL};
	snprintf(alice, sizeof alice, "%s", token_for("alice", "requester"));
	snprintf(admin, sizeof admin, "%s", token_for("root", "admin"));
	if (!alice[0] || !server_start(&srv, NULL, NULL, env)) {
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_server_connects_as_an_unprivileged_role,
      test_serving_role_cannot_rewrite_the_audit_trail,
      test_rewritten_history_fails_offline_verification, test_verify_usage_errors)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	return rc;
}
