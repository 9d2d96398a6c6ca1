/*
 * deploy.c -- `transom deploy request` (ask whether a pipeline may deploy now, and wait
 * for the window when asked) and `transom deploy result` (report how it went).
 *
 * Exit statuses of deploy request: 0 allow, 2 deny, 3 still waiting (the --timeout
 * passed, or no --wait), 1 anything else.  While waiting, transient failures (no
 * connection, 408, 429, 502, 503, 504) are retried with backoff until the timeout; any
 * other error reply ends the command with status 1.  Every attempt sends the same
 * Idempotency-Key, so a retried POST never asks twice.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"
#include "main/cli/commands.h"
#include "main/cli/progress.h"

#define POLL_MAX_S        60    /* longest ?wait= asked of the server */
#define POLL_GRACE_MS     15000 /* on top of ?wait= before a poll counts as lost */
#define BACKOFF_FIRST_MS  1000
#define BACKOFF_MAX_MS    30000
#define PLAIN_INTERVAL_S  30 /* progress lines when stderr is not a terminal */
#define TIMEOUT_DEFAULT_S 3600

enum decision { DEC_UNKNOWN, DEC_ALLOW, DEC_WAIT, DEC_DENY };

static enum decision decision_of(const json_t *dep)
{
	const char *d = cli_str(dep, "decision", "");
	return strcmp(d, "allow") == 0  ? DEC_ALLOW
	       : strcmp(d, "wait") == 0 ? DEC_WAIT
	       : strcmp(d, "deny") == 0 ? DEC_DENY
					: DEC_UNKNOWN;
}

/* The change's id: "change" may be an id or an object with one. */
static const char *change_of(const json_t *j)
{
	json_t *c = json_object_get(j, "change");
	return json_is_object(c) ? cli_str(c, "id", NULL) : json_string_value(c);
}

void cli_window_text(const char *start, const char *end, char *out, size_t len)
{
	long long a, b;
	struct tm ta, tb;
	char da[16], db[16];
	if (start == NULL || end == NULL || !time_parse_rfc3339(start, &a) ||
	    !time_parse_rfc3339(end, &b)) {
		snprintf(out, len, "%s – %s", start ? start : "?", end ? end : "?");
		return;
	}
	time_t sa = (time_t)(a / 1000), sb = (time_t)(b / 1000);
	gmtime_r(&sa, &ta);
	gmtime_r(&sb, &tb);
	strftime(da, sizeof da, "%Y-%m-%d", &ta);
	strftime(db, sizeof db, "%Y-%m-%d", &tb);
	if (strcmp(da, db) == 0 ||
	    (tb.tm_hour == 0 && tb.tm_min == 0 && b - a <= 86400000LL && b > a))
		snprintf(out, len, "%s %02d:%02d–%02d:%02d UTC", da, ta.tm_hour, ta.tm_min,
			 tb.tm_hour, tb.tm_min);
	else
		snprintf(out, len, "%s %02d:%02d – %s %02d:%02d UTC", da, ta.tm_hour, ta.tm_min, db,
			 tb.tm_hour, tb.tm_min);
}

/* "CHG-12, deployment DEP-1" (what is decided about), into `out`. */
static void subject_of(const json_t *dep, char *out, size_t len)
{
	const char *chg = change_of(dep), *id = cli_str(dep, "id", "?");
	snprintf(out, len, "%s%sdeployment %s", chg ? chg : "", chg ? ", " : "", id);
}

/* The reasons joined with "; ", or "" when there are none. */
static void reasons_of(const json_t *dep, char *out, size_t len)
{
	size_t i, n = 0;
	json_t *r;
	out[0] = '\0';
	json_array_foreach(json_object_get(dep, "reasons"), i, r) {
		const char *s = json_string_value(r);
		if (s == NULL)
			s = cli_str(r, "reason", cli_str(r, "detail", NULL)); /* {"reason": ...} */
		if (s != NULL && n < len)
			n += (size_t)snprintf(out + n, len - n, "%s%s", n ? "; " : "", s);
	}
}

