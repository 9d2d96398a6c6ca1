/*
 * hub.c -- the event hub: a thread that owns the LISTEN connection, a ring of recent
 * events, and the subscribers it wakes.
 *
 * Subscribers have no queue of their own: each keeps its position in the ring, so a
 * new event costs the hub one append and a wake per interested subscriber, whatever
 * the clients do.  A subscriber whose position falls out of the ring (its client reads
 * too slowly) ends its stream.  One mutex guards the ring and the subscribers; the
 * wake callbacks run under it and must not call back in.
 *
 * NOTIFYs sent while the LISTEN connection is down are lost, but every record event is
 * also kept in the events table (store_events_since): when LISTEN is back, the hub
 * replays what committed after the last event it saw, in commit order, and drops the
 * notifications that repeat it; only when that fails (or is too much for the ring) do
 * its clients get a resync.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "events/events.h"
#include "store/effects.h"
#include "store/listen.h"

#define OUT_FILL_MAX (16 * 1024) /* a subscriber stops gathering events beyond this */

static const char keepalive_frame[] = ": keep-alive\n\n";

struct entry {
	struct events_event ev; /* ev.frame is what subscribers copy */
	bool resync;            /* a resync block: passes every filter */
};

struct events_sub {
	struct events_hub *hub;
	struct events_sub *prev, *next;
	struct events_filter filter;
	unsigned long long next_pos; /* the next ring position to look at */
	bool preamble_sent;          /* the `retry:` line went out */
	bool want_resync;            /* Last-Event-ID was not in the ring */
	bool skip;                   /* ring events up to skip_seq came from the history */
	long long skip_seq;
	bool keepalive_due;
	bool over;       /* end the stream once `out` is drained */
	long long owner; /* the credential it was opened with (events_sub_set_owner); 0 = none */
	char user[EVENTS_USER_MAX]; /* whose credential; "" = none */
	long long ends_mono;        /* when that credential ends (clock_mono_ms); 0 = never */
	void (*wake)(void *cls);
	void *wake_cls;
	char *out; /* bytes gathered but not yet read; freed once read */
	size_t out_len, out_off, out_cap;
};

struct events_hub {
	pthread_mutex_t lock;
	pthread_cond_t listening_cond; /* start waits on it for the first LISTEN */
	pthread_t thread;
	int wake_fd; /* eventfd: the thread looks at `stopping` */
	bool stopping;
	bool listening;
	struct store_listener *listener;      /* used by the hub thread only */
	struct store *replay;                 /* hub thread only: reads the events table */
	long long last_seq;                   /* highest seq published (guarded by lock) */
	long long replayed_lo, replayed_hi;   /* seqs in (lo, hi] were replayed */
	void (*on_tokens_changed)(void *cls); /* immutable after start */
	void *cls;
	struct entry *ring;
	size_t cap, count;
	unsigned long long head; /* positions [head - count, head) are in the ring */
	struct events_sub *subs;
	size_t nsubs, max_subs;
	unsigned keepalive_ms;
};

static struct entry *entry_at(struct events_hub *hub, unsigned long long pos)
{
	return &hub->ring[pos % hub->cap];
}

/* Calls the wake callback of `s` (hub locked). */
static void sub_wake(struct events_sub *s)
{
	if (s->wake != NULL)
		s->wake(s->wake_cls);
}

/* Appends `e` to the ring and wakes whoever wants it (hub locked; takes `e`'s memory). */
static void ring_push(struct events_hub *hub, struct entry *e)
{
	unsigned long long pos = hub->head;
	if (hub->count == hub->cap) { /* the oldest leaves: it sits where the new one goes */
		events_event_clear(&entry_at(hub, pos)->ev);
		hub->count--;
	}
	*entry_at(hub, pos) = *e;
	memset(e, 0, sizeof *e);
	hub->head++;
	hub->count++;
	const struct entry *in = entry_at(hub, pos);
	for (struct events_sub *s = hub->subs; s != NULL; s = s->next) {
		if (in->resync || events_filter_match(&s->filter, &in->ev))
			sub_wake(s);
		else if (s->next_pos == pos)
			s->next_pos = pos + 1; /* caught up and not interested: stay caught up */
	}
}

