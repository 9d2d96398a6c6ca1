/*
 * metrics_job.c -- the metrics job: reads the database figures of /metrics on its own
 * connection and publishes a snapshot (see jobs.h).
 */
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "app/ops_stats.h"
#include "core/clock.h"
#include "jobs/jobs.h"
#include "jobs/worker.h"
#include "metrics/metrics.h"

struct metrics_job {
	struct app *app;
	struct app_session *session; /* owned */
	struct worker *thread;
};

static bool collect(struct worker *self, void *cls)
{
	struct metrics_job *j = cls;
	(void)self;
	long long now_ms = clock_wall_ms();
	json_t *stats = app_ops_stats(j->session, now_ms);
	metrics_publish_db(j->app->metrics, stats, (double)now_ms / 1000.0);
	json_decref(stats);
	return false;
}

struct metrics_job *metrics_job_start(struct app *app)
{
	struct metrics_job *j = calloc(1, sizeof *j);
	if (j == NULL)
		return NULL;
	j->app = app;
	if ((j->session = app_session_new(app, APP_SESSION_TIMEOUTS)) == NULL)
		goto fail;
	if ((j->thread = worker_start(app->cfg->metrics_interval * 1000u, collect, j)) == NULL) {
		goto fail;
	}
	return j;
fail:
	app_session_free(j->session);
	free(j);
	return NULL;
}

void metrics_job_stop(struct metrics_job *j)
{
	if (j == NULL)
		return;
	worker_stop(j->thread);
	app_session_free(j->session);
	free(j);
}
