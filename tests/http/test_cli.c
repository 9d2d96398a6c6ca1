/*
 * test_cli.c -- the `transom` command-line client, run as a program against the real
 * transomd: exit statuses, what goes to stdout and stderr, changes list/show, approve,
 * usage errors, an unreachable server, and the deployment gate (allow, wait and time out,
 * wait until the window opens, deny, results, idempotency keys derived from CI runs).
 *
 * The gate tests run transomd on policies written here (a copy of policies/ with windows
 * placed relative to now and no freezes), so that "the window is open", "opens in a few
 * seconds" and "opens in hours" do not depend on the day the suite runs.  A scripted fake
 * server (a thread here) drives the wait loop through failures the real server does not
 * produce on demand: 503s, a long poll that could not read the decision, a 403 mid-wait.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "lib_http.h"

static struct server srv;
#include "record_steps.h"
static char alice[128], cnguyen[128], zed[128], ci[128];
static char cli_path[1024];

/* ---- running the CLI -------------------------------------------------------------------- */

struct run {
	pid_t pid;
	int out_fd, err_fd;
	int status;      /* exit status; -1 when killed or not run */
	char *out, *err; /* what it printed (owned) */
	double seconds;  /* how long it ran */
	struct timespec t0;
};

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * Starts `transom ARGS...` with TRANSOM_URL and TRANSOM_TOKEN set to `url` and `token`
 * (unset when NULL), the CI variables of the test's own environment removed and `env`
 * ("KEY=value", NULL-terminated, may be NULL) added.
 */
