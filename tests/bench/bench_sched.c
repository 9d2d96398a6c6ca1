/*
 * bench_sched.c -- times sched_plan(): 10,000 and 20,000 changes over 200 services with a
 * year of windows, and their ratio.  Built by the Makefile as build/tests/bench/bench_sched
 * (tests/bench/run.sh does not run it); `bench_sched [ROUNDS]`.
 *
 * Data (fixed seed): 20 clusters of 10 services; each service depends, with probability 1/2,
 * on one earlier service of its cluster (a DAG; the relation is its transitive closure, either
 * way).  Windows: a daily window per cluster (4-6 h, capacity 3) and a weekly window for
 * all services (Saturday 22:00 to Sunday 06:00, capacity 20), over 366 days.  Freezes: a
 * hard year-end freeze, a soft quarter-close freeze, a hard freeze for one cluster.
 * Changes: 1-3 services (mostly one cluster), 30 min to 3 h, not_before spread over the
 * year, half with a not_after 30 days later, 5 % emergency, priorities 1-4.
 *
 * Measurement: one untimed warm-up plan of each size, then ROUNDS (default 9) rounds that
 * each time both sizes back to back, alternating which goes first.  The 10,000 run is the
 * baseline: each round's ratio is its 20,000 time over its 10,000 time, so a machine that
 * is busier in one round than another (two cores, others compiling) weighs on both sides
 * of that round's ratio.  Times are the planning thread's CPU time, which waiting for a
 * core does not inflate; wall-clock times are printed beside them.  Prints each size's
 * median, minimum and maximum, and the median, minimum and maximum of the ratios
 * (targets: median 10,000 time < 1 s, median ratio <= 2.3).  Every run of a size must
 * give the same plan (checksum), or the bench fails; otherwise it exits 0 whatever the
 * figures.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched/sched.h"

#define N_SVC     200
#define CLUSTER   10
#define N_CLUSTER (N_SVC / CLUSTER)
#define MIN       (60LL * 1000)
#define HOUR      (60 * MIN)
#define DAY       (24 * HOUR)
#define T0        (1767225600LL * 1000) /* 2026-01-01T00:00:00Z, a Thursday */
#define N_DAYS    366

static uint64_t rng_state = 0x5eed5eed12345678ULL;

