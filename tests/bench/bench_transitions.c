/*
 * bench_transitions.c -- the HTTP side of `make bench` (tests/bench/run.sh drives it).
 *
 *   bench_transitions URL TOKEN create N          create N changes (CHG-1..CHG-N)
 *   bench_transitions URL TOKEN fire ID EVENT     fire one event, print the status
 *   bench_transitions URL TOKEN run CLIENTS RECORDS WARMUP SECONDS
 *   bench_transitions URL TOKEN post CLIENTS PATH BODY WARMUP SECONDS
 *                                                 the same loop, each request a POST of
 *                                                 BODY to PATH that must answer 201
 *   bench_transitions URL TOKEN get CLIENTS RECORDS PATH WARMUP SECONDS
 *                                                 the same loop, each request a GET of
 *                                                 PATH that must answer 200; a "%u" in
 *                                                 PATH becomes the client's next record
 *                                                 number (its slice of 1..RECORDS)
 *   bench_transitions URL - lifecycle CLIENTS USERS WARMUP SECONDS
 *                                                 the same loop, each iteration a normal
 *                                                 change's whole way (lifecycle_once) as
 *                                                 the users of USERS ("NAME TOKEN 0|1"
 *                                                 lines, 1 = may request)
 *   bench_transitions - - cpu PID                 CPU seconds of PID's process tree, and
 *                                                 the machine's busy CPU seconds
 *
 * `run` starts CLIENTS threads, each with its own keep-alive connection (connected
 * one after the other, see cmd_run) and its own slice of the changes CHG-1..CHG-RECORDS
 * (client k owns k+1, k+1+CLIENTS, ...), so no two clients wait on one row lock; every
 * transition still appends to the one audit chain.  Each client fires flip or flop,
 * whichever its record's state allows, and checks the reply is 200 with the new state.
 * Replies completed in the first WARMUP seconds are not counted; then SECONDS are
 * measured.  Output is `key=value` lines for run.sh, with the CPU time per transition of
 * this client, of transomd (BENCH_SERVER_PID) and of PostgreSQL (BENCH_PG_PID, the
 * postmaster, and its backends) over the measured window.
 * Exit status 1 when any request failed.
 */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../http/lib_http.h"

#define SHOW_ERRORS 5 /* error replies printed in full, per client */
#define MAX_USERS   64
#define MAX_VOTES   16 /* votes one lifecycle may need, at most */

/* What all clients share: read-only once the `go` barrier has been passed. */
struct plan {
	const char *base, *token;
	char host[256], port[16]; /* of `base` */
	unsigned clients, records;
	const char *post_path, *post_body; /* `post`: the request each client repeats */
	const char *get_path;              /* `get`: the path each client reads, "%u" = id */
	bool lifecycle;                    /* `lifecycle`: the normal change's whole way */
	unsigned nusers, nrequesters;
	const char *user[MAX_USERS];   /* people.json's users with a token ... */
	char *user_hdr[MAX_USERS];     /* ... their request header lines */
	unsigned requester[MAX_USERS]; /* users who may request (in no board) */
	double measure_at, end_at;     /* CLOCK_MONOTONIC seconds */
	sem_t loaded;                  /* a client has connected and read its records */
	pthread_barrier_t go;
};

struct client {
	pthread_t thread;
	struct plan *plan;
	unsigned index;
	int fd;        /* the kept-alive connection, or -1 */
	bool fresh;    /* no request has been sent on it yet */
	char *headers; /* the request header lines with the plan's token */
	char *in;      /* bytes received and not yet consumed (NUL-terminated) */
	size_t in_len, in_cap;
	char out[4096]; /* the request being sent */
	char *buf;      /* the reply body */
	size_t len, cap;
	unsigned nrec;
	unsigned *ids; /* record numbers this client owns */
	bool *in_b;    /* their states: false = a, true = b */
	unsigned long long done, errors, warm;
	double lat_sum, lat_max;
	float *lat; /* every measured latency, seconds */
	size_t nlat, caplat;
	unsigned long long iter; /* `lifecycle`: iterations begun */
	unsigned long long requests, measured_requests;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	double d = t - now_s();
	if (d > 0) {
		struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
		nanosleep(&ts, NULL);
	}
}

/* ---- the wire: a lean HTTP/1.1 keep-alive client ---------------------------------------
 *
 * The timed loops speak HTTP over a plain socket, as wrk does, so that the client costs
 * about what pgbench's own client does on the other side of the ratio (libcurl's easy
 * interface spent 90-140 µs of CPU a request here, pgbench 65-85 µs a transaction).
 * One request at a time per connection; replies with Content-Length or chunked bodies.
 * A kept-alive connection the server closed before answering is opened again and the
 * request sent once more, as libcurl does.
 */

