/*
 * calendars.c -- the remote calendar fetcher: keeps the last good copy of every remote
 * calendar of policies/calendars.json on disk and reloads the definitions when one changed.
 *
 * Each remote is fetched when its refresh interval has passed (conditionally: ETag and
 * Last-Modified, through the net module's cache), checked with the calendar parser, and
 * only then written, atomically, to <cache_dir>/calendars/<name>.ics where defs_load()
 * reads it.  A failed fetch or a calendar that does not parse keeps the last good copy;
 * it shows in app->remote (/readyz, /metrics) and in the log, and never stops the service.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app/app.h"
#include "app/calendars.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "jobs/jobs.h"
#include "jobs/worker.h"
#include "net/net.h"

/* How often the thread looks whether a remote is due (each has its own refresh). */
#define TICK_MS 1000

struct remote_state {
	char name[64];
	long long next_ms; /* when to fetch next */
};

struct calendar_fetcher {
	struct app *app;
	struct worker *thread;
	struct remote_state *st;
	size_t n_st;
};

/* The state of remote `name`, created on first sight.  NULL when out of memory. */
static struct remote_state *state_of(struct calendar_fetcher *f, const char *name)
{
	for (size_t i = 0; i < f->n_st; i++)
		if (strcmp(f->st[i].name, name) == 0)
			return &f->st[i];
	struct remote_state *n = realloc(f->st, (f->n_st + 1) * sizeof *n);
	if (n == NULL)
		return NULL;
	f->st = n;
	n = &f->st[f->n_st++];
	snprintf(n->name, sizeof n->name, "%s", name);
	n->next_ms = 0;
	return n;
}

/* Records the outcome of one remote in app->remote. */
static void publish(struct app *app, const struct calendars_remote *r, bool ok, bool cached,
		    const char *error, long long now, long long fetched_ms)
{
	char at[TIME_RFC3339_LEN];
	time_format_ms(now, at);
	pthread_mutex_lock(&app->remote_lock);
	json_t *entry = NULL;
	size_t i;
	json_t *v;
	json_array_foreach(app->remote, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "name")) ?: "", r->name) == 0)
			entry = v;
	}
	if (entry == NULL) {
		entry = json_pack("{s:s, s:I}", "name", r->name, "last_success_ms", (json_int_t)0);
		json_array_append_new(app->remote, entry);
	}
	json_object_set_new(entry, "url", json_string(r->url));
	json_object_set_new(entry, "ok", json_boolean(ok));
	json_object_set_new(entry, "cached", json_boolean(cached));
	json_object_set_new(entry, "last_attempt", json_string(at));
	if (ok)
		json_object_set_new(entry, "last_success_ms", json_integer(fetched_ms));
	json_object_set_new(entry, "error", ok ? json_null() : json_string(error));
	pthread_mutex_unlock(&app->remote_lock);
}