/* Parses and pushes one payload; a notification a replay already gave is dropped. */
static enum tr_code publish(struct events_hub *hub, const char *payload, bool replayed)
{
	struct entry e = {0};
	struct tr_error err = {0};
	enum tr_code rc = events_event_parse(payload, &e.ev, &err);
	if (rc != TR_OK) {
		LOG_WARN("event=events_dropped reason=\"%s\" field=%s", err.detail,
			 err.field[0] ? err.field : "-");
		return rc;
	}
	LOG_DEBUG("event=events_received type=%s seq=%lld replayed=%d", e.ev.type,
		  e.ev.has_seq ? e.ev.seq : -1LL, replayed);
	pthread_mutex_lock(&hub->lock);
	if (!replayed && e.ev.has_seq && e.ev.seq > hub->replayed_lo &&
	    e.ev.seq <= hub->replayed_hi) {
		pthread_mutex_unlock(&hub->lock);
		events_event_clear(&e.ev);
		return TR_OK;
	}
	if (e.ev.has_seq && e.ev.seq > hub->last_seq)
		hub->last_seq = e.ev.seq;
	ring_push(hub, &e);
	pthread_mutex_unlock(&hub->lock);
	return TR_OK;
}

enum tr_code events_hub_publish(struct events_hub *hub, const char *payload)
{
	return publish(hub, payload, false);
}

/*
 * LISTEN is in force again: publishes the events committed since the last one seen
 * (from the events table), so nothing NOTIFYed meanwhile is lost.  False when they
 * cannot be read or are more than the ring holds: then the clients must resync.
 * At the first LISTEN it only notes where the table stands.
 */
static bool replay_missed(struct events_hub *hub, bool again)
{
	if (hub->replay == NULL)
		return false;
	if (!again) {
		long long seq = 0;
		if (store_events_last_seq(hub->replay, &seq) < 0)
			return false;
		pthread_mutex_lock(&hub->lock);
		if (seq > hub->last_seq)
			hub->last_seq = seq;
		pthread_mutex_unlock(&hub->lock);
		return true;
	}
	pthread_mutex_lock(&hub->lock);
	long long after = hub->last_seq;
	pthread_mutex_unlock(&hub->lock);
	json_t *rows = NULL;
	if (store_events_since(hub->replay, after, (unsigned)hub->cap + 1, &rows, NULL) < 0) {
		LOG_WARN("event=events_replay_failed error=\"%s\"", store_last_error(hub->replay));
		return false;
	}
	size_t n = json_array_size(rows);
	bool ok = n <= hub->cap;
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) {
		if (ok)
			publish(hub, json_string_value(row), true);
	}
	json_decref(rows);
	pthread_mutex_lock(&hub->lock);
	hub->replayed_lo = after; /* their notifications may follow: drop those */
	hub->replayed_hi = hub->last_seq;
	pthread_mutex_unlock(&hub->lock);
	LOG_INFO("event=events_replayed after_seq=%lld count=%zu%s", after, n,
		 ok ? "" : " too_many=1");
	return ok;
}

void events_hub_resync(struct events_hub *hub, const char *reason)
{
	struct entry e = {.resync = true};
	e.ev.frame = events_frame_resync(reason, &e.ev.frame_len);
	if (e.ev.frame == NULL) {
		/* Without memory for the block, ending every stream tells the clients as much. */
		LOG_ERROR("event=events_resync_failed reason=out_of_memory");
		pthread_mutex_lock(&hub->lock);
		for (struct events_sub *s = hub->subs; s != NULL; s = s->next) {
			s->over = true;
			sub_wake(s);
		}
		pthread_mutex_unlock(&hub->lock);
		return;
	}
	snprintf(e.ev.type, sizeof e.ev.type, "resync");
	pthread_mutex_lock(&hub->lock);
	ring_push(hub, &e);
	pthread_mutex_unlock(&hub->lock);
}

/* ---- the thread ------------------------------------------------------------------------- */

static void tokens_changed(struct events_hub *hub)
{
	if (hub->on_tokens_changed != NULL)
		hub->on_tokens_changed(hub->cls);
}

static void on_notify(void *cls, const char *payload)
{
	if (strcmp(payload, EVENTS_TOKENS_CHANGED) == 0)
		tokens_changed(cls);
	else
		events_hub_publish(cls, payload);
}

