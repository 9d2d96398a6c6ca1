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
 *   bench_transitions - - cpu PID                 CPU seconds of PID's process tree, and
 *                                                 the machine's busy CPU seconds
 *
 * `run` starts CLIENTS threads, each with its own keep-alive libcurl handle (connected
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
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../http/lib_http.h"

#define HIST_STEP_US 10    /* latency histogram: 10 µs buckets ... */
#define HIST_BUCKETS 20000 /* ... up to 200 ms; slower replies land in the last one */
#define SHOW_ERRORS  5     /* error replies printed in full, per client */

/* What all clients share: read-only once the `go` barrier has been passed. */
struct plan {
	const char *base, *token;
	unsigned clients, records;
	const char *post_path, *post_body; /* `post`: the request each client repeats */
	const char *get_path;              /* `get`: the path each client reads, "%u" = id */
	double measure_at, end_at;         /* CLOCK_MONOTONIC seconds */
	sem_t loaded;                      /* a client has connected and read its records */
	pthread_barrier_t go;
};

struct client {
	pthread_t thread;
	struct plan *plan;
	unsigned index;
	CURL *curl;
	struct curl_slist *headers;
	char *buf; /* the reply body */
	size_t len, cap;
	unsigned nrec;
	unsigned *ids; /* record numbers this client owns */
	bool *in_b;    /* their states: false = a, true = b */
	unsigned long long done, errors, warm;
	double lat_sum, lat_max;
	unsigned long long *hist;
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

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *cls)
{
	struct client *c = cls;
	size_t n = size * nmemb;
	if (c->len + n + 1 > c->cap) {
		size_t cap = (c->len + n + 1) * 2;
		char *p = realloc(c->buf, cap);
		if (p == NULL)
			return 0;
		c->buf = p;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, ptr, n);
	c->len += n;
	c->buf[c->len] = '\0';
	return n;
}

/* One request on the client's kept-alive handle; returns the HTTP status, 0 on failure. */
static long perform(struct client *c, const char *method, const char *path, const char *body)
{
	char url[512];
	long status = 0;
	snprintf(url, sizeof url, "%s%s", c->plan->base, path);
	c->len = 0;
	if (c->buf != NULL)
		c->buf[0] = '\0';
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	if (body != NULL) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	CURLcode rc = curl_easy_perform(c->curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	else if (c->errors < SHOW_ERRORS)
		fprintf(stderr, "client %u: %s %s: %s\n", c->index, method, path,
			curl_easy_strerror(rc));
	return status;
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
	bool ok = true;

	for (unsigned i = 0; i < c->nrec && ok && p->post_path == NULL && p->get_path == NULL; i++)
		ok = load_state(c, i);
	if (!ok) {
		fprintf(stderr, "client %u: cannot read its records\n", c->index);
		c->errors++;
	}
	sem_post(&p->loaded);
	pthread_barrier_wait(&p->go);
	for (unsigned i = 0; ok; i = (i + 1) % c->nrec) {
		double t0 = now_s();
		if (t0 >= p->end_at)
			break;
		bool good = p->post_path  ? post_once(c)
			    : p->get_path ? get_once(c, i)
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
		double us = (t1 - t0) * 1e6;
		size_t b = (size_t)(us / HIST_STEP_US);
		c->hist[b < HIST_BUCKETS ? b : HIST_BUCKETS - 1]++;
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
	c->hist = calloc(HIST_BUCKETS, sizeof *c->hist);
	c->curl = curl_easy_init();
	if (c->ids == NULL || c->in_b == NULL || c->hist == NULL || c->curl == NULL)
		return false;
	for (unsigned id = index + 1, i = 0; id <= p->records; id += p->clients)
		c->ids[i++] = id;
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", p->token);
	c->headers = curl_slist_append(c->headers, auth);
	c->headers = curl_slist_append(c->headers, "Content-Type: application/json");
	c->headers = curl_slist_append(c->headers, "Expect:");
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c->curl, CURLOPT_TCP_NODELAY, 1L);
	return c->headers != NULL;
}

static void client_free(struct client *c)
{
	curl_slist_free_all(c->headers);
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	free(c->buf);
	free(c->ids);
	free(c->in_b);
	free(c->hist);
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

static double percentile(const unsigned long long *hist, unsigned long long n, double q)
{
	unsigned long long want = (unsigned long long)((double)n * q), seen = 0;
	for (size_t b = 0; b < HIST_BUCKETS; b++) {
		seen += hist[b];
		if (seen > want)
			return (double)(b + 1) * HIST_STEP_US / 1000.0;
	}
	return (double)HIST_BUCKETS * HIST_STEP_US / 1000.0;
}

static int cmd_run(const char *base, const char *token, unsigned clients, unsigned records,
		   const char *post_path, const char *post_body, const char *get_path,
		   double warmup, double seconds)
{
	struct plan p = {.base = base,
			 .token = token,
			 .clients = clients,
			 .records = records,
			 .post_path = post_path,
			 .post_body = post_body,
			 .get_path = get_path};
	struct client *cs = calloc(clients, sizeof *cs);
	unsigned long long *hist = calloc(HIST_BUCKETS, sizeof *hist);
	const char *spid = getenv("BENCH_SERVER_PID"), *ppid = getenv("BENCH_PG_PID");
	long server = spid ? atol(spid) : 0, pg = ppid ? atol(ppid) : 0;
	unsigned started = 0;
	int rc = 0;

	if (cs == NULL || hist == NULL || clients == 0 || records < clients) {
		fprintf(stderr, "bench: need 1 <= CLIENTS <= RECORDS\n");
		free(cs);
		free(hist);
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

	unsigned long long done = 0, errors = 0, warm = 0;
	double lat_sum = 0, lat_max = 0;
	for (unsigned i = 0; i < started; i++) {
		pthread_join(cs[i].thread, NULL);
		done += cs[i].done;
		errors += cs[i].errors;
		warm += cs[i].warm;
		lat_sum += cs[i].lat_sum;
		lat_max = cs[i].lat_max > lat_max ? cs[i].lat_max : lat_max;
		for (size_t b = 0; b < HIST_BUCKETS; b++)
			hist[b] += cs[i].hist[b];
		client_free(&cs[i]);
	}
	double span = t1 - t0, n = done ? (double)done : 1;
	printf("clients=%u records=%u warmup_s=%.0f measured_s=%.2f\n", clients, records, warmup,
	       span);
	printf("transitions=%llu errors=%llu warmup_transitions=%llu\n", done, errors, warm);
	printf("requests=%llu\n", done);
	printf("http_tps=%.1f\n", (double)done / seconds);
	printf("latency_ms mean=%.2f p50=%.2f p99=%.2f max=%.2f\n", lat_sum / n * 1000,
	       percentile(hist, done, 0.5), percentile(hist, done, 0.99), lat_max * 1000);
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
	free(hist);
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
			" get CLIENTS RECORDS PATH WARMUP SECONDS | cpu PID\n",
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
	else if (strcmp(argv[3], "run") == 0 && argc == 8)
		rc = cmd_run(argv[1], argv[2], num(argv[4]), num(argv[5]), NULL, NULL, NULL,
			     num(argv[6]), num(argv[7]));
	else if (strcmp(argv[3], "post") == 0 && argc == 9)
		rc = cmd_run(argv[1], argv[2], num(argv[4]), num(argv[4]), argv[5], argv[6], NULL,
			     num(argv[7]), num(argv[8]));
	else if (strcmp(argv[3], "get") == 0 && argc == 9)
		rc = cmd_run(argv[1], argv[2], num(argv[4]), num(argv[5]), NULL, NULL, argv[6],
			     num(argv[7]), num(argv[8]));
	else
		fprintf(stderr, "%s: unknown command or wrong arguments\n", argv[0]);
	curl_global_cleanup();
	return rc;
}
