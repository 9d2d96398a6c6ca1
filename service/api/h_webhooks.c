/*
 * h_webhooks.c -- webhook subscriptions over HTTP: create, list, read, delete, their
 * deliveries (with every attempt) and replaying a delivery.
 *
 * A subscription belongs to the caller who created it; admins see and manage all of
 * them, anyone else gets 404 for another's.  The signing secret is a shared secret: it
 * is stored as given (the worker needs it to sign) and never shown again, except that a
 * generated one is returned once, in the 201 reply.  Sending is the worker's job
 * (jobs/webhooks.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "net/net.h"
#include "api/jspec.h"
#include "auth/roles.h"
#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "store/webhooks.h"

#define URL_MAX          2048
#define EVENTS_MAX       64
#define PATTERN_MAX      128
#define SECRET_MIN       16
#define SECRET_MAX       256
#define DELIVERIES_LIMIT 50  /* default page */
#define DELIVERIES_MAX   500 /* largest page */

/* The owner the caller may act for: NULL (everyone's) for admins. */
static const char *owner_of(const struct http_req *req)
{
	return (req->user.roles & ROLE_ADMIN) ? NULL : req->user.name;
}

/* Why `url` is not a webhook URL, or NULL when it is one. */
static const char *url_problem(const char *url)
{
	size_t n = strlen(url);
	const char *rest = strncmp(url, "https://", 8) == 0  ? url + 8
			   : strncmp(url, "http://", 7) == 0 ? url + 7
							     : NULL;
	if (rest == NULL)
		return "must start with http:// or https://";
	if (*rest == '\0' || *rest == '/' || *rest == '?' || *rest == '#')
		return "must name a host";
	if (n > URL_MAX)
		return "must be 2048 characters at most";
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return "must not contain spaces or control characters";
	return NULL;
}

/*
 * Whether `p` is an event pattern: '*', a topic ("change.scheduled"), or a topic prefix
 * ending in '*' ("change.*"); topics are letters, digits and . _ : -.
 */
static bool pattern_ok(const char *p)
{
	size_t n = strlen(p);
	if (n == 0 || n > PATTERN_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '*' && i == n - 1)
			continue;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

static enum tr_code check_events(struct http_req *req, json_t *events)
{
	size_t n = json_array_size(events), i;
	json_t *v;
	if (n == 0 || n > EVENTS_MAX)
		return tr_error_set(&req->err, TR_E_UNPROCESSABLE, "events",
				    "'events' must list 1 to %d patterns (\"*\", \"change.*\", "
				    "\"record.created\", ...)",
				    EVENTS_MAX);
	json_array_foreach(events, i, v) {
		char field[32];
		snprintf(field, sizeof field, "events[%zu]", i);
		if (!pattern_ok(json_string_value(v)))
			return tr_error_set(&req->err, TR_E_UNPROCESSABLE, field,
					    "'%s' must be a topic (letters, digits, . _ : -), a "
					    "prefix ending in '*' like \"change.*\", or \"*\"",
					    field);
		for (size_t k = 0; k < i; k++)
			if (json_equal(v, json_array_get(events, k)))
				return tr_error_set(&req->err, TR_E_UNPROCESSABLE, field,
						    "'%s' repeats events[%zu]", field, k);
	}
	return TR_OK;
}

static enum tr_code check_secret(struct http_req *req, const char *secret)
{
	size_t n = strlen(secret);
	bool printable = true;
	for (const unsigned char *p = (const unsigned char *)secret; *p; p++)
		printable = printable && *p > 0x20 && *p < 0x7f;
	if (n < SECRET_MIN || n > SECRET_MAX || !printable)
		return tr_error_set(&req->err, TR_E_UNPROCESSABLE, "secret",
				    "'secret' must be %d to %d printable ASCII characters without "
				    "spaces (leave it out to have one generated)",
				    SECRET_MIN, SECRET_MAX);
	return TR_OK;
}

/* Route parameter `name` as a positive id; 0 when it is not one. */
static long long id_param(const struct http_req *req, const char *name)
{
	const char *s = route_param(&req->match, name);
	char *end;
	long long id = s ? strtoll(s, &end, 10) : 0;
	return s != NULL && *s >= '0' && *s <= '9' && *end == '\0' && id > 0 ? id : 0;
}

/* The caller's visible subscription {id} into *out (owned); 404 when there is none. */
static enum tr_code find_hook(struct http_req *req, bool counts, long long *id, json_t **out)
{
	*out = NULL;
	*id = id_param(req, "id");
	if (*id == 0)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, "id", "no webhook '%s'",
				    route_param(&req->match, "id"));
	json_t *list = NULL;
	enum db_status s = store_webhooks_list(api_store(req), owner_of(req), *id, counts, &list);
	if (s < 0)
		return api_db_error(req, s);
	if (json_array_size(list) == 0) {
		json_decref(list);
		return tr_error_set(&req->err, TR_E_NOT_FOUND, "id", "no webhook %lld of yours",
				    *id);
	}
	*out = json_incref(json_array_get(list, 0));
	json_decref(list);
	return TR_OK;
}

