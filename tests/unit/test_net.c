/*
 * test_net.c -- net_fetch() and net_send() against a real local HTTP server.
 *
 * The server is tests/net/stub_server.py under Debian's /usr/bin/python3, started on a
 * free port by the first test that needs it and killed at exit.  Each test uses its own
 * cache directory under one temporary directory, removed at exit.
 */
#include "../unit/harness.h"
#include "crypto/crypto.h"
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STUB_SCRIPT "tests/net/stub_server.py"
#define CAL_BODY                                                                                   \
	"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//transom//stub//EN\r\n"                        \
	"BEGIN:VEVENT\r\nUID:xmas@stub\r\nDTSTART;VALUE=DATE:20261225\r\n"                         \
	"SUMMARY:Christmas Day\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
#define LAST_MODIFIED "Wed, 21 Oct 2026 07:28:00 GMT"

static char tmp_root[64];  /* the temporary directory of this run */
static pid_t server_pid;   /* 0 until started */
static int server_port;    /* 0 when the server could not be started */
static bool server_failed; /* tried and failed: do not try again */

static long long wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void teardown(void)
{
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
		server_pid = 0;
	}
	if (tmp_root[0])
		nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	net_cleanup();
}

/* The temporary directory of this run, created (with net_init) on first use. */
static const char *tmp_dir(void)
{
	if (tmp_root[0] == '\0') {
		snprintf(tmp_root, sizeof tmp_root, "/tmp/transom-net.XXXXXX");
		if (mkdtemp(tmp_root) == NULL) {
			perror("mkdtemp");
			exit(2);
		}
		net_init();
		atexit(teardown);
	}
	return tmp_root;
}

/* A fresh cache directory path (not created: net_fetch creates it) for one test. */
static void cache_dir(char *out, size_t outlen, const char *name)
{
	snprintf(out, outlen, "%s/%s", tmp_dir(), name);
}

/* Starts the stub server once; returns its port, or 0 (with a message) when it cannot. */
static int server(void)
{
	if (server_port != 0 || server_failed)
		return server_port;
	char portfile[128];
	snprintf(portfile, sizeof portfile, "%s/port", tmp_dir());
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		server_failed = true;
		return 0;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl("/usr/bin/python3", "python3", STUB_SCRIPT, portfile, (char *)NULL);
		perror("exec /usr/bin/python3");
		_exit(127);
	}
	server_pid = pid;
	for (long long end = mono_ms() + 5000; mono_ms() < end;) {
		FILE *f = fopen(portfile, "r");
		if (f != NULL) {
			if (fscanf(f, "%d", &server_port) != 1)
				server_port = 0;
			fclose(f);
			if (server_port > 0)
				return server_port;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			server_pid = 0;
			break;
		}
		usleep(10000);
	}
	fprintf(stderr, "  cannot start %s\n", STUB_SCRIPT);
	server_failed = true;
	return 0;
}

/* "http://127.0.0.1:PORT<path>" */
static const char *url(char *out, size_t outlen, const char *path)
{
	snprintf(out, outlen, "http://127.0.0.1:%d%s", server(), path);
	return out;
}

/* What the server saw last for `path` ("inm=...\nims=...\nhits=N\n"), into `out`. */
static void seen(const char *path, char *out, size_t outlen)
{
	char u[256], p[200];
	snprintf(p, sizeof p, "/_seen?path=%s", path);
	struct net_request rq = {.url = url(u, sizeof u, p), .timeout_ms = 2000};
	struct net_reply rp;
	out[0] = '\0';
	if (net_send(&rq, &rp) == 0 && rp.body != NULL)
		snprintf(out, outlen, "%s", rp.body);
	net_reply_clear(&rp);
}

/* Reads a whole small file into `out` (NUL-terminated); returns its length or -1. */
static long slurp(const char *path, char *out, size_t outlen)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	size_t n = fread(out, 1, outlen - 1, f);
	fclose(f);
	out[n] = '\0';
	return (long)n;
}

