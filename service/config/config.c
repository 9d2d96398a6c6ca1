/*
 * config.c -- the settings table, value parsers and the config-file reader.
 */
#include "config/config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum setting_kind {
	SET_STRING,   /* copied into a char array of `size` bytes */
	SET_LISTEN,   /* host:port */
	SET_UINT,     /* unsigned in [min, max] */
	SET_SIZE,     /* bytes, with optional k/M/G suffix, in [min, max] */
	SET_LOGLEVEL, /* debug|info|warn|error */
	SET_DIR       /* like SET_STRING, must not be empty */
};

struct setting {
	const char *key;
	const char *def;
	enum setting_kind kind;
	size_t offset;
	size_t size;
	unsigned long long min, max;
	const char *help;
};

#define FIELD(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)

static const struct setting settings[] = {
	{"TRANSOM_LISTEN", "127.0.0.1:8080", SET_LISTEN, FIELD(listen_host), 0, 0,
	 "address and port to listen on (port 0 picks a free one)"},
	{"TRANSOM_DATABASE_URL", "", SET_STRING, FIELD(database_url), 0, 0,
	 "PostgreSQL connection string or URI (make run points it at the private cluster)"},
	{"TRANSOM_MIGRATE_DATABASE_URL", "", SET_STRING, FIELD(migrate_url), 0, 0,
	 "the schema owner's connection, for migrations (empty: TRANSOM_DATABASE_URL's login)"},
	{"TRANSOM_WORKFLOWS_DIR", "workflows", SET_DIR, FIELD(workflows_dir), 0, 0,
	 "directory of workflow definitions"},
	{"TRANSOM_POLICIES_DIR", "policies", SET_DIR, FIELD(policies_dir), 0, 0,
	 "directory of policies (catalog, risk, approvals, windows)"},
	{"TRANSOM_LOG_LEVEL", "info", SET_LOGLEVEL, FIELD(log_level), 0, 0,
	 "debug, info, warn or error"},
	{"TRANSOM_THREADS", "0", SET_UINT, FIELD(threads), 0, 256,
	 "HTTP worker threads, each with its own database connection (0 = one per core)"},
	{"TRANSOM_PUBLIC_URL", "", SET_STRING, FIELD(public_url), 0, 0,
	 "base URL clients reach the service at (default http://<listen>)"},
	{"TRANSOM_MAX_BODY", "1M", SET_SIZE, FIELD(max_body), 1, 1ULL << 30,
	 "largest request body accepted (bytes; k, M, G suffixes)"},
	{"TRANSOM_MAX_URL", "8k", SET_SIZE, FIELD(max_url), 64, 1ULL << 20,
	 "longest request URI accepted (bytes)"},
	{"TRANSOM_CONN_TIMEOUT", "30", SET_UINT, FIELD(conn_timeout), 1, 3600,
	 "seconds a connection may stay idle or slow before it is closed"},
	{"TRANSOM_HEADER_TIMEOUT", "10", SET_UINT, FIELD(header_timeout), 1, 3600,
	 "seconds a client gets to send a request line and headers, from connecting or from "
	 "its previous reply (then the connection is closed)"},
	{"TRANSOM_MAX_CONNECTIONS", "1024", SET_UINT, FIELD(max_conns), 16, 1000000,
	 "open client connections in all; more are refused at once (the file limit is raised "
	 "to fit)"},
	{"TRANSOM_MAX_CONNECTIONS_PER_IP", "64", SET_UINT, FIELD(max_conns_ip), 0, 1000000,
	 "open connections from one client address (0 = no cap; behind a proxy raise it to "
	 "TRANSOM_MAX_CONNECTIONS)"},
	{"TRANSOM_STATEMENT_TIMEOUT_MS", "5000", SET_UINT, FIELD(statement_ms), 0, 3600000,
	 "milliseconds one database statement of a request may run (0 = no bound); then 503"},
	{"TRANSOM_LOCK_TIMEOUT_MS", "2000", SET_UINT, FIELD(lock_ms), 0, 3600000,
	 "milliseconds a request waits for a database lock (0 = no bound); then 503"},
	{"TRANSOM_SHUTDOWN_GRACE", "5", SET_UINT, FIELD(shutdown_grace), 0, 600,
	 "seconds in-flight requests get to finish on SIGTERM"},
	{"TRANSOM_DRAIN_SECONDS", "0", SET_UINT, FIELD(drain_seconds), 0, 600,
	 "seconds /readyz answers 503 (draining) on SIGTERM while requests are still served, "
	 "before the listener closes (behind a load balancer: more than its health check "
	 "interval times its fall count; a second SIGTERM cuts it short)"},
	{"TRANSOM_DB_RETRIES", "5", SET_UINT, FIELD(db_retries), 0, 100,
	 "times a transaction is retried after a serialization failure or deadlock"},
	{"TRANSOM_CACHE_DIR", "var/cache", SET_STRING, FIELD(cache_dir), 0, 0,
	 "directory for last good copies of remote calendars (created when missing)"},
	{"TRANSOM_GITHUB_WEBHOOK_SECRET", "", SET_STRING, FIELD(github_secret), 0, 0,
	 "shared secret of the GitHub App webhook (empty: /integrations/github answers 404)"},
	{"TRANSOM_GITHUB_TOKEN", "", SET_STRING, FIELD(github_token), 0, 0,
	 "token for GitHub's API (installation token): deployment protection callbacks"},
	{"TRANSOM_GITHUB_API_URL", "https://api.github.com", SET_STRING, FIELD(github_api_url), 0,
	 0, "GitHub API base URL; callback URLs must start with it (GitHub Enterprise: yours)"},
	{"TRANSOM_TIMER_INTERVAL", "1000", SET_UINT, FIELD(timer_interval), 10, 3600000,
	 "milliseconds between sweeps for due workflow timers (SLA, expiry)"},
	{"TRANSOM_MAX_STREAMS", "0", SET_UINT, FIELD(max_streams), 0, 1000000,
	 "event streams and deployment long-polls a replica holds open in all (0 = 7/8 of "
	 "TRANSOM_MAX_CONNECTIONS: the rest stay for ordinary requests); more are 503"},
	{"TRANSOM_STREAMS_PER_USER", "8", SET_UINT, FIELD(streams_per_user), 1, 1000000,
	 "event streams and deployment long-polls one user may hold open on a replica"},
	{"TRANSOM_STREAMS_PER_PRIVILEGED", "32", SET_UINT, FIELD(streams_per_privileged), 1,
	 1000000, "the same for one admin or pipeline user (their own budget)"},
	{"TRANSOM_STREAMS_RESERVED", "32", SET_UINT, FIELD(streams_reserved), 0, 1000000,
	 "of a replica's streams (TRANSOM_MAX_STREAMS), how many only admins and pipelines may "
	 "take"},
	{"TRANSOM_WEBHOOK_MAX_ATTEMPTS", "12", SET_UINT, FIELD(webhook_tries), 1, 100,
	 "webhook delivery attempts before a delivery is marked dead (replay revives it)"},
	{"TRANSOM_WEBHOOK_BACKOFF_MS", "1000", SET_UINT, FIELD(webhook_backoff), 10, 3600000,
	 "milliseconds before the first webhook retry; doubles per attempt (jittered, cap 1 h)"},
	{"TRANSOM_WEBHOOK_TIMEOUT", "10000", SET_UINT, FIELD(webhook_timeout), 100, 120000,
	 "milliseconds a webhook endpoint gets to answer one delivery"},
	{"TRANSOM_SMTP_URL", "", SET_STRING, FIELD(smtp_url), 0, 0,
	 "SMTP server for calendar invitations, smtp(s)://host:port (empty: no invitations)"},
	{"TRANSOM_SMTP_FROM", "transom@localhost", SET_STRING, FIELD(smtp_from), 0, 0,
	 "sender address of invitations"},
	{"TRANSOM_SMTP_USER", "", SET_STRING, FIELD(smtp_user), 0, 0, "SMTP login (empty: none)"},
	{"TRANSOM_SMTP_PASSWORD", "", SET_STRING, FIELD(smtp_password), 0, 0, "SMTP password"},
	{"TRANSOM_AGENT_DOMAIN", "localhost", SET_STRING, FIELD(agent_domain), 0, 0,
	 "domain of the agent mailbox: invitations are organized by cab+<token>@<domain>"},
	{"TRANSOM_IMAP_URL", "", SET_STRING, FIELD(imap_url), 0, 0,
	 "agent mailbox polled for replies, imap(s)://host:port/INBOX (empty: no polling)"},
	{"TRANSOM_IMAP_USER", "", SET_STRING, FIELD(imap_user), 0, 0, "IMAP login"},
	{"TRANSOM_IMAP_PASSWORD", "", SET_STRING, FIELD(imap_password), 0, 0, "IMAP password"},
	{"TRANSOM_IMAP_INTERVAL", "60", SET_UINT, FIELD(imap_interval), 1, 86400,
	 "seconds between polls of the agent mailbox"},
	{"TRANSOM_MAIL_BACKOFF_MS", "30000", SET_UINT, FIELD(mail_backoff), 10, 3600000,
	 "milliseconds before an invitation is resent after an SMTP failure; doubles (cap 1 h)"},
	{"TRANSOM_AUDIT_KEY_FILE", "", SET_STRING, FIELD(audit_key_file), 0, 0,
	 "Ed25519 private key (PEM, mode 0600) signing audit checkpoints (empty: none written)"},
	{"TRANSOM_AUDIT_CHECKPOINT_FILE", "var/audit-checkpoints.jsonl", SET_STRING,
	 FIELD(checkpoint_file), 0, 0, "file the signed audit checkpoints are appended to"},
	{"TRANSOM_AUDIT_CHECKPOINT_INTERVAL", "60", SET_UINT, FIELD(checkpoint_interval), 1, 86400,
	 "seconds between signed checkpoints of the audit chain (written when it grew)"},
	{"TRANSOM_METRICS_INTERVAL", "15", SET_UINT, FIELD(metrics_interval), 1, 3600,
	 "seconds between reads of the database figures /metrics publishes (queues, approvals)"},
	{"TRANSOM_MAIL_TRUSTED_AUTHSERV_ID", "", SET_STRING, FIELD(mail_authserv_id), 0, 0,
	 "authserv-id of the MTA whose Authentication-Results must say dmarc=pass for a mail "
	 "vote to count (empty: not checked)"},
	{"TRANSOM_WEBHOOK_ALLOW_NETS", "", SET_STRING, FIELD(allow_nets), 0, 0,
	 "CIDR networks (comma-separated) webhooks, remote calendars and GitHub callbacks may "
	 "reach although they are loopback, private, link-local or otherwise internal"},
	{"TRANSOM_SECRET_KEY_FILE", "var/secret.key", SET_STRING, FIELD(secret_key_file), 0, 0,
	 "key file of secrets at rest (64 hex digits a line, mode 0600: the first line seals, "
	 "the others still open); created with a new key when missing -- back it up"},
	{"TRANSOM_OIDC_ISSUER", "", SET_STRING, FIELD(oidc_issuer), 0, 0,
	 "OpenID Provider whose JWT access tokens the API accepts as bearer tokens, exactly as "
	 "its tokens' iss says (https://...; empty: only Transom's own tokens)"},
	{"TRANSOM_OIDC_AUDIENCE", "", SET_STRING, FIELD(oidc_audience), 0, 0,
	 "the aud a JWT access token must contain (required with TRANSOM_OIDC_ISSUER)"},
	{"TRANSOM_OIDC_SKEW", "60", SET_UINT, FIELD(oidc_skew), 0, 300,
	 "seconds of clock difference tolerated on a JWT's exp, nbf and iat"},
	{"TRANSOM_OIDC_JWKS_MAX_AGE", "3600", SET_UINT, FIELD(oidc_jwks_max_age), 60, 86400,
	 "longest the provider's keys are kept (seconds; a shorter Cache-Control max-age wins, "
	 "down to TRANSOM_OIDC_JWKS_MIN_REFRESH)"},
	{"TRANSOM_OIDC_JWKS_MIN_REFRESH", "30", SET_UINT, FIELD(oidc_jwks_min_refresh), 1, 3600,
	 "least seconds between two fetches of the provider's keys (an unknown kid refetches "
	 "them at most this often)"},
	{"TRANSOM_SESSION_TTL", "43200", SET_UINT, FIELD(session_ttl), 300, 2592000,
	 "seconds a web app session lasts at most (signing in again makes a new one)"},
	{"TRANSOM_SESSION_IDLE", "3600", SET_UINT, FIELD(session_idle), 120, 2592000,
	 "seconds a web app session may go unused before it ends"},
	{"TRANSOM_COOKIE_SECURE", "auto", SET_STRING, FIELD(cookie_secure), 0, 0,
	 "mark the session cookie Secure: yes, no, or auto (when the request came over TLS "
	 "or with X-Forwarded-Proto: https)"},
	{"TRANSOM_ALERTMANAGER_URL", "", SET_STRING, FIELD(alertmanager_url), 0, 0,
	 "Alertmanager base URL (http://host:9093) where maintenance silences are created for "
	 "changes under way (empty: no silences)"},
	{"TRANSOM_SILENCE_BACKOFF_MS", "5000", SET_UINT, FIELD(silence_backoff), 10, 3600000,
	 "milliseconds before a failed silence call to Alertmanager is retried; doubles per "
	 "attempt (jittered, cap 1 h)"},
	{"TRANSOM_OIDC_CLIENT_ID", "", SET_STRING, FIELD(oidc_client_id), 0, 0,
	 "client id of Transom at the OpenID Provider (TRANSOM_OIDC_ISSUER): with a secret, the "
	 "web app offers to sign in through the provider; ID tokens must name it in aud"},
	{"TRANSOM_OIDC_CLIENT_SECRET", "", SET_STRING, FIELD(oidc_client_secret), 0, 0,
	 "the client's secret (or TRANSOM_OIDC_CLIENT_SECRET_FILE)"},
	{"TRANSOM_OIDC_CLIENT_SECRET_FILE", "", SET_STRING, FIELD(oidc_client_secret_file), 0, 0,
	 "a file whose first line is the client's secret (mode 0600; instead of "
	 "TRANSOM_OIDC_CLIENT_SECRET)"},
	{"TRANSOM_OIDC_SCOPES", "openid email profile", SET_STRING, FIELD(oidc_scopes), 0, 0,
	 "scopes asked for at sign-in (openid is always asked; add groups when the provider "
	 "has such a scope)"},
	{"TRANSOM_OIDC_PROVIDER_NAME", "your organization", SET_STRING, FIELD(oidc_provider_name),
	 0, 0, "the provider's name on the sign-in button (\"Sign in with ...\")"},
};

