/*
 * problem.c -- the one error reply shape: RFC 9457 problem+json built from a struct
 * tr_error, with its registered `code` (core/err.h, docs/errors.md).
 */
#include "http/http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"

void http_reply_problem(struct http_reply *rep, const struct http_req *req,
			const struct tr_error *err, json_t *extra)
{
	static const char fallback[] =
		"{\"type\":\"https://transom.dev/problems/out-of-memory\",\"title\":\"Out of "
		"memory\",\"status\":500,\"code\":\"OUT_OF_MEMORY\"}";
	char type[128], scrubbed[160];
	int status = tr_code_http_status(err->code);
	const char *detail = err->detail;
	json_t *p;

	if (status >= 500 && status != 503) {
		/* The detail of an internal error may quote the server or the database: the log
		 * has it, the client gets the request id to quote. */
		snprintf(scrubbed, sizeof scrubbed,
			 "%s; the log has the detail under this request id",
			 tr_code_title(err->code));
		if (strcmp(detail, scrubbed) != 0)
			LOG_ERROR("event=request_failed request_id=%s code=%s detail=\"%s\"",
				  req != NULL && req->request_id[0] ? req->request_id : "-",
				  tr_code_slug(err->code), detail);
		detail = scrubbed;
	}
	snprintf(type, sizeof type, "https://transom.dev/problems/%s", tr_code_slug(err->code));
	p = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", tr_code_title(err->code),
		      "status", status, "code", tr_code_name(tr_error_public_code(err)));
	if (p != NULL) {
		if (detail[0])
			json_object_set_new(p, "detail", json_string(detail));
		if (err->field[0])
			json_object_set_new(p, "field", json_string(err->field));
		if (err->rule[0])
			json_object_set_new(p, "rule", json_string(err->rule));
		if (req != NULL && req->request_id[0])
			json_object_set_new(p, "instance", json_string(req->request_id));
		if (extra != NULL)
			json_object_update(p, extra);
	}
	json_decref(extra);
	if (status == 503) { /* every 503 says when to come back */
		bool has = false;
		for (unsigned i = 0; i < rep->nheaders; i++)
			has = has || strcasecmp(rep->headers[i].name, "Retry-After") == 0;
		if (!has)
			http_reply_header(rep, "Retry-After", HTTP_RETRY_AFTER);
	}
	if (p == NULL || http_reply_json(rep, status, p) != TR_OK)
		http_reply_text(rep, 500, "application/problem+json", fallback,
				sizeof fallback - 1);
	rep->content_type = "application/problem+json";
}
