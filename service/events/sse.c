/*
 * sse.c -- record events as Server-Sent Events: payload parsing, SSE framing and the
 * subscriber filters.  Pure: no I/O, no clock, no threads.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/events.h"

static const struct {
	const char *name;
	unsigned bit;
} kinds[] = {
	{"change", EVENTS_KIND_CHANGE},
	{"incident", EVENTS_KIND_INCIDENT},
	{"problem", EVENTS_KIND_PROBLEM},
};

static unsigned kind_bit(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strlen(kinds[i].name) == len && strncmp(kinds[i].name, name, len) == 0)
			return kinds[i].bit;
	return 0;
}

/* An SSE field value must not break lines; we also keep event names tame. */
static bool type_ok(const char *s)
{
	size_t n = 0;
	for (; s[n] != '\0'; n++) {
		char c = s[n];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		if (!ok || n >= EVENTS_TYPE_MAX - 1)
			return false;
	}
	return n > 0;
}

/* Copies the service names of `j` ("services" array or "service" string) into `ev`. */
static enum tr_code parse_services(json_t *j, struct events_event *ev, struct tr_error *err)
{
	json_t *list = json_object_get(j, "services"), *one = json_object_get(j, "service");
	json_t *item;
	size_t i, total = 0;

	if (list == NULL && json_is_string(one)) {
		list = json_array();
		if (list == NULL || json_array_append(list, one) != 0) {
			json_decref(list);
			return TR_E_NOMEM;
		}
	} else if (list == NULL || json_is_null(list)) {
		return TR_OK;
	} else if (!json_is_array(list)) {
		return tr_error_set(err, TR_E_BAD_REQUEST, "services", "services must be an array");
	} else {
		json_incref(list);
	}
	enum tr_code rc = TR_OK;
	json_array_foreach(list, i, item) {
		if (!json_is_string(item)) {
			rc = tr_error_set(err, TR_E_BAD_REQUEST, "services",
					  "services[%zu] must be a string", i);
			break;
		}
		total += json_string_length(item) + 1;
	}
	if (rc == TR_OK && total > 0) {
		ev->services = malloc(total);
		if (ev->services == NULL)
			rc = TR_E_NOMEM;
	}
	for (size_t off = 0, k = 0; rc == TR_OK && k < json_array_size(list); k++) {
		item = json_array_get(list, k);
		size_t n = json_string_length(item);
		memcpy(ev->services + off, json_string_value(item), n);
		ev->services[off + n] = '\0';
		off += n + 1;
		ev->nservices++;
	}
	json_decref(list);
	return rc;
}

static char *format_frame(const struct events_event *ev, const char *data, size_t *len)
{
	char id[40] = "";
	if (ev->has_seq)
		snprintf(id, sizeof id, "id: %lld\n", ev->seq);
	int n = snprintf(NULL, 0, "%sevent: %s\ndata: %s\n\n", id, ev->type, data);
	if (n < 0)
		return NULL;
	char *frame = malloc((size_t)n + 1);
	if (frame == NULL)
		return NULL;
	snprintf(frame, (size_t)n + 1, "%sevent: %s\ndata: %s\n\n", id, ev->type, data);
	*len = (size_t)n;
	return frame;
}

enum tr_code events_event_parse(const char *payload, struct events_event *ev, struct tr_error *err)
{
	json_error_t je;
	json_t *j, *v;
	enum tr_code rc;

	memset(ev, 0, sizeof *ev);
	if (strlen(payload) > EVENTS_PAYLOAD_MAX)
		return tr_error_set(err, TR_E_BAD_REQUEST, NULL,
				    "the payload is longer than %d bytes", EVENTS_PAYLOAD_MAX);
	j = json_loads(payload, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL)
		return tr_error_set(err, TR_E_BAD_REQUEST, NULL, "the payload is not JSON: %s",
				    je.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return tr_error_set(err, TR_E_BAD_REQUEST, NULL, "the payload is not an object");
	}
	v = json_object_get(j, "type");
	if (!json_is_string(v) || !type_ok(json_string_value(v))) {
		json_decref(j);
		return tr_error_set(err, TR_E_BAD_REQUEST, "type",
				    "type must be a name of letters, digits, '.', '_' or '-'");
	}
	snprintf(ev->type, sizeof ev->type, "%s", json_string_value(v));
	v = json_object_get(j, "seq");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			json_decref(j);
			return tr_error_set(err, TR_E_BAD_REQUEST, "seq",
					    "seq must be a non-negative integer");
		}
		ev->seq = (long long)json_integer_value(v);
		ev->has_seq = true;
	}
	v = json_object_get(j, "kind");
	if (json_is_string(v))
		ev->kind = kind_bit(json_string_value(v), json_string_length(v));
	rc = parse_services(j, ev, err);
	if (rc == TR_OK) {
		/* Raw line breaks can only be JSON whitespace: re-encode to keep one data line. */
		char *dumped = NULL;
		const char *data = payload;
		if (strpbrk(payload, "\r\n") != NULL) {
			dumped = json_dumps(j, JSON_COMPACT);
			data = dumped;
		}
		ev->frame = data != NULL ? format_frame(ev, data, &ev->frame_len) : NULL;
		if (ev->frame == NULL)
			rc = TR_E_NOMEM;
		free(dumped);
	}
	json_decref(j);
	if (rc != TR_OK)
		events_event_clear(ev);
	return rc;
}

