/*
 * guard.c -- which addresses outbound requests may reach (net.h, "address guard").
 *
 * Pure address arithmetic (no libcurl): the internal ranges, the admin's allow-list, and
 * the literal host of a URL.  net.c applies it to every connection libcurl opens.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "net/net.h"

#define GUARD_NETS_MAX 64

struct net_cidr {
	int family;             /* AF_INET or AF_INET6 */
	unsigned char addr[16]; /* network bytes (4 used for IPv4) */
	unsigned bits;
};

struct net_guard {
	size_t n;
	struct net_cidr nets[GUARD_NETS_MAX];
};

/* Whether the first `bits` bits of `a` and `b` agree. */
static bool prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	size_t whole = bits / 8;
	if (memcmp(a, b, whole) != 0)
		return false;
	unsigned rest = bits % 8;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[whole] & mask) == (b[whole] & mask);
}

static bool parse_cidr(const char *text, struct net_cidr *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (strlen(text) >= sizeof buf)
		return false;
	snprintf(buf, sizeof buf, "%s", text);
	char *slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		out->bits = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		out->bits = 128;
	} else {
		return false;
	}
	if (slash != NULL) {
		char *end;
		const char *b = slash + 1;
		if (!isdigit((unsigned char)*b))
			return false;
		unsigned long v = strtoul(b, &end, 10);
		if (*end != '\0' || v > out->bits)
			return false;
		out->bits = (unsigned)v;
	}
	return true;
}

struct net_guard *net_guard_new(const char *cidrs, char *err, size_t errlen)
{
	struct net_guard *g = calloc(1, sizeof *g);
	if (g == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	const char *p = cidrs ? cidrs : "";
	while (*p) {
		while (*p == ',' || *p == ' ')
			p++;
		size_t n = strcspn(p, ", ");
		if (n == 0)
			break;
		char item[80];
		if (n >= sizeof item || g->n == GUARD_NETS_MAX) {
			snprintf(err, errlen, "too long a network or more than %d", GUARD_NETS_MAX);
			free(g);
			return NULL;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (!parse_cidr(item, &g->nets[g->n])) {
			snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 network (CIDR)", item);
			free(g);
			return NULL;
		}
		g->n++;
		p += n;
	}
	return g;
}

void net_guard_free(struct net_guard *g)
{
	free(g);
}

/* The internal range IPv4 address `a` (network bytes) falls in, or NULL. */
static const char *v4_kind(const unsigned char *a)
{
	static const struct {
		unsigned char net[4];
		unsigned bits;
		const char *kind;
	} ranges[] = {
		{{169, 254, 169, 254}, 32, "a cloud metadata address"},
		{{0, 0, 0, 0}, 8, "unspecified"},
		{{10, 0, 0, 0}, 8, "private"},
		{{100, 64, 0, 0}, 10, "carrier-grade NAT"},
		{{127, 0, 0, 0}, 8, "loopback"},
		{{169, 254, 0, 0}, 16, "link-local"},
		{{172, 16, 0, 0}, 12, "private"},
		{{192, 0, 0, 0}, 24, "reserved (IETF)"},
		{{192, 168, 0, 0}, 16, "private"},
		{{198, 18, 0, 0}, 15, "reserved (benchmarking)"},
		{{224, 0, 0, 0}, 4, "multicast"},
		{{240, 0, 0, 0}, 4, "reserved"},
	};
	for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
		if (prefix_eq(a, ranges[i].net, ranges[i].bits))
			return ranges[i].kind;
	return NULL;
}

/* The IPv4 address embedded in IPv6 `a` (mapped, compatible, NAT64), or NULL. */
static const unsigned char *v6_embedded_v4(const unsigned char *a)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};
	static const unsigned char zero[12] = {0};
	if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
		return a + 12;
	if (memcmp(a, zero, 12) == 0 && !(a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] <= 1))
		return a + 12; /* ::a.b.c.d (deprecated IPv4-compatible) */
	return NULL;
}

static const char *v6_kind(const unsigned char *a)
{
	static const unsigned char zero[16] = {0};
	if (memcmp(a, zero, 15) == 0 && a[15] == 0)
		return "unspecified";
	if (memcmp(a, zero, 15) == 0 && a[15] == 1)
		return "loopback";
	const unsigned char *v4 = v6_embedded_v4(a);
	if (v4 != NULL)
		return v4_kind(v4);
	if ((a[0] & 0xfe) == 0xfc)
		return "private (unique local)";
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return "link-local";
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
		return "private (site-local)";
	if (a[0] == 0xff)
		return "multicast";
	return NULL;
}

static bool allowed(const struct net_guard *g, int family, const unsigned char *a)
{
	const unsigned char *v4 = family == AF_INET6 ? v6_embedded_v4(a) : NULL;
	for (size_t i = 0; g != NULL && i < g->n; i++) {
		const struct net_cidr *c = &g->nets[i];
		if (c->family == family && prefix_eq(a, c->addr, c->bits))
			return true;
		if (v4 != NULL && c->family == AF_INET && prefix_eq(v4, c->addr, c->bits))
			return true;
	}
	return false;
}

const char *net_guard_refuses(const struct net_guard *g, const struct sockaddr *sa)
{
	if (sa == NULL)
		return "no address";
	if (sa->sa_family == AF_INET) {
		const unsigned char *a =
			(const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
		const char *kind = v4_kind(a);
		return kind != NULL && !allowed(g, AF_INET, a) ? kind : NULL;
	}
	if (sa->sa_family == AF_INET6) {
		const unsigned char *a =
			(const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		const char *kind = v6_kind(a);
		return kind != NULL && !allowed(g, AF_INET6, a) ? kind : NULL;
	}
	return "not an IP address";
}

bool net_guard_check_host(const struct net_guard *g, const char *host, char *why, size_t whylen)
{
	char buf[INET6_ADDRSTRLEN + 4];
	size_t n = host ? strlen(host) : 0;
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof buf)
		return true; /* a name (or nothing): checked when it is resolved */
	memcpy(buf, host, n);
	buf[n] = '\0';
	char *pct = strchr(buf, '%'); /* fe80::1%eth0 */
	if (pct != NULL)
		*pct = '\0';
	struct sockaddr_in a4 = {.sin_family = AF_INET};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
	const char *kind = NULL;
	if (inet_pton(AF_INET, buf, &a4.sin_addr) == 1)
		kind = net_guard_refuses(g, (struct sockaddr *)&a4);
	else if (inet_pton(AF_INET6, buf, &a6.sin6_addr) == 1)
		kind = net_guard_refuses(g, (struct sockaddr *)&a6);
	if (kind == NULL)
		return true;
	snprintf(why, whylen, "%s is %s: not reachable unless TRANSOM_WEBHOOK_ALLOW_NETS allows it",
		 buf, kind);
	return false;
}
