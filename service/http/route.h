/*
 * route.h -- the route table type and the pure path matcher.
 *
 * A route is `{methods, pattern, handler, roles, flags}`.  Patterns are literal
 * segments and `{name}` placeholders, each matching one non-empty segment:
 * "/v1/changes/{id}/transitions".  The matcher tells a match (with its parameters),
 * a known path with the wrong method (with the methods it does allow, for 405 and
 * `Allow`), or no such path (404).  HEAD matches GET routes.
 */
#ifndef TRANSOM_ROUTE_H
#define TRANSOM_ROUTE_H

#include <stddef.h>

#include "core/err.h"

enum http_method {
	HTTP_GET = 1u << 0,
	HTTP_HEAD = 1u << 1,
	HTTP_POST = 1u << 2,
	HTTP_PUT = 1u << 3,
	HTTP_PATCH = 1u << 4,
	HTTP_DELETE = 1u << 5,
	HTTP_OPTIONS = 1u << 6,
	HTTP_PROPFIND = 1u << 7,
	HTTP_REPORT = 1u << 8,
	HTTP_OTHER = 1u << 9, /* a method Transom knows nothing of */
};

/* Route flags. */
enum route_flag {
	ROUTE_PUBLIC = 1u << 0,     /* no token needed */
	ROUTE_JSON_BODY = 1u << 1,  /* body must be a JSON object; parsed before the handler */
	ROUTE_BASIC_AUTH = 1u << 2, /* HTTP Basic (an app password) instead of a Bearer token,
				       which is refused; a 401 asks for Basic (calendar programs) */
	ROUTE_QUICK = 1u << 3,      /* answered on the transport thread, never queued behind
				       requests waiting on the database (liveness, readiness with
				       its own bounded check, metrics) */
	ROUTE_SCIM = 1u << 4,       /* a SCIM 2.0 route (RFC 7644): a bearer token only (no
				       session cookie), errors in SCIM's shape */
	ROUTE_BASIC_TOO = 1u << 5,  /* a machine's webhook: a bearer token, or HTTP Basic with
				       an app password (what the sender's config can hold); no
				       session cookie */
	ROUTE_INLINE = 1u << 6,     /* a short request (a read by key, a transition): answered
				       on the transport thread when a database connection with
				       short timeouts is free there, else handed to a worker as
				       any other (http_server_opts.run_inline); a run that
				       needs more is rolled back and handed over too */
};

struct http_req;
struct http_reply;

/* A handler fills `rep`, or returns an error code with `req->err` set. */
typedef enum tr_code (*http_handler_fn)(struct http_req *req, struct http_reply *rep);

struct http_route {
	unsigned methods;        /* enum http_method bits */
	const char *pattern;     /* "/v1/changes/{id}" */
	http_handler_fn handler; /* called once the generic checks pass */
	unsigned roles;          /* enum role bits allowed; ignored with ROUTE_PUBLIC */
	unsigned flags;          /* enum route_flag bits */
	const char *summary;     /* one line, for logs and docs */
};

#define ROUTE_MAX_PARAMS 4
#define ROUTE_PARAM_MAX  256

enum route_result {
	ROUTE_MATCHED,      /* m->route and m->params are set */
	ROUTE_WRONG_METHOD, /* the path exists; m->allowed lists its methods */
	ROUTE_NO_SUCH_PATH, /* 404 */
};

struct route_match {
	const struct http_route *route;
	size_t index;     /* of the route in the table */
	unsigned allowed; /* with ROUTE_WRONG_METHOD */
	unsigned nparams;
	char names[ROUTE_MAX_PARAMS][32];               /* placeholder names */
	char params[ROUTE_MAX_PARAMS][ROUTE_PARAM_MAX]; /* matched segments */
};

/* Parses an HTTP method token; HTTP_OTHER when unknown. */
enum http_method http_method_parse(const char *s);

/* Writes the methods in `mask` as "GET, HEAD, POST" into `out`. */
char *http_methods_format(unsigned mask, char *out, size_t outlen);

/*
 * Matches `method` and `path` (already percent-decoded, no query string) against the
 * `n` routes of `table`.  Pure and thread-safe.  A segment longer than
 * ROUTE_PARAM_MAX - 1 never matches a placeholder.
 */
enum route_result route_match(const struct http_route *table, size_t n, enum http_method method,
			      const char *path, struct route_match *m);

/* The value of parameter `name` in `m`, or NULL. */
const char *route_param(const struct route_match *m, const char *name);

#endif /* TRANSOM_ROUTE_H */
