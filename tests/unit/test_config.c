/*
 * test_config.c -- settings: defaults, precedence, validation messages naming the key.
 */
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "config/config.h"

/* A config source over a NULL-terminated list of "KEY=value" strings. */
static const char *list_get(void *cls, const char *key)
{
	const char *const *kv = cls;
	size_t n = strlen(key);
	for (; kv != NULL && *kv != NULL; kv++)
		if (strncmp(*kv, key, n) == 0 && (*kv)[n] == '=')
			return *kv + n + 1;
	return NULL;
}

static enum tr_code parse(const char *const *env, const char *const *file, struct config *c,
			  struct tr_error *e)
{
	return config_parse(list_get, (void *)env, file ? list_get : NULL, (void *)file, 8, c, e);
}

static void test_defaults(void)
{
	struct config c;
	struct tr_error e = {0};
	CHECK_INT(parse(NULL, NULL, &c, &e), TR_OK);
	CHECK_STR(c.listen_host, "127.0.0.1");
	CHECK_INT(c.listen_port, 8080);
	CHECK_INT(c.threads, 8); /* one per core */
	CHECK_INT(c.max_body, 1024 * 1024);
	CHECK_STR(c.workflows_dir, "workflows");
	CHECK_INT(c.log_level, LOG_LEVEL_INFO);
	CHECK_STR(c.alertmanager_url, ""); /* no silences */
	CHECK_INT(c.silence_backoff, 5000);
}

/* Paths are appended to the Alertmanager URL: its trailing slashes go. */
static void test_alertmanager_url_loses_its_trailing_slash(void)
{
	const char *env[] = {"TRANSOM_ALERTMANAGER_URL=http://am.example:9093//", NULL};
	struct config c;
	struct tr_error e = {0};
	CHECK_INT(parse(env, NULL, &c, &e), TR_OK);
	CHECK_STR(c.alertmanager_url, "http://am.example:9093");
}

static void test_environment_beats_file_beats_default(void)
{
	const char *env[] = {"TRANSOM_THREADS=3", NULL};
	const char *file[] = {"TRANSOM_THREADS=5", "TRANSOM_LISTEN=0.0.0.0:9000", NULL};
	struct config c;
	struct tr_error e = {0};
	CHECK_INT(parse(env, file, &c, &e), TR_OK);
	CHECK_INT(c.threads, 3);
	CHECK_INT(c.listen_port, 9000);
	CHECK_STR(c.listen_host, "0.0.0.0");
}