static void on_listen_event(struct events_hub *hub, enum store_listen_event ev)
{
	switch (ev) {
	case STORE_LISTEN_UP:
	case STORE_LISTEN_UP_AGAIN:
		LOG_INFO("event=events_listening channel=%s again=%d", EVENTS_CHANNEL,
			 ev == STORE_LISTEN_UP_AGAIN);
		pthread_mutex_lock(&hub->lock);
		hub->listening = true;
		pthread_cond_broadcast(&hub->listening_cond);
		pthread_mutex_unlock(&hub->lock);
		if (!replay_missed(hub, ev == STORE_LISTEN_UP_AGAIN) && ev == STORE_LISTEN_UP_AGAIN)
			events_hub_resync(hub, "listener-reconnected");
		if (ev == STORE_LISTEN_UP_AGAIN)
			tokens_changed(hub);
		break;
	case STORE_LISTEN_LOST:
		LOG_WARN("event=events_listen_lost error=\"%s\"",
			 store_listener_error(hub->listener));
		pthread_mutex_lock(&hub->lock);
		hub->listening = false;
		pthread_mutex_unlock(&hub->lock);
		tokens_changed(hub); /* after: the callback may ask events_hub_listening() */
		break;
	case STORE_LISTEN_FAILED:
		LOG_DEBUG("event=events_listen_failed error=\"%s\"",
			  store_listener_error(hub->listener));
		break;
	case STORE_LISTEN_IDLE:
		break;
	}
}

static void keepalive_all(struct events_hub *hub)
{
	pthread_mutex_lock(&hub->lock);
	for (struct events_sub *s = hub->subs; s != NULL; s = s->next) {
		s->keepalive_due = true;
		sub_wake(s);
	}
	pthread_mutex_unlock(&hub->lock);
}

/*
 * Ends the streams whose credential has expired by `now` (a JWT's exp); returns the next
 * such end still to come, or 0 when none.
 */
static long long end_expired(struct events_hub *hub, long long now)
{
	long long next = 0;
	pthread_mutex_lock(&hub->lock);
	for (struct events_sub *s = hub->subs; s != NULL; s = s->next) {
		if (s->ends_mono == 0 || s->over)
			continue;
		if (now >= s->ends_mono) {
			s->over = true;
			sub_wake(s);
		} else if (next == 0 || s->ends_mono < next) {
			next = s->ends_mono;
		}
	}
	pthread_mutex_unlock(&hub->lock);
	return next;
}