enum tr_code h_webhooks_create(struct http_req *req, struct http_reply *rep)
{
	const char *url = NULL, *secret = NULL;
	json_t *events = NULL;
	const struct jspec spec[] = {
		{"url", JSPEC_STRING, true, &url},
		{"events", JSPEC_STRING_ARRAY, true, &events},
		{"secret", JSPEC_STRING, false, &secret},
		JSPEC_END,
	};
	enum tr_code rc = jspec_parse(req->json, spec, true, &req->err);
	if (rc != TR_OK)
		return rc;
	const char *why = url_problem(url);
	if (why != NULL)
		return tr_error_set(&req->err, TR_E_UNPROCESSABLE, "url", "'url' %s", why);
	/* SSRF: an internal address written as a literal is refused now; a name is checked
	 * each time it is resolved, when a delivery connects (net.h). */
	char refused[256];
	if (!net_guard_check_url(((struct app *)req->app)->guard, url, refused, sizeof refused)) {
		rc = tr_error_set(&req->err, TR_E_UNPROCESSABLE, "url", "'url': %s", refused);
		tr_error_rule(&req->err, TR_R_INTERNAL_ADDRESS);
		return rc;
	}
	if ((rc = check_events(req, events)) != TR_OK)
		return rc;
	char generated[64];
	if (secret != NULL && (rc = check_secret(req, secret)) != TR_OK)
		return rc;
	if (secret == NULL) {
		if (!crypto_token("whsec_", 24, generated, sizeof generated))
			return tr_error_set(&req->err, TR_E_INTERNAL, NULL, "no randomness");
	}
	/* Kept sealed: the database alone does not give the secret away. */
	struct app *app = req->app;
	char *sealed = app->keyring ? crypto_seal(app->keyring, secret ? secret : generated,
						  CRYPTO_AAD_WEBHOOK_SECRET)
				    : NULL;
	if (sealed == NULL)
		return tr_error_set(&req->err, TR_E_INTERNAL, NULL, "cannot seal the secret");
	json_t *hook = NULL;
	enum db_status s =
		store_webhook_insert(api_store(req), req->user.name, url, events, sealed, &hook);
	free(sealed);
	if (s < 0)
		return api_db_error(req, s);
	long long id = (long long)json_integer_value(json_object_get(hook, "id"));
	if (secret == NULL) {
		json_object_set_new(hook, "secret", json_string(generated));
		json_object_set_new(hook, "note",
				    json_string("the secret is shown only now: keep it to verify "
						"X-Transom-Signature"));
	}
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
	enum db_status s = store_webhooks_list(api_store(req), owner_of(req), 0, false, &list);
	if (s < 0)
		return api_db_error(req, s);
	return http_reply_json(rep, 200, json_pack("{s:o}", "webhooks", list));
}

