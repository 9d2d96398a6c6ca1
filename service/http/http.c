/*
 * http.c -- libmicrohttpd transport: limits, request ids, bodies, replies, the request
 * workers, the header deadline, shutdown.  Streaming replies are in stream.c.
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/memory.h"
#include "core/utf8.h"
#include "crypto/crypto.h"
#include "http/http_int.h"

/*
 * libmicrohttpd's memory pool of a connection holds the request line, the headers and
 * the reply's head (and a streamed body's next chunk); it is allocated whole for each
 * connection, and zeroed whole between the requests of a keep-alive connection, so its
 * size is what every open connection and stream costs.  TRANSOM_MAX_URL plus this room
 * for the headers; a head that does not fit is refused by libmicrohttpd (431 or 414).
 */
#define HTTP_HEAD_ROOM (16 * 1024)
/* The buffer of a streamed reply for HTTP/1.0 clients (HTTP/1.1 chunks use the pool):
 * events are small, and each stream has one. */
#define HTTP_STREAM_BLOCK 2048

/* ---- request accessors ------------------------------------------------------------------ */

const char *http_req_header(const struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->transport->conn, MHD_HEADER_KIND, name);
}

const char *http_req_cookie(const struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->transport->conn, MHD_COOKIE_KIND, name);
}

const char *http_req_query(const struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->transport->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct text_check {
	struct tr_error *err;
	bool ok;
};

static enum MHD_Result check_value(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct text_check *c = cls;
	bool header = kind == MHD_HEADER_KIND;
	if (utf8_text_ok(key, strlen(key), false) &&
	    (value == NULL || utf8_text_ok(value, strlen(value), header)))
		return MHD_YES;
	bool key_ok = utf8_text_ok(key, strlen(key), false);
	tr_error_set(c->err, header ? TR_E_BAD_REQUEST : TR_E_BAD_PARAMETER,
		     key_ok ? key : (header ? "header" : "query"),
		     "the %s %s%s is not valid UTF-8 text (or holds control characters)",
		     header ? "header" : "query parameter", key_ok ? key : "name",
		     key_ok ? "" : "");
	tr_error_rule(c->err, TR_R_UTF8);
	c->ok = false;
	return MHD_NO;
}

bool http_req_text_ok(const struct http_req *req, struct tr_error *err)
{
	struct text_check c = {err, true};
	if (!utf8_text_ok(req->path, strlen(req->path), false)) {
		tr_error_set(err, TR_E_BAD_REQUEST, "path",
			     "the path is not valid UTF-8 text (or holds control characters)");
		tr_error_rule(err, TR_R_UTF8);
		return false;
	}
	MHD_get_connection_values(req->transport->conn, MHD_GET_ARGUMENT_KIND, check_value, &c);
	if (c.ok)
		MHD_get_connection_values(req->transport->conn, MHD_HEADER_KIND, check_value, &c);
	return c.ok;
}

void http_req_peer(const struct http_req *req, char *out, size_t outlen)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(req->transport->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	out[0] = '\0';
	if (ci == NULL || ci->client_addr == NULL)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
			  (socklen_t)outlen);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  out, (socklen_t)outlen);
}

/* ---- replies ---------------------------------------------------------------------------- */

void http_reply_body_drop(struct http_reply *rep)
{
	if (rep->body_release != NULL)
		rep->body_release(rep->body_owner);
	else
		free(rep->body);
	rep->body = NULL;
	rep->body_len = 0;
	rep->body_release = NULL;
	rep->body_owner = NULL;
}

void http_reply_clear(struct http_reply *rep)
{
	if (rep->stream != NULL)
		http_stream_finish(rep->stream);
	http_reply_body_drop(rep);
	for (unsigned i = 0; i < rep->nheaders; i++)
		free(rep->headers[i].value);
	memset(rep, 0, sizeof *rep);
}

enum tr_code http_reply_text(struct http_reply *rep, int status, const char *content_type,
			     const char *text, size_t len)
{
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return TR_E_NOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (rep->stream != NULL)
		http_stream_finish(rep->stream);
	rep->stream = NULL;
	http_reply_body_drop(rep);
	rep->body = copy;
	rep->body_len = len;
	rep->status = status;
	rep->content_type = content_type;
	return TR_OK;
}

enum tr_code http_reply_shared(struct http_reply *rep, int status, const char *content_type,
			       const char *text, size_t len, void (*release)(void *owner),
			       void *owner)
{
	if (rep->stream != NULL)
		http_stream_finish(rep->stream);
	rep->stream = NULL;
	http_reply_body_drop(rep);
	rep->body = (char *)text; /* never written: queue_reply hands it to MHD as is */
	rep->body_len = len;
	rep->body_release = release;
	rep->body_owner = owner;
	rep->status = status;
	rep->content_type = content_type;
	return TR_OK;
}

