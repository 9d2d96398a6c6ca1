/*
 * h_imip.c -- voting by e-mail over HTTP: the signed vote links (/v/{token}: a confirm
 * page, then the vote), the quarantine of replies that were not counted, and the intake
 * of replies from a mail gateway (POST /v1/imip).
 *
 * The link pages are public HTML (the token is the credential): every value written into
 * them is HTML-escaped, they are not cached, send no Referer, and allow no script.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "app/imip.h"
#include "app/records.h"
#include "app/session.h"

#define QUARANTINE_LIMIT_MAX 500

static const char *const CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'";

static enum tr_code link_context(struct http_req *req, struct rec_ctx *c)
{
	return app_session_context(api_session(req), "link", 0, req->request_id, c, &req->err);
}

/* The status of a link page. */
static int status_of(enum imip_link_state state)
{
	switch (state) {
	case IMIP_LINK_UNKNOWN:
		return 404;
	case IMIP_LINK_GONE:
		return 410;
	case IMIP_LINK_CONFLICT:
		return 409;
	case IMIP_LINK_REFUSED:
		return 403;
	case IMIP_LINK_OK:
	default:
		return 200;
	}
}

/* The page for `v`; with a form when the link may still be used (GET only). */
static enum tr_code page(struct http_req *req, struct http_reply *rep,
			 const struct imip_link_view *v, bool form)
{
	char *msg = imip_html_escape(v->message), *title = imip_html_escape(v->title);
	char *id = imip_html_escape(v->change_id), *path = imip_html_escape(req->path);
	char *body = NULL;
	const char *verb = strcmp(v->decision, "approve") == 0 ? "Approve" : "Decline";
	int n = -1;
	if (msg && title && id && path)
		n = asprintf(&body,
			     "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			     "<meta name=\"viewport\" content=\"width=device-width\">"
			     "<title>Transom: CAB vote</title></head><body "
			     "style=\"font-family:sans-serif;"
			     "max-width:40em;margin:2em auto\">\n<h1>CAB vote%s%s</h1>\n"
			     "%s%s%s<p>%s</p>\n%s%s%s%s</body></html>\n",
			     id[0] ? " on " : "", id, title[0] ? "<p><strong>" : "", title,
			     title[0] ? "</strong></p>\n" : "", msg,
			     form ? "<form method=\"post\" action=\"" : "", form ? path : "",
			     form ? "\"><button type=\"submit\">" : "",
			     form ? (strcmp(verb, "Approve") == 0 ? "Approve</button></form>\n"
								  : "Decline</button></form>\n")
				  : "");
	free(msg);
	free(title);
	free(id);
	free(path);
	if (n < 0)
		return TR_E_NOMEM;
	enum tr_code rc = http_reply_text(rep, status_of(v->state), "text/html; charset=utf-8",
					  body, (size_t)n);
	free(body);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Content-Security-Policy", CSP);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Referrer-Policy", "no-referrer");
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Cache-Control", "no-store");
	return rc;
}

enum tr_code h_vote_link_get(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct imip_link_view v;
	enum tr_code rc = link_context(req, &c);
	if (rc == TR_OK)
		rc = imip_link_view(&c, route_param(&req->match, "token"), &v, &req->err);
	if (rc != TR_OK)
		return rc;
	return page(req, rep, &v, v.state == IMIP_LINK_OK);
}

enum tr_code h_vote_link_post(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct imip_link_view v;
	enum tr_code rc = link_context(req, &c);
	if (rc == TR_OK)
		rc = imip_link_vote(&c, route_param(&req->match, "token"), &v, &req->err);
	if (rc != TR_OK)
		return rc;
	return page(req, rep, &v, false);
}

