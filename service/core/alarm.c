/*
 * alarm.c -- the alarm clock of alarm.h: a list sorted by time, one thread.
 */
#include "core/alarm.h"

#include "core/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct alarm {
	unsigned long id;
	long long when_ms;
	void (*fn)(void *cls);
	void *cls;
	struct alarm *next;
};

struct alarm_clock {
	pthread_t thread;
	pthread_mutex_t lock; /* guards everything below; held while an fn runs */
	pthread_cond_t wake;
	struct alarm *head; /* sorted by when_ms, then id */
	unsigned long next_id;
	bool stop;
};

static long long now_ms(void)
{
	return clock_now_ms();
}

static void *run(void *cls)
{
	struct alarm_clock *c = cls;
	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		if (c->head == NULL) {
			pthread_cond_wait(&c->wake, &c->lock);
			continue;
		}
		long long now = now_ms();
		if (c->head->when_ms > now) {
			/* Sleep on the real clock for the time left; when the clock may jump
			 * (core/clock.h), look again every 100 ms. */
			long long left = c->head->when_ms - now;
			if (clock_is_offset() && left > 100)
				left = 100;
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			long long at =
				(long long)until.tv_sec * 1000 + until.tv_nsec / 1000000 + left;
			until.tv_sec = (time_t)(at / 1000);
			until.tv_nsec = (long)(at % 1000) * 1000000L;
			pthread_cond_timedwait(&c->wake, &c->lock, &until);
			continue;
		}
		struct alarm *a = c->head;
		c->head = a->next;
		a->fn(a->cls); /* under the lock: alarm_cancel waits for it */
		free(a);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

struct alarm_clock *alarm_clock_start(void)
{
	struct alarm_clock *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	c->next_id = 1;
	if (pthread_create(&c->thread, NULL, run, c) != 0) {
		pthread_mutex_destroy(&c->lock);
		pthread_cond_destroy(&c->wake);
		free(c);
		return NULL;
	}
	return c;
}

void alarm_clock_stop(struct alarm_clock *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	while (c->head != NULL) {
		struct alarm *a = c->head;
		c->head = a->next;
		free(a);
	}
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->wake);
	free(c);
}

unsigned long alarm_set(struct alarm_clock *c, long long when_ms, void (*fn)(void *cls), void *cls)
{
	struct alarm *a = malloc(sizeof *a);
	if (a == NULL)
		return 0;
	*a = (struct alarm){.when_ms = when_ms, .fn = fn, .cls = cls};
	pthread_mutex_lock(&c->lock);
	unsigned long id = a->id = c->next_id++;
	struct alarm **p = &c->head;
	while (*p != NULL && (*p)->when_ms <= when_ms)
		p = &(*p)->next;
	a->next = *p;
	*p = a;
	if (c->head == a)
		pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	return id; /* not a->id: it may have fired and been freed already */
}

void alarm_cancel(struct alarm_clock *c, unsigned long id)
{
	if (id == 0)
		return;
	pthread_mutex_lock(&c->lock);
	for (struct alarm **p = &c->head; *p != NULL; p = &(*p)->next)
		if ((*p)->id == id) {
			struct alarm *a = *p;
			*p = a->next;
			free(a);
			break;
		}
	pthread_mutex_unlock(&c->lock);
}
