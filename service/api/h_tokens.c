/*
 * h_tokens.c -- API-token administration over HTTP (admin only).  Revoking a token
 * revokes the app passwords and feed URLs made with it (store/tokens.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "api/api.h"
#include "api/jspec.h"
#include "auth/roles.h"
#include "app/tokens.h"
#include "defs/defs.h"
#include "policy/policy.h"
#include "store/tokens.h"

enum tr_code h_tokens_list(struct http_req *req, struct http_reply *rep)
{
	json_t *list;
	enum db_status s = store_token_list(api_store(req), &list);
	if (s < 0)
		return api_db_error(req, s);
	return http_reply_json(rep, 200, json_pack("{s:o}", "tokens", list));
}

enum tr_code h_tokens_create(struct http_req *req, struct http_reply *rep)
{
	const char *user = NULL, *email = NULL, *display = NULL;
	json_t *roles = NULL;
	const struct jspec spec[] = {
		{"user", JSPEC_STRING, true, &user},
		{"roles", JSPEC_STRING_ARRAY, true, &roles},
		{"email", JSPEC_STRING, false, &email},
		{"display_name", JSPEC_STRING, false, &display},
		JSPEC_END,
	};
	enum tr_code rc = jspec_parse(req->json, spec, true, &req->err);
	if (rc != TR_OK)
		return rc;
	if (!app_user_name_valid(user))
		return tr_error_set(&req->err, TR_E_UNPROCESSABLE, "user",
				    "'user' must be 1 to 128 of A-Z a-z 0-9 . _ @ + -");
	unsigned mask = 0;
	size_t i;
	json_t *r;
	json_array_foreach(roles, i, r) {
		unsigned bit = role_from_name(json_string_value(r));
		if (bit == 0) {
			char field[32];
			snprintf(field, sizeof field, "roles[%zu]", i);
			return tr_error_set(&req->err, TR_E_UNPROCESSABLE, field,
					    "unknown role '%s'; roles are requester, cab, "
					    "change_manager, pipeline, admin",
					    json_string_value(r));
		}
		mask |= bit;
	}
	if (mask == 0)
		return tr_error_set(&req->err, TR_E_UNPROCESSABLE, "roles",
				    "at least one role is required");
	enum db_status s = store_user_disabled(api_store(req), user);
	if (s < 0)
		return api_db_error(req, s);
	if (s == DB_ONE) {
		tr_error_set(&req->err, TR_E_CONFLICT, "user",
			     "user '%s' is disabled (POST /v1/users/%s/enable first)", user, user);
		tr_error_rule(&req->err, TR_R_USER_DISABLED);
		return TR_E_CONFLICT;
	}
	const struct defs *d = api_defs(req);
	json_t *warnings = app_token_warnings(d ? d->policies : NULL, user);
	if (warnings == NULL)
		return TR_E_NOMEM;
	char token[AUTH_TOKEN_MAX];
	long long id;
	s = app_token_issue(api_store(req), user, email, display, mask, token, &id);
	if (s < 0) {
		json_decref(warnings);
		return api_db_error(req, s);
	}
	char location[64];
	snprintf(location, sizeof location, "/v1/tokens/%lld", id);
	http_reply_header(rep, "Location", location);
	return http_reply_json(rep, 201,
			       json_pack("{s:I, s:s, s:s, s:O, s:o}", "id", (json_int_t)id, "token",
					 token, "user", user, "roles", roles, "warnings",
					 warnings));
}

enum tr_code h_tokens_revoke(struct http_req *req, struct http_reply *rep)
{
	const char *p = route_param(&req->match, "id");
	char *end;
	long long id = strtoll(p, &end, 10);
	if (*end != '\0' || id <= 0)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, "id", "no token '%s'", p);
	enum db_status s = store_token_revoke(api_store(req), id);
	if (s < 0)
		return api_db_error(req, s);
	if (s == DB_NONE)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, "id", "no active token %lld", id);
	api_tokens_changed(req->app); /* at once here; other replicas hear the NOTIFY */
	return http_reply_text(rep, 204, NULL, "", 0);
}
