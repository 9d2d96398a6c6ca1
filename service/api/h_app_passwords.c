/*
 * h_app_passwords.c -- app passwords over HTTP: what calendar programs send as HTTP
 * Basic passwords (/v1/me/app-passwords).  The use cases, and the check of Basic
 * credentials the dispatcher calls for ROUTE_BASIC_AUTH routes, are in
 * app/credentials.c.
 *
 * A password is shown once, when made.  An app password carries the roles of the token
 * that made it, and dies with it (revoked token, disabled user).  It authenticates DAV
 * routes only; a bearer token, the API only (dispatch.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "app/credentials.h"

enum tr_code h_app_passwords_create(struct http_req *req, struct http_reply *rep)
{
	json_t *label = json_object_get(req->json, "label");
	const char *key;
	json_t *v;
	json_object_foreach(req->json, key, v) {
		if (strcmp(key, "label") != 0)
			return tr_error_set(&req->err, TR_E_UNPROCESSABLE, key,
					    "unknown member '%s' (only 'label')", key);
	}
	if (label != NULL && !json_is_string(label))
		return tr_error_set(&req->err, TR_E_UNPROCESSABLE, "label",
				    "'label' must be a string of 200 characters at most");
	char password[APP_PASSWORD_MAX];
	long long id = 0;
	struct app_actor who = api_actor(req);
	enum tr_code rc = app_password_create(api_session(req), &who, json_string_value(label), &id,
					      password, &req->err);
	if (rc != TR_OK)
		return rc;
	const char *base = ((struct app *)req->app)->public_url;
	char loc[64], dav[1200];
	snprintf(loc, sizeof loc, "/v1/me/app-passwords/%lld", id);
	snprintf(dav, sizeof dav, "%s/dav/", base);
	json_t *body = json_pack("{s:I, s:s?, s:s, s:s, s:s, s:s}", "id", (json_int_t)id, "label",
				 json_string_value(label), "user", req->user.name, "password",
				 password, "caldav_url", dav, "note",
				 "shown once: enter it in your calendar program with your user "
				 "name; DELETE /v1/me/app-passwords/{id} revokes it");
	explicit_bzero(password, sizeof password);
	rc = http_reply_json(rep, 201, body);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Location", loc);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Cache-Control", "no-store");
	return rc;
}

enum tr_code h_app_passwords_list(struct http_req *req, struct http_reply *rep)
{
	json_t *list = NULL;
	struct app_actor who = api_actor(req);
	enum tr_code rc = app_passwords_list(api_session(req), &who, &list, &req->err);
	if (rc != TR_OK)
		return rc;
	return http_reply_json(rep, 200, json_pack("{s:o}", "app_passwords", list));
}

enum tr_code h_app_passwords_revoke(struct http_req *req, struct http_reply *rep)
{
	const char *ids = route_param(&req->match, "id");
	char *end;
	long long id = strtoll(ids, &end, 10);
	if (*end != '\0' || id <= 0)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, "id", "no app password '%s'", ids);
	struct app_actor who = api_actor(req);
	enum tr_code rc = app_password_revoke(api_session(req), &who, id, &req->err);
	return rc == TR_OK ? http_reply_text(rep, 204, NULL, "", 0) : rc;
}