static enum tr_code bad(struct tr_error *err, const struct setting *s, const char *value,
			const char *expected)
{
	return tr_error_set(err, TR_E_CONFIG, s->key, "%s='%s': expected %s", s->key, value,
			    expected);
}

/* Parses a decimal unsigned with an optional k/M/G (binary) suffix when `sized`. */
static bool parse_number(const char *v, bool sized, unsigned long long *out)
{
	char *end;
	if (*v == '\0' || *v == '-' || *v == '+' || *v == ' ')
		return false;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno != 0 || end == v)
		return false;
	if (sized && *end != '\0') {
		unsigned shift = *end == 'k' || *end == 'K' ? 10
				 : *end == 'M'              ? 20
				 : *end == 'G'              ? 30
							    : 99;
		if (shift == 99 || end[1] != '\0' || n > (ULLONG_MAX >> shift))
			return false;
		n <<= shift;
		end++;
	}
	if (*end != '\0')
		return false;
	*out = n;
	return true;
}

static enum tr_code parse_listen(const struct setting *s, const char *v, struct config *cfg,
				 struct tr_error *err)
{
	const char *colon = strrchr(v, ':');
	unsigned long long port;
	size_t hostlen;

	if (colon == NULL || colon == v || !parse_number(colon + 1, false, &port) || port > 65535)
		return bad(err, s, v, "host:port with a port from 0 to 65535");
	hostlen = (size_t)(colon - v);
	if (hostlen >= sizeof cfg->listen_host)
		return bad(err, s, v, "a shorter host name");
	memcpy(cfg->listen_host, v, hostlen);
	cfg->listen_host[hostlen] = '\0';
	cfg->listen_port = (unsigned)port;
	return TR_OK;
}