/* Connects to the plan's host and port; false (printed) when it cannot. */
static bool wire_connect(struct client *c)
{
	const struct plan *p = c->plan;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
	int e = getaddrinfo(p->host, p->port, &hints, &ai);
	if (e != 0) {
		fprintf(stderr, "client %u: %s:%s: %s\n", c->index, p->host, p->port,
			gai_strerror(e));
		return false;
	}
	c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (c->fd >= 0 && connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(ai);
	if (c->fd < 0) {
		fprintf(stderr, "client %u: connect %s:%s: %s\n", c->index, p->host, p->port,
			strerror(errno));
		return false;
	}
	int one = 1;
	struct timeval tv = {30, 0};
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	c->in_len = 0;
	c->fresh = true;
	return true;
}

static void wire_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Reads more of the reply into c->in; false on EOF, error or timeout. */
static bool wire_fill(struct client *c)
{
	if (c->in_len + 4096 > c->in_cap) {
		size_t cap = c->in_cap ? c->in_cap * 2 : 16384;
		char *p = realloc(c->in, cap);
		if (p == NULL)
			return false;
		c->in = p;
		c->in_cap = cap;
	}
	ssize_t n;
	do
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return false;
	c->in_len += (size_t)n;
	c->in[c->in_len] = '\0';
	return true;
}

/* Appends `n` bytes at `s` to the reply body c->buf (kept NUL-terminated). */
static bool body_add(struct client *c, const char *s, size_t n)
{
	if (c->len + n + 1 > c->cap) {
		size_t cap = (c->len + n + 1) * 2;
		char *p = realloc(c->buf, cap);
		if (p == NULL)
			return false;
		c->buf = p;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, s, n);
	c->len += n;
	c->buf[c->len] = '\0';
	return true;
}

/* Makes sure c->in holds `n` bytes from offset `at`. */
static bool wire_need(struct client *c, size_t at, size_t n)
{
	while (c->in_len < at + n)
		if (!wire_fill(c))
			return false;
	return true;
}

/* The value of header `name` (with its colon, lower case) in the head `h`, or NULL. */
static const char *head_value(const char *h, size_t hlen, const char *name)
{
	size_t nl = strlen(name);
	for (const char *l = h; l < h + hlen;) {
		const char *eol = memchr(l, '\n', (size_t)(h + hlen - l));
		if (eol == NULL)
			break;
		if ((size_t)(eol - l) > nl && strncasecmp(l, name, nl) == 0) {
			l += nl;
			while (*l == ' ' || *l == '\t')
				l++;
			return l;
		}
		l = eol + 1;
	}
	return NULL;
}

/*
 * Reads one reply: its status (0 when the connection failed), the body into c->buf.
 * `*nothing` is set when the connection ended before a byte of it came.
 */
static long wire_reply(struct client *c, bool *nothing)
{
	char *end;
	*nothing = false;
	while (c->in == NULL || (end = strstr(c->in, "\r\n\r\n")) == NULL)
		if (!wire_fill(c)) {
			*nothing = c->in_len == 0;
			return 0;
		}
	size_t hlen = (size_t)(end - c->in) + 4, at = hlen;
	long status = strncmp(c->in, "HTTP/1.", 7) == 0 ? strtol(c->in + 9, NULL, 10) : 0;
	const char *te = head_value(c->in, hlen, "transfer-encoding:");
	const char *cl = head_value(c->in, hlen, "content-length:");
	const char *conn = head_value(c->in, hlen, "connection:");
	bool closing = conn != NULL && strncasecmp(conn, "close", 5) == 0;
	if (status == 0)
		return 0;
	if (te != NULL && strncasecmp(te, "chunked", 7) == 0) {
		for (;;) {
			char *crlf;
			while ((crlf = strstr(c->in + at, "\r\n")) == NULL)
				if (!wire_fill(c))
					return 0;
			size_t n = strtoul(c->in + at, NULL, 16);
			at = (size_t)(crlf - c->in) + 2;
			if (!wire_need(c, at, n + 2))
				return 0;
			if (n == 0) /* no trailers are sent to this client */
				break;
			if (!body_add(c, c->in + at, n))
				return 0;
			at += n + 2;
		}
		at += 2;
	} else if (cl != NULL) {
		size_t n = strtoul(cl, NULL, 10);
		if (!wire_need(c, at, n) || !body_add(c, c->in + at, n))
			return 0;
		at += n;
	} else if (status >= 200 && status != 204 && status != 304) {
		while (wire_fill(c)) /* the body ends with the connection */
			;
		if (!body_add(c, c->in + at, c->in_len - at))
			return 0;
		at = c->in_len;
		closing = true;
	}
	memmove(c->in, c->in + at, c->in_len - at);
	c->in_len -= at;
	c->in[c->in_len] = '\0';
	if (closing)
		wire_close(c);
	return status;
}

/*
 * One request on the client's connection with the extra header lines `hdr` ("Name: value"
 * lines, each ending with CRLF); returns the HTTP status, 0 on failure.
 */
static long perform_as(struct client *c, const char *hdr, const char *method, const char *path,
		       const char *body)
{
	const struct plan *p = c->plan;
	size_t blen = body != NULL ? strlen(body) : 0;
	c->len = 0;
	c->requests++;
	if (c->buf != NULL)
		c->buf[0] = '\0';
	int n = snprintf(c->out, sizeof c->out,
			 "%s %s HTTP/1.1\r\nHost: %s:%s\r\n%sContent-Length: %zu\r\n\r\n", method,
			 path, p->host, p->port, hdr, blen);
	if (n < 0 || (size_t)n + blen >= sizeof c->out) {
		fprintf(stderr, "client %u: request too long: %s %s\n", c->index, method, path);
		return 0;
	}
	memcpy(c->out + n, body != NULL ? body : "", blen);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (c->fd < 0 && !wire_connect(c))
			return 0;
		bool reused = !c->fresh, nothing = false;
		c->fresh = false;
		size_t sent = 0, want = (size_t)n + blen;
		while (sent < want) {
			ssize_t k = send(c->fd, c->out + sent, want - sent, MSG_NOSIGNAL);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				break;
			sent += (size_t)k;
		}
		long status = sent == want ? wire_reply(c, &nothing) : 0;
		if (status != 0)
			return status;
		wire_close(c);
		if (!(reused && (sent < want || nothing)))
			break;
	}
	if (c->errors < SHOW_ERRORS)
		fprintf(stderr, "client %u: %s %s: no reply\n", c->index, method, path);
	return 0;
}