static void *hub_main(void *arg)
{
	struct events_hub *hub = arg;
	long long next_keepalive = clock_mono_ms() + hub->keepalive_ms;
	short revents = 0;

	for (;;) {
		long long now = clock_mono_ms();
		if (hub->listener != NULL) {
			enum store_listen_event ev =
				store_listener_run(hub->listener, now, revents, on_notify, hub);
			on_listen_event(hub, ev);
			if (ev == STORE_LISTEN_UP || ev == STORE_LISTEN_UP_AGAIN) /* after resync */
				store_listener_run(hub->listener, now, 0, on_notify, hub);
		}
		revents = 0;
		if (now >= next_keepalive) {
			keepalive_all(hub);
			next_keepalive = now + hub->keepalive_ms;
		}
		long long next_end = end_expired(hub, now);
		pthread_mutex_lock(&hub->lock);
		bool stopping = hub->stopping;
		pthread_mutex_unlock(&hub->lock);
		if (stopping)
			break;

		long long timeout = next_keepalive - now;
		if (next_end != 0 && next_end - now < timeout)
			timeout = next_end - now;
		struct pollfd fds[2] = {{hub->wake_fd, POLLIN, 0}, {-1, 0, 0}};
		nfds_t nfds = 1;
		if (hub->listener != NULL) {
			int lt = store_listener_timeout_ms(hub->listener, now);
			if (lt >= 0 && lt < timeout)
				timeout = lt;
			fds[1].fd = store_listener_pollfd(hub->listener, &fds[1].events);
			if (fds[1].fd >= 0)
				nfds = 2;
		}
		if (poll(fds, nfds, (int)(timeout < 0 ? 0 : timeout)) < 0 && errno != EINTR)
			usleep(10 * 1000);
		if (fds[0].revents & POLLIN) {
			uint64_t v;
			if (read(hub->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
				LOG_DEBUG("event=events_wake_read_failed errno=%d", errno);
		}
		if (nfds == 2)
			revents = fds[1].revents;
	}
	return NULL;
}

/* ---- start and stop --------------------------------------------------------------------- */

static void hub_free(struct events_hub *hub)
{
	for (size_t i = 0; hub->ring != NULL && i < hub->cap; i++)
		events_event_clear(&hub->ring[i].ev);
	free(hub->ring);
	store_listener_free(hub->listener);
	store_free(hub->replay);
	if (hub->wake_fd >= 0)
		close(hub->wake_fd);
	pthread_cond_destroy(&hub->listening_cond);
	pthread_mutex_destroy(&hub->lock);
	free(hub);
}

struct events_hub *events_hub_start(const struct events_hub_opts *opts, struct tr_error *err)
{
	struct events_hub *hub = calloc(1, sizeof *hub);
	if (hub == NULL) {
		tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&hub->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&hub->listening_cond, &ca);
	pthread_condattr_destroy(&ca);
	hub->on_tokens_changed = opts->on_tokens_changed;
	hub->cls = opts->cls;
	hub->cap = opts->ring_size ? opts->ring_size : 1024;
	hub->keepalive_ms = opts->keepalive_ms ? opts->keepalive_ms : 15000;
	hub->max_subs = opts->max_subscribers ? opts->max_subscribers : 256;
	hub->ring = calloc(hub->cap, sizeof *hub->ring);
	hub->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (opts->conninfo != NULL) {
		hub->listener = store_listener_new(opts->conninfo, EVENTS_CHANNEL);
		hub->replay = store_new(opts->conninfo, NULL);
	}
	if (hub->ring == NULL || hub->wake_fd < 0 ||
	    (opts->conninfo != NULL && (hub->listener == NULL || hub->replay == NULL))) {
		tr_error_set(err, TR_E_NOMEM, NULL, "cannot set up the event hub");
		hub_free(hub);
		return NULL;
	}
	if (pthread_create(&hub->thread, NULL, hub_main, hub) != 0) {
		tr_error_set(err, TR_E_INTERNAL, NULL, "cannot start the event hub thread");
		hub_free(hub);
		return NULL;
	}
	if (hub->listener != NULL) {
		unsigned wait_ms = opts->start_wait_ms ? opts->start_wait_ms : 5000;
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&hub->lock);
		while (!hub->listening &&
		       pthread_cond_timedwait(&hub->listening_cond, &hub->lock, &until) == 0)
			;
		bool up = hub->listening;
		pthread_mutex_unlock(&hub->lock);
		if (!up)
			LOG_WARN("event=events_not_listening_yet waited_ms=%u", wait_ms);
	}
	return hub;
}

void events_hub_stop(struct events_hub *hub)
{
	if (hub == NULL)
		return;
	uint64_t one = 1;
	pthread_mutex_lock(&hub->lock);
	hub->stopping = true;
	size_t left = hub->nsubs;
	for (struct events_sub *s = hub->subs; s != NULL; s = s->next) {
		s->over = true;
		sub_wake(s);
	}
	pthread_mutex_unlock(&hub->lock);
	if (write(hub->wake_fd, &one, sizeof one) < 0)
		LOG_DEBUG("event=events_wake_write_failed errno=%d", errno);
	pthread_join(hub->thread, NULL);
	if (left > 0) {
		LOG_ERROR("event=events_hub_leaked subscribers=%zu", left);
		return;
	}
	hub_free(hub);
}

/* ---- subscribers ------------------------------------------------------------------------ */

/* Appends to the subscriber's pending bytes (hub locked).  False when out of memory. */
static bool out_append(struct events_sub *s, const char *data, size_t n)
{
	if (s->out_len + n > s->out_cap) {
		size_t cap = s->out_cap ? s->out_cap : 4096;
		while (cap < s->out_len + n)
			cap *= 2;
		char *p = realloc(s->out, cap);
		if (p == NULL)
			return false;
		s->out = p;
		s->out_cap = cap;
	}
	memcpy(s->out + s->out_len, data, n);
	s->out_len += n;
	return true;
}

enum tr_code events_sub_new(struct events_hub *hub, const struct events_filter *f, bool has_last,
			    long long last_seq, struct events_sub **out, struct tr_error *err)
{
	*out = NULL;
	struct events_sub *s = calloc(1, sizeof *s);
	if (s == NULL)
		return tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
	s->hub = hub;
	s->filter = *f;
	pthread_mutex_lock(&hub->lock);
	if (hub->stopping || hub->nsubs >= hub->max_subs) {
		bool stopping = hub->stopping;
		pthread_mutex_unlock(&hub->lock);
		free(s);
		if (stopping)
			return tr_error_set(err, TR_E_NOT_READY, NULL, "the server is stopping");
		tr_error_set(err, TR_E_NOT_READY, NULL,
			     "this server already serves %zu event streams and long-polls, the "
			     "most it may (TRANSOM_MAX_STREAMS); retry later",
			     hub->max_subs);
		tr_error_rule(err, TR_R_MAX_EVENT_STREAMS);
		return TR_E_NOT_READY;
	}
	s->next_pos = hub->head;
	if (has_last) {
		s->want_resync = true;
		for (unsigned long long p = hub->head; p > hub->head - hub->count; p--) {
			const struct entry *e = entry_at(hub, p - 1);
			if (!e->resync && e->ev.has_seq && e->ev.seq == last_seq) {
				s->next_pos = p;
				s->want_resync = false;
				break;
			}
		}
	}
	s->next = hub->subs;
	if (hub->subs != NULL)
		hub->subs->prev = s;
	hub->subs = s;
	hub->nsubs++;
	pthread_mutex_unlock(&hub->lock);
	*out = s;
	return TR_OK;
}

bool events_sub_wants_history(struct events_sub *s)
{
	pthread_mutex_lock(&s->hub->lock);
	bool want = s->want_resync;
	pthread_mutex_unlock(&s->hub->lock);
	return want;
}

enum tr_code events_sub_history(struct events_sub *s, const char *const *payloads, size_t n)
{
	struct events_hub *hub = s->hub;
	enum tr_code rc = TR_OK;
	pthread_mutex_lock(&hub->lock);
	char retry[32];
	int len = snprintf(retry, sizeof retry, "retry: %d\n\n", EVENTS_RETRY_MS);
	bool ok = s->preamble_sent || out_append(s, retry, (size_t)len);
	s->preamble_sent = ok;
	for (size_t i = 0; ok && i < n; i++) {
		struct events_event ev = {0};
		if (events_event_parse(payloads[i], &ev, NULL) != TR_OK) {
			events_event_clear(&ev);
			continue; /* the live stream dropped it too */
		}
		if (events_filter_match(&s->filter, &ev))
			ok = out_append(s, ev.frame, ev.frame_len);
		if (ev.has_seq && (!s->skip || ev.seq > s->skip_seq)) {
			s->skip = true;
			s->skip_seq = ev.seq;
		}
		events_event_clear(&ev);
	}
	if (ok)
		s->want_resync = false;
	else
		rc = TR_E_NOMEM;
	pthread_mutex_unlock(&hub->lock);
	return rc;
}

void events_sub_start(struct events_sub *s, void (*wake)(void *cls), void *cls)
{
	pthread_mutex_lock(&s->hub->lock);
	s->wake = wake;
	s->wake_cls = cls;
	pthread_mutex_unlock(&s->hub->lock);
}

void events_sub_free(struct events_sub *s)
{
	if (s == NULL)
		return;
	struct events_hub *hub = s->hub;
	pthread_mutex_lock(&hub->lock);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		hub->subs = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	hub->nsubs--;
	pthread_mutex_unlock(&hub->lock);
	free(s->out);
	free(s);
}

void events_sub_set_owner(struct events_sub *s, long long owner, const char *user,
			  long long ends_mono)
{
	uint64_t one = 1;
	pthread_mutex_lock(&s->hub->lock);
	s->owner = owner;
	snprintf(s->user, sizeof s->user, "%s", user ? user : "");
	s->ends_mono = ends_mono;
	pthread_mutex_unlock(&s->hub->lock);
	/* the hub's thread sleeps until what it knew to be next: tell it of this end */
	if (ends_mono != 0 && write(s->hub->wake_fd, &one, sizeof one) < 0)
		LOG_DEBUG("event=events_wake_write_failed errno=%d", errno);
}

size_t events_hub_users(struct events_hub *hub, char (*out)[EVENTS_USER_MAX], size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&hub->lock);
	for (struct events_sub *s = hub->subs; s != NULL && n < max; s = s->next) {
		size_t i = 0;
		while (i < n && strcmp(out[i], s->user) != 0)
			i++;
		if (s->user[0] != '\0' && i == n)
			memcpy(out[n++], s->user, EVENTS_USER_MAX);
	}
	pthread_mutex_unlock(&hub->lock);
	return n;
}