enum tr_code http_reply_json(struct http_reply *rep, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(body);
	if (text == NULL)
		return TR_E_NOMEM;
	if (rep->stream != NULL)
		http_stream_finish(rep->stream);
	rep->stream = NULL;
	http_reply_body_drop(rep);
	rep->body = text;
	rep->body_len = strlen(text);
	rep->status = status;
	rep->content_type = "application/json";
	return TR_OK;
}

enum tr_code http_reply_header(struct http_reply *rep, const char *name, const char *value)
{
	if (rep->nheaders >= HTTP_MAX_REPLY_HEADERS)
		return TR_E_INTERNAL;
	char *v = strdup(value);
	if (v == NULL)
		return TR_E_NOMEM;
	rep->headers[rep->nheaders].name = name;
	rep->headers[rep->nheaders].value = v;
	rep->nheaders++;
	return TR_OK;
}

/* ---- connection watch: the request-head deadline ------------------------------------------ */

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct http_server *srv = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct conn_watch *w = calloc(1, sizeof *w);
		if (w == NULL || ci == NULL) {
			free(w);
			*socket_context = NULL;
			return;
		}
		w->fd = ci->connect_fd;
		w->deadline_ms = mono_ms() + (long long)srv->opts.header_timeout * 1000;
		pthread_mutex_lock(&srv->watch_lock);
		w->next = srv->watched;
		if (srv->watched != NULL)
			srv->watched->prev = w;
		srv->watched = w;
		pthread_mutex_unlock(&srv->watch_lock);
		*socket_context = w;
		return;
	}
	struct conn_watch *w = *socket_context;
	if (w == NULL)
		return;
	pthread_mutex_lock(&srv->watch_lock);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		srv->watched = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&srv->watch_lock);
	free(w);
	*socket_context = NULL;
}

/* Marks the connection of `conn` as handling a request (or, `busy` false, as owing the
 * next head from now). */
static void watch_request(struct http_server *srv, struct MHD_Connection *conn, bool busy)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn_watch *w = ci != NULL ? ci->socket_context : NULL;
	if (w == NULL)
		return;
	pthread_mutex_lock(&srv->watch_lock);
	w->in_request = busy;
	if (!busy)
		w->deadline_ms = mono_ms() + (long long)srv->opts.header_timeout * 1000;
	pthread_mutex_unlock(&srv->watch_lock);
}

/* Twice a second: shuts down the sockets of clients too slow to send a request head;
 * libmicrohttpd then sees the end of the stream and closes the connection. */
static void *sweeper_main(void *arg)
{
	struct http_server *srv = arg;
	pthread_mutex_lock(&srv->watch_lock);
	while (!srv->sweeper_stop) {
		long long now = mono_ms();
		unsigned cut = 0;
		for (struct conn_watch *w = srv->watched; w != NULL; w = w->next) {
			if (!w->in_request && !w->cut && now > w->deadline_ms) {
				shutdown(w->fd, SHUT_RDWR);
				w->cut = true;
				cut++;
			}
		}
		if (cut > 0)
			LOG_DEBUG("event=header_timeout connections=%u", cut);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 500 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&srv->sweeper_cond, &srv->watch_lock, &ts);
	}
	pthread_mutex_unlock(&srv->watch_lock);
	return NULL;
}

/* ---- request workers ------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct http_server *srv = arg;
	for (;;) {
		pthread_mutex_lock(&srv->queue_lock);
		while (srv->queue_head == NULL && !srv->queue_stop)
			pthread_cond_wait(&srv->queue_cond, &srv->queue_lock);
		if (srv->queue_stop) {
			pthread_mutex_unlock(&srv->queue_lock);
			return NULL;
		}
		struct http_transport *t = srv->queue_head;
		srv->queue_head = t->queue_next;
		if (srv->queue_head == NULL)
			srv->queue_tail = NULL;
		pthread_mutex_unlock(&srv->queue_lock);
		srv->dispatch(srv->cls, &t->req, &t->rep);
		mem_trim_own_arena();
		atomic_store(&t->done, true);
		MHD_resume_connection(t->conn); /* on_request is called again: it answers */
	}
}

/*
 * Suspends the connection of `t` and queues it for a worker.  Returns false, doing
 * nothing, once the server is stopping (the workers are gone: answer at once).
 */