/* One request with the client's own token (the `run` and `post` loops). */
static long perform(struct client *c, const char *method, const char *path, const char *body)
{
	return perform_as(c, c->headers, method, path, body);
}

/* Reads the state of record `i` of this client; false when the GET failed. */
static bool load_state(struct client *c, unsigned i)
{
	char path[64];
	snprintf(path, sizeof path, "/v1/changes/CHG-%u", c->ids[i]);
	if (perform(c, "GET", path, NULL) != 200)
		return false;
	c->in_b[i] = c->buf != NULL && strstr(c->buf, "\"state\":\"b\"") != NULL;
	return true;
}

/* Fires the event that record `i` allows; true when the reply was 200 with the new state. */
static bool fire_next(struct client *c, unsigned i)
{
	static const char *const body[] = {"{\"event\":\"flip\"}", "{\"event\":\"flop\"}"};
	static const char *const want[] = {"\"state\":\"b\"", "\"state\":\"a\""};
	char path[64];
	int k = c->in_b[i];
	snprintf(path, sizeof path, "/v1/changes/CHG-%u/transitions", c->ids[i]);
	long status = perform(c, "POST", path, body[k]);
	if (status == 200 && c->buf != NULL && strstr(c->buf, want[k]) != NULL) {
		c->in_b[i] = !c->in_b[i];
		return true;
	}
	if (status != 0 && c->errors < SHOW_ERRORS)
		fprintf(stderr, "client %u: POST %s: %ld %s\n", c->index, path, status,
			c->buf ? c->buf : "");
	load_state(c, i); /* whatever happened, carry on from the stored state */
	return false;
}

/* `post`: one POST of the plan's body; true when the reply was 201. */
static bool post_once(struct client *c)
{
	long status = perform(c, "POST", c->plan->post_path, c->plan->post_body);
	if (status == 201)
		return true;
	if (status != 0 && c->errors < SHOW_ERRORS)
		fprintf(stderr, "client %u: POST %s: %ld %s\n", c->index, c->plan->post_path,
			status, c->buf ? c->buf : "");
	return false;
}

/* The index of user `name` among the plan's users, or -1. */
static int user_index(const struct plan *p, const char *name)
{
	for (unsigned i = 0; i < p->nusers; i++)
		if (strcmp(p->user[i], name) == 0)
			return (int)i;
	return -1;
}

