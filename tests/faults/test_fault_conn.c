/*
 * test_fault_conn.c -- one client cannot take the replica down: thousands of idle
 * sockets from one address, and connections that send their request head a byte at a
 * time, leave other clients served within 2 s; slow heads are cut at the head deadline;
 * the service recovers at once when the flood ends.
 *
 * "Other clients" connect from 127.0.0.2 (bound before connecting), a different
 * address from the flood's 127.0.0.1, as a second machine would.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "fault_steps.h"

static struct server srv;
static char admin[128];
static unsigned port;

static bool start(void)
{
	static bool up;
	if (!up) {
		struct rlimit rl;
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		const char *env[] = {"TRANSOM_HEADER_TIMEOUT=3", NULL};
		up = server_start(&srv, NULL, NULL, env);
		snprintf(admin, sizeof admin, "%s", token_for("admin", "admin"));
		const char *colon = strrchr(srv.base, ':');
		port = colon ? (unsigned)atoi(colon + 1) : 0;
	}
	return up;
}

/* A socket from `from` connected (or connecting, when `nonblock`) to the server. */
static int dial(const char *from, bool nonblock)
{
	int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in src = {.sin_family = AF_INET};
	inet_pton(AF_INET, from, &src.sin_addr);
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0 ||
	    (connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0 && errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Sends one request from 127.0.0.2 and waits up to `limit` seconds for the status line.
 * Returns the status (0 on no answer); `*secs` the time it took.
 */
static int served(const char *method, const char *path, const char *body, double limit,
		  double *secs)
{
	char req[2048], buf[256];
	double t0 = now_s();
	int fd = dial("127.0.0.2", false);
	if (fd < 0)
		return 0;
	int n = snprintf(req, sizeof req,
			 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
			 "Connection: close\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 method, path, admin, body ? strlen(body) : 0, body ? body : "");
	int status = 0;
	if (write(fd, req, (size_t)n) == n) {
		struct pollfd p = {fd, POLLIN, 0};
		size_t got = 0;
		while (got < 12 && poll(&p, 1, (int)(limit * 1000)) == 1) {
			ssize_t k = read(fd, buf + got, sizeof buf - 1 - got);
			if (k <= 0)
				break;
			got += (size_t)k;
		}
		buf[got] = '\0';
		if (got >= 12 && strncmp(buf, "HTTP/1.", 7) == 0)
			status = atoi(buf + 9);
	}
	close(fd);
	*secs = now_s() - t0;
	return status;
}

/* Other clients: liveness, a read and a write, each within 2 s. */
static void others_are_served(const char *during)
{
	static const char incident[] =
		"{\"title\": \"Checkout errors\", \"service\": \"payments\", \"priority\": \"P2\"}";
	double secs;
	int st = served("GET", "/healthz", NULL, 2.0, &secs);
	CHECKF(st == 200 && secs < 2.0, "%s: /healthz %d after %.2f s", during, st, secs);
	st = served("GET", "/v1/incidents", NULL, 2.0, &secs);
	CHECKF(st == 200 && secs < 2.0, "%s: GET /v1/incidents %d after %.2f s", during, st, secs);
	st = served("POST", "/v1/incidents", incident, 2.0, &secs);
	CHECKF(st == 201 && secs < 2.0, "%s: POST /v1/incidents %d after %.2f s", during, st, secs);
}

/* Opens `n` idle sockets from `from` into `fds`; returns how many connected. */
static unsigned flood(const char *from, int *fds, unsigned n)
{
	unsigned ok = 0;
	for (unsigned i = 0; i < n; i++) {
		fds[i] = dial(from, true);
		ok += fds[i] >= 0;
	}
	usleep(500 * 1000); /* let the server accept (and refuse) them */
	return ok;
}

static void close_all(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void test_2000_idle_and_1100_slow_header_connections(void)
{
	static int idle[2000], slow[1100];
	if (!start())
		return;
	CHECK(flood("127.0.0.1", idle, 2000) > 1000);
	/* slow heads: a request line, then a header byte every second */
	for (unsigned i = 0; i < 1100; i++) {
		slow[i] = dial("127.0.0.1", false);
		if (slow[i] >= 0 && write(slow[i], "GET /healthz HTTP/1.1\r\nX", 24) < 0) {
			close(slow[i]);
			slow[i] = -1;
		}
	}
	for (int round = 0; round < 3; round++) {
		for (unsigned i = 0; i < 1100; i++)
			if (slow[i] >= 0 &&
			    send(slow[i], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				close(slow[i]);
				slow[i] = -1;
			}
		others_are_served("2000 idle + 1100 slow-header connections");
		sleep(1);
	}
	close_all(idle, 2000);
	close_all(slow, 1100);
	others_are_served("after the flood");
}

static void test_5000_idle_sockets_from_one_address(void)
{
	static int fds[5000];
	if (!start())
		return;
	unsigned n = flood("127.0.0.1", fds, 5000);
	CHECKF(n >= 4000, "only %u sockets opened (RLIMIT_NOFILE?)", n);
	others_are_served("5000 idle sockets from one address");
	sleep(1);
	others_are_served("5000 idle sockets from one address, a second later");
	close_all(fds, 5000);
	others_are_served("right after the 5000 sockets closed");
}

/* True when the server has closed `fd` (EOF or reset), waiting up to `ms`. */
static bool closed_by_server(int fd, int ms)
{
	char buf[512];
	struct pollfd p = {fd, POLLIN, 0};
	double end = now_s() + ms / 1000.0;
	while (now_s() < end) {
		if (poll(&p, 1, 100) == 1) {
			ssize_t k = read(fd, buf, sizeof buf);
			if (k == 0 || (k < 0 && errno != EAGAIN))
				return true;
		}
		send(fd, "y", 1, MSG_NOSIGNAL | MSG_DONTWAIT); /* keep dribbling */
	}
	return false;
}

static void test_a_slow_request_head_is_cut_at_the_deadline(void)
{
	int fds[20];
	if (!start())
		return;
	/* a few, from their own address: under the per-address cap, only the deadline acts */
	for (int i = 0; i < 20; i++) {
		fds[i] = dial("127.0.0.3", false);
		if (fds[i] >= 0 && write(fds[i], "GET /healthz HTTP/1.1\r\nX-Slow: ", 31) < 0) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	double t0 = now_s();
	unsigned cut = 0;
	for (int i = 0; i < 20; i++)
		cut += fds[i] >= 0 && closed_by_server(fds[i], 6000);
	CHECKF(cut == 20, "%u of 20 slow heads closed by the server", cut);
	CHECKF(now_s() - t0 < 7.0, "the slow heads lasted %.1f s (deadline 3 s)", now_s() - t0);
	for (int i = 0; i < 20; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	/* a keep-alive client that sends its requests in time is not cut */
	double secs;
	CHECK_INT(served("GET", "/healthz", NULL, 2.0, &secs), 200);
}

static void test_the_server_stops_cleanly(void)
{
	if (start())
		CHECK_INT(server_stop(&srv, 20, NULL), 0);
}

TESTS(test_2000_idle_and_1100_slow_header_connections, test_5000_idle_sockets_from_one_address,
      test_a_slow_request_head_is_cut_at_the_deadline, test_the_server_stops_cleanly)