/* "<dir>/<sha256(url)><suffix>" */
static void cache_file(char *out, size_t outlen, const char *dir, const char *u, const char *suffix)
{
	char hex[CRYPTO_SHA256_HEX_LEN];
	crypto_sha256_hex(u, strlen(u), hex);
	snprintf(out, outlen, "%s/%s%s", dir, hex, suffix);
}

static bool body_is(const struct net_fetch_result *r, const char *want)
{
	return r->body != NULL && r->len == strlen(want) && memcmp(r->body, want, r->len) == 0;
}

static void test_first_fetch_stores_cache(void)
{
	char dir[128], u[128], path[256], text[4096];
	cache_dir(dir, sizeof dir, "first");
	CHECKF(server() != 0, "no stub server");
	struct net_fetch_opts o = {
		.url = url(u, sizeof u, "/cal.ics"), .cache_dir = dir, .timeout_ms = 2000};
	struct net_fetch_result r;
	long long before = wall_ms();
	CHECK_INT(net_fetch(&o, &r), 0);
	CHECK_INT(r.http_status, 200);
	CHECK(body_is(&r, CAL_BODY));
	CHECK(r.body != NULL && r.body[r.len] == '\0');
	CHECK(!r.from_cache);
	CHECK(!r.not_modified);
	CHECK_STR(r.error, "");
	CHECK_STR(r.cache_error, "");
	CHECK(r.fetched_ms >= before && r.fetched_ms <= wall_ms());

	cache_file(path, sizeof path, dir, u, ".body");
	CHECK_INT(slurp(path, text, sizeof text), strlen(CAL_BODY));
	CHECK_STR(text, CAL_BODY);
	cache_file(path, sizeof path, dir, u, ".meta");
	CHECK(slurp(path, text, sizeof text) > 0);
	CHECK(strncmp(text, "transom-net-cache 1\n", 20) == 0);
	CHECK(strstr(text, "\netag \"v1\"\n") != NULL);
	CHECK(strstr(text, "\nlast-modified " LAST_MODIFIED "\n") != NULL);
	CHECK(strstr(text, u) != NULL);
	net_fetch_result_clear(&r);
	CHECK(r.body == NULL && r.len == 0);
	net_fetch_result_clear(NULL);
}

static void test_second_fetch_is_a_304_with_the_cached_body(void)
{
	char dir[128], u[128], saw[256];
	cache_dir(dir, sizeof dir, "second");
	struct net_fetch_opts o = {
		.url = url(u, sizeof u, "/cal.ics"), .cache_dir = dir, .timeout_ms = 2000};
	struct net_fetch_result r1, r2;
	CHECK_INT(net_fetch(&o, &r1), 0);
	CHECK_INT(r1.http_status, 200);
	CHECK_INT(net_fetch(&o, &r2), 0);
	seen("/cal.ics", saw, sizeof saw);
	CHECKF(strstr(saw, "inm=\"v1\"\n") != NULL, "server saw: %s", saw);
	CHECKF(strstr(saw, "ims=" LAST_MODIFIED "\n") != NULL, "server saw: %s", saw);
	CHECK_INT(r2.http_status, 304);
	CHECK(r2.not_modified);
	CHECK(r2.from_cache);
	CHECK(body_is(&r2, CAL_BODY));
	CHECK_STR(r2.error, "");
	CHECK_INT(r2.fetched_ms, r1.fetched_ms);
	net_fetch_result_clear(&r1);
	net_fetch_result_clear(&r2);
}

