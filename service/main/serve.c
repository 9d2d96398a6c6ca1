/*
 * serve.c -- `transomd serve` and `transomd migrate`: the daemon's life cycle.
 *
 * Start-up: connect and migrate (waiting a little for a database that is starting; as
 * the owner login TRANSOM_MIGRATE_DATABASE_URL when set, which then grants the serving
 * login its privileges), load the audit signing key and definitions, start HTTP,
 * announce the URL on stdout.  Then the main thread waits
 * for signals: SIGHUP reloads definitions, SIGTERM/SIGINT stop gracefully.
 */
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "app/credentials.h"
#include "core/memory.h"
#include "core/log.h"
#include "crypto/sign.h"
#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "events/events.h"
#include "jobs/jobs.h"
#include "main/main.h"
#include "net/net.h"
#include "store/webhooks.h"

/* Connects and migrates, retrying for up to `seconds` while the server starts. */
static int migrate_with_wait(struct store *st, unsigned seconds)
{
	for (unsigned waited = 0;; waited++) {
		enum db_status s = store_migrate(st);
		if (s >= 0)
			return 0;
		if (s != DB_DOWN || waited >= seconds * 2) {
			LOG_ERROR("event=migrate_failed error=\"%s\"", store_last_error(st));
			fprintf(stderr, "transomd: cannot migrate the database: %s%s\n",
				store_last_error(st),
				strcmp(store_last_sqlstate(st), "42501") == 0
					? " (this login may not change the schema: set "
					  "TRANSOM_MIGRATE_DATABASE_URL to the owner's)"
					: "");
			return -1;
		}
		usleep(500 * 1000);
	}
}

/*
 * Raises the soft limit on open files towards `want` (bounded by the hard limit), so
 * TRANSOM_MAX_CONNECTIONS can be reached without accept failing for want of
 * descriptors; warns when the hard limit is too low.
 */
static void raise_file_limit(unsigned long want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rlim_t target = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
	rl.rlim_cur = target;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || target < want)
		LOG_WARN("event=file_limit_low want=%lu have=%lu detail=\"raise the hard limit "
			 "(ulimit -Hn) or lower TRANSOM_MAX_CONNECTIONS\"",
			 want, (unsigned long)target);
}

/* The owner's connection string: TRANSOM_MIGRATE_DATABASE_URL, else TRANSOM_DATABASE_URL. */
static const char *owner_url(const struct config *cfg)
{
	return cfg->migrate_url[0] ? cfg->migrate_url : cfg->database_url;
}

int cmd_migrate(const struct config *cfg, const char *url)
{
	struct store *st = store_new(url != NULL ? url : owner_url(cfg), NULL);
	if (st == NULL)
		return 1;
	int rc = migrate_with_wait(st, 10);
	if (rc == 0)
		printf("schema version %d\n", store_schema_version(st));
	store_free(st);
	return rc == 0 ? 0 : 1;
}

int main_schema_prepare(const struct config *cfg, unsigned wait_seconds)
{
	char role[256], owner[256];
	struct store *st = store_new(cfg->database_url, NULL);
	if (st == NULL)
		return -1;
	if (cfg->migrate_url[0] == '\0') {
		/* Up to date: nothing to do, even for a login that may not create tables. */
		int rc = store_schema_version(st) >= store_schema_expected()
				 ? 0
				 : migrate_with_wait(st, wait_seconds);
		store_free(st);
		return rc;
	}
	struct store *own = store_new(cfg->migrate_url, NULL);
	int rc = own == NULL ? -1 : migrate_with_wait(own, wait_seconds);
	enum db_status s = DB_HARD;
	if (rc == 0 && (s = store_current_role(st, role, sizeof role)) == DB_ONE &&
	    (s = store_current_role(own, owner, sizeof owner)) == DB_ONE &&
	    strcmp(role, owner) != 0)
		s = store_grant_serving(own, role);
	if (rc == 0 && s < 0) {
		LOG_ERROR("event=grant_failed role=%s error=\"%s\"", role,
			  store_last_error(st)[0] ? store_last_error(st) : store_last_error(own));
		fprintf(stderr, "transomd: cannot grant the serving role '%s' its privileges: %s\n",
			role,
			store_last_error(st)[0] ? store_last_error(st) : store_last_error(own));
		rc = -1;
	}
	store_free(own);
	store_free(st);
	return rc;
}

