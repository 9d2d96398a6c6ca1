/*
 * h_scim.c -- SCIM 2.0 (RFC 7643/7644) for identity providers that provision users:
 * /scim/v2/Users (list with `userName eq` filter and paging, read, create, replace,
 * patch, delete = disable) and /scim/v2/Groups (the policy groups, read-only), plus the
 * static discovery documents.  Admin bearer tokens only (routes.c, ROUTE_SCIM).
 *
 * The handlers decode SCIM (api/scim_decode.h) into struct app_scim_user_write, call
 * app/scim.h and encode SCIM resources; refusals carry the registered TR_R_SCIM_* rules,
 * which h_scim_error turns into SCIM's error shape with its scimType.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/scim_decode.h"
#include "app/scim.h"

#define SCIM_USER         "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_GROUP        "urn:ietf:params:scim:schemas:core:2.0:Group"
#define SCIM_LIST         "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCIM_CT           "application/scim+json"
#define SCIM_PAGE_DEFAULT 100

/* ---- errors ----------------------------------------------------------------------------- */

void h_scim_error(struct http_req *req, struct http_reply *rep)
{
	static const struct {
		enum tr_code rule;
		const char *type;
	} types[] = {
		{TR_R_SCIM_INVALID_FILTER, "invalidFilter"},
		{TR_R_SCIM_INVALID_VALUE, "invalidValue"},
		{TR_R_SCIM_INVALID_SYNTAX, "invalidSyntax"},
		{TR_R_SCIM_INVALID_PATH, "invalidPath"},
		{TR_R_SCIM_NO_TARGET, "noTarget"},
		{TR_R_SCIM_MUTABILITY, "mutability"},
		{TR_R_SCIM_UNIQUENESS, "uniqueness"},
	};
	const char *type = NULL;
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (req->err.rule_code == types[i].rule)
			type = types[i].type;
	if (type == NULL && req->err.rule_code == TR_OK &&
	    (req->err.code == TR_E_MALFORMED_JSON || req->err.code == TR_E_BAD_REQUEST))
		type = "invalidSyntax";
	http_reply_scim_error(rep, req, &req->err, type);
}

/* ---- encoding --------------------------------------------------------------------------- */

static enum tr_code reply_scim(struct http_reply *rep, int status, json_t *body)
{
	enum tr_code rc = http_reply_json(rep, status, body);
	if (rc == TR_OK)
		rep->content_type = SCIM_CT;
	return rc;
}

static const char *base_url(const struct http_req *req)
{
	return ((struct app *)req->app)->public_url;
}

static json_t *location(const struct http_req *req, const char *what, const char *id)
{
	char url[1400];
	snprintf(url, sizeof url, "%s/scim/v2/%s%s%s", base_url(req), what, id ? "/" : "",
		 id ? id : "");
	return json_string(url);
}

static json_t *user_json(const struct http_req *req, const struct app_scim_user *u)
{
	json_t *o = json_pack("{s:[s], s:s, s:s, s:b, s:{s:s, s:s, s:o}}", "schemas", SCIM_USER,
			      "id", u->name, "userName", u->name, "active", u->active, "meta",
			      "resourceType", "User", "created", u->created, "location",
			      location(req, "Users", u->name));
	if (o != NULL && u->display_name[0]) {
		json_object_set_new(o, "displayName", json_string(u->display_name));
		json_object_set_new(o, "name", json_pack("{s:s}", "formatted", u->display_name));
	}
	if (o != NULL && u->email[0])
		json_object_set_new(o, "emails",
				    json_pack("[{s:s, s:b, s:s}]", "value", u->email, "primary", 1,
					      "type", "work"));
	return o;
}

static json_t *group_json(const struct http_req *req, const struct app_scim_group *g)
{
	json_t *members = json_array();
	for (size_t i = 0; members != NULL && i < json_array_size(g->members); i++) {
		const char *m = json_string_value(json_array_get(g->members, i));
		json_array_append_new(members, json_pack("{s:s, s:s, s:s}", "value", m, "display",
							 m, "type", "User"));
	}
	return json_pack("{s:[s], s:s, s:s, s:o, s:{s:s, s:o}}", "schemas", SCIM_GROUP, "id",
			 g->name, "displayName", g->name, "members", members, "meta",
			 "resourceType", "Group", "location", location(req, "Groups", g->name));
}