/* The human line for a decision, on stdout. */
static void print_decision(const json_t *dep)
{
	char subject[256], reasons[2048], window[128] = "";
	json_t *w = json_object_get(dep, "window");
	subject_of(dep, subject, sizeof subject);
	reasons_of(dep, reasons, sizeof reasons);
	if (json_is_object(w))
		cli_window_text(cli_str(w, "start", NULL), cli_str(w, "end", NULL), window,
				sizeof window);
	switch (decision_of(dep)) {
	case DEC_ALLOW:
		printf("allowed%s%s (%s)\n", window[0] ? ": window " : "", window, subject);
		break;
	case DEC_WAIT: {
		json_t *ra = json_object_get(dep, "retry_after");
		char retry[64] = "";
		if (json_is_integer(ra))
			snprintf(retry, sizeof retry, "; retry in %lld s",
				 (long long)json_integer_value(ra));
		printf("waiting%s%s%s%s (%s%s)\n", window[0] ? " for window " : "", window,
		       reasons[0] ? ": " : "", reasons, subject, retry);
		break;
	}
	case DEC_DENY:
		printf("denied: %s (%s)\n", reasons[0] ? reasons : "no reason given", subject);
		break;
	case DEC_UNKNOWN:
		break;
	}
}

/* The CI system's run, its URL, commit and actor, from the environment. */
struct ci_run {
	char key_source[512]; /* "" when no CI system was recognised */
	char url[1024];
	const char *commit;
	const char *actor;
};

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static void ci_detect(struct ci_run *ci)
{
	memset(ci, 0, sizeof *ci);
	if (env("GITHUB_ACTIONS") && env("GITHUB_RUN_ID")) {
		/* A re-run of a job is a new attempt and asks again. */
		snprintf(ci->key_source, sizeof ci->key_source, "github\n%s\n%s\n%s\n%s",
			 env("GITHUB_REPOSITORY") ?: "", env("GITHUB_RUN_ID"),
			 env("GITHUB_RUN_ATTEMPT") ?: "1", env("GITHUB_JOB") ?: "");
		if (env("GITHUB_REPOSITORY"))
			snprintf(ci->url, sizeof ci->url, "%s/%s/actions/runs/%s",
				 env("GITHUB_SERVER_URL") ?: "https://github.com",
				 env("GITHUB_REPOSITORY"), env("GITHUB_RUN_ID"));
		ci->commit = env("GITHUB_SHA");
		ci->actor = env("GITHUB_TRIGGERING_ACTOR") ?: env("GITHUB_ACTOR");
	} else if (env("GITLAB_CI") && env("CI_PIPELINE_ID")) {
		/* A retried job gets a new CI_JOB_ID. */
		snprintf(ci->key_source, sizeof ci->key_source, "gitlab\n%s\n%s\n%s",
			 env("CI_PROJECT_ID") ?: "", env("CI_PIPELINE_ID"), env("CI_JOB_ID") ?: "");
		snprintf(ci->url, sizeof ci->url, "%s",
			 env("CI_JOB_URL") ?: env("CI_PIPELINE_URL") ?: "");
		ci->commit = env("CI_COMMIT_SHA");
		ci->actor = env("GITLAB_USER_LOGIN");
	} else if (env("BUILD_TAG") && (env("JENKINS_URL") || env("BUILD_URL"))) {
		snprintf(ci->key_source, sizeof ci->key_source, "jenkins\n%s", env("BUILD_TAG"));
		snprintf(ci->url, sizeof ci->url, "%s", env("BUILD_URL") ?: "");
		ci->commit = env("GIT_COMMIT");
		ci->actor = env("BUILD_USER_ID") ?: env("CHANGE_AUTHOR");
	} else if (env("CI_PIPELINE_ID")) { /* other CI systems that borrow GitLab's names */
		snprintf(ci->key_source, sizeof ci->key_source, "ci\n%s\n%s", env("CI_PIPELINE_ID"),
			 env("CI_JOB_ID") ?: "");
	}
	if (ci->actor == NULL)
		ci->actor = env("USER") ?: env("LOGNAME");
}

/*
 * The Idempotency-Key: --idempotency-key, else derived from the CI run and the request
 * (the same job asking again gets the same deployment), else random.
 */
