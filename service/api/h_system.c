/*
 * h_system.c -- liveness, readiness, metrics and the caller's identity.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "auth/roles.h"

enum tr_code h_healthz(struct http_req *req, struct http_reply *rep)
{
	(void)req;
	return http_reply_json(rep, 200, json_pack("{s:s}", "status", "alive"));
}

/* Generated from docs/openapi.json at build time (Makefile, deploy/embed-text.sh). */
extern const char api_openapi_json[];
extern const unsigned long api_openapi_json_len;

enum tr_code h_openapi(struct http_req *req, struct http_reply *rep)
{
	(void)req;
	return http_reply_text(rep, 200, "application/json", api_openapi_json,
			       (size_t)api_openapi_json_len);
}

enum tr_code h_readyz(struct http_req *req, struct http_reply *rep)
{
	struct app *app = req->app;
	bool loaded, last_ok;
	enum db_status db = store_ping(api_store(req));
	json_t *defs = defs_holder_status(&app->defs, &loaded, &last_ok);
	/* Remote calendars are reported, never a reason to be unready: the last good copy
	 * (or none) keeps the service going. */
	json_t *checks =
		json_pack("{s:o, s:o, s:o}", "remote_calendars", api_remote_status(app), "database",
			  db == DB_ONE ? json_pack("{s:b}", "ok", 1)
				       : json_pack("{s:b, s:s}", "ok", 0, "error",
						   store_last_error(api_store(req))),
			  "definitions", defs ? defs : json_null());
	if (checks == NULL)
		return TR_E_NOMEM;
	if (db == DB_ONE && loaded)
		return http_reply_json(rep, 200,
				       json_pack("{s:b, s:o}", "ready", 1, "checks", checks));
	tr_error_set(&req->err, TR_E_NOT_READY, NULL, "%s",
		     db != DB_ONE ? "the database cannot be reached"
				  : "no valid workflows and policies are loaded");
	http_reply_problem(rep, req, &req->err,
			   json_pack("{s:b, s:o}", "ready", 0, "checks", checks));
	return TR_OK;
}

enum tr_code h_metrics(struct http_req *req, struct http_reply *rep)
{
	struct app *app = req->app;
	bool loaded, last_ok;
	json_decref(defs_holder_status(&app->defs, &loaded, &last_ok));
	json_t *remote = api_remote_status(app);
	char *text = metrics_render(app->metrics, loaded && last_ok, remote);
	json_decref(remote);
	if (text == NULL)
		return TR_E_NOMEM;
	enum tr_code rc = http_reply_text(rep, 200, "text/plain; version=0.0.4; charset=utf-8",
					  text, strlen(text));
	free(text);
	return rc;
}

/* The roles in `mask` as a JSON array of names. */
static json_t *roles_json(unsigned mask)
{
	json_t *a = json_array();
	for (unsigned bit = 1; a != NULL && bit <= ROLE_ADMIN; bit <<= 1)
		if (mask & bit)
			json_array_append_new(a, json_string(role_name(bit)));
	return a;
}

enum tr_code h_me(struct http_req *req, struct http_reply *rep)
{
	const struct http_user *u = &req->user;
	return http_reply_json(rep, 200,
			       json_pack("{s:s, s:s?, s:s?, s:o, s:I}", "user", u->name, "email",
					 u->email[0] ? u->email : NULL, "display_name",
					 u->display_name[0] ? u->display_name : NULL, "roles",
					 roles_json(u->roles), "token_id",
					 (json_int_t)u->token_id));
}