void events_hub_end_user(struct events_hub *hub, const char *user)
{
	pthread_mutex_lock(&hub->lock);
	for (struct events_sub *s = hub->subs; s != NULL; s = s->next)
		if (user[0] != '\0' && strcmp(s->user, user) == 0) {
			s->over = true;
			sub_wake(s);
		}
	pthread_mutex_unlock(&hub->lock);
}

size_t events_hub_owners(struct events_hub *hub, long long *out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&hub->lock);
	for (struct events_sub *s = hub->subs; s != NULL && n < max; s = s->next) {
		size_t i = 0;
		while (i < n && out[i] != s->owner)
			i++;
		if (s->owner != 0 && i == n)
			out[n++] = s->owner;
	}
	pthread_mutex_unlock(&hub->lock);
	return n;
}

void events_hub_end_owner(struct events_hub *hub, long long owner)
{
	pthread_mutex_lock(&hub->lock);
	for (struct events_sub *s = hub->subs; s != NULL; s = s->next)
		if (owner != 0 && s->owner == owner) {
			s->over = true;
			sub_wake(s);
		}
	pthread_mutex_unlock(&hub->lock);
}

bool events_hub_listening(struct events_hub *hub)
{
	pthread_mutex_lock(&hub->lock);
	bool up = hub->listening;
	pthread_mutex_unlock(&hub->lock);
	return up;
}