static enum tr_code apply(const struct setting *s, const char *v, struct config *cfg,
			  struct tr_error *err)
{
	char *field = (char *)cfg + s->offset;
	unsigned long long n;

	switch (s->kind) {
	case SET_DIR:
	case SET_STRING:
		if (s->kind == SET_DIR && *v == '\0')
			return bad(err, s, v, "a directory path");
		if (strlen(v) >= s->size)
			return bad(err, s, v, "a shorter value");
		memcpy(field, v, strlen(v) + 1);
		return TR_OK;
	case SET_LISTEN:
		return parse_listen(s, v, cfg, err);
	case SET_LOGLEVEL:
		if (log_level_parse(v, (enum log_level *)(void *)field) != 0)
			return bad(err, s, v, "one of debug, info, warn, error");
		return TR_OK;
	case SET_UINT:
	case SET_SIZE:
		if (!parse_number(v, s->kind == SET_SIZE, &n) || n < s->min || n > s->max) {
			char expected[128];
			snprintf(expected, sizeof expected, "%s from %llu to %llu",
				 s->kind == SET_SIZE ? "a size in bytes" : "a whole number", s->min,
				 s->max);
			return bad(err, s, v, expected);
		}
		if (s->kind == SET_SIZE)
			*(size_t *)(void *)field = (size_t)n;
		else
			*(unsigned *)(void *)field = (unsigned)n;
		return TR_OK;
	}
	return tr_error_set(err, TR_E_INTERNAL, s->key, "unknown setting kind");
}

