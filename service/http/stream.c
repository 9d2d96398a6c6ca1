/*
 * stream.c -- streaming replies: a producer's body pulled by libmicrohttpd, parked
 * (suspend/resume) while the producer has nothing, ended at shutdown.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"

void http_stream_unref(struct http_stream *s)
{
	if (atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* The stream is over: unlist it, run `close`, drop the owner's reference. */
void http_stream_finish(struct http_stream *s)
{
	struct http_server *srv = s->srv;
	pthread_mutex_lock(&srv->streams_lock);
	if (s->listed) {
		if (s->prev != NULL)
			s->prev->next = s->next;
		else
			srv->streams = s->next;
		if (s->next != NULL)
			s->next->prev = s->prev;
		s->listed = false;
	}
	pthread_mutex_unlock(&srv->streams_lock);
	pthread_mutex_lock(&s->lock);
	s->closed = true;
	s->suspended = false;
	pthread_mutex_unlock(&s->lock);
	/* Not under our lock: `close` takes the caller's, which wakes take before ours. */
	if (s->ops.close != NULL)
		s->ops.close(s->cls);
	http_stream_unref(s);
}

struct http_stream *http_reply_stream(struct http_reply *rep, const struct http_req *req,
				      int status, const char *content_type,
				      const struct http_stream_ops *ops, void *cls)
{
	struct http_transport *t = req->transport;
	struct http_stream *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	atomic_init(&s->refs, 1);
	s->srv = t->srv;
	s->conn = t->conn;
	s->ops = *ops;
	s->cls = cls;
	if (rep->stream != NULL)
		http_stream_finish(rep->stream);
	http_reply_body_drop(rep);
	rep->status = status;
	rep->content_type = content_type;
	rep->stream = s;

	struct http_server *srv = t->srv;
	pthread_mutex_lock(&srv->streams_lock);
	s->ending = srv->stopping;
	s->next = srv->streams;
	if (srv->streams != NULL)
		srv->streams->prev = s;
	srv->streams = s;
	s->listed = true;
	pthread_mutex_unlock(&srv->streams_lock);
	return s;
}

/* Resumes `s` if the reader parked it (s->lock held). */
void http_stream_resume_locked(struct http_stream *s)
{
	if (s->suspended && !s->closed) {
		s->suspended = false;
		MHD_resume_connection(s->conn);
	}
}

void http_stream_wake(struct http_stream *s)
{
	pthread_mutex_lock(&s->lock);
	s->woken = true;
	http_stream_resume_locked(s);
	pthread_mutex_unlock(&s->lock);
}

/*
 * The MHD content reader of a streaming reply.  Returning 0 without suspending would
 * make libmicrohttpd call again at once (a busy loop on a pool thread), so "nothing
 * yet" always parks the connection first; libmicrohttpd allows suspending from here.
 */
ssize_t http_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_stream *s = cls;
	(void)pos;
	for (;;) {
		pthread_mutex_lock(&s->lock);
		bool ending = s->ending;
		s->woken = false;
		pthread_mutex_unlock(&s->lock);
		if (ending)
			return MHD_CONTENT_READER_END_OF_STREAM;
		long n = s->ops.pull(s->cls, buf, max);
		if (n == HTTP_STREAM_END)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (n > 0)
			return (ssize_t)((size_t)n > max ? max : (size_t)n);
		pthread_mutex_lock(&s->lock);
		if (!s->woken && !s->ending) {
			MHD_suspend_connection(s->conn);
			s->suspended = true;
			pthread_mutex_unlock(&s->lock);
			return 0;
		}
		pthread_mutex_unlock(&s->lock); /* woken while pulling: look again */
	}
}

void http_stream_response_free(void *cls)
{
	http_stream_unref(cls);
}