void events_event_clear(struct events_event *ev)
{
	free(ev->services);
	free(ev->frame);
	memset(ev, 0, sizeof *ev);
}

/* Calls `fn` for each comma-separated item of `list` (spaces around items trimmed). */
static enum tr_code split_list(const char *list, const char *field, struct tr_error *err,
			       enum tr_code (*fn)(void *cls, const char *item, size_t len,
						  struct tr_error *err),
			       void *cls)
{
	const char *p = list;
	for (;;) {
		size_t n = strcspn(p, ",");
		const char *a = p, *b = p + n;
		while (a < b && *a == ' ')
			a++;
		while (b > a && b[-1] == ' ')
			b--;
		if (a == b)
			return tr_error_set(err, TR_E_BAD_PARAMETER, field,
					    "%s must be a comma-separated list of names without "
					    "empty items",
					    field);
		enum tr_code rc = fn(cls, a, (size_t)(b - a), err);
		if (rc != TR_OK)
			return rc;
		if (p[n] == '\0')
			return TR_OK;
		p += n + 1;
	}
}

static enum tr_code add_kind(void *cls, const char *item, size_t len, struct tr_error *err)
{
	struct events_filter *f = cls;
	unsigned bit = kind_bit(item, len);
	if (bit == 0)
		return tr_error_set(err, TR_E_BAD_PARAMETER, "kind",
				    "unknown kind '%.*s'; expected change, incident or problem",
				    (int)(len > 64 ? 64 : len), item);
	f->kinds |= bit;
	return TR_OK;
}

static enum tr_code add_service(void *cls, const char *item, size_t len, struct tr_error *err)
{
	struct events_filter *f = cls;
	if (f->nservices >= EVENTS_FILTER_MAX_SERVICES)
		return tr_error_set(err, TR_E_BAD_PARAMETER, "service",
				    "at most %d services may be named", EVENTS_FILTER_MAX_SERVICES);
	if (len >= EVENTS_SERVICE_MAX)
		return tr_error_set(err, TR_E_BAD_PARAMETER, "service",
				    "a service name is at most %d bytes", EVENTS_SERVICE_MAX - 1);
	memcpy(f->services[f->nservices], item, len);
	f->services[f->nservices][len] = '\0';
	f->nservices++;
	return TR_OK;
}

enum tr_code events_filter_parse(struct events_filter *f, const char *kind_list,
				 const char *service_list, struct tr_error *err)
{
	enum tr_code rc = TR_OK;
	memset(f, 0, sizeof *f);
	if (kind_list != NULL)
		rc = split_list(kind_list, "kind", err, add_kind, f);
	if (rc == TR_OK && service_list != NULL)
		rc = split_list(service_list, "service", err, add_service, f);
	return rc;
}

bool events_filter_match(const struct events_filter *f, const struct events_event *ev)
{
	if (f->kinds != 0 && (f->kinds & ev->kind) == 0)
		return false;
	if (f->nservices == 0)
		return true;
	const char *s = ev->services;
	for (size_t i = 0; i < ev->nservices; i++, s += strlen(s) + 1)
		for (unsigned k = 0; k < f->nservices; k++)
			if (strcmp(s, f->services[k]) == 0)
				return true;
	return false;
}

char *events_frame_resync(const char *reason, size_t *len)
{
	int n = snprintf(NULL, 0, "event: resync\ndata: {\"reason\":\"%s\"}\n\n", reason);
	char *frame = n < 0 ? NULL : malloc((size_t)n + 1);
	if (frame == NULL)
		return NULL;
	snprintf(frame, (size_t)n + 1, "event: resync\ndata: {\"reason\":\"%s\"}\n\n", reason);
	*len = (size_t)n;
	return frame;
}
