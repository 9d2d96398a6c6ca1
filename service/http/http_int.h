/*
 * http_int.h -- what http.c (the server) and stream.c (streaming replies) share: the
 * server, connection and stream structs.  Private to http/.
 */
#ifndef TRANSOM_HTTP_INT_H
#define TRANSOM_HTTP_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "http/http.h"

struct http_server {
	struct MHD_Daemon *daemon;
	struct http_server_opts opts;
	http_dispatch_fn dispatch;
	http_done_fn done;
	void *cls;
	unsigned port;
	atomic_uint in_flight;
	pthread_mutex_t streams_lock; /* guards `streams` and `stopping` */
	struct http_stream *streams;  /* streaming replies not yet over */
	bool stopping;                /* http_server_stop has begun: end streams at once */

	/* Request workers: a request that may wait on the database is handed to one, its
	 * connection suspended meanwhile, so the transport threads stay free to accept and
	 * answer quick requests (liveness, metrics) whatever the database does. */
	pthread_t *workers;
	unsigned nworkers;
	pthread_mutex_t queue_lock; /* guards the queue and `queue_stop` */
	pthread_cond_t queue_cond;
	struct http_transport *queue_head, *queue_tail;
	bool queue_stop;

	/* Connections still owing a request head, for the header deadline (watch_lock). */
	pthread_mutex_t watch_lock;
	struct conn_watch *watched;
	pthread_t sweeper;
	bool sweeper_started, sweeper_stop;
	pthread_cond_t sweeper_cond;
};

/*
 * One open connection, from libmicrohttpd's connect notice to its close notice (which
 * comes before the socket is closed, so `fd` is never a reused descriptor under
 * watch_lock).  While no request is being handled the client must finish sending the
 * next request head by `deadline_ms`, or the socket is shut down.
 */
struct conn_watch {
	struct conn_watch *prev, *next;
	int fd;
	bool in_request; /* a request head has arrived and its reply is not over */
	bool cut;        /* shut down by the sweeper */
	long long deadline_ms;
};

/*
 * A streaming reply.  Referenced by the transport (until the request completes) and by
 * the MHD response (until libmicrohttpd frees it); freed when both let go.
 *
 * Parking: the content reader calls MHD_suspend_connection and sets `suspended` under
 * `lock`; a wake resumes only a connection it sees `suspended`, under the same lock, so
 * MHD_resume_connection never meets a connection that is not suspended, and a wake that
 * comes while the reader runs is not lost (`woken`).  Lock order: the caller's locks,
 * then srv->streams_lock, then `lock`, then libmicrohttpd's own.
 */
struct http_stream {
	pthread_mutex_t lock;
	struct http_server *srv;
	struct MHD_Connection *conn;
	struct http_stream_ops ops;
	void *cls;
	struct http_stream *prev, *next; /* in srv->streams */
	bool listed;
	bool suspended; /* parked by the reader; only a wake resumes it */
	bool woken;     /* a wake came since the reader last pulled */
	bool ending;    /* the server is stopping: end the body */
	bool closed;    /* ops.close has run */
	atomic_uint refs;
};

/* Per-request transport state; owns the request and the reply. */
struct http_transport {
	struct http_req req;
	struct http_reply rep;
	struct http_server *srv;
	struct MHD_Connection *conn;
	struct http_stream *stream; /* a streaming reply being sent (owned reference) */
	struct timespec start;
	char *buf;
	size_t len, cap;
	struct http_transport *queue_next; /* in srv's worker queue */
	bool handed;       /* given to a worker; the connection is suspended until it is done */
	atomic_bool done;  /* the worker has filled the reply */
	bool too_large;    /* the body passed max_body: discard the rest, answer 413 */
	bool uri_too_long; /* answer 414 */
	bool answered;     /* a response was queued */
};

/* The stream is over: unlisted, ops.close run, the owner's reference dropped. */
void http_stream_finish(struct http_stream *s);
/* Drops one reference to `s`; the last frees it. */
void http_stream_unref(struct http_stream *s);
/* Resumes `s` if its reader parked it (s->lock held). */
void http_stream_resume_locked(struct http_stream *s);
/* libmicrohttpd's content reader and free callback of a streaming response. */
ssize_t http_stream_read(void *cls, uint64_t pos, char *buf, size_t max);
void http_stream_response_free(void *cls);

/* Drops the body of `rep` (freed, or released to its owner) and empties it. */
void http_reply_body_drop(struct http_reply *rep);

#endif /* TRANSOM_HTTP_INT_H */