/* Prints a failed step of a lifecycle (the first few per client). */
static void lc_fail(struct client *c, const char *step, long status)
{
	if (c->errors < SHOW_ERRORS)
		fprintf(stderr, "client %u: lifecycle %s: %ld %s\n", c->index, step, status,
			c->buf ? c->buf : "");
}

/* The reply body as JSON (owned), or NULL. */
static json_t *lc_json(const struct client *c)
{
	return c->buf != NULL ? json_loads(c->buf, 0, NULL) : NULL;
}

/*
 * Casts the votes the approvals `ap` (a submit's "approvals" or a vote's reply) still
 * lack: for each group not yet satisfied, its pending members approve, one vote each,
 * never the requester or an editor (segregation of duties; `used` holds who has voted
 * in this lifecycle).  Returns the state the last vote left the change in ("" when no
 * vote was needed), or NULL when a vote failed.
 */
static const char *lc_vote(struct client *c, json_t *ap, const char *path, int requester,
			   bool *used, char *state, size_t len)
{
	char url[128];
	snprintf(url, sizeof url, "%s/approvals", path);
	snprintf(state, len, "%s", "");
	json_incref(ap);
	for (int guard = 0; guard < MAX_VOTES && !json_is_true(json_object_get(ap, "satisfied"));
	     guard++) {
		size_t i;
		json_t *g, *who;
		int voter = -1;
		const char *group = NULL;
		json_array_foreach(json_object_get(ap, "groups"), i, g) {
			if (json_is_true(json_object_get(g, "satisfied")))
				continue;
			size_t k;
			json_array_foreach(json_object_get(g, "pending"), k, who) {
				int u = user_index(c->plan, json_string_value(who) ?: "");
				if (u >= 0 && u != requester && !used[u]) {
					voter = u;
					break;
				}
			}
			group = json_string_value(json_object_get(g, "group"));
			if (voter >= 0)
				break;
		}
		json_decref(ap);
		if (voter < 0 || group == NULL) {
			lc_fail(c, "nobody left to vote", 0);
			return NULL;
		}
		used[voter] = true;
		json_t *b = json_pack("{s:s, s:s, s:s}", "decision", "approve", "comment",
				      "bench: fine", "group", group);
		char *text = json_dumps(b, JSON_COMPACT);
		json_decref(b);
		long st = perform_as(c, c->plan->user_hdr[voter], "POST", url, text);
		free(text);
		ap = st == 200 ? lc_json(c) : NULL;
		if (ap == NULL) {
			lc_fail(c, "vote", st);
			return NULL;
		}
		snprintf(state, len, "%s",
			 json_string_value(json_object_get(json_object_get(ap, "change"), "state"))
				 ?: "");
	}
	bool ok = json_is_true(json_object_get(ap, "satisfied"));
	json_decref(ap);
	if (!ok)
		lc_fail(c, "votes never satisfied the approvals", 0);
	return ok ? state : NULL;
}

/*
 * `lifecycle`: one normal change all the way, each step as the user who would take it:
 * a requester creates it, PATCHes it (so becomes its editor) and submits it; the members
 * the approvals name vote until they are satisfied; the change must then be `scheduled`
 * with its slot booked (a GET).  True when every step answered as it should.
 */
