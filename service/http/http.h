/*
 * http.h -- the HTTP transport: a libmicrohttpd server behind a small request/reply API.
 *
 * This is the only module that includes <microhttpd.h>.  It accepts connections on a
 * thread pool, enforces the transport limits (URI length → 414, body size → 413, idle
 * and slow connections time out), assigns the request id, collects the body, then calls
 * the dispatch callback once per request with a complete `struct http_req` and an empty
 * `struct http_reply` to fill.  When the reply has been sent (or the connection died)
 * it calls the completion callback, then frees everything the request owned.
 *
 * Threads: HTTP_TRANSPORT_THREADS threads accept connections, read requests and send
 * replies; they never wait long on the database.  Dispatch runs on one of `threads`
 * request workers (the connection suspended meanwhile), or on the transport thread at
 * once for a request `is_quick` says is quick, so /healthz answers while every worker
 * waits; `run_inline` may answer a short request on the transport thread too, which spares
 * the hand-off to a worker and back.
 * Completion runs on a transport thread.  A client must send each request head within
 * `header_timeout` seconds; connections are capped in all and per client address.
 *
 * Streaming replies (http_reply_stream, for Server-Sent Events) are read from a pull
 * callback.  When it has nothing to give, the connection is parked (libmicrohttpd's
 * suspend) and holds no thread until another thread calls http_stream_wake; so many
 * open streams never starve the pool.  On http_server_stop every stream is ended.
 */
#ifndef TRANSOM_HTTP_H
#define TRANSOM_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "http/route.h"

#define HTTP_REQUEST_ID_MAX    65
#define HTTP_MAX_REPLY_HEADERS 8
#define HTTP_RETRY_AFTER       "2" /* seconds, on every 503 that does not say otherwise */

/* Who is calling, once authenticated (filled by the dispatcher). */
struct http_user {
	char name[128];
	char email[256];
	char display_name[256];
	unsigned roles;       /* enum role bits */
	long long token_id;   /* the API token (0: the credential is not one) */
	long long session_id; /* the web app's session (cookie), or 0 */
	long long expires_ms; /* when the credential expires by itself (a JWT's exp, ms since
			       * the epoch); 0: not known here (revocation ends the others) */
	/* A JWT's pipeline (app/identity.h): `services` (space-separated) is all it may
	 * deploy when `scoped`; an opaque token is never scoped. */
	bool scoped;
	char services[256];
};

struct http_transport; /* private to http.c */

struct http_req {
	enum http_method method;
	const char *method_name;              /* as sent, e.g. "GET" */
	const char *path;                     /* percent-decoded, no query string */
	char request_id[HTTP_REQUEST_ID_MAX]; /* accepted from X-Request-Id or generated */
	const char *body;                     /* NUL-terminated; "" when none */
	size_t body_len;
	struct route_match match; /* set by the dispatcher */
	json_t *json;             /* the parsed body with ROUTE_JSON_BODY (owned) */
	struct http_user user;    /* valid when user.name[0] != '\0' */
	struct tr_error err;      /* detail for an error a handler returns */
	void *app;                /* the dispatcher's context */
	void *worker;             /* the dispatcher's per-thread state */
	struct http_transport *transport;
};

struct http_stream; /* a streaming body, see http_reply_stream */

struct http_reply {
	int status;               /* 0 = not filled yet */
	const char *content_type; /* static string */
	char *body;               /* owned (or body_owner's), may be NULL */
	size_t body_len;
	/* A body borrowed from body_owner, released by body_release(body_owner) once sent
	 * or dropped; both NULL when the reply owns its body. */
	void (*body_release)(void *owner);
	void *body_owner;
	struct http_stream *stream; /* owned; set by http_reply_stream instead of a body */
	unsigned nheaders;
	struct {
		const char *name; /* static string */
		char *value;      /* owned */
	} headers[HTTP_MAX_REPLY_HEADERS];
};

/* Value of request header `name` (case-insensitive), borrowed, or NULL. */
const char *http_req_header(const struct http_req *req, const char *name);

/* Value of cookie `name` (from the Cookie header, as libmicrohttpd parses it), borrowed,
 * or NULL. */
const char *http_req_cookie(const struct http_req *req, const char *name);

/* Value of query argument `name`, borrowed, or NULL. */
const char *http_req_query(const struct http_req *req, const char *name);

/*
 * Checks that the path, every query argument (name and value) and every header value
 * of `req` are valid UTF-8 without control characters (a tab is allowed in headers), so
 * no handler passes such bytes on (PostgreSQL refuses them).  Returns true, or false
 * with `err` set: TR_E_BAD_REQUEST (path, header) or TR_E_BAD_PARAMETER (query), the
 * field naming the path, the argument or the header, rule "utf8".
 */
bool http_req_text_ok(const struct http_req *req, struct tr_error *err);

/* Client address as text, e.g. "127.0.0.1" (into `out`). */
void http_req_peer(const struct http_req *req, char *out, size_t outlen);

/*
 * Sets status, content type and a body that stays owned by `owner` (not copied: many
 * replies of one big text share it): `release(owner)` is called once, when the reply
 * has been sent or is dropped.  TR_OK.
 */
enum tr_code http_reply_shared(struct http_reply *rep, int status, const char *content_type,
			       const char *text, size_t len, void (*release)(void *owner),
			       void *owner);

/*
 * Reply helpers.  Each replaces any body set before.  `body` passed to
 * http_reply_json is stolen (decref'd here).  They return TR_OK, or TR_E_NOMEM.
 */
enum tr_code http_reply_json(struct http_reply *rep, int status, json_t *body);
enum tr_code http_reply_text(struct http_reply *rep, int status, const char *content_type,
			     const char *text, size_t len);
