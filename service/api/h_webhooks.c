/*
 * h_webhooks.c -- webhook subscriptions over HTTP: create, list, read, delete, their
 * deliveries (with every attempt) and replaying a delivery.  Decodes, calls the use
 * cases of app/webhooks.h (who may see which subscription, the URL and secret checks),
 * encodes.  Sending is the worker's job (jobs/webhooks.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/jspec.h"
#include "app/webhooks.h"

#define DELIVERIES_LIMIT 50  /* default page */
#define DELIVERIES_MAX   500 /* largest page */

/* Route parameter `name` as a positive id; 0 when it is not one. */
static long long id_param(const struct http_req *req, const char *name)
{
	const char *s = route_param(&req->match, name);
	char *end;
	long long id = s ? strtoll(s, &end, 10) : 0;
	return s != NULL && *s >= '0' && *s <= '9' && *end == '\0' && id > 0 ? id : 0;
}

enum tr_code h_webhooks_create(struct http_req *req, struct http_reply *rep)
{
	struct app_webhook_request rq = {0};
	const struct jspec spec[] = {
		{"url", JSPEC_STRING, true, &rq.url},
		{"events", JSPEC_STRING_ARRAY, true, &rq.events},
		{"secret", JSPEC_STRING, false, &rq.secret},
		JSPEC_END,
	};
	enum tr_code rc = jspec_parse(req->json, spec, true, &req->err);
	if (rc != TR_OK)
		return rc;
	json_t *hook = NULL;
	long long id = 0;
	struct app_actor who = api_actor(req);
	rc = app_webhook_create(api_session(req), &who, &rq, &hook, &id, &req->err);
	if (rc != TR_OK)
		return rc;
	char loc[64];
	snprintf(loc, sizeof loc, "/v1/webhooks/%lld", id);
	rc = http_reply_json(rep, 201, hook);
	if (rc == TR_OK)
		rc = http_reply_header(rep, "Location", loc);
	return rc;
}

enum tr_code h_webhooks_list(struct http_req *req, struct http_reply *rep)
{
	json_t *list = NULL;
	struct app_actor who = api_actor(req);
	enum tr_code rc = app_webhooks_list(api_session(req), &who, &list, &req->err);
	if (rc != TR_OK)
		return rc;
	return http_reply_json(rep, 200, json_pack("{s:o}", "webhooks", list));
}

enum tr_code h_webhook_get(struct http_req *req, struct http_reply *rep)
{
	json_t *hook;
	struct app_actor who = api_actor(req);
	enum tr_code rc = app_webhook_get(api_session(req), &who, id_param(req, "id"),
					  route_param(&req->match, "id"), true, &hook, &req->err);
	return rc == TR_OK ? http_reply_json(rep, 200, hook) : rc;
}

enum tr_code h_webhooks_delete(struct http_req *req, struct http_reply *rep)
{
	struct app_actor who = api_actor(req);
	enum tr_code rc = app_webhook_delete(api_session(req), &who, id_param(req, "id"),
					     route_param(&req->match, "id"), &req->err);
	return rc == TR_OK ? http_reply_text(rep, 204, NULL, "", 0) : rc;
}

/* Query argument `name` as a whole number in [1, max] into *out (left alone when absent). */
static enum tr_code number_arg(struct http_req *req, const char *name, long long max,
			       long long *out)
{
	const char *v = http_req_query(req, name);
	if (v == NULL)
		return TR_OK;
	char *end;
	long long n = strtoll(v, &end, 10);
	if (*v < '0' || *v > '9' || *end != '\0' || n < 1 || n > max)
		return tr_error_set(&req->err, TR_E_BAD_PARAMETER, name,
				    "'%s' must be a whole number from 1 to %lld", name, max);
	*out = n;
	return TR_OK;
}

enum tr_code h_webhook_deliveries(struct http_req *req, struct http_reply *rep)
{
	struct app_delivery_query q = {.status = http_req_query(req, "status"),
				       .record = http_req_query(req, "record"),
				       .limit = DELIVERIES_LIMIT};
	json_t *body = NULL;
	if (q.status != NULL && strcmp(q.status, "pending") != 0 &&
	    strcmp(q.status, "delivered") != 0 && strcmp(q.status, "dead") != 0)
		return tr_error_set(&req->err, TR_E_BAD_PARAMETER, "status",
				    "'status' must be pending, delivered or dead");
	if (q.record != NULL && (q.record[0] == '\0' || strlen(q.record) > 64))
		return tr_error_set(&req->err, TR_E_BAD_PARAMETER, "record",
				    "'record' must be a record id like CHG-7");
	enum tr_code rc = number_arg(req, "limit", DELIVERIES_MAX, &q.limit);
	if (rc == TR_OK)
		rc = number_arg(req, "before", (long long)9e18, &q.before);
	struct app_actor who = api_actor(req);
	if (rc == TR_OK)
		rc = app_webhook_deliveries(api_session(req), &who, id_param(req, "id"),
					    route_param(&req->match, "id"), &q, &body, &req->err);
	return rc == TR_OK ? http_reply_json(rep, 200, body) : rc;
}

enum tr_code h_webhook_replay(struct http_req *req, struct http_reply *rep)
{
	long long id = id_param(req, "id"), delivery = id_param(req, "delivery_id");
	if (id == 0 || delivery == 0)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, id == 0 ? "id" : "delivery_id",
				    "no such webhook delivery");
	json_t *d = NULL;
	struct app_actor who = api_actor(req);
	enum tr_code rc = app_webhook_replay(api_session(req), &who, id, delivery, &d, &req->err);
	return rc == TR_OK ? http_reply_json(rep, 202, d) : rc;
}