static bool queue_push(struct http_server *srv, struct http_transport *t)
{
	pthread_mutex_lock(&srv->queue_lock);
	if (srv->queue_stop) {
		pthread_mutex_unlock(&srv->queue_lock);
		return false;
	}
	t->handed = true;
	MHD_suspend_connection(t->conn);
	t->queue_next = NULL;
	if (srv->queue_tail != NULL)
		srv->queue_tail->queue_next = t;
	else
		srv->queue_head = t;
	srv->queue_tail = t;
	pthread_cond_signal(&srv->queue_cond);
	pthread_mutex_unlock(&srv->queue_lock);
	return true;
}

/* ---- the MHD callbacks ------------------------------------------------------------------ */

static bool request_id_ok(const char *s)
{
	size_t n = 0;
	for (; s[n] != '\0'; n++) {
		char c = s[n];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
		if (!ok || n >= HTTP_REQUEST_ID_MAX - 1)
			return false;
	}
	return n > 0;
}

static enum MHD_Result count_query(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	size_t *n = cls;
	(void)kind;
	*n += strlen(key) + (value ? strlen(value) : 0) + 2;
	return MHD_YES;
}

static struct http_transport *transport_new(struct http_server *srv, struct MHD_Connection *conn,
					    const char *url, const char *method)
{
	struct http_transport *t = calloc(1, sizeof *t);
	if (t == NULL)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &t->start);
	t->srv = srv;
	t->conn = conn;
	t->req.transport = t;
	t->req.app = srv->cls;
	t->req.method_name = method;
	t->req.method = http_method_parse(method);
	t->req.path = url;
	t->req.body = "";

	const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
	if (rid != NULL && request_id_ok(rid))
		snprintf(t->req.request_id, sizeof t->req.request_id, "%s", rid);
	else if (!crypto_id("", 12, t->req.request_id, sizeof t->req.request_id))
		snprintf(t->req.request_id, sizeof t->req.request_id, "%p", (void *)t);

	size_t urilen = strlen(url);
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, count_query, &urilen);
	t->uri_too_long = urilen > srv->opts.max_url;

	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
	if (cl != NULL && strtoull(cl, NULL, 10) > srv->opts.max_body)
		t->too_large = true;
	return t;
}

static bool body_append(struct http_transport *t, const char *data, size_t n)
{
	if (t->too_large || t->len + n > t->srv->opts.max_body) {
		t->too_large = true;
		return true;
	}
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *nb = realloc(t->buf, cap);
		if (nb == NULL)
			return false;
		t->buf = nb;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, data, n);
	t->len += n;
	t->buf[t->len] = '\0';
	return true;
}

static enum MHD_Result queue_reply(struct http_transport *t)
{
	struct http_reply *rep = &t->rep;
	struct MHD_Response *r;

	if (rep->status == 0) {
		struct tr_error e;
		tr_error_set(&e, TR_E_INTERNAL, NULL, "the handler produced no reply");
		http_reply_problem(rep, &t->req, &e, NULL);
	}
	if (rep->stream != NULL) {
		/* The transport takes the reply's reference; the response gets its own. */
		t->stream = rep->stream;
		rep->stream = NULL;
		atomic_fetch_add(&t->stream->refs, 1);
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, HTTP_STREAM_BLOCK,
						      http_stream_read, t->stream,
						      http_stream_response_free);
		if (r == NULL)
			http_stream_unref(t->stream);
	} else if (rep->body != NULL && rep->body_release != NULL) {
		/* A shared body: its owner's release once libmicrohttpd is done with it. */
		r = MHD_create_response_from_buffer_with_free_callback_cls(
			rep->body_len, rep->body, rep->body_release, rep->body_owner);
		if (r != NULL) {
			rep->body = NULL;
			rep->body_release = NULL;
			rep->body_owner = NULL;
		}
	} else if (rep->body != NULL) {
		/* libmicrohttpd takes the body (and frees it once sent): a big reply waiting
		 * for a slow client is held once, not twice. */
		r = MHD_create_response_from_buffer(rep->body_len, rep->body,
						    MHD_RESPMEM_MUST_FREE);
		if (r != NULL)
			rep->body = NULL;
	} else {
		r = MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
	}
	if (r == NULL)
		return MHD_NO;
	if (rep->content_type != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type);
	MHD_add_response_header(r, "X-Request-Id", t->req.request_id);
	for (unsigned i = 0; i < rep->nheaders; i++)
		MHD_add_response_header(r, rep->headers[i].name, rep->headers[i].value);
	enum MHD_Result ret = MHD_queue_response(t->conn, (unsigned)rep->status, r);
	MHD_destroy_response(r);
	t->answered = true;
	return ret;
}

