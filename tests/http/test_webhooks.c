/*
 * test_webhooks.c -- webhook subscriptions and deliveries against the real transomd and a
 * local receiver (tests/http/webhooks/receiver.py, which logs every request it gets and
 * fails or holds the first ones on demand): validation and ownership, the signed request,
 * event filters, retries with growing intervals, dead deliveries and replay, nothing sent
 * for a write that did not commit, unsubscribing, and a transomd killed mid-delivery.
 *
 * The server runs with small settings (backoff 200 ms, 4 attempts, 1 s request timeout)
 * so the suite stays quick.
 */
#include <libpq-fe.h>
#include <pthread.h>
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
#include "crypto/crypto.h"
#include "lib_http.h"

static struct server srv;
#include "record_steps.h"

static char alice[128], manager[128], other[128], pipeline[128], cab[128], admin[128];

#define BACKOFF_MS   200
#define MAX_ATTEMPTS 4
static const char *const server_env[] = {
	"TRANSOM_TIMER_INTERVAL=50", "TRANSOM_WEBHOOK_BACKOFF_MS=200",
	"TRANSOM_WEBHOOK_MAX_ATTEMPTS=4", "TRANSOM_WEBHOOK_TIMEOUT=1000",
	/* The receiver listens on loopback: allowed explicitly (SSRF guard). */
	"TRANSOM_WEBHOOK_ALLOW_NETS=127.0.0.0/8", NULL};

static const char *full_change =
	"{\"title\": \"Upgrade payments DB\", \"type\": \"normal\", \"services\": [\"payments\"],"
	" \"duration\": \"PT2H\", \"description\": \"minor version\","
	" \"implementation_plan\": \"apt upgrade\", \"rollback_plan\": \"restore snapshot\"}";

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the receiver ----------------------------------------------------------------------- */

static pid_t receiver_pid;
static int receiver_port;
static char receiver_log[512];

static bool receiver_start(void)
{
	const char *tmp = getenv("TRANSOM_TEST_TMP");
	char dir[256], portfile[300], script[1200];
	snprintf(dir, sizeof dir, "%s/webhooks.%ld", tmp && *tmp ? tmp : "/tmp", (long)getpid());
	mkdir(dir, 0700);
	snprintf(portfile, sizeof portfile, "%s/port", dir);
	snprintf(receiver_log, sizeof receiver_log, "%s/requests.jsonl", dir);
	const char *root = getenv("TRANSOM_TEST_ROOT");
	snprintf(script, sizeof script, "%s/tests/http/webhooks/receiver.py",
		 root && *root ? root : ".");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl("/usr/bin/python3", "python3", script, portfile, receiver_log, (char *)NULL);
		_exit(127);
	}
	receiver_pid = pid;
	for (long long end = mono_ms() + 10000; mono_ms() < end; usleep(20000)) {
		FILE *f = fopen(portfile, "r");
		if (f != NULL) {
			if (fscanf(f, "%d", &receiver_port) != 1)
				receiver_port = 0;
			fclose(f);
			if (receiver_port > 0)
				return true;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			break;
	}
	fprintf(stderr, "cannot start %s\n", script);
	return false;
}

static void receiver_stop(void)
{
	if (receiver_pid > 0) {
		kill(receiver_pid, SIGTERM);
		waitpid(receiver_pid, NULL, 0);
	}
}

/* The receiver's URL for endpoint `name` with query `query` (may be ""). */
static const char *hook_url(char *out, size_t size, const char *name, const char *query)
{
	snprintf(out, size, "http://127.0.0.1:%d/%s%s%s", receiver_port, name, *query ? "?" : "",
		 query);
	return out;
}

/* The requests endpoint `name` got so far, in arrival order (owned array). */
static json_t *received(const char *name)
{
	json_t *all = json_array();
	FILE *f = fopen(receiver_log, "r");
	char line[65536];
	while (f != NULL && fgets(line, sizeof line, f) != NULL) {
		json_t *e = json_loads(line, 0, NULL);
		if (e != NULL &&
		    strcmp(json_string_value(json_object_get(e, "name")) ?: "", name) == 0)
			json_array_append(all, e);
		json_decref(e);
	}
	if (f != NULL)
		fclose(f);
	return all;
}

/* Waits up to `ms` until endpoint `name` got at least `n` requests; returns them. */
static json_t *wait_received(const char *name, size_t n, long long ms)
{
	json_t *got = received(name);
	for (long long end = mono_ms() + ms; json_array_size(got) < n && mono_ms() < end;) {
		usleep(20000);
		json_decref(got);
		got = received(name);
	}
	return got;
}

