/*
 * test_alertmanager.c -- Alertmanager end to end: the real prometheus-alertmanager (Debian's
 * binary) started on a free local port with a webhook receiver pointing at transomd with
 * a pipeline token.  Alerts posted to Alertmanager's API open, update and resolve one
 * incident; direct webhook posts show the refusals (401, 400, 422 naming the field), the
 * deduplication of retries, reopening and a new episode; a change whose window is open gets
 * a silence in Alertmanager (matchers, comment, createdBy), expired when the change is
 * done, and an alert firing meanwhile is linked to the change instead of opening an
 * incident.  Only the Alertmanager this test started is stopped (by its PID).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "lib_http.h"

#define AM_BIN "/usr/bin/prometheus-alertmanager"

static struct server srv, am; /* am: only base is used, for request() */
static char policies[512], token_am[256], token_ci[256], token_admin[256], token_req[256];
static char am_password[64]; /* the app password Alertmanager's receiver sends (Basic) */
static const char *const JSON_H[] = {"Content-Type: application/json", NULL};
static pid_t am_pid = -1;
static char clock_file[600]; /* TRANSOM_CLOCK_OFFSET_FILE: ms added to transomd's clock */
static int am_port;

/* ---- fixtures ------------------------------------------------------------------------------ */

/* The shipped policies, with search in a window all day, every day, a template that
 * pre-approves a search deploy, and an alerts policy that refuses unknown services. */
static void make_policies(void)
{
	CHECK(policies_copy("alertmanager-policies", policies, sizeof policies));
	write_file_in(policies, "windows.ics",
		      "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
		      "BEGIN:VEVENT\r\nUID:search-always@test\r\nDTSTAMP:20260101T000000Z\r\n"
		      "DTSTART:20260101T000000Z\r\nDURATION:PT24H\r\nRRULE:FREQ=DAILY\r\n"
		      "SUMMARY:Search all day\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n"
		      "X-TRANSOM-SERVICES:search\r\nX-TRANSOM-CAPACITY:10\r\nEND:VEVENT\r\n"
		      "END:VCALENDAR\r\n");
	write_file_in(policies, "freezes.ics",
		      "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nEND:VCALENDAR\r\n");
	write_file_in(policies, "templates.json",
		      "{\"templates\": [{\"id\": \"search-deploy\", \"title\": \"Deploy search\","
		      " \"services\": [\"search\"], \"max_duration\": \"2h\"}]}\n");
	write_file_in(policies, "alerts.json",
		      "{\"service_labels\": [\"service\"],"
		      " \"services\": {\"search-api\": \"search\"},"
		      " \"unknown_service\": {\"action\": \"refuse\"},"
		      " \"priorities\": {\"critical\": \"P1\", \"warning\": \"P3\"},"
		      " \"default_priority\": \"P4\", \"reopen_window\": \"PT1H\"}\n");
}

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t n = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &n) != 0) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	close(fd);
	return ntohs(a.sin_port);
}

/*
 * Starts Alertmanager on `port` with a receiver posting to transomd with HTTP Basic: user
 * "alertmanager" and its app password (the tests' own posts use its bearer token).
 */
static bool start_alertmanager(const char *tmp, int port)
{
	char dir[600], conf[700], data[700], listen[64];
	snprintf(dir, sizeof dir, "%s/alertmanager", tmp);
	snprintf(conf, sizeof conf, "%s/alertmanager.yml", dir);
	snprintf(data, sizeof data, "%s/data", dir);
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	char cmd[1400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, data);
	if (system(cmd) != 0)
		return false;
	FILE *fp = fopen(conf, "w");
	if (fp == NULL)
		return false;
	fprintf(fp,
		"route:\n"
		"  receiver: transom\n"
		"  group_by: ['alertname', 'service']\n"
		"  group_wait: 1s\n"
		"  group_interval: 1s\n"
		"  repeat_interval: 1h\n"
		"receivers:\n"
		"  - name: transom\n"
		"    webhook_configs:\n"
		"      - url: %s/integrations/alertmanager\n"
		"        send_resolved: true\n"
		"        http_config:\n"
		"          basic_auth:\n"
		"            username: alertmanager\n"
		"            password: %s\n",
		srv.base, am_password);
	fclose(fp);
	char a_conf[800], a_data[800], a_listen[128];
	snprintf(a_conf, sizeof a_conf, "--config.file=%s", conf);
	snprintf(a_data, sizeof a_data, "--storage.path=%s", data);
	snprintf(a_listen, sizeof a_listen, "--web.listen-address=%s", listen);
	char log[800];
	snprintf(log, sizeof log, "%s/alertmanager.log", dir);
	am_pid = fork();
	if (am_pid == 0) {
		FILE *out = freopen(log, "w", stderr);
		(void)out;
		execl(AM_BIN, AM_BIN, a_conf, a_data, a_listen,
		      "--cluster.listen-address=", "--log.level=info", (char *)NULL);
		_exit(127);
	}
	snprintf(am.base, sizeof am.base, "http://127.0.0.1:%d", port);
	for (int i = 0; i < 200; i++) {
		struct reply *r = request(&am, "GET", "/-/ready", NULL, NULL, NULL);
		long st = r ? r->status : 0;
		reply_free(r);
		if (st == 200)
			return true;
		usleep(100 * 1000);
	}
	fprintf(stderr, "alertmanager did not come up; see %s\n", log);
	return false;
}