enum tr_code http_reply_header(struct http_reply *rep, const char *name, const char *value);

/*
 * Fills `rep` with an RFC 9457 problem+json for `err`: type, title, status, `code` (the
 * registered name of tr_error_public_code(err), docs/errors.md), detail, plus `field` and
 * `rule` when set, plus the request id as `instance`.  A 5xx other than 503 never carries
 * err->detail (it may quote the server or the database): that is logged with the request
 * id, and the detail says to quote it.  `extra` (may be
 * NULL, stolen) is merged into the object, for lists like the allowed events.  A 503
 * gets `Retry-After: HTTP_RETRY_AFTER` unless `rep` already has a Retry-After header.
 */
void http_reply_problem(struct http_reply *rep, const struct http_req *req,
			const struct tr_error *err, json_t *extra);

/*
 * As http_reply_problem, in SCIM's error shape (RFC 7644, section 3.12) and content type
 * (application/scim+json): schemas, status (a string), `scim_type` as scimType (when not
 * NULL), detail, plus the registered `code` and the request id as `instance`.  The same
 * scrubbing of 5xx details and Retry-After on a 503.
 */
void http_reply_scim_error(struct http_reply *rep, const struct http_req *req,
			   const struct tr_error *err, const char *scim_type);

/* Frees what `rep` owns and empties it (a stream not yet started is closed). */
void http_reply_clear(struct http_reply *rep);

/* ---- streaming replies ------------------------------------------------------------------ */

/* Return value of a pull callback: the body is complete. */
#define HTTP_STREAM_END (-1L)

/*
 * Where a streaming reply comes from.  Both run on a pool thread, never at the same
 * time for one stream, and must not block.
 *   pull   copies up to `max` bytes that are ready now into `buf` and returns their
 *          count; 0 = nothing yet (the connection is parked until http_stream_wake);
 *          HTTP_STREAM_END ends the body.
 *   close  runs exactly once, when the stream is over for any reason (ended, client
 *          gone, server stopping, or the reply replaced before it was sent); `cls` is
 *          the caller's to free then.  No pull follows it.
 */
struct http_stream_ops {
	long (*pull)(void *cls, char *buf, size_t max);
	void (*close)(void *cls);
};

/*
 * Makes `rep` (of request `req`) a streaming reply: `status`, `content_type` (static)
 * and a body of unknown length (chunked) read through `ops` with `cls`.  Replaces any
 * body; headers added with http_reply_header still go out.  Returns the stream, valid
 * until `ops->close` returns, for http_stream_wake; or NULL when out of memory (then
 * `close` is not called and `cls` stays the caller's).
 */
struct http_stream *http_reply_stream(struct http_reply *rep, const struct http_req *req,
				      int status, const char *content_type,
				      const struct http_stream_ops *ops, void *cls);

/*
 * Tells the stream its pull may have something now: a parked connection is resumed.
 * Thread-safe, cheap, never blocks for long; any number of wakes may come before the
 * next pull.  The caller must make sure it is not called once `close` has returned
 * (e.g. wake and forget the stream under one lock of its own, taken in `close`).
 */
void http_stream_wake(struct http_stream *s);

/* Threads that accept connections and move bytes; they never wait on the database. */
#define HTTP_TRANSPORT_THREADS 2

struct http_server_opts {
	const char *host;
	unsigned port;             /* 0 = ephemeral */
	unsigned threads;          /* request workers: each request that is not quick runs on one */
	unsigned conn_timeout;     /* seconds a connection may be idle mid-request */
	unsigned header_timeout;   /* seconds to send a request head (after connecting or
				      after the previous reply) before the socket is shut */
	unsigned max_conns;        /* open connections in all; more are closed at accept */
	unsigned max_conns_per_ip; /* open connections from one address; 0 = no cap */
	size_t max_body;
	size_t max_url;
	/* True for a request answered at once on the transport thread (it must not wait
	 * long: liveness, metrics); NULL = none.  Every other request is handed to a worker
	 * and its connection suspended until the reply is ready. */
	bool (*is_quick)(void *cls, const struct http_req *req);
	/* NULL, or tried on the transport thread for every request that is not quick,
	 * before it is handed to a worker: true when it answered the request (`rep`
	 * filled); false leaves `req` and `rep` as they were, and the request goes to a
	 * worker.  It must answer only what cannot wait long (a short read on a database
	 * connection with short timeouts, never a connect). */
	bool (*run_inline)(void *cls, struct http_req *req, struct http_reply *rep);
};

typedef void (*http_dispatch_fn)(void *cls, struct http_req *req, struct http_reply *rep);
typedef void (*http_done_fn)(void *cls, const struct http_req *req, const struct http_reply *rep,
			     double seconds);

struct http_server;

/*
 * Starts listening and serving.  Returns an owned server, or NULL with `err` set (bad
 * address, port taken).  `dispatch` must fill `rep`; `done` (may be NULL) is called after
 * each request for logs and metrics.
 */
struct http_server *http_server_start(const struct http_server_opts *opts,
				      http_dispatch_fn dispatch, http_done_fn done, void *cls,
				      struct tr_error *err);

/* The port actually bound. */
unsigned http_server_port(const struct http_server *srv);

/*
 * Graceful stop: stop accepting, end every streaming reply, wait up to `grace_seconds`
 * for requests in flight, then close every connection and join the threads.  Frees
 * `srv`.  Returns the number of requests still in flight when the grace ran out
 * (0 = clean).
 */
unsigned http_server_stop(struct http_server *srv, unsigned grace_seconds);

#endif /* TRANSOM_HTTP_H */