static bool lifecycle_once(struct client *c)
{
	static const char *const services[] = {"web-frontend",  "mobile-api",     "search",
					       "notifications", "data-warehouse", "reporting"};
	const struct plan *p = c->plan;
	unsigned long long k = c->iter++;
	int req = (int)p->requester[(c->index + k) % p->nrequesters];
	const char *svc = services[(c->index * 7 + k) % (sizeof services / sizeof *services)];
	char body[768], path[96], tpath[128], state[32];
	bool used[MAX_USERS] = {false};

	snprintf(body, sizeof body,
		 "{\"title\": \"bench lifecycle %u.%llu\", \"type\": \"normal\", "
		 "\"services\": [\"%s\"], \"duration\": \"PT15M\", \"description\": "
		 "\"a routine release\", \"implementation_plan\": \"deploy the new build\", "
		 "\"rollback_plan\": \"switch the load balancer back to the blue pool\", "
		 "\"test_evidence\": \"staging run green\"}",
		 c->index, k, svc);
	long st = perform_as(c, p->user_hdr[req], "POST", "/v1/changes", body);
	json_t *j = st == 201 ? lc_json(c) : NULL;
	const char *id = json_string_value(json_object_get(j, "id"));
	if (id == NULL) {
		lc_fail(c, "create", st);
		json_decref(j);
		return false;
	}
	snprintf(path, sizeof path, "/v1/changes/%s", id);
	json_decref(j);

	/* The PATCH names the version it read, as a client that edits does. */
	char hdr[512];
	snprintf(hdr, sizeof hdr, "%sIf-Match: \"1\"\r\n", p->user_hdr[req]);
	st = perform_as(c, hdr, "PATCH", path,
			"{\"description\": \"a routine release, reviewed by the team\"}");
	if (st != 200) {
		lc_fail(c, "patch", st);
		return false;
	}

	snprintf(tpath, sizeof tpath, "%s/transitions", path);
	st = perform_as(c, p->user_hdr[req], "POST", tpath, "{\"event\": \"submit\"}");
	j = st == 200 ? lc_json(c) : NULL;
	const char *s = json_string_value(json_object_get(j, "state"));
	if (s == NULL || strcmp(s, "authorize") != 0) {
		lc_fail(c, "submit", st);
		json_decref(j);
		return false;
	}
	const char *after =
		lc_vote(c, json_object_get(j, "approvals"), path, req, used, state, sizeof state);
	json_decref(j);
	if (after == NULL)
		return false;
	if (strcmp(after, "scheduled") != 0) {
		lc_fail(c, "state after the votes", 200);
		return false;
	}

	st = perform_as(c, p->user_hdr[req], "GET", path, NULL);
	j = st == 200 ? lc_json(c) : NULL;
	const char *booked =
		json_string_value(json_object_get(json_object_get(j, "schedule"), "status"));
	bool ok = booked != NULL && strcmp(booked, "booked") == 0 &&
		  strcmp(json_string_value(json_object_get(j, "state")) ?: "", "scheduled") == 0;
	if (!ok)
		lc_fail(c, "not booked", st);
	json_decref(j);
	return ok;
}

/* Keeps latency `s` (seconds) of a measured operation. */
static void keep_latency(struct client *c, double s)
{
	if (c->nlat == c->caplat) {
		size_t cap = c->caplat ? c->caplat * 2 : 4096;
		float *v = realloc(c->lat, cap * sizeof *v);
		if (v == NULL)
			return;
		c->lat = v;
		c->caplat = cap;
	}
	c->lat[c->nlat++] = (float)s;
}

/* `get`: one GET of the plan's path for record `i`; true when the reply was 200. */
static bool get_once(struct client *c, unsigned i)
{
	char path[512];
	const char *p = c->plan->get_path, *u = strstr(p, "%u");
	if (u != NULL)
		snprintf(path, sizeof path, "%.*s%u%s", (int)(u - p), p, c->ids[i], u + 2);
	else
		snprintf(path, sizeof path, "%s", p);
	long status = perform(c, "GET", path, NULL);
	if (status == 200)
		return true;
	if (status != 0 && c->errors < SHOW_ERRORS)
		fprintf(stderr, "client %u: GET %s: %ld %s\n", c->index, path, status,
			c->buf ? c->buf : "");
	return false;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct plan *p = c->plan;
	bool ok = wire_connect(c);

	for (unsigned i = 0;
	     i < c->nrec && ok && p->post_path == NULL && p->get_path == NULL && !p->lifecycle; i++)
		ok = load_state(c, i);
	if (!ok) {
		fprintf(stderr, "client %u: cannot read its records\n", c->index);
		c->errors++;
	}
	sem_post(&p->loaded);
	pthread_barrier_wait(&p->go);
	for (unsigned i = 0; ok; i = (i + 1) % c->nrec) {
		double t0 = now_s();
		unsigned long long r0 = c->requests;
		if (t0 >= p->end_at)
			break;
		bool good = p->lifecycle   ? lifecycle_once(c)
			    : p->post_path ? post_once(c)
			    : p->get_path  ? get_once(c, i)
					   : fire_next(c, i);
		double t1 = now_s();
		if (t1 < p->measure_at) {
			c->warm++;
			continue;
		}
		if (t1 >= p->end_at)
			break;
		if (!good) {
			c->errors++;
			continue;
		}
		keep_latency(c, t1 - t0);
		c->measured_requests += c->requests - r0;
		c->done++;
		c->lat_sum += t1 - t0;
		if (t1 - t0 > c->lat_max)
			c->lat_max = t1 - t0;
	}
	return NULL;
}

