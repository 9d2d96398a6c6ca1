/*
 * system.c -- /readyz's database check: one at a time, on a thread of its own with its
 * own connection and short timeouts (see system.h).
 */
#include "app/system.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "app/app.h"
#include "store/store.h"

/* Guarded by check_lock. */
struct app_db_check {
	pthread_mutex_t check_lock;
	pthread_cond_t check_cond;
	struct store *check_store;
	bool check_running;          /* a check thread is out */
	unsigned long check_started; /* checks started */
	unsigned long check_done;    /* the number of the last check finished */
	int check_result;            /* its enum db_status */
	char check_why[256];         /* why it was not DB_ONE */
};

struct app_db_check *app_db_check_new(const struct config *cfg)
{
	struct app_db_check *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->check_store = store_new(cfg->database_url, NULL);
	if (c->check_store == NULL) {
		free(c);
		return NULL;
	}
	store_set_timeouts(c->check_store, READY_CHECK_MS, READY_CHECK_MS / 2);
	pthread_mutex_init(&c->check_lock, NULL);
	pthread_cond_init(&c->check_cond, NULL);
	return c;
}

void app_db_check_free(struct app_db_check *c)
{
	if (c == NULL)
		return;
	/* A check thread still out (the database stalled) owns the check store: wait a
	 * little for it, else leave the store (and the lock) to it. */
	pthread_mutex_lock(&c->check_lock);
	for (int i = 0; i < 20 && c->check_running; i++) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&c->check_cond, &c->check_lock, &ts);
	}
	bool running = c->check_running;
	pthread_mutex_unlock(&c->check_lock);
	if (!running) {
		store_free(c->check_store);
		pthread_cond_destroy(&c->check_cond);
		pthread_mutex_destroy(&c->check_lock);
		free(c);
	}
}

/* One database check, on its own thread: the result goes to c->check_*. */
static void *check_main(void *arg)
{
	struct app_db_check *c = arg;
	enum db_status s = store_check_writable(c->check_store);
	pthread_mutex_lock(&c->check_lock);
	c->check_result = s;
	snprintf(c->check_why, sizeof c->check_why, "%s",
		 s == DB_NONE ? store_last_error(c->check_store)
			      : "the database cannot be reached or did not answer in time");
	c->check_done = c->check_started;
	c->check_running = false;
	pthread_cond_broadcast(&c->check_cond);
	pthread_mutex_unlock(&c->check_lock);
	return NULL;
}

bool app_database_ready(struct app *app, char *why, size_t len)
{
	struct app_db_check *c = app->db_check;
	pthread_mutex_lock(&c->check_lock);
	if (!c->check_running) {
		pthread_t t;
		c->check_running = true;
		c->check_started++;
		if (pthread_create(&t, NULL, check_main, c) == 0)
			pthread_detach(t);
		else
			c->check_running = false;
	}
	unsigned long want = c->check_started;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += READY_WAIT_MS / 1000;
	while (c->check_done < want && c->check_running &&
	       pthread_cond_timedwait(&c->check_cond, &c->check_lock, &until) == 0)
		;
	enum db_status s = DB_DOWN;
	if (c->check_done >= want) {
		s = c->check_result;
		snprintf(why, len, "%s", c->check_why);
	} else {
		snprintf(why, len, "the database did not answer within %d ms", READY_WAIT_MS);
	}
	pthread_mutex_unlock(&c->check_lock);
	return s == DB_ONE;
}