static void test_last_modified_alone_revalidates(void)
{
	char dir[128], u[128], saw[256];
	cache_dir(dir, sizeof dir, "lm");
	struct net_fetch_opts o = {
		.url = url(u, sizeof u, "/lm-only.ics"), .cache_dir = dir, .timeout_ms = 2000};
	struct net_fetch_result r;
	CHECK_INT(net_fetch(&o, &r), 0);
	CHECK_INT(r.http_status, 200);
	net_fetch_result_clear(&r);
	CHECK_INT(net_fetch(&o, &r), 0);
	seen("/lm-only.ics", saw, sizeof saw);
	CHECKF(strstr(saw, "inm=\n") != NULL, "server saw: %s", saw);
	CHECK_INT(r.http_status, 304);
	CHECK(r.not_modified && r.from_cache);
	CHECK(body_is(&r, "lm-only body\n"));
	net_fetch_result_clear(&r);
}

static void test_500_keeps_the_last_good_copy(void)
{
	char dir[128], u[128];
	cache_dir(dir, sizeof dir, "flaky");
	struct net_fetch_opts o = {
		.url = url(u, sizeof u, "/flaky.ics"), .cache_dir = dir, .timeout_ms = 2000};
	struct net_fetch_result r1, r2;
	CHECK_INT(net_fetch(&o, &r1), 0);
	CHECK(body_is(&r1, "flaky good copy\n"));
	CHECK_INT(net_fetch(&o, &r2), -1);
	CHECK_INT(r2.http_status, 500);
	CHECK_STR(r2.error, "http status 500");
	CHECK(r2.from_cache);
	CHECK(!r2.not_modified);
	CHECK(body_is(&r2, "flaky good copy\n"));
	CHECK_INT(r2.fetched_ms, r1.fetched_ms);
	net_fetch_result_clear(&r2);

	/* The 500 did not replace the cache: the copy is still there next time. */
	CHECK_INT(net_fetch(&o, &r2), -1);
	CHECK(body_is(&r2, "flaky good copy\n"));
	net_fetch_result_clear(&r1);
	net_fetch_result_clear(&r2);
}

static void test_failure_without_a_cache_has_no_body(void)
{
	char dir[128], u[128];
	cache_dir(dir, sizeof dir, "nocache");
	struct net_fetch_opts o = {.url = url(u, sizeof u, "/always-500"), .cache_dir = dir};
	struct net_fetch_result r;
	CHECK_INT(net_fetch(&o, &r), -1);
	CHECK_INT(r.http_status, 500);
	CHECK(r.body == NULL && r.len == 0 && !r.from_cache);
	CHECK_STR(r.error, "http status 500");
	CHECK_INT(r.fetched_ms, 0);
	net_fetch_result_clear(&r);

	/* No cache_dir at all: a plain fetch. */
	o = (struct net_fetch_opts){.url = url(u, sizeof u, "/cal.ics")};
	CHECK_INT(net_fetch(&o, &r), 0);
	CHECK_INT(r.http_status, 200);
	CHECK(body_is(&r, CAL_BODY));
	net_fetch_result_clear(&r);

	/* A 304 to an unconditional request. */
	o = (struct net_fetch_opts){.url = url(u, sizeof u, "/always-304"), .cache_dir = dir};
	CHECK_INT(net_fetch(&o, &r), -1);
	CHECK_INT(r.http_status, 304);
	CHECK_STR(r.error, "http status 304 without a cached copy");
	CHECK(r.body == NULL);
	net_fetch_result_clear(&r);
}

static void test_timeout(void)
{
	char dir[128], u[128];
	cache_dir(dir, sizeof dir, "slow");
	struct net_fetch_opts o = {
		.url = url(u, sizeof u, "/slow"), .cache_dir = dir, .timeout_ms = 300};
	struct net_fetch_result r;
	long long t0 = mono_ms();
	CHECK_INT(net_fetch(&o, &r), -1);
	long long took = mono_ms() - t0;
	CHECKF(took >= 250 && took < 1500, "took %lld ms", took);
	CHECK_STR(r.error, "timed out after 300 ms");
	CHECK_INT(r.http_status, 0);
	CHECK(r.body == NULL);
	net_fetch_result_clear(&r);

	struct net_request rq = {
		.method = "POST", .url = u, .body = "x", .len = 1, .timeout_ms = 300};
	struct net_reply rp;
	CHECK_INT(net_send(&rq, &rp), -1);
	CHECK_STR(rp.error, "timed out after 300 ms");
	CHECK(rp.body == NULL);
	net_reply_clear(&rp);
}