static json_t *list_json(long total, long start, json_t *items)
{
	return json_pack("{s:[s], s:I, s:I, s:I, s:o}", "schemas", SCIM_LIST, "totalResults",
			 (json_int_t)total, "itemsPerPage", (json_int_t)json_array_size(items),
			 "startIndex", (json_int_t)start, "Resources", items);
}

/* ---- decoding --------------------------------------------------------------------------- */

/* Query parameter `name` as a whole number into *out (unchanged when absent). */
static enum tr_code query_long(struct http_req *req, const char *name, long *out)
{
	const char *v = http_req_query(req, name);
	if (v == NULL)
		return TR_OK;
	char *end;
	long n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || n < -1000000000L || n > 1000000000L)
		return scim_refuse(&req->err, TR_R_SCIM_INVALID_VALUE, name,
				   "expected a whole number");
	*out = n;
	return TR_OK;
}

/* The {id} of the route ("" when none). */
static const char *id_param(struct http_req *req)
{
	const char *id = route_param(&req->match, "id");
	return id ? id : "";
}

/* ---- users ------------------------------------------------------------------------------ */

enum tr_code h_scim_users_list(struct http_req *req, struct http_reply *rep)
{
	char name[256];
	const char *filter = http_req_query(req, "filter");
	long start = 1, count = SCIM_PAGE_DEFAULT;
	enum tr_code rc;
	if (filter != NULL &&
	    (rc = scim_filter_parse(filter, "userName", name, sizeof name, &req->err)) != TR_OK)
		return rc;
	if ((rc = query_long(req, "startIndex", &start)) != TR_OK ||
	    (rc = query_long(req, "count", &count)) != TR_OK)
		return rc;
	struct app_scim_page page;
	struct app_actor who = api_actor(req);
	rc = app_scim_users_list(api_session(req), &who, filter ? name : NULL, start, count, &page,
				 &req->err);
	if (rc != TR_OK)
		return rc;
	json_t *items = json_array();
	for (size_t i = 0; items != NULL && i < page.n; i++)
		json_array_append_new(items, user_json(req, &page.items[i]));
	json_t *body = list_json(page.total, page.start, items);
	app_scim_page_free(&page);
	return reply_scim(rep, 200, body);
}

enum tr_code h_scim_user_get(struct http_req *req, struct http_reply *rep)
{
	struct app_scim_user u;
	struct app_actor who = api_actor(req);
	enum tr_code rc = app_scim_user_get(api_session(req), &who, id_param(req), &u, &req->err);
	if (rc != TR_OK)
		return rc;
	return reply_scim(rep, 200, user_json(req, &u));
}

enum tr_code h_scim_user_create(struct http_req *req, struct http_reply *rep)
{
	struct app_scim_user_write w;
	struct app_scim_user u;
	struct scim_name_buf buf;
	enum tr_code rc = scim_user_decode(req->json, false, &w, &buf, &req->err);
	if (rc != TR_OK)
		return rc;
	struct app_actor who = api_actor(req);
	rc = app_scim_user_create(api_session(req), &who, &w, &u, &req->err);
	if (rc != TR_OK)
		return rc;
	json_t *loc = location(req, "Users", u.name);
	if (loc != NULL)
		http_reply_header(rep, "Location", json_string_value(loc));
	json_decref(loc);
	return reply_scim(rep, 201, user_json(req, &u));
}

/* PUT and PATCH: `w` applied to the route's user, the user answered. */
static enum tr_code update(struct http_req *req, struct http_reply *rep,
			   const struct app_scim_user_write *w)
{
	struct app_scim_user u;
	struct app_actor who = api_actor(req);
	enum tr_code rc =
		app_scim_user_update(api_session(req), &who, id_param(req), w, &u, &req->err);
	if (rc != TR_OK)
		return rc;
	return reply_scim(rep, 200, user_json(req, &u));
}

enum tr_code h_scim_user_replace(struct http_req *req, struct http_reply *rep)
{
	struct app_scim_user_write w;
	struct scim_name_buf buf;
	enum tr_code rc = scim_user_decode(req->json, true, &w, &buf, &req->err);
	return rc != TR_OK ? rc : update(req, rep, &w);
}

