/*
 * test_observations.c -- unauthorized-change detection over HTTP against the real server
 * and PostgreSQL: deployments reported to POST /v1/observations and by signed GitHub
 * deployment_status webhooks are flagged when no change of their service was implementing
 * or booked for a window containing the time observed, and not flagged when one was; a
 * flagged one is listed (?unauthorized=true), written to the outbox and the events table
 * as change.unauthorized, counted in /metrics and (this server's policy) opens an
 * incident; a repeat (same source and external id) is the same observation; bad input is a
 * 4xx naming the field.
 *
 * The server's policies are a copy of policies/ whose incidents.json turns
 * unauthorized.open_incident on (priority P2).  The authorizing changes are written in
 * SQL: CHG-801 implementing on search, CHG-802 scheduled on reporting with its booked
 * slot from 10 minutes ago to 20 minutes ahead.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/harness.h"
#include "crypto/crypto.h"
#include "lib_http.h"

#define SECRET "observe-secret"

static struct server srv;
static char pipeline[128], manager[128], requester[128];
static char flagged[32];

static void ago(int minutes, char out[32])
{
	time_t t = time(NULL) - (time_t)minutes * 60;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The first column of the first row of `q`, as a number (-1 on error). */
static long sql_count(const char *q)
{
	PGconn *c = PQconnectdb(getenv("TRANSOM_TEST_DATABASE_URL"));
	PGresult *r = PQexec(c, q);
	long n = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
			 ? atol(PQgetvalue(r, 0, 0))
		 : PQresultStatus(r) == PGRES_COMMAND_OK ? 0
							 : -1;
	if (n < 0)
		fprintf(stderr, "sql: %s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return n;
}

static bool write_changes(void)
{
	char from[32], to[32], q[2048];
	ago(10, from);
	ago(-20, to);
	snprintf(q, sizeof q,
		 "INSERT INTO records (id, kind, workflow, workflow_version, state, data, services,"
		 " type, requester, created_at, updated_at, state_entered_at) VALUES"
		 " ('CHG-801', 'change', 'change-standard', '1', 'implementing',"
		 "  '{\"title\": \"search rebuild\"}', '{search}', 'standard', 'u', now(), now(),"
		 "  now()),"
		 " ('CHG-802', 'change', 'change-standard', '1', 'scheduled',"
		 "  '{\"title\": \"reporting release\", \"schedule\": {\"status\": \"booked\","
		 "  \"start\": \"%s\", \"end\": \"%s\"}}', '{reporting}', 'standard', 'u', now(),"
		 "  now(), now())",
		 from, to);
	return sql_count(q) == 0;
}

static struct reply *observe(const char *body, const char *token)
{
	return request(&srv, "POST", "/v1/observations", token, body, NULL);
}

static void test_unauthorized_is_flagged(void)
{
	char now[32], body[1024];
	ago(0, now);
	snprintf(body, sizeof body,
		 "{\"source\": \"argocd\", \"external_id\": \"payments-r42\", \"service\": "
		 "\"payments\", \"environment\": \"production\", \"ref\": \"v1.4.2\", "
		 "\"observed_at\": \"%s\", \"url\": "
		 "\"https://argocd.example/applications/payments\"}",
		 now);
	struct reply *r = observe(body, pipeline);
	CHECK_INT(r->status, 201);
	CHECK(json_is_false(json_object_get(r->json, "authorized")));
	CHECK(strstr(reply_str(r, "reason"), "no change of payments (production)") != NULL);
	CHECK_STR(reply_str(r, "source"), "argocd");
	CHECK_STR(reply_str(r, "ref"), "v1.4.2");
	snprintf(flagged, sizeof flagged, "%s", reply_str(r, "id"));
	CHECK(strncmp(flagged, "OBS-", 4) == 0);
	char incident[32];
	snprintf(incident, sizeof incident, "%s", reply_str(r, "incident"));
	reply_free(r);

	/* the policy opens an incident on the service */
	char path[96];
	snprintf(path, sizeof path, "/v1/incidents/%s", incident);
	r = request(&srv, "GET", path, manager, NULL, NULL);
	CHECK_INT(r->status, 200);
	CHECK_STR(reply_str(r, "service"), "payments");
	CHECK_STR(reply_str(r, "priority"), "P2");
	CHECK(strstr(reply_str(r, "title"), "Unauthorized deployment of payments") != NULL);
	reply_free(r);

	/* the same source and id again: the same observation, nothing new */
	r = observe(body, pipeline);
	CHECK_INT(r->status, 200);
	CHECK_STR(reply_str(r, "id"), flagged);
	reply_free(r);
	CHECK_INT(sql_count("SELECT count(*) FROM outbox WHERE topic = 'change.unauthorized'"), 1);
	CHECK_INT(sql_count("SELECT count(*) FROM events WHERE payload LIKE "
			    "'%change.unauthorized%payments%'"),
		  1);
	CHECK_INT(sql_count("SELECT count(*) FROM records WHERE kind = 'incident'"), 1);

	r = request(&srv, "GET", "/v1/observations?unauthorized=true", manager, NULL, NULL);
	CHECK_INT(r->status, 200);
	json_t *list = json_object_get(r->json, "observations");
	CHECK_INT(json_array_size(list), 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(list, 0), "id")), flagged);
	reply_free(r);
}