/* Header `name` (lower case) of a logged request, or "". */
static const char *header_of(json_t *entry, const char *name)
{
	return json_string_value(json_object_get(json_object_get(entry, "headers"), name)) ?: "";
}

/* The request body of a logged request, parsed (owned), or NULL. */
static json_t *body_json(json_t *entry)
{
	return json_loads(json_string_value(json_object_get(entry, "body")) ?: "", 0, NULL);
}

/* The record a logged delivery is about: data.id (record.*) or data.record (emit). */
static void record_of(json_t *entry, char *out, size_t size)
{
	json_t *b = body_json(entry), *data = json_object_get(b, "data");
	const char *id = json_string_value(json_object_get(data, "id"));
	if (id == NULL)
		id = json_string_value(json_object_get(data, "record"));
	snprintf(out, size, "%s", id ? id : "");
	json_decref(b);
}

/* How many of `got` are about record `id` with topic `topic` (NULL: any). */
static int count_for(json_t *got, const char *id, const char *topic)
{
	int n = 0;
	size_t i;
	json_t *e;
	json_array_foreach(got, i, e) {
		char rec[64];
		record_of(e, rec, sizeof rec);
		if (strcmp(rec, id) == 0 &&
		    (topic == NULL || strcmp(header_of(e, "x-transom-event"), topic) == 0))
			n++;
	}
	return n;
}

/* ---- API steps ---------------------------------------------------------------------------- */

/* Subscribes `url` to `events` (JSON array text) as `token`; returns the id (0 on failure). */
static long long hook_create(const char *token, const char *url, const char *events,
			     const char *secret)
{
	char body[2048];
	snprintf(body, sizeof body, "{\"url\": \"%s\", \"events\": %s%s%s%s}", url, events,
		 secret ? ", \"secret\": \"" : "", secret ? secret : "", secret ? "\"" : "");
	struct reply *r = post("/v1/webhooks", token, body);
	CHECKF(r->status == 201, "create webhook: %ld %s", r->status, body_of(r));
	long long id = (long long)json_integer_value(json_object_get(r->json, "id"));
	reply_free(r);
	return id;
}

static void hook_delete(const char *token, long long id)
{
	char path[64];
	snprintf(path, sizeof path, "/v1/webhooks/%lld", id);
	struct reply *r = request(&srv, "DELETE", path, token, NULL, NULL);
	CHECK_INT(r->status, 204);
	reply_free(r);
}

/* The deliveries of webhook `id` (owned array), with `query` ("" or "record=CHG-1"). */
static json_t *deliveries(const char *token, long long id, const char *query)
{
	char path[256];
	snprintf(path, sizeof path, "/v1/webhooks/%lld/deliveries%s%s", id, *query ? "?" : "",
		 query);
	struct reply *r = request(&srv, "GET", path, token, NULL, NULL);
	CHECKF(r->status == 200, "deliveries: %ld %s", r->status, body_of(r));
	json_t *list = json_incref(json_object_get(r->json, "deliveries"));
	reply_free(r);
	return list ? list : json_array();
}

/* Waits until webhook `id` has no pending delivery for `record` and at least `n`. */
static json_t *wait_settled(const char *token, long long id, const char *record, size_t n,
			    long long ms)
{
	char q[96];
	snprintf(q, sizeof q, "record=%s", record);
	for (long long end = mono_ms() + ms;; usleep(50000)) {
		json_t *list = deliveries(token, id, q);
		bool pending = false;
		size_t i;
		json_t *d;
		json_array_foreach(list, i, d) {
			pending = pending ||
				  strcmp(json_string_value(json_object_get(d, "status")) ?: "",
					 "pending") == 0;
		}
		if ((!pending && json_array_size(list) >= n) || mono_ms() >= end)
			return list;
		json_decref(list);
	}
}

/* Creates a change as alice; its id into `id` (e.g. "CHG-7"). */
static bool change(const char *body, char *id, size_t size)
{
	char path[64];
	bool ok = create("/v1/changes", alice, body, path, sizeof path);
	snprintf(id, size, "%s", strrchr(path, '/') + 1);
	return ok;
}

static const char *dstr(json_t *d, const char *key)
{
	return json_string_value(json_object_get(d, key)) ?: "";
}

static long long dint(json_t *d, const char *key)
{
	return (long long)json_integer_value(json_object_get(d, key));
}

/* ---- subscriptions ------------------------------------------------------------------------ */

