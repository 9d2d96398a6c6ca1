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
 * Threads: dispatch and completion run on the pool threads; a request is handled start
 * to end on one thread.
 */
#ifndef TRANSOM_HTTP_H
#define TRANSOM_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "http/route.h"

#define HTTP_REQUEST_ID_MAX 65
#define HTTP_MAX_REPLY_HEADERS 8

/* Who is calling, once authenticated (filled by the dispatcher). */
struct http_user {
	char name[128];
	char email[256];
	char display_name[256];
	unsigned roles; /* enum role bits */
	long long token_id;
};

struct http_transport; /* private to http.c */

struct http_req {
	enum http_method method;
	const char *method_name;	      /* as sent, e.g. "GET" */
	const char *path;		      /* percent-decoded, no query string */
	char request_id[HTTP_REQUEST_ID_MAX]; /* accepted from X-Request-Id or generated */
	const char *body;		      /* NUL-terminated; "" when none */
	size_t body_len;
	struct route_match match;	      /* set by the dispatcher */
	json_t *json;			      /* the parsed body with ROUTE_JSON_BODY (owned) */
	struct http_user user;		      /* valid when user.name[0] != '\0' */
	struct tr_error err;		      /* detail for an error a handler returns */
	void *app;			      /* the dispatcher's context */
	void *worker;			      /* the dispatcher's per-thread state */
	struct http_transport *transport;
};

struct http_reply {
	int status;		   /* 0 = not filled yet */
	const char *content_type;  /* static string */
	char *body;		   /* owned, may be NULL */
	size_t body_len;
	unsigned nheaders;
	struct {
		const char *name; /* static string */
		char *value;	  /* owned */
	} headers[HTTP_MAX_REPLY_HEADERS];
};

/* Value of request header `name` (case-insensitive), borrowed, or NULL. */
const char *http_req_header(const struct http_req *req, const char *name);

/* Value of query argument `name`, borrowed, or NULL. */
const char *http_req_query(const struct http_req *req, const char *name);

/* Client address as text, e.g. "127.0.0.1" (into `out`). */
void http_req_peer(const struct http_req *req, char *out, size_t outlen);

/*
 * Reply helpers.  Each replaces any body set before.  `body` passed to
 * http_reply_json is stolen (decref'd here).  They return TR_OK, or TR_E_NOMEM.
 */
enum tr_code http_reply_json(struct http_reply *rep, int status, json_t *body);
enum tr_code http_reply_text(struct http_reply *rep, int status, const char *content_type,
			     const char *text, size_t len);
enum tr_code http_reply_header(struct http_reply *rep, const char *name, const char *value);

/*
 * Fills `rep` with an RFC 9457 problem+json for `err`: type, title, status, detail,
 * plus `field` and `rule` when set, plus the request id as `instance`.  `extra` (may be
 * NULL, stolen) is merged into the object, for lists like the allowed events.
 */
void http_reply_problem(struct http_reply *rep, const struct http_req *req,
			const struct tr_error *err, json_t *extra);

/* Frees what `rep` owns and empties it. */
void http_reply_clear(struct http_reply *rep);

struct http_server_opts {
	const char *host;
	unsigned port;		/* 0 = ephemeral */
	unsigned threads;
	unsigned conn_timeout;	/* seconds */
	size_t max_body;
	size_t max_url;
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
 * Graceful stop: stop accepting, wait up to `grace_seconds` for requests in flight,
 * then close every connection and join the threads.  Frees `srv`.  Returns the number
 * of requests still in flight when the grace ran out (0 = clean).
 */
unsigned http_server_stop(struct http_server *srv, unsigned grace_seconds);

#endif /* TRANSOM_HTTP_H */