static void test_bad_values_name_the_key(void)
{
	static const struct {
		const char *kv, *key, *expect;
	} cases[] = {
		{"TRANSOM_THREADS=many", "TRANSOM_THREADS", "whole number"},
		{"TRANSOM_THREADS=-1", "TRANSOM_THREADS", "whole number"},
		{"TRANSOM_THREADS=999", "TRANSOM_THREADS", "from 0 to 256"},
		{"TRANSOM_LISTEN=8080", "TRANSOM_LISTEN", "host:port"},
		{"TRANSOM_LISTEN=localhost:99999", "TRANSOM_LISTEN", "65535"},
		{"TRANSOM_LISTEN=:80", "TRANSOM_LISTEN", "host:port"},
		{"TRANSOM_LOG_LEVEL=loud", "TRANSOM_LOG_LEVEL", "debug, info"},
		{"TRANSOM_MAX_BODY=10X", "TRANSOM_MAX_BODY", "size in bytes"},
		{"TRANSOM_MAX_BODY=0", "TRANSOM_MAX_BODY", "from 1"},
		{"TRANSOM_WORKFLOWS_DIR=", "TRANSOM_WORKFLOWS_DIR", "directory"},
		{"TRANSOM_CONN_TIMEOUT=0", "TRANSOM_CONN_TIMEOUT", "from 1 to 3600"},
		{"TRANSOM_OIDC_ISSUER=op.example", "TRANSOM_OIDC_ISSUER", "https:// URL"},
		{"TRANSOM_OIDC_ISSUER=https://op.example", "TRANSOM_OIDC_AUDIENCE", "required"},
		{"TRANSOM_OIDC_SKEW=3600", "TRANSOM_OIDC_SKEW", "from 0 to 300"},
		{"TRANSOM_ALERTMANAGER_URL=alertmanager:9093", "TRANSOM_ALERTMANAGER_URL",
		 "http:// or https:// URL"},
		{"TRANSOM_SILENCE_BACKOFF_MS=1", "TRANSOM_SILENCE_BACKOFF_MS", "from 10"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *env[] = {cases[i].kv, NULL};
		struct config c;
		struct tr_error e = {0};
		CHECKF(parse(env, NULL, &c, &e) == TR_E_CONFIG, "%s accepted", cases[i].kv);
		CHECK_STR(e.field, cases[i].key);
		CHECKF(strstr(e.detail, cases[i].expect) != NULL, "%s: detail '%s'", cases[i].kv,
		       e.detail);
	}
}

/* The web sign-in's client: id needs the issuer and a secret; the secret from a file. */
static void test_oidc_client_settings(void)
{
	struct config c;
	struct tr_error e = {0};
	const char *no_secret[] = {"TRANSOM_OIDC_ISSUER=https://op.example",
				   "TRANSOM_OIDC_CLIENT_ID=transom", NULL};
	CHECK_INT(parse(no_secret, NULL, &c, &e), TR_E_CONFIG);
	CHECK_STR(e.field, "TRANSOM_OIDC_CLIENT_ID");
	const char *no_issuer[] = {"TRANSOM_OIDC_CLIENT_ID=transom", "TRANSOM_OIDC_CLIENT_SECRET=s",
				   NULL};
	CHECK_INT(parse(no_issuer, NULL, &c, &e), TR_E_CONFIG);
	CHECK_STR(e.field, "TRANSOM_OIDC_CLIENT_ID");
	const char *bad_file[] = {"TRANSOM_OIDC_ISSUER=https://op.example",
				  "TRANSOM_OIDC_CLIENT_ID=transom",
				  "TRANSOM_OIDC_CLIENT_SECRET_FILE=/nonexistent/secret", NULL};
	CHECK_INT(parse(bad_file, NULL, &c, &e), TR_E_CONFIG);
	CHECK_STR(e.field, "TRANSOM_OIDC_CLIENT_SECRET_FILE");
	/* the secret's first line; no audience needed for the sign-in alone */
	char path[] = "/tmp/transom-oidc-secretXXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, "s3cret\nignored\n", 15) == 15);
	close(fd);
	char kv[128];
	snprintf(kv, sizeof kv, "TRANSOM_OIDC_CLIENT_SECRET_FILE=%s", path);
	const char *ok[] = {"TRANSOM_OIDC_ISSUER=https://op.example",
			    "TRANSOM_OIDC_CLIENT_ID=transom", kv, NULL};
	CHECKF(parse(ok, NULL, &c, &e) == TR_OK, "%s", e.detail);
	CHECK_STR(c.oidc_client_secret, "s3cret");
	CHECK_STR(c.oidc_scopes, "openid email profile");
	unlink(path);
}

static void test_sizes_take_suffixes(void)
{
	const char *env[] = {"TRANSOM_MAX_BODY=64k", "TRANSOM_MAX_URL=2k", NULL};
	struct config c;
	struct tr_error e = {0};
	CHECK_INT(parse(env, NULL, &c, &e), TR_OK);
	CHECK_INT(c.max_body, 65536);
	CHECK_INT(c.max_url, 2048);
}

static void test_config_file(void)
{
	char path[] = "/tmp/transom-config-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	const char text[] = "# a comment\n\nTRANSOM_THREADS = 7\nTRANSOM_LOG_LEVEL=debug\n";
	CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
	close(fd);
	struct tr_error e = {0};
	struct config_file *f = config_file_load(path, &e);
	CHECK(f != NULL);
	struct config c;
	CHECK_INT(config_parse(NULL, NULL, config_file_get, f, 2, &c, &e), TR_OK);
	CHECK_INT(c.threads, 7);
	CHECK_INT(c.log_level, LOG_LEVEL_DEBUG);
	config_file_free(f);

	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(write(fd, "TRANSOM_COLOUR=blue\n", 20) == 20);
	close(fd);
	f = config_file_load(path, &e);
	CHECK(f == NULL);
	CHECK(strstr(e.detail, "unknown setting 'TRANSOM_COLOUR'") != NULL);
	CHECK(strstr(e.detail, ":1:") != NULL);
	unlink(path);
	CHECK(config_file_load("/nonexistent/transom.conf", &e) == NULL);
}

/*
 * Issue 19: a replica held 256 streams whatever its connections.  The streams now follow
 * TRANSOM_MAX_CONNECTIONS (7/8 of them; the rest stay for ordinary requests) unless
 * TRANSOM_MAX_STREAMS says; more streams than connections, or a reserve that leaves
 * ordinary users none, is refused naming the key.
 */
static void test_streams_follow_the_connections(void)
{
	struct config c;
	struct tr_error e = {0};
	CHECK_INT(parse(NULL, NULL, &c, &e), TR_OK);
	CHECK_INT(c.max_streams, 896); /* of the default 1024 connections */
	CHECK_INT(c.streams_reserved, 32);
	const char *more[] = {"TRANSOM_MAX_CONNECTIONS=4096", NULL};
	CHECK_INT(parse(more, NULL, &c, &e), TR_OK);
	CHECK_INT(c.max_streams, 3584);
	const char *given[] = {"TRANSOM_MAX_CONNECTIONS=4096", "TRANSOM_MAX_STREAMS=4000", NULL};
	CHECK_INT(parse(given, NULL, &c, &e), TR_OK);
	CHECK_INT(c.max_streams, 4000);
	const char *over[] = {"TRANSOM_MAX_CONNECTIONS=100", "TRANSOM_MAX_STREAMS=101", NULL};
	CHECK_INT(parse(over, NULL, &c, &e), TR_E_CONFIG);
	CHECK_STR(e.field, "TRANSOM_MAX_STREAMS");
	const char *reserved[] = {"TRANSOM_MAX_CONNECTIONS=32", "TRANSOM_STREAMS_RESERVED=28",
				  NULL};
	CHECK_INT(parse(reserved, NULL, &c, &e), TR_E_CONFIG); /* 28 of 28 streams */
	CHECK_STR(e.field, "TRANSOM_STREAMS_RESERVED");
	reserved[1] = "TRANSOM_STREAMS_RESERVED=27";
	CHECK_INT(parse(reserved, NULL, &c, &e), TR_OK);
}

TESTS(test_defaults, test_streams_follow_the_connections, test_oidc_client_settings,
      test_environment_beats_file_beats_default, test_bad_values_name_the_key,
      test_sizes_take_suffixes, test_config_file, test_alertmanager_url_loses_its_trailing_slash)
