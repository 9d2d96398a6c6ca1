/*
 * serve.c -- `transomd serve` and `transomd migrate`: the daemon's life cycle.
 *
 * Start-up: connect and migrate (waiting a little for a database that is starting),
 * load definitions, start HTTP, announce the URL on stdout.  Then the main thread waits
 * for signals: SIGHUP reloads definitions, SIGTERM/SIGINT stop gracefully.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "api/api.h"
#include "core/log.h"
#include "events/events.h"
#include "jobs/jobs.h"
#include "main/main.h"

/* Connects and migrates, retrying for up to `seconds` while the server starts. */
static int migrate_with_wait(struct store *st, unsigned seconds)
{
	for (unsigned waited = 0;; waited++) {
		enum db_status s = store_migrate(st);
		if (s >= 0)
			return 0;
		if (s != DB_DOWN || waited >= seconds * 2) {
			LOG_ERROR("event=migrate_failed error=\"%s\"", store_last_error(st));
			fprintf(stderr, "transomd: cannot migrate the database: %s\n",
				store_last_error(st));
			return -1;
		}
		usleep(500 * 1000);
	}
}

int cmd_migrate(const struct config *cfg)
{
	struct store *st = store_new(cfg->database_url, NULL);
	if (st == NULL)
		return 1;
	int rc = migrate_with_wait(st, 10);
	if (rc == 0)
		printf("schema version %d\n", store_schema_version(st));
	store_free(st);
	return rc == 0 ? 0 : 1;
}

int cmd_serve(const struct config *cfg)
{
	struct app app;
	char now[32], *errors = NULL;
	sigset_t sigs;
	int sig;

	/* Signals are taken by sigwait() below; block them before any thread starts. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct store *st = store_new(cfg->database_url, NULL);
	if (st == NULL || migrate_with_wait(st, 15) != 0) {
		store_free(st);
		return 1;
	}
	store_free(st);

	main_now_rfc3339(now, sizeof now);
	struct defs *defs =
		defs_load(cfg->workflows_dir, cfg->policies_dir, cfg->cache_dir, now, &errors);
	if (defs == NULL) {
		fprintf(stderr, "transomd: invalid definitions:\n%s", errors ? errors : "");
		free(errors);
		return 1;
	}
	if (api_app_init(&app, cfg, defs) != 0) {
		defs_release(defs);
		return 1;
	}
	struct http_server_opts opts = {cfg->listen_host,  cfg->listen_port, cfg->threads,
					cfg->conn_timeout, cfg->max_body,    cfg->max_url};
	struct tr_error err = {0};
	struct events_hub_opts events_opts = {.conninfo = cfg->database_url,
					      .on_tokens_changed = api_tokens_changed,
					      .cls = &app};
	app.events = events_hub_start(&events_opts, &err); /* LISTENs before we serve */
	if (app.events == NULL) {
		fprintf(stderr, "transomd: %s\n", err.detail);
		api_app_destroy(&app);
		return 1;
	}
	struct http_server *srv = http_server_start(&opts, api_dispatch, api_done, &app, &err);
	if (srv == NULL) {
		fprintf(stderr, "transomd: %s\n", err.detail);
		events_hub_stop(app.events);
		api_app_destroy(&app);
		return 2;
	}
	if (cfg->public_url[0] == '\0') /* the port is known now (TRANSOM_LISTEN may say 0) */
		snprintf(app.public_url, sizeof app.public_url, "http://%s:%u", cfg->listen_host,
			 http_server_port(srv));
	struct timer_worker *timers = timer_worker_start(&app, cfg->timer_interval);
	struct replan_worker *replanner = replan_worker_start(&app, cfg->timer_interval);
	if (replanner == NULL)
		LOG_ERROR("event=replan_worker_failed detail=\"cannot start the thread\"");
	struct calendar_fetcher *fetcher = calendar_fetcher_start(&app);
	if (fetcher == NULL)
		LOG_ERROR("event=calendar_fetcher_failed detail=\"cannot start the thread\"");
	struct webhook_worker *webhooks = webhook_worker_start(&app);
	struct mail_worker *mailer = mail_worker_start(&app); /* NULL: voting by e-mail off */
	if (mailer == NULL && (cfg->smtp_url[0] || cfg->imap_url[0]))
		LOG_ERROR("event=mail_worker_failed detail=\"cannot start the thread\"");
	if (webhooks == NULL)
		LOG_ERROR("event=webhook_worker_failed detail=\"cannot start the thread\"");
	if (timers == NULL)
		LOG_ERROR("event=timer_worker_failed detail=\"cannot start the thread\"");
	LOG_INFO("event=listening host=%s port=%u threads=%u definitions=%s", cfg->listen_host,
		 http_server_port(srv), cfg->threads, defs->version);
	printf("transomd: listening on http://%s:%u\n", cfg->listen_host, http_server_port(srv));
	fflush(stdout);

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			break;
		main_now_rfc3339(now, sizeof now);
		bool ok = defs_holder_reload(&app.defs, cfg->workflows_dir, cfg->policies_dir,
					     cfg->cache_dir, now);
		metrics_reload(app.metrics, ok);
		if (ok) {
			LOG_INFO("event=definitions_reloaded");
		} else {
			bool loaded, last_ok;
			json_t *st_json = defs_holder_status(&app.defs, &loaded, &last_ok);
			const char *e = json_string_value(json_object_get(st_json, "last_error"));
			char line[2048];
			snprintf(line, sizeof line, "%s", e ? e : "");
			for (char *p = line; *p; p++)
				if (*p == '\n' || *p == '"')
					*p = *p == '\n' ? ';' : '\'';
			LOG_ERROR("event=definitions_reload_failed kept=old errors=\"%s\"", line);
			json_decref(st_json);
		}
	}
	LOG_INFO("event=stopping signal=%d", sig);
	replan_worker_stop(replanner); /* first: it stops between two changes */
	mail_worker_stop(mailer);
	webhook_worker_stop(webhooks);
	calendar_fetcher_stop(fetcher);
	timer_worker_stop(timers);
	unsigned left = http_server_stop(srv, cfg->shutdown_grace);
	if (left > 0)
		LOG_WARN("event=shutdown_cut_short requests_in_flight=%u", left);
	events_hub_stop(app.events); /* after HTTP: its event streams are all closed now */
	api_app_destroy(&app);
	LOG_INFO("event=stopped");
	return 0;
}