/* Writes `len` bytes to `path` atomically.  0, or -1 with errno. */
static int write_atomic(const char *path, const char *data, size_t len)
{
	char tmp[2200];
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	FILE *fp = fopen(tmp, "wb");
	if (fp == NULL)
		return -1;
	bool ok = fwrite(data, 1, len, fp) == len && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
	ok = fclose(fp) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

/* Whether the file at `path` holds exactly `len` bytes equal to `data`. */
static bool same_content(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return false;
	char *buf = malloc(len + 1);
	size_t got = buf ? fread(buf, 1, len + 1, fp) : 0;
	fclose(fp);
	bool same = buf != NULL && got == len && memcmp(buf, data, len) == 0;
	free(buf);
	return same;
}

/* How one fetch went, to publish once the definitions hold its result. */
struct outcome {
	struct calendars_remote remote;
	bool ok, cached;
	char error[512];
	long long fetched_ms;
};

/*
 * Fetches remote `r` of definitions `d` into *out; returns true when its copy on disk
 * changed (a reload is due).  Runs on the fetcher thread only.
 */
static bool fetch_one(struct calendar_fetcher *f, const struct defs *d,
		      const struct calendars_remote *r, long long now, struct outcome *out)
{
	const struct config *cfg = f->app->cfg;
	char http_cache[1100], dir[1100], path[1300];
	char *error = out->error;
	size_t error_size = sizeof out->error;
	error[0] = '\0';
	snprintf(http_cache, sizeof http_cache, "%s/http", cfg->cache_dir);
	snprintf(dir, sizeof dir, "%s/calendars", cfg->cache_dir);
	snprintf(path, sizeof path, "%s/%s.ics", dir, r->name);
	mkdir(cfg->cache_dir, 0700);
	mkdir(dir, 0700);

	struct net_fetch_opts o = {
		.url = r->url,
		.cache_dir = http_cache,
		.timeout_ms = r->timeout_ms,
		.guard = f->app->guard,
	};
	struct net_fetch_result res = {0};
	int rc = net_fetch(&o, &res);
	bool changed = false, ok = rc == 0 && res.body != NULL;
	if (rc != 0)
		snprintf(error, error_size, "%s", res.error);
	if (ok) {
		/* Only a calendar that parses replaces the last good copy. */
		if (!calendars_remote_usable(d, r, res.body, res.len, error, error_size)) {
			ok = false;
		} else if (!same_content(path, res.body, res.len)) {
			if (write_atomic(path, res.body, res.len) != 0) {
				snprintf(error, error_size, "cannot write %.300s: %s", path,
					 strerror(errno));
				ok = false;
			} else {
				changed = true;
			}
		}
	}
	bool cached = access(path, R_OK) == 0;
	if (ok)
		LOG_INFO("event=remote_calendar_fetched name=%s status=%d changed=%d", r->name,
			 res.http_status, changed);
	else
		LOG_WARN("event=remote_calendar_failed name=%s kept_last_good=%d error=\"%s\"",
			 r->name, cached, error);
	out->remote = *r;
	out->ok = ok;
	out->cached = cached;
	out->fetched_ms = res.fetched_ms ? res.fetched_ms : now;
	net_fetch_result_clear(&res);
	return changed;
}

/*
 * Fetches every remote that is due; reloads the definitions when a copy changed, then
 * publishes the outcomes, so a status that says ok describes the definitions in force.
 */
static void sweep(struct calendar_fetcher *f)
{
	struct defs *d = NULL;
	unsigned long gen = 0;
	bool changed = false;
	long long now = clock_now_ms();

	d = defs_holder_get(&f->app->defs, &d, &gen);
	size_t n_remote = calendars_remote_count(d), n = 0;
	struct outcome *done = n_remote ? calloc(n_remote, sizeof *done) : NULL;
	for (size_t i = 0; done != NULL && i < n_remote; i++) {
		struct calendars_remote r;
		calendars_remote_at(d, i, &r);
		struct remote_state *st = state_of(f, r.name);
		if (st == NULL || st->next_ms > now)
			continue;
		changed = fetch_one(f, d, &r, now, &done[n++]) || changed;
		st->next_ms = now + r.refresh_s * 1000LL;
	}
	if (changed) {
		const struct config *cfg = f->app->cfg;
		char at[TIME_RFC3339_LEN];
		time_format_ms(now, at);
		bool ok = defs_holder_reload(&f->app->defs, cfg->workflows_dir, cfg->policies_dir,
					     cfg->cache_dir, at);
		metrics_reload(f->app->metrics, ok);
		if (ok)
			LOG_INFO("event=definitions_reloaded cause=remote_calendar");
		else
			LOG_ERROR("event=definitions_reload_failed cause=remote_calendar kept=old");
	}
	for (size_t i = 0; i < n; i++)
		publish(f->app, &done[i].remote, done[i].ok, done[i].cached, done[i].error, now,
			done[i].fetched_ms);
	free(done);
	defs_release(d);
}

static bool sweep_cb(struct worker *self, void *cls)
{
	(void)self;
	sweep(cls);
	return false;
}

struct calendar_fetcher *calendar_fetcher_start(struct app *app)
{
	struct calendar_fetcher *f = calloc(1, sizeof *f);
	if (f == NULL)
		return NULL;
	f->app = app;
	if ((f->thread = worker_start(TICK_MS, sweep_cb, f)) == NULL) {
		free(f);
		return NULL;
	}
	return f;
}

void calendar_fetcher_stop(struct calendar_fetcher *f)
{
	if (f == NULL)
		return;
	worker_stop(f->thread);
	free(f->st);
	free(f);
}
