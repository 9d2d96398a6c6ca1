/*
 * calendars.c -- the calendars as data: remote calendars, the services a query names,
 * free/busy time and the re-plan after the calendars changed (see calendars.h).
 */
#include "app/calendars.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar/calendar.h"
#include "calendar/feed.h"
#include "planner/planner.h"
#include "policy/catalog.h"

/* ---- remote calendars ------------------------------------------------------------------- */

size_t calendars_remote_count(const struct defs *d)
{
	return d != NULL && d->plan != NULL ? d->plan->n_remote : 0;
}

void calendars_remote_at(const struct defs *d, size_t i, struct calendars_remote *out)
{
	const struct planner_remote *r = &d->plan->remote[i];
	*out = (struct calendars_remote){.index = i,
					 .name = r->name,
					 .url = r->url,
					 .refresh_s = r->refresh_s,
					 .timeout_ms = r->timeout_ms};
}

bool calendars_remote_usable(const struct defs *d, const struct calendars_remote *rr,
			     const char *body, size_t len, char *error, size_t error_size)
{
	const struct planner_remote *r = &d->plan->remote[rr->index];
	bool ok = true;
	/* Only a calendar that parses replaces the last good copy. */
	struct diags diags = {0};
	struct cal_zones zones = {r->timezone, d->plan->timezone};
	struct cal_set *set = cal_parse_as(r->url, body, len, CAL_AS_FREEZE, r->hard, r->services,
					   &zones, &diags);
	if (set == NULL) {
		char *text = diags_join(&diags);
		snprintf(error, error_size, "not a usable calendar: %.400s",
			 text ? text : "out of memory");
		for (char *p = error; *p; p++)
			if (*p == '\n')
				*p = ' ';
		free(text);
		ok = false;
	}
	cal_free(set);
	diags_clear(&diags);
	return ok;
}

/* ---- services, free/busy -------------------------------------------------------------- */

enum tr_code calendars_service_check(const struct defs *d, const char *service,
				     struct tr_error *err)
{
	if (service != NULL && d->catalog != NULL && catalog_find(d->catalog, service) == NULL)
		return tr_error_set(err, TR_E_NOT_FOUND, "service", "no service '%s'", service);
	return TR_OK;
}

enum tr_code calendars_freebusy(struct rec_ctx *c, const char *service, long long from,
				long long to, json_t **out, struct tr_error *err)
{
	json_t *bookings = NULL, *freezes = NULL;
	enum tr_code rc = records_bookings(c, from, to, NULL, &bookings, err);
	if (rc == TR_OK)
		rc = records_calendar_instances(c, "freeze", service, from, to, &freezes, err);
	if (rc != TR_OK) {
		json_decref(bookings);
		return rc;
	}
	/* Busy: bookings on the service or a related one (they block it), hard freezes. */
	json_t *busy = json_array();
	size_t i, k;
	json_t *v, *s;
	json_array_foreach(bookings, i, v) {
		bool hit = false;
		json_array_foreach(json_object_get(v, "services"), k, s) {
			hit = hit ||
			      (c->defs->catalog ? catalog_related(c->defs->catalog, service,
								  json_string_value(s))
						: strcmp(service, json_string_value(s)) == 0);
		}
		if (hit)
			json_array_append_new(
				busy, json_pack("{s:O, s:O, s:O, s:O, s:s, s:O}", "start",
						json_object_get(v, "start"), "end",
						json_object_get(v, "end"), "start_ms",
						json_object_get(v, "start_ms"), "end_ms",
						json_object_get(v, "end_ms"), "type", "BUSY",
						"change", json_object_get(v, "change")));
	}
	json_array_foreach(freezes, i, v) {
		if (json_is_true(json_object_get(v, "hard")))
			json_array_append_new(busy,
					      json_pack("{s:O, s:O, s:O, s:O, s:s, s:O}", "start",
							json_object_get(v, "start"), "end",
							json_object_get(v, "end"), "start_ms",
							json_object_get(v, "start_ms"), "end_ms",
							json_object_get(v, "end_ms"), "type",
							"BUSY-UNAVAILABLE", "freeze",
							json_object_get(v, "summary")));
	}
	json_decref(bookings);
	json_decref(freezes);
	*out = busy;
	return TR_OK;
}

enum tr_code calendars_freebusy_ics(const char *service, long long from, long long to,
				    long long now_ms, json_t *busy, char **out, size_t *len,
				    struct tr_error *err)
{
	char uid[192];
	struct tr_error e = {0};
	size_t i;
	json_t *v;
	snprintf(uid, sizeof uid, "freebusy-%s-%lld-%lld@transom", service, from, to);
	struct cal_freebusy fb = {.uid = uid, .from_ms = from, .to_ms = to, .dtstamp_ms = now_ms};
	/* The calendar takes periods only: start_ms, end_ms, type. */
	json_t *periods = json_array();
	json_array_foreach(busy, i, v) {
		json_array_append_new(periods, json_pack("{s:O, s:O, s:O}", "start_ms",
							 json_object_get(v, "start_ms"), "end_ms",
							 json_object_get(v, "end_ms"), "type",
							 json_object_get(v, "type")));
	}
	char *text = cal_freebusy_build(&fb, periods, len, &e);
	json_decref(periods);
	if (text == NULL)
		return tr_error_set(err, TR_E_INTERNAL, NULL, "free/busy: %s", e.detail);
	*out = text;
	return TR_OK;
}