/* Loads TRANSOM_AUDIT_KEY_FILE: 0 and *key (NULL when the setting is empty), or -1. */
static int load_audit_key(const struct config *cfg, struct crypto_sign_key **key)
{
	char err[512];
	*key = NULL;
	if (cfg->audit_key_file[0] == '\0') {
		LOG_WARN("event=audit_checkpoints_off detail=\"TRANSOM_AUDIT_KEY_FILE is not set: "
			 "the audit chain is not anchored outside the database\"");
		return 0;
	}
	*key = crypto_sign_key_load(cfg->audit_key_file, err, sizeof err);
	if (*key == NULL) {
		fprintf(stderr, "transomd: invalid setting TRANSOM_AUDIT_KEY_FILE: %s\n", err);
		return -1;
	}
	return 0;
}

/*
 * The key of secrets at rest: TRANSOM_SECRET_KEY_FILE, created (one random key, mode 0600,
 * its directory 0700 when missing) on first start.  NULL after printing why.
 */
static struct crypto_keyring *load_keyring(const struct config *cfg)
{
	char err[512], dir[1024];
	bool created = false;
	snprintf(dir, sizeof dir, "%s", cfg->secret_key_file);
	mkdir(dirname(dir), 0700); /* var/ of `make run`; an existing one is left as it is */
	struct crypto_keyring *k =
		crypto_keyring_load(cfg->secret_key_file, true, &created, err, sizeof err);
	if (k == NULL) {
		fprintf(stderr, "transomd: TRANSOM_SECRET_KEY_FILE: %s\n", err);
		return NULL;
	}
	if (created)
		LOG_WARN("event=secret_key_created file=%s detail=\"a new key for secrets at rest: "
			 "back it up, the secrets it seals are lost without it\"",
			 cfg->secret_key_file);
	return k;
}

/*
 * Seals every webhook secret that is still plain (from before migration 0013) or sealed
 * under an older key of the ring (rotation).  Secrets no key of the ring opens are left
 * and logged.  0, or -1 when the database failed.
 */
static int seal_secrets(const struct config *cfg, const struct crypto_keyring *k)
{
	struct store *st = store_new(cfg->database_url, NULL);
	json_t *rows = NULL, *row;
	size_t i;
	unsigned sealed = 0, lost = 0;
	enum db_status s =
		st ? store_webhook_secrets_to_seal(st, crypto_keyring_id(k), &rows) : DB_DOWN;
	json_array_foreach(rows, i, row) {
		long long id = (long long)json_integer_value(json_object_get(row, "id"));
		const char *plain = json_string_value(json_object_get(row, "secret"));
		const char *enc = json_string_value(json_object_get(row, "secret_enc"));
		char *secret = plain ? strdup(plain)
				     : crypto_open(k, enc, CRYPTO_AAD_WEBHOOK_SECRET, NULL);
		char *again = secret ? crypto_seal(k, secret, CRYPTO_AAD_WEBHOOK_SECRET) : NULL;
		if (secret != NULL) {
			crypto_cleanse(secret, strlen(secret));
			free(secret);
		}
		if (again == NULL) {
			LOG_ERROR("event=secret_unsealable webhook=%lld detail=\"no key of "
				  "TRANSOM_SECRET_KEY_FILE opens it\"",
				  id);
			lost++;
			continue;
		}
		s = store_webhook_secret_seal(st, id, again);
		free(again);
		if (s < 0)
			break;
		sealed++;
	}
	json_decref(rows);
	if (s < 0)
		LOG_ERROR("event=secret_seal_failed error=\"%s\"",
			  st ? store_last_error(st) : "no connection");
	else if (sealed > 0 || lost > 0)
		LOG_INFO("event=secrets_sealed key=%s sealed=%u unopenable=%u",
			 crypto_keyring_id(k), sealed, lost);
	store_free(st);
	return s < 0 ? -1 : 0;
}

