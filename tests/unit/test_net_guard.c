/*
 * test_net_guard.c -- the SSRF address guard (net.h): internal ranges of IPv4 and IPv6
 * (IPv4 inside IPv6 too), the admin's allow-list, URL literals, and a request to a name
 * resolving to loopback refused at connect time (nothing is sent: the socket is never
 * opened).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "../unit/harness.h"
#include "net/net.h"

static const char *kind(const struct net_guard *g, const char *ip)
{
	struct sockaddr_in a4 = {.sin_family = AF_INET};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
	if (inet_pton(AF_INET, ip, &a4.sin_addr) == 1)
		return net_guard_refuses(g, (struct sockaddr *)&a4);
	if (inet_pton(AF_INET6, ip, &a6.sin6_addr) == 1)
		return net_guard_refuses(g, (struct sockaddr *)&a6);
	return "unparsed";
}

static void test_internal_ranges(void)
{
	static const char *const refused[] = {
		"127.0.0.1",
		"127.255.0.9",
		"10.1.2.3",
		"172.16.0.1",
		"172.31.255.255",
		"192.168.1.1",
		"169.254.169.254",
		"169.254.0.1",
		"100.64.0.1",
		"100.127.255.255",
		"0.0.0.0",
		"224.0.0.1",
		"255.255.255.255",
		"::1",
		"::",
		"fd00::1",
		"fc00::1",
		"fe80::1",
		"ff02::1",
		"::ffff:127.0.0.1",
		"::ffff:10.0.0.1",
		"::ffff:169.254.169.254",
		"64:ff9b::7f00:1",
		"::127.0.0.1",
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		CHECKF(kind(NULL, refused[i]) != NULL, "%s allowed", refused[i]);
	static const char *const public[] = {"93.184.215.14", "8.8.8.8",         "172.32.0.1",
					     "100.128.0.1",   "2606:4700::1111", "::ffff:8.8.8.8"};
	for (size_t i = 0; i < sizeof public / sizeof public[0]; i++)
		CHECKF(kind(NULL, public[i]) == NULL, "%s refused", public[i]);
	CHECK_STR(kind(NULL, "169.254.169.254"), "a cloud metadata address");
	CHECK_STR(kind(NULL, "127.0.0.1"), "loopback");
}

static void test_allow_list(void)
{
	char err[128];
	struct net_guard *g = net_guard_new("127.0.0.1/32, fd00::/8,10.0.0.0/8", err, sizeof err);
	CHECK(g != NULL);
	CHECK(kind(g, "127.0.0.1") == NULL);
	CHECK(kind(g, "::ffff:127.0.0.1") == NULL); /* mapped: the IPv4 entry applies */
	CHECK(kind(g, "127.0.0.2") != NULL);
	CHECK(kind(g, "fd12::1") == NULL);
	CHECK(kind(g, "10.9.9.9") == NULL);
	CHECK(kind(g, "::1") != NULL);
	CHECK(kind(g, "169.254.169.254") != NULL);
	net_guard_free(g);
	CHECK(net_guard_new("10.0.0.0/33", err, sizeof err) == NULL);
	CHECK(strstr(err, "10.0.0.0/33") != NULL);
	CHECK(net_guard_new("localhost", err, sizeof err) == NULL);
	CHECK(net_guard_new("10.0.0.0/", err, sizeof err) == NULL);
	g = net_guard_new("", err, sizeof err);
	CHECK(g != NULL && kind(g, "127.0.0.1") != NULL);
	net_guard_free(g);
}

static void test_url_literals(void)
{
	char why[256];
	CHECK(!net_guard_check_url(NULL, "http://169.254.169.254/latest", why, sizeof why));
	CHECK(strstr(why, "metadata") != NULL);
	CHECK(!net_guard_check_url(NULL, "http://[fd00::1]:8080/x", why, sizeof why));
	CHECK(!net_guard_check_url(NULL, "http://[::ffff:127.0.0.1]/", why, sizeof why));
	CHECK(!net_guard_check_url(NULL, "https://10.0.0.1/hook", why, sizeof why));
	CHECK(net_guard_check_url(NULL, "https://hooks.example.org/x", why, sizeof why));
	CHECK(net_guard_check_url(NULL, "https://93.184.215.14/x", why, sizeof why));
}

static void test_connect_time_refusal(void)
{
	char err[64];
	net_init();
	struct net_guard *g = net_guard_new("", err, sizeof err);
	struct net_request rq = {.url = "http://localhost:1/hook", .timeout_ms = 2000, .guard = g};
	struct net_reply rp;
	CHECK(net_send(&rq, &rp) == -1);
	CHECKF(strstr(rp.error, "refused to connect") != NULL, "%s", rp.error);
	net_reply_clear(&rp);
	struct net_fetch_opts o = {
		.url = "http://localhost:1/cal.ics", .timeout_ms = 2000, .guard = g};
	struct net_fetch_result r;
	CHECK(net_fetch(&o, &r) == -1);
	CHECKF(strstr(r.error, "refused to connect") != NULL, "%s", r.error);
	net_fetch_result_clear(&r);
	net_guard_free(g);
}

TESTS(test_internal_ranges, test_allow_list, test_url_literals, test_connect_time_refusal)