static bool client_init(struct client *c, struct plan *p, unsigned index)
{
	char auth[512];
	memset(c, 0, sizeof *c);
	c->plan = p;
	c->index = index;
	for (unsigned id = index + 1; id <= p->records; id += p->clients)
		c->nrec++;
	c->ids = calloc(c->nrec ? c->nrec : 1, sizeof *c->ids);
	c->in_b = calloc(c->nrec ? c->nrec : 1, sizeof *c->in_b);
	c->fd = -1;
	snprintf(auth, sizeof auth,
		 "Authorization: Bearer %s\r\nContent-Type: application/json\r\n", p->token);
	c->headers = strdup(auth);
	if (c->ids == NULL || c->in_b == NULL || c->headers == NULL)
		return false;
	for (unsigned id = index + 1, i = 0; id <= p->records; id += p->clients)
		c->ids[i++] = id;
	return true;
}

static void client_free(struct client *c)
{
	wire_close(c);
	free(c->headers);
	free(c->in);
	free(c->buf);
	free(c->ids);
	free(c->in_b);
	free(c->lat);
}

/* CPU seconds of this process (all threads). */
static double self_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/*
 * Reads /proc/PID/stat: parent, own CPU and reaped children's CPU, in seconds.  False when
 * the process is gone.
 */
static bool proc_stat(long pid, long *ppid, double *self, double *children)
{
	char path[64], line[1024];
	unsigned long long ut, st, cut, cst;
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	char *ok = fgets(line, sizeof line, f);
	fclose(f);
	const char *p = ok ? strrchr(line, ')') : NULL; /* the command may hold spaces */
	if (p == NULL ||
	    sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", ppid,
		   &ut, &st, &cut, &cst) != 5)
		return false;
	double hz = (double)sysconf(_SC_CLK_TCK);
	*self = (double)(ut + st) / hz;
	*children = (double)(cut + cst) / hz;
	return true;
}

/* CPU seconds of process `pid` alone, or 0. */
static double pid_cpu(long pid)
{
	long ppid;
	double self = 0, children;
	return pid > 0 && proc_stat(pid, &ppid, &self, &children) ? self : 0;
}

/*
 * CPU seconds of the process tree of `pid` (a postmaster): its own, its live children's,
 * and those of the children it has reaped -- so backends that came and went count too.
 */
static double tree_cpu(long pid)
{
	long ppid;
	double self, children, sum = 0;
	if (pid <= 0 || !proc_stat(pid, &ppid, &self, &children))
		return 0;
	sum = self + children;
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		long child = atol(e->d_name);
		if (child > 0 && child != pid && proc_stat(child, &ppid, &self, &children) &&
		    ppid == pid)
			sum += self;
	}
	if (d != NULL)
		closedir(d);
	return sum;
}

/* Busy and total CPU seconds of the whole machine, from /proc/stat. */
static void machine_cpu(double *busy, double *total)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "r");
	*busy = *total = 0;
	if (f == NULL)
		return;
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		       &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return;
	double hz = (double)sysconf(_SC_CLK_TCK), sum = 0;
	for (int i = 0; i < 8; i++)
		sum += (double)v[i];
	*total = sum / hz;
	*busy = (sum - (double)v[3] - (double)v[4]) / hz; /* less idle and iowait */
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* The q-quantile of the n sorted latencies `v` (seconds), in ms; 0 when there are none. */
static double percentile(const float *v, size_t n, double q)
{
	if (n == 0)
		return 0;
	size_t i = (size_t)((double)n * q);
	return (double)v[i < n ? i : n - 1] * 1000.0;
}

