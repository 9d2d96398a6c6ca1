/*
 * config.h -- Transom's settings: read once at start-up, validated, then immutable.
 *
 * Every setting has a row in one table (config.c): its key, default, the kind of value
 * and a help line; `transomd --help` prints that table.  Values come from, in order of
 * precedence: the environment, the optional config file (TRANSOM_CONFIG or --config,
 * lines `KEY=value`, `#` comments), the default.  A bad value is reported naming the key
 * and what was expected; transomd then exits with status 2.
 */
#ifndef TRANSOM_CONFIG_H
#define TRANSOM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/err.h"
#include "core/log.h"

struct config {
	char listen_host[256];     /* TRANSOM_LISTEN host part (IPv4 literal or name) */
	unsigned listen_port;      /* TRANSOM_LISTEN port; 0 = an ephemeral port */
	char database_url[2048];   /* TRANSOM_DATABASE_URL (libpq conninfo or URI) */
	char migrate_url[2048];    /* TRANSOM_MIGRATE_DATABASE_URL: the owner; "" = database_url */
	char workflows_dir[1024];  /* TRANSOM_WORKFLOWS_DIR */
	char policies_dir[1024];   /* TRANSOM_POLICIES_DIR */
	enum log_level log_level;  /* TRANSOM_LOG_LEVEL */
	unsigned threads;          /* TRANSOM_THREADS; 0 at parse time = one per core */
	char public_url[1024];     /* TRANSOM_PUBLIC_URL; empty = http://<listen> */
	size_t max_body;           /* TRANSOM_MAX_BODY, bytes */
	size_t max_url;            /* TRANSOM_MAX_URL, bytes */
	unsigned conn_timeout;     /* TRANSOM_CONN_TIMEOUT, seconds idle before a close */
	unsigned header_timeout;   /* TRANSOM_HEADER_TIMEOUT, seconds to send a request head */
	unsigned max_conns;        /* TRANSOM_MAX_CONNECTIONS, open connections in all */
	unsigned max_conns_ip;     /* TRANSOM_MAX_CONNECTIONS_PER_IP; 0 = no per-address cap */
	unsigned statement_ms;     /* TRANSOM_STATEMENT_TIMEOUT_MS, per request statement */
	unsigned lock_ms;          /* TRANSOM_LOCK_TIMEOUT_MS, per request lock wait */
	unsigned shutdown_grace;   /* TRANSOM_SHUTDOWN_GRACE, seconds for in-flight work */
	unsigned drain_seconds;    /* TRANSOM_DRAIN_SECONDS, unready before the listener closes */
	unsigned db_retries;       /* TRANSOM_DB_RETRIES, serialization-failure retries */
	unsigned timer_interval;   /* TRANSOM_TIMER_INTERVAL, ms between timer sweeps */
	unsigned max_streams;      /* TRANSOM_MAX_STREAMS; 0 at parse time = 7/8 of max_conns */
	unsigned streams_per_user; /* TRANSOM_STREAMS_PER_USER */
	unsigned streams_per_privileged; /* TRANSOM_STREAMS_PER_PRIVILEGED (admin, pipeline) */
	unsigned streams_reserved;       /* TRANSOM_STREAMS_RESERVED for admins and pipelines */
	char cache_dir[1024];            /* TRANSOM_CACHE_DIR: remote calendars' last good copies */
	char github_secret[256];         /* TRANSOM_GITHUB_WEBHOOK_SECRET; "" = integration off */
	char github_token[512];          /* TRANSOM_GITHUB_TOKEN, for callbacks */
	char github_api_url[512];        /* TRANSOM_GITHUB_API_URL */
	unsigned webhook_tries;   /* TRANSOM_WEBHOOK_MAX_ATTEMPTS, before a delivery is dead */
	unsigned webhook_backoff; /* TRANSOM_WEBHOOK_BACKOFF_MS, ms to the first retry */
	unsigned webhook_timeout; /* TRANSOM_WEBHOOK_TIMEOUT, ms per delivery request */
	/* voting by e-mail (iMIP): "" smtp_url = invitations off, "" imap_url = no polling */
	char smtp_url[1024];     /* TRANSOM_SMTP_URL, smtp(s)://host:port */
	char smtp_from[320];     /* TRANSOM_SMTP_FROM, sender address */
	char smtp_user[256];     /* TRANSOM_SMTP_USER */
	char smtp_password[256]; /* TRANSOM_SMTP_PASSWORD */
	char agent_domain[256];  /* TRANSOM_AGENT_DOMAIN: cab+<token>@<this> */
	char imap_url[1024];     /* TRANSOM_IMAP_URL, imap(s)://host:port/INBOX */
	char imap_user[256];     /* TRANSOM_IMAP_USER */
	char imap_password[256]; /* TRANSOM_IMAP_PASSWORD */
	unsigned imap_interval;  /* TRANSOM_IMAP_INTERVAL, seconds between polls */
	unsigned mail_backoff;   /* TRANSOM_MAIL_BACKOFF_MS, ms to the first resend */
	/* signed checkpoints of the audit chain's head: "" audit_key_file = none */
	char audit_key_file[1024];    /* TRANSOM_AUDIT_KEY_FILE, Ed25519 private key (PEM) */
	char checkpoint_file[1024];   /* TRANSOM_AUDIT_CHECKPOINT_FILE, JSON lines appended */
	unsigned checkpoint_interval; /* TRANSOM_AUDIT_CHECKPOINT_INTERVAL, seconds */
	unsigned metrics_interval;    /* TRANSOM_METRICS_INTERVAL, seconds */

