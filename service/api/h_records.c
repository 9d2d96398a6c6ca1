/*
 * h_records.c -- changes, incidents and problems over HTTP: create, list, read, edit,
 * fire events, history.  One handler per operation; the kind comes from the path.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/jspec.h"
#include "crypto/crypto.h"
#include "app/comments.h"
#include "app/records.h"
#include "app/session.h"

/* "/v1/changes/..." -> "change" (the route table only routes the three kinds here). */
static const char *kind_of(const struct http_req *req)
{
	const char *p = req->path + 4; /* after "/v1/" */
	return strncmp(p, "changes", 7) == 0     ? "change"
	       : strncmp(p, "incidents", 9) == 0 ? "incident"
						 : "problem";
}

enum tr_code api_rec_context(struct http_req *req, struct rec_ctx *c,
			     char hash[CRYPTO_SHA256_HEX_LEN])
{
	enum tr_code rc = app_session_context(api_session(req), req->user.name, req->user.roles,
					      req->request_id, c, &req->err);
	if (rc != TR_OK)
		return rc;
	c->services = req->user.scoped ? req->user.services : NULL;
	if (api_short_only(req)) {
		c->short_only = true;
		c->retries = 0; /* a conflict is left to a worker, which retries */
	}
	const char *key = http_req_header(req, "Idempotency-Key");
	if (key != NULL && req->method == HTTP_POST) {
		size_t n = strlen(key);
		if (n == 0 || n > 128)
			return tr_error_set(&req->err, TR_E_BAD_REQUEST, "Idempotency-Key",
					    "an Idempotency-Key has 1 to 128 characters");
		crypto_sha256_hex(req->body, req->body_len, hash);
		c->idem_key = key;
		c->idem_method = req->method_name;
		c->idem_path = req->path;
		c->idem_body_hash = hash;
	}
	return TR_OK;
}

/*
 * Parses an If-Match or If-None-Match value into `out`: "*" is any existing version; a
 * strong tag "7" is version 7; weak or other tags match nothing (RFC 9110 strong
 * comparison).  Returns `out`, or NULL when the header is absent.
 */
const struct rec_versions *api_rec_versions(const char *h, struct rec_versions *out)
{
	memset(out, 0, sizeof *out);
	if (h == NULL)
		return NULL;
	while (*h) {
		while (*h == ' ' || *h == ',')
			h++;
		if (*h == '*')
			out->any = true;
		size_t n = strcspn(h, ",");
		while (n > 0 && h[n - 1] == ' ')
			n--;
		/* "\"N\"": N decimal, no sign, no leading zero, as the ETag we send */
		size_t digits = n >= 3 && h[0] == '"' && h[n - 1] == '"' ? n - 2 : 0;
		bool tag = digits > 0 && digits < 10 && h[1] != '0' &&
			   strspn(h + 1, "0123456789") == digits;
		if (tag && out->n < REC_VERSIONS_MAX)
			out->v[out->n++] = atoi(h + 1);
		h += strcspn(h, ",");
	}
	return out;
}

/* The HTTP status of a use case's outcome. */
static int status_of(enum rec_outcome o)
{
	switch (o) {
	case REC_CREATED:
		return 201;
	case REC_ACCEPTED:
		return 202;
	case REC_NOT_MODIFIED:
		return 304;
	case REC_DONE:
	default:
		return 200;
	}
}

/* A refusal as HTTP says it: a version mismatch names the If-Match the client sent. */
static void refusal(struct http_req *req, enum tr_code rc, const struct rec_reply *out)
{
	const char *if_match = http_req_header(req, "If-Match");
	if (rc == TR_E_PRECONDITION_FAILED && if_match != NULL && out->version > 0)
		tr_error_set(&req->err, TR_E_PRECONDITION_FAILED, "If-Match",
			     "%s is at version \"%d\"; If-Match was %s", out->id, out->version,
			     if_match);
}

enum tr_code api_rec_reply(struct http_req *req, struct http_reply *rep, enum tr_code rc,
			   struct rec_reply *out)
{
	if (rc != TR_OK) {
		refusal(req, rc, out);
		http_reply_problem(rep, req, &req->err, out->extra);
		out->extra = NULL;
		rec_reply_clear(out);
		return TR_OK;
	}
	int status = status_of(out->outcome);
	if (status == 304)
		rc = http_reply_text(rep, 304, NULL, "", 0);
	else if (out->raw_body != NULL)
		rc = http_reply_text(rep, status, "application/json", out->raw_body,
				     strlen(out->raw_body));
	else {
		rc = http_reply_json(rep, status, out->body);
		out->body = NULL;
	}
	char value[300];
	if (out->version > 0) {
		snprintf(value, sizeof value, "\"%d\"", out->version);
		http_reply_header(rep, "ETag", value);
	}
	if (out->kind[0] && out->id[0]) {
		snprintf(value, sizeof value, "/v1/%ss/%s", out->kind, out->id);
		http_reply_header(rep, "Location", value);
	}
	rec_reply_clear(out);
	return rc;
}

enum tr_code h_records_create(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {.as_text = true}; /* sent as it comes */
	char hash[CRYPTO_SHA256_HEX_LEN];
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_create(&c, kind_of(req), req->json, &out, &req->err);
	return api_rec_reply(req, rep, rc, &out);
}

enum tr_code h_records_list(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	struct rec_query q = {
		http_req_query(req, "state"),         http_req_query(req, "type"),
		http_req_query(req, "service"),       http_req_query(req, "requester"),
		http_req_query(req, "updated_since"), http_req_query(req, "next"),
		http_req_query(req, "limit"),         http_req_query(req, "environment"),
		http_req_query(req, "risk"),          http_req_query(req, "sort"),
		http_req_query(req, "priority"),      http_req_query(req, "assignment_group"),
	};
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_list(&c, kind_of(req), &q, &out, &req->err);
	return api_rec_reply(req, rep, rc, &out);
}