static void test_create_validates_fields_by_name(void)
{
	char url[256];
	hook_url(url, sizeof url, "v", "");
	static const struct {
		const char *body, *field;
	} cases[] = {
		{"{\"events\": [\"*\"]}", "url"},
		{"{\"url\": \"ftp://example.org/x\", \"events\": [\"*\"]}", "url"},
		{"{\"url\": \"https:///nohost\", \"events\": [\"*\"]}", "url"},
		{"{\"url\": \"https://a b/\", \"events\": [\"*\"]}", "url"},
		{"{\"url\": \"https://example.org/\"}", "events"},
		{"{\"url\": \"https://example.org/\", \"events\": []}", "events"},
		{"{\"url\": \"https://example.org/\", \"events\": \"*\"}", "events"},
		{"{\"url\": \"https://example.org/\", \"events\": [\"change.*\", \"ch*nge\"]}",
		 "events[1]"},
		{"{\"url\": \"https://example.org/\", \"events\": [\"a b\"]}", "events[0]"},
		{"{\"url\": \"https://example.org/\", \"events\": [\"x\", \"x\"]}", "events[1]"},
		{"{\"url\": \"https://example.org/\", \"events\": [\"*\"], \"secret\": \"short\"}",
		 "secret"},
		{"{\"url\": \"https://example.org/\", \"events\": [\"*\"], \"secret\": 7}",
		 "secret"},
		{"{\"url\": \"https://example.org/\", \"events\": [\"*\"], \"colour\": \"red\"}",
		 "colour"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct reply *r = post("/v1/webhooks", manager, cases[i].body);
		CHECKF(problem_is(r, 422, cases[i].field), "case %zu: %ld %s", i, r->status,
		       body_of(r));
		reply_free(r);
	}
	/* requesters and CAB members do not manage webhooks */
	const char *ok = "{\"url\": \"https://example.org/\", \"events\": [\"*\"]}";
	struct reply *r = post("/v1/webhooks", alice, ok);
	CHECK(problem_is(r, 403, NULL));
	reply_free(r);
	r = request(&srv, "GET", "/v1/webhooks", cab, NULL, NULL);
	CHECK(problem_is(r, 403, NULL));
	reply_free(r);
}

static void test_create_list_get_and_ownership(void)
{
	/* a generated secret comes back once */
	struct reply *r =
		post("/v1/webhooks", manager,
		     "{\"url\": \"https://example.org/hook\", \"events\": [\"change.*\", \"*\"]}");
	CHECK_INT(r->status, 201);
	long long gen = dint(r->json, "id");
	char loc[64];
	snprintf(loc, sizeof loc, "/v1/webhooks/%lld", gen);
	CHECK_STR(reply_header(r, "Location"), loc);
	CHECK(strncmp(reply_str(r, "secret"), "whsec_", 6) == 0);
	CHECK(strlen(reply_str(r, "secret")) >= 16);
	CHECK_STR(reply_str(r, "owner"), "max");
	CHECK_INT(json_array_size(json_object_get(r->json, "events")), 2);
	char secret[64];
	snprintf(secret, sizeof secret, "%s", reply_str(r, "secret"));
	reply_free(r);

	/* a given secret is not echoed */
	r = post("/v1/webhooks", pipeline,
		 "{\"url\": \"http://example.org/ci\", \"events\": [\"record.created\"],"
		 " \"secret\": \"0123456789abcdef-given\"}");
	CHECK_INT(r->status, 201);
	CHECK(json_object_get(r->json, "secret") == NULL);
	long long given = dint(r->json, "id");
	reply_free(r);

	/* lists never show secrets; each caller sees their own, admins all */
	r = request(&srv, "GET", "/v1/webhooks", manager, NULL, NULL);
	CHECK_INT(r->status, 200);
	CHECK(r->body && strstr(r->body, secret) == NULL && strstr(r->body, "given") == NULL);
	CHECK(r->body && strstr(r->body, "\"secret\"") == NULL);
	CHECK_INT(json_array_size(json_object_get(r->json, "webhooks")), 1);
	reply_free(r);
	r = request(&srv, "GET", "/v1/webhooks", admin, NULL, NULL);
	CHECK(json_array_size(json_object_get(r->json, "webhooks")) >= 2);
	CHECK(r->body && strstr(r->body, "\"secret\"") == NULL);
	reply_free(r);
	r = request(&srv, "GET", loc, manager, NULL, NULL);
	CHECK_INT(r->status, 200);
	CHECK_INT(dint(json_object_get(r->json, "deliveries"), "pending"), 0);
	CHECK(json_object_get(r->json, "secret") == NULL);
	reply_free(r);

	/* another change manager sees nothing of max's */
	r = request(&srv, "GET", loc, other, NULL, NULL);
	CHECK(problem_is(r, 404, "id"));
	reply_free(r);
	r = request(&srv, "DELETE", loc, other, NULL, NULL);
	CHECK(problem_is(r, 404, "id"));
	reply_free(r);
	char path[96];
	snprintf(path, sizeof path, "%s/deliveries", loc);
	r = request(&srv, "GET", path, other, NULL, NULL);
	CHECK(problem_is(r, 404, "id"));
	reply_free(r);
	snprintf(path, sizeof path, "%s/deliveries?status=lost", loc);
	r = request(&srv, "GET", path, manager, NULL, NULL);
	CHECK(problem_is(r, 400, "status"));
	reply_free(r);
	snprintf(path, sizeof path, "%s/deliveries?limit=0", loc);
	r = request(&srv, "GET", path, manager, NULL, NULL);
	CHECK(problem_is(r, 400, "limit"));
	reply_free(r);
	r = request(&srv, "GET", "/v1/webhooks/abc", manager, NULL, NULL);
	CHECK(problem_is(r, 404, "id"));
	reply_free(r);
	snprintf(path, sizeof path, "%s/deliveries/999999/replay", loc);
	r = post(path, manager, NULL);
	CHECK(problem_is(r, 404, "delivery_id"));
	reply_free(r);

	hook_delete(manager, gen);
	hook_delete(admin, given); /* admins may delete anyone's */
	r = request(&srv, "GET", loc, manager, NULL, NULL);
	CHECK(problem_is(r, 404, "id"));
	reply_free(r);
	r = request(&srv, "DELETE", loc, manager, NULL, NULL);
	CHECK(problem_is(r, 404, "id"));
	reply_free(r);
}

/* ---- delivery ------------------------------------------------------------------------------ */

static void test_delivery_is_signed_and_well_formed(void)
{
	const char *secret = "s3cret-for-the-signature-test";
	char url[512], query[128], id[32];
	snprintf(query, sizeof query, "secret=%s", secret);
	hook_url(url, sizeof url, "signed", query);
	long long hook = hook_create(manager, url, "[\"record.created\"]", secret);
	if (hook == 0 || !change(full_change, id, sizeof id))
		return;
	json_t *got = wait_received("signed", 1, 10000);
	CHECK_INT(json_array_size(got), 1);
	json_t *e = json_array_get(got, 0);
	if (e == NULL) {
		json_decref(got);
		return;
	}
	CHECK_STR(dstr(e, "method"), "POST");
	CHECK_STR(header_of(e, "content-type"), "application/json");
	CHECK_STR(header_of(e, "user-agent"), "transom-webhooks/1");
	CHECK_STR(header_of(e, "x-transom-event"), "record.created");

	/* the signature, recomputed here: HMAC-SHA256(secret, timestamp "." body) */
	const char *ts = header_of(e, "x-transom-timestamp");
	const char *body = dstr(e, "body");
	long long t = atoll(ts);
	CHECK(t > 0 && llabs((long long)time(NULL) - t) < 60);
	size_t n = strlen(ts) + 1 + strlen(body);
	char *signed_text = malloc(n + 1), hex[CRYPTO_SHA256_HEX_LEN], want[80];
	snprintf(signed_text, n + 1, "%s.%s", ts, body);
	CHECK(crypto_hmac_sha256_hex(secret, strlen(secret), signed_text, n, hex));
	free(signed_text);
	snprintf(want, sizeof want, "v1=%s", hex);
	CHECK_STR(header_of(e, "x-transom-signature"), want);
	CHECK(json_is_true(json_object_get(e, "sig_ok"))); /* and in Python, as the README does */

	/* the body: {id, topic, attempt, created_at, data} */
	json_t *b = body_json(e);
	char did[32];
	snprintf(did, sizeof did, "%lld", dint(b, "id"));
	CHECK_STR(header_of(e, "x-transom-delivery"), did);
	CHECK_STR(dstr(b, "topic"), "record.created");
	CHECK_INT(dint(b, "attempt"), 1);
	CHECK(strlen(dstr(b, "created_at")) >= 20);
	json_t *data = json_object_get(b, "data");
	CHECK_STR(dstr(data, "id"), id);
	CHECK_STR(dstr(data, "type"), "record.created");
	CHECK_STR(dstr(data, "kind"), "change");
	CHECK_STR(dstr(data, "actor"), "alice");

	/* the deliveries API agrees */
	json_t *list = wait_settled(manager, hook, id, 1, 5000);
	json_t *d = json_array_get(list, 0);
	CHECK_INT(json_array_size(list), 1);
	CHECK_INT(dint(d, "id"), dint(b, "id"));
	CHECK_STR(dstr(d, "status"), "delivered");
	CHECK_INT(dint(d, "attempts"), 1);
	CHECK_INT(dint(d, "last_status_code"), 200);
	CHECK(json_is_null(json_object_get(d, "last_error")));
	CHECK_INT(json_array_size(json_object_get(d, "history")), 1);
	CHECK_INT(dint(json_array_get(json_object_get(d, "history"), 0), "status_code"), 200);
	json_decref(list);
	json_decref(b);
	json_decref(got);
	hook_delete(manager, hook);
}

static void test_events_filter_by_topic_and_prefix(void)
{
	char u1[256], u2[256], u3[256], id[32], path[64];
	long long exact = hook_create(manager, hook_url(u1, sizeof u1, "f-exact", ""),
				      "[\"change.submitted\"]", NULL);
	long long prefix = hook_create(pipeline, hook_url(u2, sizeof u2, "f-prefix", ""),
				       "[\"record.*\"]", NULL);
	long long all = hook_create(admin, hook_url(u3, sizeof u3, "f-all", ""), "[\"*\"]", NULL);
	if (!change(full_change, id, sizeof id))
		return;
	snprintf(path, sizeof path, "/v1/changes/%s", id);
	step(path, alice, "submit", "authorize");
	/* record.created, record.transitioned, change.submitted, change.authorization_requested */
	json_t *got_all = wait_received("f-all", 4, 10000);
	json_t *got_prefix = wait_received("f-prefix", 2, 5000);
	json_t *got_exact = wait_received("f-exact", 1, 5000);
	usleep(300 * 1000); /* anything extra would be here by now */
	json_decref(got_all);
	json_decref(got_prefix);
	json_decref(got_exact);
	got_all = received("f-all");
	got_prefix = received("f-prefix");
	got_exact = received("f-exact");
	CHECK_INT(count_for(got_exact, id, "change.submitted"), 1);
	CHECK_INT(json_array_size(got_exact), 1);
	CHECK_INT(count_for(got_prefix, id, "record.created"), 1);
	CHECK_INT(count_for(got_prefix, id, "record.transitioned"), 1);
	CHECK_INT(json_array_size(got_prefix), 2);
	CHECK_INT(count_for(got_all, id, "change.submitted"), 1);
	CHECK_INT(count_for(got_all, id, "change.authorization_requested"), 1);
	CHECK_INT(count_for(got_all, id, NULL), 4);
	json_decref(got_all);
	json_decref(got_prefix);
	json_decref(got_exact);
	hook_delete(manager, exact);
	hook_delete(pipeline, prefix);
	hook_delete(admin, all);
}

static void test_retries_back_off_with_growing_intervals(void)
{
	char url[256], id[32];
	long long hook = hook_create(manager, hook_url(url, sizeof url, "retry", "fail=3"),
				     "[\"record.created\"]", NULL);
	long long t0 = mono_ms();
	if (hook == 0 || !change(full_change, id, sizeof id))
		return;
	json_t *got = wait_received("retry", 4, 15000);
	CHECK_INT(json_array_size(got), 4);
	long long prev = 0;
	for (size_t i = 0; i < json_array_size(got); i++) {
		json_t *e = json_array_get(got, i);
		json_t *b = body_json(e);
		CHECK_INT(dint(b, "attempt"), (long long)i + 1);
		/* one delivery id across attempts: the receiver's deduplication key */
		CHECK_STR(header_of(e, "x-transom-delivery"),
			  header_of(json_array_get(got, 0), "x-transom-delivery"));
		json_decref(b);
		long long at = dint(e, "at_ms");
		if (i > 0) {
			/* attempt i+1 waits at least half of base * 2^(i-1) */
			long long min = (BACKOFF_MS << (i - 1)) / 2;
			CHECKF(at - prev >= min - 5, "gap %zu: %lld ms, want >= %lld", i, at - prev,
			       min);
		}
		prev = at;
	}
	if (json_array_size(got) == 4) {
		long long g1 = dint(json_array_get(got, 1), "at_ms") -
			       dint(json_array_get(got, 0), "at_ms");
		long long g3 = dint(json_array_get(got, 3), "at_ms") -
			       dint(json_array_get(got, 2), "at_ms");
		CHECKF(g3 > g1, "intervals do not grow: %lld then %lld ms", g1, g3);
	}
	CHECKF(mono_ms() - t0 < 10000, "4 attempts took %lld ms", mono_ms() - t0);
	json_decref(got);

	json_t *list = wait_settled(manager, hook, id, 1, 5000);
	json_t *d = json_array_get(list, 0), *h = json_object_get(d, "history");
	CHECK_STR(dstr(d, "status"), "delivered");
	CHECK_INT(dint(d, "attempts"), 4);
	CHECK_INT(json_array_size(h), 4);
	static const int codes[] = {500, 500, 500, 200};
	for (size_t i = 0; i < 4 && i < json_array_size(h); i++) {
		json_t *a = json_array_get(h, i);
		CHECK_INT(dint(a, "attempt"), (long long)i + 1);
		CHECK_INT(dint(a, "status_code"), codes[i]);
		CHECK(i == 3 ? json_is_null(json_object_get(a, "error"))
			     : strstr(dstr(a, "error"), "http status 500") != NULL);
	}
	json_decref(list);
	hook_delete(manager, hook);
}

static void test_dead_after_max_attempts_then_replay(void)
{
	char url[256], id[32];
	long long hook =
		hook_create(manager, hook_url(url, sizeof url, "dead", "fail=4&status=503"),
			    "[\"record.created\"]", NULL);
	if (hook == 0 || !change(full_change, id, sizeof id))
		return;
	json_t *got = wait_received("dead", MAX_ATTEMPTS, 15000);
	CHECK_INT(json_array_size(got), MAX_ATTEMPTS);
	json_decref(got);
	json_t *list = wait_settled(manager, hook, id, 1, 5000);
	json_t *d = json_array_get(list, 0);
	CHECK_STR(dstr(d, "status"), "dead");
	CHECK_INT(dint(d, "attempts"), MAX_ATTEMPTS);
	CHECK_INT(dint(d, "last_status_code"), 503);
	/* The status only: the receiver's body ("receiver says no") is never kept. */
	CHECK(strstr(dstr(d, "last_error"), "http status 503") != NULL);
	CHECK(strstr(dstr(d, "last_error"), "receiver says no") == NULL);
	CHECK_INT(json_array_size(json_object_get(d, "history")), MAX_ATTEMPTS);
	long long did = dint(d, "id");
	json_decref(list);
	usleep(500 * 1000); /* a dead delivery is not retried */
	got = received("dead");
	CHECK_INT(json_array_size(got), MAX_ATTEMPTS);
	json_decref(got);

	/* filters: status=dead lists it, status=pending does not */
	list = deliveries(manager, hook, "status=dead");
	CHECK_INT(json_array_size(list), 1);
	json_decref(list);
	list = deliveries(manager, hook, "status=pending");
	CHECK_INT(json_array_size(list), 0);
	json_decref(list);

	/* replay: pending again with its attempts reset, then delivered (the 5th request) */
	char path[128];
	snprintf(path, sizeof path, "/v1/webhooks/%lld/deliveries/%lld/replay", hook, did);
	struct reply *r = post(path, other, NULL);
	CHECK(problem_is(r, 404, "delivery_id")); /* not other's */
	reply_free(r);
	r = post(path, manager, NULL);
	CHECK_INT(r->status, 202);
	CHECK_INT(dint(r->json, "id"), did);
	CHECK_INT(dint(r->json, "replays"), 1);
	reply_free(r);
	got = wait_received("dead", MAX_ATTEMPTS + 1, 5000);
	CHECK_INT(json_array_size(got), MAX_ATTEMPTS + 1);
	json_t *e = json_array_get(got, MAX_ATTEMPTS);
	char want[32];
	snprintf(want, sizeof want, "%lld", did);
	CHECK_STR(header_of(e, "x-transom-delivery"), want);
	json_t *b = body_json(e);
	CHECK_INT(dint(b, "attempt"), 1);
	json_decref(b);
	json_decref(got);
	list = wait_settled(manager, hook, id, 1, 5000);
	d = json_array_get(list, 0);
	CHECK_STR(dstr(d, "status"), "delivered");
	CHECK_INT(dint(d, "attempts"), 1);
	CHECK_INT(dint(d, "last_status_code"), 200);
	CHECK_INT(json_array_size(json_object_get(d, "history")), MAX_ATTEMPTS + 1);
	json_decref(list);

	/* a delivered delivery may be replayed too (an admin may, for anyone) */
	r = post(path, admin, NULL);
	CHECK_INT(r->status, 202);
	reply_free(r);
	got = wait_received("dead", MAX_ATTEMPTS + 2, 5000);
	CHECK_INT(json_array_size(got), MAX_ATTEMPTS + 2);
	json_decref(got);
	hook_delete(manager, hook);
}

/* ---- only committed writes are sent -------------------------------------------------------- */

struct race {
	const char *path;
	long status;
};

static void *race_submit(void *cls)
{
	struct race *r = cls;
	struct reply *rep = fire(r->path, alice, "submit");
	r->status = rep->status;
	reply_free(rep);
	return NULL;
}

static void test_writes_that_do_not_commit_send_nothing(void)
{
	char before[32], url[256], raced[32], marker[32], path[64];
	if (!change(full_change, before, sizeof before)) /* before the subscription */
		return;
	long long hook =
		hook_create(manager, hook_url(url, sizeof url, "commit", ""), "[\"*\"]", NULL);

	/* refused writes: a 422 create, a 409 event, a 412 edit */
	struct reply *r = post("/v1/changes", alice, "{\"title\": \"x\", \"type\": \"sideways\"}");
	CHECK(problem_is(r, 422, "type"));
	reply_free(r);
	snprintf(path, sizeof path, "/v1/changes/%s", before);
	r = fire(path, alice, "implement");
	CHECK(r->status == 409 || r->status == 422);
	reply_free(r);
	const char *h[] = {"If-Match: \"99\"", "Content-Type: application/merge-patch+json", NULL};
	r = request(&srv, "PATCH", path, alice, "{\"title\": \"renamed\"}", h);
	CHECK_INT(r->status, 412);
	reply_free(r);

	/* two racing submits: one commits; the loser's work is rolled back */
	if (!change(full_change, raced, sizeof raced))
		return;
	snprintf(path, sizeof path, "/v1/changes/%s", raced);
	struct race rc[2] = {{path, 0}, {path, 0}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, race_submit, &rc[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CHECKF((rc[0].status == 200) + (rc[1].status == 200) == 1, "race: %ld and %ld",
	       rc[0].status, rc[1].status);

	if (!change(full_change, marker, sizeof marker))
		return;
	json_t *got = wait_received("commit", 1, 10000);
	for (long long end = mono_ms() + 10000;
	     count_for(got, marker, NULL) < 1 && mono_ms() < end;) {
		json_decref(got);
		usleep(20000);
		got = received("commit");
	}
	usleep(300 * 1000);
	json_decref(got);
	got = received("commit");
	CHECK_INT(count_for(got, before, NULL), 0);
	CHECK_INT(count_for(got, raced, "record.created"), 1);
	CHECK_INT(count_for(got, raced, "record.transitioned"), 1);
	CHECK_INT(count_for(got, raced, "change.submitted"), 1);
	CHECK_INT(count_for(got, marker, NULL), 1);
	/* raced: created, transitioned, submitted, authorization_requested; marker: created */
	CHECKF(json_array_size(got) == 5, "%zu requests", json_array_size(got));
	json_decref(got);
	hook_delete(manager, hook);
}

/* ---- unsubscribing ------------------------------------------------------------------------- */

static void test_delete_stops_deliveries(void)
{
	char url[256], id[32], path[128];
	long long hook = hook_create(pipeline, hook_url(url, sizeof url, "gone", "fail=1000"),
				     "[\"record.created\"]", NULL);
	if (hook == 0 || !change(full_change, id, sizeof id))
		return;
	json_t *got = wait_received("gone", 1, 10000);
	CHECK(json_array_size(got) >= 1);
	json_decref(got);
	json_t *list = deliveries(pipeline, hook, "");
	long long did = dint(json_array_get(list, 0), "id");
	json_decref(list);

	/* a pending delivery cannot be replayed: it is being retried */
	snprintf(path, sizeof path, "/v1/webhooks/%lld/deliveries/%lld/replay", hook, did);
	struct reply *r = post(path, pipeline, NULL);
	CHECK(problem_is(r, 409, "delivery_id"));
	reply_free(r);

	hook_delete(pipeline, hook);
	size_t n = json_array_size(got = received("gone"));
	json_decref(got);
	char other_id[32];
	change(full_change, other_id, sizeof other_id);
	usleep(1500 * 1000); /* retries would have come by now (200, 400, 800 ms) */
	got = received("gone");
	CHECKF(json_array_size(got) <= n + 1, "%zu requests after the delete, %zu before",
	       json_array_size(got), n); /* one may have been in flight */
	CHECK_INT(count_for(got, other_id, NULL), 0);
	json_decref(got);
	snprintf(path, sizeof path, "/v1/webhooks/%lld/deliveries", hook);
	r = request(&srv, "GET", path, pipeline, NULL, NULL);
	CHECK(problem_is(r, 404, "id"));
	reply_free(r);

	/* the delivery is kept, dead, saying why */
	PGconn *db = PQconnectdb(getenv("TRANSOM_TEST_DATABASE_URL"));
	char ids[32];
	snprintf(ids, sizeof ids, "%lld", did);
	const char *p[] = {ids};
	PGresult *res = PQexecParams(db,
				     "SELECT status, last_error FROM webhook_deliveries"
				     " WHERE id = $1::bigint",
				     1, NULL, p, NULL, NULL, 0);
	CHECK(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		CHECK_STR(PQgetvalue(res, 0, 0), "dead");
		CHECK_STR(PQgetvalue(res, 0, 1), "the webhook was deleted");
	}
	PQclear(res);
	PQfinish(db);
}

/* ---- crashes -------------------------------------------------------------------------------- */

static void test_killed_mid_delivery_delivers_after_restart(void)
{
	char url[256], held[32], queued[32];
	/* the first request is held 4 s: transomd is killed while it waits for the reply */
	long long hook =
		hook_create(manager, hook_url(url, sizeof url, "kill", "hold=1&hold_ms=4000"),
			    "[\"record.created\"]", NULL);
	if (hook == 0 || !change(full_change, held, sizeof held))
		return;
	json_t *got = wait_received("kill", 1, 10000);
	CHECK_INT(json_array_size(got), 1);
	json_decref(got);
	/* committed while the worker is busy sending: not fanned out before the kill */
	change(full_change, queued, sizeof queued);
	server_signal(&srv, SIGKILL);
	server_stop(&srv, 5, NULL);
	if (!server_start(&srv, NULL, NULL, server_env)) {
		CHECK(!"transomd did not restart");
		return;
	}
	/* the held delivery's lease (2 x 1 s timeout + 1 s) runs out, then it is sent again */
	json_t *a = wait_settled(manager, hook, held, 1, 15000);
	json_t *b = wait_settled(manager, hook, queued, 1, 5000);
	CHECK_INT(json_array_size(a), 1); /* one delivery per event, whatever happened */
	CHECK_INT(json_array_size(b), 1);
	json_t *da = json_array_get(a, 0), *db = json_array_get(b, 0);
	CHECK_STR(dstr(da, "status"), "delivered");
	CHECK_STR(dstr(db, "status"), "delivered");
	CHECK_INT(dint(da, "attempts"), 2); /* the killed attempt counts */
	/* only the attempt that finished has an outcome */
	CHECK_INT(json_array_size(json_object_get(da, "history")), 1);
	CHECK_INT(dint(json_array_get(json_object_get(da, "history"), 0), "attempt"), 2);

	got = received("kill");
	CHECK_INT(count_for(got, held, NULL), 2); /* sent twice: before and after the kill */
	CHECK_INT(count_for(got, queued, NULL), 1);
	char want[32];
	snprintf(want, sizeof want, "%lld", dint(da, "id"));
	size_t i;
	json_t *e;
	json_array_foreach(got, i, e) {
		char rec[32];
		record_of(e, rec, sizeof rec);
		if (strcmp(rec, held) == 0)
			CHECK_STR(header_of(e, "x-transom-delivery"),
				  want); /* the same dedup key */
	}
	json_decref(got);
	json_decref(a);
	json_decref(b);
	hook_delete(manager, hook);
}

static void setup(void)
{
	snprintf(alice, sizeof alice, "%s", token_for("alice", "requester"));
	snprintf(manager, sizeof manager, "%s", token_for("max", "change_manager"));
	snprintf(other, sizeof other, "%s", token_for("mia", "change_manager"));
	snprintf(pipeline, sizeof pipeline, "%s", token_for("ci", "pipeline"));
	snprintf(cab, sizeof cab, "%s", token_for("carol", "cab"));
	snprintf(admin, sizeof admin, "%s", token_for("root", "admin"));
	if (!alice[0] || !receiver_start() || !server_start(&srv, NULL, NULL, server_env)) {
		receiver_stop();
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_create_validates_fields_by_name, test_create_list_get_and_ownership,
      test_delivery_is_signed_and_well_formed, test_events_filter_by_topic_and_prefix,
      test_retries_back_off_with_growing_intervals, test_dead_after_max_attempts_then_replay,
      test_writes_that_do_not_commit_send_nothing, test_delete_stops_deliveries,
      test_killed_mid_delivery_delivers_after_restart)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	receiver_stop();
	return rc;
}
