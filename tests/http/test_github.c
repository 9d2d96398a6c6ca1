/*
 * test_github.c -- the GitHub deployment-protection adapter end to end: signed webhooks
 * into POST /integrations/github, decisions called back to a local stand-in for GitHub's
 * API (tests/http/github/stub.py), deployment_status closing the change.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "crypto/crypto.h"
#include "lib_http.h"

#define SECRET "gh-webhook-secret-for-tests"

static struct server srv;
static char api_url[128], log_file[512], policies[512];
static pid_t stub = -1;

/* ---- fixtures --------------------------------------------------------------------------- */

/*
 * The shipped policies, but: search has a window open all day, every day; reporting's
 * windows all lie in a hard freeze; a template for search that stays pre-approved.
 */
static void make_policies(void)
{
	CHECK(policies_copy("github-policies", policies, sizeof policies));
	write_file_in(policies, "windows.ics",
		      "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
		      "BEGIN:VEVENT\r\nUID:search-always@test\r\nDTSTAMP:20260101T000000Z\r\n"
		      "DTSTART:20260101T000000Z\r\nDURATION:PT24H\r\nRRULE:FREQ=DAILY\r\n"
		      "SUMMARY:Search all day\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n"
		      "X-TRANSOM-SERVICES:search\r\nX-TRANSOM-CAPACITY:10\r\nEND:VEVENT\r\n"
		      "BEGIN:VEVENT\r\nUID:reporting-nightly@test\r\nDTSTAMP:20260101T000000Z\r\n"
		      "DTSTART:20260101T010000Z\r\nDURATION:PT2H\r\nRRULE:FREQ=DAILY\r\n"
		      "SUMMARY:Reporting nightly\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n"
		      "X-TRANSOM-SERVICES:reporting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
	write_file_in(policies, "freezes.ics",
		      "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
		      "BEGIN:VEVENT\r\nUID:reporting-frozen@test\r\nDTSTAMP:20260101T000000Z\r\n"
		      "DTSTART;VALUE=DATE:20200101\r\nDTEND;VALUE=DATE:20400101\r\n"
		      "SUMMARY:Reporting rewrite freeze\r\nCATEGORIES:FREEZE\r\n"
		      "X-TRANSOM-SERVICES:reporting\r\nX-TRANSOM-HARDNESS:hard\r\nEND:VEVENT\r\n"
		      "END:VCALENDAR\r\n");
	write_file_in(policies, "templates.json",
		      "{\"templates\": [{\"id\": \"search-deploy\", \"title\": \"Deploy search\","
		      " \"services\": [\"search\"], \"max_duration\": \"2h\","
		      " \"preapproved_while\": \"history.template.failure_rate < 0.5\"},"
		      " {\"id\": \"reporting-deploy\", \"title\": \"Deploy reporting\","
		      " \"services\": [\"reporting\"], \"max_duration\": \"1h\"}]}\n");
	write_file_in(policies, "github.json",
		      "{\"repositories\": {"
		      "\"acme/search\": {\"service\": \"search\", \"duration\": \"PT30M\","
		      " \"template\": \"search-deploy\"},"
		      "\"acme/reporting\": {\"service\": \"reporting\", \"duration\": \"PT30M\","
		      " \"template\": \"reporting-deploy\"}}}\n");
}

/* Starts the stand-in for GitHub's API; fills api_url. */
static bool start_stub(void)
{
	char port_file[512];
	const char *tmp = getenv("TRANSOM_TEST_TMP") ?: "/tmp";
	snprintf(port_file, sizeof port_file, "%s/github-stub.port", tmp);
	snprintf(log_file, sizeof log_file, "%s/github-stub.log", tmp);
	unlink(port_file);
	unlink(log_file);
	stub = fork();
	if (stub == 0) {
		execl("/usr/bin/python3", "python3", "tests/http/github/stub.py", port_file,
		      log_file, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		FILE *fp = fopen(port_file, "r");
		int port = 0;
		if (fp != NULL && fscanf(fp, "%d", &port) == 1 && port > 0) {
			fclose(fp);
			snprintf(api_url, sizeof api_url, "http://127.0.0.1:%d", port);
			return true;
		}
		if (fp != NULL)
			fclose(fp);
		usleep(50 * 1000);
	}
	return false;
}

/* Posts a GitHub webhook with `event`, signed with `secret` (NULL: unsigned). */
static struct reply *hook(const char *event, const char *body, const char *secret)
{
	char ev[128], sig[128], mac[CRYPTO_SHA256_HEX_LEN];
	snprintf(ev, sizeof ev, "X-GitHub-Event: %s", event);
	crypto_hmac_sha256_hex(secret ? secret : "", secret ? strlen(secret) : 0, body,
			       strlen(body), mac);
	snprintf(sig, sizeof sig, "X-Hub-Signature-256: sha256=%s", mac);
	const char *h[] = {"Content-Type: application/json", ev, secret ? sig : NULL, NULL};
	return request(&srv, "POST", "/integrations/github", NULL, body, h);
}

/* A deployment_protection_rule payload for `repo` and run `run`. */
static char *rule(const char *repo, int run, long deployment, const char *base)
{
	static char buf[2048];
	snprintf(buf, sizeof buf,
		 "{\"action\": \"requested\", \"environment\": \"production\", \"event\": \"push\","
		 " \"sha\": \"c0ffee%d\", \"ref\": \"refs/heads/main\","
		 " \"deployment_callback_url\": \"%s/repos/%s/actions/runs/%d/"
		 "deployment_protection_rule\","
		 " \"deployment\": {\"id\": %ld}, \"repository\": {\"full_name\": \"%s\","
		 " \"html_url\": \"https://github.com/%s\"}, \"sender\": {\"login\": \"octocat\"},"
		 " \"installation\": {\"id\": 1}}",
		 run, base, repo, run, deployment, repo, repo);
	return buf;
}

/* Waits (up to 10 s) for the stub to log a callback whose path names run `run`. */
static json_t *callback_for(int run)
{
	char needle[64];
	snprintf(needle, sizeof needle, "/runs/%d/", run);
	for (int i = 0; i < 200; i++) {
		FILE *fp = fopen(log_file, "r");
		char line[4096];
		while (fp != NULL && fgets(line, sizeof line, fp) != NULL) {
			json_t *j = json_loads(line, 0, NULL);
			const char *path = json_string_value(json_object_get(j, "path"));
			if (path != NULL && strstr(path, needle) != NULL) {
				fclose(fp);
				return j;
			}
			json_decref(j);
		}
		if (fp != NULL)
			fclose(fp);
		usleep(50 * 1000);
	}
	return NULL;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_signature_is_required(void)
{
	const char *body = "{\"zen\": \"Keep it logically awesome.\"}";
	struct reply *r = hook("ping", body, NULL);
	CHECK_INT(r->status, 401);
	CHECK_STR(reply_str(r, "field"), "X-Hub-Signature-256");
	reply_free(r);
	r = hook("ping", body, "not-the-secret");
	CHECK_INT(r->status, 401);
	reply_free(r);
	r = hook("ping", body, SECRET);
	CHECK_INT(r->status, 200);
	CHECK(json_is_true(json_object_get(r->json, "pong")));
	reply_free(r);
}

static void test_open_window_is_approved_through_the_callback(void)
{
	struct reply *r =
		hook("deployment_protection_rule", rule("acme/search", 101, 9001, api_url), SECRET);
	CHECK_INT(r->status, 202);
	CHECK(strncmp(reply_str(r, "id"), "DEP-", 4) == 0);
	CHECK_STR(reply_str(r, "decision"), "allow");
	char dep[32];
	snprintf(dep, sizeof dep, "%s", reply_str(r, "id"));
	reply_free(r);

	json_t *cb = callback_for(101);
	CHECKF(cb != NULL, "no callback for run 101 in %s", log_file);
	json_t *body = json_object_get(cb, "body");
	CHECK_STR(json_string_value(json_object_get(body, "state")), "approved");
	CHECK_STR(json_string_value(json_object_get(body, "environment_name")), "production");
	CHECK_STR(json_string_value(json_object_get(cb, "authorization")), "Bearer ghs_testtoken");
	CHECK_STR(json_string_value(json_object_get(cb, "accept")), "application/vnd.github+json");
	json_decref(cb);

	/* The same delivery again (GitHub redelivers): the same deployment, no new change. */
	r = hook("deployment_protection_rule", rule("acme/search", 101, 9001, api_url), SECRET);
	CHECK_INT(r->status, 202);
	CHECK_STR(reply_str(r, "id"), dep);
	reply_free(r);

	/* deployment_status success: the change is carried out and closed. */
	r = hook("deployment_status",
		 "{\"action\": \"created\", \"deployment_status\": {\"state\": \"success\"},"
		 " \"deployment\": {\"id\": 9001}, \"repository\": {\"full_name\": "
		 "\"acme/search\"}}",
		 SECRET);
	CHECK_INT(r->status, 200);
	CHECK_STR(reply_str(r, "outcome"), "success");
	CHECK_STR(reply_str(r, "state"), "closed");
	reply_free(r);
}

static void test_frozen_service_is_rejected_with_the_reason(void)
{
	struct reply *r = hook("deployment_protection_rule",
			       rule("acme/reporting", 202, 9002, api_url), SECRET);
	CHECK_INT(r->status, 202);
	CHECK_STR(reply_str(r, "decision"), "deny");
	reply_free(r);
	json_t *cb = callback_for(202);
	CHECKF(cb != NULL, "no callback for run 202");
	json_t *body = json_object_get(cb, "body");
	CHECK_STR(json_string_value(json_object_get(body, "state")), "rejected");
	const char *comment = json_string_value(json_object_get(body, "comment"));
	CHECKF(comment && strstr(comment, "Reporting rewrite freeze"), "comment: %s",
	       comment ? comment : "(none)");
	json_decref(cb);
}

static void test_bad_requests_name_the_field(void)
{
	struct reply *r =
		hook("deployment_protection_rule", rule("acme/unknown", 303, 1, api_url), SECRET);
	CHECK_INT(r->status, 422);
	CHECK_STR(reply_str(r, "field"), "repository.full_name");
	reply_free(r);
	/* A callback elsewhere than the configured API is refused (no request forgery). */
	r = hook("deployment_protection_rule",
		 rule("acme/search", 304, 1, "http://169.254.169.254"), SECRET);
	CHECK_INT(r->status, 422);
	CHECK_STR(reply_str(r, "field"), "deployment_callback_url");
	reply_free(r);
	r = hook("deployment_protection_rule", "{\"action\": \"requested\"}", SECRET);
	CHECK_INT(r->status, 422);
	reply_free(r);
	r = hook("deployment_protection_rule", "not json", SECRET);
	CHECK_INT(r->status, 400);
	reply_free(r);
	r = hook("issues", "{\"action\": \"opened\"}", SECRET);
	CHECK_INT(r->status, 202);
	CHECK(json_object_get(r->json, "ignored") != NULL);
	reply_free(r);
}

static void setup(void)
{
	make_policies();
	if (!start_stub()) {
		printf("github stub did not start\n0 passed, 1 failed\n");
		exit(1);
	}
	char env_api[256];
	snprintf(env_api, sizeof env_api, "TRANSOM_GITHUB_API_URL=%s", api_url);
	const char *env[] = {"TRANSOM_GITHUB_WEBHOOK_SECRET=" SECRET,
			     "TRANSOM_GITHUB_TOKEN=ghs_testtoken", env_api,
			     "TRANSOM_TIMER_INTERVAL=100",
			     /* the fake GitHub API listens on loopback (SSRF guard) */
			     "TRANSOM_WEBHOOK_ALLOW_NETS=127.0.0.0/8", NULL};
	if (!server_start(&srv, NULL, policies, env)) {
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_signature_is_required, test_open_window_is_approved_through_the_callback,
      test_frozen_service_is_rejected_with_the_reason, test_bad_requests_name_the_field)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	if (stub > 0) {
		kill(stub, SIGTERM);
		waitpid(stub, NULL, 0);
	}
	return rc;
}
