/*
 * h_users.c -- the user lifecycle over HTTP (admin only): list users, disable one (every
 * credential they hold stops working at once), enable them again.  The use cases are in
 * app/tokens.c.
 *
 * Disabling is checked where credentials are looked up, in the database: a token, an app
 * password or a feed URL of a disabled user is refused by the lookup itself, on every
 * replica (the memo of each is flushed by the NOTIFY the store sends), and a signed vote
 * link of theirs is refused when used.  Disabling also revokes their tokens, app passwords
 * and feed URLs, so enabling the user again revives none of them: they get a new token.
 */
#include "api/api.h"
#include "app/tokens.h"

enum tr_code h_users_list(struct http_req *req, struct http_reply *rep)
{
	json_t *list = NULL;
	struct app_actor who = api_actor(req);
	enum tr_code rc = app_users_list(api_session(req), &who, &list, &req->err);
	if (rc != TR_OK)
		return rc;
	return http_reply_json(rep, 200, json_pack("{s:o}", "users", list));
}

/* The {name} of the route ("" when none). */
static const char *user_param(struct http_req *req)
{
	const char *name = route_param(&req->match, "name");
	return name ? name : "";
}

enum tr_code h_user_disable(struct http_req *req, struct http_reply *rep)
{
	const char *name = user_param(req);
	struct app_revoked r;
	struct app_actor who = api_actor(req);
	enum tr_code rc = app_user_disable(api_session(req), &who, name, &r, &req->err);
	if (rc != TR_OK)
		return rc;
	return http_reply_json(rep, 200,
			       json_pack("{s:s, s:s, s:{s:I, s:I, s:I, s:I}}", "user", name,
					 "state", "disabled", "revoked", "tokens",
					 (json_int_t)r.tokens, "app_passwords",
					 (json_int_t)r.app_passwords, "feeds", (json_int_t)r.feeds,
					 "sessions", (json_int_t)r.sessions));
}

enum tr_code h_user_enable(struct http_req *req, struct http_reply *rep)
{
	const char *name = user_param(req);
	struct app_actor who = api_actor(req);
	enum tr_code rc = app_user_enable(api_session(req), &who, name, &req->err);
	if (rc != TR_OK)
		return rc;
	return http_reply_json(rep, 200, json_pack("{s:s, s:s}", "user", name, "state", "active"));
}
