/*
 * stream_quota.c -- per-user budgets of open event streams and long-polls (see the header).
 *
 * The holders are a small array searched linearly: a replica holds at most a few hundred
 * streams, so at most that many users hold any.
 */
#include "api/stream_quota.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth/roles.h"

struct holder {
	char *user; /* owned; NULL = free slot */
	unsigned held;
};

struct stream_quota {
	pthread_mutex_t lock;
	unsigned per_user, per_privileged, shared_max;
	unsigned shared_held; /* streams of ordinary users */
	struct holder *holders;
	size_t n, cap;
};

static bool privileged(unsigned roles)
{
	return (roles & (ROLE_ADMIN | ROLE_PIPELINE)) != 0;
}

struct stream_quota *stream_quota_new(unsigned per_user, unsigned per_privileged, unsigned total,
				      unsigned reserved)
{
	struct stream_quota *q = calloc(1, sizeof *q);
	if (q == NULL)
		return NULL;
	pthread_mutex_init(&q->lock, NULL);
	q->per_user = per_user;
	q->per_privileged = per_privileged;
	q->shared_max = total > reserved ? total - reserved : 0;
	return q;
}

void stream_quota_free(struct stream_quota *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < q->n; i++)
		free(q->holders[i].user);
	free(q->holders);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

/* The holder of `user`, or NULL.  Under the lock. */
static struct holder *find(struct stream_quota *q, const char *user)
{
	for (size_t i = 0; i < q->n; i++)
		if (q->holders[i].user != NULL && strcmp(q->holders[i].user, user) == 0)
			return &q->holders[i];
	return NULL;
}

/* A holder for `user`, made when missing; NULL when out of memory.  Under the lock. */
static struct holder *find_or_add(struct stream_quota *q, const char *user)
{
	struct holder *h = find(q, user);
	if (h != NULL)
		return h;
	for (size_t i = 0; i < q->n && h == NULL; i++)
		if (q->holders[i].user == NULL)
			h = &q->holders[i];
	if (h == NULL) {
		if (q->n == q->cap) {
			size_t cap = q->cap ? q->cap * 2 : 16;
			struct holder *p = realloc(q->holders, cap * sizeof *p);
			if (p == NULL)
				return NULL;
			q->holders = p;
			q->cap = cap;
		}
		h = &q->holders[q->n++];
		h->user = NULL;
	}
	h->user = strdup(user);
	h->held = 0;
	return h->user != NULL ? h : NULL;
}

enum stream_quota_refusal stream_quota_take(struct stream_quota *q, const char *user,
					    unsigned roles, unsigned *limit)
{
	*limit = 0;
	if (q == NULL)
		return STREAM_QUOTA_OK;
	bool priv = privileged(roles);
	enum stream_quota_refusal why = STREAM_QUOTA_OK;
	pthread_mutex_lock(&q->lock);
	struct holder *h = find_or_add(q, user);
	unsigned budget = priv ? q->per_privileged : q->per_user;
	if (h == NULL) {
		why = STREAM_QUOTA_NOMEM;
	} else if (h->held >= budget) {
		why = STREAM_QUOTA_USER;
		*limit = budget;
	} else if (!priv && q->shared_held >= q->shared_max) {
		why = STREAM_QUOTA_SHARED;
		*limit = q->shared_max;
	} else {
		h->held++;
		if (!priv)
			q->shared_held++;
	}
	if (h != NULL && h->held == 0) { /* refused a user holding nothing: forget it */
		free(h->user);
		h->user = NULL;
	}
	pthread_mutex_unlock(&q->lock);
	return why;
}

void stream_quota_give(struct stream_quota *q, const char *user, unsigned roles)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	struct holder *h = find(q, user);
	if (h != NULL && h->held > 0) {
		h->held--;
		if (!privileged(roles) && q->shared_held > 0)
			q->shared_held--;
		if (h->held == 0) {
			free(h->user);
			h->user = NULL;
		}
	}
	pthread_mutex_unlock(&q->lock);
}

unsigned stream_quota_held(struct stream_quota *q, const char *user)
{
	if (q == NULL)
		return 0;
	pthread_mutex_lock(&q->lock);
	struct holder *h = find(q, user);
	unsigned n = h != NULL ? h->held : 0;
	pthread_mutex_unlock(&q->lock);
	return n;
}
