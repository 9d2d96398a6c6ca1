/*
 * test_oidc.c -- JWT access tokens of a real OpenID Provider on the API: oidc-provider
 * (npm, tests/oidc/op.mjs) runs on a local port; transomd trusts it as
 * TRANSOM_OIDC_ISSUER.  A pipeline's client-credentials JWT deploys the service
 * policies/identity.json maps to its repository and is refused another; forged tokens
 * (tampered, expired, not yet valid, wrong audience or issuer, alg none, HS256 keyed with
 * the public key) get 401 with their registered code; after the provider rotates its
 * key a token with the new kid is accepted; opaque Transom tokens keep working; an event
 * stream opened with a JWT ends at the token's exp, and when its user is disabled.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "lib_http.h"

static struct server srv;
static struct server op; /* only base is used: request() against the provider */
static char policies[512];
static pid_t op_pid = -1;

/* The shipped policies, and a mapping: repository acme/payments deploys payments only. */
static void make_policies(void)
{
	CHECK(policies_copy("oidc-policies", policies, sizeof policies));
	write_file_in(policies, "identity.json",
		      "{\"rules\": [{\"match\": {\"repository\": \"acme/payments\"},"
		      " \"user\": \"ci-payments\", \"roles\": [\"pipeline\"],"
		      " \"services\": [\"payments\"]}]}\n");
}

static char tok[4096];

/* A client-credentials access token from the provider's token endpoint. */
static const char *issued(const char *client)
{
	char auth[256], cred[128], b64[256];
	snprintf(cred, sizeof cred, "%s:ci-secret", client);
	FILE *p;
	char cmd[256];
	snprintf(cmd, sizeof cmd, "printf '%%s' '%s' | base64 -w0", cred);
	p = popen(cmd, "r");
	b64[0] = '\0';
	if (p != NULL) {
		if (fgets(b64, sizeof b64, p) == NULL)
			b64[0] = '\0';
		pclose(p);
	}
	snprintf(auth, sizeof auth, "Authorization: Basic %s", b64);
	const char *h[] = {auth, "Content-Type: application/x-www-form-urlencoded", NULL};
	struct reply *r = request(&op, "POST", "/token", NULL,
				  "grant_type=client_credentials&scope=deploy", h);
	CHECKF(r->status == 200, "token endpoint: %ld %s", r->status, r->body ? r->body : "");
	snprintf(tok, sizeof tok, "%s", reply_str(r, "access_token"));
	reply_free(r);
	return tok;
}

/* A token the provider's test route signs wrongly in one way (op.mjs: forge). */
static const char *forged(const char *kind)
{
	char path[128];
	snprintf(path, sizeof path, "/test/forge?kind=%s", kind);
	struct reply *r = request(&op, "GET", path, NULL, NULL, NULL);
	CHECKF(r->status == 200, "forge %s: %ld", kind, r->status);
	snprintf(tok, sizeof tok, "%s", r->body ? r->body : "");
	reply_free(r);
	return tok;
}

static struct reply *deploy(const char *token, const char *service)
{
	char body[256];
	snprintf(body, sizeof body,
		 "{\"service\": \"%s\", \"environment\": \"production\", \"duration\": \"PT30M\"}",
		 service);
	const char *h[] = {"Content-Type: application/json", NULL};
	return request(&srv, "POST", "/v1/deployments", token, body, h);
}

static void test_pipeline_jwt_deploys_its_mapped_service_only(void)
{
	const char *t = issued("ci-payments");
	CHECK(strlen(t) > 100 && strchr(t, '.') != NULL);
	struct reply *r = request(&srv, "GET", "/v1/me", t, NULL, NULL);
	CHECKF(r->status == 200, "%ld %s", r->status, r->body);
	CHECK_STR(reply_str(r, "user"), "ci-payments");
	reply_free(r);
	r = deploy(t, "payments");
	CHECKF(r->status >= 200 && r->status < 300 && reply_str(r, "decision")[0] != '\0', "%ld %s",
	       r->status, r->body);
	reply_free(r);
	r = deploy(t, "ledger");
	CHECKF(r->status == 403, "%ld %s", r->status, r->body);
	CHECK_STR(reply_str(r, "code"), "SERVICE_NOT_MAPPED");
	CHECK(strstr(reply_str(r, "detail"), "'ledger'") != NULL);
	reply_free(r);
	/* a repository the policy does not map: a user without roles */
	r = deploy(issued("ci-other"), "payments");
	CHECKF(r->status == 403, "%ld %s", r->status, r->body);
	CHECK_STR(reply_str(r, "code"), "ROLE");
	reply_free(r);
}