enum tr_code h_records_get(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	struct rec_versions current;
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_get(&c, kind_of(req), route_param(&req->match, "id"),
				 api_rec_versions(http_req_header(req, "If-None-Match"), &current),
				 &out, &req->err);
	return api_rec_reply(req, rep, rc, &out);
}

enum tr_code h_records_patch(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {.as_text = true}; /* sent as it comes */
	char hash[CRYPTO_SHA256_HEX_LEN];
	struct rec_versions expect;
	const struct rec_versions *e = api_rec_versions(http_req_header(req, "If-Match"), &expect);
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK && e == NULL)
		rc = tr_error_set(&req->err, TR_E_PRECONDITION_REQUIRED, "If-Match",
				  "send If-Match with the ETag of the version you edited");
	if (rc == TR_OK)
		rc = records_patch(&c, kind_of(req), route_param(&req->match, "id"), e, req->json,
				   &out, &req->err);
	return api_rec_reply(req, rep, rc, &out);
}

enum tr_code h_records_transition(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {.as_text = true}; /* sent as it comes */
	char hash[CRYPTO_SHA256_HEX_LEN];
	const char *event = NULL, *comment = NULL;
	struct rec_versions expect;
	const struct jspec spec[] = {
		{"event", JSPEC_STRING, true, &event},
		{"comment", JSPEC_STRING, false, &comment},
		JSPEC_END,
	};
	enum tr_code rc = jspec_parse(req->json, spec, true, &req->err);
	if (rc == TR_OK && (strlen(event) == 0 || strlen(event) > 64))
		rc = tr_error_set(&req->err, TR_E_UNPROCESSABLE, "event",
				  "'event' must name an event (1 to 64 characters)");
	if (rc == TR_OK && comment != NULL && strlen(comment) > 20000)
		rc = tr_error_set(&req->err, TR_E_UNPROCESSABLE, "comment",
				  "'comment' may have at most 20000 bytes");
	if (rc == TR_OK)
		rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_transition(&c, kind_of(req), route_param(&req->match, "id"), event,
					comment,
					api_rec_versions(http_req_header(req, "If-Match"), &expect),
					&out, &req->err);
	return api_rec_reply(req, rep, rc, &out);
}

enum tr_code h_records_history(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_history(&c, kind_of(req), route_param(&req->match, "id"), &out,
				     &req->err);
	return api_rec_reply(req, rep, rc, &out);
}

/* ---- risk, approvals, the dry run --------------------------------------------------------- */

enum tr_code h_change_risk(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_risk(&c, route_param(&req->match, "id"), &out, &req->err);
	return api_rec_reply(req, rep, rc, &out);
}

enum tr_code h_change_approvals(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_approvals(&c, route_param(&req->match, "id"), &out, &req->err);
	return api_rec_reply(req, rep, rc, &out);
}

enum tr_code h_change_vote(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	const char *decision = NULL, *comment = NULL, *group = NULL;
	const struct jspec spec[] = {
		{"decision", JSPEC_STRING, true, &decision},
		{"comment", JSPEC_STRING, false, &comment},
		{"group", JSPEC_STRING, false, &group},
		JSPEC_END,
	};
	enum tr_code rc = jspec_parse(req->json, spec, true, &req->err);
	if (rc == TR_OK)
		rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_vote(&c, route_param(&req->match, "id"), decision, group, comment,
				  "api", &out, &req->err);
	return api_rec_reply(req, rep, rc, &out);
}

enum tr_code h_change_comments_list(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_comments_list(&c, "change", route_param(&req->match, "id"), &out,
					   &req->err);
	return api_rec_reply(req, rep, rc, &out);
}

enum tr_code h_change_comment_add(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	const char *text = NULL;
	const struct jspec spec[] = {
		{"text", JSPEC_STRING, true, &text},
		JSPEC_END,
	};
	enum tr_code rc = jspec_parse(req->json, spec, true, &req->err);
	if (rc == TR_OK)
		rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_comment_add(&c, "change", route_param(&req->match, "id"), text, &out,
					 &req->err);
	return api_rec_reply(req, rep, rc, &out);
}

enum tr_code h_change_break_glass(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	const char *justification = NULL;
	const struct jspec spec[] = {
		{"justification", JSPEC_STRING, true, &justification},
		JSPEC_END,
	};
	enum tr_code rc = jspec_parse(req->json, spec, true, &req->err);
	if (rc == TR_OK)
		rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_break_glass(&c, route_param(&req->match, "id"), justification, &out,
					 &req->err);
	return api_rec_reply(req, rep, rc, &out);
}

enum tr_code h_approvals_pending(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_pending(&c, http_req_query(req, "limit"), &out, &req->err);
	return api_rec_reply(req, rep, rc, &out);
}

enum tr_code h_simulate(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_simulate(&c, req->json, &out, &req->err);
	if (rc == TR_OK && json_array_size(json_object_get(req->json, "services")) > 0) {
		/* The decision's `schedule` is the slot submit would propose; `slots` lists the
		 * next few free ones (nothing is booked). */
		json_t *slots = NULL;
		struct tr_error e = {0};
		if (records_slots(&c, req->json, 3, &slots, &e) == TR_OK)
			json_object_set_new(out.body, "slots", slots);
		else
			json_object_set_new(out.body, "slots",
					    json_pack("{s:[], s:s, s:s}", "slots", "error",
						      e.detail, "field", e.field));
	}
	return api_rec_reply(req, rep, rc, &out);
}
