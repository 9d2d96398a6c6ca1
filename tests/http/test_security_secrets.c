/*
 * test_security_secrets.c -- issue 11 item 10 (third part): webhook signing secrets are
 * kept sealed (AES-256-GCM, crypto/seal.h) under the key of TRANSOM_SECRET_KEY_FILE, not
 * in plain text; a plain secret left from before migration 0013 is sealed at start-up;
 * deliveries are still signed with the real secret (the receiver,
 * tests/http/webhooks/receiver.py, verifies X-Transom-Signature as the README shows).
 * Mail agent tokens: only hashes are kept (test_security_mail checks it with the
 * addresses it receives).
 */
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "lib_http.h"

static struct server srv;
#include "record_steps.h"

#define SECRET1 "whsec-test-sealed-0123456789"
#define LEGACY  "legacy-plain-secret-4242"

static char alice[128], rx_log[512];
static int rx_port;
static pid_t rx_pid;
static const char *const env[] = {"TRANSOM_TIMER_INTERVAL=50", "TRANSOM_WEBHOOK_BACKOFF_MS=200",
				  "TRANSOM_WEBHOOK_ALLOW_NETS=127.0.0.0/8", NULL};

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool rx_start(void)
{
	char dir[300], portfile[400], script[1200];
	snprintf(dir, sizeof dir, "%s/secrets.%ld", getenv("TRANSOM_TEST_TMP") ?: "/tmp",
		 (long)getpid());
	mkdir(dir, 0700);
	snprintf(portfile, sizeof portfile, "%s/port", dir);
	snprintf(rx_log, sizeof rx_log, "%s/requests.jsonl", dir);
	snprintf(script, sizeof script, "%s/tests/http/webhooks/receiver.py",
		 getenv("TRANSOM_TEST_ROOT") ?: ".");
	fflush(NULL);
	rx_pid = fork();
	if (rx_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl("/usr/bin/python3", "python3", script, portfile, rx_log, (char *)NULL);
		_exit(127);
	}
	for (long long end = mono_ms() + 10000; mono_ms() < end; usleep(20000)) {
		FILE *f = fopen(portfile, "r");
		if (f != NULL) {
			if (fscanf(f, "%d", &rx_port) != 1)
				rx_port = 0;
			fclose(f);
			if (rx_port > 0)
				return true;
		}
	}
	return false;
}

/* Requests to /`name` with a signature that verified (sig_ok true), waiting up to `ms`. */
static int signed_ok(const char *name, long long ms)
{
	for (long long end = mono_ms() + ms;; usleep(100000)) {
		int n = 0;
		FILE *f = fopen(rx_log, "r");
		char line[65536];
		while (f != NULL && fgets(line, sizeof line, f) != NULL) {
			json_t *j = json_loads(line, 0, NULL);
			if (strcmp(json_string_value(json_object_get(j, "name")) ?: "", name) ==
				    0 &&
			    json_is_true(json_object_get(j, "sig_ok")))
				n++;
			json_decref(j);
		}
		if (f != NULL)
			fclose(f);
		if (n > 0 || mono_ms() > end)
			return n;
	}
}

/* One row of `sql` (one parameter): owned JSON array of its columns (null for NULL). */
static json_t *row(const char *sql, const char *param)
{
	PGconn *c = PQconnectdb(getenv("TRANSOM_TEST_DATABASE_URL"));
	json_t *out = NULL;
	if (PQstatus(c) == CONNECTION_OK) {
		const char *p[] = {param};
		PGresult *r = PQexecParams(c, sql, param ? 1 : 0, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
			out = json_array();
			for (int i = 0; i < PQnfields(r); i++)
				json_array_append_new(out,
						      PQgetisnull(r, 0, i)
							      ? json_null()
							      : json_string(PQgetvalue(r, 0, i)));
		} else if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			fprintf(stderr, "  sql: %s", PQerrorMessage(c));
		} else {
			out = json_array();
		}
		PQclear(r);
	}
	PQfinish(c);
	return out;
}