static void refused(const char *kind, const char *code)
{
	struct reply *r = deploy(forged(kind), "payments");
	CHECKF(r->status == 401, "%s: %ld %s", kind, r->status, r->body);
	CHECKF(strcmp(reply_str(r, "code"), code) == 0, "%s: code %s, want %s", kind,
	       reply_str(r, "code"), code);
	const char *www = reply_header(r, "WWW-Authenticate");
	CHECKF(www != NULL && strstr(www, "invalid_token") != NULL, "%s: %s", kind, www ?: "-");
	reply_free(r);
}

static void test_forged_tokens_refused_with_their_code(void)
{
	/* the provider's own signature over the same claims passes: the forgeries fail only
	 * for what is wrong with them */
	struct reply *r = deploy(forged("valid"), "payments");
	CHECKF(r->status >= 200 && r->status < 300, "%ld %s", r->status, r->body);
	reply_free(r);
	refused("tampered", "TOKEN_SIGNATURE");
	refused("expired", "TOKEN_EXPIRED");
	refused("notyet", "TOKEN_NOT_YET_VALID");
	refused("wrongaud", "TOKEN_AUDIENCE");
	refused("wrongiss", "TOKEN_ISSUER");
	refused("none", "TOKEN_ALGORITHM");
	refused("hs256", "TOKEN_ALGORITHM");
}

static void test_key_rotation_is_picked_up(void)
{
	struct reply *r = deploy(issued("ci-payments"), "payments"); /* keys of k1 cached */
	CHECK(r->status >= 200 && r->status < 300);
	reply_free(r);
	r = request(&op, "POST", "/test/rotate", NULL, "", NULL);
	CHECK(r->status == 200 && r->body && strcmp(r->body, "k2") == 0);
	reply_free(r);
	/* TRANSOM_OIDC_JWKS_MIN_REFRESH=1: let the one-second refresh floor pass (this waits for
	 * a state, it asserts no duration) */
	sleep(2);
	/* {"alg":"RS256","typ":"at+jwt","kid":"k2"}: the provider signs with its new key */
	const char *t = issued("ci-payments");
	CHECK(strncmp(t, "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsyIn0.", 55) == 0);
	r = deploy(t, "payments");
	CHECKF(r->status >= 200 && r->status < 300, "new kid: %ld %s", r->status, r->body);
	reply_free(r);
	r = deploy(forged("valid"), "payments"); /* op.mjs signs with the newest key */
	CHECKF(r->status >= 200 && r->status < 300, "forged with k2: %ld %s", r->status, r->body);
	reply_free(r);
}

static void test_opaque_tokens_still_work(void)
{
	const char *t = token_for("ci", "pipeline");
	struct reply *r = deploy(t, "ledger"); /* an opaque token is not scoped by identity.json */
	CHECKF(r->status >= 200 && r->status < 300, "%ld %s", r->status, r->body);
	reply_free(r);
	r = request(&srv, "GET", "/v1/me", "trn_not.a.jwt", NULL, NULL);
	CHECK(r->status == 401);
	CHECK_STR(reply_str(r, "code"), "UNAUTHENTICATED");
	reply_free(r);
}