static int cmd_run(struct plan *pp, double warmup, double seconds)
{
	struct plan p = *pp;
	unsigned clients = p.clients, records = p.records;
	struct client *cs = calloc(clients, sizeof *cs);
	size_t nlat = 0;
	const char *spid = getenv("BENCH_SERVER_PID"), *ppid = getenv("BENCH_PG_PID");
	long server = spid ? atol(spid) : 0, pg = ppid ? atol(ppid) : 0;
	unsigned started = 0;
	int rc = 0;

	if (cs == NULL || clients == 0 || records < clients) {
		fprintf(stderr, "bench: need 1 <= CLIENTS <= RECORDS\n");
		free(cs);
		return 2;
	}
	if (sscanf(p.base, "http://%255[^:/]:%15[0-9]", p.host, p.port) != 2) {
		fprintf(stderr, "bench: URL %s: want http://HOST:PORT\n", p.base);
		free(cs);
		return 2;
	}
	/*
	 * Clients connect one after the other.  Connections arriving together queue up, and
	 * the libmicrohttpd worker that wakes first accepts them all (up to ten in a row) and
	 * keeps them: every client would then wait on that one thread.
	 */
	sem_init(&p.loaded, 0, 0);
	pthread_barrier_init(&p.go, NULL, clients + 1);
	for (unsigned i = 0; i < clients; i++) {
		if (!client_init(&cs[i], &p, i) ||
		    pthread_create(&cs[i].thread, NULL, client_main, &cs[i]) != 0) {
			fprintf(stderr, "bench: cannot start client %u\n", i);
			exit(2); /* the barrier cannot be released without it */
		}
		started++;
		sem_wait(&p.loaded);
	}
	p.measure_at = now_s() + warmup;
	p.end_at = p.measure_at + seconds;
	pthread_barrier_wait(&p.go);

	double busy0, total0, busy1, total1;
	sleep_until(p.measure_at);
	double cpu0 = self_cpu(), srv0 = pid_cpu(server), pg0 = tree_cpu(pg), t0 = now_s();
	machine_cpu(&busy0, &total0);
	sleep_until(p.end_at);
	double cpu1 = self_cpu(), srv1 = pid_cpu(server), pg1 = tree_cpu(pg), t1 = now_s();
	machine_cpu(&busy1, &total1);

	unsigned long long done = 0, errors = 0, warm = 0, requests = 0;
	double lat_sum = 0, lat_max = 0;
	for (unsigned i = 0; i < started; i++) {
		pthread_join(cs[i].thread, NULL);
		nlat += cs[i].nlat;
	}
	float *lat = calloc(nlat ? nlat : 1, sizeof *lat);
	nlat = 0;
	for (unsigned i = 0; i < started; i++) {
		done += cs[i].done;
		errors += cs[i].errors;
		warm += cs[i].warm;
		requests += cs[i].measured_requests;
		lat_sum += cs[i].lat_sum;
		lat_max = cs[i].lat_max > lat_max ? cs[i].lat_max : lat_max;
		if (lat != NULL && cs[i].nlat > 0)
			memcpy(lat + nlat, cs[i].lat, cs[i].nlat * sizeof *lat);
		nlat += lat != NULL ? cs[i].nlat : 0;
		client_free(&cs[i]);
	}
	qsort(lat, nlat, sizeof *lat, cmp_float);
	double span = t1 - t0, n = done ? (double)done : 1;
	printf("clients=%u records=%u warmup_s=%.0f measured_s=%.2f\n", clients, records, warmup,
	       span);
	printf("transitions=%llu errors=%llu warmup_transitions=%llu\n", done, errors, warm);
	printf("requests=%llu requests_per_op=%.2f\n", requests, (double)requests / n);
	printf("http_tps=%.1f\n", (double)done / seconds);
	printf("latency_ms mean=%.2f p50=%.2f p99=%.2f max=%.2f\n", lat_sum / n * 1000,
	       percentile(lat, nlat, 0.5), percentile(lat, nlat, 0.99), lat_max * 1000);
	/* CPU per transition, in µs; "other" is the rest of the machine's busy time. */
	double machine = busy1 - busy0, client = cpu1 - cpu0, srv = srv1 - srv0, db = pg1 - pg0;
	printf("cpu_us_per_op client=%.0f server=%.0f postgres=%.0f other=%.0f busy_pct=%.0f\n",
	       client / n * 1e6, srv / n * 1e6, db / n * 1e6,
	       (machine - client - srv - db) / n * 1e6,
	       total1 > total0 ? machine / (total1 - total0) * 100 : 0);
	if (errors > 0) {
		fprintf(stderr, "bench: %llu transitions failed\n", errors);
		rc = 1;
	}
	sem_destroy(&p.loaded);
	pthread_barrier_destroy(&p.go);
	free(cs);
	free(lat);
	return rc;
}

static int cmd_create(const struct server *s, const char *token, unsigned n)
{
	const char *body = "{\"title\": \"benchmark toggle\", \"type\": \"standard\"}";
	for (unsigned i = 0; i < n; i++) {
		struct reply *r = request(s, "POST", "/v1/changes", token, body, NULL);
		bool ok = r->status == 201;
		if (!ok)
			fprintf(stderr, "bench: create: %ld %s\n", r->status,
				r->body ? r->body : "");
		reply_free(r);
		if (!ok)
			return 1;
	}
	return 0;
}

