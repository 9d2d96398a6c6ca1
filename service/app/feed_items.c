/*
 * feed_items.c -- the events of Transom's calendars (booked changes, window, freeze and
 * meeting instances) as cal_feed items, shared by the ICS feeds and CalDAV.
 */
#include "app/feed_items.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "core/utf8.h"
#include "planner/planner.h"
#include "store/records.h"

/* Appends "text" to a growing description, cut on a UTF-8 character boundary. */
static void line_add(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void line_add(char *buf, size_t size, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;
	if (used + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
	utf8_clean(buf + used);
}

static char *joined(json_t *arr, char *buf, size_t size)
{
	size_t i;
	json_t *v;
	buf[0] = '\0';
	if (json_is_string(arr))
		utf8_snprintf(buf, size, "%s", json_string_value(arr));
	json_array_foreach(arr, i, v) {
		line_add(buf, size, "%s%s", i ? ", " : "", json_string_value(v) ?: "");
	}
	return buf;
}

/*
 * Appends `item` (stolen) to `items`; an item that could not be built (NULL: invalid text
 * or no memory) is logged, never dropped silently.  False when it was not appended.
 */
static bool append_item(json_t *items, json_t *item, const char *uid)
{
	if (item != NULL && json_array_append_new(items, item) == 0)
		return true;
	LOG_ERROR("event=feed_item_unrenderable uid=%s", uid);
	return false;
}

void feed_items_bookings(json_t *items, json_t *sources, const json_t *bookings, const char *base)
{
	size_t i;
	json_t *b;
	json_array_foreach(bookings, i, b) {
		const char *id = json_string_value(json_object_get(b, "change"));
		char uid[96], summary[512], desc[1024] = "", url[1200], svc[512];
		utf8_snprintf(uid, sizeof uid, "%s@transom", id);
		utf8_snprintf(summary, sizeof summary, "%s: %s", id,
			      json_string_value(json_object_get(b, "title")) ?: "");
		utf8_snprintf(url, sizeof url, "%s/v1/changes/%s", base, id);
		line_add(desc, sizeof desc, "Change %s (%s), state %s.\nServices: %s\n", id,
			 json_string_value(json_object_get(b, "type")) ?: "change",
			 json_string_value(json_object_get(b, "state")) ?: "?",
			 joined(json_object_get(b, "services"), svc, sizeof svc));
		if (json_is_string(json_object_get(b, "window_uid")))
			line_add(desc, sizeof desc, "Window: %s\n",
				 json_string_value(json_object_get(b, "window_uid")));
		line_add(desc, sizeof desc, "%s", url);
		json_t *item = json_pack(
			"{s:s, s:s, s:s, s:O, s:O, s:s, s:O, s:O, s:O, s:[s], s:s, s:s, "
			"s:{s:s, s:s}}",
			"uid", uid, "summary", summary, "description", desc, "start_ms",
			json_object_get(b, "start_ms"), "end_ms", json_object_get(b, "end_ms"),
			"url", url, "sequence", json_object_get(b, "sequence"), "dtstamp_ms",
			json_object_get(b, "updated_ms"), "last_modified_ms",
			json_object_get(b, "updated_ms"), "categories", "CHANGE", "status",
			"CONFIRMED", "transp", "OPAQUE", "x", "X-TRANSOM-CHANGE", id,
			"X-TRANSOM-SERVICES", svc);
		if (!append_item(items, item, uid))
			continue;
		if (sources != NULL)
			json_array_append(sources, b);
	}
}

/* The CAB agenda of the meetings (see cab_agenda) and when its content last changed. */
struct agenda {
	char text[8192];
	long long changed_ms; /* the newest updated_at of the changes on it; 0: none */
	long long now_ms;
	long long next_start_ms; /* the meeting that carries it: the first not yet over */
};

/* The start of the first meeting in `inst` that is not over at `now_ms`; 0: none. */
static long long next_meeting(json_t *inst, long long now_ms)
{
	long long best = 0;
	size_t i;
	json_t *v;
	json_array_foreach(inst, i, v) {
		const char *kind = json_string_value(json_object_get(v, "kind"));
		long long start = json_integer_value(json_object_get(v, "start_ms"));
		if (kind != NULL && strcmp(kind, "meeting") == 0 &&
		    json_integer_value(json_object_get(v, "end_ms")) > now_ms &&
		    (best == 0 || start < best))
			best = start;
	}
	return best;
}

/*
 * The description of the meeting at `start_ms`: the agenda for the next meeting, a short
 * note for the others (past meetings decided what was on them; a later meeting takes the
 * changes still undecided after the next one).  Sets *stamp_ms to the agenda's change time
 * when it is newer.
 */
static void meeting_text(const struct agenda *a, long long start_ms, long long end_ms, char *out,
			 size_t size, long long *stamp_ms)
{
	out[0] = '\0';
	if (a == NULL)
		return;
	if (start_ms == a->next_start_ms) {
		line_add(out, size, "%s", a->text);
		if (a->changed_ms > *stamp_ms)
			*stamp_ms = a->changed_ms;
	} else if (end_ms <= a->now_ms) {
		line_add(out, size,
			 "This meeting is over: its decisions are in each change's "
			 "history.");
	} else {
		line_add(out, size,
			 "Agenda: the changes still awaiting the CAB after the "
			 "meeting before this one.");
	}
}

/* One VEVENT per window, freeze or meeting instance (and the instance to `sources`).
 * Each is stamped (DTSTAMP, LAST-MODIFIED) with the time its calendar's content last
 * changed ("changed_ms"), else `stamp_ms`; a meeting's agenda counts as its content. */
static void add_instances(json_t *items, json_t *sources, json_t *inst, long long stamp_ms,
			  const struct agenda *agenda)
{
	size_t i;
	json_t *v;
	json_array_foreach(inst, i, v) {
		const char *kind = json_string_value(json_object_get(v, "kind"));
		const char *name = json_string_value(json_object_get(v, "summary"));
		const char *rid = json_string_value(json_object_get(v, "recurrence_id"));
		char uid[512], summary[512], desc[8192] = "", svc[512];
		long long stamp = json_integer_value(json_object_get(v, "changed_ms"));
		if (stamp <= 0)
			stamp = stamp_ms;
		bool window = strcmp(kind, "window") == 0, freeze = strcmp(kind, "freeze") == 0;
		utf8_snprintf(uid, sizeof uid, "%s%s%s@transom",
			      json_string_value(json_object_get(v, "uid")), rid ? "/" : "",
			      rid ? rid : "");
		joined(json_object_get(v, "services"), svc, sizeof svc);
		if (window) {
			utf8_snprintf(summary, sizeof summary, "Maintenance window: %s",
				      name ?: "");
			line_add(desc, sizeof desc, "Changes may run on: %s\nCapacity: %lld", svc,
				 (long long)json_integer_value(json_object_get(v, "capacity")));
		} else if (freeze) {
			bool hard = json_is_true(json_object_get(v, "hard"));
			utf8_snprintf(summary, sizeof summary, "%s freeze: %s",
				      hard ? "Hard" : "Soft", name ?: "");
			line_add(desc, sizeof desc, "%s\nServices: %s",
				 hard ? "No change may run." : "Changes need extra approval.", svc);
		} else {
			utf8_snprintf(summary, sizeof summary, "%s", name ?: "CAB meeting");
			meeting_text(agenda, json_integer_value(json_object_get(v, "start_ms")),
				     json_integer_value(json_object_get(v, "end_ms")), desc,
				     sizeof desc, &stamp);
		}
		json_t *item = json_pack(
			"{s:s, s:s, s:s, s:O, s:O, s:I, s:[s], s:s, s:s, s:{s:s}}", "uid", uid,
			"summary", summary, "description", desc, "start_ms",
			json_object_get(v, "start_ms"), "end_ms", json_object_get(v, "end_ms"),
			"dtstamp_ms", (json_int_t)stamp, "categories",
			window   ? "MAINTENANCE-WINDOW"
			: freeze ? "FREEZE"
				 : "CAB-MEETING",
			"status", "CONFIRMED", "transp", window ? "TRANSPARENT" : "OPAQUE", "x",
			"X-TRANSOM-SERVICES", svc);
		if (item == NULL) {
			append_item(items, NULL, uid);
			continue;
		}
		json_object_set_new(item, "last_modified_ms", json_integer(stamp));
		const char *tzid = json_string_value(json_object_get(v, "tzid"));
		if (tzid != NULL)
			json_object_set_new(item, "tzid", json_string(tzid));
		json_array_append_new(items, item);
		if (sources != NULL)
			json_array_append(sources, v);
	}
}

/*
 * The agenda of the next CAB meeting (the first not over yet): every change awaiting a
 * decision now.  A change is on the agenda of one meeting only; past meetings do not
 * show today's list.
 */
static enum tr_code cab_agenda(struct rec_ctx *c, const char *base, struct agenda *a,
			       struct tr_error *err)
{
	json_t *list = NULL;
	char *out = a->text;
	size_t size = sizeof a->text;
	enum db_status s = store_records_awaiting_approval(c->st, &list);
	if (s < 0)
		return store_error(c->st, s, c->request_id, err);
	out[0] = '\0';
	a->changed_ms = 0;
	a->now_ms = c->now_ms;
	line_add(out, size, "Changes awaiting the CAB: %zu\n", json_array_size(list));
	size_t i;
	json_t *r;
	json_array_foreach(list, i, r) {
		json_t *risk = json_object_get(r, "risk");
		long long updated = 0;
		if (time_parse_rfc3339(json_string_value(json_object_get(r, "updated_at")) ?: "",
				       &updated) &&
		    updated > a->changed_ms)
			a->changed_ms = updated;
		line_add(out, size, "\n%s: %s (risk %s, score %lld)\n%s/v1/changes/%s\n",
			 json_string_value(json_object_get(r, "id")) ?: "?",
			 json_string_value(json_object_get(r, "title")) ?: "",
			 json_string_value(json_object_get(risk, "level")) ?: "not assessed",
			 (long long)json_integer_value(json_object_get(risk, "score")), base,
			 json_string_value(json_object_get(r, "id")) ?: "");
	}
	json_decref(list);
	return TR_OK;
}

long long feed_items_stamp(const struct defs *d)
{
	long long stamp = 0;
	time_parse_rfc3339(d->loaded_at, &stamp);
	if (d->changed_ms > 0)
		stamp = d->changed_ms;
	return stamp;
}

enum tr_code feed_items_list(struct rec_ctx *c, const char *base, const char *what,
			     const char *service, long long from, long long to, json_t **items_out,
			     json_t **sources_out, long long *stamp_ms, struct tr_error *err)
{
	const struct defs *d = c->defs;
	long long stamp = 0;
	json_t *items = json_array(), *bookings = NULL, *inst = NULL;
	json_t *sources = sources_out != NULL ? json_array() : NULL;
	enum tr_code rc = TR_OK;
	struct agenda *agenda = NULL;

	*items_out = NULL;
	if (sources_out != NULL)
		*sources_out = NULL;
	*stamp_ms = stamp = feed_items_stamp(d);
	bool only_bookings = strcmp(what, "bookings") == 0;
	if (strcmp(what, "schedule") == 0 || strcmp(what, "service") == 0 || only_bookings)
		rc = records_bookings(c, from, to, service, &bookings, err);
	if (rc == TR_OK && strcmp(what, "cab") == 0) {
		agenda = calloc(1, sizeof *agenda);
		if (agenda == NULL)
			rc = tr_error_set(err, TR_E_NOMEM, NULL, "out of memory");
		else
			rc = cab_agenda(c, base, agenda, err);
	}
	if (rc == TR_OK) {
		json_t *all = only_bookings ? json_array() : defs_instances_stamped(d, from, to);
		inst = json_array();
		size_t i;
		json_t *v;
		json_array_foreach(all, i, v) {
			const char *kind = json_string_value(json_object_get(v, "kind"));
			bool want = strcmp(what, "cab") == 0       ? strcmp(kind, "meeting") == 0
				    : strcmp(what, "freezes") == 0 ? strcmp(kind, "freeze") == 0
								   : strcmp(kind, "meeting") != 0;
			if (want && service != NULL)
				want = planner_applies(d->catalog, v, service);
			if (want)
				json_array_append(inst, v);
		}
		json_decref(all);
		if (agenda != NULL)
			agenda->next_start_ms = next_meeting(inst, agenda->now_ms);
		feed_items_bookings(items, sources, bookings, base);
		add_instances(items, sources, inst, stamp, agenda);
	}
	free(agenda);
	json_decref(bookings);
	json_decref(inst);
	if (rc != TR_OK) {
		json_decref(items);
		json_decref(sources);
		return rc;
	}
	*items_out = items;
	if (sources_out != NULL)
		*sources_out = sources;
	return TR_OK;
}