/* Disabling a user stops the JWTs the provider issues for them too; enabling restores. */
static void test_disabled_user_jwt_refused(void)
{
	const char *admin = token_for("root", "admin");
	char a[256];
	snprintf(a, sizeof a, "%s", admin);
	token_for("ci-payments", "pipeline"); /* the users table knows ci-payments now */
	const char *t = issued("ci-payments");
	struct reply *r = request(&srv, "GET", "/v1/me", t, NULL, NULL);
	CHECKF(r->status == 200, "%ld %s", r->status, r->body);
	reply_free(r);
	r = request(&srv, "POST", "/v1/users/ci-payments/disable", a, NULL, NULL);
	CHECKF(r->status == 200, "%ld %s", r->status, r->body);
	reply_free(r);
	r = request(&srv, "GET", "/v1/me", t, NULL, NULL);
	CHECKF(r->status == 401, "%ld %s", r->status, r->body);
	CHECK(strstr(reply_str(r, "detail"), "disabled") != NULL);
	reply_free(r);
	r = request(&srv, "POST", "/v1/users/ci-payments/enable", a, NULL, NULL);
	CHECKF(r->status == 200, "%ld %s", r->status, r->body);
	reply_free(r);
	r = request(&srv, "GET", "/v1/me", t, NULL, NULL);
	CHECKF(r->status == 200, "%ld %s", r->status, r->body);
	reply_free(r);
}

/*
 * GET /v1/events with `token`, in a curl child (its output thrown away, at most 30 s);
 * returns the child's pid, or -1.
 */