enum tr_code h_scim_user_patch(struct http_req *req, struct http_reply *rep)
{
	struct app_scim_user_write w;
	struct scim_name_buf buf;
	enum tr_code rc = scim_patch_decode(req->json, id_param(req), &w, &buf, &req->err);
	return rc != TR_OK ? rc : update(req, rep, &w);
}

enum tr_code h_scim_user_delete(struct http_req *req, struct http_reply *rep)
{
	struct app_actor who = api_actor(req);
	enum tr_code rc = app_scim_user_delete(api_session(req), &who, id_param(req), &req->err);
	if (rc != TR_OK)
		return rc;
	return http_reply_text(rep, 204, NULL, "", 0);
}

/* ---- groups ----------------------------------------------------------------------------- */

/* The groups (only `name` when not NULL): a list, or with `one` the group itself. */
static enum tr_code groups_reply(struct http_req *req, struct http_reply *rep, const char *name,
				 bool one)
{
	struct app_scim_groups g;
	struct app_actor who = api_actor(req);
	enum tr_code rc = app_scim_groups_list(api_session(req), &who, name, &g, &req->err);
	if (rc != TR_OK)
		return rc;
	if (one && g.n == 0) {
		app_scim_groups_free(&g);
		return tr_error_set(&req->err, TR_E_NOT_FOUND, "id", "no group '%s'", name);
	}
	json_t *body;
	if (one) {
		body = group_json(req, &g.items[0]);
	} else {
		json_t *items = json_array();
		for (size_t i = 0; items != NULL && i < g.n; i++)
			json_array_append_new(items, group_json(req, &g.items[i]));
		body = list_json((long)g.n, 1, items);
	}
	app_scim_groups_free(&g);
	return reply_scim(rep, 200, body);
}

enum tr_code h_scim_groups_list(struct http_req *req, struct http_reply *rep)
{
	char name[256];
	const char *filter = http_req_query(req, "filter");
	enum tr_code rc;
	if (filter != NULL &&
	    (rc = scim_filter_parse(filter, "displayName", name, sizeof name, &req->err)) != TR_OK)
		return rc;
	return groups_reply(req, rep, filter ? name : NULL, false);
}

enum tr_code h_scim_group_get(struct http_req *req, struct http_reply *rep)
{
	return groups_reply(req, rep, id_param(req), true);
}

/* ---- discovery (static) ----------------------------------------------------------------- */

static const char service_provider_config[] =
	"{\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig\"],"
	" \"documentationUri\": \"https://transom.dev/docs/security.md#provisioning-with-scim\","
	" \"patch\": {\"supported\": true},"
	" \"bulk\": {\"supported\": false, \"maxOperations\": 0, \"maxPayloadSize\": 0},"
	" \"filter\": {\"supported\": true, \"maxResults\": 200},"
	" \"changePassword\": {\"supported\": false}, \"sort\": {\"supported\": false},"
	" \"etag\": {\"supported\": false},"
	" \"authenticationSchemes\": [{\"type\": \"oauthbearertoken\", \"name\": \"Bearer token\","
	"  \"description\": \"A Transom API token of a user with the admin role\","
	"  \"primary\": true}],"
	" \"meta\": {\"resourceType\": \"ServiceProviderConfig\"}}";

static const char resource_types[] =
	"[{\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:ResourceType\"], \"id\": \"User\","
	"  \"name\": \"User\", \"endpoint\": \"/Users\", \"description\": \"A Transom user\","
	"  \"schema\": \"" SCIM_USER "\", \"meta\": {\"resourceType\": \"ResourceType\"}},"
	" {\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:ResourceType\"], \"id\": "
	"\"Group\","
	"  \"name\": \"Group\", \"endpoint\": \"/Groups\","
	"  \"description\": \"A policy group of policies/people.json (read-only)\","
	"  \"schema\": \"" SCIM_GROUP "\", \"meta\": {\"resourceType\": \"ResourceType\"}}]";

#define ATTR(name, type, mut, uniq, req_, extra)                                                   \
	"{\"name\": \"" name "\", \"type\": \"" type "\", \"multiValued\": false,"                 \
	" \"required\": " req_ ", \"caseExact\": true, \"mutability\": \"" mut "\","               \
	" \"returned\": \"default\", \"uniqueness\": \"" uniq "\"" extra "}"

