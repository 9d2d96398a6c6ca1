/*
 * metrics_job.c -- the metrics job: reads the database figures of /metrics on its own
 * connection and publishes a snapshot (see jobs.h).
 */
#include <stdlib.h>

#include "api/api.h"
#include "core/clock.h"
#include "core/log.h"
#include "jobs/jobs.h"
#include "jobs/worker.h"
#include "metrics/metrics.h"
#include "store/ops_stats.h"

struct metrics_job {
	struct app *app;
	struct store *store; /* owned */
	struct worker *thread;
};

static bool collect(struct worker *self, void *cls)
{
	struct metrics_job *j = cls;
	json_t *stats = NULL;
	(void)self;
	enum db_status s = store_ops_stats(j->store, &stats);
	if (s != DB_ONE)
		LOG_WARN("event=metrics_collect_failed error=\"%s\"", store_last_error(j->store));
	metrics_publish_db(j->app->metrics, stats, (double)clock_wall_ms() / 1000.0);
	json_decref(stats);
	return false;
}

struct metrics_job *metrics_job_start(struct app *app)
{
	struct metrics_job *j = calloc(1, sizeof *j);
	if (j == NULL)
		return NULL;
	j->app = app;
	if ((j->store = store_new(app->cfg->database_url, NULL)) == NULL)
		goto fail;
	store_set_timeouts(j->store, app->cfg->statement_ms, app->cfg->lock_ms);
	if ((j->thread = worker_start(app->cfg->metrics_interval * 1000u, collect, j)) == NULL) {
		goto fail;
	}
	return j;
fail:
	store_free(j->store);
	free(j);
	return NULL;
}

void metrics_job_stop(struct metrics_job *j)
{
	if (j == NULL)
		return;
	worker_stop(j->thread);
	store_free(j->store);
	free(j);
}
