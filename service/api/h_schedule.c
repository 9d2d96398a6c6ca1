/*
 * h_schedule.c -- maintenance windows, freezes, bookings, free slots, free/busy and
 * rescheduling over HTTP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "app/calendars.h"
#include "app/records.h"
#include "core/jsontext.h"
#include "core/timeutil.h"
#include "crypto/crypto.h"

#define DAY_MS       (86400LL * 1000)
#define RANGE_MAX_MS (400 * DAY_MS)

/* Reads time query argument `name` (RFC 3339, or a date meaning its UTC midnight). */
static bool time_arg(struct http_req *req, const char *name, long long *ms)
{
	const char *v = http_req_query(req, name);
	if (v == NULL)
		return true;
	char buf[40];
	if (strlen(v) == 10) {
		snprintf(buf, sizeof buf, "%sT00:00:00Z", v);
		v = buf;
	}
	if (!time_parse_rfc3339(v, ms)) {
		tr_error_set(&req->err, TR_E_BAD_PARAMETER, name,
			     "'%s' must be an RFC 3339 time or a date (2026-12-05)", name);
		return false;
	}
	return true;
}

static enum tr_code range(struct http_req *req, long long now, long long default_ms,
			  long long *from, long long *to)
{
	*from = now;
	*to = 0;
	if (!time_arg(req, "from", from) || !time_arg(req, "to", to))
		return req->err.code;
	if (*to == 0)
		*to = *from + default_ms;
	if (*to <= *from)
		return tr_error_set(&req->err, TR_E_BAD_PARAMETER, "to",
				    "'to' must be later than 'from'");
	if (*to - *from > RANGE_MAX_MS)
		return tr_error_set(&req->err, TR_E_BAD_PARAMETER, "to",
				    "the range may span 400 days at most");
	return TR_OK;
}

/* The ?service= argument, checked against the catalog (NULL when absent). */
static enum tr_code service_arg(struct http_req *req, const struct defs *d, const char **out)
{
	*out = http_req_query(req, "service");
	return calendars_service_check(d, *out, &req->err);
}

static enum tr_code instances(struct http_req *req, struct http_reply *rep, const char *kind,
			      const char *member, bool by_service)
{
	struct rec_ctx c;
	char hash[CRYPTO_SHA256_HEX_LEN];
	long long from, to;
	const char *service = NULL;
	json_t *list = NULL;
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = range(req, c.now_ms, 30 * DAY_MS, &from, &to);
	if (rc == TR_OK && by_service)
		rc = service_arg(req, c.defs, &service);
	if (rc == TR_OK)
		rc = records_calendar_instances(&c, kind, service, from, to, &list, &req->err);
	if (rc != TR_OK)
		return rc;
	char f[TIME_RFC3339_LEN], t[TIME_RFC3339_LEN];
	time_format_ms(from, f);
	time_format_ms(to, t);
	return http_reply_json(rep, 200,
			       json_pack("{s:s, s:s, s:s?, s:o}", "from", f, "to", t, "service",
					 service, member, list));
}

enum tr_code h_windows(struct http_req *req, struct http_reply *rep)
{
	return instances(req, rep, "window", "windows", true);
}

enum tr_code h_freezes(struct http_req *req, struct http_reply *rep)
{
	return instances(req, rep, "freeze", "freezes", true);
}

enum tr_code h_cab_meetings(struct http_req *req, struct http_reply *rep)
{
	return instances(req, rep, "meeting", "meetings", false);
}

enum tr_code h_schedule(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	char hash[CRYPTO_SHA256_HEX_LEN];
	long long from, to;
	const char *service = NULL;
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = range(req, c.now_ms, 30 * DAY_MS, &from, &to);
	if (rc == TR_OK)
		rc = service_arg(req, c.defs, &service);
	if (rc != TR_OK)
		return rc;
	/* {"from", "to", "service", "bookings"} written as text: a schedule holds hundreds */
	char f[TIME_RFC3339_LEN], t[TIME_RFC3339_LEN];
	struct jtext b = {0};
	time_format_ms(from, f);
	time_format_ms(to, t);
	jtext_puts(&b, "{\"from\":");
	jtext_put_string(&b, f);
	jtext_puts(&b, ",\"to\":");
	jtext_put_string(&b, t);
	jtext_puts(&b, ",\"service\":");
	jtext_put_string(&b, service);
	jtext_puts(&b, ",\"bookings\":");
	rc = records_bookings_text(&c, from, to, service, &b, &req->err);
	jtext_puts(&b, "}");
	if (rc == TR_OK && b.failed)
		rc = TR_E_NOMEM;
	if (rc == TR_OK) { /* the reply takes the text (freed once sent), not a copy */
		rc = http_reply_shared(rep, 200, "application/json", b.p, b.len, free, b.p);
		memset(&b, 0, sizeof b);
	}
	jtext_clear(&b);
	return rc;
}

