/*
 * listen.h -- one dedicated PostgreSQL connection that LISTENs on a channel.
 *
 * NOTIFY reaches every listening connection on commit, so each transomd replica keeps
 * one of these to learn what the others (and it itself) changed.  The listener never
 * blocks: it connects asynchronously, exposes its socket for the caller's poll(), and
 * is advanced by store_listener_run() when the socket is ready or a timer is due.
 * When the database goes away it reconnects by itself with a growing delay
 * (100 ms doubling to 2 s) and LISTENs again; the caller is told, because
 * notifications sent while it was away are lost.
 *
 * Threads: a listener belongs to one thread at a time.
 */
#ifndef TRANSOM_STORE_LISTEN_H
#define TRANSOM_STORE_LISTEN_H

#include <stdbool.h>

/* What a call to store_listener_run() saw happen. */
enum store_listen_event {
	STORE_LISTEN_IDLE,     /* nothing changed (notifications may have been delivered) */
	STORE_LISTEN_UP,       /* LISTEN is in force for the first time */
	STORE_LISTEN_UP_AGAIN, /* in force again after a loss: notifications may be missed */
	STORE_LISTEN_LOST,     /* a working connection was lost; reconnecting */
	STORE_LISTEN_FAILED,   /* an attempt to connect failed; retrying after a delay */
};

/* Receives one notification's payload (borrowed, NUL-terminated; "" when none). */
typedef void (*store_notify_fn)(void *cls, const char *payload);

struct store_listener;

/*
 * Creates a listener for `channel` on the database `conninfo` (both copied).  Does not
 * connect yet.  Returns NULL when out of memory or when `channel` is not a plain
 * lower-case identifier of at most 63 characters.
 */
struct store_listener *store_listener_new(const char *conninfo, const char *channel);

/* Closes the connection and frees `l`; NULL is a no-op. */
void store_listener_free(struct store_listener *l);

/*
 * The socket to wait on and the poll() events to wait for (POLLIN and/or POLLOUT), or
 * -1 when there is no socket (down, waiting for the next attempt).  The socket may
 * change from call to call while connecting: ask again before every poll().
 */
int store_listener_pollfd(const struct store_listener *l, short *events);

/*
 * Milliseconds the caller may wait (at monotonic time `now_ms`) before it must call
 * store_listener_run() even without socket activity: the next connection attempt or
 * the deadline of the current one.  -1 when only socket activity matters.
 */
int store_listener_timeout_ms(const struct store_listener *l, long long now_ms);

/*
 * Advances the listener at monotonic time `now_ms`; `revents` are the poll() results
 * for the socket of store_listener_pollfd() (0 when it was not ready or not polled).
 * Starts a connection attempt when one is due, finishes one in progress, and when
 * listening reads what arrived and calls `fn` once per notification on the channel,
 * in the order PostgreSQL sent them.  Never blocks.  Returns what happened.
 */
enum store_listen_event store_listener_run(struct store_listener *l, long long now_ms,
					   short revents, store_notify_fn fn, void *cls);

/* True while LISTEN is in force. */
bool store_listener_up(const struct store_listener *l);

/* Why the last attempt failed or the connection was lost (borrowed; "" when none). */
const char *store_listener_error(const struct store_listener *l);

#endif /* TRANSOM_STORE_LISTEN_H */
