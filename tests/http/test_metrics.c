/*
 * test_metrics.c -- /metrics of the real transomd for operators: the database figures
 * (changes by type and state, approvals waiting and their age, queues) published by the
 * metrics job, valid for `promtool check metrics`, still answered while the database is
 * down; the shipped alert rules and Grafana dashboard name only metrics that exist.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "lib_http.h"

static struct server srv;
#include "record_steps.h"

static char requester[128], pipeline[128], cab[128];
static char scrape_file[1024];

/* web-frontend (high), PT6H, no test evidence: medium risk, waits for CAB votes. */
static const char *medium_web =
	"{\"title\": \"Rework the checkout page\", \"type\": \"normal\","
	" \"services\": [\"web-frontend\"], \"duration\": \"PT6H\","
	" \"description\": \"new layout\", \"implementation_plan\": \"blue/green deploy\","
	" \"rollback_plan\": \"switch the load balancer back to the blue pool\"}";

static char *scrape(long *status)
{
	struct reply *r = request(&srv, "GET", "/metrics", NULL, NULL, NULL);
	*status = r->status;
	char *text = strdup(r->body ? r->body : "");
	reply_free(r);
	return text;
}

/* The value of the sample line starting with `series` + " " in `text`, or -1. */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; (p = strstr(p, series)) != NULL; p += n)
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return atof(p + n + 1);
	return -1;
}

/* Scrapes until `series` has `want` (within `ms`); returns the last scrape (owned). */
static char *scrape_until(const char *series, double want, int ms)
{
	long status;
	char *text = scrape(&status);
	for (int waited = 0; sample(text, series) != want && waited < ms; waited += 200) {
		free(text);
		usleep(200 * 1000);
		text = scrape(&status);
	}
	return text;
}

