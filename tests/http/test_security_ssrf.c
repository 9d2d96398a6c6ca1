/*
 * test_security_ssrf.c -- issue 11 item 7: webhooks must not reach internal addresses
 * (SSRF) nor echo what they answer.
 *
 * No traffic leaves loopback: non-loopback literals (10.0.0.1, 169.254.169.254, [fd00::1])
 * are only ever offered at subscription time, for a topic the test never emits, so even a
 * failing test sends nothing.  A receiver thread on 127.0.0.1 counts what reaches it.
 *
 * Phase 1, no TRANSOM_WEBHOOK_ALLOW_NETS: internal literals are refused at subscription
 * (422, field url, rule internal-address); a name (localhost) passes there but the
 * delivery is refused when it connects, and the receiver sees nothing; the same for a
 * remote calendar (policies/calendars.json) at http://localhost:PORT/cal.ics.
 * Phase 2, TRANSOM_WEBHOOK_ALLOW_NETS=127.0.0.1/32: the receiver is reachable (webhook
 * and calendar); a 302 is not followed; a failing endpoint's reply body is neither stored
 * nor shown.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "lib_http.h"

static struct server srv;
#include "record_steps.h"

#define SECRET_BODY "INTERNAL-SECRET-7f3a"
#define CAL                                                                                        \
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//ssrf//EN\r\nBEGIN:VEVENT\r\n"                 \
	"UID:inside@test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20300101T000000Z\r\n"              \
	"DTEND:20300102T000000Z\r\nSUMMARY:Inside\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

static char alice[128], admin[128];
static int rx_port, rx_fd = -1;
static pthread_mutex_t rx_lock = PTHREAD_MUTEX_INITIALIZER;
static int rx_hits[5]; /* /hook, /redirect, /second, /fail, GET /cal.ics */
static char policies[600], cache_env[700];

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the receiver: one request per connection, answered by path --------------------------- */

static void *rx_loop(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(rx_fd, NULL, NULL);
		if (c < 0)
			return NULL;
		char buf[16384];
		size_t n = 0;
		ssize_t k;
		/* Headers, then Content-Length bytes of body. */
		while (n + 1 < sizeof buf && (k = read(c, buf + n, sizeof buf - 1 - n)) > 0) {
			n += (size_t)k;
			buf[n] = '\0';
			char *end = strstr(buf, "\r\n\r\n");
			if (end == NULL)
				continue;
			char *cl = strcasestr(buf, "\r\nContent-Length:");
			size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0;
			if (n >= (size_t)(end + 4 - buf) + want)
				break;
		}
		buf[n] = '\0';
		char reply[512];
		int idx = strncmp(buf, "POST /redirect", 14) == 0 ? 1
			  : strncmp(buf, "POST /second", 12) == 0 ? 2
			  : strncmp(buf, "POST /fail", 10) == 0   ? 3
			  : strncmp(buf, "GET /cal.ics", 12) == 0 ? 4
								  : 0;
		pthread_mutex_lock(&rx_lock);
		rx_hits[idx]++;
		pthread_mutex_unlock(&rx_lock);
		if (idx == 1)
			snprintf(reply, sizeof reply,
				 "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/second\r\n"
				 "Content-Length: 0\r\nConnection: close\r\n\r\n",
				 rx_port);
		else if (idx == 4)
			snprintf(reply, sizeof reply,
				 "HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\n"
				 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
				 strlen(CAL), CAL);
		else if (idx == 3)
			snprintf(reply, sizeof reply,
				 "HTTP/1.1 500 Oops\r\nContent-Type: text/plain\r\nContent-Length: "
				 "%zu\r\nConnection: close\r\n\r\n%s",
				 strlen(SECRET_BODY), SECRET_BODY);
		else
			snprintf(reply, sizeof reply,
				 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: "
				 "close\r\n\r\nok");
		if (write(c, reply, strlen(reply)) < 0)
			perror("receiver write");
		close(c);
	}
}