static long long subscribe(const char *name, const char *secret)
{
	char body[512];
	snprintf(body, sizeof body,
		 "{\"url\": \"http://127.0.0.1:%d/%s?secret=%s\", \"events\": [\"record.created\"],"
		 " \"secret\": \"%s\"}",
		 rx_port, name, secret, secret);
	struct reply *r = post("/v1/webhooks", alice, body);
	CHECKF(r->status == 201, "subscribe: %ld %s", r->status, body_of(r));
	long long id = json_integer_value(json_object_get(r->json, "id"));
	reply_free(r);
	return id;
}

static void new_change(void)
{
	struct reply *r = post("/v1/changes", alice,
			       "{\"title\": \"Rotate the certs\", \"type\": \"normal\","
			       " \"services\": [\"web-frontend\"], \"duration\": \"PT1H\"}");
	CHECKF(r->status == 201, "change: %ld %s", r->status, body_of(r));
	reply_free(r);
}

/* The stored secret columns of webhook `id` must hold no trace of `plain`. */
static void check_sealed(long long id, const char *plain)
{
	char ids[24], hex[256];
	snprintf(ids, sizeof ids, "%lld", id);
	for (size_t i = 0; plain[i] && i < 100; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)plain[i]);
	json_t *r = row("SELECT secret, secret_enc FROM webhooks WHERE id = $1::bigint", ids);
	CHECK(r != NULL && json_array_size(r) == 2);
	const char *enc = json_string_value(json_array_get(r, 1));
	CHECKF(json_is_null(json_array_get(r, 0)), "plain secret kept: %s",
	       json_string_value(json_array_get(r, 0)));
	CHECKF(enc && strncmp(enc, "v1:", 3) == 0 && !strstr(enc, plain) && !strstr(enc, hex),
	       "secret_enc: %s", enc ? enc : "(null)");
	json_decref(r);
}

static void test_new_secret_is_sealed_and_still_signs(void)
{
	long long id = subscribe("sealed", SECRET1);
	check_sealed(id, SECRET1);
	/* Nowhere else in the row either (but the URL, where this test's receiver reads it). */
	char ids[24];
	snprintf(ids, sizeof ids, "%lld", id);
	json_t *r = row("SELECT count(*) FROM webhooks w WHERE id = $1::bigint AND "
			"(to_jsonb(w) - 'url')::text LIKE '%" SECRET1 "%'",
			ids);
	CHECK_STR(json_string_value(json_array_get(r, 0)), "0");
	json_decref(r);
	new_change();
	CHECK(signed_ok("sealed", 10000) > 0);
}

static void test_plain_secret_from_before_is_sealed_at_start(void)
{
	long long id = subscribe("legacy", LEGACY);
	char ids[24];
	snprintf(ids, sizeof ids, "%lld", id);
	/* As migration 0013 leaves a secret stored before it: plain, nothing sealed. */
	json_t *r = row("UPDATE webhooks SET secret = '" LEGACY "', secret_enc = NULL "
			"WHERE id = $1::bigint",
			ids);
	CHECK(r != NULL);
	json_decref(r);
	CHECK(server_stop(&srv, 10, NULL) == 0);
	CHECK(server_start(&srv, NULL, NULL, env));
	check_sealed(id, LEGACY);
	new_change();
	CHECK(signed_ok("legacy", 10000) > 0);
}

static void test_key_file_is_private(void)
{
	struct stat sb;
	const char *path = getenv("TRANSOM_TEST_TMP");
	char key[600];
	snprintf(key, sizeof key, "%s/secret.key", path ? path : "/tmp");
	CHECK(stat(key, &sb) == 0 && (sb.st_mode & 077) == 0);
}

static void setup(void)
{
	snprintf(alice, sizeof alice, "%s", token_for("alice", "requester,change_manager"));
	if (!alice[0] || !rx_start() || !server_start(&srv, NULL, NULL, env)) {
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_new_secret_is_sealed_and_still_signs, test_plain_secret_from_before_is_sealed_at_start,
      test_key_file_is_private)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	kill(rx_pid, SIGTERM);
	waitpid(rx_pid, NULL, 0);
	return rc;
}
