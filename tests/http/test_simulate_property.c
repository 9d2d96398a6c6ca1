/*
 * test_simulate_property.c -- a property: for random drafts (type, template, services,
 * duration, not_before, fields filled or not), submitted at random times against random
 * freeze calendars, POST /v1/simulate predicts exactly what `submit` then does: whether
 * it is refused (and why), the state it reaches (the workflow path), the template's
 * pre-approval, the approval groups and quorums, and the slot.
 *
 * TRANSOM_PROPERTY_SEED (default 1207) and TRANSOM_PROPERTY_N (default 30 drafts) choose
 * the run; the seed is printed so a failure can be replayed.  `make test` runs the fixed
 * seed; `make property` a random one with many more drafts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/harness.h"
#include "lib_http.h"

#define MIN_MS  (60LL * 1000)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS  (24 * HOUR_MS)

static struct server srv;
#include "record_steps.h"

static const char *const JSON[] = {"Content-Type: application/json", NULL};
static char requester[128], manager[128], policies[1024], clock_file[1100], clock_env[1200];
static unsigned long long rng;
static unsigned long seed;
static long n_drafts;
static long long offset_ms, t0;

/* splitmix64 */
static unsigned long long next_rand(void)
{
	unsigned long long z = (rng += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static unsigned pick(unsigned n)
{
	return (unsigned)(next_rand() % n);
}

static long long real_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Moves the service's clock forward by `ms` (TRANSOM_CLOCK_OFFSET_FILE). */
static void clock_advance(long long ms)
{
	char tmp[1200];
	offset_ms += ms;
	snprintf(tmp, sizeof tmp, "%s.tmp", clock_file);
	FILE *f = fopen(tmp, "w");
	if (f != NULL) {
		fprintf(f, "%lld\n", offset_ms);
		fclose(f);
		rename(tmp, clock_file);
	}
}

/* `ms` as an iCalendar UTC time ("20261207T020000Z") or RFC 3339 ("2026-12-07T02:00:00Z"). */
static void stamp(long long ms, bool ics, char *out, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	if (ics)
		strftime(out, size, "%Y%m%dT%H%M%SZ", &tm);
	else
		strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void write_file(const char *name, const char *text)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/%s", policies, name);
	FILE *fp = fopen(path, "w");
	if (fp != NULL) {
		fputs(text, fp);
		fclose(fp);
	}
}

/* ---- the random drafts ----------------------------------------------------------------- */

static const char *const SERVICES[] = {"search", "reporting", "notifications", "web-frontend",
				       "api-gateway"};
#define N_SERVICES (sizeof SERVICES / sizeof SERVICES[0])
static const char *const TEMPLATES[] = {"search-index-rebuild", "reporting-dashboard-release",
					"tls-certificate-renewal", "postgres-minor-patch",
					"no-such-template"};
static const char *const DURATIONS[] = {"PT30M", "PT1H", "PT2H", "PT3H"};

/* A random freeze calendar: a few freezes, soft or hard, on random services and days. */
static void write_calendars(void)
{
	char text[8192], a[32], b[32];
	size_t n = 0;
	n += (size_t)snprintf(text + n, sizeof text - n,
			      "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n");
	unsigned freezes = 2 + pick(4);
	for (unsigned i = 0; i < freezes; i++) {
		long long start = t0 + (long long)pick(8) * DAY_MS + (long long)pick(24) * HOUR_MS;
		long long end = start + (long long)(1 + pick(48)) * HOUR_MS;
		stamp(start, true, a, sizeof a);
		stamp(end, true, b, sizeof b);
		const char *s1 = SERVICES[pick(N_SERVICES)], *s2 = SERVICES[pick(N_SERVICES)];
		n += (size_t)snprintf(text + n, sizeof text - n,
				      "BEGIN:VEVENT\r\nUID:freeze-%u@property\r\n"
				      "DTSTAMP:20260101T000000Z\r\nDTSTART:%s\r\nDTEND:%s\r\n"
				      "SUMMARY:Random freeze %u\r\nCATEGORIES:FREEZE\r\n"
				      "X-TRANSOM-SERVICES:%s,%s\r\nX-TRANSOM-HARDNESS:%s\r\n"
				      "END:VEVENT\r\n",
				      i, a, b, i, s1, s2, pick(3) ? "soft" : "hard");
	}
	snprintf(text + n, sizeof text - n, "END:VCALENDAR\r\n");
	write_file("freezes.ics", text);
	write_file("windows.ics",
		   "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
		   "BEGIN:VEVENT\r\nUID:nightly@property\r\nDTSTAMP:20260101T000000Z\r\n"
		   "DTSTART:20260101T020000Z\r\nDURATION:PT3H\r\nRRULE:FREQ=DAILY\r\n"
		   "SUMMARY:Nightly\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n"
		   "X-TRANSOM-SERVICES:search,reporting,notifications\r\nEND:VEVENT\r\n"
		   "BEGIN:VEVENT\r\nUID:evenings@property\r\nDTSTAMP:20260101T000000Z\r\n"
		   "DTSTART:20260105T170000Z\r\nDURATION:PT4H\r\n"
		   "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR\r\nSUMMARY:Weekday evenings\r\n"
		   "CATEGORIES:MAINTENANCE-WINDOW\r\nX-TRANSOM-SERVICES:web-frontend,api-gateway,"
		   "search\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
}

/* A random draft as a JSON body (owned). */
static json_t *random_draft(void)
{
	static const char *const TYPES[] = {"normal", "normal", "standard", "standard",
					    "emergency"};
	const char *type = TYPES[pick(5)];
	json_t *services = json_array();
	json_array_append_new(services, json_string(SERVICES[pick(N_SERVICES)]));
	if (pick(4) == 0) {
		const char *s = SERVICES[pick(N_SERVICES)];
		if (strcmp(s, json_string_value(json_array_get(services, 0))) != 0)
			json_array_append_new(services, json_string(s));
	}
	json_t *d = json_pack("{s:s, s:s, s:o, s:s}", "title", "Random change", "type", type,
			      "services", services, "duration", DURATIONS[pick(4)]);
	if (strcmp(type, "standard") == 0 && pick(2) == 0) {
		/* mostly within a template, so that some are pre-approved */
		static const char *const FITS[][3] = {
			{"search-index-rebuild", "search", "PT1H"},
			{"reporting-dashboard-release", "reporting", "PT30M"},
			{"tls-certificate-renewal", "web-frontend", "PT1H"},
			{"tls-certificate-renewal", "api-gateway", "PT30M"}};
		unsigned f = pick(4);
		json_object_set_new(d, "template", json_string(FITS[f][0]));
		json_object_set_new(d, "services", json_pack("[s]", FITS[f][1]));
		json_object_set_new(d, "duration", json_string(FITS[f][2]));
	} else if (strcmp(type, "standard") == 0 || pick(5) == 0) {
		json_object_set_new(d, "template", json_string(TEMPLATES[pick(5)]));
	}
	if (pick(3) != 0) {
		char nb[40];
		long long at = real_ms() + offset_ms + (long long)(1 + pick(72)) * HOUR_MS;
		stamp(at - at % HOUR_MS, false, nb, sizeof nb);
		json_object_set_new(d, "not_before", json_string(nb));
	}
	if (pick(10) != 0)
		json_object_set_new(d, "description", json_string("why and what"));
	if (pick(10) != 0)
		json_object_set_new(d, "implementation_plan", json_string("step by step"));
	if (pick(10) != 0)
		json_object_set_new(d, "rollback_plan",
				    json_string(pick(2) ? "restore the previous release from the "
							  "registry"
							: "undo"));
	if (pick(2))
		json_object_set_new(d, "test_evidence", json_string("staging run"));
	return d;
}

/* ---- the comparison ------------------------------------------------------------------ */

/* "group:quorum," for each group of a requirement. */
static void groups_of(json_t *required, char *out, size_t size)
{
	size_t i;
	json_t *g;
	out[0] = '\0';
	json_array_foreach(json_object_get(required, "groups"), i, g) {
		char one[160];
		snprintf(one, sizeof one, "%s:%lld,",
			 json_string_value(json_object_get(g, "group")) ?: "?",
			 (long long)json_integer_value(json_object_get(g, "quorum")));
		strncat(out, one, size - strlen(out) - 1);
	}
}

/* Whether two slot starts agree: equal, or both "now" (a few seconds apart). */
static bool same_start(const char *a, const char *b, long long now)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (strcmp(a, b) == 0)
		return true;
	struct tm ta = {0}, tb = {0};
	char *ea = strptime(a, "%Y-%m-%dT%H:%M:%S", &ta),
	     *eb = strptime(b, "%Y-%m-%dT%H:%M:%S", &tb);
	if (ea == NULL || eb == NULL)
		return false;
	long long ma = (long long)timegm(&ta) * 1000, mb = (long long)timegm(&tb) * 1000;
	return llabs(ma - mb) <= 5000 && llabs(ma - now) <= 10 * MIN_MS;
}

/* What the run covered, printed at its end. */
static struct {
	int submitted, refused, standard_booked, standard_refused, with_approvals, soft_freeze;
} seen;

static void check_one(int k)
{
	json_t *draft = random_draft();
	char *body = json_dumps(draft, JSON_COMPACT);
	char url[128], sim_groups[256], real_groups[256];
	struct reply *s = request(&srv, "POST", "/v1/simulate", requester, body, JSON);
	CHECKF(s->status == 200, "#%d simulate: %ld %s", k, s->status, body_of(s));
	struct reply *c = request(&srv, "POST", "/v1/changes", requester, body, JSON);
	CHECKF(c->status == 201, "#%d create: %ld %s", k, c->status, body_of(c));
	char id[32];
	snprintf(id, sizeof id, "%s", reply_str(c, "id"));
	reply_free(c);
	snprintf(url, sizeof url, "/v1/changes/%s/transitions", id);
	long long now = real_ms() + offset_ms;
	struct reply *r = request(&srv, "POST", url, requester, "{\"event\": \"submit\"}", JSON);

	json_t *wf = json_object_get(s->json, "workflow");
	json_t *blocked = json_object_get(wf, "blocked");
	json_t *path = json_object_get(wf, "path");
	const char *want_state = json_string_value(json_array_get(path, json_array_size(path) - 1));
	json_t *tpl = json_object_get(s->json, "template");
	const char *type = json_string_value(json_object_get(draft, "type"));
	if (blocked != NULL) {
		CHECKF(r->status >= 400 && r->status < 500,
		       "#%d %s: simulate says blocked (%s), submit answered %ld", k, body,
		       json_string_value(json_object_get(blocked, "detail")) ?: "?", r->status);
		const char *rule = json_string_value(json_object_get(blocked, "rule"));
		if (rule != NULL)
			CHECKF(strcmp(rule, reply_str(r, "rule")) == 0,
			       "#%d %s: simulate blocks by %s, submit by %s", k, body, rule,
			       reply_str(r, "rule"));
	} else {
		CHECKF(r->status == 200 && want_state != NULL &&
			       strcmp(reply_str(r, "state"), want_state) == 0,
		       "#%d %s: simulate predicts %s, submit answered %ld %s", k, body,
		       want_state ? want_state : "?", r->status,
		       r->status == 200 ? reply_str(r, "state") : body_of(r));
	}
	/* a standard change goes through exactly when its template pre-approves it */
	if (strcmp(type, "standard") == 0 && json_is_object(tpl) &&
	    (blocked == NULL || json_object_get(blocked, "rule") != NULL))
		CHECKF(json_is_true(json_object_get(tpl, "preapproved")) == (r->status == 200),
		       "#%d %s: preapproved %d, submit %ld", k, body,
		       json_is_true(json_object_get(tpl, "preapproved")), r->status);
	seen.submitted += r->status == 200;
	seen.refused += r->status != 200;
	seen.standard_booked += strcmp(type, "standard") == 0 && r->status == 200;
	seen.standard_refused += strcmp(type, "standard") == 0 && r->status != 200;
	seen.soft_freeze += json_is_string(
		json_object_get(json_object_get(s->json, "schedule"), "soft_freeze"));
	if (r->status == 200) {
		json_t *required =
			json_object_get(json_object_get(r->json, "approvals"), "required");
		if (required != NULL) {
			groups_of(json_object_get(s->json, "approvals"), sim_groups,
				  sizeof sim_groups);
			groups_of(required, real_groups, sizeof real_groups);
			seen.with_approvals++;
			CHECKF(strcmp(sim_groups, real_groups) == 0,
			       "#%d %s: simulate asks %s, submit asks %s", k, body, sim_groups,
			       real_groups);
		}
		const char *sim_start = json_string_value(
			json_object_get(json_object_get(s->json, "schedule"), "start"));
		const char *real_start = json_string_value(
			json_object_get(json_object_get(r->json, "schedule"), "start"));
		CHECKF(same_start(sim_start, real_start, now),
		       "#%d %s: simulate's slot %s, submit's %s", k, body,
		       sim_start ? sim_start : "none", real_start ? real_start : "none");
	}
	reply_free(r);
	reply_free(s);
	/* withdraw it: bookings do not pile up, and the clock moves on */
	snprintf(url, sizeof url, "/v1/changes/%s", id);
	r = fire(url, manager, "cancel");
	reply_free(r);
	free(body);
	json_decref(draft);
	clock_advance((long long)pick(6) * HOUR_MS + (long long)pick(60) * MIN_MS);
}

static void test_simulate_predicts_submit(void)
{
	printf("property: TRANSOM_PROPERTY_SEED=%lu TRANSOM_PROPERTY_N=%ld\n", seed, n_drafts);
	for (int k = 0; k < n_drafts; k++)
		check_one(k);
	printf("property: %d submitted (%d asking approvals, %d standard booked), %d refused "
	       "(%d standard), %d slots in a soft freeze\n",
	       seen.submitted, seen.with_approvals, seen.standard_booked, seen.refused,
	       seen.standard_refused, seen.soft_freeze);
}

static void setup(void)
{
	char cmd[2200];
	const char *tmp = getenv("TRANSOM_TEST_TMP") ?: "/tmp";
	seed = strtoul(getenv("TRANSOM_PROPERTY_SEED") ?: "1207", NULL, 10);
	n_drafts = strtol(getenv("TRANSOM_PROPERTY_N") ?: "30", NULL, 10);
	rng = seed;
	t0 = real_ms() / DAY_MS * DAY_MS;
	snprintf(policies, sizeof policies, "%s/property-policies", tmp);
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s/policies' '%s'", policies,
		 getenv("TRANSOM_TEST_ROOT") ?: ".", policies);
	if (system(cmd) != 0)
		exit(1);
	write_calendars();
	snprintf(clock_file, sizeof clock_file, "%s/property-clock", tmp);
	snprintf(clock_env, sizeof clock_env, "TRANSOM_CLOCK_OFFSET_FILE=%s", clock_file);
	clock_advance(0);
	snprintf(requester, sizeof requester, "%s", token_for("grossi", "requester"));
	snprintf(manager, sizeof manager, "%s", token_for("amartin", "change_manager"));
	const char *env[] = {clock_env, NULL};
	if (!requester[0] || !server_start(&srv, NULL, policies, env)) {
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_simulate_predicts_submit)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	return rc;
}