static uint64_t rng(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static int64_t rnd(int64_t n)
{
	return (int64_t)(rng() % (uint64_t)n);
}

static char names[N_SVC][16];
static const char *name_ptr[N_SVC];
static bool dep[N_SVC][N_SVC]; /* dep[a][b]: a depends on b, transitively */

static int svc_id(const char *name)
{
	return atoi(name + 4); /* "svc-123" */
}

static bool related(void *ctx, const char *a, const char *b)
{
	(void)ctx;
	int x = svc_id(a), y = svc_id(b);
	return x == y || dep[x][y] || dep[y][x];
}

static void make_services(void)
{
	for (int i = 0; i < N_SVC; i++) {
		snprintf(names[i], sizeof names[i], "svc-%03d", i);
		name_ptr[i] = names[i];
		int base = i / CLUSTER * CLUSTER, k = i - base;
		if (k > 0 && rnd(2) == 0)
			dep[i][base + (int)rnd(k)] = true;
	}
	/* Transitive closure: dependencies always point to lower ids. */
	for (int i = 0; i < N_SVC; i++)
		for (int j = 0; j < i; j++)
			if (dep[i][j])
				for (int m = 0; m < j; m++)
					if (dep[j][m])
						dep[i][m] = true;
}

static struct sched_window *make_windows(size_t *n)
{
	struct sched_window *w = malloc((N_CLUSTER * N_DAYS + N_DAYS / 7 + 1) * sizeof *w);
	static char uids[N_CLUSTER][24];
	size_t k = 0;
	if (w == NULL)
		abort();
	for (int c = 0; c < N_CLUSTER; c++) {
		snprintf(uids[c], sizeof uids[c], "daily-%02d", c);
		int64_t at = rnd(18) * HOUR, len = 4 * HOUR + rnd(3) * HOUR;
		for (int d = 0; d < N_DAYS; d++)
			w[k++] = (struct sched_window){T0 + d * DAY + at, T0 + d * DAY + at + len,
						       uids[c],           &name_ptr[c * CLUSTER],
						       CLUSTER,           3};
	}
	/* 2026-01-03 is a Saturday. */
	for (int d = 2; d < N_DAYS; d += 7)
		w[k++] = (struct sched_window){T0 + d * DAY + 22 * HOUR,
					       T0 + (d + 1) * DAY + 6 * HOUR,
					       "weekly-all",
					       NULL,
					       0,
					       20};
	*n = k;
	return w;
}

static struct sched_change *make_changes(size_t n, const char **svc_store)
{
	struct sched_change *c = calloc(n, sizeof *c);
	char *ids = malloc(n * 16);
	if (c == NULL || ids == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		const char **s = &svc_store[3 * i];
		int cl = (int)rnd(N_CLUSTER), ns = 1 + (int)rnd(3);
		for (int j = 0; j < ns; j++) {
			int other = rnd(10) == 0 ? (int)rnd(N_CLUSTER) : cl;
			s[j] = name_ptr[other * CLUSTER + rnd(CLUSTER)];
		}
		snprintf(ids + 16 * i, 16, "CHG-%zu", i + 1);
		c[i].id = ids + 16 * i;
		c[i].services = s;
		c[i].n_services = (size_t)ns;
		c[i].duration_ms = 30 * MIN * (1 + rnd(6));
		c[i].not_before_ms = T0 + rnd(330) * DAY + rnd(24) * HOUR;
		c[i].not_after_ms = rnd(2) ? c[i].not_before_ms + 30 * DAY : 0;
		int ty = (int)rnd(20);
		c[i].type = ty == 0 ? SCHED_EMERGENCY : ty < 5 ? SCHED_STANDARD : SCHED_NORMAL;
		c[i].break_glass = c[i].type == SCHED_EMERGENCY && rnd(2);
		c[i].priority = 1 + (int)rnd(4);
		c[i].approved_ms = T0 - rnd(30) * DAY;
	}
	return c;
}

static double seconds(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* One size: its changes and what the last plan gave. */
struct size_run {
	size_t n;
	const char **svc_store;
	struct sched_change *changes;
	struct sched_plan_entry *out;
	uint64_t checksum; /* of the first plan; every later one must match */
	double *cpu;       /* per round: seconds of thread CPU time */
	double *wall;      /* per round: seconds of wall-clock time */
};

static void size_init(struct size_run *r, size_t n, int rounds)
{
	r->n = n;
	r->svc_store = malloc(3 * n * sizeof *r->svc_store);
	r->out = malloc(n * sizeof *r->out);
	r->cpu = calloc((size_t)rounds, sizeof *r->cpu);
	r->wall = calloc((size_t)rounds, sizeof *r->wall);
	if (r->svc_store == NULL || r->out == NULL || r->cpu == NULL || r->wall == NULL)
		abort();
	r->changes = make_changes(n, r->svc_store);
}

static void size_free(struct size_run *r)
{
	free((void *)r->changes[0].id);
	free(r->changes);
	free(r->svc_store);
	free(r->out);
	free(r->cpu);
	free(r->wall);
}

static uint64_t checksum(const struct size_run *r)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < r->n; i++)
		if (r->out[i].status == SCHED_OK)
			sum = sum * 31 + (uint64_t)(r->out[i].slot.start_ms - T0);
	return sum;
}

/*
 * Plans r's changes once, as round `round` (-1: warm-up, whose plan the others must match).
 * Exits when the plan fails or differs.
 */
static void plan_once(const struct sched_input *in, struct size_run *r, int round)
{
	struct timespec a, b, ca, cb;
	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ca);
	enum sched_status st = sched_plan(in, r->changes, r->n, T0, r->out);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cb);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (st != SCHED_OK) {
		fprintf(stderr, "sched_plan failed: %d\n", (int)st);
		exit(1);
	}
	uint64_t sum = checksum(r);
	if (round < 0) {
		r->checksum = sum;
		return;
	}
	if (sum != r->checksum) {
		fprintf(stderr, "changes=%zu: plan differs between runs\n", r->n);
		exit(1);
	}
	r->cpu[round] = seconds(&ca, &cb);
	r->wall[round] = seconds(&a, &b);
}