enum tr_code config_parse(config_get_fn env_get, void *env_cls, config_get_fn file_get,
			  void *file_cls, unsigned ncpu, struct config *out, struct tr_error *err)
{
	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
		const struct setting *s = &settings[i];
		const char *v = env_get ? env_get(env_cls, s->key) : NULL;
		if (v == NULL && file_get != NULL)
			v = file_get(file_cls, s->key);
		if (v == NULL)
			v = s->def;
		enum tr_code rc = apply(s, v, out, err);
		if (rc != TR_OK)
			return rc;
	}
	if (out->threads == 0)
		out->threads = ncpu > 0 ? ncpu : 1;
	if (out->max_streams == 0)
		out->max_streams = out->max_conns - out->max_conns / 8;
	if (out->max_streams > out->max_conns)
		return tr_error_set(
			err, TR_E_CONFIG, "TRANSOM_MAX_STREAMS",
			"TRANSOM_MAX_STREAMS=%u: expected at most TRANSOM_MAX_CONNECTIONS "
			"(%u): each stream holds a connection",
			out->max_streams, out->max_conns);
	if (out->streams_reserved >= out->max_streams)
		return tr_error_set(err, TR_E_CONFIG, "TRANSOM_STREAMS_RESERVED",
				    "TRANSOM_STREAMS_RESERVED=%u: expected fewer than the streams "
				    "(%u, TRANSOM_MAX_STREAMS), or ordinary users get none",
				    out->streams_reserved, out->max_streams);
	if (strcmp(out->cookie_secure, "yes") != 0 && strcmp(out->cookie_secure, "no") != 0 &&
	    strcmp(out->cookie_secure, "auto") != 0)
		return tr_error_set(err, TR_E_CONFIG, "TRANSOM_COOKIE_SECURE",
				    "TRANSOM_COOKIE_SECURE='%s': expected yes, no or auto",
				    out->cookie_secure);
	if (out->oidc_issuer[0] != '\0' && strncmp(out->oidc_issuer, "https://", 8) != 0 &&
	    strncmp(out->oidc_issuer, "http://", 7) != 0)
		return tr_error_set(err, TR_E_CONFIG, "TRANSOM_OIDC_ISSUER",
				    "TRANSOM_OIDC_ISSUER='%s': expected an https:// URL",
				    out->oidc_issuer);
	if (out->oidc_issuer[0] != '\0' && out->oidc_audience[0] == '\0' &&
	    out->oidc_client_id[0] == '\0')
		return tr_error_set(err, TR_E_CONFIG, "TRANSOM_OIDC_AUDIENCE",
				    "TRANSOM_OIDC_AUDIENCE or TRANSOM_OIDC_CLIENT_ID is required "
				    "with TRANSOM_OIDC_ISSUER");
	/* Trailing slashes go: paths are appended to it. */
	for (size_t n = strlen(out->alertmanager_url); n > 0 && out->alertmanager_url[n - 1] == '/';
	     n--)
		out->alertmanager_url[n - 1] = '\0';
	if (out->alertmanager_url[0] != '\0' &&
	    strncmp(out->alertmanager_url, "https://", 8) != 0 &&
	    strncmp(out->alertmanager_url, "http://", 7) != 0)
		return tr_error_set(
			err, TR_E_CONFIG, "TRANSOM_ALERTMANAGER_URL",
			"TRANSOM_ALERTMANAGER_URL='%s': expected an http:// or https:// URL",
			out->alertmanager_url);
	if (out->oidc_client_secret_file[0] != '\0' && out->oidc_client_secret[0] == '\0') {
		FILE *fp = fopen(out->oidc_client_secret_file, "r");
		if (fp == NULL ||
		    fgets(out->oidc_client_secret, sizeof out->oidc_client_secret, fp) == NULL) {
			if (fp != NULL)
				fclose(fp);
			return tr_error_set(err, TR_E_CONFIG, "TRANSOM_OIDC_CLIENT_SECRET_FILE",
					    "TRANSOM_OIDC_CLIENT_SECRET_FILE='%s': cannot be read",
					    out->oidc_client_secret_file);
		}
		fclose(fp);
		out->oidc_client_secret[strcspn(out->oidc_client_secret, "\r\n")] = '\0';
	}
	if (out->oidc_client_id[0] != '\0' &&
	    (out->oidc_issuer[0] == '\0' || out->oidc_client_secret[0] == '\0'))
		return tr_error_set(err, TR_E_CONFIG, "TRANSOM_OIDC_CLIENT_ID",
				    "TRANSOM_OIDC_CLIENT_ID needs TRANSOM_OIDC_ISSUER and "
				    "TRANSOM_OIDC_CLIENT_SECRET (or _FILE)");
	return TR_OK;
}