	/* TRANSOM_MAIL_TRUSTED_AUTHSERV_ID: whose Authentication-Results count; "" = none */
	char mail_authserv_id[256];
	/* TRANSOM_WEBHOOK_ALLOW_NETS: internal CIDRs outbound requests may reach anyway */
	char allow_nets[1024];
	/* TRANSOM_SECRET_KEY_FILE: the key file of secrets at rest (crypto/seal.h) */
	char secret_key_file[1024];
	/* JWT access tokens of an OpenID Provider (app/identity.h): "" oidc_issuer = off */
	char oidc_issuer[512];          /* TRANSOM_OIDC_ISSUER, as the tokens' iss */
	char oidc_audience[256];        /* TRANSOM_OIDC_AUDIENCE (JWT access tokens) */
	unsigned oidc_skew;             /* TRANSOM_OIDC_SKEW, seconds */
	unsigned oidc_jwks_max_age;     /* TRANSOM_OIDC_JWKS_MAX_AGE, seconds */
	unsigned oidc_jwks_min_refresh; /* TRANSOM_OIDC_JWKS_MIN_REFRESH, seconds */
	/* The web app's sign-in (app/web_sessions.h) */
	unsigned session_ttl;  /* TRANSOM_SESSION_TTL, seconds a session lasts at most */
	unsigned session_idle; /* TRANSOM_SESSION_IDLE, seconds unused before it ends */
	char cookie_secure[8]; /* TRANSOM_COOKIE_SECURE: yes, no or auto (Secure behind TLS) */
	/* maintenance silences (jobs/silences.c): "" alertmanager_url = none */
	char alertmanager_url[512]; /* TRANSOM_ALERTMANAGER_URL, base URL */
	unsigned silence_backoff;   /* TRANSOM_SILENCE_BACKOFF_MS, ms to the first retry */
	/* Sign-in to the web app through the OpenID Provider (app/oidc_login.h): on when the
	 * issuer, the client id and a secret are set */
	char oidc_client_id[256];           /* TRANSOM_OIDC_CLIENT_ID; the ID tokens' aud */
	char oidc_client_secret[512];       /* TRANSOM_OIDC_CLIENT_SECRET, or read from: */
	char oidc_client_secret_file[1024]; /* TRANSOM_OIDC_CLIENT_SECRET_FILE (first line) */
	char oidc_scopes[256];              /* TRANSOM_OIDC_SCOPES asked for */
	char oidc_provider_name[128];       /* TRANSOM_OIDC_PROVIDER_NAME, the button's label */
};

/*
 * Looks a key up in one source; returns a borrowed string or NULL when the source does
 * not set it.
 */
typedef const char *(*config_get_fn)(void *cls, const char *key);

/*
 * Fills `out` from the sources (`file_get` may be NULL).  `ncpu` is used when
 * TRANSOM_THREADS is 0.  Returns TR_OK, or TR_E_CONFIG with `err->field` naming the key
 * and `err->detail` saying what was expected.  Pure: no I/O.
 */
enum tr_code config_parse(config_get_fn env_get, void *env_cls, config_get_fn file_get,
			  void *file_cls, unsigned ncpu, struct config *out, struct tr_error *err);

/*
 * A parsed config file: `KEY=value` lines.  config_file_load() returns an owned object
 * (free with config_file_free) or NULL with `err` naming the file and line.
 */
struct config_file;
struct config_file *config_file_load(const char *path, struct tr_error *err);
void config_file_free(struct config_file *f);
/* A config_get_fn over a loaded file; `cls` is the struct config_file. */
const char *config_file_get(void *cls, const char *key);
/* A config_get_fn over the process environment (cls unused). */
const char *config_env_get(void *cls, const char *key);

/* Prints every setting, its default and its help line (for --help). */
void config_print_help(FILE *out);

#endif /* TRANSOM_CONFIG_H */