enum tr_code h_webhook_get(struct http_req *req, struct http_reply *rep)
{
	long long id;
	json_t *hook;
	enum tr_code rc = find_hook(req, true, &id, &hook);
	return rc == TR_OK ? http_reply_json(rep, 200, hook) : rc;
}

enum tr_code h_webhooks_delete(struct http_req *req, struct http_reply *rep)
{
	long long id = id_param(req, "id");
	if (id == 0)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, "id", "no webhook '%s'",
				    route_param(&req->match, "id"));
	enum db_status s = store_webhook_deactivate(api_store(req), id, owner_of(req));
	if (s < 0)
		return api_db_error(req, s);
	if (s == DB_NONE)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, "id", "no webhook %lld of yours",
				    id);
	return http_reply_text(rep, 204, NULL, "", 0);
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
	long long id, limit = DELIVERIES_LIMIT, before = 0;
	json_t *hook = NULL, *list = NULL;
	const char *status = http_req_query(req, "status");
	const char *record = http_req_query(req, "record");
	if (status != NULL && strcmp(status, "pending") != 0 && strcmp(status, "delivered") != 0 &&
	    strcmp(status, "dead") != 0)
		return tr_error_set(&req->err, TR_E_BAD_PARAMETER, "status",
				    "'status' must be pending, delivered or dead");
	if (record != NULL && (record[0] == '\0' || strlen(record) > 64))
		return tr_error_set(&req->err, TR_E_BAD_PARAMETER, "record",
				    "'record' must be a record id like CHG-7");
	enum tr_code rc = number_arg(req, "limit", DELIVERIES_MAX, &limit);
	if (rc == TR_OK)
		rc = number_arg(req, "before", (long long)9e18, &before);
	if (rc == TR_OK)
		rc = find_hook(req, false, &id, &hook);
	json_decref(hook);
	if (rc != TR_OK)
		return rc;
	struct store_delivery_filter f = {.webhook_id = id,
					  .before = before,
					  .status = status,
					  .record = record,
					  .limit = (unsigned)limit};
	enum db_status s = store_webhook_deliveries(api_store(req), &f, &list);
	if (s < 0)
		return api_db_error(req, s);
	json_t *body = json_pack("{s:I, s:o}", "webhook", (json_int_t)id, "deliveries", list);
	if (body != NULL && json_array_size(list) == (size_t)limit) {
		/* a full page: the next one starts below its last id */
		json_t *last = json_array_get(list, json_array_size(list) - 1);
		json_object_set_new(body, "next_before", json_incref(json_object_get(last, "id")));
	}
	return http_reply_json(rep, 200, body);
}

enum tr_code h_webhook_replay(struct http_req *req, struct http_reply *rep)
{
	long long id = id_param(req, "id"), delivery = id_param(req, "delivery_id");
	char was[16];
	if (id == 0 || delivery == 0)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, id == 0 ? "id" : "delivery_id",
				    "no such webhook delivery");
	enum db_status s = store_webhook_replay(api_store(req), id, delivery, owner_of(req), was);
	if (s < 0)
		return api_db_error(req, s);
	if (s == DB_NONE)
		return tr_error_set(&req->err, TR_E_NOT_FOUND, "delivery_id",
				    "no delivery %lld of webhook %lld of yours", delivery, id);
	if (strcmp(was, "pending") == 0)
		return tr_error_set(&req->err, TR_E_CONFLICT, "delivery_id",
				    "delivery %lld is pending already: it is being retried",
				    delivery);
	json_t *list = NULL;
	struct store_delivery_filter f = {.webhook_id = id, .id = delivery, .limit = 1};
	s = store_webhook_deliveries(api_store(req), &f, &list);
	if (s < 0)
		return api_db_error(req, s);
	json_t *d = json_incref(json_array_get(list, 0));
	json_decref(list);
	return http_reply_json(rep, 202, d ? d : json_object());
}