/* Answers 413 or 414 from the transport, before any dispatch. */
static enum MHD_Result answer_limit(struct http_transport *t, enum tr_code code)
{
	struct tr_error e;
	bool body = code == TR_E_BODY_TOO_LARGE;
	tr_error_set(&e, code, NULL, "the request %s is longer than %zu bytes",
		     body ? "body" : "URI", body ? t->srv->opts.max_body : t->srv->opts.max_url);
	tr_error_rule(&e, body ? TR_R_MAX_BODY : TR_R_MAX_URL);
	http_reply_problem(&t->rep, &t->req, &e, NULL);
	return queue_reply(t);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct http_transport *t = *con_cls;
	(void)version;

	if (t == NULL) {
		mem_trim_own_arena(); /* libmicrohttpd's threads, between requests */
		t = transport_new(srv, conn, url, method);
		if (t == NULL)
			return MHD_NO;
		*con_cls = t;
		atomic_fetch_add(&srv->in_flight, 1);
		watch_request(srv, conn, true);
		/* Refuse before reading a body we would throw away. */
		if (t->uri_too_long)
			return answer_limit(t, TR_E_URI_TOO_LONG);
		if (t->too_large)
			return answer_limit(t, TR_E_BODY_TOO_LARGE);
		return MHD_YES;
	}
	if (t->answered) {
		*upload_data_size = 0; /* drain whatever the client still sends */
		return MHD_YES;
	}
	if (t->handed) /* resumed: the worker's reply is ready (or the server is stopping) */
		return atomic_load(&t->done) ? queue_reply(t) : MHD_YES;
	if (*upload_data_size > 0) {
		if (!body_append(t, upload_data, *upload_data_size))
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (t->too_large)
		return answer_limit(t, TR_E_BODY_TOO_LARGE);
	if (t->buf != NULL) {
		t->req.body = t->buf;
		t->req.body_len = t->len;
	}
	if (srv->nworkers == 0 ||
	    (srv->opts.is_quick != NULL && srv->opts.is_quick(srv->cls, &t->req))) {
		srv->dispatch(srv->cls, &t->req, &t->rep);
		return queue_reply(t);
	}
	if (srv->opts.run_inline != NULL && srv->opts.run_inline(srv->cls, &t->req, &t->rep))
		return queue_reply(t);
	assert(t->rep.status == 0 && t->rep.body == NULL && t->rep.nheaders == 0);
	if (queue_push(srv, t))
		return MHD_YES;
	struct tr_error e;
	tr_error_set(&e, TR_E_NOT_READY, NULL, "the server is shutting down; retry");
	http_reply_problem(&t->rep, &t->req, &e, NULL);
	return queue_reply(t);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct http_transport *t = *con_cls;
	(void)toe;
	if (t == NULL)
		return;
	if (t->stream != NULL) /* before the log line: the stream is over now */
		http_stream_finish(t->stream);
	watch_request(srv, conn, false);
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	double secs = (double)(end.tv_sec - t->start.tv_sec) +
		      (double)(end.tv_nsec - t->start.tv_nsec) / 1e9;
	if (srv->done != NULL)
		srv->done(srv->cls, &t->req, &t->rep, secs);
	json_decref(t->req.json);
	http_reply_clear(&t->rep);
	free(t->buf);
	free(t);
	*con_cls = NULL;
	atomic_fetch_sub(&srv->in_flight, 1);
}

/* libmicrohttpd's own messages: its format strings, at debug level. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	LOG_DEBUG("event=http_transport msg=\"%s\"", msg);
}

/* ---- the server ------------------------------------------------------------------------- */

static void server_free(struct http_server *srv)
{
	pthread_mutex_destroy(&srv->streams_lock);
	pthread_mutex_destroy(&srv->queue_lock);
	pthread_cond_destroy(&srv->queue_cond);
	pthread_mutex_destroy(&srv->watch_lock);
	pthread_cond_destroy(&srv->sweeper_cond);
	free(srv->workers);
	free(srv);
}

struct http_server *http_server_start(const struct http_server_opts *opts,
				      http_dispatch_fn dispatch, http_done_fn done, void *cls,
				      struct tr_error *err)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	char port[16];
	struct http_server *srv;