/* The hypothetical change of a slots query: the query arguments under their record names. */
static json_t *slots_change(struct http_req *req, const char *services)
{
	const char *type = http_req_query(req, "type");
	json_t *change = json_pack("{s:[]}", "services");
	json_t *arr = json_object_get(change, "services");
	for (const char *p = services; *p;) {
		size_t n = strcspn(p, ",");
		if (n > 0 && n < 128) {
			char name[128];
			snprintf(name, sizeof name, "%.*s", (int)n, p);
			json_array_append_new(arr, json_string(name));
		}
		p += n + (p[n] == ',');
	}
	static const char *const pass[][2] = {{"duration", "duration"},
					      {"after", "not_before"},
					      {"before", "not_after"},
					      {"fixes_incident", "fixes_incident"}};
	for (size_t i = 0; i < sizeof pass / sizeof pass[0]; i++) {
		const char *v = http_req_query(req, pass[i][0]);
		if (v != NULL)
			json_object_set_new(change, pass[i][1], json_string(v));
	}
	if (type != NULL)
		json_object_set_new(change, "type", json_string(type));
	const char *env = http_req_query(req, "environment");
	if (env != NULL)
		json_object_set_new(change, "environment", json_string(env));
	return change;
}

enum tr_code h_slots(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	char hash[CRYPTO_SHA256_HEX_LEN];
	const char *services = http_req_query(req, "services");
	const char *count_s = http_req_query(req, "count");
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc != TR_OK)
		return rc;
	if (services == NULL || *services == '\0')
		return tr_error_set(&req->err, TR_E_BAD_PARAMETER, "services",
				    "'services' lists the services, comma-separated");
	long count = 5;
	if (count_s != NULL) {
		char *end;
		count = strtol(count_s, &end, 10);
		if (*end != '\0' || count < 1 || count > 50)
			return tr_error_set(&req->err, TR_E_BAD_PARAMETER, "count",
					    "'count' must be a number from 1 to 50");
	}
	json_t *change = slots_change(req, services);
	json_t *out = NULL;
	rc = records_slots(&c, change, (size_t)count, &out, &req->err);
	json_decref(change);
	if (rc != TR_OK) {
		/* The use case names the record field; the client wrote query arguments. */
		if (strcmp(req->err.field, "not_before") == 0)
			snprintf(req->err.field, sizeof req->err.field, "after");
		else if (strcmp(req->err.field, "not_after") == 0)
			snprintf(req->err.field, sizeof req->err.field, "before");
		return rc;
	}
	return http_reply_json(rep, 200, out);
}

enum tr_code h_freebusy(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	char hash[CRYPTO_SHA256_HEX_LEN];
	long long from, to;
	const char *service = NULL;
	json_t *busy = NULL;
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = range(req, c.now_ms, 30 * DAY_MS, &from, &to);
	if (rc == TR_OK)
		rc = service_arg(req, c.defs, &service);
	if (rc == TR_OK && service == NULL)
		rc = tr_error_set(&req->err, TR_E_BAD_PARAMETER, "service",
				  "'service' names the service whose free/busy time is wanted");
	if (rc == TR_OK)
		rc = calendars_freebusy(&c, service, from, to, &busy, &req->err);
	if (rc != TR_OK)
		return rc;
	const char *accept = http_req_header(req, "Accept");
	if (accept != NULL && strstr(accept, "text/calendar") != NULL) {
		char *text = NULL;
		size_t len = 0;
		rc = calendars_freebusy_ics(service, from, to, c.now_ms, busy, &text, &len,
					    &req->err);
		json_decref(busy);
		if (rc != TR_OK)
			return rc;
		rc = http_reply_text(rep, 200, "text/calendar; charset=utf-8", text, len);
		free(text);
		return rc;
	}
	char f[TIME_RFC3339_LEN], t[TIME_RFC3339_LEN];
	time_format_ms(from, f);
	time_format_ms(to, t);
	return http_reply_json(rep, 200,
			       json_pack("{s:s, s:s, s:s, s:o}", "service", service, "from", f,
					 "to", t, "busy", busy));
}

enum tr_code h_change_reschedule(struct http_req *req, struct http_reply *rep)
{
	struct rec_ctx c;
	struct rec_reply out = {0};
	char hash[CRYPTO_SHA256_HEX_LEN];
	enum tr_code rc = api_rec_context(req, &c, hash);
	if (rc == TR_OK)
		rc = records_reschedule(&c, route_param(&req->match, "id"), req->json, &out,
					&req->err);
	return api_rec_reply(req, rep, rc, &out);
}
