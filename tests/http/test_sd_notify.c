/*
 * test_sd_notify.c -- transomd under a Type=notify unit: READY=1 once it listens,
 * RELOADING=1 then READY=1 around a SIGHUP reload, STOPPING=1 at SIGTERM, each one
 * datagram to the socket $NOTIFY_SOCKET names (as systemd does it).
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "lib_http.h"

static struct server srv;
static int sock = -1;
static char sock_path[108];

/* The next datagram within `ms` into `buf` ("" when none came). */
static const char *next_message(char *buf, size_t len, int ms)
{
	struct pollfd p = {.fd = sock, .events = POLLIN};
	buf[0] = '\0';
	if (poll(&p, 1, ms) == 1) {
		ssize_t n = recv(sock, buf, len - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
	}
	return buf;
}

static void test_ready_once_listening(void)
{
	char buf[256];
	CHECK_STR(next_message(buf, sizeof buf, 5000), "READY=1");
	struct reply *r = request(&srv, "GET", "/healthz", NULL, NULL, NULL);
	CHECK_INT(r->status, 200); /* READY=1 came after the listener was up */
	reply_free(r);
	CHECK_STR(next_message(buf, sizeof buf, 200), ""); /* and only once */
}

static void test_reload_is_announced(void)
{
	char buf[256];
	server_signal(&srv, SIGHUP);
	CHECK_STR(next_message(buf, sizeof buf, 5000), "RELOADING=1");
	CHECK_STR(next_message(buf, sizeof buf, 5000), "READY=1");
}

static void test_stopping_is_announced(void)
{
	char buf[256];
	server_signal(&srv, SIGTERM);
	CHECK_STR(next_message(buf, sizeof buf, 5000), "STOPPING=1");
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
}

static void setup(void)
{
	const char *tmp = getenv("TRANSOM_TEST_TMP");
	snprintf(sock_path, sizeof sock_path, "%s/notify.sock", tmp ? tmp : "/tmp");
	unlink(sock_path);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
	sock = socket(AF_UNIX, SOCK_DGRAM, 0);
	static char env_notify[160];
	snprintf(env_notify, sizeof env_notify, "NOTIFY_SOCKET=%s", sock_path);
	const char *env[] = {env_notify, NULL};
	if (sock < 0 || bind(sock, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    !server_start(&srv, NULL, NULL, env)) {
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_ready_once_listening, test_reload_is_announced, test_stopping_is_announced)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	if (srv.pid > 0)
		server_stop(&srv, 10, NULL);
	close(sock);
	unlink(sock_path);
	return rc;
}