static bool rx_start(void)
{
	rx_fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t len = sizeof a;
	if (rx_fd < 0 || bind(rx_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(rx_fd, 16) != 0 || getsockname(rx_fd, (struct sockaddr *)&a, &len) != 0)
		return false;
	rx_port = ntohs(a.sin_port);
	pthread_t t;
	return pthread_create(&t, NULL, rx_loop, NULL) == 0 && pthread_detach(t) == 0;
}

static int hits(int idx)
{
	pthread_mutex_lock(&rx_lock);
	int n = rx_hits[idx];
	pthread_mutex_unlock(&rx_lock);
	return n;
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* Subscribes `url` to `events` (a JSON array) as alice; the reply. */
static struct reply *subscribe(const char *url, const char *events)
{
	char body[1024];
	snprintf(body, sizeof body, "{\"url\": \"%s\", \"events\": %s}", url, events);
	return post("/v1/webhooks", alice, body);
}

static long long subscribed(const char *url)
{
	struct reply *r = subscribe(url, "[\"record.created\"]");
	CHECKF(r->status == 201, "subscribe %s: %ld %s", url, r->status, body_of(r));
	long long id = json_integer_value(json_object_get(r->json, "id"));
	reply_free(r);
	return id;
}

static void unsubscribe(long long id)
{
	char path[64];
	snprintf(path, sizeof path, "/v1/webhooks/%lld", id);
	struct reply *r = request(&srv, "DELETE", path, alice, NULL, NULL);
	CHECKF(r->status == 204 || r->status == 200, "delete: %ld", r->status);
	reply_free(r);
}

static void new_change(void)
{
	struct reply *r = post("/v1/changes", alice,
			       "{\"title\": \"Touch the web tier\", \"type\": \"normal\","
			       " \"services\": [\"web-frontend\"], \"duration\": \"PT1H\"}");
	CHECKF(r->status == 201, "change: %ld %s", r->status, body_of(r));
	reply_free(r);
}

/* The newest delivery of webhook `id` as `token` once it was attempted (owned), or NULL. */
static json_t *attempted(const char *token, long long id, long long ms)
{
	char path[96];
	snprintf(path, sizeof path, "/v1/webhooks/%lld/deliveries", id);
	for (long long end = mono_ms() + ms;; usleep(100000)) {
		struct reply *r = request(&srv, "GET", path, token, NULL, NULL);
		json_t *d = json_array_get(json_object_get(r->json, "deliveries"), 0);
		/* attempts counts a claimed delivery: wait until that attempt has an outcome */
		const char *status = json_string_value(json_object_get(d, "status"));
		bool settled = (status != NULL && strcmp(status, "pending") != 0) ||
			       !json_is_null(json_object_get(d, "last_error")) ||
			       !json_is_null(json_object_get(d, "last_status_code"));
		json_t *out = d && json_integer_value(json_object_get(d, "attempts")) > 0 && settled
				      ? json_incref(d)
				      : NULL;
		reply_free(r);
		if (out != NULL || mono_ms() > end)
			return out;
	}
}

static bool start(const char *allow)
{
	static char env_allow[128];
	snprintf(env_allow, sizeof env_allow, "TRANSOM_WEBHOOK_ALLOW_NETS=%s", allow);
	const char *env[] = {"TRANSOM_TIMER_INTERVAL=50",
			     "TRANSOM_WEBHOOK_BACKOFF_MS=200",
			     "TRANSOM_WEBHOOK_MAX_ATTEMPTS=3",
			     "TRANSOM_WEBHOOK_TIMEOUT=2000",
			     env_allow,
			     cache_env,
			     NULL};
	return server_start(&srv, NULL, policies, env);
}

/* Policies with one remote calendar at http://localhost:PORT/cal.ics (a name: checked
 * when resolved). */
static bool write_policies(void)
{
	char cmd[1400], path[700], json[600];
	const char *tmp = getenv("TRANSOM_TEST_TMP");
	snprintf(policies, sizeof policies, "%s/ssrf.%ld", tmp && *tmp ? tmp : "/tmp",
		 (long)getpid());
	snprintf(cmd, sizeof cmd, "mkdir -p %s && cp -r %s/policies %s/", policies,
		 getenv("TRANSOM_TEST_ROOT") ?: ".", policies);
	if (system(cmd) != 0)
		return false;
	snprintf(cache_env, sizeof cache_env, "TRANSOM_CACHE_DIR=%s/cache", policies);
	strcat(policies, "/policies");
	snprintf(json, sizeof json,
		 "{\"horizon_days\": 60, \"remote\": [{\"name\": \"inside\", \"url\":"
		 " \"http://localhost:%d/cal.ics\", \"hardness\": \"soft\", \"services\":"
		 " [\"search\"], \"refresh\": \"PT1M\", \"timeout\": \"PT5S\"}]}\n",
		 rx_port);
	snprintf(path, sizeof path, "%s/calendars.json", policies);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return false;
	fputs(json, f);
	return fclose(f) == 0;
}

/* transom_remote_calendar_up of "inside" once /metrics has it (-1: never within `ms`). */
static int calendar_up(long long ms)
{
	const char *key = "transom_remote_calendar_up{name=\"inside\"} ";
	for (long long end = mono_ms() + ms;; usleep(200000)) {
		struct reply *r = request(&srv, "GET", "/metrics", NULL, NULL, NULL);
		const char *at = strstr(body_of(r), key);
		int up = at ? atoi(at + strlen(key)) : -1;
		reply_free(r);
		if (up >= 0 || mono_ms() > end)
			return up;
	}
}

/* ---- phase 1: no allow-list ---------------------------------------------------------------- */

static void test_internal_literals_refused_at_subscription(void)
{
	static const char *const urls[] = {
		"http://10.0.0.1/hook",
		"http://169.254.169.254/latest/meta-data/",
		"http://[fd00::1]/hook",
		"http://127.0.0.1:1/hook",
		"http://[::1]:1/hook",
		"http://[::ffff:127.0.0.1]:1/hook",
		"http://[::ffff:169.254.169.254]/latest",
		"http://100.64.0.1/hook",
		"http://[fe80::1]/hook",
		"http://0.0.0.0:1/hook",
		"http://224.0.0.1/hook",
	};
	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		/* A topic this test never emits: nothing would be sent even if accepted. */
		struct reply *r = subscribe(urls[i], "[\"ssrf-test.never-emitted\"]");
		CHECKF(problem_is(r, 422, "url") &&
			       strcmp(reply_str(r, "rule"), "internal-address") == 0,
		       "%s: %ld %s", urls[i], r->status, body_of(r));
		reply_free(r);
	}
	/* A public literal is fine (and never used: its topic is never emitted). */
	struct reply *r = subscribe("https://93.184.215.14/hook", "[\"ssrf-test.never-emitted\"]");
	CHECKF(r->status == 201, "public literal: %ld %s", r->status, body_of(r));
	long long id = json_integer_value(json_object_get(r->json, "id"));
	reply_free(r);
	unsubscribe(id);
}

static void test_remote_calendar_refused_at_connect(void)
{
	CHECK_INT(calendar_up(10000), 0);
	CHECK_INT(hits(4), 0);
}

static void test_name_resolving_to_loopback_refused_at_connect(void)
{
	char url[128];
	snprintf(url, sizeof url, "http://localhost:%d/hook", rx_port);
	long long id = subscribed(url); /* a name: checked when resolved */
	new_change();
	json_t *d = attempted(alice, id, 10000);
	CHECK(d != NULL);
	const char *err = d ? json_string_value(json_object_get(d, "last_error")) : NULL;
	CHECKF(err && strstr(err, "refused to connect") && strstr(err, "loopback"),
	       "last_error: %s", err ? err : "(none)");
	CHECK_INT(hits(0), 0);
	json_decref(d);
	unsubscribe(id);
}

/* ---- phase 2: 127.0.0.1 allowed ------------------------------------------------------------ */

static void test_allow_list_reaches_loopback(void)
{
	CHECK(server_stop(&srv, 10, NULL) == 0);
	CHECK(start("127.0.0.1/32"));
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", rx_port);
	long long id = subscribed(url);
	int before = hits(0);
	new_change();
	json_t *d = attempted(alice, id, 10000);
	CHECKF(d && strcmp(json_string_value(json_object_get(d, "status")) ?: "", "delivered") == 0,
	       "delivery: %s", d ? json_dumps(d, JSON_COMPACT) : "(none)");
	CHECK(hits(0) > before);
	json_decref(d);
	unsubscribe(id);
	/* The same calendar URL is fetched now. */
	CHECK_INT(calendar_up(10000), 1);
	CHECK(hits(4) >= 1);
	/* Still refused: other internal literals stay out of reach. */
	struct reply *r = subscribe("http://169.254.169.254/", "[\"ssrf-test.never-emitted\"]");
	CHECK(problem_is(r, 422, "url"));
	reply_free(r);
}

static void test_redirects_not_followed(void)
{
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/redirect", rx_port);
	long long id = subscribed(url);
	new_change();
	json_t *d = attempted(alice, id, 10000);
	CHECK(d != NULL);
	CHECK(hits(1) >= 1);
	CHECK_INT(hits(2), 0);
	CHECK(json_integer_value(json_object_get(d, "last_status_code")) == 302);
	json_decref(d);
	unsubscribe(id);
}

static void test_reply_bodies_not_kept(void)
{
	char url[128], path[96];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/fail", rx_port);
	long long id = subscribed(url);
	new_change();
	json_t *d = attempted(alice, id, 10000);
	CHECK(d != NULL);
	CHECK(hits(3) >= 1);
	json_decref(d);
	snprintf(path, sizeof path, "/v1/webhooks/%lld/deliveries", id);
	const char *who[] = {alice, admin};
	for (size_t i = 0; i < 2; i++) {
		struct reply *r = request(&srv, "GET", path, who[i], NULL, NULL);
		CHECKF(r->status == 200 && strstr(body_of(r), "http status 500") != NULL, "%ld %s",
		       r->status, body_of(r));
		CHECKF(strstr(body_of(r), SECRET_BODY) == NULL, "reply body shown: %s", body_of(r));
		reply_free(r);
	}
	unsubscribe(id);
}

static void setup(void)
{
	snprintf(alice, sizeof alice, "%s", token_for("alice", "requester,change_manager"));
	snprintf(admin, sizeof admin, "%s", token_for("root", "admin"));
	if (!alice[0] || !rx_start() || !write_policies() || !start("")) {
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_internal_literals_refused_at_subscription, test_remote_calendar_refused_at_connect,
      test_name_resolving_to_loopback_refused_at_connect, test_allow_list_reaches_loopback,
      test_redirects_not_followed, test_reply_bodies_not_kept)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	return rc;
}