/* Runs the shell command `cmd`; returns its exit status (-1: none), its output in `out`. */
static int run(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	if (p == NULL)
		return -1;
	out[0] = '\0';
	while (n + 1 < len && fgets(out + n, (int)(len - n), p) != NULL)
		n += strlen(out + n);
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_changes_and_approvals_are_counted(void)
{
	char path[128], draft[128];
	CHECK(create("/v1/changes", requester, medium_web, path, sizeof path));
	CHECK(step(path, requester, "submit", "authorize"));
	CHECK(create("/v1/changes", requester, medium_web, draft, sizeof draft));
	char *text = scrape_until("transom_approvals_pending", 1, 10000);
	CHECKF(sample(text, "transom_approvals_pending") == 1, "%s", text);
	CHECK(sample(text, "transom_changes{type=\"normal\",state=\"authorize\"}") == 1);
	CHECK(sample(text, "transom_changes{type=\"normal\",state=\"draft\"}") == 1);
	double age = sample(text, "transom_approvals_oldest_pending_age_seconds");
	CHECKF(age >= 0 && age < 120, "age %f", age);
	CHECK(sample(text, "transom_webhook_deliveries_pending") == 0);
	CHECK(sample(text, "transom_webhook_deliveries_dead") == 0);
	CHECK(sample(text, "transom_mail_invitations_dead") == 0);
	CHECK(sample(text, "transom_outbox_backlog") >= 0);
	double at = sample(text, "transom_metrics_collected_timestamp_seconds");
	CHECKF(at > (double)time(NULL) - 30 && at <= (double)time(NULL) + 1, "at %f", at);
	CHECK(sample(text, "transom_metrics_collection_failures_total") == 0);
	CHECK(sample(text, "transom_audit_checkpoint_last_timestamp_seconds") == 0);
	free(text);
}

static void test_gate_decisions_are_counted_by_decision_and_reason(void)
{
	const char *body =
		"{\"service\": \"web-frontend\", \"environment\": \"production\","
		" \"duration\": \"PT30M\", \"pipeline\": {\"url\": \"https://ci.example.com/p/1\","
		" \"commit\": \"abc123\", \"actor\": \"jlarsen\"},"
		" \"rollback_plan\": \"redeploy the previous release\"}";
	struct reply *r = request(&srv, "POST", "/v1/deployments", pipeline, body, NULL);
	CHECKF(r->status == 201 || r->status == 200, "%ld %s", r->status, body_of(r));
	char decision[32], reason[64], series[256], path[128];
	snprintf(decision, sizeof decision, "%s", reply_str(r, "decision"));
	snprintf(reason, sizeof reason, "%s", reply_str(r, "reason_code"));
	snprintf(path, sizeof path, "/v1/deployments/%s", reply_str(r, "id"));
	reply_free(r);
	CHECKF(decision[0] != '\0' && reason[0] != '\0', "decision '%s' reason_code '%s'", decision,
	       reason);
	snprintf(series, sizeof series,
		 "transom_gate_decisions_total{decision=\"%s\",reason=\"%s\"}", decision, reason);
	long status;
	char *text = scrape(&status);
	CHECKF(sample(text, series) == 1, "%s in %s", series, text);
	CHECK(strstr(text, "reason=\"other\"") == NULL);
	free(text);
	/* Asking again (a pipeline polling) is another answer of the gate. */
	r = request(&srv, "GET", path, pipeline, NULL, NULL);
	CHECK_INT(r->status, 200);
	CHECK_STR(reply_str(r, "reason_code"), reason);
	reply_free(r);
	text = scrape(&status);
	CHECK(sample(text, series) == 2);
	free(text);
}

/* web-frontend, with test evidence, PT1H: low risk, one CAB vote decides. */
static const char *low_web =
	"{\"title\": \"Fix a typo on the checkout page\", \"type\": \"normal\","
	" \"services\": [\"web-frontend\"], \"duration\": \"PT1H\","
	" \"description\": \"typo\", \"implementation_plan\": \"deploy\","
	" \"rollback_plan\": \"switch the load balancer back to the blue pool\","
	" \"test_evidence\": \"visual diff reviewed\"}";

static void test_lead_time_and_approval_latency_histograms(void)
{
	char path[128], draft[128], url[160];
	/* A cancelled draft: one change in the final state "cancelled". */
	CHECK(create("/v1/changes", requester, low_web, draft, sizeof draft));
	CHECK(step(draft, requester, "cancel", "cancelled"));
	/* A change whose approval a CAB vote decides. */
	CHECK(create("/v1/changes", requester, low_web, path, sizeof path));
	CHECK(step(path, requester, "submit", "authorize"));
	/* The window figures before the vote, from a snapshot taken after this point. */
	double asked = (double)time(NULL) + 1;
	long status;
	char *before = scrape(&status);
	for (int i = 0;
	     i < 50 && sample(before, "transom_metrics_collected_timestamp_seconds") < asked; i++) {
		free(before);
		usleep(200 * 1000);
		before = scrape(&status);
	}
	snprintf(url, sizeof url, "%s/approvals", path);
	struct reply *r = post(url, cab, "{\"decision\": \"approve\", \"comment\": \"fine\"}");
	CHECKF(r->status == 200 && json_is_true(json_object_get(r->json, "satisfied")), "%ld %s",
	       r->status, body_of(r));
	reply_free(r);
	char *text = scrape_until("transom_approval_latency_seconds_count", 1, 10000);
	CHECKF(sample(text, "transom_approval_latency_seconds_count") == 1, "%s", text);
	CHECK(sample(text, "transom_approval_latency_seconds_bucket{le=\"300\"}") == 1);
	CHECK(sample(text, "transom_approval_latency_seconds_bucket{le=\"+Inf\"}") == 1);
	double sum = sample(text, "transom_approval_latency_seconds_sum");
	CHECKF(sum >= 0 && sum < 120, "sum %f", sum);
	CHECK(sample(text, "transom_change_lead_time_seconds_count{outcome=\"cancelled\"}") == 1);
	CHECK(sample(text, "transom_change_lead_time_seconds_bucket{outcome=\"cancelled\",le="
			   "\"3600\"}") == 1);
	/* Approved, it is booked into a window: the window's booked seconds show it. */
	bool booked = false;
	json_t *sched = NULL;
	for (int i = 0; i < 50 && !booked; i++) {
		r = request(&srv, "GET", path, requester, NULL, NULL);
		json_decref(sched);
		sched = json_incref(json_object_get(json_object_get(r->json, "data"), "schedule"));
		if (sched == NULL)
			sched = json_incref(json_object_get(r->json, "schedule"));
		booked = json_is_string(json_object_get(sched, "start")) &&
			 strcmp(json_string_value(json_object_get(sched, "status")) ?: "",
				"booked") == 0;
		reply_free(r);
		if (!booked)
			usleep(200 * 1000);
	}
	CHECKF(booked, "schedule %s", sched ? json_dumps(sched, JSON_COMPACT) : "(none)");
	const char *uid =
		json_string_value(json_object_get(json_object_get(sched, "window"), "uid"));
	CHECKF(uid != NULL, "window of %s", path);
	char series[512];
	snprintf(series, sizeof series, "transom_window_booked_seconds{window=\"%s\"}", uid ?: "");
	double was = sample(before, series) > 0 ? sample(before, series) : 0; /* other bookings */
	free(before);
	free(text);
	text = scrape_until(series, was + 3600, 10000); /* PT1H more */
	double now_booked = sample(text, series);
	CHECKF(now_booked == was + 3600, "%s: %f, was %f", series, now_booked, was);
	snprintf(series, sizeof series, "transom_window_capacity_seconds{window=\"%s\"}",
		 uid ?: "");
	double cap = sample(text, series);
	CHECKF(cap >= 3600, "%s: %f", series, cap);
	snprintf(series, sizeof series, "transom_window_utilization_ratio{window=\"%s\"}",
		 uid ?: "");
	double ratio = sample(text, series);
	CHECKF(cap > 0 && ratio > 0 && ratio <= 1 && fabs(ratio - now_booked / cap) < 1e-3,
	       "ratio %f", ratio);
	json_decref(sched);
	/* Only final states are outcomes: nothing for the changes still in draft or authorize. */
	CHECK(strstr(text, "transom_change_lead_time_seconds_count{outcome=\"draft\"}") == NULL);
	CHECK(strstr(text, "outcome=\"authorize\"") == NULL);
	free(text);
}

static void test_promtool_accepts_the_metrics(void)
{
	char cmd[2048], out[8192];
	long status;
	char *text = scrape(&status); /* with every family the tests above filled */
	FILE *f = fopen(scrape_file, "w");
	CHECK(status == 200 && f != NULL);
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
	free(text);
	snprintf(cmd, sizeof cmd, "promtool check metrics < '%s' 2>&1", scrape_file);
	int rc = run(cmd, out, sizeof out);
	CHECKF(rc == 0 && out[0] == '\0', "promtool: exit %d: %s", rc, out);
}

static void test_rules_and_dashboard_name_existing_metrics(void)
{
	const char *root = getenv("TRANSOM_TEST_ROOT");
	char cmd[4096], out[8192];
	snprintf(cmd, sizeof cmd,
		 "promtool check rules '%s/deploy/prometheus/transom.rules.yml' 2>&1", root);
	int rc = run(cmd, out, sizeof out);
	CHECKF(rc == 0 && strstr(out, "SUCCESS"), "exit %d: %s", rc, out);
	snprintf(cmd, sizeof cmd,
		 "python3 -m json.tool '%s/deploy/grafana/transom-dashboard.json' >/dev/null 2>&1",
		 root);
	CHECK(run(cmd, out, sizeof out) == 0);
	snprintf(cmd, sizeof cmd,
		 "python3 '%s/tests/deploy/metric_names.py' '%s' '%s/deploy/prometheus/"
		 "transom.rules.yml' '%s/deploy/grafana/transom-dashboard.json' 2>&1",
		 root, scrape_file, root, root);
	rc = run(cmd, out, sizeof out);
	CHECKF(rc == 0, "exit %d: %s", rc, out);
	/* The checker itself catches a name that is not exported. */
	char bogus[1100];
	snprintf(bogus, sizeof bogus, "%s.bogus", scrape_file);
	FILE *f = fopen(bogus, "w");
	if (f != NULL) {
		fputs("expr: rate(transom_changes_total[5m])\n", f);
		fclose(f);
	}
	snprintf(cmd, sizeof cmd, "python3 '%s/tests/deploy/metric_names.py' '%s' '%s' 2>&1", root,
		 scrape_file, bogus);
	rc = run(cmd, out, sizeof out);
	CHECKF(rc == 1 && strstr(out, "transom_changes_total"), "exit %d: %s", rc, out);
	remove(bogus);
}

static void test_metrics_answer_while_the_database_is_down(void)
{
	CHECK(pg_ctl_test("stop") == 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long status;
	char *text = scrape(&status);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK_INT(status, 200);
	CHECKF(secs < 1.0, "took %.2f s", secs);
	/* The last snapshot stays; the failed reads are counted. */
	CHECK(sample(text, "transom_approvals_pending") == 1);
	free(text);
	bool counted = false;
	for (int i = 0; i < 50 && !counted; i++) {
		usleep(200 * 1000);
		text = scrape(&status);
		counted = status == 200 &&
			  sample(text, "transom_metrics_collection_failures_total") >= 1;
		free(text);
	}
	CHECK(counted);
	CHECK(pg_ctl_test("start") == 0);
	bool ready = false;
	for (int i = 0; i < 100 && !ready; i++) {
		struct reply *r = request(&srv, "GET", "/readyz", NULL, NULL, NULL);
		ready = r->status == 200;
		reply_free(r);
		if (!ready)
			usleep(100 * 1000);
	}
	CHECK(ready);
}

static void setup(void)
{
	snprintf(requester, sizeof requester, "%s", token_for("grossi", "requester"));
	snprintf(pipeline, sizeof pipeline, "%s", token_for("ci-bot", "pipeline"));
	snprintf(cab, sizeof cab, "%s", token_for("bokafor", "cab"));
	snprintf(scrape_file, sizeof scrape_file, "%s/test_metrics.scrape",
		 getenv("TRANSOM_TEST_TMP") ? getenv("TRANSOM_TEST_TMP") : "/tmp");
	const char *env[] = {"TRANSOM_METRICS_INTERVAL=1", NULL};
	if (!requester[0] || !pipeline[0] || !cab[0] || !server_start(&srv, NULL, NULL, env)) {
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_changes_and_approvals_are_counted,
      test_gate_decisions_are_counted_by_decision_and_reason,
      test_lead_time_and_approval_latency_histograms, test_promtool_accepts_the_metrics,
      test_rules_and_dashboard_name_existing_metrics,
      test_metrics_answer_while_the_database_is_down)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	server_stop(&srv, 10, NULL);
	return rc;
}