static const char schemas[] =
	"[{\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:Schema\"], \"id\": "
	"\"" SCIM_USER "\","
	"  \"name\": \"User\", \"description\": \"A Transom user\", \"attributes\": "
	"[" ATTR("userName", "string", "immutable", "server", "true", "") "," ATTR(
		"displayName", "string", "readWrite", "none", "false",
		"") "," ATTR("name", "complex", "readWrite", "none", "false",
			     ", \"subAttributes\": [" ATTR(
				     "formatted", "string", "readWrite", "none", "false",
				     "") "]") ","
					      "{\"name\": \"emails\", \"type\": "
					      "\"complex\", \"multiValued\": true, "
					      "\"required\": false,"
					      " \"mutability\": \"readWrite\", "
					      "\"returned\": \"default\", "
					      "\"uniqueness\": \"none\","
					      " \"subAttributes\": [" ATTR("value", "string", "readWrite", "none", "false", "") "," ATTR(
						      "primary",
						      "boolean", "readWrite", "none",
						      "false",
						      "") "]}," ATTR("active", "boolean",
								     "readWrite",
								     "none", "false",
								     "") "], \"meta\": "
									 "{\"resourceTy"
									 "pe\": "
									 "\"Schema\"}},"
									 " {"
									 "\"schemas\": "
									 "[\"urn:ietf:"
									 "params:scim:"
									 "schemas:core:"
									 "2.0:Schema\"]"
									 ", \"id\": "
									 "\"" SCIM_GROUP "\","
									 "  \"name\": "
									 "\"Group\", "
									 "\"description"
									 "\": \"A "
									 "policy group "
									 "(read-only)"
									 "\", "
									 "\"attributes"
									 "\": [" ATTR(
										 "displ"
										 "ayNam"
										 "e",
										 "strin"
										 "g",
										 "readO"
										 "nly",
										 "serve"
										 "r",
										 "true",
										 "") ","
										     "{"
										     "\"name\": "
										     "\"members\", "
										     "\"type\": "
										     "\"complex\", "
										     "\"multiValued"
										     "\": true, "
										     "\"required\":"
										     " false,"
										     " "
										     "\"mutability"
										     "\": "
										     "\"readOnly\","
										     " \"returned\""
										     ": "
										     "\"default\", "
										     "\"uniqueness"
										     "\": \"none\","
										     " "
										     "\"subAttribut"
										     "es\": [" ATTR(
											     "valu"
											     "e",
											     "strin"
											     "g",
											     "readO"
											     "nly",
											     "none",
											     "fals"
											     "e",
											     "") "]"
												 "}"
												 "]"
												 ","
												 " "
												 "\"meta\": {\"resourceType\": \"Schema\"}}]";

/* A static document `text`, its meta.location set (a list: each item's, by its id). */
static enum tr_code static_doc(struct http_req *req, struct http_reply *rep, const char *text,
			       const char *what, bool list)
{
	json_t *doc = json_loads(text, 0, NULL);
	if (doc == NULL)
		return tr_error_set(&req->err, TR_E_INTERNAL, NULL, "bad static SCIM document");
	if (!list) {
		json_object_set_new(json_object_get(doc, "meta"), "location",
				    location(req, what, NULL));
		return reply_scim(rep, 200, doc);
	}
	size_t i;
	json_t *item;
	json_array_foreach(doc, i, item) {
		json_object_set_new(
			json_object_get(item, "meta"), "location",
			location(req, what, json_string_value(json_object_get(item, "id"))));
	}
	return reply_scim(rep, 200, list_json((long)json_array_size(doc), 1, doc));
}

enum tr_code h_scim_config(struct http_req *req, struct http_reply *rep)
{
	return static_doc(req, rep, service_provider_config, "ServiceProviderConfig", false);
}

enum tr_code h_scim_resource_types(struct http_req *req, struct http_reply *rep)
{
	return static_doc(req, rep, resource_types, "ResourceTypes", true);
}

enum tr_code h_scim_schemas(struct http_req *req, struct http_reply *rep)
{
	return static_doc(req, rep, schemas, "Schemas", true);
}