static void test_max_bytes(void)
{
	char dir[128], u[128], path[256];
	cache_dir(dir, sizeof dir, "big");
	struct net_fetch_opts o = {.url = url(u, sizeof u, "/big"),
				   .cache_dir = dir,
				   .timeout_ms = 2000,
				   .max_bytes = 1024};
	struct net_fetch_result r;
	CHECK_INT(net_fetch(&o, &r), -1);
	CHECK_STR(r.error, "body larger than 1024 bytes");
	CHECK(r.body == NULL);
	cache_file(path, sizeof path, dir, u, ".body");
	CHECK(access(path, F_OK) != 0);
	net_fetch_result_clear(&r);

	/* Without a Content-Length the transfer is stopped once the bytes pass the limit. */
	o.url = url(u, sizeof u, "/big-stream");
	CHECK_INT(net_fetch(&o, &r), -1);
	CHECK_STR(r.error, "body larger than 1024 bytes");
	CHECK_INT(r.http_status, 200);
	CHECK(r.body == NULL);
	net_fetch_result_clear(&r);

	/* Exactly at the limit is fine. */
	o.max_bytes = 65536;
	CHECK_INT(net_fetch(&o, &r), 0);
	CHECK_INT(r.len, 65536);
	net_fetch_result_clear(&r);
}

static void test_a_new_version_replaces_the_cache(void)
{
	char dir[128], u[128], path[256], text[256];
	cache_dir(dir, sizeof dir, "counter");
	struct net_fetch_opts o = {
		.url = url(u, sizeof u, "/counter.ics"), .cache_dir = dir, .timeout_ms = 2000};
	struct net_fetch_result r1, r2;
	CHECK_INT(net_fetch(&o, &r1), 0);
	CHECK(body_is(&r1, "count 1\n"));
	CHECK_INT(net_fetch(&o, &r2), 0);
	CHECK(body_is(&r2, "count 2\n"));
	CHECK(!r2.from_cache && !r2.not_modified);
	CHECK(r2.fetched_ms >= r1.fetched_ms);
	cache_file(path, sizeof path, dir, u, ".body");
	slurp(path, text, sizeof text);
	CHECK_STR(text, "count 2\n");
	cache_file(path, sizeof path, dir, u, ".meta");
	slurp(path, text, sizeof text);
	CHECK(strstr(text, "\netag \"c2\"\n") != NULL);
	net_fetch_result_clear(&r1);
	net_fetch_result_clear(&r2);
}

static void test_redirects_and_protocols(void)
{
	char u[128];
	struct net_fetch_opts o = {.url = url(u, sizeof u, "/redirect"), .timeout_ms = 2000};
	struct net_fetch_result r;
	CHECK_INT(net_fetch(&o, &r), 0);
	CHECK_INT(r.http_status, 200);
	CHECK(body_is(&r, CAL_BODY));
	net_fetch_result_clear(&r);

	o.url = url(u, sizeof u, "/redirect-loop");
	CHECK_INT(net_fetch(&o, &r), -1);
	CHECK_STR(r.error, "more than 5 redirects");
	net_fetch_result_clear(&r);

	o.url = url(u, sizeof u, "/redirect-file");
	CHECK_INT(net_fetch(&o, &r), -1);
	CHECKF(strncmp(r.error, "protocol not allowed", 20) == 0, "error: %s", r.error);
	CHECK(r.body == NULL);
	net_fetch_result_clear(&r);

	const char *bad[] = {"file:///etc/hostname", "ftp://127.0.0.1/x", "", "http://a b/", NULL};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		o.url = bad[i];
		CHECK_INT(net_fetch(&o, &r), -1);
		CHECKF(r.error[0] != '\0' && r.body == NULL, "url %s", bad[i] ? bad[i] : "NULL");
		net_fetch_result_clear(&r);
	}
	CHECK_INT(net_fetch(NULL, &r), -1);
	CHECK_STR(r.error, "no options");
}