static void stop_alertmanager(void)
{
	if (am_pid > 0) {
		kill(am_pid, SIGTERM);
		waitpid(am_pid, NULL, 0);
		am_pid = -1;
	}
}

static bool setup(void)
{
	const char *tmp = getenv("TRANSOM_TEST_TMP") ?: "/tmp";
	if (access(AM_BIN, X_OK) != 0) {
		fprintf(stderr, "%s is missing (deploy/install-deps.sh installs it)\n", AM_BIN);
		return false;
	}
	make_policies();
	int port = am_port = free_port();
	char am_url[128];
	snprintf(am_url, sizeof am_url, "TRANSOM_ALERTMANAGER_URL=http://127.0.0.1:%d/", port);
	char clock_env[700];
	snprintf(clock_file, sizeof clock_file, "%s/alertmanager-clock", tmp);
	write_file_in(tmp, "alertmanager-clock", "0\n");
	snprintf(clock_env, sizeof clock_env, "TRANSOM_CLOCK_OFFSET_FILE=%s", clock_file);
	const char *env[] = {am_url,
			     "TRANSOM_WEBHOOK_ALLOW_NETS=127.0.0.1/32",
			     "TRANSOM_TIMER_INTERVAL=200",
			     "TRANSOM_SILENCE_BACKOFF_MS=200",
			     clock_env,
			     NULL};
	if (!server_start(&srv, NULL, policies, env))
		return false;
	snprintf(token_am, sizeof token_am, "%s", token_for("alertmanager", "pipeline"));
	snprintf(token_ci, sizeof token_ci, "%s", token_for("ci", "pipeline"));
	snprintf(token_admin, sizeof token_admin, "%s", token_for("admin", "admin"));
	snprintf(token_req, sizeof token_req, "%s", token_for("grossi", "requester"));
	struct reply *r = request(&srv, "POST", "/v1/me/app-passwords", token_am,
				  "{\"label\": \"alertmanager receiver\"}", JSON_H);
	snprintf(am_password, sizeof am_password, "%s",
		 r->status == 201 ? reply_str(r, "password") : "");
	reply_free(r);
	return am_password[0] != '\0' && start_alertmanager(tmp, port);
}

/* ---- helpers ------------------------------------------------------------------------------- */

static struct reply *hook(const char *token, const char *body)
{
	return request(&srv, "POST", "/integrations/alertmanager", token, body, JSON_H);
}

/* A webhook payload (v4) of one group of one alert. */
static const char *payload(const char *key, const char *status, const char *service,
			   const char *severity, const char *fingerprint)
{
	static char buf[8192];
	char k[4096];
	size_t n = 0;
	for (const char *p = key; *p != '\0' && n + 2 < sizeof k; p++) {
		if (*p == '"' || *p == '\\')
			k[n++] = '\\';
		k[n++] = *p;
	}
	k[n] = '\0';
	snprintf(buf, sizeof buf,
		 "{\"version\": \"4\", \"groupKey\": \"%s\", \"truncatedAlerts\": 0,"
		 " \"status\": \"%s\", \"receiver\": \"transom\","
		 " \"groupLabels\": {\"alertname\": \"DiskFull\"},"
		 " \"commonLabels\": {\"alertname\": \"DiskFull\", \"service\": \"%s\","
		 "  \"severity\": \"%s\"},"
		 " \"commonAnnotations\": {\"summary\": \"disk over 95%%\"},"
		 " \"externalURL\": \"http://alertmanager.example\","
		 " \"alerts\": [{\"status\": \"%s\", \"labels\": {\"alertname\": \"DiskFull\","
		 "  \"service\": \"%s\", \"severity\": \"%s\", \"instance\": \"db1\"},"
		 "  \"annotations\": {\"summary\": \"disk over 95%%\"},"
		 "  \"startsAt\": \"2026-12-01T10:00:00Z\", \"endsAt\": \"0001-01-01T00:00:00Z\","
		 "  \"generatorURL\": \"http://prometheus/graph\", \"fingerprint\": \"%s\"}]}",
		 k, status, service, severity, status, service, severity, fingerprint);
	return buf;
}

/* The incidents of `service`, newest first (owned array). */
static json_t *incidents_of(const char *service)
{
	char path[128];
	snprintf(path, sizeof path, "/v1/incidents?service=%s&limit=200", service);
	struct reply *r = request(&srv, "GET", path, token_admin, NULL, NULL);
	json_t *items = json_incref(json_object_get(r->json, "items"));
	reply_free(r);
	return items ? items : json_array();
}

