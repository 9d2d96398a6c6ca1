/*
 * app.c -- the process context: set up and torn down once per transomd.
 */
#include "app/app.h"

#include <stdio.h>
#include <string.h>

#include "app/feed_cache.h"
#include "app/identity.h"
#include "app/session.h"
#include "app/system.h"
#include "core/alarm.h"

int app_init(struct app *app, const struct config *cfg, struct defs *initial,
	     const char *const *routes, size_t nroutes)
{
	memset(app, 0, sizeof *app);
	app->cfg = cfg;
	app->metrics = metrics_new(routes, nroutes);
	app->feed_cache = feed_cache_new();
	app->db_check = app_db_check_new(cfg);
	bool id_oom = false;
	app->identity = identity_new(app, &id_oom);
	if (app->metrics == NULL || app->feed_cache == NULL || app->db_check == NULL || id_oom ||
	    app_sessions_init(app) != 0) {
		metrics_free(app->metrics);
		feed_cache_free(app->feed_cache);
		app_db_check_free(app->db_check);
		identity_free(app->identity);
		return -1;
	}
	atomic_init(&app->token_gen, 1); /* memos start at 0: all stale */
	defs_holder_init(&app->defs, initial);
	pthread_mutex_init(&app->remote_lock, NULL);
	app->remote = json_array();
	app->alarms = alarm_clock_start(); /* NULL: long-polls answer at once */
	if (cfg->public_url[0] != '\0')
		snprintf(app->public_url, sizeof app->public_url, "%s", cfg->public_url);
	else
		snprintf(app->public_url, sizeof app->public_url, "http://%s:%u", cfg->listen_host,
			 cfg->listen_port);
	return 0;
}

void app_destroy(struct app *app)
{
	app_sessions_destroy(app);
	defs_holder_destroy(&app->defs);
	metrics_free(app->metrics);
	json_decref(app->remote);
	pthread_mutex_destroy(&app->remote_lock);
	alarm_clock_stop(app->alarms);
	feed_cache_free(app->feed_cache);
	app->feed_cache = NULL;
	app_db_check_free(app->db_check);
	app->db_check = NULL;
	identity_free(app->identity);
	app->identity = NULL;
}

json_t *app_remote_status(struct app *app)
{
	pthread_mutex_lock(&app->remote_lock);
	json_t *copy = json_deep_copy(app->remote);
	pthread_mutex_unlock(&app->remote_lock);
	return copy ? copy : json_array();
}