/* The cache is on disk: a new process with a new result struct revalidates and gets 304. */
static void test_cache_survives_into_a_fresh_process(void)
{
	char dir[128], u[128];
	cache_dir(dir, sizeof dir, "fresh");
	struct net_fetch_opts o = {
		.url = url(u, sizeof u, "/cal.ics"), .cache_dir = dir, .timeout_ms = 2000};
	struct net_fetch_result r;
	CHECK_INT(net_fetch(&o, &r), 0);
	long long fetched = r.fetched_ms;
	net_fetch_result_clear(&r);

	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct net_fetch_result c;
		int bad = 0;
		bad |= net_fetch(&o, &c) != 0;
		bad |= !c.not_modified || !c.from_cache || c.http_status != 304;
		bad |= !body_is(&c, CAL_BODY) || c.fetched_ms != fetched;
		net_fetch_result_clear(&c);
		_exit(bad);
	}
	int status = -1;
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
}

static void test_a_tampered_cache_is_ignored(void)
{
	char dir[128], u[128], path[256], saw[256];
	cache_dir(dir, sizeof dir, "tampered");
	struct net_fetch_opts o = {
		.url = url(u, sizeof u, "/cal.ics"), .cache_dir = dir, .timeout_ms = 2000};
	struct net_fetch_result r;
	CHECK_INT(net_fetch(&o, &r), 0);
	net_fetch_result_clear(&r);

	cache_file(path, sizeof path, dir, u, ".body");
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", f);
		fclose(f);
	}
	/* Not trusted, so no validators are sent: a full 200 repairs the cache. */
	CHECK_INT(net_fetch(&o, &r), 0);
	seen("/cal.ics", saw, sizeof saw);
	CHECKF(strstr(saw, "inm=\n") != NULL, "server saw: %s", saw);
	CHECK_INT(r.http_status, 200);
	CHECK(body_is(&r, CAL_BODY));
	CHECKF(strstr(r.cache_error, "does not match its meta") != NULL, "cache_error: %s",
	       r.cache_error);
	net_fetch_result_clear(&r);
	CHECK_INT(net_fetch(&o, &r), 0);
	CHECK_INT(r.http_status, 304);
	CHECK_STR(r.cache_error, "");
	net_fetch_result_clear(&r);
}

struct worker {
	const char *url, *dir;
	int rc;
	bool body_ok;
};

static void *fetch_worker(void *arg)
{
	struct worker *w = arg;
	struct net_fetch_opts o = {.url = w->url, .cache_dir = w->dir, .timeout_ms = 3000};
	struct net_fetch_result r;
	w->rc = net_fetch(&o, &r);
	w->body_ok = body_is(&r, CAL_BODY);
	net_fetch_result_clear(&r);
	return NULL;
}