static json_t *get_record(const char *kind, const char *id)
{
	char path[128];
	snprintf(path, sizeof path, "/v1/%s/%s", kind, id);
	struct reply *r = request(&srv, "GET", path, token_admin, NULL, NULL);
	json_t *j = json_incref(r->json);
	reply_free(r);
	return j;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k)) ?: "";
}

/* Posts alerts to Alertmanager's API: `ends` "" for firing, else endsAt. */
static void am_alert(const char *alertname, const char *service, const char *instance,
		     const char *severity, const char *ends)
{
	char body[1024];
	snprintf(body, sizeof body,
		 "[{\"labels\": {\"alertname\": \"%s\", \"service\": \"%s\", \"instance\": \"%s\","
		 " \"severity\": \"%s\"}, \"annotations\": {\"summary\": \"%s on %s\"}%s%s%s}]",
		 alertname, service, instance, severity, alertname, instance,
		 ends[0] ? ", \"endsAt\": \"" : "", ends, ends[0] ? "\"" : "");
	struct reply *r = request(&am, "POST", "/api/v2/alerts", NULL, body, JSON_H);
	CHECKF(r->status == 200, "alertmanager took no alert: %ld %s", r->status,
	       r->body ? r->body : "");
	reply_free(r);
}

/* RFC 3339 of now + `delta_s`. */
static const char *at(long delta_s)
{
	static char buf[64];
	time_t t = time(NULL) + delta_s;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* Waits up to 20 s for the newest incident of `service` (other than `not`) in `state`
 * (NULL: any); its id into `id`. */
static bool wait_incident(const char *service, const char *state, const char * not, char id[32])
{
	for (int i = 0; i < 200; i++) {
		json_t *items = incidents_of(service);
		size_t k;
		json_t *it;
		json_array_foreach(items, k, it) {
			if (not != NULL && strcmp(jstr(it, "id"), not ) == 0)
				continue;
			if (state == NULL || strcmp(jstr(it, "state"), state) == 0) {
				snprintf(id, 32, "%s", jstr(it, "id"));
				json_decref(items);
				return true;
			}
		}
		json_decref(items);
		usleep(100 * 1000);
	}
	return false;
}

/* Alertmanager's silence whose comment names `change`, waiting (10 s) for `state`. */
static json_t *wait_silence(const char *change, const char *state)
{
	for (int i = 0; i < 100; i++) {
		struct reply *r = request(&am, "GET", "/api/v2/silences", NULL, NULL, NULL);
		size_t k;
		json_t *s;
		json_array_foreach(r->json, k, s) {
			if (strstr(jstr(s, "comment"), change) != NULL &&
			    strcmp(jstr(json_object_get(s, "status"), "state"), state) == 0) {
				json_t *found = json_incref(s);
				reply_free(r);
				return found;
			}
		}
		reply_free(r);
		usleep(100 * 1000);
	}
	return NULL;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_a_credential_is_required(void)
{
	const char *body =
		payload("{}:{alertname=\"DiskFull\"}", "firing", "ledger", "warning", "f0");
	struct reply *r = hook(NULL, body);
	CHECK_INT(r->status, 401);
	reply_free(r);
	r = hook("not-a-token", body);
	CHECK_INT(r->status, 401);
	reply_free(r);
	r = hook(token_req, body); /* a requester is not an integration */
	CHECK_INT(r->status, 403);
	reply_free(r);
	/* HTTP Basic (what Alertmanager's basic_auth sends): a wrong app password is 401 with a
	 * Basic challenge, a requester's right one 403 */
	char auth[480];
	basic_auth_header("alertmanager", "not-the-password", auth, sizeof auth);
	const char *wrong[] = {auth, "Content-Type: application/json", NULL};
	r = request(&srv, "POST", "/integrations/alertmanager", NULL, body, wrong);
	CHECK_INT(r->status, 401);
	CHECK(strncmp(reply_header(r, "WWW-Authenticate") ?: "", "Basic", 5) == 0);
	reply_free(r);
	r = request(&srv, "POST", "/v1/me/app-passwords", token_req, "{\"label\": \"x\"}", JSON_H);
	char req_pw[64];
	snprintf(req_pw, sizeof req_pw, "%s", reply_str(r, "password"));
	reply_free(r);
	basic_auth_header("grossi", req_pw, auth, sizeof auth);
	const char *requester_basic[] = {auth, "Content-Type: application/json", NULL};
	r = request(&srv, "POST", "/integrations/alertmanager", NULL, body, requester_basic);
	CHECK_INT(r->status, 403);
	reply_free(r);
	json_t *items = incidents_of("ledger");
	CHECK_INT(json_array_size(items), 0);
	json_decref(items);
}

static void test_malformed_payloads_name_the_field(void)
{
	struct reply *r = hook(token_am, "{not json");
	CHECK_INT(r->status, 400);
	reply_free(r);
	r = hook(token_am, "[1, 2]"); /* JSON, but not an object */
	CHECK(r->status == 400 || r->status == 422);
	reply_free(r);
	r = hook(token_am, "{\"version\": \"4\", \"status\": \"firing\", \"alerts\": []}");
	CHECK_INT(r->status, 422);
	CHECK_STR(reply_str(r, "field"), "groupKey");
	reply_free(r);
	char body[4096];
	snprintf(body, sizeof body, "%s", payload("k-bad", "firing", "ledger", "warning", "f1"));
	char *v = strstr(body, "\"4\"");
	v[1] = '3';
	r = hook(token_am, body);
	CHECK_INT(r->status, 422);
	CHECK_STR(reply_str(r, "field"), "version");
	reply_free(r);
	r = hook(token_am, payload("k-bad", "burning", "ledger", "warning", "f1"));
	CHECK_INT(r->status, 422);
	CHECK_STR(reply_str(r, "field"), "status");
	reply_free(r);
	r = hook(token_am, "{\"version\": \"4\", \"groupKey\": \"k\", \"status\": \"firing\","
			   " \"alerts\": [{\"status\": \"firing\"}]}");
	CHECK_INT(r->status, 422);
	CHECK_STR(reply_str(r, "field"), "alerts[0].labels");
	reply_free(r);
	r = hook(token_am, "{\"version\": \"4\", \"groupKey\": \"k\", \"status\": \"firing\","
			   " \"alerts\": \"many\"}");
	CHECK_INT(r->status, 422);
	CHECK_STR(reply_str(r, "field"), "alerts");
	reply_free(r);
	r = hook(token_am, "{\"version\": 4, \"groupKey\": \"k\", \"status\": \"firing\","
			   " \"alerts\": []}");
	CHECK_INT(r->status, 422);
	CHECK_STR(reply_str(r, "field"), "version");
	reply_free(r);
	/* A group key too long to index is refused, not a database error. */
	char *big = malloc(8192), *key = malloc(3001);
	memset(key, 'k', 3000);
	key[3000] = '\0';
	snprintf(big, 8192, "%s", payload(key, "firing", "ledger", "warning", "f3"));
	r = hook(token_am, big);
	CHECK_INT(r->status, 422);
	CHECK_STR(reply_str(r, "field"), "groupKey");
	reply_free(r);
	free(big);
	free(key);
	/* A service the catalog does not know, under a policy that refuses those. */
	r = hook(token_am, payload("k-unknown", "firing", "toaster", "critical", "f2"));
	CHECK_INT(r->status, 422);
	CHECK_STR(reply_str(r, "code"), "ALERT_SERVICE");
	CHECK_STR(reply_str(r, "field"), "commonLabels.service");
	reply_free(r);
}

static void test_retries_are_deduplicated_and_the_incident_follows_the_group(void)
{
	const char *key = "{}:{alertname=\"DiskFull\", service=\"ledger\"}";
	struct reply *r = hook(token_am, payload(key, "firing", "ledger", "warning", "aa01"));
	CHECK_INT(r->status, 200);
	CHECK_STR(reply_str(r, "action"), "opened");
	CHECK_STR(reply_str(r, "priority"), "P3");
	char inc[32];
	snprintf(inc, sizeof inc, "%s", reply_str(r, "incident"));
	CHECK(strncmp(inc, "INC-", 4) == 0);
	reply_free(r);
	/* Alertmanager retries (and repeats): the same incident, nothing new. */
	for (int i = 0; i < 2; i++) {
		r = hook(token_am, payload(key, "firing", "ledger", "warning", "aa01"));
		CHECK_INT(r->status, 200);
		CHECK_STR(reply_str(r, "action"), "deduped");
		CHECK_STR(reply_str(r, "incident"), inc);
		reply_free(r);
	}
	json_t *items = incidents_of("ledger");
	CHECK_INT(json_array_size(items), 1);
	json_decref(items);
	json_t *rec = get_record("incidents", inc);
	json_t *g = json_object_get(rec, "alert_group");
	CHECK_STR(jstr(g, "group_key"), key);
	CHECK_INT(json_integer_value(json_object_get(g, "notifications")), 3);
	CHECK_STR(jstr(rec, "assignment_group"), "payments-team"); /* routed by the catalog */
	json_decref(rec);

	/* Resolved: through the workflow's alert_resolved; a retry of it changes nothing. */
	r = hook(token_am, payload(key, "resolved", "ledger", "warning", "aa01"));
	CHECK_INT(r->status, 200);
	CHECK_STR(reply_str(r, "action"), "resolved");
	reply_free(r);
	r = hook(token_am, payload(key, "resolved", "ledger", "warning", "aa01"));
	CHECK_STR(reply_str(r, "action"), "deduped");
	reply_free(r);
	rec = get_record("incidents", inc);
	CHECK_STR(jstr(rec, "state"), "resolved");
	CHECK_STR(jstr(rec, "resolution"), "the alerts resolved in Alertmanager");
	json_decref(rec);
	char path[96];
	snprintf(path, sizeof path, "/v1/incidents/%s/history", inc);
	r = request(&srv, "GET", path, token_admin, NULL, NULL);
	CHECKF(r->body && strstr(r->body, "alert_resolved"), "history: %s", r->body);
	reply_free(r);

	/* Firing again within the reopen window: the same incident, reopened. */
	r = hook(token_am, payload(key, "firing", "ledger", "warning", "aa01"));
	CHECK_STR(reply_str(r, "action"), "reopened");
	CHECK_STR(reply_str(r, "incident"), inc);
	reply_free(r);
	rec = get_record("incidents", inc);
	CHECK_STR(jstr(rec, "state"), "in_progress");
	json_decref(rec);

	/* Resolved and closed by a person, then firing again: a new incident naming the old. */
	r = hook(token_am, payload(key, "resolved", "ledger", "warning", "aa01"));
	CHECK_STR(reply_str(r, "action"), "resolved");
	reply_free(r);
	snprintf(path, sizeof path, "/v1/incidents/%s/transitions", inc);
	r = request(&srv, "POST", path, token_admin, "{\"event\": \"close\"}", JSON_H);
	CHECK_INT(r->status, 200);
	reply_free(r);
	r = hook(token_am, payload(key, "firing", "ledger", "critical", "aa02"));
	CHECK_STR(reply_str(r, "action"), "opened");
	char inc2[32];
	snprintf(inc2, sizeof inc2, "%s", reply_str(r, "incident"));
	CHECK(strcmp(inc2, inc) != 0);
	reply_free(r);
	rec = get_record("incidents", inc2);
	json_t *prev = json_object_get(json_object_get(rec, "alert_group"), "previous_incidents");
	CHECK_INT(json_array_size(prev), 1);
	CHECK_STR(json_string_value(json_array_get(prev, 0)), inc);
	CHECKF(strstr(jstr(rec, "description"), inc) != NULL, "description: %s",
	       jstr(rec, "description"));
	json_decref(rec);
}

/* Fires `event` on incident `id` as the admin; with `resolution`, PATCHes it first. */
static void admin_event(const char *id, const char *event, const char *resolution)
{
	char path[96], body[256], ifm[64];
	if (resolution != NULL) {
		json_t *rec = get_record("incidents", id);
		snprintf(ifm, sizeof ifm, "If-Match: \"%lld\"",
			 (long long)json_integer_value(json_object_get(rec, "version")));
		json_decref(rec);
		const char *h[] = {"Content-Type: application/json", ifm, NULL};
		snprintf(path, sizeof path, "/v1/incidents/%s", id);
		snprintf(body, sizeof body, "{\"resolution\": \"%s\"}", resolution);
		struct reply *r = request(&srv, "PATCH", path, token_admin, body, h);
		CHECKF(r->status == 200, "patch: %ld %s", r->status, r->body ? r->body : "");
		reply_free(r);
	}
	snprintf(path, sizeof path, "/v1/incidents/%s/transitions", id);
	snprintf(body, sizeof body, "{\"event\": \"%s\"}", event);
	struct reply *r = request(&srv, "POST", path, token_admin, body, JSON_H);
	CHECKF(r->status == 200, "%s: %ld %s", event, r->status, r->body ? r->body : "");
	reply_free(r);
}

/* Someone resolved the incident while its alerts still fire: the next notification reopens
 * it (within the window), rather than opening a second incident. */
static void test_a_group_still_firing_reopens_an_incident_a_person_resolved(void)
{
	const char *key = "{}:{alertname=\"DiskFull\", service=\"payments-db\"}";
	struct reply *r = hook(token_am, payload(key, "firing", "payments-db", "warning", "bb01"));
	CHECK_STR(reply_str(r, "action"), "opened");
	char inc[32];
	snprintf(inc, sizeof inc, "%s", reply_str(r, "incident"));
	reply_free(r);
	admin_event(inc, "start", NULL);
	admin_event(inc, "resolve", "restarted the vacuum");
	r = hook(token_am, payload(key, "firing", "payments-db", "warning", "bb01"));
	CHECK_STR(reply_str(r, "action"), "reopened");
	CHECK_STR(reply_str(r, "incident"), inc);
	reply_free(r);
	json_t *items = incidents_of("payments-db");
	CHECK_INT(json_array_size(items), 1);
	json_decref(items);
}

static void test_alertmanager_opens_updates_and_resolves_one_incident(void)
{
	am_alert("HighLatency", "search-api", "web1", "critical", "");
	char inc[32];
	CHECKF(wait_incident("search", NULL, NULL, inc), "no incident from Alertmanager");
	json_t *rec = get_record("incidents", inc);
	CHECK_STR(jstr(rec, "priority"), "P1");
	CHECK_STR(jstr(rec, "service"), "search");
	CHECK_STR(jstr(rec, "assignment_group"), "discovery-team");
	CHECKF(strstr(jstr(rec, "title"), "HighLatency") != NULL, "title: %s", jstr(rec, "title"));
	json_decref(rec);

	/* A second alert of the same group: Alertmanager notifies again; still one incident. */
	am_alert("HighLatency", "search-api", "web2", "critical", "");
	json_t *g = NULL;
	for (int i = 0; i < 100; i++) {
		rec = get_record("incidents", inc);
		g = json_object_get(rec, "alert_group");
		if (json_array_size(json_object_get(g, "fingerprints")) == 2)
			break;
		json_decref(rec);
		rec = NULL;
		usleep(100 * 1000);
	}
	CHECKF(rec != NULL, "the group's second alert never reached Transom");
	json_decref(rec);
	json_t *items = incidents_of("search");
	CHECK_INT(json_array_size(items), 1);
	json_decref(items);

	/* Both resolved (endsAt in the past): the incident is resolved. */
	am_alert("HighLatency", "search-api", "web1", "critical", at(-5));
	am_alert("HighLatency", "search-api", "web2", "critical", at(-5));
	char again[32];
	CHECKF(wait_incident("search", "resolved", NULL, again), "the incident was not resolved");
	CHECK_STR(again, inc);

	struct reply *r = request(&srv, "GET", "/metrics", NULL, NULL, NULL);
	CHECKF(r->body && strstr(r->body, "transom_alerts_total{outcome=\"opened\"}"),
	       "no alert metrics");
	CHECK(r->body && strstr(r->body, "transom_alerts_received_total") != NULL);
	reply_free(r);
}

static void test_a_change_under_way_gets_a_silence_and_its_alerts(void)
{
	/* A pipeline deploys search: pre-approved, booked now, its window open. */
	struct reply *r = request(&srv, "POST", "/v1/deployments", token_ci,
				  "{\"service\": \"search\", \"environment\": \"production\","
				  " \"duration\": \"PT30M\", \"template\": \"search-deploy\"}",
				  JSON_H);
	CHECKF(r->status == 201, "deploy: %ld %s", r->status, r->body ? r->body : "");
	CHECK_STR(reply_str(r, "decision"), "allow");
	char dep[32], chg[32], lease[128];
	snprintf(dep, sizeof dep, "%s", reply_str(r, "id"));
	snprintf(chg, sizeof chg, "%s", reply_str(r, "change"));
	snprintf(lease, sizeof lease, "%s", jstr(json_object_get(r->json, "lease"), "token"));
	reply_free(r);

	json_t *sil = wait_silence(chg, "active");
	CHECKF(sil != NULL, "no active silence in Alertmanager for %s", chg);
	char sid[64] = "";
	if (sil != NULL) {
		snprintf(sid, sizeof sid, "%s", jstr(sil, "id"));
		CHECK_STR(jstr(sil, "createdBy"), "transom");
		json_t *m = json_object_get(sil, "matchers");
		CHECK_INT(json_array_size(m), 1);
		CHECK_STR(jstr(json_array_get(m, 0), "name"), "service");
		CHECK_STR(jstr(json_array_get(m, 0), "value"), "search");
		CHECK(json_is_false(json_object_get(json_array_get(m, 0), "isRegex")));
		json_decref(sil);
	}
	json_t *rec = get_record("changes", chg);
	json_t *s0 = json_array_get(json_object_get(rec, "silences"), 0);
	CHECK_STR(jstr(s0, "state"), "active");
	CHECK_STR(jstr(s0, "silence_id"), sid);
	json_decref(rec);

	/* Alertmanager itself now holds back the service's alerts. */
	am_alert("Deploying", "search", "web3", "warning", "");
	bool suppressed = false;
	for (int i = 0; i < 50 && !suppressed; i++) {
		r = request(&am, "GET", "/api/v2/alerts?filter=alertname%3D%22Deploying%22", NULL,
			    NULL, NULL);
		json_t *st = json_object_get(json_array_get(r->json, 0), "status");
		suppressed = strcmp(jstr(st, "state"), "suppressed") == 0;
		reply_free(r);
		if (!suppressed)
			usleep(100 * 1000);
	}
	CHECK(suppressed);

	/* An alert on the service that reaches Transom meanwhile is the change's. */
	json_t *before = incidents_of("search");
	r = hook(token_am, payload("{}:{alertname=\"DiskFull\", service=\"search\"}", "firing",
				   "search", "critical", "cc01"));
	CHECK_INT(r->status, 200);
	CHECK_STR(reply_str(r, "action"), "linked");
	CHECK_STR(reply_str(r, "change"), chg);
	CHECK(json_is_null(json_object_get(r->json, "incident")));
	reply_free(r);
	json_t *after = incidents_of("search");
	CHECK_INT(json_array_size(after), json_array_size(before));
	json_decref(before);
	json_decref(after);
	rec = get_record("changes", chg);
	json_t *a0 = json_array_get(json_object_get(rec, "alerts"), 0);
	CHECK_STR(jstr(a0, "alertname"), "DiskFull");
	CHECK_STR(jstr(a0, "status"), "firing");
	json_decref(rec);

	/* The deploy started (the allow gave the lease) and succeeds: the change is done,
	 * the silence expired. */
	char path[96];
	CHECKF(lease[0] != '\0', "no lease on the allow");
	char body[256];
	snprintf(body, sizeof body, "{\"outcome\": \"success\", \"lease\": \"%s\"}", lease);
	snprintf(path, sizeof path, "/v1/deployments/%s/result", dep);
	r = request(&srv, "POST", path, token_ci, body, JSON_H);
	CHECKF(r->status == 200, "result: %ld %s", r->status, r->body ? r->body : "");
	reply_free(r);
	sil = wait_silence(chg, "expired");
	CHECKF(sil != NULL, "the silence of %s was not expired", chg);
	CHECK_STR(jstr(sil, "id"), sid);
	json_decref(sil);
	rec = get_record("changes", chg);
	s0 = json_array_get(json_object_get(rec, "silences"), 0);
	CHECK_STR(jstr(s0, "state"), "expired");
	json_decref(rec);
	r = request(&srv, "GET", "/metrics", NULL, NULL, NULL);
	CHECK(r->body && strstr(r->body, "transom_silences_total{event=\"created\"} 1"));
	CHECK(r->body && strstr(r->body, "transom_silences_total{event=\"expired\"} 1"));
	reply_free(r);
}

/* Deploys search now; the change's id into `chg`, the lease into `lease`; false if not allowed. */
static bool deploy_search(char dep[32], char chg[32], char lease[128])
{
	struct reply *r = request(&srv, "POST", "/v1/deployments", token_ci,
				  "{\"service\": \"search\", \"environment\": \"production\","
				  " \"duration\": \"PT30M\", \"template\": \"search-deploy\"}",
				  JSON_H);
	bool ok = r->status == 201 && strcmp(reply_str(r, "decision"), "allow") == 0;
	CHECKF(ok, "deploy: %ld %s", r->status, r->body ? r->body : "");
	snprintf(dep, 32, "%s", reply_str(r, "id"));
	snprintf(chg, 32, "%s", reply_str(r, "change"));
	snprintf(lease, 128, "%s", jstr(json_object_get(r->json, "lease"), "token"));
	reply_free(r);
	return ok;
}

static void test_silences_survive_an_alertmanager_outage(void)
{
	stop_alertmanager();
	char dep[32], chg[32], lease[128];
	if (!deploy_search(dep, chg, lease))
		return;
	/* Alertmanager is down: the silence waits in the outbox, with the error. */
	json_t *s0 = NULL, *rec = NULL;
	for (int i = 0; i < 100; i++) {
		rec = get_record("changes", chg);
		s0 = json_array_get(json_object_get(rec, "silences"), 0);
		if (json_integer_value(json_object_get(s0, "attempts")) >= 1)
			break;
		json_decref(rec);
		rec = NULL;
		usleep(100 * 1000);
	}
	CHECKF(rec != NULL, "no failed attempt recorded for %s's silence", chg);
	CHECK_STR(jstr(s0, "state"), "pending");
	CHECKF(jstr(s0, "last_error")[0] != '\0', "no last_error");
	json_decref(rec);
	struct reply *r = request(&srv, "GET", "/metrics", NULL, NULL, NULL);
	CHECK(r->body && strstr(r->body, "transom_silences_total{event=\"failed\"} ") &&
	      !strstr(r->body, "transom_silences_total{event=\"failed\"} 0\n"));
	reply_free(r);

	/* Back up: the retry creates it; the change done, it is expired. */
	CHECK(start_alertmanager(getenv("TRANSOM_TEST_TMP") ?: "/tmp", am_port));
	json_t *sil = wait_silence(chg, "active");
	CHECKF(sil != NULL, "the silence of %s was not created after the outage", chg);
	json_decref(sil);
	char path[96], body[256];
	snprintf(body, sizeof body, "{\"outcome\": \"success\", \"lease\": \"%s\"}", lease);
	snprintf(path, sizeof path, "/v1/deployments/%s/result", dep);
	r = request(&srv, "POST", path, token_ci, body, JSON_H);
	CHECK_INT(r->status, 200);
	reply_free(r);
	sil = wait_silence(chg, "expired");
	CHECKF(sil != NULL, "the silence of %s was not expired", chg);
	json_decref(sil);
}

/* Moves transomd's clock `minutes` ahead of the real one. */
static void clock_ahead(long minutes)
{
	FILE *fp = fopen(clock_file, "w");
	CHECK(fp != NULL);
	if (fp != NULL) {
		fprintf(fp, "%ld\n", minutes * 60 * 1000);
		fclose(fp);
	}
}

/* Last: it moves transomd's clock forward. */
static void test_the_clock_ends_silences_and_the_reopen_window(void)
{
	/* A change whose window (its 30-minute booking) is over: its silence is expired,
	 * whatever became of the change. */
	char dep[32], chg[32], lease[128];
	if (!deploy_search(dep, chg, lease))
		return;
	json_t *sil = wait_silence(chg, "active");
	CHECKF(sil != NULL, "no silence for %s", chg);
	json_decref(sil);
	clock_ahead(31);
	sil = wait_silence(chg, "expired");
	CHECKF(sil != NULL, "the silence of %s outlived its window", chg);
	json_decref(sil);

	/* A group resolved longer ago than reopen_window (an hour) fires again: a new
	 * incident, not the old one reopened. */
	const char *key = "{}:{alertname=\"DiskFull\", service=\"reporting\"}";
	struct reply *r = hook(token_am, payload(key, "firing", "reporting", "warning", "dd01"));
	CHECK_STR(reply_str(r, "action"), "opened");
	char inc[32];
	snprintf(inc, sizeof inc, "%s", reply_str(r, "incident"));
	reply_free(r);
	r = hook(token_am, payload(key, "resolved", "reporting", "warning", "dd01"));
	CHECK_STR(reply_str(r, "action"), "resolved");
	reply_free(r);
	clock_ahead(31 + 61);
	r = hook(token_am, payload(key, "firing", "reporting", "warning", "dd01"));
	CHECK_STR(reply_str(r, "action"), "opened");
	CHECKF(strcmp(reply_str(r, "incident"), inc) != 0, "the old incident %s came back", inc);
	reply_free(r);
	json_t *rec = get_record("incidents", inc);
	CHECK_STR(jstr(rec, "state"), "resolved");
	json_decref(rec);
}

static void test_check_names_a_bad_alerts_policy(void)
{
	char bad[700], cmd[3000], out[800];
	snprintf(bad, sizeof bad, "%s-bad", policies);
	snprintf(out, sizeof out, "%s.out", bad);
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", bad, policies, bad);
	CHECK(system(cmd) == 0);
	write_file_in(bad, "alerts.json",
		      "{\"services\": {\"x\": \"no-such-service\"}, \"priorities\": {\"critical\": "
		      "\"P0\"}, \"unknown_service\": {\"action\": \"route\"}}\n");
	snprintf(cmd, sizeof cmd, "cd '%s' && '%s' check --policies '%s' >'%s' 2>&1",
		 getenv("TRANSOM_TEST_ROOT") ?: ".", getenv("TRANSOM_TEST_BIN") ?: "build/transomd",
		 bad, out);
	int st = system(cmd);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	char text[4096] = "";
	FILE *fp = fopen(out, "r");
	size_t n = fp ? fread(text, 1, sizeof text - 1, fp) : 0;
	text[n] = '\0';
	if (fp)
		fclose(fp);
	CHECKF(strstr(text, "alerts.json: services.x: must name a service of the catalog"), "%s",
	       text);
	CHECKF(strstr(text, "alerts.json: priorities.critical: must be P1"), "%s", text);
	CHECKF(strstr(text, "alerts.json: unknown_service.service:"), "%s", text);
}

/* A reloaded policy that routes unknown services: the incident goes to its service. */
static void test_a_reloaded_policy_routes_unknown_services(void)
{
	write_file_in(
		policies, "alerts.json",
		"{\"unknown_service\": {\"action\": \"route\", \"service\": \"message-bus\"}}\n");
	server_signal(&srv, SIGHUP);
	struct reply *r = NULL;
	for (int i = 0; i < 100; i++) {
		reply_free(r);
		r = hook(token_am, payload("k-routed", "firing", "toaster", "critical", "ee01"));
		if (r->status == 200)
			break;
		usleep(100 * 1000);
	}
	CHECK_INT(r->status, 200);
	CHECK_STR(reply_str(r, "service"), "message-bus");
	CHECK_STR(reply_str(r, "priority"), "P1"); /* the default severities, no priorities */
	reply_free(r);
}

int tests_main(void);
#define main tests_main
TESTS(test_a_credential_is_required, test_malformed_payloads_name_the_field,
      test_retries_are_deduplicated_and_the_incident_follows_the_group,
      test_a_group_still_firing_reopens_an_incident_a_person_resolved,
      test_alertmanager_opens_updates_and_resolves_one_incident,
      test_a_change_under_way_gets_a_silence_and_its_alerts,
      test_silences_survive_an_alertmanager_outage, test_check_names_a_bad_alerts_policy,
      test_the_clock_ends_silences_and_the_reopen_window,
      test_a_reloaded_policy_routes_unknown_services)
#undef main

int main(void)
{
	if (!setup()) {
		stop_alertmanager();
		printf("0 passed, 1 failed\n");
		return 1;
	}
	int rc = tests_main();
	stop_alertmanager();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	return rc;
}
