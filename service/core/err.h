/*
 * err.h -- the one error table: every failure Transom reports has a code here.
 *
 * TR_ERRORS is an X-macro: each row gives the enum name, the HTTP status it maps to,
 * the problem type slug (the last part of the RFC 9457 `type` URI) and the title.
 * Control flow passes `enum tr_code`; the detail travels in `struct tr_error`.
 */
#ifndef TRANSOM_ERR_H
#define TRANSOM_ERR_H

#include <stdarg.h>
#include <stdbool.h>

/* name, http status, type slug, title */
#define TR_ERRORS(X)                                                                               \
	X(TR_OK, 200, "ok", "OK")                                                                  \
	X(TR_E_BAD_REQUEST, 400, "bad-request", "Bad request")                                     \
	X(TR_E_MALFORMED_JSON, 400, "malformed-json", "Malformed JSON")                            \
	X(TR_E_BAD_PARAMETER, 400, "bad-parameter", "Bad query parameter")                         \
	X(TR_E_UNAUTHENTICATED, 401, "unauthenticated", "Authentication required")                 \
	X(TR_E_FORBIDDEN, 403, "forbidden", "Forbidden")                                           \
	X(TR_E_NOT_FOUND, 404, "not-found", "Not found")                                           \
	X(TR_E_METHOD_NOT_ALLOWED, 405, "method-not-allowed", "Method not allowed")                \
	X(TR_E_NOT_ACCEPTABLE, 406, "not-acceptable", "Not acceptable")                            \
	X(TR_E_CONFLICT, 409, "conflict", "Conflict")                                              \
	X(TR_E_PRECONDITION_FAILED, 412, "precondition-failed", "Precondition failed")             \
	X(TR_E_BODY_TOO_LARGE, 413, "body-too-large", "Request body too large")                    \
	X(TR_E_URI_TOO_LONG, 414, "uri-too-long", "Request URI too long")                          \
	X(TR_E_UNSUPPORTED_MEDIA, 415, "unsupported-media-type", "Unsupported media type")         \
	X(TR_E_UNPROCESSABLE, 422, "unprocessable", "Unprocessable content")                       \
	X(TR_E_PRECONDITION_REQUIRED, 428, "precondition-required", "Precondition required")       \
	X(TR_E_DB_READ_ONLY, 503, "database-read-only", "Database is read-only")                   \
	X(TR_E_DB_TIMEOUT, 503, "database-timeout", "Database timed out")                          \
	X(TR_E_TOO_MANY_REQUESTS, 429, "too-many-requests", "Too many requests")                   \
	X(TR_E_INTERNAL, 500, "internal", "Internal error")                                        \
	X(TR_E_NOMEM, 500, "out-of-memory", "Out of memory")                                       \
	X(TR_E_DB_UNAVAILABLE, 503, "database-unavailable", "Database unavailable")                \
	X(TR_E_DB_CONFLICT, 503, "database-busy", "Database busy, retry")                          \
	X(TR_E_NOT_READY, 503, "not-ready", "Service not ready")                                   \
	X(TR_E_CONFIG, 500, "config", "Invalid configuration")

enum tr_code {
#define TR_ERR_ENUM(name, status, slug, title) name,
	TR_ERRORS(TR_ERR_ENUM)
#undef TR_ERR_ENUM
		TR_CODE_COUNT_
};

/*
 * Detail of one error.  `field` names the request field or setting at fault and `rule`
 * the rule that refused it; either may be empty.  Plain data: copy freely.
 */
struct tr_error {
	enum tr_code code;
	char detail[512];
	char field[128];
	char rule[128];
};

/* HTTP status of `code` (500 for an out-of-range code). */
int tr_code_http_status(enum tr_code code);

/* Problem type slug of `code`, e.g. "not-found".  Static storage. */
const char *tr_code_slug(enum tr_code code);

/* Human title of `code`, e.g. "Not found".  Static storage. */
const char *tr_code_title(enum tr_code code);

/*
 * Fills `err` (which may be NULL, then it only returns) with `code`, the field (may be
 * NULL) and a printf-style detail.  Returns `code`, so callers can write
 * `return tr_error_set(err, TR_E_NOT_FOUND, NULL, "no change %s", id);`.
 */
enum tr_code tr_error_set(struct tr_error *err, enum tr_code code, const char *field,
			  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Sets the rule name of `err` (NULL-safe). */
void tr_error_rule(struct tr_error *err, const char *rule);

#endif /* TRANSOM_ERR_H */