int cmd_serve(const struct config *cfg)
{
	struct api api;
	struct app *app = &api.app;
	char now[32], *errors = NULL;
	sigset_t sigs;
	int sig;

	mem_tune(0); /* before any thread: malloc gives memory back (core/memory.h) */
	/* Signals are taken by sigwait() below; block them before any thread starts. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct crypto_sign_key *audit_key;
	if (load_audit_key(cfg, &audit_key) != 0)
		return 2;
	if (main_schema_prepare(cfg, 15) != 0) {
		crypto_sign_key_free(audit_key);
		return 1;
	}
	struct crypto_keyring *keyring = load_keyring(cfg);
	if (keyring == NULL) {
		crypto_sign_key_free(audit_key);
		return 2;
	}
	if (seal_secrets(cfg, keyring) != 0) {
		crypto_sign_key_free(audit_key);
		crypto_keyring_free(keyring);
		return 1;
	}

	main_now_rfc3339(now, sizeof now);
	struct defs *defs =
		defs_load(cfg->workflows_dir, cfg->policies_dir, cfg->cache_dir, now, &errors);
	if (defs == NULL) {
		fprintf(stderr, "transomd: invalid definitions:\n%s", errors ? errors : "");
		free(errors);
		crypto_sign_key_free(audit_key);
		crypto_keyring_free(keyring);
		return 1;
	}
	char gerr[256];
	struct net_guard *guard = net_guard_new(cfg->allow_nets, gerr, sizeof gerr);
	if (guard == NULL) {
		fprintf(stderr, "transomd: TRANSOM_WEBHOOK_ALLOW_NETS: %s\n", gerr);
		defs_release(defs);
		crypto_sign_key_free(audit_key);
		crypto_keyring_free(keyring);
		return 2;
	}
	if (api_init(&api, cfg, defs) != 0) {
		defs_release(defs);
		crypto_sign_key_free(audit_key);
		net_guard_free(guard);
		crypto_keyring_free(keyring);
		return 1;
	}
	app->guard = guard;
	app->keyring = keyring;
	struct http_server_opts opts = {.host = cfg->listen_host,
					.port = cfg->listen_port,
					.threads = cfg->threads,
					.conn_timeout = cfg->conn_timeout,
					.header_timeout = cfg->header_timeout,
					.max_conns = cfg->max_conns,
					.max_conns_per_ip = cfg->max_conns_ip,
					.max_body = cfg->max_body,
					.max_url = cfg->max_url,
					.is_quick = api_is_quick,
					.run_inline = api_run_inline};
	raise_file_limit(cfg->max_conns + cfg->threads + 64);
	struct tr_error err = {0};
	struct events_hub_opts events_opts = {.conninfo = cfg->database_url,
					      .max_subscribers = cfg->max_streams,
					      .on_tokens_changed = api_tokens_changed,
					      .cls = &api};
	app->events = events_hub_start(&events_opts, &err); /* LISTENs before we serve */
	if (app->events == NULL) {
		fprintf(stderr, "transomd: %s\n", err.detail);
		crypto_sign_key_free(audit_key);
		api_destroy(&api);
		net_guard_free(guard);
		crypto_keyring_free(keyring);
		return 1;
	}
	struct http_server *srv = http_server_start(&opts, api_dispatch, api_done, &api, &err);
	if (srv == NULL) {
		fprintf(stderr, "transomd: %s\n", err.detail);
		crypto_sign_key_free(audit_key);
		events_hub_stop(app->events);
		api_destroy(&api);
		net_guard_free(guard);
		crypto_keyring_free(keyring);
		return 2;
	}
	if (cfg->public_url[0] == '\0') /* the port is known now (TRANSOM_LISTEN may say 0) */
		snprintf(app->public_url, sizeof app->public_url, "http://%s:%u", cfg->listen_host,
			 http_server_port(srv));
	struct timer_worker *timers = timer_worker_start(app, cfg->timer_interval);
	struct replan_worker *replanner = replan_worker_start(app, cfg->timer_interval);
	if (replanner == NULL)
		LOG_ERROR("event=replan_worker_failed detail=\"cannot start the thread\"");
	struct calendar_fetcher *fetcher = calendar_fetcher_start(app);
	if (fetcher == NULL)
		LOG_ERROR("event=calendar_fetcher_failed detail=\"cannot start the thread\"");
	struct webhook_worker *webhooks = webhook_worker_start(app);
	struct mail_worker *mailer = mail_worker_start(app); /* NULL: voting by e-mail off */
	if (mailer == NULL && (cfg->smtp_url[0] || cfg->imap_url[0]))
		LOG_ERROR("event=mail_worker_failed detail=\"cannot start the thread\"");
	if (webhooks == NULL)
		LOG_ERROR("event=webhook_worker_failed detail=\"cannot start the thread\"");
	if (timers == NULL)
		LOG_ERROR("event=timer_worker_failed detail=\"cannot start the thread\"");
	struct checkpoint_worker *checkpoints = NULL;
	if (audit_key != NULL && (checkpoints = checkpoint_worker_start(app, audit_key)) == NULL)
		LOG_ERROR("event=checkpoint_worker_failed detail=\"cannot start the "
			  "thread\"");
	struct silence_worker *silences = silence_worker_start(app); /* NULL: no Alertmanager */
	if (silences == NULL && cfg->alertmanager_url[0] != '\0')
		LOG_ERROR("event=silence_worker_failed detail=\"cannot start the thread\"");
	struct metrics_job *metrics_job = metrics_job_start(app);
	if (metrics_job == NULL)
		LOG_ERROR("event=metrics_job_failed detail=\"cannot start the thread\"");
	LOG_INFO("event=listening host=%s port=%u threads=%u definitions=%s", cfg->listen_host,
		 http_server_port(srv), cfg->threads, defs->version);
	printf("transomd: listening on http://%s:%u\n", cfg->listen_host, http_server_port(srv));
	fflush(stdout);
	main_sd_notify("READY=1");

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			break;
		main_sd_notify("RELOADING=1");
		main_now_rfc3339(now, sizeof now);
		bool ok = defs_holder_reload(&app->defs, cfg->workflows_dir, cfg->policies_dir,
					     cfg->cache_dir, now);
		metrics_reload(app->metrics, ok);
		if (ok) {
			/* What a JWT may do comes from identity.json: the lookups remembered
			 * with the old mapping are forgotten now, not when they time out. */
			app_credentials_changed(app);
			LOG_INFO("event=definitions_reloaded");
		} else {
			bool loaded, last_ok;
			json_t *st_json = defs_holder_status(&app->defs, &loaded, &last_ok);
			const char *e = json_string_value(json_object_get(st_json, "last_error"));
			char line[2048];
			snprintf(line, sizeof line, "%s", e ? e : "");
			for (char *p = line; *p; p++)
				if (*p == '\n' || *p == '"')
					*p = *p == '\n' ? ';' : '\'';
			LOG_ERROR("event=definitions_reload_failed kept=old errors=\"%s\"", line);
			json_decref(st_json);
		}
		main_sd_notify("READY=1");
	}
	if (cfg->drain_seconds > 0) {
		/* Unready first, still serving: the load balancer's health checks see 503 and
		 * move traffic elsewhere before the listener closes.  Another SIGTERM/SIGINT
		 * ends the drain early; SIGHUP is ignored meanwhile. */
		atomic_store(&api.draining, true);
		LOG_INFO("event=draining signal=%d seconds=%u", sig, cfg->drain_seconds);
		struct timespec until, left;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += cfg->drain_seconds;
		for (;;) {
			struct timespec now_ts;
			clock_gettime(CLOCK_MONOTONIC, &now_ts);
			long ns = (until.tv_sec - now_ts.tv_sec) * 1000000000L +
				  (until.tv_nsec - now_ts.tv_nsec);
			if (ns <= 0)
				break;
			left.tv_sec = ns / 1000000000L;
			left.tv_nsec = ns % 1000000000L;
			int got = sigtimedwait(&sigs, NULL, &left);
			if (got == SIGTERM || got == SIGINT)
				break;
		}
	}
	LOG_INFO("event=stopping signal=%d", sig);
	main_sd_notify("STOPPING=1");
	replan_worker_stop(replanner); /* first: it stops between two changes */
	checkpoint_worker_stop(checkpoints);
	metrics_job_stop(metrics_job);
	silence_worker_stop(silences);
	mail_worker_stop(mailer);
	webhook_worker_stop(webhooks);
	calendar_fetcher_stop(fetcher);
	timer_worker_stop(timers);
	unsigned left = http_server_stop(srv, cfg->shutdown_grace);
	if (left > 0)
		LOG_WARN("event=shutdown_cut_short requests_in_flight=%u", left);
	events_hub_stop(app->events); /* after HTTP: its event streams are all closed now */
	api_destroy(&api);
	net_guard_free(guard);
	crypto_keyring_free(keyring);
	LOG_INFO("event=stopped");
	return 0;
}