static int cmd_fire(const struct server *s, const char *token, const char *id, const char *event)
{
	char path[128], body[128];
	snprintf(path, sizeof path, "/v1/changes/%s/transitions", id);
	snprintf(body, sizeof body, "{\"event\":\"%s\"}", event);
	struct reply *r = request(s, "POST", path, token, body, NULL);
	long status = r->status;
	printf("%ld %s\n", status, r->body ? r->body : "");
	reply_free(r);
	return status == 200 ? 0 : 1;
}

/* `cpu PID`: CPU seconds of the process tree of PID, and the machine's busy seconds. */
static int cmd_cpu(long pid)
{
	double busy, total;
	machine_cpu(&busy, &total);
	printf("%.3f %.3f\n", tree_cpu(pid), busy);
	return 0;
}

/*
 * `lifecycle`: reads USERS, one "NAME TOKEN REQUESTER" line per user (REQUESTER 1: the
 * user may be the requester), into the plan's users and their headers.  False when the
 * file cannot be read, is too long, or names no requester.
 */
static bool load_users(struct plan *p, const char *path)
{
	char name[128], token[256], auth[400];
	int requester;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		perror(path);
		return false;
	}
	while (fscanf(f, "%127s %255s %d", name, token, &requester) == 3) {
		if (p->nusers == MAX_USERS) {
			fprintf(stderr, "bench: more than %d users in %s\n", MAX_USERS, path);
			fclose(f);
			return false;
		}
		unsigned u = p->nusers++;
		p->user[u] = strdup(name);
		snprintf(auth, sizeof auth,
			 "Authorization: Bearer %s\r\nContent-Type: application/json\r\n", token);
		p->user_hdr[u] = strdup(auth);
		if (requester)
			p->requester[p->nrequesters++] = u;
	}
	fclose(f);
	if (p->nrequesters == 0)
		fprintf(stderr, "bench: no requester in %s\n", path);
	return p->nrequesters > 0;
}

static unsigned num(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	return *s && !*end && v < 1000000 ? (unsigned)v : 0;
}

int main(int argc, char **argv)
{
	struct server s = {0};
	int rc = 2;
	if (argc < 4) {
		fprintf(stderr,
			"usage: %s URL TOKEN create N | fire ID EVENT |"
			" run CLIENTS RECORDS WARMUP SECONDS |"
			" post CLIENTS PATH BODY WARMUP SECONDS |"
			" get CLIENTS RECORDS PATH WARMUP SECONDS |"
			" lifecycle CLIENTS USERS WARMUP SECONDS | cpu PID\n",
			argv[0]);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(s.base, sizeof s.base, "%s", argv[1]);
	if (strcmp(argv[3], "create") == 0 && argc == 5)
		rc = cmd_create(&s, argv[2], num(argv[4]));
	else if (strcmp(argv[3], "fire") == 0 && argc == 6)
		rc = cmd_fire(&s, argv[2], argv[4], argv[5]);
	else if (strcmp(argv[3], "cpu") == 0 && argc == 5)
		rc = cmd_cpu(atol(argv[4]));
	else if (strcmp(argv[3], "run") == 0 && argc == 8) {
		struct plan p = {.base = argv[1],
				 .token = argv[2],
				 .clients = num(argv[4]),
				 .records = num(argv[5])};
		rc = cmd_run(&p, num(argv[6]), num(argv[7]));
	} else if (strcmp(argv[3], "post") == 0 && argc == 9) {
		struct plan p = {.base = argv[1],
				 .token = argv[2],
				 .clients = num(argv[4]),
				 .records = num(argv[4]),
				 .post_path = argv[5],
				 .post_body = argv[6]};
		rc = cmd_run(&p, num(argv[7]), num(argv[8]));
	} else if (strcmp(argv[3], "get") == 0 && argc == 9) {
		struct plan p = {.base = argv[1],
				 .token = argv[2],
				 .clients = num(argv[4]),
				 .records = num(argv[5]),
				 .get_path = argv[6]};
		rc = cmd_run(&p, num(argv[7]), num(argv[8]));
	} else if (strcmp(argv[3], "lifecycle") == 0 && argc == 8) {
		struct plan p = {.base = argv[1],
				 .token = argv[2],
				 .clients = num(argv[4]),
				 .records = num(argv[4]),
				 .lifecycle = true};
		rc = load_users(&p, argv[5]) ? cmd_run(&p, num(argv[6]), num(argv[7])) : 2;
		for (unsigned i = 0; i < p.nusers; i++) {
			free((char *)p.user[i]);
			free(p.user_hdr[i]);
		}
	} else
		fprintf(stderr, "%s: unknown command or wrong arguments\n", argv[0]);
	curl_global_cleanup();
	return rc;
}