static void test_authorized_is_not_flagged(void)
{
	/* CHG-801 is implementing on search */
	struct reply *r = observe("{\"source\": \"flux\", \"external_id\": \"search-1\", "
				  "\"service\": \"search\"}",
				  pipeline);
	CHECK_INT(r->status, 201);
	CHECK(json_is_true(json_object_get(r->json, "authorized")));
	CHECK_STR(reply_str(r, "change"), "CHG-801");
	CHECK(json_is_null(json_object_get(r->json, "incident")));
	reply_free(r);
	/* CHG-802's booked slot on reporting contains now, not two hours ago */
	r = observe("{\"source\": \"flux\", \"external_id\": \"reporting-1\", "
		    "\"service\": \"reporting\", \"version\": \"2.0\"}",
		    pipeline);
	CHECK_INT(r->status, 201);
	CHECK(json_is_true(json_object_get(r->json, "authorized")));
	CHECK_STR(reply_str(r, "change"), "CHG-802");
	reply_free(r);
	char before[32], body[512];
	ago(120, before);
	snprintf(body, sizeof body,
		 "{\"source\": \"flux\", \"external_id\": \"reporting-0\", \"service\": "
		 "\"reporting\", \"observed_at\": \"%s\"}",
		 before);
	r = observe(body, pipeline);
	CHECK_INT(r->status, 201);
	CHECK(json_is_false(json_object_get(r->json, "authorized")));
	reply_free(r);
	/* a staging deployment is not authorized by a production change */
	r = observe("{\"source\": \"flux\", \"external_id\": \"search-staging\", "
		    "\"service\": \"search\", \"environment\": \"staging\"}",
		    pipeline);
	CHECK(json_is_false(json_object_get(r->json, "authorized")));
	reply_free(r);
	r = request(&srv, "GET", "/v1/observations", manager, NULL, NULL);
	CHECK_INT(json_array_size(json_object_get(r->json, "observations")), 5);
	reply_free(r);
	r = request(&srv, "GET", "/v1/observations?unauthorized=true", manager, NULL, NULL);
	CHECK_INT(json_array_size(json_object_get(r->json, "observations")), 3);
	reply_free(r);
}

static struct reply *hook(const char *event, const char *body, const char *secret)
{
	char ev[128], sig[128], mac[CRYPTO_SHA256_HEX_LEN];
	snprintf(ev, sizeof ev, "X-GitHub-Event: %s", event);
	crypto_hmac_sha256_hex(secret, strlen(secret), body, strlen(body), mac);
	snprintf(sig, sizeof sig, "X-Hub-Signature-256: sha256=%s", mac);
	const char *h[] = {"Content-Type: application/json", ev, sig, NULL};
	return request(&srv, "POST", "/integrations/github", NULL, body, h);
}

static char *status_payload(const char *repo, long deployment, const char *state)
{
	static char buf[1024];
	char now[32];
	ago(0, now);
	snprintf(buf, sizeof buf,
		 "{\"action\": \"created\", \"deployment_status\": {\"state\": \"%s\", "
		 "\"created_at\": \"%s\", \"target_url\": \"https://ci.example/run/%ld\"}, "
		 "\"deployment\": {\"id\": %ld, \"sha\": \"abc%ld\", \"environment\": "
		 "\"Production\"}, \"repository\": {\"full_name\": \"%s\"}}",
		 state, now, deployment, deployment, deployment, repo);
	return buf;
}

static void test_github_deployment_status(void)
{
	/* web-frontend: nothing authorizes it */
	struct reply *r = hook("deployment_status",
			       status_payload("acme/web-frontend", 9001, "success"), SECRET);
	CHECK_INT(r->status, 201);
	CHECK_STR(reply_str(r, "source"), "github");
	CHECK_STR(reply_str(r, "external_id"), "9001");
	CHECK_STR(reply_str(r, "service"), "web-frontend");
	CHECK_STR(reply_str(r, "environment"), "production");
	CHECK(json_is_false(json_object_get(r->json, "authorized")));
	reply_free(r);
	/* its in_progress and success statuses are one observation */
	r = hook("deployment_status", status_payload("acme/web-frontend", 9001, "in_progress"),
		 SECRET);
	CHECK_INT(r->status, 200);
	reply_free(r);
	/* search: CHG-801 is implementing */
	r = hook("deployment_status", status_payload("acme/search", 9002, "success"), SECRET);
	CHECK_INT(r->status, 201);
	CHECK(json_is_true(json_object_get(r->json, "authorized")));
	CHECK_STR(reply_str(r, "change"), "CHG-801");
	reply_free(r);
	/* a failed deployment changed nothing; an unmapped repository is not ours */
	r = hook("deployment_status", status_payload("acme/web-frontend", 9003, "failure"), SECRET);
	CHECK_INT(r->status, 202);
	reply_free(r);
	r = hook("deployment_status", status_payload("acme/unknown", 9004, "success"), SECRET);
	CHECK_INT(r->status, 202);
	reply_free(r);
	/* unsigned: refused before anything is read */
	r = hook("deployment_status", status_payload("acme/web-frontend", 9005, "success"),
		 "wrong-secret");
	CHECK_INT(r->status, 401);
	reply_free(r);
	CHECK_INT(sql_count("SELECT count(*) FROM observations WHERE source = 'github'"), 2);

	r = request(&srv, "GET", "/metrics", NULL, NULL, NULL);
	CHECKF(strstr(r->body, "transom_observed_deployments_total{authorized=\"false\"} 4") &&
		       strstr(r->body, "transom_observed_deployments_total{authorized=\"true\"} 3"),
	       "metrics: %s", strstr(r->body, "transom_observed") ?: "(none)");
	reply_free(r);
}