void config_print_help(FILE *out)
{
	fprintf(out, "Settings (environment, or KEY=value lines in the file named by "
		     "TRANSOM_CONFIG or --config):\n");
	for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
		fprintf(out, "  %-24s default '%s'\n      %s\n", settings[i].key, settings[i].def,
			settings[i].help);
}

const char *config_env_get(void *cls, const char *key)
{
	(void)cls;
	return getenv(key);
}

/* ---- config files ---------------------------------------------------------------------- */

struct config_file {
	size_t n;
	char **keys;
	char **values;
};

void config_file_free(struct config_file *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->keys[i]);
		free(f->values[i]);
	}
	free(f->keys);
	free(f->values);
	free(f);
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 &&
	       (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static bool config_file_add(struct config_file *f, const char *key, const char *value)
{
	char **k = realloc(f->keys, (f->n + 1) * sizeof *k);
	if (k == NULL)
		return false;
	f->keys = k;
	char **v = realloc(f->values, (f->n + 1) * sizeof *v);
	if (v == NULL)
		return false;
	f->values = v;
	f->keys[f->n] = strdup(key);
	f->values[f->n] = strdup(value);
	if (f->keys[f->n] == NULL || f->values[f->n] == NULL) {
		free(f->keys[f->n]);
		free(f->values[f->n]);
		return false;
	}
	f->n++;
	return true;
}

struct config_file *config_file_load(const char *path, struct tr_error *err)
{
	FILE *fp = fopen(path, "r");
	struct config_file *f;
	char line[4096];
	unsigned lineno = 0;

	if (fp == NULL) {
		tr_error_set(err, TR_E_CONFIG, "TRANSOM_CONFIG", "%s: %s", path, strerror(errno));
		return NULL;
	}
	f = calloc(1, sizeof *f);
	if (f == NULL) {
		fclose(fp);
		tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
		return NULL;
	}
	while (fgets(line, sizeof line, fp) != NULL) {
		lineno++;
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (eq == NULL) {
			tr_error_set(err, TR_E_CONFIG, "TRANSOM_CONFIG",
				     "%s:%u: expected KEY=value", path, lineno);
			goto fail;
		}
		*eq = '\0';
		const char *key = trim(s), *value = trim(eq + 1);
		bool known = false;
		for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
			known = known || strcmp(settings[i].key, key) == 0;
		if (!known) {
			tr_error_set(err, TR_E_CONFIG, key, "%s:%u: unknown setting '%s'", path,
				     lineno, key);
			goto fail;
		}
		if (!config_file_add(f, key, value)) {
			tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
			goto fail;
		}
	}
	fclose(fp);
	return f;
fail:
	fclose(fp);
	config_file_free(f);
	return NULL;
}

const char *config_file_get(void *cls, const char *key)
{
	const struct config_file *f = cls;
	const char *found = NULL;
	/* The last assignment wins, as in a shell. */
	for (size_t i = 0; f != NULL && i < f->n; i++)
		if (strcmp(f->keys[i], key) == 0)
			found = f->values[i];
	return found;
}