static void cli_start(struct run *r, const char *url, const char *token, const char *const *env,
		      const char *const *args)
{
	static const char *const ci_vars[] = {"GITHUB_ACTIONS", "GITHUB_RUN_ID", "GITLAB_CI",
					      "CI_PIPELINE_ID", "CI_JOB_ID",     "BUILD_TAG",
					      "JENKINS_URL",    "BUILD_URL"};
	int o[2], e[2];
	memset(r, 0, sizeof *r);
	r->status = -1;
	if (pipe(o) != 0 || pipe(e) != 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	r->pid = fork();
	if (r->pid == 0) {
		const char *argv[32];
		size_t n = 0;
		argv[n++] = cli_path;
		for (size_t i = 0; args[i] != NULL && n < 31; i++)
			argv[n++] = args[i];
		argv[n] = NULL;
		dup2(o[1], STDOUT_FILENO);
		dup2(e[1], STDERR_FILENO);
		close(o[0]);
		close(o[1]);
		close(e[0]);
		close(e[1]);
		for (size_t i = 0; i < sizeof ci_vars / sizeof ci_vars[0]; i++)
			unsetenv(ci_vars[i]);
		if (url != NULL)
			setenv("TRANSOM_URL", url, 1);
		else
			unsetenv("TRANSOM_URL");
		if (token != NULL)
			setenv("TRANSOM_TOKEN", token, 1);
		else
			unsetenv("TRANSOM_TOKEN");
		for (size_t i = 0; env != NULL && env[i] != NULL; i++)
			putenv((char *)env[i]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	r->out_fd = o[0];
	r->err_fd = e[0];
}

/* Collects the output and the exit status; kills the CLI after `limit` seconds. */
static void cli_finish(struct run *r, double limit)
{
	FILE *mo, *me;
	size_t lo = 0, le = 0;
	char buf[4096];
	if (r->pid <= 0)
		return;
	mo = open_memstream(&r->out, &lo);
	me = open_memstream(&r->err, &le);
	bool open_o = true, open_e = true;
	while (open_o || open_e) {
		struct pollfd p[2] = {{r->out_fd, open_o ? POLLIN : 0, 0},
				      {r->err_fd, open_e ? POLLIN : 0, 0}};
		double left = limit - since(&r->t0);
		if (left <= 0) {
			fprintf(stderr, "  transom ran longer than %.0f s: killed\n", limit);
			kill(r->pid, SIGKILL);
			break;
		}
		if (poll(p, 2, (int)(left * 1000) + 1) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t k = read(p[i].fd, buf, sizeof buf);
			if (k > 0)
				fwrite(buf, 1, (size_t)k, i == 0 ? mo : me);
			else if (i == 0)
				open_o = false;
			else
				open_e = false;
		}
	}
	fclose(mo);
	fclose(me);
	close(r->out_fd);
	close(r->err_fd);
	int st = 0;
	waitpid(r->pid, &st, 0);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r->seconds = since(&r->t0);
	r->pid = 0;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

/* Runs the CLI to completion (at most 60 s) against the test server as `token`. */
static void cli(struct run *r, const char *token, const char *const *args)
{
	cli_start(r, srv.base, token, NULL, args);
	cli_finish(r, 60);
}

/* Does `hay` contain `needle` (NULL-safe)? */
static bool has(const char *hay, const char *needle)
{
	return hay != NULL && strstr(hay, needle) != NULL;
}

#define CHECK_RUN(r, want)                                                                         \
	CHECKF((r).status == (want), "exit %d, want %d; stdout: %s; stderr: %s", (r).status,       \
	       (want), (r).out ? (r).out : "", (r).err ? (r).err : "")

/* The id of the record at `path` ("/v1/changes/CHG-12" -> "CHG-12"). */
static const char *id_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static const char *low_risk_change =
	"{\"title\": \"Add a report column\", \"type\": \"normal\", \"services\": "
	"[\"reporting\"], \"duration\": \"PT1H\", \"description\": \"new column\","
	" \"implementation_plan\": \"deploy the new view\", \"rollback_plan\": \"redeploy the "
	"previous release from the registry\", \"test_evidence\": \"ci run 812 green\"}";

/* A low-risk change submitted to `authorize` (one CAB vote schedules it); its path. */
static bool change_in_authorize(const char *title, char *path, size_t len)
{
	json_t *b = json_loads(low_risk_change, 0, NULL);
	json_object_set_new(b, "title", json_string(title));
	char *text = json_dumps(b, JSON_COMPACT);
	bool ok = create("/v1/changes", alice, text, path, len) &&
		  step(path, alice, "submit", "authorize");
	free(text);
	json_decref(b);
	return ok;
}

/* ---- usage ------------------------------------------------------------------------------ */

static void test_help_and_usage_errors(void)
{
	struct run r;
	cli(&r, alice, (const char *[]){"--help", NULL});
	CHECK_RUN(r, 0);
	CHECK(has(r.out, "deploy request") && has(r.out, "changes list") && has(r.out, "approve"));
	run_free(&r);
	cli(&r, alice, (const char *[]){"deploy", "request", "--help", NULL});
	CHECK_RUN(r, 0);
	CHECK(has(r.out, "--duration") && has(r.out, "--timeout") && has(r.out, "3 timed out"));
	run_free(&r);
	cli(&r, alice, (const char *[]){"help", "changes", NULL});
	CHECK_RUN(r, 0);
	CHECK(has(r.out, "changes show") && !has(r.out, "deploy request"));
	run_free(&r);

	const char *const *bad[] = {
		(const char *[]){NULL},
		(const char *[]){"frobnicate", NULL},
		(const char *[]){"deploy", NULL},
		(const char *[]){"deploy", "launch", NULL},
		(const char *[]){"changes", "list", "--colour", "red", NULL},
		(const char *[]){"changes", "list", "-s", NULL},
		(const char *[]){"changes", "list", "--limit", NULL},
		(const char *[]){"changes", "list", "--limit", "ten", NULL},
		(const char *[]){"changes", "list", "--json=yes", NULL},
		(const char *[]){"changes", "show", NULL},
		(const char *[]){"changes", "show", "CHG-1", "CHG-2", NULL},
		(const char *[]){"changes", "show", "../tokens", NULL},
		(const char *[]){"approve", NULL},
		(const char *[]){"deploy", "request", "--env", "prod", "--duration", "30m", NULL},
		(const char *[]){"deploy", "request", "--service", "reporting", "--env", "prod",
				 "--duration", "30 minutes", NULL},
		(const char *[]){"deploy", "request", "--service", "reporting", "--env", "prod",
				 "--duration", "30m", "--wait", "--timeout", "2x", NULL},
		(const char *[]){"deploy", "request", "--service", "reporting", "--env", "prod",
				 "--duration", "m30", NULL},
		(const char *[]){"deploy", "result", "DEP-1", NULL},
		(const char *[]){"deploy", "result", "DEP-1", "--outcome", "maybe", NULL},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cli(&r, ci, bad[i]);
		CHECKF(r.status == 1 && r.err && strncmp(r.err, "transom: ", 9) == 0 &&
			       (!r.out || !*r.out),
		       "case %zu: exit %d stdout '%s' stderr '%s'", i, r.status, r.out ? r.out : "",
		       r.err ? r.err : "");
		run_free(&r);
	}
	cli(&r, ci, (const char *[]){"changes", "list", "--colour", "red", NULL});
	CHECK(has(r.err, "unknown option --colour") && has(r.err, "usage: transom changes list"));
	run_free(&r);

	/* No server named anywhere; no token. */
	cli_start(&r, NULL, alice, NULL, (const char *[]){"changes", "list", NULL});
	cli_finish(&r, 30);
	CHECK_RUN(r, 1);
	CHECK(has(r.err, "TRANSOM_URL"));
	run_free(&r);
	cli_start(&r, srv.base, NULL, NULL, (const char *[]){"changes", "list", NULL});
	cli_finish(&r, 30);
	CHECK_RUN(r, 1);
	CHECK(has(r.err, "TRANSOM_TOKEN"));
	run_free(&r);
	cli_start(&r, "ftp://example.org", alice, NULL, (const char *[]){"changes", "list", NULL});
	cli_finish(&r, 30);
	CHECK_RUN(r, 1);
	run_free(&r);
}

/* ---- changes and approvals -------------------------------------------------------------- */

static void test_changes_list_filters_and_json(void)
{
	char draft[64], submitted[64];
	if (!create("/v1/changes", alice, low_risk_change, draft, sizeof draft) ||
	    !change_in_authorize("Rotate the reporting keys", submitted, sizeof submitted))
		return;
	struct run r;
	cli(&r, alice, (const char *[]){"changes", "list", NULL});
	CHECK_RUN(r, 0);
	CHECK(r.out && strncmp(r.out, "ID", 2) == 0 && has(r.out, "STATE") && has(r.out, "TITLE"));
	CHECK(has(r.out, id_of(draft)) && has(r.out, id_of(submitted)));
	CHECK(has(r.out, "Rotate the reporting keys") && has(r.out, "authorize"));
	run_free(&r);

	cli(&r, alice, (const char *[]){"changes", "list", "--state", "authorize", NULL});
	CHECK_RUN(r, 0);
	CHECK(has(r.out, id_of(submitted)) && !has(r.out, "draft"));
	run_free(&r);

	cli(&r, alice, (const char *[]){"changes", "list", "--limit=1", NULL});
	CHECK_RUN(r, 0);
	int lines = 0;
	for (const char *p = r.out; p && *p; p++)
		lines += *p == '\n';
	CHECK_INT(lines, 2); /* the header and one change */
	CHECK(has(r.err, "--next "));
	run_free(&r);

	/* --json: the server's JSON and nothing else on stdout. */
	cli(&r, alice, (const char *[]){"--json", "changes", "list", "--state", "draft", NULL});
	CHECK_RUN(r, 0);
	json_t *j = json_loads(r.out ? r.out : "", 0, NULL);
	json_t *items = json_object_get(j, "items");
	CHECK(json_array_size(items) >= 1);
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it) {
		CHECK_STR(json_string_value(json_object_get(it, "state")), "draft");
	}
	json_decref(j);
	run_free(&r);

	cli(&r, alice, (const char *[]){"changes", "list", "--state", "no such state", NULL});
	CHECK(r.status == 0 || r.status == 1); /* the server decides; the query is encoded */
	run_free(&r);
}

static void test_changes_show_human_and_json(void)
{
	char path[64];
	if (!change_in_authorize("Add a report column", path, sizeof path))
		return;
	struct run r;
	cli(&r, cnguyen, (const char *[]){"changes", "show", id_of(path), NULL});
	CHECK_RUN(r, 0);
	CHECK(r.out && strncmp(r.out, id_of(path), strlen(id_of(path))) == 0);
	CHECK(has(r.out, "Add a report column"));
	CHECK(has(r.out, "state       authorize"));
	CHECK(has(r.out, "requester   alice"));
	CHECK(has(r.out, "services    reporting"));
	CHECK(has(r.out, "risk        low (score 0)"));
	CHECK(has(r.out, "approvals   pending"));
	CHECK(has(r.out, "cab: 0/1 approvals"));
	CHECK(has(r.out, "may vote: ") && has(r.out, "cnguyen"));
	/* awaiting approval: the slot it would get now ("proposed"); nothing is booked yet */
	CHECK(has(r.out, "schedule    proposed "));
	/* a CAB member votes (transom approve); no workflow event is theirs to fire here
	 * (issue 10: available_events lists only what the caller may fire) */
	CHECK(has(r.out, "next events -"));
	run_free(&r);

	cli(&r, cnguyen, (const char *[]){"changes", "show", id_of(path), "--json", NULL});
	CHECK_RUN(r, 0);
	json_t *j = json_loads(r.out ? r.out : "", 0, NULL);
	CHECK_STR(json_string_value(json_object_get(j, "id")), id_of(path));
	CHECK(json_is_object(json_object_get(j, "risk")));
	json_decref(j);
	run_free(&r);

	cli(&r, cnguyen, (const char *[]){"changes", "show", "CHG-999999", NULL});
	CHECK_RUN(r, 1);
	CHECK(has(r.err, "(404)") && has(r.err, "CHG-999999") && has(r.err, "[field: id]"));
	CHECK(!r.out || !*r.out);
	run_free(&r);
}

static void test_approve_member_and_non_member(void)
{
	char path[64], url[96];
	if (!change_in_authorize("Approve me from the command line", path, sizeof path))
		return;
	struct run r;
	/* zed holds the cab role but is in no group of policies/people.json. */
	cli(&r, zed, (const char *[]){"approve", id_of(path), NULL});
	CHECK_RUN(r, 1);
	CHECK(has(r.err, "(403)") && has(r.err, "not_a_member"));
	CHECK(!r.out || !*r.out);
	run_free(&r);
	/* The requester may not approve their own change. */
	cli(&r, alice, (const char *[]){"approve", id_of(path), NULL});
	CHECK_RUN(r, 1);
	CHECK(has(r.err, "(403)"));
	run_free(&r);

	cli(&r, cnguyen,
	    (const char *[]){"approve", id_of(path), "--comment", "looks safe; ship it", NULL});
	CHECK_RUN(r, 0);
	CHECK(has(r.out, "approved") && has(r.out, "satisfied") && has(r.out, "scheduled"));
	CHECK(has(r.out, "cab: 1/1 approvals"));
	run_free(&r);
	snprintf(url, sizeof url, "%s/approvals", path);
	struct reply *g = request(&srv, "GET", path, cnguyen, NULL, NULL);
	CHECK_STR(reply_str(g, "state"), "scheduled");
	json_t *vote =
		json_array_get(json_object_get(json_object_get(g->json, "approvals"), "votes"), 0);
	CHECK_STR(json_string_value(json_object_get(vote, "comment")), "looks safe; ship it");
	CHECK_STR(json_string_value(json_object_get(vote, "user")), "cnguyen");
	reply_free(g);

	/* Decided already: 409 with the detail. */
	cli(&r, cnguyen, (const char *[]){"approve", id_of(path), NULL});
	CHECK_RUN(r, 1);
	CHECK(has(r.err, "(409)") && has(r.err, "not waiting for approvals"));
	run_free(&r);
	/* Free its slot: the gate tests deploy reporting into windows of their own. */
	step(path, alice, "cancel", "cancelled");
}

static void test_token_and_url_flags_override_the_environment(void)
{
	struct run r;
	cli(&r, "tr_not_a_real_token", (const char *[]){"changes", "list", NULL});
	CHECK_RUN(r, 1);
	CHECK(has(r.err, "(401)"));
	run_free(&r);
	cli(&r, "tr_not_a_real_token",
	    (const char *[]){"changes", "list", "--token", alice, "--limit", "1", NULL});
	CHECK_RUN(r, 0);
	run_free(&r);
	char slash[160];
	snprintf(slash, sizeof slash, "%s/", srv.base); /* a trailing slash is fine */
	cli_start(&r, "http://127.0.0.1:1", alice, NULL,
		  (const char *[]){"--url", slash, "changes", "list", NULL});
	cli_finish(&r, 30);
	CHECK_RUN(r, 0);
	run_free(&r);
}

static void test_unreachable_server_exits_1_or_3_with_wait(void)
{
	struct run r;
	cli_start(&r, "http://127.0.0.1:1", alice, NULL, (const char *[]){"changes", "list", NULL});
	cli_finish(&r, 30);
	CHECK_RUN(r, 1);
	CHECK(has(r.err, "cannot reach http://127.0.0.1:1"));
	run_free(&r);
	const char *req[] = {"deploy",     "request", "--service", "reporting", "--env", "prod",
			     "--duration", "30m",     NULL,        NULL,        NULL,    NULL};
	cli_start(&r, "http://127.0.0.1:1", ci, NULL, req);
	cli_finish(&r, 30);
	CHECK_RUN(r, 1); /* without --wait: one attempt */
	run_free(&r);
	req[8] = "--wait";
	req[9] = "--timeout";
	req[10] = "3s";
	cli_start(&r, "http://127.0.0.1:1", ci, NULL, req);
	cli_finish(&r, 30);
	CHECK_RUN(r, 3);
	CHECK(r.seconds >= 2.9 && r.seconds < 10);
	CHECK(has(r.err, "retrying in") && has(r.err, "timed out after"));
	CHECK(!r.out || !*r.out);
	run_free(&r);
}

/* ---- the deployment gate against transomd ------------------------------------------------ */

static char gate_dir[1024];

/* "20261127T050000Z" for now + `offset_s`. */
static const char *ics_time(long offset_s, char *buf, size_t len)
{
	time_t t = time(NULL) + offset_s;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y%m%dT%H%M%SZ", &tm);
	return buf;
}

/*
 * Restarts the server on a copy of policies/ whose windows are: data-window (reporting)
 * open now for 8 h; web-window (web-frontend) opening in `web_in_s` seconds for 2 h;
 * platform-window (api-gateway) in 3 h; payments-window in 6 h; no freezes.
 */
static bool gate_server(long web_in_s)
{
	static int generation;
	char cmd[4096], file[1200], a[32], b[32], c[32], d[32], e[32];
	snprintf(gate_dir, sizeof gate_dir, "%s/cli-policies-%d",
		 getenv("TRANSOM_TEST_TMP") ?: "/tmp", generation++);
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s/policies' '%s'", gate_dir,
		 getenv("TRANSOM_TEST_ROOT") ?: ".", gate_dir);
	if (system(cmd) != 0)
		return false;
	snprintf(file, sizeof file, "%s/windows.ics", gate_dir);
	FILE *f = fopen(file, "w");
	if (f == NULL)
		return false;
	static const char *const fmt =
		"BEGIN:VEVENT\r\nUID:%s@cli.test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:%s\r\n"
		"DURATION:%s\r\nSUMMARY:%s\r\nCATEGORIES:MAINTENANCE-WINDOW\r\n"
		"X-TRANSOM-SERVICES:%s\r\nX-TRANSOM-CAPACITY:4\r\nEND:VEVENT\r\n";
	fprintf(f, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Transom//test_cli//EN\r\n");
	fprintf(f, fmt, "data", ics_time(-3600, a, sizeof a), "PT8H", "Data window (test)",
		"data-window");
	fprintf(f, fmt, "web", ics_time(web_in_s, b, sizeof b), "PT2H", "Web window (test)",
		"web-window");
	fprintf(f, fmt, "platform", ics_time(3 * 3600, c, sizeof c), "PT2H",
		"Platform window (test)", "platform-window");
	fprintf(f, fmt, "payments", ics_time(6 * 3600, d, sizeof d), "PT4H",
		"Payments window (test)", "payments-window");
	fprintf(f, fmt, "general", ics_time(6 * 3600, e, sizeof e), "PT4H", "General window (test)",
		"notifications,search");
	fprintf(f, "END:VCALENDAR\r\n");
	fclose(f);
	snprintf(file, sizeof file, "%s/freezes.ics", gate_dir);
	f = fopen(file, "w");
	if (f == NULL)
		return false;
	fprintf(f, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Transom//test_cli//EN\r\n"
		   "BEGIN:VEVENT\r\nUID:far-freeze@cli.test\r\nDTSTAMP:20260101T000000Z\r\n"
		   "DTSTART;VALUE=DATE:20400101\r\nDTEND;VALUE=DATE:20400102\r\n"
		   "SUMMARY:Far away\r\nCATEGORIES:FREEZE\r\nX-TRANSOM-SERVICES:*\r\n"
		   "X-TRANSOM-HARDNESS:hard\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
	fclose(f);
	server_stop(&srv, 10, NULL);
	if (!server_start(&srv, NULL, gate_dir, NULL))
		return false;
	/* Is the gate there at all?  (It was being built alongside the CLI.) */
	struct reply *p = request(&srv, "GET", "/v1/deployments/DEP-0", ci, NULL, NULL);
	bool there = p->status != 404 || strcmp(reply_str(p, "field"), "id") == 0;
	CHECKF(there, "GET /v1/deployments/{id} is not served (%ld): deploy tests pending",
	       p->status);
	reply_free(p);
	return there;
}

static const char *const *deploy_args(const char *service, const char *extra1, const char *extra2,
				      const char *extra3, const char *extra4)
{
	static const char *args[16];
	size_t n = 0;
	args[n++] = "deploy";
	args[n++] = "request";
	args[n++] = "--service";
	args[n++] = service;
	args[n++] = "--env";
	args[n++] = "production";
	args[n++] = "--duration";
	args[n++] = "30m";
	const char *extra[] = {extra1, extra2, extra3, extra4};
	for (size_t i = 0; i < 4 && extra[i] != NULL; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	return args;
}

static bool started_gate;

static bool ensure_gate(void)
{
	if (!started_gate)
		started_gate = gate_server(3600);
	return started_gate;
}

static void read_file_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	out[0] = '\0';
	if (f != NULL && fgets(out, (int)len, f) != NULL)
		out[strcspn(out, "\n")] = '\0';
	if (f != NULL)
		fclose(f);
}

static void test_deploy_allow_then_result(void)
{
	if (!ensure_gate())
		return;
	struct run r;
	char idfile[1100], dep[64];
	snprintf(idfile, sizeof idfile, "%s/dep-id", gate_dir);
	char leasefile[1100], lease[256];
	snprintf(leasefile, sizeof leasefile, "%s/dep-lease", gate_dir);
	cli(&r, ci, deploy_args("reporting", "--id-file", idfile, "--lease-file", leasefile));
	CHECK_RUN(r, 0);
	CHECK(r.out && strncmp(r.out, "allowed: window ", 16) == 0 && has(r.out, " UTC (CHG-"));
	run_free(&r);
	read_file_line(idfile, dep, sizeof dep);
	CHECK(strncmp(dep, "DEP-", 4) == 0);
	read_file_line(leasefile, lease, sizeof lease);
	CHECKF(strncmp(lease, "lease_", 6) == 0, "--lease-file holds '%s'", lease);

	/* Without the lease the result is refused once the lease exists (issue 10). */
	cli(&r, ci, (const char *[]){"deploy", "result", dep, "--outcome", "failure", NULL});
	CHECK_RUN(r, 1);
	CHECK(has(r.err, "(403)") && has(r.err, "lease"));
	run_free(&r);

	/* The change was started by the allow; the result closes it. */
	cli(&r, ci,
	    (const char *[]){"deploy", "result", dep, "--outcome", "success", "--details",
			     "rolled out in 4 min", "--lease-file", leasefile, NULL});
	CHECK_RUN(r, 0);
	CHECK(has(r.out, "recorded: ") && has(r.out, dep) && has(r.out, "success"));
	run_free(&r);
	cli(&r, ci, (const char *[]){"deploy", "result", dep, "--outcome", "failure", NULL});
	CHECK_RUN(r, 1);
	CHECK(has(r.err, "(409)") && has(r.err, "already has the outcome"));
	run_free(&r);
	/* Only pipelines ask. */
	cli(&r, alice, deploy_args("reporting", NULL, NULL, NULL, NULL));
	CHECK_RUN(r, 1);
	CHECK(has(r.err, "(403)"));
	run_free(&r);
	cli(&r, ci, deploy_args("no-such-service", NULL, NULL, NULL, NULL));
	CHECK_RUN(r, 1);
	CHECK(has(r.err, "(422)") && has(r.err, "[field: service]"));
	run_free(&r);

	/* --json: the deployment as the server sent it. */
	cli(&r, ci, deploy_args("reporting", "--json", NULL, NULL, NULL));
	json_t *j = json_loads(r.out ? r.out : "", 0, NULL);
	const char *d = json_string_value(json_object_get(j, "decision"));
	CHECKF(j != NULL && d != NULL, "stdout: %s", r.out ? r.out : "");
	/* a second reporting deployment is booked after the first's slot, or allowed */
	CHECK_INT(r.status, d && strcmp(d, "allow") == 0 ? 0 : 3);
	json_decref(j);
	run_free(&r);
}

static void test_deploy_wait_exits_3_and_times_out(void)
{
	if (!ensure_gate())
		return;
	struct run r;
	/* api-gateway: a pre-approved template, booked into the window 3 h from now. */
	cli(&r, ci, deploy_args("api-gateway", NULL, NULL, NULL, NULL));
	CHECK_RUN(r, 3);
	CHECK(r.out && strncmp(r.out, "waiting for window ", 19) == 0 && has(r.out, "retry in "));
	CHECK(!has(r.err, "timed out"));
	run_free(&r);

	cli(&r, ci, deploy_args("api-gateway", "--wait", "--timeout", "2s", NULL));
	CHECK_RUN(r, 3);
	CHECK(r.seconds >= 1.9 && r.seconds < 10);
	CHECKF(has(r.err, "waiting (CHG-") && has(r.err, "window opens in 3h") &&
		       has(r.err, "timed out after 2s"),
	       "stderr: %s", r.err ? r.err : "");
	CHECK(has(r.out, "waiting for window "));
	run_free(&r);

	cli(&r, ci, deploy_args("api-gateway", "--wait", "--timeout=1s", "--json", NULL));
	CHECK_RUN(r, 3);
	json_t *j = json_loads(r.out ? r.out : "", 0, NULL);
	CHECK_STR(json_string_value(json_object_get(j, "decision")), "wait");
	CHECK(json_integer_value(json_object_get(j, "retry_after")) > 3 * 3600 - 120);
	json_decref(j);
	run_free(&r);
}

static void test_deploy_waits_for_the_window_to_open(void)
{
	/* A window opening in 6 s: the long poll wakes when it opens. */
	started_gate = gate_server(6);
	if (!started_gate)
		return;
	struct run r;
	cli(&r, ci, deploy_args("web-frontend", "--wait", "--timeout", "1m", NULL));
	CHECK_RUN(r, 0);
	CHECK(r.seconds >= 2 && r.seconds < 30);
	CHECK(has(r.err, "waiting (CHG-") && has(r.err, "window opens in"));
	CHECK(r.out && strncmp(r.out, "allowed: window ", 16) == 0);
	run_free(&r);
}

static void test_deploy_denied_while_waiting(void)
{
	if (!ensure_gate())
		return;
	struct run r, w;
	const char *key = "cli-test-payments-1";
	/* payments: no template, so a normal change that waits for its approvers. */
	cli(&r, ci, deploy_args("payments", "--idempotency-key", key, "--json", NULL));
	CHECK_RUN(r, 3);
	json_t *j = json_loads(r.out ? r.out : "", 0, NULL);
	char change[64], path[96];
	snprintf(change, sizeof change, "%s",
		 json_string_value(json_object_get(j, "change")) ?: "CHG-0");
	CHECK_STR(json_string_value(json_object_get(j, "decision")), "wait");
	json_decref(j);
	run_free(&r);

	/* Waiting in the background; a CAB member rejects; the gate says deny. */
	cli_start(&w, srv.base, ci, NULL,
		  deploy_args("payments", "--idempotency-key", key, "--wait", NULL));
	sleep(1);
	snprintf(path, sizeof path, "/v1/changes/%s/approvals", change);
	struct reply *v =
		post(path, cnguyen, "{\"decision\": \"reject\", \"comment\": \"not now\"}");
	CHECKF(v->status == 200, "reject: %ld %s", v->status, body_of(v));
	reply_free(v);
	cli_finish(&w, 60);
	CHECK_RUN(w, 2);
	CHECK(w.seconds < 20);
	CHECK(w.out && strncmp(w.out, "denied: ", 8) == 0 && has(w.out, "rejected"));
	run_free(&w);

	/* The same key again: the same deployment, still denied. */
	cli(&r, ci, deploy_args("payments", "--idempotency-key", key, "--json", NULL));
	CHECK_RUN(r, 2);
	j = json_loads(r.out ? r.out : "", 0, NULL);
	CHECK_STR(json_string_value(json_object_get(j, "change")), change);
	json_decref(j);
	run_free(&r);
}

/* The deployment id `transom --json deploy request` printed, into `out`. */
static void dep_id(const struct run *r, char *out, size_t len)
{
	json_t *j = json_loads(r->out ? r->out : "", 0, NULL);
	snprintf(out, len, "%s", json_string_value(json_object_get(j, "id")) ?: "");
	json_decref(j);
}

static void test_deploy_idempotency_key_from_the_ci_run(void)
{
	if (!ensure_gate())
		return;
	struct run r;
	char a[64], b[64], c[64], d[64];
	const char *gh[] = {"GITHUB_ACTIONS=true",
			    "GITHUB_RUN_ID=4242",
			    "GITHUB_RUN_ATTEMPT=1",
			    "GITHUB_REPOSITORY=acme/shop",
			    "GITHUB_SERVER_URL=https://github.example",
			    "GITHUB_SHA=0123456789abcdef0123",
			    "GITHUB_ACTOR=octocat",
			    "GITHUB_JOB=deploy",
			    NULL};
	const char *const *args = deploy_args("mobile-api", "--json", NULL, NULL, NULL);
	cli_start(&r, srv.base, ci, gh, args);
	cli_finish(&r, 60);
	dep_id(&r, a, sizeof a);
	run_free(&r);
	cli_start(&r, srv.base, ci, gh, args);
	cli_finish(&r, 60);
	dep_id(&r, b, sizeof b);
	run_free(&r);
	CHECKF(a[0] && strcmp(a, b) == 0, "same run: %s and %s", a, b);

	gh[2] = "GITHUB_RUN_ATTEMPT=2"; /* a re-run asks again */
	cli_start(&r, srv.base, ci, gh, args);
	cli_finish(&r, 60);
	dep_id(&r, c, sizeof c);
	run_free(&r);
	CHECKF(c[0] && strcmp(a, c) != 0, "re-run: %s and %s", a, c);

	/* The pipeline is on the change. */
	char path[128];
	cli_start(&r, srv.base, ci, gh, args);
	cli_finish(&r, 60);
	json_t *j = json_loads(r.out ? r.out : "", 0, NULL);
	snprintf(path, sizeof path, "/v1/changes/%s",
		 json_string_value(json_object_get(j, "change")) ?: "none");
	json_decref(j);
	run_free(&r);
	struct reply *g = request(&srv, "GET", path, ci, NULL, NULL);
	CHECK(has(reply_str(g, "description"),
		  "https://github.example/acme/shop/actions/runs/4242"));
	CHECK(has(reply_str(g, "description"), "octocat"));
	CHECK(has(reply_str(g, "title"), "at 0123456789ab"));
	reply_free(g);

	/* Without a CI system: a random key each time. */
	cli(&r, ci, args);
	dep_id(&r, c, sizeof c);
	run_free(&r);
	cli(&r, ci, args);
	dep_id(&r, d, sizeof d);
	run_free(&r);
	CHECKF(c[0] && d[0] && strcmp(c, d) != 0, "no CI: %s and %s", c, d);
}

/* ---- the wait loop against a scripted server --------------------------------------------- */

struct fake_step {
	int status;
	const char *body;
};

struct fake {
	int fd;
	char base[64];
	pthread_t thread;
	const struct fake_step *script;
	size_t n_script, served;
	char seen[16][2048]; /* each request: request line, headers, blank line, body */
};

static void *fake_run(void *arg)
{
	struct fake *f = arg;
	for (;;) {
		int c = accept(f->fd, NULL, NULL);
		if (c < 0)
			return NULL;
		char buf[2048];
		size_t n = 0;
		long want = -1;
		for (;;) {
			ssize_t k = read(c, buf + n, sizeof buf - 1 - n);
			if (k <= 0)
				break;
			n += (size_t)k;
			buf[n] = '\0';
			char *end = strstr(buf, "\r\n\r\n");
			if (end != NULL && want < 0) {
				const char *cl = strcasestr(buf, "content-length:");
				want = (long)(end + 4 - buf) + (cl && cl < end ? atol(cl + 15) : 0);
			}
			if (want >= 0 && (long)n >= want)
				break;
		}
		buf[n] = '\0';
		size_t i = f->served++;
		if (i < 16)
			snprintf(f->seen[i], sizeof f->seen[i], "%s", buf);
		const struct fake_step *s = i < f->n_script ? &f->script[i] : NULL;
		char head[256];
		const char *body = s ? s->body : "{\"title\": \"script over\", \"status\": 500}";
		int st = s ? s->status : 500;
		int hl = snprintf(head, sizeof head,
				  "HTTP/1.1 %d X\r\nContent-Type: application/%sjson\r\n"
				  "Content-Length: %zu\r\nConnection: close\r\n\r\n",
				  st, st >= 400 ? "problem+" : "", strlen(body));
		if (write(c, head, (size_t)hl) < 0 || write(c, body, strlen(body)) < 0)
			perror("fake server");
		close(c);
	}
}

static bool fake_start(struct fake *f, const struct fake_step *script, size_t n)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	memset(f, 0, sizeof *f);
	f->script = script;
	f->n_script = n;
	f->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (f->fd < 0 || bind(f->fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(f->fd, 16) != 0 || getsockname(f->fd, (struct sockaddr *)&a, &len) != 0)
		return false;
	snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", ntohs(a.sin_port));
	return pthread_create(&f->thread, NULL, fake_run, f) == 0;
}

static void fake_stop(struct fake *f)
{
	shutdown(f->fd, SHUT_RDWR);
	close(f->fd);
	pthread_join(f->thread, NULL);
}

/* The value of header `name` in request `req` ("" when absent), into `out`. */
static const char *seen_header(const char *req, const char *name, char *out, size_t len)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\r\n%s: ", name);
	const char *p = strcasestr(req, pat);
	out[0] = '\0';
	if (p != NULL)
		snprintf(out, len, "%.*s", (int)strcspn(p + strlen(pat), "\r\n"), p + strlen(pat));
	return out;
}

#define DEP_WAIT                                                                                   \
	"{\"id\": \"DEP-9\", \"change\": \"CHG-5\", \"decision\": \"wait\", \"reasons\": "         \
	"[\"CHG-5 is booked\"], \"window\": {\"start\": \"2026-12-05T02:00:00Z\", \"end\": "       \
	"\"2026-12-05T04:00:00Z\"}, \"retry_after\": 1, \"lease\": null}"
#define DEP_ALLOW                                                                                  \
	"{\"id\": \"DEP-9\", \"change\": \"CHG-5\", \"decision\": \"allow\", \"reasons\": [], "    \
	"\"window\": {\"start\": \"2026-12-05T02:00:00Z\", \"end\": \"2026-12-05T04:00:00Z\"},"    \
	" \"retry_after\": null, \"lease\": {\"token\": \"lease_x\", \"expires\": "                \
	"\"2026-12-05T04:00:00Z\"}}"

static void test_deploy_wait_retries_transient_failures(void)
{
	static const struct fake_step script[] = {
		{503,
		 "{\"title\": \"Service unavailable\", \"status\": 503, \"detail\": \"database "
		 "unreachable\"}"},
		{201, DEP_WAIT},
		{200, DEP_WAIT},
		{200, "{\"id\": \"DEP-9\", \"decision\": \"error\", \"detail\": \"not ready\", "
		      "\"status\": 503}"},
		{502, "<html>bad gateway</html>"},
		{200, DEP_ALLOW},
	};
	struct fake f;
	if (!fake_start(&f, script, sizeof script / sizeof script[0])) {
		CHECK(!"fake server");
		return;
	}
	struct run r;
	cli_start(&r, f.base, "tok_fake", NULL,
		  (const char *[]){"deploy", "request", "--service", "payments", "--env", "prod",
				   "--duration", "1h30m", "--template", "db-patch", "--wait",
				   "--timeout", "40s", "--commit", "abc123", NULL});
	cli_finish(&r, 60);
	fake_stop(&f);
	CHECK_RUN(r, 0);
	CHECK_STR(r.out, "allowed: window 2026-12-05 02:00–04:00 UTC (CHG-5, deployment DEP-9)\n");
	CHECK(has(r.err, "database unreachable") && has(r.err, "retrying in"));
	CHECK(has(r.err, "reading the decision failed (503): not ready"));
	CHECK(has(r.err, "HTTP 502: <html>bad gateway</html>"));
	CHECK(has(r.err, "waiting (CHG-5, DEP-9)"));
	CHECK_INT(f.served, 6);

	char k1[300], k2[300], auth[300];
	CHECK(strncmp(f.seen[0], "POST /v1/deployments HTTP/1.1\r\n", 31) == 0);
	CHECK(strncmp(f.seen[1], "POST /v1/deployments HTTP/1.1\r\n", 31) == 0);
	seen_header(f.seen[0], "Idempotency-Key", k1, sizeof k1);
	seen_header(f.seen[1], "Idempotency-Key", k2, sizeof k2);
	CHECKF(k1[0] && strcmp(k1, k2) == 0, "keys '%s' and '%s'", k1, k2);
	CHECK_STR(seen_header(f.seen[0], "Authorization", auth, sizeof auth), "Bearer tok_fake");
	CHECK_STR(seen_header(f.seen[0], "Content-Type", auth, sizeof auth), "application/json");
	json_t *body = json_loads(strstr(f.seen[0], "\r\n\r\n") + 4, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(body, "service")), "payments");
	CHECK_STR(json_string_value(json_object_get(body, "environment")), "prod");
	CHECK_STR(json_string_value(json_object_get(body, "duration")), "PT1H30M");
	CHECK_STR(json_string_value(json_object_get(body, "template")), "db-patch");
	CHECK_STR(json_string_value(json_object_get(json_object_get(body, "pipeline"), "commit")),
		  "abc123");
	json_decref(body);
	for (size_t i = 2; i < 6; i++)
		CHECKF(strncmp(f.seen[i], "GET /v1/deployments/DEP-9?wait=", 31) == 0, "%s",
		       f.seen[i]);
	run_free(&r);
}

static void test_deploy_error_reply_ends_the_wait(void)
{
	static const struct fake_step script[] = {
		{201, DEP_WAIT},
		{403, "{\"type\": \"https://transom.dev/problems/forbidden\", \"title\": "
		      "\"Forbidden\", \"status\": 403, \"detail\": \"the token was revoked\"}"},
	};
	struct fake f;
	if (!fake_start(&f, script, 2)) {
		CHECK(!"fake server");
		return;
	}
	struct run r;
	cli_start(&r, f.base, "tok_fake", NULL,
		  (const char *[]){"deploy", "request", "--service", "payments", "--env", "prod",
				   "--duration", "45s", "--wait", "--json", NULL});
	cli_finish(&r, 60);
	fake_stop(&f);
	CHECK_RUN(r, 1);
	CHECK(has(r.err, "transom: Forbidden (403): the token was revoked"));
	CHECK(!r.out || !*r.out); /* --json: nothing on stdout after an error */
	run_free(&r);
}

/* ---- setup ------------------------------------------------------------------------------ */

static void setup(void)
{
	const char *bin = getenv("TRANSOM_TEST_BIN") ?: "build/transomd";
	const char *slash = strrchr(bin, '/');
	snprintf(cli_path, sizeof cli_path, "%.*s/transom", slash ? (int)(slash - bin) : 1,
		 slash ? bin : ".");
	signal(SIGPIPE, SIG_IGN);
	snprintf(alice, sizeof alice, "%s", token_for("alice", "requester"));
	snprintf(cnguyen, sizeof cnguyen, "%s", token_for("cnguyen", "cab"));
	snprintf(zed, sizeof zed, "%s", token_for("zed", "cab"));
	snprintf(ci, sizeof ci, "%s", token_for("ci", "pipeline"));
	if (access(cli_path, X_OK) != 0) {
		printf("%s: not built\n0 passed, 1 failed\n", cli_path);
		exit(1);
	}
	if (!alice[0] || !server_start(&srv, NULL, NULL, NULL)) {
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_help_and_usage_errors, test_changes_list_filters_and_json,
      test_changes_show_human_and_json, test_approve_member_and_non_member,
      test_token_and_url_flags_override_the_environment,
      test_unreachable_server_exits_1_or_3_with_wait, test_deploy_wait_retries_transient_failures,
      test_deploy_error_reply_ends_the_wait, test_deploy_allow_then_result,
      test_deploy_wait_exits_3_and_times_out, test_deploy_denied_while_waiting,
      test_deploy_waits_for_the_window_to_open, test_deploy_idempotency_key_from_the_ci_run)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	return rc;
}