static void test_concurrent_fetches_share_one_cache(void)
{
	char dir[128], u[128];
	cache_dir(dir, sizeof dir, "threads");
	url(u, sizeof u, "/cal.ics");
	struct worker w[8];
	pthread_t t[8];
	for (int i = 0; i < 8; i++) {
		w[i] = (struct worker){.url = u, .dir = dir, .rc = -2};
		CHECK(pthread_create(&t[i], NULL, fetch_worker, &w[i]) == 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(w[i].rc, 0);
		CHECK(w[i].body_ok);
	}
	/* Whichever writer won, the pair on disk is consistent. */
	struct net_fetch_opts o = {.url = u, .cache_dir = dir, .timeout_ms = 2000};
	struct net_fetch_result r;
	CHECK_INT(net_fetch(&o, &r), 0);
	CHECK_INT(r.http_status, 304);
	CHECK_STR(r.cache_error, "");
	net_fetch_result_clear(&r);
}

static void test_send_post_with_headers_echoes(void)
{
	char u[128];
	const char *json = "{\"event\":\"record.approved\",\"id\":\"CHG-42\"}";
	struct net_header h[] = {
		{"Content-Type", "application/json"},
		{"X-Transom-Event", "record.approved"},
		{"X-Empty", ""},
	};
	struct net_request rq = {.method = "POST",
				 .url = url(u, sizeof u, "/echo?status=201"),
				 .headers = h,
				 .n_headers = 3,
				 .body = json,
				 .len = strlen(json),
				 .timeout_ms = 2000};
	struct net_reply rp;
	CHECK_INT(net_send(&rq, &rp), 0);
	CHECK_INT(rp.status, 201);
	CHECK_STR(rp.error, "");
	CHECK(!rp.truncated);
	CHECK(rp.body != NULL && rp.len == strlen(rp.body));
	const char *b = rp.body ? rp.body : "";
	CHECK(strncmp(b, "method POST\npath /echo\n", 23) == 0);
	CHECK(strstr(b, "\nheader content-type: application/json\n") != NULL);
	CHECK(strstr(b, "\nheader x-transom-event: record.approved\n") != NULL);
	CHECK(strstr(b, "\nheader x-empty: \n") != NULL);
	char clen[64];
	snprintf(clen, sizeof clen, "\nheader content-length: %zu\n", strlen(json));
	CHECKF(strstr(b, clen) != NULL, "%s", b);
	CHECK(strstr(b, "\nheader expect:") == NULL);
	CHECK(strstr(b, "\nheader user-agent: " NET_USER_AGENT_DEFAULT "\n") != NULL);
	const char *tail = strstr(b, "\nbody ");
	CHECK(tail != NULL && strcmp(tail + 6, json) == 0);
	net_reply_clear(&rp);
	CHECK(rp.body == NULL);
	net_reply_clear(NULL);
}

static void test_send_other_methods(void)
{
	char u[128];
	struct net_reply rp;
	char big[4000];
	memset(big, 'q', sizeof big);

	/* PUT with a large untyped body: no invented Content-Type, no Expect. */
	struct net_request rq = {.method = "PUT",
				 .url = url(u, sizeof u, "/echo"),
				 .body = big,
				 .len = sizeof big,
				 .timeout_ms = 2000};
	CHECK_INT(net_send(&rq, &rp), 0);
	CHECK_INT(rp.status, 200);
	const char *b = rp.body ? rp.body : "";
	CHECK(strncmp(b, "method PUT\n", 11) == 0);
	CHECK(strstr(b, "\nheader content-type:") == NULL);
	CHECK(strstr(b, "\nheader expect:") == NULL);
	CHECK(strstr(b, "\nheader content-length: 4000\n") != NULL);
	net_reply_clear(&rp);

	/* No method, no body: GET.  A 404 is a reply, not a failure. */
	rq = (struct net_request){.url = url(u, sizeof u, "/nowhere"), .timeout_ms = 2000};
	CHECK_INT(net_send(&rq, &rp), 0);
	CHECK_INT(rp.status, 404);
	net_reply_clear(&rp);

	rq = (struct net_request){
		.method = "DELETE", .url = url(u, sizeof u, "/echo"), .timeout_ms = 2000};
	CHECK_INT(net_send(&rq, &rp), 0);
	CHECK(rp.body != NULL && strncmp(rp.body, "method DELETE\n", 14) == 0);
	net_reply_clear(&rp);

	/* POST without a body sends Content-Length: 0. */
	rq = (struct net_request){
		.method = "POST", .url = url(u, sizeof u, "/echo"), .timeout_ms = 2000};
	CHECK_INT(net_send(&rq, &rp), 0);
	CHECK(rp.body != NULL && strstr(rp.body, "\nheader content-length: 0\n") != NULL);
	net_reply_clear(&rp);

	/* Redirects are handed back, not followed. */
	rq = (struct net_request){.url = url(u, sizeof u, "/redirect"), .timeout_ms = 2000};
	CHECK_INT(net_send(&rq, &rp), 0);
	CHECK_INT(rp.status, 302);
	net_reply_clear(&rp);

	/* HEAD: a status, no body. */
	rq = (struct net_request){
		.method = "HEAD", .url = url(u, sizeof u, "/cal.ics"), .timeout_ms = 2000};
	CHECK_INT(net_send(&rq, &rp), 0);
	CHECK_INT(rp.status, 200);
	CHECK(rp.body == NULL && rp.len == 0);
	net_reply_clear(&rp);
}

static void test_send_truncates_a_long_reply(void)
{
	char u[128];
	struct net_request rq = {.method = "POST",
				 .url = url(u, sizeof u, "/echo-big"),
				 .body = "{}",
				 .len = 2,
				 .timeout_ms = 2000,
				 .max_reply = 100};
	struct net_reply rp;
	CHECK_INT(net_send(&rq, &rp), 0);
	CHECK_INT(rp.status, 200);
	CHECK(rp.truncated);
	CHECK_INT(rp.len, 100);
	CHECK(rp.body != NULL && rp.body[0] == 'x' && rp.body[99] == 'x' && rp.body[100] == '\0');
	net_reply_clear(&rp);
}

/* A port nothing listens on: bound, then closed. */
static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	int port = 0;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &al) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void test_send_refuses_bad_requests_and_reports_transport_errors(void)
{
	char u[128];
	struct net_reply rp;
	struct net_request rq = {.method = "PO ST", .url = url(u, sizeof u, "/echo")};
	CHECK_INT(net_send(&rq, &rp), -1);
	CHECK_STR(rp.error, "method is not an http token");
	net_reply_clear(&rp);

	struct net_header split[] = {{"X-A", "1\r\nX-Injected: 2"}};
	rq = (struct net_request){.url = u, .headers = split, .n_headers = 1};
	CHECK_INT(net_send(&rq, &rp), -1);
	CHECK_STR(rp.error, "bad header 0 (X-A)");
	net_reply_clear(&rp);

	struct net_header noname[] = {{"X A", "1"}};
	rq = (struct net_request){.url = u, .headers = noname, .n_headers = 1};
	CHECK_INT(net_send(&rq, &rp), -1);
	CHECK(strncmp(rp.error, "bad header 0", 12) == 0);
	net_reply_clear(&rp);

	rq = (struct net_request){.url = "gopher://127.0.0.1/"};
	CHECK_INT(net_send(&rq, &rp), -1);
	CHECK_STR(rp.error, "url scheme not allowed (http and https only)");
	net_reply_clear(&rp);

	snprintf(u, sizeof u, "http://127.0.0.1:%d/", closed_port());
	rq = (struct net_request){
		.method = "POST", .url = u, .body = "{}", .len = 2, .timeout_ms = 2000};
	CHECK_INT(net_send(&rq, &rp), -1);
	CHECK_INT(rp.status, 0);
	CHECKF(strncmp(rp.error, "connect: ", 9) == 0, "error: %s", rp.error);
	net_reply_clear(&rp);
}

TESTS(test_first_fetch_stores_cache, test_second_fetch_is_a_304_with_the_cached_body,
      test_last_modified_alone_revalidates, test_500_keeps_the_last_good_copy,
      test_failure_without_a_cache_has_no_body, test_timeout, test_max_bytes,
      test_a_new_version_replaces_the_cache, test_redirects_and_protocols,
      test_cache_survives_into_a_fresh_process, test_a_tampered_cache_is_ignored,
      test_concurrent_fetches_share_one_cache, test_send_post_with_headers_echoes,
      test_send_other_methods, test_send_truncates_a_long_reply,
      test_send_refuses_bad_requests_and_reports_transport_errors)