enum tr_code h_mail_quarantine(struct http_req *req, struct http_reply *rep)
{
	const char *b = http_req_query(req, "before"), *l = http_req_query(req, "limit");
	char *end;
	long long before = b ? strtoll(b, &end, 10) : 0;
	if (b != NULL && (*b == '\0' || *end != '\0' || before < 0))
		return tr_error_set(&req->err, TR_E_BAD_PARAMETER, "before",
				    "'before' must be a message id");
	long limit = l ? strtol(l, &end, 10) : 100;
	if (l != NULL && (*l == '\0' || *end != '\0' || limit < 1 || limit > QUARANTINE_LIMIT_MAX))
		return tr_error_set(&req->err, TR_E_BAD_PARAMETER, "limit",
				    "'limit' must be 1 to %d", QUARANTINE_LIMIT_MAX);
	json_t *items = NULL;
	struct rec_ctx c;
	enum tr_code rc = app_session_context(api_session(req), req->user.name, req->user.roles,
					      req->request_id, &c, &req->err);
	if (rc == TR_OK)
		rc = imip_quarantine(&c, before, (unsigned)limit, &items, &req->err);
	if (rc != TR_OK)
		return rc;
	return http_reply_json(rep, 200, json_pack("{s:o}", "items", items));
}

/* Whether Content-Type `ct` is `type` (parameters ignored). */
static bool media_is(const char *ct, const char *type)
{
	size_t n = strlen(type);
	return ct != NULL && strncasecmp(ct, type, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

enum tr_code h_imip_intake(struct http_req *req, struct http_reply *rep)
{
	struct app *app = req->app;
	const char *ct = http_req_header(req, "Content-Type");
	bool bare = media_is(ct, "text/calendar");
	if (!bare && !media_is(ct, "message/rfc822"))
		return tr_error_set(&req->err, TR_E_UNSUPPORTED_MEDIA, "Content-Type",
				    "send message/rfc822 (a whole message) or text/calendar (a "
				    "bare REPLY)");
	if (req->body_len == 0)
		return tr_error_set(&req->err, TR_E_BAD_REQUEST, NULL, "the body is empty");
	/* The reply address is the credential of a mail vote: a bare REPLY says which. */
	const char *received_on = bare ? http_req_header(req, "X-Mail-To") : NULL;
	if (bare && (received_on == NULL || received_on[0] == '\0'))
		return tr_error_set(&req->err, TR_E_BAD_REQUEST, "X-Mail-To",
				    "a bare REPLY needs X-Mail-To: the agent address it was "
				    "received on (cab+<token>@<agent domain>)");
	struct rec_ctx c;
	enum tr_code rc = link_context(req, &c);
	if (rc != TR_OK)
		return rc;
	c.actor = req->user.name;
	struct imip_settings s = {.public_url = app->public_url,
				  .agent_domain = app->cfg->agent_domain,
				  .from_addr = app->cfg->smtp_from,
				  .trusted_authserv_id = app->cfg->mail_authserv_id};
	struct imip_message m = {
		.source = "http",
		.raw = req->body,
		.len = req->body_len,
		.bare = bare,
		.from = bare ? http_req_header(req, "X-Mail-From") : NULL,
		.message_id = bare ? http_req_header(req, "X-Message-Id") : NULL,
		.received_on = received_on,
		.auth_results = bare ? http_req_header(req, "Authentication-Results") : NULL,
	};
	struct imip_intake_result res;
	rc = imip_intake(&c, &s, &m, &res, &req->err);
	if (rc != TR_OK)
		return rc;
	return http_reply_json(rep, 200,
			       json_pack("{s:s, s:b, s:s?, s:s?, s:s?, s:s?, s:I}", "outcome",
					 res.counted ? "vote" : "quarantined", "counted",
					 res.counted, "reason", res.counted ? NULL : res.reason,
					 "change", res.change_id[0] ? res.change_id : NULL,
					 "member", res.member[0] ? res.member : NULL, "decision",
					 res.counted ? res.decision : NULL, "message",
					 (json_int_t)res.message_row));
}