static void refused(const char *body, long status, const char *field)
{
	struct reply *r = observe(body, pipeline);
	CHECKF(r->status == status, "%s: %ld %s", body, r->status, r->body);
	CHECKF(strcmp(reply_str(r, "field"), field) == 0, "%s: field %s", body,
	       reply_str(r, "field"));
	reply_free(r);
}

static void test_bad_input_names_the_field(void)
{
	refused("{\"source\": \"argocd\"}", 422, "service");
	refused("{\"service\": \"payments\"}", 422, "source");
	refused("{\"source\": \"Argo CD\", \"service\": \"payments\"}", 422, "source");
	refused("{\"source\": \"argocd\", \"service\": \"nosuch\"}", 422, "service");
	refused("{\"source\": \"argocd\", \"service\": \"payments\", \"observed_at\": \"today\"}",
		422, "observed_at");
	refused("{\"source\": \"argocd\", \"service\": \"payments\", \"observed_at\": "
		"\"2099-01-01T00:00:00Z\"}",
		422, "observed_at");
	refused("{\"source\": \"argocd\", \"service\": \"payments\", \"url\": \"ftp://x\"}", 422,
		"url");
	refused("{\"source\": \"argocd\", \"service\": \"payments\", \"environment\": \"Prod\"}",
		422, "environment");
	refused("{\"source\": \"argocd\", \"service\": \"payments\", \"colour\": 1}", 422,
		"colour");
	refused("{\"source\": \"argocd\", \"service\": 7}", 422, "service");
	struct reply *r = observe("{\"source\": \"argocd\", \"service\": \"payments\"}", requester);
	CHECK_INT(r->status, 403);
	reply_free(r);
	r = request(&srv, "GET", "/v1/observations?unauthorized=maybe", manager, NULL, NULL);
	CHECK_INT(r->status, 400);
	CHECK_STR(reply_str(r, "field"), "unauthorized");
	reply_free(r);
	r = request(&srv, "GET", "/v1/observations?limit=0", manager, NULL, NULL);
	CHECK_INT(r->status, 400);
	CHECK_STR(reply_str(r, "field"), "limit");
	reply_free(r);
	char path[64];
	snprintf(path, sizeof path, "/v1/observations/%s", flagged);
	r = request(&srv, "GET", path, manager, NULL, NULL);
	CHECK_INT(r->status, 200);
	reply_free(r);
	r = request(&srv, "GET", "/v1/observations/OBS-999", manager, NULL, NULL);
	CHECK_INT(r->status, 404);
	reply_free(r);
}

int tests_main(void);
#define main tests_main
TESTS(test_unauthorized_is_flagged, test_authorized_is_not_flagged, test_github_deployment_status,
      test_bad_input_names_the_field)
#undef main

int main(void)
{
	char dir[512], cmd[8192];
	snprintf(dir, sizeof dir, "%s/observe-policies", getenv("TRANSOM_TEST_TMP") ?: "/tmp");
	snprintf(cmd, sizeof cmd,
		 "rm -rf '%s' && mkdir -p '%s' && cp '%s/policies/'* '%s/' && printf '%%s' "
		 "'{\"unauthorized\": {\"open_incident\": true, \"priority\": \"P2\"}}' > "
		 "'%s/incidents.json'",
		 dir, dir, getenv("TRANSOM_TEST_ROOT") ?: ".", dir, dir);
	snprintf(pipeline, sizeof pipeline, "%s", token_for("ci", "pipeline"));
	snprintf(manager, sizeof manager, "%s", token_for("amartin", "change_manager"));
	snprintf(requester, sizeof requester, "%s", token_for("grossi", "requester"));
	const char *env[] = {"TRANSOM_GITHUB_WEBHOOK_SECRET=" SECRET, NULL};
	if (system(cmd) != 0 || !pipeline[0] || !manager[0] || !requester[0] || !write_changes() ||
	    !server_start(&srv, NULL, dir, env)) {
		printf("0 passed, 1 failed\n");
		return 1;
	}
	return tests_main();
}