/* Gathers what is ready for `s` into its pending bytes (hub locked, nothing pending). */
static void sub_fill(struct events_hub *hub, struct events_sub *s)
{
	bool ok = true;
	if (!s->preamble_sent) {
		char retry[32];
		int n = snprintf(retry, sizeof retry, "retry: %d\n\n", EVENTS_RETRY_MS);
		ok = out_append(s, retry, (size_t)n);
		s->preamble_sent = ok;
	}
	if (ok && hub->stopping)
		s->over = true;
	if (ok && !s->over && s->want_resync) {
		size_t n;
		char *frame = events_frame_resync("history-unavailable", &n);
		ok = frame != NULL && out_append(s, frame, n);
		free(frame);
		s->want_resync = !ok;
	}
	if (ok && !s->over && s->next_pos < hub->head - hub->count) {
		LOG_INFO("event=events_subscriber_dropped reason=lagging behind=%llu",
			 hub->head - s->next_pos);
		s->over = true;
	}
	while (ok && !s->over && s->next_pos < hub->head && s->out_len < OUT_FILL_MAX) {
		const struct entry *e = entry_at(hub, s->next_pos);
		if (s->skip && !e->resync && e->ev.has_seq && e->ev.seq <= s->skip_seq)
			; /* already sent from the history */
		else if (e->resync || events_filter_match(&s->filter, &e->ev))
			ok = out_append(s, e->ev.frame, e->ev.frame_len);
		if (ok)
			s->next_pos++;
	}
	if (ok && s->out_len == 0 && s->keepalive_due && !s->over)
		ok = out_append(s, keepalive_frame, sizeof keepalive_frame - 1);
	if (s->out_len > 0)
		s->keepalive_due = false;
	if (!ok) {
		LOG_ERROR("event=events_subscriber_dropped reason=out_of_memory");
		s->over = true;
	}
}

long events_sub_read(struct events_sub *s, char *buf, size_t max)
{
	struct events_hub *hub = s->hub;
	long n;
	pthread_mutex_lock(&hub->lock);
	if (s->out_off == s->out_len) {
		s->out_off = s->out_len = 0;
		sub_fill(hub, s);
	}
	size_t avail = s->out_len - s->out_off;
	if (avail > max)
		avail = max;
	if (avail > 0) {
		memcpy(buf, s->out + s->out_off, avail);
		s->out_off += avail;
	}
	n = avail == 0 && s->over ? EVENTS_SUB_END : (long)avail;
	if (s->out_off == s->out_len) { /* drained: an idle stream keeps no buffer */
		free(s->out);
		s->out = NULL;
		s->out_len = s->out_off = s->out_cap = 0;
	}
	pthread_mutex_unlock(&hub->lock);
	return n;
}
