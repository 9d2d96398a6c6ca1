/*
 * h_users.c -- the user lifecycle over HTTP (admin only): list users, disable one (every
 * credential they hold stops working at once), enable them again.
 *
 * Disabling is checked where credentials are looked up, in the database: a token, an app
 * password or a feed URL of a disabled user is refused by the lookup itself, on every
 * replica (the memo of each is flushed by the NOTIFY the store sends), and a signed vote
 * link of theirs is refused when used.  Disabling also revokes their tokens, app passwords
 * and feed URLs, so enabling the user again revives none of them: they get a new token.
 */
#include <string.h>

#include "api/api.h"
#include "app/tokens.h"
#include "store/tokens.h"

enum tr_code h_users_list(struct http_req *req, struct http_reply *rep)
{
	json_t *list = NULL;
	enum db_status s = store_user_list(api_store(req), &list);
	if (s < 0)
		return api_db_error(req, s);
	return http_reply_json(rep, 200, json_pack("{s:o}", "users", list));
}

/* The {name} of the route, checked; NULL with req->err set. */
static const char *user_param(struct http_req *req)
{
	const char *name = route_param(&req->match, "name");
	if (name == NULL || !app_user_name_valid(name)) {
		tr_error_set(&req->err, TR_E_NOT_FOUND, "name", "no user '%s'", name ? name : "");
		return NULL;
	}
	return name;
}

enum tr_code h_user_disable(struct http_req *req, struct http_reply *rep)
{
	const char *name = user_param(req);
	if (name == NULL)
		return req->err.code;
	if (strcmp(name, req->user.name) == 0) {
		tr_error_set(&req->err, TR_E_UNPROCESSABLE, "name",
			     "you cannot disable yourself (another admin can)");
		tr_error_rule(&req->err, TR_R_SELF);
		return TR_E_UNPROCESSABLE;
	}
	struct store_revoked r;
	enum db_status s = store_user_disable(api_store(req), name, &r);
	if (s < 0)
		return api_db_error(req, s);
	if (s == DB_NONE)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, "name", "no user '%s'", name);
	api_tokens_changed(req->app); /* at once here; other replicas hear the NOTIFY */
	return http_reply_json(rep, 200,
			       json_pack("{s:s, s:s, s:{s:I, s:I, s:I}}", "user", name, "state",
					 "disabled", "revoked", "tokens", (json_int_t)r.tokens,
					 "app_passwords", (json_int_t)r.app_passwords, "feeds",
					 (json_int_t)r.feeds));
}

enum tr_code h_user_enable(struct http_req *req, struct http_reply *rep)
{
	const char *name = user_param(req);
	if (name == NULL)
		return req->err.code;
	enum db_status s = store_user_enable(api_store(req), name);
	if (s < 0)
		return api_db_error(req, s);
	if (s == DB_NONE)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, "name", "no user '%s'", name);
	return http_reply_json(rep, 200, json_pack("{s:s, s:s}", "user", name, "state", "active"));
}
