/*
 * worker.c -- the sweeping thread of worker.h.
 */
#include "jobs/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "core/clock.h"
#include "core/memory.h"
#include "crypto/crypto.h"

struct worker {
	unsigned interval_ms;
	bool (*sweep)(struct worker *self, void *cls);
	void *cls;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop; /* guarded by lock */
};

static void *run(void *arg)
{
	struct worker *w = arg;
	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		pthread_mutex_unlock(&w->lock);
		bool again = w->sweep(w, w->cls);
		mem_trim_own_arena();
		pthread_mutex_lock(&w->lock);
		if (again)
			continue;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += w->interval_ms / 1000;
		until.tv_nsec += (long)(w->interval_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!w->stop && pthread_cond_timedwait(&w->wake, &w->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

bool worker_stopping(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	bool stop = w->stop;
	pthread_mutex_unlock(&w->lock);
	return stop;
}

struct worker *worker_start(unsigned interval_ms, bool (*sweep)(struct worker *self, void *cls),
			    void *cls)
{
	struct worker *w = calloc(1, sizeof *w);
	if (w == NULL)
		return NULL;
	w->interval_ms = interval_ms;
	w->sweep = sweep;
	w->cls = cls;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	if (pthread_create(&w->thread, NULL, run, w) != 0) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->wake);
		free(w);
		return NULL;
	}
	return w;
}

void worker_stop(struct worker *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->wake);
	free(w);
}

long long jobs_backoff_ms(unsigned base_ms, int attempt)
{
	const long long hour = 3600LL * 1000;
	long long cap = hour > base_ms ? hour : base_ms;
	long long step = base_ms;
	for (int i = 1; i < attempt && step < cap; i++)
		step *= 2;
	if (step > cap)
		step = cap;
	uint32_t r = 0;
	if (!crypto_random(&r, sizeof r))
		r = (uint32_t)clock_mono_ms();
	long long half = step / 2;
	return step - half + (long long)(r % (uint32_t)(half + 1));
}
