/*
 * session.c -- sessions: a database connection and a definitions snapshot per thread or
 * job (see session.h).
 */
#include "app/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/records.h"
#include "core/clock.h"
#include "core/timeutil.h"
#include "store/store.h"

static void on_db_error(void *cls)
{
	metrics_db_error(((struct app *)cls)->metrics);
}

static void on_db_reconnect(void *cls)
{
	metrics_db_reconnect(((struct app *)cls)->metrics);
}

struct app_session *app_session_new(struct app *app, unsigned flags)
{
	struct app_session *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	struct store_hooks hooks = {on_db_error, on_db_reconnect, app};
	s->app = app;
	s->store = store_new(app->cfg->database_url, (flags & APP_SESSION_HOOKS) ? &hooks : NULL);
	if (s->store == NULL) {
		free(s);
		return NULL;
	}
	if (flags & APP_SESSION_SHORT) {
		store_set_timeouts(s->store, APP_SHORT_STATEMENT_MS, APP_SHORT_LOCK_MS);
		store_set_autoconnect(s->store, false);
	} else if (flags & APP_SESSION_TIMEOUTS) {
		store_set_timeouts(s->store, app->cfg->statement_ms, app->cfg->lock_ms);
	}
	return s;
}

bool app_session_connect(struct app_session *s)
{
	return store_connect(s->store);
}

bool app_session_connected(const struct app_session *s)
{
	return store_connected(s->store);
}

bool app_session_commit_unknown(struct app_session *s)
{
	return store_commit_unknown(s->store);
}

void app_session_free(struct app_session *s)
{
	if (s == NULL)
		return;
	store_free(s->store);
	defs_release(s->defs);
	free(s);
}

static void session_free_cb(void *p)
{
	app_session_free(p);
}

int app_sessions_init(struct app *app)
{
	return pthread_key_create(&app->session_key, session_free_cb) == 0 ? 0 : -1;
}

void app_sessions_destroy(struct app *app)
{
	app_session_free(pthread_getspecific(app->session_key));
	pthread_setspecific(app->session_key, NULL);
	pthread_key_delete(app->session_key);
}

struct app_session *app_worker_get(struct app *app)
{
	struct app_session *s = pthread_getspecific(app->session_key);
	if (s != NULL)
		return s;
	s = app_session_new(app, APP_SESSION_TIMEOUTS | APP_SESSION_HOOKS);
	if (s != NULL && pthread_setspecific(app->session_key, s) != 0) {
		app_session_free(s);
		return NULL;
	}
	return s;
}

struct defs *app_session_defs(struct app_session *s)
{
	return defs_holder_get(&s->app->defs, &s->defs, &s->defs_gen);
}

enum tr_code app_session_error(struct app_session *s, int status, const char *request_id,
			       struct tr_error *err)
{
	return store_error(s->store, (enum db_status)status, request_id, err);
}

const char *app_session_last_error(const struct app_session *s)
{
	return store_last_error(s->store);
}

enum tr_code app_session_context(struct app_session *s, const char *actor, unsigned roles,
				 const char *request_id, struct rec_ctx *c, struct tr_error *err)
{
	*c = (struct rec_ctx){
		.st = s->store,
		.defs = app_session_defs(s),
		.actor = actor,
		.roles = roles,
		.request_id = request_id,
		.now_ms = clock_now_ms(),
		.retries = s->app->cfg->db_retries,
	};
	if (c->defs == NULL)
		return tr_error_set(err, TR_E_NOT_READY, NULL, "no definitions are loaded");
	return TR_OK;
}

bool app_time_arg(const char *name, const char *v, long long *ms, struct tr_error *err)
{
	char buf[40];
	if (v == NULL)
		return true;
	if (strlen(v) == 10) {
		snprintf(buf, sizeof buf, "%sT00:00:00Z", v);
		v = buf;
	}
	if (!time_parse_rfc3339(v, ms)) {
		tr_error_set(err, TR_E_BAD_PARAMETER, name,
			     "'%s' must be an RFC 3339 time or a date (2026-12-05)", name);
		return false;
	}
	return true;
}