static void print_outcome(const struct size_run *r)
{
	size_t booked = 0, soft = 0, broken = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (r->out[i].status != SCHED_OK)
			continue;
		booked++;
		soft += r->out[i].slot.soft_freeze != NULL;
		broken += r->out[i].slot.broken_freeze != NULL;
	}
	printf("changes=%zu booked=%zu no_slot=%zu soft_freeze=%zu break_glass=%zu "
	       "checksum=%016" PRIx64 "\n",
	       r->n, booked, r->n - booked, soft, broken, r->checksum);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y ? 1 : 0;
}

/* Median, minimum and maximum of v[0..n) (sorts v). */
static void stats(double *v, int n, double *med, double *lo, double *hi)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	*med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	*lo = v[0];
	*hi = v[n - 1];
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 9;
	if (rounds < 1 || rounds > 1000) {
		fprintf(stderr, "usage: bench_sched [ROUNDS (1-1000, default 9)]\n");
		return 2;
	}
	make_services();
	size_t n_windows;
	struct sched_window *w = make_windows(&n_windows);
	static const char *const cluster3[CLUSTER] = {"svc-030", "svc-031", "svc-032", "svc-033",
						      "svc-034", "svc-035", "svc-036", "svc-037",
						      "svc-038", "svc-039"};
	struct sched_freeze f[] = {
		{T0 + 353 * DAY, T0 + 366 * DAY, "year-end", true, NULL, 0},
		{T0 + 88 * DAY, T0 + 91 * DAY, "quarter-close", false, NULL, 0},
		{T0 + 150 * DAY, T0 + 153 * DAY, "cluster-3-migration", true, cluster3, CLUSTER},
	};
	struct sched_input in = {.windows = w,
				 .n_windows = n_windows,
				 .freezes = f,
				 .n_freezes = 3,
				 .related = related,
				 .horizon_ms = N_DAYS * DAY};
	printf("services=%d windows=%zu freezes=3 rounds=%d\n", N_SVC, n_windows, rounds);
	struct size_run small, large;
	size_init(&small, 10000, rounds);
	size_init(&large, 20000, rounds);
	plan_once(&in, &small, -1);
	plan_once(&in, &large, -1);
	print_outcome(&small);
	print_outcome(&large);
	double *ratios = malloc((size_t)rounds * sizeof *ratios);
	double *wall_ratios = malloc((size_t)rounds * sizeof *wall_ratios);
	if (ratios == NULL || wall_ratios == NULL)
		abort();
	for (int r = 0; r < rounds; r++) {
		struct size_run *first = r % 2 ? &large : &small, *second = r % 2 ? &small : &large;
		plan_once(&in, first, r);
		plan_once(&in, second, r);
		ratios[r] = large.cpu[r] / small.cpu[r];
		wall_ratios[r] = large.wall[r] / small.wall[r];
	}
	struct {
		const char *what;
		double *v;
		double med, lo, hi;
	} row[] = {
		{"10k cpu s", small.cpu, 0, 0, 0},   {"20k cpu s", large.cpu, 0, 0, 0},
		{"ratio cpu", ratios, 0, 0, 0},      {"10k wall s", small.wall, 0, 0, 0},
		{"20k wall s", large.wall, 0, 0, 0}, {"ratio wall", wall_ratios, 0, 0, 0},
	};
	printf("%-11s %8s %8s %8s  (over %d rounds)\n", "", "median", "min", "max", rounds);
	for (size_t i = 0; i < sizeof row / sizeof row[0]; i++) {
		stats(row[i].v, rounds, &row[i].med, &row[i].lo, &row[i].hi);
		printf("%-11s %8.4f %8.4f %8.4f\n", row[i].what, row[i].med, row[i].lo, row[i].hi);
	}
	double t10 = row[0].med, t20 = row[1].med, ratio = row[2].med;
	printf("10k=%.4fs 20k=%.4fs ratio=%.2f (targets: 10k < 1 s, ratio <= 2.3): %s\n", t10, t20,
	       ratio, t10 < 1.0 && ratio <= 2.3 ? "ok" : "MISSED");
	free(ratios);
	free(wall_ratios);
	size_free(&small);
	size_free(&large);
	free(w);
	return 0; /* a benchmark reports its figures; it does not fail on them */
}
