/*
 * problem.c -- the one error reply shape: RFC 9457 problem+json built from a struct
 * tr_error, with its registered `code` (core/err.h, docs/errors.md); and the same in
 * SCIM's error shape for the SCIM routes.
 */
#include "http/http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"

/*
 * The detail a client may see of `err`: its own, or for a 5xx other than 503 (which may
 * quote the server or the database) a pointer to the log, where the detail goes, under
 * the request id.  `scrubbed` (160 bytes) holds the latter.
 */
static const char *public_detail(const struct http_req *req, const struct tr_error *err,
				 char scrubbed[160])
{
	int status = tr_code_http_status(err->code);
	if (status < 500 || status == 503)
		return err->detail;
	snprintf(scrubbed, 160, "%s; the log has the detail under this request id",
		 tr_code_title(err->code));
	if (strcmp(err->detail, scrubbed) != 0)
		LOG_ERROR("event=request_failed request_id=%s code=%s detail=\"%s\"",
			  req != NULL && req->request_id[0] ? req->request_id : "-",
			  tr_code_slug(err->code), err->detail);
	return scrubbed;
}

/* Every 503 says when to come back. */
static void retry_after(struct http_reply *rep, int status)
{
	if (status != 503)
		return;
	for (unsigned i = 0; i < rep->nheaders; i++)
		if (strcasecmp(rep->headers[i].name, "Retry-After") == 0)
			return;
	http_reply_header(rep, "Retry-After", HTTP_RETRY_AFTER);
}

void http_reply_scim_error(struct http_reply *rep, const struct http_req *req,
			   const struct tr_error *err, const char *scim_type)
{
	static const char fallback[] =
		"{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"],\"status\":"
		"\"500\",\"detail\":\"Out of memory\",\"code\":\"OUT_OF_MEMORY\"}";
	char scrubbed[160], st[8];
	int status = tr_code_http_status(err->code);
	const char *detail = public_detail(req, err, scrubbed);
	snprintf(st, sizeof st, "%d", status);
	json_t *p = json_pack("{s:[s], s:s, s:s, s:s}", "schemas",
			      "urn:ietf:params:scim:api:messages:2.0:Error", "status", st, "detail",
			      detail[0] ? detail : tr_code_title(err->code), "code",
			      tr_code_name(tr_error_public_code(err)));
	if (p != NULL && scim_type != NULL)
		json_object_set_new(p, "scimType", json_string(scim_type));
	if (p != NULL && req != NULL && req->request_id[0])
		json_object_set_new(p, "instance", json_string(req->request_id));
	retry_after(rep, status);
	if (p == NULL || http_reply_json(rep, status, p) != TR_OK)
		http_reply_text(rep, 500, "application/scim+json", fallback, sizeof fallback - 1);
	rep->content_type = "application/scim+json";
}

void http_reply_problem(struct http_reply *rep, const struct http_req *req,
			const struct tr_error *err, json_t *extra)
{
	static const char fallback[] =
		"{\"type\":\"https://transom.dev/problems/out-of-memory\",\"title\":\"Out of "
		"memory\",\"status\":500,\"code\":\"OUT_OF_MEMORY\"}";
	char type[128], scrubbed[160];
	int status = tr_code_http_status(err->code);
	const char *detail = public_detail(req, err, scrubbed);
	json_t *p;

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
	retry_after(rep, status);
	if (p == NULL || http_reply_json(rep, status, p) != TR_OK)
		http_reply_text(rep, 500, "application/problem+json", fallback,
				sizeof fallback - 1);
	rep->content_type = "application/problem+json";
}
