/*
 * h_tokens.c -- API-token administration over HTTP (admin only): decodes, calls the use
 * cases of app/tokens.h, encodes.  Revoking a token revokes the app passwords and feed
 * URLs made with it.
 */
#include <stdio.h>
#include <stdlib.h>

#include "api/api.h"
#include "api/jspec.h"
#include "app/tokens.h"

enum tr_code h_tokens_list(struct http_req *req, struct http_reply *rep)
{
	json_t *list = NULL;
	struct app_actor who = api_actor(req);
	enum tr_code rc = app_tokens_list(api_session(req), &who, &list, &req->err);
	if (rc != TR_OK)
		return rc;
	return http_reply_json(rep, 200, json_pack("{s:o}", "tokens", list));
}

enum tr_code h_tokens_create(struct http_req *req, struct http_reply *rep)
{
	struct app_token_request rq = {0};
	const struct jspec spec[] = {
		{"user", JSPEC_STRING, true, &rq.user},
		{"roles", JSPEC_STRING_ARRAY, true, &rq.roles},
		{"email", JSPEC_STRING, false, &rq.email},
		{"display_name", JSPEC_STRING, false, &rq.display_name},
		JSPEC_END,
	};
	enum tr_code rc = jspec_parse(req->json, spec, true, &req->err);
	if (rc != TR_OK)
		return rc;
	struct app_token_made made;
	struct app_actor who = api_actor(req);
	rc = app_token_create(api_session(req), &who, &rq, &made, &req->err);
	if (rc != TR_OK)
		return rc;
	char location[64];
	snprintf(location, sizeof location, "/v1/tokens/%lld", made.id);
	http_reply_header(rep, "Location", location);
	return http_reply_json(rep, 201,
			       json_pack("{s:I, s:s, s:s, s:O, s:o}", "id", (json_int_t)made.id,
					 "token", made.token, "user", rq.user, "roles", rq.roles,
					 "warnings", made.warnings));
}

enum tr_code h_tokens_revoke(struct http_req *req, struct http_reply *rep)
{
	const char *p = route_param(&req->match, "id");
	char *end;
	long long id = strtoll(p, &end, 10);
	if (*end != '\0' || id <= 0)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, "id", "no token '%s'", p);
	struct app_actor who = api_actor(req);
	enum tr_code rc = app_token_revoke(api_session(req), &who, id, &req->err);
	return rc == TR_OK ? http_reply_text(rep, 204, NULL, "", 0) : rc;
}