static pid_t stream_open(const char *token)
{
	char url[256], auth[4200];
	snprintf(url, sizeof url, "%s/v1/events", srv.base);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	pid_t pid = fork();
	if (pid == 0) {
		execlp("curl", "curl", "-sN", "-o", "/dev/null", "--max-time", "30", "-H", auth,
		       url, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/*
 * Whether the stream of curl child `pid` was ended by the server within `ms` (curl
 * exits by itself, not at its --max-time, which is exit status 28).  Reaps the child
 * either way.
 */
static bool stream_ended_within(pid_t pid, int ms)
{
	int status = 0;
	for (int waited = 0; waited < ms; waited += 20) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) != 28 &&
			       WEXITSTATUS(status) != 127;
		usleep(20 * 1000);
	}
	return false;
}

static void stream_kill(pid_t pid)
{
	if (pid > 0 && waitpid(pid, NULL, WNOHANG) == 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

/* A stream opened with a JWT ends when the token's exp passes, not when the client goes. */
static void test_jwt_stream_ends_at_its_exp(void)
{
	char t[4096];
	snprintf(t, sizeof t, "%s", forged("short")); /* exp in three seconds */
	pid_t a = stream_open(t);
	pid_t b = stream_open(issued("ci-payments")); /* five minutes: stays */
	CHECK(a > 0 && b > 0);
	CHECKF(!stream_ended_within(a, 500), "the stream ended before the token expired");
	CHECKF(stream_ended_within(a, 8000), "the stream outlived its JWT's exp");
	CHECKF(!stream_ended_within(b, 200), "a stream with a live JWT ended too");
	stream_kill(a);
	stream_kill(b);
}

/* Disabling a user ends the streams opened with their JWTs at once. */
static void test_jwt_stream_ends_when_the_user_is_disabled(void)
{
	char a[256];
	snprintf(a, sizeof a, "%s", token_for("root", "admin"));
	token_for("ci-payments", "pipeline"); /* the users table knows ci-payments */
	pid_t s = stream_open(issued("ci-payments"));
	CHECK(s > 0);
	CHECKF(!stream_ended_within(s, 700), "the stream ended by itself");
	struct reply *r = request(&srv, "POST", "/v1/users/ci-payments/disable", a, NULL, NULL);
	CHECKF(r->status == 200, "%ld %s", r->status, r->body);
	reply_free(r);
	CHECKF(stream_ended_within(s, 5000), "a disabled user's JWT stream is still open");
	stream_kill(s);
	r = request(&srv, "POST", "/v1/users/ci-payments/enable", a, NULL, NULL);
	CHECKF(r->status == 200, "%ld %s", r->status, r->body);
	reply_free(r);
}

/* Writes identity.json mapping acme/payments to `service`, reloads, and waits until a
 * fresh token (never remembered) may deploy `service`. */
static bool map_payments_repo_to(const char *service)
{
	char text[512];
	snprintf(text, sizeof text,
		 "{\"rules\": [{\"match\": {\"repository\": \"acme/payments\"},"
		 " \"user\": \"ci-payments\", \"roles\": [\"pipeline\"],"
		 " \"services\": [\"%s\"]}]}\n",
		 service);
	write_file_in(policies, "identity.json", text);
	server_signal(&srv, SIGHUP);
	for (int i = 0; i < 100; i++) {
		struct reply *r = deploy(issued("ci-payments"), service);
		bool ok = r->status >= 200 && r->status < 300;
		reply_free(r);
		if (ok)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

/*
 * A reload of identity.json reaches a JWT already remembered at once, not 30 s later.
 * Lookups are remembered per server thread: the token is used often enough, before and
 * after, to meet every thread.
 */
static void test_identity_reload_reaches_remembered_jwts(void)
{
	char t[4096];
	snprintf(t, sizeof t, "%s", issued("ci-payments"));
	for (int i = 0; i < 16; i++) { /* remembered with the old mapping */
		struct reply *r = deploy(t, "payments");
		CHECKF(r->status >= 200 && r->status < 300, "%ld %s", r->status, r->body);
		reply_free(r);
	}
	CHECK(map_payments_repo_to("ledger"));
	int deployed = 0;
	for (int i = 0; i < 16; i++) {
		struct reply *r = deploy(t, "payments");
		deployed += r->status >= 200 && r->status < 300;
		reply_free(r);
	}
	CHECKF(deployed == 0, "after the reload the JWT still deployed payments %d times of 16",
	       deployed);
	CHECK(map_payments_repo_to("payments"));
}

/* Without a client id the web sign-in is off: no provider offered, its routes 404. */
static void test_web_sign_in_off_without_a_client(void)
{
	struct reply *r = request(&srv, "GET", "/v1/session/providers", NULL, NULL, NULL);
	CHECKF(r->status == 200, "%ld", r->status);
	CHECK(json_is_null(json_object_get(r->json, "oidc")));
	reply_free(r);
	r = request(&srv, "GET", "/oidc/login", NULL, NULL, NULL);
	CHECKF(r->status == 404, "%ld %s", r->status, r->body);
	CHECK_STR(reply_str(r, "code"), "OIDC_OFF");
	reply_free(r);
	r = request(&srv, "GET", "/oidc/callback?state=x&code=y", NULL, NULL, NULL);
	CHECK(r->status == 404);
	CHECK_STR(reply_str(r, "code"), "OIDC_OFF");
	reply_free(r);
}

static void setup(void)
{
	make_policies();
	if ((op_pid = oidc_provider_start(&op)) < 0) {
		printf("the OpenID Provider (node tests/oidc/op.mjs) did not start: is "
		       "tests/oidc/node_modules there (npm ci)?\n0 passed, 1 failed\n");
		exit(1);
	}
	char env_iss[256];
	snprintf(env_iss, sizeof env_iss, "TRANSOM_OIDC_ISSUER=%s", op.base);
	const char *env[] = {env_iss, "TRANSOM_OIDC_AUDIENCE=transom-api",
			     "TRANSOM_OIDC_JWKS_MIN_REFRESH=1", NULL};
	if (!server_start(&srv, NULL, policies, env)) {
		printf("0 passed, 1 failed\n");
		exit(1);
	}
}

int tests_main(void);
#define main tests_main
TESTS(test_pipeline_jwt_deploys_its_mapped_service_only, test_forged_tokens_refused_with_their_code,
      test_key_rotation_is_picked_up, test_opaque_tokens_still_work, test_disabled_user_jwt_refused,
      test_web_sign_in_off_without_a_client, test_jwt_stream_ends_at_its_exp,
      test_identity_reload_reaches_remembered_jwts, test_jwt_stream_ends_when_the_user_is_disabled)
#undef main

int main(void)
{
	setup();
	int rc = tests_main();
	CHECK_INT(server_stop(&srv, 10, NULL), 0);
	if (op_pid > 0) {
		kill(op_pid, SIGTERM);
		waitpid(op_pid, NULL, 0);
	}
	return rc;
}