	snprintf(port, sizeof port, "%u", opts->port);
	if (getaddrinfo(opts->host, port, &hints, &ai) != 0 || ai == NULL) {
		tr_error_set(err, TR_E_CONFIG, "TRANSOM_LISTEN", "cannot resolve '%s'", opts->host);
		return NULL;
	}
	srv = calloc(1, sizeof *srv);
	if (srv == NULL) {
		freeaddrinfo(ai);
		tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
		return NULL;
	}
	srv->opts = *opts;
	pthread_mutex_init(&srv->streams_lock, NULL);
	pthread_mutex_init(&srv->queue_lock, NULL);
	pthread_cond_init(&srv->queue_cond, NULL);
	pthread_mutex_init(&srv->watch_lock, NULL);
	pthread_cond_init(&srv->sweeper_cond, NULL);
	srv->dispatch = dispatch;
	srv->done = done;
	srv->cls = cls;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC |
			 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	srv->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)HTTP_TRANSPORT_THREADS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)opts->conn_timeout,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)opts->max_conns,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)opts->max_conns_per_ip,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(opts->max_url + HTTP_HEAD_ROOM),
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_EXTERNAL_LOGGER,
		on_mhd_log, NULL, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (srv->daemon == NULL) {
		tr_error_set(err, TR_E_CONFIG, "TRANSOM_LISTEN", "cannot listen on %s:%u",
			     opts->host, opts->port);
		server_free(srv);
		return NULL;
	}
	srv->workers = calloc(opts->threads ? opts->threads : 1, sizeof *srv->workers);
	for (unsigned i = 0; srv->workers != NULL && i < opts->threads; i++)
		if (pthread_create(&srv->workers[i], NULL, worker_main, srv) == 0)
			srv->nworkers++;
	if (pthread_create(&srv->sweeper, NULL, sweeper_main, srv) == 0)
		srv->sweeper_started = true;
	if (srv->nworkers == 0 || !srv->sweeper_started)
		LOG_ERROR("event=http_threads_failed workers=%u sweeper=%d", srv->nworkers,
			  srv->sweeper_started);
	const union MHD_DaemonInfo *di =
		MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	srv->port = di != NULL ? di->port : opts->port;
	return srv;
}

unsigned http_server_port(const struct http_server *srv)
{
	return srv->port;
}

unsigned http_server_stop(struct http_server *srv, unsigned grace_seconds)
{
	MHD_socket fd = MHD_quiesce_daemon(srv->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	/* End every stream: a parked one is resumed and its reader ends the body.  None can
	 * park again (and MHD_stop_daemon must not meet a suspended connection). */
	pthread_mutex_lock(&srv->streams_lock);
	srv->stopping = true;
	for (struct http_stream *s = srv->streams; s != NULL; s = s->next) {
		pthread_mutex_lock(&s->lock);
		s->ending = true;
		http_stream_resume_locked(s);
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_unlock(&srv->streams_lock);
	/* Let requests in flight finish, bounded by the grace period. */
	for (unsigned waited = 0; atomic_load(&srv->in_flight) > 0 && waited < grace_seconds * 20;
	     waited++)
		usleep(50 * 1000);
	unsigned left = atomic_load(&srv->in_flight);
	/* The workers finish the request in hand; one still queued is answered 503 and its
	 * connection resumed (libmicrohttpd must not be stopped with one suspended). */
	pthread_mutex_lock(&srv->queue_lock);
	srv->queue_stop = true;
	pthread_cond_broadcast(&srv->queue_cond);
	pthread_mutex_unlock(&srv->queue_lock);
	for (unsigned i = 0; i < srv->nworkers; i++)
		pthread_join(srv->workers[i], NULL);
	pthread_mutex_lock(&srv->queue_lock); /* no push comes after queue_stop */
	struct http_transport *left_queued = srv->queue_head;
	srv->queue_head = srv->queue_tail = NULL;
	pthread_mutex_unlock(&srv->queue_lock);
	for (struct http_transport *t = left_queued, *next; t != NULL; t = next) {
		next = t->queue_next;
		struct tr_error e;
		tr_error_set(&e, TR_E_NOT_READY, NULL, "the server is shutting down; retry");
		http_reply_problem(&t->rep, &t->req, &e, NULL);
		atomic_store(&t->done, true);
		MHD_resume_connection(t->conn);
	}
	if (srv->sweeper_started) {
		pthread_mutex_lock(&srv->watch_lock);
		srv->sweeper_stop = true;
		pthread_cond_signal(&srv->sweeper_cond);
		pthread_mutex_unlock(&srv->watch_lock);
		pthread_join(srv->sweeper, NULL);
	}
	MHD_stop_daemon(srv->daemon);
	server_free(srv);
	return left;
}