static bool idempotency_key(const struct cli_args *a, const struct ci_run *ci,
			    const char *duration_iso, char *out, size_t len)
{
	const char *given = cli_args_get(a, "idempotency-key");
	char hex[CRYPTO_SHA256_HEX_LEN];
	if (given != NULL) {
		if (*given == '\0' || strlen(given) > 255 || strpbrk(given, "\r\n") != NULL) {
			cli_error("--idempotency-key: expected 1 to 255 characters on one line");
			return false;
		}
		snprintf(out, len, "%s", given);
		return true;
	}
	if (ci->key_source[0]) {
		char *src = NULL;
		if (asprintf(&src, "%s\n%s\n%s\n%s\n%s", ci->key_source, cli_args_get(a, "service"),
			     cli_args_get(a, "env"), duration_iso,
			     cli_args_get(a, "template") ?: "") < 0) {
			cli_error("out of memory");
			return false;
		}
		crypto_sha256_hex(src, strlen(src), hex);
		free(src);
		snprintf(out, len, "transom-ci-%.40s", hex);
		return true;
	}
	unsigned char rnd[16];
	if (!crypto_random(rnd, sizeof rnd)) {
		cli_error("cannot read random bytes for the idempotency key");
		return false;
	}
	size_t n = (size_t)snprintf(out, len, "transom-");
	for (size_t i = 0; i < sizeof rnd && n + 2 < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%02x", rnd[i]);
	return true;
}

/* The request body; NULL (after saying why) on a bad argument. */
static json_t *request_body(const struct cli_args *a, const struct ci_run *ci, char *duration_iso,
			    size_t len)
{
	const char *service = cli_args_get(a, "service"), *envname = cli_args_get(a, "env");
	const char *duration = cli_args_get(a, "duration"), *tmpl = cli_args_get(a, "template");
	long long seconds;

	if (service == NULL || envname == NULL || duration == NULL) {
		cli_error("deploy request needs --service, --env and --duration (see --help)");
		return NULL;
	}
	if (!*service || !*envname) {
		cli_error("--service and --env must not be empty");
		return NULL;
	}
	if (!cli_duration_parse(duration, &seconds) || seconds <= 0) {
		cli_error("--duration '%s': expected a duration like 30m, 2h, 1h30m or 45s",
			  duration);
		return NULL;
	}
	cli_duration_iso(seconds, duration_iso, len);
	json_t *pipeline = json_object();
	const char *url = cli_args_get(a, "pipeline-url") ?: (ci->url[0] ? ci->url : NULL);
	const char *commit = cli_args_get(a, "commit") ?: ci->commit;
	const char *actor = cli_args_get(a, "actor") ?: ci->actor;
	if (url != NULL)
		json_object_set_new(pipeline, "url", json_string(url));
	if (commit != NULL)
		json_object_set_new(pipeline, "commit", json_string(commit));
	if (actor != NULL)
		json_object_set_new(pipeline, "actor", json_string(actor));
	json_t *body = json_pack("{s:s, s:s, s:s, s:o}", "service", service, "environment", envname,
				 "duration", duration_iso, "pipeline", pipeline);
	if (body != NULL && tmpl != NULL)
		json_object_set_new(body, "template", json_string(tmpl));
	const char *justification = cli_args_get(a, "justification");
	bool emergency = cli_args_get(a, "emergency") != NULL;
	if (emergency != (justification != NULL)) {
		cli_error("--emergency and --justification go together: the emergency board "
			  "reads why");
		json_decref(body);
		return NULL;
	}
	if (body != NULL && emergency) {
		json_object_set_new(body, "emergency", json_true());
		json_object_set_new(body, "justification", json_string(justification));
	}
	if (body == NULL)
		cli_error("cannot build the request: an argument is not valid UTF-8, or out of "
			  "memory");
	return body;
}

/* What the wait loop shares with its helpers. */
struct waiter {
	const struct cli *c;
	bool wait;              /* --wait */
	long long deadline;     /* clock_mono_ms() when --timeout passes */
	long long started;      /* clock_mono_ms() at the start */
	long long backoff_ms;   /* next pause after a transient failure */
	struct cli_progress *p; /* NULL until waiting begins */
	struct cli_progress_state ps;
};

static long long remaining(const struct waiter *w)
{
	return w->deadline - clock_mono_ms();
}

static void progress_show(struct waiter *w)
{
	if (w->p == NULL)
		w->p = cli_progress_start(w->c->tty, PLAIN_INTERVAL_S, &w->ps);
	else
		cli_progress_update(w->p, &w->ps);
}

/* Pauses after a transient failure (never past the deadline); false when time is up. */
static bool back_off(struct waiter *w, const struct cli_reply *r)
{
	long long left = remaining(w);
	if (!w->wait || left <= 0)
		return false;
	long long pause = w->backoff_ms + clock_mono_ms() % (w->backoff_ms / 4 + 1);
	if (pause > left)
		pause = left;
	snprintf(w->ps.note, sizeof w->ps.note, "retrying after: %.200s", r->error);
	progress_show(w);
	cli_progress_say(w->p, "%s; retrying in %.1f s", r->error, (double)pause / 1000);
	cli_sleep_ms(pause);
	w->backoff_ms = w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
	return remaining(w) > 0;
}

/* Shows `dep` in the progress state (subject and window). */
static void progress_from(struct waiter *w, const json_t *dep)
{
	json_t *win = json_object_get(dep, "window");
	long long s = 0, e = 0;
	const char *chg = change_of(dep);
	snprintf(w->ps.subject, sizeof w->ps.subject, "%s%s%s", chg ? chg : "", chg ? ", " : "",
		 cli_str(dep, "id", "?"));
	if (json_is_object(win)) {
		const char *a = cli_str(win, "start", ""), *b = cli_str(win, "end", "");
		if (!time_parse_rfc3339(a, &s))
			s = 0;
		if (!time_parse_rfc3339(b, &e))
			e = 0;
	}
	w->ps.window_start_ms = s;
	w->ps.window_end_ms = e;
	w->ps.note[0] = '\0';
}

/* A request timeout that ends no later than shortly after the deadline. */
static long request_timeout(const struct waiter *w, long long wanted_ms)
{
	if (!w->wait)
		return (long)wanted_ms;
	long long left = remaining(w) + 1000;
	return (long)(left < wanted_ms ? (left < 1000 ? 1000 : left) : wanted_ms);
}

/*
 * POSTs the request, retrying transient failures while --wait allows.  Returns the
 * deployment (owned), or NULL with *status set (CLI_ERROR or CLI_TIMEOUT) after saying why.
 */
static json_t *post_request(struct waiter *w, const json_t *body, const char *key, int *status)
{
	struct cli_reply r;
	for (;;) {
		/* Making the change takes a moment: at least 10 s, also close to the deadline. */
		long t = request_timeout(w, CLI_TIMEOUT_MS_DEFAULT);
		if (cli_request(w->c, "POST", "/v1/deployments", body, key, t < 10000 ? 10000 : t,
				&r) == 0)
			break;
		if (!r.transient || !back_off(w, &r)) {
			bool timed_out = r.transient && w->wait;
			char took[32];
			cli_duration_human((clock_mono_ms() - w->started) / 1000, took,
					   sizeof took);
			cli_progress_stop(w->p);
			w->p = NULL;
			if (timed_out)
				cli_error("timed out after %s: %s", took, r.error);
			else
				cli_error("%s", r.error);
			cli_reply_clear(&r);
			*status = timed_out ? CLI_TIMEOUT : CLI_ERROR;
			return NULL;
		}
		cli_reply_clear(&r);
	}
	json_t *dep = r.json;
	r.json = NULL;
	cli_reply_clear(&r);
	const char *id = cli_str(dep, "id", NULL);
	if (id == NULL || decision_of(dep) == DEC_UNKNOWN) {
		cli_progress_stop(w->p);
		w->p = NULL;
		cli_error("the server's reply has no deployment id or no known decision");
		json_decref(dep);
		*status = CLI_ERROR;
		return NULL;
	}
	return dep;
}

/*
 * Long-polls GET /v1/deployments/{id}?wait= until the decision is not "wait" or the
 * deadline passes.  Takes `dep` and returns the latest deployment (owned), or NULL with
 * *status = CLI_ERROR after an error reply.
 */
static json_t *wait_for_decision(struct waiter *w, json_t *dep, int *status)
{
	char path[256], id[80];
	snprintf(id, sizeof id, "%s", cli_str(dep, "id", "")); /* dep is replaced below */
	if (!cli_id_ok(id, "the deployment id")) {
		json_decref(dep);
		*status = CLI_ERROR;
		return NULL;
	}
	w->backoff_ms = BACKOFF_FIRST_MS;
	progress_from(w, dep);
	progress_show(w);
	while (decision_of(dep) == DEC_WAIT && remaining(w) > 0) {
		long long secs = remaining(w) / 1000, t0 = clock_mono_ms();
		secs = secs < 1 ? 1 : secs > POLL_MAX_S ? POLL_MAX_S : secs;
		snprintf(path, sizeof path, "/v1/deployments/%s?wait=%lld", id, secs);
		struct cli_reply r;
		if (cli_request(w->c, "GET", path, NULL, NULL,
				request_timeout(w, secs * 1000 + POLL_GRACE_MS), &r) != 0) {
			if (r.transient) {
				back_off(w, &r);
				cli_reply_clear(&r);
				continue;
			}
			cli_progress_stop(w->p);
			w->p = NULL;
			cli_error("%s", r.error);
			cli_reply_clear(&r);
			json_decref(dep);
			*status = CLI_ERROR;
			return NULL;
		}
		if (strcmp(cli_str(r.json, "decision", ""), "error") == 0) {
			/* The server parked the poll and could not read the decision after. */
			int st = (int)json_integer_value(json_object_get(r.json, "status"));
			snprintf(r.error, sizeof r.error,
				 "reading the decision failed (%d): %.300s", st,
				 cli_str(r.json, "detail", "no detail"));
			if (cli_status_transient(st) || st == 500) {
				back_off(w, &r);
				cli_reply_clear(&r);
				continue;
			}
		}
		if (decision_of(r.json) == DEC_UNKNOWN) {
			cli_progress_stop(w->p);
			w->p = NULL;
			cli_error("%s", r.error[0] ? r.error
						   : "the server's reply has no known decision");
			cli_reply_clear(&r);
			json_decref(dep);
			*status = CLI_ERROR;
			return NULL;
		}
		json_decref(dep);
		dep = r.json;
		r.json = NULL;
		w->backoff_ms = BACKOFF_FIRST_MS;
		progress_from(w, dep);
		cli_progress_update(w->p, &w->ps);
		/* A server that answers at once must not make this a busy loop. */
		long long took = clock_mono_ms() - t0;
		if (decision_of(dep) == DEC_WAIT && took < 2000 && took < secs * 500) {
			long long ra = json_integer_value(json_object_get(dep, "retry_after"));
			long long pause = ra < 1 ? 1000 : ra > 10 ? 10000 : ra * 1000;
			cli_sleep_ms(pause < remaining(w) ? pause : remaining(w));
		}
	}
	cli_progress_stop(w->p);
	w->p = NULL;
	return dep;
}

/* Writes the deployment id to --id-file, when given. */
static bool write_id_file(const struct cli_args *a, const json_t *dep)
{
	const char *file = cli_args_get(a, "id-file");
	if (file == NULL)
		return true;
	FILE *f = fopen(file, "w");
	bool ok = f != NULL && fprintf(f, "%s\n", cli_str(dep, "id", "")) > 0;
	if (f != NULL && fclose(f) != 0)
		ok = false;
	if (!ok)
		cli_error("--id-file %s: cannot write it", file);
	return ok;
}

/* Writes the lease token of an allow to --lease-file (mode 0600), when given and granted. */
static bool write_lease_file(const struct cli_args *a, const json_t *dep)
{
	const char *file = cli_args_get(a, "lease-file");
	const char *token = cli_str(json_object_get(dep, "lease"), "token", NULL);
	if (file == NULL || token == NULL)
		return true;
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	bool ok = f != NULL && fprintf(f, "%s\n", token) > 0;
	if (f != NULL && fclose(f) != 0)
		ok = false;
	else if (f == NULL && fd >= 0)
		close(fd);
	if (!ok)
		cli_error("--lease-file %s: cannot write it", file);
	return ok;
}

/* The first line of --lease-file into `buf`, or false (reported). */
static bool read_lease_file(const char *file, char *buf, size_t len)
{
	FILE *f = fopen(file, "r");
	bool ok = f != NULL && fgets(buf, (int)len, f) != NULL;
	if (f != NULL)
		fclose(f);
	buf[ok ? strcspn(buf, "\r\n") : 0] = '\0';
	if (!ok || buf[0] == '\0')
		cli_error("--lease-file %s: cannot read a lease token from it", file);
	return ok && buf[0] != '\0';
}

int cli_deploy_request(const struct cli *c, const struct cli_args *a)
{
	struct ci_run ci;
	struct waiter w = {.c = c, .wait = cli_args_get(a, "wait") != NULL};
	char duration_iso[64], key[300];
	const char *timeout = cli_args_get(a, "timeout");
	long long timeout_s = w.wait ? TIMEOUT_DEFAULT_S : 0;
	int status = CLI_ERROR;

	if (timeout != NULL && !cli_duration_parse(timeout, &timeout_s)) {
		cli_error("--timeout '%s': expected a duration like 30m, 2h or 45s", timeout);
		return CLI_ERROR;
	}
	if (timeout != NULL && !w.wait)
		cli_error("note: --timeout has no effect without --wait");
	ci_detect(&ci);
	json_t *body = request_body(a, &ci, duration_iso, sizeof duration_iso);
	if (body == NULL || !idempotency_key(a, &ci, duration_iso, key, sizeof key)) {
		json_decref(body);
		return CLI_ERROR;
	}
	w.started = clock_mono_ms();
	w.deadline = w.started + timeout_s * 1000;
	w.backoff_ms = BACKOFF_FIRST_MS;
	w.ps.started_mono_ms = w.started;
	w.ps.deadline_mono_ms = w.deadline;
	snprintf(w.ps.subject, sizeof w.ps.subject, "%s to %s", cli_args_get(a, "service"),
		 cli_args_get(a, "env"));

	json_t *dep = post_request(&w, body, key, &status);
	json_decref(body);
	if (dep == NULL)
		return status;
	if (!write_id_file(a, dep)) {
		cli_progress_stop(w.p);
		json_decref(dep);
		return CLI_ERROR;
	}
	if (w.wait && decision_of(dep) == DEC_WAIT) {
		dep = wait_for_decision(&w, dep, &status);
		if (dep == NULL)
			return status;
	}
	cli_progress_stop(w.p);
	if (!write_lease_file(a, dep)) {
		json_decref(dep);
		return CLI_ERROR;
	}
	if (c->json)
		cli_json_print(dep);
	else
		print_decision(dep);
	fflush(stdout);
	switch (decision_of(dep)) {
	case DEC_ALLOW:
		status = CLI_OK;
		break;
	case DEC_DENY:
		status = CLI_DENIED;
		break;
	default:
		status = CLI_TIMEOUT;
		if (w.wait) {
			char took[32];
			cli_duration_human((clock_mono_ms() - w.started + 500) / 1000, took,
					   sizeof took);
			cli_error("timed out after %s: still waiting", took);
		}
		break;
	}
	json_decref(dep);
	return status;
}

int cli_deploy_result(const struct cli *c, const struct cli_args *a)
{
	const char *id = a->n_pos == 1 ? a->pos[0] : NULL;
	const char *outcome = cli_args_get(a, "outcome"), *details = cli_args_get(a, "details");
	const char *lease = cli_args_get(a, "lease");
	const char *lease_file = cli_args_get(a, "lease-file");
	char path[256], lease_buf[256];
	struct cli_reply r;

	if (id == NULL || outcome == NULL) {
		cli_error("deploy result needs a deployment ID and --outcome (see --help)");
		return CLI_ERROR;
	}
	if (strcmp(outcome, "success") != 0 && strcmp(outcome, "failure") != 0) {
		cli_error("--outcome '%s': expected success or failure", outcome);
		return CLI_ERROR;
	}
	if (!cli_id_ok(id, "deployment id"))
		return CLI_ERROR;
	if (lease == NULL && lease_file != NULL) {
		if (!read_lease_file(lease_file, lease_buf, sizeof lease_buf))
			return CLI_ERROR;
		lease = lease_buf;
	}
	json_t *body = json_pack("{s:s}", "outcome", outcome);
	if (body != NULL &&
	    ((details != NULL && json_object_set_new(body, "details", json_string(details)) != 0) ||
	     (lease != NULL && json_object_set_new(body, "lease", json_string(lease)) != 0))) {
		json_decref(body);
		body = NULL;
	}
	if (body != NULL && cli_args_get(a, "open-incident") != NULL)
		json_object_set_new(body, "open_incident", json_true());
	if (body == NULL) {
		cli_error("--details or --lease: not valid UTF-8, or out of memory");
		return CLI_ERROR;
	}
	snprintf(path, sizeof path, "/v1/deployments/%s/result", id);
	int rc = cli_request(c, "POST", path, body, NULL, 0, &r);
	json_decref(body);
	if (rc != 0) {
		cli_error("%s", r.error);
		cli_reply_clear(&r);
		return CLI_ERROR;
	}
	if (c->json) {
		cli_json_print(r.json);
	} else {
		const char *chg = change_of(r.json), *state = cli_str(r.json, "state", NULL);
		const char *incident = cli_str(r.json, "incident", NULL);
		printf("recorded: %s %s", id, outcome);
		if (chg != NULL)
			printf(" (%s%s%s)", chg, state ? " is now " : "", state ? state : "");
		if (incident != NULL)
			printf("; incident %s opened", incident);
		printf("\n");
	}
	cli_reply_clear(&r);
	return CLI_OK;
}
